/*
 * download.c - the services' one libcurl client (download.h). A download
 * appends to its file and resumes it with a Range request after a dropped
 * connection, a stall (slower than 1 KiB/s for low_speed_seconds) or a
 * crash, retrying with exponential backoff (250 ms doubling to 8 s). It
 * owns each CURL handle for one attempt; the caller owns the file.
 */
#define _GNU_SOURCE
#include "common/download.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

og_status og_download_init(og_error *err)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
               ? OG_OK
               : og_error_set(err, OG_ERR_IO, "libcurl could not initialise");
}

void og_download_cleanup(void)
{
    curl_global_cleanup();
}

typedef struct transfer {
    og_sha256_writer *w;
    const og_download_opts *o;
    const char *stage;
    uint64_t offset;  /* bytes already there when this attempt started */
    og_error *err;
    og_status failed; /* a write error, reported after curl returns */
} transfer;

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    transfer *t = user;
    size_t n = size * nmemb;
    og_status s = og_sha256_writer_write(t->w, data, n, t->err);
    if (s != OG_OK) {
        t->failed = s;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)ultotal;
    (void)ulnow;
    transfer *t = user;
    if (t->o->progress)
        t->o->progress(t->o->user, t->stage, t->offset + (uint64_t)dlnow,
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

og_status og_download_file(const char *url, const char *path, const og_download_opts *o, char hex[OG_SHA256_HEX],
                           og_error *err)
{
    og_sha256_writer w;
    og_status s = og_sha256_writer_open(&w, path, true, err);
    if (s != OG_OK)
        return s;
    const char *stage = strncmp(url, "file://", 7) ? "download" : "copy";
    int attempts = o->max_retries > 0 ? o->max_retries : 1;
    long backoff_ms = 250;
    s = OG_ERR_IO;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        CURL *c = new_handle(url);
        if (!c) {
            s = og_error_set(err, OG_ERR_NOMEM, "cannot start a transfer of %s", url);
            break;
        }
        transfer t = { .w = &w, .o = o, .stage = stage, .offset = w.n, .err = err };
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->low_speed_seconds > 0 ? o->low_speed_seconds : 30L);
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
        /* 416: the file already holds everything the server has; the
         * caller's hash check decides whether it is right. */
        if (rc == CURLE_OK || (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && w.n > 0)) {
            s = OG_OK;
            break;
        }
        /* The server sent the whole file to a Range request: start over
         * (the attempt counts, so this cannot loop). s stays OG_OK: when
         * the attempts run out here, the caller's size and hash check
         * says what is wrong and may start afresh. */
        if (rc == CURLE_RANGE_ERROR && w.n > 0) {
            if ((s = og_sha256_writer_restart(&w, err)) != OG_OK)
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
    /* The file stays (synced) so a later call resumes it, unless nothing
     * came (a 404, a missing file): then it is only clutter. */
    og_error ignored;
    uint64_t got = w.n;
    og_status fs = og_sha256_writer_finish(&w, hex, s == OG_OK ? err : &ignored);
    /* On a full disk the partial file only takes the room a retry needs. */
    if ((s != OG_OK && got == 0) || s == OG_ERR_NO_SPACE || fs == OG_ERR_NO_SPACE)
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

og_status og_download_memory(const char *url, size_t max, char **out, size_t *len, bool *missing, og_error *err)
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
