/*
 * The bot dispatcher and registry: the public xb_bot_* calls do what every
 * kind shares (the own JID, the common counters, the IQ rules, the online
 * flag, disarming the timer) and hand the rest to the kind's hooks.
 */
#include "bot_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jid.h"
#include "xmpp.h"

/* The registry: a new kind is its bot_<kind>.c, its declaration here and
 * its entry in the list (doc/bot-kinds.md). */
extern const struct xb_bot_kind xb_bot_echo, xb_bot_jumper, xb_bot_load,
    xb_bot_webpresence;

const struct xb_bot_kind *const xb_bot_kinds[] = {
    &xb_bot_echo, &xb_bot_jumper, &xb_bot_load, &xb_bot_webpresence, NULL};

/* The counters every bot keeps, before its kind's. */
static const struct xb_bot_counter common_counters[] = {
    {"stanzas", "stanzas received",
     "stanzas delivered to the bot: messages, presences and IQs",
     offsetof(struct xb_bot, stanzas)},
    {"iq_requests", "IQ requests answered",
     "IQ get and set requests answered: ping results, the kind's answers "
     "and error replies",
     offsetof(struct xb_bot, iq_requests)},
};
#define NCOMMON (sizeof common_counters / sizeof common_counters[0])

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *xb_log_level_name(enum xb_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "?";
}

int xb_log_level_parse(const char *name, enum xb_log_level *level)
{
    unsigned i;

    for (i = 0; name && i < 4; i++) {
        if (!strcmp(name, level_names[i])) {
            *level = (enum xb_log_level)i;
            return 0;
        }
    }
    return XB_EINVAL;
}

const struct xb_bot_kind *xb_bot_kind_find(const char *name)
{
    unsigned i;

    for (i = 0; name && xb_bot_kinds[i]; i++)
        if (!strcmp(xb_bot_kinds[i]->name, name))
            return xb_bot_kinds[i];
    return NULL;
}

unsigned xb_bot_ncounters(const struct xb_bot_kind *k)
{
    unsigned n = 0;

    while (k->counters[n].name)
        n++;
    return (unsigned)NCOMMON + n;
}

const struct xb_bot_counter *xb_bot_counter_at(const struct xb_bot_kind *k,
                                               unsigned i)
{
    return i < NCOMMON ? &common_counters[i] : &k->counters[i - NCOMMON];
}

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

struct xb_bot *xb_bot_new(const struct xb_bot_config *cfg, const char *jid,
                          const struct xb_bot_host *host, void *ud,
                          uint64_t seed, uint64_t index)
{
    const struct xb_bot_kind *k = cfg ? xb_bot_config_kind(cfg) : NULL;
    struct xb_bot *b;

    if (!k || !host || !host->send || !host->set_timer)
        return NULL;
    b = calloc(1, k->size);
    if (!b)
        return NULL;
    b->kind = k;
    b->host = host;
    b->ud = ud;
    b->cfg = xb_bot_config_data(cfg);
    /* The constant keeps bots' sequences apart from the host's own
     * generators seeded with the same (seed, index). */
    xb_rand_seed(&b->rng, seed ^ 0xB07, index);
    if (set_jid(b, jid, 0)) {
        xb_bot_logf(b, XB_LOG_ERROR, "invalid bot JID '%.200s'",
                    jid ? jid : "");
        xb_bot_free(b);
        return NULL;
    }
    if (k->init && k->init(b, b->cfg)) {
        xb_bot_free(b);
        return NULL;
    }
    return b;
}

void xb_bot_free(struct xb_bot *b)
{
    if (!b)
        return;
    if (b->kind->fini)
        b->kind->fini(b);
    free(b->jid);
    free(b);
}

const struct xb_bot_kind *xb_bot_kind_of(const struct xb_bot *b)
{
    return b->kind;
}

const char *xb_bot_jid(const struct xb_bot *b)
{
    return b->jid;
}

void xb_bot_online(struct xb_bot *b, const char *jid)
{
    /* The bound full JID replaces the account JID; a bad one (a host bug)
     * leaves the account JID in place rather than stopping the bot. */
    if (jid && set_jid(b, jid, 1))
        xb_bot_logf(b, XB_LOG_WARN, "%s: ignoring bound JID '%s'", b->jid, jid);
    b->online = 1;
    b->stopped = 0;
    if (b->kind->online)
        b->kind->online(b);
}

/* The IQ rules, the same for every host and kind. */
static void on_iq(struct xb_bot *b, const struct xb_stanza *iq)
{
    const char *type = xb_stanza_attr(iq, NULL, "type");
    const struct xb_stanza *payload;
    struct xb_stanza *r;
    int get;

    if (!type || (strcmp(type, "get") && strcmp(type, "set"))) {
        /* A result or error: ours to match, if the kind asked. */
        if (type && b->kind->iq &&
            (!strcmp(type, "result") || !strcmp(type, "error")))
            b->kind->iq(b, iq);
        return;
    }
    if (!xb_xmpp_can_reply(iq))
        return;
    b->iq_requests++;
    get = !strcmp(type, "get");
    payload = xb_iq_payload(iq);
    if (!payload)
        r = xb_xmpp_reply(iq, "bad-request", "modify");
    else if (get && xb_stanza_is(payload, XB_NS_PING, "ping"))
        r = xb_xmpp_reply(iq, NULL, NULL);
    else if (b->kind->iq && b->kind->iq(b, iq))
        return;
    else
        r = xb_xmpp_reply(iq, "service-unavailable", "cancel");
    xb_bot_send(b, r);
}

void xb_bot_stanza(struct xb_bot *b, const struct xb_stanza *st)
{
    const char *ns = xb_stanza_ns(st);

    b->stanzas++;
    if (xb_stanza_is(st, NULL, "iq") && (!ns[0] || !strcmp(ns, XB_NS_CLIENT)))
        on_iq(b, st);
    else
        b->kind->stanza(b, st);
}

void xb_bot_timer(struct xb_bot *b)
{
    if (b->kind->timer)
        b->kind->timer(b);
}

void xb_bot_resumed(struct xb_bot *b)
{
    if (b->kind->resumed)
        b->kind->resumed(b);
}

void xb_bot_offline(struct xb_bot *b)
{
    b->online = 0;
    if (b->kind->offline)
        b->kind->offline(b);
    xb_bot_arm(b, -1);
}

void xb_bot_stop(struct xb_bot *b)
{
    if (b->kind->stop)
        b->kind->stop(b);
    b->online = 0;
    b->stopped = 1;
    xb_bot_arm(b, -1);
}

uint64_t xb_bot_counter(const struct xb_bot *b, unsigned i)
{
    const struct xb_bot_counter *c = xb_bot_counter_at(b->kind, i);
    uint64_t v;

    memcpy(&v, (const char *)b + c->offset, sizeof v);
    return v;
}

void xb_bot_counters_add(const struct xb_bot *b, uint64_t *sum)
{
    unsigned i, n = xb_bot_ncounters(b->kind);

    for (i = 0; i < n; i++)
        sum[i] += xb_bot_counter(b, i);
}

int xb_bot_http(struct xb_bot *b, const char *path, size_t len,
                struct xb_bot_page *page)
{
    memset(page, 0, sizeof *page);
    if (!b->kind->http)
        return XB_ENOTFOUND;
    return b->kind->http(b, path, len, page);
}

int xb_bot_ok(const struct xb_bot *b)
{
    return b->kind->ok ? b->kind->ok(b) : 1;
}

const char *xb_bot_state(const struct xb_bot *b, char *buf, size_t size)
{
    if (size)
        buf[0] = '\0';
    if (b->stopped)
        return "stopped";
    if (b->kind->state)
        return b->kind->state(b, buf, size);
    return b->online ? "online" : "offline";
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
