/*
 * What the session and component fuzz targets share: the fake host's
 * clock and timer, the re-parse of everything the stream under test
 * writes, the closed hook's and a feed's rules, and the walk over an
 * input (server bytes cut as byte 1 says, 0xFF escaping an operation).
 */
#ifndef XB_TESTS_FUZZCOMMON_H
#define XB_TESTS_FUZZCOMMON_H

#include <stddef.h>
#include <stdint.h>

#include "parser.h"

/* Escapes an operation among server bytes (never a byte of UTF-8). */
#define FUZZ_ESC 0xFF

/* The fake host's state that both targets keep the same way. */
struct fuzz_host {
    const char *name; /* the target, prefixes every message */
    /* The target's feed: feeds len bytes at once, checks the result. */
    int (*feed)(const char *data, size_t len);
    struct xb_parser *out; /* re-parses what the stream writes */
    uint64_t clock;
    int64_t timer;  /* last set_timer; -1 disarmed */
    uint64_t armed; /* clock when it was armed */
    int nclosed;    /* closed hook runs since the last start */
    int closed;     /* the closed hook ran; no start since */
    int out_closed; /* the stream wrote </stream:stream> */
    int verbose;    /* XB_FUZZ_VERBOSE set: writes and ends to stderr */
};

extern struct fuzz_host fuzz;

/* Small limits, so that short inputs reach them. */
extern const struct xb_parser_limits fuzz_limits;

/* Reports a property violation (detail may be NULL) and aborts. */
void fuzz_die(const char *what, const char *detail) __attribute__((noreturn));

/*
 * Starts one input: resets fuzz for the target name (a static string)
 * with its feed, and makes fuzz.out, a parser with open and stanza (the
 * stanza hook frees what it gets) that marks fuzz.out_closed at its end.
 */
void fuzz_begin(const char *name, int (*feed)(const char *, size_t),
                void (*open)(void *, const struct xb_stream_header *),
                void (*stanza)(void *, struct xb_stanza *));

/* Frees what fuzz_begin made. */
void fuzz_end(void);

/*
 * The write hook's checks: not empty, not after the closed hook or our
 * </stream:stream>, not while refuse is non-NULL (then refuse is the
 * message); then data must re-parse, a stream header starting over.
 */
void fuzz_write(const char *data, size_t len, const char *refuse);

/* The closed hook's checks: at most once per start, in the closed state
 * (in_closed_state), a known code and a one-line reason. */
void fuzz_closed(int err, const char *msg, int in_closed_state);

/* A feed's result rc, was_closed before it: fails after the closed hook,
 * fails exactly when the stream ends (XB_ESTATE aside if estate_ok). */
void fuzz_check_feed(int was_closed, int rc, int estate_ok);

/* A new connection: the per-stream rules start over. */
void fuzz_new_stream(void);

/* The scripted server: what it says must be accepted. */
void fuzz_server(const char *xml);

/* The set_timer and now hooks, on fuzz.clock. */
void fuzz_set_timer(void *ud, int64_t ms);
uint64_t fuzz_now(void *ud);

/* If a timer is armed, moves the clock to when it fires and returns 1. */
int fuzz_timer_due(void);

/* The trace hook's checks: a known direction, not empty. */
void fuzz_trace_check(char dir, size_t len);

/*
 * Walks a whole input of size >= 2 (bytes 0 and 1 already used by the
 * target): server bytes fed cut as byte 1's bits 0-1 say (whole, bytes,
 * 7, random), each 0xFF followed by an operation op runs; op gets the
 * bytes after the 0xFF and returns how many it used (at least 1).
 */
void fuzz_walk(const uint8_t *data, size_t size,
               size_t (*op)(const uint8_t *data, size_t len));

#endif
