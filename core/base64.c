/*
 * Strict RFC 4648 base64 for SASL payloads. The decoder accepts exactly one
 * spelling of each byte string, so that a peer cannot smuggle data through
 * whitespace, stray characters or non-zero pad bits.
 */
#include "base64.h"

#include <stdint.h>

#include "error.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of an alphabet character, or -1 (including for '='). */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int xb_base64_encode(struct xb_buf *out, const void *data, size_t len)
{
    const unsigned char *in = data;
    size_t groups = len / 3 + (len % 3 != 0);
    size_t i;
    char *p;
    int rc;

    if (groups > SIZE_MAX / 4)
        return XB_ENOMEM;
    rc = xb_buf_reserve(out, groups * 4);
    if (rc)
        return rc;
    p = out->data + out->len;
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 0x3F];
        *p++ = alphabet[(v >> 6) & 0x3F];
        *p++ = alphabet[v & 0x3F];
    }
    if (len - i == 1) {
        *p++ = alphabet[in[i] >> 2];
        *p++ = alphabet[(in[i] & 0x03) << 4];
        *p++ = '=';
        *p++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

        *p++ = alphabet[v >> 10];
        *p++ = alphabet[(v >> 4) & 0x3F];
        *p++ = alphabet[(v << 2) & 0x3F];
        *p++ = '=';
    }
    out->len += groups * 4;
    out->data[out->len] = '\0';
    return 0;
}

/* Undoes the writes of a failed decode: the caller's bytes were never
 * touched, only the terminator at out->len may have been overwritten. */
static int reject(struct xb_buf *out)
{
    if (out->data)
        out->data[out->len] = '\0';
    return XB_EINVAL;
}

int xb_base64_decode(struct xb_buf *out, const char *text, size_t len)
{
    const unsigned char *in = (const unsigned char *)text;
    unsigned char *p;
    size_t i, n = 0;
    int rc;

    /* XMPP SASL sends an empty payload as "=" (RFC 6120 6.4.2). */
    if (len == 1 && in[0] == '=')
        len = 0;
    if (len % 4 != 0)
        return XB_EINVAL;
    rc = xb_buf_reserve(out, len / 4 * 3);
    if (rc)
        return rc;
    p = (unsigned char *)out->data + out->len;
    for (i = 0; i < len; i += 4) {
        int a = sextet(in[i]), b = sextet(in[i + 1]);
        int c = sextet(in[i + 2]), d = sextet(in[i + 3]);
        int last = i + 4 == len;

        if (a < 0 || b < 0)
            return reject(out);
        p[n++] = (unsigned char)(a << 2 | b >> 4);
        if (c < 0) {
            /* "xx==": only in the last group, and the 4 bits of b that
             * fall outside the byte must be zero. */
            if (!last || in[i + 2] != '=' || in[i + 3] != '=' || (b & 0x0F))
                return reject(out);
            break;
        }
        p[n++] = (unsigned char)((b & 0x0F) << 4 | c >> 2);
        if (d < 0) {
            if (!last || in[i + 3] != '=' || (c & 0x03))
                return reject(out);
            break;
        }
        p[n++] = (unsigned char)((c & 0x03) << 6 | d);
    }
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}
