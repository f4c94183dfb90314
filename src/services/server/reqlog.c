/*
 * reqlog.c - the server's lines on stderr (--log, and the gate's own
 * trouble), written without ever waiting. Owns s->log_fd.
 *
 * Why: the gate is one thread accepting every connection; had it blocked
 * in fprintf(stderr) because stderr is a pipe nobody reads, no client,
 * not even /health, would be accepted again. So a line that cannot be
 * written at once is dropped (and counted, and said later), never waited
 * for. stderr's own flags are left alone, since other code (the CLI, the
 * library's callers) writes there too and would get EAGAIN if it were
 * made non-blocking: a pipe, FIFO or terminal is reopened through
 * /proc/self/fd/2, which gives a file description of our own that may be
 * non-blocking; a socket is written with MSG_DONTWAIT; a regular file
 * never blocks for a reader, so it is written as it is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server.h"

enum { LOG_NONE, LOG_FILE, LOG_OWN_FD, LOG_SOCKET, LOG_POLL };

void og_srv_log_open(og_server *s)
{
    s->log_fd = -1;
    s->log_kind = LOG_NONE;
    struct stat st;
    if (fstat(STDERR_FILENO, &st))
        return; /* no stderr: lines are dropped */
    if (S_ISREG(st.st_mode)) {
        s->log_fd = STDERR_FILENO;
        s->log_kind = LOG_FILE;
    } else if (S_ISSOCK(st.st_mode)) {
        s->log_fd = STDERR_FILENO;
        s->log_kind = LOG_SOCKET;
    } else {
        int fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0) {
            s->log_fd = fd;
            s->log_kind = LOG_OWN_FD;
        } else { /* no /proc: look before writing (best effort) */
            s->log_fd = STDERR_FILENO;
            s->log_kind = LOG_POLL;
        }
    }
}

void og_srv_log_close(og_server *s)
{
    if (s->log_kind == LOG_OWN_FD && s->log_fd >= 0)
        close(s->log_fd);
    s->log_fd = -1;
    s->log_kind = LOG_NONE;
}

/* One write of the whole line, or nothing. Lines are under PIPE_BUF, so a
 * pipe takes one whole or refuses it (EAGAIN): no half line is left. */
static bool put(og_server *s, const char *line, size_t n)
{
    ssize_t w;
    switch (s->log_kind) {
    case LOG_SOCKET:
        w = send(s->log_fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        break;
    case LOG_POLL: {
        struct pollfd p = { .fd = s->log_fd, .events = POLLOUT };
        if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
            return false;
    } /* fall through */
    case LOG_FILE:
    case LOG_OWN_FD:
        w = write(s->log_fd, line, n);
        break;
    default:
        return false;
    }
    return w == (ssize_t)n;
}

void og_srv_log(og_server *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2; /* cut: a long line is still one line */
    line[n++] = '\n';
    line[n] = 0;
    unsigned lost = atomic_exchange(&s->log_dropped, 0);
    if (lost) {
        char note[96];
        int k = snprintf(note, sizeof note, "offgrid serve: %u log lines dropped (stderr was not being read)\n",
                         lost);
        if (!put(s, note, (size_t)k)) {
            atomic_fetch_add(&s->log_dropped, lost + 1);
            return;
        }
    }
    if (!put(s, line, (size_t)n))
        atomic_fetch_add(&s->log_dropped, 1);
}
