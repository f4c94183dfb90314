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
 *  - One header per tier: this one is the core (models, tokenizers,
 *    contexts, generation, encoders); offgrid_transform.h adds the tools
 *    that write model files and offgrid_services.h the store and the
 *    server. The shared library exports exactly the functions they
 *    declare (OG_API).
 */
#ifndef OFFGRID_H
#define OFFGRID_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions the shared library exports; everything else in it
 * is built with hidden visibility. */
#if defined(__GNUC__) || defined(__clang__)
#define OG_API __attribute__((visibility("default")))
#else
#define OG_API
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
    OG_ERR_CANCELLED,    /* a callback asked to stop */
    OG_ERR_NO_SPACE,     /* not enough free disk space for what was asked */
    OG_ERR_KEY           /* a wrong passphrase or key for encrypted data */
} og_status;

typedef struct og_error {
    og_status code;
    char message[512];
} og_error;

/* A static, human-readable name for a status code. */
OG_API const char *og_status_name(og_status code);

/* The one error convention: a function that can fail returns its
 * og_status, and sets *err when err is not NULL. og_error_set fills err
 * (which may be NULL) with code and a printf-style message and returns
 * code, so a failure reads `return og_error_set(err, OG_ERR_IO, ...)`.
 * A NULL err never changes which code a function returns. */
OG_API og_status og_error_set(og_error *err, og_status code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Prepends "prefix: " to the message already in err (NULL: nothing). */
OG_API void og_error_prefix(og_error *err, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The kernels this CPU runs: "scalar", "avx2", "avx512" or "neon"
 * (OG_ISA=scalar|avx2|avx512 in the environment caps the choice). */
OG_API const char *og_cpu_isa(void);

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

OG_API og_model_params og_model_default_params(void);

/* Opens a GGUF file (memory-mapped, weights are not copied). On success
 * *out owns the mapping; free it with og_model_free. */
OG_API og_status og_model_load(const char *path, const og_model_params *params,
                        og_model **out, og_error *err);
OG_API void og_model_free(og_model *model);

/* Deletes the files of a cache_dir (og_model_params) whose model file is
 * gone or has changed since, and temporary files writers left behind.
 * *n_files and *n_bytes (may be NULL) get what was freed. A missing
 * folder is not an error. */
OG_API og_status og_model_cache_prune(const char *cache_dir, size_t *n_files, uint64_t *n_bytes, og_error *err);

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
    const char *chat_template; /* tokenizer.chat_template, or NULL when the file has none
                                  (og_chat then falls back to ChatML, as llama.cpp does) */
} og_model_info;

OG_API void og_model_get_info(const og_model *model, og_model_info *info);

/* Writes a short multi-line description (metadata, tensor types) into buf,
 * NUL-terminated and truncated to cap; returns the length it needed. */
OG_API size_t og_model_describe(const og_model *model, char *buf, size_t cap);

/* Bytes a context of n_ctx tokens needs beyond the mapped weights
 * (KV cache plus work buffers); 0 for a model that has no context (an
 * encoder, or one loaded vocab-only). */
OG_API uint64_t og_model_context_bytes(const og_model *model, int32_t n_ctx, int32_t n_batch);

/* -------------------------------------------------------------- tokenizer */

OG_API int32_t og_vocab_size(const og_model *model);
OG_API og_token og_token_bos(const og_model *model);   /* -1 when the model has none */
OG_API og_token og_token_eos(const og_model *model);
OG_API og_token og_token_eot(const og_model *model);   /* end of turn, or -1 */
OG_API bool og_token_is_eog(const og_model *model, og_token t); /* end of generation */
OG_API bool og_model_adds_bos(const og_model *model); /* tokenizer.ggml.add_bos_token */

/* Tokenizes text[0..len). add_special adds BOS/EOS (or CLS/SEP) as the
 * model asks; parse_special lets control tokens such as <|im_start|> in the
 * text map to their ids. Writes at most max_tokens ids and returns how many
 * the text needs: when that exceeds max_tokens, call again with more room.
 * Returns a negative og_status on error. */
OG_API int32_t og_tokenize(const og_model *model, const char *text, size_t len,
                    og_token *tokens, int32_t max_tokens,
                    bool add_special, bool parse_special);

/* Writes the UTF-8 bytes of one token (not NUL-terminated) and returns their
 * count; when it exceeds cap, nothing useful was written. Control tokens
 * render as empty unless special is true. */
OG_API int32_t og_token_to_piece(const og_model *model, og_token t, char *buf,
                          int32_t cap, bool special);

/* ---------------------------------------------------------------- context */

typedef struct og_context_params {
    int32_t n_ctx;      /* tokens of KV cache; 0 = min(model's, 4096) */
    int32_t n_batch;    /* tokens evaluated per forward step; 0 = 512 */
    int32_t n_threads;  /* 0 = number of online CPUs */
} og_context_params;

OG_API og_context_params og_context_default_params(void);

OG_API og_status og_context_new(og_model *model, const og_context_params *params,
                         og_context **out, og_error *err);
OG_API void og_context_free(og_context *ctx);

OG_API int32_t og_context_n_ctx(const og_context *ctx);
OG_API int32_t og_context_n_past(const og_context *ctx);  /* tokens in the KV cache */
/* The ids in the KV cache, in order (og_context_n_past of them); valid
 * until the context next changes. */
OG_API const og_token *og_context_tokens(const og_context *ctx);

/* Forgets every cached token from position n_keep on. */
OG_API void og_context_truncate(og_context *ctx, int32_t n_keep);

/* Appends tokens to the sequence and runs the model over them. When
 * all_logits is true, logits for every token are kept (perplexity);
 * otherwise only those of the last token. */
OG_API og_status og_decode(og_context *ctx, const og_token *tokens, int32_t n_tokens,
                    bool all_logits, og_error *err);

/* Attaches a draft context for speculative decoding: og_generate on ctx
 * then lets draft (a smaller model with the same vocabulary, e.g.
 * Qwen2.5 0.5B for 1.5B) propose up to draft_max tokens at a time (1..16;
 * 0: 16; the length adapts to how many are accepted; greedy runs pause
 * drafting while it gives fewer tokens per second than plain passes) and
 * checks them in one batched pass of ctx. Greedy output is the same as
 * without a draft, token for token; with sampling, proposals are accepted by the standard
 * rejection rule, so the output is distributed as ctx's model's. The
 * draft's context must hold at least as many tokens as ctx's; it belongs
 * to the caller, must outlive the attachment, and is used by nothing else
 * meanwhile. Fails with OG_ERR_ARG, naming both vocabulary sizes or the
 * first token that differs, when the vocabularies (texts, special and
 * end-of-generation tokens) are not the same. draft NULL detaches; so
 * does a failure. All buffers are sized here: generation still allocates
 * nothing per token. */
OG_API og_status og_context_set_draft(og_context *ctx, og_context *draft, int32_t draft_max, og_error *err);

/* Logits (n_vocab floats) of the i-th token of the last og_decode call,
 * or of its last token when i < 0. Valid until the next og_decode. */
OG_API const float *og_get_logits(const og_context *ctx, int32_t i);

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

OG_API og_sampler_params og_sampler_default_params(void);

OG_API og_status og_sampler_new(const og_sampler_params *params, int32_t n_vocab,
                         og_sampler **out, og_error *err);
OG_API void og_sampler_free(og_sampler *s);
/* Picks a token from logits (not modified). */
OG_API og_token og_sampler_sample(og_sampler *s, const float *logits);
/* Records a token so the repetition penalty sees it. */
OG_API void og_sampler_accept(og_sampler *s, og_token t);
OG_API void og_sampler_reset(og_sampler *s);

/* ------------------------------------------------------------- generation */
/* The one token loop: every caller of a language model (og_chat, the
 * server, the CLI) generates through og_generate. It allocates nothing
 * per token: its buffers live in the context and grow, if at all, before
 * the loop starts. */

/* Why generation ended. */
typedef enum og_finish {
    OG_FINISH_NONE = 0,     /* an error ended it (the status says which) */
    OG_FINISH_EOG,          /* the model produced an end-of-generation token */
    OG_FINISH_STOP,         /* a stop string appeared (the text ends before it), or
                               json_object: the JSON object is complete or nothing can continue it */
    OG_FINISH_LENGTH,       /* max_tokens tokens were generated */
    OG_FINISH_CONTEXT_FULL, /* the context had no room for another token */
    OG_FINISH_CANCELLED,    /* the cancel callback, or on_token, asked to stop */
    OG_FINISH_DEADLINE      /* max_seconds passed */
} og_finish;

/* A static name for a finish reason ("eog", "stop", "length", ...). */
OG_API const char *og_finish_name(og_finish finish);

/* Polled before each prompt chunk and each token; true stops generation. */
typedef bool (*og_cancel_fn)(void *user);

/* Stop strings og_generate accepts at most, and their longest length. */
#define OG_GEN_MAX_STOP 16
#define OG_GEN_MAX_STOP_LEN 256

typedef struct og_gen_params {
    int32_t max_tokens;       /* at most this many tokens; -1: until EOG, a stop or a full context */
    const char *const *stop;  /* n_stop NUL-terminated strings that end generation (empty ones are ignored) */
    int32_t n_stop;
    bool json_object;         /* only tokens that keep the output a prefix of one JSON object
                                 (OpenAI's response_format json_object); ends when it is complete */
    bool logprobs;            /* fill og_gen_token.logprob */
    og_cancel_fn cancel;      /* may be NULL */
    void *cancel_user;
    double max_seconds;       /* wall-clock limit from the call's start; 0: none */
    int32_t prompt_chunk;     /* prompt tokens decoded between cancel checks; 0: the context's n_batch */
} og_gen_params;

/* max_tokens -1, everything else off. */
OG_API og_gen_params og_gen_default_params(void);

/* What on_token receives for each generated token. */
typedef struct og_gen_token {
    og_token id;           /* the token; -1 in the last call, which only releases held text */
    const char *piece;     /* the token's own bytes (control tokens: empty), not NUL-terminated */
    int32_t piece_len;
    float logprob;         /* log-probability of id under the model's distribution (softmax of the
                              logits at temperature 1), when params.logprobs; else 0 */
    const char *text;      /* text this token releases: generated bytes that can no longer be
                              part of a stop string, whole UTF-8 characters only (the last call
                              releases the rest); the concatenation of every call's text is
                              og_gen_result.text */
    size_t text_len;
} og_gen_token;

/* Receives each generated token. Returning false stops generation
 * (OG_FINISH_CANCELLED). The pointers are valid during the call only. */
typedef bool (*og_token_fn)(void *user, const og_gen_token *token);

typedef struct og_gen_result {
    int32_t n_prompt;      /* prompt tokens */
    int32_t n_cached;      /* of which were already in the KV cache, not decoded again */
    int32_t n_gen;         /* tokens generated (an EOG token is not counted) */
    double prompt_seconds, gen_seconds;
    og_finish finish;
    const char *text;      /* the generated text, cut before a stop string, NUL-terminated;
                              owned by the context, valid until its next og_generate */
    size_t text_len;
    /* Speculative decoding (og_context_set_draft): tokens the draft
     * proposed, how many of them the target took, and their ratio (0
     * without a draft). */
    int32_t n_drafted, n_accepted;
    double acceptance;
} og_gen_result;

/* Continues the token sequence prompt[0..n_prompt) (n_prompt >= 1): the
 * context keeps the longest prefix of it that its KV cache already holds
 * and decodes only the rest (always at least the last prompt token, for
 * its logits), then samples tokens and feeds each back, until params say
 * stop (params NULL: og_gen_default_params). The EOG token itself is
 * neither reported nor cached. The sampler sees every prompt token
 * (repetition penalty). on_token and result may be NULL. Running out of
 * context, a stop string, cancellation and the deadline end generation
 * without an error (result->finish says why); OG_ERR_ARG for invalid
 * arguments, OG_ERR_CONTEXT_FULL when the prompt alone does not fit. */
OG_API og_status og_generate(og_context *ctx, og_sampler *sampler, const og_token *prompt, int32_t n_prompt,
                             const og_gen_params *params, og_token_fn on_token, void *user, og_gen_result *result,
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
OG_API og_status og_perplexity(og_context *ctx, const og_token *tokens, int32_t n_tokens, int32_t chunk_size,
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
OG_API int32_t og_chat_apply_template(const og_model *model, const og_chat_message *msgs,
                               size_t n_msgs, bool add_assistant,
                               char *buf, int32_t cap);

/* A conversation bound to a context. It keeps the rendered conversation
 * in the KV cache between turns: each reply re-renders the whole chat and
 * decodes only the tokens that differ from what is cached. The chat
 * copies the messages it is given; free it before the context. */
typedef struct og_chat og_chat;

OG_API og_status og_chat_new(og_context *ctx, og_chat **out, og_error *err);
OG_API void og_chat_free(og_chat *chat);

/* Appends a message (role "system", "user" or "assistant"). */
OG_API og_status og_chat_add(og_chat *chat, const char *role, const char *content, og_error *err);

/* Generates the assistant's reply to the conversation so far through
 * og_generate (params as there; the context reuses the cached part of
 * the conversation), streaming it through on_token, and appends the
 * reply's text to the conversation. */
OG_API og_status og_chat_respond(og_chat *chat, og_sampler *sampler, const og_gen_params *params,
                                 og_token_fn on_token, void *user, og_gen_result *result, og_error *err);

OG_API size_t og_chat_n_messages(const og_chat *chat);
OG_API const og_chat_message *og_chat_message_at(const og_chat *chat, size_t i);

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

OG_API og_encoder_params og_encoder_default_params(void); /* all 0, normalize true */

/* Fails with OG_ERR_ARG when the model is not an encoder (or vocab-only),
 * OG_ERR_NOMEM when its buffers cannot be allocated. */
OG_API og_status og_encoder_new(og_model *model, const og_encoder_params *params, og_encoder **out, og_error *err);
OG_API void og_encoder_free(og_encoder *enc);

/* Floats per embedding (the model's hidden size). */
OG_API int32_t og_encoder_n_embd(const og_encoder *enc);
/* The max_tokens in force after defaults. */
OG_API int32_t og_encoder_max_tokens(const og_encoder *enc);

/* Embeds n_texts texts: texts[i] has lens[i] bytes (lens NULL: each text
 * is NUL-terminated). Writes n_texts * og_encoder_n_embd floats to out,
 * row i for text i, pooled as the model says (mean or CLS) and normalized
 * when params.normalize. An empty text is valid ([CLS] [SEP] alone).
 * Results do not depend on n_batch, n_threads or how the texts are
 * grouped into calls. */
OG_API og_status og_embed(og_encoder *enc, const char *const *texts, const size_t *lens, int32_t n_texts, float *out,
                   og_error *err);

/* The same for texts already tokenized: sequence i is tokens[i][0..
 * n_tokens[i]), with its [CLS] and [SEP] (as og_tokenize with add_special
 * gives them), cut like a text past max_tokens. */
OG_API og_status og_embed_tokens(og_encoder *enc, const og_token *const *tokens, const int32_t *n_tokens, int32_t n_seqs,
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
OG_API int32_t og_encoder_n_labels(const og_encoder *enc);
OG_API const char *og_encoder_label(const og_encoder *enc, int32_t i); /* NULL when out of range */
/* The softmax temperature og_classify applies: the model's
 * offgrid.classifier.temperature, or 1. */
OG_API float og_encoder_temperature(const og_encoder *enc);
/* How og_embed pools the hidden states: "mean" or "cls" (static strings).
 * What the classification head reads, as OG_KEY_CLASSIFIER_INPUT names
 * it ("pooler", "embedding", "normalized_embedding"), or NULL without a
 * head. For `offgrid info` and other reports. */
OG_API const char *og_encoder_pooling(const og_encoder *enc);
OG_API const char *og_encoder_head_input(const og_encoder *enc);

/* Raw classifier outputs: n_texts * og_encoder_n_labels floats. Fails with
 * OG_ERR_UNSUPPORTED when the model has no classification head. */
OG_API og_status og_classify_logits(og_encoder *enc, const char *const *texts, const size_t *lens, int32_t n_texts,
                             float *logits, og_error *err);

/* Probabilities: softmax(logits / temperature) per text, n_texts *
 * og_encoder_n_labels floats summing to 1 per row (a single-output head
 * gives sigmoid(logit / temperature), the probability of its one label). */
OG_API og_status og_classify(og_encoder *enc, const char *const *texts, const size_t *lens, int32_t n_texts,
                      float *probs, og_error *err);

/* Probabilities from logits with a given temperature (> 0), the rule
 * og_classify applies; probs may equal logits. */
OG_API void og_classify_softmax(const float *logits, int32_t n_labels, float temperature, float *probs);

/* Temperature scaling (Guo et al., 2017): the T > 0 that minimizes the
 * mean negative log-likelihood of softmax(logits / T) over n examples of
 * n_labels >= 2 classes, labels[i] in [0, n_labels). Returns OG_ERR_ARG
 * on invalid input, else OG_OK with *temperature set (searched over
 * [0.01, 100]). */
OG_API og_status og_fit_temperature(const float *logits, const int32_t *labels, int32_t n, int32_t n_labels,
                             float *temperature);

/* Mean negative log-likelihood of labels under probs (n x n_labels). */
OG_API double og_nll(const float *probs, const int32_t *labels, int32_t n, int32_t n_labels);

/* Expected calibration error over n_bins equal-width confidence bins:
 * sum over bins of (bin size / n) * |accuracy - mean confidence|, the
 * confidence being each row's largest probability. */
OG_API double og_expected_calibration_error(const float *probs, const int32_t *labels, int32_t n, int32_t n_labels,
                                     int32_t n_bins);

/* ------------------------------------------------------------- similarity */

/* The k rows of rows[n_rows][dim] most cosine-similar to query[dim], best
 * first (ties: lower index first). Writes min(k, n_rows) indices and
 * similarities and returns that count, or a negative og_status for invalid
 * arguments. Zero-length rows score 0. Uses the CPU's fastest kernels. */
OG_API int32_t og_cosine_topk(const float *query, const float *rows, int64_t n_rows, int32_t dim, int32_t k,
                       int64_t *idx, float *sim);

#ifdef __cplusplus
}
#endif
#endif
