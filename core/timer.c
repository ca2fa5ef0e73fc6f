/*
 * The timer heap: a binary min-heap of pointers to embedded timers, each
 * knowing its position so that it can be moved or removed in place.
 */
#include "timer.h"

#include <stdlib.h>

#include "error.h"

void xb_timer_init(struct xb_timer *t, xb_timer_fn fire)
{
    t->deadline = 0;
    t->pos = XB_TIMER_IDLE;
    t->fire = fire;
}

static void put(struct xb_timers *ts, uint32_t i, struct xb_timer *t)
{
    ts->heap[i] = t;
    t->pos = i;
}

static void sift_up(struct xb_timers *ts, uint32_t i)
{
    struct xb_timer *t = ts->heap[i];

    while (i > 0) {
        uint32_t up = (i - 1) / 2;

        if (ts->heap[up]->deadline <= t->deadline)
            break;
        put(ts, i, ts->heap[up]);
        i = up;
    }
    put(ts, i, t);
}

static void sift_down(struct xb_timers *ts, uint32_t i)
{
    struct xb_timer *t = ts->heap[i];

    for (;;) {
        uint32_t c = 2 * i + 1;

        if (c >= ts->n)
            break;
        if (c + 1 < ts->n && ts->heap[c + 1]->deadline < ts->heap[c]->deadline)
            c++;
        if (t->deadline <= ts->heap[c]->deadline)
            break;
        put(ts, i, ts->heap[c]);
        i = c;
    }
    put(ts, i, t);
}

void xb_timers_disarm(struct xb_timers *ts, struct xb_timer *t)
{
    uint32_t i = t->pos;
    struct xb_timer *last;

    if (i == XB_TIMER_IDLE)
        return;
    t->pos = XB_TIMER_IDLE;
    last = ts->heap[--ts->n];
    if (i == ts->n)
        return;
    put(ts, i, last);
    sift_up(ts, i);
    sift_down(ts, last->pos);
}

int xb_timers_arm(struct xb_timers *ts, struct xb_timer *t, int64_t deadline)
{
    if (t->pos != XB_TIMER_IDLE) {
        t->deadline = deadline;
        sift_up(ts, t->pos);
        sift_down(ts, t->pos);
        return 0;
    }
    if (ts->n == ts->cap) {
        uint32_t cap = ts->cap ? ts->cap * 2 : 64;
        struct xb_timer **h;

        if (ts->cap > UINT32_MAX / 4)
            return XB_ENOMEM;
        h = realloc(ts->heap, cap * sizeof *h);
        if (!h)
            return XB_ENOMEM;
        ts->heap = h;
        ts->cap = cap;
    }
    t->deadline = deadline;
    put(ts, ts->n++, t);
    sift_up(ts, t->pos);
    return 0;
}

int64_t xb_timers_next(const struct xb_timers *ts)
{
    return ts->n ? ts->heap[0]->deadline : INT64_MAX;
}

uint32_t xb_timers_run(struct xb_timers *ts, int64_t now)
{
    return xb_timers_run_max(ts, now, UINT32_MAX);
}

uint32_t xb_timers_run_max(struct xb_timers *ts, int64_t now, uint32_t max)
{
    uint32_t budget = ts->n < max ? ts->n : max, fired = 0;

    while (budget-- && ts->n && ts->heap[0]->deadline <= now) {
        struct xb_timer *t = ts->heap[0];

        xb_timers_disarm(ts, t);
        fired++;
        t->fire(t);
    }
    return fired;
}

void xb_timers_free(struct xb_timers *ts)
{
    free(ts->heap);
    ts->heap = NULL;
    ts->n = ts->cap = 0;
}
