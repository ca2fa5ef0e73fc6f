/*
 * Where a client connects: the SRV records of the XMPP client services
 * (RFC 6120 3.2.1; XEP-0368 adds _xmpps-client._tcp for direct TLS), what
 * to do when there are none, and the order to try the targets in (RFC
 * 2782: priority, then weighted random). Pure: the DNS queries are the
 * farm's; the parsing of an answer is here so that it can be tested.
 */
#ifndef XB_CLI_SRV_H
#define XB_CLI_SRV_H

#include <stddef.h>
#include <stdint.h>

#include "rand.h"

/* Records kept per lookup (more are ignored: a client tries a handful). */
#define XB_SRV_MAX 32

/* One SRV record of _xmpp-client._tcp or _xmpps-client._tcp. */
struct xb_srv {
    uint16_t priority, weight, port;
    unsigned char direct; /* 1: from _xmpps-client (direct TLS), 0: from
                             _xmpp-client (STARTTLS) */
    char target[256];     /* host name, no trailing dot; "." alone: the
                             service is decidedly not available */
};

/*
 * Appends the SRV records of a DNS answer (len bytes, as res_query returns
 * it) to recs, which holds *n records and room for max; each gets direct.
 * Records that do not parse or whose target is too long are skipped.
 * Returns how many were added.
 */
size_t xb_srv_parse(const unsigned char *answer, int len, int direct,
                    struct xb_srv *recs, size_t *n, size_t max);

/* What xb_srv_plan() decided. */
enum xb_srv_plan {
    XB_SRV_TARGETS,    /* connect to the records left */
    XB_SRV_FALLBACK,   /* no records: the domain itself (RFC 6120 3.2.2) */
    XB_SRV_UNAVAILABLE /* the fallback's service answered "." */
};

/*
 * Keeps in recs (in place; *n updated) the records a client may use: of a
 * service it wants (want_direct, want_starttls) and not ".". With none
 * left, says whether to fall back to the domain's own address: not if the
 * fallback's service (STARTTLS when wanted, else direct TLS) answered "."
 * (RFC 2782: "decidedly not available").
 */
enum xb_srv_plan xb_srv_plan(struct xb_srv *recs, size_t *n, int want_direct,
                             int want_starttls);

/*
 * The order in which to try the n records (n <= XB_SRV_MAX; both services
 * mixed, as XEP-0368 says): lowest priority first; within a priority, a
 * weighted random selection (RFC 2782), each record chosen with a chance
 * proportional to its weight among those not yet chosen, weight-0 records
 * with a very small chance while others remain, and in random order among
 * themselves. Writes the indexes into recs to order[0..n-1]; the draws
 * come from rng, so one seed gives one order.
 */
void xb_srv_order(const struct xb_srv *recs, size_t n, struct xb_rand *rng,
                  unsigned char *order);

#endif
