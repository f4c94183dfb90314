/*
 * chat_loop.c - the CLI's chat session, shared by `offgrid chat` and
 * `offgrid run MODEL` without a prompt. It owns the model, context,
 * og_chat and sampler of a session, the slash commands (/bye, /clear,
 * /help, /set) and Ctrl-C: a SIGINT handler only sets a flag, which the
 * generation loop polls through og_gen_params.cancel, so a Ctrl-C during
 * an answer ends that answer, and writes a byte to a pipe the prompt
 * polls next to stdin, so one at the prompt ends the session even when it
 * comes just before the read (a flag checked before a blocking read could
 * miss it).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/chat_loop.h"
#include "cli/print.h"

const char cli_chat_commands_help[] =
    "In a session, a line starting with '/' is a command, not a message:\n"
    "  /help                  list the commands\n"
    "  /clear                 forget the conversation (the system message stays)\n"
    "  /set temperature T     sample the next answers at temperature T (0 = greedy)\n"
    "  /set system TEXT       make TEXT the system message\n"
    "  /bye                   leave (also /exit, Ctrl-D, or Ctrl-C at the prompt)\n"
    "  //TEXT                 send the message /TEXT\n"
    "Ctrl-C during an answer stops that answer and keeps the session.\n";

/* Set by SIGINT, read by the generation loop and the prompt. */
static volatile sig_atomic_t interrupted;
/* The pipe SIGINT writes a byte to, so that poll() at the prompt wakes. */
static int wake_pipe[2] = { -1, -1 };

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    if (wake_pipe[1] >= 0) {
        int saved = errno; /* a handler must leave errno as it found it */
        ssize_t n = write(wake_pipe[1], "", 1); /* non-blocking: a full pipe already wakes the prompt */
        (void)n;
        errno = saved;
    }
}

/* Forgets a Ctrl-C that has been acted on. */
static void calm_down(void)
{
    char drain[64];
    interrupted = 0;
    while (wake_pipe[0] >= 0 && read(wake_pipe[0], drain, sizeof drain) > 0)
        ;
}

/* Messages longer than this end the session: a bound on what a line of
 * stdin may make the CLI hold (far more than any context takes). */
#define MAX_LINE (16u << 20)

/* stdin read line by line with read(), not stdio, so that poll() knows
 * whether a line is waiting: stdio may hold one in its buffer. */
typedef struct line_reader {
    char *buf;
    size_t len, cap, used; /* used: the bytes of the line handed out last */
    bool eof;
} line_reader;

enum { LINE_OK, LINE_EOF, LINE_INTERRUPTED, LINE_FAILED };

/* The next line of stdin, without its '\n', NUL-terminated in *line
 * (valid until the next call); a last line without '\n' counts. Waits for
 * stdin and the wake pipe together: LINE_INTERRUPTED on a Ctrl-C. */
static int next_line(line_reader *r, char **line)
{
    if (r->used) {
        memmove(r->buf, r->buf + r->used, r->len - r->used);
        r->len -= r->used;
        r->used = 0;
    }
    for (;;) {
        char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
        if (nl || (r->eof && r->len)) {
            size_t n = nl ? (size_t)(nl - r->buf) : r->len;
            r->buf[n] = 0; /* over the '\n', or in the byte kept free below */
            r->used = nl ? n + 1 : n;
            *line = r->buf;
            return LINE_OK;
        }
        if (r->eof)
            return LINE_EOF;
        struct pollfd fds[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = wake_pipe[0], .events = POLLIN } };
        if (poll(fds, wake_pipe[0] >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue; /* the handler wrote to the pipe: the next poll sees it */
            return LINE_FAILED;
        }
        if (fds[1].revents & POLLIN)
            return LINE_INTERRUPTED;
        if (r->cap - r->len < 4096 + 1) {
            if (r->cap >= MAX_LINE)
                return LINE_FAILED;
            size_t cap = r->cap ? r->cap * 2 : 8192;
            char *bigger = realloc(r->buf, cap);
            if (!bigger)
                return LINE_FAILED;
            r->buf = bigger;
            r->cap = cap;
        }
        ssize_t got = read(STDIN_FILENO, r->buf + r->len, r->cap - r->len - 1);
        if (got < 0 && errno != EINTR && errno != EAGAIN)
            return LINE_FAILED;
        if (got == 0)
            r->eof = true;
        else if (got > 0)
            r->len += (size_t)got;
    }
}

static bool cancel_requested(void *user)
{
    (void)user;
    return interrupted != 0;
}

typedef struct session {
    const cli_chat_opts *o;
    og_model *model;
    og_context *ctx;
    og_chat *chat;
    og_sampler *sampler;
    cli_draft draft;            /* --draft, attached to ctx */
    og_sampler_params sampling; /* what /set changed */
    char *system;               /* owned; NULL: no system message */
    bool tty;                   /* stdin is a terminal: prompts and timings */
} session;

static void say(const session *s, const char *what)
{
    fprintf(stderr, "offgrid %s: %s\n", s->o->cmd, what);
}

/* Replaces the conversation by a new one on the same context (whose KV
 * cache og_chat_new empties): the current system message, then the old
 * conversation's other messages unless fresh, without its last one when
 * drop_last (a turn that failed). */
static bool restart(session *s, bool fresh, bool drop_last)
{
    og_chat *next = NULL;
    og_error err = { 0 };
    og_status st = og_chat_new(s->ctx, &next, &err);
    if (st == OG_OK && s->system)
        st = og_chat_add(next, "system", s->system, &err);
    size_t n = s->chat && !fresh ? og_chat_n_messages(s->chat) : 0;
    if (drop_last && n > 0)
        n--;
    for (size_t i = 0; st == OG_OK && i < n; i++) {
        const og_chat_message *msg = og_chat_message_at(s->chat, i);
        if (strcmp(msg->role, "system") != 0)
            st = og_chat_add(next, msg->role, msg->content, &err);
    }
    if (st != OG_OK) {
        say(s, err.message);
        og_chat_free(next);
        return false;
    }
    og_chat_free(s->chat);
    s->chat = next;
    /* A fresh conversation answers as in a new session: the repetition
     * penalty forgets the old one's tokens, the seed starts over. */
    if (fresh)
        og_sampler_reset(s->sampler);
    return true;
}

/* --json: the answer and its counts as one line, named as OpenAI's API
 * names them. */
static void print_json(const og_gen_result *r)
{
    fputs("{\"content\": ", stdout);
    cli_json_str(r->text);
    printf(", \"finish_reason\": \"%s\", \"prompt_tokens\": %d, \"cached_tokens\": %d, "
           "\"completion_tokens\": %d",
           og_finish_name(r->finish), r->n_prompt, r->n_cached, r->n_gen);
    if (r->n_drafted > 0) /* --draft */
        printf(", \"draft_tokens\": %d, \"draft_accepted\": %d, \"draft_acceptance\": %.4f", r->n_drafted,
               r->n_accepted, r->acceptance);
    puts("}");
}

/* One assistant turn to the conversation so far: streams the answer and
 * says on stderr why it ended when that was not the end of the turn. On
 * failure the user's message is taken back, so the session can go on. */
static bool reply(session *s)
{
    cli_printer printer = { 0 };
    og_gen_result result;
    og_error err = { 0 };
    og_gen_params gp = og_gen_default_params();
    gp.max_tokens = s->o->n_predict;
    gp.stop = s->o->stop;
    gp.n_stop = s->o->n_stop;
    gp.cancel = cancel_requested;
    og_status st = og_chat_respond(s->chat, s->sampler, &gp, s->o->json ? NULL : cli_print_token, &printer,
                                   &result, &err);
    if (s->o->json && st == OG_OK)
        print_json(&result);
    else if (!s->o->json)
        putchar('\n');
    fflush(stdout);
    clearerr(stdout); /* a write cut short by SIGINT is no reason to stop */
    if (st != OG_OK) {
        say(s, err.message);
        if (s->o->prompt == NULL) {
            if (st == OG_ERR_CONTEXT_FULL)
                fputs("(/clear starts a new conversation; -c sets a larger context)\n", stderr);
            restart(s, false, true);
        }
        return false;
    }
    if (result.finish == OG_FINISH_CANCELLED) {
        calm_down(); /* this Ctrl-C was for the answer, not the session */
        fputs("[stopped]\n", stderr);
    } else if (result.finish == OG_FINISH_LENGTH) {
        fprintf(stderr, "[cut at %d tokens; -n sets the length of an answer]\n", result.n_gen);
    } else if (result.finish == OG_FINISH_CONTEXT_FULL) {
        fputs("[the context is full; /clear starts a new conversation]\n", stderr);
    }
    if (s->tty && !s->o->prompt) {
        cli_print_stats(&result);
        cli_print_draft_stats(&result);
    }
    return true;
}

/* /set temperature T | /set system TEXT. */
static void set_command(session *s, const char *args)
{
    const char *usage = "usage: /set temperature T, or /set system TEXT";
    while (*args == ' ')
        args++;
    if (!strncmp(args, "temperature", 11) && (args[11] == ' ' || !args[11])) {
        char *end;
        errno = 0;
        float t = strtof(args + 11, &end);
        while (*end == ' ')
            end++;
        if (errno || end == args + 11 || *end || !(t >= 0 && t <= 100)) {
            fprintf(stderr, "offgrid %s: /set temperature expects a number from 0 to 100, got '%s'\n", s->o->cmd,
                    args + 11 + strspn(args + 11, " "));
            return;
        }
        og_sampler_params p = s->sampling;
        p.temperature = t;
        og_sampler *next = cli_new_sampler(s->model, &p);
        if (!next)
            return;
        og_sampler_free(s->sampler);
        s->sampler = next;
        s->sampling = p;
        fprintf(stderr, "Temperature set to %g.\n", (double)t);
    } else if (!strncmp(args, "system", 6) && args[6] == ' ' && args[6 + strspn(args + 6, " ")]) {
        char *text = strdup(args + 6 + strspn(args + 6, " "));
        if (!text) {
            say(s, "out of memory");
            return;
        }
        char *old = s->system;
        s->system = text;
        if (!restart(s, false, false)) {
            s->system = old;
            free(text);
            return;
        }
        free(old);
        fputs("System message set.\n", stderr);
    } else {
        say(s, usage);
    }
}

enum { GO_ON, QUIT };

/* A line starting with '/': runs the command it names. */
static int command(session *s, const char *line)
{
    size_t n = strcspn(line, " ");
    if ((n == 4 && !strncmp(line, "/bye", 4)) || (n == 5 && !strncmp(line, "/exit", 5)))
        return QUIT;
    if ((n == 5 && !strncmp(line, "/help", 5)) || (n == 2 && !strncmp(line, "/?", 2))) {
        fputs(cli_chat_commands_help, stderr);
    } else if (n == 6 && !strncmp(line, "/clear", 6)) {
        if (restart(s, true, false))
            fputs("Cleared the conversation.\n", stderr);
    } else if (n == 4 && !strncmp(line, "/set", 4)) {
        set_command(s, line + 4);
    } else {
        fprintf(stderr, "offgrid %s: unknown command '%.*s' (/help lists the commands)\n", s->o->cmd, (int)n, line);
    }
    return GO_ON;
}

/* The session proper: one message a line until EOF, /bye or a Ctrl-C at
 * the prompt. Returns the exit code: 1 when a turn failed. */
static int converse(session *s)
{
    struct sigaction sa = { 0 }, old_sa;
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* the wake pipe, not EINTR, tells the prompt */
    bool caught = false;
    if (pipe(wake_pipe) == 0 && fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK) == 0 &&
        fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK) == 0)
        caught = sigaction(SIGINT, &sa, &old_sa) == 0;
    if (!caught)
        say(s, "cannot catch Ctrl-C: it will end the session, not just an answer");
    calm_down();
    line_reader in = { 0 };
    char *line;
    int rc = 0, got = LINE_OK;
    if (s->tty)
        fprintf(stderr, "Chatting with %s. Type a message and press Enter; /help lists the commands, /bye or "
                        "Ctrl-D quits.\n", s->o->model);
    for (;;) {
        if (s->tty)
            fputs("> ", stderr);
        if ((got = next_line(&in, &line)) != LINE_OK)
            break;
        size_t n = strlen(line);
        while (n > 0 && line[n - 1] == '\r')
            line[--n] = 0;
        if (!n)
            continue;
        const char *msg = line;
        if (line[0] == '/' && line[1] != '/') {
            if (command(s, line) == QUIT)
                break;
            continue;
        }
        if (line[0] == '/')
            msg = line + 1; /* "//text" sends "/text" */
        og_error err = { 0 };
        calm_down(); /* a Ctrl-C from now on is for this answer */
        if (og_chat_add(s->chat, "user", msg, &err) != OG_OK) {
            say(s, err.message);
            rc = 1;
            break;
        }
        if (!reply(s))
            rc = 1;
    }
    if (got == LINE_FAILED) {
        fprintf(stderr, "\noffgrid %s: cannot read a message from stdin: %s\n", s->o->cmd,
                in.cap >= MAX_LINE ? "a line longer than 16 MiB" : strerror(errno));
        rc = 1;
    } else if (s->tty && got != LINE_OK) {
        fputc('\n', stderr); /* after Ctrl-D or ^C, the shell's prompt on a line of its own */
    }
    free(in.buf);
    if (caught)
        sigaction(SIGINT, &old_sa, NULL);
    for (int i = 0; i < 2; i++) {
        if (wake_pipe[i] >= 0)
            close(wake_pipe[i]);
        wake_pipe[i] = -1;
    }
    return rc;
}

int cli_chat_main(const cli_chat_opts *o, og_model *model)
{
    session s = { .o = o, .model = model, .sampling = o->sampling, .tty = isatty(STDIN_FILENO) != 0 };
    int rc = 1;
    if (o->system && !(s.system = strdup(o->system))) {
        say(&s, "out of memory");
        og_model_free(model);
        return 1;
    }
    if ((!s.model && !(s.model = cli_load_model(o->model, false))) || !(s.ctx = cli_new_context(s.model, &o->context)) ||
        !cli_draft_attach(o->cmd, &o->draft, &o->context, s.ctx, &s.draft) ||
        !(s.sampler = cli_new_sampler(s.model, &s.sampling)) || !restart(&s, true, false))
        goto done;
    if (o->prompt) {
        og_error err = { 0 };
        if (og_chat_add(s.chat, "user", o->prompt, &err) != OG_OK)
            say(&s, err.message);
        else
            rc = reply(&s) ? 0 : 1;
    } else {
        rc = converse(&s);
    }
done:
    og_chat_free(s.chat);
    og_sampler_free(s.sampler);
    og_context_free(s.ctx);
    cli_draft_free(&s.draft);
    og_model_free(s.model);
    free(s.system);
    return rc;
}
