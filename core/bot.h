/*
 * The bot interface both hosts implement. A bot is pure logic: the host
 * tells it about events (online, a stanza, its timer, offline) and the bot
 * acts through the host's hooks (send a stanza, arm its timer, log).
 * Randomness comes from a generator the host seeds, so runs repeat.
 */
#ifndef XB_BOT_H
#define XB_BOT_H

#include <stdint.h>

#include "rand.h"
#include "stanza.h"

enum xb_log_level { XB_LOG_ERROR, XB_LOG_WARN, XB_LOG_INFO, XB_LOG_DEBUG };

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
    /* A log line (no newline) at level; borrowed for the call. */
    void (*log)(void *ud, enum xb_log_level level, const char *msg);
};

/* Counters a bot keeps; hosts add them up for summaries and metrics. */
struct xb_bot_stats {
    uint64_t received;       /* stanzas handed to the bot */
    uint64_t echoed;         /* echo: replies sent */
    uint64_t ignored;        /* echo: messages deliberately not answered */
    uint64_t joins;          /* jumper: rooms joined (self-presence seen) */
    uint64_t join_errors;    /* jumper: join attempts refused or timed out */
    uint64_t groupchat_sent; /* jumper: phrases said */
    uint64_t groupchat_recv; /* jumper: groupchat messages from others */
    uint64_t leaves;         /* jumper: rooms left */
};

struct xb_bot;

/* Bot kinds. */
enum xb_bot_kind { XB_BOT_ECHO, XB_BOT_JUMPER };

/* Jumper settings. Strings and the phrase list are borrowed for the bot's
 * whole life (share one list among all bots: no per-bot copies). */
struct xb_jumper_config {
    const char *muc_service;    /* e.g. "conference.localhost" */
    const char *room_prefix;    /* rooms are <prefix><K>@<service>;
                                   default "bot_room_" */
    unsigned rooms;             /* K < rooms; default 10 */
    const char *nick;           /* default: the bot's localpart */
    unsigned min_phrases;       /* per visit; default 5 */
    unsigned max_phrases;       /* default 9 */
    uint32_t min_interval_ms;   /* between phrases; default 5000 */
    uint32_t max_interval_ms;   /* default 15000 */
    uint32_t join_timeout_ms;   /* no self-presence by then: error;
                                   default 30000 */
    uint32_t backoff_min_ms;    /* after a join error; default 1000 */
    uint32_t backoff_max_ms;    /* cap of the doubling; default 60000 */
    const char *const *phrases; /* nphrases entries; NULL: built-in list */
    unsigned nphrases;
};

/*
 * Creates a bot of the given kind for the account jid (a bare or full JID
 * string, copied). host is borrowed for the bot's life; ud is passed to
 * every hook. rng is the bot's own generator, seeded by the host (copied).
 * jumper may be NULL for an echo bot; for a jumper, NULL means defaults.
 * Returns NULL on out-of-memory or an invalid jid/config.
 */
struct xb_bot *xb_bot_new(enum xb_bot_kind kind, const char *jid,
                          const struct xb_bot_host *host, void *ud,
                          const struct xb_rand *rng,
                          const struct xb_jumper_config *jumper);

/* Frees the bot. Call xb_bot_offline() or xb_bot_stop() first if it was
 * online; freeing sends nothing. NULL is allowed. */
void xb_bot_free(struct xb_bot *b);

/* The session is online with full JID jid (bound, initial presence sent
 * by the host). The jumper starts joining a room. */
void xb_bot_online(struct xb_bot *b, const char *jid);

/* A stanza for the bot (borrowed: copy what you keep). IQs are answered
 * by the session layer, so bots see messages and presences. */
void xb_bot_stanza(struct xb_bot *b, const struct xb_stanza *st);

/* The timer armed with set_timer fired. */
void xb_bot_timer(struct xb_bot *b);

/* The session went away (connection lost). The bot forgets its room and
 * disarms its timer; it sends nothing. */
void xb_bot_offline(struct xb_bot *b);

/* Graceful stop: the jumper leaves its room (unavailable presence) and
 * disarms its timer. The host then closes the stream. */
void xb_bot_stop(struct xb_bot *b);

/* The bot's counters. Borrowed. */
const struct xb_bot_stats *xb_bot_stats(const struct xb_bot *b);

/* Adds src's counters into dst. */
void xb_bot_stats_add(struct xb_bot_stats *dst, const struct xb_bot_stats *src);

#endif
