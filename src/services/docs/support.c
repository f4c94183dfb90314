/*
 * support.c - word-overlap support of answer text by excerpts
 * (support.h): the check behind attributed and re-pointed citations.
 * Distinct words of four letters or more carry the content ("carriage",
 * "return", "Marquardt"); shorter ones ("the", "is", "of") are shared by
 * any two English texts. Owns nothing.
 */
#include "docs/support.h"

#include <stdbool.h>
#include <strings.h>

#include "docs/citations.h"

static bool word_char(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Whether text holds word w (n bytes) as a whole word, ignoring ASCII case. */
static bool has_word(const char *text, const char *w, size_t n)
{
    for (const char *p = text; *p; p++) {
        if ((p > text && word_char((unsigned char)p[-1])) || strncasecmp(p, w, n) != 0)
            continue;
        if (!word_char((unsigned char)p[n]))
            return true;
    }
    return false;
}

/* Whether the word w (n bytes) occurs as a whole word in text[0..end). */
static bool seen_before(const char *text, const char *end, const char *w, size_t n)
{
    for (const char *q = text; q + n <= end; q++)
        if ((q == text || !word_char((unsigned char)q[-1])) && !strncasecmp(q, w, n) &&
            !word_char((unsigned char)q[n]))
            return true;
    return false;
}

int32_t og_docs_support(const char *text, size_t len, const og_docs_hit *hits, int32_t n, int32_t *shared)
{
    if (n > OG_CITE_MAX_EXCERPTS)
        n = OG_CITE_MAX_EXCERPTS;
    for (int32_t i = 0; i < n; i++)
        shared[i] = 0;
    int32_t n_words = 0;
    const char *end = text + len;
    for (const char *p = text; p < end;) {
        while (p < end && !word_char((unsigned char)*p))
            p++;
        const char *w = p;
        while (p < end && word_char((unsigned char)*p))
            p++;
        const size_t wlen = (size_t)(p - w);
        if (wlen < 4 || wlen > 64 || seen_before(text, w, w, wlen))
            continue;
        n_words++;
        for (int32_t i = 0; i < n; i++)
            shared[i] += has_word(hits[i].text, w, wlen);
    }
    return n_words;
}

/* The 0-based index of the largest count (the first of equals). */
static int32_t best_of(const int32_t *shared, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (shared[i] > shared[best])
            best = i;
    return best;
}

int32_t og_docs_attribute(const char *answer, const og_docs_hit *hits, int32_t n)
{
    int32_t shared[OG_CITE_MAX_EXCERPTS];
    if (n <= 0)
        return 0;
    if (n > OG_CITE_MAX_EXCERPTS)
        n = OG_CITE_MAX_EXCERPTS;
    size_t len = 0;
    while (answer[len])
        len++;
    const int32_t n_words = og_docs_support(answer, len, hits, n, shared);
    const int32_t best = best_of(shared, n);
    return shared[best] >= OG_SUPPORT_MIN_SHARED && 3 * shared[best] >= n_words ? best + 1 : 0;
}

int32_t og_docs_recheck(const char *text, size_t len, int32_t cited, const og_docs_hit *hits, int32_t n)
{
    int32_t shared[OG_CITE_MAX_EXCERPTS];
    if (n > OG_CITE_MAX_EXCERPTS)
        n = OG_CITE_MAX_EXCERPTS;
    if (cited < 1 || cited > n)
        return cited;
    og_docs_support(text, len, hits, n, shared);
    const int32_t best = best_of(shared, n);
    return shared[best] >= OG_SUPPORT_MIN_SHARED && shared[best] > 2 * shared[cited - 1] ? best + 1 : cited;
}
