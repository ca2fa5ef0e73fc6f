/*
 * libFuzzer target for mod_bots' bridge between Prosody stanza tables and
 * core trees (plain cc builds it too, with liblua5.4). The input is a
 * small program that builds one Lua value, stanza-shaped or hostile; the
 * value goes through xbl_bridge_to_core(), xbl_bridge_push() and
 * xbl_bridge_patch() in a lua_State whose allocator counts bytes and can
 * refuse allocations, and util.stanza (Prosody's, from
 * $XB_PROSODY_DIR, default /usr/lib/prosody) gives the metatable.
 *
 * Byte 0: below 0x80 no allocation fails; else, in every bridge call under
 * test, Lua's allocations from the Nth on fail, N = 1 + k * (k + 1) / 8
 * with k = byte & 0x7f. Byte 1: bits 0-1 what is patched in (0 a mutated
 * deep copy of the value, 1 the value itself mutated in place, 2 an
 * unmutated deep copy, 3 a mutated deep copy, into a compact copy of the
 * tree); bits 2-7 seed the mutations (attribute values and texts made
 * longer, shorter, empty, not UTF-8, with NUL, other bytes, a number).
 * Then ops on a stack of at most 48 Lua values; the value at the bottom
 * is the one converted (nil if none):
 *   "..."   push a string: the bytes up to the next ", \ quoting a byte
 *   e       pop v, push {name = v, attr = {}, tags = {}} with stanza_mt
 *   E       pop v, push {name = v}
 *   a       pop v, pop k: attr[k] = v on the element now on top
 *   t       pop v: append it to the top's children, and to its tags if
 *           it is a table; c: to the children only; g: to tags only
 *   f       pop v, pop k: top[k] = v
 *   k       pop b, pop a: push a .. "\1" .. b (a namespaced attribute key)
 *   n b { u F         push nil, true, a new table, a light userdata, a
 *                     C function
 *   i<byte> d<byte>   push an integer, a float (byte / 4; 0x7f NaN, 0x80
 *                     infinity)
 *   D O<byte>         push a copy of the top, of the value byte % depth
 *                     below it (shared subtables, cycles)
 *   S P               swap the top two, pop
 *   W<byte>  wrap the top in byte elements named as it is (depth; 2048
 *            elements an input at most)
 *   H<byte>  the top string repeated to (1 + byte) * 256 bytes (64 KiB at
 *            most, 256 KiB an input)
 *   m M      give the top util.stanza's metatable, or one whose every
 *            metamethod raises
 * Other bytes are skipped (spaces make seeds readable).
 *
 * Checked, beyond "no crash, no leak" (ASan's leak check sees every tree
 * left behind, *scratch included): xbl_bridge_to_core() gives NULL and a
 * non-empty one-line reason, or a tree that says exactly what the table
 * says (names, namespaces, attributes, text, read here independently),
 * that the core serializes as XML its parser reads back to the same
 * serialization; xbl_bridge_push() of it gives util.stanza's shape and
 * converts back to the same tree (but for the order of attributes, which
 * a Lua table does not keep), and patching that conversion with its own
 * table succeeds and changes nothing; a patch that succeeds gives what a
 * fresh conversion gives, and never succeeds where a fresh conversion
 * fails; patching back to the original gives the original. No call moves
 * the Lua stack top, none raises unless an allocation was refused, and
 * after every input a full collection brings Lua's heap back to what it
 * was.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "buf.h"
#include "error.h"
#include "parser.h"
#include "serialize.h"
#include "stanza.h"
#include "xmpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_STACK 48
#define FZ_HUGE_MAX (64 * 1024)    /* one H string */
#define FZ_HUGE_TOTAL (256 * 1024) /* H strings of one input */
#define FZ_WRAP_TOTAL 2048         /* W elements of one input */
#define FZ_HEAP_MAX ((size_t)64 << 20)
#define FZ_HEAP_SLACK (256 * 1024) /* what a full GC may leave over */
#define FZ_MUTATE_NODES 4096

/* Parsing a serialization back: as deep as the bridge goes, and more. */
static const struct xb_parser_limits fz_limits = {(size_t)1 << 30, 1024,
                                                  1u << 16};

static struct {
    lua_State *L;
    size_t bytes, baseline; /* Lua's heap now, and after setup */
    unsigned long allocs;   /* growing allocations while armed */
    unsigned long fail_at;  /* the first that fails; 0 never */
    int armed;
    int verbose; /* $XB_FUZZ_VERBOSE: print what the value converts to */
    int refused; /* an allocation was refused (by fail_at or the cap) */
    int capped;  /* one was refused for FZ_HEAP_MAX */
    struct xb_stanza *scratch; /* xbl_bridge_to_core's, across calls */
} fz;

/* Registry key of the metatable whose every metamethod raises. */
static const char fz_hostile_key = 0;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_bridge: %s%s%.300s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* ---- Lua's heap ------------------------------------------------------- */

/* Counts the bytes of Lua's heap; refuses growth past FZ_HEAP_MAX, and
 * while armed from the fail_at-th growing allocation on. Shrinking never
 * fails (Lua relies on that). */
static void *fz_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    size_t old = ptr ? osize : 0;
    void *p;

    (void)ud;
    if (nsize == 0) {
        free(ptr);
        fz.bytes -= old;
        return NULL;
    }
    if (nsize > old) {
        if (fz.armed && fz.fail_at && ++fz.allocs >= fz.fail_at) {
            fz.refused = 1;
            return NULL;
        }
        if (fz.bytes - old + nsize > FZ_HEAP_MAX) {
            fz.refused = fz.capped = 1;
            return NULL;
        }
    }
    p = realloc(ptr, nsize);
    if (!p)
        return NULL;
    fz.bytes = fz.bytes - old + nsize;
    return p;
}

static int raise_always(lua_State *L)
{
    return luaL_error(L, "%s", "a metamethod ran");
}

static void teardown(void)
{
    xb_stanza_free(fz.scratch);
    fz.scratch = NULL;
    lua_close(fz.L);
}

/*
 * The state every input uses: the standard libraries, util.stanza found
 * on package.path (util.encodings, its C module on ICU, replaced by a
 * stub: the bridge calls nothing of it, and ICU's one-time allocations
 * would read as leaks), xbl_bridge_init() once. Without Prosody's Lua
 * sources, exits 77 (a skip for make check).
 */
static void setup(void)
{
    static const char *const events[] = {
        "__index", "__newindex", "__len",    "__pairs", "__eq",
        "__lt",    "__le",       "__concat", "__call",  "__close"};
    const char *dir = getenv("XB_PROSODY_DIR");
    lua_State *L = lua_newstate(fz_alloc, NULL);
    size_t i;

    if (!L)
        die("lua_newstate failed", NULL);
    fz.L = L;
    fz.verbose = getenv("XB_FUZZ_VERBOSE") != NULL;
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua", dir && *dir ? dir : "/usr/lib/prosody");
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    if (luaL_dostring(L, "package.preload['util.encodings'] = function()\n"
                         "  return { utf8 = { valid = function(s)\n"
                         "    return utf8.len(s) ~= nil end } }\n"
                         "end"))
        die("the util.encodings stub failed", lua_tostring(L, -1));
    if (!xbl_bridge_init(L)) {
        fprintf(stderr, "fuzz_bridge: skipped: %s\n", lua_tostring(L, -1));
        lua_close(L);
        exit(77);
    }
    lua_createtable(L, 0, 12);
    for (i = 0; i < sizeof events / sizeof *events; i++) {
        lua_pushcfunction(L, raise_always);
        lua_setfield(L, -2, events[i]);
    }
    lua_pushliteral(L, "hostile");
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &fz_hostile_key);
    lua_settop(L, 0);
    atexit(teardown);
    lua_gc(L, LUA_GCCOLLECT, 0);
    fz.baseline = fz.bytes;
}

/* ---- building the value ------------------------------------------------ */

/* One input's run; what it owns is freed after it, even if it raised. */
struct fz_run {
    const uint8_t *data;
    size_t size;
    size_t huge;             /* bytes of H strings so far */
    unsigned wraps;          /* W elements so far */
    struct xb_stanza *tree;  /* the value converted */
    struct xb_stanza *work;  /* its compact copy, patched (byte 1: 3) */
    struct xb_stanza *back;  /* its pushed table converted */
    struct xb_stanza *fresh; /* the table to patch with, converted */
    struct xb_buf ser;       /* the tree's serialization */
    struct xb_buf a, b;      /* other serializations */
};

/* Can k be a table key without raising (not nil, not NaN)? */
static int good_key(lua_State *L, int k)
{
    lua_Number n;

    if (lua_isnil(L, k))
        return 0;
    if (lua_type(L, k) == LUA_TNUMBER && !lua_isinteger(L, k)) {
        n = lua_tonumber(L, k);
        return n == n;
    }
    return 1;
}

/* Pushes the string literal starting at p (after its "); returns where
 * the program goes on. */
static const uint8_t *literal(lua_State *L, const uint8_t *p,
                              const uint8_t *end)
{
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    while (p < end && *p != '"') {
        if (*p == '\\' && p + 1 < end)
            p++;
        luaL_addchar(&b, (char)*p++);
    }
    luaL_pushresult(&b);
    return p < end ? p + 1 : p;
}

/* Replaces the value on top with a new element named by it. */
static void new_element(lua_State *L, int full)
{
    lua_createtable(L, 0, 3);
    lua_insert(L, -2);
    lua_setfield(L, -2, "name");
    if (full) {
        lua_newtable(L);
        lua_setfield(L, -2, "attr");
        lua_newtable(L);
        lua_setfield(L, -2, "tags");
        lua_rawgetp(L, LUA_REGISTRYINDEX, &xbl_stanza_mt_key);
        lua_setmetatable(L, -2);
    }
}

/* Appends the value on top to the array part of the table at idx. */
static void append(lua_State *L, int idx)
{
    lua_Unsigned n = lua_rawlen(L, idx);

    if (n < (lua_Unsigned)LUA_MAXINTEGER)
        lua_rawseti(L, idx, (lua_Integer)n + 1);
    else
        lua_pop(L, 1);
}

/* Pops the value on top into the children (t, c) and the tags (t, g) of
 * the table below it. */
static void add_child(lua_State *L, int op)
{
    int parent = lua_gettop(L) - 1;

    if (!lua_istable(L, parent)) {
        lua_pop(L, 1);
        return;
    }
    if (op != 'g') {
        lua_pushvalue(L, -1);
        append(L, parent);
    }
    if (op != 'c' && lua_istable(L, -1)) {
        lua_pushliteral(L, "tags");
        if (lua_rawget(L, parent) == LUA_TTABLE) {
            lua_pushvalue(L, -2);
            append(L, lua_gettop(L) - 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The top value wrapped n times in elements named as it is (or "a"). */
static void wrap(lua_State *L, struct fz_run *r, unsigned n)
{
    int t;

    for (; n > 0 && r->wraps < FZ_WRAP_TOTAL; n--, r->wraps++) {
        t = LUA_TNIL;
        if (lua_istable(L, -1)) {
            lua_pushliteral(L, "name");
            if ((t = lua_rawget(L, -2)) != LUA_TSTRING)
                lua_pop(L, 1);
        }
        if (t != LUA_TSTRING)
            lua_pushliteral(L, "a");
        new_element(L, 1);
        lua_pushvalue(L, -2);
        lua_rawseti(L, -2, 1);
        if (lua_istable(L, -2)) {
            lua_pushliteral(L, "tags");
            lua_rawget(L, -2);
            lua_pushvalue(L, -3);
            lua_rawseti(L, -2, 1);
            lua_pop(L, 1);
        }
        lua_remove(L, -2);
    }
}

/* Replaces the string on top with itself repeated to (1 + by) * 256
 * bytes, within FZ_HUGE_MAX and FZ_HUGE_TOTAL. */
static void huge(lua_State *L, struct fz_run *r, unsigned by)
{
    size_t len, want = (size_t)(by + 1) * 256, have = 0, n;
    const char *s;
    luaL_Buffer b;

    if (lua_type(L, -1) != LUA_TSTRING)
        return;
    s = lua_tolstring(L, -1, &len);
    if (len == 0 || want <= len || want > FZ_HUGE_MAX ||
        r->huge + want > FZ_HUGE_TOTAL)
        return;
    r->huge += want;
    luaL_buffinit(L, &b);
    while (have < want) {
        n = want - have < len ? want - have : len;
        luaL_addlstring(&b, s, n);
        have += n;
    }
    luaL_pushresult(&b);
    lua_remove(L, -2);
}

/* Runs the program; leaves its value (or nil) at index base + 1. */
static void build(lua_State *L, struct fz_run *r, const uint8_t *p,
                  const uint8_t *end, int base)
{
    int op, n, arg;

    while (p < end) {
        op = *p++;
        n = lua_gettop(L) - base;
        arg = 0;
        if (op && strchr("iOdWH", op) && p < end)
            arg = *p++;
        luaL_checkstack(L, 8, NULL);
        if (n >= FZ_MAX_STACK && op && strchr("\"nb{uFidDO", op)) {
            if (op == '"') {
                p = literal(L, p, end);
                lua_pop(L, 1);
            }
            continue;
        }
        switch (op) {
        case '"':
            p = literal(L, p, end);
            break;
        case 'e':
        case 'E':
            if (n >= 1)
                new_element(L, op == 'e');
            break;
        case 'a':
        case 'f':
            if (n < 3)
                break;
            if (op == 'a' && lua_istable(L, -3)) {
                lua_pushliteral(L, "attr");
                lua_rawget(L, -4);
            } else {
                lua_pushvalue(L, -3);
            }
            if (lua_istable(L, -1) && good_key(L, -3)) {
                lua_insert(L, -3);
                lua_rawset(L, -3);
                lua_pop(L, 1);
            } else {
                lua_pop(L, 3);
            }
            break;
        case 't':
        case 'c':
        case 'g':
            if (n >= 2)
                add_child(L, op);
            break;
        case 'k':
            if (n >= 2 && lua_type(L, -1) == LUA_TSTRING &&
                lua_type(L, -2) == LUA_TSTRING) {
                lua_pushliteral(L, "\1");
                lua_insert(L, -2);
                lua_concat(L, 3);
            }
            break;
        case 'n':
            lua_pushnil(L);
            break;
        case 'b':
            lua_pushboolean(L, 1);
            break;
        case '{':
            lua_newtable(L);
            break;
        case 'u':
            lua_pushlightuserdata(L, r);
            break;
        case 'F':
            lua_pushcfunction(L, raise_always);
            break;
        case 'i':
            lua_pushinteger(L, (int8_t)arg);
            break;
        case 'd':
            lua_pushnumber(L, arg == 0x7f   ? (lua_Number)NAN
                              : arg == 0x80 ? (lua_Number)HUGE_VAL
                                            : (int8_t)arg / 4.0);
            break;
        case 'D':
            if (n >= 1)
                lua_pushvalue(L, -1);
            break;
        case 'O':
            if (n >= 1)
                lua_pushvalue(L, -1 - arg % n);
            break;
        case 'S':
            if (n >= 2)
                lua_rotate(L, -2, 1);
            break;
        case 'P':
            if (n >= 1)
                lua_pop(L, 1);
            break;
        case 'W':
            if (n >= 1)
                wrap(L, r, (unsigned)arg);
            break;
        case 'H':
            if (n >= 1)
                huge(L, r, (unsigned)arg);
            break;
        case 'm':
        case 'M':
            if (n >= 1 && lua_istable(L, -1)) {
                lua_rawgetp(L, LUA_REGISTRYINDEX,
                            op == 'm' ? &xbl_stanza_mt_key : &fz_hostile_key);
                lua_setmetatable(L, -2);
            }
            break;
        default:
            break;
        }
    }
    if (lua_gettop(L) == base)
        lua_pushnil(L);
    lua_settop(L, base + 1);
}

/* ---- deep copies and mutations ----------------------------------------- */

/* Pushes the copy of the value at v: itself unless a table; a table's
 * copy is made empty the first time (memo maps tables to their copies)
 * and queued to be filled. */
static void copy_of(lua_State *L, int v, int memo, int queue, lua_Integer *tail)
{
    v = lua_absindex(L, v);
    lua_pushvalue(L, v);
    if (!lua_istable(L, v) || lua_rawget(L, memo) != LUA_TNIL)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, v);
    lua_pushvalue(L, -2);
    lua_rawset(L, memo);
    lua_pushvalue(L, v);
    lua_rawseti(L, queue, ++*tail);
}

/* Pushes a deep copy of the value at idx: every table reachable from it
 * copied with its metatable, sharing and cycles kept (breadth first, so
 * that no depth is too much). */
static void deep_copy(lua_State *L, int idx)
{
    lua_Integer head = 1, tail = 0;
    int memo, queue, o, c;

    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 12, NULL);
    lua_newtable(L);
    memo = lua_gettop(L);
    lua_newtable(L);
    queue = lua_gettop(L);
    copy_of(L, idx, memo, queue, &tail);
    while (head <= tail) {
        lua_rawgeti(L, queue, head++);
        o = lua_gettop(L);
        lua_pushvalue(L, o);
        lua_rawget(L, memo);
        c = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, o)) {
            copy_of(L, -1, memo, queue, &tail);
            lua_pushvalue(L, -3);
            lua_insert(L, -2);
            lua_rawset(L, c);
            lua_pop(L, 1);
        }
        if (lua_getmetatable(L, o))
            lua_setmetatable(L, c);
        lua_settop(L, o - 1);
    }
    lua_replace(L, memo);
    lua_settop(L, memo);
}

static unsigned next_rand(unsigned *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* Pushes what the string at idx becomes (r picks how). */
static void push_variant(lua_State *L, int idx, unsigned r)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    luaL_Buffer b;

    switch (r % 8) {
    case 0:
        lua_pushvalue(L, idx);
        lua_pushliteral(L, "x\xC3\xA9");
        lua_concat(L, 2);
        break;
    case 1:
        lua_pushlstring(L, s, len / 2);
        break;
    case 2:
        lua_pushvalue(L, idx);
        lua_pushliteral(L, "\xFF");
        lua_concat(L, 2);
        break;
    case 3:
        lua_pushliteral(L, "");
        break;
    case 4:
        lua_pushlstring(L, "a\0b", 3);
        break;
    case 5: /* as long, another last byte */
        luaL_buffinit(L, &b);
        luaL_addlstring(&b, s, len ? len - 1 : 0);
        luaL_addchar(&b, len && s[len - 1] == 'y' ? 'z' : 'y');
        luaL_pushresult(&b);
        break;
    case 6:
        lua_pushinteger(L, 7);
        break;
    default:
        lua_pushvalue(L, idx);
    }
}

/* Changes about half of the attribute values and texts of the element
 * table at idx and below (cycles end at the depth the bridge refuses,
 * shared tables at a budget of nodes). */
static void mutate(lua_State *L, int idx, unsigned *rng, int depth,
                   unsigned *budget)
{
    lua_Unsigned i, n;
    int attr, t;

    if (depth > XBL_MAX_DEPTH + 1 || *budget == 0)
        return;
    (*budget)--;
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 8, NULL);
    lua_pushliteral(L, "attr");
    if (lua_rawget(L, idx) == LUA_TTABLE) {
        attr = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, attr)) {
            /* Assigning to an existing field keeps lua_next going. */
            if (lua_type(L, -1) == LUA_TSTRING && next_rand(rng) & 1) {
                push_variant(L, -1, next_rand(rng));
                lua_pushvalue(L, -3);
                lua_insert(L, -2);
                lua_rawset(L, attr);
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    n = lua_rawlen(L, idx);
    for (i = 1; i <= n && *budget; i++) {
        t = lua_rawgeti(L, idx, (lua_Integer)i);
        if (t == LUA_TSTRING && next_rand(rng) & 1) {
            push_variant(L, -1, next_rand(rng));
            lua_rawseti(L, idx, (lua_Integer)i);
        } else if (t == LUA_TTABLE) {
            mutate(L, -1, rng, depth + 1, budget);
        }
        lua_pop(L, 1);
    }
}

/* ---- the bridge calls under test ---------------------------------------- */

enum { OP_TO_CORE, OP_PATCH, OP_PUSH };

struct fz_call {
    int op;
    const struct xb_stanza *in; /* push: the tree */
    struct xb_stanza *st;       /* to_core: the result; patch: the tree */
    const char *err;            /* to_core: the reason */
    int ok;                     /* patch: the result */
    int refused;                /* an allocation was refused */
};

/* lua_pcall'd with (value, call): the one bridge call. */
static int call_bridge(lua_State *L)
{
    struct fz_call *c = lua_touserdata(L, 2);
    int top = lua_gettop(L);

    switch (c->op) {
    case OP_TO_CORE:
        c->st = xbl_bridge_to_core(L, -2, &fz.scratch, &c->err);
        break;
    case OP_PATCH:
        c->ok = xbl_bridge_patch(L, 1, c->st);
        break;
    default:
        xbl_bridge_push(L, c->in);
        if (lua_gettop(L) != top + 1)
            die("xbl_bridge_push did not push one value", NULL);
        return 1;
    }
    if (lua_gettop(L) != top)
        die(c->op == OP_PATCH ? "xbl_bridge_patch moved the stack top"
                              : "xbl_bridge_to_core moved the stack top",
            NULL);
    return 0;
}

/*
 * Makes the call c on the value at index v (as bots.c would: protected),
 * with allocation failures armed if arm. Returns 1 if it returned (a push
 * leaves its table on top), 0 if it raised, which only a refused
 * allocation may make it do.
 */
static int bridge(lua_State *L, struct fz_call *c, int v, int arm)
{
    int top = lua_gettop(L), rc;

    luaL_checkstack(L, 4, NULL);
    v = lua_absindex(L, v);
    lua_pushcfunction(L, call_bridge);
    lua_pushvalue(L, v);
    lua_pushlightuserdata(L, c);
    fz.refused = 0;
    fz.allocs = 0;
    fz.armed = arm;
    rc = lua_pcall(L, 2, c->op == OP_PUSH ? 1 : 0, 0);
    fz.armed = 0;
    c->refused = fz.refused;
    if (rc != LUA_OK) {
        if (!c->refused)
            die("a bridge call raised, with no allocation refused",
                lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    if (lua_gettop(L) != top + (rc == LUA_OK && c->op == OP_PUSH))
        die("a protected bridge call moved the stack top", NULL);
    return rc == LUA_OK;
}

/* xbl_bridge_to_core() of the table at v; a refusal must have a reason
 * of one line. */
static struct xb_stanza *to_core(lua_State *L, int v, int arm,
                                 struct fz_call *c)
{
    memset(c, 0, sizeof *c);
    c->op = OP_TO_CORE;
    if (!bridge(L, c, v, arm))
        return NULL;
    if (!c->st) {
        if (!c->err || !*c->err)
            die("xbl_bridge_to_core refused without a reason", NULL);
        if (strpbrk(c->err, "\r\n"))
            die("xbl_bridge_to_core's reason is not one line", c->err);
    }
    return c->st;
}

/* Returns 1 if xbl_bridge_patch(st, table at v) returned 1. */
static int patch(lua_State *L, int v, struct xb_stanza *st, int arm,
                 struct fz_call *c)
{
    memset(c, 0, sizeof *c);
    c->op = OP_PATCH;
    c->st = st;
    return bridge(L, c, v, arm) && c->ok;
}

/* ---- what a tree must be ------------------------------------------------ */

/* Is the Lua string at idx exactly the C string s? */
static int lstr_is(lua_State *L, int idx, const char *s)
{
    size_t len;
    const char *v = lua_tolstring(L, idx, &len);

    return v && strlen(s) == len && memcmp(s, v, len) == 0;
}

/* Pushes Prosody's key for the attribute {ns}name: form 0 "name",
 * "xml:name" or "ns\1name"; form 1 the other spelling ("\1name", the XML
 * namespace's name "\1name"), or returns 0. */
static int push_key(lua_State *L, const char *ns, const char *name, int form)
{
    if (form == 0 && !ns[0])
        lua_pushstring(L, name);
    else if (form == 0 && !strcmp(ns, XB_NS_XML))
        lua_pushfstring(L, "xml:%s", name);
    else if (form == 0 || !ns[0] || !strcmp(ns, XB_NS_XML))
        lua_pushfstring(L, "%s\1%s", ns, name);
    else
        return 0;
    return 1;
}

/* Every key of the attr table at index attr (but xmlns and xmlns:*) is an
 * attribute of el, and every attribute of el a key with its value. */
static void check_attrs(lua_State *L, int attr, const struct xb_stanza *el)
{
    const char *key, *value, *ns, *name, *ans, *aname, *avalue;
    size_t klen, vlen;
    char *buf, *sep;
    unsigned a;
    int form, found;

    lua_pushnil(L);
    while (lua_next(L, attr)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            die("an attribute that is not string = string was accepted", NULL);
        key = lua_tolstring(L, -2, &klen);
        value = lua_tolstring(L, -1, &vlen);
        if ((klen == 5 && !memcmp(key, "xmlns", 5)) ||
            (klen > 5 && !memcmp(key, "xmlns:", 6))) {
            lua_pop(L, 1);
            continue;
        }
        if (memchr(key, '\0', klen) || memchr(value, '\0', vlen))
            die("an attribute with a NUL byte was accepted", key);
        lua_pop(L, 1);
        /* Prosody's key forms: "ns\1name", "xml:name", "name". */
        if (!(buf = malloc(klen + 1)))
            die("out of memory", NULL);
        memcpy(buf, key, klen + 1);
        if ((sep = strchr(buf, '\1'))) {
            *sep = '\0';
            ns = buf;
            name = sep + 1;
        } else if (!strncmp(buf, "xml:", 4)) {
            ns = XB_NS_XML;
            name = buf + 4;
        } else {
            ns = "";
            name = buf;
        }
        if (!xb_stanza_attr(el, ns, name))
            die("an attribute of the table is not in the tree", name);
        free(buf);
    }
    for (a = 0; xb_stanza_attr_at(el, a, &ans, &aname, &avalue) == 0; a++) {
        found = 0;
        for (form = 0; form < 2 && !found; form++) {
            if (!push_key(L, ans, aname, form))
                continue;
            found =
                lua_rawget(L, attr) == LUA_TSTRING && lstr_is(L, -1, avalue);
            lua_pop(L, 1);
        }
        if (!found)
            die("an attribute of the tree is not in the table", aname);
    }
}

/*
 * The tree el must say exactly what the element table at idx says, read
 * here the way bridge.h documents it: its name; attr.xmlns, else the
 * parent's namespace (parent_ns; jabber:client at the top); the
 * attributes; the strings of the array part as text (empty ones dropped,
 * neighbours one text), its tables as child elements.
 */
static void check_element(lua_State *L, int idx, const struct xb_stanza *el,
                          const char *parent_ns)
{
    const struct xb_stanza *c;
    const char *s, *text = NULL;
    size_t len, off = 0, tlen = 0;
    lua_Unsigned i, n;
    int attr, t;

    luaL_checkstack(L, 8, NULL);
    idx = lua_absindex(L, idx);
    lua_pushliteral(L, "name");
    if (lua_rawget(L, idx) != LUA_TSTRING ||
        !lstr_is(L, -1, xb_stanza_name(el)))
        die("an element's name is not its table's", xb_stanza_name(el));
    lua_pushliteral(L, "attr");
    t = lua_rawget(L, idx);
    attr = lua_gettop(L);
    if (t != LUA_TTABLE && t != LUA_TNIL)
        die("an attr that is not a table was accepted", NULL);
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "xmlns");
        t = lua_rawget(L, attr);
    } else {
        lua_pushnil(L);
    }
    if (t == LUA_TSTRING ? !lstr_is(L, -1, xb_stanza_ns(el))
        : t == LUA_TNIL
            ? strcmp(xb_stanza_ns(el), parent_ns ? parent_ns : XB_NS_CLIENT)
            : 1)
        die("an element's namespace is not its table's", xb_stanza_ns(el));
    if (lua_istable(L, attr))
        check_attrs(L, attr, el);
    else if (xb_stanza_attr_count(el))
        die("attributes without an attr table", NULL);
    lua_settop(L, idx);

    n = lua_rawlen(L, idx);
    c = xb_stanza_first(el);
    for (i = 1; i <= n; i++) {
        t = lua_rawgeti(L, idx, (lua_Integer)i);
        if (t == LUA_TSTRING) {
            s = lua_tolstring(L, -1, &len);
            if (len && !text) {
                if (!c || !xb_stanza_is_text(c))
                    die("a text of the table is not in the tree", s);
                text = xb_stanza_text(c, &tlen);
                off = 0;
            }
            if (len && (len > tlen - off || memcmp(text + off, s, len)))
                die("a text of the tree is not its table's", text);
            off += len;
        } else if (t == LUA_TTABLE) {
            if (text) {
                if (off != tlen)
                    die("a text of the tree is longer than its table's", text);
                c = xb_stanza_next(c);
                text = NULL;
            }
            if (!c || xb_stanza_is_text(c))
                die("a child element of the table is not in the tree", NULL);
            check_element(L, -1, c, xb_stanza_ns(el));
            c = xb_stanza_next(c);
        } else {
            die("a child that is neither a string nor a table was accepted",
                lua_typename(L, t));
        }
        lua_pop(L, 1);
    }
    if (text) {
        if (off != tlen)
            die("a text of the tree is longer than its table's", text);
        c = xb_stanza_next(c);
    }
    if (c)
        die("the tree has children its table has not", NULL);
}

/* The shape util.stanza relies on, in a table xbl_bridge_push() made:
 * its metatable, attr, and tags listing exactly the child elements. */
static void check_shape(lua_State *L, int idx)
{
    lua_Unsigned i, n, j = 0;

    luaL_checkstack(L, 8, NULL);
    idx = lua_absindex(L, idx);
    if (!lua_getmetatable(L, idx))
        die("a pushed table has no metatable", NULL);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &xbl_stanza_mt_key);
    if (!lua_rawequal(L, -1, -2))
        die("a pushed table's metatable is not stanza_mt", NULL);
    lua_pushliteral(L, "attr");
    if (lua_rawget(L, idx) != LUA_TTABLE)
        die("a pushed table has no attr table", NULL);
    lua_pushliteral(L, "tags");
    if (lua_rawget(L, idx) != LUA_TTABLE)
        die("a pushed table has no tags table", NULL);
    n = lua_rawlen(L, idx);
    for (i = 1; i <= n; i++) {
        if (lua_rawgeti(L, idx, (lua_Integer)i) == LUA_TTABLE) {
            if (lua_rawgeti(L, -2, (lua_Integer)++j) != LUA_TTABLE ||
                !lua_rawequal(L, -1, -2))
                die("a pushed table's tags are not its child elements", NULL);
            lua_pop(L, 1);
            check_shape(L, -1);
        }
        lua_pop(L, 1);
    }
    if (lua_rawlen(L, -1) != j)
        die("a pushed table's tags list more than its child elements", NULL);
    lua_settop(L, idx);
}

/* ---- serializations ------------------------------------------------------ */

static void serialize(struct xb_buf *out, const struct xb_stanza *st)
{
    int rc;

    xb_buf_reset(out);
    if ((rc = xb_serialize(out, st, NULL)) != 0)
        die("xb_serialize failed", xb_strerror(rc));
    if (!out->data)
        die("the serialization is empty", NULL);
}

/* Aborts unless got and want hold the same bytes, showing where they
 * part. */
static void want_same(const char *what, const struct xb_buf *got,
                      const struct xb_buf *want)
{
    size_t i = 0, from;

    if (got->len == want->len && !memcmp(got->data, want->data, got->len))
        return;
    while (i < got->len && i < want->len && got->data[i] == want->data[i])
        i++;
    from = i > 40 ? i - 40 : 0;
    fprintf(stderr, "fuzz_bridge: at byte %zu of %zu: %.80s\n", i, got->len,
            got->data + from);
    fprintf(stderr, "fuzz_bridge: instead of %zu: %.80s\n", want->len,
            want->data + from);
    die(what, NULL);
}

/*
 * Serializes the tree st into out; the core's parser must read it as one
 * element, equal to st, which serializes the same again.
 */
static void check_xml(struct fz_run *r, const struct xb_stanza *st,
                      struct xb_buf *out)
{
    struct xb_stanza *back;
    enum xb_cond cond;
    int rc;

    serialize(out, st);
    if (xb_parser_parse_one_limits(out->data, out->len, &fz_limits, &back,
                                   &cond)) {
        fprintf(stderr, "fuzz_bridge: %s\n", xb_cond_name(cond));
        die("the serialization is not one well-formed element", out->data);
    }
    serialize(&r->a, back);
    rc = xb_stanza_equal(st, back);
    xb_stanza_free(back);
    want_same("the parsed serialization serializes differently", &r->a, out);
    if (!rc)
        die("the parsed serialization is another tree", out->data);
}

/* Are a and b the same tree but for the order of attributes (which a
 * Lua table does not keep)? */
static int same_but_order(const struct xb_stanza *a, const struct xb_stanza *b)
{
    const char *ns, *name, *value, *other;
    size_t alen, blen;
    unsigned i;

    if (xb_stanza_is_text(a) || xb_stanza_is_text(b)) {
        if (!xb_stanza_is_text(a) || !xb_stanza_is_text(b))
            return 0;
        value = xb_stanza_text(a, &alen);
        other = xb_stanza_text(b, &blen);
        return alen == blen && !memcmp(value, other, alen);
    }
    if (strcmp(xb_stanza_name(a), xb_stanza_name(b)) ||
        strcmp(xb_stanza_ns(a), xb_stanza_ns(b)) ||
        xb_stanza_attr_count(a) != xb_stanza_attr_count(b))
        return 0;
    for (i = 0; xb_stanza_attr_at(a, i, &ns, &name, &value) == 0; i++)
        if (!(other = xb_stanza_attr(b, ns, name)) || strcmp(value, other))
            return 0;
    for (a = xb_stanza_first(a), b = xb_stanza_first(b); a && b;
         a = xb_stanza_next(a), b = xb_stanza_next(b))
        if (!same_but_order(a, b))
            return 0;
    return !a && !b;
}

/* ---- one input ----------------------------------------------------------- */

/* Pushes the table to patch with (byte 1's scheme) for the value at v. */
static void patch_table(lua_State *L, int v, unsigned ctl)
{
    unsigned rng = (ctl >> 2) * 2654435761u + 1, budget = FZ_MUTATE_NODES;

    if ((ctl & 3) == 1)
        lua_pushvalue(L, v);
    else
        deep_copy(L, v);
    if ((ctl & 3) != 2 && lua_istable(L, -1))
        mutate(L, -1, &rng, 0, &budget);
}

/* The checks of one input, run protected: only a refusal of FZ_HEAP_MAX
 * may raise out of here. */
static int run(lua_State *L)
{
    struct fz_run *r = lua_touserdata(L, 1);
    struct fz_call c;
    unsigned ctl = r->size > 1 ? r->data[1] : 0;
    int v, p, fresh_refused;

    lua_settop(L, 0);
    build(L, r, r->data + (r->size > 2 ? 2 : r->size), r->data + r->size, 0);
    v = 1;

    /* The value as it is. */
    r->tree = to_core(L, v, 1, &c);
    if (fz.verbose && !r->tree)
        fprintf(stderr, "fuzz_bridge: refused: %s\n",
                c.err ? c.err : "(it raised)");
    if (!r->tree)
        return 0;
    check_element(L, v, r->tree, NULL);
    check_xml(r, r->tree, &r->ser);
    if (fz.verbose)
        fprintf(stderr, "fuzz_bridge: %s\n", r->ser.data);

    /* Pushed and converted back, it is the same; patching the conversion
     * with its own (canonical) table changes nothing. */
    memset(&c, 0, sizeof c);
    c.op = OP_PUSH;
    c.in = r->tree;
    if (!bridge(L, &c, v, 1) && fz.verbose)
        fprintf(stderr, "fuzz_bridge: push raised (out of memory)\n");
    if (lua_gettop(L) > v) {
        p = lua_gettop(L);
        check_shape(L, p);
        r->back = to_core(L, p, 1, &c);
        if (r->back) {
            serialize(&r->b, r->back);
            if (!same_but_order(r->tree, r->back))
                die("a pushed tree converts back to another", r->b.data);
            if (patch(L, p, r->back, 1, &c)) {
                serialize(&r->a, r->back);
                want_same("patching a tree with its own table changed it",
                          &r->a, &r->b);
            } else if (!c.refused) {
                die("a tree does not patch with its own pushed table",
                    r->ser.data);
            }
        } else if (!c.refused) {
            die("a pushed tree's table is refused", c.err);
        }
        lua_settop(L, v);
    }

    /* Patched with the table changed, it is what a fresh conversion of
     * that table gives, or the patch fails. */
    patch_table(L, v, ctl);
    p = lua_gettop(L);
    r->fresh = to_core(L, p, 0, &c);
    fresh_refused = c.refused;
    if (r->fresh) {
        check_element(L, p, r->fresh, NULL);
        check_xml(r, r->fresh, &r->b);
    }
    if ((ctl & 3) == 3 && !(r->work = xb_stanza_copy(r->tree)))
        die("xb_stanza_copy failed", NULL);
    if (!patch(L, p, r->work ? r->work : r->tree, 1, &c)) {
        if (fz.verbose)
            fprintf(stderr, "fuzz_bridge: patch refused%s\n",
                    c.refused ? " (out of memory)" : "");
        return 0;
    }
    if (fz.verbose)
        fprintf(stderr, "fuzz_bridge: patched\n");
    if (!r->fresh) {
        if (!fresh_refused)
            die("a patch succeeded with a table that is refused", NULL);
        return 0;
    }
    serialize(&r->a, r->work ? r->work : r->tree);
    want_same("a patched tree is not what a fresh conversion gives", &r->a,
              &r->b);

    /* And patched back with the original, it is the original. */
    if ((ctl & 3) != 1 && patch(L, v, r->work ? r->work : r->tree, 1, &c)) {
        serialize(&r->a, r->work ? r->work : r->tree);
        want_same("a tree patched back is not the original", &r->a, &r->ser);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_run r;
    lua_State *L;
    const char *err = NULL;
    unsigned k;
    int rc;

    if (!fz.L)
        setup();
    L = fz.L;
    memset(&r, 0, sizeof r);
    r.data = data;
    r.size = size;
    xb_buf_init(&r.ser);
    xb_buf_init(&r.a);
    xb_buf_init(&r.b);
    k = size > 0 && data[0] >= 0x80 ? data[0] & 0x7f : 0;
    fz.fail_at = size > 0 && data[0] >= 0x80 ? 1 + k * (k + 1) / 8 : 0;
    fz.capped = 0;

    lua_settop(L, 0);
    lua_pushcfunction(L, run);
    lua_pushlightuserdata(L, &r);
    rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK && !fz.capped)
        die("the run raised", lua_tostring(L, -1));
    lua_settop(L, 0);

    /* A conversion that raised left its tree in scratch: the next call
     * frees it. */
    lua_pushnil(L);
    if (xbl_bridge_to_core(L, 1, &fz.scratch, &err) || fz.scratch || !err)
        die("converting nil did not fail cleanly", NULL);
    lua_settop(L, 0);

    xb_stanza_free(r.tree);
    xb_stanza_free(r.work);
    xb_stanza_free(r.back);
    xb_stanza_free(r.fresh);
    xb_buf_free(&r.ser);
    xb_buf_free(&r.a);
    xb_buf_free(&r.b);
    lua_gc(L, LUA_GCCOLLECT, 0);
    if (fz.bytes > fz.baseline + FZ_HEAP_SLACK) {
        char n[64];

        snprintf(n, sizeof n, "%zu bytes, %zu after setup", fz.bytes,
                 fz.baseline);
        die("Lua's heap grew", n);
    }
    return 0;
}
