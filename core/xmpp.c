/*
 * Names of the RFC 6120 stream error conditions.
 */
#include "xmpp.h"

#include <string.h>

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
