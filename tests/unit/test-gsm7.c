/* test-gsm7.c: GSM 03.38 detection and segment counts (vectors from the
 * Twilio segment calculator, ../shared/conformance/gsm0338.md 6a). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "gsm7.h"
#include "unit.h"

static char *digits(char *out, int from, int to)
{
        /* Python's ("1234567890" * k)[from:to] */
        int n = 0;
        for (int i = from; i < to; i++)
                out[n++] = "1234567890"[i % 10];
        out[n] = '\0';
        return out;
}

START_TEST(test_twilio_vectors)
{
        char body[512], d[400];
        struct gsm7_count c;

        gsm7_count(digits(d, 0, 160), &c);
        ck_assert(c.gsm7);
        ck_assert_int_eq(c.units, 160);
        ck_assert_int_eq(c.segments, 1);
        gsm7_count(digits(d, 0, 161), &c);
        ck_assert_int_eq(c.segments, 2);
        gsm7_count(digits(d, 0, 307), &c);
        ck_assert_int_eq(c.segments, 3);

        snprintf(body, sizeof(body), "\xF0\x9F\x98\x9C%s", digits(d, 1, 69));   /* 😜 + 68 */
        gsm7_count(body, &c);
        ck_assert(!c.gsm7);
        ck_assert_int_eq(c.units, 70);
        ck_assert_int_eq(c.segments, 1);
        snprintf(body, sizeof(body), "\xF0\x9F\x98\x9C%s", digits(d, 1, 70));
        gsm7_count(body, &c);
        ck_assert_int_eq(c.segments, 2);
        snprintf(body, sizeof(body), "\xF0\x9F\x98\x9C%s", digits(d, 1, 134));
        gsm7_count(body, &c);
        ck_assert_int_eq(c.segments, 3);
}
END_TEST

START_TEST(test_alphabet)
{
        struct gsm7_count c;
        gsm7_count("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà", &c);
        ck_assert(c.gsm7);
        gsm7_count("€{}[]~\\^|", &c);     /* extension: two septets each */
        ck_assert(c.gsm7);
        ck_assert_int_eq(c.units, 18);
        gsm7_count("Zoë Çelik", &c);     /* ë is not in GSM 03.38 */
        ck_assert(!c.gsm7);
        ck_assert_int_eq(c.units, 9);
        gsm7_count("“quoted”", &c);
        ck_assert(!c.gsm7);
        gsm7_count("", &c);
        ck_assert_int_eq(c.segments, 1);
        gsm7_count("\xff\xfe broken", &c);  /* invalid UTF-8: UCS-2, no crash */
        ck_assert(!c.gsm7);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("gsm7");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_twilio_vectors);
        tcase_add_test(tc, test_alphabet);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
