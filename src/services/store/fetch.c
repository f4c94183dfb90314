/*
 * fetch.c - getting a catalog entry's file into the store's tmp folder:
 * mirror folders first (by file name), then the entry's URLs, file://
 * before the others. Transfers go through libcurl: a download appends to
 * tmp/<sha256>.partial and resumes it with a Range request after a
 * dropped connection, a stall (slower than 1 KiB/s for low_speed_seconds)
 * or a crash, retrying with exponential backoff. Nothing fetched counts
 * until its size and SHA-256 match; a partial file whose hash is wrong in
 * the end is deleted, so the next attempt starts clean.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "offgrid.h"
#include "store/store.h"

typedef struct transfer {
    og_blob_writer *w;
    const og_store_pull_params *p;
    const char *stage;
    uint64_t offset;  /* bytes already there when this attempt started */
    og_error *err;
    og_status failed; /* a write error, reported after curl returns */
} transfer;

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    transfer *t = user;
    size_t n = size * nmemb;
    if (og_blob_writer_write(t->w, data, n, t->err) != OG_OK) {
        t->failed = OG_ERR_IO;
        return 0;
    }
    return n;
}

/* Empties the partial file, for a server that does not do Range. */
static og_status restart(og_blob_writer *w, og_error *err)
{
    if (ftruncate(w->fd, 0) != 0 || lseek(w->fd, 0, SEEK_SET) != 0)
        return og_error_set(err, OG_ERR_IO, "cannot truncate %s: %s", w->path, strerror(errno));
    crypto_hash_sha256_init(&w->sha);
    w->n = 0;
    return OG_OK;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    transfer *t = user;
    if (t->p->progress)
        t->p->progress(t->p->user, t->stage, t->offset + (uint64_t)dlnow,
                       dltotal > 0 ? t->offset + (uint64_t)dltotal : 0);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static CURL *new_handle(const char *url)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    /* Only these; a redirect may not turn an https URL into file://. */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "offgrid/" "0.1");
    return c;
}

/* True when trying again may help (the network, a stall, a 5xx). */
static bool transient(CURLcode rc, long code)
{
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        return code >= 500 || code == 408 || code == 429;
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_PARTIAL_FILE ||
           rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_SSL_CONNECT_ERROR;
}

og_status og_fetch_url(const char *url, const char *path, const og_store_pull_params *p,
                       char hex[OG_SHA256_HEX], og_error *err)
{
    og_blob_writer w;
    og_status s = og_blob_writer_open(&w, path, true, err);
    if (s != OG_OK)
        return s;
    const char *stage = strncmp(url, "file://", 7) ? "download" : "copy";
    int attempts = p->max_retries > 0 ? p->max_retries : 1;
    long backoff_ms = 250;
    s = OG_ERR_IO;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        CURL *c = new_handle(url);
        if (!c) {
            s = og_error_set(err, OG_ERR_NOMEM, "cannot start a transfer of %s", url);
            break;
        }
        transfer t = { .w = &w, .p = p, .stage = stage, .offset = w.n, .err = err };
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, p->low_speed_seconds > 0 ? p->low_speed_seconds : 30L);
        if (w.n > 0)
            curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)w.n);
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        if (t.failed != OG_OK) {
            s = t.failed;
            break;
        }
        /* 416: the partial file already holds everything the server has;
         * the hash check that follows decides whether it is right. */
        if (rc == CURLE_OK || (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && w.n > 0)) {
            s = OG_OK;
            break;
        }
        /* The server sent the whole file to a Range request: start over
         * (the attempt counts, so this cannot loop). */
        if (rc == CURLE_RANGE_ERROR && w.n > 0) {
            if ((s = restart(&w, err)) != OG_OK)
                break;
            og_error_set(err, OG_ERR_IO, "%s: the server does not resume downloads", url);
            continue;
        }
        if (rc == CURLE_HTTP_RETURNED_ERROR)
            og_error_set(err, OG_ERR_IO, "%s: HTTP %ld", url, code);
        else
            og_error_set(err, OG_ERR_IO, "%s: %s", url, curl_easy_strerror(rc));
        if (!transient(rc, code))
            break;
        if (attempt < attempts) {
            sleep_ms(backoff_ms);
            backoff_ms = backoff_ms < 8000 ? backoff_ms * 2 : 8000;
        } else {
            og_error_prefix(err, "gave up after %d attempts", attempts);
        }
    }
    /* The partial file stays (synced) so a later pull resumes it, unless
     * nothing came (a 404, a missing file): then it is only clutter. */
    og_error ignored;
    uint64_t got = w.n;
    og_status fs = og_blob_writer_finish(&w, hex, s == OG_OK ? err : &ignored);
    if (s != OG_OK && got == 0)
        unlink(path);
    return s == OG_OK ? fs : s;
}

typedef struct membuf {
    char *data;
    size_t len, max;
} membuf;

static size_t on_memory(char *data, size_t size, size_t nmemb, void *user)
{
    membuf *m = user;
    size_t n = size * nmemb;
    if (m->len + n > m->max)
        return 0;
    char *bigger = realloc(m->data, m->len + n + 1);
    if (!bigger)
        return 0;
    m->data = bigger;
    memcpy(m->data + m->len, data, n);
    m->len += n;
    m->data[m->len] = 0;
    return n;
}

og_status og_fetch_url_memory(const char *url, size_t max, char **out, size_t *len, bool *missing, og_error *err)
{
    *out = NULL;
    *len = 0;
    if (missing)
        *missing = false;
    CURL *c = new_handle(url);
    if (!c)
        return og_error_set(err, OG_ERR_NOMEM, "cannot start a transfer of %s", url);
    membuf m = { NULL, 0, max };
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_memory);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(m.data);
        if (missing)
            *missing = rc == CURLE_FILE_COULDNT_READ_FILE ||
                       (rc == CURLE_HTTP_RETURNED_ERROR && (code == 404 || code == 410));
        if (rc == CURLE_HTTP_RETURNED_ERROR)
            return og_error_set(err, OG_ERR_IO, "%s: HTTP %ld", url, code);
        if (rc == CURLE_WRITE_ERROR)
            return og_error_set(err, OG_ERR_FORMAT, "%s: larger than %zu bytes", url, max);
        return og_error_set(err, OG_ERR_IO, "%s: %s", url, curl_easy_strerror(rc));
    }
    *len = m.len;
    *out = m.data ? m.data : calloc(1, 1);
    return *out ? OG_OK : og_error_set(err, OG_ERR_NOMEM, "out of memory");
}

/* Copies a mirror's file into w while hashing it. */
static og_status copy_file(const char *src, og_blob_writer *w, const og_store_pull_params *p, uint64_t total,
                           og_error *err)
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
        s = og_blob_writer_write(w, buf, (size_t)got, err);
        if (p->progress)
            p->progress(p->user, "copy", w->n, total);
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
    og_status s = og_store_path(path, sizeof path, err, "%s/%s", dir, e->file_name);
    if (s != OG_OK)
        return s;
    if (stat(path, &stt) != 0 || !S_ISREG(stt.st_mode))
        return og_error_set(err, OG_ERR_IO, "%s: not in the mirror", path);
    if ((uint64_t)stt.st_size != e->size)
        return check(e, path, (uint64_t)stt.st_size, e->sha256, err);
    og_blob_writer w;
    char hex[OG_SHA256_HEX];
    if ((s = og_blob_writer_open(&w, tmp, false, err)) != OG_OK)
        return s;
    if ((s = copy_file(path, &w, p, e->size, err)) != OG_OK) {
        og_blob_writer_abort(&w);
        return s;
    }
    uint64_t n = w.n;
    if ((s = og_blob_writer_finish(&w, hex, err)) == OG_OK)
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
static og_status download(const char *url, const char *partial, uint64_t size, const char *sha256,
                          const og_store_pull_params *p, og_error *err)
{
    for (int fresh = 0; fresh < 2; fresh++) {
        struct stat stt;
        bool resumed = stat(partial, &stt) == 0 && stt.st_size > 0;
        char hex[OG_SHA256_HEX];
        og_status s = og_fetch_url(url, partial, p, hex, err);
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

static og_status from_source(const og_store *st, const og_catalog_source *src, const og_catalog_entry *e,
                             const og_store_pull_params *p, const char *tmp, og_error *err)
{
    char partial[OG_STORE_PATH_MAX], hex[OG_SHA256_HEX];
    og_status s = og_store_path(partial, sizeof partial, err, "%s/tmp/%s.partial", st->home,
                                src->zip ? src->archive_sha256 : e->sha256);
    if (s == OG_OK)
        s = src->zip ? download(src->url, partial, src->archive_size, src->archive_sha256, p, err)
                     : download(src->url, partial, e->size, e->sha256, p, err);
    if (s != OG_OK)
        return s;
    if (!src->zip) {
        if (rename(partial, tmp) != 0)
            return og_error_set(err, OG_ERR_IO, "cannot move %s: %s", partial, strerror(errno));
        return OG_OK;
    }
    og_blob_writer w;
    if ((s = og_blob_writer_open(&w, tmp, false, err)) != OG_OK)
        return s;
    if ((s = og_archive_extract(partial, src->member, &w, p, err)) != OG_OK) {
        og_blob_writer_abort(&w);
        return s;
    }
    uint64_t n = w.n;
    if ((s = og_blob_writer_finish(&w, hex, err)) == OG_OK)
        s = check(e, src->member, n, hex, err);
    if (s != OG_OK)
        unlink(tmp);
    else
        unlink(partial); /* the archive's job is done; only the model stays */
    return s;
}

og_status og_fetch_entry(const og_store *s, const og_catalog_entry *e, const og_store_pull_params *p,
                         char *tmp_path, size_t tmp_cap, char *source, size_t source_cap, og_error *err)
{
    og_status st = og_store_path(tmp_path, tmp_cap, err, "%s/tmp/%s.fetch", s->home, e->sha256);
    if (st != OG_OK)
        return st;
    og_error last = { OG_ERR_IO, "" };
    bool tried = false;
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
        }
        free(list);
    }
    /* file:// first: a local copy beats the network. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < e->n_sources; i++) {
            const og_catalog_source *src = &e->sources[i];
            if ((strncmp(src->url, "file://", 7) == 0) != (pass == 0))
                continue;
            og_error e1 = { 0 };
            tried = true;
            if (from_source(s, src, e, p, tmp_path, &e1) == OG_OK) {
                snprintf(source, source_cap, "%s", src->url);
                return OG_OK;
            }
            last = e1;
        }
    if (!tried)
        return og_error_set(err, OG_ERR_IO, "%s:%s has no download source and no mirror is set", e->name,
                            e->version);
    return og_error_set(err, last.code, "no source gave %s:%s (last: %s)", e->name, e->version, last.message);
}
