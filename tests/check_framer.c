/*
 * Tests for the stream framer: the unit boundaries it finds on tricky
 * well-formed input (checked against expat's own), fed whole, byte by byte
 * and in random cuts (XB_TEST_SEED); the constructs it refuses; and hostile
 * input through parsers on private and shared engines.
 */
#include <check.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "framer.h"
#include "parser.h"
#include "stanza.h"
#include "xmpp.h"
#include "testutil.h"

#define NS_DECL                                                                \
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
#define HDR "<stream:stream " NS_DECL ">"

enum split { WHOLE, BYTES, RANDOM, SPLIT_COUNT };

static const char *const split_names[] = {"whole", "byte by byte",
                                          "random cuts"};

#define SPLIT split_names[_i]

static size_t cut(enum split split, unsigned *state, size_t left)
{
    size_t n = split == BYTES    ? 1
               : split == RANDOM ? 1 + tu_rand(state) % 64
                                 : left;

    return n < left ? n : left;
}

/* ---- framing ------------------------------------------------------------- */

#define MAX_EVENTS 64

/* What the framer reported: events and the stream offsets they end at. */
struct frames {
    int n;
    enum xb_frame ev[MAX_EVENTS];
    size_t end[MAX_EVENTS];
    size_t starts; /* units started */
};

/*
 * Frames len bytes fed in the given split, as the parser drives the
 * framer: skip whitespace between units, scan the rest. Stops at the first
 * refusal. Checks that every call stays in bounds and makes progress.
 */
static void frame(struct frames *fr, const char *data, size_t len,
                  unsigned flags, enum split split, unsigned *state)
{
    struct xb_framer f;
    size_t off = 0, n, pos, k;
    enum xb_frame ev;

    memset(fr, 0, sizeof *fr);
    xb_framer_init(&f, flags);
    while (off < len) {
        n = cut(split, state, len - off);
        pos = 0;
        while (pos < n) {
            if (xb_framer_between(&f)) {
                pos += xb_framer_skip(&f, data + off + pos, n - pos);
                if (pos == n)
                    break;
                fr->starts++;
            }
            k = xb_framer_scan(&f, data + off + pos, n - pos, &ev);
            ck_assert_uint_le(k, n - pos);
            pos += k;
            if (ev == XB_FRAME_MORE) {
                ck_assert_uint_eq(pos, n); /* MORE means all consumed */
                continue;
            }
            ck_assert_uint_gt(k, 0);
            if (fr->n < MAX_EVENTS) {
                fr->ev[fr->n] = ev;
                fr->end[fr->n] = off + pos;
                fr->n++;
            }
            if (ev >= XB_FRAME_COMMENT)
                return;
        }
        off += n;
    }
}

/* Expat's view of the same input: where the stream header, each
 * top-level element and the root end (byte index after the event). */
struct ref {
    XML_Parser xp;
    unsigned depth;
    int doc;
    struct frames fr;
};

static void ref_add(struct ref *r, enum xb_frame ev)
{
    if (r->fr.n < MAX_EVENTS) {
        r->fr.ev[r->fr.n] = ev;
        r->fr.end[r->fr.n] = (size_t)(XML_GetCurrentByteIndex(r->xp) +
                                      XML_GetCurrentByteCount(r->xp));
        r->fr.n++;
    }
}

static void XMLCALL ref_start(void *ud, const XML_Char *name,
                              const XML_Char **atts)
{
    struct ref *r = ud;

    (void)name;
    (void)atts;
    if (++r->depth == 1 && !r->doc)
        ref_add(r, XB_FRAME_HEADER);
}

static void XMLCALL ref_end(void *ud, const XML_Char *name)
{
    struct ref *r = ud;

    (void)name;
    --r->depth;
    if (r->depth == 0)
        ref_add(r, XB_FRAME_END);
    else if (r->depth == 1 && !r->doc)
        ref_add(r, XB_FRAME_ELEMENT);
}

static void reference(struct frames *out, const char *data, size_t len, int doc)
{
    struct ref r;

    memset(&r, 0, sizeof r);
    r.doc = doc;
    r.xp = XML_ParserCreateNS("UTF-8", '\x01');
    ck_assert_ptr_nonnull(r.xp);
    XML_SetUserData(r.xp, &r);
    XML_SetElementHandler(r.xp, ref_start, ref_end);
    ck_assert_msg(XML_Parse(r.xp, data, (int)len, XML_FALSE) == XML_STATUS_OK,
                  "reference parse failed: %s",
                  XML_ErrorString(XML_GetErrorCode(r.xp)));
    XML_ParserFree(r.xp);
    /* An empty root is one unit for the framer, two events for expat. */
    if (r.fr.n >= 2 && r.fr.ev[r.fr.n - 2] == XB_FRAME_HEADER &&
        r.fr.ev[r.fr.n - 1] == XB_FRAME_END &&
        r.fr.end[r.fr.n - 2] == r.fr.end[r.fr.n - 1]) {
        r.fr.ev[r.fr.n - 2] = XB_FRAME_END;
        r.fr.n--;
    }
    *out = r.fr;
}

static const char *ev_name(enum xb_frame ev)
{
    static const char *const names[] = {
        "MORE",    "HEADER", "ELEMENT", "TEXT",    "END",
        "COMMENT", "PI",     "DOCTYPE", "INVALID",
    };

    return (unsigned)ev < sizeof names / sizeof names[0] ? names[ev] : "?";
}

/* Unit boundaries the framer must find, in every split, and which must
 * agree with expat's (text units aside: expat has no event for them). */
static void expect_frames(const char *what, const char *data, unsigned flags,
                          const enum xb_frame *ev, const size_t *end, int n,
                          enum split split)
{
    struct frames fr, ref;
    unsigned state = tu_seed();
    size_t len = strlen(data);
    int i, j;

    frame(&fr, data, len, flags, split, &state);
    ck_assert_msg(fr.n == n, "%s: %s: %d events, expected %d",
                  split_names[split], what, fr.n, n);
    for (i = 0; i < n; i++)
        ck_assert_msg(fr.ev[i] == ev[i] && fr.end[i] == end[i],
                      "%s: %s: event %d is %s at %zu, expected %s at %zu",
                      split_names[split], what, i, ev_name(fr.ev[i]), fr.end[i],
                      ev_name(ev[i]), end[i]);
    if (n > 0 && ev[n - 1] >= XB_FRAME_COMMENT)
        return;
    reference(&ref, data, len, (flags & XB_FRAMER_DOCUMENT) != 0);
    for (i = j = 0; i < n; i++) {
        if (ev[i] == XB_FRAME_TEXT)
            continue;
        ck_assert_msg(j < ref.n && ref.ev[j] == ev[i] && ref.end[j] == end[i],
                      "%s: event %d (%s at %zu) differs from expat's", what, i,
                      ev_name(ev[i]), end[i]);
        j++;
    }
    ck_assert_msg(j == ref.n, "%s: expat saw %d units, the framer %d", what,
                  ref.n, j);
}

/* Offset just after the first occurrence of needle in hay (from from). */
static size_t after(const char *hay, const char *needle, size_t from)
{
    const char *p = strstr(hay + from, needle);

    ck_assert_ptr_nonnull(p);
    return (size_t)(p - hay) + strlen(needle);
}

#define TRICKY_HDR                                                             \
    "<?xml version='1.0' encoding='UTF-8'?>\n<stream:stream " NS_DECL          \
    " to='a>b/c' from=\"d/>e\" id='>' version='1.0'>"
#define ST_QUOTES                                                              \
    "<message to='x>y' id=\"q'/>\" type='chat'><body>1 &lt; 2 "                \
    "&gt; 1 / 3 > 2</body></message>"
#define ST_NESTED "<a><a><a/></a><a x='/'>t</a><a\n/></a>"
#define ST_EMPTY "<presence/>"
#define ST_EMPTY_SP "<r xmlns='urn:xmpp:sm:3' />"
#define ST_CDATA                                                               \
    "<message><body><![CDATA[<b>bold</b> ]] ]> > ]]]]>x<![CDATA[]]>"           \
    "<![CDATA[']]></body></message>"
#define ST_NEWLINES                                                            \
    "<iq\ttype='get'\nid='1'><query xmlns='jabber:iq:roster'\r\n ver='1'\t/>"  \
    "</iq >"
#define ST_PREFIX                                                              \
    "<stream:features><x:y xmlns:x='urn:x' x:a=\"'\" b='\"'/>"                 \
    "</stream:features>"
#define ST_UTF8                                                                \
    "<m\xc3\xa9ssage \xe6\x97\xa5='\xf0\x9f\x98\x80>'><body>\xc3\xa9 &#x3e; "  \
    "&amp;</body></m\xc3\xa9ssage>"

START_TEST(test_framer_stream_units)
{
    static const char in[] = TRICKY_HDR
        " \r\n\t " ST_QUOTES ST_NESTED "\n" ST_EMPTY ST_EMPTY_SP "  " ST_CDATA
        "\n" ST_NEWLINES ST_PREFIX ST_UTF8 " </stream:stream>";
    static const char *const parts[] = {
        TRICKY_HDR, ST_QUOTES,   ST_NESTED, ST_EMPTY, ST_EMPTY_SP,
        ST_CDATA,   ST_NEWLINES, ST_PREFIX, ST_UTF8,  "</stream:stream>",
    };
    enum xb_frame ev[10];
    size_t end[10], pos = 0;
    int i;

    for (i = 0; i < 10; i++) {
        ev[i] = i == 0   ? XB_FRAME_HEADER
                : i == 9 ? XB_FRAME_END
                         : XB_FRAME_ELEMENT;
        end[i] = pos = after(in, parts[i], pos);
    }
    expect_frames("tricky stream", in, 0, ev, end, 10, _i);
}
END_TEST

START_TEST(test_framer_keepalives_and_close)
{
    static const char in[] = HDR "\n \n\t\r\n  ";
    static const char closed[] = HDR " </stream:stream > \n<x/>junk<!--";
    struct frames fr;
    struct xb_framer f;
    enum xb_frame ev;
    unsigned state = tu_seed();
    size_t n;

    frame(&fr, in, sizeof in - 1, 0, _i, &state);
    ck_assert_int_eq(fr.n, 1);
    ck_assert_uint_eq(fr.starts, 0); /* keepalives are no unit */

    /* After the close, everything is epilogue: consumed, for expat. */
    frame(&fr, closed, sizeof closed - 1, 0, _i, &state);
    ck_assert_int_eq(fr.n, 2);
    ck_assert_int_eq(fr.ev[1], XB_FRAME_END);
    ck_assert_uint_eq(fr.end[1], after(closed, "</stream:stream >", 0));

    xb_framer_init(&f, 0);
    n = xb_framer_scan(&f, closed, sizeof closed - 1, &ev);
    ck_assert_int_eq(ev, XB_FRAME_HEADER);
    ck_assert(xb_framer_between(&f));
    ck_assert_uint_eq(xb_framer_skip(&f, closed + n, 10), 1);
    n = xb_framer_scan(&f, closed + n + 1, sizeof closed - n - 2, &ev);
    ck_assert_int_eq(ev, XB_FRAME_END);
    ck_assert(xb_framer_ended(&f));
    ck_assert_uint_eq(xb_framer_scan(&f, "<!-- x", 6, &ev), 6);
    ck_assert_int_eq(ev, XB_FRAME_MORE);
    ck_assert_uint_eq(xb_framer_skip(&f, "   ", 3), 0);
}
END_TEST

START_TEST(test_framer_top_level_text)
{
    static const char in[] = HDR "hello <presence/>  <![CDATA[ a>b ]]> "
                                 "&#32;<presence/>";
    static const enum xb_frame ev[] = {
        XB_FRAME_HEADER,
        XB_FRAME_ELEMENT,
        XB_FRAME_TEXT,
        XB_FRAME_ELEMENT,
    };
    size_t end[4];
    struct frames fr;
    unsigned state = tu_seed();

    /* Text and the element after it make one unit: expat may keep the
     * end of the text until it sees the '<'. */
    end[0] = after(in, HDR, 0);
    end[1] = after(in, "<presence/>", 0);
    end[2] = after(in, "]]>", 0);
    end[3] = after(in, "<presence/>", end[2]);
    expect_frames("top-level text", in, 0, ev, end, 4, _i);

    /* Text still going at the end of the input is a unit in progress. */
    frame(&fr, HDR "abc", strlen(HDR "abc"), 0, _i, &state);
    ck_assert_int_eq(fr.n, 1);
    ck_assert_uint_eq(fr.starts, 1);
}
END_TEST

START_TEST(test_framer_document)
{
    static const char doc[] = "<?xml version='1.0'?>\n<foo a='>'><foo/>"
                              "<bar b=\"/>\"><![CDATA[</foo>]]></bar></foo>";
    static const char bom[] = "\xEF\xBB\xBF<?xml version='1.0'?>" HDR;
    static const char empty[] = "<stream:stream " NS_DECL "/>";
    static const enum xb_frame end_ev[] = {XB_FRAME_END};
    static const enum xb_frame hdr_ev[] = {XB_FRAME_HEADER};
    size_t end[1];

    end[0] = sizeof doc - 1;
    expect_frames("document", doc, XB_FRAMER_DOCUMENT, end_ev, end, 1, _i);
    end[0] = sizeof bom - 1;
    expect_frames("byte order mark", bom, 0, hdr_ev, end, 1, _i);
    /* An empty root is the whole stream. */
    end[0] = sizeof empty - 1;
    expect_frames("empty stream", empty, 0, end_ev, end, 1, _i);
    expect_frames("empty document", "<a/>", XB_FRAMER_DOCUMENT, end_ev,
                  (const size_t[]){4}, 1, _i);
}
END_TEST

/* Inputs the framer refuses, and the offset of the byte it refuses. */
static const struct refusal {
    const char *name;
    const char *data;
    unsigned flags;
    enum xb_frame ev;
    const char *upto; /* the refused byte is the last one of this prefix */
} refusals[] = {
    {"comment before the header", "<!-- x -->" HDR, 0, XB_FRAME_COMMENT, "<!-"},
    {"comment after the declaration", "<?xml version='1.0'?>\n<!-- -->", 0,
     XB_FRAME_COMMENT, "<?xml version='1.0'?>\n<!-"},
    {"DOCTYPE", "<!DOCTYPE stream>" HDR, 0, XB_FRAME_DOCTYPE, "<!D"},
    {"PI before the header", "<?foo?>" HDR, 0, XB_FRAME_PI, "<?f"},
    {"PI after the declaration", "<?xml version='1.0'?><?xml-x?>", 0,
     XB_FRAME_PI, "<?xml version='1.0'?><?"},
    {"XML declaration not first", " <?xml version='1.0'?>", 0, XB_FRAME_PI,
     " <?"},
    {"stylesheet PI", "<?xml-stylesheet href='a'?>", 0, XB_FRAME_PI, "<?xml-"},
    {"comment at the stream level", HDR "<!-- hi -->", 0, XB_FRAME_COMMENT,
     HDR "<!-"},
    {"comment in a stanza", HDR "<message><!---->", 0, XB_FRAME_COMMENT,
     HDR "<message><!-"},
    {"PI in a stanza", HDR "<message><?pi?>", 0, XB_FRAME_PI,
     HDR "<message><?"},
    {"PI at the stream level", HDR "<?pi?>", 0, XB_FRAME_PI, HDR "<?"},
    {"comment in a document", "<a><!-- --></a>", XB_FRAMER_DOCUMENT,
     XB_FRAME_COMMENT, "<a><!-"},
    {"empty tag", HDR "<>", 0, XB_FRAME_INVALID, HDR "<>"},
    {"space after <", HDR "< a/>", 0, XB_FRAME_INVALID, HDR "< "},
    {"< inside a tag", "<stream:stream <message/>", 0, XB_FRAME_INVALID,
     "<stream:stream <"},
    {"/ not before >", HDR "<a/ >", 0, XB_FRAME_INVALID, HDR "<a/ "},
    {"bad CDATA opening", HDR "<a><![CDATX[", 0, XB_FRAME_INVALID,
     HDR "<a><![CDATX"},
    {"<! at the stream level", HDR "<!x", 0, XB_FRAME_INVALID, HDR "<!x"},
    {"text before the header", "x" HDR, 0, XB_FRAME_INVALID, "x"},
    {"end tag before the header", "</a>", 0, XB_FRAME_INVALID, "</"},
    {"broken byte order mark", "\xEF\xBB<a/>", 0, XB_FRAME_INVALID,
     "\xEF\xBB<"},
    {"second byte order mark", "\xEF\xBB\xBF\xEF", 0, XB_FRAME_INVALID,
     "\xEF\xBB\xBF\xEF"},
};

START_TEST(test_framer_refusals)
{
    struct frames fr;
    unsigned state = tu_seed();
    size_t i;

    for (i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const struct refusal *r = &refusals[i];

        frame(&fr, r->data, strlen(r->data), r->flags, _i, &state);
        ck_assert_msg(fr.n > 0 && fr.ev[fr.n - 1] == r->ev &&
                          fr.end[fr.n - 1] == strlen(r->upto),
                      "%s: %s: got %s at %zu, expected %s at %zu", SPLIT,
                      r->name, fr.n ? ev_name(fr.ev[fr.n - 1]) : "nothing",
                      fr.n ? fr.end[fr.n - 1] : 0, ev_name(r->ev),
                      strlen(r->upto));
    }
}
END_TEST

/* Random garbage, and random well-formed-looking fragments: the framer
 * never reads out of bounds (ASan), never stalls, stays in its state. */
START_TEST(test_framer_garbage)
{
    static const char *const bits[] = {
        "<",        ">",      "/",   "'",   "\"",
        "a",        " ",      "\n",  "]]>", "<![CDATA[",
        "</",       "/>",     "=",   "!",   "?",
        "]",        "<?xml ", "&",   ";",   "\xEF\xBB\xBF",
        "<a>",      "</a>",   "x:y", "-",   "[",
        "\xC3\xA9", "\0",
    };
    unsigned state = tu_seed() + (unsigned)_i, r;
    char buf[512];
    struct frames fr;
    size_t len, k;
    int round;

    ck_assert_uint_le(sizeof(struct xb_framer), 12);
    for (round = 0; round < 2000; round++) {
        len = 0;
        if (round % 2) {
            while (len < sizeof buf - 16) {
                r = tu_rand(&state) % (sizeof bits / sizeof bits[0]);
                k = r == sizeof bits / sizeof bits[0] - 1 ? 1 : strlen(bits[r]);
                memcpy(buf + len, bits[r], k);
                len += k;
                if (tu_rand(&state) % 64 == 0)
                    break;
            }
        } else {
            len = tu_rand(&state) % sizeof buf;
            for (k = 0; k < len; k++)
                buf[k] = (char)tu_rand(&state);
        }
        frame(&fr, buf, len, round % 3 == 0 ? XB_FRAMER_DOCUMENT : 0, _i,
              &state);
        ck_assert_int_le(fr.n, MAX_EVENTS);
    }
}
END_TEST

/* ---- hostile input through the parser ----------------------------------- */

struct run {
    struct xb_parser *p;
    int stanzas, opens;
};

static void run_open(void *ud, const struct xb_stream_header *h)
{
    (void)h;
    ((struct run *)ud)->opens++;
}

static void run_stanza(void *ud, struct xb_stanza *st)
{
    ((struct run *)ud)->stanzas++;
    xb_stanza_free(st);
}

/*
 * Feeds data to a parser on a private engine (shared == 0) or on e, in the
 * given split; with a shared engine, a second parser on e is fed a stanza
 * between every two feeds. Returns the first non-zero feed result.
 */
static int feed_parser(struct run *r, struct xb_parser_engine *e,
                       const char *data, size_t len,
                       const struct xb_parser_limits *lim, enum split split,
                       unsigned *state)
{
    static const struct xb_parser_hooks hooks = {run_open, run_stanza, NULL};
    static const char other_in[] = HDR "<presence/>";
    struct run other = {NULL, 0, 0};
    size_t off = 0, n;
    int rc = 0, feeds = 0;

    memset(r, 0, sizeof *r);
    r->p = e ? xb_parser_new_shared(e, &hooks, r, lim, 0)
             : xb_parser_new(&hooks, r, lim, 0);
    ck_assert_ptr_nonnull(r->p);
    if (e) {
        other.p = xb_parser_new_shared(e, &hooks, &other, NULL, 0);
        ck_assert_ptr_nonnull(other.p);
        ck_assert_int_eq(xb_parser_feed(other.p, HDR, strlen(HDR)), 0);
    }
    while (off < len && rc == 0) {
        n = cut(split, state, len - off);
        rc = xb_parser_feed(r->p, data + off, n);
        off += n;
        if (other.p) {
            ck_assert_int_eq(xb_parser_feed(other.p, other_in + strlen(HDR),
                                            sizeof other_in - 1 - strlen(HDR)),
                             0);
            feeds++;
        }
    }
    if (other.p) {
        ck_assert_int_eq(other.stanzas, feeds);
        xb_parser_free(other.p);
    }
    return rc;
}

START_TEST(test_framer_restricted_through_parser)
{
    static const char *const in[] = {
        "<!-- x -->" HDR,
        "<?xml version='1.0'?><!DOCTYPE s [<!ENTITY x 'y'>]>" HDR,
        "<?foo bar?>" HDR,
        HDR "<presence/><!-- unterminated",
        HDR "<presence/><message><body>a<!--",
        HDR "<presence/><message><?pi",
        HDR "<presence/><?xml version='1.0'?>",
    };
    struct xb_parser_engine *e = xb_parser_engine_new();
    unsigned state = tu_seed();
    struct run r;
    size_t i;
    int shared, rc;

    ck_assert_ptr_nonnull(e);
    for (shared = 0; shared < 2; shared++) {
        for (i = 0; i < sizeof in / sizeof in[0]; i++) {
            rc = feed_parser(&r, shared ? e : NULL, in[i], strlen(in[i]), NULL,
                             _i, &state);
            ck_assert_msg(rc == XB_EXML && xb_parser_condition(r.p) ==
                                               XB_COND_RESTRICTED_XML,
                          "%s, %s: %s: got %d %s \"%s\"", SPLIT,
                          shared ? "shared" : "private", in[i], rc,
                          xb_cond_name(xb_parser_condition(r.p)),
                          xb_parser_message(r.p));
            ck_assert_int_eq(r.stanzas, strstr(in[i], "<presence/>") ? 1 : 0);
            xb_parser_free(r.p);
        }
    }
    xb_parser_engine_free(e);
}
END_TEST

/* A value, text or tag that never ends trips the size limit as soon as it
 * passes it, held bytes included, on either kind of engine. */
START_TEST(test_framer_endless_unit)
{
    static const char *const starts[] = {
        "<message id='",      "<message id=\"",  "<message><body>", "<message",
        "<message><![CDATA[", "</stream:stream", "hello",
    };
    static const struct xb_parser_limits lim = {300, 0, 0};
    struct xb_parser_engine *e = xb_parser_engine_new();
    unsigned state = tu_seed();
    struct xb_buf b;
    struct run r;
    size_t i;
    int shared, rc;

    ck_assert_ptr_nonnull(e);
    xb_buf_init(&b);
    for (shared = 0; shared < 2; shared++) {
        for (i = 0; i < sizeof starts / sizeof starts[0]; i++) {
            xb_buf_reset(&b);
            ck_assert_int_eq(xb_buf_puts(&b, HDR "<presence/>"), 0);
            ck_assert_int_eq(xb_buf_puts(&b, starts[i]), 0);
            while (b.len < 2000)
                ck_assert_int_eq(xb_buf_puts(&b, i == 3 ? " " : "a"), 0);
            rc = feed_parser(&r, shared ? e : NULL, b.data, b.len, &lim, _i,
                             &state);
            if (i == 6 && rc == XB_EXML) {
                /* Text at the stream level is refused before any limit. */
                ck_assert_int_eq(xb_parser_condition(r.p), XB_COND_BAD_FORMAT);
            } else {
                ck_assert_msg(rc == XB_ELIMIT && xb_parser_condition(r.p) ==
                                                     XB_COND_POLICY_VIOLATION,
                              "%s, %s: %s...: got %d %s \"%s\"", SPLIT,
                              shared ? "shared" : "private", starts[i], rc,
                              xb_cond_name(xb_parser_condition(r.p)),
                              xb_parser_message(r.p));
            }
            ck_assert_int_eq(r.stanzas, 1);
            xb_parser_free(r.p);
        }
    }
    xb_buf_free(&b);
    xb_parser_engine_free(e);
}
END_TEST

/* The depth and attribute limits fire at the byte that breaks them, on
 * either kind of engine, in a stanza that never ends (a shared engine
 * sees a unit only once it is complete: the framer counts for it);
 * namespace declarations are not attributes. */
struct limit_case {
    const char *name;
    const char *start; /* after HDR "<presence/>" */
    const char *repeat;
    unsigned times;
    const char *tail;
    const struct xb_parser_limits *lim;
    int refused;      /* 1: XB_ELIMIT/policy-violation; 0: still open */
    const char *word; /* in the message when refused */
};

static const struct xb_parser_limits small_lim = {0, 4, 3};

static const struct limit_case limit_cases[] = {
    {"<a> 100,000 times", "<message>", "<a>", 100000, "", NULL, 1, "deeper"},
    {"32 deep, open", "<message>", "<a>", 30, "<b>", NULL, 0, NULL},
    {"33 deep, open", "<message>", "<a>", 31, "<b>", NULL, 1, "deeper"},
    {"32 deep, empty", "<message>", "<a>", 30, "<b/>", NULL, 0, NULL},
    {"33 deep, empty", "<message>", "<a>", 31, "<b/>", NULL, 1, "deeper"},
    {"65 attributes, value open", "<message", " a='1'", 64, " z='", NULL, 1,
     "attributes"},
    {"64 attributes, tag open", "<message", " a='1'", 64, " ", NULL, 0, NULL},
    {"100 namespace declarations", "<message", " xmlns:p='u'", 100,
     " xmlns='jabber:client' xmlns = \"x\" a='1'", NULL, 0, NULL},
    {"xmlnsx is an attribute", "<message a='1' b='2' c='3'", "", 0,
     " xmlnsx='4'", &small_lim, 1, "attributes"},
    {"attributes of a child", "<message><body", " a='1'", 4, "", &small_lim, 1,
     "attributes"},
    {"depth 5 of 4", "<message><a><b><c>", "", 0, "<d>", &small_lim, 1,
     "deeper"},
    {"depth 4 of 4", "<message><a><b>", "", 0, "<c>", &small_lim, 0, NULL},
};

START_TEST(test_framer_limits_as_bytes_come)
{
    struct xb_parser_engine *e = xb_parser_engine_new();
    unsigned state = tu_seed();
    struct xb_buf b;
    struct run r;
    size_t i;
    unsigned k;
    int shared, rc;

    ck_assert_ptr_nonnull(e);
    xb_buf_init(&b);
    for (shared = 0; shared < 2; shared++) {
        for (i = 0; i < sizeof limit_cases / sizeof limit_cases[0]; i++) {
            const struct limit_case *c = &limit_cases[i];

            xb_buf_reset(&b);
            ck_assert_int_eq(xb_buf_puts(&b, HDR "<presence/>"), 0);
            ck_assert_int_eq(xb_buf_puts(&b, c->start), 0);
            for (k = 0; k < c->times; k++)
                ck_assert_int_eq(xb_buf_puts(&b, c->repeat), 0);
            ck_assert_int_eq(xb_buf_puts(&b, c->tail), 0);
            rc = feed_parser(&r, shared ? e : NULL, b.data, b.len, c->lim, _i,
                             &state);
            if (c->refused)
                ck_assert_msg(rc == XB_ELIMIT &&
                                  xb_parser_condition(r.p) ==
                                      XB_COND_POLICY_VIOLATION &&
                                  strstr(xb_parser_message(r.p), c->word),
                              "%s, %s: %s: got %d %s \"%s\"", SPLIT,
                              shared ? "shared" : "private", c->name, rc,
                              xb_cond_name(xb_parser_condition(r.p)),
                              xb_parser_message(r.p));
            else
                ck_assert_msg(rc == 0, "%s, %s: %s: refused: %s \"%s\"", SPLIT,
                              shared ? "shared" : "private", c->name,
                              xb_cond_name(xb_parser_condition(r.p)),
                              xb_parser_message(r.p));
            ck_assert_int_eq(r.stanzas, 1);
            xb_parser_free(r.p);
        }
    }
    xb_buf_free(&b);
    xb_parser_engine_free(e);
}
END_TEST

/* Garbage after a good header: refused by expat (or still pending), never
 * a crash, and a parser on a shared engine never accepts more than one on
 * a private engine. */
START_TEST(test_framer_garbage_through_parser)
{
    static const char *const bits[] = {
        "<",         ">",    "/",
        "'",         "\"",   "a",
        " ",         "\n",   "]]>",
        "<![CDATA[", "</",   "/>",
        "=",         "&",    ";",
        "]",         "<b",   "</b>",
        "<a>",       "x:y",  "&amp;",
        "\xC3",      "\xA9", "<?",
        "<!",        "-",    "</stream:stream>",
    };
    static const struct xb_parser_limits lim = {4096, 8, 8};
    struct xb_parser_engine *e = xb_parser_engine_new();
    unsigned state = tu_seed() ^ 0x5eed, st2;
    struct xb_buf b;
    struct run priv, shr;
    int round, rc1, rc2;

    ck_assert_ptr_nonnull(e);
    xb_buf_init(&b);
    for (round = 0; round < 500; round++) {
        xb_buf_reset(&b);
        ck_assert_int_eq(xb_buf_puts(&b, HDR), 0);
        while (b.len < 600) {
            ck_assert_int_eq(
                xb_buf_puts(
                    &b, bits[tu_rand(&state) % (sizeof bits / sizeof bits[0])]),
                0);
            if (tu_rand(&state) % 8 == 0)
                ck_assert_int_eq(xb_buf_puts(&b, "<presence/>"), 0);
        }
        st2 = state;
        rc1 = feed_parser(&priv, NULL, b.data, b.len, &lim, _i, &state);
        rc2 = feed_parser(&shr, e, b.data, b.len, &lim, _i, &st2);
        ck_assert(rc1 <= 0 && rc2 <= 0);
        ck_assert_msg(shr.stanzas == priv.stanzas,
                      "%s: %d stanzas on a shared engine, %d on a private "
                      "one",
                      SPLIT, shr.stanzas, priv.stanzas);
        /* Whether it is bad-format or not-well-formed may differ: expat
         * itself reports "]]]>" differently in one piece and in bytes. */
        if (rc2 == XB_EXML || rc2 == XB_ELIMIT)
            ck_assert_msg(rc1 != 0, "%s: refused only on a shared engine: %s",
                          SPLIT, xb_parser_message(shr.p));
        if (rc1 == 0 && rc2 == 0)
            ck_assert_int_eq(xb_parser_error(shr.p), 0);
        xb_parser_free(priv.p);
        xb_parser_free(shr.p);
    }
    xb_buf_free(&b);
    xb_parser_engine_free(e);
}
END_TEST

/* Where expat and the framer see a unit end differently, the input is
 * garbage and the parser says so, on either kind of engine: here a 4-byte
 * UTF-8 lead byte makes expat wait for "/> " as its continuation bytes. */
START_TEST(test_framer_disagreement)
{
    static const char in[] = HDR "<presence/><message\xF4/> <presence/>";
    struct xb_parser_engine *e = xb_parser_engine_new();
    unsigned state = tu_seed();
    struct run r;
    int shared, rc;

    ck_assert_ptr_nonnull(e);
    for (shared = 0; shared < 2; shared++) {
        rc = feed_parser(&r, shared ? e : NULL, in, sizeof in - 1, NULL, _i,
                         &state);
        ck_assert_msg(
            rc == XB_EXML &&
                xb_parser_condition(r.p) == XB_COND_NOT_WELL_FORMED,
            "%s, %s: got %d %s \"%s\"", SPLIT, shared ? "shared" : "private",
            rc, xb_cond_name(xb_parser_condition(r.p)), xb_parser_message(r.p));
        ck_assert_int_eq(r.stanzas, 1);
        xb_parser_free(r.p);
    }
    xb_parser_engine_free(e);
}
END_TEST

static Suite *framer_suite(void)
{
    Suite *s = suite_create("framer");
    TCase *tc;

    tc = tcase_create("units");
    tcase_add_loop_test(tc, test_framer_stream_units, 0, SPLIT_COUNT);
    tcase_add_loop_test(tc, test_framer_keepalives_and_close, 0, SPLIT_COUNT);
    tcase_add_loop_test(tc, test_framer_top_level_text, 0, SPLIT_COUNT);
    tcase_add_loop_test(tc, test_framer_document, 0, SPLIT_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_framer_refusals, 0, SPLIT_COUNT);
    tcase_add_loop_test(tc, test_framer_garbage, 0, SPLIT_COUNT);
    tcase_add_loop_test(tc, test_framer_restricted_through_parser, 0,
                        SPLIT_COUNT);
    tcase_add_loop_test(tc, test_framer_endless_unit, 0, SPLIT_COUNT);
    tcase_add_loop_test(tc, test_framer_limits_as_bytes_come, 0, SPLIT_COUNT);
    tcase_add_loop_test(tc, test_framer_garbage_through_parser, 0, SPLIT_COUNT);
    tcase_add_loop_test(tc, test_framer_disagreement, 0, SPLIT_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(framer_suite());
}
