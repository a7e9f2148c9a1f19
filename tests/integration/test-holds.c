/* test-holds.c: holds, disputes and payment arrangements against a real
 * Redis and a real dunningd: a held invoice (or customer) is skipped and
 * parked, and sent once released or once its --until passes; disputes are
 * counted and flag a customer; an arrangement stops normal dunning, sends
 * its installment reminders, takes payments in order, and lapses on a
 * missed installment, after which the parked reminder goes out. Time is
 * driven by the dates given (--first in the past) and by moving an
 * arrangement's dates in Redis, never by sleeping for days. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrangement.h"
#include "civil.h"
#include "config.h"
#include "error.h"
#include "harness.h"
#include "hold.h"
#include "job.h"
#include "queue.h"

#define P HARNESS_PREFIX ":"
#define DAY_MS (86400 * INT64_C(1000))

static struct harness *start_world(const char *extra)
{
        struct harness *h = harness_new();
        struct harness_config c;
        harness_config_defaults(&c);
        c.extra_yaml = extra;
        harness_config_write(h, &c);
        return h;
}

static void ctl_ok(struct harness *h, struct harness_ctl *r)
{
        ck_assert_msg(r->status == 0, "dunningctl exited %d: %s%s", r->status, r->out, r->err);
}

/* Enqueues customer i's job, due in 1.5 s (so dunningctl's commands
 * before the daemon starts find it in the scheduled set). */
static void enqueue_soon(struct harness *h, int i)
{
        char nb[32];
        harness_rfc3339(harness_now_ms() + 1500, nb);
        harness_enqueue(h, i, 1, nb);
}

/* Customer i's job text with insert put before the last occurrence of
 * at (owned). */
static char *job_with(int i, const char *at, const char *insert)
{
        char *text = harness_job_json(i, NULL), *out = NULL;
        char *p = NULL;
        for (char *s = text; (s = strstr(s, at)); s++)
                p = s;
        ck_assert_ptr_nonnull(p);
        ck_assert(asprintf(&out, "%.*s%s%s", (int)(p - text), text, insert, p) >= 0);
        free(text);
        return out;
}

static void day_from_today(int days, char out[11])
{
        civil_format(civil_today(harness_now_ms()) + days, out);
}

START_TEST(test_held_not_sent_until_released)
{
        struct harness *h = start_world("holds: { recheck_hours: 24, dispute_flag_count: 2 }\n");
        struct harness_ctl r;
        char until[32];

        /* Customer 1's invoice on hold, customer 2 as a whole (a dispute),
         * customer 4's invoice for a few seconds only; 3 is not held. */
        harness_ctl_run(h, &r, "hold", "INV-1", "--reason", "other", "--note", "asked to wait",
                        NULL);
        ctl_ok(h, &r);
        ck_assert_ptr_nonnull(strstr(r.out, "held: invoice INV-1 (other) until released"));
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "hold", "--customer", "C-2", "--reason", "dispute", NULL);
        ctl_ok(h, &r);
        ck_assert_ptr_nonnull(strstr(r.out, "customer C-2 has 1"));
        harness_ctl_free(&r);
        int64_t until_ms = harness_now_ms() + 4000;
        harness_rfc3339(until_ms, until);
        harness_ctl_run(h, &r, "hold", "INV-4", "--reason", "other", "--until", until, NULL);
        ctl_ok(h, &r);
        harness_ctl_free(&r);
        /* keys no reminder wrote yet expire like the ones it writes */
        ck_assert_int_gt(harness_redis_int(h, "TTL " P "invoice:INV-1"), 399 * 86400);
        ck_assert_int_gt(harness_redis_int(h, "TTL " P "customer:C-2"), 399 * 86400);
        /* bad input is refused, naming what is wrong */
        harness_ctl_run(h, &r, "hold", "INV-9", "--reason", "maybe", NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_ptr_nonnull(strstr(r.err, "--reason"));
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "hold", "", "--reason", "other", NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_ptr_nonnull(strstr(r.err, "INVOICE: 1 to 128 bytes"));
        harness_ctl_free(&r);

        char *jobs = harness_write_jobs(h, "jobs.jsonl", 1, 4, NULL);
        harness_ctl_run(h, &r, "enqueue", jobs, NULL);
        ctl_ok(h, &r);
        harness_ctl_free(&r);
        free(jobs);

        struct harness_daemon *d = harness_daemon_start(h);
        harness_wait_events(h, "sent", NULL, NULL, 1);
        harness_wait_events(h, "skipped", "reason", "held", 3);
        ck_assert(harness_outbox_has(h, 3));
        ck_assert(!harness_outbox_has(h, 1));
        ck_assert(!harness_outbox_has(h, 2));
        /* parked, not lost: in the scheduled set and noted for a release */
        ck_assert_int_ge(harness_redis_int(h, "ZCARD " P "scheduled"), 2);
        ck_assert_int_eq(harness_redis_int(h, "HLEN " P "held:invoice:INV-1"), 1);
        ck_assert_int_eq(harness_redis_int(h, "HLEN " P "held:customer:C-2"), 1);

        /* the --until hold resumes by itself */
        harness_wait_events(h, "sent", NULL, NULL, 2);
        ck_assert(harness_outbox_has(h, 4));
        ck_assert_int_ge(harness_now_ms(), until_ms);
        ck_assert(!harness_outbox_has(h, 1));

        harness_ctl_run(h, &r, "release", "INV-1", NULL);
        ctl_ok(h, &r);
        ck_assert_ptr_nonnull(strstr(r.out, "1 held reminder resume now"));
        harness_ctl_free(&r);
        harness_wait_events(h, "sent", NULL, NULL, 3);
        ck_assert(harness_outbox_has(h, 1));
        ck_assert(!harness_outbox_has(h, 2));

        /* a second dispute flags the customer (dispute_flag_count: 2) */
        harness_ctl_run(h, &r, "hold", "--customer", "C-2", "--reason", "dispute", NULL);
        ctl_ok(h, &r);
        ck_assert_ptr_nonnull(strstr(r.out, "flagged for a person"));
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_events_with(h, "flagged", "customer", "C-2"), 1);
        harness_ctl_run(h, &r, "explain", "C-2", NULL);
        ctl_ok(h, &r);
        ck_assert_msg(strstr(r.out, "disputes 2, flagged for a person"), "%s", r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "on hold (dispute)"));
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "release", "--customer", "C-2", NULL);
        ctl_ok(h, &r);
        harness_ctl_free(&r);
        harness_wait_events(h, "sent", NULL, NULL, 4);
        harness_assert_sent_once(h, 1, 4);
        /* nothing left to release */
        harness_ctl_run(h, &r, "release", "INV-1", NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_ptr_nonnull(strstr(r.err, "has no hold"));
        harness_ctl_free(&r);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

/* A reminder whose SMS did not arrive goes on by e-mail (skip_channels);
 * held meanwhile, it must still skip the SMS once released, not try the
 * channel that already failed the customer. */
START_TEST(test_held_fallback_keeps_skipped_channel)
{
        struct harness *h = start_world("holds: { recheck_hours: 24 }\n");
        struct harness_ctl r;
        char rid[19], path[600];

        harness_ctl_run(h, &r, "hold", "INV-1", "--reason", "other", NULL);
        ctl_ok(h, &r);
        harness_ctl_free(&r);
        /* customer 1 prefers SMS and has an e-mail address too */
        ck_assert_str_eq(harness_channel_of(1), "sms");
        char *job = harness_job_json(1, NULL);
        char *line;
        ck_assert(asprintf(&line, "{\"skip_channels\":[\"sms\"],%s\n", job + 1) >= 0);
        char *jobs = harness_write_file(h, "skip.jsonl", line);
        harness_ctl_run(h, &r, "enqueue", jobs, NULL);
        ctl_ok(h, &r);
        harness_ctl_free(&r);

        struct harness_daemon *d = harness_daemon_start(h);
        harness_wait_events(h, "skipped", "reason", "held", 1);
        /* parked with the channel it must skip */
        harness_reminder_id(1, rid);
        char *parked = harness_redis_str(h, "HGET " P "held:invoice:INV-1 %s", rid);
        ck_assert_ptr_nonnull(parked);
        ck_assert_msg(strstr(parked, "\"skip_channels\":[\"sms\"]"), "parked: %s", parked);
        free(parked);

        harness_ctl_run(h, &r, "release", "INV-1", NULL);
        ctl_ok(h, &r);
        harness_ctl_free(&r);
        harness_wait_events(h, "sent", NULL, NULL, 1);
        ck_assert_int_eq(harness_events_with(h, "sent", "channel", "email"), 1);
        ck_assert_int_eq(harness_events_with(h, "sent", "channel", "sms"), 0);
        snprintf(path, sizeof(path), "%s/email/%s.eml", h->outbox, rid);
        char *eml = harness_read_file(path);
        ck_assert_msg(eml != NULL, "no e-mail %s", path);
        free(eml);
        ck_assert_uint_eq(harness_outbox_count(h, "sms"), 0);
        harness_daemon_stop(d);
        free(jobs);
        free(line);
        free(job);
        harness_free(h);
}
END_TEST

/* The outbox SMS of an installment reminder (owned), or NULL. */
static char *installment_sms(struct harness *h, const char *arrangement, int number, int i)
{
        char step[64], inv[32], rid[19], path[512];
        const char *numbers[1] = { inv };
        snprintf(step, sizeof(step), "installment#%s#%d", arrangement, number);
        snprintf(inv, sizeof(inv), "INV-%d", i);
        job_reminder_id(rid, step, numbers, 1);
        snprintf(path, sizeof(path), "%s/sms/%s.json", h->outbox, rid);
        return harness_read_file(path);
}

START_TEST(test_arrangement_reminds_and_lapses)
{
        struct harness *h = start_world("arrangements: { remind_days: 3, grace_days: 0, "
                                        "check_interval_ms: 1000 }\n");
        struct harness_ctl r;
        char first[11], past[11], later[11];
        day_from_today(2, first);
        day_from_today(-2, past);
        day_from_today(20, later);

        /* Customer 4 (SMS): arranged with the job given; the first of its
         * three installments is two days away, so its reminder is due. */
        char *j4 = harness_job_json(4, NULL);
        char *f4 = harness_write_file(h, "job4.json", j4);
        harness_ctl_run(h, &r, "arrange", "INV-4", "--installments", "3", "--first", first,
                        "--every", "1m", "--job", f4, NULL);
        ctl_ok(h, &r);
        ck_assert_msg(strstr(r.out, "arrangement A-1: customer C-4, invoices INV-4, EUR 10.04 "
                                    "in 3 installments every 1m"), "%s", r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "3.34"));
        ck_assert_ptr_nonnull(strstr(r.out, "3.36"));
        ck_assert_ptr_nonnull(strstr(r.out, "reminders scheduled: 3"));
        harness_ctl_free(&r);
        /* The later two wait in the scheduled set for 08:00 UTC three
         * days before their dates (31 Jan + 1m style steps included). */
        struct arrangement_installment plan[3];
        struct arrangement_period every = { 1, ARRANGEMENT_MONTHS };
        int64_t first_day;
        ck_assert_int_eq(civil_parse(first, &first_day), 0);
        ck_assert_int_eq(arrangement_plan(1004, 3, first_day, &every, plan, NULL), 0);
        for (int k = 1; k < 3; k++) {
                long long at = (plan[k].due_day - 3) * DAY_MS + 8 * 3600000LL;
                ck_assert_int_eq(harness_redis_int(h, "ZCOUNT " P "scheduled %lld %lld", at, at),
                                 1);
        }
        free(f4);
        free(j4);
        char *j3 = harness_job_json(3, NULL);
        char *f3 = harness_write_file(h, "job3.json", j3);
        free(j3);
        /* Kept while it runs and history.retention_days (400) after; the
         * invoice no reminder wrote yet expires too. */
        ck_assert_int_gt(harness_redis_int(h, "TTL " P "arrangement:A-1"),
                         400 * 86400 + 60 * 86400);
        ck_assert_int_gt(harness_redis_int(h, "TTL " P "invoice:INV-4"), 400 * 86400);
        /* an invoice cannot be in two arrangements */
        harness_ctl_run(h, &r, "arrange", "INV-4", "--installments", "2", "--first", first,
                        "--every", "2w", NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strstr(r.err, "invoice INV-4: already in arrangement A-1"), "%s", r.err);
        harness_ctl_free(&r);
        /* nor in one whose first installment is past its grace already
         * (it would lapse at once); nothing is numbered for it */
        harness_ctl_run(h, &r, "arrange", "INV-3", "--installments", "2", "--first", past,
                        "--every", "1m", "--job", f3, NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strstr(r.err, "--first: installment 1") && strstr(r.err, "grace"), "%s",
                      r.err);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS " P "invoice:INV-3"), 0);
        free(f3);
        /* an arrangement is not a hold to release */
        harness_ctl_run(h, &r, "release", "INV-4", NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "in payment arrangement A-1"), "%s", r.err);
        harness_ctl_free(&r);

        /* Customer 1 (SMS too): its reminder is in the scheduled set; the
         * arrangement finds the customer there. Its first installment is
         * in three weeks, so the normal reminder waits, parked. */
        enqueue_soon(h, 1);
        harness_ctl_run(h, &r, "arrange", "INV-1", "--installments", "2", "--first", later,
                        "--every", "2w", NULL);
        ctl_ok(h, &r);
        ck_assert_msg(strstr(r.out, "arrangement A-2: customer C-1"), "%s", r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "reminders scheduled: 2"));
        harness_ctl_free(&r);

        struct harness_daemon *d = harness_daemon_start(h);
        harness_wait_events(h, "sent", "step", "installment", 1);
        char *sms = installment_sms(h, "A-1", 1, 4);
        ck_assert_msg(sms && strstr(sms, "3,34") && strstr(sms, "1/3"), "%s", sms ? sms : "-");
        free(sms);
        /* customer 1's normal reminder is held by its arrangement */
        harness_wait_events(h, "skipped", "customer", "C-1", 1);
        ck_assert_int_eq(harness_events_with(h, "skipped", "reason", "held"), 1);
        ck_assert(!harness_outbox_has(h, 1));

        /* A payment covers A-1's first installment, in its own transaction */
        harness_ctl_run(h, &r, "paid", "INV-4", "--amount-cents", "334", NULL);
        ctl_ok(h, &r);
        harness_ctl_free(&r);
        char *paid = harness_redis_str(h, "HGET " P "arrangement:A-1 paid_cents");
        ck_assert_str_eq(paid, "334");
        free(paid);

        /* Time passes: both arrangements' first dates are two days ago. A-1
         * had its first installment paid and goes on; A-2 did not and
         * lapses (grace 0), and customer 1's reminder goes out. */
        harness_redis_cmd(h, "HSET " P "arrangement:A-1 first %s", past);
        harness_redis_cmd(h, "HSET " P "arrangement:A-2 first %s", past);
        harness_redis_cmd(h, "ZADD " P "arrangements 0 A-1 0 A-2");
        harness_wait_events(h, "arrangement", "reason", "lapsed", 1);
        ck_assert_int_eq(harness_events_with(h, "arrangement", "arrangement", "A-2"), 2);
        harness_wait_events(h, "sent", "step", HARNESS_STEP, 1);
        ck_assert(harness_outbox_has(h, 1));
        char *state = harness_redis_str(h, "HGET " P "arrangement:A-2 state");
        ck_assert_str_eq(state, "lapsed");
        free(state);
        long long ttl = harness_redis_int(h, "TTL " P "arrangement:A-2");
        ck_assert_msg(ttl > 399 * 86400 && ttl <= 400 * 86400, "TTL %lld", ttl);
        state = harness_redis_str(h, "HGET " P "arrangement:A-1 state");
        ck_assert_str_eq(state, "active");
        free(state);
        ck_assert_int_eq(harness_redis_int(h, "HEXISTS " P "invoice:INV-1 arrangement"), 0);

        harness_ctl_run(h, &r, "arrangements", NULL);
        ctl_ok(h, &r);
        ck_assert_msg(strstr(r.out, "A-1") && strstr(r.out, "active") &&
                      strstr(r.out, "1/3"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "A-2") && strstr(r.out, "lapsed") &&
                      strstr(r.out, "missed installment 1"), "%s", r.out);
        harness_ctl_free(&r);
        /* A-2's installment reminders are not sent once it lapsed */
        ck_assert_int_eq(harness_events_with(h, "sent", "customer", "C-1"), 1);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

/* An overpayment on one invoice of an arrangement pays the plan's total
 * while its other invoice is still open: the arrangement completes, and
 * the open invoice's parked reminder goes out then, not at the hold's
 * recheck a day later. */
START_TEST(test_completion_brings_parked_back)
{
        struct harness *h = start_world("arrangements: { check_interval_ms: 1000 }\n"
                                        "holds: { recheck_hours: 24 }\n");
        struct harness_ctl r;
        char later[11];
        day_from_today(20, later);

        /* Customer 1's job with a second invoice, INV-1B (5.00), for the
         * arrangement's customer data; the plan covers INV-1 and INV-1B. */
        char *two = job_with(1, "}]", "},{\"number\":\"INV-1B\",\"amount_cents\":500,"
                             "\"currency\":\"EUR\",\"issued\":\"2026-10-01\","
                             "\"due\":\"2026-10-31\"");
        char *f1 = harness_write_file(h, "job1.json", two);
        harness_ctl_run(h, &r, "arrange", "INV-1", "INV-1B", "--installments", "2", "--first",
                        later, "--every", "2w", "--job", f1, NULL);
        ctl_ok(h, &r);
        ck_assert_msg(strstr(r.out, "EUR 15.01"), "%s", r.out);
        harness_ctl_free(&r);
        free(f1);
        free(two);

        /* The normal reminder for INV-1 is held by the arrangement, parked. */
        enqueue_soon(h, 1);
        struct harness_daemon *d = harness_daemon_start(h);
        harness_wait_events(h, "skipped", "customer", "C-1", 1);
        ck_assert_int_eq(harness_events_with(h, "skipped", "reason", "held"), 1);
        ck_assert_int_eq(harness_redis_int(h, "HLEN " P "held:invoice:INV-1"), 1);

        /* 15.01 paid on INV-1B: 10.01 more than it owes, the plan's total. */
        harness_ctl_run(h, &r, "paid", "INV-1B", "--amount-cents", "1501", NULL);
        ctl_ok(h, &r);
        harness_ctl_free(&r);
        harness_wait_events(h, "arrangement", "reason", "completed", 1);
        /* INV-1 is still open: its reminder goes out now. */
        harness_wait_events(h, "sent", "step", HARNESS_STEP, 1);
        ck_assert(harness_outbox_has(h, 1));
        ck_assert_int_eq(harness_redis_int(h, "EXISTS " P "held:invoice:INV-1"), 0);
        ck_assert_int_eq(harness_redis_int(h, "HEXISTS " P "invoice:INV-1 arrangement"), 0);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

/* Without the history dunningd never reads a hold: hold and arrange
 * refuse rather than promise what would not happen. */
/* Parks job in a transaction of its own on an empty scheduled set and
 * returns the score it went back with (asserting it is the only one). */
static long long park_score(struct harness *h, struct queue *q, const struct config *cfg,
                            const struct job *job, int64_t resume, int64_t now)
{
        struct error err;
        harness_redis_cmd(h, "DEL " P "scheduled");
        hold_txn_park(q, cfg, job, resume, now);
        ck_assert_msg(queue_txn_commit(q, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " P "scheduled"), 1);
        char *score = harness_redis_str(h, "EVAL %s 1 %s",
                                        "return redis.call('ZRANGE', KEYS[1], 0, 0, "
                                        "'WITHSCORES')[2]", P "scheduled");
        ck_assert_ptr_nonnull(score);
        long long v = strtoll(score, NULL, 10);
        free(score);
        return v;
}

/* A release that runs between a worker's read of the hold and its
 * record finds nothing parked yet; the park decided at EXEC time sees the
 * hold gone and puts the job back for now, not for the recheck a day away.
 * With the hold still there, it parks as before. */
START_TEST(test_park_after_release_goes_back_now)
{
        struct harness *h = start_world("holds: { recheck_hours: 24 }\n");
        struct config *cfg;
        struct queue *q;
        struct error err;
        harness_open_queue(h, &cfg, &q);

        char *text = harness_job_json(1, NULL);
        struct job *job = NULL;
        ck_assert_msg(job_parse(&job, text, strlen(text), &err) == 0, "%s", err.msg);
        const char *inv = job->invoices[0].number, *cust = job->customer.id;
        int64_t now = harness_now_ms(), resume = now + 24 * 3600 * INT64_C(1000);

        /* Held: parked for the recheck, noted under invoice and customer. */
        harness_redis_cmd(h, "HSET " P "invoice:%s hold %s", inv, "other|1|0|-");
        ck_assert_int_eq(park_score(h, q, cfg, job, resume, now), resume);
        ck_assert_int_eq(harness_redis_int(h, "HLEN " P "held:invoice:%s", inv), 1);
        ck_assert_int_eq(harness_redis_int(h, "HLEN " P "held:customer:%s", cust), 1);

        /* Released in between: back for now, noted nowhere. */
        harness_redis_cmd(h, "DEL " P "held:invoice:%s " P "held:customer:%s", inv, cust);
        harness_redis_cmd(h, "HDEL " P "invoice:%s hold", inv);
        ck_assert_int_eq(park_score(h, q, cfg, job, resume, now), now);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS " P "held:invoice:%s", inv), 0);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS " P "held:customer:%s", cust), 0);
        /* Its text comes back due now: not_before is not the recheck. */
        char *back = harness_redis_str(h, "EVAL %s 1 %s",
                                       "return redis.call('ZRANGE', KEYS[1], 0, 0)[1]",
                                       P "scheduled");
        ck_assert_ptr_nonnull(back);
        struct job *again = NULL;
        ck_assert_msg(job_parse(&again, back, strlen(back), &err) == 0, "%s", err.msg);
        ck_assert_int_le(again->not_before_ms, now);
        job_free(again);
        free(back);

        /* A customer hold keeps it parked as well, and so does an
         * arrangement on the invoice. */
        harness_redis_cmd(h, "HSET " P "customer:%s hold %s", cust, "other|1|0|-");
        ck_assert_int_eq(park_score(h, q, cfg, job, resume, now), resume);
        harness_redis_cmd(h, "HDEL " P "customer:%s hold", cust);
        harness_redis_cmd(h, "HSET " P "invoice:%s arrangement A-1", inv);
        ck_assert_int_eq(park_score(h, q, cfg, job, resume, now), resume);

        /* But an installment reminder of that arrangement, held by a
         * dispute released meanwhile, goes back now: its own arrangement
         * does not hold it. */
        char *inst = job_with(1, "}", ",\"installment\":{\"arrangement\":\"A-1\",\"number\":1,"
                              "\"of\":2,\"amount_cents\":500,\"cum_cents\":500,"
                              "\"due\":\"2026-12-01\"}");
        struct job *ijob = NULL;
        ck_assert_msg(job_parse(&ijob, inst, strlen(inst), &err) == 0, "%s", err.msg);
        ck_assert_int_eq(park_score(h, q, cfg, ijob, resume, now), now);
        /* Another arrangement on the invoice does hold it. */
        harness_redis_cmd(h, "HSET " P "invoice:%s arrangement A-2", inv);
        ck_assert_int_eq(park_score(h, q, cfg, ijob, resume, now), resume);
        job_free(ijob);
        free(inst);

        job_free(job);
        free(text);
        queue_free(q);
        config_free(cfg);
        harness_free(h);
}
END_TEST

START_TEST(test_hold_needs_history)
{
        struct harness *h = start_world("history: { enabled: false }\n");
        struct harness_ctl r;
        harness_ctl_run(h, &r, "hold", "INV-1", "--reason", "dispute", NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "history.enabled is false"), "%s", r.err);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "arrange", "INV-1", "--installments", "2", "--first",
                        "2030-01-31", "--every", "1m", NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "history.enabled is false"), "%s", r.err);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS " P "invoice:INV-1"), 0);
        harness_free(h);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("holds");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_held_not_sent_until_released);
        tcase_add_test(tc, test_held_fallback_keeps_skipped_channel);
        tcase_add_test(tc, test_arrangement_reminds_and_lapses);
        tcase_add_test(tc, test_completion_brings_parked_back);
        tcase_add_test(tc, test_hold_needs_history);
        tcase_add_test(tc, test_park_after_release_goes_back_now);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(suite());
}
