/*
 * chunk_sentence.c - the text rules the chunker cuts by (chunk_sentence.h):
 * reading UTF-8, the characters at which WordPiece starts a word (so that
 * the chunker's cuts are token boundaries), and where sentences end, with
 * the common abbreviations, initials and list numbers that do not end one.
 * Pure functions of the text; nothing here allocates.
 */
#include "docs/chunk_sentence.h"

#include <string.h>

uint32_t og_docs_utf8_at(const char *s, size_t n, size_t i, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s + i;
    size_t k;
    uint32_t c;
    *len = 1;
    if (p[0] < 0x80)
        return p[0];
    if ((p[0] & 0xe0) == 0xc0) {
        k = 2;
        c = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        k = 3;
        c = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        k = 4;
        c = p[0] & 0x07;
    } else {
        return 0xfffd;
    }
    if (k > n - i)
        return 0xfffd;
    for (size_t j = 1; j < k; j++) {
        if ((p[j] & 0xc0) != 0x80)
            return 0xfffd;
        c = (c << 6) | (p[j] & 0x3f);
    }
    *len = k;
    return c;
}

size_t og_docs_utf8_before(const char *s, size_t i)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t j = i - 1;
    while (j > 0 && i - j < 4 && (u[j] & 0xc0) == 0x80)
        j--;
    return j;
}

bool og_docs_is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

bool og_docs_is_ideograph(uint32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
           (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

bool og_docs_is_cjk_stop(uint32_t c)
{
    return c == 0x3002 || c == 0xff01 || c == 0xff1f || c == 0xff61 || c == 0xff0e;
}

static bool is_stop(uint32_t c)
{
    return c == '.' || c == '!' || c == '?' || c == 0x2026 || og_docs_is_cjk_stop(c);
}

/* Closing marks a sentence keeps after its stop: "Go!" and (see above.) */
static bool is_closer(uint32_t c)
{
    return c == '"' || c == '\'' || c == ')' || c == ']' || c == 0x00bb || c == 0x2019 || c == 0x201d ||
           c == 0x300d || c == 0x300f || c == 0xff09 || c == 0x3011;
}

/* Lowercase words before a '.' that does not end a sentence. */
static const char *const ABBREVIATIONS[] = {
    "e.g", "i.e", "cf", "vs", "viz", "al", "approx", "ca", "dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr",
    "fig", "figs", "eq", "eqs", "ref", "refs", "sec", "ch", "vol", "no", "nos", "p", "pp", "inc", "ltd", "co",
    "corp", "dept", "est", "u.s", "u.k", "resp", "ibid", "op", "rev", "gen", "gov", "ed", "eds", "min", "max",
};

/* Whether the '.' at byte dot ends the word before it as an abbreviation,
 * an initial ("J. Smith") or a list number at the start of a line ("2."). */
static bool dot_continues(const char *s, size_t from, size_t dot)
{
    size_t ws = dot, len;
    while (ws > from && dot - ws <= 12) { /* longer words are no abbreviation */
        size_t j = og_docs_utf8_before(s, ws);
        if (og_docs_is_space(og_docs_utf8_at(s, dot, j, &len)))
            break;
        ws = j;
    }
    while (ws < dot && strchr("(\"'[", s[ws])) /* an opening mark is not the word */
        ws++;
    size_t n = dot - ws;
    if (n == 0 || n > 8)
        return false;
    char w[16];
    bool digits = true;
    for (size_t i = 0; i < n; i++) {
        char ch = s[ws + i];
        digits = digits && ch >= '0' && ch <= '9';
        w[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    w[n] = '\0';
    if (n == 1 && w[0] >= 'a' && w[0] <= 'z')
        return true;
    if (digits) { /* "1." numbers a list only at the start of a line */
        size_t k = ws;
        while (k > from && (s[k - 1] == ' ' || s[k - 1] == '\t'))
            k--;
        return n <= 3 && (k == from || s[k - 1] == '\n');
    }
    for (size_t i = 0; i < sizeof ABBREVIATIONS / sizeof *ABBREVIATIONS; i++)
        if (!strcmp(w, ABBREVIATIONS[i]))
            return true;
    return false;
}

/* Whether the stops [stop, after) end the sentence that began at start
 * (see og_docs_sentence_end). */
static bool ends_sentence(const char *s, size_t start, size_t stop, size_t after, size_t be, bool only_dot)
{
    size_t i = after, len;
    if (i >= be)
        return true;
    if (!og_docs_is_space(og_docs_utf8_at(s, be, i, &len)))
        return false;
    while (i < be && og_docs_is_space(og_docs_utf8_at(s, be, i, &len)))
        i += len;
    if (i < be && s[i] >= 'a' && s[i] <= 'z') /* "Is it... really?" */
        return false;
    return !(only_dot && s[stop] == '.' && dot_continues(s, start, stop));
}

size_t og_docs_sentence_end(const char *s, size_t start, size_t be)
{
    size_t i = start, len;
    while (i < be) {
        uint32_t ch = og_docs_utf8_at(s, be, i, &len);
        if (!is_stop(ch)) {
            i += len;
            continue;
        }
        size_t stop = i;
        bool cjk = false, only_dot = true;
        while (i < be) { /* the run of stops and closing marks */
            ch = og_docs_utf8_at(s, be, i, &len);
            if (!is_stop(ch) && !is_closer(ch))
                break;
            cjk = cjk || og_docs_is_cjk_stop(ch);
            only_dot = only_dot && (ch == '.' ? i == stop : !is_stop(ch));
            i += len;
        }
        if (cjk || ends_sentence(s, start, stop, i, be, only_dot))
            return i;
    }
    return be;
}
