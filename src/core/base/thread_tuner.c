/*
 * thread_tuner.c - picks the thread count of one-token passes from their
 * measured times.
 *
 * Generation is bound by memory more than by arithmetic, and every pass
 * ends in a barrier: when another process competes for a core, the
 * thread that shares it is descheduled for whole time slices and every
 * barrier waits for it, so two threads can run at half the speed of one.
 * No count chosen up front survives that (the load comes and goes), so
 * the tuner tries a neighbouring count (one thread fewer or more,
 * alternately) for a block of passes, then the current count for a
 * block, and keeps whichever block's median was faster by MARGIN. A trial
 * on a quiet machine costs a few passes at a worse count, so after the
 * first one (at once) trials come every MAX_CYCLE passes while they lose;
 * after a win, every MIN_CYCLE, doubling while they lose again (the load
 * that made fewer threads win may go). A run of passes much slower than
 * the last measured median (another process has just taken a core)
 * brings the next trial at once. Which thread computes a row never changes its
 * value, so the output does not depend on the count.
 */
#include "base/thread_tuner.h"

#include <stdlib.h>

#define MIN_CYCLE 128  /* one-token passes from one trial to the next, at first */
#define MAX_CYCLE 512  /* ... and at most, while trials keep losing */
#define MARGIN 0.05    /* how much faster a trial must be to win */
#define SLOW 1.3       /* a pass this much over the last median counts as slow */
#define N_SLOW 16      /* slow passes in a row that call a trial early */

void og_thread_tuner_init(og_thread_tuner *t, int32_t n_threads)
{
    /* The first trial comes at once (a core may be busy from the start);
     * then seldom, unless it won or passes turn slow. */
    *t = (og_thread_tuner){ .n_max = n_threads, .n_cur = n_threads, .cycle = MAX_CYCLE, .toward = -1 };
}

/* The count under trial this cycle: the neighbour on the side `toward`,
 * or the other side at the ends of 1..n_max. */
static int32_t trial_count(const og_thread_tuner *t)
{
    int32_t n = t->n_cur + t->toward;
    if (n < 1 || n > t->n_max)
        n = t->n_cur - t->toward;
    return n;
}

int32_t og_thread_tuner_next(const og_thread_tuner *t)
{
    if (t->n_max <= 1)
        return 1;
    if (t->step < OG_TUNER_BLOCK)
        return trial_count(t);
    return t->n_cur;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of the block's counted passes (all but the first, which may
 * pay for waking a parked thread). */
static double block_median(double *s)
{
    qsort(s + 1, OG_TUNER_BLOCK - 1, sizeof *s, by_value);
    const int n = OG_TUNER_BLOCK - 1;
    return n % 2 ? s[1 + n / 2] : 0.5 * (s[n / 2] + s[n / 2 + 1]);
}

void og_thread_tuner_record(og_thread_tuner *t, double seconds)
{
    if (t->n_max <= 1)
        return;
    if (t->step < OG_TUNER_BLOCK)
        t->trial_s[t->step] = seconds;
    else if (t->step < 2 * OG_TUNER_BLOCK)
        t->cur_s[t->step - OG_TUNER_BLOCK] = seconds;
    else
        t->n_slow = t->cur_median > 0.0 && seconds > SLOW * t->cur_median ? t->n_slow + 1 : 0;
    if (++t->step == 2 * OG_TUNER_BLOCK) {
        const int32_t trial = trial_count(t);
        const double trial_median = block_median(t->trial_s);
        t->cur_median = block_median(t->cur_s);
        if (trial_median < (1.0 - MARGIN) * t->cur_median) {
            t->n_cur = trial;
            t->cur_median = trial_median;
            t->cycle = MIN_CYCLE;
        } else if (t->cycle < MAX_CYCLE) {
            t->cycle *= 2;
        }
        t->toward = -t->toward;
        t->n_slow = 0;
    }
    if (t->step >= t->cycle || t->n_slow >= N_SLOW) {
        t->step = 0;
        t->n_slow = 0;
    }
}
