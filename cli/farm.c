/*
 * The bot farm on libuv: per-bot TCP/TLS transport, login pacing through a
 * token bucket, retries and reconnection with exponential backoff and
 * jitter, one shared read buffer per loop, progress, JSON stats, a summary
 * and clean shutdown. The protocol and the bots live in the core.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "farm.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <uv.h>

#include "buf.h"
#include "cli.h"
#include "error.h"
#include "jid.h"
#include "rand.h"
#include "tls.h"

#define PACE_MS 10
#define PROGRESS_MS 1000
#define SHUTDOWN_GRACE_MS 3000
#define READ_BUF (64 * 1024)
#define MAX_LOGGED_FAILURES 20

enum cstate {
    C_QUEUED,     /* waiting for the pacer */
    C_CONNECTING, /* TCP connect in progress */
    C_LOGIN,      /* session negotiating */
    C_ONLINE,
    C_BACKOFF, /* waiting before the next attempt */
    C_CLOSING, /* transport closing */
    C_DONE     /* finished, stopped or gave up */
};

/* Why a connection attempt or a session ended; counted in the summary. */
enum fail_kind {
    F_NONE,
    F_CONNECT,
    F_CONNECT_TIMEOUT,
    F_TLS,
    F_CERT,
    F_AUTH,
    F_STREAM_ERROR,
    F_LOGIN_TIMEOUT,
    F_DROPPED,
    F_PROTOCOL,
    F_KINDS
};

static const char *const kind_names[F_KINDS] = {
    "none", "connect",      "connect-timeout", "tls",     "certificate",
    "auth", "stream-error", "login-timeout",   "dropped", "protocol"};

struct farm;

/* One message in flight for the load role. */
struct inflight {
    uint32_t seq; /* 0: free slot */
    uint64_t sent_us;
};

struct client {
    struct farm *farm;
    uv_tcp_t tcp;
    uv_timer_t timer;  /* connect timeout, backoff, bot timer, load */
    uv_timer_t stimer; /* the session's timer */
    SSL *ssl;
    struct xb_session *session;
    struct xb_bot *bot;
    struct client *next; /* pacer queue */
    char *jid;
    enum cstate state;
    enum fail_kind kind; /* set by the transport before an abort */
    unsigned index;
    unsigned failures; /* consecutive */
    unsigned logins;
    int handshaking;
    int tcp_open;
    uint32_t backoff_ms;
    struct xb_rand rng;
    /* load role */
    struct inflight *inflight;
    uint32_t sent, done; /* messages sent; answered or lost */
};

struct farm {
    const struct farm_config *cfg;
    uv_loop_t *loop;
    uv_timer_t pacer, progress, stats_timer, end_timer, grace;
    uv_signal_t sigint, sigterm;
    struct sockaddr_storage addr;
    char server_desc[300];
    const char *domain;
    SSL_CTX *ssl_ctx;
    struct xb_scram_cache *scram;
    struct xb_parser_engine *engine; /* one expat for every connection */
    struct client *clients;
    struct client *queue_head, *queue_tail;
    double allowance;
    uint64_t started_ms;
    int stopping;
    int tty;
    int progress_shown;
    FILE *trace;
    /* While one connection's input is processed, its output collects
     * here and leaves in one write when the input is done. */
    struct client *corked;
    struct xb_buf out;
    char rbuf[READ_BUF];
    char tlsbuf[READ_BUF];
    struct xb_bot_host bot_host;
    /* counters */
    unsigned connecting, online, gaveup, ever_online;
    unsigned long logins, reconnects, attempts;
    unsigned long failures[F_KINDS];
    unsigned logged_failures;
    struct xb_bot_stats bots; /* of bots already freed or offline */
    /* load role */
    uint32_t *rtt_us;
    size_t nrtt, rtt_cap;
    unsigned long lost, corrupt, load_sent;
    uint64_t first_send_us, last_ack_us;
    unsigned load_done;
};

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void clear_progress(struct farm *f)
{
    if (f->progress_shown) {
        fputs("\r\033[K", stderr);
        f->progress_shown = 0;
    }
}

static void flog(struct farm *f, enum xb_log_level level, const char *who,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void flog(struct farm *f, enum xb_log_level level, const char *who,
                 const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    va_list ap;

    if (level > f->cfg->log_level)
        return;
    clear_progress(f);
    fprintf(stderr, "xmppbots: %s%s%s: ", who ? who : "", who ? ": " : "",
            names[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

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
static void sock_write(struct client *c, const char *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    struct wreq *w;
    int n;

    if (!c->tcp_open || len == 0)
        return;
    n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
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
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written))
        free(w);
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

static void uncork(struct client *c);

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
    uv_timer_stop(&c->stimer);
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

static void tls_step(struct client *c)
{
    char err[256];
    int rc = xb_tls_handshake(c->ssl, err, sizeof err);

    tls_flush(c);
    if (rc == XB_TLS_AGAIN)
        return;
    c->handshaking = 0;
    if (rc == XB_TLS_DONE) {
        xb_session_tls_ready(c->session);
        return;
    }
    c->kind = xb_tls_cert_failed(c->ssl) ? F_CERT : F_TLS;
    xb_session_abort(c->session, err);
}

static void s_starttls(void *ud)
{
    struct client *c = ud;

    uncork(c); /* what was said before TLS goes out in the clear */
    c->ssl = xb_tls_new(c->farm->ssl_ctx, c->farm->domain);
    if (!c->ssl) {
        c->kind = F_TLS;
        xb_session_abort(c->session, "cannot create a TLS engine");
        return;
    }
    c->handshaking = 1;
    tls_step(c);
}

static void load_start(struct client *c);
static void on_client_timer(uv_timer_t *t);
static void on_end(uv_timer_t *t);

static void s_ready(void *ud, const char *full_jid)
{
    struct client *c = ud;
    struct farm *f = c->farm;

    c->state = C_ONLINE;
    f->online++;
    f->logins++;
    if (c->logins++)
        f->reconnects++;
    else
        f->ever_online++;
    c->failures = 0;
    c->backoff_ms = 0;
    flog(f, XB_LOG_DEBUG, c->jid, "online as %s (%s%s)", full_jid,
         xb_sasl_mech_name(xb_session_mech(c->session)),
         xb_session_secure(c->session) ? ", TLS" : "");
    if (f->stopping) {
        xb_session_close(c->session);
        return;
    }
    if (c->bot)
        xb_bot_online(c->bot, full_jid);
    else
        load_start(c);
}

static void load_stanza(struct client *c, const struct xb_stanza *st);

static void s_stanza(void *ud, const struct xb_stanza *st)
{
    struct client *c = ud;

    if (c->bot)
        xb_bot_stanza(c->bot, st);
    else if (c->inflight)
        load_stanza(c, st);
}

/* Messages in flight on a connection that ended will not be echoed. */
static void load_forget(struct client *c)
{
    unsigned i;

    for (i = 0; i < c->farm->cfg->window; i++) {
        if (c->inflight[i].seq) {
            c->inflight[i].seq = 0;
            c->farm->lost++;
            c->done++;
        }
    }
}

static enum fail_kind classify(struct client *c, int err)
{
    if (c->kind != F_NONE)
        return c->kind;
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

static void s_closed(void *ud, int err, const char *msg)
{
    struct client *c = ud;
    struct farm *f = c->farm;

    if (c->state == C_ONLINE)
        f->online--;
    if (c->bot && c->state == C_ONLINE)
        xb_bot_offline(c->bot);
    if (c->inflight)
        load_forget(c);
    uv_timer_stop(&c->timer);
    if (err == 0 || (f->stopping && c->kind == F_NONE)) {
        c->kind = F_NONE;
        flog(f, XB_LOG_DEBUG, c->jid, "%s", msg);
    } else {
        c->kind = classify(c, err);
        f->failures[c->kind]++;
        if (f->logged_failures < MAX_LOGGED_FAILURES || f->cfg->count == 1)
            flog(f, XB_LOG_WARN, c->jid, "%s", msg);
        else if (f->logged_failures == MAX_LOGGED_FAILURES)
            flog(f, XB_LOG_WARN, NULL,
                 "more failures: counted in the summary only");
        f->logged_failures++;
    }
    close_transport(c);
}

static void on_stimer(uv_timer_t *t)
{
    struct client *c = t->data;

    xb_session_timer(c->session);
}

static void s_set_timer(void *ud, int64_t ms)
{
    struct client *c = ud;

    if (ms < 0)
        uv_timer_stop(&c->stimer);
    else
        uv_timer_start(&c->stimer, on_stimer, (uint64_t)ms, 0);
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
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_client_timer, (uint64_t)ms, 0);
}

static void b_log(void *ud, enum xb_log_level level, const char *msg)
{
    struct client *c = ud;

    flog(c->farm, level, c->jid, "%s", msg);
}

/* --- load role ------------------------------------------------------------ */

/* The body of message seq from user index: reproducible, so the echo can
 * be checked byte for byte without keeping a copy. */
static void load_body(const struct client *c, uint32_t seq, char *buf,
                      size_t size)
{
    static const char pad[] = "<&'\"]]> xmppbots load \xF0\x9F\x98\x80 ";
    size_t want = c->farm->cfg->body_bytes, n;

    n = (size_t)snprintf(buf, size, "%u.%u ", c->index, seq);
    while (n + sizeof pad - 1 <= want && n + sizeof pad < size) {
        memcpy(buf + n, pad, sizeof pad - 1);
        n += sizeof pad - 1;
    }
    while (n < want && n + 1 < size)
        buf[n++] = 'x';
    buf[n] = '\0';
}

static void load_send_one(struct client *c)
{
    struct farm *f = c->farm;
    struct inflight *slot = NULL;
    struct xb_stanza *m, *b;
    char id[32], body[8192];
    unsigned i;

    for (i = 0; i < f->cfg->window && !slot; i++)
        if (!c->inflight[i].seq)
            slot = &c->inflight[i];
    if (!slot || c->sent >= f->cfg->messages)
        return;
    c->sent++;
    snprintf(id, sizeof id, "L%u.%u", c->index, c->sent);
    load_body(c, c->sent, body, sizeof body);
    m = xb_stanza_new(XB_NS_CLIENT, "message");
    if (!m || xb_stanza_set_attr(m, NULL, "to", f->cfg->target) ||
        xb_stanza_set_attr(m, NULL, "type", "chat") ||
        xb_stanza_set_attr(m, NULL, "id", id) ||
        !(b = xb_stanza_add_child(m, NULL, "body")) ||
        xb_stanza_add_text(b, body, strlen(body))) {
        xb_stanza_free(m);
        return;
    }
    slot->seq = c->sent;
    slot->sent_us = now_us();
    if (!f->first_send_us)
        f->first_send_us = slot->sent_us;
    f->load_sent++;
    xb_session_send(c->session, m);
    xb_stanza_free(m);
}

static void load_fill(struct client *c)
{
    unsigned i;

    for (i = 0; i < c->farm->cfg->window; i++)
        load_send_one(c);
}

static void load_check_done(struct client *c)
{
    struct farm *f = c->farm;

    if (c->done < f->cfg->messages)
        return;
    f->load_done++;
    uv_timer_stop(&c->timer);
    xb_session_close(c->session);
    if (f->load_done == f->cfg->count)
        uv_timer_start(&f->end_timer, on_end, 0, 0);
}

static void load_start(struct client *c)
{
    if (c->done >= c->farm->cfg->messages) {
        xb_session_close(c->session);
        return;
    }
    load_fill(c);
    /* Check for lost echoes once a second. */
    uv_timer_start(&c->timer, on_client_timer, 1000, 1000);
}

static void load_stanza(struct client *c, const struct xb_stanza *st)
{
    struct farm *f = c->farm;
    const char *id = xb_stanza_attr(st, NULL, "id");
    const char *body = xb_stanza_child_text(st, XB_NS_CLIENT, "body");
    unsigned idx, seq, i;
    char want[8192];
    uint64_t t = now_us();

    if (!xb_stanza_is(st, XB_NS_CLIENT, "message") || !id ||
        sscanf(id, "L%u.%u", &idx, &seq) != 2 || idx != c->index)
        return;
    for (i = 0; i < f->cfg->window; i++)
        if (c->inflight[i].seq == seq)
            break;
    if (i == f->cfg->window)
        return; /* late: already counted as lost */
    load_body(c, seq, want, sizeof want);
    if (!body || strcmp(body, want))
        f->corrupt++;
    if (f->nrtt < f->rtt_cap)
        f->rtt_us[f->nrtt++] = (uint32_t)(t - c->inflight[i].sent_us);
    f->last_ack_us = t;
    c->inflight[i].seq = 0;
    c->done++;
    load_send_one(c);
    load_check_done(c);
}

static void load_timer(struct client *c)
{
    struct farm *f = c->farm;
    uint64_t t = now_us(), limit = (uint64_t)f->cfg->message_timeout_ms * 1000;
    unsigned i;

    for (i = 0; i < f->cfg->window; i++) {
        if (c->inflight[i].seq && t - c->inflight[i].sent_us > limit) {
            c->inflight[i].seq = 0;
            f->lost++;
            c->done++;
            load_send_one(c);
        }
    }
    load_check_done(c);
}

/* --- connection lifecycle ------------------------------------------------- */

static void enqueue(struct client *c)
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

static void finish_client(struct client *c)
{
    c->state = C_DONE;
    c->farm->gaveup++;
}

static void check_all_done(struct farm *f);

/* After the transport closed: stop, give up, or try again later. */
static void schedule_next(struct client *c)
{
    struct farm *f = c->farm;
    const struct farm_config *cfg = f->cfg;
    uint32_t lo, hi;

    if (f->stopping || c->kind == F_NONE) {
        c->state = C_DONE;
        check_all_done(f);
        return;
    }
    /* Bad credentials will not fix themselves: never hammer the server. */
    if (c->kind == F_AUTH || c->kind == F_CERT ||
        ++c->failures > cfg->retries) {
        if (c->kind != F_AUTH && c->kind != F_CERT)
            flog(f, XB_LOG_WARN, c->jid, "giving up after %u attempt%s",
                 c->failures, c->failures == 1 ? "" : "s");
        finish_client(c);
        check_all_done(f);
        return;
    }
    hi = c->backoff_ms ? c->backoff_ms * 2 : cfg->backoff_min_ms;
    if (hi > cfg->backoff_max_ms)
        hi = cfg->backoff_max_ms;
    c->backoff_ms = hi;
    /* Jitter spreads a crowd of reconnecting bots over the interval. */
    lo = hi / 2;
    c->state = C_BACKOFF;
    uv_timer_start(&c->timer, on_client_timer, xb_rand_range(&c->rng, lo, hi),
                   0);
}

static void on_read_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct client *c = h->data;

    (void)hint;
    *buf = uv_buf_init(c->farm->rbuf, sizeof c->farm->rbuf);
}

static void feed_plain(struct client *c, const char *data, size_t len)
{
    xb_session_feed(c->session, data, len);
}

static void feed_tls(struct client *c, const char *data, size_t len)
{
    struct farm *f = c->farm;
    int n, e;

    if (BIO_write(SSL_get_rbio(c->ssl), data, (int)len) != (int)len) {
        c->kind = F_TLS;
        xb_session_abort(c->session, "out of memory in TLS");
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
            c->kind = F_TLS;
        xb_session_abort(c->session, e == SSL_ERROR_ZERO_RETURN
                                         ? "TLS closed by the server"
                                         : "TLS error");
        break;
    }
    if (c->ssl)
        tls_flush(c); /* TLS 1.3 may answer post-handshake messages */
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct client *c = s->data;

    if (c->state == C_CLOSING || c->state == C_DONE)
        return;
    if (n < 0) {
        xb_session_abort(c->session, n == UV_EOF
                                         ? "connection closed by the server"
                                         : uv_strerror((int)n));
        return;
    }
    if (n == 0)
        return;
    cork(c);
    if (c->ssl)
        feed_tls(c, buf->base, (size_t)n);
    else
        feed_plain(c, buf->base, (size_t)n);
    uncork(c);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct client *c = req->data;
    struct farm *f = c->farm;

    free(req);
    if (c->state != C_CONNECTING)
        return; /* timed out or stopped: the handle is closing */
    f->connecting--;
    uv_timer_stop(&c->timer);
    if (status < 0) {
        c->state = C_LOGIN; /* so that close_transport() counts right */
        c->kind = F_CONNECT;
        f->failures[F_CONNECT]++;
        if (f->logged_failures++ < MAX_LOGGED_FAILURES || f->cfg->count == 1)
            flog(f, XB_LOG_WARN, c->jid, "cannot connect to %s: %s",
                 f->server_desc, uv_strerror(status));
        close_transport(c);
        return;
    }
    c->state = C_LOGIN;
    uv_read_start((uv_stream_t *)&c->tcp, on_read_alloc, on_read);
    xb_session_start(c->session);
}

static void start_connect(struct client *c)
{
    struct farm *f = c->farm;
    uv_connect_t *req = malloc(sizeof *req);

    f->attempts++;
    c->kind = F_NONE;
    c->handshaking = 0;
    if (!req || uv_tcp_init(f->loop, &c->tcp)) {
        free(req);
        c->kind = F_CONNECT;
        schedule_next(c);
        return;
    }
    c->tcp.data = c;
    c->tcp_open = 1;
    uv_tcp_nodelay(&c->tcp, 1);
    req->data = c;
    c->state = C_CONNECTING;
    f->connecting++;
    if (uv_tcp_connect(req, &c->tcp, (struct sockaddr *)&f->addr,
                       on_connected)) {
        free(req);
        c->kind = F_CONNECT;
        f->failures[F_CONNECT]++;
        close_transport(c);
        return;
    }
    uv_timer_start(&c->timer, on_client_timer, f->cfg->connect_timeout_ms, 0);
}

static void on_client_timer(uv_timer_t *t)
{
    struct client *c = t->data;
    struct farm *f = c->farm;

    switch (c->state) {
    case C_CONNECTING:
        c->kind = F_CONNECT_TIMEOUT;
        f->failures[F_CONNECT_TIMEOUT]++;
        if (f->logged_failures++ < MAX_LOGGED_FAILURES || f->cfg->count == 1)
            flog(f, XB_LOG_WARN, c->jid, "connecting to %s timed out",
                 f->server_desc);
        close_transport(c);
        break;
    case C_BACKOFF:
        enqueue(c);
        break;
    case C_ONLINE:
        if (c->bot)
            xb_bot_timer(c->bot);
        else
            load_timer(c);
        break;
    default:
        break;
    }
}

/* --- farm ------------------------------------------------------------------
 */

static void on_pace(uv_timer_t *t)
{
    struct farm *f = t->data;
    struct client *c;

    f->allowance += f->cfg->connect_rate * PACE_MS / 1000.0;
    if (f->allowance > f->cfg->connect_rate + 1)
        f->allowance = f->cfg->connect_rate + 1; /* at most a second's burst */
    while (f->allowance >= 1 && f->queue_head && !f->stopping) {
        c = f->queue_head;
        f->queue_head = c->next;
        if (!f->queue_head)
            f->queue_tail = NULL;
        f->allowance -= 1;
        start_connect(c);
    }
}

static void add_bot_stats(struct farm *f, struct xb_bot_stats *sum)
{
    unsigned i;

    memset(sum, 0, sizeof *sum);
    for (i = 0; i < f->cfg->count; i++)
        if (f->clients[i].bot)
            xb_bot_stats_add(sum, xb_bot_stats(f->clients[i].bot));
}

static unsigned count_state(struct farm *f, enum cstate st)
{
    unsigned i, n = 0;

    for (i = 0; i < f->cfg->count; i++)
        n += f->clients[i].state == st;
    return n;
}

static void on_progress(uv_timer_t *t)
{
    struct farm *f = t->data;
    double secs = (double)(uv_now(f->loop) - f->started_ms) / 1000.0;
    struct xb_bot_stats s;

    add_bot_stats(f, &s);
    fprintf(stderr,
            "\r\033[K[%5.0fs] online %u/%u  connecting %u  waiting %u  "
            "gave up %u  logins %lu",
            secs, f->online, f->cfg->count,
            f->connecting + count_state(f, C_LOGIN),
            count_state(f, C_QUEUED) + count_state(f, C_BACKOFF), f->gaveup,
            f->logins);
    if (f->cfg->role == FARM_LOAD)
        fprintf(stderr, "  echoes %zu/%lu", f->nrtt, f->load_sent);
    else if (f->cfg->role == FARM_ECHO)
        fprintf(stderr, "  echoed %llu", (unsigned long long)s.echoed);
    else
        fprintf(stderr, "  said %llu heard %llu",
                (unsigned long long)s.groupchat_sent,
                (unsigned long long)s.groupchat_recv);
    f->progress_shown = 1;
}

static void write_stats(struct farm *f, FILE *out, int pretty)
{
    struct xb_bot_stats s;
    const char *nl = pretty ? "\n  " : " ";
    int k;

    add_bot_stats(f, &s);
    fprintf(out, "{%s\"elapsed_s\": %.1f,%s\"bots\": %u,%s\"online\": %u,", nl,
            (double)(uv_now(f->loop) - f->started_ms) / 1000.0, nl,
            f->cfg->count, nl, f->online);
    fprintf(out, "%s\"ever_online\": %u,%s\"gave_up\": %u,", nl, f->ever_online,
            nl, f->gaveup);
    fprintf(out,
            "%s\"connect_attempts\": %lu,%s\"logins\": %lu,%s"
            "\"reconnects\": %lu,",
            nl, f->attempts, nl, f->logins, nl, f->reconnects);
    fprintf(
        out,
        "%s\"received\": %llu,%s\"echoed\": %llu,%s\"joins\": %llu,%s"
        "\"join_errors\": %llu,%s\"groupchat_sent\": %llu,%s"
        "\"groupchat_received\": %llu,%s\"leaves\": %llu,",
        nl, (unsigned long long)s.received, nl, (unsigned long long)s.echoed,
        nl, (unsigned long long)s.joins, nl, (unsigned long long)s.join_errors,
        nl, (unsigned long long)s.groupchat_sent, nl,
        (unsigned long long)s.groupchat_recv, nl, (unsigned long long)s.leaves);
    fprintf(out, "%s\"errors\": {", nl);
    for (k = F_NONE + 1; k < F_KINDS; k++)
        fprintf(out, "\"%s\": %lu%s", kind_names[k], f->failures[k],
                k + 1 < F_KINDS ? ", " : "");
    fprintf(out, "}%s}\n", pretty ? "\n" : " ");
}

static void on_stats(uv_timer_t *t)
{
    struct farm *f = t->data;
    char tmp[4096];
    FILE *out;

    /* Write then rename, so a reader never sees half a file. */
    snprintf(tmp, sizeof tmp, "%s.tmp", f->cfg->stats_path);
    out = fopen(tmp, "w");
    if (!out)
        return;
    write_stats(f, out, 1);
    if (fclose(out) == 0)
        rename(tmp, f->cfg->stats_path);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void shutdown_done(struct farm *f)
{
    sigset_t stop_signals;
    unsigned i;

    /* Only winding down is left: a SIGINT or SIGTERM still on its way
     * (timeout(1) signals the bot, then its whole process group) must
     * not find the default action once the handlers below are closed,
     * and kill the process before its summary. Blocked, it stays
     * pending until the process exits. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    uv_timer_stop(&f->pacer);
    close_handle((uv_handle_t *)&f->pacer);
    close_handle((uv_handle_t *)&f->progress);
    close_handle((uv_handle_t *)&f->stats_timer);
    close_handle((uv_handle_t *)&f->end_timer);
    close_handle((uv_handle_t *)&f->grace);
    close_handle((uv_handle_t *)&f->sigint);
    close_handle((uv_handle_t *)&f->sigterm);
    for (i = 0; i < f->cfg->count; i++) {
        close_handle((uv_handle_t *)&f->clients[i].timer);
        close_handle((uv_handle_t *)&f->clients[i].stimer);
    }
}

static void check_all_done(struct farm *f)
{
    unsigned i;

    for (i = 0; i < f->cfg->count; i++)
        if (f->clients[i].state != C_DONE)
            return;
    f->stopping = 1;
    shutdown_done(f);
}

static void on_grace(uv_timer_t *t)
{
    struct farm *f = t->data;
    unsigned i;

    /* The server did not answer our closes in time: drop what is left. */
    for (i = 0; i < f->cfg->count; i++) {
        struct client *c = &f->clients[i];

        if (c->state == C_LOGIN || c->state == C_ONLINE)
            xb_session_abort(c->session, "shutdown");
    }
}

static void begin_shutdown(struct farm *f, const char *why)
{
    unsigned i;

    if (f->stopping)
        return;
    f->stopping = 1;
    flog(f, XB_LOG_INFO, NULL, "stopping (%s)", why);
    uv_timer_stop(&f->pacer);
    uv_timer_start(&f->grace, on_grace, SHUTDOWN_GRACE_MS, 0);
    for (i = 0; i < f->cfg->count; i++) {
        struct client *c = &f->clients[i];

        switch (c->state) {
        case C_ONLINE:
            if (c->bot)
                xb_bot_stop(c->bot);
            uv_timer_stop(&c->timer);
            xb_session_close(c->session);
            break;
        case C_LOGIN:
            xb_session_abort(c->session, "shutdown");
            break;
        case C_CONNECTING:
            c->kind = F_NONE;
            close_transport(c);
            break;
        case C_QUEUED:
        case C_BACKOFF:
            uv_timer_stop(&c->timer);
            c->state = C_DONE;
            break;
        default:
            break;
        }
    }
    f->queue_head = f->queue_tail = NULL;
    check_all_done(f);
}

static void on_signal(uv_signal_t *s, int sig)
{
    begin_shutdown(s->data, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_end(uv_timer_t *t)
{
    struct farm *f = t->data;

    begin_shutdown(f, f->cfg->role == FARM_LOAD && f->load_done == f->cfg->count
                          ? "all messages answered"
                          : "--duration reached");
}

/* --- setup ------------------------------------------------------------------
 */

/* Looks up _xmpp-client._tcp.<domain> (RFC 6120 3.2.1) and returns the
 * target with the lowest priority, or 0 if there is none. */
static int srv_lookup(const char *domain, char *host, size_t hostlen,
                      unsigned *port)
{
    unsigned char answer[4096];
    char name[1100];
    ns_msg msg;
    ns_rr rr;
    int len, i, best = -1, bestprio = 65536;

    snprintf(name, sizeof name, "_xmpp-client._tcp.%s", domain);
    len = res_query(name, ns_c_in, ns_t_srv, answer, sizeof answer);
    if (len < 0 || ns_initparse(answer, len, &msg) < 0)
        return 0;
    for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        const unsigned char *d;
        int prio;

        if (ns_parserr(&msg, ns_s_an, i, &rr) || ns_rr_type(rr) != ns_t_srv ||
            ns_rr_rdlen(rr) < 7)
            continue;
        d = ns_rr_rdata(rr);
        prio = (d[0] << 8) | d[1];
        if (prio >= bestprio)
            continue;
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), d + 6, host,
                      (int)hostlen) < 0)
            continue;
        best = i;
        bestprio = prio;
        *port = (unsigned)((d[4] << 8) | d[5]);
    }
    return best >= 0 && strcmp(host, ".") != 0;
}

static int resolve(struct farm *f)
{
    const struct farm_config *cfg = f->cfg;
    char host[1100], portstr[16];
    struct addrinfo hints = {0}, *res;
    unsigned port = cfg->port;
    int rc;

    if (cfg->host) {
        snprintf(host, sizeof host, "%s", cfg->host);
    } else if (srv_lookup(f->domain, host, sizeof host, &port)) {
        if (cfg->port)
            port = cfg->port;
    } else {
        snprintf(host, sizeof host, "%s", f->domain);
    }
    if (!port)
        port = 5222;
    snprintf(portstr, sizeof portstr, "%u", port);
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc) {
        xb_cli_error("cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(&f->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    snprintf(f->server_desc, sizeof f->server_desc, "%.250s port %u", host,
             port);
    return 0;
}

static char *make_jid(const struct farm_config *cfg, unsigned i)
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

static int setup_clients(struct farm *f)
{
    const struct farm_config *cfg = f->cfg;
    static const struct xb_session_hooks hooks = {
        s_write,  s_starttls,  s_ready, s_stanza,
        s_closed, s_set_timer, s_now,   NULL};
    struct xb_session_hooks th = hooks;
    struct xb_session_config sc = {0};
    unsigned i;

    if (f->trace)
        th.trace = s_trace;
    sc.password = cfg->password;
    sc.tls = cfg->tls;
    sc.allow_plain = cfg->allow_plain;
    sc.scram_cache = f->scram;
    sc.engine = f->engine;
    sc.login_timeout_ms = cfg->login_timeout_ms;
    sc.keepalive_ms = cfg->keepalive_ms;
    f->bot_host.send = b_send;
    f->bot_host.set_timer = b_set_timer;
    f->bot_host.log = b_log;
    for (i = 0; i < cfg->count; i++) {
        struct client *c = &f->clients[i];

        c->farm = f;
        c->index = cfg->first + i;
        c->jid = make_jid(cfg, i);
        if (!c->jid)
            return -1;
        sc.jid = c->jid;
        c->session = xb_session_new(&sc, &th, c);
        if (!c->session) {
            xb_cli_error("cannot set up %s (invalid JID or out of memory)",
                         c->jid);
            return -1;
        }
        xb_rand_seed(&c->rng, cfg->seed, c->index);
        if (cfg->role == FARM_LOAD) {
            c->inflight = calloc(cfg->window, sizeof *c->inflight);
            if (!c->inflight)
                return -1;
        } else {
            struct xb_rand botrng;

            xb_rand_seed(&botrng, cfg->seed ^ 0xB07, c->index);
            c->bot =
                xb_bot_new(cfg->role == FARM_ECHO ? XB_BOT_ECHO : XB_BOT_JUMPER,
                           c->jid, &f->bot_host, c, &botrng,
                           cfg->role == FARM_JUMPER ? &cfg->jumper : NULL);
            if (!c->bot) {
                xb_cli_error("cannot set up bot %s (invalid settings or out "
                             "of memory)",
                             c->jid);
                return -1;
            }
        }
        uv_timer_init(f->loop, &c->timer);
        uv_timer_init(f->loop, &c->stimer);
        c->timer.data = c->stimer.data = c;
        enqueue(c);
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static void print_summary(struct farm *f)
{
    const struct farm_config *cfg = f->cfg;
    struct xb_bot_stats s;
    int k, any = 0;

    add_bot_stats(f, &s);
    clear_progress(f);
    printf("bots %u: online at some point %u, gave up %u; connection "
           "attempts %lu, logins %lu, reconnects %lu\n",
           cfg->count, f->ever_online, f->gaveup, f->attempts, f->logins,
           f->reconnects);
    if (cfg->role == FARM_ECHO)
        printf("messages received %llu, echoed %llu, ignored %llu\n",
               (unsigned long long)s.received, (unsigned long long)s.echoed,
               (unsigned long long)s.ignored);
    if (cfg->role == FARM_JUMPER)
        printf("rooms joined %llu (errors %llu, left %llu); groupchat "
               "messages said %llu, heard %llu\n",
               (unsigned long long)s.joins, (unsigned long long)s.join_errors,
               (unsigned long long)s.leaves,
               (unsigned long long)s.groupchat_sent,
               (unsigned long long)s.groupchat_recv);
    printf("errors:");
    for (k = F_NONE + 1; k < F_KINDS; k++) {
        if (f->failures[k]) {
            printf(" %s %lu", kind_names[k], f->failures[k]);
            any = 1;
        }
    }
    printf("%s\n", any ? "" : " none");
    if (cfg->role == FARM_LOAD) {
        double secs = f->last_ack_us > f->first_send_us
                          ? (double)(f->last_ack_us - f->first_send_us) / 1e6
                          : 0;

        printf("load: sent %lu, echoed %zu, lost %lu, corrupt %lu\n",
               f->load_sent, f->nrtt, f->lost, f->corrupt);
        if (f->nrtt) {
            qsort(f->rtt_us, f->nrtt, sizeof *f->rtt_us, cmp_u32);
            printf("rtt_ms p50 %.3f p90 %.3f p99 %.3f max %.3f; "
                   "%.0f echoes/s over %.2f s\n",
                   f->rtt_us[f->nrtt / 2] / 1000.0,
                   f->rtt_us[(size_t)((double)f->nrtt * 0.90)] / 1000.0,
                   f->rtt_us[(size_t)((double)f->nrtt * 0.99)] / 1000.0,
                   f->rtt_us[f->nrtt - 1] / 1000.0,
                   secs > 0 ? (double)f->nrtt / secs : 0.0, secs);
        }
    }
    fflush(stdout);
}

static int exit_status(struct farm *f)
{
    unsigned long worst = 0;
    int k, kind = F_NONE;

    if (f->cfg->role == FARM_LOAD && f->nrtt == f->load_sent &&
        f->load_sent == (unsigned long)f->cfg->count * f->cfg->messages &&
        !f->corrupt)
        return XB_EXIT_OK;
    if (f->cfg->role != FARM_LOAD && f->ever_online == f->cfg->count)
        return XB_EXIT_OK;
    for (k = F_NONE + 1; k < F_KINDS; k++)
        if (f->failures[k] > worst)
            worst = f->failures[k], kind = k;
    switch (kind) {
    case F_AUTH:
        return XB_EXIT_AUTH;
    case F_CONNECT:
    case F_CONNECT_TIMEOUT:
        return XB_EXIT_CONNECT;
    case F_TLS:
    case F_CERT:
        return XB_EXIT_TLS;
    default:
        return XB_EXIT_INPUT;
    }
}

static void raise_fd_limit(unsigned need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need + 32)
        xb_cli_error("warning: the open-files limit (%llu) is below the %u "
                     "bots asked for",
                     (unsigned long long)rl.rlim_cur, need);
}

static void free_farm(struct farm *f)
{
    unsigned i;

    if (f->clients) {
        for (i = 0; i < f->cfg->count; i++) {
            struct client *c = &f->clients[i];

            xb_bot_free(c->bot);
            xb_session_free(c->session);
            if (c->ssl)
                SSL_free(c->ssl);
            free(c->inflight);
            free(c->jid);
        }
        free(f->clients);
    }
    free(f->rtt_us);
    xb_buf_free(&f->out);
    xb_parser_engine_free(f->engine); /* after every session's parser */
    xb_scram_cache_free(f->scram);
    if (f->ssl_ctx)
        SSL_CTX_free(f->ssl_ctx);
    if (f->trace && f->trace != stderr)
        fclose(f->trace);
}

int farm_run(const struct farm_config *cfg)
{
    struct farm *f = calloc(1, sizeof *f);
    struct xb_jid jid;
    const char *why = NULL;
    char err[256];
    int status = XB_EXIT_INPUT;

    if (!f) {
        xb_cli_error("out of memory");
        return XB_EXIT_INPUT;
    }
    f->cfg = cfg;
    {
        char *first = make_jid(cfg, 0);

        if (!first || xb_jid_parse(&jid, first, strlen(first), &why)) {
            xb_cli_error("invalid JID '%s': %s", first ? first : cfg->jid,
                         why ? why : "out of memory");
            free(first);
            free(f);
            return XB_EXIT_USAGE;
        }
        free(first);
    }
    f->domain = strdup(jid.domain);
    xb_jid_clear(&jid);
    f->loop = uv_default_loop();
    if (!f->domain || resolve(f))
        goto out;
    if (cfg->tls != XB_TLS_NONE) {
        f->ssl_ctx =
            xb_tls_ctx_new(cfg->cafile, cfg->insecure, err, sizeof err);
        if (!f->ssl_ctx) {
            xb_cli_error("%s", err);
            status = XB_EXIT_TLS;
            goto out;
        }
    }
    if (cfg->trace_path) {
        f->trace =
            strcmp(cfg->trace_path, "-") ? fopen(cfg->trace_path, "a") : stderr;
        if (!f->trace) {
            xb_cli_error("cannot open %s: %s", cfg->trace_path,
                         strerror(errno));
            goto out;
        }
        setvbuf(f->trace, NULL, _IOLBF, 0);
    }
    f->scram = xb_scram_cache_new(0);
    f->engine = xb_parser_engine_new();
    f->clients = calloc(cfg->count, sizeof *f->clients);
    if (cfg->role == FARM_LOAD) {
        f->rtt_cap = (size_t)cfg->count * cfg->messages;
        f->rtt_us = malloc(f->rtt_cap * sizeof *f->rtt_us + 1);
    }
    if (!f->scram || !f->engine || !f->clients ||
        (cfg->role == FARM_LOAD && !f->rtt_us)) {
        xb_cli_error("out of memory");
        goto out;
    }
    raise_fd_limit(cfg->count);
    if (setup_clients(f))
        goto out;

    f->tty = isatty(STDERR_FILENO) && !cfg->quiet;
    f->started_ms = uv_now(f->loop);
    uv_timer_init(f->loop, &f->pacer);
    uv_timer_init(f->loop, &f->progress);
    uv_timer_init(f->loop, &f->stats_timer);
    uv_timer_init(f->loop, &f->end_timer);
    uv_timer_init(f->loop, &f->grace);
    f->pacer.data = f->progress.data = f->stats_timer.data = f;
    f->end_timer.data = f->grace.data = f;
    uv_signal_init(f->loop, &f->sigint);
    uv_signal_init(f->loop, &f->sigterm);
    f->sigint.data = f->sigterm.data = f;
    uv_signal_start(&f->sigint, on_signal, SIGINT);
    uv_signal_start(&f->sigterm, on_signal, SIGTERM);
    f->allowance = 1;
    uv_timer_start(&f->pacer, on_pace, 0, PACE_MS);
    if (f->tty)
        uv_timer_start(&f->progress, on_progress, PROGRESS_MS, PROGRESS_MS);
    if (cfg->stats_path)
        uv_timer_start(&f->stats_timer, on_stats,
                       (uint64_t)(cfg->stats_interval * 1000),
                       (uint64_t)(cfg->stats_interval * 1000));
    if (cfg->duration > 0)
        uv_timer_start(&f->end_timer, on_end, (uint64_t)(cfg->duration * 1000),
                       0);
    flog(f, XB_LOG_INFO, NULL, "%u bot%s to %s at %.0f logins/s", cfg->count,
         cfg->count == 1 ? "" : "s", f->server_desc, cfg->connect_rate);
    uv_run(f->loop, UV_RUN_DEFAULT);
    if (cfg->stats_path)
        on_stats(&f->stats_timer);
    print_summary(f);
    status = exit_status(f);
out:
    free_farm(f);
    free((char *)f->domain);
    if (f->loop)
        uv_loop_close(f->loop);
    free(f);
    return status;
}
