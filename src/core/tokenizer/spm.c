/*
 * spm.c - SentencePiece-style tokenization ("llama" vocabularies), after
 * llama.cpp's llm_tokenizer_spm: the text is split into UTF-8 characters,
 * adjacent pairs that form a vocabulary piece are merged best score first,
 * and whatever does not form a piece falls back to <0xXX> byte tokens.
 * Escaping spaces to U+2581 and the space prefix happen in the caller.
 */
#include "tokenizer/vocab_internal.h"

#include <stdlib.h>

og_token og_spm_byte_to_token(const og_vocab *v, uint8_t byte)
{
    static const char hex[] = "0123456789ABCDEF";
    const char buf[6] = { '<', '0', 'x', hex[byte >> 4], hex[byte & 15], '>' };
    og_token id = (og_token)og_hashmap_get(&v->piece_to_id, buf, 6);
    if (id >= 0)
        return id;
    /* Some vocabularies have the raw byte as a piece instead. */
    char one = (char)byte;
    id = (og_token)og_hashmap_get(&v->piece_to_id, &one, 1);
    return id >= 0 ? id : v->unk;
}

/* Queues the merge of symbols left and right if their concatenation is a
 * piece; its score decides the merge order. */
static bool try_add_bigram(const og_vocab *v, const og_symbol *sym, og_heap *heap, int left, int right)
{
    if (left < 0 || right < 0)
        return true;
    size_t size = (size_t)sym[left].n + sym[right].n;
    og_token id = (og_token)og_hashmap_get(&v->piece_to_id, sym[left].text, size);
    if (id < 0)
        return true;
    og_bigram b = { v->tokens[id].score, left, right, (uint32_t)size };
    return og_vocab_heap_push(heap, b);
}

bool og_spm_tokenize(const og_vocab *v, const char *text, size_t len, og_toks *out)
{
    if (len == 0)
        return true;
    og_symbol *sym = malloc(len * sizeof *sym);
    og_heap heap = { 0 };
    bool ok = sym != NULL;
    int n_sym = 0;

    for (size_t off = 0; ok && off < len; n_sym++) {
        size_t n = og_vocab_utf8_len((unsigned char)text[off]);
        if (n > len - off)
            n = len - off;
        sym[n_sym].text = text + off;
        sym[n_sym].n = (uint32_t)n;
        sym[n_sym].prev = n_sym - 1;
        off += n;
        sym[n_sym].next = off == len ? -1 : n_sym + 1;
    }
    for (int i = 1; ok && i < n_sym; i++)
        ok = try_add_bigram(v, sym, &heap, i - 1, i);

    og_bigram b;
    while (ok && og_vocab_heap_pop(&heap, &b)) {
        og_symbol *l = &sym[b.left], *r = &sym[b.right];
        /* A queued pair is stale once either side has changed length. */
        if (l->n == 0 || r->n == 0 || (size_t)l->n + r->n != b.size)
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = b.left;
        ok = try_add_bigram(v, sym, &heap, l->prev, b.left) &&
             try_add_bigram(v, sym, &heap, b.left, l->next);
    }

    /* Every merged symbol is a piece; single characters that are not fall
     * back to their bytes. */
    for (int i = 0; ok && i != -1 && n_sym > 0; i = sym[i].next) {
        og_token id = (og_token)og_hashmap_get(&v->piece_to_id, sym[i].text, sym[i].n);
        if (id >= 0) {
            ok = og_vocab_toks_push(out, id);
            continue;
        }
        for (uint32_t j = 0; ok && j < sym[i].n; j++) {
            og_token bt = og_spm_byte_to_token(v, (uint8_t)sym[i].text[j]);
            if (bt >= 0)
                ok = og_vocab_toks_push(out, bt);
        }
    }
    free(heap.v);
    free(sym);
    return ok;
}
