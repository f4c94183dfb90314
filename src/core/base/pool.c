/*
 * pool.c - the worker threads behind og_pool_run.
 *
 * Workers spin briefly on a job counter (a token step is a few hundred
 * microseconds, so sleeping between matrix products would cost more than
 * the work), then fall back to a condition variable so an idle model does
 * not burn a core. A thread that waits can be given weights to prefetch
 * meanwhile (og_pool_prefetch_while_waiting), so that the barriers of
 * short passes do not leave the memory bus idle. Fewer threads than were
 * started can take part (og_pool_set_active); the others park on a
 * condition variable of their own, so they neither spin nor are woken by
 * jobs they sit out. The pool owns its threads and joins them on free.
 */
#include "base/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"

#define SPIN_ROUNDS 200000
/* Rounds the caller waits for the workers before it yields the CPU. */
#define WAIT_SPINS 100000

/* A hint that this is a spin-wait loop (frees the core's resources for a
 * sibling hyper-thread and saves power). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}
#define WORKER_STACK_BYTES (2u << 20)
/* A job's thread count travels in the low bits of its sequence number, so
 * a worker that sits a job out reads both at once: the owner may already
 * be on a later job by the time it looks. */
#define JOB_N_BITS 11 /* og_pool_new allows at most 1024 threads */

/* One thread's range to prefetch while it waits, on a cache line of its
 * own: the other threads spin on the pool's shared fields meanwhile. */
typedef struct waiting_prefetch {
    _Alignas(64) const char *next;
    const char *end;
} waiting_prefetch;

/* Prefetches the next two lines of w's range; false when none is left.
 * Two lines per round of a spin loop keep the loop checking its flag
 * often while the prefetches queue in the memory system. */
static inline bool wait_prefetch(waiting_prefetch *w)
{
    if (w->next >= w->end)
        return false;
    __builtin_prefetch(w->next, 0, 3);
    __builtin_prefetch(w->next + 64, 0, 3);
    w->next += 128;
    return true;
}

struct og_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t unpark;          /* parked workers wait here for n_active to grow */
    atomic_int n_active;            /* threads that take part in the next job (owner's setting) */
    uint64_t resume_seq;            /* job_seq when n_active last grew: where unparked workers start */
    atomic_uint_fast64_t job_seq;   /* job number << JOB_N_BITS | threads taking part in it */
    atomic_int n_pending;           /* workers still running the current job */
    atomic_int n_sleeping;          /* workers blocked on the condition variable */
    atomic_bool stopping;
    og_pool_fn fn;
    void *arg;
    waiting_prefetch *waiting; /* [n_threads] */
};

typedef struct worker_arg {
    og_pool *pool;
    int ith;
} worker_arg;

static void *worker_main(void *p)
{
    worker_arg *wa = p;
    og_pool *pool = wa->pool;
    int ith = wa->ith;
    free(wa);
    waiting_prefetch *waiting = &pool->waiting[ith];
    uint64_t seen = 0;
    for (;;) {
        if (ith >= atomic_load(&pool->n_active)) {
            /* Sit out until the owner lets this thread take part again;
             * then start from the last job before that, which it did not
             * take part in (the owner changes n_active only between jobs). */
            pthread_mutex_lock(&pool->lock);
            while (ith >= atomic_load(&pool->n_active) && !atomic_load(&pool->stopping))
                pthread_cond_wait(&pool->unpark, &pool->lock);
            seen = pool->resume_seq;
            pthread_mutex_unlock(&pool->lock);
            if (atomic_load(&pool->stopping))
                return NULL;
        }
        uint64_t seq;
        int spins = 0;
        while ((seq = atomic_load_explicit(&pool->job_seq, memory_order_acquire)) == seen) {
            if (atomic_load(&pool->stopping))
                return NULL;
            if (++spins < SPIN_ROUNDS) {
                wait_prefetch(waiting);
                continue;
            }
            pthread_mutex_lock(&pool->lock);
            atomic_fetch_add(&pool->n_sleeping, 1);
            while (atomic_load(&pool->job_seq) == seen && !atomic_load(&pool->stopping))
                pthread_cond_wait(&pool->wake, &pool->lock);
            atomic_fetch_sub(&pool->n_sleeping, 1);
            pthread_mutex_unlock(&pool->lock);
            spins = 0;
        }
        seen = seq;
        const int nth = (int)(seq & ((1u << JOB_N_BITS) - 1));
        if (ith >= nth)
            continue; /* a job for fewer threads: park (above) */
        waiting->next = waiting->end = NULL;
        pool->fn(pool->arg, ith, nth);
        atomic_fetch_sub_explicit(&pool->n_pending, 1, memory_order_release);
    }
}

og_status og_pool_new(int n_threads, og_pool **out, og_error *err)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return og_error_set(err, OG_ERR_ARG, "thread count %d out of range 1..1024", n_threads);
    og_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for the thread pool");
    pool->n_threads = n_threads;
    atomic_init(&pool->n_active, n_threads);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->unpark, NULL);
    pool->threads = calloc((size_t)n_threads, sizeof *pool->threads);
    pool->waiting = aligned_alloc(64, (size_t)n_threads * sizeof *pool->waiting);
    if (!pool->threads || !pool->waiting) {
        og_pool_free(pool);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for the thread pool");
    }
    memset(pool->waiting, 0, (size_t)n_threads * sizeof *pool->waiting);
    /* Kernels keep up to ~110 KiB of per-call scratch on the stack; some C
     * libraries give threads as little as 128 KiB, so ask for enough. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa || (wa->pool = pool, wa->ith = i, pthread_create(&pool->threads[i], &attr, worker_main, wa)) != 0) {
            pthread_attr_destroy(&attr);
            free(wa);
            pool->n_threads = i; /* join only those started */
            og_pool_free(pool);
            return og_error_set(err, OG_ERR_NOMEM, "cannot start worker thread %d", i);
        }
    }
    pthread_attr_destroy(&attr);
    *out = pool;
    return OG_OK;
}

void og_pool_free(og_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stopping, true);
    pthread_cond_broadcast(&pool->wake);
    pthread_cond_broadcast(&pool->unpark);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 1; pool->threads && i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->unpark);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool->waiting);
    free(pool);
}

int og_pool_size(const og_pool *pool)
{
    return pool->n_threads;
}

int og_pool_active(const og_pool *pool)
{
    return atomic_load(&pool->n_active);
}

void og_pool_set_active(og_pool *pool, int n)
{
    n = n < 1 ? 1 : n > pool->n_threads ? pool->n_threads : n;
    if (n == atomic_load(&pool->n_active))
        return;
    pthread_mutex_lock(&pool->lock);
    pool->resume_seq = atomic_load(&pool->job_seq);
    atomic_store(&pool->n_active, n);
    pthread_cond_broadcast(&pool->unpark);
    pthread_mutex_unlock(&pool->lock);
}

void og_pool_prefetch_while_waiting(og_pool *pool, int ith, const void *p, size_t bytes)
{
    if (pool->n_threads == 1)
        return;
    pool->waiting[ith].next = p;
    pool->waiting[ith].end = (const char *)p + bytes;
}

void og_pool_run(og_pool *pool, og_pool_fn fn, void *arg)
{
    const int nth = atomic_load_explicit(&pool->n_active, memory_order_relaxed);
    if (nth == 1) {
        fn(arg, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    atomic_store_explicit(&pool->n_pending, nth - 1, memory_order_relaxed);
    /* Spinning workers see the new sequence number by themselves; the
     * lock and broadcast are needed only for those asleep. A worker that
     * is about to sleep counts itself first and then re-checks job_seq, so
     * (with these sequentially consistent atomics) one side always sees
     * the other. */
    atomic_store(&pool->job_seq, ((atomic_load(&pool->job_seq) >> JOB_N_BITS) + 1) << JOB_N_BITS | (uint64_t)nth);
    if (atomic_load(&pool->n_sleeping) > 0) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }
    waiting_prefetch *waiting = &pool->waiting[0];
    waiting->next = waiting->end = NULL;
    fn(arg, 0, nth);
    /* Spin first: a pass ends within microseconds, and sched_yield would
     * hand the core to any other runnable task (even a niced one) for a
     * whole time slice while the workers are about to finish. */
    for (int spins = 0; atomic_load_explicit(&pool->n_pending, memory_order_acquire) > 0;)
        if (++spins >= WAIT_SPINS)
            sched_yield();
        else if (!wait_prefetch(waiting))
            cpu_relax();
}
