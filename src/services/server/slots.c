/*
 * slots.c - the slots and their queue. Each slot is a worker thread with
 * its own context (KV cache), created once at start so memory stays
 * bounded however many requests come; jobs wait in a FIFO of bounded
 * length in front of them. Also the life of a job: reference counted,
 * because the connection that asked for it and the worker that runs it
 * may let go of it in either order (a client can hang up mid-answer).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"
#include "server/server.h"

og_srv_job *og_srv_job_new(const og_token *prompt, int32_t n_prompt)
{
    og_srv_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->prompt = malloc((size_t)(n_prompt > 0 ? n_prompt : 1) * sizeof *prompt);
    if (!job->prompt || pthread_mutex_init(&job->mu, NULL) != 0) {
        free(job->prompt);
        free(job);
        return NULL;
    }
    if (pthread_cond_init(&job->cv, NULL) != 0) {
        pthread_mutex_destroy(&job->mu);
        free(job->prompt);
        free(job);
        return NULL;
    }
    if (n_prompt > 0)
        memcpy(job->prompt, prompt, (size_t)n_prompt * sizeof *prompt);
    job->n_prompt = n_prompt;
    job->refs = 1;
    job->sampling = og_sampler_default_params();
    return job;
}

void og_srv_job_release(og_srv_job *job)
{
    if (!job)
        return;
    pthread_mutex_lock(&job->mu);
    int left = --job->refs;
    pthread_mutex_unlock(&job->mu);
    if (left > 0)
        return;
    pthread_cond_destroy(&job->cv);
    pthread_mutex_destroy(&job->mu);
    if (job->ext_free)
        job->ext_free(job->ext);
    for (int i = 0; i < job->n_stop; i++)
        free(job->stop[i]);
    free(job->prompt);
    free(job->text);
    free(job);
}

void og_srv_job_cancel(og_srv_job *job)
{
    pthread_mutex_lock(&job->mu);
    job->cancel = true;
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
}

bool og_srv_submit(og_server *s, og_srv_job *job)
{
    pthread_mutex_lock(&s->qmu);
    /* Free slots take the job at once; only the excess counts as queued. */
    int free_slots = s->n_slots - s->n_busy;
    if (s->stopping || s->n_queued - free_slots >= s->p.queue_size) {
        pthread_mutex_unlock(&s->qmu);
        return false;
    }
    pthread_mutex_lock(&job->mu);
    job->refs++;
    job->t_queued = og_srv_now();
    pthread_mutex_unlock(&job->mu);
    job->next = NULL;
    if (s->tail)
        s->tail->next = job;
    else
        s->head = job;
    s->tail = job;
    s->n_queued++;
    pthread_cond_broadcast(&s->qcv); /* every idle slot looks: the best placed takes it */
    pthread_mutex_unlock(&s->qmu);
    return true;
}

/* Marks a job done with an error (or cancelled before it started). */
static void finish_unrun(og_srv_job *job, og_status st, const char *why)
{
    pthread_mutex_lock(&job->mu);
    job->status = st;
    snprintf(job->error, sizeof job->error, "%s", why);
    job->state = OG_SRV_JOB_DONE;
    job->t_done = og_srv_now();
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
}

/* Prompt tokens of job already in slot's KV cache. */
static int32_t common_prefix(const og_srv_slot *slot, const og_srv_job *job)
{
    const og_token *cached = og_context_tokens(slot->ctx);
    const int32_t n_cached = og_context_n_past(slot->ctx);
    int32_t n = 0;
    while (n < n_cached && n < job->n_prompt && cached[n] == job->prompt[n])
        n++;
    return n;
}

/* Whether a slot is idle or about to be: its job is done (the client may
 * already have sent its next turn), so its cache no longer changes. */
static bool slot_free(const og_srv_slot *o)
{
    if (!o->job)
        return true;
    pthread_mutex_lock(&o->job->mu);
    bool done = o->job->state == OG_SRV_JOB_DONE;
    pthread_mutex_unlock(&o->job->mu);
    return done;
}

/* Whether another free slot has more of job's prompt cached than slot:
 * then that one should take it (a conversation keeps to its slot, so
 * only its new turn is decoded). Under qmu. */
static bool other_slot_better(og_server *s, const og_srv_slot *slot, const og_srv_job *job)
{
    int32_t mine = common_prefix(slot, job);
    for (int i = 0; i < s->n_slots; i++) {
        const og_srv_slot *o = &s->slots[i];
        if (o != slot && slot_free(o) && common_prefix(o, job) > mine)
            return true;
    }
    return false;
}

static void *worker(void *arg)
{
    og_srv_slot *slot = arg;
    og_server *s = slot->srv;
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        while (!s->stopping && (!s->head || other_slot_better(s, slot, s->head)))
            pthread_cond_wait(&s->qcv, &s->qmu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->qmu);
            return NULL;
        }
        og_srv_job *job = s->head;
        s->head = job->next;
        if (!s->head)
            s->tail = NULL;
        s->n_queued--;
        s->n_busy++;
        slot->job = job;
        pthread_mutex_unlock(&s->qmu);

        pthread_mutex_lock(&job->mu);
        bool cancelled = job->cancel;
        pthread_mutex_unlock(&job->mu);
        if (cancelled)
            finish_unrun(job, OG_ERR_CANCELLED, "cancelled before it started");
        else
            og_srv_run_job(slot, job);
        pthread_mutex_lock(&s->qmu);
        slot->job = NULL;
        s->n_busy--;
        if (s->head)
            pthread_cond_broadcast(&s->qcv); /* a job left waiting for this slot */
        pthread_mutex_unlock(&s->qmu);
        og_srv_job_release(job);
    }
}

og_status og_srv_slots_start(og_server *s, og_error *err)
{
    if (!s->model)
        return OG_OK;
    s->slots = calloc((size_t)s->p.n_parallel, sizeof *s->slots);
    if (!s->slots)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    og_context_params cp = og_context_default_params();
    cp.n_ctx = s->p.n_ctx;
    cp.n_threads = s->p.n_threads;
    for (int i = 0; i < s->p.n_parallel; i++) {
        og_srv_slot *slot = &s->slots[i];
        slot->srv = s;
        slot->id = i;
        s->n_slots = i + 1;
        og_status st = og_context_new(s->model, &cp, &slot->ctx, err);
        if (st != OG_OK)
            return st;
        if (s->draft_model) {
            /* Each slot drafts with its own context, as large as its own. */
            og_context_params dp = cp;
            dp.n_ctx = og_context_n_ctx(slot->ctx);
            if ((st = og_context_new(s->draft_model, &dp, &slot->draft, err)) != OG_OK ||
                (st = og_context_set_draft(slot->ctx, slot->draft, s->p.draft_max, err)) != OG_OK) {
                og_error_prefix(err, "the draft model");
                return st;
            }
        }
    }
    for (int i = 0; i < s->n_slots; i++) {
        if (pthread_create(&s->slots[i].thread, NULL, worker, &s->slots[i]) != 0)
            return og_error_set(err, OG_ERR_NOMEM, "cannot start the worker of slot %d", i);
        s->slots[i].started = true;
    }
    return OG_OK;
}

void og_srv_slots_stop(og_server *s)
{
    pthread_mutex_lock(&s->qmu);
    s->stopping = true;
    for (og_srv_job *j = s->head; j; j = j->next)
        og_srv_job_cancel(j);
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].job)
            og_srv_job_cancel(s->slots[i].job);
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    /* Running jobs see the flag between tokens. */
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].started)
            pthread_join(s->slots[i].thread, NULL);
    /* Whatever is still queued was never run: finish and drop it.
     * Connection threads may still read the counts (/health, /metrics). */
    pthread_mutex_lock(&s->qmu);
    while (s->head) {
        og_srv_job *j = s->head;
        s->head = j->next;
        s->n_queued--;
        finish_unrun(j, OG_ERR_CANCELLED, "the server is stopping");
        og_srv_job_release(j);
    }
    s->tail = NULL;
    og_srv_slot *slots = s->slots;
    int n = s->n_slots;
    s->slots = NULL;
    s->n_slots = 0;
    pthread_mutex_unlock(&s->qmu);
    for (int i = 0; i < n; i++) {
        og_context_free(slots[i].ctx);
        og_context_free(slots[i].draft);
    }
    free(slots);
}
