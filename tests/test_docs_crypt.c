/*
 * test_docs_crypt.c - collections encrypted at rest (docs/crypt.h): the
 * key file (create, unlock, wrong passphrase, damaged file) and the
 * "ogcrypt" VFS. An FTS5 table and a table of float vectors are written in
 * several transactions (WAL frames, a checkpoint, more frames), then every
 * file in the folder is searched for the rare marker words and for each
 * vector's bytes while the WAL is live and after closing: none may be
 * there (the same data in a plain database, where the scanner does find
 * them all, is the control). Then: reading everything back, wrong keys and
 * plain databases refused with every file's bytes unchanged, flipped bytes
 * reported without a crash, and a writer killed with SIGKILL at random
 * moments leaving a database that checks ok with every committed row, and
 * a torn last WAL frame costing only the last transaction.
 * Argon2id runs at INTERACTIVE strength here (OFFGRID_DOCS_KDF=fast).
 */
#define _GNU_SOURCE /* mkdtemp, memmem */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/sqlite_db.h"
#include "docs/crypt.h"
#include "testlib.h"

#define DIM 32
#define PASS "correct horse battery staple"

static const char *const migrations[] = {
    "CREATE VIRTUAL TABLE notes USING fts5(body);"
    "CREATE TABLE vecs(id INTEGER PRIMARY KEY, v BLOB NOT NULL)",
};
static const char *const markers[] = {"zyxwvutqplonk", "qwmbrtxvzkajeh", "plughfrobnitzia"};
#define N_MARKERS 3

/* Row i's vector: distinct first floats, so its first 8 bytes find it. */
static void vector_of(int i, float v[DIM])
{
    for (int j = 0; j < DIM; j++)
        v[j] = j == 0 ? (float)i + 0.25f : sinf((float)i * 0.37f + (float)j * 1.13f) * 3.5f + (float)j;
}

static void body_of(int i, char *out, size_t cap)
{
    snprintf(out, cap,
             "Paragraph %d of the quarterly notes on irrigation pumps, valves and the %s procedure; "
             "inspection %d found wear on seal %d, replaced per manual section %d.",
             i, markers[i % N_MARKERS], i * 7, i % 13, i % 31);
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "  sql %s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    return rc;
}

/* Inserts rows [from, to) in one transaction; SQLITE_OK or the error. */
static int insert_rows(sqlite3 *db, int from, int to)
{
    sqlite3_stmt *a = NULL, *b = NULL;
    int rc = exec(db, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO notes(rowid, body) VALUES (?, ?)", -1, &a, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO vecs(id, v) VALUES (?, ?)", -1, &b, NULL);
    for (int i = from; rc == SQLITE_OK && i < to; i++) {
        char body[512];
        float v[DIM];
        body_of(i, body, sizeof body);
        vector_of(i, v);
        sqlite3_bind_int(a, 1, i + 1);
        sqlite3_bind_text(a, 2, body, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(b, 1, i + 1);
        sqlite3_bind_blob(b, 2, v, sizeof v, SQLITE_TRANSIENT);
        rc = sqlite3_step(a) == SQLITE_DONE && sqlite3_step(b) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
        sqlite3_reset(a);
        sqlite3_reset(b);
    }
    sqlite3_finalize(a);
    sqlite3_finalize(b);
    if (rc == SQLITE_OK)
        return exec(db, "COMMIT");
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int integrity_ok(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    return ok && exec(db, "INSERT INTO notes(notes) VALUES ('integrity-check')") == SQLITE_OK;
}

/* Rows [0, updated_below) with rowid % 50 == 1 got the first marker
 * appended by an UPDATE (test_nothing_in_clear). */
static int updated_below;
#define APPENDED " zyxwvutqplonk"

/* How many of rows [0, n) read back exactly (body and vector). */
static int rows_intact(sqlite3 *db, int n)
{
    sqlite3_stmt *st = NULL;
    int good = 0;
    if (sqlite3_prepare_v2(db, "SELECT notes.rowid, body, v FROM notes JOIN vecs ON vecs.id = notes.rowid"
                           " WHERE notes.rowid <= ? ORDER BY notes.rowid", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, n);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int i = sqlite3_column_int(st, 0) - 1;
        char body[512];
        float v[DIM];
        body_of(i, body, sizeof body);
        if (i < updated_below && (i + 1) % 50 == 1)
            strcat(body, APPENDED);
        vector_of(i, v);
        if (strcmp((const char *)sqlite3_column_text(st, 1), body) == 0 && sqlite3_column_bytes(st, 2) == sizeof v &&
            memcmp(sqlite3_column_blob(st, 2), v, sizeof v) == 0)
            good++;
    }
    sqlite3_finalize(st);
    return good;
}

/* The files of a folder with their bytes, for scans and before/after. */
typedef struct snapshot {
    int n;
    char name[16][64];
    char *data[16];
    size_t size[16];
} snapshot;

static void snap_free(snapshot *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->data[i]);
    s->n = 0;
}

static void snap_take(const char *dir, snapshot *s)
{
    s->n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && s->n < 16) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(s->name[s->n], sizeof s->name[0], "%s", e->d_name);
        s->data[s->n] = og_test_read_file(og_test_path(dir, e->d_name), &s->size[s->n]);
        if (s->data[s->n])
            s->n++;
    }
    if (d)
        closedir(d);
}

/* Whether b holds the same files with the same bytes as a. */
static int snap_same(const snapshot *a, const snapshot *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++) {
        int found = 0;
        for (int j = 0; j < b->n; j++)
            if (strcmp(a->name[i], b->name[j]) == 0)
                found = a->size[i] == b->size[j] && memcmp(a->data[i], b->data[j], a->size[i]) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Counts the marker words found in the folder's files and the vectors of
 * rows [0, n_rows) found whole (each counted once). */
static void scan(const snapshot *s, int n_rows, int *markers_found, int *vectors_found)
{
    *markers_found = 0;
    for (int m = 0; m < N_MARKERS; m++)
        for (int f = 0; f < s->n; f++)
            if (memmem(s->data[f], s->size[f], markers[m], strlen(markers[m]))) {
                ++*markers_found;
                break;
            }
    uint64_t *heads = malloc((size_t)n_rows * sizeof *heads);
    char *seen = calloc((size_t)n_rows, 1);
    for (int i = 0; heads && i < n_rows; i++) {
        float v[DIM];
        vector_of(i, v);
        memcpy(&heads[i], v, 8);
    }
    qsort(heads, (size_t)n_rows, sizeof *heads, cmp_u64);
    *vectors_found = 0;
    for (int f = 0; heads && seen && f < s->n; f++)
        for (size_t at = 0; at + DIM * sizeof(float) <= s->size[f]; at++) {
            uint64_t head;
            memcpy(&head, s->data[f] + at, 8);
            if (!bsearch(&head, heads, (size_t)n_rows, sizeof *heads, cmp_u64))
                continue;
            float probe[DIM];
            memcpy(probe, s->data[f] + at, sizeof probe);
            int i = (int)(probe[0] - 0.25f);
            float v[DIM];
            vector_of(i, v);
            if (i >= 0 && i < n_rows && !seen[i] && memcmp(v, probe, sizeof v) == 0) {
                seen[i] = 1;
                ++*vectors_found;
            }
        }
    free(heads);
    free(seen);
}

static int fill(sqlite3 *db, int *n_rows, int batches, int per)
{
    for (int b = 0; b < batches; b++, *n_rows += per)
        if (insert_rows(db, *n_rows, *n_rows + per) != SQLITE_OK)
            return 0;
    return 1;
}

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static char tmp[] = "/tmp/og_crypt_XXXXXX";
static char enc[512], plain[512], key_path[600], db_path[600];
static uint8_t key[OG_DOCS_KEY_BYTES];
static int n_rows; /* rows written to the encrypted database */

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, n, f) == n;
    return f && fclose(f) == 0 && ok;
}

static void test_keyfile(void)
{
    og_error err = {0};
    uint8_t k2[OG_DOCS_KEY_BYTES];
    CHECK(og_docs_key_create(key_path, PASS, key, &err) == OG_OK, "%s", err.message);
    CHECK(file_size(key_path) == 88, "key file is %lld bytes", (long long)file_size(key_path));
    CHECK(og_docs_key_create(key_path, PASS, k2, &err) == OG_ERR_ARG && strstr(err.message, "already exists"),
          "a second create: %s", err.message);
    char other[700];
    snprintf(other, sizeof other, "%s/other.key", tmp);
    CHECK(og_docs_key_create(other, "", k2, &err) == OG_ERR_ARG && access(other, F_OK) != 0, "empty passphrase");

    CHECK(og_docs_key_unlock(key_path, PASS, k2, &err) == OG_OK && memcmp(k2, key, sizeof key) == 0,
          "unlock: %s", err.message);
    CHECK(og_docs_key_unlock(key_path, PASS "!", k2, &err) == OG_ERR_KEY &&
              strcmp(err.message, "wrong passphrase for mydocs") == 0,
          "wrong passphrase: %s", err.message);
    CHECK(og_docs_key_unlock(other, PASS, k2, &err) == OG_ERR_IO, "missing key file: %s", err.message);

    size_t n;
    char *data = og_test_read_file(key_path, &n);
    CHECK(data && !memmem(data, n, key, sizeof key) && !memmem(data, n, PASS, strlen(PASS)),
          "the key file holds neither the key nor the passphrase");
    if (data) {
        CHECK(write_file(other, data, n - 1) && og_docs_key_unlock(other, PASS, k2, &err) == OG_ERR_FORMAT,
              "a truncated key file: %s", err.message);
        data[31] = 0x7f; /* memlimit of 2^62 bytes: refused before Argon2id tries it */
        CHECK(write_file(other, data, n) && og_docs_key_unlock(other, PASS, k2, &err) == OG_ERR_FORMAT,
              "absurd limits: %s", err.message);
        data[31] = 0;
        data[60] ^= 1; /* the check value */
        CHECK(write_file(other, data, n) && og_docs_key_unlock(other, PASS, k2, &err) == OG_ERR_KEY,
              "a changed check value: %s", err.message);
        unlink(other);
    }
    free(data);
}

/* Writes the rows in several transactions to an encrypted database and
 * the same rows to a plain one, and searches the files of both. */
static void test_nothing_in_clear(void)
{
    og_error err = {0};
    sqlite3 *db = NULL, *pdb = NULL;
    CHECK(og_docs_crypt_open(db_path, key, "docs", migrations, 1, &db, &err) == OG_OK, "%s", err.message);
    CHECK(og_db_open(og_test_path(plain, "docs.db"), "plain", migrations, 1, &pdb, &err) == OG_OK, "%s",
          err.message);
    if (!db || !pdb)
        return;
    int p_rows = 0;
    CHECK(fill(db, &n_rows, 4, 150) && fill(pdb, &p_rows, 4, 150), "first transactions");
    char wal[700];
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    CHECK(file_size(wal) > 100 * 4096, "the WAL holds frames (%lld bytes)", (long long)file_size(wal));
    CHECK(exec(db, "PRAGMA wal_checkpoint(PASSIVE)") == SQLITE_OK, "checkpoint");
    CHECK(file_size(db_path) > 50 * 4096, "the checkpoint filled the database (%lld bytes)",
          (long long)file_size(db_path));
    CHECK(fill(db, &n_rows, 3, 100) && fill(pdb, &p_rows, 3, 100), "more transactions");
    CHECK(exec(db, "UPDATE notes SET body = body || '" APPENDED "' WHERE rowid % 50 = 1") == SQLITE_OK, "update");
    CHECK(exec(pdb, "UPDATE notes SET body = body || '" APPENDED "' WHERE rowid % 50 = 1") == SQLITE_OK, "update");
    updated_below = n_rows;

    int m, v;
    snapshot s;
    snap_take(plain, &s);
    scan(&s, p_rows, &m, &v);
    CHECK(m == N_MARKERS && v == p_rows, "the control: the plain files show %d/%d markers, %d/%d vectors", m,
          N_MARKERS, v, p_rows);
    snap_free(&s);
    snap_take(enc, &s);
    scan(&s, n_rows, &m, &v);
    CHECK(m == 0 && v == 0, "live encrypted files show %d markers, %d vectors", m, v);
    /* nothing but the database, its WAL and -shm, and the key file */
    int known = 0;
    for (int i = 0; i < s.n; i++)
        known += strcmp(s.name[i], "docs.db") == 0 || strcmp(s.name[i], "docs.db-wal") == 0 ||
                 strcmp(s.name[i], "docs.db-shm") == 0 || strcmp(s.name[i], "docs.key") == 0;
    CHECK(s.n == 4 && known == 4, "%d files in the folder, %d known", s.n, known);
    snap_free(&s);

    /* a temp table or a big sort needs no file: temp_store is memory */
    CHECK(exec(db, "CREATE TEMP TABLE t AS SELECT * FROM notes") == SQLITE_OK, "temp table");
    CHECK(query_int(db, "SELECT count(*) FROM (SELECT body FROM t ORDER BY body DESC)") == n_rows, "sort");
    CHECK(sqlite3_close(db) == SQLITE_OK && sqlite3_close(pdb) == SQLITE_OK, "close");

    snap_take(enc, &s);
    scan(&s, n_rows, &m, &v);
    CHECK(m == 0 && v == 0 && s.n == 2, "closed: %d files show %d markers, %d vectors", s.n, m, v);
    snap_free(&s);
}

static void test_read_back(void)
{
    og_error err = {0};
    uint8_t k2[OG_DOCS_KEY_BYTES];
    sqlite3 *db = NULL;
    CHECK(og_docs_key_unlock(key_path, PASS, k2, &err) == OG_OK, "%s", err.message);
    CHECK(og_docs_crypt_open(db_path, k2, "docs", migrations, 1, &db, &err) == OG_OK, "%s", err.message);
    sodium_memzero(k2, sizeof k2);
    if (!db)
        return;
    CHECK(rows_intact(db, n_rows) == n_rows, "%d of %d rows intact", rows_intact(db, n_rows), n_rows);
    int64_t hits = query_int(db, "SELECT count(*) FROM notes WHERE notes MATCH 'zyxwvutqplonk'");
    int want = 0;
    for (int i = 0; i < n_rows; i++)
        want += i % N_MARKERS == 0 || (i + 1) % 50 == 1;
    CHECK(hits == want, "MATCH finds %lld rows, want %d", (long long)hits, want);
    CHECK(integrity_ok(db), "integrity_check");
    CHECK(query_int(db, "PRAGMA page_size") == 4096, "page size");

    /* VACUUM rebuilds in memory (temp_store) and writes back through the VFS */
    CHECK(exec(db, "CREATE TABLE junk AS SELECT * FROM vecs; DROP TABLE junk; VACUUM") == SQLITE_OK && integrity_ok(db), "vacuum");
    CHECK(exec(db, "ROLLBACK") != SQLITE_OK, "vacuum left a transaction open");
    /* files that would hold plaintext are refused, not written */
    CHECK(exec(db, "PRAGMA temp_store=FILE") == SQLITE_OK, "temp_store");
    /* a one-page cache makes the temp database spill to its file at once */
    CHECK(exec(db, "CREATE TEMP TABLE spill(body); PRAGMA temp.cache_size=1;"
                   " INSERT INTO spill SELECT body FROM notes") != SQLITE_OK,
          "a temp file was allowed");
    exec(db, "DROP TABLE IF EXISTS temp.spill");
    CHECK(exec(db, "PRAGMA temp_store=MEMORY") == SQLITE_OK, "temp_store");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=DELETE", -1, &st, NULL);
    rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
    CHECK(rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "delete") != 0,
          "left WAL for a rollback journal");
    sqlite3_finalize(st);
    char journal[700];
    snprintf(journal, sizeof journal, "%s-journal", db_path);
    CHECK(access(journal, F_OK) != 0, "a rollback journal was written");
    sqlite3_close(db);
    db = NULL;
    CHECK(og_docs_crypt_open(db_path, key, "docs", migrations, 1, &db, &err) == OG_OK && integrity_ok(db) &&
              rows_intact(db, n_rows) == n_rows,
          "after the refusals: %s", err.message);
    sqlite3_close(db);
}

static void test_wrong_keys(void)
{
    og_error err = {0};
    sqlite3 *db = NULL;
    snapshot before, after;
    snap_take(enc, &before);
    uint8_t k2[OG_DOCS_KEY_BYTES];
    CHECK(og_docs_key_unlock(key_path, "Correct horse battery staple", k2, &err) == OG_ERR_KEY, "%s", err.message);
    memcpy(k2, key, sizeof k2);
    k2[5] ^= 0x20;
    CHECK(og_docs_crypt_open(db_path, k2, "docs", migrations, 1, &db, &err) == OG_ERR_KEY && !db &&
              strstr(err.message, "wrong key"),
          "another key: %s", err.message);
    snap_take(enc, &after);
    CHECK(snap_same(&before, &after), "the files changed after wrong keys");
    snap_free(&before);
    snap_free(&after);

    /* the plain database written beside it */
    snap_take(plain, &before);
    CHECK(og_docs_crypt_open(og_test_path(plain, "docs.db"), key, "docs", migrations, 1, &db, &err) == OG_ERR_KEY,
          "a plain database: %s", err.message);
    snap_take(plain, &after);
    CHECK(snap_same(&before, &after), "the plain files changed");
    snap_free(&before);
    snap_free(&after);
}

/* Copies the encrypted database to a new file with one byte flipped. */
static void flipped_copy(const char *to, long at)
{
    size_t n;
    char *data = og_test_read_file(db_path, &n);
    CHECK(data && (size_t)at < n, "copy");
    if (data && (size_t)at < n) {
        data[at] ^= 0x04;
        CHECK(write_file(to, data, n), "write %s", to);
    }
    free(data);
}

static void test_damage(void)
{
    og_error err = {0};
    sqlite3 *db = NULL;
    char path[700];
    snprintf(path, sizeof path, "%s/damaged.db", tmp);
    /* the root page of vecs, which every query of it reads */
    CHECK(og_docs_crypt_open(db_path, key, "docs", migrations, 1, &db, &err) == OG_OK, "%s", err.message);
    long root = db ? (long)query_int(db, "SELECT rootpage FROM sqlite_schema WHERE name = 'vecs'") : -1;
    sqlite3_close(db);
    db = NULL;
    CHECK(root > 2, "vecs' root page is %ld", root);
    if (root <= 2)
        return;
    /* a page in the middle: the open works, reading it fails cleanly */
    flipped_copy(path, (root - 1) * 4096 + 2000);
    CHECK(og_docs_crypt_open(path, key, "docs", migrations, 1, &db, &err) == OG_OK, "%s", err.message);
    if (db) {
        int rc = exec(db, "SELECT count(*), sum(length(v)) FROM vecs");
        CHECK(rc != SQLITE_OK && sqlite3_extended_errcode(db) == SQLITE_IOERR_DATA, "root of vecs damaged: rc %d, ext %d",
              rc, sqlite3_extended_errcode(db));
        CHECK(!integrity_ok(db), "integrity_check passes a damaged page");
        sqlite3_close(db);
        db = NULL;
    }
    /* page 1: told apart from a wrong key by page 2 */
    flipped_copy(path, 700);
    CHECK(og_docs_crypt_open(path, key, "docs", migrations, 1, &db, &err) == OG_ERR_FORMAT && !db &&
              strstr(err.message, "page 1 of the database"),
          "page 1 damaged: %s", err.message);
    /* a nonce byte: also damage */
    flipped_copy(path, (root - 1) * 4096 + 4060);
    CHECK(og_docs_crypt_open(path, key, "docs", migrations, 1, &db, &err) == OG_OK, "%s", err.message);
    if (db) {
        int rc = exec(db, "SELECT count(*), sum(length(v)) FROM vecs");
        CHECK(rc != SQLITE_OK && sqlite3_extended_errcode(db) == SQLITE_IOERR_DATA, "a changed nonce: rc %d", rc);
        CHECK(!integrity_ok(db), "integrity_check passes a page with a changed nonce");
        sqlite3_close(db);
    }
    unlink(path);
}

/* A writer committing batches of 10 rows, reporting each commit on fd. */
static void child_writer(int fd, int start)
{
    og_error err = {0};
    sqlite3 *db = NULL;
    if (og_docs_crypt_open(db_path, key, "docs", migrations, 1, &db, &err) != OG_OK)
        _exit(3);
    for (int i = start;; i += 10) {
        if (insert_rows(db, i, i + 10) != SQLITE_OK)
            _exit(4);
        int done = i + 10;
        if (write(fd, &done, sizeof done) != sizeof done)
            _exit(5);
    }
}

static void test_kill9(void)
{
    unsigned seed = (unsigned)time(NULL);
    fprintf(stderr, "  kill -9 rounds, seed %u\n", seed);
    for (int round = 0; round < 6; round++) {
        int fds[2];
        if (pipe(fds) != 0)
            return;
        int start = n_rows;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            child_writer(fds[1], start);
        }
        close(fds[1]);
        int done = start, v;
        int wait_for = 1 + (int)(rand_r(&seed) % 12);
        for (int k = 0; k < wait_for && read(fds[0], &v, sizeof v) == sizeof v; k++)
            done = v;
        usleep(rand_r(&seed) % 30000); /* somewhere inside a later transaction or checkpoint */
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        while (read(fds[0], &v, sizeof v) == sizeof v)
            done = v;
        close(fds[0]);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "round %d: the writer ended with status %d", round,
              status);

        og_error err = {0};
        sqlite3 *db = NULL;
        CHECK(og_docs_crypt_open(db_path, key, "docs", migrations, 1, &db, &err) == OG_OK, "round %d: %s", round,
              err.message);
        if (!db)
            return;
        int count = (int)query_int(db, "SELECT count(*) FROM vecs");
        /* the commit in flight may have landed before its report */
        CHECK(count == done || count == done + 10, "round %d: %d rows, %d reported committed", round, count, done);
        CHECK(rows_intact(db, count) == count, "round %d: rows damaged", round);
        CHECK(integrity_ok(db), "round %d: integrity_check", round);
        n_rows = count;
        sqlite3_close(db);
    }
}

/* A writer that empties the WAL, commits 5 batches of 10 rows and dies
 * without closing, leaving the frames for recovery. */
static void child_then_die(int start)
{
    og_error err = {0};
    sqlite3 *db = NULL;
    if (og_docs_crypt_open(db_path, key, "docs", migrations, 1, &db, &err) != OG_OK ||
        exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") != SQLITE_OK)
        _exit(3);
    for (int i = start; i < start + 50; i += 10)
        if (insert_rows(db, i, i + 10) != SQLITE_OK)
            _exit(4);
    kill(getpid(), SIGKILL);
    _exit(5);
}

/* Recovery after a crash: a wrong key leaves the WAL and -shm alone, and
 * a torn last frame (its payload half zeros, as after a power cut) costs
 * the last transaction only. */
static void test_torn_frame(void)
{
    int start = n_rows, status = 0;
    pid_t pid = fork();
    if (pid == 0)
        child_then_die(start);
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status), "the writer ended with status %d", status);
    char wal[700];
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    off_t size = file_size(wal);
    CHECK(size > 32 && (size - 32) % (24 + 4096) == 0, "WAL of %lld bytes", (long long)size);

    og_error err = {0};
    sqlite3 *db = NULL;
    snapshot before, after;
    snap_take(enc, &before);
    uint8_t k2[OG_DOCS_KEY_BYTES];
    memcpy(k2, key, sizeof k2);
    k2[0] ^= 1;
    CHECK(og_docs_crypt_open(db_path, k2, "docs", migrations, 1, &db, &err) == OG_ERR_KEY, "%s", err.message);
    snap_take(enc, &after);
    CHECK(before.n == 4 && snap_same(&before, &after), "a wrong key changed the files of a crashed database");
    snap_free(&before);
    snap_free(&after);

    static const uint8_t zeros[2048];
    int fd = open(wal, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, zeros, sizeof zeros, size - (off_t)sizeof zeros) == (ssize_t)sizeof zeros,
          "tearing the last frame");
    if (fd >= 0)
        close(fd);
    CHECK(og_docs_crypt_open(db_path, key, "docs", migrations, 1, &db, &err) == OG_OK, "%s", err.message);
    if (!db)
        return;
    int count = (int)query_int(db, "SELECT count(*) FROM vecs");
    CHECK(count == start + 40, "%d rows after the torn commit, want %d", count, start + 40);
    CHECK(rows_intact(db, count) == count && integrity_ok(db), "rows or integrity after recovery");
    n_rows = count;
    sqlite3_close(db);
}

/* An empty file where the database goes (a crash between creating and
 * writing it) becomes a new encrypted database; one with a WAL beside it
 * is refused. */
static void test_empty_file(void)
{
    char path[700], wal[720];
    snprintf(path, sizeof path, "%s/empty.db", tmp);
    snprintf(wal, sizeof wal, "%s-wal", path);
    og_error err = {0};
    sqlite3 *db = NULL;
    CHECK(write_file(path, "", 0), "empty file");
    CHECK(og_docs_crypt_open(path, key, "docs", migrations, 1, &db, &err) == OG_OK, "%s", err.message);
    if (db) {
        CHECK(insert_rows(db, 0, 5) == SQLITE_OK, "insert");
        sqlite3_close(db);
        db = NULL;
    }
    CHECK(og_docs_crypt_open(path, key, "docs", migrations, 1, &db, &err) == OG_OK &&
              query_int(db, "SELECT count(*) FROM notes WHERE notes MATCH 'zyxwvutqplonk'") == 2,
          "reopened: %s", err.message);
    sqlite3_close(db);
    db = NULL;
    CHECK(write_file(path, "", 0) && write_file(wal, "x", 1), "empty file and a WAL");
    CHECK(og_docs_crypt_open(path, key, "docs", migrations, 1, &db, &err) == OG_ERR_FORMAT && !db,
          "an empty database with a WAL: %s", err.message);
    unlink(path);
    unlink(wal);
}

int main(void)
{
    setenv("OFFGRID_DOCS_KDF", "fast", 1);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(enc, sizeof enc, "%s/mydocs", tmp);
    snprintf(plain, sizeof plain, "%s/plain", tmp);
    snprintf(key_path, sizeof key_path, "%s/docs.key", enc);
    snprintf(db_path, sizeof db_path, "%s/docs.db", enc);
    if (mkdir(enc, 0700) != 0 || mkdir(plain, 0700) != 0) {
        perror("mkdir");
        return 1;
    }
    test_keyfile();
    test_nothing_in_clear();
    test_read_back();
    test_wrong_keys();
    test_damage();
    test_empty_file();
    test_kill9();
    test_torn_frame();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (og_test_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return og_test_finish("test_docs_crypt");
}
