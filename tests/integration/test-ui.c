/* test-ui.c: the credit team's dashboard and API against a real Redis and
 * a real dunningd, with data made by a real run of the pipeline: reminders
 * sent through the outbox, a payment through `dunningctl paid`, and a job
 * the workers dead-letter (its customer is named like an XSS attack).
 *
 * `itest-ui` checks the API and the pages over raw HTTP; `itest-ui
 * browser` sets up the same world and hands it to tests/ui/browser.py
 * (headless Chromium through Selenium), exiting 77 (skipped) only when
 * that says Chromium cannot start. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "s3cret-token-for-the-credit-team"
#define XSS "<img src=x onerror=alert(1)>"
#define XSS_EMAIL "xss.customer@example.nl"
#define CUSTOMERS 6

static bool browser_mode;

/* ---- a raw HTTP client: status, headers and body of one request ---- */

struct resp {
        int status;
        char *head;     /* the header lines */
        char *body;
};

static void resp_free(struct resp *r)
{
        free(r->head);
        free(r->body);
}

static struct resp request(int port, const char *method, const char *path, const char *headers,
                           const char *body)
{
        struct resp r = { .status = -1 };
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
                      strerror(errno));
        char *req = NULL;
        ck_assert(asprintf(&req,
                           "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                           "Content-Type: application/x-www-form-urlencoded\r\n"
                           "Content-Length: %zu\r\n\r\n%s",
                           method, path, headers ? headers : "", body ? strlen(body) : 0,
                           body ? body : "") > 0);
        ck_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
        free(req);
        size_t len = 0, cap = 65536;
        char *all = malloc(cap);
        ssize_t n;
        while ((n = read(fd, all + len, cap - len - 1)) > 0) {
                len += (size_t)n;
                if (cap - len < 4096)
                        all = realloc(all, cap *= 2);
        }
        close(fd);
        all[len] = '\0';
        char *sep = strstr(all, "\r\n\r\n");
        ck_assert_msg(sep, "no HTTP response to %s %s", method, path);
        *sep = '\0';
        sscanf(all, "HTTP/1.1 %d", &r.status);
        r.head = strdup(all);
        r.body = strdup(sep + 4);
        free(all);
        return r;
}

/* The value of header name (case-insensitive) in r, into out; false when
 * absent. */
static bool header(const struct resp *r, const char *name, char *out, size_t n)
{
        for (const char *l = r->head; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                size_t nl = strlen(name);
                if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
                        const char *v = l + nl + 1 + (l[nl + 1] == ' ');
                        snprintf(out, n, "%.*s", (int)strcspn(v, "\r\n"), v);
                        return true;
                }
        }
        return false;
}

static const char *bearer(void)
{
        return "Authorization: Bearer " TOKEN "\r\n";
}

static json_t *api(int port, const char *path, int want)
{
        struct resp r = request(port, "GET", path, bearer(), NULL);
        ck_assert_msg(r.status == want, "GET %s: %d, want %d: %s", path, r.status, want, r.body);
        json_t *o = json_loads(r.body, 0, NULL);
        ck_assert_msg(o, "GET %s: not JSON: %s", path, r.body);
        resp_free(&r);
        return o;
}

/* ---- the world: a real run of the pipeline ---- */

struct world {
        struct harness *h;
        struct harness_daemon *d;
        char dead_id[48];
};

static bool dead_is_one(void *arg)
{
        return harness_xlen(arg, "dead") == 1;
}

static bool paid_seen(void *arg)
{
        return harness_count_events(arg, "attributed") >= 1;
}

static bool answers(void *arg)
{
        int st;
        char *body = harness_http(arg, "GET", "/healthz", &st);
        free(body);
        return st != -1;
}

/* A daemon with the dashboard on and nothing sent yet. */
static struct harness_daemon *ui_daemon(struct harness *h)
{
        struct harness_config c;
        char *tok = harness_write_file(h, "ui-token", TOKEN "\n");
        char extra[512];
        snprintf(extra, sizeof(extra), "ui: { enabled: true, token_file: %s }\n", tok);
        free(tok);
        harness_config_defaults(&c);
        c.workers = 1;
        c.extra_yaml = extra;
        harness_config_write(h, &c);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert(harness_wait_until(answers, d, 10000));
        return d;
}

static void world_make(struct world *w)
{
        w->h = harness_new();
        w->d = ui_daemon(w->h);

        char *path = harness_write_jobs(w->h, "jobs.jsonl", 1, CUSTOMERS, NULL);
        struct harness_ctl r;
        harness_ctl_run(w->h, &r, "enqueue", path, NULL);
        ck_assert_msg(r.status == 0, "enqueue: %s", r.err);
        harness_ctl_free(&r);
        free(path);
        ck_assert_uint_eq(harness_wait_sent(w->h, CUSTOMERS, 20000), CUSTOMERS);
        harness_ctl_run(w->h, &r, "paid", "INV-2", "--amount-cents", "1002", NULL);
        ck_assert_msg(r.status == 0, "paid: %s", r.err);
        harness_ctl_free(&r);
        ck_assert_msg(harness_wait_until(paid_seen, w->h, 20000), "payment not attributed");

        /* A job the workers must dead-letter (a negative amount), for a
         * customer whose name is markup. */
        char *base = harness_job_json(99, NULL);
        json_t *job = json_loads(base, 0, NULL);
        free(base);
        json_t *cust = json_object_get(job, "customer");
        json_object_set_new(cust, "name", json_string(XSS));
        json_object_set_new(cust, "email", json_string(XSS_EMAIL));
        json_object_set_new(json_array_get(json_object_get(job, "invoices"), 0), "amount_cents",
                            json_integer(-5));
        char *text = json_dumps(job, JSON_COMPACT);
        harness_redis_cmd(w->h, "XADD dunning:jobs * job %s", text);
        free(text);
        json_decref(job);
        ck_assert_msg(harness_wait_until(dead_is_one, w->h, 20000), "the bad job was not dead-lettered");
        struct harness_entry *e;
        size_t n = harness_xrange(w->h, "dunning:dead", &e);
        ck_assert_uint_eq(n, 1);
        snprintf(w->dead_id, sizeof(w->dead_id), "%s", e[0].id);
        harness_entries_free(e, n);
}

/* ---- API ---- */

START_TEST(test_no_token_no_data)
{
        struct world w;
        world_make(&w);
        int port = w.d->port;
        const char *paths[] = { "/api/v1/stats", "/api/v1/queue", "/api/v1/dead",
                                "/api/v1/customers/C-1", "/ui/", "/ui/dead", "/ui/customers/C-1" };
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                struct resp r = request(port, "GET", paths[i], NULL, NULL);
                ck_assert_msg(r.status == 401, "%s without a token: %d", paths[i], r.status);
                ck_assert_msg(!strstr(r.body, "C-1") && !strstr(r.body, "rows") &&
                                      !strstr(r.body, "onerror"),
                              "%s without a token shows data: %s", paths[i], r.body);
                resp_free(&r);
                r = request(port, "GET", paths[i], "Authorization: Bearer wrong\r\n", NULL);
                ck_assert_msg(r.status == 401, "%s with a wrong token: %d", paths[i], r.status);
                resp_free(&r);
        }
        /* a wrong token at the login form: 401, no cookie */
        struct resp r = request(port, "POST", "/ui/login", NULL, "token=nope");
        char v[512];
        ck_assert_int_eq(r.status, 401);
        ck_assert(!header(&r, "Set-Cookie", v, sizeof(v)));
        resp_free(&r);
        ck_assert(harness_daemon_log_has(w.d, "ui: login refused"));
        ck_assert(!harness_daemon_log_has(w.d, TOKEN));
        harness_daemon_stop(w.d);
        harness_free(w.h);
}
END_TEST

START_TEST(test_api_numbers_are_dunningctls)
{
        struct world w;
        world_make(&w);
        int port = w.d->port;
        json_t *stats = api(port, "/api/v1/stats", 200);
        struct harness_ctl r;
        harness_ctl_run(w.h, &r, "stats", "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        json_t *ctl = json_loads(r.out, 0, NULL);
        harness_ctl_free(&r);
        ck_assert(ctl);
        /* the same code, the same numbers */
        ck_assert_msg(json_equal(json_object_get(stats, "rows"), json_object_get(ctl, "rows")),
                      "API rows differ from dunningctl stats --json");
        long long sent = 0;
        size_t i;
        json_t *row, *day;
        json_array_foreach(json_object_get(stats, "rows"), i, row)
                sent += json_integer_value(json_object_get(row, "sent"));
        ck_assert_int_eq(sent, CUSTOMERS);
        /* the daily series: 30 days, today's sends per channel add up */
        json_t *daily = json_object_get(stats, "daily");
        ck_assert_uint_eq(json_array_size(daily), 30);
        day = json_array_get(daily, 29);
        long long today = 0;
        const char *ch;
        json_t *v;
        json_object_foreach(json_object_get(day, "sent"), ch, v)
                today += json_integer_value(v);
        ck_assert_int_eq(today, CUSTOMERS);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(day, "paid"),
                                                            harness_channel_of(2))),
                         1);
        json_decref(ctl);
        json_decref(stats);

        json_t *q = api(port, "/api/v1/queue", 200);
        ck_assert_int_eq(json_integer_value(json_object_get(q, "dead")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(q, "sent_last_5_min")), CUSTOMERS);
        json_decref(q);

        json_t *camps = api(port, "/api/v1/campaigns", 200);
        json_t *c0 = json_array_get(json_object_get(camps, "campaigns"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(c0, "campaign")), HARNESS_CAMPAIGN);
        ck_assert_int_eq(json_integer_value(json_object_get(
                                 json_object_get(json_object_get(json_object_get(c0, "progress"),
                                                                 "steps"),
                                                 HARNESS_STEP),
                                 "sent")),
                         CUSTOMERS);
        /* the dead-lettered job is the campaign's too */
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(c0, "progress"),
                                                            "dead")),
                         1);
        ck_assert(json_is_false(json_object_get(camps, "dead_truncated")));
        json_decref(camps);
        json_t *bad = api(port, "/api/v1/stats?since=yesterday", 400);
        json_decref(bad);
        /* a backwards period is refused, as dunningctl refuses it, not
         * answered with empty figures */
        bad = api(port, "/api/v1/stats?since=2026-11-20&until=2026-11-01", 400);
        ck_assert_str_eq(json_string_value(json_object_get(bad, "error")), "until is before since");
        json_decref(bad);
        harness_daemon_stop(w.d);
        harness_free(w.h);
}
END_TEST

START_TEST(test_api_customer_by_invoice)
{
        struct world w;
        world_make(&w);
        int port = w.d->port;
        json_t *found = api(port, "/api/v1/customers?invoice=INV-2", 200);
        ck_assert_str_eq(json_string_value(json_object_get(found, "customer")), "C-2");
        json_decref(found);
        json_t *none = api(port, "/api/v1/customers?invoice=INV-404", 404);
        json_decref(none);

        json_t *c = api(port, "/api/v1/customers/C-2", 200);
        json_t *tl = json_object_get(c, "timeline"), *e;
        size_t i;
        bool sent = false, paid = false;
        json_array_foreach(tl, i, e) {
                const char *type = json_string_value(json_object_get(e, "type"));
                sent |= strcmp(type, "sent") == 0 &&
                        strcmp(json_string_value(json_object_get(e, "channel")),
                               harness_channel_of(2)) == 0;
                paid |= strcmp(type, "paid") == 0;
        }
        ck_assert_msg(sent && paid, "timeline lacks the send or the payment");
        json_t *inv = json_array_get(json_object_get(c, "invoices"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(inv, "number")), "INV-2");
        ck_assert_str_eq(json_string_value(json_object_get(inv, "status")), "paid");
        /* explain's reasoning, from the same code as `dunningctl explain` */
        struct harness_ctl r;
        harness_ctl_run(w.h, &r, "explain", "--json", "C-2", NULL);
        json_t *ex = json_loads(r.out, 0, NULL);
        harness_ctl_free(&r);
        ck_assert(ex);
        ck_assert(json_equal(json_object_get(c, "channels"), json_object_get(ex, "channels")));
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "policy"), "reason")),
                         json_string_value(json_object_get(json_object_get(ex, "policy"), "reason")));
        json_decref(ex);
        json_decref(c);
        json_t *nf = api(port, "/api/v1/customers/C-404", 404);
        json_decref(nf);

        /* A disputed invoice and a held customer show on the API and the
         * page (issue 11: holds on the customer's page). */
        const char *holds[][8] = {
                { "hold", "INV-2", "--reason", "dispute", "--note", "never <b>arrived</b>", NULL },
                { "hold", "--customer", "C-2", "--reason", "other", "--until", "2099-01-01", NULL },
        };
        for (size_t k = 0; k < 2; k++) {
                harness_ctl_run(w.h, &r, holds[k][0], holds[k][1], holds[k][2], holds[k][3],
                                holds[k][4], holds[k][5], holds[k][6], NULL);
                ck_assert_msg(r.status == 0, "%s: %s", holds[k][0], r.err);
                harness_ctl_free(&r);
        }
        c = api(port, "/api/v1/customers/C-2", 200);
        inv = json_array_get(json_object_get(c, "invoices"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(inv, "hold")), "dispute");
        json_t *dis = json_object_get(c, "disputes");
        ck_assert_int_eq(json_integer_value(json_object_get(dis, "count")), 1);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(dis, "hold"),
                                                           "reason")),
                         "other");
        json_decref(c);
        struct resp page = request(port, "GET", "/ui/customers/C-2", bearer(), NULL);
        ck_assert_int_eq(page.status, 200);
        ck_assert_msg(strstr(page.body, "on hold (dispute)") &&
                      strstr(page.body, "Disputes: 1") &&
                      strstr(page.body, "Customer on hold (other) until 2099-01-01"),
                      "%s", page.body);
        resp_free(&page);
        harness_daemon_stop(w.d);
        harness_free(w.h);
}
END_TEST

static bool dead_back(void *arg)
{
        struct world *w = arg;
        struct harness_entry *e;
        size_t n = harness_xrange(w->h, "dunning:dead", &e);
        bool back = n == 1 && strcmp(e[0].id, w->dead_id) != 0;
        harness_entries_free(e, n);
        return back;
}

START_TEST(test_api_dead_masked_retry_drop)
{
        struct world w;
        world_make(&w);
        int port = w.d->port;
        json_t *d = api(port, "/api/v1/dead", 200);
        json_t *e = json_array_get(json_object_get(d, "entries"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(e, "id")), w.dead_id);
        ck_assert_str_eq(json_string_value(json_object_get(e, "name")), XSS);
        ck_assert_str_eq(json_string_value(json_object_get(e, "email")), "x***@example.nl");
        ck_assert_ptr_null(json_object_get(e, "job"));
        char *text = json_dumps(d, 0);
        ck_assert_msg(!strstr(text, XSS_EMAIL), "the API shows an unmasked address");
        free(text);
        json_decref(d);

        /* the page escapes the name, masks the address, offers the reveal */
        struct resp r = request(port, "GET", "/ui/dead", bearer(), NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(strstr(r.body, "&lt;img src=x onerror=alert(1)&gt;"), "%s", r.body);
        ck_assert(!strstr(r.body, "<img"));
        ck_assert(!strstr(r.body, XSS_EMAIL));
        resp_free(&r);
        char path[128];
        snprintf(path, sizeof(path), "/ui/dead?reveal=%s", w.dead_id);
        r = request(port, "GET", path, bearer(), NULL);
        ck_assert(strstr(r.body, XSS_EMAIL));
        resp_free(&r);
        ck_assert_uint_eq(harness_daemon_log_lines(w.d, "contact data revealed", w.dead_id, NULL), 1);
        ck_assert(!harness_daemon_log_has(w.d, XSS_EMAIL));

        /* retry: gone from the list, back on the queue (still invalid, so
         * the worker dead-letters it again, under a new id) */
        snprintf(path, sizeof(path), "/api/v1/dead/%s/retry", w.dead_id);
        r = request(port, "POST", path, bearer(), NULL);
        ck_assert_msg(r.status == 200, "retry: %d %s", r.status, r.body);
        ck_assert(strstr(r.body, "\"retried\":true"));
        resp_free(&r);
        ck_assert_msg(harness_wait_until(dead_back, &w, 20000), "retried job did not run again");
        r = request(port, "POST", path, bearer(), NULL);
        ck_assert_int_eq(r.status, 404);
        resp_free(&r);
        d = api(port, "/api/v1/dead", 200);
        e = json_array_get(json_object_get(d, "entries"), 0);
        char again[48];
        snprintf(again, sizeof(again), "%s", json_string_value(json_object_get(e, "id")));
        ck_assert_str_ne(again, w.dead_id);
        json_decref(d);
        /* drop */
        snprintf(path, sizeof(path), "/api/v1/dead/%s/drop", again);
        r = request(port, "POST", path, bearer(), NULL);
        ck_assert_int_eq(r.status, 200);
        resp_free(&r);
        ck_assert_int_eq(harness_xlen(w.h, "dead"), 0);
        harness_daemon_stop(w.d);
        harness_free(w.h);
}
END_TEST

/* daemon/ui.c's limits: what a list shows at most. */
#define DEAD_SHOWN 200
#define CAMPAIGNS_MAX 20
#define CAMPAIGN_DEAD_SCAN 10000
#define TIMELINE_SCAN 5000

/* n entries added to dunning:<stream> in one command: each with the
 * field/value pairs of argv[2..] (up to four pairs). */
static void xadd_many(struct harness *h, const char *stream, int n, const char *fields[8])
{
        harness_redis_cmd(h,
                          "EVAL %s 1 dunning:%s %d %s %s %s %s %s %s %s %s",
                          "for i = 1, tonumber(ARGV[1]) do "
                          "redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[3], ARGV[4], ARGV[5], "
                          "ARGV[6], ARGV[7], ARGV[8], ARGV[9]) end",
                          stream, n, fields[0], fields[1], fields[2], fields[3], fields[4],
                          fields[5], fields[6], fields[7]);
}

static bool has_cut(const char *page)
{
        return strstr(page, "class=\"cut\"") != NULL;
}

/* GET path as a page in lang: its body (owned), status 200 asserted. */
static char *page_in(int port, const char *path, const char *lang)
{
        char p[256];
        snprintf(p, sizeof(p), "%s%slang=%s", path, strchr(path, '?') ? "&" : "?", lang);
        struct resp r = request(port, "GET", p, bearer(), NULL);
        ck_assert_msg(r.status == 200, "GET %s: %d %s", p, r.status, r.body);
        free(r.head);
        return r.body;
}

static long long jint(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        ck_assert_msg(json_is_integer(v), "no integer \"%s\"", key);
        return json_integer_value(v);
}

/* A list the dashboard cuts short says so, in the API and on the page, in
 * both languages; a whole list says nothing. */
START_TEST(test_lists_say_when_cut)
{
        struct world w;
        world_make(&w);
        int port = w.d->port;

        /* A few of everything: nothing is cut, no page says so. */
        json_t *o = api(port, "/api/v1/dead", 200);
        ck_assert_int_eq(jint(o, "total"), 1);
        ck_assert_int_eq(jint(o, "shown"), 1);
        ck_assert_int_eq(jint(o, "count"), 1);
        ck_assert(json_is_false(json_object_get(o, "truncated")));
        json_decref(o);
        o = api(port, "/api/v1/campaigns", 200);
        ck_assert_int_eq(jint(o, "total"), 1);
        ck_assert_int_eq(jint(o, "shown"), 1);
        ck_assert_int_eq(jint(o, "dead_scanned"), 1);
        json_decref(o);
        o = api(port, "/api/v1/customers/C-2", 200);
        ck_assert(json_is_true(json_object_get(o, "timeline_complete")));
        ck_assert_int_eq(jint(o, "timeline_searched"), harness_xlen(w.h, "events"));
        json_decref(o);
        o = api(port, "/api/v1/customers/C-404", 404);
        ck_assert_str_eq(json_string_value(json_object_get(o, "error")), "no customer C-404");
        json_decref(o);
        const char *pages[] = { "/ui/dead", "/ui/campaigns", "/ui/customers/C-2" };
        for (size_t i = 0; i < 3; i++) {
                char *b = page_in(port, pages[i], "en");
                ck_assert_msg(!has_cut(b), "%s says a whole list was cut: %s", pages[i], b);
                free(b);
        }

        /* More campaigns than the page shows: 21 more, each with a
         * reminder sent through the pipeline. */
        for (int i = 1; i <= CAMPAIGNS_MAX + 1; i++) {
                char *base = harness_job_json(100 + i, NULL), camp[16];
                json_t *job = json_loads(base, 0, NULL);
                free(base);
                snprintf(camp, sizeof(camp), "c-%02d", i);
                json_object_set_new(job, "campaign", json_string(camp));
                char *text = json_dumps(job, JSON_COMPACT);
                harness_redis_cmd(w.h, "XADD dunning:jobs * job %s", text);
                free(text);
                json_decref(job);
        }
        ck_assert_uint_eq(harness_wait_sent(w.h, CUSTOMERS + CAMPAIGNS_MAX + 1, 20000),
                          CUSTOMERS + CAMPAIGNS_MAX + 1);
        /* More dead letters than the list shows, and than a campaign's
         * dead letters are counted among: 10,050 more, as a worker writes
         * them. */
        const char *dead[8] = { "job", "{\"campaign\":\"c-01\",\"customer\":{\"id\":\"C-101\"}}",
                                "reason", "invalid", "error", "test", "attempts", "1" };
        xadd_many(w.h, "dead", CAMPAIGN_DEAD_SCAN + 50, dead);

        o = api(port, "/api/v1/dead", 200);
        ck_assert_int_eq(jint(o, "total"), CAMPAIGN_DEAD_SCAN + 51);
        ck_assert_int_eq(jint(o, "shown"), DEAD_SHOWN);
        ck_assert_uint_eq(json_array_size(json_object_get(o, "entries")), DEAD_SHOWN);
        ck_assert(json_is_true(json_object_get(o, "truncated")));
        json_decref(o);
        char *b = page_in(port, "/ui/dead", "nl");
        ck_assert_msg(strstr(b, "<p class=\"cut\" id=\"dead-cut\">200 van 10.051 onbestelbare"),
                      "%s", b);
        free(b);
        b = page_in(port, "/ui/dead", "en");
        ck_assert_msg(strstr(b, "id=\"dead-cut\">Showing 200 of 10,051 dead letters"), "%s", b);
        free(b);

        o = api(port, "/api/v1/campaigns", 200);
        ck_assert_int_eq(jint(o, "total"), CAMPAIGNS_MAX + 2);
        ck_assert_int_eq(jint(o, "shown"), CAMPAIGNS_MAX);
        ck_assert_uint_eq(json_array_size(json_object_get(o, "campaigns")), CAMPAIGNS_MAX);
        ck_assert(json_is_true(json_object_get(o, "dead_truncated")));
        ck_assert_int_eq(jint(o, "dead_scanned"), CAMPAIGN_DEAD_SCAN);
        json_decref(o);
        b = page_in(port, "/ui/campaigns", "en");
        ck_assert_msg(strstr(b, "id=\"campaigns-cut\">Showing 20 of 22 campaigns") &&
                              strstr(b, "id=\"campaigns-dead-cut\">Dead letters per campaign: "
                                        "only the oldest 10,000 were counted."),
                      "%s", b);
        free(b);
        b = page_in(port, "/ui/campaigns", "nl");
        ck_assert_msg(strstr(b, ">20 van 22 campagnes") && strstr(b, "oudste 10.000 zijn geteld"),
                      "%s", b);
        free(b);

        /* Events up to exactly what the timeline searches: all of them
         * searched, nothing said; one more and it says so. */
        const char *noise[8] = { "type", "noise", "a", "1", "b", "2", "c", "3" };
        long long have = harness_xlen(w.h, "events");
        ck_assert_int_lt(have, TIMELINE_SCAN);
        xadd_many(w.h, "events", (int)(TIMELINE_SCAN - have), noise);
        o = api(port, "/api/v1/customers/C-2", 200);
        ck_assert(json_is_true(json_object_get(o, "timeline_complete")));
        ck_assert_int_eq(jint(o, "timeline_searched"), TIMELINE_SCAN);
        ck_assert_uint_ge(json_array_size(json_object_get(o, "timeline")), 2);
        json_decref(o);
        b = page_in(port, "/ui/customers/C-2", "en");
        ck_assert_msg(!has_cut(b), "%s", b);
        free(b);
        xadd_many(w.h, "events", 1, noise);
        o = api(port, "/api/v1/customers/C-2", 200);
        ck_assert(json_is_false(json_object_get(o, "timeline_complete")));
        ck_assert_int_eq(jint(o, "timeline_searched"), TIMELINE_SCAN);
        json_decref(o);
        /* C-2's events pushed out of the search: an empty timeline that
         * says why. */
        xadd_many(w.h, "events", TIMELINE_SCAN, noise);
        o = api(port, "/api/v1/customers/C-2", 200);
        ck_assert(json_is_false(json_object_get(o, "timeline_complete")));
        ck_assert_uint_eq(json_array_size(json_object_get(o, "timeline")), 0);
        json_decref(o);
        /* one not found says where it was looked for */
        o = api(port, "/api/v1/customers/C-404", 404);
        ck_assert_str_eq(json_string_value(json_object_get(o, "error")),
                         "no customer C-404 in the newest 5000 events");
        json_decref(o);
        b = page_in(port, "/ui/customers/C-2", "en");
        ck_assert_msg(strstr(b, "<p class=\"cut\" id=\"timeline-cut\">Only the newest 5,000 "
                                "events of all customers were searched"),
                      "%s", b);
        free(b);
        b = page_in(port, "/ui/customers/C-2", "nl");
        ck_assert_msg(strstr(b, "id=\"timeline-cut\">Alleen de nieuwste 5.000 gebeurtenissen"),
                      "%s", b);
        free(b);
        harness_daemon_stop(w.d);
        harness_free(w.h);
}
END_TEST

START_TEST(test_session_csrf_and_headers)
{
        struct world w;
        world_make(&w);
        int port = w.d->port;
        struct resp r = request(port, "POST", "/ui/login", NULL, "token=" TOKEN);
        char cookie[512], v[1024], hdr[700];
        ck_assert_int_eq(r.status, 303);
        ck_assert(header(&r, "Set-Cookie", cookie, sizeof(cookie)));
        ck_assert(strstr(cookie, "HttpOnly") && strstr(cookie, "SameSite=Strict"));
        cookie[strcspn(cookie, ";")] = '\0';
        resp_free(&r);
        snprintf(hdr, sizeof(hdr), "Cookie: %s\r\nAccept-Language: nl-NL,nl;q=0.9\r\n", cookie);

        r = request(port, "GET", "/ui/customers/C-2", hdr, NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert(header(&r, "Content-Security-Policy", v, sizeof(v)));
        ck_assert(strstr(v, "script-src 'self'") && !strstr(v, "unsafe-inline"));
        ck_assert(header(&r, "X-Frame-Options", v, sizeof(v)) && strcmp(v, "DENY") == 0);
        ck_assert(header(&r, "Cache-Control", v, sizeof(v)) && strcmp(v, "no-store") == 0);
        ck_assert_msg(strstr(r.body, "Tijdlijn"), "Accept-Language nl gives Dutch");
        ck_assert(!strstr(r.body, "<script>"));
        const char *m = strstr(r.body, "name=\"csrf-token\" content=\"");
        ck_assert(m);
        char csrf[65];
        snprintf(csrf, sizeof(csrf), "%.64s", m + strlen("name=\"csrf-token\" content=\""));
        resp_free(&r);
        r = request(port, "GET", "/ui/?lang=en", hdr, NULL);
        ck_assert(strstr(r.body, "Overview") && strstr(r.body, "<svg"));
        resp_free(&r);

        /* a POST with the cookie but no CSRF token is refused */
        char path[128];
        snprintf(path, sizeof(path), "/ui/dead/%s/drop", w.dead_id);
        r = request(port, "POST", path, hdr, NULL);
        ck_assert_int_eq(r.status, 403);
        resp_free(&r);
        r = request(port, "POST", path, hdr, "csrf=0000000000000000000000000000000000000000000000000000000000000000");
        ck_assert_int_eq(r.status, 403);
        resp_free(&r);
        ck_assert_int_eq(harness_xlen(w.h, "dead"), 1);
        char body[128];
        snprintf(body, sizeof(body), "csrf=%s", csrf);
        r = request(port, "POST", path, hdr, body);
        ck_assert_int_eq(r.status, 303);
        ck_assert(header(&r, "Location", v, sizeof(v)) && strstr(v, "/ui/dead"));
        resp_free(&r);
        ck_assert_int_eq(harness_xlen(w.h, "dead"), 0);

        /* log out: the cookie is cleared (needs the CSRF token too) */
        r = request(port, "POST", "/ui/logout", hdr, body);
        ck_assert_int_eq(r.status, 303);
        ck_assert(header(&r, "Set-Cookie", v, sizeof(v)) && strstr(v, "dunningd_ui=;") &&
                  strstr(v, "Max-Age=0"));
        resp_free(&r);
        /* a forged cookie is no session */
        r = request(port, "GET", "/ui/", "Cookie: dunningd_ui=99999999999.abcd\r\n", NULL);
        ck_assert_int_eq(r.status, 401);
        resp_free(&r);
        /* search by invoice number lands on the customer */
        r = request(port, "GET", "/ui/customers?q=INV-3", hdr, NULL);
        ck_assert_int_eq(r.status, 303);
        ck_assert(header(&r, "Location", v, sizeof(v)));
        ck_assert_str_eq(v, "/ui/customers/C-3");
        resp_free(&r);
        /* a pasted number with blanks around it finds the same customer */
        r = request(port, "GET", "/ui/customers?q=%20INV-3%20%0A", hdr, NULL);
        ck_assert_int_eq(r.status, 303);
        ck_assert(header(&r, "Location", v, sizeof(v)));
        ck_assert_str_eq(v, "/ui/customers/C-3");
        resp_free(&r);
        harness_daemon_stop(w.d);
        harness_free(w.h);
}
END_TEST

START_TEST(test_off_unless_enabled)
{
        /* the shipped default: no ui key at all */
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert(harness_wait_until(answers, d, 10000));
        const char *paths[] = { "/ui/", "/ui/login", "/ui/static/ui.js", "/api/v1/stats" };
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                struct resp r = request(d->port, "GET", paths[i], bearer(), NULL);
                ck_assert_msg(r.status == 404, "%s with ui off: %d", paths[i], r.status);
                resp_free(&r);
        }
        struct resp r = request(d->port, "GET", "/healthz", NULL, NULL);
        ck_assert_int_eq(r.status, 200);
        resp_free(&r);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

START_TEST(test_customer_id_with_slash)
{
        /* customer.id may be any printable word, '/' included: the page's
         * links percent-encode it, the server must take it back whole. */
        struct harness *h = harness_new();
        struct harness_daemon *d = ui_daemon(h);
        char *base = harness_job_json(1, NULL);
        json_t *job = json_loads(base, 0, NULL);
        free(base);
        json_object_set_new(json_object_get(job, "customer"), "id", json_string("ACME/42"));
        char *text = json_dumps(job, JSON_COMPACT);
        harness_redis_cmd(h, "XADD dunning:jobs * job %s", text);
        free(text);
        json_decref(job);
        ck_assert_uint_eq(harness_wait_sent(h, 1, 20000), 1);

        json_t *c = api(d->port, "/api/v1/customers/ACME%2F42", 200);
        ck_assert_str_eq(json_string_value(json_object_get(c, "customer")), "ACME/42");
        ck_assert_uint_ge(json_array_size(json_object_get(c, "timeline")), 1);
        json_decref(c);
        struct resp r = request(d->port, "GET", "/ui/customers?q=ACME%2F42", bearer(), NULL);
        char loc[256];
        ck_assert_int_eq(r.status, 303);
        ck_assert(header(&r, "Location", loc, sizeof(loc)));
        ck_assert_str_eq(loc, "/ui/customers/ACME%2F42");
        resp_free(&r);
        r = request(d->port, "GET", loc, bearer(), NULL);
        ck_assert_msg(r.status == 200, "%s: %d", loc, r.status);
        ck_assert(strstr(r.body, "ACME/42"));
        resp_free(&r);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

START_TEST(test_redis_down_503)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = ui_daemon(h);
        json_t *q = api(d->port, "/api/v1/queue", 200);
        json_decref(q);
        harness_redis_stop(h);
        const char *paths[] = { "/api/v1/queue", "/api/v1/stats", "/api/v1/dead",
                                "/api/v1/customers/C-1", "/ui/", "/ui/dead" };
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                struct resp r = request(d->port, "GET", paths[i], bearer(), NULL);
                ck_assert_msg(r.status == 503, "%s with redis down: %d %s", paths[i], r.status,
                              r.body);
                resp_free(&r);
        }
        struct resp r = request(d->port, "POST", "/api/v1/dead/1-0/retry", bearer(), NULL);
        ck_assert_int_eq(r.status, 503);
        resp_free(&r);
        harness_redis_start(h);
        q = api(d->port, "/api/v1/queue", 200);
        json_decref(q);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

/* ---- the browser ---- */

START_TEST(test_browser)
{
        struct world w;
        world_make(&w);
        const char *src = getenv("DUNNINGD_SOURCE_ROOT"), *bld = getenv("DUNNINGD_BUILD_ROOT");
        char script[512], outdir[512], port[16];
        snprintf(script, sizeof(script), "%s/tests/ui/browser.py", src ? src : ".");
        snprintf(outdir, sizeof(outdir), "%s/ui-screenshots", bld ? bld : ".");
        snprintf(port, sizeof(port), "%d", w.d->port);
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
                execl("/usr/bin/python3", "python3", script, "--port", port, "--token", TOKEN,
                      "--dead-id", w.dead_id, "--invoice", "INV-2", "--customer", "C-2",
                      "--out", outdir, (char *)NULL);
                _exit(127);
        }
        int st = 0;
        ck_assert(waitpid(pid, &st, 0) == pid);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code == 0)
                ck_assert_msg(harness_wait_until(dead_back, &w, 20000),
                              "the dead letter retried in the browser did not run again");
        harness_daemon_stop(w.d);
        harness_free(w.h);
        if (code == 77) {
                fprintf(stderr, "test-ui: chromium cannot start here: browser test skipped\n");
                exit(77);   /* CK_FORK=no: the whole test program, for meson's SKIP */
        }
        ck_assert_msg(code == 0, "tests/ui/browser.py failed (exit %d)", code);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("ui");
        TCase *tc = tcase_create("ui");
        tcase_set_timeout(tc, 180);
        if (browser_mode) {
                tcase_add_test(tc, test_browser);
        } else {
                tcase_add_test(tc, test_off_unless_enabled);
                tcase_add_test(tc, test_no_token_no_data);
                tcase_add_test(tc, test_api_numbers_are_dunningctls);
                tcase_add_test(tc, test_api_customer_by_invoice);
                tcase_add_test(tc, test_api_dead_masked_retry_drop);
                tcase_add_test(tc, test_lists_say_when_cut);
                tcase_add_test(tc, test_session_csrf_and_headers);
                tcase_add_test(tc, test_customer_id_with_slash);
                tcase_add_test(tc, test_redis_down_503);
        }
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv)
{
        browser_mode = argc > 1 && strcmp(argv[1], "browser") == 0;
        return harness_run(suite());
}
