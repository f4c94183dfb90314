/*
 * speculative.c - speculative decoding as one more way for the one token
 * loop (generate.c) to get its next tokens. A smaller draft model with
 * the same vocabulary proposes k tokens; the target evaluates the last
 * generated token and the k proposals in one batched pass whose rows
 * each take the one-token summation order (ctx->rows_as_one), so every
 * row's logits are exactly those plain generation would have computed.
 * The loop then picks tokens row by row as usual: while its pick equals
 * the proposal, the next row is already there; at the first difference
 * the rows past it are dropped from the KV cache and a new round starts.
 * Greedy output is therefore the target's alone; with sampling, the
 * standard rule (accept with min(1, p/q), else draw from the residual)
 * keeps the output distributed as the target's. With sampling, the
 * draft length adapts to how many proposals were accepted (a rule that
 * depends on nothing but the tokens, so a seed reproduces its output). In
 * greedy runs, whose output no length can change, the length is the one
 * that gives the most tokens per second by what the parts of a round
 * were measured to cost (a draft decode, a verified row beyond the first,
 * a one-token pass) and the acceptance rate so far; when no length beats
 * one-token passes, drafting pauses, for longer each time a later probe
 * still loses, and stops after PROBES_LOST such probes (a target whose
 * batches cost nearly as much per token as single ones cannot gain, and
 * each probe must first bring the draft up to date).
 *
 * Owns og_spec (a context's ctx->spec): the draft's distributions, the
 * round's batch, the statistics and a sampler that follows the caller's.
 * Every buffer is sized when the draft is attached (og_context_set_draft);
 * the draft context itself belongs to the caller.
 */
#include "run/speculative.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "run/sampler.h"

#define K_MAX 16  /* the longest draft a round may propose */
#define K_START 4 /* the adaptive length's first value */
/* Rounds without the draft when it does not pay: the first pause, doubled
 * after each further loss up to the last (the draft catches up on them in
 * one batch after a pause, which costs it as much as drafting would have
 * on a target whose batches do not pay). */
#define PAUSE_FIRST 32
#define PAUSE_MOST 1024
#define PROBES_LOST 3 /* probes lost in a row before drafting stops for the call */
#define DECAY 0.8     /* per round, of the acceptance counts */

struct og_spec {
    og_context *draft;
    int32_t n_vocab, k_max, k; /* k: the adaptive length, 1..k_max */
    /* The round: batch[0..n_rows) was decoded from KV position base on;
     * row is where the loop reads; batch[r + 1] is the proposal row r checks,
     * for r < n_drafts. */
    og_token batch[K_MAX + 1];
    int32_t base, n_rows, row, n_drafts;
    /* The draft's distribution at each proposal (sampling only). */
    og_token *q_ids;
    float *q_probs;
    int32_t q_n[K_MAX];
    og_token *p_ids; /* the target's, at the current row */
    float *p_probs;
    float *p_dense, *q_dense; /* n_vocab, zero between uses */
    og_sampler *dsampler;     /* the draft's, following the caller's */
    int32_t n_drafted, n_accepted;
    /* Greedy runs: seconds of a one-token pass of the target, of one
     * decode of the draft (catching up excluded) and of each verified row
     * beyond the first (0: not measured yet); decayed counts of accepted
     * and rejected proposals; rounds left without the draft, the next
     * pause's length and the probes lost in a row. */
    double t_plain, t_draft, t_row, hits, misses;
    int32_t pause, pause_next, probes_lost;
};

/* Measurements are an even mix of the old figure and the new one. */
static double mix(double old, double now)
{
    return old > 0.0 ? 0.5 * (old + now) : now;
}

static bool sync_draft(og_spec *s, const og_context *ctx, int32_t pos);

void og_spec_free(og_spec *s)
{
    if (!s)
        return;
    free(s->q_ids);
    free(s->q_probs);
    free(s->p_ids);
    free(s->p_probs);
    free(s->p_dense);
    free(s->q_dense);
    og_sampler_free(s->dsampler);
    free(s);
}

/* The first token whose text or end-of-generation flag differs, or -1.
 * Texts are compared with control tokens rendered, so special tokens
 * must agree too. */
static int32_t first_difference(const og_model *a, const og_model *b, int32_t n_vocab, char *ta, char *tb,
                                int32_t cap)
{
    for (og_token t = 0; t < n_vocab; t++) {
        int32_t na = og_token_to_piece(a, t, ta, cap - 1, true), nb = og_token_to_piece(b, t, tb, cap - 1, true);
        if (na != nb || (na > 0 && na < cap && memcmp(ta, tb, (size_t)na)) ||
            og_token_is_eog(a, t) != og_token_is_eog(b, t)) {
            ta[na > 0 && na < cap ? na : 0] = 0;
            tb[nb > 0 && nb < cap ? nb : 0] = 0;
            return t;
        }
    }
    return -1;
}

og_status og_context_set_draft(og_context *ctx, og_context *draft, int32_t draft_max, og_error *err)
{
    if (!ctx)
        return og_error_set(err, OG_ERR_ARG, "og_context_set_draft: no context");
    og_spec_free(ctx->spec);
    ctx->spec = NULL;
    if (!draft)
        return OG_OK;
    if (draft == ctx)
        return og_error_set(err, OG_ERR_ARG, "the draft must be another context than the target's");
    if (draft_max < 0 || draft_max > K_MAX)
        return og_error_set(err, OG_ERR_ARG, "the draft length must be 1 to %d, got %d", K_MAX, draft_max);
    const og_model *tm = ctx->model, *dm = draft->model;
    const int32_t n_vocab = tm->hp.n_vocab;
    if (dm->hp.n_vocab != n_vocab)
        return og_error_set(err, OG_ERR_ARG,
                            "the draft model's vocabulary differs from the target's: %d tokens in the draft "
                            "(%s), %d in the target (%s)",
                            dm->hp.n_vocab, dm->name[0] ? dm->name : dm->arch_name, n_vocab,
                            tm->name[0] ? tm->name : tm->arch_name);
    char ta[128], tb[128];
    int32_t diff = first_difference(tm, dm, n_vocab, ta, tb, (int32_t)sizeof ta);
    if (diff >= 0)
        return og_error_set(err, OG_ERR_ARG,
                            "the draft model's vocabulary differs from the target's: token %d is \"%s\"%s in the "
                            "target and \"%s\"%s in the draft",
                            diff, ta, og_token_is_eog(tm, diff) ? " (end of generation)" : "", tb,
                            og_token_is_eog(dm, diff) ? " (end of generation)" : "");
    if (draft->n_ctx < ctx->n_ctx)
        return og_error_set(err, OG_ERR_ARG, "the draft's context holds %d tokens, fewer than the target's %d",
                            draft->n_ctx, ctx->n_ctx);
    og_spec *s = calloc(1, sizeof *s);
    if (!s)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    s->draft = draft;
    s->n_vocab = n_vocab;
    s->k_max = draft_max > 0 ? draft_max : K_MAX;
    s->k = K_START < s->k_max ? K_START : s->k_max;
    const size_t nv = (size_t)n_vocab;
    s->q_ids = malloc((size_t)s->k_max * nv * sizeof *s->q_ids);
    s->q_probs = malloc((size_t)s->k_max * nv * sizeof *s->q_probs);
    s->p_ids = malloc(nv * sizeof *s->p_ids);
    s->p_probs = malloc(nv * sizeof *s->p_probs);
    s->p_dense = calloc(nv, sizeof *s->p_dense);
    s->q_dense = calloc(nv, sizeof *s->q_dense);
    if (!s->q_ids || !s->q_probs || !s->p_ids || !s->p_probs || !s->p_dense || !s->q_dense) {
        og_spec_free(s);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for a draft of %d tokens over %d", draft_max, n_vocab);
    }
    /* The verification's rows of logits, not the n_batch rows og_decode
     * would grow them to (310 MiB for Qwen's vocabulary). */
    og_status st = og_context_reserve_logits(ctx, s->k_max + 1, err);
    if (st != OG_OK) {
        og_spec_free(s);
        return st;
    }
    ctx->spec = s;
    return OG_OK;
}

og_status og_spec_begin(og_context *ctx, og_sampler *sampler, og_error *err)
{
    og_spec *s = ctx->spec;
    /* The prompt's last row is the round so far: nothing proposed. */
    s->base = ctx->n_past - 1;
    s->n_rows = 1;
    s->row = 0;
    s->n_drafts = 0;
    s->n_drafted = s->n_accepted = 0;
    /* Each call starts from the same length, so that a seed reproduces
     * its output whatever ran before on the context. */
    s->k = K_START < s->k_max ? K_START : s->k_max;
    s->t_plain = s->t_draft = s->t_row = s->hits = s->misses = 0.0;
    s->pause = s->probes_lost = 0;
    s->pause_next = PAUSE_FIRST;
    /* The draft reads the prompt now, as part of the prompt's cost (a
     * draft that fails here only proposes nothing later). */
    sync_draft(s, ctx, ctx->n_past);
    og_sampler_params want = og_sampler_get_params(sampler);
    if (s->dsampler) {
        og_sampler_params have = og_sampler_get_params(s->dsampler);
        if (!memcmp(&have, &want, sizeof have))
            return OG_OK;
        og_sampler_free(s->dsampler);
        s->dsampler = NULL;
    }
    return og_sampler_new(&want, s->n_vocab, &s->dsampler, err);
}

const float *og_spec_logits(const og_context *ctx)
{
    /* The round's rows (the prompt's last one before the first round). */
    return og_get_logits(ctx, ctx->spec->row);
}

int32_t og_spec_n_past(const og_context *ctx)
{
    const og_spec *s = ctx->spec;
    return s->base + s->row + 1;
}

/* Draws from ids/probs (summing to about 1) with one uniform. */
static og_token draw(const og_token *ids, const float *probs, int32_t n, double u)
{
    double cum = 0.0;
    int32_t last = 0;
    for (int32_t i = 0; i < n; i++) {
        if (probs[i] <= 0.0f)
            continue;
        cum += probs[i];
        last = i;
        if (u < cum)
            return ids[i];
    }
    return n > 0 ? ids[last] : -1;
}

og_token og_spec_accept(const og_token *p_ids, const float *p, int32_t n_p, const og_token *q_ids, const float *q,
                        int32_t n_q, og_token d, float *p_dense, float *q_dense, og_sampler *rng)
{
    for (int32_t i = 0; i < n_p; i++)
        p_dense[p_ids[i]] = p[i];
    for (int32_t i = 0; i < n_q; i++)
        q_dense[q_ids[i]] = q[i];
    const double pd = p_dense[d], qd = q_dense[d];
    og_token out = d;
    /* u < p/q, written so that q(d) = 0 (never drawn) cannot divide. */
    if (!(og_sampler_uniform(rng) * qd < pd)) {
        double sum = 0.0;
        for (int32_t i = 0; i < n_p; i++) {
            double r = (double)p[i] - q_dense[p_ids[i]];
            sum += r > 0.0 ? r : 0.0;
        }
        double u = og_sampler_uniform(rng) * sum, cum = 0.0;
        out = -1;
        for (int32_t i = 0; i < n_p && out < 0; i++) {
            double r = (double)p[i] - q_dense[p_ids[i]];
            if (r <= 0.0)
                continue;
            cum += r;
            if (u < cum)
                out = p_ids[i];
        }
        if (out < 0) /* p equals q (nothing left) or rounding: p itself */
            out = draw(p_ids, p, n_p, og_sampler_uniform(rng));
    }
    for (int32_t i = 0; i < n_p; i++)
        p_dense[p_ids[i]] = 0.0f;
    for (int32_t i = 0; i < n_q; i++)
        q_dense[q_ids[i]] = 0.0f;
    return out;
}

og_token og_spec_pick(og_context *ctx, og_sampler *sampler, const float *logits)
{
    og_spec *s = ctx->spec;
    if (s->row >= s->n_drafts || og_sampler_is_greedy(sampler))
        return og_sampler_sample(sampler, logits);
    const size_t at = (size_t)s->row * (size_t)s->n_vocab;
    int32_t n_p = og_sampler_dist(sampler, logits, s->p_ids, s->p_probs);
    return og_spec_accept(s->p_ids, s->p_probs, n_p, s->q_ids + at, s->q_probs + at, s->q_n[s->row],
                          s->batch[s->row + 1], s->p_dense, s->q_dense, sampler);
}

/* The draft's next proposal from its logits: sampled from its
 * distribution q (kept for the acceptance test), or greedy. */
static og_token propose(og_spec *s, int32_t i, const float *logits)
{
    if (og_sampler_is_greedy(s->dsampler))
        return og_sampler_sample(s->dsampler, logits);
    const size_t at = (size_t)i * (size_t)s->n_vocab;
    s->q_n[i] = og_sampler_dist(s->dsampler, logits, s->q_ids + at, s->q_probs + at);
    return draw(s->q_ids + at, s->q_probs + at, s->q_n[i], og_sampler_uniform(s->dsampler));
}

/* Brings the draft to the target's sequence tokens[0..pos), keeping what
 * it already holds of it. */
static bool sync_draft(og_spec *s, const og_context *ctx, int32_t pos)
{
    og_context *d = s->draft;
    int32_t keep = 0;
    while (keep < pos && keep < d->n_past && d->tokens[keep] == ctx->tokens[keep])
        keep++;
    og_context_truncate(d, keep);
    return keep == pos || og_decode(d, ctx->tokens + keep, pos - keep, false, NULL) == OG_OK;
}

/* Brings the draft to the target's sequence tokens[0..pos) followed by t
 * and proposes up to k tokens after it, stopping after an
 * end-of-generation one. Returns how many; a draft that fails proposes
 * nothing (the round is then plain). */
static int32_t draft_round(og_spec *s, const og_context *ctx, og_sampler *sampler, int32_t pos, og_token t, int32_t k)
{
    og_context *d = s->draft;
    if (!sync_draft(s, ctx, pos))
        return 0;
    /* Catching up (after a pause) is no part of what a round costs. */
    const double t0 = og_now_seconds();
    int32_t n_decodes = 1;
    if (og_decode(d, &t, 1, false, NULL) != OG_OK)
        return 0;
    og_sampler_follow(s->dsampler, sampler);
    int32_t n = 0;
    while (n < k) {
        og_token x = propose(s, n, og_get_logits(d, -1));
        if (x < 0 || x >= s->n_vocab)
            break;
        s->batch[++n] = x;
        if (og_token_is_eog(d->model, x) || n == k)
            break;
        og_sampler_accept(s->dsampler, x);
        if (og_decode(d, &x, 1, false, NULL) != OG_OK)
            break;
        n_decodes++;
    }
    s->t_draft = mix(s->t_draft, (og_now_seconds() - t0) / n_decodes);
    return n;
}

/* Longer after a round whose proposals were all taken, shorter after one
 * that lost most of them. */
static void adapt(og_spec *s, int32_t accepted)
{
    if (s->n_drafts == 0)
        return;
    if (accepted == s->n_drafts && s->n_drafts == s->k)
        s->k = s->k + 2 < s->k_max ? s->k + 2 : s->k_max;
    else if (accepted < s->n_drafts / 2)
        s->k = s->k > 1 ? s->k - 1 : 1;
}

/* Greedy runs: folds the round that just ended (accepted of its
 * proposals) into the acceptance counts. */
static void count_round(og_spec *s, int32_t accepted)
{
    if (s->n_drafts == 0)
        return;
    s->hits = s->hits * DECAY + accepted;
    s->misses = s->misses * DECAY + (accepted < s->n_drafts);
}

/* Greedy runs: the next round's draft length, 0 for a one-token pass.
 * A proposal is accepted with probability a (the counts so far), so k
 * proposals yield (1 - a^(k+1)) / (1 - a) tokens (the target's own pick
 * after the last accepted one included) and cost k draft decodes plus a
 * pass of k + 1 rows. */
static int32_t greedy_length(og_spec *s, int32_t k_most)
{
    if (s->pause > 0) {
        if (--s->pause == 0) /* the next round probes, measured afresh */
            s->t_draft = s->t_row = 0.0;
        return 0;
    }
    if (s->probes_lost >= PROBES_LOST)
        return 0;
    if (s->t_plain <= 0.0) /* a one-token pass first, to have its cost */
        return 0;
    if (s->t_draft <= 0.0 || s->t_row <= 0.0)
        return s->k < k_most ? s->k : k_most; /* a first probe */
    const double a = (s->hits + 0.5) / (s->hits + s->misses + 1.0);
    const double plain_rate = 1.0 / s->t_plain;
    double best_rate = plain_rate, yield = 1.0, a_pow = 1.0, probe_rate = 0.0;
    int32_t best = 0, probe = 1;
    bool could_pay = false; /* were every proposal accepted */
    for (int32_t k = 1; k <= k_most; k++) {
        a_pow *= a;
        yield += a_pow;
        const double cost = k * s->t_draft + s->t_plain + k * s->t_row, rate = yield / cost;
        if (rate > best_rate)
            best_rate = rate, best = k;
        if (rate > probe_rate)
            probe_rate = rate, probe = k;
        could_pay |= (k + 1) / cost > plain_rate;
    }
    if (best > 0) {
        s->probes_lost = 0;
        s->pause_next = PAUSE_FIRST;
        return best;
    }
    /* No length pays. When not even full acceptance would, drafting
     * stops for the call (a probe must first bring the draft up to date,
     * which then costs without any prospect of gain); otherwise it
     * pauses, then probes with the best length, measured afresh. */
    if (!could_pay) {
        s->probes_lost = PROBES_LOST;
        return 0;
    }
    s->probes_lost++;
    s->pause = s->pause_next;
    s->pause_next = s->pause_next * 2 < PAUSE_MOST ? s->pause_next * 2 : PAUSE_MOST;
    s->k = probe;
    return 0;
}

og_status og_spec_feed(og_context *ctx, og_sampler *sampler, og_token t, int32_t room, og_error *err)
{
    og_spec *s = ctx->spec;
    if (s->row < s->n_drafts && t == s->batch[s->row + 1]) {
        s->row++;
        s->n_accepted++;
        return OG_OK;
    }
    const bool greedy = og_sampler_is_greedy(sampler);
    if (greedy)
        count_round(s, s->row);
    else
        adapt(s, s->row);
    const int32_t pos = s->base + s->row + 1;
    og_context_truncate(ctx, pos);
    int32_t k_most = s->k_max;
    if (k_most > room - 1)
        k_most = room - 1;
    if (k_most > ctx->n_ctx - pos - 1)
        k_most = ctx->n_ctx - pos - 1;
    if (k_most > ctx->n_batch - 1)
        k_most = ctx->n_batch - 1;
    int32_t k = greedy ? greedy_length(s, k_most) : (s->k < k_most ? s->k : k_most);
    s->batch[0] = t;
    s->n_drafts = k > 0 ? draft_round(s, ctx, sampler, pos, t, k) : 0;
    s->n_drafted += s->n_drafts;
    s->base = pos;
    s->row = 0;
    s->n_rows = s->n_drafts + 1;
    const double t0 = og_now_seconds();
    og_status st = s->n_drafts == 0 ? og_decode(ctx, &t, 1, false, err)
                                    : og_decode_rows(ctx, s->batch, s->n_rows, err);
    const double spent = og_now_seconds() - t0;
    if (st != OG_OK || !greedy)
        return st;
    if (s->n_drafts == 0) {
        s->t_plain = mix(s->t_plain, spent);
    } else if (s->t_plain > 0.0) {
        /* Each row past the first; a pass no dearer than a single one
         * still counts a little, so that lengths stay finite. */
        double row = (spent - s->t_plain) / s->n_drafts;
        s->t_row = mix(s->t_row, row > 0.01 * s->t_plain ? row : 0.01 * s->t_plain);
    }
    return OG_OK;
}

void og_spec_end(og_context *ctx, og_gen_result *result)
{
    og_spec *s = ctx->spec;
    og_context_truncate(ctx, og_spec_n_past(ctx));
    result->n_drafted = s->n_drafted;
    result->n_accepted = s->n_accepted;
    result->acceptance = s->n_drafted > 0 ? (double)s->n_accepted / s->n_drafted : 0.0;
}
