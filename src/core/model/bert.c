/*
 * bert.c - the BERT architecture: hyperparameters and tensors from GGUF
 * (token, type and position embeddings, post-LayerNorm blocks with biased
 * projections and an erf-GELU feed-forward, an optional sequence
 * classification head), and the forward pass over a packed batch of
 * sequences with bidirectional attention inside each sequence, pooling
 * and the head. Weights stay in the mapped file; buffers are the
 * encoder's (encoder.c).
 */
#include "model/bert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "model/arch.h"
#include "model/ops.h"

/* ------------------------------------------------------------- loading */

static void bert_free(og_bert *b)
{
    if (!b)
        return;
    free(b->layers);
    for (int32_t i = 0; b->labels && i < b->n_labels; i++)
        free(b->labels[i]);
    free(b->labels);
    free(b);
}

static char *dup_str(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* The optional head. A BertForSequenceClassification has a pooler dense
 * "cls" [n_embd, n_embd] over [CLS] and the classifier "cls.output"
 * [n_embd, n_labels]; a linear model trained on sentence embeddings (e.g.
 * scikit-learn's LogisticRegression over sentence-transformers vectors)
 * has only "cls.output", and offgrid.classifier.input says which
 * embedding it reads. Names from classifier.output_labels when the file
 * has them. */
static og_status load_head(og_model *m, og_bert *b, og_error *err)
{
    const int64_t n_embd = m->hp.n_embd;
    const og_gguf_tensor *out = og_gguf_find_tensor(m->gguf, "cls.output.weight");
    if (!out)
        return OG_OK;
    if (out->ne[0] != n_embd || out->ne[1] < 1 || out->ne[1] > 65536)
        return og_error_set(err, OG_ERR_FORMAT, "tensor 'cls.output.weight' has shape [%lld, %lld], expected [%lld, n_labels]",
                            (long long)out->ne[0], (long long)out->ne[1], (long long)n_embd);
    b->n_labels = (int32_t)out->ne[1];
    b->head_input = OG_HEAD_POOLER;
    og_str input;
    if (og_gguf_get_str(m->gguf, OG_KEY_CLASSIFIER_INPUT, &input)) {
        if (og_str_eq(input, "embedding"))
            b->head_input = OG_HEAD_EMBEDDING;
        else if (og_str_eq(input, "normalized_embedding"))
            b->head_input = OG_HEAD_NORMALIZED_EMBEDDING;
        else if (!og_str_eq(input, "pooler"))
            return og_error_set(err, OG_ERR_UNSUPPORTED, "%s is '%.*s' (expected pooler, embedding or "
                                "normalized_embedding)", OG_KEY_CLASSIFIER_INPUT, (int)input.len, input.ptr);
    }
    og_status st;
    if (b->head_input == OG_HEAD_POOLER &&
        ((st = og_model_want_tensor(m, "cls.weight", n_embd, n_embd, true, &b->cls, err)) ||
         (st = og_model_want_tensor(m, "cls.bias", n_embd, 1, false, &b->cls_b, err))))
        return st;
    if ((st = og_model_want_tensor(m, "cls.output.weight", n_embd, b->n_labels, true, &b->cls_out, err)) ||
        (st = og_model_want_tensor(m, "cls.output.bias", b->n_labels, 1, false, &b->cls_out_b, err)))
        return st;
    char key[128];
    snprintf(key, sizeof key, "%s.classifier.output_labels", m->arch_name);
    const og_gguf_kv *kv = og_gguf_get_arr(m->gguf, key, OG_GGUF_STRING);
    if (kv && kv->n != (uint64_t)b->n_labels)
        return og_error_set(err, OG_ERR_FORMAT, "%s has %llu names for %d classifier outputs", key,
                            (unsigned long long)kv->n, b->n_labels);
    b->labels = calloc((size_t)b->n_labels, sizeof *b->labels);
    if (!b->labels)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < b->n_labels; i++) {
        char name[32];
        size_t n = kv ? kv->strs[i].len : (size_t)snprintf(name, sizeof name, "LABEL_%d", i);
        if (!(b->labels[i] = dup_str(kv ? kv->strs[i].ptr : name, n)))
            return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    b->temperature = 1.0f;
    float t;
    if (og_gguf_get_f32(m->gguf, OG_KEY_CLASSIFIER_TEMPERATURE, &t)) {
        if (!(t > 0.0f && t < 1e6f))
            return og_error_set(err, OG_ERR_FORMAT, OG_KEY_CLASSIFIER_TEMPERATURE " is %g, expected > 0", t);
        b->temperature = t;
    }
    return OG_OK;
}

static og_status load_layers(og_model *m, og_bert *b, og_error *err)
{
    const int64_t n_embd = m->hp.n_embd, n_ff = m->hp.n_ff;
    b->layers = calloc((size_t)m->hp.n_layer, sizeof *b->layers);
    if (!b->layers)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    og_status st;
    for (int32_t l = 0; l < m->hp.n_layer; l++) {
        og_bert_layer *L = &b->layers[l];
        char name[96];
#define T(field, suffix, kind, ne0, ne1, matrix)                                          \
        snprintf(name, sizeof name, "blk.%d.%s.%s", l, suffix, kind);                    \
        if ((st = og_model_want_tensor(m, name, ne0, ne1, matrix, &L->field, err)) != OG_OK) \
            return st;
        T(wq, "attn_q", "weight", n_embd, n_embd, true)
        T(bq, "attn_q", "bias", n_embd, 1, false)
        T(wk, "attn_k", "weight", n_embd, n_embd, true)
        T(bk, "attn_k", "bias", n_embd, 1, false)
        T(wv, "attn_v", "weight", n_embd, n_embd, true)
        T(bv, "attn_v", "bias", n_embd, 1, false)
        T(wo, "attn_output", "weight", n_embd, n_embd, true)
        T(bo, "attn_output", "bias", n_embd, 1, false)
        T(attn_norm, "attn_output_norm", "weight", n_embd, 1, false)
        T(attn_norm_b, "attn_output_norm", "bias", n_embd, 1, false)
        T(w_up, "ffn_up", "weight", n_embd, n_ff, true)
        T(b_up, "ffn_up", "bias", n_ff, 1, false)
        T(w_down, "ffn_down", "weight", n_ff, n_embd, true)
        T(b_down, "ffn_down", "bias", n_embd, 1, false)
        T(out_norm, "layer_output_norm", "weight", n_embd, 1, false)
        T(out_norm_b, "layer_output_norm", "bias", n_embd, 1, false)
#undef T
    }
    return OG_OK;
}

static og_status bert_load(og_model *m, og_error *err)
{
    og_hparams *hp = &m->hp;
    uint32_t v;
    const char *const dims[] = { "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
                                 "context_length" };
    int32_t *const dim_fields[] = { &hp->n_embd, &hp->n_layer, &hp->n_ff, &hp->n_head, &hp->n_ctx_train };
    og_status st_dims = og_model_require_dims(m, dims, dim_fields, (int)(sizeof dims / sizeof dims[0]), err);
    if (st_dims != OG_OK)
        return st_dims;
    hp->n_head_kv = hp->n_head;
    if (hp->n_embd % hp->n_head)
        return og_error_set(err, OG_ERR_FORMAT, "embedding length %d is not a multiple of the head count %d",
                            hp->n_embd, hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
    hp->norm_eps = 1e-12f;
    og_model_arch_f32(m, "attention.layer_norm_epsilon", &hp->norm_eps);
    bool causal = false;
    char key[128];
    snprintf(key, sizeof key, "%s.attention.causal", m->arch_name);
    if (og_gguf_get_bool(m->gguf, key, &causal) && causal)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "causal BERT models are not supported");

    og_bert *b = calloc(1, sizeof *b);
    if (!b)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    m->bert = b;
    /* Sentence-transformers models say how to pool; a bare BertModel gets
     * mean pooling, the usual choice for sentence embeddings. */
    b->pooling = OG_POOL_MEAN;
    if (og_model_arch_u32(m, "pooling_type", &v) && v != 0) {
        if (v != OG_POOL_MEAN && v != OG_POOL_CLS && v != 4 /* rank: CLS through the head */)
            return og_error_set(err, OG_ERR_UNSUPPORTED, "pooling type %u is not supported (mean=1, cls=2)", v);
        b->pooling = v == OG_POOL_MEAN ? OG_POOL_MEAN : OG_POOL_CLS;
    }
    if (og_gguf_get_u32(m->gguf, OG_KEY_ENCODER_MAX_TOKENS, &v)) {
        if (v == 0 || v > (uint32_t)hp->n_ctx_train)
            return og_error_set(err, OG_ERR_FORMAT, "%s = %u is outside 1..%d (the model's positions)",
                                OG_KEY_ENCODER_MAX_TOKENS, v, hp->n_ctx_train);
        b->max_tokens = (int32_t)v;
    }
    const int64_t n_embd = hp->n_embd;
    const og_gguf_tensor *embd = og_gguf_find_tensor(m->gguf, "token_embd.weight");
    const og_gguf_tensor *types = og_gguf_find_tensor(m->gguf, "token_types.weight");
    if (!embd || !types)
        return og_error_set(err, OG_ERR_FORMAT, "missing tensor '%s'", embd ? "token_types.weight" : "token_embd.weight");
    if (types->ne[1] < 1)
        return og_error_set(err, OG_ERR_FORMAT, "token_types.weight has no rows");
    hp->n_vocab = (int32_t)embd->ne[1];
    if (hp->n_vocab != og_vocab_n_tokens(m->vocab))
        return og_error_set(err, OG_ERR_FORMAT, "token_embd has %d rows but the vocabulary has %d tokens",
                            hp->n_vocab, og_vocab_n_tokens(m->vocab));
    og_status st;
    if ((st = og_model_want_tensor(m, "token_embd.weight", n_embd, hp->n_vocab, true, &b->tok_embd, err)) ||
        (st = og_model_want_tensor(m, "token_types.weight", n_embd, types->ne[1], true, &b->type_embd, err)) ||
        (st = og_model_want_tensor(m, "position_embd.weight", n_embd, hp->n_ctx_train, true, &b->pos_embd, err)) ||
        (st = og_model_want_tensor(m, "token_embd_norm.weight", n_embd, 1, false, &b->embd_norm, err)) ||
        (st = og_model_want_tensor(m, "token_embd_norm.bias", n_embd, 1, false, &b->embd_norm_b, err)) ||
        (st = load_layers(m, b, err)) || (st = load_head(m, b, err)))
        return st;
    b->n_token_types = (int32_t)types->ne[1];
    return OG_OK;
}

/* ------------------------------------------------------------ forward */

/* Row steps between the matrix products; each token's row stands alone. */
typedef struct row_step {
    og_encoder *enc;
    const og_bert_layer *L;
    enum { EMBED, QKV_BIAS, ATTN_OUT, FFN_ACT, FFN_OUT } what;
    const og_token *tokens;
    int32_t n; /* tokens in the batch: the row length of enc->kt */
} row_step;

static void step_row(void *arg, int32_t t)
{
    const row_step *s = arg;
    og_encoder *enc = s->enc;
    const og_model *m = enc->model;
    const og_bert *b = m->bert;
    const int64_t n_embd = m->hp.n_embd, n_ff = m->hp.n_ff;
    const float eps = m->hp.norm_eps;
    float *x = enc->x + t * n_embd, *xb = enc->xb + t * n_embd;
    switch (s->what) {
    case EMBED: {
        /* word + position + type 0 (sentence A), then LayerNorm */
        float *tmp = enc->attn + t * n_embd;
        og_ops_get_row(enc->exec.kern, b->tok_embd, s->tokens[t], xb);
        og_ops_get_row(enc->exec.kern, b->pos_embd, enc->pos[t], tmp);
        for (int64_t i = 0; i < n_embd; i++)
            xb[i] += tmp[i];
        og_ops_get_row(enc->exec.kern, b->type_embd, 0, tmp);
        for (int64_t i = 0; i < n_embd; i++)
            xb[i] += tmp[i];
        og_ops_layer_norm(x, xb, b->embd_norm->data, b->embd_norm_b->data, n_embd, eps);
        break;
    }
    case QKV_BIAS: { /* biases, and K transposed for attention's score product */
        float *q = enc->q + t * n_embd, *k = enc->k + t * n_embd, *v = enc->v + t * n_embd;
        og_ops_add_bias(q, s->L->bq->data, 1, n_embd);
        og_ops_add_bias(k, s->L->bk->data, 1, n_embd);
        og_ops_add_bias(v, s->L->bv->data, 1, n_embd);
        for (int64_t i = 0; i < n_embd; i++)
            enc->kt[i * s->n + t] = k[i];
        break;
    }
    case ATTN_OUT: /* x = LayerNorm(x + attn @ Wo + bo) */
        og_ops_add_bias(xb, s->L->bo->data, 1, n_embd);
        for (int64_t i = 0; i < n_embd; i++)
            xb[i] += x[i];
        og_ops_layer_norm(x, xb, s->L->attn_norm->data, s->L->attn_norm_b->data, n_embd, eps);
        break;
    case FFN_ACT: {
        float *h = enc->hb + t * n_ff;
        og_ops_add_bias(h, s->L->b_up->data, 1, n_ff);
        enc->exec.kern->gelu_erf_f32(h, n_ff);
        break;
    }
    case FFN_OUT: /* x = LayerNorm(x + gelu(...) @ Wdown + bdown) */
        og_ops_add_bias(xb, s->L->b_down->data, 1, n_embd);
        for (int64_t i = 0; i < n_embd; i++)
            xb[i] += x[i];
        og_ops_layer_norm(x, xb, s->L->out_norm->data, s->L->out_norm_b->data, n_embd, eps);
        break;
    }
}

static void run_step(og_encoder *enc, int what, const og_bert_layer *L, const og_token *tokens, int32_t n)
{
    row_step s = { enc, L, what, tokens, n };
    og_ops_for_rows(&enc->exec, n, step_row, &s);
}

typedef struct attn_job {
    og_encoder *enc;
    const og_bert_layer *L;
    const int32_t *seq_start;
    int32_t n_tokens;
} attn_job;

/* Bidirectional attention: each token attends to every token of its own
 * sequence, so packed sequences need no mask and no padding. Work is
 * split by query token; a thread takes its queries in blocks of up to
 * OG_BERT_QUERY_BLOCK of one sequence and, per head, computes the block's
 * scores as one product with the keys (K transposed, enc->kt) and its
 * outputs as one product of the probabilities with the values. Each
 * score and output is a fixed chain over the head's features or the
 * keys (og_matmul_f32_fn), so no result depends on the blocks, the
 * threads or the other sequences of the batch. */
static void attn_worker(void *arg, int ith, int nth)
{
    const attn_job *job = arg;
    og_encoder *enc = job->enc;
    const og_model *m = enc->model;
    const int32_t n_head = m->hp.n_head, hd = m->hp.head_dim, n = job->n_tokens;
    const int64_t n_embd = m->hp.n_embd;
    const float scale = 1.0f / sqrtf((float)hd);
    og_matmul_f32_fn matmul = enc->exec.kern->matmul_f32;
    void (*softmax)(float *, int64_t) = enc->exec.kern->softmax_f32;
    const size_t ld = (size_t)enc->max_tokens;
    float *scores = enc->scores + (size_t)ith * OG_BERT_QUERY_BLOCK * ld;
    int64_t begin, end;
    og_pool_split(n, ith, nth, &begin, &end);
    for (int64_t t = begin; t < end;) {
        const int32_t s = enc->seq[t], first = job->seq_start[s], last = job->seq_start[s + 1];
        const int32_t n_keys = last - first;
        int64_t t_end = t + OG_BERT_QUERY_BLOCK;
        t_end = t_end < end ? t_end : end;
        t_end = t_end < last ? t_end : last;
        const int64_t n_q = t_end - t;
        for (int32_t h = 0; h < n_head; h++) {
            matmul(n_q, n_keys, hd, enc->q + t * n_embd + h * hd, (size_t)n_embd,
                   enc->kt + (size_t)h * (size_t)hd * (size_t)n + (size_t)first, (size_t)n, scores, ld);
            for (int64_t i = 0; i < n_q; i++) {
                float *row = scores + (size_t)i * ld;
                for (int32_t j = 0; j < n_keys; j++)
                    row[j] *= scale;
                softmax(row, n_keys);
            }
            matmul(n_q, hd, n_keys, scores, ld, enc->v + (int64_t)first * n_embd + h * hd, (size_t)n_embd,
                   enc->attn + t * n_embd + h * hd, (size_t)n_embd);
        }
        t = t_end;
    }
}

void og_bert_encode(og_encoder *enc, const og_token *tokens, const int32_t *seq_start, int32_t n_seqs)
{
    const og_model *m = enc->model;
    const int32_t n = seq_start[n_seqs];
    for (int32_t s = 0; s < n_seqs; s++)
        for (int32_t t = seq_start[s]; t < seq_start[s + 1]; t++) {
            enc->seq[t] = s;
            enc->pos[t] = t - seq_start[s];
        }
    og_context *ex = &enc->exec;
    run_step(enc, EMBED, NULL, tokens, n);
    for (int32_t l = 0; l < m->hp.n_layer; l++) {
        const og_bert_layer *L = &m->bert->layers[l];
        const og_gguf_tensor *qkv_w[3] = { L->wq, L->wk, L->wv };
        float *qkv_out[3] = { enc->q, enc->k, enc->v };
        og_ops_matmul_many(ex, qkv_w, qkv_out, 3, enc->x, n);
        run_step(enc, QKV_BIAS, L, NULL, n);
        attn_job job = { enc, L, seq_start, n };
        og_pool_run(ex->pool, attn_worker, &job);
        og_ops_matmul(ex, L->wo, enc->attn, n, enc->xb);
        run_step(enc, ATTN_OUT, L, NULL, n);
        og_ops_matmul(ex, L->w_up, enc->x, n, enc->hb);
        run_step(enc, FFN_ACT, L, NULL, n);
        og_ops_matmul(ex, L->w_down, enc->hb, n, enc->xb);
        run_step(enc, FFN_OUT, L, NULL, n);
    }
}

void og_bert_pool(og_encoder *enc, const int32_t *seq_start, int32_t n_seqs, float *out)
{
    const int64_t n_embd = enc->model->hp.n_embd;
    for (int32_t s = 0; s < n_seqs; s++) {
        float *o = out + s * n_embd;
        const float *first = enc->x + (int64_t)seq_start[s] * n_embd;
        if (enc->model->bert->pooling == OG_POOL_CLS) {
            memcpy(o, first, (size_t)n_embd * sizeof *o);
            continue;
        }
        const int32_t n = seq_start[s + 1] - seq_start[s];
        for (int64_t i = 0; i < n_embd; i++) {
            double sum = 0.0;
            for (int32_t t = 0; t < n; t++)
                sum += (double)first[t * n_embd + i];
            o[i] = (float)(sum / n);
        }
    }
}

void og_bert_normalize(float *rows, int32_t n, int64_t n_embd)
{
    for (int32_t s = 0; s < n; s++) {
        float *r = rows + s * n_embd;
        double sum = 0.0;
        for (int64_t i = 0; i < n_embd; i++)
            sum += (double)r[i] * r[i];
        /* sentence-transformers' Normalize clamps the norm at 1e-12 */
        const float inv = (float)(1.0 / (sqrt(sum) > 1e-12 ? sqrt(sum) : 1e-12));
        for (int64_t i = 0; i < n_embd; i++)
            r[i] *= inv;
    }
}

void og_bert_classify(og_encoder *enc, const int32_t *seq_start, int32_t n_seqs)
{
    const og_bert *b = enc->model->bert;
    const int64_t n_embd = enc->model->hp.n_embd;
    if (b->head_input != OG_HEAD_POOLER) {
        /* the sentence embedding, pooled (and normalized) into xb */
        og_bert_pool(enc, seq_start, n_seqs, enc->xb);
        if (b->head_input == OG_HEAD_NORMALIZED_EMBEDDING)
            og_bert_normalize(enc->xb, n_seqs, n_embd);
    } else {
        /* [CLS] rows gathered into attn, pooled through dense + tanh into xb */
        for (int32_t s = 0; s < n_seqs; s++)
            memcpy(enc->attn + s * n_embd, enc->x + (int64_t)seq_start[s] * n_embd, (size_t)n_embd * sizeof(float));
        og_ops_matmul(&enc->exec, b->cls, enc->attn, n_seqs, enc->xb);
        og_ops_add_bias(enc->xb, b->cls_b->data, n_seqs, n_embd);
        for (int64_t i = 0; i < n_seqs * n_embd; i++)
            enc->xb[i] = tanhf(enc->xb[i]);
    }
    og_ops_matmul(&enc->exec, b->cls_out, enc->xb, n_seqs, enc->logits);
    og_ops_add_bias(enc->logits, b->cls_out_b->data, n_seqs, b->n_labels);
}

static void bert_unload(og_model *m)
{
    bert_free(m->bert);
    m->bert = NULL;
}

/* An encoder: og_encoder (run/encoder.c) runs it, no context. */
const og_arch og_arch_bert = {
    .name = "bert",
    .kind = OG_ARCH_ENCODER,
    .load = bert_load,
    .unload = bert_unload,
};
