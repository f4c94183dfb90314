/*
 * gate.c - the server's own accept loop, in front of libmicrohttpd. A new
 * connection waits here, costing one pollfd and no thread, until its whole
 * header block has arrived; only then is it handed to libmicrohttpd (one
 * thread each, at most max_connections). The headers are read with
 * MSG_PEEK, so libmicrohttpd still reads them itself. Owns the listening
 * socket, the waiting connections and the count of connections handed on.
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
 * Content-Length that is not one whole number, or with Transfer-Encoding,
 * folded lines, NUL bytes. Every response closes its connection
 * (server.c), so every request passes this gate.
 *
 * Capacity is counted here, not asked of libmicrohttpd: MHD_add_connection
 * only queues a connection for libmicrohttpd's own thread, so its count
 * lags a burst, and past its limits it closes a connection without a
 * word. The gate counts a connection from its hand-off to libmicrohttpd's
 * "closed" notification (og_srv_gate_notify) and answers 503 itself.
 */
#define _GNU_SOURCE /* accept4, memmem */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
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
#define GATE_RETRY_NS (100 * 1000 * 1000) /* pause after poll() failed */

typedef struct waiting {
    int fd;
    double t0;
    struct sockaddr_storage addr;
    socklen_t alen;
} waiting;

typedef struct ip_count {
    struct sockaddr_storage addr;
    int n;
} ip_count;

struct og_srv_gate {
    og_server *srv;
    int listen_fd, wake[2];
    pthread_t thread;
    bool started, mu_ok;
    atomic_bool stop;
    waiting *w; /* in order of arrival: w[0] is the oldest */
    int n;
    struct pollfd pf[GATE_MAX_WAITING + 2]; /* here so the thread never allocates */
    /* Connections handed to libmicrohttpd and not yet closed, under mu:
     * all of them, and per address when per_ip (a non-loopback --host). */
    pthread_mutex_t mu;
    int served, per_ip, n_ips;
    ip_count *ips; /* max_connections entries: never more addresses than connections */
    char buf[GATE_HEADER_BYTES];
};

/* ------------------------------------------------------------- replies */

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
    og_srv_send_error(fd, status, code, msg, NULL);
    shutdown(fd, SHUT_WR);
    close(fd);
    og_srv_metrics_request(&s->metrics, OG_SRV_EP_OTHER, status, 0);
    if (s->p.log_requests)
        og_srv_log(s, "offgrid serve: %s %d 0.000 s (refused before the request: %s)", line, status, msg);
}

/* ------------------------------------------------------------- headers */

/* The length of the header block at the start of p[0..n), through its
 * blank line, or 0 when it has not all come. Lines end at LF (a CR before
 * it is dropped), as libmicrohttpd reads them, so a block of bare-LF
 * lines ended by CRLF ("...\n\r\n") ends here too. */
static size_t header_end(const char *p, size_t n)
{
    for (size_t start = 0; start < n;) {
        const char *lf = memchr(p + start, '\n', n - start);
        if (!lf)
            return 0;
        size_t len = (size_t)(lf - p) - start;
        if (len == 0 || (len == 1 && p[start] == '\r'))
            return (size_t)(lf - p) + 1;
        start = (size_t)(lf - p) + 1;
    }
    return 0;
}

/* Checks the header block p[0..n) (ending in a blank line). Returns 0 to
 * pass it on, else the status of the refusal with its code and message.
 * Refused besides bad framing headers, because libmicrohttpd 0.9.75 would
 * read them differently from this check: a line beginning with a space or
 * tab (obs-fold, which RFC 9112 lets a server reject: libmicrohttpd glues
 * it to the header before, changing the value checked here), a NUL byte
 * (it answers those in HTML), and blanks after a Content-Length or
 * Transfer-Encoding value (it trims only those before the value, so
 * "2 " would not be the number checked here). */
static int check_block(const char *p, size_t n, const char **code, char *msg, size_t cap)
{
    *code = "invalid_request";
    if (memchr(p, 0, n)) {
        snprintf(msg, cap, "the request headers contain a NUL byte");
        return 400;
    }
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
        if (*l == ' ' || *l == '\t') {
            snprintf(msg, cap, "a header line begins with a space or tab (folded lines are not accepted)");
            return 400;
        }
        const char *colon = memchr(l, ':', len);
        if (!colon || colon == l) {
            snprintf(msg, cap, "a header line has no name and colon");
            return 400;
        }
        size_t name = (size_t)(colon - l);
        const char *v = colon + 1, *ve = l + len;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        bool cl = name == 14 && !strncasecmp(l, "Content-Length", 14);
        bool te = name == 17 && !strncasecmp(l, "Transfer-Encoding", 17);
        if ((cl || te) && ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            snprintf(msg, cap, "%s has a space or tab after its value", cl ? "Content-Length" : "Transfer-Encoding");
            return 400;
        }
        int vlen = (int)(ve - v) > 40 ? 40 : (int)(ve - v);
        if (cl) {
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
        } else if (te) {
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

static bool same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return a->sa_family == AF_INET6 &&
           !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* ----------------------------------------------------------- capacity */

/* The index of addr in g->ips, or -1; mu held. */
static int find_ip(og_srv_gate *g, const struct sockaddr *addr)
{
    for (int k = 0; k < g->n_ips; k++)
        if (same_ip((const struct sockaddr *)&g->ips[k].addr, addr))
            return k;
    return -1;
}

/* Counts a connection about to be handed on. Returns 0, or 1 when the
 * server has max_connections already, 2 when this address has its share. */
static int admit(og_srv_gate *g, const struct sockaddr_storage *addr)
{
    int full = 0;
    pthread_mutex_lock(&g->mu);
    if (g->served >= g->srv->p.max_connections) {
        full = 1;
    } else if (g->per_ip) {
        int k = find_ip(g, (const struct sockaddr *)addr);
        if (k >= 0 && g->ips[k].n >= g->per_ip) {
            full = 2;
        } else {
            if (k < 0) { /* n_ips <= served < max_connections: there is room */
                k = g->n_ips++;
                g->ips[k] = (ip_count){ .addr = *addr };
            }
            g->ips[k].n++;
        }
    }
    if (!full)
        g->served++;
    pthread_mutex_unlock(&g->mu);
    return full;
}

/* Uncounts a connection admit() counted (addr NULL: unknown). */
static void release(og_srv_gate *g, const struct sockaddr *addr)
{
    pthread_mutex_lock(&g->mu);
    if (g->served > 0)
        g->served--;
    int k = g->per_ip && addr ? find_ip(g, addr) : -1;
    if (k >= 0 && --g->ips[k].n == 0)
        g->ips[k] = g->ips[--g->n_ips];
    pthread_mutex_unlock(&g->mu);
}

void og_srv_gate_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    og_server *s = cls;
    (void)socket_context;
    /* libmicrohttpd says "closed" only of a connection it said "started"
     * of, and every connection comes from the gate, which counted it. */
    if (code != MHD_CONNECTION_NOTIFY_CLOSED || !s->gate)
        return;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    release(s->gate, ci ? ci->client_addr : NULL);
}

/* ------------------------------------------------------------ the loop */

static void drop(og_srv_gate *g, int i)
{
    memmove(g->w + i, g->w + i + 1, (size_t)(g->n - i - 1) * sizeof *g->w);
    g->n--;
}

/* Looks at what waiting connection i has sent; revents is what poll()
 * said of it. Returns true when it left the gate (handed on, refused or
 * gone). */
static bool examine(og_srv_gate *g, int i, short revents)
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
    size_t hdr = header_end(g->buf, (size_t)n);
    if (!hdr) {
        if ((size_t)n >= sizeof g->buf) {
            refuse(g, w->fd, 431, "headers_too_large", "the request headers are larger than %d bytes",
                   GATE_HEADER_BYTES);
            return true;
        }
        /* A client that shut down its sending side (or an error) will send
         * no more, and poll() would report it again at once, for ever. */
        if (revents & (POLLRDHUP | POLLHUP | POLLERR)) {
            refuse(g, w->fd, 400, "invalid_request", "the client stopped sending before the request headers ended");
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
    int full = admit(g, &w->addr);
    if (full) {
        if (full == 1)
            refuse(g, w->fd, 503, "overloaded", "the server has %d connections open; retry shortly",
                   s->p.max_connections);
        else
            refuse(g, w->fd, 503, "overloaded", "this address has %d connections open; retry shortly", g->per_ip);
        return true;
    }
    int one = 1;
    setsockopt(w->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
    /* On failure libmicrohttpd has closed the socket (its contract) and
     * will not say "closed" of it: uncount it here. */
    if (MHD_add_connection(s->daemon, w->fd, (const struct sockaddr *)&w->addr, w->alen) != MHD_YES)
        release(g, (const struct sockaddr *)&w->addr);
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
                same += same_ip((const struct sockaddr *)&g->w[i].addr, (const struct sockaddr *)&w.addr);
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
    struct pollfd *pf = g->pf;
    bool failing = false;
    while (!atomic_load(&g->stop)) {
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
        if (poll(pf, (nfds_t)n + 2, ms) < 0) {
            int e = errno;
            for (int i = 0; i < n + 2; i++)
                pf[i].revents = 0;
            if (e != EINTR) {
                /* Say so once, then keep trying: stopping would leave the
                 * server up but deaf. The deadlines below still run, so
                 * the waiting connections (poll's EINVAL when they exceed
                 * RLIMIT_NOFILE) thin out. */
                char why[128];
                if (!failing)
                    og_srv_log(g->srv, "offgrid serve: poll() failed (%s); retrying",
                               strerror_r(e, why, sizeof why));
                failing = true;
                nanosleep(&(struct timespec){ .tv_nsec = GATE_RETRY_NS }, NULL);
            }
        } else if (failing) {
            failing = false;
            og_srv_log(g->srv, "offgrid serve: poll() works again");
        }
        if (pf[0].revents)
            break;
        now = og_srv_now();
        /* Backwards, so dropping one keeps the others' pollfd indices. */
        for (int i = n - 1; i >= 0; i--) {
            if (pf[2 + i].revents && examine(g, i, pf[2 + i].revents)) {
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
    return NULL;
}

/* ----------------------------------------------------------- start/stop */

og_status og_srv_gate_start(og_server *s, const struct sockaddr_storage *addr, og_error *err)
{
    og_srv_gate *g = calloc(1, sizeof *g);
    if (!g)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    g->srv = s;
    g->listen_fd = g->wake[0] = g->wake[1] = -1;
    s->gate = g;
    g->w = calloc(GATE_MAX_WAITING, sizeof *g->w);
    g->ips = calloc((size_t)s->p.max_connections, sizeof *g->ips);
    if (!g->w || !g->ips)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    if (pthread_mutex_init(&g->mu, NULL))
        return og_error_set(err, OG_ERR_IO, "cannot create a mutex");
    g->mu_ok = true;
    /* One address may hold a quarter of the connections, so one remote
     * client cannot take them all; on a loopback address every client is
     * 127.0.0.1 and such a limit would be the global one, so there the
     * header deadline and the eviction of the oldest waiting connection
     * keep room. */
    g->per_ip = s->loopback ? 0 : (s->p.max_connections / 4 > 4 ? s->p.max_connections / 4 : 4);
    socklen_t alen = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1;
    g->listen_fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* An IPv6 address serves IPv6 only, as libmicrohttpd's own listening
     * did: "::" must not also take IPv4 clients the user did not ask for. */
    if (g->listen_fd < 0 || setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        (addr->ss_family == AF_INET6 && setsockopt(g->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one)) ||
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
        atomic_store(&g->stop, true);
        char b = 1;
        (void)!write(g->wake[1], &b, 1);
        pthread_join(g->thread, NULL);
        g->started = false;
    }
    for (int i = 0; i < g->n; i++)
        close(g->w[i].fd);
    g->n = 0;
    for (int i = 0; i < 2; i++) {
        if (g->wake[i] >= 0)
            close(g->wake[i]);
        g->wake[i] = -1;
    }
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    g->listen_fd = -1;
}

void og_srv_gate_free(og_server *s)
{
    og_srv_gate *g = s->gate;
    if (!g)
        return;
    og_srv_gate_stop(s);
    if (g->mu_ok)
        pthread_mutex_destroy(&g->mu);
    free(g->ips);
    free(g->w);
    free(g);
    s->gate = NULL;
}
