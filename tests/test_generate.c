/*
 * test_generate.c - the one token loop (og_generate) on SmolLM2-135M:
 * stop strings cut the text where a plain run shows them, released text
 * adds up to the result, the context reuses its cached prefix (and a
 * continued run gives the same ids as one long run), log-probabilities
 * equal a log-softmax of the logits, json_object output stays a JSON
 * prefix, and cancellation, the deadline, max_tokens and a full context
 * end generation with the right reason. Also where streamed text may be
 * cut (whole UTF-8 characters only).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "run/json_grammar.h"
#include "testlib.h"

static const char *const PROMPT = "The three primary colors are";

/* What a run released, concatenated, and the ids it reported. */
typedef struct collected {
    char text[8192];
    size_t len;
    og_token ids[512];
    float logprobs[512];
    int n_ids, n_calls, stop_after; /* stop_after > 0: on_token says stop after that many tokens */
} collected;

static bool collect(void *user, const og_gen_token *t)
{
    collected *c = user;
    c->n_calls++;
    if (c->len + t->text_len < sizeof c->text) {
        memcpy(c->text + c->len, t->text, t->text_len);
        c->len += t->text_len;
        c->text[c->len] = 0;
    }
    if (t->id >= 0 && c->n_ids < 512) {
        c->logprobs[c->n_ids] = t->logprob;
        c->ids[c->n_ids++] = t->id;
    }
    return !(c->stop_after > 0 && c->n_ids >= c->stop_after);
}

static og_context *new_context(og_model *m, int32_t n_ctx)
{
    og_context_params cp = og_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_threads = 2;
    og_context *ctx = NULL;
    og_error err = { 0 };
    CHECK(og_context_new(m, &cp, &ctx, &err) == OG_OK, "context: %s", err.message);
    return ctx;
}

static og_sampler *greedy(og_model *m)
{
    og_sampler_params sp = og_sampler_default_params();
    sp.temperature = 0;
    og_sampler *s = NULL;
    og_error err = { 0 };
    CHECK(og_sampler_new(&sp, og_vocab_size(m), &s, &err) == OG_OK, "sampler: %s", err.message);
    return s;
}

static og_status generate(og_context *ctx, og_model *m, const og_token *prompt, int32_t n_prompt,
                          const og_gen_params *p, collected *c, og_gen_result *r)
{
    og_sampler *s = greedy(m);
    og_error err = { 0 };
    memset(c, 0, offsetof(collected, stop_after));
    og_status st = og_generate(ctx, s, prompt, n_prompt, p, collect, c, r, &err);
    CHECK(st == OG_OK || p == NULL, "og_generate: %s", err.message);
    og_sampler_free(s);
    return st;
}

static void test_utf8_whole(void)
{
    /* "é" is C3 A9, "€" E2 82 AC, U+1F600 F0 9F 98 80. */
    CHECK(og_utf8_whole("abc", 3) == 3, "ascii");
    CHECK(og_utf8_whole("a\xc3", 2) == 1, "half of a 2-byte character is held back");
    CHECK(og_utf8_whole("a\xc3\xa9", 3) == 3, "a whole 2-byte character");
    CHECK(og_utf8_whole("\xe2\x82", 2) == 0, "2 of 3 bytes");
    CHECK(og_utf8_whole("x\xf0\x9f\x98", 4) == 1, "3 of 4 bytes");
    CHECK(og_utf8_whole("x\xf0\x9f\x98\x80", 5) == 5, "a whole 4-byte character");
    CHECK(og_utf8_whole("x\xff", 2) == 2, "an invalid byte is not held back (it can never complete)");
}

static void test_loop(og_model *m)
{
    og_token prompt[64];
    int32_t n_prompt = og_tokenize(m, PROMPT, strlen(PROMPT), prompt, 64, true, false);
    CHECK(n_prompt > 0 && n_prompt < 64, "prompt tokens: %d", n_prompt);
    og_context *ctx = new_context(m, 256);
    if (!ctx || n_prompt <= 0)
        return;
    static collected plain, c;
    og_gen_result r;
    og_gen_params p = og_gen_default_params();

    /* A plain greedy run: the released text is the result's text. */
    p.max_tokens = 48;
    generate(ctx, m, prompt, n_prompt, &p, &plain, &r);
    CHECK(r.finish == OG_FINISH_LENGTH && r.n_gen == 48 && plain.n_ids == 48, "plain run: %d tokens, %s", r.n_gen,
          og_finish_name(r.finish));
    CHECK(r.text_len == plain.len && !memcmp(r.text, plain.text, plain.len), "released text adds up to the result");
    CHECK(r.n_cached == 0, "a fresh context reuses nothing (%d)", r.n_cached);
    printf("plain: '%s'\n", plain.text);

    /* A stop string taken from the middle of that text ends it there. */
    size_t at = plain.len / 2;
    while (at < plain.len && plain.text[at] != ' ')
        at++;
    char stop[8] = { 0 };
    memcpy(stop, plain.text + at, plain.len - at < 5 ? plain.len - at : 5);
    const char *first = strstr(plain.text, stop);
    const char *stops[] = { "never appears \x01", stop };
    p.stop = stops;
    p.n_stop = 2;
    generate(ctx, m, prompt, n_prompt, &p, &c, &r);
    CHECK(r.finish == OG_FINISH_STOP, "stop string '%s': %s", stop, og_finish_name(r.finish));
    CHECK(first && r.text_len == (size_t)(first - plain.text) && !memcmp(r.text, plain.text, r.text_len),
          "cut before '%s': got '%s'", stop, r.text);
    CHECK(c.len == r.text_len && !memcmp(c.text, r.text, c.len), "released text never shows the stop string");
    CHECK(r.n_cached == n_prompt - 1, "the same prompt again reuses %d of %d tokens", r.n_cached, n_prompt);
    p.stop = NULL;
    p.n_stop = 0;

    /* Continuing from prompt + 24 generated ids gives the long run's ids. */
    og_token longer[128];
    memcpy(longer, prompt, (size_t)n_prompt * sizeof *prompt);
    memcpy(longer + n_prompt, plain.ids, 24 * sizeof *prompt);
    p.max_tokens = 24;
    og_context_truncate(ctx, 0);
    generate(ctx, m, longer, n_prompt, &p, &c, &r); /* the cache: the prompt and 24 ids */
    generate(ctx, m, longer, n_prompt + 24, &p, &c, &r);
    CHECK(r.n_cached == n_prompt + 23, "continuation reused %d of %d tokens", r.n_cached, n_prompt + 24);
    CHECK(c.n_ids == 24 && !memcmp(c.ids, plain.ids + 24, 24 * sizeof *c.ids), "continued ids equal the long run's");
    const og_token *cached = og_context_tokens(ctx);
    CHECK(og_context_n_past(ctx) == n_prompt + 48 && !memcmp(cached + n_prompt, plain.ids, 48 * sizeof *cached),
          "the context remembers the ids in its cache");

    /* Log-probabilities: a log-softmax of the logits the loop saw. */
    p.max_tokens = 8;
    p.logprobs = true;
    generate(ctx, m, prompt, n_prompt, &p, &c, &r);
    og_context *check = new_context(m, 256);
    og_error err = { 0 };
    if (check && og_decode(check, prompt, n_prompt, false, &err) == OG_OK) {
        const float *logits = og_get_logits(check, -1);
        int32_t n_vocab = og_vocab_size(m);
        double max = -INFINITY, sum = 0;
        for (int32_t v = 0; v < n_vocab; v++)
            max = fmax(max, logits[v]);
        for (int32_t v = 0; v < n_vocab; v++)
            sum += exp(logits[v] - max);
        double want = logits[c.ids[0]] - max - log(sum);
        CHECK(fabs(c.logprobs[0] - want) < 1e-4, "logprob %.6f, want %.6f", c.logprobs[0], want);
        CHECK(og_test_argmax(logits, n_vocab) == c.ids[0], "greedy picks the argmax");
    }
    for (int i = 0; i < c.n_ids; i++)
        CHECK(c.logprobs[i] <= 0 && c.logprobs[i] > -30, "logprob %d: %f", i, c.logprobs[i]);
    og_context_free(check);
    p.logprobs = false;

    /* on_token asking to stop, a cancel callback, the deadline. */
    c.stop_after = 3;
    p.max_tokens = 20;
    generate(ctx, m, prompt, n_prompt, &p, &c, &r);
    CHECK(r.finish == OG_FINISH_CANCELLED && r.n_gen == 3, "on_token stop: %d tokens, %s", r.n_gen,
          og_finish_name(r.finish));
    CHECK(r.text_len == c.len && !memcmp(r.text, c.text, c.len), "after on_token stops, the result is what it saw");
    c.stop_after = 0;
    p.max_seconds = 1e-9;
    generate(ctx, m, prompt, n_prompt, &p, &c, &r);
    CHECK(r.finish == OG_FINISH_DEADLINE && r.n_gen == 0, "deadline: %d tokens, %s", r.n_gen, og_finish_name(r.finish));
    p.max_seconds = 0;

    /* json_object: every step stays a prefix of one JSON object. */
    p.json_object = true;
    p.max_tokens = 40;
    generate(ctx, m, prompt, n_prompt, &p, &c, &r);
    og_json_state js;
    og_json_init(&js, true);
    CHECK(r.n_gen > 0 && r.text[0] == '{' && og_json_feed(&js, r.text, r.text_len), "json_object output '%s'",
          r.text);
    CHECK(r.finish == OG_FINISH_LENGTH || (r.finish == OG_FINISH_STOP && og_json_complete(&js)),
          "json_object ends complete or at max_tokens: %s", og_finish_name(r.finish));
    printf("json_object: '%s' (%s)\n", r.text, og_finish_name(r.finish));
    og_context_free(ctx);

    /* A small context fills up; a prompt larger than it is an error. */
    ctx = new_context(m, 16);
    p = og_gen_default_params();
    generate(ctx, m, prompt, n_prompt, &p, &c, &r);
    CHECK(r.finish == OG_FINISH_CONTEXT_FULL && r.n_gen == 16 - n_prompt + 1, "full context after %d tokens: %s",
          r.n_gen, og_finish_name(r.finish));
    og_token big[17] = { 0 };
    og_sampler *s = greedy(m);
    CHECK(og_generate(ctx, s, big, 17, NULL, NULL, NULL, NULL, NULL) == OG_ERR_CONTEXT_FULL,
          "a prompt over the context is refused, with or without an og_error");
    const char *too_many[OG_GEN_MAX_STOP + 1] = { 0 };
    p.stop = too_many;
    p.n_stop = OG_GEN_MAX_STOP + 1;
    CHECK(og_generate(ctx, s, prompt, n_prompt, &p, NULL, NULL, NULL, NULL) == OG_ERR_ARG, "too many stop strings");
    og_sampler_free(s);
    og_sampler_params sp = og_sampler_default_params();
    CHECK(og_sampler_new(&sp, og_vocab_size(m) + 1, &s, NULL) == OG_OK &&
              og_generate(ctx, s, prompt, n_prompt, NULL, NULL, NULL, NULL, NULL) == OG_ERR_ARG,
          "a sampler made for another vocabulary is refused");
    og_sampler_free(s);
    og_context_free(ctx);
}

int main(void)
{
    test_utf8_whole();
    const char *path = og_test_smollm2_path();
    if (path) {
        og_model *m = NULL;
        og_error err = { 0 };
        CHECK(og_model_load(path, NULL, &m, &err) == OG_OK, "load: %s", err.message);
        if (m)
            test_loop(m);
        og_model_free(m);
    } else {
        CHECK(0, "SmolLM2 is missing: run tools/setup.sh");
    }
    return og_test_finish("test_generate");
}
