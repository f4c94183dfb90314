/*
 * pull.c - og_store_pull: one catalog entry from "nothing fetched" to
 * "active". Its order is the safety argument: check the device (free
 * disk, RAM) before any byte moves; fetch into tmp/; verify size, SHA-256
 * and signature; move the file to its blob name (fsync, rename, fsync of
 * the folder); load it for a test inference; and only then switch the
 * registry, in one transaction. Any failure before that last step leaves
 * the active version as it was.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"
#include "store/store.h"

og_store_pull_params og_store_default_pull_params(void)
{
    og_store_pull_params p = { 0 };
    p.max_retries = 5;
    p.low_speed_seconds = 30;
    return p;
}

/* The fit check before anything is fetched, on the device as this store
 * sees it (og_store_probe: measured, or the test control's figures).
 * fetching: whether bytes are about to be downloaded (the disk check). */
static og_status check_device(og_store *s, const og_catalog_entry *e, const og_store_pull_params *p,
                              bool fetching, og_error *err)
{
    if (p->force)
        return OG_OK;
    og_store_device d;
    og_status st = og_store_probe(s, &d, err);
    if (st != OG_OK)
        return st;
    uint64_t need = og_catalog_disk_need(e);
    char what[160];
    og_error fit = { 0 };
    snprintf(what, sizeof what, "%s:%s", e->name, e->version);
    st = og_store_check_fit(&d, what, e->ram_bytes, fetching ? need : 0, &fit);
    if (st == OG_ERR_NO_SPACE)
        return og_error_set(err, st, "%s in %s; free some space (offgrid prune) or use --force", fit.message, s->home);
    if (st != OG_OK)
        return og_error_set(err, st, "%s; pick a smaller model or use --force", fit.message);
    return OG_OK;
}

/* Signed entries need a trusted key; with trusted keys, entries need a signature. */
static og_status check_signature(const og_store *s, const og_catalog_entry *e, const char *path, og_error *err)
{
    unsigned char(*keys)[32] = NULL;
    size_t n = 0;
    og_status st = og_sign_trusted_keys(s, &keys, &n, err);
    if (st != OG_OK)
        return st;
    if (!e->signature[0] && n > 0)
        st = og_error_set(err, OG_ERR_FORMAT, "%s:%s is not signed but %s/trusted_keys requires signatures", e->name,
                          e->version, s->home);
    else if (e->signature[0] && n == 0)
        st = og_error_set(err, OG_ERR_FORMAT,
                          "%s:%s is signed but no trusted key is configured: add the publisher's public key to "
                          "%s/trusted_keys",
                          e->name, e->version, s->home);
    else if (e->signature[0]) {
        st = og_sign_verify_any(path, e->signature, keys, n, err);
        if (st != OG_OK)
            og_error_prefix(err, "%s:%s", e->name, e->version);
    }
    free(keys);
    return st;
}

/* Loads the model and, for a chat model, runs one token through it. */
static og_status test_inference(const og_catalog_entry *e, const char *path, const char *cache_dir, og_error *err)
{
    og_model *m = NULL;
    og_context *ctx = NULL;
    og_model_params mp = og_model_default_params();
    mp.cache_dir = cache_dir;
    og_status st = og_model_load(path, &mp, &m, err);
    if (st == OG_OK && !strcmp(e->task, "chat")) {
        og_context_params cp = og_context_default_params();
        cp.n_ctx = 16;
        cp.n_batch = 16;
        cp.n_threads = 1;
        og_token t = og_token_bos(m) >= 0 ? og_token_bos(m) : 0;
        if ((st = og_context_new(m, &cp, &ctx, err)) == OG_OK && (st = og_decode(ctx, &t, 1, false, err)) == OG_OK) {
            const float *logits = og_get_logits(ctx, -1);
            for (int32_t i = 0; st == OG_OK && i < og_vocab_size(m); i++)
                if (!isfinite(logits[i]))
                    st = og_error_set(err, OG_ERR_FORMAT, "the test inference gave a non-finite logit");
        }
    }
    og_context_free(ctx);
    og_model_free(m);
    if (st != OG_OK)
        og_error_prefix(err, "%s:%s failed its test load", e->name, e->version);
    return st;
}

og_status og_pull_entry_locked(og_store *s, const og_catalog_entry *e, const og_store_pull_params *p,
                               og_store_version *out, og_error *err)
{
    char blob[OG_STORE_PATH_MAX], tmp[OG_STORE_PATH_MAX], source[1024] = "";
    og_status st = og_blob_path(s, e->sha256, blob, sizeof blob, err);
    if (st != OG_OK)
        return st;
    char hex[OG_SHA256_HEX];
    uint64_t size = 0;
    /* The same file may be there already (another version, a re-pull):
     * it counts only if it still hashes right. */
    bool have = access(blob, F_OK) == 0 && og_sha256_file(blob, hex, &size, p->progress, p->user, NULL) == OG_OK &&
                size == e->size && !strcmp(hex, e->sha256);
    if ((st = check_device(s, e, p, !have, err)) != OG_OK)
        return st;
    og_store_version old;
    if (have) /* keep the source recorded when it was fetched */
        snprintf(source, sizeof source, "%s",
                 og_registry_get(s->reg, e->name, e->version, &old, NULL) == OG_OK ? old.source : blob);
    else if ((st = og_fetch_entry(s, e, p, tmp, sizeof tmp, source, sizeof source, err)) != OG_OK)
        return st;
    /* Check the signature before the file gets its blob name. */
    const char *file = have ? blob : tmp;
    if ((st = check_signature(s, e, file, err)) != OG_OK) {
        if (!have)
            unlink(tmp);
        return st;
    }
    if (!have && (st = og_blob_commit(s, tmp, e->sha256, err)) != OG_OK) {
        unlink(tmp);
        return st;
    }
    /* A blob that fails to load stays (verified bytes, maybe used by an
     * older version); prune removes it when nothing refers to it. */
    if (!p->skip_test && (st = test_inference(e, blob, p->cache_dir, err)) != OG_OK)
        return st;
    og_store_version v = { 0 };
    snprintf(v.name, sizeof v.name, "%s", e->name);
    snprintf(v.version, sizeof v.version, "%s", e->version);
    snprintf(v.sha256, sizeof v.sha256, "%s", e->sha256);
    snprintf(v.source, sizeof v.source, "%s", source);
    snprintf(v.arch, sizeof v.arch, "%s", e->arch);
    snprintf(v.task, sizeof v.task, "%s", e->task);
    v.size = e->size;
    v.ram_bytes = e->ram_bytes;
    if ((st = og_registry_install(s->reg, &v, err)) != OG_OK)
        return st;
    return out ? og_registry_get(s->reg, e->name, e->version, out, err) : OG_OK;
}

static void wait_quietly(void *user, const char *holder)
{
    (void)user;
    (void)holder;
}

og_status og_store_pull(og_store *s, const char *ref, const og_store_pull_params *params, og_store_version *out,
                        og_error *err)
{
    if (!s || !ref)
        return og_error_set(err, OG_ERR_ARG, "og_store_pull: store and ref are required");
    og_store_pull_params p = params ? *params : og_store_default_pull_params();
    char name[64], version[64];
    og_status st = og_store_parse_ref(ref, name, version, err);
    if (st != OG_OK)
        return st;
    og_catalog cat;
    char id[33];
    if ((st = og_catalog_load(s, p.catalog, &cat, err)) != OG_OK)
        return st;
    /* A version named is taken as asked; otherwise the newest this
     * device's rollout cohort is offered. */
    const og_catalog_entry *e = NULL;
    if (*version)
        e = og_catalog_find(&cat, name, version, err);
    else if ((st = og_store_device_id(s, id, err)) == OG_OK)
        e = og_catalog_pick(&cat, name, id, err);
    if (!e && st == OG_OK)
        st = OG_ERR_ARG;
    char holder[160];
    snprintf(holder, sizeof holder, "pull of %s", name);
    og_store_wait_fn waiting = p.waiting ? p.waiting : wait_quietly;
    if (st == OG_OK && (st = og_store_lock_for(s, holder, waiting, p.user, err)) == OG_OK) {
        st = og_pull_entry_locked(s, e, &p, out, err);
        og_store_unlock(s);
    }
    og_catalog_free(&cat);
    return st;
}
