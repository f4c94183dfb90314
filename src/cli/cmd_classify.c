/*
 * cmd_classify.c - `offgrid classify`: label probabilities from an
 * encoder model with a sequence classification head, the K most probable
 * per text, highest first.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const cli_option options[] = {
    CLI_OPT_MODEL(cli_encode_opts, model,
                  "GGUF encoder with a classification head (a file or an installed\nmodel's name)"),
    { "-p", "--prompt", CLI_STRING, CLI_AT(cli_encode_opts, prompt, const char *), "TEXT", .help = "one text" },
    { "-f", "--file", CLI_STRING, CLI_AT(cli_encode_opts, file, const char *), "PATH",
      .help = "one text per line (\"-\": stdin), at most 256 MiB" },
    { "-k", "--top-k", CLI_INT, CLI_AT(cli_encode_opts, top_k, int32_t), "K",
      .help = "the K most probable labels per text, highest first", .def = "1", .min = 1, .max = 1 << 20 },
    CLI_OPT_JSON(cli_encode_opts, json, "[{\"index\", \"label\", \"probability\", \"top\": [{\"label\",\n"
                                        "\"probability\"}] (K, sorted), \"probabilities\": {label: p}}]"),
    CLI_OPT_GROUP(cli_encode_opts, encoder, cli_encoder_opts, cli_encoder_options),
    { 0 },
};

/* Orders label indices by probability, highest first; ties keep the
 * lower index first, so the order is the same on every run. */
typedef struct ranked {
    float p;
    int32_t label;
} ranked;

static int by_probability(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (isnan(x->p) != isnan(y->p)) /* NaN last, so the order stays total */
        return isnan(x->p) ? 1 : -1;
    if (x->p != y->p && !isnan(x->p))
        return x->p > y->p ? -1 : 1;
    return (x->label > y->label) - (x->label < y->label);
}

static void print_results(const cli_encode_opts *o, const og_encoder *enc, const float *p, int32_t n)
{
    const int32_t n_labels = og_encoder_n_labels(enc);
    const int32_t k = o->top_k < n_labels ? o->top_k : n_labels;
    ranked *order = malloc((size_t)n_labels * sizeof *order);
    if (!order) {
        fprintf(stderr, "offgrid classify: out of memory\n");
        return;
    }
    if (o->json)
        printf("[");
    for (int32_t i = 0; i < n; i++) {
        const float *row = p + (size_t)i * n_labels;
        for (int32_t j = 0; j < n_labels; j++)
            order[j] = (ranked){ row[j], j };
        qsort(order, (size_t)n_labels, sizeof *order, by_probability);
        if (!o->json) {
            /* One line per text: LABEL<TAB>P, K pairs, the first the best. */
            for (int32_t r = 0; r < k; r++)
                printf("%s%s\t%.6f", r ? "\t" : "", og_encoder_label(enc, order[r].label), row[order[r].label]);
            putchar('\n');
            continue;
        }
        printf("%s\n  {\"index\": %d, \"label\": ", i ? "," : "", i);
        cli_json_str(og_encoder_label(enc, order[0].label));
        printf(", \"probability\": %.8g, \"top\": [", row[order[0].label]);
        for (int32_t r = 0; r < k; r++) {
            printf("%s{\"label\": ", r ? ", " : "");
            cli_json_str(og_encoder_label(enc, order[r].label));
            printf(", \"probability\": %.8g}", row[order[r].label]);
        }
        printf("], \"probabilities\": {");
        for (int32_t j = 0; j < n_labels; j++) {
            printf(j ? ", " : "");
            cli_json_str(og_encoder_label(enc, j));
            printf(": %.8g", row[j]);
        }
        printf("}}");
    }
    if (o->json)
        printf("\n]\n");
    free(order);
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
    cli_encode_opts o = { .top_k = 1 };
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
    "Prints, per text (-p TEXT or -f FILE, exactly one), one line: the K most\n"
    "probable labels, highest first, each with its probability, all\n"
    "tab-separated (LABEL<TAB>P<TAB>LABEL<TAB>P...). Probabilities are\n"
    "softmax(logits / T), T being the model's offgrid.classifier.temperature\n"
    "(1 when absent). The head (cls.output) reads BERT's pooled [CLS] state or,\n"
    "when offgrid.classifier.input says so, the sentence embedding (see offgrid\n"
    "add-head). With -f, every line of FILE is one text.",
    options, NULL, start,
};
