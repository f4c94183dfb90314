/*
 * packed.h - Q4_0 weights repacked 16 rows at a time, the layout of the
 * interleaved kernels. llama.cpp repacks Q4_0 matrices whose row count is
 * a multiple of 8 on every x86 CPU with AVX2 and computes them in another
 * order than its plain Q4_0 dot product: per output, the exact integer
 * sum of each block, then one fused multiply-add per block,
 *     acc = fmaf((float)isum_b, dw_b * da_b, acc)
 * in block order. offgrid computes packed weights in exactly that order
 * on every ISA, so Q4_0 models give llama.cpp's results too.
 *
 * Layout: rows in groups of OG_PACK_ROWS (the last group may have 8).
 * A group of R rows takes the bytes of its R source rows; block b of the
 * group (offset b * R * 18) holds the R fp16 scales d[R], then 4 x 4R
 * bytes: qs[k][4 * r + j] = byte 4k + j of row r's block (low nibble
 * element 4k + j, high nibble element 16 + 4k + j). One 512-bit load of
 * qs[k] thus feeds 16 rows' lanes of one vpdpbusd per 4 elements.
 */
#ifndef OG_TENSOR_PACKED_H
#define OG_TENSOR_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { OG_PACK_ROWS = 16 };

/* Whether a Q4_0 matrix of n_rows rows is repacked (llama.cpp's rule). */
static inline bool og_packed_q4_0_applies(int64_t n_rows, int64_t n_cols)
{
    return n_rows > 0 && n_rows % 8 == 0 && n_cols > 0 && n_cols % 32 == 0;
}

/* Repacks the groups of rows [r0, r1) (r0 a multiple of OG_PACK_ROWS, r1
 * one too or n_rows) of a Q4_0 matrix src of n_cols columns into dst,
 * which has the same size as src. */
void og_pack_q4_0(const void *src, int64_t n_rows, int64_t n_cols, int64_t r0, int64_t r1, void *dst);

/* The packed order on one plain Q4_0 row against a Q8_0 activation row:
 * the reference the packed kernels are checked against. */
void og_q4_0_dot_blocksum(int64_t n, float *out, const void *w_row, const void *act);

/* Scalar packed gemm (og_gemm_fn; row_bytes is unused, r0 a multiple of
 * OG_PACK_ROWS and r1 one too or the row count). */
void og_packed_q4_0_gemm_ref(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                             const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride);

/* Rows of the group that starts at row r0 of a range ending at r1. */
static inline int og_pack_group_rows(int64_t r0, int64_t r1)
{
    return r1 - r0 < OG_PACK_ROWS ? (int)(r1 - r0) : OG_PACK_ROWS;
}

#endif
