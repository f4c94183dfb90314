/*
 * extract_plain.c - (placeholder until its reader lands) refuses every file.
 */
#include "docs/extract.h"

og_status og_docs_extract_plain(const char *path, bool markdown, const og_docs_limits *lim, og_docs_text *out, og_error *err)
{
    (void)lim;
    (void)markdown;
    (void)out;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "%s: this build cannot read plain files yet", path);
}
