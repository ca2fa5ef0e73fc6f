/*
 * Stanza internals shared by the tree, the parser and the serializer: the
 * node layout, the per-tree arena, and unchecked builders for input that
 * expat has already validated.
 */
#ifndef XB_STANZA_INT_H
#define XB_STANZA_INT_H

#include <stddef.h>
#include <stdint.h>

#include "stanza.h"

struct xb_attr {
    const char *ns; /* "" for none */
    const char *name;
    const char *value;
};

/* 64 bytes on LP64. A text node has ns == NULL and keeps its characters in
 * name, its length in u.len. */
struct xb_stanza {
    struct xb_stanza *parent;
    struct xb_stanza *next;
    struct xb_stanza *first;
    struct xb_stanza *last;
    const char *ns;
    const char *name;
    union {
        struct {
            struct xb_attr *attrs;
            uint32_t nattrs;
            uint32_t cap;
        } el;
        size_t len;
    } u;
};

/* A chunk of arena memory beyond the one allocated with the tree. */
struct xb_chunk {
    struct xb_chunk *next;
};

/* A tree: its arena and its root, in one allocation with the first chunk
 * of arena space right behind. */
struct xb_tree {
    char *ptr;               /* next free byte of the current chunk */
    char *end;               /* end of the current chunk */
    struct xb_chunk *chunks; /* extra chunks, newest first */
    size_t mem;              /* bytes allocated for the tree in all */
    size_t first_size;       /* arena bytes allocated with the tree */
    struct xb_stanza root;
};

#define XB_IS_TEXT(st) ((st)->ns == NULL)

/* The tree a node belongs to. */
struct xb_tree *xb_stanza_tree(const struct xb_stanza *st);

/* Creates an empty tree with arena bytes of room; its root is left zeroed
 * for the caller to name. NULL on out-of-memory. */
struct xb_tree *xb_tree_new(size_t arena);

/* Frees the extra chunks and rewinds the arena, for reuse of a scratch
 * tree; the root is zeroed. */
void xb_tree_rewind(struct xb_tree *t);

/* size bytes from the arena, aligned for any node. NULL on out-of-memory. */
void *xb_tree_alloc(struct xb_tree *t, size_t size);

/* A NUL-terminated copy of len bytes of s in the arena, or NULL. */
char *xb_tree_strdup(struct xb_tree *t, const char *s, size_t len);

/* Appends a new child element to parent without validating the names.
 * ns and name must already live in parent's arena (or static storage). */
struct xb_stanza *xb_stanza_append_element(struct xb_tree *t,
                                           struct xb_stanza *parent,
                                           const char *ns, const char *name);

/* Appends the attribute {ns}name=value to el without validating it or
 * looking for a duplicate: for values taken from another tree. name and
 * value are copied; ns is "" or must outlive the tree (a constant, or a
 * string of the same arena). 0 or XB_ENOMEM. */
int xb_stanza_append_attr(struct xb_tree *t, struct xb_stanza *el,
                          const char *ns, const char *name, const char *value);

/* Appends len bytes of already-valid text (copied) to parent, merging
 * into a trailing text node. 0 or XB_ENOMEM. */
int xb_stanza_append_text(struct xb_tree *t, struct xb_stanza *parent,
                          const char *text, size_t len);

#endif
