/*
 * libFuzzer target for the web presence gateway bot kind (plain cc builds
 * it too): one "webpresence" bot through the public bot API on a host of
 * its own (an in-memory store that can be told to fail, pages fetched by
 * path), driven by a script of stanzas from a few users and host events.
 * Beyond "no crash, no leak": what the bot sends re-parses; every IQ
 * request gets exactly one reply, to its sender (none if the sender is
 * not a JID), and nothing answers an error or a result; the store holds exactly the registrations the bot
 * serves, at most max_users, unchanged by a failed write and the same
 * after a restart; pages escape what users wrote; memory stays within
 * what the limits allow.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "buf.h"
#include "error.h"
#include "jid.h"
#include "parser.h"
#include "serialize.h"
#include "stanza.h"
#include "utf8.h"
#include "webpresence.h"
#include "xmpp.h"

/* Under AddressSanitizer the heap in use is measured (GCC may lack the
 * header: then it is not). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FZ_ASAN)
#define FZ_ASAN 1
#endif
#if defined(FZ_ASAN) && defined(__has_include)
#if __has_include(<sanitizer/allocator_interface.h>)
#include <sanitizer/allocator_interface.h>
#define FZ_HEAP 1
#endif
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The checks' own loops and comparisons (pages counted and parsed
 * character by character) are not what is fuzzed: they stay out of the
 * coverage that guides libFuzzer, which would otherwise chase page
 * lengths. */
#ifdef __clang__
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))),         \
                             apply_to = function)
#endif

/*
 * Input: byte 0 sets the bot up (see LLVMFuzzerTestOneInput). Then XML:
 * every run of bytes other than 0xFF is parsed as stanzas in a jabber:client
 * stream and each is delivered from the current sender. 0xFF (never a
 * byte of UTF-8) escapes an operation: the next byte picks it (enum op),
 * most take one to three argument bytes.
 */
#define ESC 0xFF

enum op {
    OP_SENDER,   /* arg: who sends the next stanzas (senders[]) */
    OP_MACRO,    /* arg: a canned stanza (macros[]) */
    OP_GET,      /* len, then len bytes: a GET of that path */
    OP_TOKEN,    /* arg: a GET of a known token, with a suffix */
    OP_FAIL,     /* arg: which store calls fail (FAIL_*, LOAD_OK) */
    OP_RESTART,  /* free the bot, make a new one on the same store */
    OP_ONLINE,   /* the host comes online (the bot probes) */
    OP_OFFLINE,  /* the connection is lost */
    OP_FORM,     /* three args: a register IQ built from their bits */
    OP_PRESENCE, /* two args: a presence built from their bits */
    OP_TIMER,    /* the armed timer fires */
    OP_COUNT
};

#define DOMAIN "presence.localhost"
#define BASE_URL "https://example.org/presence/"
#define ADDRESS_TEXT "Your web presence page: " BASE_URL

#define HDR                                                                    \
    "<stream:stream xmlns='jabber:client' xmlns:stream='" XB_NS_STREAMS        \
    "' to='" DOMAIN "' version='1.0'>"

/* The senders: the 'from' given to delivered stanzas. The last keeps the
 * 'from' the input wrote, if any. Five bare JIDs: more than max_users;
 * beyond them, OP_SENDER's argument numbers a user (sender_jid()). */
static const char *const senders[] = {
    "alice@localhost/phone",
    "alice@localhost/laptop",
    "alice@localhost",
    "bob@example.org/x",
    "Carol@Example.ORG/Res",
    "dave@localhost/<&'\">",
    "localhost",
    NULL,
};
#define NSENDERS (sizeof senders / sizeof senders[0])

#define REG "<query xmlns='" XB_NS_REGISTER "'>"
#define FORM(fields)                                                           \
    "<x xmlns='" XB_NS_DATA "' type='submit'><field var='FORM_TYPE'>"          \
    "<value>" XB_NS_REGISTER "</value></field>" fields "</x>"
#define BOOL(var, v) "<field var='" var "'><value>" v "</value></field>"

static const char *const macros[] = {
    "<iq type='get' id='g1'>" REG "</query></iq>",
    "<iq type='set' id='s1'>" REG FORM(BOOL("show_status_msg", "1") BOOL(
        "show_full_jid", "1")) "</query></iq>",
    "<iq type='set' id='s2'>" REG FORM(
        BOOL("show_status_msg", "false")) "</query></iq>",
    "<iq type='set' id='r1'>" REG "<remove/></query></iq>",
    "<iq type='get' id='d1'><query xmlns='" XB_NS_DISCO_INFO "'/></iq>",
    "<iq type='get' id='d2'><query xmlns='" XB_NS_DISCO_ITEMS "'/></iq>",
    "<iq type='get' id='d3'><query xmlns='" XB_NS_DISCO_INFO
    "' node='x'/></iq>",
    "<iq type='get' id='p1'><ping xmlns='" XB_NS_PING "'/></iq>",
    "<iq type='set' id='u1'><query xmlns='jabber:iq:version'/></iq>",
    "<iq type='result' id='s1'/>",
    "<iq type='error' id='e1'>" REG "</query><error type='cancel'/></iq>",
    "<iq type='set' id='s3'>" REG "</query></iq>",
    "<iq type='get' id='g2'>" REG "</query><ping xmlns='" XB_NS_PING "'/></iq>",
    "<iq type='set' id='s4'>" REG "<remove/>" FORM("") "</query></iq>",
    "<presence><show>away</show><status>&lt;x&gt; &amp; \"q\" 'a' "
    "&lt;script&gt;</status><priority>5</priority></presence>",
    "<presence type='unavailable'/>",
    "<presence type='subscribe'/>",
    "<presence type='subscribed'/>",
    "<presence type='unsubscribe'/>",
    "<presence type='probe'/>",
    "<presence type='error'><error type='cancel'/></presence>",
    "<message type='chat' id='m1'><body>hi &lt;b&gt;</body></message>",
    "<message type='error' id='m2'><body>x</body><error type='cancel'/>"
    "</message>",
    "<presence><show>dnd</show><status xml:lang='de'>besch\xC3\xA4"
    "ftigt</status><status>busy \xF0\x9F\x98\x80</status></presence>",
};
#define NMACROS (sizeof macros / sizeof macros[0])

/* OP_FAIL's argument: bit 0 puts fail, bit 1 deletes fail; bits 2-4 the
 * pairs a load adds before it fails (7: it does not fail). */
#define FAIL_PUT 1u
#define FAIL_DEL 2u
#define LOAD_OK 7u

#define MAX_USERS 100 /* the largest max_users the input picks */
#define STORE_MAX (MAX_USERS + 8)
#define NKNOWN 16
#define NEXPECT (MAX_USERS + 8)
#define TOKEN_LEN XB_WEBPRESENCE_TOKEN_LEN

/* The host's store: pairs as the bot wrote them. */
struct pair {
    char *key, *value;
};

#define MAXRES 3 /* the largest max_resources the input picks */

/* A resource of a registered user, as the model must keep it. */
struct eres {
    char *name;   /* "" for the bare JID */
    char *status; /* NULL: none */
    size_t status_len;
    enum xb_webpresence_show show;
    int priority;
    uint64_t seq; /* when last updated */
};

/* A registration the bot must serve, as learnt from its answers. */
struct ereg {
    char *jid; /* normalized bare */
    char token[TOKEN_LEN + 1];
    int status, jid_shown; /* the choices of the last accepted form */
    struct eres res[MAXRES];
    unsigned nres;
    int probed; /* while going online */
};

/* What the delivery under way is, and what went out during it. */
enum kind { K_NONE, K_REG_GET, K_REG_FORM, K_REG_REMOVE, K_REG_BAD, K_OTHER };

struct cur {
    int active;
    int iq_req;   /* an IQ get or set: exactly one reply */
    int presence; /* a presence: the model's answers, exactly */
    int silent;   /* nothing at all may go out */
    enum kind kind;
    const char *type, *id, *from; /* borrowed from the stanza */
    int has_bare;
    char bare[3 * 1024 + 8];
    /* what went out */
    int replies, result;
    char cond[64];
    int address;
    char address_token[TOKEN_LEN + 1];
    int got_registered;
    char got_token[TOKEN_LEN + 1];
    unsigned npres;
    char pres[4][16]; /* presence types sent, "" for available */
    unsigned store_failures;
};

static struct {
    const struct xb_bot_kind *kind;
    struct xb_bot_config *cfg;
    struct xb_bot *bot;
    const struct xb_bot_host *host;
    int online, memory_only;
    unsigned max_users, max_resources, max_status, refresh;
    unsigned sender;
    char sender_buf[64];
    int64_t timer;
    /* the store */
    struct pair store[STORE_MAX];
    unsigned nstore, fail, failures;
    /* the model */
    struct ereg expect[NEXPECT];
    unsigned nexpect;
    char known[NKNOWN][TOKEN_LEN + 1];
    unsigned nknown, known_next;
    struct cur cur;
    int probing; /* xb_bot_online under way */
    size_t base_bytes, max_res_len;
    uint64_t seq;
    int verbose;
} fz;

static void die(const char *what, const char *detail) __attribute__((noreturn));

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_webpresence: %s%s%.400s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (!p)
        die("out of memory", NULL);
    return memcpy(p, s, n);
}

/* ---- the model: what the bot must serve ---------------------------------- */

static struct ereg *find_reg(const char *bare)
{
    unsigned i;

    for (i = 0; i < fz.nexpect; i++)
        if (!strcmp(fz.expect[i].jid, bare))
            return &fz.expect[i];
    return NULL;
}

static struct ereg *find_token(const char *tok, size_t len)
{
    unsigned i;

    for (i = 0; len == TOKEN_LEN && i < fz.nexpect; i++)
        if (!memcmp(fz.expect[i].token, tok, TOKEN_LEN))
            return &fz.expect[i];
    return NULL;
}

static void drop_res(struct ereg *e, unsigned i)
{
    free(e->res[i].name);
    free(e->res[i].status);
    e->res[i] = e->res[--e->nres];
}

static void forget_presence(struct ereg *e)
{
    while (e->nres)
        drop_res(e, 0);
}

static void drop_reg(struct ereg *e)
{
    forget_presence(e);
    free(e->jid);
    *e = fz.expect[--fz.nexpect];
}

/* The resource the page must show (webpresence.h: the most available,
 * then the highest priority, then the most recently updated), or NULL. */
static const struct eres *best_res(const struct ereg *e)
{
    const struct eres *s, *best = NULL;
    unsigned i;

    for (i = 0; i < e->nres; i++) {
        s = &e->res[i];
        if (!best || s->show > best->show ||
            (s->show == best->show &&
             (s->priority > best->priority ||
              (s->priority == best->priority && s->seq > best->seq))))
            best = s;
    }
    return best;
}

/* <show/>: RFC 6121 4.7.2.1's values; none or another is "online". */
static enum xb_webpresence_show show_of(const char *s)
{
    static const char *const names[] = {"xa", "away", "dnd", NULL, "chat"};
    unsigned i;

    for (i = 0; s && i < 5; i++)
        if (names[i] && !strcmp(s, names[i]))
            return (enum xb_webpresence_show)(XB_WEBPRESENCE_XA + i);
    return XB_WEBPRESENCE_ONLINE;
}

/* <priority/>: -128..127 (RFC 6121 4.7.2.3); anything else is 0. */
static int priority_of(const char *s)
{
    char *end;
    long v;

    if (!s || !*s)
        return 0;
    v = strtol(s, &end, 10);
    return *end || v < -128 || v > 127 ? 0 : (int)v;
}

/* An available presence from resource name of e: the resource is
 * updated or added, the least recently updated giving way. */
static void update_res(struct ereg *e, const char *name,
                       const struct xb_stanza *pres)
{
    const char *ns = xb_stanza_ns(pres);
    const struct xb_stanza *c, *first = NULL;
    const char *text = NULL;
    struct eres *s = NULL;
    size_t len = 0;
    unsigned i, old;

    for (i = 0; i < e->nres; i++)
        if (!strcmp(e->res[i].name, name))
            s = &e->res[i];
    if (!s) {
        if (e->nres == fz.max_resources) {
            for (old = 0, i = 1; i < e->nres; i++)
                if (e->res[i].seq < e->res[old].seq)
                    old = i;
            drop_res(e, old);
        }
        s = &e->res[e->nres++];
        memset(s, 0, sizeof *s);
        s->name = dup_str(name);
    }
    /* The status shown: the first without xml:lang, else the first; cut
     * to max_status bytes at a character. */
    for (c = xb_stanza_child(pres, ns, "status"); c;
         c = xb_stanza_next_child(c, ns, "status")) {
        if (!first)
            first = c;
        if (!xb_stanza_attr(c, XB_NS_XML, "lang")) {
            first = c;
            break;
        }
    }
    free(s->status);
    s->status = NULL;
    s->status_len = 0;
    if (first && (text = xb_stanza_text(first, &len)) && len) {
        if (len > fz.max_status) {
            len = fz.max_status;
            while (len && ((unsigned char)text[len] & 0xC0) == 0x80)
                len--;
        }
        if (!(s->status = malloc(len + 1)))
            die("out of memory", NULL);
        memcpy(s->status, text, len);
        s->status[len] = '\0';
        s->status_len = len;
    }
    s->show = show_of(xb_stanza_child_text(pres, ns, "show"));
    s->priority = priority_of(xb_stanza_child_text(pres, ns, "priority"));
    s->seq = ++fz.seq;
}

static int is_known(const char *tok)
{
    unsigned i;

    for (i = 0; i < fz.nknown; i++)
        if (!memcmp(fz.known[i], tok, TOKEN_LEN))
            return 1;
    return 0;
}

/* Remembers a token seen, to check later that it is served or 404. */
static void learn(const char *tok)
{
    if (is_known(tok))
        return;
    memcpy(fz.known[fz.known_next], tok, TOKEN_LEN);
    fz.known[fz.known_next][TOKEN_LEN] = '\0';
    fz.known_next = (fz.known_next + 1) % NKNOWN;
    if (fz.nknown < NKNOWN)
        fz.nknown++;
}

static int token_ok(const char *s)
{
    size_t i;

    for (i = 0; i < TOKEN_LEN; i++)
        if (!s[i] || !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                             "wxyz0123456789-_",
                             s[i]))
            return 0;
    return 1;
}

/* ---- memory -------------------------------------------------------------- */

static size_t live_bytes(void)
{
#ifdef FZ_HEAP
    return __sanitizer_get_current_allocated_bytes();
#else
    return 0; /* not measured: the leak checks (LSan, valgrind) remain */
#endif
}

/*
 * What the bot, the store and the model here may hold beyond what they
 * held at the start: per registration its JID three times (the bot, the
 * store, the model) and some, per followed resource its name and status
 * twice (the bot, the model). A bot that kept strangers' presence, more
 * resources than max_resources or more status than max_status would grow
 * past it.
 */
static void check_memory(void)
{
    size_t now = live_bytes(), allowed = 1024;
    unsigned i;

    if (!now)
        return;
    if (fz.verbose)
        fprintf(stderr, "memory: %+ld bytes\n",
                (long)now - (long)fz.base_bytes);
    for (i = 0; i < fz.nexpect; i++)
        allowed +=
            3 * strlen(fz.expect[i].jid) + 256 +
            2 * fz.max_resources * (fz.max_res_len + fz.max_status + 128);
    if (now > fz.base_bytes && now - fz.base_bytes > allowed) {
        char d[96];

        snprintf(d, sizeof d, "%zu bytes more than at the start, %zu allowed",
                 now - fz.base_bytes, allowed);
        die("memory grows beyond the limits", d);
    }
}

/* ---- the host ------------------------------------------------------------ */

/* Parses len bytes as one XML document with the core parser: its root,
 * which the caller frees, or NULL if it is none. */
static struct xb_stanza *parse_doc(const char *xml, size_t len)
{
    struct xb_stanza *st;

    return xb_parser_parse_one(xml, len, &st, NULL) ? NULL : st;
}

/* Every stanza sent serializes, re-parses, and comes back the same. */
static void check_wire(const struct xb_stanza *st)
{
    struct xb_stanza *back;
    struct xb_buf b;

    xb_buf_init(&b);
    if (xb_serialize(&b, st, NULL))
        die("a stanza the bot sent does not serialize", xb_stanza_name(st));
    if (!(back = parse_doc(b.data, b.len)))
        die("a stanza the bot sent does not re-parse", b.data);
    if (!xb_stanza_equal(st, back))
        die("a stanza the bot sent changes in a round trip", b.data);
    if (fz.verbose)
        fprintf(stderr, "> %s\n", b.data);
    xb_stanza_free(back);
    xb_buf_reset(&b);
    if (xb_serialize(&b, st, XB_NS_CLIENT))
        die("a stanza the bot sent does not serialize in a stream", NULL);
    xb_buf_free(&b);
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The token after ADDRESS_TEXT in text, or NULL. */
static const char *address_in(const char *text)
{
    const char *p = text ? strstr(text, ADDRESS_TEXT) : NULL;

    if (!p || !token_ok(p + strlen(ADDRESS_TEXT)))
        return NULL;
    return p + strlen(ADDRESS_TEXT);
}

static void sent_iq(const struct xb_stanza *st, const char *type)
{
    struct cur *c = &fz.cur;
    const struct xb_stanza *q, *e, *cond;
    const char *t;

    if (!c->iq_req)
        die("the bot sent an IQ that answers no request", c->type);
    if (++c->replies > 1)
        die("an IQ request got two replies", c->id);
    if (c->npres || c->address)
        die("an IQ reply after another stanza", c->id);
    if (!same(xb_stanza_attr(st, NULL, "id"), c->id))
        die("an IQ reply with another id", c->id);
    if (!same(xb_stanza_attr(st, NULL, "to"), c->from))
        die("an IQ reply to someone else than the sender", c->from);
    if (!type || (strcmp(type, "result") && strcmp(type, "error")))
        die("an IQ reply that is no result or error", type);
    c->result = !strcmp(type, "result");
    if (!c->result) {
        e = xb_stanza_child(st, NULL, "error");
        cond = e ? xb_stanza_child(e, XB_NS_STANZA_ERRORS, NULL) : NULL;
        if (!cond)
            die("an error reply without a condition", c->id);
        snprintf(c->cond, sizeof c->cond, "%s", xb_stanza_name(cond));
        return;
    }
    if (c->kind != K_REG_GET)
        return;
    q = xb_stanza_child(st, XB_NS_REGISTER, "query");
    if (!q)
        die("a register get answered without a query", c->id);
    c->got_registered = xb_stanza_child(q, XB_NS_REGISTER, "registered") != 0;
    t = address_in(xb_stanza_child_text(q, XB_NS_REGISTER, "instructions"));
    if (c->got_registered != (t != NULL))
        die("a register get answer with or without the address", c->id);
    if (t) {
        memcpy(c->got_token, t, TOKEN_LEN);
        c->got_token[TOKEN_LEN] = '\0';
        learn(t);
    }
}

static void sent_other(const struct xb_stanza *st, const char *name,
                       const char *type)
{
    struct cur *c = &fz.cur;
    const char *to = xb_stanza_attr(st, NULL, "to");
    const char *t;

    if (!c->has_bare || !same(to, c->bare))
        die("a stanza went to someone else than the sender", to);
    if (!strcmp(name, "message")) {
        t = address_in(xb_stanza_child_text(st, NULL, "body"));
        if (c->kind != K_REG_FORM || c->address++ || !t ||
            !same(type, "normal"))
            die("a message that is no new user's address", c->id);
        memcpy(c->address_token, t, TOKEN_LEN);
        c->address_token[TOKEN_LEN] = '\0';
        if (is_known(t))
            die("a new registration got a token already used", t);
        learn(t);
        return;
    }
    if (c->npres == 4)
        die("too many presences for one stanza", NULL);
    snprintf(c->pres[c->npres++], sizeof c->pres[0], "%s", type ? type : "");
}

/* During xb_bot_online: one probe per registration, nothing else. */
static void sent_probe(const struct xb_stanza *st, const char *name,
                       const char *type)
{
    const char *to = xb_stanza_attr(st, NULL, "to");
    unsigned i;

    if (strcmp(name, "presence") || !same(type, "probe") || !to)
        die("the bot sent something else than probes going online", name);
    for (i = 0; i < fz.nexpect; i++)
        if (!strcmp(fz.expect[i].jid, to))
            break;
    if (i == fz.nexpect)
        die("a probe to someone not registered", to);
    if (fz.expect[i].probed++)
        die("two probes to the same user", to);
}

static int h_send(void *ud, struct xb_stanza *st)
{
    const char *name = xb_stanza_name(st);
    const char *type = xb_stanza_attr(st, NULL, "type");

    (void)ud;
    check_wire(st);
    if (strcmp(xb_stanza_ns(st), XB_NS_CLIENT) ||
        (strcmp(name, "iq") && strcmp(name, "message") &&
         strcmp(name, "presence")))
        die("the bot sent something that is no jabber:client stanza", name);
    if (xb_stanza_attr(st, NULL, "from"))
        die("the bot stamped a 'from' (the server's job)", NULL);
    if (!fz.online)
        die("the bot sent while offline", name);
    if (fz.probing)
        sent_probe(st, name, type);
    else if (!fz.cur.active)
        die("the bot sent on its own", name);
    else if (fz.cur.silent)
        die("an answer to a stanza that must not be answered", fz.cur.type);
    else if (!strcmp(name, "iq"))
        sent_iq(st, type);
    else
        sent_other(st, name, type);
    xb_stanza_free(st);
    return 0;
}

static void h_set_timer(void *ud, int64_t ms)
{
    (void)ud;
    if (ms < -1)
        die("set_timer below -1", NULL);
    fz.timer = ms;
}

static void h_log(void *ud, enum xb_log_level level, const char *msg)
{
    (void)ud;
    if ((unsigned)level > XB_LOG_DEBUG || !msg || !*msg || strchr(msg, '\n'))
        die("a log line that is not one line", msg);
    if (fz.verbose)
        fprintf(stderr, "log %s: %s\n", xb_log_level_name(level), msg);
}

static int store_find(const char *key)
{
    unsigned i;

    for (i = 0; i < fz.nstore; i++)
        if (!strcmp(fz.store[i].key, key))
            return (int)i;
    return -1;
}

static int h_store_load(void *ud,
                        int (*add)(void *ctx, const char *key,
                                   const char *value),
                        void *ctx)
{
    unsigned i, after = fz.fail >> 2 & 7;
    int rc;

    (void)ud;
    for (i = 0; i < fz.nstore; i++) {
        if (after != LOAD_OK && i == after)
            return XB_EINVAL;
        if ((rc = add(ctx, fz.store[i].key, fz.store[i].value)))
            return rc;
    }
    return after != LOAD_OK && after == fz.nstore ? XB_EINVAL : 0;
}

static int h_store_put(void *ud, const char *key, const char *value)
{
    int i = store_find(key);

    (void)ud;
    if (fz.fail & FAIL_PUT) {
        fz.failures++;
        return XB_EINVAL;
    }
    if (i < 0) {
        if (fz.nstore == STORE_MAX)
            die("the bot stores more than max_users registrations", key);
        i = (int)fz.nstore++;
        fz.store[i].key = dup_str(key);
    } else {
        free(fz.store[i].value);
    }
    fz.store[i].value = dup_str(value);
    return 0;
}

static int h_store_del(void *ud, const char *key)
{
    int i = store_find(key);

    (void)ud;
    if (fz.fail & FAIL_DEL) {
        fz.failures++;
        return XB_EINVAL;
    }
    if (i >= 0) {
        free(fz.store[i].key);
        free(fz.store[i].value);
        fz.store[i] = fz.store[--fz.nstore];
    }
    return 0;
}

static const char *h_http_url(void *ud)
{
    (void)ud;
    return BASE_URL;
}

static const struct xb_bot_host host_store = {
    .send = h_send,
    .set_timer = h_set_timer,
    .log = h_log,
    .store_load = h_store_load,
    .store_put = h_store_put,
    .store_del = h_store_del,
    .http_url = h_http_url,
};

static const struct xb_bot_host host_memory = {
    .send = h_send,
    .set_timer = h_set_timer,
    .log = h_log,
    .http_url = h_http_url,
};

/* ---- pages --------------------------------------------------------------- */

struct jview {
    enum xb_webpresence_show show;
    int has_status, has_jid;
    size_t status_len;
    struct xb_buf jid, status;
};

static void get(const char *path, size_t len, struct xb_bot_page *page)
{
    const char *const *h;

    if (xb_bot_http(fz.bot, path, len, page))
        die("xb_bot_http failed", NULL);
    if (!page->type || !page->headers || !page->body.data)
        die("a page without a type, headers or body", NULL);
    for (h = page->headers; *h; h += 2)
        if (!**h || !h[1] || strpbrk(h[0], "\r\n:") || strpbrk(h[1], "\r\n"))
            die("a page header that is no header", *h);
    if (!xb_utf8_valid_xml(page->body.data, page->body.len))
        die("a page that is no UTF-8 text", page->type);
}

static void get_404(const char *path, size_t len)
{
    struct xb_bot_page page;

    get(path, len, &page);
    if (page.status != 404 || strcmp(page.body.data, "No such page.\n") ||
        strcmp(page.type, "text/plain; charset=utf-8"))
        die("a token no one holds is served", page.body.data);
    xb_buf_free(&page.body);
}

/* Appends code point cp as UTF-8. */
static void put_utf8(struct xb_buf *out, uint32_t cp)
{
    char u[3];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    if (xb_buf_append(out, u, n))
        die("out of memory", NULL);
}

/* One JSON string at p (after its '"'), up to end: decoded into out
 * (*len bytes); no raw character that could end a <script> or an
 * attribute. Returns what follows its closing '"'. */
static const char *json_string(const char *p, const char *end,
                               struct xb_buf *out, size_t *len)
{
    static const char esc[] = "\"\\/bfnrt", dec[] = "\"\\/\b\f\n\r\t";
    char hex[5];
    uint32_t cp;
    size_t n, old = out->len;

    for (;;) {
        if (p == end)
            die("a JSON string that does not end", NULL);
        if (*p == '"')
            break;
        if (*p == '\\') {
            if (++p == end)
                die("a JSON string that does not end", NULL);
            if (*p == 'u') {
                if (end - p < 5 || strspn(p + 1, "0123456789abcdef") < 4)
                    die("a JSON \\u escape that is not 4 hex digits", p);
                memcpy(hex, p + 1, 4);
                hex[4] = '\0';
                cp = (uint32_t)strtoul(hex, NULL, 16);
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    die("a JSON escape of a surrogate", p);
                put_utf8(out, cp);
                p += 5;
                continue;
            }
            if (!*p || !strchr(esc, *p))
                die("a bad JSON escape", p);
            if (xb_buf_append(out, dec + (strchr(esc, *p) - esc), 1))
                die("out of memory", NULL);
            p++;
            continue;
        }
        n = xb_utf8_decode(p, (size_t)(end - p), &cp);
        if (!n)
            die("JSON that is no UTF-8", p);
        if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == '\'' ||
            cp == 0x2028 || cp == 0x2029)
            die("a raw character in JSON that must be escaped", p);
        if (xb_buf_append(out, p, n))
            die("out of memory", NULL);
        p += n;
    }
    *len = out->len - old;
    if (xb_buf_append(out, "", 0))
        die("out of memory", NULL);
    return p + 1;
}

/* {"show":..,"label":..[,"status":..][,"jid":..]}\n */
static void parse_json(const struct xb_buf *body, struct jview *v)
{
    static const char *const keys[] = {"show", "label", "status", "jid"};
    const char *p = body->data, *end = body->data + body->len;
    struct xb_buf val, key, *dst;
    size_t len;
    unsigned k = 0, i;

    memset(v, 0, sizeof *v);
    xb_buf_init(&v->jid);
    xb_buf_init(&v->status);
    xb_buf_init(&val);
    xb_buf_init(&key);
    if (*p++ != '{')
        die("JSON that is no object", body->data);
    for (;;) {
        xb_buf_reset(&key);
        xb_buf_reset(&val);
        if (p == end || *p++ != '"')
            die("a JSON object without a key", body->data);
        p = json_string(p, end, &key, &len);
        if (end - p < 2 || *p++ != ':' || *p++ != '"')
            die("a JSON member without a string", body->data);
        for (i = k; i < 4 && strcmp(key.data, keys[i]); i++)
            ;
        if (i == 4 || (k < 2 && i != k))
            die("a JSON key out of place", key.data);
        k = i + 1;
        dst = i == 3 ? &v->jid : &val;
        if (i == 2)
            dst = &v->status;
        p = json_string(p, end, dst, &len);
        if (i == 0) {
            for (i = 0; i <= XB_WEBPRESENCE_CHAT; i++)
                if (!strcmp(val.data, xb_webpresence_show_name(
                                          (enum xb_webpresence_show)i)))
                    break;
            if (i > XB_WEBPRESENCE_CHAT)
                die("a JSON show that is none", val.data);
            v->show = (enum xb_webpresence_show)i;
        } else if (i == 1) {
            if (strcmp(val.data, xb_webpresence_show_label(v->show)))
                die("a JSON label that is not the show's", val.data);
        } else if (i == 2) {
            v->has_status = 1;
            v->status_len = len;
        } else {
            v->has_jid = 1;
        }
        if (p != end && *p == ',') {
            p++;
            continue;
        }
        if (p == end || *p++ != '}' || end - p != 1 || *p != '\n')
            die("JSON that does not end", body->data);
        break;
    }
    xb_buf_free(&val);
    xb_buf_free(&key);
}

static unsigned elements(const struct xb_stanza *st)
{
    const struct xb_stanza *c;
    unsigned n = 1;

    for (c = xb_stanza_child(st, NULL, NULL); c;
         c = xb_stanza_next_child(c, NULL, NULL))
        n += elements(c);
    return n;
}

/* The markup characters of a page, and its elements if it is XML. */
struct shape {
    size_t lt, gt, quot, apos;
    unsigned elements;
};

static void shape_of(const struct xb_buf *body, int svg, struct shape *sh)
{
    struct xb_stanza *st;
    size_t i;

    memset(sh, 0, sizeof *sh);
    for (i = 0; i < body->len; i++)
        switch (body->data[i]) {
        case '<':
            sh->lt++;
            break;
        case '>':
            sh->gt++;
            break;
        case '"':
            sh->quot++;
            break;
        case '\'':
            sh->apos++;
            break;
        default:
            break;
        }
    if (!svg)
        return;
    if (!(st = parse_doc(body->data, body->len)))
        die("an SVG badge that is no XML", body->data);
    if (!xb_stanza_is(st, "http://www.w3.org/2000/svg", "svg"))
        die("an SVG badge that is no <svg/>", body->data);
    sh->elements = elements(st);
    xb_stanza_free(st);
}

/*
 * An HTML or SVG page against the same page rendered with harmless texts
 * in the same places (kept across inputs: it depends only on what the
 * view shows): the same markup characters and elements, so none came
 * from a user; every '&' starts an escape.
 */
static void check_markup(const struct xb_buf *body, const struct jview *v,
                         int svg)
{
    static const char *const ents[] = {"&lt;",   "&gt;",  "&amp;",
                                       "&quot;", "&#39;", NULL};
    static struct shape refs[2][XB_WEBPRESENCE_CHAT + 1][2][2][2];
    static unsigned char made[2][XB_WEBPRESENCE_CHAT + 1][2][2][2];
    int r = fz.refresh != 0;
    struct shape *ref = &refs[svg][v->show][v->has_status][v->has_jid][r], sh;
    unsigned char *ok = &made[svg][v->show][v->has_status][v->has_jid][r];
    struct xb_webpresence_view rv = {v->show, v->has_status ? "s" : NULL,
                                     v->has_status, v->has_jid ? "j@x" : NULL,
                                     fz.refresh};
    struct xb_buf b;
    const char *p, *const *e;

    if (!*ok) {
        xb_buf_init(&b);
        if ((svg ? xb_webpresence_svg : xb_webpresence_html)(&b, &rv))
            die("out of memory", NULL);
        shape_of(&b, svg, ref);
        xb_buf_free(&b);
        *ok = 1;
    }
    shape_of(body, svg, &sh);
    if (sh.lt != ref->lt || sh.gt != ref->gt || sh.quot != ref->quot ||
        sh.apos != ref->apos || sh.elements != ref->elements)
        die(svg ? "markup from user text in the SVG badge"
                : "markup from user text in the HTML page",
            body->data);
    for (p = strchr(body->data, '&'); p; p = strchr(p + 1, '&')) {
        for (e = ents; *e && strncmp(p, *e, strlen(*e)); e++)
            ;
        if (!*e)
            die("a raw '&' in a page", p);
    }
}

/* The HTML escape of s, as the page must show the JID. */
static void html_escape(struct xb_buf *out, const char *s)
{
    int rc = 0;

    for (; *s && !rc; s++)
        switch (*s) {
        case '&':
            rc = xb_buf_puts(out, "&amp;");
            break;
        case '<':
            rc = xb_buf_puts(out, "&lt;");
            break;
        case '>':
            rc = xb_buf_puts(out, "&gt;");
            break;
        case '"':
            rc = xb_buf_puts(out, "&quot;");
            break;
        case '\'':
            rc = xb_buf_puts(out, "&#39;");
            break;
        default:
            rc = xb_buf_append(out, s, 1);
        }
    if (rc)
        die("out of memory", NULL);
}

/* The three pages of registration e, against what e says. */
static void check_pages(const struct ereg *e)
{
    const struct eres *best = best_res(e);
    char path[TOKEN_LEN + 8];
    struct xb_bot_page page;
    struct jview v;
    struct xb_buf want;

    snprintf(path, sizeof path, "%s.json", e->token);
    get(path, strlen(path), &page);
    if (page.status != 200 || strcmp(page.type, "application/json"))
        die("a registration's JSON is not served", e->token);
    parse_json(&page.body, &v);
    if (v.has_jid != e->jid_shown || (v.has_jid && !same(v.jid.data, e->jid)))
        die("the page shows the JID against the user's choice", e->jid);
    if (v.has_status && !e->status)
        die("the page shows a status against the user's choice", e->jid);
    if (v.show != (best ? best->show : XB_WEBPRESENCE_OFFLINE))
        die("the page shows another presence than the rules give", e->jid);
    if (v.has_status != (e->status && best && best->status))
        die("the page shows a status or not against the rules", e->jid);
    if (v.has_status && (v.status_len != best->status_len ||
                         memcmp(v.status.data, best->status, v.status_len)))
        die("the JSON status is not the user's, cut to max_status",
            v.status.data);
    xb_buf_free(&page.body);

    get(e->token, TOKEN_LEN, &page);
    if (page.status != 200 || strcmp(page.type, "text/html; charset=utf-8"))
        die("a registration's page is not served", e->token);
    check_markup(&page.body, &v, 0);
    if (v.has_jid) {
        xb_buf_init(&want);
        if (xb_buf_puts(&want, "<bdi class=\"jid\">"))
            die("out of memory", NULL);
        html_escape(&want, e->jid);
        if (!strstr(page.body.data, want.data))
            die("the HTML page does not show the JID escaped", e->jid);
        xb_buf_free(&want);
    }
    if (v.has_status) {
        xb_buf_init(&want);
        if (xb_buf_puts(&want, "<p class=\"status\"><bdi>"))
            die("out of memory", NULL);
        html_escape(&want, best->status);
        if (xb_buf_puts(&want, "</bdi></p>"))
            die("out of memory", NULL);
        if (!strstr(page.body.data, want.data))
            die("the HTML page does not show the status escaped", best->status);
        xb_buf_free(&want);
    }
    xb_buf_free(&page.body);

    snprintf(path, sizeof path, "%s.svg", e->token);
    get(path, strlen(path), &page);
    if (page.status != 200 || strcmp(page.type, "image/svg+xml"))
        die("a registration's badge is not served", e->token);
    check_markup(&page.body, &v, 1);
    xb_buf_free(&page.body);
    xb_buf_free(&v.jid);
    xb_buf_free(&v.status);
}

/* A GET of any path: a registration's page (TOKEN, .json, .svg) is
 * served, anything else is 404. */
static void get_any(const char *path, size_t len)
{
    size_t n = len;
    struct ereg *e;

    if (n >= 5 && !memcmp(path + n - 5, ".json", 5))
        n -= 5;
    else if (n >= 4 && !memcmp(path + n - 4, ".svg", 4))
        n -= 4;
    e = find_token(path, n);
    if (!e) {
        get_404(path, len);
        return;
    }
    check_pages(e);
}

/* ---- the invariants after every step ------------------------------------- */

static void check_store(void)
{
    const struct ereg *e;
    const char *v;
    unsigned i;
    int j;

    if (fz.max_users && fz.nexpect > fz.max_users)
        die("more registrations than max_users", NULL);
    if (fz.memory_only) {
        if (fz.nstore)
            die("a bot without storage stored", NULL);
        return;
    }
    if (fz.nstore != fz.nexpect)
        die("the store and the registrations served differ", NULL);
    for (i = 0; i < fz.nexpect; i++) {
        e = &fz.expect[i];
        if ((j = store_find(e->jid)) < 0)
            die("a registration served is not stored", e->jid);
        v = fz.store[j].value;
        if (strlen(v) != TOKEN_LEN + 4 || memcmp(v, e->token, TOKEN_LEN) ||
            v[TOKEN_LEN] != ' ' || v[TOKEN_LEN + 1] != '0' + e->status ||
            v[TOKEN_LEN + 2] != ' ' || v[TOKEN_LEN + 3] != '0' + e->jid_shown)
            die("a stored registration is not the one served", v);
    }
}

/* After a step: the store against the model; the pages of every
 * registration (all) or only of one that may have changed (NULL: none);
 * every token known but not registered is 404. */
static void check_state(int all, const struct ereg *changed)
{
    unsigned i;

    check_store();
    for (i = 0; i < fz.nexpect; i++)
        if (all || changed == &fz.expect[i])
            check_pages(&fz.expect[i]);
    for (i = 0; i < fz.nknown; i++)
        if (!find_token(fz.known[i], TOKEN_LEN))
            get_404(fz.known[i], TOKEN_LEN);
}

/* ---- deliveries ---------------------------------------------------------- */

static int bool_field(const struct xb_stanza *x, const char *var)
{
    const struct xb_stanza *f;
    const char *v;

    for (f = xb_stanza_child(x, XB_NS_DATA, "field"); f;
         f = xb_stanza_next_child(f, XB_NS_DATA, "field"))
        if (same(xb_stanza_attr(f, NULL, "var"), var)) {
            v = xb_stanza_child_text(f, XB_NS_DATA, "value");
            return v && (!strcmp(v, "1") || !strcmp(v, "true"));
        }
    return 0;
}

/* What a delivered stanza is, for judging what goes out. */
static void classify(const struct xb_stanza *st)
{
    struct cur *c = &fz.cur;
    const char *ns = xb_stanza_ns(st);
    const struct xb_stanza *q, *ch, *one = NULL;
    int n = 0;

    c->kind = K_NONE;
    if (xb_stanza_is(st, NULL, "iq") && (!*ns || !strcmp(ns, XB_NS_CLIENT))) {
        if (!c->type || (strcmp(c->type, "get") && strcmp(c->type, "set"))) {
            c->silent = 1;
            return;
        }
        c->iq_req = 1;
        c->kind = K_OTHER;
        q = xb_iq_payload(st);
        if (!q || !xb_stanza_is(q, XB_NS_REGISTER, "query"))
            return;
        if (!strcmp(c->type, "get")) {
            c->kind = K_REG_GET;
            return;
        }
        for (ch = xb_stanza_child(q, NULL, NULL); ch;
             ch = xb_stanza_next_child(ch, NULL, NULL)) {
            one = ch;
            n++;
        }
        c->kind = K_REG_BAD;
        if (n == 1 && xb_stanza_is(one, XB_NS_REGISTER, "remove"))
            c->kind = K_REG_REMOVE;
        else if (n == 1 && xb_stanza_is(one, XB_NS_DATA, "x"))
            c->kind = K_REG_FORM;
    } else if (xb_stanza_is(st, NULL, "presence")) {
        c->presence = 1;
        c->silent = same(c->type, "error"); /* never answer an error */
    } else {
        c->silent = 1; /* messages, errors, anything else */
    }
}

static void want_pres(const char *a, const char *b, const char *what)
{
    struct cur *c = &fz.cur;
    unsigned n = a ? b ? 2 : 1 : 0;

    if (c->npres != n || (a && strcmp(c->pres[0], a)) ||
        (b && strcmp(c->pres[1], b)))
        die("not the presences the rules ask for", what);
}

static void after_iq(const struct xb_stanza *st)
{
    struct cur *c = &fz.cur;
    struct ereg *e = c->has_bare ? find_reg(c->bare) : NULL;
    const struct xb_stanza *x;

    /* A sender that is not a JID gets no answer (xb_xmpp_can_reply). */
    if (c->from && !c->has_bare) {
        if (c->replies != 0)
            die("a sender that is not a JID got an answer", c->id);
        return;
    }
    if (c->replies != 1)
        die("an IQ request got no reply", c->id);
    if (c->store_failures != fz.failures &&
        (c->result || strcmp(c->cond, "internal-server-error")))
        die("a store failure not answered internal-server-error", c->id);
    if (!c->has_bare &&
        (c->kind == K_REG_GET || c->kind == K_REG_FORM ||
         c->kind == K_REG_REMOVE || c->kind == K_REG_BAD) &&
        (c->result || strcmp(c->cond, "bad-request")))
        die("a registration from no valid sender", c->from);
    if (c->kind != K_REG_FORM && c->address)
        die("an address message for no new registration", c->id);
    if (!c->result) {
        if (c->npres || c->address)
            die("an error reply with side effects", c->id);
        if (c->kind == K_REG_REMOVE && !e && c->has_bare &&
            strcmp(c->cond, "registration-required"))
            die("the removal of no registration not registration-required",
                c->cond);
        if (!strcmp(c->cond, "resource-constraint") &&
            (e || fz.nexpect < fz.max_users || !fz.max_users))
            die("resource-constraint with room", c->id);
        if (c->kind == K_REG_GET && c->has_bare)
            die("a register get refused", c->cond);
        return;
    }
    switch (c->kind) {
    case K_REG_GET:
        if (c->got_registered != (e != NULL))
            die("a register get says registered wrongly", c->bare);
        if (e && memcmp(c->got_token, e->token, TOKEN_LEN))
            die("a register get gives another address", c->got_token);
        want_pres(NULL, NULL, "register get");
        break;
    case K_REG_FORM:
        x = xb_stanza_child(xb_iq_payload(st), XB_NS_DATA, "x");
        if (!e) {
            if (fz.max_users && fz.nexpect >= fz.max_users)
                die("a registration beyond max_users", c->bare);
            if (!c->address)
                die("a new registration without its address", c->bare);
            if (fz.nexpect == NEXPECT)
                die("more registrations than the harness follows", NULL);
            e = &fz.expect[fz.nexpect++];
            e->jid = dup_str(c->bare);
            memcpy(e->token, c->address_token, TOKEN_LEN + 1);
            e->nres = 0;
            want_pres("subscribe", NULL, "a new registration");
        } else if (c->address) {
            die("a changed registration got a new address", c->bare);
        } else if (c->npres > 1 ||
                   (c->npres && strcmp(c->pres[0], "subscribe"))) {
            die("not the presences the rules ask for", "changed options");
        }
        e->status = bool_field(x, "show_status_msg");
        e->jid_shown = bool_field(x, "show_full_jid");
        break;
    case K_REG_REMOVE:
        if (!e)
            die("an unregistered user's removal succeeded", c->bare);
        want_pres("unsubscribe", "unsubscribed", "a removal");
        drop_reg(e);
        break;
    case K_REG_BAD:
        die("a malformed register set succeeded", c->id);
    default:
        want_pres(NULL, NULL, "an IQ");
    }
}

/* Presence: exactly the model's answers (webpresence.h). */
static void after_presence(const struct xb_stanza *st,
                           const struct xb_jid *from)
{
    unsigned i;
    struct cur *c = &fz.cur;
    struct ereg *e = c->has_bare ? find_reg(c->bare) : NULL;
    const char *t = c->type;

    if (!c->has_bare) {
        want_pres(NULL, NULL, "a presence from no valid JID");
    } else if (!e) {
        if (same(t, "subscribe") || same(t, "probe"))
            want_pres("unsubscribed", NULL, "a stranger's subscribe or probe");
        else
            want_pres(NULL, NULL, "a stranger's presence");
    } else if (same(t, "subscribe")) {
        want_pres("subscribed", "", "a user's subscribe");
    } else if (same(t, "probe")) {
        want_pres("", NULL, "a user's probe");
    } else {
        want_pres(NULL, NULL, "a user's presence");
        if (!t) {
            update_res(e, from->resource ? from->resource : "", st);
        } else if (same(t, "unavailable") || same(t, "error")) {
            for (i = 0; i < e->nres;)
                if (!from->resource || !strcmp(e->res[i].name, from->resource))
                    drop_res(e, i);
                else
                    i++;
        } else if (same(t, "unsubscribe") || same(t, "unsubscribed")) {
            forget_presence(e);
        }
    }
}

/* The current sender's JID, or NULL for the input's own 'from'. */
static const char *sender_jid(void)
{
    if (fz.sender < NSENDERS)
        return senders[fz.sender];
    snprintf(fz.sender_buf, sizeof fz.sender_buf, "User%u@Example.NET/r",
             fz.sender);
    return fz.sender_buf;
}

/* Delivers st (owned) from the current sender and checks what follows. */
static void deliver(struct xb_stanza *st)
{
    const char *sender = sender_jid();
    struct cur *c = &fz.cur;
    struct xb_jid jid;
    size_t n;
    int valid;

    memset(&jid, 0, sizeof jid);
    if (!fz.online) {
        xb_stanza_free(st); /* the host has no connection */
        return;
    }
    if (sender && xb_stanza_set_attr(st, NULL, "from", sender))
        die("cannot set 'from'", sender);
    if (sender && xb_stanza_set_attr(st, NULL, "to", DOMAIN))
        die("cannot set 'to'", NULL);
    memset(c, 0, sizeof *c);
    c->type = xb_stanza_attr(st, NULL, "type");
    c->id = xb_stanza_attr(st, NULL, "id");
    c->from = xb_stanza_attr(st, NULL, "from");
    valid = c->from && !xb_jid_parse(&jid, c->from, strlen(c->from), NULL);
    if (valid) {
        c->has_bare = 1;
        snprintf(c->bare, sizeof c->bare, "%s", jid.bare);
        n = jid.resource ? strlen(jid.resource) : 0;
        if (n > fz.max_res_len)
            fz.max_res_len = n;
    }
    classify(st);
    c->store_failures = fz.failures;
    c->active = 1;
    xb_bot_stanza(fz.bot, st);
    c->active = 0;
    if (c->iq_req)
        after_iq(st);
    else if (c->presence)
        after_presence(st, &jid);
    if (valid)
        xb_jid_clear(&jid);
    xb_stanza_free(st);
    /* Pages change with the sender's presence and registration only
     * (and must not after a failed change). */
    check_state(0, c->has_bare && (c->presence || c->kind == K_REG_FORM ||
                                   c->kind == K_REG_REMOVE)
                       ? find_reg(c->bare)
                       : NULL);
}

static void on_stanza(void *ud, struct xb_stanza *st)
{
    (void)ud;
    deliver(st);
}

static const struct xb_parser_limits in_limits = {16 * 1024, 16, 32};

/* Parses len bytes as stanzas of a fresh jabber:client stream and
 * delivers each; an unfinished one is dropped, as a closed connection
 * drops it. */
static void deliver_xml(const char *xml, size_t len)
{
    static const struct xb_parser_hooks hooks = {NULL, on_stanza, NULL};
    struct xb_parser *p = xb_parser_new(&hooks, NULL, &in_limits, 0);

    if (!p || xb_parser_feed(p, HDR, strlen(HDR)))
        die("the stream header was refused", NULL);
    if (fz.verbose)
        fprintf(stderr, "< [%s] %.*s\n",
                sender_jid() ? sender_jid() : "(as written)", (int)len, xml);
    xb_parser_feed(p, xml, len);
    xb_parser_free(p);
}

/* ---- operations ---------------------------------------------------------- */

static void go_online(void)
{
    unsigned i;

    if (fz.online)
        return;
    fz.online = fz.probing = 1;
    for (i = 0; i < fz.nexpect; i++)
        fz.expect[i].probed = 0;
    xb_bot_online(fz.bot, NULL);
    fz.probing = 0;
    for (i = 0; i < fz.nexpect; i++)
        if (!fz.expect[i].probed)
            die("a registered user was not probed", fz.expect[i].jid);
}

static void go_offline(void)
{
    if (!fz.online)
        return;
    xb_bot_offline(fz.bot);
    fz.online = 0;
}

static struct xb_bot *new_bot(void)
{
    return xb_bot_new(fz.cfg, DOMAIN, fz.host, NULL, 1, 0);
}

static void restart(void)
{
    int was = fz.online;
    unsigned i;

    go_offline();
    xb_bot_free(fz.bot);
    fz.bot = NULL;
    if (!fz.memory_only && (fz.fail >> 2 & 7) != LOAD_OK &&
        (fz.fail >> 2 & 7) <= fz.nstore) {
        if ((fz.bot = new_bot()))
            die("a bot started on a store that failed to load", NULL);
        fz.fail |= LOAD_OK << 2; /* the operator fixes the store */
    }
    if (!(fz.bot = new_bot()))
        die("a bot did not start on its own store", NULL);
    if (fz.memory_only) {
        while (fz.nexpect)
            drop_reg(&fz.expect[0]);
    }
    for (i = 0; i < fz.nexpect; i++)
        forget_presence(&fz.expect[i]);
    check_state(1, NULL);
    if (was)
        go_online();
}

static void puts_all(struct xb_buf *b, const char *const *parts)
{
    for (; *parts; parts++)
        if (xb_buf_puts(b, *parts))
            die("out of memory", NULL);
}

/* One boolean field of a submitted form, in one of 16 spellings. */
static void form_field(struct xb_buf *b, const char *var, unsigned how)
{
    static const char *const body[] = {
        NULL,
        "><value>1</value>",
        "><value>0</value>",
        "><value>true</value>",
        "><value>false</value>",
        "><value>yes</value>",
        "><value>1</value><value>0</value>",
        " type='text-single'><value>1</value>",
        " type='boolean'><value>1</value>",
        "><value/>",
        ">",
        "><desc>d</desc><required/><option><value>1</value></option>"
        "<value>true</value>",
        ">x<value>1</value>",
        "><value><b/>1</value>",
        "><value>truetruetrue</value>",
        "><value>1</value><bogus/>",
    };
    const char *const parts[] = {"<field var='", var,        "'",
                                 body[how],      "</field>", NULL};

    if (how)
        puts_all(b, parts);
}

/*
 * A register IQ with a form from three bytes. a: bits 0-3 and 4-7 the two
 * booleans (form_field). b: bits 0-1 the form's type (submit, form,
 * cancel, none); bit 2 an unknown field; bit 3 <remove/> too; bit 4
 * another namespace; bit 5 a get; bit 6 what clients echo (title,
 * instructions); bit 7 stray text. c: bits 0-2 FORM_TYPE (right, absent,
 * another, not hidden, untyped, twice, two values, empty); bit 3 70
 * fields; bit 4 a long var in UTF-8; bit 5 a field without var; bit 6 an
 * element that is no field; bit 7 an extension (ignored).
 */
static void op_form(unsigned a, unsigned b, unsigned c)
{
    static const char *const types[] = {" type='submit'", " type='form'",
                                        " type='cancel'", ""};
#define FT "<field var='FORM_TYPE'"
#define FTV "<value>" XB_NS_REGISTER "</value>"
    static const char *const ft[] = {FT " type='hidden'>" FTV "</field>",
                                     "",
                                     FT "><value>urn:other</value></field>",
                                     FT " type='text-single'>" FTV "</field>",
                                     FT ">" FTV "</field>",
                                     FT ">" FTV "</field>" FT ">" FTV
                                        "</field>",
                                     FT ">" FTV FTV "</field>",
                                     FT "><value/></field>"};
#undef FT
#undef FTV
    const char *const head[] = {
        b & 32 ? "<iq type='get' id='f1'>" : "<iq type='set' id='f1'>",
        REG,
        b & 8 ? "<remove/>" : "",
        b & 16 ? "<x xmlns='jabber:x:oob'" : "<x xmlns='" XB_NS_DATA "'",
        types[b & 3],
        ">",
        b & 64 ? "<title>Web presence</title><instructions>i</instructions>"
               : "",
        b & 128 ? "stray" : "",
        ft[c & 7],
        c & 16 ? "<field var='a\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                 "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                 "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                 "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                 "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                 "\xC3\xA9'><value>1</value></field>"
               : "",
        c & 32 ? "<field type='boolean'><value>1</value></field>" : "",
        c & 64 ? "<item/>" : "",
        c & 128 ? "<ext xmlns='urn:x:ext'><field var='bogus'/></ext>" : "",
        NULL};
    const char *const tail[] = {
        b & 4 ? "<field var='color'><value>red</value></field>" : "",
        "</x></query></iq>", NULL};
    struct xb_buf x;
    unsigned i;

    xb_buf_init(&x);
    puts_all(&x, head);
    for (i = 0; c & 8 && i < 70; i++)
        if (xb_buf_puts(&x, "<field var='show_status_msg'/>"))
            die("out of memory", NULL);
    form_field(&x, "show_status_msg", a & 15);
    form_field(&x, "show_full_jid", a >> 4 & 15);
    puts_all(&x, tail);
    deliver_xml(x.data, x.len);
    xb_buf_free(&x);
}

/*
 * A presence from two bytes. a: bits 0-2 the type (none, unavailable,
 * error, subscribe, subscribed, unsubscribe, unsubscribed, probe); bits
 * 3-5 the show (none, chat, away, xa, dnd, bogus, empty, two); bits 6-7
 * the priority (none, 5, -128, 300). b: bits 0-3 the status (statuses[]:
 * markup, long, languages, characters JSON escapes, text around an
 * element, another namespace...).
 */
static void op_presence(unsigned a, unsigned b)
{
    static const char *const types[] = {"",
                                        " type='unavailable'",
                                        " type='error'",
                                        " type='subscribe'",
                                        " type='subscribed'",
                                        " type='unsubscribe'",
                                        " type='unsubscribed'",
                                        " type='probe'"};
    static const char *const shows[] = {"",
                                        "<show>chat</show>",
                                        "<show>away</show>",
                                        "<show>xa</show>",
                                        "<show>dnd</show>",
                                        "<show>bogus</show>",
                                        "<show/>",
                                        "<show>xa</show><show>chat</show>"};
    static const char *const prios[] = {"", "<priority>5</priority>",
                                        "<priority>-128</priority>",
                                        "<priority>300</priority>"};
#define A10 "aaaaaaaaaa"
    static const char *const statuses[] = {
        "",
        "<status>&lt;x onload=\"a()\"&gt;&amp;&apos;</status>",
        NULL, /* long */
        "<status xml:lang='fr'>absent</status><status>&lt;away&gt;</status>",
        "<status>\xF0\x9F\x98\x80&#x1F600;&#xD7FF;\xE2\x80\xA8</status>",
        "<status/>",
        "<status><![CDATA[<b>]]&gt;</b>]]></status>",
        "<status xml:lang='en'>&lt;only&gt;</status>",
        "<status>back\\slash&#9;tab&#10;nl&#13;cr\x7F</status>",
        "<status>a<x xmlns='urn:x'/>b</status>",
        "<status>   </status>",
        "<status xml:lang='en'>en</status><status xml:lang='de'>de</status>",
        "<status>&#x2028;&#x2029;&#x85;</status>",
        "<status>" A10 A10 A10 A10 A10 A10 "aaa\xC3\xA9</status>",
        "<status>\"'&amp;&lt;&gt;</status>",
        "<status xmlns='urn:other'>another namespace</status>"};
#undef A10
    struct xb_buf x;
    unsigned i;
    int rc;

    xb_buf_init(&x);
    rc = xb_buf_puts(&x, "<presence") || xb_buf_puts(&x, types[a & 7]) ||
         xb_buf_puts(&x, ">") || xb_buf_puts(&x, shows[a >> 3 & 7]) ||
         xb_buf_puts(&x, prios[a >> 6 & 3]);
    if (!rc && statuses[b & 15])
        rc = xb_buf_puts(&x, statuses[b & 15]);
    else if (!rc) {
        rc = xb_buf_puts(&x, "<status>");
        for (i = 0; !rc && i < 100; i++)
            rc = xb_buf_puts(&x, i % 10 ? "\xC3\xA9" : "&lt;");
        rc = rc || xb_buf_puts(&x, "</status>");
    }
    if (rc || xb_buf_puts(&x, "</presence>"))
        die("out of memory", NULL);
    deliver_xml(x.data, x.len);
    xb_buf_free(&x);
}

/* GET of a known token, with a suffix (arg bits 0-1: none, .json, .svg,
 * one byte too many). */
static void op_token(unsigned arg)
{
    static const char *const suffix[] = {"", ".json", ".svg", "x"};
    unsigned n = fz.nexpect + fz.nknown, i;
    char path[TOKEN_LEN + 8];

    if (!n)
        return;
    i = (arg >> 2) % n;
    snprintf(path, sizeof path, "%s%s",
             i < fz.nexpect ? fz.expect[i].token : fz.known[i - fz.nexpect],
             suffix[arg & 3]);
    get_any(path, strlen(path));
}

static size_t do_op(const uint8_t *data, size_t len)
{
    unsigned op = data[0] % OP_COUNT;
    unsigned a = len > 1 ? data[1] : 0, b = len > 2 ? data[2] : 0;
    size_t used = 1, n;

    switch (op) {
    case OP_SENDER:
        fz.sender = a;
        used = 2;
        break;
    case OP_MACRO:
        deliver_xml(macros[a % NMACROS], strlen(macros[a % NMACROS]));
        used = 2;
        break;
    case OP_GET:
        n = len > 2 ? len - 2 : 0;
        if (n > a)
            n = a;
        get_any((const char *)data + 2, n);
        used = 2 + n;
        break;
    case OP_TOKEN:
        op_token(a);
        used = 2;
        break;
    case OP_FAIL:
        fz.fail = a;
        used = 2;
        break;
    case OP_RESTART:
        restart();
        break;
    case OP_ONLINE:
        go_online();
        check_state(1, NULL);
        break;
    case OP_OFFLINE:
        go_offline();
        break;
    case OP_FORM:
        op_form(a, b, len > 3 ? data[3] : 0);
        used = 4;
        break;
    case OP_PRESENCE:
        op_presence(a, b);
        used = 3;
        break;
    case OP_TIMER:
        if (fz.timer >= 0) {
            fz.timer = -1;
            xb_bot_timer(fz.bot);
        }
        break;
    default:
        break;
    }
    return used < len ? used : len;
}

static void set(const char *name, unsigned value)
{
    char text[16], err[128];

    snprintf(text, sizeof text, "%u", value);
    if (xb_bot_config_set(fz.cfg, name, text, err, sizeof err))
        die("a setting was refused", err);
}

/*
 * Byte 0: bits 0-1 max_users (1, 2, 100, 4), bits 2-3 max_resources (1,
 * 2, 3, 1), bits 4-5 max_status (64, 1, 8, 64), bit 6 a host without
 * storage, bit 7 a refresh. Then the script.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned statuses[] = {64, 1, 8, 64};
    static const unsigned users[] = {1, 2, MAX_USERS, 4};
    char err[128];
    unsigned ctl, i;
    size_t j, k;

    if (size < 1)
        return 0;
    ctl = data[0];
    memset(&fz, 0, sizeof fz);
    fz.verbose = getenv("XB_FUZZ_VERBOSE") != NULL;
    fz.timer = -1;
    fz.fail = LOAD_OK << 2;
    fz.max_users = users[ctl & 3];
    fz.max_resources = 1 + (ctl >> 2 & 3) % 3;
    fz.max_status = statuses[ctl >> 4 & 3];
    fz.memory_only = (ctl & 64) != 0;
    fz.refresh = ctl & 128 ? 5 : 0;
    fz.host = fz.memory_only ? &host_memory : &host_store;
    fz.kind = xb_bot_kind_find("webpresence");
    if (!fz.kind || !(fz.kind->flags & XB_KIND_SERVICE))
        die("no webpresence service kind", NULL);
    if (!(fz.cfg = xb_bot_config_new(fz.kind)))
        die("out of memory", NULL);
    set("max_users", fz.max_users);
    set("max_resources", fz.max_resources);
    set("max_status", fz.max_status);
    set("refresh", fz.refresh);
    if (xb_bot_config_check(fz.cfg, err, sizeof err))
        die("the config does not check", err);
    if (!(fz.bot = new_bot()))
        die("the bot did not start", NULL);
    go_online();
    /* Measured with the bot up: its fixed cost, and what the first use
     * of OpenSSL's generator keeps for the process, are no growth. */
    fz.base_bytes = live_bytes();

    data++;
    size--;
    for (j = 0; j < size; j = k) {
        if (data[j] == ESC) {
            k = j + 1;
            if (k < size)
                k += do_op(data + k, size - k);
        } else {
            for (k = j; k < size && data[k] != ESC; k++)
                ;
            deliver_xml((const char *)data + j, k - j);
        }
        check_memory(); /* between steps: no parser or page alive */
    }

    check_state(1, NULL);
    go_offline();
    xb_bot_free(fz.bot);
    xb_bot_config_free(fz.cfg);
    for (i = 0; i < fz.nstore; i++) {
        free(fz.store[i].key);
        free(fz.store[i].value);
    }
    while (fz.nexpect)
        drop_reg(&fz.expect[0]);
    return 0;
}

#ifdef __clang__
#pragma clang attribute pop
#endif
