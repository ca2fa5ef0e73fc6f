/*
 * Messages for the XB_E* error codes of error.h.
 */
#include "error.h"

const char *xb_strerror(int code)
{
    switch (code) {
    case XB_OK:
        return "success";
    case XB_ENOMEM:
        return "out of memory";
    case XB_EINVAL:
        return "invalid argument";
    case XB_EXML:
        return "XML refused";
    case XB_ELIMIT:
        return "limit exceeded";
    case XB_ESTATE:
        return "not allowed in this state";
    case XB_EJID:
        return "invalid JID";
    case XB_ETOOBIG:
        return "value too large";
    case XB_ENOTFOUND:
        return "not found";
    case XB_EAUTH:
        return "authentication failed";
    case XB_EPROTO:
        return "protocol violation by the peer";
    case XB_ECLOSED:
        return "stream closed";
    case XB_ETIMEOUT:
        return "timed out";
    case XB_EIO:
        return "storage or I/O failed";
    }
    return "unknown error";
}
