/*
 * extract.c - picks the reader for a file (by its first bytes, then its
 * name) and owns what the readers share: the limits, the growing text
 * buffer that enforces them, UTF-8 checks and code-point counts, and
 * freeing an extracted text.
 */
#include "docs/extract.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

og_docs_limits og_docs_default_limits(void)
{
    og_docs_limits l = { 0 };
    l.max_file_bytes = (uint64_t)256 << 20;
    l.max_text_bytes = (uint64_t)64 << 20;
    l.max_pages = 20000;
    l.timeout_seconds = 120;
    l.ocr = true;
    l.ocr_min_chars = 20;
    l.ocr_dpi = 300;
    return l;
}

void og_docs_text_free(og_docs_text *t)
{
    if (!t)
        return;
    for (int32_t i = 0; i < t->n_pages; i++) {
        free(t->pages[i].text);
        free(t->pages[i].headings);
    }
    free(t->pages);
    memset(t, 0, sizeof *t);
}

og_status og_docs_buf_add(og_docs_buf *b, const char *s, size_t n, og_error *err)
{
    if (b->limit && (uint64_t)b->len + n > b->limit)
        return og_error_set(err, OG_ERR_NOMEM, "extracted text passes the limit of %llu MiB",
                            (unsigned long long)(b->limit >> 20));
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return og_error_set(err, OG_ERR_NOMEM, "out of memory for %zu bytes of text", cap);
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
    return OG_OK;
}

int64_t og_docs_code_points(const char *s, size_t n)
{
    int64_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xC0) != 0x80; /* every byte but continuations */
    return count;
}

int64_t og_docs_invalid_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, min = 0x10000;
        } else {
            return (int64_t)i;
        }
        if (i + len > n)
            return (int64_t)i;
        unsigned cp = c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return (int64_t)i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        /* overlong forms, surrogates and code points past U+10FFFF */
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return (int64_t)i;
        i += len;
    }
    return -1;
}

static bool has_extension(const char *path, const char *const *exts)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash))
        return false;
    for (; *exts; exts++)
        if (!strcasecmp(dot + 1, *exts))
            return true;
    return false;
}

og_status og_docs_extract(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    og_docs_limits defaults = og_docs_default_limits();
    if (!lim)
        lim = &defaults;
    struct stat st;
    if (stat(path, &st) != 0)
        return og_error_set(err, OG_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return og_error_set(err, OG_ERR_ARG, "%s: not a regular file", path);
    if ((uint64_t)st.st_size > lim->max_file_bytes)
        return og_error_set(err, OG_ERR_NOMEM, "%s: %llu MiB, over the limit of %llu MiB per file", path,
                            (unsigned long long)((uint64_t)st.st_size >> 20),
                            (unsigned long long)(lim->max_file_bytes >> 20));
    unsigned char head[8] = { 0 };
    FILE *f = fopen(path, "rb");
    if (!f)
        return og_error_set(err, OG_ERR_IO, "%s: %s", path, strerror(errno));
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    static const char *const md[] = { "md", "markdown", NULL }, *const html[] = { "html", "htm", "xhtml", NULL },
                             *const docx[] = { "docx", NULL };
    if (got >= 5 && !memcmp(head, "%PDF-", 5))
        return og_docs_extract_pdf(path, lim, out, err);
    if (got >= 4 && !memcmp(head, "PK\3\4", 4)) {
        if (has_extension(path, docx))
            return og_docs_extract_docx(path, lim, out, err);
        return og_error_set(err, OG_ERR_UNSUPPORTED, "%s: a zip archive that is not a .docx document", path);
    }
    const bool png = got >= 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8);
    const bool jpeg = got >= 3 && !memcmp(head, "\xff\xd8\xff", 3);
    const bool tiff = got >= 4 && (!memcmp(head, "II*\0", 4) || !memcmp(head, "MM\0*", 4));
    if (png || jpeg || tiff)
        return og_docs_extract_image(path, lim, out, err);
    if (has_extension(path, html))
        return og_docs_extract_html(path, lim, out, err);
    return og_docs_extract_plain(path, has_extension(path, md), lim, out, err);
}
