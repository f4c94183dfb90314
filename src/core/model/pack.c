/*
 * pack.c - repacks a loaded model's Q4_0, Q4_1 and Q8_0 matrices into
 * the interleaved layout of tensor/packed.h: Q4_0 as llama.cpp does on
 * x86, so that Q4_0 models give llama.cpp's results; Q4_1 and Q8_0 with
 * their plain arithmetic, for one contiguous stream per group of rows,
 * which their mat-vecs read faster than rows side by side.
 *
 * Owns the packed copies (one buffer on huge pages where available, or a
 * mapped cache file: pack_cache.c), the tensor records pointing at them
 * and copies of the norms. The mapped originals are released once copied,
 * so resident memory does not grow. A tied output projection is packed
 * too and then also serves the token lookups (og_ops_get_row reads packed
 * rows), so the plain embeddings are released as well; untied embeddings
 * stay as they are.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"
#include "base/mapfile.h"
#include "base/pool.h"
#include "model/model.h"
#include "model/pack_cache.h"
#include "tensor/kernels.h"
#include "tensor/packed.h"

/* Q4_0 always (llama.cpp's order); Q8_0 and Q4_1 where that is faster. */
static bool wants_pack(const og_gguf_tensor *t)
{
    return t && t->n_dims == 2 && og_pack_applies(t->type, t->ne[1], t->ne[0]) &&
           (t->type == OG_TYPE_Q4_0 || og_kernels_best()->repack_faster[t->type]);
}

/* The matrices a forward pass multiplies, as pointers to the model's
 * fields so that they can be switched to the packed records. */
static int32_t matrices(og_model *m, const og_gguf_tensor ***out)
{
    int32_t n = 0;
    for (int32_t l = 0; l < m->hp.n_layer; l++) {
        og_layer *L = &m->layers[l];
        const og_gguf_tensor **fields[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            if (out)
                out[n++] = fields[i];
            else
                n++;
    }
    if (out)
        out[n] = &m->output;
    return n + 1;
}

typedef struct pack_job {
    const og_gguf *gguf;
    const og_gguf_tensor *keep;       /* untied token embeddings, still read by lookups, or NULL */
    const og_gguf_tensor *const *src; /* the plain matrices, n of them */
    og_gguf_tensor *dst;              /* their packed records */
    int32_t n;
} pack_job;

/* Each thread packs its share of every matrix's groups, then drops the
 * pages of the plain rows it read, so that peak memory stays near the
 * model's size. Writing the fresh copy page by page is most of the cost,
 * and it scales with threads. */
static void pack_worker(void *arg, int ith, int nth)
{
    const pack_job *job = arg;
    for (int32_t i = 0; i < job->n; i++) {
        const og_gguf_tensor *t = job->src[i];
        int64_t g0, g1;
        og_pool_split((t->ne[1] + OG_PACK_ROWS - 1) / OG_PACK_ROWS, ith, nth, &g0, &g1);
        const int64_t r1 = g1 * OG_PACK_ROWS < t->ne[1] ? g1 * OG_PACK_ROWS : t->ne[1];
        og_pack_rows(t->type, t->data, t->ne[0], g0 * OG_PACK_ROWS, r1, (void *)job->dst[i].data);
        const size_t row_bytes = t->n_bytes / (size_t)t->ne[1];
        if (t != job->keep)
            og_gguf_release(job->gguf, (const uint8_t *)t->data + (size_t)(g0 * OG_PACK_ROWS) * row_bytes,
                            (size_t)(r1 - g0 * OG_PACK_ROWS) * row_bytes);
    }
}

static int default_threads(int32_t n_threads)
{
    if (n_threads > 0)
        return n_threads;
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > 8 ? 8 : (int)cores;
}

/* What a cached packing must have been made from: each packed matrix's
 * type, shape and place in the file, and the layout's version. */
static uint64_t layout_hash(const og_gguf_tensor *const *src, int32_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const uint32_t version = OG_PACK_LAYOUT_VERSION;
    h = og_pack_cache_hash(h, &version, sizeof version);
    for (int32_t i = 0; i < n; i++) {
        const uint64_t rec[4] = { (uint64_t)src[i]->type, (uint64_t)src[i]->ne[0], (uint64_t)src[i]->ne[1],
                                  src[i]->offset };
        h = og_pack_cache_hash(h, rec, sizeof rec);
    }
    return h;
}

/* When every matrix is a packed copy (the tied embeddings among them),
 * the forward pass reads nothing else from the mapped tensor data but
 * the norm vectors: with those copied too, the whole data section is
 * released, instead of staying resident around each norm (a file in the
 * page cache as 2 MiB folios maps 2 MiB for each). */
static og_status own_the_rest(og_model *m, og_error *err)
{
    const int32_t n_norms = 2 * m->hp.n_layer + 1;
    for (int32_t l = 0; l < m->hp.n_layer; l++) {
        const og_layer *L = &m->layers[l];
        const og_gguf_tensor *mats[] = { L->wq, L->wk, L->wv, L->wo, L->w_gate, L->w_up, L->w_down };
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
            if (!og_type_is_packed(mats[i]->type))
                return OG_OK;
    }
    if (!og_type_is_packed(m->output->type) || m->tok_embd != m->output)
        return OG_OK;
    const og_gguf_tensor ***norms = calloc((size_t)n_norms, sizeof *norms);
    if (!norms)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    size_t n_floats = 0;
    for (int32_t l = 0; l < m->hp.n_layer; l++) {
        norms[2 * l] = &m->layers[l].attn_norm;
        norms[2 * l + 1] = &m->layers[l].ffn_norm;
    }
    norms[n_norms - 1] = &m->output_norm;
    for (int32_t i = 0; i < n_norms; i++)
        n_floats += (size_t)(*norms[i])->ne[0];
    m->norms = calloc((size_t)n_norms, sizeof *m->norms);
    m->norm_data = malloc(n_floats * sizeof(float));
    if (!m->norms || !m->norm_data) {
        free(norms);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    float *dst = m->norm_data;
    for (int32_t i = 0; i < n_norms; i++) {
        m->norms[i] = **norms[i];
        memcpy(dst, m->norms[i].data, (size_t)m->norms[i].ne[0] * sizeof(float));
        m->norms[i].data = dst;
        dst += m->norms[i].ne[0];
        *norms[i] = &m->norms[i];
    }
    free(norms);
    const uint8_t *begin = NULL, *end = NULL;
    for (int64_t i = 0; i < og_gguf_n_tensors(m->gguf); i++) {
        const og_gguf_tensor *t = og_gguf_tensor_at(m->gguf, i);
        const uint8_t *b = t->data, *e = b + t->n_bytes;
        begin = !begin || b < begin ? b : begin;
        end = e > end ? e : end;
    }
    og_gguf_release(m->gguf, begin, (size_t)(end - begin));
    return OG_OK;
}

og_status og_model_pack(og_model *m, const char *path, int32_t n_threads, const char *cache_dir, og_error *err)
{
    const int32_t n = matrices(m, NULL);
    const og_gguf_tensor ***fields = calloc((size_t)n, sizeof *fields);
    const og_gguf_tensor **src = calloc((size_t)n, sizeof *src);
    og_status st = OG_OK;
    if (!fields || !src) {
        st = og_error_set(err, OG_ERR_NOMEM, "out of memory");
        goto done;
    }
    matrices(m, fields);
    size_t total = 0;
    int32_t n_packed = 0;
    for (int32_t i = 0; i < n; i++)
        if (wants_pack(*fields[i])) {
            src[n_packed++] = *fields[i];
            total += ((*fields[i])->n_bytes + 63) & ~(size_t)63;
        }
    if (n_packed == 0)
        goto done;
    m->packed = calloc((size_t)n_packed, sizeof *m->packed);
    if (!m->packed) {
        st = og_error_set(err, OG_ERR_NOMEM, "out of memory");
        goto done;
    }
    const uint64_t layout = layout_hash(src, n_packed);
    og_pack_mapping cached;
    const bool hit = og_pack_cache_map(cache_dir, path, layout, total, &cached);
    const uint8_t *data;
    m->packed_from_cache = hit;
    if (hit) {
        m->packed_map = cached.base;
        m->packed_map_bytes = cached.bytes;
        data = cached.data;
    } else {
        m->packed_map = og_map_buffer(total);
        m->packed_map_bytes = total;
        data = m->packed_map;
        if (!data) {
            st = og_error_set(err, OG_ERR_NOMEM, "out of memory repacking %d matrices (%.1f MiB)", n_packed,
                              total / (1024.0 * 1024.0));
            goto done;
        }
    }
    for (int32_t i = 0; i < n_packed; i++) {
        og_gguf_tensor *t = &m->packed[i];
        *t = *src[i];
        t->type = og_packed_type(t->type);
        t->data = data;
        data += (t->n_bytes + 63) & ~(size_t)63;
    }
    m->n_packed = n_packed;
    const bool tied = m->output == m->tok_embd && wants_pack(m->output);
    if (!hit) {
        og_pool *pool = NULL;
        if ((st = og_pool_new(default_threads(n_threads), &pool, err)) != OG_OK)
            goto done;
        pack_job job = { m->gguf, tied ? NULL : m->tok_embd, src, m->packed, n_packed };
        og_pool_run(pool, pack_worker, &job);
        og_pool_free(pool);
        if (cache_dir) /* best effort: the next load packs again if this fails */
            (void)og_pack_cache_store(cache_dir, path, layout, m->packed_map, total);
    } else { /* drop pages the loader's reads or read-ahead mapped around them */
        for (int32_t i = 0; i < n_packed; i++)
            if (tied || src[i] != m->tok_embd)
                og_gguf_release(m->gguf, src[i]->data, src[i]->n_bytes);
    }
    /* Only now switch the model over to the packed copies. */
    for (int32_t i = 0, k = 0; i < n; i++)
        if (wants_pack(*fields[i]))
            *fields[i] = &m->packed[k++];
    if (tied)
        m->tok_embd = m->output;
    st = own_the_rest(m, err);
done:
    free(fields);
    free(src);
    return st;
}
