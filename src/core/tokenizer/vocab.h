/*
 * vocab.h - the tokenizer of a model, read from GGUF metadata
 * (tokenizer.ggml.*): SentencePiece-style "llama", byte-level BPE "gpt2"
 * with llama.cpp's pre-tokenizer regexes, and WordPiece "bert".
 * Behaviour (special tokens, BOS/EOS, spaces) follows llama.cpp.
 */
#ifndef OG_TOKENIZER_VOCAB_H
#define OG_TOKENIZER_VOCAB_H

#include "offgrid.h"
#include "gguf/gguf.h"

typedef struct og_vocab og_vocab;

/* Builds the vocabulary from g's metadata. The vocab copies what it needs,
 * so g may be closed afterwards. Free with og_vocab_free. */
og_status og_vocab_load(const og_gguf *g, og_vocab **out, og_error *err);
void og_vocab_free(og_vocab *v);

int32_t og_vocab_n_tokens(const og_vocab *v);
og_token og_vocab_bos(const og_vocab *v);      /* -1 when none */
og_token og_vocab_eos(const og_vocab *v);
og_token og_vocab_sep(const og_vocab *v);      /* BERT's [SEP], ends a sequence; -1 when none */
og_token og_vocab_eot(const og_vocab *v);      /* e.g. <|im_end|>, <|eot_id|>, <|end|>; -1 when none */
bool og_vocab_is_eog(const og_vocab *v, og_token t);
/* Whether tokenizing with add_special prepends BOS (add_bos_token). Named
 * apart from offgrid.h's og_model_adds_bos(), which the
 * model layer implements on top of this. */
bool og_vocab_wants_bos(const og_vocab *v);
const char *og_vocab_model_name(const og_vocab *v); /* "llama", "gpt2", "bert" */

/* Same contract as og_tokenize in offgrid.h. */
int32_t og_vocab_tokenize(const og_vocab *v, const char *text, size_t len,
                          og_token *tokens, int32_t max_tokens,
                          bool add_special, bool parse_special);

/* Same contract as og_token_to_piece in offgrid.h. */
int32_t og_vocab_token_to_piece(const og_vocab *v, og_token t, char *buf,
                                int32_t cap, bool special);

/* The id whose text is exactly piece[0..len), or -1. */
og_token og_vocab_find(const og_vocab *v, const char *piece, size_t len);

#endif
