/*
 * cmd_synth.c - `offgrid synth`: writes a llama-architecture GGUF with
 * random weights of a real model's shape (model/synth.c), so speed can be
 * measured for shapes and types without downloading weights.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "offgrid_transform.h"

static void show_layer(int layer, int n_layer, void *arg)
{
    (void)arg;
    fprintf(stderr, "\roffgrid synth: layer %d/%d", layer + 1, n_layer);
    if (layer + 1 == n_layer)
        fprintf(stderr, "\n");
}

static int run(const cli_opts *o)
{
    if (!o->output) {
        fprintf(stderr, "offgrid synth: -o OUT.gguf is required\n\n%s", cli_cmd_synth.usage);
        return 2;
    }
    const char *shape = o->shape ? o->shape : "tiny", *type = o->type ? o->type : "q8_0";
    og_error err = { 0 };
    og_status st = og_synth_write(o->output, shape, type, o->has_seed ? o->sampling.seed : 1, show_layer, NULL, &err);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid synth: %s\n", err.message);
        return st == OG_ERR_ARG ? 2 : 1;
    }
    fprintf(stderr, "offgrid synth: wrote %s (%s, %s)\n", o->output, shape, type);
    return 0;
}
const cli_command cli_cmd_synth = {
    "synth", "write a model file with random weights of a given shape",
    "usage: offgrid synth -o OUT.gguf [--shape NAME] [--type TYPE] [--seed S]\n\n"
    "Writes a llama-architecture GGUF with random weights (std 0.02, norms near 1)\n"
    "and a minimal SPM vocabulary, for benchmarking shapes without real weights.\n"
    "The output is written atomically; it is not a usable language model.\n\n"
    "options:\n"
    "  -o, --output PATH   the GGUF file to write (required)\n"
    "      --shape NAME    smollm2-135m, llama-1b (Llama-3.2-1B's shape) or tiny (default tiny)\n"
    "      --type TYPE     matrix type: f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1 (default q8_0);\n"
    "                      norms are always f32\n"
    "      --seed S        random seed (default 1)\n",
    OPT_OUTPUT | OPT_SHAPE | OPT_TYPE | OPT_SEED,
    run,
};
