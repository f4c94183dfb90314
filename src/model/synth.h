/*
 * synth.h - random-weight llama models of a named shape (synth.c), for
 * benchmarks (`offgrid synth`) and tests.
 */
#ifndef OG_MODEL_SYNTH_H
#define OG_MODEL_SYNTH_H

#include <stdint.h>

#include "offgrid.h"

/* Called before each layer is generated (layer counts from 0). */
typedef void (*og_synth_progress_fn)(int layer, int n_layer, void *arg);

/* Writes path atomically: shape "smollm2-135m", "llama-1b" or "tiny" (64
 * wide, 2 layers, head dim 16); type "f32", "f16", "q8_0", "q4_0", "q4_1",
 * "q5_0" or "q5_1" for every matrix (norms are F32; the output projection
 * is tied to token_embd). The same seed gives the same bytes. Errors:
 * OG_ERR_ARG (unknown shape or type, the message lists the valid ones),
 * OG_ERR_NOMEM, OG_ERR_IO. */
og_status og_synth_write(const char *path, const char *shape, const char *type, uint64_t seed,
                         og_synth_progress_fn progress, void *arg, og_error *err);

#endif
