/*
 * main.c - the offgrid command: picks the subcommand and hands it the
 * arguments; each command parses its own options (options.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const cli_command *const commands[] = {
    &cli_cmd_run, &cli_cmd_chat, &cli_cmd_tokenize, &cli_cmd_perplexity, &cli_cmd_info, &cli_cmd_bench,
#ifdef OG_WITH_TRANSFORMS
    &cli_cmd_synth, &cli_cmd_convert,
#endif
    &cli_cmd_embed, &cli_cmd_classify,
#ifdef OG_WITH_TRANSFORMS
    &cli_cmd_calibrate, &cli_cmd_add_head,
#endif
#ifdef OG_WITH_SERVICES
    &cli_cmd_pull, &cli_cmd_list, &cli_cmd_show, &cli_cmd_rm, &cli_cmd_verify, &cli_cmd_rollback, &cli_cmd_prune,
    &cli_cmd_keygen, &cli_cmd_sign, &cli_cmd_verify_signature, &cli_cmd_update, &cli_cmd_recommend,
    &cli_cmd_catalog, &cli_cmd_search, &cli_cmd_docs,
#endif
#ifdef OG_WITH_SERVICES
    &cli_cmd_serve, &cli_cmd_mcp,
#endif
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "offgrid %d.%d.%d - offline-first on-device AI runtime\n\n"
                 "usage: offgrid COMMAND [options]\n\ncommands:\n",
            OG_VERSION_MAJOR, OG_VERSION_MINOR, OG_VERSION_PATCH);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-16s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\nRun 'offgrid COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("offgrid %d.%d.%d\n", OG_VERSION_MAJOR, OG_VERSION_MINOR, OG_VERSION_PATCH);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i]->name) != 0)
            continue;
        return commands[i]->main(argc - 1, argv + 1);
    }
    fprintf(stderr, "offgrid: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
