/*
 * cmd_add_head.c - `offgrid add-head`: attach a linear classifier trained
 * on sentence embeddings (one text line per label: name, bias, weights)
 * to an encoder GGUF, so that `offgrid classify` runs it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct add_head_opts {
    const char *model, *file, *output;
    bool json;
} add_head_opts;

#define NEEDS_F_AND_O "-f HEAD.tsv and -o OUT.gguf are required"
static const cli_option options[] = {
    CLI_OPT_MODEL(add_head_opts, model, "GGUF encoder model, arch bert (a file or an\ninstalled model's name)"),
    { "-f", "--file", CLI_STRING, CLI_AT(add_head_opts, file, const char *), "HEAD.tsv", .help = "the head, as above",
      .required = true, .missing = NEEDS_F_AND_O },
    { "-o", "--output", CLI_STRING, CLI_AT(add_head_opts, output, const char *), "OUT.gguf",
      .help = "where to write the classifier", .required = true, .missing = NEEDS_F_AND_O },
    CLI_OPT_JSON(add_head_opts, json, "{\"output\", \"n_labels\", \"n_embd\"} instead of the line"),
    { 0 },
};

typedef struct head_file {
    char *buf;
    char **labels;
    float *weight, *bias;
    int32_t n_labels, n_embd;
} head_file;

static void head_file_free(head_file *h)
{
    free(h->buf);
    free(h->labels);
    free(h->weight);
    free(h->bias);
}

/* Parses the next tab- or newline-ended number at *p into *out. */
static bool parse_float(char **p, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(*p, &end);
    if (end == *p || errno == ERANGE || !isfinite(v) || fabs(v) > 3.4e38 || (*end != '\t' && *end != '\n' && *end))
        return false;
    *out = (float)v;
    *p = *end ? end + 1 : end;
    return true;
}

/* LABEL<TAB>BIAS<TAB>W_0<TAB>...<TAB>W_n-1 per line; every line the same
 * width. Cuts the buffer into NUL-terminated labels. */
static bool read_head(const char *path, head_file *h)
{
    size_t len;
    memset(h, 0, sizeof *h);
    if (!(h->buf = cli_read_file("add-head", path, CLI_TEXT_FILE_MAX, "a head file", &len)))
        return false;
    int32_t lines = 0, tabs = 0;
    for (size_t i = 0; i < len; i++) {
        lines += h->buf[i] == '\n' || (i + 1 == len && h->buf[i] != '\n');
        tabs += lines == 0 && h->buf[i] == '\t';
    }
    h->n_embd = tabs - 1;
    if (lines < 1 || h->n_embd < 1 || lines > 65536) {
        fprintf(stderr, "offgrid add-head: %s: expected 1..65536 lines of LABEL<TAB>BIAS<TAB>WEIGHTS...\n", path);
        return false;
    }
    h->labels = malloc((size_t)lines * sizeof *h->labels);
    h->bias = malloc((size_t)lines * sizeof *h->bias);
    h->weight = malloc((size_t)lines * (size_t)h->n_embd * sizeof *h->weight);
    if (!h->labels || !h->bias || !h->weight) {
        fprintf(stderr, "offgrid add-head: out of memory\n");
        return false;
    }
    char *p = h->buf;
    for (int32_t l = 0; l < lines; l++) {
        char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');
        if (!tab || (nl && nl < tab) || tab == p) {
            fprintf(stderr, "offgrid add-head: %s line %d: expected a label, then a tab\n", path, l + 1);
            return false;
        }
        *tab = 0;
        h->labels[l] = p;
        p = tab + 1;
        bool ok = parse_float(&p, &h->bias[l]);
        for (int32_t j = 0; ok && j < h->n_embd; j++)
            ok = p[-1] == '\t' && parse_float(&p, &h->weight[(size_t)l * h->n_embd + j]);
        if (!ok || (p[-1] == '\t')) {
            fprintf(stderr, "offgrid add-head: %s line %d: expected a bias and %d weights, tab-separated numbers\n",
                    path, l + 1, h->n_embd);
            return false;
        }
    }
    h->n_labels = lines;
    return true;
}

static int run(const add_head_opts *o)
{
    head_file h;
    int rc = 1;
    if (read_head(o->file, &h)) {
        og_linear_head head = { h.n_labels, h.n_embd, h.weight, h.bias, (const char *const *)h.labels, true };
        og_error err = { 0 };
        if (og_model_add_head(o->model, o->output, &head, &err) != OG_OK) {
            fprintf(stderr, "offgrid add-head: %s\n", err.message);
        } else {
            if (o->json) {
                printf("{\"output\": ");
                cli_json_str(o->output);
                printf(", \"n_labels\": %d, \"n_embd\": %d}\n", h.n_labels, h.n_embd);
            } else {
                printf("wrote %s: %d labels over the normalized %d-float embedding\n", o->output, h.n_labels,
                       h.n_embd);
            }
            rc = 0;
        }
    }
    head_file_free(&h);
    return rc;
}

static int start(int argc, char **argv)
{
    add_head_opts o = { 0 };
    char path[4096];
    int rc = cli_parse(&cli_cmd_add_head, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    return cli_find_model("add-head", &o.model, path, sizeof path) ? run(&o) : 1;
}

const cli_command cli_cmd_add_head = {
    "add-head", "attach a linear classifier over sentence embeddings to an encoder",
    "Writes ENCODER with a classification head that `offgrid classify`\n"
    "runs: softmax(W e + b), e being the model's pooled sentence embedding\n"
    "at unit length (what `offgrid embed` prints), as a linear model trained\n"
    "on sentence-transformers vectors expects. HEAD.tsv has one line per\n"
    "label: LABEL<TAB>BIAS<TAB>W_0<TAB>...<TAB>W_n-1, n being the model's\n"
    "embedding width (tools/sklearn_head.py writes it from a scikit-learn\n"
    "LogisticRegression). A head ENCODER already has is replaced.",
    options, NULL, start,
};
