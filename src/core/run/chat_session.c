/*
 * chat_session.c - a conversation bound to a context (og_chat). It owns
 * copies of the messages; each turn renders the whole conversation and
 * hands it to og_generate, whose context decodes only the tokens that
 * differ from what its KV cache holds.
 */
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "model/context.h"

struct og_chat {
    og_context *ctx;
    og_chat_message *msgs;
    size_t n_msgs, cap_msgs;
};

og_status og_chat_new(og_context *ctx, og_chat **out, og_error *err)
{
    if (!ctx || !out)
        return og_error_set(err, OG_ERR_ARG, "og_chat_new: context and out are required");
    og_chat *c = calloc(1, sizeof *c);
    if (!c)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    c->ctx = ctx;
    og_context_truncate(ctx, 0);
    *out = c;
    return OG_OK;
}

void og_chat_free(og_chat *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_msgs; i++) {
        free((char *)c->msgs[i].role);
        free((char *)c->msgs[i].content);
    }
    free(c->msgs);
    free(c);
}

size_t og_chat_n_messages(const og_chat *c) { return c->n_msgs; }

const og_chat_message *og_chat_message_at(const og_chat *c, size_t i)
{
    return i < c->n_msgs ? &c->msgs[i] : NULL;
}

og_status og_chat_add(og_chat *c, const char *role, const char *content, og_error *err)
{
    if (!c || !role || !content)
        return og_error_set(err, OG_ERR_ARG, "og_chat_add: role and content are required");
    if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))
        return og_error_set(err, OG_ERR_ARG, "unknown chat role '%s' (system, user or assistant)", role);
    if (c->n_msgs == c->cap_msgs) {
        size_t cap = c->cap_msgs ? c->cap_msgs * 2 : 8;
        og_chat_message *bigger = realloc(c->msgs, cap * sizeof *bigger);
        if (!bigger)
            return og_error_set(err, OG_ERR_NOMEM, "out of memory");
        c->msgs = bigger;
        c->cap_msgs = cap;
    }
    char *r = strdup(role), *t = strdup(content);
    if (!r || !t) {
        free(r);
        free(t);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    c->msgs[c->n_msgs++] = (og_chat_message){ r, t };
    return OG_OK;
}

/* Renders the conversation with the generation prompt into *out
 * (malloc'd, the caller frees). */
static og_status render(og_chat *c, char **out, og_error *err)
{
    const og_model *m = c->ctx->model;
    *out = NULL;
    int32_t need = og_chat_apply_template(m, c->msgs, c->n_msgs, true, NULL, 0);
    if (need < 0)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "the model's chat template is not supported");
    char *text = malloc((size_t)need + 1);
    if (!text)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    og_chat_apply_template(m, c->msgs, c->n_msgs, true, text, need + 1);
    *out = text;
    return OG_OK;
}

og_status og_chat_respond(og_chat *c, og_sampler *sampler, const og_gen_params *params, og_token_fn on_token,
                          void *user, og_gen_result *result, og_error *err)
{
    og_gen_result local;
    if (!result)
        result = &local;
    *result = (og_gen_result){ .text = "" };
    if (!c || !sampler)
        return og_error_set(err, OG_ERR_ARG, "og_chat_respond: chat and sampler are required");
    char *text;
    og_status st = render(c, &text, err);
    if (st != OG_OK)
        return st;
    const og_model *m = c->ctx->model;
    size_t len = strlen(text);
    int32_t n = og_vocab_tokenize(m->vocab, text, len, NULL, 0, true, true);
    og_token *toks = n > 0 ? malloc((size_t)n * sizeof *toks) : NULL;
    if (n <= 0)
        st = og_error_set(err, n < 0 ? (og_status)-n : OG_ERR_ARG, "cannot tokenize the conversation: %s",
                          n < 0 ? og_status_name((og_status)-n) : "it gives no tokens");
    else if (!toks)
        st = og_error_set(err, OG_ERR_NOMEM, "out of memory for %d tokens", n);
    else if (og_vocab_tokenize(m->vocab, text, len, toks, n, true, true) != n)
        st = og_error_set(err, OG_ERR_FORMAT, "the conversation tokenized differently on a second pass");
    free(text);
    if (st == OG_OK && n >= c->ctx->n_ctx)
        st = og_error_set(err, OG_ERR_CONTEXT_FULL, "the conversation (%d tokens) no longer fits in the context of %d",
                          n, c->ctx->n_ctx);
    /* The context keeps what it has cached of the conversation and
     * decodes only what changed since the last turn. */
    if (st == OG_OK)
        st = og_generate(c->ctx, sampler, toks, n, params, on_token, user, result, err);
    free(toks);
    if (st == OG_OK)
        st = og_chat_add(c, "assistant", result->text, err);
    return st;
}
