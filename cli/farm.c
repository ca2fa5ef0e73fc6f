/*
 * The bot farm on libuv: setup, login pacing through a token bucket, the
 * one loop timer that drives every bot's deadlines (the core's timer
 * heap), the end of --duration, signals and a clean shutdown. A bot's
 * connection is conn.c's; what the farm reports is report.c's.
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
#include "jid.h"
#include "tls.h"

#define PACE_MS 10
#define PROGRESS_MS 1000
#define SHUTDOWN_GRACE_MS 3000

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
    close_handle((uv_handle_t *)&f->pacer);
    close_handle((uv_handle_t *)&f->progress);
    close_handle((uv_handle_t *)&f->stats_timer);
    close_handle((uv_handle_t *)&f->end_timer);
    close_handle((uv_handle_t *)&f->grace);
    close_handle((uv_handle_t *)&f->tick);
    close_handle((uv_handle_t *)&f->sigint);
    close_handle((uv_handle_t *)&f->sigterm);
}

void farm_check_all_done(struct farm *f)
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
    for (i = 0; i < f->cfg->count; i++)
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
    for (i = 0; i < f->cfg->count; i++)
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
    report_free(f);
    xb_timers_free(&f->timers);
    xb_buf_free(&f->out);
    xb_parser_engine_free(f->engine); /* after every session's parser */
    xb_scram_cache_free(f->scram);
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
    char err[256];
    unsigned i;

    if (resolve(f))
        return XB_EXIT_INPUT;
    if (cfg->tls != XB_TLS_NONE) {
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
    f->scram = xb_scram_cache_new(0);
    f->engine = xb_parser_engine_new();
    f->clients = calloc(cfg->count, sizeof *f->clients);
    if (!f->series || !f->scram || !f->engine || !f->clients) {
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
        flog(f, XB_LOG_INFO, NULL, "%u %s bot%s to %s at %.0f logins/s",
             cfg->count, f->kind->name, cfg->count == 1 ? "" : "s",
             f->server_desc, cfg->connect_rate);
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
