/*
 * store.c - the og_store handle: its folder layout (blobs/sha256, tmp,
 * registry.db, trusted_keys, lock), validation of names and references,
 * the lock that keeps two processes from changing the store at once, and
 * the operations on installed versions (list, get, path, remove,
 * rollback). Pulling is pull.c; verify and prune are maintain.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/download.h"
#include "common/fsutil.h"
#include "offgrid.h"
#include "store/store.h"

bool og_store_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

bool og_store_valid_sha256(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

og_status og_store_parse_ref(const char *ref, char name[64], char version[64], og_error *err)
{
    if (!ref || !*ref)
        return og_error_set(err, OG_ERR_ARG, "no model name given");
    const char *colon = strchr(ref, ':');
    size_t n = colon ? (size_t)(colon - ref) : strlen(ref);
    name[0] = version[0] = 0;
    if (n < 64) {
        memcpy(name, ref, n);
        name[n] = 0;
    }
    if (n >= 64 || !og_store_valid_name(name))
        return og_error_set(err, OG_ERR_ARG,
                            "'%s' is not a valid model name (letters, digits, '.', '_', '-'; not starting with '.')",
                            ref);
    if (colon) {
        if (strlen(colon + 1) >= 64 || !og_store_valid_name(colon + 1))
            return og_error_set(err, OG_ERR_ARG, "'%s' is not a valid model version", ref);
        strcpy(version, colon + 1);
    }
    return OG_OK;
}

og_status og_store_default_home(char *buf, size_t cap, og_error *err)
{
    const char *env = getenv("OFFGRID_HOME");
    if (env && *env)
        return og_fs_path(buf, cap, err, "%s", env);
    const char *data = getenv("XDG_DATA_HOME");
    if (data && *data)
        return og_fs_path(buf, cap, err, "%s/offgrid", data);
    const char *home = getenv("HOME");
    if (!home || !*home)
        return og_error_set(err, OG_ERR_ARG, "neither OFFGRID_HOME nor HOME is set");
    return og_fs_path(buf, cap, err, "%s/.local/share/offgrid", home);
}

og_status og_store_open(const char *home, og_store **out, og_error *err)
{
    if (!home || !*home || !out)
        return og_error_set(err, OG_ERR_ARG, "og_store_open: home and out are required");
    *out = NULL;
    og_store *s = calloc(1, sizeof *s);
    if (!s)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    s->lock_fd = -1;
    char path[OG_STORE_PATH_MAX];
    og_status st = og_fs_path(s->home, sizeof s->home, err, "%s", home);
    if (st == OG_OK && (st = og_fs_path(path, sizeof path, err, "%s/blobs/sha256", home)) == OG_OK &&
        (st = og_fs_mkdirs(path, err)) == OG_OK && (st = og_fs_path(path, sizeof path, err, "%s/tmp", home)) == OG_OK)
        st = og_fs_mkdirs(path, err);
    if (st == OG_OK && (st = og_fs_path(path, sizeof path, err, "%s/lock", home)) == OG_OK) {
        s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (s->lock_fd < 0)
            st = og_error_set(err, OG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (st == OG_OK && (st = og_fs_path(path, sizeof path, err, "%s/registry.db", home)) == OG_OK)
        st = og_registry_open(path, &s->reg, err);
    if (st == OG_OK)
        st = og_download_init(err);
    if (st == OG_OK && sodium_init() < 0) {
        og_download_cleanup();
        st = og_error_set(err, OG_ERR_UNSUPPORTED, "libsodium could not initialise");
    }
    if (st != OG_OK) {
        og_registry_close(s->reg);
        if (s->lock_fd >= 0)
            close(s->lock_fd);
        free(s);
        return st;
    }
    *out = s;
    return OG_OK;
}

void og_store_free(og_store *s)
{
    if (!s)
        return;
    og_registry_close(s->reg);
    close(s->lock_fd);
    og_download_cleanup();
    free(s);
}

/* Records in the lock file who holds the lock ("PID WHAT"), so another
 * process can say what it waits for. Best effort: the lock itself is the
 * flock, not these bytes. */
static void write_holder(og_store *s, const char *what)
{
    char line[256];
    int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), what ? what : "a change of the store");
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (len && ftruncate(s->lock_fd, 0) == 0)
        (void)!pwrite(s->lock_fd, line, len, 0);
}

/* "pull of NAME (pid N)" from the lock file, or a generic description. */
static void read_holder(const og_store *s, char *buf, size_t cap)
{
    char line[256];
    ssize_t n = pread(s->lock_fd, line, sizeof line - 1, 0);
    long pid = 0;
    int used = 0;
    if (n > 0) {
        line[n] = 0;
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "%ld %n", &pid, &used) == 1 && pid > 0 && line[used]) {
            snprintf(buf, cap, "%s (pid %ld)", line + used, pid);
            return;
        }
    }
    snprintf(buf, cap, "another offgrid process");
}

og_status og_store_lock_for(og_store *s, const char *what, og_store_wait_fn waiting, void *user, og_error *err)
{
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0) {
        write_holder(s, what);
        return OG_OK;
    }
    if (errno != EWOULDBLOCK)
        return og_error_set(err, OG_ERR_IO, "cannot lock the store %s: %s", s->home, strerror(errno));
    char holder[320];
    read_holder(s, holder, sizeof holder);
    if (!waiting)
        return og_error_set(err, OG_ERR_IO, "the store %s is busy with %s; try again when it is done", s->home,
                            holder);
    waiting(user, holder);
    int rc;
    while ((rc = flock(s->lock_fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (rc != 0)
        return og_error_set(err, OG_ERR_IO, "cannot lock the store %s: %s", s->home, strerror(errno));
    write_holder(s, what);
    return OG_OK;
}

og_status og_store_lock(og_store *s, og_error *err)
{
    return og_store_lock_for(s, NULL, NULL, NULL, err);
}

void og_store_unlock(og_store *s)
{
    flock(s->lock_fd, LOCK_UN);
}

og_status og_store_list(og_store *s, og_store_version **out, size_t *n, og_error *err)
{
    if (!s || !out || !n)
        return og_error_set(err, OG_ERR_ARG, "og_store_list: store, out and n are required");
    return og_registry_list(s->reg, NULL, out, n, err);
}

og_status og_store_get(og_store *s, const char *ref, og_store_version *out, og_error *err)
{
    char name[64], version[64];
    og_status st = og_store_parse_ref(ref, name, version, err);
    return st == OG_OK ? og_registry_get(s->reg, name, version, out, err) : st;
}

og_status og_store_model_path(og_store *s, const char *ref, char *buf, size_t cap, og_error *err)
{
    og_store_version v;
    og_status st = og_store_get(s, ref, &v, err);
    if (st == OG_OK)
        st = og_blob_path(s, v.sha256, buf, cap, err);
    if (st == OG_OK && access(buf, R_OK) != 0)
        st = og_error_set(err, OG_ERR_IO, "%s:%s is registered but its file %s is missing (run offgrid verify)",
                          v.name, v.version, buf);
    if (st == OG_OK)
        og_registry_touch(s->reg, v.name, v.version, NULL); /* only a statistic */
    return st;
}

/* Deletes the blobs of vs[0..n) that no version uses any more. */
static og_status drop_unused_blobs(og_store *s, const og_store_version *vs, size_t n, og_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int64_t refs = 0;
        char path[OG_STORE_PATH_MAX];
        og_status st = og_registry_blob_refs(s->reg, vs[i].sha256, &refs, err);
        if (st == OG_OK && refs == 0 && (st = og_blob_path(s, vs[i].sha256, path, sizeof path, err)) == OG_OK &&
            unlink(path) != 0 && errno != ENOENT)
            st = og_error_set(err, OG_ERR_IO, "cannot delete %s: %s", path, strerror(errno));
        if (st != OG_OK)
            return st;
    }
    return OG_OK;
}

og_status og_store_remove(og_store *s, const char *ref, og_error *err)
{
    char name[64], version[64];
    og_status st = og_store_parse_ref(ref, name, version, err);
    if (st != OG_OK)
        return st;
    og_store_version *vs = NULL;
    size_t n = 0;
    if ((st = og_store_lock(s, err)) != OG_OK)
        return st;
    st = og_registry_list(s->reg, name, &vs, &n, err);
    if (st == OG_OK && n == 0)
        st = og_error_set(err, OG_ERR_ARG, "%s is not installed", name);
    if (st == OG_OK && *version) {
        /* Keep only the version named, for the blob clean-up below. */
        size_t k = 0;
        while (k < n && strcmp(vs[k].version, version) != 0)
            k++;
        if (k == n)
            st = og_error_set(err, OG_ERR_ARG, "%s:%s is not installed", name, version);
        else {
            vs[0] = vs[k];
            n = 1;
        }
    }
    /* The registry first: a crash in between leaves an orphaned blob,
     * which prune removes, never a version without its file. */
    if (st == OG_OK)
        st = og_registry_remove(s->reg, name, version, err);
    if (st == OG_OK)
        st = drop_unused_blobs(s, vs, n, err);
    og_store_unlock(s);
    free(vs);
    return st;
}

og_status og_store_rollback(og_store *s, const char *name, og_store_version *out, og_error *err)
{
    if (!s || !name || !og_store_valid_name(name))
        return og_error_set(err, OG_ERR_ARG, "'%s' is not a valid model name", name ? name : "");
    og_status st = og_store_lock(s, err);
    if (st != OG_OK)
        return st;
    st = og_registry_rollback(s->reg, name, err);
    og_store_unlock(s);
    if (st == OG_OK && out)
        st = og_registry_get(s->reg, name, "", out, err);
    return st;
}

og_status og_store_config(const og_store *s, const char *key, char *buf, size_t cap, og_error *err)
{
    if (!s || !key || !buf || cap == 0)
        return og_error_set(err, OG_ERR_ARG, "og_store_config: store, key and buf are required");
    buf[0] = 0;
    char path[OG_STORE_PATH_MAX], line[2048];
    og_status st = og_fs_path(path, sizeof path, err, "%s/config", s->home);
    if (st != OG_OK)
        return st;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? OG_OK : og_error_set(err, OG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t klen = strlen(key);
    for (int lineno = 1; fgets(line, sizeof line, f); lineno++) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
            continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            st = og_error_set(err, OG_ERR_FORMAT, "%s:%d: not a 'key = value' line", path, lineno);
            break;
        }
        char *end = eq;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - p) != klen || strncmp(p, key, klen) != 0)
            continue;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t n = strcspn(v, "\r\n");
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n >= cap) {
            st = og_error_set(err, OG_ERR_FORMAT, "%s:%d: the value of %s is too long", path, lineno, key);
            break;
        }
        memcpy(buf, v, n);
        buf[n] = 0; /* the last line for a key wins, as in most config files */
    }
    fclose(f);
    if (st != OG_OK)
        buf[0] = 0;
    return st;
}
