/*
 * Tests for the XMPP protocol constants (core/xmpp.c) and the error
 * messages (core/error.c): every stream error condition has a distinct
 * wire name that maps back to it, and every XB_E* code has its own message.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "stanza.h"
#include "xmpp.h"
#include "testutil.h"

static const int error_codes[] = {XB_OK,   XB_ENOMEM,  XB_EINVAL,
                                  XB_EXML, XB_ELIMIT,  XB_ESTATE,
                                  XB_EJID, XB_ETOOBIG, XB_ENOTFOUND};

#define NERRORS (sizeof error_codes / sizeof error_codes[0])

START_TEST(test_xmpp_cond_none_empty)
{
    ck_assert_ptr_nonnull(xb_cond_name(XB_COND_NONE));
    ck_assert_str_eq(xb_cond_name(XB_COND_NONE), "");
}
END_TEST

/* The server's text may hold line breaks (expat reads a CR as LF; found
 * by the session's fuzz target): the reason stays one line, and is cut
 * to the buffer. */
START_TEST(test_xmpp_stream_error_reason)
{
    char buf[200], small[8];

    xb_stream_error_reason(buf, sizeof buf, XB_COND_CONFLICT, NULL,
                           "Replaced\n by\r\tnew");
    ck_assert_str_eq(buf, "stream error from the server: conflict: "
                          "Replaced  by  new");
    xb_stream_error_reason(buf, sizeof buf, XB_COND_CONFLICT, " (hint)", NULL);
    ck_assert_str_eq(buf, "stream error from the server: conflict (hint)");
    xb_stream_error_reason(small, sizeof small, XB_COND_CONFLICT, NULL,
                           "\n\n\n\n\n\n\n\n");
    ck_assert_str_eq(small, "stream ");
}
END_TEST

START_TEST(test_xmpp_one_line)
{
    char s[] = "a\r\nb\tc\x7f\x01 d \xc3\xa9";

    xb_one_line(s);
    ck_assert_str_eq(s, "a  b c   d \xc3\xa9");
}
END_TEST

START_TEST(test_xmpp_cond_names_nonempty)
{
    int c;

    for (c = XB_COND_NONE + 1; c < XB_COND_COUNT; c++) {
        const char *name = xb_cond_name((enum xb_cond)c);

        ck_assert_ptr_nonnull(name);
        ck_assert_msg(name[0] != '\0', "condition %d has no name", c);
    }
}
END_TEST

START_TEST(test_xmpp_cond_names_distinct)
{
    int a, b;

    for (a = XB_COND_NONE; a < XB_COND_COUNT; a++)
        for (b = a + 1; b < XB_COND_COUNT; b++)
            ck_assert_msg(strcmp(xb_cond_name((enum xb_cond)a),
                                 xb_cond_name((enum xb_cond)b)) != 0,
                          "conditions %d and %d share the name '%s'", a, b,
                          xb_cond_name((enum xb_cond)a));
}
END_TEST

START_TEST(test_xmpp_cond_names_wire)
{
    /* A few spelled out, to catch a table that is shifted by one. */
    ck_assert_str_eq(xb_cond_name(XB_COND_BAD_FORMAT), "bad-format");
    ck_assert_str_eq(xb_cond_name(XB_COND_HOST_UNKNOWN), "host-unknown");
    ck_assert_str_eq(xb_cond_name(XB_COND_NOT_WELL_FORMED), "not-well-formed");
    ck_assert_str_eq(xb_cond_name(XB_COND_POLICY_VIOLATION),
                     "policy-violation");
    ck_assert_str_eq(xb_cond_name(XB_COND_RESTRICTED_XML), "restricted-xml");
    ck_assert_str_eq(xb_cond_name(XB_COND_SEE_OTHER_HOST), "see-other-host");
    ck_assert_str_eq(xb_cond_name(XB_COND_UNDEFINED_CONDITION),
                     "undefined-condition");
    ck_assert_str_eq(xb_cond_name(XB_COND_UNSUPPORTED_VERSION),
                     "unsupported-version");
}
END_TEST

START_TEST(test_xmpp_cond_names_wellformed)
{
    int c;
    const char *p;

    /* Wire names are XML local names: lower-case letters and hyphens. */
    for (c = XB_COND_NONE + 1; c < XB_COND_COUNT; c++)
        for (p = xb_cond_name((enum xb_cond)c); *p; p++)
            ck_assert_msg((*p >= 'a' && *p <= 'z') || *p == '-',
                          "condition %d: bad character in '%s'", c,
                          xb_cond_name((enum xb_cond)c));
}
END_TEST

START_TEST(test_xmpp_cond_round_trip)
{
    int c;

    for (c = XB_COND_NONE + 1; c < XB_COND_COUNT; c++)
        ck_assert_int_eq(xb_cond_from_name(xb_cond_name((enum xb_cond)c)), c);
}
END_TEST

START_TEST(test_xmpp_cond_unknown_name)
{
    ck_assert_int_eq(xb_cond_from_name("no-such-condition"),
                     XB_COND_UNDEFINED_CONDITION);
    ck_assert_int_eq(xb_cond_from_name("Not-Well-Formed"),
                     XB_COND_UNDEFINED_CONDITION);
    ck_assert_int_eq(xb_cond_from_name("not-well-formed "),
                     XB_COND_UNDEFINED_CONDITION);
    ck_assert_int_eq(xb_cond_from_name("not-well"),
                     XB_COND_UNDEFINED_CONDITION);
    ck_assert_int_eq(xb_cond_from_name("text"), XB_COND_UNDEFINED_CONDITION);
    /* The empty name of XB_COND_NONE does not map back to "no error". */
    ck_assert_int_eq(xb_cond_from_name(""), XB_COND_UNDEFINED_CONDITION);
}
END_TEST

START_TEST(test_xmpp_cond_out_of_range)
{
    ck_assert_str_eq(xb_cond_name(XB_COND_COUNT), "");
    ck_assert_str_eq(xb_cond_name((enum xb_cond)(XB_COND_COUNT + 1)), "");
    ck_assert_str_eq(xb_cond_name((enum xb_cond)1000), "");
}
END_TEST

START_TEST(test_xmpp_strerror_nonempty)
{
    size_t i;

    for (i = 0; i < NERRORS; i++) {
        const char *msg = xb_strerror(error_codes[i]);

        ck_assert_ptr_nonnull(msg);
        ck_assert_msg(msg[0] != '\0', "code %d has no message", error_codes[i]);
    }
}
END_TEST

START_TEST(test_xmpp_strerror_distinct)
{
    size_t a, b;

    for (a = 0; a < NERRORS; a++)
        for (b = a + 1; b < NERRORS; b++)
            ck_assert_msg(strcmp(xb_strerror(error_codes[a]),
                                 xb_strerror(error_codes[b])) != 0,
                          "codes %d and %d share the message '%s'",
                          error_codes[a], error_codes[b],
                          xb_strerror(error_codes[a]));
}
END_TEST

START_TEST(test_xmpp_strerror_unknown)
{
    size_t i;
    const char *msg = xb_strerror(-1000);

    /* An unknown code still gets a message, not one of the real ones. */
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(msg[0] != '\0', "unknown code has no message");
    for (i = 0; i < NERRORS; i++)
        ck_assert_str_ne(msg, xb_strerror(error_codes[i]));
    ck_assert_ptr_nonnull(xb_strerror(1));
}
END_TEST

/* xb_xmpp_reply(req, cond, etype) of the element req serializes to want. */
static void check_reply(const char *req, const char *cond, const char *etype,
                        const char *want)
{
    struct xb_stanza *st = tu_element(req), *r = xb_xmpp_reply(st, cond, etype);
    char *xml;

    ck_assert_ptr_nonnull(r);
    xml = tu_serialize(r, "jabber:client");
    ck_assert_str_eq(xml, want);
    free(xml);
    xb_stanza_free(r);
    xb_stanza_free(st);
}

START_TEST(test_xmpp_reply_result)
{
    check_reply("<iq xmlns='jabber:client' type='get' id='p1' to='b@x' "
                "from='a@x/r'><ping xmlns='urn:xmpp:ping'/></iq>",
                NULL, NULL, "<iq type='result' to='a@x/r' id='p1'/>");
}
END_TEST

START_TEST(test_xmpp_reply_error)
{
    check_reply("<iq xmlns='jabber:client' type='set' id='q' from='a@x'>"
                "<query xmlns='urn:x'/></iq>",
                "item-not-found", "cancel",
                "<iq type='error' to='a@x' id='q'><error type='cancel'>"
                "<item-not-found xmlns='" XB_NS_STANZA_ERRORS
                "'/></error></iq>");
    /* A message error keeps the element name; no from, no id: none. */
    check_reply("<message xmlns='jabber:client' to='b@x'><body>hi</body>"
                "</message>",
                "service-unavailable", "cancel",
                "<message type='error'><error type='cancel'>"
                "<service-unavailable xmlns='" XB_NS_STANZA_ERRORS
                "'/></error></message>");
}
END_TEST

/* A presence with the given muc#user x children: is it a self-presence? */
static int self_presence(const char *x)
{
    char xml[512];
    struct xb_stanza *st;
    int r;

    snprintf(xml, sizeof xml,
             "<presence xmlns='jabber:client' from='r@muc/n' to='a@x/r'>%s"
             "</presence>",
             x);
    st = tu_element(xml);
    r = xb_muc_is_self_presence(st);
    xb_stanza_free(st);
    return r;
}

START_TEST(test_xmpp_muc_self_presence)
{
    ck_assert(self_presence("<x xmlns='" XB_NS_MUC_USER "'><item role='none'/>"
                            "<status code='307'/><status code='110'/></x>"));
    ck_assert(!self_presence(""));
    ck_assert(!self_presence("<x xmlns='" XB_NS_MUC_USER "'>"
                             "<status code='100'/></x>"));
    /* 110 in another namespace, or outside the x, is not one. */
    ck_assert(!self_presence("<x xmlns='urn:other'><status code='110'/></x>"));
    ck_assert(!self_presence("<x xmlns='" XB_NS_MUC_USER "'><status "
                             "xmlns='urn:other' code='110'/></x>"));
    ck_assert(!self_presence("<status code='110'/>"));
}
END_TEST

static Suite *xmpp_suite(void)
{
    Suite *s;
    TCase *tc_cond;
    TCase *tc_error;

    s = suite_create("xmpp");

    tc_cond = tcase_create("conditions");
    tcase_add_test(tc_cond, test_xmpp_cond_none_empty);
    tcase_add_test(tc_cond, test_xmpp_stream_error_reason);
    tcase_add_test(tc_cond, test_xmpp_one_line);
    tcase_add_test(tc_cond, test_xmpp_cond_names_nonempty);
    tcase_add_test(tc_cond, test_xmpp_cond_names_distinct);
    tcase_add_test(tc_cond, test_xmpp_cond_names_wire);
    tcase_add_test(tc_cond, test_xmpp_cond_names_wellformed);
    tcase_add_test(tc_cond, test_xmpp_cond_round_trip);
    tcase_add_test(tc_cond, test_xmpp_cond_unknown_name);
    tcase_add_test(tc_cond, test_xmpp_cond_out_of_range);
    suite_add_tcase(s, tc_cond);

    tc_error = tcase_create("errors");
    tcase_add_test(tc_error, test_xmpp_strerror_nonempty);
    tcase_add_test(tc_error, test_xmpp_strerror_distinct);
    tcase_add_test(tc_error, test_xmpp_strerror_unknown);
    tcase_add_test(tc_error, test_xmpp_reply_result);
    tcase_add_test(tc_error, test_xmpp_reply_error);
    tcase_add_test(tc_error, test_xmpp_muc_self_presence);
    suite_add_tcase(s, tc_error);

    return s;
}

int main(void)
{
    return tu_run(xmpp_suite());
}
