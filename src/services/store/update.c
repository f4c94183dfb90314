/*
 * update.c - og_store_update and og_store_recommend: the catalog read
 * against what is installed and what this device is. Update brings each
 * installed model to the newest version its rollout cohort is offered,
 * through the same path as pull (so the same checks come before the
 * switch, and the old version stays as the fallback); recommend says
 * which catalog model fits this device best, and why the others do not.
 */
#define _GNU_SOURCE /* strverscmp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"
#include "store/store.h"

#define MIB (1024.0 * 1024.0)

/* Models over this many parameters are refused on the scalar kernels: a
 * rough line (about 1 token/s on one core and below), not a measurement. */
#define SCALAR_MAX_PARAMETERS 1000000000LL

static bool blob_present(const og_store *s, const char *sha256)
{
    char path[OG_STORE_PATH_MAX];
    return og_blob_path(s, sha256, path, sizeof path, NULL) == OG_OK && access(path, F_OK) == 0;
}

/* A newer version of e's name that is not offered to this device, for
 * the report ("3 is rolled out to 25% of devices; this one is in cohort 63"). */
static void rollout_note(const og_catalog *cat, const og_catalog_entry *chosen, const char *name, const char *id,
                         char *note, size_t cap)
{
    const og_catalog_entry *held = NULL;
    int cohort = 0;
    for (size_t i = 0; i < cat->n; i++) {
        const og_catalog_entry *e = &cat->entries[i];
        int k;
        if (strcmp(e->name, name) != 0 || og_catalog_offered(e, id, &k) ||
            (chosen && strverscmp(e->version, chosen->version) <= 0) ||
            (held && strverscmp(e->version, held->version) <= 0))
            continue;
        held = e;
        cohort = k;
    }
    if (held)
        snprintf(note, cap, "%s:%s is rolled out to %d%% of devices; this device is in cohort %d", name,
                 held->version, held->rollout_percent, cohort);
}

/* The distinct names with an active version, in the registry's order. */
static size_t active_versions(og_store_version *vs, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (vs[i].active)
            vs[k++] = vs[i];
    return k;
}

static bool installed(const og_store_version *all, size_t n, const char *name, const char *version)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(all[i].name, name) && !strcmp(all[i].version, version))
            return true;
    return false;
}

typedef struct update_run {
    og_store *s;
    const og_store_update_params *p;
    const og_catalog *cat;
    const char *id;
    bool metered_ok; /* downloading is allowed now */
    char metered_why[256];
    size_t changed, failed, held;
    og_status first_status;
    char first_error[sizeof(((og_error *)0)->message)];
} update_run;

static void update_one(update_run *r, const og_store_version *active, const og_store_version *all, size_t n_all,
                       og_store_update_item *it)
{
    memset(it, 0, sizeof *it);
    snprintf(it->name, sizeof it->name, "%s", active->name);
    snprintf(it->from, sizeof it->from, "%s", active->version);
    it->state = OG_UPDATE_CURRENT;
    og_error err = { 0 };
    const og_catalog_entry *e = og_catalog_pick(r->cat, active->name, r->id, &err);
    rollout_note(r->cat, e, active->name, r->id, it->note, sizeof it->note);
    if (!e) {
        if (!it->note[0])
            snprintf(it->note, sizeof it->note, "%s", err.message);
        return;
    }
    if (strverscmp(e->version, active->version) <= 0)
        return;
    if (installed(all, n_all, e->name, e->version)) {
        snprintf(it->note, sizeof it->note, "%s:%s is installed but not active (rolled back from); offgrid rollback %s "
                 "makes it active again", e->name, e->version, e->name);
        return;
    }
    snprintf(it->to, sizeof it->to, "%s", e->version);
    it->download = blob_present(r->s, e->sha256) ? 0 : e->size;
    if (r->p->check_only) {
        it->state = OG_UPDATE_AVAILABLE;
        r->changed++;
        return;
    }
    if (it->download && !r->metered_ok) {
        it->state = OG_UPDATE_HELD;
        snprintf(it->note, sizeof it->note, "not downloaded over a metered connection (%s); use --allow-metered or "
                 "set allow_metered = true in %s/config", r->metered_why, r->s->home);
        if (!r->held++ && !r->failed) {
            r->first_status = OG_ERR_UNSUPPORTED;
            snprintf(r->first_error, sizeof r->first_error, "%s:%s %s", e->name, e->version, it->note);
        }
        return;
    }
    og_status st = og_pull_entry_locked(r->s, e, &r->p->pull, NULL, &err);
    if (st == OG_OK) {
        it->state = OG_UPDATE_DONE;
        r->changed++;
        return;
    }
    it->state = OG_UPDATE_FAILED;
    snprintf(it->note, sizeof it->note, "%s; %s:%s stays active", err.message, active->name, active->version);
    if (!r->failed++) {
        r->first_status = st;
        snprintf(r->first_error, sizeof r->first_error, "%s", it->note);
    }
}

og_status og_store_update(og_store *s, const og_store_update_params *params, og_store_update_fn report, void *user,
                          size_t *n_changed, og_error *err)
{
    if (!s || !params)
        return og_error_set(err, OG_ERR_ARG, "og_store_update: store and params are required");
    if (n_changed)
        *n_changed = 0;
    update_run r = { .s = s, .p = params, .metered_ok = true };
    og_catalog cat = { 0 };
    og_store_version *all = NULL, *act = NULL;
    size_t n_all = 0;
    char id[33], allow[16];
    og_status st = og_catalog_load(s, params->pull.catalog, &cat, err);
    if (st == OG_OK)
        st = og_store_device_id(s, id, err);
    if (st == OG_OK && !params->check_only && !params->allow_metered &&
        (st = og_store_config(s, "allow_metered", allow, sizeof allow, err)) == OG_OK && strcmp(allow, "true") != 0) {
        bool metered = false;
        st = og_store_metered(&metered, r.metered_why, sizeof r.metered_why, err);
        r.metered_ok = !metered;
    }
    bool locked = false;
    if (st == OG_OK && !params->check_only)
        locked = (st = og_store_lock(s, err)) == OG_OK;
    /* Listed under the lock, so what is compared is what gets changed. */
    if (st == OG_OK)
        st = og_registry_list(s->reg, NULL, &all, &n_all, err);
    if (st == OG_OK && n_all && !(act = malloc(n_all * sizeof *act)))
        st = og_error_set(err, OG_ERR_NOMEM, "out of memory");
    if (st == OG_OK) {
        memcpy(act, all, n_all * sizeof *act);
        size_t n_act = active_versions(act, n_all);
        r.cat = &cat;
        r.id = id;
        for (size_t i = 0; i < n_act; i++) {
            og_store_update_item it;
            update_one(&r, &act[i], all, n_all, &it);
            if (report)
                report(user, &it);
        }
        if (n_changed)
            *n_changed = r.changed;
        if (r.failed || r.held)
            st = og_error_set(err, r.first_status, "%zu update%s failed, %zu held; first: %s", r.failed,
                              r.failed == 1 ? "" : "s", r.held, r.first_error);
    }
    if (locked)
        og_store_unlock(s);
    free(act);
    free(all);
    og_catalog_free(&cat);
    return st;
}

/* ---------------------------------------------------------- recommend */

static int by_quality(const void *a, const void *b)
{
    const og_store_candidate *x = a, *y = b;
    if (x->fits != y->fits)
        return x->fits ? -1 : 1;
    if (x->parameters != y->parameters)
        return x->parameters > y->parameters ? -1 : 1;
    if (x->ram_bytes != y->ram_bytes)
        return x->ram_bytes > y->ram_bytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void judge(og_store *s, const og_store_device *d, const og_catalog_entry *e, og_store_candidate *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", e->name);
    snprintf(c->version, sizeof c->version, "%s", e->version);
    snprintf(c->task, sizeof c->task, "%s", e->task);
    snprintf(c->quantization, sizeof c->quantization, "%s", e->quantization);
    c->parameters = e->parameters;
    c->ram_bytes = e->ram_bytes;
    c->size = e->size;
    c->installed = blob_present(s, e->sha256);
    char what[160];
    snprintf(what, sizeof what, "%s:%s", e->name, e->version);
    og_error err = { 0 };
    uint64_t disk = c->installed ? 0 : og_catalog_disk_need(e);
    if (og_store_check_fit(d, what, e->ram_bytes, disk, &err) != OG_OK) {
        snprintf(c->why, sizeof c->why, "too big: %s", err.message);
        return;
    }
    if (!strcmp(d->isa, "scalar") && e->parameters > SCALAR_MAX_PARAMETERS) {
        snprintf(c->why, sizeof c->why,
                 "too slow: %.2fB parameters on the scalar kernels (this CPU has no SIMD path offgrid uses)",
                 e->parameters / 1e9);
        return;
    }
    c->fits = true;
    uint64_t budget = d->ram_available / 100 * OG_STORE_RAM_HEADROOM_PERCENT;
    int n = snprintf(c->why, sizeof c->why, "fits: needs %.1f MiB of RAM of the %.1f MiB budget (%d%% of %.1f MiB "
                     "available)", e->ram_bytes / MIB, budget / MIB, OG_STORE_RAM_HEADROOM_PERCENT,
                     d->ram_available / MIB);
    if (n > 0 && (size_t)n < sizeof c->why)
        snprintf(c->why + n, sizeof c->why - (size_t)n,
                 c->installed ? "; already installed" : "; fetching it takes %.1f MiB of the %.1f MiB of free disk",
                 disk / MIB, d->free_disk / MIB);
}

og_status og_store_recommend(og_store *s, const char *catalog, const char *task, const og_store_device *d,
                             og_store_candidate **out, size_t *n, og_error *err)
{
    if (!s || !d || !out || !n)
        return og_error_set(err, OG_ERR_ARG, "og_store_recommend: store, device, out and n are required");
    *out = NULL;
    *n = 0;
    og_catalog cat;
    char id[33];
    og_store_device dev = *d; /* as this store's fit checks see the device */
    og_store_apply_test_control(s, &dev);
    og_status st = og_catalog_load(s, catalog, &cat, err);
    if (st != OG_OK)
        return st;
    if ((st = og_store_device_id(s, id, err)) == OG_OK && cat.n && !(*out = calloc(cat.n, sizeof **out)))
        st = og_error_set(err, OG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == OG_OK && i < cat.n; i++) {
        const og_catalog_entry *e = &cat.entries[i];
        bool seen = false; /* one candidate per name: its version for this device */
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(cat.entries[j].name, e->name);
        if (seen || (task && strcmp(e->task, task) != 0))
            continue;
        const og_catalog_entry *pick = og_catalog_pick(&cat, e->name, id, NULL);
        if (pick)
            judge(s, &dev, pick, &(*out)[(*n)++]);
    }
    og_catalog_free(&cat);
    if (st != OG_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
        return st;
    }
    qsort(*out, *n, sizeof **out, by_quality);
    return OG_OK;
}
