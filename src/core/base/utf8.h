/*
 * utf8.h - where a growing UTF-8 text may be cut (utf8.c). A token may
 * end inside a character; streamed text is released on whole characters
 * only.
 */
#ifndef OG_BASE_UTF8_H
#define OG_BASE_UTF8_H

#include <stddef.h>

/* The length of the longest prefix of text[0..len) that does not end
 * inside a character: an incomplete but so far valid sequence at the end
 * (lead byte C2..F4 followed by too few continuation bytes) is left out.
 * Invalid bytes are not held back: they can never complete. */
size_t og_utf8_whole(const char *text, size_t len);

#endif
