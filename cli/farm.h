/*
 * The bot farm: many client bots of one kind on one libuv loop. Each bot
 * is a TCP connection (STARTTLS or direct TLS) driving a core session and
 * a core bot; the farm finds the server (SRV), paces logins, tries the
 * next target when one fails, retries with backoff, reconnects, prints
 * progress and a summary, and shuts down cleanly on a signal, at the end
 * of --duration, or when every bot has done its work.
 */
#ifndef XB_CLI_FARM_H
#define XB_CLI_FARM_H

#include <stddef.h>
#include <stdint.h>

#include "bot.h"
#include "session.h"

/* --tls: the transports a bot may use. */
enum farm_tls {
    FARM_TLS_REQUIRED, /* TLS: direct TLS or STARTTLS, as the SRV records
                          say (XEP-0368); STARTTLS without SRV */
    FARM_TLS_STARTTLS, /* STARTTLS only */
    FARM_TLS_DIRECT,   /* direct TLS only (XEP-0368) */
    FARM_TLS_NONE      /* no TLS (local tests) */
};

/* One server of --host: a name or an address, and its port (0: --port,
 * else the default). */
struct farm_server {
    char host[256];
    unsigned port;
};
#define FARM_SERVERS_MAX 32 /* as many as SRV targets (srv.h) */

struct farm_config {
    const struct xb_bot_config *bot; /* the kind and its settings */
    /* --host: the servers to connect to (the nodes of a cluster, say).
     * Client bots start each attempt at server (bot number mod n),
     * component streams at (stream number mod n), and try the others in
     * turn when one fails. None: the JID's domain (the component's:
     * localhost), through DNS SRV unless port is set. */
    struct farm_server servers[FARM_SERVERS_MAX];
    unsigned nservers;
    unsigned port; /* 0: from SRV, else 5222 (5223 for direct TLS; 5347
                      for a component) */
    const char *jid;  /* one JID, or a pattern with one %d for --count */
    unsigned count;   /* bots (default 1) */
    unsigned first;   /* first number the pattern gets (default 0) */
    const char *password;
    enum farm_tls tls;
    const char *cafile;
    int insecure;
    int allow_plain;
    double connect_rate; /* connection starts per second */
    double duration;     /* seconds; 0: until SIGINT/SIGTERM */
    enum xb_log_level log_level;
    const char *trace_path; /* XML console file, or NULL */
    const char *stats_path; /* JSON stats file, or NULL */
    double stats_interval;  /* seconds between JSON stats writes */
    uint64_t seed;
    uint32_t connect_timeout_ms;
    uint32_t login_timeout_ms;
    uint32_t keepalive_ms;
    enum xb_sm_mode sm;   /* stream management when offered */
    uint32_t sm_queue;    /* unacknowledged stanzas kept per bot */
    uint32_t sm_resume_s; /* resumption time to ask for; 0: the server's */
    unsigned retries;        /* consecutive failures before giving up */
    uint32_t backoff_min_ms; /* reconnect backoff: first delay */
    uint32_t backoff_max_ms; /* and its cap */
    int quiet;               /* no progress line */
    /* Component bots (XEP-0114): virtual users under this domain, over
     * connections streams to the server's component port, instead of
     * client connections; NULL: client bots. */
    const char *component;
    const char *secret;
    unsigned connections;
    /* Web pages of kinds with an http hook (http.h): listen on http
     * ("ADDR:PORT"), addresses under http_url (NULL: "http://ADDR:PORT/");
     * NULL: no pages. */
    const char *http;
    const char *http_url;
    const char *db; /* SQLite file for the bots' data (store.h), or NULL */
};

/* Parses --host's value, "HOST[:PORT][,HOST[:PORT]...]" (an IPv6
 * address with a port in brackets: "[::1]:5347"), into cfg->servers.
 * 0, or -1 with the reason in err. */
int farm_parse_servers(struct farm_config *cfg, const char *arg, char *err,
                       size_t errlen);

/* Exit statuses beyond cli.h's. */
enum {
    XB_EXIT_AUTH = 3,    /* authentication failed */
    XB_EXIT_CONNECT = 4, /* the server could not be reached */
    XB_EXIT_TLS = 5      /* TLS or certificate failure */
};

/* Runs the farm until done; returns the process exit status. Prints the
 * summary on stdout. */
int farm_run(const struct farm_config *cfg);

#endif
