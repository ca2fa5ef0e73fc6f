/*
 * The stream framer: a byte-level state machine that finds where the stream
 * header, each top-level element, top-level text and the stream close begin
 * and end, without validating anything, so that the parser can hand whole
 * units to an expat shared with other connections. It spots the constructs
 * XMPP refuses (comments, PIs, DOCTYPE) early; expat judges all the rest.
 */
#ifndef XB_FRAMER_H
#define XB_FRAMER_H

#include <stddef.h>
#include <stdint.h>

/* Flag for xb_framer_init(): frame one standalone element, not a stream. */
#define XB_FRAMER_DOCUMENT 1u

/* What xb_framer_scan() stopped on. */
enum xb_frame {
    XB_FRAME_MORE,    /* every byte was consumed; the unit goes on */
    XB_FRAME_HEADER,  /* the stream header ended with the last byte */
    XB_FRAME_ELEMENT, /* a top-level element ended with the last byte */
    XB_FRAME_TEXT,    /* a CDATA section at the stream level ended with
                         the last byte (other text there is one unit with
                         the markup that follows it) */
    XB_FRAME_END,     /* the stream close tag, or the document's root
                         element, ended with the last byte */
    XB_FRAME_COMMENT, /* the last byte consumed opens a comment */
    XB_FRAME_PI,      /* ... a processing instruction */
    XB_FRAME_DOCTYPE, /* ... a document type declaration */
    XB_FRAME_INVALID, /* the last byte consumed cannot occur there in
                         well-formed XML */
    XB_FRAME_DEEP,    /* ... ends a start tag past the depth limit */
    XB_FRAME_ATTRS    /* ... opens the value of an attribute past the
                         attribute limit */
};

/* The framer's whole state, twelve bytes: embed it, no allocation. */
struct xb_framer {
    uint32_t depth;     /* open elements, the stream root included */
    uint16_t max_depth; /* 0: no limit */
    uint8_t state;
    uint8_t k;         /* progress through a keyword, or the closing quote */
    uint8_t flags;     /* XB_FRAMER_DOCUMENT and prolog bits */
    uint8_t attrs;     /* attributes so far in this start tag (at most 255) */
    uint8_t max_attrs; /* 0: no limit */
    uint8_t name;      /* progress matching "xmlns" in an attribute name */
};

/* Prepares f for the first byte of a stream (or of a document with
 * XB_FRAMER_DOCUMENT), with no limits. */
void xb_framer_init(struct xb_framer *f, unsigned flags);

/*
 * Limits checked as the bytes come (0: none): max_depth open elements,
 * counted as depth is (the stream root included), and max_attrs
 * attributes on one element, not counting namespace declarations (as
 * expat reports them) nor those of the stream root. Limits above 65535
 * (depth) and 254 (attributes) are not checked here: expat checks them
 * when it gets the unit. xb_framer_init() clears them.
 */
void xb_framer_limit(struct xb_framer *f, unsigned max_depth,
                     unsigned max_attrs);

/* Is f at the stream level between units (only whitespace is skipped
 * there, anything else starts a unit)? */
int xb_framer_between(const struct xb_framer *f);

/* Is the unit in progress text at the stream level (an error unless it
 * is character references to whitespace)? */
int xb_framer_in_text(const struct xb_framer *f);

/* Has the stream or document ended (the rest is epilogue)? */
int xb_framer_ended(const struct xb_framer *f);

/* Between units: the number of leading whitespace bytes of data[0..len)
 * (keepalives), which belong to no unit. 0 when not between units. */
size_t xb_framer_skip(const struct xb_framer *f, const char *data, size_t len);

/*
 * Consumes bytes of the unit in progress (or starting at data[0]) and
 * returns how many (at least one if len > 0). Stops right after a unit
 * ends, right
 * after a byte it refuses, or at len. Stores in *ev what it stopped on. In
 * the epilogue it consumes everything. Never reads outside data[0..len).
 */
size_t xb_framer_scan(struct xb_framer *f, const char *data, size_t len,
                      enum xb_frame *ev);

#endif
