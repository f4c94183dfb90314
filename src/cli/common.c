/*
 * common.c - the small helpers every subcommand uses, and the option
 * groups several share (sampling, context, encoder) next to the helpers
 * that apply them.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const cli_option cli_sampling_options[] = {
    { NULL, "--temp", CLI_FLOAT, CLI_AT(og_sampler_params, temperature, float), "T",
      .help = "temperature, 0 = greedy", .def = "0.8", .min = 0, .max = 100 },
    { NULL, "--top-k", CLI_INT, CLI_AT(og_sampler_params, top_k, int32_t), "K",
      .help = "keep the K most likely tokens, 0 = off", .def = "40", .min = 0, .max = INT32_MAX },
    { NULL, "--top-p", CLI_FLOAT, CLI_AT(og_sampler_params, top_p, float), "P", .help = "nucleus sampling, 1 = off",
      .def = "0.95", .min = 0, .max = 1 },
    { NULL, "--min-p", CLI_FLOAT, CLI_AT(og_sampler_params, min_p, float), "P",
      .help = "drop tokens below P x the best one's probability", .def = "0.05", .min = 0, .max = 1 },
    { NULL, "--repeat-penalty", CLI_FLOAT, CLI_AT(og_sampler_params, repeat_penalty, float), "R",
      .help = "penalty for the last 64 tokens seen, 1 = off", .def = "1.1", .min = 0,
      .max = 100 },
    { NULL, "--seed", CLI_U64, CLI_AT(og_sampler_params, seed, uint64_t), "S",
      .help = "random seed, for reproducible runs" },
    { 0 },
};

const cli_option cli_context_options[] = {
    CLI_OPT_THREADS(cli_context_opts, n_threads, "threads", "all cores, fewer while others are busy"),
    CLI_OPT_CTX(cli_context_opts, n_ctx, "context size in tokens", "the model's, at most 4096"),
    CLI_OPT_BATCH(cli_context_opts, n_batch, "prompt tokens evaluated per step", "512"),
    { 0 },
};

const cli_option cli_encoder_options[] = {
    CLI_OPT_THREADS(cli_encoder_opts, n_threads, "threads", "all cores"),
    CLI_OPT_BATCH(cli_encoder_opts, n_batch,
                  "tokens per forward pass, several texts packed\ntogether; the result does not depend on it", "2048"),
    CLI_OPT_MAX_TOKENS(cli_encoder_opts, max_tokens, "cut longer texts to N tokens", "the model's context length"),
    { 0 },
};

const char *cli_pack_cache_dir(char *buf, size_t cap)
{
    const char *dir = getenv("OFFGRID_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n = -1;
    if (dir)
        return dir[0] && strcmp(dir, "off") != 0 ? dir : NULL;
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, cap, "%s/offgrid/packed", xdg);
    else if (home && home[0] == '/')
        n = snprintf(buf, cap, "%s/.cache/offgrid/packed", home);
    return n > 0 && (size_t)n < cap ? buf : NULL;
}

og_model *cli_load_model(const char *path, bool vocab_only)
{
    og_model_params params = og_model_default_params();
    char cache[4096];
    params.vocab_only = vocab_only;
    params.cache_dir = cli_pack_cache_dir(cache, sizeof cache);
    og_model *m = NULL;
    og_error err = { 0 };
    if (og_model_load(path, &params, &m, &err) != OG_OK) {
        fprintf(stderr, "offgrid: cannot load model: %s\n", err.message);
        return NULL;
    }
    return m;
}

og_context *cli_new_context(og_model *m, const cli_context_opts *o)
{
    og_context_params cp = og_context_default_params();
    cp.n_ctx = o->n_ctx;
    cp.n_batch = o->n_batch;
    cp.n_threads = o->n_threads;
    og_context *ctx = NULL;
    og_error err = { 0 };
    if (og_context_new(m, &cp, &ctx, &err) != OG_OK) {
        og_model_info info;
        og_model_get_info(m, &info);
        /* An encoder has no context at all: the library's message names
         * its own API, a CLI user needs the command. */
        if (og_model_context_bytes(m, 8, 8) == 0)
            fprintf(stderr,
                    "offgrid: this is an encoder model ('%s'): it turns text into an embedding or labels and does "
                    "not generate text; use `offgrid embed -m MODEL -p TEXT`, or `offgrid classify -m MODEL -p TEXT` "
                    "when it has a classifier head\n",
                    info.arch);
        else
            fprintf(stderr, "offgrid: cannot create a context: %s\n", err.message);
        return NULL;
    }
    return ctx;
}

int32_t cli_tokenize(const og_model *m, const char *text, size_t len, bool add_special, bool parse_special,
                     og_token **out)
{
    int32_t cap = (int32_t)(len < (size_t)INT32_MAX / 2 ? len + 8 : INT32_MAX / 2);
    og_token *toks = malloc((size_t)cap * sizeof *toks);
    if (!toks)
        return -OG_ERR_NOMEM;
    int32_t n = og_tokenize(m, text, len, toks, cap, add_special, parse_special);
    if (n > cap) {
        og_token *bigger = realloc(toks, (size_t)n * sizeof *toks);
        if (!bigger) {
            free(toks);
            return -OG_ERR_NOMEM;
        }
        toks = bigger;
        n = og_tokenize(m, text, len, toks, n, add_special, parse_special);
    }
    if (n < 0) {
        free(toks);
        return n;
    }
    *out = toks;
    return n;
}

og_encoder *cli_new_encoder(og_model *m, const cli_encoder_opts *o, bool normalize)
{
    og_encoder_params ep = og_encoder_default_params();
    ep.n_threads = o->n_threads;
    ep.n_batch = o->n_batch;
    ep.max_tokens = o->max_tokens;
    ep.normalize = normalize;
    og_encoder *enc = NULL;
    og_error err = { 0 };
    if (og_encoder_new(m, &ep, &enc, &err) != OG_OK) {
        fprintf(stderr, "offgrid: cannot create an encoder: %s\n", err.message);
        return NULL;
    }
    return enc;
}

int cli_run_encoder(const char *cmd, const cli_encode_opts *o, bool normalize, cli_encoder_width_fn width,
                    cli_encoder_fill_fn fill, cli_encoder_print_fn print)
{
    char *buf;
    const char **texts;
    size_t *lens;
    int32_t n;
    if (!cli_read_texts(cmd, o->prompt, o->file, &buf, &texts, &lens, &n))
        return (o->prompt != NULL) == (o->file != NULL) ? 2 : 1;
    int rc = 1;
    float *out = NULL;
    og_encoder *enc = NULL;
    og_model *m = cli_load_model(o->model, false);
    int32_t w = 0;
    if (!m || !(enc = cli_new_encoder(m, &o->encoder, normalize)) || (w = width(enc, o)) <= 0)
        goto done;
    if (!(out = malloc(((size_t)n + 1) * (size_t)w * sizeof *out))) {
        fprintf(stderr, "offgrid %s: out of memory for %d results\n", cmd, n);
        goto done;
    }
    og_error err = { 0 };
    if (fill(enc, texts, lens, n, out, &err) != OG_OK) {
        fprintf(stderr, "offgrid %s: %s\n", cmd, err.message);
        goto done;
    }
    print(o, enc, out, n);
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

/* Bytes of a valid UTF-8 sequence starting at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t want = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 : (s[0] >> 3) == 30 ? 4 : 0;
    if (!want || want > n || (want > 1 && s[0] < 0xC2) || (s[0] > 0xF4))
        return 0;
    for (size_t i = 1; i < want; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* Overlong 3- and 4-byte forms, surrogates and code points past U+10FFFF. */
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) || (s[0] == 0xF0 && s[1] < 0x90) ||
        (s[0] == 0xF4 && s[1] >= 0x90))
        return 0;
    return want;
}

void cli_json_strn(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t l = utf8_len((const unsigned char *)s + i, n - i);
        if (!l)
            fputs("\\ufffd", stdout);
        else if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            fwrite(s + i, 1, l, stdout);
        i += l ? l : 1;
    }
    putchar('"');
}

void cli_json_str(const char *s)
{
    cli_json_strn(s, strlen(s));
}

void cli_json_num(double v)
{
    if (isfinite(v))
        printf("%.9g", v);
    else
        fputs("null", stdout);
}
