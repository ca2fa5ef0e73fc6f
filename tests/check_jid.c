/*
 * Tests for core/jid.c: tables of valid and invalid JIDs (each input copied
 * into a buffer of exactly its length, so reads past it are caught by
 * ASan and valgrind), then comparison, copy and clear.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jid.h"
#include "testutil.h"

/* A literal and its length, which may include NUL bytes. */
#define S(lit) lit, sizeof(lit) - 1

/* Runs of 'a' for the length limits, built at compile time. */
#define A1 "a"
#define A2 A1 A1
#define A4 A2 A2
#define A8 A4 A4
#define A16 A8 A8
#define A32 A16 A16
#define A64 A32 A32
#define A128 A64 A64
#define A256 A128 A128
#define A512 A256 A256
#define A31 A16 A8 A4 A2 A1
#define A63 A32 A31
#define A1023 A512 A256 A128 A64 A32 A16 A8 A4 A2 A1
#define A1024 A512 A512

/* Domains of 31 labels of 31 bytes plus one more: 1023 and 1024 bytes. */
#define L32 A31 "."
#define L32X2 L32 L32
#define L32X4 L32X2 L32X2
#define L32X8 L32X4 L32X4
#define L32X16 L32X8 L32X8
#define L32X31 L32X16 L32X8 L32X4 L32X2 L32
#define DOM1023 L32X31 A31
#define DOM1024 L32X31 A32

struct valid_case {
    const char *in;
    size_t len;
    const char *local; /* NULL when absent */
    const char *domain;
    const char *resource; /* NULL when absent */
    const char *bare;
    const char *full;
};

static const struct valid_case valid_cases[] = {
    {S("example.com"), NULL, "example.com", NULL, "example.com", "example.com"},
    {S("a@b"), "a", "b", NULL, "a@b", "a@b"},
    {S("user@example.com"), "user", "example.com", NULL, "user@example.com",
     "user@example.com"},
    {S("user@example.com/res"), "user", "example.com", "res",
     "user@example.com", "user@example.com/res"},
    {S("example.com/res"), NULL, "example.com", "res", "example.com",
     "example.com/res"},
    /* ASCII in localpart and domain is lowercased; the resource keeps
     * its case. */
    {S("User@EXAMPLE.Com/Res"), "user", "example.com", "Res",
     "user@example.com", "user@example.com/Res"},
    /* One trailing dot is dropped. */
    {S("user@example.com."), "user", "example.com", NULL, "user@example.com",
     "user@example.com"},
    {S("example.com./r"), NULL, "example.com", "r", "example.com",
     "example.com/r"},
    /* Only the first '/' splits; '@' after it belongs to the resource. */
    {S("u@example.com/a@b/c"), "u", "example.com", "a@b/c", "u@example.com",
     "u@example.com/a@b/c"},
    {S("u@example.com//"), "u", "example.com", "/", "u@example.com",
     "u@example.com//"},
    {S("example.com/u@h"), NULL, "example.com", "u@h", "example.com",
     "example.com/u@h"},
    {S("a/b@c"), NULL, "a", "b@c", "a", "a/b@c"},
    /* Resources may hold spaces, symbols and any valid code point. */
    {S("u@x/my phone"), "u", "x", "my phone", "u@x", "u@x/my phone"},
    {S("u@x/ <\"&'>: "), "u", "x", " <\"&'>: ", "u@x", "u@x/ <\"&'>: "},
    {S("u@x/\xF0\x9F\x98\x80"), "u", "x", "\xF0\x9F\x98\x80", "u@x",
     "u@x/\xF0\x9F\x98\x80"},
    {S("u@x/\xC2\xA0\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF"), "u", "x",
     "\xC2\xA0\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF", "u@x",
     "u@x/\xC2\xA0\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF"},
    /* UTF-8 localparts (jürgen, 東京). */
    {S("j\xC3\xBCrgen@example.com"), "j\xC3\xBCrgen", "example.com", NULL,
     "j\xC3\xBCrgen@example.com", "j\xC3\xBCrgen@example.com"},
    {S("\xE6\x9D\xB1\xE4\xBA\xAC@example.jp/r"), "\xE6\x9D\xB1\xE4\xBA\xAC",
     "example.jp", "r", "\xE6\x9D\xB1\xE4\xBA\xAC@example.jp",
     "\xE6\x9D\xB1\xE4\xBA\xAC@example.jp/r"},
    /* IDN U-labels are kept as they are; only ASCII is lowercased. */
    {S("u@B\xC3\x9CRO.Example"), "u", "b\xC3\x9Cro.example", NULL,
     "u@b\xC3\x9Cro.example", "u@b\xC3\x9Cro.example"},
    /* IP literals, hex lowercased, and a dotted IPv4 address. */
    {S("u@[::1]"), "u", "[::1]", NULL, "u@[::1]", "u@[::1]"},
    {S("[::1]/r"), NULL, "[::1]", "r", "[::1]", "[::1]/r"},
    {S("u@[2001:DB8::1]/r"), "u", "[2001:db8::1]", "r", "u@[2001:db8::1]",
     "u@[2001:db8::1]/r"},
    {S("u@[::ffff:192.0.2.1]"), "u", "[::ffff:192.0.2.1]", NULL,
     "u@[::ffff:192.0.2.1]", "u@[::ffff:192.0.2.1]"},
    {S("u@192.0.2.1"), "u", "192.0.2.1", NULL, "u@192.0.2.1", "u@192.0.2.1"},
    /* Hyphens inside labels, '_' anywhere, digit-only labels. */
    {S("u@a-b.c--d.example"), "u", "a-b.c--d.example", NULL,
     "u@a-b.c--d.example", "u@a-b.c--d.example"},
    {S("u@_xmpp-client.Example_1"), "u", "_xmpp-client.example_1", NULL,
     "u@_xmpp-client.example_1", "u@_xmpp-client.example_1"},
    {S("u@123.example"), "u", "123.example", NULL, "u@123.example",
     "u@123.example"},
    /* Limits: 63-byte labels and 1023-byte parts. */
    {S("u@" A63 ".com"), "u", A63 ".com", NULL, "u@" A63 ".com",
     "u@" A63 ".com"},
    {S(A1023 "@example.com"), A1023, "example.com", NULL, A1023 "@example.com",
     A1023 "@example.com"},
    {S("u@" DOM1023), "u", DOM1023, NULL, "u@" DOM1023, "u@" DOM1023},
    /* The trailing dot does not count towards the limit. */
    {S(DOM1023 "."), NULL, DOM1023, NULL, DOM1023, DOM1023},
    {S("u@x/" A1023), "u", "x", A1023, "u@x", "u@x/" A1023},
    {S(A1023 "@" DOM1023 "/" A1023), A1023, DOM1023, A1023, A1023 "@" DOM1023,
     A1023 "@" DOM1023 "/" A1023},
};

struct invalid_case {
    const char *in;
    size_t len;
    const char *why; /* expected substring of the reason */
};

static const struct invalid_case invalid_cases[] = {
    {S(""), "JID is empty"},
    {S("@"), "localpart is empty"},
    {S("@example.com"), "localpart is empty"},
    {S("@example.com/r"), "localpart is empty"},
    {S("a@"), "domainpart is empty"},
    {S("/r"), "domainpart is empty"},
    {S("a@/r"), "domainpart is empty"},
    {S("."), "domainpart is empty"},
    {S("a@./r"), "domainpart is empty"},
    {S("a@b/"), "resourcepart is empty"},
    {S("b/"), "resourcepart is empty"},
    {S(A1024 "@x"), "localpart is longer than 1023 bytes"},
    {S("u@" DOM1024), "domainpart is longer than 1023 bytes"},
    {S("u@" DOM1024 "."), "domainpart is longer than 1023 bytes"},
    {S("u@x/" A1024), "resourcepart is longer than 1023 bytes"},
    /* RFC 7622 3.3.1 exclusions; '/' and '@' are taken as separators. */
    {S("a\"b@x"), "localpart contains '\"'"},
    {S("a&b@x"), "localpart contains '&'"},
    {S("a'b@x"), "localpart contains \"'\""},
    {S("a:b@x"), "localpart contains ':'"},
    {S("a<b@x"), "localpart contains '<'"},
    {S("a>b@x"), "localpart contains '>'"},
    {S("a@b@x"), "domainpart contains an invalid character"},
    {S("a b@x"), "localpart contains whitespace"},
    {S(" @x"), "localpart contains whitespace"},
    {S("a\xC2\xA0"
       "b@x"),
     "localpart contains whitespace"},
    {S("a\xE1\x9A\x80@x"), "localpart contains whitespace"},
    {S("a\xE2\x80\x80@x"), "localpart contains whitespace"},
    {S("a\xE2\x80\x8A@x"), "localpart contains whitespace"},
    {S("a\xE2\x80\xA8@x"), "localpart contains whitespace"},
    {S("a\xE2\x80\xA9@x"), "localpart contains whitespace"},
    {S("a\xE2\x80\xAF@x"), "localpart contains whitespace"},
    {S("a\xE2\x81\x9F@x"), "localpart contains whitespace"},
    {S("a\xE3\x80\x80@x"), "localpart contains whitespace"},
    /* Bad UTF-8 of each kind, in each part. */
    {S("\x80@x"), "invalid UTF-8"},
    {S("u@x/\xBF"), "invalid UTF-8"},
    {S("a\xC3"), "invalid UTF-8"},
    {S("\xC3(@x"), "invalid UTF-8"},
    {S("\xE2\x82@x"), "invalid UTF-8"},
    {S("u@\xE2\x82.x"), "invalid UTF-8"},
    {S("u@x/\xF0\x9F\x98"), "invalid UTF-8"},
    {S("\xC0\xAF@x"), "invalid UTF-8"},
    {S("\xC1\xBF@x"), "invalid UTF-8"},
    {S("\xE0\x80\xAF@x"), "invalid UTF-8"},
    {S("\xE0\x9F\xBF@x"), "invalid UTF-8"},
    {S("\xF0\x80\x80\xAF@x"), "invalid UTF-8"},
    {S("u@x/\xF0\x8F\xBF\xBF"), "invalid UTF-8"},
    {S("\xED\xA0\x80@x"), "invalid UTF-8"},
    {S("u@x/\xED\xBF\xBF"), "invalid UTF-8"},
    {S("\xF4\x90\x80\x80@x"), "invalid UTF-8"},
    {S("\xF5\x80\x80\x80@x"), "invalid UTF-8"},
    {S("u@x/\xF7\xBF\xBF\xBF"), "invalid UTF-8"},
    {S("\xF8\x88\x80\x80\x80@x"), "invalid UTF-8"},
    {S("u@x/\xFE"), "invalid UTF-8"},
    {S("u@\xFF"), "invalid UTF-8"},
    /* C0 controls, DEL and C1 controls, anywhere. */
    {S("a\x01@x"), "control character"},
    {S("a\t@x"), "control character"},
    {S("u@x\r"), "control character"},
    {S("u@x/a\nb"), "control character"},
    {S("a\x1F@x"), "control character"},
    {S("a\x7F@x"), "control character"},
    {S("a\xC2\x80@x"), "control character"},
    {S("u@x/\xC2\x85"), "control character"},
    {S("a\xC2\x9F@x"), "control character"},
    /* NUL bytes inside the given length. */
    {S("a\0b@x"), "NUL byte"},
    {S("u@x\0"), "NUL byte"},
    {S("u@x/r\0s"), "NUL byte"},
    /* Domain names. */
    {S("a..b"), "empty label"},
    {S("u@a..b"), "empty label"},
    {S("u@.example.com"), "empty label"},
    {S("u@example.com.."), "empty label"},
    {S("u@" A64 ".com"), "label longer than 63 bytes"},
    {S("u@x." A64), "label longer than 63 bytes"},
    {S("u@-x.com"), "label starting with '-'"},
    {S("u@x.-"), "label starting with '-'"},
    {S("u@x-.com"), "label ending with '-'"},
    {S("u@exa!mple.com"), "domainpart contains an invalid character"},
    {S("u@ex ample.com"), "domainpart contains an invalid character"},
    {S("u@example.com:5222"), "domainpart contains an invalid character"},
    {S("u@x]"), "domainpart contains an invalid character"},
    {S("u@x[::1]"), "domainpart contains an invalid character"},
    {S("u@ex\xC2\xA0"
       "ample.com"),
     "domainpart contains whitespace"},
    /* IP literals. */
    {S("u@[::1"), "does not end with ']'"},
    {S("u@["), "does not end with ']'"},
    {S("u@[::1]."), "does not end with ']'"},
    {S("u@[]"), "IP literal domainpart is empty"},
    {S("u@[::g]"), "IP literal domainpart contains an invalid character"},
    {S("u@[::1]]"), "IP literal domainpart contains an invalid character"},
    {S("u@[1.2.3.4]"), "not an IPv6 address"},
};

#define N_VALID (int)(sizeof(valid_cases) / sizeof(valid_cases[0]))
#define N_INVALID (int)(sizeof(invalid_cases) / sizeof(invalid_cases[0]))

/* A heap copy with no terminator and no slack, for overread detection. */
static char *exact_copy(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);

    ck_assert_ptr_nonnull(p);
    memcpy(p, s, len);
    return p;
}

/* Fails unless s (which may be NULL) points into the JID's allocation. */
static void assert_inside(const struct xb_jid *j, const char *s, size_t size)
{
    if (s)
        ck_assert(s >= j->mem && s + strlen(s) < j->mem + size);
}

static void parse_ok(struct xb_jid *j, const char *s)
{
    const char *why = NULL;

    ck_assert_msg(xb_jid_parse(j, s, strlen(s), &why) == 0, "%s: %s", s,
                  why ? why : "(no reason)");
}

START_TEST(test_jid_parse_valid)
{
    /* _i is the loop index that Check's START_TEST provides. */
    const struct valid_case *c = &valid_cases[_i];
    char *in = exact_copy(c->in, c->len);
    const char *why = NULL;
    struct xb_jid j;
    size_t size;
    int rc;

    memset(&j, 0xA5, sizeof(j)); /* the JID need not be initialized */
    rc = xb_jid_parse(&j, in, c->len, &why);
    ck_assert_msg(rc == 0, "valid case %d refused: %s", _i, why);
    ck_assert_pstr_eq(j.local, c->local);
    ck_assert_str_eq(j.domain, c->domain);
    ck_assert_pstr_eq(j.resource, c->resource);
    ck_assert_str_eq(j.bare, c->bare);
    ck_assert_str_eq(j.full, c->full);

    size = (size_t)(j.full - j.mem) + strlen(j.full) + 1;
    assert_inside(&j, j.local, size);
    assert_inside(&j, j.domain, size);
    assert_inside(&j, j.resource, size);
    assert_inside(&j, j.bare, size);
    ck_assert_msg(xb_jid_check(in, c->len, &why) == 0, "case %d: %s", _i, why);
    xb_jid_clear(&j);
    free(in);
}
END_TEST

START_TEST(test_jid_parse_invalid)
{
    const struct invalid_case *c = &invalid_cases[_i];
    char *in = exact_copy(c->in, c->len);
    const char *why = NULL, *why2 = NULL;
    struct xb_jid j;
    int rc;

    memset(&j, 0xA5, sizeof(j));
    rc = xb_jid_parse(&j, in, c->len, &why);
    ck_assert_msg(rc == XB_EJID, "invalid case %d (want \"%s\") gave %d", _i,
                  c->why, rc);
    ck_assert_ptr_null(j.local);
    ck_assert_ptr_null(j.domain);
    ck_assert_ptr_null(j.resource);
    ck_assert_ptr_null(j.bare);
    ck_assert_ptr_null(j.full);
    ck_assert_ptr_null(j.mem);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, c->why) != NULL,
                  "invalid case %d: reason \"%s\", want \"%s\"", _i, why,
                  c->why);
    ck_assert_ptr_null(strchr(why, '\n'));

    ck_assert_int_eq(xb_jid_check(in, c->len, &why2), XB_EJID);
    ck_assert_pstr_eq(why2, why);
    ck_assert_int_eq(xb_jid_parse(&j, in, c->len, NULL), XB_EJID);
    ck_assert_int_eq(xb_jid_check(in, c->len, NULL), XB_EJID);
    xb_jid_clear(&j);
    free(in);
}
END_TEST

START_TEST(test_jid_why_untouched_on_success)
{
    const char *marker = "unchanged";
    const char *why = marker;
    struct xb_jid j;

    ck_assert_int_eq(xb_jid_parse(&j, S("a@b/c"), &why), 0);
    ck_assert_ptr_eq(why, marker);
    ck_assert_int_eq(xb_jid_check(S("a@b/c"), &why), 0);
    ck_assert_ptr_eq(why, marker);
    xb_jid_clear(&j);
}
END_TEST

START_TEST(test_jid_not_nul_terminated)
{
    static const char buf[] = "user@Example.com/resource and more";
    static const char utf8[] = "u@x/\xC3\xBC";
    char *exact = exact_copy("a@b/c", 5);
    struct xb_jid j;
    const char *why = NULL;

    /* A prefix of a longer string, cut before the resource. */
    ck_assert_int_eq(xb_jid_parse(&j, buf, 16, NULL), 0);
    ck_assert_str_eq(j.full, "user@example.com");
    ck_assert_ptr_null(j.resource);
    xb_jid_clear(&j);

    /* Cut inside the resource, and inside the domain. */
    ck_assert_int_eq(xb_jid_parse(&j, buf, 20, NULL), 0);
    ck_assert_str_eq(j.full, "user@example.com/res");
    xb_jid_clear(&j);
    ck_assert_int_eq(xb_jid_parse(&j, buf, 9, NULL), 0);
    ck_assert_str_eq(j.full, "user@exam");
    xb_jid_clear(&j);

    /* A buffer with no terminator at all. */
    ck_assert_int_eq(xb_jid_parse(&j, exact, 5, NULL), 0);
    ck_assert_str_eq(j.full, "a@b/c");
    xb_jid_clear(&j);
    free(exact);

    /* A cut inside a UTF-8 sequence is a truncated sequence. */
    ck_assert_int_eq(xb_jid_parse(&j, utf8, 5, &why), XB_EJID);
    ck_assert_ptr_nonnull(strstr(why, "invalid UTF-8"));
    ck_assert_int_eq(xb_jid_parse(&j, utf8, 6, NULL), 0);
    xb_jid_clear(&j);
}
END_TEST

START_TEST(test_jid_equal)
{
    struct xb_jid a, b, c, d, e;

    parse_ok(&a, "user@Example.COM./res");
    parse_ok(&b, "user@example.com/res");
    parse_ok(&c, "user@example.com/Res");
    parse_ok(&d, "User@example.com/res");
    parse_ok(&e, "user@example.com");
    ck_assert_int_eq(xb_jid_equal(&a, &b), 1);
    ck_assert_int_eq(xb_jid_equal(&b, &a), 1);
    ck_assert_int_eq(xb_jid_equal(&a, &a), 1);
    ck_assert_int_eq(xb_jid_equal(&b, &c), 0); /* resource case counts */
    ck_assert_int_eq(xb_jid_equal(&b, &d), 1); /* ASCII localpart folds */
    ck_assert_int_eq(xb_jid_equal(&b, &e), 0);
    xb_jid_clear(&a);
    xb_jid_clear(&b);
    xb_jid_clear(&c);
    xb_jid_clear(&d);
    xb_jid_clear(&e);
}
END_TEST

START_TEST(test_jid_bare_equal)
{
    struct xb_jid a, b, c, d, e;

    parse_ok(&a, "user@example.com/one");
    parse_ok(&b, "user@EXAMPLE.com./two");
    parse_ok(&c, "user@example.com");
    parse_ok(&d, "example.com/user");
    parse_ok(&e, "example.com");
    ck_assert_int_eq(xb_jid_bare_equal(&a, &b), 1);
    ck_assert_int_eq(xb_jid_equal(&a, &b), 0);
    ck_assert_int_eq(xb_jid_bare_equal(&a, &c), 1);
    ck_assert_int_eq(xb_jid_bare_equal(&c, &a), 1);
    ck_assert_int_eq(xb_jid_bare_equal(&a, &d), 0);
    ck_assert_int_eq(xb_jid_bare_equal(&d, &e), 1);
    ck_assert_int_eq(xb_jid_bare_equal(&c, &e), 0);
    xb_jid_clear(&a);
    xb_jid_clear(&b);
    xb_jid_clear(&c);
    xb_jid_clear(&d);
    xb_jid_clear(&e);
}
END_TEST

START_TEST(test_jid_copy)
{
    static const char *const inputs[] = {"user@Example.com/res/x@y",
                                         "example.com", "user@example.com",
                                         "example.com/r"};
    struct xb_jid src, dst;
    size_t i, size;

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        parse_ok(&src, inputs[i]);
        memset(&dst, 0xA5, sizeof(dst));
        ck_assert_int_eq(xb_jid_copy(&dst, &src), 0);
        ck_assert_ptr_ne(dst.mem, src.mem);
        ck_assert_int_eq(xb_jid_equal(&dst, &src), 1);
        ck_assert_pstr_eq(dst.local, src.local);
        ck_assert_str_eq(dst.domain, src.domain);
        ck_assert_pstr_eq(dst.resource, src.resource);
        ck_assert_str_eq(dst.bare, src.bare);
        xb_jid_clear(&src);

        /* The copy owns its strings: they outlive the source. */
        size = (size_t)(dst.full - dst.mem) + strlen(dst.full) + 1;
        assert_inside(&dst, dst.local, size);
        assert_inside(&dst, dst.domain, size);
        assert_inside(&dst, dst.resource, size);
        assert_inside(&dst, dst.bare, size);
        parse_ok(&src, inputs[i]);
        ck_assert_int_eq(xb_jid_equal(&dst, &src), 1);
        xb_jid_clear(&src);
        xb_jid_clear(&dst);
    }
}
END_TEST

START_TEST(test_jid_copy_empty)
{
    struct xb_jid src, dst;

    memset(&src, 0, sizeof(src));
    memset(&dst, 0xA5, sizeof(dst));
    ck_assert_int_eq(xb_jid_copy(&dst, &src), 0);
    ck_assert_ptr_null(dst.mem);
    ck_assert_ptr_null(dst.full);
    ck_assert_ptr_null(dst.domain);
    xb_jid_clear(&dst);
}
END_TEST

START_TEST(test_jid_clear_twice)
{
    struct xb_jid j;

    parse_ok(&j, "user@example.com/res");
    xb_jid_clear(&j);
    ck_assert_ptr_null(j.local);
    ck_assert_ptr_null(j.domain);
    ck_assert_ptr_null(j.resource);
    ck_assert_ptr_null(j.bare);
    ck_assert_ptr_null(j.full);
    ck_assert_ptr_null(j.mem);
    xb_jid_clear(&j);
    ck_assert_ptr_null(j.mem);

    /* A failed parse leaves something that is safe to clear. */
    ck_assert_int_eq(xb_jid_parse(&j, S("@x"), NULL), XB_EJID);
    xb_jid_clear(&j);
    xb_jid_clear(&j);
}
END_TEST

static Suite *jid_suite(void)
{
    Suite *s;
    TCase *tc_parse, *tc_ops;

    s = suite_create("jid");

    tc_parse = tcase_create("parse");
    tcase_add_loop_test(tc_parse, test_jid_parse_valid, 0, N_VALID);
    tcase_add_loop_test(tc_parse, test_jid_parse_invalid, 0, N_INVALID);
    tcase_add_test(tc_parse, test_jid_why_untouched_on_success);
    tcase_add_test(tc_parse, test_jid_not_nul_terminated);
    suite_add_tcase(s, tc_parse);

    tc_ops = tcase_create("ops");
    tcase_add_test(tc_ops, test_jid_equal);
    tcase_add_test(tc_ops, test_jid_bare_equal);
    tcase_add_test(tc_ops, test_jid_copy);
    tcase_add_test(tc_ops, test_jid_copy_empty);
    tcase_add_test(tc_ops, test_jid_clear_twice);
    suite_add_tcase(s, tc_ops);

    return s;
}

int main(void)
{
    return tu_run(jid_suite());
}
