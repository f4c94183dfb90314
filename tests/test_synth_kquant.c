/*
 * test_synth_kquant.c - `og_synth_write` with a K-quant mixture (q2_k,
 * q3_k_m, q4_k_s, q4_k_m, q5_k_m, q6_k) writes exactly what llama-quantize writes
 * for the same weights: every tensor has the type llama-quantize chose for
 * it and the same data bytes.
 *
 * fixtures/synth_kquant_ref.txt lists, for each shape and mixture, every
 * tensor of llama-quantize's output (llama.cpp b4747, run on the "f32"
 * synth file of the same shape and the default seed) with its type and
 * the SHA-256 of its data; fixtures/README.md says how it was made. The
 * tiny shape (64 wide) checks llama-quantize's fallbacks for rows that
 * are not whole K super-blocks; tiny-k (256 wide, 8 layers) the mixture
 * itself. The model must also load and produce finite logits.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "testlib.h"

#define FIXTURE OG_TEST_DATA "/../fixtures/synth_kquant_ref.txt"

static void hex(const unsigned char *h, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Checks the file at path against the fixture lines of (shape, mix). */
static void check_file(const char *path, const char *fixture, const char *shape, const char *mix)
{
    og_gguf *g = NULL;
    og_error err = { 0 };
    CHECK(og_gguf_open(path, &g, &err) == OG_OK, "open %s: %s", path, err.message);
    if (!g)
        return;
    int lines = 0;
    char key[64];
    snprintf(key, sizeof key, "%s %s ", shape, mix);
    for (const char *line = fixture; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, strlen(key)))
            continue;
        char name[96], type[16], want[65];
        if (sscanf(line + strlen(key), "%95s %15s %64s", name, type, want) != 3) {
            CHECK(0, "bad fixture line for %s %s", shape, mix);
            continue;
        }
        lines++;
        const og_gguf_tensor *t = og_gguf_find_tensor(g, name);
        CHECK(t != NULL, "%s %s: no tensor %s", shape, mix, name);
        if (!t)
            continue;
        CHECK(!strcmp(og_type_name(t->type), type), "%s %s: %s is %s, llama-quantize made %s", shape, mix, name,
              og_type_name(t->type), type);
        unsigned char h[crypto_hash_sha256_BYTES];
        char got[65];
        crypto_hash_sha256(h, t->data, t->n_bytes);
        hex(h, sizeof h, got);
        CHECK(!strcmp(got, want), "%s %s: %s data differs from llama-quantize's", shape, mix, name);
    }
    CHECK(lines > 0 && lines == og_gguf_n_tensors(g), "%s %s: %d fixture lines, %lld tensors", shape, mix, lines,
          (long long)og_gguf_n_tensors(g));
    uint32_t ftype = 0;
    CHECK(og_gguf_get_u32(g, "general.file_type", &ftype) && ftype >= 10 && ftype <= 18, "%s %s: file type %u",
          shape, mix, ftype);
    og_gguf_close(g);
}

/* The model loads and one forward pass gives finite logits. */
static void check_runs(const char *path)
{
    og_model *m = NULL;
    og_context *ctx = NULL;
    og_error err = { 0 };
    og_model_params mp = og_model_default_params();
    CHECK(og_model_load(path, &mp, &m, &err) == OG_OK, "load %s: %s", path, err.message);
    og_context_params cp = og_context_default_params();
    cp.n_ctx = 64;
    if (m)
        CHECK(og_context_new(m, &cp, &ctx, &err) == OG_OK, "context: %s", err.message);
    if (ctx) {
        const og_token ids[4] = { 1, 300, 301, 302 };
        CHECK(og_decode(ctx, ids, 4, false, &err) == OG_OK, "decode: %s", err.message);
        const float *logits = og_get_logits(ctx, -1);
        const int32_t n_vocab = og_vocab_size(m);
        int finite = 0;
        for (int i = 0; logits && i < n_vocab; i++)
            finite += isfinite(logits[i]) != 0;
        CHECK(logits && finite == n_vocab, "%d of %d logits finite", finite, n_vocab);
    }
    og_context_free(ctx);
    og_model_free(m);
}

int main(void)
{
    CHECK(sodium_init() >= 0, "libsodium");
    size_t len = 0;
    char *fixture = og_test_read_file(FIXTURE, &len);
    CHECK(fixture != NULL, "fixture %s", FIXTURE);
    static const struct {
        const char *shape, *mix;
    } runs[] = {
        { "tiny-k", "q4_k_m" }, { "tiny-k", "q2_k" }, { "tiny-k", "q3_k_m" }, { "tiny-k", "q4_k_s" },
        { "tiny-k", "q5_k_m" }, { "tiny-k", "q6_k" }, { "tiny", "q4_k_m" },
    };
    for (size_t i = 0; fixture && i < sizeof runs / sizeof runs[0]; i++) {
        char path[] = "/tmp/og_test_synth_kquant_XXXXXX";
        const int fd = mkstemp(path);
        CHECK(fd >= 0, "mkstemp");
        if (fd < 0)
            break;
        close(fd);
        og_error err = { 0 };
        CHECK(og_synth_write(path, runs[i].shape, runs[i].mix, 1, NULL, NULL, &err) == OG_OK, "synth %s %s: %s",
              runs[i].shape, runs[i].mix, err.message);
        check_file(path, fixture, runs[i].shape, runs[i].mix);
        if (i <= 1) /* q4_k_m and q2_k */
            check_runs(path);
        unlink(path);
    }
    og_error err = { 0 };
    CHECK(og_synth_write("/tmp/og_never_written.gguf", "tiny", "q4_k", 1, NULL, NULL, &err) == OG_ERR_ARG &&
              strstr(err.message, "q4_k_m"),
          "unknown type: %s", err.message);
    /* Q3_K rows of 64 would be IQ4_NL in llama-quantize: refused, not approximated. */
    CHECK(og_synth_write("/tmp/og_never_written.gguf", "tiny", "q3_k_m", 1, NULL, NULL, &err) == OG_ERR_ARG &&
              strstr(err.message, "IQ4_NL"),
          "tiny q3_k_m: %s", err.message);
    free(fixture);
    return og_test_finish("test_synth_kquant");
}
