/*
 * The farm's web server (--http): H2O on the farm's libuv loop, serving
 * the pages of bots whose kind has an http hook. With one such bot its
 * pages are at the root ("/TOKEN"); with several, each bot's under its
 * bare JID ("/gw1@example.org/TOKEN"). GET and HEAD only; H2O parses the
 * requests, the kind writes the pages.
 */
#ifndef XB_CLI_HTTP_H
#define XB_CLI_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include <uv.h>

#include "bot.h"

struct http;

/* Parses "ADDR:PORT" (an IPv4 literal, or an IPv6 one in brackets; a
 * port from 1 to 65535) into addr. 0 or -1. */
int http_parse_addr(const char *s, struct sockaddr_storage *addr);

/*
 * Listens on listen (see http_parse_addr) on loop for the pages of nbots
 * bots, whose addresses start with url ("https://example.org/presence/";
 * NULL: "http://" listen "/"; copied, a '/' added if missing). NULL on
 * failure with one line in err (a bad address, the port in use). Free
 * with http_free().
 */
struct http *http_new(uv_loop_t *loop, const char *listen, const char *url,
                      unsigned nbots, char *err, size_t errlen);

/* Bot i will have JID jid: computes the address of its pages, before the
 * bot is created (its kind's init asks for it). 0, or -1 on OOM. */
int http_add(struct http *h, unsigned i, const char *jid);

/* The address of bot i's pages (after http_add), ending in '/'; borrowed
 * until http_free() (the bot host's http_url). */
const char *http_url(const struct http *h, unsigned i);

/* Bot i exists: its pages are served. bot is borrowed until http_free(). */
void http_bind(struct http *h, unsigned i, struct xb_bot *bot);

/* Every bot was added and bound: indexes their addresses. 0, or -1 with
 * one line in err (OOM, two bots at one address). */
int http_start(struct http *h, char *err, size_t errlen);

/* The farm stops: closes the listener and makes H2O close every
 * connection, so that the loop can end. Repeating it does nothing. */
void http_close(struct http *h);

/* Frees everything, after the loop ended (or before it ran). Disposing
 * of H2O's context runs the loop once, to finish closing its handles.
 * NULL is allowed. */
void http_free(struct http *h);

#endif
