/*
 * SASL client mechanisms for XMPP: SCRAM-SHA-256, SCRAM-SHA-1 (RFC 5802,
 * RFC 7677) and PLAIN (RFC 4616). Sans-I/O: raw (already base64-decoded)
 * server data in, raw client data out; the session does the XML and the
 * base64. Crypto from OpenSSL's libcrypto; nonces from its CSPRNG.
 */
#ifndef XB_SASL_H
#define XB_SASL_H

#include <stddef.h>

#include "buf.h"

/* Mechanisms, weakest first, so that a larger value is preferred. */
enum xb_sasl_mech {
    XB_SASL_NONE = 0,
    XB_SASL_PLAIN,
    XB_SASL_SCRAM_SHA_1,
    XB_SASL_SCRAM_SHA_256
};

/* The IANA name ("SCRAM-SHA-256"), or "" for XB_SASL_NONE. Static. */
const char *xb_sasl_mech_name(enum xb_sasl_mech mech);

/* The mechanism for an IANA name, XB_SASL_NONE if unsupported. */
enum xb_sasl_mech xb_sasl_mech_from_name(const char *name);

/*
 * A cache of SCRAM SaltedPassword values keyed by (mechanism, password,
 * salt, iteration count), so that thousands of bots sharing a password
 * run PBKDF2 once. Holds derived keys only (never the password itself),
 * in a fixed number of slots. Shared by the sessions of one thread.
 */
struct xb_scram_cache;

/* A cache with room for slots entries (0: a default of 16). NULL on
 * out-of-memory. Free with xb_scram_cache_free(). */
struct xb_scram_cache *xb_scram_cache_new(unsigned slots);
void xb_scram_cache_free(struct xb_scram_cache *c);

/* PBKDF2 runs done through the cache and lookups it answered. */
void xb_scram_cache_stats(const struct xb_scram_cache *c,
                          unsigned long *computed, unsigned long *hits);

/* One authentication exchange. */
struct xb_sasl;

/*
 * Starts an exchange. authcid is the username (the JID's localpart),
 * password the password; both are copied and must be valid UTF-8 (no
 * SASLprep is applied beyond that; RFC 7613 OpaqueString leaves ASCII
 * passwords unchanged). cache may be NULL. Returns NULL on out-of-memory
 * or an unsupported mechanism. Free with xb_sasl_free(), which wipes the
 * secrets.
 */
struct xb_sasl *xb_sasl_new(enum xb_sasl_mech mech, const char *authcid,
                            const char *password, struct xb_scram_cache *cache);
void xb_sasl_free(struct xb_sasl *s);

/* For tests: use this client nonce instead of a random one (copied;
 * printable ASCII without ','). Returns 0 or XB_EINVAL/XB_ENOMEM. */
int xb_sasl_set_nonce(struct xb_sasl *s, const char *nonce);

/* Appends the initial response (sent in <auth/>) to out. 0 or <0. */
int xb_sasl_start(struct xb_sasl *s, struct xb_buf *out);

/*
 * Handles a challenge (len raw bytes) and appends the response to out.
 * Returns 0, XB_EPROTO (malformed or unexpected challenge, a server nonce
 * that does not extend ours, an iteration count out of range), XB_EAUTH
 * (a server "e=" error, a wrong server signature), XB_ESTATE (out of
 * order) or XB_ENOMEM. A short reason is then available from
 * xb_sasl_message().
 */
int xb_sasl_challenge(struct xb_sasl *s, const char *data, size_t len,
                      struct xb_buf *out);

/*
 * Handles <success/> and its additional data (len raw bytes, possibly 0).
 * For SCRAM, verifies the server signature: XB_EAUTH if it does not match
 * or is missing, so a server that does not know the password is never
 * trusted. Returns 0 when the exchange is complete and proven.
 */
int xb_sasl_success(struct xb_sasl *s, const char *data, size_t len);

/* The reason for the last error ("" if none). Borrowed. */
const char *xb_sasl_message(const struct xb_sasl *s);

#endif
