/*
 * extract_plain.c - the reader for plain text and Markdown files. The file
 * is read whole (it is bounded by the limits), refused when it looks like
 * binary data or is not UTF-8, and kept as written apart from a leading
 * byte-order mark and CR/CRLF line ends (made LF), so that a span of the
 * page is a span of the file's text. For Markdown it records the ATX and
 * setext headings, outside fenced code blocks.
 */
#include "docs/extract.h"
#include "docs/extract_para.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More than this share of control characters (in tenths) is binary data. */
enum { BINARY_CONTROL_TENTHS = 1 };

static bool is_control(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r') || c == 0x7F;
}

/* The offset of the first byte that makes s[0..n) binary data (a NUL, or
 * the first control character when they are too many), or -1. */
static int64_t binary_at(const char *s, size_t n)
{
    const char *nul = memchr(s, 0, n);
    if (nul)
        return nul - s;
    size_t controls = 0;
    int64_t first = -1;
    for (size_t i = 0; i < n; i++)
        if (is_control((unsigned char)s[i])) {
            if (first < 0)
                first = (int64_t)i;
            controls++;
        }
    return controls * 10 > n * BINARY_CONTROL_TENTHS ? first : -1;
}

/* ---- Markdown headings ---- */

typedef struct heading_list {
    og_docs_heading *v;
    int32_t n, cap;
} heading_list;

static og_status add_heading(heading_list *h, int64_t start, int64_t end, int32_t level, og_error *err)
{
    if (end <= start)
        return OG_OK;
    if (h->n == h->cap) {
        int32_t cap = h->cap ? h->cap * 2 : 16;
        og_docs_heading *grown = realloc(h->v, (size_t)cap * sizeof *grown);
        if (!grown)
            return og_error_set(err, OG_ERR_NOMEM, "out of memory for %d headings", cap);
        h->v = grown;
        h->cap = cap;
    }
    h->v[h->n++] = (og_docs_heading){ .start = start, .end = end, .level = level };
    return OG_OK;
}

/* The line s[0..n) without its indentation of up to 3 spaces; -1 when it
 * is indented more (a code line in Markdown). */
static int indent_of(const char *s, size_t n)
{
    int i = 0;
    while ((size_t)i < n && s[i] == ' ' && i < 4)
        i++;
    if ((size_t)i < n && (i == 4 || s[i] == '\t'))
        return -1;
    return i;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* A fence line: up to 3 spaces, then 3+ backticks or tildes. Returns the
 * fence's length and sets *ch, or 0. */
static size_t fence_of(const char *s, size_t n, char *ch)
{
    int in = indent_of(s, n);
    if (in < 0)
        return 0;
    size_t i = (size_t)in, k = i;
    if (i >= n || (s[i] != '`' && s[i] != '~'))
        return 0;
    while (k < n && s[k] == s[i])
        k++;
    if (k - i < 3)
        return 0;
    if (s[i] == '`' && memchr(s + k, '`', n - k)) /* a backtick fence's info has none */
        return 0;
    *ch = s[i];
    return k - i;
}

/* A setext underline: up to 3 spaces, a run of '=' (level 1) or '-'
 * (level 2), trailing spaces. Returns the level or 0. */
static int underline_of(const char *s, size_t n)
{
    int in = indent_of(s, n);
    if (in < 0 || (size_t)in >= n || (s[in] != '=' && s[in] != '-'))
        return 0;
    size_t i = (size_t)in;
    char c = s[i];
    while (i < n && s[i] == c)
        i++;
    if (!blank(s + i, n - i))
        return 0;
    return c == '=' ? 1 : 2;
}

/* An ATX heading: up to 3 spaces, 1-6 '#', then a space or the line's
 * end. Sets [*hs, *he) to its text (without the marks, the optional
 * closing run of '#' and the spaces around) and returns its level, or 0. */
static int atx_of(const char *s, size_t n, size_t *hs, size_t *he)
{
    int in = indent_of(s, n);
    if (in < 0)
        return 0;
    size_t i = (size_t)in, k = i;
    while (k < n && s[k] == '#')
        k++;
    int level = (int)(k - i);
    if (level < 1 || level > 6 || (k < n && s[k] != ' ' && s[k] != '\t'))
        return 0;
    size_t a = k, b = n;
    while (a < b && (s[a] == ' ' || s[a] == '\t'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
        b--;
    size_t c = b; /* a closing sequence is a run of '#' after a space (or all of it) */
    while (c > a && s[c - 1] == '#')
        c--;
    if (c < b && (c == a || s[c - 1] == ' ' || s[c - 1] == '\t')) {
        b = c;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
    }
    *hs = a;
    *he = b;
    return level;
}

/* A thematic break: up to 3 spaces, then 3+ of one of '-', '*', '_' with
 * only spaces between them. */
static bool thematic(const char *s, size_t n)
{
    int in = indent_of(s, n);
    if (in < 0 || (size_t)in >= n || (s[in] != '-' && s[in] != '*' && s[in] != '_'))
        return false;
    char c = s[in];
    int count = 0;
    for (size_t i = (size_t)in; i < n; i++) {
        if (s[i] == c)
            count++;
        else if (s[i] != ' ' && s[i] != '\t')
            return false;
    }
    return count >= 3;
}

/* A line that opens a list item or a block quote: an underline after it
 * is a thematic break or a lazy line, not a setext heading. */
static bool container_start(const char *s, size_t n, int in)
{
    size_t i = (size_t)in;
    if (i >= n)
        return false;
    if (s[i] == '>')
        return true;
    if ((s[i] == '-' || s[i] == '*' || s[i] == '+') && (i + 1 == n || s[i + 1] == ' ' || s[i + 1] == '\t'))
        return true;
    size_t k = i;
    while (k < n && k - i < 9 && s[k] >= '0' && s[k] <= '9')
        k++;
    return k > i && k < n && (s[k] == '.' || s[k] == ')') && (k + 1 == n || s[k + 1] == ' ' || s[k + 1] == '\t');
}

/* Walks the lines of text[0..n) (LF line ends) and records its headings. */
static og_status markdown_headings(const char *text, size_t n, heading_list *h, og_error *err)
{
    int64_t cp = 0;           /* code points before the current line */
    size_t fence_len = 0;     /* inside a fenced code block when > 0 */
    char fence_ch = 0;
    bool para = false, para_ok = false; /* a paragraph is open; it may become a setext heading */
    int64_t para_start = 0, para_end = 0; /* its text, in code points */
    for (size_t ls = 0; ls <= n;) {
        const char *nl = memchr(text + ls, '\n', n - ls);
        size_t le = nl ? (size_t)(nl - text) : n;
        const char *s = text + ls;
        size_t len = le - ls;
        int64_t line_cp = og_docs_code_points(s, len);
        char ch;
        size_t fl;
        og_status st = OG_OK;
        if (fence_len) {
            if ((fl = fence_of(s, len, &ch)) >= fence_len && ch == fence_ch) {
                size_t k = 0;
                while (k < len && (s[k] == ' ' || s[k] == '`' || s[k] == '~'))
                    k++;
                if (blank(s + k, len - k))
                    fence_len = 0;
            }
        } else if (blank(s, len)) {
            para = false;
        } else if ((fl = fence_of(s, len, &ch)) > 0) {
            fence_len = fl, fence_ch = ch, para = false;
        } else {
            size_t hs = 0, he = 0;
            int level = atx_of(s, len, &hs, &he);
            int under = para ? underline_of(s, len) : 0;
            if (level) {
                st = add_heading(h, cp + og_docs_code_points(s, hs), cp + og_docs_code_points(s, he), level, err);
                para = false;
            } else if (under) {
                if (para_ok)
                    st = add_heading(h, para_start, para_end, under, err);
                para = false;
            } else if (thematic(s, len)) {
                para = false;
            } else {
                int in = indent_of(s, len);
                if (!para && in < 0) {
                    /* an indented code line: no paragraph */
                } else {
                    size_t a = 0, b = len;
                    while (a < b && (s[a] == ' ' || s[a] == '\t'))
                        a++;
                    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
                        b--;
                    if (!para) {
                        para = true;
                        para_ok = !container_start(s, len, in < 0 ? 0 : in);
                        para_start = cp + og_docs_code_points(s, a);
                    }
                    para_end = cp + og_docs_code_points(s, b);
                }
            }
        }
        if (st != OG_OK)
            return st;
        cp += line_cp + (nl ? 1 : 0);
        if (!nl)
            break;
        ls = le + 1;
    }
    return OG_OK;
}

og_status og_docs_extract_plain(const char *path, bool markdown, const og_docs_limits *lim, og_docs_text *out,
                                og_error *err)
{
    memset(out, 0, sizeof *out);
    og_docs_limits defaults = og_docs_default_limits();
    if (!lim)
        lim = &defaults;
    char *data;
    size_t n;
    /* the text is the file: both limits bound it */
    uint64_t max = lim->max_file_bytes < lim->max_text_bytes ? lim->max_file_bytes : lim->max_text_bytes;
    og_status s = og_docs_read_whole(path, max, &data, &n, err);
    if (s != OG_OK)
        return s;
    size_t bom = n >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3) ? 3 : 0;
    int64_t at = binary_at(data, n);
    int64_t bad = at < 0 ? og_docs_invalid_utf8(data + bom, n - bom) : -1;
    if (at >= 0)
        s = og_error_set(err, OG_ERR_FORMAT, "%s: binary data at byte %lld, not text", path, (long long)at);
    else if (bad >= 0)
        s = og_error_set(err, OG_ERR_FORMAT, "%s: not valid UTF-8 at byte %lld", path, (long long)(bad + (int64_t)bom));
    if (s != OG_OK) {
        free(data);
        return s;
    }
    /* Drop the BOM and make every line end LF, in place (it only shrinks). */
    size_t w = 0;
    for (size_t r = bom; r < n; r++) {
        if (data[r] == '\r') {
            data[w++] = '\n';
            if (r + 1 < n && data[r + 1] == '\n')
                r++;
        } else {
            data[w++] = data[r];
        }
    }
    data[w] = 0;
    heading_list h = { 0 };
    if (markdown)
        s = markdown_headings(data, w, &h, err);
    if (s == OG_OK && !(out->pages = calloc(1, sizeof *out->pages)))
        s = og_error_set(err, OG_ERR_NOMEM, "out of memory");
    if (s != OG_OK) {
        free(h.v);
        free(data);
        return s;
    }
    snprintf(out->kind, sizeof out->kind, "%s", markdown ? "md" : "text");
    out->n_pages = 1;
    out->pages[0].number = 0;
    out->pages[0].text = data;
    out->pages[0].n_bytes = w;
    out->pages[0].headings = h.v;
    out->pages[0].n_headings = h.n;
    return OG_OK;
}
