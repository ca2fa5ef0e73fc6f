/*
 * Tests for the stanza tree (core/stanza.c): building with namespaces,
 * attributes and text, the accessors and navigation, deep copies and
 * equality, memory accounting, and very wide, deep and large trees.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "stanza.h"
#include "testutil.h"
#include "xmpp.h"

#define NS_X "urn:example:x"
#define NS_Y "urn:example:y"

/*
 * The fixture tree, with text before and after the child elements:
 * <message xmlns='jabber:client' to='a@b' type='chat' id='m1'>lead
 *   <body>hi</body><thread>t1</thread>
 *   <x xmlns='urn:example:x'><item jid='c@d'/><note/><item jid='e@f'/></x>
 * tail</message>
 */
static struct xb_stanza *msg;

static struct xb_stanza *build_message(void)
{
    struct xb_stanza *m, *c, *x;

    m = xb_stanza_new(XB_NS_CLIENT, "message");
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(xb_stanza_set_attr(m, NULL, "to", "a@b"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(m, NULL, "type", "chat"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(m, NULL, "id", "m1"), 0);
    ck_assert_int_eq(xb_stanza_add_text(m, "lead", 4), 0);
    c = xb_stanza_add_child(m, NULL, "body");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(xb_stanza_add_text(c, "hi", 2), 0);
    c = xb_stanza_add_child(m, NULL, "thread");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(xb_stanza_add_text(c, "t1", 2), 0);
    x = xb_stanza_add_child(m, NS_X, "x");
    ck_assert_ptr_nonnull(x);
    c = xb_stanza_add_child(x, NULL, "item");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(xb_stanza_set_attr(c, NULL, "jid", "c@d"), 0);
    ck_assert_ptr_nonnull(xb_stanza_add_child(x, NULL, "note"));
    c = xb_stanza_add_child(x, NULL, "item");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(xb_stanza_set_attr(c, NULL, "jid", "e@f"), 0);
    ck_assert_int_eq(xb_stanza_add_text(m, "tail", 4), 0);
    return m;
}

static void setup(void)
{
    msg = build_message();
}

static void teardown(void)
{
    xb_stanza_free(msg);
    msg = NULL;
}

/* Number of child nodes (elements and text) of st. */
static unsigned count_nodes(const struct xb_stanza *st)
{
    const struct xb_stanza *c;
    unsigned n = 0;

    for (c = xb_stanza_first(st); c; c = xb_stanza_next(c))
        n++;
    return n;
}

/* The last child node of st, or NULL. */
static struct xb_stanza *last_node(const struct xb_stanza *st)
{
    struct xb_stanza *c, *last = NULL;

    for (c = xb_stanza_first(st); c; c = xb_stanza_next(c))
        last = c;
    return last;
}

/* Asserts that attribute i of st is {ns}name=value. */
static void assert_attr_at(const struct xb_stanza *st, unsigned i,
                           const char *ns, const char *name, const char *value)
{
    const char *n = NULL, *k = NULL, *v = NULL;

    ck_assert_int_eq(xb_stanza_attr_at(st, i, &n, &k, &v), 0);
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(n, ns);
    ck_assert_str_eq(k, name);
    ck_assert_str_eq(v, value);
}

/* Asserts that a and b differ, both ways round. */
static void assert_differ(const struct xb_stanza *a, const struct xb_stanza *b)
{
    ck_assert_int_eq(xb_stanza_equal(a, b), 0);
    ck_assert_int_eq(xb_stanza_equal(b, a), 0);
}

/* Two small trees that are equal until a test changes one of them. */
static struct xb_stanza *build_pair_member(void)
{
    struct xb_stanza *st = xb_stanza_new(XB_NS_CLIENT, "iq");
    struct xb_stanza *q;

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(xb_stanza_set_attr(st, NULL, "type", "get"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(st, NULL, "id", "1"), 0);
    q = xb_stanza_add_child(st, NS_X, "query");
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(xb_stanza_add_text(q, "text", 4), 0);
    return st;
}

/* len bytes of printable text (no NUL) whose pattern does not repeat with
 * any power-of-two period. Caller frees. */
static char *make_big_text(size_t len)
{
    char *t = malloc(len + 1);
    size_t i;

    ck_assert_ptr_nonnull(t);
    for (i = 0; i < len; i++)
        t[i] = (char)(' ' + (i * 7 + i / 997) % 95);
    t[len] = '\0';
    return t;
}

START_TEST(test_stanza_new)
{
    struct xb_stanza *st = xb_stanza_new(XB_NS_CLIENT, "presence");

    ck_assert_ptr_nonnull(st);
    ck_assert_str_eq(xb_stanza_name(st), "presence");
    ck_assert_str_eq(xb_stanza_ns(st), XB_NS_CLIENT);
    ck_assert_int_eq(xb_stanza_is_text(st), 0);
    ck_assert_ptr_null(xb_stanza_parent(st));
    ck_assert_ptr_null(xb_stanza_first(st));
    ck_assert_ptr_null(xb_stanza_next(st));
    ck_assert_ptr_null(xb_stanza_text(st, NULL));
    ck_assert_uint_eq(xb_stanza_attr_count(st), 0);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_new_no_ns)
{
    struct xb_stanza *a = xb_stanza_new(NULL, "x");
    struct xb_stanza *b = xb_stanza_new("", "x");

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(xb_stanza_ns(a), "");
    ck_assert_str_eq(xb_stanza_ns(b), "");
    ck_assert_int_eq(xb_stanza_equal(a, b), 1);
    xb_stanza_free(a);
    xb_stanza_free(b);
}
END_TEST

/* Only names a parser reads back are taken: XML names without a colon,
 * those outside ASCII as expat reads them (found by the bridge's fuzz
 * target: U+00D7 and a leading combining mark were taken and written),
 * and no element in the namespace reserved for declarations. */
START_TEST(test_stanza_names)
{
    static const char *const good[] = {
        "a", "_x", "a-1.b", "caf\xc3\xa9", "\xce\xbb", "\xe4\xb8\xad"};
    static const char *const bad[] = {"",
                                      "1a",
                                      "-a",
                                      ".a",
                                      "a b",
                                      "a:b",
                                      "a\x01",
                                      "a\xc3\x97",
                                      "\xcc\xbf",
                                      "\xc3",
                                      "\xf0\x9f\x98\x80"};
    struct xb_stanza *root = xb_stanza_new(NULL, "r");
    size_t i;

    ck_assert_ptr_nonnull(root);
    for (i = 0; i < sizeof good / sizeof *good; i++) {
        struct xb_stanza *st = xb_stanza_new(NULL, good[i]);

        ck_assert_msg(st != NULL, "name %zu refused", i);
        xb_stanza_free(st);
        ck_assert_ptr_nonnull(xb_stanza_add_child(root, NULL, good[i]));
        ck_assert_int_eq(xb_stanza_set_attr(root, NULL, good[i], "v"), 0);
    }
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(xb_stanza_new(NULL, bad[i]) == NULL, "name %zu taken", i);
        ck_assert_ptr_null(xb_stanza_add_child(root, NULL, bad[i]));
        ck_assert_int_eq(xb_stanza_set_attr(root, NULL, bad[i], "v"),
                         XB_EINVAL);
    }
    ck_assert_ptr_null(xb_stanza_new(XB_NS_XMLNS, "a"));
    ck_assert_ptr_null(xb_stanza_add_child(root, XB_NS_XMLNS, "a"));
    ck_assert_int_eq(xb_stanza_set_attr(root, XB_NS_XMLNS, "a", "v"),
                     XB_EINVAL);
    xb_stanza_free(root);
}
END_TEST

START_TEST(test_stanza_new_copies_strings)
{
    char ns[] = "urn:a", name[] = "elem";
    struct xb_stanza *st = xb_stanza_new(ns, name);
    struct xb_stanza *c;

    ck_assert_ptr_nonnull(st);
    c = xb_stanza_add_child(st, ns, name);
    ck_assert_ptr_nonnull(c);
    memset(ns, 'z', sizeof ns - 1);
    memset(name, 'z', sizeof name - 1);
    ck_assert_str_eq(xb_stanza_ns(st), "urn:a");
    ck_assert_str_eq(xb_stanza_name(st), "elem");
    ck_assert_str_eq(xb_stanza_ns(c), "urn:a");
    ck_assert_str_eq(xb_stanza_name(c), "elem");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_free_null)
{
    xb_stanza_free(NULL);
}
END_TEST

START_TEST(test_stanza_add_child_inherits_ns)
{
    struct xb_stanza *st = xb_stanza_new(XB_NS_CLIENT, "message");
    struct xb_stanza *body, *deep;

    ck_assert_ptr_nonnull(st);
    body = xb_stanza_add_child(st, NULL, "body");
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(xb_stanza_ns(body), XB_NS_CLIENT);
    deep = xb_stanza_add_child(body, NULL, "deep");
    ck_assert_ptr_nonnull(deep);
    ck_assert_str_eq(xb_stanza_ns(deep), XB_NS_CLIENT);
    ck_assert_ptr_eq(xb_stanza_parent(deep), body);
    ck_assert_ptr_eq(xb_stanza_parent(body), st);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_add_child_other_ns)
{
    struct xb_stanza *x, *item;

    x = xb_stanza_child(msg, NS_X, "x");
    ck_assert_ptr_nonnull(x);
    ck_assert_str_eq(xb_stanza_ns(x), NS_X);
    item = xb_stanza_child(x, NULL, "item");
    ck_assert_ptr_nonnull(item);
    ck_assert_str_eq(xb_stanza_ns(item), NS_X);

    /* A child back in the outer namespace says so explicitly. */
    item = xb_stanza_add_child(x, XB_NS_CLIENT, "body");
    ck_assert_ptr_nonnull(item);
    ck_assert_str_eq(xb_stanza_ns(item), XB_NS_CLIENT);
    ck_assert_str_eq(xb_stanza_ns(x), NS_X);
}
END_TEST

START_TEST(test_stanza_add_child_no_ns)
{
    struct xb_stanza *none, *inner;

    /* "" is no namespace, even inside a namespaced parent ... */
    none = xb_stanza_add_child(msg, "", "plain");
    ck_assert_ptr_nonnull(none);
    ck_assert_str_eq(xb_stanza_ns(none), "");
    ck_assert_int_eq(xb_stanza_is(none, "", "plain"), 1);
    ck_assert_int_eq(xb_stanza_is(none, XB_NS_CLIENT, "plain"), 0);
    /* ... and NULL below it inherits that absence. */
    inner = xb_stanza_add_child(none, NULL, "inner");
    ck_assert_ptr_nonnull(inner);
    ck_assert_str_eq(xb_stanza_ns(inner), "");
}
END_TEST

START_TEST(test_stanza_add_child_order)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "r");
    struct xb_stanza *a, *b, *c;

    ck_assert_ptr_nonnull(st);
    a = xb_stanza_add_child(st, NULL, "a");
    b = xb_stanza_add_child(st, NULL, "b");
    c = xb_stanza_add_child(st, NULL, "c");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_eq(xb_stanza_first(st), a);
    ck_assert_ptr_eq(xb_stanza_next(a), b);
    ck_assert_ptr_eq(xb_stanza_next(b), c);
    ck_assert_ptr_null(xb_stanza_next(c));
    ck_assert_ptr_eq(xb_stanza_parent(a), st);
    ck_assert_ptr_eq(xb_stanza_parent(b), st);
    ck_assert_ptr_eq(xb_stanza_parent(c), st);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_add_child_to_text)
{
    struct xb_stanza *text = xb_stanza_first(msg);

    ck_assert_int_eq(xb_stanza_is_text(text), 1);
    ck_assert_ptr_null(xb_stanza_add_child(text, NULL, "x"));
    ck_assert_ptr_null(xb_stanza_first(text));
}
END_TEST

START_TEST(test_stanza_add_text)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "body");
    struct xb_stanza *t;
    size_t len = 0;

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(xb_stanza_add_text(st, "hello", 5), 0);
    t = xb_stanza_first(st);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(xb_stanza_is_text(t), 1);
    ck_assert_str_eq(xb_stanza_text(t, &len), "hello");
    ck_assert_uint_eq(len, 5);
    ck_assert_ptr_eq(xb_stanza_parent(t), st);
    ck_assert_str_eq(xb_stanza_text(st, NULL), "hello");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_add_text_len)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "body");
    size_t len = 0;

    /* Only len bytes are copied, and the copy is NUL-terminated. */
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(xb_stanza_add_text(st, "abcdef", 3), 0);
    ck_assert_str_eq(xb_stanza_text(st, &len), "abc");
    ck_assert_uint_eq(len, 3);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_add_text_copies)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "body");
    char text[] = "original";

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(xb_stanza_add_text(st, text, strlen(text)), 0);
    memset(text, 'x', strlen(text));
    ck_assert_str_eq(xb_stanza_text(st, NULL), "original");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_add_text_merge)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "body");
    struct xb_stanza *t, *c;
    size_t len = 0;

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(xb_stanza_add_text(st, "ab", 2), 0);
    ck_assert_int_eq(xb_stanza_add_text(st, "cd", 2), 0);
    ck_assert_int_eq(xb_stanza_add_text(st, "e", 1), 0);
    ck_assert_uint_eq(count_nodes(st), 1);
    t = xb_stanza_first(st);
    ck_assert_int_eq(xb_stanza_is_text(t), 1);
    ck_assert_str_eq(xb_stanza_text(t, &len), "abcde");
    ck_assert_uint_eq(len, 5);

    /* Text after a child element is a new node; the first stays put. */
    c = xb_stanza_add_child(st, NULL, "br");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(xb_stanza_add_text(st, "fg", 2), 0);
    ck_assert_int_eq(xb_stanza_add_text(st, "h", 1), 0);
    ck_assert_uint_eq(count_nodes(st), 3);
    ck_assert_ptr_eq(xb_stanza_first(st), t);
    ck_assert_ptr_eq(xb_stanza_next(t), c);
    ck_assert_str_eq(xb_stanza_text(xb_stanza_next(c), &len), "fgh");
    ck_assert_uint_eq(len, 3);
    ck_assert_str_eq(xb_stanza_text(t, NULL), "abcde");
    ck_assert_str_eq(xb_stanza_text(st, NULL), "abcde");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_add_text_nul)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "body");
    size_t len = 0;

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(xb_stanza_add_text(st, "a\0b", 3), XB_EINVAL);
    ck_assert_ptr_null(xb_stanza_first(st));
    ck_assert_int_eq(xb_stanza_add_text(st, "\0", 1), XB_EINVAL);
    ck_assert_ptr_null(xb_stanza_first(st));

    /* A refused append leaves existing text as it was. */
    ck_assert_int_eq(xb_stanza_add_text(st, "ok", 2), 0);
    ck_assert_int_eq(xb_stanza_add_text(st, "xy\0", 3), XB_EINVAL);
    ck_assert_str_eq(xb_stanza_text(st, &len), "ok");
    ck_assert_uint_eq(len, 2);
    ck_assert_uint_eq(count_nodes(st), 1);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_add_text_on_text)
{
    struct xb_stanza *t = xb_stanza_first(msg);

    ck_assert_int_eq(xb_stanza_is_text(t), 1);
    ck_assert_int_eq(xb_stanza_add_text(t, "more", 4), XB_EINVAL);
    ck_assert_str_eq(xb_stanza_text(t, NULL), "lead");
}
END_TEST

START_TEST(test_stanza_set_text)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "body"), *t;
    const char *old;
    size_t len = 0;

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(xb_stanza_add_text(st, "old", 3), 0);
    t = xb_stanza_first(st);
    ck_assert_int_eq(xb_stanza_set_text(t, "longer text", 11), 0);
    ck_assert_str_eq(xb_stanza_text(st, &len), "longer text");
    ck_assert_uint_eq(len, 11);
    old = xb_stanza_text(t, NULL);
    ck_assert_int_eq(xb_stanza_set_text(t, "caf\xc3\xa9!", 5), 0);
    ck_assert_ptr_eq(xb_stanza_text(t, &len), old); /* fits: in place */
    ck_assert_str_eq(xb_stanza_text(t, &len), "caf\xc3\xa9");
    ck_assert_uint_eq(len, 5);
    /* Refused: bad text, none, an element; the text stays. */
    ck_assert_int_eq(xb_stanza_set_text(t, "a\0b", 3), XB_EINVAL);
    ck_assert_int_eq(xb_stanza_set_text(t, "\xc3", 1), XB_EINVAL);
    ck_assert_int_eq(xb_stanza_set_text(t, "", 0), XB_EINVAL);
    ck_assert_int_eq(xb_stanza_set_text(st, "x", 1), XB_EINVAL);
    ck_assert_str_eq(xb_stanza_text(t, NULL), "caf\xc3\xa9");
    ck_assert_uint_eq(count_nodes(st), 1);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_set_attr_at)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "message");
    const char *ns, *name, *value, *old;

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(xb_stanza_set_attr(st, NULL, "to", "a@b/c"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(st, "urn:x", "to", "x"), 0);
    old = xb_stanza_attr(st, NULL, "to");
    /* Shorter: in place; longer: new memory; the name stays. */
    ck_assert_int_eq(xb_stanza_set_attr_at(st, 0, "d@e", 3), 0);
    ck_assert_ptr_eq(xb_stanza_attr(st, NULL, "to"), old);
    ck_assert_str_eq(old, "d@e");
    ck_assert_int_eq(xb_stanza_set_attr_at(st, 0, "longer@value/r", 14), 0);
    ck_assert_str_eq(xb_stanza_attr(st, NULL, "to"), "longer@value/r");
    ck_assert_int_eq(xb_stanza_set_attr_at(st, 1, "", 0), 0);
    ck_assert_int_eq(xb_stanza_attr_at(st, 1, &ns, &name, &value), 0);
    ck_assert_str_eq(ns, "urn:x");
    ck_assert_str_eq(name, "to");
    ck_assert_str_eq(value, "");
    /* Refused: no such attribute, bad value; the value stays. */
    ck_assert_int_eq(xb_stanza_set_attr_at(st, 2, "x", 1), XB_EINVAL);
    ck_assert_int_eq(xb_stanza_set_attr_at(st, 0, "a\0b", 3), XB_EINVAL);
    ck_assert_int_eq(xb_stanza_set_attr_at(st, 0, "\xff", 1), XB_EINVAL);
    ck_assert_int_eq(xb_stanza_set_attr_at(st, 0, NULL, 0), XB_EINVAL);
    ck_assert_str_eq(xb_stanza_attr(st, NULL, "to"), "longer@value/r");
    ck_assert_uint_eq(xb_stanza_attr_count(st), 2);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_attr_set_get)
{
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "to"), "a@b");
    ck_assert_str_eq(xb_stanza_attr(msg, "", "to"), "a@b");
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "type"), "chat");
    ck_assert_ptr_null(xb_stanza_attr(msg, NULL, "from"));
    ck_assert_ptr_null(xb_stanza_attr(msg, NS_X, "to"));
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 3);

    ck_assert_int_eq(xb_stanza_set_attr(msg, "", "from", "z@y"), 0);
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "from"), "z@y");
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 4);
}
END_TEST

START_TEST(test_stanza_attr_empty_value)
{
    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, "empty", ""), 0);
    ck_assert_ptr_nonnull(xb_stanza_attr(msg, NULL, "empty"));
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "empty"), "");
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 4);
}
END_TEST

START_TEST(test_stanza_attr_copies)
{
    char name[] = "key", value[] = "value";

    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, name, value), 0);
    memset(value, 'x', sizeof value - 1);
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "key"), "value");
    memset(name, 'x', sizeof name - 1);
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "key"), "value");
    ck_assert_ptr_null(xb_stanza_attr(msg, NULL, "xxx"));
}
END_TEST

START_TEST(test_stanza_attr_order)
{
    assert_attr_at(msg, 0, "", "to", "a@b");
    assert_attr_at(msg, 1, "", "type", "chat");
    assert_attr_at(msg, 2, "", "id", "m1");
}
END_TEST

START_TEST(test_stanza_attr_overwrite)
{
    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, "type", "normal"), 0);
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 3);
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "type"), "normal");
    assert_attr_at(msg, 0, "", "to", "a@b");
    assert_attr_at(msg, 1, "", "type", "normal");
    assert_attr_at(msg, 2, "", "id", "m1");

    /* Longer, then shorter again, still in place. */
    ck_assert_int_eq(
        xb_stanza_set_attr(msg, NULL, "to", "a-much-longer-jid@example.org"),
        0);
    ck_assert_int_eq(xb_stanza_set_attr(msg, "", "to", "c"), 0);
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 3);
    assert_attr_at(msg, 0, "", "to", "c");
    assert_attr_at(msg, 1, "", "type", "normal");
}
END_TEST

START_TEST(test_stanza_attr_remove)
{
    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, "type", NULL), 0);
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 2);
    ck_assert_ptr_null(xb_stanza_attr(msg, NULL, "type"));
    assert_attr_at(msg, 0, "", "to", "a@b");
    assert_attr_at(msg, 1, "", "id", "m1");
    ck_assert_int_eq(xb_stanza_attr_at(msg, 2, NULL, NULL, NULL), XB_ENOTFOUND);

    /* Removing what is not there changes nothing. */
    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, "type", NULL), 0);
    ck_assert_int_eq(xb_stanza_set_attr(msg, NS_X, "to", NULL), 0);
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 2);
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "to"), "a@b");

    /* Set again, it is a new attribute: last in order. */
    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, "type", "chat"), 0);
    assert_attr_at(msg, 2, "", "type", "chat");

    /* Remove them all. */
    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, "to", NULL), 0);
    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, "id", NULL), 0);
    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, "type", NULL), 0);
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 0);
    ck_assert_int_eq(xb_stanza_attr_at(msg, 0, NULL, NULL, NULL), XB_ENOTFOUND);
}
END_TEST

START_TEST(test_stanza_attr_namespaced)
{
    struct xb_stanza *st = xb_stanza_new(XB_NS_CLIENT, "message");

    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(xb_stanza_set_attr(st, XB_NS_XML, "lang", "en"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(st, NULL, "lang", "fr"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(st, NS_X, "lang", "de"), 0);
    ck_assert_uint_eq(xb_stanza_attr_count(st), 3);
    ck_assert_str_eq(xb_stanza_attr(st, XB_NS_XML, "lang"), "en");
    ck_assert_str_eq(xb_stanza_attr(st, NULL, "lang"), "fr");
    ck_assert_str_eq(xb_stanza_attr(st, "", "lang"), "fr");
    ck_assert_str_eq(xb_stanza_attr(st, NS_X, "lang"), "de");
    ck_assert_ptr_null(xb_stanza_attr(st, NS_Y, "lang"));
    assert_attr_at(st, 0, XB_NS_XML, "lang", "en");
    assert_attr_at(st, 1, "", "lang", "fr");
    assert_attr_at(st, 2, NS_X, "lang", "de");

    /* Overwriting and removing touch only the one with that namespace. */
    ck_assert_int_eq(xb_stanza_set_attr(st, XB_NS_XML, "lang", "en-GB"), 0);
    ck_assert_str_eq(xb_stanza_attr(st, NULL, "lang"), "fr");
    assert_attr_at(st, 0, XB_NS_XML, "lang", "en-GB");
    ck_assert_int_eq(xb_stanza_set_attr(st, NULL, "lang", NULL), 0);
    ck_assert_uint_eq(xb_stanza_attr_count(st), 2);
    ck_assert_str_eq(xb_stanza_attr(st, XB_NS_XML, "lang"), "en-GB");
    ck_assert_str_eq(xb_stanza_attr(st, NS_X, "lang"), "de");
    ck_assert_ptr_null(xb_stanza_attr(st, NULL, "lang"));
    ck_assert_int_eq(xb_stanza_set_attr(st, XB_NS_XML, "lang", NULL), 0);
    ck_assert_uint_eq(xb_stanza_attr_count(st), 1);
    assert_attr_at(st, 0, NS_X, "lang", "de");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_attr_at_range)
{
    const char *ns = "unset", *name = "unset", *value = "unset";

    ck_assert_int_eq(xb_stanza_attr_at(msg, 3, &ns, &name, &value),
                     XB_ENOTFOUND);
    ck_assert_int_eq(xb_stanza_attr_at(msg, 1000, NULL, NULL, NULL),
                     XB_ENOTFOUND);
    ck_assert_int_eq(xb_stanza_attr_at(msg, (unsigned)-1, NULL, NULL, NULL),
                     XB_ENOTFOUND);
    /* Each out pointer may be NULL. */
    ck_assert_int_eq(xb_stanza_attr_at(msg, 2, NULL, NULL, &value), 0);
    ck_assert_str_eq(value, "m1");
    ck_assert_int_eq(xb_stanza_attr_at(msg, 2, NULL, &name, NULL), 0);
    ck_assert_str_eq(name, "id");
    ck_assert_int_eq(xb_stanza_attr_at(msg, 2, &ns, NULL, NULL), 0);
    ck_assert_str_eq(ns, "");
}
END_TEST

START_TEST(test_stanza_attr_on_text)
{
    struct xb_stanza *t = xb_stanza_first(msg);

    ck_assert_int_eq(xb_stanza_is_text(t), 1);
    ck_assert_uint_eq(xb_stanza_attr_count(t), 0);
    ck_assert_int_eq(xb_stanza_attr_at(t, 0, NULL, NULL, NULL), XB_ENOTFOUND);
    ck_assert_ptr_null(xb_stanza_attr(t, NULL, "to"));
    ck_assert_int_eq(xb_stanza_set_attr(t, NULL, "a", "b"), XB_EINVAL);
    ck_assert_uint_eq(xb_stanza_attr_count(t), 0);
}
END_TEST

START_TEST(test_stanza_attr_many)
{
    char name[16], value[16];
    unsigned i;
    const char *v;

    for (i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "a%u", i);
        snprintf(value, sizeof value, "v%u", i);
        ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, name, value), 0);
    }
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 203);
    for (i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "a%u", i);
        snprintf(value, sizeof value, "v%u", i);
        assert_attr_at(msg, i + 3, "", name, value);
        v = xb_stanza_attr(msg, NULL, name);
        ck_assert_ptr_nonnull(v);
        ck_assert_str_eq(v, value);
    }
}
END_TEST

START_TEST(test_stanza_is)
{
    struct xb_stanza *none = xb_stanza_new(NULL, "x");

    ck_assert_ptr_nonnull(none);
    ck_assert_int_eq(xb_stanza_is(msg, XB_NS_CLIENT, "message"), 1);
    ck_assert_int_eq(xb_stanza_is(msg, NULL, "message"), 1);
    ck_assert_int_eq(xb_stanza_is(msg, XB_NS_SERVER, "message"), 0);
    ck_assert_int_eq(xb_stanza_is(msg, "", "message"), 0);
    ck_assert_int_eq(xb_stanza_is(msg, XB_NS_CLIENT, "iq"), 0);
    ck_assert_int_eq(xb_stanza_is(msg, NULL, "messag"), 0);
    ck_assert_int_eq(xb_stanza_is(xb_stanza_first(msg), NULL, "message"), 0);
    ck_assert_int_eq(xb_stanza_is(none, "", "x"), 1);
    ck_assert_int_eq(xb_stanza_is(none, NULL, "x"), 1);
    ck_assert_int_eq(xb_stanza_is(none, XB_NS_CLIENT, "x"), 0);
    xb_stanza_free(none);
}
END_TEST

START_TEST(test_stanza_text_node)
{
    struct xb_stanza *t = xb_stanza_first(msg);
    size_t len = 0;

    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(xb_stanza_is_text(t), 1);
    ck_assert_ptr_null(xb_stanza_name(t));
    ck_assert_ptr_null(xb_stanza_ns(t));
    ck_assert_str_eq(xb_stanza_text(t, &len), "lead");
    ck_assert_uint_eq(len, 4);
    ck_assert_ptr_null(xb_stanza_first(t));
    ck_assert_ptr_eq(xb_stanza_parent(t), msg);
    ck_assert_ptr_null(xb_stanza_child(t, NULL, NULL));
    ck_assert_ptr_null(xb_stanza_child_text(t, NULL, "body"));
}
END_TEST

START_TEST(test_stanza_text_element)
{
    size_t len = 0;
    struct xb_stanza *x = xb_stanza_child(msg, NS_X, "x");

    /* An element's text is its first text child. */
    ck_assert_str_eq(xb_stanza_text(msg, &len), "lead");
    ck_assert_uint_eq(len, 4);
    ck_assert_ptr_nonnull(x);
    len = 99;
    ck_assert_ptr_null(xb_stanza_text(x, &len));
}
END_TEST

START_TEST(test_stanza_text_after_child)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "p");

    ck_assert_ptr_nonnull(st);
    ck_assert_ptr_nonnull(xb_stanza_add_child(st, NULL, "b"));
    ck_assert_int_eq(xb_stanza_add_text(st, "after", 5), 0);
    ck_assert_str_eq(xb_stanza_text(st, NULL), "after");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_child)
{
    struct xb_stanza *body, *thread, *x;

    body = xb_stanza_child(msg, NULL, "body");
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(xb_stanza_name(body), "body");
    ck_assert_ptr_eq(xb_stanza_child(msg, XB_NS_CLIENT, "body"), body);
    /* Wildcards; text children are skipped. */
    ck_assert_ptr_eq(xb_stanza_child(msg, NULL, NULL), body);
    ck_assert_ptr_eq(xb_stanza_child(msg, XB_NS_CLIENT, NULL), body);
    thread = xb_stanza_child(msg, NULL, "thread");
    ck_assert_ptr_eq(xb_stanza_next(body), thread);
    x = xb_stanza_child(msg, NS_X, NULL);
    ck_assert_ptr_nonnull(x);
    ck_assert_str_eq(xb_stanza_name(x), "x");
    ck_assert_ptr_eq(xb_stanza_child(msg, NULL, "x"), x);
    /* No match. */
    ck_assert_ptr_null(xb_stanza_child(msg, NULL, "nope"));
    ck_assert_ptr_null(xb_stanza_child(msg, NS_Y, NULL));
    ck_assert_ptr_null(xb_stanza_child(msg, XB_NS_CLIENT, "x"));
    ck_assert_ptr_null(xb_stanza_child(msg, "", "body"));
    ck_assert_ptr_null(xb_stanza_child(body, NULL, NULL));
    /* Only direct children. */
    ck_assert_ptr_null(xb_stanza_child(msg, NULL, "item"));
}
END_TEST

START_TEST(test_stanza_next_child)
{
    struct xb_stanza *x = xb_stanza_child(msg, NS_X, "x");
    struct xb_stanza *item, *note;

    ck_assert_ptr_nonnull(x);
    item = xb_stanza_child(x, NS_X, "item");
    ck_assert_ptr_nonnull(item);
    ck_assert_str_eq(xb_stanza_attr(item, NULL, "jid"), "c@d");
    /* Skips <note/> to the next <item/>. */
    item = xb_stanza_next_child(item, NULL, "item");
    ck_assert_ptr_nonnull(item);
    ck_assert_str_eq(xb_stanza_attr(item, NULL, "jid"), "e@f");
    ck_assert_ptr_null(xb_stanza_next_child(item, NULL, "item"));
    ck_assert_ptr_null(xb_stanza_next_child(item, NULL, NULL));

    note = xb_stanza_next_child(xb_stanza_child(x, NULL, NULL), NULL, NULL);
    ck_assert_ptr_nonnull(note);
    ck_assert_str_eq(xb_stanza_name(note), "note");
    ck_assert_ptr_null(xb_stanza_next_child(note, NS_Y, NULL));

    /* Over the message: body, thread, x; the tail text is skipped. */
    item = xb_stanza_child(msg, NULL, NULL);
    ck_assert_str_eq(xb_stanza_name(item), "body");
    item = xb_stanza_next_child(item, NULL, NULL);
    ck_assert_str_eq(xb_stanza_name(item), "thread");
    item = xb_stanza_next_child(item, NULL, NULL);
    ck_assert_str_eq(xb_stanza_name(item), "x");
    ck_assert_ptr_null(xb_stanza_next_child(item, NULL, NULL));
    ck_assert_ptr_eq(
        xb_stanza_next_child(xb_stanza_child(msg, NULL, NULL), NS_X, NULL), x);
}
END_TEST

START_TEST(test_stanza_child_text)
{
    ck_assert_str_eq(xb_stanza_child_text(msg, NULL, "body"), "hi");
    ck_assert_str_eq(xb_stanza_child_text(msg, XB_NS_CLIENT, "thread"), "t1");
    ck_assert_ptr_null(xb_stanza_child_text(msg, NS_X, "x"));
    ck_assert_ptr_null(xb_stanza_child_text(msg, NULL, "subject"));
    ck_assert_ptr_null(xb_stanza_child_text(msg, NS_Y, "body"));
}
END_TEST

START_TEST(test_stanza_navigation)
{
    struct xb_stanza *n, *x;

    n = xb_stanza_first(msg);
    ck_assert_int_eq(xb_stanza_is_text(n), 1);
    ck_assert_str_eq(xb_stanza_text(n, NULL), "lead");
    n = xb_stanza_next(n);
    ck_assert_int_eq(xb_stanza_is(n, XB_NS_CLIENT, "body"), 1);
    n = xb_stanza_next(n);
    ck_assert_int_eq(xb_stanza_is(n, XB_NS_CLIENT, "thread"), 1);
    x = xb_stanza_next(n);
    ck_assert_int_eq(xb_stanza_is(x, NS_X, "x"), 1);
    n = xb_stanza_next(x);
    ck_assert_int_eq(xb_stanza_is_text(n), 1);
    ck_assert_str_eq(xb_stanza_text(n, NULL), "tail");
    ck_assert_ptr_null(xb_stanza_next(n));
    ck_assert_ptr_eq(xb_stanza_parent(n), msg);

    n = xb_stanza_first(x);
    ck_assert_int_eq(xb_stanza_is(n, NS_X, "item"), 1);
    ck_assert_ptr_eq(xb_stanza_parent(n), x);
    ck_assert_ptr_eq(xb_stanza_parent(xb_stanza_parent(n)), msg);
    ck_assert_ptr_null(xb_stanza_parent(msg));
    ck_assert_ptr_null(xb_stanza_next(msg));
    ck_assert_uint_eq(count_nodes(msg), 5);
    ck_assert_uint_eq(count_nodes(x), 3);
}
END_TEST

START_TEST(test_stanza_copy_root)
{
    struct xb_stanza *copy = xb_stanza_copy(msg);

    ck_assert_ptr_nonnull(copy);
    ck_assert_ptr_ne(copy, msg);
    ck_assert_int_eq(xb_stanza_equal(copy, msg), 1);
    ck_assert_int_eq(xb_stanza_equal(msg, copy), 1);
    ck_assert_ptr_null(xb_stanza_parent(copy));
    ck_assert_str_eq(xb_stanza_attr(copy, NULL, "to"), "a@b");
    ck_assert_str_eq(xb_stanza_child_text(copy, NULL, "body"), "hi");
    assert_attr_at(copy, 2, "", "id", "m1");
    xb_stanza_free(copy);
}
END_TEST

START_TEST(test_stanza_copy_subtree)
{
    struct xb_stanza *x = xb_stanza_child(msg, NS_X, "x");
    struct xb_stanza *copy, *item;

    ck_assert_ptr_nonnull(x);
    copy = xb_stanza_copy(x);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(xb_stanza_equal(copy, x), 1);
    ck_assert_ptr_null(xb_stanza_parent(copy));
    ck_assert_ptr_null(xb_stanza_next(copy));
    ck_assert_str_eq(xb_stanza_ns(copy), NS_X);
    item = xb_stanza_child(copy, NS_X, "item");
    ck_assert_ptr_nonnull(item);
    ck_assert_ptr_eq(xb_stanza_parent(item), copy);
    ck_assert_str_eq(xb_stanza_attr(item, NULL, "jid"), "c@d");
    /* The subtree copy does not take its surroundings along. */
    ck_assert_int_eq(xb_stanza_equal(copy, msg), 0);
    xb_stanza_free(copy);

    /* A leaf with text. */
    copy = xb_stanza_copy(xb_stanza_child(msg, NULL, "body"));
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(xb_stanza_is(copy, XB_NS_CLIENT, "body"), 1);
    ck_assert_str_eq(xb_stanza_text(copy, NULL), "hi");
    xb_stanza_free(copy);
}
END_TEST

START_TEST(test_stanza_copy_independent)
{
    struct xb_stanza *copy = xb_stanza_copy(msg);
    struct xb_stanza *snapshot = xb_stanza_copy(msg);
    struct xb_stanza *body, *x;

    ck_assert_ptr_nonnull(copy);
    ck_assert_ptr_nonnull(snapshot);

    ck_assert_int_eq(xb_stanza_set_attr(copy, NULL, "to", "other@host"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(copy, NULL, "type", NULL), 0);
    ck_assert_int_eq(xb_stanza_set_attr(copy, XB_NS_XML, "lang", "en"), 0);
    body = xb_stanza_child(copy, NULL, "body");
    ck_assert_int_eq(xb_stanza_add_text(body, " there", 6), 0);
    x = xb_stanza_child(copy, NS_X, "x");
    ck_assert_ptr_nonnull(xb_stanza_add_child(x, NULL, "extra"));
    ck_assert_int_eq(xb_stanza_add_text(copy, " more", 5), 0);

    ck_assert_str_eq(xb_stanza_attr(copy, NULL, "to"), "other@host");
    ck_assert_str_eq(xb_stanza_child_text(copy, NULL, "body"), "hi there");

    /* The original saw none of it. */
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "to"), "a@b");
    ck_assert_str_eq(xb_stanza_attr(msg, NULL, "type"), "chat");
    ck_assert_ptr_null(xb_stanza_attr(msg, XB_NS_XML, "lang"));
    ck_assert_uint_eq(xb_stanza_attr_count(msg), 3);
    ck_assert_str_eq(xb_stanza_child_text(msg, NULL, "body"), "hi");
    ck_assert_uint_eq(count_nodes(xb_stanza_child(msg, NS_X, "x")), 3);
    ck_assert_str_eq(xb_stanza_text(last_node(msg), NULL), "tail");
    ck_assert_int_eq(xb_stanza_equal(msg, snapshot), 1);
    ck_assert_int_eq(xb_stanza_equal(msg, copy), 0);

    /* And changing the original leaves the copy alone. */
    ck_assert_int_eq(xb_stanza_set_attr(msg, NULL, "id", "changed"), 0);
    ck_assert_int_eq(xb_stanza_equal(snapshot, msg), 0);
    ck_assert_str_eq(xb_stanza_attr(snapshot, NULL, "id"), "m1");

    xb_stanza_free(copy);
    xb_stanza_free(snapshot);
}
END_TEST

START_TEST(test_stanza_copy_outlives_source)
{
    struct xb_stanza *copy = xb_stanza_copy(xb_stanza_child(msg, NS_X, "x"));
    struct xb_stanza *item;

    ck_assert_ptr_nonnull(copy);
    xb_stanza_free(msg);
    msg = NULL;
    item = xb_stanza_child(copy, NULL, "item");
    ck_assert_ptr_nonnull(item);
    ck_assert_str_eq(xb_stanza_attr(item, NULL, "jid"), "c@d");
    ck_assert_str_eq(xb_stanza_ns(item), NS_X);
    xb_stanza_free(copy);
}
END_TEST

START_TEST(test_stanza_copy_of_copy)
{
    struct xb_stanza *a = xb_stanza_copy(msg);
    struct xb_stanza *b;

    ck_assert_ptr_nonnull(a);
    b = xb_stanza_copy(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(xb_stanza_equal(b, msg), 1);
    /* A copy can be built upon like any tree. */
    ck_assert_ptr_nonnull(xb_stanza_add_child(b, NULL, "more"));
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "from", "me"), 0);
    ck_assert_int_eq(xb_stanza_add_text(b, "!", 1), 0);
    ck_assert_int_eq(xb_stanza_equal(a, msg), 1);
    xb_stanza_free(a);
    xb_stanza_free(b);
}
END_TEST

START_TEST(test_stanza_copy_compact)
{
    struct xb_stanza *st = xb_stanza_new(XB_NS_CLIENT, "iq");
    struct xb_stanza *c, *copy;
    char name[16];
    int i;

    ck_assert_ptr_nonnull(st);
    for (i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "c%d", i);
        c = xb_stanza_add_child(st, i % 2 ? NS_X : NULL, name);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(xb_stanza_set_attr(c, NULL, "n", name), 0);
        ck_assert_int_eq(xb_stanza_add_text(c, "a", 1), 0);
        ck_assert_int_eq(xb_stanza_add_text(c, "bc", 2), 0);
    }
    copy = xb_stanza_copy(st);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(xb_stanza_equal(copy, st), 1);
    ck_assert_uint_gt(xb_stanza_mem(copy), 0);
    ck_assert_uint_le(xb_stanza_mem(copy), xb_stanza_mem(st));
    xb_stanza_free(st);
    xb_stanza_free(copy);
}
END_TEST

START_TEST(test_stanza_copy_parsed)
{
    struct xb_stanza *parsed =
        tu_element("<message xmlns='jabber:client' to='a@b' type='chat' "
                   "id='m1'>lead<body>hi</body><thread>t1</thread>"
                   "<x xmlns='urn:example:x'><item jid='c@d'/><note/>"
                   "<item jid='e@f'/></x>tail</message>");
    struct xb_stanza *copy;

    /* The builder and the parser agree on the fixture tree. */
    ck_assert_int_eq(xb_stanza_equal(parsed, msg), 1);
    copy = xb_stanza_copy(parsed);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(xb_stanza_equal(copy, msg), 1);
    xb_stanza_free(parsed);
    xb_stanza_free(copy);
}
END_TEST

START_TEST(test_stanza_add_copy)
{
    struct xb_stanza *iq = xb_stanza_new(XB_NS_CLIENT, "iq");
    struct xb_stanza *x = xb_stanza_child(msg, NS_X, "x");
    struct xb_stanza *q, *added, *item;

    ck_assert_ptr_nonnull(iq);
    q = xb_stanza_add_child(iq, NS_Y, "query");
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(xb_stanza_add_text(q, "before", 6), 0);

    added = xb_stanza_add_copy(q, x);
    ck_assert_ptr_nonnull(added);
    ck_assert_ptr_ne(added, x);
    ck_assert_int_eq(xb_stanza_equal(added, x), 1);
    ck_assert_ptr_eq(xb_stanza_parent(added), q);
    ck_assert_ptr_eq(last_node(q), added);
    ck_assert_str_eq(xb_stanza_ns(added), NS_X);
    ck_assert_str_eq(xb_stanza_text(q, NULL), "before");

    /* The whole other root, as the next sibling. */
    ck_assert_ptr_nonnull(xb_stanza_add_copy(q, msg));
    ck_assert_uint_eq(count_nodes(q), 3);
    ck_assert_int_eq(xb_stanza_equal(last_node(q), msg), 1);

    /* Text added after a copied element starts a new node. */
    ck_assert_int_eq(xb_stanza_add_text(q, "after", 5), 0);
    ck_assert_uint_eq(count_nodes(q), 4);

    /* The copies live in iq's tree and outlive the source. */
    xb_stanza_free(msg);
    msg = NULL;
    item = xb_stanza_child(added, NS_X, "item");
    ck_assert_ptr_nonnull(item);
    ck_assert_str_eq(xb_stanza_attr(item, NULL, "jid"), "c@d");
    ck_assert_ptr_eq(xb_stanza_parent(item), added);
    ck_assert_str_eq(xb_stanza_child_text(xb_stanza_next(added), NULL, "body"),
                     "hi");
    xb_stanza_free(iq);
}
END_TEST

START_TEST(test_stanza_add_copy_same_tree)
{
    struct xb_stanza *body = xb_stanza_child(msg, NULL, "body");
    struct xb_stanza *x = xb_stanza_child(msg, NS_X, "x");
    struct xb_stanza *added;

    /* A sibling, copied into another branch of its own tree. */
    added = xb_stanza_add_copy(x, body);
    ck_assert_ptr_nonnull(added);
    ck_assert_int_eq(xb_stanza_equal(added, body), 1);
    ck_assert_ptr_eq(xb_stanza_parent(added), x);
    ck_assert_str_eq(xb_stanza_ns(added), XB_NS_CLIENT);
    ck_assert_uint_eq(count_nodes(x), 4);
    ck_assert_uint_eq(count_nodes(msg), 5);
}
END_TEST

START_TEST(test_stanza_add_copy_ancestor)
{
    struct xb_stanza *snapshot = xb_stanza_copy(msg);
    struct xb_stanza *item, *added;

    /* The copy is of the tree as it was before the call. */
    ck_assert_ptr_nonnull(snapshot);
    item = xb_stanza_child(xb_stanza_child(msg, NS_X, "x"), NULL, "item");
    added = xb_stanza_add_copy(item, msg);
    ck_assert_ptr_nonnull(added);
    ck_assert_ptr_eq(xb_stanza_parent(added), item);
    ck_assert_int_eq(xb_stanza_equal(added, snapshot), 1);
    ck_assert_uint_eq(count_nodes(item), 1);
    xb_stanza_free(snapshot);

    /* An element into itself. */
    item = xb_stanza_child(msg, NULL, "thread");
    snapshot = xb_stanza_copy(item);
    ck_assert_ptr_nonnull(snapshot);
    added = xb_stanza_add_copy(item, item);
    ck_assert_ptr_nonnull(added);
    ck_assert_ptr_eq(xb_stanza_parent(added), item);
    ck_assert_int_eq(xb_stanza_equal(added, snapshot), 1);
    ck_assert_uint_eq(count_nodes(item), 2);
    xb_stanza_free(snapshot);
}
END_TEST

START_TEST(test_stanza_add_copy_text)
{
    struct xb_stanza *t = xb_stanza_first(msg);
    struct xb_stanza *body = xb_stanza_child(msg, NULL, "body");

    ck_assert_int_eq(xb_stanza_is_text(t), 1);
    ck_assert_ptr_null(xb_stanza_add_copy(t, body));
    ck_assert_ptr_null(xb_stanza_add_copy(body, t));
    ck_assert_uint_eq(count_nodes(body), 1);
}
END_TEST

START_TEST(test_stanza_equal_same)
{
    struct xb_stanza *a = build_pair_member();
    struct xb_stanza *b = build_pair_member();
    struct xb_stanza *other = build_message();

    ck_assert_int_eq(xb_stanza_equal(a, a), 1);
    ck_assert_int_eq(xb_stanza_equal(a, b), 1);
    ck_assert_int_eq(xb_stanza_equal(b, a), 1);
    ck_assert_int_eq(xb_stanza_equal(msg, other), 1);
    ck_assert_int_eq(xb_stanza_equal(xb_stanza_child(msg, NS_X, "x"),
                                     xb_stanza_child(other, NS_X, "x")),
                     1);
    assert_differ(a, msg);
    xb_stanza_free(a);
    xb_stanza_free(b);
    xb_stanza_free(other);
}
END_TEST

START_TEST(test_stanza_equal_merged_text)
{
    struct xb_stanza *a = xb_stanza_new(NULL, "b");
    struct xb_stanza *b = xb_stanza_new(NULL, "b");

    /* Text added in pieces equals text added at once. */
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(xb_stanza_add_text(a, "hello world", 11), 0);
    ck_assert_int_eq(xb_stanza_add_text(b, "hel", 3), 0);
    ck_assert_int_eq(xb_stanza_add_text(b, "lo ", 3), 0);
    ck_assert_int_eq(xb_stanza_add_text(b, "world", 5), 0);
    ck_assert_int_eq(xb_stanza_equal(a, b), 1);
    xb_stanza_free(a);
    xb_stanza_free(b);
}
END_TEST

START_TEST(test_stanza_equal_attr_order)
{
    struct xb_stanza *a = xb_stanza_new(NULL, "x");
    struct xb_stanza *b = xb_stanza_new(NULL, "x");

    ck_assert_int_eq(xb_stanza_set_attr(a, NULL, "p", "1"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(a, NULL, "q", "2"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "q", "2"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "p", "1"), 0);
    assert_differ(a, b);
    xb_stanza_free(a);
    xb_stanza_free(b);
}
END_TEST

START_TEST(test_stanza_equal_attr_value)
{
    struct xb_stanza *a = build_pair_member();
    struct xb_stanza *b = build_pair_member();

    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "id", "2"), 0);
    assert_differ(a, b);
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "id", "1"), 0);
    ck_assert_int_eq(xb_stanza_equal(a, b), 1);
    /* A prefix of the value is not the value. */
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "id", "10"), 0);
    assert_differ(a, b);
    xb_stanza_free(a);
    xb_stanza_free(b);
}
END_TEST

START_TEST(test_stanza_equal_attr_missing)
{
    struct xb_stanza *a = build_pair_member();
    struct xb_stanza *b = build_pair_member();

    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "from", "c@d"), 0);
    assert_differ(a, b);
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "from", NULL), 0);
    ck_assert_int_eq(xb_stanza_equal(a, b), 1);
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "id", NULL), 0);
    assert_differ(a, b);
    xb_stanza_free(a);
    xb_stanza_free(b);
}
END_TEST

START_TEST(test_stanza_equal_attr_ns)
{
    struct xb_stanza *a = xb_stanza_new(NULL, "x");
    struct xb_stanza *b = xb_stanza_new(NULL, "x");

    ck_assert_int_eq(xb_stanza_set_attr(a, XB_NS_XML, "lang", "en"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "lang", "en"), 0);
    assert_differ(a, b);
    xb_stanza_free(a);
    xb_stanza_free(b);
}
END_TEST

START_TEST(test_stanza_equal_text)
{
    struct xb_stanza *a = build_pair_member();
    struct xb_stanza *b = build_pair_member();
    struct xb_stanza *c = build_pair_member();
    struct xb_stanza *bare = xb_stanza_new(NULL, "t");
    struct xb_stanza *texted = xb_stanza_new(NULL, "t");

    /* Longer text. */
    ck_assert_int_eq(xb_stanza_add_text(xb_stanza_child(b, NULL, NULL), "!", 1),
                     0);
    assert_differ(a, b);
    /* Same length, different bytes. */
    xb_stanza_free(b);
    b = xb_stanza_new(XB_NS_CLIENT, "iq");
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "type", "get"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "id", "1"), 0);
    ck_assert_int_eq(
        xb_stanza_add_text(xb_stanza_add_child(b, NS_X, "query"), "texT", 4),
        0);
    assert_differ(a, b);
    /* Text at another level. */
    ck_assert_int_eq(xb_stanza_add_text(c, "text", 4), 0);
    assert_differ(a, c);
    /* Some text against none. */
    ck_assert_int_eq(xb_stanza_add_text(texted, "x", 1), 0);
    assert_differ(bare, texted);
    xb_stanza_free(a);
    xb_stanza_free(b);
    xb_stanza_free(c);
    xb_stanza_free(bare);
    xb_stanza_free(texted);
}
END_TEST

START_TEST(test_stanza_equal_children)
{
    struct xb_stanza *a = build_pair_member();
    struct xb_stanza *b = build_pair_member();
    struct xb_stanza *p = xb_stanza_new(NULL, "p");
    struct xb_stanza *q = xb_stanza_new(NULL, "p");

    /* An extra child, empty or not, at the end or deeper down. */
    ck_assert_ptr_nonnull(xb_stanza_add_child(b, NULL, "extra"));
    assert_differ(a, b);
    xb_stanza_free(b);
    b = build_pair_member();
    ck_assert_ptr_nonnull(
        xb_stanza_add_child(xb_stanza_child(b, NULL, NULL), NULL, "deep"));
    assert_differ(a, b);

    /* The same children in another order. */
    ck_assert_ptr_nonnull(xb_stanza_add_child(p, NULL, "one"));
    ck_assert_ptr_nonnull(xb_stanza_add_child(p, NULL, "two"));
    ck_assert_ptr_nonnull(xb_stanza_add_child(q, NULL, "two"));
    ck_assert_ptr_nonnull(xb_stanza_add_child(q, NULL, "one"));
    assert_differ(p, q);
    xb_stanza_free(a);
    xb_stanza_free(b);
    xb_stanza_free(p);
    xb_stanza_free(q);
}
END_TEST

START_TEST(test_stanza_equal_text_position)
{
    struct xb_stanza *a = xb_stanza_new(NULL, "p");
    struct xb_stanza *b = xb_stanza_new(NULL, "p");

    /* "t<b/>" is not "<b/>t". */
    ck_assert_int_eq(xb_stanza_add_text(a, "t", 1), 0);
    ck_assert_ptr_nonnull(xb_stanza_add_child(a, NULL, "b"));
    ck_assert_ptr_nonnull(xb_stanza_add_child(b, NULL, "b"));
    ck_assert_int_eq(xb_stanza_add_text(b, "t", 1), 0);
    assert_differ(a, b);
    xb_stanza_free(a);
    xb_stanza_free(b);
}
END_TEST

START_TEST(test_stanza_equal_ns)
{
    struct xb_stanza *a = xb_stanza_new(XB_NS_CLIENT, "message");
    struct xb_stanza *b = xb_stanza_new(XB_NS_SERVER, "message");
    struct xb_stanza *c = xb_stanza_new(NULL, "message");
    struct xb_stanza *d = build_pair_member();
    struct xb_stanza *e = xb_stanza_new(XB_NS_CLIENT, "iq");
    struct xb_stanza *q;

    assert_differ(a, b);
    assert_differ(a, c);
    /* Namespace of a child only. */
    ck_assert_int_eq(xb_stanza_set_attr(e, NULL, "type", "get"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(e, NULL, "id", "1"), 0);
    q = xb_stanza_add_child(e, NS_Y, "query");
    ck_assert_int_eq(xb_stanza_add_text(q, "text", 4), 0);
    assert_differ(d, e);
    xb_stanza_free(a);
    xb_stanza_free(b);
    xb_stanza_free(c);
    xb_stanza_free(d);
    xb_stanza_free(e);
}
END_TEST

START_TEST(test_stanza_equal_name)
{
    struct xb_stanza *a = xb_stanza_new(XB_NS_CLIENT, "message");
    struct xb_stanza *b = xb_stanza_new(XB_NS_CLIENT, "messages");

    assert_differ(a, b);
    /* An element is not a text node. */
    assert_differ(a, xb_stanza_first(msg));
    xb_stanza_free(a);
    xb_stanza_free(b);
}
END_TEST

START_TEST(test_stanza_mem)
{
    struct xb_stanza *st = xb_stanza_new(XB_NS_CLIENT, "iq");
    struct xb_stanza *c = NULL;
    size_t first, mem;
    int i;

    ck_assert_ptr_nonnull(st);
    first = xb_stanza_mem(st);
    ck_assert_uint_gt(first, 0);

    /* An arena may have room to spare, but not for a thousand children. */
    for (i = 0; i < 1000; i++) {
        c = xb_stanza_add_child(st, NULL, "child");
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(xb_stanza_set_attr(c, NULL, "attr", "value"), 0);
        ck_assert_uint_ge(xb_stanza_mem(st), first);
    }
    mem = xb_stanza_mem(st);
    ck_assert_uint_gt(mem, first);
    /* Every node reports its whole tree. */
    ck_assert_uint_eq(xb_stanza_mem(c), mem);
    ck_assert_uint_eq(xb_stanza_mem(xb_stanza_first(st)), mem);

    ck_assert_int_eq(xb_stanza_add_text(c, "x", 1), 0);
    ck_assert_uint_ge(xb_stanza_mem(st), mem);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_mem_text)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "body");
    char *text = make_big_text(65536);
    size_t first;

    ck_assert_ptr_nonnull(st);
    first = xb_stanza_mem(st);
    ck_assert_int_eq(xb_stanza_add_text(st, text, 65536), 0);
    ck_assert_uint_ge(xb_stanza_mem(st), first + 65536);
    ck_assert_uint_ge(xb_stanza_mem(xb_stanza_first(st)), first + 65536);
    free(text);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_stanza_wide_tree)
{
    struct xb_stanza *st = xb_stanza_new(XB_NS_CLIENT, "iq");
    struct xb_stanza *c, *copy;
    char value[16];
    const char *v;
    unsigned i, n;

    ck_assert_ptr_nonnull(st);
    /* (ck_abort_msg only on failure: a ck_assert per node is slow.) */
    for (i = 0; i < 10000; i++) {
        snprintf(value, sizeof value, "%u", i);
        c = xb_stanza_add_child(st, NULL, "item");
        if (!c || xb_stanza_set_attr(c, NULL, "n", value) != 0)
            ck_abort_msg("adding child %u failed", i);
    }
    ck_assert_uint_eq(count_nodes(st), 10000);

    /* In order, each with its own attribute. */
    n = 0;
    for (c = xb_stanza_child(st, NULL, "item"); c;
         c = xb_stanza_next_child(c, NULL, "item")) {
        snprintf(value, sizeof value, "%u", n);
        v = xb_stanza_attr(c, NULL, "n");
        if (!v || strcmp(v, value) != 0 || xb_stanza_parent(c) != st)
            ck_abort_msg("child %u: n='%s'", n, v ? v : "(none)");
        n++;
    }
    ck_assert_uint_eq(n, 10000);

    copy = xb_stanza_copy(st);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(xb_stanza_equal(copy, st), 1);
    ck_assert_uint_eq(count_nodes(copy), 10000);
    ck_assert_uint_le(xb_stanza_mem(copy), xb_stanza_mem(st));
    ck_assert_str_eq(xb_stanza_attr(last_node(copy), NULL, "n"), "9999");
    xb_stanza_free(st);
    xb_stanza_free(copy);
}
END_TEST

/* Descends through only children to the bottom element of a chain. */
static struct xb_stanza *chain_bottom(struct xb_stanza *p)
{
    struct xb_stanza *c;

    while ((c = xb_stanza_child(p, NULL, NULL)) != NULL)
        p = c;
    return p;
}

/*
 * Builds a chain of depth elements, each the only child of the one above,
 * with text in the last one. Up to 1000 levels are added one by one; deeper
 * chains (depth a multiple of 1000) are stacked copies of a 1000-level one,
 * since each add costs a walk up to the root.
 */
static struct xb_stanza *build_chain(unsigned depth, struct xb_stanza **leaf)
{
    struct xb_stanza *root = xb_stanza_new(NS_X, "d");
    struct xb_stanza *p = root, *unit;
    unsigned i;

    ck_assert_ptr_nonnull(root);
    for (i = 1; i < depth && i < 1000; i++) {
        p = xb_stanza_add_child(p, NULL, "d");
        ck_assert_ptr_nonnull(p);
    }
    if (depth > 1000) {
        ck_assert_uint_eq(depth % 1000, 0);
        unit = xb_stanza_copy(root);
        ck_assert_ptr_nonnull(unit);
        for (i = 1000; i < depth; i += 1000) {
            p = xb_stanza_add_copy(p, unit);
            ck_assert_ptr_nonnull(p);
            p = chain_bottom(p);
        }
        xb_stanza_free(unit);
    }
    ck_assert_int_eq(xb_stanza_add_text(p, "bottom", 6), 0);
    *leaf = p;
    return root;
}

/* Checks a chain from build_chain(), down and back up, and copies it. */
static void check_chain(struct xb_stanza *root, struct xb_stanza *leaf,
                        unsigned depth)
{
    struct xb_stanza *p, *copy, *other;
    unsigned n;

    n = 1;
    for (p = root; xb_stanza_child(p, NULL, NULL); p = xb_stanza_first(p))
        n++;
    ck_assert_uint_eq(n, depth);
    ck_assert_ptr_eq(p, leaf);
    ck_assert_str_eq(xb_stanza_text(p, NULL), "bottom");
    ck_assert_str_eq(xb_stanza_ns(p), NS_X);

    n = 1;
    for (p = leaf; xb_stanza_parent(p); p = xb_stanza_parent(p))
        n++;
    ck_assert_uint_eq(n, depth);
    ck_assert_ptr_eq(p, root);

    copy = xb_stanza_copy(root);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(xb_stanza_equal(copy, root), 1);
    ck_assert_uint_le(xb_stanza_mem(copy), xb_stanza_mem(root));

    /* One more level at the bottom of the copy makes them differ. */
    for (p = copy; xb_stanza_child(p, NULL, NULL); p = xb_stanza_first(p))
        ;
    ck_assert_ptr_nonnull(xb_stanza_add_child(p, NULL, "d"));
    ck_assert_int_eq(xb_stanza_equal(copy, root), 0);

    /* And the subtree below the root copies as well. */
    other = xb_stanza_copy(xb_stanza_first(root));
    ck_assert_ptr_nonnull(other);
    ck_assert_int_eq(xb_stanza_equal(other, xb_stanza_first(root)), 1);
    ck_assert_ptr_nonnull(xb_stanza_add_copy(other, root));
    xb_stanza_free(copy);
    xb_stanza_free(other);
}

START_TEST(test_stanza_deep_tree)
{
    struct xb_stanza *leaf;
    struct xb_stanza *root = build_chain(1000, &leaf);

    check_chain(root, leaf, 1000);
    xb_stanza_free(root);
}
END_TEST

START_TEST(test_stanza_very_deep_tree)
{
    struct xb_stanza *leaf;
    struct xb_stanza *root = build_chain(100000, &leaf);

    /* Deep enough that recursion over the tree would need a large stack. */
    check_chain(root, leaf, 100000);
    xb_stanza_free(root);
}
END_TEST

START_TEST(test_stanza_large_text)
{
    const size_t size = (size_t)1 << 20;
    char *text = make_big_text(size);
    struct xb_stanza *a = xb_stanza_new(NULL, "body");
    struct xb_stanza *b = xb_stanza_new(NULL, "body");
    struct xb_stanza *copy;
    const char *got;
    size_t len = 0, off;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(xb_stanza_add_text(a, text, size), 0);
    got = xb_stanza_text(a, &len);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(len, size);
    ck_assert_msg(memcmp(got, text, size) == 0, "1 MiB text differs");
    ck_assert_int_eq(got[size], '\0');

    /*
     * The same text in 16 KiB pieces merges into one equal node. (Each
     * merge re-copies the run into fresh arena space, so small pieces would
     * make this test use memory quadratic in the size.)
     */
    for (off = 0; off < size; off += 16384)
        ck_assert_int_eq(xb_stanza_add_text(b, text + off, 16384), 0);
    ck_assert_uint_eq(count_nodes(b), 1);
    got = xb_stanza_text(b, &len);
    ck_assert_uint_eq(len, size);
    ck_assert_msg(memcmp(got, text, size) == 0, "merged text differs");
    ck_assert_int_eq(xb_stanza_equal(a, b), 1);

    copy = xb_stanza_copy(b);
    ck_assert_ptr_nonnull(copy);
    got = xb_stanza_text(copy, &len);
    ck_assert_uint_eq(len, size);
    ck_assert_msg(memcmp(got, text, size) == 0, "copied text differs");
    ck_assert_int_eq(xb_stanza_equal(copy, a), 1);
    ck_assert_uint_ge(xb_stanza_mem(copy), size);
    ck_assert_uint_le(xb_stanza_mem(copy), xb_stanza_mem(b));

    free(text);
    xb_stanza_free(a);
    xb_stanza_free(b);
    xb_stanza_free(copy);
}
END_TEST

static Suite *stanza_suite(void)
{
    Suite *s;
    TCase *tc_build, *tc_attr, *tc_access, *tc_copy, *tc_equal, *tc_mem,
        *tc_big;

    s = suite_create("stanza");

    tc_build = tcase_create("build");
    tcase_add_checked_fixture(tc_build, setup, teardown);
    tcase_add_test(tc_build, test_stanza_new);
    tcase_add_test(tc_build, test_stanza_new_no_ns);
    tcase_add_test(tc_build, test_stanza_names);
    tcase_add_test(tc_build, test_stanza_new_copies_strings);
    tcase_add_test(tc_build, test_stanza_free_null);
    tcase_add_test(tc_build, test_stanza_add_child_inherits_ns);
    tcase_add_test(tc_build, test_stanza_add_child_other_ns);
    tcase_add_test(tc_build, test_stanza_add_child_no_ns);
    tcase_add_test(tc_build, test_stanza_add_child_order);
    tcase_add_test(tc_build, test_stanza_add_child_to_text);
    tcase_add_test(tc_build, test_stanza_add_text);
    tcase_add_test(tc_build, test_stanza_add_text_len);
    tcase_add_test(tc_build, test_stanza_add_text_copies);
    tcase_add_test(tc_build, test_stanza_add_text_merge);
    tcase_add_test(tc_build, test_stanza_add_text_nul);
    tcase_add_test(tc_build, test_stanza_add_text_on_text);
    tcase_add_test(tc_build, test_stanza_set_text);
    tcase_add_test(tc_build, test_stanza_set_attr_at);
    suite_add_tcase(s, tc_build);

    tc_attr = tcase_create("attributes");
    tcase_add_checked_fixture(tc_attr, setup, teardown);
    tcase_add_test(tc_attr, test_stanza_attr_set_get);
    tcase_add_test(tc_attr, test_stanza_attr_empty_value);
    tcase_add_test(tc_attr, test_stanza_attr_copies);
    tcase_add_test(tc_attr, test_stanza_attr_order);
    tcase_add_test(tc_attr, test_stanza_attr_overwrite);
    tcase_add_test(tc_attr, test_stanza_attr_remove);
    tcase_add_test(tc_attr, test_stanza_attr_namespaced);
    tcase_add_test(tc_attr, test_stanza_attr_at_range);
    tcase_add_test(tc_attr, test_stanza_attr_on_text);
    tcase_add_test(tc_attr, test_stanza_attr_many);
    suite_add_tcase(s, tc_attr);

    tc_access = tcase_create("accessors");
    tcase_add_checked_fixture(tc_access, setup, teardown);
    tcase_add_test(tc_access, test_stanza_is);
    tcase_add_test(tc_access, test_stanza_text_node);
    tcase_add_test(tc_access, test_stanza_text_element);
    tcase_add_test(tc_access, test_stanza_text_after_child);
    tcase_add_test(tc_access, test_stanza_child);
    tcase_add_test(tc_access, test_stanza_next_child);
    tcase_add_test(tc_access, test_stanza_child_text);
    tcase_add_test(tc_access, test_stanza_navigation);
    suite_add_tcase(s, tc_access);

    tc_copy = tcase_create("copy");
    tcase_add_checked_fixture(tc_copy, setup, teardown);
    tcase_add_test(tc_copy, test_stanza_copy_root);
    tcase_add_test(tc_copy, test_stanza_copy_subtree);
    tcase_add_test(tc_copy, test_stanza_copy_independent);
    tcase_add_test(tc_copy, test_stanza_copy_outlives_source);
    tcase_add_test(tc_copy, test_stanza_copy_of_copy);
    tcase_add_test(tc_copy, test_stanza_copy_compact);
    tcase_add_test(tc_copy, test_stanza_copy_parsed);
    tcase_add_test(tc_copy, test_stanza_add_copy);
    tcase_add_test(tc_copy, test_stanza_add_copy_same_tree);
    tcase_add_test(tc_copy, test_stanza_add_copy_ancestor);
    tcase_add_test(tc_copy, test_stanza_add_copy_text);
    suite_add_tcase(s, tc_copy);

    tc_equal = tcase_create("equal");
    tcase_add_checked_fixture(tc_equal, setup, teardown);
    tcase_add_test(tc_equal, test_stanza_equal_same);
    tcase_add_test(tc_equal, test_stanza_equal_merged_text);
    tcase_add_test(tc_equal, test_stanza_equal_attr_order);
    tcase_add_test(tc_equal, test_stanza_equal_attr_value);
    tcase_add_test(tc_equal, test_stanza_equal_attr_missing);
    tcase_add_test(tc_equal, test_stanza_equal_attr_ns);
    tcase_add_test(tc_equal, test_stanza_equal_text);
    tcase_add_test(tc_equal, test_stanza_equal_children);
    tcase_add_test(tc_equal, test_stanza_equal_text_position);
    tcase_add_test(tc_equal, test_stanza_equal_ns);
    tcase_add_test(tc_equal, test_stanza_equal_name);
    suite_add_tcase(s, tc_equal);

    tc_mem = tcase_create("memory");
    tcase_add_test(tc_mem, test_stanza_mem);
    tcase_add_test(tc_mem, test_stanza_mem_text);
    suite_add_tcase(s, tc_mem);

    /* Under valgrind these take a while. */
    tc_big = tcase_create("big");
    tcase_set_timeout(tc_big, 120);
    tcase_add_test(tc_big, test_stanza_wide_tree);
    tcase_add_test(tc_big, test_stanza_deep_tree);
    tcase_add_test(tc_big, test_stanza_very_deep_tree);
    tcase_add_test(tc_big, test_stanza_large_text);
    suite_add_tcase(s, tc_big);

    return s;
}

int main(void)
{
    return tu_run(stanza_suite());
}
