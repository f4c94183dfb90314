/*
 * bench_encoder.h - `offgrid bench` on an encoder (embed/classify models),
 * and the clock and memory probes it shares with the decoder bench.
 */
#ifndef OG_CLI_BENCH_ENCODER_H
#define OG_CLI_BENCH_ENCODER_H

#include <stdbool.h>
#include <stdint.h>

#include "offgrid.h"

/* The mean of n values and their sample standard deviation, as
 * llama-bench reports it (0 for one value) (cmd_bench.c). */
void cli_bench_mean_sd(const double *v, int32_t n, double *mean, double *sd);
/* The next number of a splitmix64 stream: the benches' made-up inputs,
 * the same on every run (cmd_bench.c). */
uint64_t cli_bench_random(uint64_t *state);
/* Monotonic seconds (cmd_bench.c). */
double cli_bench_now(void);
/* Peak resident set: ru_maxrss and VmHWM in bytes, -1 when unknown (cmd_bench.c). */
void cli_bench_peak_rss(long long *maxrss, long long *hwm);

typedef struct cli_bench_encoder_opts {
    const char *model; /* as given, for the report */
    int32_t n_texts, reps, n_threads;
    bool json;
    double load_s; /* how long og_model_load took */
} cli_bench_encoder_opts;

/* Benchmarks the encoder m: per run, n_texts generated sentences embedded
 * in one og_embed call (texts/s), then each alone (latency per text);
 * one warm-up, then reps runs. Prints a table or one JSON object to
 * stdout, progress to stderr. Returns the exit code. */
int cli_bench_encoder(og_model *m, const cli_bench_encoder_opts *o);

#endif
