/*
 * gguf.h - a bounds-checked, memory-mapped reader of GGUF v2/v3 files.
 *
 * og_gguf_open maps the file read-only and validates the whole header,
 * the metadata and the tensor table before returning. Strings and tensor
 * data point into the mapping (zero copy) and live until og_gguf_close.
 */
#ifndef OG_GGUF_GGUF_H
#define OG_GGUF_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offgrid.h"
#include "tensor/types.h"

typedef enum og_gguf_vtype {
    OG_GGUF_U8 = 0, OG_GGUF_I8 = 1, OG_GGUF_U16 = 2, OG_GGUF_I16 = 3,
    OG_GGUF_U32 = 4, OG_GGUF_I32 = 5, OG_GGUF_F32 = 6, OG_GGUF_BOOL = 7,
    OG_GGUF_STRING = 8, OG_GGUF_ARRAY = 9, OG_GGUF_U64 = 10, OG_GGUF_I64 = 11,
    OG_GGUF_F64 = 12
} og_gguf_vtype;

/* A length-delimited string inside the mapping; not NUL-terminated. */
typedef struct og_str {
    const char *ptr;
    size_t len;
} og_str;

typedef struct og_gguf_kv {
    og_str key;
    og_gguf_vtype type;      /* OG_GGUF_ARRAY for arrays */
    og_gguf_vtype elem_type; /* element type of an array, else == type */
    uint64_t n;              /* array length; 1 for a scalar */
    const uint8_t *data;     /* the scalar, or the first element (unaligned) */
    const og_str *strs;      /* string values (n of them) when elem_type is STRING */
} og_gguf_kv;

#define OG_GGUF_MAX_DIMS 4

typedef struct og_gguf_tensor {
    og_str name;
    int n_dims;
    int64_t ne[OG_GGUF_MAX_DIMS]; /* ne[0] is the contiguous (row) length; unused dims are 1 */
    og_type type;
    uint64_t offset;              /* from the start of the data section */
    size_t n_bytes;
    const void *data;             /* inside the mapping, aligned as the file says */
} og_gguf_tensor;

typedef struct og_gguf og_gguf;

/* Opens and validates path into *out (NULL on failure). OG_ERR_IO when the
 * file cannot be mapped, OG_ERR_FORMAT (naming the field and file offset
 * that were wrong) when it is not a valid GGUF, OG_ERR_NOMEM. Time and
 * memory are linear in the file's size, whatever its counts claim. Close
 * with og_gguf_close. */
og_status og_gguf_open(const char *path, og_gguf **out, og_error *err);
/* The same over a caller-owned buffer (which must outlive the handle);
 * used by the fuzz target and tests. */
og_status og_gguf_open_memory(const void *buf, size_t size, og_gguf **out, og_error *err);
void og_gguf_close(og_gguf *g);

uint32_t og_gguf_version(const og_gguf *g);
size_t og_gguf_file_size(const og_gguf *g);
/* Drops the resident pages of a range of the mapping that the caller no
 * longer reads (it stays valid: a later read faults it in again). */
void og_gguf_release(const og_gguf *g, const void *data, size_t n_bytes);
size_t og_gguf_alignment(const og_gguf *g);

int64_t og_gguf_n_kv(const og_gguf *g);
const og_gguf_kv *og_gguf_kv_at(const og_gguf *g, int64_t i);
/* Lookups by name take constant time (hash maps built while opening). */
const og_gguf_kv *og_gguf_find(const og_gguf *g, const char *key);

/* Typed getters: return false when the key is missing or its type does
 * not convert exactly (integers must fit; floats accept F32 and F64). */
bool og_gguf_get_u32(const og_gguf *g, const char *key, uint32_t *out);
bool og_gguf_get_i64(const og_gguf *g, const char *key, int64_t *out);
bool og_gguf_get_f32(const og_gguf *g, const char *key, float *out);
bool og_gguf_get_bool(const og_gguf *g, const char *key, bool *out);
bool og_gguf_get_str(const og_gguf *g, const char *key, og_str *out);
/* An array of the given element type, or NULL. */
const og_gguf_kv *og_gguf_get_arr(const og_gguf *g, const char *key, og_gguf_vtype elem_type);

/* Element i of a numeric array converted to double / int64 (bounds-checked
 * by the caller against kv->n); floats convert to int64 truncated and
 * saturated, NaN to 0. */
double og_gguf_arr_f64(const og_gguf_kv *kv, uint64_t i);
int64_t og_gguf_arr_i64(const og_gguf_kv *kv, uint64_t i);

int64_t og_gguf_n_tensors(const og_gguf *g);
const og_gguf_tensor *og_gguf_tensor_at(const og_gguf *g, int64_t i);
const og_gguf_tensor *og_gguf_find_tensor(const og_gguf *g, const char *name);

/* Bytes of one value of a fixed-size type; 0 for STRING, ARRAY and
 * unknown types. */
size_t og_gguf_vtype_size(og_gguf_vtype t);

/* Compares an og_str with a NUL-terminated string. */
bool og_str_eq(og_str s, const char *cstr);

#endif
