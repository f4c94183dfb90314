/*
 * cmd_info.c - `offgrid info`: what a model file holds and what running it
 * costs in memory.
 */
#include <stdio.h>

#include "cli/cli.h"

typedef struct info_opts {
    const char *model;
    int32_t n_ctx, n_batch; /* 0: the model's (at most 4096), the library's */
} info_opts;

static const cli_option options[] = {
    CLI_OPT_MODEL(info_opts, model, "GGUF model file or installed model's name"),
    CLI_OPT_CTX(info_opts, n_ctx, "context size to size memory for", "the model's, at most 4096"),
    CLI_OPT_BATCH(info_opts, n_batch, "batch size to size memory for", "512"),
    { 0 },
};

static int run(const info_opts *o)
{
    og_model *m = cli_load_model(o->model, false);
    if (!m)
        return 1;
    char buf[4096];
    og_model_describe(m, buf, sizeof buf);
    fputs(buf, stdout);
    og_model_info info;
    og_model_get_info(m, &info);
    int32_t n_ctx = o->n_ctx > 0 ? o->n_ctx : (info.n_ctx_train < 4096 ? info.n_ctx_train : 4096);
    uint64_t ctx_bytes = og_model_context_bytes(m, n_ctx, o->n_batch);
    if (ctx_bytes)
        printf("context %d:  %.1f MiB (KV cache and buffers)\n", n_ctx, ctx_bytes / (1024.0 * 1024.0));
    else
        printf("context:       none (an encoder has no KV cache: og_encoder plans its own buffers)\n");
    printf("total:         %.1f MiB with the mapped weights\n", (ctx_bytes + info.n_bytes) / (1024.0 * 1024.0));
    og_model_free(m);
    return 0;
}

static int start(int argc, char **argv)
{
    info_opts o = { 0 };
    char path[4096];
    int rc = cli_parse(&cli_cmd_info, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    return cli_find_model("info", &o.model, path, sizeof path) ? run(&o) : 1;
}

const cli_command cli_cmd_info = {
    "info", "describe a model file",
    "Prints the architecture, sizes, tensor types and the memory a context of\n"
    "CTX tokens needs.",
    options, NULL, start,
};
