/*
 * ask.c - og_docs_ask: retrieval, then an answer from the chat model over
 * numbered excerpts, its citations checked as it streams (citations.c)
 * against what the excerpts hold (support.c).
 * When the best excerpt is not similar enough to the question, it says so
 * instead of answering; when the excerpts do not fit the context with
 * room for the answer, the least relevant ones are left out.
 */
#include "docs/collection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/citations.h"
#include "docs/extract.h"
#include "docs/support.h"

/* Calibrated on bench/docs_eval: the best of the five excerpts' MiniLM
 * cosines to the question is at least 0.323 for 69 of the 70 answerable
 * questions (one at 0.222) and at most 0.242 for 9 of the 10 unanswerable
 * ones (one at 0.502); the threshold sits between the two. */
#define DEFAULT_MIN_COSINE 0.28
#define NOTHING_FOUND "I could not find anything about this in the documents."

static const char system_prompt[] =
    "You answer questions using only the numbered excerpts from the user's documents given with the question. "
    "After each statement, cite the excerpts it comes from by their numbers in square brackets, like [1] or [2][3]. "
    "If the excerpts do not contain the answer, say that the documents do not say.";

og_docs_ask_params og_docs_default_ask_params(void)
{
    og_docs_ask_params p;
    memset(&p, 0, sizeof p);
    return p;
}

void og_docs_answer_free(og_docs_answer *a)
{
    if (!a)
        return;
    free(a->answer);
    for (int32_t i = 0; i < a->n_sources; i++)
        free(a->sources[i].doc);
    free(a->sources);
    memset(a, 0, sizeof *a);
}

/* The user message: the first n hits as numbered excerpts, then the question. */
static og_status user_message(const og_docs_hit *hits, int32_t n, const char *question, og_docs_buf *b,
                              og_error *err)
{
    b->len = 0;
    og_status s = og_docs_buf_add(b, "Excerpts:\n", 10, err);
    for (int32_t i = 0; i < n && s == OG_OK; i++) {
        const char *name = strrchr(hits[i].doc, '/');
        char head[512];
        int len = hits[i].page > 0 ? snprintf(head, sizeof head, "\n[%d] %s, page %d:\n", i + 1,
                                              name ? name + 1 : hits[i].doc, hits[i].page)
                                   : snprintf(head, sizeof head, "\n[%d] %s:\n", i + 1, name ? name + 1 : hits[i].doc);
        s = og_docs_buf_add(b, head, (size_t)len < sizeof head ? (size_t)len : sizeof head - 1, err);
        if (s == OG_OK)
            s = og_docs_buf_add(b, hits[i].text, strlen(hits[i].text), err);
        if (s == OG_OK)
            s = og_docs_buf_add(b, "\n", 1, err);
    }
    if (s == OG_OK)
        s = og_docs_buf_add(b, "\nQuestion: ", 11, err);
    if (s == OG_OK)
        s = og_docs_buf_add(b, question, strlen(question), err);
    return s;
}

/* Tokens of the rendered conversation (negative: an og_status). */
static int32_t prompt_tokens(const og_model *m, const char *user)
{
    og_chat_message msgs[2] = { { "system", system_prompt }, { "user", user } };
    char probe[1];
    int32_t need = og_chat_apply_template(m, msgs, 2, true, probe, (int32_t)sizeof probe);
    if (need < 0)
        return need;
    char *buf = malloc((size_t)need + 1);
    if (!buf)
        return -(int32_t)OG_ERR_NOMEM;
    og_chat_apply_template(m, msgs, 2, true, buf, need + 1);
    int32_t n = og_tokenize(m, buf, (size_t)need, NULL, 0, true, true);
    free(buf);
    return n;
}

typedef struct stream {
    og_cite_filter filter;
    og_docs_buf answer;
    size_t since_marker; /* where in answer the text after the last citation starts */
    const og_docs_hit *hits;
    int32_t n_hits;
    og_status status;
    og_error *err;
    og_token_fn on_token;
    void *user;
    og_token current;
    bool stop;
} stream;

static void emit(void *user, const char *text, size_t n)
{
    stream *st = user;
    if (st->status == OG_OK)
        st->status = og_docs_buf_add(&st->answer, text, n, st->err);
    if (st->on_token) {
        og_gen_token t = { st->current, "", 0, 0.0f, text, n };
        if (!st->on_token(st->user, &t))
            st->stop = true;
    }
}

/* Small models often cite a wrong excerpt number: each citation names
 * the excerpt that best supports the text since the previous one when
 * the cited excerpt plainly does not (support.c). */
static int32_t recheck(void *user, int32_t *numbers, int32_t count)
{
    stream *st = user;
    const char *text = st->answer.data ? st->answer.data + st->since_marker : "";
    const size_t len = st->answer.len - st->since_marker;
    int32_t changed = 0;
    for (int32_t i = 0; i < count; i++) {
        const int32_t to = og_docs_recheck(text, len, numbers[i], st->hits, st->n_hits);
        changed += to != numbers[i];
        numbers[i] = to;
    }
    st->since_marker = st->answer.len;
    return changed;
}

static bool on_token(void *user, const og_gen_token *t)
{
    stream *st = user;
    st->current = t->id;
    if (t->text_len)
        og_cite_feed(&st->filter, t->text, t->text_len);
    if (t->id < 0) {
        og_cite_finish(&st->filter);
    }
    return !st->stop && st->status == OG_OK;
}

static og_status generate(const og_model *m, og_context *ctx, const char *user_text, const og_docs_ask_params *p,
                          const og_docs_hit *hits, int32_t n_excerpts, og_docs_answer *out, og_cite_filter *filter,
                          og_error *err)
{
    og_chat *chat = NULL;
    og_sampler *sampler = NULL;
    og_sampler_params sp = og_sampler_default_params();
    sp.temperature = 0.0f;
    stream st;
    memset(&st, 0, sizeof st);
    st.err = err;
    st.on_token = p->on_token;
    st.user = p->user;
    st.hits = hits;
    st.n_hits = n_excerpts;
    og_cite_init(&st.filter, n_excerpts, emit, recheck, &st);
    og_status s = og_sampler_new(&sp, og_vocab_size(m), &sampler, err);
    if (s == OG_OK)
        s = og_chat_new(ctx, &chat, err);
    if (s == OG_OK)
        s = og_chat_add(chat, "system", system_prompt, err);
    if (s == OG_OK)
        s = og_chat_add(chat, "user", user_text, err);
    og_gen_params gp = og_gen_default_params();
    gp.max_tokens = p->max_tokens;
    gp.cancel = p->cancel;
    gp.cancel_user = p->cancel_user;
    gp.max_seconds = p->max_seconds;
    if (s == OG_OK)
        s = og_chat_respond(chat, sampler, &gp, on_token, &st, &out->gen, err);
    if (s == OG_OK && st.filter.n_held) /* a cancelled answer: what is held is text */
        og_cite_finish(&st.filter);
    if (s == OG_OK)
        s = st.status;
    if (s == OG_OK)
        s = og_docs_buf_add(&st.answer, "", 0, err);
    out->gen.text = NULL;
    out->gen.text_len = 0;
    *filter = st.filter;
    if (s == OG_OK) {
        out->answer = st.answer.data;
        st.answer.data = NULL;
    }
    free(st.answer.data);
    og_chat_free(chat);
    og_sampler_free(sampler);
    return s;
}

/* params with og_docs_ask's defaults filled in. */
static og_docs_ask_params resolved(const og_docs_ask_params *params)
{
    og_docs_ask_params p = params ? *params : og_docs_default_ask_params();
    if (p.k <= 0)
        p.k = 5;
    if (p.k > OG_CITE_MAX_EXCERPTS)
        p.k = OG_CITE_MAX_EXCERPTS;
    if (p.max_tokens <= 0)
        p.max_tokens = 512;
    if (p.min_cosine == 0.0)
        p.min_cosine = DEFAULT_MIN_COSINE;
    return p;
}

og_status og_docs_ask(og_docs *d, const og_model *m, og_context *ctx, const char *question,
                      const og_docs_ask_params *params, og_docs_answer *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    if (!d || !m || !ctx || !question)
        return og_error_set(err, OG_ERR_ARG, "og_docs_ask: a collection, a chat model, its context and a question");
    const og_docs_ask_params p = resolved(params);
    og_docs_hit *hits = NULL;
    int32_t n = 0;
    og_status s = og_docs_search(d, question, p.k, OG_DOCS_HYBRID, &hits, &n, err);
    if (s == OG_OK)
        s = og_docs_ask_hits(m, ctx, question, hits, n, &p, out, err);
    og_docs_hits_free(hits, n);
    return s;
}

og_status og_docs_ask_hits(const og_model *m, og_context *ctx, const char *question, const og_docs_hit *hits,
                           int32_t n, const og_docs_ask_params *params, og_docs_answer *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    if (!m || !ctx || !question || (n > 0 && !hits) || n < 0)
        return og_error_set(err, OG_ERR_ARG, "og_docs_ask_hits: a chat model, its context, a question and its hits");
    const og_docs_ask_params p = resolved(params);
    if (n > p.k)
        n = p.k;
    og_status s = OG_OK;
    out->best_cosine = -1.0;
    for (int32_t i = 0; i < n; i++)
        if (hits[i].cosine > out->best_cosine)
            out->best_cosine = hits[i].cosine;
    if (n == 0 || (p.min_cosine > 0.0 && out->best_cosine < p.min_cosine)) {
        out->nothing_relevant = true;
        out->answer = strdup(NOTHING_FOUND);
        return out->answer ? OG_OK : og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    /* As many excerpts as fit with room for the answer. */
    og_docs_buf user = { 0 };
    const int32_t room = og_context_n_ctx(ctx) - p.max_tokens;
    int32_t n_used = n;
    for (; n_used > 0 && s == OG_OK; n_used--) {
        s = user_message(hits, n_used, question, &user, err);
        int32_t need = s == OG_OK ? prompt_tokens(m, user.data) : 0;
        if (need < 0)
            s = og_error_set(err, (og_status)-need, "cannot render the chat model's template");
        if (s != OG_OK || need <= room)
            break;
    }
    if (s == OG_OK && n_used == 0)
        s = og_error_set(err, OG_ERR_CONTEXT_FULL,
                         "the question and one excerpt do not fit the chat context of %d tokens with %d for the answer",
                         og_context_n_ctx(ctx), p.max_tokens);
    og_cite_filter filter;
    if (s == OG_OK)
        s = generate(m, ctx, user.data, &p, hits, n_used, out, &filter, err);
    free(user.data);
    if (s == OG_OK) {
        int32_t n_cited0 = 0;
        for (int32_t i = 1; i <= n_used; i++)
            n_cited0 += filter.cited[i];
        const int32_t source = n_cited0 ? 0 : og_docs_attribute(out->answer, hits, n_used);
        if (source) {
            char mark[16];
            const int len = snprintf(mark, sizeof mark, " [%d]", source);
            char *longer = realloc(out->answer, strlen(out->answer) + (size_t)len + 1);
            if (!longer) {
                s = og_error_set(err, OG_ERR_NOMEM, "out of memory");
            } else {
                out->answer = longer;
                strcat(out->answer, mark);
                filter.cited[source] = true;
                out->attributed = true;
                if (p.on_token) {
                    og_gen_token t = { -1, "", 0, 0.0f, mark, (size_t)len };
                    p.on_token(p.user, &t);
                }
            }
        }
        out->n_repointed = filter.n_repointed;
        out->n_invented = filter.n_invented;
        memcpy(out->invented, filter.invented, sizeof out->invented);
        int32_t n_cited = 0;
        for (int32_t i = 1; i <= n_used; i++)
            n_cited += filter.cited[i];
        out->sources = n_cited ? calloc((size_t)n_cited, sizeof *out->sources) : NULL;
        if (n_cited && !out->sources)
            s = og_error_set(err, OG_ERR_NOMEM, "out of memory");
        for (int32_t i = 1; i <= n_used && s == OG_OK; i++) {
            if (!filter.cited[i])
                continue;
            og_docs_source *src = &out->sources[out->n_sources++];
            src->n = i;
            src->doc = strdup(hits[i - 1].doc);
            src->page = hits[i - 1].page;
            src->start = hits[i - 1].start;
            src->end = hits[i - 1].end;
            if (!src->doc)
                s = og_error_set(err, OG_ERR_NOMEM, "out of memory");
        }
    }
    if (s != OG_OK)
        og_docs_answer_free(out);
    return s;
}
