/*
 * Bot internals shared by the dispatcher (bot.c) and the bot kinds
 * (bot_echo.c, bot_jumper.c): the header every kind's struct starts with,
 * the table of per-kind operations, and thin wrappers over the host hooks.
 */
#ifndef XB_BOT_INT_H
#define XB_BOT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bot.h"

/*
 * What a bot kind implements. bot.c allocates size bytes (zeroed), fills
 * the common header, then calls init; the other hooks run from the public
 * calls of the same name, after bot.c has done the common part (counting
 * received stanzas, updating the JID, the online flag). offline and stop
 * run before bot.c disarms the timer.
 */
struct xb_bot_ops {
    size_t size;
    /* Validates cfg (may be NULL) and applies defaults. Returns 0 or
     * XB_EINVAL; the bot is then freed without further calls. */
    int (*init)(struct xb_bot *b, const struct xb_jumper_config *cfg);
    void (*online)(struct xb_bot *b);
    void (*stanza)(struct xb_bot *b, const struct xb_stanza *st);
    void (*timer)(struct xb_bot *b);
    void (*offline)(struct xb_bot *b);
    void (*stop)(struct xb_bot *b);
};

/* The kinds' tables, defined in bot_echo.c and bot_jumper.c. */
extern const struct xb_bot_ops xb_bot_echo_ops;
extern const struct xb_bot_ops xb_bot_jumper_ops;

/*
 * The common header, first member of every kind's struct. The own JID is
 * kept as one normalized string (the bare part is its first bare_len
 * bytes, the localpart its first local_len bytes): a bot needs no more,
 * and memory per bot is a product feature.
 */
struct xb_bot {
    const struct xb_bot_ops *ops;
    const struct xb_bot_host *host;
    void *ud;
    char *jid; /* normalized full (or bare) JID; owned */
    struct xb_rand rng;
    struct xb_bot_stats stats;
    uint16_t bare_len;  /* bytes of the bare JID at the start of jid */
    uint16_t local_len; /* bytes of the localpart (0: none) */
    unsigned char online;
};

/* Hands st to the host (which frees it). st NULL means building it ran
 * out of memory: logged and dropped. Returns the host's result, or
 * XB_ENOMEM. */
int xb_bot_send(struct xb_bot *b, struct xb_stanza *st);

/* Arms the bot's timer (ms < 0 disarms). */
void xb_bot_arm(struct xb_bot *b, int64_t ms);

/* Formats one log line into a stack buffer (long lines are cut) and
 * passes it to the host's log hook, if any. */
void xb_bot_logf(struct xb_bot *b, enum xb_log_level level, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));

#endif
