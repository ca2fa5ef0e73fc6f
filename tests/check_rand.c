/*
 * Tests for the seedable generator (core/rand.c): known answers for
 * xoshiro128** and the splitmix64 seeding, reproducible and distinct
 * streams, and xb_rand_range in bounds and uniform (fixed seeds: no flakes).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rand.h"
#include "testutil.h"

#define DRAWS 100000

START_TEST(test_rand_known_answers)
{
    /* From an independent implementation of the published algorithm. */
    static const uint32_t want[] = {0x2d00,    0x0,        0x5a7080,
                                    0x4389d80, 0x79199d9b, 0x61963b24};
    struct xb_rand r = {{1, 2, 3, 4}};
    size_t i;

    for (i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_uint_eq(xb_rand_next(&r), want[i]);
}
END_TEST

START_TEST(test_rand_seed_known_answers)
{
    struct xb_rand r;

    xb_rand_seed(&r, 42, 7);
    ck_assert_uint_eq(r.s[0], 0xec7303c2);
    ck_assert_uint_eq(r.s[1], 0xf08aaefc);
    ck_assert_uint_eq(r.s[2], 0x1771c478);
    ck_assert_uint_eq(r.s[3], 0x1dceb68a);
    ck_assert_uint_eq(xb_rand_next(&r), 0x30612921);
    ck_assert_uint_eq(xb_rand_next(&r), 0x7d40a7fc);
    ck_assert_uint_eq(xb_rand_next(&r), 0xb6cad61c);
}
END_TEST

START_TEST(test_rand_seed_reproducible)
{
    struct xb_rand a, b;
    int i;

    xb_rand_seed(&a, 0x123456789abcdefULL, 3);
    xb_rand_seed(&b, 0x123456789abcdefULL, 3);
    for (i = 0; i < 1000; i++)
        ck_assert_uint_eq(xb_rand_next(&a), xb_rand_next(&b));
    /* Copying the state forks an identical sequence (bots copy theirs). */
    b = a;
    for (i = 0; i < 1000; i++)
        ck_assert_uint_eq(xb_rand_range(&a, 3, 17), xb_rand_range(&b, 3, 17));
}
END_TEST

/* How many of the first n outputs of two generators agree. */
static int agreements(struct xb_rand *a, struct xb_rand *b, int n)
{
    int i, same = 0;

    for (i = 0; i < n; i++)
        same += xb_rand_next(a) == xb_rand_next(b);
    return same;
}

START_TEST(test_rand_streams_differ)
{
    struct xb_rand a, b;
    uint64_t s;

    for (s = 0; s < 100; s++) {
        xb_rand_seed(&a, 7, s);
        xb_rand_seed(&b, 7, s + 1);
        ck_assert_int_le(agreements(&a, &b, 1000), 1);
        xb_rand_seed(&a, s, 0);
        xb_rand_seed(&b, s + 1, 0);
        ck_assert_int_le(agreements(&a, &b, 1000), 1);
    }
    /* Seed and stream are not interchangeable. */
    xb_rand_seed(&a, 1, 2);
    xb_rand_seed(&b, 2, 1);
    ck_assert_int_le(agreements(&a, &b, 1000), 1);
}
END_TEST

START_TEST(test_rand_zero_seed_not_stuck)
{
    struct xb_rand r;
    uint32_t x = 0;
    int i;

    xb_rand_seed(&r, 0, 0);
    ck_assert(r.s[0] | r.s[1] | r.s[2] | r.s[3]);
    for (i = 0; i < 10; i++)
        x |= xb_rand_next(&r);
    ck_assert_uint_ne(x, 0);
}
END_TEST

/* Draws DRAWS values in [lo, hi] and returns the smallest and largest. */
static void draw_bounds(uint32_t lo, uint32_t hi, uint32_t *min, uint32_t *max)
{
    struct xb_rand r;
    uint32_t v;
    int i;

    xb_rand_seed(&r, 99, lo ^ hi);
    *min = UINT32_MAX;
    *max = 0;
    for (i = 0; i < DRAWS; i++) {
        v = xb_rand_range(&r, lo, hi);
        ck_assert_msg(v >= lo && v <= hi, "%u not in [%u, %u]", v, lo, hi);
        if (v < *min)
            *min = v;
        if (v > *max)
            *max = v;
    }
}

START_TEST(test_rand_range_bounds)
{
    static const uint32_t ranges[][2] = {
        {0, 1},
        {10, 20},
        {1000, 60000},
        {0, 0x80000000},
        {0x7fffffff, UINT32_MAX - 1},
        {1, UINT32_MAX},
        {UINT32_MAX - 1, UINT32_MAX},
    };
    uint32_t min, max;
    size_t i;

    for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        draw_bounds(ranges[i][0], ranges[i][1], &min, &max);
        /* The ends are reached, or at least approached. */
        ck_assert_uint_le(min - ranges[i][0],
                          (ranges[i][1] - ranges[i][0]) / 1000);
        ck_assert_uint_le(ranges[i][1] - max,
                          (ranges[i][1] - ranges[i][0]) / 1000);
    }
}
END_TEST

START_TEST(test_rand_range_single_value)
{
    static const uint32_t values[] = {0, 1, 5, 0x80000000, UINT32_MAX};
    uint32_t min, max;
    size_t i;

    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        draw_bounds(values[i], values[i], &min, &max);
        ck_assert_uint_eq(min, values[i]);
        ck_assert_uint_eq(max, values[i]);
    }
}
END_TEST

START_TEST(test_rand_range_full)
{
    struct xb_rand r, copy;
    uint32_t min, max;
    int i;

    draw_bounds(0, UINT32_MAX, &min, &max);
    ck_assert_uint_lt(min, UINT32_MAX / 1000);
    ck_assert_uint_gt(max, UINT32_MAX - UINT32_MAX / 1000);
    /* The whole range is the raw output, with nothing rejected. */
    xb_rand_seed(&r, 5, 5);
    copy = r;
    for (i = 0; i < 1000; i++)
        ck_assert_uint_eq(xb_rand_range(&r, 0, UINT32_MAX),
                          xb_rand_next(&copy));
}
END_TEST

START_TEST(test_rand_range_uniform)
{
    unsigned counts[6] = {0};
    struct xb_rand r;
    int i;

    xb_rand_seed(&r, 2024, 1);
    for (i = 0; i < 60000; i++)
        counts[xb_rand_range(&r, 0, 5)]++;
    for (i = 0; i < 6; i++)
        ck_assert_msg(counts[i] >= 9000 && counts[i] <= 11000,
                      "bucket %d has %u of 60000", i, counts[i]);
}
END_TEST

START_TEST(test_rand_range_uniform_offset)
{
    /* A span that does not divide 2^32, far from zero. */
    unsigned counts[7] = {0};
    struct xb_rand r;
    uint32_t v;
    int i;

    xb_rand_seed(&r, 77, 0);
    for (i = 0; i < 70000; i++) {
        v = xb_rand_range(&r, UINT32_MAX - 6, UINT32_MAX);
        counts[v - (UINT32_MAX - 6)]++;
    }
    for (i = 0; i < 7; i++)
        ck_assert_msg(counts[i] >= 9000 && counts[i] <= 11000,
                      "bucket %d has %u of 70000", i, counts[i]);
}
END_TEST

START_TEST(test_rand_range_unbiased)
{
    /* span = 3 * 2^30: a plain modulo would hit [0, 2^30) twice as often
     * as the rest (a half of the draws instead of a third). */
    struct xb_rand r;
    int i, low = 0;

    xb_rand_seed(&r, 3, 3);
    for (i = 0; i < DRAWS; i++)
        low += xb_rand_range(&r, 0, 0xbfffffff) < 0x40000000;
    ck_assert_int_gt(low, DRAWS * 31 / 100);
    ck_assert_int_lt(low, DRAWS * 36 / 100);
}
END_TEST

static Suite *rand_suite(void)
{
    Suite *s = suite_create("rand");
    TCase *tc = tcase_create("seed");

    tcase_add_test(tc, test_rand_known_answers);
    tcase_add_test(tc, test_rand_seed_known_answers);
    tcase_add_test(tc, test_rand_seed_reproducible);
    tcase_add_test(tc, test_rand_streams_differ);
    tcase_add_test(tc, test_rand_zero_seed_not_stuck);
    suite_add_tcase(s, tc);

    tc = tcase_create("range");
    tcase_add_test(tc, test_rand_range_bounds);
    tcase_add_test(tc, test_rand_range_single_value);
    tcase_add_test(tc, test_rand_range_full);
    tcase_add_test(tc, test_rand_range_uniform);
    tcase_add_test(tc, test_rand_range_uniform_offset);
    tcase_add_test(tc, test_rand_range_unbiased);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(rand_suite());
}
