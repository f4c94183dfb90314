/*
 * arch.h - the table of architectures (arch.c). Each architecture is one
 * file (llama.c, bert.c) that fills one og_arch; adding an architecture
 * is that file and one line in the table. og_model and og_context reach
 * an architecture only through these entries.
 */
#ifndef OG_MODEL_ARCH_H
#define OG_MODEL_ARCH_H

#include "model/context.h"

typedef enum og_arch_kind {
    OG_ARCH_DECODER, /* generates: og_context, og_decode, og_generate */
    OG_ARCH_ENCODER  /* embeds and classifies: og_encoder */
} og_arch_kind;

struct og_arch {
    const char *name; /* general.architecture */
    og_arch_kind kind;
    /* Reads the hyperparameters and binds the tensors, checking their
     * shapes; what it allocates is freed by unload (and the model's own
     * fields by og_model_free). */
    og_status (*load)(og_model *m, og_error *err);
    void (*unload)(og_model *m); /* may be NULL */
    /* Repack the quantized matrices for the fast kernels after load (pack.c). */
    bool packs_weights;
    /* Decoders: the buffers a context of this shape needs, and the
     * forward pass over n <= n_batch tokens at positions n_past.., which
     * appends to the KV cache and writes logits for every token when
     * all_logits, else for the last one. */
    void (*plan)(const og_model *m, int32_t n_ctx, int32_t n_batch, int32_t n_threads, og_context_plan *p);
    void (*forward)(og_context *ctx, const og_token *tokens, int32_t n, bool all_logits);
};

/* The architecture named name, or NULL. */
const og_arch *og_arch_find(const char *name);

/* Writes the names of the table's architectures, comma-separated
 * ("llama, bert"), into buf (cap > 0; truncated between names) for error
 * messages, and returns buf. */
const char *og_arch_names(char *buf, size_t cap);

extern const og_arch og_arch_llama, og_arch_qwen2, og_arch_bert;

/* The llama-family decoder body (llama.c), which other decoders that
 * differ only in a few tensors or options reuse (qwen2.c): loading the
 * shared hyperparameters and tensors, the buffer plan, the forward pass
 * (which applies og_layer's biases and og_hparams.rope_neox if set). */
og_status og_llama_load(og_model *m, og_error *err);
void og_llama_plan(const og_model *m, int32_t n_ctx, int32_t n_batch, int32_t n_threads, og_context_plan *p);
void og_llama_forward(og_context *ctx, const og_token *tokens, int32_t n, bool all_logits);

#endif
