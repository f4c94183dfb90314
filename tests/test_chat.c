/*
 * test_chat.c - chat template detection and rendering: the exact strings
 * of every style (as llama.cpp's llm_chat_apply_template writes them),
 * SmolLM2's injected system prompt, the truncation contract and errors.
 */
#include "run/chat_template.h"
#include "testlib.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* SmolLM2's template as stored in its GGUF (real newlines). */
static const char smollm2_template[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/* tokenizer.chat_template of shared/models/vocab/ggml-vocab-phi-3.gguf. */
static const char phi3_template[] =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}"
    "{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}"
    "{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\n'}}"
    "{% endif %}{% endfor %}";

/* system + user + assistant + user; the assistant's spaces show which
 * styles trim. */
static const og_chat_message conv[] = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", " Hi there "},
    {"user", "Who are you?"},
};
#define N_CONV (sizeof conv / sizeof conv[0])

static char buf[8192];

/* Renders with and without the generation prompt and compares both. */
static void expect_render(const char *name, og_chat_style style, const char *src,
                          const og_chat_message *msgs, size_t n,
                          const char *body, const char *generation_prompt)
{
    for (int add = 0; add <= 1; add++) {
        char want[4096];
        snprintf(want, sizeof want, "%s%s", body, add ? generation_prompt : "");
        int32_t got = og_chat_render(style, src, msgs, n, add, buf, (int32_t)sizeof buf);
        CHECK(got == (int32_t)strlen(want), "%s add=%d: length %d, want %zu", name, add, got, strlen(want));
        CHECK(strcmp(buf, want) == 0, "%s add=%d:\n got: [%s]\nwant: [%s]", name, add, buf, want);
    }
}

static void test_render_styles(void)
{
    expect_render("chatml", OG_CHAT_CHATML, NULL, conv, N_CONV,
                  "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
                  "<|im_start|>user\nHello<|im_end|>\n"
                  "<|im_start|>assistant\n Hi there <|im_end|>\n"
                  "<|im_start|>user\nWho are you?<|im_end|>\n",
                  "<|im_start|>assistant\n");

    /* Llama 2 has no generation prompt: both renderings end in [/INST]. */
    expect_render("llama2", OG_CHAT_LLAMA2, "{{ '[INST] ' + message['content'] + ' [/INST]' }}", conv, N_CONV,
                  "[INST] You are a helpful assistant\nHello [/INST] Hi there </s>[INST] Who are you? [/INST]", "");
    expect_render("llama2 (no template)", OG_CHAT_LLAMA2, NULL, conv, N_CONV,
                  "[INST] You are a helpful assistant\nHello [/INST] Hi there </s>[INST] Who are you? [/INST]", "");
    expect_render("llama2-sys", OG_CHAT_LLAMA2, "[INST] <<SYS>>\\n' + system_message + '\\n<</SYS>>", conv, N_CONV,
                  "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s>"
                  "[INST] Who are you? [/INST]", "");
    expect_render("llama2-sys-bos", OG_CHAT_LLAMA2, "{{ bos_token + '[INST] ' }} <<SYS>>", conv, N_CONV,
                  "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s>"
                  "<s>[INST] Who are you? [/INST]", "");
    expect_render("llama2-sys-strip", OG_CHAT_LLAMA2, "[INST] {{ content.strip() }} <<SYS>>", conv, N_CONV,
                  "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>"
                  "[INST] Who are you? [/INST]", "");
    expect_render("llama2-sys (by name)", OG_CHAT_LLAMA2, "llama2-sys", conv, N_CONV,
                  "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s>"
                  "[INST] Who are you? [/INST]", "");

    expect_render("llama3", OG_CHAT_LLAMA3, NULL, conv, N_CONV,
                  "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nWho are you?<|eot_id|>",
                  "<|start_header_id|>assistant<|end_header_id|>\n\n");

    /* llama.cpp keeps the system turn for Phi-3 even though the model's own
     * template drops it. */
    expect_render("phi3", OG_CHAT_PHI3, phi3_template, conv, N_CONV,
                  "<|system|>\nYou are a helpful assistant<|end|>\n"
                  "<|user|>\nHello<|end|>\n"
                  "<|assistant|>\n Hi there <|end|>\n"
                  "<|user|>\nWho are you?<|end|>\n",
                  "<|assistant|>\n");

    expect_render("zephyr", OG_CHAT_ZEPHYR, NULL, conv, N_CONV,
                  "<|system|>\nYou are a helpful assistant<|endoftext|>\n"
                  "<|user|>\nHello<|endoftext|>\n"
                  "<|assistant|>\n Hi there <|endoftext|>\n"
                  "<|user|>\nWho are you?<|endoftext|>\n",
                  "<|assistant|>\n");

    /* Gemma merges the system text into the first user turn and calls the
     * assistant "model"; contents are trimmed. */
    expect_render("gemma", OG_CHAT_GEMMA, NULL, conv, N_CONV,
                  "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n"
                  "<start_of_turn>model\nHi there<end_of_turn>\n"
                  "<start_of_turn>user\nWho are you?<end_of_turn>\n",
                  "<start_of_turn>model\n");
    /* ... and a system message with no user turn after it is dropped. */
    const og_chat_message sys_last[] = {{"user", "Hi"}, {"system", " Be brief "}};
    expect_render("gemma system last", OG_CHAT_GEMMA, NULL, sys_last, 2,
                  "<start_of_turn>user\nHi<end_of_turn>\n", "<start_of_turn>model\n");
    const og_chat_message two_sys[] = {{"system", " A "}, {"system", "B"}, {"assistant", "x"}, {"user", "q"}};
    expect_render("gemma two systems", OG_CHAT_GEMMA, NULL, two_sys, 4,
                  "<start_of_turn>model\nx<end_of_turn>\n<start_of_turn>user\nAB\n\nq<end_of_turn>\n",
                  "<start_of_turn>model\n");

    /* No messages: only the generation prompt. */
    expect_render("chatml empty", OG_CHAT_CHATML, smollm2_template, NULL, 0, "", "<|im_start|>assistant\n");
}

static void test_smollm2(void)
{
    CHECK(og_chat_detect(smollm2_template, false) == OG_CHAT_CHATML, "SmolLM2 is ChatML");

    /* A leading system message replaces the default one. */
    expect_render("smollm2 with system", OG_CHAT_CHATML, smollm2_template, conv, N_CONV,
                  "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
                  "<|im_start|>user\nHello<|im_end|>\n"
                  "<|im_start|>assistant\n Hi there <|im_end|>\n"
                  "<|im_start|>user\nWho are you?<|im_end|>\n",
                  "<|im_start|>assistant\n");
    /* Without one, the template's default prompt comes first (this is
     * what transformers renders; llama.cpp's ChatML does not add it). */
    const char *smol_system =
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";
    char want[1024];
    snprintf(want, sizeof want, "%s%s", smol_system,
             "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n Hi there <|im_end|>\n"
             "<|im_start|>user\nWho are you?<|im_end|>\n");
    expect_render("smollm2 default system", OG_CHAT_CHATML, smollm2_template, conv + 1, N_CONV - 1,
                  want, "<|im_start|>assistant\n");

    /* The same template with Jinja-escaped newlines (as in tokenizer_config
     * before JSON decoding) gives the same prompt. */
    const char *escaped =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
        "{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
        "{% endfor %}";
    expect_render("smollm2 escaped", OG_CHAT_CHATML, escaped, conv + 1, 1,
                  "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                  "<|im_start|>user\nHello<|im_end|>\n",
                  "<|im_start|>assistant\n");

    /* A plain ChatML template injects nothing. */
    expect_render("plain chatml", OG_CHAT_CHATML,
                  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}",
                  conv + 1, 1, "<|im_start|>user\nHello<|im_end|>\n", "<|im_start|>assistant\n");
}

/* Pulls tokenizer.chat_template out of a GGUF file's raw bytes: the key is
 * followed by its type (8 = string), a u64 length and the text. */
static char *gguf_chat_template(const char *path)
{
    size_t len = 0;
    char *data = og_test_read_file(path, &len);
    if (!data)
        return NULL;
    static const char key[] = "tokenizer.chat_template";
    char *result = NULL;
    for (size_t i = 0; i + sizeof key - 1 + 12 <= len; i++) {
        if (memcmp(data + i, key, sizeof key - 1) != 0)
            continue;
        const unsigned char *p = (const unsigned char *)data + i + sizeof key - 1;
        uint32_t type = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
        uint64_t n = 0;
        for (int b = 7; b >= 0; b--)
            n = n << 8 | p[4 + b];
        if (type != 8 || n > len - (i + sizeof key - 1 + 12))
            continue;
        result = malloc(n + 1);
        if (result) {
            memcpy(result, p + 12, n);
            result[n] = 0;
        }
        break;
    }
    free(data);
    return result;
}

static void test_detect(void)
{
    CHECK(og_chat_detect(phi3_template, false) == OG_CHAT_PHI3, "Phi-3 literal");
    char *from_file = gguf_chat_template(og_test_path(OG_SHARED_MODELS, "vocab/ggml-vocab-phi-3.gguf"));
    CHECK(from_file != NULL, "tokenizer.chat_template in the Phi-3 vocab");
    if (from_file) {
        CHECK(strcmp(from_file, phi3_template) == 0, "Phi-3 template from the GGUF: [%s]", from_file);
        CHECK(og_chat_detect(from_file, false) == OG_CHAT_PHI3, "Phi-3 from the GGUF");
        free(from_file);
    }

    struct { const char *src; og_chat_style style; } cases[] = {
        {"{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}", OG_CHAT_CHATML},
        {"{{ bos_token }}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}", OG_CHAT_LLAMA2},
        {"[INST] <<SYS>>\\n' + system_message", OG_CHAT_LLAMA2},
        {"{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' %}", OG_CHAT_LLAMA3},
        {"{{'<|' + message['role'] + '|>' + '\\n' + message['content'] + '<|end|>\\n' }}{{ '<|assistant|>\\n' }}", OG_CHAT_PHI3},
        {"{{ '<|user|>\\n' + message['content'] + eos_token }}{{ '<|assistant|>' }}", OG_CHAT_ZEPHYR},
        {"{{ '<|user|>\\n' + message['content'] + '<|endoftext|>' }}", OG_CHAT_ZEPHYR},
        {"{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}", OG_CHAT_GEMMA},
        {"chatml", OG_CHAT_CHATML},
        {"llama3", OG_CHAT_LLAMA3},
        {"gemma", OG_CHAT_GEMMA},
        /* Families offgrid does not render are not guessed at. */
        {"{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}", OG_CHAT_UNKNOWN},
        {"{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}[INST]", OG_CHAT_UNKNOWN},
        {"{{'<|user|>\\n' + content + '\\n'}}{{'<|assistant|>\\n' + content + '</s>'}}", OG_CHAT_UNKNOWN},
        {"{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' }}<|start_header_id|><|end_header_id|>", OG_CHAT_UNKNOWN},
        {"INVALID TEMPLATE", OG_CHAT_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        og_chat_style got = og_chat_detect(cases[i].src, false);
        CHECK(got == cases[i].style, "detect [%s]: %d, want %d", cases[i].src, (int)got, (int)cases[i].style);
    }

    CHECK(og_chat_detect(NULL, true) == OG_CHAT_CHATML, "NULL falls back to ChatML when asked");
    CHECK(og_chat_detect("", true) == OG_CHAT_CHATML, "\"\" falls back to ChatML when asked");
    CHECK(og_chat_detect(NULL, false) == OG_CHAT_UNKNOWN, "NULL without fallback");
    CHECK(og_chat_detect("", false) == OG_CHAT_UNKNOWN, "\"\" without fallback");
    CHECK(og_chat_detect("INVALID TEMPLATE", true) == OG_CHAT_UNKNOWN, "fallback is only for a missing template");
}

static void test_contract(void)
{
    /* Size query: nothing written. */
    int32_t need = og_chat_render(OG_CHAT_CHATML, NULL, conv, N_CONV, true, NULL, 0);
    CHECK(need > 0, "size query: %d", need);
    int32_t full = og_chat_render(OG_CHAT_CHATML, NULL, conv, N_CONV, true, buf, (int32_t)sizeof buf);
    CHECK(full == need && (size_t)full == strlen(buf), "full render %d, query %d", full, need);
    char copy[1024];
    memcpy(copy, buf, (size_t)full + 1);

    /* Truncated: cap-1 bytes and a NUL, same return value. */
    char small[11];
    memset(small, 'x', sizeof small);
    CHECK(og_chat_render(OG_CHAT_CHATML, NULL, conv, N_CONV, true, small, 10) == need, "truncated return");
    CHECK(small[9] == '\0' && memcmp(small, copy, 9) == 0 && small[10] == 'x', "truncated to cap: [%s]", small);

    /* Exactly enough room, and one byte short. */
    char *exact = malloc((size_t)need + 1);
    CHECK(exact != NULL, "malloc");
    if (exact) {
        CHECK(og_chat_render(OG_CHAT_CHATML, NULL, conv, N_CONV, true, exact, need + 1) == need, "exact return");
        CHECK(strcmp(exact, copy) == 0, "exact fit is complete");
        CHECK(og_chat_render(OG_CHAT_CHATML, NULL, conv, N_CONV, true, exact, need) == need, "short return");
        CHECK(strlen(exact) == (size_t)need - 1 && strncmp(exact, copy, (size_t)need - 1) == 0,
              "one byte short drops the last byte");
        free(exact);
    }
    char one[1] = {'x'};
    CHECK(og_chat_render(OG_CHAT_GEMMA, NULL, conv, N_CONV, false, one, 1) > 0 && one[0] == '\0', "cap 1");

    /* Errors. */
    CHECK(og_chat_render(OG_CHAT_UNKNOWN, NULL, conv, N_CONV, true, buf, (int32_t)sizeof buf) == -OG_ERR_UNSUPPORTED,
          "unknown style");
    CHECK(og_chat_render((og_chat_style)99, NULL, conv, N_CONV, true, buf, (int32_t)sizeof buf) == -OG_ERR_UNSUPPORTED,
          "out-of-range style");
    CHECK(og_chat_render(og_chat_detect("INVALID TEMPLATE", false), "INVALID TEMPLATE", conv, N_CONV, true, buf,
                         (int32_t)sizeof buf) < 0, "unknown template renders nothing");
    CHECK(og_chat_render(OG_CHAT_CHATML, NULL, conv, N_CONV, true, buf, -1) == -OG_ERR_ARG, "negative cap");
    CHECK(og_chat_render(OG_CHAT_CHATML, NULL, conv, N_CONV, true, NULL, 5) == -OG_ERR_ARG, "NULL buf with room");
    CHECK(og_chat_render(OG_CHAT_CHATML, NULL, NULL, 2, true, buf, (int32_t)sizeof buf) == -OG_ERR_ARG, "NULL msgs");

    /* NULL role or content render as empty rather than crashing. */
    const og_chat_message holes[] = {{"user", NULL}};
    CHECK(og_chat_render(OG_CHAT_CHATML, NULL, holes, 1, false, buf, (int32_t)sizeof buf) > 0
              && strcmp(buf, "<|im_start|>user\n<|im_end|>\n") == 0, "NULL content: [%s]", buf);
}

int main(void)
{
    test_render_styles();
    test_smollm2();
    test_detect();
    test_contract();
    return og_test_finish("test_chat");
}
