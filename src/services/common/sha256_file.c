/*
 * sha256_file.c - SHA-256 while writing (og_sha256_writer) and of whole
 * files (og_sha256_file), with libsodium's streaming crypto_hash_sha256.
 * Hashing as the bytes go by means a downloaded or copied file is never
 * read a second time just to be checked.
 */
#include "common/sha256_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static void to_hex(const crypto_hash_sha256_state *st, char hex[OG_SHA256_HEX])
{
    crypto_hash_sha256_state copy = *st; /* final() consumes the state */
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&copy, digest);
    sodium_bin2hex(hex, OG_SHA256_HEX, digest, sizeof digest);
}

/* Reads fd to its end into the hash; *n counts the bytes. */
static og_status hash_fd(int fd, const char *path, crypto_hash_sha256_state *st, uint64_t *n,
                         og_progress_fn progress, void *user, uint64_t total, og_error *err)
{
    unsigned char *buf = malloc(CHUNK);
    if (!buf)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory hashing %s", path);
    og_status s = OG_OK;
    for (;;) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            s = og_error_set(err, OG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        crypto_hash_sha256_update(st, buf, (unsigned long long)got);
        *n += (uint64_t)got;
        if (progress)
            progress(user, "verify", *n, total);
    }
    free(buf);
    return s;
}

og_status og_sha256_writer_open(og_sha256_writer *w, const char *path, bool resume, og_error *err)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if ((size_t)snprintf(w->path, sizeof w->path, "%s", path) >= sizeof w->path)
        return og_error_set(err, OG_ERR_ARG, "path too long: %s", path);
    crypto_hash_sha256_init(&w->sha);
    w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (resume ? 0 : O_TRUNC), 0644);
    if (w->fd < 0)
        return og_error_set(err, OG_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    /* Only a regular file is resumed: a device in its place (/dev/zero,
     * /dev/full) would be read for ever. */
    struct stat stt;
    if (resume && (fstat(w->fd, &stt) != 0 || !S_ISREG(stt.st_mode))) {
        close(w->fd);
        w->fd = -1;
        return og_error_set(err, OG_ERR_IO, "%s is not a regular file", path);
    }
    if (resume) {
        og_status s = hash_fd(w->fd, path, &w->sha, &w->n, NULL, NULL, 0, err);
        if (s != OG_OK) {
            close(w->fd);
            w->fd = -1;
            return s;
        }
    }
    return OG_OK;
}

og_status og_sha256_writer_write(og_sha256_writer *w, const void *data, size_t n, og_error *err)
{
    const unsigned char *p = data;
    crypto_hash_sha256_update(&w->sha, p, n);
    while (n > 0) {
        ssize_t put = write(w->fd, p, n);
        if (put < 0 && errno == EINTR)
            continue;
        /* A full disk (or a file size limit) is its own code: no other
         * source could do better, so callers stop instead of retrying. */
        if (put < 0)
            return og_error_set(err, errno == ENOSPC || errno == EFBIG ? OG_ERR_NO_SPACE : OG_ERR_IO,
                                "cannot write %s: %s", w->path, strerror(errno));
        p += put;
        n -= (size_t)put;
        w->n += (uint64_t)put;
    }
    return OG_OK;
}

og_status og_sha256_writer_restart(og_sha256_writer *w, og_error *err)
{
    if (ftruncate(w->fd, 0) != 0 || lseek(w->fd, 0, SEEK_SET) != 0)
        return og_error_set(err, OG_ERR_IO, "cannot truncate %s: %s", w->path, strerror(errno));
    crypto_hash_sha256_init(&w->sha);
    w->n = 0;
    return OG_OK;
}

og_status og_sha256_writer_finish(og_sha256_writer *w, char hex[OG_SHA256_HEX], og_error *err)
{
    og_status s = OG_OK;
    if (fsync(w->fd) != 0)
        s = og_error_set(err, errno == ENOSPC ? OG_ERR_NO_SPACE : OG_ERR_IO, "cannot sync %s: %s", w->path,
                         strerror(errno));
    if (close(w->fd) != 0 && s == OG_OK)
        s = og_error_set(err, OG_ERR_IO, "cannot close %s: %s", w->path, strerror(errno));
    w->fd = -1;
    to_hex(&w->sha, hex);
    return s;
}

void og_sha256_writer_abort(og_sha256_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->path[0])
        unlink(w->path);
}

og_status og_sha256_file(const char *path, char hex[OG_SHA256_HEX], uint64_t *size, og_progress_fn progress,
                         void *user, og_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return og_error_set(err, OG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat stt;
    uint64_t total = fstat(fd, &stt) == 0 ? (uint64_t)stt.st_size : 0, n = 0;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    og_status s = hash_fd(fd, path, &st, &n, progress, user, total, err);
    close(fd);
    if (s != OG_OK)
        return s;
    to_hex(&st, hex);
    if (size)
        *size = n;
    return OG_OK;
}
