/*
 * Tests for the stream parser: headers, stanza trees, serializer round
 * trips, hostile input, limits, the STARTTLS/SASL restart, document mode.
 * Every input is fed whole, byte by byte and in random cuts (XB_TEST_SEED).
 */
#include <check.h>
#include <stdarg.h>
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

#define NS_DECL "xmlns:stream='http://etherx.jabber.org/streams'"
#define HDR                                                                    \
    "<stream:stream xmlns='jabber:client' " NS_DECL                            \
    " to='example.com' version='1.0'>"
#define CLOSE "</stream:stream>"
#define BEFORE "<presence id='before'/>"
#define SPLIT tu_split_name(_i)

#define ASSERT_STR(split, got, want)                                           \
    do {                                                                       \
        const char *got_str = (got);                                           \
        ck_assert_msg(got_str &&strcmp(got_str, (want)) == 0,                  \
                      "%s: %s is \"%s\", expected \"%s\"",                     \
                      tu_split_name(split), #got,                              \
                      got_str ? got_str : "(null)", (want));                   \
    } while (0)

/* ---- the corpus of real stanzas --------------------------------------- */

#define MSG_ESCAPES                                                            \
    "<message to='juliet@example.com/balcony' "                                \
    "from='romeo@example.net/orchard' type='chat' id='m1'>"                    \
    "<subject>Re: &lt;tags&gt;</subject>"                                      \
    "<body>a &amp; b &lt; c &gt; d &apos; e &quot; f</body>"                   \
    "<thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>"

#define MSG_UNICODE                                                            \
    "<message type='chat' to='juliet@example.com' id='😀-1'>"                \
    "<body>Grüße, 日本語, Привет, 😀 𝄞</body>"                 \
    "<nick xmlns='http://jabber.org/protocol/nick'>Rómeo 🎭</nick>"         \
    "</message>"

#define MUC_PRESENCE                                                           \
    "<presence from='coven@chat.shakespeare.lit/thirdwitch' "                  \
    "to='hag66@shakespeare.lit/pda' id='n13mt3l'>"                             \
    "<x xmlns='http://jabber.org/protocol/muc#user'>"                          \
    "<item affiliation='member' role='participant' "                           \
    "jid='hag66@shakespeare.lit/pda'/>"                                        \
    "<status code='100'/><status code='110'/><status code='210'/>"             \
    "</x></presence>"

#define MUC_JOIN                                                               \
    "<presence to='coven@chat.shakespeare.lit/thirdwitch'>"                    \
    "<x xmlns='http://jabber.org/protocol/muc'>"                               \
    "<history maxstanzas='20'/><password>cauldronburn</password>"              \
    "</x></presence>"

#define IQ_DISCO                                                               \
    "<iq type='result' from='plays.shakespeare.lit' "                          \
    "to='romeo@montague.net/orchard' id='info1'>"                              \
    "<query xmlns='http://jabber.org/protocol/disco#info'>"                    \
    "<identity category='conference' type='text' "                             \
    "name='Play-Specific Chatrooms'/>"                                         \
    "<feature var='http://jabber.org/protocol/disco#info'/>"                   \
    "<feature var='http://jabber.org/protocol/muc'/>"                          \
    "<x xmlns='jabber:x:data' type='result'>"                                  \
    "<field var='FORM_TYPE' type='hidden'>"                                    \
    "<value>http://jabber.org/protocol/muc#roominfo</value></field>"           \
    "</x></query></iq>"

#define IQ_ROSTER                                                              \
    "<iq type='result' id='r1' to='juliet@example.com/balcony'>"               \
    "<query xmlns='jabber:iq:roster' ver='ver11'>"                             \
    "<item jid='romeo@example.net' name='Romeo' subscription='both'>"          \
    "<group>Friends</group></item>"                                            \
    "<item jid='nurse@example.com' name='Nurse' subscription='none' "          \
    "ask='subscribe'/></query></iq>"

#define IQ_VCARD                                                               \
    "<iq type='result' id='v1' to='stpeter@jabber.org/roundabout'>"            \
    "<vCard xmlns='vcard-temp'><FN>Peter Saint-Andre</FN>"                     \
    "<N><FAMILY>Saint-Andre</FAMILY><GIVEN>Peter</GIVEN></N>"                  \
    "<PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO>"       \
    "</vCard></iq>"

#define FEATURES                                                               \
    "<stream:features>"                                                        \
    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"            \
    "</starttls>"                                                              \
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"                    \
    "<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism>"           \
    "</mechanisms></stream:features>"

#define MSG_LANG                                                               \
    "<message xml:lang='en' type='chat' to='juliet@example.com'>"              \
    "<body>Hello</body><body xml:lang='de'>Hallo</body>"                       \
    "<body xml:lang='cs'>Dobrý den</body></message>"

#define MSG_CDATA                                                              \
    "<message id='c1'><body>one <![CDATA[<b>bold</b> & ]]>two"                 \
    "<![CDATA[]]>&amp;<![CDATA[]]]]>&gt;</body></message>"

#define MSG_CHARREFS                                                           \
    "<message id='cr'><body>&#65;&#x42;&#x1F600;&#233;&#xA;&#9;"               \
    "x&#13;y</body></message>"

#define MSG_QUOTES                                                             \
    "<message id=\"a'b\" to='x\"y@example.com' "                               \
    "from='&lt;&amp;&gt;&apos;&quot;' type=\"a&#9;b&#10;c&#13;d\">"            \
    "<subject>&quot;hi&quot; &amp; 'bye'</subject></message>"

#define IQ_ERROR                                                               \
    "<iq type='error' id='e1' from='example.com'>"                             \
    "<ping xmlns='urn:xmpp:ping'/><error type='cancel'>"                       \
    "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"       \
    "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>"         \
    "No &lt;service&gt; here</text></error></iq>"

#define MSG_PREFIXED                                                           \
    "<message xmlns:foo='urn:example:foo' id='p1'>"                            \
    "<body foo:hint='x' hint='y'>hi</body>"                                    \
    "<foo:thing foo:a='1' b='2'><foo:inner/><plain/></foo:thing></message>"

#define IQ_BIND                                                                \
    "<iq type='set' id='b1'>"                                                  \
    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"                          \
    "<resource>balcony</resource></bind></iq>"

#define MSG_PRETTY                                                             \
    "<message type='chat'>\n  <body>hi</body>\n  <active "                     \
    "xmlns='http://jabber.org/protocol/chatstates'/>\n</message>"

#define MSG_XHTML                                                              \
    "<message><body>hi</body>"                                                 \
    "<html xmlns='http://jabber.org/protocol/xhtml-im'>"                       \
    "<body xmlns='http://www.w3.org/1999/xhtml'>"                              \
    "<p style='font-weight:bold'>hi <em>there</em>!</p></body></html>"         \
    "</message>"

#define MSG_NO_NS                                                              \
    "<message id='nn'><nons xmlns=''><inner a='1'/></nons>"                    \
    "<back xmlns='jabber:client'/></message>"

#define MSG_EMPTY_CDATA "<message id='ec'><body><![CDATA[]]></body></message>"

static const struct corpus_entry {
    const char *name;
    const char *xml;
} corpus[] = {
    {"message with every escape", MSG_ESCAPES},
    {"unicode message", MSG_UNICODE},
    {"MUC presence", MUC_PRESENCE},
    {"MUC join", MUC_JOIN},
    {"disco#info result", IQ_DISCO},
    {"roster result", IQ_ROSTER},
    {"vcard result", IQ_VCARD},
    {"stream features", FEATURES},
    {"xml:lang", MSG_LANG},
    {"CDATA", MSG_CDATA},
    {"char refs", MSG_CHARREFS},
    {"quotes in attributes", MSG_QUOTES},
    {"iq error", IQ_ERROR},
    {"prefixed names", MSG_PREFIXED},
    {"bind", IQ_BIND},
    {"pretty printed", MSG_PRETTY},
    {"xhtml-im", MSG_XHTML},
    {"no-namespace child", MSG_NO_NS},
    {"empty CDATA", MSG_EMPTY_CDATA},
    {"sm request", "<r xmlns='urn:xmpp:sm:3'/>"},
    {"sm answer", "<a xmlns='urn:xmpp:sm:3' h='1'/>"},
    {"sasl success", "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                     "dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>"},
    {"stream error",
     "<stream:error><not-well-formed "
     "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
     "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bad</text></stream:error>"},
    {"pubsub", "<iq type='get' id='ps'>"
               "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
               "<items node='urn:xmpp:microblog:0'/></pubsub></iq>"},
    {"escaped CDATA end", "<message><body>a]]&gt;b</body></message>"},
    {"empty presence", "<presence/>"},
};

#define NCORPUS (sizeof corpus / sizeof corpus[0])

/* ---- helpers ------------------------------------------------------------ */

/* Failures collected over a table, reported in one assertion. */
struct fails {
    int count;
    size_t len;
    char text[4096];
};

__attribute__((format(printf, 2, 3))) static void fail_add(struct fails *f,
                                                           const char *fmt, ...)
{
    va_list ap;
    int n;

    f->count++;
    if (f->len + 8 >= sizeof f->text)
        return;
    f->text[f->len++] = '\n';
    va_start(ap, fmt);
    n = vsnprintf(f->text + f->len, sizeof f->text - f->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        f->len += (size_t)n < sizeof f->text - f->len
                      ? (size_t)n
                      : sizeof f->text - f->len - 1;
}

static const char *rc_name(int rc)
{
    switch (rc) {
    case 0:
        return "0";
    case XB_ENOMEM:
        return "XB_ENOMEM";
    case XB_EINVAL:
        return "XB_EINVAL";
    case XB_EXML:
        return "XB_EXML";
    case XB_ELIMIT:
        return "XB_ELIMIT";
    case XB_ESTATE:
        return "XB_ESTATE";
    default:
        return "other";
    }
}

static void put(struct xb_buf *b, const char *s, size_t n)
{
    ck_assert_int_eq(xb_buf_append(b, s, n), 0);
}

static void put_str(struct xb_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_fill(struct xb_buf *b, char c, size_t n)
{
    ck_assert_int_eq(xb_buf_reserve(b, n), 0);
    memset(b->data + b->len, c, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void put_repeat(struct xb_buf *b, const char *s, size_t times)
{
    while (times--)
        put_str(b, s);
}

/* Parses HDR followed by len bytes of body. */
static void parse_in_stream(struct tu_result *res, const char *body, size_t len,
                            enum tu_split split,
                            const struct xb_parser_limits *limits)
{
    struct xb_buf b;

    xb_buf_init(&b);
    put_str(&b, HDR);
    put(&b, body, len);
    tu_parse(res, b.data, b.len, split, limits, 0);
    xb_buf_free(&b);
}

/* Parses one stanza inside a stream and returns it; the caller frees it. */
static struct xb_stanza *parse_stanza(const char *xml, enum tu_split split)
{
    struct tu_result res;
    struct xb_stanza *st;

    parse_in_stream(&res, xml, strlen(xml), split, NULL);
    ck_assert_msg(res.rc == 0, "%s: %s: rc %s (%s)", tu_split_name(split), xml,
                  rc_name(res.rc), res.message);
    ck_assert_msg(res.nstanzas == 1, "%s: %s: %d stanzas", tu_split_name(split),
                  xml, res.nstanzas);
    st = res.stanzas[0];
    res.nstanzas = 0;
    ck_assert_ptr_null(xb_stanza_parent(st));
    return st;
}

/* The child {ns}name of st, which must exist. */
static struct xb_stanza *need(const struct xb_stanza *st, const char *ns,
                              const char *name, enum tu_split split)
{
    struct xb_stanza *c = xb_stanza_child(st, ns, name);

    ck_assert_msg(c != NULL, "%s: no child {%s}%s in <%s>",
                  tu_split_name(split), ns ? ns : "*", name,
                  xb_stanza_name(st));
    return c;
}

static int count_children(const struct xb_stanza *st, const char *ns,
                          const char *name)
{
    const struct xb_stanza *c;
    int n = 0;

    for (c = xb_stanza_child(st, ns, name); c;
         c = xb_stanza_next_child(c, ns, name))
        n++;
    return n;
}

static int count_str(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* Feeds len bytes in the given split; returns the first non-zero result. */
static int feed_split(struct xb_parser *p, const char *data, size_t len,
                      enum tu_split split, unsigned *state)
{
    size_t off = 0, n;
    int rc = 0;

    while (off < len && rc == 0) {
        if (split == TU_BYTES)
            n = 1;
        else if (split == TU_RANDOM)
            n = 1 + tu_rand(state) % 64;
        else
            n = len - off;
        if (n > len - off)
            n = len - off;
        rc = xb_parser_feed(p, data + off, n);
        off += n;
    }
    return rc;
}

/* A parser with hooks that record events and can stop the parser. */
struct sink {
    struct xb_parser *p;
    int opens, closes, nstanzas;
    int stop_on_open;    /* call xb_parser_stop() in stream_open */
    int stop_on_restart; /* ... on <proceed/> and SASL <success/> */
    char ids[4][32];
    struct xb_stanza *st[16];
};

static void sink_open(void *ud, const struct xb_stream_header *h)
{
    struct sink *s = ud;

    if (s->opens < 4)
        snprintf(s->ids[s->opens], sizeof s->ids[0], "%s", h->id ? h->id : "");
    s->opens++;
    if (s->stop_on_open)
        xb_parser_stop(s->p);
}

static void sink_stanza(void *ud, struct xb_stanza *st)
{
    struct sink *s = ud;
    int restart = xb_stanza_is(st, XB_NS_TLS, "proceed") ||
                  xb_stanza_is(st, XB_NS_SASL, "success");

    if (s->nstanzas < 16)
        s->st[s->nstanzas++] = st;
    else
        xb_stanza_free(st);
    if (restart && s->stop_on_restart)
        xb_parser_stop(s->p);
}

static void sink_close(void *ud)
{
    ((struct sink *)ud)->closes++;
}

static void sink_init(struct sink *s, const struct xb_parser_limits *limits,
                      unsigned flags)
{
    static const struct xb_parser_hooks hooks = {sink_open, sink_stanza,
                                                 sink_close};

    memset(s, 0, sizeof *s);
    s->p = xb_parser_new(&hooks, s, limits, flags);
    ck_assert_ptr_nonnull(s->p);
}

static void sink_free(struct sink *s)
{
    int i;

    for (i = 0; i < s->nstanzas; i++)
        xb_stanza_free(s->st[i]);
    xb_parser_free(s->p);
}

/* ---- stream header ------------------------------------------------------ */

START_TEST(test_parser_stream_header)
{
    static const char in[] =
        "<?xml version='1.0'?>"
        "<stream:stream from='example.com' to='juliet@example.com' "
        "id='++TR84Sm6A3hnt3Q065SnAbbk3Y=' version='1.0' xml:lang='en' "
        "xmlns='jabber:client' " NS_DECL ">";
    struct tu_result res;

    tu_parse(&res, in, sizeof in - 1, _i, NULL, 0);
    ck_assert_msg(res.rc == 0, "%s: rc %s (%s)", SPLIT, rc_name(res.rc),
                  res.message);
    ck_assert_msg(res.opens == 1, "%s: %d opens", SPLIT, res.opens);
    ck_assert_msg(res.nstanzas == 0 && res.closes == 0, "%s: extra events",
                  SPLIT);
    ck_assert_msg(res.cond == XB_COND_NONE, "%s: condition %s", SPLIT,
                  xb_cond_name(res.cond));
    ASSERT_STR(_i, res.from, "example.com");
    ASSERT_STR(_i, res.to, "juliet@example.com");
    ASSERT_STR(_i, res.id, "++TR84Sm6A3hnt3Q065SnAbbk3Y=");
    ASSERT_STR(_i, res.version, "1.0");
    ASSERT_STR(_i, res.lang, "en");
    ASSERT_STR(_i, res.content_ns, XB_NS_CLIENT);
    tu_result_free(&res);
}
END_TEST

START_TEST(test_parser_stream_header_variants)
{
    static const char dq[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<stream:stream\n  xmlns=\"jabber:client\"\n"
        "  xmlns:stream=\"http://etherx.jabber.org/streams\"\n"
        "  id=\"a&amp;b&#x27;c\" version=\"1.0\">\n"
        "<message/></stream:stream>";
    static const char bare[] = "<stream:stream " NS_DECL ">"
                               "<message to='a'/>";
    static const char prefix[] =
        "<s:stream xmlns:s='http://etherx.jabber.org/streams' "
        "xmlns='jabber:client' id='s1'><message/><s:features/></s:stream>";
    struct tu_result res;

    tu_parse(&res, dq, sizeof dq - 1, _i, NULL, 0);
    ck_assert_msg(res.rc == 0 && res.opens == 1 && res.closes == 1 &&
                      res.nstanzas == 1,
                  "%s: double quotes: rc %s (%s) opens %d closes %d "
                  "stanzas %d",
                  SPLIT, rc_name(res.rc), res.message, res.opens, res.closes,
                  res.nstanzas);
    ASSERT_STR(_i, res.id, "a&b'c");
    ASSERT_STR(_i, res.content_ns, XB_NS_CLIENT);
    ASSERT_STR(_i, res.from, "");
    ck_assert_msg(xb_stanza_is(res.stanzas[0], XB_NS_CLIENT, "message"),
                  "%s: stanza namespace %s", SPLIT,
                  xb_stanza_ns(res.stanzas[0]));
    tu_result_free(&res);

    /* No default namespace: content_ns absent, stanzas in no namespace. */
    tu_parse(&res, bare, sizeof bare - 1, _i, NULL, 0);
    ck_assert_msg(res.rc == 0 && res.opens == 1 && res.nstanzas == 1,
                  "%s: no default namespace: rc %s (%s)", SPLIT,
                  rc_name(res.rc), res.message);
    ASSERT_STR(_i, res.content_ns, "");
    ASSERT_STR(_i, xb_stanza_ns(res.stanzas[0]), "");
    tu_result_free(&res);

    /* The streams namespace under another prefix is the same stream. */
    tu_parse(&res, prefix, sizeof prefix - 1, _i, NULL, 0);
    ck_assert_msg(
        res.rc == 0 && res.opens == 1 && res.closes == 1 && res.nstanzas == 2,
        "%s: prefix s: rc %s (%s) opens %d closes %d stanzas %d", SPLIT,
        rc_name(res.rc), res.message, res.opens, res.closes, res.nstanzas);
    ck_assert_msg(xb_stanza_is(res.stanzas[1], XB_NS_STREAMS, "features"),
                  "%s: s:features is {%s}%s", SPLIT,
                  xb_stanza_ns(res.stanzas[1]), xb_stanza_name(res.stanzas[1]));
    tu_result_free(&res);
}
END_TEST

START_TEST(test_parser_server_stream)
{
    static const char in[] =
        "<stream:stream xmlns='jabber:server' " NS_DECL
        " from='capulet.example' to='montague.example' version='1.0'>"
        "<message from='juliet@capulet.example' to='romeo@montague.example'>"
        "<body>hi</body></message>";
    struct tu_result res;

    tu_parse(&res, in, sizeof in - 1, _i, NULL, 0);
    ck_assert_msg(res.rc == 0 && res.nstanzas == 1, "%s: rc %s (%s)", SPLIT,
                  rc_name(res.rc), res.message);
    ASSERT_STR(_i, res.content_ns, XB_NS_SERVER);
    ASSERT_STR(_i, res.from, "capulet.example");
    ck_assert_msg(xb_stanza_is(res.stanzas[0], XB_NS_SERVER, "message"),
                  "%s: stanza is {%s}%s", SPLIT, xb_stanza_ns(res.stanzas[0]),
                  xb_stanza_name(res.stanzas[0]));
    ASSERT_STR(_i, xb_stanza_ns(need(res.stanzas[0], NULL, "body", _i)),
               XB_NS_SERVER);
    tu_result_free(&res);
}
END_TEST

/* ---- each stanza kind --------------------------------------------------- */

START_TEST(test_parser_message)
{
    struct xb_stanza *st = parse_stanza(MSG_ESCAPES, _i);

    ck_assert_msg(xb_stanza_is(st, XB_NS_CLIENT, "message"), "%s: root {%s}%s",
                  SPLIT, xb_stanza_ns(st), xb_stanza_name(st));
    ck_assert_uint_eq(xb_stanza_attr_count(st), 4);
    ASSERT_STR(_i, xb_stanza_attr(st, NULL, "to"),
               "juliet@example.com/balcony");
    ASSERT_STR(_i, xb_stanza_attr(st, "", "from"), "romeo@example.net/orchard");
    ASSERT_STR(_i, xb_stanza_attr(st, NULL, "type"), "chat");
    ASSERT_STR(_i, xb_stanza_attr(st, NULL, "id"), "m1");
    ck_assert_ptr_null(xb_stanza_attr(st, XB_NS_CLIENT, "to"));
    ASSERT_STR(_i, xb_stanza_child_text(st, XB_NS_CLIENT, "body"),
               "a & b < c > d ' e \" f");
    ASSERT_STR(_i, xb_stanza_child_text(st, XB_NS_CLIENT, "subject"),
               "Re: <tags>");
    ASSERT_STR(_i, xb_stanza_child_text(st, XB_NS_CLIENT, "thread"),
               "e0ffe42b28561960c6b12b944a092794b9683a38");
    ck_assert_int_eq(count_children(st, NULL, NULL), 3);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_parser_unicode)
{
    struct xb_stanza *st = parse_stanza(MSG_UNICODE, _i);
    size_t len = 0;

    ASSERT_STR(_i, xb_stanza_attr(st, NULL, "id"), "😀-1");
    ASSERT_STR(_i, xb_stanza_child_text(st, NULL, "body"),
               "Grüße, 日本語, Привет, 😀 𝄞");
    xb_stanza_text(need(st, NULL, "body", _i), &len);
    ck_assert_uint_eq(len, strlen("Grüße, 日本語, Привет, 😀 𝄞"));
    ASSERT_STR(
        _i, xb_stanza_child_text(st, "http://jabber.org/protocol/nick", "nick"),
        "Rómeo 🎭");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_parser_muc_presence)
{
    static const char *const codes[] = {"100", "110", "210"};
    struct xb_stanza *st = parse_stanza(MUC_PRESENCE, _i);
    struct xb_stanza *x, *item, *status;
    int n = 0;

    ck_assert(xb_stanza_is(st, XB_NS_CLIENT, "presence"));
    x = need(st, XB_NS_MUC_USER, "x", _i);
    item = need(x, XB_NS_MUC_USER, "item", _i);
    ASSERT_STR(_i, xb_stanza_attr(item, NULL, "affiliation"), "member");
    ASSERT_STR(_i, xb_stanza_attr(item, NULL, "role"), "participant");
    ASSERT_STR(_i, xb_stanza_attr(item, NULL, "jid"),
               "hag66@shakespeare.lit/pda");
    for (status = xb_stanza_child(x, XB_NS_MUC_USER, "status"); status;
         status = xb_stanza_next_child(status, XB_NS_MUC_USER, "status")) {
        ck_assert_int_lt(n, 3);
        ASSERT_STR(_i, xb_stanza_attr(status, NULL, "code"), codes[n]);
        n++;
    }
    ck_assert_msg(n == 3, "%s: %d status codes", SPLIT, n);
    xb_stanza_free(st);

    st = parse_stanza(MUC_JOIN, _i);
    x = need(st, XB_NS_MUC, "x", _i);
    ASSERT_STR(
        _i,
        xb_stanza_attr(need(x, XB_NS_MUC, "history", _i), NULL, "maxstanzas"),
        "20");
    ASSERT_STR(_i, xb_stanza_child_text(x, XB_NS_MUC, "password"),
               "cauldronburn");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_parser_iq_nested)
{
    static const char disco[] = "http://jabber.org/protocol/disco#info";
    struct xb_stanza *st = parse_stanza(IQ_DISCO, _i);
    struct xb_stanza *q, *x, *item, *n;

    ck_assert(xb_stanza_is(st, XB_NS_CLIENT, "iq"));
    q = need(st, disco, "query", _i);
    ASSERT_STR(_i, xb_stanza_attr(need(q, disco, "identity", _i), NULL, "name"),
               "Play-Specific Chatrooms");
    ck_assert_int_eq(count_children(q, disco, "feature"), 2);
    x = need(q, "jabber:x:data", "x", _i);
    ASSERT_STR(_i,
               xb_stanza_child_text(need(x, "jabber:x:data", "field", _i),
                                    "jabber:x:data", "value"),
               "http://jabber.org/protocol/muc#roominfo");
    xb_stanza_free(st);

    st = parse_stanza(IQ_ROSTER, _i);
    q = need(st, "jabber:iq:roster", "query", _i);
    ASSERT_STR(_i, xb_stanza_attr(q, NULL, "ver"), "ver11");
    ck_assert_int_eq(count_children(q, "jabber:iq:roster", "item"), 2);
    item = need(q, "jabber:iq:roster", "item", _i);
    ASSERT_STR(_i, xb_stanza_child_text(item, "jabber:iq:roster", "group"),
               "Friends");
    item = xb_stanza_next_child(item, NULL, NULL);
    ck_assert_ptr_nonnull(item);
    ASSERT_STR(_i, xb_stanza_attr(item, NULL, "ask"), "subscribe");
    xb_stanza_free(st);

    st = parse_stanza(IQ_VCARD, _i);
    q = need(st, "vcard-temp", "vCard", _i);
    n = need(q, "vcard-temp", "N", _i);
    ASSERT_STR(_i, xb_stanza_child_text(n, "vcard-temp", "FAMILY"),
               "Saint-Andre");
    ASSERT_STR(_i,
               xb_stanza_child_text(need(q, NULL, "PHOTO", _i), NULL, "BINVAL"),
               "iVBORw0KGgo=");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_parser_stream_features)
{
    struct xb_stanza *st = parse_stanza(FEATURES, _i);
    struct xb_stanza *tls, *mechs, *m;

    ck_assert_msg(xb_stanza_is(st, XB_NS_STREAMS, "features"),
                  "%s: root {%s}%s", SPLIT, xb_stanza_ns(st),
                  xb_stanza_name(st));
    tls = need(st, XB_NS_TLS, "starttls", _i);
    need(tls, XB_NS_TLS, "required", _i);
    mechs = need(st, XB_NS_SASL, "mechanisms", _i);
    m = need(mechs, XB_NS_SASL, "mechanism", _i);
    ASSERT_STR(_i, xb_stanza_text(m, NULL), "SCRAM-SHA-1");
    m = xb_stanza_next_child(m, XB_NS_SASL, "mechanism");
    ck_assert_ptr_nonnull(m);
    ASSERT_STR(_i, xb_stanza_text(m, NULL), "PLAIN");
    ck_assert_ptr_null(xb_stanza_next_child(m, NULL, NULL));
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_parser_xml_lang)
{
    struct xb_stanza *st = parse_stanza(MSG_LANG, _i);
    struct xb_stanza *b;
    const char *ns = NULL, *name = NULL, *value = NULL;

    ASSERT_STR(_i, xb_stanza_attr(st, XB_NS_XML, "lang"), "en");
    ck_assert_ptr_null(xb_stanza_attr(st, NULL, "lang"));
    ck_assert_int_eq(xb_stanza_attr_at(st, 0, &ns, &name, &value), 0);
    ASSERT_STR(_i, ns, XB_NS_XML);
    ASSERT_STR(_i, name, "lang");
    ASSERT_STR(_i, value, "en");
    b = need(st, XB_NS_CLIENT, "body", _i);
    ck_assert_ptr_null(xb_stanza_attr(b, XB_NS_XML, "lang"));
    b = xb_stanza_next_child(b, XB_NS_CLIENT, "body");
    ck_assert_ptr_nonnull(b);
    ASSERT_STR(_i, xb_stanza_attr(b, XB_NS_XML, "lang"), "de");
    b = xb_stanza_next_child(b, XB_NS_CLIENT, "body");
    ck_assert_ptr_nonnull(b);
    ASSERT_STR(_i, xb_stanza_attr(b, XB_NS_XML, "lang"), "cs");
    ASSERT_STR(_i, xb_stanza_text(b, NULL), "Dobrý den");
    xb_stanza_free(st);
}
END_TEST

/* Character data in any form merges into a single text node. */
static void expect_one_text(const struct xb_stanza *el, const char *want,
                            size_t want_len, enum tu_split split)
{
    const struct xb_stanza *t = xb_stanza_first(el);
    const char *got;
    size_t len = 0;

    ck_assert_msg(t && xb_stanza_is_text(t), "%s: <%s> has no text node",
                  tu_split_name(split), xb_stanza_name(el));
    ck_assert_msg(xb_stanza_next(t) == NULL,
                  "%s: <%s>: text split into several nodes",
                  tu_split_name(split), xb_stanza_name(el));
    got = xb_stanza_text(t, &len);
    ck_assert_msg(got && len == want_len && memcmp(got, want, len) == 0,
                  "%s: <%s> text is \"%s\" (%zu bytes), expected \"%s\"",
                  tu_split_name(split), xb_stanza_name(el),
                  got ? got : "(null)", len, want);
}

START_TEST(test_parser_text_merging)
{
    static const char cdata[] = "one <b>bold</b> & two&]]>";
    static const char refs[] = "AB😀é\n\tx\ry";
    struct xb_stanza *st = parse_stanza(MSG_CDATA, _i);

    expect_one_text(need(st, NULL, "body", _i), cdata, sizeof cdata - 1, _i);
    xb_stanza_free(st);

    st = parse_stanza(MSG_CHARREFS, _i);
    expect_one_text(need(st, NULL, "body", _i), refs, sizeof refs - 1, _i);
    xb_stanza_free(st);

    st = parse_stanza(MSG_ESCAPES, _i);
    expect_one_text(need(st, NULL, "body", _i), "a & b < c > d ' e \" f",
                    strlen("a & b < c > d ' e \" f"), _i);
    xb_stanza_free(st);

    st = parse_stanza(MSG_EMPTY_CDATA, _i);
    ck_assert_msg(xb_stanza_text(need(st, NULL, "body", _i), NULL) == NULL ||
                      *xb_stanza_text(need(st, NULL, "body", _i), NULL) == '\0',
                  "%s: empty CDATA gave text", SPLIT);
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_parser_attr_quotes)
{
    struct xb_stanza *st = parse_stanza(MSG_QUOTES, _i);

    ASSERT_STR(_i, xb_stanza_attr(st, NULL, "id"), "a'b");
    ASSERT_STR(_i, xb_stanza_attr(st, NULL, "to"), "x\"y@example.com");
    ASSERT_STR(_i, xb_stanza_attr(st, NULL, "from"), "<&>'\"");
    ASSERT_STR(_i, xb_stanza_attr(st, NULL, "type"), "a\tb\nc\rd");
    ASSERT_STR(_i, xb_stanza_child_text(st, NULL, "subject"), "\"hi\" & 'bye'");
    xb_stanza_free(st);
}
END_TEST

START_TEST(test_parser_prefixed_names)
{
    static const char foo[] = "urn:example:foo";
    struct xb_stanza *st = parse_stanza(MSG_PREFIXED, _i);
    struct xb_stanza *body, *thing;

    ck_assert_uint_eq(xb_stanza_attr_count(st), 1);
    body = need(st, XB_NS_CLIENT, "body", _i);
    ASSERT_STR(_i, xb_stanza_attr(body, foo, "hint"), "x");
    ASSERT_STR(_i, xb_stanza_attr(body, NULL, "hint"), "y");
    thing = need(st, foo, "thing", _i);
    ASSERT_STR(_i, xb_stanza_attr(thing, foo, "a"), "1");
    ASSERT_STR(_i, xb_stanza_attr(thing, NULL, "b"), "2");
    need(thing, foo, "inner", _i);
    need(thing, XB_NS_CLIENT, "plain", _i);
    xb_stanza_free(st);

    st = parse_stanza(MSG_NO_NS, _i);
    body = need(st, "", "nons", _i);
    need(body, "", "inner", _i);
    need(st, XB_NS_CLIENT, "back", _i);
    xb_stanza_free(st);
}
END_TEST

/* All corpus stanzas in one stream, separated by whitespace, then closed. */
START_TEST(test_parser_stanza_sequence)
{
    struct tu_result res;
    struct xb_buf b;
    struct xb_stanza *one;
    size_t i;

    xb_buf_init(&b);
    for (i = 0; i < NCORPUS; i++) {
        put_str(&b, corpus[i].xml);
        put_str(&b, i % 2 ? "\n" : " \r\n\t ");
    }
    put_str(&b, CLOSE);
    parse_in_stream(&res, b.data, b.len, _i, NULL);
    xb_buf_free(&b);
    ck_assert_msg(res.rc == 0, "%s: rc %s (%s)", SPLIT, rc_name(res.rc),
                  res.message);
    ck_assert_msg(res.nstanzas == (int)NCORPUS && res.closes == 1,
                  "%s: %d stanzas, %d closes", SPLIT, res.nstanzas, res.closes);
    for (i = 0; i < NCORPUS; i++) {
        one = parse_stanza(corpus[i].xml, TU_WHOLE);
        ck_assert_msg(xb_stanza_equal(one, res.stanzas[i]),
                      "%s: %s differs in a sequence", SPLIT, corpus[i].name);
        xb_stanza_free(one);
    }
    tu_result_free(&res);
}
END_TEST

/* ---- round trip through the serializer ------------------------------------
 */

START_TEST(test_parser_roundtrip)
{
    struct fails f = {0, 0, ""};
    struct tu_result a, b;
    char *ser, *ser2;
    size_t i;

    for (i = 0; i < NCORPUS; i++) {
        parse_in_stream(&a, corpus[i].xml, strlen(corpus[i].xml), _i, NULL);
        if (a.rc != 0 || a.nstanzas != 1) {
            fail_add(&f, "%s: parse: rc %s (%s), %d stanzas", corpus[i].name,
                     rc_name(a.rc), a.message, a.nstanzas);
            tu_result_free(&a);
            continue;
        }
        ser = tu_serialize(a.stanzas[0], XB_NS_CLIENT);
        parse_in_stream(&b, ser, strlen(ser), _i, NULL);
        if (b.rc != 0 || b.nstanzas != 1) {
            fail_add(&f, "%s: re-parse of %s: rc %s (%s)", corpus[i].name, ser,
                     rc_name(b.rc), b.message);
        } else if (!xb_stanza_equal(a.stanzas[0], b.stanzas[0])) {
            fail_add(&f, "%s: differs after round trip via %s", corpus[i].name,
                     ser);
        } else {
            ser2 = tu_serialize(b.stanzas[0], XB_NS_CLIENT);
            if (strcmp(ser, ser2) != 0)
                fail_add(&f, "%s: serialization not stable: %s then %s",
                         corpus[i].name, ser, ser2);
            free(ser2);
        }
        free(ser);
        tu_result_free(&a);
        tu_result_free(&b);
    }
    ck_assert_msg(f.count == 0, "%s: %d round trips failed:%s", SPLIT, f.count,
                  f.text);
}
END_TEST

/* The shape of the serializer's output for stanzas on a jabber:client
 * stream, checked on parsed input. */
START_TEST(test_parser_serialized_form)
{
    struct xb_stanza *st;
    char *s;

    st = parse_stanza(MSG_ESCAPES, _i);
    s = tu_serialize(st, XB_NS_CLIENT);
    ck_assert_msg(strncmp(s, "<message", 8) == 0 && !strstr(s, "xmlns"),
                  "%s: jabber:client declared: %s", SPLIT, s);
    ck_assert_msg(strstr(s, "&amp;") && strstr(s, "&lt;") && strstr(s, "&gt;"),
                  "%s: text escapes missing: %s", SPLIT, s);
    free(s);
    xb_stanza_free(st);

    st = parse_stanza(FEATURES, _i);
    s = tu_serialize(st, XB_NS_CLIENT);
    ck_assert_msg(strncmp(s, "<stream:features", 16) == 0 &&
                      strstr(s, "</stream:features>") &&
                      !strstr(s, "xmlns:stream") && count_str(s, "xmlns=") == 2,
                  "%s: features: %s", SPLIT, s);
    free(s);
    xb_stanza_free(st);

    st = parse_stanza(MSG_LANG, _i);
    s = tu_serialize(st, XB_NS_CLIENT);
    ck_assert_msg(count_str(s, "xml:lang=") == 3 && !strstr(s, "xmlns"),
                  "%s: xml:lang: %s", SPLIT, s);
    free(s);
    xb_stanza_free(st);

    st = parse_stanza(MSG_QUOTES, _i);
    s = tu_serialize(st, XB_NS_CLIENT);
    ck_assert_msg(strstr(s, "&apos;") && strstr(s, "&quot;") &&
                      strstr(s, "&lt;") && strstr(s, "&amp;") &&
                      !strchr(s, '\t') && !strchr(s, '\n') && !strchr(s, '\r'),
                  "%s: attribute escapes: %s", SPLIT, s);
    free(s);
    xb_stanza_free(st);

    st = parse_stanza(MSG_CHARREFS, _i);
    s = tu_serialize(st, XB_NS_CLIENT);
    ck_assert_msg(!strchr(s, '\r'), "%s: raw CR in text: %s", SPLIT, s);
    free(s);
    xb_stanza_free(st);

    st = parse_stanza(MSG_PREFIXED, _i);
    s = tu_serialize(st, XB_NS_CLIENT);
    ck_assert_msg(strstr(s, "xmlns:") != NULL,
                  "%s: no prefix declared for attributes: %s", SPLIT, s);
    free(s);
    xb_stanza_free(st);
}
END_TEST

/* ---- whitespace, close ----------------------------------------------------
 */

START_TEST(test_parser_keepalive)
{
    static const char body[] = " \n\r\n\t <message id='1'/> \n\n  "
                               "<presence id='2'/>\n \t\r\n ";
    struct tu_result res;
    struct xb_buf b;

    parse_in_stream(&res, body, sizeof body - 1, _i, NULL);
    ck_assert_msg(res.rc == 0 && res.nstanzas == 2 && res.opens == 1 &&
                      res.closes == 0,
                  "%s: rc %s (%s), %d stanzas", SPLIT, rc_name(res.rc),
                  res.message, res.nstanzas);
    ASSERT_STR(_i, xb_stanza_name(res.stanzas[1]), "presence");
    ck_assert_msg(xb_stanza_first(res.stanzas[0]) == NULL,
                  "%s: whitespace kept inside an empty stanza", SPLIT);
    tu_result_free(&res);

    /* Many single-space keepalives (the usual 1-byte ping). */
    xb_buf_init(&b);
    put_repeat(&b, " ", 300);
    put_str(&b, "<message id='k'/>");
    put_repeat(&b, "\n", 300);
    parse_in_stream(&res, b.data, b.len, _i, NULL);
    xb_buf_free(&b);
    ck_assert_msg(res.rc == 0 && res.nstanzas == 1, "%s: rc %s, %d stanzas",
                  SPLIT, rc_name(res.rc), res.nstanzas);
    tu_result_free(&res);
}
END_TEST

START_TEST(test_parser_stream_close)
{
    static const char full[] = "<message><body>bye</body></message>"
                               "\n" CLOSE;
    struct tu_result res;

    parse_in_stream(&res, full, sizeof full - 1, _i, NULL);
    ck_assert_msg(res.rc == 0 && res.nstanzas == 1 && res.closes == 1,
                  "%s: rc %s (%s), %d stanzas, %d closes", SPLIT,
                  rc_name(res.rc), res.message, res.nstanzas, res.closes);
    ck_assert_msg(res.cond == XB_COND_NONE, "%s: condition %s", SPLIT,
                  xb_cond_name(res.cond));
    tu_result_free(&res);

    parse_in_stream(&res, CLOSE, strlen(CLOSE), _i, NULL);
    ck_assert_msg(res.rc == 0 && res.nstanzas == 0 && res.closes == 1,
                  "%s: empty stream: rc %s, %d closes", SPLIT, rc_name(res.rc),
                  res.closes);
    tu_result_free(&res);
}
END_TEST

START_TEST(test_parser_data_after_close)
{
    static const char *const tails[] = {
        CLOSE "<message/>",
        "<message/>" CLOSE "<presence/>",
        CLOSE "junk",
        CLOSE "<stream:stream xmlns='jabber:client' " NS_DECL ">",
    };
    struct tu_result res;
    size_t i;

    for (i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        parse_in_stream(&res, tails[i], strlen(tails[i]), _i, NULL);
        ck_assert_msg(res.rc != 0, "%s: accepted data after close: %s", SPLIT,
                      tails[i]);
        ck_assert_msg(res.closes == 1, "%s: %d closes for %s", SPLIT,
                      res.closes, tails[i]);
        tu_result_free(&res);
    }
}
END_TEST

/* ---- the hostile catalogue --------------------------------------------------
 */

struct bad_case {
    const char *name;
    const char *data;
    size_t len;
    int rc;
    enum xb_cond cond;
};

#define BAD(name, lit, rc, cond)                                               \
    {                                                                          \
        name, lit, sizeof(lit) - 1, rc, cond                                   \
    }
#define NWF(name, lit) BAD(name, lit, XB_EXML, XB_COND_NOT_WELL_FORMED)
#define RESTRICTED(name, lit) BAD(name, lit, XB_EXML, XB_COND_RESTRICTED_XML)
#define BAD_FORMAT(name, lit) BAD(name, lit, XB_EXML, XB_COND_BAD_FORMAT)

/* Bodies sent after HDR and one good stanza (BEFORE). */
static const struct bad_case bad_in_stream[] = {
    NWF("mismatched tag", "<message><body>hi</message>"),
    NWF("stream close inside a stanza", "<message><body>hi" CLOSE),
    NWF("end tag without start", "</message>"),
    NWF("unquoted attribute", "<message to=juliet/>"),
    NWF("attribute without value", "<message to/>"),
    NWF("no space between attributes", "<message to='a'from='b'/>"),
    NWF("duplicate attribute", "<message to='a' to='b'/>"),
    NWF("duplicate expanded attribute",
        "<message xmlns:a='urn:x' xmlns:b='urn:x' a:t='1' b:t='2'/>"),
    NWF("< in attribute value", "<message to='a<b'/>"),
    NWF("bare ampersand", "<message><body>a & b</body></message>"),
    NWF("]]> in text", "<message><body>a]]>b</body></message>"),
    NWF("empty tag", "<>"),
    NWF("unbound element prefix", "<foo:message/>"),
    NWF("unbound attribute prefix", "<message foo:to='a'/>"),
    NWF("unbound prefix in a child", "<message><x:y/></message>"),
    NWF("overlong \\xC0\\x80", "<message><body>\xC0\x80</body></message>"),
    NWF("surrogate \\xED\\xA0\\x80",
        "<message><body>\xED\xA0\x80</body></message>"),
    NWF("\\xF5 lead byte", "<message><body>\xF5\x80\x80\x80</body></message>"),
    NWF("\\xFF byte", "<message><body>\xFF</body></message>"),
    NWF("truncated 2-byte then ASCII", "<message><body>\xC3"
                                       "a</body></message>"),
    NWF("truncated 3-byte then ASCII", "<message><body>\xE2\x82"
                                       "a</body></message>"),
    NWF("truncated 4-byte then ASCII", "<message><body>\xF0\x9F\x98"
                                       "a</body></message>"),
    NWF("lone \\x80", "<message><body>\x80</body></message>"),
    NWF("raw U+FFFE", "<message><body>\xEF\xBF\xBE</body></message>"),
    NWF("NUL byte", "<message><body>a\0b</body></message>"),
    NWF("NUL byte at stream level", "\0"),
    NWF("control character \\x01", "<message><body>\x01</body></message>"),
    NWF("bad UTF-8 in attribute", "<message to='\xC0\x80'/>"),
    NWF("bad UTF-8 in element name", "<mess\x80ge/>"),
    NWF("bad UTF-8 at stream level", "\xC0\x80"),
    NWF("&#0;", "<message><body>&#0;</body></message>"),
    NWF("&#1;", "<message><body>&#1;</body></message>"),
    NWF("&#xD800;", "<message><body>&#xD800;</body></message>"),
    NWF("&#xFFFF;", "<message><body>&#xFFFF;</body></message>"),
    NWF("&#x110000;", "<message><body>&#x110000;</body></message>"),
    NWF("&#xD800; in attribute", "<message id='&#xD800;'/>"),
    NWF("&#0; in attribute", "<message id='&#0;'/>"),
    NWF("malformed char ref", "<message><body>&#xZZ;</body></message>"),
};

static const struct bad_case bad_restricted[] = {
    RESTRICTED("comment at stream level", "<!-- x -->"),
    RESTRICTED("comment in a stanza",
               "<message><!-- x --><body>hi</body></message>"),
    RESTRICTED("comment in text", "<message><body>a<!-- x -->b</body>"
                                  "</message>"),
    RESTRICTED("PI at stream level", "<?foo bar?>"),
    RESTRICTED("PI in a stanza", "<message><?foo bar?></message>"),
    RESTRICTED("undefined entity &foo;",
               "<message><body>&foo;</body></message>"),
    RESTRICTED("undefined entity &nbsp;",
               "<message><body>a&nbsp;b</body></message>"),
    RESTRICTED("undefined entity in attribute", "<message id='&foo;'/>"),
};

static const struct bad_case bad_stream_text[] = {
    BAD_FORMAT("text after a stanza", "hello"),
    BAD_FORMAT("text before a stanza", "x<message/>"),
    BAD_FORMAT("no-break space at stream level", "\xC2\xA0"),
    BAD_FORMAT("char ref at stream level", "&#65;"),
    BAD_FORMAT("entity at stream level", "&amp;"),
    BAD_FORMAT("CDATA at stream level", "<![CDATA[x]]>"),
};

/* Whole inputs, from the first byte. */
static const struct bad_case bad_documents[] = {
    RESTRICTED("DOCTYPE", "<?xml version='1.0'?><!DOCTYPE stream:stream>" HDR),
    RESTRICTED("DOCTYPE without XML declaration",
               "<!DOCTYPE stream:stream>" HDR),
    RESTRICTED("DOCTYPE with internal subset",
               "<!DOCTYPE stream:stream [<!ELEMENT x ANY>]>" HDR),
    RESTRICTED("entity declaration", "<!DOCTYPE s [<!ENTITY x 'y'>]>" HDR
                                     "<message><body>&x;</body></message>"),
    RESTRICTED("billion laughs",
               "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
               "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
               "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>" HDR
               "<message><body>&lol3;</body></message>"),
    RESTRICTED("external DTD",
               "<!DOCTYPE s SYSTEM 'http://example.com/x.dtd'>" HDR),
    RESTRICTED("PI after XML declaration",
               "<?xml version='1.0'?><?foo bar?>" HDR),
    RESTRICTED("PI before the header", "<?foo bar?>" HDR),
    RESTRICTED("comment before the header", "<!-- x -->" HDR),
    RESTRICTED("comment after XML declaration",
               "<?xml version='1.0'?>\n<!-- hi -->\n" HDR),
    NWF("unbound stream prefix", "<stream:stream xmlns='jabber:client'>"),
    NWF("bad UTF-8 in the header",
        "<stream:stream xmlns='jabber:client' " NS_DECL " to='\xC0\x80'>"),
    NWF("unterminated header then junk", "<stream:stream <message/>"),
    BAD("not a stream", "<message xmlns='jabber:client'/>", XB_EXML,
        XB_COND_INVALID_NAMESPACE),
    BAD("wrong streams namespace",
        "<stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams/'>",
        XB_EXML, XB_COND_INVALID_NAMESPACE),
    BAD("stream in jabber:client", "<stream xmlns='jabber:client'>", XB_EXML,
        XB_COND_INVALID_NAMESPACE),
    BAD("stream in no namespace", "<stream>", XB_EXML,
        XB_COND_INVALID_NAMESPACE),
    BAD("streams namespace, wrong name", "<stream:features " NS_DECL ">",
        XB_EXML, XB_COND_INVALID_NAMESPACE),
    BAD("encoding ISO-8859-1",
        "<?xml version='1.0' encoding='ISO-8859-1'?>" HDR, XB_EXML,
        XB_COND_UNSUPPORTED_ENCODING),
    BAD("encoding latin1", "<?xml version='1.0' encoding='latin1'?>" HDR,
        XB_EXML, XB_COND_UNSUPPORTED_ENCODING),
    BAD("encoding US-ASCII", "<?xml version='1.0' encoding='US-ASCII'?>" HDR,
        XB_EXML, XB_COND_UNSUPPORTED_ENCODING),
    BAD("encoding UTF-16", "<?xml version='1.0' encoding='UTF-16'?>" HDR,
        XB_EXML, XB_COND_UNSUPPORTED_ENCODING),
    BAD("encoding windows-1252",
        "<?xml version='1.0' encoding='windows-1252'?>" HDR, XB_EXML,
        XB_COND_UNSUPPORTED_ENCODING),
};

#define NCASES(t) (sizeof(t) / sizeof((t)[0]))

/* Every catalogue of hostile input, and whether it runs inside a stream. */
static const struct {
    const struct bad_case *cases;
    size_t n;
    int in_stream;
} bad_tables[] = {
    {bad_in_stream, NCASES(bad_in_stream), 1},
    {bad_restricted, NCASES(bad_restricted), 1},
    {bad_stream_text, NCASES(bad_stream_text), 1},
    {bad_documents, NCASES(bad_documents), 0},
};

/* Runs one case; in_stream cases are preceded by HDR and BEFORE, whose
 * stanza must still be delivered. */
static void check_bad(struct fails *f, const struct bad_case *c, int in_stream,
                      enum tu_split split)
{
    struct tu_result res;
    struct xb_buf b;

    xb_buf_init(&b);
    if (in_stream)
        put_str(&b, HDR BEFORE);
    put(&b, c->data, c->len);
    tu_parse(&res, b.data, b.len, split, NULL, 0);
    xb_buf_free(&b);
    if (res.rc != c->rc || res.cond != c->cond)
        fail_add(f, "%s: expected %s/%s, got %s/%s \"%s\"", c->name,
                 rc_name(c->rc), xb_cond_name(c->cond), rc_name(res.rc),
                 xb_cond_name(res.cond), res.message);
    else if (res.message[0] == '\0')
        fail_add(f, "%s: empty message", c->name);
    else if (in_stream &&
             (res.opens != 1 || res.nstanzas != 1 ||
              !xb_stanza_is(res.stanzas[0], XB_NS_CLIENT, "presence")))
        fail_add(f,
                 "%s: %d opens, %d stanzas (the stanza before the error "
                 "must be delivered)",
                 c->name, res.opens, res.nstanzas);
    else if (!in_stream && res.nstanzas != 0)
        fail_add(f, "%s: %d stanzas delivered", c->name, res.nstanzas);
    tu_result_free(&res);
}

static void check_table(const struct bad_case *t, size_t n, int in_stream,
                        enum tu_split split)
{
    struct fails f = {0, 0, ""};
    size_t i;

    for (i = 0; i < n; i++)
        check_bad(&f, &t[i], in_stream, split);
    ck_assert_msg(f.count == 0, "%s: %d of %zu cases failed:%s",
                  tu_split_name(split), f.count, n, f.text);
}

START_TEST(test_parser_not_well_formed)
{
    check_table(bad_in_stream, NCASES(bad_in_stream), 1, _i);
}
END_TEST

START_TEST(test_parser_restricted_xml)
{
    check_table(bad_restricted, NCASES(bad_restricted), 1, _i);
}
END_TEST

START_TEST(test_parser_bad_format)
{
    check_table(bad_stream_text, NCASES(bad_stream_text), 1, _i);
}
END_TEST

START_TEST(test_parser_bad_documents)
{
    check_table(bad_documents, NCASES(bad_documents), 0, _i);
}
END_TEST

START_TEST(test_parser_utf8_encoding_accepted)
{
    static const char *const decls[] = {
        "<?xml version='1.0' encoding='UTF-8'?>",
        "<?xml version='1.0' encoding='utf-8'?>",
        "<?xml version=\"1.0\" encoding=\"Utf-8\" ?>\n",
        "<?xml version='1.0'?>\n",
    };
    struct tu_result res;
    struct xb_buf b;
    size_t i;

    for (i = 0; i < sizeof decls / sizeof decls[0]; i++) {
        xb_buf_init(&b);
        put_str(&b, decls[i]);
        put_str(&b, HDR "<message/>");
        tu_parse(&res, b.data, b.len, _i, NULL, 0);
        xb_buf_free(&b);
        ck_assert_msg(res.rc == 0 && res.opens == 1 && res.nstanzas == 1,
                      "%s: %s refused: %s/%s \"%s\"", SPLIT, decls[i],
                      rc_name(res.rc), xb_cond_name(res.cond), res.message);
        tu_result_free(&res);
    }
}
END_TEST

/* Errors are sticky: the next feed says XB_ESTATE and the condition stays;
 * xb_parser_reset() clears them and a new stream works. */
static void check_sticky(struct fails *f, const struct bad_case *c,
                         int in_stream, enum tu_split split)
{
    static const char again[] = HDR "<message id='again'/>";
    struct sink s;
    struct xb_buf b;
    unsigned state = tu_seed();
    int rc, rc2;

    sink_init(&s, NULL, 0);
    xb_buf_init(&b);
    if (in_stream)
        put_str(&b, HDR BEFORE);
    put(&b, c->data, c->len);
    rc = feed_split(s.p, b.data, b.len, split, &state);
    xb_buf_free(&b);
    rc2 = xb_parser_feed(s.p, "<presence/>", 11);
    if (rc != c->rc)
        fail_add(f, "%s: rc %s", c->name, rc_name(rc));
    else if (rc2 != XB_ESTATE)
        fail_add(f, "%s: feed after the error gave %s", c->name, rc_name(rc2));
    else if (xb_parser_error(s.p) != c->rc)
        fail_add(f, "%s: xb_parser_error() is %s", c->name,
                 rc_name(xb_parser_error(s.p)));
    else if (xb_parser_condition(s.p) != c->cond)
        fail_add(f, "%s: condition became %s", c->name,
                 xb_cond_name(xb_parser_condition(s.p)));
    else if (!xb_parser_message(s.p) || !xb_parser_message(s.p)[0])
        fail_add(f, "%s: message empty after a further feed", c->name);
    else if ((rc = xb_parser_reset(s.p)) != 0)
        fail_add(f, "%s: reset gave %s", c->name, rc_name(rc));
    else if (xb_parser_error(s.p) != 0 ||
             xb_parser_condition(s.p) != XB_COND_NONE ||
             strcmp(xb_parser_message(s.p), "") != 0)
        fail_add(f, "%s: reset left error %s/%s \"%s\"", c->name,
                 rc_name(xb_parser_error(s.p)),
                 xb_cond_name(xb_parser_condition(s.p)),
                 xb_parser_message(s.p));
    else if ((rc = feed_split(s.p, again, sizeof again - 1, split, &state)) !=
                 0 ||
             s.opens != (in_stream ? 2 : 1) ||
             s.nstanzas != (in_stream ? 2 : 1) ||
             strcmp(xb_stanza_attr(s.st[s.nstanzas - 1], NULL, "id"),
                    "again") != 0)
        fail_add(f,
                 "%s: new stream after reset: rc %s, %d opens, "
                 "%d stanzas",
                 c->name, rc_name(rc), s.opens, s.nstanzas);
    sink_free(&s);
}

START_TEST(test_parser_errors_sticky)
{
    struct fails f = {0, 0, ""};
    size_t t, i;

    for (t = 0; t < NCASES(bad_tables); t++)
        for (i = 0; i < bad_tables[t].n; i++)
            check_sticky(&f, &bad_tables[t].cases[i], bad_tables[t].in_stream,
                         _i);
    ck_assert_msg(f.count == 0, "%s: %d cases failed:%s", SPLIT, f.count,
                  f.text);
}
END_TEST

/* ---- limits ---------------------------------------------------------------
 */

/* Expects body (after HDR BEFORE) to hit a limit, or to pass if ok. */
static void expect_limit(const char *what, const struct xb_buf *body, int ok,
                         const struct xb_parser_limits *limits,
                         enum tu_split split)
{
    struct tu_result res;
    struct xb_buf b;

    xb_buf_init(&b);
    put_str(&b, HDR BEFORE);
    put(&b, body->data, body->len);
    tu_parse(&res, b.data, b.len, split, limits, 0);
    xb_buf_free(&b);
    if (ok) {
        ck_assert_msg(res.rc == 0 && res.nstanzas >= 2,
                      "%s: %s refused: %s/%s \"%s\" (%d stanzas)",
                      tu_split_name(split), what, rc_name(res.rc),
                      xb_cond_name(res.cond), res.message, res.nstanzas);
    } else {
        ck_assert_msg(res.rc == XB_ELIMIT &&
                          res.cond == XB_COND_POLICY_VIOLATION,
                      "%s: %s: expected XB_ELIMIT/policy-violation, got "
                      "%s/%s \"%s\"",
                      tu_split_name(split), what, rc_name(res.rc),
                      xb_cond_name(res.cond), res.message);
        ck_assert_msg(res.message[0] != '\0', "%s: %s: empty message",
                      tu_split_name(split), what);
        ck_assert_msg(res.nstanzas == 1, "%s: %s: %d stanzas delivered",
                      tu_split_name(split), what, res.nstanzas);
    }
    tu_result_free(&res);
}

/* A stanza nested depth elements deep (the stanza itself is depth 1). */
static void make_deep(struct xb_buf *b, unsigned depth)
{
    unsigned i;

    put_str(b, "<message>");
    for (i = 1; i < depth; i++)
        put_str(b, "<a>");
    for (i = 1; i < depth; i++)
        put_str(b, "</a>");
    put_str(b, "</message>");
}

/* <message a0='0' ... /> with n attributes, the first in a child when
 * in_child. */
static void make_attrs(struct xb_buf *b, unsigned n, int in_child)
{
    char attr[32];
    unsigned i;

    put_str(b, in_child ? "<message><body" : "<message");
    for (i = 0; i < n; i++) {
        snprintf(attr, sizeof attr, " a%u='%u'", i, i);
        put_str(b, attr);
    }
    put_str(b, in_child ? "/></message>" : "/>");
}

/* <message><body>...</body></message> of exactly size bytes. */
static void make_sized(struct xb_buf *b, size_t size)
{
    static const char open[] = "<message><body>", close[] = "</body></message>";

    ck_assert_uint_ge(size, sizeof open + sizeof close - 2);
    put_str(b, open);
    put_fill(b, 'a', size - (sizeof open - 1) - (sizeof close - 1));
    put_str(b, close);
}

START_TEST(test_parser_limit_depth)
{
    static const struct xb_parser_limits small = {0, 4, 0}, zero = {0, 0, 0};
    struct xb_buf b;

    xb_buf_init(&b);
    make_deep(&b, 4);
    expect_limit("depth 4 of 4", &b, 1, &small, _i);
    xb_buf_reset(&b);
    make_deep(&b, 5);
    expect_limit("depth 5 of 4", &b, 0, &small, _i);
    xb_buf_reset(&b);
    put_str(&b, "<iq><query xmlns='urn:x'><a><b><c/></b></a></query></iq>");
    expect_limit("depth 5 of 4 across namespaces", &b, 0, &small, _i);

    xb_buf_reset(&b);
    make_deep(&b, XB_PARSER_DEFAULT_MAX_DEPTH);
    expect_limit("depth 32 of default", &b, 1, NULL, _i);
    expect_limit("depth 32 of 0 (default)", &b, 1, &zero, _i);
    xb_buf_reset(&b);
    make_deep(&b, XB_PARSER_DEFAULT_MAX_DEPTH + 1);
    expect_limit("depth 33 of default", &b, 0, NULL, _i);
    expect_limit("depth 33 of 0 (default)", &b, 0, &zero, _i);
    xb_buf_reset(&b);
    make_deep(&b, 10000);
    expect_limit("depth 10000", &b, 0, NULL, _i);
    xb_buf_free(&b);
}
END_TEST

START_TEST(test_parser_limit_attrs)
{
    static const struct xb_parser_limits small = {0, 0, 3};
    struct xb_buf b;

    xb_buf_init(&b);
    make_attrs(&b, 3, 0);
    expect_limit("3 of 3 attributes", &b, 1, &small, _i);
    xb_buf_reset(&b);
    make_attrs(&b, 4, 0);
    expect_limit("4 of 3 attributes", &b, 0, &small, _i);
    xb_buf_reset(&b);
    make_attrs(&b, 3, 1);
    expect_limit("3 of 3 attributes on a child", &b, 1, &small, _i);
    xb_buf_reset(&b);
    make_attrs(&b, 4, 1);
    expect_limit("4 of 3 attributes on a child", &b, 0, &small, _i);
    xb_buf_reset(&b);
    put_str(&b, "<message a='1' b='2' c='3' xml:lang='en'/>");
    expect_limit("xml:lang as 4th of 3 attributes", &b, 0, &small, _i);

    xb_buf_reset(&b);
    make_attrs(&b, XB_PARSER_DEFAULT_MAX_ATTRS, 0);
    expect_limit("64 attributes, default", &b, 1, NULL, _i);
    xb_buf_reset(&b);
    make_attrs(&b, XB_PARSER_DEFAULT_MAX_ATTRS + 1, 0);
    expect_limit("65 attributes, default", &b, 0, NULL, _i);
    xb_buf_reset(&b);
    make_attrs(&b, XB_PARSER_DEFAULT_MAX_ATTRS + 1, 1);
    expect_limit("65 attributes on a child, default", &b, 0, NULL, _i);
    xb_buf_free(&b);
}
END_TEST

START_TEST(test_parser_limit_stanza_bytes)
{
    static const struct xb_parser_limits small = {256, 0, 0};
    struct xb_buf b;
    int k;

    xb_buf_init(&b);
    put_str(&b, "  \n");
    make_sized(&b, 256);
    put_str(&b, " \n ");
    make_sized(&b, 256);
    expect_limit("two stanzas of exactly 256 bytes", &b, 1, &small, _i);
    xb_buf_reset(&b);
    make_sized(&b, 257);
    expect_limit("257 bytes of 256", &b, 0, &small, _i);

    /* The count starts again with each stanza. */
    xb_buf_reset(&b);
    for (k = 0; k < 30; k++) {
        make_sized(&b, 200);
        put_str(&b, " ");
    }
    expect_limit("30 stanzas of 200 bytes", &b, 1, &small, _i);

    /* Bytes still buffered in an unfinished token count too. */
    xb_buf_reset(&b);
    put_str(&b, "<message id='");
    put_fill(&b, 'a', 4000);
    expect_limit("unterminated attribute", &b, 0, &small, _i);
    xb_buf_reset(&b);
    put_str(&b, "<message><body>");
    put_fill(&b, 'a', 4000);
    expect_limit("unterminated text", &b, 0, &small, _i);
    xb_buf_reset(&b);
    put_str(&b, "<message");
    put_fill(&b, ' ', 4000);
    expect_limit("unterminated start tag", &b, 0, &small, _i);
    xb_buf_reset(&b);
    put_str(&b, "<message>");
    put_repeat(&b, "<x/>", 100);
    put_str(&b, "</message>");
    expect_limit("many small children", &b, 0, &small, _i);
    xb_buf_free(&b);
}
END_TEST

START_TEST(test_parser_limit_default_size)
{
    struct xb_buf b;
    int k;

    xb_buf_init(&b);
    make_sized(&b, XB_PARSER_DEFAULT_MAX_STANZA_BYTES);
    expect_limit("stanza of exactly 1 MiB", &b, 1, NULL, _i);
    xb_buf_reset(&b);
    make_sized(&b, XB_PARSER_DEFAULT_MAX_STANZA_BYTES + 1);
    expect_limit("stanza of 1 MiB + 1", &b, 0, NULL, _i);

    xb_buf_reset(&b);
    put_str(&b, "<iq type='result' id='big'><query xmlns='jabber:iq:roster'>");
    for (k = 0; k < 20000; k++)
        put_str(&b, "<item jid='contact12345@example.com' "
                    "subscription='both'/>");
    put_str(&b, "</query></iq>");
    expect_limit("roster of 20000 items", &b, 0, NULL, _i);

    xb_buf_reset(&b);
    put_str(&b, "<message><body>");
    put_fill(&b, 'a', 2u << 20);
    expect_limit("2 MiB unterminated text", &b, 0, NULL, _i);
    xb_buf_free(&b);
}
END_TEST

/*
 * A 2 MiB attribute value that never ends, against the default 1 MiB. Expat
 * rescans an unfinished token from its start on every feed, so cutting this
 * one into bytes or 1..64-byte pieces costs O(n^2) inside expat itself.
 * Here "byte by byte" feeds 4 KiB pieces and "random cuts" 1..64 KiB
 * pieces; the small-limit version of the same input runs with the real
 * splits in test_parser_limit_stanza_bytes.
 */
START_TEST(test_parser_limit_default_unterminated_attr)
{
    struct sink s;
    struct xb_buf b;
    unsigned state = tu_seed();
    size_t off, n;
    int rc = 0;

    xb_buf_init(&b);
    put_str(&b, HDR BEFORE "<message id='");
    put_fill(&b, 'a', 2u << 20);
    sink_init(&s, NULL, 0);
    for (off = 0; off < b.len && rc == 0; off += n) {
        if (_i == TU_BYTES)
            n = 4096;
        else if (_i == TU_RANDOM)
            n = 1 + tu_rand(&state) % 65536;
        else
            n = b.len;
        if (n > b.len - off)
            n = b.len - off;
        rc = xb_parser_feed(s.p, b.data + off, n);
    }
    ck_assert_msg(
        rc == XB_ELIMIT && xb_parser_condition(s.p) == XB_COND_POLICY_VIOLATION,
        "%s: got %s/%s \"%s\"", SPLIT, rc_name(rc),
        xb_cond_name(xb_parser_condition(s.p)), xb_parser_message(s.p));
    ck_assert_int_eq(s.nstanzas, 1);
    sink_free(&s);
    xb_buf_free(&b);
}
END_TEST

/* ---- stop and reset ----------------------------------------------------- */

#define STAGE1                                                                 \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " NS_DECL       \
    " from='example.com' id='s1' version='1.0'>"                               \
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"      \
    "<required/></starttls></stream:features>"                                 \
    "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
#define STAGE2                                                                 \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " NS_DECL       \
    " from='example.com' id='s2' version='1.0'>" FEATURES                      \
    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
#define STAGE3                                                                 \
    "<stream:stream xmlns='jabber:client' " NS_DECL                            \
    " from='example.com' id='s3' version='1.0'><stream:features>"              \
    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"       \
    "<iq type='result' id='b1'><bind "                                         \
    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"                                \
    "<jid>juliet@example.com/balcony</jid></bind></iq>" CLOSE

/* Feeds a stage that ends in a restart trigger: all but its last byte in
 * the split, then the last byte together with bytes that must be dropped. */
static void feed_stage(struct sink *s, const char *stage, enum tu_split split,
                       unsigned *state)
{
    static const char junk[] = "<message><body>dropped</body></message>";
    size_t len = strlen(stage);
    char last[sizeof junk + 1];
    int n, rc;

    rc = feed_split(s->p, stage, len - 1, split, state);
    ck_assert_msg(rc == 0, "%s: rc %s (%s)", tu_split_name(split), rc_name(rc),
                  xb_parser_message(s->p));
    n = s->nstanzas;
    last[0] = stage[len - 1];
    memcpy(last + 1, junk, sizeof junk);
    rc = xb_parser_feed(s->p, last, sizeof last - 1);
    ck_assert_msg(rc == 0, "%s: feed that stopped gave %s",
                  tu_split_name(split), rc_name(rc));
    ck_assert_msg(s->nstanzas == n + 1,
                  "%s: bytes after the stop were "
                  "parsed (%d stanzas)",
                  tu_split_name(split), s->nstanzas);
    ck_assert_msg(xb_parser_condition(s->p) == XB_COND_NONE,
                  "%s: stop set condition %s", tu_split_name(split),
                  xb_cond_name(xb_parser_condition(s->p)));
    rc = xb_parser_feed(s->p, "<presence/>", 11);
    ck_assert_msg(rc == XB_ESTATE, "%s: feed after stop gave %s",
                  tu_split_name(split), rc_name(rc));
    ck_assert_int_eq(xb_parser_reset(s->p), 0);
}

START_TEST(test_parser_restart_flow)
{
    static const char stage3[] = STAGE3;
    struct sink s;
    unsigned state = tu_seed();
    int rc;

    sink_init(&s, NULL, 0);
    s.stop_on_restart = 1;
    feed_stage(&s, STAGE1, _i, &state);
    ck_assert_int_eq(s.nstanzas, 2);
    ck_assert(xb_stanza_is(s.st[1], XB_NS_TLS, "proceed"));
    feed_stage(&s, STAGE2, _i, &state);
    ck_assert_int_eq(s.nstanzas, 4);
    ck_assert(xb_stanza_is(s.st[2], XB_NS_STREAMS, "features"));
    ck_assert(xb_stanza_is(s.st[3], XB_NS_SASL, "success"));
    rc = feed_split(s.p, stage3, sizeof stage3 - 1, _i, &state);
    ck_assert_msg(rc == 0, "%s: third stream: rc %s (%s)", SPLIT, rc_name(rc),
                  xb_parser_message(s.p));
    ck_assert_msg(s.opens == 3 && s.closes == 1 && s.nstanzas == 6,
                  "%s: %d opens, %d closes, %d stanzas", SPLIT, s.opens,
                  s.closes, s.nstanzas);
    ASSERT_STR(_i, s.ids[0], "s1");
    ASSERT_STR(_i, s.ids[1], "s2");
    ASSERT_STR(_i, s.ids[2], "s3");
    need(s.st[4], XB_NS_BIND, "bind", _i);
    ASSERT_STR(_i,
               xb_stanza_child_text(need(s.st[5], XB_NS_BIND, "bind", _i),
                                    XB_NS_BIND, "jid"),
               "juliet@example.com/balcony");
    sink_free(&s);
}
END_TEST

START_TEST(test_parser_stop_in_stream_open)
{
    static const char in[] = HDR "<message/>";
    struct sink s;
    unsigned state = tu_seed();
    size_t hlen = strlen(HDR);
    int rc;

    sink_init(&s, NULL, 0);
    s.stop_on_open = 1;
    /* The header and the stanza after it arrive in the same last feed. */
    rc = feed_split(s.p, in, hlen - 1, _i, &state);
    ck_assert_msg(rc == 0, "%s: rc %s", SPLIT, rc_name(rc));
    rc = xb_parser_feed(s.p, in + hlen - 1, sizeof in - hlen);
    ck_assert_msg(rc == 0 && s.opens == 1 && s.nstanzas == 0,
                  "%s: rc %s, %d opens, %d stanzas", SPLIT, rc_name(rc),
                  s.opens, s.nstanzas);
    ck_assert_int_eq(xb_parser_feed(s.p, " ", 1), XB_ESTATE);
    ck_assert_int_eq(xb_parser_reset(s.p), 0);
    s.stop_on_open = 0;
    rc = feed_split(s.p, in, sizeof in - 1, _i, &state);
    ck_assert_msg(rc == 0 && s.opens == 2 && s.nstanzas == 1,
                  "%s: after reset: rc %s, %d opens, %d stanzas", SPLIT,
                  rc_name(rc), s.opens, s.nstanzas);
    sink_free(&s);
}
END_TEST

START_TEST(test_parser_reset_mid_stanza)
{
    static const char part[] = HDR "<message><body>half";
    static const char again[] = HDR "<message id='m'/>";
    struct sink s;
    unsigned state = tu_seed();
    int rc;

    sink_init(&s, NULL, 0);
    rc = feed_split(s.p, part, sizeof part - 1, _i, &state);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(xb_parser_reset(s.p), 0);
    rc = feed_split(s.p, again, sizeof again - 1, _i, &state);
    ck_assert_msg(rc == 0 && s.opens == 2 && s.nstanzas == 1,
                  "%s: rc %s, %d opens, %d stanzas", SPLIT, rc_name(rc),
                  s.opens, s.nstanzas);
    sink_free(&s);
}
END_TEST

START_TEST(test_parser_empty_feed_and_no_hooks)
{
    static const struct xb_parser_hooks none = {NULL, NULL, NULL};
    static const char in[] = HDR MUC_PRESENCE IQ_ROSTER "<message><body>x";
    struct xb_parser *p;
    unsigned state = tu_seed();

    xb_parser_free(NULL);
    p = xb_parser_new(&none, NULL, NULL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(xb_parser_feed(p, "", 0), 0);
    ck_assert_int_eq(feed_split(p, in, sizeof in - 1, _i, &state), 0);
    ck_assert_int_eq(xb_parser_feed(p, "", 0), 0);
    ck_assert_int_eq(xb_parser_error(p), 0);
    ck_assert_int_eq(xb_parser_condition(p), XB_COND_NONE);
    ck_assert_str_eq(xb_parser_message(p), "");
    /* Freed with a stanza half built: nothing may leak. */
    xb_parser_free(p);
}
END_TEST

/* ---- document mode --------------------------------------------------------
 */

START_TEST(test_parser_document_mode)
{
    static const char msg[] = "<message xmlns='jabber:client' to='a@b'>"
                              "<body>hi &amp; bye</body></message>";
    static const char decl[] = "<?xml version='1.0'?>\n<foo a='1'><bar/>"
                               "</foo>";
    static const char stream[] = "<stream:stream xmlns='jabber:client' " NS_DECL
                                 "><message/></stream:stream>";
    static const struct xb_parser_limits small = {0, 2, 0};
    struct tu_result res;
    struct xb_stanza *in_stream;

    tu_parse(&res, msg, sizeof msg - 1, _i, NULL, XB_PARSER_DOCUMENT);
    ck_assert_msg(res.rc == 0 && res.nstanzas == 1 && res.opens == 0 &&
                      res.closes == 0,
                  "%s: rc %s (%s), %d stanzas, %d opens", SPLIT,
                  rc_name(res.rc), res.message, res.nstanzas, res.opens);
    in_stream = parse_stanza("<message to='a@b'><body>hi &amp; bye</body>"
                             "</message>",
                             _i);
    ck_assert_msg(xb_stanza_equal(res.stanzas[0], in_stream),
                  "%s: document differs from the stanza", SPLIT);
    xb_stanza_free(in_stream);
    tu_result_free(&res);

    tu_parse(&res, decl, sizeof decl - 1, _i, NULL, XB_PARSER_DOCUMENT);
    ck_assert_msg(res.rc == 0 && res.nstanzas == 1, "%s: rc %s (%s)", SPLIT,
                  rc_name(res.rc), res.message);
    ck_assert(xb_stanza_is(res.stanzas[0], "", "foo"));
    need(res.stanzas[0], "", "bar", _i);
    tu_result_free(&res);

    /* No stream semantics: a stream element is just the root. */
    tu_parse(&res, stream, sizeof stream - 1, _i, NULL, XB_PARSER_DOCUMENT);
    ck_assert_msg(res.rc == 0 && res.nstanzas == 1 && res.opens == 0 &&
                      res.closes == 0,
                  "%s: stream as document: rc %s, %d stanzas, %d opens", SPLIT,
                  rc_name(res.rc), res.nstanzas, res.opens);
    ck_assert(xb_stanza_is(res.stanzas[0], XB_NS_STREAMS, "stream"));
    need(res.stanzas[0], XB_NS_CLIENT, "message", _i);
    tu_result_free(&res);

    tu_parse(&res, "<a><b/></a>", 11, _i, &small, XB_PARSER_DOCUMENT);
    ck_assert_msg(res.rc == 0 && res.nstanzas == 1, "%s: depth 2 of 2: %s",
                  SPLIT, rc_name(res.rc));
    tu_result_free(&res);
    tu_parse(&res, "<a><b><c/></b></a>", 18, _i, &small, XB_PARSER_DOCUMENT);
    ck_assert_msg(res.rc == XB_ELIMIT && res.cond == XB_COND_POLICY_VIOLATION,
                  "%s: depth 3 of 2: %s/%s", SPLIT, rc_name(res.rc),
                  xb_cond_name(res.cond));
    tu_result_free(&res);
}
END_TEST

START_TEST(test_parser_document_mode_errors)
{
    static const struct bad_case cases[] = {
        RESTRICTED("comment", "<a><!-- x --></a>"),
        RESTRICTED("DOCTYPE", "<!DOCTYPE a><a/>"),
        RESTRICTED("PI", "<a><?pi x?></a>"),
        RESTRICTED("undefined entity", "<a>&nbsp;</a>"),
        NWF("mismatched", "<a><b></a>"),
        NWF("bad UTF-8", "<a>\xC0\x80</a>"),
        NWF("unbound prefix", "<x:a/>"),
        BAD("encoding", "<?xml version='1.0' encoding='ISO-8859-1'?><a/>",
            XB_EXML, XB_COND_UNSUPPORTED_ENCODING),
    };
    struct fails f = {0, 0, ""};
    struct tu_result res;
    size_t i;

    for (i = 0; i < NCASES(cases); i++) {
        tu_parse(&res, cases[i].data, cases[i].len, _i, NULL,
                 XB_PARSER_DOCUMENT);
        if (res.rc != cases[i].rc || res.cond != cases[i].cond ||
            !res.message[0] || res.nstanzas != 0)
            fail_add(&f, "%s: expected %s/%s, got %s/%s \"%s\", %d stanzas",
                     cases[i].name, rc_name(cases[i].rc),
                     xb_cond_name(cases[i].cond), rc_name(res.rc),
                     xb_cond_name(res.cond), res.message, res.nstanzas);
        tu_result_free(&res);
    }
    tu_parse(&res, "<a/><b/>", 8, _i, NULL, XB_PARSER_DOCUMENT);
    if (res.rc == 0)
        fail_add(&f, "second root element accepted");
    tu_result_free(&res);
    ck_assert_msg(f.count == 0, "%s: %d cases failed:%s", SPLIT, f.count,
                  f.text);
}
END_TEST

START_TEST(test_parser_parse_one)
{
    static const char ok[] = "<iq xmlns='jabber:client' type='get' id='1'>"
                             "<ping xmlns='urn:xmpp:ping'/></iq>";
    static const char *const bad[] = {
        "<a>", "<a></b>", "<a/><b/>", "", "text", "<a><!--c--></a>",
    };
    static const enum xb_cond conds[] = {
        XB_COND_NONE, XB_COND_NOT_WELL_FORMED, XB_COND_NONE, XB_COND_NONE,
        XB_COND_NONE, XB_COND_RESTRICTED_XML,
    };
    struct xb_stanza *st = NULL;
    enum xb_cond cond = XB_COND_BAD_FORMAT;
    size_t i;
    int rc;

    rc = xb_parser_parse_one(ok, sizeof ok - 1, &st, &cond);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(st);
    ck_assert(xb_stanza_is(st, XB_NS_CLIENT, "iq"));
    need(st, XB_NS_PING, "ping", TU_WHOLE);
    ck_assert_ptr_null(xb_stanza_parent(st));
    xb_stanza_free(st);

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st = (struct xb_stanza *)&cond; /* must be overwritten with NULL */
        cond = XB_COND_NONE;
        rc = xb_parser_parse_one(bad[i], strlen(bad[i]), &st, &cond);
        ck_assert_msg(rc < 0, "\"%s\" accepted", bad[i]);
        ck_assert_msg(st == NULL, "\"%s\": *out not NULL", bad[i]);
        ck_assert_msg(conds[i] == XB_COND_NONE || cond == conds[i],
                      "\"%s\": condition %s, expected %s", bad[i],
                      xb_cond_name(cond), xb_cond_name(conds[i]));
        rc = xb_parser_parse_one(bad[i], strlen(bad[i]), &st, NULL);
        ck_assert_msg(rc < 0 && st == NULL, "\"%s\" without cond", bad[i]);
    }
}
END_TEST

START_TEST(test_parser_parse_one_limits)
{
    static const char deep[] = "<a><b><c/></b></a>"; /* depth 3 */
    static const struct xb_parser_limits two = {0, 2, 0}, three = {0, 3, 0};
    struct xb_stanza *st = NULL;
    enum xb_cond cond = XB_COND_NONE;

    ck_assert_int_eq(
        xb_parser_parse_one_limits(deep, sizeof deep - 1, &two, &st, &cond),
        XB_ELIMIT);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(cond, XB_COND_POLICY_VIOLATION);
    ck_assert_int_eq(
        xb_parser_parse_one_limits(deep, sizeof deep - 1, &three, &st, &cond),
        0);
    ck_assert(xb_stanza_is(st, NULL, "a"));
    xb_stanza_free(st);
    /* NULL: the defaults, as xb_parser_parse_one(). */
    ck_assert_int_eq(
        xb_parser_parse_one_limits(deep, sizeof deep - 1, NULL, &st, NULL), 0);
    xb_stanza_free(st);
}
END_TEST

/* ---- a shared engine -------------------------------------------------------
 */

/* Hooks that fill a tu_result, as tu_parse's do. */
static void res_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static void res_open(void *ud, const struct xb_stream_header *h)
{
    struct tu_result *res = ud;

    res->opens++;
    res_field(res->from, sizeof res->from, h->from);
    res_field(res->to, sizeof res->to, h->to);
    res_field(res->id, sizeof res->id, h->id);
    res_field(res->version, sizeof res->version, h->version);
    res_field(res->lang, sizeof res->lang, h->lang);
    res_field(res->content_ns, sizeof res->content_ns, h->content_ns);
}

static void res_stanza(void *ud, struct xb_stanza *st)
{
    struct tu_result *res = ud;

    if (res->nstanzas < TU_MAX_STANZAS)
        res->stanzas[res->nstanzas++] = st;
    else
        xb_stanza_free(st);
}

static void res_close(void *ud)
{
    ((struct tu_result *)ud)->closes++;
}

static const struct xb_parser_hooks res_hooks = {res_open, res_stanza,
                                                 res_close};

/* What the other parser on the engine gets, stanza after stanza. */
#define SM_REQUEST "<r xmlns='urn:xmpp:sm:3'/>"
static const char *const other_stanzas[] = {MUC_PRESENCE, IQ_ROSTER,
                                            MSG_ESCAPES, SM_REQUEST};

/* A parser that shares the engine with the one under test and is fed a
 * clean stream in random cuts in between: it must see every stanza. */
struct other {
    struct xb_parser *p;
    struct tu_result res;
    struct xb_buf in; /* its stream */
    size_t off;       /* bytes fed */
    int sent;         /* complete stanzas in in */
    unsigned state;
};

static void other_init(struct other *o, struct xb_parser_engine *e)
{
    int i;

    memset(o, 0, sizeof *o);
    o->state = tu_seed() ^ 0x0b0b;
    o->p = xb_parser_new_shared(e, &res_hooks, &o->res, NULL, 0);
    ck_assert_ptr_nonnull(o->p);
    xb_buf_init(&o->in);
    put_str(&o->in, HDR);
    for (i = 0; i < 400; i++) {
        put_str(&o->in, other_stanzas[i % 4]);
        put_str(&o->in, i % 3 ? "" : " ");
    }
    o->sent = 400;
}

/* Feeds the other parser its next 1..64 bytes (fewer at the end). */
static void other_step(struct other *o)
{
    size_t n = 1 + tu_rand(&o->state) % 64;
    int rc;

    if (n > o->in.len - o->off)
        n = o->in.len - o->off;
    rc = xb_parser_feed(o->p, o->in.data + o->off, n);
    ck_assert_msg(rc == 0, "the other parser failed: %s",
                  xb_parser_message(o->p));
    o->off += n;
}

/* Feeds it the rest and checks that it saw every stanza, unharmed. */
static void other_finish(struct other *o)
{
    int i, n;

    ck_assert_int_eq(
        xb_parser_feed(o->p, o->in.data + o->off, o->in.len - o->off), 0);
    ck_assert_int_eq(o->res.opens, 1);
    n = o->res.nstanzas;
    ck_assert_msg(o->res.nstanzas ==
                      (o->sent < TU_MAX_STANZAS ? o->sent : TU_MAX_STANZAS),
                  "the other parser got %d stanzas", o->res.nstanzas);
    for (i = 0; i < n; i++)
        ck_assert_str_eq(xb_stanza_name(o->res.stanzas[i]),
                         i % 4 == 0   ? "presence"
                         : i % 4 == 1 ? "iq"
                         : i % 4 == 2 ? "message"
                                      : "r");
    tu_result_free(&o->res);
    xb_parser_free(o->p);
    xb_buf_free(&o->in);
}

/*
 * Like tu_parse() with a parser on a shared engine; another parser on the
 * same engine is fed between each two feeds, so that every unfinished
 * element of the one under test waits in it and is parsed whole.
 */
static void parse_shared(struct tu_result *res, const char *data, size_t len,
                         enum tu_split split,
                         const struct xb_parser_limits *limits, unsigned flags)
{
    struct xb_parser_engine *e = xb_parser_engine_new();
    struct xb_parser *p;
    struct other o;
    unsigned state = tu_seed();
    size_t off = 0, n;

    ck_assert_ptr_nonnull(e);
    memset(res, 0, sizeof *res);
    other_init(&o, e);
    p = xb_parser_new_shared(e, &res_hooks, res, limits, flags);
    ck_assert_ptr_nonnull(p);
    while (off < len && res->rc == 0) {
        n = split == TU_BYTES    ? 1
            : split == TU_RANDOM ? 1 + tu_rand(&state) % 64
                                 : len;
        if (n > len - off)
            n = len - off;
        res->rc = xb_parser_feed(p, data + off, n);
        off += n;
        other_step(&o);
    }
    res->cond = xb_parser_condition(p);
    res_field(res->message, sizeof res->message, xb_parser_message(p));
    xb_parser_free(p);
    other_finish(&o);
    xb_parser_engine_free(e);
}

static void sink_init_shared(struct sink *s, struct xb_parser_engine *e,
                             const struct xb_parser_limits *limits,
                             unsigned flags)
{
    static const struct xb_parser_hooks hooks = {sink_open, sink_stanza,
                                                 sink_close};

    memset(s, 0, sizeof *s);
    s->p = xb_parser_new_shared(e, &hooks, s, limits, flags);
    ck_assert_ptr_nonnull(s->p);
}

/* A feeds half a stanza, B a whole one, A the rest: each gets its own. */
START_TEST(test_parser_shared_interleaved)
{
    static const char a_in[] = HDR MSG_ESCAPES;
    static const char b_in[] = HDR IQ_ROSTER;
    struct xb_parser_engine *e = xb_parser_engine_new();
    struct xb_stanza *want;
    struct sink a, b;
    unsigned state = tu_seed();
    size_t half = strlen(HDR) + strlen(MSG_ESCAPES) / 2;

    ck_assert_ptr_nonnull(e);
    sink_init_shared(&a, e, NULL, 0);
    sink_init_shared(&b, e, NULL, 0);
    ck_assert_int_eq(feed_split(a.p, a_in, half, _i, &state), 0);
    ck_assert_int_eq(feed_split(b.p, b_in, sizeof b_in - 1, _i, &state), 0);
    ck_assert_int_eq(b.nstanzas, 1);
    ck_assert_int_eq(a.nstanzas, 0);
    ck_assert_int_eq(
        feed_split(a.p, a_in + half, sizeof a_in - 1 - half, _i, &state), 0);
    ck_assert_msg(a.nstanzas == 1 && a.opens == 1 && b.opens == 1,
                  "%s: A %d stanzas, %d opens; B %d opens", SPLIT, a.nstanzas,
                  a.opens, b.opens);
    want = parse_stanza(MSG_ESCAPES, TU_WHOLE);
    ck_assert_msg(xb_stanza_equal(a.st[0], want), "%s: A's stanza differs",
                  SPLIT);
    xb_stanza_free(want);
    want = parse_stanza(IQ_ROSTER, TU_WHOLE);
    ck_assert_msg(xb_stanza_equal(b.st[0], want), "%s: B's stanza differs",
                  SPLIT);
    xb_stanza_free(want);

    /* Both close their streams; the engine serves new ones after. */
    ck_assert_int_eq(xb_parser_feed(b.p, CLOSE, strlen(CLOSE)), 0);
    ck_assert_int_eq(b.closes, 1);
    ck_assert_int_eq(
        feed_split(a.p, IQ_BIND CLOSE, strlen(IQ_BIND CLOSE), _i, &state), 0);
    ck_assert_int_eq(a.nstanzas, 2);
    ck_assert_int_eq(a.closes, 1);
    ck_assert_int_eq(xb_parser_reset(b.p), 0);
    ck_assert_int_eq(feed_split(b.p, b_in, sizeof b_in - 1, _i, &state), 0);
    ck_assert_int_eq(b.nstanzas, 2);
    sink_free(&a);
    sink_free(&b);
    xb_parser_engine_free(e);
}
END_TEST

/* Every stanza of the corpus, alone and in one stream, comes out the same
 * on a shared engine as on a private one. */
START_TEST(test_parser_shared_corpus)
{
    struct tu_result res;
    struct xb_stanza *one;
    struct xb_buf b;
    size_t i;

    xb_buf_init(&b);
    for (i = 0; i < NCORPUS; i++) {
        xb_buf_reset(&b);
        put_str(&b, HDR);
        put_str(&b, corpus[i].xml);
        parse_shared(&res, b.data, b.len, _i, NULL, 0);
        ck_assert_msg(res.rc == 0 && res.nstanzas == 1, "%s: %s: rc %s (%s)",
                      SPLIT, corpus[i].name, rc_name(res.rc), res.message);
        one = parse_stanza(corpus[i].xml, TU_WHOLE);
        ck_assert_msg(xb_stanza_equal(one, res.stanzas[0]),
                      "%s: %s differs on a shared engine", SPLIT,
                      corpus[i].name);
        xb_stanza_free(one);
        tu_result_free(&res);
    }
    xb_buf_reset(&b);
    put_str(&b, HDR);
    for (i = 0; i < NCORPUS; i++) {
        put_str(&b, corpus[i].xml);
        put_str(&b, i % 2 ? "\n" : " \r\n\t ");
    }
    put_str(&b, CLOSE);
    parse_shared(&res, b.data, b.len, _i, NULL, 0);
    ck_assert_msg(res.rc == 0 && res.nstanzas == (int)NCORPUS &&
                      res.closes == 1,
                  "%s: sequence: rc %s (%s), %d stanzas", SPLIT,
                  rc_name(res.rc), res.message, res.nstanzas);
    for (i = 0; i < NCORPUS; i++) {
        one = parse_stanza(corpus[i].xml, TU_WHOLE);
        ck_assert_msg(xb_stanza_equal(one, res.stanzas[i]),
                      "%s: %s differs in a sequence", SPLIT, corpus[i].name);
        xb_stanza_free(one);
    }
    tu_result_free(&res);
    xb_buf_free(&b);
}
END_TEST

/* Elements that never end in the input: a shared engine checks them when
 * complete, so nothing is reported yet. */
static int pending_on_shared(const char *name)
{
    return !strcmp(name, "mismatched tag") ||
           !strcmp(name, "stream close inside a stanza");
}

/* The hostile catalogue on a shared engine: the same refusals, and the
 * other parser on the engine never notices. */
START_TEST(test_parser_shared_hostile)
{
    struct fails f = {0, 0, ""};
    struct tu_result res;
    struct xb_buf b;
    size_t t, i;

    xb_buf_init(&b);
    for (t = 0; t < NCASES(bad_tables); t++) {
        for (i = 0; i < bad_tables[t].n; i++) {
            const struct bad_case *c = &bad_tables[t].cases[i];

            xb_buf_reset(&b);
            if (bad_tables[t].in_stream)
                put_str(&b, HDR BEFORE);
            put(&b, c->data, c->len);
            parse_shared(&res, b.data, b.len, _i, NULL, 0);
            if (res.rc == 0 && pending_on_shared(c->name))
                ;
            else if (res.rc != c->rc || res.cond != c->cond)
                fail_add(&f, "%s: expected %s/%s, got %s/%s \"%s\"", c->name,
                         rc_name(c->rc), xb_cond_name(c->cond), rc_name(res.rc),
                         xb_cond_name(res.cond), res.message);
            else if (!res.message[0])
                fail_add(&f, "%s: empty message", c->name);
            if (res.nstanzas != (bad_tables[t].in_stream ? 1 : 0))
                fail_add(&f, "%s: %d stanzas", c->name, res.nstanzas);
            tu_result_free(&res);
        }
    }
    xb_buf_free(&b);
    ck_assert_msg(f.count == 0, "%s: %d cases failed:%s", SPLIT, f.count,
                  f.text);
}
END_TEST

/*
 * A 4-byte UTF-8 lead byte right before the '>' that ends a unit for the
 * framer: expat takes the '>' and what follows as the rest of the
 * character and refuses them only once it has all four bytes. When the
 * next unit's first byte came in the same feed, a private engine did not
 * check that expat had taken the whole unit and waited for more (fed up
 * to the '>' first, it refused), while a shared one refused at once
 * (fuzz_parser: "only a shared engine refused the input"); text after
 * the unit made the shared engine wait too. Every engine refuses at the
 * unit's end now, whatever the cuts.
 */
START_TEST(test_parser_partial_char_at_unit_end)
{
    static const struct {
        const char *name;
        const char *data;
    } cases[] = {
        {"root, then '<'", "<\xF1><"},
        {"header, then '<'",
         "<stream:stream xmlns='jabber:client' " NS_DECL " \xF1><"},
        {"stanza, then '<'", HDR "<message>hi</message\xF1><"},
        {"stanza, then text", HDR "<message>hi</message\xF1>x"},
    };
    struct tu_result priv, shared;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].data);

        tu_parse(&priv, cases[i].data, len, _i, NULL, 0);
        parse_shared(&shared, cases[i].data, len, _i, NULL, 0);
        ck_assert_msg(
            priv.rc == XB_EXML && priv.cond == XB_COND_NOT_WELL_FORMED,
            "%s: %s: a private engine gave %s/%s \"%s\"", SPLIT, cases[i].name,
            rc_name(priv.rc), xb_cond_name(priv.cond), priv.message);
        ck_assert_msg(
            shared.rc == XB_EXML && shared.cond == XB_COND_NOT_WELL_FORMED,
            "%s: %s: a shared engine gave %s/%s \"%s\"", SPLIT, cases[i].name,
            rc_name(shared.rc), xb_cond_name(shared.cond), shared.message);
        ck_assert_msg(strcmp(priv.message, shared.message) == 0,
                      "%s: %s: private \"%s\", shared \"%s\"", SPLIT,
                      cases[i].name, priv.message, shared.message);
        ck_assert_msg(priv.nstanzas == 0 && shared.nstanzas == 0,
                      "%s: %s: %d and %d stanzas", SPLIT, cases[i].name,
                      priv.nstanzas, shared.nstanzas);
        tu_result_free(&priv);
        tu_result_free(&shared);
    }
}
END_TEST

/* Limits on a shared engine, unfinished input included. */
START_TEST(test_parser_shared_limits)
{
    static const struct xb_parser_limits small = {256, 4, 3};
    static const struct {
        const char *what;
        const char *body;
        int ok;
    } cases[] = {
        {"depth 4 of 4", "<message><a><b><c/></b></a></message>", 1},
        {"depth 5 of 4", "<message><a><b><c><d/></c></b></a></message>", 0},
        {"3 of 3 attributes", "<message a='1' b='2' c='3'/>", 1},
        {"4 of 3 attributes", "<message><x a='1' b='2' c='3' d='4'/></message>",
         0},
    };
    struct tu_result res;
    struct xb_buf b;
    size_t i;

    xb_buf_init(&b);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xb_buf_reset(&b);
        put_str(&b, HDR BEFORE);
        put_str(&b, cases[i].body);
        put_str(&b, BEFORE);
        parse_shared(&res, b.data, b.len, _i, &small, 0);
        if (cases[i].ok)
            ck_assert_msg(res.rc == 0 && res.nstanzas == 3, "%s: %s: %s", SPLIT,
                          cases[i].what, res.message);
        else
            ck_assert_msg(res.rc == XB_ELIMIT &&
                              res.cond == XB_COND_POLICY_VIOLATION &&
                              res.nstanzas == 1,
                          "%s: %s: %s/%s \"%s\", %d stanzas", SPLIT,
                          cases[i].what, rc_name(res.rc),
                          xb_cond_name(res.cond), res.message, res.nstanzas);
        tu_result_free(&res);
    }
    xb_buf_reset(&b);
    put_str(&b, HDR BEFORE);
    make_sized(&b, 256);
    make_sized(&b, 257);
    parse_shared(&res, b.data, b.len, _i, &small, 0);
    ck_assert_msg(res.rc == XB_ELIMIT && res.nstanzas == 2, "%s: 257 bytes",
                  SPLIT);
    tu_result_free(&res);
    xb_buf_reset(&b);
    put_str(&b, HDR BEFORE "<message><body>");
    put_fill(&b, 'a', 1000);
    parse_shared(&res, b.data, b.len, _i, &small, 0);
    ck_assert_msg(res.rc == XB_ELIMIT && res.nstanzas == 1,
                  "%s: unterminated text: %s", SPLIT, res.message);
    tu_result_free(&res);
    xb_buf_free(&b);
}
END_TEST

/* Streams with other contexts share the engine with client streams: a
 * jabber:server stream declaring dialback, a client stream, and one whose
 * streams prefix is not "stream". */
START_TEST(test_parser_shared_namespaces)
{
    static const char server[] =
        "<stream:stream xmlns='jabber:server' " NS_DECL
        " xmlns:db='jabber:server:dialback' to='a.example' version='1.0'>"
        "<db:result from='b.example' to='a.example'>key</db:result>"
        "<message to='x@a.example'><body>s2s</body></message>" CLOSE;
    static const char client[] = HDR "<message><body>c2s</body></message>"
                                     "<stream:features/>" CLOSE;
    static const char prefix[] =
        "<s:stream xmlns:s='http://etherx.jabber.org/streams' "
        "xmlns='jabber:client'><s:features/><message/></s:stream>";
    static const char *const in[] = {server, client, prefix};
    struct xb_parser_engine *e = xb_parser_engine_new();
    struct tu_result res[3];
    struct xb_parser *p[3];
    unsigned state = tu_seed();
    size_t off[3] = {0, 0, 0}, n, k;
    int i, left;

    ck_assert_ptr_nonnull(e);
    for (i = 0; i < 3; i++) {
        memset(&res[i], 0, sizeof res[i]);
        p[i] = xb_parser_new_shared(e, &res_hooks, &res[i], NULL, 0);
        ck_assert_ptr_nonnull(p[i]);
    }
    do {
        left = 0;
        for (i = 0; i < 3; i++) {
            n = strlen(in[i]) - off[i];
            k = _i == TU_BYTES    ? 1
                : _i == TU_RANDOM ? 1 + tu_rand(&state) % 64
                                  : n;
            if (n > k)
                n = k;
            if (n == 0)
                continue;
            ck_assert_msg(xb_parser_feed(p[i], in[i] + off[i], n) == 0,
                          "%s: stream %d: %s", SPLIT, i,
                          xb_parser_message(p[i]));
            off[i] += n;
            left = 1;
        }
    } while (left);

    ck_assert_msg(res[0].nstanzas == 2 && res[0].closes == 1, "%s: server",
                  SPLIT);
    ASSERT_STR(_i, res[0].content_ns, XB_NS_SERVER);
    ck_assert(
        xb_stanza_is(res[0].stanzas[0], "jabber:server:dialback", "result"));
    ck_assert(xb_stanza_is(res[0].stanzas[1], XB_NS_SERVER, "message"));
    ASSERT_STR(_i, xb_stanza_ns(need(res[0].stanzas[1], NULL, "body", _i)),
               XB_NS_SERVER);

    ck_assert_msg(res[1].nstanzas == 2 && res[1].closes == 1, "%s: client",
                  SPLIT);
    ck_assert(xb_stanza_is(res[1].stanzas[0], XB_NS_CLIENT, "message"));
    ck_assert(xb_stanza_is(res[1].stanzas[1], XB_NS_STREAMS, "features"));

    ck_assert_msg(res[2].nstanzas == 2 && res[2].closes == 1, "%s: prefix",
                  SPLIT);
    ck_assert(xb_stanza_is(res[2].stanzas[0], XB_NS_STREAMS, "features"));
    ck_assert(xb_stanza_is(res[2].stanzas[1], XB_NS_CLIENT, "message"));
    for (i = 0; i < 3; i++) {
        tu_result_free(&res[i]);
        xb_parser_free(p[i]);
    }
    xb_parser_engine_free(e);
}
END_TEST

/* An error in A, halfway through B's stanza, leaves B alone; A is sticky
 * until reset, then works again. */
START_TEST(test_parser_shared_error_isolated)
{
    static const char *const bad[] = {
        "<message><body>a & b</body></message>",        /* expat */
        "<message><a><b><c><d/></c></b></a></message>", /* depth handler */
        "<message><!-- x --></message>",                /* framer */
    };
    static const struct xb_parser_limits small = {0, 3, 0};
    static const char muc[] = MUC_PRESENCE;
    struct xb_parser_engine *e = xb_parser_engine_new();
    struct sink a, b;
    unsigned state = tu_seed();
    size_t i, half = strlen(muc) / 2;
    int rc;

    ck_assert_ptr_nonnull(e);
    sink_init_shared(&b, e, NULL, 0);
    ck_assert_int_eq(xb_parser_feed(b.p, HDR, strlen(HDR)), 0);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sink_init_shared(&a, e, &small, 0);
        ck_assert_int_eq(
            feed_split(a.p, HDR BEFORE, strlen(HDR BEFORE), _i, &state), 0);
        ck_assert_int_eq(xb_parser_feed(b.p, muc, half), 0);
        rc = feed_split(a.p, bad[i], strlen(bad[i]), _i, &state);
        ck_assert_msg(rc < 0 && rc != XB_ESTATE, "%s: %s accepted", SPLIT,
                      bad[i]);
        ck_assert_int_eq(xb_parser_feed(a.p, BEFORE, strlen(BEFORE)),
                         XB_ESTATE);
        ck_assert_int_eq(xb_parser_feed(b.p, muc + half, strlen(muc) - half),
                         0);
        ck_assert_int_eq(b.nstanzas, (int)i + 1);
        ck_assert(xb_stanza_is(b.st[i], XB_NS_CLIENT, "presence"));
        ck_assert_int_eq(xb_parser_reset(a.p), 0);
        ck_assert_int_eq(
            feed_split(a.p, HDR BEFORE, strlen(HDR BEFORE), _i, &state), 0);
        ck_assert_int_eq(a.nstanzas, 2);
        sink_free(&a);
    }
    sink_free(&b);
    xb_parser_engine_free(e);
}
END_TEST

/* Hooks on a shared engine: feeding another parser from a hook is refused,
 * creating, stopping and freeing others is fine. */
struct hooked {
    struct xb_parser_engine *e;
    struct xb_parser *self, *victim;
    int fed_rc, stanzas;
};

static void hooked_stanza(void *ud, struct xb_stanza *st)
{
    struct hooked *h = ud;
    struct xb_parser *tmp;

    h->stanzas++;
    xb_stanza_free(st);
    h->fed_rc = xb_parser_feed(h->victim, "<presence/>", 11);
    tmp = xb_parser_new_shared(h->e, NULL, NULL, NULL, 0);
    ck_assert_ptr_nonnull(tmp);
    xb_parser_free(tmp);
    ck_assert_int_eq(xb_parser_reset(h->self), XB_ESTATE);
    if (h->stanzas == 2)
        xb_parser_stop(h->self);
}

START_TEST(test_parser_shared_hooks)
{
    static const struct xb_parser_hooks hooks = {NULL, hooked_stanza, NULL};
    static const char in[] = HDR "<a/><b/>";
    struct xb_parser_engine *e = xb_parser_engine_new();
    struct hooked h;
    struct sink v;
    unsigned state = tu_seed();

    ck_assert_ptr_nonnull(e);
    sink_init_shared(&v, e, NULL, 0);
    ck_assert_int_eq(xb_parser_feed(v.p, HDR "<message><bo", strlen(HDR) + 12),
                     0);
    memset(&h, 0, sizeof h);
    h.e = e;
    h.victim = v.p;
    h.self = xb_parser_new_shared(e, &hooks, &h, NULL, 0);
    ck_assert_ptr_nonnull(h.self);
    ck_assert_int_eq(feed_split(h.self, in, sizeof in - 1, _i, &state), 0);
    ck_assert_int_eq(h.fed_rc, XB_ESTATE);
    ck_assert_int_eq(h.stanzas, 2); /* stopped at <b/> */
    ck_assert_int_eq(xb_parser_feed(h.self, "<c/>", 4), XB_ESTATE);
    ck_assert_int_eq(xb_parser_error(h.self), 0);
    /* The victim was not harmed by the refused feed. */
    ck_assert_int_eq(xb_parser_feed(v.p, "dy>x</body></message>", 21), 0);
    ck_assert_int_eq(v.nstanzas, 1);
    ASSERT_STR(_i, xb_stanza_child_text(v.st[0], NULL, "body"), "x");
    xb_parser_free(h.self);
    sink_free(&v);
    xb_parser_engine_free(e);
}
END_TEST

/* The STARTTLS/SASL restart (stop in a hook, reset, new stream) on two
 * parsers sharing an engine, stage by stage, interleaved. */
START_TEST(test_parser_shared_restart)
{
    static const char *const stages[] = {STAGE1, STAGE2};
    static const char stage3[] = STAGE3;
    struct xb_parser_engine *e = xb_parser_engine_new();
    struct sink s[2];
    unsigned state = tu_seed();
    size_t st;
    int i;

    ck_assert_ptr_nonnull(e);
    for (i = 0; i < 2; i++) {
        sink_init_shared(&s[i], e, NULL, 0);
        s[i].stop_on_restart = 1;
    }
    for (st = 0; st < 2; st++)
        for (i = 0; i < 2; i++)
            feed_stage(&s[i], stages[st], _i, &state);
    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(
            feed_split(s[i].p, stage3, sizeof stage3 - 1, _i, &state), 0);
        ck_assert_msg(s[i].opens == 3 && s[i].closes == 1 && s[i].nstanzas == 6,
                      "%s: parser %d: %d opens, %d closes, %d stanzas", SPLIT,
                      i, s[i].opens, s[i].closes, s[i].nstanzas);
        ASSERT_STR(_i, s[i].ids[2], "s3");
        sink_free(&s[i]);
    }
    xb_parser_engine_free(e);
}
END_TEST

/* Reset and free a parser whose element waits half done, with the engine
 * holding it or not; a document parser shares the engine too. */
START_TEST(test_parser_shared_reset_free_document)
{
    static const char doc[] = "<iq xmlns='jabber:client' type='get' id='d'>"
                              "<ping xmlns='urn:xmpp:ping'/></iq>";
    static const char disco[] = IQ_DISCO;
    struct xb_parser_engine *e = xb_parser_engine_new();
    struct sink a, b, d;
    unsigned state = tu_seed();
    size_t half = strlen(disco) / 2;

    ck_assert_ptr_nonnull(e);
    sink_init_shared(&a, e, NULL, 0);
    sink_init_shared(&b, e, NULL, 0);
    sink_init_shared(&d, e, NULL, XB_PARSER_DOCUMENT);
    ck_assert_int_eq(feed_split(a.p, HDR, strlen(HDR), _i, &state), 0);
    ck_assert_int_eq(feed_split(b.p, HDR, strlen(HDR), _i, &state), 0);
    ck_assert_int_eq(xb_parser_feed(a.p, disco, half), 0);
    ck_assert_int_eq(xb_parser_feed(b.p, disco, half), 0);
    ck_assert_int_eq(feed_split(d.p, doc, 20, _i, &state), 0);
    ck_assert_int_eq(xb_parser_reset(a.p), 0);
    ck_assert_int_eq(feed_split(d.p, doc + 20, sizeof doc - 21, _i, &state), 0);
    ck_assert_int_eq(d.nstanzas, 1);
    need(d.st[0], XB_NS_PING, "ping", _i);
    ck_assert_int_eq(xb_parser_feed(d.p, " ", 1), XB_ESTATE);
    ck_assert_int_eq(
        feed_split(a.p, HDR IQ_VCARD, strlen(HDR IQ_VCARD), _i, &state), 0);
    ck_assert_int_eq(a.nstanzas, 1);
    ck_assert_int_eq(
        feed_split(b.p, disco + half, strlen(disco) - half, _i, &state), 0);
    ck_assert_int_eq(b.nstanzas, 1);
    need(b.st[0], "http://jabber.org/protocol/disco#info", "query", _i);
    /* Freed with half an element held (and maybe in expat). */
    ck_assert_int_eq(xb_parser_feed(a.p, disco, half), 0);
    sink_free(&a);
    ck_assert_int_eq(feed_split(b.p, IQ_ROSTER, strlen(IQ_ROSTER), _i, &state),
                     0);
    ck_assert_int_eq(b.nstanzas, 2);
    sink_free(&b);
    sink_free(&d);
    xb_parser_engine_free(e);
}
END_TEST

/* Past the engine's renewal (thousands of elements, many distinct names),
 * every parser still gets every stanza. */
START_TEST(test_parser_shared_renewal)
{
    struct xb_parser_engine *e = xb_parser_engine_new();
    struct xb_parser *p[3];
    struct tu_result res[3];
    char st[96];
    int i, k, n;

    ck_assert_ptr_nonnull(e);
    for (i = 0; i < 3; i++) {
        memset(&res[i], 0, sizeof res[i]);
        p[i] = xb_parser_new_shared(e, &res_hooks, &res[i], NULL, 0);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_int_eq(xb_parser_feed(p[i], HDR, strlen(HDR)), 0);
    }
    for (k = 0; k < 5000; k++) {
        i = k % 3;
        n = snprintf(st, sizeof st,
                     "<message id='%d'><x%d xmlns='urn:%d'/>"
                     "</message>",
                     k, k, k);
        /* Half now, half after the next parser's turn. */
        ck_assert_int_eq(xb_parser_feed(p[i], st, (size_t)n / 2), 0);
        ck_assert_int_eq(xb_parser_feed(p[(i + 1) % 3], " ", 1), 0);
        ck_assert_int_eq(xb_parser_feed(p[i], st + n / 2, (size_t)(n - n / 2)),
                         0);
        if (res[i].nstanzas == TU_MAX_STANZAS)
            tu_result_free(&res[i]);
    }
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(xb_parser_error(p[i]), 0);
        ck_assert_int_eq(res[i].nstanzas,
                         (5000 / 3 + (i < 5000 % 3)) % TU_MAX_STANZAS);
        tu_result_free(&res[i]);
        xb_parser_free(p[i]);
    }
    xb_parser_engine_free(e);
}
END_TEST

static Suite *parser_suite(void)
{
    Suite *s = suite_create("parser");
    TCase *tc;

    tc = tcase_create("stream");
    tcase_add_loop_test(tc, test_parser_stream_header, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_stream_header_variants, 0,
                        TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_server_stream, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_keepalive, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_stream_close, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_data_after_close, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_utf8_encoding_accepted, 0,
                        TU_SPLIT_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("stanzas");
    tcase_add_loop_test(tc, test_parser_message, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_unicode, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_muc_presence, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_iq_nested, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_stream_features, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_xml_lang, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_text_merging, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_attr_quotes, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_prefixed_names, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_stanza_sequence, 0, TU_SPLIT_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("roundtrip");
    tcase_add_loop_test(tc, test_parser_roundtrip, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_serialized_form, 0, TU_SPLIT_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_loop_test(tc, test_parser_not_well_formed, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_restricted_xml, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_bad_format, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_bad_documents, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_errors_sticky, 0, TU_SPLIT_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    /* Megabyte stanzas fed byte by byte take a while under sanitizers. */
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_parser_limit_depth, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_limit_attrs, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_limit_stanza_bytes, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_limit_default_size, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_limit_default_unterminated_attr, 0,
                        TU_SPLIT_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("restart");
    tcase_add_loop_test(tc, test_parser_restart_flow, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_stop_in_stream_open, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_reset_mid_stanza, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_empty_feed_and_no_hooks, 0,
                        TU_SPLIT_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("document");
    tcase_add_loop_test(tc, test_parser_document_mode, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_document_mode_errors, 0,
                        TU_SPLIT_COUNT);
    tcase_add_test(tc, test_parser_parse_one);
    tcase_add_test(tc, test_parser_parse_one_limits);
    suite_add_tcase(s, tc);

    tc = tcase_create("shared");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_parser_shared_interleaved, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_shared_corpus, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_shared_hostile, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_partial_char_at_unit_end, 0,
                        TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_shared_limits, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_shared_namespaces, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_shared_error_isolated, 0,
                        TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_shared_hooks, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_shared_restart, 0, TU_SPLIT_COUNT);
    tcase_add_loop_test(tc, test_parser_shared_reset_free_document, 0,
                        TU_SPLIT_COUNT);
    tcase_add_test(tc, test_parser_shared_renewal);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return tu_run(parser_suite());
}
