/*
 * Tests for the load bot (core/bot_load.c): the window of messages in
 * flight, byte-exact bodies checked on return, round-trip samples from
 * the host's clock, lost and corrupt echoes, the end of the work, and a
 * lost connection.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "fakehost.h"
#include "parser.h"
#include "stanza.h"
#include "xmpp.h"
#include "testutil.h"

#define ME "user0@example.com/load"
#define ECHO "echo@example.com"

static struct fakehost host;
static struct xb_bot *bot;

static struct xb_bot *new_load(const char *messages, const char *window)
{
    char m[64], w[64];
    const char *opts[] = {"to=" ECHO,          m,   w, "body_bytes=100",
                          "message_timeout=2", NULL};

    snprintf(m, sizeof m, "messages=%s", messages);
    snprintf(w, sizeof w, "window=%s", window);
    return fh_bot(&host, "load", opts, ME, 1, 0);
}

static void teardown(void)
{
    xb_bot_free(bot);
    bot = NULL;
    fh_reset(&host);
}

/* The echo of sent stanza i, as an echo bot would answer it; body NULL
 * keeps the body sent. */
static void echo_back(int i, const char *body)
{
    struct xb_stanza *st = NULL, *r;
    const char *id, *text;

    ck_assert_int_eq(
        xb_parser_parse_one(host.sent[i], strlen(host.sent[i]), &st, NULL), 0);
    id = xb_stanza_attr(st, NULL, "id");
    text = body ? body : xb_stanza_child_text(st, NULL, "body");
    ck_assert_ptr_nonnull(id);
    ck_assert_ptr_nonnull(text);
    r = xb_stanza_new(XB_NS_CLIENT, "message");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(xb_stanza_set_attr(r, NULL, "from", ECHO "/bot"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(r, NULL, "id", id), 0);
    ck_assert_int_eq(xb_stanza_add_text(xb_stanza_add_child(r, NULL, "body"),
                                        text, strlen(text)),
                     0);
    xb_bot_stanza(bot, r);
    xb_stanza_free(r);
    xb_stanza_free(st);
}

START_TEST(test_bot_load_window_and_answers)
{
    struct xb_stanza *st = NULL;
    int i;

    bot = new_load("5", "2");
    ck_assert_ptr_nonnull(bot);
    host.now_us = 1000;
    xb_bot_online(bot, ME);
    /* Two in flight, to the echo bot, chat, with the body size asked. */
    ck_assert_int_eq(host.nsent, 2);
    ck_assert_int_eq(fh_last_timer(&host), 1000);
    ck_assert_int_eq(
        xb_parser_parse_one(host.sent[0], strlen(host.sent[0]), &st, NULL), 0);
    ck_assert_str_eq(xb_stanza_attr(st, NULL, "to"), ECHO);
    ck_assert_str_eq(xb_stanza_attr(st, NULL, "type"), "chat");
    ck_assert_uint_eq(strlen(xb_stanza_child_text(st, NULL, "body")), 100);
    xb_stanza_free(st);
    ck_assert_str_ne(host.sent[0], host.sent[1]);
    /* Each answer sends the next; round trips come from the clock. */
    for (i = 0; i < 5; i++) {
        host.now_us += 250;
        echo_back(i, NULL);
    }
    ck_assert_int_eq(host.nsent, 5);
    ck_assert_int_eq(host.nsamples, 5);
    ck_assert_uint_eq(host.samples[0], 250);
    ck_assert_uint_eq(host.samples[1], 500);
    ck_assert_uint_eq(fh_counter(bot, "sent"), 5);
    ck_assert_uint_eq(fh_counter(bot, "answered"), 5);
    ck_assert_uint_eq(fh_counter(bot, "lost"), 0);
    ck_assert_int_eq(host.done, 1);
    ck_assert_int_eq(fh_last_timer(&host), -1);
    ck_assert_int_eq(xb_bot_ok(bot), 1);
}
END_TEST

START_TEST(test_bot_load_corrupt_late_and_foreign)
{
    bot = new_load("3", "1");
    xb_bot_online(bot, ME);
    echo_back(0, "not what was sent");
    ck_assert_uint_eq(fh_counter(bot, "corrupt"), 1);
    ck_assert_uint_eq(fh_counter(bot, "answered"), 0);
    /* The same echo again, a message of no load, an id never sent. */
    echo_back(0, NULL);
    fh_deliver(bot, "<message xmlns='jabber:client' from='" ECHO
                    "/bot' id='L99'><body>x</body></message>");
    fh_deliver(bot, "<message xmlns='jabber:client' from='" ECHO
                    "/bot' id='hello'><body>x</body></message>");
    fh_deliver(bot, "<presence xmlns='jabber:client' from='" ECHO "/bot'/>");
    ck_assert_uint_eq(fh_counter(bot, "answered"), 0);
    ck_assert_uint_eq(fh_counter(bot, "corrupt"), 1);
    echo_back(1, NULL);
    echo_back(2, NULL);
    ck_assert_uint_eq(fh_counter(bot, "answered"), 2);
    ck_assert_int_eq(host.done, 1);
    ck_assert_int_eq(xb_bot_ok(bot), 0); /* one came back corrupt */
}
END_TEST

START_TEST(test_bot_load_lost_on_timeout)
{
    bot = new_load("2", "1");
    host.now_us = 0;
    xb_bot_online(bot, ME);
    host.now_us = 1500000;
    xb_bot_timer(bot); /* not yet: the timeout is 2 s */
    ck_assert_uint_eq(fh_counter(bot, "lost"), 0);
    host.now_us = 2000001;
    xb_bot_timer(bot);
    ck_assert_uint_eq(fh_counter(bot, "lost"), 1);
    ck_assert_int_eq(host.nsent, 2); /* the next went out */
    echo_back(0, NULL);              /* too late: already counted */
    ck_assert_uint_eq(fh_counter(bot, "answered"), 0);
    echo_back(1, NULL);
    ck_assert_uint_eq(fh_counter(bot, "answered"), 1);
    ck_assert_int_eq(host.done, 1);
    ck_assert_int_eq(xb_bot_ok(bot), 0);
}
END_TEST

START_TEST(test_bot_load_connection_lost)
{
    bot = new_load("4", "2");
    xb_bot_online(bot, ME);
    xb_bot_offline(bot);
    ck_assert_uint_eq(fh_counter(bot, "lost"), 2);
    ck_assert_int_eq(fh_last_timer(&host), -1);
    /* Back online, it goes on with the rest. */
    xb_bot_online(bot, ME);
    ck_assert_int_eq(host.nsent, 4);
    echo_back(2, NULL);
    echo_back(3, NULL);
    ck_assert_uint_eq(fh_counter(bot, "answered"), 2);
    ck_assert_int_eq(host.done, 1);
}
END_TEST

START_TEST(test_bot_load_error_bounce_is_lost)
{
    bot = new_load("2", "1");
    xb_bot_online(bot, ME);
    /* No such echo bot: the server bounces the message, without body. */
    fh_deliver(bot, "<message xmlns='jabber:client' from='" ECHO
                    "' type='error' id='L1'><error type='cancel'>"
                    "<service-unavailable xmlns='urn:ietf:params:xml:ns:"
                    "xmpp-stanzas'/></error></message>");
    ck_assert_uint_eq(fh_counter(bot, "lost"), 1);
    ck_assert_uint_eq(fh_counter(bot, "corrupt"), 0);
    ck_assert_int_eq(host.nsamples, 0);
    ck_assert_int_eq(host.nsent, 2); /* the next went out */
    /* Even one that carries the body back (RFC 6120 8.3.1 allows it). */
    fh_deliver(bot, "<message xmlns='jabber:client' from='" ECHO
                    "' type='error' id='L2'><body>x</body></message>");
    ck_assert_uint_eq(fh_counter(bot, "lost"), 2);
    ck_assert_uint_eq(fh_counter(bot, "answered"), 0);
    ck_assert_int_eq(host.done, 1);
    ck_assert_int_eq(xb_bot_ok(bot), 0);
}
END_TEST

START_TEST(test_bot_load_done_once)
{
    bot = new_load("2", "2");
    xb_bot_online(bot, ME);
    /* The last messages were in flight when the connection dropped. */
    xb_bot_offline(bot);
    ck_assert_uint_eq(fh_counter(bot, "lost"), 2);
    ck_assert_int_eq(host.done, 1);
    xb_bot_online(bot, ME);
    ck_assert_int_eq(host.nsent, 2); /* nothing more to send */
    ck_assert_int_eq(host.done, 1);  /* and told once */
}
END_TEST

START_TEST(test_bot_load_send_refused)
{
    bot = new_load("3", "3");
    host.refuse = 1;
    xb_bot_online(bot, ME);
    ck_assert_uint_eq(fh_counter(bot, "sent"), 3);
    ck_assert_uint_eq(fh_counter(bot, "lost"), 3);
    ck_assert_int_eq(host.done, 1);
}
END_TEST

START_TEST(test_bot_load_needs_a_clock)
{
    struct xb_bot_host no_clock = fh_host;
    const char *opts[] = {"to=" ECHO, NULL};
    struct xb_bot_config *c = fh_config("load", opts);

    no_clock.now_us = NULL;
    ck_assert_ptr_null(xb_bot_new(c, ME, &no_clock, &host, 1, 0));
    ck_assert_int_eq(host.nlogs, 1);
    xb_bot_config_free(c);
    ck_assert_ptr_null(fh_config("load", NULL)); /* 'to' is required */
}
END_TEST

static Suite *bot_load_suite(void)
{
    Suite *s = suite_create("bot_load");
    TCase *tc = tcase_create("load");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_bot_load_window_and_answers);
    tcase_add_test(tc, test_bot_load_corrupt_late_and_foreign);
    tcase_add_test(tc, test_bot_load_lost_on_timeout);
    tcase_add_test(tc, test_bot_load_connection_lost);
    tcase_add_test(tc, test_bot_load_error_bounce_is_lost);
    tcase_add_test(tc, test_bot_load_done_once);
    tcase_add_test(tc, test_bot_load_send_refused);
    tcase_add_test(tc, test_bot_load_needs_a_clock);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(bot_load_suite());
}
