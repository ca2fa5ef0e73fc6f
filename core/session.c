/*
 * Client stream negotiation and stanza plumbing. Each step is chosen from
 * the features the server offers and what is already done (secure,
 * authenticated, bound), in the spirit of mellium's session-state bits.
 * Stream restarts happen after the parser has returned, never inside it.
 */
#include "session.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "error.h"
#include "jid.h"
#include "serialize.h"

#define DEFAULT_LOGIN_TIMEOUT 30000
#define DEFAULT_IQ_TIMEOUT 30000
#define DEFAULT_CLOSE_TIMEOUT 2000
#define DEFAULT_SM_ACK_EVERY 10
#define DEFAULT_SM_ACK_MS 1000
/* A serialization buffer bigger than this is released after use, so idle
 * sessions do not each hold on to the largest stanza they ever sent. */
#define KEEP_BUF 4096

enum phase {
    P_IDLE,
    P_FEATURES,    /* stream opened, waiting for header and features */
    P_TLS_PROCEED, /* <starttls/> sent */
    P_TLS,         /* the host is doing the TLS handshake */
    P_SASL,        /* <auth/> sent */
    P_BIND,        /* bind IQ sent */
    P_LEGACY,      /* legacy session IQ sent */
    P_SM_ENABLE,   /* <enable/> sent */
    P_SM_RESUME,   /* <resume/> sent */
    P_READY,
    P_CLOSING, /* our </stream:stream> is out */
    P_CLOSED
};

struct iq_slot {
    uint32_t id; /* 0: free */
    xb_iq_cb cb;
    void *cb_ud;
    uint64_t deadline;
};

struct xb_session {
    struct xb_session_hooks hooks;
    void *ud;
    struct xb_session_config cfg;
    struct xb_jid jid;
    char *password;
    char *full_jid;
    struct xb_parser *parser;
    struct xb_sasl *sasl;
    struct xb_buf out;
    enum phase phase;
    int secure;
    int authenticated;
    int restart;    /* restart the stream once the parser returns */
    int tls_switch; /* ask the host for TLS once the parser returns */
    int need_legacy_session;
    int in_feed;
    enum xb_sasl_mech mech;
    enum xb_cond stream_cond;
    char sasl_failure[32];
    uint32_t next_id;
    uint64_t login_deadline;
    uint64_t close_deadline;
    uint64_t last_rx;
    uint32_t ping_id; /* pending keepalive ping, 0 if none */
    struct iq_slot iqs[XB_SESSION_MAX_IQS];
    struct xb_sm sm;
    int sm_offered;   /* the features after SASL listed <sm/> */
    int sm_known;     /* a <failed h/> said what the server had */
    int sm_closing;   /* our clean close: nothing to resume */
    int sm_full;      /* a full queue was noted */
    uint64_t sm_cut;  /* when a resumable stream was cut */
    uint64_t last_tx; /* when the last counted stanza went out */
};

static void arm_timer(struct xb_session *s);
static void sm_drop(struct xb_session *s);

static uint64_t now(struct xb_session *s)
{
    return s->hooks.now(s->ud);
}

static void emit(struct xb_session *s, const char *data, size_t len)
{
    if (s->hooks.trace)
        s->hooks.trace(s->ud, '>', data, len);
    s->hooks.write(s->ud, data, len);
}

static void emit_str(struct xb_session *s, const char *str)
{
    emit(s, str, strlen(str));
}

static void release_out(struct xb_session *s)
{
    if (s->out.cap > KEEP_BUF)
        xb_buf_free(&s->out);
    else
        xb_buf_reset(&s->out);
}

/* Serializes and writes st. 0 or XB_ENOMEM. */
static int emit_stanza(struct xb_session *s, const struct xb_stanza *st)
{
    int rc;

    xb_buf_reset(&s->out);
    rc = xb_serialize(&s->out, st, XB_NS_CLIENT);
    if (rc == 0)
        emit(s, s->out.data, s->out.len);
    release_out(s);
    return rc;
}

/* Ends the session: pending IQs learn it, the timer stops, the host is
 * told. Idempotent. */
static void finish(struct xb_session *s, int err, const char *msg)
{
    unsigned i;

    if (s->phase == P_CLOSED)
        return;
    s->phase = P_CLOSED;
    if (s->in_feed)
        xb_parser_stop(s->parser);
    for (i = 0; i < XB_SESSION_MAX_IQS; i++) {
        struct iq_slot slot = s->iqs[i];

        s->iqs[i].id = 0;
        if (slot.id && slot.cb)
            slot.cb(slot.cb_ud, NULL);
    }
    s->ping_id = 0;
    if (s->sm.on)
        s->sm_cut = now(s); /* the server's resumption time starts */
    if (s->sm_closing && err == 0) {
        /* After our clean close the server handled everything it got
         * before our </stream:stream>: nothing is left to resume. A close
         * before the stream resumed leaves its queue unsent: lost. */
        if (s->sm.on)
            xb_sm_clear(&s->sm);
        else
            sm_drop(s);
    }
    s->sm.on = 0;
    s->hooks.set_timer(s->ud, -1);
    s->hooks.closed(s->ud, err, msg);
}

/* May we write to the stream? Not before it opened, not during the TLS
 * handshake, and nothing after our </stream:stream>. */
static int may_write(const struct xb_session *s)
{
    return s->phase != P_IDLE && s->phase != P_TLS && s->phase != P_CLOSING &&
           s->phase != P_CLOSED;
}

/* Sends a stream error with cond and, unless NULL, extra (an application
 * condition element) if the stream may be written; the condition is kept
 * for xb_session_stream_cond() either way. */
static void stream_error(struct xb_session *s, enum xb_cond cond,
                         const char *extra)
{
    char e[400];

    s->stream_cond = cond;
    if (!may_write(s))
        return;
    snprintf(e, sizeof e,
             "<stream:error><%s xmlns='" XB_NS_STREAM_ERRORS
             "'/>%s</stream:error>",
             xb_cond_name(cond), extra ? extra : "");
    emit_str(s, e);
}

/* Fails the session, sending a stream error with cond first unless cond
 * is XB_COND_NONE. */
static void fail(struct xb_session *s, int err, enum xb_cond cond,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail(struct xb_session *s, int err, enum xb_cond cond,
                 const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (s->phase == P_CLOSED)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    xb_one_line(msg); /* it may quote the server (a SASL failure's text) */
    if (cond != XB_COND_NONE)
        stream_error(s, cond, NULL);
    if (may_write(s))
        emit_str(s, "</stream:stream>");
    finish(s, err, msg);
}

/* --- stream management (XEP-0198) ----------------------------------------- */

static void note(struct xb_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(struct xb_session *s, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (!s->hooks.note)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->hooks.note(s->ud, msg);
}

/* Only stanzas count (XEP-0198 4), not nonzas such as <r/>. */
static int sm_counts(const struct xb_stanza *st)
{
    return xb_stanza_is(st, XB_NS_CLIENT, "message") ||
           xb_stanza_is(st, XB_NS_CLIENT, "presence") ||
           xb_stanza_is(st, XB_NS_CLIENT, "iq");
}

/* A message other than groupchat means the same on a fresh stream; the
 * rest belongs to the session it was sent in (sm.h). */
static int sm_flags(const struct xb_stanza *st)
{
    const char *type = xb_stanza_attr(st, NULL, "type");

    if (xb_stanza_is(st, XB_NS_CLIENT, "message") &&
        !(type && !strcmp(type, "groupchat")))
        return XB_SM_RESENDABLE;
    return XB_SM_KEEP;
}

static void sm_request(struct xb_session *s)
{
    s->sm.requested = xb_sm_out(&s->sm);
    s->sm.stats.requests++;
    emit_str(s, "<r xmlns='" XB_NS_SM "'/>");
}

static void sm_answer(struct xb_session *s)
{
    char a[80];

    snprintf(a, sizeof a, "<a xmlns='" XB_NS_SM "' h='%" PRIu32 "'/>",
             s->sm.in);
    emit_str(s, a);
}

/* Attribute name of st: a decimal 32-bit number, nothing else. 0 or -1. */
static int parse_u32(const struct xb_stanza *st, const char *name,
                     uint32_t *h)
{
    const char *p = xb_stanza_attr(st, NULL, name);
    uint64_t v = 0;

    if (!p || !*p)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || (v = v * 10 + (uint64_t)(*p - '0')) >
                                        UINT32_MAX)
            return -1;
    }
    *h = (uint32_t)v;
    return 0;
}

/* The server acknowledged up to h. 0, or -1 if h is more than was sent:
 * the stream then fails (XEP-0198 4, handled-count-too-high; an <a/>
 * after our </stream:stream> fails it without a word). */
static int sm_ack(struct xb_session *s, uint32_t h)
{
    char e[160];
    uint32_t out = xb_sm_out(&s->sm), lost;

    if (xb_sm_ack(&s->sm, h) == 0) {
        s->sm_full = 0;
        return 0;
    }
    snprintf(e, sizeof e,
             "<handled-count-too-high xmlns='" XB_NS_SM "' h='%" PRIu32
             "' send-count='%" PRIu32 "'/>",
             h, out);
    stream_error(s, XB_COND_UNDEFINED_CONDITION, e);
    /* The counts no longer agree: nothing can be resumed or trusted. */
    lost = xb_sm_fail(&s->sm, 0, NULL, NULL);
    fail(s, XB_EPROTO, XB_COND_NONE,
         "the server acknowledged %" PRIu32 " stanzas but was sent %" PRIu32
         " (handled-count-too-high); %" PRIu32 " unacknowledged counted lost",
         h, out, lost);
    return -1;
}

/* Writes a serialized stanza; on a managed stream it is queued first and
 * an ack is asked for by policy. 0, XB_ELIMIT or XB_ENOMEM. */
static int emit_counted(struct xb_session *s, const char *data, size_t len,
                        int flags)
{
    int rc;

    if (s->sm.on) {
        rc = xb_sm_push(&s->sm, data, len, flags, 1);
        if (rc)
            return rc;
        s->last_tx = now(s);
    }
    emit(s, data, len);
    if (s->sm.on &&
        xb_sm_out(&s->sm) - s->sm.requested >= s->cfg.sm_ack_every)
        sm_request(s);
    return 0;
}

/* Sends st once ready; while a resumable stream is down, queues it. */
static int send_stanza(struct xb_session *s, const struct xb_stanza *st)
{
    int rc;

    xb_buf_reset(&s->out);
    rc = xb_serialize(&s->out, st, XB_NS_CLIENT);
    if (!rc && s->phase == P_READY) {
        rc = emit_counted(s, s->out.data, s->out.len, sm_flags(st));
        if (!rc && !s->in_feed)
            arm_timer(s); /* the ack policy's quiet time starts now */
    } else if (!rc)
        rc = xb_sm_push(&s->sm, s->out.data, s->out.len, sm_flags(st), 0);
    release_out(s);
    if (rc == XB_ELIMIT && !s->sm_full) {
        s->sm_full = 1;
        note(s,
             "stream management queue full (%" PRIu32 " stanzas "
             "unacknowledged): not sending until the server acknowledges",
             s->sm.qlen);
    }
    return rc;
}

static void resend(void *ud, const char *data, size_t len)
{
    struct xb_session *s = ud;

    if (emit_counted(s, data, len, XB_SM_RESENDABLE))
        s->sm.stats.lost++; /* out of memory */
}

static void replay(void *ud, const char *data, size_t len)
{
    emit(ud, data, len);
}

/* A fresh stream is bound (and counting if stream management is on):
 * what an earlier stream left unacknowledged is settled and said. */
static void sm_settle(struct xb_session *s)
{
    uint64_t resent = s->sm.stats.resent, dup = s->sm.stats.duplicated;
    uint32_t lost;

    if (!s->sm.head && !s->sm.id)
        return;
    lost = xb_sm_fail(&s->sm, s->sm_known, resend, s);
    resent = s->sm.stats.resent - resent;
    dup = s->sm.stats.duplicated - dup;
    if (lost || resent)
        note(s,
             "the old stream could not be resumed: %" PRIu32
             " stanzas lost, %" PRIu64 " messages sent again (%" PRIu64
             " possibly duplicated)",
             lost, resent, dup);
}

/* The stream will not resume: what it held is lost (counted, noted). */
static void sm_drop(struct xb_session *s)
{
    uint32_t lost;

    if (!s->sm.head && !s->sm.id)
        return;
    lost = xb_sm_fail(&s->sm, 0, NULL, NULL);
    if (lost)
        note(s,
             "%" PRIu32 " stanzas the server had not acknowledged are lost "
             "with the stream",
             lost);
}

/* Whether a cut stream may be resumed now. */
static int sm_can_resume(const struct xb_session *s, uint64_t t)
{
    return s->sm.id && s->cfg.sm == XB_SM_RESUME &&
           !(s->sm.max_s && t - s->sm_cut >= (uint64_t)s->sm.max_s * 1000);
}

static void open_stream(struct xb_session *s)
{
    char hdr[1200];

    snprintf(hdr, sizeof hdr,
             "<?xml version='1.0'?><stream:stream xmlns='" XB_NS_CLIENT
             "' xmlns:stream='" XB_NS_STREAMS
             "' to='%s' version='1.0' xml:lang='en'>",
             s->jid.domain);
    s->phase = P_FEATURES;
    emit_str(s, hdr);
}

static void on_stream_open(void *ud, const struct xb_stream_header *h)
{
    struct xb_session *s = ud;

    if (s->hooks.trace) {
        char line[160];

        snprintf(line, sizeof line, "<stream:stream from='%.60s' id='%.40s'>",
                 h->from ? h->from : "", h->id ? h->id : "");
        s->hooks.trace(s->ud, '<', line, strlen(line));
    }
    if (!h->version || strtol(h->version, NULL, 10) < 1)
        fail(s, XB_EPROTO, XB_COND_UNSUPPORTED_VERSION,
             "server speaks XMPP version %s, not 1.0",
             h->version ? h->version : "0.9");
    else if (!h->content_ns || strcmp(h->content_ns, XB_NS_CLIENT))
        fail(s, XB_EPROTO, XB_COND_INVALID_NAMESPACE,
             "stream namespace is '%s', not jabber:client",
             h->content_ns ? h->content_ns : "");
}

static void on_stream_close(void *ud)
{
    struct xb_session *s = ud;

    if (s->phase == P_CLOSING) {
        finish(s, 0, "closed");
        return;
    }
    /* Answer the close so the server can drop the TCP connection. */
    emit_str(s, "</stream:stream>");
    finish(s, XB_ECLOSED, "the server closed the stream");
}

static void trace_in(struct xb_session *s, const struct xb_stanza *st)
{
    struct xb_buf b;

    if (!s->hooks.trace)
        return;
    xb_buf_init(&b);
    if (xb_stanza_is(st, XB_NS_SASL, NULL)) {
        /* Challenges carry the salt and nonces, success the server
         * signature: never put them in a log. */
        xb_buf_puts(&b, "<");
        xb_buf_puts(&b, xb_stanza_name(st));
        xb_buf_puts(&b, " xmlns='" XB_NS_SASL "'>[redacted]</");
        xb_buf_puts(&b, xb_stanza_name(st));
        xb_buf_puts(&b, ">");
    } else if (xb_serialize(&b, st, XB_NS_CLIENT)) {
        xb_buf_reset(&b);
    }
    if (b.len)
        s->hooks.trace(s->ud, '<', b.data, b.len);
    xb_buf_free(&b);
}

/* Writes an SASL element with a base64 payload; the trace sees only
 * "[redacted]". */
static int emit_sasl(struct xb_session *s, const char *name, const char *mech,
                     const struct xb_buf *raw)
{
    struct xb_buf b;
    int rc;

    xb_buf_init(&b);
    rc = xb_buf_puts(&b, "<");
    if (!rc)
        rc = xb_buf_puts(&b, name);
    if (!rc)
        rc = xb_buf_puts(&b, " xmlns='" XB_NS_SASL "'");
    if (!rc && mech) {
        rc = xb_buf_puts(&b, " mechanism='");
        if (!rc)
            rc = xb_buf_puts(&b, mech);
        if (!rc)
            rc = xb_buf_puts(&b, "'");
    }
    if (!rc)
        rc = xb_buf_puts(&b, ">");
    if (!rc && s->hooks.trace) {
        char red[160];

        snprintf(red, sizeof red, "%s[redacted]</%s>", b.data, name);
        s->hooks.trace(s->ud, '>', red, strlen(red));
    }
    if (!rc)
        rc = raw->len ? xb_base64_encode(&b, raw->data, raw->len)
                      : xb_buf_puts(&b, "=");
    if (!rc)
        rc = xb_buf_puts(&b, "</");
    if (!rc)
        rc = xb_buf_puts(&b, name);
    if (!rc)
        rc = xb_buf_puts(&b, ">");
    if (!rc)
        s->hooks.write(s->ud, b.data, b.len);
    xb_buf_free(&b);
    return rc;
}

/* The strongest mechanism offered that we may use; *plain_skipped tells
 * whether PLAIN was offered but refused for lack of TLS. */
static enum xb_sasl_mech choose_mech(struct xb_session *s,
                                     const struct xb_stanza *mechs,
                                     int *plain_skipped)
{
    enum xb_sasl_mech best = XB_SASL_NONE, m;
    const struct xb_stanza *c;

    for (c = xb_stanza_child(mechs, XB_NS_SASL, "mechanism"); c;
         c = xb_stanza_next_child(c, XB_NS_SASL, "mechanism")) {
        const char *name = xb_stanza_text(c, NULL);

        m = name ? xb_sasl_mech_from_name(name) : XB_SASL_NONE;
        if (m == XB_SASL_PLAIN && !s->secure && !s->cfg.allow_plain) {
            *plain_skipped = 1;
            continue;
        }
        if (m > best)
            best = m;
    }
    return best;
}

static void start_sasl(struct xb_session *s, const struct xb_stanza *mechs)
{
    struct xb_buf raw;
    int rc, plain_skipped = 0;

    s->mech = choose_mech(s, mechs, &plain_skipped);
    if (s->mech == XB_SASL_NONE) {
        fail(s, XB_EAUTH, XB_COND_NONE, "no usable SASL mechanism offered%s",
             plain_skipped ? " (PLAIN without TLS needs --allow-plain)" : "");
        return;
    }
    xb_sasl_free(s->sasl);
    s->sasl = xb_sasl_new(s->mech, s->jid.local ? s->jid.local : "",
                          s->password, s->cfg.scram_cache);
    if (!s->sasl) {
        fail(s, XB_ENOMEM, XB_COND_NONE, "out of memory");
        return;
    }
    xb_buf_init(&raw);
    rc = xb_sasl_start(s->sasl, &raw);
    if (!rc)
        rc = emit_sasl(s, "auth", xb_sasl_mech_name(s->mech), &raw);
    xb_buf_free(&raw);
    if (rc)
        fail(s, rc, XB_COND_NONE, "SASL: %s", xb_strerror(rc));
    else
        s->phase = P_SASL;
}

static void send_bind(struct xb_session *s)
{
    struct xb_stanza *iq = xb_stanza_new(XB_NS_CLIENT, "iq"), *bind, *res;
    int rc = XB_ENOMEM;

    if (iq && !xb_stanza_set_attr(iq, NULL, "type", "set") &&
        !xb_stanza_set_attr(iq, NULL, "id", "bind_1") &&
        (bind = xb_stanza_add_child(iq, XB_NS_BIND, "bind"))) {
        rc = 0;
        if (s->jid.resource) {
            res = xb_stanza_add_child(bind, NULL, "resource");
            rc = res ? xb_stanza_add_text(res, s->jid.resource,
                                          strlen(s->jid.resource))
                     : XB_ENOMEM;
        }
        if (!rc)
            rc = emit_stanza(s, iq);
    }
    xb_stanza_free(iq);
    if (rc)
        fail(s, rc, XB_COND_NONE, "out of memory");
    else
        s->phase = P_BIND;
}

/* After SASL, a stream with a resumption id left: <resume/> instead of
 * binding. 1 if sent; 0 if resumption is impossible (said and counted;
 * the stream binds afresh and settles the old queue). */
static int try_resume(struct xb_session *s)
{
    struct xb_stanza *r;
    char h[16];
    int rc = XB_ENOMEM;

    if (!s->sm_offered || !sm_can_resume(s, now(s))) {
        s->sm.stats.resume_failures++;
        note(s, "cannot resume the stream: %s",
             s->cfg.sm != XB_SM_RESUME ? "resumption is off"
             : s->sm_offered ? "the server's resumption time is up"
                             : "the server no longer offers stream management");
        xb_sm_set_id(&s->sm, NULL);
        return 0;
    }
    snprintf(h, sizeof h, "%" PRIu32, s->sm.in);
    r = xb_stanza_new(XB_NS_SM, "resume");
    if (r && !xb_stanza_set_attr(r, NULL, "previd", s->sm.id) &&
        !xb_stanza_set_attr(r, NULL, "h", h))
        rc = emit_stanza(s, r);
    xb_stanza_free(r);
    if (rc)
        fail(s, rc, XB_COND_NONE, "out of memory");
    else
        s->phase = P_SM_RESUME;
    return 1;
}

static void on_features(struct xb_session *s, const struct xb_stanza *f)
{
    const struct xb_stanza *mechs, *sess;

    if (!s->secure && s->cfg.tls != XB_TLS_NONE) {
        if (!xb_stanza_child(f, XB_NS_TLS, "starttls")) {
            fail(s, XB_EPROTO, XB_COND_NONE,
                 "the server does not offer STARTTLS (use --tls=none to "
                 "connect without TLS)");
            return;
        }
        emit_str(s, "<starttls xmlns='" XB_NS_TLS "'/>");
        s->phase = P_TLS_PROCEED;
        return;
    }
    if (!s->authenticated) {
        mechs = xb_stanza_child(f, XB_NS_SASL, "mechanisms");
        if (!mechs) {
            fail(s, XB_EPROTO, XB_COND_NONE,
                 "the server offers no SASL mechanisms");
            return;
        }
        start_sasl(s, mechs);
        return;
    }
    s->sm_offered = xb_stanza_child(f, XB_NS_SM, "sm") != NULL;
    if (s->sm.id && try_resume(s))
        return;
    if (!xb_stanza_child(f, XB_NS_BIND, "bind")) {
        fail(s, XB_EPROTO, XB_COND_NONE,
             "the server offers no resource binding");
        return;
    }
    /* RFC 6121 dropped the session IQ; old servers mark it mandatory by
     * leaving out <optional/>. */
    sess = xb_stanza_child(f, XB_NS_SESSION, "session");
    s->need_legacy_session = sess && !xb_stanza_child(sess, NULL, "optional");
    send_bind(s);
}

static void on_sasl(struct xb_session *s, const struct xb_stanza *st)
{
    const char *text = xb_stanza_text(st, NULL);
    const char *name = xb_stanza_name(st);
    struct xb_buf raw, resp;
    int rc;

    if (s->phase != P_SASL) {
        fail(s, XB_EPROTO, XB_COND_UNSUPPORTED_STANZA_TYPE,
             "unexpected SASL <%s/>", name);
        return;
    }
    if (!strcmp(name, "failure")) {
        const struct xb_stanza *c, *t;

        for (c = xb_stanza_first(st); c; c = xb_stanza_next(c))
            if (!xb_stanza_is_text(c) && strcmp(xb_stanza_name(c), "text"))
                break;
        snprintf(s->sasl_failure, sizeof s->sasl_failure, "%s",
                 c ? xb_stanza_name(c) : "failure");
        t = xb_stanza_child(st, XB_NS_SASL, "text");
        fail(s, XB_EAUTH, XB_COND_NONE, "authentication failed: %s%s%.100s",
             s->sasl_failure, t ? ": " : "",
             t && xb_stanza_text(t, NULL) ? xb_stanza_text(t, NULL) : "");
        return;
    }
    xb_buf_init(&raw);
    xb_buf_init(&resp);
    rc = text ? xb_base64_decode(&raw, text, strlen(text)) : 0;
    if (rc) {
        fail(s, XB_EPROTO, XB_COND_NONE, "SASL <%s/> is not base64", name);
    } else if (!strcmp(name, "challenge")) {
        rc = xb_sasl_challenge(s->sasl, raw.data, raw.len, &resp);
        if (!rc)
            rc = emit_sasl(s, "response", NULL, &resp);
        if (rc)
            fail(s, rc, XB_COND_NONE, "SASL %s: %s", xb_sasl_mech_name(s->mech),
                 xb_sasl_message(s->sasl)[0] ? xb_sasl_message(s->sasl)
                                             : xb_strerror(rc));
    } else if (!strcmp(name, "success")) {
        rc = xb_sasl_success(s->sasl, raw.data, raw.len);
        if (rc) {
            fail(s, rc, XB_COND_NONE, "SASL %s: %s", xb_sasl_mech_name(s->mech),
                 xb_sasl_message(s->sasl)[0] ? xb_sasl_message(s->sasl)
                                             : xb_strerror(rc));
        } else {
            s->authenticated = 1;
            s->restart = 1;
            xb_parser_stop(s->parser);
        }
    } else {
        fail(s, XB_EPROTO, XB_COND_UNSUPPORTED_STANZA_TYPE,
             "unexpected SASL <%s/>", name);
    }
    xb_buf_free(&raw);
    xb_buf_free(&resp);
    if (s->authenticated || s->phase == P_CLOSED) {
        /* The exchange is over: drop the keys it derived. */
        xb_sasl_free(s->sasl);
        s->sasl = NULL;
    }
}

/* A fresh session is bound, with or without stream management, and what
 * an earlier stream left is settled (sm_settle). */
static void became_ready(struct xb_session *s)
{
    s->phase = P_READY;
    s->last_rx = now(s);
    if (!s->cfg.no_presence)
        emit_counted(s, "<presence/>", 11, XB_SM_KEEP);
    arm_timer(s);
    s->hooks.ready(s->ud, s->full_jid, 0);
}

/* Bound: enable stream management if the server offers it. */
static void after_bind(struct xb_session *s)
{
    char e[120];

    if (s->cfg.sm == XB_SM_OFF || !s->sm_offered) {
        sm_settle(s);
        became_ready(s);
        return;
    }
    if (s->cfg.sm == XB_SM_ACK)
        snprintf(e, sizeof e, "<enable xmlns='" XB_NS_SM "'/>");
    else if (s->cfg.sm_resume_s)
        snprintf(e, sizeof e,
                 "<enable xmlns='" XB_NS_SM "' resume='true' max='%" PRIu32
                 "'/>",
                 s->cfg.sm_resume_s);
    else
        snprintf(e, sizeof e, "<enable xmlns='" XB_NS_SM "' resume='true'/>");
    emit_str(s, e);
    s->phase = P_SM_ENABLE;
}

static void on_enabled(struct xb_session *s, const struct xb_stanza *st)
{
    const char *resume = xb_stanza_attr(st, NULL, "resume");
    const char *id = xb_stanza_attr(st, NULL, "id");

    xb_sm_start(&s->sm);
    sm_settle(s); /* before the new id: settling drops the old one */
    if (s->cfg.sm == XB_SM_RESUME && id && *id && resume &&
        (!strcmp(resume, "true") || !strcmp(resume, "1"))) {
        if (xb_sm_set_id(&s->sm, id)) {
            fail(s, XB_ENOMEM, XB_COND_NONE, "out of memory");
            return;
        }
        if (parse_u32(st, "max", &s->sm.max_s))
            s->sm.max_s = 0; /* none, or not a number: not known */
    }
    became_ready(s);
}

static void on_resumed(struct xb_session *s, const struct xb_stanza *st)
{
    uint32_t h;

    if (parse_u32(st, "h", &h)) {
        fail(s, XB_EPROTO, XB_COND_BAD_FORMAT, "<resumed/> without a valid h");
        return;
    }
    if (sm_ack(s, h))
        return;
    s->sm.on = 1;
    s->sm.stats.resumes++;
    s->phase = P_READY;
    s->last_rx = s->last_tx = now(s);
    /* What the server missed, in order, exactly once; then ask whether it
     * has it all. */
    xb_sm_replay(&s->sm, replay, s);
    if (s->sm.qlen)
        sm_request(s);
    else
        s->sm.requested = xb_sm_out(&s->sm);
    arm_timer(s);
    s->hooks.ready(s->ud, s->full_jid, 1);
}

static void on_resume_failed(struct xb_session *s, const struct xb_stanza *st)
{
    uint32_t h;

    s->sm.stats.resume_failures++;
    /* With h the server says what it had: the rest it never handled. */
    s->sm_known = !parse_u32(st, "h", &h) && xb_sm_ack(&s->sm, h) == 0;
    xb_sm_set_id(&s->sm, NULL);
    note(s, "the server could not resume the stream%s: binding afresh",
         s->sm_known ? "" : " (and did not say what it had)");
    send_bind(s);
}

static void on_sm(struct xb_session *s, const struct xb_stanza *st)
{
    const char *name = xb_stanza_name(st);
    uint32_t h;

    if (s->phase == P_READY && s->sm.on && !strcmp(name, "r")) {
        s->sm.stats.answers++;
        sm_answer(s);
    } else if ((s->phase == P_READY || s->phase == P_CLOSING) && s->sm.on &&
               !strcmp(name, "a")) {
        if (parse_u32(st, "h", &h))
            fail(s, XB_EPROTO, XB_COND_BAD_FORMAT, "<a/> without a valid h");
        else if (!sm_ack(s, h))
            s->sm.stats.acks++;
    } else if (s->phase == P_SM_ENABLE && !strcmp(name, "enabled")) {
        on_enabled(s, st);
    } else if (s->phase == P_SM_ENABLE && !strcmp(name, "failed")) {
        s->sm.stats.refused++;
        note(s, "the server refused stream management");
        sm_settle(s);
        became_ready(s);
    } else if (s->phase == P_SM_RESUME && !strcmp(name, "resumed")) {
        on_resumed(s, st);
    } else if (s->phase == P_SM_RESUME && !strcmp(name, "failed")) {
        on_resume_failed(s, st);
    }
    /* Anything else (an <r/> on a stream that never enabled stream
     * management) is ignored, as before XEP-0198. */
}

static int is_iq_error(const struct xb_stanza *st)
{
    const char *type = xb_stanza_attr(st, NULL, "type");

    return !type || strcmp(type, "result") != 0;
}

static void on_negotiation_iq(struct xb_session *s, const struct xb_stanza *st)
{
    const char *id = xb_stanza_attr(st, NULL, "id");
    const struct xb_stanza *jid;
    const char *text;
    struct xb_jid bound;

    if (s->phase == P_BIND && id && !strcmp(id, "bind_1")) {
        jid = xb_stanza_child(st, XB_NS_BIND, "bind");
        if (jid)
            jid = xb_stanza_child(jid, XB_NS_BIND, "jid");
        text = jid ? xb_stanza_text(jid, NULL) : NULL;
        if (is_iq_error(st) || !text) {
            fail(s, XB_EPROTO, XB_COND_NONE, "resource binding refused");
            return;
        }
        if (xb_jid_parse(&bound, text, strlen(text), NULL)) {
            fail(s, XB_EPROTO, XB_COND_NONE, "bound JID '%.80s' is invalid",
                 text);
            return;
        }
        free(s->full_jid);
        s->full_jid = strdup(bound.full);
        xb_jid_clear(&bound);
        if (!s->full_jid) {
            fail(s, XB_ENOMEM, XB_COND_NONE, "out of memory");
            return;
        }
        if (s->need_legacy_session) {
            emit_str(s,
                     "<iq type='set' id='sess_1'><session xmlns='" XB_NS_SESSION
                     "'/></iq>");
            s->phase = P_LEGACY;
            return;
        }
        after_bind(s);
    } else if (s->phase == P_LEGACY && id && !strcmp(id, "sess_1")) {
        if (is_iq_error(st))
            fail(s, XB_EPROTO, XB_COND_NONE, "session establishment refused");
        else
            after_bind(s);
    }
}

static void format_id(char *buf, size_t size, uint32_t n)
{
    snprintf(buf, size, "xb%x", (unsigned)n);
}

/* The pending IQ whose id is exactly id (as format_id wrote it). */
static struct iq_slot *find_iq(struct xb_session *s, const char *id)
{
    char want[16];
    unsigned i;

    if (!id || strncmp(id, "xb", 2))
        return NULL;
    for (i = 0; i < XB_SESSION_MAX_IQS; i++) {
        if (!s->iqs[i].id)
            continue;
        format_id(want, sizeof want, s->iqs[i].id);
        if (!strcmp(want, id))
            return &s->iqs[i];
    }
    return NULL;
}

static void on_iq_answer(struct xb_session *s, const struct xb_stanza *st);

static void on_ready_stanza(struct xb_session *s, const struct xb_stanza *st)
{
    const char *type;

    if (!xb_stanza_is(st, XB_NS_CLIENT, "iq")) {
        if (xb_stanza_is(st, XB_NS_CLIENT, NULL))
            s->hooks.stanza(s->ud, st);
        return;
    }
    /* Requests are the bot's to answer (bot.c holds the IQ rules). */
    type = xb_stanza_attr(st, NULL, "type");
    if (type && (!strcmp(type, "get") || !strcmp(type, "set")))
        s->hooks.stanza(s->ud, st);
    else
        on_iq_answer(s, st);
}

/* A result or error: to its tracked request, or to the host. */
static void on_iq_answer(struct xb_session *s, const struct xb_stanza *st)
{
    struct iq_slot *slot, copy;
    const char *type = xb_stanza_attr(st, NULL, "type");

    if (!type || (strcmp(type, "result") && strcmp(type, "error")))
        return;
    slot = find_iq(s, xb_stanza_attr(st, NULL, "id"));
    if (!slot) {
        s->hooks.stanza(s->ud, st);
        return;
    }
    copy = *slot;
    slot->id = 0;
    if (copy.id == s->ping_id)
        s->ping_id = 0;
    arm_timer(s);
    if (copy.cb)
        copy.cb(copy.cb_ud, st);
}

static void on_stream_error(struct xb_session *s, const struct xb_stanza *st)
{
    const struct xb_stanza *c, *t = NULL;
    enum xb_cond cond = XB_COND_UNDEFINED_CONDITION;
    const char *text = NULL;

    for (c = xb_stanza_first(st); c; c = xb_stanza_next(c)) {
        if (!xb_stanza_is(c, XB_NS_STREAM_ERRORS, NULL))
            continue;
        if (!strcmp(xb_stanza_name(c), "text"))
            t = c;
        else
            cond = xb_cond_from_name(xb_stanza_name(c));
    }
    if (t)
        text = xb_stanza_text(t, NULL);
    s->stream_cond = cond;
    if (may_write(s))
        emit_str(s, "</stream:stream>");
    {
        char msg[200];

        xb_stream_error_reason(msg, sizeof msg, cond, NULL, text);
        finish(s, XB_ECLOSED, msg);
    }
}

static void on_stanza(void *ud, struct xb_stanza *st)
{
    struct xb_session *s = ud;

    trace_in(s, st);
    if (s->sm.on && sm_counts(st))
        s->sm.in++; /* modulo 2^32 */
    if (s->phase == P_CLOSED) {
        /* nothing: the session is over */
    } else if (xb_stanza_is(st, XB_NS_STREAMS, "error")) {
        on_stream_error(s, st);
    } else if (xb_stanza_is(st, XB_NS_SM, NULL)) {
        on_sm(s, st);
    } else if (s->phase == P_CLOSING) {
        /* Our </stream:stream> is out: deliver what still arrives, answer
         * nothing, negotiate nothing, and wait for the peer's close. */
        if (xb_stanza_is(st, XB_NS_CLIENT, "message") ||
            xb_stanza_is(st, XB_NS_CLIENT, "presence"))
            s->hooks.stanza(s->ud, st);
        else if (xb_stanza_is(st, XB_NS_CLIENT, "iq"))
            on_iq_answer(s, st);
    } else if (xb_stanza_is(st, XB_NS_STREAMS, "features")) {
        if (s->phase == P_FEATURES)
            on_features(s, st);
    } else if (xb_stanza_is(st, XB_NS_TLS, NULL)) {
        if (s->phase != P_TLS_PROCEED) {
            fail(s, XB_EPROTO, XB_COND_UNSUPPORTED_STANZA_TYPE,
                 "unexpected <%s/> from the server", xb_stanza_name(st));
        } else if (!xb_stanza_is(st, NULL, "proceed")) {
            fail(s, XB_EPROTO, XB_COND_NONE, "STARTTLS refused by the server");
        } else {
            s->phase = P_TLS;
            s->tls_switch = 1;
            xb_parser_stop(s->parser);
        }
    } else if (xb_stanza_is(st, XB_NS_SASL, NULL)) {
        on_sasl(s, st);
    } else if (s->phase == P_READY) {
        on_ready_stanza(s, st);
    } else if (xb_stanza_is(st, XB_NS_CLIENT, "iq")) {
        on_negotiation_iq(s, st);
    }
    xb_stanza_free(st);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

/* Stanzas wait for an ack nobody asked for yet: ask after sm_ack_ms. */
static int ack_due(const struct xb_session *s)
{
    return s->phase == P_READY && s->sm.on && s->sm.qlen &&
           s->sm.requested != xb_sm_out(&s->sm);
}

static void arm_timer(struct xb_session *s)
{
    uint64_t t = 0, n;
    unsigned i;

    if (s->phase == P_CLOSED || s->phase == P_IDLE) {
        s->hooks.set_timer(s->ud, -1);
        return;
    }
    if (s->phase != P_READY && s->phase != P_CLOSING)
        t = s->login_deadline;
    if (s->phase == P_CLOSING)
        t = earliest(t, s->close_deadline);
    if (s->phase == P_READY && s->cfg.keepalive_ms && !s->ping_id)
        t = earliest(t, s->last_rx + s->cfg.keepalive_ms);
    if (ack_due(s))
        t = earliest(t, s->last_tx + s->cfg.sm_ack_ms);
    for (i = 0; i < XB_SESSION_MAX_IQS; i++)
        if (s->iqs[i].id)
            t = earliest(t, s->iqs[i].deadline);
    if (!t) {
        s->hooks.set_timer(s->ud, -1);
        return;
    }
    n = now(s);
    s->hooks.set_timer(s->ud, t > n ? (int64_t)(t - n) : 0);
}

static void on_ping_answer(void *cb_ud, const struct xb_stanza *st)
{
    struct xb_session *s = cb_ud;

    /* Any answer, even an error, proves the server is alive. */
    if (!st && s->phase == P_READY)
        fail(s, XB_ETIMEOUT, XB_COND_NONE,
             "the server did not answer a keepalive ping");
}

static void send_keepalive(struct xb_session *s)
{
    struct xb_stanza *iq = xb_stanza_new(XB_NS_CLIENT, "iq");
    int rc = XB_ENOMEM;

    if (iq && !xb_stanza_set_attr(iq, NULL, "type", "get") &&
        !xb_stanza_set_attr(iq, NULL, "to", s->jid.domain) &&
        xb_stanza_add_child(iq, XB_NS_PING, "ping"))
        rc = xb_session_send_iq(s, iq, on_ping_answer, s);
    if (!rc) {
        unsigned i;

        s->ping_id = s->next_id;
        /* A silent link (a blackhole) is noticed after twice the keepalive
         * time, not after the IQ timeout. */
        for (i = 0; i < XB_SESSION_MAX_IQS; i++)
            if (s->iqs[i].id == s->ping_id &&
                s->cfg.keepalive_ms < s->cfg.iq_timeout_ms)
                s->iqs[i].deadline = now(s) + s->cfg.keepalive_ms;
        arm_timer(s);
    }
    xb_stanza_free(iq);
    if (rc == XB_ELIMIT)
        s->last_rx = now(s); /* all IQ slots busy: try again later */
    else if (rc)
        fail(s, rc, XB_COND_NONE, "out of memory");
}

void xb_session_timer(struct xb_session *s)
{
    uint64_t t = now(s);
    unsigned i;

    if (s->phase == P_CLOSED || s->phase == P_IDLE)
        return;
    if (s->phase != P_READY && s->phase != P_CLOSING &&
        t >= s->login_deadline) {
        fail(s, XB_ETIMEOUT, XB_COND_CONNECTION_TIMEOUT,
             "login did not complete within %u ms",
             (unsigned)s->cfg.login_timeout_ms);
        return;
    }
    if (s->phase == P_CLOSING && t >= s->close_deadline) {
        finish(s, 0, "closed (the server did not answer the close)");
        return;
    }
    for (i = 0; i < XB_SESSION_MAX_IQS && s->phase != P_CLOSED; i++) {
        struct iq_slot slot = s->iqs[i];

        if (!slot.id || t < slot.deadline)
            continue;
        s->iqs[i].id = 0;
        if (slot.id == s->ping_id)
            s->ping_id = 0;
        if (slot.cb)
            slot.cb(slot.cb_ud, NULL);
    }
    if (s->phase == P_READY && s->cfg.keepalive_ms && !s->ping_id &&
        t >= s->last_rx + s->cfg.keepalive_ms)
        send_keepalive(s);
    if (ack_due(s) && t >= s->last_tx + s->cfg.sm_ack_ms)
        sm_request(s);
    arm_timer(s);
}

struct xb_session *xb_session_new(const struct xb_session_config *cfg,
                                  const struct xb_session_hooks *hooks,
                                  void *ud)
{
    static const struct xb_parser_hooks ph = {on_stream_open, on_stanza,
                                              on_stream_close};
    struct xb_session *s;

    if (!cfg->jid || !cfg->password)
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->hooks = *hooks;
    s->ud = ud;
    s->cfg = *cfg;
    if (!s->cfg.login_timeout_ms)
        s->cfg.login_timeout_ms = DEFAULT_LOGIN_TIMEOUT;
    if (!s->cfg.iq_timeout_ms)
        s->cfg.iq_timeout_ms = DEFAULT_IQ_TIMEOUT;
    if (!s->cfg.close_timeout_ms)
        s->cfg.close_timeout_ms = DEFAULT_CLOSE_TIMEOUT;
    if (!s->cfg.sm_ack_every)
        s->cfg.sm_ack_every = DEFAULT_SM_ACK_EVERY;
    if (!s->cfg.sm_ack_ms)
        s->cfg.sm_ack_ms = DEFAULT_SM_ACK_MS;
    s->sm.queue_max = cfg->sm_queue_max;
    s->cfg.jid = s->cfg.password = NULL;
    xb_buf_init(&s->out);
    if (xb_jid_parse(&s->jid, cfg->jid, strlen(cfg->jid), NULL)) {
        free(s);
        return NULL;
    }
    s->password = strdup(cfg->password);
    s->parser = cfg->engine
                    ? xb_parser_new_shared(cfg->engine, &ph, s, &cfg->limits, 0)
                    : xb_parser_new(&ph, s, &cfg->limits, 0);
    if (!s->password || !s->parser) {
        xb_session_free(s);
        return NULL;
    }
    s->phase = P_IDLE;
    return s;
}

void xb_session_free(struct xb_session *s)
{
    if (!s)
        return;
    xb_parser_free(s->parser);
    xb_sasl_free(s->sasl);
    xb_jid_clear(&s->jid);
    if (s->password) {
        /* volatile: the wipe must not be optimized away before free. */
        volatile char *p = s->password;

        while (*p)
            *p++ = 0;
        free(s->password);
    }
    free(s->full_jid);
    xb_buf_free(&s->out);
    xb_sm_clear(&s->sm);
    free(s);
}

int xb_session_start(struct xb_session *s)
{
    if ((s->phase != P_IDLE && s->phase != P_CLOSED) || s->in_feed)
        return XB_ESTATE; /* expat cannot be reset from its own handler */
    if (xb_parser_reset(s->parser))
        return XB_ENOMEM;
    xb_sasl_free(s->sasl);
    s->sasl = NULL;
    s->secure = s->cfg.tls == XB_TLS_DIRECT;
    s->authenticated = 0;
    s->restart = s->tls_switch = 0;
    s->mech = XB_SASL_NONE;
    s->stream_cond = XB_COND_NONE;
    s->sasl_failure[0] = '\0';
    s->ping_id = 0;
    memset(s->iqs, 0, sizeof s->iqs);
    s->sm_offered = s->sm_known = s->sm_closing = s->sm_full = 0;
    s->login_deadline = now(s) + s->cfg.login_timeout_ms;
    open_stream(s);
    arm_timer(s);
    return 0;
}

int xb_session_set_tls(struct xb_session *s, enum xb_tls_mode tls)
{
    if ((s->phase != P_IDLE && s->phase != P_CLOSED) || s->in_feed)
        return XB_ESTATE;
    s->cfg.tls = tls;
    return 0;
}

int xb_session_feed(struct xb_session *s, const char *data, size_t len)
{
    int rc;

    if (s->phase == P_CLOSED)
        return XB_ECLOSED;
    if (s->phase == P_IDLE || s->phase == P_TLS)
        return XB_ESTATE;
    s->last_rx = now(s);
    s->in_feed = 1;
    rc = xb_parser_feed(s->parser, data, len);
    s->in_feed = 0;
    if (rc && s->phase != P_CLOSED)
        fail(s, rc, xb_parser_condition(s->parser), "%s: %s",
             xb_cond_name(xb_parser_condition(s->parser)),
             xb_parser_message(s->parser));
    if (s->phase == P_CLOSED)
        return XB_ECLOSED;
    if (s->restart || s->tls_switch) {
        /* The old stream ended with <success/> or <proceed/>: what follows
         * is a new stream (or TLS), so the parser starts over. */
        s->restart = 0;
        if (xb_parser_reset(s->parser)) {
            fail(s, XB_ENOMEM, XB_COND_NONE, "out of memory");
            return XB_ECLOSED;
        }
        if (s->tls_switch) {
            s->tls_switch = 0;
            s->hooks.starttls(s->ud);
        } else {
            open_stream(s);
        }
    }
    if (s->phase == P_CLOSED)
        return XB_ECLOSED;
    arm_timer(s);
    return 0;
}

void xb_session_tls_ready(struct xb_session *s)
{
    if (s->phase != P_TLS)
        return;
    s->secure = 1;
    open_stream(s);
}

void xb_session_abort(struct xb_session *s, const char *msg)
{
    if (s->phase == P_CLOSED || s->phase == P_IDLE)
        return;
    if (s->phase == P_CLOSING) {
        finish(s, 0, "closed");
        return;
    }
    finish(s, XB_ECLOSED, msg);
}

void xb_session_close(struct xb_session *s)
{
    if (s->phase == P_CLOSED || s->phase == P_IDLE || s->phase == P_CLOSING)
        return;
    if (s->phase == P_TLS) {
        finish(s, 0, "closed");
        return;
    }
    if (s->sm.on)
        sm_answer(s); /* what we handled, before the close (XEP-0198 4) */
    s->sm_closing = 1;
    emit_str(s, "</stream:stream>");
    s->phase = P_CLOSING;
    s->close_deadline = now(s) + s->cfg.close_timeout_ms;
    arm_timer(s);
}

int xb_session_send(struct xb_session *s, const struct xb_stanza *st)
{
    /* While a resumable stream is down, or being resumed, stanzas wait in
     * the queue and go out on resumption. */
    if (s->phase == P_READY ||
        (s->sm.id && s->cfg.sm == XB_SM_RESUME && s->phase != P_CLOSING &&
         s->phase != P_IDLE))
        return send_stanza(s, st);
    return XB_ESTATE;
}

int xb_session_send_iq(struct xb_session *s, struct xb_stanza *st, xb_iq_cb cb,
                       void *cb_ud)
{
    struct iq_slot *slot = NULL;
    char id[16];
    unsigned i;
    int rc;

    if (s->phase != P_READY)
        return XB_ESTATE;
    for (i = 0; i < XB_SESSION_MAX_IQS && !slot; i++)
        if (!s->iqs[i].id)
            slot = &s->iqs[i];
    if (!slot)
        return XB_ELIMIT;
    if (++s->next_id == 0)
        s->next_id = 1;
    format_id(id, sizeof id, s->next_id);
    rc = xb_stanza_set_attr(st, NULL, "id", id);
    if (!rc)
        rc = send_stanza(s, st);
    if (rc)
        return rc;
    slot->id = s->next_id;
    slot->cb = cb;
    slot->cb_ud = cb_ud;
    slot->deadline = now(s) + s->cfg.iq_timeout_ms;
    arm_timer(s);
    return 0;
}

enum xb_session_state xb_session_state(const struct xb_session *s)
{
    switch (s->phase) {
    case P_IDLE:
        return XB_SESSION_IDLE;
    case P_READY:
        return XB_SESSION_READY;
    case P_CLOSING:
        return XB_SESSION_CLOSING;
    case P_CLOSED:
        return XB_SESSION_CLOSED;
    default:
        return XB_SESSION_CONNECTING;
    }
}

enum xb_cond xb_session_stream_cond(const struct xb_session *s)
{
    return s->stream_cond;
}

const char *xb_session_sasl_failure(const struct xb_session *s)
{
    return s->sasl_failure;
}

enum xb_sasl_mech xb_session_mech(const struct xb_session *s)
{
    return s->mech;
}

int xb_session_secure(const struct xb_session *s)
{
    return s->secure;
}

int xb_session_resumable(const struct xb_session *s)
{
    return s->phase == P_CLOSED && sm_can_resume(s, s->hooks.now(s->ud));
}

struct xb_sm *xb_session_sm(struct xb_session *s)
{
    return &s->sm;
}

void xb_session_sm_drop(struct xb_session *s)
{
    sm_drop(s);
}
