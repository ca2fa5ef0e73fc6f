/*
 * The one bot host for every bot kind test: it records what a bot does
 * (stanzas sent, timers armed, log lines, samples, done) instead of doing
 * it, keeps a clock the test moves and a key/value store the test owns,
 * gives an address for the bot's pages, and makes bots from a kind's name
 * and "option=value" texts through the public bot API, as a host would.
 */
#ifndef XB_FAKEHOST_H
#define XB_FAKEHOST_H

#include <stdint.h>

#include "bot.h"

#define FH_MAX_SENT 2048
#define FH_MAX_LOGS 64
#define FH_NO_TIMER (-2) /* set_timer was not called */
#define FH_STORE_MAX 64
#define FH_HTTP_URL "http://fake.example/wp/" /* http_url's default */

/*
 * The store behind the store hooks, in memory. The test owns it and
 * attaches it to a host (struct fakehost.store): it outlives fh_reset()
 * and bots, so a second bot on it is a restart that loads what the first
 * one stored. Zero it to start; free it with fh_store_free().
 */
struct fh_store {
    char *keys[FH_STORE_MAX];
    char *values[FH_STORE_MAX];
    int n;
    /* Non-zero (an XB_E* code): store_put and store_del return it and
     * change nothing; likewise store_load with fail_load, adding nothing. */
    int fail;
    int fail_load;
    int loads, puts, dels; /* hook calls, failed ones included */
};

struct fakehost {
    char *sent[FH_MAX_SENT]; /* serialized, default ns jabber:client */
    struct xb_stanza *kept[FH_MAX_SENT]; /* copies, when keep is set */
    int nsent;
    int keep;
    int refuse;                  /* send() reports the session offline */
    int64_t timers[FH_MAX_SENT]; /* every set_timer value, in order */
    int ntimers;
    enum xb_log_level levels[FH_MAX_LOGS];
    char logs[FH_MAX_LOGS][512];
    int nlogs;
    uint64_t now_us; /* the clock the bot reads */
    int done;        /* done() calls */
    uint32_t samples[FH_MAX_SENT];
    int nsamples;
    /* Called from inside send() with the stanza just sent (its text is
     * sent[nsent - 1]), to model a host that delivers synchronously. */
    void (*reenter)(struct fakehost *f, const struct xb_stanza *st);
    struct xb_bot_config *config; /* of fh_bot's last bot */
    /* The store hooks' store (borrowed, not freed by fh_reset). NULL: a
     * store hook called fails the test (the kinds that keep nothing never
     * call them). */
    struct fh_store *store;
    const char *http_url; /* what http_url returns; NULL: FH_HTTP_URL */
    int no_http_url;      /* http_url returns NULL: the host serves no pages */
};

/* The hooks, each recording into the struct fakehost given as ud: every
 * one of struct xb_bot_host. */
extern const struct xb_bot_host fh_host;

/* The same without the optional store and http_url hooks, as a host that
 * neither stores nor serves pages. */
extern const struct xb_bot_host fh_host_bare;

/* The value stored under key, or NULL (borrowed until the store changes). */
const char *fh_store_get(const struct fh_store *s, const char *key);

/* Inserts or replaces key (both copied), as a test seeding the store:
 * fail is not applied and puts is not counted. */
void fh_store_set(struct fh_store *s, const char *key, const char *value);

/* Frees what s holds and zeroes it. */
void fh_store_free(struct fh_store *s);

/* Frees what f recorded and its config, and zeroes it (its store is the
 * test's: it stays as it is, detached). */
void fh_reset(struct fakehost *f);

/* The last timer armed (FH_NO_TIMER if none) and the last stanza sent
 * (fails the test if none). */
int64_t fh_last_timer(const struct fakehost *f);
const char *fh_last_sent(const struct fakehost *f);

/* A config of kind with options set from "name=value" texts (NULL-ended
 * list; a list option takes '|'-separated items). Fails the test if one
 * is refused; NULL if the config as a whole is refused. Caller frees. */
struct xb_bot_config *fh_config(const char *kind, const char *const *opts);

/* A bot of cfg for jid on host f (NULL if refused). */
struct xb_bot *fh_new(struct fakehost *f, const struct xb_bot_config *cfg,
                      const char *jid, uint64_t seed, uint64_t index);

/* fh_config + fh_new, the config kept in f (freed by fh_reset). */
struct xb_bot *fh_bot(struct fakehost *f, const char *kind,
                      const char *const *opts, const char *jid, uint64_t seed,
                      uint64_t index);

/* Hands b the stanza written in xml (parsed; fails the test if it does
 * not parse). */
void fh_deliver(struct xb_bot *b, const char *xml);

/* The value of b's counter named name (fails the test if none). */
uint64_t fh_counter(const struct xb_bot *b, const char *name);

#endif
