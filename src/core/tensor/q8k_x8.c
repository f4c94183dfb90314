/*
 * q8k_x8.c - owns the OG_TYPE_Q8_K_X8 activation layout (blocks.h): a
 * prompt's Q8_K rows regrouped eight tokens to a super-block record, so
 * the x86 K gemm finds every token of a tile at a fixed offset and their
 * scales side by side. Pure data movement: each token keeps the exact
 * numbers of its Q8_K row.
 */
#include <string.h>

#include "tensor/blocks.h"
#include "tensor/kernels.h"

size_t og_q8_K_x8_bytes(int32_t n_tokens, int64_t n)
{
    const size_t groups = ((size_t)n_tokens + 7) / 8;
    return groups * (size_t)(n / OG_QK_K) * sizeof(og_block_q8_K_x8);
}

/* One token's super-block into its slot of a record. */
static void put_block(og_block_q8_K_x8 *rec, int slot, const og_block_q8_K *b)
{
    rec->d[slot] = b->d;
    memcpy(rec->qs[slot], b->qs, sizeof b->qs);
    memcpy(rec->bsums[slot], b->bsums, sizeof b->bsums);
    for (int j = 0; j < 8; j++) /* as ggml's hadd_epi16 pairs them (no overflow: |sum| <= 32 * 127) */
        rec->pairs[slot][j] = (int16_t)(b->bsums[2 * j] + b->bsums[2 * j + 1]);
}

void og_q8_K_x8_from_rows(const void *rows, size_t stride, int32_t n_tokens, int64_t n, void *dst)
{
    const int64_t nb = n / OG_QK_K;
    for (int32_t t = 0; t < n_tokens; t++) {
        const og_block_q8_K *row = (const og_block_q8_K *)((const uint8_t *)rows + (size_t)t * stride);
        og_block_q8_K_x8 *group = (og_block_q8_K_x8 *)dst + (size_t)(t / 8) * (size_t)nb;
        for (int64_t i = 0; i < nb; i++)
            put_block(&group[i], t % 8, &row[i]);
    }
}

void og_q8_K_x8_from_float(const og_kernels *k, const float *x, size_t x_stride, int32_t n_tokens, int64_t n,
                           void *dst)
{
    const int64_t nb = n / OG_QK_K;
    for (int32_t t = 0; t < n_tokens; t++) {
        og_block_q8_K_x8 *group = (og_block_q8_K_x8 *)dst + (size_t)(t / 8) * (size_t)nb;
        for (int64_t i = 0; i < nb; i++) {
            og_block_q8_K b; /* ggml quantizes each super-block on its own */
            k->from_float[OG_TYPE_Q8_K](x + (size_t)t * x_stride + (size_t)i * OG_QK_K, &b, OG_QK_K);
            put_block(&group[i], t % 8, &b);
        }
    }
}
