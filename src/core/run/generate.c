/*
 * generate.c - the one token loop (og_generate). It keeps the longest
 * cached prefix of the prompt, decodes the rest in chunks (checking for
 * cancellation between them), then samples, reports and feeds back one
 * token at a time until an end-of-generation token, a stop string, a
 * complete JSON object, max_tokens, a full context, cancellation or the
 * deadline. With a draft model attached (speculative.c) the logits of
 * the next tokens come from its verified rounds instead of one decode per
 * token; everything else is the same loop. Its buffers (the vocabulary's pieces, the masked logits of
 * json_object, the generated text) are the context's generation scratch,
 * owned here and sized before the loop starts: the loop allocates nothing.
 */


#define _GNU_SOURCE /* memmem */
#include "run/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/utf8.h"
#include "run/json_grammar.h"
#include "run/sampler.h"
#include "run/speculative.h"
#include "tokenizer/vocab.h"

struct og_gen_scratch {
    char *pieces;        /* every token's piece (no control text), back to back */
    uint32_t *piece_off; /* n_vocab + 1 offsets into pieces */
    size_t max_piece;    /* the longest piece, in bytes */
    float *masked;       /* n_vocab logits, JSON-breaking tokens at -inf (json_object) */
    char *text;          /* the generated text, NUL-terminated */
    size_t text_cap;
};

void og_gen_scratch_free(og_gen_scratch *g)
{
    if (!g)
        return;
    free(g->pieces);
    free(g->piece_off);
    free(g->masked);
    free(g->text);
    free(g);
}

og_gen_params og_gen_default_params(void)
{
    return (og_gen_params){ .max_tokens = -1 };
}

const char *og_finish_name(og_finish finish)
{
    switch (finish) {
    case OG_FINISH_NONE:         return "none";
    case OG_FINISH_EOG:          return "eog";
    case OG_FINISH_STOP:         return "stop";
    case OG_FINISH_LENGTH:       return "length";
    case OG_FINISH_CONTEXT_FULL: return "context_full";
    case OG_FINISH_CANCELLED:    return "cancelled";
    case OG_FINISH_DEADLINE:     return "deadline";
    }
    return "unknown";
}

/* The vocabulary's pieces, built once per context: the loop reads a
 * token's text from here, and json_object tries every piece. */
static og_status build_pieces(og_gen_scratch *g, const og_vocab *vocab, int32_t n_vocab, og_error *err)
{
    size_t cap = (size_t)n_vocab * 8 + 64, len = 0;
    g->piece_off = malloc(((size_t)n_vocab + 1) * sizeof *g->piece_off);
    g->pieces = malloc(cap);
    if (!g->piece_off || !g->pieces)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for the vocabulary's pieces");
    for (int32_t v = 0; v < n_vocab; v++) {
        int32_t n = og_vocab_token_to_piece(vocab, v, g->pieces + len, (int32_t)(cap - len < INT32_MAX ? cap - len : INT32_MAX),
                                            false);
        if (n < 0)
            n = 0;
        if ((size_t)n > cap - len) {
            size_t bigger_cap = (cap + (size_t)n) * 2;
            char *bigger = bigger_cap < UINT32_MAX ? realloc(g->pieces, bigger_cap) : NULL;
            if (!bigger)
                return og_error_set(err, OG_ERR_NOMEM, "out of memory for the vocabulary's pieces");
            g->pieces = bigger;
            cap = bigger_cap;
            og_vocab_token_to_piece(vocab, v, g->pieces + len, n, false);
        }
        g->piece_off[v] = (uint32_t)len;
        len += (size_t)n;
        if ((size_t)n > g->max_piece)
            g->max_piece = (size_t)n;
    }
    g->piece_off[n_vocab] = (uint32_t)len;
    return OG_OK;
}

/* Text reserved before the loop: room for every token at its vocabulary's
 * longest piece, unless that is more than this (a hostile or odd
 * vocabulary with one huge token and a long context); then room for
 * TEXT_BYTES_PER_TOKEN a token, and the loop grows the text in the rare
 * reply that averages more. */
#define TEXT_RESERVE_CAP ((size_t)16 << 20)
#define TEXT_BYTES_PER_TOKEN 32

/* Makes sure the text can hold len + more bytes and a NUL. */
static bool text_room(og_gen_scratch *g, size_t len, size_t more)
{
    if (len + more + 1 <= g->text_cap)
        return true;
    size_t cap = (len + more + 1) * 2;
    char *bigger = realloc(g->text, cap);
    if (!bigger)
        return false;
    g->text = bigger;
    g->text_cap = cap;
    return true;
}

/* Makes sure the scratch can hold what this call needs: pieces always,
 * masked logits for json_object, text for n_tokens tokens. */
static og_status prepare(og_context *ctx, bool json_object, int32_t n_tokens, og_error *err)
{
    const og_model *m = ctx->model;
    const int32_t n_vocab = m->hp.n_vocab;
    if (!ctx->gen && !(ctx->gen = calloc(1, sizeof *ctx->gen)))
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    og_gen_scratch *g = ctx->gen;
    og_status st;
    if (!g->pieces && (st = build_pieces(g, m->vocab, n_vocab, err)) != OG_OK) {
        free(g->pieces);
        free(g->piece_off);
        g->pieces = NULL;
        g->piece_off = NULL;
        return st;
    }
    if (json_object && !g->masked && !(g->masked = malloc((size_t)n_vocab * sizeof *g->masked)))
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for the JSON constraint");
    size_t need = (size_t)n_tokens * (g->max_piece ? g->max_piece : 1);
    if (need > TEXT_RESERVE_CAP)
        need = (size_t)n_tokens * TEXT_BYTES_PER_TOKEN > TEXT_RESERVE_CAP ? (size_t)n_tokens * TEXT_BYTES_PER_TOKEN
                                                                           : TEXT_RESERVE_CAP;
    if (!text_room(g, 0, need + g->max_piece))
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for %d tokens of text", n_tokens);
    return OG_OK;
}

/* The stop strings of one call, with their lengths. */
typedef struct stops {
    const char *str[OG_GEN_MAX_STOP];
    size_t len[OG_GEN_MAX_STOP];
    int n;
} stops;

static og_status read_stops(const og_gen_params *p, stops *s, og_error *err)
{
    s->n = 0;
    if (p->n_stop < 0 || p->n_stop > OG_GEN_MAX_STOP || (p->n_stop > 0 && !p->stop))
        return og_error_set(err, OG_ERR_ARG, "og_generate: n_stop must be 0 to %d, with stop strings", OG_GEN_MAX_STOP);
    for (int32_t i = 0; i < p->n_stop; i++) {
        size_t len = p->stop[i] ? strlen(p->stop[i]) : 0;
        if (len > OG_GEN_MAX_STOP_LEN)
            return og_error_set(err, OG_ERR_ARG, "og_generate: stop string %d is longer than %d bytes", i,
                                OG_GEN_MAX_STOP_LEN);
        if (len) {
            s->str[s->n] = p->stop[i];
            s->len[s->n++] = len;
        }
    }
    return OG_OK;
}

/* Where the text must end because a stop string now appears in it (the
 * earliest), or (size_t)-1. Only matches ending in the new bytes, those
 * from old_len on, are new. */
static size_t find_stop(const stops *s, const char *text, size_t len, size_t old_len)
{
    size_t cut = (size_t)-1;
    for (int i = 0; i < s->n; i++) {
        size_t sl = s->len[i];
        if (len < sl)
            continue;
        size_t from = old_len >= sl ? old_len - sl + 1 : 0;
        const char *hit = memmem(text + from, len - from, s->str[i], sl);
        if (hit && (size_t)(hit - text) < cut)
            cut = (size_t)(hit - text);
    }
    return cut;
}

/* How much of the text can be released: not its longest end that could
 * still grow into a stop string, nor half a character. */
static size_t releasable(const stops *s, const char *text, size_t len)
{
    size_t hold = 0;
    for (int i = 0; i < s->n; i++)
        for (size_t k = s->len[i] - 1; k > hold; k--)
            if (k <= len && !memcmp(text + len - k, s->str[i], k)) {
                hold = k;
                break;
            }
    return og_utf8_whole(text, len - hold);
}

static bool piece_keeps_json(const og_gen_scratch *g, const og_json_state *js, og_token t)
{
    uint32_t a = g->piece_off[t], b = g->piece_off[t + 1];
    og_json_state tried = *js;
    return b > a && og_json_feed(&tried, g->pieces + a, b - a);
}

/* Copies logits into g->masked with every token that would break the
 * JSON at -inf; returns how many remain possible. */
static int32_t mask_json(og_gen_scratch *g, const og_json_state *js, const float *logits, int32_t n_vocab)
{
    int32_t allowed = 0;
    for (int32_t v = 0; v < n_vocab; v++) {
        bool ok = isfinite(logits[v]) && piece_keeps_json(g, js, v);
        g->masked[v] = ok ? logits[v] : -INFINITY;
        allowed += ok;
    }
    return allowed;
}

/* log softmax(logits)[t], in double. */
static float log_prob(const float *logits, int32_t n_vocab, og_token t)
{
    float max = -INFINITY;
    for (int32_t v = 0; v < n_vocab; v++)
        max = logits[v] > max ? logits[v] : max;
    double sum = 0.0;
    for (int32_t v = 0; v < n_vocab; v++)
        sum += exp((double)logits[v] - max);
    return (float)((double)logits[t] - max - log(sum));
}

/* Whether the caller's cancel callback or the deadline ends generation. */
static og_finish check_stop(const og_gen_params *p, double deadline)
{
    if (p->cancel && p->cancel(p->cancel_user))
        return OG_FINISH_CANCELLED;
    if (deadline > 0 && og_now_seconds() > deadline)
        return OG_FINISH_DEADLINE;
    return OG_FINISH_NONE;
}

/* Keeps the longest cached prefix of the prompt (at most all but its last
 * token, which is decoded again for its logits) and decodes the rest,
 * chunk by chunk. */
static og_status decode_prompt(og_context *ctx, const og_token *prompt, int32_t n_prompt, const og_gen_params *p,
                               double deadline, og_gen_result *r, og_error *err)
{
    int32_t keep = 0;
    while (keep < n_prompt - 1 && keep < ctx->n_past && ctx->tokens[keep] == prompt[keep])
        keep++;
    og_context_truncate(ctx, keep);
    r->n_cached = keep;
    const int32_t chunk = p->prompt_chunk > 0 ? p->prompt_chunk : ctx->n_batch;
    for (int32_t done = keep; done < n_prompt;) {
        if ((r->finish = check_stop(p, deadline)) != OG_FINISH_NONE)
            return OG_OK;
        int32_t n = n_prompt - done < chunk ? n_prompt - done : chunk;
        og_status st = og_decode(ctx, prompt + done, n, false, err);
        if (st != OG_OK)
            return st;
        done += n;
    }
    return OG_OK;
}

og_status og_generate(og_context *ctx, og_sampler *sampler, const og_token *prompt, int32_t n_prompt,
                      const og_gen_params *params, og_token_fn on_token, void *user, og_gen_result *result,
                      og_error *err)
{
    og_gen_result local;
    if (!result)
        result = &local;
    *result = (og_gen_result){ .n_prompt = n_prompt, .text = "" };
    const og_gen_params defaults = og_gen_default_params();
    const og_gen_params *p = params ? params : &defaults;
    if (!ctx || !sampler || !prompt || n_prompt <= 0)
        return og_error_set(err, OG_ERR_ARG, "og_generate: a context, a sampler and a non-empty prompt are needed");
    stops stop;
    og_status st = read_stops(p, &stop, err);
    if (st != OG_OK)
        return st;
    if (n_prompt > ctx->n_ctx)
        return og_error_set(err, OG_ERR_CONTEXT_FULL, "the prompt has %d tokens; the context holds %d", n_prompt,
                            ctx->n_ctx);
    const og_model *m = ctx->model;
    const int32_t n_vocab = m->hp.n_vocab;
    if (og_sampler_vocab_size(sampler) != n_vocab)
        return og_error_set(err, OG_ERR_ARG, "og_generate: the sampler was made for %d tokens, the model has %d",
                            og_sampler_vocab_size(sampler), n_vocab);
    /* At most n_ctx - n_prompt + 1 tokens: the last one is reported
     * without being decoded. */
    int32_t budget = ctx->n_ctx - n_prompt + 1;
    if (p->max_tokens >= 0 && p->max_tokens < budget)
        budget = p->max_tokens;
    if ((st = prepare(ctx, p->json_object, budget, err)) != OG_OK)
        return st;
    og_gen_scratch *g = ctx->gen;
    g->text[0] = 0;
    result->text = g->text;

    const double t0 = og_now_seconds(), deadline = p->max_seconds > 0 ? t0 + p->max_seconds : 0;
    for (int32_t i = 0; i < n_prompt; i++)
        og_sampler_accept(sampler, prompt[i]);
    st = decode_prompt(ctx, prompt, n_prompt, p, deadline, result, err);
    const double t1 = og_now_seconds();
    result->prompt_seconds = t1 - t0;

    og_spec *spec = NULL;
    if (ctx->spec && st == OG_OK && (st = og_spec_begin(ctx, sampler, err)) == OG_OK)
        spec = ctx->spec;
    og_json_state js;
    og_json_init(&js, true);
    size_t len = 0, released = 0;
    bool caller_stopped = false;
    while (st == OG_OK && result->finish == OG_FINISH_NONE) {
        if (p->max_tokens >= 0 && result->n_gen >= p->max_tokens) {
            result->finish = OG_FINISH_LENGTH;
            break;
        }
        if ((result->finish = check_stop(p, deadline)) != OG_FINISH_NONE)
            break;
        const float *logits = spec ? og_spec_logits(ctx) : og_get_logits(ctx, -1);
        og_token t = spec ? og_spec_pick(ctx, sampler, logits) : og_sampler_sample(sampler, logits);
        /* Sampling first and masking only when the pick breaks the JSON
         * draws from the same distribution as masking first (a valid t
         * comes out with p(t) + P(invalid) p(t) / P(valid) = p(t) / P(valid))
         * and spares the mask on most tokens. */
        if (p->json_object && (t < 0 || t >= n_vocab || !piece_keeps_json(g, &js, t))) {
            if (mask_json(g, &js, logits, n_vocab) == 0) {
                result->finish = OG_FINISH_STOP;
                break;
            }
            t = og_sampler_sample(sampler, g->masked);
        }
        if (t < 0 || t >= n_vocab || og_vocab_is_eog(m->vocab, t)) {
            result->finish = OG_FINISH_EOG;
            break;
        }
        og_sampler_accept(sampler, t);
        result->n_gen++;
        const char *piece = g->pieces + g->piece_off[t];
        const size_t piece_len = g->piece_off[t + 1] - g->piece_off[t];
        if (p->json_object)
            og_json_feed(&js, piece, piece_len);
        const size_t old_len = len;
        if (!text_room(g, len, piece_len)) {
            st = og_error_set(err, OG_ERR_NOMEM, "out of memory for %zu bytes of generated text", len + piece_len);
            break;
        }
        memcpy(g->text + len, piece, piece_len);
        len += piece_len;
        const size_t cut = find_stop(&stop, g->text, len, old_len);
        if (cut != (size_t)-1)
            len = cut;
        g->text[len] = 0;
        size_t ready = cut != (size_t)-1 ? len : releasable(&stop, g->text, len);
        if (ready < released)
            ready = released;
        og_gen_token tok = { .id = t, .piece = piece, .piece_len = (int32_t)piece_len,
                             .logprob = p->logprobs ? log_prob(logits, n_vocab, t) : 0.0f,
                             .text = g->text + released, .text_len = ready - released };
        released = ready;
        if (on_token && !on_token(user, &tok)) {
            /* The result holds what the caller saw, no held-back bytes. */
            caller_stopped = true;
            len = released;
            g->text[len] = 0;
            result->finish = OG_FINISH_CANCELLED;
        } else if (cut != (size_t)-1 || (p->json_object && og_json_complete(&js))) {
            result->finish = OG_FINISH_STOP;
        } else if ((spec ? og_spec_n_past(ctx) : ctx->n_past) >= ctx->n_ctx) {
            result->finish = OG_FINISH_CONTEXT_FULL;
        } else if (spec) {
            st = og_spec_feed(ctx, sampler, t, p->max_tokens >= 0 ? p->max_tokens - result->n_gen : INT32_MAX, err);
        } else {
            st = og_decode(ctx, &t, 1, false, err);
        }
    }
    if (on_token && !caller_stopped && len > released) {
        og_gen_token rest = { .id = -1, .piece = "", .text = g->text + released, .text_len = len - released };
        on_token(user, &rest);
    }
    if (spec)
        og_spec_end(ctx, result);
    if (st != OG_OK)
        result->finish = OG_FINISH_NONE;
    result->text_len = len;
    result->gen_seconds = og_now_seconds() - t1;
    return st;
}
