/*
 * Tests for the serializer (core/serialize.c): exact output for built trees,
 * namespace declarations only where the namespace in scope changes, the
 * stream prefix, escaping, UTF-8 pass-through, and serialize-then-parse
 * round trips that give back an equal tree.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "parser.h"
#include "serialize.h"
#include "stanza.h"
#include "testutil.h"
#include "xmpp.h"

#define NS_X "urn:example:x"
#define NS_Y "urn:example:y"
#define NS_ROSTER "jabber:iq:roster"

/* Number of trees build_sample() makes for the round trips. */
#define NSAMPLES 13

/* Text and attribute value with all five XML special characters. */
#define SPECIALS "a<b>&c'\"d"

/* A character of each UTF-8 length: é, ☃, 😀 and 𝄞. */
#define UTF8 "h\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80 \xf0\x9d\x84\x9e"

/* <message to='a@b' type='chat'><body>hi</body></message> in jabber:client */
static struct xb_stanza *build_message(void)
{
    struct xb_stanza *m = xb_stanza_new(XB_NS_CLIENT, "message");
    struct xb_stanza *body;

    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(xb_stanza_set_attr(m, NULL, "to", "a@b"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(m, NULL, "type", "chat"), 0);
    body = xb_stanza_add_child(m, NULL, "body");
    ck_assert_ptr_nonnull(body);
    ck_assert_int_eq(xb_stanza_add_text(body, "hi", 2), 0);
    return m;
}

/* Adds a child element or fails the test. */
static struct xb_stanza *add(struct xb_stanza *parent, const char *ns,
                             const char *name)
{
    struct xb_stanza *c = xb_stanza_add_child(parent, ns, name);

    ck_assert_ptr_nonnull(c);
    return c;
}

/* Adds NUL-terminated text or fails the test. */
static void add_text(struct xb_stanza *parent, const char *text)
{
    ck_assert_int_eq(xb_stanza_add_text(parent, text, strlen(text)), 0);
}

/* Creates a root element or fails the test. */
static struct xb_stanza *new_root(const char *ns, const char *name)
{
    struct xb_stanza *st = xb_stanza_new(ns, name);

    ck_assert_ptr_nonnull(st);
    return st;
}

/* Sets an attribute or fails the test. */
static void set_attr(struct xb_stanza *st, const char *ns, const char *name,
                     const char *value)
{
    ck_assert_int_eq(xb_stanza_set_attr(st, ns, name, value), 0);
}

/* Asserts that st serializes with default_ns to exactly expect. */
static void assert_xml(const struct xb_stanza *st, const char *default_ns,
                       const char *expect)
{
    char *out = tu_serialize(st, default_ns);

    ck_assert_str_eq(out, expect);
    free(out);
}

/*
 * Parses xml, the output of serializing with default_ns. For a default
 * namespace, the element is parsed inside a wrapper that declares it (and
 * the stream prefix), as a stream header would; the result is a copy of
 * the element.
 */
static struct xb_stanza *reparse(const char *xml, const char *default_ns)
{
    static const char head[] =
        "<w xmlns='%s' xmlns:stream='" XB_NS_STREAMS "'>";
    struct xb_buf b;
    struct xb_stanza *w, *st;

    if (!default_ns)
        return tu_element(xml);
    xb_buf_init(&b);
    ck_assert_int_eq(xb_buf_reserve(&b, strlen(head) + strlen(default_ns)), 0);
    b.len = (size_t)snprintf(b.data, b.cap, head, default_ns);
    ck_assert_int_eq(xb_buf_puts(&b, xml), 0);
    ck_assert_int_eq(xb_buf_puts(&b, "</w>"), 0);
    w = tu_element(b.data);
    xb_buf_free(&b);
    ck_assert_ptr_nonnull(xb_stanza_child(w, NULL, NULL));
    st = xb_stanza_copy(xb_stanza_child(w, NULL, NULL));
    ck_assert_ptr_nonnull(st);
    xb_stanza_free(w);
    return st;
}

/* Serializes st with default_ns, parses the output back, compares. */
static void assert_round_trip(const struct xb_stanza *st,
                              const char *default_ns)
{
    char *out = tu_serialize(st, default_ns);
    struct xb_stanza *back = reparse(out, default_ns);

    ck_assert_msg(xb_stanza_equal(back, st), "round trip differs: %.500s", out);
    xb_stanza_free(back);
    free(out);
}

/* Counts the occurrences of needle in haystack. */
static unsigned count_of(const char *haystack, const char *needle)
{
    unsigned n = 0;
    const char *p = haystack;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

/* Asserts that s starts with count copies of unit. */
static void assert_repeated(const char *s, const char *unit, size_t count)
{
    size_t i, n = strlen(unit);

    /* ck_abort_msg only on failure: a ck_assert per copy is slow. */
    for (i = 0; i < count; i++)
        if (memcmp(s + i * n, unit, n) != 0)
            ck_abort_msg("copy %zu of '%s' is '%.*s'", i, unit, (int)n,
                         s + i * n);
}

/*
 * Asserts that the n bytes at s contain none of the bytes in raw, and that
 * each & starts an entity or character reference.
 */
static void assert_escaped(const char *s, size_t n, const char *raw)
{
    static const char *const entities[] = {"lt;", "gt;", "amp;", "apos;",
                                           "quot;"};
    size_t i, j, k;

    for (i = 0; i < n; i++) {
        ck_assert_msg(memchr(raw, s[i], strlen(raw)) == NULL,
                      "raw byte 0x%02x at %zu in '%.*s'", (unsigned char)s[i],
                      i, (int)n, s);
        if (s[i] != '&')
            continue;
        j = i + 1;
        if (j < n && s[j] == '#') {
            j++;
            k = j;
            if (j < n && s[j] == 'x')
                k = ++j;
            while (j < n && s[j] && strchr("0123456789abcdefABCDEF", s[j]))
                j++;
            ck_assert_msg(j > k && j < n && s[j] == ';',
                          "bad character reference at %zu in '%.*s'", i, (int)n,
                          s);
            continue;
        }
        for (k = 0; k < sizeof entities / sizeof entities[0]; k++)
            if (n - j >= strlen(entities[k]) &&
                memcmp(s + j, entities[k], strlen(entities[k])) == 0)
                break;
        ck_assert_msg(k < sizeof entities / sizeof entities[0],
                      "bare & at %zu in '%.*s'", i, (int)n, s);
    }
}

START_TEST(test_serialize_message)
{
    struct xb_stanza *m = build_message();

    assert_xml(m, XB_NS_CLIENT,
               "<message to='a@b' type='chat'><body>hi</body></message>");
    xb_stanza_free(m);
}
END_TEST

START_TEST(test_serialize_appends)
{
    struct xb_stanza *st = xb_stanza_new(NULL, "x");
    struct xb_buf b;

    ck_assert_ptr_nonnull(st);
    xb_buf_init(&b);
    ck_assert_int_eq(xb_buf_puts(&b, "head:"), 0);
    ck_assert_int_eq(xb_serialize(&b, st, NULL), 0);
    ck_assert_int_eq(xb_serialize(&b, st, XB_NS_CLIENT), 0);
    ck_assert_str_eq(b.data, "head:<x/><x xmlns=''/>");
    ck_assert_uint_eq(b.len, strlen(b.data));
    xb_buf_free(&b);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_serialize_empty)
{
    struct xb_stanza *x = xb_stanza_new(NULL, "x");
    struct xb_stanza *p = xb_stanza_new(XB_NS_CLIENT, "presence");
    struct xb_stanza *a = xb_stanza_new(XB_NS_CLIENT, "a");

    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(a);
    assert_xml(x, NULL, "<x/>");
    assert_xml(p, XB_NS_CLIENT, "<presence/>");
    set_attr(p, NULL, "type", "unavailable");
    assert_xml(p, XB_NS_CLIENT, "<presence type='unavailable'/>");
    add(add(a, NULL, "b"), NULL, "c");
    assert_xml(a, XB_NS_CLIENT, "<a><b><c/></b></a>");
    xb_stanza_free(x);
    xb_stanza_free(p);
    xb_stanza_free(a);
}
END_TEST

START_TEST(test_serialize_mixed_content)
{
    struct xb_stanza *p = xb_stanza_new(XB_NS_CLIENT, "p");

    ck_assert_ptr_nonnull(p);
    add_text(p, "one ");
    add_text(add(p, NULL, "b"), "two");
    add_text(p, " three");
    add(p, NULL, "br");
    add_text(p, "four");
    assert_xml(p, XB_NS_CLIENT, "<p>one <b>two</b> three<br/>four</p>");
    xb_stanza_free(p);
}
END_TEST

START_TEST(test_serialize_attr_order)
{
    struct xb_stanza *st = xb_stanza_new(XB_NS_CLIENT, "iq");

    ck_assert_ptr_nonnull(st);
    set_attr(st, NULL, "type", "set");
    set_attr(st, NULL, "id", "1");
    set_attr(st, NULL, "to", "x@y");
    set_attr(st, NULL, "id", "2");
    set_attr(st, NULL, "from", "z@y");
    set_attr(st, NULL, "to", NULL);
    set_attr(st, NULL, "empty", "");
    assert_xml(st, XB_NS_CLIENT, "<iq type='set' id='2' from='z@y' empty=''/>");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_serialize_text_node)
{
    struct xb_stanza *m = build_message();
    struct xb_stanza *text = xb_stanza_first(xb_stanza_child(m, NULL, "body"));
    struct xb_buf b;

    ck_assert_int_eq(xb_stanza_is_text(text), 1);
    xb_buf_init(&b);
    ck_assert_int_eq(xb_serialize(&b, text, XB_NS_CLIENT), XB_EINVAL);
    ck_assert_int_eq(xb_serialize(&b, text, NULL), XB_EINVAL);
    xb_buf_free(&b);
    xb_stanza_free(m);
}
END_TEST

START_TEST(test_serialize_foreign_ns)
{
    struct xb_stanza *iq = xb_stanza_new(XB_NS_CLIENT, "iq");
    struct xb_stanza *q, *item;

    ck_assert_ptr_nonnull(iq);
    set_attr(iq, NULL, "type", "result");
    set_attr(iq, NULL, "id", "r1");
    q = add(iq, NS_ROSTER, "query");
    item = add(q, NULL, "item");
    set_attr(item, NULL, "jid", "x@y");
    add_text(add(item, NULL, "group"), "Friends");
    set_attr(add(q, NULL, "item"), NULL, "jid", "z@y");
    assert_xml(iq, XB_NS_CLIENT,
               "<iq type='result' id='r1'><query xmlns='jabber:iq:roster'>"
               "<item jid='x@y'><group>Friends</group></item>"
               "<item jid='z@y'/></query></iq>");
    xb_stanza_free(iq);
}
END_TEST

START_TEST(test_serialize_back_to_parent_ns)
{
    struct xb_stanza *m = xb_stanza_new(XB_NS_CLIENT, "message");
    struct xb_stanza *n = xb_stanza_new(XB_NS_CLIENT, "message");
    struct xb_stanza *x;

    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(n);
    /* A sibling after a foreign element is back in the outer scope. */
    add(m, NS_X, "x");
    add_text(add(m, NULL, "body"), "hi");
    add(m, NS_X, "y");
    assert_xml(m, XB_NS_CLIENT,
               "<message><x xmlns='urn:example:x'/><body>hi</body>"
               "<y xmlns='urn:example:x'/></message>");

    /* Inside the foreign element the outer namespace must be declared. */
    x = add(n, NS_X, "x");
    add_text(add(x, XB_NS_CLIENT, "body"), "hi");
    add(x, NULL, "z");
    add(n, NULL, "thread");
    assert_xml(n, XB_NS_CLIENT,
               "<message><x xmlns='urn:example:x'>"
               "<body xmlns='jabber:client'>hi</body><z/></x>"
               "<thread/></message>");
    xb_stanza_free(m);
    xb_stanza_free(n);
}
END_TEST

START_TEST(test_serialize_nested_foreign_ns)
{
    struct xb_stanza *m = xb_stanza_new(XB_NS_CLIENT, "message");
    struct xb_stanza *x, *y;

    ck_assert_ptr_nonnull(m);
    x = add(m, NS_X, "x");
    y = add(x, NS_Y, "y");
    add(y, NULL, "yy");
    add(x, NULL, "xx");
    assert_xml(m, XB_NS_CLIENT,
               "<message><x xmlns='urn:example:x'><y xmlns='urn:example:y'>"
               "<yy/></y><xx/></x></message>");
    xb_stanza_free(m);
}
END_TEST

START_TEST(test_serialize_standalone)
{
    struct xb_stanza *p = xb_stanza_new(XB_NS_CLIENT, "presence");
    struct xb_stanza *m = build_message();
    char *out;

    ck_assert_ptr_nonnull(p);
    assert_xml(p, NULL, "<presence xmlns='jabber:client'/>");
    add_text(add(p, NULL, "status"), "away");
    assert_xml(p, NULL,
               "<presence xmlns='jabber:client'><status>away</status>"
               "</presence>");

    /* With attributes too: declared once, on the root. */
    out = tu_serialize(m, NULL);
    ck_assert_uint_eq(count_of(out, "xmlns"), 1);
    ck_assert_ptr_nonnull(strstr(out, " xmlns='jabber:client'"));
    ck_assert_ptr_nonnull(strstr(out, "<body>hi</body></message>"));
    free(out);
    assert_round_trip(m, NULL);
    xb_stanza_free(p);
    xb_stanza_free(m);
}
END_TEST

START_TEST(test_serialize_subtree)
{
    struct xb_stanza *m = build_message();
    struct xb_stanza *body = xb_stanza_child(m, NULL, "body");
    struct xb_stanza *x = add(m, NS_X, "x");

    add(x, NULL, "inner");
    assert_xml(body, XB_NS_CLIENT, "<body>hi</body>");
    assert_xml(body, NULL, "<body xmlns='jabber:client'>hi</body>");
    assert_xml(x, XB_NS_CLIENT, "<x xmlns='urn:example:x'><inner/></x>");
    assert_xml(x, NS_X, "<x><inner/></x>");
    xb_stanza_free(m);
}
END_TEST

START_TEST(test_serialize_no_ns)
{
    struct xb_stanza *m = xb_stanza_new(XB_NS_CLIENT, "message");
    struct xb_stanza *x = xb_stanza_new("", "x");
    struct xb_stanza *plain;

    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(x);
    plain = add(m, "", "plain");
    add(plain, NULL, "inner");
    add(m, NULL, "body");
    assert_xml(m, XB_NS_CLIENT,
               "<message><plain xmlns=''><inner/></plain><body/></message>");
    assert_xml(m, NULL,
               "<message xmlns='jabber:client'><plain xmlns=''><inner/>"
               "</plain><body/></message>");

    add(x, NULL, "y");
    assert_xml(x, NULL, "<x><y/></x>");
    assert_xml(x, XB_NS_CLIENT, "<x xmlns=''><y/></x>");
    xb_stanza_free(m);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_stream_ns)
{
    struct xb_stanza *f = xb_stanza_new(XB_NS_STREAMS, "features");
    struct xb_stanza *tls;

    ck_assert_ptr_nonnull(f);
    tls = add(f, XB_NS_TLS, "starttls");
    add(tls, NULL, "required");
    assert_xml(f, XB_NS_CLIENT,
               "<stream:features><starttls "
               "xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
               "</starttls></stream:features>");
    assert_xml(f, NULL,
               "<stream:features "
               "xmlns:stream='http://etherx.jabber.org/streams'><starttls "
               "xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
               "</starttls></stream:features>");
    assert_round_trip(f, NULL);
    assert_round_trip(f, XB_NS_CLIENT);
    xb_stanza_free(f);
}
END_TEST

/* An element in the XML namespace (expat accepts <xml:er/>) keeps the
 * predeclared xml: prefix: declaring that namespace as the default is not
 * namespace-well-formed. Its children stay in the default in scope. */
START_TEST(test_serialize_xml_ns_element)
{
    struct xb_stanza *m = xb_stanza_new(XB_NS_CLIENT, "message");
    struct xb_stanza *x = xb_stanza_new(XB_NS_XML, "er");
    struct xb_stanza *b, *c;

    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(x);
    b = add(m, XB_NS_XML, "b");
    ck_assert_int_eq(xb_stanza_set_attr(b, NULL, "a", "1"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(b, XB_NS_XML, "lang", "en"), 0);
    c = add(b, XB_NS_CLIENT, "c");
    add(c, XB_NS_XML, "d");
    assert_xml(m, XB_NS_CLIENT,
               "<message><xml:b a='1' xml:lang='en'><c><xml:d/></c></xml:b>"
               "</message>");
    assert_xml(x, XB_NS_CLIENT, "<xml:er/>");
    assert_xml(x, NULL, "<xml:er/>");
    assert_round_trip(m, NULL);
    assert_round_trip(m, XB_NS_CLIENT);
    assert_round_trip(x, NULL);
    assert_round_trip(x, XB_NS_CLIENT);
    xb_stanza_free(m);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_stream_empty)
{
    struct xb_stanza *f = xb_stanza_new(XB_NS_STREAMS, "features");

    ck_assert_ptr_nonnull(f);
    assert_xml(f, XB_NS_CLIENT, "<stream:features/>");
    assert_xml(f, XB_NS_SERVER, "<stream:features/>");
    assert_xml(f, NULL,
               "<stream:features "
               "xmlns:stream='http://etherx.jabber.org/streams'/>");
    xb_stanza_free(f);
}
END_TEST

START_TEST(test_serialize_stream_error)
{
    struct xb_stanza *e = xb_stanza_new(XB_NS_STREAMS, "error");
    struct xb_stanza *text;

    ck_assert_ptr_nonnull(e);
    add(e, XB_NS_STREAM_ERRORS, "not-well-formed");
    text = add(e, XB_NS_STREAM_ERRORS, "text");
    set_attr(text, XB_NS_XML, "lang", "en");
    add_text(text, "bad XML");
    assert_xml(e, XB_NS_CLIENT,
               "<stream:error><not-well-formed "
               "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
               "xmlns='urn:ietf:params:xml:ns:xmpp-streams' "
               "xml:lang='en'>bad XML</text></stream:error>");
    assert_round_trip(e, NULL);
    assert_round_trip(e, XB_NS_CLIENT);
    xb_stanza_free(e);
}
END_TEST

START_TEST(test_serialize_stream_no_ns_child)
{
    struct xb_stanza *f = xb_stanza_new(XB_NS_STREAMS, "features");

    /* The stream prefix does not change the default namespace. */
    ck_assert_ptr_nonnull(f);
    add(f, "", "x");
    assert_xml(f, XB_NS_CLIENT,
               "<stream:features><x xmlns=''/>"
               "</stream:features>");
    assert_xml(f, NULL,
               "<stream:features "
               "xmlns:stream='http://etherx.jabber.org/streams'><x/>"
               "</stream:features>");
    xb_stanza_free(f);
}
END_TEST

START_TEST(test_serialize_xml_lang)
{
    struct xb_stanza *m = build_message();
    struct xb_stanza *x = xb_stanza_new(NULL, "x");
    char *out;

    ck_assert_ptr_nonnull(x);
    set_attr(m, XB_NS_XML, "lang", "en");
    assert_xml(m, XB_NS_CLIENT,
               "<message to='a@b' type='chat' xml:lang='en'><body>hi</body>"
               "</message>");
    set_attr(x, XB_NS_XML, "lang", "en");
    assert_xml(x, NULL, "<x xml:lang='en'/>");

    out = tu_serialize(m, NULL);
    ck_assert_ptr_null(strstr(out, "xmlns:xml"));
    ck_assert_ptr_nonnull(strstr(out, " xml:lang='en'"));
    free(out);
    assert_round_trip(m, NULL);
    assert_round_trip(m, XB_NS_CLIENT);
    xb_stanza_free(m);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_xml_lang_and_plain_lang)
{
    struct xb_stanza *x = xb_stanza_new(NULL, "x");

    ck_assert_ptr_nonnull(x);
    set_attr(x, NULL, "lang", "fr");
    set_attr(x, XB_NS_XML, "lang", "en");
    assert_xml(x, NULL, "<x lang='fr' xml:lang='en'/>");
    assert_round_trip(x, NULL);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_ns_attr)
{
    struct xb_stanza *m = build_message();
    char *out;

    set_attr(m, NS_X, "foo", "bar");
    out = tu_serialize(m, NULL);
    /* Whatever the prefix, it is bound to the namespace and used. */
    ck_assert_ptr_nonnull(strstr(out, " xmlns:"));
    ck_assert_ptr_nonnull(strstr(out, "='urn:example:x'"));
    ck_assert_ptr_nonnull(strstr(out, ":foo='bar'"));
    ck_assert_ptr_null(strstr(out, " foo='bar'"));
    free(out);
    assert_round_trip(m, NULL);
    assert_round_trip(m, XB_NS_CLIENT);
    xb_stanza_free(m);
}
END_TEST

START_TEST(test_serialize_ns_attrs_many)
{
    struct xb_stanza *r = xb_stanza_new(NS_X, "r");
    struct xb_stanza *c, *d;

    ck_assert_ptr_nonnull(r);
    /* An attribute in the element's own namespace still needs a prefix. */
    set_attr(r, NS_X, "own", "1");
    set_attr(r, NS_Y, "other", "2");
    set_attr(r, NULL, "plain", "3");
    set_attr(r, NS_Y, "second", "4");
    set_attr(r, XB_NS_CLIENT, "client", "5");
    c = add(r, NULL, "c");
    set_attr(c, NS_Y, "other", "6");
    set_attr(c, NULL, "other", "7");
    d = add(c, NS_Y, "d");
    set_attr(d, NS_Y, "deep", "8");
    set_attr(d, NS_X, "deep", "9");
    assert_round_trip(r, NULL);
    assert_round_trip(r, XB_NS_CLIENT);
    assert_round_trip(c, NULL);
    assert_round_trip(d, NS_Y);
    xb_stanza_free(r);
}
END_TEST

START_TEST(test_serialize_escape_text)
{
    struct xb_stanza *b = xb_stanza_new(XB_NS_CLIENT, "body");
    struct xb_stanza *back;
    char *out;
    size_t n;

    ck_assert_ptr_nonnull(b);
    add_text(b, SPECIALS);
    out = tu_serialize(b, XB_NS_CLIENT);
    n = strlen(out);
    ck_assert_int_eq(strncmp(out, "<body>", 6), 0);
    ck_assert_str_eq(out + n - 7, "</body>");
    assert_escaped(out + 6, n - 13, "<");
    ck_assert_ptr_nonnull(strstr(out, "a&lt;b"));
    ck_assert_ptr_nonnull(strstr(out, "&amp;c"));
    back = reparse(out, XB_NS_CLIENT);
    ck_assert_str_eq(xb_stanza_text(back, NULL), SPECIALS);
    ck_assert_int_eq(xb_stanza_equal(back, b), 1);
    xb_stanza_free(back);
    free(out);
    xb_stanza_free(b);
}
END_TEST

START_TEST(test_serialize_escape_attr)
{
    struct xb_stanza *x = xb_stanza_new(NULL, "x");
    struct xb_stanza *back;
    char *out;
    size_t n;

    ck_assert_ptr_nonnull(x);
    set_attr(x, NULL, "v", SPECIALS);
    out = tu_serialize(x, NULL);
    n = strlen(out);
    ck_assert_int_eq(strncmp(out, "<x v='", 6), 0);
    ck_assert_str_eq(out + n - 3, "'/>");
    assert_escaped(out + 6, n - 9, "<'\"");
    ck_assert_ptr_nonnull(strstr(out, "&apos;"));
    ck_assert_ptr_nonnull(strstr(out, "&quot;"));
    ck_assert_ptr_nonnull(strstr(out, "a&lt;b"));
    ck_assert_ptr_nonnull(strstr(out, "&amp;c"));
    back = tu_element(out);
    ck_assert_str_eq(xb_stanza_attr(back, NULL, "v"), SPECIALS);
    ck_assert_int_eq(xb_stanza_equal(back, x), 1);
    xb_stanza_free(back);
    free(out);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_escape_only_specials)
{
    struct xb_stanza *x = xb_stanza_new(NULL, "x");

    ck_assert_ptr_nonnull(x);
    set_attr(x, NULL, "a", "<&>");
    add_text(x, "&&<<");
    assert_round_trip(x, NULL);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_whitespace_text)
{
    static const char text[] = "a\r\nb\rc\td\ne\r";
    struct xb_stanza *x = xb_stanza_new(NULL, "x");
    struct xb_stanza *back;
    size_t len = 0;
    char *out;

    ck_assert_ptr_nonnull(x);
    add_text(x, text);
    out = tu_serialize(x, NULL);
    ck_assert_ptr_null(strchr(out, '\r'));
    back = tu_element(out);
    ck_assert_str_eq(xb_stanza_text(back, &len), text);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_int_eq(xb_stanza_equal(back, x), 1);
    xb_stanza_free(back);
    free(out);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_whitespace_attr)
{
    static const char value[] = "a\tb\nc\rd\r\ne  f";
    struct xb_stanza *x = xb_stanza_new(NULL, "x");
    struct xb_stanza *back;
    char *out;

    ck_assert_ptr_nonnull(x);
    set_attr(x, NULL, "v", value);
    set_attr(x, NS_X, "w", "\n\t\r");
    out = tu_serialize(x, NULL);
    ck_assert_ptr_null(strchr(out, '\t'));
    ck_assert_ptr_null(strchr(out, '\n'));
    ck_assert_ptr_null(strchr(out, '\r'));
    back = tu_element(out);
    ck_assert_str_eq(xb_stanza_attr(back, NULL, "v"), value);
    ck_assert_str_eq(xb_stanza_attr(back, NS_X, "w"), "\n\t\r");
    ck_assert_int_eq(xb_stanza_equal(back, x), 1);
    xb_stanza_free(back);
    free(out);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_cdata_end)
{
    static const char text[] = "x]]>y]]]>z]]";
    struct xb_stanza *x = xb_stanza_new(NULL, "x");
    struct xb_stanza *back;
    char *out;

    ck_assert_ptr_nonnull(x);
    add_text(x, text);
    add_text(add(x, NULL, "y"), "]]>");
    add_text(x, ">]]>");
    out = tu_serialize(x, NULL);
    ck_assert_ptr_null(strstr(out, "]]>"));
    back = tu_element(out);
    ck_assert_str_eq(xb_stanza_text(back, NULL), text);
    ck_assert_int_eq(xb_stanza_equal(back, x), 1);
    xb_stanza_free(back);
    free(out);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_utf8)
{
    struct xb_stanza *x = xb_stanza_new(NULL, "x");

    ck_assert_ptr_nonnull(x);
    set_attr(x, NULL, "a", UTF8);
    add_text(x, UTF8);
    assert_xml(x, NULL, "<x a='" UTF8 "'>" UTF8 "</x>");
    assert_round_trip(x, NULL);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_utf8_names)
{
    /*
     * élément, été, 名 and жук: names of 2- and 3-byte characters (expat
     * follows XML 1.0 4th edition, which has no 4-byte name characters).
     */
    struct xb_stanza *x = xb_stanza_new(NULL, "\xc3\xa9l\xc3\xa9ment");

    ck_assert_ptr_nonnull(x);
    set_attr(x, NULL, "\xc3\xa9t\xc3\xa9", "v");
    set_attr(x, NULL, "\xe5\x90\x8d", "w");
    add(x, NULL, "\xd0\xb6\xd1\x83\xd0\xba");
    assert_xml(x, NULL,
               "<\xc3\xa9l\xc3\xa9ment \xc3\xa9t\xc3\xa9='v' \xe5\x90\x8d='w'>"
               "<\xd0\xb6\xd1\x83\xd0\xba/></\xc3\xa9l\xc3\xa9ment>");
    assert_round_trip(x, NULL);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_serialize_escape_function)
{
    struct xb_buf b;

    xb_buf_init(&b);
    ck_assert_int_eq(xb_serialize_escape(&b, SPECIALS, strlen(SPECIALS)), 0);
    ck_assert_str_eq(b.data, "a&lt;b&gt;&amp;c&apos;&quot;d");
    ck_assert_uint_eq(b.len, strlen(b.data));

    /* It appends; len bytes only; nothing for nothing. */
    xb_buf_reset(&b);
    ck_assert_int_eq(xb_buf_puts(&b, "pre|"), 0);
    ck_assert_int_eq(xb_serialize_escape(&b, "<&>ignored", 3), 0);
    ck_assert_int_eq(xb_serialize_escape(&b, "", 0), 0);
    ck_assert_int_eq(xb_serialize_escape(&b, "|plain", 6), 0);
    ck_assert_str_eq(b.data, "pre|&lt;&amp;&gt;|plain");

    xb_buf_reset(&b);
    ck_assert_int_eq(xb_serialize_escape(&b, "''\"\"&&", 6), 0);
    ck_assert_str_eq(b.data, "&apos;&apos;&quot;&quot;&amp;&amp;");

    xb_buf_reset(&b);
    ck_assert_int_eq(xb_serialize_escape(&b, UTF8, strlen(UTF8)), 0);
    ck_assert_str_eq(b.data, UTF8);
    xb_buf_free(&b);
}
END_TEST

START_TEST(test_serialize_escape_long)
{
    struct xb_buf b;
    char *in = malloc(100000);
    size_t i;

    ck_assert_ptr_nonnull(in);
    for (i = 0; i < 100000; i++)
        in[i] = i % 2 ? '&' : 'x';
    xb_buf_init(&b);
    ck_assert_int_eq(xb_serialize_escape(&b, in, 100000), 0);
    ck_assert_uint_eq(b.len, 50000 + 50000 * 5);
    assert_repeated(b.data, "x&amp;", 50000);
    ck_assert_int_eq(b.data[b.len], '\0');
    xb_buf_free(&b);
    free(in);
}
END_TEST

START_TEST(test_serialize_deep_tree)
{
    const unsigned depth = 100000;
    struct xb_stanza *root = new_root(XB_NS_CLIENT, "d");
    struct xb_stanza *unit, *p = root, *c;
    char *out;
    size_t i, off;

    /*
     * Serializing must not recurse once per level. The chain is 100 stacked
     * copies of a 1000-level one (each add walks up to the root).
     */
    for (i = 1; i < 1000; i++)
        p = add(p, NULL, "d");
    unit = xb_stanza_copy(root);
    ck_assert_ptr_nonnull(unit);
    for (i = 1000; i < depth; i += 1000) {
        p = xb_stanza_add_copy(p, unit);
        ck_assert_ptr_nonnull(p);
        while ((c = xb_stanza_first(p)) != NULL)
            p = c;
    }
    xb_stanza_free(unit);
    add_text(p, "x");
    out = tu_serialize(root, XB_NS_CLIENT);
    ck_assert_uint_eq(strlen(out), depth * 7 + 1);
    assert_repeated(out, "<d>", depth);
    off = 3 * (size_t)depth;
    ck_assert_int_eq(out[off], 'x');
    assert_repeated(out + off + 1, "</d>", depth);
    free(out);
    xb_stanza_free(root);
}
END_TEST

START_TEST(test_serialize_wide_tree)
{
    const unsigned width = 10000;
    struct xb_stanza *root = xb_stanza_new(XB_NS_CLIENT, "r");
    char *out;
    size_t i;

    ck_assert_ptr_nonnull(root);
    for (i = 0; i < width; i++)
        add(root, NULL, "c");
    out = tu_serialize(root, XB_NS_CLIENT);
    ck_assert_uint_eq(strlen(out), 3 + 4 * (size_t)width + 4);
    ck_assert_int_eq(memcmp(out, "<r>", 3), 0);
    assert_repeated(out + 3, "<c/>", width);
    ck_assert_str_eq(out + 3 + 4 * (size_t)width, "</r>");
    assert_round_trip(root, NULL);
    free(out);
    xb_stanza_free(root);
}
END_TEST

/* Repeated to make the long text of build_sample(). */
#define PATTERN "ab<c&d>e'f\"g\r\n]]>\t"

/* Builds the n-th tree of the round-trip set, or returns NULL past the end. */
static struct xb_stanza *build_sample(int n)
{
    struct xb_stanza *r, *c, *p;
    char *text;
    size_t i;

    switch (n) {
    case 0:
        return build_message();
    case 1:
        r = new_root(XB_NS_CLIENT, "iq");
        set_attr(r, NULL, "type", "set");
        set_attr(r, NULL, "id", "b1");
        c = add(r, XB_NS_BIND, "bind");
        add_text(add(c, NULL, "resource"), "bot");
        return r;
    case 2:
        r = new_root(XB_NS_STREAMS, "features");
        add(add(r, XB_NS_TLS, "starttls"), NULL, "required");
        c = add(r, XB_NS_SASL, "mechanisms");
        add_text(add(c, NULL, "mechanism"), "SCRAM-SHA-1");
        add_text(add(c, NULL, "mechanism"), "PLAIN");
        add(r, XB_NS_SM, "sm");
        return r;
    case 3:
        r = new_root(XB_NS_CLIENT, "presence");
        set_attr(r, NULL, "to", "room@muc.example/nick");
        set_attr(r, XB_NS_XML, "lang", "en");
        c = add(r, XB_NS_MUC, "x");
        add_text(add(c, NULL, "password"), SPECIALS);
        c = add(r, XB_NS_MUC_USER, "x");
        p = add(c, NULL, "item");
        set_attr(p, NULL, "affiliation", "none");
        set_attr(p, NULL, "role", "participant");
        add(c, NULL, "status");
        add_text(add(r, NULL, "status"), "away");
        return r;
    case 4:
        /* Mixed content with text around every element. */
        r = new_root(NULL, "p");
        add_text(r, "a");
        add_text(add(r, NS_X, "b"), "b");
        add_text(r, "c");
        add_text(add(r, "", "i"), "d");
        add_text(r, "e\r\n\t");
        return r;
    case 5:
        /* Escapes, whitespace and UTF-8 in text and attributes. */
        r = new_root(XB_NS_CLIENT, "message");
        set_attr(r, NULL, "a", SPECIALS);
        set_attr(r, NULL, "b", "\t\n\r ");
        set_attr(r, NULL, "c", UTF8);
        add_text(add(r, NULL, "body"), SPECIALS "\r\n]]>" UTF8);
        return r;
    case 6:
        /* Namespaces in and out, and no namespace under one. */
        r = new_root(XB_NS_CLIENT, "message");
        c = add(r, NS_X, "x");
        p = add(c, XB_NS_CLIENT, "body");
        add(p, "", "none");
        add(add(c, NS_Y, "y"), NULL, "yy");
        add(c, NULL, "xx");
        add(r, NULL, "thread");
        add(r, "", "plain");
        return r;
    case 7:
        /* Namespaced attributes at several levels. */
        r = new_root(NS_X, "r");
        set_attr(r, NS_Y, "a", "1");
        set_attr(r, NS_X, "a", "2");
        set_attr(r, NULL, "a", "3");
        c = add(r, NS_Y, "c");
        set_attr(c, NS_Y, "a", "4");
        set_attr(add(c, NS_X, "d"), NS_Y, "e", "5");
        return r;
    case 8:
        /* A chain well within the parser's default depth limit. */
        r = new_root(XB_NS_CLIENT, "d0");
        p = r;
        for (i = 1; i < 20; i++)
            p = add(p, i % 3 ? NULL : NS_X, i % 2 ? "odd" : "even");
        add_text(p, "bottom");
        return r;
    case 9:
        /* Many children with attributes. */
        r = new_root(XB_NS_CLIENT, "iq");
        c = add(r, NS_ROSTER, "query");
        for (i = 0; i < 300; i++) {
            char jid[32];

            snprintf(jid, sizeof jid, "user%zu@example.org", i);
            p = add(c, NULL, "item");
            set_attr(p, NULL, "jid", jid);
            if (i % 7 == 0)
                add_text(add(p, NULL, "group"), "G<&>");
        }
        return r;
    case 10:
        /* A long text that needs escaping throughout. */
        r = new_root(NULL, "body");
        text = malloc(200001);
        ck_assert_ptr_nonnull(text);
        for (i = 0; i < 200000; i++)
            text[i] = PATTERN[i % (sizeof PATTERN - 1)];
        text[200000] = '\0';
        add_text(r, text);
        free(text);
        return r;
    case 11:
        r = new_root(XB_NS_STREAMS, "error");
        add(r, XB_NS_STREAM_ERRORS, "policy-violation");
        c = add(r, XB_NS_STREAM_ERRORS, "text");
        set_attr(c, XB_NS_XML, "lang", "en");
        add_text(c, "too big");
        add(r, NS_X, "app");
        return r;
    case 12:
        return new_root(NULL, "empty");
    }
    return NULL;
}

START_TEST(test_serialize_round_trip)
{
    struct xb_stanza *st;
    int n;

    for (n = 0; (st = build_sample(n)) != NULL; n++) {
        assert_round_trip(st, NULL);
        xb_stanza_free(st);
    }
    ck_assert_int_eq(n, NSAMPLES);
}
END_TEST

START_TEST(test_serialize_round_trip_subtrees)
{
    struct xb_stanza *st, *c;
    int n;

    /* Every child element serialized on its own, standalone. */
    for (n = 0; (st = build_sample(n)) != NULL; n++) {
        for (c = xb_stanza_child(st, NULL, NULL); c;
             c = xb_stanza_next_child(c, NULL, NULL))
            assert_round_trip(c, NULL);
        xb_stanza_free(st);
    }
}
END_TEST

START_TEST(test_serialize_round_trip_stream)
{
    struct xb_stanza *st;
    int n;

    /* As written on a jabber:client stream, read back in that context. */
    for (n = 0; (st = build_sample(n)) != NULL; n++) {
        assert_round_trip(st, XB_NS_CLIENT);
        xb_stanza_free(st);
    }
}
END_TEST

START_TEST(test_serialize_round_trip_parsed)
{
    static const char *const docs[] = {
        "<message xmlns='jabber:client' to='a@b' type='chat'>"
        "<body>hi &amp; bye</body></message>",
        "<a xmlns='urn:a' xmlns:p='urn:p' p:x='1' x='2'><p:b p:y='3'/>"
        "<c xmlns=''>t</c></a>",
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
        "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
        "<x xml:lang='de'>&#xD;&#9;&#x1F600;&lt;&gt;&apos;&quot;</x>",
    };
    struct xb_stanza *st, *back;
    char *out;
    size_t i;

    /* Parse, serialize, parse again: the two trees are equal. */
    for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        st = tu_element(docs[i]);
        out = tu_serialize(st, NULL);
        back = tu_element(out);
        ck_assert_msg(xb_stanza_equal(back, st), "%s gave %s", docs[i], out);
        xb_stanza_free(back);
        free(out);
        xb_stanza_free(st);
    }
}
END_TEST

static Suite *serialize_suite(void)
{
    Suite *s;
    TCase *tc_shape, *tc_ns, *tc_attr, *tc_escape, *tc_big, *tc_trip;

    s = suite_create("serialize");

    tc_shape = tcase_create("shape");
    tcase_add_test(tc_shape, test_serialize_message);
    tcase_add_test(tc_shape, test_serialize_appends);
    tcase_add_test(tc_shape, test_serialize_empty);
    tcase_add_test(tc_shape, test_serialize_mixed_content);
    tcase_add_test(tc_shape, test_serialize_attr_order);
    tcase_add_test(tc_shape, test_serialize_text_node);
    suite_add_tcase(s, tc_shape);

    tc_ns = tcase_create("namespaces");
    tcase_add_test(tc_ns, test_serialize_foreign_ns);
    tcase_add_test(tc_ns, test_serialize_back_to_parent_ns);
    tcase_add_test(tc_ns, test_serialize_nested_foreign_ns);
    tcase_add_test(tc_ns, test_serialize_standalone);
    tcase_add_test(tc_ns, test_serialize_subtree);
    tcase_add_test(tc_ns, test_serialize_no_ns);
    tcase_add_test(tc_ns, test_serialize_stream_ns);
    tcase_add_test(tc_ns, test_serialize_xml_ns_element);
    tcase_add_test(tc_ns, test_serialize_stream_empty);
    tcase_add_test(tc_ns, test_serialize_stream_error);
    tcase_add_test(tc_ns, test_serialize_stream_no_ns_child);
    suite_add_tcase(s, tc_ns);

    tc_attr = tcase_create("namespaced attributes");
    tcase_add_test(tc_attr, test_serialize_xml_lang);
    tcase_add_test(tc_attr, test_serialize_xml_lang_and_plain_lang);
    tcase_add_test(tc_attr, test_serialize_ns_attr);
    tcase_add_test(tc_attr, test_serialize_ns_attrs_many);
    suite_add_tcase(s, tc_attr);

    tc_escape = tcase_create("escaping");
    tcase_add_test(tc_escape, test_serialize_escape_text);
    tcase_add_test(tc_escape, test_serialize_escape_attr);
    tcase_add_test(tc_escape, test_serialize_escape_only_specials);
    tcase_add_test(tc_escape, test_serialize_whitespace_text);
    tcase_add_test(tc_escape, test_serialize_whitespace_attr);
    tcase_add_test(tc_escape, test_serialize_cdata_end);
    tcase_add_test(tc_escape, test_serialize_utf8);
    tcase_add_test(tc_escape, test_serialize_utf8_names);
    tcase_add_test(tc_escape, test_serialize_escape_function);
    tcase_add_test(tc_escape, test_serialize_escape_long);
    suite_add_tcase(s, tc_escape);

    /* Under valgrind these take a while. */
    tc_big = tcase_create("big");
    tcase_set_timeout(tc_big, 120);
    tcase_add_test(tc_big, test_serialize_deep_tree);
    tcase_add_test(tc_big, test_serialize_wide_tree);
    suite_add_tcase(s, tc_big);

    tc_trip = tcase_create("round trip");
    tcase_set_timeout(tc_trip, 60);
    tcase_add_test(tc_trip, test_serialize_round_trip);
    tcase_add_test(tc_trip, test_serialize_round_trip_subtrees);
    tcase_add_test(tc_trip, test_serialize_round_trip_stream);
    tcase_add_test(tc_trip, test_serialize_round_trip_parsed);
    suite_add_tcase(s, tc_trip);

    return s;
}

int main(void)
{
    return tu_run(serialize_suite());
}
