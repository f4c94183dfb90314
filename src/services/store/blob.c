/*
 * blob.c - the store's content-addressed files: blobs/sha256/<hex>. A
 * blob is first written to a temporary file while it is hashed
 * (og_sha256_writer, services/common), fsync'd, then renamed to its name
 * and the folder fsync'd, so a blob path either does not exist or holds
 * the whole, durable file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/fsutil.h"
#include "offgrid.h"
#include "store/store.h"

og_status og_blob_path(const og_store *s, const char *hex, char *buf, size_t cap, og_error *err)
{
    if (!og_store_valid_sha256(hex))
        return og_error_set(err, OG_ERR_ARG, "'%s' is not a SHA-256 digest", hex);
    return og_fs_path(buf, cap, err, "%s/blobs/sha256/%s", s->home, hex);
}

og_status og_blob_commit(const og_store *s, const char *tmp_path, const char *hex, og_error *err)
{
    char path[OG_STORE_PATH_MAX], dir[OG_STORE_PATH_MAX];
    og_status st = og_blob_path(s, hex, path, sizeof path, err);
    if (st == OG_OK)
        st = og_fs_path(dir, sizeof dir, err, "%s/blobs/sha256", s->home);
    if (st != OG_OK)
        return st;
    /* rename replaces a blob of the same name atomically: it may be a
     * damaged copy that this verified file repairs. */
    if (rename(tmp_path, path) != 0)
        return og_error_set(err, OG_ERR_IO, "cannot move %s to %s: %s", tmp_path, path, strerror(errno));
    return og_fs_sync_dir(dir, err);
}
