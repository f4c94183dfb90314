/*
 * chat.h - rendering a conversation with a model's chat template.
 *
 * offgrid does not run Jinja: it recognises the template families that
 * matter (ChatML, Llama 2, Llama 3, Phi-3, ...) from the template text,
 * as llama.cpp does, and renders them natively.
 */
#ifndef OG_CHAT_CHAT_H
#define OG_CHAT_CHAT_H

#include "offgrid.h"

typedef enum og_chat_style {
    OG_CHAT_UNKNOWN = 0,
    OG_CHAT_CHATML,
    OG_CHAT_LLAMA2,
    OG_CHAT_LLAMA3,
    OG_CHAT_PHI3,
    OG_CHAT_ZEPHYR,
    OG_CHAT_GEMMA
} og_chat_style;

/* The style a template's source text belongs to; NULL or "" gives ChatML's
 * fallback only when fallback_chatml is true, else OG_CHAT_UNKNOWN. */
og_chat_style og_chat_detect(const char *template_src, bool fallback_chatml);

/* Renders msgs in style (same return contract as og_chat_apply_template).
 * template_src lets a style copy details such as SmolLM2's default
 * system prompt when the template injects one; it may be NULL. */
int32_t og_chat_render(og_chat_style style, const char *template_src,
                       const og_chat_message *msgs, size_t n_msgs,
                       bool add_assistant, char *buf, int32_t cap);

#endif
