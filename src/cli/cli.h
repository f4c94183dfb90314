/*
 * cli.h - what the subcommands of the offgrid CLI share: the option
 * groups several take, and the helpers to load a model and report errors.
 * Each command owns its options (options.h); the CLI only parses
 * arguments and calls the library.
 */
#ifndef OG_CLI_CLI_H
#define OG_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/options.h"
#include "offgrid.h"
#ifdef OG_WITH_TRANSFORMS
#include "offgrid_transform.h"
#endif
#ifdef OG_WITH_SERVICES
#include "offgrid_services.h"
#endif

/* How a generation context is sized: -t, -c, -b (0: the library's choice). */
typedef struct cli_context_opts {
    int32_t n_threads, n_ctx, n_batch;
} cli_context_opts;

/* How an encoder runs: -t, -b, --max-tokens (0: the library's choice). */
typedef struct cli_encoder_opts {
    int32_t n_threads, n_batch, max_tokens;
} cli_encoder_opts;

/* The shared option groups (common.c): sampling (over og_sampler_params,
 * whose defaults og_sampler_default_params gives), context and encoder. */
extern const cli_option cli_sampling_options[], cli_context_options[], cli_encoder_options[];

/* The options of embed and classify, which differ only in what they print. */
typedef struct cli_encode_opts {
    const char *model, *prompt, *file;
    bool json;
    int32_t top_k; /* classify: labels shown per text, most probable first */
    cli_encoder_opts encoder;
} cli_encode_opts;

/* -m NAME[:VERSION] for commands that accept an installed model's name:
 * when *ref is no file and has no '/', the installed model's path (after
 * the fit check) is written to buf and *ref points to it. A NULL *ref, or
 * a build without the store, stays as is. Prints its errors; false when
 * *ref is neither a file nor an installed model that fits (exit 1). */
bool cli_find_model(const char *cmd, const char **ref, char *buf, size_t cap);
/* cli_find_model, and when *ref is a catalog model that is not installed:
 * pulls it when pull (--pull), else asks on a terminal, else names the
 * command; a near-miss name gets "did you mean NAME?". */
bool cli_find_model_pull(const char *cmd, const char **ref, char *buf, size_t cap, bool pull);

/* Loads the model file at path, printing a clear error to stderr on failure. */
og_model *cli_load_model(const char *path, bool vocab_only);
/* Where repacked weights are cached between runs, written into buf:
 * $OFFGRID_CACHE_DIR (empty or "off": NULL), else $XDG_CACHE_HOME/offgrid/
 * packed, else ~/.cache/offgrid/packed. */
const char *cli_pack_cache_dir(char *buf, size_t cap);

/* Creates a context with the -c / -b / -t options. */
og_context *cli_new_context(og_model *m, const cli_context_opts *o);

/* The most a command reads from one file: a text (-f) can be large but not
 * unbounded; a key file is a line. */
#define CLI_TEXT_FILE_MAX ((size_t)256 << 20)
#define CLI_KEY_FILE_MAX ((size_t)4 << 10)

/* Reads a whole file, or stdin when path is "-", NUL-terminated and
 * malloc'd (the caller frees it), *len its bytes. Stops at max bytes:
 * then, as on any failure, prints "offgrid CMD: ..." naming path (and,
 * past the cap, max and what, e.g. "a text file") and returns NULL. */
char *cli_read_file(const char *cmd, const char *path, size_t max, const char *what, size_t *len);

/* The first line of a key-sized file (a key, a hex signature: at most
 * CLI_KEY_FILE_MAX), without its line end and trailing blanks; NULL, with
 * the reason printed, when it cannot be read or the line is empty. The
 * caller frees it. what names the file in messages ("a key file"). */
char *cli_read_key_line(const char *cmd, const char *path, const char *what);

/* Tokenizes text (growing the buffer as needed); caller frees *out. */
int32_t cli_tokenize(const og_model *m, const char *text, size_t len, bool add_special, bool parse_special,
                     og_token **out);

/* The texts of prompt, -p TEXT (one), or file, -f FILE ("-": stdin; at most
 * CLI_TEXT_FILE_MAX bytes; one per line, without the line
 * ends; a last line without a newline counts; an empty file has none).
 * *buf owns the text; free *buf, *texts and *lens. Prints its errors;
 * returns false on failure. */
bool cli_read_texts(const char *cmd, const char *prompt, const char *file, char **buf, const char ***texts,
                    size_t **lens, int32_t *n);

/* Creates an encoder with -t, -b and --max-tokens; prints its errors. */
og_encoder *cli_new_encoder(og_model *m, const cli_encoder_opts *o, bool normalize);

/* What embed and classify share: the texts of -p/-f, the model, an
 * encoder, then fill() writes n_texts rows of width() floats and print()
 * shows them. width() may print why it is 0 (the command cannot run on
 * this model). Returns the exit code (2 for bad usage). */
typedef int32_t (*cli_encoder_width_fn)(const og_encoder *enc, const cli_encode_opts *o);
typedef og_status (*cli_encoder_fill_fn)(og_encoder *enc, const char *const *texts, const size_t *lens,
                                         int32_t n_texts, float *out, og_error *err);
typedef void (*cli_encoder_print_fn)(const cli_encode_opts *o, const og_encoder *enc, const float *out,
                                     int32_t n_texts);
int cli_run_encoder(const char *cmd, const cli_encode_opts *o, bool normalize, cli_encoder_width_fn width,
                    cli_encoder_fill_fn fill, cli_encoder_print_fn print);

/* Prints s as a JSON string literal. */
void cli_json_str(const char *s);
/* The same for n bytes; a byte that is not part of valid UTF-8 (a byte
 * token's piece, a Latin-1 file name) becomes U+FFFD, so the output
 * always parses. */
void cli_json_strn(const char *s, size_t n);
/* A JSON number, or null for an infinity or NaN (which JSON lacks). */
void cli_json_num(double v);

extern const cli_command cli_cmd_run, cli_cmd_chat, cli_cmd_tokenize, cli_cmd_perplexity, cli_cmd_info;
extern const cli_command cli_cmd_bench, cli_cmd_embed, cli_cmd_classify;
#ifdef OG_WITH_TRANSFORMS
/* They write model files, which only the transforms do. */
extern const cli_command cli_cmd_synth, cli_cmd_convert, cli_cmd_calibrate, cli_cmd_add_head;
#endif
#ifdef OG_WITH_SERVICES
extern const cli_command cli_cmd_pull, cli_cmd_list, cli_cmd_show, cli_cmd_rm, cli_cmd_verify, cli_cmd_rollback;
extern const cli_command cli_cmd_prune, cli_cmd_keygen, cli_cmd_sign, cli_cmd_update, cli_cmd_recommend;
extern const cli_command cli_cmd_catalog, cli_cmd_search, cli_cmd_verify_signature, cli_cmd_docs;

/* Opens the store in $OFFGRID_HOME (or the default); prints its error. */
og_store *cli_open_store(const char *cmd);
/* --catalog, --force, --no-test: what pull, update and recommend share. */
typedef struct cli_pull_opts {
    const char *catalog;
    bool force, no_test;
} cli_pull_opts;
/* Pull parameters from the options and the environment (catalog, mirrors,
 * retries, the testing overrides) with a progress line on stderr; prints
 * its errors. cli_store_progress_end ends the progress line. */
bool cli_store_pull_params(const char *cmd, const cli_pull_opts *o, og_store *s, og_store_pull_params *p);
/* The catalog: given, else $OFFGRID_CATALOG, else s's config (s may be NULL), else the default file. */
const char *cli_store_catalog_path(const char *given, og_store *s);
void cli_store_progress_end(void);
/* NAME[:VERSION]: the installed model's path (after the fit check), into
 * buf; prints its errors. cli_find_model decides when to ask. */
bool cli_store_resolve_model(const char *cmd, const char *ref, char *buf, size_t cap);
#endif
#ifdef OG_WITH_SERVICES
extern const cli_command cli_cmd_serve, cli_cmd_mcp;
#endif

#endif
