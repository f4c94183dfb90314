/*
 * cmd_calibrate.c - `offgrid calibrate`: fit a classifier's softmax
 * temperature on labelled held-out texts and store it in the model.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* -m takes a file only, never an installed model's name: calibrate
 * rewrites its model file, and a store file is named by its SHA-256 and
 * must never change. */
typedef struct calibrate_opts {
    const char *model, *file, *output;
    cli_encoder_opts encoder;
    bool json;
} calibrate_opts;

static const cli_option options[] = {
    CLI_OPT_MODEL(calibrate_opts, model, "GGUF model file with a classification head"),
    { "-f", "--file", CLI_STRING, CLI_AT(calibrate_opts, file, const char *), "LABELED.tsv",
      .help = "labelled texts, lines of LABEL<TAB>TEXT", .required = true },
    { "-o", "--output", CLI_STRING, CLI_AT(calibrate_opts, output, const char *), "PATH",
      .help = "write the calibrated model there instead of\nreplacing MODEL" },
    CLI_OPT_GROUP(calibrate_opts, encoder, cli_encoder_opts, cli_encoder_options),
    CLI_OPT_JSON(calibrate_opts, json, "{\"output\", \"n_examples\", \"before\": {\"temperature\", \"nll\",\n"
                                       "\"ece\"}, \"after\": {...}} instead of the lines"),
    { 0 },
};

/* A label column: a name of the model's, or its index. */
static int32_t parse_label(const og_encoder *enc, const char *s, size_t len)
{
    const int32_t n_labels = og_encoder_n_labels(enc);
    for (int32_t j = 0; j < n_labels; j++) {
        const char *name = og_encoder_label(enc, j);
        if (strlen(name) == len && !memcmp(name, s, len))
            return j;
    }
    char num[16];
    if (len == 0 || len >= sizeof num)
        return -1;
    memcpy(num, s, len);
    num[len] = 0;
    char *end;
    errno = 0;
    long v = strtol(num, &end, 10);
    return errno || *end || v < 0 || v >= n_labels ? -1 : (int32_t)v;
}

typedef struct fit_quality {
    float t;
    double nll, ece;
} fit_quality;

static fit_quality measure(float t, const float *probs, const int32_t *labels, int32_t n, int32_t n_labels)
{
    fit_quality q = { t, og_nll(probs, labels, n, n_labels),
                      og_expected_calibration_error(probs, labels, n, n_labels, 15) };
    return q;
}

static void json_quality(const char *key, const fit_quality *q)
{
    printf(", \"%s\": {\"temperature\": ", key);
    cli_json_num(q->t);
    printf(", \"nll\": ");
    cli_json_num(q->nll);
    printf(", \"ece\": ");
    cli_json_num(q->ece);
    putchar('}');
}

static int run(const calibrate_opts *o)
{
    char *buf;
    const char **rows, **texts = NULL;
    size_t *lens, *text_lens = NULL;
    int32_t n_rows, n = 0, *labels = NULL;
    if (!cli_read_texts("calibrate", NULL, o->file, &buf, &rows, &lens, &n_rows))
        return 1;
    int rc = 1;
    float *logits = NULL, *probs = NULL;
    og_encoder *enc = NULL;
    og_model *m = cli_load_model(o->model, false);
    if (!m || !(enc = cli_new_encoder(m, &o->encoder, false)))
        goto done;
    const int32_t n_labels = og_encoder_n_labels(enc);
    if (n_labels < 2) {
        fprintf(stderr, "offgrid calibrate: %s has %s\n", o->model,
                n_labels ? "a single-output head (nothing to calibrate with softmax)" : "no classification head");
        goto done;
    }
    texts = malloc((size_t)n_rows * sizeof *texts);
    text_lens = malloc((size_t)n_rows * sizeof *text_lens);
    labels = malloc((size_t)n_rows * sizeof *labels);
    if (!texts || !text_lens || !labels)
        goto nomem;
    for (int32_t i = 0; i < n_rows; i++) {
        if (lens[i] == 0)
            continue; /* blank lines separate nothing */
        const char *tab = memchr(rows[i], '\t', lens[i]);
        int32_t label = tab ? parse_label(enc, rows[i], (size_t)(tab - rows[i])) : -1;
        if (label < 0) {
            fprintf(stderr, "offgrid calibrate: %s line %d: expected LABEL<TAB>TEXT with LABEL one of the model's "
                            "labels or 0..%d\n", o->file, i + 1, n_labels - 1);
            goto done;
        }
        texts[n] = tab + 1;
        text_lens[n] = lens[i] - (size_t)(tab + 1 - rows[i]);
        labels[n++] = label;
    }
    if (n < 2) {
        fprintf(stderr, "offgrid calibrate: %s has %d labelled lines; need at least 2\n", o->file, n);
        goto done;
    }
    if (!(logits = malloc((size_t)n * n_labels * sizeof *logits)) ||
        !(probs = malloc((size_t)n * n_labels * sizeof *probs)))
        goto nomem;
    og_error err = { 0 };
    if (og_classify_logits(enc, texts, text_lens, n, logits, &err) != OG_OK) {
        fprintf(stderr, "offgrid calibrate: %s\n", err.message);
        goto done;
    }
    float before = og_encoder_temperature(enc), after;
    if (og_fit_temperature(logits, labels, n, n_labels, &after) != OG_OK) {
        fprintf(stderr, "offgrid calibrate: cannot fit a temperature\n");
        goto done;
    }
    fit_quality q[2];
    for (int pass = 0; pass < 2; pass++) {
        const float t = pass ? after : before;
        for (int32_t i = 0; i < n; i++)
            og_classify_softmax(logits + (size_t)i * n_labels, n_labels, t, probs + (size_t)i * n_labels);
        q[pass] = measure(t, probs, labels, n, n_labels);
        if (!o->json)
            printf("%-7s T = %-8.4f NLL %.5f  ECE %.5f\n", pass ? "after" : "before", q[pass].t, q[pass].nll,
                   q[pass].ece);
    }
    if (after > 99.0f || after < 0.0102f)
        fprintf(stderr, "offgrid calibrate: warning: T reached the end of its range: on these texts the classifier "
                        "is %s\n", after > 99.0f ? "no better than chance" : "always right");
    const char *dst = o->output ? o->output : o->model;
    /* The encoder maps the file: let go of it before replacing it. */
    og_encoder_free(enc);
    og_model_free(m);
    enc = NULL;
    m = NULL;
    if (og_model_save_temperature(o->model, dst, after, &err) != OG_OK) {
        fprintf(stderr, "offgrid calibrate: cannot write %s: %s\n", dst, err.message);
        goto done;
    }
    if (o->json) {
        printf("{\"output\": ");
        cli_json_str(dst);
        printf(", \"n_examples\": %d", n);
        json_quality("before", &q[0]);
        json_quality("after", &q[1]);
        printf("}\n");
    } else {
        printf("wrote offgrid.classifier.temperature = %.6g to %s (%d examples)\n", after, dst, n);
    }
    rc = 0;
    goto done;
nomem:
    fprintf(stderr, "offgrid calibrate: out of memory\n");
done:
    free(logits);
    free(probs);
    free(texts);
    free(text_lens);
    free(labels);
    og_encoder_free(enc);
    og_model_free(m);
    free(buf);
    free(rows);
    free(lens);
    return rc;
}

static int start(int argc, char **argv)
{
    calibrate_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_calibrate, argc, argv, &o);
    return rc == CLI_PARSED ? run(&o) : rc;
}

const cli_command cli_cmd_calibrate = {
    "calibrate", "fit a classifier's softmax temperature on labelled texts",
    "Classifies every line LABEL<TAB>TEXT of the file (LABEL: one of the\n"
    "model's label names, or its index; blank lines are skipped), finds the\n"
    "temperature T minimizing the negative log-likelihood of softmax(logits/T)\n"
    "on them, prints NLL and expected calibration error (15 bins) with the\n"
    "model's current T and the fitted one, and stores the fitted T in the\n"
    "model as offgrid.classifier.temperature (the file is replaced atomically).\n"
    "Use texts the classifier was not trained on.",
    options, NULL, start,
};
