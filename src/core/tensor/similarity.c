/*
 * similarity.c - cosine top-k over rows of embeddings: each similarity is
 * two F32 dot products of the kernel table (row.query and row.row, the
 * SIMD paths the matrix products use), and the best k are kept in a small
 * sorted list. Owns nothing.
 */
#include "tensor/similarity.h"

#include <math.h>

int32_t og_cosine_topk_with(const og_kernels *kern, const float *query, const float *rows, int64_t n_rows,
                            int32_t dim, int32_t k, int64_t *idx, float *sim)
{
    if (!kern || !query || (!rows && n_rows) || n_rows < 0 || dim <= 0 || k < 0 || (k > 0 && (!idx || !sim)))
        return -(int32_t)OG_ERR_ARG;
    og_vec_dot_fn dot = kern->vec_dot[OG_TYPE_F32];
    float qq;
    dot(dim, &qq, query, query);
    const float qnorm = sqrtf(qq);
    int32_t n = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        const float *row = rows + r * (int64_t)dim;
        float d, rr;
        dot(dim, &d, row, query);
        dot(dim, &rr, row, row);
        const float denom = qnorm * sqrtf(rr);
        const float s = denom > 0.0f ? d / denom : 0.0f;
        /* Insert after every equal score, so earlier rows win ties. */
        if (n == k && (k == 0 || !(s > sim[k - 1])))
            continue;
        int32_t j = n < k ? n++ : k - 1;
        for (; j > 0 && s > sim[j - 1]; j--) {
            sim[j] = sim[j - 1];
            idx[j] = idx[j - 1];
        }
        sim[j] = s;
        idx[j] = r;
    }
    return n;
}

int32_t og_cosine_topk(const float *query, const float *rows, int64_t n_rows, int32_t dim, int32_t k, int64_t *idx,
                       float *sim)
{
    return og_cosine_topk_with(og_kernels_best(), query, rows, n_rows, dim, k, idx, sim);
}
