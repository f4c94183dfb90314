/*
 * kernels_bench.c - throughput of the matrix kernels on the SmolLM2-135M
 * shapes (plus F16/F32 ones, Llama-3.2-1B's FFN, and Q4_0 repacked as
 * the model loader does, shown as Q4_0x16): mat-vec (one token, GB/s of weights
 * streamed) and batched products (64 and 512 tokens, GFLOP/s), through
 * gemm when the model's caller would use it and through a vec_dot loop
 * otherwise. Single-threaded; prints the best of several repeats.
 *
 * Mat-vec cycles through copies of the weights totalling 128 MB, so they
 * come from DRAM as in generation (BENCH_CACHED=1 in the environment
 * uses one copy instead, to time the arithmetic alone); batched products
 * reuse one copy.
 *
 * Build (not part of CMake), against a build's library:
 *   gcc -O2 -Iinclude -Isrc/core bench/kernels_bench.c /tmp/build-perf/liboffgrid_internal.a \
 *     -lpcre2-8 -lutf8proc -lpthread -lm -o /tmp/kbench
 * Usage: /tmp/kbench [scalar|avx2|avx512|neon]
 * (BENCH_MV_ONLY=1 in the environment skips the batched products.)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensor/kernels.h"
#include "tensor/packed.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void matmul(const og_kernels *k, og_type type, int64_t n, int64_t rows, const void *w, const void *acts,
                   int32_t n_tokens, float *y)
{
    const size_t row_bytes = og_type_row_bytes(type, n);
    const size_t act_stride = og_type_row_bytes(og_vec_dot_type(type), n);
    /* as the model's caller: float gemm (llama.cpp's tinyBLAS order) only
     * for batches, rows in multiples of 4, columns in multiples of 16 */
    const bool is_float = type == OG_TYPE_F32 || type == OG_TYPE_F16;
    if (k->gemm[type] && (!is_float || (n_tokens >= 2 && rows % 4 == 0 && n % 16 == 0))) {
        k->gemm[type](n, w, row_bytes, 0, rows, acts, act_stride, n_tokens, y, (size_t)rows);
        return;
    }
    for (int32_t t = 0; t < n_tokens; t++)
        for (int64_t r = 0; r < rows; r++)
            k->vec_dot[type](n, &y[(size_t)t * (size_t)rows + (size_t)r], (const uint8_t *)w + (size_t)r * row_bytes,
                             (const uint8_t *)acts + (size_t)t * act_stride);
}

static void bench(const og_kernels *k, og_type type, int64_t n, int64_t rows, int32_t n_tokens, bool packed)
{
    const og_type at = og_vec_dot_type(packed ? og_packed_type(type) : type);
    const size_t wbytes = og_type_row_bytes(type, n) * (size_t)rows;
    float *x = malloc(sizeof(float) * (size_t)n * (size_t)n_tokens);
    float *wf = malloc(sizeof(float) * (size_t)n);
    const size_t copies = n_tokens == 1 && !getenv("BENCH_CACHED") ? (size_t)(128 << 20) / wbytes + 1 : 1;
    uint8_t *w = malloc(wbytes * copies), *acts = malloc(og_type_row_bytes(at, n) * (size_t)n_tokens);
    float *y = malloc(sizeof(float) * (size_t)rows * (size_t)n_tokens);
    srand(1);
    for (int64_t i = 0; i < n; i++)
        wf[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int64_t r = 0; r < rows; r++) {
        wf[r % n] += 0.01f;
        uint8_t *row = w + og_type_row_bytes(type, n) * (size_t)r;
        if (!og_quantize_row_ref(type, wf, row, n)) /* K formats: bytes that make sane fp16 scales */
            for (size_t b = 0; b < og_type_row_bytes(type, n); b++)
                row[b] = (uint8_t)(rand() & 0x3F);
    }
    if (packed) {
        uint8_t *plain = malloc(wbytes);
        memcpy(plain, w, wbytes);
        og_pack_rows(type, plain, n, 0, rows, w);
        free(plain);
    }
    for (size_t c = 1; c < copies; c++)
        memcpy(w + c * wbytes, w, wbytes);
    const og_type run_type = packed ? og_packed_type(type) : type;
    for (int64_t i = 0; i < n * n_tokens; i++)
        x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int32_t t = 0; t < n_tokens; t++)
        k->from_float[at](x + (size_t)t * (size_t)n, acts + og_type_row_bytes(at, n) * (size_t)t, n);

    /* Enough repeats for ~0.2 s; mat-vec weights larger than L2 come from L3/DRAM. */
    const double flops = 2.0 * (double)n * (double)rows * n_tokens;
    const int reps = (int)(2e8 / flops * (n_tokens == 1 ? 0.5 : 8)) + 1;
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        const double t0 = now();
        for (int i = 0; i < reps; i++)
            matmul(k, run_type, n, rows, w + (size_t)i % copies * wbytes, acts, n_tokens, y);
        const double dt = (now() - t0) / reps;
        if (dt < best)
            best = dt;
    }
    char name[16];
    snprintf(name, sizeof name, "%s%s", og_type_name(type), packed ? "x16" : "");
    printf("%-7s %-7s %5lldx%-5lld tokens %3d: %8.3f ms", k->isa, name,
           (long long)rows, (long long)n,
           n_tokens, best * 1e3);
    if (n_tokens == 1)
        printf("  %6.2f GB/s of weights\n", (double)wbytes / best * 1e-9);
    else
        printf("  %7.2f GFLOP/s  %7.1f tokens/s\n", flops / best * 1e-9, n_tokens / best);
    free(x); free(wf); free(w); free(acts); free(y);
}

int main(int argc, char **argv)
{
    const og_kernels *k = argc > 1 ? og_kernels_for(argv[1]) : og_kernels_best();
    if (!k) {
        fprintf(stderr, "ISA %s not available\n", argv[1]);
        return 1;
    }
    const struct { og_type type; int64_t n, rows; } shapes[] = {
        { OG_TYPE_Q4_1, 576, 576 },   { OG_TYPE_Q4_1, 576, 192 },  { OG_TYPE_Q4_1, 576, 1536 },
        { OG_TYPE_Q4_1, 1536, 576 },  { OG_TYPE_Q8_0, 576, 49152 }, { OG_TYPE_Q4_0, 576, 1536 },
        { OG_TYPE_Q5_0, 576, 1536 },  { OG_TYPE_Q5_1, 576, 1536 }, { OG_TYPE_Q4_K, 1536, 576 },
        { OG_TYPE_Q6_K, 1536, 576 },  { OG_TYPE_F16, 576, 576 },   { OG_TYPE_F32, 576, 576 },
        { OG_TYPE_Q8_0, 576, 1536 },  { OG_TYPE_Q8_0, 1536, 576 }, { OG_TYPE_Q4_0, 1536, 576 },
        { OG_TYPE_Q4_0, 2048, 8192 }, { OG_TYPE_Q4_0, 8192, 2048 }, { OG_TYPE_Q8_0, 2048, 8192 },
        { OG_TYPE_Q8_0, 8192, 2048 },  { OG_TYPE_Q8_0, 2048, 2048 },
    };
    const int32_t tokens[] = { 1, 64, 512 };
    /* BENCH_MV_ONLY=1: only the one-token (mat-vec) shapes */
    const size_t n_counts = getenv("BENCH_MV_ONLY") ? 1 : sizeof(tokens) / sizeof(tokens[0]);
    for (size_t ti = 0; ti < n_counts; ti++)
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            if (tokens[ti] > 1 && shapes[s].rows > 4096 && tokens[ti] > 64)
                continue; /* the output matrix at 512 tokens takes too long */
            bench(k, shapes[s].type, shapes[s].n, shapes[s].rows, tokens[ti], false);
            if (og_pack_applies(shapes[s].type, shapes[s].rows, shapes[s].n))
                bench(k, shapes[s].type, shapes[s].n, shapes[s].rows, tokens[ti], true);
        }
    return 0;
}
