/*
 * ocr.c - (placeholder until OCR lands) refuses every image.
 */
#include "docs/extract.h"

og_status og_docs_extract_image(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err)
{
    (void)lim;
    (void)out;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "%s: this build cannot read images yet", path);
}
