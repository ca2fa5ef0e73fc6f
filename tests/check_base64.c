/*
 * Tests for core/base64: the RFC 4648 vectors both ways, every spelling the
 * strict decoder must refuse (leaving the output untouched), and binary
 * round trips against an independent bit-by-bit reference encoder.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "error.h"
#include "testutil.h"

#define S(lit) lit, sizeof(lit) - 1

static struct xb_buf buf;

static void setup(void)
{
    xb_buf_init(&buf);
}

static void teardown(void)
{
    xb_buf_free(&buf);
}

struct vector {
    const char *raw;
    const char *text;
};

/* RFC 4648 section 10. */
static const struct vector rfc_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

#define NVECTORS (sizeof rfc_vectors / sizeof rfc_vectors[0])

struct bad {
    const char *text;
    size_t len;
    const char *why;
};

static const struct bad rejected[] = {
    /* whitespace */
    {S("Zm9v YmFy"), "space inside"},
    {S(" Zm9vYmFy"), "leading space"},
    {S("Zm9vYmFy "), "trailing space"},
    {S("Zm9v\nYmFy"), "line feed"},
    {S("Zm9vYmFy\r\n"), "CRLF"},
    {S("Zm9v\tYmFy"), "tab"},
    {S("Zm9v    "), "spaces as a group"},
    /* characters outside the alphabet */
    {S("Zm9v*mFy"), "asterisk"},
    {S("Zm-v"), "base64url minus"},
    {S("Zm_v"), "base64url underscore"},
    {S("Zm9\0"), "NUL"},
    {S("Zm9\x80"), "high byte"},
    {S("Zm\xc3\xa9"), "non-ASCII letter"},
    {S("Zm9v.mFy"), "dot"},
    /* padding */
    {S("Zg="), "one pad short"},
    {S("Zg"), "no padding"},
    {S("Zm8"), "no padding, two bytes"},
    {S("Zg==="), "extra pad"},
    {S("Z==="), "three pads"},
    {S("===="), "four pads"},
    {S("=="), "two pads alone"},
    {S("==="), "three pads alone"},
    {S("Zm8=="), "extra pad, length 5"},
    {S("Zm9v===="), "a group of pads"},
    {S("Zg==Zg=="), "padding in the middle"},
    {S("Zm8=Zm9v"), "single pad in the middle"},
    {S("Z=g="), "pad then data"},
    {S("=Zg="), "leading pad"},
    {S("Zm=v"), "pad in third place only"},
    {S("Zm9v="), "pad after full group, length 5"},
    {S("Zm9v=Zm9"), "pad in the middle of a group run"},
    /* non-zero pad bits */
    {S("Zh=="), "1 byte, low bits set"},
    {S("Zn=="), "1 byte, other low bits set"},
    {S("Zm9="), "2 bytes, low bits set"},
    {S("Zm/="), "2 bytes, all low bits set"},
    /* lengths not a multiple of 4 */
    {S("A"), "length 1"},
    {S("Zm"), "length 2"},
    {S("Zm9"), "length 3"},
    {S("Zm9vY"), "length 5"},
    {S("Zm9vYm"), "length 6"},
    {S("Zm9vYmF"), "length 7"},
};

#define NREJECTED (sizeof rejected / sizeof rejected[0])

START_TEST(test_base64_encode_rfc)
{
    size_t i;

    for (i = 0; i < NVECTORS; i++) {
        const struct vector *v = &rfc_vectors[i];

        xb_buf_reset(&buf);
        ck_assert_int_eq(xb_base64_encode(&buf, v->raw, strlen(v->raw)), 0);
        ck_assert_ptr_nonnull(buf.data);
        ck_assert_str_eq(buf.data, v->text);
        ck_assert_uint_eq(buf.len, strlen(v->text));
    }
}
END_TEST

START_TEST(test_base64_decode_rfc)
{
    size_t i;

    for (i = 0; i < NVECTORS; i++) {
        const struct vector *v = &rfc_vectors[i];

        xb_buf_reset(&buf);
        ck_assert_int_eq(xb_base64_decode(&buf, v->text, strlen(v->text)), 0);
        ck_assert_ptr_nonnull(buf.data);
        ck_assert_uint_eq(buf.len, strlen(v->raw));
        ck_assert_str_eq(buf.data, v->raw);
    }
}
END_TEST

START_TEST(test_base64_appends)
{
    /* Both directions add to what the buffer already holds. */
    ck_assert_int_eq(xb_buf_puts(&buf, "x:"), 0);
    ck_assert_int_eq(xb_base64_encode(&buf, "foo", 3), 0);
    ck_assert_str_eq(buf.data, "x:Zm9v");
    ck_assert_int_eq(xb_base64_decode(&buf, "Zm9vYg==", 8), 0);
    ck_assert_str_eq(buf.data, "x:Zm9vfoob");
    ck_assert_uint_eq(buf.len, 10);
}
END_TEST

START_TEST(test_base64_encode_empty_null)
{
    ck_assert_int_eq(xb_base64_encode(&buf, NULL, 0), 0);
    ck_assert_uint_eq(buf.len, 0);
    ck_assert_ptr_nonnull(buf.data);
    ck_assert_str_eq(buf.data, "");
}
END_TEST

START_TEST(test_base64_decode_xmpp_empty)
{
    /* RFC 6120 6.4.2: "=" is an empty payload. */
    ck_assert_int_eq(xb_base64_decode(&buf, "=", 1), 0);
    ck_assert_uint_eq(buf.len, 0);
    ck_assert_ptr_nonnull(buf.data);
    ck_assert_str_eq(buf.data, "");
    ck_assert_int_eq(xb_base64_decode(&buf, "", 0), 0);
    ck_assert_uint_eq(buf.len, 0);
}
END_TEST

START_TEST(test_base64_decode_only_len)
{
    /* Bytes past len are not looked at. */
    ck_assert_int_eq(xb_base64_decode(&buf, "Zm9v!!!!", 4), 0);
    ck_assert_str_eq(buf.data, "foo");
    ck_assert_int_eq(xb_base64_decode(&buf, "=garbage", 1), 0);
    ck_assert_str_eq(buf.data, "foo");
}
END_TEST

START_TEST(test_base64_decode_binary_output)
{
    static const unsigned char want[] = {0x00, 0xff, 0x00, 0x80};

    ck_assert_int_eq(xb_base64_decode(&buf, "AP8AgA==", 8), 0);
    ck_assert_uint_eq(buf.len, sizeof want);
    ck_assert_mem_eq(buf.data, want, sizeof want);
    ck_assert_int_eq(buf.data[buf.len], '\0');
}
END_TEST

START_TEST(test_base64_reject)
{
    size_t i;

    for (i = 0; i < NREJECTED; i++) {
        const struct bad *b = &rejected[i];

        xb_buf_reset(&buf);
        ck_assert_int_eq(xb_buf_puts(&buf, "keep"), 0);
        ck_assert_msg(xb_base64_decode(&buf, b->text, b->len) == XB_EINVAL,
                      "accepted: %s", b->why);
        /* The buffer is as it was, terminator included. */
        ck_assert_msg(buf.len == 4 && memcmp(buf.data, "keep", 5) == 0,
                      "output changed: %s", b->why);
    }
}
END_TEST

START_TEST(test_base64_reject_fresh_buffer)
{
    /* A rejected decode into an untouched buffer leaves it empty. */
    ck_assert_int_eq(xb_base64_decode(&buf, "Zh==", 4), XB_EINVAL);
    ck_assert_uint_eq(buf.len, 0);
    if (buf.data)
        ck_assert_int_eq(buf.data[0], '\0');
}
END_TEST

/* Independent encoder: reads the input one bit at a time. */
static void reference_encode(char *dst, const unsigned char *src, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t bits = n * 8, bit, k = 0;
    unsigned v = 0, used = 0;

    for (bit = 0; bit < bits; bit++) {
        v = v << 1 | ((src[bit / 8] >> (7 - bit % 8)) & 1);
        if (++used == 6) {
            dst[k++] = abc[v];
            v = 0;
            used = 0;
        }
    }
    if (used)
        dst[k++] = abc[v << (6 - used)];
    while (k % 4)
        dst[k++] = '=';
    dst[k] = '\0';
}

START_TEST(test_base64_round_trip)
{
    unsigned char data[64], seen[256];
    char want[4 * 22 + 1];
    struct xb_buf dec;
    size_t n, j;
    unsigned start;

    memset(seen, 0, sizeof seen);
    xb_buf_init(&dec);
    for (n = 0; n <= 64; n++) {
        for (start = 0; start < 256; start++) {
            for (j = 0; j < n; j++) {
                data[j] = (unsigned char)(start + j * 37);
                seen[data[j]] = 1;
            }
            reference_encode(want, data, n);
            xb_buf_reset(&buf);
            xb_buf_reset(&dec);
            ck_assert_int_eq(xb_base64_encode(&buf, data, n), 0);
            ck_assert_msg(strcmp(buf.data, want) == 0,
                          "length %zu start %u: got %s want %s", n, start,
                          buf.data, want);
            ck_assert_uint_eq(buf.len, (n + 2) / 3 * 4);
            ck_assert_int_eq(xb_base64_decode(&dec, buf.data, buf.len), 0);
            ck_assert_uint_eq(dec.len, n);
            if (n)
                ck_assert_mem_eq(dec.data, data, n);
        }
    }
    xb_buf_free(&dec);
    for (j = 0; j < 256; j++)
        ck_assert_msg(seen[j], "byte %zu never tried", j);
}
END_TEST

START_TEST(test_base64_every_byte_value)
{
    unsigned char all[256];
    struct xb_buf dec;
    size_t i;

    for (i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    xb_buf_init(&dec);
    ck_assert_int_eq(xb_base64_encode(&buf, all, sizeof all), 0);
    ck_assert_uint_eq(buf.len, 344);
    ck_assert_int_eq(xb_base64_decode(&dec, buf.data, buf.len), 0);
    ck_assert_uint_eq(dec.len, sizeof all);
    ck_assert_mem_eq(dec.data, all, sizeof all);
    xb_buf_free(&dec);
}
END_TEST

static Suite *base64_suite(void)
{
    Suite *s;
    TCase *tc_vectors;
    TCase *tc_strict;
    TCase *tc_binary;

    s = suite_create("base64");

    tc_vectors = tcase_create("vectors");
    tcase_add_checked_fixture(tc_vectors, setup, teardown);
    tcase_add_test(tc_vectors, test_base64_encode_rfc);
    tcase_add_test(tc_vectors, test_base64_decode_rfc);
    tcase_add_test(tc_vectors, test_base64_appends);
    tcase_add_test(tc_vectors, test_base64_encode_empty_null);
    tcase_add_test(tc_vectors, test_base64_decode_xmpp_empty);
    tcase_add_test(tc_vectors, test_base64_decode_only_len);
    tcase_add_test(tc_vectors, test_base64_decode_binary_output);
    suite_add_tcase(s, tc_vectors);

    tc_strict = tcase_create("strict");
    tcase_add_checked_fixture(tc_strict, setup, teardown);
    tcase_add_test(tc_strict, test_base64_reject);
    tcase_add_test(tc_strict, test_base64_reject_fresh_buffer);
    suite_add_tcase(s, tc_strict);

    tc_binary = tcase_create("binary");
    tcase_add_checked_fixture(tc_binary, setup, teardown);
    tcase_add_test(tc_binary, test_base64_round_trip);
    tcase_add_test(tc_binary, test_base64_every_byte_value);
    suite_add_tcase(s, tc_binary);

    return s;
}

int main(void)
{
    return tu_run(base64_suite());
}
