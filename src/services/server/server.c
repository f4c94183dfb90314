/*
 * server.c - starting and stopping the server, and the front door every
 * request goes through before an endpoint sees it: routing, the Host
 * check (DNS rebinding), Origin and CORS, the API key, the body limit.
 * Every refusal is a JSON error with its status.
 */
#define _GNU_SOURCE /* memmem, POLLRDHUP */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "offgrid.h"
#include "server/server.h"

og_server_params og_server_default_params(void)
{
    og_server_params p;
    memset(&p, 0, sizeof p);
    p.host = "127.0.0.1";
    p.port = 8080;
    return p;
}

bool og_srv_peer_gone(int fd)
{
    if (fd < 0)
        return false;
    struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return true;
    char b;
    return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* ------------------------------------------------------------- replies */

void og_srv_add_headers(og_srv_req *r, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r && r->retry_after)
        MHD_add_response_header(resp, "Retry-After", "1");
    if (r && r->www_auth)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    /* Every answer ends its connection, so that each request comes in
     * through the gate's header checks and deadline (gate.c): a kept-alive
     * connection could dribble its next request's headers for ever. */
    MHD_add_response_header(resp, "Connection", "close");
    if (r && r->origin[0]) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->origin);
        MHD_add_response_header(resp, "Vary", "Origin");
    }
}

enum MHD_Result og_srv_queue(struct MHD_Connection *c, og_srv_req *r, int status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    og_srv_add_headers(r, resp);
    if (r)
        r->status = status;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result og_srv_reply_json(og_server *s, struct MHD_Connection *c, og_srv_req *r, int status, json_t *json)
{
    (void)s;
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!text)
        return MHD_NO;
    size_t n = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return og_srv_queue(c, r, status, resp);
}

enum MHD_Result og_srv_reply_error(og_server *s, struct MHD_Connection *c, og_srv_req *r, int status,
                                   const char *type, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:{s:o,s:s,s:o}}", "error", "message", og_srv_json_text(msg, strlen(msg)), "type",
                            type, "code", code ? json_string(code) : json_null());
    if (!err)
        return MHD_NO;
    return og_srv_reply_json(s, c, r, status, err);
}

/* ---------------------------------------------------------- body limit */

/* A client such as Python's http.client sends the whole body before it
 * reads a byte of the answer, so a 413 sent while it is still sending,
 * followed by a close, reaches it as a broken pipe or a reset, never as
 * the 413. So, as nginx's lingering close does, the rest of a body over
 * the limit is read and dropped, and the 413 sent once it has all come;
 * within these bounds, so that a client cannot hold a connection forever
 * by sending slowly or without end (past them the connection is cut): */
#define DRAIN_BYTES ((uint64_t)64 << 20) /* read past --max-body, at most */
#define DRAIN_SECONDS 10.0               /* from the refusal, checked as bytes come */
#define DRAIN_IDLE_SECONDS 5u            /* the longest silence while dropping */
/* The longest a body may take to arrive, from the end of its headers
 * (checked as bytes come; silence is cut by the 30 s idle timeout):
 * BODY_MIN_SECONDS, or longer for a large --max-body, so that a body of
 * the largest size allowed sent at BODY_MIN_RATE still arrives (an honest
 * client is far faster). */
#define BODY_MIN_SECONDS 30.0
#define BODY_MIN_RATE 32768.0 /* bytes per second */

static double body_seconds(const og_srv_req *r)
{
    double t = (double)r->limit / BODY_MIN_RATE;
    return t > BODY_MIN_SECONDS ? t : BODY_MIN_SECONDS;
}

/* The most body bytes read, kept or dropped, before the connection is cut. */
static uint64_t drain_limit(const og_srv_req *r)
{
    uint64_t max = (uint64_t)r->limit;
    return max > UINT64_MAX - DRAIN_BYTES ? UINT64_MAX : max + DRAIN_BYTES;
}

/* Marks r too large and starts dropping the rest of its body. The idle
 * timeout is cut to DRAIN_IDLE_SECONDS, because DRAIN_SECONDS is only
 * checked when bytes arrive (MHD calls us for nothing else). Returns
 * false when MHD refuses the timeout: then the caller must not drain. */
static bool start_draining(struct MHD_Connection *c, og_srv_req *r)
{
    if (MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, DRAIN_IDLE_SECONDS) != MHD_YES)
        return false;
    r->too_big = true;
    r->t_drain = og_srv_now();
    return true;
}

/* Queues the 413 (with Connection: close, as every answer). */
static enum MHD_Result reply_too_large(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    return og_srv_reply_error(s, c, r, 413, "invalid_request_error", "request_too_large",
                              "the body is larger than %zu bytes%s", r->limit,
                              r->upload || r->docs_op == OG_SRV_DOCS_UPLOAD ? " (--max-upload)" : "");
}

/* A Content-Length over the limit starts the draining (see above), unless
 * it is past the drain bound or the client waits for 100 Continue: then
 * the 413 is queued now, before the body, and MHD sends it, reads no
 * more and closes. Returns true when it queued the 413 (*ret). */
static bool refuse_declared_size(og_server *s, struct MHD_Connection *c, og_srv_req *r, enum MHD_Result *ret)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
    if (declared <= r->limit)
        return false;
    /* A client that asked for "100 Continue" waits for it before sending
     * anything, so it reads this 413 with no body to drain. */
    const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");
    bool waits = expect && !strcasecmp(expect, "100-continue");
    if (!waits && declared <= drain_limit(r) && start_draining(c, r))
        return false;
    *ret = reply_too_large(s, c, r);
    return true;
}

/* Keeps an upload chunk, or drops it once the body is over the limit.
 * Returns MHD_NO to cut the connection: out of memory, or a too-large
 * body past the drain bounds. */
static enum MHD_Result take_upload(og_server *s, struct MHD_Connection *c, og_srv_req *r, const char *upload,
                                   size_t n)
{
    r->seen += n;
    if (!r->too_big && og_srv_now() - r->t0 > body_seconds(r)) {
        /* libmicrohttpd cannot queue an answer during a body: written here */
        char msg[80];
        snprintf(msg, sizeof msg, "the request body did not arrive within %.0f s", body_seconds(r));
        og_srv_send_error(r->fd, 408, "request_timeout", msg, r->origin);
        og_srv_linger(r->fd);
        r->status = 408;
        return MHD_NO;
    }
    if (!r->too_big && r->len + n > r->limit) {
        if (!start_draining(c, r))
            return MHD_NO;
        if (r->chunked) {
            /* Nothing said how long it would be, so the client may never
             * stop: the 413 goes out now, written to the socket, because
             * libmicrohttpd 0.9.75 cannot queue an answer during a body.
             * The rest is still dropped within the drain bounds so that a
             * client that sends everything first reads it too. */
            char msg[96];
            snprintf(msg, sizeof msg, "the body is larger than %zu bytes", r->limit);
            og_srv_send_error(r->fd, 413, "request_too_large", msg, r->origin);
            r->answered = true;
            r->status = 413;
        }
    }
    if (r->too_big) {
        if (r->seen > drain_limit(r) || og_srv_now() - r->t_drain > DRAIN_SECONDS) {
            if (r->answered)
                og_srv_linger(r->fd); /* let the 413 written earlier be read */
            r->status = 413; /* refused, though no answer can be sent now */
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (r->upload) { /* streamed to its file, never kept here */
        r->len += n;
        og_srv_upload_feed(r, upload, n);
        return MHD_YES;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = (r->len + n + 1) * 2;
        if (cap > r->limit + 1)
            cap = r->limit + 1;
        char *bigger = realloc(r->body, cap);
        if (!bigger)
            return MHD_NO;
        r->body = bigger;
        r->cap = cap;
    }
    memcpy(r->body + r->len, upload, n);
    r->len += n;
    r->body[r->len] = 0;
    return MHD_YES;
}

/* -------------------------------------------------------------- checks */

static bool host_is_loopback_name(const char *h, size_t n)
{
    return (n == 9 && !strncasecmp(h, "localhost", 9)) || (n == 3 && !strncmp(h, "::1", 3)) ||
           (n >= 4 && !strncmp(h, "127.", 4) && strspn(h, "0123456789.") == n);
}

/* Counts the Host headers (MHD's lookup sees only the first). */
static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    if (key && !strcasecmp(key, "Host"))
        ++*(int *)cls;
    return MHD_YES;
}

/* RFC 9110's Host: uri-host [ ":" port ], where uri-host is a bracketed
 * IPv6 address or a name of letters, digits and . - _ ~. */
static bool host_syntax_ok(const char *h)
{
    const char *p = h;
    if (*p == '[') {
        p += 1 + strspn(p + 1, "0123456789abcdefABCDEF:.");
        if (*p++ != ']' || p == h + 2)
            return false;
    } else {
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~");
        if (!n)
            return false;
        p += n;
    }
    if (!*p)
        return true;
    size_t digits = strspn(p + 1, "0123456789");
    return *p == ':' && digits >= 1 && digits <= 5 && !p[1 + digits] && atol(p + 1) <= 65535;
}

/* DNS rebinding: a page on another site may resolve its own name to our
 * address, but its requests still say its name in Host. */
static bool host_allowed(og_server *s, const char *host)
{
    if (!host)
        return true; /* HTTP/1.0 without Host: no browser sends that */
    if (s->wildcard)
        return true; /* bound to every address: a key guards it (see docs) */
    const char *h = host, *end;
    if (*h == '[') {
        h++;
        end = strchr(h, ']');
        if (!end)
            return false;
    } else {
        end = strchr(h, ':');
        if (!end)
            end = h + strlen(h);
    }
    size_t n = (size_t)(end - h);
    if (host_is_loopback_name(h, n))
        return true;
    return strlen(s->host) == n && !strncasecmp(h, s->host, n);
}

/* Whether origin is in the comma-separated allow-list. */
static bool origin_listed(og_server *s, const char *origin)
{
    if (!s->cors)
        return false;
    size_t n = strlen(origin);
    for (const char *p = s->cors; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && isspace((unsigned char)*p)) { p++; len--; }
        while (len && isspace((unsigned char)p[len - 1])) len--;
        if ((len == 1 && *p == '*') || (len == n && !strncasecmp(p, origin, n)))
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

/* A browser says where a page came from: the server's own page (same
 * host:port) and allow-listed origins may call it, no other. */
static bool origin_ok(og_server *s, og_srv_req *r, const char *origin, const char *host)
{
    if (!origin)
        return true;
    if (origin_listed(s, origin)) {
        snprintf(r->origin, sizeof r->origin, "%s", origin);
        return true;
    }
    const char *p = !strncmp(origin, "http://", 7) ? origin + 7 : NULL;
    return p && host && !strcasecmp(p, host);
}

static bool authorized(og_server *s, struct MHD_Connection *c)
{
    if (!s->api_key)
        return true;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    auth += 7;
    while (*auth == ' ')
        auth++;
    return og_srv_secret_equal(auth, s->api_key);
}

typedef struct route {
    const char *path, *method;
    og_srv_endpoint ep;
    bool public; /* served without the API key */
    int docs_op; /* og_srv_docs_op of OG_SRV_EP_DOCUMENTS */
} route;

static const route routes[] = {
    { "/v1/chat/completions", "POST", OG_SRV_EP_CHAT, false, 0 },
    { "/v1/completions", "POST", OG_SRV_EP_COMPLETIONS, false, 0 },
    { "/v1/embeddings", "POST", OG_SRV_EP_EMBEDDINGS, false, 0 },
    { "/v1/models", "GET", OG_SRV_EP_MODELS, false, 0 },
    { "/health", "GET", OG_SRV_EP_HEALTH, true, 0 },
    { "/metrics", "GET", OG_SRV_EP_METRICS, false, 0 },
    { "/", "GET", OG_SRV_EP_PAGE, true, 0 },
    { "/v1/documents", "GET", OG_SRV_EP_DOCUMENTS, false, OG_SRV_DOCS_LIST },
    { "/v1/documents", "POST", OG_SRV_EP_DOCUMENTS, false, OG_SRV_DOCS_UPLOAD },
    { "/v1/documents/search", "POST", OG_SRV_EP_DOCUMENTS, false, OG_SRV_DOCS_SEARCH },
    { "/v1/documents/ask", "POST", OG_SRV_EP_DOCUMENTS, false, OG_SRV_DOCS_ASK },
};

/* The first call for a request: everything decided from its headers.
 * Returns a route, or NULL after queueing a refusal (*ret). */
static const route *check_headers(og_server *s, struct MHD_Connection *c, og_srv_req *r, const char *url,
                                  const char *method, const char *version, enum MHD_Result *ret)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    int n_host = 0;
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_host, &n_host);
    const char *bad_host = n_host > 1                                  ? "more than one Host header"
                           : !host && !strcmp(version, "HTTP/1.1")     ? "an HTTP/1.1 request needs a Host header"
                           : host && !host_syntax_ok(host)             ? "the Host header is not host[:port]"
                                                                       : NULL;
    if (bad_host) {
        *ret = og_srv_reply_error(s, c, r, 400, "invalid_request_error", "invalid_host", "%s", bad_host);
        return NULL;
    }
    if (!host_allowed(s, host)) {
        *ret = og_srv_reply_error(s, c, r, 403, "invalid_request_error", "host_not_allowed",
                                  "Host '%s' is not allowed: use the server's own address", host);
        return NULL;
    }
    if (!origin_ok(s, r, origin, host)) {
        *ret = og_srv_reply_error(s, c, r, 403, "invalid_request_error", "origin_not_allowed",
                                  "Origin '%s' is not allowed (see --cors)", origin);
        return NULL;
    }
    if (!strcmp(method, "OPTIONS")) {
        /* A CORS preflight: allowed origins learn what they may send. */
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (resp) {
            MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
            MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
            MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
        }
        *ret = og_srv_queue(c, r, 204, resp);
        return NULL;
    }
    const route *rt = NULL;
    size_t n_url = strcspn(url, "?");
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strlen(routes[i].path) != n_url || strncmp(routes[i].path, url, n_url))
            continue;
        path_known = true;
        if (!strcmp(routes[i].method, method) || (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET")))
            rt = &routes[i];
    }
    static const route model_route = { "/v1/models/", "GET", OG_SRV_EP_MODELS, false, 0 };
    if (!rt && n_url > 11 && !strncmp(url, "/v1/models/", 11)) {
        path_known = true;
        if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
            rt = &model_route;
            r->model_ref = url + 11;
        }
    }
    static const route doc_route = { "/v1/documents/", "DELETE", OG_SRV_EP_DOCUMENTS, false, OG_SRV_DOCS_DELETE };
    if (!rt && n_url > 14 && !strncmp(url, "/v1/documents/", 14)) {
        path_known = true;
        if (!strcmp(method, "DELETE")) {
            rt = &doc_route;
            r->doc_ref = url + 14;
        }
    }
    if (!rt) {
        r->ep = OG_SRV_EP_OTHER;
        if (path_known)
            *ret = og_srv_reply_error(s, c, r, 405, "invalid_request_error", "method_not_allowed",
                                      "%s is not allowed on this path", method);
        else
            *ret = og_srv_reply_error(s, c, r, 404, "invalid_request_error", "not_found", "no such endpoint");
        return NULL;
    }
    r->ep = rt->ep;
    r->docs_op = rt->docs_op;
    if (rt->ep == OG_SRV_EP_DOCUMENTS && rt->docs_op == OG_SRV_DOCS_UPLOAD && s->docs)
        r->limit = s->p.max_upload; /* streamed to a file (doc_upload.c), not kept in memory */
    if (!rt->public && !authorized(s, c)) {
        r->www_auth = true;
        *ret = og_srv_reply_error(s, c, r, 401, "authentication_error", "invalid_api_key",
                                  "a valid API key is required (Authorization: Bearer KEY)");
        return NULL;
    }
    if (refuse_declared_size(s, c, r, ret))
        return NULL;
    return rt;
}

static enum MHD_Result dispatch(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    switch (r->ep) {
    case OG_SRV_EP_CHAT:
        return og_srv_generate(s, c, r, true);
    case OG_SRV_EP_COMPLETIONS:
        return og_srv_generate(s, c, r, false);
    case OG_SRV_EP_EMBEDDINGS:
        return og_srv_embeddings(s, c, r);
    case OG_SRV_EP_MODELS:
        return og_srv_models(s, c, r);
    case OG_SRV_EP_HEALTH: {
        pthread_mutex_lock(&s->qmu);
        json_t *j = json_pack("{s:s,s:i,s:i,s:i}", "status", "ok", "slots", s->n_slots, "slots_busy", s->n_busy,
                              "queued", s->n_queued);
        pthread_mutex_unlock(&s->qmu);
        return og_srv_reply_json(s, c, r, 200, j);
    }
    case OG_SRV_EP_METRICS: {
        char *text = og_srv_metrics_text(s);
        if (!text)
            return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
        return og_srv_queue(c, r, 200, resp);
    }
    case OG_SRV_EP_PAGE:
        return og_srv_page(s, c, r);
    case OG_SRV_EP_DOCUMENTS:
        return r->upload ? og_srv_upload_finish(s, c, r) : og_srv_documents(s, c, r);
    default:
        return og_srv_reply_error(s, c, r, 404, "invalid_request_error", "not_found", "no such endpoint");
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    og_server *s = cls;
    og_srv_req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        atomic_fetch_add(&s->n_open, 1);
        r->t0 = og_srv_now();
        r->ep = OG_SRV_EP_OTHER;
        r->fd = -1;
        r->limit = s->p.max_body;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
            r->fd = ci->connect_fd;
        *con_cls = r;
        enum MHD_Result ret = MHD_NO;
        snprintf(r->line, sizeof r->line, "%s %.100s", method, url);
        for (char *p = r->line; *p; p++)
            if (!isprint((unsigned char)*p))
                *p = '?';
        r->chunked = !MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length") &&
                     MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
        if (!check_headers(s, c, r, url, method, version, &ret))
            return ret;
        r->checked = true;
        if (r->ep == OG_SRV_EP_DOCUMENTS && r->docs_op == OG_SRV_DOCS_UPLOAD && s->docs) {
            og_srv_upload_begin(s, c, r);
            if (!r->upload)
                r->limit = s->p.max_body; /* out of memory: the body is refused at max_body */
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return take_upload(s, c, r, upload, n);
    }
    if (r->answered) {
        og_srv_linger(r->fd);
        return MHD_NO; /* the 413 was written already: close */
    }
    if (r->too_big)
        return reply_too_large(s, c, r); /* the whole body came, so the client reads this */
    return dispatch(s, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    og_server *s = cls;
    og_srv_req *r = *con_cls;
    if (!r)
        return;
    int status = r->status ? r->status : 499; /* none sent: the client left */
    og_srv_metrics_request(&s->metrics, r->ep, status, og_srv_now() - r->t0);
    if (s->p.log_requests)
        og_srv_log(s, "offgrid serve: %s %d %.3f s%s", r->line, status, og_srv_now() - r->t0,
                   toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
    og_srv_upload_free(r->upload);
    free(r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->n_open, 1);
}

/* ------------------------------------------------------------ start/free */

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return strdup(b ? b + 1 : path);
}

static og_status load_models(og_server *s, og_error *err)
{
    og_model_params mp = og_model_default_params();
    mp.cache_dir = s->p.cache_dir;
    og_status st;
    if (s->p.model_path) {
        og_model *m = NULL;
        if ((st = og_model_load(s->p.model_path, &mp, &m, err)) != OG_OK)
            return st;
        og_model_info info;
        og_model_get_info(m, &info);
        if (!strcmp(info.arch, "bert") && !s->p.embed_model_path) {
            s->embed_model = m; /* an encoder given as -m serves embeddings */
            s->embed_model_id = s->model_id ? s->model_id : base_name(s->p.model_path);
            s->model_id = NULL;
        } else {
            s->model = m;
            if (!s->model_id)
                s->model_id = base_name(s->p.model_path);
        }
    }
    if (s->p.embed_model_path) {
        if ((st = og_model_load(s->p.embed_model_path, &mp, &s->embed_model, err)) != OG_OK)
            return st;
        if (!s->embed_model_id)
            s->embed_model_id = base_name(s->p.embed_model_path);
    }
    if (!s->model && !s->embed_model)
        return og_error_set(err, OG_ERR_ARG, "a model is required (-m or --embed-model)");
    if ((s->model && !s->model_id) || (s->embed_model && !s->embed_model_id))
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    if (s->embed_model) {
        og_encoder_params ep = og_encoder_default_params();
        ep.n_threads = s->p.n_threads;
        if ((st = og_encoder_new(s->embed_model, &ep, &s->encoder, err)) != OG_OK)
            return st;
    }
    if (s->p.draft_model_path) {
        if (!s->model)
            return og_error_set(err, OG_ERR_ARG, "a draft model needs a generation model (-m) to draft for");
        if ((st = og_model_load(s->p.draft_model_path, &mp, &s->draft_model, err)) != OG_OK) {
            og_error_prefix(err, "the draft model");
            return st;
        }
    }
    if (s->model)
        s->n_vocab = og_vocab_size(s->model);
    return OG_OK;
}

/* Resolves host into addr; notes whether it is loopback or a wildcard. */
static og_status resolve_host(og_server *s, struct sockaddr_storage *addr, og_error *err)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(s->host, NULL, &hints, &res);
    if (rc != 0 || !res)
        return og_error_set(err, OG_ERR_ARG, "cannot resolve --host '%s': %s", s->host, gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (addr->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)addr;
        uint32_t ip = ntohl(a->sin_addr.s_addr);
        s->loopback = (ip >> 24) == 127;
        s->wildcard = ip == 0;
        a->sin_port = htons((uint16_t)s->p.port);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)addr;
        s->loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
        s->wildcard = IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
        a->sin6_port = htons((uint16_t)s->p.port);
    }
    return OG_OK;
}

og_status og_server_start(const og_server_params *params, og_server **out, og_error *err)
{
    if (!params || !out)
        return og_error_set(err, OG_ERR_ARG, "og_server_start: params and out are required");
    *out = NULL;
    if (params->port < 0 || params->port > 65535 || params->n_parallel < 0 || params->n_parallel > 64 ||
        params->queue_size < 0 || params->max_tokens < 0 || params->timeout_seconds < 0 ||
        params->max_connections < 0)
        return og_error_set(err, OG_ERR_ARG, "invalid server parameters");
    og_server *s = calloc(1, sizeof *s);
    if (!s)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    s->p = *params;
    if (!s->p.n_parallel) s->p.n_parallel = 2;
    if (!s->p.queue_size) s->p.queue_size = 32;
    if (!s->p.max_tokens) s->p.max_tokens = 4096;
    if (!s->p.max_body) s->p.max_body = 1 << 20;
    if (!s->p.max_upload) s->p.max_upload = (size_t)256 << 20;
    if (!s->p.timeout_seconds) s->p.timeout_seconds = 300;
    if (!s->p.max_connections) s->p.max_connections = 128;
    if (!s->p.n_ctx) s->p.n_ctx = 2048;
    if (!s->p.n_threads) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        s->p.n_threads = ncpu > s->p.n_parallel ? (int32_t)(ncpu / s->p.n_parallel) : 1;
    }
    s->created = (int64_t)time(NULL);
    s->host = strdup(params->host && *params->host ? params->host : "127.0.0.1");
    s->api_key = dup_or_null(params->api_key);
    s->cors = dup_or_null(params->cors_origins);
    s->model_id = dup_or_null(params->model_id);
    s->embed_model_id = dup_or_null(params->embed_model_id);
    pthread_mutex_init(&s->enc_mu, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    og_srv_metrics_init(&s->metrics);
    og_srv_log_open(s);
    *out = s; /* from here og_server_free cleans up whatever exists */
    if (!s->host)
        goto nomem;
    struct sockaddr_storage addr;
    og_status st = resolve_host(s, &addr, err);
    if (st != OG_OK)
        goto fail;
    if (!s->loopback && !s->api_key && !s->p.insecure) {
        st = og_error_set(err, OG_ERR_ARG,
                          "refusing to listen on %s without an API key (--api-key or --api-key-file; "
                          "--insecure to do it anyway)", s->host);
        goto fail;
    }
    if ((st = load_models(s, err)) != OG_OK || (st = og_srv_slots_start(s, err)) != OG_OK)
        goto fail;
    if (s->p.docs_collection && (st = og_srv_docs_start(s, err)) != OG_OK)
        goto fail;
    /* libmicrohttpd listens on nothing: the gate accepts, waits for whole
     * headers and hands connections over (gate.c). The gate also keeps the
     * limits on connections, all and per address, and answers 503 past
     * them; libmicrohttpd's own would close a connection without a word.
     * Its limit is only a backstop, above the gate's: it counts a closed
     * connection a little longer than the gate does. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_NOTIFY_CONNECTION, og_srv_gate_notify, s,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->p.max_connections + 32u,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
                                 MHD_OPTION_THREAD_STACK_SIZE, (size_t)1 << 20,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        st = og_error_set(err, OG_ERR_IO, "cannot start the HTTP server (libmicrohttpd)");
        goto fail;
    }
    if ((st = og_srv_gate_start(s, &addr, err)) != OG_OK)
        goto fail;
    return OG_OK;
nomem:
    st = og_error_set(err, OG_ERR_NOMEM, "out of memory");
fail:
    og_server_free(s);
    *out = NULL;
    return st;
}

int og_server_port(const og_server *s)
{
    return s ? s->port : 0;
}

/* How long og_server_free lets answers in flight finish. */
#define SHUTDOWN_GRACE_MS 5000

void og_server_free(og_server *s)
{
    if (!s)
        return;
    /* The gate first, so no new connection comes in; then jobs, so
     * connection threads waiting on them wake and answer;
     * then, for a bounded while, let those answers reach their clients
     * (stopping the daemon shuts every socket down, sent or not); then the
     * daemon, which joins the connection threads. */
    og_srv_gate_stop(s);
    og_srv_slots_stop(s);
    og_srv_docs_stop(s); /* joins the indexer (after the file it is reading) */
    for (int waited_ms = 0; s->daemon && atomic_load(&s->n_open) > 0 && waited_ms < SHUTDOWN_GRACE_MS; waited_ms += 10)
        nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    og_srv_gate_free(s);
    og_srv_docs_free(s); /* no connection thread is left to use it */
    og_encoder_free(s->encoder);
    og_model_free(s->embed_model);
    og_model_free(s->model);
    og_model_free(s->draft_model);
    og_srv_metrics_destroy(&s->metrics);
    pthread_cond_destroy(&s->qcv);
    pthread_mutex_destroy(&s->qmu);
    pthread_mutex_destroy(&s->enc_mu);
    free(s->host);
    free(s->api_key);
    free(s->cors);
    free(s->model_id);
    free(s->embed_model_id);
    og_srv_log_close(s);
    free(s);
}
