/*
 * rawreply.c - answers written straight to a client's socket, for the
 * cases libmicrohttpd cannot answer itself: the gate's refusals before a
 * request reaches it, and the 408/413 sent while a body is still coming
 * (libmicrohttpd 0.9.75 cannot queue a response then). Owns nothing: the
 * caller owns the socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server/server.h"

/* After a direct answer, how long and how much of what the client still
 * sends is read and dropped before the connection is closed (see
 * og_srv_linger). Long enough for a client that pauses between pieces of
 * its body to come back and read; short enough that a connection thread
 * is not held for long. */
#define LINGER_SECONDS 3.0
#define LINGER_BYTES ((size_t)4 << 20)

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

/* Whether origin can be written into a header as it is: it was checked
 * against --cors, but "*" there lets any Origin through, and a bare CR
 * may sit inside a header value libmicrohttpd parsed. */
static bool header_safe(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return false;
    return true;
}

void og_srv_send_error(int fd, int status, const char *code, const char *message, const char *origin)
{
    json_t *j = json_pack("{s:{s:o,s:s,s:s}}", "error", "message", og_srv_json_text(message, strlen(message)),
                          "type", status == 503 ? "server_error" : "invalid_request_error", "code", code);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body)
        return;
    char cors[300] = "";
    /* The same CORS headers as libmicrohttpd's answers (og_srv_add_headers),
     * so that an allowed page can read this error too. */
    if (origin && *origin && strlen(origin) < 256 && header_safe(origin))
        snprintf(cors, sizeof cors, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", origin);
    char head[640];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n%sConnection: close\r\nContent-Length: %zu\r\n\r\n",
                     status, reason(status), cors, strlen(body));
    /* Small enough for an empty socket buffer: one try each, never a wait. */
    if (n > 0 && (size_t)n < sizeof head && send(fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
        (void)send(fd, body, strlen(body), MSG_NOSIGNAL | MSG_DONTWAIT);
    free(body);
}

void og_srv_linger(int fd)
{
    if (fd < 0)
        return;
    /* FIN after the answer: the client reads it, then the end. */
    shutdown(fd, SHUT_WR);
    char buf[16384];
    size_t dropped = 0;
    double end = og_srv_now() + LINGER_SECONDS;
    while (dropped < LINGER_BYTES) {
        double left = end - og_srv_now();
        if (left <= 0)
            break;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break;
        ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            continue;
        if (got <= 0)
            break; /* the client closed: nothing left to protect */
        dropped += (size_t)got;
    }
}
