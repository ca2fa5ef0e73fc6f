/*
 * The farm's web server (http.h) on H2O 2.2 built with libuv: the farm's
 * loop accepts the connections and hands each to H2O, which parses the
 * requests (HTTP/1.1 only), calls on_req for each, and writes and closes.
 * A request's path selects a bot (the root, or its bare JID) and the rest
 * goes to the bot's kind as raw bytes; the kind's page goes out as it is.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <h2o.h>

#include "error.h"
#include "http.h"

/* Connections served at once; more are accepted and closed at once, so
 * that a flood costs neither memory nor file descriptors beyond this. */
#define MAX_CONNS 512
/* Bytes of request body H2O reads before it answers 413: no page takes
 * one, but a POST with a small form must still get its 405. */
#define MAX_BODY (16 * 1024)

/* One accepted connection: its TCP handle, which H2O's socket owns once
 * accepted and closes (H2O's close callback is then on_conn_closed). */
struct hconn {
    uv_tcp_t tcp; /* first: the close callback gets its address */
    struct http *h;
    struct hconn *prev, *next;
};

/* Bot i's pages: their address (the base, then its bare JID and '/' when
 * the farm has several bots), and the bot once it exists. */
struct site {
    char *url;
    struct xb_bot *bot;
};

struct handler {
    h2o_handler_t super;
    struct http *h;
};

struct http {
    uv_loop_t *loop;
    uv_tcp_t listener;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    char *base; /* the public address, ending in '/' */
    size_t base_len;
    unsigned n;
    struct site *sites;   /* bot i's at i */
    struct site **sorted; /* by address, for lookups (n > 1) */
    struct hconn *conns;
    unsigned nconns;
    unsigned char has_listener, has_ctx, closing;
};

/* --- addresses ------------------------------------------------------------ */

int http_parse_addr(const char *s, struct sockaddr_storage *addr)
{
    char host[64], *end;
    const char *colon;
    unsigned long port;
    size_t n;
    int v6 = s[0] == '[';

    colon = v6 ? strstr(s, "]:") : strrchr(s, ':');
    if (!colon)
        return -1;
    n = (size_t)(colon - s) - (size_t)v6;
    if (n == 0 || n >= sizeof host)
        return -1;
    memcpy(host, s + v6, n);
    host[n] = '\0';
    colon += v6; /* at the ':' */
    if (colon[1] < '0' || colon[1] > '9')
        return -1;
    port = strtoul(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return -1;
    memset(addr, 0, sizeof *addr);
    if (v6)
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)addr) ? -1
                                                                         : 0;
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)addr) ? -1 : 0;
}

/* Characters a JID keeps in a path; the rest is percent-encoded. */
static int plain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~' || c == '@';
}

int http_add(struct http *h, unsigned i, const char *jid)
{
    size_t bare = strcspn(jid, "/"), k, n = h->base_len + 1;
    char *url, *p;

    if (h->n == 1) { /* the only bot: at the root */
        h->sites[i].url = strdup(h->base);
        return h->sites[i].url ? 0 : -1;
    }
    for (k = 0; k < bare; k++)
        n += plain_char((unsigned char)jid[k]) ? 1 : 3;
    url = malloc(n + 1);
    if (!url)
        return -1;
    memcpy(url, h->base, h->base_len);
    for (p = url + h->base_len, k = 0; k < bare; k++) {
        unsigned char c = (unsigned char)jid[k];

        if (plain_char(c))
            *p++ = (char)c;
        else
            p += sprintf(p, "%%%02X", c);
    }
    strcpy(p, "/");
    h->sites[i].url = url;
    return 0;
}

const char *http_url(const struct http *h, unsigned i)
{
    return h->sites[i].url;
}

void http_bind(struct http *h, unsigned i, struct xb_bot *bot)
{
    h->sites[i].bot = bot;
}

/* Orders a path segment (len bytes) against a site's address after the
 * base (its segment, then '/'). */
static int seg_cmp(const char *seg, size_t len, const char *tail)
{
    size_t n = strlen(tail) - 1;
    int c = memcmp(seg, tail, len < n ? len : n);

    return c ? c : (len > n) - (len < n);
}

/* Every address starts with the same base: comparing them whole orders
 * them as their segments. */
static int site_cmp(const void *a, const void *b)
{
    const char *ua = (*(struct site *const *)a)->url,
               *ub = (*(struct site *const *)b)->url;

    return seg_cmp(ua, strlen(ua) - 1, ub);
}

int http_start(struct http *h, char *err, size_t errlen)
{
    unsigned i;

    if (h->n == 1)
        return 0;
    h->sorted = malloc(h->n * sizeof *h->sorted);
    if (!h->sorted) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < h->n; i++)
        h->sorted[i] = &h->sites[i];
    qsort(h->sorted, h->n, sizeof *h->sorted, site_cmp);
    for (i = 1; i < h->n; i++)
        if (!site_cmp(&h->sorted[i - 1], &h->sorted[i])) {
            snprintf(err, errlen, "two bots have their pages at %.400s",
                     h->sorted[i]->url);
            return -1;
        }
    return 0;
}

/* The bot whose pages path (len bytes) is under, and in *skip the bytes
 * of the path that name it; NULL if none. */
static struct xb_bot *find_bot(const struct http *h, const char *path,
                               size_t len, size_t *skip)
{
    const char *seg, *end;
    size_t lo = 0, hi = h->n, mid, seglen;
    int c;

    if (len == 0 || path[0] != '/')
        return NULL;
    if (h->n == 1) {
        *skip = 1;
        return h->sites[0].bot;
    }
    seg = path + 1;
    end = memchr(seg, '/', len - 1);
    if (!end)
        return NULL;
    seglen = (size_t)(end - seg);
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = seg_cmp(seg, seglen, h->sorted[mid]->url + h->base_len);
        if (c == 0) {
            *skip = seglen + 2;
            return h->sorted[mid]->bot;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* --- requests ------------------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 410:
        return "Gone";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

/* The kind's page as it is: status, type, every header, the body (none
 * for HEAD; H2O takes care of that). */
static void send_page(h2o_req_t *req, const struct xb_bot_page *page)
{
    const char *const *hd;

    req->res.status = page->status >= 100 && page->status <= 599
                          ? page->status
                          : 500; /* a kind's bug: never a broken line */
    req->res.reason = reason(req->res.status);
    req->res.content_length = page->body.len;
    if (page->type)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                       NULL, page->type, strlen(page->type));
    /* Names and values are static (bot.h): H2O keeps the pointers. */
    for (hd = page->headers; hd && hd[0] && hd[1]; hd += 2)
        h2o_add_header_by_str(&req->pool, &req->res.headers, hd[0],
                              strlen(hd[0]), 0, NULL, hd[1], strlen(hd[1]));
    h2o_send_inline(req, page->body.len ? page->body.data : "", page->body.len);
}

static void send_not_found(h2o_req_t *req)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers,
                          H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_send_error_404(req, "Not Found", "No such page.\n",
                       H2O_SEND_ERROR_KEEP_HEADERS);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    const struct http *h = ((struct handler *)self)->h;
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len,
           skip = 0;
    struct xb_bot_page page;
    struct xb_bot *bot;
    int rc;

    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                       H2O_STRLIT("GET, HEAD"));
        h2o_send_error_405(req, "Method Not Allowed",
                           "Only GET and HEAD are allowed here.\n",
                           H2O_SEND_ERROR_KEEP_HEADERS);
        return 0;
    }
    bot = find_bot(h, req->path.base, len, &skip);
    rc = bot ? xb_bot_http(bot, req->path.base + skip, len - skip, &page)
             : XB_ENOTFOUND;
    if (rc == 0)
        send_page(req, &page);
    else if (rc == XB_ENOTFOUND)
        send_not_found(req);
    else
        h2o_send_error_503(req, "Service Unavailable",
                           "Out of memory: try again later.\n", 0);
    if (bot)
        xb_buf_free(&page.body); /* send_inline copied it */
    return 0;
}

/* --- connections ---------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *hd)
{
    struct hconn *c = (struct hconn *)hd;
    struct http *h = c->h;

    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nconns--;
    free(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct http *h = listener->data;
    struct hconn *c;

    if (status < 0 || !(c = calloc(1, sizeof *c)))
        return;
    c->h = h;
    uv_tcp_init(h->loop, &c->tcp);
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->nconns++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) || h->nconns > MAX_CONNS ||
        h->closing) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    h2o_accept(&h->accept_ctx,
               h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed));
}

/* --- setup and shutdown --------------------------------------------------- */

/* H2O's context keeps handles on the loop for its whole life (a timer per
 * timeout, armed until its next expiry even when no connection needs it,
 * and the async of its thread queue, which H2O lays first in the queue).
 * Unreferenced, they no longer keep the farm's loop running when the farm
 * stops; http_free() closes them. */
static void unref_context(uv_handle_t *hd, void *arg)
{
    struct http *h = arg;
    const char *p = (const char *)hd, *ctx = (const char *)&h->ctx;

    if ((p >= ctx && p < ctx + sizeof h->ctx) ||
        hd == (uv_handle_t *)h->ctx.queue)
        uv_unref(hd);
}

static void start_h2o(struct http *h)
{
    h2o_hostconf_t *host;
    h2o_pathconf_t *path;
    struct handler *hd;

    h2o_config_init(&h->config);
    h->config.server_name = h2o_iovec_init(H2O_STRLIT("xmppbots"));
    h->config.max_request_entity_size = MAX_BODY;
    /* Pages need nothing of HTTP/2; without it H2O parses less. */
    h->config.http1.upgrade_to_http2 = 0;
    host = h2o_config_register_host(
        &h->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    path = h2o_config_register_path(host, "/", 0);
    hd = (struct handler *)h2o_create_handler(path, sizeof *hd);
    hd->super.on_req = on_req;
    hd->h = h;
    h2o_context_init(&h->ctx, h->loop, &h->config);
    h->has_ctx = 1;
    uv_walk(h->loop, unref_context, h);
    h->accept_ctx.ctx = &h->ctx;
    h->accept_ctx.hosts = h->config.hosts;
}

/* The listener. 0, or -1 with err written. */
static int listen_on(struct http *h, const char *listen, char *err,
                     size_t errlen)
{
    struct sockaddr_storage addr;
    int rc;

    if (http_parse_addr(listen, &addr)) {
        snprintf(err, errlen,
                 "--http needs ADDR:PORT (an IPv4 address, or an IPv6 one in "
                 "brackets), not '%.200s'",
                 listen);
        return -1;
    }
    uv_tcp_init(h->loop, &h->listener);
    h->listener.data = h;
    h->has_listener = 1;
    /* libuv may report a bind error only when listening. */
    rc = uv_tcp_bind(&h->listener, (struct sockaddr *)&addr, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&h->listener, SOMAXCONN, on_connection);
    if (rc) {
        snprintf(err, errlen, "cannot listen on %.200s: %s", listen,
                 uv_strerror(rc));
        return -1;
    }
    return 0;
}

struct http *http_new(uv_loop_t *loop, const char *listen, const char *url,
                      unsigned nbots, char *err, size_t errlen)
{
    struct http *h = calloc(1, sizeof *h);
    size_t n = url ? strlen(url) : strlen(listen) + 8;

    if (!h || !(h->base = malloc(n + 2)) ||
        !(h->sites = calloc(nbots, sizeof *h->sites))) {
        snprintf(err, errlen, "out of memory");
        http_free(h);
        return NULL;
    }
    if (url)
        snprintf(h->base, n + 2, "%s%s", url,
                 n && url[n - 1] == '/' ? "" : "/");
    else
        snprintf(h->base, n + 2, "http://%s/", listen);
    h->base_len = strlen(h->base);
    h->loop = loop;
    h->n = nbots;
    if (listen_on(h, listen, err, errlen)) {
        http_free(h);
        return NULL;
    }
    start_h2o(h);
    return h;
}

void http_close(struct http *h)
{
    struct hconn *c;
    uv_os_fd_t fd;

    if (!h || h->closing)
        return;
    h->closing = 1;
    uv_close((uv_handle_t *)&h->listener, NULL);
    /* H2O owns the sockets: shut down, each reads its end (or fails to
     * write) whatever it was doing, and H2O closes the connection. */
    for (c = h->conns; c; c = c->next)
        if (!uv_is_closing((uv_handle_t *)&c->tcp) &&
            !uv_fileno((uv_handle_t *)&c->tcp, &fd))
            shutdown(fd, SHUT_RDWR);
}

void http_free(struct http *h)
{
    unsigned i;

    if (!h)
        return;
    if (h->has_listener && !uv_is_closing((uv_handle_t *)&h->listener))
        uv_close((uv_handle_t *)&h->listener, NULL);
    if (h->has_ctx) {
        h2o_context_dispose(&h->ctx); /* runs the loop once: every close */
        h2o_config_dispose(&h->config);
    } else if (h->has_listener) {
        uv_run(h->loop, UV_RUN_NOWAIT); /* the listener's close */
    }
    for (i = 0; h->sites && i < h->n; i++)
        free(h->sites[i].url);
    free(h->sites);
    free(h->sorted);
    free(h->base);
    free(h);
}
