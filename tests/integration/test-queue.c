/* test-queue.c: `dunningctl enqueue` against a private redis-server.
 *
 * Re-enqueueing adds nothing twice, --dry-run adds nothing, --at and
 * not_before in the future go to the scheduled set, bad rows are reported
 * as FILE:LINE: field: reason with exit 2, and --strict then adds nothing. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct harness *h;

static void setup(void)
{
        h = harness_new();
}

static void teardown(void)
{
        harness_free(h);
        h = NULL;
}

static void assert_summary(const struct harness_ctl *r, long enqueued, long scheduled,
                           long duplicates, long rejected)
{
        struct harness_summary s;

        ck_assert_msg(harness_parse_summary(r->out, &s), "no summary line in stdout: %s", r->out);
        ck_assert_msg(s.enqueued == enqueued && s.scheduled == scheduled &&
                      s.duplicates == duplicates && s.rejected == rejected,
                      "summary enqueued %ld, scheduled %ld, duplicates %ld, rejected %ld; expected "
                      "%ld, %ld, %ld, %ld", s.enqueued, s.scheduled, s.duplicates, s.rejected,
                      enqueued, scheduled, duplicates, rejected);
}

static long long scheduled_count(void)
{
        return harness_redis_int(h, "ZCARD " HARNESS_PREFIX ":scheduled");
}

/* Customer ids of the jobs in the stream, comma-joined in stream order. */
static char *stream_customers(void)
{
        struct harness_entry *e;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":jobs", &e);
        size_t cap = 16 * n + 1, len = 0;
        char *ids = calloc(1, cap);

        ck_assert(ids != NULL);
        for (size_t i = 0; i < n; i++) {
                const char *text = harness_entry_get(&e[i], "job");
                json_error_t jerr;
                json_t *job;
                const char *id = NULL;

                ck_assert_msg(text != NULL, "stream entry %s has no job field", e[i].id);
                job = json_loads(text, 0, &jerr);
                ck_assert_msg(job != NULL, "stream entry %s: %s", e[i].id, jerr.text);
                json_unpack(job, "{s:{s:s}}", "customer", "id", &id);
                ck_assert_msg(id != NULL, "stream entry %s has no customer.id", e[i].id);
                len += (size_t)snprintf(ids + len, cap - len, "%s%s", i ? "," : "", id);
                json_decref(job);
        }
        harness_entries_free(e, n);
        return ids;
}

/* Six jobs (customers 0..5); line 4 (customer 3) has a bad e-mail address. */
static char *write_mixed(void)
{
        size_t cap = 8192, len = 0;
        char *text = calloc(1, cap), *path;

        ck_assert(text != NULL);
        for (int i = 0; i < 6; i++) {
                char *job = harness_job_json(i, NULL), *at;

                if (i == 3) {
                        at = strstr(job, "klant3@example.nl");
                        ck_assert(at != NULL);
                        memcpy(at, "klant3 at example", 17);    /* same length */
                }
                len += (size_t)snprintf(text + len, cap - len, "%s\n", job);
                free(job);
        }
        path = harness_write_file(h, "mixed.jsonl", text);
        free(text);
        return path;
}

static size_t count_substr(const char *s, const char *needle)
{
        size_t n = 0;

        while ((s = strstr(s, needle))) {
                n++;
                s += strlen(needle);
        }
        return n;
}

START_TEST(test_reenqueue_adds_nothing_twice)
{
        char *path = harness_write_jobs(h, "jobs.jsonl", 0, 10, NULL), *ids;
        struct harness_ctl r;

        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        assert_summary(&r, 10, 0, 0, 0);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 10);

        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        assert_summary(&r, 0, 0, 10, 0);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 10);

        ids = stream_customers();
        ck_assert_str_eq(ids, "C-0,C-1,C-2,C-3,C-4,C-5,C-6,C-7,C-8,C-9");
        free(ids);
        free(path);
}
END_TEST

START_TEST(test_overlapping_file_adds_only_new_jobs)
{
        char *a = harness_write_jobs(h, "a.jsonl", 0, 10, NULL);
        char *b = harness_write_jobs(h, "b.jsonl", 5, 10, NULL);
        struct harness_ctl r;

        harness_ctl_run(h, &r, "enqueue", a, NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "enqueue", b, NULL);
        ck_assert_int_eq(r.status, 0);
        assert_summary(&r, 5, 0, 5, 0);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 15);
        free(a);
        free(b);
}
END_TEST

START_TEST(test_dry_run_adds_nothing)
{
        char *path = harness_write_jobs(h, "jobs.jsonl", 0, 10, NULL);
        struct harness_ctl r;

        harness_ctl_run(h, &r, "enqueue", path, "--dry-run", NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_redis_int(h, "DBSIZE"), 0);

        /* and it did not remember the job ids either */
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        assert_summary(&r, 10, 0, 0, 0);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 10);
        free(path);
}
END_TEST

START_TEST(test_at_in_future_goes_to_scheduled)
{
        char *path = harness_write_jobs(h, "jobs.jsonl", 0, 10, NULL);
        int64_t at_ms = (harness_now_ms() / 1000 + 3600) * 1000;
        struct harness_ctl r;
        char at[32];

        harness_rfc3339(at_ms, at);
        harness_ctl_run(h, &r, "enqueue", path, "--at", at, NULL);
        ck_assert_int_eq(r.status, 0);
        assert_summary(&r, 0, 10, 0, 0);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 0);
        ck_assert_int_eq(scheduled_count(), 10);
        /* scored by their due time */
        ck_assert_int_eq(harness_redis_int(h, "ZCOUNT " HARNESS_PREFIX ":scheduled %lld %lld",
                                           (long long)at_ms - 1000, (long long)at_ms + 1000), 10);

        /* scheduled jobs are deduplicated as well */
        harness_ctl_run(h, &r, "enqueue", path, "--at", at, NULL);
        ck_assert_int_eq(r.status, 0);
        assert_summary(&r, 0, 0, 10, 0);
        harness_ctl_free(&r);
        ck_assert_int_eq(scheduled_count(), 10);
        free(path);
}
END_TEST

START_TEST(test_not_before_decides_stream_or_scheduled)
{
        char future[32], past[32];
        char *a, *b;
        struct harness_ctl r;
        int64_t now = harness_now_ms();

        harness_rfc3339(now + 3600 * 1000, future);
        harness_rfc3339(now - 3600 * 1000, past);
        a = harness_write_jobs(h, "future.jsonl", 0, 4, future);
        b = harness_write_jobs(h, "past.jsonl", 4, 6, past);
        harness_ctl_run(h, &r, "enqueue", a, NULL);
        ck_assert_int_eq(r.status, 0);
        assert_summary(&r, 0, 4, 0, 0);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "enqueue", b, NULL);
        ck_assert_int_eq(r.status, 0);
        assert_summary(&r, 6, 0, 0, 0);
        harness_ctl_free(&r);
        ck_assert_int_eq(scheduled_count(), 4);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 6);
        free(a);
        free(b);
}
END_TEST

START_TEST(test_strict_with_bad_row_adds_nothing)
{
        char *path = write_mixed();
        struct harness_ctl r;

        harness_ctl_run(h, &r, "enqueue", path, "--strict", NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strstr(r.err, "mixed.jsonl:4: customer.email"),
                      "stderr does not name line 4 and customer.email: %s", r.err);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 0);
        ck_assert_int_eq(scheduled_count(), 0);

        /* --strict did not record the good rows as enqueued */
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 2);
        assert_summary(&r, 5, 0, 0, 1);
        harness_ctl_free(&r);
        free(path);
}
END_TEST

START_TEST(test_bad_row_reported_good_rows_added)
{
        char *path = write_mixed(), *ids;
        struct harness_ctl r;

        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 2);
        assert_summary(&r, 5, 0, 0, 1);
        ck_assert_msg(strstr(r.err, "mixed.jsonl:4: customer.email: "),
                      "stderr does not say \"mixed.jsonl:4: customer.email: <reason>\": %s", r.err);
        ck_assert_msg(count_substr(r.err, "mixed.jsonl:") == 1,
                      "stderr should report exactly one bad row: %s", r.err);
        ck_assert_msg(!strstr(r.err, "klant3 at example"),
                      "stderr repeats the customer's contact data: %s", r.err);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 5);
        ids = stream_customers();
        ck_assert_str_eq(ids, "C-0,C-1,C-2,C-4,C-5");
        free(ids);
        free(path);
}
END_TEST

START_TEST(test_unparsable_line_reported)
{
        char *j0 = harness_job_json(0, NULL), *j2 = harness_job_json(2, NULL), *text, *path;
        struct harness_ctl r;

        ck_assert(asprintf(&text, "%s\n{\"v\":1,\"campaign\":\n%s\n", j0, j2) > 0);
        path = harness_write_file(h, "broken.jsonl", text);
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 2);
        assert_summary(&r, 2, 0, 0, 1);
        ck_assert_msg(strstr(r.err, "broken.jsonl:2: "), "stderr does not name line 2: %s", r.err);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 2);
        free(path);
        free(text);
        free(j0);
        free(j2);
}
END_TEST

static Suite *queue_suite(void)
{
        Suite *s = suite_create("queue");
        TCase *tc = tcase_create("enqueue");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_reenqueue_adds_nothing_twice);
        tcase_add_test(tc, test_overlapping_file_adds_only_new_jobs);
        tcase_add_test(tc, test_dry_run_adds_nothing);
        tcase_add_test(tc, test_at_in_future_goes_to_scheduled);
        tcase_add_test(tc, test_not_before_decides_stream_or_scheduled);
        tcase_add_test(tc, test_strict_with_bad_row_adds_nothing);
        tcase_add_test(tc, test_bad_row_reported_good_rows_added);
        tcase_add_test(tc, test_unparsable_line_reported);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(queue_suite());
}
