/*
 * Stream management bookkeeping: a FIFO of serialized stanzas (one
 * allocation each, freed as soon as the server acknowledges it) and the
 * modulo-2^32 arithmetic of XEP-0198 counters.
 */
#include "sm.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct xb_sm_entry {
    struct xb_sm_entry *next;
    uint32_t len;
    unsigned char flags;
    char data[];
};

static const char *const mode_names[] = {"resume", "ack", "off"};

#define STAT(f) offsetof(struct xb_sm_stats, f)
const struct xb_sm_counter xb_sm_counters[XB_SM_NCOUNTERS + 1] = {
    {"enabled", "enabled", STAT(enabled)},
    {"refused", "refused", STAT(refused)},
    {"acks", "acks", STAT(acks)},
    {"acked", "stanzas acked", STAT(acked)},
    {"requests", "acks asked", STAT(requests)},
    {"answers", "acks given", STAT(answers)},
    {"resumes", "resumes", STAT(resumes)},
    {"resume_failures", "resume failures", STAT(resume_failures)},
    {"resent", "resent", STAT(resent)},
    {"lost", "lost", STAT(lost)},
    {"duplicated", "possibly duplicated", STAT(duplicated)},
    {"queue_full", "sends refused (queue full)", STAT(refused_full)},
    {NULL, NULL, 0}};

uint64_t xb_sm_stat(const struct xb_sm_stats *st, const struct xb_sm_counter *c)
{
    uint64_t v;

    memcpy(&v, (const char *)st + c->offset, sizeof v);
    return v;
}

const char *xb_sm_mode_name(enum xb_sm_mode mode)
{
    return (unsigned)mode < 3 ? mode_names[mode] : "?";
}

int xb_sm_mode_parse(const char *name, enum xb_sm_mode *mode)
{
    unsigned i;

    for (i = 0; i < 3; i++)
        if (!strcmp(name, mode_names[i])) {
            *mode = (enum xb_sm_mode)i;
            return 0;
        }
    return XB_EINVAL;
}

uint32_t xb_sm_out(const struct xb_sm *sm)
{
    return sm->acked + sm->qlen; /* wraps as XEP-0198 says */
}

static size_t entry_cost(const struct xb_sm_entry *e)
{
    return sizeof *e + e->len;
}

int xb_sm_push(struct xb_sm *sm, const char *data, size_t len, int flags,
               int sent)
{
    uint32_t max = sm->queue_max ? sm->queue_max : XB_SM_QUEUE_DEFAULT;
    struct xb_sm_entry *e;

    if (sm->qlen >= max) {
        sm->stats.refused_full++;
        return XB_ELIMIT;
    }
    if (len > UINT32_MAX)
        return XB_ELIMIT;
    e = malloc(sizeof *e + len);
    if (!e)
        return XB_ENOMEM;
    e->next = NULL;
    e->len = (uint32_t)len;
    e->flags = (unsigned char)flags;
    memcpy(e->data, data, len);
    if (sm->tail)
        sm->tail->next = e;
    else
        sm->head = e;
    sm->tail = e;
    /* Sent stanzas stay a prefix of the queue: nothing goes out while
     * older ones wait for a resumption. */
    if (sent && sm->qsent == sm->qlen)
        sm->qsent++;
    sm->qlen++;
    sm->qbytes += entry_cost(e);
    return 0;
}

/* Unlinks and frees the oldest entry. */
static void drop_head(struct xb_sm *sm)
{
    struct xb_sm_entry *e = sm->head;

    sm->head = e->next;
    if (!sm->head)
        sm->tail = NULL;
    sm->qbytes -= entry_cost(e);
    sm->qlen--;
    if (sm->qsent)
        sm->qsent--;
    free(e);
}

int xb_sm_ack(struct xb_sm *sm, uint32_t h)
{
    uint32_t n = h - sm->acked; /* modulo 2^32 */

    if (n > sm->qlen)
        return XB_EPROTO;
    sm->stats.acked += n;
    while (n--)
        drop_head(sm);
    sm->acked = h;
    return 0;
}

void xb_sm_replay(struct xb_sm *sm,
                  void (*fn)(void *ud, const char *data, size_t len),
                  void *ud)
{
    struct xb_sm_entry *e;

    sm->stats.resent += sm->qsent;
    for (e = sm->head; e; e = e->next)
        fn(ud, e->data, e->len);
    sm->qsent = sm->qlen;
}

uint32_t xb_sm_fail(struct xb_sm *sm, int known,
                    void (*fn)(void *ud, const char *data, size_t len),
                    void *ud)
{
    struct xb_sm_entry *e = sm->head, *next;
    uint32_t i = 0, lost = 0, qsent = sm->qsent;

    /* Detached first: fn may queue the stanzas again on the new stream. */
    sm->head = sm->tail = NULL;
    sm->qlen = sm->qsent = 0;
    sm->qbytes = 0;
    sm->acked = sm->requested = 0;
    xb_sm_set_id(sm, NULL);
    for (; e; e = next) {
        int was_sent = i++ < qsent;

        next = e->next;
        if ((e->flags & XB_SM_RESENDABLE) && fn) {
            if (was_sent) {
                sm->stats.resent++;
                if (!known)
                    sm->stats.duplicated++;
            }
            fn(ud, e->data, e->len);
        } else {
            lost++;
        }
        free(e);
    }
    sm->stats.lost += lost;
    return lost;
}

void xb_sm_start(struct xb_sm *sm)
{
    sm->acked = sm->in = sm->requested = 0;
    sm->on = 1;
    sm->stats.enabled++;
}

int xb_sm_set_id(struct xb_sm *sm, const char *id)
{
    char *copy = NULL;

    if (id && !(copy = strdup(id)))
        return XB_ENOMEM;
    free(sm->id);
    sm->id = copy;
    return 0;
}

void xb_sm_clear(struct xb_sm *sm)
{
    while (sm->head)
        drop_head(sm);
    sm->qsent = 0;
    sm->on = 0;
    xb_sm_set_id(sm, NULL);
}
