/*
 * cmd_chat.c - `offgrid chat`: an interactive conversation (or one answer
 * with -p). Owns the command's options; the session itself, its slash
 * commands and Ctrl-C, is chat_loop.c's, which `run` shares.
 */
#include <stdio.h>

#include "cli/chat_loop.h"
#include "cli/print.h"

typedef struct chat_opts {
    const char *model, *system, *prompt; /* NULL when not given */
    const char *bare_model;              /* `offgrid chat MODEL` */
    bool json;
    bool pull; /* --pull: install -m NAME from the catalog without asking */
    int32_t n_predict;
    og_sampler_params sampling;
    cli_context_opts context;
    cli_draft_opts draft;
} chat_opts;

#define STR_(x) #x
#define STR(x) STR_(x)

static const cli_option options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(chat_opts, bare_model, const char *), "MODEL",
      .help = "GGUF model file or installed model's name (or give -m)" },
    { "-m", "--model", CLI_STRING, CLI_AT(chat_opts, model, const char *), "MODEL", .help = "the model, as MODEL" },
    CLI_OPT_PULL(chat_opts, pull),
    { "-s", "--system", CLI_STRING, CLI_AT(chat_opts, system, const char *), "TEXT", .help = "system message" },
    { "-p", "--prompt", CLI_STRING, CLI_AT(chat_opts, prompt, const char *), "TEXT",
      .help = "answer this one message and exit" },
    { "-n", "--n-predict", CLI_INT, CLI_AT(chat_opts, n_predict, int32_t), "N",
      .help = "most tokens per answer, -1 = until end of turn", .def = STR(CLI_CHAT_N_PREDICT), .min = -1,
      .max = INT32_MAX },
    CLI_OPT_JSON(chat_opts, json, "each answer as one JSON line: content, finish_reason,\nprompt_tokens, "
                                  "cached_tokens, completion_tokens (and draft_tokens,\n"
                                  "draft_accepted, draft_acceptance with --draft)"),
    CLI_OPT_GROUP(chat_opts, sampling, og_sampler_params, cli_sampling_options),
    CLI_OPT_GROUP(chat_opts, context, cli_context_opts, cli_context_options),
    CLI_OPT_GROUP(chat_opts, draft, cli_draft_opts, cli_draft_options),
    { 0 },
};

static int start(int argc, char **argv)
{
    chat_opts o = { .n_predict = CLI_CHAT_N_PREDICT, .sampling = cli_sampling_defaults() };
    char path[4096];
    int rc = cli_parse(&cli_cmd_chat, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    if (o.model && o.bare_model)
        return cli_usage_error(&cli_cmd_chat, "give the model once: as MODEL or with -m, not both");
    if (!o.model)
        o.model = o.bare_model;
    if (!o.model)
        return cli_usage_error(&cli_cmd_chat, "-m MODEL is required (or name it first: offgrid chat MODEL)");
    if (!cli_find_model_pull("chat", &o.model, path, sizeof path, o.pull))
        return 1;
    cli_chat_opts c = { .cmd = "chat", .model = o.model, .system = o.system, .prompt = o.prompt,
                        .n_predict = o.n_predict, .sampling = o.sampling, .context = o.context, .json = o.json,
                        .draft = o.draft };
    return cli_chat_main(&c, NULL);
}

const cli_command cli_cmd_chat = {
    "chat", "chat with a model (interactive, or one answer with -p)",
    "Renders the conversation with the model's chat template and streams the\n"
    "answers to stdout. Without -p it reads one message per line from stdin\n"
    "until EOF or /bye.",
    options, cli_chat_commands_help, start,
};
