/* test-limits.c: provider rate limits that hold across instances, and
 * contact limits per customer, against a real Redis and real daemons. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "harness.h"
#include "queue.h"
#include "dispatch.h"
#include "ratelimit.h"
#include "sendlimits.h"

#define RATE 50    /* e-mails per second, limits.rate.email */
#define N_RATE 400 /* e-mails sent under it: 8 s */

/* Writes the jobs of customers 3, 6, 9, ... (every one prefers e-mail). */
static char *write_email_jobs(struct harness *h, int n)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/email.jsonl", h->dir);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        for (int k = 1; k <= n; k++) {
                char *job = harness_job_json(3 * k, NULL);
                fprintf(f, "%s\n", job);
                free(job);
        }
        ck_assert_int_eq(fclose(f), 0);
        return strdup(path);
}

/* The ms part of a stream entry id. */
static long long id_ms(const char *id)
{
        return strtoll(id, NULL, 10);
}

static double metric(const char *body, const char *sample)
{
        const char *p = body ? strstr(body, sample) : NULL;
        return p ? strtod(p + strlen(sample), NULL) : -1;
}

START_TEST(test_two_instances_share_the_rate)
{
        struct harness *h = harness_new();
        struct harness_config c;
        harness_config_defaults(&c);
        c.workers = 2;
        c.extra_yaml = "limits: { rate: { email: 50/s } }";
        harness_config_write(h, &c);
        char *path = write_email_jobs(h, N_RATE);
        struct harness_ctl r;
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);

        struct harness_daemon *a = harness_daemon_start(h);
        struct harness_daemon *b = harness_daemon_start(h);
        size_t sent = harness_wait_sent(h, N_RATE, 60000);
        ck_assert_uint_eq(sent, N_RATE);

        /* The rate the two measured together, from the sent events. */
        struct harness_entry *ev;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":events", &ev);
        long long first = -1, last = -1;
        size_t n_sent = 0, failed = 0, dead = 0, rate_deferred = 0;
        for (size_t i = 0; i < n; i++) {
                const char *type = harness_entry_get(&ev[i], "type");
                if (strcmp(type, "sent") == 0) {
                        if (first < 0)
                                first = id_ms(ev[i].id);
                        last = id_ms(ev[i].id);
                        n_sent++;
                } else if (strcmp(type, "failed") == 0) {
                        failed++;
                } else if (strcmp(type, "dead") == 0) {
                        dead++;
                } else if (strcmp(type, "deferred") == 0) {
                        const char *why = harness_entry_get(&ev[i], "reason");
                        rate_deferred += why && strcmp(why, "rate-limited") == 0;
                }
        }
        harness_entries_free(ev, n);
        double rate = (double)(n_sent - 1) / ((double)(last - first) / 1000.0);
        fprintf(stderr,
                "limits: %zu sent in %.3f s by two instances: %.2f/s (limit %d/s), "
                "%zu deferred for the rate\n",
                n_sent, (double)(last - first) / 1000.0, rate, RATE, rate_deferred);
        ck_assert_uint_eq(n_sent, N_RATE);
        ck_assert_msg(rate <= RATE * 1.10 && rate >= RATE * 0.90, "measured %.2f/s", rate);
        ck_assert_uint_eq(failed, 0);
        ck_assert_uint_eq(dead, 0);
        /* Each was held back at most once: its slot came with it. */
        ck_assert_uint_gt(rate_deferred, N_RATE / 2);
        ck_assert_uint_le(rate_deferred, N_RATE);
        ck_assert_uint_eq(harness_outbox_count(h, "email"), N_RATE);
        /* Both instances took a share, and both counted what they held. */
        int status = 0;
        char *ma = harness_http(a, "GET", "/metrics", &status);
        char *mb = harness_http(b, "GET", "/metrics", &status);
        double ta = metric(ma, "dunningd_throttled_total{channel=\"email\"} ");
        double tb = metric(mb, "dunningd_throttled_total{channel=\"email\"} ");
        ck_assert_msg(ta >= 0 && tb >= 0, "no throttled counter");
        ck_assert_uint_eq((size_t)(ta + tb), rate_deferred);
        ck_assert(metric(ma, "dunningd_throttled_seconds_total{channel=\"email\"} ") > 0);
        ck_assert(
                metric(ma, "dunningd_reminders_deferred_total{reason=\"rate-limited\"} ") +
                        metric(mb, "dunningd_reminders_deferred_total{reason=\"rate-limited\"} ") ==
                (double)rate_deferred);
        free(ma);
        free(mb);
        harness_daemon_stop(a);
        harness_daemon_stop(b);
        free(path);
        harness_free(h);
}
END_TEST

/* Customer 3's job with invoice INV-3<suffix> instead of INV-3. */
static char *other_invoice(const char *suffix)
{
        char *job = harness_job_json(3, NULL), *out;
        const char *at = strstr(job, "\"INV-3\"");
        ck_assert_ptr_nonnull(at);
        ck_assert(asprintf(&out, "%.*s\"INV-3%s\"%s", (int)(at - job), job, suffix,
                           at + strlen("\"INV-3\"")) >= 0);
        free(job);
        return out;
}

static size_t deferred_for(struct harness *h, const char *reason, long long *until)
{
        struct harness_entry *ev;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":events", &ev), found = 0;
        for (size_t i = 0; i < n; i++) {
                const char *type = harness_entry_get(&ev[i], "type");
                const char *why = harness_entry_get(&ev[i], "reason");
                if (strcmp(type, "deferred") == 0 && why && strcmp(why, reason) == 0) {
                        found++;
                        *until = strtoll(harness_entry_get(&ev[i], "until_ms"), NULL, 10);
                        ck_assert_str_eq(harness_entry_get(&ev[i], "customer"), "C-3");
                }
        }
        harness_entries_free(ev, n);
        return found;
}

static int sent_at_fields(struct harness *h)
{
        redisReply *r = redisCommand(h->redis, "HKEYS %s", HARNESS_PREFIX ":customer:C-3");
        ck_assert(r && r->type == REDIS_REPLY_ARRAY);
        int n = 0;
        for (size_t i = 0; i < r->elements; i++)
                n += strncmp(r->element[i]->str, "sent_at:", 8) == 0;
        freeReplyObject(r);
        return n;
}

static bool deferred_seen(void *arg)
{
        long long until;
        return deferred_for(arg, "contact-limit", &until) > 0;
}

START_TEST(test_contact_limit_defers)
{
        struct harness *h = harness_new();
        struct harness_config c;
        harness_config_defaults(&c);
        /* One worker: two workers may take one customer's two jobs in
         * batches at the same instant, and both read the hash before
         * either wrote it (the limit is per batch read; see README). */
        c.workers = 1;
        c.extra_yaml = "limits: { contact: { max: 2, days: 30, gap_hours: 0 } }";
        harness_config_write(h, &c);
        struct harness_daemon *d = harness_daemon_start(h);

        /* Two reminders in one batch and one in a later batch: the limit
         * is read from the customer's hash, not only the batch. */
        char *j1 = harness_job_json(3, NULL), *j2 = other_invoice("b"), *j3 = other_invoice("c");
        char *text;
        ck_assert(asprintf(&text, "%s\n%s\n", j1, j2) >= 0);
        char *path = harness_write_file(h, "two.jsonl", text);
        /* A send of 1970: outside every window, not counted. */
        harness_redis_cmd(h, "HSET %s sent_at:1000 1", HARNESS_PREFIX ":customer:C-3");
        struct harness_ctl r;
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);
        ck_assert_uint_eq(harness_wait_sent(h, 2, 20000), 2);
        /* A field per send; the old one no rule counts any more went
         * with the sends. */
        ck_assert_int_eq(sent_at_fields(h), 2);
        ck_assert_int_eq(
                harness_redis_int(h, "HEXISTS %s sent_at:1000", HARNESS_PREFIX ":customer:C-3"), 0);

        int64_t before = harness_now_ms();
        free(path);
        path = harness_write_file(h, "third.jsonl", j3);
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);
        ck_assert(harness_wait_until(deferred_seen, h, 20000));
        long long until = 0;
        ck_assert_uint_eq(deferred_for(h, "contact-limit", &until), 1);
        /* Free again when the first of the two leaves the 30 days. */
        ck_assert_int_ge(until, before - 20000 + 30LL * 86400000);
        ck_assert_int_le(until, harness_now_ms() + 30LL * 86400000);
        ck_assert_uint_eq(harness_count_events(h, "sent"), 2);
        ck_assert_int_eq(sent_at_fields(h), 2); /* deferred: nothing written */
        ck_assert_int_eq(harness_redis_int(h, "ZCARD %s", HARNESS_PREFIX ":scheduled"), 1);
        char *score = harness_redis_str(h, "ZSCORE %s %s", HARNESS_PREFIX ":scheduled", j3);
        ck_assert_ptr_nonnull(score);
        ck_assert_int_eq(strtoll(score, NULL, 10), until);
        free(score);
        ck_assert(harness_daemon_log_lines(d, "msg=deferred", "reason=contact-limit", NULL) == 1);
        harness_daemon_stop(d);
        free(text);
        free(path);
        free(j1);
        free(j2);
        free(j3);
        harness_free(h);
}
END_TEST

/* The script's maths agree with ratelimit_slot, and a Redis that lost
 * the script (SCRIPT FLUSH) gets it again through EVAL. */
START_TEST(test_script_and_noscript)
{
        struct harness *h = harness_new();
        struct harness_config c;
        harness_config_defaults(&c);
        c.extra_yaml = "limits: { rate: { sms: 10/s, email: 1/s } }";
        harness_config_write(h, &c);
        struct config *cfg;
        struct queue *q;
        struct error err;
        harness_open_queue(h, &cfg, &q);

        size_t want[JOB_CHANNEL__N] = { 0 };
        int64_t a[3], b[1], *slots[JOB_CHANNEL__N] = { NULL };
        want[JOB_CHANNEL_SMS] = 3;
        slots[JOB_CHANNEL_SMS] = a;
        int64_t now = 0;
        ck_assert_msg(ratelimit_take(q, cfg, want, slots, &now, &err) == 0, "%s", err.msg);
        ck_assert_int_le(a[0], now);        /* the first at once */
        ck_assert_int_eq(a[1] - a[0], 100); /* then one per 100 ms */
        ck_assert_int_eq(a[2] - a[1], 100);
        char *tat = harness_redis_str(h, "GET %s", HARNESS_PREFIX ":rate:sms:outbox");
        ck_assert_ptr_nonnull(tat);
        ck_assert_int_eq(strtoll(tat, NULL, 10) / 1000, a[0] + 300);
        free(tat);

        harness_redis_cmd(h, "SCRIPT FLUSH");
        want[JOB_CHANNEL_SMS] = 1;
        slots[JOB_CHANNEL_SMS] = b;
        ck_assert_msg(ratelimit_take(q, cfg, want, slots, &now, &err) == 0, "%s", err.msg);
        /* Queued behind the three, not at once. */
        ck_assert_int_ge(b[0], a[0] + 299);
        ck_assert_int_le(b[0], a[0] + 301);

        /* A send that fell back to e-mail after its SMS slot is counted
         * on e-mail afterwards; one counted on e-mail already, a deferred
         * one and a failed one are not. */
        struct sendlimits_hold holds[4] = {
                { .counted = JOB_CHANNEL_SMS },
                { .counted = JOB_CHANNEL_EMAIL },
                { .counted = JOB_CHANNEL_NONE },
                { .counted = JOB_CHANNEL_NONE },
        };
        struct dispatch_result res[4] = {
                { .status = DISPATCH_SENT, .channel = JOB_CHANNEL_EMAIL },
                { .status = DISPATCH_SENT, .channel = JOB_CHANNEL_EMAIL },
                { .status = DISPATCH_DEFER, .channel = JOB_CHANNEL_EMAIL },
                { .status = DISPATCH_RETRY, .channel = JOB_CHANNEL_EMAIL },
        };
        int64_t t0 = harness_now_ms();
        ck_assert_msg(sendlimits_count_fallbacks(q, cfg, holds, res, 4, &err) == 0, "%s", err.msg);
        tat = harness_redis_str(h, "GET %s", HARNESS_PREFIX ":rate:email:outbox");
        ck_assert_ptr_nonnull(tat);
        /* One send of 1/s: the bucket is a second ahead of its clock. */
        long long ahead = strtoll(tat, NULL, 10) / 1000 - t0;
        ck_assert_msg(ahead >= 900 && ahead <= 1100, "%lld ms ahead", ahead);
        free(tat);
        queue_free(q);
        config_free(cfg);
        harness_free(h);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("limits");
        TCase *tc = tcase_create("limits");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_two_instances_share_the_rate);
        tcase_add_test(tc, test_contact_limit_defers);
        tcase_add_test(tc, test_script_and_noscript);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
