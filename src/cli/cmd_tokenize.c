/*
 * cmd_tokenize.c - `offgrid tokenize`: print the token ids of a text, alone
 * (one line), with their pieces (llama-tokenize's "ID -> 'PIECE'" lines) or
 * as JSON ({"id", "piece"} per token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct tokenize_opts {
    const char *model, *prompt, *file; /* NULL when not given */
    bool no_bos, no_parse_special, pieces, json;
} tokenize_opts;

static const cli_option options[] = {
    CLI_OPT_MODEL(tokenize_opts, model, "GGUF model or vocab file, or an installed model's name"),
    { "-p", "--prompt", CLI_STRING, CLI_AT(tokenize_opts, prompt, const char *), "TEXT", .help = "the text" },
    { "-f", "--file", CLI_STRING, CLI_AT(tokenize_opts, file, const char *), "PATH",
      .help = "read the text from a file (\"-\": stdin), at most 256 MiB" },
    { NULL, "--no-bos", CLI_FLAG, CLI_AT(tokenize_opts, no_bos, bool), NULL,
      .help = "do not add BOS (or CLS/SEP) tokens" },
    { NULL, "--no-parse-special", CLI_FLAG, CLI_AT(tokenize_opts, no_parse_special, bool), NULL,
      .help = "treat text like <|im_start|> as plain text" },
    { NULL, "--pieces", CLI_FLAG, CLI_AT(tokenize_opts, pieces, bool), NULL,
      .help = "one line per token, ID -> 'PIECE', as llama-tokenize prints" },
    CLI_OPT_JSON(tokenize_opts, json, "{\"n_tokens\": N, \"tokens\": [{\"id\": ID, \"piece\": TEXT}]}"),
    { 0 },
};

/* Prints the ids in the chosen form; false when a piece cannot be had. */
static bool print_tokens(const tokenize_opts *o, const og_model *m, const og_token *ids, int32_t n)
{
    if (!o->json && !o->pieces) {
        for (int32_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
        return true;
    }
    if (o->json)
        printf("{\"n_tokens\": %d, \"tokens\": [", n);
    char small[256], *piece = small;
    int32_t cap = (int32_t)sizeof small;
    for (int32_t i = 0; i < n; i++) {
        /* Control tokens shown as their text (<s>, [CLS]), as llama-tokenize does. */
        int32_t len = og_token_to_piece(m, ids[i], piece, cap, true);
        if (len > cap) { /* a long piece: grow once to its size and ask again */
            char *bigger = piece == small ? malloc((size_t)len) : realloc(piece, (size_t)len);
            if (bigger) {
                piece = bigger;
                cap = len;
                len = og_token_to_piece(m, ids[i], piece, cap, true);
            }
        }
        if (len < 0 || len > cap) {
            fprintf(stderr, "offgrid tokenize: token %d has no printable piece\n", ids[i]);
            if (piece != small)
                free(piece);
            return false;
        }
        if (o->json) {
            printf("%s{\"id\": %d, \"piece\": ", i ? ", " : "", ids[i]);
            cli_json_strn(piece, (size_t)len);
            putchar('}');
        } else {
            printf("%6d -> '%.*s'\n", ids[i], (int)len, piece);
        }
    }
    if (piece != small)
        free(piece);
    if (o->json)
        printf("]}\n");
    return true;
}

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
        if (!(file_text = cli_read_file("tokenize", o->file, CLI_TEXT_FILE_MAX, "a text file", &len)))
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
    } else if (!print_tokens(o, m, ids, n)) {
        rc = 1;
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
    "byte as given, on one line separated by spaces; with --pieces one line per\n"
    "token, ID -> 'PIECE'; with --json each id and its piece. A vocab-only GGUF\n"
    "file is a valid MODEL. -f - reads stdin; a file may hold at most 256 MiB.",
    options, NULL, start,
};
