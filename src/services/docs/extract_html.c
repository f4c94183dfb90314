/*
 * extract_html.c - the reader for HTML files: libxml2's forgiving HTML
 * parser builds the tree (decoding the charset the document declares and
 * its entities, never touching the network), and a walk over it writes the
 * visible text in document order. Script, style and the head are skipped;
 * block elements end paragraphs; h1-h6 are the headings, and the title
 * heads the page when there is no h1.
 */
#include "docs/extract.h"
#include "docs/extract_para.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

static bool named(const xmlNode *n, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp((const char *)n->name, *names))
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

static int heading_level(const xmlNode *n)
{
    const char *s = (const char *)n->name;
    return (s[0] == 'h' && s[1] >= '1' && s[1] <= '6' && !s[2]) ? s[1] - '0' : 0;
}

typedef struct walker {
    og_docs_para page;
    int pre;      /* depth inside pre elements: white space kept there */
    og_status st; /* why enter failed */
} walker;

/* Returns 1 to go into the node, 0 to skip it, < 0 on error. */
static int enter(walker *w, xmlNode *n, og_error *err)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        const char *s = (const char *)n->content;
        if (s && (w->st = og_docs_para_text(&w->page, s, strlen(s), w->pre == 0, err)) != OG_OK)
            return -1;
        return 0;
    }
    if (n->type != XML_ELEMENT_NODE)
        return 0; /* comments, processing instructions */
    if (named(n, skipped))
        return 0;
    int level = heading_level(n);
    if (level)
        og_docs_para_heading_begin(&w->page, level);
    else if (!strcmp((const char *)n->name, "br"))
        og_docs_para_line(&w->page);
    else if (!strcmp((const char *)n->name, "pre"))
        og_docs_para_break(&w->page), w->pre++;
    else if (!strcmp((const char *)n->name, "td") || !strcmp((const char *)n->name, "th"))
        og_docs_para_space(&w->page);
    else if (named(n, blocks))
        og_docs_para_break(&w->page);
    return 1;
}

static og_status leave(walker *w, xmlNode *n, og_error *err)
{
    if (n->type != XML_ELEMENT_NODE)
        return OG_OK;
    if (heading_level(n))
        return og_docs_para_heading_end(&w->page, err);
    if (!strcmp((const char *)n->name, "pre"))
        og_docs_para_break(&w->page), w->pre--;
    else if (!strcmp((const char *)n->name, "td") || !strcmp((const char *)n->name, "th"))
        og_docs_para_space(&w->page);
    else if (named(n, blocks))
        og_docs_para_break(&w->page);
    return OG_OK;
}

/* Walks top's descendants in document order without recursion (the tree's
 * depth is the document's to choose). */
static og_status walk(walker *w, xmlNode *top, og_error *err)
{
    xmlNode *n = top->children;
    while (n) {
        int r = enter(w, n, err);
        og_status s;
        if (r < 0)
            return w->st;
        if (r == 1 && n->children) {
            n = n->children;
            continue;
        }
        if (r == 1 && (s = leave(w, n, err)) != OG_OK)
            return s;
        while (!n->next) {
            n = n->parent;
            if (!n || n == top)
                return OG_OK;
            if ((s = leave(w, n, err)) != OG_OK)
                return s;
        }
        n = n->next;
    }
    return OG_OK;
}

/* Finds the first title element and whether an h1 exists. */
static void survey(xmlNode *top, xmlNode **title, bool *has_h1)
{
    *title = NULL;
    *has_h1 = false;
    xmlNode *n = top->children;
    while (n) {
        if (n->type == XML_ELEMENT_NODE) {
            if (!*title && !strcmp((const char *)n->name, "title"))
                *title = n;
            if (heading_level(n) == 1)
                *has_h1 = true;
        }
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (!n->next) {
            n = n->parent;
            if (!n || n == top)
                return;
        }
        n = n->next;
    }
}

og_status og_docs_extract_html(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    og_docs_limits defaults = og_docs_default_limits();
    if (!lim)
        lim = &defaults;
    char *data;
    size_t n;
    og_status s = og_docs_read_whole(path, lim->max_file_bytes, &data, &n, err);
    if (s != OG_OK)
        return s;
    if (n > INT_MAX) {
        free(data);
        return og_error_set(err, OG_ERR_NOMEM, "%s: %zu bytes, which passes the HTML parser's limit of 2 GiB", path,
                            n);
    }
    og_docs_xml_init();
    /* No HTML_PARSE_NOBLANKS: the space between two inline elements is a
     * word boundary. */
    htmlDocPtr doc = htmlReadMemory(data, (int)n, NULL, NULL,
                                    HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                        HTML_PARSE_NOWARNING | HTML_PARSE_NOIMPLIED);
    free(data);
    if (!doc)
        return og_error_set(err, OG_ERR_FORMAT, "%s: cannot be read as HTML", path);
    walker w = { 0 };
    og_docs_para_init(&w.page, lim->max_text_bytes);
    xmlNode *title;
    bool has_h1;
    survey((xmlNode *)doc, &title, &has_h1);
    if (title && !has_h1) {
        xmlChar *t = xmlNodeGetContent(title);
        og_docs_para_heading_begin(&w.page, 1);
        if (t)
            s = og_docs_para_text(&w.page, (const char *)t, strlen((const char *)t), true, err);
        xmlFree(t);
        if (s == OG_OK)
            s = og_docs_para_heading_end(&w.page, err);
    }
    if (s == OG_OK)
        s = walk(&w, (xmlNode *)doc, err);
    xmlFreeDoc(doc);
    if (s != OG_OK) {
        og_error_prefix(err, "%s", path);
        og_docs_para_free(&w.page);
        return s;
    }
    return og_docs_para_finish(&w.page, "html", path, out, err);
}
