/*
 * model.h - the loaded model: hyperparameters, weight tensors (pointing
 * into the mapped GGUF) and the vocabulary. Private to the library.
 */
#ifndef OG_MODEL_MODEL_H
#define OG_MODEL_MODEL_H

#include "offgrid.h"
#include "gguf/gguf.h"
#include "tokenizer/vocab.h"

/* One entry of the table of architectures (model/arch.h). */
typedef struct og_arch og_arch;

typedef struct og_hparams {
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, n_ff;
    int32_t head_dim, n_rot;
    float norm_eps;
    float rope_freq_base, rope_freq_scale;
    bool rope_neox; /* rotated pairs are n_rot/2 apart (qwen2), else adjacent (llama) */
} og_hparams;

typedef struct og_layer {
    const og_gguf_tensor *attn_norm, *wq, *wk, *wv, *wo;
    const og_gguf_tensor *ffn_norm, *w_gate, *w_up, *w_down;
    const og_gguf_tensor *bq, *bk, *bv; /* F32 biases of the Q/K/V products, or NULL (llama) */
} og_layer;

typedef struct og_bert og_bert; /* model/bert.h */

struct og_model {
    og_gguf *gguf;
    og_vocab *vocab;
    const og_arch *arch; /* NULL for a vocab-only load */
    char arch_name[64];
    char name[256];
    og_hparams hp;
    const og_gguf_tensor *tok_embd, *output_norm, *output;
    og_layer *layers;
    og_gguf_tensor *packed; /* repacked matrices the fields above may point to (pack.c) */
    int32_t n_packed;
    void *packed_map;       /* their bytes: og_map_buffer or a cache file (pack.c) */
    size_t packed_map_bytes;
    bool packed_from_cache;
    og_gguf_tensor *norms;  /* copies of the norm vectors the layers may point to (pack.c) */
    float *norm_data;
    og_bert *bert;       /* the encoder's tensors (arch bert) */
    char *chat_template; /* NUL-terminated copy, or NULL */
    uint64_t n_params, n_bytes;
    const char *file_type;
};

/* Reads the u32 / f32 / string key "<arch>.<suffix>"; false when absent. */
bool og_model_arch_u32(const og_model *m, const char *suffix, uint32_t *out);
bool og_model_arch_f32(const og_model *m, const char *suffix, float *out);
bool og_model_arch_str(const og_model *m, const char *suffix, og_str *out);

/* Reads the u32 keys "<arch>.<suffixes[i]>" into *fields[i]; each must
 * be present and in [1, 2^24] (OG_ERR_FORMAT naming the key otherwise). */
og_status og_model_require_dims(const og_model *m, const char *const *suffixes, int32_t *const *fields, int n,
                                og_error *err);

/* Finds a tensor and checks its shape is [ne0, ne1] (ne1 = 1 for vectors)
 * and its type usable: a supported matrix type when matrix, else F32
 * (norms, biases). */
og_status og_model_want_tensor(const og_model *m, const char *name, int64_t ne0, int64_t ne1, bool matrix,
                               const og_gguf_tensor **out, og_error *err);

/* Repacks the Q4_0, Q4_1 and Q8_0 matrices of the model loaded from path
 * for the interleaved kernels (pack.c) on n_threads threads (0: all
 * cores), or maps the copy kept in cache_dir by an earlier load (NULL: no
 * cache); the model then owns the copies, freed by og_model_free. */
og_status og_model_pack(og_model *m, const char *path, int32_t n_threads, const char *cache_dir, og_error *err);

#endif
