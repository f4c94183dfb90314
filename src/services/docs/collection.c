/*
 * collection.c - (placeholder until the collection lands) the public
 * documents API refuses every call.
 */
#include <stdlib.h>
#include <string.h>

#include "offgrid_services.h"

og_docs_params og_docs_default_params(void)
{
    og_docs_params p;
    memset(&p, 0, sizeof p);
    return p;
}

og_status og_docs_open(const og_docs_params *params, og_docs **out, og_error *err)
{
    (void)params;
    *out = NULL;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "document collections are not built yet");
}

void og_docs_free(og_docs *docs)
{
    (void)docs;
}

og_status og_docs_add(og_docs *docs, const char *const *paths, int32_t n_paths, og_docs_progress_fn progress,
                      og_docs_file_error_fn on_error, void *user, int32_t *n_failed, og_error *err)
{
    (void)docs, (void)paths, (void)n_paths, (void)progress, (void)on_error, (void)user, (void)n_failed;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "document collections are not built yet");
}

og_status og_docs_remove(og_docs *docs, const char *path, int32_t *n_removed, og_error *err)
{
    (void)docs, (void)path, (void)n_removed;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "document collections are not built yet");
}

og_status og_docs_list(og_docs *docs, og_docs_doc **out, int32_t *n, og_error *err)
{
    (void)docs, (void)out, (void)n;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "document collections are not built yet");
}

void og_docs_docs_free(og_docs_doc *list, int32_t n)
{
    (void)list, (void)n;
}

og_status og_docs_search(og_docs *docs, const char *query, int32_t k, og_docs_mode mode, og_docs_hit **out,
                         int32_t *n, og_error *err)
{
    (void)docs, (void)query, (void)k, (void)mode, (void)out, (void)n;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "document collections are not built yet");
}

void og_docs_hits_free(og_docs_hit *hits, int32_t n)
{
    (void)hits, (void)n;
}
