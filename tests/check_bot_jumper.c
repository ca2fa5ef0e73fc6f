/*
 * Tests for the jumper bot (core/bot_jumper.c through core/bot.c): with a
 * fixed seed, the exact join, phrase and leave stanzas, the timer values
 * in their bounds, join errors with backoff, kicks, reconnects, stop, and
 * the config check.
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "fakehost.h"
#include "buf.h"
#include "error.h"
#include "parser.h"
#include "serialize.h"
#include "xmpp.h"
#include "testutil.h"

#define SERVICE "conference.localhost"
#define NO_TIMER FH_NO_TIMER

/* The settings a test changes, as fields (0 or NULL: the default);
 * new_jumper() turns them into a config through the option table. */
struct jcfg {
    const char *muc_service, *room_prefix, *nick;
    unsigned rooms, min_phrases, max_phrases;
    uint32_t min_interval_ms, max_interval_ms, join_timeout_ms;
    uint32_t backoff_min_ms, backoff_max_ms;
    const char *const *phrases;
    unsigned nphrases;
};

static struct fakehost host;
static struct xb_bot *bot;
static struct jcfg cfg;

static const char *const test_phrases[] = {"one", "two & three", "four"};

#define last_timer() fh_last_timer(&host)
#define last_sent() fh_last_sent(&host)

/* A config from c's fields, or NULL if an option or the whole is
 * refused. */
static struct xb_bot_config *jumper_config(const struct jcfg *c)
{
    struct xb_bot_config *bc = xb_bot_config_new(xb_bot_kind_find("jumper"));
    char e[300];
    size_t n = sizeof e;
    int rc = 0;

    ck_assert_ptr_nonnull(bc);
    if (c && c->muc_service)
        rc |= xb_bot_config_set(bc, "muc", c->muc_service, e, n);
    if (c && c->room_prefix)
        rc |= xb_bot_config_set(bc, "room_prefix", c->room_prefix, e, n);
    if (c && c->nick)
        rc |= xb_bot_config_set(bc, "nick", c->nick, e, n);
    if (c && c->rooms)
        rc |= xb_bot_config_set_number(bc, "rooms", c->rooms, c->rooms, e, n);
    if (c && (c->min_phrases || c->max_phrases))
        rc |= xb_bot_config_set_number(bc, "phrases", c->min_phrases,
                                       c->max_phrases, e, n);
    if (c && c->max_interval_ms)
        rc |= xb_bot_config_set_number(bc, "interval",
                                       c->min_interval_ms / 1000.0,
                                       c->max_interval_ms / 1000.0, e, n);
    if (c && c->join_timeout_ms)
        rc |= xb_bot_config_set_number(bc, "join_timeout",
                                       c->join_timeout_ms / 1000.0,
                                       c->join_timeout_ms / 1000.0, e, n);
    if (c && c->backoff_max_ms)
        rc |=
            xb_bot_config_set_number(bc, "backoff", c->backoff_min_ms / 1000.0,
                                     c->backoff_max_ms / 1000.0, e, n);
    if (c && c->phrases)
        rc |= xb_bot_config_set_list(bc, "phrase_list", c->phrases, c->nphrases,
                                     e, n);
    if (rc || xb_bot_config_check(bc, e, n)) {
        xb_bot_config_free(bc);
        return NULL;
    }
    return bc;
}

/* A jumper alice@localhost (index 7) on f with c's settings; the config
 * is f's. NULL if the config or the bot is refused. */
static struct xb_bot *new_jumper(struct fakehost *f, uint64_t seed,
                                 const struct jcfg *c)
{
    struct xb_bot_config *bc = jumper_config(c);

    if (!bc)
        return NULL;
    xb_bot_config_free(f->config);
    f->config = bc;
    return fh_new(f, bc, "alice@localhost", seed, 7);
}

static void setup(void)
{
    memset(&host, 0, sizeof host);
    memset(&cfg, 0, sizeof cfg);
    cfg.muc_service = SERVICE;
    cfg.rooms = 10;
    cfg.min_phrases = 2;
    cfg.max_phrases = 4;
    cfg.min_interval_ms = 100;
    cfg.max_interval_ms = 200;
    cfg.join_timeout_ms = 5000;
    cfg.backoff_min_ms = 1000;
    cfg.backoff_max_ms = 8000;
    cfg.phrases = test_phrases;
    cfg.nphrases = 3;
    bot = new_jumper(&host, 42, &cfg);
    ck_assert_ptr_nonnull(bot);
}

static void teardown(void)
{
    xb_bot_free(bot);
    bot = NULL;
    fh_reset(&host);
}

static void deliverf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void deliverf(const char *fmt, ...)
{
    char xml[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(xml, sizeof xml, fmt, ap);
    va_end(ap);
    fh_deliver(bot, xml);
}

/* Reads room K and the nick from a join presence, asserting its exact
 * form. Returns K. */
static unsigned parse_join(const char *xml, char *nick, size_t size)
{
    unsigned k;
    char n[64], want[256];

    ck_assert_msg(sscanf(xml, "<presence to='bot_room_%u@" SERVICE "/%63[^']'",
                         &k, n) == 2,
                  "not a join: %s", xml);
    snprintf(want, sizeof want,
             "<presence to='bot_room_%u@" SERVICE "/%s'>"
             "<x xmlns='http://jabber.org/protocol/muc'>"
             "<history maxchars='0'/></x></presence>",
             k, n);
    ck_assert_str_eq(xml, want);
    if (nick)
        snprintf(nick, size, "%s", n);
    return k;
}

static void self_presence_to(struct xb_bot *b, unsigned k, const char *nick)
{
    char xml[512];

    snprintf(xml, sizeof xml,
             "<presence xmlns='jabber:client' from='bot_room_%u@" SERVICE
             "/%s' to='alice@localhost/bot'>"
             "<x xmlns='http://jabber.org/protocol/muc#user'>"
             "<item affiliation='none' role='participant'/>"
             "<status code='110'/></x></presence>",
             k, nick);
    fh_deliver(b, xml);
}

static void self_presence(unsigned k, const char *nick)
{
    self_presence_to(bot, k, nick);
}

/* Brings the bot online and into its first room; returns the room. */
static unsigned enter_room(void)
{
    unsigned k;

    xb_bot_online(bot, "alice@localhost/bot");
    k = parse_join(last_sent(), NULL, 0);
    self_presence(k, "alice");
    ck_assert_uint_eq(fh_counter(bot, "joins"), 1);
    return k;
}

static void assert_between(int64_t v, int64_t lo, int64_t hi)
{
    ck_assert_msg(v >= lo && v <= hi, "%lld not in [%lld, %lld]", (long long)v,
                  (long long)lo, (long long)hi);
}

static void assert_leave(const char *xml, unsigned k, const char *nick)
{
    char want[256];

    snprintf(want, sizeof want,
             "<presence to='bot_room_%u@" SERVICE "/%s' type='unavailable'/>",
             k, nick);
    ck_assert_str_eq(xml, want);
}

/* Asserts xml is a phrase to room k with id want_id and returns the body
 * as sent (escaped). */
static const char *assert_phrase(const char *xml, unsigned k, unsigned want_id)
{
    char head[128];
    size_t hl, len = strlen(xml);

    snprintf(head, sizeof head,
             "<message to='bot_room_%u@" SERVICE
             "' type='groupchat' id='j%u'><body>",
             k, want_id);
    hl = strlen(head);
    ck_assert_msg(strncmp(xml, head, hl) == 0, "not a phrase: %s", xml);
    ck_assert_msg(len > hl + 17 && !strcmp(xml + len - 17, "</body></message>"),
                  "not a phrase: %s", xml);
    return xml + hl;
}

static int is_test_phrase(const char *body)
{
    return !strncmp(body, "one<", 4) ||
           !strncmp(body, "two &amp; three<", 16) || !strncmp(body, "four<", 5);
}

START_TEST(test_bot_jumper_full_visit)
{
    unsigned k1, k2, n = 0;
    const char *body;
    int base;

    xb_bot_online(bot, "alice@localhost/bot");
    ck_assert_int_eq(host.nsent, 1);
    k1 = parse_join(host.sent[0], NULL, 0);
    ck_assert_uint_lt(k1, 10);
    ck_assert_int_eq(last_timer(), 5000);

    /* Other occupants' presences come first: still joining. */
    deliverf("<presence xmlns='jabber:client' from='bot_room_%u@" SERVICE
             "/bob'><x xmlns='http://jabber.org/protocol/muc#user'>"
             "<item affiliation='none' role='participant'/></x></presence>",
             k1);
    ck_assert_uint_eq(fh_counter(bot, "joins"), 0);
    ck_assert_int_eq(host.ntimers, 1);

    self_presence(k1, "alice");
    ck_assert_uint_eq(fh_counter(bot, "joins"), 1);
    assert_between(last_timer(), 100, 200);
    ck_assert_int_eq(host.nsent, 1);

    for (;;) {
        base = host.nsent;
        xb_bot_timer(bot);
        ck_assert_int_ge(host.nsent, base + 1);
        body = assert_phrase(host.sent[base], k1, n + 1);
        ck_assert_msg(is_test_phrase(body), "unknown phrase: %s", body);
        n++;
        if (host.nsent > base + 1)
            break;
        assert_between(last_timer(), 100, 200);
        ck_assert_uint_le(n, 4);
    }
    ck_assert_uint_ge(n, 2);
    ck_assert_uint_le(n, 4);
    ck_assert_int_eq(host.nsent, base + 3);
    assert_leave(host.sent[base + 1], k1, "alice");
    k2 = parse_join(host.sent[base + 2], NULL, 0);
    ck_assert_uint_ne(k2, k1);
    ck_assert_uint_lt(k2, 10);
    ck_assert_int_eq(last_timer(), 5000);

    ck_assert_uint_eq(fh_counter(bot, "groupchat_sent"), n);
    ck_assert_uint_eq(fh_counter(bot, "leaves"), 1);
    ck_assert_uint_eq(fh_counter(bot, "join_errors"), 0);
    ck_assert_int_eq(host.nlogs, 0);

    /* The answer to the old room's leave does not disturb the new join. */
    deliverf("<presence xmlns='jabber:client' from='bot_room_%u@" SERVICE
             "/alice' type='unavailable'><x "
             "xmlns='http://jabber.org/protocol/muc#user'><status "
             "code='110'/></x></presence>",
             k1);
    ck_assert_uint_eq(fh_counter(bot, "leaves"), 1);
    ck_assert_int_eq(last_timer(), 5000);
    self_presence(k2, "alice");
    ck_assert_uint_eq(fh_counter(bot, "joins"), 2);
}
END_TEST

START_TEST(test_bot_jumper_every_room_visited)
{
    int seen[10] = {0}, i, j, nrooms = 0;
    unsigned k;

    xb_bot_online(bot, "alice@localhost/bot");
    for (i = 0; i < 200; i++) {
        k = parse_join(last_sent(), NULL, 0);
        if (!seen[k]++)
            nrooms++;
        self_presence(k, "alice");
        for (j = 0; j < 4 && fh_counter(bot, "leaves") == (uint64_t)i; j++)
            xb_bot_timer(bot);
        ck_assert_uint_eq(fh_counter(bot, "leaves"), (uint64_t)i + 1);
    }
    ck_assert_int_eq(nrooms, 10);
}
END_TEST

START_TEST(test_bot_jumper_unique_ids)
{
    char ids[64][16];
    int nids = 0, i, j;
    unsigned k;

    xb_bot_online(bot, "alice@localhost/bot");
    while (nids < 64) {
        k = parse_join(last_sent(), NULL, 0);
        self_presence(k, "alice");
        do {
            int base = host.nsent;

            xb_bot_timer(bot);
            ck_assert_int_eq(sscanf(host.sent[base],
                                    "<message to='%*[^']' type='groupchat' "
                                    "id='%15[^']'",
                                    ids[nids]),
                             1);
            nids++;
        } while (nids < 64 && !strstr(last_sent(), "<x xmlns"));
    }
    for (i = 0; i < nids; i++)
        for (j = i + 1; j < nids; j++)
            ck_assert_str_ne(ids[i], ids[j]);
}
END_TEST

START_TEST(test_bot_jumper_builtin_phrases)
{
    struct fakehost f;
    struct xb_bot *b;
    struct jcfg c = cfg;
    char nick[64];
    unsigned k, i;

    memset(&f, 0, sizeof f);
    c.phrases = NULL;
    c.nphrases = 0;
    c.min_phrases = c.max_phrases = 50;
    b = new_jumper(&f, 3, &c);
    ck_assert_ptr_nonnull(b);
    xb_bot_online(b, "alice@localhost/bot");
    k = parse_join(f.sent[0], nick, sizeof nick);
    self_presence_to(b, k, nick);
    for (i = 0; i < 50; i++)
        xb_bot_timer(b);
    ck_assert_uint_eq(fh_counter(b, "groupchat_sent"), 50);
    /* Every one well-formed (the built-in list has characters to escape). */
    for (i = 1; i <= 50; i++) {
        struct xb_stanza *st = NULL;

        ck_assert_int_eq(
            xb_parser_parse_one(f.sent[i], strlen(f.sent[i]), &st, NULL), 0);
        ck_assert_ptr_nonnull(xb_stanza_child_text(st, NULL, "body"));
        xb_stanza_free(st);
    }
    xb_bot_free(b);
    fh_reset(&f);
}
END_TEST

START_TEST(test_bot_jumper_defaults)
{
    struct fakehost f;
    struct xb_bot *b;
    unsigned k;

    memset(&f, 0, sizeof f);
    b = new_jumper(&f, 1, NULL);
    ck_assert_ptr_nonnull(b);
    xb_bot_online(b, "alice@localhost/bot");
    /* Service conference.<domain>, prefix bot_room_, 10 rooms, nick =
     * localpart, join timeout 30 s. */
    k = parse_join(f.sent[0], NULL, 0);
    ck_assert_uint_lt(k, 10);
    ck_assert_int_eq(f.timers[f.ntimers - 1], 30000);
    self_presence_to(b, k, "alice");
    ck_assert_uint_eq(fh_counter(b, "joins"), 1);
    assert_between(f.timers[f.ntimers - 1], 5000, 15000);
    xb_bot_free(b);
    fh_reset(&f);
}
END_TEST

START_TEST(test_bot_jumper_own_nick_and_prefix)
{
    struct fakehost f;
    struct xb_bot *b;
    struct jcfg c = cfg;

    memset(&f, 0, sizeof f);
    c.nick = "Jumpy";
    c.room_prefix = "Lobby-";
    c.rooms = 1;
    c.muc_service = "MUC.Example.ORG";
    b = new_jumper(&f, 1, &c);
    ck_assert_ptr_nonnull(b);
    xb_bot_online(b, "alice@localhost/bot");
    ck_assert_str_eq(f.sent[0], "<presence to='Lobby-0@MUC.Example.ORG/Jumpy'>"
                                "<x xmlns='http://jabber.org/protocol/muc'>"
                                "<history maxchars='0'/></x></presence>");
    /* The server answers with the room JID normalized. */
    fh_deliver(b, "<presence xmlns='jabber:client' "
                  "from='lobby-0@muc.example.org/Jumpy'>"
                  "<x xmlns='http://jabber.org/protocol/muc#user'>"
                  "<status code='110'/></x></presence>");
    ck_assert_uint_eq(fh_counter(b, "joins"), 1);
    /* A nick differing only in case is somebody else. */
    fh_deliver(b, "<message xmlns='jabber:client' type='groupchat' "
                  "from='lobby-0@muc.example.org/jumpy'><body>hi</body>"
                  "</message>");
    ck_assert_uint_eq(fh_counter(b, "groupchat_received"), 1);
    xb_bot_free(b);
    fh_reset(&f);
}
END_TEST

static void error_presence(const char *from, const char *cond)
{
    deliverf("<presence xmlns='jabber:client' from='%s' type='error'>"
             "<x xmlns='http://jabber.org/protocol/muc'/>"
             "<error type='cancel'><%s "
             "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
             "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no</text>"
             "</error></presence>",
             from, cond);
}

START_TEST(test_bot_jumper_conflict_new_nick)
{
    char from[128], nick[64], nick2[64];
    unsigned k, k2, suffix;

    xb_bot_online(bot, "alice@localhost/bot");
    k = parse_join(last_sent(), NULL, 0);
    snprintf(from, sizeof from, "bot_room_%u@" SERVICE "/alice", k);
    error_presence(from, "conflict");
    ck_assert_int_eq(host.nsent, 1);
    ck_assert_uint_eq(fh_counter(bot, "join_errors"), 1);
    assert_between(last_timer(), 500, 1000);
    ck_assert_int_eq(host.nlogs, 1);
    ck_assert_int_eq(host.levels[0], XB_LOG_WARN);
    ck_assert_ptr_nonnull(strstr(host.logs[0], from));
    ck_assert_ptr_nonnull(strstr(host.logs[0], "conflict"));

    xb_bot_timer(bot);
    ck_assert_int_eq(host.nsent, 2);
    k2 = parse_join(last_sent(), nick, sizeof nick);
    ck_assert_uint_eq(k2, k);
    ck_assert_int_eq(sscanf(nick, "alice_%u", &suffix), 1);
    assert_between(suffix, 1, 99999);
    ck_assert_int_eq(last_timer(), 5000);

    /* The nick's holder is not us any more. */
    self_presence(k, "alice");
    ck_assert_uint_eq(fh_counter(bot, "joins"), 0);
    /* A second conflict: yet another nick, and a longer backoff. */
    snprintf(from, sizeof from, "bot_room_%u@" SERVICE "/%s", k, nick);
    error_presence(from, "conflict");
    assert_between(last_timer(), 1000, 2000);
    xb_bot_timer(bot);
    k2 = parse_join(last_sent(), nick2, sizeof nick2);
    ck_assert_uint_eq(k2, k);
    ck_assert_str_ne(nick2, nick);
    ck_assert_int_eq(strncmp(nick2, "alice_", 6), 0);

    self_presence(k, nick2);
    ck_assert_uint_eq(fh_counter(bot, "joins"), 1);
    /* The other alice talking is another occupant. */
    deliverf("<message xmlns='jabber:client' type='groupchat' "
             "from='bot_room_%u@" SERVICE "/alice'><body>me</body></message>",
             k);
    ck_assert_uint_eq(fh_counter(bot, "groupchat_received"), 1);
    /* Leaving uses the nick we hold. */
    xb_bot_stop(bot);
    assert_leave(last_sent(), k, nick2);
}
END_TEST

START_TEST(test_bot_jumper_other_errors_change_room)
{
    static const char *const conds[] = {
        "item-not-found", "service-unavailable",   "forbidden",
        "not-allowed",    "registration-required", "remote-server-not-found",
        "not-authorized", "internal-server-error"};
    char from[128], nick[64];
    unsigned k, k2, i;

    xb_bot_online(bot, "alice@localhost/bot");
    for (i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        k = parse_join(last_sent(), NULL, 0);
        /* From the bare room or from the nick: both are refusals. */
        snprintf(from, sizeof from, "bot_room_%u@" SERVICE "%s", k,
                 i % 2 ? "/alice" : "");
        error_presence(from, conds[i]);
        ck_assert_uint_eq(fh_counter(bot, "join_errors"), i + 1);
        ck_assert_int_eq(host.nlogs, (int)i + 1);
        ck_assert_int_eq(host.levels[i], XB_LOG_WARN);
        ck_assert_ptr_nonnull(strstr(host.logs[i], conds[i]));
        snprintf(from, sizeof from, "bot_room_%u@" SERVICE, k);
        ck_assert_ptr_nonnull(strstr(host.logs[i], from));
        ck_assert_int_eq(host.nsent, (int)i + 1); /* nothing sent yet */
        xb_bot_timer(bot);
        k2 = parse_join(last_sent(), nick, sizeof nick);
        ck_assert_uint_ne(k2, k);
        ck_assert_str_eq(nick, "alice");
    }
    ck_assert_uint_eq(fh_counter(bot, "joins"), 0);
}
END_TEST

START_TEST(test_bot_jumper_error_without_condition)
{
    unsigned k;

    xb_bot_online(bot, "alice@localhost/bot");
    k = parse_join(last_sent(), NULL, 0);
    deliverf("<presence xmlns='jabber:client' from='bot_room_%u@" SERVICE
             "/alice' type='error'/>",
             k);
    ck_assert_uint_eq(fh_counter(bot, "join_errors"), 1);
    ck_assert_ptr_nonnull(strstr(host.logs[0], "undefined-condition"));
}
END_TEST

START_TEST(test_bot_jumper_foreign_errors_ignored)
{
    unsigned k;
    char from[128];

    xb_bot_online(bot, "alice@localhost/bot");
    k = parse_join(last_sent(), NULL, 0);
    /* Another room, another nick, another service: not about our join. */
    snprintf(from, sizeof from, "bot_room_%u@" SERVICE "/alice", (k + 1) % 10);
    error_presence(from, "forbidden");
    snprintf(from, sizeof from, "bot_room_%u@" SERVICE "/bob", k);
    error_presence(from, "forbidden");
    snprintf(from, sizeof from, "bot_room_%u@other.localhost/alice", k);
    error_presence(from, "forbidden");
    snprintf(from, sizeof from, "bot_room_%u0@" SERVICE "/alice", k);
    error_presence(from, "forbidden");
    ck_assert_uint_eq(fh_counter(bot, "join_errors"), 0);
    ck_assert_int_eq(last_timer(), 5000);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 4);
}
END_TEST

START_TEST(test_bot_jumper_join_timeout)
{
    unsigned k, k2;
    char room[128];

    xb_bot_online(bot, "alice@localhost/bot");
    k = parse_join(last_sent(), NULL, 0);
    ck_assert_int_eq(last_timer(), 5000);
    xb_bot_timer(bot);
    /* It withdraws the join, so a late success leaves no ghost behind. */
    ck_assert_int_eq(host.nsent, 2);
    assert_leave(last_sent(), k, "alice");
    ck_assert_uint_eq(fh_counter(bot, "join_errors"), 1);
    ck_assert_uint_eq(fh_counter(bot, "leaves"), 0);
    assert_between(last_timer(), 500, 1000);
    ck_assert_int_eq(host.nlogs, 1);
    ck_assert_int_eq(host.levels[0], XB_LOG_WARN);
    snprintf(room, sizeof room, "bot_room_%u@" SERVICE, k);
    ck_assert_ptr_nonnull(strstr(host.logs[0], room));
    ck_assert_ptr_nonnull(strstr(host.logs[0], "timeout"));

    /* A late self-presence from the abandoned room changes nothing. */
    self_presence(k, "alice");
    ck_assert_uint_eq(fh_counter(bot, "joins"), 0);

    xb_bot_timer(bot);
    k2 = parse_join(last_sent(), NULL, 0);
    ck_assert_uint_ne(k2, k);
    ck_assert_int_eq(last_timer(), 5000);
}
END_TEST

START_TEST(test_bot_jumper_backoff_doubles_and_caps)
{
    static const int64_t ceilings[] = {1000, 2000, 4000, 8000, 8000, 8000};
    unsigned i, k;

    xb_bot_online(bot, "alice@localhost/bot");
    for (i = 0; i < sizeof ceilings / sizeof ceilings[0]; i++) {
        xb_bot_timer(bot); /* join timeout */
        assert_between(last_timer(), ceilings[i] / 2, ceilings[i]);
        xb_bot_timer(bot); /* backoff over: join again */
        ck_assert_int_eq(last_timer(), 5000);
    }
    ck_assert_uint_eq(fh_counter(bot, "join_errors"), 6);
    /* A successful join resets it: a kick right after waits the least. */
    k = parse_join(last_sent(), NULL, 0);
    self_presence(k, "alice");
    deliverf("<presence xmlns='jabber:client' from='bot_room_%u@" SERVICE
             "/alice' type='unavailable'><x "
             "xmlns='http://jabber.org/protocol/muc#user'><status "
             "code='110'/></x></presence>",
             k);
    assert_between(last_timer(), 500, 1000);
    xb_bot_timer(bot);
    xb_bot_timer(bot); /* join timeout */
    assert_between(last_timer(), 1000, 2000);
}
END_TEST

START_TEST(test_bot_jumper_backoff_jitter)
{
    int64_t lo = INT64_MAX, hi = 0, v;
    int i;

    /* Many first errors: the delays spread over [500, 1000]. */
    xb_bot_online(bot, "alice@localhost/bot");
    for (i = 0; i < 200; i++) {
        xb_bot_timer(bot);
        v = last_timer();
        assert_between(v, 500, 1000);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        xb_bot_offline(bot);
        xb_bot_online(bot, "alice@localhost/bot");
    }
    ck_assert_int_lt(lo, 600);
    ck_assert_int_gt(hi, 900);
}
END_TEST

START_TEST(test_bot_jumper_kicked)
{
    unsigned k, k2;
    int sent;

    k = enter_room();
    sent = host.nsent;
    deliverf("<presence xmlns='jabber:client' from='bot_room_%u@" SERVICE
             "/alice' type='unavailable'>"
             "<x xmlns='http://jabber.org/protocol/muc#user'>"
             "<item affiliation='none' role='none'/>"
             "<status code='307'/><status code='110'/></x></presence>",
             k);
    ck_assert_uint_eq(fh_counter(bot, "leaves"), 1);
    ck_assert_uint_eq(fh_counter(bot, "join_errors"), 0);
    ck_assert_int_eq(host.nsent, sent);
    assert_between(last_timer(), 500, 1000);
    /* Messages from the room no longer count. */
    deliverf("<message xmlns='jabber:client' type='groupchat' "
             "from='bot_room_%u@" SERVICE "/bob'><body>bye</body></message>",
             k);
    ck_assert_uint_eq(fh_counter(bot, "groupchat_received"), 0);
    xb_bot_timer(bot);
    k2 = parse_join(last_sent(), NULL, 0);
    ck_assert_uint_ne(k2, k);
}
END_TEST

/* A phrase answered with an error saying the bot is not in the room (the
 * room went down with its cluster node): it joins the same room again
 * after a backoff; other errors leave it where it is. */
START_TEST(test_bot_jumper_room_lost)
{
    static const char *const conds[] = {"not-acceptable", "item-not-found"};
    unsigned k, i;
    int sent;

    k = enter_room();
    for (i = 0; i < 2; i++) {
        xb_bot_timer(bot); /* a phrase */
        assert_phrase(last_sent(), k, 1 + i);
        sent = host.nsent;
        deliverf("<message xmlns='jabber:client' type='error' id='j%u' "
                 "from='bot_room_%u@" SERVICE "' to='alice@localhost/bot'>"
                 "<body>x</body><error type='cancel'><%s "
                 "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
                 "</message>",
                 1 + i, k, conds[i]);
        ck_assert_uint_eq(fh_counter(bot, "rooms_lost"), 1 + i);
        ck_assert_uint_eq(fh_counter(bot, "leaves"), 0);
        ck_assert_int_eq(host.nsent, sent); /* nothing until the backoff */
        assert_between(last_timer(), 500, 1000); /* joined: reset */
        /* What the room sends meanwhile is not heard. */
        deliverf("<message xmlns='jabber:client' type='groupchat' "
                 "from='bot_room_%u@" SERVICE "/bob'><body>hi</body></message>",
                 k);
        ck_assert_uint_eq(fh_counter(bot, "groupchat_received"), 0);
        xb_bot_timer(bot);
        ck_assert_uint_eq(parse_join(last_sent(), NULL, 0), k);
        self_presence(k, "alice");
        ck_assert_uint_eq(fh_counter(bot, "joins"), 2 + i);
    }
    /* No voice, a rate limit, an error from an occupant: still there. */
    xb_bot_timer(bot);
    deliverf("<message xmlns='jabber:client' type='error' from='bot_room_%u@" SERVICE
             "'><error type='auth'><forbidden "
             "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
             k);
    deliverf("<message xmlns='jabber:client' type='error' from='bot_room_%u@" SERVICE
             "/bob'><error type='cancel'><not-acceptable "
             "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
             k);
    deliverf("<message xmlns='jabber:client' type='error' from='bot_room_%u@" SERVICE
             "'><error type='cancel'><not-acceptable "
             "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
             (k + 1) % 10);
    ck_assert_uint_eq(fh_counter(bot, "rooms_lost"), 2);
    assert_between(last_timer(), 100, 200);
}
END_TEST

START_TEST(test_bot_jumper_unavailable_of_others_ignored)
{
    unsigned k;

    k = enter_room();
    /* Someone else leaving, and our own unavailable without 110. */
    deliverf("<presence xmlns='jabber:client' from='bot_room_%u@" SERVICE
             "/bob' type='unavailable'><x "
             "xmlns='http://jabber.org/protocol/muc#user'/></presence>",
             k);
    deliverf("<presence xmlns='jabber:client' from='bot_room_%u@" SERVICE
             "/alice' type='unavailable'/>",
             k);
    ck_assert_uint_eq(fh_counter(bot, "leaves"), 0);
    assert_between(last_timer(), 100, 200);
}
END_TEST

START_TEST(test_bot_jumper_reflected_not_counted)
{
    unsigned k;

    k = enter_room();
    xb_bot_timer(bot);
    /* Our own phrase, reflected by the room. */
    deliverf("<message xmlns='jabber:client' type='groupchat' id='j1' "
             "from='bot_room_%u@" SERVICE "/alice'><body>one</body></message>",
             k);
    ck_assert_uint_eq(fh_counter(bot, "groupchat_received"), 0);
    deliverf("<message xmlns='jabber:client' type='groupchat' "
             "from='bot_room_%u@" SERVICE "/bob'><body>hi</body></message>",
             k);
    ck_assert_uint_eq(fh_counter(bot, "groupchat_received"), 1);
    /* The subject, other rooms, private messages, errors: not counted. */
    deliverf("<message xmlns='jabber:client' type='groupchat' "
             "from='bot_room_%u@" SERVICE "'><subject>s</subject></message>",
             k);
    deliverf("<message xmlns='jabber:client' type='groupchat' "
             "from='bot_room_%u@" SERVICE "/bob'><subject>s</subject>"
             "</message>",
             k);
    deliverf("<message xmlns='jabber:client' type='groupchat' "
             "from='bot_room_%u@" SERVICE "/bob'><body>x</body></message>",
             (k + 1) % 10);
    deliverf("<message xmlns='jabber:client' type='chat' "
             "from='bot_room_%u@" SERVICE "/bob'><body>x</body></message>",
             k);
    deliverf("<message xmlns='jabber:client' type='error' "
             "from='bot_room_%u@" SERVICE "/bob'><body>x</body></message>",
             k);
    deliverf("<message xmlns='jabber:client' type='groupchat' "
             "from='bob@localhost/x'><body>x</body></message>");
    ck_assert_uint_eq(fh_counter(bot, "groupchat_received"), 1);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 9);
    /* And messages before the join completes do not count either. */
}
END_TEST

START_TEST(test_bot_jumper_offline_then_online)
{
    unsigned k;
    int sent;

    k = enter_room();
    xb_bot_timer(bot);
    sent = host.nsent;
    xb_bot_offline(bot);
    ck_assert_int_eq(host.nsent, sent);
    ck_assert_int_eq(last_timer(), -1);
    /* A stale timer and late stanzas do nothing. */
    xb_bot_timer(bot);
    deliverf("<message xmlns='jabber:client' type='groupchat' "
             "from='bot_room_%u@" SERVICE "/bob'><body>hi</body></message>",
             k);
    self_presence(k, "alice");
    ck_assert_int_eq(host.nsent, sent);
    ck_assert_uint_eq(fh_counter(bot, "groupchat_received"), 0);
    ck_assert_uint_eq(fh_counter(bot, "joins"), 1);
    ck_assert_int_eq(last_timer(), -1);

    xb_bot_online(bot, "alice@localhost/bot2");
    ck_assert_int_eq(host.nsent, sent + 1);
    k = parse_join(last_sent(), NULL, 0);
    ck_assert_int_eq(last_timer(), 5000);
    self_presence(k, "alice");
    ck_assert_uint_eq(fh_counter(bot, "joins"), 2);
    /* online again while in a room: no second join. */
    xb_bot_online(bot, "alice@localhost/bot2");
    ck_assert_int_eq(host.nsent, sent + 1);
}
END_TEST

START_TEST(test_bot_jumper_offline_while_backing_off)
{
    xb_bot_online(bot, "alice@localhost/bot");
    xb_bot_timer(bot); /* timeout: backing off */
    xb_bot_offline(bot);
    ck_assert_int_eq(last_timer(), -1);
    xb_bot_timer(bot);
    ck_assert_int_eq(host.nsent, 2); /* join and its withdrawal only */
    xb_bot_online(bot, "alice@localhost/bot");
    parse_join(last_sent(), NULL, 0);
    /* The backoff starts over. */
    xb_bot_timer(bot);
    assert_between(last_timer(), 500, 1000);
}
END_TEST

START_TEST(test_bot_jumper_stop)
{
    unsigned k;

    k = enter_room();
    xb_bot_stop(bot);
    ck_assert_int_eq(host.nsent, 2);
    assert_leave(last_sent(), k, "alice");
    ck_assert_int_eq(last_timer(), -1);
    ck_assert_uint_eq(fh_counter(bot, "leaves"), 1);
    /* A second stop, or a stale timer, sends nothing. */
    xb_bot_stop(bot);
    xb_bot_timer(bot);
    ck_assert_int_eq(host.nsent, 2);
}
END_TEST

START_TEST(test_bot_jumper_stop_while_joining)
{
    unsigned k;

    xb_bot_online(bot, "alice@localhost/bot");
    k = parse_join(last_sent(), NULL, 0);
    xb_bot_stop(bot);
    ck_assert_int_eq(host.nsent, 2);
    assert_leave(last_sent(), k, "alice");
    ck_assert_int_eq(last_timer(), -1);
    ck_assert_uint_eq(fh_counter(bot, "leaves"), 0);
}
END_TEST

START_TEST(test_bot_jumper_stop_idle_or_waiting)
{
    xb_bot_stop(bot);
    ck_assert_int_eq(host.nsent, 0);
    ck_assert_int_eq(last_timer(), -1);
    xb_bot_online(bot, "alice@localhost/bot");
    xb_bot_timer(bot); /* timeout: backing off, not in a room */
    xb_bot_stop(bot);
    ck_assert_int_eq(host.nsent, 2);
    ck_assert_int_eq(last_timer(), -1);
}
END_TEST

START_TEST(test_bot_jumper_single_room)
{
    struct fakehost f;
    struct xb_bot *b;
    struct jcfg c = cfg;
    int i;

    memset(&f, 0, sizeof f);
    c.rooms = 1;
    c.min_phrases = c.max_phrases = 1;
    b = new_jumper(&f, 9, &c);
    ck_assert_ptr_nonnull(b);
    xb_bot_online(b, "alice@localhost/bot");
    for (i = 0; i < 3; i++) {
        ck_assert_uint_eq(parse_join(f.sent[f.nsent - 1], NULL, 0), 0);
        self_presence_to(b, 0, "alice");
        ck_assert_uint_eq(fh_counter(b, "joins"), (uint64_t)i + 1);
        xb_bot_timer(b); /* the only phrase, leave, join the same room */
        ck_assert_int_eq(f.timers[f.ntimers - 1], 5000);
        assert_leave(f.sent[f.nsent - 2], 0, "alice");
        /* The answer to the leave arrives while joining again: it is not
         * a kick. */
        fh_deliver(b,
                   "<presence xmlns='jabber:client' from='bot_room_0@" SERVICE
                   "/alice' type='unavailable'><x "
                   "xmlns='http://jabber.org/protocol/muc#user'><status "
                   "code='110'/></x></presence>");
        ck_assert_int_eq(f.timers[f.ntimers - 1], 5000);
        ck_assert_uint_eq(fh_counter(b, "leaves"), (uint64_t)i + 1);
    }
    /* Errors with one room retry that room. */
    fh_deliver(b, "<presence xmlns='jabber:client' from='bot_room_0@" SERVICE
                  "' type='error'><error type='cancel'><item-not-found "
                  "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
                  "</presence>");
    xb_bot_timer(b);
    ck_assert_uint_eq(parse_join(f.sent[f.nsent - 1], NULL, 0), 0);
    xb_bot_free(b);
    fh_reset(&f);
}
END_TEST

static struct xb_bot *reentrant_bot;

/* The room answers a join from inside send(). */
static void answer_join(struct fakehost *f, const struct xb_stanza *st)
{
    const char *xml = f->sent[f->nsent - 1];
    char nick[64];
    unsigned k;

    if (strncmp(xml, "<presence to=", 13) || strstr(xml, "unavailable"))
        return;
    (void)st;
    k = parse_join(xml, nick, sizeof nick);
    self_presence_to(reentrant_bot, k, nick);
}

START_TEST(test_bot_jumper_reentrant_host)
{
    int i;

    host.reenter = answer_join;
    reentrant_bot = bot;
    xb_bot_online(bot, "alice@localhost/bot");
    ck_assert_uint_eq(fh_counter(bot, "joins"), 1);
    /* The phrase timer, not the join timeout, is armed. */
    assert_between(last_timer(), 100, 200);
    for (i = 0; i < 20; i++) {
        xb_bot_timer(bot);
        assert_between(last_timer(), 100, 200);
    }
    ck_assert_uint_ge(fh_counter(bot, "joins"), 5);
    ck_assert_uint_eq(fh_counter(bot, "joins"), fh_counter(bot, "leaves") + 1);
    ck_assert_uint_eq(fh_counter(bot, "join_errors"), 0);
}
END_TEST

/* Drives a bot through a scripted run: the room accepts every second
 * join, refuses the others. Returns all it sent, joined with newlines. */
static char *script_run(uint64_t seed)
{
    struct fakehost f;
    struct xb_bot *b;
    struct xb_buf out;
    char nick[64];
    int i, joins = 0;
    unsigned k;

    memset(&f, 0, sizeof f);
    b = new_jumper(&f, seed, &cfg);
    ck_assert_ptr_nonnull(b);
    xb_bot_online(b, "alice@localhost/bot");
    for (i = 0; i < 100; i++) {
        const char *last = f.sent[f.nsent - 1];

        if (strstr(last, "<history") && joins++ % 2 == 0) {
            char xml[512];

            k = parse_join(last, nick, sizeof nick);
            snprintf(
                xml, sizeof xml,
                "<presence xmlns='jabber:client' from='bot_room_%u@" SERVICE
                "/%s' type='error'><error type='cancel'><conflict "
                "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
                "</presence>",
                k, nick);
            fh_deliver(b, xml);
        } else if (strstr(last, "<history")) {
            k = parse_join(last, nick, sizeof nick);
            self_presence_to(b, k, nick);
        }
        xb_bot_timer(b);
    }
    xb_buf_init(&out);
    for (i = 0; i < f.nsent; i++) {
        ck_assert_int_eq(xb_buf_puts(&out, f.sent[i]), 0);
        ck_assert_int_eq(xb_buf_puts(&out, "\n"), 0);
    }
    for (i = 0; i < f.ntimers; i++) {
        char t[32];

        snprintf(t, sizeof t, "timer %lld\n", (long long)f.timers[i]);
        ck_assert_int_eq(xb_buf_puts(&out, t), 0);
    }
    ck_assert_uint_gt(fh_counter(b, "joins"), 5);
    ck_assert_uint_gt(fh_counter(b, "join_errors"), 5);
    xb_bot_free(b);
    fh_reset(&f);
    return out.data;
}

START_TEST(test_bot_jumper_reproducible)
{
    char *a = script_run(1234), *b = script_run(1234), *c = script_run(1235);

    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(test_bot_jumper_invalid_configs)
{
    static const char *const bad_phrase[] = {"ok", "\xff"};
    static const char *const null_phrase[] = {"ok", NULL};
    static const char *const bad_services[] = {
        "", "bad service", "user@" SERVICE, SERVICE "/res", SERVICE ".", "a..b",
    };
    struct jcfg c;
    struct fakehost f;
    struct xb_bot_config *bc;
    struct xb_bot *b;
    size_t i;

    memset(&f, 0, sizeof f);
    for (i = 0; i < sizeof bad_services / sizeof bad_services[0]; i++) {
        c = cfg;
        c.muc_service = bad_services[i];
        ck_assert_msg(new_jumper(&f, 1, &c) == NULL, "service '%s' accepted",
                      bad_services[i]);
    }
#define REJECT(field_changes)                                                  \
    do {                                                                       \
        c = cfg;                                                               \
        field_changes;                                                         \
        ck_assert_msg(new_jumper(&f, 1, &c) == NULL, "accepted: %s",           \
                      #field_changes);                                         \
    } while (0)
    REJECT(c.min_phrases = 5; c.max_phrases = 4);
    REJECT(c.min_phrases = 10; c.max_phrases = 0); /* default max 9 */
    REJECT(c.min_interval_ms = 300);
    REJECT(c.backoff_min_ms = 9000);
    REJECT(c.nphrases = 0);
    REJECT(c.phrases = bad_phrase; c.nphrases = 2);
    REJECT(c.phrases = null_phrase; c.nphrases = 2);
    REJECT(c.nick = "");
    REJECT(c.nick = "a\x01"
                    "b");
    REJECT(c.room_prefix = "a@b");
    REJECT(c.room_prefix = "a/b");
    REJECT(c.room_prefix = "a b");
#undef REJECT

    /* No nick and no localpart to take it from: the bot says why. */
    bc = jumper_config(&cfg);
    ck_assert_ptr_null(fh_new(&f, bc, "localhost", 1, 0));
    ck_assert_int_eq(f.nlogs, 1);
    xb_bot_config_free(bc);
    c = cfg;
    c.nick = "j";
    bc = jumper_config(&c);
    b = fh_new(&f, bc, "localhost", 1, 0);
    ck_assert_ptr_nonnull(b);
    xb_bot_free(b);
    xb_bot_config_free(bc);
    /* Limits that are fine: equal bounds, a single room. */
    c = cfg;
    c.min_phrases = c.max_phrases = 3;
    c.min_interval_ms = c.max_interval_ms = 50;
    c.backoff_min_ms = c.backoff_max_ms = 10;
    c.rooms = 1;
    b = new_jumper(&f, 1, &c);
    ck_assert_ptr_nonnull(b);
    xb_bot_free(b);
    ck_assert_int_eq(f.nsent, 0);
    ck_assert_int_eq(f.ntimers, 0);
    fh_reset(&f);
}
END_TEST

START_TEST(test_bot_jumper_stats_add)
{
    const struct xb_bot_kind *k = xb_bot_kind_of(bot);
    uint64_t sum[32] = {0};
    unsigned i, n = xb_bot_ncounters(k);

    enter_room();
    xb_bot_timer(bot);
    ck_assert_uint_le(n, 32);
    xb_bot_counters_add(bot, sum);
    xb_bot_counters_add(bot, sum);
    for (i = 0; i < n; i++)
        ck_assert_uint_eq(sum[i], 2 * xb_bot_counter(bot, i));
    ck_assert_uint_eq(fh_counter(bot, "joins"), 1);
    ck_assert_uint_eq(fh_counter(bot, "groupchat_sent"), 1);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 1);
}
END_TEST

static Suite *bot_jumper_suite(void)
{
    Suite *s = suite_create("bot_jumper");
    TCase *tc = tcase_create("visits");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_jumper_full_visit);
    tcase_add_test(tc, test_bot_jumper_every_room_visited);
    tcase_add_test(tc, test_bot_jumper_unique_ids);
    tcase_add_test(tc, test_bot_jumper_builtin_phrases);
    tcase_add_test(tc, test_bot_jumper_defaults);
    tcase_add_test(tc, test_bot_jumper_own_nick_and_prefix);
    tcase_add_test(tc, test_bot_jumper_reflected_not_counted);
    tcase_add_test(tc, test_bot_jumper_single_room);
    tcase_add_test(tc, test_bot_jumper_reentrant_host);
    tcase_add_test(tc, test_bot_jumper_reproducible);
    tcase_add_test(tc, test_bot_jumper_stats_add);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_jumper_conflict_new_nick);
    tcase_add_test(tc, test_bot_jumper_other_errors_change_room);
    tcase_add_test(tc, test_bot_jumper_error_without_condition);
    tcase_add_test(tc, test_bot_jumper_foreign_errors_ignored);
    tcase_add_test(tc, test_bot_jumper_join_timeout);
    tcase_add_test(tc, test_bot_jumper_backoff_doubles_and_caps);
    tcase_add_test(tc, test_bot_jumper_backoff_jitter);
    tcase_add_test(tc, test_bot_jumper_kicked);
    tcase_add_test(tc, test_bot_jumper_room_lost);
    tcase_add_test(tc, test_bot_jumper_unavailable_of_others_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifecycle");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_jumper_offline_then_online);
    tcase_add_test(tc, test_bot_jumper_offline_while_backing_off);
    tcase_add_test(tc, test_bot_jumper_stop);
    tcase_add_test(tc, test_bot_jumper_stop_while_joining);
    tcase_add_test(tc, test_bot_jumper_stop_idle_or_waiting);
    tcase_add_test(tc, test_bot_jumper_invalid_configs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(bot_jumper_suite());
}
