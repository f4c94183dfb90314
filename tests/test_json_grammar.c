/*
 * test_json_grammar.c - the incremental JSON recognizer behind the
 * server's response_format json_object: whole documents complete, every
 * prefix of a valid document is accepted (fed in one piece or byte by
 * byte), and invalid text is refused at the byte where it goes wrong.
 */
#include "testlib.h"
#include "run/json_grammar.h"

#include <string.h>

/* Feeds text in pieces of `step` bytes; returns bytes accepted before the
 * first refusal (strlen when all of it is). */
static size_t accepted(const char *text, bool object_only, size_t step, bool *complete)
{
    og_json_state s;
    og_json_init(&s, object_only);
    size_t n = strlen(text), i = 0;
    for (; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        og_json_state t = s;
        if (!og_json_feed(&t, text + i, k)) {
            /* Find the byte that broke it. */
            for (size_t j = 0; j < k; j++)
                if (!og_json_feed(&s, text + i + j, 1))
                    return i + j;
        }
        s = t;
    }
    *complete = og_json_complete(&s);
    return n;
}

static void valid(const char *text, bool object_only)
{
    for (size_t step = 1; step <= 7; step += 3) {
        bool complete = false;
        size_t got = accepted(text, object_only, step, &complete);
        CHECK(got == strlen(text) && complete, "'%s' (step %zu): accepted %zu, complete %d", text, step, got, complete);
    }
}

static void prefix(const char *text)
{
    bool complete = true;
    size_t got = accepted(text, true, 1, &complete);
    CHECK(got == strlen(text) && !complete, "'%s' should be an incomplete prefix (%zu, %d)", text, got, complete);
}

static void invalid(const char *text, size_t at, bool object_only)
{
    bool complete;
    size_t got = accepted(text, object_only, 1, &complete);
    CHECK(got == at, "'%s' should fail at byte %zu, failed at %zu", text, at, got);
}

int main(void)
{
    valid("{}", true);
    valid("{\"a\":1}", true);
    valid("{\"name\": \"Felix\", \"age\": 10, \"tags\": [\"a\", \"b\"], \"x\": {\"y\": null}}", true);
    valid("{\n  \"n\": -0.5e+10,\n  \"t\": true,\n  \"f\": false,\n  \"e\": [ ]\n}", true);
    valid("{\"s\": \"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9\"}", true);
    valid("{\"utf8\": \"caf\xc3\xa9 \xe2\x82\xac\"}", true);
    valid("[1, 2.5, -3, 4e2, 0]", false);
    valid("\"just a string\"", false);
    valid("12", false);

    prefix("{");
    prefix("{\"a\"");
    prefix("{\"a\": [1, 2");
    prefix("{\"a\": tr");
    prefix("{\"a\": \"\\u00");
    prefix("{\"a\": 1.");

    invalid("[1]", 0, true);          /* not an object */
    invalid(" {}", 0, true);          /* no blank before the value */
    invalid("{}x", 2, true);          /* nothing after the end */
    invalid("{} ", 2, true);
    invalid("{a:1}", 1, true);        /* keys are strings */
    invalid("{\"a\" 1}", 5, true);
    invalid("{\"a\":}", 5, true);
    invalid("{\"a\":1,}", 7, true);   /* no trailing comma */
    invalid("{\"a\":01}", 6, true);   /* no leading zero */
    invalid("{\"a\":1.e5}", 7, true);
    invalid("{\"a\":-}", 6, true);
    invalid("{\"a\":tru}", 8, true);
    invalid("{\"a\":nul1}", 8, true);
    invalid("{\"a\":\"\\x\"}", 7, true);
    invalid("{\"a\":\"\\u12g4\"}", 10, true);
    invalid("{\"a\":\"tab\there\"}", 9, true); /* raw control character */
    invalid("{\"a\":[1}", 7, true);   /* mismatched bracket */
    invalid("{\"a\":1]", 6, true);

    /* Depth and whitespace are bounded. */
    char deep[2 * OG_JSON_MAX_DEPTH + 8] = "{\"a\":";
    size_t n = strlen(deep);
    for (int i = 0; i < OG_JSON_MAX_DEPTH - 1; i++)
        deep[n++] = '[';
    deep[n] = 0;
    prefix(deep);
    deep[n++] = '[';
    deep[n] = 0;
    invalid(deep, n - 1, true);
    char blanks[64] = "{";
    memset(blanks + 1, ' ', OG_JSON_MAX_WS + 1);
    blanks[OG_JSON_MAX_WS + 2] = 0;
    invalid(blanks, OG_JSON_MAX_WS + 1, true);

    return og_test_finish("test_json_grammar");
}
