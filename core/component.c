/*
 * The XEP-0114 component stream: open, read the server's stream id, send
 * the handshake digest, wait for the empty <handshake/>, then carry
 * stanzas. jabber:client and jabber:component:accept are one content
 * namespace seen from two kinds of stream (servers treat them alike), so
 * inbound elements are renamed to jabber:client and outbound ones are
 * written as if jabber:client were the default: no xmlns on the wire.
 */
#include "component.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "buf.h"
#include "error.h"
#include "jid.h"
#include "serialize.h"
#include "stanza_int.h"

#define DEFAULT_LOGIN_TIMEOUT 30000
#define DEFAULT_CLOSE_TIMEOUT 2000
/* A serialization buffer bigger than this is released after use. */
#define KEEP_BUF 4096

enum phase {
    P_IDLE,
    P_HEADER,    /* stream opened, waiting for the server's header */
    P_NOID,      /* the header had no id: a stream error should follow */
    P_HANDSHAKE, /* digest sent, waiting for <handshake/> */
    P_READY,
    P_CLOSING, /* our </stream:stream> is out */
    P_CLOSED
};

struct xb_component {
    struct xb_component_hooks hooks;
    void *ud;
    struct xb_component_config cfg;
    char *domain;
    char *secret;
    struct xb_parser *parser;
    struct xb_buf out;
    enum phase phase;
    int in_feed;
    enum xb_cond stream_cond;
    uint64_t login_deadline;
    uint64_t close_deadline;
    uint64_t last_tx;
};

static const char client_ns[] = XB_NS_CLIENT;

static uint64_t now(struct xb_component *c)
{
    return c->hooks.now(c->ud);
}

static void emit(struct xb_component *c, const char *data, size_t len)
{
    if (c->hooks.trace)
        c->hooks.trace(c->ud, '>', data, len);
    c->hooks.write(c->ud, data, len);
    c->last_tx = now(c);
}

static void emit_str(struct xb_component *c, const char *str)
{
    emit(c, str, strlen(str));
}

static void arm_timer(struct xb_component *c)
{
    uint64_t t = 0, n;

    switch (c->phase) {
    case P_HEADER:
    case P_NOID:
    case P_HANDSHAKE:
        t = c->login_deadline;
        break;
    case P_READY:
        if (c->cfg.keepalive_ms)
            t = c->last_tx + c->cfg.keepalive_ms;
        break;
    case P_CLOSING:
        t = c->close_deadline;
        break;
    default:
        break;
    }
    if (!t) {
        c->hooks.set_timer(c->ud, -1);
        return;
    }
    n = now(c);
    c->hooks.set_timer(c->ud, t > n ? (int64_t)(t - n) : 0);
}

/* Ends the stream: the timer stops, the host is told. Idempotent. */
static void finish(struct xb_component *c, int err, const char *msg)
{
    if (c->phase == P_CLOSED)
        return;
    c->phase = P_CLOSED;
    if (c->in_feed)
        xb_parser_stop(c->parser);
    c->hooks.set_timer(c->ud, -1);
    c->hooks.closed(c->ud, err, msg);
}

/* Fails the stream, sending a stream error with cond first unless cond is
 * XB_COND_NONE. */
static void fail(struct xb_component *c, int err, enum xb_cond cond,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail(struct xb_component *c, int err, enum xb_cond cond,
                 const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    /* After our </stream:stream> nothing more may be written. */
    int open = c->phase != P_IDLE && c->phase != P_CLOSING;

    if (c->phase == P_CLOSED)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    xb_one_line(msg);
    if (cond != XB_COND_NONE) {
        c->stream_cond = cond;
        if (open) {
            char e[160];

            snprintf(e, sizeof e,
                     "<stream:error><%s xmlns='" XB_NS_STREAM_ERRORS
                     "'/></stream:error>",
                     xb_cond_name(cond));
            emit_str(c, e);
        }
    }
    if (open)
        emit_str(c, "</stream:stream>");
    finish(c, err, msg);
}

int xb_component_digest(const char *stream_id, const char *secret,
                        char out[XB_COMPONENT_DIGEST_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    if (!ctx)
        return XB_ENOMEM;
    /* Two updates: the id and the secret are never copied together. */
    ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
         EVP_DigestUpdate(ctx, stream_id, strlen(stream_id)) &&
         EVP_DigestUpdate(ctx, secret, strlen(secret)) &&
         EVP_DigestFinal_ex(ctx, md, &len) && len == 20;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return XB_ENOMEM; /* OpenSSL fails here only when out of memory */
    for (i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * len] = '\0';
    return 0;
}

static void open_stream(struct xb_component *c)
{
    char hdr[1200];

    snprintf(hdr, sizeof hdr,
             "<?xml version='1.0'?><stream:stream xmlns='" XB_NS_COMPONENT
             "' xmlns:stream='" XB_NS_STREAMS "' to='%s'>",
             c->domain);
    c->phase = P_HEADER;
    emit_str(c, hdr);
}

static void send_handshake(struct xb_component *c, const char *id)
{
    char digest[XB_COMPONENT_DIGEST_SIZE];
    char hs[sizeof digest + 32];
    int rc = xb_component_digest(id, c->secret, digest);

    if (rc) {
        fail(c, rc, XB_COND_NONE, "out of memory");
        return;
    }
    if (c->hooks.trace) {
        static const char red[] = "<handshake>[redacted]</handshake>";

        c->hooks.trace(c->ud, '>', red, sizeof red - 1);
    }
    snprintf(hs, sizeof hs, "<handshake>%s</handshake>", digest);
    c->hooks.write(c->ud, hs, strlen(hs));
    c->last_tx = now(c);
    c->phase = P_HANDSHAKE;
}

static void on_stream_open(void *ud, const struct xb_stream_header *h)
{
    struct xb_component *c = ud;

    if (c->hooks.trace) {
        char line[160];

        snprintf(line, sizeof line, "<stream:stream from='%.60s' id='%.40s'>",
                 h->from ? h->from : "", h->id ? h->id : "");
        c->hooks.trace(c->ud, '<', line, strlen(line));
    }
    /* Closed before the server's header came: no handshake after our
     * </stream:stream>; wait for the server's close. */
    if (c->phase == P_CLOSING)
        return;
    if (!h->content_ns || strcmp(h->content_ns, XB_NS_COMPONENT)) {
        fail(c, XB_EPROTO, XB_COND_INVALID_NAMESPACE,
             "stream namespace is '%.60s', not " XB_NS_COMPONENT
             " (is this the server's component port?)",
             h->content_ns ? h->content_ns : "");
        return;
    }
    /* Prosody refuses an unknown domain with an empty id in the header it
     * sends before the error: wait for that error. */
    if (!h->id || !h->id[0])
        c->phase = P_NOID;
    else
        send_handshake(c, h->id);
}

static void on_stream_close(void *ud)
{
    struct xb_component *c = ud;

    if (c->phase == P_CLOSING) {
        finish(c, 0, "closed");
        return;
    }
    /* Answer the close so the server can drop the TCP connection. */
    emit_str(c, "</stream:stream>");
    finish(c, XB_ECLOSED,
           c->phase == P_READY ? "the server closed the stream"
                               : "the server closed the stream during the "
                                 "handshake");
}

/* What a stream error condition means for a component, if it says more
 * than its name. */
static const char *cond_hint(enum xb_cond cond)
{
    switch (cond) {
    case XB_COND_NOT_AUTHORIZED:
        return " (wrong secret?)";
    case XB_COND_CONFLICT:
        return " (another connection holds the domain)";
    case XB_COND_HOST_UNKNOWN:
        return " (the server has no component of that name)";
    case XB_COND_INVALID_FROM:
        return " (a stanza was sent from outside the domain)";
    default:
        return "";
    }
}

static void on_stream_error(struct xb_component *c, const struct xb_stanza *st)
{
    const struct xb_stanza *e, *t = NULL;
    enum xb_cond cond = XB_COND_UNDEFINED_CONDITION;
    const char *text = NULL;
    char msg[256];

    for (e = xb_stanza_first(st); e; e = xb_stanza_next(e)) {
        if (!xb_stanza_is(e, XB_NS_STREAM_ERRORS, NULL))
            continue;
        if (!strcmp(xb_stanza_name(e), "text"))
            t = e;
        else
            cond = xb_cond_from_name(xb_stanza_name(e));
    }
    if (t)
        text = xb_stanza_text(t, NULL);
    c->stream_cond = cond;
    if (c->phase != P_CLOSING)
        emit_str(c, "</stream:stream>");
    xb_stream_error_reason(msg, sizeof msg, cond, cond_hint(cond), text);
    finish(c, cond == XB_COND_NOT_AUTHORIZED ? XB_EAUTH : XB_ECLOSED, msg);
}

static void trace_in(struct xb_component *c, const struct xb_stanza *st)
{
    struct xb_buf b;

    if (!c->hooks.trace)
        return;
    xb_buf_init(&b);
    if (xb_stanza_is(st, XB_NS_COMPONENT, "handshake") && xb_stanza_first(st)) {
        /* A server echoes no digest, but whatever it sends there is a
         * credential's place: keep it out of logs. */
        xb_buf_puts(&b, "<handshake>[redacted]</handshake>");
    } else if (xb_serialize(&b, st, XB_NS_COMPONENT)) {
        xb_buf_reset(&b);
    }
    if (b.len)
        c->hooks.trace(c->ud, '<', b.data, b.len);
    xb_buf_free(&b);
}

/* Renames every element of st in jabber:component:accept to jabber:client.
 * The tree is the parser's, handed to us: its names may be repointed at a
 * constant (copies and frees never write through them). */
static void to_client_ns(struct xb_stanza *st)
{
    struct xb_stanza *n = st;

    for (;;) {
        if (!XB_IS_TEXT(n) && !strcmp(n->ns, XB_NS_COMPONENT))
            n->ns = client_ns;
        if (n->first) {
            n = n->first;
            continue;
        }
        while (n != st && !n->next)
            n = n->parent;
        if (n == st)
            return;
        n = n->next;
    }
}

static int is_stanza(const struct xb_stanza *st)
{
    return xb_stanza_is(st, XB_NS_CLIENT, "message") ||
           xb_stanza_is(st, XB_NS_CLIENT, "presence") ||
           xb_stanza_is(st, XB_NS_CLIENT, "iq");
}

static void on_handshake_answer(struct xb_component *c,
                                const struct xb_stanza *st)
{
    const struct xb_stanza *n;

    for (n = xb_stanza_first(st); n; n = xb_stanza_next(n)) {
        if (!xb_stanza_is_text(n)) {
            fail(c, XB_EPROTO, XB_COND_NONE,
                 "the server's <handshake/> has a child <%.40s/>",
                 xb_stanza_name(n));
            return;
        }
    }
    c->phase = P_READY;
    arm_timer(c);
    c->hooks.ready(c->ud);
}

static void on_stanza(void *ud, struct xb_stanza *st)
{
    struct xb_component *c = ud;

    trace_in(c, st);
    if (c->phase == P_CLOSED) {
        /* nothing: the stream is over */
    } else if (xb_stanza_is(st, XB_NS_STREAMS, "error")) {
        on_stream_error(c, st);
    } else if (c->phase == P_HANDSHAKE &&
               xb_stanza_is(st, XB_NS_COMPONENT, "handshake")) {
        on_handshake_answer(c, st);
    } else if (c->phase == P_READY || c->phase == P_CLOSING) {
        /* Closing: what still arrives is delivered; answers to it are
         * refused by xb_component_send(). */
        to_client_ns(st);
        if (is_stanza(st))
            c->hooks.stanza(c->ud, st);
    } else if (c->phase == P_NOID) {
        fail(c, XB_EPROTO, XB_COND_NONE,
             "the server's stream header has no id (no handshake possible)");
    } else {
        fail(c, XB_EPROTO, XB_COND_UNSUPPORTED_STANZA_TYPE,
             "unexpected <%.40s/> before the server accepted the handshake",
             xb_stanza_name(st));
    }
    xb_stanza_free(st);
}

void xb_component_timer(struct xb_component *c)
{
    uint64_t t = now(c);

    switch (c->phase) {
    case P_HEADER:
    case P_NOID:
    case P_HANDSHAKE:
        if (t >= c->login_deadline) {
            fail(c, XB_ETIMEOUT, XB_COND_CONNECTION_TIMEOUT,
                 "the handshake did not complete within %u ms%s",
                 (unsigned)c->cfg.login_timeout_ms,
                 c->phase == P_HEADER ? " (no stream header from the server)"
                 : c->phase == P_NOID ? " (the server's stream header has "
                                        "no id)"
                                      : "");
            return;
        }
        break;
    case P_READY:
        if (c->cfg.keepalive_ms && t >= c->last_tx + c->cfg.keepalive_ms)
            emit_str(c, " ");
        break;
    case P_CLOSING:
        if (t >= c->close_deadline) {
            finish(c, 0, "closed (the server did not answer the close)");
            return;
        }
        break;
    default:
        return;
    }
    arm_timer(c);
}

/* Lowercases ASCII letters of a domain for comparison. */
static int domain_equal(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && !strncasecmp(a, b, alen);
}

/* Whether JID string jid is the domain or under it (localpart@domain,
 * either with a resource). */
static int under_domain(const char *jid, const char *domain)
{
    const char *slash = strchr(jid, '/'), *at, *d = jid;
    size_t n = slash ? (size_t)(slash - jid) : strlen(jid);

    at = memchr(jid, '@', n);
    if (at) {
        d = at + 1;
        n -= (size_t)(d - jid);
    }
    return domain_equal(d, n, domain);
}

struct xb_component *xb_component_new(const struct xb_component_config *cfg,
                                      const struct xb_component_hooks *hooks,
                                      void *ud)
{
    static const struct xb_parser_hooks ph = {on_stream_open, on_stanza,
                                              on_stream_close};
    struct xb_component *c;
    struct xb_jid j;

    if (!cfg->domain || !cfg->secret)
        return NULL;
    if (xb_jid_parse(&j, cfg->domain, strlen(cfg->domain), NULL))
        return NULL;
    if (j.local || j.resource) {
        xb_jid_clear(&j);
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        xb_jid_clear(&j);
        return NULL;
    }
    c->hooks = *hooks;
    c->ud = ud;
    c->cfg = *cfg;
    if (!c->cfg.login_timeout_ms)
        c->cfg.login_timeout_ms = DEFAULT_LOGIN_TIMEOUT;
    if (!c->cfg.close_timeout_ms)
        c->cfg.close_timeout_ms = DEFAULT_CLOSE_TIMEOUT;
    c->cfg.domain = c->cfg.secret = NULL;
    xb_buf_init(&c->out);
    c->domain = strdup(j.domain);
    xb_jid_clear(&j);
    c->secret = strdup(cfg->secret);
    c->parser = cfg->engine
                    ? xb_parser_new_shared(cfg->engine, &ph, c, &cfg->limits, 0)
                    : xb_parser_new(&ph, c, &cfg->limits, 0);
    if (!c->domain || !c->secret || !c->parser) {
        xb_component_free(c);
        return NULL;
    }
    c->phase = P_IDLE;
    return c;
}

void xb_component_free(struct xb_component *c)
{
    if (!c)
        return;
    xb_parser_free(c->parser);
    if (c->secret) {
        /* volatile: the wipe must not be optimized away before free. */
        volatile char *p = c->secret;

        while (*p)
            *p++ = 0;
        free(c->secret);
    }
    free(c->domain);
    xb_buf_free(&c->out);
    free(c);
}

int xb_component_start(struct xb_component *c)
{
    if ((c->phase != P_IDLE && c->phase != P_CLOSED) || c->in_feed)
        return XB_ESTATE; /* expat cannot be reset from its own handler */
    if (xb_parser_reset(c->parser))
        return XB_ENOMEM;
    c->stream_cond = XB_COND_NONE;
    c->login_deadline = now(c) + c->cfg.login_timeout_ms;
    open_stream(c);
    arm_timer(c);
    return 0;
}

int xb_component_feed(struct xb_component *c, const char *data, size_t len)
{
    int rc;

    if (c->phase == P_CLOSED)
        return XB_ECLOSED;
    if (c->phase == P_IDLE)
        return XB_ESTATE;
    c->in_feed = 1;
    rc = xb_parser_feed(c->parser, data, len);
    c->in_feed = 0;
    if (rc && c->phase != P_CLOSED)
        fail(c, rc, xb_parser_condition(c->parser), "%s: %s",
             xb_cond_name(xb_parser_condition(c->parser)),
             xb_parser_message(c->parser));
    if (c->phase == P_CLOSED)
        return XB_ECLOSED;
    arm_timer(c);
    return 0;
}

void xb_component_abort(struct xb_component *c, const char *msg)
{
    if (c->phase == P_CLOSED || c->phase == P_IDLE)
        return;
    if (c->phase == P_CLOSING) {
        finish(c, 0, "closed");
        return;
    }
    finish(c, XB_ECLOSED, msg);
}

void xb_component_close(struct xb_component *c)
{
    if (c->phase == P_CLOSED || c->phase == P_IDLE || c->phase == P_CLOSING)
        return;
    emit_str(c, "</stream:stream>");
    c->phase = P_CLOSING;
    c->close_deadline = now(c) + c->cfg.close_timeout_ms;
    arm_timer(c);
}

int xb_component_send(struct xb_component *c, const struct xb_stanza *st)
{
    const char *from;
    int rc;

    if (c->phase != P_READY)
        return XB_ESTATE;
    from = xb_stanza_attr(st, NULL, "from");
    if (from && !under_domain(from, c->domain))
        return XB_EINVAL;
    /* jabber:client as the default in scope: stanzas and their children in
     * it get no xmlns and so land in the stream's jabber:component:accept. */
    xb_buf_reset(&c->out);
    rc = xb_serialize(&c->out, st, XB_NS_CLIENT);
    if (rc == 0)
        emit(c, c->out.data, c->out.len);
    if (c->out.cap > KEEP_BUF)
        xb_buf_free(&c->out);
    else
        xb_buf_reset(&c->out);
    /* The keepalive timer is not moved here (a timer update per stanza):
     * when it fires early it re-arms for the rest of the silence. */
    return rc;
}

int xb_component_send_from(struct xb_component *c, struct xb_stanza *st,
                           const char *from)
{
    int rc;

    if (c->phase != P_READY)
        return XB_ESTATE;
    if (!from || !under_domain(from, c->domain))
        return XB_EINVAL;
    rc = xb_stanza_set_attr(st, NULL, "from", from);
    return rc ? rc : xb_component_send(c, st);
}

enum xb_component_state xb_component_state(const struct xb_component *c)
{
    switch (c->phase) {
    case P_IDLE:
        return XB_COMPONENT_IDLE;
    case P_READY:
        return XB_COMPONENT_READY;
    case P_CLOSING:
        return XB_COMPONENT_CLOSING;
    case P_CLOSED:
        return XB_COMPONENT_CLOSED;
    default:
        return XB_COMPONENT_CONNECTING;
    }
}

const char *xb_component_domain(const struct xb_component *c)
{
    return c->domain;
}

enum xb_cond xb_component_stream_cond(const struct xb_component *c)
{
    return c->stream_cond;
}
