/*
 * pack.c - repacks a loaded model's Q4_0 matrices into the interleaved
 * layout of tensor/packed.h, as llama.cpp does on x86, so that Q4_0
 * models run the faster kernels and give llama.cpp's results. Owns the
 * packed copies (one allocation) and the tensor records pointing at them;
 * the mapped originals are released once copied, so resident memory does
 * not grow. Token embeddings stay as they are for the lookup; a tied output
 * projection gets its own packed copy, because llama.cpp loads the tied
 * matrix a second time for the output layer and repacks that copy.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/pool.h"

#include "base/error.h"
#include "model/model.h"
#include "tensor/packed.h"

static bool wants_pack(const og_gguf_tensor *t)
{
    return t && t->type == OG_TYPE_Q4_0 && t->n_dims == 2 && og_packed_q4_0_applies(t->ne[1], t->ne[0]);
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
    const og_gguf_tensor *keep;       /* the token embeddings, still read by lookups */
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
        og_pack_q4_0(t->data, t->ne[1], t->ne[0], g0 * OG_PACK_ROWS, r1, (void *)job->dst[i].data);
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

og_status og_model_pack(og_model *m, int32_t n_threads, og_error *err)
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
            total += ((*fields[i])->n_bytes + 63) & ~(size_t)63;
            n_packed++;
        }
    if (n_packed == 0)
        goto done;
    m->packed = calloc((size_t)n_packed, sizeof *m->packed);
    m->packed_data = aligned_alloc(64, total);
    if (!m->packed || !m->packed_data) {
        st = og_error_set(err, OG_ERR_NOMEM, "out of memory repacking %d Q4_0 matrices (%.1f MiB)", n_packed,
                          total / (1024.0 * 1024.0));
        goto done;
    }
    uint8_t *dst = m->packed_data;
    for (int32_t i = 0; i < n; i++) {
        if (!wants_pack(*fields[i]))
            continue;
        og_gguf_tensor *t = &m->packed[m->n_packed];
        src[m->n_packed++] = *fields[i];
        *t = **fields[i];
        t->type = OG_TYPE_Q4_0_X16;
        t->data = dst;
        dst += (t->n_bytes + 63) & ~(size_t)63;
    }
    og_pool *pool = NULL;
    if ((st = og_pool_new(default_threads(n_threads), &pool, err)) != OG_OK)
        goto done;
    pack_job job = { m->gguf, m->tok_embd, src, m->packed, m->n_packed };
    og_pool_run(pool, pack_worker, &job);
    og_pool_free(pool);
    /* Only now switch the model over to the packed copies. */
    for (int32_t i = 0, k = 0; i < n; i++)
        if (wants_pack(*fields[i]))
            *fields[i] = &m->packed[k++];
done:
    free(fields);
    free(src);
    return st;
}
