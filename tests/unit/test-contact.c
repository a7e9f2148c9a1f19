/* test-contact.c: the contact-limit decisions and the send times kept. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact.h"
#include "unit.h"

#define H (3600 * 1000LL)
#define D (24 * H)

/* "a,b,c" (Unix ms) as the history reads them, field by field. */
static struct contact_times times_of(const char *s)
{
        struct contact_times t = { 0 };
        while (*s) {
                char *end;
                contact_times_insert(&t, strtoll(s, &end, 10));
                s = *end ? end + 1 : end;
        }
        return t;
}

START_TEST(test_table)
{
        static const struct {
                struct contact_rules r;
                const char *sends; /* in hours before now (100 days in ms) */
                enum contact_verdict want;
                int64_t until_h; /* hours after now */
        } cases[] = {
                /* 3 in 7 days */
                { { 3, 7, 0 }, "", CONTACT_OK, 0 },
                { { 3, 7, 0 }, "100,50", CONTACT_OK, 0 },
                { { 3, 7, 0 }, "100,50,1", CONTACT_LIMIT, 168 - 100 },
                /* the oldest just left the window */
                { { 3, 7, 0 }, "168,50,1", CONTACT_OK, 0 },
                { { 3, 7, 0 }, "200,160,150,1", CONTACT_LIMIT, 168 - 160 },
                /* 1 in 1 day */
                { { 1, 1, 0 }, "23", CONTACT_LIMIT, 1 },
                { { 1, 1, 0 }, "25", CONTACT_OK, 0 },
                /* the gap alone */
                { { 0, 30, 48 }, "47", CONTACT_GAP, 1 },
                { { 0, 30, 48 }, "48", CONTACT_OK, 0 },
                { { 0, 30, 48 }, "300,100,49", CONTACT_OK, 0 },
                /* both: the later of the two wins, with its reason */
                { { 2, 7, 24 }, "100,2", CONTACT_LIMIT, 68 },
                { { 2, 7, 72 }, "160,2", CONTACT_GAP, 70 },
                /* no rules: anything goes */
                { { 0, 30, 0 }, "1,1,1,1", CONTACT_OK, 0 },
        };
        const int64_t now = 100 * D;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char list[512] = "";
                size_t at = 0;
                const char *p = cases[i].sends;
                while (*p) {
                        long h = strtol(p, (char **)&p, 10);
                        at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%lld",
                                               at ? "," : "", (long long)(now - h * H));
                        if (*p == ',')
                                p++;
                }
                struct contact_times t = times_of(list);
                int64_t until = -1;
                enum contact_verdict v = contact_check(&cases[i].r, &t, now, &until);
                ck_assert_msg(v == cases[i].want, "case %zu: verdict %s", i,
                              contact_verdict_name(v));
                if (v != CONTACT_OK)
                        ck_assert_msg(until == now + cases[i].until_h * H,
                                      "case %zu: until %+lld h", i, (long long)((until - now) / H));
                else
                        ck_assert_int_eq(until, -1);
        }
}
END_TEST

START_TEST(test_until_is_allowed)
{
        /* At the time a deferral names, the same sends let it go. */
        struct contact_rules r = { 3, 10, 36 };
        struct contact_times t = times_of("1000,5000000,86400000");
        int64_t now = 86400000 + 3600000, until;
        ck_assert_int_ne(contact_check(&r, &t, now, &until), CONTACT_OK);
        int64_t again;
        ck_assert_int_eq(contact_check(&r, &t, until, &again), CONTACT_OK);
        ck_assert_int_ne(contact_check(&r, &t, until - 1, &again), CONTACT_OK);
}
END_TEST

START_TEST(test_times_kept)
{
        /* Read in any order, kept sorted, each time once. */
        struct contact_times t = times_of("30,10,20,20,-5,0");
        ck_assert_int_eq(t.n, 3);
        ck_assert_int_eq(t.ms[0], 10);
        ck_assert_int_eq(t.ms[1], 20);
        ck_assert_int_eq(t.ms[2], 30);
        /* Full: the oldest goes, and one older than all is not taken. */
        struct contact_times u = { 0 };
        for (int i = 40; i >= 1; i--)
                contact_times_insert(&u, 1000 + i);
        ck_assert_int_eq(u.n, CONTACT_TIMES_MAX);
        ck_assert_int_eq(u.ms[0], 1000 + 40 - CONTACT_TIMES_MAX + 1);
        ck_assert_int_eq(u.ms[CONTACT_TIMES_MAX - 1], 1040);
        contact_times_insert(&u, 2000);
        ck_assert_int_eq(u.ms[0], 1000 + 40 - CONTACT_TIMES_MAX + 2);
        ck_assert_int_eq(u.ms[CONTACT_TIMES_MAX - 1], 2000);
}
END_TEST

START_TEST(test_stale)
{
        /* Deleted once neither the window nor the gap can count them. */
        int64_t now = 100 * D, out[CONTACT_TIMES_MAX];
        struct contact_times t = { 0 };
        contact_times_insert(&t, now - 40 * D);
        contact_times_insert(&t, now - 30 * D); /* just out of 30 days */
        contact_times_insert(&t, now - 30 * D + 1);
        contact_times_insert(&t, now - H);
        struct contact_rules r = { 3, 30, 0 };
        ck_assert_uint_eq(contact_times_stale(&r, &t, now, out), 2);
        ck_assert_int_eq(out[0], now - 40 * D);
        ck_assert_int_eq(out[1], now - 30 * D);
        /* A gap longer than the window keeps them longer. */
        struct contact_rules g = { 3, 30, 24 * 35 };
        ck_assert_uint_eq(contact_times_stale(&g, &t, now, out), 1);
        /* And every stale one is one contact_check does not count. */
        int64_t until;
        struct contact_times kept = { 0 };
        for (size_t i = 0; i < t.n; i++)
                if (t.ms[i] > now - 30 * D)
                        contact_times_insert(&kept, t.ms[i]);
        struct contact_rules two = { 2, 30, 0 };
        ck_assert_int_eq(contact_check(&two, &t, now, &until),
                         contact_check(&two, &kept, now, &until));
}
END_TEST

START_TEST(test_batch_counts)
{
        /* Two jobs of one customer in one batch: the second sees the first. */
        struct contact_rules r = { 1, 30, 0 };
        struct contact_times t = { 0 };
        int64_t now = 50 * D, until;
        ck_assert_int_eq(contact_check(&r, &t, now, &until), CONTACT_OK);
        contact_times_insert(&t, now);
        ck_assert_int_eq(contact_check(&r, &t, now, &until), CONTACT_LIMIT);
        ck_assert_int_eq(until, now + 30 * D);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("contact");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_table);
        tcase_add_test(tc, test_until_is_allowed);
        tcase_add_test(tc, test_times_kept);
        tcase_add_test(tc, test_stale);
        tcase_add_test(tc, test_batch_counts);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
