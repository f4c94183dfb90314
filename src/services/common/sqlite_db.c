/*
 * sqlite_db.c - the services' SQLite connections (sqlite_db.h): open with
 * the durability settings every service wants, then migrate. The schema
 * version is PRAGMA user_version, so each migration knows what it starts
 * from; WAL keeps readers from blocking the one writer; synchronous=FULL
 * makes a committed transaction survive a power cut.
 */
#include "common/sqlite_db.h"

#include <stdio.h>

og_status og_db_error(sqlite3 *db, const char *label, const char *what, og_error *err)
{
    return og_error_set(err, OG_ERR_IO, "%s: %s: %s", label, what, sqlite3_errmsg(db));
}

og_status og_db_exec(sqlite3 *db, const char *label, const char *sql, og_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return OG_OK;
    og_error_set(err, OG_ERR_IO, "%s: %s", label, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return OG_ERR_IO;
}

og_status og_db_migrate(sqlite3 *db, const char *label, const char *const *migrations, int n, og_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return og_db_error(db, label, "prepare", err);
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0)
        return og_db_error(db, label, "reading the schema version", err);
    if (version > n)
        return og_error_set(err, OG_ERR_UNSUPPORTED,
                            "%s: schema version %d is newer than this offgrid understands (%d)", label, version, n);
    if (version == n)
        return OG_OK;
    og_status s = og_db_exec(db, label, "BEGIN IMMEDIATE", err);
    if (s != OG_OK)
        return s;
    for (int i = version; s == OG_OK && i < n; i++)
        s = og_db_exec(db, label, migrations[i], err);
    char bump[64];
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d", n);
    if (s == OG_OK)
        s = og_db_exec(db, label, bump, err);
    if (s == OG_OK)
        return og_db_exec(db, label, "COMMIT", err);
    og_db_exec(db, label, "ROLLBACK", NULL); /* the first error is the one to report */
    return s;
}

og_status og_db_open(const char *path, const char *label, const char *const *migrations, int n, sqlite3 **out,
                     og_error *err)
{
    *out = NULL;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        og_error_set(err, OG_ERR_IO, "cannot open the %s %s: %s", label, path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return OG_ERR_IO;
    }
    sqlite3_busy_timeout(db, 5000);
    og_status s = og_db_exec(db, label, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
                             err);
    if (s == OG_OK)
        s = og_db_migrate(db, label, migrations, n, err);
    if (s != OG_OK) {
        og_error_prefix(err, "%s", path);
        sqlite3_close(db);
        return s;
    }
    *out = db;
    return OG_OK;
}
