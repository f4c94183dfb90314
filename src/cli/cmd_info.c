/*
 * cmd_info.c - `offgrid info`: what a model file holds and what running it
 * costs in memory, as text or one JSON object. A decoder shows its context
 * memory (KV cache and buffers); an encoder shows what embed and classify
 * use instead: pooling, dimension, token limit and its classification head
 * (labels, what the head reads, temperature).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define N_LABELS_SHOWN 5 /* labels the text form lists; --json lists all */

typedef struct info_opts {
    const char *model;
    int32_t n_ctx, n_batch; /* 0: the model's (at most 4096), the library's */
    bool json;
} info_opts;

static const cli_option options[] = {
    CLI_OPT_MODEL(info_opts, model, "GGUF model file or installed model's name"),
    CLI_OPT_CTX(info_opts, n_ctx, "context size to size memory for", "the model's, at most 4096"),
    CLI_OPT_BATCH(info_opts, n_batch, "batch size to size memory for", "512"),
    CLI_OPT_JSON(info_opts, json, "one JSON object instead of the text"),
    { 0 },
};

static void print_encoder_text(const og_encoder *enc)
{
    printf("pooling:       %s\n", og_encoder_pooling(enc));
    printf("dimension:     %d\n", og_encoder_n_embd(enc));
    printf("max tokens:    %d per text\n", og_encoder_max_tokens(enc));
    int32_t n = og_encoder_n_labels(enc);
    if (!n) {
        printf("classifier:    none (embeddings only: offgrid embed)\n");
        return;
    }
    printf("labels:        %d (", n);
    for (int32_t i = 0; i < n && i < N_LABELS_SHOWN; i++)
        printf("%s%s", i ? ", " : "", og_encoder_label(enc, i));
    printf("%s)\n", n > N_LABELS_SHOWN ? ", ..." : "");
    printf("head:          cls.output over the %s\n", og_encoder_head_input(enc));
    printf("temperature:   %g\n", og_encoder_temperature(enc));
}

static void print_json(const info_opts *o, const og_model_info *info, const og_encoder *enc,
                       int32_t n_ctx, uint64_t ctx_bytes)
{
    printf("{\"model\": ");
    cli_json_str(o->model);
    printf(", \"name\": ");
    cli_json_str(info->name);
    printf(", \"arch\": ");
    cli_json_str(info->arch);
    printf(", \"kind\": \"%s\", \"file_type\": ", enc ? "encoder" : "decoder");
    cli_json_str(info->file_type);
    printf(", \"n_params\": %lld, \"tensor_bytes\": %llu, \"n_vocab\": %d, \"n_ctx_train\": %d, \"n_embd\": %d, "
           "\"n_layer\": %d, \"n_head\": %d, \"n_head_kv\": %d, \"n_ff\": %d",
           (long long)info->n_params, (unsigned long long)info->n_bytes, info->n_vocab, info->n_ctx_train,
           info->n_embd, info->n_layer, info->n_head, info->n_head_kv, info->n_ff);
    if (enc) {
        printf(", \"encoder\": {\"pooling\": \"%s\", \"dim\": %d, \"max_tokens\": %d, \"classifier\": ",
               og_encoder_pooling(enc), og_encoder_n_embd(enc), og_encoder_max_tokens(enc));
        int32_t n = og_encoder_n_labels(enc);
        if (n) {
            printf("{\"n_labels\": %d, \"labels\": [", n);
            for (int32_t i = 0; i < n; i++) {
                printf(i ? ", " : "");
                cli_json_str(og_encoder_label(enc, i));
            }
            printf("], \"head_input\": \"%s\", \"temperature\": %.8g}", og_encoder_head_input(enc),
                   og_encoder_temperature(enc));
        } else {
            printf("null");
        }
        printf("}");
    } else {
        printf(", \"rope_freq_base\": %.8g, \"n_ctx\": %d, \"context_bytes\": %llu", info->rope_freq_base, n_ctx,
               (unsigned long long)ctx_bytes);
    }
    printf(", \"total_bytes\": %llu}\n", (unsigned long long)(ctx_bytes + info->n_bytes));
}

static int run(const info_opts *o)
{
    og_model *m = cli_load_model(o->model, false);
    if (!m)
        return 1;
    og_model_info info;
    og_model_get_info(m, &info);
    int32_t n_ctx = o->n_ctx > 0 ? o->n_ctx : (info.n_ctx_train < 4096 ? info.n_ctx_train : 4096);
    uint64_t ctx_bytes = og_model_context_bytes(m, n_ctx, o->n_batch);
    /* A model with no context is an encoder when one can be made on it;
     * one thread and its smallest batch, only to read what it says. */
    og_encoder *enc = NULL;
    if (!ctx_bytes) {
        og_encoder_params ep = og_encoder_default_params();
        ep.n_threads = 1;
        ep.n_batch = 1;
        if (og_encoder_new(m, &ep, &enc, NULL) != OG_OK)
            enc = NULL;
    }
    if (o->json) {
        print_json(o, &info, enc, n_ctx, ctx_bytes);
    } else {
        char buf[4096];
        og_model_describe(m, buf, sizeof buf);
        fputs(buf, stdout);
        if (enc)
            print_encoder_text(enc);
        if (ctx_bytes)
            printf("context %d:  %.1f MiB (KV cache and buffers)\n", n_ctx, ctx_bytes / (1024.0 * 1024.0));
        else
            printf("context:       none (an encoder has no KV cache: og_encoder plans its own buffers)\n");
        printf("total:         %.1f MiB with the mapped weights\n", (ctx_bytes + info.n_bytes) / (1024.0 * 1024.0));
    }
    og_encoder_free(enc);
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
    "CTX tokens needs; for an encoder, its pooling and dimension and, with a\n"
    "classification head, its labels, what the head reads and its temperature.",
    options, NULL, start,
};
