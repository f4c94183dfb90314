/*
 * cmd_store_update.c - `offgrid update` (newer catalog versions for the
 * installed models, within this device's rollout cohort and its
 * metered-connection policy), `offgrid recommend` (the best catalog model
 * that fits this device, and why the others do not), and the lookup that
 * lets -m take an installed model's name. update and recommend take
 * --json (one object on stdout). Exit codes: 0 done, 1 failed
 * (or nothing fits), 2 bad usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/json_reply.h"

#define MIB (1024.0 * 1024.0)

/* The device as the store's fit checks see it (measured, or the testing
 * figures cli_store_pull_params hands the store). */
static bool device(const char *cmd, const cli_pull_opts *o, og_store *s, og_store_device *d)
{
    og_store_pull_params p;
    og_error err = { 0 };
    if (!cli_store_pull_params(cmd, o, s, &p))
        return false;
    if (og_store_probe(s, d, &err) != OG_OK) {
        fprintf(stderr, "offgrid %s: %s\n", cmd, err.message);
        return false;
    }
    return true;
}

bool cli_store_resolve_model(const char *cmd, const char *ref, char *buf, size_t cap)
{
    cli_pull_opts none = { 0 };
    /* A mistyped file name must not create a store as a side effect. */
    char home[4096], db[4200];
    og_error herr = { 0 };
    if (og_store_default_home(home, sizeof home, &herr) != OG_OK ||
        (snprintf(db, sizeof db, "%s/registry.db", home), access(db, F_OK) != 0)) {
        fprintf(stderr, "offgrid %s: cannot open %s: no such file, and no model store%s%s to look it up in\n", cmd,
                ref, herr.message[0] ? "" : " in ", herr.message[0] ? "" : home);
        return false;
    }
    og_store *s = cli_open_store(cmd);
    if (!s)
        return false;
    og_store_version v;
    og_store_device d;
    char what[160];
    og_error err = { 0 };
    og_status st = og_store_get(s, ref, &v, &err);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid %s: %s is neither a file nor an installed model (%s; offgrid list shows them)\n",
                cmd, ref, err.message);
        og_store_free(s);
        return false;
    }
    snprintf(what, sizeof what, "%s:%s", v.name, v.version);
    /* The fit check pull made, again: available RAM changes. */
    const char *force = getenv("OFFGRID_FORCE");
    bool ok = device(cmd, &none, s, &d);
    if (ok && !(force && !strcmp(force, "1")) && og_store_check_fit(&d, what, v.ram_bytes, 0, &err) != OG_OK) {
        fprintf(stderr, "offgrid %s: %s (OFFGRID_FORCE=1 loads it anyway)\n", cmd, err.message);
        ok = false;
    }
    if (ok && og_store_model_path(s, what, buf, cap, &err) != OG_OK) {
        fprintf(stderr, "offgrid %s: %s\n", cmd, err.message);
        ok = false;
    }
    og_store_free(s);
    return ok;
}

/* -------------------------------------------------------------- update */

/* update --json keeps the items and prints them at the end, so stdout is
 * one object even when an update failed half way. */
typedef struct update_log {
    bool json;
    og_store_update_item *items;
    size_t n, cap;
    bool nomem;
} update_log;

static const char *state_name(og_store_update_state st)
{
    switch (st) {
    case OG_UPDATE_CURRENT:
        return "up_to_date";
    case OG_UPDATE_AVAILABLE:
        return "available";
    case OG_UPDATE_DONE:
        return "updated";
    case OG_UPDATE_HELD:
        return "held";
    case OG_UPDATE_FAILED:
        return "failed";
    }
    return "unknown";
}

static void keep(update_log *l, const og_store_update_item *it)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        og_store_update_item *more = realloc(l->items, cap * sizeof *more);
        if (!more) {
            l->nomem = true;
            return;
        }
        l->items = more;
        l->cap = cap;
    }
    l->items[l->n++] = *it;
}

/* {"ok", "check", "changed", "models": [{name, from, to, state, download,
 * note}], "error"}: to is null when nothing newer applies. */
static void json_update(const update_log *l, bool check, size_t changed, const char *error)
{
    printf("{\"ok\": %s, \"check\": %s, \"changed\": %zu, \"models\": [", error ? "false" : "true",
           check ? "true" : "false", changed);
    for (size_t i = 0; i < l->n; i++) {
        const og_store_update_item *it = &l->items[i];
        printf("%s{", i ? ",\n  " : "\n  ");
        cli_json_field("name", it->name, 1);
        cli_json_field("from", it->from, 0);
        cli_json_field("to", it->to[0] ? it->to : NULL, 0);
        cli_json_field("state", state_name(it->state), 0);
        printf(", \"download\": %llu", (unsigned long long)it->download);
        cli_json_field("note", it->note, 0);
        printf("}");
    }
    printf("%s]", l->n ? "\n" : "");
    cli_json_field("error", error, 0);
    printf("}\n");
}

static void report(void *user, const og_store_update_item *it)
{
    update_log *l = user;
    if (l->json) {
        keep(l, it);
        return;
    }
    switch (it->state) {
    case OG_UPDATE_CURRENT:
        printf("%s:%s is up to date%s%s\n", it->name, it->from, it->note[0] ? "; " : "", it->note);
        break;
    case OG_UPDATE_AVAILABLE:
        printf("%s:%s -> %s available (%.1f MiB to download)%s%s\n", it->name, it->from, it->to, it->download / MIB,
               it->note[0] ? "; " : "", it->note);
        break;
    case OG_UPDATE_DONE:
        printf("%s:%s -> %s installed and active (%s stays as the fallback)\n", it->name, it->from, it->to, it->from);
        break;
    case OG_UPDATE_HELD:
        printf("%s:%s -> %s held: %s\n", it->name, it->from, it->to, it->note);
        break;
    case OG_UPDATE_FAILED:
        printf("%s:%s -> %s FAILED: %s\n", it->name, it->from, it->to, it->note);
        break;
    }
    fflush(stdout);
}

typedef struct update_opts {
    cli_pull_opts pull;
    bool check, allow_metered, json;
} update_opts;

static const cli_option update_options[] = {
    { NULL, "--check", CLI_FLAG, CLI_AT(update_opts, check, bool), NULL,
      .help = "only say what would change (exit 0 either way)" },
    { NULL, "--allow-metered", CLI_FLAG, CLI_AT(update_opts, allow_metered, bool), NULL,
      .help = "download even over a metered connection" },
    { NULL, "--catalog", CLI_STRING, CLI_AT(update_opts, pull.catalog, const char *), "WHERE",
      .help = "catalog file or URL (as for pull)" },
    { NULL, "--no-test", CLI_FLAG, CLI_AT(update_opts, pull.no_test, bool), NULL, .help = "skip the test inference" },
    CLI_OPT_JSON(update_opts, json, "{\"ok\", \"check\", \"changed\": N, \"models\": [{name, from, to,\n"
                                    "state (up_to_date, available, updated, held, failed),\n"
                                    "download, note}], \"error\": WHY or null}"),
    { 0 },
};

static int run_update(const update_opts *o)
{
    og_store *s = cli_open_store("update");
    if (!s)
        return 1;
    og_store_update_params p = { 0 };
    if (!cli_store_pull_params("update", &o->pull, s, &p.pull)) {
        og_store_free(s);
        return 2;
    }
    p.check_only = o->check;
    p.allow_metered = o->allow_metered;
    og_store_version *vs = NULL;
    size_t n = 0, changed = 0;
    og_error err = { 0 };
    og_status st = og_store_list(s, &vs, &n, &err);
    free(vs);
    update_log log = { .json = o->json };
    if (st == OG_OK && n == 0) {
        fprintf(stderr, "offgrid update: no model installed, nothing to update (offgrid recommend suggests one)\n");
        og_store_free(s);
        if (o->json)
            json_update(&log, o->check, 0, NULL);
        return 0;
    }
    if (st == OG_OK)
        st = og_store_update(s, &p, report, &log, &changed, &err);
    cli_store_progress_end();
    og_store_free(s);
    if (st == OG_OK && log.nomem)
        st = og_error_set(&err, OG_ERR_NOMEM, "out of memory for the results");
    if (o->json)
        json_update(&log, o->check, changed, st == OG_OK ? NULL : err.message);
    free(log.items);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid update: %s\n", err.message);
        return 1;
    }
    fprintf(stderr, "offgrid update: %zu %s\n", changed,
            o->check ? (changed == 1 ? "update available" : "updates available")
                     : (changed == 1 ? "model updated" : "models updated"));
    return 0;
}

/* ----------------------------------------------------------- recommend */

static void describe(const og_store_candidate *c)
{
    char params[32] = "";
    if (c->parameters >= 1000000000)
        snprintf(params, sizeof params, "%.1fB parameters, ", c->parameters / 1e9);
    else if (c->parameters > 0)
        snprintf(params, sizeof params, "%.0fM parameters, ", c->parameters / 1e6);
    printf("%s:%s (%s, %s%s%s%.1f MiB)", c->name, c->version, c->task, params, c->quantization,
           c->quantization[0] ? ", " : "", c->size / MIB);
}

static const char *const tasks[] = { "chat", "embed", "classify", NULL };

typedef struct recommend_opts {
    cli_pull_opts pull;
    const char *task; /* one of tasks, NULL when not given */
    bool json;
} recommend_opts;

static void json_candidate(const og_store_candidate *c)
{
    printf("{\"name\": ");
    cli_json_str(c->name);
    printf(", \"version\": ");
    cli_json_str(c->version);
    printf(", \"task\": ");
    cli_json_str(c->task);
    printf(", \"quantization\": ");
    cli_json_str(c->quantization);
    printf(", \"parameters\": %lld, \"size\": %llu, \"ram_bytes\": %llu, \"installed\": %s, \"fits\": %s, "
           "\"why\": ",
           (long long)c->parameters, (unsigned long long)c->size, (unsigned long long)c->ram_bytes,
           c->installed ? "true" : "false", c->fits ? "true" : "false");
    cli_json_str(c->why);
    printf("}");
}

/* recommend --json: the device, the pick (null when nothing fits) and
 * every candidate, best first. */
static void json_recommend(const og_store_device *d, const og_store_candidate *cs, size_t n)
{
    printf("{\"device\": {\"ram_total\": %llu, \"ram_available\": %llu, \"free_disk\": %llu, \"cores\": %d, "
           "\"simd\": ",
           (unsigned long long)d->ram_total, (unsigned long long)d->ram_available, (unsigned long long)d->free_disk,
           (int)d->cores);
    cli_json_str(d->simd);
    printf(", \"isa\": ");
    cli_json_str(d->isa);
    printf("},\n \"recommended\": ");
    if (n && cs[0].fits)
        json_candidate(&cs[0]);
    else
        printf("null");
    printf(",\n \"candidates\": [");
    for (size_t i = 0; i < n; i++) {
        printf(i ? ",\n  " : "\n  ");
        json_candidate(&cs[i]);
    }
    printf("%s]}\n", n ? "\n " : "");
}

static const cli_option recommend_options[] = {
    { NULL, "--task", CLI_CHOICE, CLI_AT(recommend_opts, task, const char *), NULL, .help = "only models of this task",
      .choices = tasks },
    { NULL, "--catalog", CLI_STRING, CLI_AT(recommend_opts, pull.catalog, const char *), "WHERE",
      .help = "catalog file or URL (as for pull)" },
    CLI_OPT_JSON(recommend_opts, json, "{\"device\": {...}, \"recommended\": {...} or null,\n"
                                       "\"candidates\": [{name, version, task, fits, why, ...}]}"),
    { 0 },
};

static int run_recommend(const recommend_opts *o)
{
    og_store *s = cli_open_store("recommend");
    if (!s)
        return 1;
    og_store_device d;
    og_store_pull_params p;
    if (!device("recommend", &o->pull, s, &d) || !cli_store_pull_params("recommend", &o->pull, s, &p)) {
        og_store_free(s);
        return 2;
    }
    og_store_candidate *cs = NULL;
    size_t n = 0;
    og_error err = { 0 };
    og_status st = og_store_recommend(s, p.catalog, o->task, &d, &cs, &n, &err);
    og_store_free(s);
    if (st != OG_OK) {
        fprintf(stderr, "offgrid recommend: %s\n", err.message);
        return 1;
    }
    int rc = n && cs[0].fits ? 0 : 1;
    /* An empty list is the catalog's gap, not the device's fault. */
    if (n == 0 && o->task)
        fprintf(stderr, "offgrid recommend: the catalog %s has no %s model\n", p.catalog, o->task);
    else if (n == 0)
        fprintf(stderr, "offgrid recommend: the catalog %s has no model\n", p.catalog);
    else if (!cs[0].fits)
        fprintf(stderr, "offgrid recommend: no %s%smodel in %s fits this device\n", o->task ? o->task : "",
                o->task ? " " : "", p.catalog);
    if (o->json) {
        json_recommend(&d, cs, n);
        free(cs);
        return rc;
    }
    printf("device: %.1f MiB RAM, %.1f MiB available; %d cores; SIMD %s (offgrid's kernels: %s); %.1f MiB free "
           "disk\n",
           d.ram_total / MIB, d.ram_available / MIB, d.cores, d.simd, d.isa, d.free_disk / MIB);
    for (size_t i = 0; i < n; i++) {
        printf("%s", i == 0 && cs[i].fits ? "recommended: " : cs[i].fits ? "also fits:   " : "rejected:    ");
        describe(&cs[i]);
        printf(": %s\n", cs[i].why);
    }
    free(cs);
    return rc;
}

static int start_update(int argc, char **argv)
{
    update_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_update, argc, argv, &o);
    return rc == CLI_PARSED ? run_update(&o) : rc;
}

static int start_recommend(int argc, char **argv)
{
    recommend_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_recommend, argc, argv, &o);
    return rc == CLI_PARSED ? run_recommend(&o) : rc;
}

const cli_command cli_cmd_update = {
    "update", "install newer catalog versions of the installed models",
    "For each installed model, finds the newest catalog version this device may\n"
    "run (a staged rollout offers a version to a share of devices, chosen by a\n"
    "stable hash of $OFFGRID_HOME/device_id) and, when it is newer than the\n"
    "active one, installs it as pull does: fit, size, SHA-256, signature and a test\n"
    "inference first, then the switch; the old version stays as the fallback\n"
    "(offgrid rollback). A version rolled back from is not reinstalled.\n"
    "Downloads are held on a metered connection unless --allow-metered or\n"
    "allow_metered = true in $OFFGRID_HOME/config (docs/store.md says how metered\n"
    "is known). Exits 0 when everything is current or updated, 1 when an update\n"
    "failed or was held (the old version stays active).",
    update_options,
    "environment:\n"
    "  OFFGRID_HOME     the store (default ~/.local/share/offgrid)\n"
    "  OFFGRID_METERED  1: the connection is metered, 0: it is not (overrides\n"
    "                   NetworkManager)\n"
    "  OFFGRID_CATALOG, OFFGRID_MIRROR, OFFGRID_RETRIES  as for pull\n",
    start_update,
};

const cli_command cli_cmd_recommend = {
    "recommend", "name the best catalog model for this device",
    "Reads total and available RAM, cores, SIMD features and the store's free\n"
    "disk, then judges each catalog model (of the task, when given): it fits when\n"
    "its RAM estimate is at most 70% of the available RAM (the rest is headroom)\n"
    "and, unless installed, its download fits on the disk. The largest model that\n"
    "fits is recommended; every other one is listed with the reason. pull and\n"
    "loading an installed model (-m NAME) make the same check. Exits 1 when\n"
    "nothing fits.",
    recommend_options,
    "environment:\n"
    "  OFFGRID_HOME     the store (default ~/.local/share/offgrid)\n"
    "  OFFGRID_RAM, OFFGRID_RAM_AVAILABLE, OFFGRID_FREE_DISK  (testing) pretend\n"
    "                   this many bytes of total RAM, available RAM, free disk\n",
    start_recommend,
};
