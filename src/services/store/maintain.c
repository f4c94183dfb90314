/*
 * maintain.c - keeping an installed store honest and small: verify
 * re-hashes what the registry says is installed; prune deletes versions
 * that are neither active nor previous, blobs nothing refers to, and
 * what interrupted pulls left in tmp/.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offgrid.h"
#include "store/store.h"

og_status og_store_verify(og_store *s, const char *name, og_store_verify_fn report, void *user, size_t *n_bad,
                          og_error *err)
{
    if (!s || !n_bad)
        return og_error_set(err, OG_ERR_ARG, "og_store_verify: store and n_bad are required");
    *n_bad = 0;
    if (name && !og_store_valid_name(name))
        return og_error_set(err, OG_ERR_ARG, "'%s' is not a valid model name", name);
    og_store_version *vs = NULL;
    size_t n = 0;
    og_status st = og_registry_list(s->reg, name, &vs, &n, err);
    if (st == OG_OK && name && n == 0)
        st = og_error_set(err, OG_ERR_ARG, "%s is not installed", name);
    for (size_t i = 0; st == OG_OK && i < n; i++) {
        char path[OG_STORE_PATH_MAX], hex[OG_SHA256_HEX], why[OG_STORE_PATH_MAX + 128] = "";
        uint64_t size = 0;
        og_error e1 = { 0 };
        if ((st = og_blob_path(s, vs[i].sha256, path, sizeof path, err)) != OG_OK)
            break;
        if (og_sha256_file(path, hex, &size, NULL, NULL, &e1) != OG_OK)
            snprintf(why, sizeof why, "%s", e1.message);
        else if (size != vs[i].size)
            snprintf(why, sizeof why, "%s has %llu bytes, %llu expected", path, (unsigned long long)size,
                     (unsigned long long)vs[i].size);
        else if (strcmp(hex, vs[i].sha256) != 0)
            snprintf(why, sizeof why, "%s has SHA-256 %s", path, hex);
        if (why[0])
            ++*n_bad;
        if (report)
            report(user, &vs[i], why[0] == 0, why);
    }
    free(vs);
    return st;
}

static void add_freed(const char *path, size_t *n_files, uint64_t *n_bytes)
{
    struct stat stt;
    uint64_t size = stat(path, &stt) == 0 ? (uint64_t)stt.st_size : 0;
    if (unlink(path) == 0) {
        ++*n_files;
        *n_bytes += size;
    }
}

/* Deletes the files of dir for which keep() is false. Without keep (tmp/),
 * a folder in it (a wheel set's parts, a pip download's folder, left by an
 * interrupted pull) goes too, with its files. */
static og_status sweep(og_store *s, const char *dir, bool (*keep)(og_store *, const char *, og_error *),
                       size_t *n_files, uint64_t *n_bytes, og_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return og_error_set(err, OG_ERR_IO, "cannot open %s: %s", dir, strerror(errno));
    og_status st = OG_OK;
    for (struct dirent *de; st == OG_OK && (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.')
            continue;
        char path[OG_STORE_PATH_MAX];
        if ((st = og_fs_path(path, sizeof path, err, "%s/%s", dir, de->d_name)) != OG_OK)
            break;
        struct stat stt;
        if (!keep && lstat(path, &stt) == 0 && S_ISDIR(stt.st_mode)) {
            if ((st = sweep(s, path, NULL, n_files, n_bytes, err)) == OG_OK)
                rmdir(path);
            continue;
        }
        og_error e1 = { 0 };
        if (keep && keep(s, de->d_name, &e1))
            continue;
        if (e1.code != OG_OK)
            st = og_error_set(err, e1.code, "%s", e1.message);
        else
            add_freed(path, n_files, n_bytes);
    }
    closedir(d);
    return st;
}

/* A blob is kept while a version uses it; anything else in blobs/sha256
 * (a stray temporary file) goes. */
static bool blob_in_use(og_store *s, const char *file, og_error *err)
{
    int64_t refs = 0;
    if (!og_store_valid_sha256(file))
        return false;
    return og_registry_blob_refs(s->reg, file, &refs, err) != OG_OK || refs > 0;
}

og_status og_store_prune(og_store *s, size_t *n_files, uint64_t *n_bytes, og_error *err)
{
    size_t files = 0;
    uint64_t bytes = 0;
    if (!s)
        return og_error_set(err, OG_ERR_ARG, "og_store_prune: store is required");
    og_status st = og_store_lock(s, err);
    if (st != OG_OK)
        return st;
    og_store_version *vs = NULL;
    size_t n = 0;
    if ((st = og_registry_list(s->reg, NULL, &vs, &n, err)) == OG_OK)
        for (size_t i = 0; st == OG_OK && i < n; i++)
            if (!vs[i].active && !vs[i].previous)
                st = og_registry_remove(s->reg, vs[i].name, vs[i].version, err);
    free(vs);
    char dir[OG_STORE_PATH_MAX];
    /* Holding the lock, nothing in tmp/ belongs to a running pull; a
     * .partial download could be resumed, but prune is asked to free space. */
    if (st == OG_OK && (st = og_fs_path(dir, sizeof dir, err, "%s/blobs/sha256", s->home)) == OG_OK)
        st = sweep(s, dir, blob_in_use, &files, &bytes, err);
    if (st == OG_OK && (st = og_fs_path(dir, sizeof dir, err, "%s/tmp", s->home)) == OG_OK)
        st = sweep(s, dir, NULL, &files, &bytes, err);
    og_store_unlock(s);
    if (n_files)
        *n_files = files;
    if (n_bytes)
        *n_bytes = bytes;
    return st;
}
