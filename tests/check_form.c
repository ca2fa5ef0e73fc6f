/*
 * Tests for XEP-0004 data forms (core/form.c): the builders' exact XML,
 * round trips through the serializer and the parser, and every way a
 * submitted form is refused, with its stanza error condition.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "form.h"
#include "stanza.h"
#include "utf8.h"
#include "xmpp.h"
#include "testutil.h"

static const char *const colours[] = {"red", "green", NULL};

static const struct xb_form_spec_field fields[] = {
    {"flag", XB_FIELD_BOOLEAN, 0, 0, NULL},
    {"name", XB_FIELD_TEXT_SINGLE, XB_FORM_REQUIRED, 16, NULL},
    {"notes", XB_FIELD_TEXT_MULTI, 0, 0, NULL},
    {"who", XB_FIELD_JID_SINGLE, 0, 0, NULL},
    {"colour", XB_FIELD_LIST_SINGLE, 0, 0, colours},
    {"secret", XB_FIELD_TEXT_PRIVATE, 0, 0, NULL},
    {NULL, XB_FIELD_BOOLEAN, 0, 0, NULL}};

static const struct xb_form_spec spec = {"urn:example:form", fields};

#define HEAD                                                                   \
    "<x xmlns='jabber:x:data' type='submit'>"                                  \
    "<field var='FORM_TYPE' type='hidden'><value>urn:example:form</value>"     \
    "</field><field var='name'><value>ann</value></field>"

static struct xb_stanza *parsed;
static struct xb_form form;

static void setup(void)
{
    parsed = NULL;
    memset(&form, 0, sizeof form);
}

static void teardown(void)
{
    xb_stanza_free(parsed);
}

/* Parses xml as a submission: the xb_form_parse() result. */
static int submit(const char *xml)
{
    xb_stanza_free(parsed);
    parsed = tu_element(xml);
    return xb_form_parse(parsed, &spec, &form);
}

/* xml is refused with err, whose condition is cond. */
static void refused(const char *xml, enum xb_form_error err, const char *cond)
{
    ck_assert_msg(submit(xml) == XB_EPROTO, "accepted: %s", xml);
    ck_assert_msg(form.error == err, "%s: error %d (%s), want %d", xml,
                  form.error, form.why, err);
    ck_assert_str_eq(xb_form_error_cond(form.error), cond);
    ck_assert_msg(form.why[0] != '\0', "no reason for %s", xml);
}

START_TEST(test_form_build_exact)
{
    struct xb_stanza *x, *f;
    char *xml;

    x = xb_form_add(NULL, XB_FORM_FORM, "Title <1>", "Fill & send");
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(xb_form_add_field(x, XB_FIELD_HIDDEN, "FORM_TYPE",
                                            NULL, 0, "urn:example:form"));
    ck_assert_ptr_nonnull(xb_form_add_field(x, XB_FIELD_BOOLEAN, "flag",
                                            "A flag", XB_FORM_REQUIRED, "0"));
    f = xb_form_add_field(x, XB_FIELD_LIST_SINGLE, "colour", "Colour", 0, NULL);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(xb_form_add_option(f, "Red", "red"), 0);
    ck_assert_int_eq(xb_form_add_option(f, NULL, "green"), 0);
    f = xb_form_add_field(x, XB_FIELD_TEXT_MULTI, "notes", NULL, 0, "a");
    ck_assert_int_eq(xb_form_add_value(f, "b"), 0);
    ck_assert_int_eq(xb_form_add_value(f, ""), 0);
    ck_assert_ptr_nonnull(
        xb_form_add_field(x, XB_FIELD_FIXED, NULL, NULL, 0, "Just text"));
    xml = tu_serialize(x, NULL);
    ck_assert_str_eq(
        xml, "<x xmlns='jabber:x:data' type='form'><title>Title &lt;1&gt;"
             "</title><instructions>Fill &amp; send</instructions>"
             "<field type='hidden' var='FORM_TYPE'><value>urn:example:form"
             "</value></field><field type='boolean' var='flag' label='A flag'>"
             "<required/><value>0</value></field><field type='list-single' "
             "var='colour' label='Colour'><option label='Red'><value>red"
             "</value></option><option><value>green</value></option></field>"
             "<field type='text-multi' var='notes'><value>a</value><value>b"
             "</value><value/></field><field type='fixed'><value>Just text"
             "</value></field></x>");
    free(xml);
    xb_stanza_free(x);
}
END_TEST

START_TEST(test_form_build_into_parent)
{
    struct xb_stanza *q = xb_stanza_new("jabber:iq:register", "query"), *x;
    char *xml;

    x = xb_form_add(q, XB_FORM_RESULT, NULL, NULL);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_eq(xb_stanza_parent(x), q);
    xml = tu_serialize(q, NULL);
    ck_assert_str_eq(xml, "<query xmlns='jabber:iq:register'><x "
                          "xmlns='jabber:x:data' type='result'/></query>");
    free(xml);
    xb_stanza_free(q);
}
END_TEST

START_TEST(test_form_names)
{
    ck_assert_str_eq(xb_form_type_name(XB_FORM_SUBMIT), "submit");
    ck_assert_str_eq(xb_form_type_name(XB_FORM_CANCEL), "cancel");
    ck_assert_str_eq(xb_form_type_name((enum xb_form_type)9), "");
    ck_assert_str_eq(xb_field_type_name(XB_FIELD_TEXT_PRIVATE), "text-private");
    ck_assert_str_eq(xb_field_type_name(XB_FIELD_JID_MULTI), "jid-multi");
    ck_assert_str_eq(xb_field_type_name(XB_FIELD_COUNT), "");
}
END_TEST

/* Builds a submission with the builders, serializes it, parses the bytes
 * back and reads the values. */
START_TEST(test_form_round_trip)
{
    struct xb_stanza *x, *f;
    const char *v;
    size_t len;
    char *xml;

    x = xb_form_add(NULL, XB_FORM_SUBMIT, NULL, NULL);
    ck_assert_ptr_nonnull(xb_form_add_field(x, XB_FIELD_HIDDEN, "FORM_TYPE",
                                            NULL, 0, "urn:example:form"));
    ck_assert_ptr_nonnull(
        xb_form_add_field(x, XB_FIELD_BOOLEAN, "flag", NULL, 0, "true"));
    ck_assert_ptr_nonnull(xb_form_add_field(x, XB_FIELD_TEXT_SINGLE, "name",
                                            NULL, 0, "<\xF0\x9F\x98\x80>"));
    f = xb_form_add_field(x, XB_FIELD_TEXT_MULTI, "notes", NULL, 0, "one");
    ck_assert_int_eq(xb_form_add_value(f, "two & 'three'"), 0);
    ck_assert_ptr_nonnull(xb_form_add_field(x, XB_FIELD_JID_SINGLE, "who", NULL,
                                            0, "Ann@Example.ORG/r"));
    ck_assert_ptr_nonnull(
        xb_form_add_field(x, XB_FIELD_LIST_SINGLE, "colour", NULL, 0, "green"));
    xml = tu_serialize(x, NULL);
    xb_stanza_free(x);

    ck_assert_int_eq(submit(xml), 0);
    free(xml);
    ck_assert_int_eq(form.error, XB_FORM_OK);
    ck_assert_uint_eq(form.nvalues, 6);
    ck_assert_ptr_nonnull(form.values[0].field);
    ck_assert_int_eq(form.values[0].boolean, 1);
    ck_assert_str_eq(form.values[1].value, "<\xF0\x9F\x98\x80>");
    ck_assert_uint_eq(form.values[1].len, 6);
    ck_assert_uint_eq(form.values[2].nvalues, 2);
    v = xb_form_value_at(&form.values[2], 1, &len);
    ck_assert_str_eq(v, "two & 'three'");
    ck_assert_uint_eq(len, 13);
    ck_assert_ptr_null(xb_form_value_at(&form.values[2], 2, &len));
    ck_assert_str_eq(form.values[3].value, "Ann@Example.ORG/r");
    ck_assert_str_eq(form.values[4].value, "green");
    ck_assert_ptr_null(form.values[5].field); /* absent: optional */
    ck_assert_ptr_null(xb_form_value_at(&form.values[5], 0, NULL));
}
END_TEST

START_TEST(test_form_booleans)
{
    static const struct {
        const char *text;
        int value;
    } cases[] = {{"1", 1}, {"true", 1}, {"0", 0}, {"false", 0}};
    char xml[512];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(xml, sizeof xml,
                 HEAD "<field var='flag' type='boolean'><value>%s</value>"
                      "</field></x>",
                 cases[i].text);
        ck_assert_int_eq(submit(xml), 0);
        ck_assert_int_eq(form.values[0].boolean, cases[i].value);
    }
}
END_TEST

START_TEST(test_form_ignored_parts)
{
    /* Echoed parts of the form and foreign extensions are not errors. */
    ck_assert_int_eq(
        submit("<x xmlns='jabber:x:data' type='submit'>\n  <title>t</title>"
               "<instructions>i</instructions><ext xmlns='urn:other'/>"
               "<field var='FORM_TYPE'><value>urn:example:form</value>"
               "</field>\n<field var='name' type='text-single' label='N'>"
               "<desc>d</desc><required/><value>bo</value>"
               "<other xmlns='urn:other'><value>x</value></other></field>"
               "<field var='colour'><option><value>red</value></option>"
               "<value>red</value></field></x>"),
        0);
    ck_assert_str_eq(form.values[1].value, "bo");
    ck_assert_uint_eq(form.values[1].nvalues, 1);
    ck_assert_str_eq(form.values[4].value, "red");
}
END_TEST

START_TEST(test_form_empty_value)
{
    ck_assert_int_eq(submit(HEAD "<field var='secret'><value/></field></x>"),
                     0);
    ck_assert_str_eq(form.values[5].value, "");
    ck_assert_uint_eq(form.values[5].len, 0);
    ck_assert_uint_eq(form.values[5].nvalues, 1);
}
END_TEST

START_TEST(test_form_length_limit)
{
    char xml[512];

    /* name: at most 16 bytes; 4-byte characters count as 4. */
    ck_assert_int_eq(
        submit("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
               "<value>urn:example:form</value></field><field var='name'>"
               "<value>\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
               "\xF0\x9F\x98\x80</value></field></x>"),
        0);
    refused("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>urn:example:form</value></field><field var='name'><value>"
            "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
            "x</value></field></x>",
            XB_FORM_ETOOLONG, "not-acceptable");
    snprintf(xml, sizeof xml,
             HEAD "<field var='flag'><value>%s</value>"
                  "</field></x>",
             "truetruetrue");
    refused(xml, XB_FORM_EVALUE, "not-acceptable");
}
END_TEST

START_TEST(test_form_huge_value)
{
    /* 200 kB in one value: refused by length, nothing copied. */
    size_t n = 200 * 1024;
    struct xb_buf b;

    xb_buf_init(&b);
    ck_assert_int_eq(xb_buf_puts(&b, HEAD "<field var='notes'><value>"), 0);
    ck_assert_int_eq(xb_buf_reserve(&b, n), 0);
    memset(b.data + b.len, 'a', n);
    b.len += n;
    b.data[b.len] = '\0';
    ck_assert_int_eq(xb_buf_puts(&b, "</value></field></x>"), 0);
    refused(b.data, XB_FORM_ETOOLONG, "not-acceptable");
    ck_assert_ptr_nonnull(strstr(form.why, "'notes'"));
    xb_buf_free(&b);
}
END_TEST

START_TEST(test_form_errors)
{
    refused("<x xmlns='urn:other' type='submit'/>", XB_FORM_ENOTFORM,
            "bad-request");
    refused("<y xmlns='jabber:x:data' type='submit'/>", XB_FORM_ENOTFORM,
            "bad-request");
    refused("<x xmlns='jabber:x:data' type='form'/>", XB_FORM_ETYPE,
            "bad-request");
    refused("<x xmlns='jabber:x:data'/>", XB_FORM_ETYPE, "bad-request");
    refused("<x xmlns='jabber:x:data' type='submit'>text</x>", XB_FORM_ESTRUCT,
            "bad-request");
    refused(HEAD "<item/></x>", XB_FORM_ESTRUCT, "bad-request");
    refused(HEAD "<reported/></x>", XB_FORM_ESTRUCT, "bad-request");
    refused(HEAD "<field var='flag'><value>1<b/></value></field></x>",
            XB_FORM_ESTRUCT, "bad-request");
    refused(HEAD "<field var='flag'><media/><value>1</value></field></x>",
            XB_FORM_ESTRUCT, "bad-request");
    refused(HEAD "<field var='flag'>1</field></x>", XB_FORM_ESTRUCT,
            "bad-request");
    refused(HEAD "<field><value>1</value></field></x>", XB_FORM_ENOVAR,
            "bad-request");
    refused(HEAD "<field var=''><value>1</value></field></x>", XB_FORM_ENOVAR,
            "bad-request");
    refused(HEAD "<field var='name'><value>bob</value></field></x>",
            XB_FORM_EDUP, "bad-request");
    refused(HEAD "<field var='FORM_TYPE'><value>urn:example:form</value>"
                 "</field></x>",
            XB_FORM_EDUP, "bad-request");
    refused(HEAD "<field var='flag' type='text-single'><value>1</value>"
                 "</field></x>",
            XB_FORM_EFIELDTYPE, "bad-request");
    refused(HEAD "<field var='flag'><value>1</value><value>0</value>"
                 "</field></x>",
            XB_FORM_EMULTI, "bad-request");
    refused("<x xmlns='jabber:x:data' type='submit'><field var='name'>"
            "<value>a</value></field></x>",
            XB_FORM_EFORMTYPE, "bad-request");
    refused("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>urn:other</value></field></x>",
            XB_FORM_EFORMTYPE, "bad-request");
    refused("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' "
            "type='text-single'><value>urn:example:form</value></field></x>",
            XB_FORM_EFORMTYPE, "bad-request");
    refused(HEAD "<field var='admin'><value>1</value></field></x>",
            XB_FORM_EUNKNOWN, "not-acceptable");
    refused(HEAD "<field var='flag'><value>yes</value></field></x>",
            XB_FORM_EVALUE, "not-acceptable");
    refused(HEAD "<field var='flag'><value></value></field></x>",
            XB_FORM_EVALUE, "not-acceptable");
    refused(HEAD "<field var='flag'><value> 1</value></field></x>",
            XB_FORM_EVALUE, "not-acceptable");
    refused(HEAD "<field var='who'><value>@example.org</value></field></x>",
            XB_FORM_EVALUE, "not-acceptable");
    refused(HEAD "<field var='secret'><value>a\nb</value></field>"
                 "<field var='colour'><value>blue</value></field></x>",
            XB_FORM_EVALUE, "not-acceptable");
    refused("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>urn:example:form</value></field><field var='name'>"
            "<value>a&#10;b</value></field></x>",
            XB_FORM_EVALUE, "not-acceptable");
    refused(HEAD "<field var='flag'/></x>", XB_FORM_EMISSING, "not-acceptable");
    refused("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>urn:example:form</value></field></x>",
            XB_FORM_EMISSING, "not-acceptable");
    ck_assert_ptr_nonnull(strstr(form.why, "'name'"));
}
END_TEST

/* A form of n fields <field var='x'/>. */
static void many_fields(struct xb_buf *b, unsigned n)
{
    unsigned i;

    xb_buf_reset(b);
    ck_assert_int_eq(xb_buf_puts(b, "<x xmlns='jabber:x:data' type='submit'>"),
                     0);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(xb_buf_puts(b, "<field var='x'/>"), 0);
    ck_assert_int_eq(xb_buf_puts(b, "</x>"), 0);
}

START_TEST(test_form_too_many)
{
    struct xb_buf b;
    unsigned i;

    /* The field count is checked before any field is read: at the limit
     * the first field is the error, one more and the count is. */
    xb_buf_init(&b);
    many_fields(&b, XB_FORM_MAX_FIELDS);
    refused(b.data, XB_FORM_EUNKNOWN, "not-acceptable");
    many_fields(&b, XB_FORM_MAX_FIELDS + 1);
    refused(b.data, XB_FORM_ETOOMANY, "not-acceptable");

    xb_buf_reset(&b);
    ck_assert_int_eq(xb_buf_puts(&b, HEAD "<field var='notes'>"), 0);
    for (i = 0; i < XB_FORM_MAX_VALUES; i++)
        ck_assert_int_eq(xb_buf_puts(&b, "<value>n</value>"), 0);
    ck_assert_int_eq(xb_buf_puts(&b, "</field></x>"), 0);
    ck_assert_int_eq(submit(b.data), 0);
    ck_assert_uint_eq(form.values[2].nvalues, XB_FORM_MAX_VALUES);

    xb_buf_reset(&b);
    ck_assert_int_eq(xb_buf_puts(&b, HEAD "<field var='notes'>"), 0);
    for (i = 0; i <= XB_FORM_MAX_VALUES; i++)
        ck_assert_int_eq(xb_buf_puts(&b, "<value>n</value>"), 0);
    ck_assert_int_eq(xb_buf_puts(&b, "</field></x>"), 0);
    refused(b.data, XB_FORM_ETOOMANY, "not-acceptable");
    xb_buf_free(&b);
}
END_TEST

START_TEST(test_form_no_form_type_expected)
{
    static const struct xb_form_spec plain = {NULL, fields};

    xb_stanza_free(parsed);
    parsed = tu_element("<x xmlns='jabber:x:data' type='submit'>"
                        "<field var='name'><value>a</value></field></x>");
    ck_assert_int_eq(xb_form_parse(parsed, &plain, &form), 0);
    xb_stanza_free(parsed);
    parsed = tu_element(HEAD "</x>");
    ck_assert_int_eq(xb_form_parse(parsed, &plain, &form), XB_EPROTO);
    ck_assert_int_eq(form.error, XB_FORM_EUNKNOWN);
}
END_TEST

START_TEST(test_form_why_hostile_var)
{
    /* A long var of 4-byte characters: the reason stays one short line,
     * cut on a character boundary. */
    struct xb_buf b;
    size_t i, n;

    xb_buf_init(&b);
    ck_assert_int_eq(xb_buf_puts(&b, HEAD "<field var='"), 0);
    for (i = 0; i < 500; i++)
        ck_assert_int_eq(xb_buf_puts(&b, "\xF0\x9F\x98\x80"), 0);
    ck_assert_int_eq(xb_buf_puts(&b, "'><value>1</value></field></x>"), 0);
    refused(b.data, XB_FORM_EUNKNOWN, "not-acceptable");
    n = strlen(form.why);
    ck_assert_uint_lt(n, sizeof form.why);
    ck_assert_ptr_null(strchr(form.why, '\n'));
    ck_assert_msg(xb_utf8_valid(form.why, n), "cut mid-character: %s",
                  form.why);
    ck_assert_ptr_nonnull(strstr(form.why, "unknown field"));
    xb_buf_free(&b);
}
END_TEST

START_TEST(test_form_error_conds)
{
    int e;

    ck_assert_str_eq(xb_form_error_cond(XB_FORM_OK), "");
    for (e = XB_FORM_ENOTFORM; e <= XB_FORM_ETOOMANY; e++) {
        const char *c = xb_form_error_cond((enum xb_form_error)e);

        ck_assert_msg(!strcmp(c, "bad-request") || !strcmp(c, "not-acceptable"),
                      "error %d: %s", e, c);
        ck_assert_str_ne(xb_form_error_name((enum xb_form_error)e), "");
    }
    ck_assert_str_eq(xb_form_error_cond((enum xb_form_error)99), "");
}
END_TEST

static Suite *form_suite(void)
{
    Suite *s = suite_create("form");
    TCase *tc_build = tcase_create("build");
    TCase *tc_parse = tcase_create("parse");
    TCase *tc_bad = tcase_create("bad");

    tcase_add_checked_fixture(tc_build, setup, teardown);
    tcase_add_test(tc_build, test_form_build_exact);
    tcase_add_test(tc_build, test_form_build_into_parent);
    tcase_add_test(tc_build, test_form_names);
    suite_add_tcase(s, tc_build);

    tcase_add_checked_fixture(tc_parse, setup, teardown);
    tcase_add_test(tc_parse, test_form_round_trip);
    tcase_add_test(tc_parse, test_form_booleans);
    tcase_add_test(tc_parse, test_form_ignored_parts);
    tcase_add_test(tc_parse, test_form_empty_value);
    tcase_add_test(tc_parse, test_form_no_form_type_expected);
    suite_add_tcase(s, tc_parse);

    tcase_add_checked_fixture(tc_bad, setup, teardown);
    tcase_add_test(tc_bad, test_form_errors);
    tcase_add_test(tc_bad, test_form_length_limit);
    tcase_add_test(tc_bad, test_form_huge_value);
    tcase_add_test(tc_bad, test_form_too_many);
    tcase_add_test(tc_bad, test_form_why_hostile_var);
    tcase_add_test(tc_bad, test_form_error_conds);
    suite_add_tcase(s, tc_bad);
    return s;
}

int main(void)
{
    return tu_run(form_suite());
}
