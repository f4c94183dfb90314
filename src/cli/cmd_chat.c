/*
 * cmd_chat.c - `offgrid chat`: a conversation rendered with the model's
 * chat template. The KV cache keeps the conversation between turns: each
 * turn re-renders the whole chat and only decodes what differs from the
 * tokens already cached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/generate.h"

typedef struct chat {
    og_model *m;
    og_context *ctx;
    og_chat_message *msgs;
    size_t n_msgs, cap_msgs;
    og_token *cached; /* tokens in the KV cache, in order */
    int32_t n_cached;
    int32_t cap_cached;
} chat;

static bool add_message(chat *c, const char *role, const char *content)
{
    if (c->n_msgs == c->cap_msgs) {
        size_t cap = c->cap_msgs ? c->cap_msgs * 2 : 8;
        og_chat_message *bigger = realloc(c->msgs, cap * sizeof *bigger);
        if (!bigger)
            return false;
        c->msgs = bigger;
        c->cap_msgs = cap;
    }
    char *copy = strdup(content);
    if (!copy)
        return false;
    c->msgs[c->n_msgs].role = role;
    c->msgs[c->n_msgs].content = copy;
    c->n_msgs++;
    return true;
}

static char *render(const chat *c)
{
    int32_t need = og_chat_apply_template(c->m, c->msgs, c->n_msgs, true, NULL, 0);
    if (need < 0) {
        fprintf(stderr, "offgrid chat: the model's chat template is not supported\n");
        return NULL;
    }
    char *buf = malloc((size_t)need + 1);
    if (buf)
        og_chat_apply_template(c->m, c->msgs, c->n_msgs, true, buf, need + 1);
    return buf;
}

static bool remember(chat *c, const og_token *toks, int32_t n)
{
    if (c->n_cached + n > c->cap_cached) {
        int32_t cap = (c->n_cached + n) * 2;
        og_token *bigger = realloc(c->cached, (size_t)cap * sizeof *bigger);
        if (!bigger)
            return false;
        c->cached = bigger;
        c->cap_cached = cap;
    }
    memcpy(c->cached + c->n_cached, toks, (size_t)n * sizeof *toks);
    c->n_cached += n;
    return true;
}

/* The text of the generated tokens (malloc'd), for the chat history. */
static char *reply_text(const og_model *m, const og_token *reply, int32_t n)
{
    size_t cap = 256 * (size_t)n + 1, used = 0;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    for (int32_t i = 0; i < n; i++) {
        int32_t k = og_token_to_piece(m, reply[i], text + used, 256, false);
        if (k > 0 && k <= 256)
            used += (size_t)k;
    }
    text[used] = 0;
    return text;
}

/* Answers the conversation so far; appends the reply as a message. */
static int turn(chat *c, const cli_opts *o)
{
    char *prompt = render(c);
    if (!prompt)
        return 1;
    og_token *toks = NULL, *reply = NULL;
    int32_t n = cli_tokenize(c->m, prompt, strlen(prompt), true, true, &toks);
    free(prompt);
    if (n <= 0) {
        fprintf(stderr, "offgrid chat: cannot tokenize the conversation\n");
        return 1;
    }
    int32_t keep = 0;
    while (keep < n - 1 && keep < c->n_cached && c->cached[keep] == toks[keep])
        keep++;
    og_context_truncate(c->ctx, keep);
    c->n_cached = keep;
    if (n >= og_context_n_ctx(c->ctx)) {
        fprintf(stderr, "offgrid chat: the conversation no longer fits in the context of %d tokens\n",
                og_context_n_ctx(c->ctx));
        free(toks);
        return 1;
    }
    cli_gen_params gp = { .n_predict = o->n_predict == -2 ? -1 : o->n_predict, .sampling = o->sampling };
    cli_gen_stats stats;
    og_status st = cli_generate(c->m, c->ctx, toks + keep, n - keep, &gp, &reply, &stats);
    putchar('\n');
    fflush(stdout);
    int rc = 1;
    if (st == OG_OK && remember(c, toks + keep, n - keep) && remember(c, reply, stats.n_gen)) {
        char *text = reply_text(c->m, reply, stats.n_gen);
        rc = text && add_message(c, "assistant", text) ? 0 : 1;
        free(text);
    }
    if (isatty(STDERR_FILENO))
        cli_print_stats(&stats);
    free(reply);
    free(toks);
    return rc;
}

static int run(const cli_opts *o)
{
    chat c = { 0 };
    int rc = 1;
    char *line = NULL;
    size_t line_cap = 0;
    if (!(c.m = cli_load_model(o, false)) || !(c.ctx = cli_new_context(c.m, o)))
        goto done;
    if (o->system && !add_message(&c, "system", o->system))
        goto done;
    if (o->has_prompt) {
        rc = add_message(&c, "user", o->prompt) ? turn(&c, o) : 1;
        goto done;
    }
    bool interactive = isatty(STDIN_FILENO);
    if (interactive)
        fprintf(stderr, "Chatting with %s. Type your message; Ctrl-D to quit.\n", o->model);
    rc = 0;
    for (;;) {
        if (interactive)
            fputs("> ", stderr);
        ssize_t got = getline(&line, &line_cap, stdin);
        if (got < 0)
            break;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = 0;
        if (!got)
            continue;
        if (!add_message(&c, "user", line) || turn(&c, o) != 0) {
            rc = 1;
            break;
        }
    }
done:
    free(line);
    for (size_t i = 0; i < c.n_msgs; i++)
        free((char *)c.msgs[i].content);
    free(c.msgs);
    free(c.cached);
    og_context_free(c.ctx);
    og_model_free(c.m);
    return rc;
}

const cli_command cli_cmd_chat = {
    "chat", "chat with a model (interactive, or one answer with -p)",
    "usage: offgrid chat -m MODEL [-s SYSTEM] [-p MESSAGE] [options]\n\n"
    "Renders the conversation with the model's chat template and streams the\n"
    "answers. Without -p it reads one message per line from stdin until EOF.\n\n"
    "options:\n"
    "  -m, --model PATH        GGUF model file (required)\n"
    "  -s, --system TEXT       system message\n"
    "  -p, --prompt TEXT       answer this one message and exit\n"
    "  -n, --n-predict N       most tokens per answer, -1 = until end of turn (default -1)\n"
    "      --temp T            temperature, 0 = greedy (default 0.8)\n"
    "      --top-k K           (default 40)\n"
    "      --top-p P           (default 0.95)\n"
    "      --min-p P           (default 0.05)\n"
    "      --repeat-penalty R  (default 1, off)\n"
    "      --seed S            random seed\n"
    "  -t, --threads N         threads (default: all cores)\n"
    "  -c, --ctx-size N        context size (default: the model's, at most 4096)\n",
    OPT_MODEL | OPT_PROMPT | OPT_SYSTEM | OPT_N | OPT_SAMPLING | OPT_THREADS | OPT_CTX,
    run,
};
