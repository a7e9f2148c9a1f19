/* test-quiet.c: quiet hours in the customer's zone, DST included. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quiet.h"
#include "unit.h"

/* Unix ms of a UTC wall-clock time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
        struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                         .tm_min = mi };
        return (int64_t)timegm(&tm) * 1000;
}

static struct quiet night(void)
{
        struct quiet q;
        struct error err;
        ck_assert_int_eq(quiet_parse(&q, "21:00-08:00", &err), 0);
        return q;
}

START_TEST(test_window_wraps_midnight)
{
        struct quiet q = night();
        const char *ams = "Europe/Amsterdam";   /* UTC+1 in November */
        /* 22:00 local: until 08:00 local tomorrow = 07:00 UTC. */
        ck_assert_int_eq(quiet_until(&q, ams, utc(2026, 11, 22, 21, 0)), utc(2026, 11, 23, 7, 0));
        /* 03:00 local: until 08:00 the same day. */
        ck_assert_int_eq(quiet_until(&q, ams, utc(2026, 11, 23, 2, 0)), utc(2026, 11, 23, 7, 0));
        /* The start is inside, the end is not. */
        ck_assert_int_eq(quiet_until(&q, ams, utc(2026, 11, 22, 20, 0)), utc(2026, 11, 23, 7, 0));
        ck_assert_int_eq(quiet_until(&q, ams, utc(2026, 11, 23, 7, 0)), 0);
        ck_assert_int_eq(quiet_until(&q, ams, utc(2026, 11, 23, 6, 59)), utc(2026, 11, 23, 7, 0));
        /* Midday and 20:59 local: send now. */
        ck_assert_int_eq(quiet_until(&q, ams, utc(2026, 11, 23, 11, 0)), 0);
        ck_assert_int_eq(quiet_until(&q, ams, utc(2026, 11, 22, 19, 59)), 0);
}
END_TEST

START_TEST(test_zone_decides)
{
        struct quiet q = night();
        /* 21:30 UTC is 16:30 in New York: no quiet hours there. */
        ck_assert_int_eq(quiet_until(&q, "America/New_York", utc(2026, 11, 22, 21, 30)), 0);
        /* 03:00 UTC is 22:00 in New York: until 08:00 EST = 13:00 UTC. */
        ck_assert_int_eq(quiet_until(&q, "America/New_York", utc(2026, 11, 23, 3, 0)),
                         utc(2026, 11, 23, 13, 0));
        ck_assert_int_eq(quiet_until(&q, "Mars/Olympus_Mons", utc(2026, 11, 23, 3, 0)), -1);
        ck_assert_int_eq(quiet_until(&q, NULL, utc(2026, 11, 23, 3, 0)), -1);
}
END_TEST

START_TEST(test_dst_night)
{
        struct quiet q = night();
        /* Clocks go forward in Amsterdam at 02:00 on 2026-03-29: 08:00
         * local is then 06:00 UTC, not the 07:00 that nine hours after
         * 23:00 CET would give. */
        ck_assert_int_eq(quiet_until(&q, "Europe/Amsterdam", utc(2026, 3, 28, 22, 0)),
                         utc(2026, 3, 29, 6, 0));
        /* And back on 2026-10-25: 08:00 local is 07:00 UTC. */
        ck_assert_int_eq(quiet_until(&q, "Europe/Amsterdam", utc(2026, 10, 24, 21, 0)),
                         utc(2026, 10, 25, 7, 0));
}
END_TEST

START_TEST(test_parse)
{
        struct quiet q;
        struct error err;
        ck_assert_int_eq(quiet_parse(&q, "12:00-13:30", &err), 0);
        ck_assert(!q.none);
        /* A window that does not wrap. */
        ck_assert_int_eq(quiet_until(&q, "UTC", utc(2026, 11, 23, 12, 15)), utc(2026, 11, 23, 13, 30));
        ck_assert_int_eq(quiet_until(&q, "UTC", utc(2026, 11, 23, 13, 30)), 0);
        ck_assert_int_eq(quiet_until(&q, "UTC", utc(2026, 11, 23, 11, 59)), 0);
        ck_assert_int_eq(quiet_parse(&q, "none", &err), 0);
        ck_assert(q.none);
        ck_assert_int_eq(quiet_until(&q, "UTC", utc(2026, 11, 23, 3, 0)), 0);
        ck_assert_int_lt(quiet_parse(&q, "25:00-08:00", &err), 0);
        ck_assert_ptr_nonnull(strstr(err.msg, "25:00-08:00"));
        ck_assert_int_lt(quiet_parse(&q, "21:00-08:00x", &err), 0);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("quiet");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_window_wraps_midnight);
        tcase_add_test(tc, test_zone_decides);
        tcase_add_test(tc, test_dst_night);
        tcase_add_test(tc, test_parse);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}
