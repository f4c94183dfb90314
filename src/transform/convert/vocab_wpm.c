/*
 * vocab_wpm.c - a WordPiece tokenizer (BERT) as llama.cpp's converter
 * writes it: tokenizer.ggml.model "bert", tokens from tokenizer.json's
 * model.vocab or from vocab.txt, in llama.cpp's phantom-space spelling.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, getline */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "convert/hf_vocab.h"

/* vocab.txt: one token per line, the line number is the id. */
static og_status from_vocab_txt(og_cv *cv, int64_t n_min, og_toklist *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.txt", cv->dir);
    FILE *fp;
    og_status open_st = og_convert_open(path, false, &fp, cv->err);
    if (open_st != OG_OK)
        return open_st;
    if (!fp)
        return og_error_set(cv->err, OG_ERR_IO, "no tokenizer: neither tokenizer.json nor vocab.txt in %s", cv->dir);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t n = 0, alloc = 0;
    og_status st = OG_OK;
    while (st == OG_OK && (len = getline(&line, &cap, fp)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 32768;
            char **text = realloc(t->text, (size_t)alloc * sizeof *text);
            if (!text) {
                st = og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory reading %s", path);
                break;
            }
            t->text = text;
        }
        if (!(t->text[n] = strdup(line)))
            st = og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory reading %s", path);
        else
            t->n = ++n;
    }
    free(line);
    fclose(fp);
    if (st != OG_OK)
        return st;
    if (n == 0)
        return og_error_set(cv->err, OG_ERR_FORMAT, "%s is empty", path);
    int64_t total = n > n_min ? n : n_min;
    char **text = realloc(t->text, (size_t)total * sizeof *text);
    t->type = calloc((size_t)total, sizeof *t->type);
    if (!text || !t->type) {
        if (text)
            t->text = text;
        return og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
    }
    t->text = text;
    for (int64_t i = n; i < total; i++)
        t->text[i] = NULL;
    for (int64_t i = 0; i < n; i++)
        t->type[i] = TT_NORMAL;
    t->n = total;
    return OG_OK;
}

/* Without tokenizer.json, the tokens special_tokens_map.json and
 * tokenizer_config.json name are the control tokens. */
static void mark_named_specials(const og_tokfiles *f, og_toklist *t)
{
    static const char *const names[] = { "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
                                         "bos_token", "eos_token" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *c = og_convert_token_content(f->config, names[i]);
        if (!c)
            c = og_convert_token_content(f->special_map, names[i]);
        int64_t id = c ? og_convert_tok_find(f, t, c) : -1;
        if (id >= 0)
            t->type[id] = TT_CONTROL;
    }
}

/* WordPiece as llama.cpp spells it: control tokens as they are, "##x"
 * continuations as "x", word starts with a leading U+2581. */
static og_status phantom_spell(og_cv *cv, og_toklist *t)
{
    for (int64_t i = 0; i < t->n; i++) {
        if (t->type[i] == TT_CONTROL)
            continue;
        char *s = t->text[i];
        if (!strncmp(s, "##", 2)) {
            memmove(s, s + 2, strlen(s + 2) + 1);
            continue;
        }
        size_t n = strlen(s);
        char *p = malloc(n + 4);
        if (!p)
            return og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
        memcpy(p, "\xe2\x96\x81", 3);
        memcpy(p + 3, s, n + 1);
        free(s);
        t->text[i] = p;
    }
    return OG_OK;
}

static bool lowercases(const og_tokfiles *f)
{
    if (json_is_true(json_object_get(f->config, "do_lower_case")))
        return true;
    const json_t *norm = json_object_get(f->tokenizer, "normalizer");
    return json_is_true(json_object_get(norm, "lowercase"));
}

og_status og_convert_vocab_wpm(og_cv *cv, int64_t n_vocab_config)
{
    og_tokfiles f = { 0 };
    og_toklist t = { 0 };
    og_status st = og_convert_tokfiles_load(cv, false, &f);
    if (st == OG_OK && f.tokenizer) {
        const json_t *model = json_object_get(f.tokenizer, "model");
        const char *type = json_string_value(json_object_get(model, "type"));
        if (!type || strcmp(type, "WordPiece") != 0)
            st = og_error_set(cv->err, OG_ERR_UNSUPPORTED, "tokenizer.json: model type '%s', BERT needs WordPiece",
                              type ? type : "(none)");
        else if (!json_is_object(json_object_get(model, "vocab")))
            st = og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: model.vocab is not an object");
        else
            st = og_convert_tok_from_object(cv, json_object_get(model, "vocab"), n_vocab_config, &t);
        if (st == OG_OK)
            st = og_convert_tok_added(cv, f.tokenizer, &t);
    } else if (st == OG_OK) {
        st = from_vocab_txt(cv, n_vocab_config, &t);
        if (st == OG_OK)
            mark_named_specials(&f, &t);
    }
    if (st == OG_OK)
        st = og_convert_tok_fill_holes(cv, &t);
    int64_t ids[OG_CV_N_SPECIALS];
    if (st == OG_OK) {
        og_convert_tok_specials(cv, &f, &t, ids);
        st = phantom_spell(cv, &t);
    }
    if (st == OG_OK)
        st = og_convert_tok_write(cv, "bert", lowercases(&f) ? "bert-bge" : "default", &t);
    if (st == OG_OK)
        st = og_convert_tok_write_specials(cv, &f, ids);
    og_convert_tok_free(&t);
    og_convert_tokfiles_free(&f);
    return st;
}

