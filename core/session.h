/*
 * The client stream (RFC 6120) as a sans-I/O state machine: the host feeds
 * received bytes in and writes out what the write hook gives it; the
 * session negotiates STARTTLS (asking the host to switch the transport),
 * SASL, resource binding and the legacy session if mandatory, then routes
 * stanzas to the host (whose bot answers IQ requests: core/bot.h) and
 * tracks its own IQs.
 *
 * Stream management (XEP-0198, sm.h): when the server offers it the
 * session enables it after binding, answers every <r/>, asks for acks by
 * policy and keeps what the server has not acknowledged. When the
 * connection drops, the host reconnects and calls xb_session_start()
 * again: the session resumes the stream (before binding), sends what the
 * server missed, in order, exactly once, and tells the host through the
 * ready hook that it resumed; meanwhile stanzas the bot sends are queued.
 * If resumption fails, the session binds afresh and counts (and notes)
 * every stanza then known lost or possibly duplicated.
 */
#ifndef XB_SESSION_H
#define XB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "parser.h"
#include "sasl.h"
#include "sm.h"
#include "stanza.h"
#include "xmpp.h"

enum xb_tls_mode {
    XB_TLS_REQUIRED = 0, /* STARTTLS or fail (the default) */
    XB_TLS_NONE,         /* never negotiate TLS (local tests) */
    XB_TLS_DIRECT        /* the transport is TLS already (XEP-0368 direct
                            TLS): never send <starttls/>, the stream is
                            secure from the start */
};

struct xb_session_config {
    const char *jid;      /* account, bare or full (full: the resource to
                             ask for); copied */
    const char *password; /* copied; wiped on free */
    enum xb_tls_mode tls;
    int allow_plain;                    /* allow SASL PLAIN without TLS */
    struct xb_scram_cache *scram_cache; /* shared, may be NULL */
    struct xb_parser_engine *engine;    /* shared expat, may be NULL (the
                                           session then has its own) */
    struct xb_parser_limits limits;     /* zeros: parser defaults */
    uint32_t login_timeout_ms;          /* start to ready; 0: 30000 */
    uint32_t iq_timeout_ms;             /* for tracked IQs; 0: 30000 */
    uint32_t keepalive_ms;     /* ping the server after this much silence,
                                  and fail if the ping is not answered
                                  within as long again; 0: off */
    uint32_t close_timeout_ms; /* wait for the peer's </stream:stream>;
                                  0: 2000 */
    int no_presence;           /* do not send initial presence when ready */
    enum xb_sm_mode sm;        /* stream management; 0: resume */
    uint32_t sm_queue_max;     /* unacknowledged stanzas kept; over it,
                                  sends fail; 0: XB_SM_QUEUE_DEFAULT */
    uint32_t sm_ack_every;     /* ask for an ack after this many; 0: 10 */
    uint32_t sm_ack_ms;        /* or after this much time with stanzas
                                  unacknowledged; 0: 1000 */
    uint32_t sm_resume_s;      /* how long to ask the server to keep a cut
                                  stream (<enable max/>); 0: its default */
};

struct xb_session_hooks {
    /* Bytes for the transport (borrowed until return). */
    void (*write)(void *ud, const char *data, size_t len);
    /* <proceed/> arrived: start TLS on the transport, then call
     * xb_session_tls_ready() (or xb_session_abort() on failure). */
    void (*starttls)(void *ud);
    /* The stanza API is open. resumed 0: a fresh session, bound and
     * (unless no_presence) present: post-connect. resumed 1: the stream
     * resumed with its JID, presence and rooms intact, and what the
     * server missed sent again: post-resume. */
    void (*ready)(void *ud, const char *full_jid, int resumed);
    /* A message, a presence, an IQ request (the host must answer it: a bot
     * does, see xb_bot_stanza), or an IQ result or error the session did
     * not track. Borrowed until return. */
    void (*stanza)(void *ud, const struct xb_stanza *st);
    /* The session is over: err is 0 after a clean close, else XB_E*;
     * msg is a one-line reason. The host closes the transport. */
    void (*closed)(void *ud, int err, const char *msg);
    /* Arms the session's single timer to call xb_session_timer() after ms
     * milliseconds, replacing any armed one; ms < 0 disarms. */
    void (*set_timer)(void *ud, int64_t ms);
    /* The current time in milliseconds on a monotonic clock. */
    uint64_t (*now)(void *ud);
    /* Optional XML console: every outgoing write, and each incoming
     * element re-serialized, with SASL payloads replaced by "[redacted]".
     * dir is '>' for sent, '<' for received. Borrowed. */
    void (*trace)(void *ud, char dir, const char *data, size_t len);
    /* Optional: one line about something the host should tell the user
     * (stanzas lost or possibly duplicated after a failed resumption,
     * stream management refused, a full queue). Borrowed. */
    void (*note)(void *ud, const char *msg);
};

struct xb_session;

/* Called with the response to a tracked IQ (result or error), or with
 * NULL on timeout or when the session ends first. st is borrowed. */
typedef void (*xb_iq_cb)(void *cb_ud, const struct xb_stanza *st);

/* Where a session is. */
enum xb_session_state {
    XB_SESSION_IDLE,
    XB_SESSION_CONNECTING, /* stream opened, negotiating */
    XB_SESSION_READY,
    XB_SESSION_CLOSING,
    XB_SESSION_CLOSED
};

/*
 * Creates a session. cfg strings are copied; hooks is copied; ud is given
 * to every hook. Returns NULL on out-of-memory or an invalid JID (check it
 * first with xb_jid_check to tell the two apart).
 */
struct xb_session *xb_session_new(const struct xb_session_config *cfg,
                                  const struct xb_session_hooks *hooks,
                                  void *ud);

/* Frees the session; sends nothing and calls no hook. NULL is allowed.
 * Never call it from inside one of the session's hooks. */
void xb_session_free(struct xb_session *s);

/* Opens the stream (the transport is connected). May be called again after
 * the session closed, to log in again on a new connection, but not from
 * inside one of its hooks (XB_ESTATE). 0 or <0. */
int xb_session_start(struct xb_session *s);

/* The TLS mode for the next xb_session_start (SRV targets may offer
 * direct TLS or STARTTLS); the stream management state carries over. 0,
 * or XB_ESTATE while a stream is open. */
int xb_session_set_tls(struct xb_session *s, enum xb_tls_mode tls);

/* Bytes received from the transport. Returns 0, or <0 once the session
 * has failed (the closed hook has then run). */
int xb_session_feed(struct xb_session *s, const char *data, size_t len);

/* The transport is now TLS: the stream restarts over it. */
void xb_session_tls_ready(struct xb_session *s);

/* The timer armed through set_timer fired. */
void xb_session_timer(struct xb_session *s);

/* The transport failed or closed under us (msg: a one-line reason). Runs
 * the closed hook with XB_ECLOSED unless the session already closed. */
void xb_session_abort(struct xb_session *s, const char *msg);

/* Clean close: sends </stream:stream> and waits for the peer's (bounded
 * by close_timeout_ms); then the closed hook runs with err 0. */
void xb_session_close(struct xb_session *s);

/* Sends a stanza (borrowed) once ready, or queues it for resumption while
 * a resumable stream is down. 0, XB_ESTATE, XB_ENOMEM or XB_ELIMIT (the
 * stream management queue is full: nothing was sent). */
int xb_session_send(struct xb_session *s, const struct xb_stanza *st);

/*
 * Sends IQ st (borrowed; type get or set) and calls cb when the response
 * arrives, the timeout passes or the session ends. The session sets st's
 * id to one of its own (answers are matched on it exactly). At most
 * XB_SESSION_MAX_IQS may be pending. 0, XB_ESTATE, XB_ELIMIT or XB_ENOMEM
 * (cb is then not called).
 */
#define XB_SESSION_MAX_IQS 8
int xb_session_send_iq(struct xb_session *s, struct xb_stanza *st, xb_iq_cb cb,
                       void *cb_ud);

enum xb_session_state xb_session_state(const struct xb_session *s);

/* After the closed hook: the stream error condition the peer sent or that
 * we sent (XB_COND_NONE if none), and the SASL failure condition name
 * ("not-authorized"...) if authentication failed, else "". */
enum xb_cond xb_session_stream_cond(const struct xb_session *s);
const char *xb_session_sasl_failure(const struct xb_session *s);

/* The mechanism used for the last login (XB_SASL_NONE before). */
enum xb_sasl_mech xb_session_mech(const struct xb_session *s);

/* Whether the stream is encrypted (STARTTLS done, or direct TLS). */
int xb_session_secure(const struct xb_session *s);

/* Whether a cut stream can be resumed: the host should reconnect now
 * (the bot stays as it is) rather than treat the bot as offline. */
int xb_session_resumable(const struct xb_session *s);

/* Stream management state and stats (queue length and bytes, counters).
 * Tests may set the counters. */
struct xb_sm *xb_session_sm(struct xb_session *s);

/* The host gives up on a cut stream: what it had not acknowledged is
 * counted lost (and noted); the session will not resume. */
void xb_session_sm_drop(struct xb_session *s);

#endif
