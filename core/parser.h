/*
 * Incremental XMPP stream parser on expat (namespace mode). Bytes go in
 * through xb_parser_feed() in any split; the stream header, each complete
 * top-level element and the stream close come out through hooks. Input
 * that RFC 6120 forbids or that exceeds the limits stops the parser with a
 * stream error condition and a readable message. Many parsers may share
 * one expat (an engine), so that an idle connection costs a few hundred
 * bytes instead of an expat of its own. No I/O.
 */
#ifndef XB_PARSER_H
#define XB_PARSER_H

#include <stddef.h>

#include "stanza.h"
#include "xmpp.h"

struct xb_parser;
struct xb_parser_engine;

/* The attributes of a stream header. Each field is NULL when absent. */
struct xb_stream_header {
    const char *from;
    const char *to;
    const char *id;
    const char *version;
    const char *lang;       /* xml:lang */
    const char *content_ns; /* default namespace, e.g. "jabber:client" */
};

/*
 * Hooks the host supplies; any may be NULL. They run from inside
 * xb_parser_feed(). A hook may call xb_parser_stop() but must not reset or
 * free the parser (expat forbids it from its handlers); do that after
 * xb_parser_feed() returns.
 */
struct xb_parser_hooks {
    /* The stream header was read. hdr and its strings are borrowed until
     * the hook returns (copy what you keep). */
    void (*stream_open)(void *ud, const struct xb_stream_header *hdr);
    /* A complete top-level element. The hook owns st and frees it with
     * xb_stanza_free(); with no hook the parser frees it. */
    void (*stanza)(void *ud, struct xb_stanza *st);
    /* The peer closed the stream with </stream:stream>. */
    void (*stream_close)(void *ud);
};

/* Limits on what the peer may send; 0 in a field selects its default. */
struct xb_parser_limits {
    size_t max_stanza_bytes; /* one top-level element, default 1 MiB */
    unsigned max_depth;      /* element nesting inside a stanza, default 32 */
    unsigned max_attrs;      /* attributes on one element, default 64 */
};

#define XB_PARSER_DEFAULT_MAX_STANZA_BYTES ((size_t)1 << 20)
#define XB_PARSER_DEFAULT_MAX_DEPTH 32u
#define XB_PARSER_DEFAULT_MAX_ATTRS 64u

/*
 * Flags for xb_parser_new(). XB_PARSER_DOCUMENT parses a single standalone
 * element instead of a stream: the root element itself is delivered through
 * the stanza hook, and no stream_open/stream_close hooks run.
 */
#define XB_PARSER_DOCUMENT 1u

/*
 * Creates a parser with an engine (expat) of its own. hooks is copied; ud
 * is passed to every hook; limits may be NULL for the defaults. Returns
 * NULL only on out-of-memory. Free with xb_parser_free().
 */
struct xb_parser *xb_parser_new(const struct xb_parser_hooks *hooks, void *ud,
                                const struct xb_parser_limits *limits,
                                unsigned flags);

/*
 * Creates an engine: one expat parser that any number of xb_parsers share,
 * one top-level element at a time (single-threaded). A parser on an engine
 * keeps, between feeds, only the bytes of its unfinished top-level element.
 * Returns NULL only on out-of-memory. Free with xb_parser_engine_free().
 */
struct xb_parser_engine *xb_parser_engine_new(void);

/* Frees an engine once every parser on it has been freed. NULL is
 * allowed. */
void xb_parser_engine_free(struct xb_parser_engine *e);

/*
 * Like xb_parser_new(), on the shared engine e (borrowed: it must outlive
 * the parser). Everything in this header applies, with two differences:
 * - A parser must not be fed from a hook of another parser on the same
 *   engine: xb_parser_feed() returns XB_ESTATE there (hooks that only
 *   write to sockets, stop, or create and free parsers are fine).
 * - The bytes of an unfinished top-level element (or stream header) wait
 *   in the parser and are parsed when its last byte arrives: errors
 *   inside it (bad UTF-8, mismatched tags) are reported then, not as
 *   they arrive. Comments, PIs, DOCTYPE, text between stanzas and the
 *   three limits are still refused at the byte that breaks them.
 * Returns NULL only on out-of-memory. Free with xb_parser_free().
 */
struct xb_parser *xb_parser_new_shared(struct xb_parser_engine *e,
                                       const struct xb_parser_hooks *hooks,
                                       void *ud,
                                       const struct xb_parser_limits *limits,
                                       unsigned flags);

/* Frees the parser and any partly parsed stanza (and its engine if it has
 * a private one). NULL is allowed. */
void xb_parser_free(struct xb_parser *p);

/*
 * Parses len more bytes of the stream. Returns 0, or XB_EXML/XB_ELIMIT when
 * the input was refused (see xb_parser_condition/message), XB_ENOMEM, or
 * XB_ESTATE when the parser has already failed, was stopped, or the stream
 * has ended (or, on a shared engine, when called from a hook of another
 * parser on it; nothing is consumed then). Errors are sticky until
 * xb_parser_reset().
 */
int xb_parser_feed(struct xb_parser *p, const char *data, size_t len);

/*
 * From inside a hook: stop parsing after the current event. The rest of the
 * bytes given to the running xb_parser_feed() are dropped (after STARTTLS
 * <proceed/> or SASL <success/> a correct peer sends nothing more until the
 * stream restarts). xb_parser_feed() then returns 0 and refuses further
 * bytes until xb_parser_reset().
 */
void xb_parser_stop(struct xb_parser *p);

/*
 * Prepares for a new stream (after STARTTLS or SASL), keeping the parser's
 * allocations. Clears any error. Must not be called from one of the
 * parser's own hooks (XB_ESTATE there). Returns 0 or XB_ENOMEM.
 */
int xb_parser_reset(struct xb_parser *p);

/* The sticky error code (0 if none). */
int xb_parser_error(const struct xb_parser *p);

/* The stream error condition to send the peer (XB_COND_NONE if none). */
enum xb_cond xb_parser_condition(const struct xb_parser *p);

/* A one-line description of the error, with line and column ("" if none).
 * Borrowed; valid until the next feed or reset. */
const char *xb_parser_message(const struct xb_parser *p);

/*
 * Parses one standalone element from len bytes of XML with the default
 * limits. On success stores a new tree in *out (caller frees with
 * xb_stanza_free) and returns 0. On failure returns an XB_E* code, stores
 * NULL, and, if cond is not NULL, the condition.
 */
int xb_parser_parse_one(const char *xml, size_t len, struct xb_stanza **out,
                        enum xb_cond *cond);

/* The same with limits (NULL: the defaults). */
int xb_parser_parse_one_limits(const char *xml, size_t len,
                               const struct xb_parser_limits *limits,
                               struct xb_stanza **out, enum xb_cond *cond);

#endif
