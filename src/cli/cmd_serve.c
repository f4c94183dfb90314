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

/* A path as given, else (a bare NAME[:VERSION] that is no file) the
 * active file of an installed model, as the other commands' -m. Sets
 * *ok false after printing why when it is neither. */
static const char *resolve_model(const char *ref, char *buf, size_t cap, bool *ok)
{
    *ok = true;
    if (!ref || access(ref, F_OK) == 0 || strchr(ref, '/'))
        return ref; /* loading it reports a missing file */
#ifdef OG_WITH_SERVICES
    if (!cli_store_resolve_model("serve", ref, buf, cap)) {
        *ok = false;
        return NULL;
    }
    return buf;
#else
    (void)buf;
    (void)cap;
    return ref;
#endif
}

/* The first line of the key file, without its line end. */
static char *read_key(const char *path)
{
    size_t len;
    char *key = cli_read_file(path, &len);
    if (!key)
        return NULL;
    key[strcspn(key, "\r\n")] = 0;
    if (!key[0]) {
        fprintf(stderr, "offgrid serve: %s holds no key\n", path);
        free(key);
        return NULL;
    }
    return key;
}

static int run(const cli_opts *o)
{
    if (!o->model && !o->embed_model) {
        fprintf(stderr, "offgrid serve: give -m MODEL and/or --embed-model MODEL\n");
        return 2;
    }
    if (o->api_key && o->api_key_file) {
        fprintf(stderr, "offgrid serve: give --api-key or --api-key-file, not both\n");
        return 2;
    }
    char *key_buf = o->api_key_file ? read_key(o->api_key_file) : NULL;
    if (o->api_key_file && !key_buf)
        return 1;
    char model_buf[4096], embed_buf[4096];
    bool ok_model, ok_embed;
    og_server_params p = og_server_default_params();
    p.model_path = resolve_model(o->model, model_buf, sizeof model_buf, &ok_model);
    p.embed_model_path = resolve_model(o->embed_model, embed_buf, sizeof embed_buf, &ok_embed);
    if (!ok_model || !ok_embed) {
        free(key_buf);
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
    if (st != OG_OK) {
        fprintf(stderr, "offgrid serve: %s\n", err.message);
        return 1;
    }
    const char *host = p.host;
    bool v6 = strchr(host, ':') != NULL;
    fprintf(stderr, "offgrid serve: listening on http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "",
            og_server_port(srv));
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "offgrid serve: stopping (signal %d)\n", sig);
    og_server_free(srv);
    return 0;
}

const cli_command cli_cmd_serve = {
    "serve", "OpenAI-compatible HTTP server with a chat page",
    "usage: offgrid serve [-m MODEL|NAME] [--embed-model M] [--host H] [--port P]\n"
    "                     [--api-key K | --api-key-file F] [--parallel N] [--ctx N]\n\n"
    "Serves POST /v1/chat/completions, /v1/completions and /v1/embeddings,\n"
    "GET /v1/models, /health, /metrics (Prometheus) and a chat page at /.\n"
    "The models are loaded once; N slots generate at the same time, each with\n"
    "its own KV cache, and further requests wait in a queue (503 when full).\n"
    "Stops on SIGINT or SIGTERM. See docs/server.md.\n\n"
    "options:\n"
    "  -m, --model PATH|NAME   generation model (a file, or a name from `offgrid list`);\n"
    "                          an encoder (bert) here serves embeddings only\n"
    "      --embed-model M     encoder for /v1/embeddings\n"
    "      --host H            address to listen on (default 127.0.0.1)\n"
    "      --port P            port (default 8080; 0 picks a free one)\n"
    "      --api-key K         require Authorization: Bearer K\n"
    "      --api-key-file F    the key is the first line of F (keeps it out of ps)\n"
    "      --insecure          allow a non-loopback --host without a key\n"
    "      --cors ORIGINS      comma-separated origins allowed to call the API\n"
    "                          from a browser (default: none but the page itself)\n"
    "      --parallel N        generation slots (default 2)\n"
    "  -c, --ctx N             KV cache tokens per slot (default 2048)\n"
    "  -t, --threads N         threads per slot (default: CPUs / slots)\n"
    "      --queue N           requests that may wait for a slot (default 32)\n"
    "      --max-tokens N      most tokens a request may ask for (default 4096)\n"
    "      --max-body KIB      largest request body in KiB (default 1024)\n"
    "      --timeout S         longest a request may generate, seconds (default 300)\n"
    "      --log               one line per request on stderr\n",
    OPT_SERVE | OPT_CTX | OPT_THREADS | OPT_MAX_TOKENS,
    run,
};
