/*
 * quant_mix.c - llama-quantize's per-tensor type choice for the K-quant
 * file types Q2_K, Q3_K_S/M/L, Q4_K_S/M, Q5_K_S/M and Q6_K, for the llama
 * architecture (no experts, not a 70B model, no importance matrix), as
 * llama.cpp b4747 writes it in llama_tensor_get_type. Only the rules that
 * can fire for those file types and synth's tensors are here; a wider
 * converter would need the rest.
 *
 * llama-quantize counts attn_v and ffn_down tensors as it meets them, in
 * the order of its tensor map (by layer, then by name), so its counters
 * equal the layer index, which is what this takes.
 */
#include <string.h>

#include "synth/quant_mix.h"

og_type og_quant_mix_base(uint32_t ftype)
{
    switch (ftype) {
    case OG_FTYPE_Q2_K: return OG_TYPE_Q2_K;
    case OG_FTYPE_Q3_K_S:
    case OG_FTYPE_Q3_K_M:
    case OG_FTYPE_Q3_K_L: return OG_TYPE_Q3_K;
    case OG_FTYPE_Q4_K_S:
    case OG_FTYPE_Q4_K_M: return OG_TYPE_Q4_K;
    case OG_FTYPE_Q5_K_S:
    case OG_FTYPE_Q5_K_M: return OG_TYPE_Q5_K;
    case OG_FTYPE_Q6_K: return OG_TYPE_Q6_K;
    default: return OG_TYPE_COUNT;
    }
}

/* The layers that get more bits: the first and last eighth, and every
 * third layer between them. */
static bool use_more_bits(int layer, int n_layer)
{
    return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

static int64_t block_of(og_type t) { return og_type_traits_of(t)->block_size; }

/* The rules before the block-size fallback. */
static og_type chosen(uint32_t ftype, og_type base, const char *suffix, int64_t cols, int layer, int n_layer,
                      int n_gqa)
{
    if (!strcmp(suffix, "token_embd")) {
        /* Tied to the output, so it gets the output's type: Q6_K, or Q8_0
         * when its rows do not split into the base type's blocks. */
        return cols % block_of(base) != 0 ? OG_TYPE_Q8_0 : OG_TYPE_Q6_K;
    }
    if (!strcmp(suffix, "attn_v")) {
        if (ftype == OG_FTYPE_Q2_K)
            return n_gqa >= 4 ? OG_TYPE_Q4_K : OG_TYPE_Q3_K;
        if (ftype == OG_FTYPE_Q3_K_M)
            return layer < 2 ? OG_TYPE_Q5_K : OG_TYPE_Q4_K;
        if (ftype == OG_FTYPE_Q3_K_L)
            return OG_TYPE_Q5_K;
        if ((ftype == OG_FTYPE_Q4_K_M || ftype == OG_FTYPE_Q5_K_M) && use_more_bits(layer, n_layer))
            return OG_TYPE_Q6_K;
        if (ftype == OG_FTYPE_Q4_K_S && layer < 4)
            return OG_TYPE_Q5_K;
        return base;
    }
    if (!strcmp(suffix, "ffn_down")) {
        if (ftype == OG_FTYPE_Q2_K)
            return OG_TYPE_Q3_K;
        if (ftype == OG_FTYPE_Q3_K_M) /* Q3_K only for Falcon */
            return layer < n_layer / 16 ? OG_TYPE_Q5_K : OG_TYPE_Q4_K;
        if (ftype == OG_FTYPE_Q3_K_L)
            return OG_TYPE_Q5_K;
        if ((ftype == OG_FTYPE_Q4_K_M || ftype == OG_FTYPE_Q5_K_M) && use_more_bits(layer, n_layer))
            return OG_TYPE_Q6_K;
        if (ftype == OG_FTYPE_Q4_K_S && layer < n_layer / 8)
            return OG_TYPE_Q5_K;
        return base;
    }
    if (!strcmp(suffix, "attn_output")) {
        if (ftype == OG_FTYPE_Q2_K)
            return OG_TYPE_Q3_K;
        if (ftype == OG_FTYPE_Q3_K_M)
            return OG_TYPE_Q4_K;
        if (ftype == OG_FTYPE_Q3_K_L)
            return OG_TYPE_Q5_K;
        return base;
    }
    return base; /* attn_q, attn_k, ffn_gate, ffn_up */
}

og_type og_quant_mix_type(uint32_t ftype, const char *suffix, int64_t cols, int layer, int n_layer, int n_gqa)
{
    const og_type base = og_quant_mix_base(ftype);
    if (base == OG_TYPE_COUNT)
        return OG_TYPE_COUNT;
    og_type t = chosen(ftype, base, suffix, cols, layer, n_layer, n_gqa);
    if (cols % block_of(t) == 0)
        return t;
    switch (t) {
    case OG_TYPE_Q2_K:
    case OG_TYPE_Q3_K: return OG_TYPE_COUNT; /* llama-quantize: IQ4_NL */
    case OG_TYPE_Q4_K: t = OG_TYPE_Q5_0; break;
    case OG_TYPE_Q5_K: t = OG_TYPE_Q5_1; break;
    case OG_TYPE_Q6_K: t = OG_TYPE_Q8_0; break;
    default: break;
    }
    return cols % block_of(t) == 0 ? t : OG_TYPE_F16;
}
