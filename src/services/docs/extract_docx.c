/*
 * extract_docx.c - the reader for Word documents (.docx): libzip opens the
 * archive and word/document.xml is streamed out of it into libxml2's
 * streaming reader, so neither the XML nor its tree is ever whole in
 * memory. The stream is bounded (its size, and how far it outgrows its
 * compressed size: a zip bomb is refused, not inflated), the XML may not
 * load anything from outside nor declare a DTD (no entity expansion), and
 * the text is that of the w:t runs, one paragraph per w:p, with the
 * heading styles recorded as headings (known by word/styles.xml's names,
 * whatever the language of their ids, or by their outline level).
 */
#include "docs/extract.h"
#include "docs/extract_para.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#include <libxml/xmlreader.h>

#define DOCUMENT_XML "word/document.xml"
#define STYLES_XML "word/styles.xml"
/* The XML may be this many times the text limit: markup around the text
 * (run properties, bookmarks, revision ids) is typically 5-20 times it. */
enum { XML_PER_TEXT = 8 };
/* Real document.xml files deflate 5-30 times; a bomb of repeated bytes
 * 1000 times. Past this ratio (once the XML is past RATIO_FLOOR bytes,
 * since small files can deflate well) the member is refused. */
enum { MAX_RATIO = 200 };
#define RATIO_FLOOR ((uint64_t)1 << 20)

static const char *const W_NS[] = { "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                                    "http://purl.oclc.org/ooxml/wordprocessingml/main", NULL };

#define MC_NS "http://schemas.openxmlformats.org/markup-compatibility/2006"

typedef struct stream {
    const char *member; /* its name in the archive */
    zip_file_t *zf;
    uint64_t comp, total, max;
    enum { OK, ZIP_ERROR, TOO_BIG, BOMB } why; /* why the stream stopped */
    char xml_error[256];                        /* the parser's first error */
} stream;

/* libxml2's input callback: the next piece of the member, stopping (-1)
 * the moment it passes a limit. */
static int read_member(void *ctx, char *buffer, int len)
{
    stream *st = ctx;
    if (st->why != OK)
        return -1;
    zip_int64_t got = zip_fread(st->zf, buffer, (zip_uint64_t)len);
    if (got < 0) { /* also a CRC mismatch at the end */
        st->why = ZIP_ERROR;
        return -1;
    }
    st->total += (uint64_t)got;
    if (st->total > st->max) {
        st->why = TOO_BIG;
        return -1;
    }
    if (st->total > RATIO_FLOOR && st->total / (st->comp ? st->comp : 1) > MAX_RATIO) {
        st->why = BOMB;
        return -1;
    }
    return (int)got;
}

static void on_xml_error(void *ctx, xmlErrorPtr e)
{
    stream *st = ctx;
    if (!st->xml_error[0] && e && e->message) {
        snprintf(st->xml_error, sizeof st->xml_error, "line %d: %s", e->line, e->message);
        size_t n = strlen(st->xml_error);
        while (n && (st->xml_error[n - 1] == '\n' || st->xml_error[n - 1] == ' '))
            st->xml_error[--n] = 0;
    }
}

static bool in_w(xmlTextReaderPtr r)
{
    const char *ns = (const char *)xmlTextReaderConstNamespaceUri(r);
    for (const char *const *w = W_NS; ns && *w; w++)
        if (!strcmp(ns, *w))
            return true;
    return false;
}

/* An mc:Fallback: the same content as its mc:Choice (a text box drawn
 * both ways for older readers), which would be read twice. */
static bool is_fallback(xmlTextReaderPtr r)
{
    const char *ns = (const char *)xmlTextReaderConstNamespaceUri(r);
    const char *name = (const char *)xmlTextReaderConstLocalName(r);
    return ns && name && !strcmp(ns, MC_NS) && !strcmp(name, "Fallback");
}

/* The w:val attribute of the current element (xmlFree it), or NULL. */
static char *w_val(xmlTextReaderPtr r)
{
    return (char *)xmlTextReaderGetAttributeNs(r, BAD_CAST "val", xmlTextReaderConstNamespaceUri(r));
}

/* The heading level a style's id or name gives: Title 1, HeadingN or
 * "heading N" N (the names Word and LibreOffice give them), else 0. */
static int name_level(const char *id)
{
    if (!id)
        return 0;
    if (!strcasecmp(id, "Title"))
        return 1;
    if (strncasecmp(id, "Heading", 7))
        return 0;
    id += 7;
    while (*id == ' ')
        id++;
    return id[0] >= '1' && id[0] <= '6' && !id[1] ? id[0] - '0' : 0;
}

/* The paragraph styles of word/styles.xml that are headings: in a Word
 * document written in another language the style ids are translated
 * ("berschrift1"), while the names stay "heading 1". */
typedef struct style_map {
    struct style_entry {
        char *id;
        int level;
    } *v;
    int n, cap;
} style_map;

static void style_map_free(style_map *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->v[i].id);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static og_status style_map_add(style_map *m, const char *id, int level, og_error *err)
{
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 16;
        struct style_entry *grown = realloc(m->v, (size_t)cap * sizeof *grown);
        if (!grown)
            return og_error_set(err, OG_ERR_NOMEM, "out of memory for %d styles", cap);
        m->v = grown;
        m->cap = cap;
    }
    size_t n = strlen(id);
    char *copy = malloc(n + 1);
    if (!copy)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for a style name");
    memcpy(copy, id, n + 1);
    m->v[m->n++] = (struct style_entry){ copy, level };
    return OG_OK;
}

/* The heading level of a paragraph with style id: from styles.xml when it
 * says, else from the id itself. */
static int style_level(const style_map *m, const char *id)
{
    if (!id)
        return 0;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].id, id))
            return m->v[i].level;
    return name_level(id);
}

/* An outline level's heading level: w:val 0-5 are headings 1-6; 6-8 are
 * deeper than the page keeps and 9 is body text. */
static int outline_level(const char *v)
{
    return v && v[0] >= '0' && v[0] <= '5' && !v[1] ? v[0] - '0' + 1 : 0;
}

typedef struct reader_state {
    og_docs_para page;
    const style_map *styles;
    int in_t;    /* inside a w:t: its text is the document's */
    int in_ppr;  /* inside a w:pPr: its w:tab are tab stops, not tabs */
    bool heading;
} reader_state;

static og_status on_element(reader_state *rs, xmlTextReaderPtr r, og_error *err)
{
    const char *name = (const char *)xmlTextReaderConstLocalName(r);
    bool empty = xmlTextReaderIsEmptyElement(r) == 1;
    if (!name || !in_w(r))
        return OG_OK;
    if (!strcmp(name, "p")) {
        /* a paragraph nested in a heading (a text box) ends the heading */
        og_status s = rs->heading ? og_docs_para_heading_end(&rs->page, err) : OG_OK;
        rs->heading = false;
        og_docs_para_break(&rs->page);
        return s;
    } else if (!strcmp(name, "pPr")) {
        rs->in_ppr += !empty;
    } else if (!strcmp(name, "t")) {
        rs->in_t = !empty;
    } else if (rs->in_ppr && (!strcmp(name, "pStyle") || !strcmp(name, "outlineLvl"))) {
        char *v = w_val(r);
        int level = 0;
        level = name[0] == 'p' ? style_level(rs->styles, v) : outline_level(v);
        xmlFree(v);
        if (level && !rs->heading) {
            og_docs_para_heading_begin(&rs->page, level);
            rs->heading = true;
        }
    } else if (rs->in_ppr) {
        /* paragraph properties hold no text */
    } else if (!strcmp(name, "tab")) {
        return og_docs_para_text(&rs->page, "\t", 1, false, err);
    } else if (!strcmp(name, "br") || !strcmp(name, "cr")) {
        og_docs_para_line(&rs->page);
    }
    return OG_OK;
}

static og_status on_end(reader_state *rs, xmlTextReaderPtr r, og_error *err)
{
    const char *name = (const char *)xmlTextReaderConstLocalName(r);
    if (!name || !in_w(r))
        return OG_OK;
    if (!strcmp(name, "t"))
        rs->in_t = 0;
    else if (!strcmp(name, "pPr") && rs->in_ppr)
        rs->in_ppr--;
    else if (!strcmp(name, "p")) {
        og_status s = rs->heading ? og_docs_para_heading_end(&rs->page, err) : OG_OK;
        rs->heading = false;
        og_docs_para_break(&rs->page);
        return s;
    }
    return OG_OK;
}

/* Opens the member's XML stream. NONET: nothing from the network; no
 * NOENT or DTDLOAD: entities are not substituted, no external DTD is read
 * (and the callers refuse a DTD outright). */
static xmlTextReaderPtr open_xml(const char *path, stream *st, og_error *err)
{
    og_docs_xml_init();
    xmlTextReaderPtr r = xmlReaderForIO(read_member, NULL, st, st->member, NULL,
                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!r)
        og_error_set(err, OG_ERR_NOMEM, "%s: cannot start the XML reader for %s", path, st->member);
    else
        xmlTextReaderSetStructuredErrorHandler(r, on_xml_error, st);
    return r;
}

static og_status dtd_refused(const char *path, const stream *st, og_error *err)
{
    return og_error_set(err, OG_ERR_FORMAT, "%s: %s declares a DTD, which no Word document does", path, st->member);
}

/* Why xmlTextReaderRead stopped with an error, as the caller's error. */
static og_status stream_failed(const char *path, const stream *st, og_error *err)
{
    if (st->why == TOO_BIG)
        return og_error_set(err, OG_ERR_NOMEM, "%s: %s unpacks past %llu MiB, which passes the limit", path,
                            st->member, (unsigned long long)(st->max >> 20));
    if (st->why == BOMB)
        return og_error_set(err, OG_ERR_NOMEM,
                            "%s: %s unpacks to over %d times its packed size, which passes the limit (a zip bomb?)",
                            path, st->member, MAX_RATIO);
    if (st->why == ZIP_ERROR)
        return og_error_set(err, OG_ERR_FORMAT, "%s: reading %s: %s", path, st->member, zip_file_strerror(st->zf));
    return og_error_set(err, OG_ERR_FORMAT, "%s: %s is not well-formed XML (%s)", path, st->member,
                        st->xml_error[0] ? st->xml_error : "the parser stopped");
}

/* Streams word/styles.xml into m: the paragraph styles that are headings. */
static og_status read_styles(const char *path, stream *st, style_map *m, og_error *err)
{
    xmlTextReaderPtr r = open_xml(path, st, err);
    if (!r)
        return OG_ERR_NOMEM;
    og_status s = OG_OK;
    char *id = NULL; /* the paragraph style being read */
    int level = 0, got;
    while (s == OG_OK && (got = xmlTextReaderRead(r)) == 1) {
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
            s = dtd_refused(path, st, err);
            break;
        }
        if ((type != XML_READER_TYPE_ELEMENT && type != XML_READER_TYPE_END_ELEMENT) || !in_w(r))
            continue;
        const char *name = (const char *)xmlTextReaderConstLocalName(r);
        if (!name)
            continue;
        bool end = type == XML_READER_TYPE_END_ELEMENT || xmlTextReaderIsEmptyElement(r) == 1;
        if (!strcmp(name, "style") && type == XML_READER_TYPE_ELEMENT) {
            xmlFree(id);
            char *t = (char *)xmlTextReaderGetAttributeNs(r, BAD_CAST "type", xmlTextReaderConstNamespaceUri(r));
            id = t && strcmp(t, "paragraph") ? NULL
                                             : (char *)xmlTextReaderGetAttributeNs(r, BAD_CAST "styleId",
                                                                                   xmlTextReaderConstNamespaceUri(r));
            xmlFree(t);
            level = 0;
        } else if (id && !strcmp(name, "name") && type == XML_READER_TYPE_ELEMENT) {
            char *v = w_val(r);
            if (name_level(v))
                level = name_level(v);
            xmlFree(v);
        } else if (id && !strcmp(name, "outlineLvl") && type == XML_READER_TYPE_ELEMENT && !level) {
            char *v = w_val(r);
            level = outline_level(v);
            xmlFree(v);
        }
        if (id && !strcmp(name, "style") && end) {
            if (level)
                s = style_map_add(m, id, level, err);
            xmlFree(id);
            id = NULL;
        }
    }
    xmlFree(id);
    if (s == OG_OK && got != 0)
        s = stream_failed(path, st, err);
    xmlFreeTextReader(r);
    return s;
}

/* Streams word/document.xml through the XML reader into rs->page. */
static og_status read_document(const char *path, stream *st, reader_state *rs, og_error *err)
{
    xmlTextReaderPtr r = open_xml(path, st, err);
    if (!r)
        return OG_ERR_NOMEM;
    og_status s = OG_OK;
    int got;
    bool skip = false; /* step over the current element's subtree */
    while (s == OG_OK && (got = skip ? xmlTextReaderNext(r) : xmlTextReaderRead(r)) == 1) {
        skip = false;
        switch (xmlTextReaderNodeType(r)) {
        case XML_READER_TYPE_DOCUMENT_TYPE:
            s = dtd_refused(path, st, err);
            break;
        case XML_READER_TYPE_ELEMENT:
            skip = is_fallback(r);
            if (!skip)
                s = on_element(rs, r, err);
            break;
        case XML_READER_TYPE_END_ELEMENT:
            s = on_end(rs, r, err);
            break;
        case XML_READER_TYPE_TEXT:
        case XML_READER_TYPE_CDATA:
        case XML_READER_TYPE_WHITESPACE:
        case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
            if (rs->in_t) {
                const char *v = (const char *)xmlTextReaderConstValue(r);
                if (v)
                    s = og_docs_para_text(&rs->page, v, strlen(v), false, err);
            }
            break;
        default:
            break;
        }
    }
    if (s == OG_OK && got != 0)
        s = stream_failed(path, st, err);
    else if (s != OG_OK && s != OG_ERR_FORMAT) /* the page builder's errors do not name the file */
        og_error_prefix(err, "%s", path);
    xmlFreeTextReader(r);
    return s;
}

/* Opens member for streaming into st, checking first what the archive
 * declares (its size and how well it deflated), since that costs nothing;
 * the stream then checks what really comes out, since the header can lie.
 * A missing member is an error when required, else st->zf stays NULL. */
static og_status open_member(const char *path, zip_t *z, const char *member, uint64_t max, bool required,
                             stream *st, og_error *err)
{
    memset(st, 0, sizeof *st);
    st->member = member;
    st->max = max;
    zip_stat_t zs;
    zip_int64_t idx = zip_name_locate(z, member, 0);
    if (idx < 0)
        return required ? og_error_set(err, OG_ERR_FORMAT, "%s: no %s inside, so not a Word document", path, member)
                        : OG_OK;
    if (zip_stat_index(z, (zip_uint64_t)idx, 0, &zs) != 0)
        return og_error_set(err, OG_ERR_FORMAT, "%s: %s: %s", path, member, zip_strerror(z));
    if ((zs.valid & ZIP_STAT_SIZE) && zs.size > max)
        return og_error_set(err, OG_ERR_NOMEM, "%s: %s unpacks to %llu MiB, which passes the limit of %llu MiB",
                            path, member, (unsigned long long)(zs.size >> 20), (unsigned long long)(max >> 20));
    st->comp = (zs.valid & ZIP_STAT_COMP_SIZE) ? zs.comp_size : 0;
    uint64_t ratio = (zs.valid & ZIP_STAT_SIZE) ? zs.size / (st->comp ? st->comp : 1) : 0;
    if ((zs.valid & ZIP_STAT_COMP_SIZE) && zs.size > RATIO_FLOOR && ratio > MAX_RATIO)
        return og_error_set(err, OG_ERR_NOMEM,
                            "%s: %s unpacks to %llu times its packed size, which passes the limit of %d (a zip bomb?)",
                            path, member, (unsigned long long)ratio, MAX_RATIO);
    if (!(st->zf = zip_fopen_index(z, (zip_uint64_t)idx, 0)))
        return og_error_set(err, OG_ERR_FORMAT, "%s: cannot open %s: %s", path, member, zip_strerror(z));
    return OG_OK;
}

og_status og_docs_extract_docx(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    og_docs_limits defaults = og_docs_default_limits();
    if (!lim)
        lim = &defaults;
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        og_error_set(err, OG_ERR_FORMAT, "%s: not a readable .docx (zip) file: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return OG_ERR_FORMAT;
    }
    uint64_t max = lim->max_text_bytes * XML_PER_TEXT;
    if (max / XML_PER_TEXT != lim->max_text_bytes || !max) /* overflow or no limit */
        max = UINT64_MAX;
    stream st;
    style_map styles = { 0 };
    /* the styles are optional: without them, style ids alone tell headings */
    og_status s = open_member(path, z, STYLES_XML, max, false, &st, err);
    if (s == OG_OK && st.zf)
        s = read_styles(path, &st, &styles, err);
    if (st.zf)
        zip_fclose(st.zf);
    st.zf = NULL;
    if (s == OG_OK)
        s = open_member(path, z, DOCUMENT_XML, max, true, &st, err);
    reader_state rs = { .styles = &styles };
    og_docs_para_init(&rs.page, lim->max_text_bytes);
    if (s == OG_OK)
        s = read_document(path, &st, &rs, err);
    if (st.zf)
        zip_fclose(st.zf);
    zip_discard(z);
    style_map_free(&styles);
    if (s != OG_OK) {
        og_docs_para_free(&rs.page);
        return s;
    }
    return og_docs_para_finish(&rs.page, "docx", path, out, err);
}
