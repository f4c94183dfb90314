/*
 * cmd_serve.c - `offgrid serve`: the OpenAI-compatible HTTP server. The
 * CLI resolves -m (a file, or a model installed in the store), reads the
 * key file, starts og_server and waits for SIGINT or SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/draft.h"
#include "cli/json_reply.h"

/* NULL or 0 when not given: og_server_default_params decides. */
typedef struct serve_opts {
    const char *model, *embed_model, *host, *api_key, *api_key_file, *cors;
    const char *collection, *passphrase_file; /* documents */
    int32_t max_upload_mib;
    int32_t port; /* -1 when not given */
    int32_t n_parallel, n_ctx, n_threads, queue, max_tokens, max_body_kib, timeout;
    bool insecure, log, json;
    cli_draft_opts draft; /* --draft: every slot drafts with it */
} serve_opts;

static const cli_option options[] = {
    { "-m", "--model", CLI_STRING, CLI_AT(serve_opts, model, const char *), "PATH|NAME",
      .help = "generation model (a file, or a name from `offgrid list`);\n"
              "an encoder (bert) here serves embeddings only" },
    { NULL, "--embed-model", CLI_STRING, CLI_AT(serve_opts, embed_model, const char *), "M",
      .help = "encoder for /v1/embeddings" },
    { NULL, "--host", CLI_STRING, CLI_AT(serve_opts, host, const char *), "H", .help = "address to listen on",
      .def = "127.0.0.1" },
    { NULL, "--port", CLI_INT, CLI_AT(serve_opts, port, int32_t), "P", .help = "port, 0 picks a free one",
      .def = "8080", .min = 0, .max = 65535 },
    { NULL, "--api-key", CLI_STRING, CLI_AT(serve_opts, api_key, const char *), "K",
      .help = "require Authorization: Bearer K" },
    { NULL, "--api-key-file", CLI_STRING, CLI_AT(serve_opts, api_key_file, const char *), "F",
      .help = "the key is the first line of F (keeps it out of ps)" },
    { NULL, "--insecure", CLI_FLAG, CLI_AT(serve_opts, insecure, bool), NULL,
      .help = "allow a non-loopback --host without a key" },
    { NULL, "--cors", CLI_STRING, CLI_AT(serve_opts, cors, const char *), "ORIGINS",
      .help = "comma-separated origins allowed to call the API\nfrom a browser", .def = "none but the page itself" },
    { NULL, "--parallel", CLI_INT, CLI_AT(serve_opts, n_parallel, int32_t), "N", .help = "generation slots",
      .def = "2", .min = 1, .max = 64 },
    CLI_OPT_CTX(serve_opts, n_ctx, "KV cache tokens per slot", "2048"),
    CLI_OPT_THREADS(serve_opts, n_threads, "threads per slot", "CPUs / slots"),
    { NULL, "--queue", CLI_INT, CLI_AT(serve_opts, queue, int32_t), "N", .help = "requests that may wait for a slot",
      .def = "32", .min = 1, .max = 4096 },
    CLI_OPT_MAX_TOKENS(serve_opts, max_tokens, "most tokens a request may ask for", "4096"),
    { NULL, "--max-body", CLI_INT, CLI_AT(serve_opts, max_body_kib, int32_t), "KIB",
      .help = "largest request body in KiB", .def = "1024", .min = 1, .max = 1 << 20 },
    { NULL, "--timeout", CLI_INT, CLI_AT(serve_opts, timeout, int32_t), "S",
      .help = "longest a request may generate, seconds", .def = "300", .min = 1, .max = 86400 },
    { NULL, "--log", CLI_FLAG, CLI_AT(serve_opts, log, bool), NULL,
      .help = "one line per request on stderr:\nmethod, path, status, seconds" },
    { "-C", "--collection", CLI_STRING, CLI_AT(serve_opts, collection, const char *), "NAME",
      .help = "serve this documents collection at /v1/documents and on\n"
              "the page ($OFFGRID_HOME/docs/NAME; created when missing);\n"
              "needs the --embed-model it is indexed with, asking needs -m" },
    { NULL, "--passphrase-file", CLI_STRING, CLI_AT(serve_opts, passphrase_file, const char *), "FILE",
      .help = "an encrypted collection's passphrase (first line); else\n"
              "$OFFGRID_DOCS_PASSPHRASE (a new collection is then encrypted)" },
    { NULL, "--max-upload", CLI_INT, CLI_AT(serve_opts, max_upload_mib, int32_t), "MIB",
      .help = "largest uploaded document in MiB", .def = "256", .min = 1, .max = 1 << 20 },
    CLI_OPT_GROUP(serve_opts, draft, cli_draft_opts, cli_draft_options),
    CLI_OPT_JSON(serve_opts, json, "once listening, one JSON line on stdout: url, host,\nport, model, embed_model, draft_model\n"
                                   "(for scripts; --port 0 picks a free port)"),
    { 0 },
};

static int run(const serve_opts *o)
{
    if (!o->model && !o->embed_model) {
        fprintf(stderr, "offgrid serve: give -m MODEL and/or --embed-model MODEL\n");
        return 2;
    }
    if (o->api_key && o->api_key_file) {
        fprintf(stderr, "offgrid serve: give --api-key or --api-key-file, not both\n");
        return 2;
    }
    if ((o->passphrase_file || o->max_upload_mib) && !o->collection) {
        fprintf(stderr, "offgrid serve: --passphrase-file and --max-upload go with --collection NAME\n");
        return 2;
    }
    if (o->collection && !o->embed_model && !o->model) {
        fprintf(stderr, "offgrid serve: --collection needs --embed-model (the encoder it is indexed with)\n");
        return 2;
    }
    char *key_buf = o->api_key_file ? cli_read_key_line("serve", o->api_key_file, "a key file") : NULL;
    if (o->api_key_file && !key_buf)
        return 1;
    char *pass = NULL;
    if (o->passphrase_file) {
        if (!(pass = cli_read_key_line("serve", o->passphrase_file, "a passphrase file"))) {
            free(key_buf);
            return 1;
        }
    } else if (o->collection && getenv("OFFGRID_DOCS_PASSPHRASE") && getenv("OFFGRID_DOCS_PASSPHRASE")[0]) {
        pass = strdup(getenv("OFFGRID_DOCS_PASSPHRASE"));
    }
    /* Either model may be an installed model's name, as run's -m. */
    char model_buf[4096], embed_buf[4096];
    og_server_params p = og_server_default_params();
    p.model_path = o->model;
    p.embed_model_path = o->embed_model;
    if (!cli_find_model("serve", &p.model_path, model_buf, sizeof model_buf) ||
        !cli_find_model("serve", &p.embed_model_path, embed_buf, sizeof embed_buf)) {
        free(key_buf);
        free(pass);
        return 1;
    }
    char draft_buf[4096];
    if (o->draft.max > 0 && !o->draft.model) {
        fprintf(stderr, "offgrid serve: --draft-max needs --draft MODEL\n");
        free(key_buf);
        free(pass);
        return 2;
    }
    p.draft_model_path = o->draft.model;
    p.draft_max = o->draft.max;
    if (!cli_find_model("serve", &p.draft_model_path, draft_buf, sizeof draft_buf)) {
        free(key_buf);
        free(pass);
        return 1;
    }
    p.model_id = o->model && p.model_path != o->model ? o->model : NULL;
    p.embed_model_id = o->embed_model && p.embed_model_path != o->embed_model ? o->embed_model : NULL;
    if (o->host)
        p.host = o->host;
    if (o->port >= 0)
        p.port = o->port;
    p.api_key = key_buf ? key_buf : o->api_key;
    p.insecure = o->insecure;
    p.cors_origins = o->cors;
    p.n_parallel = o->n_parallel;
    p.n_ctx = o->n_ctx;
    p.n_threads = o->n_threads;
    p.queue_size = o->queue;
    p.max_tokens = o->max_tokens;
    p.timeout_seconds = o->timeout;
    p.max_body = (size_t)o->max_body_kib * 1024;
    p.log_requests = o->log;
    p.docs_collection = o->collection;
    p.docs_passphrase = pass;
    p.max_upload = (size_t)o->max_upload_mib << 20;
    char cache[4096];
    p.cache_dir = cli_pack_cache_dir(cache, sizeof cache);

    /* Blocked before the server's threads exist, so they inherit the
     * mask and only sigwait below sees the signals. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    og_server *srv = NULL;
    og_error err = { 0 };
    og_status st = og_server_start(&p, &srv, &err);
    if (key_buf) {
        memset(key_buf, 0, strlen(key_buf));
        free(key_buf);
    }
    if (pass) {
        memset(pass, 0, strlen(pass));
        free(pass);
    }
    if (st != OG_OK) {
        fprintf(stderr, "offgrid serve: %s\n", err.message);
        return 1;
    }
    const char *host = p.host;
    bool v6 = strchr(host, ':') != NULL;
    char url[320];
    snprintf(url, sizeof url, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", og_server_port(srv));
    fprintf(stderr, "offgrid serve: listening on %s\n", url);
    if (o->json) {
        putchar('{');
        cli_json_field("url", url, 1);
        cli_json_field("host", host, 0);
        printf(", \"port\": %d", og_server_port(srv));
        cli_json_field("model", p.model_path, 0);
        cli_json_field("embed_model", p.embed_model_path, 0);
        cli_json_field("draft_model", p.draft_model_path, 0);
        cli_json_field("collection", p.docs_collection, 0);
        printf("}\n");
        fflush(stdout);
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "offgrid serve: stopping (signal %d)\n", sig);
    og_server_free(srv);
    return 0;
}

static int start(int argc, char **argv)
{
    serve_opts o = { .port = -1 };
    int rc = cli_parse(&cli_cmd_serve, argc, argv, &o);
    return rc == CLI_PARSED ? run(&o) : rc;
}

const cli_command cli_cmd_serve = {
    "serve", "OpenAI-compatible HTTP server with a chat page",
    "Serves POST /v1/chat/completions, /v1/completions and /v1/embeddings,\n"
    "GET /v1/models, /health, /metrics (Prometheus) and a chat page at /.\n"
    "With --collection NAME, also the documents endpoints (/v1/documents:\n"
    "upload, list, delete, search, ask) and a Documents tab on the page.\n"
    "The models are loaded once; N slots generate at the same time, each with\n"
    "its own KV cache, and further requests wait in a queue (503 when full).\n"
    "Give -m MODEL and/or --embed-model M. Stops on SIGINT or SIGTERM.\n"
    "See docs/server.md.",
    options, NULL, start,
};
