/*
 * test_docs_pdf.c - the documents service's PDF and image readers:
 * pdftotext pages split and tidied exactly, OCR of a scanned PDF and of a
 * PNG (Tesseract), and the errors of encrypted, truncated and fake PDFs,
 * of a helper that hangs and of missing poppler-utils; plus the helper
 * runner itself (output cap, stderr, timeout, missing program). Every PDF
 * is written by this test (a few objects with Helvetica text and a
 * correct xref); the scanned one is a page of it rendered by pdftoppm and
 * wrapped by img2pdf (Debian's img2pdf, listed in tools/setup.sh).
 * Exits 77 (skipped) without poppler-utils.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "docs/extract.h"
#include "docs/ocr.h"
#include "docs/subprocess.h"
#include "testlib.h"

static char tmp[256];

static const char *tpath(const char *name)
{
    static char buf[4][512];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmp, name);
    return buf[slot];
}

/* Writes a letter-size PDF whose page i shows content[i] (a content
 * stream using font /F1, Helvetica); encrypted adds a standard security
 * handler whose user password is not empty, so readers must refuse it. */
static bool write_pdf(const char *path, const char *const *content, int n_pages, bool encrypted)
{
    og_test_buf b = { 0 };
    size_t off[64];
    char t[1024];
    int id = 1;
#define PUT(s) og_test_buf_put(&b, (s), strlen(s))
    PUT("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    off[id] = b.n;
    PUT("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    off[++id] = b.n;
    PUT("2 0 obj\n<< /Type /Pages /Kids [");
    for (int i = 0; i < n_pages; i++) {
        snprintf(t, sizeof t, "%d 0 R ", 4 + 2 * i);
        PUT(t);
    }
    snprintf(t, sizeof t, "] /Count %d >>\nendobj\n", n_pages);
    PUT(t);
    off[++id] = b.n;
    PUT("3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");
    for (int i = 0; i < n_pages; i++) {
        off[++id] = b.n;
        snprintf(t, sizeof t,
                 "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R "
                 ">> >> /Contents %d 0 R >>\nendobj\n",
                 id, id + 1);
        PUT(t);
        off[++id] = b.n;
        snprintf(t, sizeof t, "%d 0 obj\n<< /Length %zu >>\nstream\n%s\nendstream\nendobj\n", id,
                 strlen(content[i]), content[i]);
        PUT(t);
    }
    if (encrypted) {
        off[++id] = b.n;
        snprintf(t, sizeof t,
                 "%d 0 obj\n<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -44 >>\nendobj\n", id,
                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
        PUT(t);
    }
    size_t xref = b.n;
    snprintf(t, sizeof t, "xref\n0 %d\n0000000000 65535 f \n", id + 1);
    PUT(t);
    for (int i = 1; i <= id; i++) {
        snprintf(t, sizeof t, "%010zu 00000 n \n", off[i]);
        PUT(t);
    }
    char enc[160] = "";
    if (encrypted)
        snprintf(enc, sizeof enc, "/Encrypt %d 0 R /ID [<%s><%s>] ", id, "00112233445566778899aabbccddeeff",
                 "00112233445566778899aabbccddeeff");
    snprintf(t, sizeof t, "trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%zu\n%%%%EOF\n", id + 1, enc, xref);
    PUT(t);
#undef PUT
    FILE *f = fopen(path, "wb");
    bool ok = f && !b.oom && fwrite(b.p, 1, b.n, f) == b.n;
    if (f && fclose(f) != 0)
        ok = false;
    free(b.p);
    if (!ok)
        fprintf(stderr, "cannot write %s\n", path);
    return ok;
}

static bool write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = false;
    return ok;
}

/* Runs a helper for the test's fixtures; true when it exited 0. */
static bool run(const char *const argv[])
{
    og_docs_proc res;
    og_error err = { 0 };
    og_status st = og_docs_run(argv, "the test's tools", 64 << 20, 120, &res, &err);
    bool ok = st == OG_OK && res.exit_code == 0;
    if (!ok)
        fprintf(stderr, "%s failed: %s %s\n", argv[0], err.message, res.err_text);
    og_docs_proc_free(&res);
    return ok;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *const PAGES[3] = {
    "BT /F1 24 Tf 72 700 Td (Alpha bravo charlie) Tj 0 -30 Td (delta echo foxtrot) Tj ET "
    "BT /F1 24 Tf 72 560 Td (Second paragraph golf hotel) Tj ET",
    "BT /F1 24 Tf 72 700 Td (India juliet kilo lima quebec) Tj ET",
    "BT /F1 24 Tf 72 700 Td (Mike november oscar papa romeo) Tj ET",
};
static const char *const PAGE_TEXT[3] = {
    "Alpha bravo charlie\ndelta echo foxtrot\n\nSecond paragraph golf hotel",
    "India juliet kilo lima quebec",
    "Mike november oscar papa romeo",
};

static void test_runner(void)
{
    og_docs_proc res;
    og_error err = { 0 };
    const char *echo[] = { "echo", "hello", NULL };
    CHECK(og_docs_run(echo, "coreutils", 1024, 10, &res, &err) == OG_OK, "%s", err.message);
    CHECK(res.exit_code == 0 && res.out_len == 6 && !strcmp(res.out, "hello\n"), "echo: %d '%s'", res.exit_code,
          res.out ? res.out : "(null)");
    og_docs_proc_free(&res);

    const char *fails[] = { "sh", "-c", "echo 'Syntax Error: broken here' >&2; exit 3", NULL };
    CHECK(og_docs_run(fails, "dash", 1024, 10, &res, &err) == OG_OK, "%s", err.message);
    char why[128];
    og_docs_proc_reason(&res, why, sizeof why);
    CHECK(res.exit_code == 3 && !strcmp(why, "broken here"), "exit %d, reason '%s'", res.exit_code, why);
    og_docs_proc_free(&res);

    const char *big[] = { "head", "-c", "100000", "/dev/zero", NULL };
    CHECK(og_docs_run(big, "coreutils", 1000, 10, &res, &err) == OG_ERR_NOMEM && res.over_cap &&
              !strcmp(err.message, "head printed more than the limit of 1000 bytes"),
          "output cap: %s", err.message);
    og_docs_proc_free(&res);

    /* the bound only shows the child was killed rather than waited for */
    double t0 = seconds();
    const char *slow[] = { "sleep", "30", NULL };
    CHECK(og_docs_run(slow, "coreutils", 1000, 1, &res, &err) == OG_ERR_NOMEM && res.timed_out &&
              strstr(err.message, "timeout"),
          "timeout: %s", err.message);
    CHECK(seconds() - t0 < 20, "the hung child was not stopped: %.1f s", seconds() - t0);
    og_docs_proc_free(&res);

    const char *none[] = { "og-no-such-helper", NULL };
    CHECK(og_docs_run(none, "some-package", 1000, 10, &res, &err) == OG_ERR_UNSUPPORTED &&
              !strcmp(err.message, "og-no-such-helper not found: install some-package"),
          "missing: %s", err.message);
    og_docs_proc_free(&res);
}

static void test_tidy(void)
{
    const char in[] = "  a\tb  \r\n\n \n c\xff d\f\x01\n e\n\n\n";
    char *out;
    size_t n;
    og_error err = { 0 };
    CHECK(og_docs_tidy_text(in, sizeof in - 1, &out, &n, &err) == OG_OK, "%s", err.message);
    CHECK(out && !strcmp(out, "a b\n\nc\xEF\xBF\xBD d\ne") && n == strlen(out), "tidy: '%s'", out ? out : "");
    CHECK(og_docs_non_space(out, n) == 6, "non-space %zu", og_docs_non_space(out, n));
    free(out);
}

static void test_text_pdf(const char *pdf)
{
    og_docs_text t;
    og_error err = { 0 };
    og_status st = og_docs_extract(pdf, NULL, &t, &err);
    CHECK(st == OG_OK, "%s", err.message);
    CHECK(!strcmp(t.kind, "pdf") && t.n_pages == 3, "kind %s, %d pages", t.kind, t.n_pages);
    for (int i = 0; i < t.n_pages && i < 3; i++) {
        const og_docs_page *p = &t.pages[i];
        CHECK(p->number == i + 1 && !p->ocr && p->n_headings == 0, "page %d: number %d ocr %d", i + 1, p->number,
              p->ocr);
        CHECK(!strcmp(p->text, PAGE_TEXT[i]) && p->n_bytes == strlen(PAGE_TEXT[i]), "page %d: '%s'", i + 1,
              p->text);
    }
    og_docs_text_free(&t);

    /* a name that looks like an option to the helpers */
    char cwd[512];
    size_t n;
    char *whole = og_test_read_file(pdf, &n);
    if (whole && getcwd(cwd, sizeof cwd) && chdir(tmp) == 0) {
        if (write_bytes("-dash.pdf", whole, n)) {
            st = og_docs_extract("-dash.pdf", NULL, &t, &err);
            CHECK(st == OG_OK && t.n_pages == 3 && !strcmp(t.pages[2].text, PAGE_TEXT[2]), "-dash.pdf: %s",
                  err.message);
            og_docs_text_free(&t);
        }
        CHECK(chdir(cwd) == 0, "chdir back");
    }
    free(whole);

    og_docs_limits lim = og_docs_default_limits();
    lim.max_pages = 2;
    st = og_docs_extract(pdf, &lim, &t, &err);
    CHECK(st == OG_ERR_NOMEM && strstr(err.message, "limit of 2 pages") && t.n_pages == 0, "%s", err.message);
    lim = og_docs_default_limits();
    lim.max_text_bytes = 40;
    st = og_docs_extract(pdf, &lim, &t, &err);
    CHECK(st == OG_ERR_NOMEM && strstr(err.message, "extracted text passes the limit of 40 bytes") &&
              t.pages == NULL,
          "%s", err.message);
}

static void test_errors(const char *pdf)
{
    og_docs_text t;
    og_error err = { 0 };
    const char *enc = tpath("locked.pdf");
    if (write_pdf(enc, PAGES, 3, true)) {
        og_status st = og_docs_extract(enc, NULL, &t, &err);
        CHECK(st == OG_ERR_UNSUPPORTED && strstr(err.message, "is encrypted (password protected)"), "%d %s", st,
              err.message);
    }
    size_t n;
    char *whole = og_test_read_file(pdf, &n);
    const char *cut = tpath("truncated.pdf");
    if (whole && write_bytes(cut, whole, n / 2)) {
        og_status st = og_docs_extract(cut, NULL, &t, &err);
        CHECK(st == OG_ERR_FORMAT && strstr(err.message, "a damaged PDF (pdfinfo: ") &&
                  strstr(err.message, "xref"),
              "%d %s", st, err.message);
    }
    free(whole);
    static const char fake[] = "%PDF-1.7\ngarbage, not a PDF at all\x01\x02\n";
    const char *bad = tpath("fake.pdf");
    if (write_bytes(bad, fake, sizeof fake - 1)) {
        og_status st = og_docs_extract(bad, NULL, &t, &err);
        CHECK(st == OG_ERR_FORMAT && strstr(err.message, "damaged PDF"), "%d %s", st, err.message);
        CHECK(t.n_pages == 0 && t.pages == NULL, "a failed read leaves nothing");
    }
}

/* Helpers that hang or are missing, by pointing PATH at a folder of
 * stand-ins. */
static void test_helpers(const char *pdf)
{
    const char *old = getenv("PATH");
    char *saved = strdup(old ? old : "/usr/bin:/bin");
    og_docs_text t;
    og_error err = { 0 };
    const char *empty = tpath("empty-bin");
    const char *fakes = tpath("fake-bin");
    mkdir(empty, 0755);
    mkdir(fakes, 0755);

    setenv("PATH", empty, 1);
    og_status st = og_docs_extract(pdf, NULL, &t, &err);
    CHECK(st == OG_ERR_UNSUPPORTED && strstr(err.message, "pdfinfo not found: install poppler-utils"), "%d %s", st,
          err.message);

    /* pdfinfo present, pdftotext missing */
    char real[512] = "";
    char *dirs = strdup(saved);
    for (char *dir = dirs ? strtok(dirs, ":") : NULL; dir; dir = strtok(NULL, ":")) {
        snprintf(real, sizeof real, "%s/pdfinfo", dir);
        if (access(real, X_OK) == 0)
            break;
        real[0] = 0;
    }
    free(dirs);
    const char *link = tpath("fake-bin/pdfinfo");
    if (real[0] && symlink(real, link) == 0) {
        setenv("PATH", fakes, 1);
        st = og_docs_extract(pdf, NULL, &t, &err);
        CHECK(st == OG_ERR_UNSUPPORTED && strstr(err.message, "pdftotext not found: install poppler-utils"),
              "%d %s", st, err.message);
        unlink(link);
    }

    /* a pdfinfo that never ends */
    static const char hang[] = "#!/bin/sh\nexec /bin/sleep 60\n";
    if (write_bytes(link, hang, sizeof hang - 1) && chmod(link, 0755) == 0) {
        setenv("PATH", fakes, 1);
        og_docs_limits lim = og_docs_default_limits();
        lim.timeout_seconds = 1;
        double t0 = seconds();
        st = og_docs_extract(pdf, &lim, &t, &err);
        CHECK(st == OG_ERR_NOMEM && strstr(err.message, "pdfinfo ran past the time limit of 1 s (timeout)"),
              "%d %s", st, err.message);
        CHECK(seconds() - t0 < 30, "a hung pdfinfo was waited for: %.1f s", seconds() - t0);
    }
    setenv("PATH", saved, 1);
    free(saved);
}

static const char *const WORDS[] = { "Alpha", "bravo", "charlie", "foxtrot", "paragraph", "hotel" };

static void check_words(const char *what, const og_docs_page *p)
{
    CHECK(p->ocr && p->ocr_confidence > 50 && p->ocr_confidence <= 100, "%s: ocr %d, confidence %.1f", what, p->ocr,
          p->ocr_confidence);
    for (size_t i = 0; i < sizeof WORDS / sizeof *WORDS; i++)
        CHECK(strstr(p->text, WORDS[i]), "%s: OCR misses '%s' in '%s'", what, WORDS[i], p->text);
    CHECK(og_docs_invalid_utf8(p->text, p->n_bytes) < 0 && p->n_bytes == strlen(p->text), "%s: text", what);
}

static void test_ocr(const char *pdf)
{
    og_docs_ocr *probe;
    og_error err = { 0 };
    if (og_docs_ocr_open(&probe, &err) != OG_OK) {
        printf("test_docs_pdf: OCR parts skipped: %s\n", err.message);
        return;
    }
    og_docs_ocr_close(probe);
    /* a scan: page 1 as a 150 dpi picture in a PDF with no text layer */
    const char *png_root = tpath("scan");
    const char *render[] = { "pdftoppm", "-f", "1", "-l", "1", "-r", "150", "-gray", "-png", "-singlefile", pdf,
                             png_root, NULL };
    if (!run(render))
        return;
    const char *png = tpath("scan.png");
    const char *scanned = tpath("scanned.pdf");
    const char *wrap[] = { "img2pdf", png, "-o", scanned, NULL };
    og_docs_text t;
    if (run(wrap)) {
        og_status st = og_docs_extract(scanned, NULL, &t, &err);
        CHECK(st == OG_OK && !strcmp(t.kind, "pdf") && t.n_pages == 1, "%d %s", st, err.message);
        if (st == OG_OK && t.n_pages == 1) {
            CHECK(t.pages[0].number == 1, "number %d", t.pages[0].number);
            check_words("scanned pdf", &t.pages[0]);
            /* paragraphs survive OCR as blank lines, lines as lines */
            const char *brk = strstr(t.pages[0].text, "\n\n");
            CHECK(brk && strstr(brk, "Second") && !strstr(brk + 2, "\n\n") && strstr(t.pages[0].text, "\ndelta"),
                  "paragraphs in '%s'", t.pages[0].text);
        }
        og_docs_text_free(&t);
        og_docs_limits lim = og_docs_default_limits();
        lim.ocr = false;
        st = og_docs_extract(scanned, &lim, &t, &err);
        CHECK(st == OG_OK && t.n_pages == 1 && !t.pages[0].ocr && !strcmp(t.pages[0].text, ""), "no OCR: %d %s",
              st, err.message);
        og_docs_text_free(&t);
    } else {
        printf("test_docs_pdf: scanned-PDF part skipped: img2pdf is not installed\n");
    }

    og_status st = og_docs_extract(png, NULL, &t, &err);
    CHECK(st == OG_OK && !strcmp(t.kind, "image") && t.n_pages == 1, "%d %s", st, err.message);
    if (st == OG_OK && t.n_pages == 1) {
        CHECK(t.pages[0].number == 1, "number %d", t.pages[0].number);
        check_words("png", &t.pages[0]);
    }
    og_docs_text_free(&t);

    /* a blank page is OCR'd, finds nothing, and stays an empty text page */
    const char *mixed[2] = { PAGES[1], "" };
    const char *blank = tpath("blank.pdf");
    if (write_pdf(blank, mixed, 2, false)) {
        st = og_docs_extract(blank, NULL, &t, &err);
        CHECK(st == OG_OK && t.n_pages == 2, "%d %s", st, err.message);
        if (st == OG_OK && t.n_pages == 2)
            CHECK(!strcmp(t.pages[0].text, PAGE_TEXT[1]) && !t.pages[0].ocr && t.pages[1].number == 2 &&
                      !strcmp(t.pages[1].text, "") && !t.pages[1].ocr,
                  "blank page: '%s' ocr %d", t.pages[1].text, t.pages[1].ocr);
        og_docs_text_free(&t);
    }

    /* 30000 x 30000 pixels in the header: refused before decoding */
    unsigned char huge[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
                             'R', 0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 8, 0, 0, 0, 0, 0, 0, 0, 0,
                             /* IEND: a header reader wants more than the IHDR */
                             0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82 };
    uint32_t crc = 0xFFFFFFFFu; /* the chunk's CRC-32 over its type and data */
    for (int i = 12; i < 29; i++) {
        crc ^= huge[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    crc = ~crc;
    for (int i = 0; i < 4; i++)
        huge[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
    const char *big = tpath("huge.png");
    if (write_bytes(big, huge, sizeof huge)) {
        st = og_docs_extract(big, NULL, &t, &err);
        CHECK(st == OG_ERR_NOMEM && strstr(err.message, "30000 x 30000 pixels, over the limit"), "%d %s", st,
              err.message);
    }

    /* a PNG signature and nothing an image decoder can use */
    static const char broken[] = "\x89PNG\r\n\x1a\nthis is not an image";
    const char *bad = tpath("broken.png");
    if (write_bytes(bad, broken, sizeof broken - 1)) {
        st = og_docs_extract(bad, NULL, &t, &err);
        CHECK(st == OG_ERR_FORMAT && strstr(err.message, "image"), "%d %s", st, err.message);
    }
}

int main(void)
{
    og_docs_proc res;
    const char *probe[] = { "pdftotext", "-v", NULL };
    const char *probe2[] = { "pdftoppm", "-v", NULL };
    og_error err = { 0 };
    if (og_docs_run(probe, "poppler-utils", 1 << 20, 30, &res, &err) != OG_OK ||
        (og_docs_proc_free(&res), og_docs_run(probe2, "poppler-utils", 1 << 20, 30, &res, &err)) != OG_OK) {
        og_docs_proc_free(&res);
        printf("test_docs_pdf: skipped: %s\n", err.message);
        return 77;
    }
    og_docs_proc_free(&res);
    snprintf(tmp, sizeof tmp, "%s/og-docs-pdf-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "mkdtemp failed\n");
        return 1;
    }
    test_runner();
    test_tidy();
    static char pdf[512]; /* tpath's buffers are reused */
    snprintf(pdf, sizeof pdf, "%s", tpath("three.pdf"));
    if (write_pdf(pdf, PAGES, 3, false)) {
        test_text_pdf(pdf);
        test_errors(pdf);
        test_helpers(pdf);
        test_ocr(pdf);
    } else {
        CHECK(false, "cannot write the test PDF");
    }
    const char *rm[] = { "rm", "-rf", tmp, NULL };
    run(rm);
    return og_test_finish("test_docs_pdf");
}
