/*
 * Names of the RFC 6120 stream error conditions, and stanza answers.
 */
#include "xmpp.h"

#include <stdio.h>
#include <string.h>

#include "jid.h"
#include "stanza.h"

static const char *const cond_names[XB_COND_COUNT] = {
    [XB_COND_NONE] = "",
    [XB_COND_BAD_FORMAT] = "bad-format",
    [XB_COND_BAD_NAMESPACE_PREFIX] = "bad-namespace-prefix",
    [XB_COND_CONFLICT] = "conflict",
    [XB_COND_CONNECTION_TIMEOUT] = "connection-timeout",
    [XB_COND_HOST_GONE] = "host-gone",
    [XB_COND_HOST_UNKNOWN] = "host-unknown",
    [XB_COND_IMPROPER_ADDRESSING] = "improper-addressing",
    [XB_COND_INTERNAL_SERVER_ERROR] = "internal-server-error",
    [XB_COND_INVALID_FROM] = "invalid-from",
    [XB_COND_INVALID_NAMESPACE] = "invalid-namespace",
    [XB_COND_INVALID_XML] = "invalid-xml",
    [XB_COND_NOT_AUTHORIZED] = "not-authorized",
    [XB_COND_NOT_WELL_FORMED] = "not-well-formed",
    [XB_COND_POLICY_VIOLATION] = "policy-violation",
    [XB_COND_REMOTE_CONNECTION_FAILED] = "remote-connection-failed",
    [XB_COND_RESET] = "reset",
    [XB_COND_RESOURCE_CONSTRAINT] = "resource-constraint",
    [XB_COND_RESTRICTED_XML] = "restricted-xml",
    [XB_COND_SEE_OTHER_HOST] = "see-other-host",
    [XB_COND_SYSTEM_SHUTDOWN] = "system-shutdown",
    [XB_COND_UNDEFINED_CONDITION] = "undefined-condition",
    [XB_COND_UNSUPPORTED_ENCODING] = "unsupported-encoding",
    [XB_COND_UNSUPPORTED_FEATURE] = "unsupported-feature",
    [XB_COND_UNSUPPORTED_STANZA_TYPE] = "unsupported-stanza-type",
    [XB_COND_UNSUPPORTED_VERSION] = "unsupported-version",
};

const char *xb_cond_name(enum xb_cond cond)
{
    if ((unsigned)cond >= XB_COND_COUNT)
        return "";
    return cond_names[cond];
}

enum xb_cond xb_cond_from_name(const char *name)
{
    int i;

    for (i = XB_COND_NONE + 1; i < XB_COND_COUNT; i++)
        if (strcmp(cond_names[i], name) == 0)
            return (enum xb_cond)i;
    return XB_COND_UNDEFINED_CONDITION;
}

struct xb_stanza *xb_xmpp_reply(const struct xb_stanza *req, const char *cond,
                                const char *etype)
{
    const char *from = xb_stanza_attr(req, NULL, "from");
    const char *id = xb_stanza_attr(req, NULL, "id");
    struct xb_stanza *r = xb_stanza_new(XB_NS_CLIENT, xb_stanza_name(req)), *e;

    if (!r || xb_stanza_set_attr(r, NULL, "type", cond ? "error" : "result") ||
        (from && xb_stanza_set_attr(r, NULL, "to", from)) ||
        (id && xb_stanza_set_attr(r, NULL, "id", id)))
        goto oom;
    if (cond && (!(e = xb_stanza_add_child(r, NULL, "error")) ||
                 xb_stanza_set_attr(e, NULL, "type", etype) ||
                 !xb_stanza_add_child(e, XB_NS_STANZA_ERRORS, cond)))
        goto oom;
    return r;
oom:
    xb_stanza_free(r);
    return NULL;
}

int xb_xmpp_can_reply(const struct xb_stanza *req)
{
    const char *from = xb_stanza_attr(req, NULL, "from");

    return !from || xb_jid_check(from, strlen(from), NULL) == 0;
}

const struct xb_stanza *xb_iq_payload(const struct xb_stanza *iq)
{
    const struct xb_stanza *c, *one = NULL;

    for (c = xb_stanza_first(iq); c; c = xb_stanza_next(c)) {
        if (xb_stanza_is_text(c))
            continue;
        if (one)
            return NULL;
        one = c;
    }
    return one;
}

int xb_muc_is_self_presence(const struct xb_stanza *st)
{
    const struct xb_stanza *x = xb_stanza_child(st, XB_NS_MUC_USER, "x"), *s;
    const char *code;

    for (s = x ? xb_stanza_child(x, XB_NS_MUC_USER, "status") : NULL; s;
         s = xb_stanza_next_child(s, XB_NS_MUC_USER, "status"))
        if ((code = xb_stanza_attr(s, NULL, "code")) && !strcmp(code, "110"))
            return 1;
    return 0;
}

void xb_one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

void xb_stream_error_reason(char *buf, size_t size, enum xb_cond cond,
                            const char *hint, const char *text)
{
    if (!size)
        return;
    snprintf(buf, size, "stream error from the server: %s%s%s%.120s",
             xb_cond_name(cond), hint ? hint : "", text ? ": " : "",
             text ? text : "");
    xb_one_line(buf);
}
