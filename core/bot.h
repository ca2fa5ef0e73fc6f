/*
 * The public bot API: a bot kind is a const struct naming the kind, its
 * options and its counters, and its hooks. Hosts find kinds by name in a
 * registry and derive their command lines, help, config validation,
 * summaries and metrics from the tables, so no host names a kind's option
 * or counter. A bot is pure logic: the host tells it about events (online,
 * a stanza, its timer, offline) and the bot acts through the host's hooks
 * (send a stanza, arm its timer, log). "Write your own bot kind" in
 * doc/bot-kinds.md shows how to add one.
 */
#ifndef XB_BOT_H
#define XB_BOT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rand.h"
#include "stanza.h"

enum xb_log_level { XB_LOG_ERROR, XB_LOG_WARN, XB_LOG_INFO, XB_LOG_DEBUG };

/* "error", "warn", "info" or "debug". */
const char *xb_log_level_name(enum xb_log_level level);

/* The level named name; 0, or XB_EINVAL for another name. */
int xb_log_level_parse(const char *name, enum xb_log_level *level);

/*
 * What a host provides to each bot. The struct is borrowed by the bot for
 * its whole life (hosts keep one per bot, or share one and tell bots apart
 * by ud).
 */
struct xb_bot_host {
    /* Sends a stanza from the bot. The host takes ownership of st (frees
     * it with xb_stanza_free, also on failure). The host stamps nothing:
     * the bot sets to/type/id; 'from' is left to the server. Returns 0,
     * or <0 if the bot is offline (the stanza is dropped). */
    int (*send)(void *ud, struct xb_stanza *st);
    /* Arms the bot's single timer to fire once after ms milliseconds,
     * replacing any armed one; ms < 0 disarms it. */
    void (*set_timer)(void *ud, int64_t ms);
    /* A log line (no newline) at level; borrowed for the call. Optional. */
    void (*log)(void *ud, enum xb_log_level level, const char *msg);
    /* The current time in microseconds on a monotonic clock. Optional:
     * kinds that measure time (load) refuse to start without it. */
    uint64_t (*now_us)(void *ud);
    /* The bot has finished its work (a load bot got all its answers): the
     * host may close its session. Optional. */
    void (*done)(void *ud);
    /* One sample of a series the kind declares (xb_bot_kind.series), such
     * as a round-trip time. Optional. */
    void (*sample)(void *ud, unsigned series, uint32_t value);
    /*
     * Persistence for kinds that keep data across restarts (the web
     * presence gateway's registrations): one namespace of keys per bot,
     * keys and values NUL-terminated UTF-8 text, borrowed for the call.
     * A call returning 0 is durable; <0 (an XB_E* code) means nothing was
     * changed. Optional, all three or none: without them a kind keeps its
     * data in memory only.
     *
     * store_load calls add(ctx, key, value) for every stored pair, in no
     * particular order, and stops at and returns add's first error.
     * store_put inserts or replaces key; store_del deletes it (a missing
     * key is not an error).
     */
    int (*store_load)(void *ud,
                      int (*add)(void *ctx, const char *key,
                                 const char *value),
                      void *ctx);
    int (*store_put)(void *ud, const char *key, const char *value);
    int (*store_del)(void *ud, const char *key);
    /* The public address under which the host serves the bot's pages
     * (kinds with an http hook), ending in '/'; NULL if it serves none.
     * Borrowed for the bot's life. Optional. */
    const char *(*http_url)(void *ud);
};

/* --- pages ---------------------------------------------------------------- */

/*
 * One HTTP response from a kind's http hook. Hosts answer only GET and
 * HEAD (405 for other methods) and send status, type, every header pair
 * and the body as they are.
 */
struct xb_bot_page {
    int status;       /* 200, 404, ... */
    const char *type; /* Content-Type; static */
    /* Extra response headers: name, value, name, value, ..., NULL;
     * static. The kind says here how pages may be cached, framed and
     * referred to, so every host sends the same. */
    const char *const *headers;
    struct xb_buf body; /* the host frees it (xb_buf_free) */
};

/* --- options ------------------------------------------------------------ */

enum xb_opt_type {
    XB_OPT_UINT,          /* uint32_t, a whole number */
    XB_OPT_SECONDS,       /* uint32_t milliseconds, given in seconds */
    XB_OPT_UINT_RANGE,    /* uint32_t[2], "A-B" or "A", min <= max */
    XB_OPT_SECONDS_RANGE, /* uint32_t[2] milliseconds, given in seconds */
    XB_OPT_STRING,        /* const char *, owned by the config */
    XB_OPT_LIST           /* struct xb_bot_list, owned by the config; on a
                             command line, a file with one item a line */
};

/* An XB_OPT_LIST value. */
struct xb_bot_list {
    const char *const *v;
    unsigned n;
};

#define XB_OPT_REQUIRED 1u /* no default: the user must give it */

/*
 * One option of a kind (model: FFmpeg's AVOption). Numbers are in the
 * user's unit (seconds for the SECONDS types); ranges take def and def_hi.
 */
struct xb_bot_option {
    const char *name; /* lowercase words joined by '_' ("room_prefix"); a
                         command line spells it "--room-prefix" */
    const char *arg;  /* what the value looks like in help ("N", "A-B") */
    const char *help; /* one line; says the default when it is derived */
    enum xb_opt_type type;
    size_t offset;       /* of the value in the kind's config struct */
    double def, def_hi;  /* numeric default (range: both ends) */
    const char *def_str; /* string default; NULL: none or derived */
    double min, max;     /* accepted values, in the user's unit */
    unsigned flags;      /* XB_OPT_* flags */
};

/* --- counters ----------------------------------------------------------- */

/*
 * One counter of a kind: a uint64_t in the bot's struct. Hosts show them
 * by name (JSON stats, metrics) and by label (summaries); a name means the
 * same in every kind that has it, so hosts may add them up across kinds.
 */
struct xb_bot_counter {
    const char *name;  /* snake_case: JSON key, metric name */
    const char *label; /* words for a summary ("rooms joined") */
    const char *help;  /* precisely what is counted */
    size_t offset;     /* of the uint64_t in the bot's struct */
};

/* A series of samples a kind reports through the host's sample hook; the
 * host summarizes it (percentiles). */
struct xb_bot_series {
    const char *name; /* snake_case, with its unit ("rtt_us") */
    const char *help;
};

struct xb_bot;
struct xb_bot_config;

/*
 * A bot kind. The hooks run after the common part in bot.c (the own JID,
 * the online flag, the common counters, the IQ rules); offline and stop
 * run before bot.c disarms the timer. Only stanza and the tables are
 * required; a NULL hook does nothing.
 */
struct xb_bot_kind {
    const char *name;    /* "echo": the command, the mod_bots kind */
    const char *summary; /* one line for help and listings */
    size_t size;         /* of the kind's bot struct, which starts with
                            struct xb_bot (bot_int.h) */
    size_t config_size;  /* of the kind's config struct */
    const struct xb_bot_option *options;   /* NULL-name terminated */
    const struct xb_bot_counter *counters; /* NULL-name terminated */
    const struct xb_bot_series *series;    /* NULL-name terminated; or NULL */
    /* How many bots a host in which all start at once (mod_bots) brings
     * online per second by default, so that bots acting on their own
     * timers do not move in lockstep; 0: all at once. */
    unsigned start_rate;
    /* Checks the settings as a whole (after each was checked alone);
     * writes a reason to err. 0 or XB_EINVAL. Optional. */
    int (*check)(const void *cfg, char *err, size_t errlen);
    /* Sets up a new bot from its config (borrowed for the bot's life).
     * 0, or XB_EINVAL with a reason logged (the bot is then freed). */
    int (*init)(struct xb_bot *b, const void *cfg);
    /* Post-connect: a fresh session (bound, initial presence sent). */
    void (*online)(struct xb_bot *b);
    /* A message or presence (IQs go to iq). Borrowed. */
    void (*stanza)(struct xb_bot *b, const struct xb_stanza *st);
    /* An IQ: a request not already answered by the common rules (return
     * 1 if the kind answered it, 0 to leave the answer to bot.c), or a
     * result or error (the return value is ignored). Optional. */
    int (*iq)(struct xb_bot *b, const struct xb_stanza *iq);
    void (*timer)(struct xb_bot *b);
    void (*offline)(struct xb_bot *b);
    /* Post-resume: the stream came back after a drop with everything in
     * place (JID, presence, rooms) and what the server missed delivered;
     * the bot was never offline and its timer kept running. Optional. */
    void (*resumed)(struct xb_bot *b);
    void (*stop)(struct xb_bot *b);
    /* What the bot is doing, for listings: a state name ("in-room"), and
     * where, if anywhere (a room JID written to buf, else buf[0] = 0).
     * Optional: "online" or "offline". */
    const char *(*state)(const struct xb_bot *b, char *buf, size_t size);
    /* Did the bot do all it was asked (a load bot: every message
     * answered intact)? Optional: yes. */
    int (*ok)(const struct xb_bot *b);
    /* Frees what init allocated. Optional. */
    void (*fini)(struct xb_bot *b);
    /* A GET for one of the bot's pages: path is what follows the bot's
     * address (xb_bot_host.http_url) without the query string, any bytes
     * from the network. Fills page (zeroed by the caller) and returns 0,
     * or XB_ENOMEM. Optional: a kind without it has no pages. */
    int (*http)(struct xb_bot *b, const char *path, size_t len,
                struct xb_bot_page *page);
    unsigned flags; /* XB_KIND_* */
};

/*
 * The bot is a service at a domain of its own (an XEP-0114 component's
 * domain, or a Prosody component host), not a user account: users address
 * the domain, as with XEP-0077 registration. Client hosts refuse it.
 */
#define XB_KIND_SERVICE 1u

/*
 * Of the presences MUC rooms send the bot, it reads only its own (the
 * self-presence, XEP-0045 status code 110) and errors: a host may leave
 * out the other occupants' presences, and the occupant list a room sends
 * to a newcomer (mod_bots' bots_muc_direct does, so that a move between
 * rooms of 100 bots costs the server 200 presences less).
 */
#define XB_KIND_OWN_ROOM_PRESENCE 2u

/* --- the registry ------------------------------------------------------- */

/* The kinds, NULL-terminated, in the order hosts list them. */
extern const struct xb_bot_kind *const xb_bot_kinds[];

/* The kind named name, or NULL. */
const struct xb_bot_kind *xb_bot_kind_find(const char *name);

/* The option named name (spelled with '_' or '-'), or NULL. */
const struct xb_bot_option *xb_bot_option_find(const struct xb_bot_kind *k,
                                               const char *name);

/* How many counters bots of kind k have: the common ones every bot keeps,
 * then the kind's. Counter i is described by xb_bot_counter_at(k, i). */
unsigned xb_bot_ncounters(const struct xb_bot_kind *k);
const struct xb_bot_counter *xb_bot_counter_at(const struct xb_bot_kind *k,
                                               unsigned i);

/* --- configs ------------------------------------------------------------ */

/* A new config of kind k with every default applied, or NULL on OOM.
 * One config serves any number of bots. */
struct xb_bot_config *xb_bot_config_new(const struct xb_bot_kind *k);

/* Frees c (after every bot using it). NULL is allowed. */
void xb_bot_config_free(struct xb_bot_config *c);

const struct xb_bot_kind *xb_bot_config_kind(const struct xb_bot_config *c);

/*
 * Sets option name of c from its text form ("12", "0.5", "5-15", a
 * string; a list takes the items from items/nitems instead, text unused).
 * On failure returns XB_ENOTFOUND (no such option) or XB_EINVAL and
 * writes what the value must be into err ("a whole number from 1 to
 * 100"), for the host to put after its own spelling of the name.
 */
int xb_bot_config_set(struct xb_bot_config *c, const char *name,
                      const char *text, char *err, size_t errlen);

/* The same from numbers (Lua): lo and hi are the range's ends in the
 * user's unit; a single-valued option takes lo and needs hi == lo. */
int xb_bot_config_set_number(struct xb_bot_config *c, const char *name,
                             double lo, double hi, char *err, size_t errlen);

/* Sets a list option from n strings (copied). */
int xb_bot_config_set_list(struct xb_bot_config *c, const char *name,
                           const char *const *items, size_t n, char *err,
                           size_t errlen);

/* Checks c as a whole: required options given, the kind's own rules.
 * 0, or XB_EINVAL with a reason in err. */
int xb_bot_config_check(const struct xb_bot_config *c, char *err,
                        size_t errlen);

/* "integer", "seconds", "integer range", "seconds range", "string" or
 * "list": what a value of type t is, for listings. */
const char *xb_bot_option_type_name(enum xb_opt_type t);

/* Writes the default of option o for help ("5-15", "bot_room_"), or ""
 * if it has none or it is derived. */
void xb_bot_option_default(const struct xb_bot_option *o, char *buf,
                           size_t size);

/* --- bots --------------------------------------------------------------- */

/*
 * Creates a bot of cfg's kind for the account jid (a bare or full JID
 * string, copied). cfg is borrowed for the bot's life; host likewise; ud
 * is passed to every hook. The bot's random generator is seeded from
 * (seed, index), the same way in every host, so runs repeat. Returns NULL
 * on out-of-memory or an invalid jid or config (logged through host).
 */
struct xb_bot *xb_bot_new(const struct xb_bot_config *cfg, const char *jid,
                          const struct xb_bot_host *host, void *ud,
                          uint64_t seed, uint64_t index);

/* Frees the bot. Call xb_bot_offline() or xb_bot_stop() first if it was
 * online; freeing sends nothing. NULL is allowed. */
void xb_bot_free(struct xb_bot *b);

const struct xb_bot_kind *xb_bot_kind_of(const struct xb_bot *b);

/* The bot's own JID, normalized: the one it was created for, or the full
 * JID xb_bot_online() gave it. Borrowed: valid until the next
 * xb_bot_online() or xb_bot_free(). */
const char *xb_bot_jid(const struct xb_bot *b);

/* The session is online with full JID jid (bound, initial presence sent
 * by the host). The jumper starts joining a room. */
void xb_bot_online(struct xb_bot *b, const char *jid);

/*
 * A stanza for the bot (borrowed: copy what you keep). IQ requests get
 * the answer the protocol asks for here, once for every host: a ping
 * (XEP-0199) a result, then the kind's iq hook, else service-unavailable
 * (RFC 6120 8.4). IQ results and errors go to the kind's iq hook, or are
 * dropped. Messages and presences go to the kind.
 */
void xb_bot_stanza(struct xb_bot *b, const struct xb_stanza *st);

/* The timer armed with set_timer fired. */
void xb_bot_timer(struct xb_bot *b);

/* The stream resumed after a drop (stream management): the bot stays as
 * it was; see xb_bot_kind.resumed. */
void xb_bot_resumed(struct xb_bot *b);

/* The session went away (connection lost). The bot forgets its room and
 * disarms its timer; it sends nothing. */
void xb_bot_offline(struct xb_bot *b);

/* Graceful stop: the jumper leaves its room (unavailable presence) and
 * disarms its timer. The host then closes the stream. */
void xb_bot_stop(struct xb_bot *b);

/* Counter i (see xb_bot_ncounters) of b. */
uint64_t xb_bot_counter(const struct xb_bot *b, unsigned i);

/* Adds b's counters to sum[0 .. xb_bot_ncounters(kind) - 1]. */
void xb_bot_counters_add(const struct xb_bot *b, uint64_t *sum);

/*
 * A GET for one of b's pages (see xb_bot_kind.http): page is zeroed here.
 * Returns 0 with page filled (its body the caller frees), XB_ENOTFOUND if
 * the kind serves no pages, or XB_ENOMEM.
 */
int xb_bot_http(struct xb_bot *b, const char *path, size_t len,
                struct xb_bot_page *page);

/* Whether the bot did all it was asked (see xb_bot_kind.ok). */
int xb_bot_ok(const struct xb_bot *b);

/* What the bot is doing (see xb_bot_kind.state); buf gets where (a room
 * JID) or "". Returns a static state name. */
const char *xb_bot_state(const struct xb_bot *b, char *buf, size_t size);

#endif
