/*
 * tensors.c - converting checkpoint tensors into GGUF tensors: the
 * check that none the architecture needs is missing, the
 * name mapping loop, llama.cpp's choice of which tensors stay F32, the
 * Q/K row order llama.cpp uses for RoPE, and the quantization of rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "convert/convert.h"
#include "tensor/kernels.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* The output type, following llama.cpp's converter: vectors, norms,
 * position and token-type embeddings and anything not named .weight stay
 * F32; Q8_0 needs rows that are whole blocks, else it falls back to F16. */
static og_type pick_type(const og_cv *cv, const char *name, int n_dims, int64_t row_len)
{
    if (cv->type == OG_CONVERT_F32 || n_dims <= 1 || ends_with(name, "_norm.weight") ||
        !strcmp(name, "position_embd.weight") || !strcmp(name, "token_types.weight") || !ends_with(name, ".weight"))
        return OG_TYPE_F32;
    if (cv->type == OG_CONVERT_Q8_0 && row_len % OG_QK == 0)
        return OG_TYPE_Q8_0;
    return OG_TYPE_F16;
}

/* llama.cpp stores the Q and K rows of each head with the two RoPE halves
 * interleaved: row h*hd + 2k + t of the output is row h*hd + t*hd/2 + k
 * of the checkpoint (hd = rows per head). */
static og_status permute_rows(og_cv *cv, const char *name, float *x, int64_t rows, int64_t cols, int32_t n_head)
{
    if (rows % n_head || (rows / n_head) % 2)
        return og_error_set(cv->err, OG_ERR_FORMAT, "tensor '%s': %lld rows do not split into %d heads of even size",
                            name, (long long)rows, n_head);
    int64_t hd = rows / n_head, half = hd / 2;
    float *tmp = malloc((size_t)(hd * cols) * sizeof *tmp);
    if (!tmp)
        return og_error_set(cv->err, OG_ERR_NOMEM, "out of memory permuting '%s'", name);
    for (int32_t h = 0; h < n_head; h++) {
        float *head = x + (size_t)(h * hd * cols);
        for (int64_t k = 0; k < half; k++)
            for (int t = 0; t < 2; t++)
                memcpy(tmp + (size_t)((2 * k + t) * cols), head + (size_t)((t * half + k) * cols),
                       (size_t)cols * sizeof *tmp);
        memcpy(head, tmp, (size_t)(hd * cols) * sizeof *tmp);
    }
    free(tmp);
    return OG_OK;
}

static og_status convert_one(og_cv *cv, const og_st_tensor *t, const og_cv_target *target)
{
    const char *name = target->name;
    if (t->n_dims > OG_GGUF_MAX_DIMS)
        return og_error_set(cv->err, OG_ERR_UNSUPPORTED, "tensor '%s' has %d dimensions; GGUF allows 4", t->name,
                            t->n_dims);
    if (t->n_elements == 0)
        return og_error_set(cv->err, OG_ERR_FORMAT, "tensor '%s' is empty", t->name);
    /* GGUF lists dimensions fastest first: the reverse of PyTorch. */
    int n_dims = t->n_dims ? t->n_dims : 1;
    int64_t ne[OG_GGUF_MAX_DIMS] = { 1, 1, 1, 1 };
    for (int d = 0; d < t->n_dims; d++)
        ne[d] = t->shape[t->n_dims - 1 - d];
    int64_t cols = ne[0], rows = (int64_t)(t->n_elements / (uint64_t)cols);

    float *x = malloc((size_t)t->n_elements * sizeof *x);
    if (!x)
        return og_error_set(cv->err, OG_ERR_NOMEM, "out of memory reading '%s'", t->name);
    og_status st = og_st_read_f32(t, 0, t->n_elements, x, cv->err);
    if (st == OG_OK && target->permute_heads > 0)
        st = permute_rows(cv, t->name, x, rows, cols, target->permute_heads);
    og_type type = pick_type(cv, name, t->n_dims, cols);
    size_t row_bytes = og_type_row_bytes(type, cols);
    uint8_t *data = st == OG_OK ? malloc(row_bytes * (size_t)rows) : NULL;
    if (st == OG_OK && !data)
        st = og_error_set(cv->err, OG_ERR_NOMEM, "out of memory converting '%s'", t->name);
    for (int64_t r = 0; st == OG_OK && r < rows; r++)
        if (!og_quantize_row_ref(type, x + (size_t)(r * cols), data + (size_t)r * row_bytes, cols))
            st = og_error_set(cv->err, OG_ERR_UNSUPPORTED, "cannot write '%s' as %s", name, og_type_name(type));
    if (st == OG_OK) {
        og_gguf_writer_tensor(cv->w, name, type, n_dims, ne, data);
        st = og_gguf_writer_status(cv->w, cv->err);
    }
    free(data);
    free(x);
    return st;
}

static og_status unmapped(og_cv *cv, const char *name)
{
    return og_error_set(cv->err, OG_ERR_UNSUPPORTED, "tensor '%s' of model.safetensors has no GGUF name", name);
}

/* Whether the GGUF name want is among the n names of have. */
static bool has_name(const og_cv_target *have, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (!have[i].skip && !strcmp(have[i].name, want))
            return true;
    return false;
}

/* Maps every checkpoint tensor once, then looks each required name up:
 * required names times tensors string compares, a few million at most,
 * nothing next to converting the weights. */
static og_status check_required(og_cv *cv, og_cv_map_fn map, const og_cv_required *req)
{
    size_t n = og_st_n_tensors(cv->st);
    og_cv_target *have = calloc(n ? n : 1, sizeof *have);
    if (!have)
        return og_error_set(cv->err, OG_ERR_NOMEM, "out of memory listing tensors");
    og_status st = OG_OK;
    for (size_t i = 0; st == OG_OK && i < n; i++)
        if (!map(cv, og_st_tensor_at(cv->st, i)->name, &have[i]))
            st = unmapped(cv, og_st_tensor_at(cv->st, i)->name);
    for (const char *const *g = req->global; st == OG_OK && g && *g; g++)
        if (!has_name(have, n, *g))
            st = og_error_set(cv->err, OG_ERR_FORMAT, "model.safetensors has no tensor for '%s' (of %zu tensors)",
                              *g, n);
    for (int64_t l = 0; st == OG_OK && l < req->n_layer; l++)
        for (const char *const *t = req->layer; st == OG_OK && t && *t; t++) {
            char name[96];
            snprintf(name, sizeof name, "blk.%lld.%s", (long long)l, *t);
            if (!has_name(have, n, name))
                st = og_error_set(cv->err, OG_ERR_FORMAT,
                                  "model.safetensors has no tensor for '%s' (of %zu tensors)", name, n);
        }
    free(have);
    return st;
}

og_status og_convert_tensors(og_cv *cv, og_cv_map_fn map, const og_cv_required *required)
{
    og_status st_req = required ? check_required(cv, map, required) : OG_OK;
    if (st_req != OG_OK)
        return st_req;
    int64_t total = (int64_t)og_st_n_tensors(cv->st);
    for (int64_t i = 0; i < total; i++) {
        const og_st_tensor *t = og_st_tensor_at(cv->st, (size_t)i);
        og_cv_target target = { 0 };
        if (!map(cv, t->name, &target))
            return unmapped(cv, t->name);
        if (!target.skip) {
            og_status st = convert_one(cv, t, &target);
            if (st != OG_OK)
                return st;
        }
        cv->n_done = i + 1;
        if (cv->params->progress)
            cv->params->progress(cv->params->user, i + 1, total, target.skip ? t->name : target.name);
    }
    return OG_OK;
}
