/*
 * safetensors.c - reads .safetensors: an 8-byte little-endian header
 * length, a JSON header, then the raw tensor bytes.
 *
 * Nothing in the header is trusted: the length is checked against the
 * file, the JSON must be an object of tensor entries (plus an optional
 * __metadata__ object of strings), each entry's byte size must equal its
 * element count times the dtype size (with overflow checks), and the byte
 * ranges sorted by offset must tile the data section with no gap or
 * overlap. Errors name the tensor and the field. The handle owns the
 * mapping (or borrows the caller's buffer), the parsed JSON (which holds
 * the names) and the tensor table.
 */
#include "convert/safetensors.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "base/fp16.h"
#include "base/mapfile.h"

/* The reference implementation's limit; far above any real header. */
#define MAX_HEADER_LEN 100000000u

struct og_st_file {
    const uint8_t *base;
    size_t size;
    bool mapped;
    json_t *root; /* owns the tensor names and the metadata strings */
    og_st_tensor *tensors;
    size_t n_tensors;
};

static const struct {
    const char *name;
    size_t size;
} dtypes[OG_ST_DTYPE_COUNT] = {
    [OG_ST_BOOL] = { "BOOL", 1 }, [OG_ST_U8] = { "U8", 1 },     [OG_ST_I8] = { "I8", 1 },
    [OG_ST_U16] = { "U16", 2 },   [OG_ST_I16] = { "I16", 2 },   [OG_ST_F16] = { "F16", 2 },
    [OG_ST_BF16] = { "BF16", 2 }, [OG_ST_U32] = { "U32", 4 },   [OG_ST_I32] = { "I32", 4 },
    [OG_ST_F32] = { "F32", 4 },   [OG_ST_U64] = { "U64", 8 },   [OG_ST_I64] = { "I64", 8 },
    [OG_ST_F64] = { "F64", 8 },   [OG_ST_F8_E4M3] = { "F8_E4M3", 1 }, [OG_ST_F8_E5M2] = { "F8_E5M2", 1 },
};

const char *og_st_dtype_name(og_st_dtype dt)
{
    return (unsigned)dt < OG_ST_DTYPE_COUNT ? dtypes[dt].name : "unknown";
}

static og_status bad(og_error *err, const char *name, const char *what)
{
    return og_error_set(err, OG_ERR_FORMAT, "safetensors: tensor '%.200s': %s", name, what);
}

/* A JSON integer in [0, max], as uint64. */
static bool get_uint(const json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Parses one tensor entry; data_size is the length of the data section. */
static og_status parse_entry(const char *name, const json_t *v, const uint8_t *data, size_t data_size,
                             og_st_tensor *t, og_error *err)
{
    if (!*name)
        return bad(err, name, "empty tensor name");
    if (!json_is_object(v))
        return bad(err, name, "entry is not a JSON object");
    t->name = name;

    const json_t *dt = json_object_get(v, "dtype");
    if (!json_is_string(dt))
        return bad(err, name, "missing or non-string \"dtype\"");
    t->dtype = OG_ST_DTYPE_COUNT;
    for (int i = 0; i < OG_ST_DTYPE_COUNT; i++)
        if (!strcmp(json_string_value(dt), dtypes[i].name))
            t->dtype = (og_st_dtype)i;
    if (t->dtype == OG_ST_DTYPE_COUNT) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown dtype \"%.60s\"", json_string_value(dt));
        return bad(err, name, msg);
    }

    const json_t *shape = json_object_get(v, "shape");
    if (!json_is_array(shape))
        return bad(err, name, "missing or non-array \"shape\"");
    if (json_array_size(shape) > OG_ST_MAX_DIMS)
        return bad(err, name, "\"shape\" has more than 8 dimensions");
    t->n_dims = (int)json_array_size(shape);
    uint64_t n_el = 1;
    bool overflow = false;
    for (int d = 0; d < t->n_dims; d++) {
        uint64_t dim;
        if (!get_uint(json_array_get(shape, (size_t)d), INT64_MAX, &dim))
            return bad(err, name, "\"shape\" holds something other than a non-negative integer");
        t->shape[d] = (int64_t)dim;
        if (dim && n_el > UINT64_MAX / dim)
            overflow = true;
        n_el *= dim;
    }
    if (overflow || n_el > SIZE_MAX / dtypes[t->dtype].size)
        return bad(err, name, "\"shape\" has more elements than any file can hold");
    t->n_elements = n_el;

    const json_t *offs = json_object_get(v, "data_offsets");
    uint64_t begin, end;
    if (!json_is_array(offs) || json_array_size(offs) != 2)
        return bad(err, name, "\"data_offsets\" is not an array of two integers");
    if (!get_uint(json_array_get(offs, 0), data_size, &begin) || !get_uint(json_array_get(offs, 1), data_size, &end))
        return bad(err, name, "\"data_offsets\" is negative, not an integer, or past the end of the file");
    if (begin > end)
        return bad(err, name, "\"data_offsets\" begin is after end");
    if (end - begin != n_el * dtypes[t->dtype].size) {
        char msg[200];
        snprintf(msg, sizeof msg, "\"data_offsets\" span %llu bytes but shape and dtype %s need %llu",
                 (unsigned long long)(end - begin), dtypes[t->dtype].name,
                 (unsigned long long)(n_el * dtypes[t->dtype].size));
        return bad(err, name, msg);
    }
    t->data = data + begin;
    t->n_bytes = (size_t)(end - begin);
    return OG_OK;
}

static int by_offset(const void *a, const void *b)
{
    const og_st_tensor *x = a, *y = b;
    if (x->data != y->data)
        return (const uint8_t *)x->data < (const uint8_t *)y->data ? -1 : 1;
    return x->n_bytes < y->n_bytes ? -1 : x->n_bytes > y->n_bytes; /* empty tensors first */
}

/* The ranges, sorted, must cover [data, data + data_size) exactly once. */
static og_status check_tiling(og_st_file *f, const uint8_t *data, size_t data_size, og_error *err)
{
    qsort(f->tensors, f->n_tensors, sizeof *f->tensors, by_offset);
    const uint8_t *expect = data;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const og_st_tensor *t = &f->tensors[i];
        const uint8_t *p = t->data;
        if (p != expect) {
            char msg[200];
            snprintf(msg, sizeof msg, "data begins at byte %zu but the previous tensor ends at %zu (%s)",
                     (size_t)(p - data), (size_t)(expect - data), p < expect ? "overlap" : "gap");
            return bad(err, t->name, msg);
        }
        expect = p + t->n_bytes;
    }
    if (expect != data + data_size)
        return og_error_set(err, OG_ERR_FORMAT,
                            "safetensors: the tensors end at data byte %zu but the file has %zu data bytes",
                            (size_t)(expect - data), data_size);
    return OG_OK;
}

static og_status check_metadata(const json_t *meta, og_error *err)
{
    if (!json_is_object(meta))
        return og_error_set(err, OG_ERR_FORMAT, "safetensors: \"__metadata__\" is not a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)meta, k, v) {
        if (!json_is_string(v))
            return og_error_set(err, OG_ERR_FORMAT, "safetensors: \"__metadata__\" value '%.100s' is not a string", k);
    }
    return OG_OK;
}

static og_status parse(og_st_file *f, og_error *err)
{
    if (f->size < 8)
        return og_error_set(err, OG_ERR_FORMAT, "safetensors: truncated file (%zu bytes, the header length alone needs 8)",
                            f->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | f->base[i];
    if (hlen > MAX_HEADER_LEN)
        return og_error_set(err, OG_ERR_FORMAT, "safetensors: header length %llu is over the limit of %u bytes",
                            (unsigned long long)hlen, MAX_HEADER_LEN);
    if (hlen > f->size - 8)
        return og_error_set(err, OG_ERR_FORMAT, "safetensors: header length %llu runs past the end of the file (%zu bytes)",
                            (unsigned long long)hlen, f->size);
    if (hlen < 2 || f->base[8] != '{')
        return og_error_set(err, OG_ERR_FORMAT, "safetensors: the header does not start with a JSON object");
    json_error_t jerr;
    f->root = json_loadb((const char *)f->base + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!f->root)
        return og_error_set(err, OG_ERR_FORMAT, "safetensors: header JSON, byte %d: %s", jerr.position, jerr.text);
    if (!json_is_object(f->root))
        return og_error_set(err, OG_ERR_FORMAT, "safetensors: the header is not a JSON object");

    const uint8_t *data = f->base + 8 + hlen;
    size_t data_size = f->size - 8 - (size_t)hlen;
    size_t n = json_object_size(f->root);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    if (!f->tensors)
        return og_error_set(err, OG_ERR_NOMEM, "safetensors: out of memory for %zu tensors", n);
    const char *name;
    json_t *v;
    og_status st;
    json_object_foreach(f->root, name, v) {
        if (!strcmp(name, "__metadata__")) {
            if ((st = check_metadata(v, err)) != OG_OK)
                return st;
            continue;
        }
        if ((st = parse_entry(name, v, data, data_size, &f->tensors[f->n_tensors], err)) != OG_OK)
            return st;
        f->n_tensors++;
    }
    return check_tiling(f, data, data_size, err);
}

/* Validates buf into a new handle in *out; a mapped buffer becomes the
 * handle's only on success (the caller unmaps on failure). */
static og_status open_buffer(const void *buf, size_t size, bool mapped, og_st_file **out, og_error *err)
{
    *out = NULL;
    og_st_file *f = calloc(1, sizeof *f);
    if (!f)
        return og_error_set(err, OG_ERR_NOMEM, "safetensors: out of memory");
    f->base = buf;
    f->size = size;
    og_status st = parse(f, err);
    if (st != OG_OK) {
        og_st_close(f);
        return st;
    }
    f->mapped = mapped;
    *out = f;
    return OG_OK;
}

og_status og_st_open_memory(const void *buf, size_t size, og_st_file **out, og_error *err)
{
    return open_buffer(buf, size, false, out, err);
}

og_status og_st_open(const char *path, og_st_file **out, og_error *err)
{
    const void *map;
    size_t size;
    *out = NULL;
    og_status st = og_map_file(path, "a safetensors file", &map, &size, err);
    if (st != OG_OK)
        return st;
    if ((st = open_buffer(map, size, true, out, err)) != OG_OK) {
        og_unmap_file(map, size);
        og_error_prefix(err, "%s", path);
    }
    return st;
}

void og_st_close(og_st_file *f)
{
    if (!f)
        return;
    free(f->tensors);
    json_decref(f->root);
    if (f->mapped)
        og_unmap_file(f->base, f->size);
    free(f);
}

size_t og_st_n_tensors(const og_st_file *f) { return f->n_tensors; }

const og_st_tensor *og_st_tensor_at(const og_st_file *f, size_t i)
{
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const og_st_tensor *og_st_find(const og_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

const char *og_st_metadata(const og_st_file *f, const char *key)
{
    return json_string_value(json_object_get(json_object_get(f->root, "__metadata__"), key));
}

og_status og_st_read_f32(const og_st_tensor *t, uint64_t first, uint64_t n, float *out, og_error *err)
{
    if (first > t->n_elements || n > t->n_elements - first)
        return og_error_set(err, OG_ERR_ARG, "safetensors: tensor '%.200s': elements %llu..%llu out of range",
                            t->name, (unsigned long long)first, (unsigned long long)(first + n));
    const uint8_t *p = (const uint8_t *)t->data + first * dtypes[t->dtype].size;
    switch (t->dtype) {
    case OG_ST_F32:
        memcpy(out, p, (size_t)n * 4);
        return OG_OK;
    case OG_ST_F16:
    case OG_ST_BF16:
        for (uint64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2); /* the data may be unaligned */
            out[i] = t->dtype == OG_ST_F16 ? og_fp16_to_f32(h) : og_bf16_to_f32(h);
        }
        return OG_OK;
    default:
        return og_error_set(err, OG_ERR_UNSUPPORTED,
                            "safetensors: tensor '%.200s' has dtype %s; only F32, F16 and BF16 can be converted",
                            t->name, dtypes[t->dtype].name);
    }
}
