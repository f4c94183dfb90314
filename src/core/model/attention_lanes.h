/*
 * attention_lanes.h - private to attention.c, which includes it twice:
 * the portable attention kernels for one lane width of llama.cpp's fp16
 * products, LANES 16 and BLOCK 64 as its AVX-512 build sums them, LANES 8
 * and BLOCK 32 as its AVX2 build does, with the lane sums reduced by
 * AL_REDUCE_CHAIN (tiled GEMM) and AL_REDUCE_FOLDED (dot product).
 * AL_NAME suffixes every name, and the last definition is the kernel
 * table AL_NAME(portable).
 */

/* Folds four accumulator rows the way the one-token dot product does. */
static float AL_NAME(fold4)(float acc[4][LANES])
{
    for (int k = 0; k < LANES; k++) {
        acc[0][k] += acc[2][k];
        acc[1][k] += acc[3][k];
        acc[0][k] += acc[1][k];
    }
    return AL_REDUCE_FOLDED(acc[0]);
}

OG_CLONES static float AL_NAME(dot_chain)(const og_fp16 *x, const float *y, int32_t n)
{
    float acc[LANES] = { 0 };
    for (int32_t l = 0; l < n; l += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] = fmaf(AL_H2F(x[l + k]), y[l + k], acc[k]);
    return AL_REDUCE_CHAIN(acc);
}

OG_CLONES static float AL_NAME(dot_blocks)(const og_fp16 *x, const float *y, int32_t n)
{
    const int32_t n_simd = n & ~(BLOCK - 1);
    float acc[4][LANES] = { { 0 } };
    for (int32_t l = 0; l < n_simd; l += BLOCK)
        for (int a = 0; a < 4; a++)
            for (int k = 0; k < LANES; k++)
                acc[a][k] = fmaf(AL_H2F(x[l + a * LANES + k]), y[l + a * LANES + k], acc[a][k]);
    double sum = AL_NAME(fold4)(acc);
    for (int32_t i = n_simd; i < n; i++)
        sum += (double)(og_fp16_to_f32(x[i]) * y[i]);
    return (float)sum;
}

/* Lane j % LANES of output i accumulates p[j] * v[j][i], one fused chain
 * per lane as llama.cpp's GEMM has it; the accumulators are kept lane by
 * lane ([LANES][hd]) so each key's row updates hd contiguous floats,
 * which vectorizes, and the lanes are reduced per output at the end. */
OG_CLONES static void AL_NAME(values_chain)(float *out, const float *p, int32_t n_keys, const og_fp16 *v,
                                            size_t v_stride, int32_t hd, float *acc)
{
    memset(acc, 0, (size_t)hd * LANES * sizeof *acc); /* [LANES][hd] */
    for (int32_t j = 0; j < n_keys; j++) {
        const og_fp16 *row = v + (size_t)j * v_stride;
        float *lane = acc + (size_t)(j % LANES) * (size_t)hd;
        const float pj = p[j];
        for (int32_t i = 0; i < hd; i++)
            lane[i] = fmaf(AL_H2F(row[i]), pj, lane[i]);
    }
    for (int32_t i = 0; i < hd; i++) {
        float lanes[LANES];
        for (int k = 0; k < LANES; k++)
            lanes[k] = acc[(size_t)k * (size_t)hd + (size_t)i];
        out[i] = AL_REDUCE_CHAIN(lanes);
    }
}

OG_CLONES static void AL_NAME(values_blocks)(float *out, const float *p, int32_t n_keys, int32_t n_simd, const og_fp16 *v,
                                    size_t v_stride, int32_t hd, float *acc)
{
    memset(acc, 0, (size_t)hd * 4 * LANES * sizeof *acc); /* [hd][4][LANES] */
    for (int32_t j = 0; j < n_simd; j++) {
        const og_fp16 *row = v + (size_t)j * v_stride;
        const int slot = (j % BLOCK / LANES) * LANES + j % LANES;
        for (int32_t i = 0; i < hd; i++)
            acc[i * 4 * LANES + slot] = fmaf(AL_H2F(row[i]), p[j], acc[i * 4 * LANES + slot]);
    }
    for (int32_t i = 0; i < hd; i++) {
        double sum = AL_NAME(fold4)((float(*)[LANES])(acc + (size_t)i * 4 * LANES));
        for (int32_t j = n_simd; j < n_keys; j++)
            sum += (double)(og_fp16_to_f32(v[(size_t)j * v_stride + i]) * p[j]);
        out[i] = (float)sum;
    }
}

/* dot_chain for four keys at once: four independent chains keep the
 * fused multiply-adds busy where one chain would wait on each. */
OG_CLONES static void AL_NAME(scores_chain)(float *scores, const og_fp16 *keys, size_t k_stride, const float *q,
                                            int32_t hd, int32_t n_keys, float scale)
{
    int32_t j = 0;
    for (; j + 4 <= n_keys; j += 4) {
        float acc[4][LANES] = { { 0 } };
        for (int32_t l = 0; l < hd; l += LANES)
            for (int r = 0; r < 4; r++) {
                const og_fp16 *x = keys + (size_t)(j + r) * k_stride + l;
                for (int k = 0; k < LANES; k++)
                    acc[r][k] = fmaf(AL_H2F(x[k]), q[l + k], acc[r][k]);
            }
        for (int r = 0; r < 4; r++)
            scores[j + r] = AL_REDUCE_CHAIN(acc[r]) * scale;
    }
    for (; j < n_keys; j++)
        scores[j] = AL_NAME(dot_chain)(keys + (size_t)j * k_stride, q, hd) * scale;
}

static void AL_NAME(scores_blocks)(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                          int32_t n_keys, float scale)
{
    for (int32_t j = 0; j < n_keys; j++)
        scores[j] = AL_NAME(dot_blocks)(keys + (size_t)j * k_stride, q, hd) * scale;
}

static void AL_NAME(round_fp16)(float *dst, const float *src, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        dst[i] = og_fp16_to_f32(og_f32_to_fp16(src[i]));
}

static void AL_NAME(softmax_fp16)(float *x, int32_t n)
{
    og_ops_softmax(x, n);
    AL_NAME(round_fp16)(x, x, n);
}

static void AL_NAME(scores_blocks_multi)(float *scores, size_t s_stride, const og_fp16 *keys, size_t k_stride, const float *q,
                                int n_q, int32_t hd, int32_t n_keys, float scale)
{
    for (int h = 0; h < n_q; h++)
        AL_NAME(scores_blocks)(scores + (size_t)h * s_stride, keys, k_stride, q + (size_t)h * hd, hd, n_keys, scale);
}

static void AL_NAME(values_blocks_multi)(float *out, const float *p, size_t p_stride, int n_q, int32_t n_keys, int32_t n_simd,
                                const og_fp16 *v, size_t v_stride, int32_t hd, float *scratch)
{
    for (int h = 0; h < n_q; h++)
        AL_NAME(values_blocks)(out + (size_t)h * hd, p + (size_t)h * p_stride, n_keys, n_simd, v, v_stride, hd, scratch);
}

static void AL_NAME(to_fp16)(og_fp16 *dst, const float *src, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        dst[i] = og_f32_to_fp16(src[i]);
}

static const og_attn_kernels AL_NAME(portable) = {
    LANES, BLOCK, AL_NAME(dot_chain),           AL_NAME(dot_blocks),          AL_NAME(values_chain), AL_NAME(values_blocks),
                                          AL_NAME(scores_chain),        AL_NAME(scores_blocks),       AL_NAME(softmax_fp16), AL_NAME(scores_blocks_multi),
                                          AL_NAME(values_blocks_multi), AL_NAME(to_fp16),             AL_NAME(round_fp16) };

