/*
 * cmd_classify.c - `offgrid classify`: label probabilities from an
 * encoder model with a sequence classification head.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const cli_option options[] = {
    CLI_OPT_MODEL(cli_encode_opts, model,
                  "GGUF encoder with a classification head (a file or an installed\nmodel's name)"),
    { "-p", "--prompt", CLI_STRING, CLI_AT(cli_encode_opts, prompt, const char *), "TEXT", .help = "one text" },
    { "-f", "--file", CLI_STRING, CLI_AT(cli_encode_opts, file, const char *), "PATH", .help = "one text per line" },
    CLI_OPT_JSON(cli_encode_opts, json, "the full distribution: [{\"index\", \"label\",\n"
                                        "\"probability\", \"probabilities\": {label: p}}]"),
    CLI_OPT_GROUP(cli_encode_opts, encoder, cli_encoder_opts, cli_encoder_options),
    { 0 },
};

static void print_results(const cli_encode_opts *o, const og_encoder *enc, const float *p, int32_t n)
{
    const int32_t n_labels = og_encoder_n_labels(enc);
    if (o->json)
        printf("[");
    for (int32_t i = 0; i < n; i++) {
        const float *row = p + (size_t)i * n_labels;
        int32_t best = 0;
        for (int32_t j = 1; j < n_labels; j++)
            best = row[j] > row[best] ? j : best;
        if (!o->json) {
            printf("%s\t%.6f\n", og_encoder_label(enc, best), row[best]);
            continue;
        }
        printf("%s\n  {\"index\": %d, \"label\": ", i ? "," : "", i);
        cli_json_str(og_encoder_label(enc, best));
        printf(", \"probability\": %.8g, \"probabilities\": {", row[best]);
        for (int32_t j = 0; j < n_labels; j++) {
            printf(j ? ", " : "");
            cli_json_str(og_encoder_label(enc, j));
            printf(": %.8g", row[j]);
        }
        printf("}}");
    }
    if (o->json)
        printf("\n]\n");
}

static int32_t label_count(const og_encoder *enc, const cli_encode_opts *o)
{
    const int32_t n_labels = og_encoder_n_labels(enc);
    if (n_labels == 0)
        fprintf(stderr, "offgrid classify: %s has no classification head (cls.output); try offgrid embed\n",
                o->model);
    return n_labels;
}

static int start(int argc, char **argv)
{
    cli_encode_opts o = { 0 };
    char path[4096];
    int rc = cli_parse(&cli_cmd_classify, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    if (!cli_find_model("classify", &o.model, path, sizeof path))
        return 1;
    return cli_run_encoder("classify", &o, false, label_count, og_classify, print_results);
}

const cli_command cli_cmd_classify = {
    "classify", "label probabilities from an encoder with a classification head",
    "Prints, per text (-p TEXT or -f FILE, exactly one), the most probable\n"
    "label and its probability, tab-separated. Probabilities are\n"
    "softmax(logits / T), T being the model's offgrid.classifier.temperature\n"
    "(1 when absent). The head (cls.output) reads BERT's pooled [CLS] state or,\n"
    "when offgrid.classifier.input says so, the sentence embedding (see offgrid\n"
    "add-head). With -f, every line of FILE is one text.",
    options, NULL, start,
};
