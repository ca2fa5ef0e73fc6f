/*
 * UTF-8 validation and decoding, strict as RFC 3629 asks (no overlong
 * forms, no surrogates, nothing above U+10FFFF), plus the XML 1.0 Char
 * production that decides what may appear in a stanza at all.
 */
#ifndef XB_UTF8_H
#define XB_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the sequence at s (len > 0 bytes available). Returns its length
 * (1-4) and stores the code point in *cp, or returns 0 if the bytes are not
 * valid UTF-8 (including a sequence cut short by len).
 */
size_t xb_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* 1 if len bytes of s are valid UTF-8, else 0. */
int xb_utf8_valid(const char *s, size_t len);

/* 1 if code point cp is an XML 1.0 Char (tab, LF, CR, U+0020-D7FF,
 * U+E000-FFFD, U+10000-10FFFF), else 0. */
int xb_utf8_xml_char(uint32_t cp);

/* 1 if len bytes of s are valid UTF-8 made only of XML 1.0 Chars. */
int xb_utf8_valid_xml(const char *s, size_t len);

#endif
