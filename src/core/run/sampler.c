/*
 * sampler.c - picking the next token from a row of logits.
 *
 * Owns og_sampler: its parameters, the candidate buffer (one entry per
 * vocabulary token, allocated once in og_sampler_new so sampling never
 * allocates), the window of recently accepted tokens the repetition
 * penalty looks at, and a seeded PRNG.
 *
 * The chain matches llama.cpp's common sampler, in this order:
 * repetition penalty, top-k, top-p, min-p, temperature, seeded draw from
 * the softmax. A temperature <= 0 means greedy: argmax of the (penalised)
 * logits, ties going to the lowest id.
 *
 * The PRNG is our own xoshiro256** seeded through splitmix64, so a seed
 * reproduces the same draws on every platform and libc.
 */
#include "run/sampler.h"
#include "offgrid.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fixed so that runs are reproducible unless the caller picks a seed. */
#define DEFAULT_SEED 0x6f666667726964ULL /* "offgrid" */

typedef struct candidate {
    int32_t id;
    float logit;
    float p; /* probability, filled only where a step needs it */
} candidate;

struct og_sampler {
    og_sampler_params params;
    int32_t n_vocab;
    candidate *cand;       /* n_vocab entries, reused by every sample */
    unsigned char *seen;   /* n_vocab flags: dedups the penalty window */
    og_token *recent;      /* ring of the last repeat_last_n accepted tokens */
    int32_t n_recent;      /* how many of recent are filled */
    int32_t recent_next;   /* where the next accepted token goes */
    uint64_t rng[4];
};

/* ------------------------------------------------------------------ rng */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(uint64_t rng[4], uint64_t seed)
{
    /* splitmix64 never yields four zero words, which xoshiro cannot leave. */
    for (int i = 0; i < 4; i++)
        rng[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(uint64_t s[4])
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* ----------------------------------------------------- candidate heap */

/* The order every step ranks by: higher logit first, then lower id, so
 * results never depend on how a sort breaks ties. */
static int ranks_before(const candidate *a, const candidate *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static void sift_down(candidate *heap, size_t n, size_t i)
{
    candidate top = heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && ranks_before(&heap[child + 1], &heap[child]))
            child++;
        if (!ranks_before(&heap[child], &top))
            break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = top;
}

static void heapify(candidate *heap, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(heap, n, i);
}

/* Moves the best of heap[0..n) to heap[n-1] and restores the heap on
 * heap[0..n-1). Popping m times leaves the m best at the tail, best last:
 * a partial heapsort, O(n + m log n) instead of sorting all n. */
static void heap_pop(candidate *heap, size_t n)
{
    candidate best = heap[0];
    heap[0] = heap[n - 1];
    heap[n - 1] = best;
    sift_down(heap, n - 1, 0);
}

/* The same heap with the worst candidate on top, for keeping the k best
 * seen so far while scanning. */
static void sift_down_worst(candidate *heap, size_t n, size_t i)
{
    candidate top = heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && ranks_before(&heap[child], &heap[child + 1]))
            child++;
        if (!ranks_before(&top, &heap[child]))
            break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = top;
}

/* Moves the k best of c[0..n) to c[0..k), best first, the others staying
 * in c[k..n). O(n + k log k) for typical logits: most candidates lose one
 * comparison against the worst of the k kept so far and cost no more. */
static void select_top_k(candidate *c, size_t n, size_t k)
{
    for (size_t i = k / 2; i-- > 0;)
        sift_down_worst(c, k, i);
    for (size_t i = k; i < n; i++) {
        if (ranks_before(&c[i], &c[0])) {
            /* Swap, not overwrite: c stays a permutation, so c[k..n)
             * holds exactly the candidates that were not selected. */
            candidate evicted = c[0];
            c[0] = c[i];
            c[i] = evicted;
            sift_down_worst(c, k, 0);
        }
    }
    /* Heapsort of a worst-on-top heap leaves the best first. */
    for (size_t m = k; m > 1; m--) {
        candidate worst = c[0];
        c[0] = c[m - 1];
        c[m - 1] = worst;
        sift_down_worst(c, m - 1, 0);
    }
}

static void reverse(candidate *c, size_t n)
{
    for (size_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--) {
        candidate t = c[i];
        c[i] = c[j];
        c[j] = t;
    }
}

/* ---------------------------------------------------------------- api */

og_sampler_params og_sampler_default_params(void)
{
    og_sampler_params p = {
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .repeat_last_n = 64,
        .seed = DEFAULT_SEED,
    };
    return p;
}

static og_status check_params(const og_sampler_params *p, int32_t n_vocab, og_error *err)
{
    if (n_vocab <= 0)
        return og_error_set(err, OG_ERR_ARG, "sampler: n_vocab must be positive, got %d", (int)n_vocab);
    if (isnan(p->temperature))
        return og_error_set(err, OG_ERR_ARG, "sampler: temperature is NaN");
    if (isnan(p->top_p))
        return og_error_set(err, OG_ERR_ARG, "sampler: top_p is NaN");
    if (isnan(p->min_p))
        return og_error_set(err, OG_ERR_ARG, "sampler: min_p is NaN");
    /* A zero penalty would divide by zero; a negative one flips signs. */
    if (!(p->repeat_penalty > 0.0f) || isinf(p->repeat_penalty))
        return og_error_set(err, OG_ERR_ARG,
                            "sampler: repeat_penalty must be a positive finite number (1 = off), got %g",
                            (double)p->repeat_penalty);
    if (p->repeat_last_n < 0)
        return og_error_set(err, OG_ERR_ARG, "sampler: repeat_last_n must be >= 0 (0 = off), got %d",
                            (int)p->repeat_last_n);
    return OG_OK;
}

og_status og_sampler_new(const og_sampler_params *params, int32_t n_vocab,
                         og_sampler **out, og_error *err)
{
    if (!out)
        return og_error_set(err, OG_ERR_ARG, "sampler: out is NULL");
    *out = NULL;
    og_sampler_params p = params ? *params : og_sampler_default_params();
    og_status st = check_params(&p, n_vocab, err);
    if (st != OG_OK)
        return st;

    og_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return og_error_set(err, OG_ERR_NOMEM, "sampler: out of memory");
    s->params = p;
    s->n_vocab = n_vocab;
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    s->seen = calloc((size_t)n_vocab, 1);
    if (p.repeat_last_n > 0)
        s->recent = malloc((size_t)p.repeat_last_n * sizeof *s->recent);
    if (!s->cand || !s->seen || (p.repeat_last_n > 0 && !s->recent)) {
        og_sampler_free(s);
        return og_error_set(err, OG_ERR_NOMEM, "sampler: out of memory for %d candidates", (int)n_vocab);
    }
    rng_seed(s->rng, p.seed);
    *out = s;
    return OG_OK;
}

void og_sampler_free(og_sampler *s)
{
    if (!s)
        return;
    free(s->cand);
    free(s->seen);
    free(s->recent);
    free(s);
}

void og_sampler_reset(og_sampler *s)
{
    if (!s)
        return;
    s->n_recent = 0;
    s->recent_next = 0;
    /* Reseeding makes a reset sampler replay the same draws. */
    rng_seed(s->rng, s->params.seed);
}

void og_sampler_accept(og_sampler *s, og_token t)
{
    /* Out-of-range ids cannot be penalised (nor index seen[]): skip them. */
    if (!s || s->params.repeat_last_n <= 0 || t < 0 || t >= s->n_vocab)
        return;
    s->recent[s->recent_next] = t;
    s->recent_next = (s->recent_next + 1) % s->params.repeat_last_n;
    if (s->n_recent < s->params.repeat_last_n)
        s->n_recent++;
}

/* llama.cpp's repetition penalty: each distinct token of the window is
 * penalised once, dividing a positive logit and multiplying a negative
 * one so that both move down. cand is still indexed by id here. */
static void apply_repeat_penalty(og_sampler *s)
{
    float penalty = s->params.repeat_penalty;
    if (penalty == 1.0f || s->n_recent == 0)
        return;
    for (int32_t i = 0; i < s->n_recent; i++) {
        og_token t = s->recent[i];
        if (s->seen[t])
            continue;
        s->seen[t] = 1;
        float *logit = &s->cand[t].logit;
        *logit = *logit <= 0.0f ? *logit * penalty : *logit / penalty;
    }
    for (int32_t i = 0; i < s->n_recent; i++)
        s->seen[s->recent[i]] = 0;
}

/* For the view c[0..n), sorted best first: the length of the shortest
 * prefix whose probability mass (softmax at temperature 1, over the view)
 * reaches top_p, and at least 1. */
static size_t top_p_cut_sorted(candidate *c, size_t n, float top_p)
{
    double max = c[0].logit, sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += exp((double)c[i].logit - max);
    double cum = 0.0;
    for (size_t i = 0; i < n; i++) {
        cum += exp((double)c[i].logit - max) / sum;
        if (cum >= top_p)
            return i + 1;
    }
    return n;
}

/* The chain up to the draw. Returns 0 with *pick set when it decides
 * alone (greedy, or no logits), else leaves the n remaining candidates in
 * s->cand[0..n) and returns n. */
static size_t filter(og_sampler *s, const float *logits, og_token *pick)
{
    *pick = -1;
    if (!s || !logits)
        return 0;
    const og_sampler_params *p = &s->params;
    size_t n = (size_t)s->n_vocab;
    candidate *c = s->cand;
    bool greedy = !(p->temperature > 0.0f);

    /* Greedy without a penalty needs no copy: one pass over the logits.
     * Strict > keeps the lowest id on ties; starting past any leading
     * NaN means a NaN is never picked (unless all are NaN). */
    if (greedy && (p->repeat_penalty == 1.0f || s->n_recent == 0)) {
        size_t best = 0;
        while (best + 1 < n && isnan(logits[best]))
            best++;
        float best_logit = logits[best];
        for (size_t i = best + 1; i < n; i++)
            if (logits[i] > best_logit) {
                best_logit = logits[i];
                best = i;
            }
        *pick = (og_token)best;
        return 0;
    }

    for (size_t i = 0; i < n; i++) {
        float l = logits[i];
        /* NaN would poison every comparison; +inf would make the softmax
         * NaN. Clamp them to values that keep the ordering sane. */
        if (isnan(l))
            l = -INFINITY;
        else if (l == INFINITY)
            l = FLT_MAX;
        c[i].id = (int32_t)i;
        c[i].logit = l;
    }
    apply_repeat_penalty(s);

    if (greedy) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (c[i].logit > c[best].logit)
                best = i;
        *pick = c[best].id;
        return 0;
    }

    /* The working set is the view c[0..n); `sorted` says whether it is
     * ordered best first. Sorting is partial and only as deep as a step
     * needs. */
    bool sorted = false;
    bool want_top_p = p->top_p < 1.0f;

    if (p->top_k > 0) {
        size_t k = (size_t)p->top_k < n ? (size_t)p->top_k : n;
        select_top_k(c, n, k);
        n = k;
        sorted = true;
        if (want_top_p)
            n = top_p_cut_sorted(c, n, p->top_p);
    } else if (want_top_p) {
        /* Without top-k, order only as much as the nucleus needs. The
         * normaliser takes one pass over everything; then the best
         * NUCLEUS_GUESS candidates are selected cheaply, which covers the
         * nucleus of peaked (typical) logits. A flatter distribution
         * continues from a heap of the rest, popped until the mass is
         * reached. */
        enum { NUCLEUS_GUESS = 256 };
        float max_logit = c[0].logit;
        for (size_t i = 1; i < n; i++)
            if (c[i].logit > max_logit)
                max_logit = c[i].logit;
        double max = max_logit, sum = 0.0;
        for (size_t i = 0; i < n; i++)
            sum += exp((double)c[i].logit - max);

        size_t guess = n < NUCLEUS_GUESS ? n : NUCLEUS_GUESS;
        select_top_k(c, n, guess);
        double cum = 0.0;
        size_t kept = 0;
        while (kept < guess && (kept == 0 || cum < p->top_p))
            cum += exp((double)c[kept++].logit - max) / sum;

        if (cum < p->top_p && kept < n) {
            candidate *rest = c + guess;
            size_t n_rest = n - guess, m = 0;
            heapify(rest, n_rest);
            while (m < n_rest && cum < p->top_p) {
                heap_pop(rest, n_rest - m);
                m++;
                cum += exp((double)rest[n_rest - m].logit - max) / sum;
            }
            /* The popped ones sit at the tail, best last: bring them,
             * best first, right after the guessed prefix. */
            reverse(rest + n_rest - m, m);
            memmove(rest, rest + n_rest - m, m * sizeof *rest);
            kept = guess + m;
        }
        n = kept;
        sorted = true;
    }

    if (p->min_p > 0.0f) {
        /* p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p) */
        float max = c[0].logit;
        if (!sorted)
            for (size_t i = 1; i < n; i++)
                if (c[i].logit > max)
                    max = c[i].logit;
        double floor_logit = (double)max + log((double)p->min_p);
        size_t kept = 0;
        if (sorted) {
            while (kept < n && (double)c[kept].logit >= floor_logit)
                kept++;
        } else {
            for (size_t i = 0; i < n; i++)
                if ((double)c[i].logit >= floor_logit)
                    c[kept++] = c[i];
        }
        if (kept == 0) {
            /* min_p > 1 filters even the max; keep it, as llama.cpp keeps
             * at least one candidate. */
            if (!sorted)
                for (size_t i = 0; i < n; i++)
                    if (c[i].logit == max) {
                        c[0] = c[i];
                        break;
                    }
            kept = 1;
        }
        n = kept;
    }

    return n;
}

/* Temperature and softmax over s->cand[0..n), in double so that a tiny
 * temperature cannot overflow: fills cand[i].p (unnormalized) and returns
 * their sum, 0 when every logit is -inf. */
static double weigh(og_sampler *s, size_t n)
{
    candidate *c = s->cand;
    double inv_t = 1.0 / (double)s->params.temperature;
    double max = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if ((double)c[i].logit * inv_t > max)
            max = (double)c[i].logit * inv_t;
    if (!isfinite(max))
        return 0.0;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        c[i].p = (float)exp((double)c[i].logit * inv_t - max);
        sum += c[i].p;
    }
    return sum;
}

og_token og_sampler_sample(og_sampler *s, const float *logits)
{
    og_token pick;
    size_t n = filter(s, logits, &pick);
    if (n == 0)
        return pick;
    candidate *c = s->cand;
    double sum = weigh(s, n);
    if (sum == 0.0) /* nothing to weigh */
        return c[0].id;
    double target = rng_uniform(s->rng) * sum, cum = 0.0;
    size_t last_nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].p <= 0.0f)
            continue;
        cum += c[i].p;
        last_nonzero = i;
        if (target < cum)
            return c[i].id;
    }
    /* Rounding can leave target a hair above the final sum. */
    return c[last_nonzero].id;
}

int32_t og_sampler_dist(og_sampler *s, const float *logits, og_token *ids, float *probs)
{
    og_token pick;
    size_t n = filter(s, logits, &pick);
    if (n == 0) {
        ids[0] = pick;
        probs[0] = 1.0f;
        return pick >= 0 ? 1 : 0;
    }
    const candidate *c = s->cand;
    double sum = weigh(s, n);
    if (sum == 0.0) {
        ids[0] = c[0].id;
        probs[0] = 1.0f;
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = c[i].id;
        probs[i] = (float)(c[i].p / sum);
    }
    return (int32_t)n;
}

double og_sampler_uniform(og_sampler *s)
{
    return rng_uniform(s->rng);
}

bool og_sampler_is_greedy(const og_sampler *s)
{
    return !(s->params.temperature > 0.0f);
}

og_sampler_params og_sampler_get_params(const og_sampler *s)
{
    return s->params;
}

void og_sampler_follow(og_sampler *dst, const og_sampler *src)
{
    if (dst->params.repeat_last_n == src->params.repeat_last_n && src->params.repeat_last_n > 0) {
        memcpy(dst->recent, src->recent, (size_t)src->n_recent * sizeof *src->recent);
        dst->n_recent = src->n_recent;
        dst->recent_next = src->recent_next;
    }
    /* Mixed, not copied: equal streams would correlate the draft's draws
     * with the acceptance test's. */
    uint64_t seed = src->rng[0] ^ rotl(src->rng[1], 17) ^ rotl(src->rng[2], 31) ^ rotl(src->rng[3], 47) ^
                    0x5350454355ULL; /* "SPECU" */
    rng_seed(dst->rng, seed);
}

int32_t og_sampler_vocab_size(const og_sampler *s)
{
    return s->n_vocab;
}
