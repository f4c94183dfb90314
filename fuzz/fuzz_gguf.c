/*
 * fuzz_gguf.c - libFuzzer target for the GGUF reader and the tokenizer
 * metadata loader: any byte string must parse or fail cleanly, and what
 * parses must be safe to walk.
 */
#include <stdint.h>
#include <stddef.h>

#include "gguf/gguf.h"
#include "tokenizer/vocab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    og_error err;
    og_gguf *g;
    if (og_gguf_open_memory(data, size, &g, &err) != OG_OK)
        return 0;
    volatile uint64_t sink = 0;
    for (int64_t i = 0; i < og_gguf_n_kv(g); i++) {
        const og_gguf_kv *kv = og_gguf_kv_at(g, i);
        sink += kv->key.len;
        if (kv->elem_type == OG_GGUF_STRING)
            for (uint64_t j = 0; j < kv->n; j++)
                sink += kv->strs[j].len ? (uint8_t)kv->strs[j].ptr[kv->strs[j].len - 1] : 0;
        else if (kv->type == OG_GGUF_ARRAY && kv->n)
            sink += (uint64_t)og_gguf_arr_i64(kv, kv->n - 1);
    }
    for (int64_t i = 0; i < og_gguf_n_tensors(g); i++) {
        const og_gguf_tensor *t = og_gguf_tensor_at(g, i);
        if (t->n_bytes)
            sink += ((const uint8_t *)t->data)[t->n_bytes - 1];
    }
    og_vocab *v = NULL;
    if (og_vocab_load(g, &v, &err) == OG_OK) {
        og_token toks[64];
        static const char text[] = "Hello world! 123 <s> \xe2\x96\x81x";
        og_vocab_tokenize(v, text, sizeof text - 1, toks, 64, true, true);
        og_vocab_free(v);
    }
    og_gguf_close(g);
    return 0;
}
