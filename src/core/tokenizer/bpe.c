/*
 * bpe.c - byte-level BPE ("gpt2" vocabularies), after llama.cpp's
 * llm_tokenizer_bpe: each pre-tokenizer word is mapped through GPT-2's
 * byte -> unicode table, split into characters and merged lowest merge
 * rank first; a leftover symbol that is not a piece is emitted byte by
 * byte where those single bytes are pieces.
 */
#include "tokenizer/vocab_internal.h"

#include <stdlib.h>
#include <string.h>

/* Queues the merge of symbols left and right when the pair is in the
 * merges list. key is scratch space for "left\0right". */
static bool add_bigram(const og_vocab *v, const og_symbol *sym, og_heap *heap, char *key,
                       int left, int right)
{
    if (left < 0 || right < 0)
        return true;
    const og_symbol *l = &sym[left], *r = &sym[right];
    memcpy(key, l->text, l->n);
    key[l->n] = '\0';
    memcpy(key + l->n + 1, r->text, r->n);
    int32_t rank = (int32_t)og_hashmap_get(&v->merge_rank, key, (size_t)l->n + 1 + r->n);
    if (rank < 0)
        return true;
    og_bigram b = { -(double)rank, left, right, l->n + r->n };
    return og_vocab_heap_push(heap, b);
}

/* Merges one byte-mapped word and appends its tokens. */
static bool merge_word(const og_vocab *v, const char *w, size_t len, og_symbol *sym,
                       og_heap *heap, char *key, og_toks *out)
{
    if (v->ignore_merges) {
        og_token id = (og_token)og_hashmap_get(&v->piece_to_id, w, len);
        if (id >= 0)
            return og_vocab_toks_push(out, id);
    }
    int n_sym = 0;
    for (size_t off = 0; off < len; n_sym++) {
        size_t n = og_vocab_utf8_len((unsigned char)w[off]);
        if (n > len - off)
            n = len - off;
        sym[n_sym] = (og_symbol){ n_sym - 1, 0, w + off, (uint32_t)n };
        off += n;
        sym[n_sym].next = off == len ? -1 : n_sym + 1;
    }
    heap->n = 0;
    bool ok = true;
    for (int i = 1; ok && i < n_sym; i++)
        ok = add_bigram(v, sym, heap, key, i - 1, i);

    og_bigram b;
    while (ok && og_vocab_heap_pop(heap, &b)) {
        og_symbol *l = &sym[b.left], *r = &sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
            continue; /* stale: one side has merged since */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = b.left;
        ok = add_bigram(v, sym, heap, key, l->prev, b.left) &&
             add_bigram(v, sym, heap, key, b.left, l->next);
    }
    for (int i = 0; ok && i < n_sym; i++) {
        if (sym[i].n == 0)
            continue;
        og_token id = (og_token)og_hashmap_get(&v->piece_to_id, sym[i].text, sym[i].n);
        if (id >= 0) {
            ok = og_vocab_toks_push(out, id);
            continue;
        }
        for (uint32_t j = 0; ok && j < sym[i].n; j++) {
            og_token bt = (og_token)og_hashmap_get(&v->piece_to_id, sym[i].text + j, 1);
            if (bt >= 0)
                ok = og_vocab_toks_push(out, bt);
        }
    }
    return ok;
}

bool og_bpe_tokenize(const og_vocab *v, const char *text, size_t len, og_toks *out)
{
    uint32_t *cpts = NULL;
    size_t *offs = NULL, n_cpts = 0, n_offs = 0;
    if (!og_bpe_pretokenize(v->pre, text, len, &cpts, &n_cpts, &offs, &n_offs))
        return false;

    size_t longest = 0;
    for (size_t i = 0; i < n_offs; i++)
        if (offs[i] > longest)
            longest = offs[i];
    /* A codepoint is <= 4 bytes, each mapped to <= 2 bytes. */
    size_t wcap = longest * 8 + 1;
    char *word = malloc(wcap);
    char *key = malloc(wcap + 1);
    og_symbol *sym = malloc(wcap * sizeof *sym);
    og_heap heap = { 0 };
    bool ok = word && key && sym;

    size_t start = 0;
    for (size_t w = 0; ok && w < n_offs; w++) {
        size_t wl = 0;
        for (size_t i = start; i < start + offs[w]; i++) {
            char u8[4];
            size_t nb = og_vocab_utf8_encode(cpts[i], u8);
            for (size_t k = 0; k < nb; k++)
                wl += og_vocab_byte_to_utf8((uint8_t)u8[k], word + wl);
        }
        start += offs[w];
        ok = merge_word(v, word, wl, sym, &heap, key, out);
    }
    free(heap.v);
    free(sym);
    free(key);
    free(word);
    free(cpts);
    free(offs);
    return ok;
}
