/*
 * packed.h - weights repacked 16 rows at a time, the layout of the
 * interleaved kernels: one contiguous stream per group of rows, where a
 * 512-bit load holds the same 4 bytes of 16 rows.
 *
 * Q4_0 (OG_TYPE_Q4_0_X16): llama.cpp repacks Q4_0 matrices whose row
 * count is a multiple of 8 on every x86 CPU with AVX2 and computes them
 * in another order than its plain Q4_0 dot product: per output, the exact
 * integer sum of each block, then one fused multiply-add per block,
 *     acc = fmaf((float)isum_b, dw_b * da_b, acc)
 * in block order. offgrid computes packed Q4_0 in exactly that order on
 * every ISA, so Q4_0 models give llama.cpp's results too.
 *
 * Q8_0 and Q4_1 (OG_TYPE_Q8_0_X16, OG_TYPE_Q4_1_X16): llama.cpp does not
 * repack them, so their packed kernels keep the plain order bit for bit
 * (the 8 lanes of og_lanes_block, then og_lanes_hsum, plus Q4_1's min
 * chain); only where the bytes sit changes. Packed when the row count is
 * a multiple of 16. Packed Q8_0 takes its activations as OG_TYPE_Q8_0U
 * (the same numbers as Q8_0, laid out for its kernels).
 *
 * Layout: rows in groups of OG_PACK_ROWS (for Q4_0 the last group may
 * have 8). A group of R rows takes the bytes of its R source rows, block
 * after block; a block of the group holds the R rows' fp16 head fields,
 * field by field (d[R], then m[R] for Q4_1), then the codes as 4-byte
 * words, word by word: word k of row r at 4 * (k * R + r). A word is
 * bytes 4k..4k+3 of the row's qs: for the nibble formats low nibbles
 * elements 4k..4k+3 and high nibbles 16 + 4k.., for Q8_0 elements
 * 4k..4k+3 stored as unsigned u = q + 128 (q ^ 0x80), ready for vpdpbusd.
 */
#ifndef OG_TENSOR_PACKED_H
#define OG_TENSOR_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/types.h"

enum { OG_PACK_ROWS = 16 };

/* Bumped whenever the layout changes, which invalidates cached packings
 * (model/pack_cache.c). */
enum { OG_PACK_LAYOUT_VERSION = 1 };

/* The packed type of a plain weight type, or OG_TYPE_COUNT if it has none. */
og_type og_packed_type(og_type plain);

static inline bool og_type_is_packed(og_type t)
{
    return t == OG_TYPE_Q4_0_X16 || t == OG_TYPE_Q4_1_X16 || t == OG_TYPE_Q8_0_X16;
}

/* The plain type of a packed type (OG_TYPE_COUNT if t is not packed). */
og_type og_plain_type(og_type packed);

/* Whether a matrix of n_rows x n_cols of a plain type is repacked (for
 * Q4_0 llama.cpp's rule). */
bool og_pack_applies(og_type plain, int64_t n_rows, int64_t n_cols);

/* Bytes of one packed row: the plain row's size. */
size_t og_packed_row_bytes(og_type packed, int64_t n_cols);

/* Repacks the groups of rows [r0, r1) (r0 a multiple of OG_PACK_ROWS, r1
 * one too or n_rows) of a plain matrix src of n_cols columns into dst,
 * which has the same size as src. */
void og_pack_rows(og_type plain, const void *src, int64_t n_cols, int64_t r0, int64_t r1, void *dst);

/* Block b of row `row` of a packed matrix, in its plain form (a block of
 * og_plain_type(packed)): for lookups in a repacked tied embedding. */
void og_packed_block(og_type packed, const void *data, int64_t n_rows, int64_t n_cols, int64_t row, int64_t b,
                     void *plain_block);

/* Rewrites the nb Q8_0 blocks at the start of row as nb OG_TYPE_Q8_0U
 * blocks, in place (row has room for nb * 36 bytes). Every ISA's
 * from_float of Q8_0U is its Q8_0 quantizer followed by this, so the
 * packed Q8_0 kernels see exactly llama.cpp's activations. */
void og_q8_0u_widen(void *row, int64_t nb);

/* The packed Q4_0 order on one plain Q4_0 row against a Q8_0 activation
 * row: the reference the packed Q4_0 kernels are checked against. */
void og_q4_0_dot_blocksum(int64_t n, float *out, const void *w_row, const void *act);

/* Scalar packed gemms (og_gemm_fn; row_bytes is unused, r0 a multiple of
 * OG_PACK_ROWS and r1 one too or the row count). */
void og_packed_q4_0_gemm_ref(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                             const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride);
void og_packed_q8_0_gemm_ref(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                             const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride);
void og_packed_q4_1_gemm_ref(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                             const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride);

/* Rows of the group that starts at row r0 of a range ending at r1. */
static inline int og_pack_group_rows(int64_t r0, int64_t r1)
{
    return r1 - r0 < OG_PACK_ROWS ? (int)(r1 - r0) : OG_PACK_ROWS;
}

#endif
