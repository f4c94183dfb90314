/*
 * metrics.c - counters and histograms for /metrics, in Prometheus' text
 * format: requests by endpoint and status, tokens, request latency, time
 * to first token and generation speed. One mutex: updates are a few
 * additions per request, far from the cost of a token.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

static const char *const ep_names[OG_SRV_EP_COUNT] = {
    "chat_completions", "completions", "embeddings", "models", "health", "metrics", "page", "documents", "other",
};

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double time_bounds[OG_SRV_N_BUCKETS - 1] = { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
static const double rate_bounds[OG_SRV_N_BUCKETS - 1] = { 1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 250 };

void og_srv_metrics_init(og_srv_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void og_srv_metrics_destroy(og_srv_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

static void observe(og_srv_hist *h, const double *bounds, double v)
{
    int b = 0;
    while (b < OG_SRV_N_BUCKETS - 1 && v > bounds[b])
        b++;
    h->counts[b]++;
    h->n++;
    h->sum += v;
}

void og_srv_metrics_request(og_srv_metrics *m, og_srv_endpoint ep, int status, double seconds)
{
    if (status < 100 || status > 599)
        status = 599;
    pthread_mutex_lock(&m->mu);
    m->requests[ep][status]++;
    if (status == 503)
        m->rejected++;
    observe(&m->latency[ep], time_bounds, seconds);
    pthread_mutex_unlock(&m->mu);
}

void og_srv_metrics_tokens(og_srv_metrics *m, int32_t n_prompt, int32_t n_gen, double first_token_s,
                           double gen_seconds, bool cancelled)
{
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += (uint64_t)(n_prompt > 0 ? n_prompt : 0);
    m->completion_tokens += (uint64_t)(n_gen > 0 ? n_gen : 0);
    m->cancelled += cancelled;
    if (first_token_s >= 0)
        observe(&m->first_token, time_bounds, first_token_s);
    if (n_gen > 1 && gen_seconds > 0)
        observe(&m->token_rate, rate_bounds, (n_gen - 1) / gen_seconds);
    pthread_mutex_unlock(&m->mu);
}

/* A growing text buffer; on failure it frees itself and stays NULL. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    if (!b->p)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            free(b->p);
            b->p = NULL;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        char *bigger = realloc(b->p, b->cap * 2 + (size_t)n);
        if (!bigger) {
            free(b->p);
            b->p = NULL;
            return;
        }
        b->p = bigger;
        b->cap = b->cap * 2 + (size_t)n;
    }
}

static void put_hist(buf *b, const char *name, const char *labels, const og_srv_hist *h, const double *bounds)
{
    uint64_t cum = 0;
    const char *sep = labels[0] ? "," : "";
    for (int i = 0; i < OG_SRV_N_BUCKETS - 1; i++) {
        cum += h->counts[i];
        put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i], (unsigned long long)cum);
    }
    put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)h->n);
    put(b, "%s_sum%s%s%s %.6f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "", h->sum);
    put(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
        (unsigned long long)h->n);
}

char *og_srv_metrics_text(og_server *s)
{
    buf b = { malloc(16384), 0, 16384 };
    pthread_mutex_lock(&s->qmu);
    int busy = s->n_busy, queued = s->n_queued, slots = s->n_slots;
    pthread_mutex_unlock(&s->qmu);
    /* A copy, so the lock is not held while formatting. */
    og_srv_metrics *m = malloc(sizeof *m);
    if (!m || !b.p) {
        free(m);
        free(b.p);
        return NULL;
    }
    pthread_mutex_lock(&s->metrics.mu);
    memcpy(m, &s->metrics, sizeof *m);
    pthread_mutex_unlock(&s->metrics.mu);

    put(&b, "# HELP offgrid_requests_total HTTP requests by endpoint and status.\n"
            "# TYPE offgrid_requests_total counter\n");
    for (int e = 0; e < OG_SRV_EP_COUNT; e++)
        for (int st = 100; st < 600; st++)
            if (m->requests[e][st])
                put(&b, "offgrid_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n", ep_names[e], st,
                    (unsigned long long)m->requests[e][st]);
    put(&b, "# HELP offgrid_prompt_tokens_total Prompt tokens of generation requests.\n"
            "# TYPE offgrid_prompt_tokens_total counter\noffgrid_prompt_tokens_total %llu\n",
        (unsigned long long)m->prompt_tokens);
    put(&b, "# HELP offgrid_completion_tokens_total Generated tokens.\n"
            "# TYPE offgrid_completion_tokens_total counter\noffgrid_completion_tokens_total %llu\n",
        (unsigned long long)m->completion_tokens);
    put(&b, "# HELP offgrid_cancelled_total Generations stopped because the client went away.\n"
            "# TYPE offgrid_cancelled_total counter\noffgrid_cancelled_total %llu\n",
        (unsigned long long)m->cancelled);
    put(&b, "# HELP offgrid_rejected_total Requests refused with 503 because the queue was full.\n"
            "# TYPE offgrid_rejected_total counter\noffgrid_rejected_total %llu\n",
        (unsigned long long)m->rejected);
    put(&b, "# HELP offgrid_slots Generation slots.\n# TYPE offgrid_slots gauge\noffgrid_slots %d\n", slots);
    put(&b, "# HELP offgrid_slots_busy Slots generating now.\n# TYPE offgrid_slots_busy gauge\n"
            "offgrid_slots_busy %d\n", busy);
    put(&b, "# HELP offgrid_queue_length Requests waiting for a slot.\n# TYPE offgrid_queue_length gauge\n"
            "offgrid_queue_length %d\n", queued);
    put(&b, "# HELP offgrid_request_duration_seconds Time from request to the end of its response.\n"
            "# TYPE offgrid_request_duration_seconds histogram\n");
    for (int e = 0; e < OG_SRV_EP_COUNT; e++) {
        if (!m->latency[e].n)
            continue;
        char labels[64];
        snprintf(labels, sizeof labels, "endpoint=\"%s\"", ep_names[e]);
        put_hist(&b, "offgrid_request_duration_seconds", labels, &m->latency[e], time_bounds);
    }
    put(&b, "# HELP offgrid_time_to_first_token_seconds Queueing plus prompt processing.\n"
            "# TYPE offgrid_time_to_first_token_seconds histogram\n");
    put_hist(&b, "offgrid_time_to_first_token_seconds", "", &m->first_token, time_bounds);
    put(&b, "# HELP offgrid_generation_tokens_per_second Generation speed of each request.\n"
            "# TYPE offgrid_generation_tokens_per_second histogram\n");
    put_hist(&b, "offgrid_generation_tokens_per_second", "", &m->token_rate, rate_bounds);
    free(m);
    return b.p;
}
