/*
 * citations.h - checking the citations an answer makes as it streams
 * (citations.c): markers "[n]" (and "[n, m]", "[n][m]") whose numbers name
 * one of the n_excerpts excerpts the model was given pass through and are
 * recorded; a marker naming none is dropped from the text and counted as
 * invented. Text that might still become a marker is held back until it
 * is decided, so the streamed text is the final answer. An optional check
 * may re-point a real number to the excerpt the preceding text comes from.
 */
#ifndef OG_DOCS_CITATIONS_H
#define OG_DOCS_CITATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offgrid.h"

#define OG_CITE_MAX_EXCERPTS 64
#define OG_CITE_HOLD 32 /* longest marker held back */

/* Receives checked text to show (not NUL-terminated). */
typedef void (*og_cite_emit_fn)(void *user, const char *text, size_t n);
/* Called once per marker, before it is emitted, with its real numbers
 * (1..n_excerpts): may rewrite them to the excerpts the text emitted so
 * far should cite. Returns how many it rewrote. */
typedef int32_t (*og_cite_check_fn)(void *user, int32_t *numbers, int32_t count);

typedef struct og_cite_filter {
    int32_t n_excerpts;
    bool cited[OG_CITE_MAX_EXCERPTS + 1]; /* [n]: the answer cites excerpt n */
    int32_t invented[16];                 /* numbers of dropped markers (first 16) */
    int32_t n_invented;
    char held[OG_CITE_HOLD + 1];
    size_t n_held;
    int32_t n_repointed;                  /* numbers check rewrote */
    og_cite_emit_fn emit;
    og_cite_check_fn check;               /* NULL: numbers pass as written */
    void *user;
} og_cite_filter;

/* check may be NULL. */
void og_cite_init(og_cite_filter *f, int32_t n_excerpts, og_cite_emit_fn emit, og_cite_check_fn check, void *user);
/* Feeds generated text; emits what is decided. */
void og_cite_feed(og_cite_filter *f, const char *text, size_t n);
/* Emits what is still held (the answer ended). */
void og_cite_finish(og_cite_filter *f);

#endif
