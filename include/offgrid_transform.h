/*
 * offgrid_transform.h - the transform tier of offgrid: tools that read a model
 * file and write another (GGUF in, GGUF out), always atomically through a
 * temporary file beside the destination, so a failure leaves nothing
 * half-written. Absent from builds with OG_CORE_ONLY. The conventions of
 * offgrid.h hold.
 */
#ifndef OFFGRID_TRANSFORM_H
#define OFFGRID_TRANSFORM_H

#include "offgrid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- conversion */

typedef enum og_convert_type {
    OG_CONVERT_F32,  /* every tensor as F32 */
    OG_CONVERT_F16,  /* matrices as F16; norms, biases, position and token-type embeddings F32 */
    OG_CONVERT_Q8_0  /* matrices as Q8_0 (F16 when a row is not a multiple of 32), the rest as F16 does */
} og_convert_type;

/* Called after each tensor is converted: done of total, and its GGUF name. */
typedef void (*og_convert_progress_fn)(void *user, int64_t done, int64_t total, const char *tensor);

typedef struct og_convert_params {
    og_convert_type type;            /* default OG_CONVERT_F16, as llama.cpp's converter */
    og_convert_progress_fn progress; /* may be NULL */
    void *user;
} og_convert_params;

OG_API og_convert_params og_convert_default_params(void);

/* Converts a Hugging Face model folder (config.json, model.safetensors,
 * tokenizer.json, tokenizer.model or vocab.txt, tokenizer_config.json,
 * special_tokens_map.json) into a GGUF file with llama.cpp's names, so
 * llama.cpp and offgrid both load it. Architectures: LlamaForCausalLM,
 * BertModel, BertForSequenceClassification. out_path is written through a
 * temporary file: on failure nothing is left behind. */
OG_API og_status og_convert_hf(const char *hf_dir, const char *out_path, const og_convert_params *params,
                        og_error *err);

/* ------------------------------------------------------ classifier heads */

/* Writes the GGUF at src to dst (which may be src) with
 * offgrid.classifier.temperature = t, atomically (a temporary file beside
 * dst, then rename): other keys and tensors are copied unchanged. Loaded
 * models keep their old mapping. */
OG_API og_status og_model_save_temperature(const char *src, const char *dst, float temperature, og_error *err);

/* A linear head over sentence embeddings: logits = weight @ e + bias, e
 * being the pooled embedding, scaled to unit length first when normalized
 * is true. weight is n_labels rows of the model's n_embd floats. */
typedef struct og_linear_head {
    int32_t n_labels, n_embd;
    const float *weight, *bias;
    const char *const *labels; /* n_labels names, none empty */
    bool normalized;
} og_linear_head;

/* Writes the encoder GGUF at src (arch bert) to dst with the head as its
 * classifier (F32 cls.output.*, output_labels, offgrid.classifier.input;
 * temperature 1), atomically; dst may be src. A head src already has,
 * and its temperature, are dropped. OG_ERR_ARG when the head does not fit
 * the model. */
OG_API og_status og_model_add_head(const char *src, const char *dst, const og_linear_head *head, og_error *err);

/* ------------------------------------------------------------------ synth */

/* Called before each layer is generated (layer counts from 0). */
typedef void (*og_synth_progress_fn)(int layer, int n_layer, void *arg);

/* Writes path atomically: a llama model with random weights for
 * benchmarks and tests. shape "smollm2-135m", "llama-1b", "tiny" (64
 * wide, 2 layers, head dim 16) or "tiny-k" (256 wide, 8 layers, head dim
 * 32, 4 query heads per KV head); type "f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0" or "q5_1" for
 * every matrix, or "q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s",
 * "q4_k_m", "q5_k_s", "q5_k_m", "q6_k" for llama-quantize's per-tensor
 * mixture of that name (q2_k and q3_k_* only for shapes whose rows are
 * multiples of 256, OG_ERR_ARG otherwise; norms are F32; the
 * output projection is tied to token_embd). The floats depend only on
 * shape and seed, so a K mixture has the bytes llama-quantize makes from
 * the "f32" file of the same seed. The same seed gives the same bytes. Errors:
 * OG_ERR_ARG (unknown shape or type, the message lists the valid ones),
 * OG_ERR_NOMEM, OG_ERR_IO. */
OG_API og_status og_synth_write(const char *path, const char *shape, const char *type, uint64_t seed,
                         og_synth_progress_fn progress, void *arg, og_error *err);

#ifdef __cplusplus
}
#endif
#endif
