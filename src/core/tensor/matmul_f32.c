/*
 * matmul_f32.c - the portable plain float product C = A.B of the kernel
 * table (og_matmul_f32_fn): attention's score and value products over a
 * sequence. Each element is one chain of fmaf() in order, which the SIMD
 * builds (matmul_f32_avx2.c) reproduce bit for bit.
 */
#include "base/numerics.h"
#include "tensor/kernels_impl.h"

/* Static: GCC exports the resolver of an extern cloned function
 * whatever -fvisibility says. */
OG_CLONES static void matmul_cloned(int64_t m, int64_t n, int64_t k, const float *a, size_t lda, const float *b,
                                    size_t ldb, float *c, size_t ldc)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float sum = 0.0f;
            for (int64_t l = 0; l < k; l++)
                sum = fmaf(a[(size_t)i * lda + (size_t)l], b[(size_t)l * ldb + (size_t)j], sum);
            c[(size_t)i * ldc + (size_t)j] = sum;
        }
}

void og_matmul_f32_ref(int64_t m, int64_t n, int64_t k, const float *a, size_t lda, const float *b, size_t ldb,
                       float *c, size_t ldc)
{
    matmul_cloned(m, n, k, a, lda, b, ldb, c, ldc);
}
