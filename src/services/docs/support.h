/*
 * support.h - how well each excerpt supports a piece of an answer
 * (support.c), judged by the distinct words of four letters or more they
 * share. Small models often cite the wrong excerpt number, or none: the
 * answer's citations are checked (and, when the cited excerpt plainly
 * does not hold the text, re-pointed) with these counts.
 */
#ifndef OG_DOCS_SUPPORT_H
#define OG_DOCS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "offgrid_services.h"

/* A source must share at least this many words with the text. */
#define OG_SUPPORT_MIN_SHARED 3

/* For text[0..len) and each of the n excerpts (n <= 64): shared[i], how
 * many of the text's distinct words (4..64 bytes, ASCII case ignored)
 * excerpt i holds as whole words. Returns how many distinct words the
 * text has. */
int32_t og_docs_support(const char *text, size_t len, const og_docs_hit *hits, int32_t n, int32_t *shared);

/* The 1-based excerpt that best supports a whole uncited answer: it
 * shares at least OG_SUPPORT_MIN_SHARED words, and a third of the
 * answer's. 0 when none does. */
int32_t og_docs_attribute(const char *answer, const og_docs_hit *hits, int32_t n);

/* The excerpt a citation [cited] that follows text[0..len) should name:
 * cited itself, unless another excerpt shares more than twice as many of
 * the text's words (and at least OG_SUPPORT_MIN_SHARED), which it then
 * names instead. 1-based. */
int32_t og_docs_recheck(const char *text, size_t len, int32_t cited, const og_docs_hit *hits, int32_t n);

#endif
