/*
 * cli.h - what the subcommands of the offgrid CLI share: one options
 * struct, one parser, and the helpers to load a model and report errors.
 * The CLI only parses arguments and calls the library.
 */
#ifndef OG_CLI_CLI_H
#define OG_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "offgrid.h"
#ifdef OG_WITH_TRANSFORMS
#include "offgrid_transform.h"
#endif
#ifdef OG_WITH_SERVICES
#include "offgrid_services.h"
#endif

/* Options a command may accept; each command passes the set it takes. */
enum {
    OPT_MODEL = 1 << 0,   /* -m, --model PATH */
    OPT_PROMPT = 1 << 1,  /* -p, --prompt TEXT */
    OPT_FILE = 1 << 2,    /* -f, --file PATH */
    OPT_N = 1 << 3,       /* -n, --n-predict N */
    OPT_SAMPLING = 1 << 4, /* --temp --top-k --top-p --min-p --repeat-penalty --seed */
    OPT_THREADS = 1 << 5, /* -t, --threads N */
    OPT_CTX = 1 << 6,     /* -c, --ctx-size N */
    OPT_IDS = 1 << 7,     /* --ids */
    OPT_NO_BOS = 1 << 8,  /* --no-bos */
    OPT_SYSTEM = 1 << 9,  /* -s, --system TEXT */
    OPT_BATCH = 1 << 10,  /* -b, --batch-size N */
    OPT_SPECIAL = 1 << 11, /* --no-parse-special */
    /* bench and synth; an option name may appear in several groups (bench's
     * -p is a count, run's is text): the parser takes the one the command accepts. */
    OPT_N_PROMPT = 1 << 12, /* -p, --n-prompt N */
    OPT_N_GEN = 1 << 13,    /* -n, --n-gen N */
    OPT_REPS = 1 << 14,     /* -r, --repetitions N */
    OPT_JSON = 1 << 15,     /* --json */
    OPT_OUTPUT = 1 << 16,   /* -o, --output PATH */
    OPT_SHAPE = 1 << 17,    /* --shape NAME */
    OPT_TYPE = 1 << 18,     /* --type NAME */
    OPT_SEED = 1 << 19,     /* --seed S alone (sets sampling.seed) */
    OPT_POSITIONAL = 1 << 20, /* one bare argument, e.g. convert's folder */
    /* the model store */
    OPT_CATALOG = 1 << 21, /* --catalog PATH|URL */
    OPT_FORCE = 1 << 22,   /* --force */
    OPT_KEY = 1 << 23,     /* -k, --key PATH */
    OPT_NO_TEST = 1 << 24, /* --no-test */
    OPT_MAX_TOKENS = 1 << 25, /* --max-tokens N (encoders: truncation) */
    OPT_CHECK = 1 << 26,         /* --check */
    OPT_ALLOW_METERED = 1 << 27, /* --allow-metered */
    OPT_TASK = 1 << 28,          /* --task chat|embed|classify */
    OPT_SERVE = 1 << 29          /* serve: -m (optional), --host --port --api-key ... */
};

typedef struct cli_opts {
    const char *model, *prompt, *file, *system;
    bool has_prompt;
    int32_t n_predict, n_threads, n_ctx, n_batch;
    bool ids, no_bos, no_parse_special;
    og_sampler_params sampling;
    /* bench and synth; -1 (counts) or NULL when not given */
    int32_t n_prompt_tokens, n_gen, reps;
    bool json, has_seed;
    const char *output, *shape, *type;
    const char *positional; /* the bare argument, or NULL */
    int32_t max_tokens; /* 0 when not given */
    const char *catalog, *key; /* store; NULL when not given */
    bool force, no_test;
    /* serve; NULL or 0 when not given */
    const char *host, *api_key, *api_key_file, *embed_model, *cors;
    int32_t port, n_parallel, queue, timeout, max_body_kib;
    bool insecure, log;
    bool check, allow_metered; /* update */
    const char *task;          /* recommend; NULL when not given */
} cli_opts;

typedef struct cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* the full --help text */
    unsigned accepted;
    int (*run)(const cli_opts *o);
} cli_command;

/* Parses argv[1..] into o; prints the error or help itself. Returns 0 to
 * go on, 1 when --help was printed (exit 0), -1 on a usage error, -2 when
 * -m names neither a file nor an installed model (exit 1). */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_opts *o);

/* Loads -m MODEL, printing a clear error to stderr on failure. */
og_model *cli_load_model(const cli_opts *o, bool vocab_only);
/* Where repacked weights are cached between runs, written into buf:
 * $OFFGRID_CACHE_DIR (empty or "off": NULL), else $XDG_CACHE_HOME/offgrid/
 * packed, else ~/.cache/offgrid/packed. */
const char *cli_pack_cache_dir(char *buf, size_t cap);

/* Creates a context with the -c / -b / -t options. */
og_context *cli_new_context(og_model *m, const cli_opts *o);

/* Reads a whole file (NUL-terminated, malloc'd); prints the error itself. */
char *cli_read_file(const char *path, size_t *len);

/* Tokenizes text (growing the buffer as needed); caller frees *out. */
int32_t cli_tokenize(const og_model *m, const char *text, size_t len, bool add_special, bool parse_special,
                     og_token **out);

/* The texts of -p TEXT (one) or -f FILE (one per line, without the line
 * ends; a last line without a newline counts; an empty file has none).
 * *buf owns the text; free *buf, *texts and *lens. Prints its errors;
 * returns false on failure. */
bool cli_read_texts(const char *cmd, const cli_opts *o, char **buf, const char ***texts, size_t **lens,
                    int32_t *n);

/* Creates an encoder with -t, -b and --max-tokens; prints its errors. */
og_encoder *cli_new_encoder(og_model *m, const cli_opts *o, bool normalize);

/* What embed and classify share: the texts of -p/-f, the model, an
 * encoder, then fill() writes n_texts rows of width() floats and print()
 * shows them. width() may print why it is 0 (the command cannot run on
 * this model). Returns the exit code (2 for bad usage). */
typedef int32_t (*cli_encoder_width_fn)(const og_encoder *enc, const cli_opts *o);
typedef og_status (*cli_encoder_fill_fn)(og_encoder *enc, const char *const *texts, const size_t *lens,
                                         int32_t n_texts, float *out, og_error *err);
typedef void (*cli_encoder_print_fn)(const cli_opts *o, const og_encoder *enc, const float *out, int32_t n_texts);
int cli_run_encoder(const char *cmd, const cli_opts *o, bool normalize, cli_encoder_width_fn width,
                    cli_encoder_fill_fn fill, cli_encoder_print_fn print);

/* Prints s as a JSON string literal. */
void cli_json_str(const char *s);

extern const cli_command cli_cmd_run, cli_cmd_chat, cli_cmd_tokenize, cli_cmd_perplexity, cli_cmd_info;
extern const cli_command cli_cmd_bench, cli_cmd_embed, cli_cmd_classify;
#ifdef OG_WITH_TRANSFORMS
/* They write model files, which only the transforms do. */
extern const cli_command cli_cmd_synth, cli_cmd_convert, cli_cmd_calibrate, cli_cmd_add_head;
#endif
#ifdef OG_WITH_SERVICES
extern const cli_command cli_cmd_pull, cli_cmd_list, cli_cmd_show, cli_cmd_rm, cli_cmd_verify, cli_cmd_rollback;
extern const cli_command cli_cmd_prune, cli_cmd_keygen, cli_cmd_sign, cli_cmd_update, cli_cmd_recommend;

/* Opens the store in $OFFGRID_HOME (or the default); prints its error. */
og_store *cli_open_store(const char *cmd);
/* Pull parameters from the options and the environment (catalog, mirrors,
 * retries, the testing overrides) with a progress line on stderr; prints
 * its errors. cli_store_progress_end ends the progress line. */
bool cli_store_pull_params(const char *cmd, const cli_opts *o, og_store *s, og_store_pull_params *p);
void cli_store_progress_end(void);
/* -m NAME[:VERSION] when NAME is no file: the installed model's path
 * (after the fit check), into buf; prints its errors. */
bool cli_store_resolve_model(const char *cmd, const char *ref, char *buf, size_t cap);
#endif
#ifdef OG_WITH_SERVICES
extern const cli_command cli_cmd_serve;
#endif

#endif
