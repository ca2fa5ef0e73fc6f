/*
 * libFuzzer target for the client session (plain cc builds it too): a
 * scripted server brings a session to one of several states (byte 0),
 * then the rest of the input is server bytes, cut and interleaved with
 * host calls (0xFF escapes). Whatever the server sends: everything the
 * session writes re-parses in a jabber:client stream; nothing is written
 * after our </stream:stream>, after the closed hook or during TLS; the
 * closed hook runs at most once per start, and feeds fail after it; the
 * stream management queue stays within sm_queue_max with qlen equal to
 * xb_sm_out - acked; every tracked IQ's callback runs exactly once.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "error.h"
#include "parser.h"
#include "sasl.h"
#include "session.h"
#include "sm.h"
#include "stanza.h"
#include "xmpp.h"

#include "fuzzcommon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: byte 0 picks the starting state (enum start), byte 1 the
 * configuration and how server bytes are cut (see fz_config). Then server
 * bytes, in which 0xFF (never a byte of UTF-8) escapes an operation: the
 * next byte picks it (enum op) and some take one more byte as argument.
 * Op SASL takes the bytes up to the next 0xFF as a raw SASL payload,
 * expands "%n" (the client's nonce) and "%v" (the right server
 * signature), and feeds it base64-encoded.
 */
enum start {
    ST_FRESH,          /* stream opened, TLS required */
    ST_STARTTLS,       /* <starttls/> sent */
    ST_TLS,            /* TLS done, the stream restarted */
    ST_PLAIN,          /* <auth mechanism='PLAIN'/> sent */
    ST_SCRAM1,         /* SCRAM-SHA-1 client-first sent */
    ST_SCRAM256,       /* SCRAM-SHA-256 client-first sent */
    ST_SCRAM1_FINAL,   /* server-first given, client-final sent */
    ST_SCRAM256_FINAL, /* the same with SHA-256 */
    ST_BIND,           /* bind IQ sent (stream management offered) */
    ST_SM_ENABLE,      /* <enable/> sent */
    ST_READY_SM,       /* ready, stream management enabled */
    ST_READY,          /* ready, no stream management */
    ST_RESUME,         /* cut with a queue, reconnected, <resume/> sent */
    ST_CUT,            /* cut with a queue, not reconnected */
    ST_COUNT
};

enum op {
    OP_CUT,       /* a feed boundary, nothing else */
    OP_CHAT,      /* the bot sends a chat message */
    OP_PRESENCE,  /* ... a presence */
    OP_GROUPCHAT, /* ... a groupchat message */
    OP_IQ,        /* ... a tracked IQ (xb_session_send_iq) */
    OP_CLOCK,     /* arg * 100 ms pass */
    OP_TIMER,     /* the armed timer fires (the clock moves to it) */
    OP_ABORT,     /* the transport fails */
    OP_START,     /* xb_session_start (a reconnection) */
    OP_CLOSE,     /* xb_session_close */
    OP_TLS_READY, /* the host finished the TLS handshake it was asked for */
    OP_SM_DROP,   /* the host gives up on a cut stream */
    OP_SASL,      /* a raw SASL payload up to the next 0xFF */
    OP_MACRO,     /* arg picks a canned server element (macros[]); one
                     with '#' takes another byte for the number */
    OP_SET_TLS,   /* xb_session_set_tls(arg % 3) */
    OP_ANSWER,    /* the server answers the client's last IQ */
    OP_COUNT
};

#define PASSWORD "fuzz-pw"
/* base64("\0user\0fuzz-pw"): must never reach the console. */
#define PLAIN_B64 "AHVzZXIAZnV6ei1wdw=="
#define SNONCE "srvNonce"
#define SALT "xmppbots-salt-16"
#define ITER 4096
/* Iteration counts above this are cut down by the harness (not by the
 * session, which allows 10^7): PBKDF2 would make runs too slow. */
#define MAX_ITER 9999

#define HDR                                                                    \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "               \
    "xmlns:stream='http://etherx.jabber.org/streams' id='s1' "                 \
    "from='localhost' version='1.0' xml:lang='en'>"
#define FEATURES(body) "<stream:features>" body "</stream:features>"
#define F_STARTTLS "<starttls xmlns='" XB_NS_TLS "'><required/></starttls>"
#define MECH(m) "<mechanism>" m "</mechanism>"
#define MECHS(list) "<mechanisms xmlns='" XB_NS_SASL "'>" list "</mechanisms>"
#define ALL_MECHS MECHS(MECH("PLAIN") MECH("SCRAM-SHA-1") MECH("SCRAM-SHA-256"))
#define F_BIND "<bind xmlns='" XB_NS_BIND "'/>"
#define F_SM "<sm xmlns='" XB_NS_SM "'/>"
#define F_SESSION "<session xmlns='" XB_NS_SESSION "'/>"
#define PROCEED "<proceed xmlns='" XB_NS_TLS "'/>"
#define SUCCESS "<success xmlns='" XB_NS_SASL "'/>"
#define BOUND                                                                  \
    "<iq type='result' id='bind_1'><bind xmlns='" XB_NS_BIND                   \
    "'><jid>user@localhost/res</jid></bind></iq>"
#define ENABLED "<enabled xmlns='" XB_NS_SM "' id='abc' resume='true'/>"
#define INBOUND                                                                \
    "<message from='alice@localhost/x' type='chat'><body>in</body></message>"

/* Canned server elements for OP_MACRO ('#' stands for a count the server
 * acknowledges, which the harness fills in). */
static const char *const macros[] = {
    HDR,
    FEATURES(F_STARTTLS ALL_MECHS),
    FEATURES(ALL_MECHS),
    FEATURES(F_BIND F_SM),
    FEATURES(F_BIND F_SESSION),
    PROCEED,
    SUCCESS,
    BOUND,
    ENABLED,
    "<resumed xmlns='" XB_NS_SM "' previd='abc' h='#'/>",
    "<a xmlns='" XB_NS_SM "' h='#'/>",
    "<r xmlns='" XB_NS_SM "'/>",
    "<failed xmlns='" XB_NS_SM
    "' h='#'><item-not-found xmlns='" XB_NS_STANZA_ERRORS "'/></failed>",
    INBOUND,
    "</stream:stream>",
    "<stream:error><conflict xmlns='" XB_NS_STREAM_ERRORS
    "'/></stream:error></stream:stream>",
    "<iq type='get' id='p1' from='localhost'><ping xmlns='" XB_NS_PING
    "'/></iq>",
    "<iq type='result' id='sess_1'/>",
    "<failure xmlns='" XB_NS_SASL "'><not-authorized/></failure>",
};
#define NMACROS (sizeof macros / sizeof macros[0])

/* The fake host and what the harness knows of the exchange. */
struct fz {
    struct xb_session *s;
    struct xb_session_config cfg;
    int tls_pending;  /* starttls asked, tls_ready not called */
    int in_hook;      /* inside a session hook */
    char iq_id[64];   /* the last IQ id the session wrote */
    int iq_calls[64]; /* callback runs per tracked IQ we sent */
    int niqs;
    /* SCRAM, for %n and %v: the decoded messages of the exchange. */
    char mech[16];
    char cfirst[512]; /* client-first-message-bare */
    char cnonce[512];
    char sfirst[512]; /* the last server-first payload fed */
    char cfinal[512]; /* client-final-message-without-proof */
};

static struct fz fz;
static struct xb_scram_cache *cache;

static void free_cache(void)
{
    xb_scram_cache_free(cache);
    cache = NULL;
}

/* ---- what the session writes ------------------------------------------- */

/* Copies the base64-decoded text of a SASL element into out (NUL
 * terminated, truncated to size); "" if none. */
static void sasl_text(const struct xb_stanza *st, char *out, size_t size)
{
    const char *t = xb_stanza_text(st, NULL);
    struct xb_buf b;

    out[0] = '\0';
    xb_buf_init(&b);
    if (t && strcmp(t, "=") && !xb_base64_decode(&b, t, strlen(t)) && b.data)
        snprintf(out, size, "%s", b.data);
    xb_buf_free(&b);
}

static void out_open(void *ud, const struct xb_stream_header *h)
{
    (void)ud;
    if (!h->content_ns || strcmp(h->content_ns, XB_NS_CLIENT))
        fuzz_die("the session opened a stream not in jabber:client", NULL);
    if (!h->to || strcmp(h->to, "localhost"))
        fuzz_die("the session opened a stream to another domain", h->to);
    if (!h->version || strcmp(h->version, "1.0"))
        fuzz_die("the session opened a stream without version 1.0", NULL);
}

/* Keeps what the harness needs of an element the session wrote. */
static void out_stanza(void *ud, struct xb_stanza *st)
{
    const char *ns = xb_stanza_ns(st), *id, *p;
    char raw[512];

    (void)ud;
    if (strcmp(ns, XB_NS_CLIENT) && strcmp(ns, XB_NS_STREAMS) &&
        strcmp(ns, XB_NS_TLS) && strcmp(ns, XB_NS_SASL) && strcmp(ns, XB_NS_SM))
        fuzz_die("the session wrote an element of an unknown namespace", ns);
    if (xb_stanza_is(st, XB_NS_CLIENT, "iq") &&
        (id = xb_stanza_attr(st, NULL, "id")))
        snprintf(fz.iq_id, sizeof fz.iq_id, "%s", id);
    if (xb_stanza_is(st, XB_NS_SASL, "auth")) {
        p = xb_stanza_attr(st, NULL, "mechanism");
        snprintf(fz.mech, sizeof fz.mech, "%s", p ? p : "");
        sasl_text(st, raw, sizeof raw);
        fz.cfirst[0] = fz.cnonce[0] = fz.sfirst[0] = fz.cfinal[0] = '\0';
        if (!strncmp(raw, "n,,", 3)) {
            snprintf(fz.cfirst, sizeof fz.cfirst, "%s", raw + 3);
            p = strstr(fz.cfirst, ",r=");
            if (p)
                snprintf(fz.cnonce, sizeof fz.cnonce, "%s", p + 3);
        }
    } else if (xb_stanza_is(st, XB_NS_SASL, "response")) {
        sasl_text(st, raw, sizeof raw);
        p = strstr(raw, ",p=");
        snprintf(fz.cfinal, sizeof fz.cfinal, "%.*s",
                 p ? (int)(p - raw) : (int)strlen(raw), raw);
    }
    xb_stanza_free(st);
}

/* ---- the host's hooks ---------------------------------------------------- */

static void h_write(void *ud, const char *data, size_t len)
{
    (void)ud;
    fuzz_write(data, len,
               fz.tls_pending ? "a write during the TLS handshake" : NULL);
}

static void h_starttls(void *ud)
{
    (void)ud;
    if (fz.tls_pending)
        fuzz_die("starttls asked twice", NULL);
    fz.tls_pending = 1;
}

static void h_ready(void *ud, const char *full_jid, int resumed)
{
    (void)ud;
    if (xb_session_state(fz.s) != XB_SESSION_READY)
        fuzz_die("ready hook outside the ready state", NULL);
    if (!full_jid || !*full_jid || (resumed != 0 && resumed != 1))
        fuzz_die("ready hook with bad arguments", full_jid);
}

static void h_stanza(void *ud, const struct xb_stanza *st)
{
    (void)ud;
    if (xb_stanza_is_text(st) || xb_stanza_parent(st))
        fuzz_die("the stanza hook got no root element", NULL);
}

static void h_closed(void *ud, int err, const char *msg)
{
    (void)ud;
    fz.tls_pending = 0;
    fuzz_closed(err, msg, xb_session_state(fz.s) == XB_SESSION_CLOSED);
}

/* Whether needle occurs in the len bytes at data. */
static int has(const char *data, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;

    for (i = 0; i + n <= len; i++)
        if (!memcmp(data + i, needle, n))
            return 1;
    return 0;
}

static void h_trace(void *ud, char dir, const char *data, size_t len)
{
    (void)ud;
    fuzz_trace_check(dir, len);
    /* Our SASL elements reach the console redacted. (Not "never the
     * password" anywhere: the fuzzer learns it from comparisons and puts
     * it in what the session repeats, a resumption id say.) */
    if (dir == '>' &&
        ((len > 6 && !memcmp(data, "<auth ", 6)) ||
         (len > 10 && !memcmp(data, "<response ", 10))) &&
        (!has(data, len, "[redacted]") || has(data, len, PLAIN_B64)))
        fuzz_die("the console saw a SASL payload", NULL);
}

static void h_note(void *ud, const char *msg)
{
    (void)ud;
    if (!msg || !*msg || strchr(msg, '\n'))
        fuzz_die("a note that is not one line", msg);
}

static const struct xb_session_hooks hooks = {
    h_write,        h_starttls, h_ready, h_stanza, h_closed,
    fuzz_set_timer, fuzz_now,   h_trace, h_note,
};

/* ---- invariants checked after every step -------------------------------- */

static void check_sm(void)
{
    const struct xb_sm *sm = xb_session_sm(fz.s);
    uint32_t max =
        fz.cfg.sm_queue_max ? fz.cfg.sm_queue_max : XB_SM_QUEUE_DEFAULT;
    char n[96];

    snprintf(n, sizeof n, "qlen %" PRIu32 " out %" PRIu32 " acked %" PRIu32,
             sm->qlen, xb_sm_out(sm), sm->acked);
    if (sm->qlen > max)
        fuzz_die("the stream management queue outgrew sm_queue_max", n);
    if ((uint32_t)(xb_sm_out(sm) - sm->acked) != sm->qlen)
        fuzz_die("qlen is not xb_sm_out - acked", n);
    if (sm->qsent > sm->qlen)
        fuzz_die("more queued stanzas sent than queued", n);
    if ((sm->qlen == 0) != (sm->head == NULL) || (!sm->qlen && sm->qbytes))
        fuzz_die("the queue's length and contents disagree", n);
}

/* ---- driving the session ------------------------------------------------ */

/* Feeds len bytes at once and checks what the result says. */
static int feed1(const char *data, size_t len)
{
    int was_closed = fuzz.closed, rc;

    rc = xb_session_feed(fz.s, data, len);
    fuzz_check_feed(was_closed, rc, 1);
    if (rc == XB_ESTATE && !fz.tls_pending &&
        xb_session_state(fz.s) != XB_SESSION_IDLE)
        fuzz_die("XB_ESTATE from a feed outside TLS and idle", NULL);
    check_sm();
    return rc;
}

static void start(void)
{
    int was = xb_session_state(fz.s), rc;
    int may = was == XB_SESSION_IDLE || was == XB_SESSION_CLOSED;

    /* A new connection: the per-stream rules start over (the header is
     * written from inside xb_session_start). */
    if (may) {
        fuzz_new_stream();
        fz.tls_pending = 0;
    }
    rc = xb_session_start(fz.s);
    if ((rc == 0) != may)
        fuzz_die("xb_session_start accepted or refused wrongly", NULL);
    if (rc == 0 && xb_session_state(fz.s) != XB_SESSION_CONNECTING)
        fuzz_die("xb_session_start did not open a stream", NULL);
    check_sm();
}

static void iq_cb(void *cb_ud, const struct xb_stanza *st)
{
    int *calls = cb_ud;

    (void)st;
    if (++*calls > 1)
        fuzz_die("a tracked IQ's callback ran twice", NULL);
}

/* The bot sends a stanza of kind (OP_CHAT, OP_PRESENCE, OP_GROUPCHAT,
 * OP_IQ). */
static void bot_send(int kind)
{
    struct xb_stanza *st, *b;
    int rc;

    if (kind == OP_PRESENCE) {
        st = xb_stanza_new(XB_NS_CLIENT, "presence");
    } else if (kind == OP_IQ) {
        st = xb_stanza_new(XB_NS_CLIENT, "iq");
        if (st && (xb_stanza_set_attr(st, NULL, "type", "get") ||
                   xb_stanza_set_attr(st, NULL, "to", "localhost") ||
                   !xb_stanza_add_child(st, XB_NS_PING, "ping")))
            fuzz_die("out of memory", NULL);
    } else {
        st = xb_stanza_new(XB_NS_CLIENT, "message");
        if (st && (xb_stanza_set_attr(st, NULL, "to", "alice@localhost") ||
                   xb_stanza_set_attr(st, NULL, "type",
                                      kind == OP_CHAT ? "chat" : "groupchat") ||
                   !(b = xb_stanza_add_child(st, NULL, "body")) ||
                   xb_stanza_add_text(b, "hi & <bye>", 10)))
            fuzz_die("out of memory", NULL);
    }
    if (!st)
        fuzz_die("out of memory", NULL);
    if (kind == OP_IQ) {
        if (fz.niqs < (int)(sizeof fz.iq_calls / sizeof fz.iq_calls[0])) {
            rc = xb_session_send_iq(fz.s, st, iq_cb, &fz.iq_calls[fz.niqs]);
            if (rc == 0)
                fz.niqs++;
        }
    } else {
        rc = xb_session_send(fz.s, st);
        if (rc && rc != XB_ESTATE && rc != XB_ELIMIT)
            fuzz_die("xb_session_send failed oddly", xb_strerror(rc));
    }
    xb_stanza_free(st);
    check_sm();
}

/* ---- SCRAM, for the scripted server and %v ------------------------------ */

static const EVP_MD *scram_md(void)
{
    return strcmp(fz.mech, "SCRAM-SHA-256") ? EVP_sha1() : EVP_sha256();
}

/*
 * The server signature for the exchange so far, base64, into out; "" if
 * the harness cannot tell (no client-final yet, no salt, ...).
 */
static void server_signature(char *out, size_t size)
{
    static unsigned char key_salt[64], key_md[16], salted[EVP_MAX_MD_SIZE];
    static size_t key_salt_len;
    static unsigned long key_iter;
    const EVP_MD *md = scram_md();
    size_t hlen = (size_t)EVP_MD_size(md);
    unsigned char skey[EVP_MAX_MD_SIZE], sig[EVP_MAX_MD_SIZE];
    unsigned int len;
    const char *s, *i;
    char am[1600];
    struct xb_buf salt, enc;
    unsigned long iter;

    out[0] = '\0';
    s = strstr(fz.sfirst, ",s=");
    i = strstr(fz.sfirst, ",i=");
    if (!fz.cfirst[0] || !fz.cfinal[0] || !s || !i || i < s)
        return;
    iter = strtoul(i + 3, NULL, 10);
    if (iter == 0 || iter > MAX_ITER)
        return;
    xb_buf_init(&salt);
    if (xb_base64_decode(&salt, s + 3, (size_t)(i - s - 3)) || !salt.len ||
        salt.len > sizeof key_salt) {
        xb_buf_free(&salt);
        return;
    }
    /* One remembered SaltedPassword: the scripted salt comes back often. */
    if (key_iter != iter || key_salt_len != salt.len ||
        memcmp(key_salt, salt.data, salt.len) ||
        strcmp((char *)key_md, fz.mech)) {
        if (PKCS5_PBKDF2_HMAC(PASSWORD, (int)strlen(PASSWORD),
                              (const unsigned char *)salt.data, (int)salt.len,
                              (int)iter, md, (int)hlen, salted) != 1)
            fuzz_die("PBKDF2 failed", NULL);
        memcpy(key_salt, salt.data, salt.len);
        key_salt_len = salt.len;
        key_iter = iter;
        snprintf((char *)key_md, sizeof key_md, "%s", fz.mech);
    }
    xb_buf_free(&salt);
    snprintf(am, sizeof am, "%s,%s,%s", fz.cfirst, fz.sfirst, fz.cfinal);
    if (!HMAC(md, salted, (int)hlen, (const unsigned char *)"Server Key", 10,
              skey, &len) ||
        !HMAC(md, skey, (int)hlen, (const unsigned char *)am, strlen(am), sig,
              &len))
        fuzz_die("HMAC failed", NULL);
    xb_buf_init(&enc);
    if (xb_base64_encode(&enc, sig, hlen))
        fuzz_die("out of memory", NULL);
    snprintf(out, size, "%s", enc.data);
    xb_buf_free(&enc);
}

/* Expands %n and %v in a raw SASL payload and cuts iteration counts
 * above MAX_ITER. */
static void expand(struct xb_buf *raw, const char *p, size_t len)
{
    char sig[128];
    size_t i, d;
    int rc = 0;

    for (i = 0; i < len && !rc; i++) {
        if (p[i] == '%' && i + 1 < len && p[i + 1] == 'n') {
            rc = xb_buf_puts(raw, fz.cnonce);
            i++;
        } else if (p[i] == '%' && i + 1 < len && p[i + 1] == 'v') {
            server_signature(sig, sizeof sig);
            rc = xb_buf_puts(raw, sig);
            i++;
        } else if (p[i] == 'i' && i + 1 < len && p[i + 1] == '=') {
            for (d = i + 2; d < len && p[d] >= '0' && p[d] <= '9'; d++)
                ;
            if (d - (i + 2) > 4) {
                rc = xb_buf_puts(raw, "i=4096");
                i = d - 1;
            } else {
                rc = xb_buf_append(raw, p + i, 1);
            }
        } else {
            rc = xb_buf_append(raw, p + i, 1);
        }
    }
    if (rc)
        fuzz_die("out of memory", NULL);
}

/* Feeds a SASL payload: raw is expanded, remembered as the server-first
 * if it looks like one, base64-encoded and fed. */
static void feed_sasl(const char *p, size_t len)
{
    struct xb_buf raw, enc;

    xb_buf_init(&raw);
    xb_buf_init(&enc);
    expand(&raw, p, len);
    if (raw.len && !strncmp(raw.data, "r=", 2))
        snprintf(fz.sfirst, sizeof fz.sfirst, "%s", raw.data);
    if (raw.len ? xb_base64_encode(&enc, raw.data, raw.len)
                : xb_buf_puts(&enc, "="))
        fuzz_die("out of memory", NULL);
    feed1(enc.data, enc.len);
    xb_buf_free(&raw);
    xb_buf_free(&enc);
}

/* The scripted server's SCRAM server-first, after the client-first. */
static void scram_challenge(void)
{
    char sf[512];
    struct xb_buf salt;

    if (!fz.cnonce[0])
        fuzz_die("no SCRAM client-first", NULL);
    xb_buf_init(&salt);
    if (xb_base64_encode(&salt, SALT, strlen(SALT)))
        fuzz_die("out of memory", NULL);
    snprintf(sf, sizeof sf, "r=%.200s" SNONCE ",s=%s,i=%d", fz.cnonce,
             salt.data, ITER);
    xb_buf_free(&salt);
    fuzz_server("<challenge xmlns='" XB_NS_SASL "'>");
    feed_sasl(sf, strlen(sf));
    fuzz_server("</challenge>");
    if (!fz.cfinal[0])
        fuzz_die("no SCRAM client-final", NULL);
}

/* ---- starting states ----------------------------------------------------- */

static void login_plain(const char *features)
{
    fuzz_server(HDR FEATURES(MECHS(MECH("PLAIN"))));
    fuzz_server(SUCCESS);
    fuzz_server(features);
}

static void ready_sm(void)
{
    login_plain(HDR FEATURES(F_BIND F_SM));
    fuzz_server(BOUND);
    fuzz_server(ENABLED);
    if (xb_session_state(fz.s) != XB_SESSION_READY)
        fuzz_die("the scripted login did not get ready", NULL);
}

/* Ready with stream management; traffic both ways, a partial ack, the
 * connection cut, one more stanza queued while down. */
static void cut(void)
{
    ready_sm();
    fuzz_server(INBOUND INBOUND);
    bot_send(OP_CHAT);
    bot_send(OP_GROUPCHAT);
    bot_send(OP_CHAT);
    fuzz_server("<a xmlns='" XB_NS_SM "' h='2'/>");
    xb_session_abort(fz.s, "connection reset by peer");
    if (!fuzz.closed || !xb_session_resumable(fz.s))
        fuzz_die("the scripted cut is not resumable", NULL);
    bot_send(OP_CHAT);
    check_sm();
}

static void reach(enum start st)
{
    switch (st) {
    case ST_FRESH:
        break;
    case ST_STARTTLS:
    case ST_TLS:
        fuzz_server(HDR FEATURES(F_STARTTLS ALL_MECHS));
        if (st == ST_TLS) {
            fuzz_server(PROCEED);
            if (!fz.tls_pending)
                fuzz_die("no starttls after <proceed/>", NULL);
            fz.tls_pending = 0;
            xb_session_tls_ready(fz.s);
        }
        break;
    case ST_PLAIN:
        fuzz_server(HDR FEATURES(MECHS(MECH("PLAIN"))));
        break;
    case ST_SCRAM1:
    case ST_SCRAM1_FINAL:
        fuzz_server(HDR FEATURES(MECHS(MECH("PLAIN") MECH("SCRAM-SHA-1"))));
        if (st == ST_SCRAM1_FINAL)
            scram_challenge();
        break;
    case ST_SCRAM256:
    case ST_SCRAM256_FINAL:
        fuzz_server(HDR FEATURES(ALL_MECHS));
        if (st == ST_SCRAM256_FINAL)
            scram_challenge();
        break;
    case ST_BIND:
    case ST_SM_ENABLE:
        login_plain(HDR FEATURES(F_BIND F_SM));
        if (st == ST_SM_ENABLE)
            fuzz_server(BOUND);
        break;
    case ST_READY_SM:
        ready_sm();
        break;
    case ST_READY:
        login_plain(HDR FEATURES(F_BIND));
        fuzz_server(BOUND);
        break;
    case ST_RESUME:
        cut();
        start();
        login_plain(HDR FEATURES(F_BIND F_SM));
        break;
    case ST_CUT:
        cut();
        break;
    default:
        break;
    }
}

/*
 * Byte 1: bits 0-1 how server bytes are cut (whole, bytes, 7, random);
 * bit 2 a queue of 3; bit 3 a keepalive; bit 4 an ack asked every 2
 * stanzas; bit 5 no presence; bit 6 no console (trace and note hooks
 * NULL); bit 7 stream management for acks only (where the state allows).
 */
static void fz_config(enum start st, unsigned ctl)
{
    memset(&fz.cfg, 0, sizeof fz.cfg);
    fz.cfg.jid = "user@localhost/res";
    fz.cfg.password = PASSWORD;
    fz.cfg.limits = fuzz_limits;
    fz.cfg.scram_cache = cache;
    fz.cfg.tls = st <= ST_TLS ? XB_TLS_REQUIRED : XB_TLS_NONE;
    fz.cfg.allow_plain = st != ST_SCRAM1 && st != ST_SCRAM256 &&
                         st != ST_SCRAM1_FINAL && st != ST_SCRAM256_FINAL;
    fz.cfg.sm_queue_max = (ctl & 4) ? 3 : 0;
    fz.cfg.keepalive_ms = (ctl & 8) ? 5000 : 0;
    fz.cfg.sm_ack_every = (ctl & 16) ? 2 : 0;
    fz.cfg.no_presence = (ctl & 32) != 0;
    fz.cfg.sm = (ctl & 128) && st <= ST_BIND ? XB_SM_ACK : XB_SM_RESUME;
    fz.cfg.sm_resume_s = 300;
}

/* One escaped operation at data[0] (after the 0xFF); returns the bytes it
 * used. */
static size_t do_op(const uint8_t *data, size_t len)
{
    unsigned op = data[0] % OP_COUNT, arg = len > 1 ? data[1] : 0;
    const struct xb_sm *sm = xb_session_sm(fz.s);
    size_t used = 1, n;
    char xml[512];
    const char *m, *hash;

    switch (op) {
    case OP_CUT:
        break;
    case OP_CHAT:
    case OP_PRESENCE:
    case OP_GROUPCHAT:
    case OP_IQ:
        bot_send((int)op);
        break;
    case OP_CLOCK:
        fuzz.clock += (uint64_t)arg * 100;
        used = 2;
        break;
    case OP_TIMER:
        if (fuzz_timer_due()) {
            xb_session_timer(fz.s);
            check_sm();
        }
        break;
    case OP_ABORT:
        xb_session_abort(fz.s, "connection lost");
        check_sm();
        break;
    case OP_START:
        start();
        break;
    case OP_CLOSE:
        xb_session_close(fz.s);
        check_sm();
        break;
    case OP_TLS_READY:
        if (fz.tls_pending) {
            fz.tls_pending = 0;
            xb_session_tls_ready(fz.s);
        }
        break;
    case OP_SM_DROP:
        if (xb_session_state(fz.s) == XB_SESSION_CLOSED) {
            xb_session_sm_drop(fz.s);
            if (xb_session_resumable(fz.s))
                fuzz_die("resumable after xb_session_sm_drop", NULL);
            check_sm();
        }
        break;
    case OP_SASL:
        for (n = 1; n < len && data[n] != FUZZ_ESC; n++)
            ;
        feed_sasl((const char *)data + 1, n - 1);
        used = n;
        break;
    case OP_MACRO:
        m = macros[arg % NMACROS];
        hash = strchr(m, '#');
        used = 2;
        if (hash) {
            /* The next byte says what the server acknowledges: from acked
             * up to all we sent; 0xFF one too many. */
            unsigned k = len > 2 ? data[2] : 0;
            uint32_t h =
                k == 0xFF ? xb_sm_out(sm) + 1 : sm->acked + k % (sm->qlen + 1);

            snprintf(xml, sizeof xml, "%.*s%" PRIu32 "%s", (int)(hash - m), m,
                     h, hash + 1);
            m = xml;
            used = 3;
        }
        feed1(m, strlen(m));
        break;
    case OP_SET_TLS:
        if (xb_session_set_tls(fz.s, (enum xb_tls_mode)(arg % 3)) == 0 &&
            xb_session_state(fz.s) != XB_SESSION_IDLE &&
            xb_session_state(fz.s) != XB_SESSION_CLOSED)
            fuzz_die("xb_session_set_tls accepted with a stream open", NULL);
        used = 2;
        break;
    case OP_ANSWER:
        if (arg & 1)
            snprintf(
                xml, sizeof xml,
                "<iq type='error' id='%s' from='localhost'><error "
                "type='cancel'><service-unavailable xmlns='" XB_NS_STANZA_ERRORS
                "'/></error></iq>",
                fz.iq_id);
        else
            snprintf(xml, sizeof xml, "<iq type='result' id='%s'/>", fz.iq_id);
        feed1(xml, strlen(xml));
        used = 2;
        break;
    default:
        break;
    }
    return used < len ? used : len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xb_session_hooks hk = hooks;
    enum start st;
    unsigned ctl;
    int i;

    if (size < 2)
        return 0;
    if (!cache) {
        cache = xb_scram_cache_new(4);
        if (!cache)
            fuzz_die("out of memory", NULL);
        atexit(free_cache);
    }
    st = (enum start)(data[0] % ST_COUNT);
    ctl = data[1];

    memset(&fz, 0, sizeof fz);
    fuzz_begin("fuzz_session", feed1, out_open, out_stanza);
    fz_config(st, ctl);
    if (ctl & 64)
        hk.trace = NULL, hk.note = NULL;
    fz.s = xb_session_new(&fz.cfg, &hk, NULL);
    if (!fz.s)
        fuzz_die("out of memory", NULL);
    start();
    reach(st);

    fuzz_walk(data, size, do_op);
    /* The host is done with it: a last abort must settle everything. */
    xb_session_abort(fz.s, "end of input");
    check_sm();
    if (xb_session_state(fz.s) != XB_SESSION_IDLE &&
        xb_session_state(fz.s) != XB_SESSION_CLOSED)
        fuzz_die("not closed after an abort", NULL);
    for (i = 0; i < fz.niqs; i++)
        if (fz.iq_calls[i] != 1)
            fuzz_die("a tracked IQ's callback did not run exactly once", NULL);
    xb_session_free(fz.s);
    fuzz_end();
    return 0;
}
