/* test-arrangement.c: installment arithmetic (exact cents, month ends,
 * leap years), periods, and the lapse rules of a payment arrangement. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arrangement.h"
#include "civil.h"
#include "unit.h"

static int64_t day(const char *ymd)
{
        int64_t d;
        ck_assert_int_eq(civil_parse(ymd, &d), 0);
        return d;
}

static const char *ymd(int64_t d)
{
        static char out[4][11];
        static int i;
        i = (i + 1) % 4;
        civil_format(d, out[i]);
        return out[i];
}

static struct arrangement_period period(const char *s)
{
        struct arrangement_period p;
        struct error err;
        ck_assert_msg(arrangement_period_parse(s, &p, &err) == 0, "%s: %s", s, err.msg);
        return p;
}

START_TEST(test_awkward_amounts_add_up)
{
        static const int64_t totals[] = { 100000, 100001, 99999, 7, 12345, 1, 333333333 };
        static const int ns[] = { 1, 2, 3, 6, 7, 12, 24, 120 };
        struct arrangement_installment plan[ARRANGEMENT_MAX_INSTALLMENTS];
        struct arrangement_period every = period("1m");
        struct error err;
        for (size_t t = 0; t < sizeof(totals) / sizeof(totals[0]); t++)
                for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
                        int n = ns[k];
                        int rc = arrangement_plan(totals[t], n, day("2026-01-31"), &every, plan,
                                                  &err);
                        if (totals[t] < n) {
                                ck_assert_int_eq(rc, -EINVAL);
                                ck_assert_ptr_nonnull(strstr(err.msg, "installments"));
                                continue;
                        }
                        ck_assert_int_eq(rc, 0);
                        int64_t sum = 0;
                        for (int i = 0; i < n; i++) {
                                sum += plan[i].amount_cents;
                                ck_assert_int_eq(plan[i].cum_cents, sum);
                                /* equal shares but the last, which takes the rest */
                                if (i < n - 1)
                                        ck_assert_int_eq(plan[i].amount_cents, totals[t] / n);
                                ck_assert_int_ge(plan[i].amount_cents, 1);
                        }
                        ck_assert_int_eq(sum, totals[t]);
                }
}
END_TEST

START_TEST(test_remainder_in_last)
{
        struct arrangement_installment plan[3];
        struct arrangement_period every = period("2w");
        ck_assert_int_eq(arrangement_plan(10000, 3, day("2026-12-01"), &every, plan, NULL), 0);
        ck_assert_int_eq(plan[0].amount_cents, 3333);
        ck_assert_int_eq(plan[1].amount_cents, 3333);
        ck_assert_int_eq(plan[2].amount_cents, 3334);
        ck_assert_str_eq(ymd(plan[1].due_day), "2026-12-15");
        ck_assert_str_eq(ymd(plan[2].due_day), "2026-12-29");
}
END_TEST

START_TEST(test_month_ends)
{
        struct arrangement_installment plan[13];
        struct arrangement_period m1 = period("1m");
        ck_assert_int_eq(arrangement_plan(1300, 13, day("2027-01-31"), &m1, plan, NULL), 0);
        static const char *const want[] = { "2027-01-31", "2027-02-28", "2027-03-31",
                                            "2027-04-30", "2027-05-31", "2027-06-30",
                                            "2027-07-31", "2027-08-31", "2027-09-30",
                                            "2027-10-31", "2027-11-30", "2027-12-31",
                                            "2028-01-31" };
        for (int i = 0; i < 13; i++)
                ck_assert_str_eq(ymd(plan[i].due_day), want[i]);
        /* a leap year: 31 Jan 2028 + 1m is 29 Feb */
        ck_assert_int_eq(arrangement_plan(300, 3, day("2028-01-31"), &m1, plan, NULL), 0);
        ck_assert_str_eq(ymd(plan[1].due_day), "2028-02-29");
        ck_assert_str_eq(ymd(plan[2].due_day), "2028-03-31");
        /* 2100 is not a leap year, 2000 was */
        ck_assert_int_eq(arrangement_plan(200, 2, day("2100-01-29"), &m1, plan, NULL), 0);
        ck_assert_str_eq(ymd(plan[1].due_day), "2100-02-28");
        ck_assert_int_eq(arrangement_plan(200, 2, day("2000-01-30"), &m1, plan, NULL), 0);
        ck_assert_str_eq(ymd(plan[1].due_day), "2000-02-29");
        /* 29 Feb yearly: 28 Feb in common years, 29 again in the next leap year */
        struct arrangement_period y1 = period("1y");
        ck_assert_int_eq(arrangement_plan(500, 5, day("2028-02-29"), &y1, plan, NULL), 0);
        ck_assert_str_eq(ymd(plan[1].due_day), "2029-02-28");
        ck_assert_str_eq(ymd(plan[4].due_day), "2032-02-29");
        /* over a year end */
        struct arrangement_period m2 = period("2m");
        ck_assert_int_eq(arrangement_plan(300, 3, day("2026-11-30"), &m2, plan, NULL), 0);
        ck_assert_str_eq(ymd(plan[1].due_day), "2027-01-30");
        ck_assert_str_eq(ymd(plan[2].due_day), "2027-03-30");
}
END_TEST

START_TEST(test_periods)
{
        struct arrangement_period p;
        struct error err;
        char out[16];
        p = period("14d");
        ck_assert_int_eq(p.unit, ARRANGEMENT_DAYS);
        ck_assert_int_eq(p.count, 14);
        arrangement_period_format(&p, out);
        ck_assert_str_eq(out, "14d");
        p = period("1y");
        ck_assert_int_eq(p.unit, ARRANGEMENT_MONTHS);
        ck_assert_int_eq(p.count, 12);
        static const char *const bad[] = { "", "m", "0m", "-1m", "1", "1x", "1mm", "400d",
                                           " 1m", "1.5m" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_msg(arrangement_period_parse(bad[i], &p, &err) == -EINVAL, "%s",
                              bad[i]);
                ck_assert_ptr_nonnull(strstr(err.msg, "--every"));
        }
        struct arrangement_installment plan[2];
        ck_assert_int_eq(arrangement_plan(100, 0, 0, &p, plan, &err), -EINVAL);
        ck_assert_int_eq(arrangement_plan(100, ARRANGEMENT_MAX_INSTALLMENTS + 1, 0, &p, plan,
                                          &err), -EINVAL);
}
END_TEST

START_TEST(test_lapse_rules)
{
        struct arrangement_installment plan[3];
        struct arrangement_period every = period("1m");
        struct arrangement_check c;
        ck_assert_int_eq(arrangement_plan(30000, 3, day("2026-12-01"), &every, plan, NULL), 0);
        int64_t d1 = day("2026-12-01") * ARRANGEMENT_DAY_MS;

        /* nothing paid, within the due day and the grace: active, and the
         * next look is when the grace of the first one ends */
        arrangement_check(plan, 3, 0, d1 + 3600000, 5, &c);
        ck_assert_int_eq(c.state, ARRANGEMENT_ACTIVE);
        ck_assert_int_eq(c.paid_through, 0);
        ck_assert_int_eq(c.next_check_ms, d1 + 6 * ARRANGEMENT_DAY_MS);
        /* the last moment of the grace is still fine, the next one is not */
        arrangement_check(plan, 3, 0, d1 + 6 * ARRANGEMENT_DAY_MS - 1, 5, &c);
        ck_assert_int_eq(c.state, ARRANGEMENT_ACTIVE);
        arrangement_check(plan, 3, 0, d1 + 6 * ARRANGEMENT_DAY_MS, 5, &c);
        ck_assert_int_eq(c.state, ARRANGEMENT_LAPSED);
        ck_assert_int_eq(c.missed, 1);
        /* a partial payment does not cover an installment */
        arrangement_check(plan, 3, 9999, d1 + 6 * ARRANGEMENT_DAY_MS, 5, &c);
        ck_assert_int_eq(c.state, ARRANGEMENT_LAPSED);
        ck_assert_int_eq(c.paid_through, 0);
        /* paid in order: the first covered, the second checked next */
        arrangement_check(plan, 3, 10000, d1 + 6 * ARRANGEMENT_DAY_MS, 5, &c);
        ck_assert_int_eq(c.state, ARRANGEMENT_ACTIVE);
        ck_assert_int_eq(c.paid_through, 1);
        ck_assert_int_eq(c.next_check_ms, (day("2027-01-01") + 6) * ARRANGEMENT_DAY_MS);
        /* paying ahead covers later installments too */
        arrangement_check(plan, 3, 20000, (day("2027-01-20")) * ARRANGEMENT_DAY_MS, 5, &c);
        ck_assert_int_eq(c.state, ARRANGEMENT_ACTIVE);
        ck_assert_int_eq(c.paid_through, 2);
        /* the second missed, long after */
        arrangement_check(plan, 3, 10000, day("2027-03-01") * ARRANGEMENT_DAY_MS, 5, &c);
        ck_assert_int_eq(c.state, ARRANGEMENT_LAPSED);
        ck_assert_int_eq(c.missed, 2);
        /* everything paid completes it, even late */
        arrangement_check(plan, 3, 30000, day("2028-01-01") * ARRANGEMENT_DAY_MS, 5, &c);
        ck_assert_int_eq(c.state, ARRANGEMENT_COMPLETED);
        ck_assert_int_eq(c.paid_through, 3);
        /* no grace: lapsed the day after */
        arrangement_check(plan, 3, 0, d1 + ARRANGEMENT_DAY_MS, 0, &c);
        ck_assert_int_eq(c.state, ARRANGEMENT_LAPSED);
}
END_TEST

START_TEST(test_remind_times)
{
        struct arrangement_installment in = { .due_day = day("2026-12-10"), .amount_cents = 1 };
        int64_t d = in.due_day * ARRANGEMENT_DAY_MS, h8 = 8 * 3600000;
        /* three days before at 08:00 UTC */
        ck_assert_int_eq(arrangement_remind_ms(&in, 3, d - 30 * ARRANGEMENT_DAY_MS),
                         d - 3 * ARRANGEMENT_DAY_MS + h8);
        /* that time passed, the due day not: now */
        ck_assert_int_eq(arrangement_remind_ms(&in, 3, d + 3600000), d + 3600000);
        /* the due day over: none */
        ck_assert_int_eq(arrangement_remind_ms(&in, 3, d + ARRANGEMENT_DAY_MS), -1);
}
END_TEST

START_TEST(test_state_names)
{
        for (int s = ARRANGEMENT_ACTIVE; s <= ARRANGEMENT_CANCELLED; s++)
                ck_assert_int_eq(arrangement_state_from_name(arrangement_state_name(s)), s);
        ck_assert_int_eq(arrangement_state_from_name("paused"), -1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("arrangement");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_awkward_amounts_add_up);
        tcase_add_test(tc, test_remainder_in_last);
        tcase_add_test(tc, test_month_ends);
        tcase_add_test(tc, test_periods);
        tcase_add_test(tc, test_lapse_rules);
        tcase_add_test(tc, test_remind_times);
        tcase_add_test(tc, test_state_names);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
