/*
 * The load bot: sends numbered chat messages to an echo bot, keeps a
 * window of them in flight, checks each echo byte for byte, reports each
 * round-trip time as a sample, and counts what never came back. Bodies
 * are rebuilt from their number, so nothing is kept per message but its
 * send time.
 */
#include "bot_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jid.h"
#include "xmpp.h"

#define CHECK_MS 1000 /* how often lost echoes are looked for */
#define BODY_MAX 4096

struct load_config {
    const char *to;
    uint32_t messages, window, body_bytes, timeout;
};

#define OPT(field) offsetof(struct load_config, field)
static const struct xb_bot_option load_options[] = {
    {"to", "JID", "the echo bot to load", XB_OPT_STRING, OPT(to), 0, 0, NULL, 0,
     0, XB_OPT_REQUIRED},
    {"messages", "M", "messages each load bot sends", XB_OPT_UINT,
     OPT(messages), 100, 0, NULL, 1, 100000000, 0},
    {"window", "W", "messages in flight per load bot", XB_OPT_UINT, OPT(window),
     1, 0, NULL, 1, 1000, 0},
    {"body_bytes", "B", "body size in bytes", XB_OPT_UINT, OPT(body_bytes), 64,
     0, NULL, 1, BODY_MAX, 0},
    {"message_timeout", "S", "seconds after which an echo counts as lost",
     XB_OPT_SECONDS, OPT(timeout), 10, 0, NULL, 0.001, 86400, 0},
    {NULL}};

struct slot {
    uint32_t seq; /* 0: free */
    uint64_t sent_us;
};

struct load_bot {
    struct xb_bot base;
    const struct load_config *cfg;
    uint64_t sent, answered, lost, corrupt; /* counters */
    struct slot *inflight;                  /* cfg->window slots */
    uint32_t next;      /* messages sent so far (the last seq) */
    uint32_t over;      /* answered, corrupt or lost */
    unsigned char done; /* the host was told */
};

/* The body of message seq: reproducible, so that the echo can be checked
 * byte for byte without a copy. Markup characters, a CDATA end and a
 * four-byte UTF-8 character test the whole path. */
static size_t load_body(const struct load_bot *l, uint32_t seq, char *buf,
                        size_t size)
{
    static const char pad[] = "<&'\"]]> xmppbots load \xF0\x9F\x98\x80 ";
    size_t want = l->cfg->body_bytes, n;

    n = (size_t)snprintf(buf, size, "%" PRIu32 " ", seq);
    while (n + sizeof pad - 1 <= want && n + sizeof pad < size) {
        memcpy(buf + n, pad, sizeof pad - 1);
        n += sizeof pad - 1;
    }
    while (n < want && n + 1 < size)
        buf[n++] = 'x';
    buf[n] = '\0';
    return n;
}

static void send_one(struct load_bot *l)
{
    struct slot *slot = NULL;
    struct xb_stanza *m, *b;
    char id[16], body[BODY_MAX + 16];
    size_t n;
    uint32_t i;

    for (i = 0; i < l->cfg->window && !slot; i++)
        if (!l->inflight[i].seq)
            slot = &l->inflight[i];
    if (!slot || l->next >= l->cfg->messages || !l->base.online)
        return;
    l->next++;
    snprintf(id, sizeof id, "L%" PRIu32, l->next);
    n = load_body(l, l->next, body, sizeof body);
    m = xb_stanza_new(XB_NS_CLIENT, "message");
    if (!m || xb_stanza_set_attr(m, NULL, "to", l->cfg->to) ||
        xb_stanza_set_attr(m, NULL, "type", "chat") ||
        xb_stanza_set_attr(m, NULL, "id", id) ||
        !(b = xb_stanza_add_child(m, NULL, "body")) ||
        xb_stanza_add_text(b, body, n)) {
        xb_stanza_free(m);
        m = NULL;
    }
    slot->seq = l->next;
    slot->sent_us = l->base.host->now_us(l->base.ud);
    l->sent++;
    if (xb_bot_send(&l->base, m)) {
        /* Not sent: it will not come back. */
        slot->seq = 0;
        l->lost++;
        l->over++;
    }
}

static void fill(struct load_bot *l)
{
    uint32_t i;

    for (i = 0; i < l->cfg->window; i++)
        send_one(l);
}

/* Every message answered or lost: the host may close the session. */
static void check_done(struct load_bot *l)
{
    if (l->over < l->cfg->messages || l->done)
        return;
    l->done = 1;
    xb_bot_arm(&l->base, -1);
    if (l->base.host->done)
        l->base.host->done(l->base.ud);
}

static void load_online(struct xb_bot *b)
{
    struct load_bot *l = (struct load_bot *)b;

    fill(l);
    if (l->over < l->cfg->messages)
        xb_bot_arm(b, CHECK_MS);
    check_done(l);
}

static void load_stanza(struct xb_bot *b, const struct xb_stanza *st)
{
    struct load_bot *l = (struct load_bot *)b;
    const char *id = xb_stanza_attr(st, NULL, "id");
    const char *body = xb_stanza_child_text(st, XB_NS_CLIENT, "body");
    const char *type;
    char want[BODY_MAX + 16], *end;
    unsigned long seq;
    uint64_t t;
    uint32_t i;

    if (!xb_stanza_is(st, XB_NS_CLIENT, "message") || !id || id[0] != 'L')
        return;
    seq = strtoul(id + 1, &end, 10);
    if (*end || seq == 0 || seq > l->next)
        return;
    for (i = 0; i < l->cfg->window; i++)
        if (l->inflight[i].seq == seq)
            break;
    if (i == l->cfg->window)
        return; /* late: already counted as lost */
    t = b->host->now_us(b->ud);
    type = xb_stanza_attr(st, NULL, "type");
    if (type && !strcmp(type, "error")) {
        /* Bounced (no such echo bot, say): it will not come back. */
        l->inflight[i].seq = 0;
        l->lost++;
        l->over++;
        send_one(l);
        check_done(l);
        return;
    }
    load_body(l, (uint32_t)seq, want, sizeof want);
    if (!body || strcmp(body, want))
        l->corrupt++;
    else
        l->answered++;
    if (b->host->sample) {
        uint64_t rtt = t - l->inflight[i].sent_us;

        b->host->sample(b->ud, 0,
                        rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt);
    }
    l->inflight[i].seq = 0;
    l->over++;
    send_one(l);
    check_done(l);
}

/* Forgets the messages in flight longer than the timeout (all of them
 * with all set: the session is gone). */
static void expire(struct load_bot *l, int all)
{
    uint64_t t = l->base.host->now_us(l->base.ud);
    uint64_t limit = (uint64_t)l->cfg->timeout * 1000;
    uint32_t i;

    for (i = 0; i < l->cfg->window; i++) {
        if (l->inflight[i].seq && (all || t - l->inflight[i].sent_us > limit)) {
            l->inflight[i].seq = 0;
            l->lost++;
            l->over++;
        }
    }
}

static void load_timer(struct xb_bot *b)
{
    struct load_bot *l = (struct load_bot *)b;

    expire(l, 0);
    fill(l);
    if (l->over < l->cfg->messages)
        xb_bot_arm(b, CHECK_MS);
    check_done(l);
}

static void load_offline(struct xb_bot *b)
{
    struct load_bot *l = (struct load_bot *)b;

    expire(l, 1);
    check_done(l);
}

static int load_init(struct xb_bot *b, const void *cfg)
{
    struct load_bot *l = (struct load_bot *)b;
    struct xb_jid to;

    l->cfg = cfg;
    if (!b->host->now_us) {
        xb_bot_logf(b, XB_LOG_ERROR, "%s: a load bot needs the host's clock",
                    b->jid);
        return XB_EINVAL;
    }
    if (!l->cfg->to ||
        xb_jid_parse(&to, l->cfg->to, strlen(l->cfg->to), NULL)) {
        xb_bot_logf(b, XB_LOG_ERROR, "%s: 'to' is not a JID", b->jid);
        return XB_EINVAL;
    }
    xb_jid_clear(&to);
    l->inflight = calloc(l->cfg->window, sizeof *l->inflight);
    return l->inflight ? 0 : XB_ENOMEM;
}

static int load_check(const void *cfg, char *err, size_t errlen)
{
    const struct load_config *c = cfg;
    struct xb_jid to;

    if (xb_jid_parse(&to, c->to, strlen(c->to), NULL)) {
        snprintf(err, errlen, "to '%.100s' is not a JID", c->to);
        return XB_EINVAL;
    }
    xb_jid_clear(&to);
    return 0;
}

static int load_ok(const struct xb_bot *b)
{
    const struct load_bot *l = (const struct load_bot *)b;

    return l->answered == l->cfg->messages;
}

static void load_fini(struct xb_bot *b)
{
    free(((struct load_bot *)b)->inflight);
}

#define COUNT(field) offsetof(struct load_bot, field)
static const struct xb_bot_counter load_counters[] = {
    {"sent", "sent", "messages sent to the echo bot", COUNT(sent)},
    {"answered", "answered", "echoes received with the body sent",
     COUNT(answered)},
    {"lost", "lost",
     "messages not answered within message_timeout, bounced with an error, "
     "or in flight when the connection was lost",
     COUNT(lost)},
    {"corrupt", "corrupt", "echoes whose body differs from the one sent",
     COUNT(corrupt)},
    {NULL}};

static const struct xb_bot_series load_series[] = {
    {"rtt", "round-trip time of each intact or corrupt echo, microseconds"},
    {NULL}};

const struct xb_bot_kind xb_bot_load = {
    .name = "load",
    .summary = "sends messages to an echo bot and measures round trips",
    .size = sizeof(struct load_bot),
    .config_size = sizeof(struct load_config),
    .options = load_options,
    .counters = load_counters,
    .series = load_series,
    .check = load_check,
    .init = load_init,
    .online = load_online,
    .stanza = load_stanza,
    .timer = load_timer,
    .offline = load_offline,
    .ok = load_ok,
    .fini = load_fini,
};
