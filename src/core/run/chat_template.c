/*
 * chat.c - recognising a chat template family from its Jinja source and
 * rendering a conversation in that family's format.
 *
 * Owns og_chat_detect and og_chat_render (see chat.h). Detection follows
 * the order of llama.cpp's llm_chat_detect_template, so a template that
 * llama.cpp would give to a family offgrid does not render (Phi-4,
 * Mistral v1/v3/v7, Falcon 3, ChatGLM, Command-R, ...) is reported as
 * unknown rather than mis-rendered by a later, looser rule. The rendered
 * strings are those of llama.cpp's llm_chat_apply_template, plus one
 * addition: a ChatML template that injects a default system prompt
 * (SmolLM2) gets it, as Hugging Face's transformers renders it.
 */
#include "run/chat_template.h"
#include "model/model.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ detection */

static bool contains(const char *haystack, const char *needle)
{
    return strstr(haystack, needle) != NULL;
}

/* The Llama 2 family has variants that only change small details; they
 * are all OG_CHAT_LLAMA2 and re-derived from the template when rendering. */
typedef struct llama2_variant {
    bool system_tags;     /* <<SYS>> ... <</SYS>> around the system message */
    bool bos_in_history;  /* "<s>" before every [INST] but the first */
    bool strip;           /* contents are trimmed */
} llama2_variant;

static llama2_variant llama2_variant_of(const char *src)
{
    llama2_variant v = {false, false, false};
    if (!src)
        return v;
    /* llama.cpp's names for the variants, accepted as template text. */
    if (strcmp(src, "llama2-sys") == 0) {
        v.system_tags = true;
    } else if (strcmp(src, "llama2-sys-bos") == 0) {
        v.system_tags = v.bos_in_history = true;
    } else if (strcmp(src, "llama2-sys-strip") == 0) {
        v.system_tags = v.strip = true;
    } else if (contains(src, "content.strip()")) {
        v.system_tags = v.strip = true;
    } else if (contains(src, "bos_token + '[INST]")) {
        v.system_tags = v.bos_in_history = true;
    } else if (contains(src, "<<SYS>>")) {
        v.system_tags = true;
    }
    return v;
}

static og_chat_style style_from_name(const char *name)
{
    static const struct { const char *name; og_chat_style style; } names[] = {
        {"chatml", OG_CHAT_CHATML},
        {"llama2", OG_CHAT_LLAMA2},
        {"llama2-sys", OG_CHAT_LLAMA2},
        {"llama2-sys-bos", OG_CHAT_LLAMA2},
        {"llama2-sys-strip", OG_CHAT_LLAMA2},
        {"llama3", OG_CHAT_LLAMA3},
        {"phi3", OG_CHAT_PHI3},
        {"zephyr", OG_CHAT_ZEPHYR},
        {"gemma", OG_CHAT_GEMMA},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0)
            return names[i].style;
    return OG_CHAT_UNKNOWN;
}

og_chat_style og_chat_detect(const char *src, bool fallback_chatml)
{
    if (!src || !*src)
        return fallback_chatml ? OG_CHAT_CHATML : OG_CHAT_UNKNOWN;
    og_chat_style named = style_from_name(src);
    if (named != OG_CHAT_UNKNOWN)
        return named;

    if (contains(src, "<|im_start|>")) {
        /* Phi-4 (<|im_sep|>) and SmolVLM (<end_of_utterance>) reuse the
         * ChatML markers but are formatted differently. */
        if (contains(src, "<|im_sep|>") || contains(src, "<end_of_utterance>"))
            return OG_CHAT_UNKNOWN;
        return OG_CHAT_CHATML;
    }
    if (strncmp(src, "mistral", 7) == 0 || contains(src, "[INST]")) {
        /* Mistral's own v1/v3/v7 templates place spaces and the system
         * message differently from Llama 2. */
        if (contains(src, "[SYSTEM_PROMPT]") || contains(src, "' [INST] ' + system_message")
            || contains(src, "[AVAILABLE_TOOLS]"))
            return OG_CHAT_UNKNOWN;
        return OG_CHAT_LLAMA2;
    }
    if (contains(src, "<|assistant|>") && contains(src, "<|end|>"))
        return OG_CHAT_PHI3;
    if (contains(src, "[gMASK]<sop>"))
        return OG_CHAT_UNKNOWN; /* ChatGLM 4 */
    if (contains(src, "<|user|>")) {
        /* Zephyr ends every turn with an end-of-text token, literal or
         * eos_token. llama.cpp gives other <|user|>/<|assistant|>
         * templates to Falcon 3 ("</s>") or GLM-Edge, which end turns
         * differently. */
        if (!contains(src, "</s>") && (contains(src, "<|endoftext|>") || contains(src, "eos_token")))
            return OG_CHAT_ZEPHYR;
        if (contains(src, "<|assistant|>"))
            return OG_CHAT_UNKNOWN;
    }
    if (contains(src, "bos_token + message['role']"))
        return OG_CHAT_UNKNOWN; /* Monarch */
    if (contains(src, "<start_of_turn>"))
        return OG_CHAT_GEMMA;
    /* Families llama.cpp tests before Llama 3 whose templates could also
     * mention Llama 3's markers. */
    if (contains(src, "'\\n\\nAssistant: ' + eos_token") || contains(src, "GPT4 Correct ")
        || (contains(src, "USER: ") && contains(src, "ASSISTANT: "))
        || (contains(src, "### Instruction:") && contains(src, "<|EOT|>"))
        || (contains(src, "<|START_OF_TURN_TOKEN|>") && contains(src, "<|USER_TOKEN|>")))
        return OG_CHAT_UNKNOWN;
    if (contains(src, "<|start_header_id|>") && contains(src, "<|end_header_id|>"))
        return OG_CHAT_LLAMA3;
    return OG_CHAT_UNKNOWN;
}

/* ------------------------------------------------------------- rendering */

/* Appends to a caller's buffer, counting what did not fit so the caller
 * learns the full length. */
typedef struct out {
    char *buf;
    size_t cap;  /* usable bytes, excluding the NUL */
    size_t len;  /* bytes the full rendering needs */
} out;

static void put_n(out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void put(out *o, const char *s)
{
    put_n(o, s, strlen(s));
}

/* Like llama.cpp's trim: ASCII whitespace off both ends. */
static void put_trimmed(out *o, const char *s)
{
    size_t start = 0, end = strlen(s);
    while (start < end && isspace((unsigned char)s[start]))
        start++;
    while (end > start && isspace((unsigned char)s[end - 1]))
        end--;
    put_n(o, s + start, end - start);
}

static const char *text_of(const char *s)
{
    return s ? s : "";
}

static bool is_role(const og_chat_message *m, const char *role)
{
    return strcmp(text_of(m->role), role) == 0;
}

/* The text of a '<|im_start|>system\n...<|im_end|>' literal that starts
 * in [from, to), or NULL. The newline may be a real one (GGUF) or a Jinja
 * "\n" escape. */
static const char *system_literal(const char *from, const char *to, size_t *len)
{
    const char *open = strstr(from, "<|im_start|>system");
    if (!open || open >= to)
        return NULL;
    open += strlen("<|im_start|>system");
    if (*open == '\n')
        open += 1;
    else if (open[0] == '\\' && open[1] == 'n')
        open += 2;
    else
        return NULL;
    const char *close = strstr(open, "<|im_end|>");
    if (!close || close > to)
        return NULL;
    *len = (size_t)(close - open);
    return open;
}

/* Some ChatML templates start the conversation with their own system
 * prompt when the caller gave none. SmolLM2's:
 *   {% if loop.first and messages[0]['role'] != 'system' %}
 *   {{ '<|im_start|>system\n...<|im_end|>\n' }}{% endif %}
 * Qwen2.5's (the else branch; an earlier test of the same kind, in its
 * tools branch, holds no whole literal and is passed over):
 *   {%- if messages[0]['role'] == 'system' %} ... {%- else %}
 *   {{- '<|im_start|>system\nYou are Qwen, ...<|im_end|>\n' }} {%- endif %}
 * Finds that prompt's text in src; returns false when there is none. */
static bool find_default_system(const char *src, const char **text, size_t *len)
{
    if (!src)
        return false;
    static const char *const not_system[] = {
        "loop.first and messages[0]['role'] != 'system'",
        "loop.first and messages[0][\"role\"] != \"system\"",
    };
    for (size_t i = 0; i < 2; i++) {
        const char *guard = strstr(src, not_system[i]);
        const char *block_end = guard ? strstr(guard, "endif") : NULL;
        if (block_end && (*text = system_literal(guard, block_end, len)))
            return true;
    }
    static const char *const is_system[] = {
        "messages[0]['role'] == 'system'",
        "messages[0][\"role\"] == \"system\"",
    };
    for (size_t i = 0; i < 2; i++)
        for (const char *guard = strstr(src, is_system[i]); guard; guard = strstr(guard + 1, is_system[i])) {
            const char *branch = strstr(guard, "else");
            const char *block_end = branch ? strstr(branch, "endif") : NULL;
            const char *next_if = strstr(guard + 1, "if ");
            if (!block_end || (next_if && next_if < branch))
                continue; /* no else of its own before another test */
            if ((*text = system_literal(branch, block_end, len)))
                return true;
        }
    return false;
}

/* Writes the prompt text, undoing the Jinja escapes a quoted string may
 * hold (\n, \', \", \\) when the template keeps them escaped. */
static void put_unescaped(out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char next = s[i + 1];
            if (next == 'n' || next == '\'' || next == '"' || next == '\\') {
                put_n(o, next == 'n' ? "\n" : &s[i + 1], 1);
                i++;
                continue;
            }
        }
        put_n(o, &s[i], 1);
    }
}

static void render_chatml(out *o, const char *src, const og_chat_message *msgs, size_t n, bool add_assistant)
{
    const char *sys_text;
    size_t sys_len;
    if (n > 0 && !is_role(&msgs[0], "system") && find_default_system(src, &sys_text, &sys_len)) {
        put(o, "<|im_start|>system\n");
        put_unescaped(o, sys_text, sys_len);
        put(o, "<|im_end|>\n");
    }
    for (size_t i = 0; i < n; i++) {
        put(o, "<|im_start|>");
        put(o, text_of(msgs[i].role));
        put(o, "\n");
        put(o, text_of(msgs[i].content));
        put(o, "<|im_end|>\n");
    }
    if (add_assistant)
        put(o, "<|im_start|>assistant\n");
}

/* Llama 2 has no generation prompt: the text already ends in [/INST]
 * after a user turn, so add_assistant changes nothing (as in llama.cpp). */
static void render_llama2(out *o, const char *src, const og_chat_message *msgs, size_t n)
{
    llama2_variant v = llama2_variant_of(src);
    void (*put_content)(out *, const char *) = v.strip ? put_trimmed : put;
    bool inside_turn = true; /* the first [INST] is written up front */
    put(o, "[INST] ");
    for (size_t i = 0; i < n; i++) {
        const char *content = text_of(msgs[i].content);
        if (!inside_turn) {
            inside_turn = true;
            put(o, v.bos_in_history ? "<s>[INST] " : "[INST] ");
        }
        if (is_role(&msgs[i], "system")) {
            if (v.system_tags) {
                put(o, "<<SYS>>\n");
                put_content(o, content);
                put(o, "\n<</SYS>>\n\n");
            } else {
                /* No system slot: the text leads the first instruction. */
                put_content(o, content);
                put(o, "\n");
            }
        } else if (is_role(&msgs[i], "user")) {
            put_content(o, content);
            put(o, " [/INST]");
        } else {
            put_content(o, content);
            put(o, "</s>");
            inside_turn = false;
        }
    }
}

static void render_llama3(out *o, const og_chat_message *msgs, size_t n, bool add_assistant)
{
    for (size_t i = 0; i < n; i++) {
        put(o, "<|start_header_id|>");
        put(o, text_of(msgs[i].role));
        put(o, "<|end_header_id|>\n\n");
        put_trimmed(o, text_of(msgs[i].content));
        put(o, "<|eot_id|>");
    }
    if (add_assistant)
        put(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* Phi-3 and Zephyr share a shape and differ in the end-of-turn marker. */
static void render_role_tags(out *o, const og_chat_message *msgs, size_t n, bool add_assistant,
                             const char *end_of_turn)
{
    for (size_t i = 0; i < n; i++) {
        put(o, "<|");
        put(o, text_of(msgs[i].role));
        put(o, "|>\n");
        put(o, text_of(msgs[i].content));
        put(o, end_of_turn);
    }
    if (add_assistant)
        put(o, "<|assistant|>\n");
}

/* Gemma has no system role: system text is merged (trimmed) into the next
 * user turn, and "assistant" is called "model". */
static void render_gemma(out *o, const og_chat_message *msgs, size_t n, bool add_assistant)
{
    size_t pending_system = SIZE_MAX; /* first unmerged system message */
    for (size_t i = 0; i < n; i++) {
        if (is_role(&msgs[i], "system")) {
            if (pending_system == SIZE_MAX)
                pending_system = i;
            continue;
        }
        bool is_model = is_role(&msgs[i], "assistant");
        put(o, "<start_of_turn>");
        put(o, is_model ? "model" : text_of(msgs[i].role));
        put(o, "\n");
        if (pending_system != SIZE_MAX && !is_model) {
            /* Several system messages are concatenated, as llama.cpp does;
             * one that trims to nothing leaves no merged prefix at all. */
            size_t before = o->len;
            for (size_t j = pending_system; j < i; j++)
                if (is_role(&msgs[j], "system"))
                    put_trimmed(o, text_of(msgs[j].content));
            if (o->len != before)
                put(o, "\n\n");
            pending_system = SIZE_MAX;
        }
        put_trimmed(o, text_of(msgs[i].content));
        put(o, "<end_of_turn>\n");
    }
    if (add_assistant)
        put(o, "<start_of_turn>model\n");
}

int32_t og_chat_render(og_chat_style style, const char *template_src,
                       const og_chat_message *msgs, size_t n_msgs,
                       bool add_assistant, char *buf, int32_t cap)
{
    if (cap < 0 || (cap > 0 && !buf) || (n_msgs > 0 && !msgs))
        return -(int32_t)OG_ERR_ARG;
    out o = {buf, cap > 0 ? (size_t)cap - 1 : 0, 0};
    switch (style) {
    case OG_CHAT_CHATML:
        render_chatml(&o, template_src, msgs, n_msgs, add_assistant);
        break;
    case OG_CHAT_LLAMA2:
        render_llama2(&o, template_src, msgs, n_msgs);
        break;
    case OG_CHAT_LLAMA3:
        render_llama3(&o, msgs, n_msgs, add_assistant);
        break;
    case OG_CHAT_PHI3:
        render_role_tags(&o, msgs, n_msgs, add_assistant, "<|end|>\n");
        break;
    case OG_CHAT_ZEPHYR:
        render_role_tags(&o, msgs, n_msgs, add_assistant, "<|endoftext|>\n");
        break;
    case OG_CHAT_GEMMA:
        render_gemma(&o, msgs, n_msgs, add_assistant);
        break;
    default:
        return -(int32_t)OG_ERR_UNSUPPORTED;
    }
    if (cap > 0)
        buf[o.len < o.cap ? o.len : o.cap] = '\0';
    if (o.len > INT32_MAX)
        return -(int32_t)OG_ERR_NOMEM;
    return (int32_t)o.len;
}

int32_t og_chat_apply_template(const og_model *m, const og_chat_message *msgs, size_t n_msgs, bool add_assistant,
                               char *buf, int32_t cap)
{
    og_chat_style style = og_chat_detect(m->chat_template, true);
    return og_chat_render(style, m->chat_template, msgs, n_msgs, add_assistant, buf, cap);
}
