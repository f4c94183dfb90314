/*
 * files.c - reading what the user hands a command: a whole file (or
 * stdin, "-"), bounded by what that kind of file may hold, or the texts
 * of -p TEXT / -f FILE (one per line).
 *
 * Every read is capped: without a cap, -f /dev/zero grows a buffer until
 * malloc gives up, and the user learns nothing about why. The cap is the
 * caller's (a key file is tiny, a text file large but not unbounded), and
 * the error says which cap stopped the read.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* "256 MiB", "4 KiB": the cap as the error and --help say it. */
static void format_size(size_t n, char *buf, size_t cap)
{
    if (n >= ((size_t)1 << 20) && n % ((size_t)1 << 20) == 0)
        snprintf(buf, cap, "%zu MiB", n >> 20);
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, cap, "%zu KiB", n >> 10);
    else
        snprintf(buf, cap, "%zu bytes", n);
}

char *cli_read_file(const char *cmd, const char *path, size_t max, const char *what, size_t *len)
{
    const bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "offgrid %s: cannot open %s: %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    /* Grow by doubling up to max + 1 bytes: one byte past the cap is how a
     * file that is too large is told from one exactly at it. */
    size_t cap = max < ((size_t)1 << 16) ? max + 1 : (size_t)1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    bool too_large = false;
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break; /* end of file or an error, told apart below */
        if (n > max) {
            too_large = true;
            break;
        }
        size_t bigger_cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
        char *bigger = realloc(buf, bigger_cap + 1);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap = bigger_cap;
    }
    int saved = errno;
    bool failed = ferror(f);
    if (!is_stdin)
        fclose(f);
    char limit[32];
    format_size(max, limit, sizeof limit);
    if (!buf)
        fprintf(stderr, "offgrid %s: out of memory reading %s\n", cmd, name);
    else if (too_large)
        fprintf(stderr, "offgrid %s: %s is larger than the %s %s may be\n", cmd, name, limit, what);
    else if (failed)
        fprintf(stderr, "offgrid %s: cannot read %s: %s\n", cmd, name, strerror(saved));
    if (!buf || too_large || failed) {
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
        if (!(*buf = cli_read_file(cmd, file, CLI_TEXT_FILE_MAX, "a text file", &len)))
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

char *cli_read_key_line(const char *cmd, const char *path, const char *what)
{
    /* Say which of a command's key files is missing (a signature, a key). */
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "offgrid %s: cannot open %s %s: %s\n", cmd, what, path, strerror(errno));
        return NULL;
    }
    size_t len;
    char *line = cli_read_file(cmd, path, CLI_KEY_FILE_MAX, what, &len);
    if (!line)
        return NULL;
    size_t n = strcspn(line, "\r\n");
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    line[n] = 0;
    if (!n) {
        fprintf(stderr, "offgrid %s: %s (%s) holds nothing on its first line\n", cmd, path, what);
        free(line);
        return NULL;
    }
    return line;
}
