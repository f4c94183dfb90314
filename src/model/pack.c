/*
 * pack.c - repacks a loaded model's Q4_0 matrices into the interleaved
 * layout of tensor/packed.h, as llama.cpp does on x86, so that Q4_0
 * models run the faster kernels and give llama.cpp's results. Owns the
 * packed copies (one allocation) and the tensor records pointing at them;
 * the mapped originals are released once copied, so resident memory does
 * not grow. Token embeddings stay as they are: llama.cpp only repacks
 * matrices that are multiplied, and a tied output uses the embeddings.
 */
#include <stdlib.h>
#include <string.h>

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
    if (m->output != m->tok_embd) {
        if (out)
            out[n] = &m->output;
        n++;
    }
    return n;
}

og_status og_model_pack(og_model *m, og_error *err)
{
    const int32_t n = matrices(m, NULL);
    const og_gguf_tensor ***fields = calloc((size_t)n, sizeof *fields);
    if (!fields)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    matrices(m, fields);
    size_t total = 0;
    int32_t n_packed = 0;
    for (int32_t i = 0; i < n; i++)
        if (wants_pack(*fields[i])) {
            total += ((*fields[i])->n_bytes + 63) & ~(size_t)63;
            n_packed++;
        }
    if (n_packed == 0) {
        free(fields);
        return OG_OK;
    }
    m->packed = calloc((size_t)n_packed, sizeof *m->packed);
    m->packed_data = aligned_alloc(64, total);
    if (!m->packed || !m->packed_data) {
        free(fields);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory repacking %d Q4_0 matrices (%.1f MiB)", n_packed,
                            total / (1024.0 * 1024.0));
    }
    uint8_t *dst = m->packed_data;
    for (int32_t i = 0; i < n; i++) {
        const og_gguf_tensor *src = *fields[i];
        if (!wants_pack(src))
            continue;
        og_gguf_tensor *t = &m->packed[m->n_packed++];
        *t = *src;
        og_pack_q4_0(src->data, src->ne[1], src->ne[0], 0, src->ne[1], dst);
        og_gguf_release(m->gguf, src->data, src->n_bytes);
        t->type = OG_TYPE_Q4_0_X16;
        t->data = dst;
        *fields[i] = t;
        dst += (src->n_bytes + 63) & ~(size_t)63;
    }
    free(fields);
    return OG_OK;
}
