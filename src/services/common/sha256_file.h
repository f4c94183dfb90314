/*
 * sha256_file.h - files hashed with SHA-256 (libsodium) as they are
 * written or read: a writer that appends to a file while hashing what
 * goes in (resuming a partial file hashes what is already there first),
 * and the digest of a whole file. Digests are lower-case hex.
 */
#ifndef OG_COMMON_SHA256_FILE_H
#define OG_COMMON_SHA256_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "common/fsutil.h"
#include "offgrid.h"

#define OG_SHA256_HEX 65 /* 64 hex digits and a NUL */

/* Progress of a long file operation: stage names it ("download", "copy",
 * "extract", "verify"), total is 0 when unknown. The same type as
 * og_store_progress_fn. */
typedef void (*og_progress_fn)(void *user, const char *stage, uint64_t done, uint64_t total);

/* A file being written while it is hashed. n counts the bytes in the file
 * (and in the hash). The writer owns fd from open to finish or abort. */
typedef struct og_sha256_writer {
    int fd;
    crypto_hash_sha256_state sha;
    uint64_t n;
    char path[OG_FS_PATH_MAX];
} og_sha256_writer;

/* Opens path for writing (created 0644). resume: keep what the file holds
 * and hash it first; otherwise truncate. OG_ERR_ARG for a path too long,
 * OG_ERR_IO when it cannot be opened or read, OG_ERR_NOMEM. On failure
 * nothing is left open. */
og_status og_sha256_writer_open(og_sha256_writer *w, const char *path, bool resume, og_error *err);
/* Appends data[0..n) to the file and the hash. OG_ERR_NO_SPACE when the
 * disk is full (ENOSPC, or EFBIG past a file size limit), OG_ERR_IO on
 * another failed write (the hash then includes bytes the file may not). */
og_status og_sha256_writer_write(og_sha256_writer *w, const void *data, size_t n, og_error *err);
/* Empties the file and the hash, to start again from zero. OG_ERR_IO. */
og_status og_sha256_writer_restart(og_sha256_writer *w, og_error *err);
/* fsyncs and closes the file (kept on disk); hex gets the SHA-256 of
 * everything written, even when the sync fails (OG_ERR_IO, or
 * OG_ERR_NO_SPACE for ENOSPC). */
og_status og_sha256_writer_finish(og_sha256_writer *w, char hex[OG_SHA256_HEX], og_error *err);
/* Closes and deletes the file. */
void og_sha256_writer_abort(og_sha256_writer *w);

/* SHA-256 of the whole file at path into hex, its length into *size (may
 * be NULL); progress (may be NULL) gets stage "verify". OG_ERR_IO when it
 * cannot be read, OG_ERR_NOMEM. */
og_status og_sha256_file(const char *path, char hex[OG_SHA256_HEX], uint64_t *size, og_progress_fn progress,
                         void *user, og_error *err);

#endif
