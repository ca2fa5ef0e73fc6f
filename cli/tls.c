/*
 * OpenSSL setup for STARTTLS and direct TLS over memory BIOs: the context,
 * one engine per connection with SNI, host-name verification and ALPN, and
 * readable errors.
 */
#include "tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

static void last_error(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();

    snprintf(err, errlen, "%s: %s", what,
             e ? ERR_reason_error_string(e) : "unknown error");
    ERR_clear_error();
}

SSL_CTX *xb_tls_ctx_new(const char *cafile, int insecure, char *err,
                        size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx) {
        last_error(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Idle bots keep no 2 x 16 kB record buffers each. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return ctx;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (cafile ? !SSL_CTX_load_verify_locations(ctx, cafile, NULL)
               : !SSL_CTX_set_default_verify_paths(ctx)) {
        last_error(err, errlen,
                   cafile ? "cannot load --cafile" : "cannot load CA store");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL *xb_tls_new(SSL_CTX *ctx, const char *domain, const char *alpn)
{
    SSL *ssl = SSL_new(ctx);
    unsigned char protos[256];
    size_t len = alpn ? strlen(alpn) : 0;
    BIO *rbio, *wbio;

    if (!ssl)
        return NULL;
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    if (!rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(ssl);
        return NULL;
    }
    /* A memory BIO that runs dry means "wait for more", not EOF. */
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_connect_state(ssl);
    SSL_set_tlsext_host_name(ssl, domain);
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (!SSL_set1_host(ssl, domain)) {
        SSL_free(ssl);
        return NULL;
    }
    if (len && len < sizeof protos) {
        /* The wire format: each protocol name after its length byte. */
        protos[0] = (unsigned char)len;
        memcpy(protos + 1, alpn, len);
        if (SSL_set_alpn_protos(ssl, protos, (unsigned)len + 1)) {
            SSL_free(ssl);
            return NULL;
        }
    }
    return ssl;
}

int xb_tls_cert_failed(SSL *ssl)
{
    return SSL_get_verify_result(ssl) != X509_V_OK;
}

int xb_tls_handshake(SSL *ssl, char *err, size_t errlen)
{
    int rc = SSL_do_handshake(ssl), e;
    long v;

    if (rc == 1)
        return XB_TLS_DONE;
    e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return XB_TLS_AGAIN;
    v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK)
        snprintf(err, errlen, "certificate verification failed: %s",
                 X509_verify_cert_error_string(v));
    else
        last_error(err, errlen, "TLS handshake failed");
    ERR_clear_error();
    return XB_TLS_FAILED;
}
