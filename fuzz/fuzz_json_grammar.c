/*
 * fuzz_json_grammar.c - libFuzzer target for the JSON recognizer that
 * constrains json_object generation (run/json_grammar.c), checked against
 * jansson: the first byte picks the chunk size and object_only; the rest
 * is fed in chunks, as tokens' pieces are. Whatever the recognizer calls
 * one whole value, jansson must parse (bar number overflow and invalid
 * UTF-8, which the recognizer leaves to the model's vocabulary and which
 * jansson refuses for its own reasons, and "\u0000" in a key, which
 * jansson cannot store). A prefix it refused must stay
 * refused: feeding byte by byte and in chunks must agree.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run/json_grammar.h"

/* Feeds data in chunks of `chunk` bytes; returns how many bytes were fed
 * before the first refusal (n when none). */
static size_t feed_all(og_json_state *s, const uint8_t *data, size_t n, size_t chunk)
{
    for (size_t i = 0; i < n; i += chunk) {
        size_t len = n - i < chunk ? n - i : chunk;
        og_json_state before = *s;
        if (!og_json_feed(s, (const char *)data + i, len)) {
            /* find the byte that was refused */
            for (size_t j = 0; j < len; j++)
                if (!og_json_feed(&before, (const char *)data + i + j, 1))
                    return i + j;
            abort(); /* refused as a chunk, accepted byte by byte */
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const bool object_only = data[0] & 1;
    const size_t chunk = 1 + (data[0] >> 1) % 16;
    data++, size--;

    og_json_state bytewise, chunked;
    og_json_init(&bytewise, object_only);
    og_json_init(&chunked, object_only);
    const size_t ok_bytes = feed_all(&bytewise, data, size, 1);
    const size_t ok_chunks = feed_all(&chunked, data, size, chunk);
    if (ok_bytes != ok_chunks)
        abort();
    if (ok_bytes != size || !og_json_complete(&bytewise))
        return 0;
    if (og_json_complete(&chunked) != og_json_complete(&bytewise))
        abort();

    json_error_t error;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    if (!v) {
        enum json_error_code code = json_error_code(&error);
        /* jansson refuses "\u0000" in an object key even with JSON_ALLOW_NUL:
         * valid JSON all the same (RFC 8259 allows any escaped code point). */
        if (code != json_error_numeric_overflow && code != json_error_invalid_utf8 &&
            code != json_error_null_byte_in_key)
            abort(); /* the recognizer accepted what is not JSON */
        return 0;
    }
    if (object_only && !json_is_object(v))
        abort();
    json_decref(v);
    return 0;
}
