/*
 * cmd_catalog.c - `offgrid catalog [WORD]` and its alias `offgrid search
 * WORD`: what can be pulled, one line per model (the version this device
 * would get) with its task, download size, RAM estimate, licence and how
 * its file is had, and whether it is installed. Exit codes: 0 listed
 * (even when WORD matches nothing), 1 the catalog could not be read, 2
 * bad usage.
 */
#define _GNU_SOURCE /* strcasestr */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MIB (1024.0 * 1024.0)

static const char *const tasks[] = { "chat", "embed", "classify", NULL };

typedef struct catalog_opts {
    const char *word, *task;
    cli_pull_opts pull;
    bool json;
} catalog_opts;

static const cli_option catalog_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(catalog_opts, word, const char *), "WORD",
      .help = "only models whose name, task, architecture or licence\ncontains WORD (any case)" },
    { NULL, "--task", CLI_CHOICE, CLI_AT(catalog_opts, task, const char *), NULL, .help = "only models of this task",
      .choices = tasks },
    { NULL, "--catalog", CLI_STRING, CLI_AT(catalog_opts, pull.catalog, const char *), "WHERE",
      .help = "catalog file or URL (as for pull)" },
    CLI_OPT_JSON(catalog_opts, json, "{\"catalog\": WHERE, \"models\": [{name, version, task, architecture,\n"
                                     "quantization, parameters, size, ram_bytes, license, file, how,\n"
                                     "built_by, installed}]}"),
    { 0 },
};

static bool matches(const og_store_catalog_item *it, const catalog_opts *o)
{
    if (o->task && strcmp(it->task, o->task) != 0)
        return false;
    return !o->word || strcasestr(it->name, o->word) || strcasestr(it->task, o->word) ||
           strcasestr(it->arch, o->word) || strcasestr(it->license, o->word);
}

static void json_item(const og_store_catalog_item *it)
{
    static const struct {
        const char *key;
        size_t at;
    } strs[] = {
        { "name", offsetof(og_store_catalog_item, name) },
        { "version", offsetof(og_store_catalog_item, version) },
        { "task", offsetof(og_store_catalog_item, task) },
        { "architecture", offsetof(og_store_catalog_item, arch) },
        { "quantization", offsetof(og_store_catalog_item, quantization) },
        { "license", offsetof(og_store_catalog_item, license) },
        { "file", offsetof(og_store_catalog_item, file_name) },
        { "how", offsetof(og_store_catalog_item, how) },
        { "built_by", offsetof(og_store_catalog_item, built_by) },
    };
    printf("{");
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        printf("%s\"%s\": ", i ? ", " : "", strs[i].key);
        cli_json_str((const char *)it + strs[i].at);
    }
    printf(", \"parameters\": %" PRId64 ", \"size\": %" PRIu64 ", \"ram_bytes\": %" PRIu64 ", \"installed\": %s}",
           it->parameters, it->size, it->ram_bytes, it->installed ? "true" : "false");
}

static int run_catalog(const catalog_opts *o, const char *cmd)
{
    og_store *s = cli_open_store(cmd);
    if (!s)
        return 1;
    og_store_pull_params p;
    if (!cli_store_pull_params(cmd, &o->pull, s, &p)) {
        og_store_free(s);
        return 2;
    }
    og_store_catalog_item *items = NULL;
    size_t n = 0, shown = 0;
    og_error err = { 0 };
    og_status st = og_store_catalog(s, p.catalog, &items, &n, &err);
    og_store_free(s);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid %s: %s\n", cmd, err.message);
        return 1;
    }
    if (o->json) {
        printf("{\"catalog\": ");
        cli_json_str(p.catalog);
        printf(", \"models\": [");
    }
    for (size_t i = 0; i < n; i++) {
        const og_store_catalog_item *it = &items[i];
        if (!matches(it, o))
            continue;
        if (o->json) {
            printf(shown ? ",\n  " : "\n  ");
            json_item(it);
        } else {
            if (!shown)
                printf("%-28s %-8s %-9s %10s %10s  %-14s %s\n", "NAME", "VERSION", "TASK", "SIZE", "RAM", "LICENCE",
                       "GET IT");
            char get[200];
            if (it->installed)
                snprintf(get, sizeof get, "installed");
            else if (!strcmp(it->how, "built"))
                snprintf(get, sizeof get, "built by %s", it->built_by);
            else
                snprintf(get, sizeof get, "offgrid pull %s", it->name);
            printf("%-28s %-8s %-9s %6.1f MiB %6.1f MiB  %-14s %s\n", it->name, it->version, it->task, it->size / MIB,
                   it->ram_bytes / MIB, it->license, get);
        }
        shown++;
    }
    if (o->json)
        printf("%s]}\n", shown ? "\n" : "");
    else if (!shown && (o->word || o->task))
        fprintf(stderr, "offgrid %s: no model in %s matches %s%s%s\n", cmd, p.catalog, o->word ? o->word : "",
                o->word && o->task ? " and task " : o->task ? "task " : "", o->task ? o->task : "");
    else if (!shown)
        fprintf(stderr, "offgrid %s: the catalog %s lists no model\n", cmd, p.catalog);
    free(items);
    return 0;
}

static int start_catalog(int argc, char **argv)
{
    catalog_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_catalog, argc, argv, &o);
    return rc == CLI_PARSED ? run_catalog(&o, "catalog") : rc;
}

static int start_search(int argc, char **argv)
{
    catalog_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_search, argc, argv, &o);
    return rc == CLI_PARSED ? run_catalog(&o, "search") : rc;
}

#define CATALOG_ABOUT                                                                    \
    "Lists the models the catalog offers (the version this device would get): task,\n" \
    "download size, RAM estimate, licence, and how to get it: `offgrid pull NAME`,\n"  \
    "or, for a file built on the device (a conversion, a classifier head joined to\n"  \
    "an encoder), the command that builds it; `OFFGRID_MIRROR=FOLDER offgrid pull\n"   \
    "NAME` then registers the built file, checked against the catalog's SHA-256."
#define CATALOG_ENV                                                                  \
    "environment:\n"                                                                 \
    "  OFFGRID_HOME     the store (default ~/.local/share/offgrid)\n"                \
    "  OFFGRID_CATALOG  the catalog when --catalog is not given\n"

const cli_command cli_cmd_catalog = {
    "catalog", "list the models that can be pulled", CATALOG_ABOUT, catalog_options, CATALOG_ENV, start_catalog,
};

const cli_command cli_cmd_search = {
    "search", "search the catalog (offgrid catalog WORD)", CATALOG_ABOUT, catalog_options, CATALOG_ENV, start_search,
};
