/*
 * vocab_internal.h - what the tokenizer's files share: the og_vocab
 * structure, token attributes, a bigram heap, the
 * codepoint helpers and the per-algorithm entry points. Not public.
 */
#ifndef OG_TOKENIZER_VOCAB_INTERNAL_H
#define OG_TOKENIZER_VOCAB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hashmap.h"
#include "tokenizer/vocab.h"

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum { OG_TT_UNDEFINED = 0, OG_TT_NORMAL = 1, OG_TT_UNKNOWN = 2, OG_TT_CONTROL = 3,
       OG_TT_USER_DEFINED = 4, OG_TT_UNUSED = 5, OG_TT_BYTE = 6 };

/* Token attribute bits (llama.cpp's llama_token_attr). */
enum {
    OG_ATTR_UNKNOWN = 1 << 0, OG_ATTR_UNUSED = 1 << 1, OG_ATTR_NORMAL = 1 << 2,
    OG_ATTR_CONTROL = 1 << 3, OG_ATTR_USER_DEFINED = 1 << 4, OG_ATTR_BYTE = 1 << 5,
    OG_ATTR_LSTRIP = 1 << 7, OG_ATTR_RSTRIP = 1 << 8
};

typedef enum og_vocab_kind { OG_VOCAB_SPM, OG_VOCAB_BPE, OG_VOCAB_WPM } og_vocab_kind;

/* The pre-tokenizer families of llama.cpp we implement (tokenizer.ggml.pre). */
typedef enum og_bpe_pre {
    OG_PRE_DEFAULT, OG_PRE_GPT2, OG_PRE_LLAMA3, OG_PRE_STARCODER, OG_PRE_QWEN2, OG_PRE_FALCON
} og_bpe_pre;

typedef struct og_token_data {
    const char *text; /* into the vocab's arena, NUL-terminated */
    uint32_t len;
    float score;
    uint32_t attr;
} og_token_data;

struct og_vocab {
    og_vocab_kind kind;
    og_bpe_pre pre;
    int32_t n_tokens;
    og_token_data *tokens;
    char *arena;             /* all token texts, then the merge keys */
    og_hashmap piece_to_id;  /* keys point into the arena */
    og_hashmap merge_rank;   /* "left\0right" -> rank (BPE only) */
    int32_t max_token_len;   /* bytes, for WordPiece's longest match */

    og_token bos, eos, eot, eom, unk, sep, pad, mask;
    bool add_bos, add_eos, add_space_prefix, ignore_merges;

    og_token *eog;           /* sorted ids that end generation */
    int32_t n_eog;
    og_token *special;       /* control/user-defined/unknown ids, longest text first */
    int32_t n_special;
};

/* ---- a growable token list; og_vocab_toks_push returns false on OOM ---- */
typedef struct og_toks {
    og_token *ids;
    size_t n, cap;
    bool oom;
} og_toks;

bool og_vocab_toks_push(og_toks *t, og_token id);

/* ---- max-heap of candidate merges: higher prio first, then smaller left ---- */
typedef struct og_bigram {
    double prio;
    int32_t left, right;
    uint32_t size;
} og_bigram;

typedef struct og_heap {
    og_bigram *v;
    size_t n, cap;
} og_heap;

bool og_vocab_heap_push(og_heap *h, og_bigram b);
bool og_vocab_heap_pop(og_heap *h, og_bigram *out);

/* A linked symbol over a byte string (llama.cpp's llm_symbol). */
typedef struct og_symbol {
    int32_t prev, next;
    const char *text;
    uint32_t n;
} og_symbol;

/* ---- codepoints (unicode.c) ---- */

/* Category flags as llama.cpp's unicode tables define them. */
enum {
    OG_CPT_UNDEFINED = 1 << 0, OG_CPT_NUMBER = 1 << 1, OG_CPT_LETTER = 1 << 2,
    OG_CPT_SEPARATOR = 1 << 3, OG_CPT_ACCENT_MARK = 1 << 4, OG_CPT_PUNCTUATION = 1 << 5,
    OG_CPT_SYMBOL = 1 << 6, OG_CPT_CONTROL = 1 << 7, OG_CPT_WHITESPACE = 1 << 8
};

/* Bytes of the UTF-8 sequence led by c, from its high nibble (llama.cpp's
 * unicode_len_utf8: continuation bytes count as 1). */
size_t og_vocab_utf8_len(unsigned char c);
/* Decodes text into codepoints the way llama.cpp does (an invalid sequence
 * gives U+FFFD and skips one byte). *out is malloc'd; NULL on OOM. */
uint32_t *og_vocab_utf8_decode(const char *text, size_t len, size_t *n_out);
/* Writes cpt as UTF-8 into buf (>= 4 bytes), returns the byte count. */
size_t og_vocab_utf8_encode(uint32_t cpt, char *buf);
/* Category flags of cpt; 0 for the out-of-range marker 0xFFFFFFFF. */
uint32_t og_vocab_cpt_flags(uint32_t cpt);
uint32_t og_vocab_cpt_tolower(uint32_t cpt);
/* cpt's canonical decomposition (NFD, Hangul syllables into jamo) without
 * its nonspacing marks (category Mn): what BERT's normalizer keeps of a
 * character. Writes at most OG_NFD_MAX codepoints, returns how many (0 for
 * a lone combining mark). */
enum { OG_NFD_MAX = 32 };
size_t og_vocab_cpt_strip_accents(uint32_t cpt, uint32_t out[OG_NFD_MAX]);
/* GPT-2's byte <-> unicode mapping: writes the UTF-8 of byte b's
 * character (1-2 bytes) and returns its length; the byte of a codepoint
 * is -1 when the codepoint is not in the map. */
size_t og_vocab_byte_to_utf8(uint8_t b, char *out);
int og_vocab_cpt_to_byte(uint32_t cpt);

/* ---- algorithms ---- */
bool og_spm_tokenize(const og_vocab *v, const char *text, size_t len, og_toks *out);
bool og_bpe_tokenize(const og_vocab *v, const char *text, size_t len, og_toks *out);
bool og_wpm_tokenize(const og_vocab *v, const char *text, size_t len, og_toks *out);
og_token og_spm_byte_to_token(const og_vocab *v, uint8_t byte);

/* Splits text into BPE pre-tokenizer words: *offs gets codepoint counts of
 * consecutive words over *cpts (both malloc'd). false on OOM. */
bool og_bpe_pretokenize(og_bpe_pre pre, const char *text, size_t len,
                        uint32_t **cpts, size_t *n_cpts, size_t **offs, size_t *n_offs);
/* The pre-tokenizer for a tokenizer.ggml.pre value; sets *known. */
og_bpe_pre og_bpe_pre_from_name(const char *name, size_t len, bool *known);

/* Control tokens, merges etc. are found once at load time (special.c). */
bool og_vocab_build_special(og_vocab *v, const char *model_name, size_t model_name_len);

#endif
