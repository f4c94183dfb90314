/*
 * blocks.h - private: the byte layouts of the quantized blocks (identical
 * to ggml's ggml-common.h, checked by static asserts) and the small
 * decoding helpers every kernel file shares (5th bits, packed 6-bit
 * K-quant scales).
 */
#ifndef OG_TENSOR_BLOCKS_H
#define OG_TENSOR_BLOCKS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/fp16.h"
#include "base/numerics.h"
#include "tensor/types.h"

typedef struct { og_fp16 d; uint8_t qs[OG_QK / 2]; } og_block_q4_0;
typedef struct { og_fp16 d; og_fp16 m; uint8_t qs[OG_QK / 2]; } og_block_q4_1;
typedef struct { og_fp16 d; uint8_t qh[4]; uint8_t qs[OG_QK / 2]; } og_block_q5_0;
typedef struct { og_fp16 d; og_fp16 m; uint8_t qh[4]; uint8_t qs[OG_QK / 2]; } og_block_q5_1;
typedef struct { og_fp16 d; int8_t qs[OG_QK]; } og_block_q8_0;
/* s = d * sum(qs), so the min term of Q4_1/Q5_1 needs no pass over qs. */
typedef struct { og_fp16 d; og_fp16 s; int8_t qs[OG_QK]; } og_block_q8_1;

/* 16 sub-blocks of 16; scales holds (scale | min << 4) per sub-block. */
typedef struct {
    uint8_t scales[OG_QK_K / 16];
    uint8_t qs[OG_QK_K / 4];
    og_fp16 d;
    og_fp16 dmin;
} og_block_q2_K;

/* 16 sub-blocks of 16 with 6-bit signed (offset 32) scales packed in 12 bytes. */
typedef struct {
    uint8_t hmask[OG_QK_K / 8];
    uint8_t qs[OG_QK_K / 4];
    uint8_t scales[12];
    og_fp16 d;
} og_block_q3_K;

/* 8 sub-blocks of 32, 6-bit scales and mins packed in 12 bytes. */
typedef struct {
    og_fp16 d;
    og_fp16 dmin;
    uint8_t scales[12];
    uint8_t qs[OG_QK_K / 2];
} og_block_q4_K;

typedef struct {
    og_fp16 d;
    og_fp16 dmin;
    uint8_t scales[12];
    uint8_t qh[OG_QK_K / 8];
    uint8_t qs[OG_QK_K / 2];
} og_block_q5_K;

/* 16 sub-blocks of 16 with signed 8-bit scales. */
typedef struct {
    uint8_t ql[OG_QK_K / 2];
    uint8_t qh[OG_QK_K / 4];
    int8_t scales[OG_QK_K / 16];
    og_fp16 d;
} og_block_q6_K;

/* Q8_0 as the packed Q8_0 kernels read activations (OG_TYPE_Q8_0U): the
 * scale already a float (exactly the fp16 one) and the codes as unsigned
 * bytes qu = q + 128, which vpdpbusd takes as they are; the same numbers
 * as the Q8_0 block they are made from (og_q8_0u_widen). Rows of them
 * start 4-byte aligned, as the context's activation buffer does. */
typedef struct {
    float d;
    uint8_t qu[OG_QK];
} og_block_q8_0u;

/* bsums[j] = sum of qs[16j .. 16j+15], for the min terms of K-quants. */
typedef struct {
    float d;
    int8_t qs[OG_QK_K];
    int16_t bsums[OG_QK_K / 16];
} og_block_q8_K;

/* Q8_K activations of eight tokens interleaved per super-block
 * (OG_TYPE_Q8_K_X8): how the x86 K gemm reads a prompt, every token of a
 * tile at a fixed offset from one pointer, its scale among eight loaded
 * at once and its min sums ready. Slot t holds token t of a group of
 * eight; the numbers are exactly those of its og_block_q8_K. */
typedef struct {
    float d[8];
    int16_t pairs[8][8];  /* bsums[2j] + bsums[2j+1]: sums over sub-blocks of 32 (Q4_K, Q5_K mins) */
    int16_t bsums[8][16]; /* Q2_K mins */
    int8_t qs[8][OG_QK_K];
} og_block_q8_K_x8;

_Static_assert(sizeof(og_block_q4_0) == 18, "Q4_0 block layout");
_Static_assert(sizeof(og_block_q4_1) == 20, "Q4_1 block layout");
_Static_assert(sizeof(og_block_q5_0) == 22, "Q5_0 block layout");
_Static_assert(sizeof(og_block_q5_1) == 24, "Q5_1 block layout");
_Static_assert(sizeof(og_block_q8_0) == 34, "Q8_0 block layout");
_Static_assert(sizeof(og_block_q8_1) == 36, "Q8_1 block layout");
_Static_assert(sizeof(og_block_q8_0u) == 36, "Q8_0U block layout");
_Static_assert(sizeof(og_block_q2_K) == 84, "Q2_K block layout");
_Static_assert(sizeof(og_block_q3_K) == 110, "Q3_K block layout");
_Static_assert(sizeof(og_block_q4_K) == 144, "Q4_K block layout");
_Static_assert(sizeof(og_block_q5_K) == 176, "Q5_K block layout");
_Static_assert(sizeof(og_block_q6_K) == 210, "Q6_K block layout");
_Static_assert(sizeof(og_block_q8_K) == 292, "Q8_K block layout");
_Static_assert(sizeof(og_block_q8_K_x8) == 2464, "Q8_K x8 layout: whole 32-byte rows of codes");

static inline float og_h2f(og_fp16 h) { return og_fp16_to_f32(h); }

/* llama.cpp's x86 order for the 32-wide formats: 8 float lanes; per
 * block, lane l += d * (the exact int32 sum of the products of elements
 * 4l..4l+3), fused; at the end hsum_float_8 adds the halves lanewise,
 * then (0 + 2) + (1 + 3). The scalar kernels of both the plain and the
 * packed layouts (tensor/packed.h) are written with these two. */
static inline void og_lanes_block(float acc[8], float d, const int8_t w[32], const int8_t a[32])
{
    for (int l = 0; l < 8; l++) {
        int isum = 0;
        for (int j = 4 * l; j < 4 * l + 4; j++)
            isum += w[j] * a[j];
        acc[l] = fmaf(d, (float)isum, acc[l]);
    }
}

static inline float og_lanes_hsum(const float acc[8]) { return og_reduce8(acc); }

/* The 32 fifth bits of a Q5 block, bit j belonging to element j. */
static inline uint32_t og_q5_high_bits(const uint8_t qh[4])
{
    uint32_t bits;
    memcpy(&bits, qh, 4);
    return bits;
}

/* Scale and min of sub-block j (0..7) of Q4_K/Q5_K: the first four sit in
 * the low 6 bits of bytes 0..7, the last four are split into a nibble of
 * bytes 8..11 plus the top 2 bits of bytes 0..7. */
static inline void og_k4_scale_min(int j, const uint8_t *scales, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = scales[j] & 63;
        *m = scales[j + 4] & 63;
    } else {
        *sc = (uint8_t)((scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4));
        *m = (uint8_t)((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}

/* How a K format's min term enters ggml's x86 dot product (its AVX2
 * path, which its AVX-512 builds use as well), whose float order the
 * kernels keep: per super-block, eight int32 lane sums (lane k: elements
 * 4k..4k+3 of every 32-element chunk, times their group's scale) each go
 * into their own float lane by one fused multiply-add with y.d * x.d, and
 * the lanes are added at the end as og_lanes_hsum does. */
typedef enum {
    OG_KMINS_NONE,   /* Q3_K, Q6_K: signed codes, no min */
    OG_KMINS_LANES8, /* Q2_K: the min terms of group pairs (2k, 2k+1) go into
                        lane k, fused, before the codes' term */
    OG_KMINS_LANES4, /* Q4_K: the min terms of sub-block pairs go into four
                        float lanes of their own, added as (0+2)+(1+3) after
                        the eight */
    OG_KMINS_SCALAR  /* Q5_K: the super-block's whole min term is fused into
                        one float, added last */
} og_k_mins;

/* Signed scale of sub-block j (0..15) of Q3_K: low nibble from bytes 0..7,
 * 2 high bits from bytes 8..11, stored with an offset of 32. */
static inline int og_q3k_scale(int j, const uint8_t *scales)
{
    const int low = j < 8 ? (scales[j] & 0x0F) : (scales[j - 8] >> 4);
    const int high = (scales[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
    return (low | (high << 4)) - 32;
}

#endif
