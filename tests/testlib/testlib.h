/*
 * testlib.h - the few helpers every test program shares: checks that count
 * failures, reading whole files, and where the models are.
 */
#ifndef OG_TESTLIB_H
#define OG_TESTLIB_H

#include <stddef.h>
#include <stdio.h>

#include "offgrid.h"
#ifdef OG_WITH_TRANSFORMS
#include "offgrid_transform.h"
#endif
#ifdef OG_WITH_SERVICES
#include "offgrid_services.h"
#endif

extern int og_test_failures;
extern int og_test_checks;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        og_test_checks++;                                                     \
        if (!(cond)) {                                                        \
            og_test_failures++;                                               \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

/* Prints the summary line and returns the process exit code. */
int og_test_finish(const char *name);

/* Reads a whole file into a NUL-terminated malloc'd buffer; *len gets its
 * size (without the NUL). Returns NULL (and reports) on failure. */
char *og_test_read_file(const char *path, size_t *len);

/* A growable byte buffer for files built in memory; after a failed
 * allocation oom is set and further puts do nothing. Free p. */
typedef struct og_test_buf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} og_test_buf;
void og_test_buf_put(og_test_buf *b, const void *data, size_t n);

/* Joins dir and name into a static buffer (one at a time). */
const char *og_test_path(const char *dir, const char *name);

/* The default chat model fetched by setup (models/ in the source tree or
 * $OG_SMOLLM2); NULL, with a message naming the setup step, if absent. */
const char *og_test_smollm2_path(void);

/* Index of the largest of n values (the lowest index on ties), like a
 * greedy sampler. */
int og_test_argmax(const float *values, int n);

/* Finds the first line of a fixture file that starts with prefix and
 * parses up to max numbers after it; returns how many (-1 if the file or
 * line is missing, reported). */
int og_test_fixture_numbers(const char *path, const char *prefix, double *out, int max);

#endif
