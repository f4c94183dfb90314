/*
 * cmd_embed.c - `offgrid embed`: sentence embeddings from an encoder
 * model, one vector per input text.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const cli_option options[] = {
    CLI_OPT_MODEL(cli_encode_opts, model, "GGUF encoder model, arch bert (file or installed name)"),
    { "-p", "--prompt", CLI_STRING, CLI_AT(cli_encode_opts, prompt, const char *), "TEXT", .help = "one text" },
    { "-f", "--file", CLI_STRING, CLI_AT(cli_encode_opts, file, const char *), "PATH",
      .help = "one text per line (\"-\": stdin), at most 256 MiB" },
    CLI_OPT_JSON(cli_encode_opts, json, "{\"dim\": D, \"data\": [{\"index\": i, \"embedding\": [...]}]}\n"
                                        "instead of one line of numbers per text"),
    CLI_OPT_GROUP(cli_encode_opts, encoder, cli_encoder_opts, cli_encoder_options),
    { 0 },
};

static void print_vectors(const cli_encode_opts *o, const og_encoder *enc, const float *v, int32_t n)
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

static int32_t embedding_width(const og_encoder *enc, const cli_encode_opts *o)
{
    (void)o;
    return og_encoder_n_embd(enc);
}

static int start(int argc, char **argv)
{
    cli_encode_opts o = { 0 };
    char path[4096];
    int rc = cli_parse(&cli_cmd_embed, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    if (!cli_find_model("embed", &o.model, path, sizeof path))
        return 1;
    return cli_run_encoder("embed", &o, true, embedding_width, og_embed, print_vectors);
}

const cli_command cli_cmd_embed = {
    "embed", "sentence embeddings from an encoder (BERT) model",
    "Prints one embedding per text (-p TEXT or -f FILE, exactly one): pooled\n"
    "as the model says (mean or CLS) and scaled to unit length, so a dot\n"
    "product of two is their cosine. With -f, every line of FILE is one text\n"
    "(empty lines included).",
    options, NULL, start,
};
