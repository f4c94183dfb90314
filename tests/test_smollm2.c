/*
 * test_smollm2.c - SmolLM2-135M-Instruct Q4_1 against llama.cpp's figures
 * (tests/fixtures, made with llama.cpp b4747; see fixtures/README.md):
 * the chat template and tokenizer give llama.cpp's prompt ids, greedy
 * generation gives the same 64 ids, the chat API answers and keeps its
 * cache between turns, and perplexity on tests/data/ppl_text.txt is
 * within 0.5%. (test_exact.c checks the logits themselves.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "testlib.h"

#define FIXTURE(name) OG_TEST_DATA "/../fixtures/" name

static int read_ids(const char *path, const char *key, og_token *out, int max)
{
    double v[512];
    int n = og_test_fixture_numbers(path, key, v, max < 512 ? max : 512);
    for (int i = 0; i < n; i++)
        out[i] = (og_token)v[i];
    return n;
}

static og_context *new_context(og_model *m, int n_ctx)
{
    og_context_params cp = og_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    og_context *ctx = NULL;
    og_error err = { 0 };
    CHECK(og_context_new(m, &cp, &ctx, &err) == OG_OK, "context: %s", err.message);
    return ctx;
}

/* Greedy generation of n ids after prompt, not stopping at EOG, like the
 * reference program. Returns how many leading ids match want. */
static int greedy_prefix(og_model *m, const og_token *prompt, int n_prompt, const og_token *want, int n)
{
    og_context *ctx = new_context(m, 256);
    if (!ctx)
        return 0;
    og_error err = { 0 };
    int same = 0;
    CHECK(og_decode(ctx, prompt, n_prompt, false, &err) == OG_OK, "decode prompt: %s", err.message);
    for (int i = 0; i < n; i++) {
        og_token t = og_test_argmax(og_get_logits(ctx, -1), og_vocab_size(m));
        if (t != want[i])
            break;
        same++;
        if (og_decode(ctx, &t, 1, false, &err) != OG_OK)
            break;
    }
    og_context_free(ctx);
    return same;
}

static void test_chat_prompt(og_model *m)
{
    const char *path = FIXTURE("smollm2_chat_greedy.txt");
    og_token want_prompt[128], want_gen[64];
    int n_prompt = read_ids(path, "prompt_ids:", want_prompt, 128);
    int n_gen = read_ids(path, "generated_ids:", want_gen, 64);
    CHECK(n_prompt == 42 && n_gen == 64, "fixture: %d prompt ids, %d generated", n_prompt, n_gen);
    if (n_prompt != 42 || n_gen != 64)
        return;

    og_chat_message msgs[] = { { "user", "What is the capital of France? Answer in one sentence." } };
    char text[1024];
    int32_t len = og_chat_apply_template(m, msgs, 1, true, text, sizeof text);
    CHECK(len > 0 && len < (int32_t)sizeof text, "template length %d", len);
    og_token got[128];
    int32_t n = og_tokenize(m, text, (size_t)len, got, 128, true, true);
    CHECK(n == n_prompt && memcmp(got, want_prompt, sizeof(og_token) * (size_t)n) == 0,
          "rendered and tokenized chat prompt differs from llama.cpp's (%d ids)", n);

    int same = greedy_prefix(m, want_prompt, n_prompt, want_gen, 64);
    printf("chat prompt: %d of 64 greedy ids equal llama.cpp's\n", same);
    CHECK(same == 64, "greedy chat answer: only the first %d of 64 ids equal llama.cpp's", same);

    /* The same answer through the chat API stops at <|im_end|>. */
    og_error err = { 0 };
    og_context *cctx = new_context(m, 256);
    og_chat *chat = NULL;
    og_sampler_params sp = og_sampler_default_params();
    sp.temperature = 0;
    og_sampler *s = NULL;
    og_sampler_new(&sp, og_vocab_size(m), &s, &err);
    og_gen_result res;
    og_gen_params gp = og_gen_default_params();
    gp.max_tokens = 64;
    if (cctx && og_chat_new(cctx, &chat, &err) == OG_OK && og_chat_add(chat, "user", msgs[0].content, &err) == OG_OK &&
        og_chat_respond(chat, s, &gp, NULL, NULL, &res, &err) == OG_OK) {
        const og_chat_message *reply = og_chat_message_at(chat, 1);
        CHECK(reply && !strcmp(reply->role, "assistant") && !strcmp(reply->content, "The capital of France is Paris."),
              "chat reply '%s'", reply ? reply->content : "(none)");
        CHECK(res.finish == OG_FINISH_EOG && res.n_gen == 7, "chat stopped after %d tokens (%s)", res.n_gen,
              og_finish_name(res.finish));
        /* A second turn reuses the cached conversation. */
        int32_t cached = og_context_n_past(cctx);
        CHECK(og_chat_add(chat, "user", "And of Italy?", &err) == OG_OK, "add");
        gp.max_tokens = 32;
        CHECK(og_chat_respond(chat, s, &gp, NULL, NULL, &res, &err) == OG_OK, "second turn: %s", err.message);
        int32_t decoded = res.n_prompt - res.n_cached;
        CHECK(decoded < 20 && og_context_n_past(cctx) > cached,
              "second turn decoded %d prompt tokens on top of %d cached", decoded, cached);
        printf("chat second turn: '%s' (%d new prompt tokens)\n", og_chat_message_at(chat, 3)->content, decoded);
    } else {
        CHECK(0, "chat API: %s", err.message);
    }
    og_sampler_free(s);
    og_chat_free(chat);
    og_context_free(cctx);
}

static void test_plain_prompt(og_model *m)
{
    const char *path = FIXTURE("smollm2_plain_greedy.txt");
    og_token want_prompt[16], want_gen[64], got[16];
    int n_prompt = read_ids(path, "prompt_ids:", want_prompt, 16);
    int n_gen = read_ids(path, "generated_ids:", want_gen, 64);
    const char *text = "The capital of France is";
    int32_t n = og_tokenize(m, text, strlen(text), got, 16, true, true);
    CHECK(n == n_prompt && !memcmp(got, want_prompt, sizeof(og_token) * (size_t)n), "plain prompt ids");
    int same = n_gen == 64 ? greedy_prefix(m, want_prompt, n_prompt, want_gen, 64) : 0;
    printf("plain prompt: %d of 64 greedy ids equal llama.cpp's\n", same);
    CHECK(same == 64, "plain greedy: only the first %d of 64 ids equal llama.cpp's", same);
}

static void test_perplexity(og_model *m)
{
    double ref;
    CHECK(og_test_fixture_numbers(FIXTURE("smollm2_ppl.txt"), "ctx 512 ppl ", &ref, 1) == 1, "ppl fixture");
    size_t len;
    char *text = og_test_read_file(OG_TEST_DATA "/ppl_text.txt", &len);
    if (!text)
        return;
    og_token *tokens = malloc((len + 16) * sizeof *tokens);
    int32_t n = og_tokenize(m, text, len, tokens, (int32_t)len + 16, true, false);
    CHECK(n == 6098, "ppl text has %d tokens, llama.cpp counts 6098", n);
    og_context *ctx = new_context(m, 512);
    og_ppl_result res = { 0 };
    og_error err = { 0 };
    if (ctx && og_perplexity(ctx, tokens, n, 512, NULL, NULL, &res, &err) == OG_OK) {
        double rel = fabs(res.ppl - ref) / ref;
        printf("perplexity ctx 512: %.4f, llama.cpp %.4f, difference %.3f%%\n", res.ppl, ref, 100 * rel);
        CHECK(res.n_chunks == 11 && res.n_scored == 2805, "chunks %d scored %lld", res.n_chunks,
              (long long)res.n_scored);
        CHECK(rel < 0.005, "perplexity %.4f is not within 0.5%% of llama.cpp's %.4f", res.ppl, ref);
    } else {
        CHECK(0, "perplexity: %s", err.message);
    }
    og_context_free(ctx);
    free(tokens);
    free(text);
}

int main(void)
{
    const char *path = og_test_smollm2_path();
    CHECK(path != NULL, "SmolLM2 model missing: run tools/setup.sh");
    if (!path)
        return og_test_finish("test_smollm2");
    og_model *m = NULL;
    og_error err = { 0 };
    CHECK(og_model_load(path, NULL, &m, &err) == OG_OK, "load: %s", err.message);
    if (m) {
        test_chat_prompt(m);
        test_plain_prompt(m);
        test_perplexity(m);
    }
    og_model_free(m);
    return og_test_finish("test_smollm2");
}
