/*
 * json_grammar.h - an incremental JSON recognizer for constrained
 * sampling: it tells whether a text is a prefix of some valid JSON value,
 * one chunk (a token's piece) at a time. The state is a small plain struct,
 * so trying a candidate token is a copy plus a feed; nothing allocates.
 * Private to the library (the server's response_format json_object).
 */
#ifndef OG_SAMPLE_JSON_GRAMMAR_H
#define OG_SAMPLE_JSON_GRAMMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deeper nesting is refused: it keeps the state small and bounded. */
#define OG_JSON_MAX_DEPTH 32
/* Whitespace runs longer than this are refused, so a model cannot spin
 * on blanks forever inside a structure. */
#define OG_JSON_MAX_WS 16

typedef struct og_json_state {
    uint8_t stack[OG_JSON_MAX_DEPTH]; /* '{' or '[' per open container */
    int32_t depth;
    uint8_t mode;   /* what may come next (json_grammar.c's enum) */
    uint8_t sub;    /* progress inside a literal, number or \u escape */
    uint8_t lit;    /* which literal: 0 true, 1 false, 2 null */
    uint8_t ws;     /* length of the current whitespace run */
    bool in_key;    /* the string being read is an object key */
    bool object_only; /* the top-level value must be an object */
} og_json_state;

/* A state expecting one value; object_only: it must be an object. */
void og_json_init(og_json_state *s, bool object_only);

/* Feeds text[0..n). Returns false when the text so far can no longer be
 * the start of valid JSON (s is then undefined: feed a copy to test). */
bool og_json_feed(og_json_state *s, const char *text, size_t n);

/* True when what was fed is one whole JSON value (nothing more may come). */
bool og_json_complete(const og_json_state *s);

#endif
