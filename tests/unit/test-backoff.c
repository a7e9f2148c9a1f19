/* test-backoff.c: retry timing. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "backoff.h"
#include "unit.h"

START_TEST(test_grows_and_caps)
{
        /* With the largest random value the delay is the nominal one. */
        ck_assert_int_eq(backoff_delay_ms(1, 1000, 60000, UINT32_MAX - (UINT32_MAX % 501)), 500);
        int64_t prev = 0;
        for (int a = 1; a <= 6; a++) {
                int64_t nominal = 1000LL << (a - 1);
                int64_t lo = backoff_delay_ms(a, 1000, 60000, 0);
                ck_assert_int_eq(lo, nominal / 2);
                ck_assert_int_gt(lo, prev);
                prev = lo;
        }
        /* Capped: attempt 20 of a 1 s base never exceeds the cap. */
        for (uint32_t r = 0; r < 1000; r++) {
                int64_t d = backoff_delay_ms(20, 1000, 60000, r * 7919u);
                ck_assert_int_ge(d, 30000);
                ck_assert_int_le(d, 60000);
        }
}
END_TEST

START_TEST(test_jitter_spreads)
{
        /* Many jobs failing together must not all retry at one instant. */
        int64_t min = INT64_MAX, max = 0;
        for (uint32_t r = 0; r < 10000; r++) {
                int64_t d = backoff_delay_ms(3, 1000, 60000, r * 2654435761u);
                ck_assert_int_ge(d, 2000);
                ck_assert_int_le(d, 4000);
                if (d < min)
                        min = d;
                if (d > max)
                        max = d;
        }
        ck_assert_int_lt(min, 2100);
        ck_assert_int_gt(max, 3900);
}
END_TEST

START_TEST(test_edges)
{
        ck_assert_int_eq(backoff_delay_ms(0, 1000, 60000, 0), 500);    /* attempt < 1 = 1 */
        ck_assert_int_eq(backoff_delay_ms(5, 0, 60000, 12345), 0);
        /* No overflow for absurd attempt numbers. */
        int64_t d = backoff_delay_ms(1000000, 604800000, 604800000, UINT32_MAX);
        ck_assert_int_le(d, 604800000);
        ck_assert_int_ge(d, 302400000);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("backoff");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_grows_and_caps);
        tcase_add_test(tc, test_jitter_spreads);
        tcase_add_test(tc, test_edges);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
