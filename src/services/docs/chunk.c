/*
 * chunk.c - (placeholder until the chunker lands) one chunk per non-empty
 * page, whole.
 */
#include "docs/chunk.h"

#include <stdlib.h>

og_docs_chunk_params og_docs_default_chunk_params(void)
{
    og_docs_chunk_params p = { 220, 250, 40 };
    return p;
}

og_status og_docs_chunk_text(const og_docs_text *t, const og_model *encoder, const og_docs_chunk_params *p,
                             og_docs_chunk **out, int32_t *n_out, og_error *err)
{
    (void)encoder;
    (void)p;
    *out = NULL;
    *n_out = 0;
    og_docs_chunk *c = calloc((size_t)t->n_pages + 1, sizeof *c);
    if (!c)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    int32_t n = 0;
    for (int32_t i = 0; i < t->n_pages; i++) {
        if (!t->pages[i].n_bytes)
            continue;
        c[n].page_index = i;
        c[n].byte_end = t->pages[i].n_bytes;
        c[n].end = og_docs_code_points(t->pages[i].text, t->pages[i].n_bytes);
        n++;
    }
    *out = c;
    *n_out = n;
    return OG_OK;
}

void og_docs_chunks_free(og_docs_chunk *c, int32_t n)
{
    for (int32_t i = 0; c && i < n; i++)
        free(c[i].heading);
    free(c);
}
