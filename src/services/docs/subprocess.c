/*
 * subprocess.c - runs the documents service's helper programs (poppler's
 * pdfinfo, pdftotext, pdftoppm) with posix_spawn: no shell, stdin from
 * /dev/null, stdout read into memory up to a cap, the head of stderr kept
 * for error messages, and a deadline after which the child is killed and
 * reaped. It owns the child from spawn to reap: no path returns with the
 * child still running or unreaped.
 */
#define _GNU_SOURCE /* prlimit, posix_spawn_file_actions_addclosefrom_np */
#include "docs/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The address space a helper may use: pdftoppm rendering a large page at
 * 300 dpi needs a few hundred MiB; a damaged file must not take more. */
#define CHILD_MAX_AS ((rlim_t)4 << 30)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void og_docs_proc_free(og_docs_proc *res)
{
    if (!res)
        return;
    free(res->out);
    memset(res, 0, sizeof *res);
}

void og_docs_proc_reason(const og_docs_proc *res, char *buf, size_t size)
{
    if (!size)
        return;
    buf[0] = 0;
    const char *s = res->err_text, *best = NULL;
    size_t best_len = 0;
    while (*s) {
        const char *eol = strchr(s, '\n');
        size_t len = eol ? (size_t)(eol - s) : strlen(s);
        size_t k = len;
        while (k && (s[k - 1] == ' ' || s[k - 1] == '\r' || s[k - 1] == '\t'))
            k--;
        if (k)
            best = s, best_len = k;
        s += len + (eol != NULL);
    }
    if (!best)
        return;
    /* poppler prefixes every message with its kind; the reason is after it */
    static const char *const prefixes[] = { "Syntax Error: ", "Syntax Warning: ", "Command Line Error: ",
                                            "I/O Error: ", "Internal Error: ", "Error: ", NULL };
    for (const char *const *p = prefixes; *p; p++) {
        size_t pl = strlen(*p);
        if (best_len > pl && !strncmp(best, *p, pl)) {
            best += pl, best_len -= pl;
            break;
        }
    }
    if (best_len >= size)
        best_len = size - 1;
    memcpy(buf, best, best_len);
    buf[best_len] = 0;
}

/* Kills the child (if asked) and reaps it; stores its exit status. */
static void reap(pid_t pid, bool kill_first, og_docs_proc *res)
{
    if (kill_first)
        kill(pid, SIGKILL);
    int status = 0;
    pid_t r;
    do
        r = waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    res->exit_code = r == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
}

/* Whether program can be run: a path with a slash as given, a bare name
 * in one of $PATH's folders. Checked before spawning because where
 * posix_spawn is a fork (valgrind, some libcs) a missing program shows
 * only as the child's exit status 127. */
static bool findable(const char *program)
{
    if (strchr(program, '/'))
        return access(program, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char full[4096];
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        int n = len ? snprintf(full, sizeof full, "%.*s/%s", (int)len, path, program)
                    : snprintf(full, sizeof full, "%s", program); /* an empty entry is the current folder */
        if (n > 0 && (size_t)n < sizeof full && access(full, X_OK) == 0)
            return true;
        path += len + (colon != NULL);
    }
    return false;
}

/* Spawns argv with stdout/stderr on the write ends of the pipes. Returns
 * 0 or an errno value. */
static int spawn(const char *const argv[], int out_fd, int err_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* the helper must not hold the caller's databases or sockets open */
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    /* a server ignores SIGPIPE and may block signals in its threads: the
     * helper starts with the defaults */
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    if (!rc)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (!rc)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

og_status og_docs_run(const char *const argv[], const char *package, uint64_t max_out, int timeout_seconds,
                      og_docs_proc *res, og_error *err)
{
    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    if (!findable(argv[0]))
        return og_error_set(err, OG_ERR_UNSUPPORTED, "%s not found: install %s", argv[0], package);
    int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        int e = errno;
        close_pair(out_pipe);
        close_pair(err_pipe);
        return og_error_set(err, OG_ERR_IO, "%s: cannot make a pipe: %s", argv[0], strerror(e));
    }
    pid_t pid = 0;
    int rc = spawn(argv, out_pipe[1], err_pipe[1], &pid);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        if (rc == ENOENT)
            return og_error_set(err, OG_ERR_UNSUPPORTED, "%s not found: install %s", argv[0], package);
        return og_error_set(err, OG_ERR_IO, "%s: cannot start it: %s", argv[0], strerror(rc));
    }
    /* Limits for the child, set from outside because posix_spawn has no
     * hook to run setrlimit in it; the child may have started meanwhile,
     * which only lets it run unlimited for its first instants. */
    struct rlimit as = { CHILD_MAX_AS, CHILD_MAX_AS };
    (void)prlimit(pid, RLIMIT_AS, &as, NULL);
    if (timeout_seconds > 0) {
        struct rlimit cpu = { (rlim_t)timeout_seconds + 1, (rlim_t)timeout_seconds + 2 };
        (void)prlimit(pid, RLIMIT_CPU, &cpu, NULL);
    }

    const int64_t deadline = timeout_seconds > 0 ? now_ms() + (int64_t)timeout_seconds * 1000 : INT64_MAX;
    size_t cap = 0, err_len = 0;
    og_status st = OG_OK;
    struct pollfd fds[2] = { { out_pipe[0], POLLIN, 0 }, { err_pipe[0], POLLIN, 0 } };
    int open_fds = 2;
    char chunk[65536];
    while (open_fds > 0 && st == OG_OK) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            res->timed_out = true;
            st = og_error_set(err, OG_ERR_NOMEM, "%s ran past the time limit of %d s (timeout) and was stopped",
                              argv[0], timeout_seconds);
            break;
        }
        int pr = poll(fds, 2, left > 60000 ? 60000 : (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            st = og_error_set(err, OG_ERR_IO, "%s: poll: %s", argv[0], strerror(errno));
            break;
        }
        for (int i = 0; i < 2 && st == OG_OK; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 1) { /* stderr: keep its head, drop the rest */
                size_t room = sizeof res->err_text - 1 - err_len;
                size_t take = (size_t)got < room ? (size_t)got : room;
                memcpy(res->err_text + err_len, chunk, take);
                err_len += take;
                res->err_text[err_len] = 0;
                continue;
            }
            if ((uint64_t)res->out_len + (uint64_t)got > max_out) {
                res->over_cap = true;
                st = og_error_set(err, OG_ERR_NOMEM, "%s printed more than the limit of %llu bytes", argv[0],
                                  (unsigned long long)max_out);
                break;
            }
            if (res->out_len + (size_t)got + 1 > cap) {
                size_t grown_cap = cap ? cap : 65536;
                while (grown_cap < res->out_len + (size_t)got + 1)
                    grown_cap *= 2;
                char *grown = realloc(res->out, grown_cap);
                if (!grown) {
                    st = og_error_set(err, OG_ERR_NOMEM, "%s: out of memory for %zu bytes of output", argv[0],
                                      grown_cap);
                    break;
                }
                res->out = grown;
                cap = grown_cap;
            }
            memcpy(res->out + res->out_len, chunk, (size_t)got);
            res->out_len += (size_t)got;
            res->out[res->out_len] = 0;
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    if (st != OG_OK) {
        reap(pid, true, res);
        return st;
    }
    /* Both pipes are closed: the child is ending (or handed them on to a
     * child of its own); wait for it until the deadline. */
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            break;
        }
        if (r < 0 && errno != EINTR) {
            res->exit_code = -1;
            break;
        }
        if (now_ms() >= deadline) {
            reap(pid, true, res);
            res->timed_out = true;
            return og_error_set(err, OG_ERR_NOMEM, "%s ran past the time limit of %d s (timeout) and was stopped",
                                argv[0], timeout_seconds);
        }
        struct timespec nap = { 0, 5 * 1000 * 1000 };
        nanosleep(&nap, NULL);
    }
    if (!res->out) { /* callers may rely on a NUL-terminated string */
        res->out = calloc(1, 1);
        if (!res->out)
            return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    return OG_OK;
}
