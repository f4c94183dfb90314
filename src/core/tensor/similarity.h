/*
 * similarity.h - cosine top-k over a matrix of embeddings on a given
 * kernel table, so tests can compare every SIMD path with the scalar one.
 */
#ifndef OG_TENSOR_SIMILARITY_H
#define OG_TENSOR_SIMILARITY_H

#include "offgrid.h"
#include "tensor/kernels.h"

/* og_cosine_topk (offgrid.h) with the F32 dot products of kern. */
int32_t og_cosine_topk_with(const og_kernels *kern, const float *query, const float *rows, int64_t n_rows,
                            int32_t dim, int32_t k, int64_t *idx, float *sim);

#endif
