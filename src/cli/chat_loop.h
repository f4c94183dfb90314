/*
 * chat_loop.h - the one chat session of the CLI: `offgrid chat` and
 * `offgrid run MODEL` without a prompt both hand their options here.
 */
#ifndef OG_CLI_CHAT_LOOP_H
#define OG_CLI_CHAT_LOOP_H

#include "cli/cli.h"
#include "cli/draft.h"

/* Tokens an answer gets when -n is not given: long enough for a few
 * paragraphs, short enough that a model stuck repeating itself stops
 * within seconds on a phone. */
#define CLI_CHAT_N_PREDICT 512

typedef struct cli_chat_opts {
    const char *cmd;      /* "chat" or "run": the prefix of messages */
    const char *model;    /* the model file */
    const char *system;   /* the system message, or NULL */
    const char *prompt;   /* answer this one message and return; NULL: a session */
    int32_t n_predict;    /* most tokens per answer, -1 = until end of turn */
    og_sampler_params sampling;
    cli_context_opts context;
    const char *const *stop; /* og_gen_params.stop, n_stop of them (may be 0) */
    int32_t n_stop;
    bool json;               /* each answer as one JSON line instead of streamed text */
    cli_draft_opts draft;    /* --draft: speculative decoding */
} cli_chat_opts;

/* Loads the model (or takes model, already loaded from o->model, and
 * frees it) and talks with it. With o->prompt: one answer to
 * stdout and return. Without: reads one message per line from stdin until
 * EOF, /bye or a Ctrl-C at the prompt; a Ctrl-C during an answer stops
 * that answer only. Lines starting with '/' are commands (/help lists
 * them), never messages. Prints its errors; returns the exit code. */
int cli_chat_main(const cli_chat_opts *o, og_model *model);

/* The text of --help that describes the session's commands. */
extern const char cli_chat_commands_help[];

#endif
