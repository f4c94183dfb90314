/*
 * containers.c - the small data structures the tokenizers share: a
 * growable token list and the max-heap of candidate merges (the string
 * maps are base/hashmap.c).
 */
#include "tokenizer/vocab_internal.h"

#include <stdlib.h>
#include <string.h>

bool og_vocab_toks_push(og_toks *t, og_token id)
{
    if (t->oom)
        return false;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        og_token *p = realloc(t->ids, cap * sizeof *p);
        if (!p) {
            t->oom = true;
            return false;
        }
        t->ids = p;
        t->cap = cap;
    }
    t->ids[t->n++] = id;
    return true;
}

static bool before(const og_bigram *a, const og_bigram *b)
{
    return a->prio > b->prio || (a->prio == b->prio && a->left < b->left);
}

bool og_vocab_heap_push(og_heap *h, og_bigram b)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        og_bigram *p = realloc(h->v, cap * sizeof *p);
        if (!p)
            return false;
        h->v = p;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&b, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = b;
    return true;
}

bool og_vocab_heap_pop(og_heap *h, og_bigram *out)
{
    if (!h->n)
        return false;
    *out = h->v[0];
    og_bigram last = h->v[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n)
        h->v[i] = last;
    return true;
}
