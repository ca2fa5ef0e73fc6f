/*
 * The bridge between Prosody's Lua stanza tables and the core's stanza
 * trees, done by walking the tables in C (no tostring + reparse). Internal
 * to the Lua module: nothing here is exported from the shared object.
 */
#ifndef XBL_BRIDGE_H
#define XBL_BRIDGE_H

#include <lua.h>

#include "stanza.h"

/* Deepest element nesting accepted from a Lua table; deeper (or cyclic)
 * tables are refused. */
#define XBL_MAX_DEPTH 200

/* Most memory a tree made from a Lua table may take (the table may share
 * subtables, so that a few kilobytes of Lua stand for a huge tree); a
 * larger one is refused. */
#define XBL_MAX_TREE_BYTES ((size_t)16 << 20)

/* Registry key under which the stanza metatable is kept. */
extern const char xbl_stanza_mt_key;

/*
 * Looks up util.stanza's stanza_mt (through require) and keeps it in the
 * registry. Returns 1, or 0 with an error message pushed (Prosody's util
 * modules are not on package.path). May raise only on out-of-memory.
 */
int xbl_bridge_init(lua_State *L);

/*
 * Converts the stanza table at index idx into a new core tree, copying
 * everything (the table may be reused as soon as this returns). A missing
 * attr.xmlns means the parent's namespace, and jabber:client at the top.
 * On success returns the tree (caller frees with xb_stanza_free); on
 * malformed input or out-of-memory returns NULL and stores a static,
 * one-line reason in *err. Uses no Lua call that can raise, except that
 * pushing values may fail on out-of-memory: callers that must not leak
 * keep *scratch (set to the tree under construction, NULL when returned)
 * somewhere a finalizer frees it.
 */
struct xb_stanza *xbl_bridge_to_core(lua_State *L, int idx,
                                     struct xb_stanza **scratch,
                                     const char **err);

/*
 * Makes st, a tree xbl_bridge_to_core() made, what it would make of the
 * stanza table at index idx, if the table differs from what st was made
 * of in attribute values and texts only (as MUC's copies of a message
 * differ in attr.to): those are checked, copied in and replace the old
 * ones, which stay in st's memory until it is freed. Returns 1 if so; 0
 * if the table differs in more, or is malformed, or out of memory (st may
 * then be half patched: convert the table afresh). Uses no Lua call that
 * can raise, except as xbl_bridge_to_core() does.
 */
int xbl_bridge_patch(lua_State *L, int idx, struct xb_stanza *st);

/*
 * Pushes a new stanza table for the element st, with util.stanza's
 * metatable, the name/attr/tags fields and the children in the array
 * part. attr.xmlns is set the way util.xmppstream sets it for a stanza
 * read from a c2s stream: on every element outside jabber:client and on
 * all elements below one, never on a top-level jabber:client stanza.
 * Raises on out-of-memory: call it from a protected call whenever a raise
 * would cross the core.
 */
void xbl_bridge_push(lua_State *L, const struct xb_stanza *st);

#endif
