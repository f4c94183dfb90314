/*
 * cmd_bench.c - `offgrid bench`: prompt-processing and generation speed,
 * time to first token, load time and peak memory of one model.
 *
 * The pp and tg tests follow llama.cpp's llama-bench so the numbers can be
 * compared one to one:
 *  - pp N: N tokens decoded as one batch into an empty cache;
 *  - tg N: N tokens decoded one at a time into an empty cache;
 *  - the first token is BOS when the model adds one, the rest are random
 *    ids in [0, n_vocab) (llama-bench does the same);
 *  - one untimed warm-up (a full pp run; a single tg token), then REPS
 *    timed runs; mean and sample standard deviation of tokens/s.
 * With --draft, one more test, spec: greedy generation of N_GEN tokens
 * from a code request through og_generate, alone and with the draft
 * attached, in alternating runs (A B A B), with the draft's acceptance.
 * An encoder (embed/classify model) has neither test: bench_encoder.c
 * measures texts/s and per-text latency instead.
 * Only the public API is used.
 */
#define _GNU_SOURCE /* clock_gettime, getrusage, sysconf under -std=c11 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench_encoder.h"
#include "cli/cli.h"
#include "cli/draft.h"

#define DEFAULT_N_PROMPT 512
#define N_SHORT 8 /* tokens of the short-prompt time to first token */

typedef struct bench_opts {
    const char *model;
    int32_t n_prompt_tokens, n_gen, reps, n_threads, n_texts;
    bool json;
    cli_draft_opts draft;
    const char *gen_prompt; /* the spec test's prompt */
} bench_opts;

/* The spec test's default prompt: a code request in ChatML (the Qwen
 * coders' template), where a small draft guesses well. */
#define SPEC_PROMPT                                                                                              \
    "<|im_start|>user\nWrite a Python function that parses a CSV file and returns the average of each numeric " \
    "column.<|im_end|>\n<|im_start|>assistant\n"

static const cli_option options[] = {
    CLI_OPT_MODEL(bench_opts, model, "GGUF model file or installed model's name"),
    { "-p", "--n-prompt", CLI_INT, CLI_AT(bench_opts, n_prompt_tokens, int32_t), "N",
      .help = "prompt tokens of the pp test, 0 = skip it", .def = "512", .min = 0, .max = 1 << 16 },
    { "-n", "--n-gen", CLI_INT, CLI_AT(bench_opts, n_gen, int32_t), "N",
      .help = "generated tokens of the tg test, 0 = skip it", .def = "128", .min = 0, .max = 1 << 16 },
    CLI_OPT_THREADS(bench_opts, n_threads, "threads", "all cores"),
    { "-r", "--repetitions", CLI_INT, CLI_AT(bench_opts, reps, int32_t), "N", .help = "timed runs of each test",
      .def = "5", .min = 1, .max = 1000 },
    { NULL, "--texts", CLI_INT, CLI_AT(bench_opts, n_texts, int32_t), "N",
      .help = "an encoder's test: texts embedded per run", .def = "100", .min = 1, .max = 1 << 20 },
    CLI_OPT_JSON(bench_opts, json, "print one JSON object instead of the table"),
    CLI_OPT_GROUP(bench_opts, draft, cli_draft_opts, cli_draft_options),
    { NULL, "--gen-prompt", CLI_STRING, CLI_AT(bench_opts, gen_prompt, const char *), "TEXT",
      .help = "with --draft: the text the spec test continues", .def = "a code request in ChatML" },
    { 0 },
};

double cli_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Time to first token counts from process start; a constructor runs
 * before main, which is as early as this file can see. */
static double process_start;
__attribute__((constructor)) static void record_process_start(void) { process_start = cli_bench_now(); }

/* splitmix64: a fixed, portable sequence, so every run decodes the same ids. */
void cli_bench_mean_sd(const double *v, int32_t n, double *mean, double *sd)
{
    double sum = 0, sq = 0;
    for (int32_t i = 0; i < n; i++)
        sum += v[i];
    *mean = n > 0 ? sum / n : 0.0;
    for (int32_t i = 0; i < n; i++)
        sq += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(sq / (n - 1)) : 0.0;
}

uint64_t cli_bench_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct bench {
    og_model *model;
    og_context *ctx;
    og_token *tokens; /* room for max(n_prompt, N_SHORT) */
    int32_t n_vocab;
    uint64_t rng;
} bench;

static void fill_tokens(bench *b, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        b->tokens[i] = (og_token)(cli_bench_random(&b->rng) % (uint64_t)b->n_vocab);
    if (n > 0 && og_model_adds_bos(b->model) && og_token_bos(b->model) >= 0)
        b->tokens[0] = og_token_bos(b->model);
}

static bool decode(bench *b, const og_token *t, int32_t n)
{
    og_error err = { 0 };
    if (og_decode(b->ctx, t, n, false, &err) != OG_OK) {
        fprintf(stderr, "offgrid bench: decode failed: %s\n", err.message);
        return false;
    }
    return true;
}

/* One pp run: n tokens, one batch, empty cache. Returns seconds or < 0. */
static double run_pp(bench *b, int32_t n)
{
    og_context_truncate(b->ctx, 0);
    fill_tokens(b, n);
    double t0 = cli_bench_now();
    if (!decode(b, b->tokens, n))
        return -1;
    return cli_bench_now() - t0;
}

/* One tg run: n single-token decodes, empty cache. */
static double run_tg(bench *b, int32_t n)
{
    og_context_truncate(b->ctx, 0);
    fill_tokens(b, n);
    double t0 = cli_bench_now();
    for (int32_t i = 0; i < n; i++)
        if (!decode(b, &b->tokens[i], 1))
            return -1;
    return cli_bench_now() - t0;
}

/* Greedy pick, standing in for "sample one token". */
static og_token argmax_last(const bench *b)
{
    const float *logits = og_get_logits(b->ctx, -1);
    og_token best = 0;
    for (int32_t i = 1; i < b->n_vocab; i++)
        if (logits[i] > logits[best])
            best = i;
    return best;
}

typedef struct series {
    int32_t n_tokens, n; /* tokens per run, runs */
    double *ts;          /* tokens/s of each run */
    double mean, sd;
} series;

static bool run_series(bench *b, const char *name, double (*fn)(bench *, int32_t), int32_t n_tokens,
                       int32_t warmup_tokens, int32_t reps, series *s)
{
    s->n_tokens = n_tokens;
    s->n = 0;
    s->ts = calloc((size_t)reps, sizeof *s->ts);
    if (!s->ts)
        return false;
    fprintf(stderr, "offgrid bench: %s%d warm-up\n", name, n_tokens);
    if (fn(b, warmup_tokens) < 0)
        return false;
    for (int32_t r = 0; r < reps; r++) {
        fprintf(stderr, "offgrid bench: %s%d run %d/%d\n", name, n_tokens, r + 1, reps);
        double sec = fn(b, n_tokens);
        if (sec < 0)
            return false;
        s->ts[s->n++] = n_tokens / (sec > 0 ? sec : 1e-9);
    }
    cli_bench_mean_sd(s->ts, s->n, &s->mean, &s->sd);
    return true;
}

/* The spec test: greedy generation alone and with the draft. */
typedef struct spec_test {
    series plain, draft; /* tokens/s of each run */
    int32_t n_drafted, n_accepted; /* the draft's, over the timed runs */
    int32_t vocab;
} spec_test;

/* One greedy generation of up to n tokens after prompt, both caches
 * emptied first; adds the draft's counts to t. Returns tokens/s, < 0 on
 * failure. */
static double gen_once(og_context *ctx, bool count, const og_token *prompt, int32_t n_prompt, int32_t n,
                       spec_test *t)
{
    og_context_truncate(ctx, 0);
    og_sampler_params sp = og_sampler_default_params();
    sp.temperature = 0;
    og_sampler *s = NULL;
    og_error err = { 0 };
    og_gen_params gp = og_gen_default_params();
    gp.max_tokens = n;
    og_gen_result r;
    og_status st = og_sampler_new(&sp, t->vocab, &s, &err);
    if (st == OG_OK)
        st = og_generate(ctx, s, prompt, n_prompt, &gp, NULL, NULL, &r, &err);
    og_sampler_free(s);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid bench: generation failed: %s\n", err.message);
        return -1;
    }
    if (count) {
        t->n_drafted += r.n_drafted;
        t->n_accepted += r.n_accepted;
    }
    return r.n_gen / (r.gen_seconds > 0 ? r.gen_seconds : 1e-9);
}

/* Runs the spec test on model: reps runs alone and reps with the draft,
 * alternating, after one warm-up of each. */
static bool run_spec(og_model *model, const bench_opts *o, spec_test *t)
{
    bool ok = false;
    const char *text = o->gen_prompt ? o->gen_prompt : SPEC_PROMPT;
    og_token *prompt = NULL;
    int32_t n_prompt = cli_tokenize(model, text, strlen(text), true, true, &prompt);
    cli_draft d = { 0 };
    og_context *ctx = NULL;
    t->plain.n_tokens = t->draft.n_tokens = o->n_gen;
    t->plain.ts = calloc((size_t)o->reps, sizeof *t->plain.ts);
    t->draft.ts = calloc((size_t)o->reps, sizeof *t->draft.ts);
    if (n_prompt <= 0 || !t->plain.ts || !t->draft.ts) {
        fprintf(stderr, "offgrid bench: cannot tokenize the --gen-prompt, or out of memory\n");
        goto done;
    }
    cli_context_opts co = { .n_threads = o->n_threads, .n_ctx = n_prompt + o->n_gen + 8 };
    if (!(ctx = cli_new_context(model, &co)) || !cli_draft_attach("bench", &o->draft, &co, ctx, &d))
        goto done;
    for (int32_t r = -1; r < o->reps; r++) {
        for (int with = 0; with < 2; with++) {
            og_error err = { 0 };
            if (og_context_set_draft(ctx, with ? d.ctx : NULL, o->draft.max, &err) != OG_OK) {
                fprintf(stderr, "offgrid bench: --draft: %s\n", err.message);
                goto done;
            }
            if (with)
                og_context_truncate(d.ctx, 0);
            fprintf(stderr, "offgrid bench: spec %s %s\n", with ? "with the draft" : "alone",
                    r < 0 ? "warm-up" : "run");
            double ts = gen_once(ctx, with && r >= 0, prompt, n_prompt, o->n_gen, t);
            if (ts < 0)
                goto done;
            if (r >= 0) {
                series *s = with ? &t->draft : &t->plain;
                s->ts[s->n++] = ts;
                fprintf(stderr, "offgrid bench: spec round %d %s: %.2f t/s\n", r + 1, with ? "draft" : "plain", ts);
            }
        }
    }
    cli_bench_mean_sd(t->plain.ts, t->plain.n, &t->plain.mean, &t->plain.sd);
    cli_bench_mean_sd(t->draft.ts, t->draft.n, &t->draft.mean, &t->draft.sd);
    ok = true;
done:
    og_context_free(ctx);
    cli_draft_free(&d);
    free(prompt);
    return ok;
}

/* VmHWM (peak resident set) from /proc/self/status in bytes; -1 if absent. */
static long long vm_hwm_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb >= 0 ? kb * 1024 : -1;
}

void cli_bench_peak_rss(long long *maxrss, long long *hwm)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *maxrss = (long long)ru.ru_maxrss * 1024; /* kilobytes on Linux */
    *hwm = vm_hwm_bytes();
}

static void json_series(const char *key, const series *s)
{
    printf("  \"%s\": ", key);
    if (!s->n) {
        printf("null,\n");
        return;
    }
    printf("{\"n_tokens\": %d, \"avg_ts\": %.4f, \"stddev_ts\": %.4f, \"samples_ts\": [", s->n_tokens, s->mean,
           s->sd);
    for (int32_t i = 0; i < s->n; i++)
        printf("%s%.4f", i ? ", " : "", s->ts[i]);
    printf("]},\n");
}

typedef struct results {
    og_model_info info;
    int32_t n_threads;
    series pp, tg;
    spec_test spec; /* spec.plain.n == 0: not run */
    double load_s, ttft_s, ttft_short_s;
    int32_t n_ttft, n_short;
    long long maxrss, hwm;
} results;

static void print_json(const bench_opts *o, const results *r)
{
    printf("{\n  \"model\": ");
    cli_json_str(o->model);
    printf(",\n  \"name\": ");
    cli_json_str(r->info.name);
    printf(",\n  \"arch\": ");
    cli_json_str(r->info.arch);
    printf(",\n  \"file_type\": ");
    cli_json_str(r->info.file_type);
    printf(",\n  \"n_params\": %lld,\n  \"model_bytes\": %llu,\n  \"n_vocab\": %d,\n", (long long)r->info.n_params,
           (unsigned long long)r->info.n_bytes, r->info.n_vocab);
    printf("  \"n_threads\": %d,\n  \"reps\": %d,\n", r->n_threads, o->reps);
    printf("  \"packed_bytes\": %llu,\n  \"packed_from_cache\": %s,\n", (unsigned long long)r->info.packed_bytes,
           r->info.packed_from_cache ? "true" : "false");
    json_series("pp", &r->pp);
    json_series("tg", &r->tg);
    printf("  \"load_ms\": %.3f,\n  \"ttft_ms\": %.3f,\n  \"ttft_prompt_tokens\": %d,\n", r->load_s * 1e3,
           r->ttft_s * 1e3, r->n_ttft);
    printf("  \"ttft_short_ms\": %.3f,\n  \"ttft_short_prompt_tokens\": %d,\n", r->ttft_short_s * 1e3, r->n_short);
    if (r->spec.plain.n) {
        printf("  \"spec\": {\"draft\": ");
        cli_json_str(o->draft.model);
        printf(", \"n_tokens\": %d, \"plain_avg_ts\": %.4f, \"plain_stddev_ts\": %.4f, \"draft_avg_ts\": %.4f, "
               "\"draft_stddev_ts\": %.4f, \"speedup\": %.4f, \"n_drafted\": %d, \"n_accepted\": %d, "
               "\"acceptance\": %.4f},\n",
               o->n_gen, r->spec.plain.mean, r->spec.plain.sd, r->spec.draft.mean, r->spec.draft.sd,
               r->spec.plain.mean > 0 ? r->spec.draft.mean / r->spec.plain.mean : 0.0, r->spec.n_drafted,
               r->spec.n_accepted, r->spec.n_drafted ? (double)r->spec.n_accepted / r->spec.n_drafted : 0.0);
    }
    printf("  \"maxrss_bytes\": %lld,\n  \"vm_hwm_bytes\": ", r->maxrss);
    if (r->hwm >= 0)
        printf("%lld\n}\n", r->hwm);
    else
        printf("null\n}\n");
}

static void print_table(const results *r)
{
    char model[128], size[32], params[32];
    snprintf(model, sizeof model, "%s %s", r->info.arch, r->info.file_type);
    snprintf(size, sizeof size, "%.2f MiB", r->info.n_bytes / (1024.0 * 1024.0));
    snprintf(params, sizeof params, "%.2f M", r->info.n_params / 1e6);
    printf("| %-20s | %12s | %10s | %7s | %10s | %20s |\n", "model", "size", "params", "threads", "test", "t/s");
    /* Markdown right-alignment markers, one column narrower than the header. */
    printf("| %.20s | %.11s: | %.9s: | %.6s: | %.9s: | %.19s: |\n", "--------------------------------",
           "------------------------", "--------------------", "--------------", "--------------------",
           "----------------------------------------");
    const series *tests[] = { &r->pp, &r->tg };
    for (int i = 0; i < 2; i++) {
        if (!tests[i]->n)
            continue;
        char test[32], ts[48];
        snprintf(test, sizeof test, "%s%d", i ? "tg" : "pp", tests[i]->n_tokens);
        snprintf(ts, sizeof ts, "%.2f ± %.2f", tests[i]->mean, tests[i]->sd);
        printf("| %-20s | %12s | %10s | %7d | %10s | %21s |\n", model, size, params, r->n_threads, test, ts);
    }
    const spec_test *sp = &r->spec;
    if (sp->plain.n)
        printf("\nspeculative, greedy %d tokens: %.2f ± %.2f t/s alone, %.2f ± %.2f t/s with the draft (%.2fx); "
               "%d of %d proposals accepted (%.1f%%)\n",
               sp->plain.n_tokens, sp->plain.mean, sp->plain.sd, sp->draft.mean, sp->draft.sd,
               sp->plain.mean > 0 ? sp->draft.mean / sp->plain.mean : 0.0, sp->n_accepted, sp->n_drafted,
               sp->n_drafted ? 100.0 * sp->n_accepted / sp->n_drafted : 0.0);
    printf("\nmodel load:             %10.2f ms", r->load_s * 1e3);
    if (r->info.packed_bytes)
        printf(" (%.1f MiB of weights %s)", r->info.packed_bytes / (1024.0 * 1024.0),
               r->info.packed_from_cache ? "mapped from the repacking cache" : "repacked");
    printf("\n");
    printf("time to first token:    %10.2f ms (process start, %d-token prompt)\n", r->ttft_s * 1e3, r->n_ttft);
    printf("time to first token:    %10.2f ms (process start, %d-token prompt)\n", r->ttft_short_s * 1e3,
           r->n_short);
    printf("peak RSS (ru_maxrss):   %10.2f MiB\n", r->maxrss / (1024.0 * 1024.0));
    if (r->hwm >= 0)
        printf("peak RSS (VmHWM):       %10.2f MiB\n", r->hwm / (1024.0 * 1024.0));
}

static int run(const bench_opts *in)
{
    bench_opts o = *in;
    if (o.draft.model && o.n_gen == 0) {
        fprintf(stderr, "offgrid bench: --draft measures generation: -n must not be 0\n");
        return 2;
    }
    if (o.n_prompt_tokens == 0 && o.n_gen == 0) {
        fprintf(stderr, "offgrid bench: -p and -n are both 0, nothing to measure\n");
        return 2;
    }

    results r;
    memset(&r, 0, sizeof r);
    bench b = { .rng = 0x6f6666677269642bull };
    int rc = 1;
    double t_load = cli_bench_now();
    b.model = cli_load_model(o.model, false);
    if (!b.model)
        return 1;
    double t_loaded = cli_bench_now();
    r.load_s = t_loaded - t_load;
    og_model_get_info(b.model, &r.info);
    if (!og_model_context_bytes(b.model, N_SHORT, N_SHORT)) {
        /* No context to plan: an encoder, whose own test this is. */
        if (o.draft.model) {
            fprintf(stderr, "offgrid bench: --draft needs a model that generates text; this one is an encoder\n");
            goto done;
        }
        cli_bench_encoder_opts eo = { .model = o.model, .n_texts = o.n_texts, .reps = o.reps,
                                      .n_threads = o.n_threads, .json = o.json, .load_s = r.load_s };
        rc = cli_bench_encoder(b.model, &eo);
        goto done;
    }
    b.n_vocab = og_vocab_size(b.model);
    r.n_threads = o.n_threads > 0 ? o.n_threads : (int32_t)sysconf(_SC_NPROCESSORS_ONLN);

    /* Time to first token needs a prompt even for a tg-only run. */
    r.n_ttft = o.n_prompt_tokens > 0 ? o.n_prompt_tokens : DEFAULT_N_PROMPT;
    r.n_short = N_SHORT;
    int32_t n_max = r.n_ttft > o.n_gen ? r.n_ttft : o.n_gen;
    if (n_max < N_SHORT)
        n_max = N_SHORT;
    /* The whole prompt is one batch, as llama-bench's default n_batch (2048)
     * makes it for pp512. */
    cli_context_opts co = { .n_threads = o.n_threads, .n_ctx = n_max, .n_batch = n_max };
    b.tokens = malloc((size_t)n_max * sizeof *b.tokens);
    if (!b.tokens) {
        fprintf(stderr, "offgrid bench: out of memory\n");
        goto done;
    }
    b.ctx = cli_new_context(b.model, &co);
    if (!b.ctx)
        goto done;
    double t_ready = cli_bench_now();

    /* The first decode in the process: cold caches, first touch of the
     * mapped weights, as a user's first request would see. */
    fprintf(stderr, "offgrid bench: time to first token (%d-token prompt)\n", r.n_ttft);
    if (run_pp(&b, r.n_ttft) < 0)
        goto done;
    (void)argmax_last(&b);
    r.ttft_s = cli_bench_now() - process_start;
    /* A second process-start measurement is impossible here, so the short
     * one is start-to-ready (load + context) plus its own decode and pick. */
    double sec = run_pp(&b, N_SHORT);
    if (sec < 0)
        goto done;
    double t0 = cli_bench_now();
    (void)argmax_last(&b);
    r.ttft_short_s = (t_ready - process_start) + sec + (cli_bench_now() - t0);

    if (o.n_prompt_tokens > 0 && !run_series(&b, "pp", run_pp, o.n_prompt_tokens, o.n_prompt_tokens, o.reps, &r.pp))
        goto done;
    if (o.n_gen > 0 && !run_series(&b, "tg", run_tg, o.n_gen, 1, o.reps, &r.tg))
        goto done;
    r.spec.vocab = b.n_vocab;
    if (o.draft.model && !run_spec(b.model, &o, &r.spec))
        goto done;

    cli_bench_peak_rss(&r.maxrss, &r.hwm);
    if (o.json)
        print_json(&o, &r);
    else
        print_table(&r);
    rc = 0;
done:
    free(r.pp.ts);
    free(r.tg.ts);
    free(r.spec.plain.ts);
    free(r.spec.draft.ts);
    free(b.tokens);
    og_context_free(b.ctx);
    og_model_free(b.model);
    return rc;
}

static int start(int argc, char **argv)
{
    bench_opts o = { .n_prompt_tokens = DEFAULT_N_PROMPT, .n_gen = 128, .reps = 5, .n_texts = 100 };
    char path[4096];
    int rc = cli_parse(&cli_cmd_bench, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    return cli_find_model("bench", &o.model, path, sizeof path) ? run(&o) : 1;
}

const cli_command cli_cmd_bench = {
    "bench", "measure prompt and generation speed, time to first token, memory",
    "Runs llama-bench's tests: pp (N_PROMPT random tokens decoded as one batch\n"
    "into an empty cache) and tg (N_GEN tokens decoded one at a time into an\n"
    "empty cache), each REPS times after one warm-up, and reports the mean and\n"
    "standard deviation of tokens/s. Also reports model load time, time to first\n"
    "token from process start (load + N_PROMPT-token prompt + one greedy pick,\n"
    "and the same for an 8-token prompt) and peak resident memory.\n"
    "On an encoder (an embed or classify model) -p and -n do not apply: it\n"
    "embeds TEXTS generated 12-word sentences in one call (texts/s) and each\n"
    "alone (latency per text, p50 and p99), REPS times after one warm-up.\n"
    "Results go to stdout (a table, or one JSON object), progress to stderr.",
    options, NULL, start,
};
