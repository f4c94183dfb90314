/*
 * matmul_f32_avx2.c - the plain float product C = A.B (og_matmul_f32_fn)
 * on AVX2+FMA: register tiles of up to 4 rows of A times up to 4 vectors
 * of 8 columns of B (12 accumulators of the 16 ymm registers), each A
 * element broadcast and each B vector loaded once per step and shared by
 * the tile. Every element is the same fused chain over l as the scalar
 * reference (matmul_f32.c), so the bits match it whatever the tiling.
 */
#include <immintrin.h>
#include <math.h>

#include "tensor/kernels_impl.h"

/* One tile: R rows (1..4) by V vectors (1..4) of 8 columns, R*V <= 16;
 * inlined with constant R and V so the accumulators live in registers. */
static inline __attribute__((always_inline)) void tile(const int R, const int V, int64_t k, const float *a,
                                                       size_t lda, const float *b, size_t ldb, float *c,
                                                       size_t ldc)
{
    __m256 acc[4][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm256_setzero_ps();
    for (int64_t l = 0; l < k; l++) {
        const float *bl = b + (size_t)l * ldb;
        __m256 bv[4];
        for (int v = 0; v < V; v++)
            bv[v] = _mm256_loadu_ps(bl + 8 * v);
        for (int r = 0; r < R; r++) {
            const __m256 av = _mm256_broadcast_ss(a + (size_t)r * lda + (size_t)l);
            for (int v = 0; v < V; v++)
                acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++)
            _mm256_storeu_ps(c + (size_t)r * ldc + 8 * v, acc[r][v]);
}

#define TILE_CASE(R, V)                                   \
    case (R) * 8 + (V):                                   \
        tile(R, V, k, a, lda, b, ldb, c, ldc);            \
        return;

static void tile_any(int R, int V, int64_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                     size_t ldc)
{
    switch (R * 8 + V) {
        TILE_CASE(1, 1) TILE_CASE(1, 2) TILE_CASE(1, 3) TILE_CASE(1, 4)
        TILE_CASE(2, 1) TILE_CASE(2, 2) TILE_CASE(2, 3) TILE_CASE(2, 4)
        TILE_CASE(3, 1) TILE_CASE(3, 2) TILE_CASE(3, 3) TILE_CASE(3, 4)
        TILE_CASE(4, 1) TILE_CASE(4, 2) TILE_CASE(4, 3)
    default:
        return;
    }
}

void og_matmul_f32_avx2(int64_t m, int64_t n, int64_t k, const float *a, size_t lda, const float *b, size_t ldb,
                        float *c, size_t ldc)
{
    int64_t j = 0;
    while (n - j >= 8) {
        /* 3 rows x 32 columns, or 4 rows x what is left below 32 */
        const int V = n - j >= 32 ? 4 : (int)((n - j) / 8);
        const int R_max = V == 4 ? 3 : 4;
        for (int64_t i = 0; i < m; i += R_max) {
            const int R = m - i < R_max ? (int)(m - i) : R_max;
            tile_any(R, V, k, a + (size_t)i * lda, lda, b + j, ldb, c + (size_t)i * ldc + (size_t)j, ldc);
        }
        j += 8 * V;
    }
    for (; j < n; j++) /* the last n % 8 columns */
        for (int64_t i = 0; i < m; i++) {
            float sum = 0.0f;
            for (int64_t l = 0; l < k; l++)
                sum = fmaf(a[(size_t)i * lda + (size_t)l], b[(size_t)l * ldb + (size_t)j], sum);
            c[(size_t)i * ldc + (size_t)j] = sum;
        }
}
