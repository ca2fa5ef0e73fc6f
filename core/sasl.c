/*
 * Client side of SASL PLAIN and SCRAM-SHA-1/-256 without channel binding.
 * The server is untrusted until its ServerSignature checks out, and every
 * byte it sends is parsed strictly: a bad message ends the exchange.
 */
#include "sasl.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base64.h"
#include "error.h"
#include "utf8.h"

/* SHA-256 is the largest digest we use. */
#define SCRAM_MAX_MD 32
/* Raw bytes of a random client nonce; base64 makes 32 printable chars. */
#define SCRAM_NONCE_BYTES 24
/* Enough PBKDF2 for any real server; more only burns our CPU. */
#define SCRAM_MAX_ITERATIONS 10000000UL
#define SCRAM_CACHE_DEFAULT_SLOTS 16
/* Longest server "e=" value quoted in the message. */
#define SERVER_ERROR_QUOTE 64

enum sasl_state {
    SASL_INIT,       /* nothing sent yet */
    SASL_STARTED,    /* initial response sent */
    SASL_FINAL_SENT, /* SCRAM client-final sent, server-final pending */
    SASL_VERIFIED,   /* server-final checked, <success/> pending */
    SASL_DONE,       /* success accepted */
    SASL_FAILED
};

struct xb_sasl {
    enum xb_sasl_mech mech;
    enum sasl_state state;
    char *authcid;
    char *password;
    size_t password_len;
    char *nonce; /* client nonce; NULL until set or generated */
    struct xb_scram_cache *cache; /* borrowed, may be NULL */
    struct xb_buf first_bare;     /* client-first-message-bare */
    unsigned char server_sig[SCRAM_MAX_MD];
    char message[128];
};

struct scram_slot {
    int used;
    unsigned char key[SCRAM_MAX_MD];   /* SHA-256 of the inputs */
    unsigned char value[SCRAM_MAX_MD]; /* SaltedPassword */
};

struct xb_scram_cache {
    unsigned nslots;
    unsigned next; /* slot to fill or replace next: round-robin */
    unsigned long computed;
    unsigned long hits;
    struct scram_slot *slots;
};

/* The parts of a server-first-message that we use; pointers borrowed. */
struct server_first {
    const char *nonce;
    size_t nonce_len;
    struct xb_buf salt; /* decoded */
    unsigned long iterations;
};

const char *xb_sasl_mech_name(enum xb_sasl_mech mech)
{
    switch (mech) {
    case XB_SASL_PLAIN:
        return "PLAIN";
    case XB_SASL_SCRAM_SHA_1:
        return "SCRAM-SHA-1";
    case XB_SASL_SCRAM_SHA_256:
        return "SCRAM-SHA-256";
    case XB_SASL_NONE:
        break;
    }
    return "";
}

enum xb_sasl_mech xb_sasl_mech_from_name(const char *name)
{
    enum xb_sasl_mech m;

    if (!name)
        return XB_SASL_NONE;
    for (m = XB_SASL_PLAIN; m <= XB_SASL_SCRAM_SHA_256; m++)
        if (strcmp(name, xb_sasl_mech_name(m)) == 0)
            return m;
    return XB_SASL_NONE;
}

static const EVP_MD *scram_md(enum xb_sasl_mech mech)
{
    return mech == XB_SASL_SCRAM_SHA_1 ? EVP_sha1() : EVP_sha256();
}

static size_t scram_md_len(enum xb_sasl_mech mech)
{
    return mech == XB_SASL_SCRAM_SHA_1 ? 20 : 32;
}

static int is_scram(enum xb_sasl_mech mech)
{
    return mech == XB_SASL_SCRAM_SHA_1 || mech == XB_SASL_SCRAM_SHA_256;
}

struct xb_scram_cache *xb_scram_cache_new(unsigned slots)
{
    struct xb_scram_cache *c = malloc(sizeof *c);

    if (!c)
        return NULL;
    c->nslots = slots ? slots : SCRAM_CACHE_DEFAULT_SLOTS;
    c->next = 0;
    c->computed = 0;
    c->hits = 0;
    c->slots = calloc(c->nslots, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    return c;
}

void xb_scram_cache_free(struct xb_scram_cache *c)
{
    if (!c)
        return;
    OPENSSL_cleanse(c->slots, c->nslots * sizeof *c->slots);
    free(c->slots);
    free(c);
}

void xb_scram_cache_stats(const struct xb_scram_cache *c,
                          unsigned long *computed, unsigned long *hits)
{
    if (computed)
        *computed = c ? c->computed : 0;
    if (hits)
        *hits = c ? c->hits : 0;
}

/* Feeds n as 8 big-endian bytes, so that no two inputs share a digest
 * stream by moving bytes from one field into the next. */
static int digest_len(EVP_MD_CTX *ctx, uint64_t n)
{
    unsigned char b[8];
    int i;

    for (i = 7; i >= 0; i--) {
        b[i] = (unsigned char)(n & 0xFF);
        n >>= 8;
    }
    return EVP_DigestUpdate(ctx, b, sizeof b);
}

/* The cache key: a digest of every PBKDF2 input, so the password itself is
 * never kept. 1 on success, 0 on a libcrypto failure. */
static int cache_key(unsigned char key[SCRAM_MAX_MD], enum xb_sasl_mech mech,
                     const char *password, size_t password_len,
                     const unsigned char *salt, size_t salt_len,
                     unsigned long iterations)
{
    static const char label[] = "xmppbots SCRAM cache key v1";
    const char *name = xb_sasl_mech_name(mech);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    if (!ctx)
        return 0;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
         EVP_DigestUpdate(ctx, label, sizeof label) &&
         digest_len(ctx, strlen(name)) &&
         EVP_DigestUpdate(ctx, name, strlen(name)) &&
         digest_len(ctx, password_len) &&
         EVP_DigestUpdate(ctx, password, password_len) &&
         digest_len(ctx, salt_len) && EVP_DigestUpdate(ctx, salt, salt_len) &&
         digest_len(ctx, iterations) && EVP_DigestFinal_ex(ctx, key, NULL);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* SaltedPassword := Hi(password, salt, i), through the cache if there is
 * one. 1 on success, 0 on a libcrypto failure. */
static int salted_password(struct xb_sasl *s, const struct server_first *sf,
                           unsigned char *out)
{
    struct xb_scram_cache *c = s->cache;
    const unsigned char *salt = (const unsigned char *)sf->salt.data;
    size_t md_len = scram_md_len(s->mech);
    unsigned char key[SCRAM_MAX_MD];
    unsigned i;

    if (s->password_len > INT_MAX || sf->salt.len > INT_MAX)
        return 0;
    if (c) {
        if (!cache_key(key, s->mech, s->password, s->password_len, salt,
                       sf->salt.len, sf->iterations))
            return 0;
        for (i = 0; i < c->nslots; i++) {
            if (c->slots[i].used &&
                CRYPTO_memcmp(c->slots[i].key, key, sizeof key) == 0) {
                memcpy(out, c->slots[i].value, md_len);
                c->hits++;
                return 1;
            }
        }
    }
    if (!PKCS5_PBKDF2_HMAC(s->password, (int)s->password_len, salt,
                           (int)sf->salt.len, (int)sf->iterations,
                           scram_md(s->mech), (int)md_len, out))
        return 0;
    if (c) {
        struct scram_slot *slot = &c->slots[c->next];

        slot->used = 1;
        memcpy(slot->key, key, sizeof key);
        memcpy(slot->value, out, md_len);
        c->next = (c->next + 1) % c->nslots;
        c->computed++;
    }
    return 1;
}

/* Copies msg into the message from offset at on, truncating. */
static void set_message_at(struct xb_sasl *s, size_t at, const char *msg)
{
    size_t n = strlen(msg);

    if (n >= sizeof s->message - at)
        n = sizeof s->message - at - 1;
    memcpy(s->message + at, msg, n);
    s->message[at + n] = '\0';
}

static void set_message(struct xb_sasl *s, const char *msg)
{
    set_message_at(s, 0, msg);
}

/* Ends the exchange with rc and a reason. */
static int fail(struct xb_sasl *s, int rc, const char *msg)
{
    s->state = SASL_FAILED;
    set_message(s, msg);
    return rc;
}

/* Ends the exchange with rc and a reason made of two parts. */
static int fail_joined(struct xb_sasl *s, int rc, const char *a, const char *b)
{
    size_t n = strlen(a);

    set_message(s, a);
    if (n < sizeof s->message - 1)
        set_message_at(s, n, b);
    s->state = SASL_FAILED;
    return rc;
}

/* A caller bug: the exchange itself is left as it was, unless it has
 * already failed, whose reason is worth more than this one. */
static int out_of_order(struct xb_sasl *s, const char *msg)
{
    if (s->state != SASL_FAILED)
        set_message(s, msg);
    return XB_ESTATE;
}

static char *dup_string(const char *str, size_t *len)
{
    size_t n = strlen(str);
    char *p = malloc(n + 1);

    if (p)
        memcpy(p, str, n + 1);
    if (len)
        *len = n;
    return p;
}

struct xb_sasl *xb_sasl_new(enum xb_sasl_mech mech, const char *authcid,
                            const char *password, struct xb_scram_cache *cache)
{
    struct xb_sasl *s;

    assert(authcid && password);
    if (mech != XB_SASL_PLAIN && !is_scram(mech))
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->mech = mech;
    s->state = SASL_INIT;
    s->cache = cache;
    xb_buf_init(&s->first_bare);
    s->authcid = dup_string(authcid, NULL);
    s->password = dup_string(password, &s->password_len);
    if (!s->authcid || !s->password) {
        xb_sasl_free(s);
        return NULL;
    }
    return s;
}

void xb_sasl_free(struct xb_sasl *s)
{
    if (!s)
        return;
    if (s->password) {
        OPENSSL_cleanse(s->password, s->password_len);
        free(s->password);
    }
    free(s->authcid);
    free(s->nonce);
    xb_buf_free(&s->first_bare);
    OPENSSL_cleanse(s->server_sig, sizeof s->server_sig);
    free(s);
}

/* RFC 5802 printable: %x21-2B / %x2D-7E, i.e. visible ASCII but ','. */
static int nonce_valid(const char *p, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c < 0x21 || c > 0x7E || c == ',')
            return 0;
    }
    return 1;
}

int xb_sasl_set_nonce(struct xb_sasl *s, const char *nonce)
{
    char *copy;

    if (!nonce || !nonce_valid(nonce, strlen(nonce)))
        return XB_EINVAL;
    if (s->state != SASL_INIT)
        return out_of_order(s, "nonce set after the exchange started");
    copy = dup_string(nonce, NULL);
    if (!copy)
        return XB_ENOMEM;
    free(s->nonce);
    s->nonce = copy;
    return 0;
}

/* Undoes a partial append to out, so that a failed call leaves it as the
 * caller gave it. */
static void truncate_buf(struct xb_buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

static int random_nonce(struct xb_sasl *s)
{
    unsigned char raw[SCRAM_NONCE_BYTES];
    struct xb_buf b;

    if (RAND_bytes(raw, sizeof raw) != 1)
        return fail(s, XB_EAUTH, "libcrypto: no random bytes for the nonce");
    xb_buf_init(&b);
    if (xb_base64_encode(&b, raw, sizeof raw))
        return fail(s, XB_ENOMEM, "out of memory");
    s->nonce = b.data; /* base64 never contains ',' */
    return 0;
}

/* saslname: '=' and ',' would end the attribute, so RFC 5802 escapes them. */
static int append_saslname(struct xb_buf *out, const char *name)
{
    const char *p;
    int rc = 0;

    for (p = name; *p && !rc; p++) {
        if (*p == '=')
            rc = xb_buf_puts(out, "=3D");
        else if (*p == ',')
            rc = xb_buf_puts(out, "=2C");
        else
            rc = xb_buf_append(out, p, 1);
    }
    return rc;
}

static int start_plain(struct xb_sasl *s, struct xb_buf *out)
{
    size_t n = strlen(s->authcid);

    /* RFC 4616: message = [authzid] NUL authcid NUL passwd */
    if (xb_buf_append(out, "", 1) || xb_buf_append(out, s->authcid, n) ||
        xb_buf_append(out, "", 1) ||
        xb_buf_append(out, s->password, s->password_len))
        return XB_ENOMEM;
    return 0;
}

static int start_scram(struct xb_sasl *s, struct xb_buf *out)
{
    int rc;

    if (!s->nonce) {
        rc = random_nonce(s);
        if (rc)
            return rc;
    }
    xb_buf_reset(&s->first_bare);
    if (xb_buf_puts(&s->first_bare, "n=") ||
        append_saslname(&s->first_bare, s->authcid) ||
        xb_buf_puts(&s->first_bare, ",r=") ||
        xb_buf_puts(&s->first_bare, s->nonce))
        return XB_ENOMEM;
    /* gs2-header "n,,": no channel binding, no authzid. */
    if (xb_buf_puts(out, "n,,") ||
        xb_buf_append(out, s->first_bare.data, s->first_bare.len))
        return XB_ENOMEM;
    return 0;
}

int xb_sasl_start(struct xb_sasl *s, struct xb_buf *out)
{
    size_t saved = out->len;
    int rc;

    if (s->state != SASL_INIT)
        return out_of_order(s, "xb_sasl_start called twice");
    if (!*s->authcid || !xb_utf8_valid(s->authcid, strlen(s->authcid)))
        return fail(s, XB_EINVAL, "username is empty or not UTF-8");
    if (!xb_utf8_valid(s->password, s->password_len) ||
        (s->mech == XB_SASL_PLAIN && s->password_len == 0))
        return fail(s, XB_EINVAL, "password is empty or not UTF-8");
    rc = s->mech == XB_SASL_PLAIN ? start_plain(s, out) : start_scram(s, out);
    if (rc) {
        truncate_buf(out, saved);
        if (s->state != SASL_FAILED)
            fail(s, rc, "out of memory");
        return rc;
    }
    s->state = SASL_STARTED;
    return 0;
}

/* Server text must be UTF-8 without NUL before anything else looks at it. */
static const char *text_problem(const char *data, size_t len)
{
    if (len == 0)
        return "is empty";
    if (memchr(data, '\0', len))
        return "contains a NUL byte";
    if (!xb_utf8_valid(data, len))
        return "is not UTF-8";
    return NULL;
}

/* Length of the attribute value at p: up to the next ',' or end. */
static size_t value_len(const char *p, const char *end)
{
    const char *comma = memchr(p, ',', (size_t)(end - p));

    return (size_t)((comma ? comma : end) - p);
}

/* p points at "a=" for attribute a, or not. */
static int at_attr(const char *p, const char *end, char a)
{
    return end - p >= 2 && p[0] == a && p[1] == '=';
}

/* Anything after the attributes we need must be ["," extensions], each
 * ALPHA "=" 1*value-char. 1 if so. */
static int extensions_valid(const char *p, const char *end)
{
    while (p < end) {
        unsigned char a;

        if (*p != ',' || end - p < 4)
            return 0;
        a = (unsigned char)p[1];
        if (!((a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z')) || p[2] != '=')
            return 0;
        p += 3;
        if (value_len(p, end) == 0)
            return 0;
        p += value_len(p, end);
    }
    return 1;
}

/* posit-number = %x31-39 *DIGIT, bounded. Returns NULL or the problem. */
static const char *parse_iterations(const char *p, size_t n, unsigned long *out)
{
    unsigned long v = 0;
    size_t i;

    if (n == 0)
        return "iteration count is empty";
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return "iteration count is not a decimal number";
        /* Stop growing past the limit: no overflow, however many digits. */
        if (v <= SCRAM_MAX_ITERATIONS)
            v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v == 0 || v > SCRAM_MAX_ITERATIONS)
        return "iteration count out of range (1 to 10000000)";
    if (p[0] == '0')
        return "iteration count has a leading zero";
    *out = v;
    return NULL;
}

/* Parses a server-first-message into *sf (salt appended to sf->salt).
 * Returns 0 or an error through fail(). */
static int parse_server_first(struct xb_sasl *s, const char *data, size_t len,
                              struct server_first *sf)
{
    const char *p = data, *end = data + len, *why;
    size_t n, ours = strlen(s->nonce);
    int rc;

    why = text_problem(data, len);
    if (why)
        return fail_joined(s, XB_EPROTO, "server-first-message ", why);
    /* RFC 5802 5.1: an unknown mandatory extension must fail the
     * exchange, and we know none. */
    if (at_attr(p, end, 'm'))
        return fail(s, XB_EPROTO, "server demands an extension (m=)");
    if (!at_attr(p, end, 'r'))
        return fail(s, XB_EPROTO, "server-first-message lacks r= first");
    p += 2;
    n = value_len(p, end);
    if (!nonce_valid(p, n))
        return fail(s, XB_EPROTO, "server nonce is not printable");
    if (n <= ours || memcmp(p, s->nonce, ours) != 0)
        return fail(s, XB_EPROTO, "server nonce does not extend ours");
    sf->nonce = p;
    sf->nonce_len = n;
    p += n;

    if (p == end || !at_attr(p + 1, end, 's'))
        return fail(s, XB_EPROTO, "server-first-message lacks s= after r=");
    p += 3;
    n = value_len(p, end);
    rc = xb_base64_decode(&sf->salt, p, n);
    if (rc == XB_ENOMEM)
        return fail(s, rc, "out of memory");
    if (rc)
        return fail(s, XB_EPROTO, "salt is not valid base64");
    if (sf->salt.len == 0)
        return fail(s, XB_EPROTO, "salt is empty");
    p += n;

    if (p == end || !at_attr(p + 1, end, 'i'))
        return fail(s, XB_EPROTO, "server-first-message lacks i= after s=");
    p += 3;
    n = value_len(p, end);
    why = parse_iterations(p, n, &sf->iterations);
    if (why)
        return fail(s, XB_EPROTO, why);
    p += n;

    if (!extensions_valid(p, end))
        return fail(s, XB_EPROTO, "malformed extension in server-first");
    return 0;
}

static int hmac(enum xb_sasl_mech mech, const unsigned char *key,
                const void *data, size_t len, unsigned char *out)
{
    return HMAC(scram_md(mech), key, (int)scram_md_len(mech), data, len, out,
                NULL) != NULL;
}

/*
 * RFC 5802 3: from SaltedPassword and AuthMessage, the ClientProof (into
 * proof) and the ServerSignature we expect (into s->server_sig). 1 on
 * success, 0 on a libcrypto failure. Wipes every intermediate key.
 */
static int scram_keys(struct xb_sasl *s, const unsigned char *salted,
                      const struct xb_buf *auth_msg, unsigned char *proof)
{
    static const char client_key_text[] = "Client Key";
    static const char server_key_text[] = "Server Key";
    size_t md_len = scram_md_len(s->mech), i;
    unsigned char client_key[SCRAM_MAX_MD], stored_key[SCRAM_MAX_MD];
    unsigned char client_sig[SCRAM_MAX_MD], server_key[SCRAM_MAX_MD];
    int ok;

    ok =
        hmac(s->mech, salted, client_key_text, sizeof client_key_text - 1,
             client_key) &&
        EVP_Digest(client_key, md_len, stored_key, NULL, scram_md(s->mech),
                   NULL) &&
        hmac(s->mech, stored_key, auth_msg->data, auth_msg->len, client_sig) &&
        hmac(s->mech, salted, server_key_text, sizeof server_key_text - 1,
             server_key) &&
        hmac(s->mech, server_key, auth_msg->data, auth_msg->len, s->server_sig);
    if (ok)
        for (i = 0; i < md_len; i++)
            proof[i] = client_key[i] ^ client_sig[i];
    OPENSSL_cleanse(client_key, sizeof client_key);
    OPENSSL_cleanse(stored_key, sizeof stored_key);
    OPENSSL_cleanse(client_sig, sizeof client_sig);
    OPENSSL_cleanse(server_key, sizeof server_key);
    return ok;
}

/* Answers the server-first-message with the client-final-message. */
static int client_final(struct xb_sasl *s, const char *data, size_t len,
                        struct xb_buf *out)
{
    struct server_first sf;
    struct xb_buf final, auth;
    unsigned char salted[SCRAM_MAX_MD], proof[SCRAM_MAX_MD];
    int rc;

    memset(&sf, 0, sizeof sf);
    xb_buf_init(&sf.salt);
    xb_buf_init(&final);
    xb_buf_init(&auth);
    rc = parse_server_first(s, data, len, &sf);
    if (rc)
        goto done;
    /* c= is base64("n,,"): the gs2-header we sent. */
    if (xb_buf_puts(&final, "c=biws,r=") ||
        xb_buf_append(&final, sf.nonce, sf.nonce_len) ||
        xb_buf_append(&auth, s->first_bare.data, s->first_bare.len) ||
        xb_buf_puts(&auth, ",") || xb_buf_append(&auth, data, len) ||
        xb_buf_puts(&auth, ",") ||
        xb_buf_append(&auth, final.data, final.len)) {
        rc = fail(s, XB_ENOMEM, "out of memory");
        goto done;
    }
    if (!salted_password(s, &sf, salted) ||
        !scram_keys(s, salted, &auth, proof)) {
        rc = fail(s, XB_EAUTH, "libcrypto failed to derive the SCRAM keys");
        goto done;
    }
    if (xb_buf_puts(&final, ",p=") ||
        xb_base64_encode(&final, proof, scram_md_len(s->mech)) ||
        xb_buf_append(out, final.data, final.len)) {
        rc = fail(s, XB_ENOMEM, "out of memory");
        goto done;
    }
    s->state = SASL_FINAL_SENT;
done:
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(proof, sizeof proof);
    xb_buf_free(&sf.salt);
    xb_buf_free(&final);
    xb_buf_free(&auth);
    return rc;
}

/* "server error: " and the server's e= value, printable ASCII only, since
 * it will end up in a log line. */
static int server_error(struct xb_sasl *s, const char *p, size_t n)
{
    static const char prefix[] = "server error: ";
    char msg[sizeof prefix + SERVER_ERROR_QUOTE + 3];
    size_t i, k = sizeof prefix - 1;

    memcpy(msg, prefix, k);
    for (i = 0; i < n && i < SERVER_ERROR_QUOTE; i++) {
        unsigned char c = (unsigned char)p[i];

        msg[k++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    if (n > SERVER_ERROR_QUOTE) {
        memcpy(msg + k, "...", 3);
        k += 3;
    }
    msg[k] = '\0';
    return fail(s, XB_EAUTH, msg);
}

/* Checks a server-final-message against the signature we computed.
 * 0 when proven, else an error through fail(). */
static int verify_server_final(struct xb_sasl *s, const char *data, size_t len)
{
    const char *p = data, *end = data + len, *why;
    size_t n, md_len = scram_md_len(s->mech);
    struct xb_buf sig;
    int rc, match;

    why = text_problem(data, len);
    if (why)
        return fail_joined(s, XB_EPROTO, "server-final-message ", why);
    if (!at_attr(p, end, 'v') && !at_attr(p, end, 'e'))
        return fail(s, XB_EPROTO, "server-final-message lacks v= and e=");
    p += 2;
    n = value_len(p, end);
    if (n == 0 || !extensions_valid(p + n, end))
        return fail(s, XB_EPROTO, "malformed server-final-message");
    if (data[0] == 'e')
        return server_error(s, p, n);
    xb_buf_init(&sig);
    rc = xb_base64_decode(&sig, p, n);
    if (rc) {
        xb_buf_free(&sig);
        return rc == XB_ENOMEM
                   ? fail(s, rc, "out of memory")
                   : fail(s, XB_EPROTO, "server signature is not base64");
    }
    match = sig.len == md_len &&
            CRYPTO_memcmp(sig.data, s->server_sig, md_len) == 0;
    xb_buf_free(&sig);
    if (!match)
        return fail(s, XB_EAUTH,
                    "server signature mismatch: the server "
                    "does not know the password");
    return 0;
}

int xb_sasl_challenge(struct xb_sasl *s, const char *data, size_t len,
                      struct xb_buf *out)
{
    size_t saved = out->len;
    int rc;

    if (s->state == SASL_INIT)
        return out_of_order(s, "challenge before xb_sasl_start");
    if (s->state == SASL_DONE || s->state == SASL_FAILED)
        return out_of_order(s, "challenge after the exchange ended");
    if (!data) {
        data = ""; /* no arithmetic on a null pointer below */
        len = 0;
    }
    if (s->mech == XB_SASL_PLAIN)
        return fail(s, XB_EPROTO, "unexpected challenge for PLAIN");
    if (s->state == SASL_VERIFIED)
        return fail(s, XB_EPROTO, "challenge after the server-final-message");
    if (s->state == SASL_STARTED)
        rc = client_final(s, data, len, out);
    else if ((rc = verify_server_final(s, data, len)) == 0)
        s->state = SASL_VERIFIED; /* the response is empty */
    if (rc)
        truncate_buf(out, saved);
    return rc;
}

int xb_sasl_success(struct xb_sasl *s, const char *data, size_t len)
{
    int rc;

    if (s->state == SASL_INIT)
        return out_of_order(s, "success before xb_sasl_start");
    if (s->state == SASL_DONE || s->state == SASL_FAILED)
        return out_of_order(s, "success after the exchange ended");
    if (!data) {
        data = ""; /* no arithmetic on a null pointer below */
        len = 0;
    }
    if (s->mech == XB_SASL_PLAIN) {
        /* RFC 4616 defines no additional data. */
        if (len)
            return fail(s, XB_EPROTO, "unexpected data in PLAIN success");
        s->state = SASL_DONE;
        return 0;
    }
    if (s->state == SASL_STARTED)
        return fail(s, XB_EAUTH, "success before the server proved itself");
    if (s->state == SASL_FINAL_SENT && len == 0)
        return fail(s, XB_EAUTH, "success without a server signature");
    /* Data after a verified challenge can only be the same proof again. */
    if (len) {
        rc = verify_server_final(s, data, len);
        if (rc)
            return rc;
    }
    s->state = SASL_DONE;
    return 0;
}

const char *xb_sasl_message(const struct xb_sasl *s)
{
    return s->message;
}
