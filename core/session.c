/*
 * Client stream negotiation and stanza plumbing. Each step is chosen from
 * the features the server offers and what is already done (secure,
 * authenticated, bound), in the spirit of mellium's session-state bits.
 * Stream restarts happen after the parser has returned, never inside it.
 */
#include "session.h"

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
};

static void arm_timer(struct xb_session *s);

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
    s->hooks.set_timer(s->ud, -1);
    s->hooks.closed(s->ud, err, msg);
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
    if (cond != XB_COND_NONE) {
        s->stream_cond = cond;
        /* After our </stream:stream> nothing more may be written. */
        if (s->phase != P_IDLE && s->phase != P_TLS && s->phase != P_CLOSING) {
            char e[160];

            snprintf(e, sizeof e,
                     "<stream:error><%s xmlns='" XB_NS_STREAM_ERRORS
                     "'/></stream:error>",
                     xb_cond_name(cond));
            emit_str(s, e);
        }
    }
    if (s->phase != P_IDLE && s->phase != P_TLS && s->phase != P_CLOSING)
        emit_str(s, "</stream:stream>");
    finish(s, err, msg);
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

static void became_ready(struct xb_session *s)
{
    s->phase = P_READY;
    s->last_rx = now(s);
    if (!s->cfg.no_presence)
        emit_str(s, "<presence/>");
    arm_timer(s);
    s->hooks.ready(s->ud, s->full_jid);
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
        became_ready(s);
    } else if (s->phase == P_LEGACY && id && !strcmp(id, "sess_1")) {
        if (is_iq_error(st))
            fail(s, XB_EPROTO, XB_COND_NONE, "session establishment refused");
        else
            became_ready(s);
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
    if (s->phase != P_CLOSING)
        emit_str(s, "</stream:stream>");
    {
        char msg[200];

        snprintf(msg, sizeof msg, "stream error from the server: %s%s%.120s",
                 xb_cond_name(cond), text ? ": " : "", text ? text : "");
        finish(s, XB_ECLOSED, msg);
    }
}

static void on_stanza(void *ud, struct xb_stanza *st)
{
    struct xb_session *s = ud;

    trace_in(s, st);
    if (s->phase == P_CLOSED) {
        /* nothing: the session is over */
    } else if (xb_stanza_is(st, XB_NS_STREAMS, "error")) {
        on_stream_error(s, st);
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
    if (!rc)
        s->ping_id = s->next_id;
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
    s->login_deadline = now(s) + s->cfg.login_timeout_ms;
    open_stream(s);
    arm_timer(s);
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
    emit_str(s, "</stream:stream>");
    s->phase = P_CLOSING;
    s->close_deadline = now(s) + s->cfg.close_timeout_ms;
    arm_timer(s);
}

int xb_session_send(struct xb_session *s, const struct xb_stanza *st)
{
    if (s->phase != P_READY)
        return XB_ESTATE;
    return emit_stanza(s, st);
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
        rc = emit_stanza(s, st);
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
