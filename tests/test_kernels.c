/*
 * test_kernels.c - the numeric kernels: hand-built blocks with known
 * values (layouts as in ggml), quantize/dequantize round trips, activation
 * quantizers byte-identical across ISAs, every fast vec_dot against the
 * scalar one, vec_dot against the float dot of dequantized data, and every
 * gemm against its own ISA's vec_dot bit for bit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/blocks.h"
#include "tensor/kernels.h"
#include "tensor/packed.h"
#include "testlib.h"

static const og_type weight_types[] = {
    OG_TYPE_F32,  OG_TYPE_F16,  OG_TYPE_BF16, OG_TYPE_Q4_0, OG_TYPE_Q4_1, OG_TYPE_Q5_0, OG_TYPE_Q5_1,
    OG_TYPE_Q8_0, OG_TYPE_Q2_K, OG_TYPE_Q3_K, OG_TYPE_Q4_K, OG_TYPE_Q5_K, OG_TYPE_Q6_K,
};
#define N_WEIGHT_TYPES (sizeof(weight_types) / sizeof(weight_types[0]))

static const char *const isa_names[] = { "scalar", "avx2", "avx512", "neon" };
static const og_kernels *isas[4];
static int n_isas;

/* 160 and 800 have an odd number of 32-blocks (tail paths); K formats
 * only take multiples of 256; 40 and 100 (floats only) leave remainders
 * below and above one step of 64. */
static const int64_t row_lengths[] = { 40, 100, 160, 256, 576, 800, 1536, 4096 };

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float rnd_uniform(void) { return (float)(rnd_u32() & 0xFFFFFF) / 8388608.0f - 1.0f; }

/* Roughly bell-shaped with an occasional outlier, like real weights. */
static float rnd_value(void)
{
    float v = rnd_uniform() + rnd_uniform() + rnd_uniform();
    if (rnd_u32() % 64 == 0)
        v *= 6.0f;
    return v;
}

static bool is_k_type(og_type t) { return t >= OG_TYPE_Q2_K && t <= OG_TYPE_Q8_K; }

/* ---- known answers: blocks built byte by byte from ggml's layout ---- */

static void expect_values(og_type type, const void *block, const int *index, const float *want, int count)
{
    const int64_t n = og_type_traits_of(type)->block_size == 1 ? 4 : og_type_traits_of(type)->block_size;
    float out[OG_QK_K];
    for (int i = 0; i < n_isas; i++) {
        isas[i]->to_float[type](block, out, n);
        for (int k = 0; k < count; k++)
            CHECK(out[index[k]] == want[k], "%s %s: element %d is %g, want %g", isas[i]->isa, og_type_name(type),
                  index[k], out[index[k]], want[k]);
    }
}

static void test_known_answers(void)
{
    { /* plain floats */
        const float f32[4] = { 1.5f, -2.0f, 0.0f, 3.25f };
        const og_fp16 f16[4] = { 0x3C00, 0xC000, 0x3555, 0x0001 };
        const og_bf16 bf16[4] = { 0x3F80, 0xC0A0, 0x0000, 0x3E00 };
        expect_values(OG_TYPE_F32, f32, (int[]){ 0, 1, 3 }, (float[]){ 1.5f, -2.0f, 3.25f }, 3);
        expect_values(OG_TYPE_F16, f16, (int[]){ 0, 1, 2, 3 },
                      (float[]){ 1.0f, -2.0f, 0.333251953125f, 5.9604644775390625e-08f }, 4);
        expect_values(OG_TYPE_BF16, bf16, (int[]){ 0, 1, 3 }, (float[]){ 1.0f, -5.0f, 0.125f }, 3);
    }
    { /* Q4_0: d = 2; element j is the low nibble of qs[j], element j+16 the high one, minus 8 */
        og_block_q4_0 b = { .d = 0x4000 };
        b.qs[0] = 0x1F;
        b.qs[3] = 0x80;
        expect_values(OG_TYPE_Q4_0, &b, (int[]){ 0, 16, 3, 19 }, (float[]){ 14, -14, -16, 0 }, 4);
    }
    { /* Q4_1: d = 0.5, m = -1 */
        og_block_q4_1 b = { .d = 0x3800, .m = 0xBC00 };
        b.qs[2] = 0x3A;
        expect_values(OG_TYPE_Q4_1, &b, (int[]){ 2, 18 }, (float[]){ 4.0f, 0.5f }, 2);
    }
    { /* Q5_0: d = 1; qh bit j is element j's fifth bit; code - 16 */
        og_block_q5_0 b = { .d = 0x3C00, .qh = { 0x02, 0x00, 0x02, 0x00 } };
        b.qs[1] = 0x52;
        expect_values(OG_TYPE_Q5_0, &b, (int[]){ 1, 17, 0, 16 }, (float[]){ 2, 5, -16, -16 }, 4);
    }
    { /* Q5_1: d = 0.5, m = 1, bit 31 = element 31 */
        og_block_q5_1 b = { .d = 0x3800, .m = 0x3C00, .qh = { 0, 0, 0, 0x80 } };
        b.qs[15] = 0xF7;
        expect_values(OG_TYPE_Q5_1, &b, (int[]){ 15, 31, 0 }, (float[]){ 4.5f, 16.5f, 1.0f }, 3);
    }
    { /* Q8_0: d = 0.25 */
        og_block_q8_0 b = { .d = 0x3400 };
        b.qs[5] = -100;
        b.qs[31] = 127;
        expect_values(OG_TYPE_Q8_0, &b, (int[]){ 5, 31 }, (float[]){ -25.0f, 31.75f }, 2);
    }
    { /* Q2_K: d = 1, dmin = 0.5; scales[g] = scale | min << 4 per 16 elements;
       * element 128h + 32k + l is bits 2k of qs[32h + l] */
        og_block_q2_K b = { .d = 0x3C00, .dmin = 0x3800 };
        b.scales[0] = 0x21;
        b.scales[3] = 0x53;
        b.scales[9] = 0x04;
        b.qs[0] = 0x03;  /* element 0: 1*3 - 0.5*2 */
        b.qs[16] = 0x08; /* element 48: 3*2 - 0.5*5 */
        b.qs[54] = 0x01; /* element 150: 4*1 - 0 */
        expect_values(OG_TYPE_Q2_K, &b, (int[]){ 0, 48, 150 }, (float[]){ 2.0f, 3.5f, 4.0f }, 3);
    }
    { /* Q3_K: d = 1; 6-bit scales - 32: group 0 = 40 (low nibble in scales[0],
       * high bits in scales[8] bits 0-1), group 13 = 20 (scales[5] high nibble,
       * scales[9] bits 6-7); a clear hmask bit subtracts 4 */
        og_block_q3_K b = { .d = 0x3C00 };
        b.scales[0] = 0x08;
        b.scales[8] = 0x02;
        b.scales[5] = 0x40;
        b.scales[9] = 0x40;
        b.qs[0] = 0x02;
        b.hmask[0] = 0x01; /* element 0: 8 * 2 */
        b.qs[1] = 0x01;    /* element 1: 8 * (1 - 4) */
        b.qs[48] = 0x30;
        b.hmask[16] = 0x40; /* element 208 = 128 + 64 + 16: -12 * 3 */
        expect_values(OG_TYPE_Q3_K, &b, (int[]){ 0, 1, 208, 2 }, (float[]){ 16.0f, -24.0f, -36.0f, -8.0f * 4 }, 4);
    }
    /* Q4_K / Q5_K: d = 1, dmin = 0.5; sub-block 0: scale 5, min 3; sub-block 1:
     * scale 2, min 0; sub-block 6: scale 1 | 1 << 4 = 17, min 2 | 3 << 4 = 50. */
    const uint8_t k4_scales[12] = { 5, 2, 0x40, 0, 3, 0, 0xC0, 0, 0, 0, 0x21, 0 };
    {
        og_block_q4_K b = { .d = 0x3C00, .dmin = 0x3800 };
        memcpy(b.scales, k4_scales, 12);
        b.qs[0] = 0x09;   /* element 0: 5*9 - 1.5 */
        b.qs[8] = 0x70;   /* element 40, high nibble: 2*7 */
        b.qs[101] = 0x02; /* element 197 = 192 + 5: 17*2 - 25 */
        expect_values(OG_TYPE_Q4_K, &b, (int[]){ 0, 40, 197 }, (float[]){ 43.5f, 14.0f, 9.0f }, 3);
    }
    {
        og_block_q5_K b = { .d = 0x3C00, .dmin = 0x3800 };
        memcpy(b.scales, k4_scales, 12);
        b.qs[0] = 0x09;
        b.qh[0] = 0x01; /* element 0: 5*25 - 1.5 */
        b.qs[8] = 0x70;
        b.qh[8] = 0x02; /* element 40: 2*23 */
        b.qs[101] = 0x02;
        b.qh[5] = 0x40; /* element 197: 17*18 - 25 */
        expect_values(OG_TYPE_Q5_K, &b, (int[]){ 0, 40, 197 }, (float[]){ 123.5f, 46.0f, 281.0f }, 3);
    }
    { /* Q6_K: d = 0.5; int8 scales per 16; code = 4 low bits | 2 high bits << 4, - 32 */
        og_block_q6_K b = { .d = 0x3800 };
        b.scales[0] = 2;
        b.scales[5] = -3;
        b.scales[14] = 4;
        b.ql[0] = 0x01;
        b.qh[0] = 0x02;  /* element 0: 0.5*2*1 */
        b.ql[16] = 0xF0;
        b.qh[16] = 0x30; /* element 80 = 64 + 16: 0.5*-3*31 */
        /* element 230 = 128 + 96 + 6: ql[102] high nibble and qh[38] bits 6-7 zero */
        expect_values(OG_TYPE_Q6_K, &b, (int[]){ 0, 80, 230 }, (float[]){ 1.0f, -46.5f, -64.0f }, 3);
    }
    { /* Q8_0/Q8_1 activations: scale 127/amax and round half to even */
        float x[OG_QK] = { -127.0f, 2.5f, 3.5f, -0.5f };
        for (int i = 0; i < n_isas; i++) {
            og_block_q8_0 q0;
            og_block_q8_1 q1;
            og_block_q8_0u qu;
            isas[i]->from_float[OG_TYPE_Q8_0](x, &q0, OG_QK);
            isas[i]->from_float[OG_TYPE_Q8_1](x, &q1, OG_QK);
            isas[i]->from_float[OG_TYPE_Q8_0U](x, &qu, OG_QK);
            CHECK(qu.d == 1.0f && qu.qu[0] == 1 && qu.qu[1] == 130 && qu.qu[2] == 132 && qu.qu[3] == 128,
                  "%s Q8_0U: d %g qu %d %d %d %d", isas[i]->isa, qu.d, qu.qu[0], qu.qu[1], qu.qu[2], qu.qu[3]);
            CHECK(q0.d == 0x3C00 && q0.qs[0] == -127 && q0.qs[1] == 2 && q0.qs[2] == 4 && q0.qs[3] == 0,
                  "%s Q8_0: d %04x qs %d %d %d %d", isas[i]->isa, q0.d, q0.qs[0], q0.qs[1], q0.qs[2], q0.qs[3]);
            CHECK(q1.d == 0x3C00 && og_fp16_to_f32(q1.s) == -121.0f && q1.qs[1] == 2 && q1.qs[2] == 4,
                  "%s Q8_1: s %g", isas[i]->isa, og_fp16_to_f32(q1.s));
        }
    }
    { /* Q8_K: the signed max maps to -127 exactly, d = 1/iscale */
        float x[OG_QK_K] = { 0 };
        x[7] = -254.0f;
        x[8] = 5.0f;   /* 2.5 -> 2 */
        x[9] = -3.0f;  /* -1.5 -> -2 */
        x[20] = 7.0f;  /* 3.5 -> 4 */
        for (int i = 0; i < n_isas; i++) {
            og_block_q8_K q;
            isas[i]->from_float[OG_TYPE_Q8_K](x, &q, OG_QK_K);
            CHECK(q.d == 2.0f && q.qs[7] == -127 && q.qs[8] == 2 && q.qs[9] == -2 && q.qs[20] == 4,
                  "%s Q8_K: d %g qs %d %d %d %d", isas[i]->isa, q.d, q.qs[7], q.qs[8], q.qs[9], q.qs[20]);
            CHECK(q.bsums[0] == -127 && q.bsums[1] == 4 && q.bsums[2] == 0, "%s Q8_K bsums %d %d", isas[i]->isa,
                  q.bsums[0], q.bsums[1]);
        }
    }
}

/* ---- random rows ---- */

/* Random bytes with sane fp16 scales: K weights have no reference quantizer. */
static void random_k_blocks(og_type type, void *dst, int64_t n)
{
    const size_t bytes = og_type_row_bytes(type, n);
    uint8_t *p = dst;
    for (size_t i = 0; i < bytes; i++)
        p[i] = (uint8_t)rnd_u32();
    for (int64_t b = 0; b < n / OG_QK_K; b++) {
        const og_fp16 d = og_f32_to_fp16(0.001f + 0.01f * fabsf(rnd_uniform()));
        const og_fp16 dmin = og_f32_to_fp16(0.001f + 0.01f * fabsf(rnd_uniform()));
        switch (type) {
        case OG_TYPE_Q2_K: ((og_block_q2_K *)dst)[b].d = d; ((og_block_q2_K *)dst)[b].dmin = dmin; break;
        case OG_TYPE_Q3_K: ((og_block_q3_K *)dst)[b].d = d; break;
        case OG_TYPE_Q4_K: ((og_block_q4_K *)dst)[b].d = d; ((og_block_q4_K *)dst)[b].dmin = dmin; break;
        case OG_TYPE_Q5_K: ((og_block_q5_K *)dst)[b].d = d; ((og_block_q5_K *)dst)[b].dmin = dmin; break;
        case OG_TYPE_Q6_K: ((og_block_q6_K *)dst)[b].d = d; break;
        default: break;
        }
    }
}

/* Worst-case dequantization error as a fraction of the row's max |x|. */
static float roundtrip_tolerance(og_type type)
{
    switch (type) {
    case OG_TYPE_F32: return 0.0f;
    case OG_TYPE_F16: return 1e-3f;
    case OG_TYPE_BF16: return 8e-3f;
    case OG_TYPE_Q8_0: return 0.01f;
    case OG_TYPE_Q5_0: return 0.07f;  /* the +max side is clamped one step */
    case OG_TYPE_Q5_1: return 0.04f;
    case OG_TYPE_Q4_0: return 0.135f; /* likewise, with steps of amax/8 */
    case OG_TYPE_Q2_K: return 0.35f;  /* 4 levels: half a step of up to 2 amax/3 */
    case OG_TYPE_Q3_K: return 0.2f;   /* 8 levels, steps of about amax/4 */
    default: return 0.075f;
    }
}

/* Error of the fp16 Q8_1 sum s, which the Q4_1/Q5_1 dots use for the min term. */
static double q8_1_sum_slack(og_type type, const void *w, const float *act, int64_t n)
{
    if (type != OG_TYPE_Q4_1 && type != OG_TYPE_Q5_1)
        return 0.0;
    const size_t block_bytes = (size_t)og_type_traits_of(type)->type_size;
    double slack = 0.0;
    for (int64_t b = 0; b < n / OG_QK; b++) {
        og_fp16 m;
        memcpy(&m, (const uint8_t *)w + (size_t)b * block_bytes + 2, sizeof(m));
        double sum_abs = 0.0;
        for (int j = 0; j < OG_QK; j++)
            sum_abs += fabs(act[OG_QK * b + j]);
        slack += 2e-3 * fabs(og_fp16_to_f32(m)) * sum_abs;
    }
    return slack;
}

static void test_type(og_type type, int64_t n)
{
    const char *name = og_type_name(type);
    const og_type act_type = og_vec_dot_type(type);
    const og_kernels *ref = isas[0];
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    float *wf = malloc(sizeof(float) * (size_t)n), *af = malloc(sizeof(float) * (size_t)n);
    float *tmp = malloc(sizeof(float) * (size_t)n);
    void *w = malloc(og_type_row_bytes(type, n));
    const size_t act_bytes = og_type_row_bytes(act_type, n);
    void *act = malloc(act_bytes), *act_isa = malloc(act_bytes);

    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        x[i] = rnd_value();
        y[i] = rnd_value();
        amax = fmaxf(amax, fabsf(x[i]));
    }

    /* (1) round trip through the reference quantizer */
    if (og_quantize_row_ref(type, x, w, n)) {
        ref->to_float[type](w, wf, n);
        float worst = 0.0f;
        for (int64_t i = 0; i < n; i++)
            worst = fmaxf(worst, fabsf(wf[i] - x[i]));
        CHECK(worst <= roundtrip_tolerance(type) * amax, "%s n=%lld: round trip error %g of max %g", name,
              (long long)n, worst, amax);
    } else {
        CHECK(is_k_type(type), "%s has no reference quantizer", name);
        random_k_blocks(type, w, n);
        ref->to_float[type](w, wf, n);
    }

    /* (2) activations: the same bytes on every ISA; and dequantized rows agree */
    ref->from_float[act_type](y, act, n);
    ref->to_float[act_type](act, af, n);
    for (int i = 1; i < n_isas; i++) {
        isas[i]->from_float[act_type](y, act_isa, n);
        CHECK(memcmp(act, act_isa, act_bytes) == 0, "%s: %s from_float differs from scalar (n=%lld)", isas[i]->isa,
              og_type_name(act_type), (long long)n);
        isas[i]->to_float[type](w, tmp, n);
        CHECK(memcmp(tmp, wf, sizeof(float) * (size_t)n) == 0, "%s: %s to_float differs from scalar", isas[i]->isa,
              name);
    }

    /* (4) the scalar dot against the float dot of the dequantized rows */
    double exact = 0.0, magnitude = 0.0;
    for (int64_t i = 0; i < n; i++) {
        exact += (double)wf[i] * (double)af[i];
        magnitude += fabs((double)wf[i] * (double)af[i]);
    }
    float ref_dot;
    ref->vec_dot[type](n, &ref_dot, w, act);
    const double slack = 1e-4 * magnitude + q8_1_sum_slack(type, w, af, n) + 1e-30;
    CHECK(fabs(ref_dot - exact) <= slack, "%s n=%lld: scalar dot %.9g, dequantized dot %.9g", name, (long long)n,
          ref_dot, exact);

    /* (3) every fast dot against the scalar one: bit for bit (they all
     * follow llama.cpp's order), except BF16, only within rounding */
    for (int i = 1; i < n_isas; i++) {
        float dot;
        isas[i]->vec_dot[type](n, &dot, w, act);
        if (type == OG_TYPE_BF16)
            CHECK(fabs(dot - ref_dot) <= 1e-5 * magnitude + 1e-30, "%s %s n=%lld: dot %.9g, scalar %.9g",
                  isas[i]->isa, name, (long long)n, dot, ref_dot);
        else
            CHECK(memcmp(&dot, &ref_dot, sizeof(dot)) == 0, "%s %s n=%lld: dot %.9g, scalar %.9g", isas[i]->isa,
                  name, (long long)n, dot, ref_dot);
    }

    free(x); free(y); free(wf); free(af); free(tmp); free(w); free(act); free(act_isa);
}

/* What gemm must give for F32/F16 (llama.cpp's tinyBLAS order): per
 * output one chain of 16 fused lanes, reduced like _mm512_reduce_add_ps;
 * rows not a multiple of 16 long take vec_dot. */
static float chain_dot(og_type type, int64_t n, const void *w, const void *a)
{
    float acc[16] = { 0 };
    for (int64_t l = 0; l < n; l += 16)
        for (int k = 0; k < 16; k++) {
            const float wv = type == OG_TYPE_F16 ? og_fp16_to_f32(((const og_fp16 *)w)[l + k])
                                                 : ((const float *)w)[l + k];
            const float av = type == OG_TYPE_F16 ? og_fp16_to_f32(((const og_fp16 *)a)[l + k])
                                                 : ((const float *)a)[l + k];
            acc[k] = fmaf(wv, av, acc[k]);
        }
    float t8[8], t4[4];
    for (int i = 0; i < 8; i++)
        t8[i] = acc[i] + acc[i + 8];
    for (int i = 0; i < 4; i++)
        t4[i] = t8[i] + t8[i + 4];
    return (t4[0] + t4[2]) + (t4[1] + t4[3]);
}

/* gemm over rows [r0, r1) of a 37-row matrix and n_tokens activation rows
 * (padded, so act_stride and y_stride are not the packed sizes): each
 * output equals the same ISA's vec_dot bit for bit (F32/F16: the chain
 * order above), and the scalar table's gemm (or vec_dot) bit for bit,
 * and nothing outside the row range is written. */
/* Outputs a gemm must not write keep this NaN pattern. */
static const uint32_t sentinel = 0x7FC0DEADu;

static void fill_sentinel(float *y, size_t n)
{
    for (size_t j = 0; j < n; j++)
        memcpy(&y[j], &sentinel, 4);
}

static bool is_sentinel(float v) { return memcmp(&v, &sentinel, 4) == 0; }

static void test_gemm(og_type type, int64_t n, int32_t n_tokens, int64_t r0, int64_t r1)
{
    enum { ROWS = 37 };
    const og_type act_type = og_vec_dot_type(type);
    const size_t row_bytes = og_type_row_bytes(type, n);
    const size_t act_stride = og_type_row_bytes(act_type, n) + 20;
    const size_t y_stride = ROWS + 5;
    uint8_t *w = malloc(row_bytes * ROWS), *acts = calloc((size_t)n_tokens, act_stride);
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * y_stride * (size_t)n_tokens);
    float *wf = malloc(sizeof(float) * (size_t)n * ROWS), *af = malloc(sizeof(float) * (size_t)n * (size_t)n_tokens);

    for (int64_t r = 0; r < ROWS; r++) {
        for (int64_t i = 0; i < n; i++)
            x[i] = rnd_value();
        if (!og_quantize_row_ref(type, x, w + (size_t)r * row_bytes, n))
            random_k_blocks(type, w + (size_t)r * row_bytes, n);
        isas[0]->to_float[type](w + (size_t)r * row_bytes, wf + (size_t)r * (size_t)n, n);
    }
    for (int32_t t = 0; t < n_tokens; t++) {
        for (int64_t i = 0; i < n; i++)
            x[i] = rnd_value();
        isas[0]->from_float[act_type](x, acts + (size_t)t * act_stride, n);
        isas[0]->to_float[act_type](acts + (size_t)t * act_stride, af + (size_t)t * (size_t)n, n);
    }

    /* the same activations as groups of eight, for gemm_x8 */
    uint8_t *acts_x8 = NULL;
    if (act_type == OG_TYPE_Q8_K) {
        acts_x8 = malloc(og_q8_K_x8_bytes(n_tokens, n));
        og_q8_K_x8_from_rows(acts, act_stride, n_tokens, n, acts_x8);
    }

    for (int v = 0; v < 2 * n_isas; v++) {
        const og_kernels *k = isas[v / 2];
        const bool x8 = v % 2;
        og_gemm_fn gemm = x8 ? k->gemm_x8[type] : k->gemm[type];
        if (!gemm)
            continue;
        fill_sentinel(y, y_stride * (size_t)n_tokens);
        if (x8)
            gemm(n, w, row_bytes, r0, r1, acts_x8, og_q8_K_x8_bytes(8, n), n_tokens, y, y_stride);
        else
            gemm(n, w, row_bytes, r0, r1, acts, act_stride, n_tokens, y, y_stride);
        int bad_bits = 0, bad_ref = 0, bad_range = 0;
        for (int32_t t = 0; t < n_tokens; t++)
            for (int64_t r = 0; r < (int64_t)y_stride; r++) {
                const float got = y[(size_t)t * y_stride + (size_t)r];
                if (r < r0 || r >= r1) {
                    bad_range += !is_sentinel(got);
                    continue;
                }
                const uint8_t *wr = w + (size_t)r * row_bytes, *ar = acts + (size_t)t * act_stride;
                const bool chain = (type == OG_TYPE_F32 || type == OG_TYPE_F16) && n % 16 == 0;
                float want, ref;
                k->vec_dot[type](n, &want, wr, ar);
                isas[0]->vec_dot[type](n, &ref, wr, ar);
                if (chain)
                    want = ref = chain_dot(type, n, wr, ar);
                bad_bits += memcmp(&got, &want, sizeof(float)) != 0;
                bad_ref += memcmp(&got, &ref, sizeof(float)) != 0;
            }
        CHECK(!bad_bits && !bad_ref && !bad_range,
              "%s %s gemm%s n=%lld tokens=%d rows [%lld, %lld): %d differ from vec_dot, %d from scalar, %d written "
              "outside",
              k->isa, og_type_name(type), x8 ? "_x8" : "", (long long)n, n_tokens, (long long)r0, (long long)r1, bad_bits, bad_ref,
              bad_range);
    }
    free(w); free(acts); free(acts_x8); free(x); free(y); free(wf); free(af);
}

static void test_gemms(void)
{
    const int32_t token_counts[] = { 1, 2, 3, 5, 8, 15, 17, 30 };
    int tested = 0;
    for (size_t ty = 0; ty < N_WEIGHT_TYPES; ty++) {
        const og_type type = weight_types[ty];
        int any = 0;
        for (int i = 0; i < n_isas; i++)
            any |= isas[i]->gemm[type] != NULL;
        if (!any)
            continue;
        tested++;
        /* K rows of 13 super-blocks: gemm_x8 takes them in segments */
        const int64_t lengths[3] = { is_k_type(type) ? 256 : 576, is_k_type(type) ? 512 : 1536,
                                     is_k_type(type) ? 13 * 256 : 1536 };
        for (int l = 0; l < 3; l++)
            for (size_t c = 0; c < sizeof(token_counts) / sizeof(token_counts[0]); c++) {
                test_gemm(type, lengths[l], token_counts[c], 3, 37);
                test_gemm(type, lengths[l], token_counts[c], 0, 37);
                test_gemm(type, lengths[l], token_counts[c], 10, 11);
            }
        /* odd block counts: the partial last group */
        if (!is_k_type(type))
            for (int32_t nt = 1; nt <= 4; nt++)
                test_gemm(type, 160, nt, 1, 30);
        /* float rows not a multiple of 16: vec_dot */
        if (type == OG_TYPE_F32 || type == OG_TYPE_F16)
            for (int32_t nt = 1; nt <= 4; nt++)
                test_gemm(type, 100, nt, 0, 37);
    }
#if defined(__x86_64__)
    CHECK(og_kernels_scalar() == og_kernels_best() || tested > 0, "no gemm in the %s table", og_kernels_best()->isa);
#endif
    (void)tested;
}

/* The plain float product C = A.B (attention's): on every ISA, each
 * element equals the in-order fmaf chain bit for bit, over shapes that
 * exercise every register tile and the columns past the last multiple of
 * 8, with padded strides whose padding must stay unwritten. */
static void test_matmul_f32(int64_t m, int64_t n, int64_t k)
{
    const size_t lda = (size_t)k + 3, ldb = (size_t)n + 5, ldc = (size_t)n + 7;
    float *a = malloc(sizeof(float) * lda * (size_t)m), *b = malloc(sizeof(float) * ldb * (size_t)k);
    float *c = malloc(sizeof(float) * ldc * (size_t)m);
    for (size_t i = 0; i < lda * (size_t)m; i++)
        a[i] = rnd_value();
    for (size_t i = 0; i < ldb * (size_t)k; i++)
        b[i] = rnd_value();
    for (int v = 0; v < n_isas; v++) {
        fill_sentinel(c, ldc * (size_t)m);
        isas[v]->matmul_f32(m, n, k, a, lda, b, ldb, c, ldc);
        int bad = 0, bad_range = 0;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < (int64_t)ldc; j++) {
                const float got = c[(size_t)i * ldc + (size_t)j];
                if (j >= n) {
                    bad_range += !is_sentinel(got);
                    continue;
                }
                float want = 0.0f;
                for (int64_t l = 0; l < k; l++)
                    want = fmaf(a[(size_t)i * lda + (size_t)l], b[(size_t)l * ldb + (size_t)j], want);
                bad += memcmp(&got, &want, sizeof want) != 0;
            }
        CHECK(!bad && !bad_range, "%s matmul_f32 %lldx%lldx%lld: %d differ from the fmaf chain, %d written outside",
              isas[v]->isa, (long long)m, (long long)n, (long long)k, bad, bad_range);
    }
    free(a); free(b); free(c);
}

static void test_matmul_f32s(void)
{
    const int64_t ms[] = { 1, 2, 3, 4, 5, 7, 16 }, ns[] = { 1, 7, 8, 9, 16, 24, 31, 32, 33, 57, 220 },
                  ks[] = { 1, 32, 64, 220 };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
            for (size_t l = 0; l < sizeof ks / sizeof ks[0]; l++)
                test_matmul_f32(ms[i], ns[j], ks[l]);
    for (int v = 0; v < n_isas; v++)
        CHECK(isas[v]->matmul_f32 != NULL, "%s has no matmul_f32", isas[v]->isa);
}

/* The encoder's row kernels: on every ISA the scalar table's bits, for
 * lengths around the vector and chunk widths, inputs that send some lanes
 * down the scalar exp (large |x|), and GELU within 5e-7 + 1e-7 |x| of
 * the exact x (1 + erf(x / sqrt 2)) / 2 computed in double. */
static void test_rowops(void)
{
    const int64_t lengths[] = { 1, 5, 8, 15, 16, 17, 31, 33, 220, 1536 };
    float *in = malloc(sizeof(float) * 1536), *want = malloc(sizeof(float) * 1536), *got = malloc(sizeof(float) * 1536);
    for (int op = 0; op < 2; op++)
        for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++)
            for (int spread = 0; spread < 3; spread++) {
                const int64_t n = lengths[l];
                const float range = spread == 0 ? 3.0f : spread == 1 ? 12.0f : 120.0f;
                for (int64_t i = 0; i < n; i++)
                    in[i] = rnd_uniform() * range;
                memcpy(want, in, sizeof(float) * (size_t)n);
                (op ? isas[0]->gelu_erf_f32 : isas[0]->softmax_f32)(want, n);
                for (int v = 1; v < n_isas; v++) {
                    memcpy(got, in, sizeof(float) * (size_t)n);
                    (op ? isas[v]->gelu_erf_f32 : isas[v]->softmax_f32)(got, n);
                    CHECK(memcmp(got, want, sizeof(float) * (size_t)n) == 0, "%s %s n=%lld range %g differs from scalar",
                          isas[v]->isa, op ? "gelu_erf_f32" : "softmax_f32", (long long)n, range);
                }
                double worst = 0.0, total = 0.0;
                for (int64_t i = 0; i < n; i++) {
                    const double x = in[i];
                    const double exact = op ? 0.5 * x * (1.0 + erf(x * 0.70710678118654752)) : 0.0;
                    /* the formula's 1.5e-7 times |x| / 2, some roundings, half an ulp of large results */
                    const double off = fabs(want[i] - exact) / (5e-7 + 1e-7 * fabs(x));
                    worst = op && off > worst ? off : worst;
                    total += want[i];
                }
                if (op)
                    CHECK(worst <= 1.0, "gelu_erf_f32 off by %g of its bound over +-%g", worst, range);
                else
                    CHECK(fabs(total - 1.0) < 1e-5, "softmax_f32 n=%lld sums to %.9g", (long long)n, total);
            }
    free(in); free(want); free(got);
}

/* Packed weights: every ISA's gemm equals the scalar reference on the
 * plain rows (Q4_0: llama.cpp's block-sum order of its repacked Q4_0;
 * Q4_1, Q8_0: their plain vec_dot), for whole groups, Q4_0's last group of
 * 8 rows and every token tile size. */
static void test_packed(og_type plain, int64_t n, int64_t n_rows, int32_t n_tokens, int64_t g0, int64_t g1)
{
    const og_type packed_type = og_packed_type(plain), act_type = og_vec_dot_type(plain);
    const og_type packed_act_type = og_vec_dot_type(packed_type);
    const size_t row_bytes = og_type_row_bytes(plain, n);
    const size_t act_stride = og_type_row_bytes(act_type, n) + 6;
    /* (Q8_0U's float scale wants rows 4-byte aligned) */
    const size_t packed_act_stride = og_type_row_bytes(packed_act_type, n) + 8;
    const size_t y_stride = (size_t)n_rows + 3;
    const int64_t r0 = g0 * OG_PACK_ROWS, r1 = g1 * OG_PACK_ROWS < n_rows ? g1 * OG_PACK_ROWS : n_rows;
    uint8_t *w = malloc(row_bytes * (size_t)n_rows), *packed = malloc(row_bytes * (size_t)n_rows);
    uint8_t *acts = calloc((size_t)n_tokens, act_stride), *packed_acts = calloc((size_t)n_tokens, packed_act_stride);
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * y_stride * (size_t)n_tokens);
    for (int64_t r = 0; r < n_rows; r++) {
        for (int64_t i = 0; i < n; i++)
            x[i] = rnd_value();
        og_quantize_row_ref(plain, x, w + (size_t)r * row_bytes, n);
    }
    for (int32_t t = 0; t < n_tokens; t++) {
        for (int64_t i = 0; i < n; i++)
            x[i] = rnd_value();
        isas[0]->from_float[act_type](x, acts + (size_t)t * act_stride, n);
        isas[0]->from_float[packed_act_type](x, packed_acts + (size_t)t * packed_act_stride, n);
        for (int i = 1; i < n_isas && t == 0; i++) { /* the same bytes on every ISA */
            uint8_t *act_isa = malloc(packed_act_stride);
            isas[i]->from_float[packed_act_type](x, act_isa, n);
            CHECK(memcmp(act_isa, packed_acts, packed_act_stride - 8) == 0, "%s: packed %s activations differ",
                  isas[i]->isa, og_type_name(plain));
            free(act_isa);
        }
    }
    og_pack_rows(plain, w, n, 0, n_rows, packed);
    CHECK(og_packed_row_bytes(packed_type, n) == row_bytes, "packed row bytes of %s", og_type_name(plain));
    for (int i = 0; i < n_isas; i++) {
        const og_kernels *k = isas[i];
        fill_sentinel(y, y_stride * (size_t)n_tokens);
        k->gemm[packed_type](n, packed, 0, r0, r1, packed_acts, packed_act_stride, n_tokens, y, y_stride);
        int bad = 0, bad_range = 0;
        for (int32_t t = 0; t < n_tokens; t++)
            for (int64_t r = 0; r < (int64_t)y_stride; r++) {
                const float got = y[(size_t)t * y_stride + (size_t)r];
                if (r < r0 || r >= r1) {
                    bad_range += !is_sentinel(got);
                    continue;
                }
                const uint8_t *w_row = w + (size_t)r * row_bytes, *act = acts + (size_t)t * act_stride;
                float want;
                if (plain == OG_TYPE_Q4_0)
                    og_q4_0_dot_blocksum(n, &want, w_row, act);
                else
                    og_kernels_scalar()->vec_dot[plain](n, &want, w_row, act);
                bad += memcmp(&got, &want, 4) != 0;
            }
        CHECK(!bad && !bad_range, "%s packed %s n=%lld rows %lld tokens=%d [%lld, %lld): %d differ, %d outside",
              k->isa, og_type_name(plain), (long long)n, (long long)n_rows, n_tokens, (long long)r0, (long long)r1,
              bad, bad_range);
    }
    free(w); free(packed); free(acts); free(packed_acts); free(x); free(y);
}

static void test_packeds(void)
{
    const int32_t token_counts[] = { 1, 2, 3, 7, 8, 15, 21 };
    const og_type plains[] = { OG_TYPE_Q4_0, OG_TYPE_Q4_1, OG_TYPE_Q8_0 };
    for (size_t p = 0; p < sizeof plains / sizeof plains[0]; p++)
        for (size_t c = 0; c < sizeof(token_counts) / sizeof(token_counts[0]); c++) {
            test_packed(plains[p], 576, 48, token_counts[c], 0, 3);
            test_packed(plains[p], 160, 48, token_counts[c], 1, 2);
            test_packed(plains[p], 160, 48, token_counts[c], 2, 3);
            if (plains[p] == OG_TYPE_Q4_0)
                test_packed(plains[p], 1536, 40, token_counts[c], 0, 3); /* last group of 8 */
        }
    /* enough tokens for several chunks of activations */
    test_packed(OG_TYPE_Q4_0, 4096, 32, 40, 0, 2);
    test_packed(OG_TYPE_Q4_1, 2048, 32, 70, 0, 2);
    test_packed(OG_TYPE_Q8_0, 2048, 32, 70, 0, 2);
    /* one token with rows longer than the mat-vecs prepare activations for */
    test_packed(OG_TYPE_Q4_1, 16416, 32, 1, 0, 2);
    test_packed(OG_TYPE_Q8_0, 16416, 32, 1, 0, 2);
    /* Q4_0 as llama.cpp: rows in multiples of 8; the others in whole groups */
    CHECK(og_pack_applies(OG_TYPE_Q4_0, 48, 576) && !og_pack_applies(OG_TYPE_Q4_0, 44, 576), "Q4_0 packing rule");
    CHECK(og_pack_applies(OG_TYPE_Q8_0, 48, 576) && !og_pack_applies(OG_TYPE_Q8_0, 40, 576) &&
              !og_pack_applies(OG_TYPE_Q5_0, 48, 576) && og_packed_type(OG_TYPE_F16) == OG_TYPE_COUNT,
          "packing rules");
}

/* All-zero activations must give zero scales and codes, not NaN. */
static void test_zero_activations(void)
{
    const og_type act_types[] = { OG_TYPE_Q8_0, OG_TYPE_Q8_1, OG_TYPE_Q8_K, OG_TYPE_Q8_0U };
    float zeros[OG_QK_K] = { 0 };
    for (int i = 0; i < n_isas; i++)
        for (size_t t = 0; t < 4; t++) {
            const size_t bytes = og_type_row_bytes(act_types[t], OG_QK_K);
            uint8_t *buf = malloc(bytes);
            memset(buf, 0x55, bytes);
            isas[i]->from_float[act_types[t]](zeros, buf, OG_QK_K);
            int wrong = 0; /* Q8_0U keeps a zero code as 128 */
            for (size_t k = 0; k < bytes; k++)
                wrong |= buf[k] ^ (act_types[t] == OG_TYPE_Q8_0U && k % 36 >= 4 ? 0x80 : 0);
            CHECK(!wrong, "%s %s of zeros is not zero", isas[i]->isa, og_type_name(act_types[t]));
            free(buf);
        }
}

static void test_dispatch(void)
{
    const og_kernels *best = og_kernels_best();
    CHECK(best != NULL && best->isa != NULL, "no best kernels");
    CHECK(og_kernels_for("scalar") == og_kernels_scalar(), "scalar table lookup");
    CHECK(og_kernels_for("nonsense") == NULL, "unknown ISA name accepted");
    CHECK(og_vec_dot_type(OG_TYPE_Q4_0) == OG_TYPE_Q8_0 && og_vec_dot_type(OG_TYPE_Q5_0) == OG_TYPE_Q8_0 &&
              og_vec_dot_type(OG_TYPE_Q8_0) == OG_TYPE_Q8_0,
          "Q8_0 vec_dot types");
    CHECK(og_vec_dot_type(OG_TYPE_Q4_1) == OG_TYPE_Q8_1 && og_vec_dot_type(OG_TYPE_Q5_1) == OG_TYPE_Q8_1,
          "Q8_1 vec_dot types");
    CHECK(og_vec_dot_type(OG_TYPE_Q8_0_X16) == OG_TYPE_Q8_0U && og_vec_dot_type(OG_TYPE_Q4_0_X16) == OG_TYPE_Q8_0 &&
              og_vec_dot_type(OG_TYPE_Q4_1_X16) == OG_TYPE_Q8_1 && og_type_row_bytes(OG_TYPE_Q8_0U, 64) == 72,
          "packed vec_dot types");
    for (og_type t = OG_TYPE_Q2_K; t <= OG_TYPE_Q6_K; t++)
        CHECK(og_vec_dot_type(t) == OG_TYPE_Q8_K, "%s vec_dot type", og_type_name(t));
    CHECK(og_vec_dot_type(OG_TYPE_F16) == OG_TYPE_F16 && og_vec_dot_type(OG_TYPE_BF16) == OG_TYPE_BF16 &&
              og_vec_dot_type(OG_TYPE_F32) == OG_TYPE_F32,
          "float vec_dot types");
    for (int i = 0; i < n_isas; i++)
        for (size_t t = 0; t < N_WEIGHT_TYPES; t++) {
            const og_type wt = weight_types[t];
            CHECK(isas[i]->vec_dot[wt] && isas[i]->to_float[wt] && isas[i]->from_float[og_vec_dot_type(wt)],
                  "%s lacks kernels for %s", isas[i]->isa, og_type_name(wt));
        }
    float x[OG_QK] = { 0 };
    uint8_t buf[64];
    CHECK(!og_quantize_row_ref(OG_TYPE_Q4_K, x, buf, OG_QK), "Q4_K row of 32 accepted");
    CHECK(!og_quantize_row_ref(OG_TYPE_Q4_0, x, buf, 31), "Q4_0 row of 31 accepted");
}

int main(void)
{
    for (int i = 0; i < 4; i++)
        if ((isas[n_isas] = og_kernels_for(isa_names[i])))
            n_isas++;
    fprintf(stderr, "ISAs:");
    for (int i = 0; i < n_isas; i++)
        fprintf(stderr, " %s", isas[i]->isa);
    fprintf(stderr, " (best: %s)\n", og_kernels_best()->isa);

    test_dispatch();
    test_known_answers();
    test_zero_activations();
    for (size_t t = 0; t < N_WEIGHT_TYPES; t++)
        for (size_t l = 0; l < sizeof(row_lengths) / sizeof(row_lengths[0]); l++)
            if (og_type_row_bytes(weight_types[t], row_lengths[l]))
                test_type(weight_types[t], row_lengths[l]);
    test_gemms();
    test_matmul_f32s();
    test_rowops();
    test_packeds();
    return og_test_finish("test_kernels");
}
