/*
 * XEP-0198 stream management bookkeeping, without XML or I/O: the counters
 * and the queue of stanzas the server has not acknowledged yet. The client
 * session (session.c) drives it; tests drive it directly, near the 2^32
 * wrap.
 *
 * The invariant: the outbound count (what <a h/> and <resumed h/> are
 * measured against) is acked + qlen, modulo 2^32. The queue holds every
 * counted stanza the server has not acknowledged, oldest first; the first
 * qsent of them went out on the current or last stream, the rest were
 * queued while the connection was down and are sent on resumption.
 */
#ifndef XB_SM_H
#define XB_SM_H

#include <stddef.h>
#include <stdint.h>

#define XB_SM_QUEUE_DEFAULT 1000

/* What a session does with stream management when the server offers it;
 * the zero value is the default. */
enum xb_sm_mode {
    XB_SM_RESUME = 0, /* acks, and resumption after a dropped connection */
    XB_SM_ACK,        /* acks only: after a drop nothing resumes; what
                         was not acknowledged is settled as after a
                         failed resumption (xb_sm_fail) on the next
                         stream */
    XB_SM_OFF
};

/* "resume", "ack" or "off"; and back (0 or XB_EINVAL). */
const char *xb_sm_mode_name(enum xb_sm_mode mode);
int xb_sm_mode_parse(const char *name, enum xb_sm_mode *mode);

/* What happened, for summaries and --stats; every field only grows. */
struct xb_sm_stats {
    uint64_t enabled;         /* streams on which <enabled/> arrived */
    uint64_t refused;         /* <enable/> answered with <failed/> */
    uint64_t acks;            /* <a/> received */
    uint64_t acked;           /* stanzas those acknowledged */
    uint64_t requests;        /* <r/> sent */
    uint64_t answers;         /* <r/> received and answered */
    uint64_t resumes;         /* <resumed/>: nothing lost */
    uint64_t resume_failures; /* <failed/> to <resume/>, or not tried
                                 because the server's time was up */
    uint64_t resent;          /* stanzas sent again after a drop */
    uint64_t lost;            /* not acknowledged when the stream was lost
                                 for good, and not sent again */
    uint64_t duplicated;      /* sent again without knowing whether the
                                 server had them: possible duplicates */
    uint64_t refused_full;    /* sends refused: the queue was full */
};

/* The stats by name, for hosts' reports: NULL-name terminated. */
struct xb_sm_counter {
    const char *name;  /* snake_case JSON key, without a prefix */
    const char *label; /* words for a summary */
    size_t offset;     /* of the uint64_t in struct xb_sm_stats */
};
#define XB_SM_NCOUNTERS 12
extern const struct xb_sm_counter xb_sm_counters[XB_SM_NCOUNTERS + 1];

/* The stat c names in st. */
uint64_t xb_sm_stat(const struct xb_sm_stats *st, const struct xb_sm_counter *c);

struct xb_sm_entry;

struct xb_sm {
    struct xb_sm_entry *head, *tail;
    uint32_t qlen;      /* stanzas not acknowledged */
    uint32_t qsent;     /* of which the first qsent went out */
    uint32_t acked;     /* the server's last h */
    uint32_t in;        /* stanzas received and handled: our h */
    uint32_t requested; /* the outbound count at our last <r/> */
    uint32_t queue_max; /* 0: XB_SM_QUEUE_DEFAULT */
    size_t qbytes;      /* what the queued stanzas take, with overhead */
    char *id;           /* the server's resumption id, NULL if none */
    uint32_t max_s;     /* how long the server keeps a cut stream; 0:
                           it did not say */
    unsigned char on;   /* counting on this stream (after <enabled/>) */
    struct xb_sm_stats stats;
};

/* Kinds of queued stanza: whether it may be sent again on a fresh stream
 * when resumption fails (a chat message means the same on any stream; a
 * presence, an IQ or a groupchat message belong to the old session). */
enum { XB_SM_KEEP = 0, XB_SM_RESENDABLE = 1 };

/* The outbound count: every counted stanza so far, modulo 2^32. */
uint32_t xb_sm_out(const struct xb_sm *sm);

/* Queues a copy of a serialized stanza (counted: the outbound count
 * grows by one). sent: it goes out now. 0, XB_ELIMIT (the queue is full:
 * nothing was counted) or XB_ENOMEM. */
int xb_sm_push(struct xb_sm *sm, const char *data, size_t len, int flags,
               int sent);

/* The server acknowledged up to h: drops and frees what it covers. 0, or
 * XB_EPROTO if h is above the outbound count (nothing is changed). */
int xb_sm_ack(struct xb_sm *sm, uint32_t h);

/* Calls fn for each queued stanza, oldest first, and marks every one as
 * sent (resumption: the rest goes out again, in order). */
void xb_sm_replay(struct xb_sm *sm,
                  void (*fn)(void *ud, const char *data, size_t len),
                  void *ud);

/*
 * Resumption failed (or was impossible): what is left in the queue cannot
 * be resumed. known: the server's h said exactly what it had (so nothing
 * left was handled). The queue is emptied and the outbound counts start
 * over; then stanzas flagged resendable are handed to fn (oldest first)
 * to go out on the fresh stream (fn may queue them again), counted resent
 * and, if the server may have had them, duplicated; the others are
 * counted lost (all of them if fn is NULL). The resumption id is dropped.
 * Returns how many were lost.
 */
uint32_t xb_sm_fail(struct xb_sm *sm, int known,
                    void (*fn)(void *ud, const char *data, size_t len),
                    void *ud);

/* A new stream counts from 0 (after <enabled/>). A queue left from a lost
 * stream goes to xb_sm_fail right after. */
void xb_sm_start(struct xb_sm *sm);

/* Keeps the server's resumption id (copied); NULL drops it. 0 or
 * XB_ENOMEM. */
int xb_sm_set_id(struct xb_sm *sm, const char *id);

/* Frees the queue and the id; stats are kept. */
void xb_sm_clear(struct xb_sm *sm);

#endif
