/*
 * stream.c - a generation streamed as server-sent events, the way
 * OpenAI's API streams: one "data: {chunk}" event per piece of text, a
 * last chunk with finish_reason, usage when stream_options asks, then
 * "data: [DONE]". libmicrohttpd pulls the bytes from a callback on the
 * connection's thread; the callback waits for the slot's worker to
 * publish text and notices a client that hung up, which cancels the job.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server.h"

#define KEEPALIVE_SECONDS 10.0

bool og_srv_events_raw(og_srv_events *e, const char *p, size_t n)
{
    if (e->len + n > e->cap) {
        size_t cap = (e->len + n) * 2;
        char *bigger = realloc(e->data, cap);
        if (!bigger)
            return false;
        e->data = bigger;
        e->cap = cap;
    }
    memcpy(e->data + e->len, p, n);
    e->len += n;
    return true;
}

bool og_srv_events_put(og_srv_events *e, json_t *json)
{
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!text)
        return false;
    bool ok = og_srv_events_raw(e, "data: ", 6) && og_srv_events_raw(e, text, strlen(text)) &&
              og_srv_events_raw(e, "\n\n", 2);
    free(text);
    return ok;
}

ssize_t og_srv_events_read(og_srv_events *e, char *buf, size_t max, const bool *finished, bool (*fill)(void *),
                           void *st)
{
    while (e->pos == e->len) {
        if (*finished)
            return MHD_CONTENT_READER_END_OF_STREAM;
        e->len = e->pos = 0;
        if (!fill(st))
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = e->len - e->pos < max ? e->len - e->pos : max;
    memcpy(buf, e->data + e->pos, n);
    e->pos += n;
    return (ssize_t)n;
}

typedef struct stream {
    og_srv_answer a;
    size_t sent;      /* bytes of the job's text already sent */
    bool role_sent, finished;
    og_srv_events ev; /* events not yet handed to libmicrohttpd */
} stream;

/* One chunk: text (may be NULL), role on the first chat chunk, and the
 * finish reason on the last. */
static json_t *chunk(stream *st, const char *text, size_t len, const char *finish)
{
    json_t *choice;
    if (st->a.chat) {
        json_t *delta = json_object();
        if (!st->role_sent) {
            json_object_set_new(delta, "role", json_string("assistant"));
            st->role_sent = true;
        }
        if (text)
            json_object_set_new(delta, "content", og_srv_json_text(text, len));
        choice = json_pack("{s:i,s:o,s:o,s:n}", "index", 0, "delta", delta, "finish_reason",
                           finish ? json_string(finish) : json_null(), "logprobs");
    } else {
        choice = json_pack("{s:i,s:o,s:o,s:n}", "index", 0, "text", og_srv_json_text(text ? text : "", len),
                           "finish_reason", finish ? json_string(finish) : json_null(), "logprobs");
    }
    return json_pack("{s:s,s:s,s:I,s:s,s:s,s:[o]}", "id", st->a.id, "object",
                     st->a.chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)st->a.created,
                     "model", st->a.model, "system_fingerprint", "offgrid", "choices", choice);
}

/* Waits for more text or the end, then turns it into events. False when
 * the client went away or memory ran out: the stream ends. */
static bool fill(void *arg)
{
    stream *st = arg;
    og_srv_job *job = st->a.job;
    const double t_wait = og_srv_now();
    pthread_mutex_lock(&job->mu);
    while (job->ready == st->sent && job->state != OG_SRV_JOB_DONE) {
        /* A long wait (a full queue): an SSE comment every 10 s keeps the
         * connection active, or libmicrohttpd's idle timeout closes it. */
        if (og_srv_now() - t_wait > KEEPALIVE_SECONDS) {
            pthread_mutex_unlock(&job->mu);
            return og_srv_events_raw(&st->ev, ": keep-alive\n\n", 14);
        }
        og_srv_wait_tick(&job->cv, &job->mu);
        if (job->ready == st->sent && job->state != OG_SRV_JOB_DONE && og_srv_peer_gone(st->a.fd)) {
            job->cancel = true;
            pthread_mutex_unlock(&job->mu);
            return false;
        }
    }
    size_t n = job->ready - st->sent;
    char *text = n ? malloc(n) : NULL;
    if (text)
        memcpy(text, job->text + st->sent, n);
    st->sent = job->ready;
    bool done = job->state == OG_SRV_JOB_DONE;
    pthread_mutex_unlock(&job->mu);
    if (n && !text)
        return false;
    bool ok = true;
    if (n || (st->a.chat && !st->role_sent))
        ok = og_srv_events_put(&st->ev, chunk(st, text, n, NULL));
    free(text);
    if (!ok || !done)
        return ok;
    /* The job is done: nothing changes it any more. */
    st->finished = true;
    if (job->status != OG_OK) {
        json_t *err = json_pack("{s:{s:s,s:s,s:n}}", "error", "message", job->error, "type", "server_error", "code");
        return og_srv_events_put(&st->ev, err) && og_srv_events_raw(&st->ev, "data: [DONE]\n\n", 14);
    }
    ok = og_srv_events_put(&st->ev, chunk(st, NULL, 0, job->finish ? job->finish : "stop"));
    if (ok && st->a.include_usage)
        ok = og_srv_events_put(&st->ev, json_pack("{s:s,s:s,s:I,s:s,s:[],s:o}", "id", st->a.id, "object",
                                     st->a.chat ? "chat.completion.chunk" : "text_completion", "created",
                                     (json_int_t)st->a.created, "model", st->a.model, "choices", "usage",
                                     og_srv_usage(job)));
    return ok && og_srv_events_raw(&st->ev, "data: [DONE]\n\n", 14);
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
    /* Harmless when the job is done; stops it when the client left. */
    og_srv_job_cancel(st->a.job);
    og_srv_job_release(st->a.job);
    free(st->ev.data);
    free(st);
}

enum MHD_Result og_srv_stream(struct MHD_Connection *c, og_srv_req *r, og_srv_answer *a)
{
    stream *st = calloc(1, sizeof *st);
    if (!st) {
        og_srv_job_cancel(a->job);
        og_srv_job_release(a->job);
        return MHD_NO;
    }
    st->a = *a;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, st, release);
    if (!resp) {
        release(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return og_srv_queue(c, r, 200, resp);
}
