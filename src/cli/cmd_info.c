/*
 * cmd_info.c - `offgrid info`: what a model file holds and what running it
 * costs in memory.
 */
#include <stdio.h>

#include "cli/cli.h"

static int run(const cli_opts *o)
{
    og_model *m = cli_load_model(o, false);
    if (!m)
        return 1;
    char buf[4096];
    og_model_describe(m, buf, sizeof buf);
    fputs(buf, stdout);
    og_model_info info;
    og_model_get_info(m, &info);
    int32_t n_ctx = o->n_ctx > 0 ? o->n_ctx : (info.n_ctx_train < 4096 ? info.n_ctx_train : 4096);
    uint64_t ctx_bytes = og_model_context_bytes(m, n_ctx, o->n_batch);
    printf("context %d:  %.1f MiB (KV cache and buffers)\n", n_ctx, ctx_bytes / (1024.0 * 1024.0));
    printf("total:         %.1f MiB with the mapped weights\n", (ctx_bytes + info.n_bytes) / (1024.0 * 1024.0));
    og_model_free(m);
    return 0;
}

const cli_command cli_cmd_info = {
    "info", "describe a model file",
    "usage: offgrid info -m MODEL [-c CTX]\n\n"
    "Prints the architecture, sizes, tensor types and the memory a context of\n"
    "CTX tokens needs.\n\n"
    "options:\n"
    "  -m, --model PATH   GGUF model file (required)\n"
    "  -c, --ctx-size N   context size to size memory for (default: the model's, at most 4096)\n"
    "  -b, --batch-size N batch size to size memory for (default 512)\n",
    OPT_MODEL | OPT_CTX | OPT_BATCH,
    run,
};
