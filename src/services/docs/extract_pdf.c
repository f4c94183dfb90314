/*
 * extract_pdf.c - reads a PDF page by page through poppler-utils, run as
 * separate processes because Poppler is GPL and must not be linked into
 * liboffgrid: pdfinfo for the page count and to tell an encrypted or
 * damaged file, pdftotext (default reading order) for the text, a batch
 * of pages per run so that one run's time and output stay bounded. Pages
 * with almost no text are OCR'd (ocr.c) when the limits allow it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "docs/extract.h"
#include "docs/ocr.h"
#include "docs/subprocess.h"

/* Pages per pdftotext run: at a few KB a page, a run prints about a
 * megabyte and takes well under a second on a large manual. */
#define PDF_BATCH 256

static const char POPPLER[] = "poppler-utils";

/* Turns a helper that ran and failed into the file's error. */
static og_status helper_failed(const char *path, const char *tool, const og_docs_proc *res, og_error *err)
{
    if (strstr(res->err_text, "Incorrect password"))
        return og_error_set(err, OG_ERR_UNSUPPORTED, "%s is encrypted (password protected)", path);
    char why[256];
    og_docs_proc_reason(res, why, sizeof why);
    if (res->exit_code < 0)
        return og_error_set(err, OG_ERR_FORMAT, "%s: %s crashed or ran out of memory on this file%s%s", path, tool,
                            why[0] ? ": " : "", why);
    if (why[0])
        return og_error_set(err, OG_ERR_FORMAT, "%s: a damaged PDF (%s: %s)", path, tool, why);
    return og_error_set(err, OG_ERR_FORMAT, "%s: a damaged PDF (%s exited with status %d)", path, tool,
                        res->exit_code);
}

/* The page count pdfinfo reports; refuses encrypted, damaged and too
 * long files. */
static og_status count_pages(const char *path, const char *arg, const og_docs_limits *lim, int32_t *pages,
                             og_error *err)
{
    const char *argv[] = { "pdfinfo", arg, NULL };
    og_docs_proc res;
    og_status st = og_docs_run(argv, POPPLER, 4 << 20, lim->timeout_seconds, &res, err);
    if (st == OG_OK && res.exit_code != 0)
        st = helper_failed(path, "pdfinfo", &res, err);
    else if (st != OG_OK)
        og_error_prefix(err, "%s", path);
    long n = -1;
    for (const char *line = res.out; st == OG_OK && line && *line;) {
        if (!strncmp(line, "Pages:", 6)) {
            char *end;
            n = strtol(line + 6, &end, 10);
            break;
        }
        const char *eol = strchr(line, '\n');
        line = eol ? eol + 1 : NULL;
    }
    og_docs_proc_free(&res);
    if (st != OG_OK)
        return st;
    if (n <= 0)
        return og_error_set(err, OG_ERR_FORMAT, "%s: a damaged PDF (pdfinfo finds no pages)", path);
    if (n > lim->max_pages)
        return og_error_set(err, OG_ERR_NOMEM, "%s: %ld pages, over the limit of %d pages per file", path, n,
                            (int)lim->max_pages);
    *pages = (int32_t)n;
    return OG_OK;
}

/* Fills out->pages[first-1 .. last-1] from one pdftotext run; *total
 * counts the text kept so far against lim->max_text_bytes. */
static og_status read_batch(const char *path, const char *arg, int32_t first, int32_t last,
                            const og_docs_limits *lim, og_docs_text *out, uint64_t *total, og_error *err)
{
    char f[16], l[16];
    snprintf(f, sizeof f, "%d", (int)first);
    snprintf(l, sizeof l, "%d", (int)last);
    /* no -q: pdftotext's reason for refusing a file is on its stderr */
    const char *argv[] = { "pdftotext", "-enc", "UTF-8", "-f", f, "-l", l, arg, "-", NULL };
    og_docs_proc res;
    uint64_t cap = lim->max_text_bytes ? lim->max_text_bytes : UINT64_MAX;
    og_status st = og_docs_run(argv, POPPLER, cap, lim->timeout_seconds, &res, err);
    if (st != OG_OK) {
        bool over = st == OG_ERR_NOMEM && res.over_cap;
        og_docs_proc_free(&res);
        if (over)
            return og_error_set(err, st, "%s: extracted text passes the limit of %llu bytes", path,
                                (unsigned long long)cap);
        og_error_prefix(err, "%s", path);
        return st;
    }
    if (res.exit_code != 0) {
        st = helper_failed(path, "pdftotext", &res, err);
        og_docs_proc_free(&res);
        return st;
    }
    /* every page ends with a form feed, an empty page too */
    const char *p = res.out, *end = res.out + res.out_len;
    for (int32_t page = first; page <= last && st == OG_OK; page++) {
        const char *ff = p < end ? memchr(p, '\f', (size_t)(end - p)) : NULL;
        const char *stop = ff ? ff : end;
        og_docs_page *pg = &out->pages[page - 1];
        pg->number = page;
        st = og_docs_tidy_text(p, (size_t)(stop - p), &pg->text, &pg->n_bytes, err);
        if (st == OG_OK) {
            *total += pg->n_bytes;
            if (lim->max_text_bytes && *total > lim->max_text_bytes)
                st = og_error_set(err, OG_ERR_NOMEM, "%s: extracted text passes the limit of %llu MiB", path,
                                  (unsigned long long)(lim->max_text_bytes >> 20));
        }
        p = ff ? ff + 1 : end;
    }
    og_docs_proc_free(&res);
    return st;
}

/* OCRs the pages with fewer than lim->ocr_min_chars visible characters;
 * the OCR text replaces a page's own when it finds more. One Tesseract
 * engine serves the whole document. */
static og_status ocr_pages(const char *path, const char *arg, const og_docs_limits *lim, og_docs_text *out,
                           uint64_t *total, og_error *err)
{
    og_docs_ocr *ocr = NULL;
    og_status st = OG_OK;
    for (int32_t i = 0; i < out->n_pages && st == OG_OK; i++) {
        og_docs_page *pg = &out->pages[i];
        size_t own = og_docs_non_space(pg->text, pg->n_bytes);
        if (own >= (size_t)(lim->ocr_min_chars > 0 ? lim->ocr_min_chars : 0))
            continue;
        if (!ocr && (st = og_docs_ocr_open(&ocr, err)) != OG_OK)
            break;
        char *text;
        size_t n;
        float conf;
        st = og_docs_ocr_pdf_page(ocr, arg, pg->number, lim, &text, &n, &conf, err);
        if (st != OG_OK)
            break;
        if (og_docs_non_space(text, n) <= own) {
            free(text);
            continue;
        }
        *total = *total - pg->n_bytes + n;
        free(pg->text);
        pg->text = text;
        pg->n_bytes = n;
        pg->ocr = true;
        pg->ocr_confidence = conf;
        if (lim->max_text_bytes && *total > lim->max_text_bytes)
            st = og_error_set(err, OG_ERR_NOMEM, "%s: extracted text passes the limit of %llu MiB", path,
                              (unsigned long long)(lim->max_text_bytes >> 20));
    }
    og_docs_ocr_close(ocr);
    return st;
}

og_status og_docs_extract_pdf(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    og_docs_limits defaults = og_docs_default_limits();
    if (!lim)
        lim = &defaults;
    struct stat st_file;
    if (stat(path, &st_file) != 0)
        return og_error_set(err, OG_ERR_IO, "%s: %s", path, strerror(errno));
    if ((uint64_t)st_file.st_size > lim->max_file_bytes)
        return og_error_set(err, OG_ERR_NOMEM, "%s: %llu MiB, over the limit of %llu MiB per file", path,
                            (unsigned long long)((uint64_t)st_file.st_size >> 20),
                            (unsigned long long)(lim->max_file_bytes >> 20));
    /* a name starting with '-' would be read as an option by the helpers */
    char *arg = malloc(strlen(path) + 3);
    if (!arg)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    snprintf(arg, strlen(path) + 3, "%s%s", path[0] == '-' ? "./" : "", path);

    int32_t pages = 0;
    og_status st = count_pages(path, arg, lim, &pages, err);
    if (st == OG_OK) {
        out->pages = calloc((size_t)pages, sizeof *out->pages);
        if (!out->pages)
            st = og_error_set(err, OG_ERR_NOMEM, "%s: out of memory for %d pages", path, (int)pages);
    }
    uint64_t total = 0;
    if (st == OG_OK) {
        out->n_pages = pages; /* pages not read yet are zeroed: og_docs_text_free copes */
        snprintf(out->kind, sizeof out->kind, "pdf");
        for (int32_t first = 1; first <= pages && st == OG_OK; first += PDF_BATCH) {
            int32_t last = pages - first < PDF_BATCH ? pages : first + PDF_BATCH - 1;
            st = read_batch(path, arg, first, last, lim, out, &total, err);
        }
    }
    if (st == OG_OK && lim->ocr)
        st = ocr_pages(path, arg, lim, out, &total, err);
    free(arg);
    if (st != OG_OK)
        og_docs_text_free(out);
    return st;
}
