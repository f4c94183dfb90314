/*
 * test_kquant_dots.c - the K-format dot products (Q2_K..Q6_K over Q8_K)
 * give ggml's results bit for bit, on every ISA this CPU runs, and so do
 * the gemm and mat-vec tiles; the Q8_K activation quantizer gives ggml's
 * bytes.
 *
 * The fixture (tests/fixtures/kquant_dots.txt, see its README section)
 * holds what llama.cpp b4747's own vec_dot and quantize_row_q8_K return
 * for the pseudo-random rows generated below (the same generator ran in
 * the program that wrote it): every field of each weight block random
 * except d and dmin, which are finite fp16 values; activations with an
 * outlier every 97 elements and one all-zero block.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tensor/blocks.h"
#include "tensor/kernels.h"
#include "testlib.h"

#define FIXTURE OG_TEST_DATA "/../fixtures/kquant_dots.txt"

enum { NB = 6, N = NB * OG_QK_K, ROWS = 12 };

static uint64_t state;

static uint32_t r32(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 32);
}

static float rf(void) { return (float)(r32() >> 8) * (1.0f / 8388608.0f) - 1.0f; }

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Q8_K blocks hashed without the bsums of all-zero blocks, which ggml's
 * quantizer leaves as they were (they are multiplied by d = 0). */
static uint64_t q8_hash(const og_block_q8_K *b, int nb)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < nb; i++) {
        h = fnv(h, &b[i].d, sizeof b[i].d);
        h = fnv(h, b[i].qs, sizeof b[i].qs);
        if (b[i].d != 0.0f)
            h = fnv(h, b[i].bsums, sizeof b[i].bsums);
    }
    return h;
}

typedef struct {
    og_type type;
    const char *name;
    size_t block_bytes, d_off;
    long dmin_off; /* -1: none */
} kformat;

static const kformat formats[] = {
    { OG_TYPE_Q2_K, "q2_K", sizeof(og_block_q2_K), offsetof(og_block_q2_K, d), offsetof(og_block_q2_K, dmin) },
    { OG_TYPE_Q3_K, "q3_K", sizeof(og_block_q3_K), offsetof(og_block_q3_K, d), -1 },
    { OG_TYPE_Q4_K, "q4_K", sizeof(og_block_q4_K), offsetof(og_block_q4_K, d), offsetof(og_block_q4_K, dmin) },
    { OG_TYPE_Q5_K, "q5_K", sizeof(og_block_q5_K), offsetof(og_block_q5_K, d), offsetof(og_block_q5_K, dmin) },
    { OG_TYPE_Q6_K, "q6_K", sizeof(og_block_q6_K), offsetof(og_block_q6_K, d), -1 },
};

/* The expected line of the fixture for format f, row r. */
static int expected(const kformat *f, int r, unsigned long long *q8_fnv, unsigned *dot_bits)
{
    FILE *fp = fopen(FIXTURE, "r");
    if (!fp) {
        fprintf(stderr, "cannot open %s\n", FIXTURE);
        return 0;
    }
    char name[16];
    int row, found = 0;
    unsigned long long h;
    unsigned bits;
    while (fscanf(fp, "%15s %d q8_K_fnv %llx dot %x", name, &row, &h, &bits) == 4)
        if (strcmp(name, f->name) == 0 && row == r) {
            *q8_fnv = h;
            *dot_bits = bits;
            found = 1;
            break;
        }
    fclose(fp);
    return found;
}

int main(void)
{
    static uint8_t w[2][NB * sizeof(og_block_q6_K)];
    static og_block_q8_K q8[NB];
    static float x[N];
    const char *isa_names[] = { "scalar", "avx2", "avx512", "neon" };

    for (size_t t = 0; t < sizeof formats / sizeof formats[0]; t++) {
        const kformat *f = &formats[t];
        state = 0x9E3779B97F4A7C15ull ^ (uint64_t)(t + 1);
        int dots_equal = 0, q8_equal = 0;
        for (int r = 0; r < ROWS; r++) {
            /* this row in w[0]; the previous one stays in w[1] for the
             * two-row mat-vec tile */
            memcpy(w[1], w[0], sizeof w[0]);
            for (size_t i = 0; i < NB * f->block_bytes; i++)
                w[0][i] = (uint8_t)r32();
            for (int b = 0; b < NB; b++) {
                uint8_t *blk = w[0] + b * f->block_bytes;
                const uint16_t d = (uint16_t)(0x1C00 + r32() % 0x1400) | (uint16_t)((r32() & 1) << 15);
                memcpy(blk + f->d_off, &d, 2);
                if (f->dmin_off >= 0) {
                    const uint16_t m = (uint16_t)(0x1C00 + r32() % 0x1400);
                    memcpy(blk + f->dmin_off, &m, 2);
                }
            }
            for (int i = 0; i < N; i++) {
                const int blk = i / OG_QK_K;
                x[i] = (r == 3 && blk == 2) ? 0.0f
                                             : rf() * (float)(1 + blk * 7) * (i % 97 == 5 ? 40.0f : 1.0f);
            }
            unsigned long long want_fnv;
            unsigned want_bits;
            if (!expected(f, r, &want_fnv, &want_bits)) {
                CHECK(0, "%s row %d: no fixture line", f->name, r);
                continue;
            }
            og_kernels_scalar()->from_float[OG_TYPE_Q8_K](x, q8, N);
            q8_equal += q8_hash(q8, NB) == want_fnv;

            int all = 1;
            for (int k = 0; k < 4; k++) {
                const og_kernels *K = og_kernels_for(isa_names[k]);
                if (!K)
                    continue;
                float got, tile[2] = { 0, 0 };
                K->vec_dot[f->type](N, &got, w[0], q8);
                unsigned bits;
                memcpy(&bits, &got, 4);
                if (bits != want_bits) {
                    fprintf(stderr, "%s row %d %s: vec_dot %08x, ggml %08x\n", f->name, r, isa_names[k], bits,
                            want_bits);
                    all = 0;
                }
                /* mat-vec over two rows (w[1], w[0]) and a 3-token gemm
                 * must give vec_dot's bits for the same pairs */
                if (K->gemm[f->type] && r > 0) {
                    static uint8_t two[2][NB * sizeof(og_block_q6_K)];
                    memcpy(two[0], w[1], sizeof w[1]);
                    memcpy(two[1], w[0], sizeof w[0]);
                    float want_prev, g4[4];
                    K->vec_dot[f->type](N, &want_prev, two[0], q8);
                    K->gemm[f->type](N, two, sizeof two[0], 0, 2, q8, 0, 1, tile, 0);
                    /* three tokens (the same activation row) of row 1 */
                    K->gemm[f->type](N, two, sizeof two[0], 1, 2, q8, 0, 3, g4, 1);
                    if (memcmp(&tile[0], &want_prev, 4) || memcmp(&tile[1], &got, 4) || memcmp(&g4[1], &got, 4) ||
                        memcmp(&g4[3], &got, 4)) {
                        fprintf(stderr, "%s row %d %s: gemm differs from vec_dot\n", f->name, r, isa_names[k]);
                        all = 0;
                    }
                }
            }
            dots_equal += all;
        }
        CHECK(q8_equal == ROWS, "%s: Q8_K bytes equal ggml's in %d of %d rows", f->name, q8_equal, ROWS);
        CHECK(dots_equal == ROWS, "%s: dot products equal ggml's on every ISA in %d of %d rows", f->name,
              dots_equal, ROWS);
        printf("%s: %d of %d dot products equal ggml's bit for bit on every ISA here\n", f->name, dots_equal,
               ROWS);
    }
    return og_test_finish("test_kquant_dots");
}
