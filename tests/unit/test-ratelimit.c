/* test-ratelimit.c: the GCRA maths, the limit syntax and the rate slot a
 * deferred job carries. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "unit.h"

static struct ratelimit_rate parse_ok(const char *s)
{
        struct ratelimit_rate r;
        struct error err = { .msg = "" };
        ck_assert_msg(ratelimit_parse(s, &r, &err) == 0, "%s: %s", s, err.msg);
        return r;
}

START_TEST(test_parse)
{
        struct ratelimit_rate r = parse_ok("50/s");
        ck_assert_int_eq(r.interval_us, 20000);
        ck_assert_int_eq(r.tolerance_us, 0);
        r = parse_ok("600/min");
        ck_assert_int_eq(r.interval_us, 100000);
        r = parse_ok("2000/day");
        ck_assert_int_eq(r.interval_us, 43200000);
        r = parse_ok("3/s");
        /* Rounded up: 3 sends never take less than a second. */
        ck_assert_int_eq(r.interval_us, 333334);
        r = parse_ok("10/h burst 5");
        ck_assert_int_eq(r.interval_us, 360000000);
        ck_assert_int_eq(r.tolerance_us, 4 * 360000000LL);
}
END_TEST

START_TEST(test_parse_errors)
{
        static const char *bad[] = { "",       "50",    "50/",        "0/s",          "-1/s",
                                     "50/sec", "50/s ", "50/s burst", "50/s burst 0", "50/s foo 3",
                                     "abc/s",  "50 /s", "2000000/s",  "5/s burst 2 x" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct ratelimit_rate r;
                struct error err = { .msg = "" };
                ck_assert_msg(ratelimit_parse(bad[i], &r, &err) == -EINVAL, "accepted \"%s\"",
                              bad[i]);
                ck_assert_msg(err.msg[0] != '\0', "no reason for \"%s\"", bad[i]);
        }
}
END_TEST

/* Sends one at a time with the GCRA: count how many go in [0, span). */
static int64_t simulate(const struct ratelimit_rate *r, int64_t span, int64_t batch)
{
        int64_t tat = 0, sent = 0;
        /* Every 100 ms a batch asks for `batch` sends; those whose slot is
         * inside the span count (a deferred one is sent at its slot). */
        for (int64_t now = 0; now < span; now += 100000) {
                int64_t start;
                tat = ratelimit_reserve(r, tat, now, batch, &start);
                for (int64_t i = 0; i < batch; i++)
                        if (ratelimit_slot(r, start, now, i) < span)
                                sent++;
        }
        return sent;
}

START_TEST(test_rate_held)
{
        struct ratelimit_rate r = parse_ok("50/s");
        /* Ten seconds of demand far above the limit: 500 sends, not more. */
        int64_t n = simulate(&r, 10000000, 100);
        ck_assert_int_le(n, 500);
        ck_assert_int_ge(n, 499);
        /* Demand below the limit is not held back. */
        ck_assert_int_eq(simulate(&r, 10000000, 2), 200);
}
END_TEST

START_TEST(test_slots_spaced)
{
        struct ratelimit_rate r = parse_ok("50/s");
        int64_t start;
        int64_t tat = ratelimit_reserve(&r, 0, 1000000, 5, &start);
        ck_assert_int_eq(start, 1000000);
        ck_assert_int_eq(tat, 1000000 + 5 * 20000);
        ck_assert_int_eq(ratelimit_slot(&r, start, 1000000, 0), 1000000); /* at once */
        ck_assert_int_eq(ratelimit_slot(&r, start, 1000000, 4), 1080000);
        /* A second reservation before the first's slots passed queues
         * behind them; the state never goes back in time. */
        int64_t start2;
        int64_t tat2 = ratelimit_reserve(&r, tat, 1010000, 1, &start2);
        ck_assert_int_eq(start2, tat);
        ck_assert_int_eq(tat2, tat + 20000);
        /* Idle long enough, the bucket starts from now. */
        ratelimit_reserve(&r, tat2, 5000000, 1, &start2);
        ck_assert_int_eq(start2, 5000000);
}
END_TEST

START_TEST(test_burst)
{
        struct ratelimit_rate r = parse_ok("10/s burst 5");
        int64_t start;
        ratelimit_reserve(&r, 0, 0, 8, &start);
        /* Five at once, then one per 100 ms. */
        for (int i = 0; i < 5; i++)
                ck_assert_int_eq(ratelimit_slot(&r, start, 0, i), 0);
        ck_assert_int_eq(ratelimit_slot(&r, start, 0, 5), 100000);
        ck_assert_int_eq(ratelimit_slot(&r, start, 0, 7), 300000);
}
END_TEST

static struct job *make_job(const char *extra)
{
        char json[1024];
        snprintf(json, sizeof(json),
                 "{\"v\":1,\"campaign\":\"c\",\"step\":\"reminder-1\",%s"
                 "\"customer\":{\"id\":\"C-1\",\"name\":\"A\",\"locale\":\"nl-NL\","
                 "\"email\":\"a@example.nl\"},"
                 "\"invoices\":[{\"number\":\"I-1\",\"amount_cents\":100,"
                 "\"currency\":\"EUR\","
                 "\"issued\":\"2026-10-01\",\"due\":\"2026-10-31\"}]}",
                 extra);
        struct job *job = NULL;
        struct error err;
        ck_assert_msg(job_parse(&job, json, strlen(json), &err) == 0, "%s", err.msg);
        return job;
}

START_TEST(test_slot_marker)
{
        struct job *job = make_job("");
        ck_assert(!ratelimit_slot_held(job, JOB_CHANNEL_SMS, 1000000));
        char *with = ratelimit_json_with_slot(job, JOB_CHANNEL_SMS, 1000000);
        ck_assert_ptr_nonnull(with);
        struct job *back = NULL;
        struct error err;
        ck_assert_int_eq(job_parse(&back, with, strlen(with), &err), 0);
        /* Its slot, on its channel, near its time. */
        ck_assert(ratelimit_slot_held(back, JOB_CHANNEL_SMS, 1000000));
        ck_assert(ratelimit_slot_held(back, JOB_CHANNEL_SMS, 1000000 + 60000));
        ck_assert(!ratelimit_slot_held(back, JOB_CHANNEL_EMAIL, 1000000));
        ck_assert(!ratelimit_slot_held(back, JOB_CHANNEL_SMS, 1000000 - 5000));    /* early */
        ck_assert(!ratelimit_slot_held(back, JOB_CHANNEL_SMS, 1000000 + 3600000)); /* stale */
        /* The next step or a retry of it is another send: charged again. */
        char *next = job_json_for_step(back, "reminder-2", 1000000, NULL);
        struct job *nj = NULL;
        ck_assert_int_eq(job_parse(&nj, next, strlen(next), &err), 0);
        ck_assert(!ratelimit_slot_held(nj, JOB_CHANNEL_SMS, 1000000));
        char *retry = job_json_with_attempt(back, 1);
        struct job *rj = NULL;
        ck_assert_int_eq(job_parse(&rj, retry, strlen(retry), &err), 0);
        ck_assert(!ratelimit_slot_held(rj, JOB_CHANNEL_SMS, 1000000));
        job_free(rj);
        job_free(nj);
        free(retry);
        free(next);
        job_free(back);
        free(with);
        job_free(job);
        /* A forged or garbled marker is no slot. */
        job = make_job("\"rate_slot\":\"sms|x|reminder-1|0\",");
        ck_assert(!ratelimit_slot_held(job, JOB_CHANNEL_SMS, 1000000));
        job_free(job);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("ratelimit");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_parse);
        tcase_add_test(tc, test_parse_errors);
        tcase_add_test(tc, test_rate_held);
        tcase_add_test(tc, test_slots_spaced);
        tcase_add_test(tc, test_burst);
        tcase_add_test(tc, test_slot_marker);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
