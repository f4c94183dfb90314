/*
 * text.c - the byte-level helpers the server needs: making JSON strings
 * out of text that may not be valid UTF-8 (jansson refuses it), base64 for
 * embeddings, a constant-time key comparison, and reading a request body
 * as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server.h"

double og_srv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void og_srv_wait_tick(pthread_cond_t *cv, pthread_mutex_t *mu)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

/* Bytes of a valid sequence at p (at most n bytes available): 0 when
 * invalid, -k when it is the start of a valid sequence of k > n bytes. */
static int utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    int need;
    uint32_t min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) { need = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 4; min = 0x10000; }
    else return 0;
    uint32_t cp = c & (0x3F >> (need - 1));
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= n)
            return -need;
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

json_t *og_srv_json_text(const char *text, size_t len)
{
    char *clean = malloc(len * 3 + 1);
    if (!clean)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        int k = utf8_seq((const unsigned char *)text + i, len - i);
        if (k > 0) {
            memcpy(clean + o, text + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        } else {
            memcpy(clean + o, "\xEF\xBF\xBD", 3); /* U+FFFD */
            o += 3;
            i++;
        }
    }
    json_t *s = json_stringn(clean, o);
    free(clean);
    return s;
}

char *og_srv_base64(const void *data, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
    return out;
}

bool og_srv_secret_equal(const char *a, const char *b)
{
    /* Every byte of the expected key is looked at whatever the guess, so
     * the time tells nothing about how much of it matched. */
    size_t la = strlen(a), lb = strlen(b);
    volatile unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < lb; i++)
        diff |= (unsigned char)((i < la ? (unsigned char)a[i] : 0) ^ (unsigned char)b[i]);
    return diff == 0;
}

json_t *og_srv_parse_body(const og_srv_req *r, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *root = r->body ? json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!root && !r->body)
        snprintf(why, cap, "the body is not valid JSON: it is empty");
    else if (!root && strstr(jerr.text, "\\u0000")) /* jansson names its flag here */
        snprintf(why, cap, "request body: JSON strings may not contain \\u0000 (at line %d, column %d)", jerr.line,
                 jerr.column);
    else if (!root)
        snprintf(why, cap, "the body is not valid JSON: %s (at line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
    return root;
}
