/*
 * mcp_tools.c - the MCP server's tools: embed and classify (the core's
 * encoder API on the models the server loaded), search and ask (the
 * documents collection through og_docs_search and og_docs_ask). Each tool has a JSON Schema for its
 * arguments, checked here before it runs (a bad argument is a -32602
 * protocol error); a tool that runs and fails answers a normal result with
 * isError true and why. structuredContent mirrors what the CLI prints
 * under --json, and the text content is the same JSON, for clients that
 * read only text.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/jsonrpc.h"
#include "mcp/mcp_server.h"

#define EMBED_MAX_TEXTS 256
#define SEARCH_MAX_K 50
#define SEARCH_DEFAULT_K 5
#define ASK_MAX_K 20

typedef struct tool_error {
    bool set;
    char message[512];
} tool_error;

/* A tool's body: the structuredContent object, or NULL with either f set
 * (bad arguments: a protocol error) or te set (it ran and failed). */
typedef json_t *(*tool_fn)(og_mcp *s, json_t *args, og_mcp_fail *f, tool_error *te);

typedef struct tool {
    const char *name, *title, *description;
    const char *schema; /* inputSchema, as JSON text */
    bool (*available)(const og_mcp *s);
    tool_fn call;
} tool;

/* A JSON number for v, or null for NaN and infinities (JSON has none). */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Refuses argument names the schema does not have (additionalProperties
 * false), so a typo ("querry") is an error, not a silent default. */
static bool known_args(json_t *args, const char *const *names, og_mcp_fail *f, const char *tool_name)
{
    const char *key;
    json_t *v;
    json_object_foreach(args, key, v) {
        bool ok = false;
        for (const char *const *n = names; *n && !ok; n++)
            ok = !strcmp(key, *n);
        if (!ok) {
            og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "%s: unknown argument '%.100s'", tool_name, key);
            return false;
        }
    }
    (void)v;
    return true;
}

/* ------------------------------------------------------------------ embed */

static bool has_embed(const og_mcp *s)
{
    return s->embed.enc != NULL;
}

static json_t *call_embed(og_mcp *s, json_t *args, og_mcp_fail *f, tool_error *te)
{
    static const char *const names[] = { "texts", NULL };
    if (!known_args(args, names, f, "embed"))
        return NULL;
    json_t *texts = json_object_get(args, "texts");
    size_t n = json_array_size(texts);
    if (!json_is_array(texts) || n < 1 || n > EMBED_MAX_TEXTS)
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "embed: 'texts' must be an array of 1 to %d strings",
                            EMBED_MAX_TEXTS);
    const char *ptrs[EMBED_MAX_TEXTS];
    size_t lens[EMBED_MAX_TEXTS];
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(texts, i);
        if (!json_is_string(t))
            return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "embed: texts[%zu] is not a string", i);
        ptrs[i] = json_string_value(t);
        lens[i] = json_string_length(t);
    }
    const int32_t dim = og_encoder_n_embd(s->embed.enc);
    float *v = malloc(n * (size_t)dim * sizeof *v);
    if (!v)
        return og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory for %zu embeddings", n);
    og_error err = { 0 };
    if (og_embed(s->embed.enc, ptrs, lens, (int32_t)n, v, &err) != OG_OK) {
        te->set = true;
        snprintf(te->message, sizeof te->message, "embed: %s", err.message);
        free(v);
        return NULL;
    }
    json_t *data = json_array();
    for (size_t i = 0; data && i < n; i++) {
        json_t *e = json_array();
        for (int32_t j = 0; e && j < dim; j++)
            if (json_array_append_new(e, num(v[i * dim + j])) != 0) {
                json_decref(e);
                e = NULL;
            }
        if (!e || json_array_append_new(data, json_pack("{s:i, s:o}", "index", (int)i, "embedding", e)) != 0) {
            json_decref(data);
            data = NULL;
        }
    }
    free(v);
    return json_pack("{s:o, s:i, s:o}", "model", og_rpc_string(s->embed.path), "dim", dim, "data", data);
}

/* --------------------------------------------------------------- classify */

static bool has_classify(const og_mcp *s)
{
    return s->classify.enc != NULL;
}

typedef struct ranked {
    float p;
    int32_t label;
} ranked;

/* Highest probability first; NaN last; ties by label index, so the order
 * is the same on every run (as `offgrid classify` orders them). */
static int by_probability(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (isnan(x->p) != isnan(y->p))
        return isnan(x->p) ? 1 : -1;
    if (x->p != y->p && !isnan(x->p))
        return x->p > y->p ? -1 : 1;
    return (x->label > y->label) - (x->label < y->label);
}

static json_t *call_classify(og_mcp *s, json_t *args, og_mcp_fail *f, tool_error *te)
{
    static const char *const names[] = { "text", NULL };
    if (!known_args(args, names, f, "classify"))
        return NULL;
    json_t *text = json_object_get(args, "text");
    if (!json_is_string(text))
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "classify: 'text' (a string) is required");
    og_encoder *enc = s->classify.enc;
    const int32_t n_labels = og_encoder_n_labels(enc);
    float *p = malloc((size_t)n_labels * sizeof *p);
    ranked *order = malloc((size_t)n_labels * sizeof *order);
    if (!p || !order) {
        free(p);
        free(order);
        return og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory for %d labels", n_labels);
    }
    const char *t = json_string_value(text);
    size_t len = json_string_length(text);
    og_error err = { 0 };
    json_t *out = NULL;
    if (og_classify(enc, &t, &len, 1, p, &err) != OG_OK) {
        te->set = true;
        snprintf(te->message, sizeof te->message, "classify: %s", err.message);
        goto done;
    }
    for (int32_t j = 0; j < n_labels; j++)
        order[j] = (ranked){ p[j], j };
    qsort(order, (size_t)n_labels, sizeof *order, by_probability);
    json_t *top = json_array(), *probs = json_object();
    for (int32_t r = 0; top && r < n_labels; r++)
        json_array_append_new(top, json_pack("{s:o, s:o}", "label", og_rpc_string(og_encoder_label(enc, order[r].label)),
                                             "probability", num(order[r].p)));
    for (int32_t j = 0; probs && j < n_labels; j++)
        json_object_set_new(probs, og_encoder_label(enc, j), num(p[j]));
    out = json_pack("{s:o, s:o, s:o, s:o, s:o}", "model", og_rpc_string(s->classify.path), "label",
                    og_rpc_string(og_encoder_label(enc, order[0].label)), "probability", num(order[0].p), "top",
                    top, "probabilities", probs);
    if (!out)
        og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory");
done:
    free(p);
    free(order);
    return out;
}

/* ----------------------------------------------------------------- search */

/* Search ranks the collection's chunks by their embeddings, so it needs
 * the encoder the collection was indexed with. */
static bool has_search(const og_mcp *s)
{
    return s->p.embed_model_path != NULL;
}

static const char *const mode_names[] = { [OG_DOCS_HYBRID] = "hybrid", [OG_DOCS_BM25] = "bm25",
                                          [OG_DOCS_DENSE] = "dense" };

static json_t *call_search(og_mcp *s, json_t *args, og_mcp_fail *f, tool_error *te)
{
    static const char *const names[] = { "query", "k", "collection", "mode", NULL };
    if (!known_args(args, names, f, "search"))
        return NULL;
    json_t *q = json_object_get(args, "query"), *jk = json_object_get(args, "k");
    json_t *jc = json_object_get(args, "collection"), *jm = json_object_get(args, "mode");
    if (!json_is_string(q) || json_string_length(q) == 0)
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "search: 'query' (a non-empty string) is required");
    if (jk && (!json_is_integer(jk) || json_integer_value(jk) < 1 || json_integer_value(jk) > SEARCH_MAX_K))
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "search: 'k' must be an integer from 1 to %d", SEARCH_MAX_K);
    if (jc && !json_is_string(jc))
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "search: 'collection' must be a string");
    og_docs_mode mode = OG_DOCS_HYBRID;
    if (jm) {
        const char *m = json_string_value(jm);
        size_t i = 0;
        while (m && i < sizeof mode_names / sizeof mode_names[0] && strcmp(m, mode_names[i]) != 0)
            i++;
        if (!m || i == sizeof mode_names / sizeof mode_names[0])
            return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "search: 'mode' must be \"hybrid\", \"bm25\" or \"dense\"");
        mode = (og_docs_mode)i;
    }
    const int32_t k = jk ? (int32_t)json_integer_value(jk) : SEARCH_DEFAULT_K;
    const char *collection = jc ? json_string_value(jc) : s->collection;
    og_error err = { 0 };
    og_docs_hit *hits = NULL;
    int32_t n = 0;
    og_docs *docs = og_mcp_docs(s, collection, &err);
    if (!docs || og_docs_search(docs, json_string_value(q), k, mode, &hits, &n, &err) != OG_OK) {
        te->set = true;
        snprintf(te->message, sizeof te->message, "search in collection '%.63s': %s", collection, err.message);
        return NULL;
    }
    json_t *results = json_array();
    for (int32_t i = 0; results && i < n; i++) {
        const og_docs_hit *h = &hits[i];
        json_t *r = json_pack("{s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o}", "doc", og_rpc_string(h->doc), "page",
                              h->page > 0 ? json_integer(h->page) : json_null(), "start", (json_int_t)h->start, "end", (json_int_t)h->end, "score",
                              num(h->score), "cosine", num(h->cosine), "heading", og_rpc_string(h->heading), "text",
                              og_rpc_string(h->text));
        if (json_array_append_new(results, r) != 0) {
            json_decref(results);
            results = NULL;
        }
    }
    og_docs_hits_free(hits, n);
    json_t *out = json_pack("{s:o, s:o, s:s, s:o}", "query", json_incref(q), "collection", og_rpc_string(collection),
                            "mode", mode_names[mode], "results", results);
    return out ? out : og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory");
}

/* -------------------------------------------------------------------- ask */

/* Asking needs the chat model and the collection's encoder. */
static bool has_ask(const og_mcp *s)
{
    return s->chat_ctx != NULL && s->p.embed_model_path != NULL;
}

static json_t *call_ask(og_mcp *s, json_t *args, og_mcp_fail *f, tool_error *te)
{
    static const char *const names[] = { "question", "k", "collection", NULL };
    if (!known_args(args, names, f, "ask"))
        return NULL;
    json_t *q = json_object_get(args, "question"), *jk = json_object_get(args, "k");
    json_t *jc = json_object_get(args, "collection");
    if (!json_is_string(q) || json_string_length(q) == 0)
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "ask: 'question' (a non-empty string) is required");
    if (jk && (!json_is_integer(jk) || json_integer_value(jk) < 1 || json_integer_value(jk) > ASK_MAX_K))
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "ask: 'k' must be an integer from 1 to %d", ASK_MAX_K);
    if (jc && !json_is_string(jc))
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "ask: 'collection' must be a string");
    const char *collection = jc ? json_string_value(jc) : s->collection;
    og_docs_ask_params ap = og_docs_default_ask_params();
    if (jk)
        ap.k = (int32_t)json_integer_value(jk);
    og_docs_answer a;
    og_error err = { 0 };
    og_docs *docs = og_mcp_docs(s, collection, &err);
    if (!docs || og_docs_ask(docs, s->chat_model, s->chat_ctx, json_string_value(q), &ap, &a, &err) != OG_OK) {
        te->set = true;
        snprintf(te->message, sizeof te->message, "ask in collection '%.63s': %s", collection, err.message);
        return NULL;
    }
    /* As `offgrid docs ask --json` prints it. */
    json_t *sources = json_array(), *invented = json_array();
    for (int32_t i = 0; sources && i < a.n_sources; i++) {
        const og_docs_source *src = &a.sources[i];
        json_array_append_new(sources, json_pack("{s:i, s:o, s:o, s:I, s:I}", "n", (int)src->n, "doc",
                                                 og_rpc_string(src->doc), "page",
                                                 src->page > 0 ? json_integer(src->page) : json_null(), "start",
                                                 (json_int_t)src->start, "end", (json_int_t)src->end));
    }
    for (int32_t i = 0; invented && i < a.n_invented && i < 16; i++)
        json_array_append_new(invented, json_integer(a.invented[i]));
    json_t *out = json_pack("{s:o, s:o, s:o, s:i, s:b, s:b, s:o}", "answer", og_rpc_string(a.answer), "sources",
                            sources, "invented", invented, "repointed", (int)a.n_repointed, "nothing_relevant",
                            a.nothing_relevant, "attributed", a.attributed, "best_cosine", num(a.best_cosine));
    og_docs_answer_free(&a);
    return out ? out : og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory");
}

/* ----------------------------------------------------------------- table */

static const tool tools[] = {
    { "embed", "Embed texts",
      "Sentence embeddings of each text from the local encoder model: unit-length vectors, so the dot product "
      "of two is their cosine similarity.",
      "{\"type\":\"object\",\"properties\":{\"texts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
      "\"minItems\":1,\"maxItems\":256,\"description\":\"the texts to embed\"}},\"required\":[\"texts\"],"
      "\"additionalProperties\":false}",
      has_embed, call_embed },
    { "classify", "Classify a text",
      "The label the local classifier model gives a text, with the probability of every label.",
      "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\",\"description\":\"the text to "
      "classify\"}},\"required\":[\"text\"],\"additionalProperties\":false}",
      has_classify, call_classify },
    { "search", "Search the documents",
      "Passages of the user's indexed documents that best match a query (keyword and meaning combined by "
      "default), best first, each with its file, page and position.",
      "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\",\"minLength\":1},\"k\":{\"type\":"
      "\"integer\",\"minimum\":1,\"maximum\":50,\"default\":5,\"description\":\"how many passages\"},"
      "\"collection\":{\"type\":\"string\",\"description\":\"the collection to search (default: the server's)\"},"
      "\"mode\":{\"type\":\"string\",\"enum\":[\"hybrid\",\"bm25\",\"dense\"],\"default\":\"hybrid\"}},"
      "\"required\":[\"query\"],\"additionalProperties\":false}",
      has_search, call_search },
    { "ask", "Ask the documents",
      "An answer to a question from the user's indexed documents, written by the local chat model from the best "
      "matching passages and citing them as [n]; every citation is checked against the passages (invented ones "
      "are dropped). When no passage is relevant it says so instead of answering.",
      "{\"type\":\"object\",\"properties\":{\"question\":{\"type\":\"string\",\"minLength\":1},\"k\":{\"type\":"
      "\"integer\",\"minimum\":1,\"maximum\":20,\"default\":5,\"description\":\"how many passages the model "
      "reads\"},\"collection\":{\"type\":\"string\",\"description\":\"the collection (default: the server's)\"}},"
      "\"required\":[\"question\"],\"additionalProperties\":false}",
      has_ask, call_ask },
};
#define N_TOOLS (sizeof tools / sizeof tools[0])

json_t *og_mcp_tools_list(og_mcp *s, og_mcp_fail *f)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < N_TOOLS; i++) {
        if (!tools[i].available(s))
            continue;
        json_error_t jerr;
        json_t *schema = json_loads(tools[i].schema, 0, &jerr);
        json_t *t = json_pack("{s:s, s:s, s:s, s:o}", "name", tools[i].name, "title", tools[i].title, "description",
                              tools[i].description, "inputSchema", schema);
        if (json_array_append_new(list, t) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    json_t *out = list ? json_pack("{s:o}", "tools", list) : NULL;
    return out ? out : og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory");
}

/* A tool result: content is the text (the structured JSON, or why it
 * failed), and structuredContent on success. */
static json_t *tool_result(json_t *structured, const char *error_text)
{
    char *text = structured ? json_dumps(structured, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_t *out = NULL;
    if (structured && text)
        out = json_pack("{s:[{s:s, s:s}], s:o, s:b}", "content", "type", "text", "text", text, "structuredContent",
                        structured, "isError", 0);
    else if (!structured)
        out = json_pack("{s:[{s:s, s:o}], s:b}", "content", "type", "text", "text", og_rpc_string(error_text),
                        "isError", 1);
    else
        json_decref(structured);
    free(text);
    return out;
}

json_t *og_mcp_tools_call(og_mcp *s, json_t *params, og_mcp_fail *f)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (!name)
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "tools/call needs params.name (a string)");
    if (args && !json_is_object(args))
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "tools/call: params.arguments must be an object");
    const tool *t = NULL;
    for (size_t i = 0; i < N_TOOLS && !t; i++)
        if (!strcmp(tools[i].name, name) && tools[i].available(s))
            t = &tools[i];
    if (!t)
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "unknown tool: %.100s", name);
    json_t *empty = args ? NULL : json_object();
    tool_error te = { 0 };
    json_t *structured = t->call(s, args ? args : empty, f, &te);
    json_decref(empty);
    if (!structured && !te.set)
        return f->code ? NULL : og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory");
    json_t *out = tool_result(structured, te.message);
    return out ? out : og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory");
}
