/*
 * Tests for the web presence gateway as a bot kind (core/bot_webpresence.c
 * through core/bot.c, on the fake host): its tables, its refusals, a
 * registration down to the host's store, the pages through xb_bot_http()
 * with their headers, a failing or corrupt store, a restart on the same
 * store, and unregistering. The model under it has its own suite
 * (check_webpresence.c).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "error.h"
#include "fakehost.h"
#include "stanza.h"
#include "testutil.h"
#include "wiretest.h"
#include "xmpp.h"

#define GW "presence.example.org" /* the bot: a service at its own domain */
#define ALICE "alice@example.org"
#define PHONE ALICE "/phone"
#define BOB "bob@example.org"
#define CAROL "carol@example.org"
#define NS_REGISTER "jabber:iq:register"
/* A page token: base64url of 18 random bytes. */
#define TOKEN_LEN 24
#define TOKEN_A "AAAAAAAAAAAAAAAAAAAAAAAA"
#define TOKEN_B "BBBBBBBBBBBBBBBBBBBBBBBB"

#define REG_SET(id, from, payload)                                             \
    "<iq type='set' id='" id "' from='" from "'><query xmlns='" NS_REGISTER    \
    "'>" payload "</query></iq>"
#define SUBMIT(status, jid)                                                    \
    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' "           \
    "type='hidden'><value>jabber:iq:register</value></field>"                  \
    "<field var='show_status_msg'><value>" status "</value></field>"           \
    "<field var='show_full_jid'><value>" jid "</value></field></x>"
#define STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

static struct fakehost host;
static struct fh_store store;
static struct xb_bot *bot;
static struct xb_bot_page page;

/* A new bot with opts on the host (its http_url kept) and the store, as
 * after a restart: the old bot (if any) is freed first, since it borrows
 * the config that fh_bot() replaces. */
static void start(const char *const *opts)
{
    const char *url = host.http_url;

    xb_bot_free(bot);
    bot = NULL;
    fh_reset(&host);
    host.http_url = url;
    host.store = &store;
    host.keep = 1;
    bot = fh_bot(&host, "webpresence", opts, GW, 1, 0);
    ck_assert_ptr_nonnull(bot);
}

static void setup(void)
{
    memset(&host, 0, sizeof host);
    memset(&store, 0, sizeof store);
    memset(&page, 0, sizeof page);
    bot = NULL;
    start(NULL);
    xb_bot_online(bot, NULL);
    ck_assert_int_eq(host.nsent, 0);
}

static void teardown(void)
{
    xb_buf_free(&page.body);
    xb_bot_free(bot);
    bot = NULL;
    fh_reset(&host);
    fh_store_free(&store);
}

/* --- helpers -------------------------------------------------------------- */

/* Delivers xml; the number of stanzas the bot sent for it. */
static int deliver(const char *xml)
{
    int before = host.nsent;

    fh_deliver(bot, xml);
    return host.nsent - before;
}

/* Delivers xml and asserts the bot's one answer is want. */
static void assert_answer(const char *xml, const char *want)
{
    int before = host.nsent;

    fh_deliver(bot, xml);
    ck_assert_int_eq(host.nsent, before + 1);
    ck_assert_str_eq(host.sent[before], want);
}

static int token_ok(const char *t)
{
    size_t i;

    if (strlen(t) != TOKEN_LEN)
        return 0;
    for (i = 0; t[i]; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789-_",
                    t[i]))
            return 0;
    return 1;
}

/* The page address the bot gives: the host's http_url, then the token. */
static const char *base_url(void)
{
    return host.http_url ? host.http_url : FH_HTTP_URL;
}

/*
 * Registers full (a full JID) with the two choices through the register
 * IQ, asserts the three answers exactly and the stored pair, and writes
 * the token (TOKEN_LEN + 1 bytes) into token.
 */
static void register_user(const char *full, int status, int show_jid,
                          char *token)
{
    char bare[128], xml[1024], want[512];
    const char *value;
    int before = host.nsent;

    snprintf(bare, sizeof bare, "%.*s", (int)strcspn(full, "/"), full);
    snprintf(xml, sizeof xml, REG_SET("reg", "%s", SUBMIT("%d", "%d")), full,
             status, show_jid);
    fh_deliver(bot, xml);
    ck_assert_int_eq(host.nsent, before + 3);
    snprintf(want, sizeof want, "<iq type='result' to='%s' id='reg'/>", full);
    ck_assert_str_eq(host.sent[before], want);

    value = fh_store_get(&store, bare);
    ck_assert_msg(value != NULL, "%s not stored", bare);
    ck_assert_uint_eq(strlen(value), TOKEN_LEN + 4);
    snprintf(token, TOKEN_LEN + 1, "%s", value);
    ck_assert_msg(token_ok(token), "bad token in '%s'", value);
    snprintf(want, sizeof want, " %d %d", status, show_jid);
    ck_assert_str_eq(value + TOKEN_LEN, want);

    snprintf(want, sizeof want,
             "<message to='%s' type='normal'><body>Your web presence page: "
             "%s%s</body></message>",
             bare, base_url(), token);
    ck_assert_str_eq(host.sent[before + 1], want);
    snprintf(want, sizeof want, "<presence to='%s' type='subscribe'/>", bare);
    ck_assert_str_eq(host.sent[before + 2], want);
}

/* GETs len bytes of path from the bot into page; its status. */
static int get(const char *path, size_t len)
{
    xb_buf_free(&page.body);
    ck_assert_int_eq(xb_bot_http(bot, path, len, &page), 0);
    ck_assert_ptr_nonnull(page.type);
    ck_assert_ptr_nonnull(page.headers);
    ck_assert_ptr_nonnull(page.body.data);
    return page.status;
}

static int get_s(const char *path)
{
    return get(path, strlen(path));
}

/* The page at token plus suffix. */
static int get_page(const char *token, const char *suffix)
{
    char path[64];

    snprintf(path, sizeof path, "%s%s", token, suffix);
    return get_s(path);
}

/* The value of header name in page (NULL: absent); each name once. */
static const char *header(const char *name)
{
    const char *const *h;
    const char *found = NULL;

    for (h = page.headers; *h; h += 2) {
        ck_assert_msg(h[1] != NULL, "header %s without a value", h[0]);
        if (!strcmp(h[0], name)) {
            ck_assert_msg(found == NULL, "header %s twice", name);
            found = h[1];
        }
    }
    return found;
}

static void assert_header(const char *name, const char *want)
{
    const char *v = header(name);

    ck_assert_msg(v != NULL, "no %s header", name);
    ck_assert_str_eq(v, want);
}

/* The headers every answer carries: no token leaves in a Referer, no
 * type is guessed. */
static void assert_safe_headers(void)
{
    assert_header("Referrer-Policy", "no-referrer");
    assert_header("X-Content-Type-Options", "nosniff");
}

static void assert_not_found(void)
{
    ck_assert_int_eq(page.status, 404);
    ck_assert_str_eq(page.type, "text/plain; charset=utf-8");
    ck_assert_str_eq(page.body.data, "No such page.\n");
    assert_header("Cache-Control", "no-store");
    assert_safe_headers();
}

/* The log line i has level and contains text. */
static void assert_log(int i, enum xb_log_level level, const char *text)
{
    ck_assert_int_lt(i, host.nlogs);
    ck_assert_int_eq(host.levels[i], level);
    wt_assert_has(host.logs[i], text);
}

/* --- a small JSON reader (RFC 8259): does the .json page parse? ---------- */

struct json {
    const char *p, *end;
    int depth;
};

static void json_ws(struct json *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
        j->p++;
}

static int json_hex(struct json *j, unsigned *v)
{
    int i;

    *v = 0;
    if (j->end - j->p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        char c = *j->p++;

        *v <<= 4;
        if (c >= '0' && c <= '9')
            *v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            *v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            *v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    return 0;
}

/* Appends byte c to out (size bytes, NULL: none) if it fits. */
static void json_put(char *out, size_t size, size_t *n, unsigned c)
{
    if (out && *n + 1 < size)
        out[(*n)++] = (char)c;
}

static void json_put_utf8(char *out, size_t size, size_t *n, unsigned c)
{
    if (c < 0x80) {
        json_put(out, size, n, c);
    } else if (c < 0x800) {
        json_put(out, size, n, 0xC0 | c >> 6);
        json_put(out, size, n, 0x80 | (c & 63));
    } else if (c < 0x10000) {
        json_put(out, size, n, 0xE0 | c >> 12);
        json_put(out, size, n, 0x80 | (c >> 6 & 63));
        json_put(out, size, n, 0x80 | (c & 63));
    } else {
        json_put(out, size, n, 0xF0 | c >> 18);
        json_put(out, size, n, 0x80 | (c >> 12 & 63));
        json_put(out, size, n, 0x80 | (c >> 6 & 63));
        json_put(out, size, n, 0x80 | (c & 63));
    }
}

/* A string, decoded into out (NULL: only checked). 0 or -1. */
static int json_string(struct json *j, char *out, size_t size)
{
    size_t n = 0;
    unsigned c, lo;

    if (j->p >= j->end || *j->p != '"')
        return -1;
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        c = (unsigned char)*j->p++;
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            json_put(out, size, &n, c);
            continue;
        }
        if (j->p >= j->end)
            return -1;
        switch (c = (unsigned char)*j->p++) {
        case '"':
        case '\\':
        case '/':
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u':
            if (json_hex(j, &c))
                return -1;
            if (c >= 0xD800 && c < 0xDC00) {
                if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
                    return -1;
                j->p += 2;
                if (json_hex(j, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
            } else if (c >= 0xDC00 && c < 0xE000) {
                return -1;
            }
            json_put_utf8(out, size, &n, c);
            continue;
        default:
            return -1;
        }
        json_put(out, size, &n, c);
    }
    if (j->p >= j->end)
        return -1;
    j->p++;
    if (out)
        out[n] = '\0';
    return 0;
}

static int json_digits(struct json *j)
{
    const char *start = j->p;

    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > start ? 0 : -1;
}

static int json_number(struct json *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (json_digits(j))
        return -1;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (json_digits(j))
            return -1;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (json_digits(j))
            return -1;
    }
    return 0;
}

static int json_literal(struct json *j, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
        return -1;
    j->p += n;
    return 0;
}

static int json_object(struct json *j, const char *key, char *out, size_t size,
                       int *found);

static int json_value(struct json *j)
{
    int rc = -1;

    json_ws(j);
    if (j->p >= j->end || ++j->depth > 32)
        return -1;
    switch (*j->p) {
    case '{':
        rc = json_object(j, NULL, NULL, 0, NULL);
        break;
    case '[':
        j->p++;
        json_ws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            rc = 0;
            break;
        }
        for (;;) {
            if (json_value(j))
                break;
            json_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == ']') {
                j->p++;
                rc = 0;
            }
            break;
        }
        break;
    case '"':
        rc = json_string(j, NULL, 0);
        break;
    case 't':
        rc = json_literal(j, "true");
        break;
    case 'f':
        rc = json_literal(j, "false");
        break;
    case 'n':
        rc = json_literal(j, "null");
        break;
    default:
        rc = json_number(j);
    }
    j->depth--;
    return rc;
}

/* An object; the string value of member key (if key) goes to out and
 * *found counts the members named key. */
static int json_object(struct json *j, const char *key, char *out, size_t size,
                       int *found)
{
    char name[64];

    json_ws(j);
    if (j->p >= j->end || *j->p != '{')
        return -1;
    j->p++;
    json_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        json_ws(j);
        if (json_string(j, name, sizeof name))
            return -1;
        json_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return -1;
        j->p++;
        json_ws(j);
        if (key && !strcmp(name, key)) {
            (*found)++;
            if (json_string(j, out, size))
                return -1;
        } else if (json_value(j)) {
            return -1;
        }
        json_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return 0;
        }
        return -1;
    }
}

/* page's body must be one JSON object with string member key at most once;
 * its value into out ("" if absent). */
static void json_member(const char *key, char *out, size_t size)
{
    struct json j = {page.body.data, page.body.data + page.body.len, 0};
    int found = 0;

    out[0] = '\0';
    ck_assert_msg(json_object(&j, key, out, size, &found) == 0,
                  "not a JSON object: %s", page.body.data);
    json_ws(&j);
    ck_assert_msg(j.p == j.end, "JSON followed by more: %s", page.body.data);
    ck_assert_int_le(found, 1);
}

static void assert_json(const char *key, const char *want)
{
    char v[512];

    json_member(key, v, sizeof v);
    ck_assert_str_eq(v, want);
}

START_TEST(test_bot_webpresence_json_reader)
{
    /* The reader itself: it refuses what is not JSON. */
    static const char *const bad[] = {
        "",           "{",          "{\"a\":}",        "{\"a\":\"b\",}",
        "{'a':1}",    "{\"a\":01}", "{\"a\":\"\\x\"}", "{\"a\":\"\x01\"}",
        "{\"a\":1}x", "[1]",        "{\"a\":tru}",     "{\"a\":\"\\ud800\"}",
    };
    char v[64];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct json j = {bad[i], bad[i] + strlen(bad[i]), 0};
        int found = 0;

        ck_assert_msg(json_object(&j, "zz", v, sizeof v, &found) != 0 ||
                          (json_ws(&j), j.p != j.end),
                      "accepted %s", bad[i]);
    }
    xb_buf_free(&page.body);
    ck_assert_int_eq(xb_buf_puts(&page.body,
                                 " {\"n\":[1,-2.5e3,{\"x\":null}],\"t\":true,"
                                 "\"show\":\"a\\u00e9\\ud83d\\ude00\\n\"}\n"),
                     0);
    assert_json("show", "a\xC3\xA9\xF0\x9F\x98\x80\n");
    assert_json("missing", "");
}
END_TEST

/* --- the kind's tables -------------------------------------------------- */

START_TEST(test_bot_webpresence_registry)
{
    const struct xb_bot_kind *k = xb_bot_kind_find("webpresence");
    static const char *const counters[] = {
        "stanzas",         "iq_requests",      "registered",
        "unregistered",    "presence_updates", "pages_served",
        "pages_not_found", "store_failures"};
    unsigned i, in_list = 0;
    char where[8];

    ck_assert_ptr_nonnull(k);
    for (i = 0; xb_bot_kinds[i]; i++)
        in_list += xb_bot_kinds[i] == k;
    ck_assert_uint_eq(in_list, 1);
    ck_assert_ptr_eq(xb_bot_kind_of(bot), k);
    /* A service at a domain of its own, with pages. */
    ck_assert_uint_eq(k->flags & XB_KIND_SERVICE, XB_KIND_SERVICE);
    ck_assert_ptr_nonnull(k->http);
    ck_assert_uint_eq(xb_bot_ncounters(k), 8);
    for (i = 0; i < 8; i++) {
        ck_assert_str_eq(xb_bot_counter_at(k, i)->name, counters[i]);
        ck_assert_uint_eq(fh_counter(bot, counters[i]), 0);
    }
    ck_assert_str_eq(xb_bot_jid(bot), GW);
    ck_assert_str_eq(xb_bot_state(bot, where, sizeof where), "serving");
    ck_assert_str_eq(where, "");
    ck_assert_int_eq(xb_bot_ok(bot), 1);
    xb_bot_offline(bot);
    ck_assert_str_eq(xb_bot_state(bot, where, sizeof where), "offline");
    xb_bot_online(bot, NULL);
    xb_bot_stop(bot);
    ck_assert_str_eq(xb_bot_state(bot, where, sizeof where), "stopped");
}
END_TEST

START_TEST(test_bot_webpresence_no_pages_elsewhere)
{
    struct fakehost f = {0};
    struct xb_bot *echo = fh_bot(&f, "echo", NULL, "echo@example.org", 1, 0);

    /* xb_bot_http() zeroes the page, then refuses for a kind without. */
    ck_assert_ptr_nonnull(echo);
    page.status = 7;
    ck_assert_int_eq(xb_bot_http(echo, TOKEN_A, TOKEN_LEN, &page),
                     XB_ENOTFOUND);
    ck_assert_int_eq(page.status, 0);
    ck_assert_ptr_null(page.type);
    ck_assert_ptr_null(page.headers);
    ck_assert_ptr_null(page.body.data);
    xb_bot_free(echo);
    fh_reset(&f);
}
END_TEST

START_TEST(test_bot_webpresence_option_defaults)
{
    const struct xb_bot_kind *k = xb_bot_kind_find("webpresence");
    static const struct {
        const char *name, *def;
    } want[] = {{"refresh", "5"},
                {"max_users", "100000"},
                {"max_resources", "16"},
                {"max_status", "1024"}};
    const struct xb_bot_option *o;
    char def[32];
    size_t i, n = 0;

    for (o = k->options; o->name; o++)
        n++;
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    for (i = 0; i < n; i++) {
        o = xb_bot_option_find(k, want[i].name);
        ck_assert_msg(o != NULL, "no option %s", want[i].name);
        ck_assert_int_eq(o->type, XB_OPT_UINT);
        ck_assert_uint_eq(o->flags & XB_OPT_REQUIRED, 0);
        xb_bot_option_default(o, def, sizeof def);
        ck_assert_str_eq(def, want[i].def);
    }
    ck_assert_ptr_eq(xb_bot_option_find(k, "max-users"),
                     xb_bot_option_find(k, "max_users"));
}
END_TEST

START_TEST(test_bot_webpresence_option_ranges)
{
    struct xb_bot_config *c =
        xb_bot_config_new(xb_bot_kind_find("webpresence"));
    static const struct {
        const char *name, *text;
        int ok;
    } cases[] = {
        {"refresh", "0", 1},           {"refresh", "3600", 1},
        {"refresh", "3601", 0},        {"refresh", "-1", 0},
        {"refresh", "1.5", 0},         {"max_users", "0", 1},
        {"max_users", "100000000", 1}, {"max_users", "100000001", 0},
        {"max_resources", "1", 1},     {"max_resources", "1000", 1},
        {"max_resources", "0", 0},     {"max_resources", "1001", 0},
        {"max_status", "1", 1},        {"max_status", "65536", 1},
        {"max_status", "0", 0},        {"max_status", "65537", 0},
    };
    char err[300];
    size_t i;

    ck_assert_ptr_nonnull(c);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        ck_assert_msg((xb_bot_config_set(c, cases[i].name, cases[i].text, err,
                                         sizeof err) == 0) == cases[i].ok,
                      "%s=%s: %s", cases[i].name, cases[i].text, err);
    }
    ck_assert_int_eq(xb_bot_config_set(c, "refresh", "9999", err, sizeof err),
                     XB_EINVAL);
    ck_assert_str_eq(err, "a whole number from 0 to 3600");
    ck_assert_int_eq(xb_bot_config_set(c, "domain", "x", err, sizeof err),
                     XB_ENOTFOUND);
    ck_assert_int_eq(xb_bot_config_check(c, err, sizeof err), 0);
    xb_bot_config_free(c);
}
END_TEST

/* The options reach the model: refresh in the HTML page, max_status in
 * the status text kept. */
START_TEST(test_bot_webpresence_options_used)
{
    static const char *const opts[] = {"refresh=30", "max_status=4", NULL};
    static const char *const never[] = {"refresh=0", NULL};
    char t[TOKEN_LEN + 1];

    start(opts);
    register_user(PHONE, 1, 0, t);
    ck_assert_int_eq(deliver("<presence from='" PHONE "'><status>abcdefgh"
                             "</status></presence>"),
                     0);
    ck_assert_int_eq(get_page(t, ""), 200);
    wt_assert_has(page.body.data,
                  "<meta http-equiv=\"refresh\" content=\"30\">");
    ck_assert_int_eq(get_page(t, ".json"), 200);
    assert_json("status", "abcd");

    start(never);
    ck_assert_int_eq(get_page(t, ""), 200); /* loaded from the store */
    wt_assert_lacks(page.body.data, "http-equiv=\"refresh\"");
}
END_TEST

/* --- what the host must provide ----------------------------------------- */

START_TEST(test_bot_webpresence_needs_http_url)
{
    struct fakehost f = {0};
    struct xb_bot *b;

    /* A host with no http_url hook at all (and no store). */
    f.config = fh_config("webpresence", NULL);
    b = xb_bot_new(f.config, GW, &fh_host_bare, &f, 1, 0);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(f.nlogs, 1);
    ck_assert_int_eq(f.levels[0], XB_LOG_ERROR);
    wt_assert_has(f.logs[0], GW ": the web presence gateway needs a host that "
                                "serves web pages");
    ck_assert_int_eq(f.nsent, 0);
    fh_reset(&f);

    /* A hook that says it serves none; the store is then not read. */
    f.config = fh_config("webpresence", NULL);
    f.store = &store;
    f.no_http_url = 1;
    fh_store_set(&store, ALICE, TOKEN_A " 0 0");
    store.loads = 0; /* the fixture's bot loaded it */
    b = xb_bot_new(f.config, GW, &fh_host, &f, 1, 0);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(f.nlogs, 1);
    ck_assert_int_eq(f.levels[0], XB_LOG_ERROR);
    ck_assert_int_eq(store.loads, 0);
    fh_reset(&f);
}
END_TEST

/* Without storage hooks the bot works in memory and says so once. */
START_TEST(test_bot_webpresence_memory_only)
{
    struct xb_bot_host no_store = fh_host;
    char t[TOKEN_LEN + 1];
    const char *body;

    no_store.store_load = NULL;
    no_store.store_put = NULL;
    no_store.store_del = NULL;
    xb_bot_free(bot);
    fh_reset(&host);
    host.keep = 1; /* no store attached: a call to one would fail the test */
    host.config = fh_config("webpresence", NULL);
    bot = xb_bot_new(host.config, GW, &no_store, &host, 1, 0);
    ck_assert_ptr_nonnull(bot);
    ck_assert_int_eq(host.nlogs, 1);
    ck_assert_int_eq(host.levels[0], XB_LOG_WARN);
    wt_assert_has(host.logs[0], "registrations are kept in memory only");
    xb_bot_online(bot, NULL);

    /* register_user() reads the token from the store: here from the
     * message instead. */
    ck_assert_int_eq(deliver(REG_SET("m", PHONE, SUBMIT("0", "0"))), 3);
    ck_assert_str_eq(host.sent[0], "<iq type='result' to='" PHONE "' id='m'/>");
    body = strstr(host.sent[1], FH_HTTP_URL);
    ck_assert_ptr_nonnull(body);
    snprintf(t, sizeof t, "%s", body + strlen(FH_HTTP_URL));
    ck_assert(token_ok(t));
    ck_assert_int_eq(get_page(t, ""), 200);
    ck_assert_int_eq(deliver(REG_SET("u", PHONE, "<remove/>")), 3);
    ck_assert_int_eq(get_page(t, ""), 404);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 1);
    ck_assert_uint_eq(fh_counter(bot, "unregistered"), 1);
    ck_assert_uint_eq(fh_counter(bot, "store_failures"), 0);
    ck_assert_int_eq(host.nlogs, 1);
}
END_TEST

/* The store hooks come all three or not at all: a host with two of them
 * is a host without, and none is called. */
START_TEST(test_bot_webpresence_partial_store_hooks)
{
    struct xb_bot_host partial = fh_host;

    partial.store_del = NULL;
    xb_bot_free(bot);
    fh_reset(&host);
    host.store = &store;
    fh_store_set(&store, ALICE, TOKEN_A " 0 0");
    store.loads = 0; /* the fixture's bot loaded it */
    host.config = fh_config("webpresence", NULL);
    bot = xb_bot_new(host.config, GW, &partial, &host, 1, 0);
    ck_assert_ptr_nonnull(bot);
    ck_assert_int_eq(host.nlogs, 1);
    ck_assert_int_eq(host.levels[0], XB_LOG_WARN);
    ck_assert_int_eq(get_page(TOKEN_A, ""), 404);
    ck_assert_int_eq(
        deliver(REG_SET("p", "bob@example.org/x", SUBMIT("0", "0"))), 3);
    ck_assert_int_eq(store.loads + store.puts + store.dels, 0);
    ck_assert_int_eq(store.n, 1);
}
END_TEST

START_TEST(test_bot_webpresence_page_address_is_the_hosts)
{
    char t[TOKEN_LEN + 1];

    host.http_url = "https://example.net/presence/";
    start(NULL);
    register_user(PHONE, 0, 0, t); /* asserts the address in the message */
    ck_assert_int_eq(deliver("<iq type='get' id='g' from='" PHONE "'><query "
                             "xmlns='" NS_REGISTER "'/></iq>"),
                     1);
    wt_assert_has(host.sent[3], "https://example.net/presence/");
    wt_assert_has(host.sent[3], t);
    wt_assert_lacks(host.sent[3], FH_HTTP_URL);
}
END_TEST

/* --- registering -------------------------------------------------------- */

START_TEST(test_bot_webpresence_disco)
{
    const struct xb_stanza *r, *q, *id, *f;
    int reg_feature = 0;

    ck_assert_int_eq(deliver("<iq type='get' id='d1' from='" PHONE "' to='" GW
                             "'><query xmlns='" XB_NS_DISCO_INFO "'/></iq>"),
                     1);
    r = host.kept[0];
    wt_assert_attr(r, "type", "result");
    wt_assert_attr(r, "to", PHONE);
    wt_assert_attr(r, "id", "d1");
    q = xb_stanza_child(r, XB_NS_DISCO_INFO, "query");
    ck_assert_ptr_nonnull(q);
    id = xb_stanza_child(q, XB_NS_DISCO_INFO, "identity");
    ck_assert_ptr_nonnull(id);
    wt_assert_attr(id, "category", "component");
    wt_assert_attr(id, "type", "presence");
    for (f = xb_stanza_child(q, XB_NS_DISCO_INFO, "feature"); f;
         f = xb_stanza_next_child(f, XB_NS_DISCO_INFO, "feature"))
        reg_feature += !strcmp(xb_stanza_attr(f, NULL, "var"), NS_REGISTER);
    ck_assert_int_eq(reg_feature, 1);
    /* No items; a node there is none. */
    assert_answer("<iq type='get' id='d2' from='" PHONE
                  "'><query xmlns='" XB_NS_DISCO_ITEMS "'/></iq>",
                  "<iq type='result' to='" PHONE
                  "' id='d2'><query xmlns='" XB_NS_DISCO_ITEMS "'/></iq>");
    assert_answer("<iq type='get' id='d3' from='" PHONE
                  "'><query xmlns='" XB_NS_DISCO_INFO "' node='x'/></iq>",
                  "<iq type='error' to='" PHONE
                  "' id='d3'><error type='cancel'>"
                  "<item-not-found xmlns='" STANZAS "'/>"
                  "</error></iq>");
    ck_assert_uint_eq(fh_counter(bot, "iq_requests"), 3);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 0);
}
END_TEST

START_TEST(test_bot_webpresence_register)
{
    const struct xb_stanza *q, *x, *f;
    char t[TOKEN_LEN + 1], t2[TOKEN_LEN + 1];
    int fields = 0;

    /* The form first. */
    ck_assert_int_eq(deliver("<iq type='get' id='g1' from='" PHONE "'><query "
                             "xmlns='" NS_REGISTER "'/></iq>"),
                     1);
    q = xb_stanza_child(host.kept[0], NS_REGISTER, "query");
    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_null(xb_stanza_child(q, NS_REGISTER, "registered"));
    x = xb_stanza_child(q, XB_NS_DATA, "x");
    ck_assert_ptr_nonnull(x);
    wt_assert_attr(x, "type", "form");
    for (f = xb_stanza_child(x, XB_NS_DATA, "field"); f;
         f = xb_stanza_next_child(f, XB_NS_DATA, "field")) {
        const char *var = xb_stanza_attr(f, NULL, "var");

        if (!strcmp(var, "show_status_msg") || !strcmp(var, "show_full_jid")) {
            wt_assert_attr(f, "type", "boolean");
            ck_assert_str_eq(xb_stanza_child_text(f, XB_NS_DATA, "value"), "0");
            fields++;
        }
    }
    ck_assert_int_eq(fields, 2);
    ck_assert_int_eq(store.n, 0);

    /* The set: answers, the stored pair, the counters. */
    register_user(PHONE, 1, 0, t);
    ck_assert_int_eq(store.n, 1);
    ck_assert_int_eq(store.puts, 1);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 1);
    ck_assert_uint_eq(fh_counter(bot, "iq_requests"), 2);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 2);
    ck_assert_uint_eq(fh_counter(bot, "store_failures"), 0);

    /* The form again: registered, with the address. */
    ck_assert_int_eq(deliver("<iq type='get' id='g2' from='" ALICE "/laptop'>"
                             "<query xmlns='" NS_REGISTER "'/></iq>"),
                     1);
    q = xb_stanza_child(host.kept[4], NS_REGISTER, "query");
    ck_assert_ptr_nonnull(xb_stanza_child(q, NS_REGISTER, "registered"));
    wt_assert_has(host.sent[4], FH_HTTP_URL);
    wt_assert_has(host.sent[4], t);

    /* Changed choices: the same token, the pair replaced, not counted as
     * a new user; the subscription is asked again (no answer yet). */
    ck_assert_int_eq(deliver(REG_SET("c", ALICE "/laptop", SUBMIT("0", "1"))),
                     2);
    ck_assert_str_eq(host.sent[5],
                     "<iq type='result' to='" ALICE "/laptop' id='c'/>");
    ck_assert_str_eq(host.sent[6],
                     "<presence to='" ALICE "' type='subscribe'/>");
    ck_assert_int_eq(store.n, 1);
    snprintf(t2, sizeof t2, "%s", fh_store_get(&store, ALICE));
    ck_assert_str_eq(t2, t);
    ck_assert_str_eq(fh_store_get(&store, ALICE) + TOKEN_LEN, " 0 1");
    ck_assert_uint_eq(fh_counter(bot, "registered"), 1);

    /* Once the user said subscribed, a change asks nothing more. */
    ck_assert_int_eq(deliver("<presence from='" ALICE "' type='subscribed'/>"),
                     0);
    ck_assert_int_eq(deliver(REG_SET("c2", PHONE, SUBMIT("1", "1"))), 1);
    ck_assert_str_eq(fh_store_get(&store, ALICE) + TOKEN_LEN, " 1 1");

    /* A second user gets a token of their own. */
    register_user(BOB "/desk", 0, 0, t2);
    ck_assert_str_ne(t2, t);
    ck_assert_int_eq(store.n, 2);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 2);
    ck_assert_int_eq(get_page(t, ""), 200);
    ck_assert_int_eq(get_page(t2, ""), 200);
}
END_TEST

START_TEST(test_bot_webpresence_bad_form)
{
    /* Refused by the model; nothing stored, nothing counted. */
    ck_assert_int_eq(deliver(REG_SET("b1", PHONE, "<username>a</username>")),
                     1);
    wt_assert_has(host.sent[0], "<bad-request xmlns='" STANZAS "'/>");
    ck_assert_int_eq(
        deliver(REG_SET("b2", PHONE,
                        "<x xmlns='jabber:x:data' type='submit'><field "
                        "var='FORM_TYPE' type='hidden'><value>urn:other"
                        "</value></field></x>")),
        1);
    wt_assert_has(host.sent[1], "type='error'");
    ck_assert_int_eq(store.puts, 0);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 0);
    ck_assert_uint_eq(fh_counter(bot, "iq_requests"), 2);
}
END_TEST

START_TEST(test_bot_webpresence_max_users)
{
    static const char *const opts[] = {"max_users=1", NULL};
    char t[TOKEN_LEN + 1], t2[TOKEN_LEN + 1];

    start(opts);
    register_user(PHONE, 0, 0, t);
    assert_answer(REG_SET("full", BOB "/desk", SUBMIT("0", "0")),
                  "<iq type='error' to='" BOB "/desk' id='full'><error "
                  "type='wait'>"
                  "<resource-constraint xmlns='" STANZAS "'/>"
                  "<text xmlns='" STANZAS "' xml:lang='en'>"
                  "the gateway is full</text></error></iq>");
    ck_assert_int_eq(store.n, 1);
    ck_assert_ptr_null(fh_store_get(&store, BOB));
    ck_assert_uint_eq(fh_counter(bot, "registered"), 1);
    /* A registered user may still change their choices... */
    ck_assert_int_eq(deliver(REG_SET("c", PHONE, SUBMIT("1", "0"))), 2);
    wt_assert_has(host.sent[host.nsent - 2], "type='result'");
    /* ... and leave, making room. */
    ck_assert_int_eq(deliver(REG_SET("u", PHONE, "<remove/>")), 3);
    register_user(BOB "/desk", 0, 0, t2);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 2);
}
END_TEST

/* --- presence and pages --------------------------------------------------- */

START_TEST(test_bot_webpresence_presence_pages)
{
    char t[TOKEN_LEN + 1], show[32];

    register_user(PHONE, 1, 1, t);
    /* Registered, nothing heard yet: offline. */
    ck_assert_int_eq(get_page(t, ""), 200);
    ck_assert_str_eq(page.type, "text/html; charset=utf-8");
    wt_assert_has(page.body.data, "data-show=\"offline\"");
    ck_assert_int_eq(get_page(t, ".json"), 200);
    assert_json("show", "offline");

    ck_assert_int_eq(deliver("<presence from='" PHONE "' to='" GW "'>"
                             "<show>away</show><status>In a meeting</status>"
                             "</presence>"),
                     0);
    ck_assert_uint_eq(fh_counter(bot, "presence_updates"), 1);
    ck_assert_int_eq(get_page(t, ""), 200);
    wt_assert_has(page.body.data, "data-show=\"away\"");
    wt_assert_has(page.body.data, "In a meeting");
    wt_assert_has(page.body.data, ALICE);
    ck_assert_int_eq(get_page(t, ".json"), 200);
    ck_assert_str_eq(page.type, "application/json");
    json_member("show", show, sizeof show);
    ck_assert_str_eq(show, "away");
    assert_json("status", "In a meeting");
    assert_json("jid", ALICE);
    ck_assert_int_eq(get_page(t, ".svg"), 200);
    ck_assert_str_eq(page.type, "image/svg+xml");
    ck_assert_int_eq(strncmp(page.body.data, "<svg ", 5), 0);
    wt_assert_has(page.body.data, "In a meeting");

    /* A second resource, more available, wins; then it leaves. */
    ck_assert_int_eq(deliver("<presence from='" ALICE "/laptop'><show>chat"
                             "</show></presence>"),
                     0);
    ck_assert_int_eq(get_page(t, ".json"), 200);
    assert_json("show", "chat");
    assert_json("status", "");
    ck_assert_int_eq(deliver("<presence from='" ALICE "/laptop' "
                             "type='unavailable'/>"),
                     0);
    ck_assert_int_eq(get_page(t, ".json"), 200);
    assert_json("show", "away");
    ck_assert_int_eq(deliver("<presence from='" PHONE "' type='unavailable'/>"),
                     0);
    ck_assert_int_eq(get_page(t, ".json"), 200);
    assert_json("show", "offline");
    ck_assert_uint_eq(fh_counter(bot, "presence_updates"), 4);
    ck_assert_uint_eq(fh_counter(bot, "pages_served"), 8);
    ck_assert_uint_eq(fh_counter(bot, "pages_not_found"), 0);
}
END_TEST

START_TEST(test_bot_webpresence_choices_hide)
{
    char t[TOKEN_LEN + 1];

    /* Neither the status text nor the JID unless chosen. */
    register_user(PHONE, 0, 0, t);
    ck_assert_int_eq(deliver("<presence from='" PHONE "'><show>dnd</show>"
                             "<status>Secret plans</status></presence>"),
                     0);
    ck_assert_int_eq(get_page(t, ""), 200);
    wt_assert_has(page.body.data, "data-show=\"dnd\"");
    wt_assert_lacks(page.body.data, "Secret plans");
    wt_assert_lacks(page.body.data, ALICE);
    ck_assert_int_eq(get_page(t, ".json"), 200);
    assert_json("show", "dnd");
    assert_json("status", "");
    assert_json("jid", "");
    ck_assert_int_eq(get_page(t, ".svg"), 200);
    wt_assert_lacks(page.body.data, "Secret plans");
    wt_assert_lacks(page.body.data, ALICE);
    /* Text from users is escaped in the page. */
    ck_assert_int_eq(deliver(REG_SET("c", PHONE, SUBMIT("1", "0"))), 2);
    ck_assert_int_eq(deliver("<presence from='" PHONE "'><status>&lt;script"
                             "&gt;x&lt;/script&gt;</status></presence>"),
                     0);
    ck_assert_int_eq(get_page(t, ""), 200);
    wt_assert_lacks(page.body.data, "<script");
    wt_assert_has(page.body.data, "&lt;script&gt;");
}
END_TEST

START_TEST(test_bot_webpresence_headers)
{
    char t[TOKEN_LEN + 1];
    const char *csp;

    register_user(PHONE, 0, 0, t);
    ck_assert_int_eq(get_page(t, ""), 200);
    assert_safe_headers();
    assert_header("Cache-Control", "no-cache");
    csp = header("Content-Security-Policy");
    ck_assert_ptr_nonnull(csp);
    wt_assert_has(csp, "default-src 'none'");
    /* Anyone may embed the page: no framing refusal. */
    ck_assert_ptr_null(header("X-Frame-Options"));
    ck_assert_ptr_null(header("Access-Control-Allow-Origin"));
    ck_assert_int_eq(get_page(t, ".json"), 200);
    assert_safe_headers();
    assert_header("Access-Control-Allow-Origin", "*");
    ck_assert_int_eq(get_page(t, ".svg"), 200);
    assert_safe_headers();
    assert_header("Access-Control-Allow-Origin", "*");
    wt_assert_has(header("Content-Security-Policy"), "default-src 'none'");
    ck_assert_int_eq(get_page(TOKEN_A, ""), 404);
    assert_not_found();
}
END_TEST

START_TEST(test_bot_webpresence_not_found)
{
    enum { BIG = 100 * 1024 };
    char t[TOKEN_LEN + 1], path[64];
    char *big = malloc(BIG);
    uint64_t served;
    int misses = 0;

    ck_assert_ptr_nonnull(big);
    register_user(PHONE, 0, 0, t);
    ck_assert_int_eq(get_page(t, ""), 200);
    served = fh_counter(bot, "pages_served");

#define MISS(path_, len_)                                                      \
    do {                                                                       \
        ck_assert_msg(get(path_, len_) == 404, "%.60s: %d", path_,             \
                      page.status);                                            \
        assert_not_found();                                                    \
        misses++;                                                              \
    } while (0)

    MISS(TOKEN_A, TOKEN_LEN); /* well formed, no registration */
    MISS("", 0);
    MISS("../x", 4);
    MISS("/", 1);
    MISS(".json", 5);
    MISS(".svg", 4);
    MISS(t, TOKEN_LEN - 1); /* a prefix */
    snprintf(path, sizeof path, "%s.html", t);
    MISS(path, strlen(path));
    snprintf(path, sizeof path, "%s/", t);
    MISS(path, strlen(path));
    snprintf(path, sizeof path, "../%s", t);
    MISS(path, strlen(path));
    snprintf(path, sizeof path, "%s.json.svg", t);
    MISS(path, strlen(path));
    snprintf(path, sizeof path, "%s", t);
    path[0] = path[0] == 'A' ? 'B' : 'A'; /* one character off */
    MISS(path, TOKEN_LEN);
    /* NUL bytes: inside, and after the token (the length counts). */
    snprintf(path, sizeof path, "%s", t);
    path[5] = '\0';
    MISS(path, TOKEN_LEN);
    snprintf(path, sizeof path, "%s", t);
    MISS(path, TOKEN_LEN + 1);
    memcpy(path + TOKEN_LEN, "\0.json", 6);
    MISS(path, TOKEN_LEN + 6);
    /* 100 kB, as is and ending in a suffix. */
    memset(big, 'A', BIG);
    MISS(big, BIG);
    memcpy(big + BIG - 5, ".json", 5);
    MISS(big, BIG);
    memcpy(big, t, TOKEN_LEN);
    MISS(big, BIG);
#undef MISS

    ck_assert_uint_eq(fh_counter(bot, "pages_not_found"), (uint64_t)misses);
    ck_assert_uint_eq(fh_counter(bot, "pages_served"), served);
    /* The length is what counts, not a NUL: the token inside more bytes. */
    memcpy(big, t, TOKEN_LEN);
    ck_assert_int_eq(get(big, TOKEN_LEN), 200);
    memcpy(big + TOKEN_LEN, ".svgzzz", 7);
    ck_assert_int_eq(get(big, TOKEN_LEN + 4), 200);
    ck_assert_str_eq(page.type, "image/svg+xml");
    free(big);
}
END_TEST

/* --- other stanzas ----------------------------------------------------------
 */

START_TEST(test_bot_webpresence_messages_ignored)
{
    char t[TOKEN_LEN + 1];

    register_user(PHONE, 1, 1, t);
    ck_assert_int_eq(deliver("<message from='" PHONE "' to='" GW "' type="
                             "'chat'><body>hello?</body></message>"),
                     0);
    ck_assert_int_eq(deliver("<message from='" BOB "/x' to='" GW "'><body>"
                             "status: away</body></message>"),
                     0);
    ck_assert_int_eq(deliver("<message from='" PHONE "' type='error'><error "
                             "type='cancel'>"
                             "<service-unavailable xmlns='" STANZAS "'/>"
                             "</error></message>"),
                     0);
    ck_assert_uint_eq(fh_counter(bot, "stanzas"), 4);
    ck_assert_uint_eq(fh_counter(bot, "presence_updates"), 0);
    ck_assert_int_eq(get_page(t, ".json"), 200);
    assert_json("show", "offline");
}
END_TEST

START_TEST(test_bot_webpresence_common_iq_rules)
{
    assert_answer("<iq type='get' id='p' from='" PHONE
                  "'><ping xmlns='" XB_NS_PING "'/></iq>",
                  "<iq type='result' to='" PHONE "' id='p'/>");
    assert_answer("<iq type='get' id='v' from='" PHONE "'><query xmlns="
                  "'jabber:iq:version'/></iq>",
                  "<iq type='error' to='" PHONE "' id='v'><error type="
                  "'cancel'>"
                  "<service-unavailable xmlns='" STANZAS "'/>"
                  "</error></iq>");
    assert_answer("<iq type='set' id='two' from='" PHONE "'><a xmlns='urn:a'/>"
                  "<b xmlns='urn:b'/></iq>",
                  "<iq type='error' to='" PHONE "' id='two'><error type="
                  "'modify'>"
                  "<bad-request xmlns='" STANZAS "'/>"
                  "</error></iq>");
    /* Results and errors are not answered. */
    ck_assert_int_eq(deliver("<iq type='result' id='r' from='" PHONE "'/>"), 0);
    ck_assert_int_eq(deliver("<iq type='result' id='r' from='" PHONE "'><query "
                             "xmlns='" NS_REGISTER "'/></iq>"),
                     0);
    ck_assert_uint_eq(fh_counter(bot, "iq_requests"), 3);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 0);
}
END_TEST

START_TEST(test_bot_webpresence_strangers)
{
    /* Someone not registered: a subscribe or a probe is refused, the rest
     * ignored; nothing stored. */
    assert_answer("<presence from='" BOB "/x' type='subscribe'/>",
                  "<presence to='" BOB "' type='unsubscribed'/>");
    ck_assert_int_eq(deliver("<presence from='" BOB "/x'><show>away</show>"
                             "</presence>"),
                     0);
    ck_assert_uint_eq(fh_counter(bot, "presence_updates"), 1);
    ck_assert_int_eq(store.n, 0);
    ck_assert_int_eq(store.puts, 0);
}
END_TEST

/* --- the store -------------------------------------------------------------
 */

START_TEST(test_bot_webpresence_store_put_fails)
{
    char t[TOKEN_LEN + 1];
    const struct xb_stanza *q;

    store.fail = XB_ECLOSED;
    assert_answer(REG_SET("f", PHONE, SUBMIT("1", "1")),
                  "<iq type='error' to='" PHONE "' id='f'><error type='wait'>"
                  "<internal-server-error xmlns='" STANZAS "'/>"
                  "<text xmlns='" STANZAS "' xml:lang='en'>"
                  "could not store the registration</text></error></iq>");
    ck_assert_int_eq(store.puts, 1);
    ck_assert_int_eq(store.n, 0);
    ck_assert_uint_eq(fh_counter(bot, "store_failures"), 1);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 0);
    ck_assert_int_eq(host.nlogs, 1);
    assert_log(0, XB_LOG_ERROR, "could not store the registration of " ALICE);
    wt_assert_has(host.logs[0], xb_strerror(XB_ECLOSED));
    /* Not registered: the form says so, presence is a stranger's. */
    ck_assert_int_eq(deliver("<iq type='get' id='g' from='" PHONE "'><query "
                             "xmlns='" NS_REGISTER "'/></iq>"),
                     1);
    q = xb_stanza_child(host.kept[1], NS_REGISTER, "query");
    ck_assert_ptr_null(xb_stanza_child(q, NS_REGISTER, "registered"));
    assert_answer("<presence from='" PHONE "' type='probe'/>",
                  "<presence to='" ALICE "' type='unsubscribed'/>");

    /* A change that cannot be stored leaves the stored choices. */
    store.fail = 0;
    register_user(PHONE, 0, 0, t);
    store.fail = XB_ENOMEM;
    ck_assert_int_eq(deliver(REG_SET("c", PHONE, SUBMIT("1", "1"))), 1);
    wt_assert_has(host.sent[host.nsent - 1],
                  "<internal-server-error xmlns='" STANZAS "'/>");
    ck_assert_str_eq(fh_store_get(&store, ALICE) + TOKEN_LEN, " 0 0");
    ck_assert_uint_eq(fh_counter(bot, "store_failures"), 2);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 1);
    /* The page still hides the status: the old choices hold in memory. */
    ck_assert_int_eq(deliver("<presence from='" PHONE "'><status>hidden"
                             "</status></presence>"),
                     0);
    ck_assert_int_eq(get_page(t, ".json"), 200);
    assert_json("status", "");
}
END_TEST

START_TEST(test_bot_webpresence_store_del_fails)
{
    char t[TOKEN_LEN + 1];

    register_user(PHONE, 0, 0, t);
    store.fail = XB_ECLOSED;
    assert_answer(REG_SET("u", PHONE, "<remove/>"),
                  "<iq type='error' to='" PHONE "' id='u'><error type='wait'>"
                  "<internal-server-error xmlns='" STANZAS "'/>"
                  "<text xmlns='" STANZAS "' xml:lang='en'>"
                  "could not delete the registration</text></error></iq>");
    ck_assert_int_eq(store.dels, 1);
    ck_assert_int_eq(store.n, 1);
    ck_assert_int_eq(get_page(t, ""), 200);
    ck_assert_uint_eq(fh_counter(bot, "unregistered"), 0);
    ck_assert_uint_eq(fh_counter(bot, "store_failures"), 1);
    assert_log(host.nlogs - 1, XB_LOG_ERROR,
               "could not delete the registration of " ALICE);
}
END_TEST

START_TEST(test_bot_webpresence_unregister)
{
    char t[TOKEN_LEN + 1], t2[TOKEN_LEN + 1];

    register_user(PHONE, 1, 1, t);
    register_user(BOB "/x", 0, 0, t2);
    ck_assert_int_eq(deliver(REG_SET("u", ALICE "/other", "<remove/>")), 3);
    ck_assert_str_eq(host.sent[6],
                     "<iq type='result' to='" ALICE "/other' id='u'/>");
    ck_assert_str_eq(host.sent[7],
                     "<presence to='" ALICE "' type='unsubscribe'/>");
    ck_assert_str_eq(host.sent[8],
                     "<presence to='" ALICE "' type='unsubscribed'/>");
    ck_assert_int_eq(store.dels, 1);
    ck_assert_ptr_null(fh_store_get(&store, ALICE));
    ck_assert_int_eq(store.n, 1);
    ck_assert_uint_eq(fh_counter(bot, "unregistered"), 1);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 2);
    ck_assert_int_eq(get_page(t, ""), 404);
    ck_assert_int_eq(get_page(t, ".json"), 404);
    ck_assert_int_eq(get_page(t2, ""), 200);
    /* Their presence is a stranger's now. */
    ck_assert_int_eq(deliver("<presence from='" PHONE "'/>"), 0);
    ck_assert_uint_eq(fh_counter(bot, "presence_updates"), 0);
    /* Twice: registration-required, nothing deleted or counted. */
    ck_assert_int_eq(deliver(REG_SET("u2", PHONE, "<remove/>")), 1);
    wt_assert_has(host.sent[9], "<error type='auth'>"
                                "<registration-required xmlns='" STANZAS "'/>");
    ck_assert_int_eq(store.dels, 1);
    ck_assert_uint_eq(fh_counter(bot, "unregistered"), 1);
    /* Registering again gives a new address. */
    register_user(PHONE, 0, 0, t2);
    ck_assert_str_ne(t2, t);
    ck_assert_int_eq(get_page(t, ""), 404);
}
END_TEST

/* A restart: a new bot on the same store serves the same pages. */
START_TEST(test_bot_webpresence_restart)
{
    char ta[TOKEN_LEN + 1], tb[TOKEN_LEN + 1];
    int seen_a = 0, seen_b = 0, i;

    register_user(PHONE, 1, 0, ta);
    register_user(BOB "/x", 0, 1, tb);
    ck_assert_int_eq(deliver("<presence from='" PHONE "'><show>xa</show>"
                             "</presence>"),
                     0);
    ck_assert_int_eq(get_page(ta, ".json"), 200);
    assert_json("show", "xa");

    start(NULL);
    ck_assert_int_eq(store.loads, 2);
    ck_assert_int_eq(host.nsent, 0);
    ck_assert_int_eq(host.nlogs, 0);
    /* Known, but no presence yet. */
    ck_assert_int_eq(get_page(ta, ".json"), 200);
    assert_json("show", "offline");
    assert_json("jid", "");
    ck_assert_int_eq(get_page(tb, ".json"), 200);
    assert_json("jid", BOB);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 0);

    /* Online: one probe per stored registration. */
    xb_bot_online(bot, NULL);
    ck_assert_int_eq(host.nsent, 2);
    for (i = 0; i < 2; i++) {
        seen_a +=
            !strcmp(host.sent[i], "<presence to='" ALICE "' type='probe'/>");
        seen_b +=
            !strcmp(host.sent[i], "<presence to='" BOB "' type='probe'/>");
    }
    ck_assert_int_eq(seen_a, 1);
    ck_assert_int_eq(seen_b, 1);
    ck_assert_int_eq(deliver("<presence from='" PHONE "'><status>back</status>"
                             "</presence>"),
                     0);
    ck_assert_int_eq(get_page(ta, ".json"), 200);
    assert_json("show", "online");
    assert_json("status", "back");

    /* The same user registering again keeps the token. */
    ck_assert_int_eq(deliver(REG_SET("again", PHONE, SUBMIT("1", "0"))), 2);
    ck_assert_int_eq(strncmp(fh_store_get(&store, ALICE), ta, TOKEN_LEN), 0);
    ck_assert_uint_eq(fh_counter(bot, "registered"), 0);

    /* Each new session probes again. */
    xb_bot_offline(bot);
    i = host.nsent;
    xb_bot_online(bot, NULL);
    ck_assert_int_eq(host.nsent, i + 2);
    ck_assert_int_eq(store.puts, 3);
    ck_assert_int_eq(store.dels, 0);
}
END_TEST

/* Pairs a host might hold that are no registration: the bot refuses to
 * start, says why, and changes nothing in the store. */
START_TEST(test_bot_webpresence_corrupt_store)
{
    static const struct {
        const char *key, *value;
    } bad[] = {
        {ALICE, TOKEN_A " 1"},                  /* short */
        {ALICE, TOKEN_A " 1 0 "},               /* long */
        {ALICE, ""},                            /* empty */
        {ALICE, TOKEN_A},                       /* no flags */
        {ALICE, "AAAAAAAAAAAAAAAAAAAAAAA 1 0"}, /* short token */
        {ALICE, TOKEN_A " 2 0"},                /* flags */
        {ALICE, TOKEN_A " 1 x"},
        {ALICE, TOKEN_A "-1 0"},
        {ALICE, TOKEN_A " 1-0"},
        {ALICE, TOKEN_A "  1 0"},
        {ALICE, "AAAAAAAAAAAAAAAAAAAAAAA= 0 0"}, /* not base64url */
        {ALICE, "AAAAAAAAAAAAAAAAAAAAAAA/ 0 0"},
        {"Alice@example.org", TOKEN_A " 0 0"}, /* not normalized */
        {ALICE "/res", TOKEN_A " 0 0"},        /* not bare */
        {"@example.org", TOKEN_A " 0 0"},      /* no JID */
        {"a b@example.org", TOKEN_A " 0 0"},
        {"", TOKEN_A " 0 0"},
        {CAROL, TOKEN_B " 0 0"}, /* bob's token twice */
    };
    struct fakehost f;
    struct xb_bot *b;
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fh_store_free(&store);
        /* A good pair first, so that the bad one comes part way. */
        fh_store_set(&store, BOB, TOKEN_B " 1 1");
        fh_store_set(&store, bad[i].key, bad[i].value);
        memset(&f, 0, sizeof f);
        f.store = &store;
        f.config = fh_config("webpresence", NULL);
        b = fh_new(&f, f.config, GW, 1, 0);
        ck_assert_msg(b == NULL, "case %zu (%s = '%s') accepted", i, bad[i].key,
                      bad[i].value);
        ck_assert_msg(f.nlogs == 1, "case %zu: %d log lines", i, f.nlogs);
        ck_assert_int_eq(f.levels[0], XB_LOG_ERROR);
        wt_assert_has(f.logs[0],
                      GW ": could not load the stored registrations");
        ck_assert_int_eq(f.nsent, 0);
        ck_assert_int_eq(store.n, 2);
        ck_assert_int_eq(store.puts + store.dels, 0);
        ck_assert_str_eq(fh_store_get(&store, BOB), TOKEN_B " 1 1");
        ck_assert_str_eq(fh_store_get(&store, bad[i].key), bad[i].value);
        fh_reset(&f);
    }

    /* The load hook failing: the same. */
    fh_store_free(&store);
    fh_store_set(&store, BOB, TOKEN_B " 1 1");
    store.fail_load = XB_ECLOSED;
    memset(&f, 0, sizeof f);
    f.store = &store;
    f.config = fh_config("webpresence", NULL);
    ck_assert_ptr_null(fh_new(&f, f.config, GW, 1, 0));
    ck_assert_int_eq(f.nlogs, 1);
    wt_assert_has(f.logs[0], xb_strerror(XB_ECLOSED));
    fh_reset(&f);

    /* Mended, it starts with every pair. */
    store.fail_load = 0;
    fh_store_set(&store, ALICE, TOKEN_A " 0 1");
    start(NULL);
    ck_assert_int_eq(host.nlogs, 0);
    ck_assert_int_eq(get_s(TOKEN_A), 200);
    ck_assert_int_eq(get_s(TOKEN_B), 200);
    xb_bot_online(bot, NULL);
    ck_assert_int_eq(host.nsent, 2);
}
END_TEST

static Suite *bot_webpresence_suite(void)
{
    Suite *s = suite_create("bot_webpresence");
    TCase *tc = tcase_create("kind");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_webpresence_json_reader);
    tcase_add_test(tc, test_bot_webpresence_registry);
    tcase_add_test(tc, test_bot_webpresence_no_pages_elsewhere);
    tcase_add_test(tc, test_bot_webpresence_option_defaults);
    tcase_add_test(tc, test_bot_webpresence_option_ranges);
    tcase_add_test(tc, test_bot_webpresence_options_used);
    tcase_add_test(tc, test_bot_webpresence_needs_http_url);
    tcase_add_test(tc, test_bot_webpresence_memory_only);
    tcase_add_test(tc, test_bot_webpresence_partial_store_hooks);
    tcase_add_test(tc, test_bot_webpresence_page_address_is_the_hosts);
    suite_add_tcase(s, tc);

    tc = tcase_create("register");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_webpresence_disco);
    tcase_add_test(tc, test_bot_webpresence_register);
    tcase_add_test(tc, test_bot_webpresence_bad_form);
    tcase_add_test(tc, test_bot_webpresence_max_users);
    tcase_add_test(tc, test_bot_webpresence_unregister);
    suite_add_tcase(s, tc);

    tc = tcase_create("pages");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_webpresence_presence_pages);
    tcase_add_test(tc, test_bot_webpresence_choices_hide);
    tcase_add_test(tc, test_bot_webpresence_headers);
    tcase_add_test(tc, test_bot_webpresence_not_found);
    tcase_add_test(tc, test_bot_webpresence_messages_ignored);
    tcase_add_test(tc, test_bot_webpresence_common_iq_rules);
    tcase_add_test(tc, test_bot_webpresence_strangers);
    suite_add_tcase(s, tc);

    tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bot_webpresence_store_put_fails);
    tcase_add_test(tc, test_bot_webpresence_store_del_fails);
    tcase_add_test(tc, test_bot_webpresence_restart);
    tcase_add_test(tc, test_bot_webpresence_corrupt_store);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(bot_webpresence_suite());
}
