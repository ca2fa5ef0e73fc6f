/*
 * XEP-0004 data forms: the builders and the strict parser of submitted
 * forms (see form.h).
 */
#include "form.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "jid.h"
#include "xmpp.h"

static const char *const form_type_names[] = {
    [XB_FORM_FORM] = "form",
    [XB_FORM_SUBMIT] = "submit",
    [XB_FORM_CANCEL] = "cancel",
    [XB_FORM_RESULT] = "result",
};

static const char *const field_type_names[XB_FIELD_COUNT] = {
    [XB_FIELD_BOOLEAN] = "boolean",
    [XB_FIELD_FIXED] = "fixed",
    [XB_FIELD_HIDDEN] = "hidden",
    [XB_FIELD_JID_MULTI] = "jid-multi",
    [XB_FIELD_JID_SINGLE] = "jid-single",
    [XB_FIELD_LIST_MULTI] = "list-multi",
    [XB_FIELD_LIST_SINGLE] = "list-single",
    [XB_FIELD_TEXT_MULTI] = "text-multi",
    [XB_FIELD_TEXT_PRIVATE] = "text-private",
    [XB_FIELD_TEXT_SINGLE] = "text-single",
};

const char *xb_form_type_name(enum xb_form_type type)
{
    if ((unsigned)type > XB_FORM_RESULT)
        return "";
    return form_type_names[type];
}

const char *xb_field_type_name(enum xb_field_type type)
{
    if ((unsigned)type >= XB_FIELD_COUNT)
        return "";
    return field_type_names[type];
}

static struct xb_stanza *add_text_child(struct xb_stanza *parent,
                                        const char *name, const char *text)
{
    struct xb_stanza *c = xb_stanza_add_child(parent, NULL, name);

    if (!c || (*text && xb_stanza_add_text(c, text, strlen(text))))
        return NULL;
    return c;
}

struct xb_stanza *xb_form_add(struct xb_stanza *parent, enum xb_form_type type,
                              const char *title, const char *instructions)
{
    struct xb_stanza *x = parent ? xb_stanza_add_child(parent, XB_NS_DATA, "x")
                                 : xb_stanza_new(XB_NS_DATA, "x");

    if (!x)
        return NULL;
    if (xb_stanza_set_attr(x, NULL, "type", xb_form_type_name(type)) ||
        (title && !add_text_child(x, "title", title)) ||
        (instructions && !add_text_child(x, "instructions", instructions))) {
        if (!parent)
            xb_stanza_free(x);
        return NULL;
    }
    return x;
}

struct xb_stanza *xb_form_add_field(struct xb_stanza *x,
                                    enum xb_field_type type, const char *var,
                                    const char *label, unsigned flags,
                                    const char *value)
{
    struct xb_stanza *f = xb_stanza_add_child(x, XB_NS_DATA, "field");

    if (!f || xb_stanza_set_attr(f, NULL, "type", xb_field_type_name(type)) ||
        (var && xb_stanza_set_attr(f, NULL, "var", var)) ||
        (label && xb_stanza_set_attr(f, NULL, "label", label)) ||
        ((flags & XB_FORM_REQUIRED) &&
         !xb_stanza_add_child(f, NULL, "required")) ||
        (value && xb_form_add_value(f, value)))
        return NULL;
    return f;
}

int xb_form_add_value(struct xb_stanza *field, const char *value)
{
    return add_text_child(field, "value", value) ? 0 : XB_ENOMEM;
}

int xb_form_add_option(struct xb_stanza *field, const char *label,
                       const char *value)
{
    struct xb_stanza *o = xb_stanza_add_child(field, XB_NS_DATA, "option");

    if (!o || (label && xb_stanza_set_attr(o, NULL, "label", label)) ||
        !add_text_child(o, "value", value))
        return XB_ENOMEM;
    return 0;
}

/* --- parsing ------------------------------------------------------------- */

static const char *const error_names[] = {
    [XB_FORM_OK] = "no error",
    [XB_FORM_ENOTFORM] = "not a data form",
    [XB_FORM_ETYPE] = "not a submitted form",
    [XB_FORM_ESTRUCT] = "unexpected content",
    [XB_FORM_ENOVAR] = "field without var",
    [XB_FORM_EDUP] = "duplicate field",
    [XB_FORM_EFIELDTYPE] = "wrong field type",
    [XB_FORM_EMULTI] = "several values",
    [XB_FORM_EFORMTYPE] = "wrong FORM_TYPE",
    [XB_FORM_EUNKNOWN] = "unknown field",
    [XB_FORM_EVALUE] = "invalid value",
    [XB_FORM_EMISSING] = "missing value",
    [XB_FORM_ETOOLONG] = "value too long",
    [XB_FORM_ETOOMANY] = "too many fields or values",
};

const char *xb_form_error_name(enum xb_form_error err)
{
    if ((unsigned)err > XB_FORM_ETOOMANY)
        return "";
    return error_names[err];
}

const char *xb_form_error_cond(enum xb_form_error err)
{
    if (err == XB_FORM_OK || (unsigned)err > XB_FORM_ETOOMANY)
        return "";
    return err >= XB_FORM_EUNKNOWN ? "not-acceptable" : "bad-request";
}

/* At most max bytes of s, cut back to a UTF-8 character boundary, so that
 * a hostile var does not make the reason long or cut a character. */
static int quote_len(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return (int)n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

static int fail(struct xb_form *out, enum xb_form_error err, const char *var,
                const char *what)
{
    out->error = err;
    if (var)
        snprintf(out->why, sizeof out->why, "%s: field '%.*s'%s%s",
                 xb_form_error_name(err), quote_len(var, 48), var,
                 *what ? " " : "", what);
    else
        snprintf(out->why, sizeof out->why, "%s%s%s", xb_form_error_name(err),
                 *what ? ": " : "", what);
    return XB_EPROTO;
}

static int blank(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

/* Non-blank text directly in el. */
static int has_text(const struct xb_stanza *el)
{
    const struct xb_stanza *c;
    const char *t;
    size_t len;

    for (c = xb_stanza_first(el); c; c = xb_stanza_next(c))
        if (xb_stanza_is_text(c) && (t = xb_stanza_text(c, &len)) &&
            !blank(t, len))
            return 1;
    return 0;
}

static int single_valued(enum xb_field_type t)
{
    return t != XB_FIELD_JID_MULTI && t != XB_FIELD_LIST_MULTI &&
           t != XB_FIELD_TEXT_MULTI;
}

static int one_line(const char *s, size_t len)
{
    return !memchr(s, '\n', len) && !memchr(s, '\r', len);
}

static int in_options(const char *const *options, const char *s)
{
    for (; *options; options++)
        if (strcmp(*options, s) == 0)
            return 1;
    return 0;
}

/* Checks one value of field var against its type; boolean gets 0/1. */
static int check_value(struct xb_form *out, const struct xb_form_spec_field *f,
                       const char *s, size_t len, int *boolean)
{
    size_t max = f->max_len ? f->max_len : XB_FORM_MAX_LEN;

    if (len > max)
        return fail(out, XB_FORM_ETOOLONG, f->var, "");
    switch (f->type) {
    case XB_FIELD_BOOLEAN:
        if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0)
            *boolean = 1;
        else if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0)
            *boolean = 0;
        else
            return fail(out, XB_FORM_EVALUE, f->var,
                        "(a boolean is 0, 1, false or true)");
        break;
    case XB_FIELD_JID_SINGLE:
    case XB_FIELD_JID_MULTI:
        if (xb_jid_check(s, len, NULL))
            return fail(out, XB_FORM_EVALUE, f->var, "(not a valid JID)");
        break;
    case XB_FIELD_TEXT_SINGLE:
        if (!one_line(s, len))
            return fail(out, XB_FORM_EVALUE, f->var, "(one line only)");
        break;
    case XB_FIELD_LIST_SINGLE:
    case XB_FIELD_LIST_MULTI:
        if (f->options && !in_options(f->options, s))
            return fail(out, XB_FORM_EVALUE, f->var, "(not an option)");
        break;
    default:
        break;
    }
    return 0;
}

static const struct xb_form_spec_field *
spec_find(const struct xb_form_spec *spec, const char *var, unsigned *index)
{
    unsigned i;

    for (i = 0; spec->fields && spec->fields[i].var; i++)
        if (strcmp(spec->fields[i].var, var) == 0) {
            *index = i;
            return &spec->fields[i];
        }
    return NULL;
}

/* Walks the children of field: values counted and checked, the elements
 * clients echo skipped, anything else refused. */
static int parse_values(struct xb_form *out, const struct xb_stanza *field,
                        const struct xb_form_spec_field *f,
                        struct xb_form_value *v)
{
    const struct xb_stanza *c;
    const char *s;
    size_t len;

    if (has_text(field))
        return fail(out, XB_FORM_ESTRUCT, f->var, "(text outside <value/>)");
    for (c = xb_stanza_first(field); c; c = xb_stanza_next(c)) {
        if (xb_stanza_is_text(c) || strcmp(xb_stanza_ns(c), XB_NS_DATA))
            continue;
        if (!xb_stanza_is(c, XB_NS_DATA, "value")) {
            if (xb_stanza_is(c, XB_NS_DATA, "desc") ||
                xb_stanza_is(c, XB_NS_DATA, "required") ||
                xb_stanza_is(c, XB_NS_DATA, "option"))
                continue;
            return fail(out, XB_FORM_ESTRUCT, f->var, "(unexpected element)");
        }
        if (xb_stanza_child(c, NULL, NULL))
            return fail(out, XB_FORM_ESTRUCT, f->var,
                        "(an element inside <value/>)");
        if (v->nvalues && single_valued(f->type))
            return fail(out, XB_FORM_EMULTI, f->var, "");
        if (v->nvalues == XB_FORM_MAX_VALUES)
            return fail(out, XB_FORM_ETOOMANY, f->var, "");
        s = xb_stanza_text(c, &len);
        if (!s) {
            s = "";
            len = 0;
        }
        if (check_value(out, f, s, len, &v->boolean))
            return XB_EPROTO;
        if (!v->nvalues) {
            v->value = s;
            v->len = len;
        }
        v->nvalues++;
    }
    if (!v->nvalues)
        return fail(out, XB_FORM_EMISSING, f->var, "(no <value/>)");
    return 0;
}

/* FORM_TYPE: hidden (or untyped), one value, the spec's. */
static int check_form_type(struct xb_form *out, const struct xb_stanza *field,
                           const struct xb_form_spec *spec)
{
    const char *type = xb_stanza_attr(field, NULL, "type");
    struct xb_form_spec_field f = {"FORM_TYPE", XB_FIELD_HIDDEN, 0, 0, NULL};
    struct xb_form_value v = {0};

    if (type && strcmp(type, "hidden"))
        return fail(out, XB_FORM_EFORMTYPE, NULL, "FORM_TYPE is not hidden");
    if (parse_values(out, field, &f, &v))
        return XB_EPROTO;
    if (strcmp(v.value, spec->form_type))
        return fail(out, XB_FORM_EFORMTYPE, NULL, "another FORM_TYPE");
    return 0;
}

int xb_form_parse(const struct xb_stanza *x, const struct xb_form_spec *spec,
                  struct xb_form *out)
{
    const struct xb_stanza *c;
    const char *type, *var, *ftype;
    const struct xb_form_spec_field *f;
    unsigned i, nfields = 0;
    int seen_form_type = 0;

    memset(out, 0, sizeof *out);
    for (i = 0; spec->fields && spec->fields[i].var; i++)
        ;
    if (i > XB_FORM_SPEC_MAX)
        return XB_EINVAL; /* the caller's spec: a bug, not the peer's */
    out->nvalues = i;

    if (!x || !xb_stanza_is(x, XB_NS_DATA, "x"))
        return fail(out, XB_FORM_ENOTFORM, NULL, "");
    type = xb_stanza_attr(x, NULL, "type");
    if (!type || strcmp(type, "submit"))
        return fail(out, XB_FORM_ETYPE, NULL, "");
    if (has_text(x))
        return fail(out, XB_FORM_ESTRUCT, NULL, "text in the form");
    /* Counted first: a flood of fields is refused before any is read. */
    for (c = xb_stanza_child(x, XB_NS_DATA, "field"); c;
         c = xb_stanza_next_child(c, XB_NS_DATA, "field"))
        if (++nfields > XB_FORM_MAX_FIELDS)
            return fail(out, XB_FORM_ETOOMANY, NULL, "");

    for (c = xb_stanza_first(x); c; c = xb_stanza_next(c)) {
        if (xb_stanza_is_text(c) || strcmp(xb_stanza_ns(c), XB_NS_DATA))
            continue;
        if (xb_stanza_is(c, XB_NS_DATA, "title") ||
            xb_stanza_is(c, XB_NS_DATA, "instructions"))
            continue;
        if (!xb_stanza_is(c, XB_NS_DATA, "field"))
            return fail(out, XB_FORM_ESTRUCT, NULL,
                        "only fields in a submitted form");
        var = xb_stanza_attr(c, NULL, "var");
        if (!var || !*var)
            return fail(out, XB_FORM_ENOVAR, NULL, "");
        if (spec->form_type && strcmp(var, "FORM_TYPE") == 0) {
            if (seen_form_type++)
                return fail(out, XB_FORM_EDUP, var, "");
            if (check_form_type(out, c, spec))
                return XB_EPROTO;
            continue;
        }
        f = spec_find(spec, var, &i);
        if (!f)
            return fail(out, XB_FORM_EUNKNOWN, var, "");
        if (out->values[i].field)
            return fail(out, XB_FORM_EDUP, var, "");
        ftype = xb_stanza_attr(c, NULL, "type");
        if (ftype && strcmp(ftype, xb_field_type_name(f->type)))
            return fail(out, XB_FORM_EFIELDTYPE, var, "");
        out->values[i].field = c;
        if (parse_values(out, c, f, &out->values[i]))
            return XB_EPROTO;
    }
    if (spec->form_type && !seen_form_type)
        return fail(out, XB_FORM_EFORMTYPE, NULL, "no FORM_TYPE");
    for (i = 0; i < out->nvalues; i++)
        if ((spec->fields[i].flags & XB_FORM_REQUIRED) && !out->values[i].field)
            return fail(out, XB_FORM_EMISSING, spec->fields[i].var,
                        "(required)");
    return 0;
}

const char *xb_form_value_at(const struct xb_form_value *v, unsigned i,
                             size_t *len)
{
    const struct xb_stanza *c;
    const char *s;

    if (!v->field || i >= v->nvalues)
        return NULL;
    for (c = xb_stanza_child(v->field, XB_NS_DATA, "value"); c;
         c = xb_stanza_next_child(c, XB_NS_DATA, "value"))
        if (i-- == 0) {
            s = xb_stanza_text(c, len);
            if (!s) {
                s = "";
                if (len)
                    *len = 0;
            }
            return s;
        }
    return NULL;
}
