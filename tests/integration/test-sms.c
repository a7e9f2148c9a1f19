/* test-sms.c: the SMS http transport (channels/sms.c) against a recording
 * stand-in of the providers' APIs.
 *
 * tests/integration/sms_standin.py (run with /usr/bin/python3) serves
 * MessageBird, Twilio and a generic JSON API and records every request it
 * gets, with the client's port; the tests open the driver with a struct
 * config filled in here (no daemon) and assert the exact requests, the
 * provider ids, one kept-alive connection, the outcome of 429/5xx/4xx,
 * Retry-After (seconds and HTTP date), refused connections and timeouts,
 * and that no reason carries the token or the phone number. The harness
 * gives the temporary directory and prints the stand-in's log when a test
 * fails. */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "config.h"
#include "harness.h"

#define TOKEN "tok-Secret-4711abcdef"
#define SID "AC0123456789abcdef0123456789abcdef"
/* base64("AC0123456789abcdef0123456789abcdef:tok-Secret-4711abcdef") */
#define TWILIO_BASIC                                                                       \
        "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2stU2VjcmV0LTQ3MTFhYmNkZWY="
#define TO "+31612345678"
#define REPORT_URL "https://acme.example/webhooks/sms"
#define RID "r-00000000000000aa"

static struct harness *h;
static pid_t standin_pid;
static int port;
static char record_path[400];
static char base[64];   /* http://127.0.0.1:PORT */

static const char *src_root(void)
{
        const char *r = getenv("DUNNINGD_SOURCE_ROOT");
        return r ? r : ".";
}

static bool port_file_ready(void *arg)
{
        return access(arg, F_OK) == 0;
}

static void standin_start(void)
{
        char script[512], port_path[400], log[400];

        snprintf(script, sizeof(script), "%s/tests/integration/sms_standin.py", src_root());
        snprintf(port_path, sizeof(port_path), "%s/sms_standin.port", h->dir);
        snprintf(record_path, sizeof(record_path), "%s/sms_standin.jsonl", h->dir);
        snprintf(log, sizeof(log), "%s/sms_standin.log", h->dir);
        standin_pid = fork();
        ck_assert_int_ge(standin_pid, 0);
        if (standin_pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
                dup2(fd, 1);
                dup2(fd, 2);
                execl("/usr/bin/python3", "python3", script, port_path, record_path, TOKEN, SID,
                      (char *)NULL);
                _exit(127);
        }
        ck_assert_msg(harness_wait_until(port_file_ready, port_path, 20000),
                      "sms_standin.py did not start");
        char *p = harness_read_file(port_path);
        port = atoi(p);
        free(p);
        ck_assert_int_gt(port, 0);
        snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
}

static void setup(void)
{
        signal(SIGPIPE, SIG_IGN);
        h = harness_new();
        standin_start();
}

static void teardown(void)
{
        if (standin_pid > 0) {
                kill(standin_pid, SIGTERM);
                waitpid(standin_pid, NULL, 0);
                standin_pid = 0;
        }
        harness_free(h);
        h = NULL;
}

/* ---- driver helpers ------------------------------------------------------ */

/* A config for the channel alone; the url is made from base + path (kept
 * in a static buffer), the rest borrowed from literals. */
static struct config cfg_for(const char *provider, const char *path)
{
        static char url[256];
        struct config c;

        memset(&c, 0, sizeof(c));
        snprintf(url, sizeof(url), "%s%s", base, path);
        c.channels.sms.transport = (char *)"http";
        c.channels.sms.provider = (char *)provider;
        c.channels.sms.url = url;
        c.channels.sms.token = (char *)TOKEN;
        c.channels.sms.account_sid = (char *)SID;
        c.channels.sms.sender = (char *)"Acme";
        c.channels.sms.report_url = (char *)REPORT_URL;
        c.channels.sms.default_country = (char *)"NL";
        c.channels.sms.max_segments = 3;
        c.channels.sms.connect_timeout_ms = 2000;
        c.channels.sms.timeout_ms = 5000;
        return c;
}

static void *open_sms(const struct config *c)
{
        void *s = NULL;
        struct error err = { "" };
        const struct channel_ops *ops = channel_lookup(JOB_CHANNEL_SMS, "http");

        ck_assert_ptr_eq(ops, &channel_sms_http);
        int rc = ops->open(&s, JOB_CHANNEL_SMS, c, &err);
        ck_assert_msg(rc == 0, "open: %d: %s", rc, err.msg);
        return s;
}

static int open_fails(const struct config *c, char *msg, size_t size)
{
        void *s = NULL;
        struct error err = { "" };
        int rc = channel_sms_http.open(&s, JOB_CHANNEL_SMS, c, &err);

        ck_assert_msg(rc < 0, "open succeeded");
        ck_assert_ptr_null(s);
        ck_assert_msg(!strstr(err.msg, TOKEN), "the token is in the error: %s", err.msg);
        snprintf(msg, size, "%s", err.msg);
        return rc;
}

static struct message msg_for(const char *to, const char *text)
{
        struct message m = {
                .channel = JOB_CHANNEL_SMS,
                .reminder_id = RID,
                .to = to,
                .from = "Acme",
                .text = text,
        };
        return m;
}

/* No reason ever holds the token or the number (in any of its forms). */
static void check_reason(const struct send_result *r)
{
        ck_assert_msg(!strstr(r->reason, TOKEN), "token in reason: %s", r->reason);
        ck_assert_msg(!strstr(r->reason, "612345678"), "number in reason: %s", r->reason);
        ck_assert_msg(!strchr(r->reason, '\n'), "reason on several lines: %s", r->reason);
}

static struct send_result send_one(void *s, const char *to, const char *text)
{
        struct message m = msg_for(to, text);
        struct send_result r;

        memset(&r, 0xa5, sizeof(r));   /* the driver must fill every field */
        channel_sms_http.send(s, &m, &r);
        check_reason(&r);
        return r;
}

#define assert_outcome(r, want)                                                            \
        ck_assert_msg((r).outcome == (want), "outcome %d, want %d: %s", (r).outcome, (want), \
                      (r).reason)

/* ---- stand-in helpers ---------------------------------------------------- */

/* Every recorded request, oldest first (a new reference). */
static json_t *records(void)
{
        json_t *all = json_array();
        char *data = harness_read_file(record_path);

        for (char *line = data, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                else
                        next = line + strlen(line);
                json_error_t je;
                json_t *j = json_loads(line, 0, &je);
                ck_assert_msg(j != NULL, "bad record line: %s", je.text);
                json_array_append_new(all, j);
        }
        free(data);
        return all;
}

static size_t n_records(void)
{
        json_t *all = records();
        size_t n = json_array_size(all);
        json_decref(all);
        return n;
}

/* Record i (a new reference); fails the test when there is none. */
static json_t *record(size_t i)
{
        json_t *all = records();
        json_t *r = json_array_get(all, i);
        ck_assert_msg(r != NULL, "no request %zu recorded (%zu in all)", i,
                      json_array_size(all));
        json_incref(r);
        json_decref(all);
        return r;
}

static const char *rstr(const json_t *r, const char *key)
{
        const char *v = json_string_value(json_object_get(r, key));
        ck_assert_msg(v != NULL, "record has no %s", key);
        return v;
}

static long client_port(const json_t *r)
{
        return (long)json_integer_value(json_object_get(r, "client_port"));
}

/* The body of request i (a static copy). */
static const char *body_at(size_t i)
{
        static char copy[8192];
        json_t *r = record(i);
        snprintf(copy, sizeof(copy), "%s", rstr(r, "body"));
        json_decref(r);
        return copy;
}

/* The client's port of request i. */
static long port_at(size_t i)
{
        json_t *r = record(i);
        long p = client_port(r);
        json_decref(r);
        return p;
}

/* The value of header name in record r, or NULL. */
static const char *header(const json_t *r, const char *name)
{
        size_t i;
        json_t *pair;
        json_array_foreach(json_object_get(r, "headers"), i, pair)
                if (strcasecmp(json_string_value(json_array_get(pair, 0)), name) == 0)
                        return json_string_value(json_array_get(pair, 1));
        return NULL;
}

/* The common headers of every request the driver makes. */
static void assert_common_headers(const json_t *r, const char *auth, const char *type)
{
        char host[64], ua[64], len[32];

        snprintf(host, sizeof(host), "127.0.0.1:%d", port);
        snprintf(ua, sizeof(ua), "dunningd/%s", DUNNINGD_VERSION);
        snprintf(len, sizeof(len), "%zu", strlen(rstr(r, "body")));
        ck_assert_str_eq(rstr(r, "method"), "POST");
        ck_assert_pstr_eq(header(r, "Host"), host);
        ck_assert_pstr_eq(header(r, "Authorization"), auth);
        ck_assert_pstr_eq(header(r, "Content-Type"), type);
        ck_assert_pstr_eq(header(r, "Accept"), "application/json");
        ck_assert_pstr_eq(header(r, "User-Agent"), ua);
        ck_assert_pstr_eq(header(r, "Content-Length"), len);
        ck_assert_ptr_null(header(r, "Expect"));
        ck_assert_ptr_null(header(r, "Transfer-Encoding"));
        ck_assert_msg(json_array_size(json_object_get(r, "headers")) == 6, "headers: %s",
                      json_dumps(json_object_get(r, "headers"), 0));
}

/* Queues canned answers (a JSON list) in the stand-in. */
static void script(const char *json)
{
        char url[128];
        long status = 0;
        CURL *c = curl_easy_init();
        struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");

        snprintf(url, sizeof(url), "%s/_script", base);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        curl_slist_free_all(hd);
        ck_assert_msg(rc == CURLE_OK && status == 204, "POST /_script: %s, HTTP %ld",
                      curl_easy_strerror(rc), status);
}

/* ---- exact requests, per provider ---------------------------------------- */

START_TEST(test_messagebird_request)
{
        struct config c = cfg_for("messagebird", "/messages");
        void *s = open_sms(&c);

        /* "€" is in the GSM 03.38 extension table: still plain */
        struct send_result r = send_one(s, TO, "Betaal € 12,50: https://pay.example/p/" RID);
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_str_eq(r.provider_id, "00000000000000000000000000000001");
        ck_assert_int_eq(r.retry_after_ms, 0);
        ck_assert_str_eq(r.reason, "sms: messagebird: accepted (HTTP 201)");
        json_t *rec = record(0);
        ck_assert_str_eq(rstr(rec, "path"), "/messages");
        assert_common_headers(rec, "AccessKey " TOKEN, "application/json");
        ck_assert_str_eq(rstr(rec, "body"),
                         "{\"recipients\":[31612345678],\"originator\":\"Acme\","
                         "\"body\":\"Betaal € 12,50: https://pay.example/p/" RID "\","
                         "\"reference\":\"" RID "\",\"datacoding\":\"plain\","
                         "\"reportUrl\":\"" REPORT_URL "\"}");
        ck_assert_int_eq(json_integer_value(json_object_get(rec, "status")), 201);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "response"),
                                                           "id")),
                         r.provider_id);

        /* "ë" and an emoji are not: unicode; no report URL configured */
        channel_sms_http.close(s);
        c.channels.sms.report_url = NULL;
        s = open_sms(&c);
        r = send_one(s, TO, "Beste Zoë, betaal € 12,50 \xf0\x9f\x99\x82");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_str_eq(r.provider_id, "00000000000000000000000000000002");
        json_t *rec2 = record(1);
        assert_common_headers(rec2, "AccessKey " TOKEN, "application/json");
        ck_assert_str_eq(rstr(rec2, "body"),
                         "{\"recipients\":[31612345678],\"originator\":\"Acme\","
                         "\"body\":\"Beste Zoë, betaal € 12,50 \xf0\x9f\x99\x82\","
                         "\"reference\":\"" RID "\",\"datacoding\":\"unicode\"}");
        json_decref(rec);
        json_decref(rec2);
        channel_sms_http.close(s);
}
END_TEST

START_TEST(test_twilio_request)
{
        /* the base URL, with a trailing slash an operator might write */
        struct config c = cfg_for("twilio", "/2010-04-01/");
        void *s = open_sms(&c);

        struct send_result r = send_one(s, TO, "Betaal EUR 12,50: https://pay.example/p/r-1");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_str_eq(r.provider_id, "SM00000000000000000000000000000001");
        json_t *rec = record(0);
        ck_assert_str_eq(rstr(rec, "path"), "/2010-04-01/Accounts/" SID "/Messages.json");
        assert_common_headers(rec, TWILIO_BASIC, "application/x-www-form-urlencoded");
        ck_assert_str_eq(rstr(rec, "body"),
                         "To=%2B31612345678&From=Acme"
                         "&Body=Betaal%20EUR%2012%2C50%3A%20https%3A%2F%2Fpay.example%2Fp%2Fr-1"
                         "&StatusCallback=https%3A%2F%2Facme.example%2Fwebhooks%2Fsms");
        json_t *resp = json_object_get(rec, "response");
        ck_assert_str_eq(json_string_value(json_object_get(resp, "sid")), r.provider_id);
        ck_assert_str_eq(json_string_value(json_object_get(resp, "to")), TO);

        /* UCS-2 text: Twilio takes UTF-8 and picks the encoding itself;
         * what it decoded is what we meant */
        const char *text = "Beste Zoë, “betaal” € 12,50 \xf0\x9f\x99\x82 & 100% = ok";
        r = send_one(s, TO, text);
        assert_outcome(r, CHANNEL_SENT);
        json_t *rec2 = record(1);
        ck_assert_str_eq(rstr(rec2, "body"),
                         "To=%2B31612345678&From=Acme"
                         "&Body=Beste%20Zo%C3%AB%2C%20%E2%80%9Cbetaal%E2%80%9D%20%E2%82%AC%2012%2C50"
                         "%20%F0%9F%99%82%20%26%20100%25%20%3D%20ok"
                         "&StatusCallback=https%3A%2F%2Facme.example%2Fwebhooks%2Fsms");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec2, "response"),
                                                           "body")),
                         text);
        json_decref(rec);
        json_decref(rec2);
        channel_sms_http.close(s);
}
END_TEST

START_TEST(test_generic_request)
{
        struct config c = cfg_for("generic", "/send");
        /* the config's default template */
        c.channels.sms.body_template =
                (char *)"{\"to\":\"{{to}}\",\"from\":\"{{from}}\",\"text\":\"{{body}}\","
                        "\"reference\":\"{{reference}}\"}";
        void *s = open_sms(&c);

        struct send_result r = send_one(s, TO, "Zeg \"ja\" of \\nee\\\nZoë\t{{x}}");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_str_eq(r.provider_id, "gen-1");
        json_t *rec = record(0);
        ck_assert_str_eq(rstr(rec, "path"), "/send");
        assert_common_headers(rec, "Bearer " TOKEN, "application/json");
        ck_assert_str_eq(rstr(rec, "body"),
                         "{\"to\":\"+31612345678\",\"from\":\"Acme\","
                         "\"text\":\"Zeg \\\"ja\\\" of \\\\nee\\\\\\nZoë\\t{{x}}\","
                         "\"reference\":\"" RID "\"}");
        json_decref(rec);
        channel_sms_http.close(s);

        /* every variable, and the encoding the way such an API wants it */
        c.channels.sms.body_template =
                (char *)"{\"msisdn\":\"{{msisdn}}\",\"enc\":\"{{encoding}}\","
                        "\"parts\":{{segments}},\"cb\":\"{{{report_url}}}\"}";
        s = open_sms(&c);
        r = send_one(s, TO, "Zoë");
        assert_outcome(r, CHANNEL_SENT);
        r = send_one(s, TO, "Zoe");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_str_eq(body_at(1),
                         "{\"msisdn\":\"31612345678\",\"enc\":\"ucs2\",\"parts\":1,"
                         "\"cb\":\"" REPORT_URL "\"}");
        ck_assert_str_eq(body_at(2),
                         "{\"msisdn\":\"31612345678\",\"enc\":\"gsm7\",\"parts\":1,"
                         "\"cb\":\"" REPORT_URL "\"}");
        channel_sms_http.close(s);

        /* a response without an id still means accepted */
        script("[{\"status\": 202, \"body\": {\"queued\": true}}]");
        s = open_sms(&c);
        r = send_one(s, TO, "Zoe");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_str_eq(r.provider_id, "");
        channel_sms_http.close(s);
}
END_TEST

START_TEST(test_open_errors)
{
        char msg[2048];
        struct config c = cfg_for("generic", "/send");

        c.channels.sms.body_template = (char *)"{\"to\":\"{{too}}\"}";
        ck_assert_int_eq(open_fails(&c, msg, sizeof(msg)), -ENOENT);
        ck_assert_str_eq(msg, "channels.sms.body_template:1:8: too: no such variable");
        c.channels.sms.body_template = (char *)"{\"to\":{{to}}}";
        ck_assert_int_eq(open_fails(&c, msg, sizeof(msg)), -EINVAL);
        ck_assert_msg(strstr(msg, "channels.sms.body_template: not JSON once rendered") == msg,
                      "%s", msg);
        c.channels.sms.body_template = (char *)"{{#to}}";
        ck_assert_int_eq(open_fails(&c, msg, sizeof(msg)), -EINVAL);
        ck_assert_msg(strstr(msg, "channels.sms.body_template:1:") == msg, "%s", msg);
        c.channels.sms.body_template = NULL;  /* the built-in default */
        channel_sms_http.close(open_sms(&c));
        c.channels.sms.url = NULL;
        open_fails(&c, msg, sizeof(msg));
        ck_assert_str_eq(msg, "channels.sms.url: needed for generic");

        c = cfg_for("twilio", "/2010-04-01");
        c.channels.sms.account_sid = NULL;
        open_fails(&c, msg, sizeof(msg));
        ck_assert_str_eq(msg, "channels.sms.account_sid: needed for twilio, letters and digits only");
        c.channels.sms.account_sid = (char *)"AC12/../x";
        open_fails(&c, msg, sizeof(msg));

        c = cfg_for("messagebird", "/messages");
        c.channels.sms.token = NULL;
        open_fails(&c, msg, sizeof(msg));
        ck_assert_str_eq(msg, "channels.sms.token_file: needed for transport http");
        c.channels.sms.token = (char *)TOKEN;
        c.channels.sms.sender = (char *)"Acme Energie BV";   /* 15: too long */
        open_fails(&c, msg, sizeof(msg));
        ck_assert_str_eq(msg, "channels.sms.sender: messagebird takes a phone number or at most "
                              "11 letters, digits and spaces");
        c.channels.sms.sender = (char *)"Acme-Energie";
        open_fails(&c, msg, sizeof(msg));
        static const char *const good[] = { "Acme Energy", "+31612345678", "31612345678",
                                            "Acme", "12345" };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                c.channels.sms.sender = (char *)good[i];
                channel_sms_http.close(open_sms(&c));
        }
        c = cfg_for("carrier-pigeon", "/messages");
        open_fails(&c, msg, sizeof(msg));
        ck_assert_str_eq(msg, "channels.sms.provider: unknown provider carrier-pigeon");

        void *s = NULL;
        struct error err;
        c = cfg_for("messagebird", "/messages");
        ck_assert_int_eq(channel_sms_http.open(&s, JOB_CHANNEL_EMAIL, &c, &err), -EINVAL);
        ck_assert_ptr_null(s);
        channel_sms_http.close(NULL);
        ck_assert_int_eq(n_records(), 0);
}
END_TEST

/* ---- one connection ------------------------------------------------------- */

START_TEST(test_keepalive)
{
        struct config c = cfg_for("messagebird", "/messages");
        void *s = open_sms(&c);

        for (int i = 0; i < 3; i++)
                assert_outcome(send_one(s, TO, "Herinnering"), CHANNEL_SENT);
        /* error answers keep the connection too */
        script("[{\"status\": 500}, {\"status\": 422, \"body\": {\"errors\": [{\"code\": 9, "
               "\"description\": \"no (correct) recipients found\", \"parameter\": "
               "\"recipients\"}]}}]");
        assert_outcome(send_one(s, TO, "Herinnering"), CHANNEL_TEMPFAIL);
        assert_outcome(send_one(s, TO, "Herinnering"), CHANNEL_PERMFAIL);
        for (int i = 0; i < 2; i++)
                assert_outcome(send_one(s, TO, "Herinnering"), CHANNEL_SENT);

        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 7);
        long first = client_port(json_array_get(all, 0));
        for (size_t i = 1; i < json_array_size(all); i++)
                ck_assert_msg(client_port(json_array_get(all, i)) == first,
                              "request %zu came on another connection (port %ld, first %ld)", i,
                              client_port(json_array_get(all, i)), first);
        json_decref(all);
        channel_sms_http.close(s);

        /* a new session is a new connection */
        s = open_sms(&c);
        assert_outcome(send_one(s, TO, "Herinnering"), CHANNEL_SENT);
        json_t *last = record(7);
        ck_assert_int_ne(client_port(last), first);
        json_decref(last);
        channel_sms_http.close(s);
}
END_TEST

/* ---- failures ------------------------------------------------------------- */

START_TEST(test_retry_after)
{
        struct config c = cfg_for("messagebird", "/messages");
        void *s = open_sms(&c);
        char date[64], answers[512];
        time_t when = time(NULL) + 120;
        struct tm tm;

        gmtime_r(&when, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        snprintf(answers, sizeof(answers),
                 "[{\"status\": 429, \"headers\": {\"Retry-After\": \"2\"}, \"body\": "
                 "{\"errors\": [{\"code\": 429, \"description\": \"Too many requests\"}]}},"
                 " {\"status\": 503, \"headers\": {\"Retry-After\": \"%s\"}},"
                 " {\"status\": 500},"
                 " {\"status\": 503, \"headers\": {\"Retry-After\": \"soon\"}},"
                 " {\"status\": 429, \"headers\": {\"Retry-After\": \"99999999999\"}},"
                 " {\"status\": 502, \"body\": \"<html>Bad Gateway 31612345678</html>\"}]",
                 date);
        script(answers);

        struct send_result r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(r.retry_after_ms, 2000);
        ck_assert_str_eq(r.reason, "sms: messagebird: HTTP 429: code 429: Too many requests");
        ck_assert_str_eq(r.provider_id, "");

        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_msg(r.retry_after_ms > 110000 && r.retry_after_ms <= 120000,
                      "Retry-After %s gave %lld ms", date, (long long)r.retry_after_ms);
        ck_assert_str_eq(r.reason, "sms: messagebird: HTTP 503");

        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(r.retry_after_ms, 0);
        ck_assert_str_eq(r.reason, "sms: messagebird: HTTP 500");

        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(r.retry_after_ms, 0);

        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(r.retry_after_ms, 7LL * 86400 * 1000);

        /* an HTML error page is not echoed */
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(r.reason, "sms: messagebird: HTTP 502");

        /* and then it works again, Retry-After forgotten */
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_int_eq(r.retry_after_ms, 0);
        channel_sms_http.close(s);
}
END_TEST

START_TEST(test_permanent_failures)
{
        struct config c = cfg_for("messagebird", "/messages");
        void *s = open_sms(&c);

        script("[{\"status\": 422, \"body\": {\"errors\": [{\"code\": 9, \"description\": "
               "\"no (correct) recipients found: 31612345678\", \"parameter\": "
               "\"recipients\"}]}}]");
        struct send_result r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_int_eq(r.retry_after_ms, 0);
        ck_assert_str_eq(r.reason,
                         "sms: messagebird: HTTP 422: code 9: no (correct) recipients found: "
                         "[number]");
        channel_sms_http.close(s);

        c = cfg_for("twilio", "/2010-04-01");
        s = open_sms(&c);
        script("[{\"status\": 400, \"body\": {\"code\": 21211, \"message\": \"The 'To' number "
               "+31612345678 is not a valid phone number.\\r\\nKey: " TOKEN "\", \"more_info\": "
               "\"https://www.twilio.com/docs/errors/21211\", \"status\": 400}}]");
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_str_eq(r.reason,
                         "sms: twilio: HTTP 400: code 21211: The 'To' number [number] is not a "
                         "valid phone number. Key: [token]");
        channel_sms_http.close(s);

        c = cfg_for("generic", "/send");
        s = open_sms(&c);
        script("[{\"status\": 400, \"body\": {\"error\": \"bad number +31 6 1234 5678 (code "
               "42)\"}}, {\"status\": 410, \"body\": {\"error\": {\"message\": \"gone\"}}}]");
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_str_eq(r.reason, "sms: generic: HTTP 400: bad number [number] (code 42)");
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_str_eq(r.reason, "sms: generic: HTTP 410: gone");
        channel_sms_http.close(s);
}
END_TEST

/* Refused credentials are our configuration's fault, not the number's:
 * retry (and let an operator see it), do not move every customer to
 * another channel. */
START_TEST(test_auth_refused)
{
        struct config c = cfg_for("messagebird", "/messages");
        c.channels.sms.token = (char *)"wrong-token-0042";
        void *s = open_sms(&c);
        struct send_result r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(r.reason,
                         "sms: messagebird: HTTP 401 (check channels.sms url/token): code 2: "
                         "Request not allowed (incorrect access_key)");
        channel_sms_http.close(s);

        c = cfg_for("twilio", "/2010-04-01");
        c.channels.sms.token = (char *)"wrong-token-0042";
        s = open_sms(&c);
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(r.reason,
                         "sms: twilio: HTTP 401 (check channels.sms url/token): code 20003: "
                         "Authenticate");
        channel_sms_http.close(s);

        c = cfg_for("generic", "/nowhere");
        s = open_sms(&c);
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(r.reason,
                         "sms: generic: HTTP 404 (check channels.sms url/token): not found");
        channel_sms_http.close(s);
}
END_TEST

static int free_port(void)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        close(fd);
        return ntohs(a.sin_port);
}

START_TEST(test_network_errors)
{
        struct config c = cfg_for("messagebird", "/messages");
        char url[128];

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/messages", free_port());
        c.channels.sms.url = url;
        void *s = open_sms(&c);
        struct send_result r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(r.retry_after_ms, 0);
        ck_assert_msg(strncmp(r.reason, "sms: messagebird: cannot connect: ", 34) == 0, "%s",
                      r.reason);
        channel_sms_http.close(s);

        /* an answer slower than timeout_ms */
        c = cfg_for("twilio", "/2010-04-01");
        c.channels.sms.timeout_ms = 500;
        s = open_sms(&c);
        script("[{\"status\": 201, \"delay\": 3, \"body\": {\"sid\": \"SMlate\"}}]");
        int64_t t0 = harness_now_ms();
        r = send_one(s, TO, "x");
        int64_t took = harness_now_ms() - t0;
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_msg(strncmp(r.reason, "sms: twilio: timed out: ", 24) == 0, "%s", r.reason);
        ck_assert_msg(took >= 400 && took < 2500, "the timeout took %lld ms", (long long)took);
        ck_assert_str_eq(r.provider_id, "");
        /* the next message gets a new connection and goes */
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_int_ne(port_at(0), port_at(1));

        /* the provider closing the connection after an answer: the next
         * request reconnects */
        script("[{\"status\": 201, \"close\": true, \"body\": {\"sid\": \"SMclosed\"}}]");
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_str_eq(r.provider_id, "SMclosed");
        r = send_one(s, TO, "x");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_int_ne(port_at(2), port_at(3));
        channel_sms_http.close(s);
}
END_TEST

START_TEST(test_send_batch_in_flight)
{
        /* Eight messages, three requests in flight at a time: each gets the
         * outcome send() would give it, on at most three connections that
         * are kept for the next batch. The first answer is a 429. */
        struct config c = cfg_for("messagebird", "/messages");
        c.channels.sms.connections = 3;
        void *s = open_sms(&c);
        script("[{\"status\":429,\"headers\":{\"Retry-After\":\"3\"},\"delay\":0.2}]");
        enum { N = 8 };
        static char rids[N][19];
        struct message m[N];
        const struct message *list[N];
        struct send_result res[N];
        for (int i = 0; i < N; i++) {
                snprintf(rids[i], sizeof(rids[i]), "r-00000000000000%02x", i);
                m[i] = msg_for(i == 5 ? "+31101234567" : TO, "Betaal vandaag");
                m[i].reminder_id = rids[i];
                list[i] = &m[i];
        }
        memset(res, 0xa5, sizeof(res));
        channel_sms_http.send_batch(s, list, N, res);
        /* A landline fails before any request; 7 requests went out. */
        assert_outcome(res[5], CHANNEL_PERMFAIL);
        ck_assert_int_eq(n_records(), 7);
        int sent = 0, temp = 0;
        json_t *all = records();
        long ports[16];
        size_t n_ports = 0;
        for (size_t k = 0; k < json_array_size(all); k++) {
                json_t *r = json_array_get(all, k);
                json_t *body = json_loads(rstr(r, "body"), 0, NULL);
                const char *ref = json_string_value(json_object_get(body, "reference"));
                int i = (int)strtol(ref + 16, NULL, 16);
                ck_assert_str_eq(ref, rids[i]);
                long st = (long)json_integer_value(json_object_get(r, "status"));
                if (st == 429) {
                        assert_outcome(res[i], CHANNEL_TEMPFAIL);
                        ck_assert_int_eq(res[i].retry_after_ms, 3000);
                        temp++;
                } else {
                        assert_outcome(res[i], CHANNEL_SENT);
                        const char *id = json_string_value(
                                json_object_get(json_object_get(r, "response"), "id"));
                        ck_assert_str_eq(res[i].provider_id, id);
                        sent++;
                }
                check_reason(&res[i]);
                long p = client_port(r);
                bool known = false;
                for (size_t q = 0; q < n_ports; q++)
                        known = known || ports[q] == p;
                if (!known && n_ports < 16)
                        ports[n_ports++] = p;
                json_decref(body);
        }
        json_decref(all);
        ck_assert_int_eq(sent, 6);
        ck_assert_int_eq(temp, 1);
        ck_assert_msg(n_ports >= 2 && n_ports <= 3, "%zu connections for 3 in flight", n_ports);
        /* The next batch reuses them. */
        channel_sms_http.send_batch(s, list, 3, res);
        all = records();
        for (size_t k = 7; k < json_array_size(all); k++) {
                long p = client_port(json_array_get(all, k));
                bool known = false;
                for (size_t q = 0; q < n_ports; q++)
                        known = known || ports[q] == p;
                ck_assert_msg(known, "request %zu on a new connection (port %ld)", k, p);
        }
        ck_assert_int_eq(json_array_size(all), 10);
        json_decref(all);
        channel_sms_http.close(s);
}
END_TEST

START_TEST(test_recipients)
{
        struct config c = cfg_for("messagebird", "/messages");
        void *s = open_sms(&c);

        struct send_result r = send_one(s, "+31101234567", "x");
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_str_eq(r.reason, "sms: messagebird: recipient is a fixed line number, not mobile");
        r = send_one(s, "+3161234", "x");
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_str_eq(r.reason, "sms: messagebird: recipient: phone: too short for NL");
        r = send_one(s, NULL, "x");
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_int_eq(n_records(), 0);

        /* a national number of the default country, and a foreign one */
        r = send_one(s, "06 1234 5678", "x");
        assert_outcome(r, CHANNEL_SENT);
        r = send_one(s, "+447700900123", "x");
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_msg(strstr(body_at(0), "\"recipients\":[31612345678]"), "%s",
                      body_at(0));
        ck_assert_msg(strstr(body_at(1), "\"recipients\":[447700900123]"), "%s",
                      body_at(1));

        /* no from in the message: the configured sender */
        struct message m = msg_for(TO, "x");
        m.from = NULL;
        channel_sms_http.send(s, &m, &r);
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_msg(strstr(body_at(2), "\"originator\":\"Acme\""), "%s",
                      body_at(2));

        /* text that is not UTF-8 cannot be sent as JSON */
        r = send_one(s, TO, "caf\xe9");
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_int_eq(n_records(), 3);
        channel_sms_http.close(s);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("sms");
        TCase *tc = tcase_create("http");

        curl_global_init(CURL_GLOBAL_DEFAULT);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_messagebird_request);
        tcase_add_test(tc, test_twilio_request);
        tcase_add_test(tc, test_generic_request);
        tcase_add_test(tc, test_open_errors);
        tcase_add_test(tc, test_keepalive);
        tcase_add_test(tc, test_retry_after);
        tcase_add_test(tc, test_permanent_failures);
        tcase_add_test(tc, test_auth_refused);
        tcase_add_test(tc, test_network_errors);
        tcase_add_test(tc, test_recipients);
        tcase_add_test(tc, test_send_batch_in_flight);
        suite_add_tcase(s, tc);

        int rc = harness_run(s);
        curl_global_cleanup();
        return rc;
}
