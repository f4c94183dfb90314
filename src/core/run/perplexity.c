/*
 * perplexity.c - perplexity computed the way llama.cpp's llama-perplexity
 * does, so figures can be compared one to one: chunks of chunk_size
 * tokens, BOS first when the model adds one, the second half scored, log
 * probabilities with a float max and a double sum.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "model/context.h"

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

og_status og_perplexity(og_context *ctx, const og_token *tokens, int32_t n_tokens, int32_t chunk_size,
                        og_ppl_fn on_chunk, void *user, og_ppl_result *result, og_error *err)
{
    if (!ctx || !tokens || !result || chunk_size < 4)
        return og_error_set(err, OG_ERR_ARG, "og_perplexity: invalid arguments (chunk size %d)", chunk_size);
    if (chunk_size > ctx->n_ctx || chunk_size > ctx->n_batch)
        return og_error_set(err, OG_ERR_ARG, "chunk size %d exceeds the context's n_ctx %d or n_batch %d", chunk_size,
                            ctx->n_ctx, ctx->n_batch);
    if (n_tokens < 2 * chunk_size)
        return og_error_set(err, OG_ERR_ARG, "the text has %d tokens; a context of %d needs at least %d", n_tokens,
                            chunk_size, 2 * chunk_size);
    const og_model *m = ctx->model;
    const bool add_bos = og_vocab_wants_bos(m->vocab) && og_vocab_bos(m->vocab) >= 0;
    const int32_t n_vocab = m->hp.n_vocab, n_chunks = n_tokens / chunk_size, first = chunk_size / 2;
    og_token *chunk = malloc((size_t)chunk_size * sizeof *chunk);
    if (!chunk)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    double nll = 0.0, nll2 = 0.0;
    int64_t count = 0;
    og_status st = OG_OK;
    for (int32_t c = 0; c < n_chunks && st == OG_OK; c++) {
        const og_token *src = tokens + (size_t)c * chunk_size;
        memcpy(chunk, src, (size_t)chunk_size * sizeof *chunk);
        if (add_bos)
            chunk[0] = og_vocab_bos(m->vocab);
        og_context_truncate(ctx, 0);
        if ((st = og_decode(ctx, chunk, chunk_size, true, err)) != OG_OK)
            break;
        for (int32_t j = first; j < chunk_size - 1; j++) {
            const double v = -log_prob(og_get_logits(ctx, j), n_vocab, src[j + 1]);
            nll += v;
            nll2 += v * v;
            count++;
        }
        if (on_chunk)
            on_chunk(user, c + 1, n_chunks, exp(nll / (double)count));
    }
    og_context_truncate(ctx, 0);
    free(chunk);
    if (st != OG_OK)
        return st;
    const double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
    result->ppl = exp(mean);
    result->ppl_stderr = var > 0 && count > 1 ? result->ppl * sqrt(var / (double)(count - 1)) : 0.0;
    result->n_chunks = n_chunks;
    result->n_scored = count;
    return OG_OK;
}
