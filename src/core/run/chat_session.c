/*
 * session.c - a conversation bound to a context (og_chat). It owns copies
 * of the messages and the list of token ids that mirror the KV cache, so
 * each turn decodes only the tokens that differ from what is cached.
 */
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "model/context.h"

struct og_chat {
    og_context *ctx;
    og_chat_message *msgs;
    size_t n_msgs, cap_msgs;
    og_token *cached; /* the ids in the KV cache, in order */
    int32_t n_cached, cap_cached;
    /* The reply being generated, collected for the history. */
    char *reply;
    size_t reply_len, reply_cap;
    og_token_fn user_fn;
    void *user;
    bool oom;
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
    free(c->cached);
    free(c->reply);
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

static bool ensure_cached(og_chat *c, int32_t n)
{
    if (n <= c->cap_cached)
        return true;
    int32_t cap = n * 2;
    og_token *bigger = realloc(c->cached, (size_t)cap * sizeof *bigger);
    if (!bigger)
        return false;
    c->cached = bigger;
    c->cap_cached = cap;
    return true;
}

/* Collects the reply's text and ids, then passes the token on. */
static bool collect(void *arg, og_token t, const char *piece, int32_t len)
{
    og_chat *c = arg;
    if (c->reply_len + (size_t)len + 1 > c->reply_cap) {
        size_t cap = (c->reply_len + (size_t)len + 1) * 2;
        char *bigger = realloc(c->reply, cap);
        if (!bigger) {
            c->oom = true;
            return false;
        }
        c->reply = bigger;
        c->reply_cap = cap;
    }
    memcpy(c->reply + c->reply_len, piece, (size_t)len);
    c->reply_len += (size_t)len;
    c->reply[c->reply_len] = 0;
    if (!ensure_cached(c, c->n_cached + 1)) {
        c->oom = true;
        return false;
    }
    c->cached[c->n_cached++] = t;
    return c->user_fn ? c->user_fn(c->user, t, piece, len) : true;
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

og_status og_chat_respond(og_chat *c, og_sampler *sampler, int32_t max_tokens, og_token_fn on_token, void *user,
                          og_gen_stats *stats, og_error *err)
{
    if (!c || !sampler)
        return og_error_set(err, OG_ERR_ARG, "og_chat_respond: chat and sampler are required");
    char *text;
    og_status rendered = render(c, &text, err);
    if (rendered != OG_OK)
        return rendered;
    const og_model *m = c->ctx->model;
    size_t len = strlen(text);
    int32_t n = og_vocab_tokenize(m->vocab, text, len, NULL, 0, true, true);
    og_token *toks = n > 0 ? malloc((size_t)n * sizeof *toks) : NULL;
    if (!toks || og_vocab_tokenize(m->vocab, text, len, toks, n, true, true) != n) {
        free(text);
        free(toks);
        return og_error_set(err, OG_ERR_NOMEM, "cannot tokenize the conversation");
    }
    free(text);
    if (n >= c->ctx->n_ctx) {
        free(toks);
        return og_error_set(err, OG_ERR_CONTEXT_FULL, "the conversation (%d tokens) no longer fits in the context of %d",
                            n, c->ctx->n_ctx);
    }
    /* Keep the cached prefix; at least the last prompt token is decoded
     * again so there are logits to sample from. */
    int32_t keep = 0;
    while (keep < n - 1 && keep < c->n_cached && c->cached[keep] == toks[keep])
        keep++;
    og_context_truncate(c->ctx, keep);
    c->n_cached = keep;
    og_status st = OG_OK;
    if (!ensure_cached(c, n)) {
        free(toks);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    memcpy(c->cached + keep, toks + keep, (size_t)(n - keep) * sizeof *toks);
    c->n_cached = n;
    c->reply_len = 0;
    c->user_fn = on_token;
    c->user = user;
    c->oom = false;
    st = og_generate(c->ctx, sampler, toks + keep, n - keep, max_tokens, collect, c, stats, err);
    free(toks);
    /* The last reported token is not in the cache when generation stopped
     * before decoding it; keep the mirror exact. */
    if (c->n_cached > c->ctx->n_past)
        c->n_cached = c->ctx->n_past;
    if (st == OG_OK && c->oom)
        st = og_error_set(err, OG_ERR_NOMEM, "out of memory while collecting the reply");
    if (st == OG_OK)
        st = og_chat_add(c, "assistant", c->reply ? c->reply : "", err);
    return st;
}
