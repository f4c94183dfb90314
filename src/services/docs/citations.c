/*
 * citations.c - the streaming citation check (citations.h). A marker is
 * '[' then numbers separated by commas or spaces, then ']'; a marker
 * some of whose numbers are real keeps those, and invented numbers are
 * dropped from it ("[2, 9]" with five excerpts becomes "[2]"). Anything
 * else in brackets is text and passes unchanged.
 */
#include "docs/citations.h"

#include <stdio.h>
#include <string.h>

void og_cite_init(og_cite_filter *f, int32_t n_excerpts, og_cite_emit_fn emit, og_cite_check_fn check, void *user)
{
    memset(f, 0, sizeof *f);
    f->n_excerpts = n_excerpts < OG_CITE_MAX_EXCERPTS ? n_excerpts : OG_CITE_MAX_EXCERPTS;
    f->emit = emit;
    f->check = check;
    f->user = user;
}

static void emit(og_cite_filter *f, const char *s, size_t n)
{
    if (n)
        f->emit(f->user, s, n);
}

/* Decides the held marker "[...]" (complete, ']' included). */
static void decide(og_cite_filter *f)
{
    /* A marker of OG_CITE_HOLD bytes holds at most half as many numbers. */
    int32_t nums[OG_CITE_HOLD / 2 + 1];
    int32_t count = 0;
    for (size_t i = 1; i + 1 < f->n_held;) {
        if (f->held[i] < '0' || f->held[i] > '9') {
            i++;
            continue;
        }
        int64_t v = 0;
        size_t j = i;
        for (; j + 1 < f->n_held && f->held[j] >= '0' && f->held[j] <= '9'; j++)
            v = v < 1000000 ? v * 10 + (f->held[j] - '0') : v; /* saturates: past any excerpt */
        if (v >= 1 && v <= f->n_excerpts) {
            nums[count++] = (int32_t)v;
        } else {
            if (f->n_invented < (int32_t)(sizeof f->invented / sizeof f->invented[0]))
                f->invented[f->n_invented] = (int32_t)(v > 0x7fffffff ? 0x7fffffff : v);
            f->n_invented++;
        }
        i = j;
    }
    f->n_held = 0;
    if (count && f->check)
        f->n_repointed += f->check(f->user, nums, count);
    char out[(OG_CITE_HOLD / 2 + 1) * 4 + 2]; /* each number ", NN" at most */
    size_t n_out = 0;
    int32_t kept = 0;
    out[n_out++] = '[';
    for (int32_t k = 0; k < count; k++) {
        bool dup = false; /* two numbers re-pointed to one excerpt: cite it once */
        for (int32_t e = 0; e < k && !dup; e++)
            dup = nums[e] == nums[k];
        if (dup || nums[k] < 1 || nums[k] > f->n_excerpts)
            continue;
        f->cited[nums[k]] = true;
        if (kept++)
            out[n_out++] = ',', out[n_out++] = ' ';
        n_out += (size_t)snprintf(out + n_out, sizeof out - n_out, "%d", (int)nums[k]);
    }
    out[n_out++] = ']';
    if (kept)
        emit(f, out, n_out);
}

void og_cite_feed(og_cite_filter *f, const char *text, size_t n)
{
    size_t from = 0; /* start of text not yet emitted or held */
    for (size_t i = 0; i < n; i++) {
        const char c = text[i];
        if (f->n_held == 0) {
            if (c == '[') {
                emit(f, text + from, i - from);
                f->held[f->n_held++] = c;
                f->held[f->n_held] = 0;
                from = i + 1;
            }
            continue;
        }
        /* Inside a possible marker: digits, commas and spaces, then ']'. */
        const bool digit = c >= '0' && c <= '9', sep = c == ',' || c == ' ';
        const bool has_digit = f->n_held > 1 && strpbrk(f->held + 1, "0123456789") != NULL;
        if (c == ']' && has_digit && f->n_held < OG_CITE_HOLD) {
            f->held[f->n_held++] = c;
            f->held[f->n_held] = 0;
            decide(f);
            from = i + 1;
        } else if ((digit || (sep && f->n_held > 1)) && f->n_held < OG_CITE_HOLD) {
            f->held[f->n_held++] = c;
            f->held[f->n_held] = 0;
            from = i + 1;
        } else { /* not a marker: what was held is text */
            emit(f, f->held, f->n_held);
            f->n_held = 0;
            from = i;
            if (c == '[') { /* it may start one itself */
                f->held[f->n_held++] = c;
                f->held[f->n_held] = 0;
                from = i + 1;
            }
        }
    }
    if (f->n_held == 0)
        emit(f, text + from, n - from);
}

void og_cite_finish(og_cite_filter *f)
{
    emit(f, f->held, f->n_held);
    f->n_held = 0;
}
