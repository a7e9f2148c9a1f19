/* test-history.c: what a send teaches dunningd, against a real Redis: the
 * customer, invoice, reminder and day-stats keys written with the send;
 * a paid invoice is never reminded; a campaign's holdout is kept from the
 * step; `dunningctl stats` and `explain` read it all back. */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "epcqr.h"
#include "harness.h"
#include "policy.h"


/* Jobs first..first+n with "holdout": share. */
static char *write_holdout_jobs(struct harness *h, int first, int n, const char *share)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/holdout.jsonl", h->dir);
        FILE *f = fopen(path, "w");
        ck_assert(f != NULL);
        for (int i = first; i < first + n; i++) {
                char *job = harness_job_json(i, NULL);
                ck_assert(strncmp(job, "{\"v\":1,", 7) == 0);
                fprintf(f, "{\"v\":1,\"holdout\":%s,%s\n", share, job + 7);
                free(job);
        }
        ck_assert(fclose(f) == 0);
        return strdup(path);
}

/* A hash field or a plain value as a number (0 when missing). */
static long long redis_num(struct harness *h, const char *cmd)
{
        /* cmd is the format itself: hiredis splits it into arguments. */
        char *v = harness_redis_str(h, cmd);
        long long n = v ? atoll(v) : 0;
        free(v);
        return n;
}

static long long hget(struct harness *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long hget(struct harness *h, const char *fmt, ...)
{
        char cmd[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return redis_num(h, cmd);
}

static void today(char out[16])
{
        time_t t = time(NULL);
        struct tm tm;
        strftime(out, 16, "%Y-%m-%d", gmtime_r(&t, &tm));
}

START_TEST(test_send_writes_history)
{
        struct harness *h = harness_new();
        struct harness_config cfg;
        harness_config_defaults(&cfg);
        /* A letter costs a cent: everyone gets their preferred channel. */
        cfg.policy_yaml = "exploration: 0, preference_boost: 0.5, cost_cents: { letter: 1 }";
        harness_config_write(h, &cfg);
        harness_enqueue(h, 1, 12, NULL);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_uint_eq(harness_wait_sent(h, 12, 20000), 12);
        harness_daemon_stop(d);

        char day[16];
        today(day);
        long long per_channel[3] = { 0 };
        for (int i = 1; i <= 12; i++) {
                const char *ch = harness_channel_of(i);
                char rid[19], rf[EPCQR_RF_MAX + 1], inv[32];
                struct error err;
                harness_reminder_id(i, rid);
                /* The customer: one send on the preferred channel. */
                ck_assert_int_eq(hget(h, "HGET dunning:customer:C-%d sent:%s", i, ch),
                                 1);
                char *last = harness_redis_str(h, "HGET dunning:customer:C-%d last_sent:%s", i, ch);
                ck_assert_msg(last && atoll(last) > 1700000000000LL, "last_sent %s", last);
                free(last);
                char *tz = harness_redis_str(h, "HGET dunning:customer:C-%d tz", i);
                ck_assert_str_eq(tz, "Europe/Amsterdam");
                free(tz);
                /* The invoice: open, its amount, the last touch. */
                char *touch = harness_redis_str(h, "HGET dunning:invoice:INV-%d last", i);
                char want[64];
                snprintf(want, sizeof(want), "%s|%s|", ch, rid);
                ck_assert_msg(touch && strncmp(touch, want, strlen(want)) == 0, "last %s", touch);
                ck_assert_msg(strstr(touch, "|reminder-1|it") != NULL, "last %s", touch);
                free(touch);
                /* Open: no status until it is paid. */
                ck_assert_int_eq(harness_redis_int(h, "HEXISTS dunning:invoice:INV-%d status", i),
                                 0);
                ck_assert_int_eq(
                        hget(h, "HGET dunning:invoice:INV-%d amount_cents", i),
                        1000 + i);
                /* No pay link, no SMS provider: nothing can name the
                 * reminder later, so it has no hash of its own. */
                ck_assert_int_eq(harness_redis_int(h, "EXISTS dunning:reminder:%s", rid), 0);
                /* The RF reference a transfer quotes leads to the invoice. */
                snprintf(inv, sizeof(inv), "INV-%d", i);
                ck_assert_int_eq(epcqr_rf_make(rf, inv, &err), 0);
                char *ref = harness_redis_str(h, "GET dunning:ref:%s", rf);
                ck_assert_str_eq(ref, inv);
                free(ref);
                /* What explain needs of the job, not the job: no address,
                 * e-mail address or number in the customer's hash. */
                char *job = harness_redis_str(h, "HGET dunning:customer:C-%d job", i);
                ck_assert_str_eq(job, "reminder-1|it|");
                free(job);
                char *contact = harness_redis_str(h, "HGET dunning:customer:C-%d contact", i);
                ck_assert_msg(contact && !strchr(contact, '@') && !strstr(contact, "+31") &&
                              strstr(contact, "|NL|es|"), "contact %s", contact);
                free(contact);
                ck_assert_int_eq(harness_redis_int(h, "EXISTS dunning:customer-job:C-%d", i), 0);
                per_channel[i % 3]++;
        }
        /* The day's counters, per channel, step, segment and campaign. */
        for (int c = 0; c < 3; c++) {
                const char *ch = harness_channel_of(c);
                ck_assert_int_eq(hget(h, "HGET dunning:stats:%s sent|%s|reminder-1|new|it",
                                                   day, ch),
                                 per_channel[c]);
                ck_assert_int_eq(hget(h, "HGET dunning:segment:new sent:%s", ch),
                                 per_channel[c]);
        }
        /* Letters cost what the config says, e-mail nothing. */
        ck_assert_int_eq(hget(h, "HGET dunning:stats:%s cost|letter|reminder-1|new|it",
                                           day),
                         per_channel[2]);
        ck_assert_int_eq(harness_redis_int(h, "HEXISTS dunning:stats:%s cost|email|reminder-1|new|it",
                                           day),
                         0);
        ck_assert_int_gt(harness_redis_int(h, "TTL dunning:customer:C-1"), 86400 * 300);

        /* stats reads the same numbers back. */
        struct harness_ctl r;
        harness_ctl_run(h, &r, "stats", "--json", NULL);
        ck_assert_msg(r.status == 0, "stats: %s", r.err);
        json_error_t jerr;
        json_t *root = json_loads(r.out, 0, &jerr);
        ck_assert_msg(root != NULL, "stats --json: %s\n%s", jerr.text, r.out);
        json_t *rows = json_object_get(root, "rows");
        ck_assert_uint_eq(json_array_size(rows), 3);
        for (size_t k = 0; k < 3; k++) {
                json_t *row = json_array_get(rows, k);
                const char *ch = json_string_value(json_object_get(row, "channel"));
                int c = strcmp(ch, "email") == 0 ? 0 : strcmp(ch, "sms") == 0 ? 1 : 2;
                ck_assert_int_eq(json_integer_value(json_object_get(row, "sent")), per_channel[c]);
                ck_assert_str_eq(json_string_value(json_object_get(row, "step")), "reminder-1");
                ck_assert(json_is_null(json_object_get(row, "conversion")) == false);
                ck_assert(json_is_null(json_object_get(row, "uplift")));
        }
        json_decref(root);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "stats", "--campaign", "other", "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        root = json_loads(r.out, 0, NULL);
        ck_assert_uint_eq(json_array_size(json_object_get(root, "rows")), 0);
        json_decref(root);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "stats", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "reminder-1") && strstr(r.out, "letter"), "%s", r.out);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "stats", "--since", "yesterday", NULL);
        ck_assert_int_eq(r.status, 2);
        harness_ctl_free(&r);

        /* explain: the history and the policy's choice, without the
         * customer's address or number. */
        harness_ctl_run(h, &r, "explain", "C-4", NULL);
        ck_assert_msg(r.status == 0, "explain: %s", r.err);
        ck_assert_msg(strstr(r.out, "customer C-4") && strstr(r.out, "segment  new") &&
                      strstr(r.out, "policy   next reminder-1 now: sms"),
                      "%s", r.out);
        ck_assert_msg(!strstr(r.out, "klant4@") && !strstr(r.out, "+316"), "%s", r.out);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "explain", "C-4", "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        root = json_loads(r.out, 0, NULL);
        ck_assert_msg(root, "%s", r.out);
        ck_assert_int_eq(json_integer_value(json_object_get(
                                 json_object_get(json_object_get(root, "channels"), "sms"), "sent")),
                         1);
        ck_assert_str_eq(json_string_value(json_array_get(
                                 json_object_get(json_object_get(root, "policy"), "order"), 0)),
                         "sms");
        json_decref(root);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "explain", "C-404", NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "no history for customer C-404"), "%s", r.err);
        harness_ctl_free(&r);
        harness_free(h);
}
END_TEST

/* Job 1 at step, with amount_cents for its invoice's amount (unless
 * negative), as a line of JSON (owned). */
static char *step_line(const char *step, int amount_cents)
{
        static const char from[] = "\"step\":\"reminder-1\"", amt[] = "\"amount_cents\":";
        char *job = harness_job_json(1, NULL), *out, amount[24];
        char *st = strstr(job, from), *am = strstr(job, amt);
        ck_assert(st && am && st < am);
        char *digits = am + strlen(amt), *end = digits;
        while (*end >= '0' && *end <= '9')
                end++;
        if (amount_cents < 0)
                snprintf(amount, sizeof(amount), "%.*s", (int)(end - digits), digits);
        else
                snprintf(amount, sizeof(amount), "%d", amount_cents);
        char *after = st + strlen(from);
        ck_assert(asprintf(&out, "%.*s\"step\":\"%s\"%.*s%s%s\n", (int)(st - job), job, step,
                           (int)(digits - after), after, amount, end) > 0);
        free(job);
        return out;
}

/* Job 1 at step, enqueued now. */
static void enqueue_step(struct harness *h, const char *step)
{
        char *line = step_line(step, -1);
        char *path = harness_write_file(h, "step.jsonl", line);
        harness_enqueue_file(h, path);
        free(path);
        free(line);
}

/* A send gives the customer's and invoice's keys their time to live and
 * writes the reference key; a later send within a day leaves them be (an
 * EXPIRE per key is what later steps would cost Redis most), one after a
 * day sets them again. */
START_TEST(test_ttl_set_once_a_day)
{
        struct harness *h = harness_new();
        struct harness_config cfg;
        harness_config_defaults(&cfg);
        harness_config_write(h, &cfg);
        struct harness_daemon *d = harness_daemon_start(h);
        char rf[EPCQR_RF_MAX + 1];
        struct error err;
        ck_assert_int_eq(epcqr_rf_make(rf, "INV-1", &err), 0);
        long long year = 86400LL * 300;

        enqueue_step(h, "reminder-1");
        ck_assert_uint_eq(harness_wait_sent(h, 1, 20000), 1);
        long long t0 = hget(h, "HGET dunning:customer:C-1 exp_ms");
        ck_assert_int_gt(t0, harness_now_ms() - 60000);
        ck_assert_int_eq(hget(h, "HGET dunning:invoice:INV-1 exp_ms"), t0);
        ck_assert_int_eq(hget(h, "HGET dunning:invoice:INV-1 ref_ms"), t0);
        ck_assert_int_gt(harness_redis_int(h, "TTL dunning:customer:C-1"), year);
        ck_assert_int_gt(harness_redis_int(h, "TTL dunning:invoice:INV-1"), year);
        ck_assert_int_gt(harness_redis_int(h, "TTL dunning:ref:%s", rf), year);

        /* Within the day: not set again. */
        harness_redis_cmd(h, "EXPIRE dunning:customer:C-1 5000");
        harness_redis_cmd(h, "EXPIRE dunning:invoice:INV-1 5000");
        harness_redis_cmd(h, "DEL dunning:ref:%s", rf);
        enqueue_step(h, "reminder-2");
        ck_assert_uint_eq(harness_wait_sent(h, 2, 20000), 2);
        ck_assert_int_le(harness_redis_int(h, "TTL dunning:customer:C-1"), 5000);
        ck_assert_int_le(harness_redis_int(h, "TTL dunning:invoice:INV-1"), 5000);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS dunning:ref:%s", rf), 0);
        ck_assert_int_eq(hget(h, "HGET dunning:customer:C-1 exp_ms"), t0);
        ck_assert_int_eq(hget(h, "HGET dunning:customer:C-1 sent:%s", harness_channel_of(1)),
                         2);

        /* Set more than a day ago: set again, with the reference. */
        long long old = harness_now_ms() - 25LL * 3600 * 1000;
        harness_redis_cmd(h, "HSET dunning:customer:C-1 exp_ms %lld", old);
        harness_redis_cmd(h, "HSET dunning:invoice:INV-1 exp_ms %lld ref_ms %lld", old, old);
        enqueue_step(h, "final-notice");
        ck_assert_uint_eq(harness_wait_sent(h, 3, 20000), 3);
        harness_daemon_stop(d);
        ck_assert_int_gt(harness_redis_int(h, "TTL dunning:customer:C-1"), year);
        ck_assert_int_gt(harness_redis_int(h, "TTL dunning:invoice:INV-1"), year);
        char *ref = harness_redis_str(h, "GET dunning:ref:%s", rf);
        ck_assert_str_eq(ref, "INV-1");
        free(ref);
        ck_assert_int_gt(hget(h, "HGET dunning:customer:C-1 exp_ms"), t0);
        ck_assert_int_gt(hget(h, "HGET dunning:invoice:INV-1 ref_ms"), t0);
        harness_free(h);
}
END_TEST

/* redis-cli MONITOR of the test's Redis into path (made anew), once it
 * listens. */
static pid_t monitor_start(struct harness *h, const char *path)
{
        unlink(path);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
                        _exit(127);
                execlp("redis-cli", "redis-cli", "-s", h->sock, "MONITOR", (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 500; i++) {
                char *text = harness_read_file(path);
                bool up = text && strstr(text, "OK");
                free(text);
                if (up)
                        return pid;
                harness_sleep_ms(10);
        }
        ck_abort_msg("redis-cli MONITOR did not start");
        return pid;
}

/* The last command the monitor wrote to path that starts with prefix
 * (quoted as MONITOR prints it) and holds needle, or NULL. */
static char *monitor_find(const char *path, const char *prefix, const char *needle)
{
        char *text = harness_read_file(path), *last = NULL, *save = NULL;
        for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
                char *at = strstr(line, prefix);
                if (at && strstr(at, needle)) {
                        free(last);
                        last = strdup(at);
                }
        }
        free(text);
        return last;
}

/* Waits (10 s at most) for the monitor to show a command as in
 * monitor_find, then stops it; returns that command or NULL. */
static char *monitor_wait(pid_t pid, const char *path, const char *prefix, const char *needle)
{
        char *found = NULL;
        for (int i = 0; i < 1000 && !(found = monitor_find(path, prefix, needle)); i++)
                harness_sleep_ms(10);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return found;
}

#define INVOICE_HSET "\"HSET\" \"dunning:invoice:INV-1\""
#define CUSTOMER_HSET "\"HSET\" \"dunning:customer:C-1\" \"last_sent:"

/* A later step rewrites only what changed of an invoice and a customer
 * whose keys live on (the invoice's HSET is its last touch alone), and
 * everything when something did (here a due date that is not the job's). */
START_TEST(test_later_step_writes_what_changed)
{
        struct harness *h = harness_new();
        struct harness_config cfg;
        harness_config_defaults(&cfg);
        harness_config_write(h, &cfg);
        struct harness_daemon *d = harness_daemon_start(h);
        char path[512];
        snprintf(path, sizeof(path), "%s/monitor.txt", h->dir);

        enqueue_step(h, "reminder-1");
        ck_assert_uint_eq(harness_wait_sent(h, 1, 20000), 1);
        char *due = harness_redis_str(h, "HGET dunning:invoice:INV-1 due");
        char *owed = harness_redis_str(h, "HGET dunning:customer:C-1 owed");
        ck_assert(due && owed);

        pid_t mon = monitor_start(h, path);
        enqueue_step(h, "reminder-2");
        ck_assert_uint_eq(harness_wait_sent(h, 2, 20000), 2);
        char *cust = monitor_wait(mon, path, CUSTOMER_HSET, "reminder-2");
        char *inv = monitor_find(path, INVOICE_HSET, "reminder-2");
        ck_assert_msg(inv && strstr(inv, "\"last\" \""), "%s", inv);
        ck_assert_msg(!strstr(inv, "amount_cents") && !strstr(inv, "\"due\""), "%s", inv);
        ck_assert_msg(cust && !strstr(cust, "\"contact\"") && !strstr(cust, "\"owed\""), "%s",
                      cust);
        free(inv);
        free(cust);
        char *touch = harness_redis_str(h, "HGET dunning:invoice:INV-1 last");
        ck_assert_msg(touch && strstr(touch, "reminder-2"), "%s", touch);
        free(touch);
        char *due2 = harness_redis_str(h, "HGET dunning:invoice:INV-1 due");
        ck_assert_str_eq(due2, due);
        free(due2);

        /* A stored value that is not what the job says: written again. */
        harness_redis_cmd(h, "HSET dunning:invoice:INV-1 due 1999-01-01");
        harness_redis_cmd(h, "HDEL dunning:customer:C-1 owed");
        mon = monitor_start(h, path);
        enqueue_step(h, "final-notice");
        ck_assert_uint_eq(harness_wait_sent(h, 3, 20000), 3);
        inv = monitor_wait(mon, path, INVOICE_HSET, "final-notice");
        harness_daemon_stop(d);
        ck_assert_msg(inv && strstr(inv, "amount_cents"), "%s", inv);
        free(inv);
        due2 = harness_redis_str(h, "HGET dunning:invoice:INV-1 due");
        ck_assert_str_eq(due2, due);
        free(due2);
        char *owed2 = harness_redis_str(h, "HGET dunning:customer:C-1 owed");
        ck_assert_str_eq(owed2, owed);
        free(owed2);
        free(due);
        free(owed);
        harness_free(h);
}
END_TEST

/* Two jobs of one batch for one customer and invoice, the first changing
 * the amount, the second back to what was stored: the second is written
 * whole, so the hashes hold one job's fields, not a mix of the two. */
START_TEST(test_one_batch_twice_the_same_customer)
{
        struct harness *h = harness_new();
        struct harness_config cfg;
        harness_config_defaults(&cfg);
        cfg.workers = 1;
        harness_config_write(h, &cfg);
        struct harness_daemon *d = harness_daemon_start(h);
        enqueue_step(h, "reminder-1");
        ck_assert_uint_eq(harness_wait_sent(h, 1, 20000), 1);
        harness_daemon_stop(d);
        char *amount = harness_redis_str(h, "HGET dunning:invoice:INV-1 amount_cents");
        char *owed = harness_redis_str(h, "HGET dunning:customer:C-1 owed");
        ck_assert(amount && owed);

        char *a = step_line("reminder-2", atoi(amount) + 1000);
        char *b = step_line("final-notice", atoi(amount));
        char *both;
        ck_assert(asprintf(&both, "%s%s", a, b) > 0);
        char *path = harness_write_file(h, "both.jsonl", both);
        harness_enqueue_file(h, path);
        d = harness_daemon_start(h);
        ck_assert_uint_eq(harness_wait_sent(h, 3, 20000), 3);
        harness_daemon_stop(d);

        char *job = harness_redis_str(h, "HGET dunning:customer:C-1 job");
        char *owed2 = harness_redis_str(h, "HGET dunning:customer:C-1 owed");
        char *amount2 = harness_redis_str(h, "HGET dunning:invoice:INV-1 amount_cents");
        char *touch = harness_redis_str(h, "HGET dunning:invoice:INV-1 last");
        ck_assert_msg(job && strncmp(job, "final-notice|", 13) == 0, "%s", job);
        ck_assert_str_eq(owed2, owed);
        ck_assert_str_eq(amount2, amount);
        ck_assert_msg(touch && strstr(touch, "final-notice"), "%s", touch);
        free(job);
        free(owed2);
        free(amount2);
        free(touch);
        free(path);
        free(both);
        free(a);
        free(b);
        free(amount);
        free(owed);
        harness_free(h);
}
END_TEST

START_TEST(test_paid_invoice_is_never_reminded)
{
        struct harness *h = harness_new();
        /* INV-1 paid after an earlier reminder; INV-2 paid in full before
         * any reminder (only the payment is known); INV-3 half paid. */
        harness_redis_cmd(h, "HSET dunning:invoice:INV-1 status paid paid_cents 1001");
        harness_redis_cmd(h, "HSET dunning:invoice:INV-2 paid_cents 1002");
        harness_redis_cmd(h, "HSET dunning:invoice:INV-3 paid_cents 500 status open");
        harness_enqueue(h, 1, 3, NULL);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_uint_eq(harness_wait_sent(h, 1, 20000), 1);
        harness_wait_no_pending(h, 10000);
        harness_daemon_stop(d);

        struct harness_entry *e;
        size_t n = harness_xrange(h, "dunning:events", &e), skipped = 0;
        char rid1[19], rid2[19], rid3[19];
        harness_reminder_id(1, rid1);
        harness_reminder_id(2, rid2);
        harness_reminder_id(3, rid3);
        for (size_t i = 0; i < n; i++) {
                const char *type = harness_entry_get(&e[i], "type");
                const char *rid = harness_entry_get(&e[i], "reminder");
                if (strcmp(type, "skipped") == 0) {
                        ck_assert_str_eq(harness_entry_get(&e[i], "reason"), "paid");
                        ck_assert_msg(strcmp(rid, rid1) == 0 || strcmp(rid, rid2) == 0, "%s", rid);
                        skipped++;
                }
                if (strcmp(type, "sent") == 0)
                        ck_assert_str_eq(rid, rid3);
        }
        ck_assert_uint_eq(skipped, 2);
        harness_entries_free(e, n);
        ck_assert(!harness_outbox_has(h, 1));
        ck_assert(!harness_outbox_has(h, 2));
        ck_assert(harness_outbox_has(h, 3));
        ck_assert_int_eq(harness_pending(h), 0);
        harness_free(h);
}
END_TEST

START_TEST(test_holdout_is_kept_from_the_step)
{
        struct harness *h = harness_new();
        const int n = 150;
        char *path = write_holdout_jobs(h, 1, n, "0.2");
        harness_enqueue_file(h, path);
        free(path);
        int want = 0;
        for (int i = 1; i <= n; i++) {
                char id[16];
                snprintf(id, sizeof(id), "C-%d", i);
                want += policy_held_out(id, "it", "reminder-1", 0.2);
        }
        ck_assert_msg(want > 10 && want < 50, "holdout of 150 at 0.2: %d", want);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_uint_eq(harness_wait_sent(h, (size_t)(n - want), 20000), (size_t)(n - want));
        harness_wait_no_pending(h, 10000);
        harness_daemon_stop(d);

        ck_assert_uint_eq(harness_count_events(h, "held_out"), (size_t)want);
        ck_assert_uint_eq(harness_count_events(h, "sent"), (size_t)(n - want));
        for (int i = 1; i <= n; i++) {
                char id[16];
                snprintf(id, sizeof(id), "C-%d", i);
                bool held = policy_held_out(id, "it", "reminder-1", 0.2);
                ck_assert_msg(harness_outbox_has(h, i) == !held, "C-%d held %d", i, held);
                if (held) {
                        char *t = harness_redis_str(h, "HGET dunning:invoice:INV-%d held_out", i);
                        ck_assert_msg(t && strstr(t, "|reminder-1|it"), "held_out %s", t);
                        free(t);
                }
        }
        struct harness_ctl r;
        harness_ctl_run(h, &r, "stats", "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        json_t *root = json_loads(r.out, 0, NULL);
        json_t *hold = json_array_get(json_object_get(root, "holdout"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(hold, "step")), "reminder-1");
        ck_assert_int_eq(json_integer_value(json_object_get(hold, "held_out")), want);
        json_decref(root);
        harness_ctl_free(&r);
        harness_free(h);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("history");
        TCase *tc = tcase_create("history");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_send_writes_history);
        tcase_add_test(tc, test_ttl_set_once_a_day);
        tcase_add_test(tc, test_later_step_writes_what_changed);
        tcase_add_test(tc, test_one_batch_twice_the_same_customer);
        tcase_add_test(tc, test_paid_invoice_is_never_reminded);
        tcase_add_test(tc, test_holdout_is_kept_from_the_step);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(suite());
}
