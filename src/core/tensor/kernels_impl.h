/*
 * kernels_impl.h - private: the scalar reference kernels by name and the
 * per-ISA installers the dispatcher calls. An installer overrides the
 * entries its ISA speeds up in a table that starts as a copy of the
 * previous level (scalar, then AVX2, then AVX-512), so any type without a
 * fast path keeps the slower function.
 */
#ifndef OG_TENSOR_KERNELS_IMPL_H
#define OG_TENSOR_KERNELS_IMPL_H

#include "tensor/kernels.h"

/* 32-wide formats and plain floats (quants_ref.c). */
void og_ref_install(og_kernels *k);

/* K formats (quants_k_ref.c). */
void og_ref_k_install(og_kernels *k);

/* The plain float product C = A.B (matmul_f32.c) and its AVX2 build
 * (matmul_f32_avx2.c), which AVX-512 tables inherit. */
void og_matmul_f32_ref(int64_t m, int64_t n, int64_t k, const float *a, size_t lda, const float *b, size_t ldb,
                       float *c, size_t ldc);

/* The encoder's row kernels (rowops_f32.c, rowops_f32_avx2.c). */
void og_softmax_f32_ref(float *x, int64_t n);
void og_gelu_erf_f32_ref(float *x, int64_t n);

#if defined(__x86_64__) || defined(_M_X64)
void og_softmax_f32_avx2(float *x, int64_t n);
void og_gelu_erf_f32_avx2(float *x, int64_t n);
void og_matmul_f32_avx2(int64_t m, int64_t n, int64_t k, const float *a, size_t lda, const float *b, size_t ldb,
                        float *c, size_t ldc);
void og_avx2_install(og_kernels *k);
void og_avx512_install(og_kernels *k);
#endif
#if defined(__aarch64__)
void og_neon_install(og_kernels *k);
#endif

#endif
