/*
 * error.h - filling an og_error with a code and a formatted message.
 */
#ifndef OG_BASE_ERROR_H
#define OG_BASE_ERROR_H

#include "offgrid.h"

/* Sets err (which may be NULL) and returns code, so callers can write
 * `return og_error_set(err, OG_ERR_FORMAT, "...", ...);`. */
og_status og_error_set(og_error *err, og_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to the message already in err. */
void og_error_prefix(og_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
