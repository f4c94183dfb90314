/*
 * test_tokenizer.c - the tokenizers against llama.cpp's test vectors in
 * shared/models/vocab (every ggml-vocab-*.gguf with its .inp/.out), piece
 * round trips, special-token parsing, and loading malformed metadata from
 * GGUFs built in memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "testlib.h"
#include "tokenizer/vocab.h"
#include "tokenizer_vectors.h"

static void run_vectors(const char *name, int rt_mode)
{
    char path[1024], inp_path[1100], out_path[1100];
    snprintf(path, sizeof path, "%s/vocab/%s", OG_SHARED_MODELS, name);
    snprintf(inp_path, sizeof inp_path, "%s.inp", path);
    snprintf(out_path, sizeof out_path, "%s.out", path);

    og_error err = { 0 };
    og_gguf *g;
    CHECK(og_gguf_open(path, &g, &err) == OG_OK, "%s: %s", path, err.message);
    if (!g)
        return;
    og_vocab *v = NULL;
    og_status st = og_vocab_load(g, &v, &err);
    og_gguf_close(g); /* the vocab must not depend on the mapping */
    CHECK(st == OG_OK, "%s: %s", name, err.message);
    if (st != OG_OK)
        return;
    /* test-tokenizer-0 tokenizes with add_special = parse_special = false */
    check_vectors(v, name, inp_path, out_path, false, rt_mode);
    og_vocab_free(v);
}

/* ------------------------------------------------ GGUFs built in memory */

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
} wbuf;

static void wput(wbuf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void w32(wbuf *b, uint32_t v) { wput(b, &v, 4); }
static void w64(wbuf *b, uint64_t v) { wput(b, &v, 8); }
static void wstr(wbuf *b, const char *s) { w64(b, strlen(s)); wput(b, s, strlen(s)); }

static void kv_str(wbuf *b, const char *key, const char *val)
{
    wstr(b, key);
    w32(b, 8);
    wstr(b, val);
}

static void kv_u32(wbuf *b, const char *key, uint32_t val)
{
    wstr(b, key);
    w32(b, 4);
    w32(b, val);
}

static void kv_strs(wbuf *b, const char *key, const char *const *vals, int n)
{
    wstr(b, key);
    w32(b, 9);
    w32(b, 8);
    w64(b, (uint64_t)n);
    for (int i = 0; i < n; i++)
        wstr(b, vals[i]);
}

static void kv_i32s(wbuf *b, const char *key, const int32_t *vals, int n)
{
    wstr(b, key);
    w32(b, 9);
    w32(b, 5);
    w64(b, (uint64_t)n);
    wput(b, vals, (size_t)n * 4);
}

static void kv_f32s(wbuf *b, const char *key, const float *vals, int n)
{
    wstr(b, key);
    w32(b, 9);
    w32(b, 6);
    w64(b, (uint64_t)n);
    wput(b, vals, (size_t)n * 4);
}

/* A tiny SentencePiece vocab; variant selects one defect. */
enum { OK_SPM, BAD_TYPE_LEN, BAD_TYPE_VALUE, BAD_SCORES_LEN, NO_TOKENS, UNKNOWN_MODEL,
       BPE_NO_MERGES, BAD_BOS, TOKENS_NOT_STRINGS };

static og_status load_variant(int variant, og_vocab **v, og_error *err, wbuf *b)
{
    static const char *const toks[] = {
        "<unk>", "<s>", "</s>", "<0x41>", "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab",
        "\xe2\x96\x81" "ab", "<ctl>",
    };
    const int n = (int)(sizeof toks / sizeof *toks);
    int32_t types[12] = { 2, 3, 3, 6, 1, 1, 1, 1, 1, 1, 3, 1 }; /* one spare for the long variants */
    float scores[12] = { 0, 0, 0, 0, -1, -2, -2, -3, -4, -1, 0, 0 };
    if (variant == BAD_TYPE_VALUE)
        types[5] = 42;
    int n_kv = 4 + (variant == BAD_BOS) - (variant == NO_TOKENS);
    b->n = 0;
    wput(b, "GGUF", 4);
    w32(b, 3);
    w64(b, 0);
    w64(b, (uint64_t)n_kv);
    kv_str(b, "tokenizer.ggml.model", variant == UNKNOWN_MODEL ? "rwkv" : variant == BPE_NO_MERGES ? "gpt2" : "llama");
    if (variant == TOKENS_NOT_STRINGS)
        kv_i32s(b, "tokenizer.ggml.tokens", types, n);
    else if (variant != NO_TOKENS)
        kv_strs(b, "tokenizer.ggml.tokens", toks, n);
    kv_i32s(b, "tokenizer.ggml.token_type", types, variant == BAD_TYPE_LEN ? n - 3 : n);
    kv_f32s(b, "tokenizer.ggml.scores", scores, variant == BAD_SCORES_LEN ? n + 1 : n);
    if (variant == BAD_BOS)
        kv_u32(b, "tokenizer.ggml.bos_token_id", 999);
    while (b->n % 32)
        wput(b, "", 1);
    og_gguf *g;
    og_status st = og_gguf_open_memory(b->p, b->n, &g, err);
    if (st != OG_OK)
        return st;
    st = og_vocab_load(g, v, err);
    og_gguf_close(g);
    return st;
}

static void test_malformed(void)
{
    wbuf b = { 0 };
    og_error err;
    og_vocab *v = NULL;

    memset(&err, 0, sizeof err);
    og_status st = load_variant(OK_SPM, &v, &err, &b);
    CHECK(st == OG_OK, "tiny vocab: %s", err.message);
    if (st == OG_OK) {
        og_token ids[16];
        int32_t n = og_vocab_tokenize(v, "ab a", 4, ids, 16, true, false);
        CHECK(n == 3 && ids[0] == 1 && ids[1] == 9 && ids[2] == 7, "tiny vocab: got %d ids", n);
        n = og_vocab_tokenize(v, "ab a", 4, ids, 1, true, false);
        CHECK(n == 3, "tokenize must report the needed count when max_tokens is small (%d)", n);
        /* "A" is not a piece: byte fallback to <0x41>; "c" has no byte token: <unk> */
        n = og_vocab_tokenize(v, "A", 1, ids, 16, false, false);
        CHECK(n == 2 && ids[0] == 4 && ids[1] == 3, "byte fallback: %d ids", n);
        n = og_vocab_tokenize(v, "<ctl>a", 6, ids, 16, false, true);
        CHECK(n >= 2 && ids[0] == 10, "parse_special on a control token: %d ids, first %d", n, ids[0]);
        char piece[16];
        CHECK(og_vocab_token_to_piece(v, 10, piece, 16, false) == 0, "control renders empty");
        CHECK(og_vocab_token_to_piece(v, 10, piece, 16, true) == 5 && !memcmp(piece, "<ctl>", 5),
              "control renders its text with special");
        CHECK(og_vocab_token_to_piece(v, 3, piece, 16, false) == 1 && piece[0] == 'A', "byte token");
        CHECK(og_vocab_token_to_piece(v, 9, piece, 16, false) == 3 && !memcmp(piece, " ab", 3), "U+2581");
        CHECK(og_vocab_token_to_piece(v, 9, piece, 1, false) == 3, "needed size when cap is small");
        CHECK(og_vocab_token_to_piece(v, 11, piece, 16, false) < 0, "out-of-range token");
        CHECK(og_vocab_tokenize(v, NULL, 5, ids, 16, false, false) < 0, "NULL text");
        CHECK(og_vocab_find(v, "ab", 2) == 8, "find");
        CHECK(og_vocab_is_eog(v, 2) && !og_vocab_is_eog(v, 1), "eos is eog");
        og_vocab_free(v);
        v = NULL;
    }

    static const struct { int variant; og_status want; const char *what; } bad[] = {
        { BAD_TYPE_LEN, OG_ERR_FORMAT, "token_type" },
        { BAD_TYPE_VALUE, OG_ERR_FORMAT, "type" },
        { BAD_SCORES_LEN, OG_ERR_FORMAT, "scores" },
        { NO_TOKENS, OG_ERR_FORMAT, "tokens" },
        { UNKNOWN_MODEL, OG_ERR_UNSUPPORTED, "rwkv" },
        { BPE_NO_MERGES, OG_ERR_FORMAT, "merges" },
        { TOKENS_NOT_STRINGS, OG_ERR_FORMAT, "tokens" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&err, 0, sizeof err);
        v = (og_vocab *)&err; /* must be reset to NULL on failure */
        st = load_variant(bad[i].variant, &v, &err, &b);
        CHECK(st == bad[i].want && v == NULL, "variant %d: status %d (%s)", bad[i].variant, st, err.message);
        CHECK(strstr(err.message, bad[i].what) != NULL, "variant %d: message '%s' should name '%s'",
              bad[i].variant, err.message, bad[i].what);
    }

    /* An out-of-range special id keeps the default. */
    memset(&err, 0, sizeof err);
    st = load_variant(BAD_BOS, &v, &err, &b);
    CHECK(st == OG_OK && og_vocab_bos(v) == 1, "bad bos id: %s", err.message);
    og_vocab_free(v);
    free(b.p);
}

/* Special tokens and pieces on the GPT-2 vocab. */
static void test_gpt2_special(void)
{
    og_error err = { 0 };
    og_gguf *g;
    CHECK(og_gguf_open(OG_SHARED_MODELS "/vocab/ggml-vocab-gpt-2.gguf", &g, &err) == OG_OK, "%s", err.message);
    if (!g)
        return;
    og_vocab *v = NULL;
    og_status st = og_vocab_load(g, &v, &err);
    og_gguf_close(g);
    CHECK(st == OG_OK, "%s", err.message);
    if (st != OG_OK)
        return;
    og_token eot = og_vocab_find(v, "<|endoftext|>", 13);
    CHECK(eot == 50256, "<|endoftext|> id %d", eot);
    CHECK(og_vocab_is_eog(v, eot), "<|endoftext|> ends generation");
    og_token ids[32];
    const char *s = "Hi<|endoftext|>";
    int32_t n = og_vocab_tokenize(v, s, strlen(s), ids, 32, false, true);
    CHECK(n == 2 && ids[1] == eot, "parse_special: %d ids", n);
    n = og_vocab_tokenize(v, s, strlen(s), ids, 32, false, false);
    CHECK(n > 2, "without parse_special the text is ordinary (%d ids)", n);
    char piece[64];
    CHECK(og_vocab_token_to_piece(v, eot, piece, 64, false) == 0, "control token renders empty");
    CHECK(og_vocab_token_to_piece(v, eot, piece, 64, true) == 13, "control token with special");
    og_token sp = og_vocab_find(v, "\xc4\xa0the", 5); /* "Ġthe" */
    CHECK(sp >= 0 && og_vocab_token_to_piece(v, sp, piece, 64, false) == 4 && !memcmp(piece, " the", 4),
          "byte-unicode mapping undone");
    og_vocab_free(v);
}

int main(void)
{
    run_vectors("ggml-vocab-llama-spm.gguf", RT_SPACE_PREFIX);
    run_vectors("ggml-vocab-phi-3.gguf", RT_SPACE_PREFIX);
    run_vectors("ggml-vocab-gpt-2.gguf", RT_EXACT);
    run_vectors("ggml-vocab-bert-bge.gguf", RT_NONE); /* lowercases, drops accents */
    test_gpt2_special();
    test_malformed();
    return og_test_finish("test_tokenizer");
}
