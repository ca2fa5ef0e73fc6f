/*
 * The stanza tree and its arena. Structures are carved from the front of
 * an arena chunk and strings from the back, so nothing is lost to
 * alignment and a copy can be sized exactly. Every walk is iterative (the
 * nodes know their parent), so depth costs no stack.
 */
#include "stanza_int.h"

#include <expat.h>
#include <limits.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "utf8.h"
#include "xmpp.h"

#define NODE_ALIGN alignof(struct xb_stanza)
#define FIRST_ARENA 256

static const char empty_ns[] = "";
static const char xml_ns[] = XB_NS_XML;

struct xb_tree *xb_stanza_tree(const struct xb_stanza *st)
{
    while (st->parent)
        st = st->parent;
    return (struct xb_tree *)((char *)st - offsetof(struct xb_tree, root));
}

struct xb_tree *xb_tree_new(size_t arena)
{
    struct xb_tree *t;

    if (arena > SIZE_MAX - sizeof *t)
        return NULL;
    t = malloc(sizeof *t + arena);
    if (!t)
        return NULL;
    t->ptr = (char *)(t + 1);
    t->end = t->ptr + arena;
    t->chunks = NULL;
    t->mem = sizeof *t + arena;
    t->first_size = arena;
    memset(&t->root, 0, sizeof t->root);
    return t;
}

static void free_chunks(struct xb_tree *t)
{
    struct xb_chunk *c, *next;

    for (c = t->chunks; c; c = next) {
        next = c->next;
        free(c);
    }
    t->chunks = NULL;
}

void xb_tree_rewind(struct xb_tree *t)
{
    free_chunks(t);
    t->ptr = (char *)(t + 1);
    t->end = t->ptr + t->first_size;
    t->mem = sizeof *t + t->first_size;
    memset(&t->root, 0, sizeof t->root);
}

/* Opens a new chunk with room for at least need bytes plus alignment.
 * Chunks grow with the tree, so a big tree needs few of them. */
static int grow(struct xb_tree *t, size_t need)
{
    struct xb_chunk *c;
    size_t size;

    if (need > SIZE_MAX / 2)
        return XB_ENOMEM;
    size = need + NODE_ALIGN;
    if (size < t->mem)
        size = t->mem;
    c = malloc(sizeof *c + size);
    if (!c)
        return XB_ENOMEM;
    c->next = t->chunks;
    t->chunks = c;
    t->mem += sizeof *c + size;
    t->ptr = (char *)(c + 1);
    t->end = t->ptr + size;
    return 0;
}

void *xb_tree_alloc(struct xb_tree *t, size_t size)
{
    uintptr_t p = ((uintptr_t)t->ptr + NODE_ALIGN - 1) & ~(NODE_ALIGN - 1);

    if (p > (uintptr_t)t->end || size > (uintptr_t)t->end - p) {
        if (grow(t, size))
            return NULL;
        p = ((uintptr_t)t->ptr + NODE_ALIGN - 1) & ~(NODE_ALIGN - 1);
    }
    t->ptr = (char *)p + size;
    return (void *)p;
}

char *xb_tree_strdup(struct xb_tree *t, const char *s, size_t len)
{
    char *p;

    if (len >= SIZE_MAX)
        return NULL;
    if ((size_t)(t->end - t->ptr) < len + 1 && grow(t, len + 1))
        return NULL;
    t->end -= len + 1;
    p = t->end;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void link_child(struct xb_stanza *parent, struct xb_stanza *child)
{
    child->parent = parent;
    child->next = NULL;
    child->first = child->last = NULL;
    if (parent->last)
        parent->last->next = child;
    else
        parent->first = child;
    parent->last = child;
}

struct xb_stanza *xb_stanza_append_element(struct xb_tree *t,
                                           struct xb_stanza *parent,
                                           const char *ns, const char *name)
{
    struct xb_stanza *el = xb_tree_alloc(t, sizeof *el);

    if (!el)
        return NULL;
    link_child(parent, el);
    el->ns = ns;
    el->name = name;
    el->u.el.attrs = NULL;
    el->u.el.nattrs = el->u.el.cap = 0;
    return el;
}

int xb_stanza_append_text(struct xb_tree *t, struct xb_stanza *parent,
                          const char *text, size_t len)
{
    struct xb_stanza *last = parent->last, *tx;
    char *s;

    if (len == 0)
        return 0;
    if (last && XB_IS_TEXT(last)) {
        /* Merge: one text node per run keeps the tree canonical. */
        if (len > SIZE_MAX - 1 - last->u.len)
            return XB_ENOMEM;
        if ((size_t)(t->end - t->ptr) < last->u.len + len + 1 &&
            grow(t, last->u.len + len + 1))
            return XB_ENOMEM;
        t->end -= last->u.len + len + 1;
        s = t->end;
        memcpy(s, last->name, last->u.len);
        memcpy(s + last->u.len, text, len);
        s[last->u.len + len] = '\0';
        last->name = s;
        last->u.len += len;
        return 0;
    }
    tx = xb_tree_alloc(t, sizeof *tx);
    if (!tx)
        return XB_ENOMEM;
    s = xb_tree_strdup(t, text, len);
    if (!s)
        return XB_ENOMEM;
    link_child(parent, tx);
    tx->ns = NULL;
    tx->name = s;
    tx->u.len = len;
    return 0;
}

/*
 * Is s, outside ASCII, an XML name? Which characters may start or go on
 * a name outside ASCII differs between the editions of XML 1.0, and what
 * matters is that a peer reads what we write: expat (our parser, and most
 * peers') decides, on "<s/>". Only names with a byte above 0x7F get here,
 * which stanzas almost never have.
 */
static int expat_name(const char *s, size_t len)
{
    XML_Parser p = XML_ParserCreate("UTF-8");
    int ok;

    if (!p)
        return 0;
    XML_SetHashSalt(p, 1); /* no getrandom() for one short parse */
    ok = XML_Parse(p, "<", 1, 0) == XML_STATUS_OK &&
         XML_Parse(p, s, (int)len, 0) == XML_STATUS_OK &&
         XML_Parse(p, "/>", 2, 1) == XML_STATUS_OK;
    XML_ParserFree(p);
    return ok;
}

/* Is s a valid local name (an XML NCName)? */
static int valid_name(const char *s)
{
    size_t i, len = strlen(s);
    int ascii = 1;

    if (len == 0 || len > INT_MAX || !xb_utf8_valid_xml(s, len))
        return 0;
    if ((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '.')
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x80)
            ascii = 0;
        else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')
            continue;
        else
            return 0;
    }
    return ascii || expat_name(s, len);
}

/* May an element be called name in namespace ns (NULL: the parent's)? */
static int valid_element(const char *ns, const char *name)
{
    return name && valid_name(name) &&
           (!ns ||
            (xb_utf8_valid_xml(ns, strlen(ns)) && strcmp(ns, XB_NS_XMLNS)));
}

/* Storage for a namespace name: shared with the parent's or a constant
 * where possible, else copied into the arena. */
static const char *ns_store(struct xb_tree *t, const struct xb_stanza *parent,
                            const char *ns)
{
    if (!ns || !ns[0])
        return empty_ns;
    if (parent && strcmp(parent->ns, ns) == 0)
        return parent->ns;
    if (strcmp(ns, xml_ns) == 0)
        return xml_ns;
    return xb_tree_strdup(t, ns, strlen(ns));
}

struct xb_stanza *xb_stanza_new(const char *ns, const char *name)
{
    struct xb_tree *t;

    if (!valid_element(ns, name))
        return NULL;
    t = xb_tree_new(FIRST_ARENA);
    if (!t)
        return NULL;
    t->root.ns = ns_store(t, NULL, ns);
    t->root.name = xb_tree_strdup(t, name, strlen(name));
    if (!t->root.ns || !t->root.name) {
        xb_stanza_free(&t->root);
        return NULL;
    }
    return &t->root;
}

void xb_stanza_free(struct xb_stanza *st)
{
    struct xb_tree *t;

    if (!st)
        return;
    t = xb_stanza_tree(st);
    free_chunks(t);
    free(t);
}

struct xb_stanza *xb_stanza_add_child(struct xb_stanza *parent, const char *ns,
                                      const char *name)
{
    struct xb_tree *t;
    const char *n, *s;

    if (!parent || XB_IS_TEXT(parent) || !valid_element(ns, name))
        return NULL;
    t = xb_stanza_tree(parent);
    n = ns ? ns_store(t, parent, ns) : parent->ns;
    s = xb_tree_strdup(t, name, strlen(name));
    if (!n || !s)
        return NULL;
    return xb_stanza_append_element(t, parent, n, s);
}

int xb_stanza_add_text(struct xb_stanza *parent, const char *text, size_t len)
{
    if (!parent || XB_IS_TEXT(parent) || (len && !text))
        return XB_EINVAL;
    if (!xb_utf8_valid_xml(text, len))
        return XB_EINVAL;
    return xb_stanza_append_text(xb_stanza_tree(parent), parent, text, len);
}

/* Replaces the string *old (of length oldlen, the tree's own memory) with
 * len bytes of s: in place when they fit. */
static int replace_string(struct xb_tree *t, const char **old, size_t oldlen,
                          const char *s, size_t len)
{
    char *p;

    if (len <= oldlen) {
        p = (char *)(uintptr_t)*old; /* every value and text has its own */
        memcpy(p, s, len);
        p[len] = '\0';
        return 0;
    }
    p = xb_tree_strdup(t, s, len);
    if (!p)
        return XB_ENOMEM;
    *old = p;
    return 0;
}

int xb_stanza_set_text(struct xb_stanza *st, const char *text, size_t len)
{
    int rc;

    if (!st || !XB_IS_TEXT(st) || !len || !text ||
        !xb_utf8_valid_xml(text, len))
        return XB_EINVAL;
    rc = replace_string(xb_stanza_tree(st), &st->name, st->u.len, text, len);
    if (!rc)
        st->u.len = len;
    return rc;
}

/* Does the element n need its own copy of its namespace name, or can a
 * copy share the parent's (n not being the top of the copy)? */
static int ns_needs_copy(const struct xb_stanza *n, const struct xb_stanza *top)
{
    if (!n->ns[0] || n->ns == xml_ns)
        return 0;
    if (n != top && (n->ns == n->parent->ns || !strcmp(n->ns, n->parent->ns)))
        return 0;
    return 1;
}

static int attr_ns_needs_copy(const char *ns)
{
    return ns[0] && strcmp(ns, xml_ns) != 0;
}

/* Depth-first successor of n within the subtree top, or NULL at the end. */
static const struct xb_stanza *walk_next(const struct xb_stanza *n,
                                         const struct xb_stanza *top)
{
    if (!XB_IS_TEXT(n) && n->first)
        return n->first;
    while (n != top && !n->next)
        n = n->parent;
    return n == top ? NULL : n->next;
}

/* Arena bytes a copy of the subtree top needs: structures, then strings. */
static void measure(const struct xb_stanza *top, size_t *structs,
                    size_t *strings)
{
    const struct xb_stanza *n;
    uint32_t i;

    *structs = *strings = 0;
    for (n = top; n; n = walk_next(n, top)) {
        if (n != top)
            *structs += sizeof *n;
        if (XB_IS_TEXT(n)) {
            *strings += n->u.len + 1;
            continue;
        }
        *strings += strlen(n->name) + 1;
        if (ns_needs_copy(n, top))
            *strings += strlen(n->ns) + 1;
        *structs += n->u.el.nattrs * sizeof(struct xb_attr);
        for (i = 0; i < n->u.el.nattrs; i++) {
            const struct xb_attr *a = &n->u.el.attrs[i];

            *strings += strlen(a->name) + strlen(a->value) + 2;
            if (attr_ns_needs_copy(a->ns))
                *strings += strlen(a->ns) + 1;
        }
    }
}

/* Fills dst (already linked into its tree) as a copy of the element or
 * text node src, without its children. */
static int copy_node(struct xb_tree *t, struct xb_stanza *dst,
                     const struct xb_stanza *src, const struct xb_stanza *top)
{
    uint32_t i;

    if (XB_IS_TEXT(src)) {
        dst->ns = NULL;
        dst->u.len = src->u.len;
        dst->name = xb_tree_strdup(t, src->name, src->u.len);
        return dst->name ? 0 : XB_ENOMEM;
    }
    dst->name = xb_tree_strdup(t, src->name, strlen(src->name));
    if (!src->ns[0])
        dst->ns = empty_ns;
    else if (src->ns == xml_ns)
        dst->ns = xml_ns;
    else if (!ns_needs_copy(src, top))
        dst->ns = dst->parent->ns;
    else
        dst->ns = xb_tree_strdup(t, src->ns, strlen(src->ns));
    dst->u.el.nattrs = dst->u.el.cap = src->u.el.nattrs;
    dst->u.el.attrs = NULL;
    if (!dst->name || !dst->ns)
        return XB_ENOMEM;
    if (src->u.el.nattrs) {
        dst->u.el.attrs =
            xb_tree_alloc(t, src->u.el.nattrs * sizeof(struct xb_attr));
        if (!dst->u.el.attrs)
            return XB_ENOMEM;
    }
    for (i = 0; i < src->u.el.nattrs; i++) {
        const struct xb_attr *a = &src->u.el.attrs[i];
        struct xb_attr *b = &dst->u.el.attrs[i];

        b->name = xb_tree_strdup(t, a->name, strlen(a->name));
        b->value = xb_tree_strdup(t, a->value, strlen(a->value));
        if (!a->ns[0])
            b->ns = empty_ns;
        else if (!strcmp(a->ns, xml_ns))
            b->ns = xml_ns;
        else
            b->ns = xb_tree_strdup(t, a->ns, strlen(a->ns));
        if (!b->name || !b->value || !b->ns)
            return XB_ENOMEM;
    }
    return 0;
}

/* Copies the children of src under dst, whose node is already filled. The
 * walk moves d in step with n so every copy knows its parent. */
static int copy_children(struct xb_tree *t, struct xb_stanza *dst,
                         const struct xb_stanza *src)
{
    const struct xb_stanza *n = src;
    struct xb_stanza *d = dst, *parent, *c;

    for (;;) {
        if (!XB_IS_TEXT(n) && n->first) {
            n = n->first;
            parent = d;
        } else {
            while (n != src && !n->next) {
                n = n->parent;
                d = d->parent;
            }
            if (n == src)
                return 0;
            n = n->next;
            parent = d->parent;
        }
        c = xb_tree_alloc(t, sizeof *c);
        if (!c)
            return XB_ENOMEM;
        link_child(parent, c);
        if (copy_node(t, c, n, src))
            return XB_ENOMEM;
        d = c;
    }
}

struct xb_stanza *xb_stanza_copy(const struct xb_stanza *st)
{
    struct xb_tree *t;
    size_t structs, strings;

    if (!st || XB_IS_TEXT(st))
        return NULL;
    measure(st, &structs, &strings);
    t = xb_tree_new(structs + strings);
    if (!t)
        return NULL;
    if (copy_node(t, &t->root, st, st) || copy_children(t, &t->root, st)) {
        xb_stanza_free(&t->root);
        return NULL;
    }
    return &t->root;
}

struct xb_stanza *xb_stanza_add_copy(struct xb_stanza *parent,
                                     const struct xb_stanza *src)
{
    struct xb_tree *t;
    struct xb_stanza *c, *last, *tmp;
    const struct xb_stanza *a;

    if (!parent || !src || XB_IS_TEXT(parent) || XB_IS_TEXT(src))
        return NULL;
    /* Copying an element into its own subtree would walk into the copy
     * as it grows: take a snapshot first. */
    for (a = parent; a; a = a->parent) {
        if (a == src) {
            tmp = xb_stanza_copy(src);
            c = tmp ? xb_stanza_add_copy(parent, tmp) : NULL;
            xb_stanza_free(tmp);
            return c;
        }
    }
    t = xb_stanza_tree(parent);
    c = xb_tree_alloc(t, sizeof *c);
    if (!c)
        return NULL;
    last = parent->last;
    link_child(parent, c);
    if (copy_node(t, c, src, src) || copy_children(t, c, src)) {
        /* Unlink the half-made copy; its arena space is simply unused. */
        parent->last = last;
        if (last)
            last->next = NULL;
        else
            parent->first = NULL;
        return NULL;
    }
    return c;
}

static struct xb_attr *find_attr(const struct xb_stanza *st, const char *ns,
                                 const char *name)
{
    uint32_t i;

    if (!ns)
        ns = empty_ns;
    for (i = 0; i < st->u.el.nattrs; i++) {
        struct xb_attr *a = &st->u.el.attrs[i];

        if (!strcmp(a->name, name) && !strcmp(a->ns, ns))
            return a;
    }
    return NULL;
}

/* Makes room for one more attribute on el. 0, XB_ETOOBIG or XB_ENOMEM. */
static int attr_room(struct xb_tree *t, struct xb_stanza *el)
{
    struct xb_attr *grown;
    uint32_t cap;

    if (el->u.el.nattrs < el->u.el.cap)
        return 0;
    cap = el->u.el.cap ? el->u.el.cap * 2 : 4;
    if (cap < el->u.el.cap)
        return XB_ETOOBIG;
    grown = xb_tree_alloc(t, cap * sizeof *grown);
    if (!grown)
        return XB_ENOMEM;
    if (el->u.el.nattrs)
        memcpy(grown, el->u.el.attrs, el->u.el.nattrs * sizeof *grown);
    el->u.el.attrs = grown;
    el->u.el.cap = cap;
    return 0;
}

int xb_stanza_append_attr(struct xb_tree *t, struct xb_stanza *el,
                          const char *ns, const char *name, const char *value)
{
    const char *n, *v;
    struct xb_attr *a;
    int rc;

    if ((rc = attr_room(t, el)))
        return rc;
    n = xb_tree_strdup(t, name, strlen(name));
    v = xb_tree_strdup(t, value, strlen(value));
    if (!n || !v)
        return XB_ENOMEM;
    a = &el->u.el.attrs[el->u.el.nattrs++];
    a->ns = ns;
    a->name = n;
    a->value = v;
    return 0;
}

int xb_stanza_set_attr(struct xb_stanza *st, const char *ns, const char *name,
                       const char *value)
{
    struct xb_tree *t;
    struct xb_attr *a;
    const char *v, *n;

    if (!st || XB_IS_TEXT(st) || !name || !valid_name(name) ||
        (ns && !xb_utf8_valid_xml(ns, strlen(ns))))
        return XB_EINVAL;
    /* Namespace declarations are the serializer's business, not data. */
    if ((!ns || !ns[0]) ? !strcmp(name, "xmlns") : !strcmp(ns, XB_NS_XMLNS))
        return XB_EINVAL;
    a = find_attr(st, ns, name);
    if (!value) {
        if (a) {
            memmove(a, a + 1,
                    (size_t)(st->u.el.attrs + st->u.el.nattrs - (a + 1)) *
                        sizeof *a);
            st->u.el.nattrs--;
        }
        return 0;
    }
    if (!xb_utf8_valid_xml(value, strlen(value)))
        return XB_EINVAL;
    t = xb_stanza_tree(st);
    if (a) {
        v = xb_tree_strdup(t, value, strlen(value));
        if (!v)
            return XB_ENOMEM;
        a->value = v;
        return 0;
    }
    n = ns_store(t, NULL, ns);
    if (!n)
        return XB_ENOMEM;
    return xb_stanza_append_attr(t, st, n, name, value);
}

int xb_stanza_set_attr_at(struct xb_stanza *st, unsigned i, const char *value,
                          size_t len)
{
    struct xb_attr *a;

    if (!st || XB_IS_TEXT(st) || i >= st->u.el.nattrs || !value ||
        !xb_utf8_valid_xml(value, len))
        return XB_EINVAL;
    a = &st->u.el.attrs[i];
    return replace_string(xb_stanza_tree(st), &a->value, strlen(a->value),
                          value, len);
}

const char *xb_stanza_attr(const struct xb_stanza *st, const char *ns,
                           const char *name)
{
    const struct xb_attr *a;

    if (!st || XB_IS_TEXT(st) || !name)
        return NULL;
    a = find_attr(st, ns, name);
    return a ? a->value : NULL;
}

unsigned xb_stanza_attr_count(const struct xb_stanza *st)
{
    return XB_IS_TEXT(st) ? 0 : st->u.el.nattrs;
}

int xb_stanza_attr_at(const struct xb_stanza *st, unsigned i, const char **ns,
                      const char **name, const char **value)
{
    const struct xb_attr *a;

    if (XB_IS_TEXT(st) || i >= st->u.el.nattrs)
        return XB_ENOTFOUND;
    a = &st->u.el.attrs[i];
    if (ns)
        *ns = a->ns;
    if (name)
        *name = a->name;
    if (value)
        *value = a->value;
    return 0;
}

int xb_stanza_is_text(const struct xb_stanza *st)
{
    return XB_IS_TEXT(st);
}

const char *xb_stanza_name(const struct xb_stanza *st)
{
    return XB_IS_TEXT(st) ? NULL : st->name;
}

const char *xb_stanza_ns(const struct xb_stanza *st)
{
    return st->ns;
}

int xb_stanza_is(const struct xb_stanza *st, const char *ns, const char *name)
{
    return st && !XB_IS_TEXT(st) && (!name || !strcmp(st->name, name)) &&
           (!ns || !strcmp(st->ns, ns));
}

const char *xb_stanza_text(const struct xb_stanza *st, size_t *len)
{
    const struct xb_stanza *c = st;

    if (!XB_IS_TEXT(st))
        for (c = st->first; c && !XB_IS_TEXT(c); c = c->next)
            ;
    if (!c)
        return NULL;
    if (len)
        *len = c->u.len;
    return c->name;
}

struct xb_stanza *xb_stanza_parent(const struct xb_stanza *st)
{
    return st->parent;
}

struct xb_stanza *xb_stanza_first(const struct xb_stanza *st)
{
    return XB_IS_TEXT(st) ? NULL : st->first;
}

struct xb_stanza *xb_stanza_next(const struct xb_stanza *st)
{
    return st->next;
}

struct xb_stanza *xb_stanza_next_child(const struct xb_stanza *child,
                                       const char *ns, const char *name)
{
    struct xb_stanza *c;

    for (c = child ? child->next : NULL; c; c = c->next)
        if (xb_stanza_is(c, ns, name))
            return c;
    return NULL;
}

struct xb_stanza *xb_stanza_child(const struct xb_stanza *st, const char *ns,
                                  const char *name)
{
    struct xb_stanza *c = xb_stanza_first(st);

    if (c && xb_stanza_is(c, ns, name))
        return c;
    return xb_stanza_next_child(c, ns, name);
}

const char *xb_stanza_child_text(const struct xb_stanza *st, const char *ns,
                                 const char *name)
{
    const struct xb_stanza *c = xb_stanza_child(st, ns, name);

    return c ? xb_stanza_text(c, NULL) : NULL;
}

static int node_equal(const struct xb_stanza *a, const struct xb_stanza *b)
{
    uint32_t i;

    if (XB_IS_TEXT(a) || XB_IS_TEXT(b))
        return XB_IS_TEXT(a) && XB_IS_TEXT(b) && a->u.len == b->u.len &&
               !memcmp(a->name, b->name, a->u.len);
    if (strcmp(a->name, b->name) || strcmp(a->ns, b->ns) ||
        a->u.el.nattrs != b->u.el.nattrs)
        return 0;
    for (i = 0; i < a->u.el.nattrs; i++) {
        const struct xb_attr *x = &a->u.el.attrs[i], *y = &b->u.el.attrs[i];

        if (strcmp(x->name, y->name) || strcmp(x->ns, y->ns) ||
            strcmp(x->value, y->value))
            return 0;
    }
    return 1;
}

int xb_stanza_equal(const struct xb_stanza *a, const struct xb_stanza *b)
{
    const struct xb_stanza *x = a, *y = b;

    /* Walk both trees in step; any difference in shape shows up as one
     * walk having a node where the other has none. */
    while (x && y) {
        if (!node_equal(x, y))
            return 0;
        if (!XB_IS_TEXT(x) && (x->first != NULL) != (y->first != NULL))
            return 0;
        if (!XB_IS_TEXT(x) && x->first) {
            x = x->first;
            y = y->first;
            continue;
        }
        while (x != a && !x->next) {
            if (y->next)
                return 0;
            x = x->parent;
            y = y->parent;
        }
        if (x == a)
            return 1;
        if (!y->next)
            return 0;
        x = x->next;
        y = y->next;
    }
    return x == y;
}

size_t xb_stanza_mem(const struct xb_stanza *st)
{
    return xb_stanza_tree(st)->mem;
}
