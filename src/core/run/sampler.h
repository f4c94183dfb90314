/*
 * sampler.h - what the run layer asks of a sampler beyond the public API
 * (sampler.c).
 */
#ifndef OG_RUN_SAMPLER_H
#define OG_RUN_SAMPLER_H

#include "offgrid.h"

/* The vocabulary size the sampler was made for: the logits it reads. */
int32_t og_sampler_vocab_size(const og_sampler *s);

#endif
