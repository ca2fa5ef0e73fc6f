/*
 * libFuzzer target for the stream parser (plain cc builds it too). Byte 0
 * picks the feed cuts and a stop point; every stanza delivered must survive
 * xb_stanza_copy() and a serialize/re-parse round trip unchanged. Two
 * parsers sharing an engine, fed the same input interleaved, must deliver
 * the same stanzas as one with an engine of its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "parser.h"
#include "serialize.h"
#include "stanza.h"
#include "xmpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HDR                                                                 \
    "<stream:stream xmlns='jabber:client' "                                    \
    "xmlns:stream='http://etherx.jabber.org/streams'>"
#define FZ_CLOSE "</stream:stream>"

/* Small limits, so that the fuzzer reaches them with short inputs. */
static const struct xb_parser_limits fz_limits = {64 * 1024, 16, 32};

/* For re-parsing: a serialization may be longer than its input (escapes,
 * namespace declarations) while the tree is the same. */
static const struct xb_parser_limits fz_big_limits = {(size_t)1 << 30, 64,
                                                      1u << 16};

/* Keeps reads of hook arguments from being optimized away. */
static volatile size_t fz_sink;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_parser: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* ---- re-parsing a serialization ----------------------------------------- */

struct fz_one {
    int stanzas;
    int closes;
    struct xb_stanza *st;
};

static void one_stanza(void *ud, struct xb_stanza *st)
{
    struct fz_one *o = ud;

    if (o->stanzas++ == 0)
        o->st = st;
    else
        xb_stanza_free(st);
}

static void one_close(void *ud)
{
    ((struct fz_one *)ud)->closes++;
}

/*
 * Parses a serialization back into a tree: inside a synthetic jabber:client
 * stream header (in_stream) or as a standalone document. Aborts unless it
 * yields exactly one element. The caller frees the result.
 */
static struct xb_stanza *reparse(const struct xb_buf *ser, int in_stream)
{
    static const struct xb_parser_hooks hooks = {NULL, one_stanza, one_close};
    struct fz_one o = {0, 0, NULL};
    struct xb_parser *p;
    int rc = 0;

    p = xb_parser_new(&hooks, &o, &fz_big_limits,
                      in_stream ? 0 : XB_PARSER_DOCUMENT);
    if (!p)
        die("xb_parser_new failed", NULL);
    if (in_stream)
        rc = xb_parser_feed(p, FZ_HDR, strlen(FZ_HDR));
    if (rc == 0)
        rc = xb_parser_feed(p, ser->data, ser->len);
    if (rc == 0 && in_stream)
        rc = xb_parser_feed(p, FZ_CLOSE, strlen(FZ_CLOSE));
    if (rc != 0) {
        fprintf(stderr, "fuzz_parser: re-parse error %d (%s): %s\n", rc,
                xb_cond_name(xb_parser_condition(p)), xb_parser_message(p));
        die(in_stream ? "serialization does not parse in a stream"
                      : "standalone serialization does not parse",
            ser->data);
    }
    if (o.stanzas != 1 || (in_stream && o.closes != 1))
        die("re-parse did not give one element", ser->data);
    xb_parser_free(p);
    return o.st;
}

static void serialize(struct xb_buf *out, const struct xb_stanza *st,
                      const char *default_ns)
{
    int rc = xb_serialize(out, st, default_ns);

    if (rc != 0) {
        fprintf(stderr, "fuzz_parser: xb_serialize: %s\n", xb_strerror(rc));
        die("serialization failed", NULL);
    }
    if (!out->data)
        die("serialization is empty", NULL);
}

/* Checks the round-trip properties of one delivered element. */
static void check_stanza(const struct xb_stanza *st)
{
    struct xb_stanza *copy, *back;
    struct xb_buf a, b;

    if (xb_stanza_is_text(st) || xb_stanza_parent(st))
        die("a delivered node is not a root element", NULL);
    if (xb_stanza_mem(st) == 0)
        die("xb_stanza_mem() is 0", NULL);
    copy = xb_stanza_copy(st);
    if (!copy)
        die("xb_stanza_copy failed", NULL);
    if (!xb_stanza_equal(st, copy) || !xb_stanza_equal(copy, st))
        die("copy differs from the original", NULL);

    xb_buf_init(&a);
    xb_buf_init(&b);
    serialize(&a, st, XB_NS_CLIENT);
    serialize(&b, copy, XB_NS_CLIENT);
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        die("copy serializes differently", a.data);
    back = reparse(&a, 1);
    if (!xb_stanza_equal(st, back))
        die("stanza differs after a round trip in a stream", a.data);
    xb_stanza_free(back);

    xb_buf_reset(&b);
    serialize(&b, st, NULL);
    back = reparse(&b, 0);
    if (!xb_stanza_equal(st, back))
        die("element differs after a standalone round trip", b.data);
    xb_stanza_free(back);

    xb_buf_free(&a);
    xb_buf_free(&b);
    xb_stanza_free(copy);
}

/* ---- the parser under test ------------------------------------------------
 */

struct fz_run {
    struct xb_parser *p;
    unsigned stanzas;
    unsigned stop_at; /* stop when this many stanzas arrived; 0 never */
    int stopped;
};

static void run_open(void *ud, const struct xb_stream_header *h)
{
    const struct fz_run *r = ud;
    const char *f[6];
    size_t i, n = 0;

    if (r->stopped)
        die("stream_open ran after a stop", NULL);
    f[0] = h->from;
    f[1] = h->to;
    f[2] = h->id;
    f[3] = h->version;
    f[4] = h->lang;
    f[5] = h->content_ns;
    for (i = 0; i < 6; i++)
        if (f[i])
            n += strlen(f[i]);
    fz_sink += n;
}

static void run_stanza(void *ud, struct xb_stanza *st)
{
    struct fz_run *r = ud;

    if (r->stopped)
        die("a stanza was delivered after a stop", NULL);
    check_stanza(st);
    xb_stanza_free(st);
    if (++r->stanzas == r->stop_at) {
        xb_parser_stop(r->p);
        r->stopped = 1;
    }
}

static void run_close(void *ud)
{
    const struct fz_run *r = ud;

    if (r->stopped)
        die("stream_close ran after a stop", NULL);
    fz_sink++;
}

/* After a failed feed: the error must be consistent and sticky. */
static void check_error(struct xb_parser *p, int rc)
{
    const char *msg;

    if (rc > 0 || rc < XB_ENOTFOUND)
        die("xb_parser_feed returned an unknown code", NULL);
    if (rc == XB_EXML || rc == XB_ELIMIT) {
        msg = xb_parser_message(p);
        if (xb_parser_error(p) != rc)
            die("xb_parser_error() differs from the feed result", NULL);
        if (xb_parser_condition(p) == XB_COND_NONE)
            die("an XML error without a condition", msg);
        if (!msg || !*msg)
            die("an XML error without a message", NULL);
        if (rc == XB_ELIMIT &&
            xb_parser_condition(p) != XB_COND_POLICY_VIOLATION)
            die("a limit error that is not policy-violation", msg);
    }
    if (xb_parser_feed(p, "<a/>", 4) == 0)
        die("a feed after an error succeeded", NULL);
}

/* The size of the next piece of input, at most left: ctl bits 0-1 pick
 * whole, byte by byte, fixed pieces of fixed bytes, or pseudo-random
 * pieces of 1..64 (state is the generator's). */
static size_t chunk_size(unsigned ctl, unsigned *state, size_t fixed,
                         size_t left)
{
    size_t n;

    switch (ctl & 3) {
    case 0:
        n = left;
        break;
    case 1:
        n = 1;
        break;
    case 2:
        n = fixed;
        break;
    default:
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        n = 1 + *state % 64;
    }
    return n < left ? n : left;
}

/*
 * Feeds len bytes to a new parser. ctl bits 0-1 pick the cuts (whole, byte
 * by byte, fixed pieces of 1 + 9 * (bits 5-7) bytes, pseudo-random pieces
 * of 1..64); bits 2-4, if not 0, name the stanza whose hook stops the
 * parser, after which it is reset and fed the rest of the input.
 */
static void run(const char *data, size_t len, unsigned flags, unsigned ctl)
{
    static const struct xb_parser_hooks hooks = {run_open, run_stanza,
                                                 run_close};
    struct fz_run r;
    unsigned state = ctl * 2654435761u + (unsigned)len + 1;
    size_t off = 0, n, fixed = 1 + (size_t)(ctl >> 5) * 9;
    int rc, resets = 0;

    memset(&r, 0, sizeof r);
    r.stop_at = (ctl >> 2) & 7;
    r.p = xb_parser_new(&hooks, &r, &fz_limits, flags);
    if (!r.p)
        die("xb_parser_new failed", NULL);
    while (off < len) {
        n = chunk_size(ctl, &state, fixed, len - off);
        rc = xb_parser_feed(r.p, data + off, n);
        off += n;
        if (r.stopped) {
            if (rc != 0)
                die("the feed that stopped did not return 0", NULL);
            if (xb_parser_feed(r.p, " ", 1) != XB_ESTATE)
                die("a feed after a stop was not refused", NULL);
            if (xb_parser_condition(r.p) != XB_COND_NONE)
                die("a stop set a condition", NULL);
            r.stopped = 0;
            r.stop_at = 0;
            if (xb_parser_reset(r.p) != 0)
                die("xb_parser_reset failed", NULL);
        } else if (rc != 0) {
            check_error(r.p, rc);
            if (++resets > 2)
                break;
            if (xb_parser_reset(r.p) != 0)
                die("xb_parser_reset failed", NULL);
            if (xb_parser_error(r.p) != 0 ||
                xb_parser_condition(r.p) != XB_COND_NONE)
                die("xb_parser_reset kept the error", NULL);
        }
    }
    xb_parser_free(r.p);
}

/* ---- the same input on a shared engine ------------------------------------
 */

struct fz_pair {
    struct xb_parser *p;
    struct xb_stanza **st; /* every stanza delivered, in order */
    size_t n, cap;
    int opens, closes;
    unsigned stop_at; /* as in struct fz_run */
    int stopped;
    int rc; /* the error that ended feeding, or 0 */
};

static void pair_open(void *ud, const struct xb_stream_header *h)
{
    (void)h;
    ((struct fz_pair *)ud)->opens++;
}

static void pair_stanza(void *ud, struct xb_stanza *st)
{
    struct fz_pair *x = ud;
    struct xb_stanza **grown;

    if (x->stopped)
        die("a stanza was delivered after a stop", NULL);
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 16;
        grown = realloc(x->st, x->cap * sizeof *grown);
        if (!grown)
            die("out of memory", NULL);
        x->st = grown;
    }
    x->st[x->n++] = st;
    if (x->n == x->stop_at) {
        xb_parser_stop(x->p);
        x->stopped = 1;
    }
}

static void pair_close(void *ud)
{
    ((struct fz_pair *)ud)->closes++;
}

/* Feeds n more bytes to x unless it failed; after a stop, resets it. */
static void pair_feed(struct fz_pair *x, const char *data, size_t n)
{
    int rc;

    if (x->rc)
        return;
    rc = xb_parser_feed(x->p, data, n);
    if (x->stopped) {
        if (rc != 0)
            die("the feed that stopped did not return 0", NULL);
        x->stopped = 0;
        x->stop_at = 0;
        if (xb_parser_reset(x->p) != 0)
            die("xb_parser_reset failed", NULL);
    } else if (rc) {
        x->rc = rc;
    }
}

/* Does y (on the shared engine) agree with x (on its own)? */
static void pair_check(const struct fz_pair *x, const struct fz_pair *y)
{
    size_t i;

    if (x->n != y->n)
        die("a shared engine delivered another number of stanzas", NULL);
    for (i = 0; i < x->n; i++)
        if (!xb_stanza_equal(x->st[i], y->st[i]))
            die("a shared engine delivered another stanza", NULL);
    if (x->opens != y->opens || x->closes != y->closes)
        die("a shared engine reported other stream events", NULL);
    /* It may still hold an unfinished element that a private engine
     * refused already, never the reverse. */
    if ((y->rc == XB_EXML || y->rc == XB_ELIMIT) && x->rc == 0)
        die("only a shared engine refused the input", xb_parser_message(y->p));
}

static void pair_free(struct fz_pair *x)
{
    size_t i;

    for (i = 0; i < x->n; i++)
        xb_stanza_free(x->st[i]);
    free(x->st);
    xb_parser_free(x->p);
}

/*
 * Feeds the input, cut as run() cuts it, to a parser with a private engine
 * and to two parsers on one shared engine in turn, so that each takes the
 * engine from the other in the middle of elements.
 */
static void run_pair(const char *data, size_t len, unsigned flags, unsigned ctl)
{
    static const struct xb_parser_hooks hooks = {pair_open, pair_stanza,
                                                 pair_close};
    struct xb_parser_engine *e = xb_parser_engine_new();
    struct fz_pair x[3];
    unsigned state = ctl * 2654435761u + (unsigned)len + 1;
    size_t off = 0, n, fixed = 1 + (size_t)(ctl >> 5) * 9;
    int i;

    if (!e)
        die("xb_parser_engine_new failed", NULL);
    memset(x, 0, sizeof x);
    for (i = 0; i < 3; i++) {
        x[i].stop_at = (ctl >> 2) & 7;
        x[i].p =
            i == 0 ? xb_parser_new(&hooks, &x[i], &fz_limits, flags)
                   : xb_parser_new_shared(e, &hooks, &x[i], &fz_limits, flags);
        if (!x[i].p)
            die("xb_parser_new failed", NULL);
    }
    while (off < len) {
        n = chunk_size(ctl, &state, fixed, len - off);
        for (i = 0; i < 3; i++)
            pair_feed(&x[i], data + off, n);
        off += n;
    }
    pair_check(&x[0], &x[1]);
    pair_check(&x[0], &x[2]);
    for (i = 0; i < 3; i++)
        pair_free(&x[i]);
    xb_parser_engine_free(e);
}

static void run_parse_one(const char *data, size_t len)
{
    struct xb_stanza *st = NULL;
    enum xb_cond cond = XB_COND_NONE;
    int rc = xb_parser_parse_one(data, len, &st, &cond);

    if (rc == 0) {
        if (!st)
            die("xb_parser_parse_one gave 0 and no tree", NULL);
        check_stanza(st);
        xb_stanza_free(st);
    } else {
        if (st)
            die("xb_parser_parse_one failed but stored a tree", NULL);
        if ((rc == XB_EXML || rc == XB_ELIMIT) && cond == XB_COND_NONE)
            die("xb_parser_parse_one failed without a condition", NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    unsigned ctl = 0;

    if (size > 0) {
        ctl = data[0];
        xml++;
        size--;
    }
    run(xml, size, 0, ctl);
    run(xml, size, XB_PARSER_DOCUMENT, ctl);
    run_pair(xml, size, 0, ctl);
    run_pair(xml, size, XB_PARSER_DOCUMENT, ctl);
    run_parse_one(xml, size);
    return 0;
}
