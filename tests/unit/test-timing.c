/* test-timing.c: the send time of e-mail and SMS (timing.c): the best hour
 * from the payment hours, the send window, quiet hours, weekends, a
 * holiday, DST changes in Europe/Amsterdam, and the 24-hour limit. */
#include <check.h>
#include <string.h>

#include "history.h"
#include "job.h"
#include "timing.h"
#include "unit.h"

#define AMS "Europe/Amsterdam"
#define HOUR_MS (3600 * INT64_C(1000))

static int64_t ms(const char *rfc3339)
{
        int64_t t = 0;
        ck_assert_int_eq(job_parse_time(rfc3339, &t), 0);
        return t;
}

/* 08:00-20:00, no quiet hours, weekends on, no holidays, 3 payments. */
static struct timing_rules rules(void)
{
        struct timing_rules r;
        struct error err;
        memset(&r, 0, sizeof(r));
        ck_assert_int_eq(quiet_parse(&r.window, "08:00-20:00", &err), 0);
        ck_assert_int_eq(quiet_parse(&r.quiet, "none", &err), 0);
        r.weekends = true;
        r.min_payments = 3;
        return r;
}

/* A customer who paid n times at hour (local). */
static struct history paid_at(int hour, int n)
{
        struct history h;
        memset(&h, 0, sizeof(h));
        h.hour[hour] = n;
        return h;
}

static void expect(const struct timing_rules *r, const struct history *h, const char *now,
                   const char *want, enum timing_why why)
{
        enum timing_why got = TIMING_NOW;
        int64_t at = timing_send_at(r, h, AMS, ms(now), &got);
        ck_assert_msg(at == ms(want), "now %s: got %lld, want %s (%lld)", now, (long long)at,
                      want, (long long)ms(want));
        ck_assert_msg(got == why, "now %s: why %s, want %s", now, timing_why_name(got),
                      timing_why_name(why));
}

START_TEST(test_best_hour)
{
        struct history h;
        memset(&h, 0, sizeof(h));
        ck_assert_int_eq(timing_best_hour(NULL, 3), -1);
        ck_assert_int_eq(timing_best_hour(&h, 3), -1);
        h.hour[19] = 4;
        h.hour[9] = 2;
        ck_assert_int_eq(timing_best_hour(&h, 3), 19);
        ck_assert_int_eq(timing_best_hour(&h, 6), 19);
        ck_assert_int_eq(timing_best_hour(&h, 7), -1);   /* 6 payments known */
        h.hour[9] = 4;                                   /* a tie: the earlier */
        ck_assert_int_eq(timing_best_hour(&h, 3), 9);
}
END_TEST

START_TEST(test_now_is_fine)
{
        struct timing_rules r = rules();
        /* Tuesday 10:30 CET, no history: inside the window, now */
        expect(&r, NULL, "2026-11-24T09:30:00Z", "2026-11-24T09:30:00Z", TIMING_NOW);
        /* paid twice at 19:00, min_payments 3: no best hour yet */
        struct history h = paid_at(19, 2);
        expect(&r, &h, "2026-11-24T09:30:00Z", "2026-11-24T09:30:00Z", TIMING_NOW);
        /* inside the best hour already: now, not its start */
        h = paid_at(10, 5);
        expect(&r, &h, "2026-11-24T09:30:00Z", "2026-11-24T09:30:00Z", TIMING_NOW);
}
END_TEST

START_TEST(test_best_hour_later_today)
{
        struct timing_rules r = rules();
        struct history h = paid_at(19, 5);
        /* 10:30 CET: 19:00 CET = 18:00 UTC */
        expect(&r, &h, "2026-11-24T09:30:00Z", "2026-11-24T18:00:00Z", TIMING_BEST_HOUR);
        /* 09:00 tomorrow is 22.5 h away: still within a day */
        h = paid_at(9, 3);
        expect(&r, &h, "2026-11-24T09:30:00Z", "2026-11-25T08:00:00Z", TIMING_BEST_HOUR);
}
END_TEST

START_TEST(test_send_window)
{
        struct timing_rules r = rules();
        /* 06:00 CET: the window opens at 08:00 */
        expect(&r, NULL, "2026-11-24T05:00:00Z", "2026-11-24T07:00:00Z", TIMING_WINDOW);
        /* 21:00 CET: tomorrow 08:00 */
        expect(&r, NULL, "2026-11-24T20:00:00Z", "2026-11-25T07:00:00Z", TIMING_WINDOW);
        /* best hour 03:00 is outside the window: never, so the window */
        struct history h = paid_at(3, 9);
        expect(&r, &h, "2026-11-24T05:00:00Z", "2026-11-24T07:00:00Z", TIMING_WINDOW);
        /* best hour 12: after the window opens, the best hour */
        h = paid_at(12, 9);
        expect(&r, &h, "2026-11-24T05:00:00Z", "2026-11-24T11:00:00Z", TIMING_BEST_HOUR);
}
END_TEST

START_TEST(test_quiet_hours)
{
        struct timing_rules r = rules();
        struct error err;
        ck_assert_int_eq(quiet_parse(&r.window, "none", &err), 0);
        ck_assert_int_eq(quiet_parse(&r.quiet, "21:00-08:00", &err), 0);
        /* 22:00 CET: the SMS waits for 08:00 */
        expect(&r, NULL, "2026-11-24T21:00:00Z", "2026-11-25T07:00:00Z", TIMING_WINDOW);
        /* a night owl (best hour 23) is not texted at night */
        struct history h = paid_at(23, 9);
        expect(&r, &h, "2026-11-24T21:00:00Z", "2026-11-25T07:00:00Z", TIMING_WINDOW);
        /* window and quiet hours together: 19:30-20:00 is all that is left */
        ck_assert_int_eq(quiet_parse(&r.window, "08:00-20:00", &err), 0);
        ck_assert_int_eq(quiet_parse(&r.quiet, "07:00-19:30", &err), 0);
        expect(&r, NULL, "2026-11-24T09:30:00Z", "2026-11-24T18:30:00Z", TIMING_WINDOW);
        /* nothing left (a window inside the quiet hours): now, as for a
         * zone ICU does not know, even with a best hour */
        ck_assert_int_eq(quiet_parse(&r.quiet, "07:00-21:00", &err), 0);
        struct history best = paid_at(10, 9);
        expect(&r, &best, "2026-11-24T09:30:00Z", "2026-11-24T09:30:00Z", TIMING_NOW);
}
END_TEST

START_TEST(test_weekend)
{
        struct timing_rules r = rules();
        r.weekends = false;
        /* Saturday 10:00 CET: Monday 08:00 */
        expect(&r, NULL, "2026-11-28T09:00:00Z", "2026-11-30T07:00:00Z", TIMING_WEEKEND);
        /* Friday 21:00 CET: past the window, then the weekend */
        expect(&r, NULL, "2026-11-27T20:00:00Z", "2026-11-30T07:00:00Z", TIMING_WEEKEND);
        /* Saturday with a best hour of 10: Monday 10:00 (within a day of
         * the first allowed minute, Monday 08:00) */
        struct history h = paid_at(10, 4);
        expect(&r, &h, "2026-11-28T09:00:00Z", "2026-11-30T09:00:00Z", TIMING_BEST_HOUR);
        /* weekends on: Saturday is fine */
        r.weekends = true;
        expect(&r, NULL, "2026-11-28T09:00:00Z", "2026-11-28T09:00:00Z", TIMING_NOW);
}
END_TEST

START_TEST(test_holiday)
{
        struct timing_rules r = rules();
        char *days[] = { "2026-12-25", "2026-12-26" };
        r.holidays = days;
        r.n_holidays = 2;
        /* Christmas (Friday) 10:00 CET: both holidays pass, Sunday 08:00 */
        expect(&r, NULL, "2026-12-25T09:00:00Z", "2026-12-27T07:00:00Z", TIMING_HOLIDAY);
        /* the day before is an ordinary day */
        expect(&r, NULL, "2026-12-24T09:00:00Z", "2026-12-24T09:00:00Z", TIMING_NOW);
        /* with weekends off: Monday 28th */
        r.weekends = false;
        expect(&r, NULL, "2026-12-25T09:00:00Z", "2026-12-28T07:00:00Z", TIMING_HOLIDAY);
}
END_TEST

START_TEST(test_dst)
{
        struct timing_rules r = rules();
        struct history h = paid_at(9, 5);
        /* Saturday 28 March 2026 21:00 CET; the clocks go forward in the
         * night: Sunday 09:00 is CEST, 07:00 UTC, 21 h later, not 22 */
        expect(&r, &h, "2026-03-28T20:00:00Z", "2026-03-29T07:00:00Z", TIMING_BEST_HOUR);
        expect(&r, NULL, "2026-03-28T20:00:00Z", "2026-03-29T06:00:00Z", TIMING_WINDOW);
        /* Saturday 24 October 2026 21:00 CEST; back in the night: Sunday
         * 09:00 is CET, 08:00 UTC */
        expect(&r, &h, "2026-10-24T19:00:00Z", "2026-10-25T08:00:00Z", TIMING_BEST_HOUR);
        expect(&r, NULL, "2026-10-24T19:00:00Z", "2026-10-25T07:00:00Z", TIMING_WINDOW);
}
END_TEST

START_TEST(test_never_more_than_a_day)
{
        struct timing_rules r = rules();
        r.weekends = false;
        /* Friday 10:00 CET, best hour 09: Monday 09:00 is 71 h away, so
         * the best hour is given up and the reminder goes now */
        struct history h = paid_at(9, 9);
        expect(&r, &h, "2026-11-27T09:00:00Z", "2026-11-27T09:00:00Z", TIMING_NOW);
        /* every hour of the week, every best hour: at most 24 h after the
         * first allowed minute (here: now or the next 08:00) */
        r.weekends = true;
        int64_t start = ms("2026-11-23T00:00:00Z");
        for (int best = 0; best < 24; best++) {
                h = paid_at(best, 5);
                for (int64_t now = start; now < start + 7 * 24 * HOUR_MS; now += HOUR_MS / 2) {
                        int64_t plain = timing_send_at(&r, NULL, AMS, now, NULL);
                        int64_t at = timing_send_at(&r, &h, AMS, now, NULL);
                        ck_assert(plain >= now);
                        ck_assert(at >= plain);
                        ck_assert(at - plain <= 24 * HOUR_MS);
                }
        }
}
END_TEST

START_TEST(test_unknown_zone)
{
        struct timing_rules r = rules();
        int64_t now = ms("2026-11-24T03:00:00Z");
        ck_assert_int_eq(timing_send_at(&r, NULL, "Mars/Olympus", now, NULL), now);
}
END_TEST

static Suite *timing_suite(void)
{
        Suite *s = suite_create("timing");
        TCase *tc = tcase_create("timing");
        tcase_add_test(tc, test_best_hour);
        tcase_add_test(tc, test_now_is_fine);
        tcase_add_test(tc, test_best_hour_later_today);
        tcase_add_test(tc, test_send_window);
        tcase_add_test(tc, test_quiet_hours);
        tcase_add_test(tc, test_weekend);
        tcase_add_test(tc, test_holiday);
        tcase_add_test(tc, test_dst);
        tcase_add_test(tc, test_never_more_than_a_day);
        tcase_add_test(tc, test_unknown_zone);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(timing_suite());
}
