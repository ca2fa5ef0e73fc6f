/*
 * Tests for the echo bot (core/bot_echo.c through core/bot.c): the exact
 * replies, every case it must not answer, loop prevention against its own
 * kind and against id-keeping foreign bots, and byte-exact bodies.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "fakehost.h"
#include "buf.h"
#include "error.h"
#include "parser.h"
#include "serialize.h"
#include "xmpp.h"
#include "testutil.h"

#define MAX_SENT 64
#define ECHO_JID "echo@example.com"
#define ECHO_FULL "echo@example.com/bot"
#define ALICE "alice@example.com/phone"
#define MARK "<echo xmlns='urn:xmppbots:echo'/>"

static struct fakehost host_a;
static struct xb_bot *bot;
static struct xb_bot_config *echo_cfg;

static struct xb_bot *new_echo(struct fakehost *f, const char *jid)
{
    return fh_new(f, echo_cfg, jid, 1, 0);
}

static void setup(void)
{
    memset(&host_a, 0, sizeof host_a);
    echo_cfg = fh_config("echo", NULL);
    bot = new_echo(&host_a, ECHO_JID);
    ck_assert_ptr_nonnull(bot);
    xb_bot_online(bot, ECHO_FULL);
}

static void teardown(void)
{
    xb_bot_free(bot);
    bot = NULL;
    fh_reset(&host_a);
    xb_bot_config_free(echo_cfg);
}

static struct xb_stanza *parse(const char *xml, size_t len)
{
    struct xb_stanza *st = NULL;
    enum xb_cond cond = XB_COND_NONE;

    ck_assert_msg(xb_parser_parse_one(xml, len, &st, &cond) == 0,
                  "cannot parse %s: %s", xml, xb_cond_name(cond));
    return st;
}

static void deliver(const char *xml)
{
    fh_deliver(bot, xml);
}

/* Delivers xml and asserts the bot answered exactly with want. */
static void assert_echo(const char *xml, const char *want)
{
    int before = host_a.nsent;

    deliver(xml);
    ck_assert_int_eq(host_a.nsent, before + 1);
    ck_assert_str_eq(host_a.sent[before], want);
}

/* Delivers xml and asserts the bot stayed silent and counted it ignored. */
static void assert_ignored(const char *xml)
{
    int before = host_a.nsent;
    uint64_t ignored = fh_counter(bot, "ignored");

    deliver(xml);
    ck_assert_msg(host_a.nsent == before, "answered %s with %s", xml,
                  host_a.nsent > before ? host_a.sent[before] : "");
    ck_assert_uint_eq(fh_counter(bot, "ignored"), ignored + 1);
}

START_TEST(test_bot_echo_chat)
{
    assert_echo("<message xmlns='jabber:client' from='" ALICE "' to='" ECHO_FULL
                "' type='chat' id='m1'><body>hello</body></message>",
                "<message to='" ALICE "' type='chat' id='m1'>"
                "<body>hello</body>" MARK "</message>");
    ck_assert_uint_eq(fh_counter(bot, "echoed"), 1);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 1);
    ck_assert_uint_eq(fh_counter(bot, "ignored"), 0);
}
END_TEST

START_TEST(test_bot_echo_normal)
{
    assert_echo("<message xmlns='jabber:client' from='" ALICE
                "' type='normal' id='n1'><body>hi</body></message>",
                "<message to='" ALICE "' type='normal' id='n1'>"
                "<body>hi</body>" MARK "</message>");
}
END_TEST

START_TEST(test_bot_echo_missing_type_is_normal)
{
    assert_echo("<message xmlns='jabber:client' from='" ALICE
                "' id='x'><body>hi</body></message>",
                "<message to='" ALICE "' id='x'><body>hi</body>" MARK
                "</message>");
}
END_TEST

START_TEST(test_bot_echo_missing_id)
{
    assert_echo("<message xmlns='jabber:client' from='" ALICE
                "' type='chat'><body>no id</body></message>",
                "<message to='" ALICE "' type='chat'><body>no id</body>" MARK
                "</message>");
}
END_TEST

START_TEST(test_bot_echo_thread_and_lang)
{
    assert_echo("<message xmlns='jabber:client' xml:lang='de' from='" ALICE
                "' type='chat' id='t'><body>hallo</body>"
                "<thread parent='p-1'>t-1</thread>"
                "<active xmlns='http://jabber.org/protocol/chatstates'/>"
                "</message>",
                "<message to='" ALICE "' type='chat' id='t' xml:lang='de'>"
                "<body>hallo</body><thread parent='p-1'>t-1</thread>" MARK
                "</message>");
    assert_echo("<message xmlns='jabber:client' from='" ALICE
                "' type='chat' id='u'><thread>only</thread><body>b</body>"
                "</message>",
                "<message to='" ALICE "' type='chat' id='u'>"
                "<body>b</body><thread>only</thread>" MARK "</message>");
}
END_TEST

START_TEST(test_bot_echo_every_body)
{
    assert_echo("<message xmlns='jabber:client' from='" ALICE
                "' type='chat' id='b'><body>one</body>"
                "<body xml:lang='fr'>un</body></message>",
                "<message to='" ALICE "' type='chat' id='b'><body>one</body>"
                "<body xml:lang='fr'>un</body>" MARK "</message>");
}
END_TEST

START_TEST(test_bot_echo_empty_body)
{
    assert_echo("<message xmlns='jabber:client' from='" ALICE
                "' type='chat' id='e'><body/></message>",
                "<message to='" ALICE "' type='chat' id='e'><body/>" MARK
                "</message>");
}
END_TEST

START_TEST(test_bot_echo_no_namespace)
{
    /* Prosody's stanzas carry no xmlns; a host may hand them over so. */
    assert_echo("<message from='" ALICE
                "' type='chat' id='p'><body>hi</body></message>",
                "<message to='" ALICE
                "' type='chat' id='p'><body>hi</body>" MARK "</message>");
}
END_TEST

START_TEST(test_bot_echo_ignores_types)
{
    static const char *const types[] = {"error",     "groupchat", "headline",
                                        "CHAT",      "Normal",    "chat ",
                                        "something", ""};
    char xml[256];
    size_t i;

    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        snprintf(xml, sizeof xml,
                 "<message xmlns='jabber:client' from='" ALICE
                 "' type='%s' id='i'><body>x</body></message>",
                 types[i]);
        assert_ignored(xml);
    }
    ck_assert_uint_eq(fh_counter(bot, "echoed"), 0);
}
END_TEST

START_TEST(test_bot_echo_ignores_without_body)
{
    assert_ignored("<message xmlns='jabber:client' from='" ALICE
                   "' type='chat'><composing "
                   "xmlns='http://jabber.org/protocol/chatstates'/>"
                   "</message>");
    assert_ignored("<message xmlns='jabber:client' from='" ALICE
                   "' type='chat'><body xmlns='urn:example:other'>x</body>"
                   "</message>");
    assert_ignored("<message xmlns='jabber:client' from='" ALICE
                   "' type='chat'><subject>s</subject></message>");
}
END_TEST

START_TEST(test_bot_echo_ignores_bad_sender)
{
    assert_ignored("<message xmlns='jabber:client' type='chat'>"
                   "<body>x</body></message>");
    assert_ignored("<message xmlns='jabber:client' from='' type='chat'>"
                   "<body>x</body></message>");
    assert_ignored("<message xmlns='jabber:client' from='a@@b' type='chat'>"
                   "<body>x</body></message>");
}
END_TEST

START_TEST(test_bot_echo_ignores_own_jid)
{
    assert_ignored("<message xmlns='jabber:client' from='" ECHO_FULL
                   "' type='chat' id='o'><body>x</body></message>");
    assert_ignored("<message xmlns='jabber:client' from='" ECHO_JID
                   "/other' type='chat' id='o'><body>x</body></message>");
    assert_ignored("<message xmlns='jabber:client' from='" ECHO_JID
                   "' type='chat' id='o'><body>x</body></message>");
    /* Normalized: the domain is case-insensitive. */
    assert_ignored("<message xmlns='jabber:client' from='echo@EXAMPLE.com/x'"
                   " type='chat' id='o'><body>x</body></message>");
    /* Same localpart elsewhere is somebody else. */
    assert_echo("<message xmlns='jabber:client' from='echo@example.org/x'"
                " type='chat' id='o'><body>x</body></message>",
                "<message to='echo@example.org/x' type='chat' id='o'>"
                "<body>x</body>" MARK "</message>");
}
END_TEST

START_TEST(test_bot_echo_ignores_marker)
{
    assert_ignored("<message xmlns='jabber:client' from='" ALICE
                   "' type='chat' id='m'><body>x</body>" MARK "</message>");
}
END_TEST

START_TEST(test_bot_echo_ignores_presence)
{
    deliver("<presence xmlns='jabber:client' from='" ALICE "'/>");
    deliver("<presence xmlns='jabber:client' from='" ALICE
            "' type='subscribe'/>");
    ck_assert_int_eq(host_a.nsent, 0);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 2);
    /* Not a message, so not "a message deliberately not answered". */
    ck_assert_uint_eq(fh_counter(bot, "ignored"), 0);
}
END_TEST

START_TEST(test_bot_echo_silent_when_not_online)
{
    static const char msg[] = "<message xmlns='jabber:client' from='" ALICE
                              "' type='chat' id='z'><body>x</body></message>";

    xb_bot_offline(bot);
    assert_ignored(msg);
    xb_bot_online(bot, ECHO_FULL);
    deliver(msg);
    ck_assert_int_eq(host_a.nsent, 1);
    xb_bot_stop(bot);
    ck_assert_int_eq(host_a.nsent, 1); /* stopping an echo bot says nothing */
    ck_assert_int_lt(fh_last_timer(&host_a), 0);
    assert_ignored(msg);
}
END_TEST

START_TEST(test_bot_echo_not_counted_when_send_fails)
{
    host_a.refuse = 1;
    deliver("<message xmlns='jabber:client' from='" ALICE
            "' type='chat' id='f'><body>x</body></message>");
    ck_assert_int_eq(host_a.nsent, 1);
    ck_assert_uint_eq(fh_counter(bot, "echoed"), 0);
    ck_assert_uint_eq(fh_counter(bot, "ignored"), 0);
}
END_TEST

static void chat_from(char *xml, size_t size, const char *from, const char *id)
{
    snprintf(xml, size,
             "<message xmlns='jabber:client' from='%s' type='chat' id='%s'>"
             "<body>x</body></message>",
             from, id);
}

START_TEST(test_bot_echo_id_ring)
{
    char xml[256], id[16];
    int i;

    for (i = 1; i <= 8; i++) {
        snprintf(id, sizeof id, "r%d", i);
        chat_from(xml, sizeof xml, ALICE, id);
        deliver(xml);
    }
    ck_assert_int_eq(host_a.nsent, 8);
    /* The same sender with a remembered id: an echo of our echo. */
    chat_from(xml, sizeof xml, ALICE, "r1");
    assert_ignored(xml);
    chat_from(xml, sizeof xml, ALICE, "r8");
    assert_ignored(xml);
    /* The same id from someone else, or from another resource, is news. */
    chat_from(xml, sizeof xml, "bob@example.com/x", "r1");
    deliver(xml);
    ck_assert_int_eq(host_a.nsent, 9);
    chat_from(xml, sizeof xml, "alice@example.com/laptop", "r2");
    deliver(xml);
    ck_assert_int_eq(host_a.nsent, 10);
    /* Those two echoes took the two oldest slots, alice's r1 and r2: */
    chat_from(xml, sizeof xml, ALICE, "r1");
    deliver(xml);
    ck_assert_int_eq(host_a.nsent, 11); /* and took r3's slot */
    chat_from(xml, sizeof xml, ALICE, "r4");
    assert_ignored(xml);
    chat_from(xml, sizeof xml, ALICE, "r3");
    deliver(xml);
    ck_assert_int_eq(host_a.nsent, 12); /* took r4's slot */
    chat_from(xml, sizeof xml, ALICE, "r4");
    deliver(xml);
    ck_assert_int_eq(host_a.nsent, 13);
    chat_from(xml, sizeof xml, ALICE, "r8");
    assert_ignored(xml);
    chat_from(xml, sizeof xml, ALICE, "r1");
    assert_ignored(xml);
}
END_TEST

START_TEST(test_bot_echo_ring_needs_id)
{
    static const char msg[] = "<message xmlns='jabber:client' from='" ALICE
                              "' type='chat'><body>x</body></message>";

    deliver(msg);
    deliver(msg);
    ck_assert_int_eq(host_a.nsent, 2);
}
END_TEST

/*
 * Two hosts wired to each other: whatever one bot sends is delivered to
 * the other with 'from' stamped as a server would, until nothing is left
 * or the bound is hit. Returns the number of stanzas delivered.
 */
static int pump(struct fakehost *fa, struct xb_bot *a, const char *ja,
                struct fakehost *fb, struct xb_bot *b, const char *jb,
                int bound)
{
    int da = 0, db = 0, moved = 0;

    while ((da < fa->nsent || db < fb->nsent) && moved < bound) {
        if (da < fa->nsent) {
            ck_assert_int_eq(xb_stanza_set_attr(fa->kept[da], NULL, "from", ja),
                             0);
            xb_bot_stanza(b, fa->kept[da++]);
        } else {
            ck_assert_int_eq(xb_stanza_set_attr(fb->kept[db], NULL, "from", jb),
                             0);
            xb_bot_stanza(a, fb->kept[db++]);
        }
        moved++;
    }
    return moved;
}

START_TEST(test_bot_echo_two_bots_do_not_loop)
{
    struct fakehost host_b;
    struct xb_bot *other;
    int total;

    memset(&host_b, 0, sizeof host_b);
    other = new_echo(&host_b, "echo2@example.com");
    ck_assert_ptr_nonnull(other);
    xb_bot_online(other, "echo2@example.com/bot");
    host_a.keep = host_b.keep = 1;

    /* A message from the other bot's account reaches ours: ours answers
     * it, and from then on the two bots only talk to each other. */
    deliver("<message xmlns='jabber:client' from='echo2@example.com/bot'"
            " type='chat' id='loop1'><body>ping</body></message>");
    deliver("<message xmlns='jabber:client' from='echo2@example.com/bot'"
            " type='chat'><body>no id</body></message>");
    total = pump(&host_a, bot, ECHO_FULL, &host_b, other,
                 "echo2@example.com/bot", 100);
    ck_assert_int_le(host_a.nsent + host_b.nsent, 2);
    ck_assert_int_le(total, 2);
    ck_assert_uint_eq(fh_counter(other, "echoed"), 0);
    ck_assert_uint_eq(fh_counter(other, "ignored"), 2);

    xb_bot_free(other);
    fh_reset(&host_b);
}
END_TEST

/* A foreign echo bot that strips our marker but keeps the id: answers
 * everything with a body, like a naive bot would. */
static struct xb_stanza *naive_echo(const struct xb_stanza *st)
{
    struct xb_stanza *r = xb_stanza_new(XB_NS_CLIENT, "message"), *b;
    const char *body = xb_stanza_child_text(st, XB_NS_CLIENT, "body");

    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(xb_stanza_set_attr(r, NULL, "from", "naive@example.com/n"),
                     0);
    ck_assert_int_eq(
        xb_stanza_set_attr(r, NULL, "id", xb_stanza_attr(st, NULL, "id")), 0);
    ck_assert_int_eq(xb_stanza_set_attr(r, NULL, "type", "chat"), 0);
    b = xb_stanza_add_child(r, NULL, "body");
    ck_assert_ptr_nonnull(b);
    if (body)
        ck_assert_int_eq(xb_stanza_add_text(b, body, strlen(body)), 0);
    return r;
}

START_TEST(test_bot_echo_foreign_bot_keeping_ids)
{
    int i, delivered = 0;

    host_a.keep = 1;
    deliver("<message xmlns='jabber:client' from='naive@example.com/n'"
            " type='chat' id='f1'><body>ping</body></message>");
    for (i = 0; i < host_a.nsent && i < 50; i++) {
        struct xb_stanza *r = naive_echo(host_a.kept[i]);

        xb_bot_stanza(bot, r);
        xb_stanza_free(r);
        delivered++;
    }
    ck_assert_int_eq(host_a.nsent, 1);
    ck_assert_int_eq(delivered, 1);
    ck_assert_uint_eq(fh_counter(bot, "echoed"), 1);
    ck_assert_uint_eq(fh_counter(bot, "ignored"), 1);
}
END_TEST

static int depth, max_depth;

/* The naive bot's answer arrives from inside our send(), as it would with
 * a host that routes synchronously. */
static void reenter_naive(struct fakehost *f, const struct xb_stanza *st)
{
    struct xb_stanza *r;

    (void)f;
    if (++depth > max_depth)
        max_depth = depth;
    if (depth < 50) {
        r = naive_echo(st);
        xb_bot_stanza(bot, r);
        xb_stanza_free(r);
    }
    depth--;
}

START_TEST(test_bot_echo_reentrant_host)
{
    depth = max_depth = 0;
    host_a.reenter = reenter_naive;
    deliver("<message xmlns='jabber:client' from='naive@example.com/n'"
            " type='chat' id='re'><body>ping</body></message>");
    ck_assert_int_eq(host_a.nsent, 1);
    ck_assert_int_eq(max_depth, 1);
}
END_TEST

/* Sends body (already escaped for XML as esc) and asserts the echo's body
 * holds exactly the bytes raw. */
static void assert_body_roundtrip(const char *esc, const char *raw,
                                  size_t rawlen)
{
    struct xb_buf in;
    struct xb_stanza *st, *back;
    const char *text;
    size_t len = 0;

    xb_buf_init(&in);
    ck_assert_int_eq(xb_buf_puts(&in,
                                 "<message xmlns='jabber:client' from='" ALICE
                                 "' type='chat' id='big'><body>"),
                     0);
    ck_assert_int_eq(xb_buf_puts(&in, esc), 0);
    ck_assert_int_eq(xb_buf_puts(&in, "</body></message>"), 0);
    st = parse(in.data, in.len);
    xb_bot_stanza(bot, st);
    xb_stanza_free(st);
    xb_buf_free(&in);

    ck_assert_int_eq(host_a.nsent, 1);
    back = parse(host_a.sent[0], strlen(host_a.sent[0]));
    text = xb_stanza_child_text(back, NULL, "body");
    if (rawlen == 0) {
        ck_assert_ptr_null(text);
    } else {
        ck_assert_ptr_nonnull(text);
        xb_stanza_text(xb_stanza_child(back, NULL, "body"), &len);
        ck_assert_uint_eq(len, rawlen);
        ck_assert_msg(memcmp(text, raw, rawlen) == 0, "body differs");
    }
    xb_stanza_free(back);
}

START_TEST(test_bot_echo_tricky_body)
{
    static const char raw[] = "< & ' \" ]]> >\t\r\n \xF0\x9F\x98\x80 \xC3\xA9"
                              " \xE2\x82\xAC \xF4\x8F\xBF\xBD";
    static const char esc[] = "&lt; &amp; &apos; &quot; ]]&gt; >\t&#13;\n "
                              "\xF0\x9F\x98\x80 &#xE9; \xE2\x82\xAC "
                              "&#x10FFFD;";

    assert_body_roundtrip(esc, raw, sizeof raw - 1);
    ck_assert_str_eq(host_a.sent[0],
                     "<message to='" ALICE "' type='chat' id='big'><body>"
                     "&lt; &amp; ' \" ]]&gt; &gt;\t&#13;\n \xF0\x9F\x98\x80 "
                     "\xC3\xA9 \xE2\x82\xAC \xF4\x8F\xBF\xBD</body>" MARK
                     "</message>");
}
END_TEST

START_TEST(test_bot_echo_large_body)
{
    static const char pattern[] = "a<b&c'd\"e]]>f \xF0\x9F\x98\x80 ";
    static const char pattern_esc[] = "a&lt;b&amp;c'd\"e]]&gt;f "
                                      "\xF0\x9F\x98\x80 ";
    size_t size = 512 * 1024, plen = sizeof pattern - 1, n = size / plen, i;
    char *raw = malloc(n * plen + 1);
    struct xb_buf esc;

    ck_assert_ptr_nonnull(raw);
    xb_buf_init(&esc);
    for (i = 0; i < n; i++) {
        memcpy(raw + i * plen, pattern, plen);
        ck_assert_int_eq(xb_buf_puts(&esc, pattern_esc), 0);
    }
    raw[n * plen] = '\0';
    assert_body_roundtrip(esc.data, raw, n * plen);
    ck_assert_uint_ge(n * plen, 500 * 1024);
    xb_buf_free(&esc);
    free(raw);
}
END_TEST

START_TEST(test_bot_echo_stats)
{
    deliver("<message xmlns='jabber:client' from='" ALICE
            "' type='chat' id='1'><body>a</body></message>");
    deliver("<message xmlns='jabber:client' from='" ALICE
            "' type='groupchat' id='2'><body>a</body></message>");
    deliver("<message xmlns='jabber:client' from='" ALICE
            "' id='3'><body>a</body></message>");
    deliver("<presence xmlns='jabber:client' from='" ALICE "'/>");
    deliver("<message xmlns='jabber:client' from='" ALICE
            "' type='chat' id='1'><body>a</body></message>");
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 5);
    ck_assert_uint_eq(fh_counter(bot, "echoed"), 2);
    ck_assert_uint_eq(fh_counter(bot, "ignored"), 2);
    ck_assert_uint_eq(fh_counter(bot, "iq_requests"), 0);
}
END_TEST

START_TEST(test_bot_echo_new_rejects)
{
    struct fakehost f;

    memset(&f, 0, sizeof f);
    ck_assert_ptr_null(fh_new(&f, echo_cfg, "not a jid@", 1, 0));
    ck_assert_ptr_null(fh_new(&f, echo_cfg, "", 1, 0));
    ck_assert_ptr_null(fh_new(&f, echo_cfg, NULL, 1, 0));
    ck_assert_ptr_null(xb_bot_new(NULL, ECHO_JID, &fh_host, &f, 1, 0));
    ck_assert_int_eq(f.nlogs, 3); /* each refusal says why */
    xb_bot_free(NULL);
}
END_TEST

START_TEST(test_bot_echo_bad_bound_jid_keeps_account)
{
    xb_bot_online(bot, "someone@else.example/x");
    ck_assert_int_eq(host_a.nlogs, 1);
    /* Still the same account: its own messages are still ignored. */
    assert_ignored("<message xmlns='jabber:client' from='" ECHO_FULL
                   "' type='chat' id='o'><body>x</body></message>");
}
END_TEST

static Suite *bot_echo_suite(void)
{
    Suite *s = suite_create("bot_echo");
    TCase *tc = tcase_create("answers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_echo_chat);
    tcase_add_test(tc, test_bot_echo_normal);
    tcase_add_test(tc, test_bot_echo_missing_type_is_normal);
    tcase_add_test(tc, test_bot_echo_missing_id);
    tcase_add_test(tc, test_bot_echo_thread_and_lang);
    tcase_add_test(tc, test_bot_echo_every_body);
    tcase_add_test(tc, test_bot_echo_empty_body);
    tcase_add_test(tc, test_bot_echo_no_namespace);
    tcase_add_test(tc, test_bot_echo_tricky_body);
    tcase_add_test(tc, test_bot_echo_large_body);
    tcase_add_test(tc, test_bot_echo_stats);
    suite_add_tcase(s, tc);

    tc = tcase_create("ignores");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_echo_ignores_types);
    tcase_add_test(tc, test_bot_echo_ignores_without_body);
    tcase_add_test(tc, test_bot_echo_ignores_bad_sender);
    tcase_add_test(tc, test_bot_echo_ignores_own_jid);
    tcase_add_test(tc, test_bot_echo_ignores_marker);
    tcase_add_test(tc, test_bot_echo_ignores_presence);
    tcase_add_test(tc, test_bot_echo_silent_when_not_online);
    tcase_add_test(tc, test_bot_echo_not_counted_when_send_fails);
    tcase_add_test(tc, test_bot_echo_new_rejects);
    tcase_add_test(tc, test_bot_echo_bad_bound_jid_keeps_account);
    suite_add_tcase(s, tc);

    tc = tcase_create("loops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_echo_id_ring);
    tcase_add_test(tc, test_bot_echo_ring_needs_id);
    tcase_add_test(tc, test_bot_echo_two_bots_do_not_loop);
    tcase_add_test(tc, test_bot_echo_foreign_bot_keeping_ids);
    tcase_add_test(tc, test_bot_echo_reentrant_host);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(bot_echo_suite());
}
