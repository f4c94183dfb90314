/*
 * pretok.c - the BPE pre-tokenizer: splits text into words before merges,
 * with the regex list llama.cpp picks for each tokenizer.ggml.pre value.
 * Like llama.cpp, the GPT-2 and Llama-3 patterns run as hand-written
 * scanners (their semantics, incl. quirks, decide token ids); the other
 * patterns run on PCRE2 in UTF+UCP mode, with text the regex does not
 * match kept as words of its own (as llama.cpp's std::regex split does).
 */
#include "tokenizer/vocab_internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* llama.cpp's whitespace set, used instead of \s so that PCRE2 agrees with
 * the scanners (PCRE2's \s leaves out U+0085). */
#define WS "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

enum { SPLIT_GPT2 = 1, SPLIT_LLAMA3 = 2 }; /* pseudo-patterns for the scanners */

static const char RX_PUNCT[] = "[\\p{P}\\$\\+<=>\\^~\\|`]+";
static const char RX_DIGIT[] = "\\p{N}";
static const char RX_DIGITS[] = "\\p{N}+";
static const char RX_THREE[] = "[0-9][0-9][0-9]";
static const char RX_QWEN2[] =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+";

typedef struct pattern {
    int scanner;       /* SPLIT_* or 0 for a regex */
    const char *regex;
} pattern;

og_bpe_pre og_bpe_pre_from_name(const char *name, size_t len, bool *known)
{
    static const struct { const char *name; og_bpe_pre pre; } names[] = {
        { "default", OG_PRE_DEFAULT },
        { "llama3", OG_PRE_LLAMA3 }, { "llama-v3", OG_PRE_LLAMA3 }, { "llama-bpe", OG_PRE_LLAMA3 },
        { "falcon3", OG_PRE_LLAMA3 }, { "pixtral", OG_PRE_LLAMA3 }, { "dbrx", OG_PRE_LLAMA3 },
        { "smaug-bpe", OG_PRE_LLAMA3 },
        { "falcon", OG_PRE_FALCON },
        { "starcoder", OG_PRE_STARCODER }, { "refact", OG_PRE_STARCODER }, { "smollm", OG_PRE_STARCODER },
        { "command-r", OG_PRE_STARCODER }, { "codeshell", OG_PRE_STARCODER }, { "exaone", OG_PRE_STARCODER },
        { "minerva-7b", OG_PRE_STARCODER },
        { "gpt-2", OG_PRE_GPT2 }, { "phi-2", OG_PRE_GPT2 }, { "mpt", OG_PRE_GPT2 }, { "olmo", OG_PRE_GPT2 },
        { "jais", OG_PRE_GPT2 }, { "jina-es", OG_PRE_GPT2 }, { "jina-de", OG_PRE_GPT2 },
        { "jina-v2-es", OG_PRE_GPT2 }, { "jina-v2-de", OG_PRE_GPT2 }, { "gigachat", OG_PRE_GPT2 },
        { "qwen2", OG_PRE_QWEN2 }, { "deepseek-r1-qwen", OG_PRE_QWEN2 }, { "stablelm2", OG_PRE_QWEN2 },
        { "megrez", OG_PRE_QWEN2 },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == len && memcmp(names[i].name, name, len) == 0) {
            *known = true;
            return names[i].pre;
        }
    }
    *known = false;
    return OG_PRE_DEFAULT;
}

static int patterns_for(og_bpe_pre pre, pattern *p)
{
    switch (pre) {
    case OG_PRE_LLAMA3:
        p[0] = (pattern){ SPLIT_LLAMA3, NULL };
        return 1;
    case OG_PRE_GPT2:
        p[0] = (pattern){ SPLIT_GPT2, NULL };
        return 1;
    case OG_PRE_STARCODER:
        p[0] = (pattern){ 0, RX_DIGIT };
        p[1] = (pattern){ SPLIT_GPT2, NULL };
        return 2;
    case OG_PRE_QWEN2:
        p[0] = (pattern){ 0, RX_QWEN2 };
        return 1;
    case OG_PRE_FALCON:
        p[0] = (pattern){ 0, RX_PUNCT };
        p[1] = (pattern){ SPLIT_GPT2, NULL };
        p[2] = (pattern){ 0, RX_THREE };
        return 3;
    case OG_PRE_DEFAULT:
        break;
    }
    p[0] = (pattern){ 0, RX_PUNCT };
    p[1] = (pattern){ SPLIT_GPT2, NULL };
    p[2] = (pattern){ 0, RX_DIGITS };
    p[3] = (pattern){ 0, RX_THREE };
    return 4;
}

/* ------------------------------------------------------------ scanners */

typedef struct scan {
    const uint32_t *cpts;
    size_t ini, end, prev_end;
    size_t *out;
    size_t n_out;
} scan;

#define OUT_OF_RANGE 0xffffffffu

static uint32_t cpt_at(const scan *s, size_t pos)
{
    return pos >= s->ini && pos < s->end ? s->cpts[pos] : OUT_OF_RANGE;
}

static uint32_t flags_at(const scan *s, size_t pos)
{
    return og_vocab_cpt_flags(cpt_at(s, pos));
}

/* Ends the current word at end; returns its length. */
static size_t add_word(scan *s, size_t end)
{
    size_t len = end - s->prev_end;
    if (len > 0)
        s->out[s->n_out++] = len;
    s->prev_end = end;
    return len;
}

#define NOT_WLN(f) (!((f) & (OG_CPT_WHITESPACE | OG_CPT_LETTER | OG_CPT_NUMBER)))

/* 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive; returns the length
 * matched at pos or 0. */
static size_t contraction(const scan *s, size_t pos, bool fold)
{
    if (cpt_at(s, pos) != '\'' || pos + 1 >= s->end)
        return 0;
    uint32_t a = cpt_at(s, pos + 1);
    if (fold)
        a = og_vocab_cpt_tolower(a);
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (pos + 2 < s->end) {
        uint32_t b = cpt_at(s, pos + 2);
        if (fold)
            b = og_vocab_cpt_tolower(b);
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
            return 3;
    }
    return 0;
}

/* Trailing whitespace: \s+(?!\S) leaves the last space to the next word
 * unless the run reaches the end; otherwise \s+. */
static void whitespace_run(scan *s, size_t *pos)
{
    size_t n = 0;
    while (flags_at(s, *pos + n) & OG_CPT_WHITESPACE)
        n++;
    if (n > 1 && cpt_at(s, *pos + n) != OUT_OF_RANGE) {
        *pos += n - 1;
        add_word(s, *pos);
    } else if (n > 0) {
        *pos += n;
        add_word(s, *pos);
    } else {
        add_word(s, ++*pos);
    }
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static void scan_gpt2(scan *s)
{
    for (size_t pos = s->ini; pos < s->end;) {
        uint32_t cpt = cpt_at(s, pos);
        size_t c = contraction(s, pos, false);
        if (c) {
            pos += add_word(s, pos + c);
            continue;
        }
        uint32_t f2 = cpt == ' ' ? flags_at(s, pos + 1) : flags_at(s, pos);
        if (f2 & OG_CPT_LETTER) {
            pos += cpt == ' ';
            while (f2 & OG_CPT_LETTER)
                f2 = flags_at(s, ++pos);
            add_word(s, pos);
            continue;
        }
        if (f2 & OG_CPT_NUMBER) {
            pos += cpt == ' ';
            while (f2 & OG_CPT_NUMBER)
                f2 = flags_at(s, ++pos);
            add_word(s, pos);
            continue;
        }
        if (NOT_WLN(f2) && f2) {
            pos += cpt == ' ';
            while (NOT_WLN(f2) && f2)
                f2 = flags_at(s, ++pos);
            add_word(s, pos);
            continue;
        }
        whitespace_run(s, &pos);
    }
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 * | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static void scan_llama3(scan *s)
{
    for (size_t pos = s->ini; pos < s->end;) {
        uint32_t cpt = cpt_at(s, pos);
        uint32_t f = flags_at(s, pos);
        size_t c = contraction(s, pos, true);
        if (c) {
            pos += add_word(s, pos + c);
            continue;
        }
        if (!(cpt == '\r' || cpt == '\n' || (f & OG_CPT_NUMBER)) &&
            ((f & OG_CPT_LETTER) || (flags_at(s, pos + 1) & OG_CPT_LETTER))) {
            pos++;
            while (flags_at(s, pos) & OG_CPT_LETTER)
                pos++;
            add_word(s, pos);
            continue;
        }
        if (f & OG_CPT_NUMBER) {
            size_t ini = pos;
            while (flags_at(s, pos) & OG_CPT_NUMBER) {
                if (++pos - ini >= 3) {
                    add_word(s, pos);
                    ini = pos;
                }
            }
            add_word(s, pos);
            continue;
        }
        uint32_t f2 = cpt == ' ' ? flags_at(s, pos + 1) : f;
        /* llama.cpp tests f (not f2) for "is a codepoint" here. */
        if (NOT_WLN(f2) && f) {
            pos += cpt == ' ';
            while (NOT_WLN(f2) && f2)
                f2 = flags_at(s, ++pos);
            uint32_t c2 = cpt_at(s, pos);
            while (c2 == '\r' || c2 == '\n')
                c2 = cpt_at(s, ++pos);
            add_word(s, pos);
            continue;
        }
        size_t n = 0, last_rn = 0;
        while (flags_at(s, pos + n) & OG_CPT_WHITESPACE) {
            uint32_t c2 = cpt_at(s, pos + n);
            if (c2 == '\r' || c2 == '\n')
                last_rn = pos + n + 1;
            n++;
        }
        if (last_rn > 0) {
            pos = last_rn;
            add_word(s, pos);
            continue;
        }
        whitespace_run(s, &pos);
    }
}

/* -------------------------------------------------------------- regexes */

typedef struct subject {
    char *utf8;        /* the text re-encoded, for PCRE2 */
    size_t *byte_of;   /* byte offset of each codepoint (n + 1 entries) */
} subject;

static bool make_subject(const uint32_t *cpts, size_t n, subject *sj)
{
    sj->utf8 = malloc(n * 4 + 1);
    sj->byte_of = malloc((n + 1) * sizeof *sj->byte_of);
    if (!sj->utf8 || !sj->byte_of)
        return false;
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        sj->byte_of[i] = b;
        uint32_t c = cpts[i];
        if (c >= 0xd800 && c <= 0xdfff)
            c = 0xfffd; /* PCRE2 rejects surrogates; same length and class */
        b += og_vocab_utf8_encode(c, sj->utf8 + b);
    }
    sj->byte_of[n] = b;
    return true;
}

/* Codepoint index of byte offset b (b is always a boundary). */
static size_t cpt_index(const subject *sj, size_t lo, size_t hi, size_t b)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sj->byte_of[mid] < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Splits codepoints [ini, end) at the matches of re; unmatched stretches
 * become words too. */
static bool split_regex(pcre2_code *re, pcre2_match_data *md, const subject *sj,
                        size_t ini, size_t end, scan *s)
{
    /* The word is its own subject: lookaheads must not see past it. */
    const char *base = sj->utf8 + sj->byte_of[ini];
    size_t blen = sj->byte_of[end] - sj->byte_of[ini];
    size_t at = 0;
    bool ok = true;
    while (at < blen) {
        /* The subject is valid UTF-8 by construction; checking it again on
         * every call would make splitting quadratic. */
        int rc = pcre2_match(re, (PCRE2_SPTR)base, blen, at, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            ok = false;
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) { /* an empty match: step over one codepoint */
            size_t ci = cpt_index(sj, ini, end, sj->byte_of[ini] + ms);
            at = sj->byte_of[ci + 1] - sj->byte_of[ini];
            continue;
        }
        add_word(s, cpt_index(sj, ini, end, sj->byte_of[ini] + ms));
        add_word(s, cpt_index(sj, ini, end, sj->byte_of[ini] + me));
        at = me;
    }
    add_word(s, end);
    return ok;
}

bool og_bpe_pretokenize(og_bpe_pre pre, const char *text, size_t len,
                        uint32_t **cpts_out, size_t *n_cpts, size_t **offs_out, size_t *n_offs)
{
    pattern pats[4];
    int n_pats = patterns_for(pre, pats);
    size_t n = 0;
    uint32_t *cpts = og_vocab_utf8_decode(text, len, &n);
    /* Each split yields at most one word per codepoint. */
    size_t *offs = malloc((n + 1) * sizeof *offs);
    size_t *next = malloc((n + 1) * sizeof *next);
    subject sj = { 0 };
    bool need_subject = false;
    for (int i = 0; i < n_pats; i++)
        need_subject |= pats[i].scanner == 0;
    bool ok = cpts && offs && next && (!need_subject || make_subject(cpts, n, &sj));
    size_t n_off = 0;
    if (ok && n > 0)
        offs[n_off++] = n;

    for (int p = 0; ok && p < n_pats; p++) {
        scan s = { cpts, 0, 0, 0, next, 0 };
        pcre2_code *re = NULL;
        pcre2_match_data *md = NULL;
        if (!pats[p].scanner) {
            int errcode;
            PCRE2_SIZE erroff;
            re = pcre2_compile((PCRE2_SPTR)pats[p].regex, PCRE2_ZERO_TERMINATED,
                               PCRE2_UTF | PCRE2_UCP, &errcode, &erroff, NULL);
            md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
            ok = md != NULL;
        }
        size_t start = 0;
        for (size_t w = 0; ok && w < n_off; w++) {
            s.ini = s.prev_end = start;
            s.end = start + offs[w];
            if (pats[p].scanner == SPLIT_GPT2)
                scan_gpt2(&s);
            else if (pats[p].scanner == SPLIT_LLAMA3)
                scan_llama3(&s);
            else
                ok = split_regex(re, md, &sj, s.ini, s.end, &s);
            start = s.end;
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        size_t *t = offs;
        offs = next;
        next = t;
        n_off = s.n_out;
    }
    free(next);
    free(sj.utf8);
    free(sj.byte_of);
    if (!ok) {
        free(cpts);
        free(offs);
        return false;
    }
    *cpts_out = cpts;
    *n_cpts = n;
    *offs_out = offs;
    *n_offs = n_off;
    return true;
}
