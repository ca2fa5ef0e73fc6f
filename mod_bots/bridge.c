/*
 * Prosody stanza tables <-> core stanza trees. A Prosody stanza is a table
 * { name = "message", attr = { to = ..., xmlns = ... }, tags = { ... },
 * [1..n] = children } where string children are text and table children
 * are elements (also listed, in order, in tags). Attribute keys are
 * "name", "xml:lang" for the XML namespace, and "ns\1name" for others.
 */
#include "bridge.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "xmpp.h"

const char xbl_stanza_mt_key = 0;

int xbl_bridge_init(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "util.stanza");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pushfstring(L,
                        "xmppbots_bots needs Prosody's util.stanza on "
                        "package.path: %s",
                        lua_tostring(L, -1));
        lua_remove(L, -2);
        return 0;
    }
    if (lua_type(L, -1) != LUA_TTABLE ||
        lua_getfield(L, -1, "stanza_mt") != LUA_TTABLE) {
        lua_pop(L, lua_type(L, -1) == LUA_TTABLE ? 2 : 1);
        lua_pushliteral(L, "util.stanza has no stanza_mt table");
        return 0;
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &xbl_stanza_mt_key);
    lua_pop(L, 1);
    return 1;
}

/* --- Lua table -> core tree ------------------------------------------- */

/* Field key of the table at idx, raw (no metamethods); pushes the value
 * and returns its type. */
static int raw_field(lua_State *L, int idx, const char *key)
{
    lua_pushstring(L, key);
    return lua_rawget(L, idx);
}

/* Sets attribute key = value on el, mapping Prosody's key forms. Returns
 * NULL or a reason. */
static const char *set_attr(struct xb_stanza *el, const char *key, size_t klen,
                            const char *value, size_t vlen)
{
    const char *sep = memchr(key, '\1', klen);
    char small[256], *ns = small;
    const char *reason = NULL;
    int rc;

    if (strlen(value) != vlen)
        return "attribute value contains a NUL byte";
    if (strlen(key) != klen)
        return "attribute name contains a NUL byte";
    if (!sep && (!strcmp(key, "xmlns") || !strncmp(key, "xmlns:", 6)))
        return NULL; /* the namespace (handled) or a declaration */
    if (!sep) {
        if (!strncmp(key, "xml:", 4))
            rc = xb_stanza_set_attr(el, XB_NS_XML, key + 4, value);
        else
            rc = xb_stanza_set_attr(el, NULL, key, value);
    } else {
        size_t nslen = (size_t)(sep - key);

        if (nslen >= sizeof small && !(ns = malloc(nslen + 1)))
            return "out of memory";
        memcpy(ns, key, nslen);
        ns[nslen] = '\0';
        rc = nslen ? xb_stanza_set_attr(el, ns, sep + 1, value)
                   : xb_stanza_set_attr(el, NULL, sep + 1, value);
        if (ns != small)
            free(ns);
    }
    if (rc == XB_ENOMEM)
        reason = "out of memory";
    else if (rc)
        reason = "invalid attribute (bad name, or a value that is not "
                 "UTF-8 XML text)";
    return reason;
}

/* Copies the attributes of the attr table at index attr onto el. */
static const char *copy_attrs(lua_State *L, int attr, struct xb_stanza *el)
{
    const char *key, *value, *reason;
    size_t klen, vlen;

    lua_pushnil(L);
    while (lua_next(L, attr)) {
        /* Type checks before lua_tolstring: converting a key in place
         * would confuse lua_next. */
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return "attribute name is not a string";
        }
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 2);
            return "attribute value is not a string";
        }
        key = lua_tolstring(L, -2, &klen);
        value = lua_tolstring(L, -1, &vlen);
        reason = set_attr(el, key, klen, value, vlen);
        lua_pop(L, 1);
        if (reason) {
            lua_pop(L, 1);
            return reason;
        }
    }
    return NULL;
}

/*
 * Converts the element table at absolute index idx. parent is NULL for the
 * top, whose new tree is stored in *root as soon as it exists (so that an
 * error, or a raise, never loses it). Returns NULL or a reason.
 */
static const char *element(lua_State *L, int idx, struct xb_stanza *parent,
                           struct xb_stanza **root, int depth)
{
    const char *name, *ns, *reason = NULL;
    struct xb_stanza *el;
    lua_Unsigned i, n;
    size_t len;
    int attr, t, has_attr;

    if (depth > XBL_MAX_DEPTH)
        return "stanza nested too deep (or a cycle)";
    if (!lua_checkstack(L, 6))
        return "out of Lua stack";
    if (raw_field(L, idx, "name") != LUA_TSTRING) {
        lua_pop(L, 1);
        return "element name is not a string";
    }
    name = lua_tolstring(L, -1, &len);
    if (strlen(name) != len) {
        lua_pop(L, 1);
        return "element name contains a NUL byte";
    }
    t = raw_field(L, idx, "attr");
    if (t != LUA_TTABLE && t != LUA_TNIL) {
        lua_pop(L, 2);
        return "attr is not a table";
    }
    attr = lua_gettop(L);
    has_attr = t == LUA_TTABLE;
    ns = NULL;
    if (has_attr) {
        t = raw_field(L, attr, "xmlns");
        if (t == LUA_TSTRING)
            ns = lua_tostring(L, -1);
        else if (t != LUA_TNIL) {
            lua_pop(L, 3);
            return "attr.xmlns is not a string";
        }
    } else {
        lua_pushnil(L);
    }
    /* Stack: name, attr, xmlns (each kept alive while el is built). */
    if (!parent) {
        el = xb_stanza_new(ns ? ns : XB_NS_CLIENT, name);
        *root = el;
    } else {
        el = xb_stanza_add_child(parent, ns, name);
    }
    if (!el) {
        lua_pop(L, 3);
        return "invalid element name or namespace (or out of memory)";
    }
    if (has_attr)
        reason = copy_attrs(L, attr, el);
    lua_pop(L, 3);
    if (reason)
        return reason;

    n = lua_rawlen(L, idx);
    for (i = 1; i <= n; i++) {
        const char *s;

        t = lua_rawgeti(L, idx, (lua_Integer)i);
        if (t == LUA_TSTRING) {
            s = lua_tolstring(L, -1, &len);
            if (xb_stanza_add_text(el, s, len))
                reason = "text is not UTF-8 XML character data";
        } else if (t == LUA_TTABLE) {
            reason = element(L, lua_gettop(L), el, root, depth + 1);
        } else {
            reason = "a child is neither a string nor a table";
        }
        lua_pop(L, 1);
        if (!reason && xb_stanza_mem(el) > XBL_MAX_TREE_BYTES)
            reason = "stanza too large";
        if (reason)
            return reason;
    }
    return NULL;
}

struct xb_stanza *xbl_bridge_to_core(lua_State *L, int idx,
                                     struct xb_stanza **scratch,
                                     const char **err)
{
    int top = lua_gettop(L);
    const char *reason;

    idx = lua_absindex(L, idx);
    /* A tree left behind by a conversion that raised. */
    xb_stanza_free(*scratch);
    *scratch = NULL;
    if (lua_type(L, idx) != LUA_TTABLE) {
        *err = "not a stanza table";
        return NULL;
    }
    reason = element(L, idx, NULL, scratch, 0);
    lua_settop(L, top);
    if (reason) {
        xb_stanza_free(*scratch);
        *scratch = NULL;
        *err = reason;
        return NULL;
    }
    {
        struct xb_stanza *st = *scratch;

        *scratch = NULL;
        return st;
    }
}

/* --- Lua table -> a previous tree, patched --------------------------- */

/* Does the Lua string at the top hold exactly the C string s? */
static int same_string(lua_State *L, const char *s)
{
    size_t len;
    const char *v = lua_tolstring(L, -1, &len);

    return strlen(s) == len && memcmp(s, v, len) == 0;
}

/* Does the attribute key (Prosody's form, not xmlns) name {ns}name, as
 * set_attr() maps it? */
static int key_names(const char *key, size_t klen, const char *ns,
                     const char *name)
{
    const char *sep = memchr(key, '\1', klen);
    size_t nlen = strlen(name), nslen;

    if (sep) {
        nslen = (size_t)(sep - key);
        return strlen(ns) == nslen && !memcmp(ns, key, nslen) &&
               klen - nslen - 1 == nlen && !memcmp(sep + 1, name, nlen);
    }
    if (klen >= 4 && !memcmp(key, "xml:", 4))
        return !strcmp(ns, XB_NS_XML) && klen - 4 == nlen &&
               !memcmp(key + 4, name, nlen);
    return !ns[0] && klen == nlen && !memcmp(key, name, nlen);
}

/* The field keys a patch looks up, pushed once at the stack slot keys
 * (a pushed copy of a string costs less than pushing it anew). */
enum { KEY_NAME, KEY_ATTR, KEY_XMLNS, NKEYS };

static int key_field(lua_State *L, int idx, int keys, int key)
{
    lua_pushvalue(L, keys + key);
    return lua_rawget(L, idx);
}

/* Compares the attr table at index attr with el's attributes, in the
 * order copy_attrs() added them, and patches values that differ. */
static int patch_attrs(lua_State *L, int attr, struct xb_stanza *el)
{
    const char *key, *value, *ans, *aname, *avalue;
    size_t klen, vlen;
    unsigned a = 0;

    lua_pushnil(L);
    while (lua_next(L, attr)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            return 0;
        /* The checks of set_attr(), in its order. */
        key = lua_tolstring(L, -2, &klen);
        value = lua_tolstring(L, -1, &vlen);
        if (strlen(value) != vlen || strlen(key) != klen)
            return 0;
        if (!memchr(key, '\1', klen) &&
            (!strcmp(key, "xmlns") || !strncmp(key, "xmlns:", 6))) {
            lua_pop(L, 1);
            continue;
        }
        if (xb_stanza_attr_at(el, a++, &ans, &aname, &avalue) ||
            !key_names(key, klen, ans, aname))
            return 0;
        if ((strlen(avalue) != vlen || memcmp(avalue, value, vlen)) &&
            xb_stanza_set_attr_at(el, a - 1, value, vlen))
            return 0;
        lua_pop(L, 1);
    }
    return a == xb_stanza_attr_count(el);
}

/*
 * Compares the element table at absolute index idx with el (a tree that
 * element() built from a table), patching attribute values and texts that
 * differ. Returns 1 if el is now what element() would build from the
 * table, 0 if the table differs in more (el may be half patched then).
 * parent_ns: the namespace el inherits (NULL for the top).
 */
static int patch(lua_State *L, int idx, int keys, struct xb_stanza *el,
                 const char *parent_ns, int depth)
{
    const char *ns, *s;
    struct xb_stanza *c;
    lua_Unsigned i, n;
    size_t len;
    int attr, t, text_before = 0;

    if (depth > XBL_MAX_DEPTH || !lua_checkstack(L, 6) ||
        key_field(L, idx, keys, KEY_NAME) != LUA_TSTRING ||
        !same_string(L, xb_stanza_name(el)))
        return 0;
    t = key_field(L, idx, keys, KEY_ATTR);
    attr = lua_gettop(L);
    if (t == LUA_TTABLE) {
        t = key_field(L, attr, keys, KEY_XMLNS);
        if (t != LUA_TSTRING && t != LUA_TNIL)
            return 0;
    } else if (t == LUA_TNIL) {
        lua_pushnil(L);
    } else {
        return 0;
    }
    ns = lua_isnil(L, -1) ? (parent_ns ? parent_ns : XB_NS_CLIENT)
                          : lua_tostring(L, -1);
    if (strcmp(ns, xb_stanza_ns(el)) ||
        (lua_istable(L, attr) ? !patch_attrs(L, attr, el)
                              : xb_stanza_attr_count(el) != 0))
        return 0;
    lua_pop(L, 3);

    n = lua_rawlen(L, idx);
    c = xb_stanza_first(el);
    for (i = 1; i <= n; i++) {
        if (!c)
            return 0;
        t = lua_rawgeti(L, idx, (lua_Integer)i);
        if (t == LUA_TSTRING) {
            /* Empty or adjacent strings make fewer text nodes: rebuild. */
            s = lua_tolstring(L, -1, &len);
            if (text_before || !len || !xb_stanza_is_text(c))
                return 0;
            if (!same_string(L, xb_stanza_text(c, NULL)) &&
                xb_stanza_set_text(c, s, len))
                return 0;
            text_before = 1;
        } else if (t == LUA_TTABLE && !xb_stanza_is_text(c)) {
            if (!patch(L, lua_gettop(L), keys, c, xb_stanza_ns(el), depth + 1))
                return 0;
            text_before = 0;
        } else {
            return 0;
        }
        lua_pop(L, 1);
        c = xb_stanza_next(c);
    }
    return c == NULL;
}

int xbl_bridge_patch(lua_State *L, int idx, struct xb_stanza *st)
{
    int top = lua_gettop(L), ok;

    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE || !lua_checkstack(L, NKEYS))
        return 0;
    lua_pushliteral(L, "name");
    lua_pushliteral(L, "attr");
    lua_pushliteral(L, "xmlns");
    ok = patch(L, idx, top + 1, st, NULL, 0);
    lua_settop(L, top);
    return ok;
}

/* --- core tree -> Lua table ------------------------------------------- */

static void push_attr_key(lua_State *L, const char *ns, const char *name)
{
    if (!ns[0])
        lua_pushstring(L, name);
    else if (!strcmp(ns, XB_NS_XML))
        lua_pushfstring(L, "xml:%s", name);
    else
        lua_pushfstring(L, "%s\1%s", ns, name);
}

/* Pushes the table for element st; mt is the absolute index of the
 * stanza metatable. explicit_parent: the parent's table carries xmlns. */
static void push_element(lua_State *L, const struct xb_stanza *st, int mt,
                         int explicit_parent, int is_top)
{
    const struct xb_stanza *c;
    const char *ns = xb_stanza_ns(st), *aname, *ans, *value;
    int nchildren = 0, ntags = 0, explicit, t, tags, i, j;
    unsigned a, nattrs = xb_stanza_attr_count(st);

    /* Mirrors util.xmppstream on a c2s stream: elements in the stream's
     * namespace carry no xmlns until one outside it has been entered. */
    explicit = strcmp(ns, XB_NS_CLIENT) != 0 || (explicit_parent && !is_top);
    for (c = xb_stanza_first(st); c; c = xb_stanza_next(c)) {
        nchildren++;
        if (!xb_stanza_is_text(c))
            ntags++;
    }
    luaL_checkstack(L, 6, "stanza too deep");
    lua_createtable(L, nchildren, 3);
    t = lua_gettop(L);
    lua_pushstring(L, xb_stanza_name(st));
    lua_setfield(L, t, "name");

    lua_createtable(L, 0, (int)nattrs + explicit);
    if (explicit) {
        lua_pushstring(L, ns);
        lua_setfield(L, -2, "xmlns");
    }
    for (a = 0; xb_stanza_attr_at(st, a, &ans, &aname, &value) == 0; a++) {
        push_attr_key(L, ans, aname);
        lua_pushstring(L, value);
        lua_rawset(L, -3);
    }
    lua_setfield(L, t, "attr");

    lua_createtable(L, ntags, 0);
    tags = lua_gettop(L);
    i = j = 0;
    for (c = xb_stanza_first(st); c; c = xb_stanza_next(c)) {
        if (xb_stanza_is_text(c)) {
            size_t len;
            const char *s = xb_stanza_text(c, &len);

            lua_pushlstring(L, s, len);
        } else {
            push_element(L, c, mt, explicit, 0);
            lua_pushvalue(L, -1);
            lua_rawseti(L, tags, ++j);
        }
        lua_rawseti(L, t, ++i);
    }
    lua_setfield(L, t, "tags");

    lua_pushvalue(L, mt);
    lua_setmetatable(L, t);
}

void xbl_bridge_push(lua_State *L, const struct xb_stanza *st)
{
    int mt;

    luaL_checkstack(L, 4, NULL);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &xbl_stanza_mt_key);
    mt = lua_gettop(L);
    push_element(L, st, mt, 0, 1);
    lua_remove(L, mt);
}
