/*
 * vocab.c - loading an og_vocab from tokenizer.ggml.* metadata (with
 * llama.cpp's per-model defaults), validating it, and the accessors. The
 * vocab owns copies of every string it keeps, in one arena.
 */
#include "tokenizer/vocab_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"

#define KEY(k) "tokenizer.ggml." k

static bool is_numeric(og_gguf_vtype t)
{
    return t != OG_GGUF_STRING && t != OG_GGUF_ARRAY && t != OG_GGUF_BOOL;
}

static bool is_integer(og_gguf_vtype t)
{
    return is_numeric(t) && t != OG_GGUF_F32 && t != OG_GGUF_F64;
}

/* An optional per-token array: absent is fine, present must be numeric
 * (integers when want_int) with one entry per token. */
static og_status per_token_array(const og_gguf *g, const char *key, uint64_t n_tokens,
                                 bool want_int, const og_gguf_kv **out, og_error *err)
{
    const og_gguf_kv *kv = og_gguf_find(g, key);
    *out = NULL;
    if (!kv)
        return OG_OK;
    if (kv->type != OG_GGUF_ARRAY || !(want_int ? is_integer(kv->elem_type) : is_numeric(kv->elem_type)))
        return og_error_set(err, OG_ERR_FORMAT, "%s: expected a numeric array", key);
    if (kv->n != n_tokens)
        return og_error_set(err, OG_ERR_FORMAT, "%s: %llu entries for %llu tokens", key,
                            (unsigned long long)kv->n, (unsigned long long)n_tokens);
    *out = kv;
    return OG_OK;
}

static uint32_t attr_of_type(int64_t type)
{
    switch (type) {
    case OG_TT_NORMAL:       return OG_ATTR_NORMAL;
    case OG_TT_UNKNOWN:      return OG_ATTR_UNKNOWN;
    case OG_TT_CONTROL:      return OG_ATTR_CONTROL;
    case OG_TT_USER_DEFINED: return OG_ATTR_USER_DEFINED;
    case OG_TT_UNUSED:       return OG_ATTR_UNUSED;
    case OG_TT_BYTE:         return OG_ATTR_BYTE;
    default:                 return 0; /* undefined */
    }
}

/* A special-token id key overrides the default only when it is in range
 * (llama.cpp warns and keeps the default otherwise). */
static void read_id(const og_gguf *g, const char *key, int32_t n_tokens, og_token *id)
{
    int64_t v;
    if (og_gguf_get_i64(g, key, &v) && v >= 0 && v < n_tokens)
        *id = (og_token)v;
    if (*id >= n_tokens)
        *id = -1;
}

static void read_flag(const og_gguf *g, const char *key, bool *flag)
{
    bool b;
    if (og_gguf_get_bool(g, key, &b))
        *flag = b;
}

/* Copies the token texts (and the merge pairs) into one arena and builds
 * the lookup maps. */
static og_status load_pieces(og_vocab *v, const og_gguf_kv *toks, const og_gguf_kv *merges, og_error *err)
{
    size_t total = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        total += (toks->strs[i].len ? toks->strs[i].len : 24) + 1;
    for (uint64_t i = 0; merges && i < merges->n; i++)
        total += merges->strs[i].len + 1;
    v->arena = malloc(total ? total : 1);
    v->tokens = calloc((size_t)v->n_tokens, sizeof *v->tokens);
    if (!v->arena || !v->tokens || og_hashmap_init(&v->piece_to_id, (size_t)v->n_tokens, NULL) != OG_OK ||
        og_hashmap_init(&v->merge_rank, merges ? merges->n : 0, NULL) != OG_OK)
        return og_error_set(err, OG_ERR_NOMEM, "tokenizer: out of memory for %d tokens", v->n_tokens);
    og_status st = OG_OK;

    char *p = v->arena;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        og_str s = toks->strs[i];
        size_t len = s.len;
        if (len) {
            memcpy(p, s.ptr, len);
        } else {
            /* llama.cpp names empty pieces so they stay unmatchable. */
            len = (size_t)snprintf(p, 24, "[EMPTY_%d]", i);
        }
        p[len] = '\0';
        v->tokens[i].text = p;
        v->tokens[i].len = (uint32_t)len;
        /* The last of two equal pieces wins, as in llama.cpp; the map
         * was planned for every token, so this cannot run out of room. */
        if ((st = og_hashmap_set(&v->piece_to_id, p, len, i, err)) != OG_OK)
            return st;
        if ((int32_t)len > v->max_token_len)
            v->max_token_len = (int32_t)len;
        p += len + 1;
    }
    for (uint64_t i = 0; merges && i < merges->n && i < INT32_MAX; i++) {
        og_str s = merges->strs[i];
        /* "first second", split at the first space after position 0 */
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
        if (!sp)
            continue;
        memcpy(p, s.ptr, s.len);
        p[sp - s.ptr] = '\0';
        /* The first occurrence of a pair keeps its rank. */
        int64_t earlier;
        if ((st = og_hashmap_add(&v->merge_rank, p, s.len, (int64_t)i, &earlier, err)) != OG_OK)
            return st;
        p += s.len + 1;
    }
    return OG_OK;
}

static og_status load(og_vocab *v, const og_gguf *g, og_error *err)
{
    og_str model;
    if (!og_gguf_get_str(g, KEY("model"), &model))
        return og_error_set(err, OG_ERR_FORMAT, "tokenizer: missing " KEY("model"));
    if (og_str_eq(model, "llama"))
        v->kind = OG_VOCAB_SPM;
    else if (og_str_eq(model, "gpt2"))
        v->kind = OG_VOCAB_BPE;
    else if (og_str_eq(model, "bert"))
        v->kind = OG_VOCAB_WPM;
    else
        return og_error_set(err, OG_ERR_UNSUPPORTED, "tokenizer: unsupported tokenizer model '%.*s'",
                            (int)(model.len > 64 ? 64 : model.len), model.ptr);

    const og_gguf_kv *toks = og_gguf_get_arr(g, KEY("tokens"), OG_GGUF_STRING);
    if (!toks)
        return og_error_set(err, OG_ERR_FORMAT, "tokenizer: missing or non-string " KEY("tokens"));
    if (toks->n == 0 || toks->n > INT32_MAX)
        return og_error_set(err, OG_ERR_FORMAT, "tokenizer: " KEY("tokens") " has %llu entries",
                            (unsigned long long)toks->n);
    v->n_tokens = (int32_t)toks->n;

    const og_gguf_kv *scores, *types, *merges = NULL;
    og_status st = per_token_array(g, KEY("scores"), toks->n, false, &scores, err);
    if (st == OG_OK)
        st = per_token_array(g, KEY("token_type"), toks->n, true, &types, err);
    if (st != OG_OK)
        return st;
    if (v->kind == OG_VOCAB_BPE) {
        merges = og_gguf_get_arr(g, KEY("merges"), OG_GGUF_STRING);
        if (!merges)
            return og_error_set(err, OG_ERR_FORMAT, "tokenizer: gpt2 model without " KEY("merges"));
    }
    if ((st = load_pieces(v, toks, merges, err)) != OG_OK)
        return st;

    for (int32_t i = 0; i < v->n_tokens; i++) {
        v->tokens[i].score = scores ? (float)og_gguf_arr_f64(scores, (uint64_t)i) : 0.0f;
        if (types) {
            int64_t t = og_gguf_arr_i64(types, (uint64_t)i);
            if (t < OG_TT_UNDEFINED || t > OG_TT_BYTE)
                return og_error_set(err, OG_ERR_FORMAT, "tokenizer: token %d has invalid type %lld",
                                    i, (long long)t);
            v->tokens[i].attr = attr_of_type(t);
        } else {
            v->tokens[i].attr = OG_ATTR_NORMAL;
        }
    }

    /* llama.cpp's defaults per tokenizer model */
    v->bos = v->eos = v->eot = v->eom = v->unk = v->sep = v->pad = v->mask = -1;
    v->pre = OG_PRE_DEFAULT;
    og_str pre = { "", 0 };
    og_gguf_get_str(g, KEY("pre"), &pre);
    switch (v->kind) {
    case OG_VOCAB_SPM:
        v->bos = 1, v->eos = 2, v->unk = 0;
        v->add_space_prefix = true, v->add_bos = true;
        break;
    case OG_VOCAB_BPE: {
        v->bos = 11, v->eos = 11;
        bool known = true;
        if (pre.len)
            v->pre = og_bpe_pre_from_name(pre.ptr, pre.len, &known);
        /* An unknown pre-tokenizer fails in llama.cpp; the GPT-2 default
         * regexes are the most common behaviour, so fall back to them. */
        if (v->pre == OG_PRE_LLAMA3) {
            v->ignore_merges = true;
            v->add_bos = true;
        }
        break;
    }
    case OG_VOCAB_WPM:
        v->bos = 101, v->unk = 100, v->sep = 102, v->pad = 0, v->mask = 103;
        v->add_bos = true; /* CLS ... SEP are always added with add_special */
        break;
    }
    int32_t n = v->n_tokens;
    if (v->kind == OG_VOCAB_WPM)
        read_id(g, KEY("cls_token_id"), n, &v->bos); /* BERT's CLS plays BOS */
    read_id(g, KEY("bos_token_id"), n, &v->bos);
    read_id(g, KEY("eos_token_id"), n, &v->eos);
    read_id(g, KEY("eot_token_id"), n, &v->eot);
    read_id(g, KEY("eom_token_id"), n, &v->eom);
    read_id(g, KEY("unknown_token_id"), n, &v->unk);
    read_id(g, KEY("seperator_token_id"), n, &v->sep); /* sic, as written by converters */
    read_id(g, KEY("padding_token_id"), n, &v->pad);
    read_id(g, KEY("mask_token_id"), n, &v->mask);
    read_flag(g, KEY("add_space_prefix"), &v->add_space_prefix);
    read_flag(g, KEY("add_bos_token"), &v->add_bos);
    read_flag(g, KEY("add_eos_token"), &v->add_eos);

    og_str name = { "", 0 };
    og_gguf_get_str(g, "general.name", &name);
    if (!og_vocab_build_special(v, name.ptr, name.len))
        return og_error_set(err, OG_ERR_NOMEM, "tokenizer: out of memory");
    return OG_OK;
}

og_status og_vocab_load(const og_gguf *g, og_vocab **out, og_error *err)
{
    if (!g || !out)
        return og_error_set(err, OG_ERR_ARG, "og_vocab_load: NULL argument");
    *out = NULL;
    og_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return og_error_set(err, OG_ERR_NOMEM, "tokenizer: out of memory");
    og_status st = load(v, g, err);
    if (st != OG_OK) {
        og_vocab_free(v);
        return st;
    }
    *out = v;
    return OG_OK;
}

void og_vocab_free(og_vocab *v)
{
    if (!v)
        return;
    og_hashmap_free(&v->piece_to_id);
    og_hashmap_free(&v->merge_rank);
    free(v->tokens);
    free(v->arena);
    free(v->eog);
    free(v->special);
    free(v);
}

int32_t og_vocab_n_tokens(const og_vocab *v) { return v ? v->n_tokens : 0; }
og_token og_vocab_bos(const og_vocab *v) { return v ? v->bos : -1; }
og_token og_vocab_eos(const og_vocab *v) { return v ? v->eos : -1; }
og_token og_vocab_eot(const og_vocab *v) { return v ? v->eot : -1; }
og_token og_vocab_sep(const og_vocab *v) { return v ? v->sep : -1; }
bool og_vocab_wants_bos(const og_vocab *v) { return v && v->add_bos && v->bos >= 0; }

bool og_vocab_is_eog(const og_vocab *v, og_token t)
{
    if (!v)
        return false;
    int32_t lo = 0, hi = v->n_eog;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (v->eog[mid] == t)
            return true;
        if (v->eog[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

const char *og_vocab_model_name(const og_vocab *v)
{
    if (!v)
        return "";
    switch (v->kind) {
    case OG_VOCAB_SPM: return "llama";
    case OG_VOCAB_BPE: return "gpt2";
    case OG_VOCAB_WPM: return "bert";
    }
    return "";
}

og_token og_vocab_find(const og_vocab *v, const char *piece, size_t len)
{
    if (!v || (!piece && len))
        return -1;
    return (og_token)og_hashmap_get(&v->piece_to_id, piece ? piece : "", len);
}
