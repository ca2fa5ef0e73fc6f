/*
 * The component host: the farm's bots as virtual users under one XEP-0114
 * component domain, over --connections streams to the server's component
 * port instead of one client connection each. The server keeps no session
 * per bot: a bot has no login and no roster, and is online while a stream
 * is. Stanzas reach a bot through one index of every bot's JID
 * (core/route.h), whichever stream they arrive on (ejabberd spreads a
 * domain's traffic over its connections); a bot answers through the
 * server that brought what it answers (in a cluster, the node that
 * delivered it has the sender's session: another node may not know yet
 * of a session opened a moment ago, and bounce the answer), and otherwise
 * sends on its own stream, or any ready one, with its JID stamped as
 * 'from'. Every bot is online while any stream is ready (a refused or cut
 * stream's bots use the others); when the last goes, they all go offline
 * and come back, at the pacer's rate, when a stream is ready again
 * (jumpers rejoin). Streams reconnect with backoff. With several
 * servers (the nodes of a cluster), stream k starts at server k mod n; a
 * stream that cannot connect, or is cut and cannot come back, moves on to
 * the next server at once, and backs off only when it has tried them all.
 * Output collects per stream and leaves once per loop turn.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "component.h"
#include "error.h"
#include "farm_int.h"
#include "http.h"
#include "route.h"
#include "store.h"
#include "xmpp.h"

#define LINK_OF(t, member)                                                     \
    ((struct link *)((char *)(t)-offsetof(struct link, member)))
#define VBOT_OF(t) ((struct vbot *)((char *)(t)-offsetof(struct vbot, timer)))

enum lstate {
    L_CONNECTING, /* TCP connect in progress */
    L_HANDSHAKE,  /* stream opened, handshake under way */
    L_READY,
    L_BACKOFF, /* waiting before the next attempt */
    L_CLOSING, /* transport closing */
    L_DONE     /* stopped or gave up */
};

/* One bot: its core bot, its timer, the stream it sends on first. */
struct vbot {
    struct xb_bot *bot;
    struct link *link;
    struct vbot *next; /* the queue of bots waiting to come online */
    struct xb_timer timer;
    unsigned char online, queued, ever;
};

/* One component stream and its TCP connection. */
struct link {
    struct comp *h;
    uv_tcp_t tcp;
    struct xb_component *comp;
    struct xb_timer conn_timer, comp_timer;
    struct xb_buf out; /* what the bots said this loop turn */
    enum lstate state;
    enum fail_kind fail;
    unsigned index, failures, logins;
    unsigned server; /* the server it connects to (an index of h->servers) */
    unsigned tried;  /* servers that failed since it was last ready */
    uint32_t backoff_ms;
    unsigned char tcp_open;
    struct xb_rand rng; /* backoff jitter */
};

/* A server of --host (the nodes of a cluster, say): its address. */
struct server {
    struct sockaddr_storage addr;
    char desc[300]; /* "HOST port N", for messages */
};

struct comp {
    struct farm *f;
    struct server *servers;
    unsigned nservers;
    char desc[340];         /* the servers, for messages */
    unsigned long foreign; /* stanzas for other domains, dropped */
    struct link *links;
    unsigned nlinks;
    struct vbot *bots;
    struct xb_route *route;
    struct vbot *queue_head, *queue_tail;
    uv_check_t flush; /* sends what the streams collected */
    struct xb_component_hooks hooks;
    struct xb_bot_host bot_host;
    const char *creating; /* the JID of the bot xb_bot_new() creates */
    struct link *in; /* the stream whose stanza a bot is handling */
};

static void link_connect(struct link *l);

/* --- transport ------------------------------------------------------------ */

static void l_write(void *ud, const char *data, size_t len)
{
    struct link *l = ud;

    if (xb_buf_append(&l->out, data, len))
        farm_sock_write(&l->tcp, l->tcp_open, data, len); /* out of memory */
}

static void flush_link(struct link *l)
{
    if (!l->out.len)
        return;
    farm_sock_write(&l->tcp, l->tcp_open, l->out.data, l->out.len);
    if (l->out.cap > READ_BUF)
        xb_buf_free(&l->out); /* a burst's worth is not kept */
    else
        xb_buf_reset(&l->out);
}

static void on_flush(uv_check_t *ch)
{
    struct comp *h = ch->data;
    unsigned i;

    for (i = 0; i < h->nlinks; i++)
        flush_link(&h->links[i]);
}

static void on_read_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *buf)
{
    struct link *l = hd->data;

    (void)hint;
    *buf = uv_buf_init(l->h->f->rbuf, sizeof l->h->f->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct link *l = s->data;

    if (n == UV_EOF) {
        xb_component_abort(l->comp, "connection closed by the server");
        return;
    }
    if (n < 0) {
        xb_component_abort(l->comp, uv_strerror((int)n));
        return;
    }
    farm_quickack(&l->tcp);
    xb_component_feed(l->comp, buf->base, (size_t)n);
}

/* --- bots ------------------------------------------------------------------ */

static const char *vbot_jid(const void *item)
{
    return xb_bot_jid(((const struct vbot *)item)->bot);
}

/* A ready stream for v's stanzas. An answer goes back through the
 * server that delivered what it answers: v's own stream if it is to that
 * server, else one of that server's chosen by v (answers spread over the
 * streams as the bots do). Anything else: v's own stream, else any. */
static struct link *send_link(struct vbot *v)
{
    struct comp *h = v->link->h;
    unsigned i, k, first = (unsigned)(v - h->bots) % h->nlinks;

    if (h->in && h->in->state == L_READY) {
        for (i = 0; i < h->nlinks; i++) {
            k = (first + i) % h->nlinks;
            if (h->links[k].server == h->in->server &&
                h->links[k].state == L_READY)
                return &h->links[k];
        }
    }
    if (v->link->state == L_READY)
        return v->link;
    for (i = 0; i < h->nlinks; i++)
        if (h->links[i].state == L_READY)
            return &h->links[i];
    return NULL;
}

static int b_send(void *ud, struct xb_stanza *st)
{
    struct vbot *v = ud;
    struct link *l = v->online ? send_link(v) : NULL;
    int rc = l ? xb_component_send_from(l->comp, st, xb_bot_jid(v->bot))
               : XB_ESTATE;

    xb_stanza_free(st);
    return rc;
}

static void b_set_timer(void *ud, int64_t ms)
{
    struct vbot *v = ud;

    if (ms < 0)
        farm_disarm(v->link->h->f, &v->timer);
    else
        farm_arm(v->link->h->f, &v->timer, (uint64_t)ms);
}

/* v's JID, also while xb_bot_new() creates its bot (whose kind's init
 * may log, load its data, ask for its pages' address). */
static const char *own_jid(const struct vbot *v)
{
    return v->bot ? xb_bot_jid(v->bot) : v->link->h->creating;
}

static void b_log(void *ud, enum xb_log_level level, const char *msg)
{
    struct vbot *v = ud;

    flog(v->link->h->f, level, own_jid(v), "%s", msg);
}

static void b_done(void *ud)
{
    struct vbot *v = ud;

    farm_bot_done(v->link->h->f);
}

static void b_sample(void *ud, unsigned series, uint32_t value)
{
    report_sample(((struct vbot *)ud)->link->h->f, series, value);
}

static void on_bot_timer(struct xb_timer *t)
{
    xb_bot_timer(VBOT_OF(t)->bot);
}

/* --- the bots' data and pages --------------------------------------------- */

/* The bot's namespace in the store: its bare JID (len bytes). */
static const char *vbot_ns(const struct vbot *v, size_t *len)
{
    const char *jid = own_jid(v);

    *len = strcspn(jid, "/");
    return jid;
}

/* rc from the store: a database failure gets its line (the kind says
 * what it could not do). */
static int stored(const struct vbot *v, int rc)
{
    struct farm *f = v->link->h->f;

    if (rc && store_error(f->store)[0])
        flog(f, XB_LOG_ERROR, NULL, "database %s", store_error(f->store));
    return rc;
}

static int b_store_load(void *ud,
                        int (*add)(void *ctx, const char *key,
                                   const char *value),
                        void *ctx)
{
    struct vbot *v = ud;
    size_t n;
    const char *ns = vbot_ns(v, &n);

    return stored(v, store_load(v->link->h->f->store, ns, n, add, ctx));
}

static int b_store_put(void *ud, const char *key, const char *value)
{
    struct vbot *v = ud;
    size_t n;
    const char *ns = vbot_ns(v, &n);

    return stored(v, store_put(v->link->h->f->store, ns, n, key, value));
}

static int b_store_del(void *ud, const char *key)
{
    struct vbot *v = ud;
    size_t n;
    const char *ns = vbot_ns(v, &n);

    return stored(v, store_del(v->link->h->f->store, ns, n, key));
}

static const char *b_http_url(void *ud)
{
    struct vbot *v = ud;
    struct comp *h = v->link->h;

    return http_url(h->f->http, (unsigned)(v - h->bots));
}

static void enqueue_bot(struct vbot *v)
{
    struct comp *h = v->link->h;

    if (v->queued || v->online)
        return;
    v->queued = 1;
    v->next = NULL;
    if (h->queue_tail)
        h->queue_tail->next = v;
    else
        h->queue_head = v;
    h->queue_tail = v;
}

/* A stream other than l is ready. */
static int other_ready(const struct link *l)
{
    unsigned i;

    for (i = 0; i < l->h->nlinks; i++)
        if (&l->h->links[i] != l && l->h->links[i].state == L_READY)
            return 1;
    return 0;
}

/* The last ready stream is gone: every bot goes offline (and waits for a
 * stream to come back). */
static void bots_down(struct comp *h)
{
    struct farm *f = h->f;
    unsigned i;

    for (i = 0; i < f->cfg->count; i++) {
        struct vbot *v = &h->bots[i];

        v->queued = 0;
        if (v->online) {
            v->online = 0;
            f->online--;
            xb_bot_offline(v->bot);
        }
    }
    h->queue_head = h->queue_tail = NULL;
}

int comp_pace(struct farm *f)
{
    struct comp *h = f->comp;
    struct vbot *v = h->queue_head;

    if (!v)
        return 0;
    h->queue_head = v->next;
    if (!h->queue_head)
        h->queue_tail = NULL;
    v->queued = 0;
    if (!send_link(v))
        return 1; /* every stream went away meanwhile */
    v->online = 1;
    f->online++;
    if (!v->ever) {
        v->ever = 1;
        f->ever_online++;
    }
    xb_bot_online(v->bot, NULL);
    return 1;
}

/* --- stream hooks --------------------------------------------------------- */

static void c_ready(void *ud)
{
    struct link *l = ud;
    struct comp *h = l->h;
    struct farm *f = h->f;
    unsigned i;

    l->state = L_READY;
    f->logins++;
    if (l->logins++)
        f->reconnects++;
    l->failures = 0;
    l->tried = 0;
    l->backoff_ms = 0;
    flog(f, XB_LOG_INFO, xb_component_domain(l->comp),
         "component stream %u ready at %s", l->index,
         h->servers[l->server].desc);
    if (f->stopping) {
        xb_component_close(l->comp);
        return;
    }
    /* Every bot is online while any stream is: those of a stream that is
     * down (refused, cut) send on the others. */
    for (i = 0; i < f->cfg->count; i++)
        enqueue_bot(&h->bots[i]);
}

static void c_stanza(void *ud, const struct xb_stanza *st)
{
    struct link *l = ud;
    struct xb_stanza *reply = NULL;
    void *item = NULL;
    int v = xb_route_stanza(l->h->route, st, &item, &reply);

    if (v == XB_ROUTE_DELIVER && ((struct vbot *)item)->online) {
        l->h->in = l;
        xb_bot_stanza(((struct vbot *)item)->bot, st);
        l->h->in = NULL;
    } else if (v == XB_ROUTE_DELIVER) {
        /* A bot still waiting for the pacer: a request must not hang. */
        const char *type = xb_stanza_attr(st, NULL, "type");

        if (xb_stanza_is(st, XB_NS_CLIENT, "iq") && type &&
            (!strcmp(type, "get") || !strcmp(type, "set")) &&
            (reply = xb_xmpp_reply(st, "service-unavailable", "cancel"))) {
            xb_component_send_from(
                l->comp, reply, xb_bot_jid(((struct vbot *)item)->bot));
            xb_stanza_free(reply);
        }
    } else if (v == XB_ROUTE_REPLY) {
        xb_component_send(l->comp, reply);
        xb_stanza_free(reply);
    } else if (v == XB_ROUTE_FOREIGN && !l->h->foreign++) {
        flog(l->h->f, XB_LOG_WARN, xb_component_domain(l->comp),
             "component stream %u: the server sends this stream stanzas for "
             "another domain (the first: to %.300s), which are dropped: "
             "ejabberd routes every domain of a listener to each component "
             "connected to it; give this domain a listener (port) of its own",
             l->index, xb_stanza_attr(st, NULL, "to"));
    }
}

static enum fail_kind classify(struct link *l, int err, int was_ready)
{
    switch (err) {
    case XB_EAUTH:
        return F_AUTH;
    case XB_ETIMEOUT:
        return F_LOGIN_TIMEOUT;
    case XB_ECLOSED:
        if (xb_component_stream_cond(l->comp) != XB_COND_NONE)
            return F_STREAM_ERROR;
        return was_ready ? F_DROPPED : F_CONNECT;
    default:
        return F_PROTOCOL;
    }
}

static void close_link(struct link *l);

static void c_closed(void *ud, int err, const char *msg)
{
    struct link *l = ud;
    struct farm *f = l->h->f;
    int was_ready = l->state == L_READY;

    l->state = L_CLOSING; /* no bot sends here any more */
    if (was_ready && !other_ready(l))
        bots_down(l->h);
    if (err == 0 || f->stopping) {
        l->fail = F_NONE;
        flog(f, XB_LOG_DEBUG, NULL, "component stream %u: %s", l->index, msg);
    } else {
        l->fail = classify(l, err, was_ready);
        f->failures[l->fail]++;
        flog(f, XB_LOG_WARN, xb_component_domain(l->comp), "%s", msg);
    }
    close_link(l);
}

static void c_set_timer(void *ud, int64_t ms)
{
    struct link *l = ud;

    if (ms < 0)
        farm_disarm(l->h->f, &l->comp_timer);
    else
        farm_arm(l->h->f, &l->comp_timer, (uint64_t)ms);
}

static uint64_t c_now(void *ud)
{
    return uv_now(((struct link *)ud)->h->f->loop);
}

static void c_trace(void *ud, char dir, const char *data, size_t len)
{
    struct link *l = ud;
    struct farm *f = l->h->f;

    fprintf(f->trace, "%.3f %s#%u %c %.*s\n", (double)uv_now(f->loop) / 1000.0,
            xb_component_domain(l->comp), l->index, dir, (int)len, data);
}

static void on_comp_timer(struct xb_timer *t)
{
    xb_component_timer(LINK_OF(t, comp_timer)->comp);
}

/* --- a stream's life ------------------------------------------------------ */

static void link_done(struct link *l)
{
    l->state = L_DONE;
    farm_check_all_done(l->h->f);
}

static void give_up(struct link *l)
{
    struct farm *f = l->h->f;

    if (l->fail != F_AUTH)
        flog(f, XB_LOG_WARN, xb_component_domain(l->comp),
             "component stream %u: giving up after %u attempt%s", l->index,
             l->failures, l->failures == 1 ? "" : "s");
    link_done(l);
    if (comp_all_done(f) && !f->stopping)
        f->gaveup = f->cfg->count - f->done; /* no stream left */
}

/* After the transport closed: stop, give up, or try again (another server
 * at once, or after a backoff). */
static void schedule_next(struct link *l)
{
    struct farm *f = l->h->f;
    const struct farm_config *cfg = f->cfg;
    uint32_t lo, hi;

    if (f->stopping || l->fail == F_NONE) {
        link_done(l);
        return;
    }
    /* A wrong secret or an unknown domain will not fix itself. */
    if (l->fail == F_AUTH ||
        xb_component_stream_cond(l->comp) == XB_COND_HOST_UNKNOWN) {
        l->failures++;
        give_up(l);
        return;
    }
    /* The next attempt goes to the next server: at once while some have
     * not been tried since the stream was last ready, else after a
     * backoff (a round of every server is one attempt for --retries). */
    l->server = (l->server + 1) % l->h->nservers;
    if (++l->tried < l->h->nservers) {
        link_connect(l);
        return;
    }
    l->tried = 0;
    if (++l->failures > cfg->retries) {
        give_up(l);
        return;
    }
    hi = l->backoff_ms ? l->backoff_ms * 2 : cfg->backoff_min_ms;
    if (hi > cfg->backoff_max_ms)
        hi = cfg->backoff_max_ms;
    l->backoff_ms = hi;
    lo = hi / 2;
    l->state = L_BACKOFF;
    farm_arm(f, &l->conn_timer, xb_rand_range(&l->rng, lo, hi));
}

static void on_tcp_closed(uv_handle_t *hd)
{
    struct link *l = hd->data;

    l->tcp_open = 0;
    schedule_next(l);
}

static void close_link(struct link *l)
{
    flush_link(l); /* the last words, a stream close, go out first */
    farm_disarm(l->h->f, &l->comp_timer);
    farm_disarm(l->h->f, &l->conn_timer);
    if (l->state == L_CONNECTING)
        l->h->f->connecting--;
    l->state = L_CLOSING;
    uv_close((uv_handle_t *)&l->tcp, on_tcp_closed);
}

static void connect_failed(struct link *l, enum fail_kind fail,
                           const char *why)
{
    struct farm *f = l->h->f;

    char msg[500];

    snprintf(msg, sizeof msg, "component stream %u: cannot connect to %s: %s",
             l->index, l->h->servers[l->server].desc, why ? why : "timed out");
    l->fail = fail;
    if (!f->stopping && l->tried + 1 < l->h->nservers) {
        /* As a client's next address: not yet a failure. */
        f->fallbacks++;
        flog(f, XB_LOG_INFO, NULL, "%s; trying the next server", msg);
    } else {
        f->failures[fail]++;
        flog(f, XB_LOG_WARN, NULL, "%s", msg);
    }
    close_link(l);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct link *l = req->data;
    struct farm *f = l->h->f;

    free(req);
    if (l->state != L_CONNECTING)
        return; /* timed out or stopped: the handle is closing */
    f->connecting--;
    farm_disarm(f, &l->conn_timer);
    l->state = L_HANDSHAKE;
    if (status < 0) {
        connect_failed(l, F_CONNECT, uv_strerror(status));
        return;
    }
    uv_read_start((uv_stream_t *)&l->tcp, on_read_alloc, on_read);
    if (xb_component_start(l->comp))
        xb_component_abort(l->comp, "out of memory");
}

static void link_connect(struct link *l)
{
    struct farm *f = l->h->f;
    uv_connect_t *req = malloc(sizeof *req);

    if (!l->tried)
        f->attempts++; /* a round of the servers is one attempt */
    l->fail = F_NONE;
    if (!req || uv_tcp_init(f->loop, &l->tcp)) {
        free(req);
        l->fail = F_CONNECT;
        f->failures[F_CONNECT]++;
        schedule_next(l);
        return;
    }
    l->tcp.data = l;
    l->tcp_open = 1;
    uv_tcp_nodelay(&l->tcp, 1);
    req->data = l;
    l->state = L_CONNECTING;
    f->connecting++;
    farm_arm(f, &l->conn_timer, f->cfg->connect_timeout_ms);
    if (uv_tcp_connect(req, &l->tcp,
                       (struct sockaddr *)&l->h->servers[l->server].addr,
                       on_connected)) {
        free(req);
        connect_failed(l, F_CONNECT, "cannot start the connection");
    }
}

static void on_conn_timer(struct xb_timer *t)
{
    struct link *l = LINK_OF(t, conn_timer);

    if (l->state == L_CONNECTING)
        connect_failed(l, F_CONNECT_TIMEOUT, NULL);
    else if (l->state == L_BACKOFF)
        link_connect(l);
}

/* --- the farm's calls ----------------------------------------------------- */

/* The servers' addresses (localhost without --host). 0 or -1 (said). */
static int resolve(struct comp *h)
{
    const struct farm_config *cfg = h->f->cfg;
    struct addrinfo hints = {0}, *res;
    unsigned i, n = cfg->nservers ? cfg->nservers : 1;
    char portstr[16];
    int rc;

    h->servers = calloc(n, sizeof *h->servers);
    if (!h->servers) {
        xb_cli_error("out of memory");
        return -1;
    }
    h->nservers = n;
    hints.ai_socktype = SOCK_STREAM;
    for (i = 0; i < n; i++) {
        const char *host = cfg->nservers ? cfg->servers[i].host : "localhost";
        unsigned port = cfg->nservers && cfg->servers[i].port
                            ? cfg->servers[i].port
                        : cfg->port ? cfg->port
                                    : 5347;

        snprintf(portstr, sizeof portstr, "%u", port);
        rc = getaddrinfo(host, portstr, &hints, &res);
        if (rc) {
            xb_cli_error("cannot resolve %s: %s", host, gai_strerror(rc));
            return -1;
        }
        memcpy(&h->servers[i].addr, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
        snprintf(h->servers[i].desc, sizeof h->servers[i].desc,
                 "%.250s port %u", host, port);
    }
    snprintf(h->desc, sizeof h->desc, "%s", h->servers[0].desc);
    if (n > 1)
        snprintf(h->desc + strlen(h->desc), sizeof h->desc - strlen(h->desc),
                 " and %u more server%s", n - 1, n > 2 ? "s" : "");
    return 0;
}

const char *comp_desc(const struct farm *f)
{
    return f->comp->desc;
}

void comp_write_json(const struct farm *f, FILE *out)
{
    const struct comp *h = f->comp;
    unsigned i, k, ready;

    fprintf(out, "  \"servers\": [");
    for (i = 0; i < h->nservers; i++) {
        for (k = ready = 0; k < h->nlinks; k++)
            ready += h->links[k].server == i && h->links[k].state == L_READY;
        /* desc: a host name or address (farm_parse_servers() allows no
         * character JSON would escape) and a port */
        fprintf(out, "%s{\"server\": \"%s\", \"streams_ready\": %u}",
                i ? ", " : "", h->servers[i].desc, ready);
    }
    fprintf(out, "],\n  \"foreign_dropped\": %lu,\n", h->foreign);
}

/* Bot i: its JID, its core bot (whose init may load its data and ask for
 * its pages' address), its place in the index. 0 or -1 (said). */
static int setup_bot(struct comp *h, unsigned i)
{
    struct farm *f = h->f;
    const struct farm_config *cfg = f->cfg;
    struct vbot *v = &h->bots[i];
    char *jid = farm_make_jid(cfg, i);
    int rc = jid ? 0 : XB_ENOMEM;

    v->link = &h->links[i % h->nlinks];
    xb_timer_init(&v->timer, on_bot_timer);
    if (!rc && f->http && http_add(f->http, i, jid))
        rc = XB_ENOMEM;
    h->creating = jid;
    v->bot = rc ? NULL
                : xb_bot_new(cfg->bot, jid, &h->bot_host, v, cfg->seed,
                             cfg->first + i);
    h->creating = NULL;
    rc = v->bot ? xb_route_add(h->route, v) : XB_ENOMEM;
    if (rc == XB_EJID)
        xb_cli_error("%s is not a JID under the component's domain %s", jid,
                     cfg->component);
    else if (rc == XB_EINVAL)
        xb_cli_error("%s: two bots have this JID", jid);
    else if (rc)
        xb_cli_error("cannot set up the %s bot %s", f->kind->name,
                     jid ? jid : "");
    else if (f->http)
        http_bind(f->http, i, v->bot);
    free(jid);
    return rc ? -1 : 0;
}

/* The streams' cores. 0 or -1 (said). */
static int setup_links(struct comp *h)
{
    const struct farm_config *cfg = h->f->cfg;
    struct xb_component_config cc = {0};
    unsigned i;

    cc.domain = cfg->component;
    cc.secret = cfg->secret;
    cc.engine = h->f->engine;
    cc.login_timeout_ms = cfg->login_timeout_ms;
    cc.keepalive_ms = cfg->keepalive_ms;
    for (i = 0; i < h->nlinks; i++) {
        struct link *l = &h->links[i];

        l->h = h;
        l->index = i;
        l->server = i % h->nservers;
        l->state = L_BACKOFF;
        xb_rand_seed(&l->rng, cfg->seed, i);
        xb_buf_init(&l->out);
        xb_timer_init(&l->conn_timer, on_conn_timer);
        xb_timer_init(&l->comp_timer, on_comp_timer);
        l->comp = xb_component_new(&cc, &h->hooks, l);
        if (!l->comp) {
            xb_cli_error("invalid component domain '%s'", cfg->component);
            return -1;
        }
    }
    return 0;
}

int comp_setup(struct farm *f)
{
    static const struct xb_component_hooks hooks = {
        l_write, c_ready, c_stanza, c_closed, c_set_timer, c_now, NULL};
    static const struct xb_bot_host bot_host = {
        .send = b_send,
        .set_timer = b_set_timer,
        .log = b_log,
        .now_us = farm_now_us,
        .done = b_done,
        .sample = b_sample};
    const struct farm_config *cfg = f->cfg;
    struct comp *h = calloc(1, sizeof *h);
    char err[600];
    unsigned i;

    if (!h)
        goto oom;
    f->comp = h;
    h->f = f;
    h->hooks = hooks;
    if (f->trace)
        h->hooks.trace = c_trace;
    h->bot_host = bot_host;
    if (f->store) {
        h->bot_host.store_load = b_store_load;
        h->bot_host.store_put = b_store_put;
        h->bot_host.store_del = b_store_del;
    }
    if (f->http)
        h->bot_host.http_url = b_http_url;
    if (resolve(h))
        return -1;
    h->nlinks = cfg->connections < cfg->count ? cfg->connections : cfg->count;
    h->links = calloc(h->nlinks, sizeof *h->links);
    h->bots = calloc(cfg->count, sizeof *h->bots);
    h->route = xb_route_new(cfg->component, "xmppbots", vbot_jid);
    if (!h->links || !h->bots || !h->route)
        goto oom;
    if (setup_links(h))
        return -1;
    for (i = 0; i < cfg->count; i++)
        if (setup_bot(h, i))
            return -1;
    if (f->http && http_start(f->http, err, sizeof err)) {
        xb_cli_error("%s", err);
        return -1;
    }
    uv_check_init(f->loop, &h->flush);
    h->flush.data = h;
    uv_check_start(&h->flush, on_flush);
    return 0;
oom:
    xb_cli_error("out of memory");
    return -1;
}

void comp_start(struct farm *f)
{
    unsigned i;

    for (i = 0; i < f->comp->nlinks; i++)
        link_connect(&f->comp->links[i]);
}

int comp_all_done(const struct farm *f)
{
    unsigned i;

    for (i = 0; i < f->comp->nlinks; i++)
        if (f->comp->links[i].state != L_DONE)
            return 0;
    return 1;
}

void comp_stop(struct farm *f, int abort)
{
    struct comp *h = f->comp;
    unsigned i;

    for (i = 0; !abort && i < f->cfg->count; i++)
        if (h->bots[i].online)
            xb_bot_stop(h->bots[i].bot); /* jumpers leave their rooms */
    for (i = 0; i < h->nlinks; i++) {
        struct link *l = &h->links[i];

        switch (l->state) {
        case L_READY:
            if (abort)
                xb_component_abort(l->comp, "shutdown");
            else
                xb_component_close(l->comp);
            break;
        case L_HANDSHAKE:
            xb_component_abort(l->comp, "shutdown");
            break;
        case L_CONNECTING:
            l->fail = F_NONE;
            close_link(l);
            break;
        case L_BACKOFF:
            farm_disarm(f, &l->conn_timer);
            l->state = L_DONE;
            break;
        default:
            break;
        }
    }
    if (!abort)
        on_flush(&h->flush);
}

void comp_shutdown_handles(struct farm *f)
{
    if (f->comp && !uv_is_closing((uv_handle_t *)&f->comp->flush))
        uv_close((uv_handle_t *)&f->comp->flush, NULL);
}

struct xb_bot *comp_bot(const struct farm *f, unsigned i)
{
    return f->comp->bots[i].bot;
}

unsigned comp_waiting(const struct farm *f)
{
    const struct vbot *v;
    unsigned n = 0;

    for (v = f->comp->queue_head; v; v = v->next)
        n++;
    return n;
}

void comp_free(struct farm *f)
{
    struct comp *h = f->comp;
    unsigned i;

    if (!h)
        return;
    for (i = 0; h->bots && i < f->cfg->count; i++)
        xb_bot_free(h->bots[i].bot);
    for (i = 0; h->links && i < h->nlinks; i++) {
        xb_component_free(h->links[i].comp);
        xb_buf_free(&h->links[i].out);
    }
    xb_route_free(h->route);
    free(h->servers);
    free(h->bots);
    free(h->links);
    free(h);
    f->comp = NULL;
}
