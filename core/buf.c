/*
 * Growable byte buffer: doubling growth, overflow-checked, always
 * NUL-terminated so that text written into it can be used as a C string.
 */
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void xb_buf_init(struct xb_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void xb_buf_free(struct xb_buf *b)
{
    free(b->data);
    xb_buf_init(b);
}

void xb_buf_reset(struct xb_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int xb_buf_reserve(struct xb_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > SIZE_MAX - 1 - b->len)
        return XB_ENOMEM;
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (!p)
        return XB_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int xb_buf_append_grow(struct xb_buf *b, const void *data, size_t n)
{
    int rc = xb_buf_reserve(b, n);

    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int xb_buf_puts(struct xb_buf *b, const char *s)
{
    return xb_buf_append(b, s, strlen(s));
}

void xb_buf_consume(struct xb_buf *b, size_t n)
{
    if (n >= b->len) {
        xb_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}
