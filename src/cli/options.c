/*
 * options.c - the one option parser and --help generator: both read a
 * command's option table (options.h), so the help lists exactly what the
 * parser takes. Numbers are parsed strictly: "12abc" or an out-of-range
 * value is a usage error naming the option as typed, never a silent
 * default. Nothing here knows any command: what a value means, and
 * whether -m may name an installed model, is the command's business.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"

/* Where the help text starts, unless every option is shorter. */
#define HELP_COL 28

/* The row named arg (long name, short name or alias) in rows, groups
 * included; *at gets the absolute offset of its value. */
static const cli_option *find(const cli_option *rows, size_t base, const char *arg, size_t *at)
{
    for (const cli_option *r = rows; r && r->kind != CLI_END; r++) {
        if (r->kind == CLI_GROUP) {
            const cli_option *g = find(r->group, base + r->at, arg, at);
            if (g)
                return g;
        } else if (r->name && (!strcmp(arg, r->name) || (r->short_name && !strcmp(arg, r->short_name)) ||
                               (r->alias && !strcmp(arg, r->alias)))) {
            *at = base + r->at;
            return r;
        }
    }
    return NULL;
}

/* "a, b or c" of a choice list, into buf. */
static const char *join_choices(const char *const *c, const char *sep, const char *last, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; c[i]; i++) {
        const char *s = i == 0 ? "" : c[i + 1] ? sep : last;
        int w = snprintf(buf + n, cap - n, "%s%s", s, c[i]);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    return buf;
}

static bool parse_int(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "offgrid %s: %s expects a whole number from %lld to %lld, got '%s'\n", cmd, opt, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_float(const char *cmd, const char *opt, const char *s, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "offgrid %s: %s expects a number from %g to %g, got '%s'\n", cmd, opt, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

/* Stores val, given to the option typed as typed, at p. Prints why not. */
static bool set_value(const char *cmd, const cli_option *r, const char *typed, const char *val, void *p)
{
    long long n;
    char list[256];
    switch (r->kind) {
    case CLI_STRING:
        *(const char **)p = val;
        return true;
    case CLI_INT:
        if (!parse_int(cmd, typed, val, (long long)r->min, (long long)r->max, &n))
            return false;
        *(int32_t *)p = (int32_t)n;
        return true;
    case CLI_U64:
        if (!parse_int(cmd, typed, val, 0, LLONG_MAX, &n))
            return false;
        *(uint64_t *)p = (uint64_t)n;
        return true;
    case CLI_FLOAT:
        return parse_float(cmd, typed, val, (float)r->min, (float)r->max, (float *)p);
    case CLI_LIST: {
        cli_strings *l = p;
        if (l->n >= (int32_t)r->max || l->n >= CLI_LIST_MAX) {
            fprintf(stderr, "offgrid %s: %s may be given at most %d times\n", cmd, r->name, (int)r->max);
            return false;
        }
        l->v[l->n++] = val;
        return true;
    }
    case CLI_CHOICE:
        for (size_t i = 0; r->choices[i]; i++)
            if (!strcmp(val, r->choices[i])) {
                *(const char **)p = r->choices[i];
                return true;
            }
        fprintf(stderr, "offgrid %s: unknown %s '%s' (%s is %s)\n", cmd, typed, val, r->name,
                join_choices(r->choices, ", ", " or ", list, sizeof list));
        return false;
    default:
        return false; /* flags, positionals and groups take no value */
    }
}

/* The first positional row whose slot is still empty, or NULL. */
static const cli_option *next_positional(const cli_option *rows, char *opts)
{
    for (const cli_option *r = rows; r && r->kind != CLI_END; r++)
        if (r->kind == CLI_POSITIONAL && !*(const char **)(opts + r->at))
            return r;
    return NULL;
}

int cli_usage_error(const cli_command *cmd, const char *why)
{
    fprintf(stderr, "offgrid %s: %s\n\n", cmd->name, why);
    cli_help(cmd, stderr);
    return 2;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, void *opts)
{
    char *base = opts, why[512];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            cli_help(cmd, stdout);
            return 0;
        }
        const cli_option *r = arg[0] != '-' ? next_positional(cmd->options, base) : NULL;
        size_t at = r ? r->at : 0;
        if (r) {
            *(const char **)(base + at) = arg;
            continue;
        }
        if (!(r = find(cmd->options, 0, arg, &at))) {
            snprintf(why, sizeof why, "unknown option '%s'", arg);
            return cli_usage_error(cmd, why);
        }
        if (r->kind == CLI_FLAG) {
            *(bool *)(base + at) = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "offgrid %s: option '%s' needs a value\n", cmd->name, arg);
            return 2;
        }
        if (!set_value(cmd->name, r, arg, argv[++i], base + at))
            return 2;
    }
    /* Only top-level string rows can be required, so this needs no recursion. */
    for (const cli_option *r = cmd->options; r && r->kind != CLI_END; r++) {
        if (!r->required || *(const char **)(base + r->at))
            continue;
        if (!r->missing)
            snprintf(why, sizeof why, "%s %s is required", r->short_name ? r->short_name : r->name, r->arg);
        return cli_usage_error(cmd, r->missing ? r->missing : why);
    }
    return CLI_PARSED;
}

/* ---------------------------------------------------------------- help */

/* The option's value in help and errors: its arg, else "a|b|c" of a choice. */
static const char *value_name(const cli_option *r, char *buf, size_t cap)
{
    return r->arg ? r->arg : r->choices ? join_choices(r->choices, "|", "|", buf, cap) : "VALUE";
}

/* "  -m, --model MODEL", "      --temp T" or "  HF_DIR" into buf; its length. */
static int left_column(const cli_option *r, char *buf, size_t cap)
{
    char value[256];
    if (r->kind == CLI_POSITIONAL)
        return snprintf(buf, cap, "  %s", r->arg);
    const bool flag = r->kind == CLI_FLAG;
    return snprintf(buf, cap, "  %s%s%s%s%s", r->short_name ? r->short_name : "  ", r->short_name ? ", " : "  ",
                    r->name, flag ? "" : " ", flag ? "" : value_name(r, value, sizeof value));
}

/* The widest left column of the rows (groups included), at most HELP_COL - 2. */
static int widest(const cli_option *rows)
{
    int w = 0;
    char buf[256];
    for (const cli_option *r = rows; r && r->kind != CLI_END; r++) {
        int n = r->kind == CLI_GROUP ? widest(r->group) : left_column(r, buf, sizeof buf);
        w = n > w ? n : w;
    }
    return w < HELP_COL - 2 ? w : HELP_COL - 2;
}

/* Prints one row: its names, then its help (continuation lines indented
 * to col) and what the table says of its default, range and aliases. */
static void print_row(const cli_option *r, int col, FILE *out)
{
    char left[512];
    int n = left_column(r, left, sizeof left);
    fputs(left, out);
    if (n + 2 > col) {
        fputc('\n', out);
        n = 0;
    }
    fprintf(out, "%*s", col - n, "");
    for (const char *h = r->help ? r->help : ""; *h; h++) {
        fputc(*h, out);
        if (*h == '\n')
            fprintf(out, "%*s", col, "");
    }
    /* What the table says besides the help, in one parenthesis. */
    const char *sep = " (";
    if (r->required) {
        fprintf(out, "%srequired", sep);
        sep = "; ";
    }
    if (r->def) {
        fprintf(out, "%sdefault: %s", sep, r->def);
        sep = "; ";
    }
    if (r->kind == CLI_LIST) {
        fprintf(out, "%srepeatable, at most %d", sep, (int)r->max);
        sep = "; ";
    }
    if (r->alias) {
        fprintf(out, "%salso %s", sep, r->alias);
        sep = "; ";
    }
    fputs(sep[0] == ';' ? ")\n" : "\n", out);
}

static void print_rows(const cli_option *rows, bool positional, int col, FILE *out)
{
    for (const cli_option *r = rows; r && r->kind != CLI_END; r++) {
        if (r->kind == CLI_GROUP)
            print_rows(r->group, positional, col, out);
        else if ((r->kind == CLI_POSITIONAL) == positional)
            print_row(r, col, out);
    }
}

void cli_help(const cli_command *cmd, FILE *out)
{
    bool any_positional = false, any_option = false, any_optional = false;
    fprintf(out, "usage: offgrid %s", cmd->name);
    for (const cli_option *r = cmd->options; r && r->kind != CLI_END; r++) {
        if (r->kind == CLI_POSITIONAL)
            fprintf(out, r->required ? " %s" : " [%s]", r->arg);
        else if (r->required)
            fprintf(out, " %s %s", r->short_name ? r->short_name : r->name, r->arg);
        else
            any_optional = true;
        any_positional |= r->kind == CLI_POSITIONAL;
        any_option |= r->kind != CLI_POSITIONAL;
    }
    fprintf(out, "%s\n", any_optional ? " [options]" : "");
    if (cmd->about)
        fprintf(out, "\n%s\n", cmd->about);
    const int col = widest(cmd->options) + 2;
    if (any_positional) {
        fputs("\narguments:\n", out);
        print_rows(cmd->options, true, col, out);
    }
    if (any_option) {
        fputs("\noptions:\n", out);
        print_rows(cmd->options, false, col, out);
    }
    if (cmd->epilog)
        fprintf(out, "\n%s", cmd->epilog);
}
