/*
 * decode.c - one generation job in one slot, through the core's one token
 * loop (og_generate): the slot's context reuses the longest cached prefix
 * of the prompt, and each token's released text is published to the
 * connection as it comes. The job ends at an end-of-generation token, a
 * stop string, a complete JSON object (json_object), max_tokens, a full
 * context, the request's deadline, or when the client has gone away.
 */
#include <stdlib.h>
#include <string.h>

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

typedef struct job_run {
    og_srv_job *job;
    bool out_of_memory;
} job_run;

/* og_token_fn: the released text may be sent at once (og_generate holds
 * back half characters and what could begin a stop string). */
static bool publish_token(void *user, const og_gen_token *t)
{
    job_run *run = user;
    og_srv_job *job = run->job;
    pthread_mutex_lock(&job->mu);
    bool ok = append_text(job, t->text, t->text_len);
    job->ready = job->len;
    if (t->id >= 0) {
        job->n_gen++;
        if (job->t_first == 0)
            job->t_first = og_srv_now();
    }
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    run->out_of_memory |= !ok;
    return ok;
}

/* og_cancel_fn: the client went away or the server stops. */
static bool job_cancelled(void *user)
{
    og_srv_job *job = user;
    pthread_mutex_lock(&job->mu);
    bool stop = job->cancel;
    pthread_mutex_unlock(&job->mu);
    return stop;
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

/* OpenAI's finish_reason: "stop" when the model or a stop ended it,
 * "length" when a limit did. */
static const char *finish_reason(og_finish f)
{
    return f == OG_FINISH_EOG || f == OG_FINISH_STOP ? "stop" : "length";
}

void og_srv_run_job(og_srv_slot *slot, og_srv_job *job)
{
    og_server *s = slot->srv;
    og_context *ctx = slot->ctx;
    og_error err = { 0 };
    og_sampler *smp = NULL;

    pthread_mutex_lock(&job->mu);
    job->state = OG_SRV_JOB_RUNNING;
    pthread_mutex_unlock(&job->mu);
    if (job->run) {
        job->run(slot, job);
        return;
    }
    if (job->n_prompt <= 0 || job->n_prompt >= og_context_n_ctx(ctx)) {
        publish_done(s, job, NULL, OG_ERR_CONTEXT_FULL, "the prompt does not fit in the context");
        return;
    }
    if (og_sampler_new(&job->sampling, s->n_vocab, &smp, &err) != OG_OK) {
        publish_done(s, job, NULL, err.code, err.message);
        return;
    }
    og_gen_params p = og_gen_default_params();
    p.max_tokens = job->max_tokens;
    p.stop = (const char *const *)job->stop;
    p.n_stop = job->n_stop;
    p.json_object = job->json_object;
    p.cancel = job_cancelled;
    p.cancel_user = job;
    p.max_seconds = job->deadline - og_srv_now();
    if (p.max_seconds <= 0)
        p.max_seconds = 1e-9; /* already past: stop at the first check */
    p.prompt_chunk = 256;     /* so a hang-up is noticed during a long prompt */
    job_run run = { .job = job };
    og_gen_result r;
    og_status st = og_generate(ctx, smp, job->prompt, job->n_prompt, &p, publish_token, &run, &r, &err);
    og_sampler_free(smp);
    pthread_mutex_lock(&job->mu);
    job->n_cached = r.n_cached;
    pthread_mutex_unlock(&job->mu);
    if (st == OG_OK && run.out_of_memory)
        st = og_error_set(&err, OG_ERR_NOMEM, "out of memory for the reply's text");
    publish_done(s, job, st == OG_OK ? finish_reason(r.finish) : NULL, st, st == OG_OK ? NULL : err.message);
}
