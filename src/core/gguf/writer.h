/*
 * writer.h - building GGUF v3 files: metadata, then tensors, then one
 * write. Used by tests, synthetic benchmark models and conversion.
 */
#ifndef OG_GGUF_WRITER_H
#define OG_GGUF_WRITER_H

#include "gguf/gguf.h"

typedef struct og_gguf_writer og_gguf_writer;

og_gguf_writer *og_gguf_writer_new(void);
void og_gguf_writer_free(og_gguf_writer *w);

/* Each add copies its arguments. They return false on allocation failure,
 * after which the writer only refuses further work. */
bool og_gguf_writer_u32(og_gguf_writer *w, const char *key, uint32_t v);
bool og_gguf_writer_f32(og_gguf_writer *w, const char *key, float v);
bool og_gguf_writer_bool(og_gguf_writer *w, const char *key, bool v);
bool og_gguf_writer_str(og_gguf_writer *w, const char *key, const char *v);
/* An array of n elements of a fixed-size type (not STRING or ARRAY). */
bool og_gguf_writer_arr(og_gguf_writer *w, const char *key, og_gguf_vtype elem, const void *data, uint64_t n);
bool og_gguf_writer_arr_str(og_gguf_writer *w, const char *key, const char *const *strs, uint64_t n);

/* ne[0] is the row length; data holds og_type_row_bytes(type, ne[0]) *
 * ne[1] * ne[2] * ne[3] bytes and is copied. */
bool og_gguf_writer_tensor(og_gguf_writer *w, const char *name, og_type type, int n_dims, const int64_t *ne,
                           const void *data);

/* Copies one key-value pair of an open file as it is (any type). */
bool og_gguf_writer_copy_kv(og_gguf_writer *w, const og_gguf_kv *kv);

/* Copies one tensor of an open file, name, shape and data. */
og_status og_gguf_writer_copy_tensor(og_gguf_writer *w, const og_gguf_tensor *t, og_error *err);

/* Copies every key of g except skip_key (NULL: none) and
 * general.alignment (the writer's own is 32), and every tensor
 * (their data too: the writer holds the whole model in memory). For
 * editing a model's metadata: add or change keys, then write. */
og_status og_gguf_writer_copy_file(og_gguf_writer *w, const og_gguf *g, const char *skip_key, og_error *err);

/* Serializes to a malloc'd buffer the caller frees. */
og_status og_gguf_writer_to_memory(og_gguf_writer *w, uint8_t **out, size_t *size, og_error *err);

/* Writes path atomically: a temporary file beside it, fsync, rename. */
og_status og_gguf_writer_to_file(og_gguf_writer *w, const char *path, og_error *err);

#endif
