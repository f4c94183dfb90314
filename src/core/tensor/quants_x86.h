/*
 * quants_x86.h - private: the x86 kernels on 256-bit vectors, written once
 * and compiled twice, by quants_avx2.c (AVX2+FMA+F16C) and by
 * quants_avx512.c (adds AVX-512 VNNI, which turns the int8 dot product
 * into a single vpdpbusd). Everything here is static, so each including
 * file gets its own copy built for its ISA; x86_install_common() puts
 * them in a table. Fast paths: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 dot and
 * matrix products (tiles_x86.h), all K dot products, F32/F16 dots and
 * matrix products, BF16 dots, Q8_0/Q8_1/F16 from_float, F16 to_float.
 * All but BF16 return the scalar reference's results bit for bit: they
 * follow its (llama.cpp's) summation order.
 *
 * Rounding and byte order of the activation quantizers follow ggml's x86
 * code exactly so that from_float gives the scalar reference's bytes.
 */
#ifndef OG_TENSOR_QUANTS_X86_H
#define OG_TENSOR_QUANTS_X86_H

#include <immintrin.h>

#include "base/numerics.h"
#include "tensor/blocks.h"
#include "tensor/kernels_impl.h"

/* ---- primitives ---- */

static inline float x86_hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int x86_hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* Sums of 4 adjacent u8*s8 products per int32 lane. Without VNNI the
 * int16 stage saturates above 32767 per pair, which the formats here never
 * reach (at most 2*63*127 for Q6_K codes). */
static inline __m256i x86_dot_u8s8(__m256i u, __m256i s)
{
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

/* 16 packed bytes to 32 codes 0..15: low nibbles, then high nibbles. */
static inline __m256i x86_unpack_nibbles(const uint8_t *qs)
{
    const __m128i packed = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/* 32 bits to 32 bytes, 0xFF where the bit is set. */
static inline __m256i x86_bits_to_bytes(const uint8_t bits4[4])
{
    const __m256i byte_of_bit = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit_in_byte = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)og_q5_high_bits(bits4)), byte_of_bit);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit_in_byte), bit_in_byte);
}

/* ---- the 32 codes of one weight block as int8 (signed formats) or
 * uint8 (formats with a min) ---- */

static inline __m256i x86_codes_q4_0(const og_block_q4_0 *b)
{
    return _mm256_sub_epi8(x86_unpack_nibbles(b->qs), _mm256_set1_epi8(8));
}

static inline __m256i x86_codes_q4_1(const og_block_q4_1 *b) { return x86_unpack_nibbles(b->qs); }

static inline __m256i x86_codes_q5_0(const og_block_q5_0 *b)
{
    /* A clear fifth bit means code - 16, i.e. the nibble with 0xF0 set. */
    const __m256i minus16 = _mm256_andnot_si256(x86_bits_to_bytes(b->qh), _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(x86_unpack_nibbles(b->qs), minus16);
}

static inline __m256i x86_codes_q5_1(const og_block_q5_1 *b)
{
    const __m256i plus16 = _mm256_and_si256(x86_bits_to_bytes(b->qh), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(x86_unpack_nibbles(b->qs), plus16);
}

static inline __m256i x86_codes_q8_0(const og_block_q8_0 *b) { return _mm256_loadu_si256((const __m256i *)b->qs); }


/* ---- 32-wide dot products and matrix products ---- */

#include "tensor/tiles_x86.h"
#include "tensor/packed_x86.h"
#include "tensor/packed_lanes_x86.h"

/* ---- K formats ---- */

#include "tensor/quants_k_x86.h"

/* ---- floats ---- */

static inline __m256 x86_load_f16(const og_fp16 *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

static inline __m256 x86_load_bf16(const og_bf16 *p)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

/* BF16: four independent accumulators hide the FMA latency; the tail
 * (float rows may have any length) is summed in double like the
 * reference. Close to the reference, not bit for bit. */
#define X86_DOT_FLOAT(name, elem, load, scalar_of)                                                \
    static void x86_vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act)   \
    {                                                                                           \
        const elem *w = w_row, *a = act;                                                        \
        __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),        \
                          _mm256_setzero_ps() };                                                \
        int64_t i = 0;                                                                          \
        for (; i + 32 <= n; i += 32)                                                            \
            for (int k = 0; k < 4; k++)                                                         \
                acc[k] = _mm256_fmadd_ps(load(w + i + 8 * k), load(a + i + 8 * k), acc[k]);     \
        double tail = 0;                                                                        \
        for (; i < n; i++)                                                                      \
            tail += (double)scalar_of(w[i]) * (double)scalar_of(a[i]);                          \
        const __m256 all = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])); \
        *out = (float)((double)x86_hsum_ps(all) + tail);                                        \
    }

X86_DOT_FLOAT(bf16, og_bf16, x86_load_bf16, og_bf16_to_f32)

/* F32 and F16 in llama.cpp's AVX-512 order (see quants_ref.c), on 16-lane
 * vectors: one zmm, or two ymm with AVX2. */
#if X86_WIDE
typedef __m512 x86_v16;
static inline x86_v16 x86_v16_zero(void) { return _mm512_setzero_ps(); }
static inline x86_v16 x86_v16_f32(const float *p) { return _mm512_loadu_ps(p); }
static inline x86_v16 x86_v16_f16(const og_fp16 *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline x86_v16 x86_v16_fmadd(x86_v16 a, x86_v16 b, x86_v16 c) { return _mm512_fmadd_ps(a, b, c); }
static inline x86_v16 x86_v16_add(x86_v16 a, x86_v16 b) { return _mm512_add_ps(a, b); }
/* GCC's reduction adds in og_reduce16's order (as ggml built by GCC). */
static inline float x86_v16_reduce(x86_v16 v) { return _mm512_reduce_add_ps(v); }
#else
typedef struct { __m256 lo, hi; } x86_v16;
static inline x86_v16 x86_v16_zero(void) { return (x86_v16){ _mm256_setzero_ps(), _mm256_setzero_ps() }; }
static inline x86_v16 x86_v16_f32(const float *p) { return (x86_v16){ _mm256_loadu_ps(p), _mm256_loadu_ps(p + 8) }; }
static inline x86_v16 x86_v16_f16(const og_fp16 *p) { return (x86_v16){ x86_load_f16(p), x86_load_f16(p + 8) }; }
static inline x86_v16 x86_v16_fmadd(x86_v16 a, x86_v16 b, x86_v16 c)
{
    return (x86_v16){ _mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi) };
}
static inline x86_v16 x86_v16_add(x86_v16 a, x86_v16 b)
{
    return (x86_v16){ _mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi) };
}
/* og_reduce16's tree: halves of 8 added, then x86_hsum_ps's 4, 2, 1. */
static inline float x86_v16_reduce(x86_v16 v) { return x86_hsum_ps(_mm256_add_ps(v.lo, v.hi)); }
#endif

/* The first np (a multiple of 64) elements: 4 accumulators, folded. */
#define X86_STEPS64(name, elem, load)                                                               \
    static inline float x86_steps64_##name(const elem *w, const elem *a, int64_t np)                \
    {                                                                                               \
        x86_v16 sum[4] = { x86_v16_zero(), x86_v16_zero(), x86_v16_zero(), x86_v16_zero() };        \
        for (int64_t i = 0; i < np; i += 64)                                                        \
            for (int j = 0; j < 4; j++)                                                             \
                sum[j] = x86_v16_fmadd(load(w + i + 16 * j), load(a + i + 16 * j), sum[j]);         \
        sum[0] = x86_v16_add(sum[0], sum[2]);                                                       \
        sum[1] = x86_v16_add(sum[1], sum[3]);                                                       \
        return x86_v16_reduce(x86_v16_add(sum[0], sum[1]));                                         \
    }

X86_STEPS64(f32, float, x86_v16_f32)
X86_STEPS64(f16, og_fp16, x86_v16_f16)

static void x86_vec_dot_f32(int64_t n, float *out, const void *w_row, const void *act)
{
    const float *w = w_row, *a = act;
    const int64_t np = n & ~(int64_t)63, nu = n & ~(int64_t)7;
    float sum = x86_steps64_f32(w, a, np);
    /* the rest as in quants_ref.c: rounded products, then fused ones */
    for (int64_t i = np; i < nu; i++)
        sum += w[i] * a[i];
    for (int64_t i = nu; i < n; i++)
        sum = fmaf(w[i], a[i], sum);
    *out = sum;
}

static void x86_vec_dot_f16(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_fp16 *w = w_row, *a = act;
    const int64_t np = n & ~(int64_t)63;
    double sum = (double)x86_steps64_f16(w, a, np);
    for (int64_t i = np; i < n; i++)
        sum += (double)(og_fp16_to_f32(w[i]) * og_fp16_to_f32(a[i]));
    *out = (float)sum;
}

/* Batched F32/F16 in tinyBLAS order: one 16-lane chain per output, in
 * tiles of X86_FT_ROWS rows x X86_FT_TOKENS tokens that share loads (12
 * accumulators: zmm, or with AVX2 ymm halves, ftile_halves_x86.h); rows
 * not a multiple of 16 long take vec_dot, as in the reference. The tiles
 * go over blocks of rows whose weights stay
 * in L2 (X86_FT_BLOCK bytes), each block taking every token in turn, so a
 * long batch does not stream a thread's whole share of the weights from
 * L3 or memory once for every three tokens. Tiling changes no output: each is its own chain. */
enum { X86_FT_ROWS = 4, X86_FT_TOKENS = 3, X86_FT_BLOCK = 96 << 10 };

#if X86_WIDE
#define X86_FTILE_FULL(name, n, w, row_bytes, a, act_stride, y, y_stride) \
    x86_ftile_##name(n, w, row_bytes, X86_FT_ROWS, a, act_stride, X86_FT_TOKENS, y, y_stride)
#else
#include "tensor/ftile_halves_x86.h"
X86_FTILE_HALVES(f32, float, x86_load8_f32)
X86_FTILE_HALVES(f16, og_fp16, x86_load_f16)
#define X86_FTILE_FULL(name, n, w, row_bytes, a, act_stride, y, y_stride) \
    x86_ftile43_##name(n, w, row_bytes, a, act_stride, y, y_stride)
#endif

#define X86_GEMM_FLOAT(name, elem, load)                                                                       \
    X86_INLINE void x86_ftile_##name(int64_t n, const uint8_t *w, size_t row_bytes, int R, const uint8_t *a,   \
                                     size_t act_stride, int T, float *y, size_t y_stride)                      \
    {                                                                                                          \
        x86_v16 acc[X86_FT_ROWS][X86_FT_TOKENS];                                                               \
        for (int r = 0; r < R; r++)                                                                            \
            for (int t = 0; t < T; t++)                                                                        \
                acc[r][t] = x86_v16_zero();                                                                    \
        for (int64_t l = 0; l < n; l += 16) {                                                                  \
            x86_v16 x[X86_FT_TOKENS];                                                                          \
            for (int t = 0; t < T; t++)                                                                        \
                x[t] = load((const elem *)(a + (size_t)t * act_stride) + l);                                   \
            for (int r = 0; r < R; r++) {                                                                      \
                const x86_v16 wv = load((const elem *)(w + (size_t)r * row_bytes) + l);                        \
                for (int t = 0; t < T; t++)                                                                    \
                    acc[r][t] = x86_v16_fmadd(wv, x[t], acc[r][t]);                                            \
            }                                                                                                  \
        }                                                                                                      \
        for (int r = 0; r < R; r++)                                                                            \
            for (int t = 0; t < T; t++)                                                                        \
                y[(size_t)t * y_stride + (size_t)r] = x86_v16_reduce(acc[r][t]);                               \
    }                                                                                                          \
                                                                                                               \
    static void x86_gemm_##name(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,            \
                                const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride) \
    {                                                                                                          \
        const uint8_t *wb = w, *ab = acts;                                                                     \
        if (n % 16) {                                                                                          \
            for (int32_t t = 0; t < n_tokens; t++)                                                             \
                for (int64_t r = r0; r < r1; r++)                                                              \
                    x86_vec_dot_##name(n, y + (size_t)t * y_stride + r, wb + (size_t)r * row_bytes,            \
                                       ab + (size_t)t * act_stride);                                           \
            return;                                                                                            \
        }                                                                                                      \
        const int64_t fit = (int64_t)(X86_FT_BLOCK / ((size_t)n * sizeof(elem)));                              \
        const int64_t row_block = fit > X86_FT_ROWS ? fit - fit % X86_FT_ROWS : X86_FT_ROWS;                   \
        for (int64_t rb = r0; rb < r1; rb += row_block) {                                                      \
            const int64_t re = rb + row_block < r1 ? rb + row_block : r1;                                      \
            for (int32_t t = 0; t < n_tokens; t += X86_FT_TOKENS) {                                            \
                const int T = n_tokens - t < X86_FT_TOKENS ? n_tokens - t : X86_FT_TOKENS;                     \
                const uint8_t *a = ab + (size_t)t * act_stride;                                                \
                float *yt = y + (size_t)t * y_stride;                                                          \
                int64_t r = rb;                                                                                \
                if (T == X86_FT_TOKENS)                                                                        \
                    for (; r + X86_FT_ROWS <= re; r += X86_FT_ROWS)                                            \
                        X86_FTILE_FULL(name, n, wb + (size_t)r * row_bytes, row_bytes, a, act_stride, yt + r,  \
                                       y_stride);                                                              \
                for (; r < re; r++)                                                                            \
                    for (int k = 0; k < T; k++)                                                                \
                        x86_ftile_##name(n, wb + (size_t)r * row_bytes, row_bytes, 1, a + (size_t)k * act_stride, \
                                         act_stride, 1, yt + (size_t)k * y_stride + r, y_stride);              \
            }                                                                                                  \
        }                                                                                                      \
    }

X86_GEMM_FLOAT(f32, float, x86_v16_f32)
X86_GEMM_FLOAT(f16, og_fp16, x86_v16_f16)

static void x86_f16_to_float(const void *src, float *dst, int64_t n)
{
    const og_fp16 *h = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, x86_load_f16(h + i));
    for (; i < n; i++)
        dst[i] = og_fp16_to_f32(h[i]);
}

/* F16C rounds to nearest even like og_f32_to_fp16, so bytes match. */
static void x86_f16_from_float(const float *x, void *dst, int64_t n)
{
    og_fp16 *h = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        h[i] = og_f32_to_fp16(x[i]);
}

/* ---- activation quantizers ---- */

/* Quantizes 32 floats with 127/amax and round-to-nearest-even into
 * qs; returns d = amax/127 and, through *sum, the sum of the codes. */
static inline float x86_quantize_block_q8(const float *x, int8_t *qs, int *sum)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float max_abs = _mm_cvtss_f32(m);
    const __m256 id = _mm256_set1_ps(max_abs != 0.0f ? 127.0f / max_abs : 0.0f);
    __m256i q[4];
    for (int k = 0; k < 4; k++)
        q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (sum)
        *sum = x86_hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    /* The packs work per 128-bit lane, leaving 4-byte groups in the order
     * 0 2 4 6 1 3 5 7; the permute restores element order. */
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256((__m256i *)qs, _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    return max_abs / 127.0f;
}

static void x86_q8_0_from_float(const float *x, void *dst, int64_t n)
{
    og_block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / OG_QK; i++)
        b[i].d = og_f32_to_fp16(x86_quantize_block_q8(x + OG_QK * i, b[i].qs, NULL));
}

static void x86_q8_0u_from_float(const float *x, void *dst, int64_t n)
{
    x86_q8_0_from_float(x, dst, n);
    og_q8_0u_widen(dst, n / OG_QK);
}

static void x86_q8_1_from_float(const float *x, void *dst, int64_t n)
{
    og_block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / OG_QK; i++) {
        int sum;
        const float d = x86_quantize_block_q8(x + OG_QK * i, b[i].qs, &sum);
        b[i].d = og_f32_to_fp16(d);
        b[i].s = og_f32_to_fp16(d * (float)sum);
    }
}

static void x86_install_common(og_kernels *k)
{
    k->vec_dot[OG_TYPE_Q4_0] = x86_vec_dot_q4_0;
    k->vec_dot[OG_TYPE_Q4_1] = x86_vec_dot_q4_1;
    k->vec_dot[OG_TYPE_Q5_0] = x86_vec_dot_q5_0;
    k->vec_dot[OG_TYPE_Q5_1] = x86_vec_dot_q5_1;
    k->vec_dot[OG_TYPE_Q8_0] = x86_vec_dot_q8_0;
    k->gemm[OG_TYPE_Q4_0] = x86_gemm_q4_0;
    k->gemm[OG_TYPE_Q4_1] = x86_gemm_q4_1;
    k->gemm[OG_TYPE_Q5_0] = x86_gemm_q5_0;
    k->gemm[OG_TYPE_Q5_1] = x86_gemm_q5_1;
    k->gemm[OG_TYPE_Q8_0] = x86_gemm_q8_0;
    k->gemm[OG_TYPE_Q4_0_X16] = x86_packed_gemm_q4_0;
    k->gemm[OG_TYPE_Q4_1_X16] = x86_packed_gemm_q4_1;
    k->gemm[OG_TYPE_Q8_0_X16] = x86_packed_gemm_q8_0;
    /* measured (bench/kernels_bench.c): with AVX2 packed Q8_0 mat-vecs
     * stream at half the plain rate, packed Q4_1 faster */
    k->repack_faster[OG_TYPE_Q4_1] = true;
    k->repack_faster[OG_TYPE_Q8_0] = X86_WIDE;
    k->vec_dot[OG_TYPE_Q2_K] = x86_vec_dot_q2_K;
    k->vec_dot[OG_TYPE_Q3_K] = x86_vec_dot_q3_K;
    k->vec_dot[OG_TYPE_Q4_K] = x86_vec_dot_q4_K;
    k->vec_dot[OG_TYPE_Q5_K] = x86_vec_dot_q5_K;
    k->vec_dot[OG_TYPE_Q6_K] = x86_vec_dot_q6_K;
    k->gemm[OG_TYPE_Q2_K] = x86_gemm_q2_K;
    k->gemm[OG_TYPE_Q3_K] = x86_gemm_q3_K;
    k->gemm[OG_TYPE_Q4_K] = x86_gemm_q4_K;
    k->gemm[OG_TYPE_Q5_K] = x86_gemm_q5_K;
    k->gemm[OG_TYPE_Q6_K] = x86_gemm_q6_K;
    k->gemm_x8[OG_TYPE_Q2_K] = x86_gemm_x8_q2_K;
    k->gemm_x8[OG_TYPE_Q3_K] = x86_gemm_x8_q3_K;
    k->gemm_x8[OG_TYPE_Q4_K] = x86_gemm_x8_q4_K;
    k->gemm_x8[OG_TYPE_Q5_K] = x86_gemm_x8_q5_K;
    k->gemm_x8[OG_TYPE_Q6_K] = x86_gemm_x8_q6_K;
    k->vec_dot[OG_TYPE_F32] = x86_vec_dot_f32;
    k->vec_dot[OG_TYPE_F16] = x86_vec_dot_f16;
    k->gemm[OG_TYPE_F32] = x86_gemm_f32;
    k->gemm[OG_TYPE_F16] = x86_gemm_f16;
    k->vec_dot[OG_TYPE_BF16] = x86_vec_dot_bf16;
    k->from_float[OG_TYPE_Q8_0] = x86_q8_0_from_float;
    k->from_float[OG_TYPE_Q8_0U] = x86_q8_0u_from_float;
    k->from_float[OG_TYPE_Q8_1] = x86_q8_1_from_float;
    k->from_float[OG_TYPE_F16] = x86_f16_from_float;
    k->to_float[OG_TYPE_F16] = x86_f16_to_float;
}

#endif
