/*
 * cmd_docs.c - `offgrid docs`: ask your documents. One command whose
 * first argument names what to do (add, list, rm, search), each with its
 * own option table and --help; they share how a collection is opened
 * (name, embedding model, passphrase).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

#define DEFAULT_EMBED_MODEL "all-minilm-l6-v2"

/* What every subcommand takes. */
typedef struct docs_opts {
    const char *collection, *embed_model, *passphrase_file, *home;
    int32_t n_threads;
    bool json, encrypt, quiet;
    const char *arg; /* rm's PATH, search's QUERY */
    int32_t k;
    const char *mode;
    const char *chat_model; /* ask */
    int32_t n_ctx, max_tokens;
    float min_cosine;
    int32_t interval; /* watch */
    bool once;
} docs_opts;

#define DOCS_COMMON_OPTIONS                                                                                          \
    { "-C", "--collection", CLI_STRING, CLI_AT(docs_opts, collection, const char *), "NAME",                        \
      .help = "the collection ($OFFGRID_HOME/docs/NAME)", .def = "default" },                                        \
    { NULL, "--embed-model", CLI_STRING, CLI_AT(docs_opts, embed_model, const char *), "MODEL",                      \
      .help = "sentence encoder for the vectors (file or installed name);\na collection keeps the one it was made with", \
      .def = DEFAULT_EMBED_MODEL },                                                                                  \
    { NULL, "--passphrase-file", CLI_STRING, CLI_AT(docs_opts, passphrase_file, const char *), "FILE",               \
      .help = "an encrypted collection's passphrase (first line); else\n$OFFGRID_DOCS_PASSPHRASE, else asked on a terminal" }, \
    CLI_OPT_THREADS(docs_opts, n_threads, "embedding threads", "all cores"),                                         \
    CLI_OPT_JSON(docs_opts, json, "one JSON object on stdout")

static const cli_option add_options[] = {
    DOCS_COMMON_OPTIONS,
    { NULL, "--encrypt", CLI_FLAG, CLI_AT(docs_opts, encrypt, bool), NULL,
      .help = "create the collection encrypted at rest (text, index and\nvectors; Argon2id from the passphrase)" },
    { "-q", "--quiet", CLI_FLAG, CLI_AT(docs_opts, quiet, bool), NULL, .help = "no progress line" },
    { 0 },
};
static const cli_option list_options[] = { DOCS_COMMON_OPTIONS, { 0 } };
static const cli_option rm_options[] = {
    DOCS_COMMON_OPTIONS,
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(docs_opts, arg, const char *), "PATH", .help = "a document or a folder",
      .required = true, .missing = "which PATH to remove?" },
    { 0 },
};
static const char *const modes[] = { "hybrid", "bm25", "dense", NULL };
static const cli_option search_options[] = {
    DOCS_COMMON_OPTIONS,
    { "-k", "--top-k", CLI_INT, CLI_AT(docs_opts, k, int32_t), "K", .help = "how many chunks", .def = "5", .min = 1,
      .max = 1000 },
    { NULL, "--mode", CLI_CHOICE, CLI_AT(docs_opts, mode, const char *), NULL,
      .help = "hybrid: BM25 and embeddings fused by reciprocal rank", .def = "hybrid", .choices = modes },
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(docs_opts, arg, const char *), "QUERY", .required = true,
      .missing = "what to search for? (QUERY)" },
    { 0 },
};

static const cli_option ask_options[] = {
    DOCS_COMMON_OPTIONS,
    { "-m", "--model", CLI_STRING, CLI_AT(docs_opts, chat_model, const char *), "MODEL",
      .help = "the chat model that answers (file or installed name)",
      .def = "the best installed: qwen2.5-coder-1.5b-instruct,\nqwen2.5-coder-0.5b-instruct, smollm2-135m-instruct" },
    { "-k", "--top-k", CLI_INT, CLI_AT(docs_opts, k, int32_t), "K", .help = "excerpts given to the model", .def = "5",
      .min = 1, .max = 64 },
    CLI_OPT_CTX(docs_opts, n_ctx, "the chat model's context", "4096"),
    CLI_OPT_MAX_TOKENS(docs_opts, max_tokens, "longest answer", "512"),
    { NULL, "--min-cosine", CLI_FLOAT, CLI_AT(docs_opts, min_cosine, float), "X",
      .help = "below this similarity of the best excerpt, no answer\n(0: the calibrated default, 0.28; -1: always answer)",
      .min = -1, .max = 1 },
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(docs_opts, arg, const char *), "QUESTION", .required = true,
      .missing = "what is the question? (QUESTION)" },
    { 0 },
};

static const cli_option watch_options[] = {
    DOCS_COMMON_OPTIONS,
    { NULL, "--interval", CLI_INT, CLI_AT(docs_opts, interval, int32_t), "S", .help = "seconds between looks",
      .def = "5", .min = 1, .max = 86400 },
    { NULL, "--once", CLI_FLAG, CLI_AT(docs_opts, once, bool), NULL, .help = "look once and exit (for cron jobs)" },
    { 0 },
};

static int add_main(int argc, char **argv);
static int ask_main(int argc, char **argv);
static int watch_main(int argc, char **argv);
static int list_main(int argc, char **argv);
static int rm_main(int argc, char **argv);
static int search_main(int argc, char **argv);

static const cli_command subcommands[] = {
    { "docs add", "index files and folders",
      "Indexes files and folders (recursively; hidden entries skipped): text,\n"
      "Markdown, HTML, DOCX, PDF (poppler-utils' pdftotext; scanned pages by\n"
      "OCR) and images (OCR). Unchanged files are skipped, a changed file\n"
      "replaces only itself, and each file is stored in one transaction: after\n"
      "an interruption the same command finishes the job. A file that cannot\n"
      "be read is reported and the others go on; the exit status is then 1.",
      add_options, "PATH... are the files and folders to index.", add_main },
    { "docs list", "the collection's documents", "Lists the documents of a collection.", list_options, NULL,
      list_main },
    { "docs rm", "remove a document or a folder's documents",
      "Removes a document (or every document under a folder) from the\ncollection; the files are not touched.",
      rm_options, NULL, rm_main },
    { "docs search", "the chunks that best answer a query",
      "Prints the K chunks that best answer QUERY, best first, with their\n"
      "document, page and span (Unicode code points into the page's text).\n"
      "--json: {\"results\": [{\"doc\", \"page\", \"start\", \"end\", \"score\", \"text\", ...}]}",
      search_options, NULL, search_main },
    { "docs ask", "an answer from your documents, with checked citations",
      "Retrieves the K best excerpts, streams the chat model's answer from\n"
      "them and prints the sources it cites as [n] file, page p. Every\n"
      "citation is checked against the excerpts: an invented one is dropped\n"
      "and reported, and one whose excerpt plainly does not hold the text\n"
      "before it is re-pointed to the excerpt that does. When no excerpt is\n"
      "relevant enough, it says so instead of answering. --json: {\"answer\",\n"
      "\"sources\": [{\"n\", \"doc\", \"page\", \"start\", \"end\"}], \"invented\":\n"
      "[...], \"repointed\": N, \"nothing_relevant\": B, \"attributed\": B,\n"
      "\"best_cosine\": X}",
      ask_options, NULL, ask_main },
    { "docs watch", "keep a collection in step with folders",
      "Looks at PATH... every --interval seconds: new and changed files are\n"
      "indexed (unchanged ones cost a stat each), and the documents whose\n"
      "files are gone are removed. Ctrl-C stops it between looks.",
      watch_options, "PATH... are the files and folders to follow.", watch_main },
};
#define N_SUB (sizeof subcommands / sizeof subcommands[0])

static int fail(const char *sub, const og_error *e)
{
    fprintf(stderr, "offgrid %s: %s\n", sub, e->message);
    return 1;
}

/* Reads a passphrase from the terminal without echo; NULL when not a
 * terminal. The caller frees it. */
static char *ask_passphrase(const char *prompt)
{
    if (!isatty(STDIN_FILENO))
        return NULL;
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return NULL;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fprintf(stderr, "%s", prompt);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    char buf[1024];
    char *got = fgets(buf, sizeof buf, stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
    if (!got)
        return NULL;
    buf[strcspn(buf, "\r\n")] = 0;
    return strdup(buf);
}

/* The passphrase from --passphrase-file or the environment (NULL: none
 * given; *bad when the file could not be read). */
static char *given_passphrase(const char *sub, const docs_opts *o, bool *bad)
{
    *bad = false;
    if (o->passphrase_file) {
        char *p = cli_read_key_line(sub, o->passphrase_file, "a passphrase file");
        *bad = !p;
        return p;
    }
    const char *env = getenv("OFFGRID_DOCS_PASSPHRASE");
    return env && env[0] ? strdup(env) : NULL;
}

/* Opens the collection o names, asking for a passphrase on a terminal
 * when it is encrypted and none was given. Prints its errors. */
static og_docs *open_collection(const char *sub, docs_opts *o, bool must_exist)
{
    char model_path[4096];
    const char *model = o->embed_model ? o->embed_model : DEFAULT_EMBED_MODEL;
    if (!cli_find_model(sub, &model, model_path, sizeof model_path))
        return NULL;
    bool bad;
    char *pass = given_passphrase(sub, o, &bad);
    if (bad)
        return NULL;
    if (o->encrypt && !pass) {
        pass = ask_passphrase("passphrase for the new collection: ");
        char *again = pass ? ask_passphrase("again: ") : NULL;
        if (pass && (!again || strcmp(pass, again))) {
            fprintf(stderr, "offgrid %s: the passphrases differ\n", sub);
            free(pass);
            free(again);
            return NULL;
        }
        free(again);
        if (!pass) {
            fprintf(stderr, "offgrid %s: --encrypt needs a passphrase: --passphrase-file FILE or "
                            "$OFFGRID_DOCS_PASSPHRASE\n", sub);
            return NULL;
        }
    }
    og_docs_params p = og_docs_default_params();
    p.home = o->home;
    p.collection = o->collection;
    p.embed_model_path = model;
    p.passphrase = pass;
    p.create_encrypted = o->encrypt;
    p.must_exist = must_exist;
    p.n_threads = o->n_threads;
    og_docs *d = NULL;
    og_error e = { 0 };
    og_status s = og_docs_open(&p, &d, &e);
    if (s == OG_ERR_KEY && !pass && (pass = ask_passphrase("passphrase: "))) {
        p.passphrase = pass;
        s = og_docs_open(&p, &d, &e);
    }
    if (pass) {
        memset(pass, 0, strlen(pass));
        free(pass);
    }
    if (s != OG_OK) {
        fail(sub, &e);
        return NULL;
    }
    return d;
}

/* ------------------------------------------------------------------- add */

typedef struct add_state {
    bool tty, quiet, json;
    int printed; /* width of the progress line on screen */
    /* --json: the failures */
    char **failed_paths, **failed_whys;
    int32_t n_failed;
} add_state;

static void on_progress(void *user, const og_docs_progress *p)
{
    add_state *a = user;
    if (a->quiet || !a->tty)
        return;
    const double rate = p->seconds > 0 ? p->chunks / p->seconds : 0.0;
    const char *name = p->path ? strrchr(p->path, '/') : NULL;
    int n = fprintf(stderr, "\r[%lld/%lld files] %lld pages, %lld chunks, %.1f chunks/s%s%.40s",
                    (long long)p->files_done, (long long)p->files_total, (long long)p->pages, (long long)p->chunks,
                    rate, name ? "  " : "", name ? name + 1 : "");
    for (int i = n; i < a->printed; i++)
        fputc(' ', stderr);
    a->printed = n;
    fflush(stderr);
}

static void on_file_error(void *user, const char *path, const og_error *why)
{
    add_state *a = user;
    if (a->tty && a->printed) {
        fprintf(stderr, "\r%*s\r", a->printed, "");
        a->printed = 0;
    }
    fprintf(stderr, "offgrid docs add: %s\n", why->message);
    if (a->json) {
        char **p = realloc(a->failed_paths, (size_t)(a->n_failed + 1) * sizeof *p);
        if (p)
            a->failed_paths = p;
        char **w = realloc(a->failed_whys, (size_t)(a->n_failed + 1) * sizeof *w);
        if (w)
            a->failed_whys = w;
        if (p && w) {
            a->failed_paths[a->n_failed] = strdup(path);
            a->failed_whys[a->n_failed] = strdup(why->message);
            a->n_failed++;
        }
    }
}

/* The final progress figures (og_docs_add's last call). */
static og_docs_progress last_progress;
static void keep_progress(void *user, const og_docs_progress *p)
{
    last_progress = *p;
    on_progress(user, p);
}

/* Splits argv into options (kept in argv, compacted) and bare PATHs. */
static int32_t take_paths(int *argc, char **argv, const cli_option *table, const char **paths, int32_t cap)
{
    int32_t n = 0;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1]) {
            argv[out++] = argv[i];
            bool takes_value = false;
            for (const cli_option *o = table; o->kind != CLI_END; o++)
                if ((o->name && !strcmp(a, o->name)) || (o->short_name && !strcmp(a, o->short_name)) ||
                    (o->alias && !strcmp(a, o->alias)))
                    takes_value = o->kind != CLI_FLAG;
            if (takes_value && i + 1 < *argc)
                argv[out++] = argv[++i];
        } else if (n < cap) {
            paths[n++] = a;
        } else {
            return -1;
        }
    }
    *argc = out;
    return n;
}

/* add and watch: options (o holds the defaults), at least one PATH, and
 * the collection opened (created when missing). Returns CLI_PARSED with
 * *paths (free it) and *d set, or the exit code. */
static int parse_paths_and_open(const cli_command *cmd, int argc, char **argv, docs_opts *o, const char ***paths,
                                int32_t *n_paths, og_docs **d)
{
    *d = NULL;
    if (!(*paths = malloc((size_t)argc * sizeof **paths)))
        return 1;
    *n_paths = take_paths(&argc, argv, cmd->options, *paths, argc);
    int rc = cli_parse(cmd, argc, argv, o);
    if (rc == CLI_PARSED && *n_paths <= 0)
        rc = cli_usage_error(cmd, "which files or folders? (PATH...)");
    if (rc == CLI_PARSED && !(*d = open_collection(cmd->name, o, false)))
        rc = 1;
    if (rc != CLI_PARSED) {
        free(*paths);
        *paths = NULL;
    }
    return rc;
}

static int add_main(int argc, char **argv)
{
    const cli_command *cmd = &subcommands[0];
    docs_opts o = { 0 };
    const char **paths;
    int32_t n_paths;
    og_docs *d;
    int rc = parse_paths_and_open(cmd, argc, argv, &o, &paths, &n_paths, &d);
    if (rc != CLI_PARSED)
        return rc;
    add_state a = { .tty = isatty(STDERR_FILENO) != 0, .quiet = o.quiet, .json = o.json };
    int32_t n_failed = 0;
    og_error e = { 0 };
    og_status s = og_docs_add(d, paths, n_paths, keep_progress, on_file_error, &a, &n_failed, &e);
    if (a.tty && a.printed)
        fprintf(stderr, "\n");
    const og_docs_progress *p = &last_progress;
    if (s == OG_OK && o.json) {
        printf("{\"collection\": ");
        cli_json_str(o.collection ? o.collection : "default");
        printf(", \"files\": %lld, \"indexed\": %lld, \"skipped\": %lld, \"pages\": %lld, \"chunks\": %lld, "
               "\"seconds\": %.3f, \"failed\": [",
               (long long)p->files_total, (long long)(p->files_total - p->files_skipped - p->files_failed),
               (long long)p->files_skipped, (long long)p->pages, (long long)p->chunks, p->seconds);
        for (int32_t i = 0; i < a.n_failed; i++) {
            printf("%s{\"path\": ", i ? ", " : "");
            cli_json_str(a.failed_paths[i]);
            printf(", \"error\": ");
            cli_json_str(a.failed_whys[i]);
            printf("}");
        }
        printf("]}\n");
    } else if (s == OG_OK && !o.quiet) {
        fprintf(stderr, "offgrid docs add: %lld files: %lld indexed, %lld unchanged, %lld failed; %lld pages, %lld "
                        "chunks in %.1f s\n",
                (long long)p->files_total, (long long)(p->files_total - p->files_skipped - p->files_failed),
                (long long)p->files_skipped, (long long)p->files_failed, (long long)p->pages, (long long)p->chunks,
                p->seconds);
    }
    for (int32_t i = 0; i < a.n_failed; i++) {
        free(a.failed_paths[i]);
        free(a.failed_whys[i]);
    }
    free(a.failed_paths);
    free(a.failed_whys);
    free(paths);
    og_docs_free(d);
    if (s != OG_OK)
        return fail(cmd->name, &e);
    return n_failed ? 1 : 0;
}

/* ------------------------------------------------------------ list, rm */

static int list_main(int argc, char **argv)
{
    const cli_command *cmd = &subcommands[1];
    docs_opts o = { 0 };
    int rc = cli_parse(cmd, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    og_docs *d = open_collection(cmd->name, &o, true);
    if (!d)
        return 1;
    og_docs_doc *docs = NULL;
    int32_t n = 0;
    og_error e = { 0 };
    og_status s = og_docs_list(d, &docs, &n, &e);
    og_docs_free(d);
    if (s != OG_OK)
        return fail(cmd->name, &e);
    if (o.json)
        printf("{\"documents\": [");
    for (int32_t i = 0; i < n; i++) {
        const og_docs_doc *x = &docs[i];
        if (o.json) {
            printf("%s\n  {\"path\": ", i ? "," : "");
            cli_json_str(x->path);
            printf(", \"kind\": ");
            cli_json_str(x->kind);
            printf(", \"bytes\": %lld, \"sha256\": ", (long long)x->size);
            cli_json_str(x->sha256);
            printf(", \"pages\": %d, \"chunks\": %d, \"indexed_at\": %lld, \"error\": ", x->n_pages, x->n_chunks,
                   (long long)x->indexed_at);
            if (x->error)
                cli_json_str(x->error);
            else
                printf("null");
            printf("}");
        } else if (x->error) {
            printf("%s  FAILED: %s\n", x->path, x->error);
        } else {
            printf("%s  %s, %d pages, %d chunks\n", x->path, x->kind, x->n_pages, x->n_chunks);
        }
    }
    if (o.json)
        printf("%s]}\n", n ? "\n" : "");
    og_docs_docs_free(docs, n);
    return 0;
}

static int rm_main(int argc, char **argv)
{
    const cli_command *cmd = &subcommands[2];
    docs_opts o = { 0 };
    int rc = cli_parse(cmd, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    og_docs *d = open_collection(cmd->name, &o, true);
    if (!d)
        return 1;
    int32_t n = 0;
    og_error e = { 0 };
    og_status s = og_docs_remove(d, o.arg, &n, &e);
    og_docs_free(d);
    if (s != OG_OK)
        return fail(cmd->name, &e);
    if (o.json)
        printf("{\"removed\": %d}\n", n);
    else
        fprintf(stderr, "offgrid docs rm: removed %d document%s\n", n, n == 1 ? "" : "s");
    return 0;
}

/* ---------------------------------------------------------------- search */

static int search_main(int argc, char **argv)
{
    const cli_command *cmd = &subcommands[3];
    docs_opts o = { .k = 5 };
    int rc = cli_parse(cmd, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    og_docs_mode mode = OG_DOCS_HYBRID;
    if (o.mode && !strcmp(o.mode, "bm25"))
        mode = OG_DOCS_BM25;
    else if (o.mode && !strcmp(o.mode, "dense"))
        mode = OG_DOCS_DENSE;
    og_docs *d = open_collection(cmd->name, &o, true);
    if (!d)
        return 1;
    og_docs_hit *hits = NULL;
    int32_t n = 0;
    og_error e = { 0 };
    og_status s = og_docs_search(d, o.arg, o.k, mode, &hits, &n, &e);
    og_docs_free(d);
    if (s != OG_OK)
        return fail(cmd->name, &e);
    if (o.json)
        printf("{\"results\": [");
    for (int32_t i = 0; i < n; i++) {
        const og_docs_hit *h = &hits[i];
        if (o.json) {
            printf("%s\n  {\"doc\": ", i ? "," : "");
            cli_json_str(h->doc);
            if (h->page > 0)
                printf(", \"page\": %d", h->page);
            else
                printf(", \"page\": null");
            printf(", \"start\": %lld, \"end\": %lld, \"score\": ", (long long)h->start, (long long)h->end);
            cli_json_num(h->score);
            printf(", \"cosine\": ");
            cli_json_num(h->cosine);
            printf(", \"heading\": ");
            if (h->heading)
                cli_json_str(h->heading);
            else
                printf("null");
            printf(", \"text\": ");
            cli_json_str(h->text);
            printf("}");
        } else {
            printf("[%d] %s", i + 1, h->doc);
            if (h->page > 0)
                printf(", page %d", h->page);
            printf(" (%lld-%lld, score %.4f)\n    %.300s%s\n", (long long)h->start, (long long)h->end, h->score,
                   h->text, strlen(h->text) > 300 ? "..." : "");
        }
    }
    if (o.json)
        printf("%s]}\n", n ? "\n" : "");
    og_docs_hits_free(hits, n);
    return 0;
}

/* ------------------------------------------------------------------- ask */

/* The chat model: -m, else the best installed one. */
static const char *default_chat_model(void)
{
    static const char *const names[] = { "qwen2.5-coder-1.5b-instruct", "qwen2.5-coder-0.5b-instruct",
                                         "smollm2-135m-instruct" };
    char home[4096];
    og_store *s = NULL;
    og_error e = { 0 };
    if (og_store_default_home(home, sizeof home, &e) != OG_OK || og_store_open(home, &s, &e) != OG_OK)
        return NULL;
    const char *found = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++) {
        og_store_version v;
        if (og_store_get(s, names[i], &v, &e) == OG_OK)
            found = names[i];
    }
    og_store_free(s);
    return found;
}

static bool print_token(void *user, const og_gen_token *t)
{
    (void)user;
    fwrite(t->text, 1, t->text_len, stdout);
    fflush(stdout);
    return true;
}

static void print_answer_json(const og_docs_answer *a)
{
    printf("{\"answer\": ");
    cli_json_str(a->answer);
    printf(", \"sources\": [");
    for (int32_t i = 0; i < a->n_sources; i++) {
        const og_docs_source *s = &a->sources[i];
        printf("%s{\"n\": %d, \"doc\": ", i ? ", " : "", s->n);
        cli_json_str(s->doc);
        if (s->page > 0)
            printf(", \"page\": %d", s->page);
        else
            printf(", \"page\": null");
        printf(", \"start\": %lld, \"end\": %lld}", (long long)s->start, (long long)s->end);
    }
    printf("], \"invented\": [");
    for (int32_t i = 0; i < a->n_invented && i < 16; i++)
        printf("%s%d", i ? ", " : "", a->invented[i]);
    printf("], \"repointed\": %d, \"nothing_relevant\": %s, \"attributed\": %s, \"best_cosine\": ", a->n_repointed,
           a->nothing_relevant ? "true" : "false", a->attributed ? "true" : "false");
    cli_json_num(a->best_cosine);
    printf("}\n");
}

static int ask_main(int argc, char **argv)
{
    const cli_command *cmd = &subcommands[4];
    docs_opts o = { .k = 5, .n_ctx = 4096, .max_tokens = 512 };
    int rc = cli_parse(cmd, argc, argv, &o);
    if (rc != CLI_PARSED)
        return rc;
    const char *chat = o.chat_model ? o.chat_model : default_chat_model();
    if (!chat) {
        fprintf(stderr, "offgrid docs ask: no chat model installed: pass -m MODEL or `offgrid pull "
                        "qwen2.5-coder-1.5b-instruct`\n");
        return 1;
    }
    char chat_path[4096];
    if (!cli_find_model(cmd->name, &chat, chat_path, sizeof chat_path))
        return 1;
    og_docs *d = open_collection(cmd->name, &o, true);
    if (!d)
        return 1;
    og_model *m = cli_load_model(chat, false);
    cli_context_opts co = { o.n_threads, o.n_ctx, 0 };
    og_context *ctx = m ? cli_new_context(m, &co) : NULL;
    if (!ctx) {
        og_model_free(m);
        og_docs_free(d);
        return 1;
    }
    og_docs_ask_params p = og_docs_default_ask_params();
    p.k = o.k;
    p.max_tokens = o.max_tokens;
    p.min_cosine = o.min_cosine;
    p.on_token = o.json ? NULL : print_token;
    og_docs_answer a;
    og_error e = { 0 };
    og_status s = og_docs_ask(d, m, ctx, o.arg, &p, &a, &e);
    if (s == OG_OK) {
        if (o.json) {
            print_answer_json(&a);
        } else {
            if (a.nothing_relevant)
                printf("%s", a.answer);
            printf("\n");
            if (a.n_sources)
                printf("\nSources:\n");
            for (int32_t i = 0; i < a.n_sources; i++) {
                printf("[%d] %s", a.sources[i].n, a.sources[i].doc);
                if (a.sources[i].page > 0)
                    printf(", page %d", a.sources[i].page);
                printf("\n");
            }
        }
        for (int32_t i = 0; i < a.n_invented && i < 16; i++)
            fprintf(stderr, "offgrid docs ask: dropped the citation [%d], which names no excerpt\n", a.invented[i]);
        if (a.n_repointed)
            fprintf(stderr, "offgrid docs ask: re-pointed %d citation%s to the excerpt the text comes from\n",
                    a.n_repointed, a.n_repointed == 1 ? "" : "s");
        og_docs_answer_free(&a);
    }
    og_context_free(ctx);
    og_model_free(m);
    og_docs_free(d);
    return s == OG_OK ? 0 : fail(cmd->name, &e);
}

/* ----------------------------------------------------------------- watch */

static volatile sig_atomic_t stop_watch;
static void on_interrupt(int sig)
{
    (void)sig;
    stop_watch = 1;
}

static int watch_main(int argc, char **argv)
{
    const cli_command *cmd = &subcommands[5];
    docs_opts o = { .interval = 5 };
    const char **paths;
    int32_t n_paths;
    og_docs *d;
    int rc = parse_paths_and_open(cmd, argc, argv, &o, &paths, &n_paths, &d);
    if (rc != CLI_PARSED)
        return rc;
    const bool once = o.once;
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    og_status s = OG_OK;
    og_error e = { 0 };
    int32_t n_failed = 0;
    while (!stop_watch) {
        add_state a = { .tty = false, .quiet = true };
        int32_t n_removed = 0;
        s = og_docs_sync(d, paths, n_paths, keep_progress, on_file_error, &a, &n_failed, &n_removed, &e);
        if (s != OG_OK)
            break;
        const og_docs_progress *p = &last_progress;
        const long long indexed = (long long)(p->files_total - p->files_skipped - p->files_failed);
        if (o.json)
            printf("{\"indexed\": %lld, \"removed\": %d, \"failed\": %lld, \"chunks\": %lld}\n", indexed, n_removed,
                   (long long)p->files_failed, (long long)p->chunks);
        else if (indexed || n_removed)
            fprintf(stderr, "offgrid docs watch: %lld indexed, %d removed, %lld failed\n", indexed, n_removed,
                    (long long)p->files_failed);
        fflush(stdout);
        if (once)
            break;
        for (int32_t t = 0; t < o.interval && !stop_watch; t++)
            sleep(1);
    }
    og_docs_free(d);
    free(paths);
    if (s != OG_OK)
        return fail(cmd->name, &e);
    return once && n_failed ? 1 : 0;
}

/* ------------------------------------------------------------------ docs */

static void docs_help(FILE *out)
{
    fprintf(out, "usage: offgrid docs COMMAND [options]\n\nAsk your documents, offline. Commands:\n");
    for (size_t i = 0; i < N_SUB; i++)
        fprintf(out, "  %-12s %s\n", subcommands[i].name + 5, subcommands[i].summary);
    fprintf(out, "\n`offgrid docs COMMAND --help` for each one's options.\n");
}

static int docs_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        docs_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < N_SUB; i++)
        if (!strcmp(argv[1], subcommands[i].name + 5))
            return subcommands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "offgrid docs: unknown command '%s'\n\n", argv[1]);
    docs_help(stderr);
    return 2;
}

const cli_command cli_cmd_docs = {
    "docs", "ask your documents: add, list, rm, search, ask, watch",
    "Indexes your files into a local collection and searches them.", NULL, NULL, docs_main,
};
