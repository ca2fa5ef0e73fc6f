/*
 * The recording bot host shared by the bot kind tests, with its
 * in-memory key/value store.
 */
#include "fakehost.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "parser.h"
#include "serialize.h"
#include "xmpp.h"

static int fh_send(void *ud, struct xb_stanza *st)
{
    struct fakehost *f = ud;
    struct xb_buf b;

    ck_assert_int_lt(f->nsent, FH_MAX_SENT);
    xb_buf_init(&b);
    ck_assert_int_eq(xb_serialize(&b, st, XB_NS_CLIENT), 0);
    f->sent[f->nsent] = b.data;
    if (f->keep) {
        f->kept[f->nsent] = xb_stanza_copy(st);
        ck_assert_ptr_nonnull(f->kept[f->nsent]);
    }
    f->nsent++;
    if (f->reenter)
        f->reenter(f, st);
    xb_stanza_free(st);
    return f->refuse ? XB_ECLOSED : 0;
}

static void fh_set_timer(void *ud, int64_t ms)
{
    struct fakehost *f = ud;

    ck_assert_int_lt(f->ntimers, FH_MAX_SENT);
    f->timers[f->ntimers++] = ms;
}

static void fh_log(void *ud, enum xb_log_level level, const char *msg)
{
    struct fakehost *f = ud;

    if (f->nlogs < FH_MAX_LOGS) {
        f->levels[f->nlogs] = level;
        snprintf(f->logs[f->nlogs], sizeof f->logs[0], "%s", msg);
    }
    f->nlogs++;
}

static uint64_t fh_now_us(void *ud)
{
    return ((struct fakehost *)ud)->now_us;
}

static void fh_done(void *ud)
{
    ((struct fakehost *)ud)->done++;
}

static void fh_sample(void *ud, unsigned series, uint32_t value)
{
    struct fakehost *f = ud;

    ck_assert_uint_eq(series, 0);
    ck_assert_int_lt(f->nsamples, FH_MAX_SENT);
    f->samples[f->nsamples++] = value;
}

static struct fh_store *store_of(void *ud, const char *hook)
{
    struct fakehost *f = ud;

    ck_assert_msg(f->store != NULL, "%s called with no store attached", hook);
    return f->store;
}

static int find_key(const struct fh_store *s, const char *key)
{
    int i;

    for (i = 0; i < s->n; i++)
        if (!strcmp(s->keys[i], key))
            return i;
    return -1;
}

static int fh_store_load(void *ud,
                         int (*add)(void *ctx, const char *key,
                                    const char *value),
                         void *ctx)
{
    struct fh_store *s = store_of(ud, "store_load");
    int i, rc;

    s->loads++;
    if (s->fail_load)
        return s->fail_load;
    for (i = 0; i < s->n; i++)
        if ((rc = add(ctx, s->keys[i], s->values[i])))
            return rc;
    return 0;
}

static int fh_store_put(void *ud, const char *key, const char *value)
{
    struct fh_store *s = store_of(ud, "store_put");

    s->puts++;
    if (s->fail)
        return s->fail;
    fh_store_set(s, key, value);
    return 0;
}

static int fh_store_del(void *ud, const char *key)
{
    struct fh_store *s = store_of(ud, "store_del");
    int i;

    s->dels++;
    if (s->fail)
        return s->fail;
    if ((i = find_key(s, key)) < 0)
        return 0;
    free(s->keys[i]);
    free(s->values[i]);
    s->n--;
    s->keys[i] = s->keys[s->n];
    s->values[i] = s->values[s->n];
    return 0;
}

static const char *fh_http_url(void *ud)
{
    struct fakehost *f = ud;

    if (f->no_http_url)
        return NULL;
    return f->http_url ? f->http_url : FH_HTTP_URL;
}

const struct xb_bot_host fh_host = {
    .send = fh_send,
    .set_timer = fh_set_timer,
    .log = fh_log,
    .now_us = fh_now_us,
    .done = fh_done,
    .sample = fh_sample,
    .store_load = fh_store_load,
    .store_put = fh_store_put,
    .store_del = fh_store_del,
    .http_url = fh_http_url,
};

const struct xb_bot_host fh_host_bare = {
    .send = fh_send,
    .set_timer = fh_set_timer,
    .log = fh_log,
    .now_us = fh_now_us,
    .done = fh_done,
    .sample = fh_sample,
};

const char *fh_store_get(const struct fh_store *s, const char *key)
{
    int i = find_key(s, key);

    return i < 0 ? NULL : s->values[i];
}

void fh_store_set(struct fh_store *s, const char *key, const char *value)
{
    int i = find_key(s, key);
    char *v = strdup(value);

    ck_assert_ptr_nonnull(v);
    if (i < 0) {
        ck_assert_int_lt(s->n, FH_STORE_MAX);
        i = s->n;
        s->keys[i] = strdup(key);
        ck_assert_ptr_nonnull(s->keys[i]);
        s->n++;
    } else {
        free(s->values[i]);
    }
    s->values[i] = v;
}

void fh_store_free(struct fh_store *s)
{
    int i;

    for (i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->values[i]);
    }
    memset(s, 0, sizeof *s);
}

void fh_reset(struct fakehost *f)
{
    int i;

    for (i = 0; i < f->nsent; i++) {
        free(f->sent[i]);
        xb_stanza_free(f->kept[i]);
    }
    xb_bot_config_free(f->config);
    memset(f, 0, sizeof *f);
}

int64_t fh_last_timer(const struct fakehost *f)
{
    return f->ntimers ? f->timers[f->ntimers - 1] : FH_NO_TIMER;
}

const char *fh_last_sent(const struct fakehost *f)
{
    ck_assert_int_gt(f->nsent, 0);
    return f->sent[f->nsent - 1];
}

/* Sets a list option from "a|b|c". */
static int set_list(struct xb_bot_config *c, const char *name, const char *text,
                    char *err, size_t errlen)
{
    const char *items[64];
    char buf[4096], *p, *save = NULL;
    size_t n = 0;

    snprintf(buf, sizeof buf, "%s", text);
    for (p = strtok_r(buf, "|", &save); p && n < 64;
         p = strtok_r(NULL, "|", &save))
        items[n++] = p;
    return xb_bot_config_set_list(c, name, items, n, err, errlen);
}

struct xb_bot_config *fh_config(const char *kind, const char *const *opts)
{
    const struct xb_bot_kind *k = xb_bot_kind_find(kind);
    struct xb_bot_config *c;
    char name[64], err[300];
    const char *eq;

    ck_assert_ptr_nonnull(k);
    c = xb_bot_config_new(k);
    ck_assert_ptr_nonnull(c);
    for (; opts && *opts; opts++) {
        const struct xb_bot_option *o;

        eq = strchr(*opts, '=');
        ck_assert_ptr_nonnull(eq);
        snprintf(name, sizeof name, "%.*s", (int)(eq - *opts), *opts);
        o = xb_bot_option_find(k, name);
        ck_assert_msg(o != NULL, "no option %s", name);
        ck_assert_msg(
            (o->type == XB_OPT_LIST
                 ? set_list(c, name, eq + 1, err, sizeof err)
                 : xb_bot_config_set(c, name, eq + 1, err, sizeof err)) == 0,
            "%s refused: %s", *opts, err);
    }
    if (xb_bot_config_check(c, err, sizeof err)) {
        xb_bot_config_free(c);
        return NULL;
    }
    return c;
}

struct xb_bot *fh_new(struct fakehost *f, const struct xb_bot_config *cfg,
                      const char *jid, uint64_t seed, uint64_t index)
{
    return xb_bot_new(cfg, jid, &fh_host, f, seed, index);
}

struct xb_bot *fh_bot(struct fakehost *f, const char *kind,
                      const char *const *opts, const char *jid, uint64_t seed,
                      uint64_t index)
{
    xb_bot_config_free(f->config);
    f->config = fh_config(kind, opts);
    ck_assert_msg(f->config != NULL, "the %s config was refused", kind);
    return fh_new(f, f->config, jid, seed, index);
}

void fh_deliver(struct xb_bot *b, const char *xml)
{
    struct xb_stanza *st = NULL;
    enum xb_cond cond = XB_COND_NONE;

    ck_assert_msg(xb_parser_parse_one(xml, strlen(xml), &st, &cond) == 0,
                  "cannot parse %s: %s", xml, xb_cond_name(cond));
    xb_bot_stanza(b, st);
    xb_stanza_free(st);
}

uint64_t fh_counter(const struct xb_bot *b, const char *name)
{
    const struct xb_bot_kind *k = xb_bot_kind_of(b);
    unsigned i, n = xb_bot_ncounters(k);

    for (i = 0; i < n; i++)
        if (!strcmp(xb_bot_counter_at(k, i)->name, name))
            return xb_bot_counter(b, i);
    ck_abort_msg("no counter %s in %s bots", name, k->name);
    return 0;
}
