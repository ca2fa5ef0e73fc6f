/*
 * Tests for the web presence gateway's model (core/webpresence.c): the
 * registration state machine over XEP-0077 IQs, tokens and their index,
 * presence aggregation, the page renderers with hostile input, and the
 * persistence hooks failing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "stanza.h"
#include "utf8.h"
#include "webpresence.h"
#include "xmpp.h"
#include "testutil.h"

#define BASE "https://example.org/p/"
#define ALICE "alice@example.org"
#define BOB "bob@example.org"

/* --- a fake store, a changed hook and a random source ------------------- */

#define STORE_MAX 2048

struct rec {
    char *jid, *token;
    int status, jid_shown;
};

static struct fake_store {
    struct rec r[STORE_MAX];
    unsigned n;
    int fail_put, fail_del, fail_load_after; /* -1: never */
    unsigned puts, dels;
} store;

static int store_find(const char *jid)
{
    unsigned i;

    for (i = 0; i < store.n; i++)
        if (!strcmp(store.r[i].jid, jid))
            return (int)i;
    return -1;
}

static int fs_put(void *ud, const struct xb_webpresence_record *r)
{
    int i = store_find(r->jid);

    (void)ud;
    store.puts++;
    if (store.fail_put)
        return XB_EINVAL;
    if (i < 0) {
        ck_assert_uint_lt(store.n, STORE_MAX);
        i = (int)store.n++;
        store.r[i].jid = strdup(r->jid);
    } else {
        free(store.r[i].token);
    }
    store.r[i].token = strdup(r->token);
    store.r[i].status = r->show_status_msg;
    store.r[i].jid_shown = r->show_full_jid;
    return 0;
}

static int fs_del(void *ud, const char *jid)
{
    int i = store_find(jid);

    (void)ud;
    store.dels++;
    if (store.fail_del)
        return XB_EINVAL;
    if (i >= 0) {
        free(store.r[i].jid);
        free(store.r[i].token);
        store.r[i] = store.r[--store.n];
    }
    return 0;
}

static int fs_load(void *ud,
                   int (*add)(void *ctx, const struct xb_webpresence_record *r),
                   void *ctx)
{
    struct xb_webpresence_record rec;
    unsigned i;
    int rc;

    (void)ud;
    for (i = 0; i < store.n; i++) {
        if (store.fail_load_after >= 0 && i == (unsigned)store.fail_load_after)
            return XB_EINVAL;
        rec.jid = store.r[i].jid;
        rec.token = store.r[i].token;
        rec.show_status_msg = store.r[i].status;
        rec.show_full_jid = store.r[i].jid_shown;
        if ((rc = add(ctx, &rec)))
            return rc;
    }
    return 0;
}

static void store_add(const char *jid, const char *token, int status,
                      int jid_shown)
{
    store.r[store.n].jid = strdup(jid);
    store.r[store.n].token = strdup(token);
    store.r[store.n].status = status;
    store.r[store.n].jid_shown = jid_shown;
    store.n++;
}

static void store_clear(void)
{
    unsigned i;

    for (i = 0; i < store.n; i++) {
        free(store.r[i].jid);
        free(store.r[i].token);
    }
    memset(&store, 0, sizeof store);
    store.fail_load_after = -1;
}

static const struct xb_webpresence_store fake_store = {fs_load, fs_put, fs_del};

static unsigned nchanged;
static char last_changed[64];

static void on_changed(void *ud, const char *token)
{
    (void)ud;
    nchanged++;
    snprintf(last_changed, sizeof last_changed, "%s", token);
}

/* random: 0 real (RAND_bytes), 1 fails, 2 always the same bytes, 3 a
 * counter (distinct), 4 the bytes of fixed_bytes */
static int random_mode;
static unsigned random_counter;
static unsigned char fixed_bytes[XB_WEBPRESENCE_TOKEN_BYTES];

static int fake_random(void *ud, unsigned char *buf, size_t n)
{
    (void)ud;
    switch (random_mode) {
    case 1:
        return XB_EINVAL;
    case 2:
        memset(buf, 0x42, n);
        return 0;
    case 3:
        memset(buf, 0, n);
        memcpy(buf, &random_counter, sizeof random_counter);
        random_counter++;
        return 0;
    case 4:
        memcpy(buf, fixed_bytes,
               n < sizeof fixed_bytes ? n : sizeof fixed_bytes);
        return 0;
    default:
        return 0;
    }
}

/* --- fixture ------------------------------------------------------------- */

static struct xb_webpresence *wp;
static struct xb_webpresence_config cfg;
static struct xb_webpresence_out out;
static char *sent[XB_WEBPRESENCE_OUT_MAX];
static unsigned nsent;

static void clear_sent(void)
{
    unsigned i;

    for (i = 0; i < nsent; i++)
        free(sent[i]);
    nsent = 0;
}

static void make_wp(void)
{
    xb_webpresence_free(wp);
    wp = xb_webpresence_new(&cfg);
    ck_assert_ptr_nonnull(wp);
}

static void setup(void)
{
    store_clear();
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = BASE;
    cfg.store = &fake_store;
    cfg.changed = on_changed;
    nchanged = 0;
    last_changed[0] = '\0';
    random_mode = 0;
    random_counter = 0;
    wp = NULL;
    make_wp();
    nsent = 0;
    memset(&out, 0, sizeof out);
}

static void teardown(void)
{
    xb_webpresence_out_free(&out);
    clear_sent();
    xb_webpresence_free(wp);
    wp = NULL;
    store_clear();
}

/* Moves what out holds into sent[] as XML (as on a client stream). */
static void take_out(void)
{
    unsigned i;

    clear_sent();
    for (i = 0; i < out.n; i++) {
        sent[i] = tu_serialize(out.st[i], XB_NS_CLIENT);
        xb_stanza_free(out.st[i]);
    }
    nsent = out.n;
    out.n = 0;
}

/* Hands xml to xb_webpresence_iq: its result; sent[] gets the output. */
static int iq(const char *xml)
{
    struct xb_stanza *st = tu_element(xml);
    int rc = xb_webpresence_iq(wp, st, &out);

    xb_stanza_free(st);
    take_out();
    return rc;
}

static int presence(const char *xml)
{
    struct xb_stanza *st = tu_element(xml);
    int rc = xb_webpresence_presence(wp, st, &out);

    xb_stanza_free(st);
    take_out();
    return rc;
}

#define IQ_SET(from, payload)                                                  \
    "<iq xmlns='jabber:client' type='set' id='s1' from='" from "'>"            \
    "<query xmlns='jabber:iq:register'>" payload "</query></iq>"

#define SUBMIT(status, jid)                                                    \
    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' "           \
    "type='hidden'><value>jabber:iq:register</value></field>"                  \
    "<field var='show_status_msg'><value>" status "</value></field>"           \
    "<field var='show_full_jid'><value>" jid "</value></field></x>"

/* Registers jid with both options; returns its token (static buffer). */
static const char *reg(const char *jid, int status, int jid_shown)
{
    static char token[XB_WEBPRESENCE_TOKEN_LEN + 1];
    struct xb_webpresence_record r;
    char xml[1024];

    snprintf(
        xml, sizeof xml,
        "<iq xmlns='jabber:client' type='set' id='s1' from='%s/res'>"
        "<query xmlns='jabber:iq:register'>" SUBMIT("%d", "%d") "</query></iq>",
        jid, status, jid_shown);
    ck_assert_int_eq(iq(xml), 1);
    ck_assert_msg(strstr(sent[0], "type='result'"), "%s", sent[0]);
    ck_assert_int_eq(xb_webpresence_find(wp, jid, &r), 0);
    snprintf(token, sizeof token, "%s", r.token);
    return token;
}

static int token_ok(const char *t)
{
    size_t i;

    if (strlen(t) != XB_WEBPRESENCE_TOKEN_LEN)
        return 0;
    for (i = 0; t[i]; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789-_",
                    t[i]))
            return 0;
    return 1;
}

/* The view of token, which must exist. */
static struct xb_webpresence_view view_of(const char *token)
{
    struct xb_webpresence_view v;

    ck_assert_int_eq(xb_webpresence_view(wp, token, strlen(token), &v), 0);
    return v;
}

/* --- registration -------------------------------------------------------- */

#define FORM_FIELDS(s, j)                                                      \
    "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value>"   \
    "</field><field type='boolean' var='show_status_msg' label='Show my "      \
    "status message on the page'><value>" s "</value></field><field "          \
    "type='boolean' var='show_full_jid' label='Show my address (JID) on the "  \
    "page'><value>" j "</value></field>"

#define NEW_TEXT                                                               \
    "Register to get a web page that shows your presence. Choose what it "     \
    "shows and submit; the gateway will then ask to see your presence."

START_TEST(test_webpresence_get_unregistered)
{
    ck_assert_int_eq(iq("<iq type='get' id='g1' from='" ALICE "/phone'>"
                        "<query xmlns='jabber:iq:register'/></iq>"),
                     1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_str_eq(
        sent[0], "<iq type='result' to='" ALICE "/phone' id='g1'><query "
                 "xmlns='jabber:iq:register'><instructions>" NEW_TEXT
                 "</instructions><x xmlns='jabber:x:data' type='form'>"
                 "<title>Web presence</title><instructions>" NEW_TEXT
                 "</instructions>" FORM_FIELDS("0", "0") "</x></query></iq>");
    ck_assert_uint_eq(xb_webpresence_count(wp), 0);
    ck_assert_uint_eq(store.puts, 0);
}
END_TEST

START_TEST(test_webpresence_register_new)
{
    struct xb_webpresence_record r;
    char expect[256];

    ck_assert_int_eq(iq(IQ_SET(ALICE "/phone", SUBMIT("1", "false"))), 1);
    ck_assert_uint_eq(nsent, 3);
    ck_assert_str_eq(sent[0],
                     "<iq type='result' to='" ALICE "/phone' id='s1'/>");
    ck_assert_int_eq(xb_webpresence_find(wp, ALICE, &r), 0);
    ck_assert_msg(token_ok(r.token), "bad token %s", r.token);
    ck_assert_int_eq(r.show_status_msg, 1);
    ck_assert_int_eq(r.show_full_jid, 0);
    snprintf(expect, sizeof expect,
             "<message to='" ALICE "' type='normal'><body>Your web presence "
             "page: " BASE "%s</body></message>",
             r.token);
    ck_assert_str_eq(sent[1], expect);
    ck_assert_str_eq(sent[2], "<presence to='" ALICE "' type='subscribe'/>");
    ck_assert_int_eq(xb_webpresence_sub(wp, ALICE), XB_WEBPRESENCE_SUB_PENDING);
    ck_assert_uint_eq(xb_webpresence_count(wp), 1);
    /* Stored as in memory. */
    ck_assert_uint_eq(store.n, 1);
    ck_assert_str_eq(store.r[0].jid, ALICE);
    ck_assert_str_eq(store.r[0].token, r.token);
    ck_assert_int_eq(store.r[0].status, 1);
    ck_assert_int_eq(store.r[0].jid_shown, 0);
    ck_assert_uint_eq(nchanged, 1);
    ck_assert_str_eq(last_changed, r.token);
}
END_TEST

START_TEST(test_webpresence_get_registered)
{
    const char *token = reg(ALICE, 1, 0);
    char text[512], expect[2048];

    snprintf(text, sizeof text,
             "You are registered. Your web presence page: " BASE "%s (anyone "
             "with this address sees your presence; unregister and register "
             "again for a new one). Change what the page shows and submit, "
             "or unregister.",
             token);
    snprintf(expect, sizeof expect,
             "<iq type='result' to='" ALICE "/laptop' id='g2'><query "
             "xmlns='jabber:iq:register'><registered/><instructions>%s"
             "</instructions><x xmlns='jabber:x:data' type='form'><title>Web "
             "presence</title><instructions>%s</instructions>" FORM_FIELDS(
                 "1", "0") "</x></query></iq>",
             text, text);
    ck_assert_int_eq(iq("<iq type='get' id='g2' from='" ALICE "/laptop'>"
                        "<query xmlns='jabber:iq:register'/></iq>"),
                     1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_str_eq(sent[0], expect);
}
END_TEST

START_TEST(test_webpresence_change)
{
    char token[XB_WEBPRESENCE_TOKEN_LEN + 1];
    struct xb_webpresence_record r;

    snprintf(token, sizeof token, "%s", reg(ALICE, 0, 0));
    /* Still pending: the change asks again. The token stays. */
    ck_assert_int_eq(iq(IQ_SET(ALICE "/x", SUBMIT("0", "1"))), 1);
    ck_assert_uint_eq(nsent, 2);
    ck_assert_str_eq(sent[1], "<presence to='" ALICE "' type='subscribe'/>");
    ck_assert_int_eq(xb_webpresence_find(wp, ALICE, &r), 0);
    ck_assert_str_eq(r.token, token);
    ck_assert_int_eq(r.show_full_jid, 1);
    ck_assert_int_eq(store.r[0].jid_shown, 1);
    ck_assert_uint_eq(store.n, 1);
    /* Subscribed: a change is only answered. */
    ck_assert_int_eq(presence("<presence from='" ALICE "' type='subscribed'/>"),
                     1);
    ck_assert_int_eq(xb_webpresence_sub(wp, ALICE), XB_WEBPRESENCE_SUB_BOTH);
    ck_assert_int_eq(iq(IQ_SET(ALICE "/x", SUBMIT("true", "0"))), 1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_int_eq(xb_webpresence_find(wp, ALICE, &r), 0);
    ck_assert_int_eq(r.show_status_msg, 1);
    ck_assert_int_eq(r.show_full_jid, 0);
    ck_assert_str_eq(r.token, token);
    /* Absent fields mean no. */
    ck_assert_int_eq(
        iq(IQ_SET(ALICE "/x", "<x xmlns='jabber:x:data' type='submit'>"
                              "<field var='FORM_TYPE'><value>jabber:iq:"
                              "register</value></field></x>")),
        1);
    ck_assert_msg(strstr(sent[0], "type='result'"), "%s", sent[0]);
    ck_assert_int_eq(xb_webpresence_find(wp, ALICE, &r), 0);
    ck_assert_int_eq(r.show_status_msg, 0);
    ck_assert_int_eq(r.show_full_jid, 0);
}
END_TEST

START_TEST(test_webpresence_remove)
{
    char token[XB_WEBPRESENCE_TOKEN_LEN + 1];
    struct xb_webpresence_view v;
    struct xb_webpresence_record r;

    snprintf(token, sizeof token, "%s", reg(ALICE, 1, 1));
    reg(BOB, 0, 0);
    ck_assert_int_eq(presence("<presence from='" ALICE
                              "/phone'><show>away</show></presence>"),
                     1);
    nchanged = 0;
    ck_assert_int_eq(iq(IQ_SET(ALICE "/phone", "<remove/>")), 1);
    ck_assert_uint_eq(nsent, 3);
    ck_assert_str_eq(sent[0],
                     "<iq type='result' to='" ALICE "/phone' id='s1'/>");
    ck_assert_str_eq(sent[1], "<presence to='" ALICE "' type='unsubscribe'/>");
    ck_assert_str_eq(sent[2], "<presence to='" ALICE "' type='unsubscribed'/>");
    ck_assert_int_eq(xb_webpresence_find(wp, ALICE, &r), XB_ENOTFOUND);
    ck_assert_int_eq(xb_webpresence_view(wp, token, strlen(token), &v),
                     XB_ENOTFOUND);
    ck_assert_uint_eq(xb_webpresence_count(wp), 1);
    ck_assert_uint_eq(store.n, 1);
    ck_assert_str_eq(store.r[0].jid, BOB);
    ck_assert_uint_eq(nchanged, 1);
    ck_assert_str_eq(last_changed, token);
    /* Presence from the former user is ignored again. */
    ck_assert_int_eq(presence("<presence from='" ALICE "/phone'/>"), 0);
    /* Registering again gives a new address. */
    ck_assert_str_ne(reg(ALICE, 0, 0), token);
}
END_TEST

START_TEST(test_webpresence_remove_unknown)
{
    ck_assert_int_eq(iq(IQ_SET(ALICE "/phone", "<remove/>")), 1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_str_eq(sent[0],
                     "<iq type='error' to='" ALICE "/phone' id='s1'><error "
                     "type='auth'><registration-required xmlns='urn:ietf:"
                     "params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:"
                     "params:xml:ns:xmpp-stanzas' xml:lang='en'>not "
                     "registered</text></error></iq>");
    ck_assert_uint_eq(store.dels, 0);
}
END_TEST

/* Each malformed set: the error, nothing stored, nothing sent besides. */
static void set_refused(const char *xml, const char *cond, const char *text)
{
    char expect[1024];

    ck_assert_int_eq(iq(xml), 1);
    ck_assert_uint_eq(nsent, 1);
    snprintf(expect, sizeof expect,
             "<error type='modify'><%s xmlns='urn:ietf:params:xml:ns:xmpp-"
             "stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' "
             "xml:lang='en'>%s</text></error></iq>",
             cond, text);
    ck_assert_msg(strstr(sent[0], expect), "%s\nwant %s", sent[0], expect);
    ck_assert_uint_eq(xb_webpresence_count(wp), 0);
    ck_assert_uint_eq(store.puts, 0);
    ck_assert_uint_eq(nchanged, 0);
}

START_TEST(test_webpresence_set_malformed)
{
    set_refused(IQ_SET(ALICE "/a", ""), "bad-request",
                "expected a data form or &lt;remove/&gt; alone");
    set_refused(IQ_SET(ALICE "/a", "<remove/>" SUBMIT("1", "1")), "bad-request",
                "expected a data form or &lt;remove/&gt; alone");
    set_refused(IQ_SET(ALICE "/a", "<username>a</username><password>p"
                                   "</password>"),
                "bad-request", "expected a data form or &lt;remove/&gt; alone");
    set_refused(IQ_SET(ALICE "/a", SUBMIT("yes", "0")), "not-acceptable",
                "invalid value: field 'show_status_msg' (a boolean is 0, 1, "
                "false or true)");
    set_refused(IQ_SET(ALICE "/a", "<x xmlns='jabber:x:data' type='submit'>"
                                   "<field var='FORM_TYPE'><value>jabber:iq:"
                                   "register</value></field><field "
                                   "var='admin'><value>1</value></field>"
                                   "</x>"),
                "not-acceptable", "unknown field: field 'admin'");
    set_refused(IQ_SET(ALICE "/a", "<x xmlns='jabber:x:data' type='submit'>"
                                   "<field var='show_full_jid'><value>1"
                                   "</value></field></x>"),
                "bad-request", "wrong FORM_TYPE: no FORM_TYPE");
    set_refused(IQ_SET(ALICE "/a", "<x xmlns='jabber:x:data' type='form'/>"),
                "bad-request", "not a submitted form");
    set_refused(IQ_SET(ALICE "/a", "<x xmlns='jabber:x:data' type='submit'>"
                                   "<field var='FORM_TYPE'><value>jabber:iq:"
                                   "register</value></field><field "
                                   "var='show_full_jid'><value>1</value>"
                                   "</field><field var='show_full_jid'>"
                                   "<value>0</value></field></x>"),
                "bad-request", "duplicate field: field 'show_full_jid'");
    set_refused(
        "<iq type='set' id='s1'><query xmlns='jabber:iq:register'>" SUBMIT(
            "1", "1") "</query></iq>",
        "bad-request", "no valid sender");
}
END_TEST

START_TEST(test_webpresence_huge_value)
{
    struct xb_buf b;

    xb_buf_init(&b);
    ck_assert_int_eq(xb_buf_puts(&b, "<iq type='set' id='s1' from='" ALICE
                                     "/a'><query xmlns='jabber:iq:register'>"
                                     "<x xmlns='jabber:x:data' type='submit'>"
                                     "<field var='FORM_TYPE'><value>jabber:"
                                     "iq:register</value></field><field "
                                     "var='show_full_jid'><value>"),
                     0);
    ck_assert_int_eq(xb_buf_reserve(&b, 10000), 0);
    memset(b.data + b.len, '1', 10000);
    b.len += 10000;
    b.data[b.len] = '\0';
    ck_assert_int_eq(xb_buf_puts(&b, "</value></field></x></query></iq>"), 0);
    set_refused(b.data, "not-acceptable",
                "value too long: field 'show_full_jid'");
    xb_buf_free(&b);
}
END_TEST

START_TEST(test_webpresence_full)
{
    cfg.max_registrations = 2;
    make_wp();
    reg(ALICE, 0, 0);
    reg(BOB, 0, 0);
    ck_assert_int_eq(iq(IQ_SET("carol@example.org/a", SUBMIT("1", "1"))), 1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_ptr_nonnull(strstr(sent[0], "<error type='wait'><resource-"
                                          "constraint "));
    ck_assert_uint_eq(xb_webpresence_count(wp), 2);
    /* Registered users may still change their options. */
    ck_assert_int_eq(iq(IQ_SET(ALICE "/a", SUBMIT("1", "1"))), 1);
    ck_assert_msg(strstr(sent[0], "type='result'"), "%s", sent[0]);
}
END_TEST

START_TEST(test_webpresence_disco)
{
    ck_assert_int_eq(iq("<iq type='get' id='d1' from='" ALICE "/a'><query "
                        "xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
                     1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_str_eq(
        sent[0],
        "<iq type='result' to='" ALICE "/a' id='d1'><query xmlns='http://"
        "jabber.org/protocol/disco#info'><identity category='component' "
        "type='presence' name='web presence'/><feature var='http://jabber.org"
        "/protocol/disco#info'/><feature var='http://jabber.org/protocol/"
        "disco#items'/><feature var='jabber:iq:register'/><feature "
        "var='jabber:x:data'/></query></iq>");
    ck_assert_int_eq(iq("<iq type='get' id='d2' from='" ALICE "/a'><query "
                        "xmlns='http://jabber.org/protocol/disco#info' "
                        "node='x'/></iq>"),
                     1);
    ck_assert_ptr_nonnull(strstr(sent[0], "<error type='cancel'><item-not-"
                                          "found "));
    ck_assert_int_eq(iq("<iq type='get' id='d3' from='" ALICE "/a'><query "
                        "xmlns='http://jabber.org/protocol/disco#items'/>"
                        "</iq>"),
                     1);
    ck_assert_str_eq(sent[0], "<iq type='result' to='" ALICE "/a' id='d3'>"
                              "<query xmlns='http://jabber.org/protocol/"
                              "disco#items'/></iq>");
}
END_TEST

START_TEST(test_webpresence_iq_not_ours)
{
    /* Others' IQs: 0, nothing sent, for the caller's service-unavailable. */
    ck_assert_int_eq(iq("<iq type='get' id='v' from='" ALICE "/a'><query "
                        "xmlns='jabber:iq:version'/></iq>"),
                     0);
    ck_assert_int_eq(iq("<iq type='set' id='v' from='" ALICE "/a'><query "
                        "xmlns='http://jabber.org/protocol/disco#info'/>"
                        "</iq>"),
                     0);
    ck_assert_int_eq(iq("<iq type='result' id='v' from='" ALICE "/a'/>"), 0);
    ck_assert_int_eq(iq("<iq type='error' id='v' from='" ALICE "/a'><query "
                        "xmlns='jabber:iq:register'/></iq>"),
                     0);
    ck_assert_int_eq(iq("<message from='" ALICE "/a'><query "
                        "xmlns='jabber:iq:register'/></message>"),
                     0);
    ck_assert_uint_eq(nsent, 0);
    /* A request without exactly one payload is malformed. */
    ck_assert_int_eq(iq("<iq type='get' id='v' from='" ALICE "/a'/>"), 1);
    ck_assert_ptr_nonnull(strstr(sent[0], "<bad-request "));
    ck_assert_int_eq(iq("<iq type='get' id='v' from='" ALICE "/a'><a/><b/>"
                        "</iq>"),
                     1);
    ck_assert_ptr_nonnull(strstr(sent[0], "<bad-request "));
}
END_TEST

/* --- tokens -------------------------------------------------------------- */

START_TEST(test_webpresence_token_encoding)
{
    struct xb_webpresence_record r;
    size_t i;

    cfg.random = fake_random;
    random_mode = 4;
    for (i = 0; i < sizeof fixed_bytes; i++)
        fixed_bytes[i] = (unsigned char)i;
    make_wp();
    reg(ALICE, 0, 0);
    ck_assert_int_eq(xb_webpresence_find(wp, ALICE, &r), 0);
    ck_assert_str_eq(r.token, "AAECAwQFBgcICQoLDA0ODxAR");
    /* The two URL-safe characters of base64url. */
    for (i = 0; i < sizeof fixed_bytes; i += 3) {
        fixed_bytes[i] = 0xfb;
        fixed_bytes[i + 1] = 0xef;
        fixed_bytes[i + 2] = i ? 0xbe : 0xff;
    }
    reg(BOB, 0, 0);
    ck_assert_int_eq(xb_webpresence_find(wp, BOB, &r), 0);
    ck_assert_str_eq(r.token, "--__--------------------");
}
END_TEST

START_TEST(test_webpresence_token_unique_lookup)
{
    /* 1,000 users from the real CSPRNG: well-formed, distinct tokens,
     * each found by the index (past several table growths). */
    enum { N = 1000 };
    static char tokens[N][XB_WEBPRESENCE_TOKEN_LEN + 1];
    struct xb_webpresence_view v;
    char jid[64];
    unsigned i, j;

    for (i = 0; i < N; i++) {
        snprintf(jid, sizeof jid, "user%u@example.org", i);
        snprintf(tokens[i], sizeof tokens[i], "%s", reg(jid, 0, 1));
        ck_assert_msg(token_ok(tokens[i]), "bad token %s", tokens[i]);
    }
    ck_assert_uint_eq(xb_webpresence_count(wp), N);
    for (i = 0; i < N; i++)
        for (j = i + 1; j < N; j++)
            ck_assert_str_ne(tokens[i], tokens[j]);
    for (i = 0; i < N; i++) {
        snprintf(jid, sizeof jid, "user%u@example.org", i);
        v = view_of(tokens[i]);
        ck_assert_str_eq(v.jid, jid);
    }
    /* Near misses are not found. */
    ck_assert_int_eq(xb_webpresence_view(wp, tokens[0], 23, &v), XB_ENOTFOUND);
    ck_assert_int_eq(xb_webpresence_view(wp, "", 0, &v), XB_ENOTFOUND);
    tokens[0][5] = tokens[0][5] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(xb_webpresence_view(wp, tokens[0], 24, &v), XB_ENOTFOUND);
    ck_assert_int_eq(
        xb_webpresence_view(wp, "../../etc/passwd\0xxxxxxx", 24, &v),
        XB_ENOTFOUND);
}
END_TEST

START_TEST(test_webpresence_token_no_randomness)
{
    cfg.random = fake_random;
    random_mode = 1;
    make_wp();
    ck_assert_int_eq(iq(IQ_SET(ALICE "/a", SUBMIT("1", "1"))), 1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_ptr_nonnull(strstr(sent[0], "<error type='wait'><internal-"
                                          "server-error "));
    ck_assert_uint_eq(xb_webpresence_count(wp), 0);
    ck_assert_uint_eq(store.puts, 0);
}
END_TEST

START_TEST(test_webpresence_token_collision)
{
    /* A generator that repeats itself gives one token, then refuses. */
    cfg.random = fake_random;
    random_mode = 2;
    make_wp();
    reg(ALICE, 0, 0);
    ck_assert_int_eq(iq(IQ_SET(BOB "/a", SUBMIT("1", "1"))), 1);
    ck_assert_ptr_nonnull(strstr(sent[0], "<internal-server-error "));
    ck_assert_uint_eq(xb_webpresence_count(wp), 1);
    ck_assert_uint_eq(store.n, 1);
}
END_TEST

/* --- presence ------------------------------------------------------------ */

static const char *token;

static void presence_setup(void)
{
    static char t[XB_WEBPRESENCE_TOKEN_LEN + 1];

    setup();
    snprintf(t, sizeof t, "%s", reg(ALICE, 1, 0));
    token = t;
    nchanged = 0;
}

static enum xb_webpresence_show shown(void)
{
    return view_of(token).show;
}

static const char *status_shown(void)
{
    return view_of(token).status;
}

START_TEST(test_webpresence_presence_aggregate)
{
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_OFFLINE);
    ck_assert_int_eq(presence("<presence from='" ALICE "/a'/>"), 1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_ONLINE);
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/b'><show>away</show></presence>"),
        1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_ONLINE);
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/a' type='unavailable'/>"), 1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_AWAY);
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/c'><show>xa</show></presence>"), 1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_AWAY);
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/d'><show>dnd</show></presence>"),
        1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_DND);
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/c'><show>chat</show></presence>"),
        1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_CHAT);
    ck_assert_uint_eq(nchanged, 6);
    /* Unknown show values are plain available. */
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/c'><show>busy</show></presence>"),
        1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_ONLINE);
    /* An error presence drops the resource; unavailable from the bare JID
     * drops them all. */
    ck_assert_int_eq(presence("<presence from='" ALICE "/c' type='error'/>"),
                     1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_DND);
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/zz' type='unavailable'/>"), 0);
    ck_assert_int_eq(
        presence("<presence from='" ALICE "' type='unavailable'/>"), 1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_OFFLINE);
}
END_TEST

START_TEST(test_webpresence_presence_ties)
{
    /* Same show: the higher priority, then the most recent. */
    ck_assert_int_eq(presence("<presence from='" ALICE "/a'><priority>5"
                              "</priority><status>A</status></presence>"),
                     1);
    ck_assert_int_eq(presence("<presence from='" ALICE "/b'><priority>1"
                              "</priority><status>B</status></presence>"),
                     1);
    ck_assert_str_eq(status_shown(), "A");
    ck_assert_int_eq(presence("<presence from='" ALICE "/c'><priority>5"
                              "</priority><status>C</status></presence>"),
                     1);
    ck_assert_str_eq(status_shown(), "C");
    ck_assert_int_eq(presence("<presence from='" ALICE "/a'><priority>5"
                              "</priority><status>A2</status></presence>"),
                     1);
    ck_assert_str_eq(status_shown(), "A2");
    /* Show beats priority: away at 127 loses to online at -128. */
    ck_assert_int_eq(presence("<presence from='" ALICE "/a' type='unavailable'"
                              "/>"),
                     1);
    ck_assert_int_eq(presence("<presence from='" ALICE "/c' type='unavailable'"
                              "/>"),
                     1);
    ck_assert_int_eq(presence("<presence from='" ALICE "/b'><show>away</show>"
                              "<priority>127</priority></presence>"),
                     1);
    ck_assert_int_eq(presence("<presence from='" ALICE "/n'><priority>-128"
                              "</priority><status>N</status></presence>"),
                     1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_ONLINE);
    ck_assert_str_eq(status_shown(), "N");
    /* Out-of-range and malformed priorities count as 0. */
    ck_assert_int_eq(presence("<presence from='" ALICE "/p'><priority>200"
                              "</priority><status>P</status></presence>"),
                     1);
    ck_assert_str_eq(status_shown(), "P"); /* 0 > -128 */
    ck_assert_int_eq(presence("<presence from='" ALICE "/q'><priority>x"
                              "</priority><status>Q</status></presence>"),
                     1);
    ck_assert_str_eq(status_shown(), "Q"); /* 0, more recent */
    ck_assert_int_eq(presence("<presence from='" ALICE "/p'><priority>1"
                              "</priority><status>P2</status></presence>"),
                     1);
    ck_assert_str_eq(status_shown(), "P2");
}
END_TEST

START_TEST(test_webpresence_presence_status)
{
    /* The first <status/> without xml:lang, else the first. */
    ck_assert_int_eq(presence("<presence from='" ALICE
                              "/a'><status xml:lang='de'>Weg"
                              "</status><status>Gone</status></presence>"),
                     1);
    ck_assert_str_eq(status_shown(), "Gone");
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/a'><status xml:lang='de'>Weg"
                 "</status><status xml:lang='fr'>Parti</status></presence>"),
        1);
    ck_assert_str_eq(status_shown(), "Weg");
    /* No status, or an empty one: none. */
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/a'><status/></presence>"), 1);
    ck_assert_ptr_null(status_shown());
    /* Not chosen: never shown. */
    ck_assert_int_eq(iq(IQ_SET(ALICE "/a", SUBMIT("0", "0"))), 1);
    ck_assert_int_eq(
        presence("<presence from='" ALICE "/a'><status>s</status></presence>"),
        1);
    ck_assert_ptr_null(status_shown());
    ck_assert_ptr_null(view_of(token).jid);
}
END_TEST

START_TEST(test_webpresence_presence_long_status)
{
    /* 10 kB of 4-byte characters after one ASCII byte: kept up to 1024
     * bytes, cut on a character boundary. */
    struct xb_buf b;
    struct xb_webpresence_view v;
    unsigned i;

    xb_buf_init(&b);
    ck_assert_int_eq(xb_buf_puts(&b, "<presence from='" ALICE "/a'><status>a"),
                     0);
    for (i = 0; i < 2560; i++)
        ck_assert_int_eq(xb_buf_puts(&b, "\xF0\x9F\x98\x80"), 0);
    ck_assert_int_eq(xb_buf_puts(&b, "</status></presence>"), 0);
    ck_assert_int_eq(presence(b.data), 1);
    v = view_of(token);
    ck_assert_uint_eq(v.status_len, 1 + 255 * 4);
    ck_assert_uint_eq(strlen(v.status), v.status_len);
    ck_assert(xb_utf8_valid(v.status, v.status_len));
    xb_buf_free(&b);
}
END_TEST

START_TEST(test_webpresence_presence_max_resources)
{
    char xml[256];
    unsigned i;

    /* 17 resources: the least recently updated (r0 after r1's update... )
     * is dropped. r0 is the only chat one: once it goes, chat goes. */
    ck_assert_int_eq(presence("<presence from='" ALICE "/r0'><show>chat"
                              "</show></presence>"),
                     1);
    for (i = 1; i < 16; i++) {
        snprintf(xml, sizeof xml,
                 "<presence from='" ALICE "/r%u'><show>away</show>"
                 "</presence>",
                 i);
        ck_assert_int_eq(presence(xml), 1);
    }
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_CHAT);
    ck_assert_int_eq(presence("<presence from='" ALICE "/r16'><show>xa</show>"
                              "</presence>"),
                     1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_AWAY);
}
END_TEST

START_TEST(test_webpresence_presence_subscription)
{
    ck_assert_int_eq(xb_webpresence_sub(wp, ALICE), XB_WEBPRESENCE_SUB_PENDING);
    ck_assert_int_eq(presence("<presence from='" ALICE "' type='subscribed'/>"),
                     1);
    ck_assert_int_eq(xb_webpresence_sub(wp, ALICE), XB_WEBPRESENCE_SUB_BOTH);
    ck_assert_int_eq(presence("<presence from='" ALICE "/a'><show>dnd</show>"
                              "</presence>"),
                     1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_DND);
    /* The user asks for ours: approved, and told we are here. */
    ck_assert_int_eq(presence("<presence from='" ALICE "' type='subscribe'/>"),
                     1);
    ck_assert_uint_eq(nsent, 2);
    ck_assert_str_eq(sent[0], "<presence to='" ALICE "' type='subscribed'/>");
    ck_assert_str_eq(sent[1], "<presence to='" ALICE "'/>");
    ck_assert_int_eq(presence("<presence from='" ALICE "/a' type='probe'/>"),
                     1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_str_eq(sent[0], "<presence to='" ALICE "'/>");
    /* Revoked: presence forgotten, the registration kept. */
    ck_assert_int_eq(
        presence("<presence from='" ALICE "' type='unsubscribed'/>"), 1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_OFFLINE);
    ck_assert_int_eq(xb_webpresence_sub(wp, ALICE), XB_WEBPRESENCE_SUB_NONE);
    ck_assert_uint_eq(xb_webpresence_count(wp), 1);
    /* Registering again asks again. */
    ck_assert_int_eq(iq(IQ_SET(ALICE "/a", SUBMIT("1", "0"))), 1);
    ck_assert_uint_eq(nsent, 2);
    ck_assert_str_eq(sent[1], "<presence to='" ALICE "' type='subscribe'/>");
    ck_assert_int_eq(xb_webpresence_sub(wp, ALICE), XB_WEBPRESENCE_SUB_PENDING);
    ck_assert_int_eq(presence("<presence from='" ALICE "/a'/>"), 1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_ONLINE);
    ck_assert_int_eq(
        presence("<presence from='" ALICE "' type='unsubscribe'/>"), 1);
    ck_assert_int_eq(shown(), XB_WEBPRESENCE_OFFLINE);
    ck_assert_int_eq(xb_webpresence_sub(wp, ALICE), XB_WEBPRESENCE_SUB_NONE);
}
END_TEST

START_TEST(test_webpresence_presence_strangers)
{
    /* Nothing is kept for JIDs that are not registered. */
    ck_assert_int_eq(presence("<presence from='" BOB "/a'><status>hi</status>"
                              "</presence>"),
                     0);
    ck_assert_int_eq(presence("<presence from='" BOB "' type='subscribed'/>"),
                     0);
    ck_assert_uint_eq(nsent, 0);
    ck_assert_int_eq(presence("<presence from='" BOB "/x' type='subscribe'/>"),
                     1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_str_eq(sent[0], "<presence to='" BOB "' type='unsubscribed'/>");
    ck_assert_int_eq(presence("<presence from='not a jid@@'/>"), 0);
    ck_assert_int_eq(presence("<presence/>"), 0);
    ck_assert_int_eq(presence("<presence from='" ALICE "/a' type='bogus'/>"),
                     0);
    ck_assert_uint_eq(xb_webpresence_count(wp), 1);
    ck_assert_uint_eq(nchanged, 0);
}
END_TEST

START_TEST(test_webpresence_probe_each)
{
    struct xb_stanza *p = xb_webpresence_probe(ALICE);
    char *xml = tu_serialize(p, XB_NS_CLIENT);

    ck_assert_str_eq(xml, "<presence to='" ALICE "' type='probe'/>");
    free(xml);
    xb_stanza_free(p);
}
END_TEST

static int count_each(void *ud, const struct xb_webpresence_record *r)
{
    unsigned *n = ud;

    ck_assert(token_ok(r->token));
    return ++*n == 3 ? 7 : 0;
}

START_TEST(test_webpresence_each)
{
    unsigned n = 0;
    char jid[64];
    int i;

    ck_assert_int_eq(xb_webpresence_each(wp, count_each, &n), 0);
    ck_assert_uint_eq(n, 1); /* alice, from the fixture */
    n = 0;
    for (i = 0; i < 5; i++) {
        snprintf(jid, sizeof jid, "u%d@example.org", i);
        reg(jid, 0, 0);
    }
    ck_assert_int_eq(xb_webpresence_each(wp, count_each, &n), 7);
    ck_assert_uint_eq(n, 3);
}
END_TEST

/* --- rendering ----------------------------------------------------------- */

#define HOSTILE "<script>alert(\"x\")</script> & 'q' \xF0\x9F\x98\x80"
#define HOSTILE_HTML                                                           \
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; "     \
    "\xF0\x9F\x98\x80"

static struct xb_buf page;

static void render_setup(void)
{
    xb_buf_init(&page);
}

static void render_teardown(void)
{
    xb_buf_free(&page);
}

START_TEST(test_webpresence_html_exact)
{
    struct xb_webpresence_view v = {XB_WEBPRESENCE_AWAY, HOSTILE,
                                    strlen(HOSTILE), "a'b\"<c>@example.org",
                                    30};

    ck_assert_int_eq(xb_webpresence_html(&page, &v), 0);
    ck_assert_str_eq(
        page.data,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
        "charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n"
        "<meta http-equiv=\"refresh\" content=\"30\">\n"
        "<title>Web presence: away</title>\n<style>\n"
        "body{font:1rem/1.4 system-ui,sans-serif;margin:.5rem;color:#222;"
        "background:#fff}\n.dot{display:inline-block;width:.8em;height:.8em;"
        "border-radius:50%;margin-right:.4em}\n.chat,.online{background:"
        "#1a7f37}.dnd{background:#c62828}.away{background:#b26a00}.xa{"
        "background:#8d5a00}.offline{background:#757575}\n.status{white-space:"
        "pre-wrap;overflow-wrap:anywhere;margin:.3rem 0 0}\n</style>\n</head>\n"
        "<body>\n<main>\n<p class=\"presence\" role=\"status\" "
        "aria-live=\"polite\"><span class=\"dot away\" aria-hidden=\"true\">"
        "</span><bdi class=\"jid\">a&#39;b&quot;&lt;c&gt;@example.org</bdi> "
        "is <strong class=\"show\" data-show=\"away\">away</strong></p>\n"
        "<p class=\"status\"><bdi>" HOSTILE_HTML "</bdi></p>\n</main>\n"
        "</body>\n</html>\n");
}
END_TEST

START_TEST(test_webpresence_html_private)
{
    struct xb_webpresence_view v = {XB_WEBPRESENCE_CHAT, NULL, 0, NULL, 0};

    ck_assert_int_eq(xb_buf_puts(&page, "HTTP/1.1 200 OK\r\n\r\n"), 0);
    ck_assert_int_eq(xb_webpresence_html(&page, &v), 0);
    ck_assert_int_eq(strncmp(page.data, "HTTP/1.1 200 OK\r\n\r\n<!DOCTYPE", 28),
                     0); /* appended */
    ck_assert_ptr_null(strstr(page.data, "refresh"));
    ck_assert_ptr_null(strstr(page.data, "class=\"jid\""));
    ck_assert_ptr_null(strstr(page.data, "class=\"status\""));
    ck_assert_ptr_nonnull(strstr(page.data, "Presence: <strong class=\"show\" "
                                            "data-show=\"chat\">free for chat"
                                            "</strong>"));
}
END_TEST

START_TEST(test_webpresence_html_long_status)
{
    /* 10 kB of hostile text (a store that keeps it all): every byte
     * escaped, none lost, nothing live. */
    struct xb_buf s;
    struct xb_webpresence_view v = {XB_WEBPRESENCE_ONLINE, NULL, 0, NULL, 0};
    const char *p;
    unsigned i, n = 0;

    xb_buf_init(&s);
    for (i = 0; s.len < 10000; i++)
        ck_assert_int_eq(xb_buf_puts(&s, HOSTILE), 0);
    v.status = s.data;
    v.status_len = s.len;
    ck_assert_int_eq(xb_webpresence_html(&page, &v), 0);
    ck_assert_ptr_null(strstr(page.data, "<script"));
    for (p = page.data; (p = strstr(p, HOSTILE_HTML)); p++)
        n++;
    ck_assert_uint_eq(n, i);
    ck_assert(xb_utf8_valid(page.data, page.len));
    xb_buf_free(&s);
}
END_TEST

START_TEST(test_webpresence_html_bad_bytes)
{
    /* Bytes that are not UTF-8 or not XML characters never pass. */
    struct xb_webpresence_view v = {XB_WEBPRESENCE_ONLINE,
                                    "a\xFF\x01"
                                    "b\xF0\x9F",
                                    6, NULL, 0};

    ck_assert_int_eq(xb_webpresence_html(&page, &v), 0);
    ck_assert_ptr_nonnull(strstr(page.data, "<bdi>a\xEF\xBF\xBD\xEF\xBF\xBD"
                                            "b\xEF\xBF\xBD\xEF\xBF\xBD</bdi>"));
}
END_TEST

START_TEST(test_webpresence_json_exact)
{
    struct xb_webpresence_view v = {XB_WEBPRESENCE_DND,
                                    HOSTILE "\\\n\t\r\xE2\x80\xA8\xE2\x80\xA9",
                                    strlen(HOSTILE) + 10, ALICE, 0};

    ck_assert_int_eq(xb_webpresence_json(&page, &v), 0);
    ck_assert_str_eq(page.data,
                     "{\"show\":\"dnd\",\"label\":\"do not disturb\","
                     "\"status\":\"\\u003cscript\\u003ealert(\\\"x\\\")"
                     "\\u003c/script\\u003e \\u0026 \\u0027q\\u0027 "
                     "\xF0\x9F\x98\x80\\\\\\n\\t\\r\\u2028\\u2029\","
                     "\"jid\":\"" ALICE "\"}\n");
    xb_buf_reset(&page);
    v.status = NULL;
    v.jid = NULL;
    v.show = XB_WEBPRESENCE_OFFLINE;
    ck_assert_int_eq(xb_webpresence_json(&page, &v), 0);
    ck_assert_str_eq(page.data,
                     "{\"show\":\"offline\",\"label\":\"offline\"}\n");
}
END_TEST

START_TEST(test_webpresence_svg_exact)
{
    struct xb_webpresence_view v = {XB_WEBPRESENCE_ONLINE, NULL, 0, NULL, 0};

    ck_assert_int_eq(xb_webpresence_svg(&page, &v), 0);
    /* "presence" 8 chars: 68 px; "online" 6: 54 px. */
    ck_assert_str_eq(
        page.data,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"122\" height=\"20\" "
        "role=\"img\" aria-label=\"presence: online\">\n<title>presence: online"
        "</title>\n<rect width=\"68\" height=\"20\" fill=\"#555\"/>\n"
        "<rect x=\"68\" width=\"54\" height=\"20\" fill=\"#1a7f37\"/>\n"
        "<g fill=\"#fff\" font-family=\"Verdana,DejaVu Sans,sans-serif\" "
        "font-size=\"11\">\n<text x=\"6\" y=\"14\">presence</text>\n"
        "<text x=\"74\" y=\"14\">online</text>\n</g>\n</svg>\n");
}
END_TEST

START_TEST(test_webpresence_svg_hostile)
{
    /* Status cut to 40 characters (a 4-byte one counts once) plus "…",
     * escaped in the label, the title and the text. */
    struct xb_webpresence_view v = {XB_WEBPRESENCE_AWAY, HOSTILE HOSTILE,
                                    2 * strlen(HOSTILE), "x\"y@example.org", 0};
    const char *cut = "away: " HOSTILE_HTML "&lt;scri\xE2\x80\xA6";
    const char *p;
    unsigned n = 0;

    ck_assert_int_eq(strlen(HOSTILE), 38); /* 35 characters */
    ck_assert_int_eq(xb_webpresence_svg(&page, &v), 0);
    ck_assert_ptr_null(strstr(page.data, "<script"));
    for (p = page.data; (p = strstr(p, cut)); p++)
        n++;
    ck_assert_uint_eq(n, 3);
    ck_assert_ptr_nonnull(strstr(page.data, "aria-label=\"x&quot;y@example.org"
                                            ": away: "));
    /* 15 characters, then 4 + 2 + 40 + 1: 15*7+12 + 47*7+12 */
    ck_assert_ptr_nonnull(strstr(page.data, "width=\"458\""));
}
END_TEST

START_TEST(test_webpresence_render_from_model)
{
    /* The view applies the user's choices: end to end. */
    struct xb_webpresence_view v;
    const char *t;

    setup();
    t = reg(ALICE, 1, 1);
    ck_assert_int_eq(presence("<presence from='" ALICE "/a'><show>xa</show>"
                              "<status>&lt;b&gt;bye&lt;/b&gt;</status>"
                              "</presence>"),
                     1);
    v = view_of(t);
    ck_assert_int_eq(xb_webpresence_json(&page, &v), 0);
    ck_assert_str_eq(page.data, "{\"show\":\"xa\",\"label\":\"extended away\","
                                "\"status\":\"\\u003cb\\u003ebye\\u003c/b"
                                "\\u003e\",\"jid\":\"" ALICE "\"}\n");
    teardown();
}
END_TEST

START_TEST(test_webpresence_show_names)
{
    ck_assert_str_eq(xb_webpresence_show_name(XB_WEBPRESENCE_XA), "xa");
    ck_assert_str_eq(xb_webpresence_show_label(XB_WEBPRESENCE_XA),
                     "extended away");
    ck_assert_str_eq(xb_webpresence_show_name((enum xb_webpresence_show)6), "");
    ck_assert_str_eq(xb_webpresence_show_label((enum xb_webpresence_show)6),
                     "");
}
END_TEST

/* --- persistence --------------------------------------------------------- */

START_TEST(test_webpresence_store_put_fails)
{
    struct xb_webpresence_record r;

    store.fail_put = 1;
    ck_assert_int_eq(iq(IQ_SET(ALICE "/a", SUBMIT("1", "1"))), 1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_str_eq(sent[0],
                     "<iq type='error' to='" ALICE "/a' id='s1'><error "
                     "type='wait'><internal-server-error xmlns='urn:ietf:"
                     "params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:"
                     "params:xml:ns:xmpp-stanzas' xml:lang='en'>could not "
                     "store the registration</text></error></iq>");
    ck_assert_uint_eq(xb_webpresence_count(wp), 0);
    ck_assert_uint_eq(nchanged, 0);
    /* A change that cannot be stored leaves the old values. */
    store.fail_put = 0;
    reg(ALICE, 0, 0);
    store.fail_put = 1;
    ck_assert_int_eq(iq(IQ_SET(ALICE "/a", SUBMIT("1", "1"))), 1);
    ck_assert_ptr_nonnull(strstr(sent[0], "<internal-server-error "));
    ck_assert_int_eq(xb_webpresence_find(wp, ALICE, &r), 0);
    ck_assert_int_eq(r.show_status_msg, 0);
    ck_assert_int_eq(r.show_full_jid, 0);
    ck_assert_int_eq(store.r[0].status, 0);
}
END_TEST

START_TEST(test_webpresence_store_del_fails)
{
    const char *t = reg(ALICE, 0, 0);
    struct xb_webpresence_view v;

    store.fail_del = 1;
    ck_assert_int_eq(iq(IQ_SET(ALICE "/a", "<remove/>")), 1);
    ck_assert_uint_eq(nsent, 1);
    ck_assert_ptr_nonnull(strstr(sent[0], "<error type='wait'><internal-"
                                          "server-error "));
    ck_assert_uint_eq(xb_webpresence_count(wp), 1);
    ck_assert_int_eq(xb_webpresence_view(wp, t, strlen(t), &v), 0);
    ck_assert_uint_eq(store.n, 1);
}
END_TEST

START_TEST(test_webpresence_store_restart)
{
    char t[XB_WEBPRESENCE_TOKEN_LEN + 1];
    struct xb_webpresence_record r;

    snprintf(t, sizeof t, "%s", reg(ALICE, 1, 0));
    reg(BOB, 0, 1);
    make_wp(); /* a restart: same store, empty memory */
    ck_assert_uint_eq(xb_webpresence_count(wp), 0);
    ck_assert_int_eq(xb_webpresence_load(wp), 0);
    ck_assert_uint_eq(xb_webpresence_count(wp), 2);
    ck_assert_int_eq(xb_webpresence_find(wp, ALICE, &r), 0);
    ck_assert_str_eq(r.token, t);
    ck_assert_int_eq(r.show_status_msg, 1);
    ck_assert_int_eq(view_of(t).show, XB_WEBPRESENCE_OFFLINE);
    ck_assert_int_eq(xb_webpresence_load(wp), XB_ESTATE);
}
END_TEST

START_TEST(test_webpresence_store_load_bad)
{
    static const struct {
        const char *jid, *token;
    } bad[] = {
        {"Alice@example.org", "AAAAAAAAAAAAAAAAAAAAAAAA"}, /* not normalized */
        {ALICE "/res", "AAAAAAAAAAAAAAAAAAAAAAAA"},        /* not bare */
        {"@example.org", "AAAAAAAAAAAAAAAAAAAAAAAA"},      /* not a JID */
        {ALICE, "AAAAAAAAAAAAAAAAAAAAAAA"},                /* short */
        {ALICE, "AAAAAAAAAAAAAAAAAAAAAAA="},               /* not base64url */
        {BOB, "BBBBBBBBBBBBBBBBBBBBBBBB"},                 /* bob twice */
        {"carol@example.org", "BBBBBBBBBBBBBBBBBBBBBBBB"}, /* token twice */
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_clear();
        store_add(BOB, "BBBBBBBBBBBBBBBBBBBBBBBB", 0, 0);
        store_add(bad[i].jid, bad[i].token, 0, 0);
        make_wp();
        ck_assert_msg(xb_webpresence_load(wp) == XB_EINVAL, "case %zu", i);
        ck_assert_uint_eq(xb_webpresence_count(wp), 0);
    }
    /* The hook fails part way: nothing half-loaded. */
    store_clear();
    store_add(BOB, "BBBBBBBBBBBBBBBBBBBBBBBB", 0, 0);
    store_add(ALICE, "AAAAAAAAAAAAAAAAAAAAAAAA", 1, 1);
    store.fail_load_after = 1;
    make_wp();
    ck_assert_int_eq(xb_webpresence_load(wp), XB_EINVAL);
    ck_assert_uint_eq(xb_webpresence_count(wp), 0);
    store.fail_load_after = -1;
    ck_assert_int_eq(xb_webpresence_load(wp), 0);
    ck_assert_uint_eq(xb_webpresence_count(wp), 2);
}
END_TEST

START_TEST(test_webpresence_memory_only)
{
    /* Without a store the model works in memory. */
    cfg.store = NULL;
    make_wp();
    ck_assert_int_eq(xb_webpresence_load(wp), 0);
    reg(ALICE, 0, 0);
    ck_assert_int_eq(iq(IQ_SET(ALICE "/a", "<remove/>")), 1);
    ck_assert_uint_eq(nsent, 3);
    ck_assert_uint_eq(xb_webpresence_count(wp), 0);
    ck_assert_uint_eq(store.puts + store.dels, 0);
}
END_TEST

START_TEST(test_webpresence_new_needs_base)
{
    struct xb_webpresence_config c = {0};

    ck_assert_ptr_null(xb_webpresence_new(&c));
}
END_TEST

static Suite *webpresence_suite(void)
{
    Suite *s = suite_create("webpresence");
    TCase *tc;

    tc = tcase_create("register");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_webpresence_get_unregistered);
    tcase_add_test(tc, test_webpresence_register_new);
    tcase_add_test(tc, test_webpresence_get_registered);
    tcase_add_test(tc, test_webpresence_change);
    tcase_add_test(tc, test_webpresence_remove);
    tcase_add_test(tc, test_webpresence_remove_unknown);
    tcase_add_test(tc, test_webpresence_set_malformed);
    tcase_add_test(tc, test_webpresence_huge_value);
    tcase_add_test(tc, test_webpresence_full);
    tcase_add_test(tc, test_webpresence_disco);
    tcase_add_test(tc, test_webpresence_iq_not_ours);
    suite_add_tcase(s, tc);

    tc = tcase_create("token");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_webpresence_token_encoding);
    tcase_add_test(tc, test_webpresence_token_unique_lookup);
    tcase_add_test(tc, test_webpresence_token_no_randomness);
    tcase_add_test(tc, test_webpresence_token_collision);
    suite_add_tcase(s, tc);

    tc = tcase_create("presence");
    tcase_add_checked_fixture(tc, presence_setup, teardown);
    tcase_add_test(tc, test_webpresence_presence_aggregate);
    tcase_add_test(tc, test_webpresence_presence_ties);
    tcase_add_test(tc, test_webpresence_presence_status);
    tcase_add_test(tc, test_webpresence_presence_long_status);
    tcase_add_test(tc, test_webpresence_presence_max_resources);
    tcase_add_test(tc, test_webpresence_presence_subscription);
    tcase_add_test(tc, test_webpresence_presence_strangers);
    tcase_add_test(tc, test_webpresence_probe_each);
    tcase_add_test(tc, test_webpresence_each);
    suite_add_tcase(s, tc);

    tc = tcase_create("render");
    tcase_add_checked_fixture(tc, render_setup, render_teardown);
    tcase_add_test(tc, test_webpresence_html_exact);
    tcase_add_test(tc, test_webpresence_html_private);
    tcase_add_test(tc, test_webpresence_html_long_status);
    tcase_add_test(tc, test_webpresence_html_bad_bytes);
    tcase_add_test(tc, test_webpresence_json_exact);
    tcase_add_test(tc, test_webpresence_svg_exact);
    tcase_add_test(tc, test_webpresence_svg_hostile);
    tcase_add_test(tc, test_webpresence_render_from_model);
    tcase_add_test(tc, test_webpresence_show_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_webpresence_store_put_fails);
    tcase_add_test(tc, test_webpresence_store_del_fails);
    tcase_add_test(tc, test_webpresence_store_restart);
    tcase_add_test(tc, test_webpresence_store_load_bad);
    tcase_add_test(tc, test_webpresence_memory_only);
    tcase_add_test(tc, test_webpresence_new_needs_base);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(webpresence_suite());
}
