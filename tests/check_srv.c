/*
 * Tests for the CLI's SRV logic (cli/srv.c): the RFC 2782 order (priority
 * first; weights as proportions over many draws, with fixed seeds: no
 * flakes; weight 0), the "." target, the XEP-0368 merge of direct TLS and
 * STARTTLS records, and the parsing of a DNS answer built here.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rand.h"
#include "srv.h"
#include "testutil.h"

#define DRAWS 20000
#define NREC(a) (sizeof(a) / sizeof((a)[0]))

static struct xb_srv rec(uint16_t priority, uint16_t weight, int direct,
                         const char *target)
{
    struct xb_srv r;

    memset(&r, 0, sizeof r);
    r.priority = priority;
    r.weight = weight;
    r.port = direct ? 5223 : 5222;
    r.direct = (unsigned char)direct;
    snprintf(r.target, sizeof r.target, "%s", target);
    return r;
}

/* Orders recs once and checks that order is a permutation. */
static void order_once(const struct xb_srv *recs, size_t n, struct xb_rand *rng,
                       unsigned char *order)
{
    unsigned seen = 0;
    size_t i;

    memset(order, 0xff, XB_SRV_MAX);
    xb_srv_order(recs, n, rng, order);
    for (i = 0; i < n; i++) {
        ck_assert_uint_lt(order[i], n);
        ck_assert_msg(!(seen & (1u << order[i])), "index %u twice", order[i]);
        seen |= 1u << order[i];
    }
}

/* How often each record comes first in DRAWS orderings (seed fixed). */
static void first_counts(const struct xb_srv *recs, size_t n, uint64_t seed,
                         unsigned *count)
{
    unsigned char order[XB_SRV_MAX];
    struct xb_rand rng;
    int i;

    memset(count, 0, n * sizeof *count);
    xb_rand_seed(&rng, seed, 0);
    for (i = 0; i < DRAWS; i++) {
        order_once(recs, n, &rng, order);
        count[order[0]]++;
    }
}

/* count out of DRAWS is share (a fraction) give or take 0.02. */
static void assert_share(unsigned count, double share, const char *what)
{
    double got = (double)count / DRAWS;

    ck_assert_msg(got > share - 0.02 && got < share + 0.02,
                  "%s: first %.4f of the time, want %.2f", what, got, share);
}

START_TEST(test_srv_priority_order)
{
    const struct xb_srv recs[] = {rec(30, 5, 0, "c"),    rec(10, 1, 0, "a1"),
                                  rec(20, 0, 1, "b"),    rec(10, 9, 1, "a2"),
                                  rec(65535, 1, 0, "z"), rec(0, 0, 0, "0")};
    unsigned char order[XB_SRV_MAX];
    struct xb_rand rng;
    size_t i;
    int d;

    xb_rand_seed(&rng, 1, 0);
    for (d = 0; d < 1000; d++) {
        order_once(recs, NREC(recs), &rng, order);
        for (i = 1; i < NREC(recs); i++)
            ck_assert_uint_le(recs[order[i - 1]].priority,
                              recs[order[i]].priority);
        ck_assert_str_eq(recs[order[0]].target, "0");
        ck_assert_str_eq(recs[order[5]].target, "z");
    }
}
END_TEST

START_TEST(test_srv_order_reproducible)
{
    const struct xb_srv recs[] = {rec(1, 10, 0, "a"), rec(1, 20, 1, "b"),
                                  rec(1, 0, 0, "c"), rec(1, 30, 0, "d")};
    unsigned char a[XB_SRV_MAX], b[XB_SRV_MAX];
    struct xb_rand ra, rb;
    int d, differ = 0;

    xb_rand_seed(&ra, 7, 3);
    xb_rand_seed(&rb, 7, 3);
    for (d = 0; d < 100; d++) {
        order_once(recs, NREC(recs), &ra, a);
        order_once(recs, NREC(recs), &rb, b);
        ck_assert_mem_eq(a, b, NREC(recs));
    }
    /* Another stream (another bot) draws other orders. */
    xb_rand_seed(&rb, 7, 4);
    for (d = 0; d < 100; d++) {
        order_once(recs, NREC(recs), &ra, a);
        order_once(recs, NREC(recs), &rb, b);
        differ += memcmp(a, b, NREC(recs)) != 0;
    }
    ck_assert_int_gt(differ, 10);
}
END_TEST

START_TEST(test_srv_weight_distribution)
{
    const struct xb_srv recs[] = {rec(5, 60, 0, "a"), rec(5, 30, 0, "b"),
                                  rec(5, 10, 0, "c")};
    unsigned count[3];
    unsigned char order[XB_SRV_MAX];
    unsigned second_b = 0;
    struct xb_rand rng;
    int i;

    first_counts(recs, 3, 11, count);
    assert_share(count[0], 0.60, "weight 60 of 100");
    assert_share(count[1], 0.30, "weight 30 of 100");
    assert_share(count[2], 0.10, "weight 10 of 100");
    /* Once a is chosen, b is next 30 times out of 40. */
    xb_rand_seed(&rng, 12, 0);
    for (i = 0; i < DRAWS;) {
        order_once(recs, 3, &rng, order);
        if (order[0] != 0)
            continue;
        second_b += order[1] == 1;
        i++;
    }
    assert_share(second_b, 0.75, "b after a");
}
END_TEST

START_TEST(test_srv_weight_zero)
{
    const struct xb_srv some[] = {rec(1, 0, 0, "zero"), rec(1, 100, 0, "w")};
    const struct xb_srv all[] = {rec(1, 0, 0, "a"), rec(1, 0, 0, "b"),
                                 rec(1, 0, 0, "c")};
    const struct xb_srv zeros[] = {rec(1, 0, 0, "z1"), rec(1, 0, 0, "z2"),
                                   rec(1, 50, 0, "w")};
    unsigned count[3];

    /* Next to weighted records, weight 0 has a very small chance (here
     * 1 in 101), but a chance. */
    first_counts(some, 2, 21, count);
    ck_assert_uint_gt(count[0], 0);
    ck_assert_uint_lt(count[0], DRAWS * 3 / 100);
    /* Only weight 0: an equal chance each. */
    first_counts(all, 3, 22, count);
    assert_share(count[0], 1 / 3.0, "a of three weight 0");
    assert_share(count[1], 1 / 3.0, "b of three weight 0");
    assert_share(count[2], 1 / 3.0, "c of three weight 0");
    /* Two weight-0 records share their small chance evenly, and after
     * the weighted one is chosen they are equally likely. */
    first_counts(zeros, 3, 23, count);
    ck_assert_uint_gt(count[0], 0);
    ck_assert_uint_gt(count[1], 0);
    ck_assert_uint_gt(count[2], DRAWS * 95 / 100);
}
END_TEST

/* XEP-0368: direct TLS and STARTTLS records are one list, by priority and
 * weight together. */
START_TEST(test_srv_merge)
{
    const struct xb_srv same_prio[] = {rec(10, 1, 1, "tls"),
                                       rec(10, 3, 0, "starttls")};
    const struct xb_srv by_prio[] = {rec(20, 100, 0, "starttls"),
                                     rec(5, 1, 1, "tls"),
                                     rec(30, 1, 1, "tls-last")};
    unsigned char order[XB_SRV_MAX];
    unsigned count[2];
    struct xb_rand rng;
    int d;

    first_counts(same_prio, 2, 31, count);
    assert_share(count[0], 0.25, "direct TLS, weight 1 of 4");
    assert_share(count[1], 0.75, "STARTTLS, weight 3 of 4");
    xb_rand_seed(&rng, 32, 0);
    for (d = 0; d < 100; d++) {
        order_once(by_prio, 3, &rng, order);
        ck_assert_uint_eq(order[0], 1);
        ck_assert_uint_eq(order[1], 0);
        ck_assert_uint_eq(order[2], 2);
    }
}
END_TEST

START_TEST(test_srv_plan_services)
{
    struct xb_srv recs[] = {rec(1, 1, 1, "tls"), rec(2, 1, 0, "starttls"),
                            rec(3, 1, 1, "tls2")};
    size_t n = 3;

    /* --tls required: both services. */
    ck_assert_int_eq(xb_srv_plan(recs, &n, 1, 1), XB_SRV_TARGETS);
    ck_assert_uint_eq(n, 3);
    /* --tls starttls or none: the STARTTLS service only. */
    ck_assert_int_eq(xb_srv_plan(recs, &n, 0, 1), XB_SRV_TARGETS);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(recs[0].target, "starttls");
    /* --tls direct: the direct TLS service only; none left here. */
    ck_assert_int_eq(xb_srv_plan(recs, &n, 1, 0), XB_SRV_FALLBACK);
    ck_assert_uint_eq(n, 0);
    recs[0] = rec(1, 1, 1, "tls");
    recs[1] = rec(2, 1, 0, "starttls");
    n = 2;
    ck_assert_int_eq(xb_srv_plan(recs, &n, 1, 0), XB_SRV_TARGETS);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(recs[0].target, "tls");
    /* No records at all: the domain itself (RFC 6120 3.2.2). */
    n = 0;
    ck_assert_int_eq(xb_srv_plan(recs, &n, 1, 1), XB_SRV_FALLBACK);
}
END_TEST

START_TEST(test_srv_plan_dot)
{
    struct xb_srv recs[4];
    size_t n;

    /* "." for direct TLS only: STARTTLS records still serve. */
    recs[0] = rec(0, 0, 1, ".");
    recs[1] = rec(5, 1, 0, "xmpp.example");
    n = 2;
    ck_assert_int_eq(xb_srv_plan(recs, &n, 1, 1), XB_SRV_TARGETS);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(recs[0].target, "xmpp.example");
    ck_assert_uint_eq(recs[0].direct, 0);
    /* "." for STARTTLS, nothing for direct TLS: no service, no fallback. */
    recs[0] = rec(0, 0, 0, ".");
    n = 1;
    ck_assert_int_eq(xb_srv_plan(recs, &n, 1, 1), XB_SRV_UNAVAILABLE);
    ck_assert_uint_eq(n, 0);
    /* "." for direct TLS and no STARTTLS records: STARTTLS is not ruled
     * out, so the domain itself on 5222... */
    recs[0] = rec(0, 0, 1, ".");
    n = 1;
    ck_assert_int_eq(xb_srv_plan(recs, &n, 1, 1), XB_SRV_FALLBACK);
    /* ...but for direct TLS only, it is. */
    recs[0] = rec(0, 0, 1, ".");
    n = 1;
    ck_assert_int_eq(xb_srv_plan(recs, &n, 1, 0), XB_SRV_UNAVAILABLE);
    /* Both ".": nothing. */
    recs[0] = rec(0, 0, 1, ".");
    recs[1] = rec(0, 0, 0, ".");
    n = 2;
    ck_assert_int_eq(xb_srv_plan(recs, &n, 1, 1), XB_SRV_UNAVAILABLE);
    recs[0] = rec(0, 0, 1, ".");
    recs[1] = rec(0, 0, 0, ".");
    n = 2;
    ck_assert_int_eq(xb_srv_plan(recs, &n, 0, 1), XB_SRV_UNAVAILABLE);
}
END_TEST

/* --- a DNS answer, built by hand ------------------------------------------ */

struct pkt {
    unsigned char b[1024];
    size_t len;
};

static void put16(struct pkt *p, unsigned v)
{
    p->b[p->len++] = (unsigned char)(v >> 8);
    p->b[p->len++] = (unsigned char)v;
}

/* A name in labels ("" is the root). */
static void put_name(struct pkt *p, const char *name)
{
    const char *dot;
    size_t n;

    while (*name) {
        dot = strchr(name, '.');
        n = dot ? (size_t)(dot - name) : strlen(name);
        p->b[p->len++] = (unsigned char)n;
        memcpy(p->b + p->len, name, n);
        p->len += n;
        name += n + (dot != NULL);
    }
    p->b[p->len++] = 0;
}

static void put_srv(struct pkt *p, unsigned prio, unsigned weight,
                    unsigned port, const char *target)
{
    size_t rdlen_at;

    put16(p, 0xc00c); /* the question's name */
    put16(p, 33);     /* SRV */
    put16(p, 1);      /* IN */
    put16(p, 0);
    put16(p, 300); /* TTL */
    rdlen_at = p->len;
    put16(p, 0);
    put16(p, prio);
    put16(p, weight);
    put16(p, port);
    put_name(p, target);
    p->b[rdlen_at] = (unsigned char)((p->len - rdlen_at - 2) >> 8);
    p->b[rdlen_at + 1] = (unsigned char)(p->len - rdlen_at - 2);
}

START_TEST(test_srv_parse)
{
    struct xb_srv recs[XB_SRV_MAX];
    struct pkt p = {{0}, 0};
    size_t n = 0;

    put16(&p, 0x1234);
    put16(&p, 0x8180); /* a response, no error */
    put16(&p, 1);
    put16(&p, 3); /* answers */
    put16(&p, 0);
    put16(&p, 0);
    put_name(&p, "_xmpps-client._tcp.example.org");
    put16(&p, 33);
    put16(&p, 1);
    put_srv(&p, 10, 60, 5223, "xmpp1.example.org");
    put_srv(&p, 20, 0, 443, "xmpp2.example.org");
    put_srv(&p, 0, 0, 0, "");
    ck_assert_uint_eq(xb_srv_parse(p.b, (int)p.len, 1, recs, &n, XB_SRV_MAX),
                      3);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(recs[0].target, "xmpp1.example.org");
    ck_assert_uint_eq(recs[0].priority, 10);
    ck_assert_uint_eq(recs[0].weight, 60);
    ck_assert_uint_eq(recs[0].port, 5223);
    ck_assert_uint_eq(recs[0].direct, 1);
    ck_assert_str_eq(recs[1].target, "xmpp2.example.org");
    ck_assert_uint_eq(recs[1].port, 443);
    ck_assert_str_eq(recs[2].target, ".");
    /* Appends, and stops at max. */
    ck_assert_uint_eq(xb_srv_parse(p.b, (int)p.len, 0, recs, &n, 4), 1);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(recs[3].direct, 0);
    ck_assert_str_eq(recs[3].target, "xmpp1.example.org");
    /* A truncated answer or a failed query adds nothing. */
    n = 0;
    ck_assert_uint_eq(xb_srv_parse(p.b, 20, 1, recs, &n, XB_SRV_MAX), 0);
    ck_assert_uint_eq(xb_srv_parse(p.b, -1, 1, recs, &n, XB_SRV_MAX), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *srv_suite(void)
{
    Suite *s = suite_create("srv");
    TCase *tc = tcase_create("order");

    tcase_add_test(tc, test_srv_priority_order);
    tcase_add_test(tc, test_srv_order_reproducible);
    tcase_add_test(tc, test_srv_weight_distribution);
    tcase_add_test(tc, test_srv_weight_zero);
    tcase_add_test(tc, test_srv_merge);
    suite_add_tcase(s, tc);

    tc = tcase_create("plan");
    tcase_add_test(tc, test_srv_plan_services);
    tcase_add_test(tc, test_srv_plan_dot);
    tcase_add_test(tc, test_srv_parse);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(srv_suite());
}
