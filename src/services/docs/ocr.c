/*
 * ocr.c - reads text from pictures with Tesseract's C API: PDF pages that
 * have no text layer (rendered by poppler's pdftoppm, run as a separate
 * process, to a binary PGM parsed here) and image files (PNG, JPEG, TIFF,
 * decoded by Leptonica). It owns the Tesseract engine a document keeps,
 * and the text tidying the PDF reader shares (og_docs_tidy_text).
 */
#include "docs/ocr.h"

#include <errno.h>
#include <leptonica/allheaders.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tesseract/capi.h>

#include "docs/subprocess.h"

/* The largest picture OCR'd: 50 Mpx is a 1 byte per pixel buffer of 50 MB
 * and an A2 sheet at 300 dpi; larger PDF pages are rendered at a lower
 * resolution, larger images refused. */
#define OCR_MAX_PIXELS 50000000.0

struct og_docs_ocr {
    TessBaseAPI *api;
};

static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void quiet_env(void)
{
    /* Tesseract's OpenMP loops start threads of their own (4 in its
     * LSTM); the service's thread budget is the caller's. Only when the
     * user chose nothing (an explicit value wins). Measured: libgomp reads
     * its environment when it is loaded, with liboffgrid, so this reaches
     * only a libgomp loaded later; a program that OCRs must have
     * OMP_THREAD_LIMIT in its environment from the start to be sure. */
    setenv("OMP_THREAD_LIMIT", "1", 0);
    /* Leptonica reports every decoding problem on stderr; the error
     * returned to the caller says it instead. */
    setMsgSeverity(L_SEVERITY_NONE);
}

og_status og_docs_ocr_open(og_docs_ocr **out, og_error *err)
{
    *out = NULL;
    pthread_once(&env_once, quiet_env);
    og_docs_ocr *ocr = calloc(1, sizeof *ocr);
    if (!ocr)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    ocr->api = TessBaseAPICreate();
    if (!ocr->api) {
        free(ocr);
        return og_error_set(err, OG_ERR_NOMEM, "cannot create a Tesseract engine");
    }
    /* NULL: the data folder Debian's Tesseract was built with, or
     * $TESSDATA_PREFIX */
    if (TessBaseAPIInit3(ocr->api, NULL, "eng") != 0) {
        og_docs_ocr_close(ocr);
        return og_error_set(err, OG_ERR_UNSUPPORTED,
                            "OCR needs Tesseract's English data: install tesseract-ocr-eng");
    }
    /* Tesseract's own progress and warnings would go to stderr */
    TessBaseAPISetVariable(ocr->api, "debug_file", "/dev/null");
    *out = ocr;
    return OG_OK;
}

void og_docs_ocr_close(og_docs_ocr *ocr)
{
    if (!ocr)
        return;
    if (ocr->api) {
        TessBaseAPIEnd(ocr->api);
        TessBaseAPIDelete(ocr->api);
    }
    free(ocr);
}

size_t og_docs_non_space(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        count += (c & 0xC0) != 0x80 && c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != '\f' && c != '\v';
    }
    return count;
}

static size_t utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

og_status og_docs_tidy_text(const char *s, size_t n, char **out, size_t *out_len, og_error *err)
{
    *out = NULL;
    *out_len = 0;
    size_t bad = 0;
    for (size_t i = 0; i < n;) {
        int64_t k = og_docs_invalid_utf8(s + i, n - i);
        if (k < 0)
            break;
        bad++;
        i += (size_t)k + 1;
    }
    /* separators never outgrow what they replace; U+FFFD is 3 bytes for 1 */
    char *o = malloc(n + 2 * bad + 1);
    if (!o)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for %zu bytes of text", n);
    size_t len = 0, i = 0;
    int newlines = 0;
    bool space = false;
    int64_t next_bad = og_docs_invalid_utf8(s, n);
    while (i < n) {
        const char *piece = s + i;
        size_t piece_len;
        unsigned char c = (unsigned char)s[i];
        if (next_bad >= 0 && i == (size_t)next_bad) {
            piece = "\xEF\xBF\xBD";
            piece_len = 3;
            i++;
            int64_t k = og_docs_invalid_utf8(s + i, n - i);
            next_bad = k < 0 ? -1 : (int64_t)i + k;
        } else if (c == '\n' || c == '\r') {
            if (!(c == '\r' && i + 1 < n && s[i + 1] == '\n'))
                newlines++;
            space = false;
            i++;
            continue;
        } else if (c <= ' ' || c == 0x7F) {
            space = true;
            i++;
            continue;
        } else {
            piece_len = utf8_len(c);
            i += piece_len;
        }
        if (len) {
            if (newlines >= 2)
                o[len++] = '\n', o[len++] = '\n';
            else if (newlines == 1)
                o[len++] = '\n';
            else if (space)
                o[len++] = ' ';
        }
        newlines = 0;
        space = false;
        memcpy(o + len, piece, piece_len);
        len += piece_len;
    }
    o[len] = 0;
    *out = o;
    *out_len = len;
    return OG_OK;
}

/* Reads what Tesseract found in the image it was given, line by line:
 * a line starts a new paragraph (a blank line before it) where Tesseract
 * finds one, or where the gap above it is taller than the line above,
 * which Tesseract's own text output does not mark. */
static og_status recognise(og_docs_ocr *ocr, const char *what, char **text, size_t *n_bytes, float *conf,
                           og_error *err)
{
    if (TessBaseAPIRecognize(ocr->api, NULL) != 0) {
        TessBaseAPIClear(ocr->api);
        return og_error_set(err, OG_ERR_FORMAT, "%s: OCR failed", what);
    }
    og_docs_buf raw = { 0 }; /* no limit: the caller checks the tidied text */
    og_status st = og_docs_buf_add(&raw, "", 0, err);
    TessResultIterator *ri = TessBaseAPIGetIterator(ocr->api);
    if (ri && st == OG_OK) {
        const TessPageIterator *pi = TessResultIteratorGetPageIterator(ri);
        int prev_bottom = -1, prev_height = 0;
        do {
            int left, top, right, bottom;
            char *line = TessResultIteratorGetUTF8Text(ri, RIL_TEXTLINE);
            if (!line)
                break;
            if (!TessPageIteratorBoundingBox(pi, RIL_TEXTLINE, &left, &top, &right, &bottom))
                top = bottom = prev_bottom;
            bool para = prev_bottom >= 0 &&
                        (TessPageIteratorIsAtBeginningOf(pi, RIL_PARA) || top - prev_bottom > prev_height);
            st = og_docs_buf_add(&raw, para ? "\n\n" : "\n", para ? 2 : 1, err);
            /* the line's own ending may hold a paragraph break Tesseract
             * puts after it: the rule above decides instead */
            size_t len = strlen(line);
            while (len && (line[len - 1] == '\n' || line[len - 1] == ' '))
                len--;
            if (st == OG_OK)
                st = og_docs_buf_add(&raw, line, len, err);
            TessDeleteText(line);
            prev_bottom = bottom;
            prev_height = bottom - top;
        } while (st == OG_OK && TessResultIteratorNext(ri, RIL_TEXTLINE));
    }
    if (ri)
        TessResultIteratorDelete(ri);
    int mean = TessBaseAPIMeanTextConf(ocr->api);
    if (st == OG_OK)
        st = og_docs_tidy_text(raw.data, raw.len, text, n_bytes, err);
    free(raw.data);
    TessBaseAPIClear(ocr->api);
    *conf = mean < 0 ? 0.0f : mean > 100 ? 100.0f : (float)mean;
    return st;
}

/* The page's size in points from `pdfinfo -f N -l N`; false when unknown. */
static bool page_size(const char *path, int page, int timeout, double *w, double *h)
{
    char num[16];
    snprintf(num, sizeof num, "%d", page);
    const char *argv[] = { "pdfinfo", "-f", num, "-l", num, path, NULL };
    og_docs_proc res;
    bool ok = false;
    if (og_docs_run(argv, "poppler-utils", 1 << 20, timeout, &res, NULL) == OG_OK && res.exit_code == 0) {
        for (const char *line = res.out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            int n;
            if (sscanf(line, "Page %d size: %lf x %lf", &n, w, h) == 3 && n == page && *w > 0 && *h > 0) {
                ok = true;
                break;
            }
        }
    }
    og_docs_proc_free(&res);
    return ok;
}

/* Parses a binary PGM (P5, 8 bits); *pixels points into data. */
static bool parse_pgm(const char *data, size_t len, int *w, int *h, const unsigned char **pixels)
{
    if (len < 2 || data[0] != 'P' || data[1] != '5')
        return false;
    size_t i = 2;
    long v[3];
    for (int k = 0; k < 3; k++) {
        for (;;) { /* whitespace and # comments before each number */
            while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
                i++;
            if (i < len && data[i] == '#') {
                while (i < len && data[i] != '\n')
                    i++;
                continue;
            }
            break;
        }
        if (i >= len || data[i] < '0' || data[i] > '9')
            return false;
        v[k] = 0;
        while (i < len && data[i] >= '0' && data[i] <= '9' && v[k] < 1000000)
            v[k] = v[k] * 10 + (data[i++] - '0');
    }
    if (i >= len || v[0] <= 0 || v[1] <= 0 || v[2] <= 0 || v[2] > 255 || v[0] >= 1000000 || v[1] >= 1000000)
        return false;
    i++; /* the single whitespace byte before the raster */
    if ((double)v[0] * (double)v[1] > (double)(len - i))
        return false;
    *w = (int)v[0];
    *h = (int)v[1];
    *pixels = (const unsigned char *)data + i;
    return true;
}

og_status og_docs_ocr_pdf_page(og_docs_ocr *ocr, const char *path, int page, const og_docs_limits *lim,
                               char **text, size_t *n_bytes, float *conf, og_error *err)
{
    *text = NULL;
    *n_bytes = 0;
    *conf = 0;
    int dpi = lim->ocr_dpi > 0 ? lim->ocr_dpi : 300;
    double wpt, hpt;
    if (page_size(path, page, lim->timeout_seconds, &wpt, &hpt)) {
        double pixels = wpt / 72.0 * dpi * (hpt / 72.0 * dpi);
        if (pixels > OCR_MAX_PIXELS)
            dpi = (int)floor(dpi * sqrt(OCR_MAX_PIXELS / pixels));
        if (dpi < 1)
            return og_error_set(err, OG_ERR_NOMEM, "%s: page %d is too large to render for OCR", path, page);
    }
    char num[16], res_dpi[16];
    snprintf(num, sizeof num, "%d", page);
    snprintf(res_dpi, sizeof res_dpi, "%d", dpi);
    const char *argv[] = { "pdftoppm", "-f", num, "-l", num, "-r", res_dpi, "-gray", path, NULL };
    og_docs_proc res;
    og_status st = og_docs_run(argv, "poppler-utils", (uint64_t)OCR_MAX_PIXELS + 4096, lim->timeout_seconds, &res,
                               err);
    if (st != OG_OK) {
        og_docs_proc_free(&res);
        og_error_prefix(err, "%s: page %d", path, page);
        return st;
    }
    int w, h;
    const unsigned char *pixels;
    if (res.exit_code != 0 || !parse_pgm(res.out, res.out_len, &w, &h, &pixels)) {
        char why[256];
        og_docs_proc_reason(&res, why, sizeof why);
        og_docs_proc_free(&res);
        return og_error_set(err, OG_ERR_FORMAT, "%s: page %d cannot be rendered for OCR (pdftoppm: %s)", path,
                            page, why[0] ? why : "no image");
    }
    TessBaseAPISetImage(ocr->api, pixels, w, h, 1, w);
    TessBaseAPISetSourceResolution(ocr->api, dpi);
    char what[64];
    snprintf(what, sizeof what, "page %d", page);
    st = recognise(ocr, what, text, n_bytes, conf, err);
    og_docs_proc_free(&res);
    if (st != OG_OK)
        og_error_prefix(err, "%s", path);
    return st;
}

og_status og_docs_extract_image(const char *path, const og_docs_limits *lim, og_docs_text *out, og_error *err)
{
    memset(out, 0, sizeof *out);
    og_docs_limits defaults = og_docs_default_limits();
    if (!lim)
        lim = &defaults;
    if (!lim->ocr)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "%s: an image, and OCR is turned off", path);
    struct stat st_file;
    if (stat(path, &st_file) != 0)
        return og_error_set(err, OG_ERR_IO, "%s: %s", path, strerror(errno));
    if ((uint64_t)st_file.st_size > lim->max_file_bytes)
        return og_error_set(err, OG_ERR_NOMEM, "%s: %llu MiB, over the limit of %llu MiB per file", path,
                            (unsigned long long)((uint64_t)st_file.st_size >> 20),
                            (unsigned long long)(lim->max_file_bytes >> 20));
    pthread_once(&env_once, quiet_env);
    /* the header first: a huge image is refused before it is decoded */
    l_int32 format = 0, w = 0, h = 0, bps = 0, spp = 0, cmap = 0;
    if (pixReadHeader(path, &format, &w, &h, &bps, &spp, &cmap) != 0 || w <= 0 || h <= 0)
        return og_error_set(err, OG_ERR_FORMAT, "%s: not a readable PNG, JPEG or TIFF image", path);
    if ((double)w * (double)h > OCR_MAX_PIXELS)
        return og_error_set(err, OG_ERR_NOMEM, "%s: %d x %d pixels, over the limit of %.0f Mpx for OCR", path, w, h,
                            OCR_MAX_PIXELS / 1e6);
    og_docs_ocr *ocr;
    og_status st = og_docs_ocr_open(&ocr, err);
    if (st != OG_OK)
        return st;
    PIX *pix = pixRead(path);
    if (!pix) {
        og_docs_ocr_close(ocr);
        return og_error_set(err, OG_ERR_FORMAT, "%s: the image is damaged and cannot be decoded", path);
    }
    TessBaseAPISetImage2(ocr->api, pix);
    /* a resolution the file does not state (or states absurdly) would
     * make Tesseract guess, and warn */
    l_int32 ppi = pixGetXRes(pix);
    TessBaseAPISetSourceResolution(ocr->api, ppi >= 70 && ppi <= 2400 ? ppi : 300);
    char *text = NULL;
    size_t n_bytes = 0;
    float conf = 0;
    st = recognise(ocr, path, &text, &n_bytes, &conf, err);
    pixDestroy(&pix);
    og_docs_ocr_close(ocr);
    if (st != OG_OK)
        return st;
    if (lim->max_text_bytes && n_bytes > lim->max_text_bytes) {
        free(text);
        return og_error_set(err, OG_ERR_NOMEM, "%s: extracted text passes the limit of %llu MiB", path,
                            (unsigned long long)(lim->max_text_bytes >> 20));
    }
    out->pages = calloc(1, sizeof *out->pages);
    if (!out->pages) {
        free(text);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    }
    snprintf(out->kind, sizeof out->kind, "image");
    out->n_pages = 1;
    out->pages[0].number = 1;
    out->pages[0].text = text;
    out->pages[0].n_bytes = n_bytes;
    out->pages[0].ocr = true;
    out->pages[0].ocr_confidence = conf;
    return OG_OK;
}
