/* test-paylink.c: the Mollie pay link (channels/paylink.c) against
 * tests/integration/mollie_standin.py, a recording stand-in for Mollie's
 * API (run with /usr/bin/python3), without a daemon: the exact request
 * (method, path, headers, every JSON field), the link returned, one link per
 * reminder through the Idempotency-Key (also from a new handle, as after a
 * crash), the error classes (422, 401, 503, 429 with Retry-After, a reused
 * key, timeouts, no server), and payments read back for the webhook.
 *
 * Each test gets a mkdtemp directory with the stand-in's log and record;
 * when a test fails, crashes or times out, a watcher process prints both
 * and keeps the directory. */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "harness.h"
#include "paylink.h"

#define KEY "test_standinKey0123456789abcdefABC"
#define RID "r-0123456789abcdef"
#define RID2 "r-fedcba9876543210"
/* 2026-11-23T09:00:00Z; the link expires 2026-12-08T00:00:00Z (14 days,
 * rounded up to 00:00 UTC) */
#define NOW_MS INT64_C(1795424400000)
#define EXP_MS INT64_C(1796688000000)
#define MINUTE_MS INT64_C(60000)
#define DAY_MS INT64_C(86400000)

static char dir[256];
static char api_url[128];
static pid_t standin_pid;
static int watcher_fd = -1;
static pid_t watcher_pid;

static const char *src_root(void)
{
        const char *r = getenv("DUNNINGD_SOURCE_ROOT");
        return r ? r : ".";
}

static void print_file(const char *name)
{
        char path[400];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        char *data = harness_read_file(path);
        fprintf(stderr, "----- %s -----\n%s\n", path, data ? data : "(none)");
        free(data);
}

/* Prints the stand-in's log and record unless told "OK" (see top). */
static void watcher_start(void)
{
        int p[2];

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        fflush(NULL);
        watcher_pid = fork();
        ck_assert_int_ge(watcher_pid, 0);
        if (watcher_pid == 0) {
                char b[8];
                bool ok = false;
                ssize_t r;
                close(p[1]);
                setpgid(0, 0);  /* outlive Check killing the test's group */
                while ((r = read(p[0], b, sizeof(b))) != 0) {
                        if (r > 0 && memchr(b, 'K', (size_t)r))
                                ok = true;
                        if (r < 0 && errno != EINTR)
                                break;
                }
                if (!ok) {
                        fprintf(stderr, "\ntest-paylink: the test failed; files of %s:\n", dir);
                        print_file("standin.log");
                        print_file("requests.jsonl");
                        print_file("payments.json");
                }
                _exit(0);
        }
        close(p[0]);
        watcher_fd = p[1];
}

static bool port_written(void *arg)
{
        char path[400];
        snprintf(path, sizeof(path), "%s/port", dir);
        return access(path, F_OK) == 0;
}

static void setup(void)
{
        char script[512], log[400], path[400];

        snprintf(dir, sizeof(dir), "/tmp/test-paylink-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        signal(SIGPIPE, SIG_IGN);
        watcher_start();
        snprintf(script, sizeof(script), "%s/tests/integration/mollie_standin.py", src_root());
        snprintf(log, sizeof(log), "%s/standin.log", dir);
        standin_pid = fork();
        ck_assert_int_ge(standin_pid, 0);
        if (standin_pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
                dup2(fd, 1);
                dup2(fd, 2);
                execl("/usr/bin/python3", "python3", script, dir, KEY, (char *)NULL);
                _exit(127);
        }
        ck_assert_msg(harness_wait_until(port_written, NULL, 20000), "the stand-in did not start");
        snprintf(path, sizeof(path), "%s/port", dir);
        char *port = harness_read_file(path);
        snprintf(api_url, sizeof(api_url), "http://127.0.0.1:%d/v2", atoi(port));
        free(port);
}

static void teardown(void)
{
        char cmd[300];

        if (standin_pid > 0) {
                kill(standin_pid, SIGTERM);
                waitpid(standin_pid, NULL, 0);
                standin_pid = 0;
        }
        if (write(watcher_fd, "OK", 2) != 2)
                fprintf(stderr, "cannot reach the watcher\n");
        close(watcher_fd);
        waitpid(watcher_pid, NULL, 0);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", dir);
}

/* ---- helpers ---- */

static struct config cfg_for(const char *key)
{
        struct config c;
        memset(&c, 0, sizeof(c));
        c.paylink.provider = (char *)"mollie";
        c.paylink.api_url = api_url;
        c.paylink.api_key = (char *)key;
        c.paylink.redirect_url = (char *)"https://acme.example/paid";
        c.paylink.webhook_url = (char *)"https://dunning.acme.example/webhooks/mollie";
        c.paylink.expires_days = 14;
        c.paylink.timeout_ms = 5000;
        return c;
}

static struct paylink *open_paylink(const struct config *c)
{
        struct paylink *p = NULL;
        struct error err = { "" };
        int rc = paylink_new(&p, c, &err);
        ck_assert_msg(rc == 0, "paylink_new: %d %s", rc, err.msg);
        return p;
}

static struct paylink_request request(const char *rid, int64_t amount, const char *currency,
                                      int64_t now_ms)
{
        struct paylink_request r = {
                .reminder_id = rid,
                .amount_cents = amount,
                .currency = currency,
                .description = "Acme Energie B.V. INV-1, INV-2",
                .now_ms = now_ms,
        };
        return r;
}

static size_t on_test_body(char *data, size_t size, size_t nmemb, void *arg)
{
        buf_append(arg, data, size * nmemb);
        return size * nmemb;
}

/* One request of the test itself to the stand-in; the body (owned). */
static char *call(const char *method, const char *path, const char *body, long *status)
{
        CURL *c = curl_easy_init();
        struct buf url = BUF_INIT, out = BUF_INIT;
        struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " KEY);

        ck_assert_ptr_nonnull(c);
        buf_printf(&url, "%.*s%s", (int)(strlen(api_url) - 3), api_url, path);
        curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body)
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_test_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        CURLcode rc = curl_easy_perform(c);
        ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        buf_free(&url);
        buf_puts(&out, "");
        return buf_steal(&out);
}

/* Queues scripted answers (a JSON array) at the stand-in. */
static void script(const char *json)
{
        long status = 0;
        char *out = call("POST", "/_script", json, &status);
        ck_assert_msg(status == 200, "/_script: %ld %s", status, out);
        free(out);
}

/* Every request the stand-in recorded, oldest first (json_decref it). */
static json_t *records(void)
{
        char path[400];
        json_t *all = json_array();

        snprintf(path, sizeof(path), "%s/requests.jsonl", dir);
        char *text = harness_read_file(path);
        for (char *line = text, *nl; line && *line; line = nl + 1) {
                nl = strchr(line, '\n');
                ck_assert_ptr_nonnull(nl);
                json_error_t je;
                json_t *r = json_loadb(line, (size_t)(nl - line), 0, &je);
                ck_assert_msg(r != NULL, "record: %s", je.text);
                json_array_append_new(all, r);
        }
        free(text);
        return all;
}

static const char *str_at(json_t *j, const char *a, const char *b)
{
        json_t *v = json_object_get(j, a);
        if (b)
                v = json_object_get(v, b);
        const char *s = json_string_value(v);
        ck_assert_msg(s != NULL, "no string %s%s%s in %s", a, b ? "." : "", b ? b : "",
                      json_dumps(j, JSON_COMPACT));
        return s;
}

static json_t *parse(const char *text)
{
        json_error_t je;
        json_t *j = json_loads(text, 0, &je);
        ck_assert_msg(j != NULL, "not JSON (%s): %s", je.text, text);
        return j;
}

static void write_payments(const char *json)
{
        char path[400];
        snprintf(path, sizeof(path), "%s/payments.json", dir);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(json, f);
        ck_assert_int_eq(fclose(f), 0);
}

/* ---- creating links ---- */

START_TEST(test_create_exact_request_and_link)
{
        struct config c = cfg_for(KEY);
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 123456, "EUR", NOW_MS);
        struct paylink_result res;

        paylink_create(p, &req, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%d %s", res.outcome, res.reason);

        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 1);
        json_t *r = json_array_get(all, 0);
        ck_assert_str_eq(str_at(r, "method", NULL), "POST");
        ck_assert_str_eq(str_at(r, "path", NULL), "/v2/payment-links");
        ck_assert_str_eq(str_at(r, "headers", "authorization"), "Bearer " KEY);
        ck_assert_str_eq(str_at(r, "headers", "idempotency-key"), RID);
        ck_assert_str_eq(str_at(r, "headers", "content-type"), "application/json");
        ck_assert_str_eq(str_at(r, "headers", "accept"), "application/json");
        ck_assert_msg(!strncmp(str_at(r, "headers", "user-agent"), "dunningd/", 9), "%s",
                      str_at(r, "headers", "user-agent"));
        ck_assert_ptr_null(json_object_get(json_object_get(r, "headers"), "expect"));
        /* The exact bytes: every field, its value and the order of the
         * reference; no methods or metadata (payment links have none). */
        ck_assert_str_eq(str_at(r, "body", NULL),
                         "{\"amount\":{\"currency\":\"EUR\",\"value\":\"1234.56\"},"
                         "\"description\":\"Acme Energie B.V. INV-1, INV-2 " RID "\","
                         "\"redirectUrl\":\"https://acme.example/paid\","
                         "\"webhookUrl\":\"https://dunning.acme.example/webhooks/mollie"
                         "?reminder=" RID "\","
                         "\"expiresAt\":\"2026-12-08T00:00:00+00:00\"}");
        ck_assert_int_eq(json_integer_value(json_object_get(r, "status")), 201);

        /* The link is the one Mollie answered with. */
        json_t *answer = parse(str_at(r, "response", NULL));
        ck_assert_str_eq(res.id, str_at(answer, "id", NULL));
        ck_assert_msg(!strncmp(res.id, "pl_", 3), "%s", res.id);
        json_t *links = json_object_get(answer, "_links");
        ck_assert_str_eq(res.url, str_at(links, "paymentLink", "href"));
        ck_assert_msg(!strncmp(res.url, "https://paymentlink.mollie.com/payment/", 39), "%s",
                      res.url);
        ck_assert_int_eq(res.expires_ms, EXP_MS);
        ck_assert_str_eq(res.reason, "");
        ck_assert_int_eq(res.retry_after_ms, 0);

        /* and the stand-in keeps it under that id */
        long status = 0;
        char path[128];
        snprintf(path, sizeof(path), "/v2/payment-links/%s", res.id);
        char *text = call("GET", path, NULL, &status);
        ck_assert_int_eq(status, 200);
        json_t *link = parse(text);
        ck_assert_str_eq(str_at(json_object_get(link, "_links"), "paymentLink", "href"), res.url);
        ck_assert_str_eq(str_at(link, "description", NULL), "Acme Energie B.V. INV-1, INV-2 " RID);
        ck_assert_str_eq(str_at(link, "expiresAt", NULL), "2026-12-08T00:00:00+00:00");
        json_decref(link);
        free(text);
        text = call("GET", "/v2/payment-links/pl_none", NULL, &status);
        ck_assert_int_eq(status, 404);
        free(text);
        json_decref(answer);
        json_decref(all);
        paylink_free(p);
}
END_TEST

START_TEST(test_same_reminder_same_link)
{
        struct config c = cfg_for(KEY);
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 123456, "EUR", NOW_MS);
        struct paylink_result a, b, other, again;

        paylink_create(p, &req, &a);
        ck_assert_msg(a.outcome == CHANNEL_SENT, "%s", a.reason);
        /* a retry ten minutes later on the same day */
        req.now_ms = NOW_MS + 10 * MINUTE_MS;
        paylink_create(p, &req, &b);
        ck_assert_msg(b.outcome == CHANNEL_SENT, "%s", b.reason);
        ck_assert_str_eq(b.id, a.id);
        ck_assert_str_eq(b.url, a.url);
        ck_assert_int_eq(b.expires_ms, a.expires_ms);
        /* another reminder: another link */
        struct paylink_request req2 = request(RID2, 500, "EUR", NOW_MS);
        paylink_create(p, &req2, &other);
        ck_assert_msg(other.outcome == CHANNEL_SENT, "%s", other.reason);
        ck_assert_str_ne(other.id, a.id);
        ck_assert_str_ne(other.url, a.url);
        /* after a crash (a new handle, a new connection): still the same */
        paylink_free(p);
        p = open_paylink(&c);
        paylink_create(p, &req, &again);
        ck_assert_msg(again.outcome == CHANNEL_SENT, "%s", again.reason);
        ck_assert_str_eq(again.id, a.id);
        ck_assert_str_eq(again.url, a.url);

        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 4);
        json_t *r0 = json_array_get(all, 0), *r1 = json_array_get(all, 1);
        json_t *r2 = json_array_get(all, 2), *r3 = json_array_get(all, 3);
        ck_assert_str_eq(str_at(r0, "headers", "idempotency-key"), RID);
        ck_assert_str_eq(str_at(r1, "headers", "idempotency-key"), RID);
        ck_assert_str_eq(str_at(r2, "headers", "idempotency-key"), RID2);
        ck_assert_str_eq(str_at(r3, "headers", "idempotency-key"), RID);
        /* the same body both times, so Mollie replays its first answer */
        ck_assert_str_eq(str_at(r1, "body", NULL), str_at(r0, "body", NULL));
        ck_assert_ptr_null(json_object_get(json_object_get(r0, "response_headers"),
                                           "idempotent-replayed"));
        ck_assert_str_eq(str_at(r1, "response_headers", "idempotent-replayed"), "true");
        ck_assert_str_eq(str_at(r3, "response_headers", "idempotent-replayed"), "true");
        /* one kept-alive connection per handle */
        json_int_t port0 = json_integer_value(json_object_get(r0, "client_port"));
        ck_assert_int_ne(port0, 0);
        ck_assert_int_eq(json_integer_value(json_object_get(r1, "client_port")), port0);
        ck_assert_int_eq(json_integer_value(json_object_get(r2, "client_port")), port0);
        ck_assert_int_ne(json_integer_value(json_object_get(r3, "client_port")), port0);
        json_decref(all);
        paylink_free(p);
}
END_TEST

/* The same key with other parameters: Mollie answers 400 until it forgets
 * the key (one hour). A retry on the next day (another expiry) or with
 * another amount is therefore retried later, not given up. */
START_TEST(test_reused_key_other_body_is_tempfail)
{
        struct config c = cfg_for(KEY);
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 123456, "EUR", NOW_MS);
        struct paylink_result res;

        paylink_create(p, &req, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        req.now_ms = NOW_MS + DAY_MS;
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(res.reason, "mollie: 400 This Idempotency-Key has already been used.");
        ck_assert_int_eq(res.retry_after_ms, 3600000);
        ck_assert_str_eq(res.url, "");
        ck_assert_str_eq(res.id, "");
        req.now_ms = NOW_MS;
        req.amount_cents = 999;
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(res.retry_after_ms, 3600000);
        /* 409: the first request is still being processed */
        script("[{\"status\":409}]");
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(res.reason, "mollie: 409 Scripted 409");
        ck_assert_int_eq(res.retry_after_ms, 0);
        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 4);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(all, 1), "status")),
                         400);
        ck_assert_msg(strstr(str_at(json_array_get(all, 1), "body", NULL),
                             "\"expiresAt\":\"2026-12-09T00:00:00+00:00\""),
                      "%s", str_at(json_array_get(all, 1), "body", NULL));
        json_decref(all);
        paylink_free(p);
}
END_TEST

START_TEST(test_422_is_permfail_with_detail)
{
        struct config c = cfg_for(KEY);
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 123456, "EUR", NOW_MS);
        struct paylink_result res;

        /* provider-apis.md 1.5, payment_rejected.json */
        script("[{\"status\":422,\"body\":{\"detail\":\"The amount is higher than the maximum\","
               "\"field\":\"amount\",\"status\":422,\"title\":\"Unprocessable Entity\","
               "\"_links\":{\"documentation\":{\"href\":\"https://docs.mollie.com/errors\","
               "\"type\":\"text/html\"}}}}]");
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason,
                         "mollie: 422 The amount is higher than the maximum (field amount)");
        ck_assert_str_eq(res.id, "");
        ck_assert_str_eq(res.url, "");
        ck_assert_int_eq(res.retry_after_ms, 0);
        /* a detail with a line break and far too long: one line, cut */
        script("[{\"status\":403,\"body\":{\"status\":403,\"title\":\"Forbidden\","
               "\"detail\":\"line one\\nline two "
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}}]");
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_msg(!strncmp(res.reason, "mollie: 403 line one line two xxx", 33), "%s",
                      res.reason);
        ck_assert_ptr_null(strchr(res.reason, '\n'));
        ck_assert_int_le(strlen(res.reason), 255);
        ck_assert(job_utf8_valid(res.reason, strlen(res.reason)));
        paylink_free(p);
}
END_TEST

START_TEST(test_5xx_is_tempfail)
{
        struct config c = cfg_for(KEY);
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 123456, "EUR", NOW_MS);
        struct paylink_result res;

        script("[{\"status\":503},{\"status\":500,\"body\":\"<html>oops</html>\","
               "\"headers\":{\"Content-Type\":\"text/html\"}},"
               "{\"status\":201,\"body\":{\"resource\":\"payment-link\"}}]");
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(res.reason, "mollie: 503 Scripted 503");
        ck_assert_int_eq(res.retry_after_ms, 0);
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(res.reason, "mollie: 500");
        /* 201 without a link: made but unreadable, so retried (same key) */
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(res.reason, "mollie: 201 answer without a payment link");
        ck_assert_str_eq(res.url, "");
        /* the script is used up: the retry makes the link */
        paylink_create(p, &req, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        ck_assert_msg(!strncmp(res.url, "https://paymentlink.mollie.com/payment/", 39), "%s",
                      res.url);
        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 4);
        for (size_t i = 0; i < 4; i++)
                ck_assert_str_eq(str_at(json_array_get(all, i), "headers", "idempotency-key"),
                                 RID);
        json_decref(all);
        paylink_free(p);
}
END_TEST

/* The expiry Mollie stored wins over the one asked for; without one in
 * the answer, the one asked for is kept. */
START_TEST(test_answer_expiry_wins)
{
        struct config c = cfg_for(KEY);
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 123456, "EUR", NOW_MS);
        struct paylink_result res;

        script("[{\"status\":201,\"body\":{\"resource\":\"payment-link\",\"id\":\"pl_x1\","
               "\"expiresAt\":\"2026-12-31T23:00:00+01:00\",\"_links\":{\"paymentLink\":"
               "{\"href\":\"https://paymentlink.mollie.com/payment/x1/\",\"type\":\"text/html\"}}}},"
               "{\"status\":201,\"body\":{\"resource\":\"payment-link\",\"id\":\"pl_x2\","
               "\"expiresAt\":null,\"_links\":{\"paymentLink\":"
               "{\"href\":\"https://paymentlink.mollie.com/payment/x2/\",\"type\":\"text/html\"}}}},"
               "{\"status\":201,\"body\":{\"resource\":\"payment-link\",\"id\":\"pl_x3\","
               "\"_links\":{\"paymentLink\":{\"href\":\"javascript:alert(1)\"}}}}]");
        paylink_create(p, &req, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        ck_assert_str_eq(res.id, "pl_x1");
        ck_assert_str_eq(res.url, "https://paymentlink.mollie.com/payment/x1/");
        ck_assert_int_eq(res.expires_ms, EXP_MS + 23 * DAY_MS + 22 * 3600000);
        paylink_create(p, &req, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        ck_assert_str_eq(res.id, "pl_x2");
        ck_assert_int_eq(res.expires_ms, EXP_MS);
        /* a link that is not a web address is not passed on */
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(res.url, "");
        ck_assert_str_eq(res.id, "");
        paylink_free(p);
}
END_TEST

START_TEST(test_429_retry_after)
{
        struct config c = cfg_for(KEY);
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 123456, "EUR", NOW_MS);
        struct paylink_result res;
        char date[64], json[256];

        time_t later = time(NULL) + 120;
        struct tm tm;
        gmtime_r(&later, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        snprintf(json, sizeof(json),
                 "[{\"status\":429,\"headers\":{\"Retry-After\":\"7\"}},"
                 "{\"status\":503,\"headers\":{\"Retry-After\":\"%s\"}}]",
                 date);
        script(json);
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(res.retry_after_ms, 7000);
        ck_assert_str_eq(res.reason, "mollie: 429 Scripted 429");
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_msg(res.retry_after_ms >= 115000 && res.retry_after_ms <= 120000,
                      "Retry-After %s: %lld ms", date, (long long)res.retry_after_ms);
        paylink_free(p);
}
END_TEST

START_TEST(test_wrong_key_is_permfail_without_the_key)
{
        const char *wrong = "test_wrongKey9876543210zyxwvutsrq";
        struct config c = cfg_for(wrong);
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 123456, "EUR", NOW_MS);
        struct paylink_result res;
        struct paylink_payment pay;
        struct error err;

        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason,
                         "mollie: 401 Missing authentication, or failed to authenticate");
        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 1);
        /* the key was sent, so it could have leaked */
        ck_assert_str_eq(str_at(json_array_get(all, 0), "headers", "authorization"),
                         "Bearer test_wrongKey9876543210zyxwvutsrq");
        json_decref(all);
        /* an answer that repeats the key: scrubbed */
        script("[{\"status\":401,\"body\":{\"status\":401,\"title\":\"Unauthorized Request\","
               "\"detail\":\"Invalid API key: 'test_wrongKey9876543210zyxwvutsrq'\"}},"
               "{\"status\":401,\"body\":{\"status\":401,\"title\":\"Unauthorized Request\","
               "\"detail\":\"Invalid API key: test_wrongKey9876543210zyxwvutsrq\"}}]");
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "mollie: 401 Invalid API key: '[api key]'");
        ck_assert_ptr_null(strstr(res.reason, "test_wrongKey"));
        ck_assert_int_eq(paylink_get_payment(p, "tr_7UhSN1zuXS", &pay, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "mollie: GET /payments/tr_7UhSN1zuXS: 401 Invalid API key: "
                                  "[api key]");
        ck_assert_int_eq(paylink_get_payment(p, "tr_7UhSN1zuXS", &pay, &err), -EINVAL);
        ck_assert_ptr_null(strstr(err.msg, "test_wrongKey"));
        ck_assert_msg(strstr(err.msg, "401 Missing authentication"), "%s", err.msg);
        paylink_free(p);
}
END_TEST

START_TEST(test_timeout_and_no_server_are_tempfail)
{
        struct config c = cfg_for(KEY);
        c.paylink.timeout_ms = 400;
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 123456, "EUR", NOW_MS);
        struct paylink_result res;

        script("[{\"status\":503,\"delay_ms\":3000}]");
        int64_t t0 = harness_now_ms();
        paylink_create(p, &req, &res);
        int64_t took = harness_now_ms() - t0;
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_msg(strstr(res.reason, "timed out"), "%s", res.reason);
        ck_assert_msg(!strncmp(res.reason, "mollie: ", 8), "%s", res.reason);
        ck_assert_msg(took < 2000, "took %lld ms", (long long)took);
        /* the handle recovers: the next request is answered */
        paylink_create(p, &req, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        paylink_free(p);

        c.paylink.api_url = (char *)"http://127.0.0.1:1/v2";
        p = open_paylink(&c);
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_msg(!strncmp(res.reason, "mollie: ", 8), "%s", res.reason);
        ck_assert_str_eq(res.url, "");
        struct paylink_payment pay;
        struct error err;
        ck_assert_int_eq(paylink_get_payment(p, "tr_7UhSN1zuXS", &pay, &err), -EAGAIN);
        paylink_free(p);
}
END_TEST

START_TEST(test_currency_decimals)
{
        struct config c = cfg_for(KEY);
        struct paylink *p = open_paylink(&c);
        struct paylink_request req = request(RID, 1234, "JPY", NOW_MS);
        struct paylink_result res;

        paylink_create(p, &req, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        req = request(RID2, 5, "EUR", NOW_MS);
        paylink_create(p, &req, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        /* KWD has 3 decimals: refused without a request */
        req = request("r-1111111111111111", 1234, "KWD", NOW_MS);
        paylink_create(p, &req, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "mollie: KWD has 3 decimals; Mollie takes amounts with 0 or 2");
        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 2);
        json_t *b0 = parse(str_at(json_array_get(all, 0), "body", NULL));
        json_t *b1 = parse(str_at(json_array_get(all, 1), "body", NULL));
        ck_assert_str_eq(str_at(b0, "amount", "value"), "1234");
        ck_assert_str_eq(str_at(b0, "amount", "currency"), "JPY");
        ck_assert_str_eq(str_at(b1, "amount", "value"), "0.05");
        json_decref(b0);
        json_decref(b1);
        json_decref(all);
        paylink_free(p);
}
END_TEST

/* ---- payments (the webhook's lookup) ---- */

/* A paid payment made through a link (provider-apis.md 1.3, the derived
 * paid object, with our webhookUrl and description), an expired one that
 * only has the id in its description, one with metadata, one in JPY. */
static const char *payments_json =
        "{\"tr_paid1\":{\"resource\":\"payment\",\"id\":\"tr_paid1\",\"mode\":\"test\","
        "\"createdAt\":\"2026-11-24T10:14:37+00:00\",\"amount\":{\"value\":\"1234.56\","
        "\"currency\":\"EUR\"},\"description\":\"Acme Energie B.V. INV-1, INV-2 " RID "\","
        "\"method\":\"ideal\",\"metadata\":null,\"status\":\"paid\","
        "\"paidAt\":\"2026-11-24T10:15:02+00:00\",\"amountRefunded\":{\"value\":\"0.00\","
        "\"currency\":\"EUR\"},\"amountRemaining\":{\"value\":\"1234.56\",\"currency\":\"EUR\"},"
        "\"isCancelable\":false,\"details\":{\"consumerName\":\"T. TEST\","
        "\"consumerAccount\":\"NL91ABNA0417164300\",\"consumerBic\":\"ABNANL2A\"},"
        "\"profileId\":\"pfl_QkEhN94Ba\",\"sequenceType\":\"oneoff\","
        "\"redirectUrl\":\"https://acme.example/paid\","
        "\"webhookUrl\":\"https://dunning.acme.example/webhooks/mollie?reminder=" RID "\","
        "\"_links\":{\"self\":{\"href\":\"https://api.mollie.com/v2/payments/tr_paid1\","
        "\"type\":\"application/hal+json\"},\"paymentLink\":{\"href\":"
        "\"https://api.mollie.com/v2/payment-links/pl_4Y0eZitmBnQ6IDoMqZQKh\","
        "\"type\":\"application/hal+json\"}}},"
        "\"tr_expired1\":{\"resource\":\"payment\",\"id\":\"tr_expired1\",\"mode\":\"test\","
        "\"createdAt\":\"2026-11-24T10:14:37+00:00\",\"amount\":{\"value\":\"10.00\","
        "\"currency\":\"EUR\"},\"description\":\"Acme INV-9 r-00000000000000aa\","
        "\"method\":null,\"metadata\":null,\"status\":\"expired\","
        "\"expiredAt\":\"2026-11-24T10:29:37+00:00\",\"profileId\":\"pfl_QkEhN94Ba\","
        "\"sequenceType\":\"oneoff\",\"redirectUrl\":\"https://acme.example/paid\","
        "\"webhookUrl\":\"https://dunning.acme.example/webhooks/mollie\","
        "\"_links\":{\"self\":{\"href\":\"https://api.mollie.com/v2/payments/tr_expired1\","
        "\"type\":\"application/hal+json\"}}},"
        "\"tr_meta1\":{\"resource\":\"payment\",\"id\":\"tr_meta1\",\"status\":\"open\","
        "\"amount\":{\"value\":\"0.05\",\"currency\":\"EUR\"},"
        "\"description\":\"x r-2222222222222222\",\"paymentLinkId\":\"pl_abc123\","
        "\"metadata\":{\"reminder_id\":\"r-1111111111111111\"},"
        "\"webhookUrl\":\"https://d.example/w?a=1&reminder=r-3333333333333333#f\"},"
        "\"tr_url1\":{\"resource\":\"payment\",\"id\":\"tr_url1\",\"status\":\"pending\","
        "\"amount\":{\"value\":\"1.00\",\"currency\":\"EUR\"},\"description\":\"Betaling\","
        "\"webhookUrl\":\"https://d.example/w?a=1&reminder=r-3333333333333333#f\"},"
        "\"tr_jpy1\":{\"resource\":\"payment\",\"id\":\"tr_jpy1\",\"status\":\"paid\","
        "\"amount\":{\"value\":\"1234\",\"currency\":\"JPY\"},\"description\":\"Acme\","
        "\"method\":\"creditcard\",\"paidAt\":\"2026-11-24T10:15:02+00:00\"},"
        "\"tr_badamount\":{\"id\":\"tr_badamount\",\"status\":\"paid\","
        "\"amount\":{\"value\":12.5,\"currency\":\"EUR\"}}}";

START_TEST(test_get_payment)
{
        struct config c = cfg_for(KEY);
        struct paylink *p = open_paylink(&c);
        struct paylink_payment pay;
        struct error err = { "" };

        write_payments(payments_json);
        ck_assert_msg(paylink_get_payment(p, "tr_paid1", &pay, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(pay.id, "tr_paid1");
        ck_assert_str_eq(pay.status, "paid");
        ck_assert_int_eq(pay.amount_cents, 123456);
        ck_assert_str_eq(pay.currency, "EUR");
        ck_assert_str_eq(pay.link_id, "pl_4Y0eZitmBnQ6IDoMqZQKh");
        ck_assert_str_eq(pay.reminder_id, RID);
        ck_assert_str_eq(pay.paid_at, "2026-11-24T10:15:02+00:00");
        ck_assert_str_eq(pay.method, "ideal");

        ck_assert_msg(paylink_get_payment(p, "tr_expired1", &pay, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(pay.status, "expired");
        ck_assert_int_eq(pay.amount_cents, 1000);
        ck_assert_str_eq(pay.reminder_id, "r-00000000000000aa");  /* from the description */
        ck_assert_str_eq(pay.link_id, "");
        ck_assert_str_eq(pay.paid_at, "");
        ck_assert_str_eq(pay.method, "");

        ck_assert_msg(paylink_get_payment(p, "tr_meta1", &pay, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(pay.status, "open");
        ck_assert_int_eq(pay.amount_cents, 5);
        ck_assert_str_eq(pay.reminder_id, "r-1111111111111111");  /* metadata first */
        ck_assert_str_eq(pay.link_id, "pl_abc123");
        ck_assert_msg(paylink_get_payment(p, "tr_url1", &pay, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(pay.reminder_id, "r-3333333333333333");  /* then webhookUrl */
        ck_assert_str_eq(pay.status, "pending");
        ck_assert_msg(paylink_get_payment(p, "tr_jpy1", &pay, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(pay.amount_cents, 1234);
        ck_assert_str_eq(pay.currency, "JPY");
        ck_assert_str_eq(pay.reminder_id, "");
        ck_assert_str_eq(pay.method, "creditcard");

        /* failures leave *out alone */
        memset(&pay, 0x5a, sizeof(pay));
        ck_assert_int_eq(paylink_get_payment(p, "tr_unknown1", &pay, &err), -ENOENT);
        ck_assert_str_eq(err.msg, "mollie: GET /payments/tr_unknown1: 404 No payment exists "
                                  "with token tr_unknown1.");
        ck_assert_int_eq(paylink_get_payment(p, "tr_badamount", &pay, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "mollie: payment tr_badamount: bad amount");
        script("[{\"status\":503},{\"status\":429},{\"status\":200,\"body\":\"not json\"},"
               "{\"status\":400},{\"status\":200,\"body\":{\"id\":\"tr_x1\"}}]");
        ck_assert_int_eq(paylink_get_payment(p, "tr_paid1", &pay, &err), -EAGAIN);
        ck_assert_str_eq(err.msg, "mollie: GET /payments/tr_paid1: 503 Scripted 503");
        ck_assert_int_eq(paylink_get_payment(p, "tr_paid1", &pay, &err), -EAGAIN);
        ck_assert_int_eq(paylink_get_payment(p, "tr_paid1", &pay, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "mollie: payment answer is not JSON");
        ck_assert_int_eq(paylink_get_payment(p, "tr_paid1", &pay, &err), -EINVAL);
        ck_assert_int_eq(paylink_get_payment(p, "tr_paid1", &pay, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "mollie: payment answer without id or status");
        /* an id from an untrusted webhook that is no Mollie id: no request */
        ck_assert_int_eq(paylink_get_payment(p, "../payment-links", &pay, &err), -EINVAL);
        ck_assert_int_eq(paylink_get_payment(p, "tr_1?x=1", &pay, &err), -EINVAL);
        for (size_t i = 0; i < sizeof(pay); i++)
                ck_assert_int_eq(((unsigned char *)&pay)[i], 0x5a);

        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 12);
        json_t *r = json_array_get(all, 0);
        ck_assert_str_eq(str_at(r, "method", NULL), "GET");
        ck_assert_str_eq(str_at(r, "path", NULL), "/v2/payments/tr_paid1");
        ck_assert_str_eq(str_at(r, "headers", "authorization"), "Bearer " KEY);
        ck_assert_str_eq(str_at(r, "body", NULL), "");
        ck_assert_ptr_null(json_object_get(json_object_get(r, "headers"), "idempotency-key"));
        ck_assert_ptr_null(json_object_get(json_object_get(r, "headers"), "content-type"));
        for (size_t i = 0; i < json_array_size(all); i++)
                ck_assert_str_eq(str_at(json_array_get(all, i), "method", NULL), "GET");
        json_decref(all);
        paylink_free(p);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("paylink");
        TCase *tc = tcase_create("mollie");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_create_exact_request_and_link);
        tcase_add_test(tc, test_same_reminder_same_link);
        tcase_add_test(tc, test_reused_key_other_body_is_tempfail);
        tcase_add_test(tc, test_422_is_permfail_with_detail);
        tcase_add_test(tc, test_5xx_is_tempfail);
        tcase_add_test(tc, test_answer_expiry_wins);
        tcase_add_test(tc, test_429_retry_after);
        tcase_add_test(tc, test_wrong_key_is_permfail_without_the_key);
        tcase_add_test(tc, test_timeout_and_no_server_are_tempfail);
        tcase_add_test(tc, test_currency_decimals);
        tcase_add_test(tc, test_get_payment);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
