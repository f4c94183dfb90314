/*
 * chunk.h - cutting a document's pages into the passages that are
 * embedded, indexed and cited (chunk.c): by structure first (headings,
 * then paragraphs, then sentences, then words), to a size in tokens of the
 * embedding model, with overlap, never across a page, each chunk keeping
 * its exact span in its page.
 */
#ifndef OG_DOCS_CHUNK_H
#define OG_DOCS_CHUNK_H

#include "docs/extract.h"

typedef struct og_docs_chunk {
    int32_t page_index;          /* into og_docs_text.pages */
    int64_t start, end;          /* code points in that page's text: the chunk is text[start, end) */
    size_t byte_start, byte_end; /* the same span in bytes */
    char *heading;               /* the headings above it, "Top > Section > Sub", or NULL; owned */
    int32_t n_tokens;            /* the span's tokens under the embedding model (no special tokens) */
} og_docs_chunk;

typedef struct og_docs_chunk_params {
    int32_t target_tokens;  /* a chunk grows to about this many tokens (default 220) */
    int32_t max_tokens;     /* and never past this many (default 250: MiniLM reads 256 with [CLS] and [SEP]) */
    int32_t overlap_tokens; /* the next chunk repeats about this many (whole sentences when it can; default 40) */
} og_docs_chunk_params;

og_docs_chunk_params og_docs_default_chunk_params(void);

/* Cuts t into *out (n_out chunks, in page and text order; og_docs_chunks_free
 * them). Tokens are counted with the encoder's tokenizer (og_tokenize on
 * model, without special tokens). Empty or whitespace-only pages give no
 * chunk; a chunk never starts or ends with whitespace. A "word" longer than
 * max_tokens is cut at a UTF-8 character boundary. OG_ERR_ARG for bad
 * params, OG_ERR_NOMEM. */
og_status og_docs_chunk_text(const og_docs_text *t, const og_model *encoder, const og_docs_chunk_params *p,
                             og_docs_chunk **out, int32_t *n_out, og_error *err);

void og_docs_chunks_free(og_docs_chunk *c, int32_t n);

#endif
