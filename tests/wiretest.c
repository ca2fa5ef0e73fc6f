/*
 * The wire side of the stream tests (see wiretest.h).
 */
#include "wiretest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serialize.h"

/* The parser's view of a take: the wrapping header is not counted. */
struct reader {
    struct wt_out *out;
    int wrapping;
};

void wt_init(struct wt_wire *w, const char *ns, const char *who,
             int (*feed)(const char *data, size_t len))
{
    memset(w, 0, sizeof *w);
    w->ns = ns;
    w->who = who;
    w->feed = feed;
    w->split = TU_WHOLE;
    w->rng = tu_seed();
    xb_buf_init(&w->sent);
    xb_buf_init(&w->trace);
}

void wt_free(struct wt_wire *w)
{
    xb_buf_free(&w->sent);
    xb_buf_free(&w->trace);
}

void wt_write(struct wt_wire *w, const char *data, size_t len)
{
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(xb_buf_append(&w->sent, data, len), 0);
}

void wt_trace(struct wt_wire *w, char dir, const char *data, size_t len)
{
    char d[2] = {dir, ' '};

    ck_assert(dir == '<' || dir == '>');
    ck_assert_int_eq(xb_buf_append(&w->trace, d, 2), 0);
    ck_assert_int_eq(xb_buf_append(&w->trace, data, len), 0);
    ck_assert_int_eq(xb_buf_puts(&w->trace, "\n"), 0);
    w->ntrace++;
}

int wt_feed_n(struct wt_wire *w, const char *data, size_t len)
{
    size_t off = 0, n;
    int rc;

    while (off < len) {
        n = len - off;
        if (w->split == TU_BYTES)
            n = 1;
        else if (w->split == TU_RANDOM && n > 1)
            n = 1 + tu_rand(&w->rng) % (n < 24 ? n : 24);
        rc = w->feed(data + off, n);
        if (rc)
            return rc;
        off += n;
    }
    return 0;
}

int wt_feed(struct wt_wire *w, const char *xml)
{
    return wt_feed_n(w, xml, strlen(xml));
}

void wt_says(struct wt_wire *w, const char *xml)
{
    ck_assert_int_eq(wt_feed(w, xml), 0);
}

void wt_out_clear(struct wt_out *out)
{
    int i;

    for (i = 0; i < out->nel; i++)
        xb_stanza_free(out->el[i]);
    free(out->text);
    memset(out, 0, sizeof *out);
}

const char *wt_take_raw(struct wt_wire *w, struct wt_out *out)
{
    size_t n = w->sent.len - w->seen;

    wt_out_clear(out);
    out->text = malloc(n + 1);
    ck_assert_ptr_nonnull(out->text);
    if (n)
        memcpy(out->text, w->sent.data + w->seen, n);
    out->text[n] = '\0';
    w->seen = w->sent.len;
    return out->text;
}

static void on_open(void *ud, const struct xb_stream_header *h)
{
    struct reader *r = ud;
    struct wt_out *out = r->out;

    if (r->wrapping)
        return;
    out->headers++;
    snprintf(out->to, sizeof out->to, "%s", h->to ? h->to : "(none)");
    snprintf(out->version, sizeof out->version, "%s",
             h->version ? h->version : "(none)");
    snprintf(out->content_ns, sizeof out->content_ns, "%s",
             h->content_ns ? h->content_ns : "(none)");
}

static void on_stanza(void *ud, struct xb_stanza *st)
{
    struct wt_out *out = ((struct reader *)ud)->out;

    if (out->nel < WT_MAX_OUT)
        out->el[out->nel++] = st;
    else
        xb_stanza_free(st);
}

static void on_close(void *ud)
{
    ((struct reader *)ud)->out->closes++;
}

void wt_take(struct wt_wire *w, struct wt_out *out)
{
    static const struct xb_parser_hooks ph = {on_open, on_stanza, on_close};
    struct reader r = {out, 0};
    struct xb_parser *p;
    char wrap[160];
    const char *text = wt_take_raw(w, out);
    size_t n = strlen(text);
    int rc = 0;

    if (!n)
        return;
    p = xb_parser_new(&ph, &r, NULL, 0);
    ck_assert_ptr_nonnull(p);
    if (strncmp(text, "<?xml", 5) && strncmp(text, "<stream:stream ", 15)) {
        snprintf(wrap, sizeof wrap,
                 "<stream:stream xmlns='%s' xmlns:stream='" XB_NS_STREAMS "'>",
                 w->ns);
        r.wrapping = 1;
        rc = xb_parser_feed(p, wrap, strlen(wrap));
        r.wrapping = 0;
    }
    if (!rc)
        rc = xb_parser_feed(p, text, n);
    xb_parser_free(p);
    ck_assert_msg(rc == 0, "the %s wrote bad XML: %s", w->who, text);
}

void wt_assert_stream_error(struct wt_wire *w, struct wt_out *out,
                            enum xb_cond cond)
{
    const struct xb_stanza *c;

    wt_take(w, out);
    ck_assert_int_eq(out->nel, 1);
    ck_assert(xb_stanza_is(out->el[0], XB_NS_STREAMS, "error"));
    c = xb_stanza_child(out->el[0], NULL, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert(xb_stanza_is(c, XB_NS_STREAM_ERRORS, xb_cond_name(cond)));
    ck_assert_int_eq(out->closes, 1);
}

void wt_assert_has(const char *hay, const char *needle)
{
    ck_assert_msg(strstr(hay, needle) != NULL, "\"%s\" not in \"%s\"", needle,
                  hay);
}

void wt_assert_lacks(const char *hay, const char *needle)
{
    ck_assert_msg(strstr(hay, needle) == NULL, "\"%s\" found in \"%s\"", needle,
                  hay);
}

void wt_assert_attr(const struct xb_stanza *st, const char *name,
                    const char *want)
{
    ck_assert_pstr_eq(xb_stanza_attr(st, NULL, name), want);
}

void wt_assert_xml(const struct xb_stanza *st, const char *default_ns,
                   const char *want)
{
    struct xb_buf b;
    char got[1024];

    xb_buf_init(&b);
    ck_assert_int_eq(xb_serialize(&b, st, default_ns), 0);
    snprintf(got, sizeof got, "%s", b.data);
    /* Freed before asserting: under CK_FORK=no a failure must not leak. */
    xb_buf_free(&b);
    ck_assert_str_eq(got, want);
}
