/*
 * error.c - status names and the og_error helpers every module uses to
 * report a failure with a message that names what was wrong.
 */
#include "offgrid.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *og_status_name(og_status code)
{
    switch (code) {
    case OG_OK:               return "ok";
    case OG_ERR_ARG:          return "invalid argument";
    case OG_ERR_IO:           return "i/o error";
    case OG_ERR_FORMAT:       return "malformed file";
    case OG_ERR_UNSUPPORTED:  return "unsupported";
    case OG_ERR_NOMEM:        return "out of memory";
    case OG_ERR_CONTEXT_FULL: return "context full";
    case OG_ERR_CANCELLED:    return "cancelled";
    case OG_ERR_NO_SPACE:     return "not enough disk space";
    case OG_ERR_KEY:          return "wrong passphrase or key";
    }
    return "unknown error";
}

og_status og_error_set(og_error *err, og_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void og_error_prefix(og_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256], old[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    snprintf(err->message, sizeof err->message, "%s: %s", prefix, old);
}
