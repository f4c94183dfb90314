/*
 * test_docs_citations.c - the streaming citation check of docs ask: real
 * markers pass and are recorded, invented ones are dropped, other
 * brackets are text, and the result does not depend on how the text is
 * cut into pieces as it streams. Then the support check (support.c): a
 * citation of an excerpt that does not hold the text before it is
 * re-pointed to the one that plainly does, and an uncited answer is
 * attributed to its best-supporting excerpt.
 */
#include <string.h>

#include "docs/citations.h"
#include "docs/support.h"
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
    og_cite_init(&f, n_excerpts, keep, NULL, &s);
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

/* Excerpts about gnuplot's pause command and a stream's objectMode. */
static const og_docs_hit hits[3] = {
    { .text = "The pause command displays its text and then sleeps for a time." },
    { .text = "pause -1 will wait until a carriage return is hit. Especially useful in conjunction with load files." },
    { .text = "In objectMode the highWaterMark specifies a total number of objects." },
};

static void check_support(void)
{
    int32_t shared[3];
    const char *a = "The pause -1 command waits until a carriage return is hit, useful with load files.";
    /* distinct words of four letters or more: pause command waits until carriage return useful with load files */
    CHECK(og_docs_support(a, strlen(a), hits, 3, shared) == 10, "distinct words");
    CHECK(shared[0] == 2 && shared[1] == 8 && shared[2] == 0, "shared %d %d %d", shared[0], shared[1], shared[2]);
    /* [1] shares 2 words (pause command), [2] shares 8 > 2 * 2: re-pointed */
    CHECK(og_docs_recheck(a, strlen(a), 1, hits, 3) == 2, "re-pointed to [2]");
    CHECK(og_docs_recheck(a, strlen(a), 2, hits, 3) == 2, "[2] kept");
    /* an empty span (a second marker right after the first) keeps its number */
    CHECK(og_docs_recheck(a, 0, 3, hits, 3) == 3, "no text: kept");
    /* pause, command, then in [1]; pause, until in [2]: not over twice, kept */
    const char *b = "The pause command is used until then.";
    CHECK(og_docs_recheck(b, strlen(b), 2, hits, 3) == 2, "close support: kept");
    CHECK(og_docs_recheck(a, strlen(a), 9, hits, 3) == 9, "out of range: untouched");
    CHECK(og_docs_attribute(a, hits, 3) == 2, "attributed to [2]");
    CHECK(og_docs_attribute("Nothing here matches at all.", hits, 3) == 0, "nothing attributed");
}

/* A check that re-points every citation to excerpt 2 (the filter's side of it). */
static int32_t to_two(void *user, int32_t *numbers, int32_t count)
{
    (void)user;
    int32_t changed = 0;
    for (int32_t i = 0; i < count; i++)
        changed += numbers[i] != 2, numbers[i] = 2;
    return changed;
}

static void check_repoint_filter(void)
{
    sink s = { .n = 0 };
    og_cite_filter f;
    og_cite_init(&f, 3, keep, to_two, &s);
    const char *in = "A [1, 2] and B [3] and C [7].";
    og_cite_feed(&f, in, strlen(in));
    og_cite_finish(&f);
    CHECK(!strcmp(s.text, "A [2] and B [2] and C ."), "re-pointed: got \"%s\"", s.text);
    CHECK(f.n_repointed == 2 && f.n_invented == 1 && f.cited[2] && !f.cited[1] && !f.cited[3], "counts");
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
    check_support();
    check_repoint_filter();
    return og_test_finish("test_docs_citations");
}
