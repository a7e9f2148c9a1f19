/* test-flows.c: escalation flows and send timing against a real Redis and
 * a real dunningd: a flow of three message steps and a handover, each
 * step scheduling the next at its time; a redelivered or re-sent step
 * schedules nothing twice; a payment in the middle stops the rest; and a
 * customer with a learned best hour gets an e-mail deferred to it. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "job.h"
#include "policy.h"
#include "quiet.h"

#define P HARNESS_PREFIX ":"
#define DAY_MS (86400 * INT64_C(1000))

static const char flows_yaml[] =
        "flows:\n"
        "  default:\n"
        "    - { step: reminder-1, channels: [email, sms] }\n"
        "    - { step: reminder-2, after_previous_days: 7 }\n"
        "    - { step: final-notice, after_previous_days: 7, channels: [letter, email] }\n"
        "    - { step: handover, after_previous_days: 14 }\n";

static struct harness *start_world(const char *extra)
{
        struct harness *h = harness_new();
        struct harness_config c;
        harness_config_defaults(&c);
        c.extra_yaml = extra;
        harness_config_write(h, &c);
        return h;
}

/* Customer i's job at step with not_before (RFC 3339) into the stream. */
static void add_job(struct harness *h, int i, const char *step, const char *not_before)
{
        char *json = harness_job_json(i, not_before);
        char *at = strstr(json, "\"step\":\"" HARNESS_STEP "\"");
        ck_assert_ptr_nonnull(at);
        char *s;
        ck_assert(asprintf(&s, "%.*s\"step\":\"%s\"%s", (int)(at - json), json, step,
                           at + strlen("\"step\":\"" HARNESS_STEP "\"")) >= 0);
        harness_redis_cmd(h, "XADD " P "jobs * job %s", s);
        free(s);
        free(json);
}

static void reminder_of(int i, const char *step, char out[19])
{
        char number[32];
        const char *numbers[1] = { number };
        snprintf(number, sizeof(number), "INV-%d", i);
        job_reminder_id(out, step, numbers, 1);
}

/* Events of type for reminder (NULL: any). */
static size_t events_for(struct harness *h, const char *type, const char *reminder)
{
        struct harness_entry *e;
        size_t n = harness_xrange(h, P "events", &e), k = 0;
        for (size_t i = 0; i < n; i++) {
                const char *t = harness_entry_get(&e[i], "type");
                const char *r = harness_entry_get(&e[i], "reminder");
                if (t && !strcmp(t, type) && (!reminder || (r && !strcmp(r, reminder))))
                        k++;
        }
        harness_entries_free(e, n);
        return k;
}

/* The field of the last event of type for reminder (owned), or NULL. */
static char *event_field(struct harness *h, const char *type, const char *reminder,
                         const char *field)
{
        struct harness_entry *e;
        size_t n = harness_xrange(h, P "events", &e);
        char *v = NULL;
        for (size_t i = 0; i < n; i++) {
                const char *t = harness_entry_get(&e[i], "type");
                const char *r = harness_entry_get(&e[i], "reminder");
                const char *f = harness_entry_get(&e[i], field);
                if (t && !strcmp(t, type) && r && !strcmp(r, reminder) && f) {
                        free(v);
                        v = strdup(f);
                }
        }
        harness_entries_free(e, n);
        return v;
}

struct event_wait {
        struct harness *h;
        const char *type, *reminder;
        size_t n;
};

static bool has_events(void *arg)
{
        struct event_wait *w = arg;
        return events_for(w->h, w->type, w->reminder) >= w->n;
}

static void wait_event(struct harness *h, const char *type, const char *reminder, size_t n)
{
        struct event_wait w = { h, type, reminder, n };
        ck_assert_msg(harness_wait_until(has_events, &w, 20000), "no %zu %s event(s) for %s",
                      n, type, reminder ? reminder : "any reminder");
}

/* Whether the daemon's /metrics has the sample line (name, labels, value). */
static bool metric_is(struct harness_daemon *d, const char *line)
{
        int st;
        char *body = harness_http(d, "GET", "/metrics", &st);
        bool ok = st == 200 && body && strstr(body, line);
        if (!ok)
                fprintf(stderr, "no \"%s\" in /metrics (HTTP %d)\n", line, st);
        free(body);
        return ok;
}

/* The one job in the scheduled set: its text (owned) and score. */
static char *scheduled_one(struct harness *h, int64_t *score)
{
        redisReply *r = redisCommand(h->redis, "ZRANGE " P "scheduled 0 -1 WITHSCORES");
        ck_assert(r && r->type == REDIS_REPLY_ARRAY);
        ck_assert_msg(r->elements == 2, "%zu scheduled jobs, expected 1", r->elements / 2);
        char *json = strdup(r->element[0]->str);
        *score = atoll(r->element[1]->str);
        freeReplyObject(r);
        return json;
}

/* The next step is in the scheduled set at due, with step and not_before
 * set to match; then it is made due now, as if its days had passed. */
static void expect_scheduled(struct harness *h, const char *step, int64_t due)
{
        int64_t score;
        char *json = scheduled_one(h, &score);
        struct job *job = NULL;
        struct error err;
        ck_assert_msg(job_parse(&job, json, strlen(json), &err) == 0, "%s: %s", json, err.msg);
        ck_assert_str_eq(job->step, step);
        ck_assert_int_eq(score, due);
        ck_assert_int_eq(job->not_before_ms, due);
        ck_assert_int_eq(job->attempt, 0);
        job_free(job);
        free(json);
}

static void promote_now(struct harness *h)
{
        int64_t score;
        char *json = scheduled_one(h, &score);
        harness_redis_cmd(h, "ZADD " P "scheduled XX %lld %s",
                          (long long)harness_now_ms() - 1, json);
        free(json);
}

/* Customer i's reminder-1, due days_ago days ago (*t1, whole seconds),
 * sent by a new daemon, which is returned once reminder-2 waits in the
 * scheduled set at t1 + 7 days. */
static struct harness_daemon *first_step(struct harness *h, int i, int days_ago, int64_t *t1)
{
        char nb[32], r1[19];
        *t1 = (harness_now_ms() / 1000 - days_ago * 86400) * 1000;
        job_format_time(*t1, nb);
        reminder_of(i, "reminder-1", r1);
        add_job(h, i, "reminder-1", nb);
        struct harness_daemon *d = harness_daemon_start(h);
        wait_event(h, "sent", r1, 1);
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);
        expect_scheduled(h, "reminder-2", *t1 + 7 * DAY_MS);
        return d;
}

START_TEST(test_flow_to_handover)
{
        struct harness *h = start_world(flows_yaml);
        char r2[19], r3[19], r4[19], day[11], stats[64];
        int64_t t1;
        reminder_of(1, "reminder-2", r2);
        reminder_of(1, "final-notice", r3);
        reminder_of(1, "handover", r4);

        /* Step 1 was due six days ago: step 2 comes in a day. */
        struct harness_daemon *d = first_step(h, 1, 6, &t1);
        ck_assert_uint_eq(events_for(h, "scheduled", r2), 1);

        promote_now(h);
        wait_event(h, "sent", r2, 1);
        wait_event(h, "scheduled", r3, 1);
        expect_scheduled(h, "final-notice", t1 + 14 * DAY_MS);
        promote_now(h);
        wait_event(h, "sent", r3, 1);
        /* a Dutch final notice, restricted to letter and e-mail */
        char *ch = event_field(h, "sent", r3, "channel");
        ck_assert_msg(ch && (!strcmp(ch, "letter") || !strcmp(ch, "email")), "%s", ch);
        free(ch);
        wait_event(h, "scheduled", r4, 1);
        expect_scheduled(h, "handover", t1 + 28 * DAY_MS);

        size_t files = harness_outbox_count(h, NULL);
        ck_assert_uint_eq(files, 3);
        promote_now(h);
        wait_event(h, "handover", r4, 1);
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);
        /* no message for the handover, nothing after it */
        ck_assert_uint_eq(harness_outbox_count(h, NULL), files);
        ck_assert_uint_eq(events_for(h, "sent", r4), 0);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " P "scheduled"), 0);
        char *v = event_field(h, "handover", r4, "invoices");
        ck_assert_str_eq(v, "INV-1");
        free(v);
        v = event_field(h, "handover", r4, "amount_open_cents");
        ck_assert_str_eq(v, "1001");
        free(v);
        v = event_field(h, "handover", r4, "customer");
        ck_assert_str_eq(v, "C-1");
        free(v);
        v = event_field(h, "handover", r4, "campaign");
        ck_assert_str_eq(v, HARNESS_CAMPAIGN);
        free(v);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS " P "sent:%s:handover", r4), 1);
        time_t t = time(NULL);
        struct tm tm;
        strftime(day, sizeof(day), "%Y-%m-%d", gmtime_r(&t, &tm));
        snprintf(stats, sizeof(stats), P "stats:%s", day);
        char *n = harness_redis_str(h, "HGET %s handover|-|handover|new|" HARNESS_CAMPAIGN,
                                    stats);
        ck_assert_str_eq(n, "1");
        free(n);
        struct harness_ctl r;
        harness_ctl_run(h, &r, "stats", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "handed over to collection (flows): 1"), "%s", r.out);
        harness_ctl_free(&r);

        /* The handover again (a redelivery, a re-run): once is enough. */
        char nb4[32];
        job_format_time(t1 + 28 * DAY_MS, nb4);
        add_job(h, 1, "handover", nb4);
        wait_event(h, "skipped", r4, 1);
        ck_assert_uint_eq(events_for(h, "handover", r4), 1);
        ck_assert(metric_is(d, "dunningd_reminders_skipped_total{reason=\"handover\"} 1\n"));
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

START_TEST(test_redelivery_schedules_once)
{
        struct harness *h = start_world(flows_yaml);
        char r1[19], r2[19], nb[32];
        int64_t t1, score;
        reminder_of(2, "reminder-1", r1);
        reminder_of(2, "reminder-2", r2);

        struct harness_daemon *d = first_step(h, 2, 1, &t1);
        job_format_time(t1, nb);
        char *first = scheduled_one(h, &score);
        /* explain names the flow and the step that comes next */
        struct harness_ctl x;
        harness_ctl_run(h, &x, "explain", "C-2", NULL);
        ck_assert_msg(x.status == 0 && strstr(x.out, "flow     default: after reminder-1 comes "
                                                     "reminder-2, due "),
                      "%s%s", x.out, x.err);
        harness_ctl_free(&x);
        harness_ctl_run(h, &x, "explain", "C-2", "--json", NULL);
        json_t *ex = json_loads(x.out, 0, NULL);
        ck_assert_ptr_nonnull(ex);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ex, "flow"),
                                                           "next_step")),
                         "reminder-2");
        ck_assert(json_is_null(json_object_get(json_object_get(ex, "timing"), "send_at")));
        json_decref(ex);
        harness_ctl_free(&x);

        /* The same step delivered again: the marker says it was sent. */
        add_job(h, 2, "reminder-1", nb);
        wait_event(h, "skipped", r1, 1);
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " P "scheduled"), 1);

        /* Even a second send (its marker gone) schedules the same bytes at
         * the same time: still one job for step 2. */
        char *ch = event_field(h, "sent", r1, "channel");
        harness_redis_cmd(h, "DEL " P "sent:%s:%s", r1, ch);
        free(ch);
        add_job(h, 2, "reminder-1", nb);
        wait_event(h, "sent", r1, 2);
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);
        ck_assert_uint_eq(events_for(h, "scheduled", r2), 2);
        char *again = scheduled_one(h, &score);
        ck_assert_str_eq(again, first);
        ck_assert_int_eq(score, t1 + 7 * DAY_MS);

        /* The step again after an SMS that did not arrive (skip_channels,
         * a new entry, here without not_before): it goes out on the next
         * channel but schedules nothing, its first send did. */
        ch = event_field(h, "sent", r1, "channel");
        harness_redis_cmd(h, "DEL " P "sent:%s:%s", r1, ch);
        char *job = harness_job_json(2, NULL), *skip;
        ck_assert(asprintf(&skip, "{\"skip_channels\":[\"%s\"],%s", ch, job + 1) >= 0);
        harness_redis_cmd(h, "XADD " P "jobs * job %s", skip);
        wait_event(h, "sent", r1, 3);
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);
        char *other = event_field(h, "sent", r1, "channel");
        ck_assert_str_ne(other, ch);
        ck_assert_uint_eq(events_for(h, "scheduled", r2), 2);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " P "scheduled"), 1);
        free(other);
        free(ch);
        free(job);
        free(skip);
        free(first);
        free(again);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

/* A step held out in one campaign schedules the next step; the same
 * reminder from a second campaign (which would not hold it out) finds it
 * done, so one flow goes on, not two. */
START_TEST(test_held_out_step_schedules_once)
{
        struct harness *h = start_world(flows_yaml);
        int i = 0;
        char id[32];
        do
                snprintf(id, sizeof(id), "C-%d", ++i);
        while (!(policy_held_out(id, "camp-a", "reminder-1", 0.5) &&
                 !policy_held_out(id, "camp-b", "reminder-1", 0.5)));
        char r1[19];
        reminder_of(i, "reminder-1", r1);
        struct harness_daemon *d = harness_daemon_start(h);
        const char *camps[] = { "camp-a", "camp-b" };
        for (int k = 0; k < 2; k++) {
                char *json = harness_job_json(i, NULL), *s;
                const char *from = "\"campaign\":\"" HARNESS_CAMPAIGN "\"";
                char *at = strstr(json, from);
                ck_assert_ptr_nonnull(at);
                ck_assert(asprintf(&s, "%.*s\"holdout\":0.5,\"campaign\":\"%s\"%s",
                                   (int)(at - json), json, camps[k], at + strlen(from)) >= 0);
                harness_redis_cmd(h, "XADD " P "jobs * job %s", s);
                free(s);
                free(json);
                wait_event(h, k ? "skipped" : "held_out", r1, 1);
                ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);
        }
        ck_assert_uint_eq(events_for(h, "sent", r1), 0);
        char *reason = event_field(h, "skipped", r1, "reason");
        ck_assert_str_eq(reason, "already-sent");
        free(reason);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " P "scheduled"), 1);
        ck_assert(metric_is(d, "dunningd_reminders_skipped_total{reason=\"held-out\"} 1\n"));
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

START_TEST(test_payment_stops_the_flow)
{
        struct harness *h = start_world(flows_yaml);
        char r2[19], r3[19];
        int64_t t1;
        reminder_of(3, "reminder-2", r2);
        reminder_of(3, "final-notice", r3);

        struct harness_daemon *d = first_step(h, 3, 3, &t1);

        struct harness_ctl r;
        harness_ctl_run(h, &r, "paid", "INV-3", "--amount-cents", "1003", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        harness_ctl_free(&r);

        size_t files = harness_outbox_count(h, NULL);
        promote_now(h);
        wait_event(h, "skipped", r2, 1);
        char *why = event_field(h, "skipped", r2, "reason");
        ck_assert_str_eq(why, "paid");
        free(why);
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);
        ck_assert_uint_eq(events_for(h, "sent", r2), 0);
        ck_assert_uint_eq(events_for(h, "scheduled", r3), 0);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " P "scheduled"), 0);
        ck_assert_uint_eq(harness_outbox_count(h, NULL), files);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

START_TEST(test_best_hour_defers)
{
        /* Any hour is in the window, so only the best hour moves it. */
        struct harness *h = start_world("timing: { enabled: true, send_window: none, "
                                        "min_payments: 3 }\n");
        struct quiet_local now;
        ck_assert_int_eq(quiet_local_of("Europe/Amsterdam", harness_now_ms(), &now), 0);
        int best = (now.minute / 60 + 2) % 24;
        /* customer 4 prefers e-mail and paid five times at that hour */
        harness_redis_cmd(h, "HSET " P "customer:C-4 hour:%d 5 hour:%d 1", best,
                          (best + 5) % 24);
        char rid[19];
        harness_reminder_id(4, rid);
        char *json = harness_job_json(4, NULL);
        harness_redis_cmd(h, "XADD " P "jobs * job %s", json);

        struct harness_daemon *d = harness_daemon_start(h);
        wait_event(h, "deferred", rid, 1);
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);
        char *why = event_field(h, "deferred", rid, "reason");
        ck_assert_str_eq(why, "best-hour");
        free(why);
        char *until = event_field(h, "deferred", rid, "until_ms");
        int64_t at = atoll(until);
        free(until);
        struct quiet_local then;
        ck_assert_int_eq(quiet_local_of("Europe/Amsterdam", at, &then), 0);
        ck_assert_int_eq(then.minute, best * 60);
        ck_assert(at > harness_now_ms() + 3600 * 1000 - 60 * 1000);
        ck_assert(at <= harness_now_ms() + 3 * 3600 * 1000);
        /* the same job, not an attempt, waiting for that hour, which its
         * not_before now names */
        int64_t score;
        char *waiting = scheduled_one(h, &score);
        ck_assert_int_eq(score, at);
        struct job *job = NULL;
        struct error err;
        ck_assert_int_eq(job_parse(&job, waiting, strlen(waiting), &err), 0);
        ck_assert_str_eq(job->reminder_id, rid);
        ck_assert_int_eq(job->not_before_ms, at);
        ck_assert_int_eq(job->attempt, 0);
        job_free(job);
        ck_assert_uint_eq(events_for(h, "sent", rid), 0);
        ck_assert_uint_eq(harness_outbox_count(h, NULL), 0);

        /* Come back more than an hour late (a backlog): it goes now, not
         * a day later at the best hour again. */
        harness_redis_cmd(h, "ZREM " P "scheduled %s", waiting);
        char late[32];
        job_format_time(harness_now_ms() - 2 * 3600 * 1000, late);
        char *again = harness_job_json(4, late);
        harness_redis_cmd(h, "XADD " P "jobs * job %s", again);
        wait_event(h, "sent", rid, 1);
        ck_assert_uint_eq(events_for(h, "deferred", rid), 1);
        /* explain says the best hour, and that the next e-mail or SMS waits for it */
        struct harness_ctl x;
        char line[64];
        snprintf(line, sizeof(line), "pays most often at %02d:00 local time", best);
        harness_ctl_run(h, &x, "explain", "C-4", NULL);
        ck_assert_msg(x.status == 0 && strstr(x.out, line) &&
                      strstr(x.out, " could go out ") &&
                      strstr(x.out, "(best-hour)"),
                      "%s%s", x.out, x.err);
        harness_ctl_free(&x);
        free(again);
        free(waiting);
        free(json);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("flows");
        TCase *tc = tcase_create("flows");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_flow_to_handover);
        tcase_add_test(tc, test_redelivery_schedules_once);
        tcase_add_test(tc, test_held_out_step_schedules_once);
        tcase_add_test(tc, test_payment_stops_the_flow);
        tcase_add_test(tc, test_best_hour_defers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(suite());
}
