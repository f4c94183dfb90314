/*
 * test_docs_chunk.c - the documents service's chunker (src/services/docs/
 * chunk.c) on texts built here, counted with all-MiniLM-L6-v2's WordPiece
 * (models/all-MiniLM-L6-v2.f32.gguf; exit 77, skipped, without it). Every
 * chunk must be its page's text at both its code-point and byte spans, fit
 * max_tokens exactly (counted again here), start and end on non-whitespace
 * and stay in its page; together they must cover every non-whitespace
 * character. Also: overlap inside a long section and none across headings
 * or pages, heading paths, a 2,000-character word cut between characters,
 * CJK sentences cut at 。, abbreviations that do not end sentences,
 * additivity of the counts at the cut points, empty pages, bad parameters.
 * Prints the chunking rate on a long generated text (no bound asserted).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docs/chunk.h"
#include "testlib.h"

#define MODEL_PATH OG_MODELS_DIR "/all-MiniLM-L6-v2.f32.gguf"

static og_model *g_model;

/* ------------------------------------------------------------- builders */

/* A text of n pages; page texts are copied. */
static og_docs_text make_text(const char *const *pages, int n)
{
    og_docs_text t;
    memset(&t, 0, sizeof t);
    strcpy(t.kind, "md");
    t.pages = calloc((size_t)n, sizeof *t.pages);
    t.n_pages = n;
    for (int i = 0; i < n; i++) {
        t.pages[i].number = i + 1;
        t.pages[i].text = strdup(pages[i]);
        t.pages[i].n_bytes = strlen(pages[i]);
    }
    return t;
}

/* Marks text[bs, be) (bytes) of page p as a heading of level. */
static void add_heading(og_docs_text *t, int p, const char *text_of_heading, int level)
{
    og_docs_page *pg = &t->pages[p];
    const char *at = strstr(pg->text, text_of_heading);
    CHECK(at != NULL, "heading %s not in page %d", text_of_heading, p);
    if (!at)
        return;
    pg->headings = realloc(pg->headings, (size_t)(pg->n_headings + 1) * sizeof *pg->headings);
    og_docs_heading *h = &pg->headings[pg->n_headings++];
    h->start = og_docs_code_points(pg->text, (size_t)(at - pg->text));
    h->end = h->start + og_docs_code_points(at, strlen(text_of_heading));
    h->level = level;
}

static int32_t tokens_of(const char *s, size_t n)
{
    return og_tokenize(g_model, s, n, NULL, 0, false, false);
}

static og_docs_chunk_params params(int target, int max, int overlap)
{
    og_docs_chunk_params p = { target, max, overlap };
    return p;
}

static bool ws_char(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    return *u == ' ' || *u == '\n' || *u == '\t' || *u == '\r' || *u == '\f' ||
           (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80) || (u[0] == 0xc2 && u[1] == 0xa0);
}

/* The byte offset of every code point of s, and of its end: [n_cps + 1]. */
static size_t *cp_bytes(const char *s, size_t n)
{
    size_t *at = malloc((n + 1) * sizeof *at), k = 0;
    for (size_t b = 0; b < n; b++)
        if (((unsigned char)s[b] & 0xc0) != 0x80)
            at[k++] = b;
    at[k] = n;
    return at;
}

/* What holds for every chunking: spans, sizes, whitespace, coverage. */
static void check_invariants(const char *what, const og_docs_text *t, const og_docs_chunk *c, int32_t n,
                             const og_docs_chunk_params *p)
{
    int32_t last_page = -1;
    size_t *at = NULL;
    int64_t n_cps = 0;
    for (int32_t i = 0; i < n; i++) {
        const og_docs_page *pg = &t->pages[c[i].page_index];
        if (c[i].page_index != last_page) {
            free(at);
            at = cp_bytes(pg->text, pg->n_bytes);
            n_cps = og_docs_code_points(pg->text, pg->n_bytes);
        }
        CHECK(c[i].page_index >= last_page && c[i].page_index < t->n_pages, "%s: chunk %d page order", what, i);
        last_page = c[i].page_index;
        CHECK(c[i].byte_start < c[i].byte_end && c[i].byte_end <= pg->n_bytes, "%s: chunk %d bytes", what, i);
        CHECK(c[i].start < c[i].end, "%s: chunk %d code points", what, i);
        if (!(c[i].byte_start < c[i].byte_end && c[i].byte_end <= pg->n_bytes))
            continue;
        CHECK(c[i].start >= 0 && c[i].end <= n_cps && at[c[i].start] == c[i].byte_start &&
                  at[c[i].end] == c[i].byte_end,
              "%s: chunk %d code points [%lld, %lld) are not bytes [%zu, %zu)", what, i, (long long)c[i].start,
              (long long)c[i].end, c[i].byte_start, c[i].byte_end);
        const char *s = pg->text + c[i].byte_start;
        size_t len = c[i].byte_end - c[i].byte_start;
        CHECK(!ws_char(s), "%s: chunk %d starts with whitespace", what, i);
        size_t last = len - 1;
        while (last > 0 && ((unsigned char)s[last] & 0xc0) == 0x80)
            last--;
        CHECK(!ws_char(s + last), "%s: chunk %d ends with whitespace", what, i);
        int32_t exact = tokens_of(s, len);
        CHECK(exact == c[i].n_tokens, "%s: chunk %d says %d tokens, is %d", what, i, c[i].n_tokens, exact);
        CHECK(exact > 0 && exact <= p->max_tokens, "%s: chunk %d has %d tokens (max %d)", what, i, exact,
              p->max_tokens);
    }
    for (int32_t pi = 0; pi < t->n_pages; pi++) {
        const og_docs_page *pg = &t->pages[pi];
        char *covered = calloc(pg->n_bytes + 1, 1);
        for (int32_t i = 0; i < n; i++)
            if (c[i].page_index == pi && c[i].byte_end <= pg->n_bytes)
                memset(covered + c[i].byte_start, 1, c[i].byte_end - c[i].byte_start);
        size_t missed = 0, first = 0;
        for (size_t b = 0; b < pg->n_bytes; b++)
            if (!covered[b] && !ws_char(pg->text + b) && ((unsigned char)pg->text[b] & 0xc0) != 0x80 &&
                !missed++)
                first = b;
        CHECK(missed == 0, "%s: page %d: %zu characters in no chunk, the first at byte %zu", what, pi, missed,
              first);
        free(covered);
    }
    free(at);
}

static int32_t chunk(const char *what, const og_docs_text *t, const og_docs_chunk_params *p, og_docs_chunk **c)
{
    int32_t n = -1;
    og_error err = { 0 };
    og_status s = og_docs_chunk_text(t, g_model, p, c, &n, &err);
    CHECK(s == OG_OK, "%s: %s", what, err.message);
    if (s != OG_OK)
        return 0;
    check_invariants(what, t, *c, n, p);
    return n;
}

static void text_free(og_docs_text *t)
{
    og_docs_text_free(t); /* pages, their texts and headings */
}

/* Sentences of varied length with accents, dashes, quotes and emoji. */
static char *long_section(int n_sentences)
{
    static const char *const parts[] = {
        "Le système de fichiers garde une copie de chaque page écrite.",
        "Über die Brücke fährt jeden Morgen ein Zug — pünktlich, wie immer!",
        "Does the index survive a crash in the middle of a write?",
        "The answer is yes: every change goes through the write-ahead log first.",
        "Café owners in Zürich say “it works” 🙂 and nobody complains.",
        "Numbers such as 3.14 and 2.71 stay inside their sentence.",
    };
    size_t cap = (size_t)n_sentences * 100 + 64, len = 0;
    char *s = malloc(cap);
    for (int i = 0; i < n_sentences; i++) {
        const char *p = parts[i % 6];
        len += (size_t)snprintf(s + len, cap - len, "%s%s", p, i % 5 == 4 ? "\n\n" : " ");
    }
    return s;
}

/* ---------------------------------------------------------------- tests */

static void test_long_section(void)
{
    char *body = long_section(120);
    const char *pages[] = { body };
    og_docs_text t = make_text(pages, 1);
    og_docs_chunk_params p = og_docs_default_chunk_params();
    og_docs_chunk *c = NULL;
    int32_t n = chunk("long section", &t, &p, &c);
    CHECK(n >= 6, "long section: %d chunks", n);
    for (int32_t i = 0; i + 1 < n; i++) {
        CHECK(c[i].heading == NULL, "long section: chunk %d heading %s", i, c[i].heading);
        CHECK(c[i + 1].start < c[i].end && c[i + 1].start > c[i].start,
              "long section: chunks %d and %d do not overlap", i, i + 1);
        if (c[i + 1].start < c[i].end) {
            int32_t ov = tokens_of(body + c[i + 1].byte_start, c[i].byte_end - c[i + 1].byte_start);
            CHECK(ov > 0 && ov <= p.overlap_tokens, "long section: overlap %d of %d tokens", i, ov);
            /* whole sentences: the overlap starts a sentence */
            const char *at = body + c[i + 1].byte_start;
            CHECK(at[-1] == ' ' || at[-1] == '\n', "long section: chunk %d starts mid-word", i + 1);
            CHECK(at[-2] == '.' || at[-2] == '!' || at[-2] == '?' || at[-2] == '\n',
                  "long section: chunk %d starts inside a sentence: %.30s", i + 1, at);
        }
        CHECK(c[i].n_tokens >= p.target_tokens / 2, "long section: chunk %d has only %d tokens", i, c[i].n_tokens);
        /* paragraphs (five sentences, about 80 tokens) are not cut when the
         * chunk can end with one */
        CHECK(!strncmp(body + c[i].byte_end, "\n\n", 2), "long section: chunk %d ends inside a paragraph: %.20s", i,
              body + c[i].byte_end);
    }
    og_docs_chunks_free(c, n);
    text_free(&t);
    free(body);
}

static void test_headings(void)
{
    const char *pages[] = {
        "Guide\n\nThis guide explains everything.\n\nInstall\n\nRun the installer. It asks two questions.\n\n"
        "On Linux\n\nUse the package manager.\n\nUsage\n\nStart the program. Then read the output.",
        "The usage section goes on here on page two.\n\nDetails\n\nOne more detail.",
        "Appendix\n\nThe end.",
    };
    og_docs_text t = make_text(pages, 3);
    add_heading(&t, 0, "Guide", 1);
    add_heading(&t, 0, "Install", 2);
    add_heading(&t, 0, "On Linux", 3);
    add_heading(&t, 0, "Usage", 2);
    add_heading(&t, 1, "Details", 4); /* level 3 skipped: the path has no hole */
    add_heading(&t, 2, "Appendix", 1);
    og_docs_chunk_params p = og_docs_default_chunk_params();
    og_docs_chunk *c = NULL;
    int32_t n = chunk("headings", &t, &p, &c);
    static const struct {
        int page;
        const char *starts, *heading;
    } want[] = {
        { 0, "Guide\n\nThis guide", "Guide" },
        { 0, "Install\n\nRun", "Guide > Install" },
        { 0, "On Linux\n\nUse", "Guide > Install > On Linux" },
        { 0, "Usage\n\nStart", "Guide > Usage" },
        { 1, "The usage section", "Guide > Usage" },
        { 1, "Details\n\nOne", "Guide > Usage > Details" },
        { 2, "Appendix\n\nThe end.", "Appendix" },
    };
    CHECK(n == 7, "headings: %d chunks, want 7", n);
    for (int32_t i = 0; i < n && i < 7; i++) {
        const char *s = t.pages[c[i].page_index].text + c[i].byte_start;
        CHECK(c[i].page_index == want[i].page, "headings: chunk %d on page %d", i, c[i].page_index);
        CHECK(!strncmp(s, want[i].starts, strlen(want[i].starts)), "headings: chunk %d starts %.20s", i, s);
        CHECK(c[i].heading && !strcmp(c[i].heading, want[i].heading), "headings: chunk %d heading %s, want %s", i,
              c[i].heading ? c[i].heading : "(null)", want[i].heading);
        if (i + 1 < n) /* no overlap across a heading or a page */
            CHECK(c[i + 1].page_index > c[i].page_index || c[i + 1].start >= c[i].end,
                  "headings: chunks %d and %d overlap", i, i + 1);
    }
    CHECK(n >= 1 && !strcmp(t.pages[2].text + c[n - 1].byte_start, "Appendix\n\nThe end."),
          "headings: the last chunk is the whole last page");
    og_docs_chunks_free(c, n);
    text_free(&t);

    /* text before a first heading has none; a long section under a heading
     * keeps its path on every chunk and overlaps only inside it */
    char *body = long_section(60);
    size_t len = strlen(body) * 2 + 64;
    char *page = malloc(len);
    snprintf(page, len, "Preface text.\n\nPart One\n\n%s\n\nPart Two\n\n%s", body, body);
    const char *pages2[] = { page };
    t = make_text(pages2, 1);
    add_heading(&t, 0, "Part One", 1);
    add_heading(&t, 0, "Part Two", 1);
    n = chunk("sections", &t, &p, &c);
    int32_t two = -1;
    CHECK(n >= 5 && c[0].heading == NULL && c[0].byte_start == 0 && c[0].byte_end == 13,
          "sections: the first chunk is the preface alone");
    for (int32_t i = 1; i < n; i++) {
        const char *h = c[i].heading ? c[i].heading : "(null)";
        bool second = !strcmp(h, "Part Two");
        CHECK(second || !strcmp(h, "Part One"), "sections: chunk %d heading %s", i, h);
        if (second && two < 0) {
            two = i;
            CHECK(!strncmp(page + c[i].byte_start, "Part Two", 8), "sections: Part Two starts a chunk");
            CHECK(c[i].start >= c[i - 1].end, "sections: overlap across a heading");
        } else if (i > 1) {
            CHECK(c[i].start < c[i - 1].end, "sections: no overlap between chunks %d and %d", i - 1, i);
        }
    }
    CHECK(two > 1, "sections: Part Two found at %d", two);
    og_docs_chunks_free(c, n);
    text_free(&t);
    free(page);
    free(body);
}

static void test_long_words(void)
{
    /* "ü-" a thousand times: 2,000 characters, 2,000 tokens, no space */
    size_t len = 0;
    char *word = malloc(4 * 1000 + 64);
    len += (size_t)sprintf(word, "Before it. ");
    for (int i = 0; i < 1000; i++)
        len += (size_t)sprintf(word + len, "\xc3\xbc-");
    len += (size_t)sprintf(word + len, " After it.");
    const char *pages[] = { word };
    og_docs_text t = make_text(pages, 1);
    og_docs_chunk_params p = params(60, 80, 10);
    og_docs_chunk *c = NULL;
    int32_t n = chunk("long word", &t, &p, &c);
    CHECK(n >= 2000 / 80, "long word: %d chunks", n);
    for (int32_t i = 1; i + 2 < n; i++) { /* the pieces of the word follow each other */
        CHECK(c[i + 1].byte_start == c[i].byte_end, "long word: pieces %d and %d", i, i + 1);
        CHECK(c[i].n_tokens <= 60, "long word: piece %d has %d tokens", i, c[i].n_tokens);
    }
    og_docs_chunks_free(c, n);
    text_free(&t);

    /* 2,000 letters: WordPiece reads any word over 100 characters as one
     * [UNK], so the word is one token and stays whole; 900 CJK characters
     * without a full stop are 900 words and are cut */
    char *letters = malloc(2100 + 3 * 900 + 1);
    memset(letters, 'a', 2000);
    letters[2000] = '\n';
    for (int i = 0; i < 900; i++)
        memcpy(letters + 2001 + 3 * i, "\xe6\x95\xb0", 3); /* 数 */
    letters[2001 + 3 * 900] = '\0';
    const char *pages2[] = { letters };
    t = make_text(pages2, 1);
    p = params(100, 120, 20);
    n = chunk("letters", &t, &p, &c);
    CHECK(n >= 9, "letters: %d chunks", n);
    CHECK(n >= 1 && c[0].byte_end >= 2000 && c[0].byte_start == 0, "letters: the 2,000 letters are one chunk");
    og_docs_chunks_free(c, n);
    text_free(&t);
    free(letters);
    free(word);

    /* megabyte words: 1 MB of letters is one [UNK], cut into pieces of a
     * bounded length so no chunk is that long; 1 MB of base64-like text is
     * ~500,000 tokens, cut in time linear in its length */
    size_t big = 1 << 20;
    char *blob = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        blob[i] = i < big / 2 ? 'q' : "aZ+/9k"[i % 6];
    blob[big / 2] = ' ';
    blob[big] = '\0';
    const char *pages3[] = { blob };
    t = make_text(pages3, 1);
    p = og_docs_default_chunk_params();
    n = chunk("megabyte words", &t, &p, &c);
    size_t longest = 0;
    for (int32_t i = 0; i < n; i++)
        longest = c[i].byte_end - c[i].byte_start > longest ? c[i].byte_end - c[i].byte_start : longest;
    CHECK(n > 1000 && longest <= 64 * 250, "megabyte words: %d chunks, the longest %zu bytes", n, longest);
    og_docs_chunks_free(c, n);
    text_free(&t);
    free(blob);
}

static void test_empty_pages(void)
{
    /* the fifth page has a control character and a zero-width space: no
     * whitespace, but nothing the encoder reads either */
    const char *pages[] = { "", "   \n\n\t  \n", "\xe3\x80\x80\n\xc2\xa0", "Only this.", "\x01 \xe2\x80\x8b\n\n" };
    og_docs_text t = make_text(pages, 5);
    og_docs_chunk_params p = og_docs_default_chunk_params();
    og_docs_chunk *c = NULL;
    int32_t n = -1;
    og_error err = { 0 };
    CHECK(og_docs_chunk_text(&t, g_model, &p, &c, &n, &err) == OG_OK, "empty pages: %s", err.message);
    CHECK(n == 1 && c[0].page_index == 3 && c[0].start == 0 && c[0].end == 10, "empty pages: %d chunks", n);
    og_docs_chunks_free(c, n);
    text_free(&t);

    og_docs_text none;
    memset(&none, 0, sizeof none);
    c = (og_docs_chunk *)&none;
    CHECK(og_docs_chunk_text(&none, g_model, &p, &c, &n, &err) == OG_OK && n == 0 && c == NULL, "no pages");
}

static void test_cjk(void)
{
    static const char *const sentences[] = { "我们今天去公园散步。", "天气很好，阳光明媚！", "你想一起来吗？",
                                             "公园里有很多人在跑步。" };
    char page[4096];
    size_t len = 0;
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(page + len, sizeof page - len, "%s", sentences[i % 4]);
    const char *pages[] = { page };
    og_docs_text t = make_text(pages, 1);
    og_docs_chunk_params p = params(30, 40, 8);
    og_docs_chunk *c = NULL;
    int32_t n = chunk("cjk", &t, &p, &c);
    CHECK(n >= 10, "cjk: %d chunks", n);
    for (int32_t i = 0; i < n; i++) {
        const char *end = page + c[i].byte_end - 3, *start = page + c[i].byte_start;
        CHECK(!memcmp(end, "\xe3\x80\x82", 3) || !memcmp(end, "\xef\xbc\x81", 3) || !memcmp(end, "\xef\xbc\x9f", 3),
              "cjk: chunk %d does not end a sentence", i);
        /* it starts a sentence, or inside the chunk before (the overlap,
         * whole sentences when one fits, else the last characters) */
        CHECK(start == page || !memcmp(start - 3, "\xe3\x80\x82", 3) || !memcmp(start - 3, "\xef\xbc\x81", 3) ||
                  !memcmp(start - 3, "\xef\xbc\x9f", 3) || (i > 0 && c[i].start < c[i - 1].end),
              "cjk: chunk %d does not start a sentence", i);
        if (i > 0) {
            CHECK(c[i].start < c[i - 1].end && c[i].start > c[i - 1].start, "cjk: no overlap before chunk %d", i);
            int32_t ov = tokens_of(page + c[i].byte_start, c[i - 1].byte_end - c[i].byte_start);
            CHECK(ov > 0 && ov <= p.overlap_tokens, "cjk: overlap %d of %d tokens", i, ov);
        }
    }
    og_docs_chunks_free(c, n);
    text_free(&t);
}

/* One sentence a chunk (each is over target alone, overlap off): the
 * chunks are the sentences, so the cuts show. Their counts add up to the
 * page's: the cuts are where WordPiece cuts too. */
static void test_sentences(void)
{
    const char *page = "See e.g. the manual by Dr. Smith on page 4 today. Fig. 3 shows 3.14 as pi, i.e. a number!\n"
                       "Is it... really? \"Yes,\" he said. The U.S. team won\xe2\x80\xa6 Then J. Doe left (for now.) "
                       "1. A list item without an end\n2. Another one. Done";
    static const char *const want[] = {
        "See e.g. the manual by Dr. Smith on page 4 today.",
        "Fig. 3 shows 3.14 as pi, i.e. a number!",
        "Is it... really?",
        "\"Yes,\" he said.",
        "The U.S. team won\xe2\x80\xa6",
        "Then J. Doe left (for now.)",
        "1. A list item without an end\n2. Another one.",
        "Done",
    };
    const char *pages[] = { page };
    og_docs_text t = make_text(pages, 1);
    og_docs_chunk_params p = params(1, 100, 0);
    og_docs_chunk *c = NULL;
    int32_t n = chunk("sentences", &t, &p, &c);
    CHECK(n == 8, "sentences: %d chunks, want 8", n);
    int32_t sum = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t len = c[i].byte_end - c[i].byte_start;
        if (i < 8)
            CHECK(len == strlen(want[i]) && !memcmp(page + c[i].byte_start, want[i], len),
                  "sentences: chunk %d is \"%.*s\", want \"%s\"", i, (int)len, page + c[i].byte_start, want[i]);
        sum += c[i].n_tokens;
    }
    CHECK(sum == tokens_of(page, strlen(page)), "sentences: %d tokens in chunks, %d in the page", sum,
          tokens_of(page, strlen(page)));
    og_docs_chunks_free(c, n);
    text_free(&t);
}

static void test_params(void)
{
    const char *pages[] = { "Some text." };
    og_docs_text t = make_text(pages, 1);
    static const og_docs_chunk_params bad[] = {
        { 300, 250, 40 }, { 220, 511, 40 }, { 220, 250, 220 }, { 220, 250, 300 }, { 0, 250, 0 }, { 10, 250, -1 },
    };
    og_docs_chunk *c = NULL;
    int32_t n = 0;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        og_error err = { 0 };
        CHECK(og_docs_chunk_text(&t, g_model, &bad[i], &c, &n, &err) == OG_ERR_ARG && c == NULL && n == 0 &&
                  err.message[0],
              "params %zu accepted", i);
    }
    og_error err = { 0 };
    CHECK(og_docs_chunk_text(&t, NULL, NULL, &c, &n, &err) == OG_ERR_ARG, "no encoder accepted");
    CHECK(og_docs_chunk_text(NULL, g_model, NULL, &c, &n, &err) == OG_ERR_ARG, "no text accepted");
    og_docs_chunk_params ok = { 250, 510, 249 };
    CHECK(og_docs_chunk_text(&t, g_model, &ok, &c, &n, &err) == OG_OK && n == 1, "edge params: %s", err.message);
    og_docs_chunks_free(c, n);
    CHECK(og_docs_chunk_text(&t, g_model, NULL, &c, &n, &err) == OG_OK && n == 1, "default params: %s",
          err.message);
    og_docs_chunks_free(c, n);
    text_free(&t);
}

/* Random pages of words, punctuation, line breaks, CJK, emoji, control
 * characters and long words, with random headings and parameters: the
 * invariants hold on every one. */
static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static void test_random(void)
{
    static const char *const bits[] = {
        "word", "Wort", "caf\xc3\xa9", "na\xc3\xafve", "x", "3.14", "e.g.", "Dr.", ". ", "! ", "? ", "\xe2\x80\xa6 ",
        ", ", " ", " ", " ", "\n", "\n\n", "\n \n", "\t", "\xe4\xb8\xad\xe6\x96\x87", "\xe3\x80\x82",
        "\xf0\x9f\x99\x82", "\x01", "\xe2\x80\x8b", "\xc2\xa0", "\xe3\x80\x80", "(", ")", "\"", "-",
    };
    uint32_t state = 19;
    for (int round = 0; round < 60; round++) {
        enum { PAGES = 3 };
        char *texts[PAGES];
        for (int pi = 0; pi < PAGES; pi++) {
            size_t cap = 40000, len = 0;
            char *t = malloc(cap);
            int n_bits = (int)(lcg(&state) % 1500);
            for (int k = 0; k < n_bits && len + 1200 < cap; k++) {
                uint32_t r = lcg(&state);
                if (r % 97 == 0) { /* now and then a long word */
                    int n = 100 + (int)(r % 1000);
                    for (int m = 0; m < n; m++)
                        t[len++] = (char)('a' + (m * 7 + (int)r) % 26);
                    if (r % 2)
                        t[len++] = '-';
                } else {
                    const char *b = bits[r % (sizeof bits / sizeof *bits)];
                    memcpy(t + len, b, strlen(b));
                    len += strlen(b);
                }
            }
            t[len] = '\0';
            texts[pi] = t;
        }
        og_docs_text t = make_text((const char *const *)texts, PAGES);
        for (int pi = 0; pi < PAGES; pi++) { /* headings at random line starts */
            og_docs_page *pg = &t.pages[pi];
            int64_t cps = og_docs_code_points(pg->text, pg->n_bytes);
            for (int64_t at = 0; at + 10 < cps; at += 50 + lcg(&state) % 800) {
                pg->headings = realloc(pg->headings, (size_t)(pg->n_headings + 1) * sizeof *pg->headings);
                og_docs_heading *h = &pg->headings[pg->n_headings++];
                h->start = at;
                h->end = at + 1 + lcg(&state) % 30;
                h->level = 1 + (int32_t)(lcg(&state) % 6);
            }
        }
        int target = 8 + (int)(lcg(&state) % 300);
        int max = target + (int)(lcg(&state) % 60);
        max = max > 510 ? 510 : max;
        og_docs_chunk_params p = params(target, max, (int)(lcg(&state) % (unsigned)target));
        char what[64];
        snprintf(what, sizeof what, "random %d (%d, %d, %d)", round, p.target_tokens, p.max_tokens,
                 p.overlap_tokens);
        og_docs_chunk *c = NULL;
        int32_t n = chunk(what, &t, &p, &c);
        og_docs_chunks_free(c, n);
        text_free(&t);
        for (int pi = 0; pi < PAGES; pi++)
            free(texts[pi]);
    }
}

/* 300 pages of about 3,000 characters: the rate is printed for the record. */
static void test_rate(void)
{
    enum { PAGES = 300 };
    char *body = long_section(40);
    const char **pages = malloc(PAGES * sizeof *pages);
    for (int i = 0; i < PAGES; i++)
        pages[i] = body;
    og_docs_text t = make_text(pages, PAGES);
    og_docs_chunk_params p = og_docs_default_chunk_params();
    og_docs_chunk *c = NULL;
    int32_t n = 0;
    og_error err = { 0 };
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    og_status s = og_docs_chunk_text(&t, g_model, &p, &c, &n, &err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int64_t total = 0;
    for (int i = 0; i < PAGES; i++) /* what tokenizing the text once costs */
        total += tokens_of(body, strlen(body));
    clock_gettime(CLOCK_MONOTONIC, &b);
    double once = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("tokenizing the same text once: %lld tokens in %.3f s (chunking took %.1fx that)\n", (long long)total,
           once, sec / once);
    CHECK(s == OG_OK && n >= PAGES * 3, "rate: %d chunks: %s", n, err.message);
    printf("chunked %d pages (%zu bytes each) into %d chunks in %.3f s: %.0f chunks/s, %.1f MB/s\n", PAGES,
           strlen(body), n, sec, n / sec, (double)PAGES * (double)strlen(body) / sec / 1e6);
    og_docs_chunks_free(c, n);
    text_free(&t);
    free(pages);
    free(body);
}

int main(void)
{
    og_error err = { 0 };
    if (og_model_load(MODEL_PATH, NULL, &g_model, &err) != OG_OK) {
        fprintf(stderr, "skipped: missing or unreadable %s (%s): tools/setup.sh converts it\n", MODEL_PATH,
                err.message);
        return 77;
    }
    test_params();
    test_empty_pages();
    test_sentences();
    test_long_section();
    test_headings();
    test_long_words();
    test_cjk();
    test_random();
    test_rate();
    og_model_free(g_model);
    return og_test_finish("test_docs_chunk");
}
