/*
 * extract_para.h - builds one page of text from a stream of text pieces and
 * structure events (paragraph ends, line breaks, headings), for the readers
 * whose source is a tree (HTML, DOCX): paragraphs come out separated by one
 * blank line, empty paragraphs vanish, and each heading's span is counted
 * in code points as it is written, so no pass over the text is needed.
 */
#ifndef OG_DOCS_EXTRACT_PARA_H
#define OG_DOCS_EXTRACT_PARA_H

#include "docs/extract.h"

typedef struct og_docs_para {
    og_docs_buf buf;
    int64_t cp;              /* code points in buf */
    og_docs_heading *headings;
    int32_t n_headings, cap_headings;
    bool want_para;          /* a paragraph ended: "\n\n" before the next text */
    bool want_line;          /* a line break: "\n" before the next text */
    bool want_space;         /* collapsed white space: " " before the next text */
    int32_t heading_level;   /* > 0 while inside a heading */
    int64_t heading_start;   /* its first code point, -1 until it has text */
} og_docs_para;

/* Starts an empty page whose text may grow to limit bytes (0: no limit). */
void og_docs_para_init(og_docs_para *p, uint64_t limit);
/* Appends s[0..n) (UTF-8). collapse: runs of white space become one space,
 * and none is kept at a paragraph's or line's start or end (HTML outside
 * pre); otherwise the text is kept as it is. */
og_status og_docs_para_text(og_docs_para *p, const char *s, size_t n, bool collapse, og_error *err);
/* Ends the paragraph (the next text starts a new one). */
void og_docs_para_break(og_docs_para *p);
/* A line break inside the paragraph. */
void og_docs_para_line(og_docs_para *p);
/* A word boundary (white space that collapses with its neighbours). */
void og_docs_para_space(og_docs_para *p);
/* A heading of level 1..6 starts: ends the paragraph; nested headings
 * count as part of the outer one. */
void og_docs_para_heading_begin(og_docs_para *p, int32_t level);
/* Ends the heading (recorded when it had text) and its paragraph. */
og_status og_docs_para_heading_end(og_docs_para *p, og_error *err);
/* Moves the text into *out as its one page (number 0) of kind; the text
 * must be valid UTF-8 (else OG_ERR_FORMAT naming path). Frees p's parts
 * either way. */
og_status og_docs_para_finish(og_docs_para *p, const char *kind, const char *path, og_docs_text *out,
                              og_error *err);
/* Frees what p holds (after a failure). */
void og_docs_para_free(og_docs_para *p);

/* Reads the whole file at path into *data (NUL-terminated, malloc'd, the
 * caller frees it; *n bytes), refusing a file over max_bytes (OG_ERR_NOMEM
 * naming the limit) before reading it. */
og_status og_docs_read_whole(const char *path, uint64_t max_bytes, char **data, size_t *n, og_error *err);
/* Initialises libxml2 once per process, whichever thread reads first
 * (xmlInitParser is not safe to race in the libxml2 this builds with). */
void og_docs_xml_init(void);

#endif
