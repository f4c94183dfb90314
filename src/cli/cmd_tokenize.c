/*
 * cmd_tokenize.c - `offgrid tokenize`: print the token ids of a text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int run(const cli_opts *o)
{
    if (o->has_prompt == (o->file != NULL)) {
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
    og_model *m = cli_load_model(o, true);
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

const cli_command cli_cmd_tokenize = {
    "tokenize", "print the token ids of a text",
    "usage: offgrid tokenize -m MODEL [--no-bos] (-p TEXT | -f FILE)\n\n"
    "Prints the ids of the text, byte for byte as given, on one line separated\n"
    "by spaces. A vocab-only GGUF file is a valid MODEL.\n\n"
    "options:\n"
    "  -m, --model PATH        GGUF model or vocab file (required)\n"
    "  -p, --prompt TEXT       the text\n"
    "  -f, --file PATH         read the text from a file\n"
    "      --no-bos            do not add BOS (or CLS/SEP) tokens\n"
    "      --no-parse-special  treat text like <|im_start|> as plain text\n",
    OPT_MODEL | OPT_PROMPT | OPT_FILE | OPT_NO_BOS | OPT_SPECIAL,
    run,
};
