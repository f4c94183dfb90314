/*
 * hashmap.c - the byte-string -> int64 map of hashmap.h: FNV-1a hashes,
 * linear probing in a power-of-two table of (hash, entry) slots kept at
 * most half full, so probes stay short and a lookup never loops; keys and
 * values sit in a dense entry array. The map owns its slot table and
 * entries, never its keys.
 */
#include "base/hashmap.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    /* FNV's low bits, which pick the slot, mix poorly for keys that differ
     * only in their last characters ("t1", "t2", ...); a finalizer
     * (MurmurHash3's) spreads every input bit over them. */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

og_status og_hashmap_init(og_hashmap *m, size_t max_keys, og_error *err)
{
    memset(m, 0, sizeof *m);
    if (max_keys >= UINT32_MAX / 2)
        return og_error_set(err, OG_ERR_NOMEM, "hash map: %zu keys is too many", max_keys);
    size_t cap = 16;
    while (cap < max_keys * 2 + 1) /* load factor <= 0.5 keeps probes short */
        cap <<= 1;
    m->slots = calloc(cap, sizeof *m->slots);
    m->entries = malloc((max_keys ? max_keys : 1) * sizeof *m->entries);
    if (!m->slots || !m->entries) {
        og_hashmap_free(m);
        return og_error_set(err, OG_ERR_NOMEM, "hash map: out of memory for %zu keys", max_keys);
    }
    m->cap = cap;
    m->max_keys = max_keys;
    return OG_OK;
}

void og_hashmap_free(og_hashmap *m)
{
    free(m->slots);
    free(m->entries);
    memset(m, 0, sizeof *m);
}

/* The slot holding key, or the empty slot where it would go. The table
 * always has an empty slot (it is at most half full), so this ends. */
static og_hashmap_slot *find_slot(const og_hashmap *m, const char *key, size_t len, uint32_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        og_hashmap_slot *s = &m->slots[i];
        if (!s->entry)
            return s;
        const og_hashmap_entry *e = &m->entries[s->entry - 1];
        if (s->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return s;
    }
}

/* Finds key's entry, adding one for it when it is new (its value then
 * OG_HASHMAP_ABSENT). */
static og_status claim(og_hashmap *m, const char *key, size_t len, og_hashmap_entry **out, og_error *err)
{
    if (len > UINT32_MAX)
        return og_error_set(err, OG_ERR_ARG, "hash map: a key of %zu bytes is too long", len);
    uint32_t h = hash_bytes(key, len);
    og_hashmap_slot *s = m->cap ? find_slot(m, key, len, h) : NULL;
    if (s && !s->entry) {
        if (m->count >= m->max_keys)
            s = NULL;
        else {
            m->entries[m->count] = (og_hashmap_entry){ key ? key : "", (uint32_t)len, h, OG_HASHMAP_ABSENT };
            *s = (og_hashmap_slot){ h, (uint32_t)++m->count };
        }
    }
    if (!s)
        return og_error_set(err, OG_ERR_ARG, "hash map: more keys than the %zu planned", m->max_keys);
    *out = &m->entries[s->entry - 1];
    return OG_OK;
}

og_status og_hashmap_set(og_hashmap *m, const char *key, size_t len, int64_t val, og_error *err)
{
    og_hashmap_entry *s = NULL;
    og_status st = claim(m, key, len, &s, err);
    if (st == OG_OK)
        s->val = val;
    return st;
}

og_status og_hashmap_add(og_hashmap *m, const char *key, size_t len, int64_t val, int64_t *existing,
                         og_error *err)
{
    og_hashmap_entry *s = NULL;
    og_status st = claim(m, key, len, &s, err);
    if (st != OG_OK)
        return st;
    *existing = s->val;
    if (s->val == OG_HASHMAP_ABSENT)
        s->val = val;
    return OG_OK;
}

int64_t og_hashmap_get(const og_hashmap *m, const char *key, size_t len)
{
    if (!m->cap || len > UINT32_MAX)
        return OG_HASHMAP_ABSENT;
    const og_hashmap_slot *s = find_slot(m, key, len, hash_bytes(key, len));
    return s->entry ? m->entries[s->entry - 1].val : OG_HASHMAP_ABSENT;
}
