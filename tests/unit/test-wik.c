/* test-wik.c: statutory collection costs at every bracket boundary, and the
 * 14-day term across month ends, year ends and leap days. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "wik.h"

/* Full brackets, in cents: 15% of 250000 = 37500; 10% of 250000 = 25000;
 * 5% of 500000 = 25000; 1% of 19000000 = 190000. Cumulative: EUR 375.00 at
 * 2,500; 625.00 at 5,000; 875.00 at 10,000; 2,775.00 at 200,000. Above
 * 200,000 every cent of principal adds 0.005 cent. "exact" below is the
 * unrounded sum in cents; the total is rounded half up, then held in
 * 4000..677500. */
static const struct {
        int64_t principal;
        int64_t costs;
} costs[] = {
        /* no claim, no costs */
        { 0, 0 },
        { -1, 0 },
        { INT64_MIN, 0 },
        /* exact 0.15 -> 0 -> minimum */
        { 1, 4000 },
        { 26666, 4000 },        /* exact 3999.9 -> 4000 */
        { 26667, 4000 },        /* exact 4000.05 -> 4000: the decree's EUR 266.67 */
        { 26668, 4000 },        /* exact 4000.2 -> 4000 */
        { 26669, 4000 },        /* exact 4000.35 -> 4000 */
        { 26670, 4001 },        /* exact 4000.5 -> half up: first above the minimum */
        { 100000, 15000 },      /* 1,000.00: 15% */
        { 250000, 37500 },      /* 2,500.00: 15% of 2,500 */
        { 250001, 37500 },      /* 37500 + 0.10 */
        { 250005, 37501 },      /* 37500 + 0.5 -> half up */
        { 300000, 42500 },      /* 3,000.00: 37500 + 10% of 50000 */
        { 500000, 62500 },      /* 5,000.00: 37500 + 25000 */
        { 500001, 62500 },      /* 62500 + 0.05 */
        { 500010, 62501 },      /* 62500 + 0.5 -> half up */
        { 750000, 75000 },      /* 7,500.00: 62500 + 5% of 250000 */
        { 1000000, 87500 },     /* 10,000.00: 62500 + 25000 */
        { 1000001, 87500 },     /* 87500 + 0.01 */
        { 1000049, 87500 },     /* 87500 + 0.49 */
        { 1000050, 87501 },     /* 87500 + 0.5 -> half up */
        { 5000000, 127500 },    /* 50,000.00: 87500 + 1% of 4000000 */
        { 20000000, 277500 },   /* 200,000.00: 87500 + 190000 */
        { 20000001, 277500 },   /* 277500 + 0.005 */
        { 20000099, 277500 },   /* 277500 + 0.495 */
        { 20000100, 277501 },   /* 277500 + 0.5 -> half up */
        { 50000000, 427500 },   /* 500,000.00: 277500 + 0.5% of 30000000 */
        /* The maximum: 277500 + 0.005 * (p - 20000000) reaches 677499.5,
         * which rounds to 677500, at p = 99,999,900 (EUR 999,999.00). */
        { 99999899, 677499 },   /* 999,998.99: exact 677499.495 */
        { 99999900, 677500 },   /* 999,999.00: exact 677499.5 -> half up */
        { 99999901, 677500 },   /* 999,999.01: exact 677499.505 */
        { 99999999, 677500 },   /* 999,999.99: exact 677499.995 */
        { 100000000, 677500 },  /* 1,000,000.00: exact 677500, the maximum unrounded */
        { 100000001, 677500 },  /* exact 677500.005 -> maximum */
        { 100000100, 677500 },  /* exact 677500.5 -> 677501 -> maximum */
        { 200000000, 677500 },  /* 2,000,000.00: exact 1177500 -> maximum */
        { INT64_MAX, 677500 },  /* no overflow */
};

START_TEST(test_costs)
{
        int64_t got = wik_costs_cents(costs[_i].principal);
        ck_assert_msg(got == costs[_i].costs, "principal %lld cents: costs %lld, want %lld",
                      (long long)costs[_i].principal, (long long)got,
                      (long long)costs[_i].costs);
}
END_TEST

START_TEST(test_costs_monotonic)
{
        /* Never less for a larger debt, and within the bounds: every cent
         * around each boundary, coarse steps in between. */
        static const int64_t edges[] = { 26667, 250000, 500000, 1000000, 20000000, 99999900,
                                         100000000 };
        int64_t prev = wik_costs_cents(1), bad = -1;

        for (int64_t p = 1; p <= 101000000 && bad < 0; p++) {
                int64_t c = wik_costs_cents(p);
                if (c < prev || c < WIK_MIN_CENTS || c > WIK_MAX_CENTS)
                        bad = p;
                prev = c;
                bool near = false;
                for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
                        if (p > edges[i] - 2000 && p < edges[i] + 2000)
                                near = true;
                if (!near)
                        p += 996;
        }
        ck_assert_msg(bad < 0, "costs fall or leave the bounds at principal %lld cents",
                      (long long)bad);
}
END_TEST

/* delivered = sent + lag; term = delivered+1 .. delivered+14 */
static const struct {
        const char *sent;
        int lag;
        const char *end;
} terms[] = {
        { "2026-11-22", 0, "2026-12-06" },      /* delivered 11-22, day 1 11-23 */
        { "2026-11-20", 2, "2026-12-06" },      /* delivered 11-22 */
        { "2026-11-01", 2, "2026-11-17" },      /* delivered 11-03, within the month */
        { "2026-01-30", 2, "2026-02-15" },      /* delivered 02-01, over a month end */
        { "2026-04-16", 1, "2026-05-01" },      /* delivered 04-17, 30-day April */
        { "2026-12-20", 2, "2027-01-05" },      /* delivered 12-22, over the year end */
        { "2026-12-30", 2, "2027-01-15" },      /* delivered 2027-01-01 */
        { "2026-12-31", 0, "2027-01-14" },      /* day 1 is 2027-01-01 */
        { "2028-02-13", 2, "2028-02-29" },      /* leap year: ends on the leap day */
        { "2028-02-14", 2, "2028-03-01" },      /* leap year: 02-16 + 14 */
        { "2027-02-13", 2, "2027-03-01" },      /* no leap day in 2027 */
        { "2028-02-27", 2, "2028-03-14" },      /* delivered on 02-29 */
        { "2100-02-13", 2, "2100-03-01" },      /* 2100: not a leap year */
        { "2000-02-13", 2, "2000-02-29" },      /* 2000: a leap year */
        { "2026-11-22", 365, "2027-12-06" },    /* the largest lag */
        { "9999-12-17", 0, "9999-12-31" },      /* the last representable end */
};

START_TEST(test_term_end)
{
        char out[11] = "garbage";
        int r = wik_term_end(terms[_i].sent, terms[_i].lag, out);
        ck_assert_msg(r == 0 && strcmp(out, terms[_i].end) == 0, "%s + %d: %d \"%s\", want \"%s\"",
                      terms[_i].sent, terms[_i].lag, r, out, terms[_i].end);
}
END_TEST

START_TEST(test_term_invalid)
{
        static const char *const bad[] = {
                "2026-02-29",   /* not a leap year */
                "2100-02-29",   /* not a leap year */
                "2026-13-01",
                "2026-00-10",
                "2026-04-31",
                "2026-11-00",
                "0000-01-01",
                "2026-1-01",
                "2026-11-2",
                "2026/11/22",
                "2026-11-22x",
                " 2026-11-22",
                "+026-11-22",
                "20261122",
                "",
        };
        char out[11];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memcpy(out, "garbage", 8);
                ck_assert_msg(wik_term_end(bad[i], 2, out) == -EINVAL, "accepted \"%s\"", bad[i]);
                ck_assert_str_eq(out, "");
        }
        ck_assert_int_eq(wik_term_end(NULL, 2, out), -EINVAL);
        ck_assert_int_eq(wik_term_end("2026-11-22", -1, out), -EINVAL);
        ck_assert_int_eq(wik_term_end("2026-11-22", 366, out), -EINVAL);
        ck_assert_int_eq(wik_term_end("9999-12-18", 0, out), -ERANGE);
        ck_assert_str_eq(out, "");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("wik");
        TCase *tc = tcase_create("core");
        tcase_add_loop_test(tc, test_costs, 0, (int)(sizeof(costs) / sizeof(costs[0])));
        tcase_add_test(tc, test_costs_monotonic);
        tcase_add_loop_test(tc, test_term_end, 0, (int)(sizeof(terms) / sizeof(terms[0])));
        tcase_add_test(tc, test_term_invalid);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
