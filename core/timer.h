/*
 * Timers for hosts that run many bots: a min-heap of deadlines that the
 * host drives from one timer of its event loop (libuv in the CLI, one
 * module timer in mod_bots). Each timer is a small struct embedded in its
 * owner; arming, re-arming and disarming cost O(log n) and allocate only
 * when the heap grows.
 */
#ifndef XB_TIMER_H
#define XB_TIMER_H

#include <stdint.h>

struct xb_timer;

/* Called when t is due; t is disarmed first, so it may re-arm itself. */
typedef void (*xb_timer_fn)(struct xb_timer *t);

/* Embed one per deadline an owner needs; find the owner from t with
 * offsetof. Initialize with xb_timer_init. */
struct xb_timer {
    int64_t deadline; /* in the host's clock (milliseconds) */
    uint32_t pos;     /* index in the heap; XB_TIMER_IDLE when disarmed */
    xb_timer_fn fire;
};

#define XB_TIMER_IDLE UINT32_MAX

struct xb_timers {
    struct xb_timer **heap;
    uint32_t n, cap;
};

void xb_timer_init(struct xb_timer *t, xb_timer_fn fire);

/* Whether t is armed. */
static inline int xb_timer_armed(const struct xb_timer *t)
{
    return t->pos != XB_TIMER_IDLE;
}

/* Arms t (or moves it) to fire at deadline. 0, or XB_ENOMEM (t is then
 * disarmed). */
int xb_timers_arm(struct xb_timers *ts, struct xb_timer *t, int64_t deadline);

/* Disarms t; nothing if it is not armed. */
void xb_timers_disarm(struct xb_timers *ts, struct xb_timer *t);

/* The earliest deadline, or INT64_MAX if no timer is armed. */
int64_t xb_timers_next(const struct xb_timers *ts);

/* Fires the timers due at now, earliest first; at most as many as were
 * armed when it started, so a timer that re-arms itself for now cannot
 * keep it running. Returns how many fired. */
uint32_t xb_timers_run(struct xb_timers *ts, int64_t now);

/* The same, firing at most max timers (the earliest due): a host that
 * must not spend too long in one turn of its event loop fires the rest
 * later. Returns how many fired; max 0 fires none. */
uint32_t xb_timers_run_max(struct xb_timers *ts, int64_t now, uint32_t max);

/* Frees the heap (the timers are the owners'). */
void xb_timers_free(struct xb_timers *ts);

#endif
