/*
 * unicode.c - the codepoint helpers the tokenizers need: UTF-8 decoding
 * with llama.cpp's error rules, category flags, lowercase and accent
 * stripping (from utf8proc, not hand-written tables) and GPT-2's reversible
 * byte <-> unicode mapping.
 */
#include "tokenizer/vocab_internal.h"

#include <stdlib.h>
#include <utf8proc.h>

size_t og_vocab_utf8_len(unsigned char c)
{
    static const uint8_t lookup[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
    return lookup[c >> 4];
}

static bool is_cont(const unsigned char *s, size_t i, size_t len)
{
    return i < len && (s[i] & 0xc0) == 0x80;
}

/* One codepoint at *off; llama.cpp accepts overlong forms and only checks
 * that continuation bytes are present, and we must split text the same. */
static uint32_t decode_one(const unsigned char *s, size_t len, size_t *off)
{
    size_t i = *off;
    unsigned c = s[i];
    if (!(c & 0x80)) {
        *off = i + 1;
        return c;
    }
    if ((c & 0x40) && !(c & 0x20) && is_cont(s, i + 1, len)) {
        *off = i + 2;
        return ((c & 0x1fu) << 6) | (s[i + 1] & 0x3fu);
    }
    if ((c & 0x40) && (c & 0x20) && !(c & 0x10) && is_cont(s, i + 1, len) && is_cont(s, i + 2, len)) {
        *off = i + 3;
        return ((c & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) | (s[i + 2] & 0x3fu);
    }
    if ((c & 0x40) && (c & 0x20) && (c & 0x10) && !(c & 0x08) && is_cont(s, i + 1, len) &&
        is_cont(s, i + 2, len) && is_cont(s, i + 3, len)) {
        uint32_t cpt = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3fu) << 12) |
                       ((s[i + 2] & 0x3fu) << 6) | (s[i + 3] & 0x3fu);
        /* llama.cpp would throw later when re-encoding such a value; map it
         * to the replacement character instead. */
        *off = i + 4;
        return cpt > 0x10ffff ? 0xfffd : cpt;
    }
    *off = i + 1;
    return 0xfffd;
}

uint32_t *og_vocab_utf8_decode(const char *text, size_t len, size_t *n_out)
{
    uint32_t *out = malloc((len ? len : 1) * sizeof *out);
    if (!out)
        return NULL;
    size_t n = 0, off = 0;
    while (off < len)
        out[n++] = decode_one((const unsigned char *)text, len, &off);
    *n_out = n;
    return out;
}

size_t og_vocab_utf8_encode(uint32_t cpt, char *buf)
{
    if (cpt <= 0x7f) {
        buf[0] = (char)cpt;
        return 1;
    }
    if (cpt <= 0x7ff) {
        buf[0] = (char)(0xc0 | (cpt >> 6));
        buf[1] = (char)(0x80 | (cpt & 0x3f));
        return 2;
    }
    if (cpt <= 0xffff) {
        buf[0] = (char)(0xe0 | (cpt >> 12));
        buf[1] = (char)(0x80 | ((cpt >> 6) & 0x3f));
        buf[2] = (char)(0x80 | (cpt & 0x3f));
        return 3;
    }
    if (cpt > 0x10ffff)
        cpt = 0xfffd;
    if (cpt <= 0xffff)
        return og_vocab_utf8_encode(cpt, buf);
    buf[0] = (char)(0xf0 | (cpt >> 18));
    buf[1] = (char)(0x80 | ((cpt >> 12) & 0x3f));
    buf[2] = (char)(0x80 | ((cpt >> 6) & 0x3f));
    buf[3] = (char)(0x80 | (cpt & 0x3f));
    return 4;
}

/* The whitespace set of llama.cpp's tables (Python's str.isspace view). */
static bool is_whitespace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

uint32_t og_vocab_cpt_flags(uint32_t cpt)
{
    if (cpt > 0x10ffff)
        return 0;
    uint32_t f;
    switch (utf8proc_category((utf8proc_int32_t)cpt)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        f = OG_CPT_LETTER; break;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        f = OG_CPT_ACCENT_MARK; break;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        f = OG_CPT_NUMBER; break;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        f = OG_CPT_PUNCTUATION; break;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
        f = OG_CPT_SYMBOL; break;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        f = OG_CPT_SEPARATOR; break;
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
        f = OG_CPT_CONTROL; break;
    default:
        f = OG_CPT_UNDEFINED; break;
    }
    if (is_whitespace(cpt))
        f |= OG_CPT_WHITESPACE;
    return f;
}

uint32_t og_vocab_cpt_tolower(uint32_t cpt)
{
    if (cpt > 0x10ffff)
        return cpt;
    return (uint32_t)utf8proc_tolower((utf8proc_int32_t)cpt);
}

size_t og_vocab_cpt_strip_accents(uint32_t cpt, uint32_t out[OG_NFD_MAX])
{
    if (cpt > 0x10ffff) {
        out[0] = cpt;
        return 1;
    }
    utf8proc_int32_t dst[OG_NFD_MAX];
    int last_boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cpt, dst, OG_NFD_MAX, UTF8PROC_DECOMPOSE,
                                                 &last_boundclass);
    if (n <= 0 || n > OG_NFD_MAX) {
        out[0] = cpt;
        return 1;
    }
    size_t kept = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++)
        if (utf8proc_category(dst[i]) != UTF8PROC_CATEGORY_MN)
            out[kept++] = (uint32_t)dst[i];
    return kept;
}

/* GPT-2 maps the printable Latin-1 bytes to themselves and the other 68,
 * in order, to U+0100 onwards, so that every byte is a visible character.
 * The non-printable ones are 0x00-0x20, 0x7F-0xA0 and 0xAD. */
static uint32_t byte_cpt(uint8_t b)
{
    if (b <= 0x20)
        return 256 + b;
    if (b >= 0x7f && b <= 0xa0)
        return 256 + 33 + (b - 0x7fu);
    if (b == 0xad)
        return 256 + 67;
    return b;
}

size_t og_vocab_byte_to_utf8(uint8_t b, char *out)
{
    return og_vocab_utf8_encode(byte_cpt(b), out);
}

int og_vocab_cpt_to_byte(uint32_t cpt)
{
    if (cpt < 256)
        return byte_cpt((uint8_t)cpt) == cpt ? (int)cpt : -1;
    if (cpt <= 256 + 0x20)
        return (int)(cpt - 256);
    if (cpt <= 256 + 66)
        return (int)(cpt - 256 - 33 + 0x7f);
    return cpt == 256 + 67 ? 0xad : -1;
}
