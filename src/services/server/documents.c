/*
 * documents.c - the documents collection the server serves: its two
 * handles (see server.h: the indexer's own, and the requests' under a
 * mutex), the indexer thread and its queue of uploads, and the endpoints
 * GET /v1/documents, DELETE /v1/documents/{id} and POST
 * /v1/documents/search. Uploading is doc_upload.c, asking doc_ask.c.
 *
 * A document's id is a hash of its path, so it stays the same across
 * restarts and needs no table of its own. An upload is listed from the
 * queue ("indexing") until the indexer has stored it; from then on the
 * collection says whether it is "indexed" or "failed" (og_docs_add
 * records a file's error).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offgrid.h"
#include "server/server.h"

#define BAD(...) og_srv_reply_error(s, c, r, 400, "invalid_request_error", __VA_ARGS__)
#define MAX_K 50

/* An upload the collection does not hold yet. */
typedef struct pending {
    struct pending *next;
    char *path;
    int64_t bytes;
    bool running;  /* the indexer is reading it */
    char *error;   /* og_docs_add failed as a whole: why (the upload stays listed as failed) */
} pending;

struct og_srv_docs {
    og_docs *rd;          /* the requests' handle, under mu */
    pthread_mutex_t mu;
    og_docs *idx;         /* the indexer's own */
    char files[PATH_MAX]; /* the uploads folder */
    bool encrypted;       /* uploads are deleted once indexed: their text lives only in the encrypted database */
    pthread_t thread;
    bool started;
    pthread_mutex_t qmu;  /* guards what follows */
    pthread_cond_t qcv;
    pending *items;       /* in upload order */
    bool stopping;
};

/* ------------------------------------------------------------ helpers */

void og_srv_doc_id(const char *path, char out[17])
{
    /* FNV-1a, 64 bits: ids only need to tell a collection's paths apart. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static const char *base_of(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Whether path is a file the server stored (in its uploads folder). */
static bool is_upload(const og_srv_docs *d, const char *path)
{
    size_t n = strlen(d->files);
    return !strncmp(path, d->files, n) && path[n] == '/' && !strchr(path + n + 1, '/');
}

static void pending_free(pending *p)
{
    if (!p)
        return;
    free(p->path);
    free(p->error);
    free(p);
}

const char *og_srv_docs_files_dir(const og_server *s)
{
    return s->docs ? s->docs->files : NULL;
}

og_status og_srv_docs_search(og_server *s, const char *query, int32_t k, og_docs_mode mode, og_docs_hit **hits,
                             int32_t *n, og_error *err)
{
    pthread_mutex_lock(&s->docs->mu);
    og_status st = og_docs_search(s->docs->rd, query, k, mode, hits, n, err);
    pthread_mutex_unlock(&s->docs->mu);
    return st;
}

/* ------------------------------------------------------------ indexer */

static void note_failure(void *user, const char *path, const og_error *why)
{
    (void)user;
    (void)path;
    (void)why; /* recorded in the collection with the document */
}

static void *indexer(void *arg)
{
    og_server *s = arg;
    og_srv_docs *d = s->docs;
    /* What an earlier run stored but did not finish indexing (it was
     * stopped, or killed mid-file: og_docs_add is crash safe), and the
     * documents of uploads deleted meanwhile. */
    const char *root = d->files;
    og_error err = { 0 };
    /* (An encrypted collection keeps no uploads to sync with: the ones
     * left over were queued by og_srv_docs_start.) */
    if (!d->encrypted && og_docs_sync(d->idx, &root, 1, NULL, note_failure, NULL, NULL, NULL, &err) != OG_OK)
        og_srv_log(s, "offgrid serve: documents: indexing %s: %s", root, err.message);
    for (;;) {
        pthread_mutex_lock(&d->qmu);
        pending *p = NULL;
        while (!d->stopping) {
            for (p = d->items; p && p->error; p = p->next)
                ;
            if (p)
                break;
            pthread_cond_wait(&d->qcv, &d->qmu);
        }
        if (d->stopping) {
            pthread_mutex_unlock(&d->qmu);
            return NULL;
        }
        p->running = true;
        char *path = strdup(p->path);
        pthread_mutex_unlock(&d->qmu);

        og_status st = path ? OG_OK : og_error_set(&err, OG_ERR_NOMEM, "out of memory");
        if (st == OG_OK) {
            const char *one = path;
            st = og_docs_add(d->idx, &one, 1, NULL, note_failure, NULL, NULL, &err);
            /* Indexed or failed, a plain copy must not outlive it on disk. */
            if (d->encrypted && unlink(path) != 0 && errno != ENOENT)
                og_srv_log(s, "offgrid serve: documents: cannot delete the upload %s: %s", path, strerror(errno));
        }
        free(path);
        pthread_mutex_lock(&d->qmu);
        p->running = false;
        if (st == OG_OK) { /* the collection holds it now, indexed or with its error */
            for (pending **pp = &d->items; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                    *pp = p->next;
                    break;
                }
            pending_free(p);
        } else {
            p->error = strdup(err.message[0] ? err.message : "indexing failed");
            og_srv_log(s, "offgrid serve: documents: %s", err.message);
            if (!p->error) { /* cannot even say why: drop it rather than retry for ever */
                for (pending **pp = &d->items; *pp; pp = &(*pp)->next)
                    if (*pp == p) {
                        *pp = p->next;
                        break;
                    }
                pending_free(p);
            }
        }
        pthread_cond_broadcast(&d->qcv);
        pthread_mutex_unlock(&d->qmu);
    }
}

bool og_srv_docs_enqueue(og_server *s, const char *path, int64_t bytes)
{
    og_srv_docs *d = s->docs;
    pending *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        return false;
    }
    p->bytes = bytes;
    pthread_mutex_lock(&d->qmu);
    pending **end = &d->items;
    while (*end)
        end = &(*end)->next;
    *end = p;
    pthread_cond_broadcast(&d->qcv);
    pthread_mutex_unlock(&d->qmu);
    return true;
}

/* An encrypted collection's uploads folder after a crash: partial
 * uploads (hidden) are deleted, whole ones queued to be indexed and then
 * deleted. Runs before the server listens, so no upload is in flight. */
static og_status requeue_leftovers(og_server *s, og_error *err)
{
    og_srv_docs *d = s->docs;
    DIR *dir = opendir(d->files);
    if (!dir)
        return og_error_set(err, OG_ERR_IO, "%s: %s", d->files, strerror(errno));
    og_status st = OG_OK;
    for (struct dirent *e; st == OG_OK && (e = readdir(dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[PATH_MAX];
        struct stat sb;
        if (snprintf(path, sizeof path, "%s/%s", d->files, e->d_name) >= (int)sizeof path ||
            lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (e->d_name[0] == '.')
            unlink(path);
        else if (!og_srv_docs_enqueue(s, path, (int64_t)sb.st_size))
            st = og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    closedir(dir);
    return st;
}

og_status og_srv_docs_start(og_server *s, og_error *err)
{
    /* The collection is indexed with the served encoder: -m when it is
     * one (load_models in server.c), else --embed-model. */
    const char *embed_path = s->p.embed_model_path ? s->p.embed_model_path : s->embed_model ? s->p.model_path : NULL;
    if (!embed_path)
        return og_error_set(err, OG_ERR_ARG,
                            "serving documents needs the embedding model the collection is indexed with "
                            "(--embed-model)");
    og_srv_docs *d = calloc(1, sizeof *d);
    if (!d)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&d->mu, NULL);
    pthread_mutex_init(&d->qmu, NULL);
    pthread_cond_init(&d->qcv, NULL);
    s->docs = d; /* from here og_srv_docs_free cleans up */
    og_docs_params dp = og_docs_default_params();
    dp.home = s->p.docs_home;
    dp.collection = s->p.docs_collection;
    dp.embed_model_path = embed_path;
    dp.passphrase = s->p.docs_passphrase;
    dp.n_threads = s->p.n_threads;
    char home[PATH_MAX];
    og_status st = OG_OK;
    if (s->p.docs_home)
        snprintf(home, sizeof home, "%s", s->p.docs_home);
    else if ((st = og_store_default_home(home, sizeof home, err)) != OG_OK)
        return st;
    /* A passphrase creates a new collection encrypted, and opens an
     * existing one as it is (an existing plain one says so). */
    struct stat sb;
    if (snprintf(d->files, sizeof d->files, "%s/docs/%s/docs.db", home, s->p.docs_collection) >= (int)sizeof d->files)
        return og_error_set(err, OG_ERR_ARG, "the documents folder's path is too long");
    dp.create_encrypted = s->p.docs_passphrase && stat(d->files, &sb) != 0;
    st = og_docs_open(&dp, &d->rd, err);
    if (st == OG_OK)
        st = og_docs_open(&dp, &d->idx, err);
    if (st != OG_OK) {
        og_error_prefix(err, "the documents collection");
        return st;
    }
    snprintf(d->files, sizeof d->files, "%s/docs/%s/files", home, s->p.docs_collection);
    if (mkdir(d->files, 0700) != 0 && errno != EEXIST)
        return og_error_set(err, OG_ERR_IO, "cannot create %s: %s", d->files, strerror(errno));
    /* og_docs_remove and the collection know files by their real path. */
    char real[PATH_MAX];
    if (!realpath(d->files, real))
        return og_error_set(err, OG_ERR_IO, "%s: %s", d->files, strerror(errno));
    snprintf(d->files, sizeof d->files, "%s", real);
    d->encrypted = s->p.docs_passphrase != NULL;
    if (d->encrypted && (st = requeue_leftovers(s, err)) != OG_OK)
        return st;
    if (pthread_create(&d->thread, NULL, indexer, s) != 0)
        return og_error_set(err, OG_ERR_NOMEM, "cannot start the documents' indexer");
    d->started = true;
    return OG_OK;
}

void og_srv_docs_stop(og_server *s)
{
    og_srv_docs *d = s->docs;
    if (!d || !d->started)
        return;
    pthread_mutex_lock(&d->qmu);
    d->stopping = true;
    pthread_cond_broadcast(&d->qcv);
    pthread_mutex_unlock(&d->qmu);
    pthread_join(d->thread, NULL);
    d->started = false;
}

void og_srv_docs_free(og_server *s)
{
    og_srv_docs *d = s->docs;
    if (!d)
        return;
    og_srv_docs_stop(s);
    og_docs_free(d->rd);
    og_docs_free(d->idx);
    while (d->items) {
        pending *p = d->items;
        d->items = p->next;
        pending_free(p);
    }
    pthread_cond_destroy(&d->qcv);
    pthread_mutex_destroy(&d->qmu);
    pthread_mutex_destroy(&d->mu);
    free(d);
    s->docs = NULL;
}

/* ---------------------------------------------------------- endpoints */

static json_t *doc_json(const char *path, int64_t bytes, int32_t pages, int32_t chunks, const char *status,
                        const char *error)
{
    char id[17];
    og_srv_doc_id(path, id);
    json_t *j = json_pack("{s:s,s:s,s:o,s:o,s:i,s:i,s:I,s:s}", "id", id, "object", "document", "path",
                          og_srv_json_text(path, strlen(path)), "name",
                          og_srv_json_text(base_of(path), strlen(base_of(path))), "pages", pages, "chunks", chunks,
                          "bytes", (json_int_t)bytes, "status", status);
    if (j && error)
        json_object_set_new(j, "error", og_srv_json_text(error, strlen(error)));
    return j;
}

static bool in_queue(const og_srv_docs *d, const char *path)
{
    for (const pending *p = d->items; p; p = p->next)
        if (!strcmp(p->path, path))
            return true;
    return false;
}

static enum MHD_Result list(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    og_srv_docs *d = s->docs;
    og_docs_doc *docs = NULL;
    int32_t n = 0;
    og_error err = { 0 };
    /* The queue is held while the collection is read (the one place both
     * are held: always qmu first), so that an upload the indexer finishes
     * meanwhile is in one or the other, never in neither. */
    pthread_mutex_lock(&d->qmu);
    pthread_mutex_lock(&d->mu);
    og_status st = og_docs_list(d->rd, &docs, &n, &err);
    pthread_mutex_unlock(&d->mu);
    if (st != OG_OK) {
        pthread_mutex_unlock(&d->qmu);
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "listing the documents: %s", err.message);
    }
    json_t *data = json_array();
    /* The queue first wins: an upload just stored may be in both a moment. */
    for (int32_t i = 0; data && i < n; i++)
        if (!in_queue(d, docs[i].path) &&
            json_array_append_new(data, doc_json(docs[i].path, docs[i].size, docs[i].n_pages, docs[i].n_chunks,
                                                 docs[i].error ? "failed" : "indexed", docs[i].error)) != 0) {
            json_decref(data);
            data = NULL;
        }
    for (const pending *p = d->items; data && p; p = p->next)
        if (json_array_append_new(data, doc_json(p->path, p->bytes, 0, 0, p->error ? "failed" : "indexing",
                                                 p->error)) != 0) {
            json_decref(data);
            data = NULL;
        }
    pthread_mutex_unlock(&d->qmu);
    og_docs_docs_free(docs, n);
    if (!data)
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
    return og_srv_reply_json(s, c, r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

/* Removes an uploaded file; a file the server did not store is left alone. */
static void unlink_upload(og_server *s, const char *path)
{
    if (is_upload(s->docs, path) && unlink(path) != 0 && errno != ENOENT)
        og_srv_log(s, "offgrid serve: documents: cannot delete %s: %s", path, strerror(errno));
}

static enum MHD_Result delete_doc(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    og_srv_docs *d = s->docs;
    size_t n_ref = strcspn(r->doc_ref, "?");
    char ref[17] = "";
    if (n_ref == 16)
        memcpy(ref, r->doc_ref, 16);
    char id[17];
    /* An upload not indexed yet: dropped from the queue, unless being read. */
    pthread_mutex_lock(&d->qmu);
    for (pending **pp = &d->items; *pp; pp = &(*pp)->next) {
        pending *p = *pp;
        og_srv_doc_id(p->path, id);
        if (strcmp(id, ref))
            continue;
        if (p->running) {
            pthread_mutex_unlock(&d->qmu);
            return og_srv_reply_error(s, c, r, 409, "invalid_request_error", "document_indexing",
                                      "document %s is being indexed; delete it once it is listed as indexed", ref);
        }
        *pp = p->next;
        pthread_mutex_unlock(&d->qmu);
        unlink_upload(s, p->path);
        json_t *j = json_pack("{s:s,s:s,s:b}", "id", ref, "object", "document", "deleted", 1);
        pending_free(p);
        return og_srv_reply_json(s, c, r, 200, j);
    }
    pthread_mutex_unlock(&d->qmu);

    og_docs_doc *docs = NULL;
    int32_t n = 0;
    og_error err = { 0 };
    pthread_mutex_lock(&d->mu);
    og_status st = og_docs_list(d->rd, &docs, &n, &err);
    int32_t found = -1;
    for (int32_t i = 0; st == OG_OK && i < n && found < 0; i++) {
        og_srv_doc_id(docs[i].path, id);
        if (!strcmp(id, ref))
            found = i;
    }
    if (found >= 0)
        st = og_docs_remove(d->rd, docs[found].path, NULL, &err);
    pthread_mutex_unlock(&d->mu);
    enum MHD_Result ret;
    if (st != OG_OK)
        ret = og_srv_reply_error(s, c, r, 500, "server_error", NULL, "deleting the document: %s", err.message);
    else if (found < 0)
        ret = og_srv_reply_error(s, c, r, 404, "invalid_request_error", "document_not_found",
                                 "no document '%.*s' (GET /v1/documents lists them)", (int)(n_ref < 64 ? n_ref : 64),
                                 r->doc_ref);
    else {
        unlink_upload(s, docs[found].path);
        ret = og_srv_reply_json(s, c, r, 200, json_pack("{s:s,s:s,s:b}", "id", ref, "object", "document",
                                                        "deleted", 1));
    }
    og_docs_docs_free(docs, n);
    return ret;
}

static enum MHD_Result search(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    char why[256];
    json_t *root = og_srv_parse_body(r, why, sizeof why);
    if (!root)
        return BAD("invalid_json", "%s", why);
    json_t *q = json_object_get(root, "query"), *k = json_object_get(root, "k"), *m = json_object_get(root, "mode");
    const char *bad = !json_is_object(root)                                        ? "the body must be a JSON object"
                      : !json_is_string(q)                                         ? "'query' must be a string"
                      : !json_string_value(q)[strspn(json_string_value(q), " \t\r\n")] ? "'query' is empty"
                      : k && !json_is_integer(k)                                   ? "'k' must be an integer"
                      : k && (json_integer_value(k) < 1 || json_integer_value(k) > MAX_K) ? "'k' must be 1..50"
                      : m && !json_is_string(m)                                    ? "'mode' must be a string"
                                                                                   : NULL;
    og_docs_mode mode = OG_DOCS_HYBRID;
    if (!bad && m) {
        const char *ms = json_string_value(m);
        if (!strcmp(ms, "bm25"))
            mode = OG_DOCS_BM25;
        else if (!strcmp(ms, "dense"))
            mode = OG_DOCS_DENSE;
        else if (strcmp(ms, "hybrid"))
            bad = "'mode' must be \"hybrid\", \"bm25\" or \"dense\"";
    }
    if (bad) {
        enum MHD_Result ret = BAD("invalid_value", "%s", bad);
        json_decref(root);
        return ret;
    }
    og_docs_hit *hits = NULL;
    int32_t n = 0;
    og_error err = { 0 };
    og_status st = og_srv_docs_search(s, json_string_value(q), k ? (int32_t)json_integer_value(k) : 5, mode, &hits,
                                      &n, &err);
    json_decref(root);
    if (st != OG_OK)
        return st == OG_ERR_ARG ? BAD("invalid_value", "%s", err.message)
                                : og_srv_reply_error(s, c, r, 500, "server_error", NULL, "search failed: %s",
                                                     err.message);
    json_t *results = json_array();
    for (int32_t i = 0; results && i < n; i++) {
        const og_docs_hit *h = &hits[i];
        json_t *j = json_pack("{s:o,s:o,s:I,s:I,s:f,s:f,s:o,s:o}", "doc", og_srv_json_text(h->doc, strlen(h->doc)),
                              "page", h->page > 0 ? json_integer(h->page) : json_null(), "start", (json_int_t)h->start,
                              "end", (json_int_t)h->end, "score", h->score, "cosine", h->cosine, "heading",
                              h->heading ? og_srv_json_text(h->heading, strlen(h->heading)) : json_null(), "text",
                              og_srv_json_text(h->text, strlen(h->text)));
        if (json_array_append_new(results, j) != 0) {
            json_decref(results);
            results = NULL;
        }
    }
    og_docs_hits_free(hits, n);
    if (!results)
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
    return og_srv_reply_json(s, c, r, 200, json_pack("{s:s,s:o}", "object", "list", "results", results));
}

enum MHD_Result og_srv_documents(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    if (!s->docs)
        return og_srv_reply_error(s, c, r, 404, "invalid_request_error", "documents_not_enabled",
                                  "documents are not enabled on this server (offgrid serve --collection NAME)");
    switch (r->docs_op) {
    case OG_SRV_DOCS_LIST:
        return list(s, c, r);
    case OG_SRV_DOCS_DELETE:
        return delete_doc(s, c, r);
    case OG_SRV_DOCS_SEARCH:
        return search(s, c, r);
    case OG_SRV_DOCS_ASK:
        return og_srv_docs_ask(s, c, r);
    default: /* an upload whose state could not be made */
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
    }
}
