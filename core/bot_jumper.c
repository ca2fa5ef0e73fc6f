/*
 * The jumper bot, a MUC load generator: joins a random room, says a few
 * random phrases at random intervals, leaves, joins another room, and so
 * on; join errors and timeouts retry after an exponential backoff with
 * jitter. Every wait goes through the host's timer, so it never spins.
 */
#include "bot_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "jid.h"
#include "utf8.h"
#include "xmpp.h"

#define DEFAULT_SERVICE_PREFIX "conference."
/* Nick suffixes after a conflict are drawn from [1, SUFFIX_MAX]. */
#define SUFFIX_MAX 99999
/* Room JIDs are validated to fit (three parts of at most 1023 bytes). */
#define ROOM_JID_MAX (3 * XB_JID_PART_MAX + 16)

static const char *const builtin_phrases[] = {
    "Hello everyone!",
    "How is it going?",
    "Anyone here?",
    "Nice weather today.",
    "I'm just passing through.",
    "Fish & chips, anyone?",
    "What's new?",
    "Good morning!",
    "Good night, all.",
    "Did you see the game last night?",
    "1 < 2 && 3 > 2",
    "She said \"hi\" and left.",
    "Coffee time.",
    "Back in a minute.",
    "That's interesting...",
    "Let's test this room.",
    "<b>not markup</b>",
    "Tea or coffee?",
    "Cheers!",
    "See you around.",
};

static const struct xb_bot_list builtin_list = {
    builtin_phrases, sizeof builtin_phrases / sizeof builtin_phrases[0]};

enum jumper_state {
    J_IDLE,    /* offline or stopped: not in any room */
    J_JOINING, /* join presence sent; the timer is the join timeout */
    J_IN_ROOM, /* joined; the timer is the next phrase */
    J_WAITING  /* backing off; the timer starts the next join */
};

/* How a 'from' relates to the room the bot is joining or in. */
enum from_kind {
    FROM_ELSEWHERE,
    FROM_ROOM,     /* the room's bare JID */
    FROM_SELF,     /* room/our nick */
    FROM_OCCUPANT, /* room/another nick */
};

/* The settings, shared by every jumper of a config. */
struct jumper_config {
    const char *muc;         /* NULL: "conference." + the bot's domain */
    const char *room_prefix; /* rooms are <prefix><K>@<service> */
    const char *nick;        /* NULL: the bot's localpart */
    uint32_t rooms;
    uint32_t phrases[2];  /* per visit, min and max */
    uint32_t interval[2]; /* ms between phrases, min and max */
    uint32_t join_timeout;
    uint32_t backoff[2]; /* ms after a join error: first, and the cap */
    struct xb_bot_list phrase_list; /* empty: the built-in list */
};

#define OPT(field) offsetof(struct jumper_config, field)
static const struct xb_bot_option jumper_options[] = {
    {"muc", "SERVICE", "MUC service (default: conference.<the JID's domain>)",
     XB_OPT_STRING, OPT(muc), 0, 0, NULL, 0, 0, 0},
    {"rooms", "N", "rooms <room-prefix>0 .. N-1", XB_OPT_UINT, OPT(rooms), 10,
     0, NULL, 1, 100000000, 0},
    {"room_prefix", "P", "room name prefix", XB_OPT_STRING, OPT(room_prefix), 0,
     0, "bot_room_", 0, 0, 0},
    {"nick", "NICK", "nickname in rooms (default: the JID's localpart)",
     XB_OPT_STRING, OPT(nick), 0, 0, NULL, 0, 0, 0},
    {"phrases", "A-B", "phrases said per room visit", XB_OPT_UINT_RANGE,
     OPT(phrases), 5, 9, NULL, 1, 1000000, 0},
    {"interval", "A-B", "seconds between phrases (decimals allowed)",
     XB_OPT_SECONDS_RANGE, OPT(interval), 5, 15, NULL, 0.001, 86400, 0},
    {"phrase_list", "FILE",
     "the phrases, one a line (default: a built-in list)", XB_OPT_LIST,
     OPT(phrase_list), 0, 0, NULL, 0, 0, 0},
    {"join_timeout", "S", "seconds to wait for a room to answer a join",
     XB_OPT_SECONDS, OPT(join_timeout), 30, 0, NULL, 0.001, 86400, 0},
    {"backoff", "A-B",
     "seconds to wait after a join error: the first wait, doubling up to "
     "the cap",
     XB_OPT_SECONDS_RANGE, OPT(backoff), 1, 60, NULL, 0.001, 86400, 0},
    {NULL}};

/* A jumper: its settings stay in the shared config; the bot keeps only
 * what changes. */
struct jumper {
    struct xb_bot base;
    const struct jumper_config *cfg;
    uint64_t joins, join_errors, leaves, lost; /* counters */
    uint64_t said, heard;                /* counters */
    uint32_t backoff;                    /* ceiling of the next backoff delay */
    uint32_t room;   /* K of the room joining, in, or to join next */
    uint32_t suffix; /* nick suffix after a conflict; 0: the plain nick */
    uint32_t left;   /* phrases still to say in this visit */
    uint32_t msgs;   /* messages sent, for unique ids */
    unsigned char state;
};

static const struct xb_bot_list *phrases_of(const struct jumper *j)
{
    return j->cfg->phrase_list.n ? &j->cfg->phrase_list : &builtin_list;
}

static const char *nick_of(const struct jumper *j, size_t *len)
{
    if (j->cfg->nick) {
        *len = strlen(j->cfg->nick);
        return j->cfg->nick;
    }
    *len = j->base.local_len;
    return j->base.jid;
}

/* The MUC service as a constant prefix plus a counted string. */
static void service_of(const struct jumper *j, const char **pre,
                       const char **dom, size_t *len)
{
    size_t start;

    if (j->cfg->muc) {
        *pre = "";
        *dom = j->cfg->muc;
        *len = strlen(j->cfg->muc);
        return;
    }
    start = j->base.local_len ? (size_t)j->base.local_len + 1 : 0;
    *pre = DEFAULT_SERVICE_PREFIX;
    *dom = j->base.jid + start;
    *len = j->base.bare_len - start;
}

/*
 * Writes the JID of room k into buf: bare, or with our nick (and its
 * suffix s, if not 0). Returns 0, or XB_ETOOBIG if it does not fit (the
 * config check makes sure it does).
 */
static int format_room(const struct jumper *j, uint32_t k, int with_nick,
                       uint32_t s, char *buf, size_t size)
{
    const char *pre, *dom, *nick;
    size_t dlen, nlen, n;
    int rc;

    service_of(j, &pre, &dom, &dlen);
    rc = snprintf(buf, size, "%s%" PRIu32 "@%s%.*s", j->cfg->room_prefix, k,
                  pre, (int)dlen, dom);
    if (rc < 0 || (size_t)rc >= size)
        return XB_ETOOBIG;
    n = (size_t)rc;
    if (!with_nick)
        return 0;
    nick = nick_of(j, &nlen);
    rc = s ? snprintf(buf + n, size - n, "/%.*s_%" PRIu32, (int)nlen, nick, s)
           : snprintf(buf + n, size - n, "/%.*s", (int)nlen, nick);
    return rc < 0 || (size_t)rc >= size - n ? XB_ETOOBIG : 0;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Skips p at the start of s ignoring ASCII case (the server sends room
 * JIDs normalized; the config check allows no other difference). Returns
 * the rest of s, or NULL if s does not start with p. */
static const char *skip_ci(const char *s, const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (ascii_lower(s[i]) != ascii_lower(p[i]))
            return NULL;
    return s + i;
}

/* Skips the decimal digits of v at the start of s, or returns NULL.
 * (By hand: this runs for every stanza a room sends the bot.) */
static const char *skip_num(const char *s, uint32_t v)
{
    char num[10];
    size_t n = 0;

    do
        num[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        if (*s++ != num[--n])
            return NULL;
    return s;
}

/* Compares by hand rather than building the room JID: this runs for
 * every groupchat message the room fans out. */
static enum from_kind classify(const struct jumper *j, const char *from)
{
    const char *s = from, *pre, *dom, *nick;
    size_t dlen, nlen;

    if (!s ||
        !(s = skip_ci(s, j->cfg->room_prefix, strlen(j->cfg->room_prefix))) ||
        !(s = skip_num(s, j->room)) || *s++ != '@')
        return FROM_ELSEWHERE;
    service_of(j, &pre, &dom, &dlen);
    if (!(s = skip_ci(s, pre, strlen(pre))) || !(s = skip_ci(s, dom, dlen)))
        return FROM_ELSEWHERE;
    if (*s == '\0')
        return FROM_ROOM;
    if (*s++ != '/')
        return FROM_ELSEWHERE;
    nick = nick_of(j, &nlen);
    if (strncmp(s, nick, nlen))
        return FROM_OCCUPANT;
    s += nlen;
    if (j->suffix && (*s++ != '_' || !(s = skip_num(s, j->suffix))))
        return FROM_OCCUPANT;
    return *s ? FROM_OCCUPANT : FROM_SELF;
}

/* A room other than the current one, when there is another. */
static uint32_t other_room(struct jumper *j)
{
    uint32_t k;

    if (j->cfg->rooms < 2)
        return 0;
    k = xb_rand_range(&j->base.rng, 0, j->cfg->rooms - 2);
    return k >= j->room ? k + 1 : k;
}

/* The next backoff delay: jittered in [ceiling/2, ceiling], and the
 * ceiling doubles up to the cap for the next error. */
static uint32_t backoff_delay(struct jumper *j)
{
    uint32_t ceil = j->backoff;
    uint32_t d = xb_rand_range(&j->base.rng, ceil / 2, ceil);

    j->backoff = ceil > j->cfg->backoff[1] / 2 ? j->cfg->backoff[1] : ceil * 2;
    return d ? d : 1;
}

/* <presence to='room/nick' type='unavailable'/>, or NULL on OOM. */
static struct xb_stanza *leave_presence(const struct jumper *j)
{
    char to[ROOM_JID_MAX];
    struct xb_stanza *p;

    if (format_room(j, j->room, 1, j->suffix, to, sizeof to))
        return NULL;
    p = xb_stanza_new(XB_NS_CLIENT, "presence");
    if (p && (xb_stanza_set_attr(p, NULL, "to", to) ||
              xb_stanza_set_attr(p, NULL, "type", "unavailable"))) {
        xb_stanza_free(p);
        return NULL;
    }
    return p;
}

/*
 * Enters J_JOINING for the current room and nick and arms the join
 * timeout. Returns the join presence for the caller to send last: the
 * state is settled first because a host may deliver the room's answer
 * from inside send(). NULL on OOM (the timeout then retries).
 */
static struct xb_stanza *begin_join(struct jumper *j)
{
    char to[ROOM_JID_MAX];
    struct xb_stanza *p, *x, *h;

    j->state = J_JOINING;
    xb_bot_arm(&j->base, j->cfg->join_timeout);
    if (format_room(j, j->room, 1, j->suffix, to, sizeof to))
        return NULL;
    p = xb_stanza_new(XB_NS_CLIENT, "presence");
    if (!p)
        return NULL;
    /* maxchars='0': a joining bot needs no history, and a room full of
     * bots would otherwise replay it on every join. */
    if (xb_stanza_set_attr(p, NULL, "to", to) ||
        !(x = xb_stanza_add_child(p, XB_NS_MUC, "x")) ||
        !(h = xb_stanza_add_child(x, NULL, "history")) ||
        xb_stanza_set_attr(h, NULL, "maxchars", "0")) {
        xb_stanza_free(p);
        return NULL;
    }
    return p;
}

/* The next phrase as a groupchat message to the room, or NULL on OOM. */
static struct xb_stanza *phrase_message(struct jumper *j)
{
    char to[ROOM_JID_MAX], id[16];
    const char *phrase;
    struct xb_stanza *m, *body;

    phrase =
        phrases_of(j)->v[xb_rand_range(&j->base.rng, 0, phrases_of(j)->n - 1)];
    snprintf(id, sizeof id, "j%" PRIu32, ++j->msgs);
    if (format_room(j, j->room, 0, 0, to, sizeof to))
        return NULL;
    m = xb_stanza_new(XB_NS_CLIENT, "message");
    if (!m)
        return NULL;
    if (xb_stanza_set_attr(m, NULL, "to", to) ||
        xb_stanza_set_attr(m, NULL, "type", "groupchat") ||
        xb_stanza_set_attr(m, NULL, "id", id) ||
        !(body = xb_stanza_add_child(m, NULL, "body")) ||
        xb_stanza_add_text(body, phrase, strlen(phrase))) {
        xb_stanza_free(m);
        return NULL;
    }
    return m;
}

/* Waits out a backoff before joining room j->room (nick j->suffix). */
static void wait_backoff(struct jumper *j)
{
    j->state = J_WAITING;
    xb_bot_arm(&j->base, backoff_delay(j));
}

/* A join attempt failed with condition cond. */
static void join_failed(struct jumper *j, const char *cond)
{
    char room[ROOM_JID_MAX];

    j->join_errors++;
    if (format_room(j, j->room, 1, j->suffix, room, sizeof room))
        room[0] = '\0';
    xb_bot_logf(&j->base, XB_LOG_WARN, "%s: cannot join %s: %s", j->base.jid,
                room, cond);
    if (!strcmp(cond, "conflict")) {
        /* Someone holds the nick: same room, another nick. */
        uint32_t old = j->suffix;

        do
            j->suffix = xb_rand_range(&j->base.rng, 1, SUFFIX_MAX);
        while (j->suffix == old);
    } else {
        j->room = other_room(j);
        j->suffix = 0;
    }
    wait_backoff(j);
}

static void jumper_online(struct xb_bot *b)
{
    struct jumper *j = (struct jumper *)b;

    if (j->state != J_IDLE)
        return; /* already joining or in a room */
    j->room = xb_rand_range(&b->rng, 0, j->cfg->rooms - 1);
    j->suffix = 0;
    xb_bot_send(b, begin_join(j));
}

/* The defined condition of an error stanza (RFC 6120 8.3.3). */
static const char *error_condition(const struct xb_stanza *st)
{
    const struct xb_stanza *e, *c;

    e = xb_stanza_child(st, xb_stanza_ns(st), "error");
    for (c = e ? xb_stanza_child(e, XB_NS_STANZA_ERRORS, NULL) : NULL; c;
         c = xb_stanza_next_child(c, XB_NS_STANZA_ERRORS, NULL))
        if (strcmp(xb_stanza_name(c), "text"))
            return xb_stanza_name(c);
    return "undefined-condition";
}

static void joined(struct jumper *j)
{
    j->joins++;
    j->backoff = j->cfg->backoff[0];
    j->state = J_IN_ROOM;
    j->left =
        xb_rand_range(&j->base.rng, j->cfg->phrases[0], j->cfg->phrases[1]);
    xb_bot_arm(&j->base, xb_rand_range(&j->base.rng, j->cfg->interval[0],
                                       j->cfg->interval[1]));
}

static void on_presence(struct jumper *j, const struct xb_stanza *st,
                        enum from_kind from)
{
    const char *type = xb_stanza_attr(st, NULL, "type");
    char room[ROOM_JID_MAX];

    if (j->state == J_JOINING && type && !strcmp(type, "error") &&
        (from == FROM_ROOM || from == FROM_SELF)) {
        join_failed(j, error_condition(st));
        return;
    }
    if (from != FROM_SELF || !xb_muc_is_self_presence(st))
        return;
    if (!type && j->state == J_JOINING) {
        joined(j);
    } else if (type && !strcmp(type, "unavailable") && j->state == J_IN_ROOM) {
        /* Kicked, banned, or the room was destroyed. (While joining, this
         * is the answer to leaving the same room a moment ago.) */
        j->leaves++;
        if (format_room(j, j->room, 0, 0, room, sizeof room))
            room[0] = '\0';
        xb_bot_logf(&j->base, XB_LOG_INFO, "%s: removed from %s", j->base.jid,
                    room);
        j->room = other_room(j);
        j->suffix = 0;
        wait_backoff(j);
    }
}

/*
 * A message error from the room while the bot is in it. not-acceptable
 * (XEP-0045 7.4: only occupants may speak) and item-not-found (no such
 * room) mean the room no longer counts the bot among its occupants: the
 * room went down with its server (a cluster node, say) or lost the bot
 * without telling it. The bot joins the same room again after a backoff
 * (the first join recreates it). Other errors (no voice, a rate limit)
 * leave it where it is.
 */
static void on_message_error(struct jumper *j, const struct xb_stanza *st)
{
    const char *cond = error_condition(st);
    char room[ROOM_JID_MAX];

    if (strcmp(cond, "not-acceptable") && strcmp(cond, "item-not-found"))
        return;
    j->lost++;
    if (format_room(j, j->room, 0, 0, room, sizeof room))
        room[0] = '\0';
    xb_bot_logf(&j->base, XB_LOG_INFO, "%s: no longer in %s (%s): joining again",
                j->base.jid, room, cond);
    j->suffix = 0;
    wait_backoff(j);
}

static void jumper_stanza(struct xb_bot *b, const struct xb_stanza *st)
{
    struct jumper *j = (struct jumper *)b;
    const char *ns = xb_stanza_ns(st), *type;
    enum from_kind from;

    if ((j->state != J_JOINING && j->state != J_IN_ROOM) ||
        (strcmp(ns, XB_NS_CLIENT) && ns[0]))
        return;
    from = classify(j, xb_stanza_attr(st, NULL, "from"));
    if (from == FROM_ELSEWHERE)
        return;
    if (xb_stanza_is(st, NULL, "presence")) {
        on_presence(j, st, from);
        return;
    }
    type = xb_stanza_attr(st, NULL, "type");
    if (xb_stanza_is(st, NULL, "message") && j->state == J_IN_ROOM && type &&
        !strcmp(type, "error") && (from == FROM_ROOM || from == FROM_SELF)) {
        on_message_error(j, st);
        return;
    }
    /* Our own phrases come back from room/our nick: not counted. */
    if (xb_stanza_is(st, NULL, "message") && j->state == J_IN_ROOM &&
        from == FROM_OCCUPANT && type && !strcmp(type, "groupchat") &&
        xb_stanza_child(st, ns, "body"))
        j->heard++;
}

/* Says the next phrase; after the visit's last one, leaves for another
 * room at once. */
static void say(struct jumper *j)
{
    struct xb_stanza *msg = phrase_message(j), *leave = NULL, *join = NULL;
    int moving = --j->left == 0;

    if (!moving) {
        xb_bot_arm(&j->base, xb_rand_range(&j->base.rng, j->cfg->interval[0],
                                           j->cfg->interval[1]));
    } else {
        leave = leave_presence(j);
        j->leaves++;
        j->room = other_room(j);
        j->suffix = 0;
        join = begin_join(j);
    }
    if (xb_bot_send(&j->base, msg) == 0)
        j->said++;
    if (moving) {
        xb_bot_send(&j->base, leave);
        xb_bot_send(&j->base, join);
    }
}

static void jumper_timer(struct xb_bot *b)
{
    struct jumper *j = (struct jumper *)b;
    struct xb_stanza *leave;

    switch (j->state) {
    case J_JOINING:
        /* Leave explicitly, in case the join still goes through later:
         * else the bot would haunt that room. */
        leave = leave_presence(j);
        join_failed(j, "timeout");
        xb_bot_send(b, leave);
        break;
    case J_IN_ROOM:
        say(j);
        break;
    case J_WAITING:
        xb_bot_send(b, begin_join(j));
        break;
    default:
        break; /* a stale timer */
    }
}

static void jumper_offline(struct xb_bot *b)
{
    struct jumper *j = (struct jumper *)b;

    j->state = J_IDLE;
    j->suffix = 0;
    j->left = 0;
    j->backoff = j->cfg->backoff[0];
}

static void jumper_stop(struct xb_bot *b)
{
    struct jumper *j = (struct jumper *)b;
    int active = j->state == J_IN_ROOM || j->state == J_JOINING;
    struct xb_stanza *leave = active ? leave_presence(j) : NULL;

    if (j->state == J_IN_ROOM)
        j->leaves++;
    jumper_offline(b);
    if (active)
        xb_bot_send(b, leave);
}

/* Does built parse as room@service/nick (its bare part being the first
 * bare_len bytes), normalized to the same string up to ASCII case in the
 * bare part? Only then can classify() compare 'from' by hand. */
static int normalized_alike(const char *built, size_t bare_len)
{
    struct xb_jid jid;
    size_t n = strlen(built);
    int ok;

    if (xb_jid_parse(&jid, built, n, NULL))
        return 0;
    ok = jid.local && jid.resource && strlen(jid.bare) == bare_len &&
         strlen(jid.full) == n && skip_ci(jid.full, built, n) != NULL &&
         !strcmp(jid.resource, built + bare_len + 1);
    xb_jid_clear(&jid);
    return ok;
}

/* Checks the room JIDs the bot will use: the longest, with and without a
 * nick suffix (shorter room numbers are then fine too). */
static int check_rooms(const struct jumper *j)
{
    char jid[ROOM_JID_MAX];
    size_t bare_len;

    if (format_room(j, j->cfg->rooms - 1, 0, 0, jid, sizeof jid))
        return XB_EINVAL;
    bare_len = strlen(jid);
    if (format_room(j, j->cfg->rooms - 1, 1, 0, jid, sizeof jid) ||
        !normalized_alike(jid, bare_len) ||
        format_room(j, j->cfg->rooms - 1, 1, SUFFIX_MAX, jid, sizeof jid) ||
        !normalized_alike(jid, bare_len))
        return XB_EINVAL;
    return 0;
}

/* Validates the settings shared by all jumpers of a config: the MUC
 * service, and room JIDs made with a stand-in account (each bot checks
 * its own when it is made, since the defaults derive from its JID). */
static int jumper_check(const void *cfg, char *err, size_t errlen)
{
    static char probe_jid[] = "probe@example.org";
    const struct jumper_config *c = cfg;
    struct jumper probe;
    struct xb_jid svc;
    int ok = 1;

    if (c->muc) {
        ok = xb_jid_parse(&svc, c->muc, strlen(c->muc), NULL) == 0;
        if (ok) {
            ok = !svc.local && !svc.resource;
            xb_jid_clear(&svc);
        }
        if (!ok) {
            snprintf(err, errlen, "muc '%.100s' is not a MUC service domain",
                     c->muc);
            return XB_EINVAL;
        }
    }
    memset(&probe, 0, sizeof probe);
    probe.cfg = c;
    probe.base.jid = probe_jid;
    probe.base.bare_len = (uint16_t)strlen(probe_jid);
    probe.base.local_len = 5;
    if (check_rooms(&probe)) {
        snprintf(err, errlen,
                 "room_prefix '%.100s' and nick do not make "
                 "valid (lowercase, prepared) room JIDs",
                 c->room_prefix);
        return XB_EINVAL;
    }
    return 0;
}

static int jumper_init(struct xb_bot *b, const void *cfg)
{
    struct jumper *j = (struct jumper *)b;

    j->cfg = cfg;
    j->backoff = j->cfg->backoff[0];
    if (!j->cfg->nick && !b->local_len) {
        xb_bot_logf(b, XB_LOG_ERROR,
                    "%s: a jumper needs a JID with a "
                    "localpart, or a nick",
                    b->jid);
        return XB_EINVAL;
    }
    if (check_rooms(j)) {
        xb_bot_logf(b, XB_LOG_ERROR, "%s: its room JIDs would not be valid",
                    b->jid);
        return XB_EINVAL;
    }
    return 0;
}

static const char *jumper_state(const struct xb_bot *b, char *buf, size_t size)
{
    static const char *const names[] = {"offline", "joining", "in-room",
                                        "waiting"};
    const struct jumper *j = (const struct jumper *)b;

    if (j->state == J_IDLE)
        return b->online ? "online" : "offline";
    if (format_room(j, j->room, 0, 0, buf, size))
        buf[0] = '\0';
    return names[j->state];
}

/* Post-resume: still where it was (the server kept its presence in the
 * room), so no rejoin and no presence; its timer never stopped. */
static void jumper_resumed(struct xb_bot *b)
{
    char where[ROOM_JID_MAX];

    xb_bot_logf(b, XB_LOG_DEBUG, "%s: stream resumed, still %s %s", b->jid,
                jumper_state(b, where, sizeof where), where);
}

#define COUNT(field) offsetof(struct jumper, field)
static const struct xb_bot_counter jumper_counters[] = {
    {"joins", "rooms joined", "rooms joined (the room's self-presence seen)",
     COUNT(joins)},
    {"join_errors", "join errors",
     "join attempts refused by the room or timed out", COUNT(join_errors)},
    {"leaves", "rooms left",
     "rooms left, by moving on, stopping, or being removed", COUNT(leaves)},
    {"rooms_lost", "rooms lost",
     "rooms that answered a phrase with an error saying the bot was not in "
     "them (not-acceptable, item-not-found: the room went down with its "
     "server, say); the bot joins again",
     COUNT(lost)},
    {"groupchat_sent", "phrases said", "groupchat messages sent to rooms",
     COUNT(said)},
    {"groupchat_received", "phrases heard",
     "groupchat messages with a body from other occupants of its room",
     COUNT(heard)},
    {NULL}};

const struct xb_bot_kind xb_bot_jumper = {
    .name = "jumper",
    .summary = "hops between MUC rooms saying random phrases (MUC load)",
    .size = sizeof(struct jumper),
    .config_size = sizeof(struct jumper_config),
    .options = jumper_options,
    .counters = jumper_counters,
    /* Started all in one tick, thousands of jumpers would join, talk and
     * leave their rooms in lockstep. */
    .start_rate = 500,
    .check = jumper_check,
    .init = jumper_init,
    .online = jumper_online,
    .stanza = jumper_stanza,
    .timer = jumper_timer,
    .offline = jumper_offline,
    .resumed = jumper_resumed,
    .stop = jumper_stop,
    .state = jumper_state,
    /* on_presence() reads only the self-presence and errors. */
    .flags = XB_KIND_OWN_ROOM_PRESENCE,
};
