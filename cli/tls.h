/*
 * TLS for the CLI's connections (STARTTLS and direct TLS): one OpenSSL
 * context per process, and a per-connection engine over memory BIOs, so the
 * event loop moves the bytes and OpenSSL never touches a socket.
 */
#ifndef XB_CLI_TLS_H
#define XB_CLI_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/*
 * Creates the client context: TLS 1.2 or later, peer verification on
 * (against cafile, or the system store when cafile is NULL) unless
 * insecure. On failure returns NULL and writes a one-line reason to err.
 */
SSL_CTX *xb_tls_ctx_new(const char *cafile, int insecure, char *err,
                        size_t errlen);

/* A TLS engine for a connection to domain (SNI and name check), offering
 * the ALPN protocol alpn if not NULL ("xmpp-client" for direct TLS, XEP-0368).
 * NULL on out-of-memory. Free with SSL_free(). */
SSL *xb_tls_new(SSL_CTX *ctx, const char *domain, const char *alpn);

/* Results of xb_tls_handshake(). */
enum { XB_TLS_DONE = 0, XB_TLS_AGAIN = 1, XB_TLS_FAILED = -1 };

/* Advances the handshake. On XB_TLS_FAILED writes the reason (for example
 * the certificate verification error) to err. */
int xb_tls_handshake(SSL *ssl, char *err, size_t errlen);

/* Whether a handshake failure was about the peer's certificate. */
int xb_tls_cert_failed(SSL *ssl);

#endif
