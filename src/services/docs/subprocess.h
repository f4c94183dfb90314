/*
 * subprocess.h - runs a helper program (pdfinfo, pdftotext, pdftoppm) as a
 * separate process and collects what it prints, within a byte cap and a
 * time limit. The documents service reads PDFs through poppler-utils this
 * way because Poppler is GPL: it must never be linked into liboffgrid.
 */
#ifndef OG_DOCS_SUBPROCESS_H
#define OG_DOCS_SUBPROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "offgrid.h"

/* What a finished helper left: its stdout (owned, NUL-terminated, may
 * contain NULs: use out_len), the head of its stderr, and how it ended. */
typedef struct og_docs_proc {
    char *out;
    size_t out_len;
    char err_text[1024]; /* the first bytes of stderr, NUL-terminated */
    int exit_code;       /* the exit status; -1 when a signal ended it */
    bool over_cap;       /* stopped for printing more than max_out */
    bool timed_out;      /* stopped at the time limit */
} og_docs_proc;

/* Runs argv[0] (looked up in PATH, never through a shell) with argv,
 * stdin from /dev/null, and waits for it to end. The child gets an
 * address-space and CPU-time limit where the system allows setting one.
 *  - argv[0] not found: OG_ERR_UNSUPPORTED "<argv[0]> not found: install
 *    <package>";
 *  - stdout over max_out bytes: the child is killed, OG_ERR_NOMEM naming
 *    the limit;
 *  - still running after timeout_seconds (> 0): the child is killed with
 *    SIGKILL and reaped, OG_ERR_NOMEM naming the time limit;
 *  - otherwise OG_OK, whatever the child's exit status (the caller reads
 *    res->exit_code and res->err_text to judge it).
 * *res is zeroed first; og_docs_proc_free it after any return. */
og_status og_docs_run(const char *const argv[], const char *package, uint64_t max_out, int timeout_seconds,
                      og_docs_proc *res, og_error *err);

/* Frees what *res owns and zeroes it. */
void og_docs_proc_free(og_docs_proc *res);

/* The last non-empty line of a helper's stderr without poppler's
 * "Syntax Error: " style prefix, copied into buf (empty when none). */
void og_docs_proc_reason(const og_docs_proc *res, char *buf, size_t size);

#endif
