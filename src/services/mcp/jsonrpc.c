/*
 * jsonrpc.c - JSON-RPC 2.0 framing for the MCP stdio transport: reads
 * newline-delimited messages with a bound on each line (a client cannot
 * make the server hold more than the bound), sorts parsed messages into
 * requests, notifications, responses and invalid ones, and builds the
 * replies. Owns the reader's buffer; every json_t it returns is the
 * caller's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp/jsonrpc.h"

#define READ_CHUNK ((size_t)64 << 10)

void og_rpc_reader_init(og_rpc_reader *r, int fd, size_t max)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->max = max;
}

void og_rpc_reader_free(og_rpc_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = r->start = r->len = r->scanned = 0;
}

/* Moves the unread bytes to the front and makes room for one more
 * chunk. The buffer never exceeds max + a chunk: past max a line is
 * skipped, not kept. */
static og_status make_room(og_rpc_reader *r, og_error *err)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->len - r->start);
        r->len -= r->start;
        r->start = 0;
    }
    if (r->cap - r->len >= READ_CHUNK)
        return OG_OK;
    size_t want = r->len + READ_CHUNK;
    size_t cap = r->cap ? r->cap : READ_CHUNK;
    while (cap < want)
        cap *= 2;
    char *b = realloc(r->buf, cap);
    if (!b)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory reading a message of %zu bytes", r->len);
    r->buf = b;
    r->cap = cap;
    return OG_OK;
}

og_rpc_line og_rpc_read_line(og_rpc_reader *r, const char **line, size_t *len, og_error *err)
{
    for (;;) {
        char *from = r->buf ? r->buf + r->start + r->scanned : NULL;
        char *nl = from ? memchr(from, '\n', r->len - r->start - r->scanned) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->start));
            const char *s = r->buf + r->start;
            r->start += n + 1;
            r->scanned = 0;
            if (r->skipping) {
                r->skipping = false;
                return OG_RPC_TOO_LONG;
            }
            if (n > r->max) /* the newline came in the same read as the excess */
                return OG_RPC_TOO_LONG;
            if (n > 0 && s[n - 1] == '\r')
                n--;
            *line = s;
            *len = n;
            return OG_RPC_LINE;
        }
        size_t pending = r->len - r->start;
        if (r->skipping || pending > r->max) {
            /* Over the bound: forget what came so far of this line. */
            r->skipping = true;
            r->start = r->len = r->scanned = 0;
            pending = 0;
        } else {
            r->scanned = pending;
        }
        if (r->eof) {
            if (r->skipping) {
                r->skipping = false;
                return OG_RPC_TOO_LONG;
            }
            if (pending == 0)
                return OG_RPC_EOF;
            /* A last line without its newline still counts. */
            const char *s = r->buf + r->start;
            size_t n = pending;
            r->start = r->len;
            r->scanned = 0;
            if (s[n - 1] == '\r')
                n--;
            *line = s;
            *len = n;
            return OG_RPC_LINE;
        }
        if (make_room(r, err) != OG_OK)
            return OG_RPC_FAILED;
        ssize_t got = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            og_error_set(err, OG_ERR_IO, "reading the client's messages: %s", strerror(errno));
            return OG_RPC_FAILED;
        }
        if (got == 0)
            r->eof = true;
        r->len += (size_t)got;
    }
}

/* A JSON-RPC id MCP accepts: a string or an integer (never null). */
static bool valid_id(const json_t *id)
{
    return json_is_string(id) || json_is_integer(id);
}

og_rpc_kind og_rpc_classify(json_t *msg, json_t **id, const char **method, json_t **params, const char **why)
{
    *id = NULL;
    *method = NULL;
    *params = NULL;
    *why = NULL;
    if (json_is_array(msg)) {
        *why = "batches are not supported (JSON-RPC batching was removed from MCP)";
        return OG_RPC_IS_INVALID;
    }
    if (!json_is_object(msg)) {
        *why = "a message must be a JSON object";
        return OG_RPC_IS_INVALID;
    }
    json_t *jid = json_object_get(msg, "id");
    json_t *jm = json_object_get(msg, "method");
    if (jid && valid_id(jid))
        *id = jid;
    const char *version = json_string_value(json_object_get(msg, "jsonrpc"));
    if (!version || strcmp(version, "2.0") != 0) {
        *why = "\"jsonrpc\" must be \"2.0\"";
        return OG_RPC_IS_INVALID;
    }
    if (!jm && jid && (json_object_get(msg, "result") || json_object_get(msg, "error")))
        return OG_RPC_IS_RESPONSE;
    if (!json_is_string(jm)) {
        *why = jm ? "\"method\" must be a string" : "a request needs a \"method\"";
        return OG_RPC_IS_INVALID;
    }
    if (jid && !valid_id(jid)) {
        *why = "\"id\" must be a string or an integer";
        return OG_RPC_IS_INVALID;
    }
    *method = json_string_value(jm);
    *params = json_object_get(msg, "params");
    return jid ? OG_RPC_IS_REQUEST : OG_RPC_IS_NOTIFICATION;
}

static json_t *envelope(json_t *id)
{
    json_t *m = json_object();
    if (!m)
        return NULL;
    if (json_object_set_new(m, "jsonrpc", json_string("2.0")) != 0 ||
        json_object_set_new(m, "id", id ? json_incref(id) : json_null()) != 0) {
        json_decref(m);
        return NULL;
    }
    return m;
}

json_t *og_rpc_result(json_t *id, json_t *result)
{
    json_t *m = result ? envelope(id) : NULL;
    if (!m || json_object_set_new(m, "result", result) != 0) {
        json_decref(m);
        if (!m)
            json_decref(result);
        return NULL;
    }
    return m;
}

json_t *og_rpc_error(json_t *id, int code, const char *message, json_t *data)
{
    json_t *m = envelope(id);
    json_t *e = json_object();
    if (!m || !e || json_object_set_new(e, "code", json_integer(code)) != 0 ||
        json_object_set_new(e, "message", og_rpc_string(message)) != 0 ||
        (data && json_object_set(e, "data", data) != 0) || json_object_set(m, "error", e) != 0) {
        json_decref(m);
        m = NULL;
    }
    json_decref(e);
    json_decref(data);
    return m;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when the
 * bytes there are not one (overlong forms, surrogates and code points
 * past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (len == 0 || s[0] > 0xF4 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0;
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return len;
}

json_t *og_rpc_string(const char *s)
{
    if (!s)
        return json_null();
    size_t n = strlen(s), bad = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        bad += k == 0;
        i += k ? k : 1;
    }
    if (bad == 0)
        return json_stringn_nocheck(s, n);
    char *t = malloc(n + 2 * bad + 1); /* each bad byte (1) becomes U+FFFD (3) */
    if (!t)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k) {
            memcpy(t + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(t + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn_nocheck(t, o);
    free(t);
    return j;
}

char *og_rpc_dump_line(const json_t *msg, size_t *len)
{
    /* Compact output never contains a raw newline (strings escape it),
     * so one message is always one line. 9 significant digits hold a
     * float exactly. */
    char *s = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = 0;
    *len = n + 1;
    return t;
}

og_status og_rpc_write_all(int fd, const char *data, size_t n, og_error *err)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return og_error_set(err, OG_ERR_IO, "writing to the client: %s", w < 0 ? strerror(errno) : "nothing written");
        data += w;
        n -= (size_t)w;
    }
    return OG_OK;
}
