/*
 * ocr.h - what the PDF reader shares with ocr.c: one Tesseract engine kept
 * for a whole document (its start-up reads the language data, so a
 * document pays it once, not per page), OCR of one rendered PDF page, and
 * the text tidying both readers apply to what they extract.
 */
#ifndef OG_DOCS_OCR_H
#define OG_DOCS_OCR_H

#include <stdbool.h>
#include <stddef.h>

#include "docs/extract.h"

typedef struct og_docs_ocr og_docs_ocr;

/* Starts an English Tesseract engine in *out (og_docs_ocr_close it).
 * OG_ERR_UNSUPPORTED with the package to install when the language data
 * is missing. Sets OMP_THREAD_LIMIT=1 in the environment first when it is
 * unset (which libgomp only sees if it was not loaded yet: see ocr.c). */
og_status og_docs_ocr_open(og_docs_ocr **out, og_error *err);
void og_docs_ocr_close(og_docs_ocr *ocr);

/* Renders page (1-based) of the PDF at path with pdftoppm at lim->ocr_dpi
 * (lower when the page would pass the pixel limit) and reads its text:
 * *text (owned, tidied as og_docs_tidy_text does, may be empty), *conf
 * Tesseract's mean confidence 0..100. Errors name the file and page. */
og_status og_docs_ocr_pdf_page(og_docs_ocr *ocr, const char *path, int page, const og_docs_limits *lim,
                               char **text, size_t *n_bytes, float *conf, og_error *err);

/* A tidy copy of s[0..n) in *out (owned, NUL-terminated; *out_len its
 * length): invalid UTF-8 bytes become U+FFFD, control characters (NUL,
 * form feed, tabs, CR) spaces; runs of spaces collapse to one, lines lose
 * their leading and trailing spaces, and lines are joined by "\n" within
 * a paragraph and "\n\n" between paragraphs (a blank line in s ends one);
 * no blank line at either end. OG_ERR_NOMEM when out of memory. */
og_status og_docs_tidy_text(const char *s, size_t n, char **out, size_t *out_len, og_error *err);

/* The number of code points in s[0..n) that are not whitespace. */
size_t og_docs_non_space(const char *s, size_t n);

#endif
