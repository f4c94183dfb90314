/*
 * packed.c - the portable half of packed Q4_0 (see packed.h): the
 * repacking itself and the scalar kernels that define the order the SIMD
 * kernels (packed_x86.h) must reproduce bit for bit.
 */
#include "tensor/packed.h"

#include "base/numerics.h"
#include "tensor/blocks.h"

enum { BLOCK_BYTES = sizeof(og_block_q4_0) };

void og_pack_q4_0(const void *src, int64_t n_rows, int64_t n_cols, int64_t r0, int64_t r1, void *dst)
{
    const int64_t nb = n_cols / OG_QK;
    const size_t row_bytes = (size_t)nb * BLOCK_BYTES;
    (void)n_rows;
    for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {
        const int R = og_pack_group_rows(g, r1);
        const uint8_t *rows = (const uint8_t *)src + (size_t)g * row_bytes;
        uint8_t *out = (uint8_t *)dst + (size_t)g * row_bytes;
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *blk = out + (size_t)b * R * BLOCK_BYTES;
            for (int r = 0; r < R; r++) {
                const og_block_q4_0 *in = (const og_block_q4_0 *)(rows + (size_t)r * row_bytes) + b;
                memcpy(blk + 2 * r, &in->d, 2);
                for (int k = 0; k < 4; k++)
                    memcpy(blk + 2 * R + k * 4 * R + 4 * r, in->qs + 4 * k, 4);
            }
        }
    }
}

/* The exact integer dot of one block: Q4_0 codes are nibble - 8. */
static int block_isum(const uint8_t *qs, const int8_t *a)
{
    int sum = 0;
    for (int i = 0; i < OG_QK / 2; i++)
        sum += ((qs[i] & 0x0F) - 8) * a[i] + ((qs[i] >> 4) - 8) * a[i + OG_QK / 2];
    return sum;
}

void og_q4_0_dot_blocksum(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_block_q4_0 *w = w_row;
    const og_block_q8_0 *a = act;
    float acc = 0.0f;
    for (int64_t b = 0; b < n / OG_QK; b++) {
        const float d = og_fp16_to_f32(w[b].d) * og_fp16_to_f32(a[b].d);
        acc = fmaf((float)block_isum(w[b].qs, a[b].qs), d, acc);
    }
    *out = acc;
}

void og_packed_q4_0_gemm_ref(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                             const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    const int64_t nb = n / OG_QK;
    row_bytes = (size_t)nb * BLOCK_BYTES;
    for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {
        const int R = og_pack_group_rows(g, r1);
        const uint8_t *group = (const uint8_t *)w + (size_t)g * row_bytes;
        for (int32_t t = 0; t < n_tokens; t++) {
            const og_block_q8_0 *a = (const og_block_q8_0 *)((const uint8_t *)acts + (size_t)t * act_stride);
            for (int r = 0; r < R; r++) {
                float acc = 0.0f;
                for (int64_t b = 0; b < nb; b++) {
                    const uint8_t *blk = group + (size_t)b * R * BLOCK_BYTES;
                    og_fp16 dw;
                    memcpy(&dw, blk + 2 * r, 2);
                    uint8_t qs[OG_QK / 2];
                    for (int k = 0; k < 4; k++)
                        memcpy(qs + 4 * k, blk + 2 * R + k * 4 * R + 4 * r, 4);
                    const float d = og_fp16_to_f32(dw) * og_fp16_to_f32(a[b].d);
                    acc = fmaf((float)block_isum(qs, a[b].qs), d, acc);
                }
                y[(size_t)t * y_stride + (size_t)(g + r)] = acc;
            }
        }
    }
}
