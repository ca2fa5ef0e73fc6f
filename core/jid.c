/*
 * JIDs (RFC 7622): split localpart@domainpart/resourcepart, validate each
 * part, normalize the domainpart, and keep every string of the result in a
 * single allocation.
 */
#include "jid.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "utf8.h"

/* RFC 1035 2.3.4: a DNS label is at most 63 octets. */
#define LABEL_MAX 63

struct jid_span {
    const char *p; /* NULL when the part is absent */
    size_t n;
};

struct jid_parts {
    struct jid_span local;
    struct jid_span domain;
    struct jid_span resource;
};

/* Space separators (Zs) plus the line and paragraph separators. */
static int is_space(uint32_t c)
{
    return c == 0x20 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/*
 * The whole input is checked once up front so that the per-part checks
 * can decode without failing: the separators are ASCII, so the parts of
 * valid UTF-8 are valid UTF-8 too.
 */
static int check_text(const char *s, size_t len, const char **why)
{
    size_t i = 0, n;
    uint32_t c;

    while (i < len) {
        n = xb_utf8_decode(s + i, len - i, &c);
        if (n == 0) {
            *why = "invalid UTF-8";
            return XB_EJID;
        }
        if (c == 0) {
            *why = "JID contains a NUL byte";
            return XB_EJID;
        }
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) {
            *why = "JID contains a control character";
            return XB_EJID;
        }
        i += n;
    }
    return 0;
}

/*
 * RFC 7622 3.3.1 forbids these in a localpart. '/' and '@' cannot get
 * here through jid_split(), but the list mirrors the RFC on purpose.
 */
static const char *local_forbidden(uint32_t c)
{
    switch (c) {
    case '"':
        return "localpart contains '\"'";
    case '&':
        return "localpart contains '&'";
    case '\'':
        return "localpart contains \"'\"";
    case '/':
        return "localpart contains '/'";
    case ':':
        return "localpart contains ':'";
    case '<':
        return "localpart contains '<'";
    case '>':
        return "localpart contains '>'";
    case '@':
        return "localpart contains '@'";
    }
    if (is_space(c))
        return "localpart contains whitespace";
    return NULL;
}

/*
 * Without a PRECIS library (none is packaged for C on Debian) this applies
 * only the RFC 7622 3.3.1 exclusions plus whitespace, and does no case
 * mapping beyond ASCII nor Unicode normalization of the localpart: two
 * spellings that PRECIS would map to one JID may stay distinct here.
 */
static int check_local(const struct jid_span *l, const char **why)
{
    size_t i = 0, n;
    uint32_t c;
    const char *bad;

    if (l->n == 0) {
        *why = "localpart is empty";
        return XB_EJID;
    }
    if (l->n > XB_JID_PART_MAX) {
        *why = "localpart is longer than 1023 bytes";
        return XB_EJID;
    }
    while (i < l->n) {
        n = xb_utf8_decode(l->p + i, l->n - i, &c);
        assert(n > 0); /* check_text() already accepted these bytes */
        bad = local_forbidden(c);
        if (bad) {
            *why = bad;
            return XB_EJID;
        }
        i += n;
    }
    return 0;
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/*
 * Only the shape of an IPv6 literal is checked: an address that does not
 * parse would simply never resolve, and XMPP servers rarely use these.
 */
static int check_ip_literal(const struct jid_span *d, const char **why)
{
    size_t i;
    int colon = 0;

    if (d->n < 2 || d->p[d->n - 1] != ']') {
        *why = "IP literal domainpart does not end with ']'";
        return XB_EJID;
    }
    if (d->n == 2) {
        *why = "IP literal domainpart is empty";
        return XB_EJID;
    }
    for (i = 1; i < d->n - 1; i++) {
        unsigned char c = (unsigned char)d->p[i];

        if (c == ':')
            colon = 1;
        else if (c != '.' && !is_hex(c)) {
            *why = "IP literal domainpart contains an invalid character";
            return XB_EJID;
        }
    }
    if (!colon) {
        *why = "IP literal domainpart is not an IPv6 address";
        return XB_EJID;
    }
    return 0;
}

static int is_label_ascii(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * '_' is outside the hostname rules but real deployments use it in names
 * (and it is harmless to route), so it is let through.
 */
static int check_label(const char *s, size_t len, const char **why)
{
    size_t i = 0, n;
    uint32_t c;

    if (len == 0) {
        *why = "domainpart has an empty label";
        return XB_EJID;
    }
    if (len > LABEL_MAX) {
        *why = "domainpart has a label longer than 63 bytes";
        return XB_EJID;
    }
    if (s[0] == '-') {
        *why = "domainpart has a label starting with '-'";
        return XB_EJID;
    }
    if (s[len - 1] == '-') {
        *why = "domainpart has a label ending with '-'";
        return XB_EJID;
    }
    while (i < len) {
        n = xb_utf8_decode(s + i, len - i, &c);
        assert(n > 0); /* check_text() already accepted these bytes */
        if (c < 0x80 && !is_label_ascii((unsigned char)c)) {
            *why = "domainpart contains an invalid character";
            return XB_EJID;
        }
        if (is_space(c)) {
            *why = "domainpart contains whitespace";
            return XB_EJID;
        }
        i += n;
    }
    return 0;
}

/*
 * Drops the trailing dot of a domain name (RFC 7622 3.2) by shortening
 * d, then validates. Non-ASCII labels are IDNA U-labels taken as they are:
 * no IDNA2008 mapping or validation (no C library for it is assumed), so
 * only ASCII letters are case-folded and U+3002 and friends do not
 * separate labels. The length limit applies after the dot is dropped.
 */
static int check_domain(struct jid_span *d, const char **why)
{
    const char *p, *end, *dot;
    int literal = d->n > 0 && d->p[0] == '[';

    if (!literal && d->n > 0 && d->p[d->n - 1] == '.')
        d->n--;
    if (d->n == 0) {
        *why = "domainpart is empty";
        return XB_EJID;
    }
    if (d->n > XB_JID_PART_MAX) {
        *why = "domainpart is longer than 1023 bytes";
        return XB_EJID;
    }
    if (literal)
        return check_ip_literal(d, why);
    p = d->p;
    end = d->p + d->n;
    for (;;) {
        dot = memchr(p, '.', (size_t)(end - p));
        if (check_label(p, (size_t)((dot ? dot : end) - p), why))
            return XB_EJID;
        if (!dot)
            return 0;
        p = dot + 1;
    }
}

/*
 * RFC 7622 3.1: the first '/' starts the resourcepart (which may hold
 * more '/' and '@'), and the first '@' before it ends the localpart.
 * Fills pt with the parts as they will be stored (domain without its
 * trailing dot).
 */
static int jid_split(const char *s, size_t len, struct jid_parts *pt,
                     const char **why)
{
    const char *slash, *at, *host_end;

    if (len == 0) {
        *why = "JID is empty";
        return XB_EJID;
    }
    if (check_text(s, len, why))
        return XB_EJID;

    slash = memchr(s, '/', len);
    host_end = slash ? slash : s + len;
    at = memchr(s, '@', (size_t)(host_end - s));
    if (at) {
        pt->local.p = s;
        pt->local.n = (size_t)(at - s);
        pt->domain.p = at + 1;
    } else {
        pt->local.p = NULL;
        pt->local.n = 0;
        pt->domain.p = s;
    }
    pt->domain.n = (size_t)(host_end - pt->domain.p);
    if (slash) {
        pt->resource.p = slash + 1;
        pt->resource.n = (size_t)(s + len - pt->resource.p);
    } else {
        pt->resource.p = NULL;
        pt->resource.n = 0;
    }

    if (pt->local.p && check_local(&pt->local, why))
        return XB_EJID;
    if (check_domain(&pt->domain, why))
        return XB_EJID;
    if (pt->resource.p) {
        /* Its characters were all accepted by check_text(). */
        if (pt->resource.n == 0) {
            *why = "resourcepart is empty";
            return XB_EJID;
        }
        if (pt->resource.n > XB_JID_PART_MAX) {
            *why = "resourcepart is longer than 1023 bytes";
            return XB_EJID;
        }
    }
    return 0;
}

static void jid_reset(struct xb_jid *jid)
{
    jid->local = NULL;
    jid->domain = NULL;
    jid->resource = NULL;
    jid->bare = NULL;
    jid->full = NULL;
    jid->mem = NULL;
}

static void ascii_lower(char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] - 'A' + 'a');
}

/* Copies n bytes to w, NUL-terminates, and returns the byte after. */
static char *put(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    w[n] = '\0';
    return w + n + 1;
}

/*
 * Lays out local, domain, resource, bare and full in one block, in that
 * order, so that full always ends the block (xb_jid_copy() relies on it).
 * bare is the domain string when there is no localpart and full is the
 * bare string when there is no resourcepart: JIDs are kept per contact
 * and per bot, and most are bare.
 */
static int jid_build(struct xb_jid *jid, const struct jid_parts *pt)
{
    size_t ln = pt->local.n, dn = pt->domain.n, rn = pt->resource.n;
    size_t bare_n, size = dn + 1;
    char *w, *d;

    /* Parts are at most 1023 bytes each, so none of this can overflow. */
    bare_n = pt->local.p ? ln + 1 + dn : dn;
    if (pt->local.p)
        size += ln + 1 + bare_n + 1;
    if (pt->resource.p)
        size += rn + 1 + bare_n + 1 + rn + 1;

    jid->mem = malloc(size);
    if (!jid->mem)
        return XB_ENOMEM;
    w = jid->mem;
    if (pt->local.p) {
        /* UsernameCaseMapped (RFC 8265 3.3), for ASCII only. */
        jid->local = w;
        w = put(w, pt->local.p, ln);
        ascii_lower(w - ln - 1, ln);
    }
    d = w;
    w = put(w, pt->domain.p, dn);
    ascii_lower(d, dn);
    jid->domain = d;
    jid->bare = d;
    if (pt->resource.p) {
        jid->resource = w;
        w = put(w, pt->resource.p, rn);
    }
    if (pt->local.p) {
        jid->bare = w;
        memcpy(w, jid->local, ln);
        w[ln] = '@';
        w = put(w + ln + 1, d, dn);
    }
    jid->full = jid->bare;
    if (pt->resource.p) {
        jid->full = w;
        memcpy(w, jid->bare, bare_n);
        w[bare_n] = '/';
        w = put(w + bare_n + 1, pt->resource.p, rn);
    }
    assert((size_t)(w - jid->mem) == size);
    return 0;
}

int xb_jid_parse(struct xb_jid *jid, const char *s, size_t len,
                 const char **why)
{
    struct jid_parts pt;
    const char *reason = NULL;
    int rc;

    assert(jid != NULL);
    assert(s != NULL || len == 0);
    jid_reset(jid);
    rc = jid_split(s, len, &pt, &reason);
    if (rc == 0) {
        rc = jid_build(jid, &pt);
        if (rc != 0) {
            jid_reset(jid);
            reason = "out of memory";
        }
    }
    if (rc != 0 && why)
        *why = reason;
    return rc;
}

int xb_jid_check(const char *s, size_t len, const char **why)
{
    struct jid_parts pt;
    const char *reason = NULL;
    int rc;

    assert(s != NULL || len == 0);
    rc = jid_split(s, len, &pt, &reason);
    if (rc != 0 && why)
        *why = reason;
    return rc;
}

void xb_jid_clear(struct xb_jid *jid)
{
    assert(jid != NULL);
    free(jid->mem);
    jid_reset(jid);
}

/* Moves a pointer into src->mem to the same offset in dst->mem. */
static const char *rebase(const struct xb_jid *dst, const struct xb_jid *src,
                          const char *p)
{
    return p ? dst->mem + (p - src->mem) : NULL;
}

int xb_jid_copy(struct xb_jid *dst, const struct xb_jid *src)
{
    size_t size;

    assert(dst != NULL && src != NULL);
    jid_reset(dst);
    if (!src->mem)
        return 0;
    size = (size_t)(src->full - src->mem) + strlen(src->full) + 1;
    dst->mem = malloc(size);
    if (!dst->mem)
        return XB_ENOMEM;
    memcpy(dst->mem, src->mem, size);
    dst->local = rebase(dst, src, src->local);
    dst->domain = rebase(dst, src, src->domain);
    dst->resource = rebase(dst, src, src->resource);
    dst->bare = rebase(dst, src, src->bare);
    dst->full = rebase(dst, src, src->full);
    return 0;
}

int xb_jid_equal(const struct xb_jid *a, const struct xb_jid *b)
{
    assert(a->full != NULL && b->full != NULL);
    return strcmp(a->full, b->full) == 0;
}

int xb_jid_bare_equal(const struct xb_jid *a, const struct xb_jid *b)
{
    assert(a->bare != NULL && b->bare != NULL);
    return strcmp(a->bare, b->bare) == 0;
}
