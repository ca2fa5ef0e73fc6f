/*
 * Tests for core/utf8: strict decoding (RFC 3629) and the XML 1.0 Char
 * production, including every boundary of both.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "testutil.h"

struct seq {
    const char *bytes;
    size_t len;
    uint32_t cp; /* expected code point, for valid sequences */
};

#define S(lit) lit, sizeof(lit) - 1

static const struct seq valid[] = {
    {S("\x00"), 0x0},
    {S("A"), 0x41},
    {S("\x7F"), 0x7F},
    {S("\xC2\x80"), 0x80},
    {S("\xDF\xBF"), 0x7FF},
    {S("\xE0\xA0\x80"), 0x800},
    {S("\xED\x9F\xBF"), 0xD7FF},
    {S("\xEE\x80\x80"), 0xE000},
    {S("\xEF\xBF\xBD"), 0xFFFD},
    {S("\xEF\xBF\xBF"), 0xFFFF},
    {S("\xF0\x90\x80\x80"), 0x10000},
    {S("\xF0\x9F\x98\x80"), 0x1F600},
    {S("\xF4\x8F\xBF\xBF"), 0x10FFFF},
};

static const struct seq invalid[] = {
    {S("\x80"), 0},             /* lone continuation */
    {S("\xBF"), 0},             /* lone continuation */
    {S("\xC0\x80"), 0},         /* overlong NUL */
    {S("\xC1\xBF"), 0},         /* overlong */
    {S("\xE0\x9F\xBF"), 0},     /* overlong 3-byte */
    {S("\xF0\x8F\xBF\xBF"), 0}, /* overlong 4-byte */
    {S("\xED\xA0\x80"), 0},     /* surrogate D800 */
    {S("\xED\xBF\xBF"), 0},     /* surrogate DFFF */
    {S("\xF4\x90\x80\x80"), 0}, /* above U+10FFFF */
    {S("\xF5\x80\x80\x80"), 0}, /* lead byte past F4 */
    {S("\xFF"), 0},
    {S("\xC3"), 0},         /* truncated */
    {S("\xE2\x82"), 0},     /* truncated */
    {S("\xF0\x9F\x98"), 0}, /* truncated */
    {S("\xC3("), 0},        /* bad continuation */
    {S("\xE2(\xA1"), 0},
};

START_TEST(test_utf8_decode_valid)
{
    const struct seq *s = &valid[_i];
    uint32_t cp = 0xDEADBEEF;

    ck_assert_uint_eq(xb_utf8_decode(s->bytes, s->len, &cp), s->len);
    ck_assert_uint_eq(cp, s->cp);
    ck_assert_int_eq(xb_utf8_valid(s->bytes, s->len), 1);
}
END_TEST

START_TEST(test_utf8_decode_invalid)
{
    const struct seq *s = &invalid[_i];
    uint32_t cp;

    ck_assert_uint_eq(xb_utf8_decode(s->bytes, s->len, &cp), 0);
    ck_assert_int_eq(xb_utf8_valid(s->bytes, s->len), 0);
    ck_assert_int_eq(xb_utf8_valid_xml(s->bytes, s->len), 0);
}
END_TEST

START_TEST(test_utf8_decode_respects_len)
{
    uint32_t cp;

    /* A valid 4-byte sequence cut by the length is invalid. */
    ck_assert_uint_eq(xb_utf8_decode("\xF0\x9F\x98\x80", 3, &cp), 0);
    ck_assert_int_eq(xb_utf8_valid("ab\xF0\x9F\x98\x80", 5), 0);
    ck_assert_int_eq(xb_utf8_valid("ab\xF0\x9F\x98\x80", 2), 1);
    ck_assert_int_eq(xb_utf8_valid("", 0), 1);
}
END_TEST

START_TEST(test_utf8_xml_char_boundaries)
{
    ck_assert_int_eq(xb_utf8_xml_char(0x0), 0);
    ck_assert_int_eq(xb_utf8_xml_char(0x8), 0);
    ck_assert_int_eq(xb_utf8_xml_char(0x9), 1);
    ck_assert_int_eq(xb_utf8_xml_char(0xA), 1);
    ck_assert_int_eq(xb_utf8_xml_char(0xB), 0);
    ck_assert_int_eq(xb_utf8_xml_char(0xC), 0);
    ck_assert_int_eq(xb_utf8_xml_char(0xD), 1);
    ck_assert_int_eq(xb_utf8_xml_char(0x1F), 0);
    ck_assert_int_eq(xb_utf8_xml_char(0x20), 1);
    ck_assert_int_eq(xb_utf8_xml_char(0xD7FF), 1);
    ck_assert_int_eq(xb_utf8_xml_char(0xD800), 0);
    ck_assert_int_eq(xb_utf8_xml_char(0xDFFF), 0);
    ck_assert_int_eq(xb_utf8_xml_char(0xE000), 1);
    ck_assert_int_eq(xb_utf8_xml_char(0xFFFD), 1);
    ck_assert_int_eq(xb_utf8_xml_char(0xFFFE), 0);
    ck_assert_int_eq(xb_utf8_xml_char(0xFFFF), 0);
    ck_assert_int_eq(xb_utf8_xml_char(0x10000), 1);
    ck_assert_int_eq(xb_utf8_xml_char(0x10FFFF), 1);
    ck_assert_int_eq(xb_utf8_xml_char(0x110000), 0);
}
END_TEST

START_TEST(test_utf8_valid_xml_strings)
{
    ck_assert_int_eq(xb_utf8_valid_xml(S("plain text\twith\r\nbreaks")), 1);
    ck_assert_int_eq(xb_utf8_valid_xml(S("caf\xC3\xA9 \xF0\x9F\x98\x80")), 1);
    ck_assert_int_eq(xb_utf8_valid_xml(S("nul\x00inside")), 0);
    ck_assert_int_eq(xb_utf8_valid_xml(S("bell\x07")), 0);
    ck_assert_int_eq(xb_utf8_valid_xml(S("\xEF\xBF\xBE")), 0); /* U+FFFE */
    ck_assert_int_eq(xb_utf8_valid_xml(S("\xEF\xBF\xBF")), 0); /* U+FFFF */
    /* Valid UTF-8 but not XML: the two checks differ here. */
    ck_assert_int_eq(xb_utf8_valid(S("\x01")), 1);
    ck_assert_int_eq(xb_utf8_valid_xml(S("\x01")), 0);
}
END_TEST

static Suite *utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_utf8_decode_valid, 0,
                        sizeof valid / sizeof valid[0]);
    tcase_add_loop_test(tc, test_utf8_decode_invalid, 0,
                        sizeof invalid / sizeof invalid[0]);
    tcase_add_test(tc, test_utf8_decode_respects_len);
    tcase_add_test(tc, test_utf8_xml_char_boundaries);
    tcase_add_test(tc, test_utf8_valid_xml_strings);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(utf8_suite());
}
