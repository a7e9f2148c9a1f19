/* test-dead.c: what picks dead letters for dunningctl dead list, retry and
 * drop: --since, ids, entry times, filters. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "dead.h"
#include "unit.h"

START_TEST(test_since)
{
        int64_t ms = 0;

        ck_assert_int_eq(dead_parse_since("2026-11-22T10:00:00Z", &ms), 0);
        ck_assert_int_eq(ms, 1795341600000LL);
        ck_assert_int_eq(dead_parse_since("2026-11-22T11:00:00+01:00", &ms), 0);
        ck_assert_int_eq(ms, 1795341600000LL);
        /* Unix seconds, as `date +%s` prints them */
        ck_assert_int_eq(dead_parse_since("1795341600", &ms), 0);
        ck_assert_int_eq(ms, 1795341600000LL);
        ck_assert_int_eq(dead_parse_since("0", &ms), 0);
        ck_assert_int_eq(ms, 0);
        /* ms would be read as seconds 1000 times too late: refused */
        ck_assert_int_eq(dead_parse_since("1795341600000", &ms), -EINVAL);
        ck_assert_int_eq(dead_parse_since("", &ms), -EINVAL);
        ck_assert_int_eq(dead_parse_since("-5", &ms), -EINVAL);
        ck_assert_int_eq(dead_parse_since("yesterday", &ms), -EINVAL);
        ck_assert_int_eq(dead_parse_since("2026-11-22", &ms), -EINVAL);
}
END_TEST

START_TEST(test_ids)
{
        ck_assert(dead_id_valid("1795341600000-0"));
        ck_assert(dead_id_valid("1795341600000-17"));
        ck_assert(dead_id_valid("1795341600000"));
        ck_assert(!dead_id_valid(""));
        ck_assert(!dead_id_valid("-"));
        ck_assert(!dead_id_valid("1-"));
        ck_assert(!dead_id_valid("-1"));
        ck_assert(!dead_id_valid("1-2-3"));
        ck_assert(!dead_id_valid("abc"));
        ck_assert(!dead_id_valid("+"));
        ck_assert(!dead_id_valid("123456789012345678901234567890-0"));
}
END_TEST

START_TEST(test_entry_time)
{
        ck_assert_int_eq(dead_entry_time("2026-11-22T10:00:00Z", "1-0"), 1795341600000LL);
        /* no time field, or a bad one: the id says when it was written */
        ck_assert_int_eq(dead_entry_time(NULL, "1795341600123-4"), 1795341600123LL);
        ck_assert_int_eq(dead_entry_time("soon", "1795341600123-4"), 1795341600123LL);
        ck_assert_int_eq(dead_entry_time(NULL, NULL), 0);
}
END_TEST

START_TEST(test_filter)
{
        struct dead_filter none = { 0 };
        struct dead_filter reason = { .reason = "invalid" };
        struct dead_filter campaign = { .campaign = "nov" };
        struct dead_filter since = { .since = true, .since_ms = 1000 };
        struct dead_filter both = { .reason = "invalid", .campaign = "nov" };
        struct dead_filter all = { .all = true };

        ck_assert(dead_filter_match(&none, NULL, NULL, 0));
        ck_assert(dead_filter_match(&reason, "invalid", NULL, 0));
        ck_assert(!dead_filter_match(&reason, "invalid-ish", NULL, 0));
        ck_assert(!dead_filter_match(&reason, "Invalid", NULL, 0));
        ck_assert(!dead_filter_match(&reason, NULL, NULL, 0));
        ck_assert(dead_filter_match(&campaign, "x", "nov", 0));
        ck_assert(!dead_filter_match(&campaign, "x", NULL, 0));
        ck_assert(!dead_filter_match(&campaign, "x", "nov-2", 0));
        ck_assert(dead_filter_match(&since, NULL, NULL, 1000));
        ck_assert(!dead_filter_match(&since, NULL, NULL, 999));
        ck_assert(dead_filter_match(&both, "invalid", "nov", 0));
        ck_assert(!dead_filter_match(&both, "invalid", "dec", 0));
        ck_assert(!dead_filter_match(&both, "render", "nov", 0));
        ck_assert(dead_filter_match(&all, "anything", NULL, 0));

        /* what retry and drop accept instead of an id */
        ck_assert(!dead_filter_given(&none));
        ck_assert(dead_filter_given(&reason));
        ck_assert(dead_filter_given(&campaign));
        ck_assert(dead_filter_given(&since));
        ck_assert(dead_filter_given(&all));
}
END_TEST

int main(void)
{
        Suite *s = suite_create("dead");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_since);
        tcase_add_test(tc, test_ids);
        tcase_add_test(tc, test_entry_time);
        tcase_add_test(tc, test_filter);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
