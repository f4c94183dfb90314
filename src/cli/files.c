/*
 * files.c - reading what the user hands a command: a whole file, or the
 * texts of -p TEXT / -f FILE (one per line).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

char *cli_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "offgrid: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf)
            break;
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = cap < ((size_t)1 << 32) ? realloc(buf, cap * 2 + 1) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        fprintf(stderr, "offgrid: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

bool cli_read_texts(const char *cmd, const char *prompt, const char *file, char **buf, const char ***texts,
                    size_t **lens, int32_t *n)
{
    *buf = NULL;
    *texts = NULL;
    *lens = NULL;
    *n = 0;
    if ((prompt != NULL) == (file != NULL)) {
        fprintf(stderr, "offgrid %s: give exactly one of -p TEXT or -f FILE\n", cmd);
        return false;
    }
    size_t len;
    if (file) {
        if (!(*buf = cli_read_file(file, &len)))
            return false;
    } else {
        len = strlen(prompt);
        if (!(*buf = malloc(len + 1)))
            goto nomem;
        memcpy(*buf, prompt, len + 1);
    }
    size_t n_lines = 1;
    for (size_t i = 0; file && i < len; i++)
        n_lines += (*buf)[i] == '\n' && i + 1 < len;
    if (n_lines > INT32_MAX || !(*texts = malloc(n_lines * sizeof **texts)) || !(*lens = malloc(n_lines * sizeof **lens)))
        goto nomem;
    if (file && len == 0)
        return true; /* an empty file has no lines */
    for (size_t start = 0;;) {
        size_t end = start;
        while (end < len && (!file || (*buf)[end] != '\n'))
            end++;
        size_t l = end - start;
        if (file && l && (*buf)[start + l - 1] == '\r')
            l--;
        (*texts)[*n] = *buf + start;
        (*lens)[(*n)++] = l;
        if (end + 1 >= len)
            break;
        start = end + 1;
    }
    return true;
nomem:
    fprintf(stderr, "offgrid %s: out of memory\n", cmd);
    free(*buf);
    free(*texts);
    *buf = NULL;
    *texts = NULL;
    return false;
}
