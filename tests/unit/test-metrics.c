/* test-metrics.c: counters, label sets and the Prometheus text format. The
 * integration suite parses a live /metrics with prometheus_client. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"
#include "unit.h"

static struct metrics m;

static void setup(void)
{
        metrics_init(&m);
}

/* The value of the sample line that starts with `series ` in text, or -1. */
static double sample(const char *text, const char *series)
{
        size_t n = strlen(series);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, series, n) == 0 && p[n] == ' ')
                        return strtod(p + n + 1, NULL);
        return -1;
}

static char *format(const struct metrics_gauges *g)
{
        static const struct metrics_gauges none = { .workers = 2 };
        struct buf b = BUF_INIT;
        metrics_format(&m, g ? g : &none, &b);
        return buf_steal(&b);
}

START_TEST(test_counters_by_label)
{
        for (int i = 0; i < 3; i++)
                metrics_sent(&m, JOB_CHANNEL_EMAIL, "reminder-1");
        metrics_sent(&m, JOB_CHANNEL_SMS, "reminder-1");
        metrics_sent(&m, JOB_CHANNEL_LETTER, "final-notice");
        metrics_failed(&m, JOB_CHANNEL_EMAIL, METRICS_FAIL_PERMANENT);
        metrics_failed(&m, JOB_CHANNEL_NONE, METRICS_FAIL_INVALID);
        metrics_skipped(&m, "already-sent");
        metrics_skipped(&m, "something-new");
        metrics_dead(&m, "max-deliveries");
        metrics_dead(&m, "render");
        metrics_dead(&m, "something-else");
        metrics_payment(&m, METRICS_ATTR_DIRECT, JOB_CHANNEL_SMS);
        metrics_payment(&m, METRICS_ATTR_ORGANIC, JOB_CHANNEL_NONE);

        char *t = format(NULL);
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_sent_total{channel=\"email\",step=\"reminder-1\"}"), 3);
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_sent_total{channel=\"sms\",step=\"reminder-1\"}"), 1);
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_sent_total{channel=\"letter\",step=\"final-notice\"}"),
                1);
        /* A step seen on one channel is listed on the others at 0. */
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_sent_total{channel=\"sms\",step=\"final-notice\"}"), 0);
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_failed_total{channel=\"email\",reason=\"permanent\"}"),
                1);
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_failed_total{channel=\"none\",reason=\"invalid\"}"), 1);
        ck_assert_double_eq(sample(t, "dunningd_reminders_skipped_total{reason=\"already-sent\"}"),
                            1);
        ck_assert_double_eq(sample(t, "dunningd_reminders_skipped_total{reason=\"other\"}"), 1);
        ck_assert_double_eq(sample(t, "dunningd_dead_lettered_total{reason=\"max-deliveries\"}"), 1);
        ck_assert_double_eq(sample(t, "dunningd_dead_lettered_total{reason=\"other\"}"), 1);
        ck_assert_double_eq(sample(t, "dunningd_dead_lettered_total{reason=\"render\"}"), 1);
        ck_assert_double_eq(
                sample(t, "dunningd_payments_total{attribution=\"direct\",channel=\"sms\"}"), 1);
        ck_assert_double_eq(
                sample(t, "dunningd_payments_total{attribution=\"organic\",channel=\"none\"}"), 1);
        ck_assert_int_eq(metrics_sent_total(&m), 5);
        ck_assert_int_eq(metrics_skipped_total(&m), 2);
        ck_assert_int_eq(metrics_dead_total(&m), 3);
        ck_assert_int_eq(metrics_failed_total(&m, METRICS_FAIL_PERMANENT), 1);
        /* Every family announces its type once. */
        ck_assert_ptr_nonnull(strstr(t, "# TYPE dunningd_reminders_sent_total counter\n"));
        ck_assert_ptr_nonnull(strstr(t, "# TYPE dunningd_dispatch_duration_seconds histogram\n"));
        ck_assert_ptr_null(strstr(strstr(t, "# TYPE dunningd_reminders_sent_total") + 1,
                                  "# TYPE dunningd_reminders_sent_total"));
        free(t);
}
END_TEST

START_TEST(test_histogram_cumulative)
{
        /* 0.5 ms, 3 ms, exactly 10 ms (le is inclusive), 2 s, 1 min. */
        int64_t us[] = { 500, 3000, 10000, 2000000, 60000000 };
        for (size_t i = 0; i < 5; i++)
                metrics_duration(&m, JOB_CHANNEL_EMAIL, us[i]);
        char *t = format(NULL);
        const char *b = "dunningd_dispatch_duration_seconds_bucket{channel=\"email\",le=";
        char series[160];
#define LE(v) (snprintf(series, sizeof(series), "%s\"%s\"}", b, v), sample(t, series))
        ck_assert_double_eq(LE("0.001"), 1);
        ck_assert_double_eq(LE("0.0025"), 1);
        ck_assert_double_eq(LE("0.005"), 2);
        ck_assert_double_eq(LE("0.01"), 3);
        ck_assert_double_eq(LE("1"), 3);
        ck_assert_double_eq(LE("2.5"), 4);
        ck_assert_double_eq(LE("30"), 4);
        ck_assert_double_eq(LE("+Inf"), 5);
#undef LE
        ck_assert_double_eq(sample(t, "dunningd_dispatch_duration_seconds_count{channel=\"email\"}"),
                            5);
        ck_assert_double_eq_tol(
                sample(t, "dunningd_dispatch_duration_seconds_sum{channel=\"email\"}"), 62.0135,
                1e-6);
        ck_assert_double_eq(sample(t, "dunningd_dispatch_duration_seconds_count{channel=\"sms\"}"),
                            0);
        free(t);
}
END_TEST

START_TEST(test_step_overflow_is_other)
{
        char step[32];
        for (int i = 0; i < METRICS_MAX_STEPS + 5; i++) {
                snprintf(step, sizeof(step), "step-%d", i);
                metrics_sent(&m, JOB_CHANNEL_EMAIL, step);
        }
        /* A step named like the overflow series joins it, never a duplicate. */
        metrics_sent(&m, JOB_CHANNEL_EMAIL, "other");
        char *t = format(NULL);
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_sent_total{channel=\"email\",step=\"step-0\"}"), 1);
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_sent_total{channel=\"email\",step=\"step-31\"}"), 1);
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_sent_total{channel=\"email\",step=\"step-32\"}"), -1);
        ck_assert_double_eq(
                sample(t, "dunningd_reminders_sent_total{channel=\"email\",step=\"other\"}"), 6);
        const char *o = strstr(t, "step=\"other\"");
        ck_assert_ptr_null(strstr(o + 1, "channel=\"email\",step=\"other\""));
        free(t);
}
END_TEST

START_TEST(test_queue_gauges_only_when_redis_answers)
{
        struct metrics_gauges g = { .redis_up = true, .queue_depth = 7, .queue_pending = 3,
                                    .queue_scheduled = 2, .queue_dead_letters = 1, .workers = 4,
                                    .workers_stalled = 1, .busy_ratio = 0.25,
                                    .start_time_ms = 1700000000500 };
        char *t = format(&g);
        ck_assert_double_eq(sample(t, "dunningd_redis_up"), 1);
        ck_assert_double_eq(sample(t, "dunningd_queue_depth"), 7);
        ck_assert_double_eq(sample(t, "dunningd_queue_pending"), 3);
        ck_assert_double_eq(sample(t, "dunningd_queue_scheduled"), 2);
        ck_assert_double_eq(sample(t, "dunningd_queue_dead_letters"), 1);
        ck_assert_double_eq(sample(t, "dunningd_workers"), 4);
        ck_assert_double_eq(sample(t, "dunningd_workers_stalled"), 1);
        ck_assert_double_eq(sample(t, "dunningd_worker_busy_ratio"), 0.25);
        ck_assert_double_eq(sample(t, "dunningd_start_time_seconds"), 1700000000.5);
        ck_assert_ptr_nonnull(strstr(t, "dunningd_build_info{version=\"" DUNNINGD_VERSION "\"} 1\n"));
        free(t);
        g.redis_up = false;
        t = format(&g);
        ck_assert_double_eq(sample(t, "dunningd_redis_up"), 0);
        /* An unknown depth is absent, not a misleading 0. */
        ck_assert_ptr_null(strstr(t, "dunningd_queue_depth"));
        free(t);
}
END_TEST

#define THREADS 4
#define PER_THREAD 100000

static void *hammer(void *arg)
{
        const char *step = arg;
        for (int i = 0; i < PER_THREAD; i++) {
                metrics_sent(&m, (enum job_channel)(i % JOB_CHANNEL__N), step);
                metrics_duration(&m, JOB_CHANNEL_SMS, i % 5000);
                metrics_failed(&m, JOB_CHANNEL_EMAIL, METRICS_FAIL_TEMPORARY);
        }
        return NULL;
}

START_TEST(test_concurrent_adds_are_exact)
{
        /* Four threads naming two new steps at once and counting: no
         * increment is lost and each step is one series. */
        pthread_t th[THREADS];
        static char *steps[2] = { "reminder-1", "reminder-2" };
        for (int i = 0; i < THREADS; i++)
                ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, steps[i % 2]), 0);
        for (int i = 0; i < THREADS; i++)
                pthread_join(th[i], NULL);
        ck_assert_int_eq(metrics_sent_total(&m), THREADS * PER_THREAD);
        ck_assert_int_eq(metrics_failed_total(&m, METRICS_FAIL_TEMPORARY), THREADS * PER_THREAD);
        char *t = format(NULL);
        double total = 0;
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                for (int s = 0; s < 2; s++) {
                        char series[128];
                        snprintf(series, sizeof(series),
                                 "dunningd_reminders_sent_total{channel=\"%s\",step=\"%s\"}",
                                 job_channel_name((enum job_channel)c), steps[s]);
                        double v = sample(t, series);
                        ck_assert_double_gt(v, 0);
                        total += v;
                        ck_assert_ptr_null(strstr(strstr(t, series) + 1, series));
                }
        ck_assert_double_eq(total, THREADS * PER_THREAD);
        ck_assert_double_eq(sample(t, "dunningd_dispatch_duration_seconds_count{channel=\"sms\"}"),
                            THREADS * PER_THREAD);
        free(t);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_counters_by_label);
        tcase_add_test(tc, test_histogram_cumulative);
        tcase_add_test(tc, test_step_overflow_is_other);
        tcase_add_test(tc, test_queue_gauges_only_when_redis_answers);
        tcase_add_test(tc, test_concurrent_adds_are_exact);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}
