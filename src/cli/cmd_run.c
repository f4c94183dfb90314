/*
 * cmd_run.c - `offgrid run`: stream the continuation of a prompt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/print.h"

static int run(const cli_opts *o)
{
    og_model *m = cli_load_model(o, false);
    if (!m)
        return 1;
    int rc = 1;
    og_context *ctx = cli_new_context(m, o);
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
    gp.max_tokens = o->n_predict == -2 ? 128 : o->n_predict;
    gp.stop = o->stop;
    gp.n_stop = o->n_stop;
    gp.json_object = o->json;
    gp.logprobs = o->logprobs;
    if (og_generate(ctx, sampler, prompt, n_prompt, &gp, cli_print_token, &printer, &result, &err) == OG_OK)
        rc = 0;
    else
        fprintf(stderr, "\noffgrid run: %s\n", err.message);
    og_sampler_free(sampler);
    if (printer.n_printed && !o->logprobs)
        putchar('\n');
    fflush(stdout);
    cli_print_stats(&result);
    if (o->logprobs && result.n_gen > 0)
        fprintf(stderr, "logprob: %.6f total, %.6f per token\n", printer.logprob_sum, printer.logprob_sum / result.n_gen);
done:
    free(prompt);
    og_context_free(ctx);
    og_model_free(m);
    return rc;
}

const cli_command cli_cmd_run = {
    "run", "generate a continuation of a prompt",
    "usage: offgrid run -m MODEL [-p PROMPT] [options]\n\n"
    "Streams the text the model generates after PROMPT (only the new text) to\n"
    "stdout; timings go to stderr. An empty or missing prompt starts from BOS.\n\n"
    "options:\n"
    "  -m, --model PATH        GGUF model file (required)\n"
    "  -p, --prompt TEXT       prompt text (default: empty)\n"
    "  -n, --n-predict N       tokens to generate, -1 = until end of text (default 128)\n"
    "      --ids               print the generated token ids, space-separated, instead of text\n"
    "      --temp T            temperature, 0 = greedy (default 0.8)\n"
    "      --top-k K           keep the K most likely tokens, 0 = off (default 40)\n"
    "      --top-p P           nucleus sampling, 1 = off (default 0.95)\n"
    "      --min-p P           drop tokens below P x the best one's probability (default 0.05)\n"
    "      --repeat-penalty R  penalty for recently seen tokens, 1 = off (default 1)\n"
    "      --seed S            random seed, for reproducible runs\n"
    "      --no-bos            do not add BOS even if the model asks for it\n"
    "      --no-parse-special  treat text like <|im_start|> as plain text\n"
    "  -t, --threads N         threads (default: all cores)\n"
    "      --stop TEXT         stop where TEXT appears (not printed); repeatable, up to 16\n"
    "      --json              constrain the output to one JSON object\n"
    "      --logprobs          print one line a token: id, log-probability, text as JSON\n"
    "  -c, --ctx-size N        context size in tokens (default: the model's, at most 4096)\n"
    "  -b, --batch-size N      prompt tokens evaluated per step (default 512)\n",
    OPT_MODEL | OPT_PROMPT | OPT_N | OPT_SAMPLING | OPT_THREADS | OPT_CTX | OPT_BATCH | OPT_IDS | OPT_NO_BOS |
        OPT_SPECIAL | OPT_STOP | OPT_JSON | OPT_LOGPROBS,
    run,
};
