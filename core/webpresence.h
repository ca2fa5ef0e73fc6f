/*
 * The web presence gateway's model, without I/O: users register over XMPP
 * (XEP-0077 with an XEP-0004 form) and get a secret page address that
 * shows their presence to the world; the model answers the IQs, tracks
 * presence per resource, and renders the page (HTML, JSON, SVG badge).
 * Hosts carry the stanzas, serve HTTP and store the registrations through
 * the hooks of struct xb_webpresence_store.
 */
#ifndef XB_WEBPRESENCE_H
#define XB_WEBPRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "stanza.h"

#define XB_NS_REGISTER "jabber:iq:register"

/* Bytes of randomness in a token, and its length: base64url (RFC 4648 5)
 * of 18 bytes is 24 characters of [A-Za-z0-9_-], no padding. */
#define XB_WEBPRESENCE_TOKEN_BYTES 18
#define XB_WEBPRESENCE_TOKEN_LEN 24

/*
 * Presence show values, in order from least to most available: the
 * aggregate of a user's resources is the one with the highest value here,
 * then the highest priority, then the most recently updated. The order
 * ranks "is the person at a device": chat (eager to talk), online, dnd
 * (there, but busy), away, xa (extended away), offline.
 */
enum xb_webpresence_show {
    XB_WEBPRESENCE_OFFLINE = 0, /* no available resource */
    XB_WEBPRESENCE_XA,
    XB_WEBPRESENCE_AWAY,
    XB_WEBPRESENCE_DND,
    XB_WEBPRESENCE_ONLINE, /* available, no <show/> */
    XB_WEBPRESENCE_CHAT
};

/* "offline", "xa", "away", "dnd", "online", "chat": the JSON value and
 * CSS class. Static; "" when out of range. */
const char *xb_webpresence_show_name(enum xb_webpresence_show show);

/* Words for people: "offline", "extended away", "away", "do not
 * disturb", "online", "free for chat". Static. */
const char *xb_webpresence_show_label(enum xb_webpresence_show show);

/* Subscription bookkeeping: does the gateway see the user's presence? */
enum xb_webpresence_sub {
    XB_WEBPRESENCE_SUB_NONE,    /* no subscription (refused or revoked) */
    XB_WEBPRESENCE_SUB_PENDING, /* subscribe sent, no answer yet */
    XB_WEBPRESENCE_SUB_BOTH     /* the user said subscribed */
};

/* One registration as stored. All strings NUL-terminated. */
struct xb_webpresence_record {
    const char *jid;     /* bare JID, normalized (xb_jid bare) */
    const char *token;   /* XB_WEBPRESENCE_TOKEN_LEN characters */
    int show_status_msg; /* 0 or 1: the page shows the status text */
    int show_full_jid;   /* 0 or 1: the page shows the (bare) JID */
};

/*
 * Persistence: hooks a host implements (SQLite in the CLI, Prosody's
 * storage in mod_bots). Every hook is synchronous and must be durable
 * when it returns 0; it returns <0 (an XB_E* code) on failure. Records are
 * borrowed for the call. Hooks must not call back into the model. When a
 * put or del fails, the model changes nothing in memory and answers the
 * IQ with internal-server-error, so memory and storage agree.
 */
struct xb_webpresence_store {
    /* Calls add(ctx, r) once for each stored registration; stops and
     * returns add's error if add fails. Returns 0 or <0. */
    int (*load)(void *ud,
                int (*add)(void *ctx, const struct xb_webpresence_record *r),
                void *ctx);
    /* Inserts r, or replaces the registration with the same jid. */
    int (*put)(void *ud, const struct xb_webpresence_record *r);
    /* Deletes the registration of the bare JID jid; none is not an
     * error. */
    int (*del)(void *ud, const char *jid);
};

struct xb_webpresence_config {
    /* The page address is base_url followed by the token, e.g.
     * "https://example.org/presence/" (required; borrowed for the model's
     * life). The host serves base_url + token (HTML), + ".json" and +
     * ".svg". */
    const char *base_url;
    unsigned max_registrations; /* 0: no limit; then resource-constraint */
    unsigned max_resources;     /* per user; 0: 16. The least recently
                                   updated is dropped for a new one. */
    size_t max_status;          /* bytes of status text kept (cut on a
                                   character boundary); 0: 1024 */
    unsigned refresh;           /* seconds between HTML page reloads; 0:
                                   no reload (the host pushes updates) */
    const struct xb_webpresence_store *store; /* NULL: memory only */
    void *store_ud;
    /* Called after anything that may change a registration's page
     * (presence of any of its resources, options, registered,
     * unregistered): token borrowed for the call. The hook may read the
     * model (render) but not change it. Optional; hosts use it to push
     * updates (server-sent events) and may compare renderings to skip
     * pushes that change nothing. */
    void (*changed)(void *ud, const char *token);
    void *changed_ud;
    /* Fills buf with n random bytes from a CSPRNG; 0 or <0. Optional:
     * NULL is OpenSSL's RAND_bytes. Tests replace it. */
    int (*random)(void *ud, unsigned char *buf, size_t n);
    void *random_ud;
};

struct xb_webpresence;

/* A new empty model using cfg (copied; the strings and hooks it points to
 * are borrowed for the model's life). NULL on out-of-memory or a config
 * without base_url. Free with xb_webpresence_free(). */
struct xb_webpresence *
xb_webpresence_new(const struct xb_webpresence_config *cfg);

/* Frees the model (nothing is sent or stored). NULL is allowed. */
void xb_webpresence_free(struct xb_webpresence *wp);

/*
 * Loads the stored registrations through store->load into an empty model.
 * Every record is checked (a valid bare JID, a well-formed token, no JID
 * or token twice). Returns 0; XB_ESTATE if the model is not empty; the
 * hook's error; XB_EINVAL for a bad record; or XB_ENOMEM. On failure the
 * model stays empty.
 */
int xb_webpresence_load(struct xb_webpresence *wp);

/* Registrations held. */
size_t xb_webpresence_count(const struct xb_webpresence *wp);

/* --- stanzas ---------------------------------------------------------- */

#define XB_WEBPRESENCE_OUT_MAX 4

/* Stanzas to send, in order (an IQ reply first). The caller owns them:
 * hand each to the host's send (which takes it) or free them with
 * xb_webpresence_out_free(). */
struct xb_webpresence_out {
    unsigned n;
    struct xb_stanza *st[XB_WEBPRESENCE_OUT_MAX];
};

/* Frees the stanzas out still holds and empties it. */
void xb_webpresence_out_free(struct xb_webpresence_out *out);

/*
 * Handles an IQ addressed to the gateway (borrowed): disco#info and
 * disco#items gets, and jabber:iq:register get and set. out must be empty.
 *
 *  - register get: instructions and a form (FORM_TYPE jabber:iq:register,
 *    booleans show_status_msg and show_full_jid); for a registered user
 *    also <registered/>, the current values and the page address.
 *  - register set with a submitted form: stores the choices (a new
 *    registration gets a token); the reply, then a presence subscribe
 *    to the user unless the gateway already sees their presence.
 *  - register set with <remove/> alone: deletes the registration and
 *    what is known of the user's presence; the reply, then unsubscribe
 *    and unsubscribed. registration-required if not registered.
 *  - a bad form: bad-request or not-acceptable with a <text/> reason;
 *    anything else malformed: bad-request. A failing store hook or no
 *    randomness: internal-server-error. Nothing changes on an error.
 *
 * Returns 1 (handled; the reply is out->st[0]), 0 (not an IQ request the
 * gateway knows: out is empty, the caller answers service-unavailable)
 * or XB_ENOMEM (out is empty; the model is unchanged).
 */
int xb_webpresence_iq(struct xb_webpresence *wp, const struct xb_stanza *iq,
                      struct xb_webpresence_out *out);

/*
 * Handles a presence stanza (borrowed) sent to the gateway. From a
 * registered user: available (with show, status, priority) and
 * unavailable update that resource; error drops it (or all, from the bare
 * JID); subscribed marks the subscription; unsubscribe and unsubscribed
 * forget all presence and end it; subscribe is approved (subscribed and
 * an available presence in out); probe gets an available presence. From
 * anyone else: subscribe and probe get unsubscribed, the rest is ignored
 * (no memory is spent on strangers). out must be empty. Returns 1 if the
 * model changed or out holds stanzas, 0 if ignored, or XB_ENOMEM (the
 * update is lost; out is empty).
 */
int xb_webpresence_presence(struct xb_webpresence *wp,
                            const struct xb_stanza *pres,
                            struct xb_webpresence_out *out);

/*
 * A presence probe to bare JID jid, for the host to send to every
 * registered user (xb_webpresence_each) when the gateway comes online,
 * since it knows no presence after a restart. A new stanza the caller
 * owns, or NULL on out-of-memory.
 */
struct xb_stanza *xb_webpresence_probe(const char *jid);

/* Calls fn(ud, r) for each registration (r borrowed for the call; the
 * model must not be changed meanwhile); stops at and returns fn's first
 * non-zero result, else 0. */
int xb_webpresence_each(const struct xb_webpresence *wp,
                        int (*fn)(void *ud,
                                  const struct xb_webpresence_record *r),
                        void *ud);

/* --- queries ------------------------------------------------------------ */

/* The registration of bare JID jid into *r (borrowed until the model next
 * changes). 0 or XB_ENOTFOUND. */
int xb_webpresence_find(const struct xb_webpresence *wp, const char *jid,
                        struct xb_webpresence_record *r);

/* The subscription state of bare JID jid (NONE if not registered). */
enum xb_webpresence_sub xb_webpresence_sub(const struct xb_webpresence *wp,
                                           const char *jid);

/* What a page shows: the user's choices applied. Strings borrowed until
 * the model next changes. */
struct xb_webpresence_view {
    enum xb_webpresence_show show; /* the aggregate */
    const char *status;            /* status text of the resource shown;
                                      NULL if not chosen or none */
    size_t status_len;
    const char *jid;  /* bare JID; NULL if not chosen */
    unsigned refresh; /* the config's */
};

/* The view of the page for token (len bytes, from a URL: any bytes). An
 * index lookup, not a scan. 0 or XB_ENOTFOUND (the host's 404). */
int xb_webpresence_view(const struct xb_webpresence *wp, const char *token,
                        size_t len, struct xb_webpresence_view *v);

/* --- rendering: pure, appending to out; 0 or XB_ENOMEM ------------------ */

/*
 * A whole HTML5 document (text/html; charset=utf-8), no script, meant for
 * an <iframe>: the show as a live region (role=status), the JID and the
 * status when in the view. In all three renderers text from users is
 * escaped for its context, and bytes that are not UTF-8 or not XML
 * characters become U+FFFD.
 */
int xb_webpresence_html(struct xb_buf *out,
                        const struct xb_webpresence_view *v);

/* A JSON object (application/json): {"show":"away","label":"away"}, plus
 * "status" when the view has one (the user chose it and the resource
 * shown has one) and "jid" when chosen. <, >, &, ', U+2028 and U+2029 are
 * \u-escaped so it can be embedded in HTML and JavaScript. */
int xb_webpresence_json(struct xb_buf *out,
                        const struct xb_webpresence_view *v);

/* An SVG badge (image/svg+xml) for <img>: "presence" or the JID, then
 * the label and the status (each cut to a few dozen characters). */
int xb_webpresence_svg(struct xb_buf *out, const struct xb_webpresence_view *v);

#endif
