/*
 * sqlite_db.h - opening a service's SQLite database the one way the
 * services do it (WAL, synchronous=FULL, foreign keys, a busy timeout)
 * and bringing its schema up to date with numbered migrations recorded in
 * PRAGMA user_version. Messages start with the database's label
 * ("registry: ..."), so the user knows which file is meant.
 */
#ifndef OG_COMMON_SQLITE_DB_H
#define OG_COMMON_SQLITE_DB_H

#include <sqlite3.h>

#include "offgrid.h"

/* Opens (creating it when missing) the database at path and applies
 * migrations[v..n) where v is its user_version: migrations[i] is the SQL
 * taking the schema from version i to i + 1, run with the bump of
 * user_version in one transaction, so a crash leaves the old or the new
 * schema. *out gets the connection (sqlite3_close it); NULL on failure.
 * OG_ERR_UNSUPPORTED when the file's version is above n (a newer program
 * wrote it; it is left alone), OG_ERR_IO otherwise; the message is
 * prefixed with path. */
og_status og_db_open(const char *path, const char *label, const char *const *migrations, int n, sqlite3 **out,
                     og_error *err);

/* The migration step of og_db_open, for a connection opened another way
 * (the documents service's encrypted databases): applies migrations[v..n)
 * in one transaction as described there. OG_ERR_UNSUPPORTED for a newer
 * schema, OG_ERR_IO otherwise; the message starts with label. */
og_status og_db_migrate(sqlite3 *db, const char *label, const char *const *migrations, int n, og_error *err);

/* Runs sql (one or more statements, no rows wanted). OG_ERR_IO with
 * SQLite's message after label. */
og_status og_db_exec(sqlite3 *db, const char *label, const char *sql, og_error *err);

/* OG_ERR_IO "label: what: <SQLite's last message>", for a failed call. */
og_status og_db_error(sqlite3 *db, const char *label, const char *what, og_error *err);

#endif
