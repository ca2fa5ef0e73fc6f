/*
 * The Lua side of the in-server bots: configs (a kind's options checked
 * against its option table), a pool (the bot host: Lua callbacks for send,
 * log and storage, one timer heap for all its bots, counters, the address
 * of the bots' pages), and bot userdata wrapping the core's bots. The
 * core's hooks re-enter Lua only through protected calls, so no Lua error
 * ever unwinds through the core.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bot.h"
#include "bridge.h"
#include "buf.h"
#include "error.h"
#include "parser.h"
#include "serialize.h"
#include "stanza.h"
#include "timer.h"

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
    UV_STORE_LOAD,
    UV_STORE_PUT,
    UV_STORE_DEL,
    UV_BOTS,
    UV_ANCHORS,
    POOL_NUV = UV_ANCHORS
};

/* What the host's store hooks return when a Lua store callback fails
 * (the callback logs why). */
#define STORE_FAILED XB_EIO
/* User values of a bot: its pool, and the host's data (the session). */
enum { BUV_POOL = 1, BUV_DATA, BOT_NUV = BUV_DATA };

/* How many kinds the registry may hold (counters are kept per kind;
 * luaopen checks it), and how many items a list option may have. */
#define MAX_KINDS 16
#define MAX_LIST 1000000

struct pool {
    struct xb_bot_host host;
    /* The entry point running now (a bot method or tick): the state and
     * the stack slots of the pool and bot userdata, for the hooks; during
     * tick() also the bots table, for the timers. */
    lua_State *L;
    int pool_idx, bot_idx, bots_idx;
    struct xb_timers timers;
    uint32_t nslots; /* slots 1..nslots of the bots table in use or free */
    uint32_t *free_slots;
    uint32_t nfree, free_cap;
    uint32_t nbots, nonline;
    int64_t wake_at; /* when tick() runs next; INT64_MAX: not scheduled */
    int in_tick, closed;
    uint64_t *retired[MAX_KINDS]; /* counters of closed bots, per kind */
    uint64_t errors, refused;
    char *capture; /* while a bot is made: where its log lines go */
    size_t capture_len;
    struct xb_stanza *scratch; /* a tree under conversion */
    char *http_url;            /* where the host serves the bots' pages */
    /* The last delivery's tree, patched for the next one; in use while
     * last_busy. last_mem: its size when it was built. */
    struct xb_stanza *last;
    size_t last_mem;
    int last_busy;
};

struct lbot {
    struct xb_bot *bot; /* NULL once closed */
    struct pool *pool;
    struct xb_timer timer;
    uint32_t slot;
    unsigned char online, busy, close_pending;
};

/* A bots.config(): one kind's settings, shared by any number of bots. */
struct config {
    struct xb_bot_config *cfg;
};

/* What a bridge function must free if a Lua call raises. */
struct box {
    struct xb_stanza *scratch;
    struct xb_buf buf;
};

/* The bots' clock (the host's now_us hook), monotonic. */
static uint64_t h_now_us(void *ud)
{
    struct timespec ts;

    (void)ud;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The timer heap's clock, in milliseconds. */
static int64_t now_ms(void)
{
    return (int64_t)(h_now_us(NULL) / 1000);
}

static unsigned kind_index(const struct xb_bot_kind *k)
{
    unsigned i;

    for (i = 0; xb_bot_kinds[i] != k; i++)
        ;
    return i;
}

/* --- calling back into Lua --------------------------------------------
 * Every hook reaches Lua through lua_pcall of a trampoline that receives
 * the pool, the bot and light userdata; pushing those allocates nothing,
 * so a raise cannot happen outside the protected call. */

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
    lua_pushstring(L,
                   xb_log_level_name((enum xb_log_level)lua_tointeger(L, 3)));
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

    xb_timers_disarm(&p->timers, &b->timer);
    if (ms < 0 || !b->bot)
        return;
    if (xb_timers_arm(&p->timers, &b->timer, now_ms() + ms)) {
        p->errors++;
        pool_log(p, 1, XB_LOG_ERROR, "out of memory arming a bot timer");
        return;
    }
    /* Inside tick() the next wake-up is computed on the way out. */
    if (p->in_tick || b->timer.deadline >= p->wake_at || !L ||
        !lua_checkstack(L, 4))
        return;
    p->wake_at = b->timer.deadline;
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
    struct pool *p = b->pool;

    /* A bot being made reports why it cannot be to pool:new's caller. */
    if (p->capture) {
        snprintf(p->capture, p->capture_len, "%s", msg);
        return;
    }
    pool_log(p, 1, level, msg);
}

/* --- storage and pages ------------------------------------------------- */

/* What store_load's trampoline hands each stored pair to. */
struct load_call {
    int (*add)(void *ctx, const char *key, const char *value);
    void *ctx;
    int rc;
};

/* store_load(data) -> { key = value, ... } | nil, err: each pair goes to
 * the core's add (which calls no Lua). Keys and values must be strings
 * without NUL bytes; anything else is a bad record. */
static int load_tramp(lua_State *L)
{
    struct load_call *c = lua_touserdata(L, 3);

    lua_getiuservalue(L, 1, UV_STORE_LOAD);
    lua_getiuservalue(L, 2, BUV_DATA);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) != LUA_TTABLE) {
        c->rc = STORE_FAILED;
        return 0;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        size_t klen, vlen;
        const char *k, *v;

        /* Type first: lua_tolstring would turn a number key into a
         * string in place and break the traversal. */
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
            c->rc = XB_EINVAL;
            return 0;
        }
        k = lua_tolstring(L, -2, &klen);
        v = lua_tolstring(L, -1, &vlen);
        if (strlen(k) != klen || strlen(v) != vlen) {
            c->rc = XB_EINVAL;
            return 0;
        }
        c->rc = c->add(c->ctx, k, v);
        if (c->rc)
            return 0;
        lua_pop(L, 1);
    }
    return 0;
}

static int h_store_load(void *ud,
                        int (*add)(void *ctx, const char *key,
                                   const char *value),
                        void *ctx)
{
    struct lbot *b = ud;
    struct pool *p = b->pool;
    lua_State *L = p->L;
    struct load_call c = {add, ctx, 0};

    if (!L)
        return STORE_FAILED;
    if (!lua_checkstack(L, 8))
        return XB_ENOMEM;
    lua_pushcfunction(L, load_tramp);
    lua_pushvalue(L, p->pool_idx);
    lua_pushvalue(L, p->bot_idx);
    lua_pushlightuserdata(L, &c);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        callback_failed(p, "store_load");
        return STORE_FAILED;
    }
    return c.rc;
}

/* store_put(data, key, value), or store_del(data, key) when value is
 * NULL: true | nil, err */
static int put_tramp(lua_State *L)
{
    const char *value = lua_touserdata(L, 4);

    lua_getiuservalue(L, 1, value ? UV_STORE_PUT : UV_STORE_DEL);
    lua_getiuservalue(L, 2, BUV_DATA);
    lua_pushstring(L, lua_touserdata(L, 3));
    if (value)
        lua_pushstring(L, value);
    lua_call(L, value ? 3 : 2, 1);
    return 1;
}

static int store_call(struct lbot *b, const char *key, const char *value)
{
    struct pool *p = b->pool;
    lua_State *L = p->L;
    int ok;

    if (!L)
        return STORE_FAILED;
    if (!lua_checkstack(L, 8))
        return XB_ENOMEM;
    lua_pushcfunction(L, put_tramp);
    lua_pushvalue(L, p->pool_idx);
    lua_pushvalue(L, p->bot_idx);
    lua_pushlightuserdata(L, (void *)key);
    lua_pushlightuserdata(L, (void *)value);
    if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
        callback_failed(p, value ? "store_put" : "store_del");
        return STORE_FAILED;
    }
    ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return ok ? 0 : STORE_FAILED;
}

static int h_store_put(void *ud, const char *key, const char *value)
{
    return store_call(ud, key, value);
}

static int h_store_del(void *ud, const char *key)
{
    return store_call(ud, key, NULL);
}

static const char *h_http_url(void *ud)
{
    const struct lbot *b = ud;

    return b->pool->http_url;
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

static void free_bot(lua_State *L, struct lbot *b, int release_slot);

/* A call into the bot: it cannot be freed under its own feet. */
static void begin_call(struct lbot *b)
{
    b->busy++;
}

static void end_call(lua_State *L, struct lbot *b)
{
    b->busy--;
    if (!b->busy && b->close_pending)
        free_bot(L, b, 1);
}

/* A bot's timer is due (inside tick(): the bots table is at bots_idx). */
static void on_timer(struct xb_timer *t)
{
    struct lbot *b = (struct lbot *)((char *)t - offsetof(struct lbot, timer));
    struct pool *p = b->pool;
    lua_State *L = p->L;
    int top = lua_gettop(L);

    lua_rawgeti(L, p->bots_idx, b->slot); /* the bot, for the hooks */
    p->bot_idx = lua_gettop(L);
    begin_call(b);
    xb_bot_timer(b->bot);
    end_call(L, b);
    lua_settop(L, top);
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

/* Runs one core call on the bot at index bot_idx with the pool entered;
 * online is the bot's state afterwards (-1: unchanged). */
static void bot_call_at(lua_State *L, int bot_idx, struct lbot *b, int online,
                        void (*call)(struct xb_bot *, const void *),
                        const void *arg)
{
    struct saved sv;

    enter(b->pool, L, push_pool_of(L, bot_idx), bot_idx, &sv);
    if (online >= 0)
        set_online(b, online);
    begin_call(b);
    call(b->bot, arg);
    end_call(L, b);
    leave(b->pool, &sv);
}

/* bot_call_at() on the bot at index 1, the way every bot method runs.
 * Returns true to Lua. */
static int bot_call(lua_State *L, struct lbot *b, int online,
                    void (*call)(struct xb_bot *, const void *),
                    const void *arg)
{
    bot_call_at(L, 1, b, online, call, arg);
    lua_pushboolean(L, 1);
    return 1;
}

static void call_online(struct xb_bot *bot, const void *jid)
{
    xb_bot_online(bot, jid);
}

static void call_stanza(struct xb_bot *bot, const void *st)
{
    xb_bot_stanza(bot, st);
}

static void call_timer(struct xb_bot *bot, const void *unused)
{
    (void)unused;
    xb_bot_timer(bot);
}

static void call_offline(struct xb_bot *bot, const void *unused)
{
    (void)unused;
    xb_bot_offline(bot);
}

static void call_stop(struct xb_bot *bot, const void *unused)
{
    (void)unused;
    xb_bot_stop(bot);
}

/* bot:online(full_jid) -> true | nil, err */
static int Lbot_online(lua_State *L)
{
    struct lbot *b = live_bot(L);
    const char *jid = luaL_optstring(L, 2, NULL);

    if (!b)
        return 2;
    lua_settop(L, 2);
    return bot_call(L, b, 1, call_online, jid);
}

/* bot:deliver(stanza) -> true | nil, err */
static int Lbot_deliver(lua_State *L)
{
    struct lbot *b = live_bot(L);
    struct pool *p;
    struct xb_stanza *st = NULL;
    const char *err = NULL;
    int keep;

    if (!b)
        return 2;
    luaL_checktype(L, 2, LUA_TTABLE);
    p = b->pool;
    /* Copied at once: the router may reuse the table (MUC rewrites
     * attr.to for each occupant). MUC hands the same message to the
     * occupants one after the other, so the last delivery's tree is
     * patched where the table differs (attr.to) rather than built again.
     * A delivery inside a bot's handling of another gets a tree of its
     * own. */
    keep = !p->last_busy;
    if (keep && p->last && xbl_bridge_patch(L, 2, p->last))
        st = p->last;
    if (!st) {
        if (keep) {
            xb_stanza_free(p->last);
            p->last = NULL;
        }
        st = xbl_bridge_to_core(L, 2, &p->scratch, &err);
        if (!st) {
            p->refused++;
            lua_pushnil(L);
            lua_pushstring(L, err);
            return 2;
        }
        if (keep) {
            p->last = st;
            p->last_mem = xb_stanza_mem(st);
        }
    }
    lua_settop(L, 2);
    p->last_busy += keep;
    bot_call(L, b, -1, call_stanza, st);
    p->last_busy -= keep;
    if (!keep) {
        xb_stanza_free(st);
    } else if (xb_stanza_mem(st) > 2 * p->last_mem + 4096) {
        /* Replaced values pile up in the tree's memory: start afresh. */
        xb_stanza_free(st);
        p->last = NULL;
    }
    return 1;
}

/*
 * bots.deliver_all(stanza, list, n) -> true | nil, err: what a room sends
 * to n bots at once, list = { bot1, jid1, bot2, jid2, ... } (bots of any
 * pool): each live bot gets it as bot:deliver() would after the room set
 * attr.to to its JID, but the table is converted once, not once a bot
 * (mod_bots' bots_muc_direct). Entries that are not live bots are
 * skipped. The list is read as it goes: a delivery inside a delivery
 * needs a list of its own.
 */
static int Lbots_deliver_all(lua_State *L)
{
    struct xb_stanza *st;
    struct lbot *b;
    const char *err = NULL;
    lua_Integer i, n = luaL_checkinteger(L, 3);

    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3);
    lua_rawgeti(L, 2, 1);
    b = luaL_testudata(L, 4, BOT_MT);
    lua_pop(L, 1);
    if (n <= 0 || !b || !lua_checkstack(L, 8)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    st = xbl_bridge_to_core(L, 1, &b->pool->scratch, &err);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, 2 * i - 1); /* the bot, at 4 */
        lua_rawgeti(L, 2, 2 * i);     /* its JID, at 5 */
        b = luaL_testudata(L, 4, BOT_MT);
        if (b && b->bot && !b->close_pending) {
            if (!st)
                b->pool->refused++;
            else if (lua_type(L, 5) != LUA_TSTRING ||
                     xb_stanza_set_attr(st, NULL, "to", lua_tostring(L, 5)))
                b->pool->errors++;
            else
                bot_call_at(L, 4, b, -1, call_stanza, st);
        }
        lua_settop(L, 3);
    }
    if (!st) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    xb_stanza_free(st);
    lua_pushboolean(L, 1);
    return 1;
}

/* bot:timer() -> true | nil, err: fires the bot's timer now (tests). */
static int Lbot_timer(lua_State *L)
{
    struct lbot *b = live_bot(L);

    if (!b)
        return 2;
    lua_settop(L, 1);
    xb_timers_disarm(&b->pool->timers, &b->timer);
    return bot_call(L, b, -1, call_timer, NULL);
}

/* Takes the bot at index 1 down through call (offline or stop). */
static int bot_down(lua_State *L, void (*call)(struct xb_bot *, const void *))
{
    struct lbot *b = live_bot(L);

    if (!b)
        return 2;
    lua_settop(L, 1);
    return bot_call(L, b, 0, call, NULL);
}

/* bot:offline() -> true | nil, err: the session is gone; sends nothing. */
static int Lbot_offline(lua_State *L)
{
    return bot_down(L, call_offline);
}

/* bot:stop() -> true | nil, err: a jumper leaves its room. */
static int Lbot_stop(lua_State *L)
{
    return bot_down(L, call_stop);
}

/* Adds b's counters to the retired totals of its kind (kept for the
 * pool's stats after the bot is gone). */
static void retire(struct pool *p, const struct xb_bot *bot)
{
    const struct xb_bot_kind *k = xb_bot_kind_of(bot);
    unsigned ki = kind_index(k);

    if (!p->retired[ki])
        p->retired[ki] = calloc(xb_bot_ncounters(k), sizeof(uint64_t));
    if (p->retired[ki])
        xb_bot_counters_add(bot, p->retired[ki]);
}

/* Frees the core bot and, with release_slot, drops the pool's anchor.
 * Keeps the counters in the pool's totals. */
static void free_bot(lua_State *L, struct lbot *b, int release_slot)
{
    struct pool *p = b->pool;

    if (!b->bot)
        return;
    xb_timers_disarm(&p->timers, &b->timer);
    set_online(b, 0);
    retire(p, b->bot);
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

static void set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

/* Adds the counters of kind k in sum to the table on top, by name. */
static void add_counters(lua_State *L, const struct xb_bot_kind *k,
                         const uint64_t *sum)
{
    unsigned i, n = xb_bot_ncounters(k);

    for (i = 0; i < n; i++) {
        const char *name = xb_bot_counter_at(k, i)->name;

        uint64_t had;

        lua_getfield(L, -1, name);
        had = (uint64_t)lua_tointeger(L, -1); /* 0 when absent */
        lua_pop(L, 1);
        set_count(L, name, had + sum[i]);
    }
}

/* bot:stats() -> { kind, state, where, timer, and the kind's counters by
 *   name } | nil, err (where: a room JID, absent if none; timer: seconds
 *   until the armed timer fires, absent if none) */
static int Lbot_stats(lua_State *L)
{
    struct lbot *b = live_bot(L);
    const struct xb_bot_kind *k;
    uint64_t sum[64] = {0};
    char where[3200];

    if (!b)
        return 2;
    k = xb_bot_kind_of(b->bot);
    lua_createtable(L, 0, 16);
    if (xb_bot_ncounters(k) <= sizeof sum / sizeof sum[0]) {
        xb_bot_counters_add(b->bot, sum);
        add_counters(L, k, sum);
    }
    set_str(L, "kind", k->name);
    set_str(L, "state", xb_bot_state(b->bot, where, sizeof where));
    if (where[0])
        set_str(L, "where", where);
    if (xb_timer_armed(&b->timer)) {
        int64_t d = b->timer.deadline - now_ms();

        lua_pushnumber(L, (double)(d > 0 ? d : 0) / 1000.0);
        lua_setfield(L, -2, "timer");
    }
    return 1;
}

static struct box *new_box(lua_State *L);

/* bot:http(path) -> status, type, headers, body | nil, err
 * A GET for one of the bot's pages: path (any bytes) is what follows the
 * bot's address, without the query string. headers maps each header the
 * kind adds to its value, named as the kind names it; type is nil if the
 * kind gave none. A kind without pages answers nil, "not found". */
static int Lbot_http(lua_State *L)
{
    struct lbot *b = live_bot(L);
    struct xb_bot_page page;
    const char *const *h;
    struct box *x;
    struct saved sv;
    const char *path;
    size_t len;
    int rc;

    if (!b)
        return 2;
    path = luaL_checklstring(L, 2, &len);
    lua_settop(L, 2);
    x = new_box(L); /* 3: owns the body until it is pushed */
    enter(b->pool, L, push_pool_of(L, 1), 1, &sv);
    begin_call(b);
    rc = xb_bot_http(b->bot, path, len, &page);
    end_call(L, b);
    leave(b->pool, &sv);
    x->buf = page.body;
    if (rc) {
        xb_buf_free(&x->buf);
        lua_pushnil(L);
        lua_pushstring(L, xb_strerror(rc));
        return 2;
    }
    lua_pushinteger(L, page.status);
    if (page.type)
        lua_pushstring(L, page.type);
    else
        lua_pushnil(L);
    lua_newtable(L);
    for (h = page.headers; h && h[0] && h[1]; h += 2) {
        lua_pushstring(L, h[1]);
        lua_setfield(L, -2, h[0]);
    }
    lua_pushlstring(L, x->buf.data ? x->buf.data : "", x->buf.len);
    xb_buf_free(&x->buf);
    return 4;
}

static int Lbot_gc(lua_State *L)
{
    struct lbot *b = check_bot(L);

    /* Only a closed bot, or one of a pool being collected, can get here:
     * the pool anchors the others. No Lua calls: the pool may be gone. */
    if (b->bot && !b->pool->closed) {
        xb_timers_disarm(&b->pool->timers, &b->timer);
        xb_bot_free(b->bot);
        b->bot = NULL;
        b->pool->nbots--;
    }
    return 0;
}

static int Lbot_tostring(lua_State *L)
{
    struct lbot *b = check_bot(L);
    char where[16];

    lua_pushfstring(L, "xmppbots.bot (%s, %s): %p",
                    b->bot ? xb_bot_kind_of(b->bot)->name : "-",
                    b->bot ? xb_bot_state(b->bot, where, sizeof where)
                           : "closed",
                    (void *)b);
    return 1;
}

/* --- configs ------------------------------------------------------------ */

static struct config *check_config(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, CONFIG_MT);
}

/* Sets option key of c from the Lua value at index v: a number, a string
 * in the option's text form, { min, max } for a range, a list of strings
 * for a list. 0, or <0 with what the value must be in err. */
static int set_option(lua_State *L, struct xb_bot_config *c, const char *key,
                      int v, char *err, size_t errlen)
{
    const struct xb_bot_option *o =
        xb_bot_option_find(xb_bot_config_kind(c), key);
    const char *items[64], **many = items;
    int top = lua_gettop(L), rc = 1;
    size_t i, n;

    if (!o)
        return XB_ENOTFOUND;
    switch (lua_type(L, v)) {
    case LUA_TNUMBER:
        rc = xb_bot_config_set_number(c, key, lua_tonumber(L, v),
                                      lua_tonumber(L, v), err, errlen);
        break;
    case LUA_TSTRING:
        if (strlen(lua_tostring(L, v)) == lua_rawlen(L, v)) /* no NUL */
            rc = xb_bot_config_set(c, key, lua_tostring(L, v), err, errlen);
        break;
    case LUA_TTABLE:
        n = lua_rawlen(L, v);
        if (o->type != XB_OPT_LIST) {
            if (n == 2 && lua_rawgeti(L, v, 1) == LUA_TNUMBER &&
                lua_rawgeti(L, v, 2) == LUA_TNUMBER)
                rc = xb_bot_config_set_number(c, key, lua_tonumber(L, -2),
                                              lua_tonumber(L, -1), err, errlen);
            break;
        }
        /* #t of a table with holes can be any border, 2^62 say. */
        if (n == 0 || n > MAX_LIST)
            break;
        if (n > sizeof items / sizeof items[0])
            many = lua_newuserdatauv(L, n * sizeof *many, 0);
        /* The strings stay referenced by the table while they are copied;
         * a non-string item is NULL, which the core refuses. */
        for (i = 0; i < n; i++) {
            lua_rawgeti(L, v, (lua_Integer)(i + 1));
            many[i] = lua_type(L, -1) == LUA_TSTRING &&
                              strlen(lua_tostring(L, -1)) == lua_rawlen(L, -1)
                          ? lua_tostring(L, -1)
                          : NULL;
            lua_pop(L, 1);
        }
        rc = xb_bot_config_set_list(c, key, many, n, err, errlen);
        break;
    default:
        break;
    }
    lua_settop(L, top);
    /* rc 1: a value of the wrong type; the core says what it must be. */
    return rc == 1 ? xb_bot_config_set(c, key, NULL, err, errlen) : rc;
}

/* bots.config(kind, options) -> config | nil, key, what
 * Checks every key of the options table against the kind's option table:
 * an unknown key gives nil, key (and no what); a bad value nil, key and
 * what it must be; a bad combination nil, nil, the reason. One config is
 * shared by any number of bots. */
static int Lconfig(lua_State *L)
{
    const struct xb_bot_kind *k = xb_bot_kind_find(luaL_checkstring(L, 1));
    struct config *c;
    char err[300];

    if (!k)
        return luaL_error(L, "no bot kind named '%s'", lua_tostring(L, 1));
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    c = lua_newuserdatauv(L, sizeof *c, 0); /* 3 */
    c->cfg = NULL;
    luaL_setmetatable(L, CONFIG_MT);
    c->cfg = xb_bot_config_new(k);
    if (!c->cfg)
        return luaL_error(L, "%s", "out of memory");
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        const char *key =
            lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        int rc =
            key ? set_option(L, c->cfg, key, lua_gettop(L), err, sizeof err)
                : XB_ENOTFOUND;

        if (rc) {
            lua_pushnil(L);
            lua_pushvalue(L, -3); /* the key */
            if (rc == XB_ENOTFOUND)
                return 2;
            lua_pushstring(L, err);
            return 3;
        }
        lua_pop(L, 1);
    }
    if (xb_bot_config_check(c->cfg, err, sizeof err)) {
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 3;
    }
    lua_settop(L, 3);
    return 1;
}

static int Lconfig_gc(lua_State *L)
{
    struct config *c = check_config(L, 1);

    xb_bot_config_free(c->cfg);
    c->cfg = NULL;
    return 0;
}

/* bots.kinds() -> { { name, summary, start_rate, service, pages,
 *   own_room_presence, options = { { name, arg, help, type, default } },
 *   counters = { { name, label, help } } } }, in registry order: what a
 * host shows and validates, from the kinds' tables. service: the bot is a
 * domain of its own (XB_KIND_SERVICE); pages: it serves web pages
 * (bot:http); own_room_presence: XB_KIND_OWN_ROOM_PRESENCE. */
static int Lkinds(lua_State *L)
{
    const struct xb_bot_option *o;
    unsigned i, j, n;
    char def[64];

    lua_newtable(L);
    for (i = 0; xb_bot_kinds[i]; i++) {
        const struct xb_bot_kind *k = xb_bot_kinds[i];

        lua_createtable(L, 0, 8);
        set_str(L, "name", k->name);
        set_str(L, "summary", k->summary);
        set_count(L, "start_rate", k->start_rate);
        lua_pushboolean(L, (k->flags & XB_KIND_SERVICE) != 0);
        lua_setfield(L, -2, "service");
        lua_pushboolean(L, k->http != NULL);
        lua_setfield(L, -2, "pages");
        lua_pushboolean(L, (k->flags & XB_KIND_OWN_ROOM_PRESENCE) != 0);
        lua_setfield(L, -2, "own_room_presence");
        lua_newtable(L);
        for (o = k->options, j = 1; o->name; o++, j++) {
            lua_createtable(L, 0, 5);
            set_str(L, "name", o->name);
            set_str(L, "arg", o->arg);
            set_str(L, "help", o->help);
            set_str(L, "type", xb_bot_option_type_name(o->type));
            xb_bot_option_default(o, def, sizeof def);
            if (def[0])
                set_str(L, "default", def);
            lua_rawseti(L, -2, j);
        }
        lua_setfield(L, -2, "options");
        n = xb_bot_ncounters(k);
        lua_createtable(L, (int)n, 0);
        for (j = 0; j < n; j++) {
            const struct xb_bot_counter *c = xb_bot_counter_at(k, j);

            lua_createtable(L, 0, 3);
            set_str(L, "name", c->name);
            set_str(L, "label", c->label);
            set_str(L, "help", c->help);
            lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
        lua_setfield(L, -2, "counters");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* --- pools ---------------------------------------------------------------- */

static struct pool *check_pool(lua_State *L, int idx)
{
    struct pool *p = luaL_checkudata(L, idx, POOL_MT);

    if (p->closed)
        luaL_error(L, "%s", "pool is closed");
    return p;
}

/* Takes the pool's store callbacks from the table at index 1 into the
 * pool at the top of the stack; raises on a bad table. */
static void pool_storage(lua_State *L, struct pool *p)
{
    static const char *const names[] = {"store_load", "store_put", "store_del"};
    int i, n = 0;

    for (i = UV_STORE_LOAD; i <= UV_STORE_DEL; i++) {
        int t = lua_getfield(L, 1, names[i - UV_STORE_LOAD]);

        if (t != LUA_TFUNCTION && t != LUA_TNIL)
            luaL_error(L, "pool %s must be a function",
                       names[i - UV_STORE_LOAD]);
        n += t == LUA_TFUNCTION;
        lua_setiuservalue(L, -2, i);
    }
    if (n == 3) {
        p->host.store_load = h_store_load;
        p->host.store_put = h_store_put;
        p->host.store_del = h_store_del;
    } else if (n) {
        luaL_error(L, "%s",
                   "pool store_load, store_put and store_del go together");
    }
}

/* bots.pool{ send = function(data, stanza), log = function(data, level,
 *   msg), wake = function(seconds), store_load = function(data),
 *   store_put = function(data, key, value), store_del = function(data,
 *   key), http_url = "https://.../" } -> pool
 * The store callbacks (all three, or none: the bots keep their data in
 * memory) keep each bot's key/value pairs, strings both: store_load
 * returns them all as a table, the others true; any of them nil, err on
 * failure. http_url is where the host serves the bots' pages (bot:http),
 * ending in '/'. */
static int Lpool(lua_State *L)
{
    struct pool *p;
    const char *url;
    size_t n;
    int i;

    luaL_checktype(L, 1, LUA_TTABLE);
    p = lua_newuserdatauv(L, sizeof *p, POOL_NUV);
    memset(p, 0, sizeof *p);
    p->host.send = h_send;
    p->host.set_timer = h_set_timer;
    p->host.log = h_log;
    p->host.now_us = h_now_us;
    p->wake_at = INT64_MAX;
    luaL_setmetatable(L, POOL_MT);
    for (i = UV_SEND; i <= UV_WAKE; i++) {
        static const char *const names[] = {"send", "log", "wake"};
        int t = lua_getfield(L, 1, names[i - 1]);

        if (t != LUA_TFUNCTION && (t != LUA_TNIL || i == UV_SEND))
            return luaL_error(L, "pool %s must be a function", names[i - 1]);
        lua_setiuservalue(L, -2, i);
    }
    pool_storage(L, p);
    switch (lua_getfield(L, 1, "http_url")) {
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
        url = lua_tolstring(L, -1, &n);
        if (strlen(url) == n && n && url[n - 1] == '/') {
            if (!(p->http_url = strdup(url)))
                return luaL_error(L, "%s", "out of memory");
            p->host.http_url = h_http_url;
            break;
        }
        /* fall through */
    default:
        return luaL_error(L, "%s", "pool http_url must be a URL ending in '/'");
    }
    lua_pop(L, 1);
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

/* pool:new{ config =, jid =, seed =, index =, data = } -> bot | nil, err
 * The bot's generator is seeded from (seed, index) by the core, as in
 * every host, so a run repeats whichever host drives the bot. */
static int Lpool_new(lua_State *L)
{
    struct pool *p = check_pool(L, 1);
    struct config *cfg;
    struct lbot *b;
    struct saved sv;
    const char *jid;
    lua_Integer seed, index;
    char why[300];
    int bot, cfg_idx;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_getfield(L, 2, "config");
    cfg_idx = lua_gettop(L);
    cfg = check_config(L, cfg_idx);
    if (lua_getfield(L, 2, "jid") != LUA_TSTRING)
        return luaL_error(L, "%s", "jid must be a string");
    jid = lua_tostring(L, -1);
    lua_getfield(L, 2, "seed");
    seed = luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "index");
    index = luaL_optinteger(L, -1, 0);

    b = lua_newuserdatauv(L, sizeof *b, BOT_NUV);
    bot = lua_gettop(L);
    memset(b, 0, sizeof *b);
    b->pool = p;
    xb_timer_init(&b->timer, NULL);
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
    why[0] = '\0';
    p->capture = why;
    p->capture_len = sizeof why;
    /* Entered: a kind may load its stored data while it is made. */
    enter(p, L, 1, bot, &sv);
    b->bot =
        xb_bot_new(cfg->cfg, jid, &p->host, b, (uint64_t)seed, (uint64_t)index);
    leave(p, &sv);
    p->capture = NULL;
    if (!b->bot) {
        p->free_slots[p->nfree++] = b->slot;
        lua_pushnil(L);
        lua_pushfstring(L, "cannot create %s bot '%s': %s",
                        xb_bot_config_kind(cfg->cfg)->name, jid,
                        why[0] ? why : "out of memory");
        return 2;
    }
    b->timer.fire = on_timer;
    p->nbots++;
    lua_getiuservalue(L, 1, UV_BOTS);
    lua_pushvalue(L, bot);
    lua_rawseti(L, -2, b->slot);
    lua_pop(L, 1);
    lua_getiuservalue(L, 1, UV_ANCHORS);
    lua_pushvalue(L, cfg_idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, bot);
    return 1;
}

/* pool:tick([max]) -> seconds until the next timer (0: more are due) |
 * nil if none is armed. Fires the timers that are due, at most max of them
 * (the earliest; all by default; 0 fires none, to ask when the next is). */
static int Lpool_tick(lua_State *L)
{
    struct pool *p = check_pool(L, 1);
    lua_Integer max = luaL_optinteger(L, 2, UINT32_MAX);
    struct saved sv;
    int64_t now, d;

    luaL_argcheck(L, max >= 0, 2, "must not be negative");
    lua_settop(L, 1);
    lua_getiuservalue(L, 1, UV_BOTS); /* 2 */
    enter(p, L, 1, 3, &sv);
    p->bots_idx = 2;
    p->in_tick++;
    xb_timers_run_max(&p->timers, now_ms(),
                      max < UINT32_MAX ? (uint32_t)max : UINT32_MAX);
    p->in_tick--;
    leave(p, &sv);
    if (!p->timers.n) {
        p->wake_at = INT64_MAX;
        return 0;
    }
    now = now_ms();
    d = xb_timers_next(&p->timers) - now;
    if (d < 0)
        d = 0;
    p->wake_at = now + d;
    lua_pushnumber(L, (double)d / 1000.0);
    return 1;
}

/* pool:stats() -> { bots, online, timers, errors, refused, and the bots'
 *   counters summed by name (closed bots included) } */
static int Lpool_stats(lua_State *L)
{
    struct pool *p = check_pool(L, 1);
    uint64_t *sum[MAX_KINDS] = {NULL};
    unsigned k;
    uint32_t i;

    lua_settop(L, 1);
    lua_getiuservalue(L, 1, UV_BOTS); /* 2 */
    for (k = 0; xb_bot_kinds[k]; k++) {
        sum[k] = lua_newuserdatauv(
            L, xb_bot_ncounters(xb_bot_kinds[k]) * sizeof(uint64_t), 0);
        memset(sum[k], 0, xb_bot_ncounters(xb_bot_kinds[k]) * sizeof(uint64_t));
    }
    for (i = 1; i <= p->nslots; i++) {
        if (lua_rawgeti(L, 2, i) == LUA_TUSERDATA) {
            struct lbot *b = lua_touserdata(L, -1);

            if (b->bot)
                xb_bot_counters_add(b->bot,
                                    sum[kind_index(xb_bot_kind_of(b->bot))]);
        }
        lua_pop(L, 1);
    }
    lua_createtable(L, 0, 24);
    for (k = 0; xb_bot_kinds[k]; k++) {
        add_counters(L, xb_bot_kinds[k], sum[k]);
        if (p->retired[k])
            add_counters(L, xb_bot_kinds[k], p->retired[k]);
    }
    set_count(L, "bots", p->nbots);
    set_count(L, "online", p->nonline);
    set_count(L, "timers", p->timers.n);
    set_count(L, "errors", p->errors);
    set_count(L, "refused", p->refused);
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
    xb_timers_free(&p->timers);
    free(p->free_slots);
    p->free_slots = NULL;
    p->nfree = 0;
    for (i = 0; i < MAX_KINDS; i++) {
        free(p->retired[i]);
        p->retired[i] = NULL;
    }
    xb_stanza_free(p->scratch);
    p->scratch = NULL;
    xb_stanza_free(p->last);
    p->last = NULL;
    free(p->http_url);
    p->http_url = NULL;
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

/* bots.roundtrip(stanza [, previous]) -> stanza | nil, err: Lua table ->
 * core tree -> new Lua table, the two conversions every bot stanza goes
 * through; with previous, what a bot sees of stanza right after previous
 * (previous's tree patched, as bot:deliver() does). */
static int Lroundtrip(lua_State *L)
{
    struct box *x;
    struct xb_stanza *st = NULL;
    const char *err = NULL;

    luaL_checkany(L, 1);
    lua_settop(L, 2);
    x = new_box(L);
    if (!lua_isnil(L, 2)) {
        x->scratch = xbl_bridge_to_core(L, 2, &x->scratch, &err);
        if (x->scratch && xbl_bridge_patch(L, 1, x->scratch))
            st = x->scratch;
    }
    if (!st)
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
    {"online", Lbot_online},   {"deliver", Lbot_deliver}, {"timer", Lbot_timer},
    {"offline", Lbot_offline}, {"stop", Lbot_stop},       {"close", Lbot_close},
    {"stats", Lbot_stats},     {"http", Lbot_http},       {NULL, NULL}};

static const luaL_Reg pool_methods[] = {{"new", Lpool_new},
                                        {"tick", Lpool_tick},
                                        {"stats", Lpool_stats},
                                        {"close", Lpool_close},
                                        {NULL, NULL}};

static const luaL_Reg functions[] = {{"pool", Lpool},
                                     {"config", Lconfig},
                                     {"kinds", Lkinds},
                                     {"roundtrip", Lroundtrip},
                                     {"serialize", Lserialize},
                                     {"parse", Lparse},
                                     {NULL, NULL}};

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
    unsigned nkinds = 0;

    while (xb_bot_kinds[nkinds])
        nkinds++;
    if (nkinds > MAX_KINDS)
        return luaL_error(L, "%s", "more bot kinds than MAX_KINDS");
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
    /* bots.deliver(bot, stanza) is bot:deliver(stanza), for a host that
     * calls it for every stanza routed to a bot (no method lookup). */
    lua_pushcfunction(L, Lbot_deliver);
    lua_setfield(L, -2, "deliver");
    lua_pushcfunction(L, Lbots_deliver_all);
    lua_setfield(L, -2, "deliver_all");
    lua_pushliteral(L, PACKAGE_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
