/*
 * Shared test helpers: feed a parser its input whole, byte by byte or in
 * random cuts (seed printed, overridable with XB_TEST_SEED), and collect
 * what the hooks reported.
 */
#ifndef XB_TESTUTIL_H
#define XB_TESTUTIL_H

#include <check.h>
#include <stddef.h>

#include "parser.h"
#include "stanza.h"

enum tu_split {
    TU_WHOLE,  /* one xb_parser_feed() call */
    TU_BYTES,  /* one byte per call */
    TU_RANDOM, /* random cuts of 1..64 bytes */
    TU_SPLIT_COUNT
};

#define TU_MAX_STANZAS 64

/* Everything one parse reported. */
struct tu_result {
    int rc;            /* first non-zero xb_parser_feed() result, or 0 */
    enum xb_cond cond; /* xb_parser_condition() after the feed */
    char message[256]; /* xb_parser_message() after the feed */
    int opens;         /* stream_open hook calls */
    int closes;        /* stream_close hook calls */
    char from[64], to[64], id[64], version[16], lang[16], content_ns[64];
    int nstanzas; /* stanzas kept (at most TU_MAX_STANZAS) */
    struct xb_stanza *stanzas[TU_MAX_STANZAS]; /* owned by the result */
};

/* Runs suite s (freed) the way every test program does: the seed fixed
 * and printed first (forked tests then share it), long failure messages
 * kept whole. Returns the exit status for main(). */
int tu_run(Suite *s);

/* The run's random seed: XB_TEST_SEED if set, else from the clock. Printed
 * to stderr on first use so a failing run can be repeated. */
unsigned tu_seed(void);

/* A small deterministic generator (xorshift32) over *state. */
unsigned tu_rand(unsigned *state);

/* Name of a split mode, for failure messages. */
const char *tu_split_name(enum tu_split split);

/*
 * Parses len bytes with a new parser (limits may be NULL, flags as for
 * xb_parser_new) fed in the given split, into *res. Stops feeding at the
 * first error. Free the result with tu_result_free().
 */
void tu_parse(struct tu_result *res, const char *data, size_t len,
              enum tu_split split, const struct xb_parser_limits *limits,
              unsigned flags);

/* Frees the stanzas a result holds. */
void tu_result_free(struct tu_result *res);

/* Parses one standalone element or fails the test. Caller frees. */
struct xb_stanza *tu_element(const char *xml);

/* Serializes st with default_ns into a new NUL-terminated string the
 * caller frees with free(); fails the test on error. */
char *tu_serialize(const struct xb_stanza *st, const char *default_ns);

#endif
