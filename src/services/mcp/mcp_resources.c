/*
 * mcp_resources.c - the collection's documents as MCP resources. A
 * document's URI is path-based, so it stays the same while others are
 * added or removed: offgrid://docs/<collection><absolute path>, the path
 * percent-encoded except for '/' and RFC 3986's unreserved characters
 * (/home/u/a b.pdf in "default" is offgrid://docs/default/home/u/a%20b.pdf).
 * Owns nothing past a call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/jsonrpc.h"
#include "mcp/mcp_server.h"

#define URI_PREFIX "offgrid://docs/"

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '/';
}

/* The URI of path in collection (malloc'd), or NULL when memory runs out. */
static char *doc_uri(const char *collection, const char *path)
{
    size_t n = strlen(path), o = 0;
    char *u = malloc(sizeof URI_PREFIX + strlen(collection) + 3 * n + 2);
    if (!u)
        return NULL;
    o = (size_t)sprintf(u, "%s%s", URI_PREFIX, collection);
    if (path[0] != '/')
        u[o++] = '/';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (unreserved(c))
            u[o++] = (char)c;
        else
            o += (size_t)sprintf(u + o, "%%%02X", c);
    }
    u[o] = 0;
    return u;
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Splits a URI into its collection (into coll) and decoded path
 * (malloc'd, into *path); false when it is not one of ours. */
static bool parse_uri(const char *uri, char *coll, size_t coll_cap, char **path)
{
    *path = NULL;
    if (strncmp(uri, URI_PREFIX, strlen(URI_PREFIX)) != 0)
        return false;
    const char *c = uri + strlen(URI_PREFIX), *slash = strchr(c, '/');
    if (!slash || slash == c || (size_t)(slash - c) >= coll_cap)
        return false;
    memcpy(coll, c, (size_t)(slash - c));
    coll[slash - c] = 0;
    char *p = malloc(strlen(slash) + 1);
    if (!p)
        return false;
    size_t o = 0;
    for (const char *s = slash; *s; s++) {
        if (*s != '%') {
            p[o++] = *s;
            continue;
        }
        int hi = hex(s[1]), lo = hi < 0 ? -1 : hex(s[2]);
        if (lo < 0 || (hi == 0 && lo == 0)) { /* a bad escape, or %00 that would cut the path */
            free(p);
            return false;
        }
        p[o++] = (char)(hi * 16 + lo);
        s += 2;
    }
    p[o] = 0;
    *path = p;
    return true;
}

/* The documents of the server's collection; an empty list when there is
 * no collection to serve (none configured, none indexed yet, or the
 * documents service absent from this build). */
json_t *og_mcp_resources_list(og_mcp *s, og_mcp_fail *f)
{
    json_t *list = json_array();
    if (!list)
        return og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory");
    og_error err = { 0 };
    og_docs *docs = s->p.embed_model_path ? og_mcp_docs(s, NULL, &err) : NULL;
    og_docs_doc *d = NULL;
    int32_t n = 0;
    if (docs && og_docs_list(docs, &d, &n, &err) != OG_OK)
        docs = NULL;
    if (!docs && s->p.embed_model_path && err.code != OG_ERR_UNSUPPORTED && err.code != OG_ERR_ARG) {
        json_decref(list);
        return og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "collection '%s': %s", s->collection, err.message);
    }
    for (int32_t i = 0; docs && i < n; i++) {
        char *uri = doc_uri(s->collection, d[i].path);
        const char *base = strrchr(d[i].path, '/');
        json_t *r = uri ? json_pack("{s:o, s:o, s:s, s:I}", "uri", og_rpc_string(uri), "name",
                                    og_rpc_string(base ? base + 1 : d[i].path), "mimeType", "text/plain", "size",
                                    (json_int_t)d[i].size)
                        : NULL;
        free(uri);
        if (json_array_append_new(list, r) != 0) {
            og_docs_docs_free(d, n);
            json_decref(list);
            return og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory");
        }
    }
    og_docs_docs_free(d, n);
    return json_pack("{s:o}", "resources", list);
}

json_t *og_mcp_resources_read(og_mcp *s, json_t *params, og_mcp_fail *f)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (!uri)
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "resources/read needs params.uri (a string)");
    char coll[64], *path = NULL;
    og_error err = { 0 };
    og_docs *docs = NULL;
    og_docs_doc *d = NULL;
    int32_t n = 0, found = -1;
    if (parse_uri(uri, coll, sizeof coll, &path) && s->p.embed_model_path &&
        (docs = og_mcp_docs(s, coll, &err)) != NULL && og_docs_list(docs, &d, &n, &err) == OG_OK)
        for (int32_t i = 0; i < n && found < 0; i++)
            if (!strcmp(d[i].path, path))
                found = i;
    og_docs_docs_free(d, n);
    if (found < 0) {
        free(path);
        return og_mcp_failf(f, OG_RPC_INVALID_PARAMS, "unknown resource: %.300s", uri);
    }
    /* The extracted text, pages separated by '\f'. */
    char *text = NULL;
    size_t len = 0;
    og_status st = og_docs_read_text(docs, path, &text, &len, &err);
    free(path);
    if (st != OG_OK)
        return og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "%.300s: %s", uri, err.message);
    json_t *contents = json_pack("{s:[{s:s, s:s, s:s%}]}", "contents", "uri", uri, "mimeType", "text/plain", "text",
                                 text, len);
    free(text);
    return contents ? contents : og_mcp_failf(f, OG_RPC_INTERNAL_ERROR, "out of memory");
}
