/*
 * hashmap.h - an open-addressing map from byte strings to int64 values,
 * planned once: the owner says up front how many keys it will hold and
 * the map never grows. Keys are not copied: they point into memory the
 * owner keeps alive for the map's lifetime (a vocab's arena, a mapped
 * file). Values are non-negative (ids, indexes), so -1 means "absent".
 */
#ifndef OG_BASE_HASHMAP_H
#define OG_BASE_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#include "offgrid.h"

#define OG_HASHMAP_ABSENT ((int64_t)-1)

/* A key and its value, stored densely in insertion order. */
typedef struct og_hashmap_entry {
    const char *key;
    uint32_t len;
    uint32_t hash;
    int64_t val;
} og_hashmap_entry;

/* The probed table holds only a key's hash and its entry's number, 8
 * bytes a slot: a million keys probe 16 MB rather than 48. */
typedef struct og_hashmap_slot {
    uint32_t hash;
    uint32_t entry; /* index into entries + 1; 0: empty */
} og_hashmap_slot;

typedef struct og_hashmap {
    og_hashmap_slot *slots;
    og_hashmap_entry *entries; /* max_keys of them */
    size_t cap;      /* slots: a power of two, more than twice max_keys */
    size_t count;
    size_t max_keys; /* what the owner planned for */
} og_hashmap;

/* Plans room for max_keys keys (0 is allowed). OG_ERR_NOMEM when the
 * table cannot be allocated; free with og_hashmap_free either way. */
og_status og_hashmap_init(og_hashmap *m, size_t max_keys, og_error *err);
void og_hashmap_free(og_hashmap *m);

/* Maps key to val, replacing any earlier value (the last write wins).
 * OG_ERR_ARG when key is new and the map already holds max_keys keys,
 * or when len does not fit in 32 bits. */
og_status og_hashmap_set(og_hashmap *m, const char *key, size_t len, int64_t val, og_error *err);

/* Maps key to val only if key is absent (the first write wins); *existing
 * gets OG_HASHMAP_ABSENT when val was added, else the value already there.
 * Errors as og_hashmap_set. */
og_status og_hashmap_add(og_hashmap *m, const char *key, size_t len, int64_t val, int64_t *existing,
                         og_error *err);

/* The value of key, or OG_HASHMAP_ABSENT. */
int64_t og_hashmap_get(const og_hashmap *m, const char *key, size_t len);

#endif
