/*
 * test_qwen2.c - the qwen2 architecture (Q/K/V biases, NeoX RoPE) on two
 * real files that setup joins from wheels, Qwen2.5-Coder-0.5B-Instruct (a
 * Q5_0/Q8_0/Q4_K/Q6_K GGUF) and Qwen2.5-Coder-1.5B-Instruct Q4_K_M,
 * against llama.cpp b4747's figures in tests/fixtures/qwen2_*_greedy.txt
 * (how they were made: fixtures/README.md): the chat template with Qwen's
 * default system prompt and the qwen2 pre-tokenizer give llama.cpp's
 * prompt ids; greedy generation gives its 64 ids for a code and a chat
 * prompt (105 keys, past a 64-key attention block); the top logits after
 * the prompt and after the first fed-back token are llama.cpp's bit for
 * bit. The reference is llama.cpp's AVX2 build, so the test selects its
 * order (OG_LLAMA_BUILD=avx2, base/numerics.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"
#include "testlib.h"

/* The fixture of the model under test. */
static const char *fixture;

static int read_ids(const char *key, og_token *out, int max)
{
    double v[256];
    int n = og_test_fixture_numbers(fixture, key, v, max < 256 ? max : 256);
    for (int i = 0; i < n; i++)
        out[i] = (og_token)v[i];
    return n;
}

/* The top five logits of generation step `step` (0: after the prompt,
 * 1: after the first token fed back) equal the fixture's bit for bit:
 * they were printed with %.9g, which gives a float back exactly. */
static void check_top5(og_context *ctx, const char *name, int step)
{
    char key[64];
    double ref_ids[5], ref_logits[5];
    snprintf(key, sizeof key, "%s gen%d_top5_ids:", name, step);
    int n_ref = og_test_fixture_numbers(fixture, key, ref_ids, 5);
    snprintf(key, sizeof key, "%s gen%d_top5_logits:", name, step);
    n_ref = n_ref == 5 ? og_test_fixture_numbers(fixture, key, ref_logits, 5) : -1;
    CHECK(n_ref == 5, "%s: step %d top-5 fixture", name, step);
    const float *logits = og_get_logits(ctx, -1);
    int equal = 0;
    for (int i = 0; n_ref == 5 && i < 5; i++) {
        const float got = logits[(int)ref_ids[i]];
        equal += got == (float)ref_logits[i];
        if (got != (float)ref_logits[i])
            fprintf(stderr, "%s step %d: logit of %d is %.9g, llama.cpp's %.9g\n", name, step, (int)ref_ids[i],
                    (double)got, ref_logits[i]);
    }
    printf("%s: step %d: %d of 5 top logits equal llama.cpp's bit for bit\n", name, step, equal);
    CHECK(equal == 5, "%s: step %d logits differ from llama.cpp's", name, step);
}

static void test_prompt(og_model *m, const char *name, const char *user)
{
    char key[64];
    og_token want_prompt[128], want_gen[64], got[128];
    snprintf(key, sizeof key, "%s prompt_ids:", name);
    int n_prompt = read_ids(key, want_prompt, 128);
    snprintf(key, sizeof key, "%s generated_ids:", name);
    int n_gen = read_ids(key, want_gen, 64);
    CHECK(n_prompt > 0 && n_gen == 64, "%s fixture: %d prompt ids, %d generated", name, n_prompt, n_gen);
    if (n_prompt <= 0 || n_gen != 64)
        return;

    og_chat_message msgs[] = { { "user", user } };
    char text[1024];
    int32_t len = og_chat_apply_template(m, msgs, 1, true, text, sizeof text);
    CHECK(len > 0 && len < (int32_t)sizeof text, "%s: template length %d", name, len);
    CHECK(strstr(text, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.") != NULL,
          "%s: Qwen's default system prompt is missing", name);
    int32_t n = og_tokenize(m, text, (size_t)len, got, 128, true, true);
    CHECK(n == n_prompt && memcmp(got, want_prompt, sizeof(og_token) * (size_t)n) == 0,
          "%s: rendered and tokenized prompt differs from llama.cpp's (%d ids, want %d)", name, n, n_prompt);

    og_context_params cp = og_context_default_params();
    cp.n_ctx = 256;
    og_context *ctx = NULL;
    og_error err = { 0 };
    CHECK(og_context_new(m, &cp, &ctx, &err) == OG_OK, "context: %s", err.message);
    if (!ctx)
        return;
    CHECK(og_decode(ctx, want_prompt, n_prompt, false, &err) == OG_OK, "decode: %s", err.message);

    check_top5(ctx, name, 0);
    int same = 0;
    for (int i = 0; i < 64; i++) {
        og_token t = og_test_argmax(og_get_logits(ctx, -1), og_vocab_size(m));
        if (t != want_gen[i])
            break;
        same++;
        if (og_decode(ctx, &t, 1, false, &err) != OG_OK)
            break;
        if (i == 0)
            check_top5(ctx, name, 1);
    }
    printf("%s: %d of 64 greedy ids equal llama.cpp's\n", name, same);
    CHECK(same == 64, "%s: only the first %d of 64 greedy ids equal llama.cpp's", name, same);
    og_context_free(ctx);
}

/* One model against its fixture; required says a missing file fails. */
static void test_model(const char *file, const char *fixture_path, int n_layer, int n_head, bool required)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", OG_MODELS_DIR, file);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "missing %s: run tools/setup.sh first\n", path);
        CHECK(!required, "%s is missing", file);
        return;
    }
    fixture = fixture_path;
    og_model *m = NULL;
    og_error err = { 0 };
    CHECK(og_model_load(path, NULL, &m, &err) == OG_OK, "load %s: %s", file, err.message);
    if (!m)
        return;
    og_model_info info;
    og_model_get_info(m, &info);
    CHECK(!strcmp(info.arch, "qwen2") && info.n_layer == n_layer && info.n_head == n_head && info.n_head_kv == 2,
          "%s: arch %s, %d layers, %d/%d heads", file, info.arch, info.n_layer, info.n_head, info.n_head_kv);
    printf("%s:\n", file);
    test_prompt(m, "code", "Write a Python function that checks whether a number is prime.");
    test_prompt(m, "chat", "What is the capital of France? Answer in one sentence.");
    og_model_free(m);
}

int main(void)
{
    /* The fixtures come from llama.cpp's AVX2 build (see the README). */
    setenv("OG_LLAMA_BUILD", "avx2", 1);
    test_model("qwen2.5-coder-0.5b-instruct.gguf", OG_TEST_DATA "/../fixtures/qwen2_0.5b_greedy.txt", 24, 14, true);
    test_model("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", OG_TEST_DATA "/../fixtures/qwen2_1.5b_greedy.txt", 28, 12,
               true);
    return og_test_finish("test_qwen2");
}
