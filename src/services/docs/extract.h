/*
 * extract.h - a document's text as the documents service reads it: pages
 * of UTF-8 text with their headings, and where every character came from.
 * extract.c picks the reader by the file's content and name; one file per
 * kind reads it (extract_plain.c, extract_html.c, extract_docx.c,
 * extract_pdf.c, ocr.c).
 *
 * Offsets: every start/end in the service counts Unicode code points from
 * the start of its page's text, so that Python's page_text[start:end] is
 * the span. Page texts are stored as extracted, so spans stay checkable.
 */
#ifndef OG_DOCS_EXTRACT_H
#define OG_DOCS_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offgrid.h"

/* A heading inside a page's text: [start, end) is its own text. */
typedef struct og_docs_heading {
    int64_t start, end; /* code points */
    int32_t level;      /* 1 (title) .. 6 */
} og_docs_heading;

/* One page: text is valid UTF-8, NUL-terminated, with no NUL inside;
 * paragraphs are separated by a blank line ("\n\n"), so the chunker can
 * cut by structure whatever the source format was. */
typedef struct og_docs_page {
    int32_t number; /* 1-based page number; 0 for kinds without pages */
    char *text;     /* owned */
    size_t n_bytes; /* strlen(text) */
    og_docs_heading *headings; /* owned, in order; NULL when none */
    int32_t n_headings;
    bool ocr;         /* the text came from OCR */
    float ocr_confidence; /* Tesseract's mean confidence, 0..100, when ocr */
} og_docs_page;

typedef struct og_docs_text {
    char kind[8];        /* "text", "md", "html", "docx", "pdf", "image" */
    og_docs_page *pages; /* owned */
    int32_t n_pages;     /* >= 1 on success (a page may be empty) */
} og_docs_text;

/* What one file may cost. A file past a limit is refused with a clear
 * error (OG_ERR_NOMEM names the limit), never read in part. */
typedef struct og_docs_limits {
    uint64_t max_file_bytes;  /* default 256 MiB */
    uint64_t max_text_bytes;  /* extracted text of the whole file (zip bombs); default 64 MiB */
    int32_t max_pages;        /* default 20000 */
    int32_t timeout_seconds;  /* per external process (pdftotext, pdftoppm); default 120 */
    bool ocr;                 /* may OCR pages without text and images; default true */
    int32_t ocr_min_chars;    /* a PDF page with fewer non-space characters is OCR'd; default 20 */
    int32_t ocr_dpi;          /* rendering resolution for OCR; default 300 */
} og_docs_limits;

og_docs_limits og_docs_default_limits(void);

/* Reads the file at path into *out (og_docs_text_free it; zeroed on
 * failure). The kind comes from the content first (%PDF-, a zip with
 * word/document.xml, PNG/JPEG/TIFF magic, NUL bytes = binary) and the
 * extension second (.md/.markdown, .html/.htm/.xhtml, everything else
 * readable as UTF-8 is text). Errors name the file's problem:
 * OG_ERR_FORMAT for binary data in a text file, invalid UTF-8 (with the
 * byte offset), corrupt PDF/DOCX; OG_ERR_UNSUPPORTED for a
 * password-protected PDF, a kind it cannot read or a missing helper
 * program (pdftotext); OG_ERR_NOMEM past lim; OG_ERR_IO when unreadable. */
og_status og_docs_extract(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err);

/* The readers og_docs_extract dispatches to; same contract. */
og_status og_docs_extract_plain(const char *path, bool markdown, const og_docs_limits *lim, og_docs_text *out,
                                og_error *err);
og_status og_docs_extract_html(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err);
og_status og_docs_extract_docx(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err);
og_status og_docs_extract_pdf(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err);
og_status og_docs_extract_image(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err);

/* Frees what *t owns and zeroes it (NULL or zeroed: nothing). */
void og_docs_text_free(og_docs_text *t);

/* Helpers shared by the readers (extract.c). */
/* Appends n bytes to a growing page text, keeping max_text_bytes (over it:
 * OG_ERR_NOMEM naming the limit). */
typedef struct og_docs_buf {
    char *data;
    size_t len, cap;
    uint64_t limit;
} og_docs_buf;
og_status og_docs_buf_add(og_docs_buf *b, const char *s, size_t n, og_error *err);
/* The code-point count of s[0..n) (valid UTF-8). */
int64_t og_docs_code_points(const char *s, size_t n);
/* The offset of the first invalid UTF-8 byte in s[0..n), or -1. */
int64_t og_docs_invalid_utf8(const char *s, size_t n);

#endif
