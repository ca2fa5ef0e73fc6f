/*
 * libFuzzer target for the component stream and its routing (plain cc
 * builds it too): a host of echo bots behind a route, as the CLI runs
 * them, fed server bytes from one of three states (byte 0), cut and
 * interleaved with host calls (0xFF escapes). Whatever the server sends:
 * what the component writes re-parses in a jabber:component:accept
 * stream; every stanza has a 'from' that is a JID of the domain; nothing
 * answers an error, an IQ result or a stanza without a 'from' that is a
 * JID, and answers go to the sender; nothing is written after our </stream:stream> or the
 * closed hook, which runs at most once per start.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "buf.h"
#include "component.h"
#include "error.h"
#include "jid.h"
#include "parser.h"
#include "route.h"
#include "stanza.h"
#include "xmpp.h"

#include "fuzzcommon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: byte 0 picks the starting state (enum start), byte 1 the
 * configuration and how server bytes are cut (see LLVMFuzzerTestOneInput).
 * Then server bytes, in which 0xFF (never a byte of UTF-8) escapes an
 * operation: the next byte picks it (enum op), some take one more byte.
 */
enum start {
    ST_FRESH,     /* our header written, nothing from the server */
    ST_HANDSHAKE, /* the server's header read, our handshake written */
    ST_READY,     /* the handshake accepted, bots online */
    ST_COUNT
};

enum op {
    OP_CUT,      /* a feed boundary, nothing else */
    OP_BOT_SEND, /* bot arg sends a chat message to a user */
    OP_EVIL,     /* the host sends with a 'from' outside the domain */
    OP_CLOCK,    /* arg * 100 ms pass */
    OP_TIMER,    /* the armed timer fires (the clock moves to it) */
    OP_ABORT,    /* the transport fails */
    OP_START,    /* xb_component_start (a reconnection) */
    OP_CLOSE,    /* xb_component_close */
    OP_MACRO,    /* arg picks a canned server element (macros[]) */
    OP_COUNT
};

#define DOMAIN "bots.localhost"
#define SECRET "fuzz-component-secret"
#define NBOTS 4

#define HDR                                                                    \
    "<?xml version='1.0'?><stream:stream xmlns:stream='" XB_NS_STREAMS         \
    "' xmlns='" XB_NS_COMPONENT "' from='" DOMAIN "' id='3BF96D32'>"
#define ERR(cond)                                                              \
    "<stream:error><" cond " xmlns='" XB_NS_STREAM_ERRORS                      \
    "'/></stream:error></stream:stream>"

static const char *const macros[] = {
    HDR,
    "<handshake/>",
    ERR("not-authorized"),
    ERR("conflict"),
    ERR("host-unknown"),
    "</stream:stream>",
    "<iq type='get' id='d1' from='alice@localhost/x' to='" DOMAIN
    "'><query xmlns='" XB_NS_DISCO_INFO "'/></iq>",
    "<iq type='get' id='d2' from='alice@localhost/x' to='" DOMAIN
    "'><query xmlns='" XB_NS_DISCO_ITEMS "'/></iq>",
    "<iq type='get' id='p1' from='localhost' to='" DOMAIN
    "'><ping xmlns='" XB_NS_PING "'/></iq>",
    "<message from='alice@localhost/x' to='echo_0@" DOMAIN
    "/bot' type='chat' id='m1'><body>hi</body></message>",
    "<message from='alice@localhost/x' to='bare@" DOMAIN
    "/any' type='normal'><body>hi</body></message>",
    "<message from='alice@localhost/x' to='echo_1@" DOMAIN
    "' type='error'><body>hi</body><error type='cancel'/></message>",
    "<iq type='set' id='u1' from='alice@localhost/x' to='nobody@" DOMAIN
    "'><query xmlns='jabber:iq:version'/></iq>",
    "<iq type='result' id='r1' from='alice@localhost/x' to='echo_0@" DOMAIN
    "/bot'/>",
    "<iq type='error' id='e1' from='alice@localhost/x' to='" DOMAIN "'/>",
    "<presence from='alice@localhost/x' to='echo_2@" DOMAIN "/bot'/>",
    "<message from='alice@localhost/x' to='nobody@" DOMAIN
    "' type='chat'><body>hi</body></message>",
    "<message to='echo_0@" DOMAIN "/bot' type='chat'><body>no from</body>"
    "</message>",
};
#define NMACROS (sizeof macros / sizeof macros[0])

struct vbot {
    struct xb_bot *bot;
    int64_t timer;
};

/* The incoming stanza being handled, to judge what goes out meanwhile. */
struct answering {
    int active;
    int silent; /* an error, a result or no 'from': nothing may go out */
    /* What anything written must be addressed to: the whole 'from' of
     * the stanza (borrowed while it is handled). Not a copy in a buffer
     * sized for the longest JID: the component answers whatever 'from'
     * the server stamped, a JID or not, of any length. */
    const char *from;
};

struct fz {
    struct xb_component *c;
    struct xb_route *route;
    struct xb_bot_config *echo;
    struct vbot bots[NBOTS];
    struct answering ans;
    int online;
};

static struct fz fz;

/* ---- what the component writes ----------------------------------------- */

static void out_open(void *ud, const struct xb_stream_header *h)
{
    (void)ud;
    if (!h->content_ns || strcmp(h->content_ns, XB_NS_COMPONENT))
        fuzz_die("the component opened a stream not in " XB_NS_COMPONENT, NULL);
    if (!h->to || strcmp(h->to, DOMAIN))
        fuzz_die("the component opened a stream to another domain", h->to);
}

/* 'from' of a stanza written: a valid JID of the component's domain. */
static void check_from(const struct xb_stanza *st)
{
    const char *from = xb_stanza_attr(st, NULL, "from");
    struct xb_jid j;

    if (!from)
        fuzz_die("a stanza went out without 'from'", NULL);
    if (xb_jid_parse(&j, from, strlen(from), NULL))
        fuzz_die("a stanza went out with a 'from' that is no JID", from);
    if (strcmp(j.domain, DOMAIN))
        fuzz_die("a stanza went out with a 'from' outside the domain", from);
    xb_jid_clear(&j);
}

static void out_stanza(void *ud, struct xb_stanza *st)
{
    const char *t, *to;
    size_t i;

    (void)ud;
    if (xb_stanza_is(st, XB_NS_COMPONENT, "handshake")) {
        t = xb_stanza_text(st, NULL);
        if (!t || strlen(t) != 40)
            fuzz_die("a handshake that is no SHA-1", t);
        for (i = 0; i < 40; i++)
            if (!strchr("0123456789abcdef", t[i]))
                fuzz_die("a handshake that is no lowercase hex", t);
    } else if (xb_stanza_is(st, XB_NS_COMPONENT, "message") ||
               xb_stanza_is(st, XB_NS_COMPONENT, "presence") ||
               xb_stanza_is(st, XB_NS_COMPONENT, "iq")) {
        check_from(st);
        if (fz.ans.active) {
            to = xb_stanza_attr(st, NULL, "to");
            if (fz.ans.silent)
                fuzz_die("an answer to an error, a result or a stanza without "
                         "a 'from' that is a JID",
                         fz.ans.from);
            if (!to || strcmp(to, fz.ans.from))
                fuzz_die("an answer to someone else than the sender", to);
        }
    } else if (!xb_stanza_is(st, XB_NS_STREAMS, "error")) {
        fuzz_die("the component wrote something that is no stanza",
                 xb_stanza_name(st));
    }
    xb_stanza_free(st);
}

/* ---- the bots' host ------------------------------------------------------ */

static const char *vbot_jid(const void *item)
{
    return xb_bot_jid(((const struct vbot *)item)->bot);
}

static int b_send(void *ud, struct xb_stanza *st)
{
    struct vbot *vb = ud;
    int rc = xb_component_send_from(fz.c, st, xb_bot_jid(vb->bot));

    xb_stanza_free(st);
    return rc;
}

static void b_set_timer(void *ud, int64_t ms)
{
    ((struct vbot *)ud)->timer = ms;
}

static const struct xb_bot_host bot_host = {.send = b_send,
                                            .set_timer = b_set_timer};

/* ---- the component's host ----------------------------------------------- */

static void h_write(void *ud, const char *data, size_t len)
{
    (void)ud;
    fuzz_write(data, len, NULL);
}

static void h_ready(void *ud)
{
    int i;

    (void)ud;
    if (xb_component_state(fz.c) != XB_COMPONENT_READY)
        fuzz_die("ready hook outside the ready state", NULL);
    fz.online = 1;
    for (i = 0; i < NBOTS; i++)
        xb_bot_online(fz.bots[i].bot, NULL);
}

/* Whether nothing may answer st: an error, an IQ result (RFC 6120
 * 8.3.1, 8.2.3), or a stanza whose 'from' is absent or not a JID. */
static int must_not_answer(const struct xb_stanza *st)
{
    const char *type = xb_stanza_attr(st, NULL, "type");
    const char *from = xb_stanza_attr(st, NULL, "from");

    if (!from || xb_jid_check(from, strlen(from), NULL))
        return 1;
    if (type && !strcmp(type, "error"))
        return 1;
    return xb_stanza_is(st, NULL, "iq") && type && !strcmp(type, "result");
}

static void h_stanza(void *ud, const struct xb_stanza *st)
{
    struct xb_stanza *reply = NULL;
    const char *from = xb_stanza_attr(st, NULL, "from");
    void *item = NULL;
    int v, rc;

    (void)ud;
    if (strcmp(xb_stanza_ns(st), XB_NS_CLIENT))
        fuzz_die("a stanza reached the host outside jabber:client",
                 xb_stanza_ns(st));
    if (fz.ans.active)
        fuzz_die("the stanza hook ran inside itself", NULL);
    fz.ans.active = 1;
    fz.ans.silent = must_not_answer(st);
    fz.ans.from = from ? from : "";
    v = xb_route_stanza(fz.route, st, &item, &reply);
    if (v == XB_ROUTE_DELIVER) {
        if (!item || reply)
            fuzz_die("deliver without an item", NULL);
        if (fz.online)
            xb_bot_stanza(((struct vbot *)item)->bot, st);
    } else if (v == XB_ROUTE_REPLY) {
        if (!reply || item)
            fuzz_die("reply without a reply", NULL);
        rc = xb_component_send(fz.c, reply);
        if (rc && rc != XB_ESTATE)
            fuzz_die("the route's reply was refused", xb_strerror(rc));
        xb_stanza_free(reply);
    } else if (v == XB_ROUTE_DROP || v == XB_ROUTE_FOREIGN) {
        if (item || reply)
            fuzz_die("drop with an item or a reply", NULL);
    } else if (v != XB_ENOMEM) {
        fuzz_die("xb_route_stanza gave an unknown verdict", NULL);
    }
    fz.ans.active = 0;
    fz.ans.from = NULL;
}

static void h_closed(void *ud, int err, const char *msg)
{
    int i;

    (void)ud;
    fuzz_closed(err, msg, xb_component_state(fz.c) == XB_COMPONENT_CLOSED);
    if (fz.online)
        for (i = 0; i < NBOTS; i++)
            xb_bot_offline(fz.bots[i].bot);
    fz.online = 0;
}

/* The console sees our handshake redacted. (Not "never the secret": the
 * fuzzer learns it from comparisons and has it echoed back.) */
static void h_trace(void *ud, char dir, const char *data, size_t len)
{
    static const char red[] = "<handshake>[redacted]</handshake>";

    (void)ud;
    fuzz_trace_check(dir, len);
    if (dir == '>' && len >= 10 && !memcmp(data, "<handshake", 10) &&
        (len != sizeof red - 1 || memcmp(data, red, len)))
        fuzz_die("the console saw the handshake digest", NULL);
}

static const struct xb_component_hooks hooks = {
    h_write, h_ready, h_stanza, h_closed, fuzz_set_timer, fuzz_now, h_trace,
};

/* ---- driving the component ---------------------------------------------- */

static int feed1(const char *data, size_t len)
{
    int was_closed = fuzz.closed, rc;

    rc = xb_component_feed(fz.c, data, len);
    fuzz_check_feed(was_closed, rc, 0);
    return rc;
}

static void start(void)
{
    int was = xb_component_state(fz.c), rc;
    int may = was == XB_COMPONENT_IDLE || was == XB_COMPONENT_CLOSED;

    /* A new connection: the per-stream rules start over (the header is
     * written from inside xb_component_start). */
    if (may)
        fuzz_new_stream();
    rc = xb_component_start(fz.c);
    if ((rc == 0) != may)
        fuzz_die("xb_component_start accepted or refused wrongly", NULL);
}

/* The host sends a chat message as bot arg, or (evil) with a 'from'
 * outside the domain, which must be refused. */
static void host_send(unsigned arg, int evil)
{
    struct xb_stanza *st = xb_stanza_new(XB_NS_CLIENT, "message"), *b;
    int rc;

    if (!st || xb_stanza_set_attr(st, NULL, "to", "alice@localhost/x") ||
        xb_stanza_set_attr(st, NULL, "type", "chat") ||
        !(b = xb_stanza_add_child(st, NULL, "body")) ||
        xb_stanza_add_text(b, "a <b> & c", 9))
        fuzz_die("out of memory", NULL);
    if (evil) {
        if (xb_stanza_set_attr(st, NULL, "from",
                               arg & 1 ? "bots.localhost.evil" : "x@localhost"))
            fuzz_die("out of memory", NULL);
        rc = xb_component_send(fz.c, st);
        if (rc == 0)
            fuzz_die("a 'from' outside the domain was accepted", NULL);
    } else {
        rc = xb_component_send_from(fz.c, st,
                                    xb_bot_jid(fz.bots[arg % NBOTS].bot));
        if (rc && rc != XB_ESTATE)
            fuzz_die("a bot's send failed oddly", xb_strerror(rc));
    }
    if (rc == 0 && xb_component_state(fz.c) != XB_COMPONENT_READY)
        fuzz_die("a send accepted outside the ready state", NULL);
    xb_stanza_free(st);
}

static size_t do_op(const uint8_t *data, size_t len)
{
    unsigned op = data[0] % OP_COUNT, arg = len > 1 ? data[1] : 0;
    size_t used = 1;

    switch (op) {
    case OP_CUT:
        break;
    case OP_BOT_SEND:
    case OP_EVIL:
        host_send(arg, op == OP_EVIL);
        used = 2;
        break;
    case OP_CLOCK:
        fuzz.clock += (uint64_t)arg * 100;
        used = 2;
        break;
    case OP_TIMER:
        if (fuzz_timer_due())
            xb_component_timer(fz.c);
        break;
    case OP_ABORT:
        xb_component_abort(fz.c, "connection lost");
        break;
    case OP_START:
        start();
        break;
    case OP_CLOSE:
        xb_component_close(fz.c);
        break;
    case OP_MACRO:
        feed1(macros[arg % NMACROS], strlen(macros[arg % NMACROS]));
        used = 2;
        break;
    default:
        break;
    }
    return used < len ? used : len;
}

/* The route and its bots: echo_N@DOMAIN/bot and bare@DOMAIN. */
static void make_bots(void)
{
    char jid[64];
    int i;

    fz.echo = xb_bot_config_new(xb_bot_kind_find("echo"));
    fz.route = xb_route_new(DOMAIN, "fuzz", vbot_jid);
    if (!fz.echo || !fz.route)
        fuzz_die("out of memory", NULL);
    for (i = 0; i < NBOTS; i++) {
        if (i < NBOTS - 1)
            snprintf(jid, sizeof jid, "echo_%d@" DOMAIN "/bot", i);
        else
            snprintf(jid, sizeof jid, "bare@" DOMAIN);
        fz.bots[i].bot =
            xb_bot_new(fz.echo, jid, &bot_host, &fz.bots[i], 1, (uint64_t)i);
        if (!fz.bots[i].bot || xb_route_add(fz.route, &fz.bots[i]))
            fuzz_die("cannot add a bot", jid);
    }
}

/*
 * Byte 1: bits 0-1 how server bytes are cut (whole, bytes, 7, random);
 * bit 2 a keepalive every 5 s; bit 3 no console; bit 4 a shared parser
 * engine.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xb_component_hooks hk = hooks;
    struct xb_component_config cfg;
    struct xb_parser_engine *engine = NULL;
    enum start st;
    unsigned ctl;
    int b;

    if (size < 2)
        return 0;
    st = (enum start)(data[0] % ST_COUNT);
    ctl = data[1];

    memset(&fz, 0, sizeof fz);
    fuzz_begin("fuzz_component", feed1, out_open, out_stanza);
    memset(&cfg, 0, sizeof cfg);
    cfg.domain = DOMAIN;
    cfg.secret = SECRET;
    cfg.limits = fuzz_limits;
    cfg.keepalive_ms = (ctl & 4) ? 5000 : 0;
    if (ctl & 8)
        hk.trace = NULL;
    if (ctl & 16) {
        engine = xb_parser_engine_new();
        if (!engine)
            fuzz_die("out of memory", NULL);
        cfg.engine = engine;
    }
    make_bots();
    fz.c = xb_component_new(&cfg, &hk, NULL);
    if (!fz.c)
        fuzz_die("out of memory", NULL);
    start();
    if (st >= ST_HANDSHAKE)
        fuzz_server(HDR);
    if (st >= ST_READY) {
        fuzz_server("<handshake/>");
        if (!fz.online)
            fuzz_die("the scripted handshake did not get ready", NULL);
    }

    fuzz_walk(data, size, do_op);
    xb_component_abort(fz.c, "end of input");
    if (xb_component_state(fz.c) != XB_COMPONENT_IDLE &&
        xb_component_state(fz.c) != XB_COMPONENT_CLOSED)
        fuzz_die("not closed after an abort", NULL);
    xb_component_free(fz.c);
    for (b = 0; b < NBOTS; b++)
        xb_bot_free(fz.bots[b].bot);
    xb_route_free(fz.route);
    xb_bot_config_free(fz.echo);
    fuzz_end();
    xb_parser_engine_free(engine);
    return 0;
}
