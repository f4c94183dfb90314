/*
 * containers.c - the small data structures the tokenizers share: the
 * string -> id hash map (pieces, merges), a growable token list and the
 * max-heap of candidate merges.
 */
#include "tokenizer/vocab_internal.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

bool og_vocab_map_init(og_strmap *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 + 1) /* load factor <= 0.5 keeps probes short */
        cap <<= 1;
    m->slots = calloc(cap, sizeof *m->slots);
    m->cap = m->slots ? cap : 0;
    m->count = 0;
    return m->slots != NULL;
}

void og_vocab_map_free(og_strmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

static og_strmap_slot *find_slot(const og_strmap *m, const char *key, size_t len, uint32_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        og_strmap_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

void og_vocab_map_put(og_strmap *m, const char *key, size_t len, int32_t val)
{
    /* Callers size the map for all their keys at init, so it never fills. */
    if (!m->cap || m->count * 2 >= m->cap)
        return;
    uint32_t h = hash_bytes(key, len);
    og_strmap_slot *s = find_slot(m, key, len, h);
    if (!s->key) {
        s->key = key;
        s->len = (uint32_t)len;
        s->hash = h;
        m->count++;
    }
    s->val = val;
}

int32_t og_vocab_map_get(const og_strmap *m, const char *key, size_t len)
{
    if (!m->cap || len > UINT32_MAX)
        return -1;
    const og_strmap_slot *s = find_slot(m, key, len, hash_bytes(key, len));
    return s->key ? s->val : -1;
}

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
