/*
 * attention_avx2_lanes.h - private to attention_avx2.c, which includes it
 * twice: the attention kernels on 256-bit vectors for one lane width of
 * llama.cpp's fp16 products, NV = 2 vectors per chain (16 lanes, blocks
 * of 64: its AVX-512 build) or NV = 1 (8 lanes, blocks of 32: its AVX2
 * build). Every kernel runs the portable one's operations in its order
 * (attention_lanes.h); only the grouping into vectors differs. AV_NAME
 * suffixes every name; the last definition is the table AV_NAME(table).
 */

#define LANES (8 * NV)
#define BLOCK (4 * LANES)

/* One chain's lanes summed as AL_REDUCE_CHAIN sums them. */
static inline float AV_NAME(reduce_chain)(const __m256 acc[NV])
{
#if NV == 2
    const __m256 t8 = _mm256_add_ps(acc[1], acc[0]);
    return pair_tail(_mm_add_ps(_mm256_extractf128_ps(t8, 1), _mm256_castps256_ps128(t8)));
#else
    return pair_tail(_mm_add_ps(_mm256_castps256_ps128(acc[0]), _mm256_extractf128_ps(acc[0], 1)));
#endif
}

/* The same as AL_REDUCE_FOLDED (og_reduce8_hadd for 8 lanes). */
static inline float AV_NAME(reduce_folded)(const __m256 acc[NV])
{
#if NV == 2
    return AV_NAME(reduce_chain)(acc);
#else
    const __m128 t4 = _mm_add_ps(_mm256_castps256_ps128(acc[0]), _mm256_extractf128_ps(acc[0], 1));
    const __m128 t2 = _mm_hadd_ps(t4, t4);
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_movehdup_ps(t2)));
#endif
}

/* reduce_chain of r[0..LANES) lane by lane: the lane sums of eight
 * outputs at once, with vertical adds. */
static inline __m256 AV_NAME(tree_chain)(const __m256 *r)
{
#if NV == 2
    __m256 t8[8], t4[4];
    for (int l = 0; l < 8; l++)
        t8[l] = _mm256_add_ps(r[l + 8], r[l]);
    for (int l = 0; l < 4; l++)
        t4[l] = _mm256_add_ps(t8[l + 4], t8[l]);
    return _mm256_add_ps(_mm256_add_ps(t4[0], t4[2]), _mm256_add_ps(t4[1], t4[3]));
#else
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(r[0], r[4]), _mm256_add_ps(r[2], r[6])),
                         _mm256_add_ps(_mm256_add_ps(r[1], r[5]), _mm256_add_ps(r[3], r[7])));
#endif
}

/* reduce_folded lane by lane. */
static inline __m256 AV_NAME(tree_folded)(const __m256 *r)
{
#if NV == 2
    return AV_NAME(tree_chain)(r);
#else
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(r[0], r[4]), _mm256_add_ps(r[1], r[5])),
                         _mm256_add_ps(_mm256_add_ps(r[2], r[6]), _mm256_add_ps(r[3], r[7])));
#endif
}

static float AV_NAME(dot_chain)(const og_fp16 *k, const float *q, int32_t n)
{
    __m256 acc[NV];
    for (int v = 0; v < NV; v++)
        acc[v] = _mm256_setzero_ps();
    for (int32_t l = 0; l < n; l += LANES)
        for (int v = 0; v < NV; v++)
            acc[v] = _mm256_fmadd_ps(load8h(k + l + 8 * v), _mm256_loadu_ps(q + l + 8 * v), acc[v]);
    return AV_NAME(reduce_chain)(acc);
}

static float AV_NAME(dot_blocks)(const og_fp16 *k, const float *q, int32_t n)
{
    const int32_t n_simd = n & ~(BLOCK - 1);
    __m256 acc[4][NV];
    for (int a = 0; a < 4; a++)
        for (int v = 0; v < NV; v++)
            acc[a][v] = _mm256_setzero_ps();
    for (int32_t l = 0; l < n_simd; l += BLOCK)
        for (int a = 0; a < 4; a++)
            for (int v = 0; v < NV; v++) {
                const int32_t at = l + a * LANES + 8 * v;
                acc[a][v] = _mm256_fmadd_ps(load8h(k + at), _mm256_loadu_ps(q + at), acc[a][v]);
            }
    for (int v = 0; v < NV; v++) {
        acc[0][v] = _mm256_add_ps(acc[0][v], acc[2][v]);
        acc[1][v] = _mm256_add_ps(acc[1][v], acc[3][v]);
        acc[0][v] = _mm256_add_ps(acc[0][v], acc[1][v]);
    }
    double sum = AV_NAME(reduce_folded)(acc[0]);
    for (int32_t i = n_simd; i < n; i++)
        sum += (double)(_cvtsh_ss(k[i]) * q[i]);
    return (float)sum;
}

/* Four keys at a time: four independent chains overlap where one would
 * wait on each fmadd, and the query's vectors are loaded once for four. */
static void AV_NAME(scores_chain)(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                                  int32_t n_keys, float scale)
{
    int32_t j = 0;
    for (; j + 4 <= n_keys; j += 4) {
        __m256 acc[4][NV];
        for (int r = 0; r < 4; r++)
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm256_setzero_ps();
        for (int32_t l = 0; l < hd; l += LANES)
            for (int v = 0; v < NV; v++) {
                const __m256 qv = _mm256_loadu_ps(q + l + 8 * v);
                for (int r = 0; r < 4; r++)
                    acc[r][v] = _mm256_fmadd_ps(load8h(keys + (size_t)(j + r) * k_stride + l + 8 * v), qv, acc[r][v]);
            }
        for (int r = 0; r < 4; r++)
            scores[j + r] = AV_NAME(reduce_chain)(acc[r]) * scale;
    }
    for (; j < n_keys; j++)
        scores[j] = AV_NAME(dot_chain)(keys + (size_t)j * k_stride, q, hd) * scale;
}

static void AV_NAME(scores_blocks)(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                                   int32_t n_keys, float scale)
{
    for (int32_t j = 0; j < n_keys; j++)
        scores[j] = AV_NAME(dot_blocks)(keys + (size_t)j * k_stride, q, hd) * scale;
}

static void AV_NAME(scores_blocks_multi)(float *scores, size_t s_stride, const og_fp16 *keys, size_t k_stride,
                                         const float *q, int n_q, int32_t hd, int32_t n_keys, float scale)
{
    for (int h = 0; h < n_q; h++)
        AV_NAME(scores_blocks)(scores + (size_t)h * s_stride, keys, k_stride, q + (size_t)h * hd, hd, n_keys, scale);
}

static void AV_NAME(values_chain)(float *out, const float *p, int32_t n_keys, const og_fp16 *v, size_t v_stride,
                                  int32_t hd, float *scratch)
{
    (void)scratch;
    for (int32_t i = 0; i < hd; i += 8) {
        __m256 sums[LANES];
        residue_chains(sums, LANES, p, n_keys, v, v_stride, i);
        _mm256_storeu_ps(out + i, AV_NAME(tree_chain)(sums));
    }
}

/* Key j < n_simd goes to chain j % BLOCK (accumulator j % BLOCK / LANES,
 * lane j % LANES); the four accumulators are folded, their lanes reduced,
 * and the keys past n_simd added in double. */
static void AV_NAME(values_blocks)(float *out, const float *p, int32_t n_keys, int32_t n_simd, const og_fp16 *v,
                                   size_t v_stride, int32_t hd, float *scratch)
{
    (void)scratch;
    for (int32_t i = 0; i < hd; i += 8) {
        __m256 sums[BLOCK], folded[LANES];
        residue_chains(sums, BLOCK, p, n_simd, v, v_stride, i);
        for (int k = 0; k < LANES; k++) {
            const __m256 a0 = _mm256_add_ps(sums[k], sums[2 * LANES + k]);
            const __m256 a1 = _mm256_add_ps(sums[LANES + k], sums[3 * LANES + k]);
            folded[k] = _mm256_add_ps(a0, a1);
        }
        store_with_rest(out + i, AV_NAME(tree_folded)(folded), p, n_simd, n_keys, v, v_stride, i);
    }
}

static void AV_NAME(values_blocks_multi)(float *out, const float *p, size_t p_stride, int n_q, int32_t n_keys,
                                         int32_t n_simd, const og_fp16 *v, size_t v_stride, int32_t hd,
                                         float *scratch)
{
    for (int h = 0; h < n_q; h++)
        AV_NAME(values_blocks)(out + (size_t)h * hd, p + (size_t)h * p_stride, n_keys, n_simd, v, v_stride, hd,
                               scratch);
}

static const og_attn_kernels AV_NAME(table) = {
    LANES,
    BLOCK,
    AV_NAME(dot_chain),
    AV_NAME(dot_blocks),
    AV_NAME(values_chain),
    AV_NAME(values_blocks),
    AV_NAME(scores_chain),
    AV_NAME(scores_blocks),
    softmax_fp16,
    AV_NAME(scores_blocks_multi),
    AV_NAME(values_blocks_multi),
    to_fp16,
    round_fp16,
};

#undef LANES
#undef BLOCK
