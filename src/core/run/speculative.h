/*
 * speculative.h - speculative decoding inside the one token loop
 * (speculative.c): the state a context keeps for its attached draft
 * model, and the four calls og_generate makes when one is attached.
 */
#ifndef OG_RUN_SPECULATIVE_H
#define OG_RUN_SPECULATIVE_H

#include "model/context.h"

typedef struct og_spec og_spec;

void og_spec_free(og_spec *s);

/* context.c: room for rows rows of logits, grown once; and og_decode of
 * n_tokens (at most that many rows, and n_batch) keeping every row's
 * logits, each row in the one-token summation order (ctx->rows_as_one),
 * so that they equal one-token passes' bit for bit. */
og_status og_context_reserve_logits(og_context *ctx, int32_t rows, og_error *err);
og_status og_decode_rows(og_context *ctx, const og_token *tokens, int32_t n_tokens, og_error *err);

/* Before the loop, once the prompt is decoded: the next token's logits
 * are the prompt's last row; prepares the draft's sampler (the only
 * allocation, and only when the sampler's parameters changed). */
og_status og_spec_begin(og_context *ctx, og_sampler *sampler, og_error *err);

/* The target's logits for the next token. */
const float *og_spec_logits(const og_context *ctx);

/* Picks the next token from those logits: the sampler's own pick when
 * greedy or when no drafted token waits at this row (so greedy output is
 * the target's alone); otherwise the drafted token, accepted with
 * probability min(1, p/q), or a draw from normalize(max(0, p - q)). */
og_token og_spec_pick(og_context *ctx, og_sampler *sampler, const float *logits);

/* Tokens the target's KV cache holds for the sequence generated so far
 * (the loop's n_past). */
int32_t og_spec_n_past(const og_context *ctx);

/* Feeds the picked token t (already accepted by sampler): when it is the
 * drafted one its logits are already there; otherwise drafts up to the
 * adaptive length (at most room - 1 tokens: room is how many more tokens
 * may still be generated after t) and verifies [t, drafts] in one batched
 * pass of the target. */
og_status og_spec_feed(og_context *ctx, og_sampler *sampler, og_token t, int32_t room, og_error *err);

/* After the loop: drops the verified rows past what was generated from
 * the KV cache (its ids stay those of the sequence) and fills result's
 * draft statistics. */
void og_spec_end(og_context *ctx, og_gen_result *result);

/* The rule of speculative sampling, on its own for tests: the target's
 * distribution p (n_p ids and probabilities) and the draft's q (n_q), the
 * draft's token d drawn from q. Accepts d with probability min(1, p(d) /
 * q(d)), else draws from normalize(max(0, p - q)), so that what it returns
 * is distributed as p. Draws come from rng's stream. p_dense and q_dense
 * are n_vocab floats, all zero on entry and again on return. */
og_token og_spec_accept(const og_token *p_ids, const float *p, int32_t n_p, const og_token *q_ids, const float *q,
                        int32_t n_q, og_token d, float *p_dense, float *q_dense, og_sampler *rng);

#endif
