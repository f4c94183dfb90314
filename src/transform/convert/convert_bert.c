/*
 * convert_bert.c - BertModel and BertForSequenceClassification to GGUF
 * arch "bert", with llama.cpp's names (convert_hf_to_gguf.py BertModel,
 * llama-arch.cpp LLM_ARCH_BERT).
 *
 * Keys written (in this order):
 *   general.architecture = "bert", general.type = "model", general.name,
 *   general.file_type (0 f32, 1 f16, 7 q8_0), general.quantization_version = 2
 *   bert.context_length             u32  max_position_embeddings
 *   bert.embedding_length           u32  hidden_size
 *   bert.feed_forward_length        u32  intermediate_size
 *   bert.attention.head_count       u32  num_attention_heads
 *   bert.attention.layer_norm_epsilon f32 layer_norm_eps (default 1e-12)
 *   bert.block_count                u32  num_hidden_layers
 *   bert.attention.causal           bool false
 *   bert.pooling_type               u32  from modules.json -> <Pooling>/config.json:
 *                                        mean = 1, cls = 2 (absent without one);
 *                                        a classifier without one gets rank = 4
 *   offgrid.encoder.max_tokens      u32  sentence_bert_config.json max_seq_length, when
 *                                        the folder has one and it is below P
 *   bert.classifier.output_labels   str[] id2label in id order (classifier only;
 *                                        not written for the LABEL_0/LABEL_1 defaults)
 *   tokenizer.ggml.token_type_count u32  type_vocab_size (default 1)
 *   tokenizer.ggml.model = "bert", tokenizer.ggml.pre = "bert-bge" (lowercasing
 *   WordPiece) or "default", tokenizer.ggml.tokens (phantom-space spelling: "##x"
 *   -> "x", other non-control tokens get a leading U+2581), tokenizer.ggml.token_type,
 *   tokenizer.ggml.{unknown,seperator,padding,cls,mask}_token_id as found.
 *
 * Tensors (GGUF ne order, ne[0] contiguous; E = hidden, F = intermediate,
 * V = vocab, P = max positions, T = token types, L = labels; "bert."
 * prefixes and .gamma/.beta suffixes of older checkpoints are accepted):
 *   token_embd.weight            [E, V]   embeddings.word_embeddings
 *   position_embd.weight         [E, P]   embeddings.position_embeddings   (always F32)
 *   token_types.weight           [E, T]   embeddings.token_type_embeddings (always F32)
 *   token_embd_norm.{weight,bias}[E]      embeddings.LayerNorm
 *   blk.N.attn_q.{weight [E,E], bias [E]}      encoder.layer.N.attention.self.query
 *   blk.N.attn_k.{weight, bias}                ...attention.self.key
 *   blk.N.attn_v.{weight, bias}                ...attention.self.value
 *   blk.N.attn_output.{weight, bias}           ...attention.output.dense
 *   blk.N.attn_output_norm.{weight, bias} [E]  ...attention.output.LayerNorm
 *   blk.N.ffn_up.{weight [E,F], bias [F]}      ...intermediate.dense
 *   blk.N.ffn_down.{weight [F,E], bias [E]}    ...output.dense
 *   blk.N.layer_output_norm.{weight, bias} [E] ...output.LayerNorm
 *   classifier only:
 *   cls.{weight [E,E], bias [E]}               pooler.dense (dense + tanh on [CLS])
 *   cls.output.{weight [E,L], bias [L]}        classifier
 * Dropped: embeddings.position_ids, cls.predictions.*, cls.seq_relationship.*,
 * and pooler.dense.* of a BertModel. All 1-D tensors and norms are F32.
 *
 * One deliberate difference: llama.cpp's converter also drops the pooler of
 * a BertForSequenceClassification, although the classifier was trained on
 * its output; llama.cpp's graph applies cls (dense + tanh) before
 * cls.output when cls is present, so keeping it gives the model's scores.
 */
#include <stdio.h>
#include <string.h>

#include "offgrid.h"
#include "convert/convert.h"

/* llama.cpp's LLAMA_POOLING_TYPE_* */
enum { POOL_MEAN = 1, POOL_CLS = 2, POOL_RANK = 4 };

static const struct {
    const char *hf, *gguf;
} layer_names[] = {
    { "attention.self.query", "attn_q" },
    { "attention.self.key", "attn_k" },
    { "attention.self.value", "attn_v" },
    { "attention.output.dense", "attn_output" },
    { "attention.output.LayerNorm", "attn_output_norm" },
    { "intermediate.dense", "ffn_up" },
    { "output.dense", "ffn_down" },
    { "output.LayerNorm", "layer_output_norm" },
};

static const struct {
    const char *hf, *gguf;
} global_names[] = {
    { "embeddings.word_embeddings", "token_embd" },
    { "embeddings.position_embeddings", "position_embd" },
    { "embeddings.token_type_embeddings", "token_types" },
    { "embeddings.LayerNorm", "token_embd_norm" },
};

typedef struct bert_job {
    int64_t n_layer;
    bool classifier;
} bert_job;

/* Splits "<stem>.<weight|bias|gamma|beta>" into stem and GGUF suffix. */
static bool split_suffix(const char *name, char *stem, size_t cap, const char **suffix)
{
    const char *dot = strrchr(name, '.');
    if (!dot || (size_t)(dot - name) >= cap)
        return false;
    const char *s = dot + 1;
    if (!strcmp(s, "weight") || !strcmp(s, "gamma"))
        *suffix = "weight";
    else if (!strcmp(s, "bias") || !strcmp(s, "beta"))
        *suffix = "bias";
    else
        return false;
    memcpy(stem, name, (size_t)(dot - name));
    stem[dot - name] = 0;
    return true;
}

static bool map_bert(og_cv *cv, const char *hf_name, og_cv_target *out)
{
    const bert_job *job = cv->arch;
    if (!strncmp(hf_name, "bert.", 5))
        hf_name += 5;
    if (!strcmp(hf_name, "embeddings.position_ids") || !strncmp(hf_name, "cls.predictions.", 16) ||
        !strncmp(hf_name, "cls.seq_relationship.", 21) ||
        (!job->classifier && !strncmp(hf_name, "pooler.dense.", 13))) {
        out->skip = true;
        return true;
    }
    char stem[128];
    const char *suffix;
    if (!split_suffix(hf_name, stem, sizeof stem, &suffix))
        return false;
    for (size_t i = 0; i < sizeof global_names / sizeof global_names[0]; i++)
        if (!strcmp(stem, global_names[i].hf)) {
            snprintf(out->name, sizeof out->name, "%s.%s", global_names[i].gguf, suffix);
            return true;
        }
    if (job->classifier && (!strcmp(stem, "pooler.dense") || !strcmp(stem, "classifier"))) {
        snprintf(out->name, sizeof out->name, "%s.%s", stem[0] == 'p' ? "cls" : "cls.output", suffix);
        return true;
    }
    int layer, used = 0;
    if (sscanf(stem, "encoder.layer.%d.%n", &layer, &used) != 1 || used == 0 || layer < 0 || layer >= job->n_layer)
        return false;
    for (size_t i = 0; i < sizeof layer_names / sizeof layer_names[0]; i++)
        if (!strcmp(stem + used, layer_names[i].hf)) {
            snprintf(out->name, sizeof out->name, "blk.%d.%s.%s", layer, layer_names[i].gguf, suffix);
            return true;
        }
    return false;
}

/* The pooling of a sentence-transformers folder: modules.json names the
 * Pooling module's folder, whose config.json says mean or CLS. 0: none. */
static og_status read_pooling(og_cv *cv, int *pooling)
{
    *pooling = 0;
    json_t *modules = NULL, *cfg = NULL;
    og_status st = OG_OK;
    FILE *probe;
    char path[4096];
    snprintf(path, sizeof path, "%s/modules.json", cv->dir);
    if ((st = og_convert_open(path, false, &probe, cv->err)) != OG_OK || !probe)
        return st;
    json_error_t jerr;
    modules = json_loadf(probe, 0, &jerr);
    fclose(probe);
    if (!modules)
        return og_error_set(cv->err, OG_ERR_FORMAT, "%s: bad JSON at line %d: %s", path, jerr.line, jerr.text);
    const char *pool_dir = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(modules, i, m) {
        const char *type = json_string_value(json_object_get(m, "type"));
        if (type && !strcmp(type, "sentence_transformers.models.Pooling"))
            pool_dir = json_string_value(json_object_get(m, "path"));
    }
    if (pool_dir) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/config.json", pool_dir);
        st = og_convert_json_load(cv->dir, sub, true, &cfg, cv->err);
    }
    if (st == OG_OK && cfg) {
        if (json_is_true(json_object_get(cfg, "pooling_mode_mean_tokens")))
            *pooling = POOL_MEAN;
        else if (json_is_true(json_object_get(cfg, "pooling_mode_cls_token")))
            *pooling = POOL_CLS;
        else
            st = og_error_set(cv->err, OG_ERR_UNSUPPORTED, "%s/%s/config.json: only mean and CLS pooling are supported",
                              cv->dir, pool_dir);
    }
    json_decref(cfg);
    json_decref(modules);
    return st;
}

/* id2label in id order; NULL labels when there is none or only the
 * LABEL_0/LABEL_1 defaults transformers invents (llama.cpp skips those). */
static og_status write_labels(og_cv *cv)
{
    const json_t *id2label = json_object_get(cv->config, "id2label");
    size_t n = json_object_size(id2label);
    if (n == 0)
        return OG_OK;
    const char *labels[4096];
    if (n > sizeof labels / sizeof labels[0])
        return og_error_set(cv->err, OG_ERR_UNSUPPORTED, "config.json: %zu labels in id2label is over the limit", n);
    for (size_t i = 0; i < n; i++) {
        char key[24];
        snprintf(key, sizeof key, "%zu", i);
        if (!(labels[i] = json_string_value(json_object_get(id2label, key))))
            return og_error_set(cv->err, OG_ERR_FORMAT, "config.json: id2label has no string for id %zu", i);
    }
    if (n == 2 && !strcmp(labels[0], "LABEL_0") && !strcmp(labels[1], "LABEL_1"))
        return OG_OK;
    og_gguf_writer_arr_str(cv->w, "bert.classifier.output_labels", labels, n);
    return og_gguf_writer_status(cv->w, cv->err);
}

/* Where sentence-transformers cuts texts (0: no such file or no limit
 * below the model's positions). */
static og_status read_max_seq_length(og_cv *cv, int64_t n_ctx, int64_t *out)
{
    *out = 0;
    json_t *cfg = NULL;
    og_status st = og_convert_json_load(cv->dir, "sentence_bert_config.json", false, &cfg, cv->err);
    if (st != OG_OK || !cfg)
        return st;
    const json_t *v = json_object_get(cfg, "max_seq_length");
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < n_ctx)
        *out = (int64_t)json_integer_value(v);
    else if (v && !json_is_null(v) && !json_is_integer(v))
        st = og_error_set(cv->err, OG_ERR_FORMAT, "sentence_bert_config.json: max_seq_length is not an integer");
    json_decref(cfg);
    return st;
}

og_status og_convert_bert(og_cv *cv, bool classifier)
{
    int64_t n_ctx, n_embd, n_ff, n_head, n_vocab, n_types, max_seq;
    double eps;
    int pooling;
    bert_job job = { .classifier = classifier };
    og_status st;
    if ((st = og_convert_cfg_int(cv, "max_position_embeddings", true, 0, &n_ctx)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "hidden_size", true, 0, &n_embd)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "intermediate_size", true, 0, &n_ff)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "num_attention_heads", true, 0, &n_head)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "num_hidden_layers", true, 0, &job.n_layer)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "vocab_size", false, 0, &n_vocab)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "type_vocab_size", false, 1, &n_types)) != OG_OK ||
        (st = og_convert_cfg_num(cv, "layer_norm_eps", false, 1e-12, &eps)) != OG_OK ||
        (st = read_pooling(cv, &pooling)) != OG_OK || (st = read_max_seq_length(cv, n_ctx, &max_seq)) != OG_OK)
        return st;
    if (classifier && !pooling)
        pooling = POOL_RANK;
    og_gguf_writer *w = cv->w;
    og_convert_write_general(cv, "bert");
    og_gguf_writer_u32(w, "bert.context_length", (uint32_t)n_ctx);
    og_gguf_writer_u32(w, "bert.embedding_length", (uint32_t)n_embd);
    og_gguf_writer_u32(w, "bert.feed_forward_length", (uint32_t)n_ff);
    og_gguf_writer_u32(w, "bert.attention.head_count", (uint32_t)n_head);
    og_gguf_writer_f32(w, "bert.attention.layer_norm_epsilon", (float)eps);
    og_gguf_writer_u32(w, "bert.block_count", (uint32_t)job.n_layer);
    og_gguf_writer_bool(w, "bert.attention.causal", false);
    if (pooling)
        og_gguf_writer_u32(w, "bert.pooling_type", (uint32_t)pooling);
    if (max_seq)
        og_gguf_writer_u32(w, OG_KEY_ENCODER_MAX_TOKENS, (uint32_t)max_seq);
    og_gguf_writer_u32(w, "tokenizer.ggml.token_type_count", (uint32_t)n_types);
    if ((st = og_gguf_writer_status(w, cv->err)) != OG_OK)
        return st;
    if (classifier && (st = write_labels(cv)) != OG_OK)
        return st;
    if ((st = og_convert_vocab_wpm(cv, n_vocab)) != OG_OK)
        return st;
    /* What bert.c loads: every tensor of the list above, the head too for
     * a classifier (the pooler, cls.*, is what it reads). */
    static const char *const global[] = { "token_embd.weight",      "position_embd.weight", "token_types.weight",
                                          "token_embd_norm.weight", "token_embd_norm.bias", NULL };
    static const char *const global_cls[] = { "token_embd.weight",     "position_embd.weight",
                                              "token_types.weight",    "token_embd_norm.weight",
                                              "token_embd_norm.bias",  "cls.weight",
                                              "cls.bias",              "cls.output.weight",
                                              "cls.output.bias",       NULL };
    static const char *const layer[] = {
        "attn_q.weight",           "attn_q.bias",           "attn_k.weight",          "attn_k.bias",
        "attn_v.weight",           "attn_v.bias",           "attn_output.weight",     "attn_output.bias",
        "attn_output_norm.weight", "attn_output_norm.bias", "ffn_up.weight",          "ffn_up.bias",
        "ffn_down.weight",         "ffn_down.bias",         "layer_output_norm.weight", "layer_output_norm.bias",
        NULL,
    };
    const og_cv_required required = { classifier ? global_cls : global, layer, job.n_layer };
    cv->arch = &job;
    st = og_convert_tensors(cv, map_bert, &required);
    cv->arch = NULL;
    return st;
}
