/*
 * The stream parser. Each parser runs a framer over its bytes to find the
 * units of its stream (header, top-level elements, close); an engine, one
 * expat that many parsers may share, parses the units and its handlers
 * build each top-level element in a scratch tree that is then compacted
 * into one exact-size allocation for the host. Handlers never reset or
 * free expat; they record an error and stop the parse, and
 * xb_parser_feed() reports it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "parser.h"

#include <assert.h>
#include <expat.h>
#include <stdarg.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "error.h"
#include "framer.h"
#include "stanza_int.h"

/* Separates namespace name, local name and prefix in expat's reports: a
 * character XML 1.0 does not allow, so it cannot occur in any of them. */
#define NS_SEP '\x01'
/* A fixed hash salt: expat would otherwise read getrandom() on every
 * reset. Hash flooding is bounded by max_attrs and the renewal below. */
#define HASH_SALT 0x5a17c0deUL
/* Bytes handed to expat per call (its length argument is an int). */
#define SLICE ((size_t)1 << 30)
/* Scratch arena of each engine: typical stanzas fit in it, bigger ones
 * grow it for their own lifetime only. */
#define SCRATCH_ARENA 1024
/* An engine's expat is replaced by a new one after this many units or
 * bytes, so that its name tables and buffers, which only ever grow, stay
 * bounded whatever names hostile peers send. */
#define RENEW_UNITS 4096u
#define RENEW_BYTES ((uint64_t)16 << 20)
/* Room for an error message, allocated on the first error. */
#define MSG_SIZE 192
/* Buffers beyond this size are given back once their content is used. */
#define KEEP_BUF 4096
/* Unfinished text at the stream level is parsed again on a shared engine
 * after another parser took the engine while it is no longer than this. */
#define TEXT_AGAIN 64
/* No run of bytes to parse (see xb_parser_feed). */
#define NO_RUN SIZE_MAX

enum state {
    ST_OPEN,    /* accepting bytes */
    ST_STOPPED, /* xb_parser_stop() was called */
    ST_ENDED,   /* the stream or document ended */
    ST_FAILED   /* an error is recorded */
};

/*
 * The stream context every jabber:client connection shares: expat primed
 * with it parses stanzas exactly as after the real stream header.
 */
static const char default_ctx[] =
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams'>";

struct xb_parser_engine {
    XML_Parser xp;
    struct xb_parser *cur;   /* the parser being parsed for; NULL while
                                priming */
    struct xb_parser *owner; /* whose unfinished unit expat holds, or NULL
                                when expat is between two units */
    const char *ctx;         /* the context primed: default_ctx or
                                ctx_buf.data; NULL when fresh or dirty */
    struct xb_buf ctx_buf;
    int solo;     /* private to one parser */
    int feeding;  /* a parser is parsing on it: hooks may be running */
    int in_parse; /* inside XML_Parse() */
    int dirty;    /* must be reset before its next unit */
    int fresh;    /* reset, nothing parsed: ready for a header/document */
    unsigned users;
    unsigned depth;          /* open elements, the stream root included */
    struct xb_tree *scratch; /* the stanza being built */
    struct xb_stanza *stcur; /* its innermost open element, or NULL */
    struct xb_buf text;      /* character data not yet in the tree */
    XML_Index fed;           /* bytes given to expat since the reset */
    XML_Index boundary;      /* index after the last top-level event */
    XML_Index map_index;     /* the expat index of ... */
    uint64_t map_stream;     /* ... this stream offset of cur */
    const char *in;          /* the bytes of the running feed */
    size_t in_len;
    unsigned long units;      /* units parsed by this expat */
    uint64_t bytes;           /* bytes parsed by this expat */
    struct xb_buf ns_default; /* header: default namespace */
    int have_default;
    struct xb_buf ns_prefixed; /* header: prefixed namespace declarations,
                                  written as attributes */
};

struct xb_parser {
    struct xb_parser_engine *eng;
    struct xb_parser_hooks hooks;
    void *ud;
    struct xb_parser_limits lim;
    unsigned flags;
    enum state state;
    int err;
    enum xb_cond cond;
    char *msg;           /* NULL until the first error */
    const char *ctx;     /* the stream context: NULL before the header,
                            default_ctx, or an allocation of our own */
    struct xb_framer fr; /* where we are in the stream */
    size_t unit_len;     /* bytes of the unit in progress */
    uint64_t pos;        /* stream offset of the next byte fed */
    uint64_t unit_start; /* stream offset of the unit in progress */
    uint64_t line_start; /* stream offset where line `line` begins */
    unsigned long line;  /* line of the byte at pos */
    struct xb_buf held;  /* shared engine: the unit in progress */
    int synced;          /* expat holds all of the unit in progress */
};

static int is_stream_mode(const struct xb_parser *p)
{
    return !(p->flags & XB_PARSER_DOCUMENT);
}

/* ---- errors --------------------------------------------------------------
 */

/* Line and column of the byte at stream offset off, from the line count
 * kept at pos and the bytes still at hand (the running feed, or the held
 * unit). Columns count bytes. */
static void locate(const struct xb_parser *p, uint64_t off, unsigned long *line,
                   uint64_t *col)
{
    const struct xb_parser_engine *e = p->eng;
    uint64_t ls = p->line_start, base;
    const char *s, *q;
    size_t i, n;

    *line = p->line;
    if (off >= p->pos) {
        if (e->feeding && e->in) {
            n = off - p->pos < e->in_len ? (size_t)(off - p->pos) : e->in_len;
            for (s = e->in; (q = memchr(s, '\n', n - (size_t)(s - e->in)));
                 s = q + 1) {
                ++*line;
                ls = p->pos + (uint64_t)(q - e->in) + 1;
            }
        }
    } else if (p->held.len && off >= p->pos - p->held.len) {
        base = p->pos - p->held.len;
        i = (size_t)(off - base);
        for (s = p->held.data + i;
             (q = memchr(s, '\n', p->held.len - (size_t)(s - p->held.data)));
             s = q + 1)
            --*line;
        ls = base;
        for (n = i; n > 0; n--) {
            if (p->held.data[n - 1] == '\n') {
                ls = base + n;
                break;
            }
        }
    }
    *col = off >= ls ? off - ls + 1 : 1;
}

static void vfail(struct xb_parser *p, uint64_t off, int err, enum xb_cond cond,
                  const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void vfail(struct xb_parser *p, uint64_t off, int err, enum xb_cond cond,
                  const char *fmt, va_list ap)
{
    struct xb_parser_engine *e = p->eng;
    unsigned long line;
    uint64_t col;
    int n;

    if (p->state == ST_FAILED)
        return;
    p->state = ST_FAILED;
    p->err = err;
    p->cond = cond;
    if (!p->msg)
        p->msg = malloc(MSG_SIZE);
    if (p->msg) {
        locate(p, off, &line, &col);
        n = snprintf(p->msg, MSG_SIZE, "line %lu, column %llu: ", line,
                     (unsigned long long)col);
        if (n < 0 || n >= MSG_SIZE)
            n = 0;
        vsnprintf(p->msg + n, MSG_SIZE - (size_t)n, fmt, ap);
    }
    if (e->in_parse && e->cur == p)
        XML_StopParser(e->xp, XML_FALSE);
}

static void fail_at(struct xb_parser *p, uint64_t off, int err,
                    enum xb_cond cond, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void fail_at(struct xb_parser *p, uint64_t off, int err,
                    enum xb_cond cond, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(p, off, err, cond, fmt, ap);
    va_end(ap);
}

/* The stream offset of what expat is reporting on (or failed at). */
static uint64_t expat_offset(const struct xb_parser *p)
{
    const struct xb_parser_engine *e = p->eng;
    XML_Index i = XML_GetCurrentByteIndex(e->xp);
    int64_t off;

    if (e->cur != p || i < 0)
        return p->pos;
    off = (int64_t)e->map_stream + (int64_t)(i - e->map_index);
    return off < 0 ? 0 : (uint64_t)off;
}

/* An error found by a handler, at the event being reported. */
static void fail(struct xb_parser *p, int err, enum xb_cond cond,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void fail(struct xb_parser *p, int err, enum xb_cond cond,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(p, expat_offset(p), err, cond, fmt, ap);
    va_end(ap);
}

static void nomem(struct xb_parser *p)
{
    fail(p, XB_ENOMEM, XB_COND_RESOURCE_CONSTRAINT, "out of memory");
}

/* ---- handlers --------------------------------------------------------------
 */

/* Expat may still report an event or two after XML_StopParser() (the end
 * of an empty element, say): ignore them once stopped or failed. */
static int halted(const struct xb_parser *p)
{
    return p->state == ST_FAILED || p->state == ST_STOPPED;
}

/* Depth of the open element inside its stanza (the stanza itself is 1). */
static unsigned stanza_depth(const struct xb_parser *p)
{
    return is_stream_mode(p) ? p->eng->depth - 1 : p->eng->depth;
}

/* Index right after the event being reported. */
static XML_Index event_end(const struct xb_parser_engine *e)
{
    return XML_GetCurrentByteIndex(e->xp) + XML_GetCurrentByteCount(e->xp);
}

/* Splits expat's "ns<SEP>local[<SEP>prefix]" into a namespace (length
 * *nslen, 0 when none) and the local name (length *len) it returns. */
static const char *split_name(const char *qname, size_t *nslen, size_t *len)
{
    const char *sep = strchr(qname, NS_SEP), *local, *end;

    if (!sep) {
        *nslen = 0;
        *len = strlen(qname);
        return qname;
    }
    *nslen = (size_t)(sep - qname);
    local = sep + 1;
    for (end = local; *end && *end != NS_SEP; end++)
        ;
    *len = (size_t)(end - local);
    return local;
}

static int flush_text(struct xb_parser *p)
{
    struct xb_parser_engine *e = p->eng;
    int rc;

    if (!e->text.len)
        return 0;
    rc = xb_stanza_append_text(e->scratch, e->stcur, e->text.data, e->text.len);
    xb_buf_reset(&e->text);
    if (rc)
        nomem(p);
    return rc;
}

/* The namespace string for a new element: the parent's when equal (the
 * common case), else a copy in the scratch arena. */
static const char *element_ns(struct xb_parser_engine *e, const char *qname,
                              size_t nslen)
{
    const struct xb_stanza *parent = e->stcur;

    if (nslen == 0)
        return "";
    if (parent && strlen(parent->ns) == nslen &&
        !memcmp(parent->ns, qname, nslen))
        return parent->ns;
    return xb_tree_strdup(e->scratch, qname, nslen);
}

static int add_attrs(struct xb_parser *p, struct xb_stanza *el,
                     const XML_Char **atts)
{
    struct xb_tree *t = p->eng->scratch;
    uint32_t n = 0, i;
    struct xb_attr *a;
    size_t nslen, len;
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
    a = xb_tree_alloc(t, n * sizeof *a);
    if (!a)
        goto nomem;
    for (i = 0; i < n; i++) {
        local = split_name(atts[2 * i], &nslen, &len);
        a[i].ns = nslen ? xb_tree_strdup(t, atts[2 * i], nslen) : "";
        a[i].name = xb_tree_strdup(t, local, len);
        a[i].value =
            xb_tree_strdup(t, atts[2 * i + 1], strlen(atts[2 * i + 1]));
        if (!a[i].ns || !a[i].name || !a[i].value)
            goto nomem;
    }
    el->u.el.attrs = a;
    el->u.el.nattrs = el->u.el.cap = n;
    return 0;
nomem:
    nomem(p);
    return XB_ENOMEM;
}

/* Appends s as a single-quoted attribute value. */
static int put_quoted(struct xb_buf *b, const char *s)
{
    const char *esc;
    int rc = 0;

    for (; *s && !rc; s++) {
        switch (*s) {
        case '&':
            esc = "&amp;";
            break;
        case '<':
            esc = "&lt;";
            break;
        case '\'':
            esc = "&apos;";
            break;
        case '\t':
            esc = "&#9;";
            break;
        case '\n':
            esc = "&#10;";
            break;
        case '\r':
            esc = "&#13;";
            break;
        default:
            rc = xb_buf_append(b, s, 1);
            continue;
        }
        rc = xb_buf_puts(b, esc);
    }
    return rc;
}

/*
 * Records the stream context of p's header in p->ctx: a start tag with the
 * root's name and namespace declarations, which primes an engine to parse
 * p's stanzas as the real header would. Every jabber:client stream shares
 * default_ctx. The engine, which just parsed the header, is in it now.
 */
static int keep_context(struct xb_parser *p, const char *prefix)
{
    struct xb_parser_engine *e = p->eng;
    struct xb_buf *b = &e->ctx_buf;
    char *own;
    int rc;

    xb_buf_reset(b);
    rc = xb_buf_puts(b, "<");
    if (!rc && prefix)
        rc = xb_buf_puts(b, prefix);
    if (!rc && prefix)
        rc = xb_buf_puts(b, ":");
    if (!rc)
        rc = xb_buf_puts(b, "stream");
    if (!rc && e->have_default) {
        rc = xb_buf_puts(b, " xmlns='");
        if (!rc && e->ns_default.data)
            rc = put_quoted(b, e->ns_default.data);
        if (!rc)
            rc = xb_buf_puts(b, "'");
    }
    if (!rc && e->ns_prefixed.len)
        rc = xb_buf_append(b, e->ns_prefixed.data, e->ns_prefixed.len);
    if (!rc)
        rc = xb_buf_puts(b, ">");
    if (rc)
        return rc;
    if (!strcmp(b->data, default_ctx)) {
        p->ctx = e->ctx = default_ctx;
        return 0;
    }
    own = strdup(b->data);
    if (!own)
        return XB_ENOMEM;
    p->ctx = own;
    e->ctx = b->data;
    return 0;
}

static void stream_open(struct xb_parser *p, const XML_Char *name,
                        const XML_Char **atts)
{
    struct xb_parser_engine *e = p->eng;
    struct xb_stream_header h = {0};
    size_t nslen, len, i;
    const char *local = split_name(name, &nslen, &len), *prefix;

    if (nslen != strlen(XB_NS_STREAMS) || memcmp(name, XB_NS_STREAMS, nslen) ||
        len != 6 || memcmp(local, "stream", 6)) {
        fail(p, XB_EXML, XB_COND_INVALID_NAMESPACE,
             "root element is not {%s}stream", XB_NS_STREAMS);
        return;
    }
    prefix = local[len] == NS_SEP ? local + len + 1 : NULL;
    for (i = 0; atts[i]; i += 2) {
        const char *v = atts[i + 1], *an = split_name(atts[i], &nslen, &len);

        if (nslen == 0 && !strcmp(an, "from"))
            h.from = v;
        else if (nslen == 0 && !strcmp(an, "to"))
            h.to = v;
        else if (nslen == 0 && !strcmp(an, "id"))
            h.id = v;
        else if (nslen == 0 && !strcmp(an, "version"))
            h.version = v;
        else if (nslen == strlen(XB_NS_XML) &&
                 !memcmp(atts[i], XB_NS_XML, nslen) && len == 4 &&
                 !memcmp(an, "lang", 4))
            h.lang = v;
    }
    if (e->have_default)
        h.content_ns = e->ns_default.data ? e->ns_default.data : "";
    if (keep_context(p, prefix)) {
        nomem(p);
        return;
    }
    e->boundary = event_end(e);
    if (p->hooks.stream_open)
        p->hooks.stream_open(p->ud, &h);
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **atts)
{
    struct xb_parser_engine *e = ud;
    struct xb_parser *p = e->cur;
    struct xb_stanza *el;
    const char *local, *ns;
    size_t nslen, len;

    if (!p) {
        e->depth++; /* priming */
        return;
    }
    if (halted(p))
        return;
    e->depth++;
    if (e->depth == 1) {
        /* Namespace declarations inside stanzas are of no interest. */
        XML_SetStartNamespaceDeclHandler(e->xp, NULL);
        if (is_stream_mode(p)) {
            stream_open(p, name, atts);
            return;
        }
    }
    if (stanza_depth(p) > p->lim.max_depth) {
        fail(p, XB_ELIMIT, XB_COND_POLICY_VIOLATION,
             "elements nested deeper than %u", p->lim.max_depth);
        return;
    }
    local = split_name(name, &nslen, &len);
    if (!e->stcur) {
        xb_tree_rewind(e->scratch);
        el = &e->scratch->root;
        el->ns = element_ns(e, name, nslen);
        el->name = xb_tree_strdup(e->scratch, local, len);
    } else {
        if (flush_text(p))
            return;
        ns = element_ns(e, name, nslen);
        el = ns ? xb_stanza_append_element(
                      e->scratch, e->stcur, ns,
                      xb_tree_strdup(e->scratch, local, len))
                : NULL;
    }
    if (!el || !el->ns || !el->name) {
        nomem(p);
        return;
    }
    e->stcur = el;
    add_attrs(p, el, atts);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct xb_parser_engine *e = ud;
    struct xb_parser *p = e->cur;
    struct xb_stanza *st;

    (void)name; /* expat has matched it against the start tag already */
    if (!p) {
        e->depth--;
        return;
    }
    if (halted(p))
        return;
    e->depth--;
    if (!e->stcur) {
        /* </stream:stream> */
        p->state = ST_ENDED;
        if (p->hooks.stream_close)
            p->hooks.stream_close(p->ud);
        return;
    }
    if (flush_text(p))
        return;
    if (e->stcur->parent) {
        e->stcur = e->stcur->parent;
        return;
    }
    e->stcur = NULL;
    e->boundary = event_end(e);
    if (!is_stream_mode(p))
        p->state = ST_ENDED;
    st = xb_stanza_copy(&e->scratch->root);
    if (!st) {
        nomem(p);
        return;
    }
    if (p->hooks.stanza)
        p->hooks.stanza(p->ud, st);
    else
        xb_stanza_free(st);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct xb_parser_engine *e = ud;
    struct xb_parser *p = e->cur;
    int i;

    if (!p || halted(p))
        return;
    if (!e->stcur) {
        /* Between stanzas only whitespace (keepalives) is allowed. */
        for (i = 0; i < len; i++) {
            if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
                fail(p, XB_EXML, XB_COND_BAD_FORMAT,
                     "text outside of any stanza");
                return;
            }
        }
        e->boundary = event_end(e);
        return;
    }
    if (xb_buf_append(&e->text, s, (size_t)len))
        nomem(p);
}

/* Only for engine_clean(): a CDATA section at the stream level ends
 * after its "]]>", which no character data event covers. */
static void XMLCALL on_cdata_end(void *ud)
{
    struct xb_parser_engine *e = ud;

    if (e->cur && !e->stcur)
        e->boundary = event_end(e);
}

static void XMLCALL on_ns_decl(void *ud, const XML_Char *prefix,
                               const XML_Char *uri)
{
    struct xb_parser_engine *e = ud;
    struct xb_parser *p = e->cur;
    int rc;

    if (!p || e->depth != 0 || !is_stream_mode(p))
        return;
    if (!prefix) {
        xb_buf_reset(&e->ns_default);
        rc = xb_buf_puts(&e->ns_default, uri ? uri : "");
        e->have_default = 1;
    } else {
        rc = xb_buf_puts(&e->ns_prefixed, " xmlns:");
        if (!rc)
            rc = xb_buf_puts(&e->ns_prefixed, prefix);
        if (!rc)
            rc = xb_buf_puts(&e->ns_prefixed, "='");
        if (!rc)
            rc = put_quoted(&e->ns_prefixed, uri ? uri : "");
        if (!rc)
            rc = xb_buf_puts(&e->ns_prefixed, "'");
    }
    if (rc)
        nomem(p);
}

static void XMLCALL on_xml_decl(void *ud, const XML_Char *version,
                                const XML_Char *encoding, int standalone)
{
    struct xb_parser_engine *e = ud;

    (void)version;
    (void)standalone;
    if (e->cur && encoding && strcasecmp(encoding, "UTF-8") != 0)
        fail(e->cur, XB_EXML, XB_COND_UNSUPPORTED_ENCODING,
             "encoding '%.40s' is not UTF-8", encoding);
}

/* The constructs below are refused by the framer before expat sees them
 * whole; these handlers catch what it lets through (after the stream
 * close, say). */
static void refuse(struct xb_parser_engine *e, const char *what)
{
    if (e->cur)
        fail(e->cur, XB_EXML, XB_COND_RESTRICTED_XML, "%s are not allowed",
             what);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    refuse(ud, "DOCTYPE declarations");
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
    refuse(ud, "entity declarations");
}

static void XMLCALL on_comment(void *ud, const XML_Char *data)
{
    (void)data;
    refuse(ud, "comments");
}

static void XMLCALL on_pi(void *ud, const XML_Char *target,
                          const XML_Char *data)
{
    (void)target;
    (void)data;
    refuse(ud, "processing instructions");
}

/* ---- the engine ------------------------------------------------------------
 */

/* Installs handlers and settings, also after XML_ParserReset (which clears
 * them all), and forgets the document state: the engine is fresh. */
static void engine_setup(struct xb_parser_engine *e)
{
    XML_SetUserData(e->xp, e);
    XML_SetHashSalt(e->xp, HASH_SALT);
#ifdef HAVE_XML_SETREPARSEDEFERRALENABLED
    /* A stream is interactive: each stanza must come out as soon as its
     * last byte is in, not when more bytes happen to follow. */
    XML_SetReparseDeferralEnabled(e->xp, XML_FALSE);
#endif
    /* With prefixes reported, a header's context can be written back. */
    XML_SetReturnNSTriplet(e->xp, 1);
    XML_SetElementHandler(e->xp, on_start, on_end);
    XML_SetCharacterDataHandler(e->xp, on_text);
    XML_SetCdataSectionHandler(e->xp, NULL, on_cdata_end);
    XML_SetXmlDeclHandler(e->xp, on_xml_decl);
    XML_SetStartDoctypeDeclHandler(e->xp, on_doctype);
    XML_SetEntityDeclHandler(e->xp, on_entity_decl);
    XML_SetCommentHandler(e->xp, on_comment);
    XML_SetProcessingInstructionHandler(e->xp, on_pi);
    XML_SetStartNamespaceDeclHandler(e->xp, on_ns_decl);
    e->owner = NULL;
    e->ctx = NULL;
    e->dirty = 0;
    e->fresh = 1;
    e->depth = 0;
    e->stcur = NULL;
    e->fed = e->boundary = 0;
    e->have_default = 0;
    if (e->text.cap > KEEP_BUF)
        xb_buf_free(&e->text);
    xb_buf_reset(&e->text);
    xb_buf_reset(&e->ns_default);
    xb_buf_reset(&e->ns_prefixed);
}

static int engine_due(const struct xb_parser_engine *e)
{
    return e->units >= RENEW_UNITS || e->bytes >= RENEW_BYTES;
}

/* Resets expat (or replaces it when due) and primes it with ctx unless
 * ctx is NULL. 0 or XB_ENOMEM (the engine is then dirty). */
static int engine_reset(struct xb_parser_engine *e, const char *ctx)
{
    XML_Parser xp = NULL;
    size_t len;

    e->dirty = 1;
    if (engine_due(e))
        xp = XML_ParserCreateNS("UTF-8", NS_SEP);
    if (xp) {
        XML_ParserFree(e->xp);
        e->xp = xp;
        e->units = 0;
        e->bytes = 0;
    } else if (!XML_ParserReset(e->xp, "UTF-8")) {
        return XB_ENOMEM;
    }
    xb_tree_rewind(e->scratch);
    engine_setup(e);
    if (!ctx)
        return 0;
    XML_SetStartNamespaceDeclHandler(e->xp, NULL);
    len = strlen(ctx);
    e->cur = NULL;
    e->fresh = 0;
    if (XML_Parse(e->xp, ctx, (int)len, XML_FALSE) != XML_STATUS_OK ||
        e->depth != 1) {
        e->dirty = 1;
        return XB_ENOMEM;
    }
    e->fed = e->boundary = (XML_Index)len;
    if (ctx == default_ctx) {
        e->ctx = default_ctx;
    } else {
        xb_buf_reset(&e->ctx_buf);
        if (xb_buf_puts(&e->ctx_buf, ctx)) {
            e->dirty = 1;
            return XB_ENOMEM;
        }
        e->ctx = e->ctx_buf.data;
    }
    return 0;
}

static int same_context(const struct xb_parser_engine *e, const char *ctx)
{
    if (!e->ctx)
        return 0;
    if (e->ctx == ctx)
        return 1;
    return e->ctx != default_ctx && ctx != default_ctx && !strcmp(e->ctx, ctx);
}

/* Readies the engine for p's next bytes: as they are if it holds p's
 * unfinished unit, else clean at the stream level of p's context (fresh
 * for a header or document). Evicts another parser's unfinished unit. */
static int engine_take(struct xb_parser_engine *e, struct xb_parser *p)
{
    if (e->owner == p)
        return 0;
    if (e->owner) {
        e->owner = NULL; /* it parses that unit whole when complete */
        e->dirty = 1;
    }
    if (!p->ctx)
        return e->fresh && !e->dirty ? 0 : engine_reset(e, NULL);
    if (!e->dirty && same_context(e, p->ctx) && !engine_due(e))
        return 0;
    return engine_reset(e, p->ctx);
}

/* Is expat at the stream level, with no byte of a unit pending? On
 * well-formed input it is wherever the framer ends a unit. */
static int engine_clean(const struct xb_parser_engine *e)
{
    return e->depth == 1 && !e->stcur && e->boundary == e->fed;
}

/* Turns an error expat found on its own into a stream error. */
static void expat_failed(struct xb_parser *p)
{
    enum XML_Error code = XML_GetErrorCode(p->eng->xp);
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
    fail_at(p, expat_offset(p), err, cond, "%s", XML_ErrorString(code));
}

/* Parses len bytes of p's stream. 0 while p accepts more, else -1. */
static int engine_parse(struct xb_parser_engine *e, struct xb_parser *p,
                        const char *s, size_t len)
{
    enum XML_Status st;
    size_t n;

    while (len > 0) {
        n = len < SLICE ? len : SLICE;
        e->fresh = 0;
        e->in_parse = 1;
        st = XML_Parse(e->xp, s, (int)n, XML_FALSE);
        e->in_parse = 0;
        if (st == XML_STATUS_ERROR) {
            if (p->state == ST_OPEN || p->state == ST_ENDED)
                expat_failed(p);
            return -1;
        }
        if (p->state == ST_STOPPED || p->state == ST_FAILED)
            return -1;
        e->fed += (XML_Index)n;
        e->bytes += n;
        s += n;
        len -= n;
    }
    return 0;
}

static struct xb_parser_engine *engine_new(void)
{
    struct xb_parser_engine *e = calloc(1, sizeof *e);

    if (!e)
        return NULL;
    xb_buf_init(&e->ctx_buf);
    xb_buf_init(&e->text);
    xb_buf_init(&e->ns_default);
    xb_buf_init(&e->ns_prefixed);
    e->xp = XML_ParserCreateNS("UTF-8", NS_SEP);
    e->scratch = xb_tree_new(SCRATCH_ARENA);
    if (!e->xp || !e->scratch) {
        xb_parser_engine_free(e);
        return NULL;
    }
    engine_setup(e);
    return e;
}

struct xb_parser_engine *xb_parser_engine_new(void)
{
    return engine_new();
}

void xb_parser_engine_free(struct xb_parser_engine *e)
{
    if (!e)
        return;
    assert(e->users == 0); /* every parser on it must be freed first */
    if (e->xp)
        XML_ParserFree(e->xp);
    if (e->scratch)
        xb_stanza_free(&e->scratch->root);
    xb_buf_free(&e->ctx_buf);
    xb_buf_free(&e->text);
    xb_buf_free(&e->ns_default);
    xb_buf_free(&e->ns_prefixed);
    free(e);
}

/* ---- the parser ------------------------------------------------------------
 */

static void forget_context(struct xb_parser *p)
{
    if (p->ctx && p->ctx != default_ctx)
        free((char *)p->ctx);
    p->ctx = NULL;
}

/* Starts over at the first byte of a stream. */
static void parser_clear(struct xb_parser *p)
{
    p->state = ST_OPEN;
    p->err = 0;
    p->cond = XB_COND_NONE;
    if (p->msg)
        p->msg[0] = '\0';
    forget_context(p);
    xb_framer_init(&p->fr,
                   p->flags & XB_PARSER_DOCUMENT ? XB_FRAMER_DOCUMENT : 0);
    /* The limits fire on the byte that breaks them, on a shared engine
     * too (expat sees a unit there only once it is complete). The
     * framer's depth counts the stream root. */
    xb_framer_limit(&p->fr,
                    p->lim.max_depth + (is_stream_mode(p) &&
                                        p->lim.max_depth < UINT_MAX),
                    p->lim.max_attrs);
    p->unit_len = 0;
    p->synced = 0;
    p->pos = p->unit_start = p->line_start = 0;
    p->line = 1;
    xb_buf_free(&p->held);
}

static struct xb_parser *
parser_new(struct xb_parser_engine *e, const struct xb_parser_hooks *hooks,
           void *ud, const struct xb_parser_limits *limits, unsigned flags)
{
    struct xb_parser *p = calloc(1, sizeof *p);

    if (!p)
        return NULL;
    p->eng = e;
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
    xb_buf_init(&p->held);
    parser_clear(p);
    e->users++;
    return p;
}

struct xb_parser *xb_parser_new(const struct xb_parser_hooks *hooks, void *ud,
                                const struct xb_parser_limits *limits,
                                unsigned flags)
{
    struct xb_parser_engine *e = engine_new();
    struct xb_parser *p;

    if (!e)
        return NULL;
    e->solo = 1;
    p = parser_new(e, hooks, ud, limits, flags);
    if (!p)
        xb_parser_engine_free(e);
    return p;
}

struct xb_parser *xb_parser_new_shared(struct xb_parser_engine *e,
                                       const struct xb_parser_hooks *hooks,
                                       void *ud,
                                       const struct xb_parser_limits *limits,
                                       unsigned flags)
{
    return parser_new(e, hooks, ud, limits, flags);
}

/* p gives up what expat holds of its stream: expat needs a reset. */
static void release_engine(struct xb_parser *p)
{
    if (p->eng->owner == p) {
        p->eng->owner = NULL;
        p->eng->dirty = 1;
    }
}

void xb_parser_free(struct xb_parser *p)
{
    struct xb_parser_engine *e;

    if (!p)
        return;
    e = p->eng;
    release_engine(p);
    forget_context(p);
    xb_buf_free(&p->held);
    free(p->msg);
    e->users--;
    free(p);
    if (e->solo)
        xb_parser_engine_free(e);
}

int xb_parser_reset(struct xb_parser *p)
{
    if (p->eng->in_parse && p->eng->cur == p)
        return XB_ESTATE; /* from its own hook: expat is running */
    release_engine(p);
    if (p->eng->solo)
        p->eng->dirty = 1;
    parser_clear(p);
    return 0;
}

void xb_parser_stop(struct xb_parser *p)
{
    struct xb_parser_engine *e = p->eng;

    if (p->state != ST_OPEN && p->state != ST_ENDED)
        return;
    p->state = ST_STOPPED;
    if (e->in_parse && e->cur == p)
        XML_StopParser(e->xp, XML_FALSE);
    else
        release_engine(p);
}

/* Counts the lines of data, fed at p->pos. */
static void count_lines(struct xb_parser *p, const char *data, size_t len)
{
    const char *s = data, *q;

    while ((q = memchr(s, '\n', len - (size_t)(s - data)))) {
        p->line++;
        p->line_start = p->pos + (uint64_t)(q - data) + 1;
        s = q + 1;
    }
}

/* The message for an error the framer found. */
static void framer_failed(struct xb_parser *p, enum xb_frame ev, uint64_t off)
{
    switch (ev) {
    case XB_FRAME_COMMENT:
        fail_at(p, off, XB_EXML, XB_COND_RESTRICTED_XML,
                "comments are not allowed");
        break;
    case XB_FRAME_PI:
        fail_at(p, off, XB_EXML, XB_COND_RESTRICTED_XML,
                "processing instructions are not allowed");
        break;
    case XB_FRAME_DOCTYPE:
        fail_at(p, off, XB_EXML, XB_COND_RESTRICTED_XML,
                "DOCTYPE is not allowed");
        break;
    case XB_FRAME_DEEP:
        fail_at(p, off, XB_ELIMIT, XB_COND_POLICY_VIOLATION,
                "elements nested deeper than %u", p->lim.max_depth);
        break;
    case XB_FRAME_ATTRS:
        fail_at(p, off, XB_ELIMIT, XB_COND_POLICY_VIOLATION,
                "more than %u attributes on an element", p->lim.max_attrs);
        break;
    default:
        fail_at(p, off, XB_EXML, XB_COND_NOT_WELL_FORMED,
                "not well-formed (invalid token)");
        break;
    }
}

/*
 * The framer goes over the bytes first and finds the run to parse: from
 * the first unit that starts here (or from the first byte, when expat
 * holds the start of the unit in progress) to the end of the last unit
 * that ends here, or to the end of the bytes if a unit is still in
 * progress (expat checks it as it comes). Whitespace between units is
 * left out, so that keepalives never touch the engine. On a shared
 * engine, a unit in progress is also held by the parser: if another
 * parser takes the engine meanwhile, the unit is parsed from the held
 * bytes once it is complete. Errors the framer finds are reported after
 * expat has parsed the unit up to them, so that expat's own come first.
 */
int xb_parser_feed(struct xb_parser *p, const char *data, size_t len)
{
    struct xb_parser_engine *e = p->eng;
    size_t off = 0, n, room, run = NO_RUN, run_end = 0, unit_end = NO_RUN;
    size_t mid;
    enum xb_frame ev = XB_FRAME_MORE, bad = XB_FRAME_MORE, last = ev;
    uint64_t bad_off = 0;
    int held_first = 0, over = 0, cont = 0, busy, eager, rc;

    if (p->state != ST_OPEN || e->feeding)
        return XB_ESTATE; /* failed, stopped, ended, or a hook feeds */
    if (len == 0)
        return 0;
    e->feeding = 1;
    e->in = data;
    e->in_len = len;
    if (p->unit_len > 0) {
        if (e->owner == p && p->synced) {
            cont = 1; /* expat holds the start of the unit */
        } else if (xb_framer_in_text(&p->fr) && p->held.len <= TEXT_AGAIN) {
            /* Text that another parser took the engine from: it waits for
             * expat to decide, again (short, so cheap). */
            cont = held_first = 1;
        }
        if (cont)
            run = 0;
    } else if (!xb_framer_between(&p->fr)) {
        run = 0; /* the stream's first unit starts here */
        p->unit_start = p->pos;
    }
    while (off < len) {
        if (xb_framer_between(&p->fr)) {
            off += xb_framer_skip(&p->fr, data + off, len - off);
            if (off == len)
                break;
            p->unit_start = p->pos + off;
            if (run == NO_RUN)
                run = off;
        }
        room = p->lim.max_stanza_bytes - p->unit_len;
        n = len - off;
        if (n > room)
            n = room + 1;
        n = xb_framer_scan(&p->fr, data + off, n, &ev);
        off += n;
        p->unit_len += n;
        if (ev >= XB_FRAME_COMMENT) {
            bad = ev;
            bad_off = p->pos + off - 1;
            run_end = off;
        } else if (p->unit_len > p->lim.max_stanza_bytes) {
            over = 1;
            bad_off = p->unit_start + p->lim.max_stanza_bytes;
            run_end = off - 1;
        } else if (ev == XB_FRAME_MORE) {
            break;
        }
        if (run == NO_RUN) {
            /* The held unit is complete, or refused: parse it whole. */
            run = 0;
            held_first = 1;
        }
        if (bad != XB_FRAME_MORE || over)
            break;
        p->unit_len = 0;
        p->synced = 0;
        cont = 0;
        e->units++;
        run_end = off;
        last = ev;
        if (ev == XB_FRAME_END) {
            run_end = len; /* the epilogue: expat judges it */
            break;
        }
    }
    busy = !xb_framer_between(&p->fr) && !xb_framer_ended(&p->fr);
    /* A private engine checks a unit in progress as it comes; a shared
     * one waits for the whole unit, so that it is free between units and
     * need not be reset for another parser. Text at the stream level is
     * an error (bar references to whitespace): it goes to expat at once,
     * and so does the rest of its unit. */
    eager =
        busy && run != NO_RUN && (e->solo || cont || xb_framer_in_text(&p->fr));
    /* Where the last unit that ends here ends, expat must be clean. */
    if (bad == XB_FRAME_MORE && !over && (!eager || last != XB_FRAME_MORE))
        unit_end = run_end;
    if (eager && bad == XB_FRAME_MORE && !over)
        run_end = len;

    if (run != NO_RUN && (run_end > run || held_first)) {
        rc = engine_take(e, p);
        e->cur = p;
        e->map_index = e->fed;
        if (rc) {
            fail_at(p, p->pos + run, XB_ENOMEM, XB_COND_RESOURCE_CONSTRAINT,
                    "out of memory");
        } else if (held_first) {
            e->map_stream = p->pos - p->held.len;
            rc = engine_parse(e, p, p->held.data, p->held.len);
        } else {
            e->map_stream = p->pos + run;
        }
        /* Where well-formed XML ends a unit, expat has taken all of it.
         * If expat still holds bytes (part of a 4-byte character that
         * swallowed the framer's "/>", say), it will refuse them, but
         * only once it has the character's last bytes: so it is checked
         * there, before the next unit's first bytes go in (else a private
         * engine fed "<\xF1><" at once would wait, fed "<\xF1>" and "<"
         * would refuse, and a shared one refuses either way). */
        mid = unit_end != NO_RUN ? unit_end : run;
        if (!rc)
            rc = engine_parse(e, p, data + run, mid - run);
        if (!rc && unit_end != NO_RUN && p->state == ST_OPEN &&
            !engine_clean(e)) {
            fail_at(p, p->pos + unit_end, XB_EXML, XB_COND_NOT_WELL_FORMED,
                    "not well-formed (invalid token)");
            rc = -1;
        }
        if (!rc)
            engine_parse(e, p, data + mid, run_end - mid);
        if (p->state != ST_OPEN || bad != XB_FRAME_MORE || over) {
            e->owner = NULL; /* expat is in the middle of something */
            e->dirty = 1;
        } else {
            e->owner = eager ? p : NULL;
            p->synced = eager;
        }
        e->cur = NULL;
    }
    if (p->state == ST_OPEN &&
        (last == XB_FRAME_END ||
         (is_stream_mode(p) && !p->ctx && xb_framer_between(&p->fr))))
        /* Expat did not end the stream, or take the header, where the
         * framer did: garbage. Not seen on any input yet. */
        fail_at(p, p->pos + run_end, XB_EXML, XB_COND_NOT_WELL_FORMED,
                "not well-formed");
    if (p->state == ST_OPEN && over)
        fail_at(p, bad_off, XB_ELIMIT, XB_COND_POLICY_VIOLATION,
                "stanza larger than %zu bytes", p->lim.max_stanza_bytes);
    else if (p->state == ST_OPEN && bad != XB_FRAME_MORE)
        framer_failed(p, bad, bad_off);

    if (p->state == ST_OPEN && busy && !e->solo) {
        if (p->unit_start >= p->pos) {
            if (p->held.cap > KEEP_BUF)
                xb_buf_free(&p->held);
            xb_buf_reset(&p->held);
            rc = xb_buf_append(&p->held, data + (p->unit_start - p->pos),
                               len - (size_t)(p->unit_start - p->pos));
        } else {
            rc = xb_buf_append(&p->held, data, len);
        }
        if (rc)
            fail_at(p, p->pos + len, XB_ENOMEM, XB_COND_RESOURCE_CONSTRAINT,
                    "out of memory");
    } else if (p->held.cap) {
        xb_buf_free(&p->held);
    }
    if (p->state != ST_OPEN)
        release_engine(p);
    count_lines(p, data, len);
    p->pos += len;
    e->in = NULL;
    e->feeding = 0;
    return p->state == ST_FAILED ? p->err : 0;
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
    if (p->state != ST_FAILED)
        return "";
    return p->msg ? p->msg : xb_cond_name(p->cond);
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
    return xb_parser_parse_one_limits(xml, len, NULL, out, cond);
}

int xb_parser_parse_one_limits(const char *xml, size_t len,
                               const struct xb_parser_limits *limits,
                               struct xb_stanza **out, enum xb_cond *cond)
{
    static const struct xb_parser_hooks hooks = {NULL, keep_one, NULL};
    struct xb_parser *p;
    int rc;

    *out = NULL;
    if (cond)
        *cond = XB_COND_NONE;
    p = xb_parser_new(&hooks, out, limits, XB_PARSER_DOCUMENT);
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
