/*
 * vocab.c - writes a Hugging Face tokenizer as llama.cpp's converter does
 * (tokenizer.ggml.*): the token list and types, the special token ids,
 * the add_*_token flags and the chat template, for WordPiece ("bert",
 * with llama.cpp's phantom-space spelling) and byte-level BPE ("gpt2",
 * with merges and a pre-tokenizer name offgrid and llama.cpp know).
 *
 * Sources: tokenizer.json (model.vocab, model.merges, added_tokens,
 * pre_tokenizer), vocab.txt when a WordPiece folder has no
 * tokenizer.json, tokenizer_config.json and special_tokens_map.json for
 * which token is which, and config.json for ids they do not give.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "convert/convert.h"

/* GGUF token types (llama.cpp's llama_token_type) */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5 };

typedef struct toklist {
    char **text;   /* owned */
    int32_t *type;
    int64_t n;
} toklist;

/* The folder's tokenizer files; any may be NULL. */
typedef struct tokfiles {
    json_t *tokenizer, *config, *special_map;
} tokfiles;

static void toklist_free(toklist *t)
{
    for (int64_t i = 0; t->text && i < t->n; i++)
        free(t->text[i]);
    free(t->text);
    free(t->type);
}

static void tokfiles_free(tokfiles *f)
{
    json_decref(f->tokenizer);
    json_decref(f->config);
    json_decref(f->special_map);
}

static og_status load_files(og_cv *cv, bool need_tokenizer_json, tokfiles *f)
{
    og_status st = og_convert_json_load(cv->dir, "tokenizer.json", need_tokenizer_json, &f->tokenizer, cv->err);
    if (st == OG_OK)
        st = og_convert_json_load(cv->dir, "tokenizer_config.json", false, &f->config, cv->err);
    if (st == OG_OK)
        st = og_convert_json_load(cv->dir, "special_tokens_map.json", false, &f->special_map, cv->err);
    return st;
}

static og_status toklist_alloc(og_cv *cv, toklist *t, int64_t n)
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
static og_status from_vocab_object(og_cv *cv, const json_t *vocab, int64_t n_min, toklist *t)
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
    og_status st = toklist_alloc(cv, t, n);
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
static og_status apply_added(og_cv *cv, const json_t *tokenizer, toklist *t)
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
static og_status fill_holes(og_cv *cv, toklist *t)
{
    for (int64_t i = 0; i < t->n; i++) {
        if (t->text[i])
            continue;
        char buf[32];
        snprintf(buf, sizeof buf, "[PAD%lld]", (long long)i);
        if (!(t->text[i] = strdup(buf)))
            return og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
        t->type[i] = TT_UNUSED;
    }
    return OG_OK;
}

/* A "<name>_token" entry: a string or {"content": string}. */
static const char *token_content(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : json_string_value(json_object_get(v, "content"));
}

static int64_t find_token(const tokfiles *f, const toklist *t, const char *content)
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
#define N_SPECIALS (sizeof specials / sizeof specials[0])

/* Special token ids from tokenizer_config.json (then
 * special_tokens_map.json), with config.json's *_token_id for the rest;
 * -1 when unknown. Looks tokens up by the checkpoint's spelling, so it
 * runs before WordPiece tokens are respelled. */
static void resolve_specials(const og_cv *cv, const tokfiles *f, const toklist *t, int64_t ids[N_SPECIALS])
{
    for (size_t i = 0; i < N_SPECIALS; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s_token", specials[i].typ);
        const char *content = token_content(f->config, key);
        if (!content)
            content = token_content(f->special_map, key);
        int64_t id = content ? find_token(f, t, content) : -1;
        if (id < 0) {
            snprintf(key, sizeof key, "%s_token_id", specials[i].typ);
            const json_t *v = json_object_get(cv->config, key);
            id = json_is_integer(v) ? json_integer_value(v) : -1;
        }
        ids[i] = id >= 0 && id < t->n ? id : -1;
    }
}

/* The special ids, the add_*_token flags and the chat template. */
static og_status write_specials(og_cv *cv, const tokfiles *f, const int64_t ids[N_SPECIALS])
{
    bool ok = true;
    for (size_t i = 0; ok && i < N_SPECIALS; i++)
        if (ids[i] >= 0)
            ok = og_gguf_writer_u32(cv->w, specials[i].key, (uint32_t)ids[i]);
    static const char *const flags[] = { "bos", "eos" };
    for (size_t i = 0; ok && i < 2; i++) {
        char key[48];
        snprintf(key, sizeof key, "add_%s_token", flags[i]);
        const json_t *v = json_object_get(f->config, key);
        if (json_is_boolean(v)) {
            snprintf(key, sizeof key, "tokenizer.ggml.add_%s_token", flags[i]);
            ok = og_gguf_writer_bool(cv->w, key, json_is_true(v));
        }
    }
    const char *tmpl = json_string_value(json_object_get(f->config, "chat_template"));
    if (ok && tmpl)
        ok = og_gguf_writer_str(cv->w, "tokenizer.chat_template", tmpl);
    return ok ? OG_OK : og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
}

static og_status write_tokens(og_cv *cv, const char *model, const char *pre, const toklist *t)
{
    bool ok = og_gguf_writer_str(cv->w, "tokenizer.ggml.model", model) &&
              og_gguf_writer_str(cv->w, "tokenizer.ggml.pre", pre) &&
              og_gguf_writer_arr_str(cv->w, "tokenizer.ggml.tokens", (const char *const *)t->text, (uint64_t)t->n) &&
              og_gguf_writer_arr(cv->w, "tokenizer.ggml.token_type", OG_GGUF_I32, t->type, (uint64_t)t->n);
    return ok ? OG_OK : og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
}

/* vocab.txt: one token per line, the line number is the id. */
static og_status from_vocab_txt(og_cv *cv, int64_t n_min, toklist *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.txt", cv->dir);
    FILE *fp = fopen(path, "rb");
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
static void mark_named_specials(const tokfiles *f, toklist *t)
{
    static const char *const names[] = { "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
                                         "bos_token", "eos_token" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *c = token_content(f->config, names[i]);
        if (!c)
            c = token_content(f->special_map, names[i]);
        int64_t id = c ? find_token(f, t, c) : -1;
        if (id >= 0)
            t->type[id] = TT_CONTROL;
    }
}

/* WordPiece as llama.cpp spells it: control tokens as they are, "##x"
 * continuations as "x", word starts with a leading U+2581. */
static og_status phantom_spell(og_cv *cv, toklist *t)
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

static bool lowercases(const tokfiles *f)
{
    if (json_is_true(json_object_get(f->config, "do_lower_case")))
        return true;
    const json_t *norm = json_object_get(f->tokenizer, "normalizer");
    return json_is_true(json_object_get(norm, "lowercase"));
}

og_status og_convert_vocab_wpm(og_cv *cv, int64_t n_vocab_config)
{
    tokfiles f = { 0 };
    toklist t = { 0 };
    og_status st = load_files(cv, false, &f);
    if (st == OG_OK && f.tokenizer) {
        const json_t *model = json_object_get(f.tokenizer, "model");
        const char *type = json_string_value(json_object_get(model, "type"));
        if (!type || strcmp(type, "WordPiece") != 0)
            st = og_error_set(cv->err, OG_ERR_UNSUPPORTED, "tokenizer.json: model type '%s', BERT needs WordPiece",
                              type ? type : "(none)");
        else if (!json_is_object(json_object_get(model, "vocab")))
            st = og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: model.vocab is not an object");
        else
            st = from_vocab_object(cv, json_object_get(model, "vocab"), n_vocab_config, &t);
        if (st == OG_OK)
            st = apply_added(cv, f.tokenizer, &t);
    } else if (st == OG_OK) {
        st = from_vocab_txt(cv, n_vocab_config, &t);
        if (st == OG_OK)
            mark_named_specials(&f, &t);
    }
    if (st == OG_OK)
        st = fill_holes(cv, &t);
    int64_t ids[N_SPECIALS];
    if (st == OG_OK) {
        resolve_specials(cv, &f, &t, ids);
        st = phantom_spell(cv, &t);
    }
    if (st == OG_OK)
        st = write_tokens(cv, "bert", lowercases(&f) ? "bert-bge" : "default", &t);
    if (st == OG_OK)
        st = write_specials(cv, &f, ids);
    toklist_free(&t);
    tokfiles_free(&f);
    return st;
}

/* The pre-tokenizer name for a byte-level BPE tokenizer.json, from the
 * structure of its pre_tokenizer: llama.cpp picks the name by hashing the
 * tokenizer's output, which needs the tokenizer; the structures below are
 * the ones behind the names offgrid's pretok.c implements. NULL when the
 * structure is none of them. */
static const char *bpe_pre_name(const json_t *pre)
{
    /* The Split patterns of Llama 3 and Qwen2 (they differ in \p{N}{1,3}). */
    static const char llama3_re[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static const char qwen2_re[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                                   "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const char *type = json_string_value(json_object_get(pre, "type"));
    if (!type)
        return NULL;
    if (!strcmp(type, "ByteLevel"))
        return json_is_false(json_object_get(pre, "use_regex")) ? NULL : "gpt-2";
    if (strcmp(type, "Sequence") != 0)
        return NULL;
    const json_t *seq = json_object_get(pre, "pretokenizers");
    if (json_array_size(seq) != 2)
        return NULL;
    const json_t *first = json_array_get(seq, 0), *second = json_array_get(seq, 1);
    const char *t0 = json_string_value(json_object_get(first, "type"));
    const char *t1 = json_string_value(json_object_get(second, "type"));
    if (!t0 || !t1 || strcmp(t1, "ByteLevel") != 0)
        return NULL;
    /* Digits one by one, then GPT-2's regex: StarCoder's, which SmolLM uses. */
    if (!strcmp(t0, "Digits") && json_is_true(json_object_get(first, "individual_digits")) &&
        !json_is_false(json_object_get(second, "use_regex")))
        return "smollm";
    if (!strcmp(t0, "Split") && json_is_false(json_object_get(second, "use_regex"))) {
        const char *re = json_string_value(json_object_get(json_object_get(first, "pattern"), "Regex"));
        if (re && !strcmp(re, llama3_re))
            return "llama-bpe";
        if (re && !strcmp(re, qwen2_re))
            return "qwen2";
    }
    return NULL;
}

static size_t append_merge_part(char *dst, size_t k, const char *part)
{
    for (; *part; part++) {
        if (*part == ' ') {
            memcpy(dst + k, "\xc4\xa0", 2);
            k += 2;
        } else {
            dst[k++] = *part;
        }
    }
    return k;
}

/* model.merges as "left right" strings; the newer [left, right] pairs are
 * joined the way llama.cpp does, spaces inside a part becoming U+0120. */
static og_status write_merges(og_cv *cv, const json_t *merges)
{
    size_t n = json_array_size(merges);
    char **m = calloc(n ? n : 1, sizeof *m);
    og_status st = m ? OG_OK : og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory for merges");
    for (size_t i = 0; st == OG_OK && i < n; i++) {
        const json_t *e = json_array_get(merges, i);
        if (json_is_string(e)) {
            m[i] = strdup(json_string_value(e));
        } else {
            const char *a = json_string_value(json_array_get(e, 0)), *b = json_string_value(json_array_get(e, 1));
            if (json_array_size(e) != 2 || !a || !b) {
                st = og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: merge %zu is neither \"a b\" nor [a, b]", i);
                break;
            }
            /* a space (1 byte) becomes U+0120 (2 bytes) */
            if ((m[i] = malloc(2 * (strlen(a) + strlen(b)) + 2))) {
                size_t k = append_merge_part(m[i], 0, a);
                m[i][k++] = ' ';
                m[i][append_merge_part(m[i], k, b)] = 0;
            }
        }
        if (!m[i])
            st = og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory for merges");
    }
    if (st == OG_OK && !og_gguf_writer_arr_str(cv->w, "tokenizer.ggml.merges", (const char *const *)m, n))
        st = og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory for merges");
    for (size_t i = 0; m && i < n; i++)
        free(m[i]);
    free(m);
    return st;
}

og_status og_convert_vocab_bpe(og_cv *cv, int64_t n_vocab_config)
{
    tokfiles f = { 0 };
    toklist t = { 0 };
    og_status st = load_files(cv, true, &f);
    const json_t *model = json_object_get(f.tokenizer, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    const char *pre = NULL;
    if (st == OG_OK && (!type || strcmp(type, "BPE") != 0))
        st = og_error_set(cv->err, OG_ERR_UNSUPPORTED, "tokenizer.json: model type '%s' is not supported (BPE is)",
                          type ? type : "(none)");
    if (st == OG_OK && json_is_true(json_object_get(model, "byte_fallback")))
        st = og_error_set(cv->err, OG_ERR_UNSUPPORTED,
                          "tokenizer.json: a SentencePiece-style BPE (byte_fallback) is not supported yet; "
                          "only byte-level BPE is");
    if (st == OG_OK && !(pre = bpe_pre_name(json_object_get(f.tokenizer, "pre_tokenizer"))))
        st = og_error_set(cv->err, OG_ERR_UNSUPPORTED,
                          "tokenizer.json: unknown pre_tokenizer (known: ByteLevel as gpt-2, Digits+ByteLevel as "
                          "smollm, the Llama 3 and Qwen2 Split regexes)");
    if (st == OG_OK && !json_is_object(json_object_get(model, "vocab")))
        st = og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: model.vocab is not an object");
    if (st == OG_OK && !json_is_array(json_object_get(model, "merges")))
        st = og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: model.merges is not a list");
    if (st == OG_OK)
        st = from_vocab_object(cv, json_object_get(model, "vocab"), n_vocab_config, &t);
    if (st == OG_OK) {
        /* added tokens may lie past model.vocab: grow the list first */
        size_t i;
        json_t *a;
        int64_t n = t.n;
        json_array_foreach(json_object_get(f.tokenizer, "added_tokens"), i, a) {
            const json_t *id = json_object_get(a, "id");
            if (json_is_integer(id) && json_integer_value(id) >= n && json_integer_value(id) < (1 << 24))
                n = json_integer_value(id) + 1;
        }
        if (n > t.n) {
            char **text = realloc(t.text, (size_t)n * sizeof *text);
            int32_t *types = text ? realloc(t.type, (size_t)n * sizeof *types) : NULL;
            if (text)
                t.text = text;
            if (types)
                t.type = types;
            if (!text || !types) {
                st = og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
            } else {
                for (int64_t k = t.n; k < n; k++)
                    t.text[k] = NULL, t.type[k] = 0;
                t.n = n;
            }
        }
    }
    if (st == OG_OK)
        st = apply_added(cv, f.tokenizer, &t);
    if (st == OG_OK)
        st = fill_holes(cv, &t);
    int64_t ids[N_SPECIALS];
    if (st == OG_OK) {
        resolve_specials(cv, &f, &t, ids);
        st = write_tokens(cv, "gpt2", pre, &t);
    }
    if (st == OG_OK)
        st = write_merges(cv, json_object_get(model, "merges"));
    if (st == OG_OK)
        st = write_specials(cv, &f, ids);
    toklist_free(&t);
    tokfiles_free(&f);
    return st;
}
