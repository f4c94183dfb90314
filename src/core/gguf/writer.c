/*
 * writer.c - serializes metadata and tensors into GGUF v3 with the
 * default 32-byte alignment. The writer owns copies of everything added;
 * files are written through a temporary name so a failure never leaves a
 * half-written model behind, straight from the writer's buffers.
 *
 * Adding never reports: the first failure (out of memory, a bad argument)
 * is recorded with a message naming the key or tensor, later adds do
 * nothing, and og_gguf_writer_status / _to_memory / _to_file report it.
 * So a caller adds everything and checks once.
 */
#include "gguf/writer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"

#define ALIGNMENT 32

typedef struct buf {
    uint8_t *data;
    size_t len, cap;
    bool failed;
} buf;

struct og_gguf_writer {
    buf meta;    /* serialized kv pairs */
    buf infos;   /* serialized tensor infos */
    buf payload; /* tensor data, each aligned */
    uint64_t n_kv, n_tensors;
    og_error first; /* the first failure; code OG_OK while there is none */
};

static bool put(buf *b, const void *p, size_t n)
{
    if (b->failed)
        return false;
    if (n > SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return false;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *bigger = realloc(b->data, cap);
        if (!bigger) {
            b->failed = true;
            return false;
        }
        b->data = bigger;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

static bool put_u32(buf *b, uint32_t v) { return put(b, &v, 4); }
static bool put_u64(buf *b, uint64_t v) { return put(b, &v, 8); }

static bool put_og_str(buf *b, og_str s)
{
    return put_u64(b, s.len) && put(b, s.ptr, s.len);
}

static og_str cstr(const char *s)
{
    return (og_str){ s, strlen(s) };
}

static bool put_zeros(buf *b, size_t n)
{
    static const uint8_t zeros[ALIGNMENT];
    return put(b, zeros, n);
}

og_status og_gguf_writer_new(og_gguf_writer **out, og_error *err)
{
    *out = calloc(1, sizeof(og_gguf_writer));
    return *out ? OG_OK : og_error_set(err, OG_ERR_NOMEM, "gguf writer: out of memory");
}

void og_gguf_writer_free(og_gguf_writer *w)
{
    if (!w)
        return;
    free(w->meta.data);
    free(w->infos.data);
    free(w->payload.data);
    free(w);
}

/* Records the first failure; the ones it causes later are not news. */
static void record(og_gguf_writer *w, og_status code, const char *fmt, ...)
{
    if (w->first.code != OG_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    w->first.code = code;
    vsnprintf(w->first.message, sizeof w->first.message, fmt, ap);
    va_end(ap);
}

static bool failed(const og_gguf_writer *w)
{
    return w->first.code != OG_OK;
}

/* Records running out of memory while adding what (a key or tensor). */
static void check_memory(og_gguf_writer *w, bool ok, const char *what, og_str name)
{
    if (!ok)
        record(w, OG_ERR_NOMEM, "gguf writer: out of memory adding %s '%.*s'", what,
               (int)(name.len > 200 ? 200 : name.len), name.ptr);
}

/* Starts a kv pair: its key and type. false once the writer has failed. */
static bool key(og_gguf_writer *w, og_str k, og_gguf_vtype type)
{
    if (failed(w))
        return false;
    w->n_kv++;
    bool ok = put_og_str(&w->meta, k) && put_u32(&w->meta, type);
    check_memory(w, ok, "key", k);
    return ok;
}

void og_gguf_writer_u32(og_gguf_writer *w, const char *k, uint32_t v)
{
    if (key(w, cstr(k), OG_GGUF_U32))
        check_memory(w, put_u32(&w->meta, v), "key", cstr(k));
}

void og_gguf_writer_f32(og_gguf_writer *w, const char *k, float v)
{
    if (key(w, cstr(k), OG_GGUF_F32))
        check_memory(w, put(&w->meta, &v, 4), "key", cstr(k));
}

void og_gguf_writer_bool(og_gguf_writer *w, const char *k, bool v)
{
    uint8_t b = v;
    if (key(w, cstr(k), OG_GGUF_BOOL))
        check_memory(w, put(&w->meta, &b, 1), "key", cstr(k));
}

void og_gguf_writer_str(og_gguf_writer *w, const char *k, const char *v)
{
    if (key(w, cstr(k), OG_GGUF_STRING))
        check_memory(w, put_og_str(&w->meta, cstr(v)), "key", cstr(k));
}

/* The array header and the n elements of a fixed-size type at data. */
static void put_fixed_array(og_gguf_writer *w, og_str k, og_gguf_vtype elem, const void *data, uint64_t n)
{
    size_t es = og_gguf_vtype_size(elem);
    if (!es || n > SIZE_MAX / es) {
        record(w, OG_ERR_ARG, "gguf writer: key '%.*s': %s", (int)k.len, k.ptr,
               es ? "array too long" : "array elements must be of a fixed-size type");
        return;
    }
    if (key(w, k, OG_GGUF_ARRAY))
        check_memory(w, put_u32(&w->meta, elem) && put_u64(&w->meta, n) && put(&w->meta, data, (size_t)n * es),
                     "key", k);
}

void og_gguf_writer_arr(og_gguf_writer *w, const char *k, og_gguf_vtype elem, const void *data, uint64_t n)
{
    put_fixed_array(w, cstr(k), elem, data, n);
}

void og_gguf_writer_arr_str(og_gguf_writer *w, const char *k, const char *const *strs, uint64_t n)
{
    if (!key(w, cstr(k), OG_GGUF_ARRAY))
        return;
    bool ok = put_u32(&w->meta, OG_GGUF_STRING) && put_u64(&w->meta, n);
    for (uint64_t i = 0; ok && i < n; i++)
        ok = put_og_str(&w->meta, cstr(strs[i]));
    check_memory(w, ok, "key", cstr(k));
}

void og_gguf_writer_copy_kv(og_gguf_writer *w, const og_gguf_kv *kv)
{
    if (kv->elem_type != OG_GGUF_STRING) {
        if (kv->type == OG_GGUF_ARRAY)
            put_fixed_array(w, kv->key, kv->elem_type, kv->data, kv->n);
        else if (!og_gguf_vtype_size(kv->type))
            record(w, OG_ERR_ARG, "gguf writer: key '%.*s': unknown value type %d", (int)kv->key.len, kv->key.ptr,
                   (int)kv->type);
        else if (key(w, kv->key, kv->type))
            check_memory(w, put(&w->meta, kv->data, og_gguf_vtype_size(kv->type)), "key", kv->key);
        return;
    }
    if (!key(w, kv->key, kv->type))
        return;
    bool ok = kv->type != OG_GGUF_ARRAY || (put_u32(&w->meta, kv->elem_type) && put_u64(&w->meta, kv->n));
    for (uint64_t i = 0; ok && i < kv->n; i++)
        ok = put_og_str(&w->meta, kv->strs[i]);
    check_memory(w, ok, "key", kv->key);
}

void og_gguf_writer_copy_file(og_gguf_writer *w, const og_gguf *g, const char *skip_key)
{
    for (int64_t i = 0; i < og_gguf_n_kv(g) && !failed(w); i++) {
        const og_gguf_kv *kv = og_gguf_kv_at(g, i);
        /* the writer aligns to 32 bytes and says nothing else */
        if (!(skip_key && og_str_eq(kv->key, skip_key)) && !og_str_eq(kv->key, "general.alignment"))
            og_gguf_writer_copy_kv(w, kv);
    }
    for (int64_t i = 0; i < og_gguf_n_tensors(g) && !failed(w); i++)
        og_gguf_writer_copy_tensor(w, og_gguf_tensor_at(g, i));
}

/* A tensor info and its data, the data aligned in the payload. */
static void add_tensor(og_gguf_writer *w, og_str name, og_type type, int n_dims, const int64_t *ne, const void *data)
{
    if (failed(w))
        return;
    if (n_dims < 1 || n_dims > OG_GGUF_MAX_DIMS) {
        record(w, OG_ERR_ARG, "gguf writer: tensor '%.*s': %d dimensions (need 1..4)", (int)name.len, name.ptr,
               n_dims);
        return;
    }
    size_t n_rows = 1;
    for (int d = 1; d < n_dims; d++)
        n_rows *= (size_t)ne[d];
    size_t bytes = og_type_row_bytes(type, ne[0]) * n_rows;
    size_t pad = (ALIGNMENT - w->payload.len % ALIGNMENT) % ALIGNMENT;
    bool ok = put_zeros(&w->payload, pad) && put_og_str(&w->infos, name) && put_u32(&w->infos, (uint32_t)n_dims);
    for (int d = 0; ok && d < n_dims; d++)
        ok = put_u64(&w->infos, (uint64_t)ne[d]);
    ok = ok && put_u32(&w->infos, (uint32_t)type) && put_u64(&w->infos, w->payload.len) &&
         put(&w->payload, data, bytes);
    w->n_tensors++;
    check_memory(w, ok, "tensor", name);
}

void og_gguf_writer_copy_tensor(og_gguf_writer *w, const og_gguf_tensor *t)
{
    add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
}

void og_gguf_writer_tensor(og_gguf_writer *w, const char *name, og_type type, int n_dims, const int64_t *ne,
                           const void *data)
{
    add_tensor(w, cstr(name), type, n_dims, ne, data);
}

og_status og_gguf_writer_status(const og_gguf_writer *w, og_error *err)
{
    return failed(w) ? og_error_set(err, w->first.code, "%s", w->first.message) : OG_OK;
}

/* The bytes before the metadata: magic, version and the two counts. */
static size_t file_header(const og_gguf_writer *w, uint8_t out[24])
{
    uint32_t version = 3;
    memcpy(out, "GGUF", 4);
    memcpy(out + 4, &version, 4);
    memcpy(out + 8, &w->n_tensors, 8);
    memcpy(out + 16, &w->n_kv, 8);
    return 24;
}

/* Zero bytes after the tensor infos so the payload starts aligned. */
static size_t info_padding(const og_gguf_writer *w)
{
    size_t before = 24 + w->meta.len + w->infos.len;
    return (ALIGNMENT - before % ALIGNMENT) % ALIGNMENT;
}

og_status og_gguf_writer_to_memory(og_gguf_writer *w, uint8_t **out, size_t *size, og_error *err)
{
    *out = NULL;
    if (failed(w))
        return og_gguf_writer_status(w, err);
    uint8_t head[24];
    buf b = { 0 };
    put(&b, head, file_header(w, head));
    put(&b, w->meta.data, w->meta.len);
    put(&b, w->infos.data, w->infos.len);
    put_zeros(&b, info_padding(w));
    put(&b, w->payload.data, w->payload.len);
    if (b.failed) {
        free(b.data);
        return og_error_set(err, OG_ERR_NOMEM, "gguf writer: out of memory");
    }
    *out = b.data;
    *size = b.len;
    return OG_OK;
}

/* Writes the parts straight from the writer's buffers, so a model needs
 * no second copy of itself in memory. */
og_status og_gguf_writer_to_file(og_gguf_writer *w, const char *path, og_error *err)
{
    if (failed(w))
        return og_gguf_writer_status(w, err);
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.partial", path) >= sizeof tmp)
        return og_error_set(err, OG_ERR_ARG, "path too long: %s", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return og_error_set(err, OG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    static const uint8_t zeros[ALIGNMENT];
    uint8_t head[24];
    size_t n_head = file_header(w, head), pad = info_padding(w);
    bool ok = fwrite(head, 1, n_head, f) == n_head && fwrite(w->meta.data, 1, w->meta.len, f) == w->meta.len &&
              fwrite(w->infos.data, 1, w->infos.len, f) == w->infos.len && fwrite(zeros, 1, pad, f) == pad &&
              fwrite(w->payload.data, 1, w->payload.len, f) == w->payload.len && fflush(f) == 0 &&
              fsync(fileno(f)) == 0;
    int saved = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        return og_error_set(err, OG_ERR_IO, "cannot write %s: %s", path, strerror(saved));
    }
    return OG_OK;
}
