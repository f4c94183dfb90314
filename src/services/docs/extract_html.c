/*
 * extract_html.c - the reader for HTML files: libxml2's forgiving HTML
 * parser (it decodes the charset the document declares and its entities,
 * and never touches the network) is fed the file a piece at a time and
 * reports elements and text as events (SAX), so no tree of the document
 * is ever built: memory stays that of the text. The visible text is
 * written in document order; script, style and the head are skipped,
 * block elements end paragraphs, h1-h6 are the headings, and the title
 * heads the page when there is no h1.
 */
#include "docs/extract.h"
#include "docs/extract_para.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>

enum { CHUNK = 64 << 10 };

static bool named(const char *name, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(name, *names))
            return true;
    return false;
}

/* Elements whose content is never shown as text. */
static const char *const skipped[] = { "script", "style", "noscript", "template", "head", "title", "iframe",
                                       "object", "select", "button", NULL };
/* Elements that stand on their own lines: each ends a paragraph. */
static const char *const blocks[] = { "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "thead",
                                      "tbody", "tfoot", "caption", "blockquote", "section", "article", "aside",
                                      "header", "footer", "nav", "main", "figure", "figcaption", "address",
                                      "details", "summary", "form", "fieldset", "legend", "hr", "center",
                                      "body", "html", NULL };

static int heading_level(const char *s)
{
    return (s[0] == 'h' && s[1] >= '1' && s[1] <= '6' && !s[2]) ? s[1] - '0' : 0;
}

typedef struct walker {
    htmlParserCtxtPtr ctxt;
    og_docs_para page;
    int skip;      /* depth inside skipped elements */
    int pre;       /* depth inside pre elements: white space kept there */
    int in_title;  /* inside the first title element: its skip depth */
    bool has_title, has_h1;
    og_docs_para title; /* the title's text, collapsed */
    og_status st;  /* the first failure; the parser is stopped at it */
    og_error *err;
} walker;

static void fail(walker *w, og_status s)
{
    if (s != OG_OK && w->st == OG_OK) {
        w->st = s;
        xmlStopParser(w->ctxt);
    }
}

/* The value of attribute key in atts (name, value, ..., NULL), or NULL. */
static const char *attr(const xmlChar **atts, const char *key)
{
    for (; atts && atts[0]; atts += 2)
        if (!strcasecmp((const char *)atts[0], key))
            return atts[1] ? (const char *)atts[1] : "";
    return NULL;
}

/* Whether class (space-separated) holds one of names. */
static bool has_class(const char *class, const char *const *names)
{
    for (const char *c = class; c && *c;) {
        size_t n = strcspn(c, " \t\n");
        for (const char *const *k = names; *k; k++)
            if (strlen(*k) == n && !strncasecmp(c, *k, n))
                return true;
        c += n;
        c += strspn(c, " \t\n");
    }
    return false;
}

/* Content nobody sees: hidden elements, and the permalink marks ("#",
 * "¶") that documentation generators put in headings, which would end
 * every heading's text. */
static bool invisible(const walker *w, const char *name, const xmlChar **atts)
{
    static const char *const marks[] = { "headerlink", "anchor", "permalink", "mark", "hash-link", NULL };
    const char *aria = attr(atts, "aria-hidden");
    if (attr(atts, "hidden") || (aria && !strcasecmp(aria, "true")))
        return true;
    return w->page.heading_level > 0 && !strcmp(name, "a") && has_class(attr(atts, "class"), marks);
}

static void on_start(void *ctx, const xmlChar *xname, const xmlChar **atts)
{
    walker *w = ctx;
    const char *name = (const char *)xname;
    if (w->st != OG_OK || !name)
        return;
    if (w->skip || named(name, skipped) || invisible(w, name, atts)) {
        w->skip++;
        if (!strcmp(name, "title") && !w->has_title) /* usually inside head, itself skipped */
            w->in_title = w->skip, w->has_title = true;
        return;
    }
    int level = heading_level(name);
    if (level == 1)
        w->has_h1 = true;
    if (level)
        og_docs_para_heading_begin(&w->page, level);
    else if (!strcmp(name, "br"))
        og_docs_para_line(&w->page);
    else if (!strcmp(name, "pre"))
        og_docs_para_break(&w->page), w->pre++;
    else if (!strcmp(name, "td") || !strcmp(name, "th"))
        og_docs_para_space(&w->page);
    else if (named(name, blocks))
        og_docs_para_break(&w->page);
}

static void on_end(void *ctx, const xmlChar *xname)
{
    walker *w = ctx;
    const char *name = (const char *)xname;
    if (w->st != OG_OK || !name)
        return;
    if (w->skip) {
        if (--w->skip < w->in_title)
            w->in_title = 0;
        return;
    }
    if (heading_level(name))
        fail(w, og_docs_para_heading_end(&w->page, w->err));
    else if (!strcmp(name, "pre") && w->pre)
        og_docs_para_break(&w->page), w->pre--;
    else if (!strcmp(name, "td") || !strcmp(name, "th"))
        og_docs_para_space(&w->page);
    else if (named(name, blocks))
        og_docs_para_break(&w->page);
}

static void on_text(void *ctx, const xmlChar *s, int len)
{
    walker *w = ctx;
    if (w->st != OG_OK || len <= 0)
        return;
    if (w->in_title && w->skip == w->in_title)
        fail(w, og_docs_para_text(&w->title, (const char *)s, (size_t)len, true, w->err));
    else if (!w->skip)
        fail(w, og_docs_para_text(&w->page, (const char *)s, (size_t)len, w->pre == 0, w->err));
}

/* Puts the title at the top of the page as a level-1 heading (when the
 * page has no h1): the text moves down and every heading with it. */
static og_status prepend_title(walker *w, og_error *err)
{
    og_docs_para *p = &w->page, *t = &w->title;
    if (!t->buf.len)
        return OG_OK;
    og_docs_para_heading_end(p, err); /* an h-element the file never closed */
    og_docs_para_break(p);
    int64_t head_cp = t->cp + (p->buf.len ? 2 : 0);
    og_docs_buf grown = { .limit = p->buf.limit };
    og_status s = og_docs_buf_add(&grown, t->buf.data, t->buf.len, err);
    if (s == OG_OK && p->buf.len)
        s = og_docs_buf_add(&grown, "\n\n", 2, err);
    if (s == OG_OK && p->buf.len)
        s = og_docs_buf_add(&grown, p->buf.data, p->buf.len, err);
    if (s == OG_OK && p->n_headings == p->cap_headings) {
        int32_t cap = p->cap_headings ? p->cap_headings * 2 : 16;
        og_docs_heading *more = realloc(p->headings, (size_t)cap * sizeof *more);
        if (!more)
            s = og_error_set(err, OG_ERR_NOMEM, "out of memory for %d headings", cap);
        else
            p->headings = more, p->cap_headings = cap;
    }
    if (s != OG_OK) {
        free(grown.data);
        return s;
    }
    memmove(p->headings + 1, p->headings, (size_t)p->n_headings * sizeof *p->headings);
    for (int32_t i = 1; i <= p->n_headings; i++)
        p->headings[i].start += head_cp, p->headings[i].end += head_cp;
    p->headings[0] = (og_docs_heading){ .start = 0, .end = t->cp, .level = 1 };
    p->n_headings++;
    free(p->buf.data);
    p->buf = grown;
    p->cp += head_cp;
    return OG_OK;
}

og_status og_docs_extract_html(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    og_docs_limits defaults = og_docs_default_limits();
    if (!lim)
        lim = &defaults;
    FILE *f = fopen(path, "rb");
    if (!f)
        return og_error_set(err, OG_ERR_IO, "%s: %s", path, strerror(errno));
    char *chunk = malloc(CHUNK);
    if (!chunk) {
        fclose(f);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    og_docs_xml_init();
    htmlSAXHandler sax;
    memset(&sax, 0, sizeof sax);
    sax.startElement = on_start;
    sax.endElement = on_end;
    sax.characters = on_text;
    sax.cdataBlock = on_text;
    sax.ignorableWhitespace = on_text; /* between two inline elements, a word boundary */
    walker w = { .err = err };
    og_docs_para_init(&w.page, lim->max_text_bytes);
    og_docs_para_init(&w.title, lim->max_text_bytes);
    og_status s = OG_OK;
    w.ctxt = htmlCreatePushParserCtxt(&sax, &w, NULL, 0, path, XML_CHAR_ENCODING_NONE);
    if (!w.ctxt)
        s = og_error_set(err, OG_ERR_NOMEM, "%s: cannot start the HTML parser", path);
    else
        htmlCtxtUseOptions(w.ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                       HTML_PARSE_NOWARNING | HTML_PARSE_NOIMPLIED);
    uint64_t total = 0;
    while (s == OG_OK && w.st == OG_OK) {
        size_t got = fread(chunk, 1, CHUNK, f);
        if (ferror(f)) {
            s = og_error_set(err, OG_ERR_IO, "%s: read error", path);
            break;
        }
        total += got;
        if (total > lim->max_file_bytes) { /* it grew past the limit since the dispatcher looked */
            s = og_error_set(err, OG_ERR_NOMEM, "%s: over %llu bytes, which passes the limit per file", path,
                             (unsigned long long)lim->max_file_bytes);
            break;
        }
        htmlParseChunk(w.ctxt, chunk, (int)got, got == 0);
        if (got == 0)
            break;
    }
    if (s == OG_OK)
        s = w.st;
    if (s == OG_OK && w.has_title && !w.has_h1)
        s = prepend_title(&w, err);
    if (w.ctxt) {
        if (w.ctxt->myDoc) /* the SAX handlers built none, but be sure */
            xmlFreeDoc(w.ctxt->myDoc);
        htmlFreeParserCtxt(w.ctxt);
    }
    fclose(f);
    free(chunk);
    og_docs_para_free(&w.title);
    if (s != OG_OK) {
        if (w.st != OG_OK)
            og_error_prefix(err, "%s", path);
        og_docs_para_free(&w.page);
        return s;
    }
    return og_docs_para_finish(&w.page, "html", path, out, err);
}
