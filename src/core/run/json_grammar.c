/*
 * json_grammar.c - the JSON recognizer behind constrained sampling
 * (RFC 8259 syntax, byte by byte). Bytes >= 0x80 are accepted inside
 * strings only; whether they form valid UTF-8 is the caller's business
 * (the server replaces invalid sequences when it writes the text out).
 */
#include "run/json_grammar.h"

#include <string.h>

enum {
    M_VALUE,       /* a value must come */
    M_ARRAY_FIRST, /* a value or ']' (just after '[') */
    M_OBJ_FIRST,   /* a key or '}' (just after '{') */
    M_OBJ_KEY,     /* a key (after ',') */
    M_COLON,       /* ':' after a key */
    M_AFTER,       /* ',' or the closing bracket, or the end at the top */
    M_STRING,
    M_ESCAPE,      /* after a backslash */
    M_UNICODE,     /* sub = hex digits of \uXXXX read so far */
    M_NUMBER,      /* sub = one of the N_ phases below */
    M_LITERAL,     /* sub = characters of lit matched so far */
    M_DONE         /* the top-level value is complete */
};

enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

static const char *const literals[] = { "true", "false", "null" };

void og_json_init(og_json_state *s, bool object_only)
{
    memset(s, 0, sizeof *s);
    s->mode = M_VALUE;
    s->object_only = object_only;
}

static bool is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* A value just ended: what may follow depends on the container. */
static void value_done(og_json_state *s)
{
    s->mode = s->depth == 0 ? M_DONE : M_AFTER;
}

static bool open_container(og_json_state *s, unsigned char c)
{
    if (s->depth >= OG_JSON_MAX_DEPTH)
        return false;
    s->stack[s->depth++] = c;
    s->mode = c == '{' ? M_OBJ_FIRST : M_ARRAY_FIRST;
    return true;
}

static bool close_container(og_json_state *s, unsigned char c)
{
    if (s->depth == 0 || s->stack[s->depth - 1] != (c == '}' ? '{' : '['))
        return false;
    s->depth--;
    value_done(s);
    return true;
}

/* The first byte of a value. */
static bool start_value(og_json_state *s, unsigned char c)
{
    if (s->object_only && s->depth == 0 && c != '{')
        return false;
    if (c == '{' || c == '[')
        return open_container(s, c);
    if (c == '"') {
        s->mode = M_STRING;
        s->in_key = false;
        return true;
    }
    if (c == '-' || is_digit(c)) {
        s->mode = M_NUMBER;
        s->sub = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
        return true;
    }
    for (uint8_t i = 0; i < 3; i++)
        if (c == (unsigned char)literals[i][0]) {
            s->mode = M_LITERAL;
            s->lit = i;
            s->sub = 1;
            return true;
        }
    return false;
}

/* Whether a number may end in its current phase. */
static bool number_can_end(const og_json_state *s)
{
    return s->sub == N_ZERO || s->sub == N_INT || s->sub == N_FRAC || s->sub == N_EXP;
}

/* One byte inside a number; *ended is set when c is not part of it. */
static bool number_byte(og_json_state *s, unsigned char c, bool *ended)
{
    *ended = false;
    switch (s->sub) {
    case N_MINUS:
        if (!is_digit(c))
            return false;
        s->sub = c == '0' ? N_ZERO : N_INT;
        return true;
    case N_ZERO:
    case N_INT:
        if (is_digit(c) && s->sub == N_INT)
            return true;
        if (c == '.') { s->sub = N_DOT; return true; }
        if (c == 'e' || c == 'E') { s->sub = N_E; return true; }
        break;
    case N_DOT:
        if (!is_digit(c))
            return false;
        s->sub = N_FRAC;
        return true;
    case N_FRAC:
        if (is_digit(c))
            return true;
        if (c == 'e' || c == 'E') { s->sub = N_E; return true; }
        break;
    case N_E:
        if (c == '+' || c == '-') { s->sub = N_ESIGN; return true; }
        if (!is_digit(c))
            return false;
        s->sub = N_EXP;
        return true;
    case N_ESIGN:
        if (!is_digit(c))
            return false;
        s->sub = N_EXP;
        return true;
    case N_EXP:
        if (is_digit(c))
            return true;
        break;
    }
    if (!number_can_end(s))
        return false;
    *ended = true;
    value_done(s);
    return true;
}

static bool structural_byte(og_json_state *s, unsigned char c)
{
    if (is_ws(c)) {
        /* No blank before the top-level value: the answer starts with it. */
        if (s->mode == M_DONE || (s->depth == 0 && s->mode == M_VALUE) || ++s->ws > OG_JSON_MAX_WS)
            return false;
        return true;
    }
    s->ws = 0;
    switch (s->mode) {
    case M_VALUE:
        return start_value(s, c);
    case M_ARRAY_FIRST:
        return c == ']' ? close_container(s, c) : start_value(s, c);
    case M_OBJ_FIRST:
        if (c == '}')
            return close_container(s, c);
        /* fall through */
    case M_OBJ_KEY:
        if (c != '"')
            return false;
        s->mode = M_STRING;
        s->in_key = true;
        return true;
    case M_COLON:
        if (c != ':')
            return false;
        s->mode = M_VALUE;
        return true;
    case M_AFTER:
        if (c == ',') {
            s->mode = s->stack[s->depth - 1] == '{' ? M_OBJ_KEY : M_VALUE;
            return true;
        }
        return (c == '}' || c == ']') && close_container(s, c);
    default:
        return false;
    }
}

static bool feed_byte(og_json_state *s, unsigned char c)
{
    switch (s->mode) {
    case M_STRING:
        if (c == '"') {
            if (s->in_key)
                s->mode = M_COLON;
            else
                value_done(s);
            return true;
        }
        if (c == '\\')
            s->mode = M_ESCAPE;
        return c >= 0x20;
    case M_ESCAPE:
        if (c == 'u') {
            s->mode = M_UNICODE;
            s->sub = 0;
            return true;
        }
        s->mode = M_STRING;
        return strchr("\"\\/bfnrt", c) != NULL && c != 0;
    case M_UNICODE:
        if (!is_hex(c))
            return false;
        if (++s->sub == 4)
            s->mode = M_STRING;
        return true;
    case M_NUMBER: {
        bool ended;
        if (!number_byte(s, c, &ended))
            return false;
        return !ended || structural_byte(s, c);
    }
    case M_LITERAL: {
        const char *lit = literals[s->lit];
        if (c != (unsigned char)lit[s->sub])
            return false;
        if (lit[++s->sub] == 0)
            value_done(s);
        return true;
    }
    default:
        return structural_byte(s, c);
    }
}

bool og_json_feed(og_json_state *s, const char *text, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!feed_byte(s, (unsigned char)text[i]))
            return false;
    return true;
}

bool og_json_complete(const og_json_state *s)
{
    /* A top-level number is whole once it may end (nothing can close it). */
    return s->mode == M_DONE || (s->mode == M_NUMBER && s->depth == 0 && number_can_end(s));
}
