/*
 * registry.c - the store's SQLite registry of installed model versions:
 * which versions exist, where they came from, and which one of each name
 * is active and which is the rollback target. It owns the database
 * connection, opened and migrated by services/common's sqlite_db (WAL,
 * synchronous=FULL, schema version in PRAGMA user_version). Each change
 * is one transaction, so a crash leaves the old or the new state and
 * never a mix.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sqlite_db.h"
#include "offgrid.h"
#include "store/store.h"

struct og_registry {
    sqlite3 *db;
};

#define LABEL "registry" /* names the database in messages */

static const char *const schema_v1 =
    "CREATE TABLE models ("
    " name TEXT PRIMARY KEY,"
    " active TEXT,"
    " previous TEXT);"
    "CREATE TABLE versions ("
    " name TEXT NOT NULL,"
    " version TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " source TEXT NOT NULL,"
    " arch TEXT NOT NULL,"
    " task TEXT NOT NULL,"
    " installed_at INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (name, version));"
    "CREATE INDEX versions_sha256 ON versions(sha256);";

/* v2: the catalog's RAM estimate, so loading an installed model can run
 * the same fit check as pull (0 = unknown, for versions installed by v1). */
static const char *const schema_v2 = "ALTER TABLE versions ADD COLUMN ram_bytes INTEGER NOT NULL DEFAULT 0;";

static og_status db_error(og_registry *reg, og_error *err, const char *what)
{
    return og_db_error(reg->db, LABEL, what, err);
}

static og_status exec(og_registry *reg, const char *sql, og_error *err)
{
    return og_db_exec(reg->db, LABEL, sql, err);
}

/* Prepares sql and binds the text arguments (NULL-terminated list). */
static og_status prepare(og_registry *reg, sqlite3_stmt **st, og_error *err, const char *sql, ...)
{
    if (sqlite3_prepare_v2(reg->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_error(reg, err, "prepare");
    va_list ap;
    va_start(ap, sql);
    int i = 1;
    for (const char *s; (s = va_arg(ap, const char *)) != NULL; i++)
        sqlite3_bind_text(*st, i, s, -1, SQLITE_TRANSIENT);
    va_end(ap);
    return OG_OK;
}

/* Runs a statement that returns no rows, then finalizes it. */
static og_status step_done(og_registry *reg, sqlite3_stmt *st, og_error *err)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? OG_OK : db_error(reg, err, "write");
}

og_status og_registry_open(const char *path, og_registry **out, og_error *err)
{
    /* migrations[i] takes the schema from version i to i + 1. */
    const char *const migrations[] = { schema_v1, schema_v2 };
    *out = NULL;
    og_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return og_error_set(err, OG_ERR_NOMEM, "registry: out of memory");
    og_status s = og_db_open(path, LABEL, migrations, (int)(sizeof migrations / sizeof migrations[0]), &reg->db, err);
    if (s != OG_OK) {
        free(reg);
        return s;
    }
    *out = reg;
    return OG_OK;
}

void og_registry_close(og_registry *reg)
{
    if (!reg)
        return;
    sqlite3_close(reg->db);
    free(reg);
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

#define SELECT_VERSION                                                                                    \
    "SELECT v.name, v.version, v.sha256, v.size, v.source, v.arch, v.task, v.installed_at, v.last_used," \
    " m.active = v.version, m.previous IS NOT NULL AND m.previous = v.version, v.ram_bytes"             \
    " FROM versions v LEFT JOIN models m ON m.name = v.name"

static void read_row(sqlite3_stmt *st, og_store_version *v)
{
    memset(v, 0, sizeof *v);
    copy_col(v->name, sizeof v->name, st, 0);
    copy_col(v->version, sizeof v->version, st, 1);
    copy_col(v->sha256, sizeof v->sha256, st, 2);
    v->size = (uint64_t)sqlite3_column_int64(st, 3);
    copy_col(v->source, sizeof v->source, st, 4);
    copy_col(v->arch, sizeof v->arch, st, 5);
    copy_col(v->task, sizeof v->task, st, 6);
    v->installed_at = sqlite3_column_int64(st, 7);
    v->last_used = sqlite3_column_int64(st, 8);
    v->active = sqlite3_column_int(st, 9) != 0;
    v->previous = sqlite3_column_int(st, 10) != 0;
    v->ram_bytes = (uint64_t)sqlite3_column_int64(st, 11);
}

og_status og_registry_install(og_registry *reg, const og_store_version *v, og_error *err)
{
    og_status s = exec(reg, "BEGIN IMMEDIATE", err);
    if (s != OG_OK)
        return s;
    sqlite3_stmt *st;
    s = prepare(reg, &st, err,
                "INSERT OR REPLACE INTO versions (name, version, sha256, size, source, arch, task, installed_at,"
                " ram_bytes) VALUES (?1, ?2, ?3, ?7, ?4, ?5, ?6, ?8, ?9)",
                v->name, v->version, v->sha256, v->source, v->arch, v->task, NULL);
    if (s == OG_OK) {
        sqlite3_bind_int64(st, 7, (sqlite3_int64)v->size);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)time(NULL));
        sqlite3_bind_int64(st, 9, (sqlite3_int64)v->ram_bytes);
        s = step_done(reg, st, err);
    }
    /* The old active version becomes previous, unless it is this one. */
    if (s == OG_OK && (s = prepare(reg, &st, err,
                                   "INSERT INTO models (name, active, previous) VALUES (?1, ?2, NULL)"
                                   " ON CONFLICT(name) DO UPDATE SET"
                                   " previous = CASE WHEN active = ?2 THEN previous ELSE active END,"
                                   " active = ?2",
                                   v->name, v->version, NULL)) == OG_OK)
        s = step_done(reg, st, err);
    if (s == OG_OK)
        return exec(reg, "COMMIT", err);
    exec(reg, "ROLLBACK", NULL);
    return s;
}

og_status og_registry_get(og_registry *reg, const char *name, const char *version, og_store_version *out,
                          og_error *err)
{
    sqlite3_stmt *st;
    og_status s = *version ? prepare(reg, &st, err, SELECT_VERSION " WHERE v.name = ?1 AND v.version = ?2", name,
                                     version, NULL)
                           : prepare(reg, &st, err, SELECT_VERSION " WHERE v.name = ?1 AND v.version = m.active",
                                     name, NULL);
    if (s != OG_OK)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_row(st, out);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return OG_OK;
    if (rc != SQLITE_DONE)
        return db_error(reg, err, "read");
    return *version ? og_error_set(err, OG_ERR_ARG, "%s:%s is not installed", name, version)
                    : og_error_set(err, OG_ERR_ARG, "%s is not installed", name);
}

og_status og_registry_list(og_registry *reg, const char *name, og_store_version **out, size_t *n, og_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    og_status s = name ? prepare(reg, &st, err, SELECT_VERSION " WHERE v.name = ?1 ORDER BY v.name, v.installed_at",
                                 name, NULL)
                       : prepare(reg, &st, err, SELECT_VERSION " ORDER BY v.name, v.installed_at", NULL);
    if (s != OG_OK)
        return s;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            og_store_version *bigger = realloc(*out, cap * sizeof **out);
            if (!bigger) {
                s = og_error_set(err, OG_ERR_NOMEM, "registry: out of memory");
                break;
            }
            *out = bigger;
        }
        read_row(st, &(*out)[(*n)++]);
    }
    sqlite3_finalize(st);
    if (s == OG_OK && rc != SQLITE_DONE)
        s = db_error(reg, err, "read");
    if (s != OG_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return s;
}

og_status og_registry_remove(og_registry *reg, const char *name, const char *version, og_error *err)
{
    og_status s = exec(reg, "BEGIN IMMEDIATE", err);
    if (s != OG_OK)
        return s;
    sqlite3_stmt *st;
    if (!*version) {
        if ((s = prepare(reg, &st, err, "DELETE FROM versions WHERE name = ?1", name, NULL)) == OG_OK &&
            (s = step_done(reg, st, err)) == OG_OK &&
            (s = prepare(reg, &st, err, "DELETE FROM models WHERE name = ?1", name, NULL)) == OG_OK)
            s = step_done(reg, st, err);
    } else {
        /* The previous version takes over from a removed active one; with
         * none left the model row goes. */
        if ((s = prepare(reg, &st, err, "DELETE FROM versions WHERE name = ?1 AND version = ?2", name, version,
                         NULL)) == OG_OK &&
            (s = step_done(reg, st, err)) == OG_OK &&
            (s = prepare(reg, &st, err,
                         "UPDATE models SET active = previous, previous = NULL WHERE name = ?1 AND active = ?2",
                         name, version, NULL)) == OG_OK &&
            (s = step_done(reg, st, err)) == OG_OK &&
            (s = prepare(reg, &st, err, "UPDATE models SET previous = NULL WHERE name = ?1 AND previous = ?2",
                         name, version, NULL)) == OG_OK &&
            (s = step_done(reg, st, err)) == OG_OK &&
            (s = prepare(reg, &st, err, "DELETE FROM models WHERE name = ?1 AND active IS NULL", name, NULL)) ==
                OG_OK)
            s = step_done(reg, st, err);
        /* An active version removed with no previous one: the newest left
         * (if any) becomes active rather than leaving the name unusable. */
        if (s == OG_OK &&
            (s = prepare(reg, &st, err,
                         "INSERT OR IGNORE INTO models (name, active, previous)"
                         " SELECT name, version, NULL FROM versions WHERE name = ?1"
                         " ORDER BY installed_at DESC LIMIT 1",
                         name, NULL)) == OG_OK)
            s = step_done(reg, st, err);
    }
    if (s == OG_OK)
        return exec(reg, "COMMIT", err);
    exec(reg, "ROLLBACK", NULL);
    return s;
}

og_status og_registry_rollback(og_registry *reg, const char *name, og_error *err)
{
    og_store_version v;
    og_status s = og_registry_get(reg, name, "", &v, err);
    if (s != OG_OK)
        return s;
    sqlite3_stmt *st;
    if ((s = prepare(reg, &st, err,
                     "UPDATE models SET active = previous, previous = active"
                     " WHERE name = ?1 AND previous IS NOT NULL",
                     name, NULL)) != OG_OK)
        return s;
    if ((s = step_done(reg, st, err)) != OG_OK)
        return s;
    if (sqlite3_changes(reg->db) == 0)
        return og_error_set(err, OG_ERR_ARG, "%s has no previous version to roll back to", name);
    return OG_OK;
}

og_status og_registry_blob_refs(og_registry *reg, const char *sha256, int64_t *n, og_error *err)
{
    sqlite3_stmt *st;
    og_status s = prepare(reg, &st, err, "SELECT count(*) FROM versions WHERE sha256 = ?1", sha256, NULL);
    if (s != OG_OK)
        return s;
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? OG_OK : db_error(reg, err, "read");
}

og_status og_registry_touch(og_registry *reg, const char *name, const char *version, og_error *err)
{
    sqlite3_stmt *st;
    og_status s = prepare(reg, &st, err, "UPDATE versions SET last_used = ?3 WHERE name = ?1 AND version = ?2",
                          name, version, NULL);
    if (s != OG_OK)
        return s;
    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
    return step_done(reg, st, err);
}
