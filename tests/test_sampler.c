/*
 * test_sampler.c - the sampler chain: greedy, seeding, top-k, top-p,
 * min-p, the distribution of draws, the repetition penalty and argument
 * checks.
 */
#include "offgrid.h"
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A sampler that only draws from the softmax (every filter off). */
static og_sampler_params plain_params(float temperature, uint64_t seed)
{
    og_sampler_params p = og_sampler_default_params();
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    p.seed = seed;
    return p;
}

static og_sampler *make(const og_sampler_params *p, int32_t n_vocab)
{
    og_sampler *s = NULL;
    og_error err = {0};
    og_status st = og_sampler_new(p, n_vocab, &s, &err);
    CHECK(st == OG_OK && s, "og_sampler_new: %s", err.message);
    return s;
}

/* Deterministic pseudo-random logits, independent of the sampler's rng. */
static void fill_logits(float *logits, int32_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (int32_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        logits[i] = (float)(x % 20000) / 1000.0f - 10.0f;
    }
}

static int32_t argmax(const float *logits, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (logits[i] > logits[best])
            best = i;
    return best;
}

static void test_defaults_and_errors(void)
{
    og_sampler_params p = og_sampler_default_params();
    CHECK(fabsf(p.temperature - 0.8f) < 1e-6f, "temperature %g", p.temperature);
    CHECK(p.top_k == 40, "top_k %d", p.top_k);
    CHECK(fabsf(p.top_p - 0.95f) < 1e-6f, "top_p %g", p.top_p);
    CHECK(fabsf(p.min_p - 0.05f) < 1e-6f, "min_p %g", p.min_p);
    CHECK(p.repeat_penalty == 1.0f, "repeat_penalty %g", p.repeat_penalty);
    CHECK(p.repeat_last_n == 64, "repeat_last_n %d", p.repeat_last_n);
    CHECK(og_sampler_default_params().seed == p.seed, "default seed is fixed");

    og_sampler *s = (og_sampler *)1;
    og_error err = {0};
    CHECK(og_sampler_new(&p, 0, &s, &err) == OG_ERR_ARG && s == NULL, "n_vocab 0");
    CHECK(err.code == OG_ERR_ARG && strstr(err.message, "n_vocab"), "message: %s", err.message);
    CHECK(og_sampler_new(&p, -5, &s, NULL) == OG_ERR_ARG, "n_vocab < 0 without err");

    og_sampler_params bad = p;
    bad.repeat_penalty = -1.1f;
    memset(&err, 0, sizeof err);
    CHECK(og_sampler_new(&bad, 100, &s, &err) == OG_ERR_ARG, "negative penalty");
    CHECK(strstr(err.message, "repeat_penalty") != NULL, "message: %s", err.message);
    bad.repeat_penalty = 0.0f;
    CHECK(og_sampler_new(&bad, 100, &s, NULL) == OG_ERR_ARG, "zero penalty");
    bad = p;
    bad.repeat_last_n = -1;
    CHECK(og_sampler_new(&bad, 100, &s, NULL) == OG_ERR_ARG, "negative repeat_last_n");
    bad = p;
    bad.temperature = NAN;
    CHECK(og_sampler_new(&bad, 100, &s, NULL) == OG_ERR_ARG, "NaN temperature");
    CHECK(og_sampler_new(&p, 100, NULL, NULL) == OG_ERR_ARG, "NULL out");

    /* NULL params means the defaults. */
    s = NULL;
    CHECK(og_sampler_new(NULL, 10, &s, NULL) == OG_OK && s, "NULL params");
    CHECK(og_sampler_sample(s, NULL) == -1, "NULL logits");
    og_sampler_free(s);
    og_sampler_free(NULL);
}

static void test_greedy(void)
{
    enum { N = 1000 };
    static float logits[N];
    og_sampler_params p = og_sampler_default_params();
    p.temperature = 0.0f;
    og_sampler *s = make(&p, N);
    for (uint32_t trial = 0; trial < 20; trial++) {
        fill_logits(logits, N, trial);
        og_token t = og_sampler_sample(s, logits);
        CHECK(t == argmax(logits, N), "trial %u: greedy %d, argmax %d", trial, t, argmax(logits, N));
    }
    /* Ties go to the lowest id, as in llama.cpp's greedy sampler. */
    float tied[5] = {0.0f, 3.0f, 1.0f, 3.0f, 3.0f};
    og_sampler *five = make(&p, 5);
    CHECK(og_sampler_sample(five, tied) == 1, "tie -> lowest id");
    og_sampler_free(five);
    p.temperature = -1.0f;
    og_sampler *neg = make(&p, 5);
    CHECK(og_sampler_sample(neg, tied) == 1, "negative temperature is greedy too");
    og_sampler_free(neg);
    og_sampler_free(s);
}

static void test_seeds(void)
{
    enum { N = 64, DRAWS = 200 };
    float logits[N];
    for (int i = 0; i < N; i++)
        logits[i] = 0.01f * (float)i; /* nearly flat: every draw matters */
    og_sampler_params p = plain_params(1.0f, 1234);
    og_sampler *a = make(&p, N), *b = make(&p, N);
    p.seed = 1235;
    og_sampler *c = make(&p, N);
    og_token seq_a[DRAWS];
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < DRAWS; i++) {
        seq_a[i] = og_sampler_sample(a, logits);
        og_token tb = og_sampler_sample(b, logits), tc = og_sampler_sample(c, logits);
        same_ab &= seq_a[i] == tb;
        same_ac &= seq_a[i] == tc;
    }
    CHECK(same_ab, "same seed gives the same sequence");
    CHECK(!same_ac, "a different seed gives a different sequence");

    /* reset replays the run from its seed. */
    og_sampler_reset(a);
    int replay = 1;
    for (int i = 0; i < DRAWS; i++)
        replay &= og_sampler_sample(a, logits) == seq_a[i];
    CHECK(replay, "reset replays the same draws");

    /* Seed 0 is an ordinary seed, not "random". */
    p.seed = 0;
    og_sampler *z1 = make(&p, N), *z2 = make(&p, N);
    int same_zero = 1;
    for (int i = 0; i < DRAWS; i++)
        same_zero &= og_sampler_sample(z1, logits) == og_sampler_sample(z2, logits);
    CHECK(same_zero, "seed 0 is reproducible");
    og_sampler_free(z1);
    og_sampler_free(z2);
    og_sampler_free(a);
    og_sampler_free(b);
    og_sampler_free(c);
}

static void test_top_k_one_is_greedy(void)
{
    enum { N = 50000 };
    static float logits[N];
    og_sampler_params p = plain_params(1.5f, 7);
    p.top_k = 1;
    og_sampler *s = make(&p, N);
    for (uint32_t trial = 0; trial < 10; trial++) {
        fill_logits(logits, N, 100 + trial);
        og_token t = og_sampler_sample(s, logits);
        CHECK(t == argmax(logits, N), "top_k=1 gave %d, argmax %d", t, argmax(logits, N));
    }
    og_sampler_free(s);
}

static void test_distribution(void)
{
    enum { N = 6, DRAWS = 20000 };
    const float logits[N] = {1.0f, 2.0f, 0.5f, -1.0f, 2.5f, 0.0f};
    double expect[N], sum = 0.0;
    for (int i = 0; i < N; i++)
        sum += expect[i] = exp(logits[i]);
    og_sampler_params p = plain_params(1.0f, 42);
    og_sampler *s = make(&p, N);
    int count[N] = {0};
    for (int i = 0; i < DRAWS; i++) {
        og_token t = og_sampler_sample(s, logits);
        CHECK(t >= 0 && t < N, "token %d out of range", t);
        if (t >= 0 && t < N)
            count[t]++;
    }
    for (int i = 0; i < N; i++) {
        double want = expect[i] / sum, got = (double)count[i] / DRAWS;
        /* sd <= 0.0036 at 20k draws; 0.015 is over 4 sd. */
        CHECK(fabs(got - want) < 0.015, "token %d: frequency %.4f, softmax %.4f", i, got, want);
    }
    og_sampler_free(s);

    /* Temperature 2 flattens: softmax of logits / 2. */
    p = plain_params(2.0f, 43);
    s = make(&p, N);
    memset(count, 0, sizeof count);
    sum = 0.0;
    for (int i = 0; i < N; i++)
        sum += expect[i] = exp(logits[i] / 2.0);
    for (int i = 0; i < DRAWS; i++)
        count[og_sampler_sample(s, logits)]++;
    for (int i = 0; i < N; i++) {
        double want = expect[i] / sum, got = (double)count[i] / DRAWS;
        CHECK(fabs(got - want) < 0.015, "T=2 token %d: frequency %.4f, softmax %.4f", i, got, want);
    }
    og_sampler_free(s);
}

/* Logits whose softmax is exactly probs. */
static void logits_of(const double *probs, float *logits, int n)
{
    for (int i = 0; i < n; i++)
        logits[i] = (float)log(probs[i]);
}

static void test_top_p_min_p(void)
{
    enum { N = 5, DRAWS = 5000 };
    const double probs[N] = {0.05, 0.5, 0.15, 0.3, 0.0};
    float logits[N];
    logits_of(probs, logits, N - 1);
    logits[N - 1] = -INFINITY; /* a masked token */

    /* top_p 0.7: 0.5 < 0.7 <= 0.8 keeps {1, 3}, in ratio 5:3. */
    og_sampler_params p = plain_params(1.0f, 9);
    p.top_p = 0.7f;
    og_sampler *s = make(&p, N);
    int count[N] = {0};
    for (int i = 0; i < DRAWS; i++)
        count[og_sampler_sample(s, logits)]++;
    CHECK(count[0] == 0 && count[2] == 0 && count[4] == 0, "top_p kept %d %d %d", count[0], count[2], count[4]);
    CHECK(fabs((double)count[1] / DRAWS - 0.625) < 0.03, "top_p renormalised: %d of %d", count[1], DRAWS);
    og_sampler_free(s);

    /* top_p tiny keeps only the most likely token. */
    p.top_p = 0.0f;
    s = make(&p, N);
    int only_best = 1;
    for (int i = 0; i < 200; i++)
        only_best &= og_sampler_sample(s, logits) == 1;
    CHECK(only_best, "top_p 0 keeps one token");
    og_sampler_free(s);

    /* min_p 0.2: keeps p >= 0.1, i.e. {1, 2, 3} but not 0 (0.05). */
    p = plain_params(1.0f, 10);
    p.min_p = 0.2f;
    s = make(&p, N);
    memset(count, 0, sizeof count);
    for (int i = 0; i < DRAWS; i++)
        count[og_sampler_sample(s, logits)]++;
    CHECK(count[0] == 0 && count[4] == 0, "min_p kept token 0 %d times", count[0]);
    CHECK(count[1] > 0 && count[2] > 0 && count[3] > 0, "min_p dropped too much: %d %d %d",
          count[1], count[2], count[3]);
    og_sampler_free(s);

    /* min_p after top_k (sorted path) gives the same set. */
    p.top_k = 3;
    p.min_p = 0.4f; /* keeps p >= 0.2: {1, 3} */
    s = make(&p, N);
    memset(count, 0, sizeof count);
    for (int i = 0; i < DRAWS; i++)
        count[og_sampler_sample(s, logits)]++;
    CHECK(count[0] == 0 && count[2] == 0 && count[4] == 0 && count[1] > 0 && count[3] > 0,
          "top_k+min_p: %d %d %d %d %d", count[0], count[1], count[2], count[3], count[4]);
    og_sampler_free(s);
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* On a real-sized vocabulary every draw must come from the set a full
 * sort says top-k / top-p should keep. */
static void test_large_vocab_filters(void)
{
    enum { N = 50000, DRAWS = 300 };
    static float logits[N], sorted[N];
    fill_logits(logits, N, 77);
    memcpy(sorted, logits, sizeof sorted);
    qsort(sorted, N, sizeof *sorted, cmp_desc);

    og_sampler_params p = plain_params(1.0f, 5);
    p.top_k = 40;
    og_sampler *s = make(&p, N);
    int ok = 1;
    for (int i = 0; i < DRAWS; i++)
        ok &= logits[og_sampler_sample(s, logits)] >= sorted[39];
    CHECK(ok, "top_k 40 drew outside the top 40");
    og_sampler_free(s);

    /* top-p alone against the nucleus of a full sort, on a flat
     * distribution (a nucleus of thousands), a medium one (hundreds) and
     * a peaked one (dozens): the sampler orders only what it needs, by
     * different routes for each. */
    const float scales[3] = {1.0f, 8.0f, 100.0f};
    const int min_nucleus[3] = {1000, 300, 5}, max_nucleus[3] = {N / 2, 1000, 250};
    for (int sc = 0; sc < 3; sc++) {
        static float scaled[N];
        for (int i = 0; i < N; i++) {
            scaled[i] = logits[i] * scales[sc];
            sorted[i] = scaled[i];
        }
        qsort(sorted, N, sizeof *sorted, cmp_desc);
        double max = sorted[0], sum = 0.0, cum = 0.0;
        for (int i = 0; i < N; i++)
            sum += exp(sorted[i] - max);
        int nucleus = 0;
        while (nucleus < N) {
            cum += exp(sorted[nucleus] - max) / sum;
            nucleus++;
            if (cum >= 0.9)
                break;
        }
        CHECK(nucleus > min_nucleus[sc] && nucleus < max_nucleus[sc], "test setup: nucleus of %d tokens", nucleus);
        p = plain_params(1.0f, 6);
        p.top_p = 0.9f;
        s = make(&p, N);
        ok = 1;
        int near_edge = 0;
        for (int i = 0; i < DRAWS * 5; i++) {
            float l = scaled[og_sampler_sample(s, scaled)];
            ok &= l >= sorted[nucleus - 1];
            near_edge += l < sorted[nucleus / 2];
        }
        CHECK(ok, "top_p 0.9 drew outside the %d-token nucleus", nucleus);
        CHECK(near_edge > 0, "top_p never drew from the nucleus' lower half");
        og_sampler_free(s);
    }
    memcpy(sorted, logits, sizeof sorted);
    qsort(sorted, N, sizeof *sorted, cmp_desc);

    /* The default chain runs on a big vocabulary and stays in the top 40. */
    p = og_sampler_default_params();
    s = make(&p, N);
    ok = 1;
    for (int i = 0; i < DRAWS; i++)
        ok &= logits[og_sampler_sample(s, logits)] >= sorted[39];
    CHECK(ok, "default chain drew outside the top 40");
    og_sampler_free(s);
}

static void test_repeat_penalty(void)
{
    og_sampler_params p = og_sampler_default_params();
    p.temperature = 0.0f;
    p.repeat_penalty = 1.1f;
    p.repeat_last_n = 3;
    og_sampler *s = make(&p, 4);

    /* Positive logits are divided: 2.0 / 1.1 = 1.82 < 1.9. */
    float pos[4] = {2.0f, 1.9f, 0.0f, -3.0f};
    CHECK(og_sampler_sample(s, pos) == 0, "no history: argmax");
    og_sampler_accept(s, 0);
    CHECK(og_sampler_sample(s, pos) == 1, "penalised token 0 loses to 1");
    /* Repeats in the window count once: 2.0 / 1.1, not / 1.21. */
    float close[4] = {2.0f, 1.7f, 0.0f, -3.0f};
    og_sampler_accept(s, 0);
    CHECK(og_sampler_sample(s, close) == 0, "penalty applied once per distinct token");

    /* Negative logits are multiplied: -1.0 * 1.1 = -1.1 < -1.05. */
    og_sampler_reset(s);
    float neg[4] = {-1.0f, -1.05f, -2.0f, -3.0f};
    CHECK(og_sampler_sample(s, neg) == 0, "reset clears the history");
    og_sampler_accept(s, 0);
    CHECK(og_sampler_sample(s, neg) == 1, "negative logit pushed further down");

    /* Token 0 leaves the 3-token window. */
    og_sampler_accept(s, 2);
    og_sampler_accept(s, 3);
    CHECK(og_sampler_sample(s, neg) == 1, "still inside the window");
    og_sampler_accept(s, 2);
    CHECK(og_sampler_sample(s, neg) == 0, "outside the window: no penalty");

    /* The logits are not modified, and bad ids are ignored. */
    og_sampler_accept(s, -1);
    og_sampler_accept(s, 4);
    CHECK(pos[0] == 2.0f && neg[0] == -1.0f, "logits untouched");
    og_sampler_free(s);

    /* Penalty 1 is off. */
    p.repeat_penalty = 1.0f;
    s = make(&p, 4);
    og_sampler_accept(s, 0);
    CHECK(og_sampler_sample(s, pos) == 0, "penalty 1 changes nothing");
    og_sampler_free(s);

    /* repeat_last_n 0 is off too. */
    p.repeat_penalty = 1.5f;
    p.repeat_last_n = 0;
    s = make(&p, 4);
    og_sampler_accept(s, 0);
    CHECK(og_sampler_sample(s, pos) == 0, "repeat_last_n 0 changes nothing");
    og_sampler_free(s);
}

static void test_odd_logits(void)
{
    float logits[4] = {NAN, 1.0f, INFINITY, -INFINITY};
    og_sampler_params p = og_sampler_default_params();
    og_sampler *s = make(&p, 4);
    CHECK(og_sampler_sample(s, logits) == 2, "+inf wins, NaN never");
    og_sampler_params greedy = og_sampler_default_params();
    greedy.temperature = 0.0f;
    og_sampler *g = make(&greedy, 4);
    CHECK(og_sampler_sample(g, logits) == 2, "greedy: +inf wins, NaN never");
    float nan_first[4] = {NAN, 1.0f, 2.0f, 0.5f};
    CHECK(og_sampler_sample(g, nan_first) == 2, "greedy skips a leading NaN");
    og_sampler_free(g);
    float all_masked[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    og_token t = og_sampler_sample(s, all_masked);
    CHECK(t >= 0 && t < 4, "all -inf still returns a token: %d", t);
    og_sampler_free(s);
    p = plain_params(1.0f, 3);
    s = make(&p, 4);
    t = og_sampler_sample(s, all_masked);
    CHECK(t >= 0 && t < 4, "all -inf, no filters: %d", t);
    og_sampler_free(s);
}

int main(void)
{
    test_defaults_and_errors();
    test_greedy();
    test_seeds();
    test_top_k_one_is_greedy();
    test_distribution();
    test_top_p_min_p();
    test_large_vocab_filters();
    test_repeat_penalty();
    test_odd_logits();
    return og_test_finish("test_sampler");
}
