/*
 * The web presence gateway as a bot kind: the model of webpresence.h on
 * the bot API. The bot is a service at a domain (a component's, or a
 * Prosody component host): users register with it (XEP-0077), it follows
 * their presence, and the host serves each user's page through the http
 * hook. Registrations persist through the host's store hooks, one pair
 * per user: the bare JID, and "TOKEN S J" (the token, then 0 or 1 for
 * "show the status text" and "show the JID").
 */
#include "bot_int.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "webpresence.h"
#include "xmpp.h"

struct wp_settings {
    uint32_t refresh;       /* seconds between page reloads; 0: none */
    uint32_t max_users;     /* 0: no limit */
    uint32_t max_resources; /* per user */
    uint32_t max_status;    /* bytes of status text kept */
};

struct wp_bot {
    struct xb_bot base;
    struct xb_webpresence *wp;
    char *base_url; /* the host's http_url, copied */
    uint64_t registered, unregistered, presences, pages, not_found,
        store_failures; /* counters */
};

/* "TOKEN S J" */
#define VALUE_LEN (XB_WEBPRESENCE_TOKEN_LEN + 4)

/* --- the store, on the host's key/value hooks --------------------------- */

struct load_ctx {
    int (*add)(void *ctx, const struct xb_webpresence_record *r);
    void *ctx;
};

static int load_pair(void *ctx, const char *key, const char *value)
{
    struct load_ctx *lc = ctx;
    struct xb_webpresence_record r;
    char token[XB_WEBPRESENCE_TOKEN_LEN + 1];
    const char *flags;

    /* The length first: only then is flags inside the string. */
    if (strlen(value) != VALUE_LEN)
        return XB_EINVAL;
    flags = value + XB_WEBPRESENCE_TOKEN_LEN;
    if (flags[0] != ' ' || flags[2] != ' ' ||
        (flags[1] != '0' && flags[1] != '1') ||
        (flags[3] != '0' && flags[3] != '1'))
        return XB_EINVAL;
    memcpy(token, value, XB_WEBPRESENCE_TOKEN_LEN);
    token[XB_WEBPRESENCE_TOKEN_LEN] = '\0';
    r.jid = key;
    r.token = token;
    r.show_status_msg = flags[1] == '1';
    r.show_full_jid = flags[3] == '1';
    return lc->add(lc->ctx, &r); /* which checks the JID and the token */
}

static int store_load(void *ud,
                      int (*add)(void *ctx,
                                 const struct xb_webpresence_record *r),
                      void *ctx)
{
    struct wp_bot *w = ud;
    struct load_ctx lc = {add, ctx};

    return w->base.host->store_load(w->base.ud, load_pair, &lc);
}

static int store_put(void *ud, const struct xb_webpresence_record *r)
{
    struct wp_bot *w = ud;
    char value[VALUE_LEN + 1];
    int rc;

    memcpy(value, r->token, XB_WEBPRESENCE_TOKEN_LEN);
    value[XB_WEBPRESENCE_TOKEN_LEN] = ' ';
    value[XB_WEBPRESENCE_TOKEN_LEN + 1] = r->show_status_msg ? '1' : '0';
    value[XB_WEBPRESENCE_TOKEN_LEN + 2] = ' ';
    value[XB_WEBPRESENCE_TOKEN_LEN + 3] = r->show_full_jid ? '1' : '0';
    value[VALUE_LEN] = '\0';
    rc = w->base.host->store_put(w->base.ud, r->jid, value);
    if (rc) {
        w->store_failures++;
        xb_bot_logf(&w->base, XB_LOG_ERROR,
                    "%s: could not store the registration of %s: %s",
                    w->base.jid, r->jid, xb_strerror(rc));
    }
    return rc;
}

static int store_del(void *ud, const char *jid)
{
    struct wp_bot *w = ud;
    int rc = w->base.host->store_del(w->base.ud, jid);

    if (rc) {
        w->store_failures++;
        xb_bot_logf(&w->base, XB_LOG_ERROR,
                    "%s: could not delete the registration of %s: %s",
                    w->base.jid, jid, xb_strerror(rc));
    }
    return rc;
}

static const struct xb_webpresence_store host_store = {store_load, store_put,
                                                       store_del};

/* --- the kind -------------------------------------------------------------- */

static int wp_init(struct xb_bot *b, const void *cfg)
{
    struct wp_bot *w = (struct wp_bot *)b;
    const struct wp_settings *s = cfg;
    const struct xb_bot_host *h = b->host;
    const char *url = h->http_url ? h->http_url(b->ud) : NULL;
    struct xb_webpresence_config c = {0};
    int rc;

    if (!url) {
        xb_bot_logf(b, XB_LOG_ERROR,
                    "%s: the web presence gateway needs a host that serves "
                    "web pages",
                    b->jid);
        return XB_EINVAL;
    }
    if (!(w->base_url = strdup(url)))
        return XB_ENOMEM;
    c.base_url = w->base_url;
    c.max_registrations = s->max_users;
    c.max_resources = s->max_resources;
    c.max_status = s->max_status;
    c.refresh = s->refresh;
    if (h->store_load && h->store_put && h->store_del) {
        c.store = &host_store;
        c.store_ud = w;
    } else {
        xb_bot_logf(b, XB_LOG_WARN,
                    "%s: registrations are kept in memory only: the host "
                    "has no storage",
                    b->jid);
    }
    if (!(w->wp = xb_webpresence_new(&c)))
        return XB_ENOMEM;
    rc = xb_webpresence_load(w->wp);
    if (rc) {
        xb_bot_logf(b, XB_LOG_ERROR,
                    "%s: could not load the stored registrations: %s",
                    b->jid, xb_strerror(rc));
        return rc;
    }
    return 0;
}

static void wp_fini(struct xb_bot *b)
{
    struct wp_bot *w = (struct wp_bot *)b;

    xb_webpresence_free(w->wp);
    free(w->base_url);
}

/* Sends what the model produced, in order. */
static void send_out(struct xb_bot *b, struct xb_webpresence_out *out)
{
    unsigned i;

    for (i = 0; i < out->n; i++)
        xb_bot_send(b, out->st[i]);
    out->n = 0;
}

static int probe_one(void *ud, const struct xb_webpresence_record *r)
{
    xb_bot_send(ud, xb_webpresence_probe(r->jid));
    return 0;
}

/* A fresh start knows no one's presence: ask every registered user. */
static void wp_online(struct xb_bot *b)
{
    struct wp_bot *w = (struct wp_bot *)b;

    xb_webpresence_each(w->wp, probe_one, b);
}

static void wp_stanza(struct xb_bot *b, const struct xb_stanza *st)
{
    struct wp_bot *w = (struct wp_bot *)b;
    struct xb_webpresence_out out = {0};
    int rc;

    if (!xb_stanza_is(st, NULL, "presence"))
        return; /* messages: nothing to say */
    rc = xb_webpresence_presence(w->wp, st, &out);
    if (rc == XB_ENOMEM)
        xb_bot_logf(b, XB_LOG_ERROR, "%s: out of memory: a presence is lost",
                    b->jid);
    else if (rc == 1)
        w->presences++;
    send_out(b, &out);
}

static int wp_iq(struct xb_bot *b, const struct xb_stanza *iq)
{
    struct wp_bot *w = (struct wp_bot *)b;
    struct xb_webpresence_out out = {0};
    size_t before = xb_webpresence_count(w->wp), after;
    int rc = xb_webpresence_iq(w->wp, iq, &out);

    if (rc == XB_ENOMEM) {
        xb_bot_send(b, xb_xmpp_reply(iq, "resource-constraint", "wait"));
        return 1;
    }
    if (rc != 1)
        return 0;
    after = xb_webpresence_count(w->wp);
    if (after > before)
        w->registered++;
    else if (after < before)
        w->unregistered++;
    send_out(b, &out);
    return 1;
}

/* How a page may be used: anyone may embed it (that is its point), no
 * browser may guess another type, and the token in the address never
 * leaves in a Referer. */
static const char *const html_headers[] = {
    "Cache-Control", "no-cache",
    "Content-Security-Policy",
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'",
    "Referrer-Policy", "no-referrer",
    "X-Content-Type-Options", "nosniff",
    NULL};
static const char *const data_headers[] = {
    "Cache-Control", "no-cache",
    "Access-Control-Allow-Origin", "*",
    "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'",
    "Referrer-Policy", "no-referrer",
    "X-Content-Type-Options", "nosniff",
    NULL};
static const char *const missing_headers[] = {
    "Cache-Control", "no-store",
    "Referrer-Policy", "no-referrer",
    "X-Content-Type-Options", "nosniff",
    NULL};

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);

    return len >= n && !memcmp(s + len - n, suffix, n);
}

/* TOKEN (HTML), TOKEN.json, TOKEN.svg; anything else is not found. */
static int wp_http(struct xb_bot *b, const char *path, size_t len,
                   struct xb_bot_page *page)
{
    struct wp_bot *w = (struct wp_bot *)b;
    int (*render)(struct xb_buf *, const struct xb_webpresence_view *) =
        xb_webpresence_html;
    struct xb_webpresence_view v;

    page->type = "text/html; charset=utf-8";
    page->headers = html_headers;
    if (ends_with(path, len, ".json")) {
        len -= 5;
        render = xb_webpresence_json;
        page->type = "application/json";
        page->headers = data_headers;
    } else if (ends_with(path, len, ".svg")) {
        len -= 4;
        render = xb_webpresence_svg;
        page->type = "image/svg+xml";
        page->headers = data_headers;
    }
    if (xb_webpresence_view(w->wp, path, len, &v)) {
        w->not_found++;
        page->status = 404;
        page->type = "text/plain; charset=utf-8";
        page->headers = missing_headers;
        return xb_buf_puts(&page->body, "No such page.\n") ? XB_ENOMEM : 0;
    }
    if (render(&page->body, &v)) {
        xb_buf_free(&page->body); /* a failed page leaves nothing to free */
        return XB_ENOMEM;
    }
    w->pages++;
    page->status = 200;
    return 0;
}

static const char *wp_state(const struct xb_bot *b, char *buf, size_t size)
{
    (void)buf;
    (void)size;
    return b->online ? "serving" : "offline";
}

#define OFF(f) offsetof(struct wp_settings, f)

static const struct xb_bot_option wp_options[] = {
    {"refresh", "S",
     "seconds between reloads of the HTML page, so an open page follows "
     "presence (0: never)",
     XB_OPT_UINT, OFF(refresh), 5, 0, NULL, 0, 3600, 0},
    {"max_users", "N", "registrations accepted (0: no limit)", XB_OPT_UINT,
     OFF(max_users), 100000, 0, NULL, 0, 100000000, 0},
    {"max_resources", "N",
     "resources followed per user; the least recently updated gives way",
     XB_OPT_UINT, OFF(max_resources), 16, 0, NULL, 1, 1000, 0},
    {"max_status", "BYTES", "bytes of a status text kept (cut at a character)",
     XB_OPT_UINT, OFF(max_status), 1024, 0, NULL, 1, 65536, 0},
    {NULL}};

#define COFF(f) offsetof(struct wp_bot, f)

static const struct xb_bot_counter wp_counters[] = {
    {"registered", "users registered",
     "registrations accepted (a new user; changed options are not counted)",
     COFF(registered)},
    {"unregistered", "users unregistered", "registrations removed by users",
     COFF(unregistered)},
    {"presence_updates", "presence updates",
     "presence stanzas that changed what a page shows or were answered",
     COFF(presences)},
    {"pages_served", "pages served", "HTML, JSON and SVG pages served",
     COFF(pages)},
    {"pages_not_found", "pages not found",
     "page requests for a token that is no registration", COFF(not_found)},
    {"store_failures", "storage failures",
     "registrations the host's storage refused to write or delete (the "
     "user got internal-server-error, nothing changed)",
     COFF(store_failures)},
    {NULL}};

const struct xb_bot_kind xb_bot_webpresence = {
    .name = "webpresence",
    .summary = "a web page per registered user showing their presence",
    .size = sizeof(struct wp_bot),
    .config_size = sizeof(struct wp_settings),
    .options = wp_options,
    .counters = wp_counters,
    .init = wp_init,
    .online = wp_online,
    .stanza = wp_stanza,
    .iq = wp_iq,
    .state = wp_state,
    .fini = wp_fini,
    .http = wp_http,
    .flags = XB_KIND_SERVICE,
};
