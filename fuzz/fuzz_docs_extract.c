/*
 * fuzz_docs_extract.c - libFuzzer target for the documents service's text
 * readers (plain text, Markdown, HTML, DOCX): any bytes, saved under any
 * of their names, must read into well-formed pages or fail with a message.
 * The first byte picks the file name (so the dispatcher picks the reader);
 * the rest is the file. External-program readers (PDF, images) are not
 * fuzzed here: %PDF- and image magic are turned into text.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/extract.h"

static char dir[] = "/tmp/og_fuzz_docs_XXXXXX";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = { "f.txt", "f.md", "f.html", "f.docx" };
    if (!size)
        return 0;
    if (dir[sizeof dir - 2] == 'X' && !mkdtemp(dir))
        abort();
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/%s", dir, names[data[0] % 4]);
    data++, size--;
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    /* the PDF and image readers run programs and OCR: keep to the text readers */
    bool magic = size >= 3 && (!memcmp(data, "%PD", 3) || !memcmp(data, "\x89PN", 3) ||
                               !memcmp(data, "\xff\xd8\xff", 3) || !memcmp(data, "II*", 3) || !memcmp(data, "MM", 2));
    if (magic)
        fputc(' ', f);
    if ((size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    og_docs_limits lim = og_docs_default_limits();
    lim.ocr = false;
    lim.max_text_bytes = 1 << 20;
    og_docs_text t;
    og_error err;
    if (og_docs_extract(path, &lim, &t, &err) != OG_OK) {
        if (!err.message[0] || t.pages)
            abort();
        return 0;
    }
    for (int32_t p = 0; p < t.n_pages; p++) {
        const og_docs_page *pg = &t.pages[p];
        if (strlen(pg->text) != pg->n_bytes || og_docs_invalid_utf8(pg->text, pg->n_bytes) >= 0)
            abort();
        int64_t cps = og_docs_code_points(pg->text, pg->n_bytes), prev = 0;
        for (int32_t h = 0; h < pg->n_headings; h++) {
            const og_docs_heading *hd = &pg->headings[h];
            if (hd->start < prev || hd->start >= hd->end || hd->end > cps || hd->level < 1 || hd->level > 6)
                abort();
            prev = hd->end;
        }
    }
    og_docs_text_free(&t);
    return 0;
}
