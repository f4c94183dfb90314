/*
 * cmd_embed.c - `offgrid embed`: sentence embeddings from an encoder
 * model, one vector per input text.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static void print_vectors(const cli_opts *o, const og_encoder *enc, const float *v, int32_t n)
{
    const int32_t dim = og_encoder_n_embd(enc);
    if (o->json) {
        printf("{\"model\": ");
        cli_json_str(o->model);
        printf(", \"dim\": %d, \"data\": [", dim);
    }
    for (int32_t i = 0; i < n; i++) {
        if (o->json)
            printf("%s\n  {\"index\": %d, \"embedding\": [", i ? "," : "", i);
        for (int32_t j = 0; j < dim; j++)
            printf(o->json ? (j ? ", %.8g" : "%.8g") : (j ? " %.8g" : "%.8g"), v[(size_t)i * dim + j]);
        printf(o->json ? "]}" : "\n");
    }
    if (o->json)
        printf("\n]}\n");
}

static int32_t embedding_width(const og_encoder *enc, const cli_opts *o)
{
    (void)o;
    return og_encoder_n_embd(enc);
}

static int run(const cli_opts *o)
{
    return cli_run_encoder("embed", o, true, embedding_width, og_embed, print_vectors);
}

const cli_command cli_cmd_embed = {
    "embed", "sentence embeddings from an encoder (BERT) model",
    "usage: offgrid embed -m MODEL (-p TEXT | -f FILE) [--json] [-t N] [--batch N]\n\n"
    "Prints one embedding per text: pooled as the model says (mean or CLS)\n"
    "and scaled to unit length, so a dot product of two is their cosine.\n"
    "With -f, every line of FILE is one text (empty lines included).\n\n"
    "options:\n"
    "  -m, --model PATH        GGUF encoder model, arch bert (required)\n"
    "  -p, --prompt TEXT       one text\n"
    "  -f, --file PATH         one text per line\n"
    "      --json              {\"dim\": D, \"data\": [{\"index\": i, \"embedding\": [...]}]}\n"
    "                          instead of one line of numbers per text\n"
    "  -t, --threads N         threads (default: all CPUs)\n"
    "  -b, --batch N           tokens per forward pass, several texts packed\n"
    "                          together (default 2048); the result does not\n"
    "                          depend on it\n"
    "      --max-tokens N      cut longer texts to N tokens (default: the\n"
    "                          model's context length)\n",
    OPT_MODEL | OPT_PROMPT | OPT_FILE | OPT_JSON | OPT_THREADS | OPT_BATCH | OPT_MAX_TOKENS,
    run,
};
