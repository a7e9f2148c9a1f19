/* test-providers.c: dunningd with its outside providers, end to end: the
 * SMS goes to a recording MessageBird stand-in with a Mollie pay link made
 * by a recording Mollie stand-in (tests/integration/sms_standin.py and
 * mollie_standin.py); a 429 with Retry-After is retried later with the same
 * link; a 400 sends the reminder on the next channel; Mollie's webhook
 * records a payment once; a delivery report "undelivered" moves the
 * reminder to the next channel. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "harness.h"

#define SMS_TOKEN "mb-live-0123456789abcdef"
#define SID "AC00000000000000000000000000000000"
#define MOLLIE_KEY "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"

static struct harness *h;
static struct harness_standin sms, mollie;
static char sms_records[400], mollie_dir[400];

static void setup(void)
{
        char port_file[420], yaml_sms[1024], yaml_extra[1024];
        signal(SIGPIPE, SIG_IGN);
        h = harness_new();
        snprintf(port_file, sizeof(port_file), "%s/sms.port", h->dir);
        snprintf(sms_records, sizeof(sms_records), "%s/sms.jsonl", h->dir);
        harness_standin_start(h, &sms, "sms_standin.py", port_file, port_file, sms_records,
                              SMS_TOKEN, SID, NULL);
        snprintf(mollie_dir, sizeof(mollie_dir), "%s/mollie", h->dir);
        ck_assert_int_eq(mkdir(mollie_dir, 0700), 0);
        snprintf(port_file, sizeof(port_file), "%s/port", mollie_dir);
        harness_standin_start(h, &mollie, "mollie_standin.py", port_file, mollie_dir, MOLLIE_KEY,
                              NULL);
        char *tok = harness_write_file(h, "sms-token", SMS_TOKEN "\n");
        char *key = harness_write_file(h, "mollie-key", MOLLIE_KEY "\n");
        snprintf(yaml_sms, sizeof(yaml_sms),
                 "transport: http, provider: messagebird, url: \"http://127.0.0.1:%d/messages\", "
                 "token_file: %s, report_url: \"https://dunning.example/webhooks/sms/messagebird\", "
                 "quiet_hours: none",
                 sms.port, tok);
        snprintf(yaml_extra, sizeof(yaml_extra),
                 "paylink: { provider: mollie, api_url: \"http://127.0.0.1:%d/v2\", "
                 "api_key_file: %s, redirect_url: \"https://acme.example/paid\", "
                 "webhook_url: \"https://dunning.example/webhooks/mollie\" }",
                 mollie.port, key);
        free(tok);
        free(key);
        struct harness_config c;
        harness_config_defaults(&c);
        c.sms_yaml = yaml_sms;
        c.extra_yaml = yaml_extra;
        harness_config_write(h, &c);
}

static void teardown(void)
{
        harness_standin_stop(&sms);
        harness_standin_stop(&mollie);
        harness_free(h);
        h = NULL;
}

/* Every JSON line of path (a stand-in's record), as one array. */
static json_t *records(const char *path)
{
        json_t *all = json_array();
        char *text = harness_read_file(path);
        for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
                json_t *j = json_loads(line, 0, NULL);
                ck_assert_msg(j != NULL, "%s: not JSON: %s", path, line);
                json_array_append_new(all, j);
        }
        free(text);
        return all;
}

static json_t *sms_requests(void)
{
        return records(sms_records);
}

static json_t *mollie_requests(void)
{
        char path[450];
        snprintf(path, sizeof(path), "%s/requests.jsonl", mollie_dir);
        return records(path);
}

/* Requests of reqs whose path starts with prefix. */
static size_t count_path(const json_t *reqs, const char *method, const char *prefix)
{
        size_t i, n = 0;
        json_t *r;
        json_array_foreach(reqs, i, r)
                n += strcmp(json_string_value(json_object_get(r, "method")), method) == 0 &&
                     strncmp(json_string_value(json_object_get(r, "path")), prefix,
                             strlen(prefix)) == 0;
        return n;
}

static void script_sms(const char *answers)
{
        int st;
        free(harness_http_request(sms.port, "POST", "/_script", "application/json", answers, &st));
        ck_assert_msg(st == 200 || st == 204, "POST /_script: %d", st);
}

/* The daemon's config without a pay link: one worker, SMS over the
 * MessageBird stand-in, one request at a time. */
static void sms_only_config(void)
{
        static char yaml_sms[1024];
        struct harness_config c;
        harness_config_defaults(&c);
        char *tok = harness_write_file(h, "sms-token", SMS_TOKEN "\n");
        snprintf(yaml_sms, sizeof(yaml_sms),
                 "transport: http, provider: messagebird, url: \"http://127.0.0.1:%d/messages\", "
                 "token_file: %s, quiet_hours: none, connections: 1",
                 sms.port, tok);
        free(tok);
        c.sms_yaml = yaml_sms;
        c.workers = 1;
        harness_config_write(h, &c);
}

static void enqueue(int first, int n)
{
        struct harness_ctl r;
        char *path = harness_write_jobs(h, "jobs.jsonl", first, n, NULL);
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_msg(r.status == 0, "enqueue: %s", r.err);
        harness_ctl_free(&r);
        free(path);
}

/* The sent events of reminder rid, as "channel,channel,..." */
static void sent_channels(const char *rid, char *out, size_t n)
{
        struct harness_entry *ev;
        size_t k = harness_xrange(h, HARNESS_PREFIX ":events", &ev);
        out[0] = '\0';
        for (size_t i = 0; i < k; i++)
                if (strcmp(harness_entry_get(&ev[i], "type"), "sent") == 0 &&
                    strcmp(harness_entry_get(&ev[i], "reminder"), rid) == 0)
                        snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? "," : "",
                                 harness_entry_get(&ev[i], "channel"));
        harness_entries_free(ev, k);
}

struct sent_wait {
        const char *rid;
        const char *want;
};

static bool sent_is(void *arg)
{
        struct sent_wait *w = arg;
        char got[128];
        sent_channels(w->rid, got, sizeof(got));
        return strcmp(got, w->want) == 0;
}

static void wait_sent(const char *rid, const char *want, int ms)
{
        struct sent_wait w = { rid, want };
        char got[128];
        bool ok = harness_wait_until(sent_is, &w, ms);
        sent_channels(rid, got, sizeof(got));
        ck_assert_msg(ok, "reminder %s: sent on [%s], expected [%s]", rid, got, want);
}

struct metric_wait {
        const struct harness_daemon *d;
        const char *line;
};

static bool metric_is(void *arg)
{
        struct metric_wait *w = arg;
        int st;
        char *m = harness_http(w->d, "GET", "/metrics", &st);
        bool ok = m && strstr(m, w->line);
        free(m);
        return ok;
}

START_TEST(test_sms_with_pay_link_retried_after_429)
{
        /* The provider is busy once and says: come back in 2 s. */
        script_sms("[{\"status\":429,\"headers\":{\"Retry-After\":\"2\"},"
                   "\"body\":{\"errors\":[{\"code\":429,\"description\":\"too many requests\"}]}}]");
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_str_eq(harness_channel_of(1), "sms");
        char rid[19];
        harness_reminder_id(1, rid);
        enqueue(1, 1);
        wait_sent(rid, "sms", 30000);

        json_t *reqs = sms_requests();
        ck_assert_int_eq(json_array_size(reqs), 2);
        json_t *first = json_array_get(reqs, 0), *second = json_array_get(reqs, 1);
        ck_assert_int_eq(json_integer_value(json_object_get(first, "status")), 429);
        ck_assert_int_eq(json_integer_value(json_object_get(second, "status")), 201);
        /* The second try came after the provider's Retry-After, not after
         * our own (200 ms) backoff. */
        double t1 = json_number_value(json_object_get(first, "time"));
        double t2 = json_number_value(json_object_get(second, "time"));
        ck_assert_msg(t2 - t1 >= 1.9, "retried %.2f s after a 429 with Retry-After: 2", t2 - t1);

        /* One link for the reminder, made once and in both messages. */
        json_t *mreqs = mollie_requests();
        ck_assert_int_eq(count_path(mreqs, "POST", "/v2/payment-links"), 1);
        json_t *mreq = json_array_get(mreqs, 0);
        json_t *mbody = json_loads(json_string_value(json_object_get(mreq, "body")), 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(mbody, "amount"),
                                                           "value")),
                         "10.01");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(mbody, "amount"),
                                                           "currency")),
                         "EUR");
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(mbody, "description")),
                                     "INV-1"));
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(mbody, "webhookUrl")), rid));
        char *url = harness_redis_str(h, "HGET " HARNESS_PREFIX ":paylink:%s url", rid);
        ck_assert_ptr_nonnull(url);
        ck_assert_ptr_nonnull(strstr(url, "https://"));
        for (int i = 0; i < 2; i++) {
                json_t *body = json_loads(
                        json_string_value(json_object_get(json_array_get(reqs, (size_t)i), "body")),
                        0, NULL);
                const char *text = json_string_value(json_object_get(body, "body"));
                ck_assert_msg(text && strstr(text, url), "SMS %d has no pay link %s: %s", i, url,
                              text ? text : "(none)");
                ck_assert_str_eq(json_string_value(json_object_get(body, "reference")), rid);
                ck_assert_str_eq(json_string_value(json_object_get(body, "originator")), "Acme");
                json_decref(body);
        }
        free(url);
        json_decref(mbody);
        json_decref(mreqs);
        json_decref(reqs);
        /* No secret in the log. */
        char *log = harness_daemon_log(d);
        ck_assert_ptr_null(strstr(log, SMS_TOKEN));
        ck_assert_ptr_null(strstr(log, MOLLIE_KEY));
        free(log);
        harness_assert_log_masked(d, 1, 1);
        harness_daemon_stop(d);
}
END_TEST

START_TEST(test_400_sends_on_the_next_channel)
{
        script_sms("[{\"status\":400,\"body\":{\"errors\":[{\"code\":9,\"description\":"
                   "\"no (correct) recipients found\",\"parameter\":\"recipient\"}]}}]");
        struct harness_daemon *d = harness_daemon_start(h);
        char rid[19];
        harness_reminder_id(1, rid);
        enqueue(1, 1);
        /* Customer 1 prefers SMS; e-mail comes next. */
        wait_sent(rid, "email", 30000);
        json_t *reqs = sms_requests();
        ck_assert_int_eq(json_array_size(reqs), 1);
        json_decref(reqs);
        int st;
        char *m = harness_http(d, "GET", "/metrics", &st);
        ck_assert_ptr_nonnull(
                strstr(m, "dunningd_reminders_failed_total{channel=\"sms\",reason=\"permanent\"} 1\n"));
        free(m);
        harness_daemon_stop(d);
}
END_TEST

START_TEST(test_mollie_webhook_records_a_payment_once)
{
        struct harness_daemon *d = harness_daemon_start(h);
        char rid[19];
        harness_reminder_id(1, rid);
        enqueue(1, 1);
        wait_sent(rid, "sms", 30000);
        char *link = harness_redis_str(h, "HGET " HARNESS_PREFIX ":paylink:%s id", rid);
        ck_assert_ptr_nonnull(link);

        /* What Mollie's API says about the payment made through the link
         * (no reminder in it: found through the link's id). */
        char payments[1024], path[450];
        snprintf(payments, sizeof(payments),
                 "{\"tr_WDqYK6vllg\":{\"resource\":\"payment\",\"id\":\"tr_WDqYK6vllg\","
                 "\"mode\":\"test\",\"status\":\"paid\",\"amount\":{\"value\":\"10.01\","
                 "\"currency\":\"EUR\"},\"description\":\"Acme\",\"method\":\"ideal\","
                 "\"paidAt\":\"2026-11-22T10:00:00+00:00\",\"paymentLinkId\":\"%s\"},"
                 "\"tr_expired1\":{\"resource\":\"payment\",\"id\":\"tr_expired1\","
                 "\"status\":\"expired\",\"amount\":{\"value\":\"10.01\",\"currency\":\"EUR\"}}}",
                 link);
        snprintf(path, sizeof(path), "%s/payments.json", mollie_dir);
        FILE *f = fopen(path, "w");
        fputs(payments, f);
        fclose(f);

        int st;
        const char *form = "application/x-www-form-urlencoded";
        char *body = harness_http_post(d, "/webhooks/mollie", form, "id=tr_WDqYK6vllg", &st);
        ck_assert_int_eq(st, 200);
        ck_assert_str_eq(body, "{\"status\":\"recorded\"}\n");
        free(body);
        /* Mollie calls again: nothing changes. */
        body = harness_http_post(d, "/webhooks/mollie", form, "id=tr_WDqYK6vllg", &st);
        ck_assert_int_eq(st, 200);
        ck_assert_str_eq(body, "{\"status\":\"duplicate\"}\n");
        free(body);
        struct harness_entry *pay;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":payments", &pay);
        ck_assert_int_eq(n, 1);
        ck_assert_str_eq(harness_entry_get(&pay[0], "reminder"), rid);
        ck_assert_str_eq(harness_entry_get(&pay[0], "amount_cents"), "1001");
        ck_assert_str_eq(harness_entry_get(&pay[0], "provider_id"), "tr_WDqYK6vllg");
        ck_assert_str_eq(harness_entry_get(&pay[0], "method"), "ideal");
        harness_entries_free(pay, n);
        /* The payments thread credits it moments later. */
        struct metric_wait mw = { d, "dunningd_payments_total{attribution=\"direct\","
                                     "channel=\"sms\"} 1\n" };
        ck_assert_msg(harness_wait_until(metric_is, &mw, 10000), "no direct sms payment in /metrics");

        /* An expired payment is an event, not a payment. */
        body = harness_http_post(d, "/webhooks/mollie", form, "id=tr_expired1", &st);
        ck_assert_int_eq(st, 200);
        free(body);
        ck_assert_int_eq(harness_xlen(h, "payments"), 1);
        ck_assert_int_eq(harness_count_events(h, "paylink"), 1);

        /* Unknown ids, bad and oversized bodies: a clear 4xx, nothing kept. */
        body = harness_http_post(d, "/webhooks/mollie", form, "id=tr_nosuchpay", &st);
        ck_assert_int_eq(st, 404);
        free(body);
        body = harness_http_post(d, "/webhooks/mollie", form, "payment=tr_WDqYK6vllg", &st);
        ck_assert_int_eq(st, 400);
        free(body);
        body = harness_http_post(d, "/webhooks/mollie", form, "id=tr_%ZZ", &st);
        ck_assert_int_eq(st, 400);
        free(body);
        char *big = xmalloc(100001);
        memset(big, 'a', 100000);
        big[100000] = '\0';
        memcpy(big, "id=tr_", 6);
        body = harness_http_post(d, "/webhooks/mollie", form, big, &st);
        ck_assert_int_eq(st, 413);
        free(body);
        free(big);
        ck_assert_int_eq(harness_xlen(h, "payments"), 1);
        free(link);
        harness_daemon_stop(d);
}
END_TEST

/* The provider's id of the SMS sent for reminder rid (from the record). */
static char *message_id_of(const char *rid)
{
        json_t *reqs = sms_requests();
        size_t i;
        json_t *r;
        char *id = NULL;
        json_array_foreach(reqs, i, r) {
                json_t *body = json_loads(json_string_value(json_object_get(r, "body")), 0, NULL);
                json_t *resp = json_object_get(r, "response");
                if (json_is_string(resp))
                        resp = json_loads(json_string_value(resp), 0, NULL);
                else
                        json_incref(resp);
                const char *ref = json_string_value(json_object_get(body, "reference"));
                if (ref && strcmp(ref, rid) == 0 && json_object_get(resp, "id"))
                        id = xstrdup(json_string_value(json_object_get(resp, "id")));
                json_decref(resp);
                json_decref(body);
        }
        json_decref(reqs);
        ck_assert_msg(id != NULL, "no SMS with reference %s was answered with an id", rid);
        return id;
}

START_TEST(test_undelivered_sms_moves_to_the_next_channel)
{
        struct harness_daemon *d = harness_daemon_start(h);
        char r1[19], r4[19], q[512];
        harness_reminder_id(1, r1);
        harness_reminder_id(4, r4);
        ck_assert_str_eq(harness_channel_of(4), "sms");
        enqueue(1, 1);
        enqueue(4, 1);
        wait_sent(r1, "sms", 30000);
        wait_sent(r4, "sms", 30000);
        char *m1 = message_id_of(r1), *m4 = message_id_of(r4);
        int st;

        /* What the history counts of a report comes from the record kept
         * for it, not from the reminder's hash (only a pay link needs it). */
        harness_redis_cmd(h, "DEL " HARNESS_PREFIX ":reminder:%s", r1);
        /* Customer 4's record as a hash without the segment, as records
         * were kept before: read the same, the reminder's hash names the
         * rest. */
        char *rec = harness_redis_str(h, "GET " HARNESS_PREFIX ":sms:%s", m4);
        char *job4 = rec ? strchr(strchr(rec, '\n') + 1, '\n') + 1 : NULL;
        ck_assert_ptr_nonnull(job4);
        harness_redis_cmd(h, "DEL " HARNESS_PREFIX ":sms:%s", m4);
        harness_redis_cmd(h, "HSET " HARNESS_PREFIX ":sms:%s reminder %s job %s", m4, r4, job4);
        free(rec);
        /* A report that names the wrong reminder is not the provider's. */
        snprintf(q, sizeof(q), "/webhooks/sms/messagebird?id=%s&reference=%s&status=delivery_failed",
                 m1, r4);
        free(harness_http(d, "GET", q, &st));
        ck_assert_int_eq(st, 403);
        /* Customer 4's arrived; customer 1's did not (MessageBird's GET). */
        snprintf(q, sizeof(q), "/webhooks/sms/messagebird?id=%s&reference=%s&status=delivered"
                 "&statusDatetime=2026-11-22T10:00:00%%2B00:00", m4, r4);
        free(harness_http(d, "GET", q, &st));
        ck_assert_int_eq(st, 200);
        snprintf(q, sizeof(q), "/webhooks/sms/messagebird?id=%s&reference=%s&status=delivery_failed",
                 m1, r1);
        char *body = harness_http(d, "GET", q, &st);
        ck_assert_int_eq(st, 200);
        ck_assert_str_eq(body, "{\"status\":\"recorded\"}\n");
        free(body);
        /* The next channel of the policy takes customer 1's reminder. */
        wait_sent(r1, "sms,email", 30000);
        ck_assert_int_eq(harness_count_events(h, "undelivered"), 1);
        ck_assert_int_eq(harness_count_events(h, "delivered"), 1);
        ck_assert_int_eq(harness_redis_int(h, "HEXISTS " HARNESS_PREFIX ":customer:C-4 delivered:sms"), 1);
        char *n = harness_redis_str(h, "HGET " HARNESS_PREFIX ":customer:C-4 delivered:sms");
        ck_assert_str_eq(n, "1");
        free(n);
        n = harness_redis_str(h, "HGET " HARNESS_PREFIX ":customer:C-1 undelivered:sms");
        ck_assert_str_eq(n, "1");
        free(n);
        ck_assert_int_eq(harness_redis_int(h, "HEXISTS " HARNESS_PREFIX ":customer:C-1 invalid:sms"), 1);
        n = harness_redis_str(h, "HGET " HARNESS_PREFIX ":segment:new delivered:sms");
        ck_assert_str_eq(n, "1");
        free(n);
        /* The same report again, and a report for a message we never sent. */
        body = harness_http(d, "GET", q, &st);
        ck_assert_int_eq(st, 200);
        ck_assert_str_eq(body, "{\"status\":\"duplicate\"}\n");
        free(body);
        body = harness_http(d, "GET", "/webhooks/sms/messagebird?id=deadbeef&reference=r-0000000000000000&status=delivered", &st);
        ck_assert_int_eq(st, 200);
        ck_assert_str_eq(body, "{\"status\":\"unknown\"}\n");
        free(body);
        ck_assert(harness_daemon_log_has(d, "delivery report for a message we do not know"));
        harness_sleep_ms(500);   /* proving no second fallback: nothing more is sent */
        char got[64];
        sent_channels(r1, got, sizeof(got));
        ck_assert_str_eq(got, "sms,email");
        /* Another provider's path is not served. */
        free(harness_http(d, "GET", "/webhooks/sms/twilio?MessageSid=x&MessageStatus=failed", &st));
        ck_assert_int_eq(st, 404);
        free(m1);
        free(m4);
        harness_daemon_stop(d);
}
END_TEST

START_TEST(test_slow_batch_keeps_its_leases)
{
        /* Six SMS at 0.8 s each, one at a time: the batch takes about 5 s,
         * more than the 2 s lease (2 x claim_idle_ms). A second daemon
         * takes the entries over after 1 s idle and must find them busy,
         * not free: every reminder is sent once. */
        sms_only_config();
        script_sms("[{\"status\":201,\"delay\":0.8},{\"status\":201,\"delay\":0.8},"
                   "{\"status\":201,\"delay\":0.8},{\"status\":201,\"delay\":0.8},"
                   "{\"status\":201,\"delay\":0.8},{\"status\":201,\"delay\":0.8}]");
        for (int i = 1; i <= 16; i += 3)
                ck_assert_str_eq(harness_channel_of(i), "sms");
        char *path = harness_write_file(h, "six.jsonl", "");
        FILE *f = fopen(path, "w");
        for (int i = 1; i <= 16; i += 3) {
                char *j = harness_job_json(i, NULL);
                fprintf(f, "%s\n", j);
                free(j);
        }
        fclose(f);
        struct harness_ctl r;
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        harness_ctl_free(&r);
        free(path);

        struct harness_daemon *d1 = harness_daemon_start(h);
        harness_sleep_ms(1500);   /* d1 has the batch and is sending it */
        struct harness_daemon *d2 = harness_daemon_start(h);
        for (int i = 1; i <= 16; i += 3) {
                char rid[19];
                harness_reminder_id(i, rid);
                wait_sent(rid, "sms", 30000);
        }
        ck_assert_int_eq(harness_wait_no_pending(h, 20000), 0);
        /* The copies d2 put aside come back, find the marker, and stop. */
        harness_sleep_ms(2500);
        json_t *reqs = sms_requests();
        ck_assert_int_eq(count_path(reqs, "POST", "/messages"), 6);
        json_decref(reqs);
        ck_assert_int_eq(harness_count_events(h, "sent"), 6);
        harness_daemon_signal(d1, SIGTERM);
        harness_daemon_signal(d2, SIGTERM);
        ck_assert_int_eq(harness_daemon_wait(d1, 10000), 0);
        ck_assert_int_eq(harness_daemon_wait(d2, 10000), 0);
}
END_TEST

/* Requests to the stand-in whose body names reminder rid. */
static size_t requests_for(const char *rid)
{
        json_t *reqs = sms_requests(), *r;
        size_t i, n = 0;
        json_array_foreach(reqs, i, r) {
                const char *body = json_string_value(json_object_get(r, "body"));
                n += body && strstr(body, rid) != NULL;
        }
        json_decref(reqs);
        return n;
}

static bool sms_marked(void *arg)
{
        return harness_redis_int(h, "EXISTS " HARNESS_PREFIX ":sent:%s:sms", (const char *)arg) ==
               1;
}

/* An SMS the provider took is marked sent at once, not when the batch is
 * recorded: killed while the next request of its batch hangs, the daemon's
 * successor does not send it again (issue 9: HTTP duplicates after a
 * SIGKILL only where the provider's answer never came back). */
START_TEST(test_taken_sms_marked_at_once)
{
        char rid1[19], rid4[19];
        sms_only_config();
        script_sms("[{\"status\":201},{\"status\":201,\"delay\":60}]");
        harness_reminder_id(1, rid1);
        harness_reminder_id(4, rid4);
        ck_assert_str_eq(harness_channel_of(1), "sms");
        ck_assert_str_eq(harness_channel_of(4), "sms");
        enqueue(1, 1);
        enqueue(4, 1);
        struct harness_daemon *d = harness_daemon_start(h);
        /* Within 5 s: the hanging request times out after 10 (the SMS
         * timeout) and the batch is recorded then, marker and all. */
        ck_assert_msg(harness_wait_until(sms_marked, rid1, 5000), "no marker for %s", rid1);
        ck_assert_uint_eq(harness_count_events(h, "sent"), 0);   /* not recorded yet */
        harness_daemon_kill(d);
        d = harness_daemon_start(h);
        wait_sent(rid4, "sms", 30000);
        ck_assert_int_eq(harness_wait_no_pending(h, 20000), 0);
        char got[64];
        sent_channels(rid1, got, sizeof(got));
        ck_assert_str_eq(got, "");
        ck_assert_uint_eq(requests_for(rid1), 1);
        harness_daemon_stop(d);
}
END_TEST

/* Twilio's X-Twilio-Signature for url and a form body, computed with
 * Python's hmac (an implementation independent of the daemon's). */
static void twilio_signature(const char *url, const char *body, char *out, size_t n)
{
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "/usr/bin/python3 -c 'import base64, hashlib, hmac, sys, urllib.parse\n"
                 "url, body = sys.argv[1], sys.argv[2]\n"
                 "p = urllib.parse.parse_qsl(body, keep_blank_values=True)\n"
                 "d = url + \"\".join(k + v for k, v in sorted(p))\n"
                 "print(base64.b64encode(hmac.new(b\"%s\", d.encode(), hashlib.sha1).digest()).decode())"
                 "' '%s' '%s'",
                 SMS_TOKEN, url, body);
        FILE *f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(out, (int)n, f));
        out[strcspn(out, "\n")] = '\0';
        ck_assert_int_eq(pclose(f), 0);
}

START_TEST(test_twilio_report_signed)
{
        char yaml_sms[1024];
        const char *report = "https://dunning.example/webhooks/sms/twilio";
        char *tok = harness_write_file(h, "sms-token", SMS_TOKEN "\n");
        snprintf(yaml_sms, sizeof(yaml_sms),
                 "transport: http, provider: twilio, url: \"http://127.0.0.1:%d/2010-04-01\", "
                 "account_sid: %s, token_file: %s, report_url: \"%s\", quiet_hours: none",
                 sms.port, SID, tok, report);
        free(tok);
        struct harness_config c;
        harness_config_defaults(&c);
        c.sms_yaml = yaml_sms;
        harness_config_write(h, &c);
        struct harness_daemon *d = harness_daemon_start(h);
        char rid[19];
        harness_reminder_id(1, rid);
        enqueue(1, 1);
        wait_sent(rid, "sms", 30000);
        json_t *reqs = sms_requests();
        json_t *resp = json_object_get(json_array_get(reqs, 0), "response");
        char sid[64];
        snprintf(sid, sizeof(sid), "%s", json_string_value(json_object_get(resp, "sid")));
        /* StatusCallback carried our report URL, and the message is known. */
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(reqs, 0),
                                                                        "body")),
                                     "StatusCallback=https%3A%2F%2Fdunning.example%2Fwebhooks%2F"
                                     "sms%2Ftwilio"));
        json_decref(reqs);
        ck_assert_int_gt(strlen(sid), 10);
        char *stored = harness_redis_str(h, "GET " HARNESS_PREFIX ":sms:%s", sid);
        ck_assert_msg(stored && strncmp(stored, rid, strlen(rid)) == 0 &&
                      stored[strlen(rid)] == '\n', "%s", stored);
        free(stored);

        char body[512], sig[128], hdr[256];
        snprintf(body, sizeof(body),
                 "AccountSid=%s&ErrorCode=30003&From=Acme&MessageSid=%s&MessageStatus=undelivered"
                 "&To=%%2B31612345679", SID, sid);
        twilio_signature(report, body, sig, sizeof(sig));
        const char *form = "application/x-www-form-urlencoded";
        int st;
        /* A forged or altered report is refused. */
        free(harness_http_post_headers(d, "/webhooks/sms/twilio", form, body,
                                       "X-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n", &st));
        ck_assert_int_eq(st, 403);
        snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sig);
        char altered[512];
        snprintf(altered, sizeof(altered), "%s&Extra=1", body);
        free(harness_http_post_headers(d, "/webhooks/sms/twilio", form, altered, hdr, &st));
        ck_assert_int_eq(st, 403);
        ck_assert_int_eq(harness_count_events(h, "undelivered"), 0);
        /* The real one moves the reminder on. */
        char *r = harness_http_post_headers(d, "/webhooks/sms/twilio", form, body, hdr, &st);
        ck_assert_int_eq(st, 200);
        ck_assert_str_eq(r, "{\"status\":\"recorded\"}\n");
        free(r);
        wait_sent(rid, "sms,email", 30000);
        ck_assert_int_eq(harness_count_events(h, "undelivered"), 1);
        harness_daemon_stop(d);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("providers");
        TCase *tc = tcase_create("providers");
        tcase_set_timeout(tc, 120);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_sms_with_pay_link_retried_after_429);
        tcase_add_test(tc, test_400_sends_on_the_next_channel);
        tcase_add_test(tc, test_mollie_webhook_records_a_payment_once);
        tcase_add_test(tc, test_undelivered_sms_moves_to_the_next_channel);
        tcase_add_test(tc, test_slow_batch_keeps_its_leases);
        tcase_add_test(tc, test_taken_sms_marked_at_once);
        tcase_add_test(tc, test_twilio_report_signed);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(suite());
}
