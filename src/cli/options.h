/*
 * options.h - the option tables the subcommands declare, and the one
 * parser and --help generator that read them. A command owns a struct of
 * its options (holding their defaults before parsing) and a table saying,
 * per option, its names, the kind of value, where in the struct it goes
 * and its help line. Options several commands share are a row macro or a
 * group table defined once (common.c) and included by those commands.
 */
#ifndef OG_CLI_OPTIONS_H
#define OG_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_kind {
    CLI_END = 0,    /* ends a table */
    CLI_STRING,     /* const char *, NULL when not given */
    CLI_INT,        /* int32_t in [min, max] */
    CLI_U64,        /* uint64_t from 0 to LLONG_MAX (seeds) */
    CLI_FLOAT,      /* float in [min, max] */
    CLI_FLAG,       /* bool, set when given */
    CLI_LIST,       /* cli_strings: every value of a repeatable option, at most max */
    CLI_CHOICE,     /* const char *: one of choices (the table's own string), NULL when not given */
    CLI_POSITIONAL, /* const char *: the next bare argument, NULL when not given */
    CLI_GROUP       /* the rows of group, stored from at on */
} cli_kind;

#define CLI_LIST_MAX 16

/* The values of a repeatable option, in the order given. */
typedef struct cli_strings {
    const char *v[CLI_LIST_MAX];
    int32_t n;
} cli_strings;

typedef struct cli_option {
    const char *short_name; /* "-m", or NULL */
    const char *name;       /* "--model"; a positional's NULL */
    cli_kind kind;
    size_t at;              /* offset of the value in the command's options (CLI_AT) */
    const char *arg;        /* the value in --help and errors ("MODEL"); a choice's
                             * defaults to "a|b|c" */
    const char *help;       /* may span lines ('\n') */
    const char *def;        /* the default --help shows, or NULL */
    double min, max;        /* CLI_INT, CLI_FLOAT: the range; CLI_LIST: the most values */
    const char *const *choices; /* CLI_CHOICE: NULL-ended */
    const char *alias;      /* another long name for the same option, or NULL */
    bool required;          /* CLI_STRING, CLI_POSITIONAL: parsing fails without it */
    const char *missing;    /* the error when a required one is missing; default
                             * "-m MODEL is required" */
    const struct cli_option *group; /* CLI_GROUP: the shared table */
} cli_option;

/* Offset of field f, of the C type the kind stores, in options type T. The
 * comparison (never evaluated) makes a row whose kind does not match its
 * field a compile-time warning. */
#define CLI_AT(T, f, type) (offsetof(T, f) + 0 * sizeof((type *)0 == &((T *)0)->f))

typedef struct cli_command {
    const char *name;
    const char *summary;            /* one line, for `offgrid --help` */
    const char *about;              /* --help's paragraph before the options */
    const cli_option *options;      /* ends with a CLI_END row; NULL for none */
    const char *epilog;             /* --help's text after the options, or NULL */
    int (*main)(int argc, char **argv); /* argv[0] is the command's name */
} cli_command;

/* Returned by cli_parse when the command should go on. */
#define CLI_PARSED (-1)

/* Parses argv[1..] by cmd's table into opts, which holds the defaults.
 * Returns CLI_PARSED, or the exit code after printing: 0 for --help (to
 * stdout), 2 for a usage error (to stderr: an unknown option, a missing
 * value, a value out of range, a required option missing). */
int cli_parse(const cli_command *cmd, int argc, char **argv, void *opts);

/* Writes cmd's --help, generated from its table, to out. */
void cli_help(const cli_command *cmd, FILE *out);

/* Prints "offgrid CMD: why", a blank line and the help to stderr; returns
 * 2, the exit code of a usage error. */
int cli_usage_error(const cli_command *cmd, const char *why);

/* The rows several commands take, each defined once. T is the command's
 * options type, f its field; h (help) and d (default shown) are the
 * command's words. */
#define CLI_OPT_MODEL(T, f, h) \
    { "-m", "--model", CLI_STRING, CLI_AT(T, f, const char *), "MODEL", .help = (h), .required = true }
#define CLI_OPT_THREADS(T, f, h, d) \
    { "-t", "--threads", CLI_INT, CLI_AT(T, f, int32_t), "N", .help = (h), .def = (d), .min = 1, .max = 1024 }
#define CLI_OPT_CTX(T, f, h, d)                                                                    \
    { "-c", "--ctx-size", CLI_INT, CLI_AT(T, f, int32_t), "N", .help = (h), .def = (d), .min = 8, .max = 1 << 20, \
      .alias = "--ctx" }
#define CLI_OPT_BATCH(T, f, h, d)                                                                    \
    { "-b", "--batch-size", CLI_INT, CLI_AT(T, f, int32_t), "N", .help = (h), .def = (d), .min = 1, .max = 1 << 16, \
      .alias = "--batch" }
#define CLI_OPT_MAX_TOKENS(T, f, h, d) \
    { NULL, "--max-tokens", CLI_INT, CLI_AT(T, f, int32_t), "N", .help = (h), .def = (d), .min = 1, .max = 1 << 20 }
#define CLI_OPT_JSON(T, f, h) { NULL, "--json", CLI_FLAG, CLI_AT(T, f, bool), NULL, .help = (h) }
#define CLI_OPT_PULL(T, f)                                                                                  \
    { NULL, "--pull", CLI_FLAG, CLI_AT(T, f, bool), NULL,                                                   \
      .help = "MODEL not installed but in the catalog: pull it\nwithout asking" }
#define CLI_OPT_GROUP(T, f, type, table) { NULL, NULL, CLI_GROUP, CLI_AT(T, f, type), .group = table }

#endif
