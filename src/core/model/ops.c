/*
 * ops.c - row operations of the forward pass and the threaded matrix
 * product. Arithmetic follows ggml's CPU operators (double sums in the
 * norm and softmax, activations quantized to the weight's vec_dot type)
 * so results stay close to llama.cpp's.
 */
#include "model/ops.h"

#include "base/numerics.h"
#include "tensor/packed.h"

#include <math.h>
#include <string.h>

/* Output rows handed out per unit of work: enough for a thread to stream a
 * weight block while the activations stay in cache. */
#define ROWS_PER_TILE 16

typedef struct matmul_job {
    const og_kernels *kern;
    og_gemm_fn gemm; /* NULL: vec_dot row by row */
    const og_gguf_tensor *w;
    const uint8_t *acts;
    size_t act_stride;
    int32_t n_tokens;
    float *y;
} matmul_job;

/* Rows [begin, end) of one product. */
static void matmul_rows(const matmul_job *job, int64_t begin, int64_t end)
{
    const og_gguf_tensor *w = job->w;
    const int64_t n_cols = w->ne[0], n_rows = w->ne[1];
    const size_t row_bytes = og_type_row_bytes(w->type, n_cols);
    if (job->gemm) {
        job->gemm(n_cols, w->data, row_bytes, begin, end, job->acts, job->act_stride, job->n_tokens, job->y,
                  (size_t)n_rows);
        return;
    }
    og_vec_dot_fn dot = job->kern->vec_dot[w->type];
    for (int64_t r0 = begin; r0 < end; r0 += ROWS_PER_TILE) {
        int64_t r1 = r0 + ROWS_PER_TILE < end ? r0 + ROWS_PER_TILE : end;
        for (int32_t t = 0; t < job->n_tokens; t++) {
            const uint8_t *act = job->acts + (size_t)t * job->act_stride;
            float *y = job->y + (size_t)t * (size_t)n_rows;
            for (int64_t r = r0; r < r1; r++)
                dot(n_cols, &y[r], (const uint8_t *)w->data + (size_t)r * row_bytes, act);
        }
    }
}

/* Work is counted in units of ROWS_PER_TILE rows, which is also the row
 * group of the packed layouts, so a unit never splits a group. */
_Static_assert(ROWS_PER_TILE % OG_PACK_ROWS == 0, "a unit must hold whole packed groups");
static int64_t tensor_units(const og_gguf_tensor *w)
{
    return (w->ne[1] + ROWS_PER_TILE - 1) / ROWS_PER_TILE;
}

static size_t weight_row_bytes(const og_gguf_tensor *w)
{
    return og_type_is_packed(w->type) ? og_packed_row_bytes(w->type, w->ne[0]) : og_type_row_bytes(w->type, w->ne[0]);
}

static void units_to_rows(const og_gguf_tensor *w, int64_t u0, int64_t u1, int64_t *begin, int64_t *end)
{
    const int64_t n_rows = w->ne[1];
    *begin = u0 * ROWS_PER_TILE;
    *end = u1 * ROWS_PER_TILE < n_rows ? u1 * ROWS_PER_TILE : n_rows;
}

/* Converts n_tokens rows of x: one row at a time with from_float, or
 * (from_float NULL) in OG_TYPE_Q8_K_X8 groups with kern, dst_stride then
 * the bytes of a group. */
typedef struct quantize_job {
    og_from_float_fn from_float;
    const og_kernels *kern;
    const float *x;
    int64_t n_cols;
    uint8_t *dst;
    size_t dst_stride;
    int32_t n_tokens;
} quantize_job;

static void quantize_worker(void *arg, int ith, int nth)
{
    const quantize_job *job = arg;
    int64_t begin, end;
    og_pool_split(job->n_tokens, ith, nth, &begin, &end);
    for (int64_t t = begin; t < end; t++)
        job->from_float(job->x + t * job->n_cols, job->dst + (size_t)t * job->dst_stride, job->n_cols);
}

/* OG_TYPE_Q8_K_X8: threads take whole groups of eight tokens. */
static void quantize_x8_worker(void *arg, int ith, int nth)
{
    const quantize_job *job = arg;
    int64_t begin, end;
    og_pool_split((job->n_tokens + 7) / 8, ith, nth, &begin, &end);
    for (int64_t g = begin; g < end; g++) {
        const int32_t left = job->n_tokens - (int32_t)g * 8;
        og_q8_K_x8_from_float(job->kern, job->x + g * 8 * job->n_cols, (size_t)job->n_cols, left < 8 ? left : 8,
                              job->n_cols, job->dst + (size_t)g * job->dst_stride);
    }
}

/* Converts x to act_type into ctx->acts (or returns x itself for F32). */
static const uint8_t *prepare_acts(og_context *ctx, og_type act_type, const float *x, int64_t n_cols,
                                   int32_t n_tokens, size_t *stride)
{
    if (act_type == OG_TYPE_F32) {
        *stride = (size_t)n_cols * sizeof(float);
        return (const uint8_t *)x;
    }
    if (act_type == OG_TYPE_Q8_K_X8) {
        quantize_job job = { NULL, ctx->kern, x, n_cols, ctx->acts, og_q8_K_x8_bytes(8, n_cols), n_tokens };
        og_pool_run(ctx->pool, quantize_x8_worker, &job);
        *stride = job.dst_stride;
        return ctx->acts;
    }
    quantize_job job = { ctx->kern->from_float[act_type], ctx->kern, x, n_cols, ctx->acts,
                         og_type_row_bytes(act_type, n_cols), n_tokens };
    if (n_tokens < 4)
        quantize_worker(&job, 0, 1);
    else
        og_pool_run(ctx->pool, quantize_worker, &job);
    *stride = job.dst_stride;
    return ctx->acts;
}

/* Quantized gemm kernels equal their vec_dot bit for bit, so they serve
 * any batch. Float weights follow llama.cpp, whose tiled GEMM (another
 * summation order than its dot product) runs only for batches of two or
 * more tokens, rows in multiples of 4 and columns in multiples of 16. */
static bool use_gemm(const og_kernels *k, const og_gguf_tensor *w, int32_t n_tokens)
{
    if (!k->gemm[w->type])
        return false;
    if (w->type != OG_TYPE_F32 && w->type != OG_TYPE_F16)
        return true;
    return n_tokens >= 2 && w->ne[1] % 4 == 0 && w->ne[0] % 16 == 0;
}

/* The activations a product reads: its weight type's vec_dot type, or
 * for two tokens or more the interleaved Q8_K that gemm_x8 takes (same
 * values, faster) when the buffer holds it. */
static og_type act_type_for(const og_context *ctx, const og_gguf_tensor *w, int32_t n_tokens)
{
    if (n_tokens >= 2 && ctx->kern->gemm_x8[w->type] &&
        og_q8_K_x8_bytes(n_tokens, w->ne[0]) <= ctx->act_row_cap * (size_t)ctx->n_batch)
        return OG_TYPE_Q8_K_X8;
    return og_vec_dot_type(w->type);
}

static og_gemm_fn gemm_for(const og_context *ctx, const og_gguf_tensor *w, og_type act_type, int32_t n_tokens)
{
    if (act_type == OG_TYPE_Q8_K_X8)
        return ctx->kern->gemm_x8[w->type];
    return use_gemm(ctx->kern, w, ctx->rows_as_one ? 1 : n_tokens) ? ctx->kern->gemm[w->type] : NULL;
}

/* Several products over the same prepared activations, in one pass of
 * the pool, one barrier in all. Their rows are split as one list (the
 * products' units one after the other), so each thread streams a single
 * contiguous share instead of a piece of every product: the packed
 * copies lie in the order they are used, and every extra stream a thread
 * starts costs it a prefetcher ramp-up, which one token's short products
 * cannot hide. The split is by bytes of weights, which is what the
 * threads spend their time streaming. */
static void layout_set(og_set_layout *lay, const og_gguf_tensor *const *ws, int n)
{
    lay->n = n;
    lay->first_unit[0] = 0;
    lay->first_byte[0] = 0.0;
    for (int i = 0; i < n; i++) {
        const size_t row_bytes = weight_row_bytes(ws[i]);
        lay->first_unit[i + 1] = lay->first_unit[i] + tensor_units(ws[i]);
        /* (a type without a byte size counts its rows, so no row is left out) */
        lay->first_byte[i + 1] = lay->first_byte[i] + (double)(row_bytes ? row_bytes : 1) * (double)ws[i]->ne[1];
    }
}

/* The first unit whose weights start at or after byte target of the set,
 * so that threads get equal bytes when the products' types differ. */
static int64_t unit_at_byte(const og_set_layout *lay, double target)
{
    if (target <= 0.0)
        return 0;
    for (int i = 0; i < lay->n; i++)
        if (target < lay->first_byte[i + 1]) {
            const double unit_bytes = (lay->first_byte[i + 1] - lay->first_byte[i]) /
                                      (double)(lay->first_unit[i + 1] - lay->first_unit[i]);
            const double units = (target - lay->first_byte[i]) / unit_bytes;
            int64_t u = lay->first_unit[i] + (int64_t)units;
            return u + ((double)(u - lay->first_unit[i]) < units); /* rounded up */
        }
    return lay->first_unit[lay->n];
}

/* Thread ith's share [*u0, *u_end) of the set's units. */
static void share_of(const og_set_layout *lay, int ith, int nth, int64_t *u0, int64_t *u_end)
{
    const double total = lay->first_byte[lay->n];
    *u0 = unit_at_byte(lay, total * ith / nth);
    *u_end = unit_at_byte(lay, total * (ith + 1) / nth);
}

typedef struct matmul_set {
    const og_context *ctx;
    og_pool_fn before_fn; /* run first by every thread, if set */
    void *before_arg;
    matmul_job jobs[OG_MAX_FUSED];
    og_set_layout lay;
} matmul_set;

static void matmul_set_worker(void *arg, int ith, int nth)
{
    const matmul_set *set = arg;
    if (set->before_fn)
        set->before_fn(set->before_arg, ith, nth);
    const og_set_layout *lay = &set->lay;
    int64_t u0, u_end;
    share_of(lay, ith, nth, &u0, &u_end);
    for (int i = 0; i < lay->n && u0 < u_end; i++) {
        if (u0 >= lay->first_unit[i + 1])
            continue;
        const int64_t u1 = u_end < lay->first_unit[i + 1] ? u_end : lay->first_unit[i + 1];
        int64_t begin, end;
        units_to_rows(set->jobs[i].w, u0 - lay->first_unit[i], u1 - lay->first_unit[i], &begin, &end);
        matmul_rows(&set->jobs[i], begin, end);
        u0 = u1;
    }
    if (set->jobs[0].n_tokens == 1) /* prompts' passes are long: few waits */
        og_ops_prefetch_ahead(set->ctx, ith, nth);
}

static void run_set(og_context *ctx, matmul_set *set, int n)
{
    if (n == 0)
        return;
    const og_gguf_tensor *ws[OG_MAX_FUSED];
    for (int i = 0; i < n; i++)
        ws[i] = set->jobs[i].w;
    layout_set(&set->lay, ws, n);
    set->ctx = ctx;
    set->before_fn = ctx->before_fn;
    set->before_arg = ctx->before_arg;
    ctx->before_fn = NULL;
    og_pool_run(ctx->pool, matmul_set_worker, set);
}

/* How much of its next share a waiting thread prefetches: about what it
 * streams in the few microseconds a barrier of one token's passes costs,
 * well inside the 1 MiB L2 it must not push attention's data out of. */
#define AHEAD_BYTES (64u << 10)

void og_ops_before_next(og_context *ctx, og_pool_fn fn, void *arg)
{
    ctx->before_fn = fn;
    ctx->before_arg = arg;
}

void og_ops_ahead(og_context *ctx, const og_gguf_tensor *const *ws, int n_ws)
{
    for (int i = 0; i < n_ws; i++)
        ctx->ahead[i] = ws[i];
    layout_set(&ctx->ahead_layout, ws, n_ws); /* once, not in every thread of every pass */
}

void og_ops_prefetch_ahead(const og_context *ctx, int ith, int nth)
{
    const og_set_layout *lay = &ctx->ahead_layout;
    if (lay->n == 0 || nth == 1)
        return;
    int64_t u0, u_end;
    share_of(lay, ith, nth, &u0, &u_end);
    for (int i = 0; i < lay->n && u0 < u_end; i++) {
        if (u0 >= lay->first_unit[i + 1])
            continue;
        const og_gguf_tensor *w = ctx->ahead[i];
        int64_t begin, end;
        units_to_rows(w, u0 - lay->first_unit[i], u_end - lay->first_unit[i], &begin, &end);
        const size_t row_bytes = weight_row_bytes(w);
        size_t bytes = (size_t)(end - begin) * row_bytes;
        og_pool_prefetch_while_waiting(ctx->pool, ith, (const uint8_t *)w->data + (size_t)begin * row_bytes,
                                       bytes < AHEAD_BYTES ? bytes : AHEAD_BYTES);
        return;
    }
}

void og_ops_matmul_many(og_context *ctx, const og_gguf_tensor *const *ws, float *const *ys, int n_ws,
                        const float *x, int32_t n_tokens)
{
    og_type prepared = OG_KERNEL_TYPES; /* none yet */
    const uint8_t *acts = NULL;
    size_t stride = 0;
    matmul_set set;
    int n_set = 0;
    for (int i = 0; i < n_ws; i++) {
        const og_type act_type = act_type_for(ctx, ws[i], n_tokens);
        if (act_type != prepared) {
            run_set(ctx, &set, n_set); /* they read the activations about to be overwritten */
            n_set = 0;
            acts = prepare_acts(ctx, act_type, x, ws[i]->ne[0], n_tokens, &stride);
            prepared = act_type;
        }
        if (n_set == OG_MAX_FUSED) {
            run_set(ctx, &set, n_set);
            n_set = 0;
        }
        set.jobs[n_set++] =
            (matmul_job){ ctx->kern, gemm_for(ctx, ws[i], act_type, n_tokens), ws[i], acts, stride, n_tokens, ys[i] };
    }
    run_set(ctx, &set, n_set);
}

size_t og_ops_acts_bytes(int32_t n_batch, int64_t max_cols)
{
    const size_t fp16_rows = (size_t)n_batch * (size_t)max_cols * 2;
    const size_t x8 = og_q8_K_x8_bytes(n_batch, max_cols);
    return fp16_rows > x8 ? fp16_rows : x8;
}

void og_ops_matmul(og_context *ctx, const og_gguf_tensor *w, const float *x, int32_t n_tokens, float *y)
{
    og_ops_matmul_many(ctx, &w, &y, 1, x, n_tokens);
}

void og_ops_rms_norm(float *y, const float *x, const float *weight, int64_t n, float eps)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++)
        y[i] = (x[i] * scale) * weight[i];
}

/* exp over chunks of 16 with each chunk's sum added in double, then one
 * scale by the reciprocal: llama.cpp's softmax on AVX-512 (its AVX2 build:
 * chunks of 8, its own exp; og_llama_build_order). A short last chunk
 * behaves as if padded with masked (zero) entries, as llama.cpp's key
 * count is padded. */
OG_CLONES static void softmax_cloned(float *x, int64_t n, bool avx2)
{
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        max = x[i] > max ? x[i] : max;
    const int width = avx2 ? 8 : 16;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += width) {
        float chunk[16];
        for (int k = 0; k < width; k++)
            chunk[k] = i + k >= n ? 0.0f : avx2 ? og_expf_poly_avx2(x[i + k] - max) : og_expf_poly(x[i + k] - max);
        for (int k = 0; k < width && i + k < n; k++)
            x[i + k] = chunk[k];
        sum += (double)(avx2 ? og_reduce8(chunk) : og_reduce16(chunk));
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

/* A static clone keeps GCC's resolver local (a global one is exported
 * whatever -fvisibility says). */
void og_ops_softmax(float *x, int64_t n)
{
    softmax_cloned(x, n, og_llama_build_order() == OG_LLAMA_AVX2);
}

/* silu(g) = g / (1 + exp(-g)); llama.cpp evaluates it vectorized over
 * multiples of 16 (its AVX2 build: of 8, with its own exp) and with
 * libm's expf for the rest of a row. With vector_done, the vectorized
 * part is already computed (AVX-512). */
OG_CLONES static void swiglu_rows(float *out, const float *gate, const float *up, int64_t n_rows, int64_t row_len,
                                  bool vector_done, bool avx2)
{
    const int64_t n_vec = row_len & ~(int64_t)(avx2 ? 7 : 15);
    for (int64_t r = 0; r < n_rows; r++) {
        const float *g = gate + r * row_len, *u = up + r * row_len;
        float *o = out + r * row_len;
        for (int64_t i = 0; i < n_vec && !vector_done; i++)
            o[i] = g[i] / (1.0f + (avx2 ? og_expf_poly_avx2(0.0f - g[i]) : og_expf_poly(0.0f - g[i]))) * u[i];
        for (int64_t i = n_vec; i < row_len; i++)
            o[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    }
}

void og_ops_swiglu(float *out, const float *gate, const float *up, int64_t n_rows, int64_t row_len)
{
    const bool avx2 = og_llama_build_order() == OG_LLAMA_AVX2;
    bool vector_done = false;
#if defined(__x86_64__)
    if (!avx2 && strcmp(og_kernels_best()->isa, "avx512") == 0) {
        og_ops_swiglu_avx512(out, gate, up, n_rows, row_len);
        vector_done = true;
    }
#endif
    swiglu_rows(out, gate, up, n_rows, row_len, vector_done, avx2);
}

void og_ops_get_row(const og_kernels *k, const og_gguf_tensor *w, int64_t row, float *out)
{
    if (og_type_is_packed(w->type)) { /* a tied embedding, repacked for the output product */
        const og_type plain = og_plain_type(w->type);
        uint8_t block[64];
        for (int64_t b = 0; b < w->ne[0] / OG_QK; b++) {
            og_packed_block(w->type, w->data, w->ne[1], w->ne[0], row, b, block);
            k->to_float[plain](block, out + b * OG_QK, OG_QK);
        }
        return;
    }
    const size_t row_bytes = og_type_row_bytes(w->type, w->ne[0]);
    k->to_float[w->type]((const uint8_t *)w->data + (size_t)row * row_bytes, out, w->ne[0]);
}

void og_ops_layer_norm(float *y, const float *x, const float *weight, const float *bias, int64_t n, float eps)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)x[i];
    const float mean = (float)(sum / (double)n);
    double sq = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float d = x[i] - mean;
        sq += (double)(d * d);
    }
    const float scale = 1.0f / sqrtf((float)(sq / (double)n) + eps);
    for (int64_t i = 0; i < n; i++)
        y[i] = (x[i] - mean) * scale * weight[i] + bias[i];
}

void og_ops_add_bias(float *x, const float *bias, int64_t n_rows, int64_t row_len)
{
    for (int64_t r = 0; r < n_rows; r++)
        for (int64_t i = 0; i < row_len; i++)
            x[r * row_len + i] += bias[i];
}

void og_ops_gelu_erf(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

typedef struct rows_job {
    og_ops_row_fn row;
    void *arg;
    int32_t n;
} rows_job;

static void rows_worker(void *arg, int ith, int nth)
{
    const rows_job *job = arg;
    int64_t begin, end;
    og_pool_split(job->n, ith, nth, &begin, &end);
    for (int64_t t = begin; t < end; t++)
        job->row(job->arg, (int32_t)t);
}

void og_ops_for_rows(og_context *ctx, int32_t n, og_ops_row_fn row, void *arg)
{
    rows_job job = { row, arg, n };
    if (n < 4)
        rows_worker(&job, 0, 1);
    else
        og_pool_run(ctx->pool, rows_worker, &job);
}
