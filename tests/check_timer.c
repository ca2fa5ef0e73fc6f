/*
 * Tests for the timer heap (core/timer.c): order, re-arming and disarming
 * in place, a timer re-arming itself from its callback, a run with a
 * budget, and a heap checked against a plain list under random operations
 * (seed printed).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "testutil.h"
#include "timer.h"

#define N 500

static struct xb_timers ts;
static struct xb_timer t[N];
static int fired[N], order[N], nfired;

static void on_fire(struct xb_timer *x)
{
    int i = (int)(x - t);

    fired[i]++;
    order[nfired++] = i;
}

static void setup(void)
{
    int i;

    for (i = 0; i < N; i++) {
        xb_timer_init(&t[i], on_fire);
        fired[i] = 0;
    }
    nfired = 0;
}

static void teardown(void)
{
    xb_timers_free(&ts);
}

START_TEST(test_timer_order)
{
    ck_assert_int_eq(xb_timers_next(&ts), INT64_MAX);
    ck_assert_int_eq(xb_timers_arm(&ts, &t[0], 30), 0);
    ck_assert_int_eq(xb_timers_arm(&ts, &t[1], 10), 0);
    ck_assert_int_eq(xb_timers_arm(&ts, &t[2], 20), 0);
    ck_assert(xb_timer_armed(&t[0]));
    ck_assert_int_eq(xb_timers_next(&ts), 10);
    ck_assert_uint_eq(xb_timers_run(&ts, 5), 0);
    ck_assert_uint_eq(xb_timers_run(&ts, 25), 2);
    ck_assert_int_eq(order[0], 1);
    ck_assert_int_eq(order[1], 2);
    ck_assert(!xb_timer_armed(&t[1]));
    ck_assert_int_eq(xb_timers_next(&ts), 30);
    ck_assert_uint_eq(xb_timers_run(&ts, 30), 1);
    ck_assert_int_eq(xb_timers_next(&ts), INT64_MAX);
}
END_TEST

START_TEST(test_timer_rearm_and_disarm)
{
    ck_assert_int_eq(xb_timers_arm(&ts, &t[0], 10), 0);
    ck_assert_int_eq(xb_timers_arm(&ts, &t[1], 20), 0);
    ck_assert_int_eq(xb_timers_arm(&ts, &t[0], 40), 0); /* moved later */
    ck_assert_uint_eq(ts.n, 2);
    ck_assert_int_eq(xb_timers_next(&ts), 20);
    xb_timers_disarm(&ts, &t[1]);
    xb_timers_disarm(&ts, &t[1]); /* twice is fine */
    ck_assert_int_eq(xb_timers_next(&ts), 40);
    ck_assert_uint_eq(xb_timers_run(&ts, 100), 1);
    ck_assert_int_eq(fired[0], 1);
    ck_assert_int_eq(fired[1], 0);
}
END_TEST

static void rearm_now(struct xb_timer *x)
{
    on_fire(x);
    ck_assert_int_eq(xb_timers_arm(&ts, x, x->deadline), 0);
}

START_TEST(test_timer_rearm_from_callback_is_bounded)
{
    xb_timer_init(&t[0], rearm_now);
    ck_assert_int_eq(xb_timers_arm(&ts, &t[0], 0), 0);
    /* Re-armed for a time already due: once per run, not forever. */
    ck_assert_uint_eq(xb_timers_run(&ts, 0), 1);
    ck_assert_uint_eq(xb_timers_run(&ts, 0), 1);
    ck_assert_int_eq(fired[0], 2);
}
END_TEST

START_TEST(test_timer_run_max_fires_the_earliest)
{
    int i;

    for (i = 0; i < 5; i++)
        ck_assert_int_eq(xb_timers_arm(&ts, &t[i], 50 - i * 10), 0);
    ck_assert_uint_eq(xb_timers_run_max(&ts, 100, 0), 0);
    ck_assert_uint_eq(xb_timers_run_max(&ts, 100, 2), 2);
    ck_assert_int_eq(order[0], 4);
    ck_assert_int_eq(order[1], 3);
    ck_assert_int_eq(xb_timers_next(&ts), 30);
    /* Not due yet stays armed, whatever the budget. */
    ck_assert_uint_eq(xb_timers_run_max(&ts, 35, 10), 1);
    ck_assert_int_eq(order[2], 2);
    ck_assert_uint_eq(xb_timers_run_max(&ts, 100, 10), 2);
    ck_assert_int_eq(nfired, 5);
    ck_assert_int_eq(xb_timers_next(&ts), INT64_MAX);
}
END_TEST

START_TEST(test_timer_random_against_a_list)
{
    unsigned seed = tu_seed(), state = seed ? seed : 1;
    int64_t deadline[N];
    int armed[N] = {0}, step, i;

    for (step = 0; step < 20000; step++) {
        i = (int)(tu_rand(&state) % N);
        if (tu_rand(&state) % 3) {
            deadline[i] = (int64_t)(tu_rand(&state) % 1000);
            ck_assert_int_eq(xb_timers_arm(&ts, &t[i], deadline[i]), 0);
            armed[i] = 1;
        } else {
            xb_timers_disarm(&ts, &t[i]);
            armed[i] = 0;
        }
        if (step % 97 == 0) {
            int64_t now = (int64_t)(tu_rand(&state) % 1000), min = INT64_MAX;
            int j, due = 0;

            for (j = 0; j < N; j++)
                if (armed[j] && deadline[j] <= now)
                    due++;
            nfired = 0;
            ck_assert_uint_eq(xb_timers_run(&ts, now), (unsigned)due);
            for (j = 1; j < nfired; j++)
                ck_assert_int_le(deadline[order[j - 1]], deadline[order[j]]);
            for (j = 0; j < nfired; j++)
                armed[order[j]] = 0;
            for (j = 0; j < N; j++)
                if (armed[j] && deadline[j] < min)
                    min = deadline[j];
            ck_assert_int_eq(xb_timers_next(&ts), min);
        }
    }
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("heap");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_timer_order);
    tcase_add_test(tc, test_timer_rearm_and_disarm);
    tcase_add_test(tc, test_timer_rearm_from_callback_is_bounded);
    tcase_add_test(tc, test_timer_run_max_fires_the_earliest);
    tcase_add_test(tc, test_timer_random_against_a_list);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(timer_suite());
}
