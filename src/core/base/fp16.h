/*
 * fp16.h - IEEE half and bfloat16 conversions, bit-exact with ggml's
 * scalar versions (round to nearest even, NaN kept quiet).
 */
#ifndef OG_BASE_FP16_H
#define OG_BASE_FP16_H

#include <stdint.h>
#include <string.h>

typedef uint16_t og_fp16;
typedef uint16_t og_bf16;

static inline float og_bits_to_f32(uint32_t bits) { float f; memcpy(&f, &bits, 4); return f; }
static inline uint32_t og_f32_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float og_fp16_to_f32(og_fp16 h)
{
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const uint32_t exp_offset = 0xE0u << 23;
    const float exp_scale = og_bits_to_f32(0x7800000u);
    const float normalized = og_bits_to_f32((two_w >> 4) + exp_offset) * exp_scale;
    const uint32_t magic_mask = 126u << 23;
    const float magic_bias = 0.5f;
    const float denormalized = og_bits_to_f32((two_w >> 17) | magic_mask) - magic_bias;
    const uint32_t denormalized_cutoff = 1u << 27;
    const uint32_t result = sign | (two_w < denormalized_cutoff ? og_f32_to_bits(denormalized)
                                                                 : og_f32_to_bits(normalized));
    return og_bits_to_f32(result);
}

static inline og_fp16 og_f32_to_fp16(float f)
{
    const float scale_to_inf = og_bits_to_f32(0x77800000u);
    const float scale_to_zero = og_bits_to_f32(0x08800000u);
    float base = (f < 0 ? -f : f) * scale_to_inf * scale_to_zero;
    const uint32_t w = og_f32_to_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u)
        bias = 0x71000000u;
    base = og_bits_to_f32((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = og_f32_to_bits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (og_fp16)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

static inline float og_bf16_to_f32(og_bf16 h) { return og_bits_to_f32((uint32_t)h << 16); }

static inline og_bf16 og_f32_to_bf16(float f)
{
    uint32_t u = og_f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (og_bf16)((u >> 16) | 64); /* quiet NaN */
    return (og_bf16)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

#endif
