/*
 * kernels.h - the numeric kernels of the core: quantized dot products,
 * activation quantization and dequantization, chosen at run time for the
 * CPU (scalar reference, AVX2, AVX-512, NEON).
 *
 * A matrix-vector product W·x with W of type T works as in ggml: x is
 * first converted to T's "vec_dot type" (Q8_0, Q8_1, Q8_K, F16, BF16 or
 * F32), then each output element is vec_dot(n, &out, W_row, x_converted).
 * Doing it the same way as ggml keeps results numerically close to
 * llama.cpp's.
 */
#ifndef OG_TENSOR_KERNELS_H
#define OG_TENSOR_KERNELS_H

#include "tensor/types.h"

/* out[0] = dot(w_row, act) over n elements; w_row is of the weight type,
 * act of og_vec_dot_type(weight type). n is a multiple of the block. */
typedef void (*og_vec_dot_fn)(int64_t n, float *out, const void *w_row, const void *act);
/* Converts n floats into one row of a type (n a multiple of its block). */
typedef void (*og_from_float_fn)(const float *x, void *dst, int64_t n);
/* Converts one row of a type back into n floats. */
typedef void (*og_to_float_fn)(const void *src, float *dst, int64_t n);

/* The matrix product over a block of rows: for r in [r0, r1) and t in
 * [0, n_tokens): y[t * y_stride + r] = dot(row r of w, activation row t).
 * w holds rows of row_bytes; acts holds n_tokens rows of act_stride
 * bytes. Each output equals what vec_dot gives for that pair, bit for
 * bit, so batched and one-token evaluation agree exactly. */
typedef void (*og_gemm_fn)(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                           const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride);

/* A plain float matrix product C = A.B, for attention over a sequence:
 * c[i * ldc + j] = sum over l < k of a[i * lda + l] * b[l * ldb + j] for
 * i < m, j < n. Each element is one chain of fused multiply-adds in order
 * l = 0, 1, ..., k - 1 starting from 0, so every ISA gives the same bits
 * and an element never depends on m, n, the tiling or the thread that
 * computes it. Strides are in floats; c must not overlap a or b. */
typedef void (*og_matmul_f32_fn)(int64_t m, int64_t n, int64_t k, const float *a, size_t lda, const float *b,
                                 size_t ldb, float *c, size_t ldc);

typedef struct og_kernels {
    const char *isa;                            /* "scalar", "avx2", "avx512", "neon" */
    og_vec_dot_fn vec_dot[OG_KERNEL_TYPES];       /* by weight type; NULL if unsupported */
    og_from_float_fn from_float[OG_KERNEL_TYPES]; /* activations: Q8_0, Q8_1, Q8_K, F16, BF16, F32 */
    og_to_float_fn to_float[OG_KERNEL_TYPES];     /* every supported weight type */
    og_gemm_fn gemm[OG_KERNEL_TYPES];             /* by weight type; NULL: loop over vec_dot */
    /* The same product over activations in groups of eight tokens
     * (OG_TYPE_Q8_K_X8, act_stride the bytes of a group), equal to gemm
     * bit for bit; NULL where this ISA has none. For prompts. */
    og_gemm_fn gemm_x8[OG_KERNEL_TYPES];
    /* Plain types (Q8_0, Q4_1) this ISA computes faster repacked; the
     * results are the same either way (tensor/packed.h). Q4_0 is always
     * repacked, for llama.cpp's order, and is not listed here. */
    bool repack_faster[OG_TYPE_COUNT];
    og_matmul_f32_fn matmul_f32; /* never NULL */
    /* The encoder's row operations, never NULL, the same bits on every
     * ISA. softmax_f32: softmax in place over x[0..n) in llama.cpp's
     * AVX-512 order (og_ops_softmax's default: exp by og_expf_poly, sums
     * of chunks of 16 in og_reduce16's tree added in double, then one
     * scale by the reciprocal). gelu_erf_f32: x (1 + erf(x / sqrt 2)) / 2
     * in place, erf by Abramowitz and Stegun 7.1.26 (absolute error about
     * 2e-7; tensor/rowops_f32.h). */
    void (*softmax_f32)(float *x, int64_t n);
    void (*gelu_erf_f32)(float *x, int64_t n);
} og_kernels;

/* The activation type a weight type is multiplied with (ggml's choice). */
og_type og_vec_dot_type(og_type weight_type);

/* The portable reference kernels; always available. */
const og_kernels *og_kernels_scalar(void);

/* The best kernels this CPU runs, probed once (thread-safe). The
 * environment variable OG_ISA=scalar|avx2|avx512|neon caps the choice. */
const og_kernels *og_kernels_best(void);

/* Kernels of a named ISA if this build has them and this CPU runs them,
 * else NULL. Lets tests compare every fast path with the scalar one. */
const og_kernels *og_kernels_for(const char *isa);

/* Bytes of n_tokens tokens' activations of n elements (a multiple of
 * 256) in OG_TYPE_Q8_K_X8 groups: whole groups of eight. */
size_t og_q8_K_x8_bytes(int32_t n_tokens, int64_t n);

/* Token t's Q8_K row of n elements (t < n_tokens, rows stride bytes
 * apart) into slot t % 8 of group t / 8 of dst, whose groups are
 * og_q8_K_x8_bytes(8, n) bytes apart. Slots past the last token are left
 * as they are; the kernels never read them. */
void og_q8_K_x8_from_rows(const void *rows, size_t stride, int32_t n_tokens, int64_t n, void *dst);

/* The same from floats (x_stride floats apart), quantized by k's Q8_K
 * quantizer, so each token holds exactly what from_float gives it. */
void og_q8_K_x8_from_float(const og_kernels *k, const float *x, size_t x_stride, int32_t n_tokens, int64_t n,
                           void *dst);

/* Reference quantizers that produce weights (tests, synthetic models,
 * conversion): F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, and the K
 * formats Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K. The bytes are exactly those
 * of ggml's reference quantizers (llama-quantize without an importance
 * matrix). n must be a multiple of the type's block; returns false for
 * other types or lengths. */
bool og_quantize_row_ref(og_type type, const float *x, void *dst, int64_t n);

/* The K formats of og_quantize_row_ref (quantize_k.c), which dispatches
 * to it; false for any other type or an n not a multiple of 256. */
bool og_quantize_row_k_ref(og_type type, const float *x, void *dst, int64_t n);

#endif
