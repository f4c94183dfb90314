/*
 * ftile_halves_x86.h - private, AVX2 only (included by quants_x86.h when
 * !X86_WIDE): the full register tile of the batched F32/F16 product, 4
 * weight rows by 3 tokens. Each output is a 16-lane chain (llama.cpp's
 * AVX-512 order, see quants_x86.h); AVX2 holds it as two 8-lane halves,
 * and 12 outputs' two halves (24 ymm) do not fit the 16 registers. So the
 * tile runs the low halves of all 12 outputs over a chunk of the row,
 * then the high halves over the same chunk (still in L1), with 12
 * accumulators and 7 loads for every 12 multiply-adds. Each lane sees
 * the same products in the same order as the one-chain kernel, so the
 * results are its bits.
 */
#ifndef OG_TENSOR_FTILE_HALVES_X86_H
#define OG_TENSOR_FTILE_HALVES_X86_H

/* Elements of a row per chunk: 4 rows and 3 tokens of it are 7 KiB of F32. */
#define X86_FT_CHUNK 256

#define X86_FT_STEP(row, x0, x1, x2, c0, c1, c2, load)                                                    \
    do {                                                                                                 \
        const __m256 wv = load(row + l);                                                                 \
        c0 = _mm256_fmadd_ps(wv, x0, c0);                                                                \
        c1 = _mm256_fmadd_ps(wv, x1, c1);                                                                \
        c2 = _mm256_fmadd_ps(wv, x2, c2);                                                                \
    } while (0)

#define X86_FTILE_HALVES(name, elem, load8)                                                                    \
    /* One half (lanes of w[r] + l .. + 8 for l = l0, l0 + 16, ... < l1) of the 12 chains in acc. */            \
    X86_INLINE void x86_fhalf_##name(int64_t l0, int64_t l1, const elem *const *w, const elem *const *a,      \
                                     __m256 *acc)                                                            \
    {                                                                                                        \
        __m256 c00 = acc[0], c01 = acc[1], c02 = acc[2], c10 = acc[3], c11 = acc[4], c12 = acc[5];           \
        __m256 c20 = acc[6], c21 = acc[7], c22 = acc[8], c30 = acc[9], c31 = acc[10], c32 = acc[11];         \
        const elem *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3], *a0 = a[0], *a1 = a[1], *a2 = a[2];     \
        for (int64_t l = l0; l < l1; l += 16) {                                                              \
            const __m256 x0 = load8(a0 + l), x1 = load8(a1 + l), x2 = load8(a2 + l);                         \
            X86_FT_STEP(w0, x0, x1, x2, c00, c01, c02, load8);                                               \
            X86_FT_STEP(w1, x0, x1, x2, c10, c11, c12, load8);                                               \
            X86_FT_STEP(w2, x0, x1, x2, c20, c21, c22, load8);                                               \
            X86_FT_STEP(w3, x0, x1, x2, c30, c31, c32, load8);                                               \
        }                                                                                                    \
        acc[0] = c00, acc[1] = c01, acc[2] = c02, acc[3] = c10, acc[4] = c11, acc[5] = c12;                  \
        acc[6] = c20, acc[7] = c21, acc[8] = c22, acc[9] = c30, acc[10] = c31, acc[11] = c32;                \
    }                                                                                                        \
                                                                                                             \
    /* y[t * y_stride + r] for 4 rows of w and 3 tokens of a; n a multiple of 16. */                          \
    X86_INLINE void x86_ftile43_##name(int64_t n, const uint8_t *w, size_t row_bytes, const uint8_t *a,       \
                                       size_t act_stride, float *y, size_t y_stride)                          \
    {                                                                                                        \
        __m256 acc[2][12];                                                                                   \
        for (int i = 0; i < 12; i++)                                                                         \
            acc[0][i] = acc[1][i] = _mm256_setzero_ps();                                                     \
        const elem *lo_w[4], *hi_w[4], *lo_a[3], *hi_a[3];                                                   \
        for (int r = 0; r < 4; r++)                                                                          \
            hi_w[r] = (lo_w[r] = (const elem *)(w + (size_t)r * row_bytes)) + 8;                             \
        for (int t = 0; t < 3; t++)                                                                          \
            hi_a[t] = (lo_a[t] = (const elem *)(a + (size_t)t * act_stride)) + 8;                            \
        for (int64_t c = 0; c < n; c += X86_FT_CHUNK) {                                                      \
            const int64_t c1 = c + X86_FT_CHUNK < n ? c + X86_FT_CHUNK : n;                                  \
            x86_fhalf_##name(c, c1, lo_w, lo_a, acc[0]);                                                     \
            x86_fhalf_##name(c, c1, hi_w, hi_a, acc[1]);                                                     \
        }                                                                                                    \
        for (int r = 0; r < 4; r++)                                                                          \
            for (int t = 0; t < 3; t++) /* og_reduce16's tree, in registers */                               \
                y[(size_t)t * y_stride + (size_t)r] = x86_hsum_ps(_mm256_add_ps(acc[0][r * 3 + t], acc[1][r * 3 + t])); \
    }

static inline __m256 x86_load8_f32(const float *p) { return _mm256_loadu_ps(p); }

#endif
