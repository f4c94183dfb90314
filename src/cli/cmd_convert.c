/*
 * cmd_convert.c - `offgrid convert`: a Hugging Face model folder to GGUF.
 * Only in builds with the outer modules (not OG_CORE_ONLY).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

/* One line, rewritten in place on a terminal, one line per 10% otherwise. */
static void progress(void *user, int64_t done, int64_t total, const char *tensor)
{
    const bool *tty = user;
    if (*tty)
        fprintf(stderr, "\r\033[Koffgrid convert: [%lld/%lld] %s", (long long)done, (long long)total, tensor);
    else if (done == total || (done * 10 / total) != ((done - 1) * 10 / total))
        fprintf(stderr, "offgrid convert: [%lld/%lld] %s\n", (long long)done, (long long)total, tensor);
}

/* The --type choices, and the type each names (same order). */
static const char *const type_names[] = { "f32", "f16", "q8_0", NULL };
static const og_convert_type types[] = { OG_CONVERT_F32, OG_CONVERT_F16, OG_CONVERT_Q8_0 };

typedef struct convert_opts {
    const char *dir, *output, *type; /* type: one of type_names, NULL when not given */
    bool json;
} convert_opts;

static const cli_option options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(convert_opts, dir, const char *), "HF_DIR",
      .help = "the Hugging Face model folder", .required = true, .missing = "give the model folder" },
    { "-o", "--output", CLI_STRING, CLI_AT(convert_opts, output, const char *), "OUT.gguf",
      .help = "the GGUF file to write", .required = true },
    { NULL, "--type", CLI_CHOICE, CLI_AT(convert_opts, type, const char *), NULL,
      .help = "norms, biases and position/token-type embeddings\nalways stay f32", .def = "f16",
      .choices = type_names },
    CLI_OPT_JSON(convert_opts, json, "{\"output\", \"type\", \"bytes\"} on stdout when written"),
    { 0 },
};

static int run(const convert_opts *o)
{
    og_convert_params p = og_convert_default_params();
    for (size_t i = 0; o->type && type_names[i]; i++)
        if (o->type == type_names[i])
            p.type = types[i];
    bool tty = isatty(STDERR_FILENO);
    p.progress = progress;
    p.user = &tty;
    og_error err = { 0 };
    og_status st = og_convert_hf(o->dir, o->output, &p, &err);
    if (tty)
        fputc('\n', stderr);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid convert: %s\n", err.message);
        return 1;
    }
    fprintf(stderr, "offgrid convert: wrote %s\n", o->output);
    if (o->json) {
        struct stat sb;
        printf("{\"output\": ");
        cli_json_str(o->output);
        printf(", \"type\": \"%s\", \"bytes\": %lld}\n", o->type ? o->type : "f16",
               stat(o->output, &sb) == 0 ? (long long)sb.st_size : -1LL);
    }
    return 0;
}

static int start(int argc, char **argv)
{
    convert_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_convert, argc, argv, &o);
    return rc == CLI_PARSED ? run(&o) : rc;
}

const cli_command cli_cmd_convert = {
    "convert", "convert a Hugging Face model folder to GGUF",
    "Reads config.json, model.safetensors and the tokenizer (tokenizer.json,\n"
    "tokenizer.model or vocab.txt, tokenizer_config.json, special_tokens_map.json)\n"
    "and writes a GGUF file with llama.cpp's names. Architectures: LlamaForCausalLM,\n"
    "BertModel, BertForSequenceClassification. The output is written atomically.",
    options, NULL, start,
};
