/*
 * docs_db.c - a collection's SQLite database: its schema and migrations,
 * opening it plain or encrypted (crypt.h), the record of the embedding
 * model its vectors came from, deleting a document, and loading every
 * chunk's vector for dense search.
 *
 * Chunks are indexed by an external-content FTS5 table kept by triggers,
 * so deleting a document's chunks removes their index entries in the same
 * transaction; vectors are stored as little-endian float32 blobs next to
 * their text.
 */
#include "docs/collection.h"

#include <stdlib.h>
#include <string.h>

#include "common/sqlite_db.h"
#include "docs/crypt.h"

static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE documents("
    "  id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, kind TEXT NOT NULL DEFAULT '',"
    "  size INTEGER NOT NULL DEFAULT 0, mtime_ns INTEGER NOT NULL DEFAULT 0, sha256 TEXT NOT NULL DEFAULT '',"
    "  n_pages INTEGER NOT NULL DEFAULT 0, n_chunks INTEGER NOT NULL DEFAULT 0,"
    "  indexed_at INTEGER NOT NULL DEFAULT 0, error TEXT);"
    "CREATE TABLE pages("
    "  doc_id INTEGER NOT NULL REFERENCES documents(id), idx INTEGER NOT NULL, number INTEGER NOT NULL,"
    "  text TEXT NOT NULL, ocr INTEGER NOT NULL DEFAULT 0, ocr_confidence REAL,"
    "  PRIMARY KEY(doc_id, idx)) WITHOUT ROWID;"
    "CREATE TABLE chunks("
    "  id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL REFERENCES documents(id), page_idx INTEGER NOT NULL,"
    "  start INTEGER NOT NULL, end INTEGER NOT NULL, heading TEXT, body TEXT NOT NULL, vec BLOB NOT NULL);"
    "CREATE INDEX chunks_doc ON chunks(doc_id);"
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(heading, body, content='chunks', content_rowid='id',"
    "  tokenize='porter unicode61 remove_diacritics 2');"
    "CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN"
    "  INSERT INTO chunks_fts(rowid, heading, body) VALUES (new.id, new.heading, new.body); END;"
    "CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN"
    "  INSERT INTO chunks_fts(chunks_fts, rowid, heading, body) VALUES ('delete', old.id, old.heading, old.body);"
    "  END;";

og_status og_docs_db_open(og_docs *d, const char *path, const uint8_t *key, og_error *err)
{
    const char *const migrations[] = { schema_v1 };
    const int n = (int)(sizeof migrations / sizeof migrations[0]);
    if (key)
        return og_docs_crypt_open(path, key, OG_DOCS_LABEL, migrations, n, &d->db, err);
    og_status s = og_db_open(path, OG_DOCS_LABEL, migrations, n, &d->db, err);
    /* Sorts and temporary indexes stay in memory, as in encrypted ones. */
    if (s == OG_OK)
        s = og_db_exec(d->db, OG_DOCS_LABEL, "PRAGMA temp_store=MEMORY", err);
    return s;
}

og_status og_docs_db_check_model(og_docs *d, const char *model_id, og_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, "SELECT value FROM meta WHERE key = 'embed_model'", -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "reading the embedding model", err);
    og_status s = OG_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *have = (const char *)sqlite3_column_text(st, 0);
        if (strcmp(have ? have : "", model_id))
            s = og_error_set(err, OG_ERR_UNSUPPORTED,
                             "collection '%s' was indexed with the embedding model %s, not %s: pass that model, or "
                             "index into another collection",
                             d->name, have ? have : "?", model_id);
        sqlite3_finalize(st);
        return s;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return og_db_error(d->db, OG_DOCS_LABEL, "reading the embedding model", err);
    if (sqlite3_prepare_v2(d->db, "INSERT INTO meta(key, value) VALUES ('embed_model', ?)", -1, &st, NULL) !=
        SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "recording the embedding model", err);
    sqlite3_bind_text(st, 1, model_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        s = og_db_error(d->db, OG_DOCS_LABEL, "recording the embedding model", err);
    sqlite3_finalize(st);
    return s;
}

/* Runs sql with doc_id bound to its one parameter. */
static og_status exec_id(og_docs *d, const char *sql, int64_t doc_id, og_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "deleting a document", err);
    sqlite3_bind_int64(st, 1, doc_id);
    og_status s = sqlite3_step(st) == SQLITE_DONE ? OG_OK : og_db_error(d->db, OG_DOCS_LABEL, "deleting a document", err);
    sqlite3_finalize(st);
    return s;
}

og_status og_docs_db_delete_doc(og_docs *d, int64_t doc_id, og_error *err)
{
    /* Chunks first (their trigger removes the FTS entries), then pages. */
    og_status s = exec_id(d, "DELETE FROM chunks WHERE doc_id = ?", doc_id, err);
    if (s == OG_OK)
        s = exec_id(d, "DELETE FROM pages WHERE doc_id = ?", doc_id, err);
    if (s == OG_OK)
        s = exec_id(d, "DELETE FROM documents WHERE id = ?", doc_id, err);
    d->vecs_fresh = false;
    return s;
}

og_status og_docs_db_begin(og_docs *d, og_error *err)
{
    return og_db_exec(d->db, OG_DOCS_LABEL, "BEGIN IMMEDIATE", err);
}

og_status og_docs_db_commit(og_docs *d, og_error *err)
{
    og_status s = og_db_exec(d->db, OG_DOCS_LABEL, "COMMIT", err);
    if (s != OG_OK)
        og_docs_db_rollback(d);
    return s;
}

void og_docs_db_rollback(og_docs *d)
{
    if (!sqlite3_get_autocommit(d->db))
        sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The database's data_version (see collection.h); -1 when unreadable. */
static int64_t data_version(og_docs *d)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(d->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

og_status og_docs_dense_load(og_docs *d, og_error *err)
{
    const int64_t version = data_version(d);
    if (d->vecs_fresh && version >= 0 && version == d->vecs_version)
        return OG_OK;
    d->vecs_version = version;
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    if (sqlite3_prepare_v2(d->db, "SELECT count(*) FROM chunks", -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "counting chunks", err);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    free(d->vecs);
    free(d->vec_ids);
    d->vecs = NULL;
    d->vec_ids = NULL;
    d->n_vecs = 0;
    const size_t row_bytes = (size_t)d->dim * sizeof(float);
    if (n > 0) {
        d->vecs = malloc((size_t)n * row_bytes);
        d->vec_ids = malloc((size_t)n * sizeof *d->vec_ids);
        if (!d->vecs || !d->vec_ids)
            return og_error_set(err, OG_ERR_NOMEM, "out of memory for %lld vectors", (long long)n);
    }
    if (sqlite3_prepare_v2(d->db, "SELECT id, vec FROM chunks ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "reading vectors", err);
    og_status s = OG_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && d->n_vecs < n) {
        if ((size_t)sqlite3_column_bytes(st, 1) != row_bytes) {
            s = og_error_set(err, OG_ERR_FORMAT, "%s: chunk %lld has a vector of %d bytes, not %zu", OG_DOCS_LABEL,
                             (long long)sqlite3_column_int64(st, 0), sqlite3_column_bytes(st, 1), row_bytes);
            break;
        }
        d->vec_ids[d->n_vecs] = sqlite3_column_int64(st, 0);
        memcpy(d->vecs + (size_t)d->n_vecs * (size_t)d->dim, sqlite3_column_blob(st, 1), row_bytes);
        d->n_vecs++;
    }
    if (s == OG_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        s = og_db_error(d->db, OG_DOCS_LABEL, "reading vectors", err);
    sqlite3_finalize(st);
    d->vecs_fresh = s == OG_OK;
    return s;
}
