/*
 * A growable byte buffer owned by its caller. Serializers append to it;
 * nothing in the core keeps a static buffer. The contents are always
 * NUL-terminated once anything has been appended.
 */
#ifndef XB_BUF_H
#define XB_BUF_H

#include <stddef.h>
#include <string.h>

struct xb_buf {
    char *data; /* NULL until the first append; owned by the buffer */
    size_t len; /* bytes in use, not counting the terminating NUL */
    size_t cap; /* bytes allocated */
};

/* Initializes an empty buffer without allocating. */
void xb_buf_init(struct xb_buf *b);

/* Frees the storage and leaves the buffer empty and reusable. */
void xb_buf_free(struct xb_buf *b);

/* Empties the buffer but keeps its storage for reuse. */
void xb_buf_reset(struct xb_buf *b);

/* Makes room for at least n more bytes (plus the NUL). Returns 0 or
 * XB_ENOMEM; on failure the contents are unchanged. */
int xb_buf_reserve(struct xb_buf *b, size_t n);

/* Appends n bytes when they do not fit (see xb_buf_append). */
int xb_buf_append_grow(struct xb_buf *b, const void *data, size_t n);

/* Appends n bytes. Returns 0 or XB_ENOMEM (contents unchanged). Inline:
 * serializers call it for every few bytes, and they usually fit. */
static inline int xb_buf_append(struct xb_buf *b, const void *data, size_t n)
{
    if (n >= b->cap - b->len) /* no room for n bytes and the NUL */
        return xb_buf_append_grow(b, data, n);
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* Appends a NUL-terminated string. Returns 0 or XB_ENOMEM. */
int xb_buf_puts(struct xb_buf *b, const char *s);

/* Removes the first n bytes (all of them if n >= len), keeping storage. */
void xb_buf_consume(struct xb_buf *b, size_t n);

#endif
