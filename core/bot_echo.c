/*
 * The echo bot: answers each chat or normal message with the same body,
 * thread and id, back to its sender. Two safeguards keep it out of endless
 * loops with other bots: a marker element on every echo, and a ring of
 * the (recipient, id) pairs of its last echoes.
 */
#include "bot_int.h"

#include <string.h>

#include "error.h"
#include "jid.h"
#include "stanza_int.h"
#include "xmpp.h"

/* The marker every echo carries; a message with it is never answered. */
#define XB_NS_ECHO "urn:xmppbots:echo"
#define RING_SIZE 8
/* First arena of an echo: room for the usual message without a second
 * allocation. */
#define ECHO_ARENA 512

/*
 * The ring keeps 64-bit hashes of (recipient, id) instead of the strings:
 * 8 bytes per entry whatever the JID length. A collision only costs one
 * unanswered message, with odds of about 8 in 2^64.
 */
struct echo_bot {
    struct xb_bot base;
    uint64_t echoed;  /* counter */
    uint64_t ignored; /* counter */
    uint64_t ring[RING_SIZE];
    unsigned char next; /* slot the next echo overwrites */
};

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Hash of (jid, id); the NUL between them keeps "a"+"bc" apart from
 * "ab"+"c". */
static uint64_t pair_hash(const char *jid, const char *id)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    h = fnv1a(h, jid, strlen(jid) + 1);
    return fnv1a(h, id, strlen(id));
}

static int ring_has(const struct echo_bot *e, uint64_t h)
{
    unsigned i;

    for (i = 0; i < RING_SIZE; i++)
        if (e->ring[i] == h)
            return 1;
    return 0;
}

/* An attribute namespace of another tree, stored for tree t. */
static const char *attr_ns(struct xb_tree *t, const char *ns)
{
    if (!ns[0])
        return "";
    if (!strcmp(ns, XB_NS_XML))
        return XB_NS_XML;
    return xb_tree_strdup(t, ns, strlen(ns));
}

/* Appends to parent a flat copy of the element src: its attributes and
 * all its text, in parent's namespace (the sender's tree may carry none,
 * as Prosody's stanzas do). Everything copied comes from a tree, so it is
 * valid already: the unchecked builders do. */
static int copy_flat(struct xb_tree *t, struct xb_stanza *parent,
                     const struct xb_stanza *src)
{
    const char *name = xb_stanza_name(src), *ns, *value, *text;
    struct xb_stanza *el = NULL;
    const struct xb_stanza *c;
    unsigned i;
    size_t len;

    name = xb_tree_strdup(t, name, strlen(name));
    if (name)
        el = xb_stanza_append_element(t, parent, parent->ns, name);
    if (!el)
        return XB_ENOMEM;
    for (i = 0; xb_stanza_attr_at(src, i, &ns, &name, &value) == 0; i++)
        if (!(ns = attr_ns(t, ns)) ||
            xb_stanza_append_attr(t, el, ns, name, value))
            return XB_ENOMEM;
    for (c = xb_stanza_first(src); c; c = xb_stanza_next(c)) {
        if (!xb_stanza_is_text(c))
            continue;
        text = xb_stanza_text(c, &len);
        if (xb_stanza_append_text(t, el, text, len))
            return XB_ENOMEM;
    }
    return 0;
}

/* The echo of msg (whose children live in namespace ns), or NULL on
 * out-of-memory. */
static struct xb_stanza *build_echo(const struct xb_stanza *msg, const char *ns,
                                    const char *to, const char *type,
                                    const char *id)
{
    const char *lang = xb_stanza_attr(msg, XB_NS_XML, "lang");
    const struct xb_stanza *c;
    struct xb_tree *t = xb_tree_new(ECHO_ARENA);
    struct xb_stanza *r;

    if (!t)
        return NULL;
    r = &t->root;
    r->ns = XB_NS_CLIENT;
    r->name = "message";
    if (xb_stanza_append_attr(t, r, "", "to", to) ||
        (type && xb_stanza_append_attr(t, r, "", "type", type)) ||
        (id && xb_stanza_append_attr(t, r, "", "id", id)) ||
        (lang && xb_stanza_append_attr(t, r, XB_NS_XML, "lang", lang)))
        goto fail;
    /* Every body: a message may carry one per language. */
    for (c = xb_stanza_child(msg, ns, "body"); c;
         c = xb_stanza_next_child(c, ns, "body"))
        if (copy_flat(t, r, c))
            goto fail;
    c = xb_stanza_child(msg, ns, "thread");
    if (c && copy_flat(t, r, c))
        goto fail;
    if (!xb_stanza_append_element(t, r, XB_NS_ECHO, "echo"))
        goto fail;
    return r;
fail:
    xb_stanza_free(r);
    return NULL;
}

/* Should msg be answered? Fills *from with the parsed sender if so. */
static int wants_echo(struct echo_bot *e, const struct xb_stanza *msg,
                      const char *ns, struct xb_jid *from)
{
    const char *type = xb_stanza_attr(msg, NULL, "type");
    const char *id = xb_stanza_attr(msg, NULL, "id");
    const char *f = xb_stanza_attr(msg, NULL, "from");

    if (!e->base.online)
        return 0;
    if (type && strcmp(type, "chat") && strcmp(type, "normal"))
        return 0;
    if (!xb_stanza_child(msg, ns, "body"))
        return 0;
    /* The marker: the message is an echo from one of our own kind. */
    if (xb_stanza_child(msg, XB_NS_ECHO, "echo"))
        return 0;
    /* A sender we could not address is one we cannot answer. */
    if (!f || xb_jid_parse(from, f, strlen(f), NULL))
        return 0;
    if (strlen(from->bare) == e->base.bare_len &&
        !memcmp(from->bare, e->base.jid, e->base.bare_len))
        goto no;
    /* An echo of our own echo from a bot that keeps ids. */
    if (id && ring_has(e, pair_hash(from->full, id)))
        goto no;
    return 1;
no:
    xb_jid_clear(from);
    return 0;
}

static void echo_stanza(struct xb_bot *b, const struct xb_stanza *st)
{
    struct echo_bot *e = (struct echo_bot *)b;
    const char *ns = xb_stanza_ns(st), *id;
    struct xb_jid from;

    if (strcmp(ns, XB_NS_CLIENT) && ns[0])
        return;
    if (!xb_stanza_is(st, NULL, "message"))
        return;
    if (!wants_echo(e, st, ns, &from)) {
        e->ignored++;
        return;
    }
    id = xb_stanza_attr(st, NULL, "id");
    /* Remember the echo before sending it: a host may deliver the answer
     * to it from inside send(). */
    if (id) {
        e->ring[e->next] = pair_hash(from.full, id);
        e->next = (unsigned char)((e->next + 1) % RING_SIZE);
    }
    if (xb_bot_send(b, build_echo(st, ns, xb_stanza_attr(st, NULL, "from"),
                                  xb_stanza_attr(st, NULL, "type"), id)) == 0)
        e->echoed++;
    xb_jid_clear(&from);
}

static const struct xb_bot_option echo_options[] = {{NULL}};

static const struct xb_bot_counter echo_counters[] = {
    {"echoed", "messages echoed",
     "chat and normal messages with a body answered with an echo",
     offsetof(struct echo_bot, echoed)},
    {"ignored", "messages not echoed",
     "messages left unanswered: another type, no body, an echo (marked, "
     "from itself, or an id it just echoed), or a sender it cannot address",
     offsetof(struct echo_bot, ignored)},
    {NULL}};

/* No settings, no timer: online and offline need nothing beyond the
 * header's online flag. */
const struct xb_bot_kind xb_bot_echo = {
    .name = "echo",
    .summary = "answers chat messages with the same body",
    .size = sizeof(struct echo_bot),
    .config_size = 0,
    .options = echo_options,
    .counters = echo_counters,
    .stanza = echo_stanza,
};
