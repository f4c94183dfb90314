/*
 * gate.c - the server's own accept loop, in front of libmicrohttpd. A new
 * connection waits here, costing one pollfd and no thread, until its whole
 * header block has arrived; only then is it handed to libmicrohttpd (one
 * thread each, at most max_connections). The headers are read with
 * MSG_PEEK, so libmicrohttpd still reads them itself.
 *
 * Why: libmicrohttpd gives a connection a thread and a slot the moment it
 * is accepted, so 200 clients sending one header byte a second would hold
 * every slot for as long as they liked, and /health would go unanswered.
 * Here they cost nothing but a descriptor; a header block must be complete
 * within GATE_HEADER_SECONDS, and when GATE_MAX_WAITING connections wait,
 * the oldest is closed to make room. A request whose headers are complete
 * (/health, an honest client) passes at once.
 *
 * The gate also refuses, with a JSON error, header blocks libmicrohttpd
 * 0.9.75 answers badly (a Content-Length of -1 or past 2^64 gets its
 * status line and headers twice, then HTML): a malformed request line,
 * Content-Length that is not one whole number, or with Transfer-Encoding.
 * Every response closes its connection (server.c), so every request
 * passes this gate.
 */
#define _GNU_SOURCE /* accept4, memmem */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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

#include "server/server.h"

#define GATE_HEADER_SECONDS 10.0 /* from accept to the end of the header block */
#define GATE_HEADER_BYTES 16384  /* the largest header block (431 past it) */
#define GATE_MAX_WAITING 256     /* connections whose headers are incomplete */
#define GATE_PER_IP_WAITING 16   /* of them from one non-loopback address */

typedef struct waiting {
    int fd;
    double t0;
    struct sockaddr_storage addr;
    socklen_t alen;
} waiting;

struct og_srv_gate {
    og_server *srv;
    int listen_fd, wake[2];
    pthread_t thread;
    bool started;
    waiting *w; /* in order of arrival: w[0] is the oldest */
    int n;
    char buf[GATE_HEADER_BYTES];
};

/* ------------------------------------------------------------- replies */

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

void og_srv_send_error(int fd, int status, const char *code, const char *message)
{
    json_t *j = json_pack("{s:{s:o,s:s,s:s}}", "error", "message", og_srv_json_text(message, strlen(message)),
                          "type", status == 503 ? "server_error" : "invalid_request_error", "code", code);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body)
        return;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n",
                     status, reason(status), strlen(body));
    /* Small enough for an empty socket buffer: one try each, never a wait. */
    if (n > 0 && send(fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
        (void)send(fd, body, strlen(body), MSG_NOSIGNAL | MSG_DONTWAIT);
    free(body);
}

/* The request line's method and path, for the log ("-" when unknown). */
static void request_line(const char *p, size_t n, char *out, size_t cap)
{
    size_t end = 0;
    while (end < n && end < 120 && p[end] != '\r' && p[end] != '\n')
        end++;
    size_t sp = 0, o = 0;
    for (size_t i = 0; i < end && o + 1 < cap; i++) {
        if (p[i] == ' ' && ++sp == 2)
            break;
        out[o++] = isprint((unsigned char)p[i]) ? p[i] : '?';
    }
    if (!o)
        out[o++] = '-';
    out[o] = 0;
}

/* Answers and closes a waiting connection. What is already in its receive
 * buffer is read first, so that the close sends FIN rather than a reset
 * that could destroy the answer before the client reads it. */
static void refuse(og_srv_gate *g, int fd, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void refuse(og_srv_gate *g, int fd, int status, const char *code, const char *fmt, ...)
{
    og_server *s = g->srv;
    char msg[256], line[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ssize_t seen = recv(fd, g->buf, 128, MSG_PEEK | MSG_DONTWAIT);
    request_line(g->buf, seen > 0 ? (size_t)seen : 0, line, sizeof line);
    for (int i = 0; i < 16 && recv(fd, g->buf, sizeof g->buf, MSG_DONTWAIT) > 0; i++)
        ;
    og_srv_send_error(fd, status, code, msg);
    shutdown(fd, SHUT_WR);
    close(fd);
    og_srv_metrics_request(&s->metrics, OG_SRV_EP_OTHER, status, 0);
    if (s->p.log_requests)
        fprintf(stderr, "offgrid serve: %s %d 0.000 s (refused before the request: %s)\n", line, status, msg);
}

/* ------------------------------------------------------------- headers */

/* Checks the header block p[0..n) (ending in a blank line). Returns 0 to
 * pass it on, else the status of the refusal with its code and message. */
static int check_block(const char *p, size_t n, const char **code, char *msg, size_t cap)
{
    *code = "invalid_request";
    const char *end = p + n, *eol = memchr(p, '\n', n);
    /* Request line: METHOD SP target SP HTTP/1.x */
    size_t ln = (size_t)(eol - p);
    if (ln && p[ln - 1] == '\r')
        ln--;
    size_t m = 0;
    while (m < ln && isupper((unsigned char)p[m]))
        m++;
    const char *target = p + m + 1, *sp2 = m && m < ln && p[m] == ' ' ? memchr(target, ' ', ln - m - 1) : NULL;
    if (!sp2 || sp2 == target || (size_t)(p + ln - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) ||
        (sp2[8] != '0' && sp2[8] != '1')) {
        snprintf(msg, cap, "the request line is not 'METHOD /path HTTP/1.1'");
        return 400;
    }
    int n_cl = 0, n_te = 0;
    for (const char *l = eol + 1; l < end;) {
        const char *next = memchr(l, '\n', (size_t)(end - l));
        size_t len = (size_t)((next ? next : end) - l);
        if (len && l[len - 1] == '\r')
            len--;
        if (!len)
            break; /* the blank line */
        const char *colon = memchr(l, ':', len);
        if (!colon || colon == l) {
            snprintf(msg, cap, "a header line has no name and colon");
            return 400;
        }
        size_t name = (size_t)(colon - l);
        const char *v = colon + 1, *ve = l + len;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        int vlen = (int)(ve - v) > 40 ? 40 : (int)(ve - v);
        if (name == 14 && !strncasecmp(l, "Content-Length", 14)) {
            n_cl++;
            unsigned long long x = 0;
            bool over = false;
            const char *d = v;
            for (; d < ve && isdigit((unsigned char)*d); d++) {
                over |= x > (UINT64_MAX - (unsigned)(*d - '0')) / 10;
                x = x * 10 + (unsigned)(*d - '0');
            }
            if (d == v || d != ve) {
                snprintf(msg, cap, "Content-Length '%.*s' is not a whole number of bytes", vlen, v);
                return 400;
            }
            if (over) {
                *code = "request_too_large";
                snprintf(msg, cap, "Content-Length %.*s%s is larger than any body this server takes", vlen, v,
                         ve - v > 40 ? "..." : "");
                return 413;
            }
        } else if (name == 17 && !strncasecmp(l, "Transfer-Encoding", 17)) {
            n_te++;
            if (ve - v != 7 || strncasecmp(v, "chunked", 7)) {
                snprintf(msg, cap, "Transfer-Encoding '%.*s' is not supported: only chunked", vlen, v);
                return 400;
            }
        }
        l = next ? next + 1 : end;
    }
    if (n_cl > 1 || n_te > 1 || (n_cl && n_te)) {
        snprintf(msg, cap, "a request may carry one Content-Length or one Transfer-Encoding: chunked, not more");
        return 400;
    }
    return 0;
}

static bool is_loopback(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

static void drop(og_srv_gate *g, int i)
{
    memmove(g->w + i, g->w + i + 1, (size_t)(g->n - i - 1) * sizeof *g->w);
    g->n--;
}

/* Looks at what waiting connection i has sent. Returns true when it left
 * the gate (handed on, refused or gone). */
static bool examine(og_srv_gate *g, int i)
{
    og_server *s = g->srv;
    waiting *w = &g->w[i];
    ssize_t n = recv(w->fd, g->buf, sizeof g->buf, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (n <= 0) { /* the client went away */
        close(w->fd);
        return true;
    }
    const char *blank = memmem(g->buf, (size_t)n, "\r\n\r\n", 4);
    size_t hdr = blank ? (size_t)(blank - g->buf) + 4 : 0;
    if (!blank && (blank = memmem(g->buf, (size_t)n, "\n\n", 2)))
        hdr = (size_t)(blank - g->buf) + 2;
    if (!hdr) {
        if ((size_t)n >= sizeof g->buf) {
            refuse(g, w->fd, 431, "headers_too_large", "the request headers are larger than %d bytes",
                   GATE_HEADER_BYTES);
            return true;
        }
        /* poll() wakes again only when more than this has come. */
        int low = (int)n + 1;
        setsockopt(w->fd, SOL_SOCKET, SO_RCVLOWAT, &low, sizeof low);
        return false;
    }
    const char *code;
    char msg[200];
    int status = check_block(g->buf, hdr, &code, msg, sizeof msg);
    if (status) {
        refuse(g, w->fd, status, code, "%s", msg);
        return true;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    if (di && di->num_connections >= (unsigned)s->p.max_connections) {
        refuse(g, w->fd, 503, "overloaded", "the server has %d connections open; retry shortly",
               s->p.max_connections);
        return true;
    }
    int one = 1;
    setsockopt(w->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
    /* On failure libmicrohttpd has closed the socket (its contract). */
    MHD_add_connection(s->daemon, w->fd, (const struct sockaddr *)&w->addr, w->alen);
    return true;
}

static void accept_new(og_srv_gate *g)
{
    for (int k = 0; k < 64; k++) {
        waiting w = { .alen = sizeof w.addr };
        w.fd = accept4(g->listen_fd, (struct sockaddr *)&w.addr, &w.alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (w.fd < 0) {
            /* Out of descriptors: the listening socket stays readable, so
             * pause rather than spin; the backlog waits meanwhile. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
            return;
        }
        w.t0 = og_srv_now();
        if (!is_loopback(&w.addr)) {
            int same = 0;
            for (int i = 0; i < g->n; i++)
                same += same_ip(&g->w[i].addr, &w.addr);
            if (same >= GATE_PER_IP_WAITING) {
                refuse(g, w.fd, 503, "overloaded", "too many unfinished requests from this address");
                continue;
            }
        }
        if (g->n == GATE_MAX_WAITING) { /* make room: the oldest has had the most time */
            refuse(g, g->w[0].fd, 408, "request_timeout",
                   "the request headers did not arrive in time (the server is busy)");
            drop(g, 0);
        }
        g->w[g->n++] = w;
    }
}

static void *gate_main(void *arg)
{
    og_srv_gate *g = arg;
    struct pollfd *pf = malloc((GATE_MAX_WAITING + 2) * sizeof *pf);
    if (!pf)
        return NULL;
    for (;;) {
        double now = og_srv_now(), first = now + 1;
        pf[0] = (struct pollfd){ .fd = g->wake[0], .events = POLLIN };
        pf[1] = (struct pollfd){ .fd = g->listen_fd, .events = POLLIN };
        int n = g->n;
        for (int i = 0; i < n; i++) {
            pf[2 + i] = (struct pollfd){ .fd = g->w[i].fd, .events = POLLIN | POLLRDHUP };
            if (g->w[i].t0 + GATE_HEADER_SECONDS < first)
                first = g->w[i].t0 + GATE_HEADER_SECONDS;
        }
        int ms = first > now ? (int)((first - now) * 1000) + 1 : 0;
        if (poll(pf, (nfds_t)n + 2, ms) < 0 && errno != EINTR)
            break;
        if (pf[0].revents)
            break;
        now = og_srv_now();
        /* Backwards, so dropping one keeps the others' pollfd indices. */
        for (int i = n - 1; i >= 0; i--) {
            if (pf[2 + i].revents && examine(g, i)) {
                drop(g, i);
            } else if (now - g->w[i].t0 > GATE_HEADER_SECONDS) {
                refuse(g, g->w[i].fd, 408, "request_timeout",
                       "the request headers did not arrive within %.0f s", GATE_HEADER_SECONDS);
                drop(g, i);
            }
        }
        if (pf[1].revents)
            accept_new(g);
    }
    free(pf);
    return NULL;
}

/* ----------------------------------------------------------- start/stop */

og_status og_srv_gate_start(og_server *s, const struct sockaddr_storage *addr, og_error *err)
{
    og_srv_gate *g = calloc(1, sizeof *g);
    if (!g || !(g->w = calloc(GATE_MAX_WAITING, sizeof *g->w))) {
        free(g);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    g->srv = s;
    g->wake[0] = g->wake[1] = -1;
    s->gate = g;
    socklen_t alen = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1;
    g->listen_fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->listen_fd < 0 || setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(g->listen_fd, (const struct sockaddr *)addr, alen) || listen(g->listen_fd, 511))
        return og_error_set(err, OG_ERR_IO, "cannot listen on %s port %d: %s", s->host, s->p.port,
                            errno == EADDRINUSE ? "the port is in use" : strerror(errno));
    struct sockaddr_storage bound;
    alen = sizeof bound;
    if (getsockname(g->listen_fd, (struct sockaddr *)&bound, &alen) == 0)
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    if (pipe2(g->wake, O_CLOEXEC))
        return og_error_set(err, OG_ERR_IO, "cannot create a pipe");
    if (pthread_create(&g->thread, NULL, gate_main, g))
        return og_error_set(err, OG_ERR_IO, "cannot start the accept thread");
    g->started = true;
    return OG_OK;
}

void og_srv_gate_stop(og_server *s)
{
    og_srv_gate *g = s->gate;
    if (!g)
        return;
    if (g->started) {
        char b = 1;
        (void)!write(g->wake[1], &b, 1);
        pthread_join(g->thread, NULL);
    }
    for (int i = 0; i < g->n; i++)
        close(g->w[i].fd);
    for (int i = 0; i < 2; i++)
        if (g->wake[i] >= 0)
            close(g->wake[i]);
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    free(g->w);
    free(g);
    s->gate = NULL;
}
