/* test-paylink.c: the pure parts of the pay link (channels/paylink.h): the
 * static token (a known answer computed independently with Python's hmac,
 * round trip, every tampered character and bit, expiry, wrong secret),
 * Mollie's amount strings, the description cut at a UTF-8 boundary, the
 * expiry rounding, and the providers that need no network (static, none,
 * and Mollie's refusals before any request). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "job.h"
#include "paylink.h"
#include "unit.h"

#define SECRET "s3cret-paylink-key"
#define RID "r-0123456789abcdef"
/* 2026-11-23T09:00:00Z and 2026-12-08T00:00:00Z */
#define NOW_MS INT64_C(1795424400000)
#define EXP_MS INT64_C(1796688000000)
/* /usr/bin/python3: base64.urlsafe_b64encode(payload + hmac.new(SECRET,
 * payload, sha256).digest()[:16]).rstrip("="), payload = b"\x01" +
 * bytes.fromhex(RID[2:]) + pack(">q", 123456) + b"EUR" + pack(">q", EXP_MS) */
#define KNOWN_TOKEN "AQEjRWeJq83vAAAAAAAB4kBFVVIAAAGiUvM0AE3Awu8zmobcOkepimA1W_U"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int64_t ms_of(const char *rfc3339)
{
        int64_t ms;
        ck_assert_int_eq(job_parse_time(rfc3339, &ms), 0);
        return ms;
}

START_TEST(test_token_known_answer_and_round_trip)
{
        char tok[PAYLINK_TOKEN_LEN + 1];
        struct paylink_token t;
        struct error err = { "" };

        ck_assert_int_eq(ms_of("2026-12-08T00:00:00Z"), EXP_MS);
        ck_assert_int_eq(paylink_static_token(SECRET, RID, 123456, "EUR", EXP_MS, tok, sizeof(tok)),
                         0);
        ck_assert_str_eq(tok, KNOWN_TOKEN);
        ck_assert_int_eq(strlen(tok), PAYLINK_TOKEN_LEN);

        memset(&t, 0, sizeof(t));
        ck_assert_msg(paylink_static_verify(SECRET, tok, EXP_MS - 1, &t, &err) == 0, "%s",
                      err.msg);
        ck_assert_str_eq(t.reminder_id, RID);
        ck_assert_int_eq(t.amount_cents, 123456);
        ck_assert_str_eq(t.currency, "EUR");
        ck_assert_int_eq(t.expires_ms, EXP_MS);

        /* other values round trip too, and give other tokens */
        char tok2[PAYLINK_TOKEN_LEN + 1];
        ck_assert_int_eq(paylink_static_token(SECRET, "r-ffffffffffffffff", INT64_MAX, "JPY", 1,
                                              tok2, sizeof(tok2)),
                         0);
        ck_assert_str_ne(tok2, tok);
        ck_assert_int_eq(paylink_static_verify(SECRET, tok2, 0, &t, &err), 0);
        ck_assert_str_eq(t.reminder_id, "r-ffffffffffffffff");
        ck_assert_int_eq(t.amount_cents, INT64_MAX);
        ck_assert_str_eq(t.currency, "JPY");
        ck_assert_int_eq(t.expires_ms, 1);
}
END_TEST

/* Every character replaced by every other one of the alphabet: refused,
 * including the last character, whose low bits are unused (a lax decoder
 * would accept four spellings of one token). */
START_TEST(test_token_tampered_character_refused)
{
        char tok[PAYLINK_TOKEN_LEN + 1];
        struct error err;
        int tried = 0;

        strcpy(tok, KNOWN_TOKEN);
        for (size_t i = 0; i < PAYLINK_TOKEN_LEN; i++) {
                char orig = tok[i];
                for (const char *c = alphabet; *c; c++) {
                        if (*c == orig)
                                continue;
                        struct paylink_token t;
                        memset(&t, 0x5a, sizeof(t));
                        tok[i] = *c;
                        int rc = paylink_static_verify(SECRET, tok, NOW_MS, &t, &err);
                        ck_assert_msg(rc == -EBADMSG, "position %zu as '%c': %d", i, *c, rc);
                        for (size_t k = 0; k < sizeof(t); k++)
                                ck_assert_int_eq(((unsigned char *)&t)[k], 0x5a);
                        tried++;
                }
                tok[i] = orig;
        }
        ck_assert_int_eq(tried, PAYLINK_TOKEN_LEN * 63);
        ck_assert_int_eq(paylink_static_verify(SECRET, tok, NOW_MS, &(struct paylink_token){ 0 },
                                               &err),
                         0);
}
END_TEST

static int b64_index(char c)
{
        return (int)(strchr(alphabet, c) - alphabet);
}

/* Every bit of the 44 decoded bytes flipped and re-encoded canonically:
 * refused (the MAC covers the payload; the tag itself must match). */
START_TEST(test_token_tampered_bit_refused)
{
        unsigned char raw[44];
        unsigned acc = 0;
        int bits = 0;
        size_t o = 0;
        struct error err;

        for (const char *p = KNOWN_TOKEN; *p; p++) {
                acc = (acc << 6) | (unsigned)b64_index(*p);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        raw[o++] = (unsigned char)(acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        ck_assert_int_eq(o, 44);
        for (size_t byte = 0; byte < 44; byte++) {
                for (int bit = 0; bit < 8; bit++) {
                        unsigned char t[44];
                        char tok[64];
                        size_t n = 0;
                        memcpy(t, raw, 44);
                        t[byte] ^= (unsigned char)(1u << bit);
                        for (size_t i = 0; i < 44; i += 3) {
                                unsigned v = (unsigned)t[i] << 16;
                                if (i + 1 < 44)
                                        v |= (unsigned)t[i + 1] << 8;
                                if (i + 2 < 44)
                                        v |= t[i + 2];
                                tok[n++] = alphabet[(v >> 18) & 63];
                                tok[n++] = alphabet[(v >> 12) & 63];
                                if (i + 1 < 44)
                                        tok[n++] = alphabet[(v >> 6) & 63];
                                if (i + 2 < 44)
                                        tok[n++] = alphabet[v & 63];
                        }
                        tok[n] = '\0';
                        ck_assert_str_ne(tok, KNOWN_TOKEN);
                        struct paylink_token out;
                        ck_assert_msg(paylink_static_verify(SECRET, tok, NOW_MS, &out, &err) ==
                                              -EBADMSG,
                                      "byte %zu bit %d accepted", byte, bit);
                }
        }
}
END_TEST

START_TEST(test_token_malformed_refused)
{
        struct paylink_token t;
        struct error err;
        char tok[128];
        const char *bad[] = {
                "", "A", KNOWN_TOKEN "A", KNOWN_TOKEN "=",
                "AQEjRWeJq83vAAAAAAAB4kBFVVIAAAGiUvM0AE3Awu8zmobcOkepimA1W/U",  /* std base64 */
                "AQEjRWeJq83vAAAAAAAB4kBFVVIAAAGiUvM0AE3Awu8zmobcOkepimA1W+U",
                "AQEjRWeJq83vAAAAAAAB4kBFVVIAAAGiUvM0AE3Awu8zmobcOkepimA1W U",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(paylink_static_verify(SECRET, bad[i], NOW_MS, &t, &err) == -EBADMSG,
                              "accepted '%s'", bad[i]);
        /* one character short */
        snprintf(tok, sizeof(tok), "%.58s", KNOWN_TOKEN);
        ck_assert_int_eq(paylink_static_verify(SECRET, tok, NOW_MS, &t, &err), -EBADMSG);
        ck_assert_str_eq(err.msg, "paylink token: malformed");
        ck_assert_int_eq(paylink_static_verify(SECRET, NULL, NOW_MS, &t, &err), -EBADMSG);
}
END_TEST

START_TEST(test_token_expired_refused)
{
        struct paylink_token t;
        struct error err;

        ck_assert_int_eq(paylink_static_verify(SECRET, KNOWN_TOKEN, EXP_MS - 1, &t, &err), 0);
        memset(&t, 0x5a, sizeof(t));
        ck_assert_int_eq(paylink_static_verify(SECRET, KNOWN_TOKEN, EXP_MS, &t, &err),
                         -EKEYEXPIRED);
        ck_assert_str_eq(err.msg, "paylink token: expired at 2026-12-08T00:00:00Z");
        ck_assert_int_eq(((unsigned char *)&t)[0], 0x5a);
        ck_assert_int_eq(
                paylink_static_verify(SECRET, KNOWN_TOKEN, EXP_MS + 86400000, &t, &err),
                -EKEYEXPIRED);
}
END_TEST

START_TEST(test_token_wrong_secret_refused)
{
        struct paylink_token t;
        struct error err;

        ck_assert_int_eq(paylink_static_verify("s3cret-paylink-keY", KNOWN_TOKEN, NOW_MS, &t, &err),
                         -EBADMSG);
        ck_assert_str_eq(err.msg, "paylink token: signature does not match");
        ck_assert_int_eq(paylink_static_verify(SECRET "x", KNOWN_TOKEN, NOW_MS, &t, &err),
                         -EBADMSG);
        ck_assert_int_eq(paylink_static_verify("", KNOWN_TOKEN, NOW_MS, &t, &err), -EINVAL);
        ck_assert_int_eq(paylink_static_verify(NULL, KNOWN_TOKEN, NOW_MS, &t, &err), -EINVAL);
}
END_TEST

START_TEST(test_token_bad_input)
{
        char tok[PAYLINK_TOKEN_LEN + 1];

        ck_assert_int_eq(paylink_static_token(SECRET, "r-0123456789ABCDEF", 1, "EUR", 1, tok, 60),
                         -EINVAL);
        ck_assert_int_eq(paylink_static_token(SECRET, "r-0123456789abcde", 1, "EUR", 1, tok, 60),
                         -EINVAL);
        ck_assert_int_eq(paylink_static_token(SECRET, "x-0123456789abcdef", 1, "EUR", 1, tok, 60),
                         -EINVAL);
        ck_assert_int_eq(paylink_static_token(SECRET, NULL, 1, "EUR", 1, tok, 60), -EINVAL);
        ck_assert_int_eq(paylink_static_token(SECRET, RID, 0, "EUR", 1, tok, 60), -EINVAL);
        ck_assert_int_eq(paylink_static_token(SECRET, RID, -5, "EUR", 1, tok, 60), -EINVAL);
        ck_assert_int_eq(paylink_static_token(SECRET, RID, 1, "eur", 1, tok, 60), -EINVAL);
        ck_assert_int_eq(paylink_static_token(SECRET, RID, 1, "EURO", 1, tok, 60), -EINVAL);
        ck_assert_int_eq(paylink_static_token(SECRET, RID, 1, NULL, 1, tok, 60), -EINVAL);
        ck_assert_int_eq(paylink_static_token("", RID, 1, "EUR", 1, tok, 60), -EINVAL);
        ck_assert_int_eq(paylink_static_token(SECRET, RID, 1, "EUR", 1, tok, 59), -ENOBUFS);
        ck_assert_int_eq(paylink_static_token(SECRET, RID, 1, "EUR", 1, tok, 60), 0);
}
END_TEST

START_TEST(test_amount_value)
{
        static const struct {
                int64_t minor;
                const char *currency;
                int rc;
                const char *want;
        } cases[] = {
                { 5, "EUR", 0, "0.05" },
                { 123456789, "EUR", 0, "1234567.89" },
                { 0, "EUR", 0, "0.00" },
                { 100, "EUR", 0, "1.00" },
                { 99, "EUR", 0, "0.99" },
                { 1010, "GBP", 0, "10.10" },
                { 1234, "JPY", 0, "1234" },
                { 7, "ISK", 0, "7" },
                { 1234, "KWD", -ENOTSUP, NULL },  /* 3 decimals: Mollie has none */
                { 1234, "XYZ", -EINVAL, NULL },
                { 1234, "eur", -EINVAL, NULL },
                { -1, "EUR", -EINVAL, NULL },
        };
        char out[32];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                strcpy(out, "unchanged");
                int rc = paylink_amount_value(out, sizeof(out), cases[i].minor, cases[i].currency);
                ck_assert_msg(rc == cases[i].rc, "%lld %s: %d", (long long)cases[i].minor,
                              cases[i].currency, rc);
                if (cases[i].want)
                        ck_assert_str_eq(out, cases[i].want);
        }
        ck_assert_int_eq(paylink_amount_value(out, 4, 5, "EUR"), -ENOBUFS);
        ck_assert_int_eq(paylink_amount_value(out, 5, 5, "EUR"), 0);
}
END_TEST

START_TEST(test_amount_parse)
{
        int64_t v = -1;

        ck_assert_int_eq(paylink_amount_parse("1234567.89", "EUR", &v), 0);
        ck_assert_int_eq(v, 123456789);
        ck_assert_int_eq(paylink_amount_parse("0.05", "EUR", &v), 0);
        ck_assert_int_eq(v, 5);
        ck_assert_int_eq(paylink_amount_parse("10.0", "EUR", &v), 0);
        ck_assert_int_eq(v, 1000);
        ck_assert_int_eq(paylink_amount_parse("10", "EUR", &v), 0);
        ck_assert_int_eq(v, 1000);
        ck_assert_int_eq(paylink_amount_parse("1234", "JPY", &v), 0);
        ck_assert_int_eq(v, 1234);
        v = 42;
        const char *bad_eur[] = { "", ".5", "1.", "-1", "1e3", "1.234", "1,00", " 1.00",
                                  "1.00 ", "1234567890123456" };
        for (size_t i = 0; i < sizeof(bad_eur) / sizeof(bad_eur[0]); i++)
                ck_assert_msg(paylink_amount_parse(bad_eur[i], "EUR", &v) == -EINVAL,
                              "accepted '%s'", bad_eur[i]);
        ck_assert_int_eq(paylink_amount_parse("12.5", "JPY", &v), -EINVAL);
        ck_assert_int_eq(paylink_amount_parse("1.00", "XYZ", &v), -EINVAL);
        ck_assert_int_eq(v, 42);
        /* round trip */
        for (int64_t m = 0; m < 100000; m += 7) {
                char s[32];
                ck_assert_int_eq(paylink_amount_value(s, sizeof(s), m, "EUR"), 0);
                ck_assert_int_eq(paylink_amount_parse(s, "EUR", &v), 0);
                ck_assert_int_eq(v, m);
        }
}
END_TEST

/* Characters (code points) of valid UTF-8. */
static size_t chars_of(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

static char *repeat(const char *prefix, const char *unit, int times, const char *suffix)
{
        struct buf b = BUF_INIT;
        buf_puts(&b, prefix);
        for (int i = 0; i < times; i++)
                buf_puts(&b, unit);
        buf_puts(&b, suffix);
        return buf_steal(&b);
}

START_TEST(test_description)
{
        char out[4 * PAYLINK_DESCRIPTION_MAX + 1];

        paylink_description(out, sizeof(out), "Acme Energie B.V. INV-1, INV-2", RID);
        ck_assert_str_eq(out, "Acme Energie B.V. INV-1, INV-2 " RID);

        /* 300 x "é" (2 bytes) after an "x": cut to 236 characters so that
         * " " + the id (19) makes 255; a byte cut would split an é. */
        char *in = repeat("x", "\xc3\xa9", 300, "");
        char *want = repeat("x", "\xc3\xa9", 235, " " RID);
        paylink_description(out, sizeof(out), in, RID);
        ck_assert_str_eq(out, want);
        ck_assert_int_eq(chars_of(out), PAYLINK_DESCRIPTION_MAX);
        ck_assert(job_utf8_valid(out, strlen(out)));
        free(in);
        free(want);

        /* 3- and 4-byte characters */
        in = repeat("", "\xe2\x82\xac", 300, "");  /* € */
        want = repeat("", "\xe2\x82\xac", 236, " " RID);
        paylink_description(out, sizeof(out), in, RID);
        ck_assert_str_eq(out, want);
        ck_assert_int_eq(chars_of(out), PAYLINK_DESCRIPTION_MAX);
        free(in);
        free(want);
        in = repeat("ab", "\xf0\x9f\x98\x80", 300, "");  /* U+1F600 */
        want = repeat("ab", "\xf0\x9f\x98\x80", 234, " " RID);
        paylink_description(out, sizeof(out), in, RID);
        ck_assert_str_eq(out, want);
        ck_assert(job_utf8_valid(out, strlen(out)));
        free(in);
        free(want);

        /* a cut that ends in a space does not give two spaces */
        in = repeat("", "a", 235, " bbbb");
        want = repeat("", "a", 235, " " RID);
        paylink_description(out, sizeof(out), in, RID);
        ck_assert_str_eq(out, want);
        free(in);
        free(want);

        /* exactly fitting: not cut */
        in = repeat("", "c", 236, "");
        want = repeat("", "c", 236, " " RID);
        paylink_description(out, sizeof(out), in, RID);
        ck_assert_str_eq(out, want);
        free(in);
        free(want);

        /* control characters, C1 controls and invalid bytes */
        paylink_description(out, sizeof(out), "a\nb\tc\xc2\x85" "d\xff" "e\xc3", RID);
        ck_assert_str_eq(out, "a b c d?e? " RID);
        paylink_description(out, sizeof(out), NULL, RID);
        ck_assert_str_eq(out, RID);
        paylink_description(out, sizeof(out), "Acme", NULL);
        ck_assert_str_eq(out, "Acme");
        in = repeat("", "z", 300, "");
        paylink_description(out, sizeof(out), in, NULL);
        ck_assert_int_eq(strlen(out), PAYLINK_DESCRIPTION_MAX);
        free(in);

        /* a small buffer: still cut at a character boundary */
        char small[8];
        paylink_description(small, sizeof(small), "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", NULL);
        ck_assert_str_eq(small, "\xe2\x82\xac\xe2\x82\xac");
}
END_TEST

START_TEST(test_expiry_rounding)
{
        ck_assert_int_eq(paylink_expiry_ms(ms_of("2026-11-23T09:00:00Z"), 14),
                         ms_of("2026-12-08T00:00:00Z"));
        ck_assert_int_eq(paylink_expiry_ms(ms_of("2026-11-23T00:00:00Z"), 14),
                         ms_of("2026-12-07T00:00:00Z"));
        ck_assert_int_eq(paylink_expiry_ms(ms_of("2026-11-23T23:59:59.999Z"), 1),
                         ms_of("2026-11-25T00:00:00Z"));
        ck_assert_int_eq(paylink_expiry_ms(ms_of("2026-11-23T00:00:00.001Z"), 1),
                         ms_of("2026-11-25T00:00:00Z"));
        /* attempts on one day ask for one expiry */
        ck_assert_int_eq(paylink_expiry_ms(ms_of("2026-11-23T00:00:01Z"), 14),
                         paylink_expiry_ms(ms_of("2026-11-23T23:59:59Z"), 14));
}
END_TEST

START_TEST(test_reminder_id_valid)
{
        ck_assert(paylink_reminder_id_valid(RID));
        ck_assert(!paylink_reminder_id_valid("r-0123456789ABCDEF"));
        ck_assert(!paylink_reminder_id_valid("r-0123456789abcdef0"));
        ck_assert(!paylink_reminder_id_valid("r-0123456789abcde"));
        ck_assert(!paylink_reminder_id_valid("j-0123456789abcdef"));
        ck_assert(!paylink_reminder_id_valid("r-0123456789abcdeg"));
        ck_assert(!paylink_reminder_id_valid(""));
        ck_assert(!paylink_reminder_id_valid(NULL));
}
END_TEST

static struct config cfg_for(const char *provider)
{
        struct config c;
        memset(&c, 0, sizeof(c));
        c.paylink.provider = (char *)provider;
        c.paylink.expires_days = 14;
        c.paylink.timeout_ms = 1000;
        return c;
}

START_TEST(test_static_provider)
{
        struct config c = cfg_for("static");
        struct paylink *p = NULL;
        struct error err;
        struct paylink_result res;

        c.paylink.url_template = (char *)"https://pay.acme.example/p/{token}?again={token}";
        c.paylink.secret = (char *)SECRET;
        ck_assert_msg(paylink_new(&p, &c, &err) == 0, "%s", err.msg);
        ck_assert(paylink_enabled(p));
        struct paylink_request req = {
                .reminder_id = RID, .amount_cents = 123456, .currency = "EUR",
                .description = "Acme Energie B.V. INV-1", .now_ms = NOW_MS,
        };
        paylink_create(p, &req, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        ck_assert_str_eq(res.url,
                         "https://pay.acme.example/p/" KNOWN_TOKEN "?again=" KNOWN_TOKEN);
        ck_assert_str_eq(res.id, "");
        ck_assert_str_eq(res.reason, "");
        ck_assert_int_eq(res.expires_ms, EXP_MS);
        ck_assert_int_eq(res.retry_after_ms, 0);

        /* requests that cannot get a link */
        req.reminder_id = "r-XYZ";
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "paylink: reminder id is not r-<16 hex>");
        req.reminder_id = RID;
        req.amount_cents = 0;
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "paylink: amount must be above 0");
        req.amount_cents = 1;
        req.currency = "XYZ";
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "paylink: unknown currency");
        ck_assert_str_eq(res.url, "");
        paylink_free(p);

        /* a template that makes the URL too long */
        char *long_tpl = repeat("https://pay.acme.example/", "x", 460, "/{token}");
        c.paylink.url_template = long_tpl;
        ck_assert_int_eq(paylink_new(&p, &c, &err), 0);
        req.currency = "EUR";
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "paylink.url_template: the URL is longer than 511 bytes");
        paylink_free(p);
        free(long_tpl);
}
END_TEST

START_TEST(test_none_provider)
{
        struct config c = cfg_for("none");
        struct paylink *p = NULL;
        struct error err;
        struct paylink_result res;
        struct paylink_payment pay;

        ck_assert_int_eq(paylink_new(&p, &c, &err), 0);
        ck_assert(!paylink_enabled(p));
        struct paylink_request req = { .reminder_id = RID, .amount_cents = 100,
                                       .currency = "EUR", .now_ms = NOW_MS };
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "paylink: no pay link provider");
        ck_assert_str_eq(res.url, "");
        ck_assert_int_eq(paylink_get_payment(p, "tr_7UhSN1zuXS", &pay, &err), -ENOTSUP);
        paylink_free(p);

        c.paylink.provider = NULL;  /* absent: none */
        ck_assert_int_eq(paylink_new(&p, &c, &err), 0);
        ck_assert(!paylink_enabled(p));
        paylink_free(p);
        ck_assert(!paylink_enabled(NULL));
        paylink_free(NULL);
}
END_TEST

START_TEST(test_new_refuses_incomplete_config)
{
        struct paylink *sentinel = (struct paylink *)&sentinel;
        struct paylink *p = sentinel;
        struct error err;

        struct config c = cfg_for("mollie");
        ck_assert_int_eq(paylink_new(&p, &c, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "paylink.api_key_file: required when paylink.provider is mollie");
        ck_assert_ptr_eq(p, sentinel);
        c = cfg_for("static");
        c.paylink.url_template = (char *)"https://pay.acme.example/p/";
        c.paylink.secret = (char *)SECRET;
        ck_assert_int_eq(paylink_new(&p, &c, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "paylink.url_template: must contain {token} when "
                                  "paylink.provider is static");
        c.paylink.url_template = (char *)"https://pay.acme.example/p/{token}";
        c.paylink.secret = (char *)"";
        ck_assert_int_eq(paylink_new(&p, &c, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "paylink.secret_file: required when paylink.provider is static");
        c = cfg_for("stripe");
        ck_assert_int_eq(paylink_new(&p, &c, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "paylink.provider: unknown provider 'stripe'");
        ck_assert_ptr_eq(p, sentinel);
}
END_TEST

/* Refusals that happen before any request (none is made: the API URL is
 * a port where nothing listens, and a request would have given TEMPFAIL
 * or -EAGAIN instead). tests/integration/test-paylink.c checks the same
 * against the stand-in's record. */
START_TEST(test_mollie_refuses_before_request)
{
        struct config c = cfg_for("mollie");
        struct paylink *p = NULL;
        struct error err;
        struct paylink_result res;
        struct paylink_payment pay;

        c.paylink.api_url = (char *)"http://127.0.0.1:1/v2/";
        c.paylink.api_key = (char *)"test_unitkey0000000000000000000";
        ck_assert_msg(paylink_new(&p, &c, &err) == 0, "%s", err.msg);
        ck_assert(paylink_enabled(p));
        struct paylink_request req = { .reminder_id = RID, .amount_cents = 1234,
                                       .currency = "KWD", .now_ms = NOW_MS };
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "mollie: KWD has 3 decimals; Mollie takes amounts with 0 or 2");
        ck_assert_int_eq(paylink_get_payment(p, "../../v2/payment-links", &pay, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "mollie: payment id is not a Mollie id");
        ck_assert_int_eq(paylink_get_payment(p, "tr_a b", &pay, &err), -EINVAL);
        ck_assert_int_eq(paylink_get_payment(p, "tr_", &pay, &err), -EINVAL);
        ck_assert_int_eq(paylink_get_payment(p, "", &pay, &err), -EINVAL);
        ck_assert_int_eq(paylink_get_payment(p, NULL, &pay, &err), -EINVAL);
        paylink_free(p);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("paylink");
        TCase *tc = tcase_create("token");
        tcase_add_test(tc, test_token_known_answer_and_round_trip);
        tcase_add_test(tc, test_token_tampered_character_refused);
        tcase_add_test(tc, test_token_tampered_bit_refused);
        tcase_add_test(tc, test_token_malformed_refused);
        tcase_add_test(tc, test_token_expired_refused);
        tcase_add_test(tc, test_token_wrong_secret_refused);
        tcase_add_test(tc, test_token_bad_input);
        suite_add_tcase(s, tc);
        tc = tcase_create("format");
        tcase_add_test(tc, test_amount_value);
        tcase_add_test(tc, test_amount_parse);
        tcase_add_test(tc, test_description);
        tcase_add_test(tc, test_expiry_rounding);
        tcase_add_test(tc, test_reminder_id_valid);
        suite_add_tcase(s, tc);
        tc = tcase_create("providers");
        tcase_add_test(tc, test_static_provider);
        tcase_add_test(tc, test_none_provider);
        tcase_add_test(tc, test_new_refuses_incomplete_config);
        tcase_add_test(tc, test_mollie_refuses_before_request);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
