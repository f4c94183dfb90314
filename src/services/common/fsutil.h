/*
 * fsutil.h - file-system helpers the services share: bounded path
 * formatting, creating folders, making a rename durable, and read-only
 * mappings of whole files. POSIX only.
 */
#ifndef OG_COMMON_FSUTIL_H
#define OG_COMMON_FSUTIL_H

#include <stddef.h>

#include "offgrid.h"

/* The longest path the services build (Linux's PATH_MAX). */
#define OG_FS_PATH_MAX 4096

/* snprintf of fmt into buf[0..cap). OG_ERR_ARG (buf holds the truncated
 * text, named in the message) when it does not fit. */
og_status og_fs_path(char *buf, size_t cap, og_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The folder holding path, into dir[0..cap): "." for a bare name, "/"
 * for a file at the root. OG_ERR_ARG when it does not fit. */
og_status og_fs_parent(const char *path, char *dir, size_t cap, og_error *err);

/* mkdir -p: creates path and its missing parents (mode 0755); a folder
 * already there is fine. OG_ERR_ARG when path is too long, OG_ERR_IO when
 * a folder cannot be created. */
og_status og_fs_mkdirs(const char *path, og_error *err);

/* fsyncs the folder dir, so that a rename or link into it survives a
 * power cut. OG_ERR_IO when it cannot be opened or synced. */
og_status og_fs_sync_dir(const char *dir, og_error *err);

/* Maps the whole regular file at path read-only: *data and *size describe
 * it until og_fs_unmap. what names the expected content in the message for
 * an empty file (OG_ERR_FORMAT: an empty file cannot be mapped); OG_ERR_IO
 * when the file cannot be opened, is not regular or cannot be mapped. */
og_status og_fs_map(const char *path, const char *what, const void **data, size_t *size, og_error *err);
/* Undoes og_fs_map; NULL data is ignored. */
void og_fs_unmap(const void *data, size_t size);

#endif
