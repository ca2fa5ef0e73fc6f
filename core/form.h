/*
 * XEP-0004 data forms: builders that write a form (<x xmlns='jabber:x:data'/>)
 * into a stanza tree, and a strict parser that checks a submitted form
 * against the fields a service asked for. Parse errors name the XMPP stanza
 * error condition (RFC 6120 8.3.3) the service answers with.
 */
#ifndef XB_FORM_H
#define XB_FORM_H

#include <stddef.h>

#include "stanza.h"

/* The form types of XEP-0004 3.1. */
enum xb_form_type {
    XB_FORM_FORM,   /* a form to fill in */
    XB_FORM_SUBMIT, /* the filled-in form */
    XB_FORM_CANCEL, /* the submitter gave up */
    XB_FORM_RESULT  /* data returned */
};

/* The field types of XEP-0004 3.3. */
enum xb_field_type {
    XB_FIELD_BOOLEAN,
    XB_FIELD_FIXED,
    XB_FIELD_HIDDEN,
    XB_FIELD_JID_MULTI,
    XB_FIELD_JID_SINGLE,
    XB_FIELD_LIST_MULTI,
    XB_FIELD_LIST_SINGLE,
    XB_FIELD_TEXT_MULTI,
    XB_FIELD_TEXT_PRIVATE,
    XB_FIELD_TEXT_SINGLE,
    XB_FIELD_COUNT
};

/* Flags of a field. */
#define XB_FORM_REQUIRED 1u /* <required/>; the parser: must be present */

/* "form", "submit", "cancel", "result"; "" when out of range. Static. */
const char *xb_form_type_name(enum xb_form_type type);

/* "boolean", "text-single", ...; "" when out of range. Static. */
const char *xb_field_type_name(enum xb_field_type type);

/* --- building ------------------------------------------------------------ */

/*
 * Appends a form <x xmlns='jabber:x:data' type='...'/> to parent, or makes
 * it a new root when parent is NULL (the caller then frees it with
 * xb_stanza_free()). title and instructions (NULL: none) become <title/>
 * and one <instructions/>; they are copied. Returns the <x/> element
 * (owned by parent's tree, or the new root), or NULL on out-of-memory
 * (parent may then hold a partial <x/>: free the whole tree).
 */
struct xb_stanza *xb_form_add(struct xb_stanza *parent, enum xb_form_type type,
                              const char *title, const char *instructions);

/*
 * Appends a <field/> to the form x: type (written as the 'type'
 * attribute), var (NULL only for a fixed field), label (NULL: none),
 * flags (XB_FORM_REQUIRED adds <required/>) and one value (NULL: none; add
 * more with xb_form_add_value()). Strings are copied. Returns the field,
 * owned by x's tree, or NULL on out-of-memory.
 */
struct xb_stanza *xb_form_add_field(struct xb_stanza *x,
                                    enum xb_field_type type, const char *var,
                                    const char *label, unsigned flags,
                                    const char *value);

/* Appends a <value/> (copied) to field. 0 or XB_ENOMEM. */
int xb_form_add_value(struct xb_stanza *field, const char *value);

/* Appends an <option label='...'><value/></option> to a list field (label
 * may be NULL). 0 or XB_ENOMEM. */
int xb_form_add_option(struct xb_stanza *field, const char *label,
                       const char *value);

/* --- parsing a submitted form ------------------------------------------- */

/* What a service accepts in one field of a submitted form. */
struct xb_form_spec_field {
    const char *var;
    enum xb_field_type type;
    unsigned flags; /* XB_FORM_REQUIRED: absent is an error */
    size_t max_len; /* bytes per value; 0: XB_FORM_MAX_LEN */
    /* list-single / list-multi: the accepted values, NULL-terminated;
     * NULL: any value */
    const char *const *options;
};

#define XB_FORM_MAX_LEN 1024u  /* default bytes per value */
#define XB_FORM_MAX_FIELDS 64u /* <field/> elements a form may carry */
#define XB_FORM_MAX_VALUES 32u /* values of one multi-valued field */
#define XB_FORM_SPEC_MAX 16u   /* fields a spec may name */

/* A service's whole form. */
struct xb_form_spec {
    /* The FORM_TYPE (XEP-0068) a submission must carry as its hidden
     * field's single value, e.g. "jabber:iq:register"; NULL: none
     * expected (a FORM_TYPE field is then an unknown field). */
    const char *form_type;
    /* At most XB_FORM_SPEC_MAX fields, NULL-var terminated. */
    const struct xb_form_spec_field *fields;
};

/* Why a submitted form was refused. Each maps to a stanza error
 * condition through xb_form_error_cond(). */
enum xb_form_error {
    XB_FORM_OK = 0,
    /* bad-request: the submission is malformed */
    XB_FORM_ENOTFORM,   /* not <x xmlns='jabber:x:data'/> */
    XB_FORM_ETYPE,      /* its type is not "submit" */
    XB_FORM_ESTRUCT,    /* an element or text that has no place there */
    XB_FORM_ENOVAR,     /* a <field/> without a var */
    XB_FORM_EDUP,       /* the same var twice */
    XB_FORM_EFIELDTYPE, /* a field's type differs from the form's */
    XB_FORM_EMULTI,     /* several values in a single-valued field */
    XB_FORM_EFORMTYPE,  /* FORM_TYPE missing, not hidden, or another */
    /* not-acceptable: well-formed, but not what the service accepts */
    XB_FORM_EUNKNOWN, /* a field the form does not have */
    XB_FORM_EVALUE,   /* a value not valid for the field's type */
    XB_FORM_EMISSING, /* a required field absent, or a field without
                         a value */
    XB_FORM_ETOOLONG, /* a value over the field's byte limit */
    XB_FORM_ETOOMANY  /* too many fields or values */
};

/* One field of a parsed submission. Pointers are borrowed from the
 * submitted stanza: valid while it lives. */
struct xb_form_value {
    const struct xb_stanza *field; /* the <field/>, or NULL if absent */
    const char *value;             /* the first value ("" for <value/>);
                                      NULL if absent */
    size_t len;                    /* bytes of value */
    unsigned nvalues;              /* number of <value/> elements */
    int boolean;                   /* boolean fields: 0 or 1 */
};

/* A parsed submission: values[i] belongs to spec->fields[i]. */
struct xb_form {
    struct xb_form_value values[XB_FORM_SPEC_MAX];
    unsigned nvalues;         /* fields the spec names */
    enum xb_form_error error; /* XB_FORM_OK, or why it was refused */
    char why[160];            /* one line for <text/> and logs */
};

/*
 * Checks the submitted form x against spec and fills out (which need not
 * be initialized). Strict: the form must be <x xmlns='jabber:x:data'
 * type='submit'/>, with the spec's FORM_TYPE, only fields the spec names,
 * each at most once, of its type (the 'type' attribute may be left out),
 * with values valid for the type (boolean: 0, 1, false, true; jid-*: a
 * valid JID; text-single, jid-*: one line; list-*: one of the options),
 * within the byte limit. <title/>, <instructions/> and, in fields,
 * <desc/>, <required/> and <option/> are ignored (clients echo them), as
 * are elements in other namespaces (extensions); any other element or
 * non-blank text is refused. Absent optional fields are left with
 * field == NULL. Returns 0, or XB_EPROTO with out->error and out->why
 * set. Allocates nothing.
 */
int xb_form_parse(const struct xb_stanza *x, const struct xb_form_spec *spec,
                  struct xb_form *out);

/* The stanza error condition for err: "bad-request" or "not-acceptable"
 * (both of type "modify"); "" for XB_FORM_OK. Static. */
const char *xb_form_error_cond(enum xb_form_error err);

/* A short name of err ("unknown field"). Static. */
const char *xb_form_error_name(enum xb_form_error err);

/* The i-th <value/> text of a parsed field (i < nvalues), borrowed; *len
 * (if not NULL) gets its length. NULL if there is no such value. */
const char *xb_form_value_at(const struct xb_form_value *v, unsigned i,
                             size_t *len);

#endif
