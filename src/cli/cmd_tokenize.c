/*
 * cmd_tokenize.c - `offgrid tokenize`: print the token ids of a text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct tokenize_opts {
    const char *model, *prompt, *file; /* NULL when not given */
    bool no_bos, no_parse_special;
} tokenize_opts;

static const cli_option options[] = {
    CLI_OPT_MODEL(tokenize_opts, model, "GGUF model or vocab file, or an installed model's name"),
    { "-p", "--prompt", CLI_STRING, CLI_AT(tokenize_opts, prompt, const char *), "TEXT", .help = "the text" },
    { "-f", "--file", CLI_STRING, CLI_AT(tokenize_opts, file, const char *), "PATH",
      .help = "read the text from a file" },
    { NULL, "--no-bos", CLI_FLAG, CLI_AT(tokenize_opts, no_bos, bool), NULL,
      .help = "do not add BOS (or CLS/SEP) tokens" },
    { NULL, "--no-parse-special", CLI_FLAG, CLI_AT(tokenize_opts, no_parse_special, bool), NULL,
      .help = "treat text like <|im_start|> as plain text" },
    { 0 },
};

static int run(const tokenize_opts *o)
{
    if ((o->prompt != NULL) == (o->file != NULL)) {
        fprintf(stderr, "offgrid tokenize: give exactly one of -p TEXT or -f FILE\n");
        return 2;
    }
    size_t len = 0;
    char *file_text = NULL;
    const char *text = o->prompt;
    if (o->file) {
        if (!(file_text = cli_read_file(o->file, &len)))
            return 1;
        text = file_text;
    } else {
        len = strlen(text);
    }
    og_model *m = cli_load_model(o->model, true);
    if (!m) {
        free(file_text);
        return 1;
    }
    og_token *ids = NULL;
    int32_t n = cli_tokenize(m, text, len, !o->no_bos, !o->no_parse_special, &ids);
    int rc = 0;
    if (n < 0) {
        fprintf(stderr, "offgrid tokenize: %s\n", og_status_name((og_status)-n));
        rc = 1;
    } else {
        for (int32_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
    }
    free(ids);
    free(file_text);
    og_model_free(m);
    return rc;
}

static int start(int argc, char **argv)
{
    tokenize_opts o = { 0 };
    char path[4096];
    int rc = cli_parse(&cli_cmd_tokenize, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    return cli_find_model("tokenize", &o.model, path, sizeof path) ? run(&o) : 1;
}

const cli_command cli_cmd_tokenize = {
    "tokenize", "print the token ids of a text",
    "Prints the ids of the text (-p TEXT or -f FILE, exactly one), byte for\n"
    "byte as given, on one line separated by spaces. A vocab-only GGUF file is\n"
    "a valid MODEL.",
    options, NULL, start,
};
