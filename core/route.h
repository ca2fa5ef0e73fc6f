/*
 * Routing for a component (core/component.h): which of its bots a stanza
 * is for, by its 'to', through a hash index of the bots' JIDs under the
 * component's domain, and the answers the component owes by itself (disco
 * on the domain, errors for addresses that are no bot). The index holds
 * the host's items (its per-bot structs) and reads their JIDs through a
 * callback, so an entry is a hash and a pointer. No I/O: the host
 * delivers and sends.
 */
#ifndef XB_ROUTE_H
#define XB_ROUTE_H

#include <stddef.h>

#include "stanza.h"

/* The JID of one of the host's items: a normalized localpart@domain or
 * localpart@domain/resource (as xb_bot_jid() gives it). Borrowed; it must
 * not change while the item is in an index. */
typedef const char *(*xb_route_jid_fn)(const void *item);

/* At most this many bots are listed in a disco#items answer (XEP-0030
 * has no paging without XEP-0059). */
#define XB_ROUTE_DISCO_ITEMS 100

/*
 * A bare 'to' with no bot of that bare JID reaches a bot of that localpart
 * with a resource, looked up under each of the first this many distinct
 * resources in use (the usual pattern, 'jumper_%d@domain/bot', has one).
 */
#define XB_ROUTE_BARE_RESOURCES 8

/* The disco#info form (XEP-0128) that gives the number of bots. */
#define XB_ROUTE_FORM_TYPE "urn:xmppbots:component"

struct xb_route;

/*
 * A new, empty index for the component domain (copied; normalized),
 * whose disco identity is named name (copied; NULL: "xmppbots"). jid_of
 * reads an item's JID. Returns NULL on out-of-memory or an invalid domain.
 */
struct xb_route *xb_route_new(const char *domain, const char *name,
                              xb_route_jid_fn jid_of);

/* Frees the index (not the items). NULL is allowed. */
void xb_route_free(struct xb_route *r);

/*
 * Adds item (borrowed until removed; not NULL) under its JID. Returns 0;
 * XB_EJID if the JID is not a normalized localpart@domain[/resource] of
 * the index's domain, or the domain itself; XB_EINVAL if a bot already
 * has that exact JID; XB_ENOMEM. A bot at the domain itself (a service
 * such as the web presence gateway) takes every stanza to the domain and
 * its resources, and answers disco there itself.
 */
int xb_route_add(struct xb_route *r, void *item);

/* Removes item. 0, or XB_ENOTFOUND if it is not in the index. */
int xb_route_remove(struct xb_route *r, const void *item);

/*
 * The item a stanza addressed to jid reaches, or NULL:
 * - a full JID: the bot of exactly that JID, else the bot of its bare JID
 *   (a bot without a resource takes all of its resources);
 * - a bare JID: the bot of that bare JID, else a bot of that localpart
 *   with a resource (see XB_ROUTE_BARE_RESOURCES);
 * - the domain, bare or with a resource: the bot at the domain, if any.
 * The localpart and domain match without regard to ASCII case, as JIDs
 * are normalized; the resource exactly.
 */
void *xb_route_find(const struct xb_route *r, const char *jid);

/* Items in the index (the domain's bot included). */
size_t xb_route_count(const struct xb_route *r);

/* Bytes of heap the index holds (not counting the items). */
size_t xb_route_mem(const struct xb_route *r);

/* What to do with a stanza from the component stream. */
enum xb_route_verdict {
    XB_ROUTE_DROP,    /* nothing (RFC 6120/6121 want no answer) */
    XB_ROUTE_DELIVER, /* hand it to *item's bot (xb_bot_stanza) */
    XB_ROUTE_REPLY,   /* send *reply (from stamped), then free it */
    XB_ROUTE_FOREIGN  /* for another domain: dropped, and worth a word */
};

/*
 * Decides what becomes of st (borrowed), a stanza that arrived on the
 * component stream, by its 'to' (none: the domain):
 * - a bot's JID (see xb_route_find), or the domain (or one of its
 *   resources) when a bot is at the domain: deliver to it;
 * - the domain itself, with no bot there: IQ get disco#info (XEP-0030: identity component/
 *   generic with the index's name, features, and a form with the number
 *   of bots), disco#items (the bots, at most XB_ROUTE_DISCO_ITEMS) and
 *   ping (XEP-0199) get their results; another IQ get or set
 *   service-unavailable (a node: item-not-found; no single payload:
 *   bad-request);
 * - a JID under the domain that is no bot: an IQ get or set gets
 *   item-not-found (RFC 6120 8.3.3.7); a message of type normal or chat
 *   service-unavailable (RFC 6121 8.5.2: the sender learns at once);
 *   messages of type groupchat, headline and error, and presences, are
 *   dropped (RFC 6121 8.5.2 lets them go silently);
 * - a message to the domain is answered like one to an unknown JID.
 * Errors and IQ results are never answered. A stanza without a 'from'
 * (the server stamps one on everything it routes to a component) is
 * dropped, not delivered: no one could be answered. A 'to' of another
 * domain is dropped, as XB_ROUTE_FOREIGN (an answer from there would make
 * the server close the stream: invalid-from): the server sends the stream
 * another domain's traffic, which the host should say (ejabberd routes
 * every domain of a listener to each component connected to it).
 * Stores the item or a new reply (the caller frees it) and returns the
 * verdict, or XB_ENOMEM.
 */
int xb_route_stanza(const struct xb_route *r, const struct xb_stanza *st,
                    void **item, struct xb_stanza **reply);

#endif
