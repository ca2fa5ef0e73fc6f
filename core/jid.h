/*
 * JIDs (RFC 7622): parsing, validation and comparison of
 * localpart@domainpart/resourcepart addresses. A parsed JID holds its
 * normalized parts in one allocation.
 */
#ifndef XB_JID_H
#define XB_JID_H

#include <stddef.h>

/* Each part is at most this many bytes (RFC 7622 3.2-3.4). */
#define XB_JID_PART_MAX 1023

/*
 * A parsed JID. Fields are read-only for callers; all strings are
 * NUL-terminated and owned by the JID (freed by xb_jid_clear()).
 */
struct xb_jid {
    const char *local;    /* NULL when the JID has no localpart */
    const char *domain;   /* never NULL once parsed; lowercased ASCII */
    const char *resource; /* NULL when the JID has no resourcepart */
    const char *bare;     /* "local@domain" or "domain" */
    const char *full;     /* the whole normalized JID */
    char *mem;            /* the single allocation behind the strings */
};

/*
 * Parses and validates len bytes of s into jid (which need not be
 * initialized; any previous contents are NOT freed). On success returns 0
 * and the caller later calls xb_jid_clear(). On failure returns XB_EJID (or
 * XB_ENOMEM), leaves jid cleared, and if why is not NULL stores a static
 * one-line reason ("localpart contains '@'", "domainpart is empty", ...).
 */
int xb_jid_parse(struct xb_jid *jid, const char *s, size_t len,
                 const char **why);

/* Validates without keeping the result. Returns 0 or XB_EJID/XB_ENOMEM. */
int xb_jid_check(const char *s, size_t len, const char **why);

/* Frees the strings and leaves jid empty (all NULL). Safe to repeat. */
void xb_jid_clear(struct xb_jid *jid);

/* Deep copy of src into dst (dst not initialized). 0 or XB_ENOMEM. */
int xb_jid_copy(struct xb_jid *dst, const struct xb_jid *src);

/* 1 if the full JIDs are equal (after normalization), else 0. */
int xb_jid_equal(const struct xb_jid *a, const struct xb_jid *b);

/* 1 if the bare JIDs (local@domain) are equal, else 0. */
int xb_jid_bare_equal(const struct xb_jid *a, const struct xb_jid *b);

#endif
