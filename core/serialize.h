/*
 * The serializer: a stanza tree to XML bytes, appended to a caller-owned
 * buffer. Text and attribute values are escaped, UTF-8 is passed through,
 * and namespace declarations are emitted only where the element's namespace
 * differs from the one in scope.
 */
#ifndef XB_SERIALIZE_H
#define XB_SERIALIZE_H

#include <stddef.h>

#include "buf.h"
#include "stanza.h"

/*
 * Appends the XML of element st to out. default_ns is the default
 * namespace in scope where st is written: the stream's content namespace
 * (XB_NS_CLIENT) for a stanza sent on a stream, whose header also binds the
 * "stream" prefix, so elements in XB_NS_STREAMS are written as
 * <stream:features/>. With default_ns NULL the output is a standalone
 * document: every namespace is declared, the stream one included. Returns
 * 0, XB_EINVAL (st is a text node) or XB_ENOMEM; on error out may hold
 * part of the output (truncate it to its old length).
 */
int xb_serialize(struct xb_buf *out, const struct xb_stanza *st,
                 const char *default_ns);

/*
 * Appends len bytes of s with the five XML special characters escaped
 * (& < > ' " as entity references). Returns 0 or XB_ENOMEM.
 */
int xb_serialize_escape(struct xb_buf *out, const char *s, size_t len);

#endif
