/*
 * wpm.c - WordPiece ("bert" vocabularies), after llama.cpp's
 * llm_tokenizer_wpm: text is decomposed (first codepoint of NFD, which
 * strips accents), lowercased and split at whitespace, punctuation and
 * CJK characters; each word, prefixed with U+2581 as the GGUF vocab spells
 * word starts, is covered greedily by the longest pieces, or becomes
 * [UNK] when it cannot be.
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

/* Greedy longest-match of word[0..n) (which starts with the phantom
 * space); the whole word becomes [UNK] if some position has no piece. */
static bool match_word(const og_vocab *v, const char *word, size_t n, og_toks *out)
{
    if (n <= PHANTOM_LEN)
        return true; /* empty words are skipped */
    size_t mark = out->n;
    for (size_t i = 0; i < n; i++) {
        size_t hi = i + (size_t)v->max_token_len + 1;
        if (hi > n)
            hi = n;
        bool found = false;
        for (size_t j = hi; j > i; j--) {
            og_token id = og_vocab_map_get(&v->piece_to_id, word + i, j - i);
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

bool og_wpm_tokenize(const og_vocab *v, const char *text, size_t len, og_toks *out)
{
    size_t n = 0;
    uint32_t *cpts = og_vocab_utf8_decode(text, len, &n);
    /* Lowercasing can lengthen a UTF-8 sequence; 4 bytes per codepoint
     * always suffice. */
    char *word = malloc(PHANTOM_LEN + n * 4 + 1);
    bool ok = cpts && word;
    size_t wl = PHANTOM_LEN;
    if (word)
        memcpy(word, PHANTOM, PHANTOM_LEN);

    for (size_t i = 0; ok && i < n; i++) {
        uint32_t cpt = og_vocab_cpt_nfd_first(cpts[i]);
        uint32_t f = og_vocab_cpt_flags(cpt);
        if (f & OG_CPT_WHITESPACE) {
            ok = match_word(v, word, wl, out);
            wl = PHANTOM_LEN;
            continue;
        }
        if (cpt == 0 || cpt == 0xfffd || (f & OG_CPT_CONTROL))
            continue;
        char u8[4];
        size_t nb = og_vocab_utf8_encode(og_vocab_cpt_tolower(cpt), u8);
        if ((f & OG_CPT_PUNCTUATION) || (cpt < 0x7f && (f & OG_CPT_SYMBOL)) || is_chinese_char(cpt)) {
            /* a word of its own */
            ok = match_word(v, word, wl, out);
            memcpy(word + PHANTOM_LEN, u8, nb);
            ok = ok && match_word(v, word, PHANTOM_LEN + nb, out);
            wl = PHANTOM_LEN;
        } else {
            memcpy(word + wl, u8, nb);
            wl += nb;
        }
    }
    ok = ok && match_word(v, word, wl, out);
    free(word);
    free(cpts);
    return ok;
}
