/*
 * tokenizer_vectors.h - checking a vocab against llama.cpp-style test
 * vectors: inputs separated by "\n__ggml_vocab_test__\n" lines and one
 * line of expected ids per input. Shared by the tokenizer tests (static
 * functions: include it from one .c per program).
 */
#ifndef OG_TESTS_TOKENIZER_VECTORS_H
#define OG_TESTS_TOKENIZER_VECTORS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "tokenizer/vocab.h"

static const char SEP[] = "\n__ggml_vocab_test__\n";

/* Splits the .inp text as llama.cpp's test-tokenizer-0 does: inputs are
 * separated (and terminated) by SEP. Returns the count; fills starts/lens. */
static int split_inputs(const char *s, size_t n, const char **starts, size_t *lens, int max)
{
    int k = 0;
    size_t pos = 0, sl = strlen(SEP);
    while (pos < n && k < max) {
        const char *next = NULL;
        for (size_t i = pos; i + sl <= n; i++)
            if (memcmp(s + i, SEP, sl) == 0) {
                next = s + i;
                break;
            }
        starts[k] = s + pos;
        if (!next) {
            lens[k++] = n - pos;
            break;
        }
        lens[k++] = (size_t)(next - (s + pos));
        pos = (size_t)(next - s) + sl;
    }
    return k;
}

/* Parses one line of space-separated ids; returns the count. */
static int parse_ids(const char **p, const char *end, og_token *ids, int max)
{
    int n = 0;
    const char *s = *p;
    while (s < end && *s != '\n') {
        if (*s == ' ' || *s == '\r') {
            s++;
            continue;
        }
        char *e;
        long v = strtol(s, &e, 10);
        if (e == s)
            break;
        if (n < max)
            ids[n++] = (og_token)v;
        s = e;
    }
    if (s < end && *s == '\n')
        s++;
    *p = s;
    return n;
}

static void print_ids(const char *what, const og_token *ids, int n)
{
    fprintf(stderr, "  %s:", what);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

/* Concatenates the pieces of ids into buf; (size_t)-1 when it does not fit. */
static size_t detokenize(const og_vocab *v, const og_token *ids, int n, bool special, char *buf, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        char piece[256];
        int32_t k = og_vocab_token_to_piece(v, ids[i], piece, sizeof piece, special);
        if (k < 0 || (size_t)k > sizeof piece || len + (size_t)k > cap)
            return (size_t)-1;
        memcpy(buf + len, piece, (size_t)k);
        len += (size_t)k;
    }
    return len;
}

enum { RT_NONE, RT_EXACT, RT_SPACE_PREFIX };

#define MAX_IDS 4096

/* Tokenizes every input of inp_path (without BOS/EOS) and compares with
 * out_path; with a round-trip mode also checks that the pieces give the
 * input back (RT_SPACE_PREFIX: after the one leading space SentencePiece
 * adds). Prints "label: passed/total" and returns the number that failed. */
static int check_vectors(const og_vocab *v, const char *label, const char *inp_path,
                         const char *out_path, bool parse_special, int rt_mode)
{
    size_t n_inp = 0, n_out = 0;
    char *inp = og_test_read_file(inp_path, &n_inp);
    char *out = og_test_read_file(out_path, &n_out);
    CHECK(inp && out, "%s: cannot read %s / %s", label, inp_path, out_path);
    static const char *starts[1024];
    static size_t lens[1024];
    int n = inp ? split_inputs(inp, n_inp, starts, lens, 1024) : 0;
    const char *op = out, *oend = out ? out + n_out : NULL;
    int passed = 0, rt_passed = 0, rt_checked = 0, n_lines = 0;
    for (const char *q = out; q && q < oend; q++)
        n_lines += *q == '\n';
    CHECK(!out || n_lines == n, "%s: %d inputs but %d lines of ids", label, n, n_lines);
    og_token *want = malloc(MAX_IDS * sizeof *want), *got = malloc(MAX_IDS * sizeof *got);
    char *text = malloc(1 << 16);
    CHECK(want && got && text, "out of memory");
    for (int i = 0; out && want && got && text && i < n; i++) {
        int nw = parse_ids(&op, oend, want, MAX_IDS);
        int32_t ng = og_vocab_tokenize(v, starts[i], lens[i], got, MAX_IDS, false, parse_special);
        bool ok = ng == nw && memcmp(want, got, (size_t)nw * sizeof *want) == 0;
        CHECK(ok, "%s: input %d '%.*s'", label, i, (int)lens[i], starts[i]);
        if (!ok) {
            print_ids("want", want, nw);
            print_ids("got ", got, ng > 0 ? ng : 0);
        }
        passed += ok;
        if (rt_mode != RT_NONE && ng > 0 && ng <= MAX_IDS) {
            size_t len = detokenize(v, got, ng, parse_special, text, 1 << 16);
            const char *t = text;
            if (rt_mode == RT_SPACE_PREFIX && len != (size_t)-1 && len > 0 && text[0] == ' ') {
                t++;
                len--;
            }
            bool rt = len == lens[i] && memcmp(t, starts[i], len) == 0;
            CHECK(rt, "%s: round trip of input %d '%.*s' gave '%.*s'", label, i, (int)lens[i],
                  starts[i], (int)(len == (size_t)-1 ? 0 : len), t);
            rt_passed += rt;
            rt_checked++;
        }
    }
    printf("%s: %d/%d inputs match llama.cpp", label, passed, n);
    if (rt_mode != RT_NONE)
        printf(", %d/%d round trips", rt_passed, rt_checked);
    printf("\n");
    CHECK(n > 0, "%s: no inputs", label);
    free(want);
    free(got);
    free(text);
    free(inp);
    free(out);
    return n - passed;
}

#endif
