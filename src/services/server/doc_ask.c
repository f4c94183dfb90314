/*
 * doc_ask.c - POST /v1/documents/ask: an answer from the documents with
 * its sources, whole or streamed as server-sent events. The retrieval
 * runs on the connection's thread under the collection's mutex; the
 * generation is a job in one of the server's slots like a chat
 * completion (the same queue, limits, deadline and cancelling when the
 * client hangs up), run by og_docs_ask_hits on the slot's context. The
 * stream is "data: {"delta": TEXT}" events of the checked answer as it
 * comes, then one event with the whole result (the answer, its sources,
 * the dropped citations: what the whole reply holds), then "data: [DONE]".
 */
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

#define BAD(...) og_srv_reply_error(s, c, r, 400, "invalid_request_error", __VA_ARGS__)
#define MAX_K 16
#define KEEPALIVE_SECONDS 10.0

/* The job's own state (og_srv_job.ext). The answer is written by the
 * slot's worker before the job is marked done, and read after. */
typedef struct ask_job {
    char *question;
    og_docs_hit *hits;
    int32_t n_hits;
    og_docs_ask_params params;
    og_docs_answer answer;
} ask_job;

static void ask_free(void *p)
{
    ask_job *a = p;
    if (!a)
        return;
    free(a->question);
    og_docs_hits_free(a->hits, a->n_hits);
    og_docs_answer_free(&a->answer);
    free(a);
}

/* Appends to the job's text; under job->mu. */
static bool append(og_srv_job *job, const char *text, size_t n)
{
    if (job->len + n + 1 > job->cap) {
        size_t cap = (job->len + n + 1) * 2;
        char *bigger = realloc(job->text, cap);
        if (!bigger)
            return false;
        job->text = bigger;
        job->cap = cap;
    }
    memcpy(job->text + job->len, text, n);
    job->len += n;
    job->text[job->len] = 0;
    return true;
}

/* og_token_fn: the checked text is published as it comes. */
static bool publish(void *user, const og_gen_token *t)
{
    og_srv_job *job = user;
    pthread_mutex_lock(&job->mu);
    bool ok = append(job, t->text, t->text_len);
    job->ready = job->len;
    if (t->id >= 0 && job->t_first == 0)
        job->t_first = og_srv_now();
    bool stop = job->cancel;
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    return ok && !stop;
}

static bool cancelled(void *user)
{
    og_srv_job *job = user;
    pthread_mutex_lock(&job->mu);
    bool stop = job->cancel;
    pthread_mutex_unlock(&job->mu);
    return stop;
}

/* The job's body in a slot (og_srv_job.run). */
static void run(og_srv_slot *slot, og_srv_job *job)
{
    og_server *s = slot->srv;
    ask_job *a = job->ext;
    og_docs_ask_params p = a->params;
    p.on_token = publish;
    p.user = job;
    p.cancel = cancelled;
    p.cancel_user = job;
    p.max_seconds = job->deadline - og_srv_now();
    if (p.max_seconds <= 0)
        p.max_seconds = 1e-9;
    og_error err = { 0 };
    og_docs_answer answer;
    og_status st = og_docs_ask_hits(s->model, slot->ctx, a->question, a->hits, a->n_hits, &p, &answer, &err);
    pthread_mutex_lock(&job->mu);
    if (st == OG_OK) {
        a->answer = answer;
        /* Nothing relevant: no generation streamed the answer. */
        if (job->len == 0 && answer.answer && !append(job, answer.answer, strlen(answer.answer)))
            st = og_error_set(&err, OG_ERR_NOMEM, "out of memory");
    }
    job->status = st;
    if (st != OG_OK)
        snprintf(job->error, sizeof job->error, "%s", err.message);
    job->finish = "stop";
    job->n_prompt = answer.gen.n_prompt;
    job->n_gen = answer.gen.n_gen;
    job->n_cached = answer.gen.n_cached;
    job->ready = job->len;
    job->state = OG_SRV_JOB_DONE;
    job->t_done = og_srv_now();
    const bool was_cancelled = job->cancel;
    const double first = job->t_first > 0 ? job->t_first - job->t_queued : -1;
    const double gen = job->t_first > 0 ? job->t_done - job->t_first : 0;
    const int32_t n_prompt = job->n_prompt, n_gen = job->n_gen;
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    og_srv_metrics_tokens(&s->metrics, n_prompt, n_gen, first, gen, was_cancelled);
}

/* The result as `offgrid docs ask --json` prints it, with the count of
 * dropped citations and the tokens used. */
static json_t *result_json(const og_srv_job *job)
{
    const og_docs_answer *a = &((const ask_job *)job->ext)->answer;
    json_t *sources = json_array(), *invented = json_array();
    for (int32_t i = 0; sources && i < a->n_sources; i++) {
        const og_docs_source *src = &a->sources[i];
        json_array_append_new(sources, json_pack("{s:i,s:o,s:o,s:I,s:I}", "n", src->n, "doc",
                                                 og_srv_json_text(src->doc, strlen(src->doc)), "page",
                                                 src->page > 0 ? json_integer(src->page) : json_null(), "start",
                                                 (json_int_t)src->start, "end", (json_int_t)src->end));
    }
    for (int32_t i = 0; invented && i < a->n_invented && i < 16; i++)
        json_array_append_new(invented, json_integer(a->invented[i]));
    const char *text = a->answer ? a->answer : "";
    return json_pack("{s:s,s:o,s:o,s:i,s:o,s:i,s:b,s:b,s:f,s:o}", "object", "documents.answer", "answer",
                     og_srv_json_text(text, strlen(text)), "sources", sources, "dropped_citations", a->n_invented,
                     "invented", invented, "repointed", a->n_repointed, "nothing_relevant", a->nothing_relevant,
                     "attributed", a->attributed, "best_cosine", a->best_cosine, "usage", og_srv_usage(job));
}

/* ------------------------------------------------------------- stream */

typedef struct stream {
    og_srv_job *job;
    int fd;
    size_t sent;
    bool finished;
    og_srv_events ev; /* events not yet handed to libmicrohttpd */
} stream;

/* Waits for more of the answer or its end and turns it into events;
 * false when the client went away or memory ran out. */
static bool fill(void *arg)
{
    stream *st = arg;
    og_srv_job *job = st->job;
    const double t_wait = og_srv_now();
    pthread_mutex_lock(&job->mu);
    while (job->ready == st->sent && job->state != OG_SRV_JOB_DONE) {
        if (og_srv_now() - t_wait > KEEPALIVE_SECONDS) {
            pthread_mutex_unlock(&job->mu);
            return og_srv_events_raw(&st->ev, ": keep-alive\n\n", 14);
        }
        og_srv_wait_tick(&job->cv, &job->mu);
        if (job->ready == st->sent && job->state != OG_SRV_JOB_DONE && og_srv_peer_gone(st->fd)) {
            job->cancel = true;
            pthread_mutex_unlock(&job->mu);
            return false;
        }
    }
    json_t *delta = job->ready > st->sent ? og_srv_json_text(job->text + st->sent, job->ready - st->sent) : NULL;
    st->sent = job->ready;
    const bool done = job->state == OG_SRV_JOB_DONE;
    pthread_mutex_unlock(&job->mu);
    if (delta && !og_srv_events_put(&st->ev, json_pack("{s:o}", "delta", delta)))
        return false;
    if (!done)
        return true;
    /* Done: the worker changes nothing any more. */
    st->finished = true;
    json_t *last = job->status == OG_OK
                       ? result_json(job)
                       : json_pack("{s:{s:s,s:s,s:n}}", "error", "message", job->error, "type", "server_error", "code");
    return og_srv_events_put(&st->ev, last) && og_srv_events_raw(&st->ev, "data: [DONE]\n\n", 14);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *st = cls;
    return og_srv_events_read(&st->ev, buf, max, &st->finished, fill, st);
}

static void release(void *cls)
{
    stream *st = cls;
    og_srv_job_cancel(st->job); /* harmless when done; stops it when the client left */
    og_srv_job_release(st->job);
    free(st->ev.data);
    free(st);
}

static enum MHD_Result reply_stream(struct MHD_Connection *c, og_srv_req *r, og_srv_job *job)
{
    stream *st = calloc(1, sizeof *st);
    if (!st) {
        og_srv_job_cancel(job);
        og_srv_job_release(job);
        return MHD_NO;
    }
    st->job = job;
    st->fd = r->fd;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, st, release);
    if (!resp) {
        release(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return og_srv_queue(c, r, 200, resp);
}

/* Waits for the job to end; false when the client went away first. */
static bool wait_done(og_srv_job *job, int fd)
{
    pthread_mutex_lock(&job->mu);
    while (job->state != OG_SRV_JOB_DONE) {
        og_srv_wait_tick(&job->cv, &job->mu);
        if (job->state != OG_SRV_JOB_DONE && og_srv_peer_gone(fd)) {
            job->cancel = true;
            pthread_mutex_unlock(&job->mu);
            return false;
        }
    }
    pthread_mutex_unlock(&job->mu);
    return true;
}

/* ----------------------------------------------------------- endpoint */

/* Checks the request; NULL when sound, else why not. */
static const char *check(og_server *s, json_t *root, bool *stream_out)
{
    if (!json_is_object(root))
        return "the body must be a JSON object";
    json_t *q = json_object_get(root, "question"), *k = json_object_get(root, "k"),
           *mt = json_object_get(root, "max_tokens"), *st = json_object_get(root, "stream");
    if (!json_is_string(q))
        return "'question' must be a string";
    const char *qs = json_string_value(q);
    if (!qs[strspn(qs, " \t\r\n")])
        return "'question' is empty";
    if (k && (!json_is_integer(k) || json_integer_value(k) < 1 || json_integer_value(k) > MAX_K))
        return "'k' must be an integer, 1..16";
    if (mt && (!json_is_integer(mt) || json_integer_value(mt) < 1 || json_integer_value(mt) > s->p.max_tokens))
        return "'max_tokens' must be an integer, 1 to the server's --max-tokens";
    if (st && !json_is_boolean(st))
        return "'stream' must be true or false";
    *stream_out = st && json_is_true(st);
    return NULL;
}

enum MHD_Result og_srv_docs_ask(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    if (!s->model)
        return og_srv_reply_error(s, c, r, 404, "invalid_request_error", "model_not_found",
                                  "asking needs a generation model; this server has none (-m)");
    char why[256];
    json_t *root = og_srv_parse_body(r, why, sizeof why);
    if (!root)
        return BAD("invalid_json", "%s", why);
    bool streamed = false;
    const char *bad = check(s, root, &streamed);
    if (bad) {
        enum MHD_Result ret = BAD("invalid_value", "%s", bad);
        json_decref(root);
        return ret;
    }
    ask_job *a = calloc(1, sizeof *a);
    if (a) {
        a->params = og_docs_default_ask_params();
        json_t *k = json_object_get(root, "k"), *mt = json_object_get(root, "max_tokens");
        a->params.k = k ? (int32_t)json_integer_value(k) : 5;
        a->params.max_tokens = mt ? (int32_t)json_integer_value(mt) : 0;
        a->question = strdup(json_string_value(json_object_get(root, "question")));
    }
    json_decref(root);
    if (!a || !a->question) {
        ask_free(a);
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
    }
    og_error err = { 0 };
    if (og_srv_docs_search(s, a->question, a->params.k, OG_DOCS_HYBRID, &a->hits, &a->n_hits, &err) != OG_OK) {
        ask_free(a);
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "retrieval failed: %s", err.message);
    }
    og_srv_job *job = og_srv_job_new(NULL, 0);
    if (!job) {
        ask_free(a);
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
    }
    job->run = run;
    job->ext = a;
    job->ext_free = ask_free;
    job->deadline = og_srv_now() + s->p.timeout_seconds;
    if (!og_srv_submit(s, job)) {
        og_srv_job_release(job);
        r->retry_after = true;
        return og_srv_reply_error(s, c, r, 503, "server_error", "overloaded",
                                  "every slot is busy and the queue is full; retry shortly");
    }
    if (streamed)
        return reply_stream(c, r, job);
    enum MHD_Result ret;
    if (!wait_done(job, r->fd))
        ret = MHD_NO; /* nobody to answer: close */
    else if (job->status != OG_OK)
        ret = og_srv_reply_error(s, c, r, job->status == OG_ERR_CANCELLED ? 503 : 500, "server_error", NULL,
                                 "answering failed: %s", job->error);
    else
        ret = og_srv_reply_json(s, c, r, 200, result_json(job));
    if (ret == MHD_NO)
        og_srv_job_cancel(job);
    og_srv_job_release(job);
    return ret;
}
