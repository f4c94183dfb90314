/*
 * cmd_run.c - `offgrid run`: stream the continuation of a prompt, or,
 * given no prompt, start the chat session (chat_loop.c) that `offgrid
 * chat` starts. Like `ollama run NAME [PROMPT]`, the model and the prompt
 * may be the bare arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/chat_loop.h"
#include "cli/draft.h"
#include "cli/print.h"

/* -n's value before parsing: the default depends on the mode. */
#define N_PREDICT_UNSET (-2)
/* Tokens a continuation gets when -n is not given. */
#define RUN_N_PREDICT 128

typedef struct run_opts {
    const char *model, *prompt, *system; /* NULL when not given */
    const char *arg1, *arg2;            /* the bare arguments: [MODEL] [PROMPT] */
    int32_t n_predict;
    bool ids, no_bos, no_parse_special;
    og_sampler_params sampling;
    cli_context_opts context;
    cli_draft_opts draft;
    cli_strings stop; /* --stop: og_gen_params.stop */
    bool json, logprobs;
    bool pull; /* --pull: install -m NAME from the catalog without asking */
} run_opts;

static const cli_option options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(run_opts, arg1, const char *), "MODEL",
      .help = "GGUF model file or installed model's name (or give -m)" },
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(run_opts, arg2, const char *), "PROMPT",
      .help = "the text to continue (as -p); without one, run\nstarts a chat session, as `offgrid chat`" },
    { "-m", "--model", CLI_STRING, CLI_AT(run_opts, model, const char *), "MODEL", .help = "the model, as MODEL" },
    CLI_OPT_PULL(run_opts, pull),
    { "-p", "--prompt", CLI_STRING, CLI_AT(run_opts, prompt, const char *), "TEXT",
      .help = "prompt text, as PROMPT; -p \"\" starts from BOS" },
    { "-s", "--system", CLI_STRING, CLI_AT(run_opts, system, const char *), "TEXT",
      .help = "the chat session's system message" },
    { "-n", "--n-predict", CLI_INT, CLI_AT(run_opts, n_predict, int32_t), "N",
      .help = "tokens to generate, -1 = until end of text", .def = "128; 512 per answer in a chat", .min = -1,
      .max = INT32_MAX },
    { NULL, "--ids", CLI_FLAG, CLI_AT(run_opts, ids, bool), NULL,
      .help = "print the generated token ids, space-separated, instead of text" },
    { NULL, "--stop", CLI_LIST, CLI_AT(run_opts, stop, cli_strings), "TEXT",
      .help = "stop where TEXT appears (it is not printed)", .max = OG_GEN_MAX_STOP },
    CLI_OPT_JSON(run_opts, json, "constrain the output to one JSON object"),
    { NULL, "--logprobs", CLI_FLAG, CLI_AT(run_opts, logprobs, bool), NULL,
      .help = "print each token's log-probability" },
    CLI_OPT_GROUP(run_opts, sampling, og_sampler_params, cli_sampling_options),
    { NULL, "--no-bos", CLI_FLAG, CLI_AT(run_opts, no_bos, bool), NULL,
      .help = "do not add BOS even if the model asks for it" },
    { NULL, "--no-parse-special", CLI_FLAG, CLI_AT(run_opts, no_parse_special, bool), NULL,
      .help = "treat text like <|im_start|> as plain text" },
    CLI_OPT_GROUP(run_opts, context, cli_context_opts, cli_context_options),
    CLI_OPT_GROUP(run_opts, draft, cli_draft_opts, cli_draft_options),
    { 0 },
};

/* Continues the prompt on m, which it frees. */
static int run(const run_opts *o, og_model *m)
{
    int rc = 1;
    og_context *ctx = cli_new_context(m, &o->context);
    cli_draft draft = { 0 };
    og_token *prompt = NULL;
    int32_t n_prompt = 0;
    if (!ctx || !cli_draft_attach("run", &o->draft, &o->context, ctx, &draft))
        goto done;
    const char *text = o->prompt ? o->prompt : "";
    if (!*text) {
        /* An empty prompt starts from BOS alone. */
        if (og_token_bos(m) < 0) {
            fprintf(stderr, "offgrid run: the prompt is empty and the model has no BOS token to start from\n");
            goto done;
        }
        prompt = malloc(sizeof *prompt);
        if (!prompt)
            goto done;
        prompt[0] = og_token_bos(m);
        n_prompt = 1;
    } else {
        n_prompt = cli_tokenize(m, text, strlen(text), !o->no_bos, !o->no_parse_special, &prompt);
        if (n_prompt < 0) {
            fprintf(stderr, "offgrid run: cannot tokenize the prompt: %s\n", og_status_name((og_status)-n_prompt));
            goto done;
        }
        if (n_prompt == 0) {
            fprintf(stderr, "offgrid run: the prompt gives no tokens\n");
            goto done;
        }
    }
    og_sampler *sampler = cli_new_sampler(m, &o->sampling);
    if (!sampler)
        goto done;
    cli_printer printer = { .print_ids = o->ids, .print_logprobs = o->logprobs };
    og_gen_result result;
    og_error err = { 0 };
    og_gen_params gp = og_gen_default_params();
    gp.max_tokens = o->n_predict;
    gp.stop = o->stop.v;
    gp.n_stop = o->stop.n;
    gp.json_object = o->json;
    gp.logprobs = o->logprobs;
    if (og_generate(ctx, sampler, prompt, n_prompt, &gp, cli_print_token, &printer, &result, &err) == OG_OK)
        rc = 0;
    else
        fprintf(stderr, "%soffgrid run: %s\n", printer.n_printed ? "\n" : "", err.message);
    og_sampler_free(sampler);
    if (printer.n_printed && !o->logprobs)
        putchar('\n');
    fflush(stdout);
    /* A prompt refused before decoding has no timings worth a line. */
    if (rc == 0 || result.n_gen > 0) {
        cli_print_stats(&result);
        cli_print_draft_stats(&result);
    }
    if (o->logprobs && result.n_gen > 0)
        fprintf(stderr, "logprob: %.6f total, %.6f per token\n", printer.logprob_sum,
                printer.logprob_sum / result.n_gen);
done:
    free(prompt);
    og_context_free(ctx);
    cli_draft_free(&draft);
    og_model_free(m);
    return rc;
}

/* The flags that shape a one-off continuation and mean nothing in a chat. */
static const char *continuation_only(const run_opts *o)
{
    return o->ids ? "--ids" : o->logprobs ? "--logprobs" : o->json ? "--json" : o->no_bos ? "--no-bos"
           : o->no_parse_special ? "--no-parse-special" : NULL;
}

/* Whether m declares a chat template offgrid can render. A base model
 * without one would get ChatML, which it never saw. */
static bool has_chat_template(const og_model *m)
{
    og_model_info info;
    og_model_get_info(m, &info);
    og_chat_message msg = { "user", "hi" };
    char buf[1];
    return info.chat_template && og_chat_apply_template(m, &msg, 1, true, buf, (int32_t)sizeof buf) >= 0;
}

/* Without a prompt: the chat session, with run's sampling and context;
 * with a bare PROMPT: one answer of that session (as `ollama run NAME
 * PROMPT` gives). */
static int chat(const run_opts *o, og_model *m)
{
    cli_chat_opts c = { .cmd = "run", .model = o->model, .system = o->system, .prompt = o->prompt,
                        .n_predict = o->n_predict == N_PREDICT_UNSET ? CLI_CHAT_N_PREDICT : o->n_predict,
                        .sampling = o->sampling, .context = o->context, .stop = o->stop.v, .n_stop = o->stop.n,
                        .draft = o->draft };
    return cli_chat_main(&c, m);
}

static int start(int argc, char **argv)
{
    run_opts o = { .n_predict = N_PREDICT_UNSET, .sampling = cli_sampling_defaults() };
    char path[4096], why[256];
    int rc = cli_parse(&cli_cmd_run, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    /* With -m the one bare argument is the prompt; without, the model
     * comes first. */
    const char *bare_prompt = o.model ? o.arg1 : o.arg2;
    if (o.model && o.arg2)
        return cli_usage_error(&cli_cmd_run,
                               "with -m MODEL, give at most one PROMPT (quote a prompt of several words)");
    if (!o.model)
        o.model = o.arg1;
    if (!o.model)
        return cli_usage_error(&cli_cmd_run, "-m MODEL is required (or name it first: offgrid run MODEL [PROMPT])");
    if (bare_prompt && o.prompt)
        return cli_usage_error(&cli_cmd_run, "give the prompt once: as PROMPT or with -p, not both");
    if (bare_prompt)
        o.prompt = bare_prompt;
    if (!o.prompt && continuation_only(&o)) {
        snprintf(why, sizeof why, "%s needs a prompt (PROMPT or -p TEXT); without one, run starts a chat",
                 continuation_only(&o));
        return cli_usage_error(&cli_cmd_run, why);
    }
    if (o.prompt && o.system && !bare_prompt)
        return cli_usage_error(&cli_cmd_run, "-s is the chat session's system message; -p TEXT is a raw text to "
                                             "continue (give the message as PROMPT: offgrid run MODEL -s TEXT PROMPT)");
    for (int32_t i = 0; i < o.stop.n; i++)
        if (strlen(o.stop.v[i]) > OG_GEN_MAX_STOP_LEN) {
            snprintf(why, sizeof why, "a --stop string has at most %d bytes", OG_GEN_MAX_STOP_LEN);
            return cli_usage_error(&cli_cmd_run, why);
        }
    if (!cli_find_model_pull("run", &o.model, path, sizeof path, o.pull))
        return 1;
    /* A bare PROMPT to a chat model is a message (the habit ollama users
     * bring); -p TEXT, a model without a chat template, or a flag that
     * only a raw continuation has keeps it a text to continue. */
    if (!o.prompt)
        return chat(&o, NULL);
    og_model *m = cli_load_model(o.model, false);
    if (!m)
        return 1;
    if (bare_prompt && !continuation_only(&o) && has_chat_template(m))
        return chat(&o, m);
    if (o.system) {
        og_model_free(m);
        return cli_usage_error(&cli_cmd_run, "-s needs a chat model (this one has no chat template)");
    }
    if (o.n_predict == N_PREDICT_UNSET)
        o.n_predict = RUN_N_PREDICT;
    return run(&o, m);
}

const cli_command cli_cmd_run = {
    "run", "answer a prompt, or chat when there is none",
    "offgrid run MODEL PROMPT answers PROMPT as a chat message when the model\n"
    "has a chat template (as `ollama run` does). -p TEXT (or a model without\n"
    "a template, or --ids/--logprobs/--json/--no-bos) streams the raw\n"
    "continuation of the text instead (only the new text) to stdout; timings\n"
    "go to stderr. -p \"\" starts from BOS.\n"
    "Without a prompt, starts the chat session of `offgrid chat`: one message\n"
    "a line from stdin, answered with the model's chat template.",
    options, cli_chat_commands_help, start,
};
