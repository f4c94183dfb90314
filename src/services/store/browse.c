/*
 * browse.c - og_store_catalog: what the catalog offers, one row per model
 * name (the version this device would get), with how its file is had
 * (downloaded, fetched by pip, or built on the device) and whether it is
 * installed. `offgrid catalog` lists it and the CLI's "did you mean" and
 * "pull it?" offers read it. Owns nothing past the call: the rows are one
 * malloc'd array.
 */
#define _GNU_SOURCE /* strverscmp */
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "store/store.h"

/* How e's file is had: built on the device when every source says so,
 * else by pip when any source is a wheel or a set of them, else downloaded. */
static void how(const og_catalog_entry *e, og_store_catalog_item *it)
{
    bool built = e->n_sources > 0, pip = false;
    for (size_t i = 0; i < e->n_sources; i++) {
        built = built && e->sources[i].built_by[0];
        pip = pip || e->sources[i].pip[0] || e->sources[i].n_parts;
        if (e->sources[i].built_by[0] && !it->built_by[0])
            snprintf(it->built_by, sizeof it->built_by, "%s", e->sources[i].built_by);
    }
    snprintf(it->how, sizeof it->how, "%s", built ? "built" : pip ? "pip" : e->n_sources ? "download" : "mirror");
}

og_status og_store_catalog(og_store *s, const char *catalog, og_store_catalog_item **out, size_t *n, og_error *err)
{
    if (!out || !n)
        return og_error_set(err, OG_ERR_ARG, "og_store_catalog: out and n are required");
    *out = NULL;
    *n = 0;
    og_catalog cat;
    char id[33];
    og_status st = og_catalog_load(s, catalog, &cat, err);
    if (st != OG_OK)
        return st;
    /* Without a store there is no device id (making one would create the
     * store) and nothing installed: the newest versions are listed. */
    if ((!s || (st = og_store_device_id(s, id, err)) == OG_OK) && cat.n && !(*out = calloc(cat.n, sizeof **out)))
        st = og_error_set(err, OG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == OG_OK && i < cat.n; i++) {
        const og_catalog_entry *e = &cat.entries[i];
        bool seen = false; /* one row per name */
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(cat.entries[j].name, e->name);
        if (seen)
            continue;
        /* The version this device would get; a name rolled out to no one
         * here yet still shows, as its newest version. */
        const og_catalog_entry *pick = s ? og_catalog_pick(&cat, e->name, id, NULL) : NULL;
        if (!pick)
            pick = og_catalog_find(&cat, e->name, "", NULL);
        og_store_catalog_item *it = &(*out)[(*n)++];
        snprintf(it->name, sizeof it->name, "%s", pick->name);
        snprintf(it->version, sizeof it->version, "%s", pick->version);
        snprintf(it->task, sizeof it->task, "%s", pick->task);
        snprintf(it->arch, sizeof it->arch, "%s", pick->arch);
        snprintf(it->quantization, sizeof it->quantization, "%s", pick->quantization);
        snprintf(it->license, sizeof it->license, "%s", pick->license);
        snprintf(it->file_name, sizeof it->file_name, "%s", pick->file_name);
        it->parameters = pick->parameters;
        it->size = pick->size;
        it->ram_bytes = pick->ram_bytes;
        how(pick, it);
        og_store_version v;
        it->installed = s && og_registry_get(s->reg, pick->name, "", &v, NULL) == OG_OK;
    }
    og_catalog_free(&cat);
    if (st != OG_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return st;
}
