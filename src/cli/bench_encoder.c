/*
 * bench_encoder.c - `offgrid bench` on an encoder. An encoder has no KV
 * cache and no generation, so llama-bench's pp/tg tests mean nothing for
 * it; what a user of embed and classify waits on is how many texts a
 * second a batch gets through, and how long one text takes alone:
 *  - texts: n_texts sentences of WORDS words drawn from a fixed list by a
 *    fixed random sequence, so every run encodes the same texts;
 *  - throughput: all texts in one og_embed call (the encoder packs them
 *    into batches), texts/s per run, mean and sample standard deviation;
 *  - latency: each text in its own og_embed call, p50 and p99 (nearest
 *    rank) over every text of every run;
 *  - one untimed warm-up of each, then reps timed runs.
 * Only the public API is used.
 */
#include "cli/bench_encoder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define WORDS 12         /* words per generated text: a short query or sentence */
#define MAX_TEXT_LEN 256 /* room for WORDS of the longest word */

static const char *const word_list[] = {
    "the",    "a",       "model",   "reads",  "every", "short",   "question", "about",   "weather", "bank",
    "account", "music",  "travel",  "card",   "how",   "when",    "please",   "book",    "flight",  "hotel",
    "today",  "tomorrow", "my",     "your",   "could", "you",     "tell",     "me",      "change",  "language",
    "recipe", "dinner",  "is",      "open",   "near",  "station", "offline",  "device",  "battery", "quiet",
};

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[n]. */
static double percentile(const double *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return v[rank ? rank - 1 : 0];
}

typedef struct enc_bench {
    og_encoder *enc;
    char (*text)[MAX_TEXT_LEN];
    const char **texts;
    size_t *lens;
    float *out; /* n_texts rows */
    int32_t n_texts;
} enc_bench;

static bool embed(enc_bench *b, int32_t first, int32_t n)
{
    og_error err = { 0 };
    if (og_embed(b->enc, b->texts + first, b->lens + first, n, b->out, &err) != OG_OK) {
        fprintf(stderr, "offgrid bench: embed failed: %s\n", err.message);
        return false;
    }
    return true;
}

typedef struct enc_results {
    double *ts;      /* texts/s of each run */
    double *latency; /* seconds per text, n_texts * reps */
    size_t n_latency;
    double mean, sd, p50, p99;
    long long maxrss, hwm;
    int32_t n_threads;
    double tokens_per_text;
} enc_results;

static bool measure(enc_bench *b, const cli_bench_encoder_opts *o, enc_results *r)
{
    fprintf(stderr, "offgrid bench: embed x%d warm-up\n", b->n_texts);
    if (!embed(b, 0, b->n_texts) || !embed(b, 0, 1))
        return false;
    for (int32_t rep = 0; rep < o->reps; rep++) {
        fprintf(stderr, "offgrid bench: embed x%d run %d/%d\n", b->n_texts, rep + 1, o->reps);
        double t0 = cli_bench_now();
        if (!embed(b, 0, b->n_texts))
            return false;
        double sec = cli_bench_now() - t0;
        r->ts[rep] = b->n_texts / (sec > 0 ? sec : 1e-9);
        for (int32_t i = 0; i < b->n_texts; i++) {
            t0 = cli_bench_now();
            if (!embed(b, i, 1))
                return false;
            r->latency[r->n_latency++] = cli_bench_now() - t0;
        }
    }
    cli_bench_mean_sd(r->ts, o->reps, &r->mean, &r->sd);
    qsort(r->latency, r->n_latency, sizeof *r->latency, by_value);
    r->p50 = percentile(r->latency, r->n_latency, 50);
    r->p99 = percentile(r->latency, r->n_latency, 99);
    return true;
}

static void print_json(const cli_bench_encoder_opts *o, const og_model_info *info, const og_encoder *enc,
                       const enc_results *r)
{
    printf("{\n  \"model\": ");
    cli_json_str(o->model);
    printf(",\n  \"name\": ");
    cli_json_str(info->name);
    printf(",\n  \"arch\": ");
    cli_json_str(info->arch);
    printf(",\n  \"kind\": \"encoder\",\n  \"file_type\": ");
    cli_json_str(info->file_type);
    printf(",\n  \"n_params\": %lld,\n  \"model_bytes\": %llu,\n  \"n_embd\": %d,\n  \"n_labels\": %d,\n",
           (long long)info->n_params, (unsigned long long)info->n_bytes, og_encoder_n_embd(enc),
           og_encoder_n_labels(enc));
    printf("  \"n_threads\": %d,\n  \"reps\": %d,\n  \"n_texts\": %d,\n  \"tokens_per_text\": %.2f,\n", r->n_threads,
           o->reps, o->n_texts, r->tokens_per_text);
    printf("  \"embed\": {\"avg_texts_per_s\": %.4f, \"stddev_texts_per_s\": %.4f, \"samples_texts_per_s\": [",
           r->mean, r->sd);
    for (int32_t i = 0; i < o->reps; i++)
        printf("%s%.4f", i ? ", " : "", r->ts[i]);
    printf("]},\n  \"latency_ms\": {\"n\": %zu, \"p50\": %.4f, \"p99\": %.4f},\n", r->n_latency, r->p50 * 1e3,
           r->p99 * 1e3);
    printf("  \"load_ms\": %.3f,\n  \"maxrss_bytes\": %lld,\n  \"vm_hwm_bytes\": ", o->load_s * 1e3, r->maxrss);
    if (r->hwm >= 0)
        printf("%lld\n}\n", r->hwm);
    else
        printf("null\n}\n");
}

static void print_table(const cli_bench_encoder_opts *o, const og_model_info *info, const enc_results *r)
{
    char model[128], size[32], params[32], test[32], value[48];
    snprintf(model, sizeof model, "%s %s", info->arch, info->file_type);
    snprintf(size, sizeof size, "%.2f MiB", info->n_bytes / (1024.0 * 1024.0));
    snprintf(params, sizeof params, "%.2f M", info->n_params / 1e6);
    printf("| %-20s | %12s | %10s | %7s | %14s | %20s |\n", "model", "size", "params", "threads", "test", "result");
    printf("| %.20s | %.11s: | %.9s: | %.6s: | %.13s: | %.19s: |\n", "--------------------------------",
           "------------------------", "--------------------", "--------------", "--------------------",
           "----------------------------------------");
    snprintf(test, sizeof test, "embed x%d", o->n_texts);
    snprintf(value, sizeof value, "%.2f ± %.2f texts/s", r->mean, r->sd);
    printf("| %-20s | %12s | %10s | %7d | %14s | %21s |\n", model, size, params, r->n_threads, test, value);
    snprintf(value, sizeof value, "%.3f ms", r->p50 * 1e3);
    printf("| %-20s | %12s | %10s | %7d | %14s | %20s |\n", model, size, params, r->n_threads, "latency p50", value);
    snprintf(value, sizeof value, "%.3f ms", r->p99 * 1e3);
    printf("| %-20s | %12s | %10s | %7d | %14s | %20s |\n", model, size, params, r->n_threads, "latency p99", value);
    printf("\ntexts:                  %d of %d words, %.1f tokens each on average\n", o->n_texts, WORDS,
           r->tokens_per_text);
    printf("model load:             %10.2f ms\n", o->load_s * 1e3);
    printf("peak RSS (ru_maxrss):   %10.2f MiB\n", r->maxrss / (1024.0 * 1024.0));
    if (r->hwm >= 0)
        printf("peak RSS (VmHWM):       %10.2f MiB\n", r->hwm / (1024.0 * 1024.0));
}

/* Fills b's texts with n generated sentences; returns the mean token count. */
static double make_texts(enc_bench *b, const og_model *m)
{
    uint64_t rng = 0x6f6666677269642bull;
    const size_t n_words = sizeof word_list / sizeof *word_list;
    double tokens = 0;
    for (int32_t i = 0; i < b->n_texts; i++) {
        size_t len = 0;
        for (int w = 0; w < WORDS; w++)
            len += (size_t)snprintf(b->text[i] + len, MAX_TEXT_LEN - len, "%s%s", w ? " " : "",
                                    word_list[cli_bench_random(&rng) % n_words]);
        b->texts[i] = b->text[i];
        b->lens[i] = len;
        og_token *ids = NULL;
        int32_t n = cli_tokenize(m, b->text[i], len, true, false, &ids);
        tokens += n > 0 ? n : 0;
        free(ids);
    }
    return b->n_texts ? tokens / b->n_texts : 0;
}

int cli_bench_encoder(og_model *m, const cli_bench_encoder_opts *o)
{
    og_model_info info;
    og_model_get_info(m, &info);
    enc_bench b = { .n_texts = o->n_texts };
    enc_results r = { .n_threads = o->n_threads > 0 ? o->n_threads : (int32_t)sysconf(_SC_NPROCESSORS_ONLN) };
    int rc = 1;
    og_encoder_params ep = og_encoder_default_params();
    ep.n_threads = o->n_threads;
    og_error err = { 0 };
    if (og_encoder_new(m, &ep, &b.enc, &err) != OG_OK) {
        fprintf(stderr, "offgrid bench: %s: %s\n", o->model, err.message);
        return 1;
    }
    b.text = malloc((size_t)o->n_texts * sizeof *b.text);
    b.texts = malloc((size_t)o->n_texts * sizeof *b.texts);
    b.lens = malloc((size_t)o->n_texts * sizeof *b.lens);
    b.out = malloc((size_t)o->n_texts * (size_t)og_encoder_n_embd(b.enc) * sizeof *b.out);
    r.ts = calloc((size_t)o->reps, sizeof *r.ts);
    r.latency = calloc((size_t)o->reps * (size_t)o->n_texts, sizeof *r.latency);
    if (!b.text || !b.texts || !b.lens || !b.out || !r.ts || !r.latency) {
        fprintf(stderr, "offgrid bench: out of memory\n");
        goto done;
    }
    r.tokens_per_text = make_texts(&b, m);
    if (!measure(&b, o, &r))
        goto done;
    cli_bench_peak_rss(&r.maxrss, &r.hwm);
    if (o->json)
        print_json(o, &info, b.enc, &r);
    else
        print_table(o, &info, &r);
    rc = 0;
done:
    free(r.ts);
    free(r.latency);
    free(b.text);
    free(b.texts);
    free(b.lens);
    free(b.out);
    og_encoder_free(b.enc);
    return rc;
}
