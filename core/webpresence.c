/*
 * The web presence gateway's model (see webpresence.h): registrations in
 * two hash indexes (bare JID, token), presence per resource, the IQ and
 * presence rules, and the page renderers.
 */
#include "webpresence.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "error.h"
#include "form.h"
#include "jid.h"
#include "utf8.h"
#include "xmpp.h"

#define DEFAULT_MAX_RESOURCES 16u
#define DEFAULT_MAX_STATUS 1024u
#define MIN_BUCKETS 64u
#define TOKEN_TRIES 4

struct res {
    struct res *next;
    uint64_t seq; /* when last updated (the model's counter) */
    int priority;
    enum xb_webpresence_show show;
    char *status; /* NULL: none */
    size_t status_len;
    char name[]; /* the resource ("" for the bare JID) */
};

struct reg {
    struct reg *next_jid, *next_token;
    struct res *res; /* available resources only */
    unsigned nres;
    enum xb_webpresence_sub sub;
    int show_status_msg, show_full_jid;
    char token[XB_WEBPRESENCE_TOKEN_LEN + 1];
    char jid[]; /* bare */
};

struct xb_webpresence {
    struct xb_webpresence_config cfg;
    struct reg **by_jid, **by_token;
    size_t nbuckets; /* a power of two */
    size_t count;
    uint64_t seed; /* random: JIDs are chosen by peers */
    uint64_t seq;
};

static const char *const show_names[] = {
    [XB_WEBPRESENCE_OFFLINE] = "offline", [XB_WEBPRESENCE_XA] = "xa",
    [XB_WEBPRESENCE_AWAY] = "away",       [XB_WEBPRESENCE_DND] = "dnd",
    [XB_WEBPRESENCE_ONLINE] = "online",   [XB_WEBPRESENCE_CHAT] = "chat",
};

static const char *const show_labels[] = {
    [XB_WEBPRESENCE_OFFLINE] = "offline",
    [XB_WEBPRESENCE_XA] = "extended away",
    [XB_WEBPRESENCE_AWAY] = "away",
    [XB_WEBPRESENCE_DND] = "do not disturb",
    [XB_WEBPRESENCE_ONLINE] = "online",
    [XB_WEBPRESENCE_CHAT] = "free for chat",
};

const char *xb_webpresence_show_name(enum xb_webpresence_show show)
{
    if ((unsigned)show > XB_WEBPRESENCE_CHAT)
        return "";
    return show_names[show];
}

const char *xb_webpresence_show_label(enum xb_webpresence_show show)
{
    if ((unsigned)show > XB_WEBPRESENCE_CHAT)
        return "";
    return show_labels[show];
}

/* --- tokens and indexes -------------------------------------------------- */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int token_valid(const char *s, size_t len)
{
    size_t i;

    if (len != XB_WEBPRESENCE_TOKEN_LEN)
        return 0;
    for (i = 0; i < len; i++)
        if (!token_char(s[i]))
            return 0;
    return 1;
}

static int random_bytes(struct xb_webpresence *wp, unsigned char *buf, size_t n)
{
    if (wp->cfg.random)
        return wp->cfg.random(wp->cfg.random_ud, buf, n);
    return RAND_bytes(buf, (int)n) == 1 ? 0 : XB_EINVAL;
}

/* base64url of TOKEN_BYTES (a multiple of 3: no padding). */
static void token_encode(char *out, const unsigned char *raw)
{
    size_t i;

    for (i = 0; i < XB_WEBPRESENCE_TOKEN_BYTES; i += 3) {
        uint32_t v =
            (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];

        *out++ = b64url[v >> 18 & 63];
        *out++ = b64url[v >> 12 & 63];
        *out++ = b64url[v >> 6 & 63];
        *out++ = b64url[v & 63];
    }
    *out = '\0';
}

/* FNV-1a, seeded. */
static uint64_t hash(const struct xb_webpresence *wp, const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ wp->seed;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ h >> 29;
}

static struct reg *find_jid(const struct xb_webpresence *wp, const char *jid)
{
    struct reg *r;

    for (r = wp->by_jid[hash(wp, jid, strlen(jid)) & (wp->nbuckets - 1)]; r;
         r = r->next_jid)
        if (strcmp(r->jid, jid) == 0)
            return r;
    return NULL;
}

static struct reg *find_token(const struct xb_webpresence *wp, const char *tok,
                              size_t len)
{
    struct reg *r;

    if (!token_valid(tok, len))
        return NULL;
    for (r = wp->by_token[hash(wp, tok, len) & (wp->nbuckets - 1)]; r;
         r = r->next_token)
        if (CRYPTO_memcmp(r->token, tok, XB_WEBPRESENCE_TOKEN_LEN) == 0)
            return r;
    return NULL;
}

static void link_reg(struct xb_webpresence *wp, struct reg *r)
{
    size_t j = hash(wp, r->jid, strlen(r->jid)) & (wp->nbuckets - 1);
    size_t t =
        hash(wp, r->token, XB_WEBPRESENCE_TOKEN_LEN) & (wp->nbuckets - 1);

    r->next_jid = wp->by_jid[j];
    wp->by_jid[j] = r;
    r->next_token = wp->by_token[t];
    wp->by_token[t] = r;
}

static void unlink_reg(struct xb_webpresence *wp, struct reg *r)
{
    struct reg **p;

    p = &wp->by_jid[hash(wp, r->jid, strlen(r->jid)) & (wp->nbuckets - 1)];
    while (*p != r)
        p = &(*p)->next_jid;
    *p = r->next_jid;
    p = &wp->by_token[hash(wp, r->token, XB_WEBPRESENCE_TOKEN_LEN) &
                      (wp->nbuckets - 1)];
    while (*p != r)
        p = &(*p)->next_token;
    *p = r->next_token;
    wp->count--;
}

/* Makes room for one more registration (load factor 1), so that inserting
 * it cannot fail after the store has been written. */
static int reserve(struct xb_webpresence *wp)
{
    struct reg **oj = wp->by_jid, **ot = wp->by_token, *r, *next;
    size_t on = wp->nbuckets, n = on * 2, i;

    if (wp->count < on)
        return 0;
    wp->by_jid = calloc(n, sizeof *wp->by_jid);
    wp->by_token = calloc(n, sizeof *wp->by_token);
    if (!wp->by_jid || !wp->by_token) {
        free(wp->by_jid);
        free(wp->by_token);
        wp->by_jid = oj;
        wp->by_token = ot;
        return XB_ENOMEM;
    }
    wp->nbuckets = n;
    for (i = 0; i < on; i++)
        for (r = oj[i]; r; r = next) {
            next = r->next_jid;
            link_reg(wp, r);
        }
    free(oj);
    free(ot);
    return 0;
}

static void insert_reg(struct xb_webpresence *wp, struct reg *r)
{
    assert(wp->count < wp->nbuckets); /* reserve() was called */
    link_reg(wp, r);
    wp->count++;
}

static void free_res(struct res *s)
{
    free(s->status);
    free(s);
}

static void forget_presence(struct reg *r)
{
    struct res *s, *next;

    for (s = r->res; s; s = next) {
        next = s->next;
        free_res(s);
    }
    r->res = NULL;
    r->nres = 0;
}

static void free_reg(struct reg *r)
{
    if (r) {
        forget_presence(r);
        free(r);
    }
}

static struct reg *new_reg(const char *jid, const char *token)
{
    size_t n = strlen(jid);
    struct reg *r = calloc(1, sizeof *r + n + 1);

    if (!r)
        return NULL;
    memcpy(r->jid, jid, n + 1);
    memcpy(r->token, token, XB_WEBPRESENCE_TOKEN_LEN);
    r->token[XB_WEBPRESENCE_TOKEN_LEN] = '\0';
    r->sub = XB_WEBPRESENCE_SUB_NONE;
    return r;
}

static void record_of(const struct reg *r, struct xb_webpresence_record *rec)
{
    rec->jid = r->jid;
    rec->token = r->token;
    rec->show_status_msg = r->show_status_msg;
    rec->show_full_jid = r->show_full_jid;
}

static void changed(struct xb_webpresence *wp, const char *token)
{
    if (wp->cfg.changed)
        wp->cfg.changed(wp->cfg.changed_ud, token);
}

/* --- the model ----------------------------------------------------------- */

struct xb_webpresence *
xb_webpresence_new(const struct xb_webpresence_config *cfg)
{
    struct xb_webpresence *wp;

    if (!cfg->base_url)
        return NULL;
    wp = calloc(1, sizeof *wp);
    if (!wp)
        return NULL;
    wp->cfg = *cfg;
    if (!wp->cfg.max_resources)
        wp->cfg.max_resources = DEFAULT_MAX_RESOURCES;
    if (!wp->cfg.max_status)
        wp->cfg.max_status = DEFAULT_MAX_STATUS;
    wp->nbuckets = MIN_BUCKETS;
    wp->by_jid = calloc(wp->nbuckets, sizeof *wp->by_jid);
    wp->by_token = calloc(wp->nbuckets, sizeof *wp->by_token);
    if (!wp->by_jid || !wp->by_token) {
        xb_webpresence_free(wp);
        return NULL;
    }
    /* Without randomness the seed stays 0: the index still works. */
    if (random_bytes(wp, (unsigned char *)&wp->seed, sizeof wp->seed))
        wp->seed = 0;
    return wp;
}

static void clear(struct xb_webpresence *wp)
{
    struct reg *r, *next;
    size_t i;

    for (i = 0; i < wp->nbuckets; i++) {
        for (r = wp->by_jid[i]; r; r = next) {
            next = r->next_jid;
            free_reg(r);
        }
        wp->by_jid[i] = NULL;
        wp->by_token[i] = NULL;
    }
    wp->count = 0;
}

void xb_webpresence_free(struct xb_webpresence *wp)
{
    if (!wp)
        return;
    if (wp->by_jid && wp->by_token)
        clear(wp);
    free(wp->by_jid);
    free(wp->by_token);
    free(wp);
}

size_t xb_webpresence_count(const struct xb_webpresence *wp)
{
    return wp->count;
}

static int load_one(void *ctx, const struct xb_webpresence_record *rec)
{
    struct xb_webpresence *wp = ctx;
    struct xb_jid jid;
    struct reg *r;
    int bad;

    if (!rec->jid || !rec->token ||
        !token_valid(rec->token, strlen(rec->token)))
        return XB_EINVAL;
    if (xb_jid_parse(&jid, rec->jid, strlen(rec->jid), NULL))
        return XB_EINVAL;
    /* Stored as written: a bare, already normalized JID. */
    bad = jid.resource || strcmp(jid.bare, rec->jid) != 0;
    xb_jid_clear(&jid);
    if (bad || find_jid(wp, rec->jid) ||
        find_token(wp, rec->token, XB_WEBPRESENCE_TOKEN_LEN))
        return XB_EINVAL;
    if (reserve(wp) || !(r = new_reg(rec->jid, rec->token)))
        return XB_ENOMEM;
    r->show_status_msg = !!rec->show_status_msg;
    r->show_full_jid = !!rec->show_full_jid;
    insert_reg(wp, r);
    return 0;
}

int xb_webpresence_load(struct xb_webpresence *wp)
{
    int rc;

    if (wp->count)
        return XB_ESTATE;
    if (!wp->cfg.store || !wp->cfg.store->load)
        return 0;
    rc = wp->cfg.store->load(wp->cfg.store_ud, load_one, wp);
    if (rc) {
        clear(wp);
        return rc < 0 ? rc : XB_EINVAL;
    }
    return 0;
}

int xb_webpresence_each(const struct xb_webpresence *wp,
                        int (*fn)(void *ud,
                                  const struct xb_webpresence_record *r),
                        void *ud)
{
    struct xb_webpresence_record rec;
    const struct reg *r;
    size_t i;
    int rc;

    for (i = 0; i < wp->nbuckets; i++)
        for (r = wp->by_jid[i]; r; r = r->next_jid) {
            record_of(r, &rec);
            if ((rc = fn(ud, &rec)))
                return rc;
        }
    return 0;
}

int xb_webpresence_find(const struct xb_webpresence *wp, const char *jid,
                        struct xb_webpresence_record *rec)
{
    const struct reg *r = find_jid(wp, jid);

    if (!r)
        return XB_ENOTFOUND;
    record_of(r, rec);
    return 0;
}

enum xb_webpresence_sub xb_webpresence_sub(const struct xb_webpresence *wp,
                                           const char *jid)
{
    const struct reg *r = find_jid(wp, jid);

    return r ? r->sub : XB_WEBPRESENCE_SUB_NONE;
}

/* The resource the page shows: the most available, then the highest
 * priority, then the most recently updated. */
static const struct res *best_res(const struct reg *r)
{
    const struct res *s, *best = NULL;

    for (s = r->res; s; s = s->next)
        if (!best || s->show > best->show ||
            (s->show == best->show &&
             (s->priority > best->priority ||
              (s->priority == best->priority && s->seq > best->seq))))
            best = s;
    return best;
}

int xb_webpresence_view(const struct xb_webpresence *wp, const char *token,
                        size_t len, struct xb_webpresence_view *v)
{
    const struct reg *r = find_token(wp, token, len);
    const struct res *s;

    if (!r)
        return XB_ENOTFOUND;
    s = best_res(r);
    memset(v, 0, sizeof *v);
    v->show = s ? s->show : XB_WEBPRESENCE_OFFLINE;
    if (s && r->show_status_msg && s->status) {
        v->status = s->status;
        v->status_len = s->status_len;
    }
    v->jid = r->show_full_jid ? r->jid : NULL;
    v->refresh = wp->cfg.refresh;
    return 0;
}

/* --- stanzas ------------------------------------------------------------- */

void xb_webpresence_out_free(struct xb_webpresence_out *out)
{
    unsigned i;

    for (i = 0; i < out->n; i++)
        xb_stanza_free(out->st[i]);
    out->n = 0;
}

/* Takes st (NULL: out of memory) into out. */
static int push(struct xb_webpresence_out *out, struct xb_stanza *st)
{
    if (!st)
        return XB_ENOMEM;
    assert(out->n < XB_WEBPRESENCE_OUT_MAX);
    out->st[out->n++] = st;
    return 0;
}

/* An error answer to req with a <text/> (NULL: none). */
static struct xb_stanza *error_reply(const struct xb_stanza *req,
                                     const char *cond, const char *etype,
                                     const char *text)
{
    struct xb_stanza *r = xb_xmpp_reply(req, cond, etype), *e, *t;

    if (r && text) {
        e = xb_stanza_child(r, NULL, "error");
        t = xb_stanza_add_child(e, XB_NS_STANZA_ERRORS, "text");
        if (!t || xb_stanza_set_attr(t, XB_NS_XML, "lang", "en") ||
            xb_stanza_add_text(t, text, strlen(text))) {
            xb_stanza_free(r);
            return NULL;
        }
    }
    return r;
}

/* Answers with an error: 1, or XB_ENOMEM with out emptied. */
static int answer_error(const struct xb_stanza *req,
                        struct xb_webpresence_out *out, const char *cond,
                        const char *etype, const char *text)
{
    xb_webpresence_out_free(out);
    if (push(out, error_reply(req, cond, etype, text)))
        return XB_ENOMEM;
    return 1;
}

static struct xb_stanza *presence_to(const char *jid, const char *type)
{
    struct xb_stanza *p = xb_stanza_new(XB_NS_CLIENT, "presence");

    if (p && (xb_stanza_set_attr(p, NULL, "to", jid) ||
              (type && xb_stanza_set_attr(p, NULL, "type", type)))) {
        xb_stanza_free(p);
        return NULL;
    }
    return p;
}

struct xb_stanza *xb_webpresence_probe(const char *jid)
{
    return presence_to(jid, "probe");
}

static int disco_info(const struct xb_stanza *iq, const struct xb_stanza *q,
                      struct xb_webpresence_out *out)
{
    static const char *const features[] = {XB_NS_DISCO_INFO, XB_NS_DISCO_ITEMS,
                                           XB_NS_REGISTER, XB_NS_DATA, NULL};
    struct xb_stanza *r, *rq, *id, *f;
    unsigned i;

    if (xb_stanza_attr(q, NULL, "node"))
        return answer_error(iq, out, "item-not-found", "cancel", NULL);
    r = xb_xmpp_reply(iq, NULL, NULL);
    if (!r || !(rq = xb_stanza_add_child(r, XB_NS_DISCO_INFO, "query")) ||
        !(id = xb_stanza_add_child(rq, NULL, "identity")) ||
        xb_stanza_set_attr(id, NULL, "category", "component") ||
        xb_stanza_set_attr(id, NULL, "type", "presence") ||
        xb_stanza_set_attr(id, NULL, "name", "web presence"))
        goto oom;
    for (i = 0; features[i]; i++)
        if (!(f = xb_stanza_add_child(rq, NULL, "feature")) ||
            xb_stanza_set_attr(f, NULL, "var", features[i]))
            goto oom;
    return push(out, r) ? XB_ENOMEM : 1;
oom:
    xb_stanza_free(r);
    return XB_ENOMEM;
}

static int disco_items(const struct xb_stanza *iq, const struct xb_stanza *q,
                       struct xb_webpresence_out *out)
{
    struct xb_stanza *r;

    if (xb_stanza_attr(q, NULL, "node"))
        return answer_error(iq, out, "item-not-found", "cancel", NULL);
    r = xb_xmpp_reply(iq, NULL, NULL);
    if (!r || !xb_stanza_add_child(r, XB_NS_DISCO_ITEMS, "query")) {
        xb_stanza_free(r);
        return XB_ENOMEM;
    }
    return push(out, r) ? XB_ENOMEM : 1;
}

static const struct xb_form_spec_field register_fields[] = {
    {"show_status_msg", XB_FIELD_BOOLEAN, 0, 8, NULL},
    {"show_full_jid", XB_FIELD_BOOLEAN, 0, 8, NULL},
    {NULL, XB_FIELD_BOOLEAN, 0, 0, NULL}};

static const struct xb_form_spec register_spec = {XB_NS_REGISTER,
                                                  register_fields};

#define LABEL_STATUS "Show my status message on the page"
#define LABEL_JID "Show my address (JID) on the page"

static int register_get(struct xb_webpresence *wp, const struct xb_stanza *iq,
                        const struct reg *r, struct xb_webpresence_out *out)
{
    struct xb_stanza *st = xb_xmpp_reply(iq, NULL, NULL), *q, *x;
    struct xb_buf text;
    int ok;

    xb_buf_init(&text);
    if (r)
        ok = !xb_buf_puts(&text, "You are registered. Your web presence "
                                 "page: ") &&
             !xb_buf_puts(&text, wp->cfg.base_url) &&
             !xb_buf_puts(&text, r->token) &&
             !xb_buf_puts(&text, " (anyone with this address sees your "
                                 "presence; unregister and register again "
                                 "for a new one). Change what the page "
                                 "shows and submit, or unregister.");
    else
        ok = !xb_buf_puts(&text, "Register to get a web page that shows "
                                 "your presence. Choose what it shows and "
                                 "submit; the gateway will then ask to see "
                                 "your presence.");
    if (!ok || !st || !(q = xb_stanza_add_child(st, XB_NS_REGISTER, "query")) ||
        (r && !xb_stanza_add_child(q, NULL, "registered")) ||
        !(x = xb_stanza_add_child(q, NULL, "instructions")) ||
        xb_stanza_add_text(x, text.data, text.len) ||
        !(x = xb_form_add(q, XB_FORM_FORM, "Web presence", text.data)) ||
        !xb_form_add_field(x, XB_FIELD_HIDDEN, "FORM_TYPE", NULL, 0,
                           XB_NS_REGISTER) ||
        !xb_form_add_field(x, XB_FIELD_BOOLEAN, "show_status_msg", LABEL_STATUS,
                           0, r && r->show_status_msg ? "1" : "0") ||
        !xb_form_add_field(x, XB_FIELD_BOOLEAN, "show_full_jid", LABEL_JID, 0,
                           r && r->show_full_jid ? "1" : "0")) {
        xb_buf_free(&text);
        xb_stanza_free(st);
        return XB_ENOMEM;
    }
    xb_buf_free(&text);
    return push(out, st) ? XB_ENOMEM : 1;
}

static int register_remove(struct xb_webpresence *wp,
                           const struct xb_stanza *iq, struct reg *r,
                           struct xb_webpresence_out *out)
{
    char token[XB_WEBPRESENCE_TOKEN_LEN + 1];

    if (!r)
        return answer_error(iq, out, "registration-required", "auth",
                            "not registered");
    if (push(out, xb_xmpp_reply(iq, NULL, NULL)) ||
        push(out, presence_to(r->jid, "unsubscribe")) ||
        push(out, presence_to(r->jid, "unsubscribed"))) {
        xb_webpresence_out_free(out);
        return XB_ENOMEM;
    }
    if (wp->cfg.store && wp->cfg.store->del &&
        wp->cfg.store->del(wp->cfg.store_ud, r->jid))
        return answer_error(iq, out, "internal-server-error", "wait",
                            "could not delete the registration");
    memcpy(token, r->token, sizeof token);
    unlink_reg(wp, r);
    free_reg(r);
    changed(wp, token);
    return 1;
}

static int new_token(struct xb_webpresence *wp, char *token)
{
    unsigned char raw[XB_WEBPRESENCE_TOKEN_BYTES];
    int i;

    for (i = 0; i < TOKEN_TRIES; i++) {
        if (random_bytes(wp, raw, sizeof raw))
            return XB_EINVAL;
        token_encode(token, raw);
        if (!find_token(wp, token, XB_WEBPRESENCE_TOKEN_LEN))
            return 0;
    }
    return XB_EINVAL; /* the generator repeats itself: not random */
}

/* The message that tells a new user their page address. */
static struct xb_stanza *address_message(struct xb_webpresence *wp,
                                         const struct reg *r)
{
    struct xb_stanza *m = xb_stanza_new(XB_NS_CLIENT, "message"), *b;
    struct xb_buf text;

    xb_buf_init(&text);
    if (!m || xb_stanza_set_attr(m, NULL, "to", r->jid) ||
        xb_stanza_set_attr(m, NULL, "type", "normal") ||
        !(b = xb_stanza_add_child(m, NULL, "body")) ||
        xb_buf_puts(&text, "Your web presence page: ") ||
        xb_buf_puts(&text, wp->cfg.base_url) || xb_buf_puts(&text, r->token) ||
        xb_stanza_add_text(b, text.data, text.len)) {
        xb_stanza_free(m);
        m = NULL;
    }
    xb_buf_free(&text);
    return m;
}

static int register_set(struct xb_webpresence *wp, const struct xb_stanza *iq,
                        const char *bare, struct reg *r,
                        const struct xb_stanza *x,
                        struct xb_webpresence_out *out)
{
    struct xb_webpresence_record rec;
    char token[XB_WEBPRESENCE_TOKEN_LEN + 1];
    struct reg *fresh = NULL;
    struct xb_form form;
    int status, jid;

    if (xb_form_parse(x, &register_spec, &form))
        return answer_error(iq, out, xb_form_error_cond(form.error), "modify",
                            form.why);
    /* An absent field means no (XEP-0004: the submitter sends what it
     * wants; the page shows nothing by default). */
    status = form.values[0].field ? form.values[0].boolean : 0;
    jid = form.values[1].field ? form.values[1].boolean : 0;

    if (!r) {
        if (wp->cfg.max_registrations && wp->count >= wp->cfg.max_registrations)
            return answer_error(iq, out, "resource-constraint", "wait",
                                "the gateway is full");
        if (new_token(wp, token))
            return answer_error(iq, out, "internal-server-error", "wait",
                                "no randomness for the page address");
        if (reserve(wp) || !(fresh = new_reg(bare, token)))
            return XB_ENOMEM;
        fresh->show_status_msg = status;
        fresh->show_full_jid = jid;
        fresh->sub = XB_WEBPRESENCE_SUB_NONE;
    }
    if (push(out, xb_xmpp_reply(iq, NULL, NULL)) ||
        (fresh && push(out, address_message(wp, fresh))) ||
        ((fresh || r->sub != XB_WEBPRESENCE_SUB_BOTH) &&
         push(out, presence_to(bare, "subscribe")))) {
        xb_webpresence_out_free(out);
        free_reg(fresh);
        return XB_ENOMEM;
    }
    record_of(fresh ? fresh : r, &rec);
    rec.show_status_msg = status;
    rec.show_full_jid = jid;
    if (wp->cfg.store && wp->cfg.store->put &&
        wp->cfg.store->put(wp->cfg.store_ud, &rec)) {
        free_reg(fresh);
        return answer_error(iq, out, "internal-server-error", "wait",
                            "could not store the registration");
    }
    if (fresh) {
        insert_reg(wp, fresh);
        r = fresh;
    }
    r->show_status_msg = status;
    r->show_full_jid = jid;
    if (r->sub == XB_WEBPRESENCE_SUB_NONE)
        r->sub = XB_WEBPRESENCE_SUB_PENDING;
    changed(wp, r->token);
    return 1;
}

static int register_iq(struct xb_webpresence *wp, const struct xb_stanza *iq,
                       const struct xb_stanza *q, int set,
                       struct xb_webpresence_out *out)
{
    const char *from = xb_stanza_attr(iq, NULL, "from");
    const struct xb_stanza *c, *one = NULL;
    struct xb_jid jid;
    struct reg *r;
    int rc, n = 0;

    if (!from || xb_jid_parse(&jid, from, strlen(from), NULL))
        return answer_error(iq, out, "bad-request", "modify",
                            "no valid sender");
    r = find_jid(wp, jid.bare);
    if (!set) {
        rc = register_get(wp, iq, r, out);
        xb_jid_clear(&jid);
        return rc;
    }
    for (c = xb_stanza_child(q, NULL, NULL); c;
         c = xb_stanza_next_child(c, NULL, NULL)) {
        one = c;
        n++;
    }
    if (n == 1 && xb_stanza_is(one, XB_NS_REGISTER, "remove"))
        rc = register_remove(wp, iq, r, out);
    else if (n == 1 && xb_stanza_is(one, XB_NS_DATA, "x"))
        rc = register_set(wp, iq, jid.bare, r, one, out);
    else
        rc = answer_error(iq, out, "bad-request", "modify",
                          "expected a data form or <remove/> alone");
    xb_jid_clear(&jid);
    return rc;
}

int xb_webpresence_iq(struct xb_webpresence *wp, const struct xb_stanza *iq,
                      struct xb_webpresence_out *out)
{
    const char *type = xb_stanza_attr(iq, NULL, "type");
    const struct xb_stanza *q;
    int get, set;

    assert(out->n == 0);
    if (!xb_stanza_is(iq, NULL, "iq") || !type)
        return 0;
    get = strcmp(type, "get") == 0;
    set = strcmp(type, "set") == 0;
    if (!get && !set)
        return 0;
    q = xb_iq_payload(iq);
    if (!q)
        return answer_error(iq, out, "bad-request", "modify",
                            "an IQ request has exactly one payload");
    if (get && xb_stanza_is(q, XB_NS_DISCO_INFO, "query"))
        return disco_info(iq, q, out);
    if (get && xb_stanza_is(q, XB_NS_DISCO_ITEMS, "query"))
        return disco_items(iq, q, out);
    if (xb_stanza_is(q, XB_NS_REGISTER, "query"))
        return register_iq(wp, iq, q, set, out);
    return 0;
}

/* --- presence ------------------------------------------------------------ */

static enum xb_webpresence_show parse_show(const char *s)
{
    if (!s)
        return XB_WEBPRESENCE_ONLINE;
    if (strcmp(s, "chat") == 0)
        return XB_WEBPRESENCE_CHAT;
    if (strcmp(s, "away") == 0)
        return XB_WEBPRESENCE_AWAY;
    if (strcmp(s, "xa") == 0)
        return XB_WEBPRESENCE_XA;
    if (strcmp(s, "dnd") == 0)
        return XB_WEBPRESENCE_DND;
    return XB_WEBPRESENCE_ONLINE; /* RFC 6121 4.7.2.1 allows no other */
}

/* -128..127 (RFC 6121 4.7.2.3); anything else is 0. */
static int parse_priority(const char *s)
{
    char *end;
    long v;

    if (!s || !*s)
        return 0;
    v = strtol(s, &end, 10);
    if (*end || v < -128 || v > 127)
        return 0;
    return (int)v;
}

/* The <status/> to show: the first without xml:lang, else the first. */
static const char *pick_status(const struct xb_stanza *pres, size_t *len)
{
    const char *ns = xb_stanza_ns(pres);
    const struct xb_stanza *c, *first = NULL;
    const char *s;

    for (c = xb_stanza_child(pres, ns, "status"); c;
         c = xb_stanza_next_child(c, ns, "status")) {
        if (!first)
            first = c;
        if (!xb_stanza_attr(c, XB_NS_XML, "lang")) {
            first = c;
            break;
        }
    }
    if (!first || !(s = xb_stanza_text(first, len)) || !*len)
        return NULL;
    return s;
}

/* Cuts len back to at most max bytes on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    len = max;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
        len--;
    return len;
}

static struct res **find_res(struct reg *r, const char *name)
{
    struct res **p;

    for (p = &r->res; *p; p = &(*p)->next)
        if (strcmp((*p)->name, name) == 0)
            return p;
    return NULL;
}

static void drop_res(struct reg *r, struct res **p)
{
    struct res *s = *p;

    *p = s->next;
    free_res(s);
    r->nres--;
}

static int update_res(struct xb_webpresence *wp, struct reg *r,
                      const char *name, const struct xb_stanza *pres)
{
    const char *ns = xb_stanza_ns(pres);
    struct res **p = find_res(r, name), *s, **oldest;
    const char *status;
    char *copy = NULL;
    size_t len = 0, n;

    status = pick_status(pres, &len);
    if (status) {
        len = utf8_cut(status, len, wp->cfg.max_status);
        if (!(copy = malloc(len + 1)))
            return XB_ENOMEM;
        memcpy(copy, status, len);
        copy[len] = '\0';
    }
    if (p) {
        s = *p;
    } else {
        n = strlen(name);
        if (!(s = calloc(1, sizeof *s + n + 1))) {
            free(copy);
            return XB_ENOMEM;
        }
        memcpy(s->name, name, n + 1);
        if (r->nres >= wp->cfg.max_resources) {
            for (oldest = p = &r->res; *p; p = &(*p)->next)
                if ((*p)->seq < (*oldest)->seq)
                    oldest = p;
            drop_res(r, oldest);
        }
        s->next = r->res;
        r->res = s;
        r->nres++;
    }
    free(s->status);
    s->status = copy;
    s->status_len = copy ? len : 0;
    s->show = parse_show(xb_stanza_child_text(pres, ns, "show"));
    s->priority = parse_priority(xb_stanza_child_text(pres, ns, "priority"));
    s->seq = ++wp->seq;
    return 0;
}

/* unavailable or error: that resource gone, or all from the bare JID. */
static int drop_presence(struct reg *r, const char *resource)
{
    struct res **p;

    if (!resource) {
        if (!r->res)
            return 0;
        forget_presence(r);
        return 1;
    }
    p = find_res(r, resource);
    if (!p)
        return 0;
    drop_res(r, p);
    return 1;
}

int xb_webpresence_presence(struct xb_webpresence *wp,
                            const struct xb_stanza *pres,
                            struct xb_webpresence_out *out)
{
    const char *from = xb_stanza_attr(pres, NULL, "from");
    const char *type = xb_stanza_attr(pres, NULL, "type");
    struct xb_jid jid;
    struct reg *r;
    int rc = 0;

    assert(out->n == 0);
    if (!xb_stanza_is(pres, NULL, "presence") || !from ||
        xb_jid_parse(&jid, from, strlen(from), NULL))
        return 0;
    r = find_jid(wp, jid.bare);
    if (!r) {
        if (type && (!strcmp(type, "subscribe") || !strcmp(type, "probe")))
            rc = push(out, presence_to(jid.bare, "unsubscribed")) ? XB_ENOMEM
                                                                  : 1;
    } else if (!type) {
        rc = update_res(wp, r, jid.resource ? jid.resource : "", pres);
        if (rc == 0) {
            rc = 1;
            changed(wp, r->token);
        }
    } else if (!strcmp(type, "unavailable") || !strcmp(type, "error")) {
        if ((rc = drop_presence(r, jid.resource)))
            changed(wp, r->token);
    } else if (!strcmp(type, "subscribed")) {
        r->sub = XB_WEBPRESENCE_SUB_BOTH;
        rc = 1;
    } else if (!strcmp(type, "unsubscribed") || !strcmp(type, "unsubscribe")) {
        r->sub = XB_WEBPRESENCE_SUB_NONE;
        forget_presence(r);
        changed(wp, r->token);
        rc = 1;
    } else if (!strcmp(type, "subscribe")) {
        if (push(out, presence_to(r->jid, "subscribed")) ||
            push(out, presence_to(r->jid, NULL))) {
            xb_webpresence_out_free(out);
            rc = XB_ENOMEM;
        } else {
            rc = 1;
        }
    } else if (!strcmp(type, "probe")) {
        rc = push(out, presence_to(r->jid, NULL)) ? XB_ENOMEM : 1;
    }
    xb_jid_clear(&jid);
    return rc;
}

/* --- rendering ----------------------------------------------------------- */

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/*
 * Walks len bytes of s one character at a time: fn gets each character's
 * bytes, or U+FFFD in place of bytes that are not valid UTF-8 or not an
 * XML character, so that no renderer ever passes on malformed text.
 * Returns fn's first error.
 */
static int each_char(struct xb_buf *out, const char *s, size_t len,
                     int (*fn)(struct xb_buf *, const char *, size_t, uint32_t))
{
    uint32_t cp;
    size_t n;
    int rc;

    while (len) {
        n = xb_utf8_decode(s, len, &cp);
        if (!n || !xb_utf8_xml_char(cp))
            rc = fn(out, REPLACEMENT, 3, 0xFFFD);
        else
            rc = fn(out, s, n, cp);
        if (rc)
            return rc;
        if (!n)
            n = 1;
        s += n;
        len -= n;
    }
    return 0;
}

/* HTML and XML (SVG): text and attribute values alike. */
static int markup_char(struct xb_buf *out, const char *s, size_t n, uint32_t cp)
{
    switch (cp) {
    case '&':
        return xb_buf_puts(out, "&amp;");
    case '<':
        return xb_buf_puts(out, "&lt;");
    case '>':
        return xb_buf_puts(out, "&gt;");
    case '"':
        return xb_buf_puts(out, "&quot;");
    case '\'':
        return xb_buf_puts(out, "&#39;");
    default:
        return xb_buf_append(out, s, n);
    }
}

static int markup(struct xb_buf *out, const char *s, size_t len)
{
    return each_char(out, s, len, markup_char);
}

static int json_char(struct xb_buf *out, const char *s, size_t n, uint32_t cp)
{
    char esc[8];

    switch (cp) {
    case '"':
        return xb_buf_puts(out, "\\\"");
    case '\\':
        return xb_buf_puts(out, "\\\\");
    case '\n':
        return xb_buf_puts(out, "\\n");
    case '\r':
        return xb_buf_puts(out, "\\r");
    case '\t':
        return xb_buf_puts(out, "\\t");
    case '<':
    case '>':
    case '&':
    case '\'':
    case 0x2028:
    case 0x2029:
        snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
        return xb_buf_puts(out, esc);
    default:
        if (cp < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            return xb_buf_puts(out, esc);
        }
        return xb_buf_append(out, s, n);
    }
}

static int json_string(struct xb_buf *out, const char *s, size_t len)
{
    if (xb_buf_puts(out, "\""))
        return XB_ENOMEM;
    if (each_char(out, s, len, json_char))
        return XB_ENOMEM;
    return xb_buf_puts(out, "\"");
}

int xb_webpresence_html(struct xb_buf *out, const struct xb_webpresence_view *v)
{
    const char *name = xb_webpresence_show_name(v->show);
    const char *label = xb_webpresence_show_label(v->show);
    char refresh[80];
    size_t old = out->len;
    int rc;

    snprintf(refresh, sizeof refresh,
             "<meta http-equiv=\"refresh\" content=\"%u\">\n", v->refresh);
    rc = xb_buf_puts(out,
                     "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                     "<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, "
                     "initial-scale=1\">\n"
                     "<meta name=\"robots\" content=\"noindex\">\n") ||
         (v->refresh && xb_buf_puts(out, refresh)) ||
         xb_buf_puts(out, "<title>Web presence: ") || xb_buf_puts(out, label) ||
         xb_buf_puts(out,
                     "</title>\n<style>\n"
                     "body{font:1rem/1.4 system-ui,sans-serif;margin:.5rem;"
                     "color:#222;background:#fff}\n"
                     ".dot{display:inline-block;width:.8em;height:.8em;"
                     "border-radius:50%;margin-right:.4em}\n"
                     ".chat,.online{background:#1a7f37}.dnd{background:#c62828}"
                     ".away{background:#b26a00}.xa{background:#8d5a00}"
                     ".offline{background:#757575}\n"
                     ".status{white-space:pre-wrap;overflow-wrap:anywhere;"
                     "margin:.3rem 0 0}\n"
                     "</style>\n</head>\n<body>\n<main>\n"
                     "<p class=\"presence\" role=\"status\" "
                     "aria-live=\"polite\"><span class=\"dot ") ||
         xb_buf_puts(out, name) ||
         xb_buf_puts(out, "\" aria-hidden=\"true\"></span>");
    if (!rc && v->jid)
        rc = xb_buf_puts(out, "<bdi class=\"jid\">") ||
             markup(out, v->jid, strlen(v->jid)) ||
             xb_buf_puts(out, "</bdi> is ");
    else if (!rc)
        rc = xb_buf_puts(out, "Presence: ");
    if (!rc)
        rc = xb_buf_puts(out, "<strong class=\"show\" data-show=\"") ||
             xb_buf_puts(out, name) || xb_buf_puts(out, "\">") ||
             xb_buf_puts(out, label) || xb_buf_puts(out, "</strong></p>\n");
    if (!rc && v->status)
        rc = xb_buf_puts(out, "<p class=\"status\"><bdi>") ||
             markup(out, v->status, v->status_len) ||
             xb_buf_puts(out, "</bdi></p>\n");
    if (!rc)
        rc = xb_buf_puts(out, "</main>\n</body>\n</html>\n");
    if (rc) {
        out->len = old;
        if (out->data)
            out->data[old] = '\0';
        return XB_ENOMEM;
    }
    return 0;
}

int xb_webpresence_json(struct xb_buf *out, const struct xb_webpresence_view *v)
{
    const char *name = xb_webpresence_show_name(v->show);
    const char *label = xb_webpresence_show_label(v->show);
    size_t old = out->len;
    int rc;

    rc = xb_buf_puts(out, "{\"show\":") ||
         json_string(out, name, strlen(name)) ||
         xb_buf_puts(out, ",\"label\":") ||
         json_string(out, label, strlen(label));
    if (!rc && v->status)
        rc = xb_buf_puts(out, ",\"status\":") ||
             json_string(out, v->status, v->status_len);
    if (!rc && v->jid)
        rc = xb_buf_puts(out, ",\"jid\":") ||
             json_string(out, v->jid, strlen(v->jid));
    if (!rc)
        rc = xb_buf_puts(out, "}\n");
    if (rc) {
        out->len = old;
        if (out->data)
            out->data[old] = '\0';
        return XB_ENOMEM;
    }
    return 0;
}

#define BADGE_CHARS 40 /* characters of JID or status on a badge */
#define BADGE_CHAR_PX 7
#define BADGE_PAD_PX 12

/* Up to BADGE_CHARS characters of s (len bytes), "…" if cut; appends
 * the escaped text to out and returns the characters written, or -1. */
static long badge_text(struct xb_buf *out, const char *s, size_t len)
{
    uint32_t cp;
    size_t n, i = 0, chars = 0;

    while (i < len && chars < BADGE_CHARS) {
        n = xb_utf8_decode(s + i, len - i, &cp);
        if (!n || !xb_utf8_xml_char(cp)) {
            if (xb_buf_puts(out, REPLACEMENT))
                return -1;
            n = n ? n : 1;
        } else if (markup_char(out, s + i, n, cp)) {
            return -1;
        }
        i += n;
        chars++;
    }
    if (i < len) {
        if (xb_buf_puts(out, "\xE2\x80\xA6")) /* U+2026 */
            return -1;
        chars++;
    }
    return (long)chars;
}

static const char *badge_color(enum xb_webpresence_show show)
{
    switch (show) {
    case XB_WEBPRESENCE_CHAT:
    case XB_WEBPRESENCE_ONLINE:
        return "#1a7f37";
    case XB_WEBPRESENCE_DND:
        return "#c62828";
    case XB_WEBPRESENCE_AWAY:
        return "#b26a00";
    case XB_WEBPRESENCE_XA:
        return "#8d5a00";
    default:
        return "#757575";
    }
}

int xb_webpresence_svg(struct xb_buf *out, const struct xb_webpresence_view *v)
{
    const char *label = xb_webpresence_show_label(v->show);
    struct xb_buf left, right;
    long lc, rc_chars;
    unsigned lw, rw;
    char geo[512];
    size_t old = out->len;
    int rc = XB_ENOMEM;

    /* The escaped texts first: their lengths set the widths. */
    xb_buf_init(&left);
    xb_buf_init(&right);
    lc = v->jid ? badge_text(&left, v->jid, strlen(v->jid))
                : badge_text(&left, "presence", 8);
    rc_chars = badge_text(&right, label, strlen(label));
    if (lc < 0 || rc_chars < 0)
        goto done;
    if (v->status) {
        long sc;

        if (xb_buf_puts(&right, ": ") ||
            (sc = badge_text(&right, v->status, v->status_len)) < 0)
            goto done;
        rc_chars += 2 + sc;
    }
    lw = (unsigned)lc * BADGE_CHAR_PX + BADGE_PAD_PX;
    rw = (unsigned)rc_chars * BADGE_CHAR_PX + BADGE_PAD_PX;
    snprintf(geo, sizeof geo,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
             "height=\"20\" role=\"img\" aria-label=\"",
             lw + rw);
    if (xb_buf_puts(out, geo) || xb_buf_append(out, left.data, left.len) ||
        xb_buf_puts(out, ": ") || xb_buf_append(out, right.data, right.len) ||
        xb_buf_puts(out, "\">\n<title>") ||
        xb_buf_append(out, left.data, left.len) || xb_buf_puts(out, ": ") ||
        xb_buf_append(out, right.data, right.len) ||
        xb_buf_puts(out, "</title>\n"))
        goto done;
    snprintf(geo, sizeof geo,
             "<rect width=\"%u\" height=\"20\" fill=\"#555\"/>\n"
             "<rect x=\"%u\" width=\"%u\" height=\"20\" fill=\"%s\"/>\n"
             "<g fill=\"#fff\" font-family=\"Verdana,DejaVu Sans,sans-serif\" "
             "font-size=\"11\">\n<text x=\"%u\" y=\"14\">",
             lw, lw, rw, badge_color(v->show), BADGE_PAD_PX / 2);
    if (xb_buf_puts(out, geo) || xb_buf_append(out, left.data, left.len))
        goto done;
    snprintf(geo, sizeof geo, "</text>\n<text x=\"%u\" y=\"14\">",
             lw + BADGE_PAD_PX / 2);
    if (xb_buf_puts(out, geo) || xb_buf_append(out, right.data, right.len) ||
        xb_buf_puts(out, "</text>\n</g>\n</svg>\n"))
        goto done;
    rc = 0;
done:
    xb_buf_free(&left);
    xb_buf_free(&right);
    if (rc) {
        out->len = old;
        if (out->data)
            out->data[old] = '\0';
    }
    return rc;
}
