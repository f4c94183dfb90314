/*
 * cmd_run.c - `offgrid run`: stream the continuation of a prompt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/print.h"

typedef struct run_opts {
    const char *model, *prompt; /* prompt: NULL when not given */
    int32_t n_predict;
    bool ids, no_bos, no_parse_special;
    og_sampler_params sampling;
    cli_context_opts context;
    cli_strings stop; /* --stop: og_gen_params.stop */
    bool json, logprobs;
} run_opts;

static const cli_option options[] = {
    CLI_OPT_MODEL(run_opts, model, "GGUF model file or installed model's name"),
    { "-p", "--prompt", CLI_STRING, CLI_AT(run_opts, prompt, const char *), "TEXT", .help = "prompt text",
      .def = "empty" },
    { "-n", "--n-predict", CLI_INT, CLI_AT(run_opts, n_predict, int32_t), "N",
      .help = "tokens to generate, -1 = until end of text", .def = "128", .min = -1, .max = INT32_MAX },
    { NULL, "--ids", CLI_FLAG, CLI_AT(run_opts, ids, bool), NULL,
      .help = "print the generated token ids, space-separated, instead of text" },
    { NULL, "--stop", CLI_LIST, CLI_AT(run_opts, stop, cli_strings), "TEXT",
      .help = "stop where TEXT appears (it is not printed); repeatable", .max = OG_GEN_MAX_STOP },
    CLI_OPT_JSON(run_opts, json, "constrain the output to one JSON object"),
    { NULL, "--logprobs", CLI_FLAG, CLI_AT(run_opts, logprobs, bool), NULL,
      .help = "print each token's log-probability" },
    CLI_OPT_GROUP(run_opts, sampling, og_sampler_params, cli_sampling_options),
    { NULL, "--no-bos", CLI_FLAG, CLI_AT(run_opts, no_bos, bool), NULL,
      .help = "do not add BOS even if the model asks for it" },
    { NULL, "--no-parse-special", CLI_FLAG, CLI_AT(run_opts, no_parse_special, bool), NULL,
      .help = "treat text like <|im_start|> as plain text" },
    CLI_OPT_GROUP(run_opts, context, cli_context_opts, cli_context_options),
    { 0 },
};

static int run(const run_opts *o)
{
    og_model *m = cli_load_model(o->model, false);
    if (!m)
        return 1;
    int rc = 1;
    og_context *ctx = cli_new_context(m, &o->context);
    og_token *prompt = NULL;
    int32_t n_prompt = 0;
    if (!ctx)
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
    if (rc == 0 || result.n_gen > 0)
        cli_print_stats(&result);
    if (o->logprobs && result.n_gen > 0)
        fprintf(stderr, "logprob: %.6f total, %.6f per token\n", printer.logprob_sum,
                printer.logprob_sum / result.n_gen);
done:
    free(prompt);
    og_context_free(ctx);
    og_model_free(m);
    return rc;
}

static int start(int argc, char **argv)
{
    run_opts o = { .n_predict = 128, .sampling = og_sampler_default_params() };
    char path[4096];
    int rc = cli_parse(&cli_cmd_run, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    for (int32_t i = 0; i < o.stop.n; i++)
        if (strlen(o.stop.v[i]) > OG_GEN_MAX_STOP_LEN) {
            char why[96];
            snprintf(why, sizeof why, "a --stop string has at most %d bytes", OG_GEN_MAX_STOP_LEN);
            return cli_usage_error(&cli_cmd_run, why);
        }
    return cli_find_model("run", &o.model, path, sizeof path) ? run(&o) : 1;
}

const cli_command cli_cmd_run = {
    "run", "generate a continuation of a prompt",
    "Streams the text the model generates after PROMPT (only the new text) to\n"
    "stdout; timings go to stderr. An empty or missing prompt starts from BOS.",
    options, NULL, start,
};
