/*
 * test_qwen2_bias.c - a qwen2 file must carry its Q, K and V biases: a
 * small qwen2 model is made from stories260K (llama keys renamed to
 * qwen2, zero biases added) and loads; the same file without one layer's
 * K bias, or with a bias of the wrong length, is refused with an error
 * naming the tensor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "offgrid.h"
#include "testlib.h"

/* Writes stories260K as a qwen2 file to path: every llama.* key renamed,
 * the architecture changed, and the biases of every layer added but
 * `skip` (NULL: none); `wrong`, if set, gets one element too many. */
static void write_qwen2(const char *path, const char *skip, const char *wrong)
{
    og_gguf *g = NULL;
    og_error err = { 0 };
    CHECK(og_gguf_open(OG_SHARED_MODELS "/stories260K.gguf", &g, &err) == OG_OK, "open: %s", err.message);
    if (!g)
        return;
    og_gguf_writer *w = NULL;
    CHECK(og_gguf_writer_new(&w, &err) == OG_OK, "writer: %s", err.message);
    uint32_t n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0;
    og_gguf_get_u32(g, "llama.block_count", &n_layer);
    og_gguf_get_u32(g, "llama.embedding_length", &n_embd);
    og_gguf_get_u32(g, "llama.attention.head_count", &n_head);
    if (!og_gguf_get_u32(g, "llama.attention.head_count_kv", &n_head_kv))
        n_head_kv = n_head;
    for (int64_t i = 0; i < og_gguf_n_kv(g); i++) {
        og_gguf_kv kv = *og_gguf_kv_at(g, i);
        char key[128];
        if (kv.key.len > 6 && memcmp(kv.key.ptr, "llama.", 6) == 0) {
            snprintf(key, sizeof key, "qwen2.%.*s", (int)kv.key.len - 6, kv.key.ptr + 6);
            kv.key = (og_str){ key, strlen(key) };
        } else if (kv.key.len == 20 && memcmp(kv.key.ptr, "general.architecture", 20) == 0) {
            og_gguf_writer_str(w, "general.architecture", "qwen2");
            continue;
        } else if (kv.key.len == 17 && memcmp(kv.key.ptr, "general.alignment", 17) == 0) {
            continue;
        }
        og_gguf_writer_copy_kv(w, &kv);
    }
    for (int64_t i = 0; i < og_gguf_n_tensors(g); i++)
        og_gguf_writer_copy_tensor(w, og_gguf_tensor_at(g, i));
    const int64_t head_dim = n_head ? n_embd / n_head : 0;
    static float zeros[4096];
    for (uint32_t l = 0; l < n_layer; l++) {
        const char *names[3] = { "attn_q", "attn_k", "attn_v" };
        for (int k = 0; k < 3; k++) {
            char name[64];
            snprintf(name, sizeof name, "blk.%u.%s.bias", l, names[k]);
            if (skip && strcmp(name, skip) == 0)
                continue;
            int64_t ne[1] = { (k ? n_head_kv : n_head) * head_dim };
            if (wrong && strcmp(name, wrong) == 0)
                ne[0] += 1;
            og_gguf_writer_tensor(w, name, OG_TYPE_F32, 1, ne, zeros);
        }
    }
    CHECK(og_gguf_writer_to_file(w, path, &err) == OG_OK, "write %s: %s", path, err.message);
    og_gguf_writer_free(w);
    og_gguf_close(g);
}

int main(void)
{
    char dir[] = "/tmp/og_qwen2_bias_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    og_model *m = NULL;
    og_error err = { 0 };

    write_qwen2(path, NULL, NULL);
    CHECK(og_model_load(path, NULL, &m, &err) == OG_OK, "a qwen2 file with its biases: %s", err.message);
    og_model_info info;
    if (m) {
        og_model_get_info(m, &info);
        CHECK(strcmp(info.arch, "qwen2") == 0, "arch %s", info.arch);
        /* a few steps of the forward pass with the biases and NeoX RoPE,
         * so the sanitizer run covers the qwen2 path on a small model */
        og_context *ctx = NULL;
        og_context_params cp = og_context_default_params();
        cp.n_ctx = 64;
        CHECK(og_context_new(m, &cp, &ctx, &err) == OG_OK, "context: %s", err.message);
        og_token ids[8] = { 1, 100, 200, 300, 5, 6, 7, 8 };
        CHECK(ctx && og_decode(ctx, ids, 8, false, &err) == OG_OK, "decode: %s", err.message);
        og_token next = ctx ? og_test_argmax(og_get_logits(ctx, -1), og_vocab_size(m)) : 0;
        CHECK(ctx && og_decode(ctx, &next, 1, false, &err) == OG_OK, "decode one: %s", err.message);
        og_context_free(ctx);
        og_model_free(m);
        m = NULL;
    }

    write_qwen2(path, "blk.2.attn_k.bias", NULL);
    og_status st = og_model_load(path, NULL, &m, &err);
    printf("missing bias: %s\n", err.message);
    CHECK(st != OG_OK && m == NULL, "a file without blk.2.attn_k.bias loaded");
    CHECK(strstr(err.message, "blk.2.attn_k.bias") && strstr(err.message, "bias"),
          "the error does not name the missing tensor: %s", err.message);
    og_model_free(m);
    m = NULL;

    write_qwen2(path, NULL, "blk.0.attn_v.bias");
    st = og_model_load(path, NULL, &m, &err);
    printf("wrong length: %s\n", err.message);
    CHECK(st != OG_OK && m == NULL, "a file with a bias of the wrong length loaded");
    CHECK(strstr(err.message, "blk.0.attn_v.bias") != NULL, "the error does not name the tensor: %s", err.message);
    og_model_free(m);

    remove(path);
    rmdir(dir);
    return og_test_finish("test_qwen2_bias");
}
