/*
 * vocab.h - inside the converter: the token list the tokenizer writers
 * build and the helpers they share (vocab.c).
 */
#ifndef OG_CONVERT_VOCAB_H
#define OG_CONVERT_VOCAB_H

#include "convert/convert.h"

/* GGUF token types (llama.cpp's llama_token_type) */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6 };

typedef struct og_toklist {
    char **text;   /* owned; NULL for ids nothing named yet */
    int32_t *type;
    float *score;  /* NULL unless the tokenizer has scores (SentencePiece) */
    int64_t n;
} og_toklist;

/* The folder's tokenizer files; any may be NULL. */
typedef struct og_tokfiles {
    json_t *tokenizer, *config, *special_map;
} og_tokfiles;

/* bos, eos, unk, sep, pad, cls, mask */
#define OG_CV_N_SPECIALS 7

og_status og_convert_tokfiles_load(og_cv *cv, bool need_tokenizer_json, og_tokfiles *f);
void og_convert_tokfiles_free(og_tokfiles *f);
og_status og_convert_tok_alloc(og_cv *cv, og_toklist *t, int64_t n);
void og_convert_tok_free(og_toklist *t);
/* Fills t from a {"token": id} object, padded to at least n_min tokens. */
og_status og_convert_tok_from_object(og_cv *cv, const json_t *vocab, int64_t n_min, og_toklist *t);
/* tokenizer.json's added_tokens: special ones CONTROL, others USER_DEFINED. */
og_status og_convert_tok_added(og_cv *cv, const json_t *tokenizer, og_toklist *t);
/* Ids nothing named become "[PAD<id>]", type UNUSED (score -10000). */
og_status og_convert_tok_fill_holes(og_cv *cv, og_toklist *t);
/* A "<name>_token" entry of a config: a string or {"content": string}. */
const char *og_convert_token_content(const json_t *obj, const char *key);
/* The id of a token text (added tokens first), or -1. */
int64_t og_convert_tok_find(const og_tokfiles *f, const og_toklist *t, const char *content);
/* Resolves the special ids (-1: unknown) before texts are respelled. */
void og_convert_tok_specials(const og_cv *cv, const og_tokfiles *f, const og_toklist *t,
                             int64_t ids[OG_CV_N_SPECIALS]);
/* Writes the special ids, add_bos/add_eos flags and chat template. */
og_status og_convert_tok_write_specials(og_cv *cv, const og_tokfiles *f, const int64_t ids[OG_CV_N_SPECIALS]);
/* Writes model, pre, tokens, scores (when t has them) and token types. */
og_status og_convert_tok_write(og_cv *cv, const char *model, const char *pre, const og_toklist *t);

#endif
