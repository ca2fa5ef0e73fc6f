/*
 * Strict UTF-8 decoding (RFC 3629) and the XML 1.0 Char check. ASCII runs
 * take a fast path since nearly all stanza text is ASCII.
 */
#include "utf8.h"

size_t xb_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[0], min;
    size_t n, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or > F4 */
    }
    if (len < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (u[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

int xb_utf8_valid(const char *s, size_t len)
{
    uint32_t cp;
    size_t i = 0, n;

    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        n = xb_utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

int xb_utf8_xml_char(uint32_t cp)
{
    if (cp < 0x20)
        return cp == 0x9 || cp == 0xA || cp == 0xD;
    if (cp <= 0xD7FF)
        return 1;
    if (cp >= 0xE000 && cp <= 0xFFFD)
        return 1;
    return cp >= 0x10000 && cp <= 0x10FFFF;
}

int xb_utf8_valid_xml(const char *s, size_t len)
{
    uint32_t cp;
    size_t i = 0, n;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c < 0x80) {
            i++;
            continue;
        }
        n = xb_utf8_decode(s + i, len - i, &cp);
        if (n == 0 || !xb_utf8_xml_char(cp))
            return 0;
        i += n;
    }
    return 1;
}
