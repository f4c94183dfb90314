/*
 * pack_cache.h - repacked weights kept in a file between loads (see
 * pack_cache.c). Private to the model module.
 */
#ifndef OG_MODEL_PACK_CACHE_H
#define OG_MODEL_PACK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct og_pack_mapping {
    void *base;     /* the whole mapping: munmap(base, bytes) */
    size_t bytes;
    const uint8_t *data; /* the packed bytes inside it */
} og_pack_mapping;

/* FNV-1a over n bytes, continuing from h (start with 0xcbf29ce484222325):
 * the layout fingerprint is built with it. */
uint64_t og_pack_cache_hash(uint64_t h, const void *data, size_t n);

/* Maps the cached packing of src_path for this layout, if dir holds one
 * that matches the file as it is now; false on a miss. */
bool og_pack_cache_map(const char *dir, const char *src_path, uint64_t layout_hash, size_t data_bytes,
                       og_pack_mapping *out);

/* Writes a packing to dir (created if needed), atomically; false if it
 * could not, which callers may ignore. */
bool og_pack_cache_store(const char *dir, const char *src_path, uint64_t layout_hash, const void *data,
                         size_t data_bytes);

#endif
