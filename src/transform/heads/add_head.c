/*
 * head.c - attaching a linear classification head to an encoder GGUF:
 * the way a classifier trained outside offgrid on sentence embeddings
 * (scikit-learn's LogisticRegression over all-MiniLM-L6-v2 vectors, say)
 * becomes one model file that og_classify runs. Owns nothing.
 */
#include <string.h>

#include "offgrid_transform.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "offgrid_transform.h"

static bool head_valid(const og_linear_head *h)
{
    if (!h || !h->weight || !h->bias || !h->labels || h->n_labels < 1 || h->n_labels > 65536 || h->n_embd < 1)
        return false;
    for (int32_t i = 0; i < h->n_labels; i++)
        if (!h->labels[i] || !h->labels[i][0])
            return false;
    return true;
}

/* Every key of g but the ones the head sets, every tensor but cls.*
 * (a failure is recorded in the writer). */
static void copy_without_head(og_gguf_writer *w, const og_gguf *g, const char *labels_key)
{
    const char *const drop[] = { OG_KEY_CLASSIFIER_INPUT, OG_KEY_CLASSIFIER_TEMPERATURE, labels_key,
                                 "general.alignment" };
    for (int64_t i = 0; i < og_gguf_n_kv(g); i++) {
        const og_gguf_kv *kv = og_gguf_kv_at(g, i);
        bool keep = true;
        for (size_t d = 0; d < sizeof drop / sizeof drop[0]; d++)
            keep = keep && !og_str_eq(kv->key, drop[d]);
        if (keep)
            og_gguf_writer_copy_kv(w, kv);
    }
    for (int64_t i = 0; i < og_gguf_n_tensors(g); i++) {
        const og_gguf_tensor *t = og_gguf_tensor_at(g, i);
        if (!(t->name.len >= 4 && !memcmp(t->name.ptr, "cls.", 4))) /* not the old head */
            og_gguf_writer_copy_tensor(w, t);
    }
}

og_status og_model_add_head(const char *src, const char *dst, const og_linear_head *head, og_error *err)
{
    if (!src || !dst || !head_valid(head))
        return og_error_set(err, OG_ERR_ARG, "og_model_add_head: need paths, weights, a bias and a non-empty "
                                             "name for each of 1..65536 labels");
    og_gguf *g;
    og_status st = og_gguf_open(src, &g, err);
    if (st != OG_OK)
        return st;
    og_gguf_writer *w = NULL;
    og_str arch;
    uint32_t n_embd = 0;
    const char *const key = "bert.classifier.output_labels";
    if (!og_gguf_get_str(g, "general.architecture", &arch) || !og_str_eq(arch, "bert")) {
        st = og_error_set(err, OG_ERR_ARG, "%s is not an encoder model (general.architecture is not bert)", src);
        goto done;
    }
    if (!og_gguf_get_u32(g, "bert.embedding_length", &n_embd) || n_embd != (uint32_t)head->n_embd) {
        st = og_error_set(err, OG_ERR_ARG, "the head reads %d floats but %s embeds into %u", head->n_embd, src,
                          n_embd);
        goto done;
    }
    if ((st = og_gguf_writer_new(&w, err)) != OG_OK)
        goto done;
    copy_without_head(w, g, key);
    const int64_t ne_w[2] = { head->n_embd, head->n_labels }, ne_b[1] = { head->n_labels };
    og_gguf_writer_tensor(w, "cls.output.weight", OG_TYPE_F32, 2, ne_w, head->weight);
    og_gguf_writer_tensor(w, "cls.output.bias", OG_TYPE_F32, 1, ne_b, head->bias);
    og_gguf_writer_arr_str(w, key, head->labels, (uint64_t)head->n_labels);
    og_gguf_writer_str(w, OG_KEY_CLASSIFIER_INPUT, head->normalized ? "normalized_embedding" : "embedding");
    st = og_gguf_writer_to_file(w, dst, err);
done:
    og_gguf_writer_free(w);
    og_gguf_close(g);
    return st;
}
