/*
 * wpm.c - WordPiece ("bert" vocabularies), as BERT's own tokenizer (the
 * Hugging Face BertNormalizer, BertPreTokenizer and WordPiece model)
 * cuts text: control characters dropped, CJK characters made words of
 * their own, each character decomposed (NFD) with its nonspacing marks
 * removed, lowercased, then split at whitespace and punctuation. Each
 * word, prefixed with U+2581 as the GGUF vocab spells word starts, is
 * covered greedily by the longest pieces, or becomes [UNK] when it cannot
 * be or has more than 100 characters.
 *
 * llama.cpp keeps only the first codepoint of each decomposition and has
 * no length limit, so it differs from BERT (and from offgrid) on text with
 * separate combining marks, Hangul and words over 100 characters.
 */
#include "tokenizer/vocab_internal.h"

#include <stdlib.h>
#include <string.h>

static bool is_chinese_char(uint32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
           (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

#define PHANTOM "\xe2\x96\x81"
#define PHANTOM_LEN 3
/* BERT's max_input_chars_per_word: longer words are [UNK] outright. */
#define MAX_WORD_CHARS 100

/* Greedy longest-match of word[0..n) (which starts with the phantom
 * space, then n_chars characters); the whole word becomes [UNK] if some
 * position has no piece. */
static bool match_word(const og_vocab *v, const char *word, size_t n, size_t n_chars, og_toks *out)
{
    if (n <= PHANTOM_LEN)
        return true; /* empty words are skipped */
    if (n_chars > MAX_WORD_CHARS)
        return v->unk < 0 || og_vocab_toks_push(out, v->unk);
    size_t mark = out->n;
    for (size_t i = 0; i < n; i++) {
        size_t hi = i + (size_t)v->max_token_len + 1;
        if (hi > n)
            hi = n;
        bool found = false;
        for (size_t j = hi; j > i; j--) {
            og_token id = (og_token)og_hashmap_get(&v->piece_to_id, word + i, j - i);
            if (id >= 0) {
                if (!og_vocab_toks_push(out, id))
                    return false;
                found = true;
                i = j - 1;
                break;
            }
        }
        if (!found) {
            out->n = mark;
            break;
        }
    }
    if (out->n == mark && v->unk >= 0)
        return og_vocab_toks_push(out, v->unk);
    return true;
}

/* The word being built: grows as needed (a decomposition can be longer
 * than the character it comes from). */
typedef struct word_buf {
    char *bytes;
    size_t len, cap, n_chars;
} word_buf;

static bool word_append(word_buf *w, uint32_t cpt)
{
    if (w->len + 4 > w->cap) {
        size_t cap = w->cap * 2 + 64;
        char *bytes = realloc(w->bytes, cap);
        if (!bytes)
            return false;
        w->bytes = bytes;
        w->cap = cap;
    }
    w->len += og_vocab_utf8_encode(cpt, w->bytes + w->len);
    w->n_chars++;
    return true;
}

static bool word_flush(const og_vocab *v, word_buf *w, og_toks *out)
{
    bool ok = match_word(v, w->bytes, w->len, w->n_chars, out);
    w->len = PHANTOM_LEN;
    w->n_chars = 0;
    return ok;
}

/* cpt as a word of its own, after the word before it. */
static bool lone_word(const og_vocab *v, word_buf *w, uint32_t cpt, og_toks *out)
{
    return word_flush(v, w, out) && word_append(w, cpt) && word_flush(v, w, out);
}

bool og_wpm_tokenize(const og_vocab *v, const char *text, size_t len, og_toks *out)
{
    size_t n = 0;
    uint32_t *cpts = og_vocab_utf8_decode(text, len, &n);
    word_buf w = { malloc(64), PHANTOM_LEN, 64, 0 };
    bool ok = cpts && w.bytes;
    if (w.bytes)
        memcpy(w.bytes, PHANTOM, PHANTOM_LEN);
    for (size_t i = 0; ok && i < n; i++) {
        const uint32_t cpt = cpts[i];
        const uint32_t f = og_vocab_cpt_flags(cpt);
        if (f & OG_CPT_WHITESPACE) {
            ok = word_flush(v, &w, out);
            continue;
        }
        if (cpt == 0 || cpt == 0xfffd || (f & OG_CPT_CONTROL))
            continue;
        uint32_t parts[OG_NFD_MAX];
        const size_t n_parts = og_vocab_cpt_strip_accents(cpt, parts);
        if (is_chinese_char(cpt)) {
            for (size_t k = 0; ok && k < n_parts; k++)
                ok = lone_word(v, &w, parts[k], out);
            continue;
        }
        for (size_t k = 0; ok && k < n_parts; k++) {
            const uint32_t pf = og_vocab_cpt_flags(parts[k]), lower = og_vocab_cpt_tolower(parts[k]);
            if ((pf & OG_CPT_PUNCTUATION) || (parts[k] < 0x7f && (pf & OG_CPT_SYMBOL)))
                ok = lone_word(v, &w, lower, out);
            else
                ok = word_append(&w, lower);
        }
    }
    ok = ok && word_flush(v, &w, out);
    free(w.bytes);
    free(cpts);
    return ok;
}
