/* test-l10n.c: money and dates as ICU 72 (Debian bookworm) formats them,
 * byte for byte, and the formatter cache. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l10n.h"
#include "unit.h"

/* The bytes ICU puts in, spelled out so that the tests show them. */
#define NBSP "\xc2\xa0"         /* U+00A0 NO-BREAK SPACE */
#define NNBSP "\xe2\x80\xaf"    /* U+202F NARROW NO-BREAK SPACE */
#define EURO "\xe2\x82\xac"     /* U+20AC */
#define POUND "\xc2\xa3"        /* U+00A3 */
#define YEN "\xc2\xa5"          /* U+00A5 */
#define FWYEN "\xef\xbf\xa5"    /* U+FFE5 FULLWIDTH YEN SIGN */
#define MINUS "\xe2\x88\x92"    /* U+2212 MINUS SIGN */
#define RSQUO "\xe2\x80\x99"    /* U+2019, de-CH grouping */

static const struct {
        const char *locale, *currency;
        int64_t minor;
        const char *want;
} money[] = {
        { "nl-NL", "EUR", 123456, EURO NBSP "1.234,56" },
        { "nl-NL", "EUR", -123456, EURO NBSP "-1.234,56" },
        { "nl-NL", "EUR", 0, EURO NBSP "0,00" },
        { "nl-NL", "EUR", 5, EURO NBSP "0,05" },
        { "nl-NL", "EUR", -5, EURO NBSP "-0,05" },
        { "nl-NL", "EUR", 100000000000000, EURO NBSP "1.000.000.000.000,00" },  /* 1e12 EUR */
        { "nl-NL", "EUR", INT64_MAX, EURO NBSP "92.233.720.368.547.758,07" },
        { "nl-NL", "EUR", INT64_MIN, EURO NBSP "-92.233.720.368.547.758,08" },
        { "nl_NL", "EUR", 123456, EURO NBSP "1.234,56" },
        { "nl-BE", "EUR", 123456, EURO NBSP "1.234,56" },
        { "nl-BE", "EUR", -123456, EURO NBSP "-1.234,56" },
        { "de-DE", "EUR", 123456, "1.234,56" NBSP EURO },
        { "de-DE", "EUR", -123456, "-1.234,56" NBSP EURO },
        { "de-DE", "EUR", 0, "0,00" NBSP EURO },
        { "de-DE", "EUR", 100000000000000, "1.000.000.000.000,00" NBSP EURO },
        { "en-GB", "GBP", 123456, POUND "1,234.56" },
        { "en-GB", "GBP", -123456, "-" POUND "1,234.56" },
        { "en-GB", "GBP", 0, POUND "0.00" },
        { "en-GB", "EUR", 123456, EURO "1,234.56" },
        { "en-GB", "EUR", 100000000000000, EURO "1,000,000,000,000.00" },
        { "fr-FR", "EUR", 123456, "1" NNBSP "234,56" NBSP EURO },
        { "fr-FR", "EUR", -123456, "-1" NNBSP "234,56" NBSP EURO },
        { "fr-FR", "EUR", 0, "0,00" NBSP EURO },
        { "fr-FR", "EUR", 100000000000000, "1" NNBSP "000" NNBSP "000" NNBSP "000" NNBSP
                                           "000,00" NBSP EURO },
        { "en-US", "USD", -123456, "-$1,234.56" },
        /* Zero minor digits: minor units are whole yen. */
        { "ja-JP", "JPY", 123456, FWYEN "123,456" },
        { "en-GB", "JPY", 123456, "JP" YEN "123,456" },
        { "nl-NL", "JPY", -5, "JP" YEN NBSP "-5" },
        /* Three minor digits. */
        { "en-GB", "KWD", 123456, "KWD" NBSP "123.456" },
        { "en-GB", "KWD", 5, "KWD" NBSP "0.005" },
        { "nl-NL", "BHD", 123456, "BHD" NBSP "123,456" },
        { "nl-NL", "BHD", -1, "BHD" NBSP "-0,001" },
        /* Not every locale's minus is ASCII, nor its grouping a space. */
        { "sv-SE", "SEK", -123456, MINUS "1" NBSP "234,56" NBSP "kr" },
        { "de-CH", "CHF", 123456, "CHF" NBSP "1" RSQUO "234.56" },
};

START_TEST(test_money)
{
        struct l10n_cache *c = l10n_cache_new();
        struct buf b = BUF_INIT;
        struct error e = { "" };

        int r = l10n_money(c, &b, money[_i].locale, money[_i].currency, money[_i].minor, &e);
        ck_assert_msg(r == 0, "%s %s: %s", money[_i].locale, money[_i].currency, e.msg);
        ck_assert_str_eq(buf_str(&b), money[_i].want);

        /* Again from the cache, and once without one: the same bytes. */
        buf_reset(&b);
        ck_assert_int_eq(l10n_money(c, &b, money[_i].locale, money[_i].currency,
                                      money[_i].minor, &e), 0);
        ck_assert_str_eq(buf_str(&b), money[_i].want);
        buf_reset(&b);
        ck_assert_int_eq(l10n_money(NULL, &b, money[_i].locale, money[_i].currency,
                                      money[_i].minor, &e), 0);
        ck_assert_str_eq(buf_str(&b), money[_i].want);
        buf_free(&b);
        l10n_cache_free(c);
}
END_TEST

START_TEST(test_money_errors)
{
        struct l10n_cache *c = l10n_cache_new();
        struct buf b = BUF_INIT;
        struct error e = { "" };

        buf_puts(&b, "Te betalen: ");
        ck_assert_int_eq(l10n_money(c, &b, "xx-YY", "EUR", 100, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "unknown locale 'xx-YY'");
        ck_assert_int_eq(l10n_money(c, &b, "nl-XX", "EUR", 100, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "unknown locale 'nl-XX'");
        ck_assert_int_eq(l10n_money(c, &b, NULL, "EUR", 100, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "unknown locale '(null)'");
        ck_assert_int_eq(l10n_money(c, &b, "nl-NL", "XYZ", 100, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "unknown currency 'XYZ'");
        ck_assert_int_eq(l10n_money(c, &b, "nl-NL", "eur", 100, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "unknown currency 'eur'");
        ck_assert_int_eq(l10n_money(c, &b, "nl-NL", "EURO", 100, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "unknown currency 'EURO'");
        ck_assert_int_eq(l10n_money(c, &b, "nl-NL", NULL, 100, &e), -EINVAL);
        ck_assert_str_eq(e.msg, "unknown currency '(null)'");
        ck_assert_int_eq(l10n_money(NULL, &b, "nl-NL", "XYZ", 100, NULL), -EINVAL);
        /* Failures leave out alone; success appends. */
        ck_assert_str_eq(buf_str(&b), "Te betalen: ");
        ck_assert_int_eq(l10n_money(c, &b, "nl-NL", "EUR", 4000, &e), 0);
        ck_assert_str_eq(buf_str(&b), "Te betalen: " EURO NBSP "40,00");
        buf_free(&b);
        l10n_cache_free(c);
}
END_TEST

START_TEST(test_minor_digits)
{
        ck_assert_int_eq(l10n_minor_digits("EUR"), 2);
        ck_assert_int_eq(l10n_minor_digits("GBP"), 2);
        ck_assert_int_eq(l10n_minor_digits("JPY"), 0);
        ck_assert_int_eq(l10n_minor_digits("KWD"), 3);
        ck_assert_int_eq(l10n_minor_digits("BHD"), 3);
        ck_assert_int_eq(l10n_minor_digits("TND"), 3);
        ck_assert_int_eq(l10n_minor_digits("ISK"), 0);
        ck_assert_int_eq(l10n_minor_digits("XYZ"), -EINVAL);
        ck_assert_int_eq(l10n_minor_digits("eur"), -EINVAL);
        ck_assert_int_eq(l10n_minor_digits("EU"), -EINVAL);
        ck_assert_int_eq(l10n_minor_digits(""), -EINVAL);
        ck_assert_int_eq(l10n_minor_digits(NULL), -EINVAL);
}
END_TEST

static const struct {
        const char *locale;
        enum l10n_date_style style;
        const char *ymd, *want;
} dates[] = {
        { "nl-NL", L10N_DATE_LONG, "2026-11-22", "22 november 2026" },
        { "nl-NL", L10N_DATE_NUMERIC, "2026-11-22", "22-11-2026" },
        { "nl-BE", L10N_DATE_LONG, "2026-11-22", "22 november 2026" },
        { "nl-BE", L10N_DATE_NUMERIC, "2026-11-22", "22/11/2026" },
        { "en-GB", L10N_DATE_LONG, "2026-11-22", "22 November 2026" },
        { "en-GB", L10N_DATE_NUMERIC, "2026-11-22", "22/11/2026" },
        { "de-DE", L10N_DATE_LONG, "2026-11-22", "22. November 2026" },
        { "de-DE", L10N_DATE_NUMERIC, "2026-11-22", "22.11.2026" },
        { "fr-FR", L10N_DATE_LONG, "2026-11-22", "22 novembre 2026" },
        { "fr-FR", L10N_DATE_NUMERIC, "2026-11-22", "22/11/2026" },
        { "en-US", L10N_DATE_LONG, "2026-11-22", "November 22, 2026" },
        { "en-US", L10N_DATE_NUMERIC, "2026-11-22", "11/22/2026" },
        /* Two-digit day and month in the numeric style. */
        { "nl-NL", L10N_DATE_NUMERIC, "2027-01-05", "05-01-2027" },
        { "de-DE", L10N_DATE_LONG, "2027-01-05", "5. Januar 2027" },
        /* The first and last day of a year, and a leap day, stay put in
         * whatever zone the process runs (the test sets TZ far away). */
        { "nl-NL", L10N_DATE_LONG, "2027-01-01", "1 januari 2027" },
        { "nl-NL", L10N_DATE_LONG, "2026-12-31", "31 december 2026" },
        { "en-GB", L10N_DATE_NUMERIC, "2028-02-29", "29/02/2028" },
        { "en-GB", L10N_DATE_NUMERIC, "1970-01-01", "01/01/1970" },
        { "en-GB", L10N_DATE_NUMERIC, "1583-01-01", "01/01/1583" },
        { "en-GB", L10N_DATE_NUMERIC, "9999-12-31", "31/12/9999" },
};

START_TEST(test_date)
{
        struct l10n_cache *c = l10n_cache_new();
        struct buf b = BUF_INIT;
        struct error e = { "" };

        /* Neither the formatter nor the conversion may use the local zone. */
        setenv("TZ", _i % 2 ? "Pacific/Kiritimati" : "Pacific/Pago_Pago", 1);
        int r = l10n_date(c, &b, dates[_i].locale, dates[_i].ymd, dates[_i].style, &e);
        ck_assert_msg(r == 0, "%s %s: %s", dates[_i].locale, dates[_i].ymd, e.msg);
        ck_assert_str_eq(buf_str(&b), dates[_i].want);
        buf_reset(&b);
        ck_assert_int_eq(l10n_date(NULL, &b, dates[_i].locale, dates[_i].ymd, dates[_i].style,
                                     &e), 0);
        ck_assert_str_eq(buf_str(&b), dates[_i].want);
        buf_free(&b);
        l10n_cache_free(c);
}
END_TEST

START_TEST(test_date_errors)
{
        static const char *const bad[] = {
                "2026-02-29", "2026-13-01", "2026-04-31", "2026-11-00", "1582-10-15",
                "2026-1-01", "2026-11-22T00:00", "22-11-2026", "",
        };
        struct l10n_cache *c = l10n_cache_new();
        struct buf b = BUF_INIT;
        struct error e = { "" };
        char want[128];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_int_eq(l10n_date(c, &b, "nl-NL", bad[i], L10N_DATE_LONG, &e),
                                 -EINVAL);
                snprintf(want, sizeof(want), "invalid date '%s' (want YYYY-MM-DD, 1583-9999)",
                         bad[i]);
                ck_assert_str_eq(e.msg, want);
        }
        ck_assert_int_eq(l10n_date(c, &b, "nl-NL", NULL, L10N_DATE_LONG, &e), -EINVAL);
        ck_assert_int_eq(l10n_date(c, &b, "xx-YY", "2026-11-22", L10N_DATE_LONG, &e),
                         -EINVAL);
        ck_assert_str_eq(e.msg, "unknown locale 'xx-YY'");
        ck_assert_int_eq(l10n_date(c, &b, "nl-NL", "2026-11-22", (enum l10n_date_style)7,
                                     &e), -EINVAL);
        ck_assert_int_eq(b.len, 0);
        buf_free(&b);
        l10n_cache_free(c);
}
END_TEST

START_TEST(test_known)
{
        static const char *const yes[] = {
                "nl-NL", "nl_NL", "nl", "nl-BE", "en-GB", "de-DE", "fr-FR", "en-US",
                "en-NL", "zh-CN", "sr-RS", "nl-NL-u-nu-latn",
        };
        static const char *const no[] = {
                "xx-YY", "nl-XX", "nl-DE", "", "root", "und", "nl-NL ", "nl--NL",
                "nl_NL@currency=EUR",
                "nl-NL-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        };

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
                ck_assert_msg(l10n_known(yes[i]), "%s unknown", yes[i]);
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
                ck_assert_msg(!l10n_known(no[i]), "%s known", no[i]);
        ck_assert(!l10n_known(NULL));
}
END_TEST

/* The per-formatter memo of recent dates must never answer for another
 * date, style or locale. */
START_TEST(test_date_memo)
{
        struct l10n_cache *c = l10n_cache_new();
        struct error err;
        static const struct {
                const char *locale, *ymd, *want;
                enum l10n_date_style style;
        } seq[] = {
                { "nl-NL", "2026-11-22", "22 november 2026", L10N_DATE_LONG },
                { "nl-NL", "2026-10-31", "31 oktober 2026", L10N_DATE_LONG },
                { "nl-NL", "2026-10-01", "1 oktober 2026", L10N_DATE_LONG },
                { "nl-NL", "2026-11-22", "22-11-2026", L10N_DATE_NUMERIC },
                { "de-DE", "2026-11-22", "22. November 2026", L10N_DATE_LONG },
                { "nl-NL", "2026-09-30", "30 september 2026", L10N_DATE_LONG },
                { "nl-NL", "2026-08-31", "31 augustus 2026", L10N_DATE_LONG },
                { "nl-NL", "2026-07-01", "1 juli 2026", L10N_DATE_LONG },
                { "nl-NL", "2026-11-22", "22 november 2026", L10N_DATE_LONG },
                { "nl-NL", "2026-10-31", "31 oktober 2026", L10N_DATE_LONG },
        };
        for (int round = 0; round < 3; round++) {
                for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
                        struct buf b = BUF_INIT;
                        ck_assert_int_eq(l10n_date(c, &b, seq[i].locale, seq[i].ymd, seq[i].style,
                                                   &err), 0);
                        ck_assert_str_eq(buf_str(&b), seq[i].want);
                        buf_free(&b);
                }
        }
        l10n_cache_free(c);
}
END_TEST

START_TEST(test_cache_eviction)
{
        /* More (locale, currency) pairs and date styles than the cache
         * holds, round after round: every answer equals an uncached one. */
        static const char *const locs[] = { "nl-NL", "nl-BE", "de-DE", "fr-FR", "en-GB",
                                            "en-US", "ja-JP", "sv-SE" };
        static const char *const curs[] = { "EUR", "GBP", "JPY", "KWD" };
        struct l10n_cache *c = l10n_cache_new();
        struct buf got = BUF_INIT, want = BUF_INIT;
        struct error e = { "" };

        for (int round = 0; round < 3; round++) {
                for (size_t l = 0; l < sizeof(locs) / sizeof(locs[0]); l++) {
                        for (size_t k = 0; k < sizeof(curs) / sizeof(curs[0]); k++) {
                                buf_reset(&got);
                                buf_reset(&want);
                                ck_assert_int_eq(l10n_money(c, &got, locs[l], curs[k],
                                                              987654321, &e), 0);
                                ck_assert_int_eq(l10n_money(NULL, &want, locs[l], curs[k],
                                                              987654321, &e), 0);
                                ck_assert_str_eq(buf_str(&got), buf_str(&want));
                        }
                        for (int st = L10N_DATE_LONG; st <= L10N_DATE_NUMERIC; st++) {
                                buf_reset(&got);
                                buf_reset(&want);
                                ck_assert_int_eq(l10n_date(c, &got, locs[l], "2026-03-09",
                                                             st, &e), 0);
                                ck_assert_int_eq(l10n_date(NULL, &want, locs[l],
                                                             "2026-03-09", st, &e), 0);
                                ck_assert_str_eq(buf_str(&got), buf_str(&want));
                        }
                }
        }
        buf_free(&got);
        buf_free(&want);
        l10n_cache_free(c);
        l10n_cache_free(NULL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("locale");
        TCase *tc = tcase_create("core");
        tcase_add_loop_test(tc, test_money, 0, (int)(sizeof(money) / sizeof(money[0])));
        tcase_add_test(tc, test_money_errors);
        tcase_add_test(tc, test_minor_digits);
        tcase_add_loop_test(tc, test_date, 0, (int)(sizeof(dates) / sizeof(dates[0])));
        tcase_add_test(tc, test_date_errors);
        tcase_add_test(tc, test_known);
        tcase_add_test(tc, test_cache_eviction);
        tcase_add_test(tc, test_date_memo);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
