/*
 * cmd_perplexity.c - `offgrid perplexity`, computed as llama.cpp's
 * llama-perplexity does: the text is cut into chunks of CTX tokens, each
 * chunk starts with BOS when the model adds one, and only the second half
 * of each chunk is scored.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* log p(target) from logits, with a float max and a double sum like
 * llama.cpp. */
static double log_prob(const float *logits, int32_t n_vocab, og_token target)
{
    float max = logits[0];
    for (int32_t i = 1; i < n_vocab; i++)
        max = logits[i] > max ? logits[i] : max;
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; i++)
        sum += exp((double)(logits[i] - max));
    return (double)(logits[target] - max) - log(sum);
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
    og_token *tokens = NULL, *chunk = NULL;
    int rc = 1;
    if (!ctx)
        goto done;
    const bool add_bos = og_model_adds_bos(m);
    int32_t n_tokens = cli_tokenize(m, text, len, true, false, &tokens);
    const int32_t n_ctx = co.n_ctx, n_vocab = og_vocab_size(m);
    if (n_tokens < 0) {
        fprintf(stderr, "offgrid perplexity: cannot tokenize %s\n", o->file);
        goto done;
    }
    if (n_tokens < 2 * n_ctx) {
        fprintf(stderr, "offgrid perplexity: %s has %d tokens; a context of %d needs at least %d\n", o->file,
                n_tokens, n_ctx, 2 * n_ctx);
        goto done;
    }
    const int32_t n_chunks = n_tokens / n_ctx, first = n_ctx / 2;
    fprintf(stderr, "perplexity: %d tokens, %d chunks of %d\n", n_tokens, n_chunks, n_ctx);
    chunk = malloc((size_t)n_ctx * sizeof *chunk);
    if (!chunk)
        goto done;
    double nll = 0.0, nll2 = 0.0;
    int64_t count = 0;
    og_error err = { 0 };
    for (int32_t c = 0; c < n_chunks; c++) {
        const og_token *src = tokens + (size_t)c * n_ctx;
        memcpy(chunk, src, (size_t)n_ctx * sizeof *chunk);
        if (add_bos)
            chunk[0] = og_token_bos(m);
        og_context_truncate(ctx, 0);
        if (og_decode(ctx, chunk, n_ctx, true, &err) != OG_OK) {
            fprintf(stderr, "offgrid perplexity: %s\n", err.message);
            goto done;
        }
        for (int32_t j = first; j < n_ctx - 1; j++) {
            double v = -log_prob(og_get_logits(ctx, j), n_vocab, src[j + 1]);
            nll += v;
            nll2 += v * v;
            count++;
        }
        fprintf(stderr, "[%d]%.4f%s", c + 1, exp(nll / count), c + 1 == n_chunks ? "\n" : ",");
    }
    const double mean = nll / count, var = nll2 / count - mean * mean;
    const double ppl = exp(mean);
    const double err_ppl = var > 0 && count > 1 ? ppl * sqrt(var / (count - 1)) : 0.0;
    printf("perplexity: %.4f +/- %.4f\n", ppl, err_ppl);
    rc = 0;
done:
    free(chunk);
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
