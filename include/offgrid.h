/*
 * offgrid.h - the one public header of the offgrid on-device AI runtime.
 *
 * Conventions:
 *  - Every handle is opaque; whoever creates one frees it with the matching
 *    og_*_free function. Freeing NULL is a no-op.
 *  - Functions that can fail return an og_status (OG_OK == 0) and, when the
 *    caller passes a non-NULL og_error, fill it with the code and a readable
 *    message. There is no global state: two models or contexts never share
 *    anything mutable.
 *  - Text is UTF-8 with an explicit length; nothing needs NUL termination
 *    unless a parameter says so.
 */
#ifndef OFFGRID_H
#define OFFGRID_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OG_VERSION_MAJOR 0
#define OG_VERSION_MINOR 1
#define OG_VERSION_PATCH 0

typedef enum og_status {
    OG_OK = 0,
    OG_ERR_ARG,          /* a caller-supplied argument is invalid */
    OG_ERR_IO,           /* a file could not be opened, read or mapped */
    OG_ERR_FORMAT,       /* a file is malformed or truncated */
    OG_ERR_UNSUPPORTED,  /* valid input that this build cannot handle */
    OG_ERR_NOMEM,        /* an allocation failed or a size limit was hit */
    OG_ERR_CONTEXT_FULL, /* the context window has no room left */
    OG_ERR_CANCELLED     /* a callback asked to stop */
} og_status;

typedef struct og_error {
    og_status code;
    char message[512];
} og_error;

/* A static, human-readable name for a status code. */
const char *og_status_name(og_status code);

typedef int32_t og_token;

typedef struct og_model og_model;
typedef struct og_context og_context;
typedef struct og_sampler og_sampler;

/* ---------------------------------------------------------------- models */

typedef struct og_model_params {
    bool vocab_only;   /* load only the tokenizer (a vocab-only GGUF is valid) */
    int32_t n_threads; /* threads for work at load (repacking weights); 0: all cores */
    /* Folder where weights repacked for the fast kernels are kept between
     * loads (created if needed; one file per model file, rewritten when
     * the model file changes), so that later loads map them instead of
     * repacking; NULL: repack in memory at every load. */
    const char *cache_dir;
} og_model_params;

og_model_params og_model_default_params(void);

/* Opens a GGUF file (memory-mapped, weights are not copied). On success
 * *out owns the mapping; free it with og_model_free. */
og_status og_model_load(const char *path, const og_model_params *params,
                        og_model **out, og_error *err);
void og_model_free(og_model *model);

/* Deletes the files of a cache_dir (og_model_params) whose model file is
 * gone or has changed since, and temporary files writers left behind.
 * *n_files and *n_bytes (may be NULL) get what was freed. A missing
 * folder is not an error. */
og_status og_model_cache_prune(const char *cache_dir, size_t *n_files, uint64_t *n_bytes, og_error *err);

typedef struct og_model_info {
    const char *arch;       /* "llama", "bert", ... (owned by the model) */
    const char *name;       /* general.name or "" */
    int64_t n_params;
    uint64_t n_bytes;       /* bytes of tensor data */
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, n_ff;
    float rope_freq_base;
    const char *file_type;  /* dominant tensor type, e.g. "Q4_1" */
    uint64_t packed_bytes;  /* weights repacked for the fast kernels (0: none) */
    bool packed_from_cache; /* they were mapped from cache_dir, not repacked by this load */
} og_model_info;

void og_model_get_info(const og_model *model, og_model_info *info);

/* Writes a short multi-line description (metadata, tensor types) into buf,
 * NUL-terminated and truncated to cap; returns the length it needed. */
size_t og_model_describe(const og_model *model, char *buf, size_t cap);

/* Bytes a context of n_ctx tokens needs beyond the mapped weights
 * (KV cache plus work buffers). */
uint64_t og_model_context_bytes(const og_model *model, int32_t n_ctx, int32_t n_batch);

/* -------------------------------------------------------------- tokenizer */

int32_t og_vocab_size(const og_model *model);
og_token og_token_bos(const og_model *model);   /* -1 when the model has none */
og_token og_token_eos(const og_model *model);
og_token og_token_eot(const og_model *model);   /* end of turn, or -1 */
bool og_token_is_eog(const og_model *model, og_token t); /* end of generation */
bool og_model_adds_bos(const og_model *model); /* tokenizer.ggml.add_bos_token */

/* Tokenizes text[0..len). add_special adds BOS/EOS (or CLS/SEP) as the
 * model asks; parse_special lets control tokens such as <|im_start|> in the
 * text map to their ids. Writes at most max_tokens ids and returns how many
 * the text needs: when that exceeds max_tokens, call again with more room.
 * Returns a negative og_status on error. */
int32_t og_tokenize(const og_model *model, const char *text, size_t len,
                    og_token *tokens, int32_t max_tokens,
                    bool add_special, bool parse_special);

/* Writes the UTF-8 bytes of one token (not NUL-terminated) and returns their
 * count; when it exceeds cap, nothing useful was written. Control tokens
 * render as empty unless special is true. */
int32_t og_token_to_piece(const og_model *model, og_token t, char *buf,
                          int32_t cap, bool special);

/* ---------------------------------------------------------------- context */

typedef struct og_context_params {
    int32_t n_ctx;      /* tokens of KV cache; 0 = min(model's, 4096) */
    int32_t n_batch;    /* tokens evaluated per forward step; 0 = 512 */
    int32_t n_threads;  /* 0 = number of online CPUs */
} og_context_params;

og_context_params og_context_default_params(void);

og_status og_context_new(og_model *model, const og_context_params *params,
                         og_context **out, og_error *err);
void og_context_free(og_context *ctx);

int32_t og_context_n_ctx(const og_context *ctx);
int32_t og_context_n_past(const og_context *ctx);  /* tokens in the KV cache */

/* Forgets every cached token from position n_keep on. */
void og_context_truncate(og_context *ctx, int32_t n_keep);

/* Appends tokens to the sequence and runs the model over them. When
 * all_logits is true, logits for every token are kept (perplexity);
 * otherwise only those of the last token. */
og_status og_decode(og_context *ctx, const og_token *tokens, int32_t n_tokens,
                    bool all_logits, og_error *err);

/* Logits (n_vocab floats) of the i-th token of the last og_decode call,
 * or of its last token when i < 0. Valid until the next og_decode. */
const float *og_get_logits(const og_context *ctx, int32_t i);

/* --------------------------------------------------------------- sampling */

typedef struct og_sampler_params {
    float temperature;     /* <= 0: greedy */
    int32_t top_k;         /* <= 0: off */
    float top_p;           /* >= 1: off */
    float min_p;           /* <= 0: off */
    float repeat_penalty;  /* 1: off */
    int32_t repeat_last_n; /* how many recent tokens the penalty looks at */
    uint64_t seed;
} og_sampler_params;

og_sampler_params og_sampler_default_params(void);

og_status og_sampler_new(const og_sampler_params *params, int32_t n_vocab,
                         og_sampler **out, og_error *err);
void og_sampler_free(og_sampler *s);
/* Picks a token from logits (not modified). */
og_token og_sampler_sample(og_sampler *s, const float *logits);
/* Records a token so the repetition penalty sees it. */
void og_sampler_accept(og_sampler *s, og_token t);
void og_sampler_reset(og_sampler *s);

/* ------------------------------------------------------------- generation */

typedef struct og_gen_stats {
    int32_t n_prompt, n_gen;
    double prompt_seconds, gen_seconds;
    bool hit_eog;       /* stopped at an end-of-generation token */
    bool context_full;  /* stopped because the context had no room left */
} og_gen_stats;

/* Receives each generated token and its text (not NUL-terminated; control
 * tokens give an empty piece). Returning false stops generation. */
typedef bool (*og_token_fn)(void *user, og_token token, const char *piece, int32_t piece_len);

/* Decodes prompt[0..n_prompt) on top of what ctx already holds, then
 * samples up to max_tokens tokens (-1: until an end-of-generation token or
 * a full context), feeding each back into the model. The EOG token itself
 * is neither reported nor cached. on_token may be NULL. Running out of
 * context ends generation without an error (stats->context_full). */
og_status og_generate(og_context *ctx, og_sampler *sampler, const og_token *prompt, int32_t n_prompt,
                      int32_t max_tokens, og_token_fn on_token, void *user, og_gen_stats *stats,
                      og_error *err);

/* ------------------------------------------------------------- perplexity */

typedef struct og_ppl_result {
    double ppl;          /* exp(mean negative log-likelihood) */
    double ppl_stderr;   /* its standard error, as llama-perplexity prints */
    int32_t n_chunks;
    int64_t n_scored;    /* tokens scored */
} og_ppl_result;

/* Called after each chunk with the running perplexity. */
typedef void (*og_ppl_fn)(void *user, int32_t chunk, int32_t n_chunks, double ppl_so_far);

/* Perplexity as llama.cpp's llama-perplexity computes it: tokens are cut
 * into chunks of chunk_size, each chunk starts with BOS when the model
 * adds one, and the second half of each chunk is scored. The context
 * needs n_ctx and n_batch of at least chunk_size; its cache is cleared.
 * Needs at least 2 * chunk_size tokens. */
og_status og_perplexity(og_context *ctx, const og_token *tokens, int32_t n_tokens, int32_t chunk_size,
                        og_ppl_fn on_chunk, void *user, og_ppl_result *result, og_error *err);

/* ------------------------------------------------------------------- chat */

typedef struct og_chat_message {
    const char *role;    /* "system", "user", "assistant" (NUL-terminated) */
    const char *content; /* NUL-terminated */
} og_chat_message;

/* Renders messages with the model's chat template (ChatML, Llama 2,
 * Llama 3, Phi-3, ... chosen from tokenizer.chat_template). When
 * add_assistant is true the prompt ends ready for the assistant's reply.
 * Writes a NUL-terminated string truncated to cap and returns the length it
 * needed, or a negative og_status when the template is not supported. */
int32_t og_chat_apply_template(const og_model *model, const og_chat_message *msgs,
                               size_t n_msgs, bool add_assistant,
                               char *buf, int32_t cap);

/* A conversation bound to a context. It keeps the rendered conversation
 * in the KV cache between turns: each reply re-renders the whole chat and
 * decodes only the tokens that differ from what is cached. The chat
 * copies the messages it is given; free it before the context. */
typedef struct og_chat og_chat;

og_status og_chat_new(og_context *ctx, og_chat **out, og_error *err);
void og_chat_free(og_chat *chat);

/* Appends a message (role "system", "user" or "assistant"). */
og_status og_chat_add(og_chat *chat, const char *role, const char *content, og_error *err);

/* Generates the assistant's reply to the conversation so far, streaming
 * it through on_token, and appends it to the conversation. */
og_status og_chat_respond(og_chat *chat, og_sampler *sampler, int32_t max_tokens, og_token_fn on_token,
                          void *user, og_gen_stats *stats, og_error *err);

size_t og_chat_n_messages(const og_chat *chat);
const og_chat_message *og_chat_message_at(const og_chat *chat, size_t i);

/* ------------------------------------------------------------- conversion */
/* An outer module: absent from libraries built with OG_CORE_ONLY. */

typedef enum og_convert_type {
    OG_CONVERT_F32,  /* every tensor as F32 */
    OG_CONVERT_F16,  /* matrices as F16; norms, biases, position and token-type embeddings F32 */
    OG_CONVERT_Q8_0  /* matrices as Q8_0 (F16 when a row is not a multiple of 32), the rest as F16 does */
} og_convert_type;

/* Called after each tensor is converted: done of total, and its GGUF name. */
typedef void (*og_convert_progress_fn)(void *user, int64_t done, int64_t total, const char *tensor);

typedef struct og_convert_params {
    og_convert_type type;            /* default OG_CONVERT_F16, as llama.cpp's converter */
    og_convert_progress_fn progress; /* may be NULL */
    void *user;
} og_convert_params;

og_convert_params og_convert_default_params(void);

/* Converts a Hugging Face model folder (config.json, model.safetensors,
 * tokenizer.json, tokenizer.model or vocab.txt, tokenizer_config.json,
 * special_tokens_map.json) into a GGUF file with llama.cpp's names, so
 * llama.cpp and offgrid both load it. Architectures: LlamaForCausalLM,
 * BertModel, BertForSequenceClassification. out_path is written through a
 * temporary file: on failure nothing is left behind. */
og_status og_convert_hf(const char *hf_dir, const char *out_path, const og_convert_params *params,
                        og_error *err);

/* --------------------------------------------------------------- encoders */

/* A BERT-family encoder (arch "bert") bound to a model: sentence
 * embeddings and, when the model has a classification head, label
 * probabilities. It owns its thread pool and all its buffers, planned
 * once at creation for n_batch tokens; the model must outlive it. One
 * call at a time per encoder; separate encoders may run concurrently. */
typedef struct og_encoder og_encoder;

typedef struct og_encoder_params {
    int32_t n_threads;  /* 0 = number of online CPUs */
    int32_t n_batch;    /* tokens per forward pass, several texts packed
                           together; 0 = 2048; raised to max_tokens if below */
    int32_t max_tokens; /* longer texts are cut to this many tokens, the
                           last one [SEP] (as sentence-transformers'
                           max_seq_length); 0 = the model's own limit:
                           OG_KEY_ENCODER_MAX_TOKENS if the file has it,
                           else its context length */
    bool normalize;     /* og_embed scales each vector to unit L2 length */
} og_encoder_params;

og_encoder_params og_encoder_default_params(void); /* all 0, normalize true */

/* Fails with OG_ERR_ARG when the model is not an encoder (or vocab-only),
 * OG_ERR_NOMEM when its buffers cannot be allocated. */
og_status og_encoder_new(og_model *model, const og_encoder_params *params, og_encoder **out, og_error *err);
void og_encoder_free(og_encoder *enc);

/* Floats per embedding (the model's hidden size). */
int32_t og_encoder_n_embd(const og_encoder *enc);
/* The max_tokens in force after defaults. */
int32_t og_encoder_max_tokens(const og_encoder *enc);

/* Embeds n_texts texts: texts[i] has lens[i] bytes (lens NULL: each text
 * is NUL-terminated). Writes n_texts * og_encoder_n_embd floats to out,
 * row i for text i, pooled as the model says (mean or CLS) and normalized
 * when params.normalize. An empty text is valid ([CLS] [SEP] alone).
 * Results do not depend on n_batch, n_threads or how the texts are
 * grouped into calls. */
og_status og_embed(og_encoder *enc, const char *const *texts, const size_t *lens, int32_t n_texts, float *out,
                   og_error *err);

/* The same for texts already tokenized: sequence i is tokens[i][0..
 * n_tokens[i]), with its [CLS] and [SEP] (as og_tokenize with add_special
 * gives them), cut like a text past max_tokens. */
og_status og_embed_tokens(og_encoder *enc, const og_token *const *tokens, const int32_t *n_tokens, int32_t n_seqs,
                          float *out, og_error *err);

/* Classification heads in a GGUF encoder: the classifier is the tensors
 * cls.output.weight [n_embd, n_labels] and cls.output.bias [n_labels];
 * <arch>.classifier.output_labels names the labels and the two keys below
 * say what the head reads and how its softmax is tempered:
 *   offgrid.classifier.input  string: "pooler" (the default;
 *       BertForSequenceClassification: [CLS] through the pooler dense
 *       cls.weight / cls.bias and tanh), "embedding" (the pooled sentence
 *       embedding) or "normalized_embedding" (the same at unit length, as
 *       og_embed gives it: a linear model trained on sentence-transformers
 *       vectors, e.g. scikit-learn's LogisticRegression)
 *   offgrid.classifier.temperature  f32 > 0, default 1 */
#define OG_KEY_CLASSIFIER_INPUT "offgrid.classifier.input"
/* u32: where the model's own pipeline cuts texts (sentence-transformers'
 * max_seq_length, e.g. 256 for all-MiniLM-L6-v2 whose positions go to
 * 512); offgrid convert writes it from sentence_bert_config.json. */
#define OG_KEY_ENCODER_MAX_TOKENS "offgrid.encoder.max_tokens"
#define OG_KEY_CLASSIFIER_TEMPERATURE "offgrid.classifier.temperature"

/* Labels of the classification head; 0 when the model has none. Names
 * come from the model's classifier.output_labels, else "LABEL_<i>"; the
 * strings are owned by the model. */
int32_t og_encoder_n_labels(const og_encoder *enc);
const char *og_encoder_label(const og_encoder *enc, int32_t i); /* NULL when out of range */
/* The softmax temperature og_classify applies: the model's
 * offgrid.classifier.temperature, or 1. */
float og_encoder_temperature(const og_encoder *enc);

/* Raw classifier outputs: n_texts * og_encoder_n_labels floats. Fails with
 * OG_ERR_UNSUPPORTED when the model has no classification head. */
og_status og_classify_logits(og_encoder *enc, const char *const *texts, const size_t *lens, int32_t n_texts,
                             float *logits, og_error *err);

/* Probabilities: softmax(logits / temperature) per text, n_texts *
 * og_encoder_n_labels floats summing to 1 per row (a single-output head
 * gives sigmoid(logit / temperature), the probability of its one label). */
og_status og_classify(og_encoder *enc, const char *const *texts, const size_t *lens, int32_t n_texts,
                      float *probs, og_error *err);

/* Probabilities from logits with a given temperature (> 0), the rule
 * og_classify applies; probs may equal logits. */
void og_classify_softmax(const float *logits, int32_t n_labels, float temperature, float *probs);

/* Temperature scaling (Guo et al., 2017): the T > 0 that minimizes the
 * mean negative log-likelihood of softmax(logits / T) over n examples of
 * n_labels >= 2 classes, labels[i] in [0, n_labels). Returns OG_ERR_ARG
 * on invalid input, else OG_OK with *temperature set (searched over
 * [0.01, 100]). */
og_status og_fit_temperature(const float *logits, const int32_t *labels, int32_t n, int32_t n_labels,
                             float *temperature);

/* Mean negative log-likelihood of labels under probs (n x n_labels). */
double og_nll(const float *probs, const int32_t *labels, int32_t n, int32_t n_labels);

/* Expected calibration error over n_bins equal-width confidence bins:
 * sum over bins of (bin size / n) * |accuracy - mean confidence|, the
 * confidence being each row's largest probability. */
double og_expected_calibration_error(const float *probs, const int32_t *labels, int32_t n, int32_t n_labels,
                                     int32_t n_bins);

/* Writes the GGUF at src to dst (which may be src) with
 * offgrid.classifier.temperature = t, atomically (a temporary file beside
 * dst, then rename): other keys and tensors are copied unchanged. Loaded
 * models keep their old mapping. */
og_status og_model_save_temperature(const char *src, const char *dst, float temperature, og_error *err);

/* A linear head over sentence embeddings: logits = weight @ e + bias, e
 * being the pooled embedding, scaled to unit length first when normalized
 * is true. weight is n_labels rows of the model's n_embd floats. */
typedef struct og_linear_head {
    int32_t n_labels, n_embd;
    const float *weight, *bias;
    const char *const *labels; /* n_labels names, none empty */
    bool normalized;
} og_linear_head;

/* Writes the encoder GGUF at src (arch bert) to dst with the head as its
 * classifier (F32 cls.output.*, output_labels, offgrid.classifier.input;
 * temperature 1), atomically; dst may be src. A head src already has,
 * and its temperature, are dropped. OG_ERR_ARG when the head does not fit
 * the model. */
og_status og_model_add_head(const char *src, const char *dst, const og_linear_head *head, og_error *err);

/* ------------------------------------------------------------- similarity */

/* The k rows of rows[n_rows][dim] most cosine-similar to query[dim], best
 * first (ties: lower index first). Writes min(k, n_rows) indices and
 * similarities and returns that count, or a negative og_status for invalid
 * arguments. Zero-length rows score 0. Uses the CPU's fastest kernels. */
int32_t og_cosine_topk(const float *query, const float *rows, int64_t n_rows, int32_t dim, int32_t k,
                       int64_t *idx, float *sim);

/* ------------------------------------------------------------------ store */
/* An outer module: absent from libraries built with OG_CORE_ONLY.
 *
 * The store is a folder (og_store_default_home: $OFFGRID_HOME, else
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
og_status og_store_default_home(char *buf, size_t cap, og_error *err);

/* Opens the store in home (created when missing, as is its registry). */
og_status og_store_open(const char *home, og_store **out, og_error *err);
void og_store_free(og_store *store);

/* Called during a pull: stage is "download", "copy", "extract" or
 * "verify"; total is 0 when unknown. */
typedef void (*og_store_progress_fn)(void *user, const char *stage, uint64_t done, uint64_t total);

typedef struct og_store_pull_params {
    const char *catalog;   /* catalog file path or http(s)/file URL (required) */
    const char *mirrors;   /* ':'-separated folders searched by file name first, or NULL */
    bool force;            /* pull even when disk or RAM looks too small */
    bool skip_test;        /* do not load the model for a test inference */
    uint64_t free_disk;    /* testing: pretend this many bytes are free (0: measure) */
    uint64_t total_ram;    /* testing: pretend this much RAM (0: measure) */
    uint64_t available_ram; /* testing: pretend this much RAM is available (0: measure) */
    int max_retries;       /* HTTP attempts per URL (default 5) */
    long low_speed_seconds; /* abort a transfer slower than 1 KiB/s this long (default 30) */
    og_store_progress_fn progress; /* may be NULL */
    void *user;
    /* The test load's og_model_params.cache_dir: it leaves the repacked
     * weights there for the model's first run (NULL: no cache). */
    const char *cache_dir;
} og_store_pull_params;

og_store_pull_params og_store_default_pull_params(void);

/* Installs ref from the catalog (when no version is given, the highest
 * one this device's rollout cohort may have, see og_store_update):
 * mirrors first, then the entry's URLs (file:// before the others).
 * Refuses before fetching anything when og_store_check_fit says the
 * model does not fit (unless force), verifies size, SHA-256 and the Ed25519 signature (when
 * the entry is signed or trusted_keys is not empty: then a valid
 * signature by a trusted key is required), loads the model for a test
 * inference, and only then activates it; the version that was active
 * becomes the previous one. On failure nothing active changes. out (may be
 * NULL) receives the installed version. */
og_status og_store_pull(og_store *store, const char *ref, const og_store_pull_params *params,
                        og_store_version *out, og_error *err);

/* Every installed version, ordered by name then install time. *out is
 * malloc'd (NULL when *n is 0): the caller frees it with free(). */
og_status og_store_list(og_store *store, og_store_version **out, size_t *n, og_error *err);

/* The active version of NAME, or the version NAME:VERSION names. */
og_status og_store_get(og_store *store, const char *ref, og_store_version *out, og_error *err);

/* Path of the active model file of NAME (or of NAME:VERSION) into buf,
 * and marks it used now. */
og_status og_store_model_path(og_store *store, const char *ref, char *buf, size_t cap, og_error *err);

/* Removes NAME:VERSION, or every version of NAME, and the blobs nothing
 * else uses. Removing the active version makes the previous one active. */
og_status og_store_remove(og_store *store, const char *ref, og_error *err);

/* Makes the previous version of NAME active again (they swap). */
og_status og_store_rollback(og_store *store, const char *name, og_store_version *out, og_error *err);

/* Re-hashes the installed files of NAME (every model when NULL). Calls
 * report (may be NULL) once per version with ok false and a reason when it
 * does not match. *n_bad counts the mismatches; the return is OG_OK unless
 * the check itself could not run. */
typedef void (*og_store_verify_fn)(void *user, const og_store_version *v, bool ok, const char *why);
og_status og_store_verify(og_store *store, const char *name, og_store_verify_fn report, void *user,
                          size_t *n_bad, og_error *err);

/* Deletes versions that are neither active nor previous, blobs no version
 * uses and leftover temporary files. *n_files and *n_bytes (may be NULL) get
 * what was freed. */
og_status og_store_prune(og_store *store, size_t *n_files, uint64_t *n_bytes, og_error *err);

/* What a model needs from the device. og_store_probe_device reads total
 * and available RAM (/proc/meminfo), online cores, the CPU's SIMD
 * features and the kernels offgrid picks, and the free space of dir. */
typedef struct og_store_device {
    uint64_t ram_total, ram_available, free_disk; /* bytes */
    int32_t cores;
    char simd[128]; /* features, space-separated ("avx2 fma f16c avx512f"), or "none" */
    char isa[16];   /* the kernels offgrid runs: "scalar", "avx2", "avx512", "neon" */
} og_store_device;

og_status og_store_probe_device(const char *dir, og_store_device *out, og_error *err);

/* The share of available RAM a model may take (the rest is headroom for
 * the OS, the app and the KV cache's growth), in percent. */
#define OG_STORE_RAM_HEADROOM_PERCENT 70

/* The one fit check pull, recommend and loading an installed model use:
 * OG_ERR_NOMEM, with the reason naming what (e.g. "name:version") and the
 * figures, when ram_bytes is over OG_STORE_RAM_HEADROOM_PERCENT of the
 * available RAM or over the total, or disk_bytes (0: nothing to fetch) is
 * over the free disk. Unknown figures (0 in d) are not checked. */
og_status og_store_check_fit(const og_store_device *d, const char *what, uint64_t ram_bytes, uint64_t disk_bytes,
                             og_error *err);

/* The value of key in home/config ("key = value" lines, '#' comments)
 * into buf; "" when the file or the key is missing. */
og_status og_store_config(const og_store *store, const char *key, char *buf, size_t cap, og_error *err);

/* This device's id for staged rollouts: 32 hex digits (128 random bits)
 * kept in home/device_id, created atomically on first use. */
og_status og_store_device_id(og_store *store, char id[33], og_error *err);

/* Whether downloads now go over a metered connection, and why it is
 * believed (docs/store.md): $OFFGRID_METERED, else NetworkManager
 * (nmcli) when present, else not metered. */
og_status og_store_metered(bool *metered, char *why, size_t cap, og_error *err);

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
    og_store_pull_params pull; /* catalog, mirrors, retries, overrides, progress */
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
og_status og_store_update(og_store *store, const og_store_update_params *params, og_store_update_fn report,
                          void *user, size_t *n_changed, og_error *err);

/* One catalog model judged for this device by og_store_recommend. */
typedef struct og_store_candidate {
    char name[64], version[64], task[16], quantization[32];
    int64_t parameters;
    uint64_t ram_bytes, size;
    bool installed, fits;
    char why[512]; /* why it fits or was rejected */
} og_store_candidate;

/* Judges the catalog's models of task (NULL: any) on device d: each
 * name's highest version for this device, rejected when it fails
 * og_store_check_fit (disk only when not installed) or needs more than
 * the scalar kernels can run at a usable speed. *out (free()) is ordered
 * best first: fitting models before the rest, then more parameters, then
 * more RAM (a less compressed quantization). *n counts them. */
og_status og_store_recommend(og_store *store, const char *catalog, const char *task, const og_store_device *d,
                             og_store_candidate **out, size_t *n, og_error *err);

/* Ed25519 for publishers. og_keygen writes a new key pair as hex: the
 * secret key to secret_path (mode 0600) and the public key to
 * public_path; neither may exist. og_sign_file writes into sig_hex (129
 * bytes) the detached signature of the file's bytes; og_verify_file checks
 * one against a hex public key (OG_ERR_FORMAT when it does not match). */
og_status og_keygen(const char *secret_path, const char *public_path, og_error *err);
og_status og_sign_file(const char *path, const char *secret_path, char sig_hex[129], og_error *err);
og_status og_verify_file(const char *path, const char *sig_hex, const char *public_hex, og_error *err);

/* ----------------------------------------------------------------- server */
/* An outer module (libmicrohttpd, jansson): absent from libraries built
 * with OG_CORE_ONLY. An OpenAI-compatible HTTP server: /v1/chat/completions,
 * /v1/completions, /v1/embeddings, /v1/models, /health, /metrics and a chat
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
} og_server_params;

og_server_params og_server_default_params(void);

/* Loads the models, creates the slots and starts listening; returns once
 * the server accepts connections (it runs on its own threads). */
og_status og_server_start(const og_server_params *params, og_server **out, og_error *err);
/* The port the server listens on. */
int og_server_port(const og_server *server);
/* Stops listening, cancels what is running and frees everything. */
void og_server_free(og_server *server);

#ifdef __cplusplus
}
#endif
#endif
