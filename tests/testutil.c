/*
 * Shared test helpers (see testutil.h).
 */
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "serialize.h"

int tu_run(Suite *s)
{
    SRunner *sr;
    int failed;

    /* Table tests report every failing case in one message. */
    check_set_max_msg_size(16384);
    tu_seed();
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

unsigned tu_seed(void)
{
    static unsigned seed;
    static int done;
    const char *env;

    if (!done) {
        env = getenv("XB_TEST_SEED");
        seed = env ? (unsigned)strtoul(env, NULL, 0)
                   : (unsigned)time(NULL) ^ (unsigned)clock();
        if (seed == 0)
            seed = 1;
        fprintf(stderr, "random cuts: XB_TEST_SEED=%u\n", seed);
        done = 1;
    }
    return seed;
}

unsigned tu_rand(unsigned *state)
{
    unsigned x = *state ? *state : 1;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

const char *tu_split_name(enum tu_split split)
{
    switch (split) {
    case TU_WHOLE:
        return "whole";
    case TU_BYTES:
        return "byte by byte";
    case TU_RANDOM:
        return "random cuts";
    default:
        return "?";
    }
}

static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static void on_open(void *ud, const struct xb_stream_header *h)
{
    struct tu_result *res = ud;

    res->opens++;
    copy_field(res->from, sizeof res->from, h->from);
    copy_field(res->to, sizeof res->to, h->to);
    copy_field(res->id, sizeof res->id, h->id);
    copy_field(res->version, sizeof res->version, h->version);
    copy_field(res->lang, sizeof res->lang, h->lang);
    copy_field(res->content_ns, sizeof res->content_ns, h->content_ns);
}

static void on_stanza(void *ud, struct xb_stanza *st)
{
    struct tu_result *res = ud;

    if (res->nstanzas < TU_MAX_STANZAS)
        res->stanzas[res->nstanzas++] = st;
    else
        xb_stanza_free(st);
}

static void on_close(void *ud)
{
    ((struct tu_result *)ud)->closes++;
}

void tu_parse(struct tu_result *res, const char *data, size_t len,
              enum tu_split split, const struct xb_parser_limits *limits,
              unsigned flags)
{
    static const struct xb_parser_hooks hooks = {on_open, on_stanza, on_close};
    struct xb_parser *p;
    unsigned state = tu_seed();
    size_t off = 0, n;

    memset(res, 0, sizeof *res);
    p = xb_parser_new(&hooks, res, limits, flags);
    ck_assert_ptr_nonnull(p);
    while (off < len && res->rc == 0) {
        switch (split) {
        case TU_BYTES:
            n = 1;
            break;
        case TU_RANDOM:
            n = 1 + tu_rand(&state) % 64;
            break;
        default:
            n = len;
        }
        if (n > len - off)
            n = len - off;
        res->rc = xb_parser_feed(p, data + off, n);
        off += n;
    }
    res->cond = xb_parser_condition(p);
    copy_field(res->message, sizeof res->message, xb_parser_message(p));
    xb_parser_free(p);
}

void tu_result_free(struct tu_result *res)
{
    int i;

    for (i = 0; i < res->nstanzas; i++)
        xb_stanza_free(res->stanzas[i]);
    res->nstanzas = 0;
}

struct xb_stanza *tu_element(const char *xml)
{
    struct xb_stanza *st = NULL;
    enum xb_cond cond = XB_COND_NONE;
    int rc = xb_parser_parse_one(xml, strlen(xml), &st, &cond);

    ck_assert_msg(rc == 0, "cannot parse %s: %s", xml, xb_cond_name(cond));
    ck_assert_ptr_nonnull(st);
    return st;
}

char *tu_serialize(const struct xb_stanza *st, const char *default_ns)
{
    struct xb_buf b;

    xb_buf_init(&b);
    ck_assert_int_eq(xb_serialize(&b, st, default_ns), 0);
    ck_assert_int_eq(xb_buf_reserve(&b, 0), 0); /* data is never NULL */
    return b.data;
}
