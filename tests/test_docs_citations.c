/*
 * test_docs_citations.c - the streaming citation check of docs ask: real
 * markers pass and are recorded, invented ones are dropped, other
 * brackets are text, and the result does not depend on how the text is
 * cut into pieces as it streams.
 */
#include <string.h>

#include "docs/citations.h"
#include "testlib.h"

typedef struct sink {
    char text[1024];
    size_t n;
} sink;

static void keep(void *user, const char *t, size_t n)
{
    sink *s = user;
    CHECK(s->n + n < sizeof s->text, "output too long");
    memcpy(s->text + s->n, t, n);
    s->n += n;
    s->text[s->n] = 0;
}

/* Feeds text in pieces of step bytes; checks the output and the counts. */
static void check(const char *in, int32_t n_excerpts, const char *want, int32_t want_invented, const char *cited,
                  size_t step)
{
    sink s = { .n = 0 };
    s.text[0] = 0;
    og_cite_filter f;
    og_cite_init(&f, n_excerpts, keep, &s);
    const size_t n = strlen(in);
    for (size_t i = 0; i < n; i += step)
        og_cite_feed(&f, in + i, n - i < step ? n - i : step);
    og_cite_finish(&f);
    CHECK(!strcmp(s.text, want), "\"%s\" by %zu: got \"%s\", want \"%s\"", in, step, s.text, want);
    CHECK(f.n_invented == want_invented, "\"%s\": %d invented, want %d", in, f.n_invented, want_invented);
    for (int32_t i = 1; i <= n_excerpts; i++) {
        bool want_cited = strchr(cited, '0' + i) != NULL;
        CHECK(f.cited[i] == want_cited, "\"%s\": excerpt %d cited %d, want %d", in, i, f.cited[i], want_cited);
    }
}

int main(void)
{
    static const struct {
        const char *in;
        int32_t n;
        const char *want;
        int32_t invented;
        const char *cited;
    } cases[] = {
        { "Paris is the capital [1].", 3, "Paris is the capital [1].", 0, "1" },
        { "A [2][3] and B [9].", 3, "A [2][3] and B .", 1, "23" },
        { "Both [1, 7] say so.", 3, "Both [1] say so.", 1, "1" },
        { "Use x[i] and [note] and [].", 3, "Use x[i] and [note] and [].", 0, "" },
        { "Ends with an open [2", 3, "Ends with an open [2", 0, "" },
        { "[[1]] nested", 2, "[[1]] nested", 0, "1" },
        { "zero [0] counts as invented", 2, "zero  counts as invented", 1, "" },
        { "huge [99999999999] too", 2, "huge  too", 1, "" },
        { "a space first [ 2 ] is text", 2, "a space first [ 2 ] is text", 0, "" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t step = 1; step <= 8; step++)
            check(cases[c].in, cases[c].n, cases[c].want, cases[c].invented, cases[c].cited, step);
    return og_test_finish("test_docs_citations");
}
