/*
 * One bot's connection in the farm: the TCP transport (STARTTLS or direct
 * TLS) with output corking, the session's and the bot's hooks, and the
 * lifecycle from the pacer's queue through connecting (each address of
 * each target in turn), logging in and being online to retrying with
 * backoff or giving up. No bot logic lives here: the core's session and
 * bot do the protocol.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "cli.h"
#include "error.h"
#include "farm_int.h"
#include "tls.h"

/* ALPN for direct TLS (XEP-0368). */
#define ALPN "xmpp-client"

#define CLIENT_OF(t, member)                                                   \
    ((struct client *)((char *)(t)-offsetof(struct client, member)))

const char *const fail_names[F_KINDS] = {
    "none", "connect",      "connect-timeout", "tls",     "certificate",
    "auth", "stream-error", "login-timeout",   "dropped", "protocol"};

/* --- transport ------------------------------------------------------------ */

struct wreq {
    uv_write_t req;
    char data[];
};

static void on_written(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a read error */
    free(req);
}

/* Writes bytes to the socket: synchronously when the kernel takes them
 * (the usual case, no allocation), else queued. */
void farm_sock_write(uv_tcp_t *tcp, int open, const char *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    struct wreq *w;
    int n;

    if (!open || len == 0)
        return;
    n = uv_try_write((uv_stream_t *)tcp, &b, 1);
    if (n == (int)len)
        return;
    if (n < 0 && n != UV_EAGAIN)
        return; /* the read side reports the broken connection */
    if (n < 0)
        n = 0;
    w = malloc(sizeof *w + len - (size_t)n);
    if (!w)
        return;
    memcpy(w->data, data + n, len - (size_t)n);
    b = uv_buf_init(w->data, (unsigned)(len - (size_t)n));
    if (uv_write(&w->req, (uv_stream_t *)tcp, &b, 1, on_written))
        free(w);
}

static void sock_write(struct client *c, const char *data, size_t len)
{
    farm_sock_write(&c->tcp, c->tcp_open, data, len);
}

/* Moves what OpenSSL produced to the socket. */
static void tls_flush(struct client *c)
{
    BIO *wbio = SSL_get_wbio(c->ssl);
    char buf[16384];
    int n;

    while ((n = BIO_read(wbio, buf, sizeof buf)) > 0)
        sock_write(c, buf, (size_t)n);
}

static void transport_send(struct client *c, const char *data, size_t len)
{
    if (!c->ssl) {
        sock_write(c, data, len);
        return;
    }
    if (len && SSL_write(c->ssl, data, (int)len) <= 0) {
        ERR_clear_error();
        return;
    }
    tls_flush(c);
}

static void cork(struct client *c)
{
    c->farm->corked = c;
}

/* Sends what collected while c was corked. */
static void uncork(struct client *c)
{
    struct farm *f = c->farm;

    if (f->corked != c)
        return;
    f->corked = NULL;
    transport_send(c, f->out.data, f->out.len);
    if (f->out.cap > READ_BUF)
        xb_buf_free(&f->out); /* a big stanza's worth is not kept */
    else
        xb_buf_reset(&f->out);
}

/* Sends now, or later with the rest of the batch if c is corked. */
static void transport_write(struct client *c, const char *data, size_t len)
{
    struct farm *f = c->farm;

    if (f->corked == c) {
        if (xb_buf_append(&f->out, data, len) == 0)
            return;
        uncork(c); /* out of memory: what collected goes first */
    }
    transport_send(c, data, len);
}

static void schedule_next(struct client *c);

static void on_tcp_closed(uv_handle_t *h)
{
    struct client *c = h->data;

    c->tcp_open = 0;
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    schedule_next(c);
}

static void close_transport(struct client *c)
{
    uncork(c); /* the last words, a stream close, go out first */
    farm_disarm(c->farm, &c->session_timer);
    farm_disarm(c->farm, &c->conn_timer);
    if (c->state == C_CONNECTING)
        c->farm->connecting--;
    c->state = C_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
}

/* --- session hooks -------------------------------------------------------- */

static void s_write(void *ud, const char *data, size_t len)
{
    transport_write(ud, data, len);
}

static void connect_failed(struct client *c, enum fail_kind fail,
                           const char *why);
static void transport_ready(struct client *c);

/* The transport failed: before the session started (direct TLS), this
 * address did; after, the session ends. */
static void transport_failed(struct client *c, enum fail_kind fail,
                             const char *why)
{
    if (c->state == C_CONNECTING) {
        connect_failed(c, fail, why);
        return;
    }
    if (fail != F_NONE)
        c->fail = fail;
    xb_session_abort(c->session, why);
}

/* Advances the handshake: for direct TLS, the session starts when it is
 * done; for STARTTLS, the stream restarts over it. */
static void tls_step(struct client *c)
{
    char err[256];
    int rc = xb_tls_handshake(c->ssl, err, sizeof err);

    tls_flush(c);
    if (rc == XB_TLS_AGAIN)
        return;
    c->handshaking = 0;
    if (rc == XB_TLS_DONE) {
        if (c->state == C_CONNECTING)
            transport_ready(c);
        else
            xb_session_tls_ready(c->session);
        return;
    }
    transport_failed(c, xb_tls_cert_failed(c->ssl) ? F_CERT : F_TLS, err);
}

static void s_starttls(void *ud)
{
    struct client *c = ud;

    uncork(c); /* what was said before TLS goes out in the clear */
    c->ssl = xb_tls_new(c->farm->ssl_ctx, c->farm->domain, NULL);
    if (!c->ssl) {
        c->fail = F_TLS;
        xb_session_abort(c->session, "cannot create a TLS engine");
        return;
    }
    c->handshaking = 1;
    tls_step(c);
}

/* Post-connect (a fresh session) or post-resume. */
static void s_ready(void *ud, const char *full_jid, int resumed)
{
    struct client *c = ud;
    struct farm *f = c->farm;

    c->state = C_ONLINE;
    f->online++;
    f->logins++;
    f->logins_by[!c->ssl ? T_PLAIN : c->direct ? T_DIRECT_TLS : T_STARTTLS]++;
    if (c->logins++)
        f->reconnects++;
    else
        f->ever_online++;
    c->failures = 0;
    c->backoff_ms = 0;
    flog(f, XB_LOG_DEBUG, c->jid, "%s as %s (%s%s)",
         resumed ? "resumed" : "online", full_jid,
         xb_sasl_mech_name(xb_session_mech(c->session)),
         !c->ssl     ? ""
         : c->direct ? ", direct TLS"
                     : ", STARTTLS");
    if (f->stopping) {
        xb_session_close(c->session);
        return;
    }
    if (resumed) {
        xb_bot_resumed(c->bot);
        return;
    }
    /* The bot waited for a resumption that failed: it starts afresh. */
    if (c->bot_live)
        xb_bot_offline(c->bot);
    c->bot_live = 1;
    xb_bot_online(c->bot, full_jid);
}

/* The bot's stream is gone for good. */
static void bot_down(struct client *c)
{
    if (c->bot_live) {
        c->bot_live = 0;
        xb_bot_offline(c->bot);
    }
    xb_session_sm_drop(c->session);
}

static void s_stanza(void *ud, const struct xb_stanza *st)
{
    xb_bot_stanza(((struct client *)ud)->bot, st);
}

static enum fail_kind classify(struct client *c, int err)
{
    if (c->fail != F_NONE)
        return c->fail;
    switch (err) {
    case XB_EAUTH:
        return F_AUTH;
    case XB_ETIMEOUT:
        return c->state == C_ONLINE ? F_DROPPED : F_LOGIN_TIMEOUT;
    case XB_ECLOSED:
        if (xb_session_stream_cond(c->session) != XB_COND_NONE)
            return F_STREAM_ERROR;
        return c->state == C_ONLINE ? F_DROPPED : F_CONNECT;
    default:
        return F_PROTOCOL;
    }
}

/* Logs a failure: every one for a lone bot, the first few for a crowd. */
static void log_failure(struct client *c, const char *msg)
{
    struct farm *f = c->farm;

    if (f->logged_failures < MAX_LOGGED_FAILURES || f->cfg->count == 1)
        flog(f, XB_LOG_WARN, c->jid, "%s", msg);
    else if (f->logged_failures == MAX_LOGGED_FAILURES)
        flog(f, XB_LOG_WARN, NULL,
             "more failures: counted in the summary only");
    f->logged_failures++;
}

static void s_closed(void *ud, int err, const char *msg)
{
    struct client *c = ud;
    struct farm *f = c->farm;

    if (c->state == C_ONLINE)
        f->online--;
    /* A resumable stream keeps its bot as it is (in its room, its timer
     * running, its stanzas queued) until it resumes or cannot. */
    if (f->stopping || c->done || !xb_session_resumable(c->session))
        bot_down(c);
    if (err == 0 || (f->stopping && c->fail == F_NONE)) {
        c->fail = F_NONE;
        flog(f, XB_LOG_DEBUG, c->jid, "%s", msg);
    } else {
        c->fail = classify(c, err);
        f->failures[c->fail]++;
        log_failure(c, msg);
    }
    close_transport(c);
}

static void s_set_timer(void *ud, int64_t ms)
{
    struct client *c = ud;

    if (ms < 0)
        farm_disarm(c->farm, &c->session_timer);
    else
        farm_arm(c->farm, &c->session_timer, (uint64_t)ms);
}

static void s_note(void *ud, const char *msg)
{
    log_failure(ud, msg);
}

static uint64_t s_now(void *ud)
{
    return uv_now(((struct client *)ud)->farm->loop);
}

static void s_trace(void *ud, char dir, const char *data, size_t len)
{
    struct client *c = ud;

    fprintf(c->farm->trace, "%.3f %s %c %.*s\n",
            (double)uv_now(c->farm->loop) / 1000.0, c->jid, dir, (int)len,
            data);
}

static void on_session_timer(struct xb_timer *t)
{
    xb_session_timer(CLIENT_OF(t, session_timer)->session);
}

/* --- bot hooks ------------------------------------------------------------ */

static int b_send(void *ud, struct xb_stanza *st)
{
    struct client *c = ud;
    int rc = xb_session_send(c->session, st);

    xb_stanza_free(st);
    return rc;
}

static void b_set_timer(void *ud, int64_t ms)
{
    struct client *c = ud;

    if (ms < 0)
        farm_disarm(c->farm, &c->bot_timer);
    else
        farm_arm(c->farm, &c->bot_timer, (uint64_t)ms);
}

static void b_log(void *ud, enum xb_log_level level, const char *msg)
{
    struct client *c = ud;

    flog(c->farm, level, c->jid, "%s", msg);
}

uint64_t farm_now_us(void *ud)
{
    struct timespec ts;

    (void)ud;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The bot did its work: close its session, once. */
static void b_done(void *ud)
{
    struct client *c = ud;

    if (c->done)
        return;
    c->done = 1;
    xb_session_close(c->session);
    farm_bot_done(c->farm);
}

static void b_sample(void *ud, unsigned series, uint32_t value)
{
    struct client *c = ud;

    report_sample(c->farm, series, value);
}

static void on_bot_timer(struct xb_timer *t)
{
    xb_bot_timer(CLIENT_OF(t, bot_timer)->bot);
}

/* --- connection lifecycle ------------------------------------------------- */

void conn_enqueue(struct client *c)
{
    struct farm *f = c->farm;

    c->state = C_QUEUED;
    c->next = NULL;
    if (f->queue_tail)
        f->queue_tail->next = c;
    else
        f->queue_head = c;
    f->queue_tail = c;
}

/* After the transport closed: stop, give up, or try again later. */
static void schedule_next(struct client *c)
{
    struct farm *f = c->farm;
    const struct farm_config *cfg = f->cfg;
    uint32_t lo, hi;

    if (f->stopping || c->done || c->fail == F_NONE) {
        bot_down(c);
        c->state = C_DONE;
        farm_check_all_done(f);
        return;
    }
    /* Not a failed attempt yet: its next address or target is queued. */
    if (c->fallback) {
        c->fallback = 0;
        conn_enqueue(c);
        return;
    }
    /* Bad credentials will not fix themselves: never hammer the server. */
    if (c->fail == F_AUTH || c->fail == F_CERT || ++c->failures > cfg->retries) {
        if (c->fail != F_AUTH && c->fail != F_CERT)
            flog(f, XB_LOG_WARN, c->jid, "giving up after %u attempt%s",
                 c->failures, c->failures == 1 ? "" : "s");
        bot_down(c);
        c->state = C_DONE;
        f->gaveup++;
        farm_check_all_done(f);
        return;
    }
    /* The server keeps a cut stream only so long: the first attempt to
     * resume goes at once (at the pacer's rate). */
    if (c->failures == 1 && xb_session_resumable(c->session)) {
        conn_enqueue(c);
        return;
    }
    hi = c->backoff_ms ? c->backoff_ms * 2 : cfg->backoff_min_ms;
    if (hi > cfg->backoff_max_ms)
        hi = cfg->backoff_max_ms;
    c->backoff_ms = hi;
    /* Jitter spreads a crowd of reconnecting bots over the interval. */
    lo = hi / 2;
    c->state = C_BACKOFF;
    farm_arm(f, &c->conn_timer, xb_rand_range(&c->rng, lo, hi));
}

static void on_read_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct client *c = h->data;

    (void)hint;
    *buf = uv_buf_init(c->farm->rbuf, sizeof c->farm->rbuf);
}

static void feed_tls(struct client *c, const char *data, size_t len)
{
    struct farm *f = c->farm;
    int n, e;

    if (BIO_write(SSL_get_rbio(c->ssl), data, (int)len) != (int)len) {
        transport_failed(c, F_TLS, "out of memory in TLS");
        return;
    }
    if (c->handshaking) {
        tls_step(c);
        if (c->handshaking || c->state != C_LOGIN)
            return;
    }
    while (c->ssl && c->state != C_CLOSING) {
        n = SSL_read(c->ssl, f->tlsbuf, sizeof f->tlsbuf);
        if (n > 0) {
            xb_session_feed(c->session, f->tlsbuf, (size_t)n);
            continue;
        }
        e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            break;
        ERR_clear_error();
        if (e != SSL_ERROR_ZERO_RETURN)
            c->fail = F_TLS;
        xb_session_abort(c->session, e == SSL_ERROR_ZERO_RETURN
                                         ? "TLS closed by the server"
                                         : "TLS error");
        break;
    }
    if (c->ssl)
        tls_flush(c); /* TLS 1.3 may answer post-handshake messages */
}

/*
 * Acknowledges what arrived at once instead of after the kernel's delayed
 * ACK (up to 40 ms). A server that leaves Nagle's algorithm on (Prosody's
 * default) holds its next small write, such as the <r/> that stream
 * management sends after a stanza and every stanza behind it, until our
 * ACK comes: without this, each round trip could wait 40 ms. Linux clears
 * the flag by itself, so it is set after every read.
 */
void farm_quickack(uv_tcp_t *tcp)
{
#ifdef TCP_QUICKACK
    uv_os_fd_t fd;
    int one = 1;

    if (uv_fileno((uv_handle_t *)tcp, &fd) == 0)
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
    (void)tcp;
#endif
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct client *c = s->data;

    if (c->state == C_CLOSING || c->state == C_DONE)
        return;
    if (n < 0) {
        transport_failed(c, c->state == C_CONNECTING ? F_TLS : F_NONE,
                         n == UV_EOF ? "connection closed by the server"
                                     : uv_strerror((int)n));
        return;
    }
    if (n == 0)
        return;
    farm_quickack(&c->tcp);
    cork(c);
    if (c->ssl)
        feed_tls(c, buf->base, (size_t)n);
    else
        xb_session_feed(c->session, buf->base, (size_t)n);
    uncork(c);
}

/* --- targets: where an attempt connects --------------------------------- */

/* The address c's attempt is at (target pos in its order, address addr),
 * moving past targets without addresses; NULL when it has tried them all.
 * *ti is then the target's index in the farm's targets. */
static const struct addrinfo *attempt_addr(struct client *c, size_t *ti)
{
    const struct targets *t = c->farm->targets;
    unsigned char order[XB_SRV_MAX];
    const struct addrinfo *ai;
    struct xb_rand rng;
    unsigned k;

    /* The same order at every step of one attempt, a new one for the
     * next: drawn from the attempt's seed. */
    if (t->listed) {
        /* --host's servers: bot k starts at server k mod n, so the bots
         * spread evenly, and goes on down the list. */
        for (k = 0; k < t->n; k++)
            order[k] = (unsigned char)((c->index + k) % t->n);
    } else {
        xb_rand_seed(&rng, c->pass_seed, c->index);
        xb_srv_order(t->srv, t->n, &rng, order);
    }
    for (; c->pos < t->n; c->pos++, c->addr = 0) {
        ai = t->ai[order[c->pos]];
        for (k = 0; ai && k < c->addr; k++)
            ai = ai->ai_next;
        if (ai) {
            *ti = order[c->pos];
            return ai;
        }
    }
    return NULL;
}

/* "HOST port N (direct TLS) at ADDRESS": where c connects. */
static void where(struct client *c, char *buf, size_t size)
{
    const struct targets *t = c->farm->targets;
    const struct addrinfo *ai;
    const struct xb_srv *srv;
    char addr[NI_MAXHOST] = "?";
    size_t ti;

    if (!(ai = attempt_addr(c, &ti))) {
        snprintf(buf, size, "%s", t->desc);
        return;
    }
    srv = &t->srv[ti];
    getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL, 0,
                NI_NUMERICHOST);
    snprintf(buf, size, "%.250s port %u%s at %s", srv->target, srv->port,
             srv->direct ? " (direct TLS)" : "", addr);
}

/* c's session (made once), set for a connection with direct TLS or not:
 * SRV targets may be of both kinds, and the stream management state must
 * carry over from one to the next. 0 or -1. */
static int session_for(struct client *c, int direct)
{
    struct farm *f = c->farm;
    struct xb_session_config sc = {0};
    enum xb_tls_mode tls = direct                         ? XB_TLS_DIRECT
                           : f->cfg->tls == FARM_TLS_NONE ? XB_TLS_NONE
                                                          : XB_TLS_REQUIRED;

    c->direct = (unsigned char)direct;
    if (c->session)
        return xb_session_set_tls(c->session, tls) ? -1 : 0;
    sc.jid = c->jid;
    sc.password = f->cfg->password;
    sc.tls = tls;
    sc.allow_plain = f->cfg->allow_plain;
    sc.scram_cache = f->scram;
    sc.engine = f->engine;
    sc.login_timeout_ms = f->cfg->login_timeout_ms;
    sc.keepalive_ms = f->cfg->keepalive_ms;
    sc.sm = f->cfg->sm;
    sc.sm_queue_max = f->cfg->sm_queue;
    sc.sm_resume_s = f->cfg->sm_resume_s;
    c->session = xb_session_new(&sc, &f->session_hooks, c);
    return c->session ? 0 : -1;
}

/* This address failed: try the attempt's next one, or count the attempt
 * as failed (said). */
static void connect_failed(struct client *c, enum fail_kind fail,
                           const char *why)
{
    struct farm *f = c->farm;
    char msg[800], at[400];
    size_t ti;

    where(c, at, sizeof at);
    if (why)
        snprintf(msg, sizeof msg, "cannot connect to %s: %s", at, why);
    else
        snprintf(msg, sizeof msg, "connecting to %s timed out", at);
    c->fail = fail;
    c->addr++;
    if (!f->stopping && attempt_addr(c, &ti)) {
        c->fallback = 1;
        f->fallbacks++;
        flog(f, XB_LOG_INFO, c->jid, "%s; trying the next address", msg);
    } else {
        c->in_pass = 0;
        f->failures[fail]++;
        log_failure(c, msg);
        farm_reresolve(f);
    }
    close_transport(c);
}

/* Connected (and for direct TLS, the handshake done): the session starts,
 * and the attempt is no longer about where to connect. */
static void transport_ready(struct client *c)
{
    struct farm *f = c->farm;

    f->connecting--;
    farm_disarm(f, &c->conn_timer);
    c->state = C_LOGIN;
    c->in_pass = 0;
    xb_session_start(c->session);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct client *c = req->data;

    free(req);
    if (c->state != C_CONNECTING)
        return; /* timed out or stopped: the handle is closing */
    if (status < 0) {
        connect_failed(c, F_CONNECT, uv_strerror(status));
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_read_alloc, on_read);
    if (!c->direct) {
        transport_ready(c);
        return;
    }
    /* Direct TLS: the handshake first, within the connect timeout. */
    c->ssl = xb_tls_new(c->farm->ssl_ctx, c->farm->domain, ALPN);
    if (!c->ssl) {
        connect_failed(c, F_TLS, "cannot create a TLS engine");
        return;
    }
    c->handshaking = 1;
    tls_step(c);
}

void conn_start(struct client *c)
{
    struct farm *f = c->farm;
    const struct addrinfo *ai;
    uv_connect_t *req;
    size_t ti;

    c->fail = F_NONE;
    c->handshaking = 0;
    if (!c->in_pass) {
        f->attempts++;
        c->in_pass = 1;
        c->pass_seed = xb_rand_next(&c->rng);
        c->targets_gen = f->targets_gen - 1;
    }
    if (c->targets_gen != f->targets_gen) {
        /* A new attempt, or new targets: from the top of the list. */
        c->targets_gen = f->targets_gen;
        c->pos = c->addr = 0;
    }
    ai = attempt_addr(c, &ti);
    req = ai ? malloc(sizeof *req) : NULL;
    if (!req || session_for(c, f->targets->srv[ti].direct) ||
        uv_tcp_init(f->loop, &c->tcp)) {
        free(req);
        c->in_pass = 0;
        c->fail = F_CONNECT;
        f->failures[F_CONNECT]++;
        schedule_next(c);
        return;
    }
    c->tcp.data = c;
    c->tcp_open = 1;
    uv_tcp_nodelay(&c->tcp, 1);
    req->data = c;
    c->state = C_CONNECTING;
    f->connecting++;
    farm_arm(f, &c->conn_timer, f->cfg->connect_timeout_ms);
    if (uv_tcp_connect(req, &c->tcp, ai->ai_addr, on_connected)) {
        free(req);
        connect_failed(c, F_CONNECT, "cannot start the connection");
    }
}

/* The connection's timer: a connect timeout, or the end of a backoff. */
static void on_conn_timer(struct xb_timer *t)
{
    struct client *c = CLIENT_OF(t, conn_timer);

    if (c->state == C_CONNECTING)
        connect_failed(c, F_CONNECT_TIMEOUT, NULL);
    else if (c->state == C_BACKOFF)
        conn_enqueue(c);
}

void conn_stop(struct client *c, int abort)
{
    switch (c->state) {
    case C_ONLINE:
        if (abort) {
            xb_session_abort(c->session, "shutdown");
            break;
        }
        xb_bot_stop(c->bot);
        xb_session_close(c->session);
        break;
    case C_LOGIN:
        xb_session_abort(c->session, "shutdown");
        break;
    case C_CONNECTING:
        if (abort)
            break;
        c->fail = F_NONE;
        close_transport(c);
        break;
    case C_QUEUED:
    case C_BACKOFF:
        if (abort)
            break;
        farm_disarm(c->farm, &c->conn_timer);
        bot_down(c);
        c->state = C_DONE;
        break;
    default:
        break;
    }
}

/* --- setup ------------------------------------------------------------------
 */

char *farm_make_jid(const struct farm_config *cfg, unsigned i)
{
    char buf[3100];
    const char *pct = strchr(cfg->jid, '%');

    if (!pct)
        snprintf(buf, sizeof buf, "%s", cfg->jid);
    else
        snprintf(buf, sizeof buf, "%.*s%u%s", (int)(pct - cfg->jid), cfg->jid,
                 cfg->first + i, pct + 2);
    return strdup(buf);
}

void conn_setup(struct farm *f)
{
    static const struct xb_session_hooks hooks = {
        s_write,  s_starttls,  s_ready, s_stanza,
        s_closed, s_set_timer, s_now,   NULL, s_note};
    static const struct xb_bot_host bot_host = {
        .send = b_send,
        .set_timer = b_set_timer,
        .log = b_log,
        .now_us = farm_now_us,
        .done = b_done,
        .sample = b_sample};

    f->session_hooks = hooks;
    if (f->trace)
        f->session_hooks.trace = s_trace;
    f->bot_host = bot_host;
}

int conn_init(struct farm *f, struct client *c, unsigned i)
{
    const struct farm_config *cfg = f->cfg;

    c->farm = f;
    c->index = cfg->first + i;
    c->jid = farm_make_jid(cfg, i);
    if (!c->jid)
        return -1;
    if (session_for(c, cfg->tls == FARM_TLS_DIRECT)) {
        xb_cli_error("cannot set up %s (invalid JID or out of memory)", c->jid);
        return -1;
    }
    xb_rand_seed(&c->rng, cfg->seed, c->index);
    xb_timer_init(&c->conn_timer, on_conn_timer);
    xb_timer_init(&c->session_timer, on_session_timer);
    xb_timer_init(&c->bot_timer, on_bot_timer);
    c->bot = xb_bot_new(cfg->bot, c->jid, &f->bot_host, c, cfg->seed, c->index);
    if (!c->bot) {
        xb_cli_error("cannot set up the %s bot %s", f->kind->name, c->jid);
        return -1;
    }
    conn_enqueue(c);
    return 0;
}

void conn_free(struct client *c)
{
    xb_bot_free(c->bot);
    xb_session_free(c->session);
    if (c->ssl)
        SSL_free(c->ssl);
    free(c->jid);
}
