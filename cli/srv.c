/*
 * SRV records for the CLI's connections: parsing a DNS answer, choosing
 * which records apply, and the RFC 2782 order to try them in. No I/O.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "srv.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

size_t xb_srv_parse(const unsigned char *answer, int len, int direct,
                    struct xb_srv *recs, size_t *n, size_t max)
{
    char name[NS_MAXDNAME];
    size_t added = 0;
    ns_msg msg;
    ns_rr rr;
    int i;

    if (len < 0 || ns_initparse(answer, len, &msg) < 0)
        return 0;
    for (i = 0; i < ns_msg_count(msg, ns_s_an) && *n < max; i++) {
        const unsigned char *d;
        struct xb_srv *r = &recs[*n];

        if (ns_parserr(&msg, ns_s_an, i, &rr) || ns_rr_type(rr) != ns_t_srv ||
            ns_rr_rdlen(rr) < 7)
            continue;
        d = ns_rr_rdata(rr);
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), d + 6, name,
                      sizeof name) < 0 ||
            strlen(name) >= sizeof r->target)
            continue;
        r->priority = (uint16_t)ns_get16(d);
        r->weight = (uint16_t)ns_get16(d + 2);
        r->port = (uint16_t)ns_get16(d + 4);
        r->direct = direct != 0;
        /* The root name: how the answer says "no such service". */
        strcpy(r->target, name[0] ? name : ".");
        ++*n;
        added++;
    }
    return added;
}

enum xb_srv_plan xb_srv_plan(struct xb_srv *recs, size_t *n, int want_direct,
                             int want_starttls)
{
    int refused_direct = 0, refused_starttls = 0;
    size_t i, kept = 0;

    for (i = 0; i < *n; i++) {
        if (!strcmp(recs[i].target, ".")) {
            if (recs[i].direct)
                refused_direct = 1;
            else
                refused_starttls = 1;
            continue;
        }
        if (recs[i].direct ? !want_direct : !want_starttls)
            continue;
        if (kept != i)
            recs[kept] = recs[i];
        kept++;
    }
    *n = kept;
    if (kept)
        return XB_SRV_TARGETS;
    if (want_starttls ? refused_starttls : refused_direct)
        return XB_SRV_UNAVAILABLE;
    return XB_SRV_FALLBACK;
}

/* Orders order[start..end), records of one priority, by RFC 2782's
 * weighted selection. */
static void order_weighted(const struct xb_srv *recs, unsigned char *order,
                           size_t start, size_t end, struct xb_rand *rng)
{
    unsigned char tmp[XB_SRV_MAX], x;
    size_t i, k, nz = 0, m = 0;
    uint32_t sum, pick, run;

    /* "All those with weight 0 are placed at the beginning of the list":
     * in random order, so that each has the same (small) chance. */
    for (i = start; i < end; i++)
        if (recs[order[i]].weight == 0)
            tmp[m++] = order[i];
    nz = m;
    for (i = start; i < end; i++)
        if (recs[order[i]].weight != 0)
            tmp[m++] = order[i];
    for (i = nz; i > 1; i--) {
        k = xb_rand_range(rng, 0, (uint32_t)(i - 1));
        x = tmp[i - 1];
        tmp[i - 1] = tmp[k];
        tmp[k] = x;
    }
    memcpy(order + start, tmp, m);
    for (k = start; k + 1 < end; k++) {
        sum = 0;
        for (i = k; i < end; i++)
            sum += recs[order[i]].weight;
        /* The first whose running sum reaches a number in [0, sum]
         * (RFC 2782): a weight-0 record at the front wins only on 0.
         * Without one, the draw is from [1, sum], or the first record
         * would win one time too many. */
        pick = xb_rand_range(rng, recs[order[k]].weight == 0 ? 0 : 1, sum);
        run = 0;
        for (i = k; i < end - 1; i++) {
            run += recs[order[i]].weight;
            if (run >= pick)
                break;
        }
        /* Move it to position k; the others keep their order (and the
         * weight-0 ones stay in front). */
        x = order[i];
        memmove(order + k + 1, order + k, i - k);
        order[k] = x;
    }
}

void xb_srv_order(const struct xb_srv *recs, size_t n, struct xb_rand *rng,
                  unsigned char *order)
{
    size_t i, j, start, end;
    unsigned char x;

    if (n > XB_SRV_MAX)
        n = XB_SRV_MAX;
    /* By priority, stably (a few records: insertion sort). */
    for (i = 0; i < n; i++) {
        x = (unsigned char)i;
        for (j = i; j > 0 && recs[order[j - 1]].priority > recs[x].priority;
             j--)
            order[j] = order[j - 1];
        order[j] = x;
    }
    for (start = 0; start < n; start = end) {
        uint16_t prio = recs[order[start]].priority;

        end = start + 1;
        while (end < n && recs[order[end]].priority == prio)
            end++;
        if (end - start > 1)
            order_weighted(recs, order, start, end, rng);
    }
}
