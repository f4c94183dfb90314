/*
 * convert.h - what the parts of the Hugging Face -> GGUF converter share:
 * the conversion job, JSON helpers over the model folder, tensor
 * conversion with llama.cpp's type rules, the tokenizer writers and one
 * entry point per architecture.
 */
#ifndef OG_CONVERT_CONVERT_H
#define OG_CONVERT_CONVERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "offgrid_transform.h"
#include "convert/safetensors.h"
#include "gguf/writer.h"

typedef struct og_cv {
    const char *dir;      /* the Hugging Face folder */
    json_t *config;       /* config.json */
    og_st_file *st;       /* model.safetensors */
    og_gguf_writer *w;
    og_convert_type type;
    const og_convert_params *params;
    og_error *err;
    int64_t n_done;       /* source tensors handled, for progress */
    const void *arch;     /* the architecture's own state, for its map function */
} og_cv;

/* What one source tensor becomes. */
typedef struct og_cv_target {
    bool skip;              /* not needed in GGUF (llama.cpp drops it too) */
    char name[96];          /* the GGUF name */
    int32_t permute_heads;  /* > 0: reorder rows as llama.cpp does for RoPE in Q/K */
} og_cv_target;

/* Maps a source tensor name; returns false when the name is unknown. */
typedef bool (*og_cv_map_fn)(og_cv *cv, const char *hf_name, og_cv_target *out);

/* Loads dir/file as JSON. A missing optional file gives OG_OK and NULL;
 * a missing required one or bad JSON gives an error naming the file. */
/* Opens path for reading if it is a regular file (a FIFO or a folder is an
 * error, never waited on). *out is NULL, with OG_OK, when the file does not
 * exist and is not required. The caller fcloses *out. */
og_status og_convert_open(const char *path, bool required, FILE **out, og_error *err);
og_status og_convert_json_load(const char *dir, const char *file, bool required, json_t **out, og_error *err);

/* An integer of config.json: required (error naming the key when missing
 * or not a positive integer) or dflt when absent. */
og_status og_convert_cfg_int(og_cv *cv, const char *key, bool required, int64_t dflt, int64_t *out);
/* A number of config.json, or dflt when absent (required = false). */
og_status og_convert_cfg_num(og_cv *cv, const char *key, bool required, double dflt, double *out);

/* general.architecture, general.type, general.name and general.file_type
 * (a failure is recorded in the writer). */
void og_convert_write_general(og_cv *cv, const char *arch);

/* The GGUF tensors an architecture cannot load without: names of the
 * whole model (NULL-ended) and, per layer, "blk.N." + each of layer
 * (NULL-ended) for N in [0, n_layer). */
typedef struct og_cv_required {
    const char *const *global;
    const char *const *layer;
    int64_t n_layer;
} og_cv_required;

/* Converts every tensor of the checkpoint through map, in file order,
 * reporting progress. An unmapped name is an error naming it. First,
 * before anything is converted, every tensor of required must be what
 * some checkpoint tensor maps to: else an error naming the first missing
 * one (a checkpoint without weights would otherwise become a tokenizer-
 * only GGUF that no command can run). */
og_status og_convert_tensors(og_cv *cv, og_cv_map_fn map, const og_cv_required *required);

/* The tokenizer of the folder as llama.cpp writes it: WordPiece ("bert",
 * from tokenizer.json or vocab.txt), byte-level BPE ("gpt2", from
 * tokenizer.json) or SentencePiece ("llama", from tokenizer.model);
 * n_vocab_config is config.json's vocab_size (0: none). */
og_status og_convert_vocab_wpm(og_cv *cv, int64_t n_vocab_config);
og_status og_convert_vocab_bpe(og_cv *cv, int64_t n_vocab_config);
og_status og_convert_vocab_spm(og_cv *cv, int64_t n_vocab_config);

og_status og_convert_bert(og_cv *cv, bool classifier);
og_status og_convert_llama(og_cv *cv);

#endif
