/*
 * Tests for core/session: client negotiation against a scripted server
 * (STARTTLS, SASL with a SCRAM server computed here with OpenSSL, binding,
 * the legacy session), stream errors, the ready-state IQ plumbing, timers,
 * closing and the XML console. Pure: server bytes in, client bytes out.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "error.h"
#include "parser.h"
#include "sasl.h"
#include "serialize.h"
#include "session.h"
#include "stanza.h"
#include "xmpp.h"
#include "testutil.h"
#include "wiretest.h"

#define S(lit) lit, sizeof(lit) - 1

#define MAX_KEPT 32
#define NCBS (XB_SESSION_MAX_IQS + 2)

#define SERVER_HEADER                                                          \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "               \
    "xmlns:stream='http://etherx.jabber.org/streams' id='s1' "                 \
    "from='localhost' version='1.0' xml:lang='en'>"
#define FEATURES(body) "<stream:features>" body "</stream:features>"
#define F_STARTTLS "<starttls xmlns='" XB_NS_TLS "'><required/></starttls>"
#define MECH(m) "<mechanism>" m "</mechanism>"
#define MECHS(list) "<mechanisms xmlns='" XB_NS_SASL "'>" list "</mechanisms>"
#define F_BIND "<bind xmlns='" XB_NS_BIND "'/>"
#define F_SESSION "<session xmlns='" XB_NS_SESSION "'/>"
#define F_SESSION_OPTIONAL                                                     \
    "<session xmlns='" XB_NS_SESSION "'><optional/></session>"
#define ALL_MECHS MECHS(MECH("PLAIN") MECH("SCRAM-SHA-1") MECH("SCRAM-SHA-256"))
#define PROCEED "<proceed xmlns='" XB_NS_TLS "'/>"
#define SUCCESS "<success xmlns='" XB_NS_SASL "'/>"
#define STARTTLS_OUT "<starttls xmlns='" XB_NS_TLS "'/>"

#define SCRAM_SNONCE "3rfcNHYJY1ZVvWVs7j"
#define SCRAM_SALT "xmppbots-salt-16"

/* The fake host: records what the session asks of it. */
struct host {
    int starttls;
    int nready, nresumed;
    char ready_jid[128];
    struct xb_stanza *kept[MAX_KEPT]; /* copies of routed stanzas */
    int nkept;
    int nclosed;
    int closed_err;
    char closed_msg[256];
    int64_t timer; /* last set_timer value; -2 when never armed */
    int ntimer;
    uint64_t clock;
    int restart_in_closed; /* call xb_session_start() from closed */
    int restart_rc;
    int nnotes;
    char note[256]; /* the last note */
};

/* One tracked IQ's callback record. */
struct cb_rec {
    int calls;
    int nulls;
    struct xb_stanza *st; /* copy of the last response */
    char id[32];
};

static struct host host;
static struct wt_wire wire; /* what the session wrote and traced */
static struct wt_out out;   /* what it wrote since the last take */
static struct cb_rec cbs[NCBS];
static struct xb_session *sess;
static struct xb_scram_cache *cache;
static struct xb_session_config cfg;

/* Secrets the SCRAM server saw, so the trace test can look for them. */
static char client_first_b64[256];
static char server_first_b64[256];
static char client_final_b64[512];
static char server_final_b64[256];

static void h_write(void *ud, const char *data, size_t len)
{
    (void)ud;
    wt_write(&wire, data, len);
}

static void h_starttls(void *ud)
{
    ((struct host *)ud)->starttls++;
}

static void h_ready(void *ud, const char *full_jid, int resumed)
{
    struct host *h = ud;

    h->nready++;
    h->nresumed += resumed;
    snprintf(h->ready_jid, sizeof h->ready_jid, "%s", full_jid);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_READY);
}

static void h_stanza(void *ud, const struct xb_stanza *st)
{
    struct host *h = ud;

    ck_assert_int_lt(h->nkept, MAX_KEPT);
    h->kept[h->nkept] = xb_stanza_copy(st);
    ck_assert_ptr_nonnull(h->kept[h->nkept]);
    h->nkept++;
}

static void h_closed(void *ud, int err, const char *msg)
{
    struct host *h = ud;

    h->nclosed++;
    h->closed_err = err;
    snprintf(h->closed_msg, sizeof h->closed_msg, "%s", msg);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_CLOSED);
    if (h->restart_in_closed) {
        h->restart_in_closed = 0;
        h->restart_rc = xb_session_start(sess);
    }
}

static void h_set_timer(void *ud, int64_t ms)
{
    struct host *h = ud;

    h->timer = ms;
    h->ntimer++;
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

static void h_note(void *ud, const char *msg)
{
    struct host *h = ud;

    h->nnotes++;
    snprintf(h->note, sizeof h->note, "%s", msg);
}

static const struct xb_session_hooks hooks = {
    h_write,  h_starttls,  h_ready, h_stanza,
    h_closed, h_set_timer, h_now,   h_trace, h_note,
};

/* What the session wrote since the last take, raw or parsed (wiretest.h). */
static const char *take_raw(void)
{
    return wt_take_raw(&wire, &out);
}

static void take(void)
{
    wt_take(&wire, &out);
}

/* st serializes (on a client stream) to exactly want. */
static void assert_xml(const struct xb_stanza *st, const char *want)
{
    wt_assert_xml(st, XB_NS_CLIENT, want);
}

/* The client wrote exactly these elements since the last take, in order:
 * each serializes (as assert_xml) to the next text of the NULL-ended list. */
__attribute__((sentinel)) static void expect_sent(const char *xml, ...)
{
    va_list ap;
    const char *want[WT_MAX_OUT];
    int i, n = 0;

    va_start(ap, xml);
    for (; xml && n < WT_MAX_OUT; xml = va_arg(ap, const char *))
        want[n++] = xml;
    va_end(ap);
    take();
    ck_assert_int_eq(out.nel, n);
    for (i = 0; i < n; i++)
        assert_xml(out.el[i], want[i]);
}

/* The session ended exactly once, with err. */
static void assert_closed(int err)
{
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_int_eq(host.closed_err, err);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_CLOSED);
    ck_assert_int_eq(host.timer, -1);
}

/* The client's last words were a stream error with cond, then the close. */
static void assert_sent_stream_error(enum xb_cond cond)
{
    wt_assert_stream_error(&wire, &out, cond);
    ck_assert_int_eq(xb_session_stream_cond(sess), cond);
}

/* The client wrote nothing but </stream:stream>. */
static void assert_sent_close_only(void)
{
    ck_assert_str_eq(take_raw(), "</stream:stream>");
}

static void teardown(void);

/*
 * Runs a scenario that once crashed the session and fails the test unless
 * it returned 0. It runs in-process: a crash now shows up as the test
 * dying (Check's fork mode) or as a valgrind/sanitizer report, and a child
 * process would make valgrind count Check's own memory as leaked. The
 * scenario must not use ck_assert.
 */
static void isolated(int (*scenario)(void), const char *what)
{
    int rc = scenario();

    ck_assert_msg(rc == 0, "%s: scenario failed (%d)", what, rc);
}

static int session_feed(const char *data, size_t len)
{
    return xb_session_feed(sess, data, len);
}

static void setup(void)
{
    memset(&host, 0, sizeof host);
    wt_init(&wire, XB_NS_CLIENT, "session", session_feed);
    host.timer = -2;
    /* Not 0, so that a deadline computed from "now" is never 0 by luck. */
    host.clock = 1000000;
    memset(&out, 0, sizeof out);
    memset(cbs, 0, sizeof cbs);
    memset(&cfg, 0, sizeof cfg);
    cfg.jid = "user@localhost/res";
    cfg.password = "pw";
    sess = NULL;
    cache = NULL;
}

static void teardown(void)
{
    int i;

    xb_session_free(sess);
    sess = NULL;
    xb_scram_cache_free(cache);
    cache = NULL;
    wt_out_clear(&out);
    for (i = 0; i < host.nkept; i++)
        xb_stanza_free(host.kept[i]);
    for (i = 0; i < NCBS; i++)
        xb_stanza_free(cbs[i].st);
    wt_free(&wire);
}

static void new_session_with(const struct xb_session_hooks *hk)
{
    sess = xb_session_new(&cfg, hk, &host);
    ck_assert_ptr_nonnull(sess);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_IDLE);
    ck_assert_int_eq(xb_session_mech(sess), XB_SASL_NONE);
    ck_assert_int_eq(xb_session_start(sess), 0);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_CONNECTING);
}

static void new_session(void)
{
    new_session_with(&hooks);
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

/* The client opened a stream to localhost, version 1.0, jabber:client. */
static void expect_header(void)
{
    take();
    ck_assert_int_eq(out.headers, 1);
    ck_assert_str_eq(out.to, "localhost");
    ck_assert_str_eq(out.version, "1.0");
    ck_assert_str_eq(out.content_ns, XB_NS_CLIENT);
    ck_assert_int_eq(out.nel, 0);
    ck_assert_int_eq(out.closes, 0);
}

/* Features offering STARTTLS, <proceed/>, the host's TLS, the restart. */
static void step_tls(void)
{
    int nclosed = host.nclosed, nstarttls = host.starttls;

    server_says(SERVER_HEADER FEATURES(F_STARTTLS ALL_MECHS));
    take();
    ck_assert_int_eq(out.nel, 1);
    assert_xml(out.el[0], STARTTLS_OUT);
    ck_assert_int_eq(host.starttls, nstarttls);
    server_says(PROCEED);
    ck_assert_int_eq(host.starttls, nstarttls + 1);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(xb_session_secure(sess), 0);
    /* During the handshake the bytes are TLS, not XML: refused, harmless. */
    ck_assert_int_eq(xb_session_feed(sess, S("\x16\x03\x01")), XB_ESTATE);
    ck_assert_int_eq(host.nclosed, nclosed);
    xb_session_tls_ready(sess);
    ck_assert_int_eq(xb_session_secure(sess), 1);
    expect_header();
}

static void b64(struct xb_buf *b, const void *data, size_t len)
{
    ck_assert_int_eq(xb_base64_encode(b, data, len), 0);
}

/* Decodes the base64 text of a SASL element into b (NUL-terminated). */
static void sasl_payload(const struct xb_stanza *st, struct xb_buf *b)
{
    const char *t = xb_stanza_text(st, NULL);

    xb_buf_init(b);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(xb_base64_decode(b, t, strlen(t)), 0);
    ck_assert_ptr_nonnull(b->data);
}

static void hmac(const EVP_MD *md, const unsigned char *key, size_t klen,
                 const char *data, unsigned char *mac)
{
    unsigned int len = 0;

    ck_assert_ptr_nonnull(HMAC(md, key, (int)klen, (const unsigned char *)data,
                               strlen(data), mac, &len));
    ck_assert_uint_eq(len, (unsigned)EVP_MD_size(md));
}

/* Sends a SASL element named name whose payload is raw. */
static int send_sasl(const char *name, const char *raw, char *keep,
                     size_t keepsz)
{
    struct xb_buf x, enc;
    int rc;

    xb_buf_init(&x);
    xb_buf_init(&enc);
    b64(&enc, raw, strlen(raw));
    snprintf(keep, keepsz, "%s", enc.data);
    ck_assert_int_eq(xb_buf_puts(&x, "<"), 0);
    ck_assert_int_eq(xb_buf_puts(&x, name), 0);
    ck_assert_int_eq(xb_buf_puts(&x, " xmlns='" XB_NS_SASL "'>"), 0);
    ck_assert_int_eq(xb_buf_puts(&x, enc.data), 0);
    ck_assert_int_eq(xb_buf_puts(&x, "</"), 0);
    ck_assert_int_eq(xb_buf_puts(&x, name), 0);
    ck_assert_int_eq(xb_buf_puts(&x, ">"), 0);
    rc = wt_feed_n(&wire, x.data, x.len);
    xb_buf_free(&x);
    xb_buf_free(&enc);
    return rc;
}

/*
 * Plays a SCRAM server (RFC 5802) for the <auth/> the client just sent:
 * checks the client-first message, challenges with its own nonce, salt and
 * 4096 iterations, verifies the proof with OpenSSL and answers <success/>
 * with the server signature (flipped in one bit if corrupt). Returns what
 * feeding <success/> returned.
 */
static int scram_server(const char *mech, int corrupt)
{
    const EVP_MD *md =
        strcmp(mech, "SCRAM-SHA-256") ? EVP_sha1() : EVP_sha256();
    size_t hlen = (size_t)EVP_MD_size(md), wp, i;
    unsigned char salted[EVP_MAX_MD_SIZE], ckey[EVP_MAX_MD_SIZE];
    unsigned char stored[EVP_MAX_MD_SIZE], csig[EVP_MAX_MD_SIZE];
    unsigned char proof[EVP_MAX_MD_SIZE], skey[EVP_MAX_MD_SIZE];
    unsigned char ssig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char sfirst[256], want[512], auth_msg[1024], sfinal[128];
    struct xb_buf first, final, enc;
    const char *cnonce, *p;

    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert(xb_stanza_is(out.el[0], XB_NS_SASL, "auth"));
    wt_assert_attr(out.el[0], "mechanism", mech);
    snprintf(client_first_b64, sizeof client_first_b64, "%s",
             xb_stanza_text(out.el[0], NULL));
    sasl_payload(out.el[0], &first);
    ck_assert_msg(!strncmp(first.data, "n,,n=user,r=", 12),
                  "client-first is \"%s\"", first.data);
    cnonce = first.data + 12;
    ck_assert_uint_ge(strlen(cnonce), 16);
    ck_assert_ptr_null(strchr(cnonce, ','));

    xb_buf_init(&enc);
    b64(&enc, S(SCRAM_SALT));
    snprintf(sfirst, sizeof sfirst, "r=%s" SCRAM_SNONCE ",s=%s,i=4096", cnonce,
             enc.data);
    xb_buf_free(&enc);
    ck_assert_int_eq(send_sasl("challenge", sfirst, server_first_b64,
                               sizeof server_first_b64),
                     0);

    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert(xb_stanza_is(out.el[0], XB_NS_SASL, "response"));
    snprintf(client_final_b64, sizeof client_final_b64, "%s",
             xb_stanza_text(out.el[0], NULL));
    sasl_payload(out.el[0], &final);
    snprintf(want, sizeof want, "c=biws,r=%s" SCRAM_SNONCE ",p=", cnonce);
    ck_assert_msg(!strncmp(final.data, want, strlen(want)),
                  "client-final is \"%s\"", final.data);
    wp = strlen(want) - 3;
    snprintf(auth_msg, sizeof auth_msg, "%s,%s,%.*s", first.data + 3, sfirst,
             (int)wp, final.data);

    ck_assert_int_eq(PKCS5_PBKDF2_HMAC(cfg.password, (int)strlen(cfg.password),
                                       (const unsigned char *)SCRAM_SALT,
                                       (int)strlen(SCRAM_SALT), 4096, md,
                                       (int)hlen, salted),
                     1);
    hmac(md, salted, hlen, "Client Key", ckey);
    ck_assert_int_eq(EVP_Digest(ckey, hlen, stored, &dlen, md, NULL), 1);
    hmac(md, stored, hlen, auth_msg, csig);
    for (i = 0; i < hlen; i++)
        proof[i] = ckey[i] ^ csig[i];
    xb_buf_init(&enc);
    b64(&enc, proof, hlen);
    p = final.data + strlen(want);
    ck_assert_str_eq(p, enc.data);
    xb_buf_free(&enc);

    hmac(md, salted, hlen, "Server Key", skey);
    hmac(md, skey, hlen, auth_msg, ssig);
    if (corrupt)
        ssig[0] ^= 1;
    xb_buf_init(&enc);
    b64(&enc, ssig, hlen);
    snprintf(sfinal, sizeof sfinal, "v=%s", enc.data);
    xb_buf_free(&enc);
    xb_buf_free(&first);
    xb_buf_free(&final);
    return send_sasl("success", sfinal, server_final_b64,
                     sizeof server_final_b64);
}

/* features (after SASL) offer binding; the client asks for resource (NULL:
 * none) and the server binds bound. */
static void step_bind(const char *features, const char *resource,
                      const char *bound)
{
    const struct xb_stanza *bind, *res;
    char xml[512];

    server_says(features);
    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert(xb_stanza_is(out.el[0], XB_NS_CLIENT, "iq"));
    wt_assert_attr(out.el[0], "type", "set");
    ck_assert_ptr_nonnull(xb_stanza_attr(out.el[0], NULL, "id"));
    bind = xb_stanza_child(out.el[0], NULL, NULL);
    ck_assert_ptr_nonnull(bind);
    ck_assert(xb_stanza_is(bind, XB_NS_BIND, "bind"));
    ck_assert_ptr_null(xb_stanza_next_child(bind, NULL, NULL));
    res = xb_stanza_child(bind, NULL, NULL);
    if (resource) {
        ck_assert_ptr_nonnull(res);
        ck_assert(xb_stanza_is(res, XB_NS_BIND, "resource"));
        ck_assert_pstr_eq(xb_stanza_text(res, NULL), resource);
        ck_assert_ptr_null(xb_stanza_next_child(res, NULL, NULL));
    } else {
        ck_assert_ptr_null(xb_stanza_first(bind));
    }
    snprintf(xml, sizeof xml,
             "<iq type='result' id='%s'><bind xmlns='" XB_NS_BIND
             "'><jid>%s</jid></bind></iq>",
             xb_stanza_attr(out.el[0], NULL, "id"), bound);
    server_says(xml);
}

/* Presence went out and the ready hook ran (for the nready-th time). */
static void step_ready(const char *jid, int nready)
{
    take();
    ck_assert_int_eq(out.nel, 1);
    assert_xml(out.el[0], "<presence/>");
    ck_assert_int_eq(host.nready, nready);
    ck_assert_str_eq(host.ready_jid, jid);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_READY);
}

/* The whole login of a fresh TLS session with SCRAM-SHA-256. */
static void login_tls_scram(void)
{
    expect_header();
    step_tls();
    server_says(SERVER_HEADER FEATURES(ALL_MECHS));
    ck_assert_int_eq(scram_server("SCRAM-SHA-256", 0), 0);
    ck_assert_int_eq(host.nready, 0);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND), "res", "user@localhost/res");
    step_ready("user@localhost/res", 1);
    ck_assert_int_eq(xb_session_mech(sess), XB_SASL_SCRAM_SHA_256);
    ck_assert_int_eq(xb_session_secure(sess), 1);
}

/* SASL PLAIN on a stream without TLS, up to the restarted stream header. */
static void auth_plain(void)
{
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    expect_sent("<auth xmlns='" XB_NS_SASL
                "' mechanism='PLAIN'>AHVzZXIAcHc=</auth>",
                NULL);
    server_says(SUCCESS);
    expect_header();
}

/* A login without TLS, with PLAIN allowed: the quick way to READY. */
static void login_plain(int nready)
{
    auth_plain();
    step_bind(SERVER_HEADER FEATURES(F_BIND), "res", "user@localhost/res");
    step_ready("user@localhost/res", nready);
}

static void make_ready(void)
{
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    login_plain(1);
}

static void happy_path(enum tu_split how)
{
    wire.split = how;
    new_session();
    ck_assert_int_eq(host.timer, 30000);
    login_tls_scram();
    /* Ready, no keepalive, no IQ: nothing to wait for. */
    ck_assert_int_eq(host.timer, -1);
    ck_assert_int_eq(host.nkept, 0);
}

START_TEST(test_session_login_whole)
{
    happy_path(TU_WHOLE);
}
END_TEST

START_TEST(test_session_login_bytes)
{
    happy_path(TU_BYTES);
}
END_TEST

START_TEST(test_session_login_random)
{
    happy_path(TU_RANDOM);
}
END_TEST

START_TEST(test_session_header_exact)
{
    new_session();
    ck_assert_str_eq(take_raw(),
                     "<?xml version='1.0'?><stream:stream xmlns='jabber:client'"
                     " xmlns:stream='http://etherx.jabber.org/streams'"
                     " to='localhost' version='1.0' xml:lang='en'>");
}
END_TEST

START_TEST(test_session_new_invalid)
{
    cfg.jid = "@localhost";
    ck_assert_ptr_null(xb_session_new(&cfg, &hooks, &host));
    cfg.jid = "user@localhost";
    cfg.password = NULL;
    ck_assert_ptr_null(xb_session_new(&cfg, &hooks, &host));
    xb_session_free(NULL);
}
END_TEST

START_TEST(test_session_start_twice)
{
    new_session();
    ck_assert_int_eq(xb_session_start(sess), XB_ESTATE);
    expect_header();
}
END_TEST

START_TEST(test_session_scram_sha1)
{
    new_session();
    expect_header();
    step_tls();
    server_says(SERVER_HEADER FEATURES(
        MECHS(MECH("PLAIN") MECH("SCRAM-SHA-1") MECH("X-OAUTH2"))));
    ck_assert_int_eq(scram_server("SCRAM-SHA-1", 0), 0);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND), "res", "user@localhost/res");
    step_ready("user@localhost/res", 1);
    ck_assert_int_eq(xb_session_mech(sess), XB_SASL_SCRAM_SHA_1);
}
END_TEST

START_TEST(test_session_scram_cache)
{
    unsigned long computed = 0, hits = 0;

    cache = xb_scram_cache_new(0);
    ck_assert_ptr_nonnull(cache);
    cfg.scram_cache = cache;
    new_session();
    login_tls_scram();
    xb_session_abort(sess, "again");
    ck_assert_int_eq(xb_session_start(sess), 0);
    expect_header();
    step_tls();
    server_says(SERVER_HEADER FEATURES(ALL_MECHS));
    ck_assert_int_eq(scram_server("SCRAM-SHA-256", 0), 0);
    expect_header();
    xb_scram_cache_stats(cache, &computed, &hits);
    ck_assert_uint_eq(computed, 1);
    ck_assert_uint_eq(hits, 1);
}
END_TEST

START_TEST(test_session_scram_without_tls)
{
    cfg.tls = XB_TLS_NONE;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(
        MECHS(MECH("PLAIN") MECH("SCRAM-SHA-256") MECH("SCRAM-SHA-1"))));
    ck_assert_int_eq(scram_server("SCRAM-SHA-256", 0), 0);
    expect_header();
    ck_assert_int_eq(xb_session_secure(sess), 0);
}
END_TEST

START_TEST(test_session_plain_refused_without_tls)
{
    cfg.tls = XB_TLS_NONE;
    new_session();
    expect_header();
    ck_assert_int_eq(feed(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN")))),
                     XB_ECLOSED);
    assert_closed(XB_EAUTH);
    wt_assert_has(host.closed_msg, "--allow-plain");
    assert_sent_close_only();
    ck_assert_int_eq(host.nready, 0);
}
END_TEST

START_TEST(test_session_plain_over_tls)
{
    new_session();
    expect_header();
    step_tls();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    take();
    ck_assert_int_eq(out.nel, 1);
    assert_xml(out.el[0], "<auth xmlns='" XB_NS_SASL
                          "' mechanism='PLAIN'>AHVzZXIAcHc=</auth>");
    server_says(SUCCESS);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND), "res", "user@localhost/res");
    step_ready("user@localhost/res", 1);
    ck_assert_int_eq(xb_session_mech(sess), XB_SASL_PLAIN);
}
END_TEST

START_TEST(test_session_plain_allowed)
{
    make_ready();
    ck_assert_int_eq(xb_session_mech(sess), XB_SASL_PLAIN);
    ck_assert_int_eq(xb_session_secure(sess), 0);
}
END_TEST

START_TEST(test_session_scram_preferred_to_plain)
{
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(
        SERVER_HEADER FEATURES(MECHS(MECH("PLAIN") MECH("SCRAM-SHA-1"))));
    take();
    ck_assert_int_eq(out.nel, 1);
    wt_assert_attr(out.el[0], "mechanism", "SCRAM-SHA-1");
}
END_TEST

START_TEST(test_session_no_usable_mechanism)
{
    new_session();
    expect_header();
    step_tls();
    ck_assert_int_eq(
        feed(SERVER_HEADER FEATURES(MECHS(MECH("X-OAUTH2") MECH("EXTERNAL")))),
        XB_ECLOSED);
    assert_closed(XB_EAUTH);
    assert_sent_close_only();
}
END_TEST

START_TEST(test_session_tls_none_ignores_starttls)
{
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(F_STARTTLS MECHS(MECH("PLAIN"))));
    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert(xb_stanza_is(out.el[0], XB_NS_SASL, "auth"));
    ck_assert_int_eq(host.starttls, 0);
    ck_assert_int_eq(xb_session_secure(sess), 0);
}
END_TEST

START_TEST(test_session_tls_required_not_offered)
{
    new_session();
    expect_header();
    ck_assert_int_eq(feed(SERVER_HEADER FEATURES(ALL_MECHS)), XB_ECLOSED);
    assert_closed(XB_EPROTO);
    wt_assert_has(host.closed_msg, "STARTTLS");
    assert_sent_close_only();
    ck_assert_int_eq(host.starttls, 0);
}
END_TEST

/* Direct TLS (XEP-0368): the host did TLS before the stream, so the
 * session never asks for STARTTLS, even if offered, and counts as secure
 * (PLAIN without --allow-plain), on every login. */
START_TEST(test_session_tls_direct)
{
    cfg.tls = XB_TLS_DIRECT;
    new_session();
    ck_assert_int_eq(xb_session_secure(sess), 1);
    expect_header();
    server_says(SERVER_HEADER FEATURES(F_STARTTLS MECHS(MECH("PLAIN"))));
    take();
    ck_assert_int_eq(out.nel, 1);
    assert_xml(out.el[0], "<auth xmlns='" XB_NS_SASL
                          "' mechanism='PLAIN'>AHVzZXIAcHc=</auth>");
    server_says(SUCCESS);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND), "res", "user@localhost/res");
    step_ready("user@localhost/res", 1);
    ck_assert_int_eq(host.starttls, 0);
    ck_assert_int_eq(xb_session_secure(sess), 1);
    xb_session_abort(sess, "connection lost");
    assert_closed(XB_ECLOSED);
    ck_assert_int_eq(xb_session_start(sess), 0);
    ck_assert_int_eq(xb_session_secure(sess), 1);
    expect_header();
}
END_TEST

/* The host may switch the TLS mode between connections (SRV targets of
 * both kinds), never while a stream is open. */
START_TEST(test_session_tls_switch)
{
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    ck_assert_int_eq(xb_session_set_tls(sess, XB_TLS_DIRECT), XB_ESTATE);
    login_plain(1);
    ck_assert_int_eq(xb_session_secure(sess), 0);
    ck_assert_int_eq(xb_session_set_tls(sess, XB_TLS_DIRECT), XB_ESTATE);
    xb_session_abort(sess, "connection lost");
    assert_closed(XB_ECLOSED);
    ck_assert_int_eq(xb_session_set_tls(sess, XB_TLS_DIRECT), 0);
    ck_assert_int_eq(xb_session_start(sess), 0);
    ck_assert_int_eq(xb_session_secure(sess), 1);
    expect_header();
    server_says(SERVER_HEADER FEATURES(F_STARTTLS MECHS(MECH("PLAIN"))));
    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert_str_eq(xb_stanza_name(out.el[0]), "auth");
    ck_assert_int_eq(host.starttls, 0);
}
END_TEST

START_TEST(test_session_tls_failure)
{
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(F_STARTTLS));
    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert_int_eq(feed("<failure xmlns='" XB_NS_TLS "'/>"), XB_ECLOSED);
    assert_closed(XB_EPROTO);
    ck_assert_int_eq(host.starttls, 0);
}
END_TEST

START_TEST(test_session_tls_abort)
{
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(F_STARTTLS));
    server_says(PROCEED);
    ck_assert_int_eq(host.starttls, 1);
    take_raw();
    xb_session_abort(sess, "TLS handshake failed");
    assert_closed(XB_ECLOSED);
    ck_assert_str_eq(host.closed_msg, "TLS handshake failed");
    /* The transport is not XML any more: nothing may be written on it. */
    ck_assert_str_eq(take_raw(), "");
    xb_session_tls_ready(sess);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nclosed, 1);
}
END_TEST

START_TEST(test_session_scram_wrong_signature)
{
    new_session();
    expect_header();
    step_tls();
    server_says(SERVER_HEADER FEATURES(ALL_MECHS));
    ck_assert_int_eq(scram_server("SCRAM-SHA-256", 1), XB_ECLOSED);
    assert_closed(XB_EAUTH);
    ck_assert_int_eq(host.nready, 0);
    /* No restart towards a server that does not know the password. */
    assert_sent_close_only();
}
END_TEST

START_TEST(test_session_scram_success_without_challenge)
{
    cfg.tls = XB_TLS_NONE;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("SCRAM-SHA-256"))));
    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert_int_eq(feed(SUCCESS), XB_ECLOSED);
    assert_closed(XB_EAUTH);
    ck_assert_int_eq(host.nready, 0);
    assert_sent_close_only();
}
END_TEST

START_TEST(test_session_sasl_failure)
{
    cfg.tls = XB_TLS_NONE;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("SCRAM-SHA-1"))));
    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert_int_eq(feed("<failure xmlns='" XB_NS_SASL
                          "'><not-authorized/><text xml:lang='en'>bad</text>"
                          "</failure>"),
                     XB_ECLOSED);
    assert_closed(XB_EAUTH);
    ck_assert_str_eq(xb_session_sasl_failure(sess), "not-authorized");
    wt_assert_has(host.closed_msg, "not-authorized");
    wt_assert_has(host.closed_msg, "bad");
    assert_sent_close_only();
}
END_TEST

/* The failure's text with line breaks (expat reads CR LF as LF) still makes
 * a one-line reason (fuzz_session finding). */
START_TEST(test_session_sasl_failure_text_one_line)
{
    cfg.tls = XB_TLS_NONE;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("SCRAM-SHA-1"))));
    take();
    ck_assert_int_eq(feed("<failure xmlns='" XB_NS_SASL
                          "'><not-authorized/><text>bad\r\npassword\t!"
                          "</text></failure>"),
                     XB_ECLOSED);
    assert_closed(XB_EAUTH);
    ck_assert_str_eq(host.closed_msg, "authentication failed: "
                                      "not-authorized: bad password !");
}
END_TEST

START_TEST(test_session_sasl_challenge_not_base64)
{
    cfg.tls = XB_TLS_NONE;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("SCRAM-SHA-1"))));
    take();
    ck_assert_int_eq(feed("<challenge xmlns='" XB_NS_SASL "'>not base64!"
                          "</challenge>"),
                     XB_ECLOSED);
    assert_closed(XB_EPROTO);
    ck_assert_int_eq(host.nready, 0);
}
END_TEST

START_TEST(test_session_sasl_challenge_garbage)
{
    cfg.tls = XB_TLS_NONE;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("SCRAM-SHA-1"))));
    take();
    /* "r=evil,s=QQ==,i=1": a nonce that does not extend ours. */
    ck_assert_int_eq(feed("<challenge xmlns='" XB_NS_SASL
                          "'>cj1ldmlsLHM9UVE9PSxpPTE=</"
                          "challenge>"),
                     XB_ECLOSED);
    assert_closed(XB_EPROTO);
    ck_assert_str_eq(take_raw(), "</stream:stream>");
}
END_TEST

START_TEST(test_session_legacy_session)
{
    const struct xb_stanza *c;
    char xml[128];

    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    take();
    server_says(SUCCESS);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND F_SESSION), "res",
              "user@localhost/res");
    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert(xb_stanza_is(out.el[0], XB_NS_CLIENT, "iq"));
    wt_assert_attr(out.el[0], "type", "set");
    c = xb_stanza_child(out.el[0], NULL, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert(xb_stanza_is(c, XB_NS_SESSION, "session"));
    ck_assert_int_eq(host.nready, 0);
    snprintf(xml, sizeof xml, "<iq type='result' id='%s'/>",
             xb_stanza_attr(out.el[0], NULL, "id"));
    server_says(xml);
    step_ready("user@localhost/res", 1);
}
END_TEST

START_TEST(test_session_legacy_session_optional)
{
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    take();
    server_says(SUCCESS);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND F_SESSION_OPTIONAL), "res",
              "user@localhost/res");
    step_ready("user@localhost/res", 1);
}
END_TEST

START_TEST(test_session_legacy_session_refused)
{
    char xml[160];

    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    take();
    server_says(SUCCESS);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND F_SESSION), "res",
              "user@localhost/res");
    take();
    ck_assert_int_eq(out.nel, 1);
    snprintf(xml, sizeof xml,
             "<iq type='error' id='%s'><error type='cancel'>"
             "<internal-server-error xmlns='" XB_NS_STANZA_ERRORS
             "'/></error></iq>",
             xb_stanza_attr(out.el[0], NULL, "id"));
    ck_assert_int_eq(feed(xml), XB_ECLOSED);
    assert_closed(XB_EPROTO);
    ck_assert_int_eq(host.nready, 0);
}
END_TEST

START_TEST(test_session_server_assigned_resource)
{
    cfg.jid = "user@localhost";
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    take();
    server_says(SUCCESS);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND), NULL, "user@localhost/srv-4711");
    step_ready("user@localhost/srv-4711", 1);
}
END_TEST

static const char *bind_answer;

static int bind_answer_scenario(void)
{
    int rc = xb_session_feed(sess, bind_answer, strlen(bind_answer));

    if (rc != XB_ECLOSED)
        return 2;
    if (host.nclosed != 1 || host.closed_err != XB_EPROTO)
        return 3;
    return host.nready == 0 ? 0 : 4;
}

/* Reaches the point where the bind IQ is out, then lets the server give
 * answer to it in a child process. */
static void check_bind_answer(const char *answer_xml)
{
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    take();
    server_says(SUCCESS);
    expect_header();
    server_says(SERVER_HEADER FEATURES(F_BIND));
    take();
    ck_assert_int_eq(out.nel, 1);
    wt_assert_attr(out.el[0], "id", "bind_1");
    bind_answer = answer_xml;
    isolated(bind_answer_scenario, answer_xml);
}

START_TEST(test_session_bind_refused)
{
    check_bind_answer("<iq type='error' id='bind_1'><error type='modify'>"
                      "<bad-request xmlns='" XB_NS_STANZA_ERRORS
                      "'/></error></iq>");
}
END_TEST

START_TEST(test_session_bind_result_empty)
{
    check_bind_answer("<iq type='result' id='bind_1'/>");
}
END_TEST

START_TEST(test_session_bind_result_no_jid)
{
    check_bind_answer("<iq type='result' id='bind_1'><bind xmlns='" XB_NS_BIND
                      "'/></iq>");
}
END_TEST

START_TEST(test_session_bind_result_bad_jid)
{
    check_bind_answer("<iq type='result' id='bind_1'><bind xmlns='" XB_NS_BIND
                      "'><jid>@@</jid></bind></iq>");
}
END_TEST

START_TEST(test_session_no_bind_offered)
{
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    take();
    server_says(SUCCESS);
    expect_header();
    ck_assert_int_eq(feed(SERVER_HEADER FEATURES("")), XB_ECLOSED);
    assert_closed(XB_EPROTO);
}
END_TEST

START_TEST(test_session_no_presence)
{
    cfg.no_presence = 1;
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    take();
    server_says(SUCCESS);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND), "res", "user@localhost/res");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nready, 1);
}
END_TEST

START_TEST(test_session_stream_error_conflict)
{
    make_ready();
    ck_assert_int_eq(feed("<stream:error><conflict xmlns='" XB_NS_STREAM_ERRORS
                          "'/><text xmlns='" XB_NS_STREAM_ERRORS
                          "'>Replaced</text>"
                          "</stream:error>"),
                     XB_ECLOSED);
    assert_closed(XB_ECLOSED);
    ck_assert_int_eq(xb_session_stream_cond(sess), XB_COND_CONFLICT);
    wt_assert_has(host.closed_msg, "conflict");
    wt_assert_has(host.closed_msg, "Replaced");
    assert_sent_close_only();
    /* The server's own close afterwards changes nothing. */
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

START_TEST(test_session_stream_error_unknown)
{
    new_session();
    expect_header();
    ck_assert_int_eq(feed(SERVER_HEADER
                          "<stream:error><frobbed xmlns='" XB_NS_STREAM_ERRORS
                          "'/></stream:error>"),
                     XB_ECLOSED);
    assert_closed(XB_ECLOSED);
    ck_assert_int_eq(xb_session_stream_cond(sess), XB_COND_UNDEFINED_CONDITION);
    assert_sent_close_only();
}
END_TEST

START_TEST(test_session_server_closes)
{
    new_session();
    expect_header();
    ck_assert_int_eq(feed(SERVER_HEADER "</stream:stream>"), XB_ECLOSED);
    assert_closed(XB_ECLOSED);
    assert_sent_close_only();
}
END_TEST

START_TEST(test_session_not_well_formed)
{
    make_ready();
    ck_assert_int_eq(feed("<message><body>hi</message>"), XB_ECLOSED);
    assert_closed(XB_EXML);
    assert_sent_stream_error(XB_COND_NOT_WELL_FORMED);
    ck_assert_int_eq(feed("<presence/>"), XB_ECLOSED);
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_int_eq(host.nkept, 0);
}
END_TEST

START_TEST(test_session_not_well_formed_bytes)
{
    wire.split = TU_BYTES;
    new_session();
    expect_header();
    ck_assert_int_eq(feed(SERVER_HEADER "<a></b>"), XB_ECLOSED);
    assert_closed(XB_EXML);
    assert_sent_stream_error(XB_COND_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_session_restricted_xml)
{
    new_session();
    expect_header();
    ck_assert_int_eq(feed(SERVER_HEADER "<!-- hello -->"), XB_ECLOSED);
    assert_closed(XB_EXML);
    assert_sent_stream_error(XB_COND_RESTRICTED_XML);
}
END_TEST

START_TEST(test_session_unsupported_version)
{
    new_session();
    expect_header();
    ck_assert_int_eq(feed("<?xml version='1.0'?><stream:stream "
                          "xmlns='jabber:client' xmlns:stream='" XB_NS_STREAMS
                          "' from='localhost' id='x' version='0.9'>"),
                     XB_ECLOSED);
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_int_lt(host.closed_err, 0);
    wt_assert_has(host.closed_msg, "0.9");
    assert_sent_stream_error(XB_COND_UNSUPPORTED_VERSION);
}
END_TEST

START_TEST(test_session_missing_version)
{
    new_session();
    expect_header();
    ck_assert_int_eq(feed("<stream:stream xmlns='jabber:client' "
                          "xmlns:stream='" XB_NS_STREAMS "' id='x'>"),
                     XB_ECLOSED);
    ck_assert_int_eq(host.nclosed, 1);
    assert_sent_stream_error(XB_COND_UNSUPPORTED_VERSION);
}
END_TEST

START_TEST(test_session_invalid_namespace)
{
    new_session();
    expect_header();
    ck_assert_int_eq(feed("<stream:stream xmlns='jabber:server' "
                          "xmlns:stream='" XB_NS_STREAMS
                          "' id='x' version='1.0'>"),
                     XB_ECLOSED);
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_int_lt(host.closed_err, 0);
    assert_sent_stream_error(XB_COND_INVALID_NAMESPACE);
}
END_TEST

START_TEST(test_session_stanza_too_big)
{
    cfg.limits.max_stanza_bytes = 200;
    make_ready();
    ck_assert_int_eq(feed("<message><body>"
                          "0123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789"
                          "</body></message>"),
                     XB_ECLOSED);
    assert_closed(XB_ELIMIT);
    assert_sent_stream_error(XB_COND_POLICY_VIOLATION);
    ck_assert_int_eq(host.nkept, 0);
}
END_TEST

/* IQ requests are the host's bot's to answer (core/bot.c has the rules,
 * check_bot.c tests them): the session hands them over and says nothing. */
START_TEST(test_session_iq_requests_go_to_the_host)
{
    make_ready();
    server_says("<iq type='get' id='p1' from='localhost' "
                "to='user@localhost/res'><ping xmlns='urn:xmpp:ping'/></iq>"
                "<iq type='set' id='q1' from='alice@localhost/x'>"
                "<query xmlns='jabber:iq:version'/></iq>");
    take();
    ck_assert_int_eq(out.nel, 0);
    ck_assert_int_eq(host.nkept, 2);
    ck_assert(xb_stanza_is(host.kept[0], XB_NS_CLIENT, "iq"));
    wt_assert_attr(host.kept[0], "id", "p1");
    wt_assert_attr(host.kept[1], "type", "set");
}
END_TEST

START_TEST(test_session_stanzas_routed)
{
    make_ready();
    server_says("<message from='alice@localhost/x' type='chat'>"
                "<body>hi</body></message>"
                "<presence from='alice@localhost/x'/>"
                "<iq type='result' id='nobody'/>"
                "<r xmlns='urn:xmpp:sm:3'/>");
    ck_assert_int_eq(host.nkept, 3);
    ck_assert(xb_stanza_is(host.kept[0], XB_NS_CLIENT, "message"));
    ck_assert_pstr_eq(xb_stanza_child_text(host.kept[0], NULL, "body"), "hi");
    ck_assert(xb_stanza_is(host.kept[1], XB_NS_CLIENT, "presence"));
    wt_assert_attr(host.kept[1], "from", "alice@localhost/x");
    ck_assert(xb_stanza_is(host.kept[2], XB_NS_CLIENT, "iq"));
    wt_assert_attr(host.kept[2], "id", "nobody");
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

START_TEST(test_session_send_only_when_ready)
{
    struct xb_stanza *m = xb_stanza_new(XB_NS_CLIENT, "message");

    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(xb_stanza_set_attr(m, NULL, "to", "alice@localhost"), 0);
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    ck_assert_int_eq(xb_session_send(sess, m), XB_ESTATE);
    login_plain(1);
    ck_assert_int_eq(xb_session_send(sess, m), 0);
    ck_assert_str_eq(take_raw(), "<message to='alice@localhost'/>");
    xb_session_close(sess);
    take_raw();
    ck_assert_int_eq(xb_session_send(sess, m), XB_ESTATE);
    xb_session_abort(sess, "gone");
    ck_assert_int_eq(xb_session_send(sess, m), XB_ESTATE);
    ck_assert_str_eq(take_raw(), "");
    xb_stanza_free(m);
}
END_TEST

static void iq_cb(void *cb_ud, const struct xb_stanza *st)
{
    struct cb_rec *r = cb_ud;

    r->calls++;
    if (!st) {
        r->nulls++;
        return;
    }
    xb_stanza_free(r->st);
    r->st = xb_stanza_copy(st);
    ck_assert_ptr_nonnull(r->st);
}

static struct xb_stanza *version_iq(void)
{
    struct xb_stanza *iq = xb_stanza_new(XB_NS_CLIENT, "iq");

    ck_assert_ptr_nonnull(iq);
    ck_assert_int_eq(xb_stanza_set_attr(iq, NULL, "type", "get"), 0);
    ck_assert_int_eq(xb_stanza_set_attr(iq, NULL, "to", "localhost"), 0);
    ck_assert_ptr_nonnull(
        xb_stanza_add_child(iq, "jabber:iq:version", "query"));
    return iq;
}

/* Sends a tracked IQ whose callback records into cbs[i]. */
static int send_tracked(int i)
{
    struct xb_stanza *iq = version_iq();
    const char *id;
    int rc;

    rc = xb_session_send_iq(sess, iq, iq_cb, &cbs[i]);
    id = xb_stanza_attr(iq, NULL, "id");
    snprintf(cbs[i].id, sizeof cbs[i].id, "%s", id ? id : "");
    xb_stanza_free(iq);
    return rc;
}

static void answer(int i, const char *type)
{
    char xml[128];

    snprintf(xml, sizeof xml, "<iq type='%s' id='%s' from='localhost'/>", type,
             cbs[i].id);
    server_says(xml);
}

START_TEST(test_session_iq_result)
{
    cfg.iq_timeout_ms = 5000;
    make_ready();
    ck_assert_int_eq(send_tracked(0), 0);
    ck_assert_str_ne(cbs[0].id, "");
    take();
    ck_assert_int_eq(out.nel, 1);
    wt_assert_attr(out.el[0], "id", cbs[0].id);
    wt_assert_attr(out.el[0], "type", "get");
    ck_assert(xb_stanza_is(xb_stanza_child(out.el[0], NULL, NULL),
                           "jabber:iq:version", "query"));
    ck_assert_int_eq(host.timer, 5000);
    answer(0, "result");
    ck_assert_int_eq(cbs[0].calls, 1);
    ck_assert_int_eq(cbs[0].nulls, 0);
    wt_assert_attr(cbs[0].st, "type", "result");
    wt_assert_attr(cbs[0].st, "id", cbs[0].id);
    ck_assert_int_eq(host.nkept, 0);
    ck_assert_int_eq(host.timer, -1);
    /* A second answer is not a response to anything any more. */
    answer(0, "result");
    ck_assert_int_eq(cbs[0].calls, 1);
    ck_assert_int_eq(host.nkept, 1);
}
END_TEST

START_TEST(test_session_iq_error_response)
{
    make_ready();
    ck_assert_int_eq(send_tracked(0), 0);
    answer(0, "error");
    ck_assert_int_eq(cbs[0].calls, 1);
    wt_assert_attr(cbs[0].st, "type", "error");
}
END_TEST

START_TEST(test_session_iq_ids_unique)
{
    make_ready();
    ck_assert_int_eq(send_tracked(0), 0);
    ck_assert_int_eq(send_tracked(1), 0);
    ck_assert_str_ne(cbs[0].id, cbs[1].id);
    answer(1, "result");
    ck_assert_int_eq(cbs[0].calls, 0);
    ck_assert_int_eq(cbs[1].calls, 1);
}
END_TEST

START_TEST(test_session_iq_not_ready)
{
    struct xb_stanza *iq = version_iq();

    new_session();
    ck_assert_int_eq(xb_session_send_iq(sess, iq, iq_cb, &cbs[0]), XB_ESTATE);
    xb_stanza_free(iq);
    expect_header();
    ck_assert_int_eq(cbs[0].calls, 0);
}
END_TEST

START_TEST(test_session_iq_timeout)
{
    cfg.iq_timeout_ms = 5000;
    make_ready();
    ck_assert_int_eq(send_tracked(0), 0);
    take();
    host.clock += 4999;
    xb_session_timer(sess);
    ck_assert_int_eq(cbs[0].calls, 0);
    ck_assert_int_eq(host.timer, 1);
    host.clock += 1;
    xb_session_timer(sess);
    ck_assert_int_eq(cbs[0].calls, 1);
    ck_assert_int_eq(cbs[0].nulls, 1);
    ck_assert_int_eq(host.timer, -1);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_READY);
    /* The late answer goes to the stanza hook, not to the callback. */
    answer(0, "result");
    ck_assert_int_eq(cbs[0].calls, 1);
    ck_assert_int_eq(host.nkept, 1);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

START_TEST(test_session_iq_limit)
{
    int i;

    make_ready();
    for (i = 0; i < XB_SESSION_MAX_IQS; i++)
        ck_assert_int_eq(send_tracked(i), 0);
    take();
    ck_assert_int_eq(out.nel, XB_SESSION_MAX_IQS);
    ck_assert_int_eq(send_tracked(XB_SESSION_MAX_IQS), XB_ELIMIT);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(cbs[XB_SESSION_MAX_IQS].calls, 0);
    /* A slot frees up when its answer arrives. */
    answer(3, "result");
    ck_assert_int_eq(send_tracked(XB_SESSION_MAX_IQS), 0);
}
END_TEST

START_TEST(test_session_iq_pending_on_close)
{
    int i;

    make_ready();
    for (i = 0; i < XB_SESSION_MAX_IQS; i++)
        ck_assert_int_eq(send_tracked(i), 0);
    xb_session_abort(sess, "connection reset");
    assert_closed(XB_ECLOSED);
    for (i = 0; i < XB_SESSION_MAX_IQS; i++) {
        ck_assert_int_eq(cbs[i].calls, 1);
        ck_assert_int_eq(cbs[i].nulls, 1);
    }
}
END_TEST

START_TEST(test_session_iq_pending_on_stream_error)
{
    make_ready();
    ck_assert_int_eq(send_tracked(0), 0);
    ck_assert_int_eq(
        feed("<stream:error><system-shutdown xmlns='" XB_NS_STREAM_ERRORS
             "'/></stream:error>"),
        XB_ECLOSED);
    ck_assert_int_eq(cbs[0].calls, 1);
    ck_assert_int_eq(cbs[0].nulls, 1);
    assert_closed(XB_ECLOSED);
    ck_assert_int_eq(xb_session_stream_cond(sess), XB_COND_SYSTEM_SHUTDOWN);
}
END_TEST

START_TEST(test_session_iq_timer_nearest)
{
    cfg.iq_timeout_ms = 5000;
    make_ready();
    ck_assert_int_eq(host.timer, -1);
    ck_assert_int_eq(send_tracked(0), 0);
    ck_assert_int_eq(host.timer, 5000);
    host.clock += 1000;
    ck_assert_int_eq(send_tracked(1), 0);
    ck_assert_int_eq(host.timer, 4000);
    host.clock += 1000;
    answer(0, "result");
    ck_assert_int_eq(host.timer, 4000);
    host.clock += 4000;
    xb_session_timer(sess);
    ck_assert_int_eq(cbs[1].nulls, 1);
    ck_assert_int_eq(host.timer, -1);
}
END_TEST

/* session.h: "An id is set if st has none." */
/* session.h: the tracker puts its own id on a tracked IQ, so an id the
 * caller chose is replaced and answers are matched on the session's. */
START_TEST(test_session_iq_replaces_caller_id)
{
    struct xb_stanza *iq = version_iq();
    const char *id;
    char xml[128];

    make_ready();
    ck_assert_int_eq(xb_stanza_set_attr(iq, NULL, "id", "mine-1"), 0);
    ck_assert_int_eq(xb_session_send_iq(sess, iq, iq_cb, &cbs[0]), 0);
    id = xb_stanza_attr(iq, NULL, "id");
    ck_assert_str_ne(id, "mine-1");
    take();
    ck_assert_int_eq(out.nel, 1);
    wt_assert_attr(out.el[0], "id", id);
    server_says("<iq type='result' id='mine-1' from='localhost'/>");
    ck_assert_int_eq(cbs[0].calls, 0);
    snprintf(xml, sizeof xml, "<iq type='result' id='%s' from='localhost'/>",
             id);
    xb_stanza_free(iq);
    server_says(xml);
    ck_assert_int_eq(cbs[0].calls, 1);
    ck_assert_int_eq(cbs[0].nulls, 0);
}
END_TEST

/* RFC 6120 8.1.3: a response carries the very id of its request. */
START_TEST(test_session_iq_id_exact_match)
{
    static const char *const near[] = {"xb0", "xb00", "xb ", "xb+", "xb0x"};
    char id[32], xml[128];
    size_t i;

    make_ready();
    ck_assert_int_eq(send_tracked(0), 0);
    ck_assert_int_eq(strncmp(cbs[0].id, "xb", 2), 0);
    for (i = 0; i < sizeof near / sizeof near[0]; i++) {
        snprintf(id, sizeof id, "%s%.20s", near[i], cbs[0].id + 2);
        snprintf(xml, sizeof xml, "<iq type='result' id='%s'/>", id);
        server_says(xml);
        ck_assert_msg(cbs[0].calls == 0, "id '%s' answered '%s'", id,
                      cbs[0].id);
    }
    answer(0, "result");
    ck_assert_int_eq(cbs[0].calls, 1);
}
END_TEST

START_TEST(test_session_iq_callback_sends_iq)
{
    make_ready();
    ck_assert_int_eq(send_tracked(0), 0);
    answer(0, "result");
    /* From the stanza hook's point of view, the session is still usable
     * right after a callback: send another one. */
    ck_assert_int_eq(send_tracked(1), 0);
    answer(1, "result");
    ck_assert_int_eq(cbs[1].calls, 1);
}
END_TEST

/* The keepalive ping the session just sent; its id is copied to id. */
static void expect_ping(char *id, size_t idsz)
{
    const struct xb_stanza *c;

    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert(xb_stanza_is(out.el[0], XB_NS_CLIENT, "iq"));
    wt_assert_attr(out.el[0], "type", "get");
    wt_assert_attr(out.el[0], "to", "localhost");
    c = xb_stanza_child(out.el[0], NULL, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert(xb_stanza_is(c, XB_NS_PING, "ping"));
    ck_assert_ptr_nonnull(xb_stanza_attr(out.el[0], NULL, "id"));
    snprintf(id, idsz, "%s", xb_stanza_attr(out.el[0], NULL, "id"));
}

START_TEST(test_session_keepalive_timeout)
{
    char id[32];

    cfg.keepalive_ms = 10000;
    cfg.iq_timeout_ms = 5000;
    make_ready();
    ck_assert_int_eq(host.timer, 10000);
    host.clock += 9999;
    xb_session_timer(sess);
    ck_assert_str_eq(take_raw(), "");
    host.clock += 1;
    xb_session_timer(sess);
    expect_ping(id, sizeof id);
    ck_assert_int_eq(host.timer, 5000);
    host.clock += 5000;
    xb_session_timer(sess);
    assert_closed(XB_ETIMEOUT);
    assert_sent_close_only();
}
END_TEST

START_TEST(test_session_keepalive_answered)
{
    char id[32], xml[128];

    cfg.keepalive_ms = 10000;
    cfg.iq_timeout_ms = 5000;
    make_ready();
    host.clock += 10000;
    xb_session_timer(sess);
    expect_ping(id, sizeof id);
    host.clock += 2000;
    snprintf(xml, sizeof xml, "<iq type='result' id='%s' from='localhost'/>",
             id);
    server_says(xml);
    ck_assert_int_eq(host.nkept, 0);
    ck_assert_int_eq(host.timer, 10000);
    host.clock += 5000;
    xb_session_timer(sess);
    ck_assert_int_eq(host.nclosed, 0);
    ck_assert_str_eq(take_raw(), "");
    host.clock += 5000;
    xb_session_timer(sess);
    expect_ping(id, sizeof id);
    /* An error answer also proves the server is alive. */
    snprintf(xml, sizeof xml, "<iq type='error' id='%s' from='localhost'/>",
             id);
    server_says(xml);
    host.clock += 9000;
    xb_session_timer(sess);
    ck_assert_int_eq(host.nclosed, 0);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_READY);
}
END_TEST

START_TEST(test_session_keepalive_traffic_postpones)
{
    char id[32];

    cfg.keepalive_ms = 10000;
    make_ready();
    host.clock += 6000;
    server_says(" ");
    ck_assert_int_eq(host.timer, 10000);
    host.clock += 4000;
    xb_session_timer(sess);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.timer, 6000);
    host.clock += 6000;
    xb_session_timer(sess);
    expect_ping(id, sizeof id);
}
END_TEST

/* A host re-arms its timer with whatever set_timer said: 0 again and again
 * would spin the event loop. */
START_TEST(test_session_keepalive_no_busy_loop_at_limit)
{
    int i;

    cfg.keepalive_ms = 10000;
    cfg.iq_timeout_ms = 30000;
    make_ready();
    for (i = 0; i < XB_SESSION_MAX_IQS; i++)
        ck_assert_int_eq(send_tracked(i), 0);
    take();
    host.clock += 10000;
    xb_session_timer(sess);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_gt(host.timer, 0);
}
END_TEST

START_TEST(test_session_login_timeout)
{
    cfg.login_timeout_ms = 3000;
    new_session();
    ck_assert_int_eq(host.timer, 3000);
    expect_header();
    server_says(SERVER_HEADER);
    ck_assert_int_eq(host.timer, 3000);
    host.clock += 2999;
    xb_session_timer(sess);
    ck_assert_int_eq(host.nclosed, 0);
    host.clock += 1;
    xb_session_timer(sess);
    assert_closed(XB_ETIMEOUT);
    assert_sent_stream_error(XB_COND_CONNECTION_TIMEOUT);
}
END_TEST

START_TEST(test_session_login_timeout_during_tls)
{
    cfg.login_timeout_ms = 3000;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(F_STARTTLS));
    server_says(PROCEED);
    take_raw();
    host.clock += 3000;
    xb_session_timer(sess);
    assert_closed(XB_ETIMEOUT);
    /* Mid-handshake the transport is not XML: nothing is written. */
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

START_TEST(test_session_close_clean)
{
    make_ready();
    xb_session_close(sess);
    assert_sent_close_only();
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_CLOSING);
    ck_assert_int_eq(host.nclosed, 0);
    ck_assert_int_eq(host.timer, 2000);
    xb_session_close(sess);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    assert_closed(0);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

START_TEST(test_session_close_timeout)
{
    cfg.close_timeout_ms = 500;
    make_ready();
    xb_session_close(sess);
    assert_sent_close_only();
    ck_assert_int_eq(host.timer, 500);
    host.clock += 499;
    xb_session_timer(sess);
    ck_assert_int_eq(host.nclosed, 0);
    host.clock += 1;
    xb_session_timer(sess);
    assert_closed(0);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

START_TEST(test_session_close_answers_pending)
{
    make_ready();
    ck_assert_int_eq(send_tracked(0), 0);
    ck_assert_int_eq(send_tracked(1), 0);
    xb_session_close(sess);
    take_raw();
    /* Responses in flight still reach their callbacks... */
    answer(0, "result");
    ck_assert_int_eq(cbs[0].calls, 1);
    ck_assert_int_eq(cbs[0].nulls, 0);
    /* ...and the ones that never come learn that the session ended. */
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    assert_closed(0);
    ck_assert_int_eq(cbs[1].nulls, 1);
}
END_TEST

/* Once our </stream:stream> is out, nothing more may follow it. */
START_TEST(test_session_close_then_garbage)
{
    make_ready();
    xb_session_close(sess);
    assert_sent_close_only();
    feed("<<<");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_CLOSED);
}
END_TEST

/* The server pings while our close is on its way: no pong after it. */
START_TEST(test_session_close_then_ping)
{
    make_ready();
    xb_session_close(sess);
    assert_sent_close_only();
    server_says("<iq type='get' id='p9' from='localhost'>"
                "<ping xmlns='urn:xmpp:ping'/></iq>");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    assert_closed(0);
}
END_TEST

/* The host closes during login while the server's <success/> is in
 * flight: the close stands, nothing follows it, the peer's close ends it. */
START_TEST(test_session_close_during_login)
{
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("PLAIN"))));
    take();
    xb_session_close(sess);
    assert_sent_close_only();
    feed(SUCCESS);
    ck_assert_str_eq(take_raw(), "");
    feed("</stream:stream>");
    assert_closed(0);
    ck_assert_int_eq(host.nready, 0);
}
END_TEST

START_TEST(test_session_abort_once)
{
    make_ready();
    xb_session_abort(sess, "connection reset by peer");
    assert_closed(XB_ECLOSED);
    ck_assert_str_eq(host.closed_msg, "connection reset by peer");
    ck_assert_str_eq(take_raw(), "");
    xb_session_abort(sess, "again");
    xb_session_close(sess);
    xb_session_timer(sess);
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_str_eq(host.closed_msg, "connection reset by peer");
    ck_assert_int_eq(xb_session_feed(sess, S("<presence/>")), XB_ECLOSED);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

START_TEST(test_session_abort_idle)
{
    sess = xb_session_new(&cfg, &hooks, &host);
    ck_assert_ptr_nonnull(sess);
    xb_session_abort(sess, "nothing");
    xb_session_close(sess);
    xb_session_timer(sess);
    ck_assert_int_eq(host.nclosed, 0);
    ck_assert_int_eq(xb_session_feed(sess, S("<a/>")), XB_ESTATE);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

START_TEST(test_session_restart_after_close)
{
    make_ready();
    xb_session_abort(sess, "reset");
    assert_closed(XB_ECLOSED);
    ck_assert_int_eq(xb_session_start(sess), 0);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_CONNECTING);
    ck_assert_int_eq(xb_session_stream_cond(sess), XB_COND_NONE);
    login_plain(2);
    ck_assert_int_eq(host.nclosed, 1);
    xb_session_close(sess);
    assert_sent_close_only();
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    ck_assert_int_eq(host.nclosed, 2);
    ck_assert_int_eq(host.closed_err, 0);
}
END_TEST

START_TEST(test_session_restart_after_failure)
{
    new_session();
    expect_header();
    ck_assert_int_eq(feed(SERVER_HEADER "<a></b>"), XB_ECLOSED);
    ck_assert_int_eq(host.nclosed, 1);
    take();
    ck_assert_int_eq(xb_session_start(sess), 0);
    ck_assert_int_eq(xb_session_stream_cond(sess), XB_COND_NONE);
    expect_header();
    step_tls();
    server_says(SERVER_HEADER FEATURES(ALL_MECHS));
    ck_assert_int_eq(scram_server("SCRAM-SHA-256", 0), 0);
    expect_header();
    step_bind(SERVER_HEADER FEATURES(F_BIND), "res", "user@localhost/res");
    step_ready("user@localhost/res", 1);
}
END_TEST

static int restart_in_closed_scenario(void)
{
    static const char err[] = SERVER_HEADER
        "<stream:error><reset xmlns='" XB_NS_STREAM_ERRORS "'/></stream:error>";

    host.restart_in_closed = 1;
    xb_session_feed(sess, err, strlen(err));
    if (host.nclosed != 1)
        return 2;
    if (host.restart_rc == XB_ESTATE)
        return 0; /* refused: acceptable, the host retries later */
    if (host.restart_rc != 0)
        return 3;
    /* Accepted: a new stream must be open and usable. */
    if (xb_session_state(sess) != XB_SESSION_CONNECTING)
        return 4;
    if (xb_session_feed(sess, SERVER_HEADER, strlen(SERVER_HEADER)))
        return 5;
    return host.nclosed == 1 ? 0 : 6;
}

/* A host that reconnects at once may call xb_session_start() from its
 * closed hook, here while the session is inside a feed. */
START_TEST(test_session_restart_from_closed_hook)
{
    new_session();
    expect_header();
    isolated(restart_in_closed_scenario, "xb_session_start() in closed hook");
}
END_TEST

START_TEST(test_session_trace_redacts_scram)
{
    const char *t;

    cfg.password = "pencil-secret";
    new_session();
    login_tls_scram();
    ck_assert_int_eq(xb_buf_puts(&wire.trace, ""), 0);
    t = wire.trace.data;
    ck_assert_ptr_nonnull(t);
    wt_assert_has(t, "> <?xml version='1.0'?><stream:stream");
    wt_assert_has(t, "< <stream:stream from='localhost' id='s1'>");
    wt_assert_has(t, "< <stream:features>");
    wt_assert_has(t, "> " STARTTLS_OUT);
    wt_assert_has(t, "< " PROCEED);
    wt_assert_has(t, "> <auth xmlns='" XB_NS_SASL
                     "' mechanism='SCRAM-SHA-256'>[redacted]</auth>");
    wt_assert_has(t,
                  "< <challenge xmlns='" XB_NS_SASL "'>[redacted]</challenge>");
    wt_assert_has(t,
                  "> <response xmlns='" XB_NS_SASL "'>[redacted]</response>");
    wt_assert_has(t, "< <success xmlns='" XB_NS_SASL "'>[redacted]</success>");
    wt_assert_has(t, "> <presence/>");
    wt_assert_has(t, "< <iq type='result'");
    ck_assert_str_ne(client_first_b64, "");
    wt_assert_lacks(t, client_first_b64);
    wt_assert_lacks(t, server_first_b64);
    wt_assert_lacks(t, client_final_b64);
    wt_assert_lacks(t, server_final_b64);
    wt_assert_lacks(t, "pencil");
    wt_assert_lacks(t, SCRAM_SNONCE);
    /* The SASL payloads did go out, just not to the console. */
    wt_assert_has(wire.sent.data, client_first_b64);
}
END_TEST

START_TEST(test_session_trace_redacts_plain)
{
    make_ready();
    ck_assert_int_eq(xb_buf_puts(&wire.trace, ""), 0);
    wt_assert_has(wire.trace.data, "> <auth xmlns='" XB_NS_SASL
                                   "' mechanism='PLAIN'>[redacted]</auth>");
    wt_assert_lacks(wire.trace.data, "AHVzZXIAcHc=");
    wt_assert_has(wire.sent.data, "AHVzZXIAcHc=");
}
END_TEST

START_TEST(test_session_trace_optional)
{
    struct xb_session_hooks quiet = hooks;

    quiet.trace = NULL;
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session_with(&quiet);
    login_plain(1);
    server_says("<iq type='get' id='p1' from='localhost'>"
                "<ping xmlns='urn:xmpp:ping'/></iq>");
    ck_assert_int_eq(wire.ntrace, 0);
}
END_TEST

START_TEST(test_session_features_twice)
{
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(F_STARTTLS));
    take();
    ck_assert_int_eq(out.nel, 1);
    feed(FEATURES(ALL_MECHS));
    /* Never negotiate twice, never fall back to SASL in the clear. */
    take();
    ck_assert_int_eq(out.nel, host.nclosed ? 1 : 0);
    ck_assert_int_le(host.nclosed, 1);
    if (host.nclosed) {
        ck_assert(xb_stanza_is(out.el[0], XB_NS_STREAMS, "error"));
        return;
    }
    server_says(PROCEED);
    ck_assert_int_eq(host.starttls, 1);
    xb_session_tls_ready(sess);
    expect_header();
    server_says(SERVER_HEADER FEATURES(ALL_MECHS));
    take();
    ck_assert_int_eq(out.nel, 1);
    feed(FEATURES(ALL_MECHS));
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_le(host.nclosed, 1);
}
END_TEST

START_TEST(test_session_success_before_auth)
{
    new_session();
    expect_header();
    ck_assert_int_eq(feed(SERVER_HEADER SUCCESS), XB_ECLOSED);
    assert_closed(XB_EPROTO);
    ck_assert_int_eq(host.nready, 0);
    take();
    ck_assert_int_eq(out.headers, 0);
    ck_assert_int_eq(out.closes, 1);
}
END_TEST

START_TEST(test_session_success_while_starttls)
{
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(F_STARTTLS));
    take();
    ck_assert_int_eq(feed(SUCCESS), XB_ECLOSED);
    assert_closed(XB_EPROTO);
    ck_assert_int_eq(host.starttls, 0);
    ck_assert_int_eq(xb_session_secure(sess), 0);
}
END_TEST

START_TEST(test_session_unexpected_proceed)
{
    cfg.tls = XB_TLS_NONE;
    new_session();
    expect_header();
    server_says(SERVER_HEADER FEATURES(MECHS(MECH("SCRAM-SHA-1"))));
    take();
    ck_assert_int_eq(feed(PROCEED), XB_ECLOSED);
    assert_closed(XB_EPROTO);
    ck_assert_int_eq(host.starttls, 0);
}
END_TEST

START_TEST(test_session_proceed_when_ready)
{
    make_ready();
    ck_assert_int_eq(feed(PROCEED), XB_ECLOSED);
    assert_closed(XB_EPROTO);
    ck_assert_int_eq(host.starttls, 0);
}
END_TEST

START_TEST(test_session_bind_result_early)
{
    cfg.tls = XB_TLS_NONE;
    new_session();
    expect_header();
    /* A bind result out of the blue, before authentication. */
    feed(SERVER_HEADER "<iq type='result' id='bind_1'><bind xmlns='" XB_NS_BIND
                       "'><jid>user@localhost/res</jid></bind></iq>");
    ck_assert_int_eq(host.nready, 0);
    ck_assert_int_le(host.nclosed, 1);
}
END_TEST

/* --- stream management (XEP-0198) ----------------------------------------- */

#define F_SM "<sm xmlns='" XB_NS_SM "'/>"
#define SM_FEATURES SERVER_HEADER FEATURES(F_BIND F_SM)
#define ENABLE_RESUME "<enable xmlns='" XB_NS_SM "' resume='true'/>"
#define ENABLED_ABC "<enabled xmlns='" XB_NS_SM "' id='abc' resume='true'/>"
#define R_OUT "<r xmlns='" XB_NS_SM "'/>"
#define SERVER_R "<r xmlns='" XB_NS_SM "'/>"
#define SM_A(h) "<a xmlns='" XB_NS_SM "' h='" h "'/>"
#define RESUME_ABC(h) "<resume xmlns='" XB_NS_SM "' previd='abc' h='" h "'/>"
#define RESUMED_ABC(h) "<resumed xmlns='" XB_NS_SM "' previd='abc' h='" h "'/>"
/* The chat message numbered body (a literal) as the client writes it. */
#define CHAT(body)                                                             \
    "<message to='alice@localhost' type='chat'><body>" body "</body>"          \
    "</message>"
#define HANDLED_TOO_HIGH(h, sent)                                              \
    "<stream:error><undefined-condition xmlns='" XB_NS_STREAM_ERRORS           \
    "'/><handled-count-too-high xmlns='" XB_NS_SM "' h='" h                    \
    "' send-count='" sent "'/></stream:error></stream:stream>"
#define INBOUND_CHAT                                                           \
    "<message from='alice@localhost/x' type='chat'><body>in</body></message>"

/* A message to alice with a numbered body; type NULL: none. */
static struct xb_stanza *sm_message(const char *type, const char *body)
{
    struct xb_stanza *m = xb_stanza_new(XB_NS_CLIENT, "message"), *b;

    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(xb_stanza_set_attr(m, NULL, "to", "alice@localhost"), 0);
    if (type)
        ck_assert_int_eq(xb_stanza_set_attr(m, NULL, "type", type), 0);
    b = xb_stanza_add_child(m, NULL, "body");
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(xb_stanza_add_text(b, body, strlen(body)), 0);
    return m;
}

/* xb_session_send of a message; its result. */
static int sm_send(const char *type, const char *body)
{
    struct xb_stanza *m = sm_message(type, body);
    int rc = xb_session_send(sess, m);

    xb_stanza_free(m);
    return rc;
}

static int sm_send_chat(const char *body)
{
    return sm_send("chat", body);
}

/* What a chat message numbered body looks like on the wire (CHAT for a
 * literal). */
static const char *chat_xml(const char *body)
{
    static char xml[160];

    snprintf(xml, sizeof xml, CHAT("%s"), body);
    return xml;
}

/* The client wrote exactly xml since the last take. */
static void assert_wrote(const char *xml)
{
    ck_assert_str_eq(take_raw(), xml);
}

/* Sends the chat messages numbered first..last; each goes out at once,
 * exactly as chat_xml() says. */
static void send_chats(int first, int last)
{
    char body[12];
    int i;

    for (i = first; i <= last; i++) {
        snprintf(body, sizeof body, "%d", i);
        ck_assert_int_eq(sm_send_chat(body), 0);
        assert_wrote(chat_xml(body));
    }
}

/* el is the chat message numbered body. */
static void assert_chat(const struct xb_stanza *el, const char *body)
{
    assert_xml(el, chat_xml(body));
}

/* A new session logs in and binds on a server offering SM; the client's
 * only words after binding are exactly enable, and it is not ready yet. */
static void sm_bound(const char *enable)
{
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    auth_plain();
    step_bind(SM_FEATURES, "res", "user@localhost/res");
    expect_sent(enable, NULL);
    ck_assert_int_eq(host.nready, 0);
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_CONNECTING);
}

/* SM enabled and resumable (id 'abc'); initial presence is stanza #1. */
static struct xb_sm *sm_ready(void)
{
    struct xb_sm *sm;

    sm_bound(ENABLE_RESUME);
    server_says(ENABLED_ABC);
    step_ready("user@localhost/res", 1);
    ck_assert_int_eq(host.nresumed, 0);
    sm = xb_session_sm(sess);
    ck_assert_uint_eq(xb_sm_out(sm), 1);
    ck_assert_uint_eq(sm->in, 0);
    return sm;
}

/* The server asks for an ack; the client answers exactly h. */
static void expect_answer(const char *h)
{
    char want[64];

    snprintf(want, sizeof want, "<a xmlns='" XB_NS_SM "' h='%s'/>", h);
    server_says(SERVER_R);
    assert_wrote(want);
}

/* After a cut, the host reconnects: a new stream, SASL, and the features
 * after SASL (f). */
static void sm_reconnect(const char *f)
{
    ck_assert_int_eq(xb_session_start(sess), 0);
    auth_plain();
    server_says(f);
}

/* The bind IQ went out (and nothing else); the server binds the same JID. */
static void answer_bind(void)
{
    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert(xb_stanza_is(out.el[0], XB_NS_CLIENT, "iq"));
    wt_assert_attr(out.el[0], "type", "set");
    assert_xml(xb_stanza_first(out.el[0]),
               "<bind xmlns='" XB_NS_BIND "'><resource>res</resource></bind>");
    server_says("<iq type='result' id='bind_1'><bind xmlns='" XB_NS_BIND
                "'><jid>user@localhost/res</jid></bind></iq>");
}

/*
 * The scene for the resumption tests: SM enabled with id 'abc'; the server
 * sent 2 chat messages (our h is 2); the client sent presence (#1) and chat
 * messages 1..5 (#2..#6); the server acknowledged 3 (presence, 1, 2); the
 * connection was cut; while down the bot sent chat message 6 (queued).
 */
static struct xb_sm *sm_cut_scene(void)
{
    struct xb_sm *sm = sm_ready();

    server_says(INBOUND_CHAT INBOUND_CHAT);
    ck_assert_int_eq(host.nkept, 2);
    send_chats(1, 5);
    server_says(SM_A("3"));
    ck_assert_uint_eq(sm->qlen, 3);
    ck_assert_str_eq(take_raw(), "");
    xb_session_abort(sess, "connection reset by peer");
    assert_closed(XB_ECLOSED);
    ck_assert_int_eq(xb_session_resumable(sess), 1);
    ck_assert_int_eq(sm_send_chat("6"), 0);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_uint_eq(sm->qlen, 4);
    ck_assert_uint_eq(xb_sm_out(sm), 7);
    return sm;
}

START_TEST(test_session_sm_enable_enabled)
{
    struct xb_sm *sm;

    sm_bound(ENABLE_RESUME);
    sm = xb_session_sm(sess);
    ck_assert_uint_eq(sm->stats.enabled, 0);
    /* No stanza API before <enabled/>. */
    ck_assert_int_eq(sm_send_chat("early"), XB_ESTATE);
    ck_assert_str_eq(take_raw(), "");
    server_says("<enabled xmlns='" XB_NS_SM "' id='abc' resume='true' "
                "max='120'/>");
    step_ready("user@localhost/res", 1);
    ck_assert_int_eq(host.nresumed, 0);
    ck_assert_uint_eq(sm->stats.enabled, 1);
    ck_assert_uint_eq(sm->on, 1);
    ck_assert_pstr_eq(sm->id, "abc");
    ck_assert_uint_eq(sm->max_s, 120);
    ck_assert_uint_eq(sm->qlen, 1);
    ck_assert_uint_eq(xb_sm_out(sm), 1);
    ck_assert_int_eq(host.nnotes, 0);
}
END_TEST

START_TEST(test_session_sm_enable_max)
{
    cfg.sm_resume_s = 300;
    sm_bound("<enable xmlns='" XB_NS_SM "' resume='true' max='300'/>");
    server_says(ENABLED_ABC);
    step_ready("user@localhost/res", 1);
    ck_assert_pstr_eq(xb_session_sm(sess)->id, "abc");
}
END_TEST

/* Acks only: no resume asked, and an id offered anyway is not kept. */
START_TEST(test_session_sm_enable_ack_only)
{
    struct xb_sm *sm;

    cfg.sm = XB_SM_ACK;
    sm_bound("<enable xmlns='" XB_NS_SM "'/>");
    server_says(ENABLED_ABC);
    step_ready("user@localhost/res", 1);
    sm = xb_session_sm(sess);
    ck_assert_uint_eq(sm->stats.enabled, 1);
    ck_assert_ptr_null(sm->id);
    ck_assert_uint_eq(sm->qlen, 1);
    expect_answer("0");
    xb_session_abort(sess, "reset");
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    ck_assert_int_eq(sm_send_chat("1"), XB_ESTATE);
}
END_TEST

START_TEST(test_session_sm_not_offered)
{
    struct xb_sm *sm;

    make_ready();
    sm = xb_session_sm(sess);
    ck_assert_uint_eq(sm->stats.enabled, 0);
    ck_assert_uint_eq(sm->on, 0);
    ck_assert_int_eq(sm_send_chat("1"), 0);
    assert_wrote(CHAT("1"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->qbytes, 0);
    xb_session_abort(sess, "reset");
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    ck_assert_int_eq(host.nnotes, 0);
}
END_TEST

START_TEST(test_session_sm_off)
{
    struct xb_sm *sm;

    cfg.sm = XB_SM_OFF;
    cfg.tls = XB_TLS_NONE;
    cfg.allow_plain = 1;
    new_session();
    auth_plain();
    step_bind(SM_FEATURES, "res", "user@localhost/res");
    step_ready("user@localhost/res", 1);
    sm = xb_session_sm(sess);
    ck_assert_uint_eq(sm->stats.enabled, 0);
    ck_assert_int_eq(sm_send_chat("1"), 0);
    assert_wrote(CHAT("1"));
    ck_assert_uint_eq(sm->qlen, 0);
    /* An <r/> on a stream without SM is ignored, as before XEP-0198. */
    server_says(SERVER_R);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nclosed, 0);
}
END_TEST

START_TEST(test_session_sm_enable_refused)
{
    struct xb_sm *sm;

    sm_bound(ENABLE_RESUME);
    server_says("<failed xmlns='" XB_NS_SM "'><feature-not-implemented "
                "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
    step_ready("user@localhost/res", 1);
    ck_assert_int_eq(host.nresumed, 0);
    sm = xb_session_sm(sess);
    ck_assert_uint_eq(sm->stats.refused, 1);
    ck_assert_uint_eq(sm->stats.enabled, 0);
    ck_assert_uint_eq(sm->on, 0);
    ck_assert_ptr_null(sm->id);
    ck_assert_int_eq(host.nnotes, 1);
    wt_assert_has(host.note, "refused stream management");
    /* Nothing counted either way afterwards. */
    ck_assert_int_eq(sm_send_chat("1"), 0);
    assert_wrote(CHAT("1"));
    server_says(INBOUND_CHAT SERVER_R);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->in, 0);
    ck_assert_uint_eq(xb_sm_out(sm), 0);
    xb_session_abort(sess, "reset");
    ck_assert_int_eq(xb_session_resumable(sess), 0);
}
END_TEST

/* Only <iq/>, <message/> and <presence/> count, both ways; inbound from
 * <enabled/>, outbound from <enable/>; nonzas never. */
START_TEST(test_session_sm_counting)
{
    struct xb_sm *sm;

    sm_bound(ENABLE_RESUME);
    sm = xb_session_sm(sess);
    /* Before <enabled/>: not counted. */
    server_says(INBOUND_CHAT);
    ck_assert_uint_eq(sm->in, 0);
    server_says(ENABLED_ABC);
    step_ready("user@localhost/res", 1);
    ck_assert_uint_eq(sm->in, 0);
    expect_answer("0");
    server_says(INBOUND_CHAT);
    expect_answer("1");
    server_says("<presence from='alice@localhost/x'/>"
                "<iq type='get' id='v1' from='alice@localhost/x'>"
                "<query xmlns='jabber:iq:version'/></iq>");
    /* A stanza in another namespace and SM's own nonzas do not count. */
    server_says(SM_A("0") "<foo xmlns='urn:example:nonza'/>");
    expect_answer("3");
    ck_assert_uint_eq(sm->in, 3);
    ck_assert_uint_eq(sm->stats.answers, 3);
    /* The presence after <enabled/> is #1; <r/> and <a/> did not count. */
    ck_assert_uint_eq(xb_sm_out(sm), 1);
    ck_assert_int_eq(sm_send_chat("1"), 0);
    assert_wrote(CHAT("1"));
    ck_assert_int_eq(send_tracked(0), 0);
    take();
    ck_assert_int_eq(out.nel, 1);
    ck_assert(xb_stanza_is(out.el[0], XB_NS_CLIENT, "iq"));
    ck_assert_uint_eq(xb_sm_out(sm), 3);
    ck_assert_uint_eq(sm->qlen, 3);
    server_says(SM_A("3"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->qbytes, 0);
    ck_assert_uint_eq(sm->stats.acks, 2);
    ck_assert_uint_eq(sm->stats.acked, 3);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nclosed, 0);
}
END_TEST

/* After sm_ack_every stanzas since the last request, an <r/> follows. */
START_TEST(test_session_sm_request_every_n)
{
    struct xb_sm *sm = sm_ready();

    /* Presence is #1: messages 1..8 make 9. */
    send_chats(1, 8);
    ck_assert_uint_eq(sm->stats.requests, 0);
    ck_assert_int_eq(sm_send_chat("9"), 0);
    expect_sent(CHAT("9"), R_OUT, NULL);
    ck_assert_uint_eq(sm->stats.requests, 1);
    ck_assert_uint_eq(sm->requested, 10);
    /* The next request comes 10 stanzas after that one, acked or not. */
    server_says(SM_A("10"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->qbytes, 0);
    send_chats(10, 18);
    ck_assert_int_eq(sm_send_chat("19"), 0);
    expect_sent(CHAT("19"), R_OUT, NULL);
    ck_assert_uint_eq(sm->stats.requests, 2);
}
END_TEST

START_TEST(test_session_sm_request_every_configured)
{
    struct xb_sm *sm;

    cfg.sm_ack_every = 2;
    sm = sm_ready();
    ck_assert_int_eq(sm_send_chat("1"), 0);
    expect_sent(CHAT("1"), R_OUT, NULL);
    ck_assert_uint_eq(sm->requested, 2);
    ck_assert_int_eq(sm_send_chat("2"), 0);
    assert_wrote(CHAT("2"));
}
END_TEST

/* Fewer than sm_ack_every unacked: the timer asks after sm_ack_ms. */
START_TEST(test_session_sm_request_after_quiet)
{
    struct xb_sm *sm = sm_ready();

    /* The presence waits for an ack. */
    ck_assert_int_eq(host.timer, 1000);
    host.clock += 999;
    xb_session_timer(sess);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.timer, 1);
    host.clock += 1;
    xb_session_timer(sess);
    assert_wrote(R_OUT);
    ck_assert_uint_eq(sm->stats.requests, 1);
    /* Asked already: nothing more to wait for. */
    ck_assert_int_eq(host.timer, -1);
    host.clock += 5000;
    xb_session_timer(sess);
    ck_assert_str_eq(take_raw(), "");
    server_says(SM_A("1"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->qbytes, 0);
    ck_assert_int_eq(host.timer, -1);
}
END_TEST

START_TEST(test_session_sm_request_after_quiet_configured)
{
    cfg.sm_ack_ms = 250;
    sm_ready();
    ck_assert_int_eq(host.timer, 250);
    host.clock += 250;
    xb_session_timer(sess);
    assert_wrote(R_OUT);
}
END_TEST

/* Nothing unacknowledged: no <r/>, however long the quiet. */
START_TEST(test_session_sm_no_request_when_acked)
{
    struct xb_sm *sm = sm_ready();

    server_says(SM_A("1"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_int_eq(host.timer, -1);
    host.clock += 60000;
    xb_session_timer(sess);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_uint_eq(sm->stats.requests, 0);
}
END_TEST

/* A stanza the bot sends on a quiet, fully acked stream still gets its
 * ack asked for after sm_ack_ms: the send arms the timer. */
START_TEST(test_session_sm_request_after_send)
{
    struct xb_sm *sm = sm_ready();

    server_says(SM_A("1"));
    ck_assert_int_eq(host.timer, -1);
    host.clock += 5000;
    ck_assert_int_eq(sm_send_chat("1"), 0);
    assert_wrote(CHAT("1"));
    ck_assert_int_eq(host.timer, 1000);
    host.clock += 1000;
    xb_session_timer(sess);
    assert_wrote(R_OUT);
    ck_assert_uint_eq(sm->requested, 2);
}
END_TEST

/* The timer measures quiet from the last stanza sent. */
START_TEST(test_session_sm_request_quiet_from_last)
{
    sm_ready();
    ck_assert_int_eq(host.timer, 1000);
    host.clock += 600;
    ck_assert_int_eq(sm_send_chat("1"), 0);
    assert_wrote(CHAT("1"));
    host.clock += 400;
    xb_session_timer(sess);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.timer, 600);
    host.clock += 600;
    xb_session_timer(sess);
    assert_wrote(R_OUT);
}
END_TEST

START_TEST(test_session_sm_ack_frees)
{
    struct xb_sm *sm = sm_ready();
    size_t one;

    one = sm->qbytes;
    ck_assert_uint_gt(one, strlen("<presence/>"));
    ck_assert_int_eq(sm_send_chat("1"), 0);
    ck_assert_int_eq(sm_send_chat("2"), 0);
    take();
    ck_assert_uint_eq(sm->qlen, 3);
    ck_assert_uint_gt(sm->qbytes, one + 2 * strlen(CHAT("1")));
    server_says(SM_A("2"));
    ck_assert_uint_eq(sm->qlen, 1);
    ck_assert_uint_eq(sm->acked, 2);
    /* The same h again acknowledges nothing more. */
    server_says(SM_A("2"));
    ck_assert_uint_eq(sm->qlen, 1);
    server_says(SM_A("3"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->qbytes, 0);
    ck_assert_uint_eq(sm->stats.acked, 3);
    ck_assert_uint_eq(sm->stats.acks, 3);
    ck_assert_str_eq(take_raw(), "");
}
END_TEST

/* A clean close tells the server what we handled first. */
START_TEST(test_session_sm_close_acks)
{
    struct xb_sm *sm = sm_ready();

    server_says(INBOUND_CHAT INBOUND_CHAT);
    ck_assert_int_eq(sm_send_chat("1"), 0);
    take();
    xb_session_close(sess);
    assert_wrote("<a xmlns='" XB_NS_SM "' h='2'/></stream:stream>");
    /* The server's last ack still counts; nothing is answered any more. */
    server_says(SM_A("2") SERVER_R);
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(feed("</stream:stream>"), XB_ECLOSED);
    assert_closed(0);
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_ptr_null(sm->id);
}
END_TEST

/* Without SM, a close is only the close. */
START_TEST(test_session_sm_close_without_sm)
{
    make_ready();
    xb_session_close(sess);
    assert_sent_close_only();
}
END_TEST

START_TEST(test_session_sm_h_too_high)
{
    struct xb_sm *sm = sm_ready();

    ck_assert_int_eq(sm_send_chat("1"), 0);
    take();
    ck_assert_int_eq(feed(SM_A("3")), XB_ECLOSED);
    assert_wrote(HANDLED_TOO_HIGH("3", "2"));
    ck_assert_int_eq(xb_session_stream_cond(sess), XB_COND_UNDEFINED_CONDITION);
    assert_closed(XB_EPROTO);
    wt_assert_has(host.closed_msg, "handled-count-too-high");
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->stats.lost, 2);
}
END_TEST

/* An ack for more than was sent, after our </stream:stream>: the stream
 * fails, and nothing follows our close, not even the stream error with
 * handled-count-too-high, which was written there (fuzz_session: "a write
 * after our </stream:stream>"). */
START_TEST(test_session_sm_h_too_high_after_close)
{
    struct xb_sm *sm = sm_ready();

    ck_assert_int_eq(sm_send_chat("1"), 0);
    take();
    xb_session_close(sess);
    assert_wrote("<a xmlns='" XB_NS_SM "' h='0'/></stream:stream>");
    ck_assert_int_eq(feed(SM_A("3")), XB_ECLOSED);
    ck_assert_str_eq(take_raw(), "");
    assert_closed(XB_EPROTO);
    wt_assert_has(host.closed_msg, "handled-count-too-high");
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    ck_assert_uint_eq(sm->qlen, 0);
}
END_TEST

/* Counters are modulo 2^32 (XEP-0198 4): out wraps 0xFFFFFFFE -> 1. */
START_TEST(test_session_sm_wrap_out)
{
    struct xb_sm *sm;

    cfg.sm_ack_every = 3;
    sm = sm_ready();
    server_says(SM_A("1"));
    ck_assert_uint_eq(sm->qlen, 0);
    sm->acked = sm->in = sm->requested = 0xFFFFFFFEu;
    ck_assert_int_eq(sm_send_chat("1"), 0);
    assert_wrote(CHAT("1"));
    ck_assert_int_eq(sm_send_chat("2"), 0);
    assert_wrote(CHAT("2"));
    ck_assert_int_eq(sm_send_chat("3"), 0);
    expect_sent(CHAT("3"), R_OUT, NULL);
    ck_assert_uint_eq(xb_sm_out(sm), 1);
    ck_assert_uint_eq(sm->requested, 1);
    server_says(SM_A("1"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->qbytes, 0);
    ck_assert_uint_eq(sm->acked, 1);
    ck_assert_uint_eq(sm->stats.acked, 4);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nclosed, 0);
}
END_TEST

START_TEST(test_session_sm_wrap_in)
{
    struct xb_sm *sm = sm_ready();

    sm->in = 0xFFFFFFFEu;
    server_says(INBOUND_CHAT);
    expect_answer("4294967295");
    server_says(INBOUND_CHAT INBOUND_CHAT);
    expect_answer("1");
    ck_assert_uint_eq(sm->in, 1);
}
END_TEST

/* Just below the wrap, an h past what was sent is still too high. */
START_TEST(test_session_sm_wrap_h_too_high)
{
    struct xb_sm *sm = sm_ready();

    server_says(SM_A("1"));
    sm->acked = sm->in = sm->requested = 0xFFFFFFFEu;
    ck_assert_int_eq(sm_send_chat("1"), 0);
    ck_assert_int_eq(sm_send_chat("2"), 0);
    ck_assert_int_eq(sm_send_chat("3"), 0);
    take();
    ck_assert_int_eq(feed(SM_A("2")), XB_ECLOSED);
    assert_wrote(HANDLED_TOO_HIGH("2", "1"));
    assert_closed(XB_EPROTO);
}
END_TEST

/* Resume with partial acks: what the server missed goes out again, in
 * order, exactly once; presence and binding are not repeated. */
START_TEST(test_session_sm_resume)
{
    struct xb_sm *sm = sm_cut_scene();

    ck_assert_uint_eq(sm->qsent, 3);
    sm_reconnect(SM_FEATURES);
    expect_sent(RESUME_ABC("2"), NULL);
    ck_assert_int_eq(host.nready, 1);
    /* While resuming, the bot's stanzas still wait in the queue. */
    ck_assert_int_eq(sm_send_chat("7"), 0);
    ck_assert_str_eq(take_raw(), "");
    server_says(RESUMED_ABC("4"));
    expect_sent(CHAT("4"), CHAT("5"), CHAT("6"), CHAT("7"), R_OUT, NULL);
    ck_assert_int_eq(host.nready, 2);
    ck_assert_int_eq(host.nresumed, 1);
    ck_assert_str_eq(host.ready_jid, "user@localhost/res");
    ck_assert_int_eq(xb_session_state(sess), XB_SESSION_READY);
    ck_assert_uint_eq(sm->stats.resumes, 1);
    ck_assert_uint_eq(sm->stats.resent, 2);
    ck_assert_uint_eq(sm->stats.lost, 0);
    ck_assert_uint_eq(sm->stats.duplicated, 0);
    ck_assert_uint_eq(sm->stats.resume_failures, 0);
    ck_assert_uint_eq(sm->stats.enabled, 1);
    ck_assert_uint_eq(sm->on, 1);
    ck_assert_uint_eq(sm->qlen, 4);
    ck_assert_uint_eq(sm->qsent, 4);
    ck_assert_uint_eq(sm->requested, 8);
    ck_assert_pstr_eq(sm->id, "abc");
    ck_assert_int_eq(host.nnotes, 0);
    /* Counters carry over, both ways. */
    server_says(INBOUND_CHAT);
    expect_answer("3");
    server_says(SM_A("8"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->qbytes, 0);
    ck_assert_int_eq(sm_send_chat("8"), 0);
    assert_wrote(CHAT("8"));
    ck_assert_uint_eq(xb_sm_out(sm), 9);
    ck_assert_int_eq(host.nclosed, 1);
}
END_TEST

/* The server had everything: nothing resent, no <r/>. */
START_TEST(test_session_sm_resume_all_acked)
{
    struct xb_sm *sm = sm_ready();

    ck_assert_int_eq(sm_send_chat("1"), 0);
    take();
    xb_session_abort(sess, "reset");
    sm_reconnect(SM_FEATURES);
    expect_sent(RESUME_ABC("0"), NULL);
    server_says(RESUMED_ABC("2"));
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nresumed, 1);
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->stats.resent, 0);
    ck_assert_int_eq(host.timer, -1);
}
END_TEST

/* A second cut after a resumption resumes again from where it was. */
START_TEST(test_session_sm_resume_twice)
{
    struct xb_sm *sm = sm_cut_scene();

    sm_reconnect(SM_FEATURES);
    take();
    server_says(RESUMED_ABC("4"));
    take();
    ck_assert_int_eq(out.nel, 4);
    xb_session_abort(sess, "reset again");
    ck_assert_int_eq(host.nclosed, 2);
    ck_assert_int_eq(xb_session_resumable(sess), 1);
    sm_reconnect(SM_FEATURES);
    expect_sent(RESUME_ABC("2"), NULL);
    server_says(RESUMED_ABC("6"));
    expect_sent(CHAT("6"), R_OUT, NULL);
    ck_assert_uint_eq(sm->stats.resumes, 2);
    ck_assert_uint_eq(sm->stats.resent, 2 + 1);
    ck_assert_int_eq(host.nresumed, 2);
    ck_assert_int_eq(host.nready, 3);
}
END_TEST

/* The scene of sm_cut_scene, plus a groupchat message sent before the cut
 * (#7) and a presence queued while down: queue 3, 4, 5, g, 6, p. */
static struct xb_sm *sm_cut_scene_mixed(void)
{
    struct xb_sm *sm = sm_ready();
    struct xb_stanza *p;
    char body[4];
    int i, rc;

    server_says(INBOUND_CHAT INBOUND_CHAT);
    for (i = 1; i <= 5; i++) {
        snprintf(body, sizeof body, "%d", i);
        ck_assert_int_eq(sm_send_chat(body), 0);
    }
    ck_assert_int_eq(sm_send("groupchat", "g"), 0);
    take();
    ck_assert_int_eq(out.nel, 6);
    server_says(SM_A("3"));
    xb_session_abort(sess, "connection reset by peer");
    ck_assert_int_eq(sm_send_chat("6"), 0);
    p = xb_stanza_new(XB_NS_CLIENT, "presence");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(xb_stanza_set_attr(p, NULL, "type", "unavailable"), 0);
    rc = xb_session_send(sess, p);
    xb_stanza_free(p);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_uint_eq(sm->qlen, 6);
    ck_assert_uint_eq(sm->qsent, 4);
    sm_reconnect(SM_FEATURES);
    expect_sent(RESUME_ABC("2"), NULL);
    return sm;
}

/* After binding afresh: <enable/>, <enabled id='def'/>, then the chat
 * messages wanted (in order, once each) and one initial presence. */
static void expect_fresh_stream(const char *const *bodies, int n)
{
    int i, m = 0, presences = 0;

    answer_bind();
    expect_sent(ENABLE_RESUME, NULL);
    ck_assert_int_eq(host.nready, 1);
    server_says("<enabled xmlns='" XB_NS_SM "' id='def' resume='true'/>");
    take();
    ck_assert_int_eq(out.nel, n + 1);
    for (i = 0; i < out.nel; i++) {
        if (xb_stanza_is(out.el[i], XB_NS_CLIENT, "presence")) {
            assert_xml(out.el[i], "<presence/>");
            presences++;
        } else {
            ck_assert_int_lt(m, n);
            assert_chat(out.el[i], bodies[m++]);
        }
    }
    ck_assert_int_eq(presences, 1);
    ck_assert_int_eq(m, n);
    ck_assert_int_eq(host.nready, 2);
    ck_assert_int_eq(host.nresumed, 0);
    ck_assert_str_eq(host.ready_jid, "user@localhost/res");
}

/* <failed h/>: h says what the server had; the chat messages it lacked go
 * out on the fresh stream, the rest is counted lost. */
START_TEST(test_session_sm_resume_failed_h)
{
    static const char *const want[] = {"5", "6"};
    struct xb_sm *sm = sm_cut_scene_mixed();

    server_says("<failed xmlns='" XB_NS_SM "' h='5'><item-not-found "
                "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
    ck_assert_uint_eq(sm->stats.resume_failures, 1);
    ck_assert_ptr_null(sm->id);
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    ck_assert_int_ge(host.nnotes, 1);
    wt_assert_has(host.note, "could not resume");
    expect_fresh_stream(want, 2);
    ck_assert_uint_eq(sm->stats.enabled, 2);
    ck_assert_uint_eq(sm->stats.resent, 1);
    ck_assert_uint_eq(sm->stats.duplicated, 0);
    ck_assert_uint_eq(sm->stats.lost, 2);
    ck_assert_uint_eq(sm->stats.resumes, 0);
    wt_assert_has(host.note, "2 stanzas lost");
    wt_assert_has(host.note, "(0 possibly duplicated)");
    /* The new stream counts from zero: 5, 6, presence. */
    ck_assert_pstr_eq(sm->id, "def");
    ck_assert_uint_eq(sm->qlen, 3);
    ck_assert_uint_eq(xb_sm_out(sm), 3);
    ck_assert_uint_eq(sm->in, 0);
    server_says(SM_A("3"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->qbytes, 0);
    ck_assert_int_eq(host.nclosed, 1);
    ck_assert_str_eq(take_raw(), "");
    xb_session_abort(sess, "reset");
    ck_assert_int_eq(xb_session_resumable(sess), 1);
}
END_TEST

/* <failed/> without h: the chat messages sent before the cut may have
 * arrived: resent and counted possibly duplicated. */
START_TEST(test_session_sm_resume_failed_no_h)
{
    static const char *const want[] = {"3", "4", "5", "6"};
    struct xb_sm *sm = sm_cut_scene_mixed();

    server_says("<failed xmlns='" XB_NS_SM "'/>");
    ck_assert_uint_eq(sm->stats.resume_failures, 1);
    wt_assert_has(host.note, "did not say what it had");
    expect_fresh_stream(want, 4);
    ck_assert_uint_eq(sm->stats.resent, 3);
    ck_assert_uint_eq(sm->stats.duplicated, 3);
    ck_assert_uint_eq(sm->stats.lost, 2);
    wt_assert_has(host.note, "2 stanzas lost");
    wt_assert_has(host.note, "(3 possibly duplicated)");
    ck_assert_uint_eq(sm->qlen, 5);
    ck_assert_pstr_eq(sm->id, "def");
}
END_TEST

/* <failed h/> with an h above what was sent: no better than no h. */
START_TEST(test_session_sm_resume_failed_h_too_high)
{
    static const char *const want[] = {"3", "4", "5", "6"};
    struct xb_sm *sm = sm_cut_scene_mixed();

    server_says("<failed xmlns='" XB_NS_SM "' h='99'/>");
    expect_fresh_stream(want, 4);
    ck_assert_uint_eq(sm->stats.duplicated, 3);
    ck_assert_uint_eq(sm->stats.lost, 2);
}
END_TEST

/* Resumption fails, then the fresh stream refuses SM: the chat messages
 * still go out (uncounted), the rest is lost. */
START_TEST(test_session_sm_resume_failed_then_refused)
{
    struct xb_sm *sm = sm_cut_scene_mixed();

    server_says("<failed xmlns='" XB_NS_SM "' h='5'/>");
    answer_bind();
    expect_sent(ENABLE_RESUME, NULL);
    server_says("<failed xmlns='" XB_NS_SM "'/>");
    expect_sent(CHAT("5"), CHAT("6"), "<presence/>", NULL);
    ck_assert_int_eq(host.nready, 2);
    ck_assert_int_eq(host.nresumed, 0);
    ck_assert_uint_eq(sm->stats.refused, 1);
    ck_assert_uint_eq(sm->stats.resume_failures, 1);
    ck_assert_uint_eq(sm->stats.resent, 1);
    ck_assert_uint_eq(sm->stats.duplicated, 0);
    ck_assert_uint_eq(sm->stats.lost, 2);
    ck_assert_uint_eq(sm->on, 0);
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_ptr_null(sm->id);
    wt_assert_has(host.note, "2 stanzas lost");
}
END_TEST

/* The server kept the stream for max seconds; past that, no <resume/>. */
START_TEST(test_session_sm_resume_time_up)
{
    static const char *const want[] = {"1"};
    struct xb_sm *sm;

    sm_bound(ENABLE_RESUME);
    server_says("<enabled xmlns='" XB_NS_SM "' id='abc' resume='true' "
                "max='60'/>");
    step_ready("user@localhost/res", 1);
    sm = xb_session_sm(sess);
    ck_assert_uint_eq(sm->max_s, 60);
    ck_assert_int_eq(sm_send_chat("1"), 0);
    take();
    xb_session_abort(sess, "reset");
    host.clock += 59999;
    ck_assert_int_eq(xb_session_resumable(sess), 1);
    host.clock += 1;
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    host.clock += 1000;
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    sm_reconnect(SM_FEATURES);
    ck_assert_uint_eq(sm->stats.resume_failures, 1);
    ck_assert_int_eq(host.nnotes, 1);
    wt_assert_has(host.note, "time is up");
    ck_assert_ptr_null(sm->id);
    expect_fresh_stream(want, 1);
    ck_assert_uint_eq(sm->stats.resent, 1);
    ck_assert_uint_eq(sm->stats.duplicated, 1);
    ck_assert_uint_eq(sm->stats.lost, 1);
}
END_TEST

/* After the cut the server no longer offers SM: bind afresh, settle. */
START_TEST(test_session_sm_resume_not_offered)
{
    struct xb_sm *sm = sm_ready();

    ck_assert_int_eq(sm_send_chat("1"), 0);
    take();
    xb_session_abort(sess, "reset");
    ck_assert_int_eq(sm_send_chat("2"), 0);
    ck_assert_int_eq(xb_session_start(sess), 0);
    auth_plain();
    step_bind(SERVER_HEADER FEATURES(F_BIND), "res", "user@localhost/res");
    expect_sent(CHAT("1"), CHAT("2"), "<presence/>", NULL);
    ck_assert_int_eq(host.nready, 2);
    ck_assert_int_eq(host.nresumed, 0);
    ck_assert_uint_eq(sm->stats.resume_failures, 1);
    ck_assert_uint_eq(sm->stats.resent, 1);
    ck_assert_uint_eq(sm->stats.duplicated, 1);
    ck_assert_uint_eq(sm->stats.lost, 1);
    ck_assert_uint_eq(sm->on, 0);
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_ptr_null(sm->id);
    ck_assert_int_eq(host.nnotes, 2);
    wt_assert_has(host.note, "1 stanzas lost");
    xb_session_abort(sess, "reset");
    ck_assert_int_eq(xb_session_resumable(sess), 0);
}
END_TEST

/* Resumption is off (acks only): a cut stream is settled on the next. */
START_TEST(test_session_sm_resume_mode_ack)
{
    struct xb_sm *sm;

    cfg.sm = XB_SM_ACK;
    sm_bound("<enable xmlns='" XB_NS_SM "'/>");
    server_says(ENABLED_ABC);
    step_ready("user@localhost/res", 1);
    sm = xb_session_sm(sess);
    xb_session_abort(sess, "reset");
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    sm_reconnect(SM_FEATURES);
    answer_bind();
    expect_sent("<enable xmlns='" XB_NS_SM "'/>", NULL);
    ck_assert_uint_eq(sm->stats.resume_failures, 0);
}
END_TEST

START_TEST(test_session_sm_queue_bound)
{
    struct xb_sm *sm;

    cfg.sm_queue_max = 3;
    sm = sm_ready();
    server_says(SM_A("1"));
    ck_assert_int_eq(sm_send_chat("1"), 0);
    ck_assert_int_eq(sm_send_chat("2"), 0);
    ck_assert_int_eq(sm_send_chat("3"), 0);
    take();
    ck_assert_int_eq(out.nel, 3);
    ck_assert_int_eq(host.nnotes, 0);
    ck_assert_int_eq(sm_send_chat("4"), XB_ELIMIT);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nnotes, 1);
    wt_assert_has(host.note, "queue full");
    ck_assert_int_eq(sm_send_chat("5"), XB_ELIMIT);
    ck_assert_int_eq(send_tracked(0), XB_ELIMIT);
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nnotes, 1);
    ck_assert_uint_eq(sm->stats.refused_full, 3);
    ck_assert_uint_eq(sm->qlen, 3);
    ck_assert_uint_eq(xb_sm_out(sm), 4);
    server_says(SM_A("2"));
    ck_assert_int_eq(sm_send_chat("4"), 0);
    assert_wrote(CHAT("4"));
    ck_assert_uint_eq(xb_sm_out(sm), 5);
    ck_assert_int_eq(sm_send_chat("5"), XB_ELIMIT);
    ck_assert_int_eq(host.nnotes, 2);
}
END_TEST

/* The bound holds while the stream is down too. */
START_TEST(test_session_sm_queue_bound_while_down)
{
    struct xb_sm *sm;

    cfg.sm_queue_max = 2;
    sm = sm_ready();
    xb_session_abort(sess, "reset");
    ck_assert_int_eq(sm_send_chat("1"), 0);
    ck_assert_int_eq(sm_send_chat("2"), XB_ELIMIT);
    ck_assert_int_eq(host.nnotes, 1);
    ck_assert_uint_eq(sm->qlen, 2);
}
END_TEST

START_TEST(test_session_sm_drop)
{
    struct xb_sm *sm = sm_ready();

    ck_assert_int_eq(sm_send_chat("1"), 0);
    ck_assert_int_eq(sm_send_chat("2"), 0);
    take();
    xb_session_abort(sess, "reset");
    ck_assert_int_eq(sm_send_chat("3"), 0);
    ck_assert_int_eq(xb_session_resumable(sess), 1);
    xb_session_sm_drop(sess);
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    ck_assert_uint_eq(sm->stats.lost, 4);
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_uint_eq(sm->qbytes, 0);
    ck_assert_ptr_null(sm->id);
    ck_assert_int_eq(host.nnotes, 1);
    wt_assert_has(host.note, "4 stanzas");
    ck_assert_int_eq(sm_send_chat("4"), XB_ESTATE);
    /* Again: nothing left to count. */
    xb_session_sm_drop(sess);
    ck_assert_uint_eq(sm->stats.lost, 4);
    ck_assert_int_eq(host.nnotes, 1);
    /* The next login binds afresh and settles nothing. */
    ck_assert_int_eq(xb_session_start(sess), 0);
    auth_plain();
    step_bind(SM_FEATURES, "res", "user@localhost/res");
    expect_sent(ENABLE_RESUME, NULL);
    ck_assert_uint_eq(sm->stats.resume_failures, 0);
    server_says(ENABLED_ABC);
    step_ready("user@localhost/res", 2);
    ck_assert_int_eq(host.nnotes, 1);
    ck_assert_uint_eq(sm->stats.lost, 4);
}
END_TEST

static const char *const bad_a[] = {
    "<a xmlns='" XB_NS_SM "'/>",
    "<a xmlns='" XB_NS_SM "' h=''/>",
    "<a xmlns='" XB_NS_SM "' h='-1'/>",
    "<a xmlns='" XB_NS_SM "' h='4294967296'/>",
    "<a xmlns='" XB_NS_SM "' h='99999999999999999999999'/>",
    "<a xmlns='" XB_NS_SM "' h='12x'/>",
    "<a xmlns='" XB_NS_SM "' h=' 1'/>",
    "<a xmlns='" XB_NS_SM "' h='+1'/>",
    "<a xmlns='" XB_NS_SM "' h='0x1'/>",
};

START_TEST(test_session_sm_a_bad_h)
{
    sm_ready();
    ck_assert_int_eq(feed(bad_a[_i]), XB_ECLOSED);
    assert_sent_stream_error(XB_COND_BAD_FORMAT);
    assert_closed(XB_EPROTO);
}
END_TEST

/* The largest h is fine when that many were sent. */
START_TEST(test_session_sm_a_max_h)
{
    struct xb_sm *sm = sm_ready();

    sm->acked = 0xFFFFFFFEu;
    server_says(SM_A("4294967295"));
    ck_assert_uint_eq(sm->qlen, 0);
    ck_assert_int_eq(host.nclosed, 0);
}
END_TEST

START_TEST(test_session_sm_resumed_bad_h)
{
    sm_cut_scene();
    sm_reconnect(SM_FEATURES);
    take();
    ck_assert_int_eq(feed("<resumed xmlns='" XB_NS_SM "' previd='abc' "
                          "h='4x'/>"),
                     XB_ECLOSED);
    assert_sent_stream_error(XB_COND_BAD_FORMAT);
    ck_assert_int_eq(host.nclosed, 2);
    ck_assert_int_eq(host.closed_err, XB_EPROTO);
    ck_assert_int_eq(host.nready, 1);
}
END_TEST

START_TEST(test_session_sm_resumed_h_too_high)
{
    struct xb_sm *sm = sm_cut_scene();

    sm_reconnect(SM_FEATURES);
    take();
    ck_assert_int_eq(feed("<resumed xmlns='" XB_NS_SM "' previd='abc' "
                          "h='8'/>"),
                     XB_ECLOSED);
    assert_wrote(HANDLED_TOO_HIGH("8", "7"));
    ck_assert_int_eq(host.nclosed, 2);
    ck_assert_int_eq(host.closed_err, XB_EPROTO);
    ck_assert_int_eq(host.nready, 1);
    ck_assert_int_eq(xb_session_resumable(sess), 0);
    ck_assert_uint_eq(sm->stats.lost, 4);
}
END_TEST

/* SM elements out of place are ignored. */
START_TEST(test_session_sm_out_of_place)
{
    struct xb_sm *sm;

    sm_bound(ENABLE_RESUME);
    sm = xb_session_sm(sess);
    /* Before <enabled/>: no answer, no ack taken. */
    server_says(SERVER_R SM_A("5") "<resumed xmlns='" XB_NS_SM
                                   "' previd='x' h='0'/>");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_uint_eq(sm->stats.answers, 0);
    server_says(ENABLED_ABC);
    step_ready("user@localhost/res", 1);
    /* A second <enabled/> or <failed/> once ready changes nothing. */
    server_says("<enabled xmlns='" XB_NS_SM "' id='zzz' resume='true'/>"
                "<failed xmlns='" XB_NS_SM "'/>");
    ck_assert_str_eq(take_raw(), "");
    ck_assert_pstr_eq(sm->id, "abc");
    ck_assert_uint_eq(sm->stats.enabled, 1);
    ck_assert_uint_eq(sm->stats.refused, 0);
    ck_assert_int_eq(host.nready, 1);
    ck_assert_int_eq(host.nclosed, 0);
}
END_TEST

/* The XML console shows the SM elements both ways. */
START_TEST(test_session_sm_trace)
{
    sm_ready();
    server_says(SERVER_R);
    take();
    wt_assert_has(wire.trace.data, "> " ENABLE_RESUME "\n");
    wt_assert_has(wire.trace.data, "< " ENABLED_ABC "\n");
    wt_assert_has(wire.trace.data, "< " SERVER_R "\n");
    wt_assert_has(wire.trace.data, "> <a xmlns='" XB_NS_SM "' h='0'/>\n");
}
END_TEST

/* An <r/> without SM enabled is ignored (as before XEP-0198). */
START_TEST(test_session_sm_r_without_sm)
{
    make_ready();
    server_says(SERVER_R SM_A("7"));
    ck_assert_str_eq(take_raw(), "");
    ck_assert_int_eq(host.nclosed, 0);
    ck_assert_uint_eq(xb_session_sm(sess)->stats.answers, 0);
}
END_TEST

/* The byte-by-byte and random splits change nothing. */
START_TEST(test_session_sm_resume_split)
{
    struct xb_sm *sm;

    wire.split = _i ? TU_RANDOM : TU_BYTES;
    sm = sm_cut_scene();
    sm_reconnect(SM_FEATURES);
    take();
    server_says(RESUMED_ABC("4"));
    take();
    ck_assert_int_eq(out.nel, 4);
    assert_chat(out.el[0], "4");
    assert_chat(out.el[2], "6");
    ck_assert_uint_eq(sm->stats.resumes, 1);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc;

    tc = tcase_create("login");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_session_login_whole);
    tcase_add_test(tc, test_session_login_bytes);
    tcase_add_test(tc, test_session_login_random);
    tcase_add_test(tc, test_session_header_exact);
    tcase_add_test(tc, test_session_new_invalid);
    tcase_add_test(tc, test_session_start_twice);
    tcase_add_test(tc, test_session_scram_sha1);
    tcase_add_test(tc, test_session_scram_cache);
    tcase_add_test(tc, test_session_scram_without_tls);
    tcase_add_test(tc, test_session_plain_refused_without_tls);
    tcase_add_test(tc, test_session_plain_over_tls);
    tcase_add_test(tc, test_session_plain_allowed);
    tcase_add_test(tc, test_session_scram_preferred_to_plain);
    tcase_add_test(tc, test_session_no_usable_mechanism);
    tcase_add_test(tc, test_session_tls_none_ignores_starttls);
    tcase_add_test(tc, test_session_tls_required_not_offered);
    tcase_add_test(tc, test_session_tls_direct);
    tcase_add_test(tc, test_session_tls_switch);
    tcase_add_test(tc, test_session_tls_failure);
    tcase_add_test(tc, test_session_tls_abort);
    tcase_add_test(tc, test_session_scram_wrong_signature);
    tcase_add_test(tc, test_session_scram_success_without_challenge);
    tcase_add_test(tc, test_session_sasl_failure);
    tcase_add_test(tc, test_session_sasl_failure_text_one_line);
    tcase_add_test(tc, test_session_sasl_challenge_not_base64);
    tcase_add_test(tc, test_session_sasl_challenge_garbage);
    tcase_add_test(tc, test_session_legacy_session);
    tcase_add_test(tc, test_session_legacy_session_optional);
    tcase_add_test(tc, test_session_legacy_session_refused);
    tcase_add_test(tc, test_session_server_assigned_resource);
    tcase_add_test(tc, test_session_bind_refused);
    tcase_add_test(tc, test_session_bind_result_empty);
    tcase_add_test(tc, test_session_bind_result_no_jid);
    tcase_add_test(tc, test_session_bind_result_bad_jid);
    tcase_add_test(tc, test_session_no_bind_offered);
    tcase_add_test(tc, test_session_no_presence);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_session_stream_error_conflict);
    tcase_add_test(tc, test_session_stream_error_unknown);
    tcase_add_test(tc, test_session_server_closes);
    tcase_add_test(tc, test_session_not_well_formed);
    tcase_add_test(tc, test_session_not_well_formed_bytes);
    tcase_add_test(tc, test_session_restricted_xml);
    tcase_add_test(tc, test_session_unsupported_version);
    tcase_add_test(tc, test_session_missing_version);
    tcase_add_test(tc, test_session_invalid_namespace);
    tcase_add_test(tc, test_session_stanza_too_big);
    suite_add_tcase(s, tc);

    tc = tcase_create("ready");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_session_iq_requests_go_to_the_host);
    tcase_add_test(tc, test_session_stanzas_routed);
    tcase_add_test(tc, test_session_send_only_when_ready);
    suite_add_tcase(s, tc);

    tc = tcase_create("iq");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_session_iq_result);
    tcase_add_test(tc, test_session_iq_error_response);
    tcase_add_test(tc, test_session_iq_ids_unique);
    tcase_add_test(tc, test_session_iq_not_ready);
    tcase_add_test(tc, test_session_iq_timeout);
    tcase_add_test(tc, test_session_iq_limit);
    tcase_add_test(tc, test_session_iq_pending_on_close);
    tcase_add_test(tc, test_session_iq_pending_on_stream_error);
    tcase_add_test(tc, test_session_iq_timer_nearest);
    tcase_add_test(tc, test_session_iq_replaces_caller_id);
    tcase_add_test(tc, test_session_iq_id_exact_match);
    tcase_add_test(tc, test_session_iq_callback_sends_iq);
    suite_add_tcase(s, tc);

    tc = tcase_create("timers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_session_keepalive_timeout);
    tcase_add_test(tc, test_session_keepalive_answered);
    tcase_add_test(tc, test_session_keepalive_traffic_postpones);
    tcase_add_test(tc, test_session_keepalive_no_busy_loop_at_limit);
    tcase_add_test(tc, test_session_login_timeout);
    tcase_add_test(tc, test_session_login_timeout_during_tls);
    suite_add_tcase(s, tc);

    tc = tcase_create("close");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_session_close_clean);
    tcase_add_test(tc, test_session_close_timeout);
    tcase_add_test(tc, test_session_close_answers_pending);
    tcase_add_test(tc, test_session_close_then_garbage);
    tcase_add_test(tc, test_session_close_then_ping);
    tcase_add_test(tc, test_session_close_during_login);
    tcase_add_test(tc, test_session_abort_once);
    tcase_add_test(tc, test_session_abort_idle);
    tcase_add_test(tc, test_session_restart_after_close);
    tcase_add_test(tc, test_session_restart_after_failure);
    tcase_add_test(tc, test_session_restart_from_closed_hook);
    suite_add_tcase(s, tc);

    tc = tcase_create("trace");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_session_trace_redacts_scram);
    tcase_add_test(tc, test_session_trace_redacts_plain);
    tcase_add_test(tc, test_session_trace_optional);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_session_features_twice);
    tcase_add_test(tc, test_session_success_before_auth);
    tcase_add_test(tc, test_session_success_while_starttls);
    tcase_add_test(tc, test_session_unexpected_proceed);
    tcase_add_test(tc, test_session_proceed_when_ready);
    tcase_add_test(tc, test_session_bind_result_early);
    suite_add_tcase(s, tc);

    tc = tcase_create("sm");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_session_sm_enable_enabled);
    tcase_add_test(tc, test_session_sm_enable_max);
    tcase_add_test(tc, test_session_sm_enable_ack_only);
    tcase_add_test(tc, test_session_sm_not_offered);
    tcase_add_test(tc, test_session_sm_off);
    tcase_add_test(tc, test_session_sm_enable_refused);
    tcase_add_test(tc, test_session_sm_counting);
    tcase_add_test(tc, test_session_sm_wrap_out);
    tcase_add_test(tc, test_session_sm_wrap_in);
    tcase_add_test(tc, test_session_sm_wrap_h_too_high);
    tcase_add_test(tc, test_session_sm_h_too_high);
    tcase_add_test(tc, test_session_sm_h_too_high_after_close);
    tcase_add_test(tc, test_session_sm_a_max_h);
    tcase_add_test(tc, test_session_sm_close_acks);
    tcase_add_test(tc, test_session_sm_close_without_sm);
    tcase_add_test(tc, test_session_sm_queue_bound);
    tcase_add_test(tc, test_session_sm_queue_bound_while_down);
    suite_add_tcase(s, tc);

    tc = tcase_create("sm_acks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_session_sm_request_every_n);
    tcase_add_test(tc, test_session_sm_request_every_configured);
    tcase_add_test(tc, test_session_sm_request_after_quiet);
    tcase_add_test(tc, test_session_sm_request_after_quiet_configured);
    tcase_add_test(tc, test_session_sm_no_request_when_acked);
    tcase_add_test(tc, test_session_sm_request_after_send);
    tcase_add_test(tc, test_session_sm_request_quiet_from_last);
    tcase_add_test(tc, test_session_sm_ack_frees);
    suite_add_tcase(s, tc);

    tc = tcase_create("sm_resume");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_session_sm_resume);
    tcase_add_test(tc, test_session_sm_resume_all_acked);
    tcase_add_test(tc, test_session_sm_resume_twice);
    tcase_add_loop_test(tc, test_session_sm_resume_split, 0, 2);
    tcase_add_test(tc, test_session_sm_resume_failed_h);
    tcase_add_test(tc, test_session_sm_resume_failed_no_h);
    tcase_add_test(tc, test_session_sm_resume_failed_h_too_high);
    tcase_add_test(tc, test_session_sm_resume_failed_then_refused);
    tcase_add_test(tc, test_session_sm_resume_time_up);
    tcase_add_test(tc, test_session_sm_resume_not_offered);
    tcase_add_test(tc, test_session_sm_resume_mode_ack);
    tcase_add_test(tc, test_session_sm_drop);
    suite_add_tcase(s, tc);

    tc = tcase_create("sm_hostile");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_session_sm_a_bad_h, 0,
                        (int)(sizeof bad_a / sizeof bad_a[0]));
    tcase_add_test(tc, test_session_sm_resumed_bad_h);
    tcase_add_test(tc, test_session_sm_resumed_h_too_high);
    tcase_add_test(tc, test_session_sm_out_of_place);
    tcase_add_test(tc, test_session_sm_r_without_sm);
    tcase_add_test(tc, test_session_sm_trace);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return tu_run(session_suite());
}
