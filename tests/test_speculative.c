/*
 * test_speculative.c - speculative decoding (og_context_set_draft):
 * greedy output token for token the same as the target's alone (SmolLM2
 * as its own draft, and Qwen2.5-Coder 0.5B as the draft of 1.5B when
 * setup has fetched it), with the same finish, text and KV-cache ids
 * under max_tokens and stop strings; sampled output reproducible for a
 * seed; the acceptance rule's output distributed as p on hand-made
 * distributions; a draft with another vocabulary refused by name.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/sampler.h"
#include "run/speculative.h"
#include "testlib.h"

#define QWEN_SMALL OG_MODELS_DIR "/qwen2.5-coder-0.5b-instruct.gguf"
#define QWEN_LARGE OG_MODELS_DIR "/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

typedef struct run {
    og_token ids[256];
    int n;
    char text[4096];
    og_gen_result r;
    og_token cached[1024];
    int32_t n_cached;
    int stop_after; /* > 0: on_token stops generation after that many tokens */
} run;

static bool collect(void *user, const og_gen_token *t)
{
    run *r = user;
    if (t->id >= 0 && r->n < 256)
        r->ids[r->n++] = t->id;
    return !(r->stop_after > 0 && r->n >= r->stop_after);
}

static og_model *load(const char *path)
{
    og_model *m = NULL;
    og_error err = { 0 };
    CHECK(og_model_load(path, NULL, &m, &err) == OG_OK, "load %s: %s", path, err.message);
    return m;
}

static og_context *context(og_model *m)
{
    og_context_params cp = og_context_default_params();
    cp.n_ctx = 1024;
    cp.n_threads = 2;
    og_context *ctx = NULL;
    og_error err = { 0 };
    CHECK(og_context_new(m, &cp, &ctx, &err) == OG_OK, "context: %s", err.message);
    return ctx;
}

/* One generation of prompt on ctx with a fresh sampler at temperature. */
static void generate(og_context *ctx, og_model *m, const char *prompt, const og_gen_params *gp, float temperature,
                     run *out)
{
    int stop_after = out->stop_after;
    memset(out, 0, sizeof *out);
    out->stop_after = stop_after;
    og_token toks[512];
    int32_t n = og_tokenize(m, prompt, strlen(prompt), toks, 512, true, false);
    CHECK(n > 0 && n <= 512, "tokenize: %d", n);
    og_sampler_params sp = og_sampler_default_params();
    sp.temperature = temperature;
    sp.seed = 42;
    og_sampler *s = NULL;
    og_error err = { 0 };
    CHECK(og_sampler_new(&sp, og_vocab_size(m), &s, &err) == OG_OK, "sampler: %s", err.message);
    CHECK(og_generate(ctx, s, toks, n, gp, collect, out, &out->r, &err) == OG_OK, "generate: %s", err.message);
    snprintf(out->text, sizeof out->text, "%s", out->r.text);
    out->n_cached = og_context_n_past(ctx);
    if (out->n_cached <= 1024)
        memcpy(out->cached, og_context_tokens(ctx), (size_t)out->n_cached * sizeof(og_token));
    og_sampler_free(s);
}

static void same_run(const run *a, const run *b, const char *what)
{
    CHECK(a->n == b->n, "%s: %d tokens alone, %d with the draft", what, a->n, b->n);
    int first = -1;
    for (int i = 0; i < a->n && i < b->n && first < 0; i++)
        if (a->ids[i] != b->ids[i])
            first = i;
    CHECK(first < 0, "%s: token %d differs (%d alone, %d with the draft)", what, first, a->ids[first],
          b->ids[first]);
    CHECK(!strcmp(a->text, b->text), "%s: texts differ:\n%s\n---\n%s", what, a->text, b->text);
    CHECK(a->r.finish == b->r.finish, "%s: finish %s alone, %s with the draft", what, og_finish_name(a->r.finish),
          og_finish_name(b->r.finish));
    CHECK(a->n_cached == b->n_cached && !memcmp(a->cached, b->cached, (size_t)a->n_cached * sizeof(og_token)),
          "%s: the KV caches hold other ids (%d and %d tokens)", what, a->n_cached, b->n_cached);
}

/* Greedy runs of target with and without the draft: the same in every
 * respect; the draft proposed tokens and some were taken. */
static void greedy_identical(og_model *target, og_model *draft_model, const char *const *prompts, int n_prompts,
                             int32_t max_tokens, const char *label)
{
    og_context *plain = context(target), *ctx = context(target), *draft = context(draft_model);
    if (!plain || !ctx || !draft)
        return;
    og_error err = { 0 };
    CHECK(og_context_set_draft(ctx, draft, 0, &err) == OG_OK, "set_draft: %s", err.message);
    static const char *const stop[] = { "\n\n\n" };
    int32_t drafted = 0, accepted = 0;
    for (int i = 0; i < n_prompts; i++) {
        og_gen_params gp = og_gen_default_params();
        gp.max_tokens = max_tokens;
        gp.stop = stop;
        gp.n_stop = 1;
        run a, b;
        generate(plain, target, prompts[i], &gp, 0.0f, &a);
        generate(ctx, target, prompts[i], &gp, 0.0f, &b);
        char what[128];
        snprintf(what, sizeof what, "%s, prompt %d", label, i);
        same_run(&a, &b, what);
        CHECK(a.r.n_drafted == 0 && b.r.n_drafted > 0 && b.r.n_accepted <= b.r.n_drafted,
              "%s: drafted %d accepted %d", what, b.r.n_drafted, b.r.n_accepted);
        drafted += b.r.n_drafted;
        accepted += b.r.n_accepted;
        /* A second, shorter call reuses the cache the first left. */
        gp.max_tokens = 7;
        generate(plain, target, prompts[i], &gp, 0.0f, &a);
        generate(ctx, target, prompts[i], &gp, 0.0f, &b);
        same_run(&a, &b, what);
        CHECK(b.r.n_cached == a.r.n_cached, "%s: cached prefix %d alone, %d with the draft", what, a.r.n_cached,
              b.r.n_cached);
        /* A stop string that shows up, and a caller that stops after 5
         * tokens: the same cut, finish and cache. */
        static const char *const early[] = { "\n", "," };
        gp.max_tokens = max_tokens;
        gp.stop = early;
        gp.n_stop = 2;
        generate(plain, target, prompts[i], &gp, 0.0f, &a);
        generate(ctx, target, prompts[i], &gp, 0.0f, &b);
        same_run(&a, &b, what);
        gp.n_stop = 0;
        a.stop_after = b.stop_after = 5;
        generate(plain, target, prompts[i], &gp, 0.0f, &a);
        generate(ctx, target, prompts[i], &gp, 0.0f, &b);
        same_run(&a, &b, what);
        CHECK(b.r.finish == OG_FINISH_CANCELLED && b.n == 5, "%s: %s after %d tokens", what,
              og_finish_name(b.r.finish), b.n);
    }
    printf("%s: %d drafted, %d accepted (%.0f%%)\n", label, drafted, accepted,
           drafted ? 100.0 * accepted / drafted : 0.0);
    CHECK(accepted > 0, "%s: no proposal was accepted", label);
    og_context_free(ctx);
    og_context_free(draft);
    og_context_free(plain);
}

static const char *const CODE[] = {
    "<|im_start|>user\nWrite a Python function that returns the n-th Fibonacci number.<|im_end|>\n"
    "<|im_start|>assistant\n",
    "def quicksort(xs):\n",
    "<|im_start|>user\nWhat is the capital of France? Answer in one sentence.<|im_end|>\n<|im_start|>assistant\n",
};

static void test_smollm2_self(void)
{
    const char *path = og_test_smollm2_path();
    if (!path)
        return;
    og_model *m = load(path);
    if (!m)
        return;
    greedy_identical(m, m, CODE, 3, 96, "SmolLM2 drafting for itself");

    /* Sampling: a seed gives the same tokens twice, and a valid reply. */
    og_context *ctx = context(m), *draft = context(m);
    og_error err = { 0 };
    CHECK(og_context_set_draft(ctx, draft, 8, &err) == OG_OK, "set_draft: %s", err.message);
    og_gen_params gp = og_gen_default_params();
    gp.max_tokens = 48;
    run a, b;
    generate(ctx, m, CODE[1], &gp, 0.8f, &a);
    og_context_truncate(ctx, 0);
    og_context_truncate(draft, 0);
    generate(ctx, m, CODE[1], &gp, 0.8f, &b);
    same_run(&a, &b, "sampled twice with seed 42");
    CHECK(a.n == 48 && a.r.n_drafted > 0 && a.r.n_accepted > 0, "sampled: %d tokens, %d drafted, %d accepted", a.n,
          a.r.n_drafted, a.r.n_accepted);
    printf("sampled: %d drafted, %d accepted: %s\n", a.r.n_drafted, a.r.n_accepted, a.text);

    /* Bad lengths, and detaching. */
    CHECK(og_context_set_draft(ctx, draft, 17, &err) == OG_ERR_ARG, "draft_max 17 accepted");
    CHECK(og_context_set_draft(ctx, ctx, 4, &err) == OG_ERR_ARG, "a context drafting for itself accepted");
    CHECK(og_context_set_draft(ctx, NULL, 0, &err) == OG_OK, "detach: %s", err.message);
    generate(ctx, m, CODE[1], &gp, 0.0f, &a);
    CHECK(a.r.n_drafted == 0, "detached, yet %d drafted", a.r.n_drafted);
    og_context_free(ctx);
    og_context_free(draft);
    og_model_free(m);
}

static void test_qwen_pair(void)
{
    if (access(QWEN_SMALL, R_OK) != 0) {
        printf("skipped the Qwen pair: %s is missing (tools/setup.sh fetches it)\n", QWEN_SMALL);
        return;
    }
    og_model *small = load(QWEN_SMALL);
    const char *smol = og_test_smollm2_path();
    if (small && smol) {
        /* Another vocabulary: refused, naming both sizes. */
        og_model *other = load(smol);
        og_context *ctx = context(small), *draft = other ? context(other) : NULL;
        og_error err = { 0 };
        if (ctx && draft) {
            CHECK(og_context_set_draft(ctx, draft, 0, &err) == OG_ERR_ARG, "a SmolLM2 draft for Qwen accepted");
            CHECK(strstr(err.message, "vocabulary") && strstr(err.message, "49152") && strstr(err.message, "151936"),
                  "message: %s", err.message);
            printf("mismatch: %s\n", err.message);
        }
        og_context_free(ctx);
        og_context_free(draft);
        og_model_free(other);
    }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    /* Two whole Qwen models under a sanitizer take many minutes and run
     * no code the SmolLM2 pair does not; the optimized run checks them. */
    printf("skipped Qwen 0.5B drafting for 1.5B under a sanitizer\n");
    og_model_free(small);
    return;
#endif
    if (access(QWEN_LARGE, R_OK) != 0) {
        printf("skipped Qwen 0.5B drafting for 1.5B: %s is missing (setup will add it)\n", QWEN_LARGE);
        og_model_free(small);
        return;
    }
    og_model *large = load(QWEN_LARGE);
    if (small && large)
        greedy_identical(large, small, CODE, 1, 48, "Qwen 0.5B drafting for 1.5B");
    og_model_free(large);
    og_model_free(small);
}

/* The rule on hand-made p and q over 8 tokens: drafts drawn from q,
 * passed through og_spec_accept, come out distributed as p. */
static void test_rule(void)
{
    enum { NV = 8, N = 400000 };
    const og_token p_ids[] = { 0, 1, 2, 3, 5 };
    const float p[] = { 0.4f, 0.25f, 0.2f, 0.1f, 0.05f };
    const og_token q_ids[] = { 1, 0, 4, 2 }; /* q has a token p lacks, and lacks two p has */
    const float q[] = { 0.5f, 0.2f, 0.2f, 0.1f };
    float p_dense[NV] = { 0 }, q_dense[NV] = { 0 };
    og_sampler_params sp = og_sampler_default_params();
    sp.seed = 7;
    og_sampler *rng = NULL;
    og_error err = { 0 };
    CHECK(og_sampler_new(&sp, NV, &rng, &err) == OG_OK, "sampler: %s", err.message);
    if (!rng)
        return;
    int count[NV] = { 0 };
    for (int i = 0; i < N; i++) {
        double u = og_sampler_uniform(rng), cum = 0;
        og_token d = q_ids[3];
        for (int j = 0; j < 4; j++)
            if (u < (cum += q[j])) {
                d = q_ids[j];
                break;
            }
        og_token t = og_spec_accept(p_ids, p, 5, q_ids, q, 4, d, p_dense, q_dense, rng);
        CHECK(t >= 0 && t < NV, "token %d", t);
        if (t >= 0 && t < NV)
            count[t]++;
    }
    float want[NV] = { 0 };
    for (int j = 0; j < 5; j++)
        want[p_ids[j]] = p[j];
    for (int v = 0; v < NV; v++) {
        double got = (double)count[v] / N;
        /* 400000 draws: one standard error is at most 0.0008. */
        CHECK(fabs(got - want[v]) < 0.004, "token %d: %.4f drawn, p = %.4f", v, got, want[v]);
    }
    for (int v = 0; v < NV; v++)
        CHECK(p_dense[v] == 0 && q_dense[v] == 0, "scratch %d left dirty", v);
    og_sampler_free(rng);
}

int main(void)
{
    test_rule();
    test_smollm2_self();
    test_qwen_pair();
    return og_test_finish("test_speculative");
}
