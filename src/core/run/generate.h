/*
 * generate.h - the generation scratch a context owns (generate.c):
 * created by the first og_generate on the context, freed with it.
 */
#ifndef OG_RUN_GENERATE_H
#define OG_RUN_GENERATE_H

#include "model/context.h"

void og_gen_scratch_free(og_gen_scratch *g);

#endif
