/*
 * packed.c - the portable half of the packed formats (see packed.h): the
 * repacking itself and the scalar kernels that define the order the SIMD
 * kernels (packed_x86.h, quants_neon.c) must reproduce bit for bit. The
 * scalar kernels read a block back into its plain form, so the packed
 * layout cannot change what they compute.
 */
#include "tensor/packed.h"

#include "base/numerics.h"
#include "tensor/blocks.h"

/* A plain block is n_head fp16 fields, then n_words 4-byte code words. */
typedef struct pack_format {
    og_type plain, packed;
    int block_bytes, n_head, n_words;
    uint32_t code_xor; /* applied to each code word when packing */
    int min_rows_multiple;
} pack_format;

static const pack_format formats[] = {
    { OG_TYPE_Q4_0, OG_TYPE_Q4_0_X16, sizeof(og_block_q4_0), 1, 4, 0, 8 },
    { OG_TYPE_Q4_1, OG_TYPE_Q4_1_X16, sizeof(og_block_q4_1), 2, 4, 0, OG_PACK_ROWS },
    { OG_TYPE_Q8_0, OG_TYPE_Q8_0_X16, sizeof(og_block_q8_0), 1, 8, 0x80808080u, OG_PACK_ROWS },
};

static const pack_format *format_of(og_type t)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].plain == t || formats[i].packed == t)
            return &formats[i];
    return NULL;
}

og_type og_packed_type(og_type plain)
{
    const pack_format *f = format_of(plain);
    return f && f->plain == plain ? f->packed : OG_TYPE_COUNT;
}

og_type og_plain_type(og_type packed)
{
    const pack_format *f = format_of(packed);
    return f && f->packed == packed ? f->plain : OG_TYPE_COUNT;
}

bool og_pack_applies(og_type plain, int64_t n_rows, int64_t n_cols)
{
    const pack_format *f = format_of(plain);
    return f && f->plain == plain && n_rows > 0 && n_rows % f->min_rows_multiple == 0 && n_cols > 0 &&
           n_cols % OG_QK == 0;
}

size_t og_packed_row_bytes(og_type packed, int64_t n_cols)
{
    const pack_format *f = format_of(packed);
    return f && n_cols % OG_QK == 0 ? (size_t)(n_cols / OG_QK) * (size_t)f->block_bytes : 0;
}

/* Where field h and word k of row r sit in a packed block of R rows. */
static size_t head_at(int R, int r, int h)
{
    return 2 * ((size_t)h * R + (size_t)r);
}

static size_t word_at(const pack_format *f, int R, int r, int k)
{
    return 2 * (size_t)f->n_head * R + 4 * ((size_t)k * R + (size_t)r);
}

/* One group's blocks; inlined with the format's constants, so that the
 * copies unroll (this runs at load time over the whole model). */
static inline __attribute__((always_inline)) void pack_group(const uint8_t *rows, size_t row_bytes, int64_t nb, int R,
                                                             uint8_t *out, int block_bytes, int n_head, int n_words,
                                                             uint32_t code_xor)
{
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = out + (size_t)b * R * (size_t)block_bytes;
        for (int r = 0; r < R; r++) {
            const uint8_t *in = rows + (size_t)r * row_bytes + (size_t)b * (size_t)block_bytes;
            for (int h = 0; h < n_head; h++)
                memcpy(blk + 2 * ((size_t)h * R + (size_t)r), in + 2 * h, 2);
            for (int k = 0; k < n_words; k++) {
                uint32_t word;
                memcpy(&word, in + 2 * n_head + 4 * k, 4);
                word ^= code_xor;
                memcpy(blk + 2 * (size_t)n_head * R + 4 * ((size_t)k * R + (size_t)r), &word, 4);
            }
        }
    }
}

void og_pack_rows(og_type plain, const void *src, int64_t n_cols, int64_t r0, int64_t r1, void *dst)
{
    const pack_format *f = format_of(plain);
    const int64_t nb = n_cols / OG_QK;
    const size_t row_bytes = (size_t)nb * (size_t)f->block_bytes;
    for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {
        const int R = og_pack_group_rows(g, r1);
        const uint8_t *rows = (const uint8_t *)src + (size_t)g * row_bytes;
        uint8_t *out = (uint8_t *)dst + (size_t)g * row_bytes;
        /* the constants of formats[], spelled out for the compiler */
        if (f->plain == OG_TYPE_Q4_0 && R == OG_PACK_ROWS)
            pack_group(rows, row_bytes, nb, OG_PACK_ROWS, out, sizeof(og_block_q4_0), 1, 4, 0);
        else if (f->plain == OG_TYPE_Q4_0)
            pack_group(rows, row_bytes, nb, R, out, sizeof(og_block_q4_0), 1, 4, 0);
        else if (f->plain == OG_TYPE_Q4_1)
            pack_group(rows, row_bytes, nb, OG_PACK_ROWS, out, sizeof(og_block_q4_1), 2, 4, 0);
        else
            pack_group(rows, row_bytes, nb, OG_PACK_ROWS, out, sizeof(og_block_q8_0), 1, 8, 0x80808080u);
    }
}

/* Block b of row r of a packed group of R rows, back in its plain form. */
static void unpack_block(const pack_format *f, const uint8_t *group, int R, int r, int64_t b, uint8_t *plain)
{
    const uint8_t *blk = group + (size_t)b * R * (size_t)f->block_bytes;
    for (int h = 0; h < f->n_head; h++)
        memcpy(plain + 2 * h, blk + head_at(R, r, h), 2);
    for (int k = 0; k < f->n_words; k++) {
        uint32_t word;
        memcpy(&word, blk + word_at(f, R, r, k), 4);
        word ^= f->code_xor;
        memcpy(plain + 2 * f->n_head + 4 * k, &word, 4);
    }
}

void og_packed_block(og_type packed, const void *data, int64_t n_rows, int64_t n_cols, int64_t row, int64_t b,
                     void *plain_block)
{
    const pack_format *f = format_of(packed);
    const size_t row_bytes = (size_t)(n_cols / OG_QK) * (size_t)f->block_bytes;
    const int64_t g = row - row % OG_PACK_ROWS;
    unpack_block(f, (const uint8_t *)data + (size_t)g * row_bytes, og_pack_group_rows(g, n_rows), (int)(row - g), b,
                 plain_block);
}

/* The exact integer dot of one Q4_0 block: codes are nibble - 8. */
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

/* One output of each packed format from its plain blocks, fetched one at
 * a time: Q4_0 in its block-sum order, Q8_0 and Q4_1 in the lanes order
 * of their plain dot products. */
static float dot_q4_0(const uint8_t *group, int R, int r, int64_t nb, const void *act)
{
    const og_block_q8_0 *a = act;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        og_block_q4_0 w;
        unpack_block(&formats[0], group, R, r, b, (uint8_t *)&w);
        acc = fmaf((float)block_isum(w.qs, a[b].qs), og_fp16_to_f32(w.d) * og_fp16_to_f32(a[b].d), acc);
    }
    return acc;
}

static float dot_q4_1(const uint8_t *group, int R, int r, int64_t nb, const void *act)
{
    const og_block_q8_1 *a = act;
    float acc[8] = { 0 }, summs = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        og_block_q4_1 w;
        unpack_block(&formats[1], group, R, r, b, (uint8_t *)&w);
        int8_t codes[OG_QK];
        for (int j = 0; j < OG_QK / 2; j++) {
            codes[j] = (int8_t)(w.qs[j] & 0x0F);
            codes[j + OG_QK / 2] = (int8_t)(w.qs[j] >> 4);
        }
        og_lanes_block(acc, og_h2f(w.d) * og_h2f(a[b].d), codes, a[b].qs);
        summs = fmaf(og_h2f(w.m), og_h2f(a[b].s), summs);
    }
    return og_lanes_hsum(acc) + summs;
}

static float dot_q8_0(const uint8_t *group, int R, int r, int64_t nb, const void *act)
{
    const og_block_q8_0u *a = act;
    float acc[8] = { 0 };
    for (int64_t b = 0; b < nb; b++) {
        og_block_q8_0 w;
        unpack_block(&formats[2], group, R, r, b, (uint8_t *)&w);
        int8_t codes[OG_QK];
        for (int j = 0; j < OG_QK; j++)
            codes[j] = (int8_t)(a[b].qu[j] ^ 0x80);
        og_lanes_block(acc, og_h2f(w.d) * a[b].d, w.qs, codes);
    }
    return og_lanes_hsum(acc);
}

void og_q8_0u_widen(void *row, int64_t nb)
{
    /* Last block first: block b's new place only covers old blocks >= b. */
    for (int64_t b = nb - 1; b >= 0; b--) {
        og_block_q8_0 q;
        og_block_q8_0u u;
        memcpy(&q, (uint8_t *)row + (size_t)b * sizeof q, sizeof q);
        u.d = og_h2f(q.d);
        for (int j = 0; j < OG_QK; j++)
            u.qu[j] = (uint8_t)(q.qs[j] ^ 0x80);
        memcpy((uint8_t *)row + (size_t)b * sizeof u, &u, sizeof u);
    }
}

typedef float (*packed_dot_fn)(const uint8_t *group, int R, int r, int64_t nb, const void *act);

static void gemm_ref(og_type plain, packed_dot_fn dot, int64_t n, const void *w, int64_t r0, int64_t r1,
                     const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    const pack_format *f = format_of(plain);
    const int64_t nb = n / OG_QK;
    const size_t row_bytes = (size_t)nb * (size_t)f->block_bytes;
    for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {
        const int R = og_pack_group_rows(g, r1);
        const uint8_t *group = (const uint8_t *)w + (size_t)g * row_bytes;
        for (int32_t t = 0; t < n_tokens; t++) {
            const void *act = (const uint8_t *)acts + (size_t)t * act_stride;
            for (int r = 0; r < R; r++)
                y[(size_t)t * y_stride + (size_t)(g + r)] = dot(group, R, r, nb, act);
        }
    }
}

void og_packed_q4_0_gemm_ref(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                             const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    (void)row_bytes;
    gemm_ref(OG_TYPE_Q4_0, dot_q4_0, n, w, r0, r1, acts, act_stride, n_tokens, y, y_stride);
}

void og_packed_q4_1_gemm_ref(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                             const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    (void)row_bytes;
    gemm_ref(OG_TYPE_Q4_1, dot_q4_1, n, w, r0, r1, acts, act_stride, n_tokens, y, y_stride);
}

void og_packed_q8_0_gemm_ref(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                             const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    (void)row_bytes;
    gemm_ref(OG_TYPE_Q8_0, dot_q8_0, n, w, r0, r1, acts, act_stride, n_tokens, y, y_stride);
}
