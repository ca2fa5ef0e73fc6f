/*
 * Tests for the growable byte buffer (core/buf.c): appending, reserving,
 * resetting and consuming, with the contents NUL-terminated throughout, and
 * the buffer reusable after it is freed.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "testutil.h"

static struct xb_buf buf;

static void setup(void)
{
    xb_buf_init(&buf);
}

static void teardown(void)
{
    xb_buf_free(&buf);
}

/* The buffer holds exactly the n bytes of s, followed by a NUL. */
static void assert_contents(const struct xb_buf *b, const char *s, size_t n)
{
    ck_assert_uint_eq(b->len, n);
    ck_assert_ptr_nonnull(b->data);
    ck_assert_uint_gt(b->cap, b->len);
    if (n)
        ck_assert_mem_eq(b->data, s, n);
    ck_assert_int_eq(b->data[n], '\0');
}

START_TEST(test_buf_init_empty)
{
    ck_assert_ptr_null(buf.data);
    ck_assert_uint_eq(buf.len, 0);
    ck_assert_uint_eq(buf.cap, 0);
}
END_TEST

START_TEST(test_buf_append)
{
    ck_assert_int_eq(xb_buf_append(&buf, "hello", 5), 0);
    assert_contents(&buf, "hello", 5);
    ck_assert_int_eq(xb_buf_append(&buf, " world", 6), 0);
    assert_contents(&buf, "hello world", 11);
    ck_assert_str_eq(buf.data, "hello world");
}
END_TEST

START_TEST(test_buf_append_part)
{
    /* Only n bytes are taken, whatever follows them. */
    ck_assert_int_eq(xb_buf_append(&buf, "abcdef", 3), 0);
    assert_contents(&buf, "abc", 3);
}
END_TEST

START_TEST(test_buf_append_nothing)
{
    ck_assert_int_eq(xb_buf_append(&buf, "", 0), 0);
    assert_contents(&buf, "", 0);
    ck_assert_int_eq(xb_buf_append(&buf, "ab", 2), 0);
    ck_assert_int_eq(xb_buf_append(&buf, "", 0), 0);
    assert_contents(&buf, "ab", 2);
}
END_TEST

START_TEST(test_buf_append_binary)
{
    static const char bytes[] = {'a', '\0', 'b', '\0', '\xff'};

    ck_assert_int_eq(xb_buf_append(&buf, bytes, sizeof bytes), 0);
    assert_contents(&buf, bytes, sizeof bytes);
}
END_TEST

START_TEST(test_buf_puts)
{
    ck_assert_int_eq(xb_buf_puts(&buf, "<message"), 0);
    ck_assert_int_eq(xb_buf_puts(&buf, ""), 0);
    ck_assert_int_eq(xb_buf_puts(&buf, "/>"), 0);
    assert_contents(&buf, "<message/>", 10);
}
END_TEST

START_TEST(test_buf_reserve)
{
    char *before;
    int i;

    ck_assert_int_eq(xb_buf_reserve(&buf, 1000), 0);
    ck_assert_ptr_nonnull(buf.data);
    ck_assert_uint_eq(buf.len, 0);
    ck_assert_uint_ge(buf.cap, 1001);

    /* Reserved room is used without moving the storage. */
    before = buf.data;
    for (i = 0; i < 1000; i++)
        ck_assert_int_eq(xb_buf_append(&buf, "x", 1), 0);
    ck_assert_ptr_eq(buf.data, before);
    ck_assert_uint_eq(buf.len, 1000);
    ck_assert_int_eq(buf.data[1000], '\0');
}
END_TEST

START_TEST(test_buf_reserve_keeps_contents)
{
    ck_assert_int_eq(xb_buf_puts(&buf, "keep me"), 0);
    ck_assert_int_eq(xb_buf_reserve(&buf, 100000), 0);
    ck_assert_uint_ge(buf.cap, buf.len + 100000 + 1);
    assert_contents(&buf, "keep me", 7);
    ck_assert_int_eq(xb_buf_reserve(&buf, 0), 0);
    assert_contents(&buf, "keep me", 7);
}
END_TEST

START_TEST(test_buf_reserve_overflow)
{
    ck_assert_int_eq(xb_buf_puts(&buf, "abc"), 0);
    ck_assert_int_eq(xb_buf_reserve(&buf, SIZE_MAX), XB_ENOMEM);
    ck_assert_int_eq(xb_buf_reserve(&buf, SIZE_MAX - 3), XB_ENOMEM);
    assert_contents(&buf, "abc", 3);
}
END_TEST

START_TEST(test_buf_reset)
{
    char *before;
    size_t cap;

    ck_assert_int_eq(xb_buf_puts(&buf, "some text"), 0);
    before = buf.data;
    cap = buf.cap;
    xb_buf_reset(&buf);
    assert_contents(&buf, "", 0);
    ck_assert_ptr_eq(buf.data, before);
    ck_assert_uint_eq(buf.cap, cap);
    ck_assert_int_eq(xb_buf_puts(&buf, "new"), 0);
    assert_contents(&buf, "new", 3);
}
END_TEST

START_TEST(test_buf_reset_fresh)
{
    xb_buf_reset(&buf);
    ck_assert_ptr_null(buf.data);
    ck_assert_uint_eq(buf.len, 0);
}
END_TEST

START_TEST(test_buf_growth)
{
    char piece[32];
    size_t i, n, total = 0;

    /*
     * Pieces of every length 1..31, many times over, each checked after.
     * (ck_abort_msg only on failure: a ck_assert per byte is slow.)
     */
    for (i = 0; i < 20000; i++) {
        n = 1 + i % 31;
        memset(piece, 'a' + (int)(i % 26), n);
        if (xb_buf_append(&buf, piece, n) != 0)
            ck_abort_msg("append %zu failed", i);
        total += n;
        if (buf.len != total || buf.cap <= buf.len || buf.data[buf.len] != '\0')
            ck_abort_msg("after append %zu: len %zu cap %zu, want len %zu", i,
                         buf.len, buf.cap, total);
    }
    ck_assert_uint_eq(strlen(buf.data), total);

    total = 0;
    for (i = 0; i < 20000; i++) {
        n = 1 + i % 31;
        while (n--) {
            if (buf.data[total] != 'a' + (int)(i % 26))
                ck_abort_msg("byte %zu of piece %zu is wrong", total, i);
            total++;
        }
    }
}
END_TEST

START_TEST(test_buf_consume_partial)
{
    char *before;

    ck_assert_int_eq(xb_buf_puts(&buf, "hello world"), 0);
    before = buf.data;
    xb_buf_consume(&buf, 6);
    assert_contents(&buf, "world", 5);
    ck_assert_ptr_eq(buf.data, before);
    xb_buf_consume(&buf, 1);
    assert_contents(&buf, "orld", 4);
    xb_buf_consume(&buf, 0);
    assert_contents(&buf, "orld", 4);
    ck_assert_int_eq(xb_buf_puts(&buf, "!"), 0);
    assert_contents(&buf, "orld!", 5);
}
END_TEST

START_TEST(test_buf_consume_all)
{
    size_t cap;

    ck_assert_int_eq(xb_buf_puts(&buf, "hello"), 0);
    cap = buf.cap;
    xb_buf_consume(&buf, 5);
    assert_contents(&buf, "", 0);
    ck_assert_uint_eq(buf.cap, cap);

    ck_assert_int_eq(xb_buf_puts(&buf, "again"), 0);
    xb_buf_consume(&buf, 1000);
    assert_contents(&buf, "", 0);

    ck_assert_int_eq(xb_buf_puts(&buf, "more"), 0);
    xb_buf_consume(&buf, SIZE_MAX);
    assert_contents(&buf, "", 0);
}
END_TEST

START_TEST(test_buf_consume_fresh)
{
    xb_buf_consume(&buf, 0);
    xb_buf_consume(&buf, 10);
    ck_assert_ptr_null(buf.data);
    ck_assert_uint_eq(buf.len, 0);
}
END_TEST

START_TEST(test_buf_consume_stream)
{
    /* Used as a queue: append at the back, consume from the front. */
    int i;

    for (i = 0; i < 1000; i++) {
        ck_assert_int_eq(xb_buf_append(&buf, "0123456789", 10), 0);
        xb_buf_consume(&buf, 7);
    }
    ck_assert_uint_eq(buf.len, 3000);
    ck_assert_int_eq(buf.data[buf.len], '\0');
    /* After i rounds the front has moved 7 * i bytes into the pattern. */
    for (i = 0; i < 3000; i++)
        if (buf.data[i] != '0' + (7000 + i) % 10)
            ck_abort_msg("byte %d is '%c'", i, buf.data[i]);
}
END_TEST

START_TEST(test_buf_free_reuse)
{
    ck_assert_int_eq(xb_buf_puts(&buf, "first life"), 0);
    xb_buf_free(&buf);
    ck_assert_ptr_null(buf.data);
    ck_assert_uint_eq(buf.len, 0);
    ck_assert_uint_eq(buf.cap, 0);

    ck_assert_int_eq(xb_buf_puts(&buf, "second"), 0);
    assert_contents(&buf, "second", 6);
    xb_buf_free(&buf);
    xb_buf_free(&buf); /* freeing an empty buffer is harmless */
    ck_assert_ptr_null(buf.data);
    ck_assert_int_eq(xb_buf_append(&buf, "3", 1), 0);
    assert_contents(&buf, "3", 1);
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s;
    TCase *tc_core;
    TCase *tc_consume;

    s = suite_create("buf");

    tc_core = tcase_create("core");
    tcase_add_checked_fixture(tc_core, setup, teardown);
    tcase_add_test(tc_core, test_buf_init_empty);
    tcase_add_test(tc_core, test_buf_append);
    tcase_add_test(tc_core, test_buf_append_part);
    tcase_add_test(tc_core, test_buf_append_nothing);
    tcase_add_test(tc_core, test_buf_append_binary);
    tcase_add_test(tc_core, test_buf_puts);
    tcase_add_test(tc_core, test_buf_reserve);
    tcase_add_test(tc_core, test_buf_reserve_keeps_contents);
    tcase_add_test(tc_core, test_buf_reserve_overflow);
    tcase_add_test(tc_core, test_buf_reset);
    tcase_add_test(tc_core, test_buf_reset_fresh);
    tcase_add_test(tc_core, test_buf_growth);
    tcase_add_test(tc_core, test_buf_free_reuse);
    suite_add_tcase(s, tc_core);

    tc_consume = tcase_create("consume");
    tcase_add_checked_fixture(tc_consume, setup, teardown);
    tcase_add_test(tc_consume, test_buf_consume_partial);
    tcase_add_test(tc_consume, test_buf_consume_all);
    tcase_add_test(tc_consume, test_buf_consume_fresh);
    tcase_add_test(tc_consume, test_buf_consume_stream);
    suite_add_tcase(s, tc_consume);

    return s;
}

int main(void)
{
    return tu_run(buf_suite());
}
