/*
 * cmd_perplexity.c - `offgrid perplexity`, computed as llama.cpp's
 * llama-perplexity does: the text is cut into chunks of CTX tokens, each
 * chunk starts with BOS when the model adds one, and only the second half
 * of each chunk is scored.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static void progress(void *user, int32_t chunk, int32_t n_chunks, double ppl)
{
    fprintf(stderr, "[%d]%.4f%s", chunk, ppl, chunk == n_chunks ? "\n" : ",");
}

static int run(const cli_opts *o)
{
    if (!o->file) {
        fprintf(stderr, "offgrid perplexity: -f FILE is required\n");
        return 2;
    }
    size_t len;
    char *text = cli_read_file(o->file, &len);
    if (!text)
        return 1;
    cli_opts co = *o;
    co.n_ctx = o->n_ctx > 0 ? o->n_ctx : 512;
    co.n_batch = co.n_ctx; /* one chunk per decode, all logits kept */
    og_model *m = cli_load_model(o, false);
    og_context *ctx = m ? cli_new_context(m, &co) : NULL;
    og_token *tokens = NULL;
    int rc = 1;
    if (!ctx)
        goto done;
    /* Tokenized as llama-perplexity does: add_special, no special parsing. */
    int32_t n_tokens = cli_tokenize(m, text, len, true, false, &tokens);
    if (n_tokens < 0) {
        fprintf(stderr, "offgrid perplexity: cannot tokenize %s\n", o->file);
        goto done;
    }
    fprintf(stderr, "perplexity: %d tokens, %d chunks of %d\n", n_tokens, n_tokens / co.n_ctx, co.n_ctx);
    og_ppl_result res;
    og_error err = { 0 };
    if (og_perplexity(ctx, tokens, n_tokens, co.n_ctx, progress, NULL, &res, &err) != OG_OK) {
        fprintf(stderr, "offgrid perplexity: %s: %s\n", o->file, err.message);
        goto done;
    }
    printf("perplexity: %.4f +/- %.4f\n", res.ppl, res.ppl_stderr);
    rc = 0;
done:
    free(tokens);
    free(text);
    og_context_free(ctx);
    og_model_free(m);
    return rc;
}

const cli_command cli_cmd_perplexity = {
    "perplexity", "measure a model's perplexity on a text",
    "usage: offgrid perplexity -m MODEL -f FILE [-c CTX] [-t THREADS]\n\n"
    "Cuts the text into chunks of CTX tokens and scores the second half of each,\n"
    "as llama.cpp's llama-perplexity does. Running values go to stderr; the last\n"
    "line on stdout is 'perplexity: X +/- E'.\n\n"
    "options:\n"
    "  -m, --model PATH     GGUF model file (required)\n"
    "  -f, --file PATH      text file (required)\n"
    "  -c, --ctx-size N     tokens per chunk (default 512)\n"
    "  -t, --threads N      threads (default: all cores)\n",
    OPT_MODEL | OPT_FILE | OPT_CTX | OPT_THREADS,
    run,
};
