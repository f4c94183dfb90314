/*
 * vocab_bpe.c - a byte-level BPE tokenizer (GPT-2 style) as llama.cpp's
 * converter writes it: tokenizer.ggml.model "gpt2", tokens and merges
 * from tokenizer.json, and a pre-tokenizer name offgrid and llama.cpp know.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "convert/hf_vocab.h"

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
    if (st == OG_OK) {
        og_gguf_writer_arr_str(cv->w, "tokenizer.ggml.merges", (const char *const *)m, n);
        st = og_gguf_writer_status(cv->w, cv->err);
    }
    for (size_t i = 0; m && i < n; i++)
        free(m[i]);
    free(m);
    return st;
}

og_status og_convert_vocab_bpe(og_cv *cv, int64_t n_vocab_config)
{
    og_tokfiles f = { 0 };
    og_toklist t = { 0 };
    og_status st = og_convert_tokfiles_load(cv, true, &f);
    const json_t *model = json_object_get(f.tokenizer, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    const char *pre = NULL;
    if (st == OG_OK && (!type || strcmp(type, "BPE") != 0))
        st = og_error_set(cv->err, OG_ERR_UNSUPPORTED, "tokenizer.json: model type '%s' is not supported (BPE is)",
                          type ? type : "(none)");
    if (st == OG_OK && json_is_true(json_object_get(model, "byte_fallback")))
        st = og_error_set(cv->err, OG_ERR_UNSUPPORTED,
                          "tokenizer.json: a SentencePiece-style BPE (byte_fallback) needs the folder's "
                          "tokenizer.model, which is missing");
    if (st == OG_OK && !(pre = bpe_pre_name(json_object_get(f.tokenizer, "pre_tokenizer"))))
        st = og_error_set(cv->err, OG_ERR_UNSUPPORTED,
                          "tokenizer.json: unknown pre_tokenizer (known: ByteLevel as gpt-2, Digits+ByteLevel as "
                          "smollm, the Llama 3 and Qwen2 Split regexes)");
    if (st == OG_OK && !json_is_object(json_object_get(model, "vocab")))
        st = og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: model.vocab is not an object");
    if (st == OG_OK && !json_is_array(json_object_get(model, "merges")))
        st = og_error_set(cv->err, OG_ERR_FORMAT, "tokenizer.json: model.merges is not a list");
    if (st == OG_OK)
        st = og_convert_tok_from_object(cv, json_object_get(model, "vocab"), n_vocab_config, &t);
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
        st = og_convert_tok_added(cv, f.tokenizer, &t);
    if (st == OG_OK)
        st = og_convert_tok_fill_holes(cv, &t);
    int64_t ids[OG_CV_N_SPECIALS];
    if (st == OG_OK) {
        og_convert_tok_specials(cv, &f, &t, ids);
        st = og_convert_tok_write(cv, "gpt2", pre, &t);
    }
    if (st == OG_OK)
        st = write_merges(cv, json_object_get(model, "merges"));
    if (st == OG_OK)
        st = og_convert_tok_write_specials(cv, &f, ids);
    og_convert_tok_free(&t);
    og_convert_tokfiles_free(&f);
    return st;
}
