/*
 * The stream framer (see framer.h). Only quotes, tag ends, CDATA and the
 * prolog are tracked: on well-formed XML that is enough to find every
 * boundary expat would, and on anything else expat rejects what the
 * framer lets through. Runs of text and attribute values go by memchr().
 */
#include "framer.h"

#include <string.h>

enum fstate {
    F_PROLOG,     /* before the root element */
    F_BOM,        /* inside a UTF-8 byte order mark; k: bytes seen */
    F_PLT,        /* '<' in the prolog */
    F_DECL,       /* "<?" at the start: matching "xml"; k: bytes matched */
    F_DECL_BODY,  /* inside the XML declaration; k: 1 after '?' */
    F_TOP,        /* stream level, between units */
    F_JUNK,       /* text at the stream level */
    F_LT,         /* '<' inside content or at the stream level */
    F_BANG,       /* "<!" */
    F_CDATA_OPEN, /* "<![" matching "CDATA["; k: bytes matched */
    F_CDATA,      /* inside a CDATA section; k: ']' just seen, up to 2 */
    F_TEXT,       /* character data inside an element */
    F_STAG,       /* inside a start tag, outside attribute values */
    F_SLASH,      /* '/' inside a start tag */
    F_ATTR,       /* inside an attribute value; k: the closing quote */
    F_ETAG,       /* inside an end tag */
    F_EPILOG      /* after the stream or document ended */
};

#define FL_DOC 0x01  /* XB_FRAMER_DOCUMENT */
#define FL_DECL 0x02 /* an XML declaration may still come */
#define FL_BOM 0x04  /* a byte order mark may still come */

/* Bytes that end a run inside a start tag. */
static const unsigned char stag_stop[256] = {
    ['>'] = 1, ['/'] = 1, ['\''] = 1, ['"'] = 1, ['<'] = 1,
};

static int is_ws(unsigned c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Can c begin an element name? Non-ASCII bytes are left to expat. */
static int name_start(unsigned c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c == ':';
}

void xb_framer_init(struct xb_framer *f, unsigned flags)
{
    f->depth = 0;
    f->state = F_PROLOG;
    f->k = 0;
    f->flags = FL_DECL | FL_BOM;
    if (flags & XB_FRAMER_DOCUMENT)
        f->flags |= FL_DOC;
    f->attrs = 0;
    f->name = 0;
    f->max_depth = 0;
    f->max_attrs = 0;
}

void xb_framer_limit(struct xb_framer *f, unsigned max_depth,
                     unsigned max_attrs)
{
    f->max_depth = max_depth <= UINT16_MAX ? (uint16_t)max_depth : 0;
    f->max_attrs = max_attrs < 255 ? (uint8_t)max_attrs : 0;
}

/*
 * Attribute names in a start tag, for the attribute limit: f->name is
 * NAME_START after whitespace (a name may start), 1 + i after the first
 * i bytes of "xmlns" there, NAME_DECL in a namespace declaration ("xmlns"
 * or "xmlns:..." up to its value), and 0 in any other name (the
 * element's, or an attribute's).
 */
#define NAME_START 1
#define NAME_XMLNS 6 /* "xmlns" matched */
#define NAME_DECL 7

static void stag_byte(struct xb_framer *f, unsigned c)
{
    if (is_ws(c)) {
        if (f->name < NAME_XMLNS)
            f->name = NAME_START;
    } else if (f->name == NAME_XMLNS) {
        f->name = c == ':' || c == '=' ? NAME_DECL : 0;
    } else if (f->name >= NAME_START && f->name < NAME_XMLNS) {
        f->name = c == (unsigned char)"xmlns"[f->name - 1] ? f->name + 1 : 0;
    }
}

/* A quote opened an attribute's value: is it one too many? */
static int attr_over(struct xb_framer *f)
{
    int decl = f->name >= NAME_XMLNS;

    f->name = 0;
    if (decl || (f->depth == 0 && !(f->flags & FL_DOC)))
        return 0; /* a namespace declaration, or the stream root's */
    if (f->attrs < 255)
        f->attrs++;
    return f->max_attrs && f->attrs > f->max_attrs;
}

int xb_framer_between(const struct xb_framer *f)
{
    return f->state == F_TOP;
}

int xb_framer_in_text(const struct xb_framer *f)
{
    return f->state == F_JUNK;
}

int xb_framer_ended(const struct xb_framer *f)
{
    return f->state == F_EPILOG;
}

size_t xb_framer_skip(const struct xb_framer *f, const char *data, size_t len)
{
    size_t i = 0;

    if (f->state != F_TOP)
        return 0;
    while (i < len && is_ws((unsigned char)data[i]))
        i++;
    return i;
}

/* An element just closed (its end tag or the '>' of an empty-element tag
 * was consumed) and f->depth is the depth around it: what comes next? */
static enum xb_frame closed(struct xb_framer *f)
{
    if (f->depth == 0) {
        f->state = F_EPILOG;
        return XB_FRAME_END;
    }
    if (f->depth == 1 && !(f->flags & FL_DOC)) {
        f->state = F_TOP;
        return XB_FRAME_ELEMENT;
    }
    f->state = F_TEXT;
    return XB_FRAME_MORE;
}

size_t xb_framer_scan(struct xb_framer *f, const char *data, size_t len,
                      enum xb_frame *ev)
{
    const unsigned char *s = (const unsigned char *)data;
    const unsigned char *p = s, *end = s + len, *q;
    enum xb_frame r = XB_FRAME_MORE;
    unsigned c;

    while (p < end) {
        switch (f->state) {
        case F_TEXT:
        case F_JUNK:
            /* Text, inside an element or at the stream level. Expat may
             * hold the last bytes of junk until it sees what follows
             * ("]", CR, part of a character): the markup that ends it
             * belongs to the same unit. */
            q = memchr(p, '<', (size_t)(end - p));
            if (!q)
                goto all;
            p = q + 1;
            f->state = F_LT;
            break;
        case F_ATTR:
            q = memchr(p, f->k, (size_t)(end - p));
            if (!q)
                goto all;
            p = q + 1;
            f->state = F_STAG;
            break;
        case F_STAG:
            while (p < end && !stag_stop[*p])
                stag_byte(f, *p++);
            if (p == end)
                goto all;
            c = *p++;
            if (c == '\'' || c == '"') {
                if (attr_over(f)) {
                    r = XB_FRAME_ATTRS;
                    goto out;
                }
                /* The common case, without going round the switch. */
                q = memchr(p, (int)c, (size_t)(end - p));
                if (!q) {
                    f->k = (uint8_t)c;
                    f->state = F_ATTR;
                    goto all;
                }
                p = q + 1;
                break;
            }
            if (c == '>') {
                if (f->depth == UINT32_MAX) {
                    r = XB_FRAME_INVALID;
                    goto out;
                }
                f->depth++;
                if (f->max_depth && f->depth > f->max_depth) {
                    r = XB_FRAME_DEEP;
                    goto out;
                }
                if (f->depth == 1 && !(f->flags & FL_DOC)) {
                    f->state = F_TOP;
                    r = XB_FRAME_HEADER;
                    goto out;
                }
                f->state = F_TEXT;
            } else if (c == '/') {
                f->state = F_SLASH;
            } else {
                r = XB_FRAME_INVALID; /* '<' */
                goto out;
            }
            break;
        case F_SLASH:
            if (*p++ != '>') {
                r = XB_FRAME_INVALID;
                goto out;
            }
            if (f->max_depth && f->depth >= f->max_depth) {
                r = XB_FRAME_DEEP; /* an empty element one too deep */
                goto out;
            }
            r = closed(f);
            if (r != XB_FRAME_MORE)
                goto out;
            break;
        case F_ETAG:
            q = memchr(p, '>', (size_t)(end - p));
            if (!q)
                goto all;
            p = q + 1;
            f->depth--;
            r = closed(f);
            if (r != XB_FRAME_MORE)
                goto out;
            break;
        case F_LT:
            c = *p++;
            if (c == '/') {
                f->state = F_ETAG;
            } else if (c == '!') {
                f->state = F_BANG;
            } else if (c == '?') {
                r = XB_FRAME_PI;
                goto out;
            } else if (name_start(c)) {
                f->state = F_STAG;
                f->attrs = 0;
                f->name = 0;
            } else {
                r = XB_FRAME_INVALID;
                goto out;
            }
            break;
        case F_TOP:
            /* A unit starts here (the caller skipped the whitespace). */
            if (*p == '<') {
                p++;
                f->state = F_LT;
            } else {
                f->state = F_JUNK;
            }
            break;
        case F_BANG:
            c = *p++;
            if (c == '-') {
                r = XB_FRAME_COMMENT;
                goto out;
            }
            if (f->depth == 0) {
                r = c == 'D' ? XB_FRAME_DOCTYPE : XB_FRAME_INVALID;
                goto out;
            }
            if (c != '[') {
                r = XB_FRAME_INVALID;
                goto out;
            }
            f->state = F_CDATA_OPEN;
            f->k = 0;
            break;
        case F_CDATA_OPEN:
            if (*p++ != (unsigned char)"CDATA["[f->k]) {
                r = XB_FRAME_INVALID;
                goto out;
            }
            if (++f->k == 6) {
                f->state = F_CDATA;
                f->k = 0;
            }
            break;
        case F_CDATA:
            if (f->k == 0) {
                q = memchr(p, ']', (size_t)(end - p));
                if (!q)
                    goto all;
                p = q + 1;
                f->k = 1;
                break;
            }
            c = *p++;
            if (c == ']') {
                f->k = 2;
            } else if (c == '>' && f->k == 2) {
                if (f->depth == 1 && !(f->flags & FL_DOC)) {
                    f->state = F_TOP;
                    r = XB_FRAME_TEXT;
                    goto out;
                }
                f->state = F_TEXT;
            } else {
                f->k = 0;
            }
            break;
        case F_PROLOG:
            c = *p++;
            if (c == '<') {
                f->state = F_PLT;
                f->flags &= (uint8_t)~FL_BOM;
            } else if (is_ws(c)) {
                f->flags &= (uint8_t) ~(FL_DECL | FL_BOM);
            } else if (c == 0xEF && (f->flags & FL_BOM)) {
                f->state = F_BOM;
                f->k = 1;
                f->flags &= (uint8_t)~FL_BOM;
            } else {
                r = XB_FRAME_INVALID;
                goto out;
            }
            break;
        case F_BOM:
            c = *p++;
            if (f->k == 1 && c == 0xBB) {
                f->k = 2;
            } else if (f->k == 2 && c == 0xBF) {
                f->state = F_PROLOG;
            } else {
                r = XB_FRAME_INVALID;
                goto out;
            }
            break;
        case F_PLT:
            c = *p++;
            if (c == '?') {
                if (!(f->flags & FL_DECL)) {
                    r = XB_FRAME_PI;
                    goto out;
                }
                f->state = F_DECL;
                f->k = 0;
            } else if (c == '!') {
                f->state = F_BANG;
            } else if (name_start(c)) {
                f->state = F_STAG;
                f->attrs = 0;
                f->name = 0;
            } else {
                r = XB_FRAME_INVALID;
                goto out;
            }
            f->flags &= (uint8_t)~FL_DECL;
            break;
        case F_DECL:
            c = *p++;
            if (f->k < 3) {
                if (c != (unsigned char)"xml"[f->k]) {
                    r = XB_FRAME_PI;
                    goto out;
                }
                f->k++;
            } else if (is_ws(c)) {
                f->state = F_DECL_BODY;
                f->k = 0;
            } else {
                r = XB_FRAME_PI; /* <?xml-stylesheet ...?> and the like */
                goto out;
            }
            break;
        case F_DECL_BODY:
            c = *p++;
            if (c == '?')
                f->k = 1;
            else if (c == '>' && f->k)
                f->state = F_PROLOG;
            else
                f->k = 0;
            break;
        default: /* F_EPILOG */
            goto all;
        }
    }
    goto out;
all:
    p = end;
out:
    *ev = r;
    return (size_t)(p - s);
}
