/*
 * download.h - fetching URLs (http, https, file) with libcurl: into a
 * file, resuming what the file already holds after a dropped connection
 * or a stall, with retries and exponential backoff, hashing as it writes;
 * or whole into memory (small documents such as catalogs). Redirects may
 * not turn an http(s) URL into file://.
 */
#ifndef OG_COMMON_DOWNLOAD_H
#define OG_COMMON_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/sha256_file.h"
#include "offgrid.h"

/* Starts and stops libcurl for this process. Call og_download_init before
 * the first download and og_download_cleanup once per successful init
 * (libcurl counts them). OG_ERR_IO when libcurl cannot start. */
og_status og_download_init(og_error *err);
void og_download_cleanup(void);

typedef struct og_download_opts {
    int max_retries;        /* attempts per URL (below 1: one) */
    long low_speed_seconds; /* abort a transfer slower than 1 KiB/s this long (0: 30) */
    og_progress_fn progress; /* may be NULL; stage "download", or "copy" for file:// */
    void *user;
} og_download_opts;

/* Downloads url to path, appending to what path already holds (a Range
 * request; a server that ignores Range makes it start over), retrying
 * transient failures (connection, stall, HTTP 5xx/408/429) up to
 * opts->max_retries attempts. hex gets the SHA-256 of the whole file.
 * The file is kept, synced, on failure so that a later call resumes it,
 * unless nothing at all was received, or the disk is full: then it is
 * removed and the code is OG_ERR_NO_SPACE. OG_ERR_IO for a failed
 * transfer, OG_ERR_NOMEM when a transfer cannot be started; the error
 * names url. */
og_status og_download_file(const char *url, const char *path, const og_download_opts *opts,
                           char hex[OG_SHA256_HEX], og_error *err);

/* Reads the whole of url into *out (malloc'd, NUL-terminated, free()) of
 * *len bytes; at most max bytes (OG_ERR_FORMAT beyond), 120 s at most.
 * *missing (may be NULL) is set when the failure was an HTTP 404/410 or a
 * missing file:// file. OG_ERR_IO otherwise. */
og_status og_download_memory(const char *url, size_t max, char **out, size_t *len, bool *missing, og_error *err);

#endif
