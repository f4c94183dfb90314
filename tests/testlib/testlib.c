/*
 * testlib.c - shared test helpers (see testlib.h).
 */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int og_test_failures;
int og_test_checks;

int og_test_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, og_test_checks - og_test_failures, og_test_failures);
    return og_test_failures ? 1 : 0;
}

void og_test_buf_put(og_test_buf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

char *og_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        char *bigger = realloc(buf, cap + 1);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

const char *og_test_path(const char *dir, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

const char *og_test_smollm2_path(void)
{
    static char path[4096];
    const char *env = getenv("OG_SMOLLM2");
    if (env && *env)
        return env;
    snprintf(path, sizeof path, "%s/SmolLM2-135M-Instruct.Q4_1.gguf", OG_MODELS_DIR);
    if (access(path, R_OK) == 0)
        return path;
    fprintf(stderr, "missing %s: run tools/setup.sh first\n", path);
    return NULL;
}

int og_test_fixture_numbers(const char *path, const char *prefix, double *out, int max)
{
    char *text = og_test_read_file(path, NULL);
    if (!text)
        return -1;
    size_t plen = strlen(prefix);
    int n = -1;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if (strncmp(line, prefix, plen) == 0) {
            char *p = line + plen, *end;
            n = 0;
            while (n < max) {
                double v = strtod(p, &end);
                if (end == p)
                    break;
                out[n++] = v;
                p = end;
            }
            break;
        }
        line = next;
    }
    if (n < 0)
        fprintf(stderr, "%s: no line starting with '%s'\n", path, prefix);
    free(text);
    return n;
}

int og_test_argmax(const float *values, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (values[i] > values[best])
            best = i;
    return best;
}
