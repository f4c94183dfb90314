/*
 * test_convert_tiny.c - the converter on small Hugging Face folders built
 * here: a LlamaForCausalLM with a byte-level BPE tokenizer (keys, the Q/K
 * row order llama.cpp's RoPE expects, BF16 input, padding of the vocab,
 * then loading and running it in offgrid), the same with a SentencePiece
 * tokenizer.model written here, a BertForSequenceClassification
 * with only vocab.txt (old "bert." names, gamma/beta, pooler and
 * classifier heads, labels), and folders that must fail with a message
 * naming the problem and without leaving an output file.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fp16.h"
#include "gguf/gguf.h"
#include "st_write.h"
#include "testlib.h"
#include "tokenizer/vocab.h"

static char tmp[] = "/tmp/og_convert_tiny_XXXXXX";

/* Deterministic weights: small, different in every tensor and element. */
static float *values(size_t n, int seed)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = 0.05f * sinf((float)i * 0.37f + (float)seed * 1.3f);
    return v;
}

static bool add(st_writer *w, const char *name, const char *dtype, int64_t d0, int64_t d1, int seed)
{
    int64_t shape[2] = { d0, d1 };
    float *v = values((size_t)(d0 * (d1 ? d1 : 1)), seed);
    bool ok = v && st_writer_add(w, name, dtype, d1 ? 2 : 1, shape, v);
    free(v);
    return ok;
}

static const char *make_dir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    mkdir(path, 0755);
    return path;
}

static void check_u32(const og_gguf *g, const char *key, uint32_t want)
{
    uint32_t v = 0;
    CHECK(og_gguf_get_u32(g, key, &v) && v == want, "%s = %u, want %u", key, v, want);
}

static const og_str *str_at(const og_gguf *g, const char *key, uint64_t i)
{
    const og_gguf_kv *kv = og_gguf_get_arr(g, key, OG_GGUF_STRING);
    return kv && i < kv->n ? &kv->strs[i] : NULL;
}

/* ---------------------------------------------------------------- llama */

enum { E = 64, FF = 128, HEADS = 4, KV_HEADS = 2, LAYERS = 2, VOCAB = 128, HD = E / HEADS };

static bool write_llama(const char *dir, int n_vocab)
{
    char tok[8192], *p = tok;
    p += sprintf(p, "{\"version\":\"1.0\",\"added_tokens\":["
                    "{\"id\":0,\"content\":\"<|endoftext|>\",\"special\":true},"
                    "{\"id\":1,\"content\":\"<|im_start|>\",\"special\":true},"
                    "{\"id\":2,\"content\":\"<|im_end|>\",\"special\":true}],"
                    "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
                    "{\"type\":\"Digits\",\"individual_digits\":true},"
                    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}]},"
                    "\"model\":{\"type\":\"BPE\",\"vocab\":{\"<|endoftext|>\":0,\"<|im_start|>\":1,\"<|im_end|>\":2");
    /* printable ASCII is its own byte-level spelling: ids 3..96 */
    for (int c = 33; c <= 126; c++)
        p += sprintf(p, c == '"' || c == '\\' ? ",\"\\%c\":%d" : ",\"%c\":%d", c, c - 30);
    p += sprintf(p, ",\"\xc4\xa0\":97,\"\xc4\xa0t\":98,\"he\":99,\"\xc4\xa0the\":100},"
                    "\"merges\":[\"\xc4\xa0 t\",\"h e\",[\"\xc4\xa0t\",\"he\"]]}}");
    char config[1024];
    snprintf(config, sizeof config,
             "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"intermediate_size\":128,"
             "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"num_hidden_layers\":2,"
             "\"max_position_embeddings\":256,\"rms_norm_eps\":1e-5,\"rope_theta\":10000.0,"
             "\"vocab_size\":%d,\"tie_word_embeddings\":true,\"bos_token_id\":1,\"eos_token_id\":2}", n_vocab);
    st_writer *w = st_writer_new();
    bool ok = w && st_write_text(dir, "tokenizer.json", tok) &&
              st_write_text(dir, "config.json", config) &&
              st_write_text(dir, "tokenizer_config.json",
                            "{\"bos_token\":\"<|im_start|>\",\"eos_token\":\"<|im_end|>\",\"unk_token\":\"<|endoftext|>\","
                            "\"add_bos_token\":false,\"chat_template\":\"{% for m in messages %}<|im_start|>{{ m.role }}"
                            "\\n{{ m.content }}<|im_end|>\\n{% endfor %}\"}");
    ok = ok && add(w, "model.embed_tokens.weight", "F32", n_vocab, E, 1) && add(w, "model.norm.weight", "F32", E, 0, 2);
    for (int l = 0; ok && l < LAYERS; l++) {
        static const struct {
            const char *name, *dtype;
            int64_t rows, cols;
        } T[] = {
            { "input_layernorm", "F32", E, 0 },          { "self_attn.q_proj", "BF16", E, E },
            { "self_attn.k_proj", "F16", KV_HEADS * HD, E }, { "self_attn.v_proj", "F32", KV_HEADS * HD, E },
            { "self_attn.o_proj", "F32", E, E },         { "post_attention_layernorm", "F32", E, 0 },
            { "mlp.gate_proj", "F32", FF, E },           { "mlp.up_proj", "F32", FF, E },
            { "mlp.down_proj", "F32", E, FF },
        };
        for (size_t i = 0; ok && i < sizeof T / sizeof T[0]; i++) {
            char name[128];
            snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, T[i].name);
            ok = add(w, name, T[i].dtype, T[i].rows, T[i].cols, 10 + l * 16 + (int)i);
        }
    }
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ok = ok && st_writer_save(w, path);
    st_writer_free(w);
    return ok;
}

/* llama.cpp's order: output row h*HD + 2k + t is checkpoint row h*HD + t*HD/2 + k. */
static void check_permuted(const og_gguf *g, const char *name, int n_head, const char *dtype, int seed)
{
    const og_gguf_tensor *t = og_gguf_find_tensor(g, name);
    CHECK(t && t->type == OG_TYPE_F32 && t->ne[0] == E && t->ne[1] == n_head * HD, "%s shape/type", name);
    if (!t)
        return;
    float *src = values((size_t)(n_head * HD * E), seed);
    int bad = 0;
    for (int h = 0; h < n_head; h++)
        for (int k = 0; k < HD / 2; k++)
            for (int s = 0; s < 2; s++)
                for (int c = 0; c < E; c++) {
                    float want = src[(size_t)((h * HD + s * HD / 2 + k) * E + c)];
                    want = !strcmp(dtype, "BF16") ? og_bf16_to_f32(og_f32_to_bf16(want))
                                                  : og_fp16_to_f32(og_f32_to_fp16(want));
                    bad += ((const float *)t->data)[(h * HD + 2 * k + s) * E + c] != want;
                }
    CHECK(bad == 0, "%s: %d values out of llama.cpp's row order", name, bad);
    free(src);
}

static void test_llama(void)
{
    const char *dir = make_dir("llama");
    CHECK(write_llama(dir, VOCAB), "writing the llama folder");
    char out[600];
    snprintf(out, sizeof out, "%s/llama.gguf", tmp);
    og_convert_params p = og_convert_default_params();
    p.type = OG_CONVERT_F32;
    og_error err = { 0 };
    CHECK(og_convert_hf(dir, out, &p, &err) == OG_OK, "convert llama: %s", err.message);
    og_gguf *g;
    CHECK(og_gguf_open(out, &g, &err) == OG_OK, "%s", err.message);
    if (!g)
        return;
    og_str s = { 0 };
    CHECK(og_gguf_get_str(g, "general.architecture", &s) && og_str_eq(s, "llama"), "arch");
    check_u32(g, "llama.block_count", LAYERS);
    check_u32(g, "llama.embedding_length", E);
    check_u32(g, "llama.feed_forward_length", FF);
    check_u32(g, "llama.attention.head_count", HEADS);
    check_u32(g, "llama.attention.head_count_kv", KV_HEADS);
    check_u32(g, "llama.context_length", 256);
    check_u32(g, "llama.vocab_size", VOCAB);
    check_u32(g, "llama.rope.dimension_count", HD);
    check_u32(g, "tokenizer.ggml.bos_token_id", 1);
    check_u32(g, "tokenizer.ggml.eos_token_id", 2);
    check_u32(g, "tokenizer.ggml.unknown_token_id", 0);
    float f = 0;
    CHECK(og_gguf_get_f32(g, "llama.rope.freq_base", &f) && f == 10000.0f, "freq_base");
    CHECK(og_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f) && f == 1e-5f, "rms eps");
    CHECK(og_gguf_get_str(g, "tokenizer.ggml.model", &s) && og_str_eq(s, "gpt2"), "tokenizer model");
    CHECK(og_gguf_get_str(g, "tokenizer.ggml.pre", &s) && og_str_eq(s, "smollm"), "pre");
    CHECK(og_gguf_get_str(g, "tokenizer.chat_template", &s) && s.len > 20, "chat template");
    bool b = true;
    CHECK(og_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) && !b, "add_bos_token");
    const og_str *t3 = str_at(g, "tokenizer.ggml.tokens", 3), *t100 = str_at(g, "tokenizer.ggml.tokens", 100);
    const og_str *t101 = str_at(g, "tokenizer.ggml.tokens", 101), *m2 = str_at(g, "tokenizer.ggml.merges", 2);
    CHECK(t3 && og_str_eq(*t3, "!") && t100 && og_str_eq(*t100, "\xc4\xa0the"), "tokens");
    CHECK(t101 && og_str_eq(*t101, "[PAD101]") && !str_at(g, "tokenizer.ggml.tokens", VOCAB), "padding to vocab_size");
    CHECK(m2 && og_str_eq(*m2, "\xc4\xa0t he"), "merge from a pair");
    const og_gguf_kv *types = og_gguf_get_arr(g, "tokenizer.ggml.token_type", OG_GGUF_I32);
    CHECK(types && types->n == VOCAB && og_gguf_arr_i64(types, 0) == 3 && og_gguf_arr_i64(types, 3) == 1 &&
              og_gguf_arr_i64(types, 101) == 5,
          "token types");
    CHECK(og_gguf_n_tensors(g) == 2 + 9 * LAYERS, "%lld tensors", (long long)og_gguf_n_tensors(g));
    CHECK(!og_gguf_find_tensor(g, "output.weight"), "a tied embedding gets no output.weight");
    const og_gguf_tensor *emb = og_gguf_find_tensor(g, "token_embd.weight");
    CHECK(emb && emb->ne[0] == E && emb->ne[1] == VOCAB, "token_embd shape");
    CHECK(og_gguf_find_tensor(g, "blk.1.ffn_down.weight") && og_gguf_find_tensor(g, "blk.0.attn_norm.weight") &&
              og_gguf_find_tensor(g, "blk.1.ffn_norm.weight") && og_gguf_find_tensor(g, "output_norm.weight"),
          "tensor names");
    check_permuted(g, "blk.0.attn_q.weight", HEADS, "BF16", 11);
    check_permuted(g, "blk.1.attn_k.weight", KV_HEADS, "F16", 10 + 16 + 2);
    og_gguf_close(g);

    /* offgrid loads and runs it. */
    og_model *m = NULL;
    og_model_params mp = og_model_default_params();
    CHECK(og_model_load(out, &mp, &m, &err) == OG_OK, "load: %s", err.message);
    og_context *ctx = NULL;
    og_context_params cp = og_context_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 1;
    if (m)
        CHECK(og_context_new(m, &cp, &ctx, &err) == OG_OK, "context: %s", err.message);
    og_token ids[16];
    int32_t n = m ? og_tokenize(m, " the the!", 9, ids, 16, true, true) : 0;
    CHECK(n == 3 && ids[0] == 100 && ids[1] == 100 && ids[2] == 3, "tokens of ' the the!': %d (first %d)", n,
          n > 0 ? ids[0] : -1);
    if (ctx && n > 0) {
        CHECK(og_decode(ctx, ids, n, false, &err) == OG_OK, "decode: %s", err.message);
        const float *logits = og_get_logits(ctx, -1);
        bool finite = logits != NULL;
        for (int i = 0; finite && i < VOCAB; i++)
            finite = isfinite(logits[i]);
        CHECK(finite, "logits finite");
    }
    og_context_free(ctx);
    og_model_free(m);
    unlink(out);
}

/* ------------------------------------------------------ llama with SPM */

typedef struct pbuf {
    uint8_t b[8192];
    size_t n;
} pbuf;

static void pb_varint(pbuf *p, uint64_t v)
{
    do {
        p->b[p->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

/* One SentencePiece message (piece = 1, score = 2, type = 3) as field 1. */
static void pb_piece(pbuf *p, const char *text, float score, int type)
{
    pbuf sub = { .n = 0 };
    size_t len = strlen(text);
    pb_varint(&sub, 1 << 3 | 2);
    pb_varint(&sub, len);
    memcpy(sub.b + sub.n, text, len);
    sub.n += len;
    pb_varint(&sub, 2 << 3 | 5);
    memcpy(sub.b + sub.n, &score, 4);
    sub.n += 4;
    pb_varint(&sub, 3 << 3 | 0);
    pb_varint(&sub, (uint64_t)type);
    pb_varint(p, 1 << 3 | 2);
    pb_varint(p, sub.n);
    memcpy(p->b + p->n, sub.b, sub.n);
    p->n += sub.n;
}

enum { SPM_PIECES = 3 + 256 + 7, SPM_VOCAB = 272 };

static bool write_spm_model(const char *dir)
{
    static pbuf p;
    p.n = 0;
    pb_piece(&p, "<unk>", 0, 2);
    pb_piece(&p, "<s>", 0, 3);
    pb_piece(&p, "</s>", 0, 3);
    for (int i = 0; i < 256; i++) {
        char byte[8];
        snprintf(byte, sizeof byte, "<0x%02X>", i);
        pb_piece(&p, byte, 0, 6);
    }
    static const char *const pieces[] = { "\xe2\x96\x81", "t", "h", "e", "\xe2\x96\x81t", "he", "\xe2\x96\x81the" };
    for (int i = 0; i < 7; i++)
        pb_piece(&p, pieces[i], -1.0f - (float)i, 1);
    /* a field the converter must skip: trainer_spec { model_type: BPE } */
    static const uint8_t trainer[] = { 2 << 3 | 2, 2, 3 << 3 | 0, 2 };
    memcpy(p.b + p.n, trainer, sizeof trainer);
    p.n += sizeof trainer;
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(p.b, 1, p.n, f) == p.n;
    return f && fclose(f) == 0 && ok;
}

static void test_llama_spm(void)
{
    const char *dir = make_dir("llama-spm");
    CHECK(write_llama(dir, SPM_VOCAB) && write_spm_model(dir) &&
              st_write_text(dir, "added_tokens.json", "{\"<extra>\": 270, \"<too-far>\": 999}") &&
              st_write_text(dir, "tokenizer_config.json",
                            "{\"bos_token\":\"<s>\",\"eos_token\":\"</s>\",\"unk_token\":\"<unk>\","
                            "\"add_bos_token\":true,\"add_eos_token\":false}"),
          "writing the SentencePiece llama folder");
    char out[600];
    snprintf(out, sizeof out, "%s/llama-spm.gguf", tmp);
    og_error err = { 0 };
    CHECK(og_convert_hf(dir, out, NULL, &err) == OG_OK, "convert: %s", err.message);
    og_gguf *g;
    CHECK(og_gguf_open(out, &g, &err) == OG_OK, "%s", err.message);
    if (!g)
        return;
    og_str s = { 0 };
    CHECK(og_gguf_get_str(g, "tokenizer.ggml.model", &s) && og_str_eq(s, "llama"), "tokenizer.model wins over tokenizer.json");
    CHECK(og_gguf_get_str(g, "tokenizer.ggml.pre", &s) && og_str_eq(s, "default"), "pre");
    check_u32(g, "general.file_type", 1);
    check_u32(g, "tokenizer.ggml.bos_token_id", 1);
    check_u32(g, "tokenizer.ggml.eos_token_id", 2);
    check_u32(g, "tokenizer.ggml.unknown_token_id", 0);
    bool b = false;
    CHECK(og_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) && b, "add_bos_token");
    const og_gguf_kv *types = og_gguf_get_arr(g, "tokenizer.ggml.token_type", OG_GGUF_I32);
    const og_gguf_kv *scores = og_gguf_get_arr(g, "tokenizer.ggml.scores", OG_GGUF_F32);
    CHECK(types && types->n == SPM_VOCAB && og_gguf_arr_i64(types, 0) == 2 && og_gguf_arr_i64(types, 1) == 3 &&
              og_gguf_arr_i64(types, 3) == 6 && og_gguf_arr_i64(types, SPM_PIECES - 1) == 1 &&
              og_gguf_arr_i64(types, 270) == 4 && og_gguf_arr_i64(types, 271) == 5,
          "token types");
    CHECK(scores && scores->n == SPM_VOCAB && og_gguf_arr_f64(scores, SPM_PIECES - 1) == -7.0 &&
              og_gguf_arr_f64(scores, 270) == -1000.0,
          "scores");
    const og_str *extra = str_at(g, "tokenizer.ggml.tokens", 270), *pad = str_at(g, "tokenizer.ggml.tokens", 271);
    CHECK(extra && og_str_eq(*extra, "<extra>") && pad && og_str_eq(*pad, "[PAD271]"), "added and padded tokens");
    const og_gguf_tensor *emb = og_gguf_find_tensor(g, "token_embd.weight"), *q = og_gguf_find_tensor(g, "blk.0.attn_q.weight");
    CHECK(emb && emb->type == OG_TYPE_F16 && emb->ne[1] == SPM_VOCAB && q && q->type == OG_TYPE_F16, "F16 matrices");
    og_vocab *v = NULL;
    CHECK(og_vocab_load(g, &v, &err) == OG_OK, "vocab: %s", err.message);
    og_token ids[8];
    int32_t n = v ? og_vocab_tokenize(v, "the", 3, ids, 8, true, false) : 0;
    CHECK(n == 2 && ids[0] == 1 && ids[1] == SPM_PIECES - 1, "tokens of 'the': %d", n);
    og_vocab_free(v);
    og_gguf_close(g);
    unlink(out);

    /* A cut between two pieces is a smaller valid model; any other cut of
     * tokenizer.model must fail, name the file and write nothing. */
    char path[600];
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    size_t len = 0;
    char *model = og_test_read_file(path, &len);
    int bad = 0, failed = 0;
    for (size_t cut = 1; model && cut < 400; cut += 3) {
        FILE *f = fopen(path, "wb");
        fwrite(model, 1, cut, f);
        fclose(f);
        unlink(out);
        og_error e = { 0 };
        if (og_convert_hf(dir, out, NULL, &e) == OG_OK)
            continue;
        failed++;
        if (!strstr(e.message, "tokenizer.model") || access(out, F_OK) == 0) {
            bad++;
            fprintf(stderr, "cut %zu: %s\n", cut, e.message);
        }
    }
    unlink(out);
    CHECK(model && bad == 0 && failed > 50, "truncated tokenizer.model: %d failed, %d badly", failed, bad);
    free(model);
}

/* ---------------------------------------------------------------- bert */

static bool write_bert_classifier(const char *dir)
{
    enum { BE = 32, BF = 64, BV = 40, LABELS = 3 };
    st_writer *w = st_writer_new();
    bool ok = w && st_write_text(dir, "config.json",
                                 "{\"architectures\":[\"BertForSequenceClassification\"],\"hidden_size\":32,"
                                 "\"intermediate_size\":64,\"num_attention_heads\":2,\"num_hidden_layers\":1,"
                                 "\"max_position_embeddings\":64,\"type_vocab_size\":2,\"vocab_size\":40,"
                                 "\"id2label\":{\"0\":\"negative\",\"1\":\"neutral\",\"2\":\"positive\"}}") &&
              st_write_text(dir, "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n,\n!\n") &&
              st_write_text(dir, "special_tokens_map.json",
                            "{\"unk_token\":\"[UNK]\",\"sep_token\":\"[SEP]\",\"pad_token\":\"[PAD]\","
                            "\"cls_token\":\"[CLS]\",\"mask_token\":\"[MASK]\"}") &&
              st_write_text(dir, "tokenizer_config.json", "{\"do_lower_case\":true}");
    ok = ok && add(w, "bert.embeddings.word_embeddings.weight", "F32", BV, BE, 1) &&
         add(w, "bert.embeddings.position_embeddings.weight", "F16", 64, BE, 2) &&
         add(w, "bert.embeddings.token_type_embeddings.weight", "F32", 2, BE, 3) &&
         add(w, "bert.embeddings.LayerNorm.gamma", "F32", BE, 0, 4) &&
         add(w, "bert.embeddings.LayerNorm.beta", "F32", BE, 0, 5);
    static const struct {
        const char *name;
        int64_t rows, cols;
    } L[] = {
        { "attention.self.query", BE, BE }, { "attention.self.key", BE, BE },   { "attention.self.value", BE, BE },
        { "attention.output.dense", BE, BE }, { "intermediate.dense", BF, BE }, { "output.dense", BE, BF },
    };
    for (size_t i = 0; ok && i < sizeof L / sizeof L[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "bert.encoder.layer.0.%s.weight", L[i].name);
        ok = add(w, name, "F32", L[i].rows, L[i].cols, 10 + (int)i);
        snprintf(name, sizeof name, "bert.encoder.layer.0.%s.bias", L[i].name);
        ok = ok && add(w, name, "F32", L[i].rows, 0, 20 + (int)i);
    }
    ok = ok && add(w, "bert.encoder.layer.0.attention.output.LayerNorm.weight", "F32", BE, 0, 30) &&
         add(w, "bert.encoder.layer.0.attention.output.LayerNorm.bias", "F32", BE, 0, 31) &&
         add(w, "bert.encoder.layer.0.output.LayerNorm.weight", "F32", BE, 0, 32) &&
         add(w, "bert.encoder.layer.0.output.LayerNorm.bias", "F32", BE, 0, 33) &&
         add(w, "bert.pooler.dense.weight", "F32", BE, BE, 40) && add(w, "bert.pooler.dense.bias", "F32", BE, 0, 41) &&
         add(w, "classifier.weight", "F32", LABELS, BE, 42) && add(w, "classifier.bias", "F32", LABELS, 0, 43) &&
         add(w, "cls.predictions.bias", "F32", BV, 0, 44);
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ok = ok && st_writer_save(w, path);
    st_writer_free(w);
    return ok;
}

static void test_bert_classifier(void)
{
    const char *dir = make_dir("bert-cls");
    CHECK(write_bert_classifier(dir), "writing the bert folder");
    char out[600];
    snprintf(out, sizeof out, "%s/bert-cls.gguf", tmp);
    og_convert_params p = og_convert_default_params();
    p.type = OG_CONVERT_Q8_0;
    og_error err = { 0 };
    CHECK(og_convert_hf(dir, out, &p, &err) == OG_OK, "convert bert classifier: %s", err.message);
    og_gguf *g;
    CHECK(og_gguf_open(out, &g, &err) == OG_OK, "%s", err.message);
    if (!g)
        return;
    check_u32(g, "bert.pooling_type", 4);
    check_u32(g, "bert.block_count", 1);
    check_u32(g, "tokenizer.ggml.cls_token_id", 2);
    check_u32(g, "tokenizer.ggml.seperator_token_id", 3);
    check_u32(g, "tokenizer.ggml.unknown_token_id", 1);
    check_u32(g, "tokenizer.ggml.mask_token_id", 4);
    check_u32(g, "tokenizer.ggml.padding_token_id", 0);
    const og_gguf_kv *labels = og_gguf_get_arr(g, "bert.classifier.output_labels", OG_GGUF_STRING);
    CHECK(labels && labels->n == 3 && og_str_eq(labels->strs[0], "negative") && og_str_eq(labels->strs[2], "positive"),
          "labels");
    const og_str *t2 = str_at(g, "tokenizer.ggml.tokens", 2), *t5 = str_at(g, "tokenizer.ggml.tokens", 5);
    const og_str *t7 = str_at(g, "tokenizer.ggml.tokens", 7), *t39 = str_at(g, "tokenizer.ggml.tokens", 39);
    CHECK(t2 && og_str_eq(*t2, "[CLS]") && t5 && og_str_eq(*t5, "\xe2\x96\x81hello") && t7 && og_str_eq(*t7, "s") &&
              t39 && !str_at(g, "tokenizer.ggml.tokens", 40),
          "phantom-space tokens and padding");
    CHECK(og_gguf_n_tensors(g) == 5 + 16 + 4, "%lld tensors", (long long)og_gguf_n_tensors(g));
    const og_gguf_tensor *c = og_gguf_find_tensor(g, "cls.weight"), *cb = og_gguf_find_tensor(g, "cls.bias");
    const og_gguf_tensor *o = og_gguf_find_tensor(g, "cls.output.weight"), *ob = og_gguf_find_tensor(g, "cls.output.bias");
    CHECK(c && c->type == OG_TYPE_Q8_0 && c->ne[0] == 32 && c->ne[1] == 32, "cls.weight");
    CHECK(cb && cb->type == OG_TYPE_F32 && ob && ob->type == OG_TYPE_F32 && ob->ne[0] == 3, "head biases");
    CHECK(o && o->type == OG_TYPE_Q8_0 && o->ne[0] == 32 && o->ne[1] == 3, "cls.output.weight");
    const og_gguf_tensor *pos = og_gguf_find_tensor(g, "position_embd.weight");
    const og_gguf_tensor *norm = og_gguf_find_tensor(g, "token_embd_norm.weight");
    CHECK(pos && pos->type == OG_TYPE_F32 && norm && norm->type == OG_TYPE_F32, "F32 kept");
    CHECK(og_gguf_find_tensor(g, "blk.0.ffn_up.bias") && og_gguf_find_tensor(g, "blk.0.layer_output_norm.bias"),
          "layer names");
    og_vocab *v = NULL;
    CHECK(og_vocab_load(g, &v, &err) == OG_OK, "vocab: %s", err.message);
    og_token ids[16];
    int32_t n = v ? og_vocab_tokenize(v, "Hello, worlds!", 14, ids, 16, true, false) : 0;
    static const og_token want[] = { 2, 5, 8, 6, 7, 9, 3 };
    CHECK(n == 7 && !memcmp(ids, want, sizeof want), "tokens of 'Hello, worlds!' (%d)", n);
    og_vocab_free(v);
    og_gguf_close(g);
    unlink(out);
}

/* ---------------------------------------------------------------- errors */

static void expect_failure(const char *what, const char *dir, const char *want)
{
    char out[600], partial[700];
    snprintf(out, sizeof out, "%s/failed.gguf", tmp);
    snprintf(partial, sizeof partial, "%s.partial", out);
    og_error err = { 0 };
    og_status st = og_convert_hf(dir, out, NULL, &err);
    CHECK(st != OG_OK && strstr(err.message, want), "%s: got '%s', want '%s'", what,
          st == OG_OK ? "success" : err.message, want);
    CHECK(access(out, F_OK) != 0 && access(partial, F_OK) != 0, "%s: output left behind", what);
    unlink(out);
}

static void test_errors(void)
{
    expect_failure("missing folder", "/nonexistent/model", "cannot open /nonexistent/model/config.json");
    const char *dir = make_dir("bad");
    st_write_text(dir, "config.json", "{\"architectures\":[\"GPT2LMHeadModel\"]}");
    st_writer *w = st_writer_new();
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    add(w, "wte.weight", "F32", 4, 4, 1);
    st_writer_save(w, path);
    st_writer_free(w);
    expect_failure("unsupported architecture", dir, "unsupported architecture 'GPT2LMHeadModel'");
    st_write_text(dir, "config.json", "{\"architectures\": [\"BertModel\"");
    expect_failure("bad config JSON", dir, "config.json: bad JSON");
    st_write_text(dir, "config.json", "{\"architectures\":[\"BertModel\"],\"hidden_size\":4}");
    expect_failure("missing key", dir, "config.json: missing \"max_position_embeddings\"");
    st_write_text(dir, "config.json",
                  "{\"architectures\":[\"BertModel\"],\"hidden_size\":4,\"intermediate_size\":4,"
                  "\"num_attention_heads\":1,\"num_hidden_layers\":1,\"max_position_embeddings\":4}");
    st_write_text(dir, "vocab.txt", "[PAD]\n[UNK]\n");
    expect_failure("unknown tensor", dir, "tensor 'wte.weight' of model.safetensors has no GGUF name");
    st_write_text(dir, "model.safetensors", "not a safetensors file at all");
    expect_failure("malformed safetensors", dir, "model.safetensors");
    unlink(path);
    expect_failure("missing safetensors", dir, "cannot open");

    /* Weights the architecture needs are refused before anything is written,
     * naming the first one missing: the config says 3 layers, the
     * checkpoint holds 2. */
    const char *short_dir = make_dir("llama-short");
    CHECK(write_llama(short_dir, VOCAB), "write llama");
    st_write_text(short_dir, "config.json",
                  "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"intermediate_size\":128,"
                  "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"num_hidden_layers\":3,"
                  "\"max_position_embeddings\":256,\"vocab_size\":128,\"tie_word_embeddings\":true}");
    expect_failure("missing layer", short_dir, "model.safetensors has no tensor for 'blk.2.attn_norm.weight'");
    /* A checkpoint with no tensors at all used to become a tokenizer-only GGUF. */
    char st_path[600];
    snprintf(st_path, sizeof st_path, "%s/model.safetensors", short_dir);
    st_writer *empty = st_writer_new();
    CHECK(empty && st_writer_save(empty, st_path), "write empty safetensors");
    st_writer_free(empty);
    expect_failure("no tensors", short_dir, "model.safetensors has no tensor for 'token_embd.weight' (of 0 tensors)");
    /* A FIFO is refused, not waited on (the alarm fails the test instead of hanging it). */
    unlink(st_path);
    CHECK(mkfifo(st_path, 0600) == 0, "mkfifo");
    alarm(60);
    char want[700];
    snprintf(want, sizeof want, "%s is not a regular file", st_path);
    expect_failure("fifo safetensors", short_dir, want);
    alarm(0);
    unlink(st_path);
}

int main(void)
{
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    test_llama();
    test_llama_spm();
    test_bert_classifier();
    test_errors();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0, "cleanup");
    return og_test_finish("test_convert_tiny");
}
