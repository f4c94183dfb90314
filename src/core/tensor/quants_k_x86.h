/*
 * quants_k_x86.h - private: the K-format dot and matrix products on 256-bit
 * vectors, included by quants_x86.h (so built once for AVX2 and once for
 * AVX-512).
 *
 * Each format has a prep (scales, mins, d per super-block) and a chunk
 * decoder (32 codes as bytes with the int16 scales maddubs+madd apply).
 * A chunk against 32 Q8_K activations gives its share of the eight int32
 * lane sums of ggml's x86 code exactly (integer math), and x86_kacc_add
 * then keeps ggml's float steps (og_k_mins in blocks.h), so vec_dot, gemm
 * and the scalar reference agree bit for bit and give llama.cpp's
 * results.
 */
#ifndef OG_TENSOR_QUANTS_K_X86_H
#define OG_TENSOR_QUANTS_K_X86_H

/* fp16 to float in one instruction (F16C; exact, like og_h2f). */
X86_INLINE float x86_h2f(og_fp16 h) { return _cvtsh_ss(h); }

/* What a super-block needs before its chunks: the scales to spread (for
 * groups of 16, halves[h] holds groups 8h..8h+7 in both 128-bit halves;
 * for sub-blocks of 32, halves[0] holds all 8), the mins, d and dmin. */
typedef struct {
    __m256i halves[2];
    __m256i mins16; /* Q2_K: the 16 group mins as int16 */
    __m128i mins8;  /* Q4_K, Q5_K: the 8 sub-block mins as int16 */
    float d, dmin;
} x86_kprep;

/* One 32-element chunk: codes as bytes (unsigned, or |code| for the
 * signed formats Q3_K and Q6_K, with signs holding the codes themselves
 * for sign_epi8) and the int16 scales maddubs+madd apply to them. */
typedef struct {
    __m256i codes, signs, scale;
} x86_kchunk;

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

X86_INLINE __m256i x86_k_scale16(const x86_kprep *p, int c)
{
    return _mm256_shuffle_epi8(p->halves[c >> 2], x86_k_spread16(c));
}

/* 16 int8 group scales into the two halves. */
X86_INLINE void x86_k_prep16(x86_kprep *p, __m128i scales8, bool is_signed)
{
    const __m256i all = is_signed ? _mm256_cvtepi8_epi16(scales8) : _mm256_cvtepu8_epi16(scales8);
    p->halves[0] = _mm256_permute2x128_si256(all, all, 0x00);
    p->halves[1] = _mm256_permute2x128_si256(all, all, 0x11);
}

X86_INLINE void x86_k_set_signed(x86_kchunk *ch, __m256i codes)
{
    ch->signs = codes;
    ch->codes = _mm256_abs_epi8(codes);
}

/* Q4_K and Q5_K: the 8 scales and mins are unpacked together with 32-bit
 * masks (the layout of og_k4_scale_min). */
X86_INLINE void x86_k4_prep(x86_kprep *p, const uint8_t *scales, og_fp16 d, og_fp16 dmin)
{
    uint32_t u[3];
    memcpy(u, scales, 12);
    /* built in registers: a vector load of words just stored would stall */
    const __m128i packed = _mm_set_epi32((int)(((u[2] >> 4) & 0x0F0F0F0Fu) | ((u[1] >> 2) & 0x30303030u)), /* mins 4..7 */
                                         (int)(u[1] & 0x3F3F3F3Fu),                                          /* mins 0..3 */
                                         (int)((u[2] & 0x0F0F0F0Fu) | ((u[0] >> 2) & 0x30303030u)),        /* scales 4..7 */
                                         (int)(u[0] & 0x3F3F3F3Fu));                                         /* scales 0..3 */
    p->halves[0] = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(packed));
    p->mins8 = _mm_cvtepu8_epi16(_mm_srli_si128(packed, 8));
    p->d = x86_h2f(d);
    p->dmin = x86_h2f(dmin);
}

X86_INLINE void x86_prep_q4_K(x86_kprep *p, const og_block_q4_K *b) { x86_k4_prep(p, b->scales, b->d, b->dmin); }
X86_INLINE void x86_prep_q5_K(x86_kprep *p, const og_block_q5_K *b) { x86_k4_prep(p, b->scales, b->d, b->dmin); }

/* Q4_K: 4 runs of 64, low nibbles of 32 bytes for chunk 2j, high nibbles
 * for chunk 2j+1. */
X86_INLINE __m256i x86_k4_codes(const uint8_t *qs, int c)
{
    const __m256i bytes = _mm256_loadu_si256((const __m256i *)(qs + 32 * (c >> 1)));
    return _mm256_and_si256(c & 1 ? _mm256_srli_epi16(bytes, 4) : bytes, _mm256_set1_epi8(0x0F));
}

X86_INLINE void x86_chunk_q4_K(x86_kchunk *ch, const og_block_q4_K *b, const x86_kprep *p, int c)
{
    ch->codes = x86_k4_codes(b->qs, c);
    ch->scale = _mm256_shuffle_epi8(p->halves[0], x86_k_spread32(c));
}

/* Q5_K adds bit c of qh[l] as the fifth bit. */
X86_INLINE void x86_chunk_q5_K(x86_kchunk *ch, const og_block_q5_K *b, const x86_kprep *p, int c)
{
    const __m256i qh = _mm256_loadu_si256((const __m256i *)b->qh);
    const __m256i bit = _mm256_and_si256(_mm256_srli_epi16(qh, c), _mm256_set1_epi8(1));
    ch->codes = _mm256_or_si256(x86_k4_codes(b->qs, c), _mm256_slli_epi16(bit, 4));
    ch->scale = _mm256_shuffle_epi8(p->halves[0], x86_k_spread32(c));
}

/* Q2_K/Q3_K: element 32c + l (c = 4h + k) has its 2 low bits at bits 2k
 * of qs[32h + l]. */
X86_INLINE __m256i x86_k_two_bits(const uint8_t *qs, int c)
{
    const __m256i bytes = _mm256_loadu_si256((const __m256i *)(qs + 32 * (c >> 2)));
    return _mm256_and_si256(_mm256_srli_epi16(bytes, 2 * (c & 3)), _mm256_set1_epi8(3));
}

X86_INLINE void x86_prep_q2_K(x86_kprep *p, const og_block_q2_K *b)
{
    const __m128i packed = _mm_loadu_si128((const __m128i *)b->scales);
    const __m128i low_mask = _mm_set1_epi8(0x0F);
    x86_k_prep16(p, _mm_and_si128(packed, low_mask), false);
    p->mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low_mask));
    p->d = x86_h2f(b->d);
    p->dmin = x86_h2f(b->dmin);
}

X86_INLINE void x86_chunk_q2_K(x86_kchunk *ch, const og_block_q2_K *b, const x86_kprep *p, int c)
{
    ch->codes = x86_k_two_bits(b->qs, c);
    ch->scale = x86_k_scale16(p, c);
}

X86_INLINE void x86_prep_q3_K(x86_kprep *p, const og_block_q3_K *b)
{
    int8_t scales[OG_QK_K / 16];
    for (int g = 0; g < OG_QK_K / 16; g++)
        scales[g] = (int8_t)og_q3k_scale(g, b->scales);
    x86_k_prep16(p, _mm_loadu_si128((const __m128i *)scales), true);
    p->d = x86_h2f(b->d);
    p->dmin = 0.0f;
}

/* Q3_K: code = low + 4 * (bit c of hmask[l]) - 4. */
X86_INLINE void x86_chunk_q3_K(x86_kchunk *ch, const og_block_q3_K *b, const x86_kprep *p, int c)
{
    const __m256i hmask = _mm256_loadu_si256((const __m256i *)b->hmask);
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(hmask, c), _mm256_set1_epi8(1));
    const __m256i u = _mm256_or_si256(x86_k_two_bits(b->qs, c), _mm256_slli_epi16(high, 2));
    x86_k_set_signed(ch, _mm256_sub_epi8(u, _mm256_set1_epi8(4)));
    ch->scale = x86_k_scale16(p, c);
}

X86_INLINE void x86_prep_q6_K(x86_kprep *p, const og_block_q6_K *b)
{
    x86_k_prep16(p, _mm_loadu_si128((const __m128i *)b->scales), true);
    p->d = x86_h2f(b->d);
    p->dmin = 0.0f;
}

/* Q6_K: per 128-element half h, 64 bytes of ql (low nibbles: chunks 0
 * and 1 of the half, high nibbles: 2 and 3) and 32 of qh (bits 2k, 2k+1:
 * the top of chunk k); codes are stored with an offset of 32. */
X86_INLINE void x86_chunk_q6_K(x86_kchunk *ch, const og_block_q6_K *b, const x86_kprep *p, int c)
{
    const int h = c >> 2, k = c & 3;
    const __m256i ql = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32 * (k & 1)));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
    const __m256i low = _mm256_and_si256(k >= 2 ? _mm256_srli_epi16(ql, 4) : ql, _mm256_set1_epi8(0x0F));
    const __m256i top = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), _mm256_set1_epi8(3));
    const __m256i u = _mm256_or_si256(low, _mm256_slli_epi16(top, 4));
    x86_k_set_signed(ch, _mm256_sub_epi8(u, _mm256_set1_epi8(32)));
    ch->scale = x86_k_scale16(p, c);
}

/* The int32 lanes of one chunk with 32 Q8_K activations. The int16 stage
 * of maddubs cannot saturate (at most 2*32*127 for |code|, 2*31*127
 * unsigned) and Q8_K never holds -128, which sign_epi8 could not negate. */
X86_INLINE __m256i x86_k_chunk_lanes(const x86_kchunk *ch, const int8_t *q8, bool is_signed)
{
    __m256i y = _mm256_loadu_si256((const __m256i *)q8);
    if (is_signed)
        y = _mm256_sign_epi8(y, ch->signs);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ch->codes, y), ch->scale);
}

/* A super-block's float steps into an output's accumulators, in ggml's
 * order: the min term from the int32 products of the mins with the
 * activation sums (prod8 for LANES8, prod4 for LANES4 and SCALAR), then
 * d times the eight lane sums. d and dmin are read from memory: a
 * broadcast from memory costs no shuffle, which GCC would otherwise use
 * to spread a scale it holds in a register. */
X86_INLINE void x86_kacc_apply(x86_kacc *s, const float *d, const float *dmin, __m256i prod8, __m128i prod4,
                               __m256i sumi, og_k_mins mins)
{
    if (mins == OG_KMINS_LANES8) {
        s->acc = _mm256_fmadd_ps(_mm256_broadcast_ss(dmin), _mm256_cvtepi32_ps(prod8), s->acc);
    } else if (mins == OG_KMINS_LANES4) {
        s->acc_m = _mm_fmadd_ps(_mm_broadcast_ss(dmin), _mm_cvtepi32_ps(prod4), s->acc_m);
    } else if (mins == OG_KMINS_SCALAR) {
        __m128i t = _mm_add_epi32(prod4, _mm_unpackhi_epi64(prod4, prod4));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(2, 3, 0, 1)));
        s->sum_m = fmaf(*dmin, (float)_mm_cvtsi128_si32(t), s->sum_m);
    }
    s->acc = _mm256_fmadd_ps(_mm256_broadcast_ss(d), _mm256_cvtepi32_ps(sumi), s->acc);
}

/* The same from a Q8_K block: its min sums (pairs of bsums as ggml's
 * hadd_epi16 forms them) and its scale times the weights'. */
X86_INLINE void x86_kacc_add(x86_kacc *s, const x86_kprep *p, const og_block_q8_K *a, __m256i sumi, og_k_mins mins)
{
    __m256i prod8 = _mm256_setzero_si256();
    __m128i prod4 = _mm_setzero_si128();
    if (mins == OG_KMINS_LANES8) {
        prod8 = _mm256_madd_epi16(p->mins16, _mm256_loadu_si256((const __m256i *)a->bsums));
    } else if (mins == OG_KMINS_LANES4 || mins == OG_KMINS_SCALAR) {
        const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)a->bsums),
                                             _mm_loadu_si128((const __m128i *)(a->bsums + 8)));
        prod4 = _mm_madd_epi16(p->mins8, pairs);
    }
    const float d = a->d * p->d, dmin = -a->d * p->dmin;
    x86_kacc_apply(s, &d, &dmin, prod8, prod4, sumi, mins);
}

/* The eight tokens' scales of an interleaved super-block times the
 * weights' d and dmin, eight at once (the products ggml forms one by
 * one: y.d * d and -y.d * dmin). */
X86_INLINE void x86_k_scales_x8(const x86_kprep *p, const og_block_q8_K_x8 *a, float ds[8], float dms[8])
{
    const __m256 yd = _mm256_loadu_ps(a->d);
    _mm256_storeu_ps(ds, _mm256_mul_ps(yd, _mm256_set1_ps(p->d)));
    _mm256_storeu_ps(dms, _mm256_mul_ps(_mm256_xor_ps(yd, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(p->dmin)));
}

/* x86_kacc_add for slot s of an interleaved super-block. */
X86_INLINE void x86_kacc_add_x8(x86_kacc *acc, const x86_kprep *p, const og_block_q8_K_x8 *a, int s, const float *ds,
                                const float *dms, __m256i sumi, og_k_mins mins)
{
    __m256i prod8 = _mm256_setzero_si256();
    __m128i prod4 = _mm_setzero_si128();
    if (mins == OG_KMINS_LANES8)
        prod8 = _mm256_madd_epi16(p->mins16, _mm256_loadu_si256((const __m256i *)a->bsums[s]));
    else if (mins == OG_KMINS_LANES4 || mins == OG_KMINS_SCALAR)
        prod4 = _mm_madd_epi16(p->mins8, _mm_loadu_si128((const __m128i *)a->pairs[s]));
    x86_kacc_apply(acc, ds + s, dms + s, prod8, prod4, sumi, mins);
}

X86_INLINE float x86_kacc_result(const x86_kacc *s, og_k_mins mins)
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

/* Tiles of one weight row x T <= X86_K_TOKENS tokens (8: the Q4_K
 * product ran 1.6x ggml's vec_dot loop with 8, 1.5x with 4): each chunk
 * is decoded once, in registers, and applied to every token's
 * activations, the tokens' lane sums held in registers too. Prompts go
 * through gemm_x8, whose activations are interleaved eight tokens to a
 * super-block (og_block_q8_K_x8: one pointer for a tile, the scales
 * multiplied eight at once; 1.15x the same tiles over plain rows). One
 * token (mat-vec, vec_dot) is the plain tile with T = 1, which prefetches
 * the weights X86_PF_BYTES ahead (they stream from memory). */
enum { X86_K_TOKENS = 8 };

/* Keeps the tokens' lane sums in registers from chunk to chunk: without
 * it GCC reassociates the integer adds into one tree over all chunks,
 * holding every product at once and spilling them to the stack (the
 * Q4_K tile ran 1.4x faster with it). */
X86_INLINE void x86_k_pin_sums(__m256i *sumi, int T)
{
    if (T == 8)
        __asm__("" : "+x"(sumi[0]), "+x"(sumi[1]), "+x"(sumi[2]), "+x"(sumi[3]), "+x"(sumi[4]), "+x"(sumi[5]),
                "+x"(sumi[6]), "+x"(sumi[7]));
    else if (T == 4)
        __asm__("" : "+x"(sumi[0]), "+x"(sumi[1]), "+x"(sumi[2]), "+x"(sumi[3]));
    else if (T == 2)
        __asm__("" : "+x"(sumi[0]), "+x"(sumi[1]));
    else
        __asm__("" : "+x"(sumi[0]));
}

/* The loop nest of gemm_x8. A pass takes as many groups of eight tokens
 * as keep their activations within a quarter of the L2 (256 KiB here).
 * Its rows go in blocks of 128 KiB of weights, which stay in the L2
 * while each group of the pass runs over them; a group's activations,
 * read again by every row of the block, then come from the L1 (the
 * prototype ran 1.25x faster so than with each row running over all
 * groups). Rows longer than a segment of X86_K_SEGMENT_BYTES of a
 * group's activations are taken a segment at a time, each row's
 * accumulators kept in a state between segments: their float steps
 * still run super-block by super-block, in ggml's order. */
enum { X86_K_SEGMENT_BYTES = 16 << 10, X86_K_STATE_ROWS = 32 };

static inline int32_t x86_k_x8_chunk(int64_t nb)
{
    const int64_t groups = (256 << 10) / (nb * (int64_t)sizeof(og_block_q8_K_x8));
    return groups < 1 ? 8 : groups > 8 ? 64 : (int32_t)groups * 8;
}

/* Super-blocks per segment: nb when they fit, else nb split evenly. */
static inline int64_t x86_k_x8_segment(int64_t nb)
{
    const int64_t fit = X86_K_SEGMENT_BYTES / (int64_t)sizeof(og_block_q8_K_x8);
    const int64_t n_seg = (nb + fit - 1) / fit;
    return (nb + n_seg - 1) / n_seg;
}

/* The next row's segment, requested while this row's runs: segments
 * are short runs far apart, which the hardware prefetcher does not
 * follow (a Q6_K pass waited a third of its time on them). */
static inline void x86_k_prefetch_run(const void *p, size_t bytes)
{
    for (size_t o = 0; o < bytes; o += 64)
        _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

static inline int64_t x86_k_x8_rows(size_t row_bytes, bool segmented)
{
    int64_t rows = (int64_t)((128u << 10) / row_bytes);
    rows = rows < 1 ? 1 : rows;
    return segmented && rows > X86_K_STATE_ROWS ? X86_K_STATE_ROWS : rows;
}

#define X86_K_FORMAT(name, wblock, mins, is_signed)                                                            \
    /* sumi[t] = the eight lane sums of super-block b with the codes q8[t] */                                  \
    X86_INLINE void x86_ksums_##name(const wblock *b, const x86_kprep *p, const int8_t *const *q8, int T,      \
                                     __m256i *sumi)                                                            \
    {                                                                                                          \
        _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) sumi[t] = _mm256_setzero_si256();                 \
        _Pragma("GCC unroll 8") for (int c = 0; c < 8; c++) {                                                  \
            x86_kchunk ch;                                                                                     \
            x86_chunk_##name(&ch, b, p, c);                                                                    \
            _Pragma("GCC unroll 8") for (int t = 0; t < T; t++)                                                \
                sumi[t] = _mm256_add_epi32(sumi[t], x86_k_chunk_lanes(&ch, q8[t] + 32 * c, is_signed));        \
            x86_k_pin_sums(sumi, T);                                                                           \
        }                                                                                                      \
    }                                                                                                          \
                                                                                                               \
    X86_INLINE void x86_ktile_##name(int64_t nb, const wblock *w, const uint8_t *a, size_t act_stride, int T,  \
                                     float *y, size_t y_stride)                                                \
    {                                                                                                          \
        x86_kacc acc[X86_K_TOKENS];                                                                            \
        for (int t = 0; t < T; t++)                                                                            \
            acc[t] = x86_kacc_zero();                                                                          \
        for (int64_t i = 0; i < nb; i++) {                                                                     \
            if (T == 1)                                                                                        \
                for (size_t o = 0; o < sizeof(wblock); o += 64)                                                \
                    _mm_prefetch((const char *)&w[i] + X86_PF_BYTES + o, _MM_HINT_T0);                         \
            const og_block_q8_K *at[X86_K_TOKENS];                                                             \
            const int8_t *q8[X86_K_TOKENS];                                                                    \
            for (int t = 0; t < T; t++) {                                                                      \
                at[t] = (const og_block_q8_K *)(a + (size_t)t * act_stride) + i;                               \
                q8[t] = at[t]->qs;                                                                             \
            }                                                                                                  \
            x86_kprep p;                                                                                       \
            x86_prep_##name(&p, &w[i]);                                                                        \
            __m256i sumi[X86_K_TOKENS];                                                                        \
            x86_ksums_##name(&w[i], &p, q8, T, sumi);                                                          \
            for (int t = 0; t < T; t++)                                                                        \
                x86_kacc_add(&acc[t], &p, at[t], sumi[t], mins);                                               \
        }                                                                                                      \
        for (int t = 0; t < T; t++)                                                                            \
            y[(size_t)t * y_stride] = x86_kacc_result(&acc[t], mins);                                          \
    }                                                                                                          \
                                                                                                               \
    /* Slots s0 .. s0 + T - 1 over the interleaved super-blocks [i0, i1),                                     \
     * their accumulators starting from zero (i0 = 0) or state[s0 ..]; at                                     \
     * the end written to y (last) or back to the state. */                                                    \
    X86_INLINE void x86_ktile_x8_##name(int64_t i0, int64_t i1, bool last, const wblock *w,                    \
                                        const og_block_q8_K_x8 *a, int s0, int T, x86_kacc *state, float *y,    \
                                        size_t y_stride)                                                       \
    {                                                                                                          \
        x86_kacc acc[X86_K_TOKENS];                                                                            \
        _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) acc[t] = i0 == 0 ? x86_kacc_zero() : state[s0 + t]; \
        for (int64_t i = i0; i < i1; i++) {                                                                    \
            const og_block_q8_K_x8 *rec = &a[i];                                                               \
            x86_kprep p;                                                                                       \
            x86_prep_##name(&p, &w[i]);                                                                        \
            float ds[8], dms[8];                                                                               \
            x86_k_scales_x8(&p, rec, ds, dms);                                                                 \
            const int8_t *q8[X86_K_TOKENS];                                                                    \
            _Pragma("GCC unroll 8") for (int t = 0; t < T; t++) q8[t] = rec->qs[s0 + t];                       \
            __m256i sumi[X86_K_TOKENS];                                                                        \
            x86_ksums_##name(&w[i], &p, q8, T, sumi);                                                          \
            _Pragma("GCC unroll 8") for (int t = 0; t < T; t++)                                                \
                x86_kacc_add_x8(&acc[t], &p, rec, s0 + t, ds, dms, sumi[t], mins);                             \
        }                                                                                                      \
        for (int t = 0; t < T; t++) {                                                                          \
            if (last)                                                                                          \
                y[(size_t)t * y_stride] = x86_kacc_result(&acc[t], mins);                                      \
            else                                                                                               \
                state[s0 + t] = acc[t];                                                                        \
        }                                                                                                      \
    }                                                                                                          \
                                                                                                               \
    /* One row over the first n_left (<= 8) tokens of group a: a tile of 8,                                    \
     * or of the last group's 4, 2, 1. */                                                                      \
    X86_INLINE void x86_kgroup_x8_##name(int64_t i0, int64_t i1, bool last, const wblock *w,                   \
                                         const og_block_q8_K_x8 *a, int32_t n_left, x86_kacc *state, float *y,  \
                                         size_t y_stride)                                                      \
    {                                                                                                          \
        if (n_left >= 8) {                                                                                     \
            x86_ktile_x8_##name(i0, i1, last, w, a, 0, 8, state, y, y_stride);                                 \
            return;                                                                                            \
        }                                                                                                      \
        int s = 0;                                                                                             \
        if (n_left - s >= 4) {                                                                                 \
            x86_ktile_x8_##name(i0, i1, last, w, a, s, 4, state, y + (size_t)s * y_stride, y_stride);          \
            s += 4;                                                                                            \
        }                                                                                                      \
        if (n_left - s >= 2) {                                                                                 \
            x86_ktile_x8_##name(i0, i1, last, w, a, s, 2, state, y + (size_t)s * y_stride, y_stride);          \
            s += 2;                                                                                            \
        }                                                                                                      \
        if (n_left - s >= 1)                                                                                   \
            x86_ktile_x8_##name(i0, i1, last, w, a, s, 1, state, y + (size_t)s * y_stride, y_stride);          \
    }                                                                                                          \
                                                                                                               \
    static void x86_vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act)                 \
    {                                                                                                          \
        x86_ktile_##name(n / OG_QK_K, w_row, act, 0, 1, out, 0);                                               \
    }                                                                                                          \
                                                                                                               \
    static void x86_gemm_##name(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,           \
                                const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride) \
    {                                                                                                          \
        const int64_t nb = n / OG_QK_K;                                                                        \
        if (n_tokens == 1) {                                                                                   \
            for (int64_t r = r0; r < r1; r++)                                                                  \
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
                /* the rest in tiles of 4, 2, 1: each its own unrolled copy */                                \
                if (nt - t >= 4) {                                                                             \
                    x86_ktile_##name(nb, wr, a + (size_t)t * act_stride, act_stride, 4, yr + (size_t)t * y_stride, \
                                     y_stride);                                                                \
                    t += 4;                                                                                    \
                }                                                                                              \
                if (nt - t >= 2) {                                                                             \
                    x86_ktile_##name(nb, wr, a + (size_t)t * act_stride, act_stride, 2, yr + (size_t)t * y_stride, \
                                     y_stride);                                                                \
                    t += 2;                                                                                    \
                }                                                                                              \
                if (nt - t >= 1)                                                                               \
                    x86_ktile_##name(nb, wr, a + (size_t)t * act_stride, act_stride, 1, yr + (size_t)t * y_stride, \
                                     y_stride);                                                                \
            }                                                                                                  \
        }                                                                                                      \
    }                                                                                                          \
                                                                                                               \
    /* acts in OG_TYPE_Q8_K_X8 groups, act_stride bytes apart */                                               \
    static void x86_gemm_x8_##name(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,        \
                                   const void *acts, size_t act_stride, int32_t n_tokens, float *y,            \
                                   size_t y_stride)                                                            \
    {                                                                                                          \
        const int64_t nb = n / OG_QK_K, seg = x86_k_x8_segment(nb);                                            \
        const int64_t rows_per_block = x86_k_x8_rows(row_bytes, seg < nb);                                     \
        const int32_t chunk = x86_k_x8_chunk(nb);                                                              \
        x86_kacc state[X86_K_STATE_ROWS][X86_K_TOKENS]; /* only when segmented */                              \
        for (int32_t t0 = 0; t0 < n_tokens; t0 += chunk) {                                                     \
            const int32_t t_end = n_tokens - t0 < chunk ? n_tokens : t0 + chunk;                               \
            for (int64_t rb = r0; rb < r1; rb += rows_per_block) {                                             \
                const int64_t rb_end = r1 - rb < rows_per_block ? r1 : rb + rows_per_block;                    \
                for (int32_t t = t0; t < t_end; t += 8) {                                                      \
                    const og_block_q8_K_x8 *g =                                                                \
                        (const og_block_q8_K_x8 *)((const uint8_t *)acts + (size_t)(t / 8) * act_stride);      \
                    for (int64_t i0 = 0; i0 < nb; i0 += seg) {                                                 \
                        const int64_t i1 = nb - i0 < seg ? nb : i0 + seg;                                      \
                        for (int64_t r = rb; r < rb_end; r++) {                                                \
                            const wblock *wr = (const wblock *)((const uint8_t *)w + (size_t)r * row_bytes);   \
                            if (r + 1 < rb_end)                                                                \
                                x86_k_prefetch_run((const uint8_t *)(wr + i0) + row_bytes, (size_t)(i1 - i0) * sizeof(wblock)); \
                            x86_kgroup_x8_##name(i0, i1, i1 == nb, wr, g, t_end - t,                           \
                                                 state[seg < nb ? r - rb : 0],                                 \
                                                 y + (size_t)t * y_stride + (size_t)r, y_stride);              \
                        }                                                                                      \
                    }                                                                                          \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    }

X86_K_FORMAT(q2_K, og_block_q2_K, OG_KMINS_LANES8, false)
X86_K_FORMAT(q3_K, og_block_q3_K, OG_KMINS_NONE, true)
X86_K_FORMAT(q4_K, og_block_q4_K, OG_KMINS_LANES4, false)
X86_K_FORMAT(q5_K, og_block_q5_K, OG_KMINS_SCALAR, false)
X86_K_FORMAT(q6_K, og_block_q6_K, OG_KMINS_NONE, true)

#endif
