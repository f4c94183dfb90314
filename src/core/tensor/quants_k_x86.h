/*
 * quants_k_x86.h - private: the K-format dot and matrix products on 256-bit
 * vectors, included by quants_x86.h (so built once for AVX2 and once for
 * AVX-512).
 *
 * Every super-block is decoded once into x86_kdec: eight 32-element
 * chunks of codes as bytes, each with the int16 scales that maddubs+madd
 * apply, plus the min data. Applying it to one Q8_K block gives the eight
 * int32 lane sums of ggml's x86 code exactly (integer math), and
 * x86_kacc_add then keeps ggml's float steps (og_k_mins in blocks.h), so
 * vec_dot, gemm and the scalar reference agree bit for bit and give
 * llama.cpp's results. gemm decodes a super-block once for up to
 * X86_K_TOKENS activation rows; mat-vec takes X86_K_ROWS rows at once.
 */
#ifndef OG_TENSOR_QUANTS_K_X86_H
#define OG_TENSOR_QUANTS_K_X86_H

typedef struct {
    __m256i codes[8];  /* unsigned codes, or |code| for the signed formats */
    __m256i signs[8];  /* signed formats (Q3_K, Q6_K): the codes, for sign_epi8 */
    __m256i scale[8];  /* int16 scales of each chunk's product pairs */
    __m256i mins16;    /* Q2_K: the 16 group mins as int16 */
    __m128i mins8;     /* Q4_K, Q5_K: the 8 sub-block mins as int16 */
    float d, dmin;
} x86_kdec;

/* Per output: ggml's eight float lanes, and the min lanes or sum. */
typedef struct {
    __m256 acc;
    __m128 acc_m;
    float sum_m;
} x86_kacc;

/* shuffle_epi8 controls that spread int16 scales over a chunk: for
 * 32-element sub-blocks, scale c of 8 (in both 128-bit halves) to all 16
 * lanes; for groups of 16, scale 2c' to the low half and 2c'+1 to the
 * high half, c' = c % 4, from the 8 scales of the chunk's half. */
static inline __m256i x86_k_spread32(int c)
{
    return _mm256_set1_epi16((short)(2 * c | (2 * c + 1) << 8));
}

static inline __m256i x86_k_spread16(int c)
{
    const int g = 2 * (c & 3);
    return _mm256_set_m128i(_mm_set1_epi16((short)(2 * (g + 1) | (2 * (g + 1) + 1) << 8)),
                            _mm_set1_epi16((short)(2 * g | (2 * g + 1) << 8)));
}

/* 16 int8 group scales to each chunk's int16 scale vector. */
static inline __attribute__((always_inline)) void x86_k_scales16(x86_kdec *out, __m128i scales8, bool is_signed)
{
    const __m256i all = is_signed ? _mm256_cvtepi8_epi16(scales8) : _mm256_cvtepu8_epi16(scales8);
    const __m256i halves[2] = { _mm256_permute2x128_si256(all, all, 0x00), _mm256_permute2x128_si256(all, all, 0x11) };
    for (int c = 0; c < 8; c++)
        out->scale[c] = _mm256_shuffle_epi8(halves[c >> 2], x86_k_spread16(c));
}

/* Signed codes to |code| and the codes kept for their signs. */
static inline __attribute__((always_inline)) void x86_k_signed(x86_kdec *out, int c, __m256i codes)
{
    out->signs[c] = codes;
    out->codes[c] = _mm256_abs_epi8(codes);
}

/* Q4_K and Q5_K: 4 chunks of 64, low nibbles for the first 32 elements,
 * high nibbles for the next 32; Q5_K adds bit 2c / 2c+1 of qh. The 8
 * scales and mins are unpacked together with 32-bit masks (the layout of
 * og_k4_scale_min). */
static inline __attribute__((always_inline)) void x86_k4_decode(x86_kdec *out, const og_block_q4_K *q4,
                                                                const og_block_q5_K *q5)
{
    const uint8_t *scales = q4 ? q4->scales : q5->scales;
    const uint8_t *qs = q4 ? q4->qs : q5->qs;
    uint32_t u[3], packed[4];
    memcpy(u, scales, 12);
    packed[0] = u[0] & 0x3F3F3F3Fu;                                           /* scales 0..3 */
    packed[1] = (u[2] & 0x0F0F0F0Fu) | ((u[0] >> 2) & 0x30303030u);          /* scales 4..7 */
    packed[2] = u[1] & 0x3F3F3F3Fu;                                           /* mins 0..3 */
    packed[3] = ((u[2] >> 4) & 0x0F0F0F0Fu) | ((u[1] >> 2) & 0x30303030u);   /* mins 4..7 */
    const __m128i both = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)packed));
    const __m256i sc = _mm256_broadcastsi128_si256(both);
    for (int c = 0; c < 8; c++)
        out->scale[c] = _mm256_shuffle_epi8(sc, x86_k_spread32(c));
    out->mins8 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(packed + 2)));

    const __m256i low_mask = _mm256_set1_epi8(0x0F);
    const __m256i one = _mm256_set1_epi8(1);
    for (int c = 0; c < 4; c++) {
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i lo = _mm256_and_si256(bytes, low_mask);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_mask);
        if (q5) {
            const __m256i qh = _mm256_loadu_si256((const __m256i *)q5->qh);
            const __m256i bit_lo = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c)), one);
            const __m256i bit_hi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c + 1)), one);
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(bit_lo, 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(bit_hi, 4));
        }
        out->codes[2 * c] = lo;
        out->codes[2 * c + 1] = hi;
    }
    out->d = og_h2f(q4 ? q4->d : q5->d);
    out->dmin = og_h2f(q4 ? q4->dmin : q5->dmin);
}

static inline __attribute__((always_inline)) void x86_decode_q4_K(x86_kdec *out, const og_block_q4_K *b)
{
    x86_k4_decode(out, b, NULL);
}

static inline __attribute__((always_inline)) void x86_decode_q5_K(x86_kdec *out, const og_block_q5_K *b)
{
    x86_k4_decode(out, NULL, b);
}

/* Q2_K/Q3_K: element 32c + l (c = 4h + k) has its 2 low bits at bits 2k
 * of qs[32h + l]. */
static inline __m256i x86_k_two_bits(const uint8_t *qs, int c)
{
    const __m256i bytes = _mm256_loadu_si256((const __m256i *)(qs + 32 * (c >> 2)));
    return _mm256_and_si256(_mm256_srl_epi16(bytes, _mm_cvtsi32_si128(2 * (c & 3))), _mm256_set1_epi8(3));
}

static inline __attribute__((always_inline)) void x86_decode_q2_K(x86_kdec *out, const og_block_q2_K *b)
{
    const __m128i packed = _mm_loadu_si128((const __m128i *)b->scales);
    const __m128i low_mask = _mm_set1_epi8(0x0F);
    x86_k_scales16(out, _mm_and_si128(packed, low_mask), false);
    out->mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low_mask));
    for (int c = 0; c < 8; c++)
        out->codes[c] = x86_k_two_bits(b->qs, c);
    out->d = og_h2f(b->d);
    out->dmin = og_h2f(b->dmin);
}

/* Q3_K: code = low + 4 * hmask bit - 4, hmask bit c of byte l. */
static inline __attribute__((always_inline)) void x86_decode_q3_K(x86_kdec *out, const og_block_q3_K *b)
{
    int8_t scales[OG_QK_K / 16];
    for (int g = 0; g < OG_QK_K / 16; g++)
        scales[g] = (int8_t)og_q3k_scale(g, b->scales);
    x86_k_scales16(out, _mm_loadu_si128((const __m128i *)scales), true);
    const __m256i hmask = _mm256_loadu_si256((const __m256i *)b->hmask);
    for (int c = 0; c < 8; c++) {
        const __m256i high = _mm256_and_si256(_mm256_srl_epi16(hmask, _mm_cvtsi32_si128(c)), _mm256_set1_epi8(1));
        const __m256i u = _mm256_or_si256(x86_k_two_bits(b->qs, c), _mm256_slli_epi16(high, 2));
        x86_k_signed(out, c, _mm256_sub_epi8(u, _mm256_set1_epi8(4)));
    }
    out->d = og_h2f(b->d);
    out->dmin = 0.0f;
}

/* Q6_K: per 128-element half, 64 bytes of ql (low nibbles: elements
 * 0..63, high nibbles: 64..127) and 32 of qh (top 2 bits of elements l,
 * l+32, l+64, l+96); codes are stored with an offset of 32. */
static inline __attribute__((always_inline)) void x86_decode_q6_K(x86_kdec *out, const og_block_q6_K *b)
{
    const __m256i low_mask = _mm256_set1_epi8(0x0F);
    const __m256i two_bits = _mm256_set1_epi8(3);
    const __m256i offset = _mm256_set1_epi8(32);
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = b->ql + 64 * half;
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * half));
        const __m256i ql0 = _mm256_loadu_si256((const __m256i *)ql);
        const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
        const __m256i low[4] = { _mm256_and_si256(ql0, low_mask), _mm256_and_si256(ql1, low_mask),
                                 _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_mask),
                                 _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_mask) };
        for (int k = 0; k < 4; k++) {
            const __m256i top = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), two_bits);
            const __m256i u = _mm256_or_si256(low[k], _mm256_slli_epi16(top, 4));
            x86_k_signed(out, 4 * half + k, _mm256_sub_epi8(u, offset));
        }
    }
    x86_k_scales16(out, _mm_loadu_si128((const __m128i *)b->scales), true);
    out->d = og_h2f(b->d);
    out->dmin = 0.0f;
}

/* The eight int32 lane sums of one super-block with one Q8_K block. The
 * int16 stage of maddubs cannot saturate (at most 2*32*127 for |code|,
 * 2*31*127 unsigned) and Q8_K never holds -128, which sign_epi8 could
 * not negate. */
static inline __attribute__((always_inline)) __m256i x86_k_lanes(const x86_kdec *b, const int8_t *q8, bool is_signed)
{
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 8; c++) {
        __m256i y = _mm256_loadu_si256((const __m256i *)(q8 + 32 * c));
        if (is_signed)
            y = _mm256_sign_epi8(y, b->signs[c]);
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(b->codes[c], y), b->scale[c]));
    }
    return sumi;
}

/* One super-block's term into an output's accumulators, in ggml's order. */
static inline __attribute__((always_inline)) void x86_kacc_add(x86_kacc *s, const x86_kdec *b,
                                                              const og_block_q8_K *a, og_k_mins mins, bool is_signed)
{
    const __m256i sumi = x86_k_lanes(b, a->qs, is_signed);
    const float d = a->d * b->d, dmin = -a->d * b->dmin;
    if (mins == OG_KMINS_LANES8) {
        const __m256i prod = _mm256_madd_epi16(b->mins16, _mm256_loadu_si256((const __m256i *)a->bsums));
        s->acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(prod), s->acc);
    } else if (mins == OG_KMINS_LANES4 || mins == OG_KMINS_SCALAR) {
        const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)a->bsums),
                                             _mm_loadu_si128((const __m128i *)(a->bsums + 8)));
        const __m128i prod = _mm_madd_epi16(b->mins8, pairs);
        if (mins == OG_KMINS_LANES4) {
            s->acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), s->acc_m);
        } else {
            __m128i t = _mm_add_epi32(prod, _mm_unpackhi_epi64(prod, prod));
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(2, 3, 0, 1)));
            s->sum_m = fmaf(dmin, (float)_mm_cvtsi128_si32(t), s->sum_m);
        }
    }
    s->acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), s->acc);
}

static inline __attribute__((always_inline)) float x86_kacc_result(const x86_kacc *s, og_k_mins mins)
{
    float sum = x86_hsum_ps(s->acc);
    if (mins == OG_KMINS_LANES4) {
        __m128 m = _mm_add_ps(s->acc_m, _mm_movehl_ps(s->acc_m, s->acc_m));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        sum += _mm_cvtss_f32(m);
    } else if (mins == OG_KMINS_SCALAR) {
        sum += s->sum_m;
    }
    return sum;
}

static inline x86_kacc x86_kacc_zero(void) { return (x86_kacc){ _mm256_setzero_ps(), _mm_setzero_ps(), 0.0f }; }

/* Tiles of one weight row x up to X86_K_TOKENS activation rows (gemm, in
 * chunks of X86_TOKEN_CHUNK tokens as for the 32-wide formats), and of
 * X86_K_ROWS weight rows x one activation row (mat-vec). */
enum { X86_K_TOKENS = 4, X86_K_ROWS = 2 };

#define X86_K_FORMAT(name, wblock, mins, is_signed)                                                            \
    static inline __attribute__((always_inline)) void x86_ktile_##name(int64_t nb, const wblock *w,          \
                                                                       const uint8_t *a, size_t act_stride,    \
                                                                       int T, float *y, size_t y_stride)       \
    {                                                                                                          \
        x86_kacc acc[X86_K_TOKENS];                                                                            \
        for (int t = 0; t < T; t++)                                                                            \
            acc[t] = x86_kacc_zero();                                                                          \
        for (int64_t i = 0; i < nb; i++) {                                                                     \
            x86_kdec b;                                                                                        \
            x86_decode_##name(&b, &w[i]);                                                                      \
            for (int t = 0; t < T; t++)                                                                        \
                x86_kacc_add(&acc[t], &b, (const og_block_q8_K *)(a + (size_t)t * act_stride) + i, mins,        \
                             is_signed);                                                                       \
        }                                                                                                      \
        for (int t = 0; t < T; t++)                                                                            \
            y[(size_t)t * y_stride] = x86_kacc_result(&acc[t], mins);                                          \
    }                                                                                                          \
                                                                                                               \
    static void x86_vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act)                 \
    {                                                                                                          \
        x86_ktile_##name(n / OG_QK_K, w_row, act, 0, 1, out, 0);                                               \
    }                                                                                                          \
                                                                                                               \
    /* X86_K_ROWS rows from w (rows row_bytes apart) with one activation. */                                  \
    static inline __attribute__((always_inline)) void x86_krows_##name(int64_t nb, const uint8_t *w,          \
                                                                       size_t row_bytes,                       \
                                                                       const og_block_q8_K *a, float *y)       \
    {                                                                                                          \
        x86_kacc acc[X86_K_ROWS];                                                                              \
        for (int r = 0; r < X86_K_ROWS; r++)                                                                   \
            acc[r] = x86_kacc_zero();                                                                          \
        for (int64_t i = 0; i < nb; i++)                                                                       \
            for (int r = 0; r < X86_K_ROWS; r++) {                                                             \
                x86_kdec b;                                                                                    \
                x86_decode_##name(&b, (const wblock *)(w + (size_t)r * row_bytes) + i);                        \
                x86_kacc_add(&acc[r], &b, &a[i], mins, is_signed);                                             \
            }                                                                                                  \
        for (int r = 0; r < X86_K_ROWS; r++)                                                                   \
            y[r] = x86_kacc_result(&acc[r], mins);                                                             \
    }                                                                                                          \
                                                                                                               \
    static void x86_gemm_##name(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,           \
                                const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride) \
    {                                                                                                          \
        const int64_t nb = n / OG_QK_K;                                                                        \
        if (n_tokens == 1) {                                                                                   \
            int64_t r = r0;                                                                                    \
            for (; r + X86_K_ROWS <= r1; r += X86_K_ROWS)                                                      \
                x86_krows_##name(nb, (const uint8_t *)w + (size_t)r * row_bytes, row_bytes, acts, y + r);      \
            for (; r < r1; r++)                                                                                \
                x86_ktile_##name(nb, (const wblock *)((const uint8_t *)w + (size_t)r * row_bytes), acts, 0, 1, \
                                 y + r, 0);                                                                    \
            return;                                                                                            \
        }                                                                                                      \
        for (int32_t t0 = 0; t0 < n_tokens; t0 += X86_TOKEN_CHUNK) {                                           \
            const int32_t nt = n_tokens - t0 < X86_TOKEN_CHUNK ? n_tokens - t0 : X86_TOKEN_CHUNK;              \
            const uint8_t *a = (const uint8_t *)acts + (size_t)t0 * act_stride;                                \
            for (int64_t r = r0; r < r1; r++) {                                                                \
                const wblock *wr = (const wblock *)((const uint8_t *)w + (size_t)r * row_bytes);               \
                float *yr = y + (size_t)t0 * y_stride + (size_t)r;                                             \
                int32_t t = 0;                                                                                 \
                for (; t + X86_K_TOKENS <= nt; t += X86_K_TOKENS)                                              \
                    x86_ktile_##name(nb, wr, a + (size_t)t * act_stride, act_stride, X86_K_TOKENS,             \
                                     yr + (size_t)t * y_stride, y_stride);                                     \
                for (; t < nt; t++)                                                                            \
                    x86_ktile_##name(nb, wr, a + (size_t)t * act_stride, act_stride, 1,                        \
                                     yr + (size_t)t * y_stride, y_stride);                                     \
            }                                                                                                  \
        }                                                                                                      \
    }

X86_K_FORMAT(q2_K, og_block_q2_K, OG_KMINS_LANES8, false)
X86_K_FORMAT(q3_K, og_block_q3_K, OG_KMINS_NONE, true)
X86_K_FORMAT(q4_K, og_block_q4_K, OG_KMINS_LANES4, false)
X86_K_FORMAT(q5_K, og_block_q5_K, OG_KMINS_SCALAR, false)
X86_K_FORMAT(q6_K, og_block_q6_K, OG_KMINS_NONE, true)

#endif
