/*
 * st_write.h - writes small .safetensors files for the converter tests:
 * tensors are added one by one (F32 values stored as F32, F16 or BF16)
 * and the file is laid out as the format requires.
 */
#ifndef OG_TEST_ST_WRITE_H
#define OG_TEST_ST_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct st_writer st_writer;

st_writer *st_writer_new(void);
/* dtype is "F32", "F16" or "BF16"; shape in PyTorch order. */
bool st_writer_add(st_writer *w, const char *name, const char *dtype, int n_dims, const int64_t *shape,
                   const float *values);
bool st_writer_save(st_writer *w, const char *path);
void st_writer_free(st_writer *w);

/* Writes text to dir/name; returns false (and reports) on failure. */
bool st_write_text(const char *dir, const char *name, const char *text);

#endif
