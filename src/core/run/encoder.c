/*
 * encoder.c - the public encoder API: planning and owning the buffers of
 * an og_encoder, tokenizing and truncating texts, packing them into
 * batches of whole sequences, and turning hidden states into embeddings
 * (pooled, normalized) or classifier probabilities. The arithmetic is in
 * bert.c.
 */
#include "model/bert.h"
#include "model/arch.h"
#include "model/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"

og_encoder_params og_encoder_default_params(void)
{
    og_encoder_params p = { .n_threads = 0, .n_batch = 0, .max_tokens = 0, .normalize = true };
    return p;
}

void og_encoder_free(og_encoder *enc)
{
    if (!enc)
        return;
    og_pool_free(enc->exec.pool);
    free(enc->exec.acts);
    free(enc->x);
    free(enc->xb);
    free(enc->q);
    free(enc->k);
    free(enc->v);
    free(enc->attn);
    free(enc->hb);
    free(enc->kt);
    free(enc->scores);
    free(enc->logits);
    free(enc->pos);
    free(enc->seq);
    free(enc->tokens);
    free(enc->staging);
    free(enc->seq_start);
    free(enc);
}

og_status og_encoder_new(og_model *model, const og_encoder_params *params, og_encoder **out, og_error *err)
{
    og_encoder_params defaults = og_encoder_default_params();
    if (!params)
        params = &defaults;
    if (!model || !out)
        return og_error_set(err, OG_ERR_ARG, "og_encoder_new: model and out are required");
    *out = NULL;
    if (!model->arch || model->arch->kind != OG_ARCH_ENCODER)
        return og_error_set(err, OG_ERR_ARG, "'%s' is not an encoder model (supported: bert)",
                            model->arch_name[0] ? model->arch_name : "vocab-only");
    if (params->n_threads < 0 || params->n_threads > 1024 || params->n_batch < 0 || params->n_batch > (1 << 20) ||
        params->max_tokens < 0)
        return og_error_set(err, OG_ERR_ARG, "invalid encoder parameters (n_threads %d, n_batch %d, max_tokens %d)",
                            params->n_threads, params->n_batch, params->max_tokens);
    const og_hparams *hp = &model->hp;
    if (params->max_tokens > hp->n_ctx_train)
        return og_error_set(err, OG_ERR_ARG, "max_tokens %d exceeds the model's %d positions", params->max_tokens,
                            hp->n_ctx_train);
    og_encoder *enc = calloc(1, sizeof *enc);
    if (!enc)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    enc->model = model;
    enc->normalize = params->normalize;
    enc->max_tokens = params->max_tokens     ? params->max_tokens
                      : model->bert->max_tokens ? model->bert->max_tokens
                                                : hp->n_ctx_train;
    enc->n_batch = params->n_batch ? params->n_batch : 2048;
    if (enc->n_batch < enc->max_tokens)
        enc->n_batch = enc->max_tokens;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    enc->exec.model = model;
    enc->exec.kern = og_kernels_best();
    enc->exec.n_threads = params->n_threads ? params->n_threads : (online > 0 && online < 256 ? (int32_t)online : 1);
    enc->exec.n_batch = enc->n_batch;
    og_status st = og_pool_new(enc->exec.n_threads, &enc->exec.pool, err);
    if (st != OG_OK) {
        og_encoder_free(enc);
        return st;
    }
    const size_t T = (size_t)enc->n_batch, E = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    const size_t n_labels = model->bert->n_labels ? (size_t)model->bert->n_labels : 1;
    const size_t max_cols = F > E ? F : E;
    const size_t acts_bytes = og_ops_acts_bytes(enc->n_batch, (int64_t)max_cols);
    enc->exec.acts = malloc(acts_bytes);
    enc->exec.act_row_cap = acts_bytes / T;
    enc->x = malloc(T * E * sizeof(float));
    enc->xb = malloc(T * E * sizeof(float));
    enc->q = malloc(T * E * sizeof(float));
    enc->k = malloc(T * E * sizeof(float));
    enc->v = malloc(T * E * sizeof(float));
    enc->attn = malloc(T * E * sizeof(float));
    enc->hb = malloc(T * F * sizeof(float));
    enc->kt = malloc(T * E * sizeof(float));
    enc->scores =
        malloc((size_t)enc->exec.n_threads * OG_BERT_QUERY_BLOCK * (size_t)enc->max_tokens * sizeof(float));
    enc->logits = malloc(T * n_labels * sizeof(float));
    enc->pos = malloc(T * sizeof(int32_t));
    enc->seq = malloc(T * sizeof(int32_t));
    enc->tokens = malloc(T * sizeof(og_token));
    enc->staging = malloc((size_t)enc->max_tokens * sizeof(og_token));
    enc->seq_start = malloc((T + 1) * sizeof(int32_t));
    if (!enc->exec.acts || !enc->x || !enc->xb || !enc->q || !enc->k || !enc->v || !enc->attn || !enc->hb || !enc->kt ||
        !enc->scores || !enc->logits || !enc->pos || !enc->seq || !enc->tokens || !enc->staging || !enc->seq_start) {
        og_encoder_free(enc);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for an encoder of %d tokens", (int)T);
    }
    *out = enc;
    return OG_OK;
}

int32_t og_encoder_n_embd(const og_encoder *enc) { return enc ? enc->model->hp.n_embd : 0; }
int32_t og_encoder_max_tokens(const og_encoder *enc) { return enc ? enc->max_tokens : 0; }
int32_t og_encoder_n_labels(const og_encoder *enc) { return enc ? enc->model->bert->n_labels : 0; }
float og_encoder_temperature(const og_encoder *enc) { return enc && enc->model->bert->n_labels ? enc->model->bert->temperature : 1.0f; }
const char *og_encoder_pooling(const og_encoder *enc)
{
    return !enc ? NULL : enc->model->bert->pooling == OG_POOL_CLS ? "cls" : "mean";
}
const char *og_encoder_head_input(const og_encoder *enc)
{
    if (!enc || !enc->model->bert->n_labels)
        return NULL;
    static const char *const names[] = { "pooler", "embedding", "normalized_embedding" };
    return names[enc->model->bert->head_input];
}

const char *og_encoder_label(const og_encoder *enc, int32_t i)
{
    if (!enc || i < 0 || i >= enc->model->bert->n_labels)
        return NULL;
    return enc->model->bert->labels[i];
}

/* What to do with each packed batch once it is encoded. */
typedef void (*batch_fn)(og_encoder *enc, int32_t first_text, int32_t n_seqs, float *out);

static void emit_embeddings(og_encoder *enc, int32_t first_text, int32_t n_seqs, float *out)
{
    const int64_t n_embd = enc->model->hp.n_embd;
    float *rows = out + (int64_t)first_text * n_embd;
    og_bert_pool(enc, enc->seq_start, n_seqs, rows);
    if (enc->normalize)
        og_bert_normalize(rows, n_seqs, n_embd);
}

static void emit_logits(og_encoder *enc, int32_t first_text, int32_t n_seqs, float *out)
{
    const int32_t n_labels = enc->model->bert->n_labels;
    og_bert_classify(enc, enc->seq_start, n_seqs);
    memcpy(out + (int64_t)first_text * n_labels, enc->logits, (size_t)n_seqs * (size_t)n_labels * sizeof(float));
}

/* Where the sequences come from: texts to tokenize, or token ids. */
typedef struct source {
    const char *const *texts;
    const size_t *lens;
    const og_token *const *tokens;
    const int32_t *n_tokens;
} source;

/* Cuts a sequence of n tokens in enc->staging (the first max_tokens of
 * them are there) to max_tokens with [SEP] kept last, as
 * sentence-transformers truncates. */
static int32_t truncate_staging(og_encoder *enc, int32_t n)
{
    if (n <= enc->max_tokens)
        return n;
    og_token sep = og_vocab_sep(enc->model->vocab);
    if (sep >= 0)
        enc->staging[enc->max_tokens - 1] = sep;
    return enc->max_tokens;
}

/* Puts sequence i into enc->staging and returns its length; OG_OK or the
 * error in *st. */
static int32_t load_seq(og_encoder *enc, const source *src, int32_t i, og_status *st, og_error *err)
{
    int32_t n;
    *st = OG_OK;
    if (src->texts) {
        if (!src->texts[i]) {
            *st = og_error_set(err, OG_ERR_ARG, "text %d is NULL", i);
            return 0;
        }
        const size_t len = src->lens ? src->lens[i] : strlen(src->texts[i]);
        n = og_vocab_tokenize(enc->model->vocab, src->texts[i], len, enc->staging, enc->max_tokens, true, true);
        if (n < 0) {
            *st = og_error_set(err, (og_status)-n, "cannot tokenize text %d: %s", i, og_status_name((og_status)-n));
            return 0;
        }
    } else {
        n = src->n_tokens[i];
        if (!src->tokens[i] || n < 0) {
            *st = og_error_set(err, OG_ERR_ARG, "token sequence %d is NULL or has a negative length", i);
            return 0;
        }
        const int32_t n_vocab = enc->model->hp.n_vocab;
        for (int32_t j = 0; j < n; j++) {
            if (src->tokens[i][j] < 0 || src->tokens[i][j] >= n_vocab) {
                *st = og_error_set(err, OG_ERR_ARG, "token %d of sequence %d is %d, outside the vocabulary (0..%d)", j,
                                   i, src->tokens[i][j], n_vocab - 1);
                return 0;
            }
        }
        memcpy(enc->staging, src->tokens[i], (size_t)(n < enc->max_tokens ? n : enc->max_tokens) * sizeof(og_token));
    }
    if (n == 0) {
        *st = og_error_set(err, OG_ERR_ARG, "sequence %d has no tokens (a text gives at least [CLS] [SEP])", i);
        return 0;
    }
    return truncate_staging(enc, n);
}

static og_status run_seqs(og_encoder *enc, const source *src, int32_t n_seqs_total, float *out, batch_fn emit,
                          og_error *err)
{
    if (!enc || n_seqs_total < 0 || (n_seqs_total > 0 && (!out || !(src->texts || (src->tokens && src->n_tokens)))))
        return og_error_set(err, OG_ERR_ARG, "invalid arguments (need an encoder, inputs and an output buffer)");
    int32_t n_seqs = 0, used = 0, first = 0;
    enc->seq_start[0] = 0;
    for (int32_t i = 0; i <= n_seqs_total; i++) {
        int32_t n = 0;
        og_status st = OG_OK;
        if (i < n_seqs_total && (n = load_seq(enc, src, i, &st, err), st != OG_OK))
            return st;
        /* Flush when the next sequence does not fit, and at the end. */
        if (n_seqs > 0 && (i == n_seqs_total || used + n > enc->n_batch)) {
            og_bert_encode(enc, enc->tokens, enc->seq_start, n_seqs);
            emit(enc, first, n_seqs, out);
            first = i;
            n_seqs = used = 0;
        }
        if (i < n_seqs_total) {
            memcpy(enc->tokens + used, enc->staging, (size_t)n * sizeof(og_token));
            used += n;
            enc->seq_start[++n_seqs] = used;
        }
    }
    return OG_OK;
}

og_status og_embed(og_encoder *enc, const char *const *texts, const size_t *lens, int32_t n_texts, float *out,
                   og_error *err)
{
    source src = { texts, lens, NULL, NULL };
    return run_seqs(enc, &src, n_texts, out, emit_embeddings, err);
}

og_status og_embed_tokens(og_encoder *enc, const og_token *const *tokens, const int32_t *n_tokens, int32_t n_seqs,
                          float *out, og_error *err)
{
    source src = { NULL, NULL, tokens, n_tokens };
    return run_seqs(enc, &src, n_seqs, out, emit_embeddings, err);
}

og_status og_classify_logits(og_encoder *enc, const char *const *texts, const size_t *lens, int32_t n_texts,
                             float *logits, og_error *err)
{
    if (enc && enc->model->bert->n_labels == 0)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "the model has no classification head (cls.output)");
    source src = { texts, lens, NULL, NULL };
    return run_seqs(enc, &src, n_texts, logits, emit_logits, err);
}

void og_classify_softmax(const float *logits, int32_t n_labels, float temperature, float *probs)
{
    if (n_labels == 1) {
        probs[0] = 1.0f / (1.0f + expf(-logits[0] / temperature));
        return;
    }
    float max = -INFINITY;
    for (int32_t i = 0; i < n_labels; i++)
        max = logits[i] > max ? logits[i] : max;
    double sum = 0.0;
    for (int32_t i = 0; i < n_labels; i++) {
        probs[i] = expf((logits[i] - max) / temperature);
        sum += probs[i];
    }
    for (int32_t i = 0; i < n_labels; i++)
        probs[i] = (float)(probs[i] / sum);
}

og_status og_classify(og_encoder *enc, const char *const *texts, const size_t *lens, int32_t n_texts, float *probs,
                      og_error *err)
{
    og_status st = og_classify_logits(enc, texts, lens, n_texts, probs, err);
    if (st != OG_OK)
        return st;
    const int32_t n_labels = enc->model->bert->n_labels;
    for (int32_t i = 0; i < n_texts; i++)
        og_classify_softmax(probs + (int64_t)i * n_labels, n_labels, enc->model->bert->temperature,
                            probs + (int64_t)i * n_labels);
    return OG_OK;
}
