/*
 * Error codes shared by every core module. Calls return 0 on success and a
 * negative XB_E* code on failure; xb_strerror() turns a code into a short
 * English message. Long-lived objects also keep a sticky code and message.
 */
#ifndef XB_ERROR_H
#define XB_ERROR_H

enum {
    XB_OK = 0,
    XB_ENOMEM = -1,   /* an allocation failed */
    XB_EINVAL = -2,   /* an argument is out of range or malformed */
    XB_EXML = -3,     /* the peer sent XML that was refused */
    XB_ELIMIT = -4,   /* a configured size or count limit was hit */
    XB_ESTATE = -5,   /* the call is not allowed in the current state */
    XB_EJID = -6,     /* a JID failed validation */
    XB_ETOOBIG = -7,  /* a value does not fit the representation */
    XB_ENOTFOUND = -8, /* the item looked for does not exist */
    XB_EAUTH = -9,     /* authentication failed or was not proven */
    XB_EPROTO = -10,   /* the peer broke the protocol */
    XB_ECLOSED = -11,  /* the stream or connection is closed */
    XB_ETIMEOUT = -12, /* a deadline passed */
    XB_EIO = -13       /* a host's storage or other I/O failed */
};

/* Returns a static, human-readable description of an XB_E* code. */
const char *xb_strerror(int code);

#endif
