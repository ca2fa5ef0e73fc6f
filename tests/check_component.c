/*
 * Tests for core/component and core/route: the XEP-0114 negotiation
 * against a scripted server (handshake digest, each way it fails, hostile
 * input), and a small component host that routes what arrives to echo
 * bots by 'to', answers for the domain and for addresses that are no bot,
 * and stamps 'from' on what the bots send. Pure: bytes in, bytes out.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "buf.h"
#include "component.h"
#include "error.h"
#include "parser.h"
#include "route.h"
#include "stanza.h"
#include "xmpp.h"
#include "fakehost.h"
#include "testutil.h"
#include "wiretest.h"

#define S(lit) lit, sizeof(lit) - 1

#define DOMAIN "bots.localhost"
#define SECRET "secret"
#define STREAM_ID "3BF96D32"
/* SHA-1("3BF96D32secret"), computed independently of OpenSSL with
 * coreutils: printf %s 3BF96D32secret | sha1sum (and Python's hashlib).
 * XEP-0114's own example digest cannot serve: the XEP does not say which
 * secret it was computed from. */
#define DIGEST "b09ea9b3b7f586be8a08d0a3dd7466f110aeb136"

#define CLIENT_HEADER                                                          \
    "<?xml version='1.0'?><stream:stream xmlns='" XB_NS_COMPONENT              \
    "' xmlns:stream='" XB_NS_STREAMS "' to='" DOMAIN "'>"
#define SERVER_HEADER_ID(id)                                                   \
    "<?xml version='1.0'?><stream:stream xmlns:stream='" XB_NS_STREAMS         \
    "' xmlns='" XB_NS_COMPONENT "' from='" DOMAIN "' id='" id "'>"
#define SERVER_HEADER SERVER_HEADER_ID(STREAM_ID)
#define STREAM_ERROR(cond, text)                                               \
    "<stream:error><" cond " xmlns='" XB_NS_STREAM_ERRORS                      \
    "'/><text xmlns='" XB_NS_STREAM_ERRORS "'>" text                           \
    "</text></stream:error></stream:stream>"

#define NBOTS 200
#define MAX_KEPT 16

/* One bot of the host: the route's item. */
struct vbot {
    struct xb_bot *bot;
    int64_t timer;
};

/* The component host under test: records what the stream asks of it and
 * routes stanzas as the CLI would. */
struct host {
    int nready;
    int nclosed;
    int closed_err;
    char closed_msg[256];
    int64_t timer;
    uint64_t clock;
    int delivered, replied, dropped, foreign;
    struct xb_stanza *kept[MAX_KEPT]; /* copies of delivered stanzas */
    int nkept;
};

static struct host host;
static struct wt_wire wire; /* what the component wrote and traced */
static struct wt_out out;   /* what it wrote since the last take */
static struct xb_component *comp;
static struct xb_component_config cfg;
static struct xb_route *route;
static struct xb_bot_config *echo_cfg;
static struct xb_bot_config *service_cfg;
static struct vbot vbots[NBOTS + 1];
static int nvbots;

static const char *vbot_jid(const void *item)
{
    return xb_bot_jid(((const struct vbot *)item)->bot);
}

static int b_send(void *ud, struct xb_stanza *st)
{
    struct vbot *vb = ud;
    int rc = xb_component_send_from(comp, st, xb_bot_jid(vb->bot));

    xb_stanza_free(st);
    return rc;
}

static void b_set_timer(void *ud, int64_t ms)
{
    ((struct vbot *)ud)->timer = ms;
}

static const struct xb_bot_host bot_host = {.send = b_send,
                                            .set_timer = b_set_timer};

static const char *b_http_url(void *ud)
{
    (void)ud;
    return "http://" DOMAIN "/wp/";
}

/* The host of a service bot at the domain: pages, no store. */
static const struct xb_bot_host service_host = {
    .send = b_send, .set_timer = b_set_timer, .http_url = b_http_url};

static void h_write(void *ud, const char *data, size_t len)
{
    (void)ud;
    wt_write(&wire, data, len);
}

static void h_ready(void *ud)
{
    int i;

    ((struct host *)ud)->nready++;
    ck_assert_int_eq(xb_component_state(comp), XB_COMPONENT_READY);
    for (i = 0; i < nvbots; i++)
        xb_bot_online(vbots[i].bot, NULL);
}

static void h_stanza(void *ud, const struct xb_stanza *st)
{
    struct host *h = ud;
    struct xb_stanza *reply = NULL;
    void *item = NULL;
    int v;

    if (h->nkept < MAX_KEPT) {
        h->kept[h->nkept] = xb_stanza_copy(st);
        ck_assert_ptr_nonnull(h->kept[h->nkept]);
        h->nkept++;
    }
    v = route ? xb_route_stanza(route, st, &item, &reply) : XB_ROUTE_DROP;
    ck_assert_int_ge(v, 0);
    if (v == XB_ROUTE_DELIVER) {
        h->delivered++;
        xb_bot_stanza(((struct vbot *)item)->bot, st);
    } else if (v == XB_ROUTE_FOREIGN) {
        h->foreign++;
        ck_assert_ptr_null(item);
        ck_assert_ptr_null(reply);
    } else if (v == XB_ROUTE_REPLY) {
        h->replied++;
        ck_assert_int_eq(xb_component_send(comp, reply), 0);
        xb_stanza_free(reply);
    } else {
        h->dropped++;
        ck_assert_ptr_null(item);
        ck_assert_ptr_null(reply);
    }
}

static void h_closed(void *ud, int err, const char *msg)
{
    struct host *h = ud;

    h->nclosed++;
    h->closed_err = err;
    snprintf(h->closed_msg, sizeof h->closed_msg, "%s", msg);
    ck_assert_int_eq(xb_component_state(comp), XB_COMPONENT_CLOSED);
}

static void h_set_timer(void *ud, int64_t ms)
{
    ((struct host *)ud)->timer = ms;
}

static uint64_t h_now(void *ud)
{
    return ((struct host *)ud)->clock;
}

static void h_trace(void *ud, char dir, const char *data, size_t len)
{
    (void)ud;
    wt_trace(&wire, dir, data, len);
}

static const struct xb_component_hooks hooks = {
    h_write, h_ready, h_stanza, h_closed, h_set_timer, h_now, h_trace,
};

/* What the component wrote since the last take, raw or parsed as the
 * server would: in a jabber:component:accept stream (wiretest.h). */
static const char *take_raw(void)
{
    return wt_take_raw(&wire, &out);
}

static void take(void)
{
    wt_take(&wire, &out);
}

/* The stream ended exactly once, with err and condition cond. */
static void assert_closed(int err, enum xb_cond cond)
{
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_int_eq(host.closed_err, err);
    ck_assert_int_eq(xb_component_state(comp), XB_COMPONENT_CLOSED);
    ck_assert_int_eq(xb_component_stream_cond(comp), cond);
    ck_assert_int_eq(host.timer, -1);
    /* One line. */
    ck_assert_ptr_null(strchr(host.closed_msg, '\n'));
}

/* The component's last words were a stream error with cond, then the
 * close. */
static void assert_sent_stream_error(enum xb_cond cond)
{
    wt_assert_stream_error(&wire, &out, cond);
}

static int component_feed(const char *data, size_t len)
{
    return xb_component_feed(comp, data, len);
}

static void setup(void)
{
    memset(&host, 0, sizeof host);
    wt_init(&wire, XB_NS_COMPONENT, "component", component_feed);
    host.timer = -2;
    host.clock = 1000000;
    memset(&out, 0, sizeof out);
    memset(&cfg, 0, sizeof cfg);
    memset(vbots, 0, sizeof vbots);
    nvbots = 0;
    cfg.domain = DOMAIN;
    cfg.secret = SECRET;
    comp = NULL;
    route = NULL;
    echo_cfg = NULL;
    service_cfg = NULL;
}

static void teardown(void)
{
    int i;

    for (i = 0; i < nvbots; i++)
        xb_bot_free(vbots[i].bot);
    xb_bot_config_free(echo_cfg);
    xb_bot_config_free(service_cfg);
    xb_route_free(route);
    xb_component_free(comp);
    wt_out_clear(&out);
    for (i = 0; i < host.nkept; i++)
        xb_stanza_free(host.kept[i]);
    wt_free(&wire);
}

/* Server bytes, cut according to wire.split (wiretest.h). */
static int feed(const char *xml)
{
    return wt_feed(&wire, xml);
}

static void server_says(const char *xml)
{
    wt_says(&wire, xml);
}

static void new_component(void)
{
    comp = xb_component_new(&cfg, &hooks, &host);
    ck_assert_ptr_nonnull(comp);
    ck_assert_int_eq(xb_component_state(comp), XB_COMPONENT_IDLE);
    ck_assert_int_eq(xb_component_start(comp), 0);
    ck_assert_int_eq(xb_component_state(comp), XB_COMPONENT_CONNECTING);
}

/* The header exactly, then the server's header and the digest. */
static void negotiate_to_handshake(void)
{
    int nready = host.nready;

    ck_assert_str_eq(take_raw(), CLIENT_HEADER);
    server_says(SERVER_HEADER);
    ck_assert_str_eq(take_raw(), "<handshake>" DIGEST "</handshake>");
    ck_assert_int_eq(host.nready, nready);
}

static void make_ready(void)
{
    new_component();
    negotiate_to_handshake();
    server_says("<handshake/>");
    ck_assert_int_eq(host.nready, 1);
    ck_assert_str_eq(take_raw(), "");
}

/* Echo bots 'echo_N@bots.localhost/bot' and one bare 'bare@...', in a
 * route, then the stream made ready. */
static void make_host(int n)
{
    char jid[64];
    int i;

    echo_cfg = fh_config("echo", NULL);
    ck_assert_ptr_nonnull(echo_cfg);
    route = xb_route_new(DOMAIN, "xmppbots test", vbot_jid);
    ck_assert_ptr_nonnull(route);
    for (i = 0; i <= n; i++) {
        if (i < n)
            snprintf(jid, sizeof jid, "echo_%d@" DOMAIN "/bot", i);
        else
            snprintf(jid, sizeof jid, "bare@" DOMAIN);
        vbots[i].bot =
            xb_bot_new(echo_cfg, jid, &bot_host, &vbots[i], 1, (uint64_t)i);
        ck_assert_ptr_nonnull(vbots[i].bot);
        nvbots++;
        ck_assert_int_eq(xb_route_add(route, &vbots[i]), 0);
    }
    ck_assert_uint_eq(xb_route_count(route), (size_t)n + 1);
    make_ready();
}

/* A web presence gateway at the domain itself, added to the host made by
 * make_host() and online; its index in vbots. */
static int add_service(void)
{
    int i = nvbots;

    service_cfg = fh_config("webpresence", NULL);
    ck_assert_ptr_nonnull(service_cfg);
    vbots[i].bot =
        xb_bot_new(service_cfg, DOMAIN, &service_host, &vbots[i], 1, 0);
    ck_assert_ptr_nonnull(vbots[i].bot);
    nvbots++;
    ck_assert_int_eq(xb_route_add(route, &vbots[i]), 0);
    xb_bot_online(vbots[i].bot, NULL);
    return i;
}

static uint64_t stanzas_of(int i)
{
    return fh_counter(vbots[i].bot, "stanzas");
}

/* --- the handshake ------------------------------------------------------ */

START_TEST(test_component_digest_vector)
{
    char d[XB_COMPONENT_DIGEST_SIZE];

    ck_assert_int_eq(xb_component_digest(STREAM_ID, SECRET, d), 0);
    ck_assert_str_eq(d, DIGEST);
    ck_assert_int_eq(xb_component_digest("", "", d), 0);
    ck_assert_str_eq(d, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}
END_TEST

static void negotiation(enum tu_split how)
{
    wire.split = how;
    new_component();
    ck_assert_int_eq(host.timer, 30000);
    negotiate_to_handshake();
    server_says("<handshake/>");
    ck_assert_int_eq(host.nready, 1);
    ck_assert_int_eq(xb_component_state(comp), XB_COMPONENT_READY);
    /* Ready, no keepalive: nothing to wait for. */
    ck_assert_int_eq(host.timer, -1);
    ck_assert_int_eq(host.nclosed, 0);
}

START_TEST(test_component_negotiation_whole)
{
    negotiation(TU_WHOLE);
}
END_TEST

START_TEST(test_component_negotiation_bytes)
{
    negotiation(TU_BYTES);
}
END_TEST

START_TEST(test_component_negotiation_random)
{
    negotiation(TU_RANDOM);
}
END_TEST

START_TEST(test_component_shared_engine)
{
    struct xb_parser_engine *e = xb_parser_engine_new();

    ck_assert_ptr_nonnull(e);
    cfg.engine = e;
    wire.split = TU_RANDOM;
    make_ready();
    server_says("<message from='alice@localhost/r' to='a@" DOMAIN
                "'><body>x</body></message>");
    ck_assert_int_eq(host.nkept, 1);
    ck_assert(xb_stanza_is(host.kept[0], XB_NS_CLIENT, "message"));
    ck_assert_int_eq(feed("<a x='1' x='2'/>"), XB_ECLOSED);
    assert_closed(XB_EXML, XB_COND_NOT_WELL_FORMED);
    xb_component_free(comp);
    comp = NULL;
    xb_parser_engine_free(e);
}
END_TEST

START_TEST(test_component_header_parses)
{
    new_component();
    take();
    ck_assert_int_eq(out.headers, 1);
    ck_assert_str_eq(out.to, DOMAIN);
    ck_assert_str_eq(out.content_ns, XB_NS_COMPONENT);
    ck_assert_int_eq(out.nel, 0);
}
END_TEST

START_TEST(test_component_new_invalid)
{
    cfg.domain = "user@" DOMAIN;
    ck_assert_ptr_null(xb_component_new(&cfg, &hooks, &host));
    cfg.domain = DOMAIN "/res";
    ck_assert_ptr_null(xb_component_new(&cfg, &hooks, &host));
    cfg.domain = "";
    ck_assert_ptr_null(xb_component_new(&cfg, &hooks, &host));
    cfg.domain = DOMAIN;
    cfg.secret = NULL;
    ck_assert_ptr_null(xb_component_new(&cfg, &hooks, &host));
    /* The domain is normalized. */
    cfg.secret = SECRET;
    cfg.domain = "Bots.LocalHost";
    comp = xb_component_new(&cfg, &hooks, &host);
    ck_assert_ptr_nonnull(comp);
    ck_assert_str_eq(xb_component_domain(comp), DOMAIN);
}
END_TEST

START_TEST(test_component_handshake_ack_with_text)
{
    new_component();
    negotiate_to_handshake();
    /* Whitespace inside the ack is harmless. */
    server_says("<handshake> </handshake>");
    ck_assert_int_eq(host.nready, 1);
}
END_TEST

/* --- failures ---------------------------------------------------------- */

START_TEST(test_component_wrong_secret)
{
    new_component();
    negotiate_to_handshake();
    ck_assert_int_eq(
        feed(STREAM_ERROR("not-authorized", "Given token does not match "
                                            "calculated token")),
        XB_ECLOSED);
    assert_closed(XB_EAUTH, XB_COND_NOT_AUTHORIZED);
    wt_assert_has(host.closed_msg, "not-authorized");
    wt_assert_has(host.closed_msg, "wrong secret");
    wt_assert_has(host.closed_msg, "Given token");
    ck_assert_str_eq(take_raw(), "</stream:stream>");
    ck_assert_int_eq(host.nready, 0);
}
END_TEST

START_TEST(test_component_conflict)
{
    new_component();
    negotiate_to_handshake();
    ck_assert_int_eq(
        feed(STREAM_ERROR("conflict", "Component already connected")),
        XB_ECLOSED);
    assert_closed(XB_ECLOSED, XB_COND_CONFLICT);
    wt_assert_has(host.closed_msg, "conflict (another connection holds");
}
END_TEST

START_TEST(test_component_host_unknown)
{
    new_component();
    ck_assert_str_eq(take_raw(), CLIENT_HEADER);
    /* What Prosody sends for a domain it has no component for: a header
     * with an empty id, then the error. No digest goes out. */
    ck_assert_int_eq(
        feed(SERVER_HEADER_ID("") STREAM_ERROR(
            "host-unknown", DOMAIN " does not match any configured external "
                                   "components")),
        XB_ECLOSED);
    assert_closed(XB_ECLOSED, XB_COND_HOST_UNKNOWN);
    wt_assert_has(host.closed_msg, "host-unknown (the server has no component");
    ck_assert_str_eq(take_raw(), "</stream:stream>");
}
END_TEST

START_TEST(test_component_no_id_then_stanza)
{
    new_component();
    server_says(SERVER_HEADER_ID(""));
    ck_assert_int_eq(feed("<handshake/>"), XB_ECLOSED);
    assert_closed(XB_EPROTO, XB_COND_NONE);
    wt_assert_has(host.closed_msg, "no id");
}
END_TEST

START_TEST(test_component_no_id_timeout)
{
    new_component();
    server_says("<stream:stream xmlns:stream='" XB_NS_STREAMS
                "' xmlns='" XB_NS_COMPONENT "'>");
    host.clock += 30000;
    xb_component_timer(comp);
    assert_closed(XB_ETIMEOUT, XB_COND_CONNECTION_TIMEOUT);
    wt_assert_has(host.closed_msg, "no id");
}
END_TEST

START_TEST(test_component_login_timeout)
{
    cfg.login_timeout_ms = 5000;
    new_component();
    negotiate_to_handshake();
    ck_assert_int_eq(host.timer, 5000);
    host.clock += 4999;
    xb_component_timer(comp);
    ck_assert_int_eq(host.nclosed, 0);
    ck_assert_int_eq(host.timer, 1);
    host.clock += 1;
    xb_component_timer(comp);
    assert_closed(XB_ETIMEOUT, XB_COND_CONNECTION_TIMEOUT);
    wt_assert_has(host.closed_msg, "5000 ms");
    assert_sent_stream_error(XB_COND_CONNECTION_TIMEOUT);
}
END_TEST

START_TEST(test_component_no_header_timeout)
{
    new_component();
    host.clock += 30000;
    xb_component_timer(comp);
    assert_closed(XB_ETIMEOUT, XB_COND_CONNECTION_TIMEOUT);
    wt_assert_has(host.closed_msg, "no stream header");
}
END_TEST

START_TEST(test_component_server_closes)
{
    new_component();
    negotiate_to_handshake();
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    assert_closed(XB_ECLOSED, XB_COND_NONE);
    wt_assert_has(host.closed_msg, "during the handshake");
    ck_assert_str_eq(take_raw(), "</stream:stream>");
}
END_TEST

START_TEST(test_component_server_closes_when_ready)
{
    make_ready();
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    assert_closed(XB_ECLOSED, XB_COND_NONE);
    ck_assert_str_eq(host.closed_msg, "the server closed the stream");
}
END_TEST

START_TEST(test_component_garbage)
{
    new_component();
    ck_assert_int_eq(feed("HTTP/1.1 400 Bad Request\r\n\r\n"), XB_ECLOSED);
    assert_closed(XB_EXML, XB_COND_NOT_WELL_FORMED);
    take_raw();
    xb_component_free(comp);
    new_component();
    ck_assert_int_eq(feed(SERVER_HEADER "<handshake/><oops></stream:stream>"),
                     XB_ECLOSED);
    ck_assert_int_eq(host.nclosed, 2);
    ck_assert_int_eq(host.closed_err, XB_EXML);
}
END_TEST

START_TEST(test_component_wrong_namespace)
{
    new_component();
    take_raw();
    /* A client port answers with a jabber:client stream. */
    ck_assert_int_eq(
        feed("<?xml version='1.0'?><stream:stream xmlns='" XB_NS_CLIENT
             "' xmlns:stream='" XB_NS_STREAMS "' id='x' version='1.0'>"),
        XB_ECLOSED);
    assert_closed(XB_EPROTO, XB_COND_INVALID_NAMESPACE);
    wt_assert_has(host.closed_msg, "component port");
    assert_sent_stream_error(XB_COND_INVALID_NAMESPACE);
}
END_TEST

START_TEST(test_component_stanza_before_handshake)
{
    new_component();
    negotiate_to_handshake();
    ck_assert_int_eq(
        feed("<message to='a@" DOMAIN "'><body>x</body></message>"),
        XB_ECLOSED);
    assert_closed(XB_EPROTO, XB_COND_UNSUPPORTED_STANZA_TYPE);
    ck_assert_int_eq(host.nready, 0);
}
END_TEST

START_TEST(test_component_handshake_with_child)
{
    new_component();
    negotiate_to_handshake();
    ck_assert_int_eq(feed("<handshake><x/></handshake>"), XB_ECLOSED);
    assert_closed(XB_EPROTO, XB_COND_NONE);
}
END_TEST

START_TEST(test_component_deep_nesting)
{
    struct xb_buf b;
    int i;

    make_ready();
    xb_buf_init(&b);
    ck_assert_int_eq(xb_buf_puts(&b, "<message to='echo@" DOMAIN "'>"), 0);
    for (i = 0; i < 10000; i++)
        ck_assert_int_eq(xb_buf_puts(&b, "<a>"), 0);
    ck_assert_int_eq(wt_feed_n(&wire, b.data, b.len), XB_ECLOSED);
    xb_buf_free(&b);
    assert_closed(XB_ELIMIT, XB_COND_POLICY_VIOLATION);
    assert_sent_stream_error(XB_COND_POLICY_VIOLATION);
    ck_assert_int_eq(host.delivered + host.replied + host.dropped, 0);
}
END_TEST

START_TEST(test_component_huge_stanza)
{
    struct xb_buf b;
    int i;

    cfg.limits.max_stanza_bytes = 4096;
    make_ready();
    xb_buf_init(&b);
    ck_assert_int_eq(xb_buf_puts(&b, "<message to='echo@" DOMAIN "'><body>"),
                     0);
    for (i = 0; i < 1000; i++)
        ck_assert_int_eq(xb_buf_puts(&b, "0123456789"), 0);
    ck_assert_int_eq(wt_feed_n(&wire, b.data, b.len), XB_ECLOSED);
    xb_buf_free(&b);
    assert_closed(XB_ELIMIT, XB_COND_POLICY_VIOLATION);
    assert_sent_stream_error(XB_COND_POLICY_VIOLATION);
}
END_TEST

START_TEST(test_component_restricted_xml)
{
    new_component();
    ck_assert_int_eq(feed(SERVER_HEADER "<!-- hi -->"), XB_ECLOSED);
    assert_closed(XB_EXML, XB_COND_RESTRICTED_XML);
}
END_TEST

/* --- life --------------------------------------------------------------- */

START_TEST(test_component_close_clean)
{
    make_ready();
    xb_component_close(comp);
    ck_assert_str_eq(take_raw(), "</stream:stream>");
    ck_assert_int_eq(xb_component_state(comp), XB_COMPONENT_CLOSING);
    ck_assert_int_eq(host.timer, 2000);
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    assert_closed(0, XB_COND_NONE);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

/* Closed before the server's header came: the header that follows gets
 * no handshake (nothing is written after our close), and an accepting
 * <handshake/> does not make the stream ready (fuzz finding). */
START_TEST(test_component_close_before_header)
{
    new_component();
    ck_assert_str_eq(take_raw(), CLIENT_HEADER);
    xb_component_close(comp);
    ck_assert_str_eq(take_raw(), "</stream:stream>");
    server_says(SERVER_HEADER "<handshake/>");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nready, 0);
    ck_assert_int_eq(xb_component_state(comp), XB_COMPONENT_CLOSING);
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    assert_closed(0, XB_COND_NONE);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

START_TEST(test_component_close_timeout)
{
    make_ready();
    xb_component_close(comp);
    host.clock += 2000;
    xb_component_timer(comp);
    assert_closed(0, XB_COND_NONE);
}
END_TEST

START_TEST(test_component_abort)
{
    make_ready();
    xb_component_abort(comp, "connection reset by peer");
    assert_closed(XB_ECLOSED, XB_COND_NONE);
    ck_assert_str_eq(host.closed_msg, "connection reset by peer");
    xb_component_abort(comp, "again");
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_int_eq(xb_component_feed(comp, S("<x/>")), XB_ECLOSED);
}
END_TEST

START_TEST(test_component_restart)
{
    make_ready();
    xb_component_abort(comp, "gone");
    ck_assert_int_eq(xb_component_start(comp), 0);
    negotiate_to_handshake();
    server_says("<handshake/>");
    ck_assert_int_eq(host.nready, 2);
    ck_assert_int_eq(xb_component_start(comp), XB_ESTATE);
}
END_TEST

START_TEST(test_component_keepalive)
{
    cfg.keepalive_ms = 60000;
    make_ready();
    ck_assert_int_eq(host.timer, 60000);
    host.clock += 30000;
    xb_component_timer(comp); /* early: re-armed for the rest */
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.timer, 30000);
    host.clock += 30000;
    xb_component_timer(comp);
    ck_assert_str_eq(take_raw(), " ");
    ck_assert_int_eq(host.timer, 60000);
}
END_TEST

START_TEST(test_component_send_when_ready_only)
{
    struct xb_stanza *m = tu_element("<message xmlns='jabber:client' "
                                     "to='a@localhost'/>");

    new_component();
    ck_assert_int_eq(xb_component_send(comp, m), XB_ESTATE);
    ck_assert_int_eq(xb_component_send_from(comp, m, "a@" DOMAIN), XB_ESTATE);
    xb_stanza_free(m);
}
END_TEST

START_TEST(test_component_from_outside_domain_refused)
{
    struct xb_stanza *m = tu_element("<message xmlns='jabber:client' "
                                     "to='a@localhost' from='x@localhost'/>");

    make_ready();
    ck_assert_int_eq(xb_component_send(comp, m), XB_EINVAL);
    ck_assert_int_eq(xb_component_send_from(comp, m, "x@other"), XB_EINVAL);
    ck_assert_int_eq(xb_component_send_from(comp, m, NULL), XB_EINVAL);
    ck_assert_str_eq(take_raw(), "");
    /* The domain, a subdomain's lookalike and case. */
    ck_assert_int_eq(xb_component_send_from(comp, m, "x@bots.localhost.evil"),
                     XB_EINVAL);
    ck_assert_int_eq(xb_component_send_from(comp, m, "BOTS.localhost"), 0);
    ck_assert_int_eq(xb_component_send_from(comp, m, "x@" DOMAIN "/r@s"), 0);
    take();
    ck_assert_int_eq(out.nel, 2);
    xb_stanza_free(m);
    ck_assert_int_eq(host.nclosed, 0);
}
END_TEST

START_TEST(test_component_outgoing_namespace)
{
    struct xb_stanza *m = tu_element(
        "<message xmlns='jabber:client' to='alice@localhost/r' type='chat'>"
        "<body>hi</body><x xmlns='urn:x'><y/></x></message>");

    make_ready();
    ck_assert_int_eq(xb_component_send_from(comp, m, "echo@" DOMAIN "/bot"), 0);
    /* In the stream's default namespace: no xmlns but the payload's. */
    ck_assert_str_eq(
        take_raw(),
        "<message to='alice@localhost/r' type='chat' from='echo@" DOMAIN
        "/bot'><body>hi</body><x xmlns='urn:x'><y/></x></message>");
    xb_stanza_free(m);
}
END_TEST

START_TEST(test_component_incoming_as_client)
{
    const struct xb_stanza *st, *body, *x;

    make_ready();
    server_says("<message from='alice@localhost/r' to='echo@" DOMAIN "/bot' "
                "type='chat'><body>hi</body><x xmlns='urn:x'><y/></x>"
                "<z xmlns='" XB_NS_COMPONENT "'/></message>");
    ck_assert_int_eq(host.nkept, 1);
    st = host.kept[0];
    ck_assert(xb_stanza_is(st, XB_NS_CLIENT, "message"));
    body = xb_stanza_child(st, NULL, "body");
    ck_assert(xb_stanza_is(body, XB_NS_CLIENT, "body"));
    x = xb_stanza_child(st, NULL, "x");
    ck_assert(xb_stanza_is(x, "urn:x", "x"));
    ck_assert(xb_stanza_is(xb_stanza_child(x, NULL, NULL), "urn:x", "y"));
    ck_assert(xb_stanza_is(xb_stanza_child(st, NULL, "z"), XB_NS_CLIENT, "z"));
    /* Non-stanzas are not handed on. */
    server_says("<handshake/><foo/>");
    ck_assert_int_eq(host.nkept, 1);
    ck_assert_int_eq(host.nclosed, 0);
}
END_TEST

START_TEST(test_component_trace_hides_secret)
{
    make_ready();
    xb_component_close(comp);
    ck_assert_int_gt(wire.ntrace, 3);
    wt_assert_has(wire.trace.data, "> <handshake>[redacted]</handshake>");
    wt_assert_has(wire.trace.data, "< <handshake/>");
    wt_assert_has(wire.trace.data, "id='" STREAM_ID "'");
    wt_assert_lacks(wire.trace.data, DIGEST);
    wt_assert_lacks(wire.trace.data, SECRET);
}
END_TEST

/* --- routing ------------------------------------------------------------ */

/* The component answered exactly one stanza; it is out.el[0]. */
static const struct xb_stanza *one_answer(void)
{
    take();
    ck_assert_msg(out.nel == 1, "%d answers: %s", out.nel, out.text);
    return out.el[0];
}

START_TEST(test_component_route_full_to_among_many)
{
    const struct xb_stanza *r;
    int i;

    make_host(NBOTS);
    server_says("<message from='alice@localhost/r' to='echo_57@" DOMAIN
                "/bot' type='chat' id='m1'><body>hello 57</body></message>");
    ck_assert_int_eq(host.delivered, 1);
    for (i = 0; i <= NBOTS; i++)
        ck_assert_uint_eq(stanzas_of(i), i == 57 ? 1 : 0);
    r = one_answer();
    ck_assert(xb_stanza_is(r, XB_NS_COMPONENT, "message"));
    wt_assert_attr(r, "from", "echo_57@" DOMAIN "/bot");
    wt_assert_attr(r, "to", "alice@localhost/r");
    ck_assert_str_eq(xb_stanza_child_text(r, NULL, "body"), "hello 57");
    /* The echo's own marker aside, nothing carries an xmlns of ours. */
    wt_assert_lacks(out.text, "xmlns='" XB_NS_CLIENT "'");
    wt_assert_lacks(out.text, "xmlns='" XB_NS_COMPONENT "'");
    ck_assert(!strncmp(out.text, "<message ", 9));
}
END_TEST

START_TEST(test_component_route_bare_to)
{
    const struct xb_stanza *r;

    make_host(NBOTS);
    /* Bare to a bot with a resource. */
    server_says("<message from='alice@localhost/r' to='echo_123@" DOMAIN
                "' type='chat'><body>b</body></message>");
    ck_assert_uint_eq(stanzas_of(123), 1);
    r = one_answer();
    wt_assert_attr(r, "from", "echo_123@" DOMAIN "/bot");
    /* Full to a bot without one: it takes all its resources. */
    server_says("<message from='alice@localhost/r' to='bare@" DOMAIN
                "/whatever' type='chat'><body>c</body></message>");
    ck_assert_uint_eq(stanzas_of(NBOTS), 1);
    r = one_answer();
    wt_assert_attr(r, "from", "bare@" DOMAIN);
    /* Case in the localpart and domain does not matter. */
    server_says(
        "<message from='alice@localhost/r' to='ECHO_5@Bots.LOCALHOST/bot'"
        " type='chat'><body>d</body></message>");
    ck_assert_uint_eq(stanzas_of(5), 1);
    r = one_answer();
    wt_assert_attr(r, "from", "echo_5@" DOMAIN "/bot");
    /* In the resource it does: that is no bot. */
    server_says("<iq from='alice@localhost/r' to='echo_6@" DOMAIN "/BOT' "
                "type='get' id='q'><ping xmlns='urn:xmpp:ping'/></iq>");
    ck_assert_uint_eq(stanzas_of(6), 0);
    r = one_answer();
    ck_assert_ptr_nonnull(xb_stanza_child(xb_stanza_child(r, NULL, "error"),
                                          XB_NS_STANZA_ERRORS,
                                          "item-not-found"));
    ck_assert_int_eq(host.delivered, 3);
}
END_TEST

START_TEST(test_component_route_ping_to_bot)
{
    const struct xb_stanza *r;

    make_host(10);
    server_says("<iq from='alice@localhost/r' to='echo_3@" DOMAIN "/bot' "
                "type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
    r = one_answer();
    wt_assert_attr(r, "type", "result");
    wt_assert_attr(r, "id", "p1");
    wt_assert_attr(r, "from", "echo_3@" DOMAIN "/bot");
    wt_assert_attr(r, "to", "alice@localhost/r");
}
END_TEST

/* A stanza without 'from' (the server always stamps one) is not delivered:
 * a bot would answer no one (fuzz finding). */
START_TEST(test_component_route_no_from_not_delivered)
{
    make_host(10);
    server_says("<iq to='echo_3@" DOMAIN "/bot' type='get' id='p1'>"
                "<ping xmlns='urn:xmpp:ping'/></iq>"
                "<message to='echo_3@" DOMAIN "/bot' type='chat'>"
                "<body>hi</body></message>");
    ck_assert_int_eq(host.delivered, 0);
    ck_assert_int_eq(host.dropped, 2);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

/* The component's own answers go to the sender's 'from' as the server
 * stamped it, whole: here the longest a JID can be (a 1,023-byte
 * resource). fuzz_component kept the sender in a buffer of 3,072 bytes,
 * cut a longer 'from' and saw "an answer to someone else than the sender":
 * the harness was wrong, not the component. A 'from' that is not a JID
 * (this one with a resource over 1,023 bytes) gets no answer at all: no
 * one could receive it, and the bots' own IQ rules drop it too. */
START_TEST(test_component_route_answer_to_whole_from)
{
    char from[16 + 1023 + 1], xml[1400], bad[3200], badxml[6700];
    const struct xb_stanza *r;

    memcpy(from, "alice@localhost/", 16);
    memset(from + 16, 'r', 1023);
    from[sizeof from - 1] = '\0';
    make_host(10);
    snprintf(xml, sizeof xml,
             "<message from='%s' type='chat' id='m1'><body>x</body></message>",
             from);
    server_says(xml);
    r = one_answer();
    wt_assert_attr(r, "type", "error");
    wt_assert_attr(r, "from", DOMAIN);
    wt_assert_attr(r, "to", from);
    snprintf(xml, sizeof xml,
             "<iq from='%s' to='nobody@" DOMAIN "' type='get' id='q1'>"
             "<ping xmlns='urn:xmpp:ping'/></iq>",
             from);
    server_says(xml);
    r = one_answer();
    wt_assert_attr(r, "type", "error");
    wt_assert_attr(r, "from", "nobody@" DOMAIN);
    wt_assert_attr(r, "to", from);

    memset(bad, 'r', sizeof bad - 1);
    bad[sizeof bad - 1] = '\0';
    memcpy(bad, "alice@localhost/", 16);
    snprintf(badxml, sizeof badxml,
             "<message from='%s' type='chat' id='m2'><body>x</body></message>"
             "<iq from='%s' to='nobody@" DOMAIN "' type='get' id='q2'>"
             "<ping xmlns='urn:xmpp:ping'/></iq>",
             bad, bad);
    server_says(badxml);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.delivered, 0);
}
END_TEST

START_TEST(test_component_route_disco_info)
{
    const struct xb_stanza *r, *q, *id, *f, *x;
    int features = 0, bots_field = 0;

    make_host(NBOTS);
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "' type='get' "
                "id='d1'><query xmlns='" XB_NS_DISCO_INFO "'/></iq>");
    r = one_answer();
    wt_assert_attr(r, "type", "result");
    wt_assert_attr(r, "from", DOMAIN);
    wt_assert_attr(r, "to", "alice@localhost/r");
    wt_assert_attr(r, "id", "d1");
    q = xb_stanza_child(r, XB_NS_DISCO_INFO, "query");
    ck_assert_ptr_nonnull(q);
    id = xb_stanza_child(q, XB_NS_DISCO_INFO, "identity");
    ck_assert_ptr_nonnull(id);
    wt_assert_attr(id, "category", "component");
    wt_assert_attr(id, "type", "generic");
    wt_assert_attr(id, "name", "xmppbots test");
    for (f = xb_stanza_child(q, XB_NS_DISCO_INFO, "feature"); f;
         f = xb_stanza_next_child(f, XB_NS_DISCO_INFO, "feature")) {
        const char *var = xb_stanza_attr(f, NULL, "var");

        features++;
        ck_assert(!strcmp(var, XB_NS_DISCO_INFO) ||
                  !strcmp(var, XB_NS_DISCO_ITEMS) || !strcmp(var, XB_NS_PING));
    }
    ck_assert_int_eq(features, 3);
    x = xb_stanza_child(q, XB_NS_DATA, "x");
    ck_assert_ptr_nonnull(x);
    wt_assert_attr(x, "type", "result");
    for (f = xb_stanza_child(x, XB_NS_DATA, "field"); f;
         f = xb_stanza_next_child(f, XB_NS_DATA, "field")) {
        const char *var = xb_stanza_attr(f, NULL, "var");
        const char *value = xb_stanza_child_text(f, XB_NS_DATA, "value");

        if (!strcmp(var, "FORM_TYPE")) {
            wt_assert_attr(f, "type", "hidden");
            ck_assert_str_eq(value, XB_ROUTE_FORM_TYPE);
        } else if (!strcmp(var, "bots")) {
            bots_field = 1;
            ck_assert_str_eq(value, "201");
        }
    }
    ck_assert(bots_field);
    wt_assert_lacks(out.text, "xmlns='" XB_NS_CLIENT "'");
}
END_TEST

START_TEST(test_component_route_disco_items_bounded)
{
    const struct xb_stanza *r, *q, *it;
    int n = 0;

    make_host(NBOTS);
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "' type='get' "
                "id='d2'><query xmlns='" XB_NS_DISCO_ITEMS "'/></iq>");
    r = one_answer();
    q = xb_stanza_child(r, XB_NS_DISCO_ITEMS, "query");
    ck_assert_ptr_nonnull(q);
    for (it = xb_stanza_child(q, NULL, "item"); it;
         it = xb_stanza_next_child(it, NULL, "item")) {
        n++;
        ck_assert_ptr_nonnull(
            xb_route_find(route, xb_stanza_attr(it, NULL, "jid")));
    }
    ck_assert_int_eq(n, XB_ROUTE_DISCO_ITEMS);
}
END_TEST

START_TEST(test_component_route_domain_other_iqs)
{
    const struct xb_stanza *r, *e;

    make_host(3);
    /* Ping: a result from the domain (its resource kept as addressed). */
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "/x' type='get' "
                "id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
    r = one_answer();
    wt_assert_attr(r, "type", "result");
    wt_assert_attr(r, "from", DOMAIN "/x");
    /* An unknown payload: service-unavailable. */
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "' type='get' "
                "id='v'><query xmlns='jabber:iq:version'/></iq>");
    r = one_answer();
    wt_assert_attr(r, "type", "error");
    e = xb_stanza_child(r, NULL, "error");
    wt_assert_attr(e, "type", "cancel");
    ck_assert_ptr_nonnull(
        xb_stanza_child(e, XB_NS_STANZA_ERRORS, "service-unavailable"));
    /* A disco node we do not have: item-not-found. */
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "' type='get' "
                "id='n'><query xmlns='" XB_NS_DISCO_INFO "' node='x'/></iq>");
    r = one_answer();
    ck_assert_ptr_nonnull(xb_stanza_child(xb_stanza_child(r, NULL, "error"),
                                          XB_NS_STANZA_ERRORS,
                                          "item-not-found"));
    /* Two payloads: bad-request. */
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "' type='set' "
                "id='b'><a xmlns='urn:a'/><b xmlns='urn:b'/></iq>");
    r = one_answer();
    e = xb_stanza_child(r, NULL, "error");
    wt_assert_attr(e, "type", "modify");
    ck_assert_ptr_nonnull(
        xb_stanza_child(e, XB_NS_STANZA_ERRORS, "bad-request"));
    /* A result or a presence to the domain: nothing. */
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "' type='result' "
                "id='z'/><presence from='alice@localhost/r' to='" DOMAIN "'/>");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.delivered, 0);
}
END_TEST

START_TEST(test_component_route_unknown_jid)
{
    const struct xb_stanza *r, *e;

    make_host(NBOTS);
    server_says("<iq from='alice@localhost/r' to='nobody@" DOMAIN "/x' "
                "type='get' id='u1'><ping xmlns='urn:xmpp:ping'/></iq>");
    r = one_answer();
    wt_assert_attr(r, "type", "error");
    wt_assert_attr(r, "id", "u1");
    wt_assert_attr(r, "from", "nobody@" DOMAIN "/x");
    wt_assert_attr(r, "to", "alice@localhost/r");
    e = xb_stanza_child(r, NULL, "error");
    wt_assert_attr(e, "type", "cancel");
    ck_assert_ptr_nonnull(
        xb_stanza_child(e, XB_NS_STANZA_ERRORS, "item-not-found"));
    /* A chat message: service-unavailable. */
    server_says("<message from='alice@localhost/r' to='nobody@" DOMAIN "' "
                "type='chat' id='m'><body>x</body></message>");
    r = one_answer();
    ck_assert(xb_stanza_is(r, NULL, "message"));
    wt_assert_attr(r, "type", "error");
    ck_assert_ptr_nonnull(xb_stanza_child(xb_stanza_child(r, NULL, "error"),
                                          XB_NS_STANZA_ERRORS,
                                          "service-unavailable"));
    ck_assert_int_eq(host.delivered, 0);
}
END_TEST

START_TEST(test_component_route_never_error_for_error)
{
    make_host(10);
    server_says(
        "<message from='alice@localhost/r' to='nobody@" DOMAIN "' "
        "type='error' id='e1'><error type='cancel'><service-unavailable "
        "xmlns='" XB_NS_STANZA_ERRORS "'/></error></message>"
        "<iq from='alice@localhost/r' to='nobody@" DOMAIN "' type='error' "
        "id='e2'><error type='cancel'><item-not-found "
        "xmlns='" XB_NS_STANZA_ERRORS "'/></error></iq>"
        "<iq from='alice@localhost/r' to='nobody@" DOMAIN "' type='result' "
        "id='e3'/>"
        "<message from='room@conference.localhost/x' to='nobody@" DOMAIN
        "/bot' type='groupchat'><body>x</body></message>"
        "<message from='alice@localhost' to='nobody@" DOMAIN
        "' type='headline'><body>x</body></message>"
        "<presence from='alice@localhost/r' to='nobody@" DOMAIN "'/>"
        "<presence from='alice@localhost/r' to='nobody@" DOMAIN
        "' type='subscribe'/>"
        /* No from: nobody to answer. */
        "<iq to='nobody@" DOMAIN "' type='get' id='e4'><ping "
        "xmlns='urn:xmpp:ping'/></iq>"
        /* Another domain: an answer from there would be invalid-from. */
        "<iq from='alice@localhost/r' to='x@elsewhere' type='get' id='e5'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>"
        /* An invalid JID under the domain likewise. */
        "<iq from='alice@localhost/r' to='@" DOMAIN "' type='get' id='e6'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.dropped, 9);
    ck_assert_int_eq(host.foreign, 1); /* the host is told: see below */
    ck_assert_int_eq(host.nclosed, 0);
}
END_TEST

START_TEST(test_component_route_bot_answers_error_silently)
{
    make_host(3);
    /* An error bounce to a bot reaches it; the echo bot does not answer. */
    server_says("<message from='alice@localhost/r' to='echo_1@" DOMAIN
                "/bot' type='error'><error type='cancel'><item-not-found "
                "xmlns='" XB_NS_STANZA_ERRORS "'/></error></message>");
    ck_assert_int_eq(host.delivered, 1);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

/* A bot at the domain takes what is addressed to the domain, disco
 * included; removed, the component answers for the domain again. */
START_TEST(test_component_route_domain_bot)
{
    const struct xb_stanza *r, *id;
    struct vbot second = {0};
    int gw;

    make_host(3);
    ck_assert_uint_eq(xb_route_count(route), 4);
    gw = add_service();
    ck_assert_uint_eq(xb_route_count(route), 5);
    ck_assert_str_eq(take_raw(), ""); /* nothing registered: no probes */

    /* disco#info: the bot's identity, not the component's. */
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "' type='get' "
                "id='d1'><query xmlns='" XB_NS_DISCO_INFO "'/></iq>");
    ck_assert_int_eq(host.delivered, 1);
    ck_assert_uint_eq(stanzas_of(gw), 1);
    r = one_answer();
    wt_assert_attr(r, "type", "result");
    wt_assert_attr(r, "from", DOMAIN);
    wt_assert_attr(r, "id", "d1");
    id = xb_stanza_child(xb_stanza_child(r, XB_NS_DISCO_INFO, "query"),
                         XB_NS_DISCO_INFO, "identity");
    ck_assert_ptr_nonnull(id);
    wt_assert_attr(id, "category", "component");
    wt_assert_attr(id, "type", "presence");
    wt_assert_lacks(out.text, XB_ROUTE_FORM_TYPE);

    /* A resource of the domain, and no 'to' at all, reach it too. */
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "/x' type='get' "
                "id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
    r = one_answer();
    wt_assert_attr(r, "type", "result");
    wt_assert_attr(r, "from", DOMAIN);
    server_says("<iq from='alice@localhost/r' type='get' id='p2'><ping "
                "xmlns='urn:xmpp:ping'/></iq>");
    r = one_answer();
    wt_assert_attr(r, "id", "p2");
    ck_assert_uint_eq(stanzas_of(gw), 3);

    /* Registration through the component: the answers come from the
     * domain; the user's presence to the domain is delivered, not
     * dropped; a message to it gets no error. */
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "' type='set' "
                "id='reg'><query xmlns='jabber:iq:register'><x xmlns='"
                "jabber:x:data' type='submit'><field var='FORM_TYPE' "
                "type='hidden'><value>jabber:iq:register</value></field>"
                "</x></query></iq>");
    take();
    ck_assert_int_eq(out.nel, 3);
    wt_assert_attr(out.el[0], "type", "result");
    wt_assert_attr(out.el[1], "from", DOMAIN);
    wt_assert_attr(out.el[1], "to", "alice@localhost");
    wt_assert_has(out.text, "http://" DOMAIN "/wp/");
    wt_assert_attr(out.el[2], "type", "subscribe");
    wt_assert_attr(out.el[2], "from", DOMAIN);
    server_says("<presence from='alice@localhost/r' to='" DOMAIN "'/>"
                "<message from='alice@localhost/r' to='" DOMAIN "' "
                "type='chat'><body>hi</body></message>");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_uint_eq(fh_counter(vbots[gw].bot, "presence_updates"), 1);
    ck_assert_uint_eq(stanzas_of(gw), 6);

    /* The echo bots and the unknown JIDs are as before. */
    server_says("<message from='alice@localhost/r' to='echo_1@" DOMAIN
                "/bot' type='chat'><body>e</body></message>");
    wt_assert_attr(one_answer(), "from", "echo_1@" DOMAIN "/bot");
    server_says("<iq from='alice@localhost/r' to='nobody@" DOMAIN "' "
                "type='get' id='u'><ping xmlns='urn:xmpp:ping'/></iq>");
    ck_assert_ptr_nonnull(
        xb_stanza_child(xb_stanza_child(one_answer(), NULL, "error"),
                        XB_NS_STANZA_ERRORS, "item-not-found"));
    ck_assert_uint_eq(stanzas_of(gw), 6);
    ck_assert_int_eq(host.delivered, 7);

    /* One bot at the domain. */
    second.bot = xb_bot_new(service_cfg, DOMAIN, &service_host, &second, 1, 1);
    ck_assert_ptr_nonnull(second.bot);
    ck_assert_int_eq(xb_route_add(route, &second), XB_EINVAL);
    xb_bot_free(second.bot);

    /* Removed: the component's own disco again, with the echo bots. */
    ck_assert_int_eq(xb_route_remove(route, &vbots[gw]), 0);
    ck_assert_uint_eq(xb_route_count(route), 4);
    server_says("<iq from='alice@localhost/r' to='" DOMAIN "' type='get' "
                "id='d2'><query xmlns='" XB_NS_DISCO_INFO "'/></iq>");
    r = one_answer();
    id = xb_stanza_child(xb_stanza_child(r, XB_NS_DISCO_INFO, "query"),
                         XB_NS_DISCO_INFO, "identity");
    wt_assert_attr(id, "type", "generic");
    wt_assert_attr(id, "name", "xmppbots test");
    wt_assert_has(out.text, "<value>4</value>");
    server_says("<presence from='alice@localhost/r' to='" DOMAIN "'/>");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_uint_eq(stanzas_of(gw), 6);
    ck_assert_int_eq(host.delivered, 7);
}
END_TEST

/* --- the index alone ---------------------------------------------------- */

/* Items of the index tests: their JIDs are their own. */
struct named {
    char jid[64];
};

static const char *named_jid(const void *item)
{
    return ((const struct named *)item)->jid;
}

START_TEST(test_route_add_refusals)
{
    static struct named bad[] = {{"a@other.host"},    {DOMAIN "/r"},
                                 {"A@" DOMAIN},       {"a@Bots.localhost"},
                                 {"@" DOMAIN},        {"a b@" DOMAIN},
                                 {"Bots.localhost"},  {"other.host"},
                                 {"bots.localhost."}, {DOMAIN "/"}};
    struct named a = {"a@" DOMAIN "/r"}, a2 = {"a@" DOMAIN "/r"};
    struct named b = {"a@" DOMAIN};
    size_t i;

    route = xb_route_new(DOMAIN, NULL, named_jid);
    ck_assert_ptr_nonnull(route);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(xb_route_add(route, &bad[i]) == XB_EJID, "%s accepted",
                      bad[i].jid);
    ck_assert_int_eq(xb_route_add(route, NULL), XB_EJID);
    ck_assert_int_eq(xb_route_add(route, &a), 0);
    ck_assert_int_eq(xb_route_add(route, &a2), XB_EINVAL);
    ck_assert_int_eq(xb_route_add(route, &b), 0);
    ck_assert_uint_eq(xb_route_count(route), 2);
    ck_assert_int_eq(xb_route_remove(route, &a2), XB_ENOTFOUND);
    ck_assert_ptr_eq(xb_route_find(route, "a@" DOMAIN "/r"), &a);
    ck_assert_ptr_eq(xb_route_find(route, "a@" DOMAIN), &b);
    ck_assert_ptr_eq(xb_route_find(route, "a@" DOMAIN "/other"), &b);
    ck_assert_ptr_null(xb_route_find(route, DOMAIN));
    ck_assert_ptr_null(xb_route_find(route, "a@elsewhere/r"));
    ck_assert_ptr_null(xb_route_new("a@" DOMAIN, NULL, named_jid));
    ck_assert_ptr_null(xb_route_new(DOMAIN, NULL, NULL));
}
END_TEST

/* A bot at the domain itself (a service): it takes the domain and its
 * resources, never a localpart's JID, and there is one at most. */
START_TEST(test_route_domain_bot)
{
    struct named d = {DOMAIN}, d2 = {DOMAIN}, dr = {DOMAIN "/gw"};
    struct named a = {"a@" DOMAIN "/r"};

    route = xb_route_new(DOMAIN, NULL, named_jid);
    ck_assert_ptr_nonnull(route);
    ck_assert_int_eq(xb_route_add(route, &a), 0);
    ck_assert_int_eq(xb_route_add(route, &dr), XB_EJID);
    ck_assert_ptr_null(xb_route_find(route, DOMAIN));
    ck_assert_int_eq(xb_route_add(route, &d), 0);
    ck_assert_int_eq(xb_route_add(route, &d2), XB_EINVAL);
    ck_assert_int_eq(xb_route_add(route, &dr), XB_EJID);
    ck_assert_uint_eq(xb_route_count(route), 2);

    ck_assert_ptr_eq(xb_route_find(route, DOMAIN), &d);
    ck_assert_ptr_eq(xb_route_find(route, DOMAIN "/gw"), &d);
    ck_assert_ptr_eq(xb_route_find(route, DOMAIN "/any/thing"), &d);
    ck_assert_ptr_eq(xb_route_find(route, "BOTS.localhost/X"), &d);
    ck_assert_ptr_eq(xb_route_find(route, "a@" DOMAIN "/r"), &a);
    ck_assert_ptr_eq(xb_route_find(route, "a@" DOMAIN), &a);
    ck_assert_ptr_null(xb_route_find(route, "b@" DOMAIN));
    ck_assert_ptr_null(xb_route_find(route, "b@" DOMAIN "/r"));
    ck_assert_ptr_null(xb_route_find(route, "other.host"));
    ck_assert_ptr_null(xb_route_find(route, "a@other.host/r"));

    /* Removed: the domain is free again, for another. */
    ck_assert_int_eq(xb_route_remove(route, &d2), XB_ENOTFOUND);
    ck_assert_int_eq(xb_route_remove(route, &d), 0);
    ck_assert_int_eq(xb_route_remove(route, &d), XB_ENOTFOUND);
    ck_assert_uint_eq(xb_route_count(route), 1);
    ck_assert_ptr_null(xb_route_find(route, DOMAIN));
    ck_assert_ptr_eq(xb_route_find(route, "a@" DOMAIN "/r"), &a);
    ck_assert_int_eq(xb_route_add(route, &d2), 0);
    ck_assert_ptr_eq(xb_route_find(route, DOMAIN "/x"), &d2);
    ck_assert_uint_eq(xb_route_count(route), 2);
    ck_assert_int_eq(xb_route_remove(route, &a), 0);
    ck_assert_uint_eq(xb_route_count(route), 1);
    ck_assert_ptr_eq(xb_route_find(route, DOMAIN), &d2);
}
END_TEST

START_TEST(test_route_many_add_remove)
{
    enum { N = 5000 };
    struct named *items = calloc(N, sizeof *items);
    size_t mem;
    int i;

    ck_assert_ptr_nonnull(items);
    route = xb_route_new(DOMAIN, NULL, named_jid);
    ck_assert_ptr_nonnull(route);
    for (i = 0; i < N; i++) {
        snprintf(items[i].jid, sizeof items[i].jid, "jumper_%d@" DOMAIN "/bot",
                 i);
        ck_assert_int_eq(xb_route_add(route, &items[i]), 0);
    }
    mem = xb_route_mem(route);
    /* An entry is a hash and a pointer, in a table at most 3/4 full and
     * at least 3/8: 16 to 32 bytes a bot. */
    ck_assert_msg(mem / N <= 33, "%zu bytes a bot", mem / N);
    for (i = 0; i < N; i++) {
        char bare[64];

        ck_assert_ptr_eq(xb_route_find(route, items[i].jid), &items[i]);
        snprintf(bare, sizeof bare, "jumper_%d@" DOMAIN, i);
        ck_assert_ptr_eq(xb_route_find(route, bare), &items[i]);
    }
    /* Remove every third: the others stay reachable (backward shift). */
    for (i = 0; i < N; i += 3)
        ck_assert_int_eq(xb_route_remove(route, &items[i]), 0);
    for (i = 0; i < N; i++)
        ck_assert_ptr_eq(xb_route_find(route, items[i].jid),
                         i % 3 ? &items[i] : NULL);
    ck_assert_uint_eq(xb_route_count(route), N - (N + 2) / 3);
    for (i = 0; i < N; i++)
        ck_assert_int_eq(xb_route_remove(route, &items[i]),
                         i % 3 ? 0 : XB_ENOTFOUND);
    ck_assert_uint_eq(xb_route_count(route), 0);
    ck_assert_ptr_null(xb_route_find(route, "jumper_1@" DOMAIN));
    free(items);
}
END_TEST

START_TEST(test_route_one_localpart_many_resources)
{
    enum { N = 2000 };
    struct named *items = calloc(N, sizeof *items);
    int i;

    ck_assert_ptr_nonnull(items);
    route = xb_route_new(DOMAIN, NULL, named_jid);
    ck_assert_ptr_nonnull(route);
    for (i = 0; i < N; i++) {
        snprintf(items[i].jid, sizeof items[i].jid, "bot@" DOMAIN "/%d", i);
        ck_assert_int_eq(xb_route_add(route, &items[i]), 0);
    }
    for (i = 0; i < N; i++)
        ck_assert_ptr_eq(xb_route_find(route, items[i].jid), &items[i]);
    /* The bare JID reaches one of the first resources in use. */
    ck_assert_ptr_eq(xb_route_find(route, "bot@" DOMAIN), &items[0]);
    ck_assert_int_eq(xb_route_remove(route, &items[0]), 0);
    ck_assert_ptr_eq(xb_route_find(route, "bot@" DOMAIN), &items[1]);
    ck_assert_ptr_null(xb_route_find(route, "bot@" DOMAIN "/x"));
    free(items);
}
END_TEST

static Suite *component_suite(void)
{
    Suite *s = suite_create("component");
    TCase *tc = tcase_create("handshake");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_component_digest_vector);
    tcase_add_test(tc, test_component_negotiation_whole);
    tcase_add_test(tc, test_component_negotiation_bytes);
    tcase_add_test(tc, test_component_negotiation_random);
    tcase_add_test(tc, test_component_shared_engine);
    tcase_add_test(tc, test_component_header_parses);
    tcase_add_test(tc, test_component_new_invalid);
    tcase_add_test(tc, test_component_handshake_ack_with_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("failures");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_component_wrong_secret);
    tcase_add_test(tc, test_component_conflict);
    tcase_add_test(tc, test_component_host_unknown);
    tcase_add_test(tc, test_component_no_id_then_stanza);
    tcase_add_test(tc, test_component_no_id_timeout);
    tcase_add_test(tc, test_component_login_timeout);
    tcase_add_test(tc, test_component_no_header_timeout);
    tcase_add_test(tc, test_component_server_closes);
    tcase_add_test(tc, test_component_server_closes_when_ready);
    tcase_add_test(tc, test_component_garbage);
    tcase_add_test(tc, test_component_wrong_namespace);
    tcase_add_test(tc, test_component_stanza_before_handshake);
    tcase_add_test(tc, test_component_handshake_with_child);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_component_deep_nesting);
    tcase_add_test(tc, test_component_huge_stanza);
    tcase_add_test(tc, test_component_restricted_xml);
    suite_add_tcase(s, tc);

    tc = tcase_create("life");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_component_close_clean);
    tcase_add_test(tc, test_component_close_before_header);
    tcase_add_test(tc, test_component_close_timeout);
    tcase_add_test(tc, test_component_abort);
    tcase_add_test(tc, test_component_restart);
    tcase_add_test(tc, test_component_keepalive);
    tcase_add_test(tc, test_component_send_when_ready_only);
    tcase_add_test(tc, test_component_from_outside_domain_refused);
    tcase_add_test(tc, test_component_outgoing_namespace);
    tcase_add_test(tc, test_component_incoming_as_client);
    tcase_add_test(tc, test_component_trace_hides_secret);
    suite_add_tcase(s, tc);

    tc = tcase_create("routing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_component_route_full_to_among_many);
    tcase_add_test(tc, test_component_route_bare_to);
    tcase_add_test(tc, test_component_route_ping_to_bot);
    tcase_add_test(tc, test_component_route_no_from_not_delivered);
    tcase_add_test(tc, test_component_route_answer_to_whole_from);
    tcase_add_test(tc, test_component_route_disco_info);
    tcase_add_test(tc, test_component_route_disco_items_bounded);
    tcase_add_test(tc, test_component_route_domain_other_iqs);
    tcase_add_test(tc, test_component_route_unknown_jid);
    tcase_add_test(tc, test_component_route_never_error_for_error);
    tcase_add_test(tc, test_component_route_bot_answers_error_silently);
    tcase_add_test(tc, test_component_route_domain_bot);
    suite_add_tcase(s, tc);

    tc = tcase_create("index");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_route_add_refusals);
    tcase_add_test(tc, test_route_domain_bot);
    tcase_add_test(tc, test_route_many_add_remove);
    tcase_add_test(tc, test_route_one_localpart_many_resources);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return tu_run(component_suite());
}
