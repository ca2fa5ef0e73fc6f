/*
 * The component's index: open addressing with linear probing over two
 * parallel arrays (a 32-bit hash, an item pointer: 12 bytes a slot, at
 * most 3/4 full), keyed by localpart or localpart/resource. The keys are
 * not stored: an item's JID is read through the host's callback when its
 * hash matches. Removal shifts the following entries back, so there are
 * no tombstones.
 */
#include "route.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jid.h"
#include "xmpp.h"

#define MIN_CAP 16
#define DEFAULT_NAME "xmppbots"

/* A JID split at its separators, without copying or validating. */
struct parts {
    const char *local; /* NULL: none */
    size_t local_len;
    const char *domain;
    size_t domain_len;
    const char *res; /* NULL: none */
    size_t res_len;
};

/* A resource in use by bots, for bare lookups. */
struct resource {
    char *s;       /* NULL: free */
    unsigned refs; /* bots with it */
};

struct xb_route {
    char *domain;
    char *name;
    xb_route_jid_fn jid_of;
    uint32_t *hashes;
    void **items; /* NULL: an empty slot */
    size_t cap;   /* a power of two */
    size_t count; /* in the table, not counting domain_item */
    void *domain_item; /* the bot at the domain itself, or NULL */
    struct resource res[XB_ROUTE_BARE_RESOURCES];
};

static void split(const char *s, struct parts *p)
{
    const char *slash = strchr(s, '/'), *at;
    size_t n = slash ? (size_t)(slash - s) : strlen(s);

    at = memchr(s, '@', n);
    p->local = at ? s : NULL;
    p->local_len = at ? (size_t)(at - s) : 0;
    p->domain = at ? at + 1 : s;
    p->domain_len = n - (size_t)(p->domain - s);
    p->res = slash ? slash + 1 : NULL;
    p->res_len = slash ? strlen(slash + 1) : 0;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Equal without regard to ASCII case (JID normalization here lowercases
 * ASCII only: jid.c). */
static int ascii_case_equal(const char *a, size_t n, const char *b, size_t m)
{
    size_t i;

    if (n != m)
        return 0;
    for (i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* FNV-1a over the lowercased localpart, then '/' and the resource, with
 * a final mix (the table uses the low bits). */
static uint32_t key_hash(const char *local, size_t ln, const char *res,
                         size_t rn)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < ln; i++)
        h = (h ^ lower((unsigned char)local[i])) * 16777619u;
    if (res) {
        h = (h ^ '/') * 16777619u;
        for (i = 0; i < rn; i++)
            h = (h ^ (unsigned char)res[i]) * 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* Whether item's JID has exactly this localpart and resource. */
static int item_is(const struct xb_route *r, const void *item,
                   const char *local, size_t ln, const char *res, size_t rn)
{
    struct parts p;

    split(r->jid_of(item), &p);
    if (!ascii_case_equal(p.local, p.local_len, local, ln))
        return 0;
    if (!res || !p.res)
        return !res && !p.res;
    return p.res_len == rn && !memcmp(p.res, res, rn);
}

/* The item under exactly local[/res], or NULL. */
static void *lookup(const struct xb_route *r, const char *local, size_t ln,
                    const char *res, size_t rn)
{
    uint32_t h = key_hash(local, ln, res, rn);
    size_t mask = r->cap - 1, i;

    for (i = h & mask; r->items[i]; i = (i + 1) & mask)
        if (r->hashes[i] == h && item_is(r, r->items[i], local, ln, res, rn))
            return r->items[i];
    return NULL;
}

static void place(uint32_t *hashes, void **items, size_t cap, uint32_t h,
                  void *item)
{
    size_t i;

    for (i = h & (cap - 1); items[i]; i = (i + 1) & (cap - 1))
        ;
    hashes[i] = h;
    items[i] = item;
}

static int grow(struct xb_route *r, size_t cap)
{
    uint32_t *hashes = malloc(cap * sizeof *hashes);
    void **items = calloc(cap, sizeof *items);
    size_t i;

    if (!hashes || !items) {
        free(hashes);
        free(items);
        return XB_ENOMEM;
    }
    for (i = 0; i < r->cap; i++)
        if (r->items[i])
            place(hashes, items, cap, r->hashes[i], r->items[i]);
    free(r->hashes);
    free(r->items);
    r->hashes = hashes;
    r->items = items;
    r->cap = cap;
    return 0;
}

struct xb_route *xb_route_new(const char *domain, const char *name,
                              xb_route_jid_fn jid_of)
{
    struct xb_route *r;
    struct xb_jid j;

    if (!domain || !jid_of || xb_jid_parse(&j, domain, strlen(domain), NULL))
        return NULL;
    if (j.local || j.resource) {
        xb_jid_clear(&j);
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (r) {
        r->jid_of = jid_of;
        r->domain = strdup(j.domain);
        r->name = strdup(name ? name : DEFAULT_NAME);
    }
    xb_jid_clear(&j);
    if (!r || !r->domain || !r->name || grow(r, MIN_CAP)) {
        xb_route_free(r);
        return NULL;
    }
    return r;
}

void xb_route_free(struct xb_route *r)
{
    unsigned i;

    if (!r)
        return;
    for (i = 0; i < XB_ROUTE_BARE_RESOURCES; i++)
        free(r->res[i].s);
    free(r->hashes);
    free(r->items);
    free(r->domain);
    free(r->name);
    free(r);
}

/* Counts one more bot with resource res (if there is room to list it). */
static int resource_ref(struct xb_route *r, const char *res, size_t n)
{
    struct resource *free_slot = NULL;
    unsigned i;

    for (i = 0; i < XB_ROUTE_BARE_RESOURCES; i++) {
        struct resource *x = &r->res[i];

        if (!x->s) {
            if (!free_slot)
                free_slot = x;
        } else if (strlen(x->s) == n && !memcmp(x->s, res, n)) {
            x->refs++;
            return 0;
        }
    }
    if (!free_slot)
        return 0;
    free_slot->s = malloc(n + 1);
    if (!free_slot->s)
        return XB_ENOMEM;
    memcpy(free_slot->s, res, n);
    free_slot->s[n] = '\0';
    free_slot->refs = 1;
    return 0;
}

static void resource_unref(struct xb_route *r, const char *res, size_t n)
{
    unsigned i;

    for (i = 0; i < XB_ROUTE_BARE_RESOURCES; i++) {
        struct resource *x = &r->res[i];

        if (x->s && strlen(x->s) == n && !memcmp(x->s, res, n)) {
            if (--x->refs == 0) {
                free(x->s);
                x->s = NULL;
            }
            return;
        }
    }
}

int xb_route_add(struct xb_route *r, void *item)
{
    const char *s = item ? r->jid_of(item) : NULL;
    struct xb_jid j;
    struct parts p;
    int ok, rc;

    if (!s || xb_jid_parse(&j, s, strlen(s), NULL))
        return XB_EJID;
    ok = (j.local || !j.resource) && !strcmp(j.domain, r->domain) &&
         !strcmp(j.full, s);
    xb_jid_clear(&j);
    if (!ok)
        return XB_EJID;
    split(s, &p);
    if (!p.local) {
        if (r->domain_item)
            return XB_EINVAL;
        r->domain_item = item;
        return 0;
    }
    if (lookup(r, p.local, p.local_len, p.res, p.res_len))
        return XB_EINVAL;
    if ((r->count + 1) * 4 > r->cap * 3 && (rc = grow(r, r->cap * 2)))
        return rc;
    if (p.res && (rc = resource_ref(r, p.res, p.res_len)))
        return rc;
    place(r->hashes, r->items, r->cap,
          key_hash(p.local, p.local_len, p.res, p.res_len), item);
    r->count++;
    return 0;
}

int xb_route_remove(struct xb_route *r, const void *item)
{
    size_t mask = r->cap - 1, i, j, k;
    struct parts p;
    uint32_t h;

    if (!item)
        return XB_ENOTFOUND;
    if (item == r->domain_item) {
        r->domain_item = NULL;
        return 0;
    }
    split(r->jid_of(item), &p);
    h = key_hash(p.local, p.local_len, p.res, p.res_len);
    for (i = h & mask; r->items[i] != item; i = (i + 1) & mask)
        if (!r->items[i])
            return XB_ENOTFOUND;
    /* Backward shift: move each later entry of the run whose home slot
     * is not between the hole and it into the hole. */
    for (j = i;;) {
        j = (j + 1) & mask;
        if (!r->items[j])
            break;
        k = r->hashes[j] & mask;
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        r->hashes[i] = r->hashes[j];
        r->items[i] = r->items[j];
        i = j;
    }
    r->items[i] = NULL;
    r->count--;
    if (p.res)
        resource_unref(r, p.res, p.res_len);
    return 0;
}

/* The item for a 'to' already split and known to be under the domain
 * with a localpart. */
static void *find_parts(const struct xb_route *r, const struct parts *p)
{
    void *item = lookup(r, p->local, p->local_len, p->res, p->res_len);
    unsigned i;

    if (item)
        return item;
    if (p->res)
        return lookup(r, p->local, p->local_len, NULL, 0);
    for (i = 0; i < XB_ROUTE_BARE_RESOURCES; i++) {
        const char *res = r->res[i].s;

        if (res && (item = lookup(r, p->local, p->local_len, res, strlen(res))))
            return item;
    }
    return NULL;
}

static int is_ours(const struct xb_route *r, const struct parts *p)
{
    return ascii_case_equal(p->domain, p->domain_len, r->domain,
                            strlen(r->domain));
}

void *xb_route_find(const struct xb_route *r, const char *jid)
{
    struct parts p;

    split(jid, &p);
    if (!is_ours(r, &p))
        return NULL;
    if (!p.local)
        return r->domain_item;
    return find_parts(r, &p);
}

size_t xb_route_count(const struct xb_route *r)
{
    return r->count + (r->domain_item != NULL);
}

size_t xb_route_mem(const struct xb_route *r)
{
    size_t n = sizeof *r + r->cap * (sizeof *r->hashes + sizeof *r->items) +
               strlen(r->domain) + 1 + strlen(r->name) + 1;
    unsigned i;

    for (i = 0; i < XB_ROUTE_BARE_RESOURCES; i++)
        if (r->res[i].s)
            n += strlen(r->res[i].s) + 1;
    return n;
}

/* --- the component's own answers ------------------------------------- */

static int add_feature(struct xb_stanza *q, const char *var)
{
    struct xb_stanza *f = xb_stanza_add_child(q, NULL, "feature");

    return f ? xb_stanza_set_attr(f, NULL, "var", var) : XB_ENOMEM;
}

/* A data form field with one value (type NULL: none). */
static int add_field(struct xb_stanza *x, const char *var, const char *type,
                     const char *value)
{
    struct xb_stanza *f = xb_stanza_add_child(x, NULL, "field"), *v;

    if (!f || xb_stanza_set_attr(f, NULL, "var", var) ||
        (type && xb_stanza_set_attr(f, NULL, "type", type)) ||
        !(v = xb_stanza_add_child(f, NULL, "value")))
        return XB_ENOMEM;
    return xb_stanza_add_text(v, value, strlen(value));
}

static int disco_info(const struct xb_route *r, struct xb_stanza *reply)
{
    struct xb_stanza *q = xb_stanza_add_child(reply, XB_NS_DISCO_INFO, "query");
    struct xb_stanza *id, *x;
    char count[24];

    if (!q || !(id = xb_stanza_add_child(q, NULL, "identity")) ||
        xb_stanza_set_attr(id, NULL, "category", "component") ||
        xb_stanza_set_attr(id, NULL, "type", "generic") ||
        xb_stanza_set_attr(id, NULL, "name", r->name) ||
        add_feature(q, XB_NS_DISCO_INFO) || add_feature(q, XB_NS_DISCO_ITEMS) ||
        add_feature(q, XB_NS_PING) ||
        !(x = xb_stanza_add_child(q, XB_NS_DATA, "x")) ||
        xb_stanza_set_attr(x, NULL, "type", "result"))
        return XB_ENOMEM;
    snprintf(count, sizeof count, "%zu", r->count);
    if (add_field(x, "FORM_TYPE", "hidden", XB_ROUTE_FORM_TYPE) ||
        add_field(x, "bots", NULL, count))
        return XB_ENOMEM;
    return 0;
}

static int disco_items(const struct xb_route *r, struct xb_stanza *reply)
{
    struct xb_stanza *q =
                         xb_stanza_add_child(reply, XB_NS_DISCO_ITEMS, "query"),
                     *it;
    size_t i, n = 0;

    if (!q)
        return XB_ENOMEM;
    for (i = 0; i < r->cap && n < XB_ROUTE_DISCO_ITEMS; i++) {
        if (!r->items[i])
            continue;
        if (!(it = xb_stanza_add_child(q, NULL, "item")) ||
            xb_stanza_set_attr(it, NULL, "jid", r->jid_of(r->items[i])))
            return XB_ENOMEM;
        n++;
    }
    return 0;
}

/* A request to the domain itself: the answer's condition (NULL: a
 * result) and what fills a result. */
static const char *domain_iq(const struct xb_stanza *iq, const char **etype,
                             int (**fill)(const struct xb_route *,
                                          struct xb_stanza *))
{
    const char *type = xb_stanza_attr(iq, NULL, "type");
    const struct xb_stanza *p = xb_iq_payload(iq);
    const char *node;

    *etype = "cancel";
    *fill = NULL;
    if (!p) {
        *etype = "modify";
        return "bad-request";
    }
    if (strcmp(type, "get"))
        return "service-unavailable";
    if (xb_stanza_is(p, XB_NS_PING, "ping"))
        return NULL;
    if (!xb_stanza_is(p, XB_NS_DISCO_INFO, "query") &&
        !xb_stanza_is(p, XB_NS_DISCO_ITEMS, "query"))
        return "service-unavailable";
    node = xb_stanza_attr(p, NULL, "node");
    if (node && node[0])
        return "item-not-found";
    *fill = xb_stanza_is(p, XB_NS_DISCO_INFO, NULL) ? disco_info : disco_items;
    return NULL;
}

int xb_route_stanza(const struct xb_route *r, const struct xb_stanza *st,
                    void **item, struct xb_stanza **reply)
{
    const char *to = xb_stanza_attr(st, NULL, "to");
    const char *type = xb_stanza_attr(st, NULL, "type");
    const char *name = xb_stanza_name(st), *ns = xb_stanza_ns(st);
    const char *cond = NULL, *etype = "cancel";
    int (*fill)(const struct xb_route *, struct xb_stanza *) = NULL;
    int is_iq, request;
    struct parts p;
    struct xb_stanza *rep;

    *item = NULL;
    *reply = NULL;
    if (!name || (ns[0] && strcmp(ns, XB_NS_CLIENT)))
        return XB_ROUTE_DROP;
    is_iq = !strcmp(name, "iq");
    if (!is_iq && strcmp(name, "message") && strcmp(name, "presence"))
        return XB_ROUTE_DROP;
    /* The server stamps 'from' on everything it routes to a component;
     * without one there is no one to deliver for or to answer. */
    if (!xb_stanza_attr(st, NULL, "from"))
        return XB_ROUTE_DROP;
    if (!to)
        to = r->domain;
    split(to, &p);
    if (!is_ours(r, &p))
        return XB_ROUTE_FOREIGN;
    if ((*item = p.local ? find_parts(r, &p) : r->domain_item))
        return XB_ROUTE_DELIVER;
    request = type && (!strcmp(type, "get") || !strcmp(type, "set"));
    if (is_iq) {
        if (!request)
            return XB_ROUTE_DROP;
        if (p.local)
            cond = "item-not-found";
        else
            cond = domain_iq(st, &etype, &fill);
    } else if (!strcmp(name, "message")) {
        if (type && strcmp(type, "normal") && strcmp(type, "chat"))
            return XB_ROUTE_DROP;
        cond = "service-unavailable";
    } else {
        return XB_ROUTE_DROP;
    }
    /* An address the server would not take as our 'from' (it closes the
     * stream for that), or a sender no one can answer. */
    if (xb_jid_check(to, strlen(to), NULL) || !xb_xmpp_can_reply(st))
        return XB_ROUTE_DROP;
    rep = xb_xmpp_reply(st, cond, etype);
    if (!rep || xb_stanza_set_attr(rep, NULL, "from", to) ||
        (fill && fill(r, rep))) {
        xb_stanza_free(rep);
        return XB_ENOMEM;
    }
    *reply = rep;
    return XB_ROUTE_REPLY;
}
