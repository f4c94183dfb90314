/*
 * chunk_sentence.h - the text rules the chunker (chunk.c) cuts by, in
 * chunk_sentence.c: UTF-8 characters, the whitespace and CJK ideographs
 * at which WordPiece starts a new word, and where a sentence ends.
 */
#ifndef OG_DOCS_CHUNK_SENTENCE_H
#define OG_DOCS_CHUNK_SENTENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The code point at s[i] (i < n) and its length in bytes, >= 1. A byte
 * that starts no valid character reads as U+FFFD of one byte, so a walk
 * never runs past n. */
uint32_t og_docs_utf8_at(const char *s, size_t n, size_t i, size_t *len);

/* The start of the character that ends right before byte i (i > 0). */
size_t og_docs_utf8_before(const char *s, size_t i);

/* The whitespace WordPiece splits words at (the tokenizer's own list). */
bool og_docs_is_space(uint32_t c);

/* The CJK ideographs WordPiece makes words of their own (BERT's ranges). */
bool og_docs_is_ideograph(uint32_t c);

/* 。！？｡． : a CJK sentence ends after one whatever follows. */
bool og_docs_is_cjk_stop(uint32_t c);

/* The end (exclusive) of the sentence that starts at byte start of the
 * paragraph s[..be): after a stop (. ! ? …), with the stops and closing
 * marks right after it, when whitespace and then no lowercase ASCII letter
 * follows, unless a lone '.' ends an abbreviation ("e.g.", "Dr."), an
 * initial ("J.") or a list number at a line's start ("2."); after a CJK
 * stop whatever follows; be when no stop ends it sooner. */
size_t og_docs_sentence_end(const char *s, size_t start, size_t be);

#endif
