/*
 * find_model.c - how a command turns -m NAME into a file: a path is used
 * as given, an installed model's name is resolved through the store, a
 * catalog model that is not installed is offered (asked on a terminal,
 * pulled with --pull, else the pull command is named), and a near miss
 * ("smollm2", a typo) gets "did you mean NAME?" from the installed and
 * catalog names. Owns nothing past the call.
 */
#define _GNU_SOURCE /* strncasecmp */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"

#ifdef OG_WITH_SERVICES

#define MIB (1024.0 * 1024.0)

/* Levenshtein distance of a and b (case-insensitive), stopping at cap + 1:
 * only small distances matter. Names are at most 63 bytes. */
static size_t distance(const char *a, const char *b, size_t cap)
{
    size_t na = strlen(a), nb = strlen(b), row[64];
    if (na > 63 || nb > 63)
        return cap + 1;
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0], best;
        row[0] = best = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t v = diag + cost;
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best > cap)
            return cap + 1;
    }
    return row[nb];
}

/* Keeps in best the candidate closest to name: a name it is the start
 * of (3 bytes at least) scores 0 plus the length left, a small edit
 * distance (a quarter of the name, 1 to 3) scores 100 plus it. */
typedef struct near {
    char best[64];
    size_t score;
} near;

static void consider(near *n, const char *name, const char *candidate)
{
    size_t len = strlen(name), cap = len / 4 < 1 ? 1 : len / 4 > 3 ? 3 : len / 4, score;
    if (len >= 3 && strlen(candidate) > len && !strncasecmp(candidate, name, len))
        score = strlen(candidate) - len;
    else if ((score = distance(name, candidate, cap)) <= cap && score > 0)
        score += 100;
    else
        return;
    if (!n->best[0] || score < n->score) {
        snprintf(n->best, sizeof n->best, "%s", candidate);
        n->score = score;
    }
}

/* Whether a store exists: looking a mistyped file name up must not
 * create one as a side effect. home gets its folder. */
static bool store_exists(char *home, size_t cap)
{
    char db[4200];
    og_error err = { 0 };
    return og_store_default_home(home, cap, &err) == OG_OK &&
           (snprintf(db, sizeof db, "%s/registry.db", home), access(db, F_OK) == 0);
}

/* Asks on the terminal; anything but y/yes is no. */
static bool ask(const char *cmd, const og_store_catalog_item *it)
{
    fprintf(stderr, "offgrid %s: %s is not installed; pull %s (%.1f MiB)? [y/N] ", cmd, it->name, it->name,
            it->size / MIB);
    fflush(stderr);
    char line[32];
    if (!fgets(line, sizeof line, stdin))
        return false;
    line[strcspn(line, "\r\n")] = 0;
    return !strcasecmp(line, "y") || !strcasecmp(line, "yes");
}

/* Pulls the catalog model ref into a store created if need be. */
static bool pull(const char *cmd, const char *ref)
{
    og_store *s = cli_open_store(cmd);
    if (!s)
        return false;
    cli_pull_opts none = { 0 };
    og_store_pull_params p;
    og_store_version v;
    og_error err = { 0 };
    bool ok = cli_store_pull_params(cmd, &none, s, &p);
    if (ok && og_store_pull(s, ref, &p, &v, &err) != OG_OK) {
        cli_store_progress_end();
        fprintf(stderr, "offgrid %s: %s\n", cmd, err.message);
        ok = false;
    } else if (ok) {
        cli_store_progress_end();
        fprintf(stderr, "offgrid %s: pulled %s:%s (%.1f MiB)\n", cmd, v.name, v.version, v.size / MIB);
    }
    og_store_free(s);
    return ok;
}

/* ref is neither a file nor installed: offer the catalog's model of that
 * name, or name the nearest one. Returns true once it is installed. */
static bool offer(const char *cmd, const char *ref, bool have_store, const char *home, bool want_pull,
                  const char *why)
{
    char name[64];
    size_t k = strcspn(ref, ":");
    snprintf(name, sizeof name, "%.*s", (int)(k < 63 ? k : 63), ref);
    /* The catalog as pull would read it; a store handle only when one is
     * there (the catalog's signature is checked with its keys). */
    og_store *s = have_store ? cli_open_store(cmd) : NULL;
    og_store_catalog_item *items = NULL;
    size_t n = 0;
    og_error err = { 0 };
    const char *where = cli_store_catalog_path(NULL, s);
    og_status st = og_store_catalog(s, where, &items, &n, &err);
    near nm = { .best = "" };
    const og_store_catalog_item *hit = NULL;
    for (size_t i = 0; st == OG_OK && i < n; i++) {
        if (!strcmp(items[i].name, name))
            hit = &items[i];
        consider(&nm, name, items[i].name);
    }
    og_store_version *vs = NULL;
    size_t nv = 0;
    if (s && og_store_list(s, &vs, &nv, NULL) == OG_OK)
        for (size_t i = 0; i < nv; i++)
            consider(&nm, name, vs[i].name);
    free(vs);
    og_store_free(s);
    bool ok = false;
    if (hit && !strcmp(hit->how, "built")) {
        fprintf(stderr, "offgrid %s: %s is not installed; it is built on this machine: run %s, then "
                "OFFGRID_MIRROR=FOLDER offgrid pull %s (FOLDER holds %s)\n", cmd, hit->name, hit->built_by,
                hit->name, hit->file_name);
    } else if (hit) {
        bool tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
        if (want_pull || (tty && ask(cmd, hit)))
            ok = pull(cmd, ref);
        else if (tty)
            fprintf(stderr, "offgrid %s: not pulled (offgrid pull %s when you want it)\n", cmd, ref);
        else
            fprintf(stderr, "offgrid %s: %s is not installed; pull it first (%.1f MiB): offgrid pull %s\n", cmd,
                    hit->name, hit->size / MIB, ref);
    } else {
        char hint[128] = "";
        if (nm.best[0])
            snprintf(hint, sizeof hint, "; did you mean %s?", nm.best);
        if (!have_store)
            fprintf(stderr, "offgrid %s: cannot open %s: no such file, and no model store in %s to look it up in%s\n",
                    cmd, ref, home, hint);
        else
            fprintf(stderr, "offgrid %s: %s is neither a file nor an installed model (%s; offgrid list shows them, "
                    "offgrid catalog what can be pulled)%s\n", cmd, ref, why, hint);
    }
    free(items);
    return ok;
}

/* Whether ref is an installed model; why gets the store's reason if not. */
static bool installed(const char *cmd, const char *ref, char *why, size_t cap)
{
    og_store *s = cli_open_store(cmd);
    if (!s)
        return false;
    og_store_version v;
    og_error err = { 0 };
    bool ok = og_store_get(s, ref, &v, &err) == OG_OK;
    snprintf(why, cap, "%s", err.message);
    og_store_free(s);
    return ok;
}
#endif

bool cli_find_model_pull(const char *cmd, const char **ref, char *buf, size_t cap, bool want_pull)
{
#ifdef OG_WITH_SERVICES
    /* A path (or a name that is a file here) is loaded as given, so a
     * missing file is reported by the loader. */
    if (!*ref || access(*ref, F_OK) == 0 || strchr(*ref, '/'))
        return true;
    char home[4096], why[512] = "";
    bool have_store = store_exists(home, sizeof home);
    if (!(have_store && installed(cmd, *ref, why, sizeof why)) &&
        !offer(cmd, *ref, have_store, home, want_pull, why))
        return false;
    if (!cli_store_resolve_model(cmd, *ref, buf, cap))
        return false;
    *ref = buf;
#else
    (void)cmd;
    (void)ref;
    (void)buf;
    (void)cap;
    (void)want_pull;
#endif
    return true;
}

bool cli_find_model(const char *cmd, const char **ref, char *buf, size_t cap)
{
    return cli_find_model_pull(cmd, ref, buf, cap, false);
}
