/*
 * test_gguf.c - the GGUF reader on a real file, on every truncation of it,
 * on hand-corrupted headers, on hostile headers built in memory (a
 * million tensors or keys, counts the file cannot hold), and the writer's
 * round trip; the model loader's errors for unknown architectures and
 * tensor types; and paths that are no regular file (a FIFO, a directory).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "testlib.h"

static uint8_t *file_bytes;
static size_t file_size;

/* Parses a private copy of exactly n bytes, so ASan sees any over-read. */
static bool parses(const uint8_t *bytes, size_t n, og_error *err)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, bytes, n);
    og_gguf *g;
    og_status st = og_gguf_open_memory(copy, n, &g, err);
    og_gguf_close(g);
    free(copy);
    return st == OG_OK && g != NULL;
}

static void test_real_file(void)
{
    og_error err = { 0 };
    og_gguf *g;
    CHECK(og_gguf_open(og_test_path(OG_SHARED_MODELS, "stories260K.gguf"), &g, &err) == OG_OK, "open: %s",
          err.message);
    if (!g)
        return;
    CHECK(og_gguf_version(g) == 3, "version %u", og_gguf_version(g));
    CHECK(og_gguf_n_tensors(g) == 48, "tensors %lld", (long long)og_gguf_n_tensors(g));
    uint32_t layers = 0;
    CHECK(og_gguf_get_u32(g, "llama.block_count", &layers) && layers == 5, "block_count %u", layers);
    og_str arch;
    CHECK(og_gguf_get_str(g, "general.architecture", &arch) && og_str_eq(arch, "llama"), "architecture");
    const og_gguf_tensor *t = og_gguf_find_tensor(g, "token_embd.weight");
    CHECK(t && t->type == OG_TYPE_F32 && t->ne[0] == 64 && t->ne[1] == 512 && t->n_bytes == 64 * 512 * 4,
          "token_embd shape");
    const og_gguf_kv *tokens = og_gguf_get_arr(g, "tokenizer.ggml.tokens", OG_GGUF_STRING);
    CHECK(tokens && tokens->n == 512 && og_str_eq(tokens->strs[1], "<s>"), "token list");
    CHECK(og_gguf_find(g, "no.such.key") == NULL, "missing key");
    og_gguf_close(g);

    og_gguf *missing;
    og_status st = og_gguf_open("/nonexistent/model.gguf", &missing, &err);
    CHECK(st == OG_ERR_IO && !missing && err.code == OG_ERR_IO && strstr(err.message, "/nonexistent/model.gguf"), "missing file: %s",
          err.message);
}

/* Every prefix of the header, metadata and tensor table is an error, and
 * each one names a field and an offset. */
static void test_truncations(void)
{
    og_error err = { 0 };
    og_gguf *g;
    CHECK(og_gguf_open_memory(file_bytes, file_size, &g, &err) == OG_OK, "full file parses: %s", err.message);
    if (!g)
        return;
    const og_gguf_tensor *last = og_gguf_tensor_at(g, og_gguf_n_tensors(g) - 1);
    size_t header_end = (size_t)((const uint8_t *)og_gguf_tensor_at(g, 0)->data - file_bytes);
    size_t data_end = (size_t)((const uint8_t *)last->data - file_bytes) + last->n_bytes;
    og_gguf_close(g);
    int bad = 0;
    for (size_t n = 0; n < header_end + 64; n++) {
        if (parses(file_bytes, n, &err) || err.code != OG_ERR_FORMAT || !strstr(err.message, "gguf"))
            bad++;
    }
    CHECK(bad == 0, "%d truncated prefixes were accepted or misreported", bad);
    CHECK(!parses(file_bytes, data_end - 1, &err) && strstr(err.message, "runs past the end"), "truncated data: %s",
          err.message);
}

/* Patches a copy of the file and expects an error containing `want`. */
static void expect_corrupt(size_t offset, const void *bytes, size_t n, const char *want)
{
    uint8_t *copy = malloc(file_size);
    memcpy(copy, file_bytes, file_size);
    memcpy(copy + offset, bytes, n);
    og_error err = { 0 };
    og_gguf *g;
    og_status st = og_gguf_open_memory(copy, file_size, &g, &err);
    CHECK(st == OG_ERR_FORMAT && !g && err.code == OG_ERR_FORMAT && strstr(err.message, want), "patch at %zu: want '%s', got '%s'",
          offset, want, g ? "(accepted)" : err.message);
    og_gguf_close(g);
    free(copy);
}

static void test_corruptions(void)
{
    uint32_t v1 = 1, v9 = 9;
    uint64_t huge = UINT64_MAX / 2;
    expect_corrupt(0, "GGML", 4, "not a GGUF file");
    expect_corrupt(4, &v1, 4, "unsupported version 1");
    expect_corrupt(4, &v9, 4, "unsupported version 9");
    expect_corrupt(8, &huge, 8, "tensor count");
    expect_corrupt(16, &huge, 8, "kv count");
    expect_corrupt(24, &huge, 8, "key 0"); /* first key's length */

    /* The first tensor's type and offset fields. */
    og_error err = { 0 };
    og_gguf *g;
    CHECK(og_gguf_open_memory(file_bytes, file_size, &g, &err) == OG_OK, "%s", err.message);
    if (!g)
        return;
    const og_gguf_tensor *t0 = og_gguf_tensor_at(g, 0);
    size_t name_at = (size_t)((const uint8_t *)t0->name.ptr - file_bytes);
    size_t dims_at = name_at + t0->name.len, type_at = dims_at + 4 + 8 * (size_t)t0->n_dims;
    og_gguf_close(g);
    uint32_t five = 5, bad_type = 99;
    uint64_t misaligned = 3, far = (uint64_t)file_size * 4;
    expect_corrupt(dims_at, &five, 4, "dimension count");
    expect_corrupt(type_at, &bad_type, 4, "unknown tensor type id 99");
    expect_corrupt(type_at + 4, &misaligned, 8, "not aligned");
    expect_corrupt(type_at + 4, &far, 8, "runs past the end");
    uint64_t ne_huge = (uint64_t)1 << 62;
    expect_corrupt(dims_at + 4, &ne_huge, 8, "tensor 0");
}

/* ---- hostile headers, built in memory ---- */

typedef og_test_buf gbuf;

static void gput(gbuf *b, const void *x, size_t k) { og_test_buf_put(b, x, k); }
static void gput_u32(gbuf *b, uint32_t v) { gput(b, &v, 4); }
static void gput_u64(gbuf *b, uint64_t v) { gput(b, &v, 8); }

static void gput_str(gbuf *b, const char *s)
{
    gput_u64(b, strlen(s));
    gput(b, s, strlen(s));
}

static void gput_header(gbuf *b, uint64_t n_tensors, uint64_t n_kv)
{
    gput(b, "GGUF", 4);
    gput_u32(b, 3);
    gput_u64(b, n_tensors);
    gput_u64(b, n_kv);
}

/* One F32 tensor of one element at data offset 0 (they may share it). */
static void gput_tiny_tensor(gbuf *b, const char *name)
{
    gput_str(b, name);
    gput_u32(b, 1);
    gput_u64(b, 1);
    gput_u32(b, OG_TYPE_F32);
    gput_u64(b, 0);
}

/* Pads to the 32-byte alignment and adds the 32 bytes of tensor data. */
static void gput_data(gbuf *b)
{
    static const uint8_t zeros[64];
    gput(b, zeros, (32 - b->n % 32) % 32 + 32);
}

/* Opens b and expects status want with want_msg in the message (NULL:
 * any), in well under a second whatever the header claims. Returns the
 * handle when it opened (the caller closes it). */
static og_gguf *expect_open(const gbuf *b, og_status want, const char *want_msg, const char *label)
{
    CHECK(!b->oom, "%s: out of memory building the header", label);
    og_error err = { 0 };
    og_gguf *g = NULL;
    /* CPU time, not wall time: the test machines are shared, and what
     * this bounds (quadratic work, huge allocations) is work we do. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    og_status st = b->oom ? OG_ERR_NOMEM : og_gguf_open_memory(b->p, b->n, &g, &err);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    CHECK(st == want && (st == OG_OK) == (g != NULL) && (!want_msg || strstr(err.message, want_msg)),
          "%s: want %s '%s', got %s '%s'", label, og_status_name(want), want_msg ? want_msg : "",
          og_status_name(st), err.message);
    CHECK(seconds < 1.0, "%s: open took %.3f s of CPU", label, seconds);
    printf("%s: %s in %.3f s of CPU\n", label, og_status_name(st), seconds);
    /* The code must not depend on whether the caller asked for the message. */
    if (!b->oom && st != OG_OK)
        CHECK(og_gguf_open_memory(b->p, b->n, &g, NULL) == st && !g, "%s: another code without an og_error", label);
    return g;
}

static void test_hostile_headers(void)
{
    enum { MILLION = 1000000 };
    char name[32], msg[160];

    /* A million distinct tiny tensors: opened, and found by name. */
    gbuf b = { 0 };
    gput_header(&b, MILLION, 0);
    for (int i = 0; i < MILLION; i++) {
        snprintf(name, sizeof name, "t%d", i);
        gput_tiny_tensor(&b, name);
    }
    gput_data(&b);
    og_gguf *g = expect_open(&b, OG_OK, NULL, "1,000,000 tensors");
    if (g) {
        const og_gguf_tensor *t = og_gguf_find_tensor(g, "t765432");
        CHECK(t == og_gguf_tensor_at(g, 765432) && t->ne[0] == 1, "find_tensor among a million");
        CHECK(!og_gguf_find_tensor(g, "t1000000"), "a name that is not there");
        og_gguf_close(g);
    }

    /* The same with the last name repeating one in the middle: the error
     * names the second one's index and offset. */
    b.n = 0;
    gput_header(&b, MILLION, 0);
    size_t last_at = 0;
    for (int i = 0; i < MILLION; i++) {
        snprintf(name, sizeof name, "t%d", i == MILLION - 1 ? MILLION / 2 : i);
        last_at = b.n;
        gput_tiny_tensor(&b, name);
    }
    gput_data(&b);
    snprintf(msg, sizeof msg, "tensor %d at offset %zu: duplicate tensor name 't%d'", MILLION - 1, last_at,
             MILLION / 2);
    expect_open(&b, OG_ERR_FORMAT, msg, "a duplicate among 1,000,000 tensor names");

    /* A million kv pairs: over the limit, said before reading them. */
    b.n = 0;
    gput_header(&b, 0, MILLION);
    for (int i = 0; i < MILLION; i++) {
        snprintf(name, sizeof name, "k%d", i);
        gput_str(&b, name);
        gput_u32(&b, OG_GGUF_U8);
        gput(&b, "", 1);
    }
    expect_open(&b, OG_ERR_FORMAT, "kv count at offset 16: over the limit", "1,000,000 kv pairs");

    /* As many pairs as allowed, the last key repeating the first. */
    enum { MAX_KV = 65536 };
    b.n = 0;
    gput_header(&b, 0, MAX_KV);
    for (int i = 0; i < MAX_KV; i++) {
        snprintf(name, sizeof name, "k%d", i == MAX_KV - 1 ? 0 : i);
        gput_str(&b, name);
        gput_u32(&b, OG_GGUF_U8);
        gput(&b, "", 1);
    }
    snprintf(msg, sizeof msg, "key %d at offset", MAX_KV - 1);
    expect_open(&b, OG_ERR_FORMAT, msg, "a duplicate among 65,536 keys");
    CHECK(expect_open(&b, OG_ERR_FORMAT, "duplicate key", "the same, by its message") == NULL, "rejected");

    /* Counts a 24-byte file cannot hold are refused before any table is
     * allocated for them. */
    b.n = 0;
    gput_header(&b, MILLION, 0);
    expect_open(&b, OG_ERR_FORMAT, "tensor count at offset 8: more tensors than the file can hold",
                "1,000,000 tensors in 24 bytes");
    b.n = 0;
    gput_header(&b, 0, MAX_KV);
    expect_open(&b, OG_ERR_FORMAT, "kv count at offset 16: more pairs than the file can hold",
                "65,536 kv pairs in 24 bytes");
    free(b.p);
}

/* K-quant rows come in super-blocks of 256: a Q4_K or Q6_K matrix whose
 * rows are 128 long is refused when the file is opened, naming the tensor
 * and why, before any kernel could read past a row. */
static void test_kquant_row_length(void)
{
    static const struct { uint32_t type; const char *label; } kinds[] = {
        { OG_TYPE_Q4_K, "Q4_K row of 128" }, { OG_TYPE_Q6_K, "Q6_K row of 128" }, { OG_TYPE_Q2_K, "Q2_K row of 128" },
    };
    static const char *const want[] = {
        "tensor 0 at offset 85: row length 128 is not a multiple of the type's block size (Q4_K: 256)",
        "tensor 0 at offset 85: row length 128 is not a multiple of the type's block size (Q6_K: 256)",
        "tensor 0 at offset 85: row length 128 is not a multiple of the type's block size (Q2_K: 256)",
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        gbuf b = { 0 };
        gput_header(&b, 1, 0);
        gput_str(&b, "blk.0.ffn_down.weight");
        gput_u32(&b, 2);
        gput_u64(&b, 128);
        gput_u64(&b, 4);
        gput_u32(&b, kinds[i].type);
        gput_u64(&b, 0);
        gput_data(&b);
        og_gguf *g = expect_open(&b, OG_ERR_FORMAT, want[i], kinds[i].label);
        og_gguf_close(g);
        free(b.p);
    }
}

static void test_writer_round_trip(void)
{
    og_error err = { 0 };
    og_gguf_writer *w;
    CHECK(og_gguf_writer_new(&w, &err) == OG_OK, "%s", err.message);
    if (!w)
        return;
    const char *strs[] = { "a", "", "hello" };
    int32_t ints[] = { -1, 2, 3 };
    float row[64];
    for (int i = 0; i < 64; i++)
        row[i] = (float)i * 0.5f;
    int64_t ne[2] = { 32, 2 };
    og_gguf_writer_u32(w, "k.u32", 7);
    og_gguf_writer_f32(w, "k.f32", 0.25f);
    og_gguf_writer_bool(w, "k.bool", true);
    og_gguf_writer_str(w, "k.str", "text");
    og_gguf_writer_arr(w, "k.ints", OG_GGUF_I32, ints, 3);
    og_gguf_writer_arr_str(w, "k.strs", strs, 3);
    og_gguf_writer_tensor(w, "t0", OG_TYPE_F32, 2, ne, row);
    og_gguf_writer_tensor(w, "t1", OG_TYPE_F32, 1, ne, row);
    uint8_t *bytes;
    size_t size;
    CHECK(og_gguf_writer_to_memory(w, &bytes, &size, &err) == OG_OK, "to_memory: %s", err.message);
    og_gguf_writer_free(w);
    og_gguf *g;
    CHECK(og_gguf_open_memory(bytes, size, &g, &err) == OG_OK, "reopen: %s", err.message);
    if (g) {
        uint32_t u = 0;
        float f = 0;
        bool b = false;
        og_str s;
        CHECK(og_gguf_get_u32(g, "k.u32", &u) && u == 7, "u32");
        CHECK(og_gguf_get_f32(g, "k.f32", &f) && f == 0.25f, "f32");
        CHECK(og_gguf_get_bool(g, "k.bool", &b) && b, "bool");
        CHECK(og_gguf_get_str(g, "k.str", &s) && og_str_eq(s, "text"), "str");
        CHECK(!og_gguf_get_u32(g, "k.str", &u), "a string is not a u32");
        const og_gguf_kv *a = og_gguf_get_arr(g, "k.ints", OG_GGUF_I32);
        CHECK(a && a->n == 3 && og_gguf_arr_i64(a, 0) == -1 && og_gguf_arr_i64(a, 2) == 3, "int array");
        const og_gguf_kv *sa = og_gguf_get_arr(g, "k.strs", OG_GGUF_STRING);
        CHECK(sa && sa->n == 3 && og_str_eq(sa->strs[2], "hello") && sa->strs[1].len == 0, "string array");
        const og_gguf_tensor *t1 = og_gguf_find_tensor(g, "t1");
        CHECK(t1 && t1->n_dims == 1 && t1->ne[0] == 32 && ((const float *)t1->data)[3] == 1.5f, "tensor t1");
        CHECK(((uintptr_t)t1->data - (uintptr_t)bytes) % 32 == 0, "tensor data aligned");
        og_gguf_close(g);
    }
    free(bytes);
}

/* Writes a patched copy of stories260K and expects og_model_load to fail
 * with code and a message containing want. */
static void expect_model_error(const void *find, size_t find_len, const void *replace, og_status code,
                               const char *want)
{
    uint8_t *copy = malloc(file_size);
    memcpy(copy, file_bytes, file_size);
    uint8_t *at = memmem(copy, file_size, find, find_len);
    CHECK(at != NULL, "pattern for '%s' not found", want);
    if (at)
        memcpy(at, replace, find_len);
    char path[] = "/tmp/og_test_model_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, copy, file_size) == (ssize_t)file_size, "write temp model");
    close(fd);
    og_model *m = NULL;
    og_error err = { 0 };
    og_status st = og_model_load(path, NULL, &m, &err);
    CHECK(st == code && m == NULL && strstr(err.message, want), "want %s '%s', got %s '%s'", og_status_name(code),
          want, og_status_name(st), err.message);
    og_model_free(m);
    unlink(path);
    free(copy);
}

static void test_model_errors(void)
{
    /* general.architecture, its type (string) and its value "llama". */
    const char arch_val[] = "general.architecture\x08\0\0\0\x05\0\0\0\0\0\0\0llama";
    const char mamba_val[] = "general.architecture\x08\0\0\0\x05\0\0\0\0\0\0\0mamba";
    expect_model_error(arch_val, sizeof arch_val - 1, mamba_val, OG_ERR_UNSUPPORTED, "unknown model architecture 'mamba'");

    /* blk.0.attn_q.weight: name, n_dims 2, ne 64 64, type F32 (0) -> IQ4_NL (20). */
    uint8_t pattern[19 + 8 + 4 + 16 + 4], replaced[sizeof pattern];
    uint64_t name_len = 19, ne = 64;
    uint32_t n_dims = 2, f32 = 0, iq4 = 20;
    memcpy(pattern, &name_len, 8);
    memcpy(pattern + 8, "blk.0.attn_q.weight", 19);
    memcpy(pattern + 27, &n_dims, 4);
    memcpy(pattern + 31, &ne, 8);
    memcpy(pattern + 39, &ne, 8);
    memcpy(pattern + 47, &f32, 4);
    memcpy(replaced, pattern, sizeof pattern);
    memcpy(replaced + 47, &iq4, 4);
    expect_model_error(pattern, sizeof pattern, replaced, OG_ERR_UNSUPPORTED, "type IQ4_NL");

    /* A renamed tensor is a missing one. */
    expect_model_error("blk.3.ffn_up.weight", 19, "blk.3.ffn_XX.weight", OG_ERR_FORMAT, "blk.3.ffn_up.weight");
}

/* A FIFO passed as a model used to block in open() until a writer came:
 * it must fail at once naming the path. The alarm turns a hang into a
 * failure (SIGALRM ends the test) instead of a stuck test run. */
static void test_not_regular(void)
{
    char dir[] = "/tmp/og_gguf_fifo_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char fifo[64], want[128];
    snprintf(fifo, sizeof fifo, "%s/model.gguf", dir);
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    const char *paths[] = { fifo, dir };
    for (int i = 0; i < 2; i++) {
        og_gguf *g = NULL;
        og_error err = { 0 };
        alarm(60);
        og_status st = og_gguf_open(paths[i], &g, &err);
        alarm(0);
        snprintf(want, sizeof want, "%s is not a regular file", paths[i]);
        CHECK(st == OG_ERR_IO && g == NULL && strstr(err.message, want), "%s: got %s '%s'", paths[i],
              og_status_name(st), err.message);
        og_gguf_close(g);
    }
    unlink(fifo);
    rmdir(dir);
}

/* Inputs the fuzzer once crashed on: each must now parse or fail cleanly,
 * and whatever parses must be safe to read (run under the sanitizers). */
static void test_fuzz_regressions(void)
{
    static const char *const files[] = { "gguf-zero-dim-overflow.input", "gguf-float-to-int-range.input" };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/fuzz/%s", OG_TEST_DATA, files[f]);
        size_t n;
        uint8_t *bytes = (uint8_t *)og_test_read_file(path, &n);
        CHECK(bytes != NULL, "read %s", path);
        if (!bytes)
            continue;
        og_error err = { 0 };
        og_gguf *g;
        og_status st = og_gguf_open_memory(bytes, n, &g, &err);
        CHECK((st == OG_OK && g) || (st == OG_ERR_FORMAT && err.code == OG_ERR_FORMAT), "%s: %s", files[f], err.message);
        int64_t sink = 0;
        for (int64_t i = 0; g && i < og_gguf_n_kv(g); i++) {
            const og_gguf_kv *kv = og_gguf_kv_at(g, i);
            if (kv->type == OG_GGUF_ARRAY && kv->elem_type != OG_GGUF_STRING)
                for (uint64_t e = 0; e < kv->n; e++)
                    sink += og_gguf_arr_i64(kv, e) + (int64_t)(og_gguf_arr_f64(kv, e) != 0);
        }
        CHECK(sink == sink, "walk");
        og_gguf_close(g);
        free(bytes);
    }
}

int main(void)
{
    size_t n;
    file_bytes = (uint8_t *)og_test_read_file(og_test_path(OG_SHARED_MODELS, "stories260K.gguf"), &n);
    CHECK(file_bytes != NULL, "read stories260K.gguf");
    if (!file_bytes)
        return og_test_finish("test_gguf");
    file_size = n;
    test_real_file();
    test_truncations();
    test_corruptions();
    test_hostile_headers();
    test_kquant_row_length();
    test_writer_round_trip();
    test_model_errors();
    test_not_regular();
    test_fuzz_regressions();
    free(file_bytes);
    return og_test_finish("test_gguf");
}
