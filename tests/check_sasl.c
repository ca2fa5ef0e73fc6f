/*
 * Tests for core/sasl: PLAIN bytes, the SCRAM-SHA-1 and SCRAM-SHA-256
 * examples of RFC 5802 and RFC 7677 through both ways a server can deliver
 * its final message, strict refusal of malformed server data, call order,
 * and the SaltedPassword cache. Pure: scripted server bytes in, bytes out.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "sasl.h"
#include "testutil.h"

#define S(lit) lit, sizeof(lit) - 1

/* RFC 5802 section 5. */
#define SHA1_NONCE "fyko+d2lbbFgONRv9qkxdawL"
#define SHA1_FIRST "n,,n=user,r=" SHA1_NONCE
#define SHA1_SNONCE SHA1_NONCE "3rfcNHYJY1ZVvWVs7j"
#define SHA1_SERVER_FIRST "r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096"
#define SHA1_FINAL "c=biws,r=" SHA1_SNONCE ",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define SHA1_SERVER_FINAL "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

/* RFC 7677 section 3. */
#define SHA256_NONCE "rOprNGfwEbeRWgbNEkqO"
#define SHA256_FIRST "n,,n=user,r=" SHA256_NONCE
#define SHA256_SNONCE SHA256_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define SHA256_SERVER_FIRST                                                    \
    "r=" SHA256_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define SHA256_FINAL                                                           \
    "c=biws,r=" SHA256_SNONCE ",p=dHzbZapWIk4jUhN+"                            \
    "Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define SHA256_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

#define MISMATCH_MESSAGE                                                       \
    "server signature mismatch: the server does not know the password"

static struct xb_sasl *sasl;
static struct xb_sasl *other;
static struct xb_scram_cache *cache;
static struct xb_buf out;

static void setup(void)
{
    sasl = NULL;
    other = NULL;
    cache = NULL;
    xb_buf_init(&out);
}

static void teardown(void)
{
    xb_sasl_free(sasl);
    xb_sasl_free(other);
    xb_scram_cache_free(cache);
    xb_buf_free(&out);
}

/* Frees an exchange a test is done with, so the teardown does not. */
static void drop(struct xb_sasl **s)
{
    xb_sasl_free(*s);
    *s = NULL;
}

/* out holds exactly the n bytes of want. */
static void assert_out(const char *want, size_t n)
{
    ck_assert_uint_eq(out.len, n);
    if (n)
        ck_assert_mem_eq(out.data, want, n);
}

static void assert_out_str(const char *want)
{
    ck_assert_ptr_nonnull(out.data);
    ck_assert_str_eq(out.data, want);
    ck_assert_uint_eq(out.len, strlen(want));
}

/* A new exchange as user "pencil", started with nonce, its client-first
 * message checked against first. */
static struct xb_sasl *scram_started(enum xb_sasl_mech mech, const char *nonce,
                                     const char *first,
                                     struct xb_scram_cache *c)
{
    struct xb_sasl *s = xb_sasl_new(mech, "user", "pencil", c);

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(xb_sasl_set_nonce(s, nonce), 0);
    xb_buf_reset(&out);
    ck_assert_int_eq(xb_sasl_start(s, &out), 0);
    assert_out_str(first);
    xb_buf_reset(&out);
    return s;
}

static struct xb_sasl *sha1_started(struct xb_scram_cache *c)
{
    return scram_started(XB_SASL_SCRAM_SHA_1, SHA1_NONCE, SHA1_FIRST, c);
}

static struct xb_sasl *sha256_started(struct xb_scram_cache *c)
{
    return scram_started(XB_SASL_SCRAM_SHA_256, SHA256_NONCE, SHA256_FIRST, c);
}

/* Runs the RFC 5802 exchange on s up to the client-final message. */
static void sha1_to_final(struct xb_sasl *s)
{
    xb_buf_reset(&out);
    ck_assert_int_eq(xb_sasl_challenge(s, S(SHA1_SERVER_FIRST), &out), 0);
    assert_out_str(SHA1_FINAL);
    xb_buf_reset(&out);
}

static void sha256_to_final(struct xb_sasl *s)
{
    xb_buf_reset(&out);
    ck_assert_int_eq(xb_sasl_challenge(s, S(SHA256_SERVER_FIRST), &out), 0);
    assert_out_str(SHA256_FINAL);
    xb_buf_reset(&out);
}

START_TEST(test_sasl_mech_names)
{
    ck_assert_str_eq(xb_sasl_mech_name(XB_SASL_NONE), "");
    ck_assert_str_eq(xb_sasl_mech_name(XB_SASL_PLAIN), "PLAIN");
    ck_assert_str_eq(xb_sasl_mech_name(XB_SASL_SCRAM_SHA_1), "SCRAM-SHA-1");
    ck_assert_str_eq(xb_sasl_mech_name(XB_SASL_SCRAM_SHA_256), "SCRAM-SHA-256");
    ck_assert_int_eq(xb_sasl_mech_from_name("PLAIN"), XB_SASL_PLAIN);
    ck_assert_int_eq(xb_sasl_mech_from_name("SCRAM-SHA-1"),
                     XB_SASL_SCRAM_SHA_1);
    ck_assert_int_eq(xb_sasl_mech_from_name("SCRAM-SHA-256"),
                     XB_SASL_SCRAM_SHA_256);
}
END_TEST

START_TEST(test_sasl_mech_unknown)
{
    static const char *const names[] = {
        "",
        "DIGEST-MD5",
        "SCRAM-SHA-1-PLUS",
        "scram-sha-1",
        "SCRAM-SHA-256-PLUS",
        "SCRAM-SHA-512",
        "PLAIN ",
        "EXTERNAL",
        "ANONYMOUS",
    };
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_msg(xb_sasl_mech_from_name(names[i]) == XB_SASL_NONE,
                      "accepted \"%s\"", names[i]);
    ck_assert_int_eq(xb_sasl_mech_from_name(NULL), XB_SASL_NONE);
}
END_TEST

START_TEST(test_sasl_new_unsupported)
{
    ck_assert_ptr_null(xb_sasl_new(XB_SASL_NONE, "user", "pencil", NULL));
    ck_assert_ptr_null(
        xb_sasl_new((enum xb_sasl_mech)42, "user", "pencil", NULL));
}
END_TEST

START_TEST(test_sasl_message_initially_empty)
{
    sasl = xb_sasl_new(XB_SASL_SCRAM_SHA_256, "user", "pencil", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_str_eq(xb_sasl_message(sasl), "");
}
END_TEST

START_TEST(test_sasl_plain_initial_response)
{
    sasl = xb_sasl_new(XB_SASL_PLAIN, "juliet", "r0m30myr0m30", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    assert_out(S("\0juliet\0r0m30myr0m30"));
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), 0);
}
END_TEST

START_TEST(test_sasl_plain_appends)
{
    ck_assert_int_eq(xb_buf_puts(&out, "<"), 0);
    sasl = xb_sasl_new(XB_SASL_PLAIN, "a", "b", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    assert_out(S("<\0a\0b"));
}
END_TEST

START_TEST(test_sasl_plain_utf8)
{
    sasl = xb_sasl_new(XB_SASL_PLAIN, "j\xc3\xbcliet", "p\xe2\x82\xac", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    assert_out(S("\0j\xc3\xbcliet\0p\xe2\x82\xac"));
}
END_TEST

START_TEST(test_sasl_plain_refuses_challenge)
{
    sasl = xb_sasl_new(XB_SASL_PLAIN, "juliet", "secret", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    xb_buf_reset(&out);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S("hello"), &out), XB_EPROTO);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_str_ne(xb_sasl_message(sasl), "");
}
END_TEST

START_TEST(test_sasl_plain_success_data)
{
    sasl = xb_sasl_new(XB_SASL_PLAIN, "juliet", "secret", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    ck_assert_int_eq(xb_sasl_success(sasl, S("v=abcd")), XB_EPROTO);
}
END_TEST

START_TEST(test_sasl_bad_credentials)
{
    /* Empty username, a non-UTF-8 one, a non-UTF-8 password, and an empty
     * PLAIN password (RFC 4616 passwd = 1*SAFE). */
    sasl = xb_sasl_new(XB_SASL_SCRAM_SHA_1, "", "pencil", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), XB_EINVAL);
    ck_assert_uint_eq(out.len, 0);
    drop(&sasl);
    sasl = xb_sasl_new(XB_SASL_SCRAM_SHA_1, "us\xff", "pencil", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), XB_EINVAL);
    drop(&sasl);
    sasl = xb_sasl_new(XB_SASL_SCRAM_SHA_256, "user", "\xc0\x80", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), XB_EINVAL);
    drop(&sasl);
    sasl = xb_sasl_new(XB_SASL_PLAIN, "user", "", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), XB_EINVAL);
    ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_sasl_scram_sha1_challenge_path)
{
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    /* The server-final as a challenge: an empty response, then success. */
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FINAL), &out), 0);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), 0);
    ck_assert_str_eq(xb_sasl_message(sasl), "");
}
END_TEST

START_TEST(test_sasl_scram_sha1_success_path)
{
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), 0);
}
END_TEST

START_TEST(test_sasl_scram_sha256_challenge_path)
{
    sasl = sha256_started(NULL);
    sha256_to_final(sasl);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA256_SERVER_FINAL), &out), 0);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(xb_sasl_success(sasl, "", 0), 0);
}
END_TEST

START_TEST(test_sasl_scram_sha256_success_path)
{
    sasl = sha256_started(NULL);
    sha256_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA256_SERVER_FINAL)), 0);
}
END_TEST

START_TEST(test_sasl_scram_response_appends)
{
    sasl = sha1_started(NULL);
    ck_assert_int_eq(xb_buf_puts(&out, "prefix|"), 0);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FIRST), &out), 0);
    assert_out_str("prefix|" SHA1_FINAL);
}
END_TEST

START_TEST(test_sasl_scram_success_repeats_proof)
{
    /* After a verified challenge, <success/> may carry the same proof. */
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FINAL), &out), 0);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), 0);
}
END_TEST

START_TEST(test_sasl_scram_success_other_proof)
{
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FINAL), &out), 0);
    ck_assert_int_eq(xb_sasl_success(sasl, S("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
                     XB_EAUTH);
}
END_TEST

START_TEST(test_sasl_scram_server_final_extension)
{
    sasl = sha256_started(NULL);
    sha256_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA256_SERVER_FINAL ",x=future")),
                     0);
}
END_TEST

/* Wrong first or last byte, SHA-1's signature where SHA-256's is due, too
 * short, too long: each is a server that has not proven it knows the
 * password. */
static const char *const wrong_signatures[] = {
    "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=",
    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
    "v=AAAA",
    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4A",
};

START_TEST(test_sasl_scram_wrong_signature_challenge)
{
    size_t i;

    for (i = 0; i < sizeof wrong_signatures / sizeof wrong_signatures[0]; i++) {
        const char *v = wrong_signatures[i];

        sasl = sha256_started(NULL);
        sha256_to_final(sasl);
        ck_assert_msg(xb_sasl_challenge(sasl, v, strlen(v), &out) == XB_EAUTH,
                      "accepted %s", v);
        ck_assert_uint_eq(out.len, 0);
        ck_assert_str_eq(xb_sasl_message(sasl), MISMATCH_MESSAGE);
        /* A failed exchange cannot be rescued by a later success. */
        ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), XB_ESTATE);
        ck_assert_str_eq(xb_sasl_message(sasl), MISMATCH_MESSAGE);
        drop(&sasl);
    }
}
END_TEST

START_TEST(test_sasl_scram_wrong_signature_success)
{
    size_t i;

    for (i = 0; i < sizeof wrong_signatures / sizeof wrong_signatures[0]; i++) {
        const char *v = wrong_signatures[i];

        sasl = sha256_started(NULL);
        sha256_to_final(sasl);
        ck_assert_msg(xb_sasl_success(sasl, v, strlen(v)) == XB_EAUTH,
                      "accepted %s", v);
        ck_assert_str_eq(xb_sasl_message(sasl), MISMATCH_MESSAGE);
        drop(&sasl);
    }
}
END_TEST

START_TEST(test_sasl_scram_server_error_challenge)
{
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S("e=invalid-proof"), &out),
                     XB_EAUTH);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_str_eq(xb_sasl_message(sasl), "server error: invalid-proof");
}
END_TEST

START_TEST(test_sasl_scram_server_error_success)
{
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S("e=other-error")), XB_EAUTH);
    ck_assert_str_eq(xb_sasl_message(sasl), "server error: other-error");
}
END_TEST

START_TEST(test_sasl_scram_server_error_sanitized)
{
    /* The server's words reach a log: control bytes are masked and a long
     * value is cut. */
    char big[300];

    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S("e=bad\tthing\x7f")), XB_EAUTH);
    ck_assert_str_eq(xb_sasl_message(sasl), "server error: bad?thing?");
    drop(&sasl);

    memset(big, 'x', sizeof big);
    big[0] = 'e';
    big[1] = '=';
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, big, sizeof big), XB_EAUTH);
    ck_assert_uint_lt(strlen(xb_sasl_message(sasl)), 100);
    ck_assert_ptr_nonnull(strstr(xb_sasl_message(sasl), "xxx..."));
}
END_TEST

START_TEST(test_sasl_scram_no_signature)
{
    /* <success/> before any server-final is never proof enough. */
    sasl = sha1_started(NULL);
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), XB_EAUTH);
    drop(&sasl);

    sasl = sha1_started(NULL);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), XB_EAUTH);
    drop(&sasl);

    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), XB_EAUTH);
    ck_assert_str_ne(xb_sasl_message(sasl), "");
}
END_TEST

struct malformed {
    const char *data;
    size_t len;
    const char *why;
};

static const struct malformed bad_first[] = {
    {S(""), "empty"},
    {S("s=QSXCR+Q6sek8bf92,i=4096"), "no r="},
    {S("r=" SHA1_SNONCE ",i=4096"), "no s="},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92"), "no i="},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,"), "no i=, trailing comma"},
    {S("r=" SHA1_SNONCE), "only r="},
    {S("s=QSXCR+Q6sek8bf92,r=" SHA1_SNONCE ",i=4096"), "s= before r="},
    {S("r=" SHA1_SNONCE ",i=4096,s=QSXCR+Q6sek8bf92"), "i= before s="},
    {S("i=4096,r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92"), "i= first"},
    {S("m=ext," SHA1_SERVER_FIRST), "mandatory extension"},
    {S("m=," SHA1_SERVER_FIRST), "empty mandatory extension"},
    {S("r=abcdefghijklmnopqrstuvwxyz0123456789,s=QSXCR+Q6sek8bf92,i=4096"),
     "nonce not starting with ours"},
    {S("r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096"),
     "nonce shorter than ours"},
    {S("r=" SHA1_NONCE ",s=QSXCR+Q6sek8bf92,i=4096"), "nonce equal to ours"},
    {S("r=,s=QSXCR+Q6sek8bf92,i=4096"), "empty nonce"},
    {S("r=" SHA1_NONCE "ab cd,s=QSXCR+Q6sek8bf92,i=4096"),
     "space in the nonce"},
    {S("r=" SHA1_NONCE "\xc3\xa9,s=QSXCR+Q6sek8bf92,i=4096"),
     "non-ASCII nonce"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf9,i=4096"), "salt length 15"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92=,i=4096"), "salt bad padding"},
    {S("r=" SHA1_SNONCE ",s=QSXCR Q6sek8bf92,i=4096"), "space in the salt"},
    {S("r=" SHA1_SNONCE ",s=QSXCR*Q6sek8bf92,i=4096"), "bad salt character"},
    {S("r=" SHA1_SNONCE ",s=,i=4096"), "empty salt"},
    {S("r=" SHA1_SNONCE ",s==,i=4096"), "salt that decodes to nothing"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=0"), "i=0"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=-1"), "i=-1"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=+4096"), "i=+4096"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=99999999999"), "i=99999999999"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=10000001"), "i=10000001"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,"
       "i=99999999999999999999999999999999999999999"),
     "i overflowing 128 bits"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=abc"), "i=abc"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096abc"), "i=4096abc"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=04096"), "leading zero"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i="), "empty i="},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i= 4096"), "space in i="},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096,"), "trailing comma"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096,x="), "empty ext value"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096,1=a"), "ext not ALPHA"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096,xy=a"), "ext name long"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096,,x=a"), "empty ext"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096\0"), "trailing NUL"},
    {S("r=" SHA1_NONCE "\0xyz,s=QSXCR+Q6sek8bf92,i=4096"), "NUL in nonce"},
    {S("\0" SHA1_SERVER_FIRST), "leading NUL"},
    {S("\0"), "only a NUL"},
    {S(SHA1_SERVER_FIRST ",x=a\0b"), "NUL in an extension"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096,x=\xff"), "not UTF-8"},
    {S("\xff\xfe"), "binary"},
    {S("R=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096"), "upper-case R"},
    {S("r" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096"), "r without ="},
    {S(" " SHA1_SERVER_FIRST), "leading space"},
    {S(SHA1_SERVER_FIRST " "), "trailing space"},
    {S(SHA1_SERVER_FIRST "\n"), "trailing newline"},
    {S("r=" SHA1_SNONCE ",,s=QSXCR+Q6sek8bf92,i=4096"), "double comma"},
    {S(","), "a comma"},
    {S("r="), "bare r="},
};

START_TEST(test_sasl_scram_malformed_server_first)
{
    size_t i;

    for (i = 0; i < sizeof bad_first / sizeof bad_first[0]; i++) {
        const struct malformed *m = &bad_first[i];
        int rc;

        sasl = sha1_started(NULL);
        ck_assert_int_eq(xb_buf_puts(&out, "keep"), 0);
        rc = xb_sasl_challenge(sasl, m->data, m->len, &out);
        ck_assert_msg(rc == XB_EPROTO, "%s: got %d", m->why, rc);
        ck_assert_msg(out.len == 4 && strcmp(out.data, "keep") == 0,
                      "%s: output changed", m->why);
        ck_assert_msg(strlen(xb_sasl_message(sasl)) > 0, "%s: no message",
                      m->why);
        /* The exchange is over. */
        ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FIRST), &out),
                         XB_ESTATE);
        drop(&sasl);
    }
}
END_TEST

START_TEST(test_sasl_scram_null_data)
{
    sasl = sha1_started(NULL);
    ck_assert_int_eq(xb_sasl_challenge(sasl, NULL, 0, &out), XB_EPROTO);
}
END_TEST

START_TEST(test_sasl_scram_messages)
{
    static const struct {
        const char *data;
        const char *message;
    } cases[] = {
        {"r=" SHA1_NONCE ",s=QSXCR+Q6sek8bf92,i=4096",
         "server nonce does not extend ours"},
        {"r=xyz" SHA1_NONCE ",s=QSXCR+Q6sek8bf92,i=4096",
         "server nonce does not extend ours"},
        {"m=x," SHA1_SERVER_FIRST, "server demands an extension (m=)"},
        {"r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=99999999999",
         "iteration count out of range (1 to 10000000)"},
        {"r=" SHA1_SNONCE ",s=Q*==,i=4096", "salt is not valid base64"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sasl = sha1_started(NULL);
        ck_assert_int_eq(
            xb_sasl_challenge(sasl, cases[i].data, strlen(cases[i].data), &out),
            XB_EPROTO);
        ck_assert_str_eq(xb_sasl_message(sasl), cases[i].message);
        drop(&sasl);
    }
}
END_TEST

START_TEST(test_sasl_scram_server_first_extension)
{
    /* Optional extensions after i= are allowed; they change AuthMessage,
     * so the proof differs from the RFC's. */
    sasl = sha1_started(NULL);
    ck_assert_int_eq(
        xb_sasl_challenge(sasl, S(SHA1_SERVER_FIRST ",x=ab=cd,y=1"), &out), 0);
    ck_assert_ptr_nonnull(strstr(out.data, "c=biws,r=" SHA1_SNONCE ",p="));
    ck_assert_str_ne(out.data, SHA1_FINAL);
}
END_TEST

static const struct malformed bad_final[] = {
    {S("\0"), "NUL"},
    {S("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=\0"), "trailing NUL"},
    {S("v=rmF9pqV8S7\0suAoZWja4dJRkFsKQ="), "NUL inside"},
    {S(SHA1_SERVER_FINAL ",x=a\0b"), "NUL in an extension"},
    {S("\xff"), "not UTF-8"},
    {S("x=rmF9pqV8S7suAoZWja4dJRkFsKQ="), "neither v= nor e="},
    {S("rmF9pqV8S7suAoZWja4dJRkFsKQ="), "bare signature"},
    {S("v="), "empty v="},
    {S("e="), "empty e="},
    {S("v=rmF9pqV8S7suAoZWja4dJRkFsKQ"), "signature not base64"},
    {S("v=rmF9pqV8S7suAoZWja4dJRkFsKQ= "), "trailing space"},
    {S("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,"), "trailing comma"},
    {S("r=" SHA1_SNONCE ",s=QSXCR+Q6sek8bf92,i=4096"), "server-first again"},
};

START_TEST(test_sasl_scram_malformed_server_final)
{
    size_t i;

    for (i = 0; i < sizeof bad_final / sizeof bad_final[0]; i++) {
        const struct malformed *m = &bad_final[i];
        int rc;

        sasl = sha1_started(NULL);
        sha1_to_final(sasl);
        rc = xb_sasl_challenge(sasl, m->data, m->len, &out);
        ck_assert_msg(rc == XB_EPROTO, "challenge %s: got %d", m->why, rc);
        ck_assert_uint_eq(out.len, 0);
        drop(&sasl);

        sasl = sha1_started(NULL);
        sha1_to_final(sasl);
        rc = xb_sasl_success(sasl, m->data, m->len);
        ck_assert_msg(rc == XB_EPROTO, "success %s: got %d", m->why, rc);
        drop(&sasl);
    }
}
END_TEST

START_TEST(test_sasl_scram_empty_final_challenge)
{
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_challenge(sasl, NULL, 0, &out), XB_EPROTO);
}
END_TEST

START_TEST(test_sasl_scram_challenge_after_verified)
{
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FINAL), &out), 0);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FINAL), &out),
                     XB_EPROTO);
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), XB_ESTATE);
}
END_TEST

START_TEST(test_sasl_order_before_start)
{
    sasl = xb_sasl_new(XB_SASL_SCRAM_SHA_1, "user", "pencil", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FIRST), &out),
                     XB_ESTATE);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_str_ne(xb_sasl_message(sasl), "");
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), XB_ESTATE);
    /* A caller's mistake does not spoil the exchange. */
    ck_assert_int_eq(xb_sasl_set_nonce(sasl, SHA1_NONCE), 0);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    assert_out_str(SHA1_FIRST);
    xb_buf_reset(&out);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), 0);
}
END_TEST

START_TEST(test_sasl_order_plain_before_start)
{
    sasl = xb_sasl_new(XB_SASL_PLAIN, "juliet", "secret", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), XB_ESTATE);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S("x"), &out), XB_ESTATE);
}
END_TEST

START_TEST(test_sasl_order_start_twice)
{
    sasl = sha1_started(NULL);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), XB_ESTATE);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(xb_sasl_set_nonce(sasl, "other"), XB_ESTATE);
    /* Still usable: the RFC exchange goes through. */
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), 0);
}
END_TEST

START_TEST(test_sasl_order_after_done)
{
    sasl = sha1_started(NULL);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), 0);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), XB_ESTATE);
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), XB_ESTATE);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FINAL), &out),
                     XB_ESTATE);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), XB_ESTATE);
    ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_sasl_order_plain_after_done)
{
    sasl = xb_sasl_new(XB_SASL_PLAIN, "juliet", "secret", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), 0);
    ck_assert_int_eq(xb_sasl_success(sasl, NULL, 0), XB_ESTATE);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), XB_ESTATE);
}
END_TEST

START_TEST(test_sasl_order_after_failure)
{
    sasl = sha1_started(NULL);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S("r=x,s=QSXC,i=1"), &out),
                     XB_EPROTO);
    ck_assert_str_eq(xb_sasl_message(sasl),
                     "server nonce does not extend ours");
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), XB_ESTATE);
    ck_assert_int_eq(xb_sasl_challenge(sasl, S(SHA1_SERVER_FIRST), &out),
                     XB_ESTATE);
    /* The first reason is kept. */
    ck_assert_str_eq(xb_sasl_message(sasl),
                     "server nonce does not extend ours");
}
END_TEST

START_TEST(test_sasl_set_nonce_invalid)
{
    static const char *const nonces[] = {"",       "a,b",      "a b",  "\x01",
                                         "ab\x7f", "\xc3\xa9", "tab\t"};
    size_t i;

    sasl = xb_sasl_new(XB_SASL_SCRAM_SHA_1, "user", "pencil", NULL);
    ck_assert_ptr_nonnull(sasl);
    for (i = 0; i < sizeof nonces / sizeof nonces[0]; i++)
        ck_assert_msg(xb_sasl_set_nonce(sasl, nonces[i]) == XB_EINVAL,
                      "accepted nonce %zu", i);
    ck_assert_int_eq(xb_sasl_set_nonce(sasl, "!~+"), 0);
    /* A later nonce replaces an earlier one. */
    ck_assert_int_eq(xb_sasl_set_nonce(sasl, SHA1_NONCE), 0);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    assert_out_str(SHA1_FIRST);
}
END_TEST

START_TEST(test_sasl_username_escaping)
{
    sasl = xb_sasl_new(XB_SASL_SCRAM_SHA_256, "a=b,c", "pencil", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_set_nonce(sasl, "abc"), 0);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    assert_out_str("n,,n=a=3Db=2Cc,r=abc");
    drop(&sasl);

    xb_buf_reset(&out);
    sasl = xb_sasl_new(XB_SASL_SCRAM_SHA_1, "==,,", "pencil", NULL);
    ck_assert_ptr_nonnull(sasl);
    ck_assert_int_eq(xb_sasl_set_nonce(sasl, "abc"), 0);
    ck_assert_int_eq(xb_sasl_start(sasl, &out), 0);
    assert_out_str("n,,n==3D=3D=2C=2C,r=abc");
}
END_TEST

/* The client nonce of a started exchange's client-first message. */
static void start_random(struct xb_sasl **s, char *nonce, size_t size)
{
    const char *r;

    *s = xb_sasl_new(XB_SASL_SCRAM_SHA_256, "user", "pencil", NULL);
    ck_assert_ptr_nonnull(*s);
    xb_buf_reset(&out);
    ck_assert_int_eq(xb_sasl_start(*s, &out), 0);
    ck_assert_int_eq(strncmp(out.data, "n,,n=user,r=", 12), 0);
    r = out.data + 12;
    ck_assert_uint_lt(strlen(r), size);
    strcpy(nonce, r);
}

START_TEST(test_sasl_random_nonce)
{
    char a[64], b[64];
    size_t i;

    start_random(&sasl, a, sizeof a);
    start_random(&other, b, sizeof b);
    ck_assert_str_ne(a, b);
    /* 24 random bytes in base64. */
    ck_assert_uint_eq(strlen(a), 32);
    ck_assert_uint_eq(strlen(b), 32);
    for (i = 0; i < 32; i++) {
        ck_assert_msg(a[i] > 0x20 && a[i] < 0x7f && a[i] != ',',
                      "bad nonce character %d", a[i]);
        ck_assert_msg(b[i] > 0x20 && b[i] < 0x7f && b[i] != ',',
                      "bad nonce character %d", b[i]);
    }
}
END_TEST

START_TEST(test_sasl_random_nonce_exchange)
{
    /* A server nonce built on our random one is accepted. */
    char nonce[64];
    struct xb_buf first;

    start_random(&sasl, nonce, sizeof nonce);
    xb_buf_init(&first);
    ck_assert_int_eq(xb_buf_puts(&first, "r="), 0);
    ck_assert_int_eq(xb_buf_puts(&first, nonce), 0);
    ck_assert_int_eq(xb_buf_puts(&first, "srv,s=QSXCR+Q6sek8bf92,i=1"), 0);
    xb_buf_reset(&out);
    ck_assert_int_eq(xb_sasl_challenge(sasl, first.data, first.len, &out), 0);
    ck_assert_int_eq(strncmp(out.data, "c=biws,r=", 9), 0);
    xb_buf_free(&first);
}
END_TEST

START_TEST(test_sasl_cache_hit)
{
    unsigned long computed = 99, hits = 99;

    cache = xb_scram_cache_new(0);
    ck_assert_ptr_nonnull(cache);
    xb_scram_cache_stats(cache, &computed, &hits);
    ck_assert_uint_eq(computed, 0);
    ck_assert_uint_eq(hits, 0);

    sasl = sha1_started(cache);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), 0);
    other = sha1_started(cache);
    sha1_to_final(other);
    ck_assert_int_eq(xb_sasl_success(other, S(SHA1_SERVER_FINAL)), 0);

    xb_scram_cache_stats(cache, &computed, &hits);
    ck_assert_uint_eq(computed, 1);
    ck_assert_uint_eq(hits, 1);
}
END_TEST

START_TEST(test_sasl_cache_sha256)
{
    unsigned long computed, hits;

    cache = xb_scram_cache_new(4);
    ck_assert_ptr_nonnull(cache);
    sasl = sha256_started(cache);
    sha256_to_final(sasl);
    other = sha256_started(cache);
    sha256_to_final(other);
    ck_assert_int_eq(xb_sasl_success(other, S(SHA256_SERVER_FINAL)), 0);
    xb_scram_cache_stats(cache, &computed, &hits);
    ck_assert_uint_eq(computed, 1);
    ck_assert_uint_eq(hits, 1);
}
END_TEST

/* Answers the RFC 5802 nonce with this salt and count; 0 or the error. */
static int sha1_first_with(struct xb_sasl *s, const char *salt_iter)
{
    struct xb_buf first;
    int rc;

    xb_buf_init(&first);
    ck_assert_int_eq(xb_buf_puts(&first, "r=" SHA1_SNONCE ","), 0);
    ck_assert_int_eq(xb_buf_puts(&first, salt_iter), 0);
    xb_buf_reset(&out);
    rc = xb_sasl_challenge(s, first.data, first.len, &out);
    xb_buf_free(&first);
    return rc;
}

static void sha1_run_with(const char *salt_iter)
{
    struct xb_sasl *s = sha1_started(cache);

    ck_assert_int_eq(sha1_first_with(s, salt_iter), 0);
    xb_sasl_free(s);
}

static void assert_stats(unsigned long computed, unsigned long hits)
{
    unsigned long c, h;

    xb_scram_cache_stats(cache, &c, &h);
    ck_assert_uint_eq(c, computed);
    ck_assert_uint_eq(h, hits);
}

START_TEST(test_sasl_cache_key_inputs)
{
    cache = xb_scram_cache_new(16);
    ck_assert_ptr_nonnull(cache);
    sha1_run_with("s=QSXCR+Q6sek8bf92,i=4096");
    assert_stats(1, 0);
    /* Another salt, another count: computed again. */
    sha1_run_with("s=QSXCR+Q6sek8bf93,i=4096");
    assert_stats(2, 0);
    sha1_run_with("s=QSXCR+Q6sek8bf92,i=4097");
    assert_stats(3, 0);
    sha1_run_with("s=QSXCR+Q6sek8bf92,i=4096");
    assert_stats(3, 1);
    sha1_run_with("s=QSXCR+Q6sek8bf93,i=4096");
    assert_stats(3, 2);
}
END_TEST

START_TEST(test_sasl_cache_key_password_mech)
{
    struct xb_sasl *s;

    cache = xb_scram_cache_new(16);
    ck_assert_ptr_nonnull(cache);
    sha1_run_with("s=QSXCR+Q6sek8bf92,i=4096");
    assert_stats(1, 0);

    /* Another password: computed, and the proof is not the RFC's. */
    s = xb_sasl_new(XB_SASL_SCRAM_SHA_1, "user", "pencil2", cache);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(xb_sasl_set_nonce(s, SHA1_NONCE), 0);
    ck_assert_int_eq(xb_sasl_start(s, &out), 0);
    ck_assert_int_eq(sha1_first_with(s, "s=QSXCR+Q6sek8bf92,i=4096"), 0);
    ck_assert_str_ne(out.data, SHA1_FINAL);
    xb_sasl_free(s);
    assert_stats(2, 0);

    /* Same password, salt and count under SHA-256: computed. */
    s = xb_sasl_new(XB_SASL_SCRAM_SHA_256, "user", "pencil", cache);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(xb_sasl_set_nonce(s, SHA1_NONCE), 0);
    ck_assert_int_eq(xb_sasl_start(s, &out), 0);
    ck_assert_int_eq(sha1_first_with(s, "s=QSXCR+Q6sek8bf92,i=4096"), 0);
    xb_sasl_free(s);
    assert_stats(3, 0);

    /* Another user with the same password shares the entry. */
    s = xb_sasl_new(XB_SASL_SCRAM_SHA_1, "someone", "pencil", cache);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(xb_sasl_set_nonce(s, SHA1_NONCE), 0);
    ck_assert_int_eq(xb_sasl_start(s, &out), 0);
    ck_assert_int_eq(sha1_first_with(s, "s=QSXCR+Q6sek8bf92,i=4096"), 0);
    xb_sasl_free(s);
    assert_stats(3, 1);
}
END_TEST

START_TEST(test_sasl_cache_evicts)
{
    cache = xb_scram_cache_new(1);
    ck_assert_ptr_nonnull(cache);
    sha1_run_with("s=QSXCR+Q6sek8bf92,i=4096");
    sha1_run_with("s=QSXCR+Q6sek8bf92,i=4096");
    assert_stats(1, 1);
    sha1_run_with("s=AAAAAAAA,i=4096");
    assert_stats(2, 1);
    /* The single slot now holds the second salt: the first is gone. */
    sha1_run_with("s=QSXCR+Q6sek8bf92,i=4096");
    assert_stats(3, 1);

    /* Evicted and recomputed, the value still gives the RFC proof. */
    sasl = sha1_started(cache);
    sha1_to_final(sasl);
    ck_assert_int_eq(xb_sasl_success(sasl, S(SHA1_SERVER_FINAL)), 0);
    assert_stats(3, 2);
}
END_TEST

START_TEST(test_sasl_cache_round_robin)
{
    cache = xb_scram_cache_new(2);
    ck_assert_ptr_nonnull(cache);
    sha1_run_with("s=AAAA,i=1");
    sha1_run_with("s=BBBB,i=1");
    sha1_run_with("s=AAAA,i=1");
    assert_stats(2, 1);
    /* Full: the third replaces the oldest (A), not the one just used. */
    sha1_run_with("s=CCCC,i=1");
    assert_stats(3, 1);
    sha1_run_with("s=BBBB,i=1");
    assert_stats(3, 2);
    sha1_run_with("s=AAAA,i=1");
    assert_stats(4, 2);
}
END_TEST

START_TEST(test_sasl_cache_stats_null_outputs)
{
    cache = xb_scram_cache_new(1);
    ck_assert_ptr_nonnull(cache);
    xb_scram_cache_stats(cache, NULL, NULL);
    xb_scram_cache_free(NULL);
}
END_TEST

static Suite *sasl_suite(void)
{
    Suite *s;
    TCase *tc_plain;
    TCase *tc_scram;
    TCase *tc_strict;
    TCase *tc_order;
    TCase *tc_cache;

    s = suite_create("sasl");

    tc_plain = tcase_create("plain");
    tcase_add_checked_fixture(tc_plain, setup, teardown);
    tcase_add_test(tc_plain, test_sasl_mech_names);
    tcase_add_test(tc_plain, test_sasl_mech_unknown);
    tcase_add_test(tc_plain, test_sasl_new_unsupported);
    tcase_add_test(tc_plain, test_sasl_message_initially_empty);
    tcase_add_test(tc_plain, test_sasl_plain_initial_response);
    tcase_add_test(tc_plain, test_sasl_plain_appends);
    tcase_add_test(tc_plain, test_sasl_plain_utf8);
    tcase_add_test(tc_plain, test_sasl_plain_refuses_challenge);
    tcase_add_test(tc_plain, test_sasl_plain_success_data);
    tcase_add_test(tc_plain, test_sasl_bad_credentials);
    suite_add_tcase(s, tc_plain);

    tc_scram = tcase_create("scram");
    tcase_add_checked_fixture(tc_scram, setup, teardown);
    tcase_add_test(tc_scram, test_sasl_scram_sha1_challenge_path);
    tcase_add_test(tc_scram, test_sasl_scram_sha1_success_path);
    tcase_add_test(tc_scram, test_sasl_scram_sha256_challenge_path);
    tcase_add_test(tc_scram, test_sasl_scram_sha256_success_path);
    tcase_add_test(tc_scram, test_sasl_scram_response_appends);
    tcase_add_test(tc_scram, test_sasl_scram_success_repeats_proof);
    tcase_add_test(tc_scram, test_sasl_scram_success_other_proof);
    tcase_add_test(tc_scram, test_sasl_scram_server_final_extension);
    tcase_add_test(tc_scram, test_sasl_scram_wrong_signature_challenge);
    tcase_add_test(tc_scram, test_sasl_scram_wrong_signature_success);
    tcase_add_test(tc_scram, test_sasl_scram_server_error_challenge);
    tcase_add_test(tc_scram, test_sasl_scram_server_error_success);
    tcase_add_test(tc_scram, test_sasl_scram_server_error_sanitized);
    tcase_add_test(tc_scram, test_sasl_scram_no_signature);
    tcase_add_test(tc_scram, test_sasl_username_escaping);
    tcase_add_test(tc_scram, test_sasl_set_nonce_invalid);
    tcase_add_test(tc_scram, test_sasl_random_nonce);
    tcase_add_test(tc_scram, test_sasl_random_nonce_exchange);
    suite_add_tcase(s, tc_scram);

    tc_strict = tcase_create("strict");
    tcase_add_checked_fixture(tc_strict, setup, teardown);
    tcase_add_test(tc_strict, test_sasl_scram_malformed_server_first);
    tcase_add_test(tc_strict, test_sasl_scram_null_data);
    tcase_add_test(tc_strict, test_sasl_scram_messages);
    tcase_add_test(tc_strict, test_sasl_scram_server_first_extension);
    tcase_add_test(tc_strict, test_sasl_scram_malformed_server_final);
    tcase_add_test(tc_strict, test_sasl_scram_empty_final_challenge);
    tcase_add_test(tc_strict, test_sasl_scram_challenge_after_verified);
    suite_add_tcase(s, tc_strict);

    tc_order = tcase_create("order");
    tcase_add_checked_fixture(tc_order, setup, teardown);
    tcase_add_test(tc_order, test_sasl_order_before_start);
    tcase_add_test(tc_order, test_sasl_order_plain_before_start);
    tcase_add_test(tc_order, test_sasl_order_start_twice);
    tcase_add_test(tc_order, test_sasl_order_after_done);
    tcase_add_test(tc_order, test_sasl_order_plain_after_done);
    tcase_add_test(tc_order, test_sasl_order_after_failure);
    suite_add_tcase(s, tc_order);

    tc_cache = tcase_create("cache");
    tcase_add_checked_fixture(tc_cache, setup, teardown);
    tcase_add_test(tc_cache, test_sasl_cache_hit);
    tcase_add_test(tc_cache, test_sasl_cache_sha256);
    tcase_add_test(tc_cache, test_sasl_cache_key_inputs);
    tcase_add_test(tc_cache, test_sasl_cache_key_password_mech);
    tcase_add_test(tc_cache, test_sasl_cache_evicts);
    tcase_add_test(tc_cache, test_sasl_cache_round_robin);
    tcase_add_test(tc_cache, test_sasl_cache_stats_null_outputs);
    suite_add_tcase(s, tc_cache);

    return s;
}

int main(void)
{
    return tu_run(sasl_suite());
}
