/*
 * test_tokenizer_smollm2.c - SmolLM2's own vocab (gpt2 BPE, pre "smollm")
 * against ids produced by llama.cpp's llama-tokenize for the corpus in
 * tests/data/tokenizer_corpus.txt, with and without parse_special (see
 * tests/fixtures/README.md), plus piece round trips. The same vocab with
 * tokenizer.ggml.pre swapped (a copy of the metadata built in memory)
 * checks the other pre-tokenizers against llama.cpp too.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gguf/gguf.h"
#include "testlib.h"
#include "tokenizer/vocab.h"
#include "tokenizer_vectors.h"


typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} wbuf;

static void wput(wbuf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 4096;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void w32(wbuf *b, uint32_t v) { wput(b, &v, 4); }
static void w64(wbuf *b, uint64_t v) { wput(b, &v, 8); }
static void wstr(wbuf *b, og_str s) { w64(b, s.len); wput(b, s.ptr, s.len); }

static size_t scalar_size(og_gguf_vtype t)
{
    switch (t) {
    case OG_GGUF_U8: case OG_GGUF_I8: case OG_GGUF_BOOL: return 1;
    case OG_GGUF_U16: case OG_GGUF_I16: return 2;
    case OG_GGUF_U32: case OG_GGUF_I32: case OG_GGUF_F32: return 4;
    default: return 8;
    }
}

/* The metadata of g (no tensors) as a new GGUF with tokenizer.ggml.pre
 * set to pre. */
static bool copy_with_pre(const og_gguf *g, const char *pre, wbuf *b)
{
    og_str pre_str = { pre, strlen(pre) };
    b->n = 0;
    wput(b, "GGUF", 4);
    w32(b, 3);
    w64(b, 0);
    w64(b, (uint64_t)og_gguf_n_kv(g));
    for (int64_t i = 0; i < og_gguf_n_kv(g); i++) {
        const og_gguf_kv *kv = og_gguf_kv_at(g, i);
        wstr(b, kv->key);
        w32(b, kv->type);
        if (kv->type == OG_GGUF_STRING) {
            wstr(b, og_str_eq(kv->key, "tokenizer.ggml.pre") ? pre_str : kv->strs[0]);
        } else if (kv->type == OG_GGUF_ARRAY) {
            w32(b, kv->elem_type);
            w64(b, kv->n);
            if (kv->elem_type == OG_GGUF_STRING)
                for (uint64_t j = 0; j < kv->n; j++)
                    wstr(b, kv->strs[j]);
            else
                wput(b, kv->data, kv->n * scalar_size(kv->elem_type));
        } else {
            wput(b, kv->data, scalar_size(kv->type));
        }
    }
    while (b->n % 32)
        wput(b, "", 1);
    return !b->oom;
}

static void check_pre(const og_gguf *g, const char *pre, wbuf *b)
{
    char label[64], out[512];
    snprintf(label, sizeof label, "smollm2 with pre '%s'", pre);
    snprintf(out, sizeof out, "%s/../fixtures/smollm2_pre_%s.out", OG_TEST_DATA, pre);
    CHECK(copy_with_pre(g, pre, b), "%s: out of memory", label);
    og_error err = { 0 };
    og_gguf *copy;
    CHECK(og_gguf_open_memory(b->p, b->n, &copy, &err) == OG_OK, "%s: %s", label, err.message);
    if (!copy)
        return;
    og_vocab *v = NULL;
    og_status st = og_vocab_load(copy, &v, &err);
    og_gguf_close(copy);
    CHECK(st == OG_OK, "%s: %s", label, err.message);
    if (st != OG_OK)
        return;
    check_vectors(v, label, OG_TEST_DATA "/tokenizer_corpus.txt", out, false, RT_EXACT);
    og_vocab_free(v);
}

int main(void)
{
    const char *model = og_test_smollm2_path();
    CHECK(model != NULL, "the SmolLM2 model is missing: set OG_SMOLLM2 or run the setup step");
    if (!model)
        return og_test_finish("test_tokenizer_smollm2");

    og_error err = { 0 };
    og_gguf *g;
    CHECK(og_gguf_open(model, &g, &err) == OG_OK, "%s: %s", model, err.message);
    if (!g)
        return og_test_finish("test_tokenizer_smollm2");
    og_vocab *v = NULL;
    og_status st = og_vocab_load(g, &v, &err);
    /* llama.cpp's other pre-tokenizers over the same vocab and merges */
    static const char *const pres[] = { "llama-bpe", "qwen2", "default", "falcon", "gpt-2" };
    wbuf b = { 0 };
    for (size_t i = 0; i < sizeof pres / sizeof *pres; i++)
        check_pre(g, pres[i], &b);
    free(b.p);
    og_gguf_close(g);
    CHECK(st == OG_OK, "%s: %s", model, err.message);
    if (st != OG_OK)
        return og_test_finish("test_tokenizer_smollm2");

    CHECK(strcmp(og_vocab_model_name(v), "gpt2") == 0, "model %s", og_vocab_model_name(v));
    CHECK(og_vocab_n_tokens(v) == 49152, "n_tokens %d", og_vocab_n_tokens(v));
    CHECK(!og_vocab_wants_bos(v), "SmolLM2 sets add_bos_token = false");
    og_token im_end = og_vocab_find(v, "<|im_end|>", 10);
    CHECK(im_end == 2 && og_vocab_eot(v) == im_end, "<|im_end|> is eot (%d, eot %d)", im_end, og_vocab_eot(v));
    CHECK(og_vocab_is_eog(v, im_end) && og_vocab_is_eog(v, 0), "<|im_end|> and <|endoftext|> end generation");
    CHECK(!og_vocab_is_eog(v, og_vocab_find(v, "<|im_start|>", 12)), "<|im_start|> does not");

    const char *corpus = OG_TEST_DATA "/tokenizer_corpus.txt";
    check_vectors(v, "smollm2 (parse_special=false)", corpus,
                  OG_TEST_DATA "/../fixtures/smollm2_tokens.out", false, RT_EXACT);
    check_vectors(v, "smollm2 (parse_special=true)", corpus,
                  OG_TEST_DATA "/../fixtures/smollm2_tokens_special.out", true, RT_EXACT);
    og_vocab_free(v);
    return og_test_finish("test_tokenizer_smollm2");
}
