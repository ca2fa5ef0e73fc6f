/*
 * Parser benchmark. Generates a deterministic stream of realistic XMPP
 * stanzas, then times raw expat in namespace mode (the ceiling) and the
 * xmppbots core parser over it, fed in socket-sized chunks. Prints numbers;
 * asserts nothing about speed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <expat.h>

#include "buf.h"
#include "parser.h"
#include "stanza.h"

#define CHUNK 4096
#define MB 1e6
#define NS_SEP '\1'

static const char *progname = "bench_parser";

static const char stream_head[] =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' "
    "from='localhost' id='abc' version='1.0' xml:lang='en'>";
static const char stream_tail[] = "</stream:stream>";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* The generator: a splitmix64 stream so that a seed gives the same bytes
 * on every machine, appended to a growable buffer. */
struct gen {
    struct xb_buf out;
    uint64_t rng;
    unsigned long stanzas;
};

static uint64_t rnd64(struct gen *g)
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static unsigned rnd(struct gen *g, unsigned n)
{
    return (unsigned)(rnd64(g) % n);
}

/* True with probability percent/100. */
static int chance(struct gen *g, unsigned percent)
{
    return rnd(g, 100) < percent;
}

static void put(struct gen *g, const char *s)
{
    if (xb_buf_puts(&g->out, s) != 0)
        die("out of memory");
}

static void putf(struct gen *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(struct gen *g, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        die("internal error: generated item too long");
    put(g, tmp);
}

/* Appends s escaped the way Prosody's util.stanza escapes text and
 * attribute values: all five predefined entities. */
static void put_escaped(struct gen *g, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *ent;

        switch (*s) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&apos;";
            break;
        default:
            continue;
        }
        if (xb_buf_append(&g->out, run, (size_t)(s - run)) != 0)
            die("out of memory");
        put(g, ent);
        run = s + 1;
    }
    put(g, run);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Words for message bodies: mostly plain ASCII chat, then characters that
 * need escaping, then UTF-8 of every length (2, 3 and 4 bytes, emoji and a
 * ZWJ sequence). */
static const char *const ascii_words[] = {
    "hello", "the",   "meeting", "is",     "at",     "noon",   "see", "you",
    "later", "ok",    "thanks",  "lol",    "what",   "about",  "the", "deploy",
    "build", "broke", "again",   "coffee", "please", "review", "my",  "patch",
    "and",   "a",     "to",      "it",     "works",  "for",    "me",  "now",
    "I",     "think", "so",      "\n"};

static const char *const markup_words[] = {
    "it's",       "R&D",     "a<b",      "x>y",
    "\"quoted\"", "O'Brien", "<script>", "https://x.org/?a=1&b=2"};

static const char *const utf8_words[] = {
    "café",   "naïve", "Straße", "Grüße",
    "日本語", "中文",  "你好",   "€5",
    "привет", "Ωmega", "😀",      "🎉",
    "👍",      "🚀",     "𝄞",      "👨‍👩‍👧"};

static const char *const resources[] = {
    "phone", "laptop", "gajim.4F2A", "Conversations.x1y2", "desktop", "web",
};

static const char *const nicks[] = {"alice", "bob",   "carol",   "dave",
                                    "Ève",   "frank", "gösta",   "hanako",
                                    "ivan",  "judy",  "mallory", "trent"};

static const char *const features[] = {
    "http://jabber.org/protocol/caps",
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "http://jabber.org/protocol/muc",
    "http://jabber.org/protocol/chatstates",
    "http://jabber.org/protocol/nick+notify",
    "urn:xmpp:avatar:metadata+notify",
    "urn:xmpp:ping",
    "urn:xmpp:receipts",
    "urn:xmpp:time",
    "urn:xmpp:message-correct:0",
    "urn:xmpp:chat-markers:0",
    "urn:xmpp:jingle:1",
    "urn:xmpp:jingle:apps:rtp:1",
    "eu.siacs.conversations.axolotl.devicelist+notify",
    "jabber:iq:version",
    "jabber:x:conference",
};

static void put_user(struct gen *g)
{
    putf(g, "user%u@localhost", rnd(g, 1000));
}

static void put_full(struct gen *g)
{
    put_user(g);
    putf(g, "/%s", resources[rnd(g, COUNT(resources))]);
}

static void put_uuid(struct gen *g)
{
    uint64_t a = rnd64(g), b = rnd64(g);

    putf(g, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
         (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
         0x8000 | ((unsigned)(b >> 48) & 0x3fff),
         (unsigned long long)(b & 0xffffffffffffULL));
}

static const char *pick_word(struct gen *g)
{
    unsigned k = rnd(g, 100);

    if (k < 80)
        return ascii_words[rnd(g, COUNT(ascii_words))];
    if (k < 88)
        return markup_words[rnd(g, COUNT(markup_words))];
    return utf8_words[rnd(g, COUNT(utf8_words))];
}

/* Body text: mostly short lines, now and then a long one. */
static void put_body_text(struct gen *g)
{
    unsigned n = chance(g, 85) ? 2 + rnd(g, 12) : 20 + rnd(g, 60);

    for (unsigned i = 0; i < n; i++) {
        if (i > 0)
            put(g, " ");
        put_escaped(g, pick_word(g));
    }
}

static void put_stamp(struct gen *g)
{
    putf(g, "2024-%02u-%02uT%02u:%02u:%02uZ", 1 + rnd(g, 12), 1 + rnd(g, 28),
         rnd(g, 24), rnd(g, 60), rnd(g, 60));
}

static void gen_chat(struct gen *g)
{
    put(g, "<message from='");
    put_full(g);
    put(g, "' to='");
    put_full(g);
    put(g, "' type='chat' id='");
    put_uuid(g);
    put(g, chance(g, 50) ? "' xml:lang='en'>" : "'>");
    if (chance(g, 90)) {
        put(g, "<body>");
        put_body_text(g);
        put(g, "</body>");
        if (chance(g, 40))
            putf(g, "<thread>%016llx</thread>", (unsigned long long)rnd64(g));
        if (chance(g, 60))
            put(g, "<active xmlns='http://jabber.org/protocol/chatstates'/>");
        if (chance(g, 50))
            put(g, "<request xmlns='urn:xmpp:receipts'/>");
        if (chance(g, 30))
            put(g, "<markable xmlns='urn:xmpp:chat-markers:0'/>");
        if (chance(g, 50)) {
            put(g, "<origin-id xmlns='urn:xmpp:sid:0' id='");
            put_uuid(g);
            put(g, "'/>");
        }
    } else {
        put(g, "<composing xmlns='http://jabber.org/protocol/chatstates'/>");
    }
    if (chance(g, 50)) {
        put(g, "<stanza-id xmlns='urn:xmpp:sid:0' id='");
        put_uuid(g);
        put(g, "' by='");
        put_user(g);
        put(g, "'/>");
    }
    put(g, "</message>");
}

static void gen_groupchat(struct gen *g)
{
    unsigned room = rnd(g, 50);

    putf(g, "<message from='room%u@conference.localhost/%s' to='", room,
         nicks[rnd(g, COUNT(nicks))]);
    put_full(g);
    put(g, "' type='groupchat' id='");
    put_uuid(g);
    put(g, "' xml:lang='en'>");
    if (chance(g, 95)) {
        put(g, "<body>");
        put_body_text(g);
        put(g, "</body>");
    } else {
        put(g, "<subject>");
        put_body_text(g);
        put(g, "</subject>");
    }
    if (chance(g, 50))
        putf(g, "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='%016llx'/>",
             (unsigned long long)rnd64(g));
    put(g, "<stanza-id xmlns='urn:xmpp:sid:0' id='");
    put_uuid(g);
    putf(g, "' by='room%u@conference.localhost'/>", room);
    if (chance(g, 10)) {
        putf(g,
             "<delay xmlns='urn:xmpp:delay' from='room%u@conference."
             "localhost' stamp='",
             room);
        put_stamp(g);
        put(g, "'/>");
    }
    put(g, "</message>");
}

static void put_caps(struct gen *g)
{
    putf(g,
         "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
         "node='https://gajim.org' ver='%016llx%08x='/>",
         (unsigned long long)rnd64(g), rnd(g, 0xffffffffu));
}

static void gen_muc_presence(struct gen *g)
{
    static const char *const affs[] = {"none", "member", "admin", "owner"};
    static const char *const roles[] = {"participant", "moderator", "visitor"};
    int leave = chance(g, 20);

    putf(g, "<presence from='room%u@conference.localhost/%s' to='", rnd(g, 50),
         nicks[rnd(g, COUNT(nicks))]);
    put_full(g);
    put(g, leave ? "' type='unavailable' id='" : "' id='");
    put_uuid(g);
    put(g, "'>");
    if (!leave)
        put_caps(g);
    putf(g,
         "<x xmlns='http://jabber.org/protocol/muc#user'>"
         "<item affiliation='%s' role='%s' jid='",
         affs[rnd(g, COUNT(affs))],
         leave ? "none" : roles[rnd(g, COUNT(roles))]);
    put_full(g);
    put(g, "'/>");
    if (chance(g, 30))
        put(g, "<status code='110'/>");
    if (chance(g, 20))
        put(g, "<status code='100'/>");
    if (chance(g, 10))
        put(g, "<status code='170'/>");
    put(g, "</x>");
    if (chance(g, 50))
        putf(g, "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='%016llx'/>",
             (unsigned long long)rnd64(g));
    put(g, "</presence>");
}

static void gen_presence(struct gen *g)
{
    static const char *const shows[] = {"away", "chat", "dnd", "xa"};

    if (chance(g, 50)) {
        gen_muc_presence(g);
        return;
    }
    put(g, "<presence from='");
    put_full(g);
    put(g, "' to='");
    put_user(g);
    if (chance(g, 15)) {
        put(g, "' type='unavailable'/>");
        return;
    }
    put(g, "'>");
    if (chance(g, 50))
        putf(g, "<show>%s</show>", shows[rnd(g, COUNT(shows))]);
    if (chance(g, 40)) {
        put(g, "<status>");
        put_body_text(g);
        put(g, "</status>");
    }
    putf(g, "<priority>%u</priority>", rnd(g, 50));
    put_caps(g);
    if (chance(g, 20)) {
        put(g, "<idle xmlns='urn:xmpp:idle:1' since='");
        put_stamp(g);
        put(g, "'/>");
    }
    put(g, "</presence>");
}

static void put_iq_open(struct gen *g, const char *type)
{
    putf(g, "<iq type='%s' id='", type);
    put_uuid(g);
    put(g, "' from='");
    put_full(g);
    put(g, "' to='");
    put_full(g);
    put(g, "'");
}

static void gen_disco_info(struct gen *g)
{
    unsigned n = 8 + rnd(g, COUNT(features) - 8);

    put_iq_open(g, "result");
    putf(g,
         "><query xmlns='http://jabber.org/protocol/disco#info' "
         "node='https://gajim.org#%016llx='>"
         "<identity category='client' type='%s' name='%s'/>",
         (unsigned long long)rnd64(g), chance(g, 50) ? "pc" : "phone",
         chance(g, 50) ? "Gajim" : "Conversations");
    for (unsigned i = 0; i < n; i++)
        putf(g, "<feature var='%s'/>", features[i]);
    if (chance(g, 50))
        put(g, "<x xmlns='jabber:x:data' type='result'>"
               "<field var='FORM_TYPE' type='hidden'>"
               "<value>urn:xmpp:dataforms:softwareinfo</value></field>"
               "<field var='software'><value>Gajim</value></field>"
               "<field var='software_version'><value>1.8.4</value></field>"
               "<field var='os'><value>Linux</value></field></x>");
    put(g, "</query></iq>");
}

static void gen_roster_push(struct gen *g)
{
    static const char *const subs[] = {"both", "to", "from", "none"};

    putf(g, "<iq type='set' id='");
    put_uuid(g);
    put(g, "' to='");
    put_full(g);
    putf(g, "'><query xmlns='jabber:iq:roster' ver='v%u'><item jid='",
         rnd(g, 100000));
    put_user(g);
    put(g, "' name='");
    put_escaped(g, chance(g, 20) ? "Mary O'Brien & co" : nicks[rnd(g, 12)]);
    putf(g, "' subscription='%s'>", subs[rnd(g, COUNT(subs))]);
    if (chance(g, 70))
        put(g, "<group>Friends</group>");
    if (chance(g, 30))
        put(g, "<group>Work &amp; Ops</group>");
    put(g, "</item></query></iq>");
}

static void gen_iq(struct gen *g)
{
    unsigned k = rnd(g, 10);

    if (k < 4) {
        put_iq_open(g, "get");
        put(g, "><ping xmlns='urn:xmpp:ping'/></iq>");
    } else if (k < 6) {
        put_iq_open(g, "result");
        put(g, "/>");
    } else if (k < 8) {
        gen_roster_push(g);
    } else {
        gen_disco_info(g);
    }
}

static void generate(const char *path, double megabytes, uint64_t seed)
{
    struct gen g;
    size_t target = (size_t)(megabytes * MB);
    FILE *f;

    xb_buf_init(&g.out);
    g.rng = seed;
    g.stanzas = 0;
    put(&g, stream_head);
    while (g.out.len + sizeof(stream_tail) - 1 < target) {
        unsigned k = rnd(&g, 100);

        if (k < 50)
            gen_chat(&g);
        else if (k < 70)
            gen_groupchat(&g);
        else if (k < 90)
            gen_presence(&g);
        else
            gen_iq(&g);
        g.stanzas++;
        /* Whitespace keepalives between stanzas, as servers send them. */
        if (chance(&g, 1))
            put(&g, " ");
    }
    put(&g, stream_tail);

    f = fopen(path, "wb");
    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    if (fwrite(g.out.data, 1, g.out.len, f) != g.out.len || fclose(f) != 0)
        die("%s: write failed: %s", path, strerror(errno));
    printf("wrote %s: %zu bytes, %lu stanzas, seed %llu\n", path, g.out.len,
           g.stanzas, (unsigned long long)seed);
    xb_buf_free(&g.out);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    for (;;) {
        size_t got;

        if (cap - n < CHUNK) {
            char *p;

            cap = cap ? cap * 2 : 1 << 20;
            p = realloc(data, cap);
            if (p == NULL)
                die("out of memory reading %s", path);
            data = p;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        die("%s: read failed", path);
    fclose(f);
    *len = n;
    return data;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static XML_Parser expat_new(void)
{
    XML_Parser p = XML_ParserCreateNS(NULL, NS_SEP);

    if (p == NULL)
        die("out of memory");
#ifdef HAVE_XML_SETREPARSEDEFERRALENABLED
    /* As the core parser does for an interactive stream. */
    XML_SetReparseDeferralEnabled(p, XML_FALSE);
#endif
    return p;
}

static void expat_feed(XML_Parser p, const char *data, size_t len)
{
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;

        if (XML_Parse(p, data + off, (int)n, 0) != XML_STATUS_OK)
            goto fail;
    }
    if (XML_Parse(p, NULL, 0, 1) == XML_STATUS_OK)
        return;
fail:
    die("expat: %s at line %lu column %lu",
        XML_ErrorString(XML_GetErrorCode(p)),
        (unsigned long)XML_GetCurrentLineNumber(p),
        (unsigned long)XML_GetCurrentColumnNumber(p));
}

/* Untimed reference pass: counts the children of the stream root. */
struct census {
    unsigned depth;
    unsigned long stanzas;
};

static void census_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    (void)name;
    (void)atts;
    ((struct census *)ud)->depth++;
}

static void census_end(void *ud, const XML_Char *name)
{
    struct census *c = ud;

    (void)name;
    if (--c->depth == 1)
        c->stanzas++;
}

static unsigned long count_stanzas(const char *data, size_t len)
{
    struct census c = {0, 0};
    XML_Parser p = expat_new();

    XML_SetUserData(p, &c);
    XML_SetElementHandler(p, census_start, census_end);
    expat_feed(p, data, len);
    XML_ParserFree(p);
    return c.stanzas;
}

/* The ceiling: expat tokenizing and resolving namespaces, no handlers. */
static double run_expat(const char *data, size_t len)
{
    XML_Parser p = expat_new();
    double t0 = now(), t;

    expat_feed(p, data, len);
    t = now() - t0;
    XML_ParserFree(p);
    return t;
}

struct core_run {
    unsigned long stanzas;
    unsigned long closes;
    size_t mem;
};

static void on_stanza_free(void *ud, struct xb_stanza *st)
{
    ((struct core_run *)ud)->stanzas++;
    xb_stanza_free(st);
}

static void on_stanza_mem(void *ud, struct xb_stanza *st)
{
    struct core_run *r = ud;

    r->stanzas++;
    r->mem += xb_stanza_mem(st);
    xb_stanza_free(st);
}

static void on_close(void *ud)
{
    ((struct core_run *)ud)->closes++;
}

static double run_core(const char *data, size_t len,
                       void (*hook)(void *, struct xb_stanza *),
                       struct core_run *r)
{
    struct xb_parser_hooks hooks = {NULL, hook, on_close};
    struct xb_parser *p;
    double t0, t;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    p = xb_parser_new(&hooks, r, NULL, 0);
    if (p == NULL)
        die("out of memory");
    t0 = now();
    for (size_t off = 0; off < len && rc == 0; off += CHUNK)
        rc = xb_parser_feed(p, data + off,
                            len - off < CHUNK ? len - off : CHUNK);
    t = now() - t0;
    if (rc != 0)
        die("core parser: error %d: %s", rc, xb_parser_message(p));
    if (r->closes != 1)
        die("core parser: stream close not reported");
    xb_parser_free(p);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Sorts the round times in place; returns the best, stores the median. */
static double best_of(double *t, unsigned n, double *median)
{
    qsort(t, n, sizeof(*t), cmp_double);
    *median = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    return t[0];
}

static void print_row(const char *name, const char *key, double secs,
                      double median, double base, size_t len,
                      unsigned long stanzas)
{
    double mbs = (double)len / MB / secs;

    printf("%-22s %9.1f %12.0f %10.3f %8.2fx\n", name, mbs,
           (double)stanzas / secs, secs * 1e6 / (double)stanzas, base / secs);
    printf("%s.mb_s=%.2f\n%s.stanzas_s=%.0f\n%s.ratio=%.3f\n"
           "%s.mb_s_median=%.2f\n",
           key, mbs, key, (double)stanzas / secs, key, base / secs, key,
           (double)len / MB / median);
}

static void check_count(const struct core_run *r, unsigned long stanzas)
{
    if (r->stanzas != stanzas)
        die("core parser delivered %lu stanzas, expected %lu", r->stanzas,
            stanzas);
}

static void bench(const char *path, unsigned rounds)
{
    size_t len;
    char *data = read_file(path, &len);
    unsigned long stanzas = count_stanzas(data, len);
    double *t_expat = calloc(rounds, sizeof(double));
    double *t_core = calloc(rounds, sizeof(double));
    double best_expat, best_core, med_expat, med_core, wire, heap;
    struct core_run r;

    if (t_expat == NULL || t_core == NULL)
        die("out of memory");
    if (stanzas == 0)
        die("%s: no stanzas in the stream", path);
    /* Interleaved, so that a noisy neighbour slows both alike. */
    for (unsigned i = 0; i < rounds; i++) {
        t_expat[i] = run_expat(data, len);
        t_core[i] = run_core(data, len, on_stanza_free, &r);
        check_count(&r, stanzas);
    }
    best_expat = best_of(t_expat, rounds, &med_expat);
    best_core = best_of(t_core, rounds, &med_core);
    run_core(data, len, on_stanza_mem, &r);
    check_count(&r, stanzas);
    heap = (double)r.mem / (double)stanzas;
    wire =
        (double)(len - (sizeof(stream_head) - 1) - (sizeof(stream_tail) - 1)) /
        (double)stanzas;

    printf("# %s: %zu bytes, %lu stanzas (%.1f bytes each), %d-byte "
           "chunks, best of %u, expat %s\n",
           path, len, stanzas, wire, CHUNK, rounds, XML_ExpatVersion());
    printf("stream.bytes=%zu\nstream.stanzas=%lu\nstream.wire_bytes_per_"
           "stanza=%.1f\nstream.rounds=%u\n",
           len, stanzas, wire, rounds);
    printf("%-22s %9s %12s %10s %9s\n", "# parser", "MB/s", "stanzas/s",
           "us/stanza", "vs expat");
    print_row("expat-ns (no handlers)", "expat_raw", best_expat, med_expat,
              best_expat, len, stanzas);
    print_row("xmppbots core", "xb_core", best_core, med_core, best_expat, len,
              stanzas);
    printf("# xmppbots core heap per parsed stanza: %.1f bytes "
           "(%.2fx its wire size)\n",
           heap, heap / wire);
    printf("xb_core.heap_bytes_per_stanza=%.1f\n", heap);
    free(t_expat);
    free(t_core);
    free(data);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s --generate FILE [--megabytes N] [--seed S]\n"
            "       %s FILE [--rounds R]\n",
            progname, progname);
}

static unsigned long parse_ulong(const char *opt, const char *s)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        die("%s: not a number: %s", opt, s);
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"generate", required_argument, NULL, 'g'},
        {"megabytes", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, 's'},
        {"rounds", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *gen_path = NULL;
    double megabytes = 8;
    unsigned long seed = 1, rounds = 5;
    int c;

    while ((c = getopt_long(argc, argv, "g:m:s:r:h", opts, NULL)) != -1) {
        char *end;

        switch (c) {
        case 'g':
            gen_path = optarg;
            break;
        case 'm':
            errno = 0;
            megabytes = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' ||
                !(megabytes > 0 && megabytes <= 2000))
                die("--megabytes: want a number in (0, 2000]: %s", optarg);
            break;
        case 's':
            seed = parse_ulong("--seed", optarg);
            break;
        case 'r':
            rounds = parse_ulong("--rounds", optarg);
            if (rounds < 1 || rounds > 1000)
                die("--rounds: want 1 to 1000: %s", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (gen_path != NULL) {
        if (optind != argc) {
            usage(stderr);
            return 1;
        }
        generate(gen_path, megabytes, seed);
        return 0;
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 1;
    }
    bench(argv[optind], (unsigned)rounds);
    return 0;
}
