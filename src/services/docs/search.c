/*
 * search.c - og_docs_search: the chunks that best answer a query, by
 * BM25 over the FTS5 index, by cosine similarity of their embeddings
 * (an exact scan of every vector), or both fused by reciprocal rank
 * (Cormack, Clarke and Buettcher, 2009: each list adds 1 / (60 + rank)).
 * Either list alone misses what the other finds: BM25 exact names and
 * rare words, embeddings paraphrases.
 */
#include "docs/collection.h"

#include <stdlib.h>
#include <string.h>

#include "common/sqlite_db.h"
#include "docs/extract.h"

#define RRF_K 60.0
#define MIN_CANDIDATES 50 /* each list's length before fusion */

typedef struct candidate {
    int64_t id;
    double score;
    double cosine;
} candidate;

/* The query as FTS5 syntax: each word quoted, any of them (the user's
 * text never reaches FTS5's operators). Words are runs of letters,
 * digits, '_' and non-ASCII bytes. Returns an empty string for none. */
static og_status fts_query(const char *query, og_docs_buf *b, og_error *err)
{
    og_status s = og_docs_buf_add(b, "", 0, err);
    const unsigned char *p = (const unsigned char *)query;
    while (*p && s == OG_OK) {
        while (*p && !(*p >= 0x80 || *p == '_' || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
            p++;
        const unsigned char *w = p;
        while (*p && (*p >= 0x80 || *p == '_' || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
            p++;
        if (p == w)
            break;
        if (b->len)
            s = og_docs_buf_add(b, " OR ", 4, err);
        if (s == OG_OK)
            s = og_docs_buf_add(b, "\"", 1, err);
        if (s == OG_OK)
            s = og_docs_buf_add(b, (const char *)w, (size_t)(p - w), err);
        if (s == OG_OK)
            s = og_docs_buf_add(b, "\"", 1, err);
    }
    return s;
}

/* BM25's best n chunks, best first (score: -bm25, higher is better). */
static og_status bm25_list(og_docs *d, const char *query, int32_t n, candidate *out, int32_t *n_out, og_error *err)
{
    *n_out = 0;
    og_docs_buf q = { 0 };
    og_status s = fts_query(query, &q, err);
    if (s != OG_OK || q.len == 0) {
        free(q.data);
        return s;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT rowid, bm25(chunks_fts, 0.5, 1.0) AS r FROM chunks_fts WHERE chunks_fts MATCH ? "
                           "ORDER BY r LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK) {
        free(q.data);
        return og_db_error(d->db, OG_DOCS_LABEL, "searching the text index", err);
    }
    sqlite3_bind_text(st, 1, q.data, (int)q.len, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, n);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n_out < n) {
        out[*n_out].id = sqlite3_column_int64(st, 0);
        out[*n_out].score = -sqlite3_column_double(st, 1);
        (*n_out)++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        s = og_db_error(d->db, OG_DOCS_LABEL, "searching the text index", err);
    sqlite3_finalize(st);
    free(q.data);
    return s;
}

/* The embedding scan's best n chunks, best first (score: cosine). */
static og_status dense_list(og_docs *d, const float *q, int32_t n, candidate *out, int32_t *n_out, og_error *err)
{
    *n_out = 0;
    og_status s = og_docs_dense_load(d, err);
    if (s != OG_OK || d->n_vecs == 0)
        return s;
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    float *sim = malloc((size_t)n * sizeof *sim);
    if (!idx || !sim) {
        free(idx);
        free(sim);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    int32_t got = og_cosine_topk(q, d->vecs, d->n_vecs, d->dim, n, idx, sim);
    for (int32_t i = 0; i < got; i++) {
        out[i].id = d->vec_ids[idx[i]];
        out[i].score = out[i].cosine = sim[i];
    }
    *n_out = got > 0 ? got : 0;
    free(idx);
    free(sim);
    return OG_OK;
}

static int by_score(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->cosine != y->cosine)
        return x->cosine > y->cosine ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Reciprocal rank fusion of two lists into out (room for n_a + n_b). */
static int32_t fuse(const candidate *a, int32_t n_a, const candidate *b, int32_t n_b, candidate *out)
{
    int32_t n = 0;
    for (int32_t i = 0; i < n_a; i++) {
        out[n] = a[i];
        out[n].cosine = -2.0; /* filled in later */
        out[n++].score = 1.0 / (RRF_K + i + 1);
    }
    for (int32_t i = 0; i < n_b; i++) {
        int32_t j = 0;
        while (j < n && out[j].id != b[i].id)
            j++;
        if (j == n) {
            out[n] = b[i];
            out[n++].score = 0.0;
        }
        out[j].score += 1.0 / (RRF_K + i + 1);
        out[j].cosine = b[i].cosine;
    }
    return n;
}

/* Fills hit from chunk id; its cosine to q when not known (< -1). */
static og_status fetch(og_docs *d, sqlite3_stmt *st, const candidate *c, const float *q, og_docs_hit *hit,
                       og_error *err)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, c->id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return og_db_error(d->db, OG_DOCS_LABEL, "reading a chunk", err);
    const char *path = (const char *)sqlite3_column_text(st, 0), *body = (const char *)sqlite3_column_text(st, 4),
               *heading = (const char *)sqlite3_column_text(st, 5);
    hit->doc = strdup(path ? path : "");
    hit->page = sqlite3_column_int(st, 1);
    hit->start = sqlite3_column_int64(st, 2);
    hit->end = sqlite3_column_int64(st, 3);
    hit->text = strdup(body ? body : "");
    hit->heading = heading ? strdup(heading) : NULL;
    hit->score = c->score;
    hit->cosine = c->cosine;
    if (hit->cosine < -1.0) {
        const float *v = sqlite3_column_blob(st, 6);
        double dot = 0.0;
        if (v && sqlite3_column_bytes(st, 6) == (int)(d->dim * sizeof(float)))
            for (int32_t i = 0; i < d->dim; i++)
                dot += (double)v[i] * q[i];
        hit->cosine = dot;
    }
    if (!hit->doc || !hit->text || (heading && !hit->heading))
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    return OG_OK;
}

og_status og_docs_search(og_docs *d, const char *query, int32_t k, og_docs_mode mode, og_docs_hit **out,
                         int32_t *n_out, og_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!d || !query)
        return og_error_set(err, OG_ERR_ARG, "og_docs_search: no collection or query");
    if (k < 1 || k > 1000)
        return og_error_set(err, OG_ERR_ARG, "k must be 1 to 1000, got %d", k);
    if (mode != OG_DOCS_HYBRID && mode != OG_DOCS_BM25 && mode != OG_DOCS_DENSE)
        return og_error_set(err, OG_ERR_ARG, "unknown search mode %d", (int)mode);
    const int32_t n_cand = k > MIN_CANDIDATES ? k : MIN_CANDIDATES;
    float *q = malloc((size_t)d->dim * sizeof *q);
    candidate *lists = malloc((size_t)n_cand * 4 * sizeof *lists);
    if (!q || !lists) {
        free(q);
        free(lists);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    candidate *bm = lists, *dense = lists + n_cand, *fused = lists + 2 * n_cand;
    int32_t n_bm = 0, n_dense = 0, n = 0;
    og_status s = og_embed(d->enc, &query, NULL, 1, q, err);
    if (s == OG_OK && mode != OG_DOCS_DENSE)
        s = bm25_list(d, query, n_cand, bm, &n_bm, err);
    if (s == OG_OK && mode != OG_DOCS_BM25)
        s = dense_list(d, q, n_cand, dense, &n_dense, err);
    if (s == OG_OK) {
        if (mode == OG_DOCS_HYBRID) {
            n = fuse(bm, n_bm, dense, n_dense, fused);
            qsort(fused, (size_t)n, sizeof *fused, by_score);
        } else {
            const candidate *from = mode == OG_DOCS_BM25 ? bm : dense;
            n = mode == OG_DOCS_BM25 ? n_bm : n_dense;
            memcpy(fused, from, (size_t)n * sizeof *fused);
            for (int32_t i = 0; i < n && mode == OG_DOCS_BM25; i++)
                fused[i].cosine = -2.0;
        }
    }
    if (n > k)
        n = k;
    og_docs_hit *hits = NULL;
    sqlite3_stmt *st = NULL;
    if (s == OG_OK && n > 0 && !(hits = calloc((size_t)n, sizeof *hits)))
        s = og_error_set(err, OG_ERR_NOMEM, "out of memory");
    if (s == OG_OK && n > 0 &&
        sqlite3_prepare_v2(d->db,
                           "SELECT d.path, p.number, c.start, c.end, c.body, c.heading, c.vec FROM chunks c "
                           "JOIN documents d ON d.id = c.doc_id JOIN pages p ON p.doc_id = c.doc_id AND p.idx = "
                           "c.page_idx WHERE c.id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        s = og_db_error(d->db, OG_DOCS_LABEL, "reading chunks", err);
    for (int32_t i = 0; i < n && s == OG_OK; i++)
        s = fetch(d, st, &fused[i], q, &hits[i], err);
    sqlite3_finalize(st);
    free(q);
    free(lists);
    if (s != OG_OK) {
        og_docs_hits_free(hits, n);
        return s;
    }
    *out = hits;
    *n_out = n;
    return OG_OK;
}

void og_docs_hits_free(og_docs_hit *hits, int32_t n)
{
    for (int32_t i = 0; hits && i < n; i++) {
        free(hits[i].doc);
        free(hits[i].text);
        free(hits[i].heading);
    }
    free(hits);
}
