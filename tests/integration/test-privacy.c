/* test-privacy.c: a customer's access and erasure requests (dunningctl
 * export and forget), stream retention, and Redis ACL users. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "queue.h"

/* Customer 1: sent, then a scheduled job, a dead letter and a payment
 * entry besides; customers 2..4 sent too and must survive forget. */
static void world(struct harness *h)
{
        harness_enqueue(h, 1, 4, NULL);
        /* C-10 and C-11: ids that begin with C-1, INV-10 with INV-1. */
        harness_enqueue(h, 10, 2, NULL);
        ck_assert_uint_eq(harness_wait_sent(h, 6, 30000), 6);

        /* The next step, waiting in the scheduled set. */
        char *job = harness_job_json(1, "2030-01-01T09:00:00Z");
        char *step2 = NULL;
        const char *at = strstr(job, "reminder-1");
        ck_assert(asprintf(&step2, "%.*sreminder-2%s", (int)(at - job), job,
                           at + strlen("reminder-1")) >= 0);
        harness_redis_cmd(h, "ZADD %s %s %s", HARNESS_PREFIX ":scheduled", "1893488400000", step2);
        /* A dead letter of an invalid job of the customer's. */
        harness_redis_cmd(h, "XADD %s * job %s reason invalid error %s", HARNESS_PREFIX ":dead",
                          "{\"v\":1,\"customer\":{\"id\":\"C-1\",\"name\":\"Klant 1\"}}",
                          "invoices: required");
        /* A payment of its invoice, and one of another customer's. */
        harness_redis_cmd(h, "XADD %s * invoice INV-1 amount_cents 10 method ideal",
                          HARNESS_PREFIX ":payments");
        harness_redis_cmd(h, "XADD %s * invoice INV-2 amount_cents 10 method ideal",
                          HARNESS_PREFIX ":payments");
        free(job);
        free(step2);
}

static json_t *run_json(struct harness *h, const char *cmd, const char *arg, const char *more)
{
        struct harness_ctl r;
        harness_ctl_run(h, &r, cmd, arg, more, NULL);
        ck_assert_msg(r.status == 0, "%s %s: %s", cmd, arg, r.err);
        json_error_t e;
        json_t *j = json_loads(r.out, 0, &e);
        ck_assert_msg(j != NULL, "%s: %s", e.text, r.out);
        harness_ctl_free(&r);
        return j;
}

/* Whether text holds token not followed by a digit ("C-1", not "C-12"). */
static bool names(const char *text, const char *token)
{
        size_t n = strlen(token);
        for (const char *p = text; (p = strstr(p, token)); p += n)
                if (p[n] < '0' || p[n] > '9')
                        return true;
        return false;
}

static bool names_c1(const char *text)
{
        return names(text, "C-1");
}

static size_t stream_entries_naming_c1(struct harness *h, const char *name)
{
        struct harness_entry *e;
        char key[64];
        snprintf(key, sizeof(key), "%s:%s", HARNESS_PREFIX, name);
        size_t n = harness_xrange(h, key, &e), hits = 0;
        for (size_t i = 0; i < n; i++)
                for (size_t f = 0; f < e[i].n_fields; f++)
                        if (names_c1(e[i].values[f]) || names(e[i].values[f], "INV-1"))
                                hits++;
        harness_entries_free(e, n);
        return hits;
}

START_TEST(test_export_has_everything_explain_knows)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        world(h);
        harness_daemon_stop(d); /* nothing moves while we look */

        json_t *ex = run_json(h, "export", "C-1", NULL);
        json_t *explain = run_json(h, "explain", "C-1", "--json");
        /* What explain shows, all of it, as explain shows it. */
        ck_assert(json_equal(json_object_get(ex, "explain"), explain));
        ck_assert_str_eq(json_string_value(json_object_get(ex, "customer")), "C-1");
        /* The customer hash, every field (the profile ones too). */
        json_t *keys = json_object_get(ex, "keys");
        json_t *cust = json_object_get(json_object_get(keys, "customer:C-1"), "value");
        ck_assert_ptr_nonnull(cust);
        redisReply *all = redisCommand(h->redis, "HGETALL %s", HARNESS_PREFIX ":customer:C-1");
        ck_assert(all && all->type == REDIS_REPLY_ARRAY && all->elements >= 8);
        for (size_t i = 0; i + 1 < all->elements; i += 2) {
                const char *v = json_string_value(json_object_get(cust, all->element[i]->str));
                ck_assert_msg(v && strcmp(v, all->element[i + 1]->str) == 0, "field %s",
                              all->element[i]->str);
        }
        freeReplyObject(all);
        ck_assert_ptr_nonnull(json_object_get(cust, "job"));
        ck_assert_ptr_nonnull(json_object_get(cust, "contact"));
        /* Its invoice and reminder, and the keys that hold them. */
        char rid[19], key[64];
        harness_reminder_id(1, rid);
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(ex, "invoices"), 0)),
                         "INV-1");
        ck_assert_uint_eq(json_array_size(json_object_get(ex, "invoices")), 1);
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(ex, "reminders"), 0)),
                         rid);
        ck_assert_str_eq(json_string_value(json_object_get(
                                 json_object_get(json_object_get(keys, "invoice:INV-1"), "value"),
                                 "customer")),
                         "C-1");
        snprintf(key, sizeof(key), "sent:%s:%s", rid, harness_channel_of(1));
        ck_assert_ptr_nonnull(json_object_get(keys, key));
        /* Nothing of another customer's. */
        ck_assert_ptr_null(json_object_get(keys, "customer:C-2"));
        ck_assert_ptr_null(json_object_get(keys, "invoice:INV-2"));
        ck_assert_ptr_null(json_object_get(keys, "customer:C-10"));
        ck_assert_ptr_null(json_object_get(keys, "invoice:INV-10"));
        /* The scheduled job, the dead letter, its events and payment. */
        json_t *sched = json_object_get(ex, "scheduled_jobs");
        ck_assert_uint_eq(json_array_size(sched), 1);
        ck_assert_str_eq(json_string_value(json_object_get(
                                 json_object_get(json_array_get(sched, 0), "job"), "step")),
                         "reminder-2");
        ck_assert_uint_eq(json_array_size(json_object_get(ex, "dead_letters")), 1);
        ck_assert_uint_eq(json_array_size(json_object_get(ex, "payments")), 1);
        json_t *events = json_object_get(ex, "events");
        ck_assert_uint_ge(json_array_size(events), 1);
        size_t i;
        json_t *e;
        json_array_foreach(events, i, e) ck_assert_str_eq(
                json_string_value(json_object_get(json_object_get(e, "fields"), "customer")),
                "C-1");
        /* No message body anywhere: the texts are in the outbox only. */
        char *text = json_dumps(ex, 0);
        ck_assert_ptr_null(strstr(text, "Geachte"));
        ck_assert_ptr_null(strstr(text, "Subject"));
        free(text);
        json_decref(ex);
        json_decref(explain);

        /* An unknown customer exports empty lists, not an error. */
        json_t *none = run_json(h, "export", "C-999", NULL);
        ck_assert(json_is_null(json_object_get(none, "explain")));
        ck_assert_uint_eq(json_object_size(json_object_get(none, "keys")), 0);
        json_decref(none);
        harness_free(h);
}
END_TEST

static int scan_keys_naming_c1(struct harness *h)
{
        int hits = 0;
        char cursor[32] = "0";
        do {
                redisReply *r = redisCommand(h->redis, "SCAN %s COUNT 1000", cursor);
                ck_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
                snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
                for (size_t i = 0; i < r->element[1]->elements; i++) {
                        const char *k = r->element[1]->element[i]->str;
                        if (names_c1(k) || names(k, "INV-1")) {
                                fprintf(stderr, "privacy: left: %s\n", k);
                                hits++;
                        }
                }
                freeReplyObject(r);
        } while (strcmp(cursor, "0") != 0);
        return hits;
}

START_TEST(test_forget_leaves_nothing)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        world(h);
        harness_daemon_stop(d);
        ck_assert_int_gt(scan_keys_naming_c1(h), 0);
        ck_assert_uint_gt(stream_entries_naming_c1(h, "events"), 0);

        struct harness_ctl r;
        harness_ctl_run(h, &r, "forget", "C-1", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_ptr_nonnull(strstr(r.out, "forgot customer: "));
        ck_assert(!names_c1(r.out));
        harness_ctl_free(&r);

        ck_assert_int_eq(scan_keys_naming_c1(h), 0);
        static const char *const streams[] = { "jobs", "dead", "events", "payments" };
        for (int s = 0; s < 4; s++)
                ck_assert_msg(stream_entries_naming_c1(h, streams[s]) == 0, "%s", streams[s]);
        char rid[19];
        harness_reminder_id(1, rid);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s:sent:%s:%s", HARNESS_PREFIX, rid,
                                           harness_channel_of(1)),
                         0);
        redisReply *m = redisCommand(h->redis, "ZRANGE %s 0 -1", HARNESS_PREFIX ":scheduled");
        for (size_t i = 0; i < m->elements; i++)
                ck_assert(!names_c1(m->element[i]->str));
        freeReplyObject(m);
        /* One erasure event, naming nobody. */
        ck_assert_uint_eq(harness_count_events(h, "erased"), 1);
        /* The others are untouched. */
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s", HARNESS_PREFIX ":customer:C-2"), 1);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s", HARNESS_PREFIX ":invoice:INV-2"), 1);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s", HARNESS_PREFIX ":customer:C-10"), 1);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s", HARNESS_PREFIX ":invoice:INV-10"), 1);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s", HARNESS_PREFIX ":customer:C-11"), 1);
        ck_assert_uint_eq(harness_count_events(h, "sent"), 5);
        /* export agrees: nothing left. */
        json_t *ex = run_json(h, "export", "C-1", NULL);
        ck_assert_uint_eq(json_object_size(json_object_get(ex, "keys")), 0);
        ck_assert_uint_eq(json_array_size(json_object_get(ex, "events")), 0);
        json_decref(ex);
        /* Twice is harmless. */
        harness_ctl_run(h, &r, "forget", "C-1", NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);
        harness_free(h);
}
END_TEST

/* Customer n's invoice in two installments, the first in 20 days. */
static void arrange(struct harness *h, int n)
{
        struct harness_ctl r;
        char *job = harness_job_json(n, NULL), name[32], inv[32], first[11];
        snprintf(name, sizeof(name), "job%d.json", n);
        snprintf(inv, sizeof(inv), "INV-%d", n);
        char *path = harness_write_file(h, name, job);
        time_t t = time(NULL) + 20 * 86400;
        strftime(first, sizeof(first), "%Y-%m-%d", gmtime(&t));
        harness_ctl_run(h, &r, "arrange", inv, "--installments", "2", "--first", first,
                        "--every", "1m", "--job", path, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        harness_ctl_free(&r);
        free(path);
        free(job);
}

/* A hold put on and released on one of its invoices (events naming the
 * invoice, not the customer) and a payment arrangement (a hash naming the
 * customer under a key that does not): forget takes both. */
START_TEST(test_forget_takes_holds_and_arrangements)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        world(h);
        harness_daemon_stop(d);
        struct harness_ctl r;
        harness_ctl_run(h, &r, "hold", "INV-1", "--reason", "other", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "release", "INV-1", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        harness_ctl_free(&r);
        arrange(h, 1);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s", HARNESS_PREFIX ":arrangement:A-1"), 1);
        arrange(h, 2); /* another customer's, which stays */
        char rid[19], rid2[19];
        harness_reminder_id(1, rid);
        harness_reminder_id(2, rid2);
        harness_redis_cmd(h, "XADD %s * type delivered reminder %s", HARNESS_PREFIX ":events",
                          rid);
        harness_redis_cmd(h, "XADD %s * type delivered reminder %s", HARNESS_PREFIX ":events",
                          rid2);

        json_t *ex = run_json(h, "export", "C-1", NULL);
        ck_assert_ptr_nonnull(json_object_get(json_object_get(ex, "keys"), "arrangement:A-1"));
        ck_assert_ptr_null(json_object_get(json_object_get(ex, "keys"), "arrangement:A-2"));
        json_decref(ex);

        harness_ctl_run(h, &r, "forget", "C-1", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s", HARNESS_PREFIX ":arrangement:A-1"), 0);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s", HARNESS_PREFIX ":arrangement:A-2"), 1);
        ck_assert_int_eq(scan_keys_naming_c1(h), 0);
        static const char *const streams[] = { "jobs", "dead", "events", "payments" };
        for (int s = 0; s < 4; s++)
                ck_assert_msg(stream_entries_naming_c1(h, streams[s]) == 0, "%s", streams[s]);
        ck_assert_uint_gt(harness_events_with(h, "arrangement", "customer", "C-2"), 0);
        /* the delivery report of its SMS named only the reminder */
        ck_assert_uint_eq(harness_events_with(h, "delivered", "reminder", rid), 0);
        ck_assert_uint_eq(harness_events_with(h, "delivered", "reminder", rid2), 1);
        harness_free(h);
}
END_TEST

/* A customer whose id is a word other keys use as a label (a channel in
 * sent:<reminder>:<channel>, a kind in held:<kind>:<id>) owns none of
 * them: forget takes nothing of the other customers'. */
START_TEST(test_forget_label_ids_take_nothing_else)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        world(h);
        harness_daemon_stop(d);
        harness_redis_cmd(h, "HSET %s r-x {}", HARNESS_PREFIX ":held:customer:C-2");
        harness_redis_cmd(h, "HSET %s r-x {}", HARNESS_PREFIX ":held:invoice:INV-2");
        static const char *const ids[] = { "email", "sms", "letter", "customer", "invoice" };
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                struct harness_ctl r;
                harness_ctl_run(h, &r, "forget", ids[i], NULL);
                ck_assert_msg(r.status == 0, "%s", r.err);
                ck_assert_msg(strstr(r.out, "forgot customer: 0 keys"), "%s: %s", ids[i], r.out);
                harness_ctl_free(&r);
        }
        for (int n = 1; n <= 4; n++) {
                char rid[19];
                harness_reminder_id(n, rid);
                ck_assert_int_eq(harness_redis_int(h, "EXISTS %s:sent:%s:%s", HARNESS_PREFIX,
                                                   rid, harness_channel_of(n)),
                                 1);
        }
        ck_assert_int_eq(harness_redis_int(h, "EXISTS " HARNESS_PREFIX ":held:customer:C-2"), 1);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS " HARNESS_PREFIX ":held:invoice:INV-2"), 1);
        harness_free(h);
}
END_TEST

/* Entries of stream name older than 30 days. */
static size_t older_than_30_days(struct harness *h, const char *name)
{
        struct harness_entry *e;
        char key[64];
        snprintf(key, sizeof(key), "%s:%s", HARNESS_PREFIX, name);
        size_t n = harness_xrange(h, key, &e), old = 0;
        for (size_t i = 0; i < n; i++)
                old += strtoll(e[i].id, NULL, 10) < harness_now_ms() - 30LL * 86400000;
        harness_entries_free(e, n);
        return old;
}

static bool events_trimmed(void *arg)
{
        return older_than_30_days(arg, "events") == 0;
}

static bool payments_trimmed(void *arg)
{
        return older_than_30_days(arg, "payments") == 0;
}

/* Housekeeping every 200 ms, events and payments kept 30 days; old gets
 * the entry id of 40 days ago. */
static struct harness *retention_world(char old[32])
{
        struct harness *h = harness_new();
        struct harness_config c;
        harness_config_defaults(&c);
        c.housekeep_interval_ms = 200;
        c.extra_yaml = "retention: { events_days: 30, payments_days: 30 }";
        harness_config_write(h, &c);
        snprintf(old, 32, "%lld-0", (long long)(harness_now_ms() - 40LL * 86400000));
        return h;
}

START_TEST(test_events_trimmed_by_age)
{
        char old[32];
        struct harness *h = retention_world(old);
        /* An event of 40 days ago and one of now; likewise payments. */
        harness_redis_cmd(h, "XADD %s %s type sent", HARNESS_PREFIX ":events", old);
        harness_redis_cmd(h, "XADD %s * type sent", HARNESS_PREFIX ":events");
        harness_redis_cmd(h, "XADD %s %s invoice X", HARNESS_PREFIX ":payments", old);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert(harness_wait_until(events_trimmed, h, 10000));
        /* the old payment once dunningd has applied it */
        ck_assert(harness_wait_until(payments_trimmed, h, 10000));
        /* The recent one stays. */
        ck_assert_int_ge(harness_xlen(h, "events"), 1);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

/* An old payment a consumer group has not read yet (dunningd down longer
 * than the retention, or another reader of the stream) is not trimmed. */
START_TEST(test_unread_payments_not_trimmed)
{
        char old[32];
        struct harness *h = retention_world(old);
        harness_redis_cmd(h, "XADD %s %s invoice Y", HARNESS_PREFIX ":payments", old);
        harness_redis_cmd(h, "XGROUP CREATE %s audit 0", HARNESS_PREFIX ":payments");
        harness_redis_cmd(h, "XADD %s %s type sent", HARNESS_PREFIX ":events", old);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert(harness_wait_until(events_trimmed, h, 10000));
        usleep(600 * 1000); /* more housekeeping rounds, after dunningd read it */
        ck_assert_uint_eq(older_than_30_days(h, "payments"), 1);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

/* The config with redis.username and redis.password_file added. */
static void acl_config(struct harness *h, const char *password)
{
        harness_config_write(h, NULL);
        char *pw = harness_write_file(h, "redis.pass", password);
        char *text = harness_read_file(h->config_path), *out;
        const char *at = strstr(text, "prefix: " HARNESS_PREFIX " }");
        ck_assert_ptr_nonnull(at);
        ck_assert(asprintf(&out, "%.*sprefix: %s, username: dunningd, password_file: %s }%s",
                           (int)(at - text), text, HARNESS_PREFIX, pw,
                           at + strlen("prefix: " HARNESS_PREFIX " }")) >= 0);
        harness_config_write_text(h, out);
        free(out);
        free(text);
        free(pw);
}

START_TEST(test_acl_user)
{
        struct harness *h = harness_new();
        harness_redis_cmd(h, "ACL SETUSER dunningd on >s3cret-pw ~* &* +@all");
        acl_config(h, "s3cret-pw\n");
        struct harness_ctl r;
        harness_ctl_run(h, &r, "status", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        harness_ctl_free(&r);
        struct harness_daemon *d = harness_daemon_start(h);
        char *path = harness_write_jobs(h, "jobs.jsonl", 1, 3, NULL);
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);
        ck_assert_uint_eq(harness_wait_sent(h, 3, 20000), 3);
        /* The daemon's connections are the ACL user's. */
        char *clients = harness_redis_str(h, "CLIENT LIST");
        ck_assert_ptr_nonnull(strstr(clients, "user=dunningd"));
        free(clients);
        harness_daemon_stop(d);

        /* A wrong password is refused, and not printed. */
        acl_config(h, "wrong-pw\n");
        harness_ctl_run(h, &r, "status", NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_ptr_nonnull(strstr(r.err, "AUTH"));
        ck_assert_ptr_null(strstr(r.err, "wrong-pw"));
        harness_ctl_free(&r);
        free(path);
        harness_free(h);
}
END_TEST

START_TEST(test_forget_before_any_daemon)
{
        /* Jobs enqueued, no daemon has made the group yet. */
        struct harness *h = harness_new();
        harness_enqueue(h, 1, 3, NULL);
        struct harness_ctl r;
        harness_ctl_run(h, &r, "forget", "C-2", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_ptr_nonnull(strstr(r.out, "and 1 stream entries deleted"));
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 2);
        /* The others still go out. */
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_uint_eq(harness_wait_sent(h, 2, 20000), 2);
        harness_daemon_stop(d);
        ck_assert_uint_eq(harness_count_events(h, "sent"), 2);
        harness_free(h);
}
END_TEST

/* Customers 1 and 2 enqueued, no daemon: their jobs wait in the stream.
 * claim_idle_ms sets how long forget waits for a sending lease (twice
 * it, the lease's lifetime, and a margin). */
static struct harness *enqueued_world(int claim_idle_ms)
{
        struct harness *h = harness_new();
        struct harness_config c;
        harness_config_defaults(&c);
        c.claim_idle_ms = claim_idle_ms;
        harness_config_write(h, &c);
        harness_enqueue(h, 1, 2, NULL);
        return h;
}

static bool c1_job_gone(void *arg)
{
        return stream_entries_naming_c1(arg, "jobs") == 0;
}

/* A worker that read customer 1's job just before forget and holds its
 * sending lease records the outcome after forget's first pass erased
 * everything: what its record writes (the customer's hash, the sent
 * marker, an event naming them) in one transaction that gives the lease
 * back. forget waits for the lease and takes that too. */
START_TEST(test_forget_waits_for_a_send_in_flight)
{
        struct harness *h = enqueued_world(5000);
        char rid[19], lease[64];
        harness_reminder_id(1, rid);
        snprintf(lease, sizeof(lease), "%s:sending:%s", HARNESS_PREFIX, rid);
        harness_redis_cmd(h, "SET %s host-1-0 PX 8000", lease);

        struct harness_ctl_job j;
        harness_ctl_start(h, &j, "forget", "C-1", NULL);
        ck_assert(harness_wait_until(c1_job_gone, h, 20000));
        /* Past forget's grace for a worker about to take a lease: it
         * still waits, for the one taken. */
        harness_sleep_ms(1500);
        bool waited = !harness_ctl_done(&j);
        bool lease_kept = harness_redis_int(h, "EXISTS %s", lease) == 1;
        harness_redis_cmd(h, "MULTI");
        harness_redis_cmd(h, "HSET %s name %s last_sent_at %s", HARNESS_PREFIX ":customer:C-1",
                          "Klant 1", "2026-01-01T09:00:00Z");
        harness_redis_cmd(h, "SET %s:sent:%s:%s 1", HARNESS_PREFIX, rid, harness_channel_of(1));
        harness_redis_cmd(h, "XADD %s * type sent customer C-1 invoice INV-1 reminder %s",
                          HARNESS_PREFIX ":events", rid);
        harness_redis_cmd(h, "DEL %s", lease);
        harness_redis_cmd(h, "EXEC");

        struct harness_ctl r;
        harness_ctl_wait(h, &j, &r);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_int_eq(scan_keys_naming_c1(h), 0);
        ck_assert_uint_eq(stream_entries_naming_c1(h, "events"), 0);
        ck_assert_uint_eq(stream_entries_naming_c1(h, "jobs"), 0);
        ck_assert_msg(waited, "forget returned while a worker held the lease");
        ck_assert_msg(lease_kept, "forget took the worker's lease");
        /* Both passes added up: the enqueued marker and the job entry,
         * then the customer hash, the sent marker and the event. */
        ck_assert_msg(strstr(r.out, "forgot customer: 3 keys and 2 stream entries deleted"), "%s",
                      r.out);
        harness_ctl_free(&r);
        ck_assert_uint_eq(harness_count_events(h, "erased"), 1);
        ck_assert_uint_eq(harness_events_with(h, "erased", "keys", "3"), 1);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 1); /* customer 2's */
        harness_free(h);
}
END_TEST

/* A lease that outlives its lifetime (a send that never ends): forget
 * erases what it found, gives up within the bound and says so. */
START_TEST(test_forget_gives_up_on_a_lease_that_stays)
{
        struct harness *h = enqueued_world(200); /* leases of 400 ms */
        char rid[19], lease[64];
        harness_reminder_id(1, rid);
        snprintf(lease, sizeof(lease), "%s:sending:%s", HARNESS_PREFIX, rid);
        harness_redis_cmd(h, "SET %s host-1-0 PX 60000", lease);

        struct harness_ctl r;
        int64_t t0 = harness_now_ms();
        harness_ctl_run(h, &r, "forget", "C-1", NULL);
        int64_t took = harness_now_ms() - t0;
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "still being written") && strstr(r.err, "still being sent") &&
                              strstr(r.err, "run forget again"),
                      "%s", r.err);
        ck_assert(!names_c1(r.err) && !strstr(r.err, rid));
        ck_assert_str_eq(r.out, "");
        harness_ctl_free(&r);
        /* grace 1 s, then the lease's 400 ms and the margin's 1 s */
        ck_assert_msg(took < 10000, "forget took %lld ms", (long long)took);
        ck_assert_int_eq(scan_keys_naming_c1(h), 0);
        ck_assert_int_eq(harness_redis_int(h, "EXISTS %s", lease), 1);
        ck_assert_uint_eq(harness_count_events(h, "erased"), 1);
        harness_free(h);
}
END_TEST

/* A child adding customer 1's job to the stream every 20 ms for up to
 * 30 s, as a campaign still enqueuing them would. */
static pid_t keep_enqueuing(struct harness *h)
{
        char *job = harness_job_json(1, NULL);
        pid_t parent = getpid();
        fflush(NULL);
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(1);
                redisContext *c = redisConnectUnix(h->sock);
                for (int64_t end = harness_now_ms() + 30000;
                     c && !c->err && harness_now_ms() < end; usleep(20000)) {
                        redisReply *rep = redisCommand(c, "XADD %s * job %s",
                                                       HARNESS_PREFIX ":jobs", job);
                        if (!rep)
                                break;
                        freeReplyObject(rep);
                }
                _exit(0);
        }
        free(job);
        return pid;
}

START_TEST(test_forget_gives_up_on_data_written_all_along)
{
        struct harness *h = enqueued_world(200);
        pid_t writer = keep_enqueuing(h);
        struct harness_ctl r;
        int64_t t0 = harness_now_ms();
        harness_ctl_run(h, &r, "forget", "C-1", NULL);
        int64_t took = harness_now_ms() - t0;
        kill(writer, SIGKILL);
        waitpid(writer, NULL, 0);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "still being written") && strstr(r.err, "5 passes") &&
                              strstr(r.err, "run forget again"),
                      "%s", r.err);
        harness_ctl_free(&r);
        /* five passes of a grace of 1 s each */
        ck_assert_msg(took < 20000, "forget took %lld ms", (long long)took);
        ck_assert_uint_eq(harness_count_events(h, "erased"), 1);
        harness_free(h);
}
END_TEST

/* What a worker records of an entry it holds no lease for (taken over
 * while busy elsewhere, sent already, dead on arrival) goes in only while
 * the entry is there: once forget deleted it, the record writes nothing
 * of the customer back (queue_txn_guard_begin), and the rest of the same
 * transaction still runs. */
START_TEST(test_guarded_record_after_forget_writes_nothing)
{
        struct harness *h = harness_new();
        struct config *cfg;
        struct queue *q;
        struct error err;
        harness_open_queue(h, &cfg, &q);
        char *id = harness_redis_str(h, "XADD " HARNESS_PREFIX ":jobs * job x");
        ck_assert_ptr_nonnull(id);

        for (int round = 0; round < 2; round++) {
                char job[64];
                snprintf(job, sizeof(job), "{\"customer\":\"C-1\",\"round\":%d}", round);
                queue_txn_guard_begin(q, id);
                queue_txn_schedule(q, job, 1000 + round);
                queue_txn_event(q, 1000, "skipped", "customer", "C-1", "reason", "already-sent",
                                NULL);
                queue_txn_ack(q, id);
                queue_txn_guard_end(q);
                queue_txn_schedule(q, round ? "{\"other\":2}" : "{\"other\":1}", 5000);
                ck_assert_msg(queue_txn_commit(q, &err) == 0, "%s", err.msg);
                if (round == 0)   /* forget deletes the entry */
                        harness_redis_cmd(h, "XDEL " HARNESS_PREFIX ":jobs %s", id);
        }
        /* Round 0 wrote; round 1 (entry gone) only its unguarded command. */
        ck_assert_int_eq(harness_redis_int(h, "ZCOUNT " HARNESS_PREFIX ":scheduled 1000 1001"), 1);
        ck_assert_int_eq(harness_redis_int(h, "ZCOUNT " HARNESS_PREFIX ":scheduled 5000 5000"), 2);
        ck_assert_int_eq(harness_events_with(h, "skipped", "customer", "C-1"), 1);
        free(id);
        queue_free(q);
        config_free(cfg);
        harness_free(h);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("privacy");
        TCase *tc = tcase_create("privacy");
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_export_has_everything_explain_knows);
        tcase_add_test(tc, test_forget_leaves_nothing);
        tcase_add_test(tc, test_forget_takes_holds_and_arrangements);
        tcase_add_test(tc, test_forget_label_ids_take_nothing_else);
        tcase_add_test(tc, test_events_trimmed_by_age);
        tcase_add_test(tc, test_unread_payments_not_trimmed);
        tcase_add_test(tc, test_acl_user);
        tcase_add_test(tc, test_forget_before_any_daemon);
        tcase_add_test(tc, test_forget_waits_for_a_send_in_flight);
        tcase_add_test(tc, test_forget_gives_up_on_a_lease_that_stays);
        tcase_add_test(tc, test_forget_gives_up_on_data_written_all_along);
        tcase_add_test(tc, test_guarded_record_after_forget_writes_nothing);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
