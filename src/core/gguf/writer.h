/*
 * writer.h - building GGUF v3 files: metadata, then tensors, then one
 * write. Used by tests, synthetic benchmark models and conversion.
 */
#ifndef OG_GGUF_WRITER_H
#define OG_GGUF_WRITER_H

#include "gguf/gguf.h"

typedef struct og_gguf_writer og_gguf_writer;

og_status og_gguf_writer_new(og_gguf_writer **out, og_error *err);
void og_gguf_writer_free(og_gguf_writer *w);

/* Adding: each add copies its arguments and returns nothing. The first
 * failure (OG_ERR_NOMEM, or OG_ERR_ARG for a bad argument) is recorded
 * with a message naming the key or tensor; after it every add does
 * nothing, and og_gguf_writer_status, _to_memory and _to_file report it.
 * So a caller adds everything, then checks once. */
void og_gguf_writer_u32(og_gguf_writer *w, const char *key, uint32_t v);
void og_gguf_writer_f32(og_gguf_writer *w, const char *key, float v);
void og_gguf_writer_bool(og_gguf_writer *w, const char *key, bool v);
void og_gguf_writer_str(og_gguf_writer *w, const char *key, const char *v);
/* An array of n elements of a fixed-size type (not STRING or ARRAY). */
void og_gguf_writer_arr(og_gguf_writer *w, const char *key, og_gguf_vtype elem, const void *data, uint64_t n);
void og_gguf_writer_arr_str(og_gguf_writer *w, const char *key, const char *const *strs, uint64_t n);

/* ne[0] is the row length; data holds og_type_row_bytes(type, ne[0]) *
 * ne[1] * ne[2] * ne[3] bytes and is copied. n_dims must be 1..4. */
void og_gguf_writer_tensor(og_gguf_writer *w, const char *name, og_type type, int n_dims, const int64_t *ne,
                           const void *data);

/* Copies one key-value pair of an open file as it is (any type). */
void og_gguf_writer_copy_kv(og_gguf_writer *w, const og_gguf_kv *kv);

/* Copies one tensor of an open file, name, shape and data. */
void og_gguf_writer_copy_tensor(og_gguf_writer *w, const og_gguf_tensor *t);

/* Copies every key of g except skip_key (NULL: none) and
 * general.alignment (the writer's own is 32), and every tensor
 * (their data too: the writer holds the whole model in memory). For
 * editing a model's metadata: add or change keys, then write. */
void og_gguf_writer_copy_file(og_gguf_writer *w, const og_gguf *g, const char *skip_key);

/* OG_OK, or the first failure of the adds so far (with its message), for
 * a caller that wants to stop early. */
og_status og_gguf_writer_status(const og_gguf_writer *w, og_error *err);

/* Serializes to a malloc'd buffer the caller frees (first reporting any
 * failure recorded while adding). */
og_status og_gguf_writer_to_memory(og_gguf_writer *w, uint8_t **out, size_t *size, og_error *err);

/* Writes path atomically: a temporary file beside it, fsync, rename
 * (first reporting any failure recorded while adding). */
og_status og_gguf_writer_to_file(og_gguf_writer *w, const char *path, og_error *err);

#endif
