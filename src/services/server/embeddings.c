/*
 * embeddings.c - POST /v1/embeddings and GET /v1/models. Embeddings run
 * on the connection's thread, one call at a time on the one encoder
 * (they are short); "encoding_format": "base64" (what the openai SDK asks
 * for by default) sends the little-endian float32 bytes in base64.
 */
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

#define BAD(...) og_srv_reply_error(s, c, r, 400, "invalid_request_error", __VA_ARGS__)
#define MAX_INPUTS 2048

static json_t *model_json(og_server *s, const char *id)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "model", "created", (json_int_t)s->created,
                     "owned_by", "offgrid");
}

enum MHD_Result og_srv_models(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    const char *ids[2] = { s->model_id, s->embed_model_id };
    if (r->model_ref) {
        size_t n = strcspn(r->model_ref, "?");
        for (int i = 0; i < 2; i++)
            if (ids[i] && strlen(ids[i]) == n && !strncmp(ids[i], r->model_ref, n))
                return og_srv_reply_json(s, c, r, 200, model_json(s, ids[i]));
        return og_srv_reply_error(s, c, r, 404, "invalid_request_error", "model_not_found",
                                  "no model '%.*s' here (GET /v1/models lists them)", (int)(n < 200 ? n : 200),
                                  r->model_ref);
    }
    json_t *data = json_array();
    for (int i = 0; i < 2; i++)
        if (ids[i])
            json_array_append_new(data, model_json(s, ids[i]));
    return og_srv_reply_json(s, c, r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

/* Tokens the encoder reads of a text (cut as it cuts them). */
static int32_t count_tokens(og_server *s, const char *text, size_t len)
{
    int32_t n = og_tokenize(s->embed_model, text, len, NULL, 0, true, false);
    int32_t max = og_encoder_max_tokens(s->encoder);
    return n < 0 ? 0 : n > max ? max : n;
}

static json_t *vector_json(const float *v, int32_t dim, bool base64)
{
    if (base64) {
        /* x86 and arm64 are little-endian, as the format wants. */
        char *b = og_srv_base64(v, (size_t)dim * sizeof *v);
        json_t *j = b ? json_string(b) : NULL;
        free(b);
        return j;
    }
    json_t *a = json_array();
    for (int32_t i = 0; a && i < dim; i++)
        if (json_array_append_new(a, json_real(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

enum MHD_Result og_srv_embeddings(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    if (!s->encoder)
        return og_srv_reply_error(s, c, r, 404, "invalid_request_error", "model_not_found",
                                  "this server has no embedding model (start it with --embed-model)");
    char bad_json[256];
    json_t *root = og_srv_parse_body(r, bad_json, sizeof bad_json);
    if (!root)
        return BAD("invalid_json", "%s", bad_json);
    json_t *input = json_object_get(root, "input"), *fmt = json_object_get(root, "encoding_format");
    json_t *model = json_object_get(root, "model");
    const char *why = NULL;
    bool base64 = false;
    if (!json_is_object(root))
        why = "the body must be a JSON object";
    else if (model && !json_is_string(model))
        why = "'model' must be a string";
    else if (fmt && !json_is_null(fmt) &&
             (!json_is_string(fmt) || (strcmp(json_string_value(fmt), "float") &&
                                       strcmp(json_string_value(fmt), "base64"))))
        why = "'encoding_format' must be \"float\" or \"base64\"";
    else if (!json_is_string(input) && !(json_is_array(input) && json_array_size(input) > 0))
        why = "'input' must be a string or a non-empty array of strings";
    else if (json_is_array(input) && json_array_size(input) > MAX_INPUTS)
        why = "'input' has more than 2048 entries";
    if (!why && fmt && json_is_string(fmt))
        base64 = !strcmp(json_string_value(fmt), "base64");
    size_t n = json_is_array(input) ? json_array_size(input) : 1;
    for (size_t i = 0; !why && json_is_array(input) && i < n; i++)
        if (!json_is_string(json_array_get(input, i)))
            why = "'input' entries must be strings (token arrays are not supported)";
    if (why) {
        enum MHD_Result ret = BAD("invalid_value", "%s", why);
        json_decref(root);
        return ret;
    }
    const char **texts = malloc(n * sizeof *texts);
    size_t *lens = malloc(n * sizeof *lens);
    const int32_t dim = og_encoder_n_embd(s->encoder);
    float *out = malloc(n * (size_t)dim * sizeof *out);
    enum MHD_Result ret;
    if (!texts || !lens || !out) {
        ret = og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
        goto done;
    }
    int32_t n_tokens = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_is_array(input) ? json_array_get(input, i) : input;
        texts[i] = json_string_value(t);
        lens[i] = json_string_length(t);
        n_tokens += count_tokens(s, texts[i], lens[i]);
    }
    og_error err = { 0 };
    pthread_mutex_lock(&s->enc_mu);
    og_status st = og_embed(s->encoder, texts, lens, (int32_t)n, out, &err);
    pthread_mutex_unlock(&s->enc_mu);
    if (st != OG_OK) {
        ret = og_srv_reply_error(s, c, r, 500, "server_error", NULL, "embedding failed: %s", err.message);
        goto done;
    }
    json_t *data = json_array();
    for (size_t i = 0; data && i < n; i++) {
        json_t *vec = vector_json(out + i * (size_t)dim, dim, base64);
        if (!vec || json_array_append_new(data, json_pack("{s:s,s:i,s:o}", "object", "embedding", "index", (int)i,
                                                          "embedding", vec)) != 0) {
            json_decref(data);
            data = NULL;
        }
    }
    json_t *body = data ? json_pack("{s:s,s:o,s:s,s:{s:i,s:i}}", "object", "list", "data", data, "model",
                                    s->embed_model_id, "usage", "prompt_tokens", n_tokens, "total_tokens", n_tokens)
                        : NULL;
    ret = body ? og_srv_reply_json(s, c, r, 200, body)
               : og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
done:
    free(texts);
    free(lens);
    free(out);
    json_decref(root);
    return ret;
}
