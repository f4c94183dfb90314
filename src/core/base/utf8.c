/*
 * utf8.c - cutting streamed text on whole UTF-8 characters. Owns nothing.
 */
#include "base/utf8.h"

size_t og_utf8_whole(const char *text, size_t len)
{
    /* Only the last three bytes can start an incomplete sequence. */
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        const unsigned char c = (unsigned char)text[len - back];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: look further back */
        const size_t need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 1;
        return need > back ? len - back : len;
    }
    return len;
}
