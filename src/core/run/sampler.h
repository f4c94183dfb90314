/*
 * sampler.h - what the run layer asks of a sampler beyond the public API
 * (sampler.c).
 */
#ifndef OG_RUN_SAMPLER_H
#define OG_RUN_SAMPLER_H

#include "offgrid.h"

/* The vocabulary size the sampler was made for: the logits it reads. */
int32_t og_sampler_vocab_size(const og_sampler *s);

/* What speculative decoding (speculative.c) needs to apply the same chain
 * to the target's and the draft's logits. */

/* The distribution og_sampler_sample would draw from for these logits
 * (after the penalty, top-k, top-p, min-p and temperature): writes its
 * candidates' ids and probabilities (summing to 1) to ids and probs, room
 * for n_vocab each, and returns how many. Greedy: the one pick, at 1. No
 * draw is made. */
int32_t og_sampler_dist(og_sampler *s, const float *logits, og_token *ids, float *probs);
/* One uniform draw in [0, 1) from the sampler's own seeded stream. */
double og_sampler_uniform(og_sampler *s);
bool og_sampler_is_greedy(const og_sampler *s);
og_sampler_params og_sampler_get_params(const og_sampler *s);
/* Makes dst (made with the same parameters) see the tokens src has
 * accepted, and reseeds it from src's stream, deterministically but not
 * equal to it. */
void og_sampler_follow(og_sampler *dst, const og_sampler *src);

#endif
