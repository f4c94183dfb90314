/*
 * cmd_chat.c - `offgrid chat`: an interactive conversation (or one answer
 * with -p) on top of og_chat, which keeps the conversation in the KV
 * cache between turns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/print.h"

/* One assistant turn: streams the reply, then a newline. */
static int reply(og_chat *chat, og_sampler *sampler, const cli_opts *o, bool show_stats)
{
    cli_printer printer = { 0 };
    og_gen_result result;
    og_error err = { 0 };
    og_gen_params gp = og_gen_default_params();
    gp.max_tokens = o->n_predict == -2 ? 1024 : o->n_predict;
    og_status st = og_chat_respond(chat, sampler, &gp, cli_print_token, &printer, &result, &err);
    putchar('\n');
    fflush(stdout);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid chat: %s\n", err.message);
        return 1;
    }
    if (show_stats)
        cli_print_stats(&result);
    return 0;
}

static int run(const cli_opts *o)
{
    og_model *m = cli_load_model(o, false);
    og_context *ctx = m ? cli_new_context(m, o) : NULL;
    og_sampler *sampler = ctx ? cli_new_sampler(m, &o->sampling) : NULL;
    og_chat *chat = NULL;
    og_error err = { 0 };
    char *line = NULL;
    size_t line_cap = 0;
    int rc = 1;
    if (!sampler)
        goto done;
    if (og_chat_new(ctx, &chat, &err) != OG_OK || (o->system && og_chat_add(chat, "system", o->system, &err) != OG_OK)) {
        fprintf(stderr, "offgrid chat: %s\n", err.message);
        goto done;
    }
    if (o->has_prompt) {
        if (og_chat_add(chat, "user", o->prompt, &err) != OG_OK) {
            fprintf(stderr, "offgrid chat: %s\n", err.message);
            goto done;
        }
        rc = reply(chat, sampler, o, false);
        goto done;
    }
    const bool interactive = isatty(STDIN_FILENO);
    if (interactive)
        fprintf(stderr, "Chatting with %s. Type a message and press Enter; Ctrl-D quits.\n", o->model);
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
        if (og_chat_add(chat, "user", line, &err) != OG_OK) {
            fprintf(stderr, "offgrid chat: %s\n", err.message);
            rc = 1;
            break;
        }
        if ((rc = reply(chat, sampler, o, interactive)) != 0)
            break;
    }
done:
    free(line);
    og_chat_free(chat);
    og_sampler_free(sampler);
    og_context_free(ctx);
    og_model_free(m);
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
    "  -n, --n-predict N       most tokens per answer, -1 = until end of turn (default 1024)\n"
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
