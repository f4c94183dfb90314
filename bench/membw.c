/*
 * membw.c - memory read bandwidth probe: the ceiling token generation can
 * reach, since generating one token streams every weight once.
 *
 * Reads a buffer far larger than the caches (1 GiB by default) with the
 * widest vector loads the compiler targets, from 1 thread and from N
 * threads (each a contiguous slice, started together by a barrier), and
 * prints in GB/s (10^9 bytes/s) the median of several passes, at the
 * prefetch distance where it is highest. Each pass is tried without and
 * with software prefetching (4, 10 and 16 KiB ahead), as the mat-vec
 * kernels prefetch: on this VM plain loads reach only about two thirds
 * of what prefetched streams do, and a ceiling below what the kernels
 * reach would overstate how close they are to it. The median, not the
 * best pass: on this VM two threads now and then read 50-71 GB/s for a
 * few seconds, against 34-47 otherwise (the host moves the vCPUs), and
 * generation speeds are means over runs, not their best.
 *
 *   cc -O2 -march=native -pthread bench/membw.c -o membw
 *   ./membw [SIZE_MIB [MAX_THREADS [PASSES]]]
 *
 * Output, one line per thread count: "membw threads=T GB/s=X".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sums the slice so the loads cannot be optimized away; four independent
 * accumulators keep enough loads in flight. With pf > 0 every line is
 * also prefetched pf bytes ahead. */
static uint64_t read_slice(const uint8_t *p, size_t n, size_t pf)
{
#if defined(__AVX512F__)
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        if (pf)
            for (size_t o = 0; o < 256; o += 64)
                _mm_prefetch((const char *)p + i + pf + o, _MM_HINT_T0);
        a0 = _mm512_add_epi64(a0, _mm512_load_si512((const void *)(p + i)));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512((const void *)(p + i + 64)));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512((const void *)(p + i + 128)));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512((const void *)(p + i + 192)));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
#elif defined(__AVX2__)
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        if (pf)
            for (size_t o = 0; o < 128; o += 64)
                _mm_prefetch((const char *)p + i + pf + o, _MM_HINT_T0);
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(p + i + 96)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out, s);
    return out[0] + out[1] + out[2] + out[3];
#else
    (void)pf;
    const uint64_t *q = (const uint64_t *)p;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= n / 8; i += 4)
        s0 += q[i], s1 += q[i + 1], s2 += q[i + 2], s3 += q[i + 3];
    return s0 + s1 + s2 + s3;
#endif
}

typedef struct job {
    const uint8_t *p;
    size_t n, pf;
    pthread_barrier_t *start;
    uint64_t sum;
    double t_begin, t_end;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    pthread_barrier_wait(j->start);
    j->t_begin = now_s();
    j->sum = read_slice(j->p, j->n, j->pf);
    j->t_end = now_s();
    return NULL;
}

static volatile uint64_t sink; /* keeps the sums alive */

/* One pass over the whole buffer by n_threads threads, the calling one
 * among them; returns seconds, from the first thread's start to the last
 * one's end, as the threads clock them. The caller used to wait aside and
 * hold the clock: with as many workers as CPUs it was the odd one out,
 * the scheduler could run it milliseconds after the barrier released the
 * workers, and small buffers read impossibly fast (two threads: up to
 * 232 GB/s over 128-256 MiB, and 4-14% too fast at 1 GiB). */
static double pass(const uint8_t *buf, size_t size, int n_threads, size_t pf)
{
    pthread_t tid[256];
    job jobs[256];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n_threads);
    size_t slice = size / (size_t)n_threads / 4096 * 4096; /* keeps loads aligned */
    for (int t = 0; t < n_threads; t++) {
        jobs[t] = (job){ buf + (size_t)t * slice, slice, pf, &start, 0, 0.0, 0.0 };
        if (t > 0 && pthread_create(&tid[t], NULL, worker, &jobs[t]) != 0) {
            fprintf(stderr, "membw: cannot start thread %d\n", t);
            exit(1);
        }
    }
    worker(&jobs[0]);
    double t_begin = jobs[0].t_begin, t_end = jobs[0].t_end;
    sink += jobs[0].sum;
    for (int t = 1; t < n_threads; t++) {
        pthread_join(tid[t], NULL);
        sink += jobs[t].sum;
        t_begin = jobs[t].t_begin < t_begin ? jobs[t].t_begin : t_begin;
        t_end = jobs[t].t_end > t_end ? jobs[t].t_end : t_end;
    }
    pthread_barrier_destroy(&start);
    return (t_end - t_begin) * ((double)size / (double)(slice * (size_t)n_threads)); /* per whole buffer */
}

enum { MAX_PASSES = 1000 };

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long arg_or(int argc, char **argv, int i, long def, long lo, long hi)
{
    if (argc <= i)
        return def;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*end || end == argv[i] || v < lo || v > hi) {
        fprintf(stderr, "membw: argument %d must be a number from %ld to %ld, got '%s'\n"
                        "usage: membw [SIZE_MIB [MAX_THREADS [PASSES]]]\n", i, lo, hi, argv[i]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long n_cpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t size = (size_t)arg_or(argc, argv, 1, 1024, 16, 1 << 20) << 20;
    int max_threads = (int)arg_or(argc, argv, 2, n_cpu > 0 ? n_cpu : 1, 1, 256);
    int passes = (int)arg_or(argc, argv, 3, 5, 1, MAX_PASSES);
    uint8_t *buf = aligned_alloc(4096, size);
    if (!buf) {
        fprintf(stderr, "membw: cannot allocate %zu MiB\n", size >> 20);
        return 1;
    }
    /* Touch every page so the passes measure DRAM, not page faults, and
     * give every word its own value: pages of identical bytes can be
     * merged by the host (one run here read 1 GiB at 99 GB/s). */
    for (size_t i = 0; i < size / sizeof(uint64_t); i++)
        ((uint64_t *)buf)[i] = (uint64_t)i * 0x9E3779B97F4A7C15ull;
    const char *isa =
#if defined(__AVX512F__)
        "avx512";
#elif defined(__AVX2__)
        "avx2";
#else
        "scalar";
#endif
    fprintf(stderr, "membw: %zu MiB buffer, %s loads, median of %d passes at the best prefetch distance\n",
            size >> 20, isa, passes);
    for (int t = 1; t <= max_threads; t = t < max_threads && t * 2 > max_threads ? max_threads : t * 2) {
        enum { N_DIST = 4 };
        static const size_t distances[N_DIST] = { 0, 4096, 10240, 16384 };
        static double secs[N_DIST][MAX_PASSES];
        for (int p = 0; p < passes; p++) /* distances interleaved, so drifts touch them alike */
            for (int d = 0; d < N_DIST; d++)
                secs[d][p] = pass(buf, size, t, distances[d]);
        double best = 1e30;
        for (int d = 0; d < N_DIST; d++) {
            qsort(secs[d], (size_t)passes, sizeof(double), cmp_double);
            if (secs[d][passes / 2] < best)
                best = secs[d][passes / 2];
        }
        printf("membw threads=%d GB/s=%.2f\n", t, (double)size / best / 1e9);
        fflush(stdout);
        if (t == max_threads)
            break;
    }
    free(buf);
    return 0;
}
