/*
 * The Lua side of the in-server bots: a pool (the bot host: Lua callbacks
 * for send and log, one timer heap for all its bots, counters), shared
 * jumper configurations, and bot userdata wrapping the core's bots. The
 * core's hooks re-enter Lua only through protected calls, so no Lua error
 * ever unwinds through the core.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bot.h"
#include "bridge.h"
#include "buf.h"
#include "error.h"
#include "parser.h"
#include "rand.h"
#include "serialize.h"
#include "stanza.h"
#include "xmpp.h"

#define POOL_MT "xmppbots.pool"
#define BOT_MT "xmppbots.bot"
#define CONFIG_MT "xmppbots.config"
#define BOX_MT "xmppbots.box"

#define XBL_EXPORT __attribute__((visibility("default")))

/* User values of a pool: the callbacks, the bots by slot (anchoring them
 * while the heap points at them), and the configs in use. */
enum {
    UV_SEND = 1,
    UV_LOG,
    UV_WAKE,
    UV_BOTS,
    UV_ANCHORS,
    POOL_NUV = UV_ANCHORS
};
/* User values of a bot: its pool, and the host's data (the session). */
enum { BUV_POOL = 1, BUV_DATA, BOT_NUV = BUV_DATA };

#define NOT_IN_HEAP UINT32_MAX
#define NO_ROOM UINT32_MAX

/* What a bot is doing, as far as the host can tell from its traffic. */
enum bot_state {
    S_OFFLINE,
    S_ONLINE, /* echo */
    S_JOINING,
    S_IN_ROOM,
    S_WAITING, /* backing off after a join error or a kick */
    S_STOPPED
};
static const char *const state_names[] = {"offline", "online",  "joining",
                                          "in-room", "waiting", "stopped"};

struct lbot;

struct pool {
    struct xb_bot_host host;
    /* The entry point running now (a bot method or tick): the state and
     * the stack slots of the pool and bot userdata, for the hooks. */
    lua_State *L;
    int pool_idx, bot_idx;
    struct lbot **heap; /* min-heap on deadline */
    uint32_t nheap, heap_cap;
    uint32_t nslots; /* slots 1..nslots of the bots table in use or free */
    uint32_t *free_slots;
    uint32_t nfree, free_cap;
    uint32_t nbots, nonline;
    int64_t wake_at; /* when tick() runs next; INT64_MAX: not scheduled */
    int in_tick, closed;
    struct xb_bot_stats retired; /* counters of closed bots */
    uint64_t errors, iqs, refused;
    struct xb_stanza *scratch; /* a tree under conversion */
};

struct lbot {
    struct xb_bot *bot; /* NULL once closed */
    struct pool *pool;
    int64_t deadline; /* monotonic ms; meaningful while in the heap */
    uint32_t heap_pos;
    uint32_t slot;
    uint32_t room; /* room number last joined, NO_ROOM if none */
    unsigned char kind, state, online, busy, join_sent, close_pending;
};

struct config {
    struct xb_jumper_config cfg;
    char *mem; /* the strings and the phrase pointers, one allocation */
};

/* What a bridge function must free if a Lua call raises. */
struct box {
    struct xb_stanza *scratch;
    struct xb_buf buf;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the timer heap -------------------------------------------------- */

static void heap_set(struct pool *p, uint32_t i, struct lbot *b)
{
    p->heap[i] = b;
    b->heap_pos = i;
}

static void heap_up(struct pool *p, uint32_t i)
{
    struct lbot *b = p->heap[i];

    while (i > 0) {
        uint32_t up = (i - 1) / 2;

        if (p->heap[up]->deadline <= b->deadline)
            break;
        heap_set(p, i, p->heap[up]);
        i = up;
    }
    heap_set(p, i, b);
}

static void heap_down(struct pool *p, uint32_t i)
{
    struct lbot *b = p->heap[i];

    for (;;) {
        uint32_t c = 2 * i + 1;

        if (c >= p->nheap)
            break;
        if (c + 1 < p->nheap && p->heap[c + 1]->deadline < p->heap[c]->deadline)
            c++;
        if (b->deadline <= p->heap[c]->deadline)
            break;
        heap_set(p, i, p->heap[c]);
        i = c;
    }
    heap_set(p, i, b);
}

static void heap_remove(struct pool *p, struct lbot *b)
{
    uint32_t i = b->heap_pos;
    struct lbot *last;

    if (i == NOT_IN_HEAP)
        return;
    b->heap_pos = NOT_IN_HEAP;
    last = p->heap[--p->nheap];
    if (i == p->nheap)
        return;
    heap_set(p, i, last);
    heap_up(p, i);
    heap_down(p, last->heap_pos);
}

static int heap_insert(struct pool *p, struct lbot *b)
{
    if (p->nheap == p->heap_cap) {
        uint32_t cap = p->heap_cap ? p->heap_cap * 2 : 64;
        struct lbot **h = realloc(p->heap, cap * sizeof *h);

        if (!h)
            return XB_ENOMEM;
        p->heap = h;
        p->heap_cap = cap;
    }
    heap_set(p, p->nheap++, b);
    heap_up(p, b->heap_pos);
    return 0;
}

/* --- calling back into Lua --------------------------------------------
 * Every hook reaches Lua through lua_pcall of a trampoline that receives
 * the pool, the bot and light userdata; pushing those allocates nothing,
 * so a raise cannot happen outside the protected call. */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* log(data, level, message) */
static int log_tramp(lua_State *L)
{
    const char *msg = lua_touserdata(L, 4);

    lua_getiuservalue(L, 1, UV_LOG);
    if (lua_isnil(L, -1))
        return 0;
    if (lua_isnil(L, 2))
        lua_pushnil(L);
    else
        lua_getiuservalue(L, 2, BUV_DATA);
    lua_pushstring(L, level_names[lua_tointeger(L, 3)]);
    lua_pushstring(L, msg);
    lua_call(L, 3, 0);
    return 0;
}

/* Logs msg through the pool's log callback; with_bot: the bot userdata
 * is at p->bot_idx (else data is nil). Failures are only counted. */
static void pool_log(struct pool *p, int with_bot, enum xb_log_level level,
                     const char *msg)
{
    lua_State *L = p->L;

    if (!L || !lua_checkstack(L, 8))
        return;
    lua_pushcfunction(L, log_tramp);
    lua_pushvalue(L, p->pool_idx);
    if (with_bot)
        lua_pushvalue(L, p->bot_idx);
    else
        lua_pushnil(L);
    lua_pushinteger(L, level);
    lua_pushlightuserdata(L, (void *)msg);
    if (lua_pcall(L, 4, 0, 0) != LUA_OK) {
        p->errors++;
        lua_pop(L, 1);
    }
}

/* A Lua callback failed: count it and log the error it raised (on top of
 * the stack, popped here). */
static void callback_failed(struct pool *p, const char *what)
{
    lua_State *L = p->L;
    const char *err = lua_tostring(L, -1);
    char line[400];

    p->errors++;
    snprintf(line, sizeof line, "%s callback failed: %.300s", what,
             err ? err : "(error object is not a string)");
    lua_pop(L, 1);
    pool_log(p, 1, XB_LOG_ERROR, line);
}

/* send(data, stanza) */
static int send_tramp(lua_State *L)
{
    const struct xb_stanza *st = lua_touserdata(L, 3);

    lua_getiuservalue(L, 1, UV_SEND);
    lua_getiuservalue(L, 2, BUV_DATA);
    xbl_bridge_push(L, st);
    lua_call(L, 2, 0);
    return 0;
}

/* Reads a decimal room number just before the '@' of a room JID. */
static uint32_t room_number(const char *to)
{
    const char *at = to ? strchr(to, '@') : NULL, *s;
    uint32_t n = 0;

    if (!at || at == to || at[-1] < '0' || at[-1] > '9')
        return NO_ROOM;
    for (s = at; s > to && s[-1] >= '0' && s[-1] <= '9';)
        s--;
    for (; s < at; s++)
        n = n * 10 + (uint32_t)(*s - '0');
    return n;
}

/* Notes what a jumper's presences say about its state. */
static void track_presence(struct lbot *b, const struct xb_stanza *st)
{
    const char *type;

    if (!xb_stanza_is(st, NULL, "presence"))
        return;
    type = xb_stanza_attr(st, NULL, "type");
    if (!type) {
        b->join_sent = 1;
        b->room = room_number(xb_stanza_attr(st, NULL, "to"));
    }
}

static int h_send(void *ud, struct xb_stanza *st)
{
    struct lbot *b = ud;
    struct pool *p = b->pool;
    lua_State *L = p->L;
    int rc = 0;

    if (!L || !b->bot) {
        xb_stanza_free(st);
        return XB_ECLOSED;
    }
    track_presence(b, st);
    if (!lua_checkstack(L, 8)) {
        xb_stanza_free(st);
        p->errors++;
        return XB_ENOMEM;
    }
    lua_pushcfunction(L, send_tramp);
    lua_pushvalue(L, p->pool_idx);
    lua_pushvalue(L, p->bot_idx);
    lua_pushlightuserdata(L, st);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        callback_failed(p, "send");
        rc = XB_ECLOSED;
    }
    xb_stanza_free(st);
    return rc;
}

/* wake(seconds) */
static int wake_tramp(lua_State *L)
{
    lua_getiuservalue(L, 1, UV_WAKE);
    if (lua_isnil(L, -1))
        return 0;
    lua_pushvalue(L, 2);
    lua_call(L, 1, 0);
    return 0;
}

static void h_set_timer(void *ud, int64_t ms)
{
    struct lbot *b = ud;
    struct pool *p = b->pool;
    lua_State *L = p->L;

    heap_remove(p, b);
    if (ms < 0 || !b->bot)
        return;
    b->deadline = now_ms() + ms;
    if (heap_insert(p, b)) {
        p->errors++;
        pool_log(p, 1, XB_LOG_ERROR, "out of memory arming a bot timer");
        return;
    }
    /* Inside tick() the next wake-up is computed on the way out. */
    if (p->in_tick || b->deadline >= p->wake_at || !L || !lua_checkstack(L, 4))
        return;
    p->wake_at = b->deadline;
    lua_pushcfunction(L, wake_tramp);
    lua_pushvalue(L, p->pool_idx);
    lua_pushnumber(L, (double)ms / 1000.0);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        p->wake_at = INT64_MAX;
        callback_failed(p, "wake");
    }
}

static void h_log(void *ud, enum xb_log_level level, const char *msg)
{
    struct lbot *b = ud;

    pool_log(b->pool, 1, level, msg);
}

/* --- entry points ------------------------------------------------------ */

struct saved {
    lua_State *L;
    int pool_idx, bot_idx;
};

static void enter(struct pool *p, lua_State *L, int pool_idx, int bot_idx,
                  struct saved *s)
{
    s->L = p->L;
    s->pool_idx = p->pool_idx;
    s->bot_idx = p->bot_idx;
    p->L = L;
    p->pool_idx = pool_idx;
    p->bot_idx = bot_idx;
}

static void leave(struct pool *p, const struct saved *s)
{
    p->L = s->L;
    p->pool_idx = s->pool_idx;
    p->bot_idx = s->bot_idx;
}

/* Counters before a call into the bot, to tell its state afterwards. */
struct before {
    uint64_t joins, join_errors, leaves;
};

static void begin_call(struct lbot *b, struct before *bf)
{
    const struct xb_bot_stats *s = xb_bot_stats(b->bot);

    bf->joins = s->joins;
    bf->join_errors = s->join_errors;
    bf->leaves = s->leaves;
    b->join_sent = 0;
    b->busy++;
}

static void free_bot(lua_State *L, struct lbot *b, int release_slot);

static void end_call(lua_State *L, struct lbot *b, const struct before *bf)
{
    const struct xb_bot_stats *s = xb_bot_stats(b->bot);

    b->busy--;
    if (b->kind == XB_BOT_JUMPER && b->state != S_OFFLINE &&
        b->state != S_STOPPED) {
        if (b->join_sent)
            b->state = S_JOINING;
        else if (s->join_errors > bf->join_errors)
            b->state = S_WAITING;
        else if (s->joins > bf->joins)
            b->state = S_IN_ROOM;
        else if (s->leaves > bf->leaves)
            b->state = S_WAITING;
    }
    if (!b->busy && b->close_pending)
        free_bot(L, b, 1);
}

/* --- bots -------------------------------------------------------------- */

static struct lbot *check_bot(lua_State *L)
{
    return luaL_checkudata(L, 1, BOT_MT);
}

/* The bot at index 1 if it is not closed; else pushes nil, "closed". */
static struct lbot *live_bot(lua_State *L)
{
    struct lbot *b = check_bot(L);

    if (b->bot && !b->close_pending)
        return b;
    lua_pushnil(L);
    lua_pushliteral(L, "bot is closed");
    return NULL;
}

/* Sets up the stack for hooks: the pool userdata goes to index top+1. */
static int push_pool_of(lua_State *L, int bot_idx)
{
    lua_getiuservalue(L, bot_idx, BUV_POOL);
    return lua_gettop(L);
}

static void set_online(struct lbot *b, int online)
{
    if (online && !b->online)
        b->pool->nonline++;
    else if (!online && b->online)
        b->pool->nonline--;
    b->online = (unsigned char)online;
}

/* bot:online(full_jid) -> true | nil, err */
static int Lbot_online(lua_State *L)
{
    struct lbot *b = live_bot(L);
    const char *jid = luaL_optstring(L, 2, NULL);
    struct saved sv;
    struct before bf;

    if (!b)
        return 2;
    lua_settop(L, 2);
    enter(b->pool, L, push_pool_of(L, 1), 1, &sv);
    set_online(b, 1);
    b->state = b->kind == XB_BOT_ECHO ? S_ONLINE : S_JOINING;
    begin_call(b, &bf);
    xb_bot_online(b->bot, jid);
    end_call(L, b, &bf);
    leave(b->pool, &sv);
    lua_pushboolean(L, 1);
    return 1;
}

/* Answers an IQ get or set the way a client library does: ping gets a
 * result, anything else service-unavailable (the bots implement no IQ). */
static void answer_iq(struct lbot *b, const struct xb_stanza *iq)
{
    const char *from = xb_stanza_attr(iq, NULL, "from");
    const char *id = xb_stanza_attr(iq, NULL, "id");
    const struct xb_stanza *payload = xb_stanza_child(iq, NULL, NULL);
    struct xb_stanza *r = xb_stanza_new(XB_NS_CLIENT, "iq"), *e;
    int ping = payload && xb_stanza_is(payload, XB_NS_PING, "ping");

    b->pool->iqs++;
    if (!r || xb_stanza_set_attr(r, NULL, "type", ping ? "result" : "error") ||
        (from && xb_stanza_set_attr(r, NULL, "to", from)) ||
        (id && xb_stanza_set_attr(r, NULL, "id", id)))
        goto oom;
    if (!ping) {
        e = xb_stanza_add_child(r, NULL, "error");
        if (!e || xb_stanza_set_attr(e, NULL, "type", "cancel") ||
            !xb_stanza_add_child(e, XB_NS_STANZA_ERRORS, "service-unavailable"))
            goto oom;
    }
    h_send(b, r);
    return;
oom:
    xb_stanza_free(r);
    b->pool->errors++;
    pool_log(b->pool, 1, XB_LOG_ERROR, "out of memory answering an IQ");
}

/* Routes a stanza to the bot, or answers it here if it is an IQ request;
 * IQ results and errors are for nobody (the bots send no IQs). */
static void dispatch(struct lbot *b, const struct xb_stanza *st)
{
    const char *type;

    if (xb_stanza_is(st, XB_NS_CLIENT, "iq")) {
        type = xb_stanza_attr(st, NULL, "type");
        if (type && (!strcmp(type, "get") || !strcmp(type, "set")))
            answer_iq(b, st);
        return;
    }
    xb_bot_stanza(b->bot, st);
}

/* bot:deliver(stanza) -> true | nil, err */
static int Lbot_deliver(lua_State *L)
{
    struct lbot *b = live_bot(L);
    struct xb_stanza *st;
    const char *err = NULL;
    struct saved sv;
    struct before bf;

    if (!b)
        return 2;
    luaL_checktype(L, 2, LUA_TTABLE);
    /* Copied at once: the router may reuse the table (MUC rewrites
     * attr.to for each occupant). */
    st = xbl_bridge_to_core(L, 2, &b->pool->scratch, &err);
    if (!st) {
        b->pool->refused++;
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_settop(L, 2);
    enter(b->pool, L, push_pool_of(L, 1), 1, &sv);
    begin_call(b, &bf);
    dispatch(b, st);
    end_call(L, b, &bf);
    leave(b->pool, &sv);
    xb_stanza_free(st);
    lua_pushboolean(L, 1);
    return 1;
}

/* Runs the bot's timer now; called by tick() and by bot:timer(). */
static void fire(lua_State *L, struct lbot *b)
{
    struct before bf;

    heap_remove(b->pool, b);
    begin_call(b, &bf);
    xb_bot_timer(b->bot);
    end_call(L, b, &bf);
}

/* bot:timer() -> true | nil, err: fires the bot's timer now (tests). */
static int Lbot_timer(lua_State *L)
{
    struct lbot *b = live_bot(L);
    struct saved sv;

    if (!b)
        return 2;
    lua_settop(L, 1);
    enter(b->pool, L, push_pool_of(L, 1), 1, &sv);
    fire(L, b);
    leave(b->pool, &sv);
    lua_pushboolean(L, 1);
    return 1;
}

/* Takes the bot down into state through the core call down (offline or
 * stop), with the pool entered like every other bot method. */
static int bot_down(lua_State *L, enum bot_state state,
                    void (*down)(struct xb_bot *))
{
    struct lbot *b = live_bot(L);
    struct saved sv;
    struct before bf;

    if (!b)
        return 2;
    lua_settop(L, 1);
    enter(b->pool, L, push_pool_of(L, 1), 1, &sv);
    set_online(b, 0);
    b->state = state;
    begin_call(b, &bf);
    down(b->bot);
    end_call(L, b, &bf);
    leave(b->pool, &sv);
    lua_pushboolean(L, 1);
    return 1;
}

/* bot:offline() -> true | nil, err: the session is gone; sends nothing. */
static int Lbot_offline(lua_State *L)
{
    return bot_down(L, S_OFFLINE, xb_bot_offline);
}

/* bot:stop() -> true | nil, err: a jumper leaves its room. */
static int Lbot_stop(lua_State *L)
{
    return bot_down(L, S_STOPPED, xb_bot_stop);
}

/* Frees the core bot and, with release_slot, drops the pool's anchor.
 * Keeps the counters in the pool's totals. */
static void free_bot(lua_State *L, struct lbot *b, int release_slot)
{
    struct pool *p = b->pool;

    if (!b->bot)
        return;
    heap_remove(p, b);
    set_online(b, 0);
    b->state = S_OFFLINE;
    xb_bot_stats_add(&p->retired, xb_bot_stats(b->bot));
    xb_bot_free(b->bot);
    b->bot = NULL;
    b->close_pending = 0;
    p->nbots--;
    if (!release_slot || p->closed)
        return;
    /* Drop the anchor: pool's bots table [slot] = false. */
    if (lua_checkstack(L, 4)) {
        lua_getiuservalue(L, p->pool_idx, UV_BOTS);
        lua_pushboolean(L, 0);
        lua_rawseti(L, -2, b->slot);
        lua_pop(L, 1);
    }
    if (p->nfree < p->free_cap)
        p->free_slots[p->nfree++] = b->slot;
}

/* bot:close(): frees the bot now (after the running call, if it is busy).
 * Sends nothing: stop it first to leave its room. */
static int Lbot_close(lua_State *L)
{
    struct lbot *b = check_bot(L);
    struct saved sv;

    if (!b->bot)
        return 0;
    if (b->busy) {
        b->close_pending = 1;
        return 0;
    }
    lua_settop(L, 1);
    enter(b->pool, L, push_pool_of(L, 1), 1, &sv);
    free_bot(L, b, 1);
    leave(b->pool, &sv);
    return 0;
}

static void set_count(lua_State *L, const char *k, uint64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

static void push_stats(lua_State *L, const struct xb_bot_stats *s)
{
    lua_createtable(L, 0, 14);
    set_count(L, "received", s->received);
    set_count(L, "echoed", s->echoed);
    set_count(L, "ignored", s->ignored);
    set_count(L, "joins", s->joins);
    set_count(L, "join_errors", s->join_errors);
    set_count(L, "groupchat_sent", s->groupchat_sent);
    set_count(L, "groupchat_recv", s->groupchat_recv);
    set_count(L, "leaves", s->leaves);
}

/* bot:stats() -> { received, echoed, ..., state, room, timer } | nil, err
 * (timer: seconds until the armed timer fires, absent if none) */
static int Lbot_stats(lua_State *L)
{
    struct lbot *b = live_bot(L);

    if (!b)
        return 2;
    push_stats(L, xb_bot_stats(b->bot));
    lua_pushstring(L, b->kind == XB_BOT_ECHO ? "echo" : "jumper");
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, state_names[b->state]);
    lua_setfield(L, -2, "state");
    if (b->room != NO_ROOM) {
        lua_pushinteger(L, b->room);
        lua_setfield(L, -2, "room");
    }
    if (b->heap_pos != NOT_IN_HEAP) {
        int64_t d = b->deadline - now_ms();

        lua_pushnumber(L, (double)(d > 0 ? d : 0) / 1000.0);
        lua_setfield(L, -2, "timer");
    }
    return 1;
}

static int Lbot_gc(lua_State *L)
{
    struct lbot *b = check_bot(L);

    /* Only a closed bot, or one of a pool being collected, can get here:
     * the pool anchors the others. No Lua calls: the pool may be gone. */
    if (b->bot && !b->pool->closed) {
        heap_remove(b->pool, b);
        xb_bot_free(b->bot);
        b->bot = NULL;
        b->pool->nbots--;
    }
    return 0;
}

static int Lbot_tostring(lua_State *L)
{
    struct lbot *b = check_bot(L);

    lua_pushfstring(L, "xmppbots.bot (%s, %s): %p",
                    b->kind == XB_BOT_ECHO ? "echo" : "jumper",
                    b->bot ? state_names[b->state] : "closed", (void *)b);
    return 1;
}

/* --- jumper configurations ---------------------------------------------- */

static struct config *check_config(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, CONFIG_MT);
}

/* An optional string field of the table at index 1 (copied later). */
static const char *opt_string(lua_State *L, const char *k, size_t *total)
{
    const char *s;
    size_t len;

    if (lua_getfield(L, 1, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "%s must be a string", k);
    s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len)
        luaL_error(L, "%s contains a NUL byte", k);
    *total += len + 1;
    /* Left on the stack (anchored) until copied. */
    return s;
}

static int probe_send(void *ud, struct xb_stanza *st)
{
    (void)ud;
    xb_stanza_free(st);
    return 0;
}

static void probe_timer(void *ud, int64_t ms)
{
    (void)ud;
    (void)ms;
}

static uint32_t opt_u32(lua_State *L, const char *k, double scale)
{
    lua_Number v;
    int ok;

    if (lua_getfield(L, 1, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    v = lua_tonumberx(L, -1, &ok) * scale;
    if (!ok || !(v >= 1 && v <= 4e9))
        luaL_error(L, "%s must be a number in range", k);
    lua_pop(L, 1);
    return (uint32_t)(v + 0.5);
}

static char *copy_str(char **at, const char *s)
{
    char *d = *at;
    size_t n;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    memcpy(d, s, n);
    *at += n;
    return d;
}

/* bots.config{ muc=, room_prefix=, rooms=, nick=, min_phrases=,
 *   max_phrases=, min_interval=, max_interval=, join_timeout=,
 *   backoff_min=, backoff_max= (seconds), phrases={...} }
 *   -> config | nil, err
 * One configuration is shared by any number of bots: its strings and
 * phrase list are copied once and live as long as a bot uses it. */
static int Lconfig(lua_State *L)
{
    const char *muc, *prefix, *nick;
    size_t total = 0, nphrases = 0, i, len;
    struct config *c;
    struct xb_jumper_config k;
    char *at;
    int phrases;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    memset(&k, 0, sizeof k);
    muc = opt_string(L, "muc", &total); /* index 2 if set */
    prefix = opt_string(L, "room_prefix", &total);
    nick = opt_string(L, "nick", &total);
    k.rooms = opt_u32(L, "rooms", 1);
    k.min_phrases = opt_u32(L, "min_phrases", 1);
    k.max_phrases = opt_u32(L, "max_phrases", 1);
    k.min_interval_ms = opt_u32(L, "min_interval", 1000);
    k.max_interval_ms = opt_u32(L, "max_interval", 1000);
    k.join_timeout_ms = opt_u32(L, "join_timeout", 1000);
    k.backoff_min_ms = opt_u32(L, "backoff_min", 1000);
    k.backoff_max_ms = opt_u32(L, "backoff_max", 1000);
    phrases = lua_getfield(L, 1, "phrases") == LUA_TTABLE ? lua_gettop(L) : 0;
    if (!phrases && !lua_isnil(L, -1))
        return luaL_error(L, "%s", "phrases must be a list of strings");
    if (phrases) {
        nphrases = lua_rawlen(L, phrases);
        if (nphrases == 0 || nphrases > 1000000)
            return luaL_error(L, "%s", "phrases must be a non-empty list");
        for (i = 1; i <= nphrases; i++) {
            if (lua_rawgeti(L, phrases, (lua_Integer)i) != LUA_TSTRING)
                return luaL_error(L, "phrase %d is not a string", (int)i);
            lua_tolstring(L, -1, &len);
            total += len + 1;
            lua_pop(L, 1);
        }
    }
    c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, sizeof *c);
    luaL_setmetatable(L, CONFIG_MT);
    c->mem = malloc(nphrases * sizeof(char *) + total + 1);
    if (!c->mem) {
        lua_pushnil(L);
        lua_pushliteral(L, "out of memory");
        return 2;
    }
    k.phrases = (const char *const *)c->mem;
    k.nphrases = (unsigned)nphrases;
    at = c->mem + nphrases * sizeof(char *);
    k.muc_service = copy_str(&at, muc);
    k.room_prefix = copy_str(&at, prefix);
    k.nick = copy_str(&at, nick);
    for (i = 1; i <= nphrases; i++) {
        lua_rawgeti(L, phrases, (lua_Integer)i);
        ((const char **)c->mem)[i - 1] = copy_str(&at, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    if (!nphrases)
        k.phrases = NULL;
    c->cfg = k;
    /* The core validates the settings when a bot is made: try one. */
    {
        static const struct xb_bot_host probe_host = {probe_send, probe_timer,
                                                      NULL};
        struct xb_rand r;
        struct xb_bot *probe;

        xb_rand_seed(&r, 0, 0);
        probe = xb_bot_new(XB_BOT_JUMPER, "probe@localhost", &probe_host, NULL,
                           &r, &c->cfg);
        if (!probe) {
            lua_pushnil(L);
            lua_pushliteral(L, "invalid jumper settings (check muc, "
                               "room_prefix, nick, the phrase and interval "
                               "ranges, and that phrases are UTF-8 text)");
            return 2;
        }
        xb_bot_free(probe);
    }
    return 1;
}

static int Lconfig_gc(lua_State *L)
{
    struct config *c = check_config(L, 1);

    free(c->mem);
    c->mem = NULL;
    return 0;
}

/* --- pools ---------------------------------------------------------------- */

static struct pool *check_pool(lua_State *L, int idx)
{
    struct pool *p = luaL_checkudata(L, idx, POOL_MT);

    if (p->closed)
        luaL_error(L, "%s", "pool is closed");
    return p;
}

/* bots.pool{ send = function(data, stanza), log = function(data, level,
 *   msg), wake = function(seconds) } -> pool */
static int Lpool(lua_State *L)
{
    struct pool *p;
    int i;

    luaL_checktype(L, 1, LUA_TTABLE);
    p = lua_newuserdatauv(L, sizeof *p, POOL_NUV);
    memset(p, 0, sizeof *p);
    p->host.send = h_send;
    p->host.set_timer = h_set_timer;
    p->host.log = h_log;
    p->wake_at = INT64_MAX;
    luaL_setmetatable(L, POOL_MT);
    for (i = UV_SEND; i <= UV_WAKE; i++) {
        static const char *const names[] = {"send", "log", "wake"};
        int t = lua_getfield(L, 1, names[i - 1]);

        if (t != LUA_TFUNCTION && (t != LUA_TNIL || i == UV_SEND))
            return luaL_error(L, "pool %s must be a function", names[i - 1]);
        lua_setiuservalue(L, -2, i);
    }
    lua_newtable(L);
    lua_setiuservalue(L, -2, UV_BOTS);
    lua_newtable(L);
    lua_setiuservalue(L, -2, UV_ANCHORS);
    return 1;
}

/* A slot in the bots table: a free one, or a new one at the end. */
static int take_slot(struct pool *p, uint32_t *slot)
{
    if (p->nfree) {
        *slot = p->free_slots[--p->nfree];
        return 0;
    }
    if (p->nslots == UINT32_MAX - 1)
        return XB_ELIMIT;
    /* Room for every slot to be freed later. */
    if (p->nslots + 1 > p->free_cap) {
        uint32_t cap = p->free_cap ? p->free_cap * 2 : 64;
        uint32_t *f = realloc(p->free_slots, cap * sizeof *f);

        if (!f)
            return XB_ENOMEM;
        p->free_slots = f;
        p->free_cap = cap;
    }
    *slot = ++p->nslots;
    return 0;
}

/* pool:new{ kind = "echo"|"jumper", jid =, seed =, index =, config =,
 *   data = } -> bot | nil, err
 * The bot's generator is seeded as the CLI seeds it (seed ^ 0xB07, index),
 * so a run repeats whichever host drives the bot. */
static int Lpool_new(lua_State *L)
{
    static const char *const kinds[] = {"echo", "jumper", NULL};
    struct pool *p = check_pool(L, 1);
    struct config *cfg = NULL;
    struct lbot *b;
    struct xb_rand rng;
    const char *jid;
    lua_Integer seed, index;
    int kind, bot, cfg_idx = 0;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_getfield(L, 2, "kind");
    kind = luaL_checkoption(L, -1, NULL, kinds);
    if (lua_getfield(L, 2, "jid") != LUA_TSTRING)
        return luaL_error(L, "%s", "jid must be a string");
    jid = lua_tostring(L, -1);
    lua_getfield(L, 2, "seed");
    seed = luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "index");
    index = luaL_optinteger(L, -1, 0);
    if (lua_getfield(L, 2, "config") != LUA_TNIL) {
        cfg_idx = lua_gettop(L);
        cfg = check_config(L, cfg_idx);
    }

    b = lua_newuserdatauv(L, sizeof *b, BOT_NUV);
    bot = lua_gettop(L);
    memset(b, 0, sizeof *b);
    b->pool = p;
    b->kind = (unsigned char)(kind == 0 ? XB_BOT_ECHO : XB_BOT_JUMPER);
    b->heap_pos = NOT_IN_HEAP;
    b->room = NO_ROOM;
    b->state = S_OFFLINE;
    luaL_setmetatable(L, BOT_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, bot, BUV_POOL);
    lua_getfield(L, 2, "data");
    lua_setiuservalue(L, bot, BUV_DATA);

    if (take_slot(p, &b->slot)) {
        lua_pushnil(L);
        lua_pushliteral(L, "out of memory");
        return 2;
    }
    xb_rand_seed(&rng, (uint64_t)seed ^ 0xB07, (uint64_t)index);
    b->bot = xb_bot_new(b->kind, jid, &p->host, b, &rng,
                        b->kind == XB_BOT_JUMPER && cfg ? &cfg->cfg : NULL);
    if (!b->bot) {
        p->free_slots[p->nfree++] = b->slot;
        lua_pushnil(L);
        lua_pushfstring(L,
                        "cannot create %s bot '%s': invalid JID or "
                        "settings (or out of memory)",
                        kinds[kind], jid);
        return 2;
    }
    p->nbots++;
    lua_getiuservalue(L, 1, UV_BOTS);
    lua_pushvalue(L, bot);
    lua_rawseti(L, -2, b->slot);
    lua_pop(L, 1);
    if (cfg) {
        lua_getiuservalue(L, 1, UV_ANCHORS);
        lua_pushvalue(L, cfg_idx);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, bot);
    return 1;
}

/* pool:tick() -> seconds until the next timer | nil if none is armed.
 * Fires the timers that are due (at most as many as were armed when it
 * started, so a bot re-arming at 0 ms cannot keep it spinning). */
static int Lpool_tick(lua_State *L)
{
    struct pool *p = check_pool(L, 1);
    int64_t now = now_ms(), d;
    uint32_t budget = p->nheap;
    struct saved sv;

    lua_settop(L, 1);
    lua_getiuservalue(L, 1, UV_BOTS); /* 2 */
    enter(p, L, 1, 3, &sv);
    p->in_tick++;
    while (budget-- && p->nheap && p->heap[0]->deadline <= now) {
        struct lbot *b = p->heap[0];

        lua_rawgeti(L, 2, b->slot); /* 3: the bot, for the hooks */
        fire(L, b);
        lua_settop(L, 2);
    }
    p->in_tick--;
    leave(p, &sv);
    if (!p->nheap) {
        p->wake_at = INT64_MAX;
        return 0;
    }
    now = now_ms();
    d = p->heap[0]->deadline - now;
    if (d < 0)
        d = 0;
    p->wake_at = now + d;
    lua_pushnumber(L, (double)d / 1000.0);
    return 1;
}

/* pool:stats() -> { bots, online, timers, errors, refused, iqs, and the
 *   bots' counters summed (closed bots included) } */
static int Lpool_stats(lua_State *L)
{
    struct pool *p = check_pool(L, 1);
    struct xb_bot_stats sum = p->retired;
    uint32_t i;

    lua_settop(L, 1);
    lua_getiuservalue(L, 1, UV_BOTS);
    for (i = 1; i <= p->nslots; i++) {
        struct lbot *b;

        if (lua_rawgeti(L, 2, i) == LUA_TUSERDATA) {
            b = lua_touserdata(L, -1);
            if (b->bot)
                xb_bot_stats_add(&sum, xb_bot_stats(b->bot));
        }
        lua_pop(L, 1);
    }
    push_stats(L, &sum);
    set_count(L, "bots", p->nbots);
    set_count(L, "online", p->nonline);
    set_count(L, "timers", p->nheap);
    set_count(L, "errors", p->errors);
    set_count(L, "refused", p->refused);
    set_count(L, "iqs", p->iqs);
    return 1;
}

/* Frees every bot and the pool's memory. From __gc, or pool:close(). */
static void close_pool(lua_State *L, struct pool *p, int idx)
{
    uint32_t i;

    if (p->closed)
        return;
    lua_getiuservalue(L, idx, UV_BOTS);
    for (i = 1; i <= p->nslots; i++) {
        if (lua_rawgeti(L, -1, i) == LUA_TUSERDATA) {
            struct lbot *b = lua_touserdata(L, -1);

            if (b->bot) {
                xb_bot_free(b->bot);
                b->bot = NULL;
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    p->closed = 1;
    p->nbots = p->nonline = 0;
    free(p->heap);
    free(p->free_slots);
    p->heap = NULL;
    p->free_slots = NULL;
    p->nheap = p->nfree = 0;
    xb_stanza_free(p->scratch);
    p->scratch = NULL;
}

/* pool:close(): frees all bots now (they send nothing; stop them first).
 * Refused from inside a callback of the pool. */
static int Lpool_close(lua_State *L)
{
    struct pool *p = luaL_checkudata(L, 1, POOL_MT);

    if (p->L)
        return luaL_error(L, "%s", "pool:close() from inside a bot callback");
    close_pool(L, p, 1);
    lua_pushnil(L);
    lua_setiuservalue(L, 1, UV_BOTS);
    lua_pushnil(L);
    lua_setiuservalue(L, 1, UV_ANCHORS);
    return 0;
}

static int Lpool_gc(lua_State *L)
{
    struct pool *p = luaL_checkudata(L, 1, POOL_MT);

    close_pool(L, p, 1);
    return 0;
}

/* --- bridge functions (tests, tools) -------------------------------------- */

static struct box *new_box(lua_State *L)
{
    struct box *x = lua_newuserdatauv(L, sizeof *x, 0);

    x->scratch = NULL;
    xb_buf_init(&x->buf);
    luaL_setmetatable(L, BOX_MT);
    return x;
}

static int Lbox_gc(lua_State *L)
{
    struct box *x = luaL_checkudata(L, 1, BOX_MT);

    xb_stanza_free(x->scratch);
    x->scratch = NULL;
    xb_buf_free(&x->buf);
    return 0;
}

/* Converts the table at index 1 into box->scratch, or pushes nil, err. */
static struct xb_stanza *to_core_boxed(lua_State *L, struct box *x)
{
    const char *err = NULL;
    struct xb_stanza *st = xbl_bridge_to_core(L, 1, &x->scratch, &err);

    if (!st) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return NULL;
    }
    x->scratch = st; /* freed by the box if anything below raises */
    return st;
}

/* bots.roundtrip(stanza) -> stanza | nil, err: Lua table -> core tree ->
 * new Lua table, the two conversions every bot stanza goes through. */
static int Lroundtrip(lua_State *L)
{
    struct box *x;
    struct xb_stanza *st;

    luaL_checkany(L, 1);
    x = new_box(L);
    st = to_core_boxed(L, x);
    if (!st)
        return 2;
    xbl_bridge_push(L, st);
    xb_stanza_free(st);
    x->scratch = NULL;
    return 1;
}

/* bots.serialize(stanza) -> xml | nil, err: the table as the core sees
 * it, written by the core's serializer (every namespace declared). */
static int Lserialize(lua_State *L)
{
    struct box *x;
    struct xb_stanza *st;
    int rc;

    luaL_checkany(L, 1);
    x = new_box(L);
    st = to_core_boxed(L, x);
    if (!st)
        return 2;
    rc = xb_serialize(&x->buf, st, NULL);
    xb_stanza_free(st);
    x->scratch = NULL;
    if (rc) {
        lua_pushnil(L);
        lua_pushstring(L, xb_strerror(rc));
        return 2;
    }
    lua_pushlstring(L, x->buf.data ? x->buf.data : "", x->buf.len);
    xb_buf_free(&x->buf);
    return 1;
}

/* bots.parse(xml) -> stanza | nil, err: one element parsed by the core's
 * parser, as a Prosody stanza table. */
static int Lparse(lua_State *L)
{
    size_t len;
    const char *xml = luaL_checklstring(L, 1, &len);
    struct box *x = new_box(L);
    struct xb_stanza *st;
    int rc = xb_parser_parse_one(xml, len, &st, NULL);

    if (rc) {
        lua_pushnil(L);
        lua_pushstring(L, xb_strerror(rc));
        return 2;
    }
    x->scratch = st;
    xbl_bridge_push(L, st);
    xb_stanza_free(st);
    x->scratch = NULL;
    return 1;
}

static const luaL_Reg bot_methods[] = {
    {"online", Lbot_online}, {"deliver", Lbot_deliver},
    {"timer", Lbot_timer},   {"offline", Lbot_offline},
    {"stop", Lbot_stop},     {"close", Lbot_close},
    {"stats", Lbot_stats},   {NULL, NULL}};

static const luaL_Reg pool_methods[] = {{"new", Lpool_new},
                                        {"tick", Lpool_tick},
                                        {"stats", Lpool_stats},
                                        {"close", Lpool_close},
                                        {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"pool", Lpool},           {"config", Lconfig}, {"roundtrip", Lroundtrip},
    {"serialize", Lserialize}, {"parse", Lparse},   {NULL, NULL}};

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                      lua_CFunction gc)
{
    luaL_newmetatable(L, name);
    if (methods) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

XBL_EXPORT int luaopen_xmppbots_bots(lua_State *L);

XBL_EXPORT int luaopen_xmppbots_bots(lua_State *L)
{
    if (!xbl_bridge_init(L))
        return lua_error(L);
    new_class(L, POOL_MT, pool_methods, Lpool_gc);
    new_class(L, BOT_MT, bot_methods, Lbot_gc);
    luaL_getmetatable(L, BOT_MT);
    lua_pushcfunction(L, Lbot_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    new_class(L, CONFIG_MT, NULL, Lconfig_gc);
    new_class(L, BOX_MT, NULL, Lbox_gc);
    luaL_newlib(L, functions);
    lua_pushliteral(L, PACKAGE_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
