/*
 * gguf.c - reads GGUF v2/v3: header, metadata and tensor table.
 *
 * The file is mapped read-only and every count, length, offset and size is
 * checked against the bytes that remain before it is used, so a truncated
 * or hostile file gets an error naming the field and its offset. Counts
 * are bounded by the bytes that could hold them before anything is
 * allocated for them, and keys and tensor names go into hash maps as they
 * are read, so opening takes time and memory linear in the file's size.
 * The handle owns the mapping (or borrows the caller's buffer), the kv
 * and tensor tables, their name indexes and the string-array indexes.
 */
#include "gguf/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "offgrid.h"
#include "base/hashmap.h"
#include "base/mapfile.h"

/* Sane upper limits: far above any real model, far below what would let a
 * forged count drive a huge allocation. */
#define MAX_KV       (1 << 16)
#define MAX_TENSORS  (1 << 20)
#define MAX_NAME_LEN 4096
#define DEFAULT_ALIGNMENT 32
/* The fewest bytes one entry can take: a kv is a key length, a type and a
 * one-byte value; a tensor info is a name length, a dimension count, one
 * dimension, a type and an offset. */
#define MIN_KV_BYTES     (8 + 4 + 1)
#define MIN_TENSOR_BYTES (8 + 4 + 8 + 4 + 8)

struct og_gguf {
    const uint8_t *base;
    size_t size;
    bool mapped;
    uint32_t version;
    size_t alignment;
    int64_t n_kv, n_tensors;
    og_gguf_kv *kvs;
    og_gguf_tensor *tensors;
    og_hashmap kv_index;     /* key -> index into kvs */
    og_hashmap tensor_index; /* name -> index into tensors */
    size_t data_offset;
};

/* A cursor over the file with the error it reports. item, when not -1,
 * numbers the field ("tensor 7"): formatting it only on failure keeps a
 * million tensor infos from costing a million snprintf calls. */
typedef struct reader {
    const uint8_t *base;
    size_t size, pos;
    og_error *err;
    int64_t item;
} reader;

static og_status fail(reader *r, const char *field, const char *what)
{
    if (r->item >= 0)
        return og_error_set(r->err, OG_ERR_FORMAT, "gguf: %s %lld at offset %zu: %s", field, (long long)r->item,
                            r->pos, what);
    return og_error_set(r->err, OG_ERR_FORMAT, "gguf: %s at offset %zu: %s", field, r->pos, what);
}

static og_status take(reader *r, size_t n, const char *field, const uint8_t **out)
{
    *out = r->base + r->pos;
    if (n > r->size - r->pos)
        return fail(r, field, "truncated file");
    r->pos += n;
    return OG_OK;
}

/* Copies n bytes of a little-endian number (GGUF is little-endian, as
 * are the hosts offgrid targets). */
static og_status read_num(reader *r, const char *field, void *out, size_t n)
{
    const uint8_t *p;
    og_status st = take(r, n, field, &p);
    if (st == OG_OK)
        memcpy(out, p, n);
    return st;
}

static og_status read_u32(reader *r, const char *field, uint32_t *out) { return read_num(r, field, out, 4); }
static og_status read_u64(reader *r, const char *field, uint64_t *out) { return read_num(r, field, out, 8); }

static og_status read_str(reader *r, const char *field, size_t max_len, og_str *out)
{
    uint64_t len;
    const uint8_t *p;
    og_status st = read_u64(r, field, &len);
    if (st != OG_OK)
        return st;
    if (len > max_len || len > r->size - r->pos) {
        r->pos -= 8;
        return fail(r, field, len > max_len ? "string length over the limit" : "string runs past the end of the file");
    }
    st = take(r, (size_t)len, field, &p);
    out->ptr = (const char *)p;
    out->len = (size_t)len;
    return st;
}

size_t og_gguf_vtype_size(og_gguf_vtype t)
{
    switch (t) {
    case OG_GGUF_U8: case OG_GGUF_I8: case OG_GGUF_BOOL: return 1;
    case OG_GGUF_U16: case OG_GGUF_I16: return 2;
    case OG_GGUF_U32: case OG_GGUF_I32: case OG_GGUF_F32: return 4;
    case OG_GGUF_U64: case OG_GGUF_I64: case OG_GGUF_F64: return 8;
    default: return 0;
    }
}

static og_status read_value(reader *r, og_gguf_kv *kv, og_str *key_for_msg)
{
    char field[160];
    snprintf(field, sizeof field, "value of '%.*s'", (int)(key_for_msg->len > 100 ? 100 : key_for_msg->len),
             key_for_msg->ptr);
    uint32_t type;
    og_status st = read_u32(r, field, &type);
    if (st != OG_OK)
        return st;
    kv->type = kv->elem_type = (og_gguf_vtype)type;
    kv->n = 1;
    if (type == OG_GGUF_STRING) {
        og_str *s = malloc(sizeof *s);
        if (!s)
            return og_error_set(r->err, OG_ERR_NOMEM, "gguf: out of memory");
        kv->strs = s;
        kv->data = r->base + r->pos;
        return read_str(r, field, r->size, s);
    }
    if (type == OG_GGUF_ARRAY) {
        uint32_t elem;
        uint64_t n;
        if ((st = read_u32(r, field, &elem)) != OG_OK || (st = read_u64(r, field, &n)) != OG_OK)
            return st;
        kv->elem_type = (og_gguf_vtype)elem;
        kv->n = n;
        kv->data = r->base + r->pos;
        if (elem == OG_GGUF_STRING) {
            /* Each string takes at least its 8-byte length, which bounds n. */
            if (n > (r->size - r->pos) / 8)
                return fail(r, field, "string array longer than the file");
            og_str *strs = malloc((n ? n : 1) * sizeof *strs);
            if (!strs)
                return og_error_set(r->err, OG_ERR_NOMEM, "gguf: out of memory for %llu strings",
                                    (unsigned long long)n);
            kv->strs = strs;
            for (uint64_t i = 0; i < n; i++)
                if ((st = read_str(r, field, r->size, &strs[i])) != OG_OK)
                    return st;
            return OG_OK;
        }
        size_t es = og_gguf_vtype_size((og_gguf_vtype)elem);
        if (!es)
            return fail(r, field, elem == OG_GGUF_ARRAY ? "nested arrays are not supported"
                                                        : "unknown array element type");
        if (n > (r->size - r->pos) / es)
            return fail(r, field, "array runs past the end of the file");
        const uint8_t *p;
        return take(r, (size_t)n * es, field, &p);
    }
    size_t sz = og_gguf_vtype_size((og_gguf_vtype)type);
    if (!sz)
        return fail(r, field, "unknown value type");
    kv->data = r->base + r->pos;
    const uint8_t *p;
    return take(r, sz, field, &p);
}

/* Reads one tensor info; errors name "tensor <r->item>". */
static og_status read_tensor_info(reader *r, og_gguf_tensor *t)
{
    const char *field = "tensor";
    uint32_t n_dims, type;
    og_status st = read_str(r, field, MAX_NAME_LEN, &t->name);
    if (st != OG_OK || (st = read_u32(r, field, &n_dims)) != OG_OK)
        return st;
    if (n_dims == 0 || n_dims > OG_GGUF_MAX_DIMS)
        return fail(r, field, "dimension count must be 1..4");
    t->n_dims = (int)n_dims;
    /* The product of the non-zero dimensions must fit, so no product of
     * dimensions overflows later, whatever zeros stand between them. */
    int64_t nonzero_product = 1;
    for (int d = 0; d < OG_GGUF_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if ((uint32_t)d < n_dims && (st = read_u64(r, field, &ne)) != OG_OK)
            return st;
        if (ne > (uint64_t)INT64_MAX ||
            __builtin_mul_overflow(nonzero_product, ne ? (int64_t)ne : 1, &nonzero_product))
            return fail(r, field, "element count overflows");
        t->ne[d] = (int64_t)ne;
    }
    const int64_t n_rows = t->ne[1] * t->ne[2] * t->ne[3];
    if ((st = read_u32(r, field, &type)) != OG_OK || (st = read_u64(r, field, &t->offset)) != OG_OK)
        return st;
    const og_type_traits *tr = og_type_traits_of(type);
    if (!tr->name) {
        char what[64];
        snprintf(what, sizeof what, "unknown tensor type id %u", type);
        return fail(r, field, what);
    }
    t->type = (og_type)type;
    if (t->ne[0] % tr->block_size) {
        char what[128];
        snprintf(what, sizeof what, "row length %lld is not a multiple of the type's block size (%s: %d)",
                 (long long)t->ne[0], tr->name, (int)tr->block_size);
        return fail(r, field, what);
    }
    size_t row = og_type_row_bytes(t->type, t->ne[0]);
    if (row && (uint64_t)n_rows > SIZE_MAX / row)
        return fail(r, field, "byte size overflows");
    t->n_bytes = row * (size_t)n_rows;
    return OG_OK;
}

static bool key_is(const og_gguf_kv *kv, const char *key)
{
    return og_str_eq(kv->key, key);
}

/* Checks the two counts against the limits and against the bytes left
 * after the header, which must be able to hold that many entries of the
 * smallest size; only then may the tables be allocated. */
static og_status check_counts(reader *r, uint64_t n_tensors, uint64_t n_kv)
{
    const size_t tensors_at = r->pos - 16, kv_at = r->pos - 8, left = r->size - r->pos;
    if (n_tensors > MAX_TENSORS) {
        r->pos = tensors_at;
        return fail(r, "tensor count", "over the limit of 1048576");
    }
    if (n_kv > MAX_KV) {
        r->pos = kv_at;
        return fail(r, "kv count", "over the limit of 65536");
    }
    if (n_kv > left / MIN_KV_BYTES) {
        r->pos = kv_at;
        return fail(r, "kv count", "more pairs than the file can hold");
    }
    if (n_tensors > (left - n_kv * MIN_KV_BYTES) / MIN_TENSOR_BYTES) {
        r->pos = tensors_at;
        return fail(r, "tensor count", "more tensors than the file can hold");
    }
    return OG_OK;
}

/* Reads the n_kv pairs, indexing their keys (a repeated key is an error)
 * and taking general.alignment. */
static og_status read_kvs(reader *r, og_gguf *g, uint64_t n_kv)
{
    og_status st;
    for (uint64_t i = 0; i < n_kv; i++) {
        og_gguf_kv *kv = &g->kvs[i];
        r->item = (int64_t)i; /* errors name "key <i>" */
        if ((st = read_str(r, "key", MAX_NAME_LEN, &kv->key)) != OG_OK)
            return st;
        g->n_kv = (int64_t)i + 1; /* so the error path frees this kv's arrays */
        int64_t earlier;
        /* The map was planned for n_kv keys, so adding cannot fail. */
        if ((st = og_hashmap_add(&g->kv_index, kv->key.ptr, kv->key.len, (int64_t)i, &earlier, r->err)) != OG_OK)
            return st;
        if (earlier != OG_HASHMAP_ABSENT)
            return fail(r, "key", "duplicate key");
        r->item = -1;
        if ((st = read_value(r, kv, &kv->key)) != OG_OK)
            return st;
        if (key_is(kv, "general.alignment")) {
            uint32_t a;
            if (kv->type != OG_GGUF_U32 || (memcpy(&a, kv->data, 4), a == 0 || (a & (a - 1)) || a > 65536))
                return fail(r, "general.alignment", "must be a u32 power of two up to 65536");
            g->alignment = a;
        }
    }
    return OG_OK;
}

/* Reads the n_tensors tensor infos, indexing their names (a repeated name
 * is an error naming the offset of the second one's info). */
static og_status read_tensor_infos(reader *r, og_gguf *g, uint64_t n_tensors)
{
    og_status st;
    for (uint64_t i = 0; i < n_tensors; i++) {
        og_gguf_tensor *t = &g->tensors[i];
        const size_t at = r->pos;
        r->item = (int64_t)i;
        if ((st = read_tensor_info(r, t)) != OG_OK)
            return st;
        g->n_tensors = (int64_t)i + 1;
        int64_t earlier;
        if ((st = og_hashmap_add(&g->tensor_index, t->name.ptr, t->name.len, (int64_t)i, &earlier, r->err)) != OG_OK)
            return st;
        if (earlier != OG_HASHMAP_ABSENT) {
            char what[160];
            snprintf(what, sizeof what, "duplicate tensor name '%.*s'", (int)(t->name.len > 100 ? 100 : t->name.len),
                     t->name.ptr);
            r->pos = at;
            return fail(r, "tensor", what);
        }
    }
    r->item = -1;
    return OG_OK;
}

/* Places each tensor's data after the tensor table, checking alignment
 * and that it lies inside the file. */
static og_status place_tensors(reader *r, og_gguf *g)
{
    /* The data section starts at the next multiple of the alignment. */
    size_t pad = (g->alignment - r->pos % g->alignment) % g->alignment;
    g->data_offset = r->pos + pad;
    if (g->n_tensors && g->data_offset > g->size)
        return fail(r, "data section", "file ends before the tensor data");
    size_t data_size = g->data_offset <= g->size ? g->size - g->data_offset : 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        og_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment)
            return og_error_set(r->err, OG_ERR_FORMAT, "gguf: tensor '%.*s': data offset %llu is not aligned to %zu",
                                (int)t->name.len, t->name.ptr, (unsigned long long)t->offset, g->alignment);
        if (t->offset > data_size || t->n_bytes > data_size - t->offset)
            return og_error_set(r->err, OG_ERR_FORMAT,
                                "gguf: tensor '%.*s': data at offset %llu, %zu bytes, runs past the end of the file (truncated?)",
                                (int)t->name.len, t->name.ptr, (unsigned long long)(g->data_offset + t->offset),
                                t->n_bytes);
        t->data = g->base + g->data_offset + t->offset;
    }
    return OG_OK;
}

/* Reads magic, version and the two counts. */
static og_status read_header(reader *r, og_gguf *g, uint64_t *n_tensors, uint64_t *n_kv)
{
    const uint8_t *magic;
    og_status st = take(r, 4, "magic", &magic);
    if (st != OG_OK)
        return st;
    if (memcmp(magic, "GGUF", 4) != 0) {
        r->pos = 0;
        return fail(r, "magic", "not a GGUF file (expected 'GGUF')");
    }
    if ((st = read_u32(r, "version", &g->version)) != OG_OK)
        return st;
    if (g->version != 2 && g->version != 3) {
        r->pos -= 4;
        char what[64];
        snprintf(what, sizeof what, "unsupported version %u (need 2 or 3)", g->version);
        return fail(r, "version", what);
    }
    if ((st = read_u64(r, "tensor count", n_tensors)) != OG_OK || (st = read_u64(r, "kv count", n_kv)) != OG_OK)
        return st;
    return check_counts(r, *n_tensors, *n_kv);
}

/* Validates base[0..size) into a new handle in *out; the handle takes
 * over a mapping only once the caller marks it so, after success. */
static og_status parse(const uint8_t *base, size_t size, og_gguf **out, og_error *err)
{
    *out = NULL;
    og_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return og_error_set(err, OG_ERR_NOMEM, "gguf: out of memory");
    g->base = base;
    g->size = size;
    g->alignment = DEFAULT_ALIGNMENT;
    /* A local error, so the codes below never depend on the caller's err. */
    og_error e = { 0 };
    reader r = { base, size, 0, &e, -1 };
    uint64_t n_tensors = 0, n_kv = 0;
    og_status st = read_header(&r, g, &n_tensors, &n_kv);
    if (st == OG_OK) {
        g->kvs = calloc(n_kv ? n_kv : 1, sizeof *g->kvs);
        g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
        if (!g->kvs || !g->tensors)
            st = og_error_set(&e, OG_ERR_NOMEM, "gguf: out of memory for %llu tensors", (unsigned long long)n_tensors);
    }
    if (st == OG_OK && (st = og_hashmap_init(&g->kv_index, (size_t)n_kv, &e)) == OG_OK)
        st = og_hashmap_init(&g->tensor_index, (size_t)n_tensors, &e);
    if (st == OG_OK && (st = read_kvs(&r, g, n_kv)) == OG_OK && (st = read_tensor_infos(&r, g, n_tensors)) == OG_OK)
        st = place_tensors(&r, g);
    if (st != OG_OK) {
        og_gguf_close(g);
        return og_error_set(err, st, "%s", e.message);
    }
    *out = g;
    return OG_OK;
}

og_status og_gguf_open_memory(const void *buf, size_t size, og_gguf **out, og_error *err)
{
    *out = NULL;
    if (!buf && size)
        return og_error_set(err, OG_ERR_ARG, "gguf: NULL buffer");
    return parse(buf, size, out, err);
}

og_status og_gguf_open(const char *path, og_gguf **out, og_error *err)
{
    const void *map;
    size_t size;
    *out = NULL;
    og_status st = og_map_file(path, "a GGUF model", &map, &size, err);
    if (st != OG_OK)
        return st;
    if ((st = parse(map, size, out, err)) != OG_OK) {
        og_unmap_file(map, size);
        og_error_prefix(err, "%s", path);
        return st;
    }
    (*out)->mapped = true;
    return OG_OK;
}

void og_gguf_close(og_gguf *g)
{
    if (!g)
        return;
    for (int64_t i = 0; g->kvs && i < g->n_kv; i++)
        free((void *)g->kvs[i].strs);
    free(g->kvs);
    free(g->tensors);
    og_hashmap_free(&g->kv_index);
    og_hashmap_free(&g->tensor_index);
    if (g->mapped)
        og_unmap_file(g->base, g->size);
    free(g);
}

void og_gguf_release(const og_gguf *g, const void *data, size_t n_bytes)
{
    if (!g->mapped)
        return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t begin = ((uintptr_t)data + page - 1) & ~(page - 1);
    const uintptr_t end = ((uintptr_t)data + n_bytes) & ~(page - 1);
    /* A private, never written mapping: dropped pages would simply be
     * read again from the file, so this cannot change what data holds. */
    if (end > begin)
        (void)madvise((void *)begin, end - begin, MADV_DONTNEED);
}

uint32_t og_gguf_version(const og_gguf *g) { return g->version; }
size_t og_gguf_file_size(const og_gguf *g) { return g->size; }
size_t og_gguf_alignment(const og_gguf *g) { return g->alignment; }
int64_t og_gguf_n_kv(const og_gguf *g) { return g->n_kv; }
int64_t og_gguf_n_tensors(const og_gguf *g) { return g->n_tensors; }

const og_gguf_kv *og_gguf_kv_at(const og_gguf *g, int64_t i)
{
    return i >= 0 && i < g->n_kv ? &g->kvs[i] : NULL;
}

const og_gguf_tensor *og_gguf_tensor_at(const og_gguf *g, int64_t i)
{
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

bool og_str_eq(og_str s, const char *cstr)
{
    size_t n = strlen(cstr);
    return s.len == n && memcmp(s.ptr, cstr, n) == 0;
}

const og_gguf_kv *og_gguf_find(const og_gguf *g, const char *key)
{
    int64_t i = og_hashmap_get(&g->kv_index, key, strlen(key));
    return i == OG_HASHMAP_ABSENT ? NULL : &g->kvs[i];
}

const og_gguf_tensor *og_gguf_find_tensor(const og_gguf *g, const char *name)
{
    int64_t i = og_hashmap_get(&g->tensor_index, name, strlen(name));
    return i == OG_HASHMAP_ABSENT ? NULL : &g->tensors[i];
}

/* Reads element i of a numeric value as int64 (exact) or double. */
static bool elem_as_i64(og_gguf_vtype t, const uint8_t *p, int64_t *out)
{
    switch (t) {
    case OG_GGUF_U8: *out = *p; return true;
    case OG_GGUF_I8: *out = (int8_t)*p; return true;
    case OG_GGUF_BOOL: *out = *p != 0; return true;
    case OG_GGUF_U16: { uint16_t v; memcpy(&v, p, 2); *out = v; return true; }
    case OG_GGUF_I16: { int16_t v; memcpy(&v, p, 2); *out = v; return true; }
    case OG_GGUF_U32: { uint32_t v; memcpy(&v, p, 4); *out = v; return true; }
    case OG_GGUF_I32: { int32_t v; memcpy(&v, p, 4); *out = v; return true; }
    case OG_GGUF_U64: { uint64_t v; memcpy(&v, p, 8); if (v > INT64_MAX) return false; *out = (int64_t)v; return true; }
    case OG_GGUF_I64: { int64_t v; memcpy(&v, p, 8); *out = v; return true; }
    default: return false;
    }
}

static bool elem_as_f64(og_gguf_vtype t, const uint8_t *p, double *out)
{
    if (t == OG_GGUF_F32) { float v; memcpy(&v, p, 4); *out = v; return true; }
    if (t == OG_GGUF_F64) { memcpy(out, p, 8); return true; }
    int64_t i;
    if (!elem_as_i64(t, p, &i))
        return false;
    *out = (double)i;
    return true;
}

int64_t og_gguf_arr_i64(const og_gguf_kv *kv, uint64_t i)
{
    int64_t v = 0;
    double d;
    const uint8_t *p = kv->data + i * og_gguf_vtype_size(kv->elem_type);
    if (!elem_as_i64(kv->elem_type, p, &v) && elem_as_f64(kv->elem_type, p, &d)) {
        /* Out-of-range floats saturate (converting them is undefined). */
        if (d != d)
            v = 0;
        else if (d >= 0x1p63)
            v = INT64_MAX;
        else if (d < -0x1p63)
            v = INT64_MIN;
        else
            v = (int64_t)d;
    }
    return v;
}

double og_gguf_arr_f64(const og_gguf_kv *kv, uint64_t i)
{
    double v = 0;
    elem_as_f64(kv->elem_type, kv->data + i * og_gguf_vtype_size(kv->elem_type), &v);
    return v;
}

static const og_gguf_kv *find_scalar(const og_gguf *g, const char *key)
{
    const og_gguf_kv *kv = og_gguf_find(g, key);
    return kv && kv->type != OG_GGUF_ARRAY && kv->type != OG_GGUF_STRING ? kv : NULL;
}

bool og_gguf_get_i64(const og_gguf *g, const char *key, int64_t *out)
{
    const og_gguf_kv *kv = find_scalar(g, key);
    return kv && kv->type != OG_GGUF_F32 && kv->type != OG_GGUF_F64 && elem_as_i64(kv->type, kv->data, out);
}

bool og_gguf_get_u32(const og_gguf *g, const char *key, uint32_t *out)
{
    int64_t v;
    if (!og_gguf_get_i64(g, key, &v) || v < 0 || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool og_gguf_get_f32(const og_gguf *g, const char *key, float *out)
{
    const og_gguf_kv *kv = find_scalar(g, key);
    double d;
    if (!kv || (kv->type != OG_GGUF_F32 && kv->type != OG_GGUF_F64) || !elem_as_f64(kv->type, kv->data, &d))
        return false;
    *out = (float)d;
    return true;
}

bool og_gguf_get_bool(const og_gguf *g, const char *key, bool *out)
{
    const og_gguf_kv *kv = find_scalar(g, key);
    if (!kv || kv->type != OG_GGUF_BOOL)
        return false;
    *out = *kv->data != 0;
    return true;
}

bool og_gguf_get_str(const og_gguf *g, const char *key, og_str *out)
{
    const og_gguf_kv *kv = og_gguf_find(g, key);
    if (!kv || kv->type != OG_GGUF_STRING)
        return false;
    *out = kv->strs[0];
    return true;
}

const og_gguf_kv *og_gguf_get_arr(const og_gguf *g, const char *key, og_gguf_vtype elem_type)
{
    const og_gguf_kv *kv = og_gguf_find(g, key);
    return kv && kv->type == OG_GGUF_ARRAY && kv->elem_type == elem_type ? kv : NULL;
}
