/*
 * convert_llama.c - LlamaForCausalLM to GGUF arch "llama" with
 * llama.cpp's names (convert_hf_to_gguf.py LlamaModel).
 *
 * Keys: general.*, llama.block_count, llama.context_length,
 * llama.embedding_length, llama.feed_forward_length,
 * llama.attention.head_count, llama.attention.head_count_kv,
 * llama.rope.freq_base (when config.json has rope_theta),
 * llama.attention.layer_norm_rms_epsilon, llama.vocab_size,
 * llama.rope.dimension_count (head size), then the tokenizer: SentencePiece
 * when the folder has tokenizer.model (llama.cpp tries it first), else the
 * byte-level BPE of tokenizer.json.
 *
 * Tensors: model.embed_tokens -> token_embd, model.norm -> output_norm,
 * lm_head -> output (absent when the embedding is tied), and per layer N
 * blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
 * ffn_gate, ffn_up, ffn_down} from model.layers.N.{input_layernorm,
 * self_attn.{q,k,v,o}_proj, post_attention_layernorm,
 * mlp.{gate,up,down}_proj}. attn_q and attn_k rows are reordered per head
 * as llama.cpp's RoPE expects (tensors.c); rotary_emb.inv_freq is dropped.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"
#include "convert/convert.h"

typedef struct llama_job {
    int64_t n_layer, n_head, n_head_kv;
} llama_job;

static const struct {
    const char *hf, *gguf;
} layer_names[] = {
    { "input_layernorm", "attn_norm" },    { "self_attn.q_proj", "attn_q" },
    { "self_attn.k_proj", "attn_k" },      { "self_attn.v_proj", "attn_v" },
    { "self_attn.o_proj", "attn_output" }, { "post_attention_layernorm", "ffn_norm" },
    { "mlp.gate_proj", "ffn_gate" },       { "mlp.up_proj", "ffn_up" },
    { "mlp.down_proj", "ffn_down" },
};

static bool map_llama(og_cv *cv, const char *hf_name, og_cv_target *out)
{
    const llama_job *job = cv->arch;
    static const struct {
        const char *hf, *gguf;
    } globals[] = {
        { "model.embed_tokens.weight", "token_embd.weight" },
        { "model.norm.weight", "output_norm.weight" },
        { "lm_head.weight", "output.weight" },
    };
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (!strcmp(hf_name, globals[i].hf)) {
            snprintf(out->name, sizeof out->name, "%s", globals[i].gguf);
            return true;
        }
    int layer, used = 0;
    if (sscanf(hf_name, "model.layers.%d.%n", &layer, &used) != 1 || used == 0 || layer < 0 ||
        layer >= job->n_layer)
        return false;
    const char *rest = hf_name + used;
    if (!strcmp(rest, "self_attn.rotary_emb.inv_freq")) {
        out->skip = true;
        return true;
    }
    for (size_t i = 0; i < sizeof layer_names / sizeof layer_names[0]; i++) {
        size_t n = strlen(layer_names[i].hf);
        if (strncmp(rest, layer_names[i].hf, n) != 0 || rest[n] != '.' ||
            (strcmp(rest + n + 1, "weight") != 0 && strcmp(rest + n + 1, "bias") != 0))
            continue;
        snprintf(out->name, sizeof out->name, "blk.%d.%s.%s", layer, layer_names[i].gguf, rest + n + 1);
        if (!strcmp(layer_names[i].gguf, "attn_q"))
            out->permute_heads = (int32_t)job->n_head;
        else if (!strcmp(layer_names[i].gguf, "attn_k"))
            out->permute_heads = (int32_t)job->n_head_kv;
        return true;
    }
    return false;
}

og_status og_convert_llama(og_cv *cv)
{
    llama_job job;
    int64_t n_ctx, n_embd, n_ff, n_vocab;
    double eps, theta;
    og_status st;
    if ((st = og_convert_cfg_int(cv, "num_hidden_layers", true, 0, &job.n_layer)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "max_position_embeddings", true, 0, &n_ctx)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "hidden_size", true, 0, &n_embd)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "intermediate_size", true, 0, &n_ff)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "num_attention_heads", true, 0, &job.n_head)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "num_key_value_heads", false, job.n_head, &job.n_head_kv)) != OG_OK ||
        (st = og_convert_cfg_int(cv, "vocab_size", true, 0, &n_vocab)) != OG_OK ||
        (st = og_convert_cfg_num(cv, "rms_norm_eps", false, 1e-6, &eps)) != OG_OK ||
        (st = og_convert_cfg_num(cv, "rope_theta", false, 0, &theta)) != OG_OK)
        return st;
    if (n_embd % job.n_head)
        return og_error_set(cv->err, OG_ERR_FORMAT, "config.json: hidden_size %lld is not a multiple of %lld heads",
                            (long long)n_embd, (long long)job.n_head);
    int64_t head_dim;
    if ((st = og_convert_cfg_int(cv, "head_dim", false, n_embd / job.n_head, &head_dim)) != OG_OK)
        return st;
    if (head_dim != n_embd / job.n_head)
        return og_error_set(cv->err, OG_ERR_UNSUPPORTED, "config.json: head_dim %lld differs from hidden_size / heads",
                            (long long)head_dim);
    if (json_object_get(cv->config, "rope_scaling") && !json_is_null(json_object_get(cv->config, "rope_scaling")))
        return og_error_set(cv->err, OG_ERR_UNSUPPORTED, "config.json: rope_scaling is not supported yet");
    og_gguf_writer *w = cv->w;
    og_convert_write_general(cv, "llama");
    og_gguf_writer_u32(w, "llama.block_count", (uint32_t)job.n_layer);
    og_gguf_writer_u32(w, "llama.context_length", (uint32_t)n_ctx);
    og_gguf_writer_u32(w, "llama.embedding_length", (uint32_t)n_embd);
    og_gguf_writer_u32(w, "llama.feed_forward_length", (uint32_t)n_ff);
    og_gguf_writer_u32(w, "llama.attention.head_count", (uint32_t)job.n_head);
    og_gguf_writer_u32(w, "llama.attention.head_count_kv", (uint32_t)job.n_head_kv);
    if (theta > 0)
        og_gguf_writer_f32(w, "llama.rope.freq_base", (float)theta);
    og_gguf_writer_f32(w, "llama.attention.layer_norm_rms_epsilon", (float)eps);
    og_gguf_writer_u32(w, "llama.vocab_size", (uint32_t)n_vocab);
    og_gguf_writer_u32(w, "llama.rope.dimension_count", (uint32_t)(n_embd / job.n_head));
    if ((st = og_gguf_writer_status(w, cv->err)) != OG_OK)
        return st;
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.model", cv->dir);
    /* (og_map_file refuses a tokenizer.model that is no regular file) */
    st = access(path, F_OK) == 0 ? og_convert_vocab_spm(cv, n_vocab) : og_convert_vocab_bpe(cv, n_vocab);
    if (st != OG_OK)
        return st;
    /* What llama.c loads; output.weight may be absent (tied to token_embd). */
    static const char *const global[] = { "token_embd.weight", "output_norm.weight", NULL };
    static const char *const layer[] = { "attn_norm.weight", "attn_q.weight",   "attn_k.weight",
                                         "attn_v.weight",    "attn_output.weight", "ffn_norm.weight",
                                         "ffn_gate.weight",  "ffn_up.weight",   "ffn_down.weight", NULL };
    const og_cv_required required = { global, layer, job.n_layer };
    cv->arch = &job;
    st = og_convert_tensors(cv, map_llama, &required);
    cv->arch = NULL;
    return st;
}
