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

#include "base/error.h"

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
