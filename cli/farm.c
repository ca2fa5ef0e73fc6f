/*
 * The bot farm on libuv: setup, finding the server (--host, or SRV; looked
 * up again on the thread pool after failures), login pacing through a
 * token bucket, the one loop timer that drives every bot's deadlines (the
 * core's timer heap), the end of --duration, signals and a clean shutdown.
 * A bot's connection is conn.c's; what the farm reports is report.c's.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

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
#include <unistd.h>

#include "cli.h"
#include "farm_int.h"
#include "http.h"
#include "jid.h"
#include "store.h"
#include "tls.h"

#define PACE_MS 10
#define PROGRESS_MS 1000
#define SHUTDOWN_GRACE_MS 3000
/* Looking the server up again after failures: at most this often. */
#define RESOLVE_EVERY_MS 5000

void flog(struct farm *f, enum xb_log_level level, const char *who,
          const char *fmt, ...)
{
    va_list ap;

    if (level > f->cfg->log_level)
        return;
    report_clear_progress(f);
    fprintf(stderr, "xmppbots: %s%s%s: ", who ? who : "", who ? ": " : "",
            xb_log_level_name(level));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* --- the timer heap's loop timer ------------------------------------------ */

static void on_tick(uv_timer_t *t);

/* Starts the loop timer for the earliest deadline, if it is sooner than
 * the one the timer is armed for. */
static void rewake(struct farm *f)
{
    int64_t next = xb_timers_next(&f->timers), now = (int64_t)uv_now(f->loop);

    if (next >= f->wake_at)
        return;
    f->wake_at = next;
    uv_timer_start(&f->tick, on_tick, (uint64_t)(next > now ? next - now : 0),
                   0);
}

static void on_tick(uv_timer_t *t)
{
    struct farm *f = t->data;

    f->wake_at = INT64_MAX;
    xb_timers_run(&f->timers, (int64_t)uv_now(f->loop));
    rewake(f);
}

void farm_arm(struct farm *f, struct xb_timer *t, uint64_t ms)
{
    if (xb_timers_arm(&f->timers, t, (int64_t)(uv_now(f->loop) + ms))) {
        flog(f, XB_LOG_ERROR, NULL, "out of memory arming a timer");
        return;
    }
    rewake(f);
}

void farm_disarm(struct farm *f, struct xb_timer *t)
{
    /* The loop timer may then wake up for nothing; it re-arms itself. */
    xb_timers_disarm(&f->timers, t);
}

/* --- pacing, the end, shutdown ----------------------------------------------
 */

static void on_pace(uv_timer_t *t)
{
    struct farm *f = t->data;
    struct client *c;

    f->allowance += f->cfg->connect_rate * PACE_MS / 1000.0;
    if (f->allowance > f->cfg->connect_rate + 1)
        f->allowance = f->cfg->connect_rate + 1; /* at most a second's burst */
    while (f->comp && f->allowance >= 1 && !f->stopping && comp_pace(f))
        f->allowance -= 1;
    while (f->allowance >= 1 && f->queue_head && !f->stopping) {
        c = f->queue_head;
        f->queue_head = c->next;
        if (!f->queue_head)
            f->queue_tail = NULL;
        f->allowance -= 1;
        conn_start(c);
    }
}

static void on_progress(uv_timer_t *t)
{
    report_progress(t->data);
}

static void on_stats(uv_timer_t *t)
{
    report_stats_file(t->data);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void shutdown_done(struct farm *f)
{
    sigset_t stop_signals;

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
    /* A lookup not yet started is dropped; one under way is waited for. */
    if (f->resolving)
        uv_cancel((uv_req_t *)&f->resolving->work);
    close_handle((uv_handle_t *)&f->pacer);
    close_handle((uv_handle_t *)&f->progress);
    close_handle((uv_handle_t *)&f->stats_timer);
    close_handle((uv_handle_t *)&f->end_timer);
    close_handle((uv_handle_t *)&f->grace);
    close_handle((uv_handle_t *)&f->tick);
    close_handle((uv_handle_t *)&f->sigint);
    close_handle((uv_handle_t *)&f->sigterm);
    if (f->comp)
        comp_shutdown_handles(f);
    http_close(f->http);
}

struct xb_bot *farm_bot(const struct farm *f, unsigned i)
{
    return f->comp ? comp_bot(f, i) : f->clients[i].bot;
}

void farm_check_all_done(struct farm *f)
{
    unsigned i;

    if (f->comp && !comp_all_done(f))
        return;
    for (i = 0; f->clients && i < f->cfg->count; i++)
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
    if (f->comp)
        comp_stop(f, 1);
    for (i = 0; f->clients && i < f->cfg->count; i++)
        conn_stop(&f->clients[i], 1);
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
    if (f->comp)
        comp_stop(f, 0);
    for (i = 0; f->clients && i < f->cfg->count; i++)
        conn_stop(&f->clients[i], 0);
    f->queue_head = f->queue_tail = NULL;
    farm_check_all_done(f);
}

static void on_signal(uv_signal_t *s, int sig)
{
    begin_shutdown(s->data, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_end(uv_timer_t *t)
{
    struct farm *f = t->data;

    begin_shutdown(f, f->done == f->cfg->count ? "every bot did its work"
                                               : "--duration reached");
}

void farm_bot_done(struct farm *f)
{
    if (++f->done == f->cfg->count)
        uv_timer_start(&f->end_timer, on_end, 0, 0);
}

/* --- --host ------------------------------------------------------------------ */

/* One server of a --host list: s[0..len). 0, or -1 with err. */
static int parse_server(struct farm_server *out, const char *s, size_t len,
                        char *err, size_t errlen)
{
    const char *host = s, *colon = memchr(s, ':', len), *port = NULL;
    size_t hlen = len;
    unsigned long v;
    char *end, num[8];

    if (len && s[0] == '[') {
        /* "[IPv6]" or "[IPv6]:PORT" */
        const char *close = memchr(s, ']', len);

        if (!close || (close + 1 < s + len && close[1] != ':')) {
            snprintf(err, errlen, "'%.*s': a bracketed address is "
                     "[ADDRESS] or [ADDRESS]:PORT", (int)len, s);
            return -1;
        }
        host = s + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < s + len)
            port = close + 2;
    } else if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
        hlen = (size_t)(colon - s); /* HOST:PORT (more colons: IPv6) */
        port = colon + 1;
    }
    if (!hlen || hlen >= sizeof out->host) {
        snprintf(err, errlen, "'%.*s': %s", (int)len, s,
                 hlen ? "the name is too long" : "no server name");
        return -1;
    }
    if (strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789.-_:%") < hlen) {
        snprintf(err, errlen, "'%.*s' is not a host name or address",
                 (int)hlen, host);
        return -1;
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->port = 0;
    if (port) {
        size_t plen = (size_t)(s + len - port);

        memcpy(num, port, plen < sizeof num ? plen : sizeof num - 1);
        num[plen < sizeof num ? plen : sizeof num - 1] = '\0';
        errno = 0;
        v = plen && plen < sizeof num && num[0] >= '0' && num[0] <= '9'
                ? strtoul(num, &end, 10)
                : 0;
        if (!v || *end || errno || v > 65535) {
            snprintf(err, errlen, "'%.*s': the port must be 1 to 65535",
                     (int)len, s);
            return -1;
        }
        out->port = (unsigned)v;
    }
    return 0;
}

int farm_parse_servers(struct farm_config *cfg, const char *arg, char *err,
                       size_t errlen)
{
    const char *p = arg, *comma;
    unsigned n = 0;

    do {
        size_t len;

        comma = strchr(p, ',');
        len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == FARM_SERVERS_MAX) {
            snprintf(err, errlen, "at most %d servers", FARM_SERVERS_MAX);
            return -1;
        }
        if (parse_server(&cfg->servers[n], p, len, err, errlen))
            return -1;
        n++;
        p = comma + 1;
    } while (comma);
    cfg->nservers = n;
    return 0;
}

/* --- setup ------------------------------------------------------------------
 */
static void targets_free(struct targets *t)
{
    size_t i;

    if (!t)
        return;
    for (i = 0; i < t->n; i++)
        if (t->ai[i])
            freeaddrinfo(t->ai[i]);
    free(t);
}

/* One more target: a server of --host, or the domain itself. */
static void one_target(struct targets *t, const char *host, unsigned port,
                       int direct)
{
    struct xb_srv *srv = &t->srv[t->n++];

    memset(srv, 0, sizeof *srv);
    snprintf(srv->target, sizeof srv->target, "%s", host);
    srv->port = (uint16_t)port;
    srv->direct = (unsigned char)direct;
}

/* Adds the records of service (e.g. "_xmpps-client") at domain. */
static void srv_query(struct targets *t, const char *service,
                      const char *domain, int direct)
{
    unsigned char answer[4096];
    char name[1100];
    int len;

    snprintf(name, sizeof name, "%s._tcp.%s", service, domain);
    len = res_query(name, ns_c_in, ns_t_srv, answer, sizeof answer);
    xb_srv_parse(answer, len, direct, t->srv, &t->n, XB_SRV_MAX);
}

/*
 * Finds where to connect (RFC 6120 3.2, XEP-0368): the --host, or the SRV
 * records of the services --tls allows, or the domain itself; then each
 * target's addresses. Blocking: before the loop runs, or on the thread
 * pool (it reads only cfg and domain, which stay as they are). Sets t->err
 * when there is nothing to connect to.
 */
static void lookup(const struct farm_config *cfg, const char *domain,
                   struct targets *t)
{
    int want_direct =
            cfg->tls == FARM_TLS_REQUIRED || cfg->tls == FARM_TLS_DIRECT,
        want_starttls = cfg->tls != FARM_TLS_DIRECT;
    struct addrinfo hints = {0};
    char port[16], gai_err[400] = "";
    size_t i, first = 0, nok = 0;
    int rc;

    t->n = 0;
    t->listed = cfg->nservers > 0;
    if (cfg->nservers) {
        for (i = 0; i < cfg->nservers; i++)
            one_target(t, cfg->servers[i].host,
                       cfg->servers[i].port ? cfg->servers[i].port
                       : cfg->port          ? cfg->port
                       : want_starttls      ? 5222
                                            : 5223,
                       !want_starttls);
    } else if (cfg->port) {
        one_target(t, domain, cfg->port, !want_starttls);
    } else {
        if (want_direct)
            srv_query(t, "_xmpps-client", domain, 1);
        if (want_starttls)
            srv_query(t, "_xmpp-client", domain, 0);
        switch (xb_srv_plan(t->srv, &t->n, want_direct, want_starttls)) {
        case XB_SRV_TARGETS:
            break;
        case XB_SRV_FALLBACK:
            t->n = 0;
            one_target(t, domain, want_starttls ? 5222 : 5223, !want_starttls);
            break;
        case XB_SRV_UNAVAILABLE:
            snprintf(t->err, sizeof t->err,
                     "%.250s offers no XMPP client service (SRV target '.')",
                     domain);
            return;
        }
    }
    hints.ai_socktype = SOCK_STREAM;
    for (i = 0; i < t->n; i++) {
        snprintf(port, sizeof port, "%u", t->srv[i].port);
        rc = getaddrinfo(t->srv[i].target, port, &hints, &t->ai[i]);
        if (rc) {
            t->ai[i] = NULL;
            snprintf(gai_err, sizeof gai_err, "cannot resolve %.250s: %s",
                     t->srv[i].target, gai_strerror(rc));
            continue;
        }
        if (!nok++ || t->srv[i].priority < t->srv[first].priority)
            first = i;
    }
    if (!nok) {
        snprintf(t->err, sizeof t->err, "%s", gai_err);
        return;
    }
    snprintf(t->desc, sizeof t->desc, "%.250s port %u%s", t->srv[first].target,
             t->srv[first].port, t->srv[first].direct ? " (direct TLS)" : "");
    if (t->n > 1)
        snprintf(t->desc + strlen(t->desc), sizeof t->desc - strlen(t->desc),
                 " and %zu more %s%s", t->n - 1,
                 t->listed ? "server" : "SRV target", t->n > 2 ? "s" : "");
}

static void lookup_work(uv_work_t *w)
{
    struct targets *t = w->data;

    lookup(t->farm->cfg, t->farm->domain, t);
}

/* Whether two lookups found the same targets (addresses aside). */
static int same_targets(const struct targets *a, const struct targets *b)
{
    size_t i;

    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (a->srv[i].port != b->srv[i].port ||
            a->srv[i].priority != b->srv[i].priority ||
            a->srv[i].weight != b->srv[i].weight ||
            a->srv[i].direct != b->srv[i].direct ||
            strcmp(a->srv[i].target, b->srv[i].target))
            return 0;
    return 1;
}

static void lookup_done(uv_work_t *w, int status)
{
    struct targets *t = w->data;
    struct farm *f = t->farm;
    unsigned i;
    int changed;

    f->resolving = NULL;
    if (status || f->stopping) {
        targets_free(t);
        return;
    }
    if (t->err[0]) {
        flog(f, XB_LOG_WARN, NULL, "looking up the server again: %s", t->err);
        targets_free(t);
        return;
    }
    changed = !same_targets(f->targets, t);
    flog(f, XB_LOG_INFO, NULL, "looked up the server again: %s%s", t->desc,
         changed ? " (new targets)" : "");
    targets_free(f->targets);
    f->targets = t;
    f->targets_gen++;
    /* New targets are worth a try now: the bots waiting out a backoff go
     * back to the pacer (their backoff still grows if these fail too). */
    for (i = 0; changed && f->clients && i < f->cfg->count; i++) {
        if (f->clients[i].state != C_BACKOFF)
            continue;
        farm_disarm(f, &f->clients[i].conn_timer);
        conn_enqueue(&f->clients[i]);
    }
}

void farm_reresolve(struct farm *f)
{
    sigset_t stop_signals, old;
    struct targets *t;
    int rc;

    if (f->resolving || f->stopping ||
        uv_now(f->loop) < f->resolved_ms + RESOLVE_EVERY_MS)
        return;
    t = calloc(1, sizeof *t);
    if (!t)
        return;
    t->farm = f;
    t->work.data = t;
    /* libuv starts its thread pool with the first work, and the threads
     * inherit this mask: a SIGINT or SIGTERM then always goes to the
     * loop's thread, which blocks them once it no longer handles them
     * (shutdown_done); a pool thread would take the default action. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
    rc = uv_queue_work(f->loop, &t->work, lookup_work, lookup_done);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        free(t);
        return;
    }
    f->resolving = t;
    f->resolved_ms = uv_now(f->loop);
}

/* The first lookup, before the loop runs. 0 or -1 (said). */
static int resolve(struct farm *f)
{
    f->targets = calloc(1, sizeof *f->targets);
    if (!f->targets) {
        xb_cli_error("out of memory");
        return -1;
    }
    f->targets->farm = f;
    lookup(f->cfg, f->domain, f->targets);
    if (f->targets->err[0]) {
        xb_cli_error("%s", f->targets->err);
        return -1;
    }
    f->resolved_ms = uv_now(f->loop);
    return 0;
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
        for (i = 0; i < f->cfg->count; i++)
            conn_free(&f->clients[i]);
        free(f->clients);
    }
    http_free(f->http); /* before the bots whose pages it serves */
    comp_free(f);
    store_close(f->store); /* after the bots that use it */
    report_free(f);
    xb_timers_free(&f->timers);
    xb_buf_free(&f->out);
    xb_parser_engine_free(f->engine); /* after every session's parser */
    xb_scram_cache_free(f->scram);
    targets_free(f->targets);
    if (f->ssl_ctx)
        SSL_CTX_free(f->ssl_ctx);
    if (f->trace && f->trace != stderr)
        fclose(f->trace);
}

/* The domain of the first bot's JID (for SRV, SNI), or -1 (said). */
static int first_domain(struct farm *f)
{
    const struct farm_config *cfg = f->cfg;
    const char *pct = strchr(cfg->jid, '%'), *why = NULL;
    char first[3100];
    struct xb_jid jid;

    if (pct)
        snprintf(first, sizeof first, "%.*s%u%s", (int)(pct - cfg->jid),
                 cfg->jid, cfg->first, pct + 2);
    else
        snprintf(first, sizeof first, "%s", cfg->jid);
    if (xb_jid_parse(&jid, first, strlen(first), &why)) {
        xb_cli_error("invalid JID '%s': %s", first,
                     why ? why : "out of memory");
        return -1;
    }
    f->domain = strdup(jid.domain);
    xb_jid_clear(&jid);
    return f->domain ? 0 : -1;
}

/* Opens what the farm needs before its bots: the server's address, TLS,
 * the trace file, shared parser and SCRAM cache, the clients. Returns an
 * exit status, XB_EXIT_OK to run. */
static int setup(struct farm *f)
{
    const struct farm_config *cfg = f->cfg;
    char err[600];
    unsigned i;

    if (!cfg->component && resolve(f))
        return XB_EXIT_INPUT;
    if (cfg->tls != FARM_TLS_NONE && !cfg->component) {
        f->ssl_ctx =
            xb_tls_ctx_new(cfg->cafile, cfg->insecure, err, sizeof err);
        if (!f->ssl_ctx) {
            xb_cli_error("%s", err);
            return XB_EXIT_TLS;
        }
    }
    if (cfg->trace_path) {
        f->trace =
            strcmp(cfg->trace_path, "-") ? fopen(cfg->trace_path, "a") : stderr;
        if (!f->trace) {
            xb_cli_error("cannot open %s: %s", cfg->trace_path,
                         strerror(errno));
            return XB_EXIT_INPUT;
        }
        setvbuf(f->trace, NULL, _IOLBF, 0);
    }
    for (f->nseries = 0; f->kind->series && f->kind->series[f->nseries].name;)
        f->nseries++;
    f->series = calloc(f->nseries + 1, sizeof *f->series);
    f->engine = xb_parser_engine_new();
    if (!cfg->component)
        f->scram = xb_scram_cache_new(0);
    if (!f->series || !f->engine) {
        xb_cli_error("out of memory");
        return XB_EXIT_INPUT;
    }
    /* Before the bots, which ask for their pages' address and load their
     * data when they are created; the port first, so that a port in use
     * leaves no new database behind. */
    if (cfg->http && !(f->http = http_new(f->loop, cfg->http, cfg->http_url,
                                          cfg->count, err, sizeof err))) {
        xb_cli_error("%s", err);
        return XB_EXIT_INPUT;
    }
    if (cfg->db && !(f->store = store_open(cfg->db, err, sizeof err))) {
        xb_cli_error("%s", err);
        return XB_EXIT_INPUT;
    }
    if (cfg->component)
        return comp_setup(f) ? XB_EXIT_INPUT : XB_EXIT_OK;
    f->clients = calloc(cfg->count, sizeof *f->clients);
    if (!f->scram || !f->clients) {
        xb_cli_error("out of memory");
        return XB_EXIT_INPUT;
    }
    raise_fd_limit(cfg->count);
    conn_setup(f);
    for (i = 0; i < cfg->count; i++)
        if (conn_init(f, &f->clients[i], i))
            return XB_EXIT_INPUT;
    return XB_EXIT_OK;
}

static void start_loop_handles(struct farm *f)
{
    const struct farm_config *cfg = f->cfg;
    uv_timer_t *timers[] = {&f->pacer,     &f->progress, &f->stats_timer,
                            &f->end_timer, &f->grace,    &f->tick};
    size_t i;

    for (i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        uv_timer_init(f->loop, timers[i]);
        timers[i]->data = f;
    }
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
}

int farm_run(const struct farm_config *cfg)
{
    struct farm *f = calloc(1, sizeof *f);
    int status;

    if (!f) {
        xb_cli_error("out of memory");
        return XB_EXIT_INPUT;
    }
    f->cfg = cfg;
    f->kind = xb_bot_config_kind(cfg->bot);
    f->wake_at = INT64_MAX;
    if (first_domain(f)) {
        free(f);
        return XB_EXIT_USAGE;
    }
    f->loop = uv_default_loop();
    status = setup(f);
    if (status == XB_EXIT_OK) {
        f->tty = isatty(STDERR_FILENO) && !cfg->quiet;
        f->started_ms = uv_now(f->loop);
        start_loop_handles(f);
        flog(f, XB_LOG_INFO, NULL, "%u %s bot%s to %s%s at %.0f logins/s",
             cfg->count, f->kind->name, cfg->count == 1 ? "" : "s",
             f->comp ? comp_desc(f) : f->targets->desc,
             f->comp ? " (component)" : "", cfg->connect_rate);
        if (f->http)
            flog(f, XB_LOG_INFO, NULL, "web pages on %s, at %s%s", cfg->http,
                 http_url(f->http, 0), cfg->count > 1 ? " and more" : "");
        if (f->comp)
            comp_start(f);
        uv_run(f->loop, UV_RUN_DEFAULT);
        if (cfg->stats_path)
            report_stats_file(f);
        report_summary(f);
        status = report_exit_status(f);
    }
    free_farm(f);
    free((char *)f->domain);
    uv_loop_close(f->loop);
    free(f);
    return status;
}
