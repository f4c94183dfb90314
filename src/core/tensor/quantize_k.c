/*
 * quantize_k.c - the weight quantizers of the K formats (Q2_K, Q3_K, Q4_K,
 * Q5_K, Q6_K, and Q8_K), behind og_quantize_row_ref.
 *
 * They produce exactly the bytes of ggml's reference quantizers (llama.cpp
 * b4747 quantize_row_qN_K_ref, which is what llama-quantize runs when it
 * has no importance matrix), so a file made here and one made by
 * llama-quantize from the same floats are identical. That needs the same
 * float operations in the same order and unfused: ggml-base (where those
 * quantizers live) is built without -march, so it has no FMA to contract
 * into, and this project builds with -ffp-contract=off. Every expression
 * below is therefore written in the order of evaluation that matters, and
 * the implementation-defined narrowings (to int8_t/uint8_t) are explicit.
 * tests/test_quantize_k.c pins the output against bytes ggml produced.
 */
#include <math.h>

#include "tensor/blocks.h"
#include "tensor/kernels.h"

/* ggml's threshold under which a group counts as all zero. */
#define ZERO_EPS 1e-15f

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static int clampi(int v, int lo, int hi) { return imax(lo, imin(hi, v)); }

/* Round to nearest (ties to even) by adding 1.5 * 2^23 and reading the
 * mantissa: ggml's nearest_int. Valid for |v| < 2^22; outside that (or for
 * NaN) it still gives ggml's value, which is what byte identity needs. */
static int round_magic(float v)
{
    const float biased = v + 12582912.0f;
    const uint32_t bits = og_f32_to_bits(biased);
    return (int)(bits & 0x007fffffu) - 0x00400000;
}

/* The element of largest magnitude, sign kept (the first one on ties). */
static float signed_absmax(int n, const float *x, float *amax_out)
{
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    *amax_out = amax;
    return max;
}

/*
 * Affine fit x ~ scale * L + min with codes L in [0, nmax] and min <= 0,
 * minimizing the weighted absolute (abs_err) or squared error: starts from
 * the min/max grid, then tries nstep + 1 stretched grids and keeps the
 * least-squares scale/min of the best one. Returns the scale; *neg_min
 * gets -min. n <= 32 (groups of 16 or 32). (ggml's make_qkx2_quants.)
 */
static float fit_affine(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min, float rmin,
                        float rdelta, int nstep, bool abs_err)
{
    float min = x[0], max = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++)
            L[i] = 0;
        *neg_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)clampi(round_magic(iscale * (x[i] - min)), 0, nmax);
        float diff = scale * L[i] + min - x[i];
        diff = abs_err ? fabsf(diff) : diff * diff;
        best += w[i] * diff;
    }
    if (nstep < 1) {
        *neg_min = -min;
        return scale;
    }
    uint8_t trial[32];
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            const int l = clampi(round_magic(iscale * (x[i] - min)), 0, nmax);
            trial[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)l * (float)l;
            sum_xl += w[i] * (float)l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (!(D > 0))
            continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * trial[i] + this_min - x[i];
            diff = abs_err ? fabsf(diff) : diff * diff;
            err += w[i] * diff;
        }
        if (err < best) {
            memcpy(L, trial, (size_t)n);
            best = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *neg_min = -min;
    return scale;
}

/*
 * Symmetric fit of 16 values with codes in [-nmax, nmax - 1], weighted by
 * x^2, refined by coordinate descent (up to 5 passes) on the weighted
 * least-squares objective. L gets codes + nmax. (ggml's make_q3_quants
 * with do_rmse.)
 */
static float fit_signed_descent(int n, int nmax, const float *x, int8_t *L)
{
    float amax;
    const float max = signed_absmax(n, x, &amax);
    if (amax < ZERO_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    const float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = clampi(round_magic(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (int pass = 0; pass < 5; pass++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)L[i];
            if (!(slx > 0))
                continue;
            float sl2 = suml2 - w * (float)L[i] * (float)L[i];
            const int nl = clampi(round_magic(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (nl == L[i])
                continue;
            slx += w * x[i] * (float)nl;
            sl2 += w * (float)nl * (float)nl;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                L[i] = (int8_t)nl;
                sumlx = slx;
                suml2 = sl2;
                changed++;
            }
        }
        if (!changed)
            break;
    }
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(L[i] + nmax);
    return sumlx / suml2;
}

/*
 * Symmetric fit of n values with codes in [-nmax, nmax - 1], weighted by
 * x^2: the scale of the largest element, then 18 nearby grids, keeping
 * the one with the best weighted least-squares fit. L gets codes + nmax.
 * (ggml's make_qx_quants with rmse_type 1 and no importance weights.)
 */
static float fit_signed_grid(int n, int nmax, const float *x, int8_t *L)
{
    float amax;
    const float max = signed_absmax(n, x, &amax);
    if (amax < ZERO_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = clampi(round_magic(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            const int l = clampi(round_magic(iscale * x[i]), -nmax, nmax - 1);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + clampi(round_magic(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Four 2-bit codes per byte: element l of each 32 in bits 0-1, l + 32 in
 * bits 2-3, and so on, for each half of 128 (Q2_K, Q3_K). */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
    for (int j = 0; j < OG_QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

static void quantize_q2_K(const float *x, og_block_q2_K *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK_K) {
        uint8_t L[OG_QK_K];
        float scales[16], mins[16], max_scale = 0, max_min = 0;
        for (int j = 0; j < 16; j++) {
            float w[16];
            for (int l = 0; l < 16; l++)
                w[l] = fabsf(x[16 * j + l]);
            scales[j] = fit_affine(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale)
                max_scale = scales[j];
            if (mins[j] > max_min)
                max_min = mins[j];
        }
        /* 4-bit sub-scales in the low nibble, 4-bit sub-mins in the high. */
        if (max_scale > 0) {
            const float iscale = 15.0f / max_scale;
            for (int j = 0; j < 16; j++)
                y[i].scales[j] = (uint8_t)round_magic(iscale * scales[j]);
            y[i].d = og_f32_to_fp16(max_scale / 15.0f);
        } else {
            memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = og_f32_to_fp16(0.0f);
        }
        if (max_min > 0) {
            const float iscale = 15.0f / max_min;
            for (int j = 0; j < 16; j++)
                y[i].scales[j] = (uint8_t)(y[i].scales[j] | (round_magic(iscale * mins[j]) << 4));
            y[i].dmin = og_f32_to_fp16(max_min / 15.0f);
        } else {
            y[i].dmin = og_f32_to_fp16(0.0f);
        }
        /* Re-quantize against the rounded scales actually stored. */
        for (int j = 0; j < 16; j++) {
            const float d = og_h2f(y[i].d) * (float)(y[i].scales[j] & 0xF);
            if (d == 0)
                continue;
            const float dm = og_h2f(y[i].dmin) * (float)(y[i].scales[j] >> 4);
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (uint8_t)clampi(round_magic((x[16 * j + l] + dm) / d), 0, 3);
        }
        pack_2bit(L, y[i].qs);
    }
}

static void quantize_q3_K(const float *x, og_block_q3_K *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK_K) {
        int8_t L[OG_QK_K];
        float scales[16], max_scale = 0, amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = fit_signed_descent(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        /* 6-bit signed sub-scales (offset 32): low nibbles in bytes 0..7,
         * high 2 bits in bytes 8..11 (og_q3k_scale reads them back). */
        memset(y[i].scales, 0, sizeof y[i].scales);
        if (max_scale != 0) {
            const float iscale = -32.0f / max_scale;
            for (int j = 0; j < 16; j++) {
                int8_t l = (int8_t)round_magic(iscale * scales[j]);
                l = (int8_t)(clampi(l, -32, 31) + 32);
                if (j < 8)
                    y[i].scales[j] = (uint8_t)(l & 0xF);
                else
                    y[i].scales[j - 8] = (uint8_t)(y[i].scales[j - 8] | ((l & 0xF) << 4));
                y[i].scales[8 + j % 4] = (uint8_t)(y[i].scales[8 + j % 4] | ((l >> 4) << (2 * (j / 4))));
            }
            y[i].d = og_f32_to_fp16(1 / iscale);
        } else {
            y[i].d = og_f32_to_fp16(0.0f);
        }
        for (int j = 0; j < 16; j++) {
            const float d = og_h2f(y[i].d) * (float)og_q3k_scale(j, y[i].scales);
            if (d == 0)
                continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(clampi(round_magic(x[16 * j + l] / d), -4, 3) + 4);
        }
        /* Bit 2 of the code goes to hmask: element j to byte j % 32, bit j / 32. */
        uint8_t low[OG_QK_K];
        memset(y[i].hmask, 0, sizeof y[i].hmask);
        for (int j = 0; j < OG_QK_K; j++) {
            low[j] = (uint8_t)L[j];
            if (L[j] > 3) {
                y[i].hmask[j % 32] = (uint8_t)(y[i].hmask[j % 32] | (1u << (j / 32)));
                low[j] = (uint8_t)(L[j] - 4);
            }
        }
        pack_2bit(low, y[i].qs);
    }
}

/* Q4_K and Q5_K differ only in code width, search range and packing:
 * fits 8 groups of 32 and stores 6-bit scales and mins (og_k4_scale_min
 * reads them back), then re-quantizes against the stored values. */
static void fit_k4_groups(const float *x, int nmax, float rmin, int nstep, uint8_t scales12[12], og_fp16 *d_out,
                          og_fp16 *dmin_out, uint8_t L[OG_QK_K])
{
    float scales[8], mins[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *g = x + 32 * j;
        float sum_x2 = 0, w[32];
        for (int l = 0; l < 32; l++)
            sum_x2 += g[l] * g[l];
        const float av_x = sqrtf(sum_x2 / 32.0f);
        for (int l = 0; l < 32; l++)
            w[l] = av_x + fabsf(g[l]);
        scales[j] = fit_affine(32, nmax, g, w, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < 8; j++) {
        const uint8_t ls = (uint8_t)imin(63, (uint8_t)round_magic(inv_scale * scales[j]));
        const uint8_t lm = (uint8_t)imin(63, (uint8_t)round_magic(inv_min * mins[j]));
        if (j < 4) {
            scales12[j] = ls;
            scales12[j + 4] = lm;
        } else {
            scales12[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            scales12[j - 4] = (uint8_t)(scales12[j - 4] | ((ls >> 4) << 6));
            scales12[j] = (uint8_t)(scales12[j] | ((lm >> 4) << 6));
        }
    }
    *d_out = og_f32_to_fp16(max_scale / 63.0f);
    *dmin_out = og_f32_to_fp16(max_min / 63.0f);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        og_k4_scale_min(j, scales12, &sc, &m);
        const float d = og_h2f(*d_out) * (float)sc;
        if (d == 0)
            continue;
        const float dm = og_h2f(*dmin_out) * (float)m;
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t)clampi(round_magic((x[32 * j + l] + dm) / d), 0, nmax);
    }
}

static void quantize_q4_K(const float *x, og_block_q4_K *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK_K) {
        uint8_t L[OG_QK_K];
        fit_k4_groups(x, 15, -1.0f, 20, y[i].scales, &y[i].d, &y[i].dmin, L);
        /* Nibbles: element l of each 64 low, l + 32 high. */
        for (int j = 0; j < OG_QK_K; j += 64)
            for (int l = 0; l < 32; l++)
                y[i].qs[j / 2 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

static void quantize_q5_K(const float *x, og_block_q5_K *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK_K) {
        uint8_t L[OG_QK_K];
        fit_k4_groups(x, 31, -0.5f, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
        /* As Q4_K, plus bit 4 of each code in qh: for the k-th 64, bit 2k
         * holds element l's, bit 2k + 1 element l + 32's. */
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (int k = 0; k < OG_QK_K / 64; k++) {
            for (int l = 0; l < 32; l++) {
                const int a = L[64 * k + l], b = L[64 * k + l + 32];
                y[i].qh[l] = (uint8_t)(y[i].qh[l] | ((a >> 4) << (2 * k)) | ((b >> 4) << (2 * k + 1)));
                y[i].qs[32 * k + l] = (uint8_t)((a & 0xF) | ((b & 0xF) << 4));
            }
        }
    }
}

static void quantize_q6_K(const float *x, og_block_q6_K *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK_K) {
        int8_t L[OG_QK_K];
        float scales[16], max_scale = 0, max_abs = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = fit_signed_grid(16, 32, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > max_abs) {
                max_abs = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        if (max_abs < ZERO_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -128.0f / max_scale;
        y[i].d = og_f32_to_fp16(1 / iscale);
        for (int j = 0; j < 16; j++)
            y[i].scales[j] = (int8_t)imin(127, round_magic(iscale * scales[j]));
        for (int j = 0; j < 16; j++) {
            const float d = og_h2f(y[i].d) * (float)y[i].scales[j];
            if (d == 0)
                continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(clampi(round_magic(x[16 * j + l] / d), -32, 31) + 32);
        }
        /* Per 128: low nibbles of l and l + 64 share ql[l], of l + 32 and
         * l + 96 share ql[l + 32]; the four 2-bit highs share qh[l]. */
        for (int h = 0; h < 2; h++) {
            const int8_t *c = L + 128 * h;
            uint8_t *ql = y[i].ql + 64 * h, *qh = y[i].qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((c[l] & 0xF) | ((c[l + 64] & 0xF) << 4));
                ql[l + 32] = (uint8_t)((c[l + 32] & 0xF) | ((c[l + 96] & 0xF) << 4));
                qh[l] = (uint8_t)((c[l] >> 4) | ((c[l + 32] >> 4) << 2) | ((c[l + 64] >> 4) << 4) |
                                  ((c[l + 96] >> 4) << 6));
            }
        }
    }
}

static void quantize_q8_K(const float *x, og_block_q8_K *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK_K) {
        float amax;
        const float max = signed_absmax(OG_QK_K, x, &amax);
        if (amax == 0) {
            y[i].d = 0;
            memset(y[i].qs, 0, sizeof y[i].qs);
            /* ggml leaves bsums unwritten here; zero is their true value. */
            memset(y[i].bsums, 0, sizeof y[i].bsums);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < OG_QK_K; j++)
            y[i].qs[j] = (int8_t)imin(127, round_magic(iscale * x[j]));
        for (int j = 0; j < OG_QK_K / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

bool og_quantize_row_k_ref(og_type type, const float *x, void *dst, int64_t n)
{
    if (n < 0 || n % OG_QK_K != 0)
        return false;
    const int64_t nb = n / OG_QK_K;
    switch (type) {
    case OG_TYPE_Q2_K: quantize_q2_K(x, dst, nb); return true;
    case OG_TYPE_Q3_K: quantize_q3_K(x, dst, nb); return true;
    case OG_TYPE_Q4_K: quantize_q4_K(x, dst, nb); return true;
    case OG_TYPE_Q5_K: quantize_q5_K(x, dst, nb); return true;
    case OG_TYPE_Q6_K: quantize_q6_K(x, dst, nb); return true;
    case OG_TYPE_Q8_K: quantize_q8_K(x, dst, nb); return true;
    default: return false;
    }
}
