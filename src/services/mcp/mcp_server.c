/*
 * mcp_server.c - the MCP server: loads the models, then reads one
 * JSON-RPC message per line and answers it, deciding each request's
 * protocol era from the request alone (2026-07-28 when its _meta names a
 * version, else the 2025-11-25 handshake era) and dispatching its method.
 * Owns the server state (models, the open collection); the tools and
 * resources are in mcp_tools.c and mcp_resources.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/jsonrpc.h"
#include "mcp/mcp_server.h"

#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_SERVER_INFO "io.modelcontextprotocol/serverInfo"

/* What a client may ask for, newest first. The handshake versions differ
 * from 2025-11-25 only in fields older clients ignore. */
static const char *const supported[] = { OG_MCP_MODERN, OG_MCP_HANDSHAKE, "2025-06-18", "2025-03-26", "2024-11-05" };
#define N_SUPPORTED (sizeof supported / sizeof supported[0])

static const char instructions[] =
    "offgrid runs models on this device, offline. Tools: embed (sentence vectors), classify (labels with "
    "probabilities), search (passages from the user's indexed documents, with their file and page) and ask "
    "(a cited answer from those documents); "
    "resources: the indexed documents.";

og_mcp_params og_mcp_default_params(void)
{
    og_mcp_params p;
    memset(&p, 0, sizeof p);
    p.log_fd = -1;
    return p;
}

json_t *og_mcp_failf(og_mcp_fail *f, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    f->code = code;
    return NULL;
}

json_t *og_mcp_era_result(og_mcp_era era, json_t *result, const char *cache_scope)
{
    if (!result || !era.modern)
        return result;
    if (json_object_set_new(result, "resultType", json_string("complete")) != 0 ||
        (cache_scope && (json_object_set_new(result, "cacheScope", json_string(cache_scope)) != 0 ||
                         json_object_set_new(result, "ttlMs", json_integer(0)) != 0))) {
        json_decref(result);
        return NULL;
    }
    return result;
}

static void free_encoder(og_mcp_encoder *e)
{
    og_encoder_free(e->enc);
    og_model_free(e->model);
    e->enc = NULL;
    e->model = NULL;
}

static og_status load_encoder(const og_mcp_params *p, const char *path, bool classify, og_mcp_encoder *e,
                              og_error *err)
{
    og_model_params mp = og_model_default_params();
    mp.n_threads = p->n_threads;
    mp.cache_dir = p->cache_dir;
    e->path = path;
    og_status st = og_model_load(path, &mp, &e->model, err);
    if (st != OG_OK)
        return st;
    og_encoder_params ep = og_encoder_default_params();
    ep.n_threads = p->n_threads;
    ep.normalize = !classify; /* as `offgrid classify` runs it: the head reads what it was trained on */
    st = og_encoder_new(e->model, &ep, &e->enc, err);
    if (st == OG_OK && classify && og_encoder_n_labels(e->enc) == 0)
        st = og_error_set(err, OG_ERR_ARG, "%s has no classification head (cls.output); it cannot classify", path);
    if (st != OG_OK) {
        og_error_prefix(err, "%s", path);
        free_encoder(e);
    }
    return st;
}

/* The ask tool's model and context (4096 tokens: the excerpts, the
 * question and a 512-token answer, as `offgrid docs ask` sizes it). */
static og_status load_chat(og_mcp *s, og_error *err)
{
    og_model_params mp = og_model_default_params();
    mp.n_threads = s->p.n_threads;
    mp.cache_dir = s->p.cache_dir;
    og_status st = og_model_load(s->p.chat_model_path, &mp, &s->chat_model, err);
    og_context_params cp = og_context_default_params();
    cp.n_ctx = 4096;
    cp.n_threads = s->p.n_threads;
    if (st == OG_OK)
        st = og_context_new(s->chat_model, &cp, &s->chat_ctx, err);
    if (st != OG_OK)
        og_error_prefix(err, "%s", s->p.chat_model_path);
    return st;
}

og_status og_mcp_new(const og_mcp_params *params, og_mcp **out, og_error *err)
{
    *out = NULL;
    og_mcp *s = calloc(1, sizeof *s);
    if (!s)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    s->p = *params;
    const char *c = params->collection ? params->collection : "default";
    if (strlen(c) >= sizeof s->collection) {
        free(s);
        return og_error_set(err, OG_ERR_ARG, "collection name '%.80s' is longer than 63 bytes", c);
    }
    strcpy(s->collection, c);
    og_status st = OG_OK;
    if (params->embed_model_path)
        st = load_encoder(params, params->embed_model_path, false, &s->embed, err);
    if (st == OG_OK && params->classify_model_path)
        st = load_encoder(params, params->classify_model_path, true, &s->classify, err);
    if (st == OG_OK && params->chat_model_path)
        st = load_chat(s, err);
    if (st != OG_OK) {
        og_mcp_free(s);
        return st;
    }
    *out = s;
    return OG_OK;
}

void og_mcp_free(og_mcp *s)
{
    if (!s)
        return;
    free_encoder(&s->embed);
    free_encoder(&s->classify);
    og_context_free(s->chat_ctx);
    og_model_free(s->chat_model);
    og_docs_free(s->docs);
    free(s);
}

og_docs *og_mcp_docs(og_mcp *s, const char *collection, og_error *err)
{
    const char *name = collection ? collection : s->collection;
    if (s->docs && !strcmp(s->docs_name, name))
        return s->docs;
    if (strlen(name) >= sizeof s->docs_name) {
        og_error_set(err, OG_ERR_ARG, "collection name '%.80s' is longer than 63 bytes", name);
        return NULL;
    }
    og_docs_free(s->docs);
    s->docs = NULL;
    og_docs_params dp = og_docs_default_params();
    dp.home = s->p.home;
    dp.collection = name;
    dp.embed_model_path = s->p.embed_model_path;
    dp.passphrase = s->p.passphrase;
    dp.must_exist = true; /* serving never creates a collection */
    dp.n_threads = s->p.n_threads;
    if (og_docs_open(&dp, &s->docs, err) != OG_OK) {
        s->docs = NULL;
        return NULL;
    }
    strcpy(s->docs_name, name);
    return s->docs;
}

static json_t *server_info(void)
{
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", OG_VERSION_MAJOR, OG_VERSION_MINOR, OG_VERSION_PATCH);
    return json_pack("{s:s, s:s}", "name", "offgrid", "version", version);
}

static json_t *capabilities(void)
{
    return json_pack("{s:{}, s:{}}", "tools", "resources");
}

static json_t *supported_list(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < N_SUPPORTED; i++)
        if (json_array_append_new(a, json_string(supported[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* initialize (the handshake era): the client's version when this server
 * speaks it, else the newest handshake version (the client decides
 * whether it can go on). */
static json_t *initialize(json_t *params, og_mcp_fail *f)
{
    const char *want = json_string_value(json_object_get(params, "protocolVersion"));
    if (!want)
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "initialize needs params.protocolVersion (a string)");
    const char *v = OG_MCP_HANDSHAKE;
    for (size_t i = 1; i < N_SUPPORTED; i++)
        if (!strcmp(want, supported[i]))
            v = supported[i];
    return json_pack("{s:s, s:o, s:o, s:s}", "protocolVersion", v, "capabilities", capabilities(), "serverInfo",
                     server_info(), "instructions", instructions);
}

static json_t *discover(void)
{
    return json_pack("{s:o, s:o, s:s, s:s, s:s, s:i, s:{s:o}}", "supportedVersions", supported_list(),
                     "capabilities", capabilities(), "instructions", instructions, "resultType", "complete",
                     "cacheScope", "public", "ttlMs", 0, "_meta", META_SERVER_INFO, server_info());
}

/* The era of a request from its _meta, or an error reply's parts. */
static bool request_era(json_t *params, og_mcp_era *era, og_mcp_fail *f, json_t **data)
{
    era->modern = false;
    json_t *meta = json_object_get(params, "_meta");
    if (meta && !json_is_object(meta)) {
        og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "params._meta must be an object");
        return false;
    }
    json_t *v = json_object_get(meta, META_VERSION);
    if (!v)
        return true;
    if (json_is_string(v) && !strcmp(json_string_value(v), OG_MCP_MODERN)) {
        era->modern = true;
        return true;
    }
    /* The per-request envelope exists only in the stateless revision. */
    og_mcp_failf(f, OG_RPC_UNSUPPORTED_VERSION, "unsupported protocol version");
    *data = json_pack("{s:o, s:O}", "supported", supported_list(), "requested", v);
    return false;
}

/* One request's result (era fields included), or NULL with f set. */
static json_t *dispatch(og_mcp *s, const char *method, json_t *params, og_mcp_era era, og_mcp_fail *f)
{
    if (!strcmp(method, "server/discover"))
        return discover();
    if (!strcmp(method, "initialize")) {
        if (era.modern)
            return og_mcp_failf(f, OG_RPC_METHOD_NOT_FOUND,
                                "initialize is not part of " OG_MCP_MODERN " (use server/discover)");
        return initialize(params, f);
    }
    if (!strcmp(method, "ping"))
        return og_mcp_era_result(era, json_object(), NULL);
    if (!strcmp(method, "tools/list"))
        return og_mcp_era_result(era, og_mcp_tools_list(s, f), "public");
    if (!strcmp(method, "tools/call"))
        return og_mcp_era_result(era, og_mcp_tools_call(s, params, f), NULL);
    if (!strcmp(method, "resources/list"))
        return og_mcp_era_result(era, og_mcp_resources_list(s, f), "private");
    if (!strcmp(method, "resources/read"))
        return og_mcp_era_result(era, og_mcp_resources_read(s, params, f), "private");
    if (!strcmp(method, "resources/templates/list"))
        return og_mcp_era_result(era, json_pack("{s:[]}", "resourceTemplates"), "public");
    return og_mcp_failf(f, OG_RPC_METHOD_NOT_FOUND, "method not found: %.200s", method);
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

char *og_mcp_handle_line(og_mcp *s, const char *line, size_t n, size_t *len, char *method, size_t method_cap,
                         int *code)
{
    *len = 0;
    *code = 0;
    snprintf(method, method_cap, "-");
    if (blank(line, n))
        return NULL;
    json_error_t jerr;
    json_t *msg = json_loadb(line, n, JSON_DECODE_ANY, &jerr);
    json_t *reply = NULL;
    og_mcp_fail f = { 0 };
    json_t *data = NULL, *id = NULL, *params = NULL;
    snprintf(method, method_cap, "(invalid)");
    if (!msg) {
        og_mcp_failf(&f, OG_RPC_PARSE_ERROR, "parse error: %s (column %d)", jerr.text, jerr.column);
        goto error;
    }
    const char *m = NULL, *why = NULL;
    switch (og_rpc_classify(msg, &id, &m, &params, &why)) {
    case OG_RPC_IS_RESPONSE:
        json_decref(msg);
        return NULL;
    case OG_RPC_IS_NOTIFICATION:
        snprintf(method, method_cap, "%s", m);
        json_decref(msg);
        return NULL;
    case OG_RPC_IS_INVALID:
        og_mcp_failf(&f, OG_RPC_INVALID_REQUEST, "invalid request: %s", why);
        goto error;
    case OG_RPC_IS_REQUEST:
        break;
    }
    snprintf(method, method_cap, "%s", m);
    if (params && !json_is_object(params)) {
        og_mcp_failf(&f, OG_RPC_INVALID_PARAMS, "params must be an object");
        goto error;
    }
    og_mcp_era era;
    if (!request_era(params, &era, &f, &data))
        goto error;
    json_t *result = dispatch(s, m, params, era, &f);
    if (!result) {
        if (f.code == 0)
            og_mcp_failf(&f, OG_RPC_INTERNAL_ERROR, "out of memory");
        goto error;
    }
    reply = og_rpc_result(id, result);
    goto done;
error:
    *code = f.code;
    reply = og_rpc_error(id, f.code, f.message, data);
done:;
    char *out = reply ? og_rpc_dump_line(reply, len) : NULL;
    json_decref(reply);
    json_decref(msg);
    return out;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* One log line per message answered or skipped (stderr for the CLI). */
static void log_line(const og_mcp_params *p, const char *method, int code, double ms)
{
    if (p->log_fd < 0)
        return;
    if (p->log_json) {
        json_t *j = json_pack("{s:o, s:i, s:f}", "method", og_rpc_string(method), "code", code, "ms", ms);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s)
            dprintf(p->log_fd, "%s\n", s);
        free(s);
        json_decref(j);
    } else {
        dprintf(p->log_fd, "offgrid mcp: %s %s %.1f ms\n", method, code ? "error" : "ok", ms);
    }
}

og_status og_mcp_serve(int in_fd, int out_fd, const og_mcp_params *params, og_error *err)
{
    if (!params || in_fd < 0 || out_fd < 0)
        return og_error_set(err, OG_ERR_ARG, "og_mcp_serve needs two open descriptors and params");
    og_mcp *s = NULL;
    og_status st = og_mcp_new(params, &s, err);
    if (st != OG_OK)
        return st;
    const size_t max = params->max_message ? params->max_message : OG_MCP_DEFAULT_MAX_MESSAGE;
    og_rpc_reader r;
    og_rpc_reader_init(&r, in_fd, max);
    for (;;) {
        const char *line = NULL;
        size_t n = 0, len = 0;
        char method[128];
        int code = 0;
        char *out = NULL;
        double t0 = now_ms();
        og_rpc_line got = og_rpc_read_line(&r, &line, &n, err);
        if (got == OG_RPC_EOF)
            break;
        if (got == OG_RPC_FAILED) {
            st = err ? err->code : OG_ERR_IO;
            break;
        }
        if (got == OG_RPC_TOO_LONG) {
            char why[96];
            snprintf(why, sizeof why, "invalid request: the message is longer than %zu bytes", max);
            json_t *e = og_rpc_error(NULL, OG_RPC_INVALID_REQUEST, why, NULL);
            out = e ? og_rpc_dump_line(e, &len) : NULL;
            json_decref(e);
            snprintf(method, sizeof method, "(too long)");
            code = OG_RPC_INVALID_REQUEST;
        } else {
            t0 = now_ms(); /* from the whole line, not from waiting for it */
            out = og_mcp_handle_line(s, line, n, &len, method, sizeof method, &code);
        }
        st = out ? og_rpc_write_all(out_fd, out, len, err) : OG_OK;
        free(out);
        if (strcmp(method, "-") != 0)
            log_line(params, method, code, now_ms() - t0);
        if (st != OG_OK)
            break;
    }
    og_rpc_reader_free(&r);
    og_mcp_free(s);
    return st;
}
