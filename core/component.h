/*
 * The external component stream (XEP-0114) as a sans-I/O state machine,
 * the sibling of the client stream in session.h: the host feeds received
 * bytes in and writes out what the write hook gives it. The component
 * opens a jabber:component:accept stream to its domain, proves the shared
 * secret with the handshake, and then carries the stanzas of any number
 * of bots over the one connection (core/route.h says which bot gets one).
 * Stanzas cross the API in jabber:client, as on a client stream, so bot
 * kinds work unchanged; the stream translates at the wire.
 */
#ifndef XB_COMPONENT_H
#define XB_COMPONENT_H

#include <stddef.h>
#include <stdint.h>

#include "parser.h"
#include "stanza.h"
#include "xmpp.h"

struct xb_component_config {
    const char *domain; /* the component's domain ("bots.localhost"), the
                           stream's 'to'; copied */
    const char *secret; /* the shared secret; copied, wiped on free, never
                           traced */
    struct xb_parser_engine *engine; /* shared expat, may be NULL (the
                                        component then has its own) */
    struct xb_parser_limits limits;  /* zeros: parser defaults */
    uint32_t login_timeout_ms;       /* start to ready; 0: 30000 */
    uint32_t keepalive_ms;           /* send a whitespace keepalive after this
                                        much silence on our side; 0: off */
    uint32_t close_timeout_ms;       /* wait for the peer's </stream:stream>;
                                        0: 2000 */
};

struct xb_component_hooks {
    /* Bytes for the transport (borrowed until return). */
    void (*write)(void *ud, const char *data, size_t len);
    /* The server accepted the handshake: stanzas may flow. */
    void (*ready)(void *ud);
    /* A message, presence or IQ from the server, with its elements of
     * jabber:component:accept presented in jabber:client. Borrowed until
     * return. Route it with xb_route_stanza(). */
    void (*stanza)(void *ud, const struct xb_stanza *st);
    /* The stream is over: err is 0 after a clean close, else XB_E* (see
     * xb_component_start); msg is a one-line reason. The host closes the
     * transport. */
    void (*closed)(void *ud, int err, const char *msg);
    /* Arms the component's single timer to call xb_component_timer()
     * after ms milliseconds, replacing any armed one; ms < 0 disarms. */
    void (*set_timer)(void *ud, int64_t ms);
    /* The current time in milliseconds on a monotonic clock. */
    uint64_t (*now)(void *ud);
    /* Optional XML console: every outgoing write, and each incoming
     * element re-serialized, with the handshake digest replaced by
     * "[redacted]". dir is '>' for sent, '<' for received. Borrowed. */
    void (*trace)(void *ud, char dir, const char *data, size_t len);
};

struct xb_component;

enum xb_component_state {
    XB_COMPONENT_IDLE,
    XB_COMPONENT_CONNECTING, /* stream opened, handshake under way */
    XB_COMPONENT_READY,
    XB_COMPONENT_CLOSING,
    XB_COMPONENT_CLOSED
};

/* Digits of a handshake: hex SHA-1 and its NUL. */
#define XB_COMPONENT_DIGEST_SIZE 41

/*
 * The handshake digest of XEP-0114: the lowercase hex SHA-1 of the stream
 * id followed by the secret, written to out. 0 or XB_ENOMEM.
 */
int xb_component_digest(const char *stream_id, const char *secret,
                        char out[XB_COMPONENT_DIGEST_SIZE]);

/*
 * Creates a component stream. cfg strings are copied; hooks is copied; ud
 * is given to every hook. Returns NULL on out-of-memory or when the domain
 * is not a valid JID domainpart (no '@' or '/').
 */
struct xb_component *xb_component_new(const struct xb_component_config *cfg,
                                      const struct xb_component_hooks *hooks,
                                      void *ud);

/* Frees the component; sends nothing and calls no hook. NULL is allowed.
 * Never call it from inside one of its hooks. */
void xb_component_free(struct xb_component *c);

/*
 * Opens the stream (the transport is connected). May be called again after
 * the stream closed, on a new connection, but not from inside one of its
 * hooks (XB_ESTATE). 0 or <0.
 *
 * How a stream ends (the closed hook's err, and xb_component_stream_cond):
 * - 0: a clean close (xb_component_close, or the close timeout).
 * - XB_EAUTH: the server sent the stream error not-authorized: the secret
 *   is wrong (or the server has none for the domain).
 * - XB_ECLOSED: another stream error from the server (its condition:
 *   conflict, another connection holds the domain; host-unknown, the
 *   server has no component of that name; ...), the server closed the
 *   stream or the transport failed (condition XB_COND_NONE).
 * - XB_ETIMEOUT: the handshake did not complete within login_timeout_ms.
 * - XB_EXML, XB_ELIMIT: the server sent XML that the parser refused (a
 *   stream error went back: not-well-formed, policy-violation...).
 * - XB_EPROTO: the server broke the protocol (a wrong stream namespace,
 *   a stanza before the handshake was accepted).
 * - XB_ENOMEM.
 */
int xb_component_start(struct xb_component *c);

/* Bytes received from the transport. Returns 0, or <0 once the stream has
 * ended (the closed hook has then run). */
int xb_component_feed(struct xb_component *c, const char *data, size_t len);

/* The timer armed through set_timer fired. */
void xb_component_timer(struct xb_component *c);

/* The transport failed or closed under us (msg: a one-line reason). Runs
 * the closed hook with XB_ECLOSED unless the stream already ended. */
void xb_component_abort(struct xb_component *c, const char *msg);

/* Clean close: sends </stream:stream> and waits for the peer's (bounded
 * by close_timeout_ms); then the closed hook runs with err 0. */
void xb_component_close(struct xb_component *c);

/*
 * Sends a stanza (borrowed) once ready. Elements in jabber:client go out
 * in the stream's namespace, without an xmlns. A 'from' outside the
 * component's domain is refused (XB_EINVAL) before the server would close
 * the stream for it (invalid-from). 0, XB_ESTATE, XB_EINVAL or XB_ENOMEM.
 */
int xb_component_send(struct xb_component *c, const struct xb_stanza *st);

/*
 * Stamps 'from' (a JID under the component's domain, such as the sending
 * bot's) on st, replacing any, and sends it: what a host does with what a
 * bot sends, since bots leave 'from' to their host. Returns as
 * xb_component_send().
 */
int xb_component_send_from(struct xb_component *c, struct xb_stanza *st,
                           const char *from);

enum xb_component_state xb_component_state(const struct xb_component *c);

/* The component's domain (normalized). Borrowed for c's life. */
const char *xb_component_domain(const struct xb_component *c);

/* After the closed hook: the stream error condition the peer sent or that
 * we sent (XB_COND_NONE if none). */
enum xb_cond xb_component_stream_cond(const struct xb_component *c);

#endif
