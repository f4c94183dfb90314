/*
 * thread_tuner.h - how many threads a context's one-token passes use when
 * the caller left the count to the library: measured as it generates.
 */
#ifndef OG_BASE_THREAD_TUNER_H
#define OG_BASE_THREAD_TUNER_H

#include <stdint.h>

#define OG_TUNER_BLOCK 5 /* passes per trial block; the first is not counted */

typedef struct og_thread_tuner {
    int32_t n_max;   /* threads started; 1 turns the tuner off */
    int32_t n_cur;   /* what one-token passes use outside trials */
    int32_t step;    /* one-token passes so far in this cycle */
    int32_t cycle;   /* passes from one trial to the next: grows while trials lose */
    int32_t toward;  /* +1 or -1: the side the next trial looks at */
    int32_t n_slow;  /* passes in a row well over the last measured median */
    double cur_median; /* of the current count's last block, 0 before one */
    double trial_s[OG_TUNER_BLOCK], cur_s[OG_TUNER_BLOCK];
} og_thread_tuner;

/* Starts with all n_threads in use. */
void og_thread_tuner_init(og_thread_tuner *t, int32_t n_threads);
/* Threads for the next one-token pass. */
int32_t og_thread_tuner_next(const og_thread_tuner *t);
/* Records that pass's wall time (it ran with og_thread_tuner_next's count)
 * and moves the schedule on. */
void og_thread_tuner_record(og_thread_tuner *t, double seconds);

#endif
