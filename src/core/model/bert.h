/*
 * bert.h - the BERT encoder (arch "bert" as llama.cpp's converter writes
 * it): its tensors, and the encoder state that runs it over packed
 * batches of sequences. Private to the library.
 */
#ifndef OG_MODEL_BERT_H
#define OG_MODEL_BERT_H

#include "model/context.h"

typedef enum og_pooling {
    OG_POOL_MEAN = 1, /* values of <arch>.pooling_type, as llama.cpp */
    OG_POOL_CLS = 2
} og_pooling;

/* What the classification head reads (offgrid.classifier.input). */
typedef enum og_head_input {
    OG_HEAD_POOLER,              /* BertForSequenceClassification: [CLS], dense + tanh */
    OG_HEAD_EMBEDDING,           /* the pooled sentence embedding */
    OG_HEAD_NORMALIZED_EMBEDDING /* the same scaled to unit length, as og_embed gives it */
} og_head_input;

typedef struct og_bert_layer {
    const og_gguf_tensor *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
    const og_gguf_tensor *attn_norm, *attn_norm_b; /* attn_output_norm */
    const og_gguf_tensor *w_up, *b_up, *w_down, *b_down;
    const og_gguf_tensor *out_norm, *out_norm_b;   /* layer_output_norm */
} og_bert_layer;

struct og_bert {
    int32_t n_token_types;
    og_pooling pooling;
    const og_gguf_tensor *tok_embd, *type_embd, *pos_embd, *embd_norm, *embd_norm_b;
    og_bert_layer *layers;
    /* Classification head, all NULL when absent: cls = pooler dense (only
     * for OG_HEAD_POOLER), cls_out = classifier (n_labels outputs). */
    const og_gguf_tensor *cls, *cls_b, *cls_out, *cls_out_b;
    og_head_input head_input;
    int32_t n_labels;
    char **labels;     /* n_labels NUL-terminated names */
    float temperature; /* offgrid.classifier.temperature, default 1 */
    int32_t max_tokens; /* OG_KEY_ENCODER_MAX_TOKENS, or 0 when absent */
};

/* Queries whose attention scores a thread holds at once (bert.c). */
#define OG_BERT_QUERY_BLOCK 16

/* The encoder: buffers for n_batch tokens of packed sequences of at most
 * max_tokens each. `exec` lends og_ops_* what they use of a context (the
 * pool, the kernels and the activation buffer); its other fields stay
 * empty since an encoder has no KV cache. */
struct og_encoder {
    og_model *model;
    og_context exec;
    int32_t n_batch, max_tokens;
    bool normalize;
    float *x, *xb, *q, *k, *v, *attn, *hb; /* [token][feature] */
    float *kt;                             /* K transposed: [feature][token] */
    float *scores;                         /* [thread][OG_BERT_QUERY_BLOCK][max_tokens] */
    float *logits;                         /* [n_batch][n_labels] */
    int32_t *pos, *seq;                    /* position and sequence of each token */
    og_token *tokens, *staging;            /* packed batch; one text being tokenized */
    int32_t *seq_start;                    /* n_batch + 1 offsets */
};

/* Runs the encoder over n_seqs sequences packed in tokens, sequence s
 * being tokens[seq_start[s] .. seq_start[s + 1]). Leaves the last
 * layer's hidden states in enc->x. */
void og_bert_encode(og_encoder *enc, const og_token *tokens, const int32_t *seq_start, int32_t n_seqs);

/* Pools the hidden states of each sequence (mean or CLS as the model
 * says) into out[n_seqs][n_embd]. */
void og_bert_pool(og_encoder *enc, const int32_t *seq_start, int32_t n_seqs, float *out);

/* Scales each of n rows of width n_embd to unit L2 length, as
 * sentence-transformers' Normalize does. */
void og_bert_normalize(float *rows, int32_t n, int64_t n_embd);

/* The classification head over each sequence's [CLS] state or pooled
 * embedding, as the model says: writes enc->logits[n_seqs][n_labels].
 * The model must have a head. */
void og_bert_classify(og_encoder *enc, const int32_t *seq_start, int32_t n_seqs);

#endif
