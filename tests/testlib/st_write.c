/*
 * st_write.c - the safetensors writer of the tests (see st_write.h).
 */
#include "st_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fp16.h"

struct st_writer {
    char *header;
    size_t header_len, header_cap;
    uint8_t *data;
    size_t data_len, data_cap;
    bool failed;
};

static void grow(void **p, size_t *cap, size_t need, bool *failed)
{
    if (*failed || need <= *cap)
        return;
    size_t cap2 = need * 2 + 1024;
    void *q = realloc(*p, cap2);
    if (!q) {
        *failed = true;
        return;
    }
    *p = q;
    *cap = cap2;
}

static void header_add(st_writer *w, const char *s)
{
    size_t n = strlen(s);
    grow((void **)&w->header, &w->header_cap, w->header_len + n + 1, &w->failed);
    if (w->failed)
        return;
    memcpy(w->header + w->header_len, s, n + 1);
    w->header_len += n;
}

st_writer *st_writer_new(void)
{
    st_writer *w = calloc(1, sizeof *w);
    if (w)
        header_add(w, "{\"__metadata__\":{\"format\":\"pt\"}");
    return w;
}

bool st_writer_add(st_writer *w, const char *name, const char *dtype, int n_dims, const int64_t *shape,
                   const float *values)
{
    size_t n = 1, es = !strcmp(dtype, "F32") ? 4 : 2;
    for (int d = 0; d < n_dims; d++)
        n *= (size_t)shape[d];
    size_t begin = w->data_len;
    grow((void **)&w->data, &w->data_cap, begin + n * es, &w->failed);
    if (w->failed)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = w->data + begin + i * es;
        if (es == 4) {
            memcpy(p, &values[i], 4);
        } else {
            uint16_t h = !strcmp(dtype, "F16") ? og_f32_to_fp16(values[i]) : og_f32_to_bf16(values[i]);
            memcpy(p, &h, 2);
        }
    }
    w->data_len += n * es;
    char buf[512];
    snprintf(buf, sizeof buf, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", name, dtype);
    header_add(w, buf);
    for (int d = 0; d < n_dims; d++) {
        snprintf(buf, sizeof buf, d ? ",%lld" : "%lld", (long long)shape[d]);
        header_add(w, buf);
    }
    snprintf(buf, sizeof buf, "],\"data_offsets\":[%zu,%zu]}", begin, w->data_len);
    header_add(w, buf);
    return !w->failed;
}

bool st_writer_save(st_writer *w, const char *path)
{
    header_add(w, "}");
    /* pad the header with spaces to 8 bytes, as the reference writer does */
    while (!w->failed && w->header_len % 8)
        header_add(w, " ");
    if (w->failed)
        return false;
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    uint64_t n = w->header_len;
    bool ok = fwrite(&n, 8, 1, f) == 1 && fwrite(w->header, 1, w->header_len, f) == w->header_len &&
              (w->data_len == 0 || fwrite(w->data, 1, w->data_len, f) == w->data_len);
    return fclose(f) == 0 && ok;
}

void st_writer_free(st_writer *w)
{
    if (!w)
        return;
    free(w->header);
    free(w->data);
    free(w);
}

bool st_write_text(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot create %s\n", path);
        return false;
    }
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}
