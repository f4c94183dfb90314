/*
 * docs_search_bench.c - search latency of a collection, in one process
 * (as a server or an app sees it: the collection stays open): for each
 * query of QUERIES (one per line), og_docs_search in each mode, after one
 * warm-up pass; prints p50 and p95 per mode. Also times the dense scan
 * alone (og_cosine_topk over the stored vectors, query embedded
 * beforehand) and writes the query vectors to OUT.qvecs, so that
 * docs_vec.py times sqlite-vec on the same vectors.
 *
 * Built by bench/docs_bench.sh against build/liboffgrid.so:
 *   cc -O2 -Iinclude bench/docs_search_bench.c -Lbuild -loffgrid -o B
 *   B HOME COLLECTION EMBED_MODEL QUERIES OUT K
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offgrid_services.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof *ms, by_value);
    printf("%-22s p50 %8.2f ms   p95 %8.2f ms   (%d queries)\n", what, ms[n / 2], ms[(int)(n * 0.95)], n);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOME COLLECTION EMBED_MODEL QUERIES OUT K\n", argv[0]);
        return 2;
    }
    og_docs_params p = og_docs_default_params();
    p.home = argv[1];
    p.collection = argv[2];
    p.embed_model_path = argv[3];
    p.must_exist = true;
    p.n_threads = 2;
    const int k = atoi(argv[6]);
    og_docs *d = NULL;
    og_error e = { 0 };
    if (og_docs_open(&p, &d, &e) != OG_OK) {
        fprintf(stderr, "%s\n", e.message);
        return 1;
    }
    FILE *f = fopen(argv[4], "r");
    if (!f)
        return 1;
    static char lines[1024][512];
    int n = 0;
    while (n < 1024 && fgets(lines[n], sizeof lines[n], f)) {
        lines[n][strcspn(lines[n], "\n")] = 0;
        if (lines[n][0])
            n++;
    }
    fclose(f);
    double *ms = malloc((size_t)n * sizeof *ms);
    static const char *const names[] = { "hybrid", "bm25", "dense" };
    for (int mode = 0; mode < 3; mode++) {
        for (int pass = 0; pass < 2; pass++) /* the first pass warms up (loads the vectors) */
            for (int i = 0; i < n; i++) {
                og_docs_hit *hits = NULL;
                int32_t got = 0;
                double t0 = now();
                if (og_docs_search(d, lines[i], k, (og_docs_mode)mode, &hits, &got, &e) != OG_OK) {
                    fprintf(stderr, "%s\n", e.message);
                    return 1;
                }
                ms[i] = 1e3 * (now() - t0);
                og_docs_hits_free(hits, got);
            }
        char what[64];
        snprintf(what, sizeof what, "search %s", names[mode]);
        report(what, ms, n);
    }
    /* The query embedding alone, and the scan alone over the same vectors. */
    og_model *m = NULL;
    og_encoder *enc = NULL;
    if (og_model_load(argv[3], NULL, &m, &e) != OG_OK || og_encoder_new(m, NULL, &enc, &e) != OG_OK) {
        fprintf(stderr, "%s\n", e.message);
        return 1;
    }
    const int dim = og_encoder_n_embd(enc);
    float *q = malloc((size_t)n * dim * sizeof *q);
    for (int i = 0; i < n; i++) {
        double t0 = now();
        const char *text = lines[i];
        og_embed(enc, &text, NULL, 1, q + (size_t)i * dim, &e);
        ms[i] = 1e3 * (now() - t0);
    }
    report("embed the query", ms, n);
    char path[4096];
    snprintf(path, sizeof path, "%s.qvecs", argv[5]);
    FILE *qf = fopen(path, "wb");
    if (!qf || fwrite(q, sizeof *q, (size_t)n * dim, qf) != (size_t)n * dim)
        return 1;
    fclose(qf);
    snprintf(path, sizeof path, "%s.vecs", argv[5]);
    FILE *vf = fopen(path, "rb");
    if (vf) {
        fseek(vf, 0, SEEK_END);
        long bytes = ftell(vf);
        fseek(vf, 0, SEEK_SET);
        const int64_t rows = bytes / (long)(dim * sizeof(float));
        float *v = malloc((size_t)bytes);
        if (v && fread(v, 1, (size_t)bytes, vf) == (size_t)bytes) {
            int64_t idx[64];
            float sim[64];
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < n; i++) {
                    double t0 = now();
                    og_cosine_topk(q + (size_t)i * dim, v, rows, dim, k < 64 ? k : 64, idx, sim);
                    ms[i] = 1e3 * (now() - t0);
                }
            report("dense scan alone", ms, n);
        }
        free(v);
        fclose(vf);
    }
    free(q);
    free(ms);
    og_encoder_free(enc);
    og_model_free(m);
    og_docs_free(d);
    return 0;
}
