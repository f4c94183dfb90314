/*
 * server.h - what the files of the OpenAI-compatible server share:
 * the server, its slots and queue, a generation job, a request, metrics.
 * Private to the library.
 *
 * Threads: libmicrohttpd runs one thread per connection; those threads
 * parse requests, queue generation jobs and stream their text. Each slot
 * is a worker thread owning one og_context (KV cache) over the shared,
 * read-only model; it takes jobs from the queue in order. A job is shared
 * by the connection thread and the slot's worker, guarded by its own
 * mutex and freed by whichever lets go of it last.
 */
#ifndef OG_SERVER_SERVER_H
#define OG_SERVER_SERVER_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "offgrid_services.h"

typedef enum og_srv_endpoint {
    OG_SRV_EP_CHAT,
    OG_SRV_EP_COMPLETIONS,
    OG_SRV_EP_EMBEDDINGS,
    OG_SRV_EP_MODELS,
    OG_SRV_EP_HEALTH,
    OG_SRV_EP_METRICS,
    OG_SRV_EP_PAGE,
    OG_SRV_EP_DOCUMENTS, /* every /v1/documents endpoint */
    OG_SRV_EP_OTHER,
    OG_SRV_EP_COUNT
} og_srv_endpoint;

/* ------------------------------------------------------------- metrics */

#define OG_SRV_N_BUCKETS 12

typedef struct og_srv_hist {
    uint64_t counts[OG_SRV_N_BUCKETS]; /* per bucket (not cumulative) */
    uint64_t n;                        /* all observations (+Inf) */
    double sum;
} og_srv_hist;

typedef struct og_srv_metrics {
    pthread_mutex_t mu;
    uint64_t requests[OG_SRV_EP_COUNT][600]; /* by endpoint and status */
    uint64_t prompt_tokens, completion_tokens, cancelled, rejected;
    og_srv_hist latency[OG_SRV_EP_COUNT]; /* whole request, seconds */
    og_srv_hist first_token;              /* queue + prompt, seconds */
    og_srv_hist token_rate;               /* generation tokens/s per request */
} og_srv_metrics;

void og_srv_metrics_init(og_srv_metrics *m);
void og_srv_metrics_destroy(og_srv_metrics *m);
void og_srv_metrics_request(og_srv_metrics *m, og_srv_endpoint ep, int status, double seconds);
void og_srv_metrics_tokens(og_srv_metrics *m, int32_t n_prompt, int32_t n_gen, double first_token_s,
                           double gen_seconds, bool cancelled);
/* The Prometheus text exposition; malloc'd, NULL when out of memory. */
char *og_srv_metrics_text(og_server *s);

/* ----------------------------------------------------------------- jobs */

typedef enum og_srv_job_state { OG_SRV_JOB_QUEUED, OG_SRV_JOB_RUNNING, OG_SRV_JOB_DONE } og_srv_job_state;

#define OG_SRV_MAX_STOP 4

struct og_srv_slot;

typedef struct og_srv_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    struct og_srv_job *next; /* queue link, under the server's qmu */

    /* The request: set before queueing, read-only after. */
    og_token *prompt;
    int32_t n_prompt;
    int32_t max_tokens;
    og_sampler_params sampling;
    char *stop[OG_SRV_MAX_STOP];
    int n_stop;
    bool json_object;  /* constrain the output to one JSON object */
    double t_queued, deadline;

    /* Progress, under mu. text[0..ready) may be sent: it ends on a whole
     * UTF-8 character and holds no beginning of a stop string. */
    /* A job that is not a plain generation (a documents answer): the
     * slot's worker calls run instead of decoding prompt; ext is its own
     * state, freed with the job by ext_free. */
    void (*run)(struct og_srv_slot *slot, struct og_srv_job *job);
    void *ext;
    void (*ext_free)(void *ext);

    og_srv_job_state state;
    bool cancel;       /* the client went away or the server stops */
    char *text;
    size_t len, cap, ready;
    int32_t n_gen, n_cached; /* n_cached: prompt tokens found in the KV cache */
    const char *finish; /* "stop" or "length" once done */
    og_status status;   /* != OG_OK: the job failed, error says why */
    char error[256];
    double t_first, t_done; /* first token, end (monotonic seconds) */
} og_srv_job;

/* A job holding the request's prompt (copied) with one reference for the
 * caller; NULL when out of memory. */
og_srv_job *og_srv_job_new(const og_token *prompt, int32_t n_prompt);
void og_srv_job_release(og_srv_job *job);
/* Marks the job cancelled and wakes whoever waits on it. */
void og_srv_job_cancel(og_srv_job *job);

/* ---------------------------------------------------------------- slots */

typedef struct og_srv_slot {
    og_server *srv;
    int id;
    pthread_t thread;
    bool started;
    og_srv_job *job;   /* the job it runs, under the server's qmu */
    og_context *ctx;   /* remembers the ids in its KV cache (og_context_tokens) */
    og_context *draft; /* of the server's draft model, attached to ctx; or NULL */
} og_srv_slot;

/* Creates the contexts and starts the workers. */
og_status og_srv_slots_start(og_server *s, og_error *err);
/* Cancels queued and running jobs, joins the workers, frees the slots. */
void og_srv_slots_stop(og_server *s);
/* Queues a job (taking a reference). False when the queue is full. */
bool og_srv_submit(og_server *s, og_srv_job *job);
/* Runs one job in a slot (the worker's body; decode.c). */
void og_srv_run_job(og_srv_slot *slot, og_srv_job *job);

/* --------------------------------------------------------------- server */

struct og_server {
    og_server_params p;  /* strings below are the server's own copies */
    char *model_id, *embed_model_id, *api_key, *host, *cors;
    og_model *model;     /* generation, or NULL */
    og_model *draft_model; /* --draft: speculative decoding in every slot, or NULL */
    og_model *embed_model;
    og_encoder *encoder;
    pthread_mutex_t enc_mu; /* one embedding call at a time */
    int32_t n_vocab;
    int64_t created;

    og_srv_slot *slots;
    int n_slots;
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    og_srv_job *head, *tail;
    int n_queued, n_busy;
    bool stopping;

    struct MHD_Daemon *daemon;
    struct og_srv_gate *gate; /* the accept loop in front of it (gate.c) */
    atomic_int n_open; /* requests begun and not yet answered (on_completed) */
    int log_fd, log_kind;        /* where og_srv_log writes (reqlog.c) */
    atomic_uint log_dropped;     /* lines it could not write at once */
    int port;
    bool loopback, wildcard; /* the bound address */
    og_srv_metrics metrics;
    struct og_srv_docs *docs; /* the documents collection served (documents.c), or NULL */
};

/* ------------------------------------------------------------- requests */

typedef struct og_srv_req {
    og_srv_endpoint ep;
    double t0;
    int status;        /* of the response queued, for metrics */
    int fd;            /* the connection's socket, to notice a hang-up */
    char *body;
    size_t len, cap;
    bool too_big, checked;
    uint64_t seen;     /* body bytes received, kept or dropped */
    double t_drain;    /* when the rest of a too-large body began to be dropped */
    char origin[256];  /* Origin to echo when it is allowed, else "" */
    bool retry_after;  /* add Retry-After (a 503 for a full queue) */
    bool www_auth;     /* add WWW-Authenticate (a 401) */
    const char *model_ref; /* GET /v1/models/{id}: the id (MHD's url), else NULL */
    bool chunked;      /* no Content-Length: the body's size is learnt as it comes */
    bool answered;     /* an answer was written to fd directly (og_srv_send_error) */
    size_t limit;      /* largest body: max_body, or max_upload for an upload */
    int docs_op;       /* og_srv_docs_op of an OG_SRV_EP_DOCUMENTS request */
    const char *doc_ref; /* DELETE /v1/documents/{id}: the id (MHD's url), else NULL */
    struct og_srv_upload *upload; /* POST /v1/documents: the file as it streams in (doc_upload.c) */
    char line[128];    /* "METHOD /path" for the log, unprintable bytes as '?' */
} og_srv_req;

double og_srv_now(void);
/* Waits on cv (mu held) for at most 100 ms: long enough to idle, short
 * enough to notice a client that went away. */
void og_srv_wait_tick(pthread_cond_t *cv, pthread_mutex_t *mu);
/* True when the client closed its end of the connection. */
bool og_srv_peer_gone(int fd);

/* Sends a JSON body (json is consumed). */
enum MHD_Result og_srv_reply_json(og_server *s, struct MHD_Connection *c, og_srv_req *r, int status, json_t *json);
/* Sends {"error":{"message","type","code"}}. code may be NULL (null). */
/* The request body as JSON (duplicate keys refused); NULL, with the reason
 * in why, when it is empty or not JSON. The caller owns the result. */
json_t *og_srv_parse_body(const og_srv_req *r, char *why, size_t cap);
enum MHD_Result og_srv_reply_error(og_server *s, struct MHD_Connection *c, og_srv_req *r, int status,
                                   const char *type, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Adds the headers every response carries (CORS when allowed, no-store). */
void og_srv_add_headers(og_srv_req *r, struct MHD_Response *resp);
/* Queues resp with status, recording the status; consumes resp. */
enum MHD_Result og_srv_queue(struct MHD_Connection *c, og_srv_req *r, int status, struct MHD_Response *resp);

/* The endpoints (the body is complete and the request authorized). */
enum MHD_Result og_srv_generate(og_server *s, struct MHD_Connection *c, og_srv_req *r, bool chat);
enum MHD_Result og_srv_embeddings(og_server *s, struct MHD_Connection *c, og_srv_req *r);
/* GET /v1/models, or one model when r->model_ref is set. */
enum MHD_Result og_srv_models(og_server *s, struct MHD_Connection *c, og_srv_req *r);
enum MHD_Result og_srv_page(og_server *s, struct MHD_Connection *c, og_srv_req *r);

/* What a generation response needs besides the job (generate.c, stream.c). */
typedef struct og_srv_answer {
    og_server *srv;
    og_srv_job *job;
    bool chat, include_usage;
    char id[48];
    const char *model; /* the server's model id */
    int64_t created;
    int fd;
} og_srv_answer;

/* The usage object of a finished job. */
json_t *og_srv_usage(const og_srv_job *job);
/* Streams the job as server-sent events; takes over a (and its job
 * reference) whatever it returns. */
enum MHD_Result og_srv_stream(struct MHD_Connection *c, og_srv_req *r, og_srv_answer *a);

/* Server-sent events waiting to be handed to libmicrohttpd (stream.c),
 * shared by the completion and the documents streams. */
typedef struct og_srv_events {
    char *data; /* free()d by the stream's owner */
    size_t len, pos, cap;
} og_srv_events;
/* Appends n raw bytes; false when out of memory. */
bool og_srv_events_raw(og_srv_events *e, const char *p, size_t n);
/* Appends "data: <json>\n\n"; json is consumed (NULL: false). */
bool og_srv_events_put(og_srv_events *e, json_t *json);
/* A content reader's body: hands out what is queued, and while nothing
 * is, calls fill(st) for more (false: the stream fails) until *finished. */
ssize_t og_srv_events_read(og_srv_events *e, char *buf, size_t max, const bool *finished, bool (*fill)(void *),
                           void *st);

/* ----------------------------------------------------------- documents */

/* The collection (documents.c) is used through two handles, because an
 * og_docs is one SQLite connection and not safe for concurrent use: the
 * indexer thread owns one (og_docs_add holds it for as long as a file
 * takes, minutes for a large PDF), and request threads share the other
 * under a mutex (list, search, delete and an ask's retrieval, which are
 * short). SQLite's WAL lets the two read and write side by side; an ask's
 * generation runs in a slot without the mutex (og_docs_ask_hits). */
typedef enum og_srv_docs_op {
    OG_SRV_DOCS_LIST,
    OG_SRV_DOCS_UPLOAD,
    OG_SRV_DOCS_DELETE,
    OG_SRV_DOCS_SEARCH,
    OG_SRV_DOCS_ASK
} og_srv_docs_op;

typedef struct og_srv_docs og_srv_docs;
/* Opens the collection params name (both handles) with the served
 * encoder's file, then starts the indexer, which first indexes what an
 * earlier run left unindexed in the uploads folder. */
og_status og_srv_docs_start(og_server *s, og_error *err);
/* Stops the indexer (after the file it is reading); then, once no
 * connection thread is left, og_srv_docs_free closes the collection.
 * Both do nothing when no collection is served. */
void og_srv_docs_stop(og_server *s);
void og_srv_docs_free(og_server *s);
/* Hands a stored upload to the indexer; false when out of memory. */
bool og_srv_docs_enqueue(og_server *s, const char *path, int64_t bytes);
/* A document's id: 16 hex digits hashed from its path. */
void og_srv_doc_id(const char *path, char out[17]);
/* The uploads folder (<home>/docs/<collection>/files). */
const char *og_srv_docs_files_dir(const og_server *s);
/* An OG_SRV_EP_DOCUMENTS request, body complete. */
enum MHD_Result og_srv_documents(og_server *s, struct MHD_Connection *c, og_srv_req *r);
/* POST /v1/documents/ask (doc_ask.c). */
enum MHD_Result og_srv_docs_ask(og_server *s, struct MHD_Connection *c, og_srv_req *r);
/* Runs og_docs_search on the requests' handle, under its mutex. */
og_status og_srv_docs_search(og_server *s, const char *query, int32_t k, og_docs_mode mode, og_docs_hit **hits,
                             int32_t *n, og_error *err);

/* The upload of POST /v1/documents (doc_upload.c): begun with the
 * headers, fed the body as it comes (never kept in memory: the file field
 * goes to a temporary file in the uploads folder), finished once it is
 * all there (stored under a safe name and queued: 202). */
void og_srv_upload_begin(og_server *s, struct MHD_Connection *c, og_srv_req *r);
void og_srv_upload_feed(og_srv_req *r, const char *data, size_t n);
enum MHD_Result og_srv_upload_finish(og_server *s, struct MHD_Connection *c, og_srv_req *r);
/* Frees the upload, removing its temporary file; NULL-safe. */
void og_srv_upload_free(struct og_srv_upload *u);

/* ---------------------------------------------------------------- gate */

typedef struct og_srv_gate og_srv_gate;
/* Listens on addr (setting s->port) and starts the accept thread, which
 * hands connections whose headers are complete and sound to s->daemon,
 * within the gate's own count of connections (see gate.c). */
og_status og_srv_gate_start(og_server *s, const struct sockaddr_storage *addr, og_error *err);
/* Stops accepting, closes the connections still waiting; NULL-safe. */
void og_srv_gate_stop(og_server *s);
/* Frees the gate (stopping it first); after MHD_stop_daemon, whose last
 * "closed" notifications still reach the gate's count. NULL-safe. */
void og_srv_gate_free(og_server *s);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the
 * server): a closed connection leaves the gate's count. */
void og_srv_gate_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code);

/* ------------------------------------------------------- direct answers */

/* Writes a whole JSON error response (with Connection: close) straight
 * to the socket, without waiting: for answers libmicrohttpd cannot send.
 * origin: the Origin to allow (CORS, as og_srv_add_headers), or NULL/"". */
void og_srv_send_error(int fd, int status, const char *code, const char *message, const char *origin);
/* After such an answer, before the socket is closed: ends our sending
 * side (FIN after the answer) and reads and drops what the client still
 * sends for a bounded while (3 s, 4 MiB), so that closing with unread
 * data (a reset) does not destroy the answer before the client reads it.
 * Does not close fd. fd < 0: nothing. */
void og_srv_linger(int fd);

/* ------------------------------------------------------------------ log */

/* Sets up s->log_fd from stderr; og_srv_log_close undoes it. */
void og_srv_log_open(og_server *s);
void og_srv_log_close(og_server *s);
/* Writes one line (a newline is added) to stderr without ever blocking:
 * a line stderr cannot take at once is dropped, counted, and reported
 * with the next line that goes through. Thread-safe. */
void og_srv_log(og_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- text */

/* A json string of text[0..len), invalid UTF-8 replaced by U+FFFD. */
json_t *og_srv_json_text(const char *text, size_t len);
/* Standard base64 of n bytes; malloc'd and NUL-terminated. */
char *og_srv_base64(const void *data, size_t n);
/* Compares two strings in time that depends only on their lengths. */
bool og_srv_secret_equal(const char *a, const char *b);

#endif
