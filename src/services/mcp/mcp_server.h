/*
 * mcp_server.h - the MCP server's state and the split between its files:
 * mcp_server.c (eras, dispatch of methods, the serve loop), mcp_tools.c
 * (the tools), mcp_resources.c (documents as resources). Internal to
 * services/mcp.
 */
#ifndef OG_MCP_SERVER_H
#define OG_MCP_SERVER_H

#include <jansson.h>
#include <stdbool.h>

#include "offgrid_services.h"

#define OG_MCP_MODERN "2026-07-28"   /* the stateless revision: _meta in every request */
#define OG_MCP_HANDSHAKE "2025-11-25" /* the newest revision with initialize */
#define OG_MCP_DEFAULT_MAX_MESSAGE ((size_t)8 << 20)

/* One loaded encoder (embed or classify). */
typedef struct og_mcp_encoder {
    const char *path; /* the params' string */
    og_model *model;
    og_encoder *enc;
} og_mcp_encoder;

typedef struct og_mcp {
    og_mcp_params p;
    char home[4096], collection[64];
    og_mcp_encoder embed, classify;
    og_model *chat_model; /* the ask tool's, with its one context */
    og_context *chat_ctx;
    /* The collection last opened (open on first use, kept while its name
     * stays the one asked for): opening loads its encoder. */
    og_docs *docs;
    char docs_name[64];
} og_mcp;

/* Loads the models params names; on failure nothing is kept. */
og_status og_mcp_new(const og_mcp_params *params, og_mcp **out, og_error *err);
void og_mcp_free(og_mcp *s);

/* Answers one line: the reply as one line with its newline (malloc'd,
 * *len its bytes), or NULL when the line needs none (a notification, a
 * response, blank) or memory ran out (*len = 0 then too; the caller
 * cannot tell: both are "nothing to send"). *method gets the request's
 * method for the log (a static string or into line's parse; valid until
 * the next call) and *code the error code sent, 0 for a result. */
char *og_mcp_handle_line(og_mcp *s, const char *line, size_t n, size_t *len, char *method, size_t method_cap,
                         int *code);

/* The era of one request, from its _meta (never from earlier requests). */
typedef struct og_mcp_era {
    bool modern; /* 2026-07-28: results carry resultType and cache hints */
} og_mcp_era;

/* Adds the fields the era requires to a result: resultType (modern) and,
 * with cache (list and read results), cacheScope and ttlMs. Returns
 * result, or NULL (result freed) when memory ran out. */
json_t *og_mcp_era_result(og_mcp_era era, json_t *result, const char *cache_scope);

/* How a method handler fails: a JSON-RPC error code and message, or 0. */
typedef struct og_mcp_fail {
    int code;
    char message[512];
} og_mcp_fail;
/* Sets f and returns NULL, so a handler reads `return fail(f, ...)`. */
json_t *og_mcp_failf(og_mcp_fail *f, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The methods' bodies: each returns the result object (before the era's
 * fields) or NULL with f set. */
json_t *og_mcp_tools_list(og_mcp *s, og_mcp_fail *f);
json_t *og_mcp_tools_call(og_mcp *s, json_t *params, og_mcp_fail *f);
json_t *og_mcp_resources_list(og_mcp *s, og_mcp_fail *f);
json_t *og_mcp_resources_read(og_mcp *s, json_t *params, og_mcp_fail *f);

/* The collection name (NULL: the server's), opened if not already: NULL
 * with err set when it cannot be (missing, locked, not built yet). */
og_docs *og_mcp_docs(og_mcp *s, const char *collection, og_error *err);

#endif
