/*
 * cmd_embed.c - `offgrid embed`: sentence embeddings from an encoder
 * model, one vector per input text.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static void print_vectors(const cli_opts *o, const float *v, int32_t n, int32_t dim)
{
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

static int run(const cli_opts *o)
{
    char *buf;
    const char **texts;
    size_t *lens;
    int32_t n;
    if (!cli_read_texts("embed", o, &buf, &texts, &lens, &n))
        return o->has_prompt == (o->file != NULL) ? 2 : 1;
    int rc = 1;
    float *out = NULL;
    og_encoder *enc = NULL;
    og_model *m = cli_load_model(o, false);
    if (!m || !(enc = cli_new_encoder(m, o, true)))
        goto done;
    const int32_t dim = og_encoder_n_embd(enc);
    if (!(out = malloc(((size_t)n + 1) * (size_t)dim * sizeof *out))) {
        fprintf(stderr, "offgrid embed: out of memory for %d vectors\n", n);
        goto done;
    }
    og_error err = { 0 };
    if (og_embed(enc, texts, lens, n, out, &err) != OG_OK) {
        fprintf(stderr, "offgrid embed: %s\n", err.message);
        goto done;
    }
    print_vectors(o, out, n, dim);
    rc = 0;
done:
    free(out);
    og_encoder_free(enc);
    og_model_free(m);
    free(buf);
    free(texts);
    free(lens);
    return rc;
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
