/*
 * The stanza model: an XML element tree with namespaced names, attributes,
 * text and child elements. A tree lives in one arena owned by its root, so
 * building is cheap and freeing is one pass; a parsed stanza is compacted
 * into a single allocation of exactly the size it needs.
 */
#ifndef XB_STANZA_H
#define XB_STANZA_H

#include <stddef.h>

/*
 * One node of a tree: an element, or a run of text inside an element.
 * Opaque; walk it with the accessors below. Every node belongs to the tree
 * of its root and is freed with it; a node pointer stays valid until the
 * root is freed (nodes are never moved or removed).
 */
struct xb_stanza;

/*
 * Creates a new tree whose root element is {ns}name. ns is the namespace
 * name ("" or NULL for none; never XB_NS_XMLNS); name must be an XML name
 * without a colon (one outside ASCII as expat reads names), and both UTF-8
 * XML text. The strings are copied. Returns the root, which the caller
 * frees with xb_stanza_free(), or NULL on out-of-memory or a bad name.
 */
struct xb_stanza *xb_stanza_new(const char *ns, const char *name);

/* Frees a whole tree. st must be a root (or NULL). */
void xb_stanza_free(struct xb_stanza *st);

/*
 * Deep-copies st (any node; a text node cannot be copied) into a new tree
 * held in one exact-size allocation. Returns the new root, which the caller
 * frees with xb_stanza_free(), or NULL on out-of-memory.
 */
struct xb_stanza *xb_stanza_copy(const struct xb_stanza *st);

/*
 * Appends a child element {ns}name to the element parent. ns NULL means
 * "the parent's namespace" (the usual case inside a stanza); "" means no
 * namespace. Names and namespaces as for xb_stanza_new(). Returns the new
 * child, owned by parent's tree, or NULL on out-of-memory, a bad name or
 * if parent is a text node.
 */
struct xb_stanza *xb_stanza_add_child(struct xb_stanza *parent, const char *ns,
                                      const char *name);

/*
 * Appends len bytes of text to the element parent (merged into a trailing
 * text node if there is one). The bytes are copied; they must not contain
 * NUL. Returns 0, XB_EINVAL (parent is text, or a NUL byte), XB_ETOOBIG or
 * XB_ENOMEM.
 */
int xb_stanza_add_text(struct xb_stanza *parent, const char *text, size_t len);

/*
 * Replaces the characters of the text node st with len bytes of text
 * (UTF-8 XML character data, copied; not empty, since a tree has no empty
 * text nodes). For trees patched over and over: the new characters go
 * where the old ones were when they fit (a pointer to the old text then
 * reads the new), else into new memory of the tree. Returns 0, XB_EINVAL
 * (st is no text node, or bad or empty text) or XB_ENOMEM.
 */
int xb_stanza_set_text(struct xb_stanza *st, const char *text, size_t len);

/*
 * Appends a deep copy of src (an element, from any tree) as the last child
 * of parent. Returns the copy, owned by parent's tree, or NULL on
 * out-of-memory or if parent or src is a text node.
 */
struct xb_stanza *xb_stanza_add_copy(struct xb_stanza *parent,
                                     const struct xb_stanza *src);

/*
 * Sets the attribute {ns}name of element st to value (copied). ns NULL or ""
 * is no namespace; XB_NS_XML gives xml:lang and friends. A NULL value
 * removes the attribute. Returns 0, XB_EINVAL or XB_ENOMEM.
 */
int xb_stanza_set_attr(struct xb_stanza *st, const char *ns, const char *name,
                       const char *value);

/*
 * Sets the value of st's attribute number i (as xb_stanza_attr_at counts)
 * to len bytes of value (UTF-8 XML character data, copied). For trees
 * patched over and over: the new value goes where the old one was when it
 * fits (a pointer to the old value then reads the new), else into new
 * memory of the tree. Returns 0, XB_EINVAL (no attribute i, or a bad
 * value) or XB_ENOMEM.
 */
int xb_stanza_set_attr_at(struct xb_stanza *st, unsigned i, const char *value,
                          size_t len);

/* Returns the value of attribute {ns}name (ns NULL or "" for none), borrowed
 * from the tree, or NULL if absent. */
const char *xb_stanza_attr(const struct xb_stanza *st, const char *ns,
                           const char *name);

/* Number of attributes of an element (0 for text nodes). */
unsigned xb_stanza_attr_count(const struct xb_stanza *st);

/*
 * Reads attribute i (0 <= i < count) in document order. Each out pointer may
 * be NULL; the strings are borrowed from the tree (ns is "" when none).
 * Returns 0 or XB_ENOTFOUND.
 */
int xb_stanza_attr_at(const struct xb_stanza *st, unsigned i, const char **ns,
                      const char **name, const char **value);

/* True (1) for a text node, 0 for an element. */
int xb_stanza_is_text(const struct xb_stanza *st);

/* Local name of an element, or NULL for a text node. Borrowed. */
const char *xb_stanza_name(const struct xb_stanza *st);

/* Namespace name of an element ("" for none), or NULL for a text node. */
const char *xb_stanza_ns(const struct xb_stanza *st);

/* True if st is an element named {ns}name (ns NULL: any namespace). */
int xb_stanza_is(const struct xb_stanza *st, const char *ns, const char *name);

/*
 * The characters of a text node, or of the first text child of an element;
 * NULL if there is none. *len (if not NULL) receives the byte length. The
 * string is NUL-terminated and borrowed from the tree.
 */
const char *xb_stanza_text(const struct xb_stanza *st, size_t *len);

/* Tree navigation; each returns NULL when there is no such node. */
struct xb_stanza *xb_stanza_parent(const struct xb_stanza *st);
struct xb_stanza *xb_stanza_first(const struct xb_stanza *st);
struct xb_stanza *xb_stanza_next(const struct xb_stanza *st);

/* First child element {ns}name (ns NULL: any namespace; name NULL: any
 * name), or NULL. */
struct xb_stanza *xb_stanza_child(const struct xb_stanza *st, const char *ns,
                                  const char *name);

/* Next sibling element of child matching {ns}name like xb_stanza_child. */
struct xb_stanza *xb_stanza_next_child(const struct xb_stanza *child,
                                       const char *ns, const char *name);

/* Text of the first child element {ns}name, or NULL. Borrowed. */
const char *xb_stanza_child_text(const struct xb_stanza *st, const char *ns,
                                 const char *name);

/*
 * Structural equality of two subtrees: same names and namespaces, the same
 * attributes in the same order, the same text. Returns 1 or 0.
 */
int xb_stanza_equal(const struct xb_stanza *a, const struct xb_stanza *b);

/* Bytes of heap the tree holding st owns (its arena), for accounting. */
size_t xb_stanza_mem(const struct xb_stanza *st);

#endif
