/*
 * tiles_x86.h - private, included by quants_x86.h: the 32-wide formats
 * (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) as tiles of up to X86_MAX_ROWS weight
 * rows times X86_TILE_TOKENS activation rows. Each weight block is decoded
 * once per tile and each activation block loaded once per tile, so a
 * matrix-vector product shares the activation loads across rows and a
 * matrix-matrix product also shares the decoding across tokens.
 *
 * Every output (row, token) is computed exactly as llama.cpp's AVX2
 * vec_dot computes it (the scalar reference in quants_ref.c spells the
 * order out): 8 float lanes; per block, lane l += (dw * da) * the int32
 * sum of the products of elements 4l..4l+3, fused; the min terms m * s of
 * Q4_1/Q5_1 fused into one scalar chain per output; the lanes added as
 * hsum_float_8. So vec_dot (the 1x1 tile), gemm and the scalar reference
 * agree bit for bit, whatever the tile shape.
 *
 * Built twice like the rest of quants_x86.h: with AVX-512 a vector holds
 * the 8 lanes of two rows for one token (a row pair; a lone last row is
 * paired with itself), with AVX2 those of one row. Two blocks of one
 * output never share a vector: that would change the order of the sums.
 *
 * One-token products (mat-vec) prefetch the weights x86_pf_distance ahead and
 * form the scale products once per group (T == 1); with AVX-512, Q4_0 and
 * Q4_1 take x86_mv4: 4 rows per vector, each row's lanes 0-3 in one
 * accumulator and 4-7 in another, its (d, m) of one block for 8 rows
 * converted at once and the min chains fused in one vector (lane 2r + 1
 * for row r), all per lane exactly as above.
 */
#ifndef OG_TENSOR_TILES_X86_H
#define OG_TENSOR_TILES_X86_H

#include <math.h>
#include <stddef.h>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#define X86_WIDE 1
typedef __m512i x86_qv;
typedef __m512 x86_fv;
/* 12 zmm accumulators (4 row pairs x 3 tokens) leave room for the
 * activations and scales of 3 tokens. */
enum { X86_PAIR = 2, X86_TILE_ROWS = 8, X86_TILE_TOKENS = 3, X86_MV_ROWS = 8, X86_MV_ROWS_LONG = 8 };
#define x86_fzero() _mm512_setzero_ps()
#define x86_fmul(a, b) _mm512_mul_ps(a, b)
#define x86_fmadd(a, b, c) _mm512_fmadd_ps(a, b, c)
#define x86_cvt(v) _mm512_cvtepi32_ps(v)
#else
#define X86_WIDE 0
typedef __m256i x86_qv;
typedef __m256 x86_fv;
/* Only 16 ymm registers: 4 accumulators. */
enum { X86_PAIR = 1, X86_TILE_ROWS = 2, X86_TILE_TOKENS = 2, X86_MV_ROWS = 8, X86_MV_ROWS_LONG = 4 };
#define x86_fzero() _mm256_setzero_ps()
#define x86_fmul(a, b) _mm256_mul_ps(a, b)
#define x86_fmadd(a, b, c) _mm256_fmadd_ps(a, b, c)
#define x86_cvt(v) _mm256_cvtepi32_ps(v)
#endif

/* A mat-vec tile has X86_MV_ROWS rows and one token: more rows share each
 * activation load and amortize the reductions. With AVX2, whose 16
 * registers make 8 rows spill, rows longer than X86_SHORT_ROW bytes go 4
 * at a time (X86_MV_ROWS_LONG), measured faster for them. */
enum { X86_SHORT_ROW = 512 };
#define X86_MAX_ROWS (X86_MV_ROWS > X86_TILE_ROWS ? X86_MV_ROWS : X86_TILE_ROWS)
#define X86_MAX_UNITS (X86_MAX_ROWS / X86_PAIR)

/* Mat-vec prefetches each row of a tile at the same place in the next
 * tile (the rows of a thread's range are contiguous, R rows per tile) plus
 * X86_PF_AHEAD bytes: a fixed distance would land inside the current tile
 * for long rows (Llama-3.2-1B's 2048 columns of Q8_0: 2176 bytes a row,
 * 17 KB a tile), where it is useless. The packed kernels (one stream)
 * prefetch X86_PF_BYTES ahead. */
#ifndef X86_PF_BYTES
#define X86_PF_BYTES 10240
#endif
#ifndef X86_PF_AHEAD
#define X86_PF_AHEAD 5120
#endif
#define x86_pf_distance(R, row_bytes) ((size_t)(R) * (row_bytes) + X86_PF_AHEAD)

/* Blocks whose scales are converted by one vcvtph2ps. */
enum { X86_GROUP = 4 };
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

/* d of block k for a row pair (rows' lanes 0-7 and 8-15) or one row:
 * lane 2k of the layouts above. */
X86_INLINE x86_fv x86_weight_scale(__m256 sa, __m256 sb, int k)
{
#if X86_WIDE
    const __m512i idx = _mm512_inserti64x4(_mm512_set1_epi32(2 * k), _mm256_set1_epi32(8 + 2 * k), 1);
    return _mm512_permutexvar_ps(idx, _mm512_insertf32x8(_mm512_castps256_ps512(sa), sb, 1));
#else
    (void)sb;
    return _mm256_permutevar8x32_ps(sa, _mm256_set1_epi32(2 * k));
#endif
}

/* For one token: the products dw * da of the 4 blocks of a group for a
 * row pair (lanes 2k and 8 + 2k) or one row (lane 2k), computed once per
 * group; each is the same float as the per-block product it replaces. */
X86_INLINE x86_fv x86_scale_products(__m256 sa, __m256 sb, __m256 as)
{
#if X86_WIDE
    return _mm512_mul_ps(_mm512_insertf32x8(_mm512_castps256_ps512(sa), sb, 1),
                         _mm512_insertf32x8(_mm512_castps256_ps512(as), as, 1));
#else
    (void)sb;
    return _mm256_mul_ps(sa, as);
#endif
}

/* Block k's product from x86_scale_products, in each row's 8 lanes. */
X86_INLINE x86_fv x86_pick_scale(x86_fv p, int k)
{
#if X86_WIDE
    const __m512i idx = _mm512_inserti64x4(_mm512_set1_epi32(2 * k), _mm256_set1_epi32(8 + 2 * k), 1);
    return _mm512_permutexvar_ps(idx, p);
#else
    return _mm256_permutevar8x32_ps(p, _mm256_set1_epi32(2 * k));
#endif
}

/* d of an activation block k, in every lane. */
X86_INLINE x86_fv x86_act_scale(__m256 s, int k)
{
#if X86_WIDE
    return _mm512_permutexvar_ps(_mm512_set1_epi32(2 * k), _mm512_castps256_ps512(s));
#else
    return _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(2 * k));
#endif
}

/* The 8 lanes of one output, added in hsum_float_8's order. */
X86_INLINE float x86_hsum_lo(x86_fv v)
{
#if X86_WIDE
    return x86_hsum_ps(_mm512_castps512_ps256(v));
#else
    return x86_hsum_ps(v);
#endif
}

#if X86_WIDE
X86_INLINE float x86_hsum_hi(x86_fv v) { return x86_hsum_ps(_mm512_extractf32x8_ps(v, 1)); }
#endif

/* ---- codes ---- */

/* The 32 activation codes of a block, for both rows of a pair. */
X86_INLINE x86_qv x86_act_codes(const uint8_t *qs)
{
#if X86_WIDE
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qs));
#else
    return _mm256_loadu_si256((const __m256i *)qs);
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

/* Weight codes of the same block of two rows (b0 in the low half); with
 * AVX-512 as unsigned bytes code + bias (see the int8 dots below). */
#if X86_WIDE
#define X86_WEIGHT_CODES(name, wblock, pair_expr)                                                             \
    X86_INLINE __m512i x86_wcodes_##name(const wblock *b0, const wblock *b1) { return pair_expr; }
/* Q5: the nibbles plus `high` (added, i.e. OR-ed: nibbles are < 16) in
 * the bytes selected by a mask of fifth bits, block 1's bit j at 32 + j. */
X86_INLINE __m512i x86_q5_pair(const uint8_t *qs0, const uint8_t *qs1, __mmask64 select, int high)
{
    const __m512i nibbles = x86_nibbles_pair(qs0, qs1);
    return _mm512_mask_add_epi8(nibbles, select, nibbles, _mm512_set1_epi8((char)high));
}
#define X86_Q5_BITS ((__mmask64)og_q5_high_bits(b0->qh) | (__mmask64)og_q5_high_bits(b1->qh) << 32)
X86_WEIGHT_CODES(q4_0, og_block_q4_0, x86_nibbles_pair(b0->qs, b1->qs))
X86_WEIGHT_CODES(q4_1, og_block_q4_1, x86_nibbles_pair(b0->qs, b1->qs))
X86_WEIGHT_CODES(q5_0, og_block_q5_0, x86_q5_pair(b0->qs, b1->qs, X86_Q5_BITS, 0x10))
X86_WEIGHT_CODES(q5_1, og_block_q5_1, x86_q5_pair(b0->qs, b1->qs, X86_Q5_BITS, 0x10))
/* x ^ 0x80 = x + 128 as an unsigned byte */
X86_WEIGHT_CODES(q8_0, og_block_q8_0,
                 _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(x86_codes_q8_0(b0)), x86_codes_q8_0(b1), 1),
                                  _mm512_set1_epi8((char)0x80)))
#else
#define X86_WEIGHT_CODES(name, wblock)                                                                        \
    X86_INLINE __m256i x86_wcodes_##name(const wblock *b0, const wblock *b1)                                  \
    {                                                                                                         \
        (void)b1;                                                                                             \
        return x86_codes_##name(b0);                                                                          \
    }
X86_WEIGHT_CODES(q4_0, og_block_q4_0)
X86_WEIGHT_CODES(q4_1, og_block_q4_1)
X86_WEIGHT_CODES(q5_0, og_block_q5_0)
X86_WEIGHT_CODES(q5_1, og_block_q5_1)
X86_WEIGHT_CODES(q8_0, og_block_q8_0)
#endif

/* ---- int8 dots: the weight side is prepared once per tile row ----
 * Each int32 lane l gets the exact sum of the products of bytes 4l..4l+3
 * (vpdpbusd, or maddubs + madd, which cannot saturate for these codes). */

#if X86_WIDE
/* The codes come unsigned, u = code + bias (bias 8 for Q4_0, 16 for Q5_0,
 * 128 for Q8_0, 0 for the formats with a min), and each dot starts from
 * base = -bias * (the sum of its lane's 4 activations), computed once per
 * token and block: sum(u * y) + base = sum(code * y), exactly, in one
 * vpdpbusd per row pair, token and block. */
typedef struct { __m512i u; } x86_wcodes;
X86_INLINE x86_wcodes x86_prep_signed(__m512i w) { return (x86_wcodes){ w }; }
X86_INLINE x86_wcodes x86_prep_unsigned(__m512i w) { return (x86_wcodes){ w }; }
X86_INLINE __m512i x86_act_base(__m512i y, int bias)
{
    const __m512i zero = _mm512_setzero_si512();
    return bias ? _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, _mm512_set1_epi8((char)bias), y)) : zero;
}
X86_INLINE __m512i x86_dot_signed(x86_wcodes w, __m512i y, __m512i base) { return _mm512_dpbusd_epi32(base, w.u, y); }
X86_INLINE __m512i x86_dot_unsigned(x86_wcodes w, __m512i y, __m512i base) { return _mm512_dpbusd_epi32(base, w.u, y); }
#else
typedef struct { __m256i abs, sign; } x86_wcodes;
X86_INLINE x86_wcodes x86_prep_signed(__m256i w) { return (x86_wcodes){ _mm256_sign_epi8(w, w), w }; }
X86_INLINE x86_wcodes x86_prep_unsigned(__m256i w) { return (x86_wcodes){ w, w }; }
/* Signed*signed through the unsigned*signed instruction: |w| times y
 * with w's sign moved onto it (no bias: maddubs could saturate on u8 codes
 * up to 255). */
X86_INLINE __m256i x86_act_base(__m256i y, int bias)
{
    (void)y;
    (void)bias;
    return _mm256_setzero_si256();
}
X86_INLINE __m256i x86_dot_signed(x86_wcodes w, __m256i y, __m256i base)
{
    (void)base;
    return x86_dot_u8s8(w.abs, _mm256_sign_epi8(y, w.sign));
}
X86_INLINE __m256i x86_dot_unsigned(x86_wcodes w, __m256i y, __m256i base)
{
    (void)base;
    return x86_dot_u8s8(w.abs, y);
}
#endif

/* ---- tiles ---- */

/* Row pair u of a tile of R rows: rows X86_PAIR*u and the next one, or
 * the same row again when it is the last (its upper lanes are unused). */
X86_INLINE int x86_pair_b(int u, int R) { return X86_PAIR * u + 1 < R ? X86_PAIR * u + 1 : X86_PAIR * u; }

/* The output of a pair's upper row, if it is not the lone last row. */
#if X86_WIDE
#define X86_STORE_HI(has_min)                                                                                 \
    {                                                                                                         \
        const int rb = x86_pair_b(u, R);                                                                      \
        if (rb != ra) {                                                                                       \
            const float hi = x86_hsum_hi(acc[u][t]);                                                          \
            y[t * y_stride + rb] = has_min ? hi + summs[rb][t] : hi;                                          \
        }                                                                                                     \
    }
#else
#define X86_STORE_HI(has_min)
#endif

/* Mat-vec for the nibble formats with AVX-512: 4 rows per vector, as the
 * rows' raw 16-byte qs side by side; the low nibbles against the first 16
 * activation codes give each row's lanes 0-3, the high ones against the
 * last 16 its lanes 4-7. So each output lane still gets one fmadd per
 * block in block order, of the same exact int32 sum and the same scale
 * product; only which register holds which lane changes. */
#if X86_WIDE
X86_INLINE __m512i x86_quad_raw(const uint8_t *p, size_t row_bytes)
{
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + row_bytes)), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 2 * row_bytes)), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 3 * row_bytes)), 3);
}
/* The first 4 bytes of block k of R (4 or 8) rows, as fp16 pairs (d, m)
 * converted: lanes 2r and 2r + 1 for row r. */
X86_INLINE __m512 x86_row_scales(const uint8_t *p, size_t row_bytes, int R)
{
    __m128i a = _mm_cvtsi32_si128(x86_load32(p));
    a = _mm_insert_epi32(a, x86_load32(p + row_bytes), 1);
    a = _mm_insert_epi32(a, x86_load32(p + 2 * row_bytes), 2);
    a = _mm_insert_epi32(a, x86_load32(p + 3 * row_bytes), 3);
    __m128i b = _mm_setzero_si128();
    if (R > 4) {
        b = _mm_cvtsi32_si128(x86_load32(p + 4 * row_bytes));
        b = _mm_insert_epi32(b, x86_load32(p + 5 * row_bytes), 1);
        b = _mm_insert_epi32(b, x86_load32(p + 6 * row_bytes), 2);
        b = _mm_insert_epi32(b, x86_load32(p + 7 * row_bytes), 3);
    }
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1));
}
/* fp16 at p as a float in every lane */
X86_INLINE __m512 x86_bcast_fp16(const uint8_t *p) { return _mm512_cvtph_ps(_mm256_set1_epi16((short)x86_load16(p))); }
#define X86_MV4(name, wblock, ablock, bias, has_min)                                                          \
    X86_INLINE void x86_mv4_group_##name(const uint8_t *w, size_t row_bytes, int R, const uint8_t *a,         \
                                         int count, __m512 *lo, __m512 *hi, __m512 *summs)                    \
    {                                                                                                         \
        const int Q = R / 4;                                                                                  \
        for (int r = 0; r < R; r++)                                                                           \
            for (int o = 0; o < count * (int)sizeof(wblock); o += 64)                                         \
                _mm_prefetch((const char *)w + (size_t)r * row_bytes + o + x86_pf_distance(R, row_bytes),      \
                             _MM_HINT_T0);                                                                    \
        const __m512i m4 = _mm512_set1_epi8(0x0F);                                                            \
        for (int k = 0; k < count; k++) {                                                                     \
            const uint8_t *ab = a + k * sizeof(ablock);                                                       \
            const __m512 wsc = x86_row_scales(w + k * sizeof(wblock), row_bytes, R);                          \
            /* lane 2r: dw * da of row r, the same product as before */                                       \
            const __m512 prod = _mm512_mul_ps(wsc, x86_bcast_fp16(ab));                                       \
            if (has_min) /* lane 2r + 1: row r's chain m * s, fused, in block order */                        \
                *summs = _mm512_fmadd_ps(wsc, x86_bcast_fp16(ab + 2), *summs);                                \
            const uint8_t *aq = ab + offsetof(ablock, qs);                                                    \
            const __m512i ylo = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)aq));                 \
            const __m512i yhi = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(aq + 16)));          \
            const __m512i blo = x86_act_base(ylo, bias), bhi = x86_act_base(yhi, bias);                       \
            for (int q = 0; q < Q; q++) {                                                                     \
                const __m512i idx = _mm512_set_epi32(8 * q + 6, 8 * q + 6, 8 * q + 6, 8 * q + 6, 8 * q + 4,   \
                                                     8 * q + 4, 8 * q + 4, 8 * q + 4, 8 * q + 2, 8 * q + 2,   \
                                                     8 * q + 2, 8 * q + 2, 8 * q, 8 * q, 8 * q, 8 * q);       \
                const __m512i raw =                                                                           \
                    x86_quad_raw(w + 4 * q * row_bytes + k * sizeof(wblock) + offsetof(wblock, qs), row_bytes); \
                const __m512i wl = _mm512_and_si512(raw, m4);                                                 \
                const __m512i wh = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);                           \
                const __m512 sk = _mm512_permutexvar_ps(idx, prod);                                           \
                lo[q] = _mm512_fmadd_ps(sk, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(blo, wl, ylo)), lo[q]);    \
                hi[q] = _mm512_fmadd_ps(sk, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(bhi, wh, yhi)), hi[q]);    \
            }                                                                                                 \
        }                                                                                                     \
    }                                                                                                         \
    X86_INLINE void x86_mv4_##name(int64_t nb, const uint8_t *w, size_t row_bytes, int R, const uint8_t *a,   \
                                   float *y)                                                                  \
    {                                                                                                         \
        const int Q = R / 4;                                                                                  \
        __m512 lo[X86_MAX_ROWS / 4], hi[X86_MAX_ROWS / 4], sm = _mm512_setzero_ps();                          \
        float summs[16];                                                                                      \
        for (int q = 0; q < Q; q++)                                                                           \
            lo[q] = hi[q] = _mm512_setzero_ps();                                                              \
        int64_t i = 0;                                                                                        \
        for (; i + X86_GROUP <= nb; i += X86_GROUP)                                                           \
            x86_mv4_group_##name(w + i * sizeof(wblock), row_bytes, R, a + i * sizeof(ablock), X86_GROUP, lo, \
                                 hi, &sm);                                                                    \
        if (i < nb)                                                                                           \
            x86_mv4_group_##name(w + i * sizeof(wblock), row_bytes, R, a + i * sizeof(ablock), (int)(nb - i), \
                                 lo, hi, &sm);                                                                \
        _mm512_storeu_ps(summs, sm);                                                                          \
        for (int q = 0; q < Q; q++) {                                                                         \
            const __m128 l[4] = { _mm512_extractf32x4_ps(lo[q], 0), _mm512_extractf32x4_ps(lo[q], 1),         \
                                  _mm512_extractf32x4_ps(lo[q], 2), _mm512_extractf32x4_ps(lo[q], 3) };       \
            const __m128 h[4] = { _mm512_extractf32x4_ps(hi[q], 0), _mm512_extractf32x4_ps(hi[q], 1),         \
                                  _mm512_extractf32x4_ps(hi[q], 2), _mm512_extractf32x4_ps(hi[q], 3) };       \
            for (int r = 0; r < 4; r++) {                                                                     \
                const float v = x86_hsum_ps(_mm256_set_m128(h[r], l[r]));                                     \
                y[4 * q + r] = has_min ? v + summs[2 * (4 * q + r) + 1] : v;                                  \
            }                                                                                                 \
        }                                                                                                     \
    }
#define X86_HAS_MV4 1
#else
#define X86_MV4(name, wblock, ablock, bias, has_min)                                                          \
    X86_INLINE void x86_mv4_##name(int64_t nb, const uint8_t *w, size_t row_bytes, int R, const uint8_t *a,   \
                                   float *y)                                                                  \
    {                                                                                                         \
        (void)nb, (void)w, (void)row_bytes, (void)R, (void)a, (void)y;                                        \
    }
#define X86_HAS_MV4 0
#endif

/* One group of count (1..4) blocks for R rows x T tokens (compile-time
 * constants after inlining). */
#define X86_TILES(name, wblock, ablock, wscales, ascales, sign, bias, has_min, mv4)                           \
    X86_INLINE void x86_group_##name(const uint8_t *w, size_t row_bytes, int R, const uint8_t *a,             \
                                     size_t act_stride, int T, int count,                                     \
                                     x86_fv acc[X86_MAX_UNITS][X86_TILE_TOKENS],                              \
                                     float summs[X86_MAX_ROWS][X86_TILE_TOKENS])                              \
    {                                                                                                         \
        const int U = (R + X86_PAIR - 1) / X86_PAIR;                                                          \
        __m256 ws[X86_MAX_ROWS], as[X86_TILE_TOKENS];                                                         \
        for (int r = 0; r < R; r++)                                                                           \
            ws[r] = wscales(w + r * row_bytes, sizeof(wblock), count);                                        \
        for (int t = 0; t < T; t++)                                                                           \
            as[t] = ascales(a + t * act_stride, sizeof(ablock), count);                                       \
        if (T == 1) {                                                                                         \
            /* one token: the next tile's rows (contiguous after these) on their way from DRAM */             \
            for (int r = 0; r < R; r++)                                                                       \
                for (int o = 0; o < count * (int)sizeof(wblock); o += 64)                                     \
                    _mm_prefetch((const char *)w + (size_t)r * row_bytes + o + x86_pf_distance(R, row_bytes),  \
                                 _MM_HINT_T0);                                                                \
            x86_fv sc[X86_MAX_UNITS];                                                                         \
            for (int u = 0; u < U; u++)                                                                       \
                sc[u] = x86_scale_products(ws[X86_PAIR * u], ws[x86_pair_b(u, R)], as[0]);                    \
            for (int k = 0; k < count; k++) {                                                                 \
                const x86_qv y0 = x86_act_codes(a + k * sizeof(ablock) + offsetof(ablock, qs));               \
                const x86_qv base0 = x86_act_base(y0, bias);                                                  \
                for (int u = 0; u < U; u++) {                                                                 \
                    const int ra = X86_PAIR * u, rb = x86_pair_b(u, R);                                       \
                    const x86_wcodes c = x86_prep_##sign(x86_wcodes_##name((const wblock *)(w + ra * row_bytes) + k, \
                                                                           (const wblock *)(w + rb * row_bytes) + k)); \
                    acc[u][0] = x86_fmadd(x86_pick_scale(sc[u], k), x86_cvt(x86_dot_##sign(c, y0, base0)), acc[u][0]); \
                }                                                                                             \
            }                                                                                                 \
        } else                                                                                                \
        for (int k = 0; k < count; k++) {                                                                     \
            x86_qv y[X86_TILE_TOKENS], base[X86_TILE_TOKENS];                                                 \
            x86_fv ask[X86_TILE_TOKENS];                                                                      \
            for (int t = 0; t < T; t++) {                                                                     \
                y[t] = x86_act_codes(a + t * act_stride + k * sizeof(ablock) + offsetof(ablock, qs));         \
                base[t] = x86_act_base(y[t], bias);                                                           \
                ask[t] = x86_act_scale(as[t], k);                                                             \
            }                                                                                                 \
            for (int u = 0; u < U; u++) {                                                                     \
                const int ra = X86_PAIR * u, rb = x86_pair_b(u, R);                                           \
                const x86_wcodes c = x86_prep_##sign(x86_wcodes_##name((const wblock *)(w + ra * row_bytes) + k, \
                                                                       (const wblock *)(w + rb * row_bytes) + k)); \
                const x86_fv wsk = x86_weight_scale(ws[ra], ws[rb], k);                                       \
                for (int t = 0; t < T; t++)                                                                   \
                    acc[u][t] = x86_fmadd(x86_fmul(wsk, ask[t]), x86_cvt(x86_dot_##sign(c, y[t], base[t])), \
                                          acc[u][t]);                                                         \
            }                                                                                                 \
        }                                                                                                     \
        if (has_min) {                                                                                        \
            /* m and s sit at the odd lanes; one fused chain per output. */                                   \
            float wm[X86_MAX_ROWS][8], as_f[X86_TILE_TOKENS][8];                                              \
            for (int r = 0; r < R; r++)                                                                       \
                _mm256_storeu_ps(wm[r], ws[r]);                                                               \
            for (int t = 0; t < T; t++)                                                                       \
                _mm256_storeu_ps(as_f[t], as[t]);                                                             \
            for (int k = 0; k < count; k++)                                                                   \
                for (int r = 0; r < R; r++)                                                                   \
                    for (int t = 0; t < T; t++)                                                               \
                        summs[r][t] = fmaf(wm[r][2 * k + 1], as_f[t][2 * k + 1], summs[r][t]);                \
        }                                                                                                     \
    }                                                                                                         \
                                                                                                              \
    X86_INLINE void x86_tile_##name(int64_t nb, const uint8_t *w, size_t row_bytes, int R, const uint8_t *a,  \
                                    size_t act_stride, int T, float *y, size_t y_stride)                      \
    {                                                                                                         \
        const int U = (R + X86_PAIR - 1) / X86_PAIR;                                                          \
        if (X86_HAS_MV4 && mv4 && T == 1 && R % 4 == 0) {                                                     \
            x86_mv4_##name(nb, w, row_bytes, R, a, y);                                                        \
            return;                                                                                           \
        }                                                                                                     \
        x86_fv acc[X86_MAX_UNITS][X86_TILE_TOKENS];                                                           \
        float summs[X86_MAX_ROWS][X86_TILE_TOKENS];                                                           \
        for (int u = 0; u < U; u++)                                                                           \
            for (int t = 0; t < T; t++)                                                                       \
                acc[u][t] = x86_fzero();                                                                      \
        for (int r = 0; r < R; r++)                                                                           \
            for (int t = 0; t < T; t++)                                                                       \
                summs[r][t] = 0.0f;                                                                           \
        int64_t i = 0;                                                                                        \
        for (; i + X86_GROUP <= nb; i += X86_GROUP)                                                           \
            x86_group_##name(w + i * sizeof(wblock), row_bytes, R, a + i * sizeof(ablock), act_stride, T,     \
                             X86_GROUP, acc, summs);                                                          \
        if (i < nb)                                                                                           \
            x86_group_##name(w + i * sizeof(wblock), row_bytes, R, a + i * sizeof(ablock), act_stride, T,     \
                             (int)(nb - i), acc, summs);                                                      \
        for (int u = 0; u < U; u++)                                                                           \
            for (int t = 0; t < T; t++) {                                                                     \
                const int ra = X86_PAIR * u;                                                                  \
                const float lo = x86_hsum_lo(acc[u][t]);                                                      \
                y[t * y_stride + ra] = has_min ? lo + summs[ra][t] : lo;                                      \
                X86_STORE_HI(has_min)                                                                         \
            }                                                                                                 \
    }                                                                                                         \
                                                                                                              \
    static void x86_vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act)                 \
    {                                                                                                         \
        x86_tile_##name(n / OG_QK, w_row, 0, 1, act, 0, 1, out, 0);                                           \
    }                                                                                                         \
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
            int32_t nt = n_tokens - t0 < X86_TOKEN_CHUNK ? n_tokens - t0 : X86_TOKEN_CHUNK;                   \
            const uint8_t *a = (const uint8_t *)acts + (size_t)t0 * act_stride;                               \
            float *yc = y + (size_t)t0 * y_stride;                                                            \
            const int32_t done = x86_batch_##name(nb, w, row_bytes, r0, r1, a, act_stride, nt, yc, y_stride); \
            a += (size_t)done * act_stride;                                                                   \
            yc += (size_t)done * y_stride;                                                                    \
            nt -= done;                                                                                       \
            if (nt == 0)                                                                                      \
                continue;                                                                                     \
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
            for (; X86_PAIR > 1 && r + X86_PAIR <= r1; r += X86_PAIR)                                         \
                x86_rows_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, X86_PAIR, a,       \
                                act_stride, nt, yc + r, y_stride);                                            \
            for (; r < r1; r++)                                                                               \
                x86_rows_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, 1, a, act_stride,  \
                                nt, yc + r, y_stride);                                                        \
        }                                                                                                     \
    }

/* Batched tiles for the formats without a min (AVX-512): per chunk of
 * tokens, each activation block's base (-bias * its lanes' sums, 8 int32)
 * and its d as a float are computed once into a buffer, and the tiles of
 * X86_TILE_ROWS rows x X86_BATCH_TOKENS tokens read them from there
 * instead of recomputing them per row tile: per output the same exact
 * int32 sums, the same dw * da products and the same fmadd order. */
#if X86_WIDE
#ifndef X86_BATCH_TOKENS
#define X86_BATCH_TOKENS 4
#endif
enum { X86_BATCH_BUF = 3072 };
#define X86_BATCH(name, wblock, ablock, bias, enabled)                                                        \
    X86_INLINE void x86_btile_##name(int64_t nb, const uint8_t *w, size_t row_bytes, int R, const uint8_t *a, \
                                     size_t act_stride, const int32_t *bases, const float *asc, float *y,     \
                                     size_t y_stride)                                                         \
    {                                                                                                         \
        enum { T = X86_BATCH_TOKENS };                                                                        \
        const int U = (R + 1) / 2;                                                                            \
        __m512 acc[X86_TILE_ROWS / 2][T];                                                                     \
        for (int u = 0; u < U; u++)                                                                           \
            for (int t = 0; t < T; t++)                                                                       \
                acc[u][t] = _mm512_setzero_ps();                                                              \
        for (int64_t i = 0; i < nb; i += X86_GROUP) {                                                         \
            const int count = nb - i < X86_GROUP ? (int)(nb - i) : X86_GROUP;                                 \
            __m256 ws[X86_TILE_ROWS];                                                                         \
            for (int r = 0; r < R; r++)                                                                       \
                ws[r] = x86_scale_singles(w + r * row_bytes + i * sizeof(wblock), sizeof(wblock), count);     \
            _Pragma("GCC unroll 4") for (int k = 0; k < count; k++) {                                       \
                const int64_t b = i + k;                                                                      \
                __m512i c[X86_TILE_ROWS / 2];                                                                 \
                __m512 wsk[X86_TILE_ROWS / 2];                                                                \
                _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) {                                         \
                    const int ra = 2 * u, rb = x86_pair_b(u, R);                                              \
                    c[u] = x86_wcodes_##name((const wblock *)(w + ra * row_bytes) + b,                        \
                                             (const wblock *)(w + rb * row_bytes) + b);                       \
                    wsk[u] = x86_weight_scale(ws[ra], ws[rb], k);                                             \
                }                                                                                             \
                _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) {                                         \
                    const __m512i yv = x86_act_codes(a + t * act_stride + b * sizeof(ablock) + offsetof(ablock, qs)); \
                    const __m256i *bp = (const __m256i *)(bases + ((size_t)t * nb + b) * 8);                  \
                    const __m512i base = _mm512_broadcast_i64x4(_mm256_load_si256(bp));                       \
                    const __m512 as = _mm512_set1_ps(asc[(size_t)t * nb + b]);                                \
                    _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) {                                     \
                        const __m512 d = _mm512_mul_ps(wsk[u], as);                                           \
                        acc[u][t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(base, c[u], yv)), \
                                                    acc[u][t]);                                               \
                    }                                                                                         \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
        for (int u = 0; u < U; u++)                                                                           \
            for (int t = 0; t < T; t++) {                                                                     \
                const int ra = 2 * u, rb = x86_pair_b(u, R);                                                  \
                y[t * y_stride + ra] = x86_hsum_lo(acc[u][t]);                                                \
                if (rb != ra)                                                                                 \
                    y[t * y_stride + rb] = x86_hsum_hi(acc[u][t]);                                            \
            }                                                                                                 \
    }                                                                                                         \
    /* Tokens [0, returned) of a chunk, for rows r0..r1; the rest is the caller's. */                        \
    static int32_t x86_batch_##name(int64_t nb, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1,   \
                                    const uint8_t *a, size_t act_stride, int32_t nt, float *y,                \
                                    size_t y_stride)                                                          \
    {                                                                                                         \
        if (!(enabled) || nb <= 0 || nb * X86_BATCH_TOKENS > X86_BATCH_BUF || nt < X86_BATCH_TOKENS)          \
            return 0;                                                                                         \
        _Alignas(64) int32_t bases[X86_BATCH_BUF * 8];                                                        \
        float asc[X86_BATCH_BUF];                                                                             \
        int32_t per = (int32_t)(X86_BATCH_BUF / nb);                                                          \
        per -= per % X86_BATCH_TOKENS;                                                                        \
        const int32_t todo = nt - nt % X86_BATCH_TOKENS;                                                      \
        for (int32_t t0 = 0; t0 < todo; t0 += per) {                                                          \
            const int32_t n = todo - t0 < per ? todo - t0 : per;                                              \
            const uint8_t *at = a + (size_t)t0 * act_stride;                                                  \
            for (int32_t t = 0; t < n; t++)                                                                   \
                for (int64_t b = 0; b < nb; b++) {                                                            \
                    const ablock *blk = (const ablock *)(at + (size_t)t * act_stride) + b;                    \
                    const __m512i yb = x86_act_codes((const uint8_t *)blk->qs);                               \
                    const __m512i base = x86_act_base(yb, bias);                                              \
                    _mm256_store_si256((__m256i *)(bases + ((size_t)t * nb + b) * 8),                         \
                                       _mm512_castsi512_si256(base));                                         \
                    const __m128i dh = _mm_cvtsi32_si128(x86_load16((const uint8_t *)blk));                   \
                    asc[(size_t)t * nb + b] = _mm_cvtss_f32(_mm_cvtph_ps(dh));                                \
                }                                                                                             \
            /* rows outer: a tile's weights stay in L1 across the tokens */                                   \
            int64_t r = r0;                                                                                   \
            for (; r + X86_TILE_ROWS <= r1; r += X86_TILE_ROWS)                                               \
                for (int32_t t = 0; t < n; t += X86_BATCH_TOKENS)                                             \
                    x86_btile_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, X86_TILE_ROWS, \
                                     at + (size_t)t * act_stride, act_stride, bases + (size_t)t * nb * 8,     \
                                     asc + (size_t)t * nb, y + (size_t)(t0 + t) * y_stride + r, y_stride);    \
            for (; r + 2 <= r1; r += 2)                                                                       \
                for (int32_t t = 0; t < n; t += X86_BATCH_TOKENS)                                             \
                    x86_btile_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, 2,            \
                                     at + (size_t)t * act_stride, act_stride, bases + (size_t)t * nb * 8,     \
                                     asc + (size_t)t * nb, y + (size_t)(t0 + t) * y_stride + r, y_stride);    \
            for (; r < r1; r++)                                                                               \
                for (int32_t t = 0; t < n; t += X86_BATCH_TOKENS)                                             \
                    x86_btile_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, 1,            \
                                     at + (size_t)t * act_stride, act_stride, bases + (size_t)t * nb * 8,     \
                                     asc + (size_t)t * nb, y + (size_t)(t0 + t) * y_stride + r, y_stride);    \
        }                                                                                                     \
        return todo;                                                                                          \
    }
#else
#define X86_BATCH(name, wblock, ablock, bias, enabled)                                                        \
    static inline int32_t x86_batch_##name(int64_t nb, const uint8_t *w, size_t row_bytes, int64_t r0,        \
                                           int64_t r1, const uint8_t *a, size_t act_stride, int32_t nt,       \
                                           float *y, size_t y_stride)                                         \
    {                                                                                                         \
        (void)nb, (void)w, (void)row_bytes, (void)r0, (void)r1, (void)a, (void)act_stride, (void)nt, (void)y, \
            (void)y_stride;                                                                                   \
        return 0;                                                                                             \
    }
#endif

/* Only Q4_0 and Q4_1 take the 4-row mat-vec (last argument of X86_TILES);
 * the others are instantiated for the branch that never calls them. */
X86_MV4(q4_0, og_block_q4_0, og_block_q8_0, 8, 0)
X86_MV4(q4_1, og_block_q4_1, og_block_q8_1, 0, 1)
X86_MV4(q5_0, og_block_q5_0, og_block_q8_0, 16, 0)
X86_MV4(q5_1, og_block_q5_1, og_block_q8_1, 0, 1)
X86_MV4(q8_0, og_block_q8_0, og_block_q8_0, 128, 0)
X86_BATCH(q4_0, og_block_q4_0, og_block_q8_0, 8, 1)
X86_BATCH(q5_0, og_block_q5_0, og_block_q8_0, 16, 1)
X86_BATCH(q8_0, og_block_q8_0, og_block_q8_0, 128, 1)
X86_BATCH(q4_1, og_block_q4_1, og_block_q8_1, 0, 0)
X86_BATCH(q5_1, og_block_q5_1, og_block_q8_1, 0, 0)
X86_TILES(q4_0, og_block_q4_0, og_block_q8_0, x86_scale_singles, x86_scale_singles, signed, 8, 0, 1)
X86_TILES(q5_0, og_block_q5_0, og_block_q8_0, x86_scale_singles, x86_scale_singles, signed, 16, 0, 0)
X86_TILES(q8_0, og_block_q8_0, og_block_q8_0, x86_scale_singles, x86_scale_singles, signed, 128, 0, 0)
X86_TILES(q4_1, og_block_q4_1, og_block_q8_1, x86_scale_pairs, x86_scale_pairs, unsigned, 0, 1, 1)
X86_TILES(q5_1, og_block_q5_1, og_block_q8_1, x86_scale_pairs, x86_scale_pairs, unsigned, 0, 1, 0)

#endif
