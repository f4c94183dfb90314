/*
 * test_exact.c - offgrid's logits equal llama.cpp's bit for bit.
 *
 * tests/fixtures/logits_exact.txt holds, for four prompts on SmolLM2-135M
 * Q4_1 and stories260K (F32), the top-20 logits of llama.cpp b4747 as hex
 * floats and the double sum of all logits, after the prompt (one batch)
 * and after three greedy single-token steps. Both the batched and the
 * one-token arithmetic of llama.cpp's CPU backend are thereby pinned down.
 * A tiny random-weight Q4_0 model (transform/synth/synth.c, made again here from
 * its seed) pins down llama.cpp's repacked Q4_0 path as well.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"
#include "offgrid_transform.h"
#include "testlib.h"

#define FIXTURE OG_TEST_DATA "/../fixtures/logits_exact.txt"

static void check_case(og_model *m, const char *name, const og_token *prompt, int n_prompt)
{
    og_context_params cp = og_context_default_params();
    cp.n_ctx = 512;
    og_context *ctx = NULL;
    og_error err = { 0 };
    if (og_context_new(m, &cp, &ctx, &err) != OG_OK) {
        CHECK(0, "%s: context: %s", name, err.message);
        return;
    }
    CHECK(og_decode(ctx, prompt, n_prompt, false, &err) == OG_OK, "%s: decode: %s", name, err.message);
    const int32_t n_vocab = og_vocab_size(m);
    for (int step = 0; step < 4; step++) {
        char key[64];
        double ids[20], want[20], want_sum;
        snprintf(key, sizeof key, "%s_step%d_ids:", name, step);
        int n_ids = og_test_fixture_numbers(FIXTURE, key, ids, 20);
        snprintf(key, sizeof key, "%s_step%d_logits:", name, step);
        int n_logits = og_test_fixture_numbers(FIXTURE, key, want, 20);
        snprintf(key, sizeof key, "%s_step%d_sum:", name, step);
        int n_sum = og_test_fixture_numbers(FIXTURE, key, &want_sum, 1);
        CHECK(n_ids == 20 && n_logits == 20 && n_sum == 1, "%s step %d: fixture incomplete", name, step);
        if (n_ids != 20 || n_logits != 20 || n_sum != 1)
            break;
        const float *logits = og_get_logits(ctx, -1);
        int exact = 0;
        for (int i = 0; i < 20; i++)
            exact += logits[(int)ids[i]] == (float)want[i];
        double sum = 0;
        for (int32_t t = 0; t < n_vocab; t++)
            sum += logits[t];
        CHECK(exact == 20, "%s step %d: %d of 20 top logits equal llama.cpp's (top: %a vs %a)", name, step, exact,
              logits[(int)ids[0]], (float)want[0]);
        CHECK(sum == want_sum, "%s step %d: sum of all logits %a, llama.cpp %a", name, step, sum, want_sum);
        og_token next = (og_token)ids[0];
        CHECK(og_decode(ctx, &next, 1, false, &err) == OG_OK, "%s: decode: %s", name, err.message);
    }
    og_context_free(ctx);
}

static int fixture_ids(const char *key, og_token *out, int max)
{
    double v[256];
    const char *file = strcmp(key, "prompt_ids:") == 0 ? OG_TEST_DATA "/../fixtures/smollm2_chat_greedy.txt" : FIXTURE;
    int n = og_test_fixture_numbers(file, key, v, max);
    for (int i = 0; i < n; i++)
        out[i] = (og_token)v[i];
    return n;
}

static og_model *load(const char *path)
{
    og_model *m = NULL;
    og_error err = { 0 };
    CHECK(path && og_model_load(path, NULL, &m, &err) == OG_OK, "load %s: %s", path ? path : "(missing)",
          err.message);
    return m;
}

int main(void)
{
    og_model *stories = load(og_test_path(OG_SHARED_MODELS, "stories260K.gguf"));
    if (stories) {
        og_token bos = 1;
        check_case(stories, "stories", &bos, 1);
        og_model_free(stories);
    }
    og_model *smol = load(og_test_smollm2_path());
    if (smol) {
        og_token chat[256], plain[] = { 504, 3575, 282, 4649, 314 }, long_ids[256];
        int n_chat = fixture_ids("prompt_ids:", chat, 256);
        int n_long = fixture_ids("long_prompt_ids:", long_ids, 256);
        CHECK(n_chat == 42 && n_long == 67, "prompt fixtures: %d and %d ids", n_chat, n_long);
        check_case(smol, "chat", chat, n_chat);
        check_case(smol, "plain", plain, 5);
        check_case(smol, "long", long_ids, n_long);
        og_model_free(smol);
    }
    /* Q4_0 matrices, the tied output among them, are repacked by llama.cpp
     * on x86 and computed in its block-sum order. */
    char tiny_path[] = "/tmp/og_test_tiny_q4_0_XXXXXX";
    int fd = mkstemp(tiny_path);
    og_error err = { 0 };
    CHECK(fd >= 0, "cannot make a temporary file");
    if (fd >= 0) {
        close(fd);
        CHECK(og_synth_write(tiny_path, "tiny", "q4_0", 1, NULL, NULL, &err) == OG_OK, "synth: %s", err.message);
        og_model *tiny = load(tiny_path);
        if (tiny) {
            og_token ids[64];
            int n_ids = fixture_ids("tiny_q4_0_prompt_ids:", ids, 64);
            CHECK(n_ids == 19, "tiny prompt fixture: %d ids", n_ids);
            check_case(tiny, "tiny_q4_0", ids, n_ids);
            og_model_free(tiny);
        }
        unlink(tiny_path);
    }
    return og_test_finish("test_exact");
}
