/*
 * Base64 (RFC 4648, standard alphabet, with padding) as XMPP SASL uses it.
 * Decoding is strict: no whitespace, correct padding, zero pad bits.
 */
#ifndef XB_BASE64_H
#define XB_BASE64_H

#include <stddef.h>

#include "buf.h"

/* Appends the encoding of len bytes to out. 0 or XB_ENOMEM. */
int xb_base64_encode(struct xb_buf *out, const void *data, size_t len);

/*
 * Appends the bytes that len characters of text encode to out. In XMPP
 * SASL an empty payload is sent as "="; that decodes to nothing. Returns
 * 0, XB_EINVAL (not strict base64; out is unchanged) or XB_ENOMEM.
 */
int xb_base64_decode(struct xb_buf *out, const char *text, size_t len);

#endif
