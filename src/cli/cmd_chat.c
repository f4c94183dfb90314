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

typedef struct chat_opts {
    const char *model, *system, *prompt; /* NULL when not given */
    int32_t n_predict;
    og_sampler_params sampling;
    cli_context_opts context;
} chat_opts;

static const cli_option options[] = {
    CLI_OPT_MODEL(chat_opts, model, "GGUF model file or installed model's name"),
    { "-s", "--system", CLI_STRING, CLI_AT(chat_opts, system, const char *), "TEXT", .help = "system message" },
    { "-p", "--prompt", CLI_STRING, CLI_AT(chat_opts, prompt, const char *), "TEXT",
      .help = "answer this one message and exit" },
    { "-n", "--n-predict", CLI_INT, CLI_AT(chat_opts, n_predict, int32_t), "N",
      .help = "most tokens per answer, -1 = until end of turn", .def = "1024", .min = -1, .max = INT32_MAX },
    CLI_OPT_GROUP(chat_opts, sampling, og_sampler_params, cli_sampling_options),
    CLI_OPT_GROUP(chat_opts, context, cli_context_opts, cli_context_options),
    { 0 },
};

/* One assistant turn: streams the reply, then a newline. */
static int reply(og_chat *chat, og_sampler *sampler, const chat_opts *o, bool show_stats)
{
    cli_printer printer = { 0 };
    og_gen_result result;
    og_error err = { 0 };
    og_gen_params gp = og_gen_default_params();
    gp.max_tokens = o->n_predict;
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

static int run(const chat_opts *o)
{
    og_model *m = cli_load_model(o->model, false);
    og_context *ctx = m ? cli_new_context(m, &o->context) : NULL;
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
    if (o->prompt) {
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

static int start(int argc, char **argv)
{
    chat_opts o = { .n_predict = 1024, .sampling = og_sampler_default_params() };
    char path[4096];
    int rc = cli_parse(&cli_cmd_chat, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    return cli_find_model("chat", &o.model, path, sizeof path) ? run(&o) : 1;
}

const cli_command cli_cmd_chat = {
    "chat", "chat with a model (interactive, or one answer with -p)",
    "Renders the conversation with the model's chat template and streams the\n"
    "answers. Without -p it reads one message per line from stdin until EOF.",
    options, NULL, start,
};
