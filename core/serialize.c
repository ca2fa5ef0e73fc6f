/*
 * Stanza tree to XML. One iterative walk; namespace declarations follow
 * the default namespace in scope, the stream prefix is used for elements
 * of the streams namespace, and other attribute namespaces get prefixes
 * declared on the element that needs them.
 */
#include "serialize.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "stanza_int.h"
#include "xmpp.h"

#define APPEND(out, lit) xb_buf_append((out), (lit), sizeof(lit) - 1)

/* Characters that need escaping: bit 1 in text, bit 2 in attribute values
 * (single-quoted). Besides the markup characters, CR (and in attributes
 * TAB and LF) become character references: a parser would otherwise
 * normalize them away. */
static const unsigned char special[256] = {
    ['&'] = 3,  ['<'] = 3, ['>'] = 3,  ['\r'] = 3,
    ['\''] = 2, ['"'] = 2, ['\n'] = 2, ['\t'] = 2,
};

static const char *reference(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '\'':
        return "&apos;";
    case '"':
        return "&quot;";
    case '\r':
        return "&#13;";
    case '\n':
        return "&#10;";
    default:
        return "&#9;";
    }
}

/* Escapes s for text (attr == 0) or a single-quoted attribute value. Runs
 * of plain characters are copied in one piece. */
static int escape(struct xb_buf *out, const char *s, size_t len, int attr)
{
    const unsigned char mask = attr ? 2 : 1;
    size_t i, run = 0;
    int rc;

    for (i = 0; i < len; i++) {
        if (!(special[(unsigned char)s[i]] & mask))
            continue;
        if ((rc = xb_buf_append(out, s + run, i - run)) ||
            (rc = xb_buf_puts(out, reference(s[i]))))
            return rc;
        run = i + 1;
    }
    return xb_buf_append(out, s + run, len - run);
}

int xb_serialize_escape(struct xb_buf *out, const char *s, size_t len)
{
    return escape(out, s, len, 1);
}

static int is_stream_el(const struct xb_stanza *n)
{
    return !strcmp(n->ns, XB_NS_STREAMS);
}

/* The prefix an element is written with, or NULL for the default
 * namespace: "stream" for the streams namespace, and "xml" for the XML
 * namespace, which is bound to xml: already and must never be declared
 * as a default (Namespaces in XML 1.0, section 3): <xml:er/> parses, and
 * must come back as itself. */
static const char *prefix_of(const struct xb_stanza *n)
{
    if (is_stream_el(n))
        return "stream";
    return strcmp(n->ns, XB_NS_XML) ? NULL : "xml";
}

/* The default namespace in scope for the children of element n, and
 * whether the stream prefix is bound there. Prefixed elements do not
 * change the default, so look through them (they are rare and near the
 * top, so this climbs a step or two at most). */
static const char *child_scope(const struct xb_stanza *n,
                               const struct xb_stanza *top,
                               const char *default_ns, int *stream_bound)
{
    *stream_bound = default_ns != NULL;
    while (prefix_of(n)) {
        if (is_stream_el(n))
            *stream_bound = 1;
        if (n == top)
            return default_ns ? default_ns : "";
        n = n->parent;
    }
    return n->ns;
}

static int attribute(struct xb_buf *out, const char *prefix, const char *name,
                     const char *value)
{
    int rc;

    if ((rc = APPEND(out, " ")))
        return rc;
    if (prefix && ((rc = xb_buf_puts(out, prefix)) || (rc = APPEND(out, ":"))))
        return rc;
    if ((rc = xb_buf_puts(out, name)) || (rc = APPEND(out, "='")) ||
        (rc = escape(out, value, strlen(value), 1)))
        return rc;
    return APPEND(out, "'");
}

/* Writes the attributes of n; namespaced ones other than xml: get prefix
 * nsK, declared here once per distinct namespace. */
static int attributes(struct xb_buf *out, const struct xb_stanza *n)
{
    uint32_t i, j;
    char prefix[16];
    int rc;

    for (i = 0; i < n->u.el.nattrs; i++) {
        const struct xb_attr *a = &n->u.el.attrs[i];

        if (!a->ns[0]) {
            rc = attribute(out, NULL, a->name, a->value);
        } else if (!strcmp(a->ns, XB_NS_XML)) {
            rc = attribute(out, "xml", a->name, a->value);
        } else {
            /* Reuse the prefix of the first attribute in this namespace. */
            for (j = 0; strcmp(n->u.el.attrs[j].ns, a->ns); j++)
                ;
            snprintf(prefix, sizeof prefix, "ns%u", (unsigned)j + 1);
            rc = 0;
            if (j == i)
                rc = attribute(out, "xmlns", prefix, a->ns);
            if (!rc)
                rc = attribute(out, prefix, a->name, a->value);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int start_tag(struct xb_buf *out, const struct xb_stanza *n,
                     const struct xb_stanza *top, const char *default_ns)
{
    int bound, rc;
    const char *scope;

    scope = n == top ? (default_ns ? default_ns : "")
                     : child_scope(n->parent, top, default_ns, &bound);
    if (n == top)
        bound = default_ns != NULL;
    if ((rc = APPEND(out, "<")))
        return rc;
    if (prefix_of(n)) {
        if ((rc = xb_buf_puts(out, prefix_of(n))) || (rc = APPEND(out, ":")) ||
            (rc = xb_buf_puts(out, n->name)))
            return rc;
        if (is_stream_el(n) && !bound &&
            (rc = attribute(out, "xmlns", "stream", XB_NS_STREAMS)))
            return rc;
    } else {
        if ((rc = xb_buf_puts(out, n->name)))
            return rc;
        if (strcmp(n->ns, scope) && (rc = attribute(out, NULL, "xmlns", n->ns)))
            return rc;
    }
    return attributes(out, n);
}

static int end_tag(struct xb_buf *out, const struct xb_stanza *n)
{
    int rc;

    if ((rc = APPEND(out, "</")))
        return rc;
    if (prefix_of(n) &&
        ((rc = xb_buf_puts(out, prefix_of(n))) || (rc = APPEND(out, ":"))))
        return rc;
    if ((rc = xb_buf_puts(out, n->name)))
        return rc;
    return APPEND(out, ">");
}

int xb_serialize(struct xb_buf *out, const struct xb_stanza *st,
                 const char *default_ns)
{
    const struct xb_stanza *n = st;
    int rc;

    if (XB_IS_TEXT(st))
        return XB_EINVAL;
    for (;;) {
        if (XB_IS_TEXT(n)) {
            rc = escape(out, n->name, n->u.len, 0);
        } else {
            rc = start_tag(out, n, st, default_ns);
            if (!rc && n->first) {
                if ((rc = APPEND(out, ">")))
                    return rc;
                n = n->first;
                continue;
            }
            if (!rc)
                rc = APPEND(out, "/>");
        }
        if (rc)
            return rc;
        while (n != st && !n->next) {
            n = n->parent;
            if ((rc = end_tag(out, n)))
                return rc;
        }
        if (n == st)
            return 0;
        n = n->next;
    }
}
