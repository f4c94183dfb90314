/*
 * vocab_spm.c - a SentencePiece tokenizer (tokenizer.model) as llama.cpp's
 * converter writes it: tokenizer.ggml.model "llama", pre "default", the
 * pieces with their scores and types, then added_tokens.json and
 * tokenizer_config.json's added_tokens_decoder on top.
 *
 * tokenizer.model is a protobuf ModelProto; only what the vocabulary
 * needs is read (field 1: the pieces, each with piece = 1, score = 2,
 * type = 3), with a bounds-checked reader that skips every other field.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "base/mapfile.h"
#include "convert/hf_vocab.h"

/* SentencePiece's piece types (same numbers as GGUF's token types). */
enum { SP_NORMAL = 1, SP_UNKNOWN = 2, SP_CONTROL = 3, SP_USER_DEFINED = 4, SP_UNUSED = 5, SP_BYTE = 6 };

typedef struct pb {
    const uint8_t *p, *end;
} pb;

static bool pb_varint(pb *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Reads one field's key; for length-delimited fields *sub is its body. */
static bool pb_field(pb *r, uint32_t *field, uint32_t *wire, pb *sub, uint64_t *value)
{
    uint64_t key, len;
    if (!pb_varint(r, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX)
        return false;
    *field = (uint32_t)(key >> 3);
    *wire = (uint32_t)(key & 7);
    switch (*wire) {
    case 0:
        return pb_varint(r, value);
    case 1:
    case 5: {
        size_t n = *wire == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return false;
        *value = 0;
        memcpy(value, r->p, n); /* little-endian, as the hosts offgrid targets */
        r->p += n;
        return true;
    }
    case 2:
        if (!pb_varint(r, &len) || len > (uint64_t)(r->end - r->p))
            return false;
        sub->p = r->p;
        sub->end = r->p + len;
        r->p += len;
        return true;
    default:
        return false; /* groups (3, 4) are not used by SentencePiece */
    }
}

typedef struct piece {
    const uint8_t *text;
    size_t len;
    float score;
    int32_t type;
} piece;

static bool parse_piece(pb body, piece *out)
{
    *out = (piece){ (const uint8_t *)"", 0, 0.0f, SP_NORMAL };
    uint32_t field, wire;
    pb sub;
    uint64_t v;
    while (body.p < body.end) {
        if (!pb_field(&body, &field, &wire, &sub, &v))
            return false;
        if (field == 1 && wire == 2) {
            out->text = sub.p;
            out->len = (size_t)(sub.end - sub.p);
        } else if (field == 2 && wire == 5) {
            uint32_t bits = (uint32_t)v;
            memcpy(&out->score, &bits, 4);
        } else if (field == 3 && wire == 0) {
            out->type = (int32_t)v;
        }
    }
    return true;
}

/* The pieces of the model into t (sized max(n_min, pieces)). */
static og_status read_model(og_cv *cv, const char *path, const uint8_t *buf, size_t size, int64_t n_min,
                            og_toklist *t)
{
    pb r = { buf, buf + size }, sub;
    uint32_t field, wire;
    uint64_t v;
    int64_t n = 0;
    while (r.p < r.end) {
        if (!pb_field(&r, &field, &wire, &sub, &v))
            return og_error_set(cv->err, OG_ERR_FORMAT, "%s: malformed protobuf at byte %zu", path,
                                (size_t)(r.p - buf));
        n += field == 1 && wire == 2;
    }
    if (n == 0)
        return og_error_set(cv->err, OG_ERR_FORMAT, "%s: no pieces, not a SentencePiece model", path);
    if (n_min && n_min < n)
        return og_error_set(cv->err, OG_ERR_FORMAT, "%s has %lld pieces but config.json's vocab_size is %lld", path,
                            (long long)n, (long long)n_min);
    og_status st = og_convert_tok_alloc(cv, t, n > n_min ? n : n_min);
    if (st == OG_OK && !(t->score = calloc((size_t)t->n, sizeof *t->score)))
        st = og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
    r.p = buf;
    for (int64_t i = 0; st == OG_OK && r.p < r.end;) {
        pb_field(&r, &field, &wire, &sub, &v); /* validated above */
        if (field != 1 || wire != 2)
            continue;
        piece pc;
        if (!parse_piece(sub, &pc))
            return og_error_set(cv->err, OG_ERR_FORMAT, "%s: piece %lld is malformed", path, (long long)i);
        if (!(t->text[i] = malloc(pc.len + 1)))
            return og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
        memcpy(t->text[i], pc.text, pc.len);
        t->text[i][pc.len] = 0;
        if (strlen(t->text[i]) != pc.len)
            return og_error_set(cv->err, OG_ERR_FORMAT, "%s: piece %lld contains a NUL byte", path, (long long)i);
        t->score[i] = pc.score;
        /* llama.cpp keeps these four types and calls everything else NORMAL */
        t->type[i] = pc.type == SP_UNKNOWN || pc.type == SP_CONTROL || pc.type == SP_UNUSED || pc.type == SP_BYTE
                         ? pc.type
                         : TT_NORMAL;
        i++;
    }
    return st;
}

/* Replaces token id's text; the score and type follow llama.cpp. */
static og_status set_token(og_cv *cv, og_toklist *t, int64_t id, const char *text, int32_t type)
{
    char *copy = strdup(text);
    if (!copy)
        return og_error_set(cv->err, OG_ERR_NOMEM, "tokenizer: out of memory");
    free(t->text[id]);
    t->text[id] = copy;
    t->type[id] = type;
    t->score[id] = -1000.0f;
    return OG_OK;
}

/* added_tokens.json ({"text": id}, USER_DEFINED) and tokenizer_config.json's
 * added_tokens_decoder ({"id": {"content", "special"}}); out-of-range ids
 * are ignored, as llama.cpp does. */
static og_status apply_added(og_cv *cv, const og_tokfiles *f, og_toklist *t)
{
    json_t *added = NULL;
    og_status st = og_convert_json_load(cv->dir, "added_tokens.json", false, &added, cv->err);
    const char *text;
    json_t *v;
    json_object_foreach(added, text, v) {
        if (st != OG_OK)
            break;
        if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < t->n)
            st = set_token(cv, t, json_integer_value(v), text, TT_USER_DEFINED);
    }
    json_decref(added);
    const char *key;
    json_object_foreach(json_object_get(f->config, "added_tokens_decoder"), key, v) {
        if (st != OG_OK)
            break;
        char *end;
        long long id = strtoll(key, &end, 10);
        const char *content = json_string_value(json_object_get(v, "content"));
        if (*end || end == key || id < 0 || id >= t->n || !content)
            continue;
        bool special = json_is_true(json_object_get(v, "special"));
        if ((st = set_token(cv, t, id, content, special ? TT_CONTROL : TT_USER_DEFINED)) != OG_OK || special)
            continue;
        /* user-defined tokens spell spaces as spaces, not U+2581 */
        char *s = t->text[id], *w = s;
        for (const char *p = s; *p;) {
            if (!strncmp(p, "\xe2\x96\x81", 3)) {
                *w++ = ' ';
                p += 3;
            } else {
                *w++ = *p++;
            }
        }
        *w = 0;
    }
    return st;
}

og_status og_convert_vocab_spm(og_cv *cv, int64_t n_vocab_config)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.model", cv->dir);
    const void *buf;
    size_t size;
    og_status st = og_map_file(path, "a SentencePiece model", &buf, &size, cv->err);
    if (st != OG_OK)
        return st;
    og_tokfiles f = { 0 };
    og_toklist t = { 0 };
    st = read_model(cv, path, buf, size, n_vocab_config, &t);
    og_unmap_file(buf, size);
    if (st == OG_OK)
        st = og_convert_tokfiles_load(cv, false, &f);
    if (st == OG_OK)
        st = apply_added(cv, &f, &t);
    if (st == OG_OK)
        st = og_convert_tok_fill_holes(cv, &t);
    int64_t ids[OG_CV_N_SPECIALS];
    if (st == OG_OK) {
        og_convert_tok_specials(cv, &f, &t, ids);
        st = og_convert_tok_write(cv, "llama", "default", &t);
    }
    if (st == OG_OK)
        st = og_convert_tok_write_specials(cv, &f, ids);
    og_convert_tok_free(&t);
    og_convert_tokfiles_free(&f);
    return st;
}
