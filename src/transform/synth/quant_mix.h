/*
 * quant_mix.h - private to synth: which type llama-quantize (llama.cpp
 * b4747, llama_tensor_get_type) gives each tensor of a llama model for the
 * K-quant file types, so a synthetic Q4_K_M file has the mixture a
 * downloaded Q4_K_M file has.
 */
#ifndef OG_SYNTH_QUANT_MIX_H
#define OG_SYNTH_QUANT_MIX_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor/types.h"

/* llama.cpp's llama_ftype values of the mixtures synth writes. */
enum {
    OG_FTYPE_Q2_K = 10,
    OG_FTYPE_Q3_K_S = 11,
    OG_FTYPE_Q3_K_M = 12,
    OG_FTYPE_Q3_K_L = 13,
    OG_FTYPE_Q4_K_S = 14,
    OG_FTYPE_Q4_K_M = 15,
    OG_FTYPE_Q5_K_S = 16,
    OG_FTYPE_Q5_K_M = 17,
    OG_FTYPE_Q6_K = 18,
};

/* The base type of a K file type (Q4_K for Q4_K_M ...); OG_TYPE_COUNT if
 * ftype is not one of the above. */
og_type og_quant_mix_base(uint32_t ftype);

/* The type llama-quantize chooses for the 2-D weight `suffix` ("token_embd"
 * or a per-layer name such as "attn_v", "ffn_down") of layer `layer` of
 * n_layer, with `cols` elements per row, in a model with n_gqa query heads
 * per KV head whose output projection is tied to token_embd (no
 * output.weight), without an importance matrix: the ftype's per-tensor
 * rules, then its fallback when cols is not a multiple of the chosen
 * type's block (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, then F16).
 * OG_TYPE_COUNT when that fallback would be IQ4_NL (a Q2_K or Q3_K tensor
 * with such rows), which offgrid does not write. layer is ignored for
 * token_embd. */
og_type og_quant_mix_type(uint32_t ftype, const char *suffix, int64_t cols, int layer, int n_layer, int n_gqa);

#endif
