/*
 * The stream parser: expat in namespace mode builds each top-level element
 * in a reusable scratch tree, which is then compacted into one exact-size
 * allocation for the host. Handlers never reset or free expat; they record
 * an error and stop the parse, and xb_parser_feed() reports it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "parser.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "error.h"
#include "stanza_int.h"

/* Separates namespace name and local name in expat's reports: a character
 * XML 1.0 does not allow, so it cannot occur in either. */
#define NS_SEP '\x01'
/* A fixed hash salt: expat would otherwise read getrandom() on every
 * reset. Hash flooding is bounded by max_attrs anyway. */
#define HASH_SALT 0x5a17c0deUL
/* Bytes handed to expat per call, so that the size limit is checked
 * before expat buffers much more than it allows. */
#define SLICE 65536
/* Scratch arena kept by each parser: typical stanzas fit in it, bigger
 * ones grow it for their own lifetime only. */
#define SCRATCH_ARENA 1024

enum state {
    ST_OPEN,    /* accepting bytes */
    ST_STOPPED, /* xb_parser_stop() was called */
    ST_ENDED,   /* the stream or document ended */
    ST_FAILED   /* an error is recorded */
};

struct xb_parser {
    XML_Parser xp;
    struct xb_parser_hooks hooks;
    void *ud;
    struct xb_parser_limits lim;
    unsigned flags;
    enum state state;
    int err;
    enum xb_cond cond;
    char msg[192];
    unsigned depth;           /* open elements, the stream root included */
    struct xb_tree *scratch;  /* the stanza being built */
    struct xb_stanza *cur;    /* its innermost open element, or NULL */
    struct xb_buf text;       /* character data not yet in the tree */
    XML_Index start;          /* byte index where the current stanza began */
    XML_Index boundary;       /* byte index after the last complete event */
    XML_Index fed;            /* bytes given to expat since the reset */
    struct xb_buf content_ns; /* default namespace of the stream header */
    int have_content_ns;
};

static void fail(struct xb_parser *p, int err, enum xb_cond cond,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail(struct xb_parser *p, int err, enum xb_cond cond,
                 const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->state == ST_FAILED)
        return;
    p->state = ST_FAILED;
    p->err = err;
    p->cond = cond;
    n = snprintf(p->msg, sizeof p->msg, "line %lu, column %lu: ",
                 (unsigned long)XML_GetCurrentLineNumber(p->xp),
                 (unsigned long)XML_GetCurrentColumnNumber(p->xp) + 1);
    if (n < 0 || (size_t)n >= sizeof p->msg)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(p->msg + n, sizeof p->msg - (size_t)n, fmt, ap);
    va_end(ap);
    XML_StopParser(p->xp, XML_FALSE);
}

static int is_stream_mode(const struct xb_parser *p)
{
    return !(p->flags & XB_PARSER_DOCUMENT);
}

/* Expat may still report an event or two after XML_StopParser() (the end
 * of an empty element, say): ignore them once stopped or failed. */
static int halted(const struct xb_parser *p)
{
    return p->state == ST_FAILED || p->state == ST_STOPPED;
}

/* Depth of the open element inside its stanza (the stanza itself is 1). */
static unsigned stanza_depth(const struct xb_parser *p)
{
    return is_stream_mode(p) ? p->depth - 1 : p->depth;
}

/* Has the stanza under construction grown past the limit? Counts from its
 * first byte to the end of the event being reported. */
static int too_big(struct xb_parser *p)
{
    XML_Index end =
        XML_GetCurrentByteIndex(p->xp) + XML_GetCurrentByteCount(p->xp);

    if (p->cur && (size_t)(end - p->start) > p->lim.max_stanza_bytes) {
        fail(p, XB_ELIMIT, XB_COND_POLICY_VIOLATION,
             "stanza larger than %zu bytes", p->lim.max_stanza_bytes);
        return 1;
    }
    return 0;
}

/* Splits expat's "ns<SEP>local" into a namespace (length *nslen, 0 when
 * none) and the local name it returns. */
static const char *split_name(const char *qname, size_t *nslen)
{
    const char *sep = strchr(qname, NS_SEP);

    if (!sep) {
        *nslen = 0;
        return qname;
    }
    *nslen = (size_t)(sep - qname);
    return sep + 1;
}

static int flush_text(struct xb_parser *p)
{
    int rc;

    if (!p->text.len)
        return 0;
    rc = xb_stanza_append_text(p->scratch, p->cur, p->text.data, p->text.len);
    xb_buf_reset(&p->text);
    if (rc)
        fail(p, rc, XB_COND_RESOURCE_CONSTRAINT, "out of memory");
    return rc;
}

/* The namespace string for a new element: the parent's when equal (the
 * common case), else a copy in the scratch arena. */
static const char *element_ns(struct xb_parser *p, const char *qname,
                              size_t nslen)
{
    const struct xb_stanza *parent = p->cur;

    if (nslen == 0)
        return "";
    if (parent && strlen(parent->ns) == nslen &&
        !memcmp(parent->ns, qname, nslen))
        return parent->ns;
    return xb_tree_strdup(p->scratch, qname, nslen);
}

static int add_attrs(struct xb_parser *p, struct xb_stanza *el,
                     const XML_Char **atts)
{
    uint32_t n = 0, i;
    struct xb_attr *a;
    size_t nslen;
    const char *local;

    while (atts[2 * n])
        n++;
    if (n > p->lim.max_attrs) {
        fail(p, XB_ELIMIT, XB_COND_POLICY_VIOLATION,
             "more than %u attributes on <%s>", p->lim.max_attrs, el->name);
        return XB_ELIMIT;
    }
    if (n == 0)
        return 0;
    a = xb_tree_alloc(p->scratch, n * sizeof *a);
    if (!a)
        goto nomem;
    for (i = 0; i < n; i++) {
        local = split_name(atts[2 * i], &nslen);
        a[i].ns = nslen ? xb_tree_strdup(p->scratch, atts[2 * i], nslen) : "";
        a[i].name = xb_tree_strdup(p->scratch, local, strlen(local));
        a[i].value = xb_tree_strdup(p->scratch, atts[2 * i + 1],
                                    strlen(atts[2 * i + 1]));
        if (!a[i].ns || !a[i].name || !a[i].value)
            goto nomem;
    }
    el->u.el.attrs = a;
    el->u.el.nattrs = el->u.el.cap = n;
    return 0;
nomem:
    fail(p, XB_ENOMEM, XB_COND_RESOURCE_CONSTRAINT, "out of memory");
    return XB_ENOMEM;
}

static void stream_open(struct xb_parser *p, const XML_Char *name,
                        const XML_Char **atts)
{
    struct xb_stream_header h = {0};
    size_t nslen, i;
    const char *local = split_name(name, &nslen);

    if (nslen != strlen(XB_NS_STREAMS) || memcmp(name, XB_NS_STREAMS, nslen) ||
        strcmp(local, "stream")) {
        fail(p, XB_EXML, XB_COND_INVALID_NAMESPACE,
             "root element is not {%s}stream", XB_NS_STREAMS);
        return;
    }
    for (i = 0; atts[i]; i += 2) {
        const char *v = atts[i + 1];

        if (!strcmp(atts[i], "from"))
            h.from = v;
        else if (!strcmp(atts[i], "to"))
            h.to = v;
        else if (!strcmp(atts[i], "id"))
            h.id = v;
        else if (!strcmp(atts[i], "version"))
            h.version = v;
        else if (!strcmp(atts[i], XB_NS_XML "\x01"
                                            "lang"))
            h.lang = v;
    }
    if (p->have_content_ns)
        h.content_ns = p->content_ns.data ? p->content_ns.data : "";
    /* Namespace declarations inside stanzas are of no interest. */
    XML_SetStartNamespaceDeclHandler(p->xp, NULL);
    p->boundary =
        XML_GetCurrentByteIndex(p->xp) + XML_GetCurrentByteCount(p->xp);
    if (p->hooks.stream_open)
        p->hooks.stream_open(p->ud, &h);
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **atts)
{
    struct xb_parser *p = ud;
    struct xb_stanza *el;
    const char *local, *ns;
    size_t nslen;

    if (halted(p))
        return;
    p->depth++;
    if (is_stream_mode(p) && p->depth == 1) {
        stream_open(p, name, atts);
        return;
    }
    if (stanza_depth(p) > p->lim.max_depth) {
        fail(p, XB_ELIMIT, XB_COND_POLICY_VIOLATION,
             "elements nested deeper than %u", p->lim.max_depth);
        return;
    }
    local = split_name(name, &nslen);
    if (!p->cur) {
        xb_tree_rewind(p->scratch);
        p->start = XML_GetCurrentByteIndex(p->xp);
        el = &p->scratch->root;
        el->ns = element_ns(p, name, nslen);
        el->name = xb_tree_strdup(p->scratch, local, strlen(local));
    } else {
        if (flush_text(p))
            return;
        ns = element_ns(p, name, nslen);
        el = ns ? xb_stanza_append_element(
                      p->scratch, p->cur, ns,
                      xb_tree_strdup(p->scratch, local, strlen(local)))
                : NULL;
    }
    if (!el || !el->ns || !el->name) {
        fail(p, XB_ENOMEM, XB_COND_RESOURCE_CONSTRAINT, "out of memory");
        return;
    }
    p->cur = el;
    if (add_attrs(p, el, atts) == 0)
        too_big(p);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct xb_parser *p = ud;
    struct xb_stanza *st;

    if (halted(p))
        return;
    (void)name; /* expat has matched it against the start tag already */
    p->depth--;
    if (!p->cur) {
        /* </stream:stream> */
        p->state = ST_ENDED;
        if (p->hooks.stream_close)
            p->hooks.stream_close(p->ud);
        return;
    }
    if (flush_text(p) || too_big(p))
        return;
    if (p->cur->parent) {
        p->cur = p->cur->parent;
        return;
    }
    p->cur = NULL;
    p->boundary =
        XML_GetCurrentByteIndex(p->xp) + XML_GetCurrentByteCount(p->xp);
    if (!is_stream_mode(p))
        p->state = ST_ENDED;
    st = xb_stanza_copy(&p->scratch->root);
    if (!st) {
        fail(p, XB_ENOMEM, XB_COND_RESOURCE_CONSTRAINT, "out of memory");
        return;
    }
    if (p->hooks.stanza)
        p->hooks.stanza(p->ud, st);
    else
        xb_stanza_free(st);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xb_parser *p = ud;
    int i;

    if (halted(p))
        return;
    if (!p->cur) {
        /* Between stanzas only whitespace (keepalives) is allowed. */
        for (i = 0; i < len; i++) {
            if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
                fail(p, XB_EXML, XB_COND_BAD_FORMAT,
                     "text outside of any stanza");
                return;
            }
        }
        p->boundary =
            XML_GetCurrentByteIndex(p->xp) + XML_GetCurrentByteCount(p->xp);
        return;
    }
    if (too_big(p))
        return;
    if (xb_buf_append(&p->text, s, (size_t)len))
        fail(p, XB_ENOMEM, XB_COND_RESOURCE_CONSTRAINT, "out of memory");
}

static void XMLCALL on_ns_decl(void *ud, const XML_Char *prefix,
                               const XML_Char *uri)
{
    struct xb_parser *p = ud;

    if (prefix || p->depth != 0)
        return;
    xb_buf_reset(&p->content_ns);
    if (xb_buf_puts(&p->content_ns, uri ? uri : ""))
        fail(p, XB_ENOMEM, XB_COND_RESOURCE_CONSTRAINT, "out of memory");
    p->have_content_ns = 1;
}

static void XMLCALL on_xml_decl(void *ud, const XML_Char *version,
                                const XML_Char *encoding, int standalone)
{
    struct xb_parser *p = ud;

    (void)version;
    (void)standalone;
    if (encoding && strcasecmp(encoding, "UTF-8") != 0)
        fail(p, XB_EXML, XB_COND_UNSUPPORTED_ENCODING,
             "encoding '%.40s' is not UTF-8", encoding);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    fail(ud, XB_EXML, XB_COND_RESTRICTED_XML, "DOCTYPE is not allowed");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_pe,
                                   const XML_Char *value, int value_length,
                                   const XML_Char *base, const XML_Char *sysid,
                                   const XML_Char *pubid,
                                   const XML_Char *notation)
{
    (void)name;
    (void)is_pe;
    (void)value;
    (void)value_length;
    (void)base;
    (void)sysid;
    (void)pubid;
    (void)notation;
    fail(ud, XB_EXML, XB_COND_RESTRICTED_XML,
         "entity declarations are not allowed");
}

static void XMLCALL on_comment(void *ud, const XML_Char *data)
{
    (void)data;
    fail(ud, XB_EXML, XB_COND_RESTRICTED_XML, "comments are not allowed");
}

static void XMLCALL on_pi(void *ud, const XML_Char *target,
                          const XML_Char *data)
{
    (void)target;
    (void)data;
    fail(ud, XB_EXML, XB_COND_RESTRICTED_XML,
         "processing instructions are not allowed");
}

/* Installs handlers and settings; also after XML_ParserReset, which clears
 * them all. */
static void setup(struct xb_parser *p)
{
    XML_SetUserData(p->xp, p);
    XML_SetHashSalt(p->xp, HASH_SALT);
#ifdef HAVE_XML_SETREPARSEDEFERRALENABLED
    /* A stream is interactive: each stanza must come out as soon as its
     * last byte is in, not when more bytes happen to follow. */
    XML_SetReparseDeferralEnabled(p->xp, XML_FALSE);
#endif
    XML_SetElementHandler(p->xp, on_start, on_end);
    XML_SetCharacterDataHandler(p->xp, on_text);
    XML_SetXmlDeclHandler(p->xp, on_xml_decl);
    XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
    XML_SetEntityDeclHandler(p->xp, on_entity_decl);
    XML_SetCommentHandler(p->xp, on_comment);
    XML_SetProcessingInstructionHandler(p->xp, on_pi);
    if (is_stream_mode(p))
        XML_SetStartNamespaceDeclHandler(p->xp, on_ns_decl);
    p->state = ST_OPEN;
    p->err = 0;
    p->cond = XB_COND_NONE;
    p->msg[0] = '\0';
    p->depth = 0;
    p->cur = NULL;
    p->start = p->boundary = p->fed = 0;
    p->have_content_ns = 0;
    xb_buf_reset(&p->text);
    xb_buf_reset(&p->content_ns);
}

struct xb_parser *xb_parser_new(const struct xb_parser_hooks *hooks, void *ud,
                                const struct xb_parser_limits *limits,
                                unsigned flags)
{
    struct xb_parser *p = calloc(1, sizeof *p);

    if (!p)
        return NULL;
    if (hooks)
        p->hooks = *hooks;
    p->ud = ud;
    if (limits)
        p->lim = *limits;
    if (!p->lim.max_stanza_bytes)
        p->lim.max_stanza_bytes = XB_PARSER_DEFAULT_MAX_STANZA_BYTES;
    if (!p->lim.max_depth)
        p->lim.max_depth = XB_PARSER_DEFAULT_MAX_DEPTH;
    if (!p->lim.max_attrs)
        p->lim.max_attrs = XB_PARSER_DEFAULT_MAX_ATTRS;
    p->flags = flags;
    xb_buf_init(&p->text);
    xb_buf_init(&p->content_ns);
    p->xp = XML_ParserCreateNS("UTF-8", NS_SEP);
    p->scratch = xb_tree_new(SCRATCH_ARENA);
    if (!p->xp || !p->scratch) {
        xb_parser_free(p);
        return NULL;
    }
    setup(p);
    return p;
}

void xb_parser_free(struct xb_parser *p)
{
    if (!p)
        return;
    if (p->xp)
        XML_ParserFree(p->xp);
    if (p->scratch)
        xb_stanza_free(&p->scratch->root);
    xb_buf_free(&p->text);
    xb_buf_free(&p->content_ns);
    free(p);
}

int xb_parser_reset(struct xb_parser *p)
{
    if (!XML_ParserReset(p->xp, "UTF-8"))
        return XB_ENOMEM;
    xb_tree_rewind(p->scratch);
    setup(p);
    return 0;
}

void xb_parser_stop(struct xb_parser *p)
{
    if (p->state == ST_OPEN || p->state == ST_ENDED) {
        p->state = ST_STOPPED;
        XML_StopParser(p->xp, XML_FALSE);
    }
}

/* Turns an error expat found on its own into a stream error. */
static void expat_failed(struct xb_parser *p)
{
    enum XML_Error code = XML_GetErrorCode(p->xp);
    enum xb_cond cond = XB_COND_NOT_WELL_FORMED;
    int err = XB_EXML;

    switch (code) {
    case XML_ERROR_NO_MEMORY:
        err = XB_ENOMEM;
        cond = XB_COND_RESOURCE_CONSTRAINT;
        break;
    case XML_ERROR_UNDEFINED_ENTITY:
    case XML_ERROR_RECURSIVE_ENTITY_REF:
    case XML_ERROR_BINARY_ENTITY_REF:
    case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
    case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
    case XML_ERROR_ENTITY_DECLARED_IN_PE:
        cond = XB_COND_RESTRICTED_XML;
        break;
    default:
        break;
    }
    fail(p, err, cond, "%s", XML_ErrorString(code));
}

int xb_parser_feed(struct xb_parser *p, const char *data, size_t len)
{
    size_t n;

    if (p->state != ST_OPEN)
        return XB_ESTATE; /* failed, stopped or ended: see parser.h */
    while (len > 0) {
        n = len < SLICE ? len : SLICE;
        if (XML_Parse(p->xp, data, (int)n, XML_FALSE) == XML_STATUS_ERROR) {
            if (p->state == ST_STOPPED)
                return 0;
            if (p->state != ST_FAILED)
                expat_failed(p);
            return p->err;
        }
        if (p->state == ST_STOPPED)
            return 0;
        p->fed += (XML_Index)n;
        data += n;
        len -= n;
        /* Bytes expat holds in an unfinished token count too. */
        if ((size_t)(p->fed - p->boundary) > p->lim.max_stanza_bytes) {
            fail(p, XB_ELIMIT, XB_COND_POLICY_VIOLATION,
                 "stanza larger than %zu bytes", p->lim.max_stanza_bytes);
            return p->err;
        }
    }
    return 0;
}

int xb_parser_error(const struct xb_parser *p)
{
    return p->state == ST_FAILED ? p->err : 0;
}

enum xb_cond xb_parser_condition(const struct xb_parser *p)
{
    return p->state == ST_FAILED ? p->cond : XB_COND_NONE;
}

const char *xb_parser_message(const struct xb_parser *p)
{
    return p->state == ST_FAILED ? p->msg : "";
}

static void keep_one(void *ud, struct xb_stanza *st)
{
    struct xb_stanza **out = ud;

    if (*out)
        xb_stanza_free(*out);
    *out = st;
}

int xb_parser_parse_one(const char *xml, size_t len, struct xb_stanza **out,
                        enum xb_cond *cond)
{
    static const struct xb_parser_hooks hooks = {NULL, keep_one, NULL};
    struct xb_parser *p;
    int rc;

    *out = NULL;
    if (cond)
        *cond = XB_COND_NONE;
    p = xb_parser_new(&hooks, out, NULL, XB_PARSER_DOCUMENT);
    if (!p)
        return XB_ENOMEM;
    rc = xb_parser_feed(p, xml, len);
    if (rc == XB_ESTATE)
        rc = XB_EXML; /* bytes after the element */
    if (rc == 0 && (p->state != ST_ENDED || !*out))
        rc = XB_EXML; /* the element is not complete */
    if (rc && cond)
        *cond = p->state == ST_FAILED ? p->cond : XB_COND_NOT_WELL_FORMED;
    if (rc) {
        xb_stanza_free(*out);
        *out = NULL;
    }
    xb_parser_free(p);
    return rc;
}
