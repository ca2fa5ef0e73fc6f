/*
 * The bot dispatcher: the public xb_bot_* calls do what every kind shares
 * (the own JID, counters, the online flag, disarming the timer) and hand
 * the rest to the kind's operations in bot_echo.c or bot_jumper.c.
 */
#include "bot_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jid.h"

/* Parses s into b's compact JID. With same_bare, only a JID of the same
 * account is taken: the kinds derive settings (the default nick and MUC
 * service) from it and validated them once. On failure b's JID is
 * unchanged. */
static int set_jid(struct xb_bot *b, const char *s, int same_bare)
{
    struct xb_jid j;
    size_t n;
    char *copy;
    int rc;

    if (!s)
        return XB_EJID;
    rc = xb_jid_parse(&j, s, strlen(s), NULL);
    if (rc)
        return rc;
    n = strlen(j.full);
    if (same_bare && (strlen(j.bare) != b->bare_len ||
                      memcmp(j.bare, b->jid, b->bare_len))) {
        xb_jid_clear(&j);
        return XB_EJID;
    }
    copy = malloc(n + 1);
    if (!copy) {
        xb_jid_clear(&j);
        return XB_ENOMEM;
    }
    memcpy(copy, j.full, n + 1);
    free(b->jid);
    b->jid = copy;
    /* Each part is at most 1023 bytes, so both lengths fit. */
    b->bare_len = (uint16_t)strlen(j.bare);
    b->local_len = (uint16_t)(j.local ? strlen(j.local) : 0);
    xb_jid_clear(&j);
    return 0;
}

struct xb_bot *xb_bot_new(enum xb_bot_kind kind, const char *jid,
                          const struct xb_bot_host *host, void *ud,
                          const struct xb_rand *rng,
                          const struct xb_jumper_config *jumper)
{
    const struct xb_bot_ops *ops;
    struct xb_bot *b;

    switch (kind) {
    case XB_BOT_ECHO:
        ops = &xb_bot_echo_ops;
        break;
    case XB_BOT_JUMPER:
        ops = &xb_bot_jumper_ops;
        break;
    default:
        return NULL;
    }
    if (!host || !host->send || !host->set_timer || !rng)
        return NULL;
    b = calloc(1, ops->size);
    if (!b)
        return NULL;
    b->ops = ops;
    b->host = host;
    b->ud = ud;
    b->rng = *rng;
    if (set_jid(b, jid, 0) || ops->init(b, jumper)) {
        xb_bot_free(b);
        return NULL;
    }
    return b;
}

void xb_bot_free(struct xb_bot *b)
{
    if (!b)
        return;
    free(b->jid);
    free(b);
}

void xb_bot_online(struct xb_bot *b, const char *jid)
{
    /* The bound full JID replaces the account JID; a bad one (a host bug)
     * leaves the account JID in place rather than stopping the bot. */
    if (jid && set_jid(b, jid, 1))
        xb_bot_logf(b, XB_LOG_WARN, "%s: ignoring bound JID '%s'", b->jid, jid);
    b->online = 1;
    b->ops->online(b);
}

void xb_bot_stanza(struct xb_bot *b, const struct xb_stanza *st)
{
    b->stats.received++;
    b->ops->stanza(b, st);
}

void xb_bot_timer(struct xb_bot *b)
{
    b->ops->timer(b);
}

void xb_bot_offline(struct xb_bot *b)
{
    b->online = 0;
    b->ops->offline(b);
    xb_bot_arm(b, -1);
}

void xb_bot_stop(struct xb_bot *b)
{
    b->ops->stop(b);
    b->online = 0;
    xb_bot_arm(b, -1);
}

const struct xb_bot_stats *xb_bot_stats(const struct xb_bot *b)
{
    return &b->stats;
}

void xb_bot_stats_add(struct xb_bot_stats *dst, const struct xb_bot_stats *src)
{
    dst->received += src->received;
    dst->echoed += src->echoed;
    dst->ignored += src->ignored;
    dst->joins += src->joins;
    dst->join_errors += src->join_errors;
    dst->groupchat_sent += src->groupchat_sent;
    dst->groupchat_recv += src->groupchat_recv;
    dst->leaves += src->leaves;
}

int xb_bot_send(struct xb_bot *b, struct xb_stanza *st)
{
    if (!st) {
        xb_bot_logf(b, XB_LOG_ERROR, "%s: out of memory building a stanza",
                    b->jid);
        return XB_ENOMEM;
    }
    return b->host->send(b->ud, st);
}

void xb_bot_arm(struct xb_bot *b, int64_t ms)
{
    b->host->set_timer(b->ud, ms < 0 ? -1 : ms);
}

void xb_bot_logf(struct xb_bot *b, enum xb_log_level level, const char *fmt,
                 ...)
{
    char line[512];
    va_list ap;

    if (!b->host->log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    b->host->log(b->ud, level, line);
}
