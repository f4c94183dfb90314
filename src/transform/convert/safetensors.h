/*
 * safetensors.h - a bounds-checked, memory-mapped reader of Hugging Face
 * .safetensors files.
 *
 * og_st_open maps the file and validates the whole header before
 * returning: every tensor's dtype, shape and byte range is checked against
 * the file, and the ranges must tile the data section exactly (as the
 * reference implementation requires). Names and data point into memory the
 * handle owns; they live until og_st_close.
 */
#ifndef OG_CONVERT_SAFETENSORS_H
#define OG_CONVERT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "offgrid.h"

#define OG_ST_MAX_DIMS 8

typedef enum og_st_dtype {
    OG_ST_BOOL, OG_ST_U8, OG_ST_I8, OG_ST_U16, OG_ST_I16, OG_ST_F16, OG_ST_BF16,
    OG_ST_U32, OG_ST_I32, OG_ST_F32, OG_ST_U64, OG_ST_I64, OG_ST_F64,
    OG_ST_F8_E4M3, OG_ST_F8_E5M2,
    OG_ST_DTYPE_COUNT
} og_st_dtype;

typedef struct og_st_tensor {
    const char *name;                /* NUL-terminated */
    og_st_dtype dtype;
    int n_dims;
    int64_t shape[OG_ST_MAX_DIMS];   /* PyTorch order: shape[n_dims-1] is contiguous */
    uint64_t n_elements;
    const void *data;                /* inside the mapping, possibly unaligned */
    size_t n_bytes;
} og_st_tensor;

typedef struct og_st_file og_st_file;

/* Opens and validates path into *out (NULL on failure). OG_ERR_IO when it
 * cannot be mapped, OG_ERR_FORMAT with a message naming the tensor or
 * field that was wrong, OG_ERR_NOMEM. */
og_status og_st_open(const char *path, og_st_file **out, og_error *err);
/* The same over a caller-owned buffer that must outlive the handle. */
og_status og_st_open_memory(const void *buf, size_t size, og_st_file **out, og_error *err);
void og_st_close(og_st_file *f);

/* Tensors in the order their data appears in the file. */
size_t og_st_n_tensors(const og_st_file *f);
const og_st_tensor *og_st_tensor_at(const og_st_file *f, size_t i);
const og_st_tensor *og_st_find(const og_st_file *f, const char *name);

/* A string of the optional __metadata__ object, or NULL. */
const char *og_st_metadata(const og_st_file *f, const char *key);

/* The dtype's name as the format spells it ("F32"). */
const char *og_st_dtype_name(og_st_dtype dt);

/* Converts elements [first, first + n) of a F32, F16 or BF16 tensor to
 * floats; other dtypes are OG_ERR_UNSUPPORTED, naming the tensor. */
og_status og_st_read_f32(const og_st_tensor *t, uint64_t first, uint64_t n, float *out, og_error *err);

#endif
