/*
 * test_convert.c - converts the real all-MiniLM-L6-v2 folder (fetched by
 * tools/setup.sh --models) to F32, F16 and Q8_0 and checks the GGUF
 * against the checkpoint: keys, every tensor's llama.cpp name, shape,
 * type and values, and the converted WordPiece vocab against token ids
 * from the Hugging Face tokenizers library (tests/fixtures/minilm_tokens.txt).
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fp16.h"
#include "convert/safetensors.h"
#include "gguf/gguf.h"
#include "tensor/kernels.h"
#include "testlib.h"
#include "tokenizer/vocab.h"

#define MINILM_DIR OG_MODELS_DIR "/all-MiniLM-L6-v2"

/* The GGUF name llama.cpp gives a checkpoint tensor; NULL for dropped ones. */
static bool expected_name(const char *hf, char *out, size_t cap)
{
    static const char *const globals[][2] = {
        { "embeddings.word_embeddings.weight", "token_embd.weight" },
        { "embeddings.position_embeddings.weight", "position_embd.weight" },
        { "embeddings.token_type_embeddings.weight", "token_types.weight" },
        { "embeddings.LayerNorm.weight", "token_embd_norm.weight" },
        { "embeddings.LayerNorm.bias", "token_embd_norm.bias" },
    };
    static const char *const layer[][2] = {
        { "attention.self.query.", "attn_q." },        { "attention.self.key.", "attn_k." },
        { "attention.self.value.", "attn_v." },        { "attention.output.dense.", "attn_output." },
        { "attention.output.LayerNorm.", "attn_output_norm." }, { "intermediate.dense.", "ffn_up." },
        { "output.dense.", "ffn_down." },              { "output.LayerNorm.", "layer_output_norm." },
    };
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (!strcmp(hf, globals[i][0])) {
            snprintf(out, cap, "%s", globals[i][1]);
            return true;
        }
    int l, n = 0;
    if (sscanf(hf, "encoder.layer.%d.%n", &l, &n) == 1 && n)
        for (size_t i = 0; i < sizeof layer / sizeof layer[0]; i++)
            if (!strncmp(hf + n, layer[i][0], strlen(layer[i][0]))) {
                snprintf(out, cap, "blk.%d.%s%s", l, layer[i][1], hf + n + strlen(layer[i][0]));
                return true;
            }
    return false;
}

static og_type expected_type(const char *name, int n_dims, og_convert_type type)
{
    size_t n = strlen(name);
    if (type == OG_CONVERT_F32 || n_dims == 1 || (n > 12 && !strcmp(name + n - 12, "_norm.weight")) ||
        !strcmp(name, "position_embd.weight") || !strcmp(name, "token_types.weight"))
        return OG_TYPE_F32;
    return type == OG_CONVERT_Q8_0 ? OG_TYPE_Q8_0 : OG_TYPE_F16;
}

/* Every row of the GGUF tensor against the checkpoint's values. */
static int compare_values(const og_st_tensor *src, const og_gguf_tensor *dst)
{
    const og_kernels *k = og_kernels_scalar();
    int64_t cols = dst->ne[0], rows = (int64_t)(src->n_elements / (uint64_t)cols);
    size_t row_bytes = og_type_row_bytes(dst->type, cols);
    float *want = malloc((size_t)cols * sizeof *want), *got = malloc((size_t)cols * sizeof *got);
    int bad = 0;
    for (int64_t r = 0; r < rows && !bad; r++) {
        og_error err = { 0 };
        if (og_st_read_f32(src, (uint64_t)(r * cols), (uint64_t)cols, want, &err) != OG_OK) {
            bad++;
            break;
        }
        k->to_float[dst->type]((const uint8_t *)dst->data + (size_t)r * row_bytes, got, cols);
        float amax = 0;
        for (int64_t c = 0; c < cols; c++)
            amax = fmaxf(amax, fabsf(want[c]));
        for (int64_t c = 0; c < cols && !bad; c++) {
            float expect = dst->type == OG_TYPE_F16 ? og_fp16_to_f32(og_f32_to_fp16(want[c])) : want[c];
            /* Q8_0: at most half a step of d = amax/127, plus 127 times the F16 rounding of d (under 0.07 d) */
            float tol = dst->type == OG_TYPE_Q8_0 ? amax / 127.0f * 0.6f + 1e-7f : 0.0f;
            if (!(fabsf(got[c] - expect) <= tol)) {
                fprintf(stderr, "%.*s row %lld col %lld: got %g want %g\n", (int)dst->name.len, dst->name.ptr,
                        (long long)r, (long long)c, got[c], expect);
                bad++;
            }
        }
    }
    free(want);
    free(got);
    return bad;
}

static void check_u32(const og_gguf *g, const char *key, uint32_t want)
{
    uint32_t v = 0;
    CHECK(og_gguf_get_u32(g, key, &v) && v == want, "%s = %u, want %u", key, v, want);
}

static void check_tokenizer(const og_gguf *g)
{
    og_vocab *v = NULL;
    og_error err = { 0 };
    CHECK(og_vocab_load(g, &v, &err) == OG_OK, "vocab: %s", err.message);
    if (!v)
        return;
    CHECK(!strcmp(og_vocab_model_name(v), "bert") && og_vocab_n_tokens(v) == 30522, "vocab kind/size");
    FILE *f = fopen(OG_TEST_DATA "/../fixtures/minilm_tokens.txt", "r");
    CHECK(f != NULL, "missing tests/fixtures/minilm_tokens.txt");
    char line[4096];
    int n_lines = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        char *text = tab + 1;
        text[strcspn(text, "\n")] = 0;
        og_token want[256], got[256];
        int n_want = 0;
        for (char *p = line, *end; n_want < 256; p = end) {
            long id = strtol(p, &end, 10);
            if (end == p)
                break;
            want[n_want++] = (og_token)id;
        }
        int32_t n_got = og_vocab_tokenize(v, text, strlen(text), got, 256, true, false);
        bool same = n_got == n_want && !memcmp(got, want, (size_t)n_want * sizeof *got);
        CHECK(same, "tokens of '%s': got %d ids, want %d", text, n_got, n_want);
        n_lines++;
    }
    if (f)
        fclose(f);
    CHECK(n_lines == 8, "%d fixture lines", n_lines);
    og_vocab_free(v);
}

static void progress(void *user, int64_t done, int64_t total, const char *tensor)
{
    int64_t *calls = user;
    (void)tensor;
    calls[0]++;
    calls[1] = done == total;
}

static void check_conversion(const char *tmp, og_convert_type type, const char *tname, og_st_file *st)
{
    char out[512];
    snprintf(out, sizeof out, "%s/minilm.%s.gguf", tmp, tname);
    og_convert_params p = og_convert_default_params();
    p.type = type;
    int64_t calls[2] = { 0, 0 };
    p.progress = progress;
    p.user = calls;
    og_error err = { 0 };
    og_status s = og_convert_hf(MINILM_DIR, out, &p, &err);
    CHECK(s == OG_OK, "convert %s: %s", tname, err.message);
    CHECK(calls[0] == (int64_t)og_st_n_tensors(st) && calls[1] == 1, "progress: %lld calls", (long long)calls[0]);
    og_gguf *g;
    CHECK(og_gguf_open(out, &g, &err) == OG_OK, "open %s: %s", out, err.message);
    if (!g)
        return;
    og_str arch = { 0 };
    CHECK(og_gguf_get_str(g, "general.architecture", &arch) && og_str_eq(arch, "bert"), "architecture");
    check_u32(g, "general.file_type", type == OG_CONVERT_F32 ? 0 : type == OG_CONVERT_F16 ? 1 : 7);
    check_u32(g, "bert.block_count", 6);
    check_u32(g, "bert.embedding_length", 384);
    check_u32(g, "bert.feed_forward_length", 1536);
    check_u32(g, "bert.attention.head_count", 12);
    check_u32(g, "bert.context_length", 512);
    check_u32(g, "bert.pooling_type", 1);
    check_u32(g, OG_KEY_ENCODER_MAX_TOKENS, 256); /* sentence_bert_config.json */
    check_u32(g, "tokenizer.ggml.token_type_count", 2);
    check_u32(g, "tokenizer.ggml.cls_token_id", 101);
    check_u32(g, "tokenizer.ggml.seperator_token_id", 102);
    check_u32(g, "tokenizer.ggml.padding_token_id", 0);
    float eps = 0;
    CHECK(og_gguf_get_f32(g, "bert.attention.layer_norm_epsilon", &eps) && eps == 1e-12f, "eps %g", eps);
    bool causal = true;
    CHECK(og_gguf_get_bool(g, "bert.attention.causal", &causal) && !causal, "causal");
    CHECK(og_gguf_n_tensors(g) == 101, "%lld tensors", (long long)og_gguf_n_tensors(g));

    int matched = 0, bad_values = 0;
    for (size_t i = 0; i < og_st_n_tensors(st); i++) {
        const og_st_tensor *t = og_st_tensor_at(st, i);
        char name[128];
        if (!expected_name(t->name, name, sizeof name)) {
            CHECK(!strcmp(t->name, "embeddings.position_ids") || !strncmp(t->name, "pooler.", 7),
                  "unexpected checkpoint tensor %s", t->name);
            continue;
        }
        const og_gguf_tensor *d = og_gguf_find_tensor(g, name);
        CHECK(d != NULL, "%s (from %s) missing", name, t->name);
        if (!d)
            continue;
        bool shape_ok = d->n_dims == t->n_dims;
        for (int k = 0; shape_ok && k < t->n_dims; k++)
            shape_ok = d->ne[k] == t->shape[t->n_dims - 1 - k];
        CHECK(shape_ok, "%s: shape", name);
        og_type want = expected_type(name, t->n_dims, type);
        CHECK(d->type == want, "%s: type %s, want %s", name, og_type_name(d->type), og_type_name(want));
        if (shape_ok && d->type == want)
            bad_values += compare_values(t, d);
        matched++;
    }
    CHECK(matched == 101, "%d tensors matched", matched);
    CHECK(bad_values == 0, "%s: %d tensors with wrong values", tname, bad_values);
    if (type == OG_CONVERT_F32)
        check_tokenizer(g);
    og_gguf_close(g);
    char partial[600];
    snprintf(partial, sizeof partial, "%s.partial", out);
    CHECK(access(partial, F_OK) != 0, "%s left behind", partial);
    unlink(out);
}

int main(void)
{
    og_error err = { 0 };
    og_st_file *st;
    CHECK(og_st_open(MINILM_DIR "/model.safetensors", &st, &err) == OG_OK, "%s (the all-MiniLM-L6-v2 folder comes from tools/setup.sh --models)", err.message);
    if (!st)
        return og_test_finish("test_convert");
    char tmp[] = "/tmp/og_convert_XXXXXX";
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    check_conversion(tmp, OG_CONVERT_F32, "f32", st);
    check_conversion(tmp, OG_CONVERT_F16, "f16", st);
    check_conversion(tmp, OG_CONVERT_Q8_0, "q8_0", st);
    og_st_close(st);
    rmdir(tmp);
    return og_test_finish("test_convert");
}
