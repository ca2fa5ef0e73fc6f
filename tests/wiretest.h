/*
 * The wire side of the stream tests (session, component): what the code
 * under test wrote, kept and parsed back as its peer reads it; the XML
 * console it traced; input fed whole, byte by byte or in random cuts; and
 * the assertions those tests share.
 */
#ifndef XB_WIRETEST_H
#define XB_WIRETEST_H

#include <stddef.h>

#include "buf.h"
#include "parser.h"
#include "stanza.h"
#include "testutil.h"
#include "xmpp.h"

#define WT_MAX_OUT 256

/* One stream's wire. Set up with wt_init(), freed with wt_free(). */
struct wt_wire {
    const char *ns;  /* the stream namespace the peer reads in, borrowed */
    const char *who; /* names the writer in failure messages, borrowed */
    /* Hands input to the code under test; its result. */
    int (*feed)(const char *data, size_t len);
    enum tu_split split; /* how wt_feed_n() cuts input; TU_WHOLE at first */
    unsigned rng;        /* state of the TU_RANDOM cuts */
    struct xb_buf sent;  /* every byte written (wt_write) */
    size_t seen;         /* bytes of sent that a take has consumed */
    struct xb_buf trace; /* "<dir> <data>\n" per wt_trace() */
    int ntrace;
};

/* What was written since the last take, parsed. */
struct wt_out {
    char *text;  /* the raw bytes, NUL-terminated, owned */
    int headers; /* stream headers; the fields below are the last one's */
    char to[64];
    char version[16];
    char content_ns[64]; /* each "(none)" when absent */
    int nel;
    struct xb_stanza *el[WT_MAX_OUT]; /* owned (extra ones are dropped) */
    int closes;                       /* </stream:stream> */
};

/* Sets up w for a writer named who whose output the peer reads in a
 * stream of namespace ns, fed through feed; both strings are borrowed.
 * The random cuts start from tu_seed(). */
void wt_init(struct wt_wire *w, const char *ns, const char *who,
             int (*feed)(const char *data, size_t len));

/* Frees what w recorded. */
void wt_free(struct wt_wire *w);

/* The body of a write hook: appends len (> 0) bytes to w->sent. */
void wt_write(struct wt_wire *w, const char *data, size_t len);

/* The body of a trace hook: appends "<dir> <data>\n" to w->trace. */
void wt_trace(struct wt_wire *w, char dir, const char *data, size_t len);

/* Feeds len bytes cut according to w->split (random cuts of 1..24 bytes);
 * the first non-zero result, else 0. */
int wt_feed_n(struct wt_wire *w, const char *data, size_t len);

/* wt_feed_n() of a NUL-terminated text. */
int wt_feed(struct wt_wire *w, const char *xml);

/* Feeds xml and fails the test unless that returned 0. */
void wt_says(struct wt_wire *w, const char *xml);

/* Frees what out holds and zeroes it. */
void wt_out_clear(struct wt_out *out);

/* Moves what was written since the last take into out->text (out cleared
 * first); returns out->text, valid until out is cleared. */
const char *wt_take_raw(struct wt_wire *w, struct wt_out *out);

/* wt_take_raw(), then parses the text as the peer would: a header if
 * there is one, then elements, then maybe the close. Without a header of
 * its own the text is read inside a stream of w->ns. Fails the test if it
 * is not well-formed. */
void wt_take(struct wt_wire *w, struct wt_out *out);

/* The writer's last words were a stream error with cond, then the close
 * (takes). */
void wt_assert_stream_error(struct wt_wire *w, struct wt_out *out,
                            enum xb_cond cond);

/* needle is (is not) in hay. */
void wt_assert_has(const char *hay, const char *needle);
void wt_assert_lacks(const char *hay, const char *needle);

/* st's attribute name (no namespace) is want (NULL: absent). */
void wt_assert_attr(const struct xb_stanza *st, const char *name,
                    const char *want);

/* st serializes with default_ns to exactly want. */
void wt_assert_xml(const struct xb_stanza *st, const char *default_ns,
                   const char *want);

#endif
