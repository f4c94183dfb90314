/*
 * fuzz_mcp.c - libFuzzer target for the MCP server's message handling
 * (services/mcp): the input is a stream of lines, read through the
 * bounded line reader (a small bound, so the too-long path runs) from a
 * pipe, and each line is answered by og_mcp_handle_line on a server with
 * no models (the tools that need none, search and the resources, still
 * run; the documents calls fail cleanly). Every reply must be exactly one
 * line that jansson parses as a JSON-RPC message with an id member.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp/jsonrpc.h"
#include "mcp/mcp_server.h"

static og_mcp *server;

static void check_reply(const char *out, size_t len)
{
    if (!out)
        return;
    if (len == 0 || out[len - 1] != '\n' || memchr(out, '\n', len - 1))
        abort(); /* not exactly one line */
    json_error_t e;
    json_t *j = json_loadb(out, len, 0, &e);
    if (!json_is_object(j) || !json_object_get(j, "id") || !json_is_string(json_object_get(j, "jsonrpc")))
        abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server) {
        og_mcp_params p = og_mcp_default_params();
        p.home = "/nonexistent/offgrid-fuzz"; /* never creates anything */
        p.embed_model_path = NULL;
        if (og_mcp_new(&p, &server, NULL) != OG_OK)
            abort();
    }
    /* The pipe holds 64 KiB; larger inputs would block the writer. */
    if (size > 60000)
        return 0;
    int fds[2];
    if (pipe(fds) != 0)
        return 0;
    if (size && write(fds[1], data, size) != (ssize_t)size)
        abort();
    close(fds[1]);
    og_rpc_reader r;
    og_rpc_reader_init(&r, fds[0], 512);
    for (;;) {
        const char *line;
        size_t n = 0, len = 0;
        og_rpc_line got = og_rpc_read_line(&r, &line, &n, NULL);
        if (got == OG_RPC_EOF || got == OG_RPC_FAILED)
            break;
        if (got == OG_RPC_TOO_LONG)
            continue;
        if (n > 512 || memchr(line, '\n', n))
            abort(); /* the bound or the framing broke */
        char method[64];
        int code;
        char *out = og_mcp_handle_line(server, line, n, &len, method, sizeof method, &code);
        check_reply(out, len);
        free(out);
    }
    og_rpc_reader_free(&r);
    close(fds[0]);
    return 0;
}
