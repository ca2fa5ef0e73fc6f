/*
 * The fake host shared by the session and component fuzz targets: the
 * checks of what is written and how the stream ends, the clock, and the
 * walk over an input. See fuzzcommon.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzzcommon.h"

struct fuzz_host fuzz;

const struct xb_parser_limits fuzz_limits = {16 * 1024, 16, 32};
/* For re-parsing what the stream writes. */
static const struct xb_parser_limits big_limits = {(size_t)1 << 30, 64,
                                                   1u << 16};

void fuzz_die(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", fuzz.name, what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static void out_close(void *ud)
{
    (void)ud;
    fuzz.out_closed = 1;
}

void fuzz_begin(const char *name, int (*feed)(const char *, size_t),
                void (*open)(void *, const struct xb_stream_header *),
                void (*stanza)(void *, struct xb_stanza *))
{
    static struct xb_parser_hooks out_hooks;

    memset(&fuzz, 0, sizeof fuzz);
    fuzz.name = name;
    fuzz.feed = feed;
    fuzz.verbose = getenv("XB_FUZZ_VERBOSE") != NULL;
    fuzz.clock = 1000000;
    fuzz.timer = -1;
    out_hooks.stream_open = open;
    out_hooks.stanza = stanza;
    out_hooks.stream_close = out_close;
    fuzz.out = xb_parser_new(&out_hooks, NULL, &big_limits, 0);
    if (!fuzz.out)
        fuzz_die("out of memory", NULL);
}

void fuzz_end(void)
{
    xb_parser_free(fuzz.out);
    fuzz.out = NULL;
}

void fuzz_write(const char *data, size_t len, const char *refuse)
{
    int rc;

    if (fuzz.verbose)
        fprintf(stderr, "> %.*s\n", (int)len, data);
    if (len == 0)
        fuzz_die("an empty write", NULL);
    if (fuzz.closed)
        fuzz_die("a write after the closed hook", data);
    if (fuzz.out_closed)
        fuzz_die("a write after our </stream:stream>", data);
    if (refuse)
        fuzz_die(refuse, data);
    /* A stream header starts a new stream (a start, a restart after TLS
     * or SASL): the checker starts over too. */
    if (len >= 5 && !memcmp(data, "<?xml", 5) && xb_parser_reset(fuzz.out))
        fuzz_die("xb_parser_reset failed", NULL);
    rc = xb_parser_feed(fuzz.out, data, len);
    if (rc) {
        fprintf(stderr, "%s: re-parse: %s (%s)\n", fuzz.name,
                xb_parser_message(fuzz.out),
                xb_cond_name(xb_parser_condition(fuzz.out)));
        fuzz_die("the stream wrote XML that does not parse", data);
    }
}

void fuzz_closed(int err, const char *msg, int in_closed_state)
{
    if (fuzz.verbose)
        fprintf(stderr, "closed: %d %s\n", err, msg ? msg : "(null)");
    if (++fuzz.nclosed > 1)
        fuzz_die("the closed hook ran twice", msg);
    fuzz.closed = 1;
    if (!in_closed_state)
        fuzz_die("closed hook outside the closed state", msg);
    if (err > 0 || err < XB_ETIMEOUT)
        fuzz_die("closed hook with an unknown code", msg);
    if (!msg || !*msg || strchr(msg, '\n'))
        fuzz_die("closed hook without a one-line reason", msg);
}

void fuzz_check_feed(int was_closed, int rc, int estate_ok)
{
    if (was_closed && rc >= 0)
        fuzz_die("a feed after the closed hook succeeded", NULL);
    if (rc == 0 && fuzz.closed)
        fuzz_die("a feed returned 0 but the stream ended", NULL);
    if (rc < 0 && !(estate_ok && rc == XB_ESTATE) && !fuzz.closed)
        fuzz_die("a feed failed without the closed hook", NULL);
}

void fuzz_new_stream(void)
{
    fuzz.nclosed = fuzz.closed = fuzz.out_closed = 0;
}

void fuzz_server(const char *xml)
{
    if (fuzz.feed(xml, strlen(xml)) != 0)
        fuzz_die("the scripted server was refused", xml);
}

void fuzz_set_timer(void *ud, int64_t ms)
{
    (void)ud;
    if (ms < -1)
        fuzz_die("set_timer below -1", NULL);
    fuzz.timer = ms;
    fuzz.armed = fuzz.clock;
}

uint64_t fuzz_now(void *ud)
{
    (void)ud;
    return fuzz.clock;
}

int fuzz_timer_due(void)
{
    if (fuzz.timer < 0)
        return 0;
    if (fuzz.clock < fuzz.armed + (uint64_t)fuzz.timer)
        fuzz.clock = fuzz.armed + (uint64_t)fuzz.timer;
    return 1;
}

void fuzz_trace_check(char dir, size_t len)
{
    if (dir != '<' && dir != '>')
        fuzz_die("trace with a bad direction", NULL);
    if (len == 0)
        fuzz_die("an empty trace", NULL);
}

/* Feeds len bytes cut as ctl bits 0-1 say. */
static void feed_cut(const char *data, size_t len, unsigned ctl,
                     unsigned *state)
{
    size_t n;

    while (len > 0) {
        switch (ctl & 3) {
        case 0:
            n = len;
            break;
        case 1:
            n = 1;
            break;
        case 2:
            n = 7;
            break;
        default:
            *state ^= *state << 13;
            *state ^= *state >> 17;
            *state ^= *state << 5;
            n = 1 + *state % 24;
        }
        if (n > len)
            n = len;
        fuzz.feed(data, n);
        data += n;
        len -= n;
    }
}

void fuzz_walk(const uint8_t *data, size_t size,
               size_t (*op)(const uint8_t *data, size_t len))
{
    unsigned ctl = data[1];
    unsigned rng = ctl * 2654435761u + (unsigned)size + 1;
    size_t i, j;

    data += 2;
    size -= 2;
    for (i = 0; i < size; i = j) {
        if (data[i] == FUZZ_ESC) {
            j = i + 1;
            if (j < size)
                j += op(data + j, size - j);
            continue;
        }
        for (j = i; j < size && data[j] != FUZZ_ESC; j++)
            ;
        feed_cut((const char *)data + i, j - i, ctl, &rng);
    }
}
