/*
 * test_safetensors.c - the safetensors reader: a valid file built here
 * (F32, F16, BF16 values, an I64 tensor that only converts with an
 * error, metadata), every truncation of it, and a list of malformed
 * headers, each of which must give an error naming the problem.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert/safetensors.h"
#include "st_write.h"
#include "testlib.h"

/* A file: the 8-byte length, the header, then data_len bytes of data. */
static size_t make_file(uint8_t *buf, size_t cap, const char *header, size_t data_len)
{
    uint64_t n = strlen(header);
    if (8 + n + data_len > cap)
        return 0;
    memcpy(buf, &n, 8);
    memcpy(buf + 8, header, n);
    for (size_t i = 0; i < data_len; i++)
        buf[8 + n + i] = (uint8_t)(i * 7 + 1);
    return 8 + n + data_len;
}

static const char valid_header[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
    "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[32,36]},"
    "\"d\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[36,44]},"
    "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[44,44]}}    ";

static void test_valid(void)
{
    uint8_t buf[1024];
    size_t n = make_file(buf, sizeof buf, valid_header, 44);
    const size_t data = n - 44;
    const float a[6] = { 1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, -7.0f };
    memcpy(buf + data, a, sizeof a);
    const uint16_t b[4] = { 0x3C00, 0xC000, 0x3800, 0x7BFF }; /* 1, -2, 0.5, 65504 */
    memcpy(buf + data + 24, b, sizeof b);
    const uint16_t c[2] = { 0x3F80, 0xC040 }; /* 1, -3 */
    memcpy(buf + data + 32, c, sizeof c);

    og_error err = { 0 };
    og_st_file *f;
    CHECK(og_st_open_memory(buf, n, &f, &err) == OG_OK, "valid file rejected: %s", err.message);
    if (!f)
        return;
    CHECK(og_st_n_tensors(f) == 5, "%zu tensors", og_st_n_tensors(f));
    const og_st_tensor *t = og_st_find(f, "a");
    CHECK(t && t->dtype == OG_ST_F32 && t->n_dims == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->n_elements == 6,
          "tensor a");
    float out[6] = { 0 };
    CHECK(t && og_st_read_f32(t, 0, 6, out, &err) == OG_OK && !memcmp(out, a, sizeof a), "a values");
    CHECK(t && og_st_read_f32(t, 4, 2, out, &err) == OG_OK && out[0] == a[4] && out[1] == a[5], "a slice");
    CHECK(t && og_st_read_f32(t, 5, 2, out, &err) == OG_ERR_ARG, "slice past the end accepted");
    t = og_st_find(f, "b");
    CHECK(t && og_st_read_f32(t, 0, 4, out, &err) == OG_OK && out[0] == 1.0f && out[1] == -2.0f && out[2] == 0.5f &&
              out[3] == 65504.0f,
          "F16 values %g %g %g %g", out[0], out[1], out[2], out[3]);
    t = og_st_find(f, "c");
    CHECK(t && og_st_read_f32(t, 0, 2, out, &err) == OG_OK && out[0] == 1.0f && out[1] == -3.0f, "BF16 values");
    t = og_st_find(f, "d");
    og_status st = t ? og_st_read_f32(t, 0, 1, out, &err) : OG_OK;
    CHECK(st == OG_ERR_UNSUPPORTED && strstr(err.message, "'d'") && strstr(err.message, "I64"),
          "I64 conversion: %s", err.message);
    t = og_st_find(f, "e");
    CHECK(t && t->n_elements == 0 && t->n_bytes == 0, "empty tensor");
    CHECK(og_st_find(f, "zz") == NULL, "unknown name found");
    CHECK(og_st_metadata(f, "format") && !strcmp(og_st_metadata(f, "format"), "pt"), "metadata");
    CHECK(og_st_metadata(f, "nope") == NULL, "missing metadata key");
    /* file order: a, b, c, e (empty, at 44 after d), d sorts before e */
    CHECK(!strcmp(og_st_tensor_at(f, 0)->name, "a") && !strcmp(og_st_tensor_at(f, 4)->name, "e"), "file order");
    og_st_close(f);

    /* Every truncation is an error, never a crash (ASan watches reads). */
    int bad = 0;
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size, so overreads are caught */
        memcpy(copy, buf, len);
        og_error e = { 0 };
        og_st_file *g;
        og_status got = og_st_open_memory(copy, len, &g, &e);
        if (g || got != OG_ERR_FORMAT || e.code != OG_ERR_FORMAT || !e.message[0]) {
            bad++;
            fprintf(stderr, "truncation to %zu: %s\n", len, g ? "accepted" : e.message);
        }
        og_st_close(g);
        free(copy);
    }
    CHECK(bad == 0, "%d truncations accepted or badly reported", bad);
}

typedef struct bad_case {
    const char *header;
    size_t data_len;
    const char *want; /* a piece of the error message */
} bad_case;

static const bad_case bad_cases[] = {
    { "[]", 0, "does not start with a JSON object" },
    { "{\"a\":", 0, "header JSON" },
    { "{} trailing", 0, "header JSON" },
    { "{\"a\":1}", 0, "'a': entry is not a JSON object" },
    { "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "'a': missing or non-string \"dtype\"" },
    { "{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype \"F7\"" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, "non-array \"shape\"" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}", 4, "non-negative integer" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "more than 8 dimensions" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
      "more elements than any file" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "\"data_offsets\" is not an array of two integers" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "not an array of two integers" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, "negative, not an integer, or past" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4, "past the end of the file" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "begin is after end" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "span 4 bytes but shape and dtype F32 need 8" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "'b': data begins at byte 4 but the previous tensor ends at 8 (overlap)" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "(gap)" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "the tensors end at data byte 4 but the file has 8" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate" },
    { "{\"__metadata__\":[]}", 0, "\"__metadata__\" is not a JSON object" },
    { "{\"__metadata__\":{\"x\":1}}", 0, "'x' is not a string" },
    { "{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty tensor name" },
    { "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "header JSON" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, "header JSON" },
};

static void test_malformed(void)
{
    uint8_t buf[1024];
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        size_t n = make_file(buf, sizeof buf, bad_cases[i].header, bad_cases[i].data_len);
        og_error err = { 0 };
        og_st_file *f;
        og_status st = og_st_open_memory(buf, n, &f, &err);
        CHECK(f == NULL && st == OG_ERR_FORMAT && err.code == OG_ERR_FORMAT && strstr(err.message, bad_cases[i].want),
              "case %zu (%s): got '%s', want '%s'", i, bad_cases[i].header, f ? "accepted" : err.message,
              bad_cases[i].want);
        og_st_close(f);
    }

    /* Header lengths that do not fit the file. */
    uint64_t len = 1000;
    memcpy(buf, &len, 8);
    memcpy(buf + 8, "{}", 2);
    og_error err = { 0 };
    og_st_file *f;
    CHECK(og_st_open_memory(buf, 10, &f, &err) == OG_ERR_FORMAT && !f && strstr(err.message, "header length 1000 runs past the end of the file"), "%s", err.message);
    og_st_close(f);
    len = (uint64_t)1 << 40;
    memcpy(buf, &len, 8);
    CHECK(og_st_open_memory(buf, 10, &f, &err) == OG_ERR_FORMAT && !f && strstr(err.message, "over the limit"), "%s", err.message);
    og_st_close(f);
    len = 0;
    memcpy(buf, &len, 8);
    CHECK(og_st_open_memory(buf, 8, &f, &err) == OG_ERR_FORMAT && !f && strstr(err.message, "does not start with a JSON object"), "%s", err.message);
    og_st_close(f);
}

static void test_files(void)
{
    og_error err = { 0 };
    og_st_file *f;
    CHECK(og_st_open("/nonexistent/model.safetensors", &f, &err) == OG_ERR_IO && !f && err.code == OG_ERR_IO && strstr(err.message, "/nonexistent/model.safetensors"), "%s", err.message);

    char dir[] = "/tmp/og_st_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    st_writer *w = st_writer_new();
    const float v[3] = { 1.5f, -2.0f, 0.25f };
    const int64_t shape[1] = { 3 };
    CHECK(w && st_writer_add(w, "x", "F32", 1, shape, v) && st_writer_add(w, "y", "BF16", 1, shape, v) &&
              st_writer_save(w, path),
          "writing %s", path);
    st_writer_free(w);
    CHECK(og_st_open(path, &f, &err) == OG_OK, "%s", err.message);
    float out[3];
    const og_st_tensor *t = f ? og_st_find(f, "y") : NULL;
    CHECK(t && og_st_read_f32(t, 0, 3, out, &err) == OG_OK && out[0] == 1.5f && out[1] == -2.0f && out[2] == 0.25f,
          "BF16 from file");
    og_st_close(f);

    /* A broken file on disk: the error names the path. */
    FILE *fp = fopen(path, "wb");
    fputs("garbage", fp);
    fclose(fp);
    CHECK(og_st_open(path, &f, &err) == OG_ERR_FORMAT && !f && strstr(err.message, path) && strstr(err.message, "truncated"), "%s", err.message);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_valid();
    test_malformed();
    test_files();
    return og_test_finish("test_safetensors");
}
