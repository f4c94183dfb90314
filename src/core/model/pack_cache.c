/*
 * pack_cache.c - keeps a model's repacked weights in a file between loads.
 * Repacking writes a fresh copy of the weights, and fresh memory costs a
 * page fault per page on first touch (on small VMs and phones about as
 * long as reading the model); a cached copy is mapped instead, from the
 * page cache like the model itself, so only the first load pays.
 *
 * One file per model file and layout, `<dir>/<16 hex>.ogpack`: a header
 * of HEADER_BYTES naming the source (path, device, inode, size, mtime)
 * and the layout's fingerprint, then the packed bytes. A file that does
 * not match in every field is a miss and is rewritten. Writes go to a
 * temporary file that is synced and renamed into place, so a crash never
 * leaves a torn cache file under the final name. The cache is an
 * optimization only: every failure falls back to packing in memory.
 */
#include "model/pack_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "offgrid.h"

enum { HEADER_BYTES = 4096, PATH_BYTES = 3072 };
static const char MAGIC[8] = "OGPACK1";

typedef struct cache_header {
    char magic[8];
    uint64_t layout_hash;
    uint64_t data_bytes;
    uint64_t src_dev, src_ino, src_size, src_mtime_ns;
    /* The source's absolute path, for whoever cleans the cache up; not part
     * of the identity (one file may be named many ways). */
    char src_path[PATH_BYTES];
} cache_header;

/* The header's identity: everything before src_path. */
static bool same_source(const cache_header *a, const cache_header *b)
{
    return memcmp(a, b, offsetof(cache_header, src_path)) == 0;
}

_Static_assert(sizeof(cache_header) <= HEADER_BYTES, "pack cache header fits its page");

uint64_t og_pack_cache_hash(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull; /* FNV-1a */
    }
    return h;
}

/* The header this source file and layout must have. */
static bool expected_header(const char *src_path, uint64_t layout_hash, size_t data_bytes, cache_header *h)
{
    struct stat st;
    if (stat(src_path, &st) != 0)
        return false;
    memset(h, 0, sizeof *h);
    memcpy(h->magic, MAGIC, sizeof h->magic);
    h->layout_hash = layout_hash;
    h->data_bytes = data_bytes;
    h->src_dev = (uint64_t)st.st_dev;
    h->src_ino = (uint64_t)st.st_ino;
    h->src_size = (uint64_t)st.st_size;
    h->src_mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
    char abs[PATH_MAX];
    const char *name = realpath(src_path, abs) ? abs : src_path;
    if (strlen(name) < PATH_BYTES)
        strcpy(h->src_path, name);
    return true;
}

/* The cache file of a source file: named by its identity and the layout,
 * so a file changed in place maps to the same name and is rewritten. */
static bool cache_path(const char *dir, const cache_header *h, char *buf, size_t cap)
{
    uint64_t key = 0xcbf29ce484222325ull;
    key = og_pack_cache_hash(key, &h->src_dev, sizeof h->src_dev);
    key = og_pack_cache_hash(key, &h->src_ino, sizeof h->src_ino);
    key = og_pack_cache_hash(key, &h->layout_hash, sizeof h->layout_hash);
    const int n = snprintf(buf, cap, "%s/%016llx.ogpack", dir, (unsigned long long)key);
    return n > 0 && (size_t)n < cap;
}

bool og_pack_cache_map(const char *dir, const char *src_path, uint64_t layout_hash, size_t data_bytes,
                       og_pack_mapping *out)
{
    cache_header want, have;
    char path[4096];
    if (!dir || !expected_header(src_path, layout_hash, data_bytes, &want) || !cache_path(dir, &want, path, sizeof path))
        return false;
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == HEADER_BYTES + data_bytes &&
              pread(fd, &have, sizeof have, 0) == (ssize_t)sizeof have && same_source(&have, &want);
    void *map = MAP_FAILED;
    if (ok)
        map = mmap(NULL, HEADER_BYTES + data_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return false;
#ifdef MADV_HUGEPAGE
    /* Pages read from disk then come in 2 MiB folios, mapped whole: the
     * kernels stream this with far fewer TLB misses (a file just written
     * is usually in such folios already). Advice only. */
    (void)madvise(map, HEADER_BYTES + data_bytes, MADV_HUGEPAGE);
#endif
    out->base = map;
    out->bytes = HEADER_BYTES + data_bytes;
    out->data = (uint8_t *)map + HEADER_BYTES;
    return true;
}

static bool write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        const ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* mkdir -p, for the cache folder and its parents. */
static bool make_dirs(const char *dir)
{
    char path[4096];
    const size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return false;
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(path, 0700) != 0 && errno != EEXIST)
                return false;
            *p = '/';
        }
    return mkdir(path, 0700) == 0 || errno == EEXIST;
}

bool og_pack_cache_store(const char *dir, const char *src_path, uint64_t layout_hash, const void *data,
                         size_t data_bytes)
{
    cache_header h;
    char path[4096], tmp[4200];
    if (!dir || !expected_header(src_path, layout_hash, data_bytes, &h) || !cache_path(dir, &h, path, sizeof path) ||
        !make_dirs(dir))
        return false;
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    const int fd = mkstemp(tmp);
    if (fd < 0)
        return false;
    uint8_t page[HEADER_BYTES] = { 0 };
    memcpy(page, &h, sizeof h);
    bool ok = write_all(fd, page, sizeof page) && write_all(fd, data, data_bytes) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    return ok;
}

/* A cache file (path, its name, st from one stat) is stale when its
 * source is gone or no longer the file it was made from; a temporary one
 * when a writer died (older than an hour, so a load writing it right now
 * is left alone). */
static bool is_stale(const char *path, const char *name, const struct stat *st, time_t now)
{
    if (!S_ISREG(st->st_mode))
        return false;
    const char *suffix = strstr(name, ".ogpack");
    if (!suffix)
        return false;
    if (suffix[7] == '.')
        return now - st->st_mtime > 3600;
    if (suffix[7] != 0)
        return false;
    cache_header have, want;
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    const bool read_ok = fd >= 0 && pread(fd, &have, sizeof have, 0) == (ssize_t)sizeof have;
    if (fd >= 0)
        close(fd);
    if (!read_ok || memcmp(have.magic, MAGIC, sizeof MAGIC) != 0)
        return true;
    have.src_path[PATH_BYTES - 1] = 0;
    return !expected_header(have.src_path, have.layout_hash, have.data_bytes, &want) || !same_source(&have, &want);
}

og_status og_model_cache_prune(const char *dir, size_t *n_files, uint64_t *n_bytes, og_error *err)
{
    if (n_files)
        *n_files = 0;
    if (n_bytes)
        *n_bytes = 0;
    if (!dir)
        return og_error_set(err, OG_ERR_ARG, "og_model_cache_prune: no folder");
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? OG_OK : og_error_set(err, OG_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
    const time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path || stat(path, &st) != 0 ||
            !is_stale(path, e->d_name, &st, now) || unlink(path) != 0)
            continue;
        if (n_files)
            (*n_files)++;
        if (n_bytes)
            *n_bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    return OG_OK;
}
