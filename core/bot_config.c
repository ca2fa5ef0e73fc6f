/*
 * Bot configs: a kind's settings struct, filled with the defaults of its
 * option table and set by name from text (command lines, config files) or
 * numbers (Lua), each value checked against its option's type and range.
 * What a value must be is written once here, for every host's message.
 */
#include "bot_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "utf8.h"

struct xb_bot_config {
    const struct xb_bot_kind *kind;
    void **owned; /* per option: the memory its value lives in, or NULL */
    unsigned nopt;
    max_align_t data[]; /* the kind's settings struct, aligned for any */
};

/* The settings struct's bytes. */
#define DATA(c) ((char *)(c)->data)

const void *xb_bot_config_data(const struct xb_bot_config *c)
{
    return c->data;
}

const struct xb_bot_kind *xb_bot_config_kind(const struct xb_bot_config *c)
{
    return c->kind;
}

static int is_range(const struct xb_bot_option *o)
{
    return o->type == XB_OPT_UINT_RANGE || o->type == XB_OPT_SECONDS_RANGE;
}

static int is_seconds(const struct xb_bot_option *o)
{
    return o->type == XB_OPT_SECONDS || o->type == XB_OPT_SECONDS_RANGE;
}

/* The stored form of a number in the user's unit. */
static uint32_t stored(const struct xb_bot_option *o, double v)
{
    return (uint32_t)(is_seconds(o) ? v * 1000 + 0.5 : v);
}

static void put_numbers(struct xb_bot_config *c, const struct xb_bot_option *o,
                        double lo, double hi)
{
    uint32_t v[2] = {stored(o, lo), stored(o, hi)};

    memcpy(DATA(c) + o->offset, v, (is_range(o) ? 2 : 1) * sizeof v[0]);
}

static void put_ptr(struct xb_bot_config *c, const struct xb_bot_option *o,
                    const void *p, size_t size)
{
    memcpy(DATA(c) + o->offset, p, size);
}

struct xb_bot_config *xb_bot_config_new(const struct xb_bot_kind *k)
{
    const struct xb_bot_option *o;
    struct xb_bot_config *c;
    unsigned n = 0;

    while (k->options[n].name)
        n++;
    c = calloc(1, sizeof *c + k->config_size);
    if (!c)
        return NULL;
    c->owned = calloc(n ? n : 1, sizeof *c->owned);
    if (!c->owned) {
        free(c);
        return NULL;
    }
    c->kind = k;
    c->nopt = n;
    for (o = k->options; o->name; o++) {
        if (o->type == XB_OPT_STRING)
            put_ptr(c, o, &o->def_str, sizeof o->def_str);
        else if (o->type != XB_OPT_LIST && !(o->flags & XB_OPT_REQUIRED))
            put_numbers(c, o, o->def, is_range(o) ? o->def_hi : o->def);
    }
    return c;
}

void xb_bot_config_free(struct xb_bot_config *c)
{
    unsigned i;

    if (!c)
        return;
    for (i = 0; i < c->nopt; i++)
        free(c->owned[i]);
    free(c->owned);
    free(c);
}

/* '_' and '-' spell the same option. */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '_' || *a == '-') && (*b == '_' || *b == '-')))
            return 0;
    return *a == *b;
}

const struct xb_bot_option *xb_bot_option_find(const struct xb_bot_kind *k,
                                               const char *name)
{
    const struct xb_bot_option *o;

    for (o = k->options; name && o->name; o++)
        if (same_name(o->name, name))
            return o;
    return NULL;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return XB_EINVAL;
}

/* What a value of o must be, for error messages. */
static int must_be(const struct xb_bot_option *o, char *err, size_t errlen)
{
    switch (o->type) {
    case XB_OPT_UINT:
        return fail(err, errlen, "a whole number from %.10g to %.10g", o->min,
                    o->max);
    case XB_OPT_SECONDS:
        return fail(err, errlen, "a number of seconds from %.10g to %.10g",
                    o->min, o->max);
    case XB_OPT_UINT_RANGE:
        return fail(
            err, errlen,
            "a range like %.10g-%.10g: whole numbers from %.10g to %.10g, the "
            "first not above the second",
            o->def, o->def_hi, o->min, o->max);
    case XB_OPT_SECONDS_RANGE:
        return fail(
            err, errlen,
            "a range like %.10g-%.10g: seconds from %.10g to %.10g, the first "
            "not above the second",
            o->def, o->def_hi, o->min, o->max);
    case XB_OPT_STRING:
        return fail(err, errlen, "UTF-8 text");
    default:
        return fail(err, errlen, "a non-empty list of UTF-8 texts");
    }
}

static int index_of(const struct xb_bot_config *c,
                    const struct xb_bot_option *o)
{
    return (int)(o - c->kind->options);
}

/* v, already within a uint32_t option's bounds, is a whole number. */
static int whole(double v)
{
    return v == (double)(uint32_t)v;
}

int xb_bot_config_set_number(struct xb_bot_config *c, const char *name,
                             double lo, double hi, char *err, size_t errlen)
{
    const struct xb_bot_option *o = xb_bot_option_find(c->kind, name);

    if (!o)
        return fail(err, errlen, "no such option"), XB_ENOTFOUND;
    if (o->type == XB_OPT_STRING || o->type == XB_OPT_LIST)
        return must_be(o, err, errlen);
    if (!(lo >= o->min && hi <= o->max && lo <= hi) ||
        (!is_range(o) && lo != hi) ||
        (!is_seconds(o) && (!whole(lo) || !whole(hi))))
        return must_be(o, err, errlen);
    put_numbers(c, o, lo, hi);
    return 0;
}

/* A plain decimal number at *s ("12", "0.5"; no sign, no exponent, no
 * hex, digits on both sides of a point); advances *s past it. */
static int number(const char **s, double *v)
{
    char buf[32];
    size_t n = strspn(*s, "0123456789");

    if (n == 0)
        return -1;
    if ((*s)[n] == '.') {
        size_t frac = strspn(*s + n + 1, "0123456789");

        if (frac == 0)
            return -1; /* "1." */
        n += 1 + frac;
    }
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, *s, n);
    buf[n] = '\0';
    errno = 0;
    *v = strtod(buf, NULL);
    if (errno)
        return -1;
    *s += n;
    return 0;
}

static int set_string(struct xb_bot_config *c, const struct xb_bot_option *o,
                      const char *text, char *err, size_t errlen)
{
    size_t n = strlen(text);
    char *copy;
    int i = index_of(c, o);

    if (!xb_utf8_valid_xml(text, n))
        return must_be(o, err, errlen);
    copy = malloc(n + 1);
    if (!copy)
        return fail(err, errlen, "out of memory"), XB_ENOMEM;
    memcpy(copy, text, n + 1);
    free(c->owned[i]);
    c->owned[i] = copy;
    put_ptr(c, o, &copy, sizeof copy);
    return 0;
}

int xb_bot_config_set(struct xb_bot_config *c, const char *name,
                      const char *text, char *err, size_t errlen)
{
    const struct xb_bot_option *o = xb_bot_option_find(c->kind, name);
    const char *s = text;
    double lo, hi;

    if (!o)
        return fail(err, errlen, "no such option"), XB_ENOTFOUND;
    if (!text)
        return must_be(o, err, errlen);
    if (o->type == XB_OPT_STRING)
        return set_string(c, o, text, err, errlen);
    if (o->type == XB_OPT_LIST)
        return must_be(o, err, errlen);
    if (number(&s, &lo))
        return must_be(o, err, errlen);
    hi = lo;
    if (is_range(o) && *s == '-') {
        s++;
        if (number(&s, &hi))
            return must_be(o, err, errlen);
    }
    if (*s)
        return must_be(o, err, errlen);
    return xb_bot_config_set_number(c, name, lo, hi, err, errlen);
}

int xb_bot_config_set_list(struct xb_bot_config *c, const char *name,
                           const char *const *items, size_t n, char *err,
                           size_t errlen)
{
    const struct xb_bot_option *o = xb_bot_option_find(c->kind, name);
    struct xb_bot_list list;
    size_t i, total = 0;
    char **v, *at;

    if (!o)
        return fail(err, errlen, "no such option"), XB_ENOTFOUND;
    if (o->type != XB_OPT_LIST || n == 0 || n > UINT32_MAX / 2 ||
        n > SIZE_MAX / (2 * sizeof *v))
        return must_be(o, err, errlen);
    for (i = 0; i < n; i++) {
        size_t len;

        if (!items[i] || !xb_utf8_valid_xml(items[i], strlen(items[i])))
            return fail(err, errlen, "a list of UTF-8 texts (item %zu is not)",
                        i + 1);
        len = strlen(items[i]) + 1;
        if (total > SIZE_MAX / 2 - len)
            return fail(err, errlen, "out of memory"), XB_ENOMEM;
        total += len;
    }
    /* The pointers and the strings in one allocation. */
    v = malloc(n * sizeof *v + total);
    if (!v)
        return fail(err, errlen, "out of memory"), XB_ENOMEM;
    at = (char *)(v + n);
    for (i = 0; i < n; i++) {
        size_t len = strlen(items[i]) + 1;

        memcpy(at, items[i], len);
        v[i] = at;
        at += len;
    }
    free(c->owned[index_of(c, o)]);
    c->owned[index_of(c, o)] = v;
    list.v = (const char *const *)v;
    list.n = (unsigned)n;
    put_ptr(c, o, &list, sizeof list);
    return 0;
}

int xb_bot_config_check(const struct xb_bot_config *c, char *err, size_t errlen)
{
    const struct xb_bot_option *o;
    const void *p;

    for (o = c->kind->options; o->name; o++) {
        if (!(o->flags & XB_OPT_REQUIRED))
            continue;
        /* A required option has no default: a string or list is NULL, a
         * number 0, until it is set. */
        p = DATA(c) + o->offset;
        if ((o->type == XB_OPT_STRING && !*(const char *const *)p) ||
            (o->type == XB_OPT_LIST && !((const struct xb_bot_list *)p)->n) ||
            (o->type != XB_OPT_STRING && o->type != XB_OPT_LIST &&
             !*(const uint32_t *)p))
            return fail(err, errlen, "%s is required", o->name);
    }
    if (c->kind->check)
        return c->kind->check(c->data, err, errlen);
    return 0;
}

const char *xb_bot_option_type_name(enum xb_opt_type t)
{
    static const char *const names[] = {"integer",       "seconds",
                                        "integer range", "seconds range",
                                        "string",        "list"};

    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

void xb_bot_option_default(const struct xb_bot_option *o, char *buf,
                           size_t size)
{
    if (!size)
        return;
    buf[0] = '\0';
    if (o->flags & XB_OPT_REQUIRED)
        return;
    if (o->type == XB_OPT_STRING) {
        if (o->def_str)
            snprintf(buf, size, "%s", o->def_str);
    } else if (is_range(o)) {
        snprintf(buf, size, "%.10g-%.10g", o->def, o->def_hi);
    } else if (o->type != XB_OPT_LIST) {
        snprintf(buf, size, "%.10g", o->def);
    }
}
