/*
 * vocab.c - what the tokenizer writers share (vocab.h): the token list,
 * the folder's tokenizer files, ids no file names, the special token ids,
 * the add_*_token flags and the chat template, as llama.cpp's converter
 * writes them (tokenizer.ggml.*). The tokenizer kinds are in vocab_wpm.c,
 * vocab_bpe.c and vocab_spm.c.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "convert/hf_vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"

void og_convert_tok_free(og_toklist *t)
{
    for (int64_t i = 0; t->text && i < t->n; i++)
        free(t->text[i]);
    free(t->text);
    free(t->type);
    free(t->score);
}

void og_convert_tokfiles_free(og_tokfiles *f)
{
    json_decref(f->tokenizer);
    json_decref(f->config);
    json_decref(f->special_map);
}

og_status og_convert_tokfiles_load(og_cv *cv, bool need_tokenizer_json, og_tokfiles *f)
{
    og_status st = og_convert_json_load(cv->dir, "tokenizer.json", need_tokenizer_json, &f->tokenizer, cv->err);
    if (st == OG_OK)
        st = og_convert_json_load(cv->dir, "tokenizer_config.json", false, &f->config, cv->err);
    if (st == OG_OK)
        st = og_convert_json_load(cv->dir, "special_tokens_map.json", false, &f->special_map, cv->err);
    return st;
}

og_status og_convert_tok_alloc(og_cv *cv, og_toklist *t, int64_t n)
{
    t->n = n;
    t->text = calloc((size_t)(n ? n : 1), sizeof *t->text);
    t->type = calloc((size_t)(n ? n : 1), sizeof *t->type);
    if (!t->text || !t->type)
        return og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory for %lld tokens", (long long)n);
    return OG_OK;
}

/* Fills t from a {"token": id} object, padded to at least n_min tokens;
 * ids must be unique and dense once padded. */
og_status og_convert_tok_from_object(og_cv *cv, const json_t *vocab, int64_t n_min, og_toklist *t)
{
    int64_t n = n_min;
    const char *tok;
    json_t *id;
    json_object_foreach((json_t *)vocab, tok, id) {
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= (1 << 24))
            return og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: token '%.80s' has a bad id", tok);
        if (json_integer_value(id) >= n)
            n = json_integer_value(id) + 1;
    }
    og_status st = og_convert_tok_alloc(cv, t, n);
    json_object_foreach((json_t *)vocab, tok, id) {
        if (st != OG_OK)
            break;
        int64_t i = json_integer_value(id);
        if (t->text[i])
            return og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: id %lld is used by '%.80s' and '%.80s'",
                                (long long)i, t->text[i], tok);
        if (!(t->text[i] = strdup(tok)))
            return og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
        t->type[i] = TT_NORMAL;
    }
    return st;
}

/* added_tokens: special ones are CONTROL, the others USER_DEFINED. */
og_status og_convert_tok_added(og_cv *cv, const json_t *tokenizer, og_toklist *t)
{
    const json_t *added = json_object_get(tokenizer, "added_tokens");
    size_t i;
    json_t *a;
    json_array_foreach(added, i, a) {
        const json_t *id = json_object_get(a, "id");
        const char *content = json_string_value(json_object_get(a, "content"));
        if (!json_is_integer(id) || !content || json_integer_value(id) < 0 || json_integer_value(id) >= t->n)
            return og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: added token %zu has a bad id or content", i);
        int64_t k = json_integer_value(id);
        free(t->text[k]);
        if (!(t->text[k] = strdup(content)))
            return og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
        t->type[k] = json_is_true(json_object_get(a, "special")) ? TT_CONTROL : TT_USER_DEFINED;
    }
    return OG_OK;
}

/* Ids no file names get llama.cpp's filler "[PAD<id>]", type UNUSED. */
og_status og_convert_tok_fill_holes(og_cv *cv, og_toklist *t)
{
    for (int64_t i = 0; i < t->n; i++) {
        if (t->text[i])
            continue;
        char buf[32];
        snprintf(buf, sizeof buf, "[PAD%lld]", (long long)i);
        if (!(t->text[i] = strdup(buf)))
            return og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
        t->type[i] = TT_UNUSED;
        if (t->score)
            t->score[i] = -10000.0f;
    }
    return OG_OK;
}

/* A "<name>_token" entry: a string or {"content": string}. */
const char *og_convert_token_content(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : json_string_value(json_object_get(v, "content"));
}

int64_t og_convert_tok_find(const og_tokfiles *f, const og_toklist *t, const char *content)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(f->tokenizer, "added_tokens"), i, a) {
        const char *c = json_string_value(json_object_get(a, "content"));
        if (c && !strcmp(c, content) && json_is_integer(json_object_get(a, "id")))
            return json_integer_value(json_object_get(a, "id"));
    }
    for (int64_t k = 0; k < t->n; k++)
        if (t->text[k] && !strcmp(t->text[k], content))
            return k;
    return -1;
}

static const struct {
    const char *typ, *key;
} specials[] = {
    { "bos", "tokenizer.ggml.bos_token_id" },     { "eos", "tokenizer.ggml.eos_token_id" },
    { "unk", "tokenizer.ggml.unknown_token_id" }, { "sep", "tokenizer.ggml.seperator_token_id" },
    { "pad", "tokenizer.ggml.padding_token_id" }, { "cls", "tokenizer.ggml.cls_token_id" },
    { "mask", "tokenizer.ggml.mask_token_id" },
};
_Static_assert(sizeof specials / sizeof specials[0] == OG_CV_N_SPECIALS, "one entry per special");

/* Special token ids from tokenizer_config.json (then
 * special_tokens_map.json), with config.json's *_token_id for the rest;
 * -1 when unknown. Looks tokens up by the checkpoint's spelling, so it
 * runs before WordPiece tokens are respelled. */
void og_convert_tok_specials(const og_cv *cv, const og_tokfiles *f, const og_toklist *t, int64_t ids[OG_CV_N_SPECIALS])
{
    for (size_t i = 0; i < OG_CV_N_SPECIALS; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s_token", specials[i].typ);
        const char *content = og_convert_token_content(f->config, key);
        if (!content)
            content = og_convert_token_content(f->special_map, key);
        int64_t id = content ? og_convert_tok_find(f, t, content) : -1;
        if (id < 0) {
            snprintf(key, sizeof key, "%s_token_id", specials[i].typ);
            const json_t *v = json_object_get(cv->config, key);
            id = json_is_integer(v) ? json_integer_value(v) : -1;
        }
        ids[i] = id >= 0 && id < t->n ? id : -1;
    }
}

/* The special ids, the add_*_token flags and the chat template. */
og_status og_convert_tok_write_specials(og_cv *cv, const og_tokfiles *f, const int64_t ids[OG_CV_N_SPECIALS])
{
    for (size_t i = 0; i < OG_CV_N_SPECIALS; i++)
        if (ids[i] >= 0)
            og_gguf_writer_u32(cv->w, specials[i].key, (uint32_t)ids[i]);
    static const char *const flags[] = { "bos", "eos" };
    for (size_t i = 0; i < 2; i++) {
        char key[48];
        snprintf(key, sizeof key, "add_%s_token", flags[i]);
        const json_t *v = json_object_get(f->config, key);
        if (json_is_boolean(v)) {
            snprintf(key, sizeof key, "tokenizer.ggml.add_%s_token", flags[i]);
            og_gguf_writer_bool(cv->w, key, json_is_true(v));
        }
    }
    const char *tmpl = json_string_value(json_object_get(f->config, "chat_template"));
    if (tmpl)
        og_gguf_writer_str(cv->w, "tokenizer.chat_template", tmpl);
    return og_gguf_writer_status(cv->w, cv->err);
}

og_status og_convert_tok_write(og_cv *cv, const char *model, const char *pre, const og_toklist *t)
{
    og_gguf_writer_str(cv->w, "tokenizer.ggml.model", model);
    og_gguf_writer_str(cv->w, "tokenizer.ggml.pre", pre);
    og_gguf_writer_arr_str(cv->w, "tokenizer.ggml.tokens", (const char *const *)t->text, (uint64_t)t->n);
    if (t->score)
        og_gguf_writer_arr(cv->w, "tokenizer.ggml.scores", OG_GGUF_F32, t->score, (uint64_t)t->n);
    og_gguf_writer_arr(cv->w, "tokenizer.ggml.token_type", OG_GGUF_I32, t->type, (uint64_t)t->n);
    return og_gguf_writer_status(cv->w, cv->err);
}

