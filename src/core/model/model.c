/*
 * model.c - opening a model file: metadata, architecture dispatch,
 * vocabulary, and the public accessors over them. The model owns the GGUF
 * mapping, the vocab and its copy of the chat template.
 */
#include "model/model.h"
#include "model/arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "base/mapfile.h"

og_model_params og_model_default_params(void)
{
    og_model_params p = { .vocab_only = false, .n_threads = 0, .cache_dir = NULL };
    return p;
}

static void copy_str(char *dst, size_t cap, og_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

/* ------------------------------------------ helpers for the architectures */

bool og_model_arch_u32(const og_model *m, const char *suffix, uint32_t *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    return og_gguf_get_u32(m->gguf, key, out);
}

bool og_model_arch_f32(const og_model *m, const char *suffix, float *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    return og_gguf_get_f32(m->gguf, key, out);
}

bool og_model_arch_str(const og_model *m, const char *suffix, og_str *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    return og_gguf_get_str(m->gguf, key, out);
}

og_status og_model_require_dims(const og_model *m, const char *const *suffixes, int32_t *const *fields, int n,
                                og_error *err)
{
    for (int i = 0; i < n; i++) {
        uint32_t v;
        if (!og_model_arch_u32(m, suffixes[i], &v) || v == 0 || v > (1u << 24))
            return og_error_set(err, OG_ERR_FORMAT, "missing or invalid %s.%s", m->arch_name, suffixes[i]);
        *fields[i] = (int32_t)v;
    }
    return OG_OK;
}

og_status og_model_want_tensor(const og_model *m, const char *name, int64_t ne0, int64_t ne1, bool matrix,
                             const og_gguf_tensor **out, og_error *err)
{
    const og_gguf_tensor *t = og_gguf_find_tensor(m->gguf, name);
    *out = t;
    if (!t)
        return og_error_set(err, OG_ERR_FORMAT, "missing tensor '%s'", name);
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1)
        return og_error_set(err, OG_ERR_FORMAT, "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
                            name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                            (long long)t->ne[3], (long long)ne0, (long long)ne1);
    const og_type_traits *tr = og_type_traits_of(t->type);
    if (matrix && !tr->supported)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "tensor '%s' has type %s, which offgrid does not support",
                            name, og_type_name(t->type));
    if (!matrix && t->type != OG_TYPE_F32)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "norm tensor '%s' has type %s, expected F32", name,
                            og_type_name(t->type));
    return OG_OK;
}

/* The most common weight type among matrices, like llama.cpp's file type. */
static const char *dominant_type(const og_gguf *g)
{
    int64_t count[OG_TYPE_COUNT] = { 0 };
    for (int64_t i = 0; i < og_gguf_n_tensors(g); i++) {
        const og_gguf_tensor *t = og_gguf_tensor_at(g, i);
        if (t->n_dims >= 2 && (unsigned)t->type < OG_TYPE_COUNT)
            count[t->type]++;
    }
    int best = 0;
    for (int t = 1; t < OG_TYPE_COUNT; t++)
        if (count[t] > count[best])
            best = t;
    return og_type_name((uint32_t)best);
}

og_status og_model_load(const char *path, const og_model_params *params, og_model **out, og_error *err)
{
    og_model_params defaults = og_model_default_params();
    if (!params)
        params = &defaults;
    if (!path || !out)
        return og_error_set(err, OG_ERR_ARG, "og_model_load: path and out are required");
    *out = NULL;
    og_model *m = calloc(1, sizeof *m);
    if (!m)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    og_status st;
    if ((st = og_gguf_open(path, &m->gguf, err)) != OG_OK)
        goto fail;
    og_str s;
    if (og_gguf_get_str(m->gguf, "general.architecture", &s))
        copy_str(m->arch_name, sizeof m->arch_name, s);
    if (og_gguf_get_str(m->gguf, "general.name", &s))
        copy_str(m->name, sizeof m->name, s);
    if (og_gguf_get_str(m->gguf, "tokenizer.chat_template", &s)) {
        m->chat_template = malloc(s.len + 1);
        if (!m->chat_template) {
            st = og_error_set(err, OG_ERR_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(m->chat_template, s.ptr, s.len);
        m->chat_template[s.len] = 0;
    }
    if ((st = og_vocab_load(m->gguf, &m->vocab, err)) != OG_OK) {
        og_error_prefix(err, "%s", path);
        goto fail;
    }
    for (int64_t i = 0; i < og_gguf_n_tensors(m->gguf); i++) {
        const og_gguf_tensor *t = og_gguf_tensor_at(m->gguf, i);
        m->n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        m->n_bytes += t->n_bytes;
    }
    m->file_type = dominant_type(m->gguf);
    if (!params->vocab_only) {
        if (!m->arch_name[0]) {
            st = og_error_set(err, OG_ERR_FORMAT, "%s: no general.architecture key", path);
            goto fail;
        }
        const og_arch *arch = og_arch_find(m->arch_name);
        if (!arch) {
            char names[256];
            st = og_error_set(err, OG_ERR_UNSUPPORTED, "unknown model architecture '%s' (supported: %s)",
                              m->arch_name, og_arch_names(names, sizeof names));
        } else {
            m->arch = arch;
            st = arch->load(m, err);
            if (st == OG_OK && arch->packs_weights)
                st = og_model_pack(m, path, params->n_threads, params->cache_dir, err);
        }
        if (st != OG_OK) {
            og_error_prefix(err, "%s", path);
            goto fail;
        }
    }
    *out = m;
    return OG_OK;
fail:
    og_model_free(m);
    return st;
}

void og_model_free(og_model *m)
{
    if (!m)
        return;
    og_vocab_free(m->vocab);
    og_gguf_close(m->gguf);
    free(m->layers);
    free(m->packed);
    og_unmap_buffer(m->packed_map, m->packed_map_bytes);
    free(m->norms);
    free(m->norm_data);
    if (m->arch && m->arch->unload)
        m->arch->unload(m);
    free(m->chat_template);
    free(m);
}

void og_model_get_info(const og_model *m, og_model_info *info)
{
    memset(info, 0, sizeof *info);
    info->arch = m->arch_name;
    info->name = m->name;
    info->n_params = (int64_t)m->n_params;
    info->n_bytes = m->n_bytes;
    info->n_vocab = og_vocab_n_tokens(m->vocab);
    info->n_ctx_train = m->hp.n_ctx_train;
    info->n_embd = m->hp.n_embd;
    info->n_layer = m->hp.n_layer;
    info->n_head = m->hp.n_head;
    info->n_head_kv = m->hp.n_head_kv;
    info->n_ff = m->hp.n_ff;
    info->rope_freq_base = m->hp.rope_freq_base;
    info->file_type = m->file_type;
    for (int32_t i = 0; i < m->n_packed; i++)
        info->packed_bytes += m->packed[i].n_bytes;
    info->packed_from_cache = m->packed_from_cache;
    info->chat_template = m->chat_template && *m->chat_template ? m->chat_template : NULL;
}

size_t og_model_describe(const og_model *m, char *buf, size_t cap)
{
    int64_t count[OG_TYPE_COUNT] = { 0 };
    for (int64_t i = 0; i < og_gguf_n_tensors(m->gguf); i++) {
        const og_gguf_tensor *t = og_gguf_tensor_at(m->gguf, i);
        if ((unsigned)t->type < OG_TYPE_COUNT)
            count[t->type]++;
    }
    char types[512] = "";
    size_t used = 0;
    for (int t = 0; t < OG_TYPE_COUNT; t++)
        if (count[t] && used < sizeof types)
            used += (size_t)snprintf(types + used, sizeof types - used, "%s%s x%lld", used ? ", " : "",
                                     og_type_name((uint32_t)t), (long long)count[t]);
    const og_hparams *hp = &m->hp;
    /* A model without RoPE (BERT's learned positions) has no rope base. */
    char rope[48] = "";
    if (hp->rope_freq_base > 0.0f)
        snprintf(rope, sizeof rope, "rope base:     %g\n", hp->rope_freq_base);
    int n = snprintf(buf, cap,
                     "name:          %s\n"
                     "architecture:  %s\n"
                     "gguf version:  %u\n"
                     "parameters:    %.2f M\n"
                     "tensor data:   %.2f MiB\n"
                     "tensor types:  %s\n"
                     "file type:     %s\n"
                     "tokenizer:     %s, %d tokens\n"
                     "context train: %d\n"
                     "embedding:     %d\n"
                     "layers:        %d\n"
                     "heads:         %d (kv %d, head dim %d)\n"
                     "feed forward:  %d\n"
                     "%s"
                     "norm eps:      %g\n"
                     "chat template: %s\n",
                     m->name[0] ? m->name : "(none)", m->arch_name[0] ? m->arch_name : "(none)",
                     og_gguf_version(m->gguf), m->n_params / 1e6, m->n_bytes / (1024.0 * 1024.0), types,
                     m->file_type, og_vocab_model_name(m->vocab), og_vocab_n_tokens(m->vocab), hp->n_ctx_train,
                     hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv, hp->head_dim, hp->n_ff,
                     rope, hp->norm_eps, m->chat_template ? "yes" : "no");
    return n < 0 ? 0 : (size_t)n;
}

/* ------------------------------------------------- tokenizer accessors */

int32_t og_vocab_size(const og_model *m) { return og_vocab_n_tokens(m->vocab); }
og_token og_token_bos(const og_model *m) { return og_vocab_bos(m->vocab); }
og_token og_token_eos(const og_model *m) { return og_vocab_eos(m->vocab); }
og_token og_token_eot(const og_model *m) { return og_vocab_eot(m->vocab); }
bool og_token_is_eog(const og_model *m, og_token t) { return og_vocab_is_eog(m->vocab, t); }
bool og_model_adds_bos(const og_model *m) { return og_vocab_wants_bos(m->vocab); }

int32_t og_tokenize(const og_model *m, const char *text, size_t len, og_token *tokens, int32_t max_tokens,
                    bool add_special, bool parse_special)
{
    return og_vocab_tokenize(m->vocab, text, len, tokens, max_tokens, add_special, parse_special);
}

int32_t og_token_to_piece(const og_model *m, og_token t, char *buf, int32_t cap, bool special)
{
    return og_vocab_token_to_piece(m->vocab, t, buf, cap, special);
}
