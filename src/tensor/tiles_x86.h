/*
 * tiles_x86.h - private, included by quants_x86.h: the 32-wide formats
 * (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) as tiles of up to X86_TILE_ROWS weight
 * rows times X86_TILE_TOKENS activation rows. Each weight block is decoded
 * once per tile and each activation block loaded once per tile, so a
 * matrix-vector product shares the activation loads across rows and a
 * matrix-matrix product also shares the decoding across tokens.
 *
 * vec_dot is the 1x1 tile and gemm uses bigger ones, but every output
 * (row, token) goes through the same operations in the same order
 * whatever the tile shape: its own accumulator, blocks in groups of 4
 * whose fp16 scales are converted together by F16C, the same lane
 * layout, and the same final reduction. That is what makes gemm equal
 * vec_dot bit for bit. (The products below are explicit intrinsics and no
 * product feeds an add, so -ffp-contract cannot fuse differently in
 * different instantiations.)
 *
 * Built twice like the rest of quants_x86.h: with AVX-512 a vector holds
 * two blocks (16 int32 lanes), with AVX2 one block.
 */
#ifndef OG_TENSOR_TILES_X86_H
#define OG_TENSOR_TILES_X86_H

#include <stddef.h>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#define X86_WIDE 1
typedef __m512i x86_qv;
typedef __m512 x86_fv;
/* 12 zmm accumulators leave room for the activations of 3 tokens. */
enum { X86_PER_STEP = 2, X86_TILE_ROWS = 4, X86_TILE_TOKENS = 3, X86_MV_ROWS = 8, X86_MV_ROWS_LONG = 8 };
#define x86_fzero() _mm512_setzero_ps()
#define x86_fmul(a, b) _mm512_mul_ps(a, b)
#define x86_fmadd(a, b, c) _mm512_fmadd_ps(a, b, c)
#define x86_cvt(v) _mm512_cvtepi32_ps(v)
#else
#define X86_WIDE 0
typedef __m256i x86_qv;
typedef __m256 x86_fv;
/* Only 16 ymm registers: 4 accumulators. */
enum { X86_PER_STEP = 1, X86_TILE_ROWS = 2, X86_TILE_TOKENS = 2, X86_MV_ROWS = 8, X86_MV_ROWS_LONG = 4 };
#define x86_fzero() _mm256_setzero_ps()
#define x86_fmul(a, b) _mm256_mul_ps(a, b)
#define x86_fmadd(a, b, c) _mm256_fmadd_ps(a, b, c)
#define x86_cvt(v) _mm256_cvtepi32_ps(v)
#endif

/* A mat-vec tile has X86_MV_ROWS rows and one token: more rows share each
 * activation load and amortize the reductions, and short rows (576 Q4_1
 * columns are 360 bytes) streamed from DRAM ran at half speed in tiles of
 * 4 here. With AVX2, whose 16 registers make 8 rows spill, rows longer
 * than X86_SHORT_ROW bytes go 4 at a time (X86_MV_ROWS_LONG), measured
 * faster for them. With AVX-512, 8 was fastest throughout (16 spills). */
enum { X86_SHORT_ROW = 512 };
#define X86_MAX_ROWS (X86_MV_ROWS > X86_TILE_ROWS ? X86_MV_ROWS : X86_TILE_ROWS)

/* Blocks whose scales are converted by one vcvtph2ps. */
enum { X86_GROUP = 4, X86_STEPS = X86_GROUP / X86_PER_STEP };
/* Tokens per pass over the weights in gemm: their activations (up to
 * ~110 KB for 1536 columns) stay in L2 while the weight rows stream. */
enum { X86_TOKEN_CHUNK = 64 };

#define X86_INLINE static inline __attribute__((always_inline))

/* ---- scales ---- */

static inline int x86_load32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline int x86_load16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* The fp16 pairs (d, m) or (d, s) that open up to 4 blocks, stride bytes
 * apart, as [d0 m0 d1 m1 d2 m2 d3 m3]; absent blocks give zeros. */
X86_INLINE __m256 x86_scale_pairs(const uint8_t *p, size_t stride, int count)
{
    __m128i v = _mm_cvtsi32_si128(x86_load32(p));
    if (count > 1)
        v = _mm_insert_epi32(v, x86_load32(p + stride), 1);
    if (count > 2)
        v = _mm_insert_epi32(v, x86_load32(p + 2 * stride), 2);
    if (count > 3)
        v = _mm_insert_epi32(v, x86_load32(p + 3 * stride), 3);
    return _mm256_cvtph_ps(v);
}

/* The same layout for formats with only d: [d0 0 d1 0 d2 0 d3 0]. */
X86_INLINE __m256 x86_scale_singles(const uint8_t *p, size_t stride, int count)
{
    __m128i v = _mm_cvtsi32_si128(x86_load16(p));
    if (count > 1)
        v = _mm_insert_epi16(v, x86_load16(p + stride), 2);
    if (count > 2)
        v = _mm_insert_epi16(v, x86_load16(p + 2 * stride), 4);
    if (count > 3)
        v = _mm_insert_epi16(v, x86_load16(p + 3 * stride), 6);
    return _mm256_cvtph_ps(v);
}

/* The d of each block of step k spread over that block's lanes. */
X86_INLINE x86_fv x86_step_scale(__m256 sc, int k)
{
#if X86_WIDE
    const __m512i idx = _mm512_inserti64x4(_mm512_set1_epi32(4 * k), _mm256_set1_epi32(4 * k + 2), 1);
    return _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(sc));
#else
    return _mm256_permutevar8x32_ps(sc, _mm256_set1_epi32(2 * k));
#endif
}

/* The min terms m * s of formats with a min, as one scalar chain per
 * output kept in lane 1: mins += (m0 s0 + m1 s1) per pair of blocks, no
 * product fused. That is what the earlier one-row AVX-512 kernel computed
 * (built with -ffp-contract=off, as the project is), so on that path its
 * results, and the model's perplexity, are kept bit for bit for rows of an
 * even number of blocks (it sent an odd last block through a separate
 * 256-bit tail, which differs in rounding only). */
X86_INLINE __m128 x86_mins_step(__m128 mins, __m256 ws, __m256 as, int count)
{
    const __m256 prod = _mm256_mul_ps(ws, as);
    /* Lane 1: m0 s0 + m1 s1; lane 5: m2 s2 + m3 s3. Both addends are
     * shuffles, so no compiler setting can fuse the products in. */
    const __m256 pairs = _mm256_add_ps(_mm256_permute_ps(prod, _MM_SHUFFLE(1, 1, 1, 1)),
                                       _mm256_permute_ps(prod, _MM_SHUFFLE(3, 3, 3, 3)));
    mins = _mm_add_ps(mins, _mm256_castps256_ps128(pairs));
    if (count > 2)
        mins = _mm_add_ps(mins, _mm256_extractf128_ps(pairs, 1));
    return mins;
}

static inline float x86_lane1(__m128 v) { return _mm_cvtss_f32(_mm_movehdup_ps(v)); }

X86_INLINE float x86_reduce(x86_fv v)
{
#if X86_WIDE
    return _mm512_reduce_add_ps(v);
#else
    return x86_hsum_ps(v);
#endif
}

/* ---- codes ---- */

/* 32 activation codes per block, stride bytes apart; a block past count
 * reads as zeros, which cancels whatever its weight codes are. */
X86_INLINE x86_qv x86_act_step(const uint8_t *qs, size_t stride, int k, int count)
{
#if X86_WIDE
    const __m256i lo = _mm256_loadu_si256((const __m256i *)(qs + 2 * k * stride));
    const __m256i hi = 2 * k + 1 < count ? _mm256_loadu_si256((const __m256i *)(qs + (2 * k + 1) * stride))
                                         : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
#else
    (void)count;
    return _mm256_loadu_si256((const __m256i *)(qs + k * stride));
#endif
}

#if X86_WIDE
/* Nibbles of two blocks at once: each 16-byte qs twice, the second copy
 * shifted down by 4, gives low then high nibbles per block. */
X86_INLINE __m512i x86_nibbles_pair(const uint8_t *qs0, const uint8_t *qs1)
{
    const __m256i a = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs0));
    const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs1));
    const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
    return _mm512_and_si512(_mm512_mask_srli_epi16(both, 0xFF00FF00u, both, 4), _mm512_set1_epi8(0x0F));
}
#endif

/* Weight codes of step k; past count the last block is read again (its
 * activations are zero), which keeps every load inside the row. */
#if X86_WIDE
#define X86_WEIGHT_STEP(name, wblock, pair_expr)                                                              \
    X86_INLINE __m512i x86_wstep_##name(const wblock *b, int k, int count)                                    \
    {                                                                                                         \
        const wblock *b0 = b + 2 * k, *b1 = 2 * k + 1 < count ? b0 + 1 : b0;                                  \
        return pair_expr;                                                                                     \
    }
/* Q5: the nibbles plus `high` (added, i.e. OR-ed: nibbles are < 16) in
 * the bytes selected by a mask of fifth bits, block 1's bit j at 32 + j. */
X86_INLINE __m512i x86_q5_pair(const uint8_t *qs0, const uint8_t *qs1, __mmask64 select, int high)
{
    const __m512i nibbles = x86_nibbles_pair(qs0, qs1);
    return _mm512_mask_add_epi8(nibbles, select, nibbles, _mm512_set1_epi8((char)high));
}
#define X86_Q5_BITS ((__mmask64)og_q5_high_bits(b0->qh) | (__mmask64)og_q5_high_bits(b1->qh) << 32)
X86_WEIGHT_STEP(q4_0, og_block_q4_0, _mm512_sub_epi8(x86_nibbles_pair(b0->qs, b1->qs), _mm512_set1_epi8(8)))
X86_WEIGHT_STEP(q4_1, og_block_q4_1, x86_nibbles_pair(b0->qs, b1->qs))
/* A clear fifth bit means code - 16, i.e. the nibble with 0xF0 set. */
X86_WEIGHT_STEP(q5_0, og_block_q5_0, x86_q5_pair(b0->qs, b1->qs, ~X86_Q5_BITS, 0xF0))
X86_WEIGHT_STEP(q5_1, og_block_q5_1, x86_q5_pair(b0->qs, b1->qs, X86_Q5_BITS, 0x10))
X86_WEIGHT_STEP(q8_0, og_block_q8_0,
                _mm512_inserti64x4(_mm512_castsi256_si512(x86_codes_q8_0(b0)), x86_codes_q8_0(b1), 1))
#else
#define X86_WEIGHT_STEP(name, wblock, codes)                                                                  \
    X86_INLINE __m256i x86_wstep_##name(const wblock *b, int k, int count)                                    \
    {                                                                                                         \
        (void)count;                                                                                          \
        return codes(b + k);                                                                                  \
    }
X86_WEIGHT_STEP(q4_0, og_block_q4_0, x86_codes_q4_0)
X86_WEIGHT_STEP(q4_1, og_block_q4_1, x86_codes_q4_1)
X86_WEIGHT_STEP(q5_0, og_block_q5_0, x86_codes_q5_0)
X86_WEIGHT_STEP(q5_1, og_block_q5_1, x86_codes_q5_1)
X86_WEIGHT_STEP(q8_0, og_block_q8_0, x86_codes_q8_0)
#endif

/* ---- int8 dots: the weight side is prepared once per tile row ---- */

#if X86_WIDE
typedef struct { __m512i abs; __mmask64 neg; } x86_wcodes;
/* No vpsignb in AVX-512: negate the activations where w is negative. */
X86_INLINE x86_wcodes x86_prep_signed(__m512i w) { return (x86_wcodes){ _mm512_abs_epi8(w), _mm512_movepi8_mask(w) }; }
X86_INLINE x86_wcodes x86_prep_unsigned(__m512i w) { return (x86_wcodes){ w, 0 }; }
X86_INLINE __m512i x86_dot_signed(x86_wcodes w, __m512i y)
{
    const __m512i zero = _mm512_setzero_si512();
    return _mm512_dpbusd_epi32(zero, w.abs, _mm512_mask_sub_epi8(y, w.neg, zero, y));
}
X86_INLINE __m512i x86_dot_unsigned(x86_wcodes w, __m512i y)
{
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.abs, y);
}
#else
typedef struct { __m256i abs, sign; } x86_wcodes;
X86_INLINE x86_wcodes x86_prep_signed(__m256i w) { return (x86_wcodes){ _mm256_sign_epi8(w, w), w }; }
X86_INLINE x86_wcodes x86_prep_unsigned(__m256i w) { return (x86_wcodes){ w, w }; }
/* Signed*signed through the unsigned*signed instruction: |w| times y
 * with w's sign moved onto it. */
X86_INLINE __m256i x86_dot_signed(x86_wcodes w, __m256i y)
{
    return x86_dot_u8s8(w.abs, _mm256_sign_epi8(y, w.sign));
}
X86_INLINE __m256i x86_dot_unsigned(x86_wcodes w, __m256i y) { return x86_dot_u8s8(w.abs, y); }
#endif

/* ---- tiles ---- */

/* One group of count (1..4) blocks for R rows x T tokens (compile-time
 * constants after inlining): per step, acc += (dw * da) * int32 dot. */
#define X86_TILES(name, wblock, ablock, wscales, ascales, sign, has_min)                                      \
    X86_INLINE void x86_group_##name(const uint8_t *w, size_t row_bytes, int R, const uint8_t *a,             \
                                     size_t act_stride, int T, int count,                                     \
                                     x86_fv acc[X86_MAX_ROWS][X86_TILE_TOKENS],                               \
                                     __m128 mins[X86_MAX_ROWS][X86_TILE_TOKENS])                              \
    {                                                                                                         \
        __m256 ws[X86_MAX_ROWS], as[X86_TILE_TOKENS];                                                         \
        for (int r = 0; r < R; r++)                                                                           \
            ws[r] = wscales(w + r * row_bytes, sizeof(wblock), count);                                        \
        for (int t = 0; t < T; t++)                                                                           \
            as[t] = ascales(a + t * act_stride, sizeof(ablock), count);                                       \
        for (int k = 0; k < X86_STEPS && k * X86_PER_STEP < count; k++) {                                     \
            x86_qv y[X86_TILE_TOKENS];                                                                        \
            x86_fv ask[X86_TILE_TOKENS];                                                                      \
            for (int t = 0; t < T; t++) {                                                                     \
                y[t] = x86_act_step(a + t * act_stride + offsetof(ablock, qs), sizeof(ablock), k, count);     \
                ask[t] = x86_step_scale(as[t], k);                                                            \
            }                                                                                                 \
            for (int r = 0; r < R; r++) {                                                                     \
                const x86_wcodes c = x86_prep_##sign(x86_wstep_##name((const wblock *)(w + r * row_bytes), k, count)); \
                const x86_fv wsk = x86_step_scale(ws[r], k);                                                  \
                for (int t = 0; t < T; t++)                                                                   \
                    acc[r][t] = x86_fmadd(x86_fmul(wsk, ask[t]), x86_cvt(x86_dot_##sign(c, y[t])), acc[r][t]); \
            }                                                                                                 \
        }                                                                                                     \
        if (has_min)                                                                                          \
            for (int r = 0; r < R; r++)                                                                       \
                for (int t = 0; t < T; t++)                                                                   \
                    mins[r][t] = x86_mins_step(mins[r][t], ws[r], as[t], count);                              \
    }                                                                                                         \
                                                                                                              \
    X86_INLINE void x86_tile_##name(int64_t nb, const uint8_t *w, size_t row_bytes, int R, const uint8_t *a,  \
                                    size_t act_stride, int T, float *y, size_t y_stride)                      \
    {                                                                                                         \
        x86_fv acc[X86_MAX_ROWS][X86_TILE_TOKENS];                                                            \
        __m128 mins[X86_MAX_ROWS][X86_TILE_TOKENS];                                                           \
        for (int r = 0; r < R; r++)                                                                           \
            for (int t = 0; t < T; t++) {                                                                     \
                acc[r][t] = x86_fzero();                                                                      \
                mins[r][t] = _mm_setzero_ps();                                                                \
            }                                                                                                 \
        int64_t i = 0;                                                                                        \
        for (; i + X86_GROUP <= nb; i += X86_GROUP)                                                           \
            x86_group_##name(w + i * sizeof(wblock), row_bytes, R, a + i * sizeof(ablock), act_stride, T,     \
                             X86_GROUP, acc, mins);                                                           \
        if (i < nb)                                                                                           \
            x86_group_##name(w + i * sizeof(wblock), row_bytes, R, a + i * sizeof(ablock), act_stride, T,     \
                             (int)(nb - i), acc, mins);                                                       \
        for (int r = 0; r < R; r++)                                                                           \
            for (int t = 0; t < T; t++)                                                                       \
                y[t * y_stride + r] = has_min ? x86_reduce(acc[r][t]) + x86_lane1(mins[r][t])                 \
                                              : x86_reduce(acc[r][t]);                                        \
    }                                                                                                         \
                                                                                                              \
    static void x86_vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act)                 \
    {                                                                                                         \
        x86_tile_##name(n / OG_QK, w_row, 0, 1, act, 0, 1, out, 0);                                           \
    }                                                                                                         \
                                                                                                              \
    /* All the tokens of a chunk against R rows: full tiles, then one token at a time. */                     \
    X86_INLINE void x86_rows_##name(int64_t nb, const uint8_t *w, size_t row_bytes, int R, const uint8_t *a,  \
                                    size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)           \
    {                                                                                                         \
        int32_t t = 0;                                                                                        \
        for (; t + X86_TILE_TOKENS <= n_tokens; t += X86_TILE_TOKENS)                                         \
            x86_tile_##name(nb, w, row_bytes, R, a + (size_t)t * act_stride, act_stride, X86_TILE_TOKENS,     \
                            y + (size_t)t * y_stride, y_stride);                                              \
        for (; t < n_tokens; t++)                                                                             \
            x86_tile_##name(nb, w, row_bytes, R, a + (size_t)t * act_stride, act_stride, 1,                   \
                            y + (size_t)t * y_stride, y_stride);                                              \
    }                                                                                                         \
                                                                                                              \
    static void x86_gemm_##name(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,           \
                                const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride) \
    {                                                                                                         \
        const int64_t nb = n / OG_QK;                                                                         \
        for (int32_t t0 = 0; t0 < n_tokens; t0 += X86_TOKEN_CHUNK) {                                          \
            const int32_t nt = n_tokens - t0 < X86_TOKEN_CHUNK ? n_tokens - t0 : X86_TOKEN_CHUNK;             \
            const uint8_t *a = (const uint8_t *)acts + (size_t)t0 * act_stride;                               \
            float *yc = y + (size_t)t0 * y_stride;                                                            \
            int64_t r = r0;                                                                                   \
            if (nt < X86_TILE_TOKENS) {                                                                       \
                if (row_bytes <= X86_SHORT_ROW)                                                               \
                    for (; r + X86_MV_ROWS <= r1; r += X86_MV_ROWS)                                           \
                        x86_rows_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, X86_MV_ROWS, a, \
                                        act_stride, nt, yc + r, y_stride);                                    \
                for (; r + X86_MV_ROWS_LONG <= r1; r += X86_MV_ROWS_LONG)                                     \
                    x86_rows_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, X86_MV_ROWS_LONG, \
                                    a, act_stride, nt, yc + r, y_stride);                                     \
            }                                                                                                 \
            for (; r + X86_TILE_ROWS <= r1; r += X86_TILE_ROWS)                                               \
                x86_rows_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, X86_TILE_ROWS, a,  \
                                act_stride, nt, yc + r, y_stride);                                            \
            for (; r < r1; r++)                                                                               \
                x86_rows_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, 1, a, act_stride,  \
                                nt, yc + r, y_stride);                                                        \
        }                                                                                                     \
    }

X86_TILES(q4_0, og_block_q4_0, og_block_q8_0, x86_scale_singles, x86_scale_singles, signed, 0)
X86_TILES(q5_0, og_block_q5_0, og_block_q8_0, x86_scale_singles, x86_scale_singles, signed, 0)
X86_TILES(q8_0, og_block_q8_0, og_block_q8_0, x86_scale_singles, x86_scale_singles, signed, 0)
X86_TILES(q4_1, og_block_q4_1, og_block_q8_1, x86_scale_pairs, x86_scale_pairs, unsigned, 1)
X86_TILES(q5_1, og_block_q5_1, og_block_q8_1, x86_scale_pairs, x86_scale_pairs, unsigned, 1)

#endif
