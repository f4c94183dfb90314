/*
 * model.h - the loaded model: hyperparameters, weight tensors (pointing
 * into the mapped GGUF) and the vocabulary. Private to the library.
 */
#ifndef OG_MODEL_MODEL_H
#define OG_MODEL_MODEL_H

#include "offgrid.h"
#include "gguf/gguf.h"
#include "tokenizer/vocab.h"

typedef enum og_arch {
    OG_ARCH_NONE = 0, /* vocab-only file */
    OG_ARCH_LLAMA
} og_arch;

typedef struct og_hparams {
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, n_ff;
    int32_t head_dim, n_rot;
    float norm_eps;
    float rope_freq_base, rope_freq_scale;
} og_hparams;

typedef struct og_layer {
    const og_gguf_tensor *attn_norm, *wq, *wk, *wv, *wo;
    const og_gguf_tensor *ffn_norm, *w_gate, *w_up, *w_down;
} og_layer;

struct og_model {
    og_gguf *gguf;
    og_vocab *vocab;
    og_arch arch;
    char arch_name[64];
    char name[256];
    og_hparams hp;
    const og_gguf_tensor *tok_embd, *output_norm, *output;
    og_layer *layers;
    og_gguf_tensor *packed; /* repacked matrices the fields above may point to (pack.c) */
    int32_t n_packed;
    void *packed_data;
    char *chat_template; /* NUL-terminated copy, or NULL */
    uint64_t n_params, n_bytes;
    const char *file_type;
};

/* Finds the llama-architecture tensors and checks their shapes. */
og_status og_llama_load(og_model *m, og_error *err);

/* Repacks the Q4_0 matrices for the interleaved kernels (pack.c) on
 * n_threads threads (0: all cores); the model then owns the copies,
 * freed by og_model_free. */
og_status og_model_pack(og_model *m, int32_t n_threads, og_error *err);

#endif
