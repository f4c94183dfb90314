/*
 * decode.c - one generation job in one slot: reuse the longest cached
 * prefix of the prompt, decode the rest, then sample token by token,
 * publishing text to the connection as it grows. Stops at an
 * end-of-generation token, a stop string, max_tokens, a full context, the
 * request's deadline, or when the client has gone away. With json_object,
 * every candidate token that would make the output invalid JSON is masked
 * out before sampling (json_grammar.h).
 */
#define _GNU_SOURCE /* memmem, POLLRDHUP */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run/json_grammar.h"
#include "server/server.h"

/* Appends to the job's text; under job->mu. */
static bool append_text(og_srv_job *job, const char *piece, size_t n)
{
    if (job->len + n + 1 > job->cap) {
        size_t cap = (job->len + n + 1) * 2;
        char *bigger = realloc(job->text, cap < 256 ? 256 : cap);
        if (!bigger)
            return false;
        job->text = bigger;
        job->cap = cap < 256 ? 256 : cap;
    }
    memcpy(job->text + job->len, piece, n);
    job->len += n;
    job->text[job->len] = 0;
    return true;
}

/* Cuts the text at the first stop string that now appears in it (true),
 * else moves ready up to what cannot be the start of one. */
static bool apply_stops(og_srv_job *job, size_t old_len)
{
    size_t cut = job->len;
    bool found = false;
    for (int i = 0; i < job->n_stop; i++) {
        size_t sl = strlen(job->stop[i]);
        size_t from = old_len >= sl ? old_len - sl + 1 : 0;
        char *hit = job->len >= sl ? memmem(job->text + from, job->len - from, job->stop[i], sl) : NULL;
        if (hit && (size_t)(hit - job->text) < cut) {
            cut = (size_t)(hit - job->text);
            found = true;
        }
    }
    if (found) {
        job->len = cut;
        job->text[cut] = 0;
        if (job->ready > cut)
            job->ready = cut;
        return true;
    }
    size_t hold = 0;
    for (int i = 0; i < job->n_stop; i++) {
        size_t sl = strlen(job->stop[i]);
        for (size_t k = sl - 1; k > hold; k--)
            if (k <= job->len && !memcmp(job->text + job->len - k, job->stop[i], k)) {
                hold = k;
                break;
            }
    }
    size_t ready = og_srv_utf8_whole(job->text, job->len - hold);
    if (ready > job->ready)
        job->ready = ready;
    return false;
}

/* Masks the logits of tokens that would break the JSON; returns how many
 * remain possible. */
static int32_t mask_json(og_server *s, const og_json_state *js, const float *logits, float *out)
{
    int32_t allowed = 0;
    for (int32_t v = 0; v < s->n_vocab; v++) {
        uint32_t a = s->piece_off[v], b = s->piece_off[v + 1];
        og_json_state t = *js;
        if (b > a && isfinite(logits[v]) && og_json_feed(&t, s->pieces + a, b - a)) {
            out[v] = logits[v];
            allowed++;
        } else {
            out[v] = -INFINITY;
        }
    }
    return allowed;
}

static bool token_keeps_json(const og_server *s, const og_json_state *js, og_token t)
{
    if (t < 0 || t >= s->n_vocab)
        return false;
    uint32_t a = s->piece_off[t], b = s->piece_off[t + 1];
    og_json_state tmp = *js;
    return b > a && og_json_feed(&tmp, s->pieces + a, b - a);
}

static void publish_done(og_server *s, og_srv_job *job, const char *finish, og_status st, const char *why)
{
    pthread_mutex_lock(&job->mu);
    job->finish = finish;
    job->status = st;
    if (why)
        snprintf(job->error, sizeof job->error, "%s", why);
    job->ready = job->len;
    job->state = OG_SRV_JOB_DONE;
    job->t_done = og_srv_now();
    bool cancelled = job->cancel;
    double first = job->t_first > 0 ? job->t_first - job->t_queued : -1;
    double gen = job->t_first > 0 ? job->t_done - job->t_first : 0;
    int32_t n_gen = job->n_gen;
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    og_srv_metrics_tokens(&s->metrics, job->n_prompt, n_gen, first, gen, cancelled);
}

static bool should_stop(og_srv_job *job)
{
    pthread_mutex_lock(&job->mu);
    bool stop = job->cancel;
    pthread_mutex_unlock(&job->mu);
    return stop || og_srv_now() > job->deadline;
}

void og_srv_run_job(og_srv_slot *slot, og_srv_job *job)
{
    og_server *s = slot->srv;
    og_context *ctx = slot->ctx;
    const int32_t n_ctx = og_context_n_ctx(ctx);
    og_error err = { 0 };
    og_sampler *smp = NULL;

    pthread_mutex_lock(&job->mu);
    job->state = OG_SRV_JOB_RUNNING;
    pthread_mutex_unlock(&job->mu);
    if (job->n_prompt <= 0 || job->n_prompt >= n_ctx) {
        publish_done(s, job, NULL, OG_ERR_CONTEXT_FULL, "the prompt does not fit in the context");
        return;
    }
    if (og_sampler_new(&job->sampling, s->n_vocab, &smp, &err) != OG_OK) {
        publish_done(s, job, NULL, err.code, err.message);
        return;
    }
    /* Keep the cached prefix; the last prompt token is always decoded
     * again so there are logits to sample from. */
    int32_t keep = 0;
    while (keep < job->n_prompt - 1 && keep < slot->n_cached && slot->cached[keep] == job->prompt[keep])
        keep++;
    og_context_truncate(ctx, keep);
    slot->n_cached = keep;
    for (int32_t i = 0; i < job->n_prompt; i++)
        og_sampler_accept(smp, job->prompt[i]);
    pthread_mutex_lock(&job->mu);
    job->n_cached = keep;
    pthread_mutex_unlock(&job->mu);
    /* Prompt in pieces, so a hang-up is noticed during a long one. */
    for (int32_t done = keep; done < job->n_prompt;) {
        if (should_stop(job)) {
            og_sampler_free(smp);
            publish_done(s, job, "length", OG_OK, NULL);
            return;
        }
        int32_t n = job->n_prompt - done < 256 ? job->n_prompt - done : 256;
        if (og_decode(ctx, job->prompt + done, n, false, &err) != OG_OK) {
            og_sampler_free(smp);
            slot->n_cached = og_context_n_past(ctx) < slot->n_cached ? og_context_n_past(ctx) : slot->n_cached;
            publish_done(s, job, NULL, err.code, err.message);
            return;
        }
        memcpy(slot->cached + slot->n_cached, job->prompt + done, (size_t)n * sizeof *job->prompt);
        slot->n_cached += n;
        done += n;
    }

    og_json_state js;
    og_json_init(&js, true);
    const char *finish = "length";
    og_status st = OG_OK;
    char piece[256];
    for (;;) {
        if (job->n_gen >= job->max_tokens || should_stop(job))
            break;
        const float *logits = og_get_logits(ctx, -1);
        og_token t = og_sampler_sample(smp, logits);
        /* Sampling first and masking only when the pick breaks the JSON
         * draws from the same distribution as masking first (a valid t
         * comes out with p(t) + P(invalid) p(t) / P(valid) = p(t) / P(valid))
         * and spares the mask on most tokens. */
        if (job->json_object && !token_keeps_json(s, &js, t)) {
            if (mask_json(s, &js, logits, slot->logits) == 0) {
                finish = "stop";
                break;
            }
            t = og_sampler_sample(smp, slot->logits);
        }
        if (t < 0 || og_token_is_eog(s->model, t)) {
            finish = "stop";
            break;
        }
        og_sampler_accept(smp, t);
        int32_t len = og_token_to_piece(s->model, t, piece, sizeof piece, false);
        if (len < 0 || len > (int32_t)sizeof piece)
            len = 0;
        if (job->json_object)
            og_json_feed(&js, piece, (size_t)len);
        pthread_mutex_lock(&job->mu);
        size_t old_len = job->len;
        bool ok = append_text(job, piece, (size_t)len);
        bool hit_stop = ok && apply_stops(job, old_len);
        job->n_gen++;
        if (job->t_first == 0)
            job->t_first = og_srv_now();
        pthread_cond_broadcast(&job->cv);
        pthread_mutex_unlock(&job->mu);
        if (!ok) {
            st = OG_ERR_NOMEM;
            break;
        }
        if (hit_stop || (job->json_object && og_json_complete(&js))) {
            finish = "stop";
            break;
        }
        if (og_context_n_past(ctx) >= n_ctx)
            break;
        if ((st = og_decode(ctx, &t, 1, false, &err)) != OG_OK)
            break;
        slot->cached[slot->n_cached++] = t;
    }
    og_sampler_free(smp);
    publish_done(s, job, st == OG_OK ? finish : NULL, st, st == OG_OK ? NULL : err.message);
}
