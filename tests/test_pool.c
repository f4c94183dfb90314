/*
 * test_pool.c - the thread pool when fewer threads than it started take
 * part (og_pool_set_active), and the tuner that picks that count for
 * one-token passes (base/thread_tuner.c), on made-up pass times: it keeps
 * all threads when they are faster, drops to fewer when a trial is
 * faster by more than its margin, climbs back when the load goes, tries
 * seldom while trials lose, and early when passes turn slow.
 */
#include <stdatomic.h>
#include <string.h>

#include "base/pool.h"
#include "base/thread_tuner.h"
#include "testlib.h"

typedef struct job {
    atomic_int calls[8];
    atomic_int nth_seen[8];
} job;

static void count_call(void *arg, int ith, int nth)
{
    job *j = arg;
    atomic_fetch_add(&j->calls[ith], 1);
    atomic_store(&j->nth_seen[ith], nth);
}

static void test_active_counts(void)
{
    og_pool *pool = NULL;
    og_error err = { 0 };
    CHECK(og_pool_new(4, &pool, &err) == OG_OK, "%s", err.message);
    if (!pool)
        return;
    /* Many short jobs while the count changes, so parked and waking
     * workers meet jobs they sit out and jobs they must run. */
    static const int counts[] = { 4, 2, 1, 3, 4, 1, 2, 4 };
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        og_pool_set_active(pool, counts[c]);
        CHECK(og_pool_active(pool) == counts[c], "active %d, set %d", og_pool_active(pool), counts[c]);
        job j;
        memset(&j, 0, sizeof j);
        for (int r = 0; r < 2000; r++)
            og_pool_run(pool, count_call, &j);
        for (int i = 0; i < 4; i++) {
            const int want = i < counts[c] ? 2000 : 0;
            CHECK(atomic_load(&j.calls[i]) == want, "active %d: thread %d ran %d jobs, want %d", counts[c], i,
                  atomic_load(&j.calls[i]), want);
            if (i < counts[c])
                CHECK(atomic_load(&j.nth_seen[i]) == counts[c], "thread %d saw nth %d", i,
                      atomic_load(&j.nth_seen[i]));
        }
    }
    og_pool_set_active(pool, 99);
    CHECK(og_pool_active(pool) == 4, "clamped to the pool's size: %d", og_pool_active(pool));
    og_pool_set_active(pool, 0);
    CHECK(og_pool_active(pool) == 1, "clamped to one: %d", og_pool_active(pool));
    og_pool_free(pool); /* with parked workers: must join them */
}

/* Runs the tuner over n passes whose time is secs(count) and returns the
 * count it settled on. */
static int32_t drive(og_thread_tuner *t, int n, const double *secs_by_count)
{
    for (int i = 0; i < n; i++) {
        int32_t c = og_thread_tuner_next(t);
        og_thread_tuner_record(t, secs_by_count[c]);
    }
    return t->n_cur;
}

static void test_tuner(void)
{
    og_thread_tuner t;
    og_thread_tuner_init(&t, 2);
    const double quiet[3] = { 0, 4.0e-3, 3.6e-3 };    /* two threads 10% faster */
    const double busy[3] = { 0, 4.0e-3, 8.0e-3 };     /* a competing process: two at half speed */
    const double tie[3] = { 0, 4.0e-3, 3.9e-3 };      /* inside the margin */
    CHECK(drive(&t, 1000, quiet) == 2, "quiet: keeps both threads");
    CHECK(drive(&t, 300, busy) == 1, "busy: drops to one thread");
    CHECK(drive(&t, 300, quiet) == 2, "load gone: back to two");
    CHECK(drive(&t, 1000, tie) == 2, "a trial within the margin does not win");

    /* The first pass of a block is not counted (it may wake a thread). */
    og_thread_tuner_init(&t, 2);
    int trial_passes = 0;
    for (int i = 0; i < 128; i++) {
        int32_t c = og_thread_tuner_next(&t);
        trial_passes += i < 2 * OG_TUNER_BLOCK && c == 1;
        og_thread_tuner_record(&t, i == 0 ? 1.0 : (c == 1 ? 3.0e-3 : 4.0e-3));
    }
    CHECK(trial_passes == OG_TUNER_BLOCK, "%d trial passes in a cycle", trial_passes);
    CHECK(t.n_cur == 1, "a slow first trial pass is not counted");

    /* On a quiet machine trials lose and come less often: after the first
     * ones, one block in 512 passes; a core taken away is noticed by the
     * slow passes within a few dozen, not at the next scheduled trial. */
    og_thread_tuner_init(&t, 2);
    drive(&t, 2000, quiet);
    int n_trials = 0;
    for (int i = 0; i < 4096; i++) {
        int32_t c = og_thread_tuner_next(&t);
        n_trials += c == 1;
        og_thread_tuner_record(&t, quiet[c]);
    }
    CHECK(n_trials <= 8 * OG_TUNER_BLOCK + OG_TUNER_BLOCK, "%d trial passes in 4096 quiet ones", n_trials);
    int waited = 0;
    while (og_thread_tuner_next(&t) == 2 && waited < 1000) {
        og_thread_tuner_record(&t, busy[2]);
        waited++;
    }
    CHECK(waited <= 40, "a busy core was tried after %d slow passes", waited);
    CHECK(drive(&t, 2 * OG_TUNER_BLOCK, busy) == 1, "and left for one thread");

    og_thread_tuner_init(&t, 1);
    CHECK(og_thread_tuner_next(&t) == 1 && drive(&t, 500, busy) == 1, "one thread: nothing to tune");

    /* Eight threads with one core taken: steps down, one at a time. */
    double eight[9];
    for (int c = 1; c <= 8; c++)
        eight[c] = c == 8 ? 8.0e-3 : 1.0e-3 * (9 - c) / 2.0; /* 7 best, then 8 worst */
    og_thread_tuner_init(&t, 8);
    CHECK(drive(&t, 128, eight) == 7, "eight threads, one core busy: %d", t.n_cur);
}

int main(void)
{
    test_active_counts();
    test_tuner();
    return og_test_finish("test_pool");
}
