/*
 * test_quantize_k.c - the K-format weight quantizers (og_quantize_row_ref
 * for Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K) produce exactly ggml's bytes.
 *
 * Rows come from a deterministic generator written here (typical weights,
 * and the edge cases: all zero, constant, one outlier, tiny and huge
 * magnitudes, one sign only, sparse, mixed group magnitudes). The SHA-256
 * of each type's output for each row is compared with the value ggml's
 * quantize_row_qN_K_ref gave for the same floats (llama.cpp b4747),
 * stored in fixtures/quantize_k_ref.txt; fixtures/README.md says how
 * those were made. The dequantized rows must also be close to the input,
 * so a fixture made from a broken quantizer would not pass silently.
 */
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/kernels.h"
#include "testlib.h"

#define FIXTURE OG_TEST_DATA "/../fixtures/quantize_k_ref.txt"

/* ---- the generator (the fixture harness uses the same definitions) ---- */

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1), 24 random bits: exact in float, no rounding. */
static float unif(uint64_t *s) { return (float)(mix(s) >> 40) * (1.0f / 8388608.0f) - 1.0f; }

/* Sum of four uniforms, about unit variance; plain float operations only. */
static float gauss(uint64_t *s)
{
    float a = unif(s), b = unif(s), c = unif(s), d = unif(s);
    return ((a + b) + (c + d)) * 0.8660254f;
}

typedef struct kcase {
    const char *name;
    int n;
} kcase;

static const kcase cases[] = {
    { "weights", 1024 }, { "uniform", 512 },   { "zero", 256 },     { "const_pos", 256 },
    { "const_neg", 256 }, { "outlier", 512 },  { "tiny", 512 },     { "huge", 512 },
    { "negative", 512 },  { "positive", 512 }, { "sparse", 512 },   { "mixed", 1024 },
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

static void make_case(int c, float *x, int n)
{
    uint64_t s = 1000u + (uint64_t)c;
    for (int i = 0; i < n; i++) {
        const float g = gauss(&s);
        switch (c) {
        case 0: x[i] = 0.02f * g; break;
        case 1: x[i] = unif(&s); break;
        case 2: x[i] = 0.0f; break;
        case 3: x[i] = 0.5f; break;
        case 4: x[i] = -0.25f; break;
        case 5: x[i] = i % 256 == 77 ? 3.0f : 0.01f * g; break;
        case 6: x[i] = 1e-20f * g; break;
        case 7: x[i] = 1e5f * g; break;
        case 8: x[i] = -fabsf(g); break;
        case 9: x[i] = fabsf(g) + 0.1f; break;
        case 10: x[i] = (mix(&s) & 15) == 0 ? g : 0.0f; break;
        default: x[i] = g * ldexpf(1.0f, (i / 16) % 24 - 12); break;
        }
    }
}

/* ---- the checks ---- */

static const struct {
    og_type type;
    const char *name;
    double max_rel_err; /* of the dequantized "weights" row, RMS over RMS */
} ktypes[] = {
    { OG_TYPE_Q2_K, "Q2_K", 0.40 }, { OG_TYPE_Q3_K, "Q3_K", 0.25 }, { OG_TYPE_Q4_K, "Q4_K", 0.12 },
    { OG_TYPE_Q5_K, "Q5_K", 0.06 }, { OG_TYPE_Q6_K, "Q6_K", 0.03 }, { OG_TYPE_Q8_K, "Q8_K", 0.01 },
};

static void hex(const unsigned char *h, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* The expected hash of one (type, case) from the fixture text, or NULL. */
static const char *expected(const char *fixture, const char *type, const char *name, char out[65])
{
    char key[64];
    snprintf(key, sizeof key, "%s %s ", type, name);
    for (const char *line = fixture; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, strlen(key)))
            continue;
        const char *p = line + strlen(key);
        while (*p && *p != ' ')
            p++; /* skip n */
        if (sscanf(p, " %64s", out) == 1)
            return out;
    }
    return NULL;
}

static double rel_err(const float *x, const float *y, int n)
{
    double e = 0, s = 0;
    for (int i = 0; i < n; i++) {
        e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        s += (double)x[i] * x[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

int main(void)
{
    CHECK(sodium_init() >= 0, "libsodium");
    size_t len = 0;
    char *fixture = og_test_read_file(FIXTURE, &len);
    CHECK(fixture != NULL, "fixture %s", FIXTURE);
    const og_kernels *k = og_kernels_scalar();
    float *x = malloc(1024 * sizeof *x), *y = malloc(1024 * sizeof *y);
    unsigned char *q = malloc(og_type_row_bytes(OG_TYPE_Q8_K, 1024));
    int compared = 0;
    for (size_t t = 0; fixture && x && y && q && t < sizeof ktypes / sizeof ktypes[0]; t++) {
        for (int c = 0; c < N_CASES; c++) {
            const int n = cases[c].n;
            const size_t bytes = og_type_row_bytes(ktypes[t].type, n);
            make_case(c, x, n);
            memset(q, 0, bytes);
            if (!og_quantize_row_ref(ktypes[t].type, x, q, n)) {
                CHECK(0, "%s refused a row of %d", ktypes[t].name, n);
                continue;
            }
            unsigned char h[crypto_hash_sha256_BYTES];
            char got[65], want[65];
            crypto_hash_sha256(h, q, bytes);
            hex(h, sizeof h, got);
            const char *w = expected(fixture, ktypes[t].name, cases[c].name, want);
            CHECK(w != NULL, "no fixture line for %s %s", ktypes[t].name, cases[c].name);
            if (w) {
                CHECK(!strcmp(got, w), "%s %s: sha256 %s, ggml's is %s", ktypes[t].name, cases[c].name, got, w);
                compared++;
            }
            /* Q8_K is an activation type without a to_float. */
            if (c == 0 && k->to_float[ktypes[t].type]) {
                k->to_float[ktypes[t].type](q, y, n);
                const double e = rel_err(x, y, n);
                CHECK(e < ktypes[t].max_rel_err, "%s: relative error %.4f", ktypes[t].name, e);
            }
            if (c == 2 && k->to_float[ktypes[t].type]) { /* zeros come back as zeros */
                k->to_float[ktypes[t].type](q, y, n);
                CHECK(rel_err(x, y, n) == 0, "%s: zero row not zero", ktypes[t].name);
            }
        }
    }
    CHECK(compared == N_CASES * 6, "compared %d of %d", compared, N_CASES * 6);
    /* Rows that are not whole super-blocks are refused, not half written. */
    CHECK(!og_quantize_row_ref(OG_TYPE_Q4_K, x, q, 255), "Q4_K row of 255 accepted");
    CHECK(!og_quantize_row_ref(OG_TYPE_Q6_K, x, q, 288), "Q6_K row of 288 accepted");
    CHECK(!og_quantize_row_k_ref(OG_TYPE_Q8_0, x, q, 256), "Q8_0 is not a K format");
    free(fixture);
    free(x);
    free(y);
    free(q);
    return og_test_finish("test_quantize_k");
}
