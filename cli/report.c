/*
 * What the farm tells its user: the live progress line, the JSON stats
 * file, the summary on stdout and the exit status. Every bot number comes
 * from the kind's counter and series tables, so a new kind shows up here
 * without an edit.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "farm_int.h"

/* The sum of every bot's counters; caller frees. NULL on OOM. */
static uint64_t *sum_counters(struct farm *f)
{
    uint64_t *sum = calloc(xb_bot_ncounters(f->kind), sizeof *sum);
    unsigned i;

    for (i = 0; sum && i < f->cfg->count; i++)
        if (farm_bot(f, i))
            xb_bot_counters_add(farm_bot(f, i), sum);
    return sum;
}

/* Every session's stream management stats added up, and what their
 * queues hold now. */
struct sm_sum {
    uint64_t v[XB_SM_NCOUNTERS];
    uint64_t queued, bytes;
};

static void sum_sm(struct farm *f, struct sm_sum *out)
{
    const struct xb_sm_counter *k;
    unsigned i, j;

    memset(out, 0, sizeof *out);
    for (i = 0; f->clients && i < f->cfg->count; i++) {
        const struct xb_sm *sm;

        if (!f->clients[i].session)
            continue;
        sm = xb_session_sm(f->clients[i].session);
        for (j = 0, k = xb_sm_counters; k->name; j++, k++)
            out->v[j] += xb_sm_stat(&sm->stats, k);
        out->queued += sm->qlen;
        out->bytes += sm->qbytes;
    }
}

static unsigned count_state(struct farm *f, enum cstate st)
{
    unsigned i, n = 0;

    for (i = 0; f->clients && i < f->cfg->count; i++)
        n += f->clients[i].state == st;
    return n;
}

static double elapsed_s(struct farm *f)
{
    return (double)(uv_now(f->loop) - f->started_ms) / 1000.0;
}

void report_clear_progress(struct farm *f)
{
    if (f->progress_shown) {
        fputs("\r\033[K", stderr);
        f->progress_shown = 0;
    }
}

void report_progress(struct farm *f)
{
    uint64_t *sum = sum_counters(f);
    unsigned i, n = xb_bot_ncounters(f->kind), own = 0;

    while (f->kind->counters[own].name)
        own++;
    fprintf(stderr,
            "\r\033[K[%5.0fs] online %u/%u  connecting %u  waiting %u  "
            "gave up %u  logins %lu",
            elapsed_s(f), f->online, f->cfg->count,
            f->connecting + count_state(f, C_LOGIN),
            count_state(f, C_QUEUED) + count_state(f, C_BACKOFF) +
                (f->comp ? comp_waiting(f) : 0),
            f->gaveup,
            f->logins);
    /* The kind's own counters (the common ones, first, are not news). */
    for (i = n - own; sum && i < n; i++)
        fprintf(stderr, "  %s %llu", xb_bot_counter_at(f->kind, i)->name,
                (unsigned long long)sum[i]);
    free(sum);
    f->progress_shown = 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Sorts series s and reads its percentiles (in ms) and rate. */
struct summary {
    double p50, p90, p99, max, rate, secs;
};

static int summarize(struct series *s, struct summary *out)
{
    if (!s->n)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_u32);
    out->p50 = s->v[s->n / 2] / 1000.0;
    out->p90 = s->v[(size_t)((double)s->n * 0.90)] / 1000.0;
    out->p99 = s->v[(size_t)((double)s->n * 0.99)] / 1000.0;
    out->max = s->v[s->n - 1] / 1000.0;
    out->secs = (double)(s->last_us - s->first_us) / 1e6;
    out->rate = out->secs > 0 ? (double)s->n / out->secs : 0.0;
    return 1;
}

static void write_json(struct farm *f, FILE *out)
{
    uint64_t *sum = sum_counters(f);
    unsigned i, n = xb_bot_ncounters(f->kind);
    struct summary sm;
    int k;

    fprintf(out, "{\n  \"kind\": \"%s\",\n  \"elapsed_s\": %.1f,\n",
            f->kind->name, elapsed_s(f));
    fprintf(out, "  \"bots\": %u,\n  \"online\": %u,\n  \"ever_online\": %u,\n",
            f->cfg->count, f->online, f->ever_online);
    fprintf(out, "  \"gave_up\": %u,\n  \"done\": %u,\n", f->gaveup, f->done);
    fprintf(out, "  \"connect_attempts\": %lu,\n  \"logins\": %lu,\n",
            f->attempts, f->logins);
    fprintf(out, "  \"reconnects\": %lu,\n", f->reconnects);
    fprintf(out, "  \"fallbacks\": %lu,\n", f->fallbacks);
    fprintf(out,
            "  \"logins_plain\": %lu,\n  \"logins_starttls\": %lu,\n"
            "  \"logins_direct_tls\": %lu,\n",
            f->logins_by[T_PLAIN], f->logins_by[T_STARTTLS],
            f->logins_by[T_DIRECT_TLS]);
    for (i = 0; sum && i < n; i++)
        fprintf(out, "  \"%s\": %llu,\n", xb_bot_counter_at(f->kind, i)->name,
                (unsigned long long)sum[i]);
    for (i = 0; i < f->nseries; i++) {
        if (!summarize(&f->series[i], &sm))
            continue;
        fprintf(out,
                "  \"%s\": {\"n\": %zu, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
                "\"p99_ms\": %.3f, \"max_ms\": %.3f, \"per_s\": %.1f},\n",
                f->kind->series[i].name, f->series[i].n, sm.p50, sm.p90, sm.p99,
                sm.max, sm.rate);
    }
    if (f->cfg->sm != XB_SM_OFF && f->clients) {
        struct sm_sum ss;
        const struct xb_sm_counter *c;

        sum_sm(f, &ss);
        for (i = 0, c = xb_sm_counters; c->name; i++, c++)
            fprintf(out, "  \"sm_%s\": %llu,\n", c->name,
                    (unsigned long long)ss.v[i]);
        fprintf(out, "  \"sm_queued\": %llu,\n  \"sm_queue_bytes\": %llu,\n",
                (unsigned long long)ss.queued, (unsigned long long)ss.bytes);
    }
    if (f->comp)
        comp_write_json(f, out);
    fprintf(out, "  \"errors\": {");
    for (k = F_NONE + 1; k < F_KINDS; k++)
        fprintf(out, "\"%s\": %lu%s", fail_names[k], f->failures[k],
                k + 1 < F_KINDS ? ", " : "");
    fprintf(out, "}\n}\n");
    free(sum);
}

void report_stats_file(struct farm *f)
{
    char tmp[4096];
    FILE *out;

    /* Write then rename, so a reader never sees half a file. */
    snprintf(tmp, sizeof tmp, "%s.tmp", f->cfg->stats_path);
    out = fopen(tmp, "w");
    if (!out)
        return;
    write_json(f, out);
    if (fclose(out) == 0)
        rename(tmp, f->cfg->stats_path);
}

void report_summary(struct farm *f)
{
    const struct farm_config *cfg = f->cfg;
    uint64_t *sum = sum_counters(f);
    unsigned i, n = xb_bot_ncounters(f->kind);
    struct summary sm;
    int k, any = 0;

    report_clear_progress(f);
    printf("bots %u: online at some point %u, gave up %u; connection "
           "attempts %lu, logins %lu, reconnects %lu\n",
           cfg->count, f->ever_online, f->gaveup, f->attempts, f->logins,
           f->reconnects);
    if (f->fallbacks || f->logins_by[T_DIRECT_TLS])
        printf("transport: logins over direct TLS %lu, STARTTLS %lu, plain "
               "%lu; fallbacks to the next address %lu\n",
               f->logins_by[T_DIRECT_TLS], f->logins_by[T_STARTTLS],
               f->logins_by[T_PLAIN], f->fallbacks);
    printf("%s:", f->kind->name);
    for (i = 0; sum && i < n; i++)
        printf("%s %s %llu", i ? "," : "", xb_bot_counter_at(f->kind, i)->label,
               (unsigned long long)sum[i]);
    printf("\n");
    for (i = 0; i < f->nseries; i++)
        if (summarize(&f->series[i], &sm))
            printf("%s_ms p50 %.3f p90 %.3f p99 %.3f max %.3f; %.0f per s "
                   "over %.2f s\n",
                   f->kind->series[i].name, sm.p50, sm.p90, sm.p99, sm.max,
                   sm.rate, sm.secs);
    if (cfg->sm != XB_SM_OFF && f->clients) {
        struct sm_sum ss;
        const struct xb_sm_counter *c;

        sum_sm(f, &ss);
        printf("stream management:");
        for (i = 0, c = xb_sm_counters; c->name; i++, c++)
            printf("%s %s %llu", i ? "," : "", c->label,
                   (unsigned long long)ss.v[i]);
        printf("; queued %llu (%llu bytes)\n", (unsigned long long)ss.queued,
               (unsigned long long)ss.bytes);
    }
    printf("errors:");
    for (k = F_NONE + 1; k < F_KINDS; k++) {
        if (f->failures[k]) {
            printf(" %s %lu", fail_names[k], f->failures[k]);
            any = 1;
        }
    }
    printf("%s\n", any ? "" : " none");
    fflush(stdout);
    free(sum);
}

int report_exit_status(struct farm *f)
{
    unsigned long worst = 0;
    unsigned i;
    int k, kind = F_NONE, all_ok = f->ever_online == f->cfg->count;

    for (i = 0; all_ok && i < f->cfg->count; i++)
        all_ok = xb_bot_ok(farm_bot(f, i));
    if (all_ok)
        return XB_EXIT_OK;
    for (k = F_NONE + 1; k < F_KINDS; k++)
        if (f->failures[k] > worst)
            worst = f->failures[k], kind = k;
    switch (kind) {
    case F_AUTH:
        return XB_EXIT_AUTH;
    case F_CONNECT:
    case F_CONNECT_TIMEOUT:
        return XB_EXIT_CONNECT;
    case F_TLS:
    case F_CERT:
        return XB_EXIT_TLS;
    default:
        return XB_EXIT_INPUT;
    }
}

void report_sample(struct farm *f, unsigned s, uint32_t value)
{
    struct series *r = s < f->nseries ? &f->series[s] : NULL;
    uint64_t t = uv_hrtime() / 1000;

    if (!r)
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        uint32_t *v = realloc(r->v, cap * sizeof *v);

        if (!v)
            return; /* the summary then covers fewer samples */
        r->v = v;
        r->cap = cap;
    }
    if (!r->n)
        r->first_us = t;
    r->last_us = t;
    r->v[r->n++] = value;
}

void report_free(struct farm *f)
{
    unsigned i;

    for (i = 0; f->series && i < f->nseries; i++)
        free(f->series[i].v);
    free(f->series);
}
