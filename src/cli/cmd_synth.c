/*
 * cmd_synth.c - `offgrid synth`: writes a llama-architecture GGUF with
 * random weights of a real model's shape (model/synth.c), so speed can be
 * measured for shapes and types without downloading weights. --json
 * says what was written (json_reply.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/json_reply.h"
#include "offgrid_transform.h"

typedef struct synth_opts {
    const char *output, *shape, *type;
    uint64_t seed;
    bool json;
} synth_opts;

static const cli_option options[] = {
    { "-o", "--output", CLI_STRING, CLI_AT(synth_opts, output, const char *), "OUT.gguf",
      .help = "the GGUF file to write", .required = true },
    { NULL, "--shape", CLI_STRING, CLI_AT(synth_opts, shape, const char *), "NAME",
      .help = "smollm2-135m, llama-1b (Llama-3.2-1B's shape), tiny,\nor tiny-k (256 wide, 8 layers: K formats without fallbacks)",
      .def = "tiny" },
    { NULL, "--type", CLI_STRING, CLI_AT(synth_opts, type, const char *), "TYPE",
      .help = "matrix type: f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, or the\n"
              "K mixtures q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s,\n"
              "q5_k_m, q6_k (llama-quantize's per-tensor types; q2_k and q3_k_*\n"
              "need rows of multiples of 256, as in tiny-k); norms are always f32",
      .def = "q8_0" },
    { NULL, "--seed", CLI_U64, CLI_AT(synth_opts, seed, uint64_t), "S", .help = "random seed", .def = "1" },
    CLI_OPT_JSON(synth_opts, json, "{\"ok\": true, \"path\": OUT.gguf, \"shape\": NAME, \"type\": TYPE,\n"
                                   "\"seed\": S, \"bytes\": N}"),
    { 0 },
};

static void show_layer(int layer, int n_layer, void *arg)
{
    (void)arg;
    fprintf(stderr, "\roffgrid synth: layer %d/%d", layer + 1, n_layer);
    if (layer + 1 == n_layer)
        fprintf(stderr, "\n");
}

static int run(const synth_opts *o)
{
    const char *shape = o->shape, *type = o->type;
    og_error err = { 0 };
    og_status st = og_synth_write(o->output, shape, type, o->seed, show_layer, NULL, &err);
    struct stat sb;
    if (st == OG_OK && stat(o->output, &sb) != 0)
        st = og_error_set(&err, OG_ERR_IO, "cannot stat %s after writing it", o->output);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid synth: %s\n", err.message);
        if (o->json)
            cli_json_failure(err.message);
        return st == OG_ERR_ARG ? 2 : 1;
    }
    fprintf(stderr, "offgrid synth: wrote %s (%s, %s)\n", o->output, shape, type);
    if (o->json) {
        printf("{\"ok\": true");
        cli_json_field("path", o->output, 0);
        cli_json_field("shape", shape, 0);
        cli_json_field("type", type, 0);
        printf(", \"seed\": %" PRIu64 ", \"bytes\": %lld}\n", o->seed, (long long)sb.st_size);
    }
    return 0;
}
static int start(int argc, char **argv)
{
    synth_opts o = { .shape = "tiny", .type = "q8_0", .seed = 1 };
    int rc = cli_parse(&cli_cmd_synth, argc, argv, &o);
    return rc == CLI_PARSED ? run(&o) : rc;
}

const cli_command cli_cmd_synth = {
    "synth", "write a model file with random weights of a given shape",
    "Writes a llama-architecture GGUF with random weights (std 0.02, norms near 1)\n"
    "and a minimal SPM vocabulary, for benchmarking shapes without real weights.\n"
    "The weights depend only on the shape and seed, not the type, so a K mixture\n"
    "equals llama-quantize's output for the f32 file of the same shape and seed.\n"
    "The output is written atomically; it is not a usable language model.",
    options, NULL, start,
};
