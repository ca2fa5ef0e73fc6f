/*
 * What bot kinds share with the dispatcher (bot.c): the header every
 * kind's struct starts with, and thin wrappers over the host hooks. A
 * kind's file includes this; hosts include bot.h only.
 */
#ifndef XB_BOT_INT_H
#define XB_BOT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bot.h"

/*
 * The common header, first member of every kind's struct. The own JID is
 * kept as one normalized string (the bare part is its first bare_len
 * bytes, the localpart its first local_len bytes): a bot needs no more,
 * and memory per bot is a product feature.
 */
struct xb_bot {
    const struct xb_bot_kind *kind;
    const struct xb_bot_host *host;
    const void *cfg; /* the kind's settings, borrowed from the config */
    void *ud;
    char *jid; /* normalized full (or bare) JID; owned */
    struct xb_rand rng;
    uint64_t stanzas;     /* counter: stanzas delivered */
    uint64_t iq_requests; /* counter: IQ requests answered */
    uint16_t bare_len;    /* bytes of the bare JID at the start of jid */
    uint16_t local_len;   /* bytes of the localpart (0: none) */
    unsigned char online;
    unsigned char stopped; /* by xb_bot_stop(), until online again */
};

/* The kind's settings struct inside config c (bot_config.c). */
const void *xb_bot_config_data(const struct xb_bot_config *c);

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
