/*
 * cmd_classify.c - `offgrid classify`: label probabilities from an
 * encoder model with a sequence classification head.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static void print_results(const cli_opts *o, const og_encoder *enc, const float *p, int32_t n)
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

static int32_t label_count(const og_encoder *enc, const cli_opts *o)
{
    const int32_t n_labels = og_encoder_n_labels(enc);
    if (n_labels == 0)
        fprintf(stderr, "offgrid classify: %s has no classification head (cls.output); try offgrid embed\n",
                o->model);
    return n_labels;
}

static int run(const cli_opts *o)
{
    return cli_run_encoder("classify", o, false, label_count, og_classify, print_results);
}

const cli_command cli_cmd_classify = {
    "classify", "label probabilities from an encoder with a classification head",
    "usage: offgrid classify -m MODEL (-p TEXT | -f FILE) [--json] [-t N]\n\n"
    "Prints, per text, the most probable label and its probability, tab-\n"
    "separated. Probabilities are softmax(logits / T), T being the model's\n"
    "offgrid.classifier.temperature (1 when absent). The head (cls.output)\n"
    "reads BERT's pooled [CLS] state or, when offgrid.classifier.input says\n"
    "so, the sentence embedding (see offgrid add-head). With -f, every line\n"
    "of FILE is one text.\n\n"
    "options:\n"
    "  -m, --model PATH        GGUF encoder with a classification head (required)\n"
    "  -p, --prompt TEXT       one text\n"
    "  -f, --file PATH         one text per line\n"
    "      --json              the full distribution: [{\"index\", \"label\",\n"
    "                          \"probability\", \"probabilities\": {label: p}}]\n"
    "  -t, --threads N         threads (default: all CPUs)\n"
    "  -b, --batch N           tokens per forward pass (default 2048)\n"
    "      --max-tokens N      cut longer texts to N tokens (default: the\n"
    "                          model's context length)\n",
    OPT_MODEL | OPT_PROMPT | OPT_FILE | OPT_JSON | OPT_THREADS | OPT_BATCH | OPT_MAX_TOKENS,
    run,
};
