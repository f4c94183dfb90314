/*
 * cmd_perplexity.c - `offgrid perplexity`, computed as llama.cpp's
 * llama-perplexity does: the text is cut into chunks of CTX tokens, each
 * chunk starts with BOS when the model adds one, and only the second half
 * of each chunk is scored.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static void progress(void *user, int32_t chunk, int32_t n_chunks, double ppl)
{
    fprintf(stderr, "[%d]%.4f%s", chunk, ppl, chunk == n_chunks ? "\n" : ",");
}

typedef struct perplexity_opts {
    const char *model, *file;
    cli_context_opts context; /* n_batch is always n_ctx */
    int32_t max_chunks;       /* 0: as many as the text holds */
    bool json;
} perplexity_opts;

static const cli_option options[] = {
    CLI_OPT_MODEL(perplexity_opts, model, "GGUF model file or installed model's name"),
    { "-f", "--file", CLI_STRING, CLI_AT(perplexity_opts, file, const char *), "FILE", .help = "text file (\"-\": stdin), at most 256 MiB",
      .required = true },
    CLI_OPT_CTX(perplexity_opts, context.n_ctx, "tokens per chunk", "512"),
    CLI_OPT_THREADS(perplexity_opts, context.n_threads, "threads", "all cores"),
    { NULL, "--chunks", CLI_INT, CLI_AT(perplexity_opts, max_chunks, int32_t), "N",
      .help = "score only the first N chunks, as llama-perplexity's --chunks", .def = "all", .min = 1,
      .max = 1 << 30 },
    CLI_OPT_JSON(perplexity_opts, json, "{\"perplexity\", \"stderr\", \"n_tokens\", \"n_chunks\", \"n_scored\",\n"
                                        "\"n_ctx\"} instead of the last line"),
    { 0 },
};

static int run(const perplexity_opts *o)
{
    size_t len;
    char *text = cli_read_file("perplexity", o->file, CLI_TEXT_FILE_MAX, "a text file", &len);
    if (!text)
        return 1;
    cli_context_opts co = o->context;
    co.n_batch = co.n_ctx; /* one chunk per decode, all logits kept */
    og_model *m = cli_load_model(o->model, false);
    og_context *ctx = m ? cli_new_context(m, &co) : NULL;
    og_token *tokens = NULL;
    int rc = 1;
    if (!ctx)
        goto done;
    /* Tokenized as llama-perplexity does: add_special, no special parsing. */
    int32_t n_tokens = cli_tokenize(m, text, len, true, false, &tokens);
    if (n_tokens < 0) {
        fprintf(stderr, "offgrid perplexity: cannot tokenize %s\n", o->file);
        goto done;
    }
    /* --chunks keeps the first N chunks' tokens, which is what
     * llama-perplexity scores with its --chunks N */
    if (o->max_chunks > 0 && (int64_t)o->max_chunks * co.n_ctx < n_tokens)
        n_tokens = o->max_chunks * co.n_ctx;
    fprintf(stderr, "perplexity: %d tokens, %d chunks of %d\n", n_tokens, n_tokens / co.n_ctx, co.n_ctx);
    og_ppl_result res;
    og_error err = { 0 };
    if (og_perplexity(ctx, tokens, n_tokens, co.n_ctx, progress, NULL, &res, &err) != OG_OK) {
        fprintf(stderr, "offgrid perplexity: %s: %s\n", o->file, err.message);
        goto done;
    }
    if (o->json) {
        printf("{\"model\": ");
        cli_json_str(o->model);
        printf(", \"file\": ");
        cli_json_str(o->file);
        printf(", \"perplexity\": ");
        cli_json_num(res.ppl);
        printf(", \"stderr\": ");
        cli_json_num(res.ppl_stderr);
        printf(", \"n_tokens\": %d, \"n_chunks\": %d, \"n_scored\": %lld, \"n_ctx\": %d}\n", n_tokens,
               res.n_chunks, (long long)res.n_scored, co.n_ctx);
    } else {
        printf("perplexity: %.4f +/- %.4f\n", res.ppl, res.ppl_stderr);
    }
    rc = 0;
done:
    free(tokens);
    free(text);
    og_context_free(ctx);
    og_model_free(m);
    return rc;
}

static int start(int argc, char **argv)
{
    perplexity_opts o = { .context.n_ctx = 512 };
    char path[4096];
    int rc = cli_parse(&cli_cmd_perplexity, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    return cli_find_model("perplexity", &o.model, path, sizeof path) ? run(&o) : 1;
}

const cli_command cli_cmd_perplexity = {
    "perplexity", "measure a model's perplexity on a text",
    "Cuts the text into chunks of CTX tokens and scores the second half of each,\n"
    "as llama.cpp's llama-perplexity does. Running values go to stderr; the last\n"
    "line on stdout is 'perplexity: X +/- E' (with --json, one object). -f -\n"
    "reads stdin; a text may hold at most 256 MiB.",
    options, NULL, start,
};
