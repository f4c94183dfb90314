/*
 * cmd_convert.c - `offgrid convert`: a Hugging Face model folder to GGUF.
 * Only in builds with the outer modules (not OG_CORE_ONLY).
 */
#include <stdio.h>
#include <string.h>
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

static int run(const cli_opts *o)
{
    static const struct {
        const char *name;
        og_convert_type type;
    } types[] = { { "f32", OG_CONVERT_F32 }, { "f16", OG_CONVERT_F16 }, { "q8_0", OG_CONVERT_Q8_0 } };
    if (!o->positional) {
        fprintf(stderr, "offgrid convert: give the model folder\n\n%s", cli_cmd_convert.usage);
        return 2;
    }
    if (!o->output) {
        fprintf(stderr, "offgrid convert: -o OUT.gguf is required\n\n%s", cli_cmd_convert.usage);
        return 2;
    }
    og_convert_params p = og_convert_default_params();
    if (o->type) {
        size_t i = 0;
        while (i < sizeof types / sizeof types[0] && strcmp(o->type, types[i].name) != 0)
            i++;
        if (i == sizeof types / sizeof types[0]) {
            fprintf(stderr, "offgrid convert: unknown --type '%s' (f32, f16 or q8_0)\n", o->type);
            return 2;
        }
        p.type = types[i].type;
    }
    bool tty = isatty(STDERR_FILENO);
    p.progress = progress;
    p.user = &tty;
    og_error err = { 0 };
    og_status st = og_convert_hf(o->positional, o->output, &p, &err);
    if (tty)
        fputc('\n', stderr);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid convert: %s\n", err.message);
        return 1;
    }
    fprintf(stderr, "offgrid convert: wrote %s\n", o->output);
    return 0;
}

const cli_command cli_cmd_convert = {
    "convert", "convert a Hugging Face model folder to GGUF",
    "usage: offgrid convert HF_DIR -o OUT.gguf [--type f32|f16|q8_0]\n\n"
    "Reads config.json, model.safetensors and the tokenizer (tokenizer.json,\n"
    "tokenizer.model or vocab.txt, tokenizer_config.json, special_tokens_map.json)\n"
    "and writes a GGUF file with llama.cpp's names. Architectures: LlamaForCausalLM,\n"
    "BertModel, BertForSequenceClassification. The output is written atomically.\n\n"
    "options:\n"
    "  -o, --output PATH   the GGUF file to write (required)\n"
    "      --type TYPE     f32, f16 or q8_0 (default f16); norms, biases and\n"
    "                      position/token-type embeddings always stay f32\n",
    OPT_POSITIONAL | OPT_OUTPUT | OPT_TYPE,
    run,
};
