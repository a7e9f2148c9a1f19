/* test-pipeline.c: dunningd end to end against a private redis-server.
 *
 * Every job enqueued must be sent exactly once (one `sent` event per
 * reminder, one outbox file), through SIGTERM drains, SIGKILLs, a second
 * consumer process, a Redis restart and a dead consumer's pending entries;
 * invalid jobs end in the dead-letter stream; scheduled jobs wait for their
 * time; a broken config on SIGHUP is refused; logs never show a full e-mail
 * address or phone number. */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define BIG 2000

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

/* Enqueues customers first .. first+n-1 through dunningctl. */
static void enqueue(int first, int n)
{
        struct harness_summary s;
        struct harness_ctl r;
        char name[64];
        char *path;

        snprintf(name, sizeof(name), "jobs-%d-%d.jsonl", first, n);
        path = harness_write_jobs(h, name, first, n, NULL);
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_msg(r.status == 0, "dunningctl enqueue: exit %d: %s", r.status, r.err);
        ck_assert_msg(harness_parse_summary(r.out, &s), "no summary line in: %s", r.out);
        ck_assert_int_eq(s.enqueued, n);
        ck_assert_int_eq(s.rejected, 0);
        harness_ctl_free(&r);
        free(path);
}

/* XADDs the job of customer i straight into the stream. */
static void xadd_job(int i)
{
        char *job = harness_job_json(i, NULL);

        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", job);
        free(job);
}

static void assert_stops_cleanly(struct harness_daemon *d)
{
        int rc;

        ck_assert_msg(harness_daemon_running(d), "dunningd-%d is not running", d->index);
        harness_daemon_signal(d, SIGTERM);
        rc = harness_daemon_wait(d, h->config.drain_timeout_ms + 2000);
        ck_assert_msg(rc == 0, "dunningd-%d: exit %d after SIGTERM (-1: still running after %d ms)",
                      d->index, rc, h->config.drain_timeout_ms + 2000);
}

static void assert_sent_all(size_t n, int timeout_ms)
{
        size_t sent = harness_wait_sent(h, n, timeout_ms);
        long long pending;

        ck_assert_msg(sent >= n, "%zu of %zu jobs sent within %d ms", sent, n, timeout_ms);
        pending = harness_wait_no_pending(h, 10000);
        ck_assert_msg(pending == 0, "%lld entries still pending in group dunningd", pending);
}

static size_t sent_log_lines(const struct harness_daemon *d)
{
        return harness_daemon_log_lines(d, "msg=\"sent\"", NULL) +
               harness_daemon_log_lines(d, "msg=sent ", NULL);
}

START_TEST(test_sends_each_job_once)
{
        struct harness_daemon *d;

        enqueue(0, 300);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 300);
        d = harness_daemon_start(h);
        assert_sent_all(300, 30000);
        harness_assert_sent_once(h, 0, 300);
        ck_assert_int_eq(harness_xlen(h, "dead"), 0);
        ck_assert_int_eq(harness_count_events(h, "dead"), 0);
        ck_assert_int_eq(harness_count_events(h, "failed"), 0);
        for (int i = 0; i < 300; i++) {
                char rid[19];
                long long ttl;

                harness_reminder_id(i, rid);
                ttl = harness_redis_int(h, "TTL " HARNESS_PREFIX ":sent:%s:%s", rid,
                                        harness_channel_of(i));
                ck_assert_msg(ttl > 0, "marker " HARNESS_PREFIX ":sent:%s:%s: TTL %lld "
                              "(-2: missing, -1: no expiry)", rid, harness_channel_of(i), ttl);
        }
        assert_stops_cleanly(d);
        harness_assert_log_masked(d, 0, 300);
}
END_TEST

START_TEST(test_sigterm_mid_run_finishes_in_flight)
{
        struct harness_daemon *d1, *d2;
        size_t sent;
        long long pending;

        enqueue(0, BIG);
        d1 = harness_daemon_start(h);
        sent = harness_wait_sent(h, 100, 30000);
        ck_assert_msg(sent >= 100, "only %zu sent within 30 s", sent);
        assert_stops_cleanly(d1);
        sent = harness_count_events(h, "sent");
        ck_assert_msg(sent < BIG, "all %d jobs were done before SIGTERM: nothing was in flight",
                      BIG);
        /* Everything it had read it finished and acked before exiting. */
        pending = harness_pending(h);
        ck_assert_msg(pending == 0, "%lld entries left pending after a clean SIGTERM", pending);
        d2 = harness_daemon_start(h);
        assert_sent_all(BIG, 60000);
        harness_assert_sent_once(h, 0, BIG);
        assert_stops_cleanly(d2);
}
END_TEST

START_TEST(test_sigkill_mid_run_then_restart)
{
        struct harness_daemon *d1, *d2;
        long long pending;
        size_t sent;

        enqueue(0, BIG);
        d1 = harness_daemon_start(h);
        sent = harness_wait_sent(h, 100, 30000);
        ck_assert_msg(sent >= 100, "only %zu sent within 30 s", sent);
        harness_daemon_kill(d1);
        sent = harness_count_events(h, "sent");
        pending = harness_pending(h);
        fprintf(stderr, "test: at SIGKILL %zu sent, %lld pending\n", sent, pending);
        ck_assert_msg(sent < BIG, "all %d jobs were done before the kill: the test proves nothing",
                      BIG);
        d2 = harness_daemon_start(h);
        assert_sent_all(BIG, 60000);
        harness_assert_sent_once(h, 0, BIG);
        assert_stops_cleanly(d2);
}
END_TEST

START_TEST(test_claims_entries_of_dead_consumer)
{
        struct harness_daemon *d;
        long long n;

        /* A consumer that read 20 entries and died without acking them. */
        ck_assert(harness_redis_try(h, "XGROUP CREATE " HARNESS_PREFIX ":jobs dunningd 0 MKSTREAM"));
        enqueue(0, 20);
        harness_redis_cmd(h, "XREADGROUP GROUP dunningd ghost-999999-0 COUNT 100 STREAMS "
                             HARNESS_PREFIX ":jobs >");
        n = harness_pending(h);
        ck_assert_int_eq(n, 20);
        d = harness_daemon_start(h);
        /* claim_idle_ms is 1 s: XAUTOCLAIM must take them over. */
        assert_sent_all(20, 20000);
        harness_assert_sent_once(h, 0, 20);
        assert_stops_cleanly(d);
}
END_TEST

struct two_pids {
        pid_t a, b;
};

static bool both_consume(void *arg)
{
        struct two_pids *p = arg;

        return harness_consumers_of(h, p->a) > 0 && harness_consumers_of(h, p->b) > 0;
}

START_TEST(test_two_daemons_share_the_stream)
{
        struct harness_daemon *d1, *d2;
        struct two_pids pids;
        size_t n1, n2;

        d1 = harness_daemon_start(h);
        d2 = harness_daemon_start(h);
        pids.a = d1->pid;
        pids.b = d2->pid;
        ck_assert_msg(harness_wait_until(both_consume, &pids, 15000),
                      "both daemons should have consumers named <host>-<pid>-<n> in group "
                      "dunningd within 15 s (pids %d, %d)", (int)pids.a, (int)pids.b);
        enqueue(0, BIG);
        assert_sent_all(BIG, 60000);
        harness_assert_sent_once(h, 0, BIG);
        assert_stops_cleanly(d1);
        assert_stops_cleanly(d2);
        n1 = sent_log_lines(d1);
        n2 = sent_log_lines(d2);
        fprintf(stderr, "test: dunningd-1 logged %zu sends, dunningd-2 %zu\n", n1, n2);
        ck_assert_msg(n1 > 0 && n2 > 0, "both daemons should have sent (msg=\"sent\" lines: %zu, %zu)",
                      n1, n2);
}
END_TEST

static bool dead_has_3(void *arg)
{
        return harness_xlen(h, "dead") >= 3;
}

START_TEST(test_invalid_jobs_are_dead_lettered)
{
        struct harness_daemon *d;
        struct harness_entry *e;
        const char *prefix = "{\"v\":1,\"campaign\":\"" HARNESS_CAMPAIGN "\",";
        char *good = harness_job_json(8, NULL), *no_campaign;
        const char *texts[3];
        size_t n;

        /* customer 8's job without its campaign: only that field is wrong */
        ck_assert(strncmp(good, prefix, strlen(prefix)) == 0);
        ck_assert(asprintf(&no_campaign, "{\"v\":1,%s", good + strlen(prefix)) > 0);
        texts[0] = "{\"v\":1}";
        texts[1] = "not json";
        texts[2] = no_campaign;

        d = harness_daemon_start(h);
        for (int i = 0; i < 3; i++)
                harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", texts[i]);
        xadd_job(7);
        ck_assert_msg(harness_wait_until(dead_has_3, NULL, 15000), "%lld dead entries, expected 3",
                      harness_xlen(h, "dead"));
        assert_sent_all(1, 15000);
        harness_assert_sent_once(h, 7, 1);
        ck_assert_msg(harness_daemon_running(d), "dunningd exited after invalid jobs");

        n = harness_xrange(h, HARNESS_PREFIX ":dead", &e);
        ck_assert_int_eq(n, 3);
        for (int t = 0; t < 3; t++) {
                const struct harness_entry *hit = NULL;

                for (size_t i = 0; i < n; i++) {
                        const char *job = harness_entry_get(&e[i], "job");

                        if (job && strcmp(job, texts[t]) == 0)
                                hit = &e[i];
                }
                ck_assert_msg(hit != NULL, "no dead entry keeps the job text %s", texts[t]);
                for (int f = 0; f < 4; f++) {
                        static const char *const fields[] = { "reason", "error", "attempts", "time" };
                        const char *v = harness_entry_get(hit, fields[f]);

                        ck_assert_msg(v && *v, "dead entry %s (%s) has no %s", hit->id, texts[t],
                                      fields[f]);
                }
                if (t == 2)
                        ck_assert_msg(strstr(harness_entry_get(hit, "error"), "campaign"),
                                      "error of a job without campaign does not name it: %s",
                                      harness_entry_get(hit, "error"));
        }
        harness_entries_free(e, n);
        ck_assert_int_eq(harness_count_events(h, "dead"), 3);

        /* still consuming after the bad ones */
        xadd_job(9);
        ck_assert_msg(harness_wait_sent(h, 2, 15000) == 2, "the job after the invalid ones was not sent");
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);
        assert_stops_cleanly(d);
        free(no_campaign);
        free(good);
}
END_TEST

START_TEST(test_survives_redis_restart)
{
        struct harness_daemon *d;
        size_t sent;

        enqueue(0, BIG);
        d = harness_daemon_start(h);
        sent = harness_wait_sent(h, 200, 30000);
        ck_assert_msg(sent >= 200, "only %zu sent within 30 s", sent);
        sent = harness_count_events(h, "sent");
        ck_assert_msg(sent < BIG, "all %d jobs were done before Redis stopped: the test proves nothing",
                      BIG);
        fprintf(stderr, "test: stopping Redis after %zu sent\n", sent);
        harness_redis_stop(h);
        /* An outage of a known length, not a wait for a condition. */
        harness_sleep_ms(1000);
        ck_assert_msg(harness_daemon_running(d), "dunningd exited while Redis was down");
        harness_redis_start(h);
        assert_sent_all(BIG, 60000);
        harness_assert_sent_once(h, 0, BIG);
        assert_stops_cleanly(d);
}
END_TEST

struct outbox_wait {
        int customer;
};

static bool outbox_has(void *arg)
{
        return harness_outbox_has(h, ((struct outbox_wait *)arg)->customer);
}

START_TEST(test_scheduled_job_waits_for_its_time)
{
        struct outbox_wait w = { 0 };
        struct harness_summary s;
        struct harness_daemon *d;
        struct harness_ctl r;
        int64_t t0, not_before, seen;
        char at[32];
        char *path;

        d = harness_daemon_start(h);
        t0 = harness_now_ms();
        not_before = t0 + 2000;
        harness_rfc3339(not_before, at);
        path = harness_write_jobs(h, "later.jsonl", 0, 1, at);
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_msg(r.status == 0, "dunningctl enqueue: exit %d", r.status);
        ck_assert_msg(harness_parse_summary(r.out, &s), "no summary line in: %s", r.out);
        ck_assert_int_eq(s.scheduled, 1);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " HARNESS_PREFIX ":scheduled"), 1);

        /* Proving that nothing happened yet needs a fixed wait. */
        if (harness_now_ms() < t0 + 500)
                harness_sleep_ms((int)(t0 + 500 - harness_now_ms()));
        ck_assert_msg(harness_outbox_count(h, NULL) == 0, "scheduled job sent %lld ms early",
                      (long long)(not_before - harness_now_ms()));
        ck_assert_int_eq(harness_count_events(h, "sent"), 0);

        ck_assert_msg(harness_wait_until(outbox_has, &w, (int)(t0 + 6000 - harness_now_ms())),
                      "scheduled job not sent within 6 s");
        seen = harness_now_ms();
        ck_assert_msg(seen >= not_before - 50, "scheduled job sent %lld ms before not_before",
                      (long long)(not_before - seen));
        assert_sent_all(1, 5000);
        harness_assert_sent_once(h, 0, 1);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " HARNESS_PREFIX ":scheduled"), 0);
        assert_stops_cleanly(d);
        harness_ctl_free(&r);
        free(path);
}
END_TEST

struct log_wait {
        const struct harness_daemon *d;
        const char *needle;
};

static bool log_has(void *arg)
{
        struct log_wait *w = arg;

        return harness_daemon_log_has(w->d, w->needle);
}

START_TEST(test_sighup_with_broken_config_is_refused)
{
        struct harness_daemon *d;
        struct log_wait w;

        enqueue(0, 10);
        d = harness_daemon_start(h);
        assert_sent_all(10, 20000);

        harness_config_write_text(h, "redis: { url: [unclosed\nworkers: two\n");
        harness_daemon_signal(d, SIGHUP);
        w.d = d;
        w.needle = "config reload refused";
        ck_assert_msg(harness_wait_until(log_has, &w, 10000),
                      "no \"config reload refused\" in the log within 10 s of SIGHUP");
        ck_assert_msg(harness_daemon_log_lines(d, "config reload refused", "level=error", NULL) > 0,
                      "\"config reload refused\" is not logged with level=error");
        ck_assert_msg(harness_daemon_running(d), "dunningd exited on a broken config reload");

        /* Still working on the old config (the file on disk stays broken). */
        for (int i = 10; i < 20; i++)
                xadd_job(i);
        assert_sent_all(20, 20000);
        harness_assert_sent_once(h, 0, 20);
        assert_stops_cleanly(d);
}
END_TEST

/* The e-mail of customer i as written to the outbox (owned), or NULL. */
static char *email_of(int i)
{
        char rid[19], path[600];
        harness_reminder_id(i, rid);
        snprintf(path, sizeof(path), "%s/email/%s.eml", h->outbox, rid);
        return harness_read_file(path);
}

/* SIGHUP reloads the templates with the config; a template with a syntax
 * error is refused, naming the file, and the running set stays. */
/* Unix ms of the next local wall-clock time hh:mm in Europe/Amsterdam
 * (the config's default zone), computed with the C library's zone data
 * rather than ICU, which the daemon uses. */
static int64_t next_amsterdam(int hh, int mm, int64_t now_ms)
{
        char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
        setenv("TZ", "Europe/Amsterdam", 1);
        tzset();
        time_t now = (time_t)(now_ms / 1000);
        struct tm tm;
        localtime_r(&now, &tm);
        tm.tm_hour = hh;
        tm.tm_min = mm;
        tm.tm_sec = 0;
        tm.tm_isdst = -1;
        time_t t = mktime(&tm);
        if ((int64_t)t * 1000 <= now_ms) {
                tm.tm_mday++;
                tm.tm_isdst = -1;
                t = mktime(&tm);
        }
        if (old) {
                setenv("TZ", old, 1);
                free(old);
        } else {
                unsetenv("TZ");
        }
        tzset();
        return (int64_t)t * 1000;
}

/* The earliest job of the scheduled set (owned), or NULL. */
static char *first_scheduled(void)
{
        return harness_redis_str(h, "EVAL %s 1 %s",
                                 "return redis.call('ZRANGE', KEYS[1], 0, 0)[1]",
                                 HARNESS_PREFIX ":scheduled");
}

START_TEST(test_sms_waits_for_quiet_hours_end)
{
        /* Quiet hours from an hour ago until two hours ahead, local time. */
        int64_t now = harness_now_ms();
        time_t a = (time_t)(now / 1000 - 3600), b = (time_t)(now / 1000 + 7200);
        struct tm ta, tb;
        setenv("TZ", "Europe/Amsterdam", 1);
        tzset();
        localtime_r(&a, &ta);
        localtime_r(&b, &tb);
        unsetenv("TZ");
        tzset();
        char quiet[64];
        snprintf(quiet, sizeof(quiet), "quiet_hours: \"%02d:%02d-%02d:%02d\"", ta.tm_hour,
                 ta.tm_min, tb.tm_hour, tb.tm_min);
        struct harness_config c;
        harness_config_defaults(&c);
        c.sms_yaml = quiet;
        harness_config_write(h, &c);
        ck_assert_str_eq(harness_channel_of(1), "sms");     /* customers 1, 4 get an SMS */
        ck_assert_str_eq(harness_channel_of(0), "email");

        struct harness_daemon *d = harness_daemon_start(h);
        xadd_job(0);
        xadd_job(1);
        assert_sent_all(1, 20000);   /* the e-mail goes, the SMS waits */
        struct harness_entry *ev;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":events", &ev);
        const struct harness_entry *deferred = NULL;
        for (size_t i = 0; i < n; i++)
                if (strcmp(harness_entry_get(&ev[i], "type"), "deferred") == 0)
                        deferred = &ev[i];
        ck_assert_msg(deferred, "no deferred event");
        char rid[19];
        harness_reminder_id(1, rid);
        ck_assert_str_eq(harness_entry_get(deferred, "reminder"), rid);
        ck_assert_str_eq(harness_entry_get(deferred, "reason"), "quiet-hours");
        /* Until the window's end, to the minute, and the job waits there. */
        int64_t until = strtoll(harness_entry_get(deferred, "until_ms"), NULL, 10);
        ck_assert_int_eq(until, next_amsterdam(tb.tm_hour, tb.tm_min, now));
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " HARNESS_PREFIX ":scheduled"), 1);
        char *waiting = first_scheduled();
        char *score = harness_redis_str(h, "ZSCORE " HARNESS_PREFIX ":scheduled %s", waiting);
        ck_assert_int_eq(strtoll(score, NULL, 10), until);
        ck_assert_ptr_nonnull(strstr(waiting, "\"id\":\"C-1\""));
        free(score);
        free(waiting);
        harness_entries_free(ev, n);
        ck_assert_int_eq(harness_outbox_count(h, "sms"), 0);
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);

        /* Morning comes (the window is lifted and the job made due): sent. */
        c.sms_yaml = "quiet_hours: none";
        harness_config_write(h, &c);
        harness_daemon_signal(d, SIGHUP);
        struct log_wait w = { .d = d, .needle = "config reloaded" };
        ck_assert_msg(harness_wait_until(log_has, &w, 10000), "no reload logged");
        char *job = first_scheduled();
        harness_redis_cmd(h, "ZADD " HARNESS_PREFIX ":scheduled 0 %s", job);
        free(job);
        assert_sent_all(2, 20000);
        harness_assert_sent_once(h, 0, 2);
        assert_stops_cleanly(d);
}
END_TEST

START_TEST(test_sighup_reloads_templates)
{
        char cmd[1200], subject[600];
        const char *src = getenv("DUNNINGD_SOURCE_ROOT");
        ck_assert_ptr_nonnull(src);
        /* A private copy of the shipped templates this test may edit. */
        snprintf(cmd, sizeof(cmd), "rm -f %s && cp -r %s/templates/default %s", h->templates, src,
                 h->templates);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(subject, sizeof(subject), "%s/nl/reminder-1/email.subject.mustache", h->templates);
        ck_assert_str_eq(harness_channel_of(0), "email");   /* customers 0, 3, 6 get e-mail */

        struct harness_daemon *d = harness_daemon_start(h);
        xadd_job(0);
        assert_sent_all(1, 20000);
        char *mail = email_of(0);
        ck_assert_ptr_nonnull(mail);
        ck_assert_ptr_null(strstr(mail, "Subject: Changed"));
        free(mail);

        FILE *f = fopen(subject, "w");
        ck_assert_ptr_nonnull(f);
        fputs("Changed {{reminder_id}}", f);
        fclose(f);
        harness_daemon_signal(d, SIGHUP);
        struct log_wait w = { .d = d, .needle = "config reloaded" };
        ck_assert_msg(harness_wait_until(log_has, &w, 10000), "no reload logged");
        xadd_job(3);
        assert_sent_all(2, 20000);
        mail = email_of(3);
        ck_assert_ptr_nonnull(mail);
        ck_assert_msg(strstr(mail, "Subject: Changed r-"), "%s", mail);
        free(mail);

        f = fopen(subject, "w");
        ck_assert_ptr_nonnull(f);
        fputs("Broken {{#open}}", f);
        fclose(f);
        harness_daemon_signal(d, SIGHUP);
        w.needle = "config reload refused";
        ck_assert_msg(harness_wait_until(log_has, &w, 10000), "broken template not refused");
        ck_assert(harness_daemon_log_lines(d, "config reload refused",
                                           "nl/reminder-1/email.subject.mustache", NULL) > 0);
        xadd_job(6);
        assert_sent_all(3, 20000);
        mail = email_of(6);
        ck_assert_ptr_nonnull(mail);
        ck_assert_msg(strstr(mail, "Subject: Changed r-"), "%s", mail);
        free(mail);
        assert_stops_cleanly(d);
}
END_TEST

START_TEST(test_logs_mask_contact_data)
{
        struct harness_daemon *d;
        char rid[19];
        size_t named = 0;
        char *log;

        enqueue(0, 30);
        d = harness_daemon_start(h);
        assert_sent_all(30, 20000);
        assert_stops_cleanly(d);
        log = harness_daemon_log(d);
        for (int i = 0; i < 30; i++) {
                harness_reminder_id(i, rid);
                if (strstr(log, rid))
                        named++;
        }
        free(log);
        /* The log does talk about the sends (so the next check means something). */
        ck_assert_msg(named == 30, "only %zu of 30 reminder ids appear in the log", named);
        harness_assert_log_masked(d, 0, 30);
}
END_TEST

static bool two_consumers(void *arg)
{
        const struct harness_daemon *d = arg;
        return harness_consumers_of(h, d->pid) >= 2;
}

static bool dead_has_1(void *arg)
{
        return harness_xlen(h, "dead") >= 1;
}

/* The field of the only entry of stream name (a copy), or NULL. */
static char *only_entry_field(const char *name, const char *field)
{
        struct harness_entry *e;
        char key[64];
        snprintf(key, sizeof(key), HARNESS_PREFIX ":%s", name);
        size_t n = harness_xrange(h, key, &e);
        ck_assert_msg(n == 1, "%zu entries in %s, expected 1", n, key);
        const char *v = harness_entry_get(&e[0], field);
        char *copy = v ? strdup(v) : NULL;
        harness_entries_free(e, n);
        return copy;
}

/* A job that crashed its consumers again and again (delivered more often
 * than max_deliveries) is not tried once more: it goes to the dead-letter
 * stream with its text, and nothing is sent. */
START_TEST(test_overdelivered_entry_is_dead_lettered)
{
        struct harness_entry *e;
        char *id;

        xadd_job(5);
        harness_redis_try(h, "XGROUP CREATE " HARNESS_PREFIX ":jobs dunningd 0 MKSTREAM");
        harness_redis_cmd(h, "XREADGROUP GROUP dunningd ghost COUNT 1 STREAMS " HARNESS_PREFIX
                             ":jobs >");
        size_t n = harness_xrange(h, HARNESS_PREFIX ":jobs", &e);
        ck_assert_int_eq(n, 1);
        id = strdup(e[0].id);
        harness_entries_free(e, n);
        /* Ten deliveries so far, as if ten workers had died on it. */
        harness_redis_cmd(h, "XCLAIM " HARNESS_PREFIX ":jobs dunningd ghost 0 %s RETRYCOUNT 10", id);

        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_msg(harness_wait_until(dead_has_1, NULL, 15000), "not dead-lettered");
        char *reason = only_entry_field("dead", "reason");
        char *error = only_entry_field("dead", "error");
        char *job = only_entry_field("dead", "job");
        char *good = harness_job_json(5, NULL);
        ck_assert_str_eq(reason, "max-deliveries");
        ck_assert_str_eq(error, "delivered 11 times without an outcome");
        ck_assert_str_eq(job, good);
        ck_assert_int_eq(harness_count_events(h, "sent"), 0);
        ck_assert_int_eq(harness_outbox_count(h, NULL), 0);
        ck_assert_int_eq(harness_wait_no_pending(h, 5000), 0);
        assert_stops_cleanly(d);
        free(id);
        free(reason);
        free(error);
        free(job);
        free(good);
}
END_TEST

/* A transport that keeps failing temporarily: the job is retried through
 * the scheduled set with growing delays, then dead-lettered once its
 * attempts are used up; after the operator fixes the cause, `dead retry`
 * sends it. */
START_TEST(test_temporary_failures_retry_then_dead_letter)
{
        struct harness_config c;
        harness_config_defaults(&c);
        c.retry_base_ms = 100;
        c.retry_max_ms = 400;
        c.max_attempts = 4;
        harness_config_write(h, &c);

        struct harness_daemon *d = harness_daemon_start(h);
        /* Both workers have opened their channels once they read the group:
         * only then can the directory be swapped without a race. */
        ck_assert_msg(harness_wait_until(two_consumers, d, 10000), "workers did not start");
        /* The e-mail outbox directory becomes a file: every write fails. */
        char path[400], cmd[900];
        snprintf(path, sizeof(path), "%s/email", h->outbox);
        snprintf(cmd, sizeof(cmd), "mkdir -p %s && rm -rf %s && touch %s", h->outbox, path, path);
        ck_assert_int_eq(system(cmd), 0);
        int64_t t0 = harness_now_ms();
        xadd_job(3);
        ck_assert_str_eq(harness_channel_of(3), "email");
        ck_assert_msg(harness_wait_until(dead_has_1, NULL, 15000), "not dead-lettered");
        int64_t took = harness_now_ms() - t0;

        char *reason = only_entry_field("dead", "reason");
        char *attempts = only_entry_field("dead", "attempts");
        char *error = only_entry_field("dead", "error");
        ck_assert_str_eq(reason, "attempts-exhausted");
        ck_assert_str_eq(attempts, "4");
        ck_assert_msg(strstr(error, "/email/") != NULL, "error: %s", error);
        ck_assert_int_eq(harness_count_events(h, "failed"), 3);
        ck_assert_int_eq(harness_count_events(h, "sent"), 0);
        /* Three retries after at least 50 + 100 + 200 ms (half of each). */
        ck_assert_msg(took >= 350, "dead after %lld ms: retries did not back off", (long long)took);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " HARNESS_PREFIX ":scheduled"), 0);
        ck_assert(harness_daemon_running(d));

        /* The operator removes the file and retries the dead letter. */
        ck_assert_int_eq(unlink(path), 0);
        struct harness_entry *e;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":dead", &e);
        ck_assert_int_eq(n, 1);
        struct harness_ctl r;
        harness_ctl_run(h, &r, "dead", "retry", e[0].id, NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);
        harness_entries_free(e, n);
        assert_sent_all(1, 15000);
        harness_assert_sent_once(h, 3, 1);
        ck_assert_int_eq(harness_xlen(h, "dead"), 0);
        assert_stops_cleanly(d);
        free(reason);
        free(attempts);
        free(error);
}
END_TEST

static bool stream_trimmed(void *arg)
{
        return harness_xlen(h, "jobs") <= 200;
}

static bool ghost_removed(void *arg)
{
        return harness_redis_int(h, "EVAL %s 1 %s", "return #redis.call('XINFO', 'CONSUMERS', "
                                 "KEYS[1], 'dunningd')", HARNESS_PREFIX ":jobs") == 2;
}

/* Acked entries do not pile up in the stream, and consumers of processes
 * that are gone (holding nothing) are removed. */
START_TEST(test_housekeeping_trims_and_forgets)
{
        struct harness_config c;
        harness_config_defaults(&c);
        c.housekeep_interval_ms = 200;
        c.consumer_expire_ms = 1000;
        harness_config_write(h, &c);

        char *path = harness_write_jobs(h, "jobs.jsonl", 0, 300, NULL);
        struct harness_ctl r;
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);
        harness_redis_cmd(h, "XGROUP CREATE " HARNESS_PREFIX ":jobs dunningd 0 MKSTREAM");
        harness_redis_cmd(h, "XGROUP CREATECONSUMER " HARNESS_PREFIX ":jobs dunningd ghost-1-0");

        struct harness_daemon *d = harness_daemon_start(h);
        assert_sent_all(300, 20000);
        harness_assert_sent_once(h, 0, 300);
        ck_assert_msg(harness_wait_until(stream_trimmed, NULL, 10000),
                      "%lld entries left in the stream", harness_xlen(h, "jobs"));
        ck_assert_msg(harness_wait_until(ghost_removed, NULL, 10000), "ghost consumer kept: %lld consumers",
                      harness_redis_int(h, "EVAL %s 1 %s", "return #redis.call('XINFO', 'CONSUMERS', KEYS[1], 'dunningd')", HARNESS_PREFIX ":jobs"));

        harness_ctl_run(h, &r, "status", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_int_eq(harness_status_value(r.out, "backlog"), 0);
        ck_assert_int_eq(harness_status_value(r.out, "pending"), 0);
        harness_ctl_free(&r);
        assert_stops_cleanly(d);
        free(path);
}
END_TEST

/* Redis with a password: read from password_file, used by dunningd and
 * dunningctl, and never written to a log, even when it is wrong. */
START_TEST(test_redis_password_never_logged)
{
        const char *pw = "s3cr3t-Pa55word-xyz";
        char *good = harness_write_file(h, "redis.pw", "s3cr3t-Pa55word-xyz\n");
        char *bad = harness_write_file(h, "wrong.pw", "not-the-Pa55word-abc\n");
        harness_redis_cmd(h, "CONFIG SET requirepass %s", pw);
        harness_redis_cmd(h, "AUTH %s", pw);

        char *text = harness_read_file(h->config_path);
        ck_assert_ptr_nonnull(text);
        const char *anchor = "prefix: " HARNESS_PREFIX " }";
        char *at = strstr(text, anchor);
        ck_assert_ptr_nonnull(at);
        char *with_pw;
        ck_assert(asprintf(&with_pw, "%.*sprefix: " HARNESS_PREFIX ", password_file: %s }%s",
                           (int)(at - text), text, good, at + strlen(anchor)) > 0);
        harness_config_write_text(h, with_pw);

        struct harness_daemon *d = harness_daemon_start(h);
        enqueue(0, 20);
        assert_sent_all(20, 20000);
        harness_assert_sent_once(h, 0, 20);
        assert_stops_cleanly(d);
        ck_assert(!harness_daemon_log_has(d, pw));

        /* The wrong password: the daemon keeps trying, says why, and the
         * attempt is not in the log either. */
        char *wrong;
        ck_assert(asprintf(&wrong, "%.*sprefix: " HARNESS_PREFIX ", password_file: %s }%s",
                           (int)(at - text), text, bad, at + strlen(anchor)) > 0);
        harness_config_write_text(h, wrong);
        d = harness_daemon_start(h);
        struct log_wait w = { .d = d, .needle = "redis unavailable" };
        ck_assert_msg(harness_wait_until(log_has, &w, 10000), "no redis error logged");
        ck_assert(harness_daemon_log_has(d, "AUTH"));
        ck_assert(!harness_daemon_log_has(d, "not-the-Pa55word"));
        ck_assert(!harness_daemon_log_has(d, pw));
        ck_assert(harness_daemon_running(d));
        assert_stops_cleanly(d);
        free(good);
        free(bad);
        free(text);
        free(with_pw);
        free(wrong);
}
END_TEST

/* A reminder whose sending lease another worker holds (a slow one whose
 * entry was taken over) is not sent until that lease is given back or
 * runs out, and then exactly once. */
START_TEST(test_sending_lease_blocks_a_second_sender)
{
        char rid[19];
        harness_reminder_id(2, rid);
        harness_redis_cmd(h, "SET " HARNESS_PREFIX ":sending:%s slow-worker PX 3000", rid);
        struct harness_daemon *d = harness_daemon_start(h);
        int64_t t0 = harness_now_ms();
        xadd_job(2);
        xadd_job(3);
        assert_sent_all(1, 10000);      /* customer 3 goes at once */
        harness_sleep_ms(1000);         /* proving customer 2 waits */
        ck_assert_msg(!harness_outbox_has(h, 2) || harness_now_ms() - t0 >= 3000,
                      "sent while another worker held the lease");
        size_t sent = harness_wait_sent(h, 2, 15000);
        ck_assert_int_eq(sent, 2);
        ck_assert_msg(harness_now_ms() - t0 >= 2900, "sent before the lease ran out");
        ck_assert_int_eq(harness_wait_no_pending(h, 15000), 0);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " HARNESS_PREFIX ":scheduled"), 0);
        harness_assert_sent_once(h, 2, 2);
        assert_stops_cleanly(d);
}
END_TEST

/* A final notice by e-mail carries the letter as a PDF attachment; an
 * earlier step does not. */
START_TEST(test_final_notice_email_carries_the_letter)
{
        const char *fmt =
                "{\"v\":1,\"campaign\":\"it\",\"step\":\"%s\",\"customer\":{\"id\":\"C-%d\","
                "\"name\":\"Jan de Vries\",\"locale\":\"nl-NL\",\"email\":\"jan%d@example.nl\","
                "\"preferred_channel\":\"email\",\"address\":{\"lines\":[\"Dorpsstraat 1\"],"
                "\"postal_code\":\"1234 AB\",\"city\":\"Utrecht\",\"country\":\"NL\"}},"
                "\"invoices\":[{\"number\":\"INV-F-%d\",\"amount_cents\":123456,"
                "\"currency\":\"EUR\",\"due\":\"2026-10-31\"}]}";
        char job[1024];
        struct harness_daemon *d = harness_daemon_start(h);
        snprintf(job, sizeof(job), fmt, "final-notice", 1, 1, 1);
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", job);
        snprintf(job, sizeof(job), fmt, "reminder-1", 2, 2, 2);
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", job);
        assert_sent_all(2, 20000);

        /* The reminder ids: read them from the events. */
        struct harness_entry *e;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":events", &e);
        int with = 0, without = 0;
        for (size_t i = 0; i < n; i++) {
                const char *rid = harness_entry_get(&e[i], "reminder");
                const char *step = harness_entry_get(&e[i], "step");
                char path[600];
                snprintf(path, sizeof(path), "%s/email/%s.eml", h->outbox, rid);
                char *mail = harness_read_file(path);
                ck_assert_msg(mail, "%s missing", path);
                bool pdf = strstr(mail, "Content-Type: application/pdf") &&
                           strstr(mail, "INV-F-1.pdf") && strstr(mail, "JVBERi0");  /* "%PDF-" */
                if (strcmp(step, "final-notice") == 0)
                        with += pdf;
                else
                        without += !pdf && !strstr(mail, "application/pdf");
                free(mail);
        }
        harness_entries_free(e, n);
        ck_assert_int_eq(with, 1);
        ck_assert_int_eq(without, 1);
        assert_stops_cleanly(d);
}
END_TEST

/* Two campaigns naming the same invoices at the same step are one
 * reminder: in one batch it goes out once, the other job is skipped. */
START_TEST(test_same_reminder_twice_in_a_batch)
{
        char *job = harness_job_json(5, NULL);
        const char *from = "\"campaign\":\"" HARNESS_CAMPAIGN "\"";
        char *at = strstr(job, from);
        ck_assert_ptr_nonnull(at);
        char *other;
        ck_assert(asprintf(&other, "%.*s\"campaign\":\"other\"%s", (int)(at - job), job,
                           at + strlen(from)) > 0);
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", job);
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", other);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_int_eq(harness_wait_no_pending(h, 15000), 0);
        assert_sent_all(1, 15000);
        ck_assert_int_eq(harness_count_events(h, "skipped"), 1);
        harness_assert_sent_once(h, 5, 1);
        assert_stops_cleanly(d);
        free(job);
        free(other);
}
END_TEST

/* ---- letters in three languages ---------------------------------------- */

/* Runs cmd with sh and returns its stdout; fails the test on exit != 0. */
static char *run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run_cmd(const char *fmt, ...)
{
        char *cmd = NULL, *out = NULL;
        size_t len = 0;
        va_list ap;
        va_start(ap, fmt);
        ck_assert(vasprintf(&cmd, fmt, ap) >= 0);
        va_end(ap);
        FILE *f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        FILE *mem = open_memstream(&out, &len);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                fwrite(chunk, 1, n, mem);
        fclose(mem);
        int status = pclose(f);
        ck_assert_msg(status == 0, "`%s` failed (status %d); are poppler-utils, qpdf and "
                      "zbar-tools installed?", cmd, status);
        free(cmd);
        return out;
}

/* s with every no-break space (U+00A0, U+202F) as a plain space, in place. */
static void plain_spaces(char *s)
{
        char *w = s;
        for (const char *r = s; *r;) {
                if ((unsigned char)r[0] == 0xc2 && (unsigned char)r[1] == 0xa0) {
                        *w++ = ' ';
                        r += 2;
                } else if ((unsigned char)r[0] == 0xe2 && (unsigned char)r[1] == 0x80 &&
                           (unsigned char)r[2] == 0xaf) {
                        *w++ = ' ';
                        r += 3;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
}

/* Letters for customers in nl, de and fr go through the daemon to the
 * outbox: each PDF passes qpdf --check, shows the name and the amount as
 * the customer's locale writes it, and carries a readable EPC QR code. */
START_TEST(test_letters_in_three_languages)
{
        static const struct {
                const char *locale, *name, *city, *country, *amount;
        } cases[] = {
                { "nl-NL", "Jan de Vries", "Utrecht", "NL", "€ 10,01" },
                { "de-DE", "Jürgen Müller", "Köln", "DE", "10,01 €" },
                { "fr-FR", "Hélène Dubois", "Paris", "FR", "10,01 €" },
        };
        const size_t n = sizeof(cases) / sizeof(cases[0]);
        struct harness_daemon *d = harness_daemon_start(h);
        for (size_t i = 0; i < n; i++) {
                char job[1024];
                snprintf(job, sizeof(job),
                         "{\"v\":1,\"campaign\":\"it\",\"step\":\"reminder-1\",\"customer\":{"
                         "\"id\":\"C-L%zu\",\"name\":\"%s\",\"locale\":\"%s\","
                         "\"preferred_channel\":\"letter\",\"address\":{\"lines\":"
                         "[\"Hauptstraße %zu\"],\"postal_code\":\"5000%zu\",\"city\":\"%s\","
                         "\"country\":\"%s\"}},\"invoices\":[{\"number\":\"INV-L%zu\","
                         "\"amount_cents\":1001,\"currency\":\"EUR\",\"due\":\"2026-10-31\"}]}",
                         i, cases[i].name, cases[i].locale, i + 1, i, cases[i].city,
                         cases[i].country, i);
                harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", job);
        }
        assert_sent_all(n, 30000);
        ck_assert_int_eq(harness_outbox_count(h, "letter"), n);

        struct harness_entry *e;
        size_t k = harness_xrange(h, HARNESS_PREFIX ":events", &e);
        size_t checked = 0;
        for (size_t j = 0; j < k; j++) {
                if (strcmp(harness_entry_get(&e[j], "type"), "sent") != 0)
                        continue;
                ck_assert_str_eq(harness_entry_get(&e[j], "channel"), "letter");
                const char *customer = harness_entry_get(&e[j], "customer");
                ck_assert_ptr_nonnull(customer);
                size_t i = (size_t)atoi(customer + strlen("C-L"));
                ck_assert_uint_lt(i, n);
                char pdf[600];
                snprintf(pdf, sizeof(pdf), "%s/letter/%s.pdf", h->outbox,
                         harness_entry_get(&e[j], "reminder"));
                free(run_cmd("qpdf --check '%s' >/dev/null", pdf));
                char *text = run_cmd("pdftotext -enc UTF-8 '%s' -", pdf);
                plain_spaces(text);
                ck_assert_msg(strstr(text, cases[i].name), "%s: no name %s in:\n%s",
                              cases[i].locale, cases[i].name, text);
                ck_assert_msg(strstr(text, cases[i].amount), "%s: no amount %s in:\n%s",
                              cases[i].locale, cases[i].amount, text);
                free(text);
                free(run_cmd("pdftoppm -r 200 -png -singlefile '%s' '%s/qr-%zu'", pdf, h->dir,
                             i));
                char *qr = run_cmd("zbarimg --raw -q -Sbinary '%s/qr-%zu.png' 2>/dev/null",
                                   h->dir, i);
                ck_assert_msg(strncmp(qr, "BCD\n", 4) == 0, "%s: no EPC QR code: %s",
                              cases[i].locale, qr);
                ck_assert_msg(strstr(qr, "\nEUR10.01\n"), "%s: EPC amount: %s",
                              cases[i].locale, qr);
                free(qr);
                checked++;
        }
        harness_entries_free(e, k);
        ck_assert_uint_eq(checked, n);
        assert_stops_cleanly(d);
}
END_TEST

static Suite *pipeline_suite(void)
{
        Suite *s = suite_create("pipeline");
        TCase *tc = tcase_create("pipeline");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 150);
        tcase_add_test(tc, test_sends_each_job_once);
        tcase_add_test(tc, test_logs_mask_contact_data);
        tcase_add_test(tc, test_invalid_jobs_are_dead_lettered);
        tcase_add_test(tc, test_scheduled_job_waits_for_its_time);
        tcase_add_test(tc, test_sighup_with_broken_config_is_refused);
        tcase_add_test(tc, test_sighup_reloads_templates);
        tcase_add_test(tc, test_claims_entries_of_dead_consumer);
        tcase_add_test(tc, test_sigterm_mid_run_finishes_in_flight);
        tcase_add_test(tc, test_sigkill_mid_run_then_restart);
        tcase_add_test(tc, test_two_daemons_share_the_stream);
        tcase_add_test(tc, test_survives_redis_restart);
        tcase_add_test(tc, test_overdelivered_entry_is_dead_lettered);
        tcase_add_test(tc, test_temporary_failures_retry_then_dead_letter);
        tcase_add_test(tc, test_housekeeping_trims_and_forgets);
        tcase_add_test(tc, test_redis_password_never_logged);
        tcase_add_test(tc, test_sending_lease_blocks_a_second_sender);
        tcase_add_test(tc, test_final_notice_email_carries_the_letter);
        tcase_add_test(tc, test_same_reminder_twice_in_a_batch);
        tcase_add_test(tc, test_sms_waits_for_quiet_hours_end);
        tcase_add_test(tc, test_letters_in_three_languages);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(pipeline_suite());
}
