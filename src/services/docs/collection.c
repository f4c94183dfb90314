/*
 * collection.c - opening a collection (its folder under the store's home,
 * plain or encrypted, the encoder its vectors come from), listing its
 * documents and removing them. Adding is ingest.c; searching search.c.
 */
#include "docs/collection.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/sqlite_db.h"
#include "docs/crypt.h"

og_docs_params og_docs_default_params(void)
{
    og_docs_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The key of an encrypted collection (*key set), after checking that
 * params fit what is on disk; *key stays NULL for a plain one. */
static og_status unlock(og_docs *d, const og_docs_params *p, bool is_new, uint8_t key_buf[OG_DOCS_KEY_BYTES],
                        const uint8_t **key, og_error *err)
{
    char key_path[OG_FS_PATH_MAX];
    og_status s = og_fs_path(key_path, sizeof key_path, err, "%s/docs.key", d->dir);
    if (s != OG_OK)
        return s;
    *key = NULL;
    const bool encrypted = exists(key_path);
    if (is_new && p->create_encrypted) {
        if (!p->passphrase || !p->passphrase[0])
            return og_error_set(err, OG_ERR_ARG, "an encrypted collection needs a passphrase");
        s = og_docs_key_create(key_path, p->passphrase, key_buf, err);
    } else if (encrypted) {
        if (!p->passphrase)
            return og_error_set(err, OG_ERR_KEY, "collection '%s' is encrypted: give its passphrase", d->name);
        s = og_docs_key_unlock(key_path, p->passphrase, key_buf, err);
    } else {
        if (p->create_encrypted)
            return og_error_set(err, OG_ERR_ARG,
                                "collection '%s' exists unencrypted; encryption applies to new collections (index "
                                "into a new one)",
                                d->name);
        return OG_OK;
    }
    if (s == OG_OK)
        *key = key_buf;
    return s;
}

og_status og_docs_open(const og_docs_params *p, og_docs **out, og_error *err)
{
    *out = NULL;
    if (!p || !p->embed_model_path)
        return og_error_set(err, OG_ERR_ARG, "og_docs_open: an embedding model is required");
    const char *name = p->collection ? p->collection : "default";
    if (!valid_name(name))
        return og_error_set(err, OG_ERR_ARG,
                            "invalid collection name '%s' (letters, digits, '.', '_' and '-', at most 63, not "
                            "starting with '.')",
                            name);
    char home[OG_FS_PATH_MAX];
    og_status s = OG_OK;
    if (p->home)
        s = og_fs_path(home, sizeof home, err, "%s", p->home);
    else
        s = og_store_default_home(home, sizeof home, err);
    if (s != OG_OK)
        return s;
    og_docs *d = calloc(1, sizeof *d);
    if (!d)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    snprintf(d->name, sizeof d->name, "%s", name);
    char db_path[OG_FS_PATH_MAX];
    uint8_t key_buf[OG_DOCS_KEY_BYTES];
    const uint8_t *key = NULL;
    s = og_fs_path(d->dir, sizeof d->dir, err, "%s/docs/%s", home, name);
    if (s == OG_OK)
        s = og_fs_path(db_path, sizeof db_path, err, "%s/docs.db", d->dir);
    const bool is_new = s == OG_OK && !exists(db_path);
    if (s == OG_OK && is_new && p->must_exist)
        s = og_error_set(err, OG_ERR_ARG, "no collection named '%s' (docs add creates one)", name);
    if (s == OG_OK && is_new)
        s = og_fs_mkdirs(d->dir, err);
    if (s == OG_OK)
        s = unlock(d, p, is_new, key_buf, &key, err);
    if (s == OG_OK)
        s = og_docs_db_open(d, db_path, key, err);
    sodium_memzero(key_buf, sizeof key_buf);
    if (s == OG_OK)
        s = og_model_load(p->embed_model_path, NULL, &d->model, err);
    og_encoder_params ep = og_encoder_default_params();
    ep.n_threads = p->n_threads;
    if (s == OG_OK)
        s = og_encoder_new(d->model, &ep, &d->enc, err);
    if (s == OG_OK) {
        d->dim = og_encoder_n_embd(d->enc);
        og_model_info info;
        og_model_get_info(d->model, &info);
        const char *base = strrchr(p->embed_model_path, '/');
        char model_id[256];
        snprintf(model_id, sizeof model_id, "%s (%d dimensions)",
                 info.name && info.name[0] ? info.name : base ? base + 1 : p->embed_model_path, d->dim);
        s = og_docs_db_check_model(d, model_id, err);
    }
    if (s != OG_OK) {
        og_docs_free(d);
        return s;
    }
    *out = d;
    return OG_OK;
}

void og_docs_free(og_docs *d)
{
    if (!d)
        return;
    if (d->db)
        sqlite3_close(d->db);
    og_encoder_free(d->enc);
    og_model_free(d->model);
    free(d->vecs);
    free(d->vec_ids);
    free(d);
}

og_status og_docs_remove(og_docs *d, const char *path, int32_t *n_removed, og_error *err)
{
    if (n_removed)
        *n_removed = 0;
    /* The path as added (absolute), or a folder: everything under it. The
     * file itself may be gone, so it is resolved only when it exists. */
    char abs[PATH_MAX];
    if (!realpath(path, abs)) {
        if (path[0] == '/')
            snprintf(abs, sizeof abs, "%s", path);
        else {
            char cwd[PATH_MAX];
            if (!getcwd(cwd, sizeof cwd))
                return og_error_set(err, OG_ERR_IO, "cannot read the current folder: %s", strerror(errno));
            if (snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= (int)sizeof abs)
                return og_error_set(err, OG_ERR_ARG, "path too long: %s", path);
        }
    }
    size_t len = strlen(abs);
    while (len > 1 && abs[len - 1] == '/')
        abs[--len] = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, "SELECT id FROM documents WHERE path = ?1 OR substr(path, 1, ?2) = ?3", -1, &st,
                           NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "finding documents", err);
    char prefix[PATH_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s/", len == 1 ? "" : abs);
    sqlite3_bind_text(st, 1, abs, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (int)strlen(prefix));
    sqlite3_bind_text(st, 3, prefix, -1, SQLITE_TRANSIENT);
    og_status s = og_docs_db_begin(d, err);
    int32_t n = 0;
    while (s == OG_OK && sqlite3_step(st) == SQLITE_ROW) {
        s = og_docs_db_delete_doc(d, sqlite3_column_int64(st, 0), err);
        n++;
    }
    sqlite3_finalize(st);
    if (s == OG_OK && n == 0) {
        og_docs_db_rollback(d);
        return og_error_set(err, OG_ERR_ARG, "%s is not in collection '%s'", abs, d->name);
    }
    if (s == OG_OK)
        s = og_docs_db_commit(d, err);
    else
        og_docs_db_rollback(d);
    if (s == OG_OK && n_removed)
        *n_removed = n;
    return s;
}

og_status og_docs_list(og_docs *d, og_docs_doc **out, int32_t *n_out, og_error *err)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT path, kind, size, sha256, n_pages, n_chunks, indexed_at, error FROM documents "
                           "ORDER BY path",
                           -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "listing documents", err);
    og_docs_doc *list = NULL;
    int32_t n = 0, cap = 0;
    og_status s = OG_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            og_docs_doc *grown = realloc(list, (size_t)cap * sizeof *grown);
            if (!grown) {
                s = og_error_set(err, OG_ERR_NOMEM, "out of memory");
                break;
            }
            list = grown;
        }
        og_docs_doc *doc = &list[n];
        memset(doc, 0, sizeof *doc);
        n++;
        const char *path = (const char *)sqlite3_column_text(st, 0), *error = (const char *)sqlite3_column_text(st, 7);
        doc->path = strdup(path ? path : "");
        doc->error = error ? strdup(error) : NULL;
        snprintf(doc->kind, sizeof doc->kind, "%s", (const char *)sqlite3_column_text(st, 1));
        doc->size = sqlite3_column_int64(st, 2);
        snprintf(doc->sha256, sizeof doc->sha256, "%s", (const char *)sqlite3_column_text(st, 3));
        doc->n_pages = sqlite3_column_int(st, 4);
        doc->n_chunks = sqlite3_column_int(st, 5);
        doc->indexed_at = sqlite3_column_int64(st, 6);
        if (!doc->path || (error && !doc->error)) {
            s = og_error_set(err, OG_ERR_NOMEM, "out of memory");
            break;
        }
    }
    if (s == OG_OK && rc != SQLITE_DONE)
        s = og_db_error(d->db, OG_DOCS_LABEL, "listing documents", err);
    sqlite3_finalize(st);
    if (s != OG_OK) {
        og_docs_docs_free(list, n);
        return s;
    }
    *out = list;
    *n_out = n;
    return OG_OK;
}

void og_docs_docs_free(og_docs_doc *list, int32_t n)
{
    for (int32_t i = 0; list && i < n; i++) {
        free(list[i].path);
        free(list[i].error);
    }
    free(list);
}

og_status og_docs_read_text(og_docs *d, const char *path, char **text, size_t *len, og_error *err)
{
    *text = NULL;
    if (len)
        *len = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT p.text, d.id FROM documents d LEFT JOIN pages p ON p.doc_id = d.id WHERE d.path = ? "
                           "ORDER BY p.idx",
                           -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "reading a document", err);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
    char *out = NULL;
    size_t n = 0;
    int32_t rows = 0, rc;
    og_status s = OG_OK;
    while (s == OG_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *page = (const char *)sqlite3_column_text(st, 0);
        const size_t add = (size_t)sqlite3_column_bytes(st, 0);
        char *grown = realloc(out, n + add + 2);
        if (!grown) {
            s = og_error_set(err, OG_ERR_NOMEM, "out of memory for %zu bytes of text", n + add);
            break;
        }
        out = grown;
        if (rows++ && page)
            out[n++] = '\f';
        if (page)
            memcpy(out + n, page, add), n += add;
        out[n] = 0;
    }
    if (s == OG_OK && rc != SQLITE_DONE)
        s = og_db_error(d->db, OG_DOCS_LABEL, "reading a document", err);
    sqlite3_finalize(st);
    if (s == OG_OK && rows == 0)
        s = og_error_set(err, OG_ERR_ARG, "%s is not in collection '%s'", path, d->name);
    if (s != OG_OK) {
        free(out);
        return s;
    }
    *text = out;
    if (len)
        *len = n;
    return OG_OK;
}
