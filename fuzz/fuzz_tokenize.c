/*
 * fuzz_tokenize.c - libFuzzer target for the tokenizers: arbitrary bytes
 * (invalid UTF-8 included) through each real vocabulary in shared/models,
 * the first byte choosing the vocab and the flags.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gguf/gguf.h"
#include "tokenizer/vocab.h"

static const char *const vocab_files[] = {
    "ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-bert-bge.gguf", "ggml-vocab-phi-3.gguf",
};
#define N_VOCABS (sizeof vocab_files / sizeof vocab_files[0])
static og_vocab *vocabs[N_VOCABS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("OG_VOCAB_DIR");
    char path[4096];
    for (size_t i = 0; i < N_VOCABS; i++) {
        snprintf(path, sizeof path, "%s/%s", dir ? dir : "../shared/models/vocab", vocab_files[i]);
        og_error err;
        og_gguf *g;
        if (og_gguf_open(path, &g, &err) != OG_OK || og_vocab_load(g, &vocabs[i], &err) != OG_OK) {
            fprintf(stderr, "fuzz_tokenize: %s (set OG_VOCAB_DIR)\n", err.message);
            abort();
        }
        og_gguf_close(g);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const og_vocab *v = vocabs[data[0] % N_VOCABS];
    bool add_special = data[0] & 4, parse_special = data[0] & 8;
    og_token toks[256];
    int32_t n = og_vocab_tokenize(v, (const char *)data + 1, size - 1, toks, 256, add_special, parse_special);
    char piece[256];
    for (int32_t i = 0; i < n && i < 256; i++)
        og_vocab_token_to_piece(v, toks[i], piece, sizeof piece, data[0] & 16);
    return 0;
}
