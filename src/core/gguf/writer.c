/*
 * writer.c - serializes metadata and tensors into GGUF v3 with the
 * default 32-byte alignment. The writer owns copies of everything added;
 * files are written through a temporary name so a failure never leaves a
 * half-written model behind, straight from the writer's buffers.
 */
#include "gguf/writer.h"

#include <errno.h>
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
};

static bool put(buf *b, const void *p, size_t n)
{
    if (b->failed)
        return false;
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

static bool put_str(buf *b, const char *s)
{
    size_t n = strlen(s);
    return put_u64(b, n) && put(b, s, n);
}

static bool put_zeros(buf *b, size_t n)
{
    static const uint8_t zeros[ALIGNMENT];
    return put(b, zeros, n);
}

og_gguf_writer *og_gguf_writer_new(void)
{
    return calloc(1, sizeof(og_gguf_writer));
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

static bool key(og_gguf_writer *w, const char *k, og_gguf_vtype type)
{
    w->n_kv++;
    return put_str(&w->meta, k) && put_u32(&w->meta, type);
}

bool og_gguf_writer_u32(og_gguf_writer *w, const char *k, uint32_t v)
{
    return key(w, k, OG_GGUF_U32) && put_u32(&w->meta, v);
}

bool og_gguf_writer_f32(og_gguf_writer *w, const char *k, float v)
{
    return key(w, k, OG_GGUF_F32) && put(&w->meta, &v, 4);
}

bool og_gguf_writer_bool(og_gguf_writer *w, const char *k, bool v)
{
    uint8_t b = v;
    return key(w, k, OG_GGUF_BOOL) && put(&w->meta, &b, 1);
}

bool og_gguf_writer_str(og_gguf_writer *w, const char *k, const char *v)
{
    return key(w, k, OG_GGUF_STRING) && put_str(&w->meta, v);
}

bool og_gguf_writer_arr(og_gguf_writer *w, const char *k, og_gguf_vtype elem, const void *data, uint64_t n)
{
    size_t es = og_gguf_vtype_size(elem);
    return es && key(w, k, OG_GGUF_ARRAY) && put_u32(&w->meta, elem) && put_u64(&w->meta, n) &&
           put(&w->meta, data, (size_t)n * es);
}

bool og_gguf_writer_arr_str(og_gguf_writer *w, const char *k, const char *const *strs, uint64_t n)
{
    bool ok = key(w, k, OG_GGUF_ARRAY) && put_u32(&w->meta, OG_GGUF_STRING) && put_u64(&w->meta, n);
    for (uint64_t i = 0; ok && i < n; i++)
        ok = put_str(&w->meta, strs[i]);
    return ok;
}

static bool put_og_str(buf *b, og_str s)
{
    return put_u64(b, s.len) && put(b, s.ptr, s.len);
}

bool og_gguf_writer_copy_kv(og_gguf_writer *w, const og_gguf_kv *kv)
{
    w->n_kv++;
    if (!put_og_str(&w->meta, kv->key) || !put_u32(&w->meta, kv->type))
        return false;
    if (kv->type == OG_GGUF_ARRAY && !(put_u32(&w->meta, kv->elem_type) && put_u64(&w->meta, kv->n)))
        return false;
    if (kv->elem_type == OG_GGUF_STRING) {
        bool ok = true;
        for (uint64_t i = 0; ok && i < kv->n; i++)
            ok = put_og_str(&w->meta, kv->strs[i]);
        return ok;
    }
    size_t es = og_gguf_vtype_size(kv->elem_type);
    return es && put(&w->meta, kv->data, (size_t)kv->n * es);
}

og_status og_gguf_writer_copy_file(og_gguf_writer *w, const og_gguf *g, const char *skip_key, og_error *err)
{
    for (int64_t i = 0; i < og_gguf_n_kv(g); i++) {
        const og_gguf_kv *kv = og_gguf_kv_at(g, i);
        /* the writer aligns to 32 bytes and says nothing else */
        if ((skip_key && og_str_eq(kv->key, skip_key)) || og_str_eq(kv->key, "general.alignment"))
            continue;
        if (!og_gguf_writer_copy_kv(w, kv))
            return og_error_set(err, OG_ERR_NOMEM, "out of memory copying metadata");
    }
    for (int64_t i = 0; i < og_gguf_n_tensors(g); i++) {
        og_status st = og_gguf_writer_copy_tensor(w, og_gguf_tensor_at(g, i), err);
        if (st != OG_OK)
            return st;
    }
    return OG_OK;
}

og_status og_gguf_writer_copy_tensor(og_gguf_writer *w, const og_gguf_tensor *t, og_error *err)
{
    char name[256];
    if (t->name.len >= sizeof name)
        return og_error_set(err, OG_ERR_FORMAT, "tensor name of %zu bytes is too long", t->name.len);
    memcpy(name, t->name.ptr, t->name.len);
    name[t->name.len] = 0;
    if (!og_gguf_writer_tensor(w, name, t->type, t->n_dims, t->ne, t->data))
        return og_error_set(err, OG_ERR_NOMEM, "out of memory copying tensor '%s'", name);
    return OG_OK;
}

bool og_gguf_writer_tensor(og_gguf_writer *w, const char *name, og_type type, int n_dims, const int64_t *ne,
                           const void *data)
{
    if (n_dims < 1 || n_dims > OG_GGUF_MAX_DIMS)
        return false;
    size_t n_rows = 1;
    for (int d = 1; d < n_dims; d++)
        n_rows *= (size_t)ne[d];
    size_t bytes = og_type_row_bytes(type, ne[0]) * n_rows;
    size_t pad = (ALIGNMENT - w->payload.len % ALIGNMENT) % ALIGNMENT;
    bool ok = put_zeros(&w->payload, pad) && put_str(&w->infos, name) && put_u32(&w->infos, (uint32_t)n_dims);
    for (int d = 0; ok && d < n_dims; d++)
        ok = put_u64(&w->infos, (uint64_t)ne[d]);
    ok = ok && put_u32(&w->infos, (uint32_t)type) && put_u64(&w->infos, w->payload.len) &&
         put(&w->payload, data, bytes);
    w->n_tensors++;
    return ok;
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

static bool writer_failed(const og_gguf_writer *w)
{
    return w->meta.failed || w->infos.failed || w->payload.failed;
}

og_status og_gguf_writer_to_memory(og_gguf_writer *w, uint8_t **out, size_t *size, og_error *err)
{
    *out = NULL;
    if (writer_failed(w))
        return og_error_set(err, OG_ERR_NOMEM, "gguf writer: out of memory while building the file");
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
    if (writer_failed(w))
        return og_error_set(err, OG_ERR_NOMEM, "gguf writer: out of memory while building the file");
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
