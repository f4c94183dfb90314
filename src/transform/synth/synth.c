/*
 * synth.c - llama-architecture GGUF files with random weights of a real
 * model's shape, so speed can be measured for shapes and types without
 * downloading weights, and tests can make small models of any type.
 *
 * The output is not a language model; its vocabulary is a minimal valid
 * "llama" SPM one (UNK, BOS, EOS, the 256 byte tokens, then made-up
 * pieces) so the loader, tokenizer and forward pass run unchanged. Values
 * depend only on the seed, so a file can be made again bit for bit, and
 * a tensor's floats do not depend on the type it is stored in: files of
 * every type hold the same weights, quantized by og_quantize_row_ref. The
 * K-quant types ("q4_k_m" ...) are llama-quantize's mixtures
 * (synth/quant_mix.h), so such a file equals what llama-quantize makes
 * from the "f32" file of the same shape and seed, tensor for tensor.
 *
 * Memory: the writer copies every tensor before writing, so peak memory is
 * about twice the file size (about 2.7 GB for llama-1b Q8_0).
 */
#define _POSIX_C_SOURCE 200809L /* strdup under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid_transform.h"
#include "gguf/writer.h"
#include "synth/quant_mix.h"
#include "tensor/kernels.h"

typedef struct shape {
    const char *name;
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx_train;
    float rope_base;
} shape;

static const shape shapes[] = {
    { "smollm2-135m", 576, 30, 9, 3, 1536, 49152, 8192, 100000.0f },
    { "llama-1b", 2048, 16, 32, 8, 8192, 128256, 131072, 500000.0f },
    /* small enough for tests: head_dim 16, rows multiples of 32 */
    { "tiny", 64, 2, 4, 2, 128, 512, 256, 10000.0f },
    /* small, with rows of multiples of 256 so K formats need no fallback,
     * 8 layers so the Q4_K_M mixture has layers of both kinds, and 4
     * query heads per KV head (head_dim 32), as Llama-3.2-1B has, which
     * the Q2_K mixture looks at */
    { "tiny-k", 256, 8, 8, 2, 512, 512, 256, 10000.0f },
};

typedef struct wtype {
    const char *name;
    og_type type;       /* of every matrix; OG_TYPE_COUNT: a K mixture */
    uint32_t file_type; /* general.file_type (llama.cpp's llama_ftype) */
} wtype;

static const wtype wtypes[] = {
    { "f32", OG_TYPE_F32, 0 },
    { "f16", OG_TYPE_F16, 1 },
    { "q4_0", OG_TYPE_Q4_0, 2 },
    { "q4_1", OG_TYPE_Q4_1, 3 },
    { "q8_0", OG_TYPE_Q8_0, 7 },
    { "q5_0", OG_TYPE_Q5_0, 8 },
    { "q5_1", OG_TYPE_Q5_1, 9 },
    { "q2_k", OG_TYPE_COUNT, OG_FTYPE_Q2_K },
    { "q3_k_s", OG_TYPE_COUNT, OG_FTYPE_Q3_K_S },
    { "q3_k_m", OG_TYPE_COUNT, OG_FTYPE_Q3_K_M },
    { "q3_k_l", OG_TYPE_COUNT, OG_FTYPE_Q3_K_L },
    { "q4_k_s", OG_TYPE_COUNT, OG_FTYPE_Q4_K_S },
    { "q4_k_m", OG_TYPE_COUNT, OG_FTYPE_Q4_K_M },
    { "q5_k_s", OG_TYPE_COUNT, OG_FTYPE_Q5_K_S },
    { "q5_k_m", OG_TYPE_COUNT, OG_FTYPE_Q5_K_M },
    { "q6_k", OG_TYPE_COUNT, OG_FTYPE_Q6_K },
};
#define TYPE_LIST                                                                                              \
    "f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m "    \
    "or q6_k"

/* The tensors of one layer, in the order they are generated. */
typedef struct tensor_spec {
    const char *suffix;
    int64_t cols, rows; /* rows 0: a norm of cols */
} tensor_spec;
#define LAYER_TENSORS 9

static void layer_tensors(const shape *s, tensor_spec T[LAYER_TENSORS])
{
    const int64_t kv_dim = (int64_t)(s->n_embd / s->n_head) * s->n_head_kv;
    const tensor_spec t[LAYER_TENSORS] = {
        { "attn_norm", s->n_embd, 0 },   { "attn_q", s->n_embd, s->n_embd }, { "attn_k", s->n_embd, kv_dim },
        { "attn_v", s->n_embd, kv_dim }, { "attn_output", s->n_embd, s->n_embd },
        { "ffn_norm", s->n_embd, 0 },    { "ffn_gate", s->n_embd, s->n_ff }, { "ffn_up", s->n_embd, s->n_ff },
        { "ffn_down", s->n_ff, s->n_embd },
    };
    memcpy(T, t, sizeof t);
}

/* The type a matrix is stored in: the file's one type, or the mixture's
 * choice for it (OG_TYPE_COUNT: a type offgrid does not write). */
static og_type matrix_type(const shape *s, const wtype *t, const char *suffix, int64_t cols, int layer)
{
    if (t->type != OG_TYPE_COUNT)
        return t->type;
    return og_quant_mix_type(t->file_type, suffix, cols, layer, s->n_layer, s->n_head / s->n_head_kv);
}

/* The first matrix the mixture has no writable type for, or NULL. */
static const char *unwritable_matrix(const shape *s, const wtype *t)
{
    if (matrix_type(s, t, "token_embd", s->n_embd, 0) == OG_TYPE_COUNT)
        return "token_embd";
    tensor_spec T[LAYER_TENSORS];
    layer_tensors(s, T);
    for (int32_t l = 0; l < s->n_layer; l++)
        for (int i = 0; i < LAYER_TENSORS; i++)
            if (T[i].rows && matrix_type(s, t, T[i].suffix, T[i].cols, l) == OG_TYPE_COUNT)
                return T[i].suffix;
    return NULL;
}

/* GGUF token types (tokenizer.ggml.token_type) */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_BYTE = 6 };

/* Small std so activations stay finite through any number of layers. */
#define WEIGHT_STD 0.02f

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Normal-ish: the sum of four 16-bit uniforms (Irwin-Hall), scaled to unit
 * variance. One 64-bit draw per value keeps billions of weights fast. */
static float randn(uint64_t *state)
{
    uint64_t r = splitmix64(state);
    float s = 0;
    for (int i = 0; i < 4; i++, r >>= 16)
        s += (float)(r & 0xFFFF) * (1.0f / 65536.0f);
    return (s - 2.0f) * 1.7320508f; /* var of the sum is 4/12 */
}

static bool add_matrix(og_gguf_writer *w, const char *name, og_type type, int64_t cols, int64_t rows,
                       uint64_t *rng)
{
    size_t row_bytes = og_type_row_bytes(type, cols);
    float *x = malloc((size_t)cols * sizeof *x);
    uint8_t *data = malloc(row_bytes * (size_t)rows);
    bool ok = x && data && row_bytes;
    for (int64_t r = 0; ok && r < rows; r++) {
        for (int64_t c = 0; c < cols; c++)
            x[c] = WEIGHT_STD * randn(rng);
        ok = og_quantize_row_ref(type, x, data + (size_t)r * row_bytes, cols);
    }
    int64_t ne[4] = { cols, rows, 1, 1 };
    if (ok)
        og_gguf_writer_tensor(w, name, type, 2, ne, data);
    free(x);
    free(data);
    return ok;
}

/* RMSNorm weights near 1, as trained models have them. */
static bool add_norm(og_gguf_writer *w, const char *name, int64_t n, uint64_t *rng)
{
    float *x = malloc((size_t)n * sizeof *x);
    if (!x)
        return false;
    for (int64_t i = 0; i < n; i++)
        x[i] = 1.0f + 0.05f * randn(rng);
    int64_t ne[4] = { n, 1, 1, 1 };
    og_gguf_writer_tensor(w, name, OG_TYPE_F32, 1, ne, x);
    free(x);
    return true;
}

static bool add_vocab(og_gguf_writer *w, int32_t n_vocab)
{
    char **pieces = calloc((size_t)n_vocab, sizeof *pieces);
    float *scores = malloc((size_t)n_vocab * sizeof *scores);
    int32_t *types = malloc((size_t)n_vocab * sizeof *types);
    bool ok = pieces && scores && types;
    for (int32_t i = 0; ok && i < n_vocab; i++) {
        char buf[32];
        if (i == 0)
            snprintf(buf, sizeof buf, "<unk>"), types[i] = TT_UNKNOWN;
        else if (i == 1)
            snprintf(buf, sizeof buf, "<s>"), types[i] = TT_CONTROL;
        else if (i == 2)
            snprintf(buf, sizeof buf, "</s>"), types[i] = TT_CONTROL;
        else if (i < 3 + 256)
            snprintf(buf, sizeof buf, "<0x%02X>", i - 3), types[i] = TT_BYTE;
        else /* "▁t<i>": unique, and the SPM space marker makes them word-like */
            snprintf(buf, sizeof buf, "\xe2\x96\x81t%d", i), types[i] = TT_NORMAL;
        scores[i] = types[i] == TT_NORMAL ? -(float)i : 0.0f;
        ok = (pieces[i] = strdup(buf)) != NULL;
    }
    if (ok) {
        og_gguf_writer_str(w, "tokenizer.ggml.model", "llama");
        og_gguf_writer_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)pieces, (uint64_t)n_vocab);
        og_gguf_writer_arr(w, "tokenizer.ggml.scores", OG_GGUF_F32, scores, (uint64_t)n_vocab);
        og_gguf_writer_arr(w, "tokenizer.ggml.token_type", OG_GGUF_I32, types, (uint64_t)n_vocab);
        og_gguf_writer_u32(w, "tokenizer.ggml.unknown_token_id", 0);
        og_gguf_writer_u32(w, "tokenizer.ggml.bos_token_id", 1);
        og_gguf_writer_u32(w, "tokenizer.ggml.eos_token_id", 2);
        og_gguf_writer_bool(w, "tokenizer.ggml.add_bos_token", true);
    }
    for (int32_t i = 0; pieces && i < n_vocab; i++)
        free(pieces[i]);
    free(pieces);
    free(scores);
    free(types);
    return ok;
}

static bool build(og_gguf_writer *w, const shape *s, const wtype *t, uint64_t seed, og_synth_progress_fn progress,
                  void *arg)
{
    char name[128];
    snprintf(name, sizeof name, "synthetic %s %s", s->name, t->name);
    int32_t head_dim = s->n_embd / s->n_head;
    og_gguf_writer_str(w, "general.architecture", "llama");
    og_gguf_writer_str(w, "general.name", name);
    og_gguf_writer_u32(w, "general.file_type", t->file_type);
    og_gguf_writer_u32(w, "llama.context_length", (uint32_t)s->n_ctx_train);
    og_gguf_writer_u32(w, "llama.embedding_length", (uint32_t)s->n_embd);
    og_gguf_writer_u32(w, "llama.block_count", (uint32_t)s->n_layer);
    og_gguf_writer_u32(w, "llama.feed_forward_length", (uint32_t)s->n_ff);
    og_gguf_writer_u32(w, "llama.attention.head_count", (uint32_t)s->n_head);
    og_gguf_writer_u32(w, "llama.attention.head_count_kv", (uint32_t)s->n_head_kv);
    og_gguf_writer_u32(w, "llama.rope.dimension_count", (uint32_t)head_dim);
    og_gguf_writer_u32(w, "llama.vocab_size", (uint32_t)s->n_vocab);
    og_gguf_writer_f32(w, "llama.rope.freq_base", s->rope_base);
    og_gguf_writer_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    bool ok = add_vocab(w, s->n_vocab);
    /* Every tensor has its own stream so a tensor's values do not depend
     * on the order they are generated in. */
    uint64_t stream = seed * 0x100000001B3ull;
    uint64_t rng = stream++;
    /* The output projection is tied to token_embd (no output.weight), as in
     * both real models. */
    ok = ok && add_matrix(w, "token_embd.weight", matrix_type(s, t, "token_embd", s->n_embd, 0), s->n_embd,
                          s->n_vocab, &rng);
    rng = stream++;
    ok = ok && add_norm(w, "output_norm.weight", s->n_embd, &rng);
    /* A failure the writer recorded stops the generating too. */
    for (int32_t l = 0; ok && og_gguf_writer_status(w, NULL) == OG_OK && l < s->n_layer; l++) {
        if (progress)
            progress(l, s->n_layer, arg);
        tensor_spec T[LAYER_TENSORS];
        layer_tensors(s, T);
        for (int i = 0; ok && i < LAYER_TENSORS; i++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, T[i].suffix);
            rng = stream++;
            ok = T[i].rows ? add_matrix(w, name, matrix_type(s, t, T[i].suffix, T[i].cols, l), T[i].cols, T[i].rows,
                                        &rng)
                           : add_norm(w, name, T[i].cols, &rng);
        }
    }
    return ok;
}

og_status og_synth_write(const char *path, const char *shape_name, const char *type_name, uint64_t seed,
                         og_synth_progress_fn progress, void *arg, og_error *err)
{
    const shape *s = NULL;
    const wtype *t = NULL;
    for (size_t i = 0; shape_name && i < sizeof shapes / sizeof shapes[0]; i++)
        if (!strcmp(shape_name, shapes[i].name))
            s = &shapes[i];
    for (size_t i = 0; type_name && i < sizeof wtypes / sizeof wtypes[0]; i++)
        if (!strcmp(type_name, wtypes[i].name))
            t = &wtypes[i];
    if (!s)
        return og_error_set(err, OG_ERR_ARG, "unknown shape '%s' (smollm2-135m, llama-1b, tiny or tiny-k)",
                            shape_name ? shape_name : "(none)");
    if (!t)
        return og_error_set(err, OG_ERR_ARG, "unknown type '%s' (" TYPE_LIST ")",
                            type_name ? type_name : "(none)");
    const char *gap = unwritable_matrix(s, t);
    if (gap)
        return og_error_set(err, OG_ERR_ARG,
                            "type %s needs rows that are multiples of 256 for %s, and shape %s has not; "
                            "llama-quantize would write IQ4_NL there, which offgrid does not (try shape tiny-k)",
                            t->name, gap, s->name);
    og_gguf_writer *w = NULL;
    og_status st = og_gguf_writer_new(&w, err);
    if (st != OG_OK)
        return st;
    if (!build(w, s, t, seed, progress, arg)) {
        og_gguf_writer_free(w);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory building %s %s", s->name, t->name);
    }
    st = og_gguf_writer_to_file(w, path, err);
    og_gguf_writer_free(w);
    return st;
}
