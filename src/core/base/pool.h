/*
 * pool.h - a fixed set of worker threads that run one parallel job at a
 * time, for the forward pass. The calling thread takes part as thread 0.
 */
#ifndef OG_BASE_POOL_H
#define OG_BASE_POOL_H

#include "offgrid.h"

typedef struct og_pool og_pool;

/* fn(arg, ith, nth) runs once on each of the nth threads. */
typedef void (*og_pool_fn)(void *arg, int ith, int nth);

/* Starts n_threads - 1 workers (n_threads >= 1). Free with og_pool_free. */
og_status og_pool_new(int n_threads, og_pool **out, og_error *err);
void og_pool_free(og_pool *pool);
int og_pool_size(const og_pool *pool);

/* How many threads take part in the next jobs: n (clamped to 1..size),
 * the caller among them; the rest park without spinning. Called by the
 * pool's owner between jobs. og_pool_active returns the setting. */
void og_pool_set_active(og_pool *pool, int n);
int og_pool_active(const og_pool *pool);

/* Runs fn on every active thread and returns when all have finished. Not
 * reentrant: one job at a time per pool. */
void og_pool_run(og_pool *pool, og_pool_fn fn, void *arg);

/* Gives thread ith (0 is the caller) bytes at p to prefetch while it
 * waits: for the other threads at the end of this job, or (a worker) for
 * the next one. Call it from inside fn, at the end of the thread's share;
 * the range is dropped when the thread's wait ends. One-thread pools
 * never wait and ignore it. */
void og_pool_prefetch_while_waiting(og_pool *pool, int ith, const void *p, size_t bytes);

/* The [begin, end) share of n items that thread ith of nth handles. */
static inline void og_pool_split(int64_t n, int ith, int nth, int64_t *begin, int64_t *end)
{
    int64_t per = (n + nth - 1) / nth;
    *begin = per * ith < n ? per * ith : n;
    *end = *begin + per < n ? *begin + per : n;
}

#endif
