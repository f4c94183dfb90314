/*
 * test_docs_extract.c - the structured readers of the documents service
 * (plain text, Markdown, HTML, DOCX) through og_docs_extract: the exact
 * text and heading spans of small fixtures (tests/fixtures/docs, code
 * points checked with non-ASCII text), the refusals (binary data, invalid
 * UTF-8, corrupt and missing parts, a DTD, a zip bomb, the text limit),
 * and a loop of random and truncated inputs that must each read or fail
 * with a message, never crash.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "docs/extract.h"
#include "testlib.h"

#define FIXTURE(name) OG_TEST_DATA "/../fixtures/docs/" name

static char tmp_dir[] = "/tmp/og_docs_extract_XXXXXX";

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

static void write_file(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(tmp_path(name), "wb");
    CHECK(f && fwrite(data, 1, n, f) == n && fclose(f) == 0, "cannot write %s", tmp_path(name));
}

/* The text of page[start, end) in code points (static buffer). */
static const char *span(const og_docs_page *pg, int64_t start, int64_t end)
{
    static char out[1024];
    const unsigned char *s = (const unsigned char *)pg->text;
    size_t i = 0, a = SIZE_MAX, b = SIZE_MAX;
    int64_t cp = 0;
    for (; i <= pg->n_bytes; i++) {
        if (i == pg->n_bytes || (s[i] & 0xC0) != 0x80) {
            if (cp == start)
                a = i;
            if (cp == end) {
                b = i;
                break;
            }
            cp++;
        }
    }
    if (a == SIZE_MAX || b == SIZE_MAX || b < a || b - a >= sizeof out)
        return "<span out of range>";
    memcpy(out, pg->text + a, b - a);
    out[b - a] = 0;
    return out;
}

typedef struct want_heading {
    const char *text;
    int level;
} want_heading;

/* Checks that path reads as kind with exactly text and these headings. */
static void expect_text(const char *path, const og_docs_limits *lim, const char *kind, const char *text,
                        const want_heading *heads, int n_heads)
{
    og_docs_text t;
    og_error err = { 0 };
    og_status s = og_docs_extract(path, lim, &t, &err);
    CHECK(s == OG_OK, "%s: %s", path, err.message);
    if (s != OG_OK)
        return;
    CHECK(!strcmp(t.kind, kind), "%s: kind %s, want %s", path, t.kind, kind);
    CHECK(t.n_pages == 1 && t.pages[0].number == 0, "%s: %d pages", path, t.n_pages);
    const og_docs_page *pg = &t.pages[0];
    CHECK(pg->n_bytes == strlen(pg->text), "%s: n_bytes %zu", path, pg->n_bytes);
    CHECK(!strcmp(pg->text, text), "%s: text\n---got---\n%s\n---want---\n%s\n---", path, pg->text, text);
    CHECK(pg->n_headings == n_heads, "%s: %d headings, want %d", path, pg->n_headings, n_heads);
    for (int i = 0; i < n_heads && i < pg->n_headings; i++) {
        const char *got = span(pg, pg->headings[i].start, pg->headings[i].end);
        CHECK(!strcmp(got, heads[i].text), "%s: heading %d is [%lld,%lld) \"%s\", want \"%s\"", path, i,
              (long long)pg->headings[i].start, (long long)pg->headings[i].end, got, heads[i].text);
        CHECK(pg->headings[i].level == heads[i].level, "%s: heading %d level %d, want %d", path, i,
              pg->headings[i].level, heads[i].level);
    }
    og_docs_text_free(&t);
    CHECK(t.pages == NULL && t.n_pages == 0, "og_docs_text_free zeroes");
}

/* Checks that path is refused with code and a message containing each of
 * the NULL-terminated words. */
static void expect_error(const char *path, const og_docs_limits *lim, og_status code, ...)
{
    og_docs_text t;
    og_error err = { 0 };
    og_status s = og_docs_extract(path, lim, &t, &err);
    CHECK(s == code, "%s: status %s, want %s (%s)", path, og_status_name(s), og_status_name(code), err.message);
    CHECK(t.pages == NULL && t.n_pages == 0, "%s: output not zeroed on failure", path);
    CHECK(strstr(err.message, path) != NULL, "%s: message does not name the file: %s", path, err.message);
    va_list ap;
    va_start(ap, code);
    for (const char *w; (w = va_arg(ap, const char *));)
        CHECK(strstr(err.message, w) != NULL, "%s: message lacks \"%s\": %s", path, w, err.message);
    va_end(ap);
    if (s == OG_OK)
        og_docs_text_free(&t);
}

static void test_markdown(void)
{
    static const want_heading heads[] = {
        { "Café 日本", 1 },       { "Setext Title 日本", 1 }, { "Second 🙂 level", 2 },
        { "Closing hashes", 2 }, { "Trailing #hash", 3 },
    };
    size_t n;
    char *file = og_test_read_file(FIXTURE("sample.md"), &n);
    CHECK(file != NULL, "sample.md");
    if (!file)
        return;
    /* Markdown is kept as written */
    expect_text(FIXTURE("sample.md"), NULL, "md", file, heads, 5);
    free(file);

    /* a fence closes only on its own character, at least as long */
    static const char fences[] = "~~~~\n# in\n~~~\n# still in\n```\n~~~~~ \n#  Out  \n```py\n# unclosed\n";
    write_file("fences.md", fences, sizeof fences - 1);
    static const want_heading out[] = { { "Out", 1 } };
    expect_text(tmp_path("fences.md"), NULL, "md", fences, out, 1);
    /* setext over two lines, at the end of the file; "===" after a blank
     * line is text, and an empty ATX heading records nothing */
    static const char setext[] = "#\n\n===\n\nfirst line\n  second 日本\n===";
    write_file("setext.markdown", setext, sizeof setext - 1);
    static const want_heading two[] = { { "first line\n  second 日本", 1 } };
    expect_text(tmp_path("setext.markdown"), NULL, "md", setext, two, 1);
}

static void test_plain(void)
{
    size_t n;
    char *file = og_test_read_file(FIXTURE("sample.txt"), &n);
    CHECK(file != NULL, "sample.txt");
    if (file)
        expect_text(FIXTURE("sample.txt"), NULL, "text", file, NULL, 0);
    free(file);

    /* CRLF and lone CR become LF; a BOM is dropped; offsets count after it */
    static const char crlf[] = "\xEF\xBB\xBF# Tête\r\n\r\nline one\rline two\r\n";
    write_file("crlf.md", crlf, sizeof crlf - 1);
    static const want_heading tete[] = { { "Tête", 1 } };
    expect_text(tmp_path("crlf.md"), NULL, "md", "# Tête\n\nline one\nline two\n", tete, 1);
    static const char bom[] = "\xEF\xBB\xBFhello é";
    write_file("bom.txt", bom, sizeof bom - 1);
    expect_text(tmp_path("bom.txt"), NULL, "text", "hello é", NULL, 0);
    write_file("empty.txt", "", 0);
    expect_text(tmp_path("empty.txt"), NULL, "text", "", NULL, 0);

    /* refusals */
    static const char nul[] = "text then\0binary";
    write_file("nul.txt", nul, sizeof nul - 1);
    expect_error(tmp_path("nul.txt"), NULL, OG_ERR_FORMAT, "binary data at byte 9", (char *)NULL);
    static const char controls[] = "ab\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f cdefghij";
    write_file("controls.txt", controls, sizeof controls - 1);
    expect_error(tmp_path("controls.txt"), NULL, OG_ERR_FORMAT, "binary data at byte 2", (char *)NULL);
    static const char bad[] = "caf\xC3\xA9 ok, then caf\xC3( bad";
    write_file("bad.txt", bad, sizeof bad - 1);
    expect_error(tmp_path("bad.txt"), NULL, OG_ERR_FORMAT, "not valid UTF-8 at byte 18", (char *)NULL);
    static const char bad_bom[] = "\xEF\xBB\xBF" "ab\xFF";
    write_file("bad_bom.md", bad_bom, sizeof bad_bom - 1);
    expect_error(tmp_path("bad_bom.md"), NULL, OG_ERR_FORMAT, "not valid UTF-8 at byte 5", (char *)NULL);
    static const char surrogate[] = "x\xED\xA0\x80";
    write_file("surrogate.txt", surrogate, sizeof surrogate - 1);
    expect_error(tmp_path("surrogate.txt"), NULL, OG_ERR_FORMAT, "not valid UTF-8 at byte 1", (char *)NULL);
    og_docs_limits small = og_docs_default_limits();
    small.max_text_bytes = 10;
    expect_error(FIXTURE("sample.txt"), &small, OG_ERR_NOMEM, "passes the limit", (char *)NULL);
    expect_error(tmp_path("missing.txt"), NULL, OG_ERR_IO, (char *)NULL);
}

static void test_html(void)
{
    static const want_heading heads[] = { { "Café & 日本", 1 }, { "Section 🙂 two", 2 } };
    expect_text(FIXTURE("sample.html"), NULL, "html",
                "Café & 日本\n\n"
                "First paragraph with bold words <tag> 🙂.\n\n"
                "Line one\nLine two\n\n"
                "Section 🙂 two\n\n"
                "alpha\n\nbeta\n\n"
                "code   kept\n  as is\n\n"
                "a1 b1\n\na2 b2",
                heads, 2);

    /* a Latin-1 page: the declared charset is decoded to UTF-8, and the
     * title heads the page when there is no h1 */
    static const char latin1[] = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
                                 "charset=iso-8859-1\"><title>Caf\xE9   menu</title></head>"
                                 "<body><p>cr\xE8me br\xFBl\xE9" "e</p><h3>Pr\xEFx</h3>fin</body></html>";
    write_file("latin1.htm", latin1, sizeof latin1 - 1);
    static const want_heading lh[] = { { "Café menu", 1 }, { "Prïx", 3 } };
    expect_text(tmp_path("latin1.htm"), NULL, "html", "Café menu\n\ncrème brûlée\n\nPrïx\n\nfin", lh, 2);

    static const char meta5[] = "<meta charset=\"windows-1252\"><p>\x93quoted\x94 \x80</p>";
    write_file("meta5.html", meta5, sizeof meta5 - 1);
    expect_text(tmp_path("meta5.html"), NULL, "html", "\u201Cquoted\u201D \u20AC", NULL, 0);

    /* text only, and nothing visible at all */
    write_file("bare.html", "just text &copy;", 16);
    expect_text(tmp_path("bare.html"), NULL, "html", "just text ©", NULL, 0);
    write_file("nothing.html", "<script>x</script>", 18);
    expect_text(tmp_path("nothing.html"), NULL, "html", "", NULL, 0);
}

/* ---- DOCX archives built at run time ---- */

/* Writes a zip at tmp/name holding the given members (name, data) pairs. */
static void write_zip(const char *name, const char *const *members, int n_members)
{
    int zerr = 0;
    unlink(tmp_path(name));
    zip_t *z = zip_open(tmp_path(name), ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    CHECK(z != NULL, "zip_open %s: %d", name, zerr);
    if (!z)
        return;
    for (int i = 0; i < n_members; i++) {
        zip_source_t *src = zip_source_buffer(z, members[2 * i + 1], strlen(members[2 * i + 1]), 0);
        CHECK(src && zip_file_add(z, members[2 * i], src, ZIP_FL_OVERWRITE) >= 0, "zip add %s", members[2 * i]);
    }
    CHECK(zip_close(z) == 0, "zip_close %s: %s", name, zip_strerror(z));
}

#define W_DOC_OPEN                                                                                                \
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"                                             \
    "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>"
#define W_DOC_CLOSE "</w:body></w:document>"

static const char docx_xml[] =
    W_DOC_OPEN
    "<w:p><w:pPr><w:pStyle w:val=\"Title\"/></w:pPr><w:r><w:t>Rapport 日本</w:t></w:r></w:p>\n"
    "<w:p><w:pPr><w:pStyle w:val=\"Heading2\"/><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>"
    "<w:r><w:t xml:space=\"preserve\">Café </w:t></w:r><w:r><w:t>🙂 section</w:t></w:r></w:p>\n"
    "<w:p><w:r><w:t>Name</w:t></w:r><w:r><w:tab/><w:t>Value</w:t></w:r>"
    "<w:r><w:br/><w:t>next line</w:t></w:r></w:p>\n"
    "<w:p></w:p><w:p><w:r><w:t xml:space=\"preserve\">   </w:t></w:r></w:p>\n"
    "<w:p><w:pPr><w:outlineLvl w:val=\"2\"/></w:pPr><w:r><w:t>Outline three</w:t></w:r></w:p>\n"
    "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>cell</w:t></w:r></w:p></w:tc></w:tr></w:tbl>\n"
    "<w:p><w:r><mc:AlternateContent xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/2006\">"
    "<mc:Choice Requires=\"wps\"><w:p><w:r><w:t>boxed</w:t></w:r></w:p></mc:Choice>"
    "<mc:Fallback><w:p><w:r><w:t>boxed</w:t></w:r></w:p></mc:Fallback></mc:AlternateContent></w:r></w:p>\n"
    "<w:p><w:r><w:instrText>PAGE</w:instrText></w:r><w:r><w:delText>deleted</w:delText></w:r>"
    "<w:r><w:t>Last &amp; final</w:t></w:r><w:r><w:cr/><w:t>&#x65E5;</w:t></w:r></w:p>\n" W_DOC_CLOSE;

/* a German document: translated style ids, the names say which are headings */
static const char styles_xml[] =
    "<?xml version=\"1.0\"?><w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
    "<w:style w:type=\"paragraph\" w:styleId=\"berschrift1\"><w:name w:val=\"heading 1\"/></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"Gliederung\"><w:name w:val=\"Gliederung\"/>"
    "<w:pPr><w:outlineLvl w:val=\"1\"/></w:pPr></w:style>"
    "<w:style w:type=\"paragraph\" w:styleId=\"Standard\"><w:name w:val=\"Normal\"/></w:style>"
    "<w:style w:type=\"character\" w:styleId=\"Heading3\"><w:name w:val=\"Normal\"/></w:style>"
    "</w:styles>";
static const char german_xml[] =
    W_DOC_OPEN "<w:p><w:pPr><w:pStyle w:val=\"berschrift1\"/></w:pPr><w:r><w:t>Überblick</w:t></w:r></w:p>"
    "<w:p><w:pPr><w:pStyle w:val=\"Standard\"/></w:pPr><w:r><w:t>Text.</w:t></w:r></w:p>"
    "<w:p><w:pPr><w:pStyle w:val=\"Gliederung\"/></w:pPr><w:r><w:t>Teil zwei</w:t></w:r></w:p>"
    "<w:p><w:pPr><w:pStyle w:val=\"Heading3\"/></w:pPr><w:r><w:t>Drei</w:t></w:r></w:p>" W_DOC_CLOSE;

static void test_docx(void)
{
    const char *members[] = { "[Content_Types].xml", "<Types/>", "word/document.xml", docx_xml };
    write_zip("report.docx", members, 2);
    static const want_heading heads[] = { { "Rapport 日本", 1 }, { "Café 🙂 section", 2 },
                                          { "Outline three", 3 } };
    expect_text(tmp_path("report.docx"), NULL, "docx",
                "Rapport 日本\n\nCafé 🙂 section\n\nName\tValue\nnext line\n\nOutline three\n\ncell\n\nboxed\n\n"
                "Last & final\n日",
                heads, 3);

    const char *german[] = { "word/styles.xml", styles_xml, "word/document.xml", german_xml };
    write_zip("german.docx", german, 2);
    static const want_heading gh[] = { { "Überblick", 1 }, { "Teil zwei", 2 }, { "Drei", 3 } };
    expect_text(tmp_path("german.docx"), NULL, "docx", "Überblick\n\nText.\n\nTeil zwei\n\nDrei", gh, 3);
    const char *bad_styles[] = { "word/styles.xml", "<w:styles", "word/document.xml", german_xml };
    write_zip("bad_styles.docx", bad_styles, 2);
    expect_error(tmp_path("bad_styles.docx"), NULL, OG_ERR_FORMAT, "word/styles.xml is not well-formed XML",
                 (char *)NULL);

    /* the text limit holds for what a document unpacks to */
    og_docs_limits small = og_docs_default_limits();
    small.max_text_bytes = 20;
    expect_error(tmp_path("report.docx"), &small, OG_ERR_NOMEM, "passes the limit", (char *)NULL);

    /* ... also when the XML is small enough but its text is not */
    static char long_xml[4096];
    char words[2001];
    memset(words, 'x', 2000);
    words[2000] = 0;
    snprintf(long_xml, sizeof long_xml, W_DOC_OPEN "<w:p><w:r><w:t>%s</w:t></w:r></w:p>" W_DOC_CLOSE, words);
    const char *long_doc[] = { "word/document.xml", long_xml };
    write_zip("long.docx", long_doc, 1);
    small.max_text_bytes = 1000;
    expect_error(tmp_path("long.docx"), &small, OG_ERR_NOMEM, "extracted text passes the limit", (char *)NULL);

    const char *no_doc[] = { "word/other.xml", "<x/>" };
    write_zip("nodoc.docx", no_doc, 1);
    expect_error(tmp_path("nodoc.docx"), NULL, OG_ERR_FORMAT, "word/document.xml", (char *)NULL);

    const char *broken[] = { "word/document.xml", W_DOC_OPEN "<w:p><w:r><w:t>unclosed</w:r></w:p>" };
    write_zip("broken.docx", broken, 1);
    expect_error(tmp_path("broken.docx"), NULL, OG_ERR_FORMAT, "word/document.xml is not well-formed XML",
                 (char *)NULL);

    /* entity expansion ("billion laughs") never happens: a DTD is refused */
    const char *laughs[] = {
        "word/document.xml",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE w [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
        "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
        "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\"><!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">"
        "]>\n<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
        "<w:body><w:p><w:r><w:t>&i;&i;&i;&i;</w:t></w:r></w:p></w:body></w:document>"
    };
    write_zip("laughs.docx", laughs, 1);
    expect_error(tmp_path("laughs.docx"), NULL, OG_ERR_FORMAT, "DTD", (char *)NULL);
    const char *external[] = { "word/document.xml",
                               "<?xml version=\"1.0\"?>\n<!DOCTYPE w:document SYSTEM \"/etc/passwd\">"
                               "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
                               "<w:body/></w:document>" };
    write_zip("external.docx", external, 1);
    expect_error(tmp_path("external.docx"), NULL, OG_ERR_FORMAT, "DTD", (char *)NULL);

    /* not a zip past its first bytes; a zip cut short */
    static const char corrupt[] = "PK\3\4 this is not really a zip archive at all";
    write_file("corrupt.docx", corrupt, sizeof corrupt - 1);
    expect_error(tmp_path("corrupt.docx"), NULL, OG_ERR_FORMAT, "not a readable .docx", (char *)NULL);
    size_t n;
    char *whole = og_test_read_file(tmp_path("report.docx"), &n);
    if (whole) {
        write_file("cut.docx", whole, n / 2);
        expect_error(tmp_path("cut.docx"), NULL, OG_ERR_FORMAT, (char *)NULL);
    }
    free(whole);
}

/* A zip source that produces a document.xml of `size` bytes, mostly
 * spaces, without ever holding it: the bomb stays small to build. */
typedef struct bomb_src {
    uint64_t size, pos;
} bomb_src;

static const char bomb_head[] = W_DOC_OPEN "<w:p><w:r><w:t>";
static const char bomb_tail[] = "</w:t></w:r></w:p>" W_DOC_CLOSE;

static zip_int64_t bomb_cb(void *user, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    bomb_src *b = user;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        b->pos = 0;
        return 0;
    case ZIP_SOURCE_READ: {
        char *out = data;
        zip_uint64_t k = 0;
        const uint64_t head = sizeof bomb_head - 1, tail = sizeof bomb_tail - 1;
        for (; k < len && b->pos < b->size; b->pos++) {
            if (b->pos < head) {
                out[k++] = bomb_head[b->pos];
            } else if (b->pos >= b->size - tail) {
                out[k++] = bomb_tail[b->pos - (b->size - tail)];
            } else { /* the spaces, a block at a time */
                uint64_t run = b->size - tail - b->pos;
                if (run > len - k)
                    run = len - k;
                memset(out + k, ' ', run);
                k += run;
                b->pos += run - 1;
            }
        }
        return (zip_int64_t)k;
    }
    case ZIP_SOURCE_CLOSE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = b->size;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return 2 * sizeof(int);
    case ZIP_SOURCE_FREE:
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                              ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
        return -1;
    }
}

static void write_bomb(const char *name, uint64_t size)
{
    int zerr = 0;
    unlink(tmp_path(name));
    zip_t *z = zip_open(tmp_path(name), ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    CHECK(z != NULL, "zip_open %s", name);
    if (!z)
        return;
    static bomb_src b;
    b.size = size;
    zip_source_t *src = zip_source_function(z, bomb_cb, &b);
    zip_int64_t idx = src ? zip_file_add(z, "word/document.xml", src, 0) : -1;
    CHECK(idx >= 0, "zip add bomb");
    if (idx >= 0) /* the fastest level: the test's time goes to building it */
        zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 1);
    CHECK(zip_close(z) == 0, "zip_close bomb: %s", zip_strerror(z));
}

static void test_bomb(void)
{
    /* 1 GiB of spaces deflated to about a megabyte: refused from what the
     * archive declares, before anything is inflated */
    write_bomb("bomb.docx", (uint64_t)1 << 30);
    expect_error(tmp_path("bomb.docx"), NULL, OG_ERR_NOMEM, "word/document.xml", "passes the limit", (char *)NULL);
    /* 16 MiB: under the size limit of 512 MiB, refused for its ratio */
    write_bomb("bomb16.docx", (uint64_t)16 << 20);
    expect_error(tmp_path("bomb16.docx"), NULL, OG_ERR_NOMEM, "times its packed size", "passes the limit",
                 (char *)NULL);
    /* and with the text limit lowered, by the XML's size */
    og_docs_limits small = og_docs_default_limits();
    small.max_text_bytes = 1 << 20;
    expect_error(tmp_path("bomb16.docx"), &small, OG_ERR_NOMEM, "passes the limit of 8 MiB", (char *)NULL);
}

/* ---- no input crashes a reader ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Reads path; whatever happens, the result is well-formed or the error
 * has a message. */
static void survive(const char *path)
{
    og_docs_text t;
    og_error err = { 0 };
    og_status s = og_docs_extract(path, NULL, &t, &err);
    if (s != OG_OK) {
        CHECK(err.message[0] != 0, "%s: failure %s without a message", path, og_status_name(s));
        CHECK(t.pages == NULL, "%s: output not zeroed", path);
        return;
    }
    CHECK(t.n_pages == 1, "%s: %d pages", path, t.n_pages);
    for (int32_t p = 0; p < t.n_pages; p++) {
        const og_docs_page *pg = &t.pages[p];
        CHECK(pg->text && strlen(pg->text) == pg->n_bytes, "%s: text length", path);
        CHECK(og_docs_invalid_utf8(pg->text, pg->n_bytes) < 0, "%s: text is not UTF-8", path);
        int64_t cps = og_docs_code_points(pg->text, pg->n_bytes), prev = 0;
        for (int32_t h = 0; h < pg->n_headings; h++) {
            const og_docs_heading *hd = &pg->headings[h];
            CHECK(hd->start >= prev && hd->start < hd->end && hd->end <= cps && hd->level >= 1 && hd->level <= 6,
                  "%s: heading %d [%lld,%lld) level %d of %lld code points", path, h, (long long)hd->start,
                  (long long)hd->end, hd->level, (long long)cps);
            prev = hd->end;
        }
    }
    og_docs_text_free(&t);
}

static void test_fuzzish(void)
{
    static const char *const names[] = { "r.txt", "r.md", "r.html", "r.docx" };
    unsigned char buf[2048];
    for (int i = 0; i < 400; i++) {
        size_t n = next_random() % sizeof buf;
        for (size_t k = 0; k < n; k++) {
            uint64_t r = next_random();
            /* mostly markup-ish bytes, so parsers go past their first check */
            buf[k] = (r & 3) ? (unsigned char)"<>/#=-`~ \n\rpah1&;w:tPK\xC3\xA9"[(r >> 8) % 25]
                             : (unsigned char)(r >> 16);
        }
        if (i % 4 == 3 && n >= 4)
            memcpy(buf, "PK\3\4", 4);
        write_file(names[i % 4], buf, n);
        survive(tmp_path(names[i % 4]));
    }
    /* every fixture cut at many lengths, and the DOCX with bytes flipped */
    const char *fixtures[][2] = { { FIXTURE("sample.md"), "cut.md" },
                                  { FIXTURE("sample.html"), "cut.html" },
                                  { FIXTURE("sample.txt"), "cut.txt" },
                                  { "report.docx", "cut.docx" } };
    for (int f = 0; f < 4; f++) {
        const char *src = f == 3 ? tmp_path(fixtures[f][0]) : fixtures[f][0];
        size_t n;
        char *whole = og_test_read_file(src, &n);
        if (!whole)
            continue;
        size_t step = n / 60 + 1;
        for (size_t len = 0; len <= n; len += step) {
            write_file(fixtures[f][1], whole, len);
            survive(tmp_path(fixtures[f][1]));
        }
        for (int i = 0; f == 3 && i < 200; i++) {
            char *copy = malloc(n);
            if (!copy)
                break;
            memcpy(copy, whole, n);
            for (int k = 0; k < 3; k++)
                copy[next_random() % n] = (char)next_random();
            write_file("flip.docx", copy, n);
            survive(tmp_path("flip.docx"));
            free(copy);
        }
        free(whole);
    }
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_markdown();
    test_plain();
    test_html();
    test_docx();
    test_bomb();
    test_fuzzish();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return og_test_finish("test_docs_extract");
}
