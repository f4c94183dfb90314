/*
 * clock.h - monotonic wall time in seconds, for the generation loop's
 * timings and deadline and the thread tuner's pass times.
 */
#ifndef OG_BASE_CLOCK_H
#define OG_BASE_CLOCK_H

#include <time.h>

static inline double og_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
