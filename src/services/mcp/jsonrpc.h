/*
 * jsonrpc.h - JSON-RPC 2.0 over newline-delimited streams, as MCP's stdio
 * transport frames it: a bounded line reader, the checks that sort a
 * parsed line into request, notification, response or invalid, and the
 * reply builders. Internal to services/mcp.
 */
#ifndef OG_MCP_JSONRPC_H
#define OG_MCP_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "offgrid.h"

/* JSON-RPC's codes, and MCP's for a protocol version it does not speak. */
enum {
    OG_RPC_PARSE_ERROR = -32700,
    OG_RPC_INVALID_REQUEST = -32600,
    OG_RPC_METHOD_NOT_FOUND = -32601,
    OG_RPC_INVALID_PARAMS = -32602,
    OG_RPC_INTERNAL_ERROR = -32603,
    OG_RPC_UNSUPPORTED_VERSION = -32022
};

/* Reads lines from a file descriptor, each at most max bytes (without
 * its newline). A longer line is skipped up to its newline without being
 * kept, so memory stays bounded by max whatever arrives. */
typedef struct og_rpc_reader {
    int fd;
    size_t max;
    char *buf;       /* cap bytes; [start, len) not yet returned */
    size_t cap, start, len, scanned; /* scanned: bytes after start known to hold no newline */
    bool eof, skipping; /* skipping: inside a line already over max */
} og_rpc_reader;

/* Sets r up for fd; nothing is allocated before the first read. */
void og_rpc_reader_init(og_rpc_reader *r, int fd, size_t max);
void og_rpc_reader_free(og_rpc_reader *r);

typedef enum og_rpc_line {
    OG_RPC_LINE,     /* *line, *len: one line (no newline, a final '\r' removed), valid until the next call */
    OG_RPC_TOO_LONG, /* a line over max was skipped whole */
    OG_RPC_EOF,      /* the stream ended (a last line without newline was returned before) */
    OG_RPC_FAILED    /* read failed or memory ran out; err says which */
} og_rpc_line;

og_rpc_line og_rpc_read_line(og_rpc_reader *r, const char **line, size_t *len, og_error *err);

/* What a parsed message is. For OG_RPC_IS_REQUEST and _NOTIFICATION,
 * *method and *params (NULL when absent) are borrowed from msg; for a
 * request *id is borrowed too. For OG_RPC_IS_INVALID, *why says what is
 * wrong and *id is the message's id when it had a valid one (else NULL:
 * the reply's id is null). */
typedef enum og_rpc_kind {
    OG_RPC_IS_REQUEST,
    OG_RPC_IS_NOTIFICATION,
    OG_RPC_IS_RESPONSE, /* a reply to something we never ask: ignored */
    OG_RPC_IS_INVALID
} og_rpc_kind;

og_rpc_kind og_rpc_classify(json_t *msg, json_t **id, const char **method, json_t **params, const char **why);

/* {"jsonrpc": "2.0", "id": id, "result": result}; steals result. id NULL
 * means null. NULL when memory runs out. */
json_t *og_rpc_result(json_t *id, json_t *result);
/* {"jsonrpc": "2.0", "id": id, "error": {code, message, data}}; steals
 * data (may be NULL: no data). */
json_t *og_rpc_error(json_t *id, int code, const char *message, json_t *data);

/* A string for s whatever its bytes: invalid UTF-8 becomes U+FFFD (file
 * names need not be UTF-8, JSON strings must be). NULL s gives null. */
json_t *og_rpc_string(const char *s);

/* msg as one compact line with its '\n' (malloc'd; the caller frees it),
 * or NULL when memory runs out. */
char *og_rpc_dump_line(const json_t *msg, size_t *len);

/* Writes all n bytes to fd (retrying short writes and EINTR). */
og_status og_rpc_write_all(int fd, const char *data, size_t n, og_error *err);

#endif
