/*
 * collection.h - an open collection (struct og_docs) as its modules share
 * it: the database (docs_db.c: schema, opening plain or encrypted, the
 * embedding model's record, removing a document), the encoder, and the
 * dense index of every chunk's vector that search reads (search.c).
 */
#ifndef OG_DOCS_COLLECTION_H
#define OG_DOCS_COLLECTION_H

#include <sqlite3.h>

#include "common/fsutil.h"
#include "offgrid_services.h"

#define OG_DOCS_LABEL "documents"

struct og_docs {
    char dir[OG_FS_PATH_MAX]; /* <home>/docs/<collection> */
    char name[64];
    sqlite3 *db;
    og_model *model; /* the encoder's */
    og_encoder *enc;
    int32_t dim;
    /* The dense index: every chunk's vector (unit length) in id order,
     * loaded by the first search after add or remove changed the chunks. */
    float *vecs;
    int64_t *vec_ids;
    int64_t n_vecs;
    bool vecs_fresh;
    /* PRAGMA data_version when they were loaded: it changes when another
     * connection (another og_docs on the collection, another process)
     * commits, which leaves vecs_fresh untouched. */
    int64_t vecs_version;
};

/* Opens the database at path (key NULL: a plain one) with the schema up
 * to date. */
og_status og_docs_db_open(og_docs *d, const char *path, const uint8_t *key, og_error *err);

/* Records the embedding model in a new collection, or checks that an
 * existing one was indexed with the same (OG_ERR_UNSUPPORTED naming both). */
og_status og_docs_db_check_model(og_docs *d, const char *model_id, og_error *err);

/* Deletes a document's chunks (and their index entries), pages and row;
 * inside the caller's transaction. */
og_status og_docs_db_delete_doc(og_docs *d, int64_t doc_id, og_error *err);

/* Runs BEGIN IMMEDIATE / COMMIT / ROLLBACK (the last never fails). */
og_status og_docs_db_begin(og_docs *d, og_error *err);
og_status og_docs_db_commit(og_docs *d, og_error *err);
void og_docs_db_rollback(og_docs *d);

/* Loads the dense index when it is not fresh. */
og_status og_docs_dense_load(og_docs *d, og_error *err);

#endif
