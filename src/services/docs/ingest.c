/*
 * ingest.c - og_docs_add: finds the files under the given paths, skips
 * those already indexed unchanged (same size and time, or same content
 * hash), and for each other one extracts its text, cuts it into chunks,
 * embeds them in batches and replaces the document in one transaction.
 * A kill at any moment loses at most the file in flight, which the same
 * call redoes; one file in memory at a time bounds the memory whatever
 * the corpus. A file that fails is recorded with its error (and tried
 * again next time) and reported; the others go on.
 */
#include "docs/collection.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/sha256_file.h"
#include "common/sqlite_db.h"
#include "docs/chunk.h"
#include "docs/extract.h"

#define EMBED_BATCH 32

typedef struct ingest {
    og_docs *d;
    og_docs_progress prog;
    og_docs_progress_fn progress;
    og_docs_file_error_fn on_error;
    void *user;
    struct timespec t0;
    double last_report;
    char **files; /* absolute paths, owned */
    int64_t n_files, cap_files;
    og_docs_limits lim;
    og_docs_chunk_params chunking;
} ingest;

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void report(ingest *in, const char *path, bool always)
{
    in->prog.seconds = seconds_since(&in->t0);
    if (!in->progress || (!always && in->prog.seconds - in->last_report < 1.0))
        return;
    in->last_report = in->prog.seconds;
    in->prog.path = path;
    in->progress(in->user, &in->prog);
}

static void file_failed(ingest *in, const char *path, const og_error *why)
{
    in->prog.files_failed++;
    if (in->on_error)
        in->on_error(in->user, path, why);
}

static og_status add_file(ingest *in, const char *path, og_error *err)
{
    if (in->n_files == in->cap_files) {
        int64_t cap = in->cap_files ? in->cap_files * 2 : 64;
        char **grown = realloc(in->files, (size_t)cap * sizeof *grown);
        if (!grown)
            return og_error_set(err, OG_ERR_NOMEM, "out of memory for %lld file names", (long long)cap);
        in->files = grown;
        in->cap_files = cap;
    }
    if (!(in->files[in->n_files] = strdup(path)))
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    in->n_files++;
    return OG_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path's regular files (a folder's recursively, in name order,
 * skipping hidden entries and symbolic links to folders, which could loop). */
static og_status walk(ingest *in, const char *path, int depth, og_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        og_error why;
        og_error_set(&why, OG_ERR_IO, "%s: %s", path, strerror(errno));
        file_failed(in, path, &why);
        return OG_OK;
    }
    if (S_ISREG(st.st_mode))
        return add_file(in, path, err);
    if (!S_ISDIR(st.st_mode) || depth > 64 || !strcmp(path, in->d->dir))
        return OG_OK;
    DIR *dir = opendir(path);
    if (!dir) {
        og_error why;
        og_error_set(&why, OG_ERR_IO, "%s: %s", path, strerror(errno));
        file_failed(in, path, &why);
        return OG_OK;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    og_status s = OG_OK;
    struct dirent *e;
    while (s == OG_OK && (e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) {
                s = og_error_set(err, OG_ERR_NOMEM, "out of memory listing %s", path);
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name)))
            s = og_error_set(err, OG_ERR_NOMEM, "out of memory listing %s", path);
        else
            n++;
    }
    closedir(dir);
    if (names)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char child[PATH_MAX];
        struct stat lst;
        if (s == OG_OK && snprintf(child, sizeof child, "%s/%s", strcmp(path, "/") ? path : "", names[i]) <
                              (int)sizeof child) {
            if (lstat(child, &lst) == 0 && S_ISLNK(lst.st_mode) && stat(child, &st) == 0 && S_ISDIR(st.st_mode))
                ; /* a link to a folder */
            else
                s = walk(in, child, depth + 1, err);
        }
        free(names[i]);
    }
    free(names);
    return s;
}

/* What the collection knows of path: its id (0: none) and whether it is
 * indexed, unchanged by size and time or by content. */
typedef struct known {
    int64_t id, size, mtime_ns;
    char sha256[OG_SHA256_HEX];
    bool failed;
} known;

static og_status lookup(og_docs *d, const char *path, known *k, og_error *err)
{
    memset(k, 0, sizeof *k);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, "SELECT id, size, mtime_ns, sha256, error IS NOT NULL FROM documents WHERE path = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "reading a document", err);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        k->id = sqlite3_column_int64(st, 0);
        k->size = sqlite3_column_int64(st, 1);
        k->mtime_ns = sqlite3_column_int64(st, 2);
        snprintf(k->sha256, sizeof k->sha256, "%s", (const char *)sqlite3_column_text(st, 3));
        k->failed = sqlite3_column_int(st, 4) != 0;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? OG_OK : og_db_error(d->db, OG_DOCS_LABEL, "reading a document", err);
}

/* The file's identity as stored with it. */
typedef struct file_id {
    const char *path;
    int64_t size, mtime_ns;
    char sha256[OG_SHA256_HEX];
} file_id;

/* Inserts the document row (error NULL: indexed) and returns its id. */
static og_status insert_doc(og_docs *d, const file_id *f, const char *kind, int32_t n_pages, int32_t n_chunks,
                            const char *error, int64_t *id, og_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db,
                           "INSERT INTO documents(path, kind, size, mtime_ns, sha256, n_pages, n_chunks, indexed_at, "
                           "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "adding a document", err);
    sqlite3_bind_text(st, 1, f->path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, f->size);
    sqlite3_bind_int64(st, 4, f->mtime_ns);
    sqlite3_bind_text(st, 5, f->sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 6, n_pages);
    sqlite3_bind_int(st, 7, n_chunks);
    sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
    if (error)
        sqlite3_bind_text(st, 9, error, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 9);
    og_status s = sqlite3_step(st) == SQLITE_DONE ? OG_OK : og_db_error(d->db, OG_DOCS_LABEL, "adding a document", err);
    sqlite3_finalize(st);
    *id = sqlite3_last_insert_rowid(d->db);
    return s;
}

static og_status insert_pages(og_docs *d, int64_t doc_id, const og_docs_text *t, og_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, "INSERT INTO pages(doc_id, idx, number, text, ocr, ocr_confidence) VALUES (?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "adding pages", err);
    og_status s = OG_OK;
    for (int32_t i = 0; i < t->n_pages && s == OG_OK; i++) {
        const og_docs_page *p = &t->pages[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, doc_id);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_int(st, 3, p->number);
        sqlite3_bind_text(st, 4, p->text ? p->text : "", (int)p->n_bytes, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, p->ocr);
        if (p->ocr)
            sqlite3_bind_double(st, 6, p->ocr_confidence);
        else
            sqlite3_bind_null(st, 6);
        if (sqlite3_step(st) != SQLITE_DONE)
            s = og_db_error(d->db, OG_DOCS_LABEL, "adding pages", err);
    }
    sqlite3_finalize(st);
    return s;
}

/* The text a chunk is embedded as: its headings, then its body. */
static og_status embed_text(const og_docs_text *t, const og_docs_chunk *c, og_docs_buf *b, og_error *err)
{
    b->len = 0;
    og_status s = OG_OK;
    if (c->heading) {
        s = og_docs_buf_add(b, c->heading, strlen(c->heading), err);
        if (s == OG_OK)
            s = og_docs_buf_add(b, "\n", 1, err);
    }
    if (s == OG_OK)
        s = og_docs_buf_add(b, t->pages[c->page_index].text + c->byte_start, c->byte_end - c->byte_start, err);
    return s;
}

/* Embeds chunks[0..n) into vecs (n x dim), EMBED_BATCH at a time. */
static og_status embed_chunks(ingest *in, const og_docs_text *t, const og_docs_chunk *chunks, int32_t n, float *vecs,
                              og_error *err)
{
    og_docs_buf bufs[EMBED_BATCH];
    memset(bufs, 0, sizeof bufs);
    og_status s = OG_OK;
    for (int32_t i0 = 0; i0 < n && s == OG_OK; i0 += EMBED_BATCH) {
        const int32_t nb = n - i0 < EMBED_BATCH ? n - i0 : EMBED_BATCH;
        const char *texts[EMBED_BATCH];
        size_t lens[EMBED_BATCH];
        for (int32_t j = 0; j < nb && s == OG_OK; j++) {
            s = embed_text(t, &chunks[i0 + j], &bufs[j], err);
            texts[j] = bufs[j].data;
            lens[j] = bufs[j].len;
        }
        if (s == OG_OK)
            s = og_embed(in->d->enc, texts, lens, nb, vecs + (size_t)i0 * (size_t)in->d->dim, err);
        report(in, NULL, false);
    }
    for (int j = 0; j < EMBED_BATCH; j++)
        free(bufs[j].data);
    return s;
}

static og_status insert_chunks(og_docs *d, int64_t doc_id, const og_docs_text *t, const og_docs_chunk *chunks,
                               int32_t n, const float *vecs, og_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db,
                           "INSERT INTO chunks(doc_id, page_idx, start, end, heading, body, vec) VALUES (?, ?, ?, ?, "
                           "?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "adding chunks", err);
    og_status s = OG_OK;
    const size_t row_bytes = (size_t)d->dim * sizeof(float);
    for (int32_t i = 0; i < n && s == OG_OK; i++) {
        const og_docs_chunk *c = &chunks[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, doc_id);
        sqlite3_bind_int(st, 2, c->page_index);
        sqlite3_bind_int64(st, 3, c->start);
        sqlite3_bind_int64(st, 4, c->end);
        if (c->heading)
            sqlite3_bind_text(st, 5, c->heading, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 5);
        sqlite3_bind_text(st, 6, t->pages[c->page_index].text + c->byte_start, (int)(c->byte_end - c->byte_start),
                          SQLITE_STATIC);
        sqlite3_bind_blob(st, 7, vecs + (size_t)i * (size_t)d->dim, (int)row_bytes, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            s = og_db_error(d->db, OG_DOCS_LABEL, "adding chunks", err);
    }
    sqlite3_finalize(st);
    return s;
}

/* Replaces the document old_id (0: none) by f's text, chunks and
 * vectors, or by a record of its failure (why), in one transaction. */
static og_status store(ingest *in, int64_t old_id, const file_id *f, const og_docs_text *t,
                       const og_docs_chunk *chunks, int32_t n_chunks, const float *vecs, const char *why,
                       og_error *err)
{
    og_docs *d = in->d;
    og_status s = og_docs_db_begin(d, err);
    int64_t id = 0;
    if (s == OG_OK && old_id)
        s = og_docs_db_delete_doc(d, old_id, err);
    if (s == OG_OK)
        s = insert_doc(d, f, t ? t->kind : "", t ? t->n_pages : 0, n_chunks, why, &id, err);
    if (s == OG_OK && t)
        s = insert_pages(d, id, t, err);
    if (s == OG_OK && t)
        s = insert_chunks(d, id, t, chunks, n_chunks, vecs, err);
    if (s == OG_OK)
        s = og_docs_db_commit(d, err);
    else
        og_docs_db_rollback(d);
    d->vecs_fresh = false;
    return s;
}

static og_status touch(og_docs *d, int64_t id, const file_id *f, og_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, "UPDATE documents SET size = ?, mtime_ns = ? WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "updating a document", err);
    sqlite3_bind_int64(st, 1, f->size);
    sqlite3_bind_int64(st, 2, f->mtime_ns);
    sqlite3_bind_int64(st, 3, id);
    og_status s = sqlite3_step(st) == SQLITE_DONE ? OG_OK : og_db_error(d->db, OG_DOCS_LABEL, "updating a document", err);
    sqlite3_finalize(st);
    return s;
}

/* Indexes one file. Returns a failure of the collection itself; the
 * file's own problems are recorded and reported, and OG_OK returned. */
static og_status index_file(ingest *in, const char *path, og_error *err)
{
    og_docs *d = in->d;
    file_id f = { path, 0, 0, "" };
    struct stat st;
    og_error why = { 0 };
    known k;
    og_status s = lookup(d, path, &k, err);
    if (s != OG_OK)
        return s;
    if (stat(path, &st) != 0) {
        og_error_set(&why, OG_ERR_IO, "%s: %s", path, strerror(errno));
        file_failed(in, path, &why);
        return OG_OK;
    }
    f.size = (int64_t)st.st_size;
    f.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (k.id && !k.failed && k.size == f.size && k.mtime_ns == f.mtime_ns) {
        in->prog.files_skipped++;
        return OG_OK;
    }
    uint64_t hashed = 0;
    og_status fs = og_sha256_file(path, f.sha256, &hashed, NULL, NULL, &why);
    if (fs == OG_OK && k.id && !k.failed && !strcmp(k.sha256, f.sha256)) {
        in->prog.files_skipped++;
        return touch(d, k.id, &f, err); /* same content, another time */
    }
    og_docs_text t = { 0 };
    og_docs_chunk *chunks = NULL;
    int32_t n_chunks = 0;
    float *vecs = NULL;
    if (fs == OG_OK)
        fs = og_docs_extract(path, &in->lim, &t, &why);
    if (fs == OG_OK)
        fs = og_docs_chunk_text(&t, d->model, &in->chunking, &chunks, &n_chunks, &why);
    if (fs == OG_OK && n_chunks > 0 &&
        !(vecs = malloc((size_t)n_chunks * (size_t)d->dim * sizeof *vecs)))
        fs = og_error_set(&why, OG_ERR_NOMEM, "%s: out of memory for %d vectors", path, n_chunks);
    if (fs == OG_OK)
        fs = embed_chunks(in, &t, chunks, n_chunks, vecs, &why);
    if (fs == OG_OK) {
        s = store(in, k.id, &f, &t, chunks, n_chunks, vecs, NULL, err);
        if (s == OG_OK) {
            in->prog.pages += t.n_pages;
            in->prog.chunks += n_chunks;
        }
    } else {
        if (fs == OG_ERR_NOMEM && (!why.message[0]))
            og_error_set(&why, fs, "%s: out of memory", path);
        if (!strstr(why.message, path)) /* every message names its file */
            og_error_prefix(&why, "%s", path);
        s = store(in, k.id, &f, NULL, NULL, 0, NULL, why.message, err);
        file_failed(in, path, &why);
    }
    free(vecs);
    og_docs_chunks_free(chunks, n_chunks);
    og_docs_text_free(&t);
    return s;
}

/* Removes the documents under root (a file or a folder, absolute) whose
 * files no longer exist. */
static og_status prune_missing(og_docs *d, const char *root, int32_t *n_removed, og_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, "SELECT id, path FROM documents WHERE path = ?1 OR substr(path, 1, ?2) = ?3", -1,
                           &st, NULL) != SQLITE_OK)
        return og_db_error(d->db, OG_DOCS_LABEL, "finding documents", err);
    char prefix[PATH_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s/", strcmp(root, "/") ? root : "");
    sqlite3_bind_text(st, 1, root, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (int)strlen(prefix));
    sqlite3_bind_text(st, 3, prefix, -1, SQLITE_TRANSIENT);
    int64_t gone[256];
    int n_gone = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n_gone < 256) {
        struct stat sb;
        if (stat((const char *)sqlite3_column_text(st, 1), &sb) != 0)
            gone[n_gone++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    og_status s = rc == SQLITE_ROW || rc == SQLITE_DONE ? OG_OK
                                                       : og_db_error(d->db, OG_DOCS_LABEL, "finding documents", err);
    for (int i = 0; i < n_gone && s == OG_OK; i++) { /* one transaction each: a kill keeps the rest consistent */
        s = og_docs_db_begin(d, err);
        if (s == OG_OK)
            s = og_docs_db_delete_doc(d, gone[i], err);
        if (s == OG_OK)
            s = og_docs_db_commit(d, err);
        else
            og_docs_db_rollback(d);
        if (s == OG_OK)
            (*n_removed)++;
    }
    /* More than a batch gone: the next batch. */
    if (s == OG_OK && n_gone == 256)
        return prune_missing(d, root, n_removed, err);
    return s;
}

og_status og_docs_sync(og_docs *d, const char *const *paths, int32_t n_paths, og_docs_progress_fn progress,
                       og_docs_file_error_fn on_error, void *user, int32_t *n_failed, int32_t *n_removed,
                       og_error *err)
{
    int32_t removed = 0;
    og_status s = og_docs_add(d, paths, n_paths, progress, on_error, user, n_failed, err);
    for (int32_t i = 0; i < n_paths && s == OG_OK; i++) {
        char abs[PATH_MAX];
        if (paths[i][0] == '/')
            snprintf(abs, sizeof abs, "%s", paths[i]);
        else if (!realpath(paths[i], abs))
            continue; /* a relative path that is gone: what it held cannot be told */
        s = prune_missing(d, abs, &removed, err);
    }
    if (n_removed)
        *n_removed = removed;
    return s;
}

og_status og_docs_add(og_docs *d, const char *const *paths, int32_t n_paths, og_docs_progress_fn progress,
                      og_docs_file_error_fn on_error, void *user, int32_t *n_failed, og_error *err)
{
    if (n_failed)
        *n_failed = 0;
    if (!d || (n_paths > 0 && !paths) || n_paths < 0)
        return og_error_set(err, OG_ERR_ARG, "og_docs_add: no collection or paths");
    ingest in;
    memset(&in, 0, sizeof in);
    in.d = d;
    in.progress = progress;
    in.on_error = on_error;
    in.user = user;
    in.lim = og_docs_default_limits();
    in.chunking = og_docs_default_chunk_params();
    clock_gettime(CLOCK_MONOTONIC, &in.t0);
    og_status s = OG_OK;
    for (int32_t i = 0; i < n_paths && s == OG_OK; i++) {
        char abs[PATH_MAX];
        if (!realpath(paths[i], abs)) {
            og_error why;
            og_error_set(&why, OG_ERR_IO, "%s: %s", paths[i], strerror(errno));
            file_failed(&in, paths[i], &why);
            continue;
        }
        s = walk(&in, abs, 0, err);
    }
    in.prog.files_total = in.n_files + in.prog.files_failed;
    for (int64_t i = 0; i < in.n_files && s == OG_OK; i++) {
        report(&in, in.files[i], true);
        s = index_file(&in, in.files[i], err);
        in.prog.files_done++;
    }
    report(&in, NULL, true);
    if (n_failed)
        *n_failed = (int32_t)in.prog.files_failed;
    for (int64_t i = 0; i < in.n_files; i++)
        free(in.files[i]);
    free(in.files);
    return s;
}
