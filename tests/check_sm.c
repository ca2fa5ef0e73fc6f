/*
 * Tests for the stream management bookkeeping (core/sm.c): the unacked
 * queue in order, acks that free, counters modulo 2^32 near the wrap, the
 * queue bound, replay after a resumption and the accounting of a failed
 * one. No XML, no session: check_session.c drives it through the stream.
 */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "sm.h"
#include "testutil.h"

#define MAX_SEEN 16

static struct xb_sm sm;
static char seen[MAX_SEEN][32]; /* what replay/fail handed out, in order */
static int nseen;

static void setup(void)
{
    memset(&sm, 0, sizeof sm);
    memset(seen, 0, sizeof seen);
    nseen = 0;
}

static void teardown(void)
{
    xb_sm_clear(&sm);
}

static void collect(void *ud, const char *data, size_t len)
{
    ck_assert_ptr_eq(ud, &sm);
    ck_assert_int_lt(nseen, MAX_SEEN);
    ck_assert_uint_lt(len, sizeof seen[0]);
    memcpy(seen[nseen], data, len);
    seen[nseen][len] = '\0';
    nseen++;
}

/* fn for xb_sm_fail that queues the stanza again, as the session does. */
static void requeue(void *ud, const char *data, size_t len)
{
    collect(ud, data, len);
    ck_assert_int_eq(xb_sm_push(&sm, data, len, XB_SM_RESENDABLE, 1), 0);
}

static void push(const char *s, int flags, int sent)
{
    ck_assert_int_eq(xb_sm_push(&sm, s, strlen(s), flags, sent), 0);
}

START_TEST(test_sm_mode_names)
{
    enum xb_sm_mode m = XB_SM_OFF;

    ck_assert_str_eq(xb_sm_mode_name(XB_SM_RESUME), "resume");
    ck_assert_str_eq(xb_sm_mode_name(XB_SM_ACK), "ack");
    ck_assert_str_eq(xb_sm_mode_name(XB_SM_OFF), "off");
    ck_assert_str_eq(xb_sm_mode_name((enum xb_sm_mode)7), "?");
    ck_assert_int_eq(xb_sm_mode_parse("resume", &m), 0);
    ck_assert_int_eq(m, XB_SM_RESUME);
    ck_assert_int_eq(xb_sm_mode_parse("ack", &m), 0);
    ck_assert_int_eq(m, XB_SM_ACK);
    ck_assert_int_eq(xb_sm_mode_parse("off", &m), 0);
    ck_assert_int_eq(m, XB_SM_OFF);
    ck_assert_int_eq(xb_sm_mode_parse("on", &m), XB_EINVAL);
    ck_assert_int_eq(xb_sm_mode_parse("Resume", &m), XB_EINVAL);
    ck_assert_int_eq(xb_sm_mode_parse("", &m), XB_EINVAL);
    ck_assert_int_eq(m, XB_SM_OFF);
    /* The zero value is the default. */
    ck_assert_int_eq(XB_SM_RESUME, 0);
}
END_TEST

START_TEST(test_sm_counters_table)
{
    struct xb_sm_stats st;
    int i, j;

    memset(&st, 0, sizeof st);
    st.enabled = 1;
    st.refused_full = 12;
    st.duplicated = 11;
    for (i = 0; xb_sm_counters[i].name; i++) {
        ck_assert_ptr_nonnull(xb_sm_counters[i].label);
        ck_assert_uint_lt(xb_sm_counters[i].offset, sizeof st);
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(xb_sm_counters[i].name, xb_sm_counters[j].name);
            ck_assert_uint_ne(xb_sm_counters[i].offset,
                              xb_sm_counters[j].offset);
        }
    }
    ck_assert_int_eq(i, XB_SM_NCOUNTERS);
    /* Every uint64_t of the stats is in the table. */
    ck_assert_uint_eq(sizeof st, XB_SM_NCOUNTERS * sizeof(uint64_t));
    ck_assert_str_eq(xb_sm_counters[0].name, "enabled");
    ck_assert_uint_eq(xb_sm_stat(&st, &xb_sm_counters[0]), 1);
    for (i = 0; xb_sm_counters[i].name; i++) {
        if (!strcmp(xb_sm_counters[i].name, "queue_full"))
            ck_assert_uint_eq(xb_sm_stat(&st, &xb_sm_counters[i]), 12);
        if (!strcmp(xb_sm_counters[i].name, "duplicated"))
            ck_assert_uint_eq(xb_sm_stat(&st, &xb_sm_counters[i]), 11);
    }
}
END_TEST

START_TEST(test_sm_push_and_ack)
{
    size_t one;

    ck_assert_uint_eq(xb_sm_out(&sm), 0);
    push("<presence/>", XB_SM_KEEP, 1);
    one = sm.qbytes;
    ck_assert_uint_gt(one, strlen("<presence/>"));
    push("<message>1</message>", XB_SM_RESENDABLE, 1);
    push("<message>2</message>", XB_SM_RESENDABLE, 1);
    ck_assert_uint_eq(sm.qlen, 3);
    ck_assert_uint_eq(sm.qsent, 3);
    ck_assert_uint_eq(xb_sm_out(&sm), 3);
    ck_assert_uint_gt(sm.qbytes, one + 2 * strlen("<message>1</message>"));
    ck_assert_int_eq(xb_sm_ack(&sm, 1), 0);
    ck_assert_uint_eq(sm.qlen, 2);
    ck_assert_uint_eq(sm.qsent, 2);
    ck_assert_uint_eq(sm.acked, 1);
    ck_assert_uint_eq(xb_sm_out(&sm), 3);
    /* The same h again: nothing more. */
    ck_assert_int_eq(xb_sm_ack(&sm, 1), 0);
    ck_assert_uint_eq(sm.qlen, 2);
    ck_assert_int_eq(xb_sm_ack(&sm, 3), 0);
    ck_assert_uint_eq(sm.qlen, 0);
    ck_assert_uint_eq(sm.qsent, 0);
    ck_assert_uint_eq(sm.qbytes, 0);
    ck_assert_ptr_null(sm.head);
    ck_assert_ptr_null(sm.tail);
    ck_assert_uint_eq(sm.stats.acked, 3);
    /* The queue works again after being emptied. */
    push("<message>3</message>", XB_SM_RESENDABLE, 1);
    ck_assert_uint_eq(xb_sm_out(&sm), 4);
    xb_sm_replay(&sm, collect, &sm);
    ck_assert_int_eq(nseen, 1);
    ck_assert_str_eq(seen[0], "<message>3</message>");
}
END_TEST

/* An h above the outbound count changes nothing. */
START_TEST(test_sm_ack_too_high)
{
    push("<a1/>", 0, 1);
    push("<a2/>", 0, 1);
    ck_assert_int_eq(xb_sm_ack(&sm, 3), XB_EPROTO);
    ck_assert_int_eq(xb_sm_ack(&sm, UINT32_MAX), XB_EPROTO);
    ck_assert_uint_eq(sm.qlen, 2);
    ck_assert_uint_eq(sm.acked, 0);
    ck_assert_uint_eq(sm.stats.acked, 0);
    ck_assert_int_eq(xb_sm_ack(&sm, 2), 0);
    /* Below what was already acked is "too high" modulo 2^32, too. */
    ck_assert_int_eq(xb_sm_ack(&sm, 1), XB_EPROTO);
    ck_assert_uint_eq(sm.acked, 2);
}
END_TEST

START_TEST(test_sm_wrap)
{
    sm.acked = 0xFFFFFFFEu;
    push("<m1/>", 1, 1);
    ck_assert_uint_eq(xb_sm_out(&sm), 0xFFFFFFFFu);
    push("<m2/>", 1, 1);
    ck_assert_uint_eq(xb_sm_out(&sm), 0);
    push("<m3/>", 1, 1);
    ck_assert_uint_eq(xb_sm_out(&sm), 1);
    ck_assert_int_eq(xb_sm_ack(&sm, 2), XB_EPROTO);
    ck_assert_int_eq(xb_sm_ack(&sm, 0xFFFFFFFDu), XB_EPROTO);
    ck_assert_int_eq(xb_sm_ack(&sm, 0xFFFFFFFFu), 0);
    ck_assert_uint_eq(sm.qlen, 2);
    ck_assert_int_eq(xb_sm_ack(&sm, 0), 0);
    ck_assert_uint_eq(sm.qlen, 1);
    ck_assert_int_eq(xb_sm_ack(&sm, 1), 0);
    ck_assert_uint_eq(sm.qlen, 0);
    ck_assert_uint_eq(sm.acked, 1);
    ck_assert_uint_eq(sm.stats.acked, 3);
}
END_TEST

START_TEST(test_sm_queue_bound)
{
    sm.queue_max = 2;
    push("<m1/>", 1, 1);
    push("<m2/>", 1, 1);
    ck_assert_int_eq(xb_sm_push(&sm, "<m3/>", 5, 1, 1), XB_ELIMIT);
    ck_assert_int_eq(xb_sm_push(&sm, "<m3/>", 5, 1, 0), XB_ELIMIT);
    ck_assert_uint_eq(sm.qlen, 2);
    ck_assert_uint_eq(xb_sm_out(&sm), 2);
    ck_assert_uint_eq(sm.stats.refused_full, 2);
    ck_assert_int_eq(xb_sm_ack(&sm, 1), 0);
    push("<m3/>", 1, 1);
    ck_assert_uint_eq(xb_sm_out(&sm), 3);
}
END_TEST

START_TEST(test_sm_queue_default_bound)
{
    int i;

    for (i = 0; i < XB_SM_QUEUE_DEFAULT; i++)
        push("<m/>", 1, 1);
    ck_assert_int_eq(xb_sm_push(&sm, "<m/>", 4, 1, 1), XB_ELIMIT);
    ck_assert_uint_eq(sm.qlen, XB_SM_QUEUE_DEFAULT);
    ck_assert_int_eq(xb_sm_ack(&sm, XB_SM_QUEUE_DEFAULT), 0);
    ck_assert_uint_eq(sm.qbytes, 0);
}
END_TEST

/* Sent stanzas stay a prefix: after an unsent one, nothing counts as
 * sent, and replay sends all, counting only the first as resent. */
START_TEST(test_sm_replay)
{
    push("<m1/>", 1, 1);
    push("<m2/>", 1, 1);
    push("<m3/>", 1, 0);
    push("<m4/>", 1, 1);
    ck_assert_uint_eq(sm.qsent, 2);
    ck_assert_int_eq(xb_sm_ack(&sm, 1), 0);
    ck_assert_uint_eq(sm.qsent, 1);
    xb_sm_replay(&sm, collect, &sm);
    ck_assert_int_eq(nseen, 3);
    ck_assert_str_eq(seen[0], "<m2/>");
    ck_assert_str_eq(seen[1], "<m3/>");
    ck_assert_str_eq(seen[2], "<m4/>");
    ck_assert_uint_eq(sm.stats.resent, 1);
    ck_assert_uint_eq(sm.qsent, 3);
    ck_assert_uint_eq(sm.qlen, 3);
    ck_assert_uint_eq(xb_sm_out(&sm), 4);
}
END_TEST

/* Known h: what is left was never handled: resendable ones go again (the
 * sent ones counted resent), the rest lost; no duplicates. */
START_TEST(test_sm_fail_known)
{
    uint32_t lost;

    ck_assert_int_eq(xb_sm_set_id(&sm, "abc"), 0);
    sm.in = 7;
    push("<chat1/>", XB_SM_RESENDABLE, 1);
    push("<presence/>", XB_SM_KEEP, 1);
    push("<chat2/>", XB_SM_RESENDABLE, 0);
    push("<iq/>", XB_SM_KEEP, 0);
    sm.requested = 4;
    lost = xb_sm_fail(&sm, 1, requeue, &sm);
    ck_assert_uint_eq(lost, 2);
    ck_assert_int_eq(nseen, 2);
    ck_assert_str_eq(seen[0], "<chat1/>");
    ck_assert_str_eq(seen[1], "<chat2/>");
    ck_assert_uint_eq(sm.stats.lost, 2);
    ck_assert_uint_eq(sm.stats.resent, 1);
    ck_assert_uint_eq(sm.stats.duplicated, 0);
    ck_assert_ptr_null(sm.id);
    /* What fn queued again is the new stream's, counted from 0. */
    ck_assert_uint_eq(sm.qlen, 2);
    ck_assert_uint_eq(sm.qsent, 2);
    ck_assert_uint_eq(sm.acked, 0);
    ck_assert_uint_eq(sm.requested, 0);
    ck_assert_uint_eq(xb_sm_out(&sm), 2);
}
END_TEST

START_TEST(test_sm_fail_unknown)
{
    push("<chat1/>", XB_SM_RESENDABLE, 1);
    push("<chat2/>", XB_SM_RESENDABLE, 1);
    push("<presence/>", XB_SM_KEEP, 1);
    push("<chat3/>", XB_SM_RESENDABLE, 0);
    ck_assert_uint_eq(xb_sm_fail(&sm, 0, collect, &sm), 1);
    ck_assert_int_eq(nseen, 3);
    ck_assert_str_eq(seen[2], "<chat3/>");
    ck_assert_uint_eq(sm.stats.resent, 2);
    ck_assert_uint_eq(sm.stats.duplicated, 2);
    ck_assert_uint_eq(sm.stats.lost, 1);
    ck_assert_uint_eq(sm.qlen, 0);
    ck_assert_uint_eq(sm.qbytes, 0);
    ck_assert_ptr_null(sm.head);
}
END_TEST

/* No fn: everything is lost. */
START_TEST(test_sm_fail_drop)
{
    ck_assert_int_eq(xb_sm_set_id(&sm, "abc"), 0);
    push("<chat1/>", XB_SM_RESENDABLE, 1);
    push("<presence/>", XB_SM_KEEP, 0);
    ck_assert_uint_eq(xb_sm_fail(&sm, 0, NULL, NULL), 2);
    ck_assert_uint_eq(sm.stats.lost, 2);
    ck_assert_uint_eq(sm.stats.resent, 0);
    ck_assert_uint_eq(sm.stats.duplicated, 0);
    ck_assert_uint_eq(sm.qlen, 0);
    ck_assert_uint_eq(sm.qbytes, 0);
    ck_assert_ptr_null(sm.id);
    ck_assert_uint_eq(xb_sm_fail(&sm, 0, NULL, NULL), 0);
    ck_assert_uint_eq(sm.stats.lost, 2);
}
END_TEST

START_TEST(test_sm_start_and_clear)
{
    sm.acked = sm.in = sm.requested = 9;
    xb_sm_start(&sm);
    ck_assert_uint_eq(sm.acked, 0);
    ck_assert_uint_eq(sm.in, 0);
    ck_assert_uint_eq(sm.requested, 0);
    ck_assert_uint_eq(sm.on, 1);
    ck_assert_uint_eq(sm.stats.enabled, 1);
    {
        char id[] = "abc";

        ck_assert_int_eq(xb_sm_set_id(&sm, id), 0);
        id[0] = 'x'; /* copied */
    }
    ck_assert_str_eq(sm.id, "abc");
    ck_assert_int_eq(xb_sm_set_id(&sm, "def"), 0);
    ck_assert_str_eq(sm.id, "def");
    push("<m1/>", 1, 1);
    push("<m2/>", 1, 0);
    xb_sm_clear(&sm);
    ck_assert_ptr_null(sm.id);
    ck_assert_ptr_null(sm.head);
    ck_assert_uint_eq(sm.qlen, 0);
    ck_assert_uint_eq(sm.qsent, 0);
    ck_assert_uint_eq(sm.qbytes, 0);
    ck_assert_uint_eq(sm.on, 0);
    /* Stats are kept. */
    ck_assert_uint_eq(sm.stats.enabled, 1);
    ck_assert_int_eq(xb_sm_set_id(&sm, NULL), 0);
    ck_assert_ptr_null(sm.id);
}
END_TEST

static Suite *sm_suite(void)
{
    Suite *s = suite_create("sm");
    TCase *tc = tcase_create("bookkeeping");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sm_mode_names);
    tcase_add_test(tc, test_sm_counters_table);
    tcase_add_test(tc, test_sm_push_and_ack);
    tcase_add_test(tc, test_sm_ack_too_high);
    tcase_add_test(tc, test_sm_wrap);
    tcase_add_test(tc, test_sm_queue_bound);
    tcase_add_test(tc, test_sm_queue_default_bound);
    tcase_add_test(tc, test_sm_replay);
    tcase_add_test(tc, test_sm_fail_known);
    tcase_add_test(tc, test_sm_fail_unknown);
    tcase_add_test(tc, test_sm_fail_drop);
    tcase_add_test(tc, test_sm_start_and_clear);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(sm_suite());
}
