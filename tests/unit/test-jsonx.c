/* test-jsonx.c: the tree-less JSON escaper and member reader, against
 * fixed vectors and against jansson, whose bytes and verdicts they stand
 * in for on the SMS hot path. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "curlx.h"
#include "jsonx.h"
#include "unit.h"

/* jsonx_escape(s), or "(EILSEQ)"; into a static buffer. */
static const char *esc(const char *s)
{
        static char out[512];
        struct buf b = BUF_INIT;

        if (jsonx_escape(&b, s) < 0)
                snprintf(out, sizeof(out), "(EILSEQ)");
        else
                snprintf(out, sizeof(out), "%s", buf_str(&b));
        buf_free(&b);
        return out;
}

/* What json_dumps writes for the string s, without its quotes, or
 * "(EILSEQ)" when jansson refuses s. */
static const char *jansson_esc(const char *s)
{
        static char out[512];
        json_t *j = json_string(s);
        char *lit = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

        if (lit)
                snprintf(out, sizeof(out), "%.*s", (int)strlen(lit) - 2, lit + 1);
        else
                snprintf(out, sizeof(out), "(EILSEQ)");
        free(lit);
        json_decref(j);
        return out;
}

START_TEST(test_escape)
{
        ck_assert_str_eq(esc(""), "");
        ck_assert_str_eq(esc("Betaal 12,50 via https://pay.example/p/r-1"),
                         "Betaal 12,50 via https://pay.example/p/r-1");
        ck_assert_str_eq(esc("Zeg \"ja\""), "Zeg \\\"ja\\\"");
        ck_assert_str_eq(esc("C:\\pad\\"), "C:\\\\pad\\\\");
        ck_assert_str_eq(esc("\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
        ck_assert_str_eq(esc("a\x01z\x1f\x1b"), "a\\u0001z\\u001F\\u001B");
        /* DEL and '/' as they are, as jansson writes them */
        ck_assert_str_eq(esc("\x7f/"), "\x7f/");
        /* valid UTF-8 of every length passes through */
        ck_assert_str_eq(esc("Zo\xc3\xab \xe2\x82\xac 12 \xf0\x9f\x99\x82!"),
                         "Zo\xc3\xab \xe2\x82\xac 12 \xf0\x9f\x99\x82!");
        ck_assert_str_eq(esc("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");   /* U+10FFFF */
        ck_assert_str_eq(esc("\"\xc3\xab\"\n"), "\\\"\xc3\xab\\\"\\n");
}
END_TEST

START_TEST(test_escape_invalid_utf8)
{
        static const char *const bad[] = {
                "\x80",                 /* a continuation byte first */
                "ab\xc3",               /* cut at the end */
                "\xc3(",                /* cut before ASCII */
                "\xe2\x82",             /* three bytes cut to two */
                "\xc0\xaf",             /* overlong '/' */
                "\xe0\x80\xaf",         /* overlong, three bytes */
                "\xed\xa0\x80",         /* a surrogate (U+D800) */
                "\xf4\x90\x80\x80",     /* above U+10FFFF */
                "\xf5\x80\x80\x80",
                "\xff",
                "ok \xc3\xab then \xfe",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct buf b = BUF_INIT;
                ck_assert_msg(jsonx_escape(&b, bad[i]) == -EILSEQ, "bad[%zu] taken", i);
                buf_free(&b);
                ck_assert_str_eq(jansson_esc(bad[i]), "(EILSEQ)");
        }
}
END_TEST

/* Random strings of pieces that matter to an escaper: the bytes of both
 * must be the same, and so must the refusals. */
START_TEST(test_escape_as_jansson)
{
        static const char *const pieces[] = {
                "a", "Z", "0", " ", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01",
                "\x1f", "\x7f", "\xc3\xab", "\xe2\x82\xac", "\xf0\x9f\x99\x82", "\xc3",
                "\x80", "\xed\xa0\x80", "\xc0\xaf", "{{x}}", "u00",
        };
        const size_t np = sizeof(pieces) / sizeof(pieces[0]);
        unsigned seed = 12345;
        char s[256];

        for (int it = 0; it < 20000; it++) {
                size_t n = 0;
                s[0] = '\0';
                seed = seed * 1103515245u + 12345u;
                int k = (int)(seed >> 16) % 10;
                for (int i = 0; i < k; i++) {
                        seed = seed * 1103515245u + 12345u;
                        const char *p = pieces[(seed >> 16) % np];
                        memcpy(s + n, p, strlen(p) + 1);
                        n += strlen(p);
                }
                char mine[512];
                snprintf(mine, sizeof(mine), "%s", esc(s));
                ck_assert_str_eq(mine, jansson_esc(s));
        }
}
END_TEST

/* jsonx_member_scalar(text, key) into a static buffer; *rc its result. */
static const char *member(const char *text, const char *key, int *rc)
{
        static char out[128];

        memset(out, 'x', sizeof(out));
        *rc = jsonx_member_scalar(text, strlen(text), key, out, sizeof(out));
        return out;
}

#define ASSERT_MEMBER(text, key, want_rc, want)                                            \
        do {                                                                               \
                int rc_;                                                                   \
                const char *got_ = member(text, key, &rc_);                                \
                ck_assert_msg(rc_ == (want_rc), "%s: rc %d, want %d", text, rc_, (want_rc)); \
                ck_assert_str_eq(got_, want);                                              \
        } while (0)

START_TEST(test_member)
{
        /* MessageBird's documented answer */
        static const char mb[] =
                "{\"id\":\"6fe65f90454aa61536e6a88b88972670\",\"href\":\"https://rest."
                "messagebird.com/messages/6fe65f90454aa61536e6a88b88972670\",\"direction\":"
                "\"mt\",\"type\":\"sms\",\"originator\":\"Acme\",\"body\":\"ok\",\"reference\":"
                "null,\"validity\":null,\"gateway\":239,\"typeDetails\":{},\"datacoding\":"
                "\"plain\",\"mclass\":1,\"scheduledDatetime\":null,\"createdDatetime\":"
                "\"2026-11-22T10:02:59+00:00\",\"recipients\":{\"totalCount\":1,"
                "\"totalSentCount\":1,\"items\":[{\"recipient\":31612345678,\"status\":\"sent\","
                "\"messagePartCount\":1}]}}";

        ASSERT_MEMBER(mb, "id", 0, "6fe65f90454aa61536e6a88b88972670");
        ASSERT_MEMBER(mb, "gateway", 0, "239");
        ASSERT_MEMBER(mb, "sid", -ENOENT, "");
        ASSERT_MEMBER(mb, "totalCount", -ENOENT, "");    /* not at the top */
        ASSERT_MEMBER(mb, "reference", -ENOENT, "");     /* null */
        ASSERT_MEMBER(mb, "recipients", -ENOENT, "");    /* an object */

        /* white space anywhere JSON allows it */
        ASSERT_MEMBER(" \r\n{ \"a\" : [ 1 , {\"id\":\"no\"} ] ,\t\"id\" : \"yes\" } \n", "id", 0,
                      "yes");
        ASSERT_MEMBER("{}", "id", -ENOENT, "");
        /* an integer id, in decimal as jansson would print it */
        ASSERT_MEMBER("{\"sid\":-42}", "sid", 0, "-42");
        ASSERT_MEMBER("{\"id\":-0}", "id", 0, "0");
        ASSERT_MEMBER("{\"id\":9223372036854775807}", "id", 0, "9223372036854775807");
        ASSERT_MEMBER("{\"id\":-9223372036854775808}", "id", 0, "-9223372036854775808");
        /* neither a string nor an integer */
        ASSERT_MEMBER("{\"id\":1.5}", "id", -ENOENT, "");
        ASSERT_MEMBER("{\"id\":1e3}", "id", -ENOENT, "");
        ASSERT_MEMBER("{\"id\":true}", "id", -ENOENT, "");
        ASSERT_MEMBER("{\"id\":[\"x\"]}", "id", -ENOENT, "");
        ASSERT_MEMBER("{\"id\":{\"id\":\"x\"}}", "id", -ENOENT, "");
        /* the last of a key given twice, as in jansson */
        ASSERT_MEMBER("{\"id\":\"a\",\"id\":\"b\"}", "id", 0, "b");
        ASSERT_MEMBER("{\"id\":\"a\",\"id\":null}", "id", -ENOENT, "");
}
END_TEST

START_TEST(test_member_escapes)
{
        ASSERT_MEMBER("{\"id\":\"a\\\"b\\\\c\\/d\"}", "id", 0, "a\"b\\c/d");
        ASSERT_MEMBER("{\"id\":\"\\b\\f\\n\\r\\t\"}", "id", 0, "\b\f\n\r\t");
        ASSERT_MEMBER("{\"id\":\"Zo\\u00eb \\u20AC \\ud83d\\ude42\"}", "id", 0,
                      "Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x99\x82");
        ASSERT_MEMBER("{\"id\":\"Zo\xc3\xab\"}", "id", 0, "Zo\xc3\xab");
        /* the key itself escaped */
        ASSERT_MEMBER("{\"\\u0069d\":\"x\"}", "id", 0, "x");
        /* an escaped quote in another member's string does not end it */
        ASSERT_MEMBER("{\"t\":\"\\\",\\\"id\\\":\\\"fake\",\"id\":\"real\"}", "id", 0, "real");
        ASSERT_MEMBER("{\"t\":\"\\\\\",\"id\":\"after\"}", "id", 0, "after");
}
END_TEST

START_TEST(test_member_broken)
{
        static const char *const bad[] = {
                "",
                "   ",
                "null",
                "[{\"id\":\"x\"}]",                  /* not an object */
                "{\"id\":\"x\"",                     /* cut */
                "{\"id\":\"x",
                "{\"id\":",
                "{\"id\"",
                "{\"id\":\"x\",}",                   /* trailing comma */
                "{\"id\":\"x\"} x",                  /* something after it */
                "{\"id\":\"x\"}{}",
                "{id:\"x\"}",
                "{\"id\":'x'}",
                "{\"id\":\"a\tb\"}",                 /* a raw control character */
                "{\"id\":\"a\\u0000b\"}",            /* NUL, refused by jansson too */
                "{\"id\":\"\\ud800\"}",              /* a lone surrogate */
                "{\"id\":\"\\udc00\\ud800\"}",
                "{\"id\":\"\\ud800\\u0041\"}",
                "{\"id\":\"\\x41\"}",                /* no such escape */
                "{\"id\":\"\\u12\"}",
                "{\"id\":\"\\u12g4\"}",
                "{\"id\":\"\xc3(\"}",                /* bad UTF-8 */
                "{\"id\":\"\xed\xa0\x80\"}",
                "{\"id\":01}",                       /* bad numbers */
                "{\"id\":-}",
                "{\"id\":1.}",
                "{\"id\":.5}",
                "{\"id\":1e}",
                "{\"id\":+1}",
                "{\"id\":99999999999999999999}",     /* beyond 64 bits */
                "{\"id\":\"x\",\"n\":9223372036854775808}",
                "{\"id\":tru}",
                "{\"id\":nulls}",
                "{\"a\":[1,2,],\"id\":\"x\"}",
                "{\"a\":[1 2],\"id\":\"x\"}",
                "{\"a\":{\"b\"},\"id\":\"x\"}",
                "{\"a\":]}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ASSERT_MEMBER(bad[i], "id", -EINVAL, "");
                json_t *j = json_loads(bad[i], 0, NULL);
                ck_assert_msg(!json_is_object(j), "jansson takes bad[%zu] %s", i, bad[i]);
                json_decref(j);
        }

        /* nesting beyond the bound is refused, not followed down */
        char deep[1200];
        size_t n = 0;
        n += (size_t)sprintf(deep + n, "{\"a\":");
        for (int i = 0; i < 300; i++)
                deep[n++] = '[';
        for (int i = 0; i < 300; i++)
                deep[n++] = ']';
        sprintf(deep + n, ",\"id\":\"x\"}");
        ASSERT_MEMBER(deep, "id", -EINVAL, "");
        /* a length that stops before the NUL is the end of the text */
        static char out[16];
        ck_assert_int_eq(jsonx_member_scalar("{\"id\":\"x\"}junk", 10, "id", out, sizeof(out)),
                         0);
        ck_assert_str_eq(out, "x");
}
END_TEST

START_TEST(test_member_cut)
{
        char out[5];

        ck_assert_int_eq(jsonx_member_scalar("{\"id\":\"abcdefgh\"}", 17, "id", out, sizeof(out)),
                         0);
        ck_assert_str_eq(out, "abcd");
        ck_assert_int_eq(jsonx_member_scalar("{\"id\":\"ab\\u00ebcd\"}", 19, "id", out,
                                             sizeof(out)),
                         0);
        ck_assert_str_eq(out, "ab\xc3\xab");
        ck_assert_int_eq(jsonx_member_scalar("{\"id\":1234567}", 14, "id", out, sizeof(out)), 0);
        ck_assert_str_eq(out, "1234");
}
END_TEST

/* The provider id as the SMS client keeps it: from the text, the same as
 * from a jansson tree, printable ASCII only. */
START_TEST(test_provider_id_text)
{
        static const char *const answers[] = {
                "{\"id\":\"6fe65f90454aa61536e6a88b88972670\"}",
                "{\"id\":12345}",
                "{\"id\":\"with space\\tand \\u00eb\"}",
                "{\"id\":\"a\\\"b\"}",
                "{\"id\":null}",
                "{\"other\":\"x\"}",
                "{\"id\":\"x\"",
                "not json",
                "",
                "{\"id\":\"0123456789012345678901234567890123456789012345678901234567890123456789"
                "012345678901234567890123456789012345678901234567890123456789\"}",
        };
        for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
                char mine[64], theirs[64];
                json_t *j = json_loads(answers[i], 0, NULL);
                curlx_provider_id_text(answers[i], strlen(answers[i]), "id", mine,
                                       sizeof(mine));
                curlx_provider_id(j, "id", theirs, sizeof(theirs));
                ck_assert_str_eq(mine, theirs);
                json_decref(j);
        }
        char out[128];
        const char *a = "{\"id\":\"with space\\tand \\u00eb\"}";
        curlx_provider_id_text(a, strlen(a), "id", out, sizeof(out));
        ck_assert_str_eq(out, "with_space_and___");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("jsonx");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_escape_invalid_utf8);
        tcase_add_test(tc, test_escape_as_jansson);
        tcase_add_test(tc, test_member);
        tcase_add_test(tc, test_member_escapes);
        tcase_add_test(tc, test_member_broken);
        tcase_add_test(tc, test_member_cut);
        tcase_add_test(tc, test_provider_id_text);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
