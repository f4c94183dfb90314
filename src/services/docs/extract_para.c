/*
 * extract_para.c - the page builder of extract_para.h: pieces of text and
 * structure events in, one page of paragraphs and headings out. It owns
 * the white-space rules every tree reader shares (no empty paragraphs, no
 * space at a paragraph's edges, one blank line between paragraphs).
 */
#define _POSIX_C_SOURCE 200809L /* fileno */

#include "docs/extract_para.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void og_docs_para_init(og_docs_para *p, uint64_t limit)
{
    memset(p, 0, sizeof *p);
    p->buf.limit = limit;
    p->heading_start = -1;
}

void og_docs_para_free(og_docs_para *p)
{
    free(p->buf.data);
    free(p->headings);
    memset(p, 0, sizeof *p);
}

/* Drops white space at the end of the text, so paragraphs and headings
 * never end in it. A separator is only written right before text that
 * starts with a non-space, so this never eats into one. Every byte dropped
 * is ASCII, one code point each. */
static void trim_end(og_docs_para *p)
{
    while (p->buf.len && is_space((unsigned char)p->buf.data[p->buf.len - 1])) {
        p->buf.data[--p->buf.len] = 0;
        p->cp--;
    }
}

/* Writes the separator the last events asked for before new text. */
static og_status flush(og_docs_para *p, og_error *err)
{
    og_status s = OG_OK;
    if (p->buf.len) {
        if (p->want_para)
            s = og_docs_buf_add(&p->buf, "\n\n", 2, err), p->cp += 2;
        else if (p->want_line)
            s = og_docs_buf_add(&p->buf, "\n", 1, err), p->cp += 1;
        else if (p->want_space)
            s = og_docs_buf_add(&p->buf, " ", 1, err), p->cp += 1;
    }
    p->want_para = p->want_line = p->want_space = false;
    if (s == OG_OK && p->heading_level > 0 && p->heading_start < 0)
        p->heading_start = p->cp;
    return s;
}

static bool at_line_start(const og_docs_para *p)
{
    return !p->buf.len || p->want_para || p->want_line || p->buf.data[p->buf.len - 1] == '\n';
}

static og_status put(og_docs_para *p, const char *s, size_t n, og_error *err)
{
    og_status st = flush(p, err);
    if (st == OG_OK)
        st = og_docs_buf_add(&p->buf, s, n, err);
    if (st == OG_OK)
        p->cp += og_docs_code_points(s, n);
    return st;
}

og_status og_docs_para_text(og_docs_para *p, const char *s, size_t n, bool collapse, og_error *err)
{
    size_t i = 0;
    if (at_line_start(p)) /* no white space opens a paragraph or a line */
        while (i < n && is_space((unsigned char)s[i]))
            i++;
    if (!collapse)
        return i < n ? put(p, s + i, n - i, err) : OG_OK;
    while (i < n) {
        if (is_space((unsigned char)s[i])) {
            while (i < n && is_space((unsigned char)s[i]))
                i++;
            if (p->buf.len && !at_line_start(p))
                p->want_space = true;
            continue;
        }
        size_t j = i;
        while (j < n && !is_space((unsigned char)s[j]))
            j++;
        og_status st = put(p, s + i, j - i, err);
        if (st != OG_OK)
            return st;
        i = j;
    }
    return OG_OK;
}

void og_docs_para_break(og_docs_para *p)
{
    trim_end(p);
    p->want_space = p->want_line = false;
    if (p->buf.len)
        p->want_para = true;
}

void og_docs_para_line(og_docs_para *p)
{
    trim_end(p);
    p->want_space = false;
    if (p->buf.len && !p->want_para)
        p->want_line = true;
}

void og_docs_para_space(og_docs_para *p)
{
    if (p->buf.len && !at_line_start(p))
        p->want_space = true;
}

void og_docs_para_heading_begin(og_docs_para *p, int32_t level)
{
    if (p->heading_level > 0)
        return;
    og_docs_para_break(p);
    p->heading_level = level < 1 ? 1 : level > 6 ? 6 : level;
    p->heading_start = -1;
}

og_status og_docs_para_heading_end(og_docs_para *p, og_error *err)
{
    if (p->heading_level <= 0)
        return OG_OK;
    trim_end(p);
    if (p->heading_start >= 0 && p->cp > p->heading_start) {
        if (p->n_headings == p->cap_headings) {
            int32_t cap = p->cap_headings ? p->cap_headings * 2 : 16;
            og_docs_heading *grown = realloc(p->headings, (size_t)cap * sizeof *grown);
            if (!grown)
                return og_error_set(err, OG_ERR_NOMEM, "out of memory for %d headings", cap);
            p->headings = grown;
            p->cap_headings = cap;
        }
        p->headings[p->n_headings++] =
            (og_docs_heading){ .start = p->heading_start, .end = p->cp, .level = p->heading_level };
    }
    p->heading_level = 0;
    p->heading_start = -1;
    og_docs_para_break(p);
    return OG_OK;
}

og_status og_docs_para_finish(og_docs_para *p, const char *kind, const char *path, og_docs_text *out,
                              og_error *err)
{
    memset(out, 0, sizeof *out);
    og_status s = og_docs_para_heading_end(p, err);
    if (s == OG_OK)
        trim_end(p);
    if (s == OG_OK && !p->buf.data)
        s = og_docs_buf_add(&p->buf, "", 0, err); /* an empty page is still a string */
    int64_t bad = s == OG_OK ? og_docs_invalid_utf8(p->buf.data, p->buf.len) : -1;
    if (s == OG_OK && bad >= 0)
        s = og_error_set(err, OG_ERR_FORMAT, "%s: its text is not valid UTF-8 (byte %lld of the text)", path,
                         (long long)bad);
    if (s == OG_OK && !(out->pages = calloc(1, sizeof *out->pages)))
        s = og_error_set(err, OG_ERR_NOMEM, "out of memory");
    if (s != OG_OK) {
        og_docs_para_free(p);
        return s;
    }
    snprintf(out->kind, sizeof out->kind, "%s", kind);
    out->n_pages = 1;
    og_docs_page *pg = &out->pages[0];
    pg->number = 0;
    pg->text = p->buf.data;
    pg->n_bytes = p->buf.len;
    pg->headings = p->headings;
    pg->n_headings = p->n_headings;
    memset(p, 0, sizeof *p);
    return OG_OK;
}

/* extract_para.h; the size is checked before anything is read. */
og_status og_docs_read_whole(const char *path, uint64_t max_bytes, char **data, size_t *n, og_error *err)
{
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return og_error_set(err, OG_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    og_status s = OG_OK;
    if (fstat(fileno(f), &st) != 0)
        s = og_error_set(err, OG_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        s = og_error_set(err, OG_ERR_ARG, "%s: not a regular file", path);
    uint64_t size = s == OG_OK ? (uint64_t)st.st_size : 0;
    uint64_t limit = max_bytes;
    if (s == OG_OK && size > limit)
        s = og_error_set(err, OG_ERR_NOMEM, "%s: %llu bytes, which passes the limit of %llu bytes per file",
                         path, (unsigned long long)size, (unsigned long long)limit);
    char *buf = NULL;
    if (s == OG_OK && !(buf = malloc((size_t)size + 1)))
        s = og_error_set(err, OG_ERR_NOMEM, "%s: out of memory for %llu bytes", path, (unsigned long long)size);
    size_t got = 0;
    if (s == OG_OK) {
        got = fread(buf, 1, (size_t)size, f);
        if (ferror(f))
            s = og_error_set(err, OG_ERR_IO, "%s: read error", path);
        else if (got != size || fgetc(f) != EOF) /* it shrank or grew since fstat */
            s = og_error_set(err, OG_ERR_IO, "%s: the file changed while it was read", path);
    }
    fclose(f);
    if (s != OG_OK) {
        free(buf);
        return s;
    }
    buf[got] = 0;
    *data = buf;
    *n = got;
    return OG_OK;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

void og_docs_xml_init(void)
{
    pthread_once(&xml_once, xml_init);
}
