/*
 * qwen2.c - the qwen2 architecture (Qwen2, Qwen2.5, Qwen2.5-Coder): the
 * llama body (llama.c) with a bias on each of the Q, K and V products and
 * NeoX-style RoPE (rotated pairs n_rot/2 apart), as llama.cpp's build_qwen2
 * has it. The output matrix is tied to the embeddings unless the file has
 * its own, as in llama. Owns nothing beyond what og_llama_load sets up.
 */
#include <stdio.h>

#include "offgrid.h"
#include "model/arch.h"

static og_status qwen2_load(og_model *m, og_error *err)
{
    og_status st = og_llama_load(m, err);
    if (st != OG_OK)
        return st;
    og_hparams *hp = &m->hp;
    hp->rope_neox = true;
    const int64_t q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    for (int32_t l = 0; l < hp->n_layer; l++) {
        og_layer *L = &m->layers[l];
        static const char *const names[3] = { "attn_q", "attn_k", "attn_v" };
        const og_gguf_tensor **fields[3] = { &L->bq, &L->bk, &L->bv };
        for (int i = 0; i < 3; i++) {
            char name[96];
            snprintf(name, sizeof name, "blk.%d.%s.bias", l, names[i]);
            /* A vector, so it must be F32 (as the norms are). */
            st = og_model_want_tensor(m, name, i ? kv_dim : q_dim, 1, false, fields[i], err);
            if (st != OG_OK) {
                og_error_prefix(err, "qwen2 needs the Q, K and V biases");
                return st;
            }
        }
    }
    return OG_OK;
}

const og_arch og_arch_qwen2 = {
    .name = "qwen2",
    .kind = OG_ARCH_DECODER,
    .load = qwen2_load,
    .packs_weights = true,
    .plan = og_llama_plan,
    .forward = og_llama_forward,
};
