/*
 * XMPP protocol constants: namespace names and the stream error conditions
 * of RFC 6120 section 4.9.3, with their on-the-wire names; and the one
 * builder of stanza answers (results and stanza errors) every module uses.
 */
#ifndef XB_XMPP_H
#define XB_XMPP_H

#include <stddef.h>

#define XB_NS_STREAMS "http://etherx.jabber.org/streams"
#define XB_NS_CLIENT "jabber:client"
#define XB_NS_SERVER "jabber:server"
#define XB_NS_COMPONENT "jabber:component:accept"
#define XB_NS_XML "http://www.w3.org/XML/1998/namespace"
/* Reserved for namespace declarations: no element or attribute is in it. */
#define XB_NS_XMLNS "http://www.w3.org/2000/xmlns/"
#define XB_NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"
#define XB_NS_STANZA_ERRORS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define XB_NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define XB_NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define XB_NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define XB_NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define XB_NS_SM "urn:xmpp:sm:3"
#define XB_NS_PING "urn:xmpp:ping"
#define XB_NS_MUC "http://jabber.org/protocol/muc"
#define XB_NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define XB_NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define XB_NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define XB_NS_DATA "jabber:x:data"

/* Stream error conditions (RFC 6120 4.9.3). XB_COND_NONE means no error. */
enum xb_cond {
    XB_COND_NONE = 0,
    XB_COND_BAD_FORMAT,
    XB_COND_BAD_NAMESPACE_PREFIX,
    XB_COND_CONFLICT,
    XB_COND_CONNECTION_TIMEOUT,
    XB_COND_HOST_GONE,
    XB_COND_HOST_UNKNOWN,
    XB_COND_IMPROPER_ADDRESSING,
    XB_COND_INTERNAL_SERVER_ERROR,
    XB_COND_INVALID_FROM,
    XB_COND_INVALID_NAMESPACE,
    XB_COND_INVALID_XML,
    XB_COND_NOT_AUTHORIZED,
    XB_COND_NOT_WELL_FORMED,
    XB_COND_POLICY_VIOLATION,
    XB_COND_REMOTE_CONNECTION_FAILED,
    XB_COND_RESET,
    XB_COND_RESOURCE_CONSTRAINT,
    XB_COND_RESTRICTED_XML,
    XB_COND_SEE_OTHER_HOST,
    XB_COND_SYSTEM_SHUTDOWN,
    XB_COND_UNDEFINED_CONDITION,
    XB_COND_UNSUPPORTED_ENCODING,
    XB_COND_UNSUPPORTED_FEATURE,
    XB_COND_UNSUPPORTED_STANZA_TYPE,
    XB_COND_UNSUPPORTED_VERSION,
    XB_COND_COUNT
};

/* Returns the element name of a condition ("not-well-formed"), or "" for
 * XB_COND_NONE and out-of-range values. Static storage. */
const char *xb_cond_name(enum xb_cond cond);

/* Maps an element name back to its condition; unknown names give
 * XB_COND_UNDEFINED_CONDITION, as RFC 6120 4.9.3.21 asks receivers to do. */
enum xb_cond xb_cond_from_name(const char *name);

/* Makes every control character of s (line breaks, tabs) a space: a
 * reason given to a host is one line, whatever text of the peer's it
 * quotes. */
void xb_one_line(char *s);

/* The one-line reason for a stream error the server sent: "stream error
 * from the server: COND[HINT][: TEXT]" into buf (size bytes, cut to fit),
 * with the server's text (NULL: none) cut at 120 bytes, made one line
 * (xb_one_line). */
void xb_stream_error_reason(char *buf, size_t size, enum xb_cond cond,
                            const char *hint, const char *text);

struct xb_stanza;

/*
 * The answer to stanza req (borrowed): a new stanza of the same name in
 * jabber:client, addressed to req's sender (its 'from', if any) with req's
 * id. With cond NULL it is a result (for IQ requests); else an error whose
 * <error/> has type etype ("cancel", "modify", ...) and the stanza error
 * condition cond ("service-unavailable", RFC 6120 8.3.3). 'from' is left
 * for the sender's host to stamp. Returns a new tree the caller frees with
 * xb_stanza_free(), or NULL on out-of-memory.
 */
struct xb_stanza *xb_xmpp_reply(const struct xb_stanza *req, const char *cond,
                                const char *etype);

/*
 * Can req (borrowed) be answered? Yes when its 'from' is absent (it comes
 * from the server or the receiver's own account, RFC 6120 8.1.2.1) or a
 * JID; a 'from' that is not one names no one to answer, and a server
 * refuses a stanza addressed to it. Every answering path asks this.
 */
int xb_xmpp_can_reply(const struct xb_stanza *req);

/* The single element child of an IQ (RFC 6120 8.2.3: a get or set has
 * exactly one), or NULL (none, or several). */
const struct xb_stanza *xb_iq_payload(const struct xb_stanza *iq);

/* Is st (borrowed) a MUC room's presence of the receiver's own occupant
 * (XEP-0045 7.2.3: status code 110 in its muc#user x)? */
int xb_muc_is_self_presence(const struct xb_stanza *st);

#endif
