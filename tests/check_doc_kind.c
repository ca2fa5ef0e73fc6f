/*
 * The example kind of doc/bot-kinds.md, compiled from the document itself
 * (the Makefile extracts it into tests/doc_greeter.c) and run on the fake
 * host: the guide's code stays code that works.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bot.h"
#include "fakehost.h"
#include "testutil.h"

extern const struct xb_bot_kind xb_bot_greeter;

START_TEST(test_doc_kind_greets)
{
    struct xb_bot_config *c = xb_bot_config_new(&xb_bot_greeter);
    struct fakehost host;
    struct xb_bot *b;
    char err[300];

    memset(&host, 0, sizeof host);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(
        xb_bot_config_set(c, "greeting", "Hi & welcome", err, sizeof err), 0);
    ck_assert_int_eq(xb_bot_config_check(c, err, sizeof err), 0);
    b = fh_new(&host, c, "hello@example.com", 1, 0);
    ck_assert_ptr_nonnull(b);
    xb_bot_online(b, "hello@example.com/bot");
    fh_deliver(b, "<message xmlns='jabber:client' from='a@example.com/x' "
                  "type='chat'><body>hey</body></message>");
    fh_deliver(b, "<message xmlns='jabber:client' from='a@example.com/x' "
                  "type='groupchat'><body>hey</body></message>");
    ck_assert_int_eq(host.nsent, 1);
    ck_assert_str_eq(host.sent[0], "<message to='a@example.com/x' "
                                   "type='chat'><body>Hi &amp; welcome"
                                   "</body></message>");
    ck_assert_uint_eq(fh_counter(b, "greeted"), 1);
    ck_assert_uint_eq(fh_counter(b, "stanzas"), 2);
    xb_bot_free(b);
    fh_reset(&host);
    xb_bot_config_free(c);
}
END_TEST

static Suite *doc_kind_suite(void)
{
    Suite *s = suite_create("doc_kind");
    TCase *tc = tcase_create("greeter");

    tcase_add_test(tc, test_doc_kind_greets);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(doc_kind_suite());
}
