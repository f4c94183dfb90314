/*
 * extract_docx.c - the reader for Word documents (.docx): libzip opens the
 * archive and word/document.xml is streamed out of it into libxml2's
 * streaming reader, so neither the XML nor its tree is ever whole in
 * memory. The stream is bounded (its size, and how far it outgrows its
 * compressed size: a zip bomb is refused, not inflated), the XML may not
 * load anything from outside nor declare a DTD (no entity expansion), and
 * the text is that of the w:t runs, one paragraph per w:p, with the
 * heading styles recorded as headings.
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

typedef struct stream {
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

/* The w:val attribute of the current element (xmlFree it), or NULL. */
static char *w_val(xmlTextReaderPtr r)
{
    return (char *)xmlTextReaderGetAttributeNs(r, BAD_CAST "val", xmlTextReaderConstNamespaceUri(r));
}

/* The heading level a paragraph style id gives (Title 1, HeadingN N), or 0. */
static int style_level(const char *id)
{
    if (!id)
        return 0;
    if (!strcasecmp(id, "Title"))
        return 1;
    if (!strncasecmp(id, "Heading", 7) && id[7] >= '1' && id[7] <= '6' && !id[8])
        return id[7] - '0';
    return 0;
}

typedef struct reader_state {
    og_docs_para page;
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
        if (v && name[0] == 'p')
            level = style_level(v);
        else if (v && v[0] >= '0' && v[0] <= '5' && !v[1]) /* outline levels 0-8; 9 is body text */
            level = v[0] - '0' + 1;
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

/* Streams the member through the XML reader into rs->page. */
static og_status read_document(const char *path, stream *st, reader_state *rs, og_error *err)
{
    og_docs_xml_init();
    /* NONET: nothing from the network; no NOENT or DTDLOAD: entities are
     * not substituted and no external DTD is read. */
    xmlTextReaderPtr r = xmlReaderForIO(read_member, NULL, st, DOCUMENT_XML, NULL,
                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!r)
        return og_error_set(err, OG_ERR_NOMEM, "%s: cannot start the XML reader", path);
    xmlTextReaderSetStructuredErrorHandler(r, on_xml_error, st);
    og_status s = OG_OK;
    int got;
    while (s == OG_OK && (got = xmlTextReaderRead(r)) == 1) {
        switch (xmlTextReaderNodeType(r)) {
        case XML_READER_TYPE_DOCUMENT_TYPE:
            s = og_error_set(err, OG_ERR_FORMAT, "%s: %s declares a DTD, which no Word document does", path,
                             DOCUMENT_XML);
            break;
        case XML_READER_TYPE_ELEMENT:
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
    if (s == OG_OK && got != 0) {
        if (st->why == TOO_BIG)
            s = og_error_set(err, OG_ERR_NOMEM, "%s: %s unpacks past %llu MiB, which passes the limit", path,
                             DOCUMENT_XML, (unsigned long long)(st->max >> 20));
        else if (st->why == BOMB)
            s = og_error_set(err, OG_ERR_NOMEM,
                             "%s: %s unpacks to over %d times its packed size, which passes the limit "
                             "(a zip bomb?)",
                             path, DOCUMENT_XML, MAX_RATIO);
        else if (st->why == ZIP_ERROR)
            s = og_error_set(err, OG_ERR_FORMAT, "%s: reading %s: %s", path, DOCUMENT_XML,
                             zip_file_strerror(st->zf));
        else
            s = og_error_set(err, OG_ERR_FORMAT, "%s: %s is not well-formed XML (%s)", path, DOCUMENT_XML,
                             st->xml_error[0] ? st->xml_error : "the parser stopped");
    }
    xmlFreeTextReader(r);
    return s;
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
    stream st = { 0 };
    st.max = lim->max_text_bytes * XML_PER_TEXT;
    if (st.max / XML_PER_TEXT != lim->max_text_bytes || !st.max) /* overflow or no limit */
        st.max = UINT64_MAX;
    og_status s = OG_OK;
    zip_stat_t zs;
    zip_int64_t idx = zip_name_locate(z, DOCUMENT_XML, 0);
    if (idx < 0)
        s = og_error_set(err, OG_ERR_FORMAT, "%s: no %s inside, so not a Word document", path, DOCUMENT_XML);
    else if (zip_stat_index(z, (zip_uint64_t)idx, 0, &zs) != 0)
        s = og_error_set(err, OG_ERR_FORMAT, "%s: %s: %s", path, DOCUMENT_XML, zip_strerror(z));
    /* What the archive declares is checked before anything is inflated;
     * the stream checks what really comes out, since the header can lie. */
    if (s == OG_OK && (zs.valid & ZIP_STAT_SIZE) && zs.size > st.max)
        s = og_error_set(err, OG_ERR_NOMEM, "%s: %s unpacks to %llu MiB, which passes the limit of %llu MiB", path,
                         DOCUMENT_XML, (unsigned long long)(zs.size >> 20), (unsigned long long)(st.max >> 20));
    if (s == OG_OK && (zs.valid & ZIP_STAT_SIZE) && (zs.valid & ZIP_STAT_COMP_SIZE) && zs.size > RATIO_FLOOR &&
        zs.size / (zs.comp_size ? zs.comp_size : 1) > MAX_RATIO)
        s = og_error_set(err, OG_ERR_NOMEM,
                         "%s: %s unpacks to %llu times its packed size, which passes the limit of %d (a zip bomb?)",
                         path, DOCUMENT_XML, (unsigned long long)(zs.size / (zs.comp_size ? zs.comp_size : 1)),
                         MAX_RATIO);
    if (s == OG_OK) {
        st.comp = (zs.valid & ZIP_STAT_COMP_SIZE) ? zs.comp_size : 0;
        if (!(st.zf = zip_fopen_index(z, (zip_uint64_t)idx, 0)))
            s = og_error_set(err, OG_ERR_FORMAT, "%s: cannot open %s: %s", path, DOCUMENT_XML, zip_strerror(z));
    }
    reader_state rs = { 0 };
    og_docs_para_init(&rs.page, lim->max_text_bytes);
    if (s == OG_OK)
        s = read_document(path, &st, &rs, err);
    if (st.zf)
        zip_fclose(st.zf);
    zip_discard(z);
    if (s != OG_OK) {
        og_docs_para_free(&rs.page);
        return s;
    }
    return og_docs_para_finish(&rs.page, "docx", path, out, err);
}
