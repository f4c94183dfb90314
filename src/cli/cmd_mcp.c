/*
 * cmd_mcp.c - `offgrid mcp`: a Model Context Protocol server on stdin and
 * stdout for MCP clients (editors, assistants) that start it as a child
 * process. The CLI resolves the models, moves the protocol to a private
 * copy of stdout and points fd 1 at stderr, so nothing but protocol
 * messages can ever reach the client (a stray printf in any library goes
 * to the log), then hands both descriptors to og_mcp_serve.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

typedef struct mcp_opts {
    const char *model, *embed_model, *classify_model, *collection, *home, *passphrase_file;
    int32_t n_threads;
    bool log, json;
} mcp_opts;

static const cli_option options[] = {
    { "-m", "--model", CLI_STRING, CLI_AT(mcp_opts, model, const char *), "CHAT_MODEL",
      .help = "chat model for the ask tool (a file or an installed\nmodel's name; ask also needs --embed-model)" },
    { NULL, "--embed-model", CLI_STRING, CLI_AT(mcp_opts, embed_model, const char *), "M",
      .help = "sentence encoder: the embed tool, and search in the\ncollection (which it must have indexed)" },
    { NULL, "--classify-model", CLI_STRING, CLI_AT(mcp_opts, classify_model, const char *), "M",
      .help = "encoder with a classification head: the classify tool" },
    { NULL, "--collection", CLI_STRING, CLI_AT(mcp_opts, collection, const char *), "C",
      .help = "the documents collection served", .def = "default" },
    { NULL, "--home", CLI_STRING, CLI_AT(mcp_opts, home, const char *), "DIR",
      .help = "the folder holding the collections", .def = "$OFFGRID_HOME or ~/.local/share/offgrid" },
    { NULL, "--passphrase-file", CLI_STRING, CLI_AT(mcp_opts, passphrase_file, const char *), "F",
      .help = "an encrypted collection's passphrase is the first line of F\n"
              "(else $OFFGRID_DOCS_PASSPHRASE)" },
    CLI_OPT_THREADS(mcp_opts, n_threads, "encoder threads", "all CPUs"),
    { NULL, "--log", CLI_FLAG, CLI_AT(mcp_opts, log, bool), NULL,
      .help = "one line per request on stderr: method, ok or error,\nmilliseconds" },
    CLI_OPT_JSON(mcp_opts, json, "log lines (--log) as JSON objects: {\"method\", \"code\", \"ms\"}\n"
                                 "(the protocol itself is always JSON-RPC on stdout)"),
    { 0 },
};

/* The protocol's descriptor: a private copy of stdout; fd 1 becomes
 * stderr. -1 (reason printed) when it cannot be set up. */
static int take_stdout(void)
{
    fflush(stdout);
    int proto = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (proto < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        perror("offgrid mcp: moving the protocol off stdout");
        if (proto >= 0)
            close(proto);
        return -1;
    }
    return proto;
}

/* Resolves the models and the passphrase, then serves on proto. */
static int serve(const mcp_opts *o, int proto)
{
    char chat_buf[4096], embed_buf[4096], classify_buf[4096], cache[4096];
    og_mcp_params p = og_mcp_default_params();
    p.chat_model_path = o->model;
    p.embed_model_path = o->embed_model;
    p.classify_model_path = o->classify_model;
    if (!cli_find_model("mcp", &p.chat_model_path, chat_buf, sizeof chat_buf) ||
        !cli_find_model("mcp", &p.embed_model_path, embed_buf, sizeof embed_buf) ||
        !cli_find_model("mcp", &p.classify_model_path, classify_buf, sizeof classify_buf))
        return 1;
    p.home = o->home;
    p.collection = o->collection;
    p.n_threads = o->n_threads;
    p.cache_dir = cli_pack_cache_dir(cache, sizeof cache);
    p.log_fd = o->log ? STDERR_FILENO : -1;
    p.log_json = o->json;
    char *pass = NULL;
    if (o->passphrase_file && !(pass = cli_read_key_line("mcp", o->passphrase_file, "a passphrase file")))
        return 1;
    p.passphrase = pass ? pass : getenv("OFFGRID_DOCS_PASSPHRASE");

    fprintf(stderr, "offgrid mcp: serving on stdio (tools:%s%s%s%s)\n", p.embed_model_path ? " embed" : "",
            p.classify_model_path ? " classify" : "", p.embed_model_path ? " search" : "",
            p.embed_model_path && p.chat_model_path ? " ask" : "");
    og_error err = { 0 };
    og_status st = og_mcp_serve(STDIN_FILENO, proto, &p, &err);
    if (pass) {
        memset(pass, 0, strlen(pass));
        free(pass);
    }
    if (st != OG_OK) {
        fprintf(stderr, "offgrid mcp: %s\n", err.message);
        return 1;
    }
    return 0;
}

static int run(const mcp_opts *o)
{
    /* First of all, so that not even resolving a model (which may talk
     * about the store) can write to the client. */
    int proto = take_stdout();
    if (proto < 0)
        return 1;
    /* A client that goes away makes write fail with EPIPE, which ends
     * the loop, instead of killing the process mid-message. */
    signal(SIGPIPE, SIG_IGN);
    int rc = serve(o, proto);
    close(proto);
    return rc;
}

static int start(int argc, char **argv)
{
    mcp_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_mcp, argc, argv, &o);
    return rc == CLI_PARSED ? run(&o) : rc;
}

const cli_command cli_cmd_mcp = {
    "mcp", "Model Context Protocol server on stdio (tools and documents)",
    "Serves MCP over stdin/stdout (one JSON-RPC message per line) until stdin\n"
    "ends, for clients that start it as a child process. Tools: embed\n"
    "(--embed-model), classify (--classify-model), search in the documents\n"
    "collection (--embed-model, the one the collection was indexed with) and\n"
    "ask (-m CHAT_MODEL too); the collection's documents are resources. Speaks the 2025-11-25 handshake and\n"
    "the stateless 2026-07-28 revision. Only protocol messages reach stdout;\n"
    "everything else goes to stderr. See docs/mcp.md.",
    options, NULL, start,
};
