/*
 * The farm's parts, shared by its files: farm.c (setup, pacing, timers,
 * shutdown), conn.c (one bot's connection: transport, TLS, session and
 * bot hooks, retries) and report.c (progress, JSON stats, summary, exit
 * status).
 */
#ifndef XB_CLI_FARM_INT_H
#define XB_CLI_FARM_INT_H

#include <stdio.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "buf.h"
#include "farm.h"
#include "rand.h"
#include "srv.h"
#include "timer.h"

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

extern const char *const fail_names[F_KINDS];

struct farm;
struct comp;
struct http;
struct store;

/* Where the bots connect, as one lookup found it: the SRV targets (or the
 * --host, or the domain) and their addresses. A lookup while the bots run
 * fills a new one on the thread pool, which then replaces the farm's. */
struct targets {
    uv_work_t work;
    struct farm *farm;
    size_t n;
    int listed; /* the servers of --host, tried from bot number mod n */
    struct xb_srv srv[XB_SRV_MAX];
    struct addrinfo *ai[XB_SRV_MAX]; /* each target's addresses, or NULL */
    char desc[300];                  /* for messages */
    char err[300];                   /* why there is nothing to connect to */
};

/* How a login's stream was carried, counted in the stats. */
enum transport { T_PLAIN, T_STARTTLS, T_DIRECT_TLS, T_KINDS };

/* One bot and its connection. Its three deadlines live in the farm's
 * timer heap: the connection's (connect timeout, backoff), the session's
 * and the bot's. */
struct client {
    struct farm *farm;
    uv_tcp_t tcp;
    SSL *ssl;
    struct xb_session *session;
    struct xb_bot *bot;
    struct client *next; /* pacer queue */
    char *jid;
    struct xb_timer conn_timer, session_timer, bot_timer;
    enum cstate state;
    enum fail_kind fail; /* set by the transport before an abort */
    unsigned index;
    unsigned failures; /* consecutive */
    unsigned logins;
    uint32_t backoff_ms;
    /* An attempt tries the targets in an order drawn from pass_seed, each
     * of their addresses, until one connects: pos is the target in that
     * order, addr its address. */
    uint32_t pass_seed;
    unsigned targets_gen; /* of the farm's targets the attempt walks */
    unsigned char pos, addr;
    unsigned char in_pass;  /* an attempt is walking the targets */
    unsigned char fallback; /* closing to try the next address */
    unsigned char direct;   /* the session is for direct TLS */
    unsigned char handshaking, tcp_open, done;
    unsigned char bot_live; /* the bot is online, or waits for its stream
                               to resume (stream management) */
    struct xb_rand rng;
};

/* The samples of one series (xb_bot_kind.series). */
struct series {
    uint32_t *v;
    size_t n, cap;
    uint64_t first_us, last_us; /* when the first and last arrived */
};

struct farm {
    const struct farm_config *cfg;
    const struct xb_bot_kind *kind;
    uv_loop_t *loop;
    uv_timer_t pacer, progress, stats_timer, end_timer, grace, tick;
    uv_signal_t sigint, sigterm;
    struct xb_timers timers; /* every client's deadlines */
    int64_t wake_at;         /* when tick fires; INT64_MAX: not armed */
    struct targets *targets;
    unsigned targets_gen;      /* bumped when new targets replace them */
    struct targets *resolving; /* a lookup on the thread pool, or NULL */
    uint64_t resolved_ms;      /* when the last lookup started */
    const char *domain;
    SSL_CTX *ssl_ctx;
    struct xb_scram_cache *scram;
    struct xb_parser_engine *engine; /* one expat for every connection */
    struct xb_session_hooks session_hooks;
    struct xb_bot_host bot_host;
    struct client *clients; /* client bots; NULL for component bots */
    struct comp *comp;       /* component bots (comp.c); NULL for clients */
    struct http *http;       /* the bots' web pages (--http), or NULL */
    struct store *store;     /* the bots' data (--db), or NULL */
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
    /* counters */
    unsigned connecting, online, gaveup, ever_online, done;
    unsigned long logins, reconnects, attempts, fallbacks;
    unsigned long logins_by[T_KINDS];
    unsigned long failures[F_KINDS];
    unsigned logged_failures;
    struct series *series; /* one per series of the kind */
    unsigned nseries;
};

/* farm.c */
void flog(struct farm *f, enum xb_log_level level, const char *who,
          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Arms t to fire after ms on the farm's clock. */
void farm_arm(struct farm *f, struct xb_timer *t, uint64_t ms);
void farm_disarm(struct farm *f, struct xb_timer *t);
void farm_check_all_done(struct farm *f);
/* A bot finished its work; when all have, the farm stops. */
void farm_bot_done(struct farm *f);
/* An attempt failed at every target: look them up again, on the thread
 * pool (at most one lookup at a time, and not too often). */
void farm_reresolve(struct farm *f);

/* The farm's bot i, in either host. */
struct xb_bot *farm_bot(const struct farm *f, unsigned i);

/* conn.c */
/* Writes to a socket (if open): at once when the kernel takes it all,
 * else through a queued write. */
void farm_sock_write(uv_tcp_t *tcp, int open, const char *data, size_t len);
/* Asks the kernel to acknowledge received data at once (after a read). */
void farm_quickack(uv_tcp_t *tcp);
/* A monotonic clock in microseconds (the bot host's now_us). */
uint64_t farm_now_us(void *ud);
/* Bot i's JID from the --jid pattern; NULL on OOM. */
char *farm_make_jid(const struct farm_config *cfg, unsigned i);
/* Fills the farm's session hooks and bot host (after the trace file
 * is open). */
void conn_setup(struct farm *f);
/* Sets up c (its session, bot and timers) for bot i. 0 or -1 (said). */
int conn_init(struct farm *f, struct client *c, unsigned i);
void conn_free(struct client *c);
/* The pacer let c start connecting. */
void conn_start(struct client *c);
/* Queues c for the pacer. */
void conn_enqueue(struct client *c);
/* Stops c for the farm's shutdown; abort: without a clean close. */
void conn_stop(struct client *c, int abort);

/* comp.c: the component host (--component) */
/* Sets up the streams, the bots and their index. 0 or -1 (said). */
int comp_setup(struct farm *f);
/* Connects every stream. */
void comp_start(struct farm *f);
/* Brings the next waiting bot online (the pacer's token); 0 if none. */
int comp_pace(struct farm *f);
/* Every stream stopped or gave up. */
int comp_all_done(const struct farm *f);
/* Stops the bots and closes the streams; abort: without a clean close. */
void comp_stop(struct farm *f, int abort);
void comp_shutdown_handles(struct farm *f);
struct xb_bot *comp_bot(const struct farm *f, unsigned i);
/* Bots waiting for the pacer. */
unsigned comp_waiting(const struct farm *f);
void comp_free(struct farm *f);
/* The server's component address, for messages. */
const char *comp_desc(const struct farm *f);
/* The stats file's "servers" (each server and its ready streams) and
 * "foreign_dropped" (stanzas for other domains) members. */
void comp_write_json(const struct farm *f, FILE *out);

/* report.c */
void report_clear_progress(struct farm *f);
void report_progress(struct farm *f);
/* Writes the JSON stats file (through a temporary and a rename). */
void report_stats_file(struct farm *f);
void report_summary(struct farm *f);
int report_exit_status(struct farm *f);
/* Keeps one sample of series s. */
void report_sample(struct farm *f, unsigned s, uint32_t value);
void report_free(struct farm *f);

#endif
