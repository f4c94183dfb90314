/*
 * extract_docx.c - (placeholder until its reader lands) refuses every file.
 */
#include "docs/extract.h"

og_status og_docs_extract_docx(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err)
{
    (void)lim;
    (void)out;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "%s: this build cannot read docx files yet", path);
}
