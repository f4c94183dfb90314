/*
 * offgrid_services.h - the services tier of offgrid: the model store and the
 * OpenAI-compatible server. Services are built on the public API of
 * offgrid.h alone, plus their own libraries (SQLite, libsodium, libcurl,
 * libzip, libmicrohttpd, jansson). Absent from builds with OG_CORE_ONLY.
 * The conventions of offgrid.h hold.
 */
#ifndef OFFGRID_SERVICES_H
#define OFFGRID_SERVICES_H

#include "offgrid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ store */
/* The store is a folder (og_store_default_home: $OFFGRID_HOME, else
 * ~/.local/share/offgrid) holding content-addressed blobs
 * (blobs/sha256/<hex>), a SQLite registry of installed model versions
 * (registry.db) and trusted_keys (hex Ed25519 public keys, one a line).
 * Blobs are written to a temporary file, fsync'd and renamed into place
 * before the registry, in one transaction, makes a version active: a crash
 * leaves the old or the new version active and never a half-written blob.
 * Model references are "NAME" or "NAME:VERSION"; names and versions are
 * [A-Za-z0-9._-], at most 63 bytes, not starting with '.'. */

typedef struct og_store og_store;

/* One installed version, as the registry records it. Strings are copies
 * (no pointers into the store). Times are Unix seconds, 0 = never. */
typedef struct og_store_version {
    char name[64], version[64];
    char sha256[65];           /* lower-case hex of the model file */
    uint64_t size;             /* bytes */
    char source[1024];         /* where it came from (mirror path or URL) */
    char arch[32], task[16];   /* from the catalog: "llama", "chat" */
    int64_t installed_at, last_used;
    bool active, previous;     /* the active version, the rollback target */
    uint64_t ram_bytes;        /* the catalog's RAM estimate (0: unknown) */
} og_store_version;

/* Writes the store's default folder into buf (NUL-terminated). */
OG_API og_status og_store_default_home(char *buf, size_t cap, og_error *err);

/* Opens the store in home (created when missing, as is its registry). */
OG_API og_status og_store_open(const char *home, og_store **out, og_error *err);
OG_API void og_store_free(og_store *store);

/* Called during a pull: stage is "download", "copy", "extract" or
 * "verify"; total is 0 when unknown. */
typedef void (*og_store_progress_fn)(void *user, const char *stage, uint64_t done, uint64_t total);

/* Called once when a pull must wait for the store's lock: holder says
 * who has it, e.g. "pull of NAME (pid N)". */
typedef void (*og_store_wait_fn)(void *user, const char *holder);

typedef struct og_store_pull_params {
    const char *catalog;   /* catalog file path or http(s)/file URL (required) */
    const char *mirrors;   /* ':'-separated folders searched by file name first, or NULL */
    bool force;            /* pull even when disk or RAM looks too small */
    bool skip_test;        /* do not load the model for a test inference */
    int max_retries;       /* HTTP attempts per URL (default 5) */
    long low_speed_seconds; /* abort a transfer slower than 1 KiB/s this long (default 30) */
    og_store_progress_fn progress; /* may be NULL */
    void *user;
    /* The test load's og_model_params.cache_dir: it leaves the repacked
     * weights there for the model's first run (NULL: no cache). */
    const char *cache_dir;
    /* Another process is changing the store (a pull of the same model):
     * the pull waits for it, calling waiting (may be NULL) first. */
    og_store_wait_fn waiting;
} og_store_pull_params;

OG_API og_store_pull_params og_store_default_pull_params(void);

/* Installs ref from the catalog (when no version is given, the highest
 * one this device's rollout cohort may have, see og_store_update):
 * mirrors first, then the entry's URLs (file:// before the others).
 * Refuses before fetching anything when og_store_check_fit says the
 * model does not fit (unless force), verifies size, SHA-256 and the Ed25519 signature (when
 * the entry is signed or trusted_keys is not empty: then a valid
 * signature by a trusted key is required), loads the model for a test
 * inference, and only then activates it; the version that was active
 * becomes the previous one. On failure nothing active changes. out (may be
 * NULL) receives the installed version. While another process holds the
 * store's lock it waits (params->waiting hears of it); a second pull of
 * the same model then finds the file in place. A full disk (the fit check,
 * or ENOSPC while writing) stops it at once with OG_ERR_NO_SPACE, trying
 * no other source and leaving no partial file. */
OG_API og_status og_store_pull(og_store *store, const char *ref, const og_store_pull_params *params,
                        og_store_version *out, og_error *err);

/* Every installed version, ordered by name then install time. *out is
 * malloc'd (NULL when *n is 0): the caller frees it with free(). */
OG_API og_status og_store_list(og_store *store, og_store_version **out, size_t *n, og_error *err);

/* The active version of NAME, or the version NAME:VERSION names. */
OG_API og_status og_store_get(og_store *store, const char *ref, og_store_version *out, og_error *err);

/* Path of the active model file of NAME (or of NAME:VERSION) into buf,
 * and marks it used now. */
OG_API og_status og_store_model_path(og_store *store, const char *ref, char *buf, size_t cap, og_error *err);

/* Removes NAME:VERSION, or every version of NAME, and the blobs nothing
 * else uses. Removing the active version makes the previous one active. */
OG_API og_status og_store_remove(og_store *store, const char *ref, og_error *err);

/* Makes the previous version of NAME active again (they swap). */
OG_API og_status og_store_rollback(og_store *store, const char *name, og_store_version *out, og_error *err);

/* Re-hashes the installed files of NAME (every model when NULL). Calls
 * report (may be NULL) once per version with ok false and a reason when it
 * does not match. *n_bad counts the mismatches; the return is OG_OK unless
 * the check itself could not run. */
typedef void (*og_store_verify_fn)(void *user, const og_store_version *v, bool ok, const char *why);
OG_API og_status og_store_verify(og_store *store, const char *name, og_store_verify_fn report, void *user,
                          size_t *n_bad, og_error *err);

/* Deletes versions that are neither active nor previous, blobs no version
 * uses and leftover temporary files. *n_files and *n_bytes (may be NULL) get
 * what was freed. */
OG_API og_status og_store_prune(og_store *store, size_t *n_files, uint64_t *n_bytes, og_error *err);

/* What a model needs from the device. og_store_probe_device reads total
 * and available RAM (/proc/meminfo), online cores, the CPU's SIMD
 * features and the kernels offgrid picks, and the free space of dir. */
typedef struct og_store_device {
    uint64_t ram_total, ram_available, free_disk; /* bytes */
    int32_t cores;
    char simd[128]; /* features, space-separated ("avx2 fma f16c avx512f"), or "none" */
    char isa[16];   /* the kernels offgrid runs: "scalar", "avx2", "avx512", "neon" */
} og_store_device;

OG_API og_status og_store_probe_device(const char *dir, og_store_device *out, og_error *err);

/* og_store_probe_device of the store's folder, as the store's own fit
 * checks see it: with the figures of og_store_test_control in place of
 * the measured ones. */
OG_API og_status og_store_probe(og_store *store, og_store_device *out, og_error *err);

/* The share of available RAM a model may take (the rest is headroom for
 * the OS, the app and the KV cache's growth), in percent. */
#define OG_STORE_RAM_HEADROOM_PERCENT 70

/* The one fit check pull, recommend and loading an installed model use:
 * OG_ERR_NO_SPACE when disk_bytes (0: nothing to fetch) is over the free
 * disk, else OG_ERR_NOMEM when ram_bytes is over
 * OG_STORE_RAM_HEADROOM_PERCENT of the available RAM or over the total;
 * the reason names what (e.g. "name:version") and the figures. Unknown
 * figures (0 in d) are not checked. */
OG_API og_status og_store_check_fit(const og_store_device *d, const char *what, uint64_t ram_bytes, uint64_t disk_bytes,
                             og_error *err);

/* The value of key in home/config ("key = value" lines, '#' comments)
 * into buf; "" when the file or the key is missing. */
OG_API og_status og_store_config(const og_store *store, const char *key, char *buf, size_t cap, og_error *err);

/* This device's id for staged rollouts: 32 hex digits (128 random bits)
 * kept in home/device_id, created atomically on first use. */
OG_API og_status og_store_device_id(og_store *store, char id[33], og_error *err);

/* Whether downloads now go over a metered connection, and why it is
 * believed (docs/store.md): $OFFGRID_METERED, else NetworkManager
 * (nmcli) when present, else not metered. */
OG_API og_status og_store_metered(bool *metered, char *why, size_t cap, og_error *err);

/* ------------------------------------------------------ update, recommend */

typedef enum og_store_update_state {
    OG_UPDATE_CURRENT,   /* the active version is the one this device should run */
    OG_UPDATE_AVAILABLE, /* a newer version would be installed (check only) */
    OG_UPDATE_DONE,      /* the newer version was installed and is active */
    OG_UPDATE_HELD,      /* not downloaded: metered connection */
    OG_UPDATE_FAILED     /* the newer version failed a check; the old stays active */
} og_store_update_state;

typedef struct og_store_update_item {
    char name[64], from[64], to[64]; /* to: "" when nothing newer applies */
    uint64_t download;               /* bytes to fetch (0: already in the store) */
    og_store_update_state state;
    char note[512];                  /* rollout cohort, or why it failed */
} og_store_update_item;

typedef void (*og_store_update_fn)(void *user, const og_store_update_item *item);

typedef struct og_store_update_params {
    og_store_pull_params pull; /* catalog, mirrors, retries, force, progress */
    bool check_only;           /* report what would change, change nothing */
    bool allow_metered;        /* download even over a metered connection */
} og_store_update_params;

/* For each installed model name: the highest catalog version this device
 * may run (entries with "rollout" count only when the device's cohort is
 * in their percentage) replaces the active one when it is newer and not
 * installed yet (a version rolled back from stays rolled back). Each is
 * installed as og_store_pull installs (fit, size, SHA-256, signature,
 * test inference, then activation; the old version becomes previous).
 * Downloads over a metered connection are held unless allow_metered or
 * the config's allow_metered = true. report (may be NULL) gets one item
 * per model. *n_changed (may be NULL) counts versions available
 * (check_only) or installed. Returns OG_OK unless the catalog could not be
 * read or an update failed or was held (err says which). */
OG_API og_status og_store_update(og_store *store, const og_store_update_params *params, og_store_update_fn report,
                          void *user, size_t *n_changed, og_error *err);

/* One catalog model judged for this device by og_store_recommend. */
typedef struct og_store_candidate {
    char name[64], version[64], task[16], quantization[32];
    int64_t parameters;
    uint64_t ram_bytes, size;
    bool installed, fits;
    char why[512]; /* why it fits or was rejected */
} og_store_candidate;

/* Judges the catalog's models of task (NULL: any) on device d (with the
 * store's og_store_test_control figures in place, if any): each
 * name's highest version for this device, rejected when it fails
 * og_store_check_fit (disk only when not installed) or needs more than
 * the scalar kernels can run at a usable speed. *out (free()) is ordered
 * best first: fitting models before the rest, then more parameters, then
 * more RAM (a less compressed quantization). *n counts them. */
OG_API og_status og_store_recommend(og_store *store, const char *catalog, const char *task, const og_store_device *d,
                             og_store_candidate **out, size_t *n, og_error *err);

/* One model the catalog offers, as og_store_catalog lists it. */
typedef struct og_store_catalog_item {
    char name[64], version[64]; /* the version this device would get */
    char task[16], arch[32], quantization[32], license[64];
    char file_name[256];
    int64_t parameters;         /* 0: unknown */
    uint64_t size, ram_bytes;   /* the file's bytes, the RAM estimate */
    char how[16];               /* how the file is had: "download", "pip" (a wheel pip fetches),
                                   "built" (made on the device, pulled from a mirror folder),
                                   "mirror" (no source: mirror folders only) */
    char built_by[128];         /* for "built": the command that makes the file */
    bool installed;             /* some version of the name is installed */
} og_store_catalog_item;

/* Every model name in catalog, once, in the catalog's order: the
 * newest version this device's rollout cohort is offered (the newest of
 * all when none is). *out is malloc'd (NULL when *n is 0; free()).
 * store may be NULL (no store yet, and looking must not create one):
 * then the newest versions are listed, none installed, and a catalog
 * signature is not checked (there are no trusted keys to check it with;
 * pull checks everything it installs). */
OG_API og_status og_store_catalog(og_store *store, const char *catalog, og_store_catalog_item **out, size_t *n,
                                  og_error *err);

/* -------------------------------------------------------- testing only */
/* Not for applications: lets tests pretend a smaller device, as
 * sqlite3_test_control does for SQLite. The figure is kept on this store
 * handle (no global state) and used by its pull, update and recommend
 * fit checks and by og_store_probe in place of the measured one; value 0
 * measures again. */
typedef enum og_store_test_op {
    OG_STORE_TEST_FREE_DISK = 1,   /* bytes of free disk */
    OG_STORE_TEST_RAM_TOTAL = 2,   /* bytes of RAM in all (the available RAM is capped to it) */
    OG_STORE_TEST_RAM_AVAILABLE = 3 /* bytes of available RAM */
} og_store_test_op;

/* OG_ERR_ARG for a NULL store or an unknown op. */
OG_API og_status og_store_test_control(og_store *store, og_store_test_op op, uint64_t value, og_error *err);

/* Ed25519 for publishers. og_keygen writes a new key pair as hex: the
 * secret key to secret_path (mode 0600) and the public key to
 * public_path; neither may exist. og_sign_file writes into sig_hex (129
 * bytes) the detached signature of the file's bytes; og_verify_file checks
 * one against a hex public key (OG_ERR_FORMAT when it does not match). */
OG_API og_status og_keygen(const char *secret_path, const char *public_path, og_error *err);
OG_API og_status og_sign_file(const char *path, const char *secret_path, char sig_hex[129], og_error *err);
OG_API og_status og_verify_file(const char *path, const char *sig_hex, const char *public_hex, og_error *err);

/* -------------------------------------------------------------- documents */
/* Ask your documents: a collection is one SQLite database under
 * <home>/docs/<collection>/ (docs.db; docs.key too when encrypted) holding
 * the documents' extracted pages, their chunks (spans into the pages), an
 * FTS5 index and each chunk's embedding. Adding is incremental (a file
 * whose size, time and content hash are unchanged is skipped) and crash
 * safe (each file is replaced in one transaction: after a kill, the same
 * call again ends with every file indexed once). Spans count Unicode code
 * points from the start of their page's text. See docs/documents.md. */

typedef struct og_docs og_docs;

typedef struct og_docs_params {
    const char *home;             /* NULL: og_store_default_home() */
    const char *collection;       /* [A-Za-z0-9._-], 1..63 bytes, not starting with '.'; NULL: "default" */
    const char *embed_model_path; /* the sentence encoder (bert GGUF) (required) */
    const char *passphrase;       /* an encrypted collection's passphrase; NULL for a plain one */
    bool create_encrypted;        /* a new collection is created encrypted (needs passphrase) */
    bool must_exist;              /* OG_ERR_ARG instead of creating a missing collection */
    int32_t n_threads;            /* embedding threads; 0: all cores */
} og_docs_params;

OG_API og_docs_params og_docs_default_params(void);

/* Opens the collection (creating it unless must_exist). OG_ERR_KEY for an
 * encrypted collection without its passphrase or with a wrong one (nothing
 * is written); OG_ERR_UNSUPPORTED when the collection was indexed with
 * another embedding model than embed_model_path (its name says which). */
OG_API og_status og_docs_open(const og_docs_params *params, og_docs **out, og_error *err);
OG_API void og_docs_free(og_docs *docs);

/* Progress of og_docs_add, called after each file and at least every
 * second while one is read. path is the file being read (NULL at the end). */
typedef struct og_docs_progress {
    const char *path;
    int64_t files_done, files_total, files_skipped, files_failed;
    int64_t pages, chunks;
    double seconds;
} og_docs_progress;
typedef void (*og_docs_progress_fn)(void *user, const og_docs_progress *p);
/* A file that could not be indexed, and why (the others go on). */
typedef void (*og_docs_file_error_fn)(void *user, const char *path, const og_error *why);

/* Indexes paths (files, and folders recursively, skipping hidden entries);
 * each file is read, chunked and embedded, then stored in one transaction.
 * *n_failed (optional) counts the files reported through on_error. Returns
 * OG_OK when the collection itself could be written, even if files
 * failed. */
OG_API og_status og_docs_add(og_docs *docs, const char *const *paths, int32_t n_paths,
                             og_docs_progress_fn progress, og_docs_file_error_fn on_error, void *user,
                             int32_t *n_failed, og_error *err);

/* og_docs_add, and then removes the documents under paths whose files
 * are gone: what `docs watch` runs each time it looks. *n_removed
 * (optional) counts those removed. */
OG_API og_status og_docs_sync(og_docs *docs, const char *const *paths, int32_t n_paths,
                              og_docs_progress_fn progress, og_docs_file_error_fn on_error, void *user,
                              int32_t *n_failed, int32_t *n_removed, og_error *err);

/* Removes a document (or every document under a folder) by its path as
 * added (made absolute); *n_removed (optional) counts them; OG_ERR_ARG
 * when none matched. Costs only the removed documents' chunks. */
OG_API og_status og_docs_remove(og_docs *docs, const char *path, int32_t *n_removed, og_error *err);

typedef struct og_docs_doc {
    char *path;            /* absolute */
    char kind[8];          /* "text", "md", "html", "docx", "pdf", "image" */
    int64_t size;          /* bytes */
    char sha256[65];
    int32_t n_pages, n_chunks;
    int64_t indexed_at;    /* Unix seconds */
    char *error;           /* why the last attempt failed, or NULL */
} og_docs_doc;

/* The extracted text of the document at path (absolute, as og_docs_list
 * gives it): its pages in order, separated by '\f'. *text is malloc'd and
 * NUL-terminated (free it); *len (optional) its bytes. OG_ERR_ARG when
 * the collection has no such document. */
OG_API og_status og_docs_read_text(og_docs *docs, const char *path, char **text, size_t *len, og_error *err);

/* The collection's documents, by path. og_docs_docs_free them. */
OG_API og_status og_docs_list(og_docs *docs, og_docs_doc **out, int32_t *n, og_error *err);
OG_API void og_docs_docs_free(og_docs_doc *list, int32_t n);

typedef enum og_docs_mode {
    OG_DOCS_HYBRID = 0, /* BM25 and dense, fused by reciprocal rank */
    OG_DOCS_BM25,
    OG_DOCS_DENSE
} og_docs_mode;

typedef struct og_docs_hit {
    char *doc;         /* the document's path */
    int32_t page;      /* 1-based; 0 for kinds without pages */
    int64_t start, end; /* code points in the page's text */
    double score;      /* the mode's score, higher is better (RRF for hybrid) */
    double cosine;     /* the chunk's cosine similarity to the query */
    char *text;        /* the chunk */
    char *heading;     /* the headings above it, or NULL */
} og_docs_hit;

/* The k best chunks for query, best first. og_docs_hits_free them. */
OG_API og_status og_docs_search(og_docs *docs, const char *query, int32_t k, og_docs_mode mode,
                                og_docs_hit **out, int32_t *n, og_error *err);
OG_API void og_docs_hits_free(og_docs_hit *hits, int32_t n);

/* A source an answer cites: excerpt n of the prompt. */
typedef struct og_docs_source {
    int32_t n;          /* the excerpt's number in the answer, [n] */
    char *doc;
    int32_t page;       /* 1-based; 0 for kinds without pages */
    int64_t start, end; /* code points in the page's text */
} og_docs_source;

typedef struct og_docs_answer {
    char *answer;              /* the answer, invented citations removed */
    og_docs_source *sources;   /* the excerpts it cites, by n */
    int32_t n_sources;
    int32_t n_invented;        /* citations that named no excerpt (dropped) */
    int32_t invented[16];      /* their numbers (the first 16) */
    int32_t n_repointed;       /* citations re-pointed: the cited excerpt shared under half the words of the
                                  text before it that another one did, which it now names */
    bool nothing_relevant;     /* no excerpt passed the relevance threshold: no answer was generated */
    bool attributed;           /* the model cited nothing; the source is the excerpt sharing the most
                                  words with the answer, cited as " [n]" appended to it */
    double best_cosine;        /* the best excerpt's cosine similarity to the question */
    og_gen_result gen;         /* the generation's figures (its text pointer is not kept) */
} og_docs_answer;

typedef struct og_docs_ask_params {
    int32_t k;              /* excerpts given to the model; 0: 5 */
    int32_t max_tokens;     /* of the answer; 0: 512 */
    double min_cosine;      /* the relevance threshold on the best excerpt; < 0: none; 0: the default */
    og_token_fn on_token;   /* streams the answer (checked text, in og_gen_token.text); may be NULL */
    void *user;
    og_cancel_fn cancel;    /* polled during the generation (og_gen_params.cancel); may be NULL */
    void *cancel_user;
    double max_seconds;     /* the generation's wall-clock limit (og_gen_params.max_seconds); 0: none */
} og_docs_ask_params;

OG_API og_docs_ask_params og_docs_default_ask_params(void);

/* Answers question from the collection: retrieves the k best chunks
 * (hybrid), and unless none is relevant, has chat_model (through
 * chat_ctx, a context of it) answer from them as numbered excerpts (greedy, with the model's chat
 * template), checking each citation "[n]" as it streams: one naming no
 * excerpt is dropped and counted. og_docs_answer_free *out. */
OG_API og_status og_docs_ask(og_docs *docs, const og_model *chat_model, og_context *chat_ctx, const char *question,
                             const og_docs_ask_params *params, og_docs_answer *out, og_error *err);
OG_API void og_docs_answer_free(og_docs_answer *answer);

/* og_docs_ask's second half, for a collection shared between threads:
 * the caller retrieves under its own lock (og_docs_search(docs, question,
 * k, OG_DOCS_HYBRID, ...): og_docs_ask's retrieval) and answers from the
 * hits without it, since answering needs no collection. The first
 * params->k (0: 5) of the n_hits hits are the excerpts; the relevance
 * threshold, context fitting, citation checks and attribution are
 * og_docs_ask's. The hits stay the caller's. */
OG_API og_status og_docs_ask_hits(const og_model *chat_model, og_context *chat_ctx, const char *question,
                                  const og_docs_hit *hits, int32_t n_hits, const og_docs_ask_params *params,
                                  og_docs_answer *out, og_error *err);

/* -------------------------------------------------------------------- mcp */
/* A Model Context Protocol server on a pair of file descriptors (stdio for
 * `offgrid mcp`): newline-delimited JSON-RPC 2.0, both protocol eras a
 * client may speak (2025-11-25 with the initialize handshake, and the
 * stateless 2026-07-28 with server/discover and a protocol version in
 * every request's _meta). Tools: embed, classify (each listed only when
 * its model is given), search (needs embed_model_path, which the
 * collection was indexed with), ask (og_docs_ask: chat_model_path too);
 * the collection's documents are resources. See docs/mcp.md. */

typedef struct og_mcp_params {
    const char *chat_model_path;     /* the ask tool's chat model (with embed_model_path); NULL: no ask */
    const char *embed_model_path;    /* sentence encoder: the embed and search tools; NULL: neither */
    const char *classify_model_path; /* encoder with a classification head: the classify tool; NULL: none */
    const char *home;                /* the documents' store folder; NULL: og_store_default_home() */
    const char *collection;          /* the collection served by default; NULL: "default" */
    const char *passphrase;          /* an encrypted collection's passphrase, or NULL */
    const char *cache_dir;           /* og_model_params.cache_dir for the models (NULL: none) */
    int32_t n_threads;               /* encoder threads; 0: all cores */
    size_t max_message;              /* longest message line in bytes; 0: 8 MiB */
    int log_fd;                      /* one line per request goes here (stderr: 2); -1: no log */
    bool log_json;                   /* log lines are JSON objects */
} og_mcp_params;

OG_API og_mcp_params og_mcp_default_params(void); /* all NULL/0, log_fd -1 */

/* Loads the configured models (failing before anything is served when one
 * cannot be loaded or a classify model has no classification head), then
 * answers the messages read from in_fd on out_fd, one line each, until
 * in_fd ends. Only protocol messages are written to out_fd; malformed
 * input gets a JSON-RPC error and the server reads on. Returns OG_OK at
 * end of input, OG_ERR_IO when in_fd cannot be read or out_fd written
 * (the client went away). Neither descriptor is closed. */
OG_API og_status og_mcp_serve(int in_fd, int out_fd, const og_mcp_params *params, og_error *err);

/* ----------------------------------------------------------------- server */
/* An OpenAI-compatible HTTP server: /v1/chat/completions,
 * /v1/completions, /v1/embeddings, /v1/models, /health, /metrics, a
 * documents collection at /v1/documents when one is given, and a chat
 * page at /. The models are loaded once and shared by n_parallel slots,
 * each with its own context (KV cache); requests beyond them wait in a
 * bounded queue, and past it get 503 with Retry-After. See docs/server.md. */

typedef struct og_server og_server;

typedef struct og_server_params {
    const char *model_path;       /* generation model (llama); NULL when only embed_model_path is served */
    const char *embed_model_path; /* encoder (bert) for /v1/embeddings, or NULL */
    const char *model_id;         /* names in /v1/models; NULL: the file's base name */
    const char *embed_model_id;
    const char *host;             /* address to bind; NULL: 127.0.0.1 */
    int port;                     /* 0: any free port (og_server_port tells which) */
    const char *api_key;          /* NULL or "": no key */
    bool insecure;                /* allow a non-loopback address without a key */
    const char *cors_origins;     /* comma-separated allowed origins; NULL: CORS off */
    int32_t n_parallel;           /* slots; 0: 2 */
    int32_t n_ctx;                /* tokens of KV cache per slot; 0: min(model's, 2048) */
    int32_t n_threads;            /* threads per slot; 0: CPUs / n_parallel (at least 1) */
    int32_t queue_size;           /* requests waiting for a slot; 0: 32 */
    int32_t max_tokens;           /* most tokens a request may ask for; 0: 4096 */
    size_t max_body;              /* bytes of request body; 0: 1 MiB */
    int32_t timeout_seconds;      /* longest a request may take; 0: 300 */
    int32_t max_connections;      /* 0: 128 */
    bool log_requests;            /* one line per request to stderr */
    const char *cache_dir;        /* og_model_params.cache_dir of the models; NULL: none */
    const char *draft_model_path; /* speculative decoding: a smaller model with model_path's vocabulary;
                                     each slot gets its own context of it (og_context_set_draft); NULL: none */
    int32_t draft_max;            /* the draft's longest proposal, 1..16; 0: 16 */
    /* Documents (/v1/documents: upload, list, delete, search, ask; see
     * docs/documents.md): served when docs_collection is set. The
     * collection is indexed with the served encoder (embed_model_path,
     * or model_path when that is one); ask needs the generation model
     * too. Uploads are stored in <home>/docs/<collection>/files. */
    const char *docs_collection;  /* the collection's name (opened, or created); NULL: no documents */
    const char *docs_home;        /* the store folder; NULL: og_store_default_home() */
    const char *docs_passphrase;  /* an encrypted collection's passphrase (a new one is created encrypted); NULL: plain */
    size_t max_upload;            /* bytes of one uploaded document; 0: 256 MiB */
} og_server_params;

OG_API og_server_params og_server_default_params(void);

/* Loads the models, creates the slots and starts listening; returns once
 * the server accepts connections (it runs on its own threads). */
OG_API og_status og_server_start(const og_server_params *params, og_server **out, og_error *err);
/* The port the server listens on. */
OG_API int og_server_port(const og_server *server);
/* Stops listening, cancels what is running and frees everything. */
OG_API void og_server_free(og_server *server);

#ifdef __cplusplus
}
#endif
#endif
