/*
 * test_vecmath.c - the AVX-512 and AVX2 row operations of the forward pass
 * give the portable code's bits: the exp polynomial (through SiLU), softmax with
 * its fp16 rounding, the Q.K scores and the P.V chains of attention. Inputs
 * sweep the ranges where exp underflows to subnormals and to zero and
 * overflows, where a wrong rounding step would show.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/numerics.h"
#include "model/attention.h"
#include "model/ops.h"
#include "tensor/kernels.h"
#include "testlib.h"

static uint64_t rng = 0x243F6A8885A308D3ULL;

static float uniform(float lo, float hi)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (float)(rng >> 40) / 16777216.0f;
}

static int differ(const float *a, const float *b, int64_t n)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return bad;
}

static void test_silu(void)
{
#if defined(__x86_64__)
    enum { N = 4096 };
    static float gate[N], up[N], got[N], want[N];
    for (int i = 0; i < N; i++) {
        /* -g from -200 to 200 in odd steps, then random values */
        gate[i] = i < 2048 ? -200.0f + (float)i * (400.0f / 2047.0f) : uniform(-110.0f, 95.0f);
        up[i] = i % 3 ? 1.0f : uniform(-2.0f, 2.0f);
        want[i] = gate[i] / (1.0f + og_expf_poly(0.0f - gate[i])) * up[i];
    }
    gate[0] = -INFINITY, want[0] = gate[0] / (1.0f + og_expf_poly(0.0f - gate[0])) * up[0];
    og_ops_swiglu_avx512(got, gate, up, 1, N);
    CHECK(differ(got, want, N) == 0, "AVX-512 SiLU differs from og_expf_poly in %d of %d values", differ(got, want, N),
          N);
#endif
}

/* Head dimensions of one, several and no whole blocks of 64 (the last
 * takes the fallbacks to the one-key dot product). */
static void test_attention(const og_attn_kernels *fast, const og_attn_kernels *ref, const int hd)
{
    enum { MAX_HD = 128, MAX_KEYS = 300 };
    static og_fp16 keys[MAX_KEYS * MAX_HD], values[MAX_KEYS * MAX_HD];
    static float q[MAX_HD], a[MAX_KEYS], b[MAX_KEYS], out_a[MAX_HD], out_b[MAX_HD], scratch[64 * MAX_HD];
    for (int i = 0; i < MAX_KEYS * hd; i++) {
        keys[i] = og_f32_to_fp16(uniform(-3.0f, 3.0f));
        values[i] = og_f32_to_fp16(uniform(-1.0f, 1.0f));
    }
    for (int i = 0; i < hd; i++)
        q[i] = uniform(-2.0f, 2.0f);
    const int key_counts[] = { 1, 3, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 96, 97, 127, 128, 129, 160, 161, 300 };
    for (size_t c = 0; c < sizeof key_counts / sizeof key_counts[0]; c++) {
        const int n = key_counts[c];
        fast->scores_chain(a, keys, hd, q, hd, n, 0.125f);
        ref->scores_chain(b, keys, hd, q, hd, n, 0.125f);
        CHECK(differ(a, b, n) == 0, "scores_chain, hd %d, %d keys: %d differ", hd, n, differ(a, b, n));
        fast->scores_blocks(a, keys, hd, q, hd, n, 0.125f);
        ref->scores_blocks(b, keys, hd, q, hd, n, 0.125f);
        CHECK(differ(a, b, n) == 0, "scores_blocks, hd %d, %d keys: %d differ", hd, n, differ(a, b, n));
        /* spread the scores so some weights underflow or vanish */
        for (int j = 0; j < n; j++)
            a[j] = b[j] = j % 5 == 0 ? a[j] - 150.0f : a[j] * 4.0f;
        fast->softmax_fp16(a, n);
        ref->softmax_fp16(b, n);
        CHECK(differ(a, b, n) == 0, "softmax_fp16, %d keys: %d differ", n, differ(a, b, n));
        fast->values_chain(out_a, a, n, values, hd, hd, scratch);
        ref->values_chain(out_b, a, n, values, hd, hd, scratch);
        CHECK(differ(out_a, out_b, hd) == 0, "values_chain, hd %d, %d keys: %d differ", hd, n,
              differ(out_a, out_b, hd));
        /* whole blocks only, and as attention pads the key count to 32 */
        const int padded = (n + 31) / 32 * 32 / 64 * 64;
        const int simd_counts[2] = { n / 64 * 64, padded < n ? padded : n };
        for (int s = 0; s < 2; s++) {
            fast->values_blocks(out_a, a, n, simd_counts[s], values, hd, hd, scratch);
            ref->values_blocks(out_b, a, n, simd_counts[s], values, hd, hd, scratch);
            CHECK(differ(out_a, out_b, hd) == 0, "values_blocks, hd %d, %d keys, %d in blocks: %d differ", hd, n,
                  simd_counts[s], differ(out_a, out_b, hd));
        }
        CHECK(fast->dot_blocks(keys, q, hd) == ref->dot_blocks(keys, q, hd), "dot_blocks differs");
        /* several queries on the same keys and values, against one by one */
        enum { MQ = OG_ATTN_MULTI };
        static float qs[MQ * MAX_HD], ps[MQ * MAX_KEYS], multi_s[MQ * MAX_KEYS], multi_o[MQ * MAX_HD], one_o[MAX_HD];
        for (int i = 0; i < MQ * hd; i++)
            qs[i] = uniform(-2.0f, 2.0f);
        for (int n_q = 1; n_q <= MQ; n_q++) {
            fast->scores_blocks_multi(multi_s, MAX_KEYS, keys, hd, qs, n_q, hd, n, 0.125f);
            int bad = 0;
            for (int h = 0; h < n_q; h++) {
                ref->scores_blocks(b, keys, hd, qs + h * hd, hd, n, 0.125f);
                bad += differ(multi_s + h * MAX_KEYS, b, n);
                memcpy(ps + h * MAX_KEYS, b, (size_t)n * sizeof(float));
                ref->softmax_fp16(ps + h * MAX_KEYS, n);
            }
            CHECK(bad == 0, "scores_blocks_multi, hd %d, %d queries, %d keys: %d differ", hd, n_q, n, bad);
            fast->values_blocks_multi(multi_o, ps, MAX_KEYS, n_q, n, simd_counts[1], values, hd, hd, scratch);
            bad = 0;
            for (int h = 0; h < n_q; h++) {
                ref->values_blocks(one_o, ps + h * MAX_KEYS, n, simd_counts[1], values, hd, hd, scratch);
                bad += differ(multi_o + h * hd, one_o, hd);
            }
            CHECK(bad == 0, "values_blocks_multi, hd %d, %d queries, %d keys: %d differ", hd, n_q, n, bad);
        }
    }
}

static void test_to_fp16(const og_attn_kernels *fast, const og_attn_kernels *ref)
{
    /* fp16 rounding: ties, subnormals, overflow to infinity, signed zeros */
    enum { N_HALF = 4096 };
    static float src[N_HALF];
    static og_fp16 half_a[N_HALF], half_b[N_HALF];
    for (int i = 0; i < N_HALF; i++) {
        const float magnitude = i < 1024 ? 1e-8f : i < 2048 ? 1e-4f : i < 3072 ? 1.0f : 70000.0f;
        src[i] = uniform(-1.0f, 1.0f) * magnitude;
    }
    src[0] = 0.0f, src[1] = -0.0f, src[2] = 65520.0f, src[3] = -65504.0f, src[4] = 1.0f + 1.0f / 2048.0f,
    src[5] = 5.9604645e-8f, src[6] = 2.9802322e-8f, src[7] = INFINITY;
    fast->to_fp16(half_a, src, N_HALF);
    ref->to_fp16(half_b, src, N_HALF);
    CHECK(memcmp(half_a, half_b, sizeof half_a) == 0, "to_fp16 differs from og_f32_to_fp16");
    static float round_a[N_HALF], round_b[N_HALF];
    fast->round_fp16(round_a, src, N_HALF);
    ref->round_fp16(round_b, src, N_HALF);
    CHECK(memcmp(round_a, round_b, sizeof round_a) == 0, "round_fp16 differs from the portable rounding");
}

int main(void)
{
    const int head_dims[] = { 64, 128, 80, 72 };
    const og_attn_kernels *fast = og_attn_kernels_avx512();
    if (fast) {
        test_silu();
        for (size_t i = 0; i < sizeof head_dims / sizeof head_dims[0]; i++)
            if (head_dims[i] % 16 == 0)
                test_attention(fast, og_attn_kernels_portable(16), head_dims[i]);
        test_to_fp16(fast, og_attn_kernels_portable(16));
    }
    for (int32_t lanes = 8; lanes <= 16; lanes += 8) {
        fast = og_attn_kernels_avx2(lanes);
        if (!fast)
            continue;
        for (size_t i = 0; i < sizeof head_dims / sizeof head_dims[0]; i++)
            if (head_dims[i] % lanes == 0)
                test_attention(fast, og_attn_kernels_portable(lanes), head_dims[i]);
        test_to_fp16(fast, og_attn_kernels_portable(lanes));
    }
    if (!og_attn_kernels_avx512() && !og_attn_kernels_avx2(16))
        /* the SIMD paths are never taken here, so there is nothing they could get wrong */
        fprintf(stderr, "test_vecmath: %s CPU, no SIMD attention paths to compare\n", og_kernels_best()->isa);
    return og_test_finish("test_vecmath");
}
