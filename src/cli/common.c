/*
 * common.c - option parsing and the small helpers every subcommand uses.
 * Numbers are parsed strictly: "12abc" or an out-of-range value is a
 * usage error naming the option, never a silent default.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

typedef struct opt_spec {
    const char *short_name, *long_name;
    unsigned group;
    bool takes_value;
} opt_spec;

static const opt_spec specs[] = {
    { "-m", "--model", OPT_MODEL, true },
    { "-p", "--prompt", OPT_PROMPT, true },
    { "-f", "--file", OPT_FILE, true },
    { "-n", "--n-predict", OPT_N, true },
    { NULL, "--temp", OPT_SAMPLING, true },
    { NULL, "--top-k", OPT_SAMPLING, true },
    { NULL, "--top-p", OPT_SAMPLING, true },
    { NULL, "--min-p", OPT_SAMPLING, true },
    { NULL, "--repeat-penalty", OPT_SAMPLING, true },
    { NULL, "--seed", OPT_SAMPLING, true },
    { "-t", "--threads", OPT_THREADS, true },
    { "-c", "--ctx-size", OPT_CTX, true },
    { "-b", "--batch-size", OPT_BATCH, true },
    { NULL, "--ids", OPT_IDS, false },
    { NULL, "--no-bos", OPT_NO_BOS, false },
    { "-s", "--system", OPT_SYSTEM, true },
    { NULL, "--no-parse-special", OPT_SPECIAL, false },
    { "-p", "--n-prompt", OPT_N_PROMPT, true },
    { "-n", "--n-gen", OPT_N_GEN, true },
    { "-r", "--repetitions", OPT_REPS, true },
    { NULL, "--json", OPT_JSON, false },
    { "-o", "--output", OPT_OUTPUT, true },
    { NULL, "--shape", OPT_SHAPE, true },
    { NULL, "--type", OPT_TYPE, true },
    { NULL, "--seed", OPT_SEED, true },
    { NULL, "--max-tokens", OPT_MAX_TOKENS, true },
    { NULL, "--batch", OPT_BATCH, true },
    { NULL, "--catalog", OPT_CATALOG, true },
    { NULL, "--force", OPT_FORCE, false },
    { "-k", "--key", OPT_KEY, true },
    { NULL, "--no-test", OPT_NO_TEST, false },
    { "-m", "--model", OPT_SERVE, true },
    { NULL, "--ctx", OPT_CTX, true },
    { NULL, "--host", OPT_SERVE, true },
    { NULL, "--port", OPT_SERVE, true },
    { NULL, "--api-key", OPT_SERVE, true },
    { NULL, "--api-key-file", OPT_SERVE, true },
    { NULL, "--embed-model", OPT_SERVE, true },
    { NULL, "--parallel", OPT_SERVE, true },
    { NULL, "--queue", OPT_SERVE, true },
    { NULL, "--timeout", OPT_SERVE, true },
    { NULL, "--max-body", OPT_SERVE, true },
    { NULL, "--cors", OPT_SERVE, true },
    { NULL, "--insecure", OPT_SERVE, false },
    { NULL, "--log", OPT_SERVE, false },
    { NULL, "--check", OPT_CHECK, false },
    { NULL, "--allow-metered", OPT_ALLOW_METERED, false },
    { NULL, "--task", OPT_TASK, true },
    { NULL, "--stop", OPT_STOP, true },
    { NULL, "--logprobs", OPT_LOGPROBS, false },
};

static bool parse_long(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "offgrid %s: %s expects a whole number from %lld to %lld, got '%s'\n", cmd, opt, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_float(const char *cmd, const char *opt, const char *s, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "offgrid %s: %s expects a number from %g to %g, got '%s'\n", cmd, opt, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

/* typed is the option as the user wrote it, for error messages. */
static bool set_value(const cli_command *cmd, const opt_spec *spec, const char *typed, const char *val, cli_opts *o)
{
    const char *name = spec->long_name, *c = cmd->name;
    long long n;
    if (!strcmp(name, "--model")) o->model = val;
    else if (!strcmp(name, "--prompt")) { o->prompt = val; o->has_prompt = true; }
    else if (!strcmp(name, "--file")) o->file = val;
    else if (!strcmp(name, "--system")) o->system = val;
    else if (!strcmp(name, "--n-predict")) { if (!parse_long(c, typed, val, -1, INT32_MAX, &n)) return false; o->n_predict = (int32_t)n; }
    else if (!strcmp(name, "--threads")) { if (!parse_long(c, typed, val, 1, 1024, &n)) return false; o->n_threads = (int32_t)n; }
    else if (!strcmp(name, "--host")) o->host = val;
    else if (!strcmp(name, "--api-key")) o->api_key = val;
    else if (!strcmp(name, "--api-key-file")) o->api_key_file = val;
    else if (!strcmp(name, "--embed-model")) o->embed_model = val;
    else if (!strcmp(name, "--cors")) o->cors = val;
    else if (!strcmp(name, "--port")) { if (!parse_long(c, typed, val, 0, 65535, &n)) return false; o->port = (int32_t)n; }
    else if (!strcmp(name, "--parallel")) { if (!parse_long(c, typed, val, 1, 64, &n)) return false; o->n_parallel = (int32_t)n; }
    else if (!strcmp(name, "--queue")) { if (!parse_long(c, typed, val, 1, 4096, &n)) return false; o->queue = (int32_t)n; }
    else if (!strcmp(name, "--timeout")) { if (!parse_long(c, typed, val, 1, 86400, &n)) return false; o->timeout = (int32_t)n; }
    else if (!strcmp(name, "--max-body")) { if (!parse_long(c, typed, val, 1, 1 << 20, &n)) return false; o->max_body_kib = (int32_t)n; }
    else if (!strcmp(name, "--ctx-size") || !strcmp(name, "--ctx")) { if (!parse_long(c, typed, val, 8, 1 << 20, &n)) return false; o->n_ctx = (int32_t)n; }
    else if (!strcmp(name, "--max-tokens")) { if (!parse_long(c, typed, val, 1, 1 << 20, &n)) return false; o->max_tokens = (int32_t)n; }
    else if (!strcmp(name, "--batch-size") || !strcmp(name, "--batch")) { if (!parse_long(c, typed, val, 1, 1 << 16, &n)) return false; o->n_batch = (int32_t)n; }
    else if (!strcmp(name, "--temp")) return parse_float(c, typed, val, 0.0f, 100.0f, &o->sampling.temperature);
    else if (!strcmp(name, "--top-k")) { if (!parse_long(c, typed, val, 0, INT32_MAX, &n)) return false; o->sampling.top_k = (int32_t)n; }
    else if (!strcmp(name, "--top-p")) return parse_float(c, typed, val, 0.0f, 1.0f, &o->sampling.top_p);
    else if (!strcmp(name, "--min-p")) return parse_float(c, typed, val, 0.0f, 1.0f, &o->sampling.min_p);
    else if (!strcmp(name, "--repeat-penalty")) return parse_float(c, typed, val, 0.0f, 100.0f, &o->sampling.repeat_penalty);
    else if (!strcmp(name, "--seed")) { if (!parse_long(c, typed, val, 0, LLONG_MAX, &n)) return false; o->sampling.seed = (uint64_t)n; o->has_seed = true; }
    else if (!strcmp(name, "--n-prompt")) { if (!parse_long(c, typed, val, 0, 1 << 16, &n)) return false; o->n_prompt_tokens = (int32_t)n; }
    else if (!strcmp(name, "--n-gen")) { if (!parse_long(c, typed, val, 0, 1 << 16, &n)) return false; o->n_gen = (int32_t)n; }
    else if (!strcmp(name, "--repetitions")) { if (!parse_long(c, typed, val, 1, 1000, &n)) return false; o->reps = (int32_t)n; }
    else if (!strcmp(name, "--output")) o->output = val;
    else if (!strcmp(name, "--shape")) o->shape = val;
    else if (!strcmp(name, "--type")) o->type = val;
    else if (!strcmp(name, "--catalog")) o->catalog = val;
    else if (!strcmp(name, "--key")) o->key = val;
    else if (!strcmp(name, "--stop")) {
        if (o->n_stop == OG_GEN_MAX_STOP) {
            fprintf(stderr, "offgrid %s: at most %d --stop strings\n", c, OG_GEN_MAX_STOP);
            return false;
        }
        if (strlen(val) > OG_GEN_MAX_STOP_LEN) {
            fprintf(stderr, "offgrid %s: a --stop string has at most %d bytes\n", c, OG_GEN_MAX_STOP_LEN);
            return false;
        }
        o->stop[o->n_stop++] = val;
    }
    else if (!strcmp(name, "--task")) {
        if (strcmp(val, "chat") && strcmp(val, "embed") && strcmp(val, "classify")) {
            fprintf(stderr, "offgrid %s: --task is chat, embed or classify, got '%s'\n", c, val);
            return false;
        }
        o->task = val;
    }
    return true;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_predict = -2; /* command default */
    o->n_prompt_tokens = o->n_gen = o->reps = -1;
    o->sampling = og_sampler_default_params();
    o->port = -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(cmd->usage, stdout);
            return 1;
        }
        if ((cmd->accepted & OPT_POSITIONAL) && arg[0] != '-' && !o->positional) {
            o->positional = arg;
            continue;
        }
        /* A name in several groups resolves to the one this command accepts. */
        const opt_spec *spec = NULL;
        for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++)
            if (((specs[s].short_name && !strcmp(arg, specs[s].short_name)) || !strcmp(arg, specs[s].long_name)) &&
                (!spec || (cmd->accepted & specs[s].group)))
                spec = &specs[s];
        if (!spec || !(cmd->accepted & spec->group)) {
            fprintf(stderr, "offgrid %s: unknown option '%s'\n\n%s", cmd->name, arg, cmd->usage);
            return -1;
        }
        if (!spec->takes_value) {
            if (spec->group == OPT_IDS) o->ids = true;
            else if (spec->group == OPT_NO_BOS) o->no_bos = true;
            else if (spec->group == OPT_SPECIAL) o->no_parse_special = true;
            else if (spec->group == OPT_JSON) o->json = true;
            else if (spec->group == OPT_FORCE) o->force = true;
            else if (spec->group == OPT_NO_TEST) o->no_test = true;
            else if (!strcmp(spec->long_name, "--insecure")) o->insecure = true;
            else if (!strcmp(spec->long_name, "--log")) o->log = true;
            else if (spec->group == OPT_CHECK) o->check = true;
            else if (spec->group == OPT_ALLOW_METERED) o->allow_metered = true;
            else if (spec->group == OPT_LOGPROBS) o->logprobs = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "offgrid %s: option '%s' needs a value\n", cmd->name, arg);
            return -1;
        }
        if (!set_value(cmd, spec, arg, argv[++i], o))
            return -1;
    }
    if ((cmd->accepted & OPT_MODEL) && !o->model) {
        fprintf(stderr, "offgrid %s: -m MODEL is required\n\n%s", cmd->name, cmd->usage);
        return -1;
    }
#ifdef OG_WITH_SERVICES
    /* -m NAME[:VERSION] of an installed model when no such file exists.
     * Not for calibrate: it rewrites its model file, and a store file is
     * named by its SHA-256 and must never change. */
    static char resolved[4096];
    if ((cmd->accepted & OPT_MODEL) && strcmp(cmd->name, "calibrate") != 0 && access(o->model, F_OK) != 0 &&
        !strchr(o->model, '/')) {
        if (!cli_store_resolve_model(cmd->name, o->model, resolved, sizeof resolved))
            return -2;
        o->model = resolved;
    }
#endif
    return 0;
}

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

og_model *cli_load_model(const cli_opts *o, bool vocab_only)
{
    og_model_params params = og_model_default_params();
    char cache[4096];
    params.vocab_only = vocab_only;
    params.cache_dir = cli_pack_cache_dir(cache, sizeof cache);
    og_model *m = NULL;
    og_error err = { 0 };
    if (og_model_load(o->model, &params, &m, &err) != OG_OK) {
        fprintf(stderr, "offgrid: cannot load model: %s\n", err.message);
        return NULL;
    }
    return m;
}

og_context *cli_new_context(og_model *m, const cli_opts *o)
{
    og_context_params cp = og_context_default_params();
    cp.n_ctx = o->n_ctx;
    cp.n_batch = o->n_batch;
    cp.n_threads = o->n_threads;
    og_context *ctx = NULL;
    og_error err = { 0 };
    if (og_context_new(m, &cp, &ctx, &err) != OG_OK) {
        fprintf(stderr, "offgrid: cannot create a context: %s\n", err.message);
        return NULL;
    }
    return ctx;
}

char *cli_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "offgrid: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf)
            break;
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = cap < ((size_t)1 << 32) ? realloc(buf, cap * 2 + 1) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        fprintf(stderr, "offgrid: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
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

bool cli_read_texts(const char *cmd, const cli_opts *o, char **buf, const char ***texts, size_t **lens, int32_t *n)
{
    *buf = NULL;
    *texts = NULL;
    *lens = NULL;
    *n = 0;
    if (o->has_prompt == (o->file != NULL)) {
        fprintf(stderr, "offgrid %s: give exactly one of -p TEXT or -f FILE\n", cmd);
        return false;
    }
    size_t len;
    if (o->file) {
        if (!(*buf = cli_read_file(o->file, &len)))
            return false;
    } else {
        len = strlen(o->prompt);
        if (!(*buf = malloc(len + 1)))
            goto nomem;
        memcpy(*buf, o->prompt, len + 1);
    }
    size_t n_lines = 1;
    for (size_t i = 0; o->file && i < len; i++)
        n_lines += (*buf)[i] == '\n' && i + 1 < len;
    if (n_lines > INT32_MAX || !(*texts = malloc(n_lines * sizeof **texts)) || !(*lens = malloc(n_lines * sizeof **lens)))
        goto nomem;
    if (o->file && len == 0)
        return true; /* an empty file has no lines */
    for (size_t start = 0;;) {
        size_t end = start;
        while (end < len && (!o->file || (*buf)[end] != '\n'))
            end++;
        size_t l = end - start;
        if (o->file && l && (*buf)[start + l - 1] == '\r')
            l--;
        (*texts)[*n] = *buf + start;
        (*lens)[(*n)++] = l;
        if (end + 1 >= len)
            break;
        start = end + 1;
    }
    return true;
nomem:
    fprintf(stderr, "offgrid %s: out of memory\n", cmd);
    free(*buf);
    free(*texts);
    *buf = NULL;
    *texts = NULL;
    return false;
}

og_encoder *cli_new_encoder(og_model *m, const cli_opts *o, bool normalize)
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

int cli_run_encoder(const char *cmd, const cli_opts *o, bool normalize, cli_encoder_width_fn width,
                    cli_encoder_fill_fn fill, cli_encoder_print_fn print)
{
    char *buf;
    const char **texts;
    size_t *lens;
    int32_t n;
    if (!cli_read_texts(cmd, o, &buf, &texts, &lens, &n))
        return o->has_prompt == (o->file != NULL) ? 2 : 1;
    int rc = 1;
    float *out = NULL;
    og_encoder *enc = NULL;
    og_model *m = cli_load_model(o, false);
    int32_t w = 0;
    if (!m || !(enc = cli_new_encoder(m, o, normalize)) || (w = width(enc, o)) <= 0)
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

void cli_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}
