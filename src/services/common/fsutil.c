/*
 * fsutil.c - the file-system helpers of fsutil.h: bounded paths, mkdir -p,
 * fsync of a folder and whole-file read-only mappings (the descriptor is
 * closed at once; the mapping keeps the file alive). Owns nothing beyond
 * a call: the caller owns every mapping until og_fs_unmap.
 */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

og_status og_fs_path(char *buf, size_t cap, og_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        return og_error_set(err, OG_ERR_ARG, "path too long under %s", buf);
    return OG_OK;
}

og_status og_fs_parent(const char *path, char *dir, size_t cap, og_error *err)
{
    og_status st = og_fs_path(dir, cap, err, "%s", path);
    if (st != OG_OK)
        return st;
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        slash[slash == dir ? 1 : 0] = 0;
    return OG_OK;
}

static og_status make_one(const char *path, og_error *err)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return og_error_set(err, OG_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    return OG_OK;
}

og_status og_fs_mkdirs(const char *path, og_error *err)
{
    char tmp[OG_FS_PATH_MAX];
    og_status st = og_fs_path(tmp, sizeof tmp, err, "%s", path);
    /* Each parent in turn: cut the path at its slashes. */
    for (char *p = tmp + 1; st == OG_OK && *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        st = make_one(tmp, err);
        *p = '/';
    }
    return st == OG_OK ? make_one(tmp, err) : st;
}

og_status og_fs_sync_dir(const char *dir, og_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return og_error_set(err, OG_ERR_IO, "cannot open %s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    return rc == 0 ? OG_OK : og_error_set(err, OG_ERR_IO, "cannot sync %s: %s", dir, strerror(saved));
}

og_status og_fs_map(const char *path, const char *what, const void **data, size_t *size, og_error *err)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return og_error_set(err, OG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat stt;
    og_status st = OG_OK;
    if (fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode))
        st = og_error_set(err, OG_ERR_IO, "%s is not a regular file", path);
    else if (stt.st_size == 0) /* mmap cannot map nothing */
        st = og_error_set(err, OG_ERR_FORMAT, "%s: empty file, not %s", path, what);
    void *map = MAP_FAILED;
    if (st == OG_OK && (map = mmap(NULL, (size_t)stt.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
        st = og_error_set(err, OG_ERR_IO, "cannot map %s: %s", path, strerror(errno));
    close(fd);
    if (st != OG_OK)
        return st;
    *data = map;
    *size = (size_t)stt.st_size;
    return OG_OK;
}

void og_fs_unmap(const void *data, size_t size)
{
    if (data)
        munmap((void *)data, size);
}
