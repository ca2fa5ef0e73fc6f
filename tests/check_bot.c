/*
 * Tests for the bot API (core/bot.c, core/bot_config.c): the registry,
 * every kind's tables, options from text and numbers with their checks
 * and messages, the common counters, and the IQ rules every kind and host
 * shares.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "error.h"
#include "fakehost.h"
#include "testutil.h"

#define ME "echo@example.com/bot"
#define ALICE "alice@example.com/phone"

START_TEST(test_bot_registry_finds_every_kind)
{
    unsigned i;

    ck_assert_ptr_nonnull(xb_bot_kinds[0]);
    for (i = 0; xb_bot_kinds[i]; i++)
        ck_assert_ptr_eq(xb_bot_kind_find(xb_bot_kinds[i]->name),
                         xb_bot_kinds[i]);
    ck_assert_uint_ge(i, 3);
    ck_assert_ptr_null(xb_bot_kind_find("dance"));
    ck_assert_ptr_null(xb_bot_kind_find(NULL));
}
END_TEST

/* Names a host turns into command-line options, metric names and JSON
 * keys: lowercase words joined by '_', unique within the kind. */
static void assert_name(const char *name)
{
    size_t i;

    ck_assert_uint_gt(strlen(name), 0);
    for (i = 0; name[i]; i++)
        ck_assert_msg((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_',
                      "bad name '%s'", name);
    ck_assert_msg(name[0] != '_' && name[i - 1] != '_', "bad name '%s'", name);
}

START_TEST(test_bot_kind_tables_are_sound)
{
    unsigned i, j, n;

    for (i = 0; xb_bot_kinds[i]; i++) {
        const struct xb_bot_kind *k = xb_bot_kinds[i];
        const struct xb_bot_option *o;
        struct xb_bot_config *c;
        char def[64];

        assert_name(k->name);
        ck_assert_ptr_nonnull(k->summary);
        ck_assert_ptr_nonnull(k->stanza);
        for (o = k->options; o->name; o++) {
            assert_name(o->name);
            ck_assert_ptr_nonnull(o->help);
            ck_assert_ptr_nonnull(o->arg);
            ck_assert_ptr_eq(xb_bot_option_find(k, o->name), o);
            ck_assert_uint_le(o->offset, k->config_size - 1);
            if (o->type != XB_OPT_STRING && o->type != XB_OPT_LIST &&
                !(o->flags & XB_OPT_REQUIRED)) {
                ck_assert(o->min <= o->def && o->def <= o->max);
                xb_bot_option_default(o, def, sizeof def);
                ck_assert_uint_gt(strlen(def), 0);
            }
        }
        n = xb_bot_ncounters(k);
        for (j = 0; j < n; j++) {
            const struct xb_bot_counter *c1 = xb_bot_counter_at(k, j);
            unsigned m;

            assert_name(c1->name);
            ck_assert_ptr_nonnull(c1->label);
            ck_assert_ptr_nonnull(c1->help);
            ck_assert_uint_le(c1->offset + 8, k->size);
            for (m = 0; m < j; m++)
                ck_assert_str_ne(xb_bot_counter_at(k, m)->name, c1->name);
        }
        /* The defaults make a valid config unless an option is required. */
        c = xb_bot_config_new(k);
        ck_assert_ptr_nonnull(c);
        for (o = k->options; o->name && !(o->flags & XB_OPT_REQUIRED); o++)
            ;
        ck_assert_int_eq(xb_bot_config_check(c, def, sizeof def) == 0,
                         o->name == NULL);
        xb_bot_config_free(c);
    }
}
END_TEST

START_TEST(test_bot_option_spellings)
{
    const struct xb_bot_kind *k = xb_bot_kind_find("jumper");

    ck_assert_ptr_nonnull(xb_bot_option_find(k, "room_prefix"));
    ck_assert_ptr_eq(xb_bot_option_find(k, "room-prefix"),
                     xb_bot_option_find(k, "room_prefix"));
    ck_assert_ptr_null(xb_bot_option_find(k, "room"));
    ck_assert_ptr_null(xb_bot_option_find(k, "room_prefix_"));
}
END_TEST

/* Sets name from text and returns the result and message. */
static int set(struct xb_bot_config *c, const char *name, const char *text,
               char *err)
{
    err[0] = '\0';
    return xb_bot_config_set(c, name, text, err, 300);
}

START_TEST(test_bot_options_from_text)
{
    struct xb_bot_config *c = xb_bot_config_new(xb_bot_kind_find("jumper"));
    char err[300];

    ck_assert_int_eq(set(c, "rooms", "12", err), 0);
    ck_assert_int_eq(set(c, "interval", "0.5-2.25", err), 0);
    ck_assert_int_eq(set(c, "interval", "3", err), 0); /* one value: both */
    ck_assert_int_eq(set(c, "phrases", "2-2", err), 0);
    ck_assert_int_eq(set(c, "nick", "Jümpy", err), 0);

    ck_assert_int_eq(set(c, "rooms", "0", err), XB_EINVAL);
    ck_assert_str_eq(err, "a whole number from 1 to 100000000");
    ck_assert_int_eq(set(c, "rooms", "1.5", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "rooms", "-1", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "rooms", "", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "rooms", "3x", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "rooms", "1e3", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "rooms", "1.", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "interval", ".5", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "interval", "1.-2", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "rooms", "99999999999999999999999999999999", err),
                     XB_EINVAL);
    ck_assert_int_eq(set(c, "rooms", "2-3", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "interval", "9-3", err), XB_EINVAL);
    ck_assert_str_eq(err, "a range like 5-15: seconds from 0.001 to 86400, "
                          "the first not above the second");
    ck_assert_int_eq(set(c, "interval", "0-1", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "interval", "1-", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "interval", "1-100000", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "phrases", "0-2", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "nick", "a\x01", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "nick", "\xff", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "phrase_list", "x", err), XB_EINVAL);
    ck_assert_int_eq(set(c, "nope", "1", err), XB_ENOTFOUND);
    ck_assert_int_eq(set(c, "rooms", NULL, err), XB_EINVAL);
    ck_assert_int_eq(xb_bot_config_check(c, err, sizeof err), 0);
    xb_bot_config_free(c);
}
END_TEST

START_TEST(test_bot_options_from_numbers)
{
    struct xb_bot_config *c = xb_bot_config_new(xb_bot_kind_find("jumper"));
    static const char *const two[] = {"a", "b"};
    static const char *const bad[] = {"a", NULL};
    char err[300];

    ck_assert_int_eq(xb_bot_config_set_number(c, "rooms", 3, 3, err, 300), 0);
    ck_assert_int_eq(xb_bot_config_set_number(c, "rooms", 3, 4, err, 300),
                     XB_EINVAL);
    ck_assert_int_eq(xb_bot_config_set_number(c, "rooms", 2.5, 2.5, err, 300),
                     XB_EINVAL);
    ck_assert_int_eq(
        xb_bot_config_set_number(c, "interval", 0.25, 0.75, err, 300), 0);
    ck_assert_int_eq(xb_bot_config_set_number(c, "nick", 1, 1, err, 300),
                     XB_EINVAL);
    ck_assert_int_eq(xb_bot_config_set_list(c, "phrase_list", two, 2, err, 300),
                     0);
    ck_assert_int_eq(xb_bot_config_set_list(c, "phrase_list", two, 0, err, 300),
                     XB_EINVAL);
    ck_assert_int_eq(xb_bot_config_set_list(c, "phrase_list", bad, 2, err, 300),
                     XB_EINVAL);
    ck_assert_int_eq(xb_bot_config_set_list(c, "rooms", two, 2, err, 300),
                     XB_EINVAL);
    /* Setting twice frees the first value (valgrind sees it). */
    ck_assert_int_eq(xb_bot_config_set(c, "muc", "a.example", err, 300), 0);
    ck_assert_int_eq(xb_bot_config_set(c, "muc", "b.example", err, 300), 0);
    ck_assert_int_eq(xb_bot_config_set_list(c, "phrase_list", two, 1, err, 300),
                     0);
    ck_assert_int_eq(xb_bot_config_check(c, err, sizeof err), 0);
    xb_bot_config_free(c);
    xb_bot_config_free(NULL);
}
END_TEST

START_TEST(test_bot_config_check_whole)
{
    struct xb_bot_config *c = xb_bot_config_new(xb_bot_kind_find("load"));
    char err[300];

    ck_assert_int_eq(xb_bot_config_check(c, err, sizeof err), XB_EINVAL);
    ck_assert_str_eq(err, "to is required");
    ck_assert_int_eq(xb_bot_config_set(c, "to", "not a jid@", err, 300), 0);
    ck_assert_int_eq(xb_bot_config_check(c, err, sizeof err), XB_EINVAL);
    ck_assert_str_eq(err, "to 'not a jid@' is not a JID");
    ck_assert_int_eq(xb_bot_config_set(c, "to", "echo@example.com", err, 300),
                     0);
    ck_assert_int_eq(xb_bot_config_check(c, err, sizeof err), 0);
    xb_bot_config_free(c);

    c = xb_bot_config_new(xb_bot_kind_find("jumper"));
    ck_assert_int_eq(xb_bot_config_set(c, "muc", "a@b", err, 300), 0);
    ck_assert_int_eq(xb_bot_config_check(c, err, sizeof err), XB_EINVAL);
    ck_assert_str_eq(err, "muc 'a@b' is not a MUC service domain");
    xb_bot_config_free(c);
}
END_TEST

START_TEST(test_bot_log_level_names)
{
    enum xb_log_level l = XB_LOG_WARN;
    int i;

    for (i = XB_LOG_ERROR; i <= XB_LOG_DEBUG; i++) {
        ck_assert_int_eq(xb_log_level_parse(xb_log_level_name(i), &l), 0);
        ck_assert_int_eq(l, i);
    }
    ck_assert_int_eq(xb_log_level_parse("Warn", &l), XB_EINVAL);
    ck_assert_int_eq(xb_log_level_parse(NULL, &l), XB_EINVAL);
    ck_assert_int_eq(l, XB_LOG_DEBUG);
    ck_assert_str_eq(xb_bot_option_type_name(XB_OPT_SECONDS_RANGE),
                     "seconds range");
}
END_TEST

/* --- the IQ rules, through the echo bot ---------------------------------- */

static struct fakehost host;
static struct xb_bot *bot;

static void setup(void)
{
    memset(&host, 0, sizeof host);
    bot = fh_bot(&host, "echo", NULL, "echo@example.com", 1, 0);
    ck_assert_ptr_nonnull(bot);
    xb_bot_online(bot, ME);
}

static void teardown(void)
{
    xb_bot_free(bot);
    fh_reset(&host);
}

/* Delivers xml and asserts the one answer is want. */
static void assert_answer(const char *xml, const char *want)
{
    int before = host.nsent;

    fh_deliver(bot, xml);
    ck_assert_int_eq(host.nsent, before + 1);
    ck_assert_str_eq(host.sent[before], want);
}

START_TEST(test_bot_iq_ping)
{
    assert_answer("<iq xmlns='jabber:client' type='get' id='p1' from='" ALICE
                  "'><ping xmlns='urn:xmpp:ping'/></iq>",
                  "<iq type='result' to='" ALICE "' id='p1'/>");
    /* Prosody's tables carry no namespace on the stanza. */
    assert_answer("<iq type='get' id='p2' from='" ALICE
                  "'><ping xmlns='urn:xmpp:ping'/></iq>",
                  "<iq type='result' to='" ALICE "' id='p2'/>");
    /* Whitespace between elements is legal XML: the payload is the one
     * child element, not the first child node. */
    assert_answer("<iq type='get' id='p3' from='" ALICE "'>\n  <ping "
                  "xmlns='urn:xmpp:ping'/>\n</iq>",
                  "<iq type='result' to='" ALICE "' id='p3'/>");
    ck_assert_uint_eq(fh_counter(bot, "iq_requests"), 3);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 3);
    ck_assert_uint_eq(fh_counter(bot, "echoed"), 0);
}
END_TEST

START_TEST(test_bot_iq_unknown_is_service_unavailable)
{
    static const char *const payloads[] = {
        "<query xmlns='jabber:iq:version'/>",
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
        "<ping xmlns='urn:xmpp:ping-not'/>",
        "<pong xmlns='urn:xmpp:ping'/>",
    };
    char xml[512];
    size_t i;

    for (i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        snprintf(xml, sizeof xml,
                 "<iq xmlns='jabber:client' type='get' id='u' from='" ALICE
                 "'>%s</iq>",
                 payloads[i]);
        assert_answer(xml, "<iq type='error' to='" ALICE "' id='u'>"
                           "<error type='cancel'><service-unavailable "
                           "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                           "</error></iq>");
    }
    /* A ping is a get: a set of one is not answered as a ping. */
    assert_answer("<iq type='set' id='s' from='" ALICE
                  "'><ping xmlns='urn:xmpp:ping'/></iq>",
                  "<iq type='error' to='" ALICE "' id='s'>"
                  "<error type='cancel'><service-unavailable "
                  "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                  "</error></iq>");
}
END_TEST

START_TEST(test_bot_iq_needs_one_payload)
{
    /* RFC 6120 8.2.3: a get or set has exactly one child element; a ping
     * behind another element is not a ping. */
    static const char *const bad[] = {
        "<iq type='get' id='b' from='" ALICE "'/>",
        "<iq type='get' id='b' from='" ALICE "'>text only</iq>",
        "<iq type='get' id='b' from='" ALICE "'><a xmlns='x'/>"
        "<ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq type='get' id='b' from='" ALICE "'><ping xmlns='urn:xmpp:ping'/>"
        "<ping xmlns='urn:xmpp:ping'/></iq>",
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_answer(bad[i], "<iq type='error' to='" ALICE "' id='b'>"
                              "<error type='modify'><bad-request "
                              "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                              "</error></iq>");
}
END_TEST

START_TEST(test_bot_iq_results_are_not_answered)
{
    fh_deliver(bot, "<iq type='result' id='r' from='" ALICE "'/>");
    fh_deliver(bot, "<iq type='error' id='r' from='" ALICE "'><error "
                    "type='cancel'><item-not-found "
                    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
                    "</iq>");
    fh_deliver(bot, "<iq type='bogus' id='r' from='" ALICE "'/>");
    fh_deliver(bot, "<iq id='r' from='" ALICE "'/>");
    ck_assert_int_eq(host.nsent, 0);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 4);
    ck_assert_uint_eq(fh_counter(bot, "iq_requests"), 0);
}
END_TEST

START_TEST(test_bot_iq_without_from_or_id)
{
    /* From the server itself (no from) and without an id: still answered,
     * so the asker never hangs; nothing is invented. */
    assert_answer("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>",
                  "<iq type='result'/>");
}
END_TEST

START_TEST(test_bot_iq_from_no_jid_is_not_answered)
{
    /* A sender that is not a JID cannot be answered (a server would
     * refuse the answer): the request is dropped, as the echo and the
     * component's routing drop such senders. */
    static const char *const froms[] = {"@example.com", "a@b@c", "a/",
                                        "a@@b", ""};
    char xml[256];
    size_t i;

    for (i = 0; i < sizeof froms / sizeof froms[0]; i++) {
        snprintf(xml, sizeof xml,
                 "<iq type='get' id='n' from='%s'><ping "
                 "xmlns='urn:xmpp:ping'/></iq>",
                 froms[i]);
        fh_deliver(bot, xml);
    }
    ck_assert_int_eq(host.nsent, 0);
    ck_assert_uint_eq(fh_counter(bot, "iq_requests"), 0);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 5);
}
END_TEST

START_TEST(test_bot_iq_other_namespace_goes_to_the_kind)
{
    /* An <iq/> outside jabber:client is not a stanza of ours. */
    fh_deliver(bot, "<iq xmlns='urn:other' type='get' id='o' from='" ALICE
                    "'><ping xmlns='urn:xmpp:ping'/></iq>");
    ck_assert_int_eq(host.nsent, 0);
    ck_assert_uint_eq(fh_counter(bot, "iq_requests"), 0);
}
END_TEST

START_TEST(test_bot_state_and_ok)
{
    char where[64];

    ck_assert_str_eq(xb_bot_state(bot, where, sizeof where), "online");
    ck_assert_str_eq(where, "");
    ck_assert_int_eq(xb_bot_ok(bot), 1);
    xb_bot_offline(bot);
    ck_assert_str_eq(xb_bot_state(bot, where, sizeof where), "offline");
    ck_assert_str_eq(xb_bot_kind_of(bot)->name, "echo");
}
END_TEST

START_TEST(test_bot_jid)
{
    struct xb_bot *b = fh_new(&host, host.config, "Echo@EXAMPLE.org", 1, 2);

    /* Normalized (ASCII lowercased but for the resource), then the
     * bound full JID. */
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(xb_bot_jid(b), "echo@example.org");
    xb_bot_online(b, "echo@example.org/Bot");
    ck_assert_str_eq(xb_bot_jid(b), "echo@example.org/Bot");
    xb_bot_offline(b);
    xb_bot_free(b);
}
END_TEST

static Suite *bot_suite(void)
{
    Suite *s = suite_create("bot");
    TCase *tc = tcase_create("registry");

    tcase_add_test(tc, test_bot_registry_finds_every_kind);
    tcase_add_test(tc, test_bot_kind_tables_are_sound);
    tcase_add_test(tc, test_bot_option_spellings);
    tcase_add_test(tc, test_bot_options_from_text);
    tcase_add_test(tc, test_bot_options_from_numbers);
    tcase_add_test(tc, test_bot_config_check_whole);
    tcase_add_test(tc, test_bot_log_level_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("iq");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_iq_ping);
    tcase_add_test(tc, test_bot_iq_unknown_is_service_unavailable);
    tcase_add_test(tc, test_bot_iq_needs_one_payload);
    tcase_add_test(tc, test_bot_iq_results_are_not_answered);
    tcase_add_test(tc, test_bot_iq_without_from_or_id);
    tcase_add_test(tc, test_bot_iq_from_no_jid_is_not_answered);
    tcase_add_test(tc, test_bot_iq_other_namespace_goes_to_the_kind);
    tcase_add_test(tc, test_bot_state_and_ok);
    tcase_add_test(tc, test_bot_jid);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(bot_suite());
}
