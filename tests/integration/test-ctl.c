/* test-ctl.c: dunningctl's status, dead-letter commands and CSV campaigns
 * against a private redis-server. */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

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

struct counts {
        long jobs, pending, scheduled, dead;
};

/* jobs < 0: any stream length (acked entries may stay in the stream). */
static void assert_status(long jobs, long pending, long scheduled, long dead)
{
        struct harness_ctl r;
        struct counts c;

        harness_ctl_run(h, &r, "status", NULL);
        ck_assert_msg(r.status == 0, "dunningctl status: exit %d: %s", r.status, r.err);
        c.jobs = harness_status_value(r.out, "jobs");
        c.pending = harness_status_value(r.out, "pending");
        c.scheduled = harness_status_value(r.out, "scheduled");
        c.dead = harness_status_value(r.out, "dead");
        ck_assert_msg((jobs < 0 || c.jobs == jobs) && c.pending == pending && c.scheduled == scheduled &&
                      c.dead == dead,
                      "status says jobs %ld, pending %ld, scheduled %ld, dead %ld; expected "
                      "%ld, %ld, %ld, %ld (-1: no such line):\n%s", c.jobs, c.pending,
                      c.scheduled, c.dead, jobs, pending, scheduled, dead, r.out);
        harness_ctl_free(&r);
}

static void enqueue(const char *name, int first, int n, const char *at)
{
        char *path = harness_write_jobs(h, name, first, n, NULL);
        struct harness_ctl r;

        if (at)
                harness_ctl_run(h, &r, "enqueue", path, "--at", at, NULL);
        else
                harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_msg(r.status == 0, "dunningctl enqueue: exit %d: %s", r.status, r.err);
        harness_ctl_free(&r);
        free(path);
}

/* XADDs a dead-letter entry as dunningd writes them; returns its id. */
static char *add_dead(const char *job, const char *reason, const char *error, const char *attempts)
{
        char time[32];

        harness_rfc3339(harness_now_ms(), time);
        return harness_redis_str(h, "XADD " HARNESS_PREFIX ":dead * job %s reason %s error %s "
                                    "attempts %s time %s", job, reason, error, attempts, time);
}

/* The line of out that starts with id, or NULL; owned. */
static char *line_starting(const char *out, const char *id)
{
        size_t len = strlen(id);
        const char *line = out;

        while (line && *line) {
                const char *end = strchr(line, '\n');

                if (strncmp(line, id, len) == 0 && (line[len] == ' ' || line[len] == '\t'))
                        return strndup(line, end ? (size_t)(end - line) : strlen(line));
                line = end ? end + 1 : NULL;
        }
        return NULL;
}

START_TEST(test_status_counts)
{
        char at[32], *dead_id;

        assert_status(0, 0, 0, 0);

        enqueue("now.jsonl", 0, 7, NULL);
        harness_rfc3339(harness_now_ms() + 3600 * 1000, at);
        enqueue("later.jsonl", 7, 3, at);
        dead_id = add_dead("{\"v\":1}", "invalid", "campaign: missing", "1");
        assert_status(7, 0, 3, 1);

        /* a consumer that read 3 entries and never acked them */
        harness_redis_try(h, "XGROUP CREATE " HARNESS_PREFIX ":jobs dunningd 0 MKSTREAM");
        harness_redis_cmd(h, "XREADGROUP GROUP dunningd ghost-999999-0 COUNT 3 STREAMS "
                             HARNESS_PREFIX ":jobs >");
        assert_status(7, 3, 3, 1);
        free(dead_id);
}
END_TEST

START_TEST(test_dead_list_retry_drop)
{
        char *job_a = harness_job_json(1, NULL);
        const char *job_b = "{\"v\":1}";
        char *id_a = add_dead(job_a, "max_deliveries", "delivered 3 times", "3");
        char *id_b = add_dead(job_b, "invalid", "campaign: missing", "1");
        struct harness_entry *e;
        struct harness_ctl r;
        json_t *was, *now;
        json_error_t jerr;
        char *line;
        size_t n;

        harness_ctl_run(h, &r, "dead", "list", NULL);
        ck_assert_msg(r.status == 0, "dead list: exit %d", r.status);
        line = line_starting(r.out, id_a);
        ck_assert_msg(line && strstr(line, "max_deliveries"),
                      "dead list has no line \"%s ... max_deliveries ...\":\n%s", id_a, r.out);
        free(line);
        line = line_starting(r.out, id_b);
        ck_assert_msg(line && strstr(line, "invalid"),
                      "dead list has no line \"%s ... invalid ...\":\n%s", id_b, r.out);
        free(line);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "dead", "retry", id_a, NULL);
        ck_assert_msg(r.status == 0, "dead retry %s: exit %d", id_a, r.status);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "dead"), 1);
        n = harness_xrange(h, HARNESS_PREFIX ":jobs", &e);
        ck_assert_int_eq(n, 1);
        ck_assert_msg(harness_entry_get(&e[0], "job") != NULL, "retried entry has no job field");
        /* the same job (dunningctl may reset bookkeeping such as "attempt") */
        was = json_loads(job_a, 0, &jerr);
        now = json_loads(harness_entry_get(&e[0], "job"), 0, &jerr);
        ck_assert_msg(now != NULL, "retried job is not JSON: %s", harness_entry_get(&e[0], "job"));
        json_object_del(now, "attempt");
        ck_assert_msg(json_equal(was, now), "retried job differs: %s", harness_entry_get(&e[0], "job"));
        json_decref(was);
        json_decref(now);
        harness_entries_free(e, n);

        harness_ctl_run(h, &r, "dead", "list", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(!strstr(r.out, id_a), "retried entry %s still listed:\n%s", id_a, r.out);
        line = line_starting(r.out, id_b);
        ck_assert_msg(line != NULL, "entry %s no longer listed:\n%s", id_b, r.out);
        free(line);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "dead", "drop", id_b, NULL);
        ck_assert_msg(r.status == 0, "dead drop %s: exit %d", id_b, r.status);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "dead"), 0);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 1);

        /* unknown ids: exit 1, nothing changes */
        harness_ctl_run(h, &r, "dead", "retry", id_b, NULL);
        ck_assert_int_eq(r.status, 1);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "dead", "drop", "1-1", NULL);
        ck_assert_int_eq(r.status, 1);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 1);
        ck_assert_int_eq(harness_xlen(h, "dead"), 0);

        free(id_a);
        free(id_b);
        free(job_a);
}
END_TEST

static bool one_dead(void *arg)
{
        return harness_xlen(h, "dead") >= 1;
}

START_TEST(test_dead_letter_from_daemon_is_listed)
{
        struct harness_daemon *d;
        struct harness_entry *e;
        struct harness_ctl r;
        const char *reason;
        char *line;
        size_t n;
        int rc;

        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", "{\"v\":1}");
        d = harness_daemon_start(h);
        ck_assert_msg(harness_wait_until(one_dead, NULL, 15000), "no dead entry within 15 s");
        harness_daemon_signal(d, SIGTERM);
        rc = harness_daemon_wait(d, h->config.drain_timeout_ms + 2000);
        ck_assert_msg(rc == 0, "dunningd: exit %d after SIGTERM", rc);

        n = harness_xrange(h, HARNESS_PREFIX ":dead", &e);
        ck_assert_int_eq(n, 1);
        reason = harness_entry_get(&e[0], "reason");
        ck_assert_msg(reason && *reason, "dead entry has no reason");
        assert_status(-1, 0, 0, 1);
        harness_ctl_run(h, &r, "dead", "list", NULL);
        ck_assert_int_eq(r.status, 0);
        line = line_starting(r.out, e[0].id);
        ck_assert_msg(line && strstr(line, reason), "dead list has no line \"%s ... %s ...\":\n%s",
                      e[0].id, reason, r.out);
        free(line);
        harness_ctl_free(&r);
        harness_entries_free(e, n);
}
END_TEST

/* Column names are the job field paths of ctl/import.c. Quoted fields with
 * commas and doubled quotes, UTF-8, CRLF line ends, and two rows of one
 * customer that make one job with two invoices. */
static const char campaign_csv[] =
        "campaign,step,customer.id,customer.name,customer.locale,customer.email,customer.phone,"
        "customer.address.line1,customer.address.postal_code,customer.address.city,"
        "customer.address.country,customer.preferred_channel,invoice.number,invoice.amount_cents,"
        "invoice.currency,invoice.issued,invoice.due\r\n"
        "it-csv,reminder-1,C-900,\"Zo\xc3\xab \"\"Zo\"\" \xc3\x85ngstr\xc3\xb6m, n\xc3\xa9" "e "
        "\xc3\x87" "elik\",nl-NL,zoe@example.nl,+31612349000,\"Dorpsstraat 1, 2e etage\",1234 AB,"
        "Utrecht,NL,email,INV-900-A,12345,EUR,2026-10-01,2026-10-31\r\n"
        "it-csv,reminder-1,C-900,\"Zo\xc3\xab \"\"Zo\"\" \xc3\x85ngstr\xc3\xb6m, n\xc3\xa9" "e "
        "\xc3\x87" "elik\",nl-NL,zoe@example.nl,+31612349000,\"Dorpsstraat 1, 2e etage\",1234 AB,"
        "Utrecht,NL,email,INV-900-B,6789,EUR,2026-09-01,2026-09-30\r\n";

static void assert_no_cr(json_t *v, const char *text)
{
        const char *key;
        json_t *item;
        size_t i;

        if (json_is_string(v))
                ck_assert_msg(!strchr(json_string_value(v), '\r') && !strchr(json_string_value(v), '\n'),
                              "a value keeps a line end: \"%s\" in %s", json_string_value(v), text);
        else if (json_is_object(v))
                json_object_foreach(v, key, item)
                        assert_no_cr(item, text);
        else if (json_is_array(v))
                json_array_foreach(v, i, item)
                        assert_no_cr(item, text);
}

START_TEST(test_csv_rows_of_one_customer_make_one_job)
{
        char *path = harness_write_file(h, "campaign.csv", campaign_csv);
        const char *name = NULL, *line1 = NULL, *text;
        struct harness_summary s;
        struct harness_entry *e;
        struct harness_ctl r;
        json_error_t jerr;
        json_t *job, *invoices;
        size_t n;

        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_msg(r.status == 0, "enqueue campaign.csv: exit %d: %s", r.status, r.err);
        ck_assert_msg(harness_parse_summary(r.out, &s), "no summary line in: %s", r.out);
        ck_assert_int_eq(s.enqueued, 1);
        ck_assert_int_eq(s.rejected, 0);
        harness_ctl_free(&r);

        n = harness_xrange(h, HARNESS_PREFIX ":jobs", &e);
        ck_assert_int_eq(n, 1);
        text = harness_entry_get(&e[0], "job");
        ck_assert(text != NULL);
        job = json_loads(text, 0, &jerr);
        ck_assert_msg(job != NULL, "job is not JSON: %s", jerr.text);
        assert_no_cr(job, text);
        ck_assert_int_eq(json_unpack(job, "{s:{s:s, s:{s:[s]}}}", "customer", "name", &name,
                                     "address", "lines", &line1), 0);
        ck_assert_str_eq(name, "Zo\xc3\xab \"Zo\" \xc3\x85ngstr\xc3\xb6m, n\xc3\xa9" "e \xc3\x87" "elik");
        ck_assert_str_eq(line1, "Dorpsstraat 1, 2e etage");
        ck_assert_str_eq(json_string_value(json_object_get(job, "campaign")), "it-csv");
        invoices = json_object_get(job, "invoices");
        ck_assert_msg(json_array_size(invoices) == 2, "job has %zu invoices, expected 2: %s",
                      json_array_size(invoices), text);
        for (size_t i = 0; i < 2; i++) {
                json_t *inv = json_array_get(invoices, i);
                const char *number = json_string_value(json_object_get(inv, "number"));
                json_t *amount = json_object_get(inv, "amount_cents");

                ck_assert_msg(number != NULL, "invoice %zu has no number: %s", i, text);
                ck_assert_msg(json_is_integer(amount), "amount_cents is not an integer: %s", text);
                if (strcmp(number, "INV-900-A") == 0) {
                        ck_assert_int_eq(json_integer_value(amount), 12345);
                        ck_assert_str_eq(json_string_value(json_object_get(inv, "due")), "2026-10-31");
                } else {
                        ck_assert_str_eq(number, "INV-900-B");
                        ck_assert_int_eq(json_integer_value(amount), 6789);
                        ck_assert_str_eq(json_string_value(json_object_get(inv, "due")), "2026-09-30");
                }
        }
        ck_assert_str_ne(json_string_value(json_object_get(json_array_get(invoices, 0), "number")),
                         json_string_value(json_object_get(json_array_get(invoices, 1), "number")));
        json_decref(job);
        harness_entries_free(e, n);

        /* the same file again: the job is a duplicate */
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert(harness_parse_summary(r.out, &s));
        ck_assert_int_eq(s.duplicates, 1);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 1);
        free(path);
}
END_TEST

/* dunningctl render: one template with JSON data, escaping by file type,
 * located errors, --strict. */
START_TEST(test_render_template)
{
        struct harness_ctl r;
        char *tpl = harness_write_file(h, "card.html.mustache",
                                       "<p>{{name}}</p>{{#items}}<i>{{.}}</i>{{/items}}{{>foot}}\n");
        char *txt = harness_write_file(h, "card.txt.mustache", "{{name}} {{missing}}\n");
        char *bad = harness_write_file(h, "bad.txt.mustache", "line\n{{#open}}x\n");
        char *data = harness_write_file(h, "data.json",
                                        "{\"name\": \"Jan & Zn <script>{{x}}\", \"items\": [1, 2]}");
        char partials[512];
        snprintf(partials, sizeof(partials), "%s/partials", h->dir);
        ck_assert_int_eq(mkdir(partials, 0755), 0);
        char *foot = harness_write_file(h, "partials/foot.mustache", "<footer/>");

        harness_ctl_run(h, &r, "render", tpl, data, "--partials", partials, NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.out, "<p>Jan &amp; Zn &lt;script&gt;{{x}}</p><i>1</i><i>2</i><footer/>\n");
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "render", txt, data, NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.out, "Jan & Zn <script>{{x}} \n");
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "render", txt, data, "--strict", NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "card.txt:1:10: missing: no such variable"), "%s", r.err);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "render", bad, data, NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "bad.txt:2:1: unclosed section \"open\""), "%s", r.err);
        harness_ctl_free(&r);
        free(tpl);
        free(txt);
        free(bad);
        free(data);
        free(foot);
}
END_TEST

/* dunningctl preview: what a job would send, on screen or as outbox files,
 * without Redis. */
START_TEST(test_preview_job)
{
        struct harness_ctl r;
        char *job = harness_job_json(4, NULL);
        char *path = harness_write_file(h, "job.json", job);
        char out[512];
        snprintf(out, sizeof(out), "%s/preview", h->dir);

        harness_ctl_run(h, &r, "preview", path, "--channel", "sms", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "=== sms\n"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "Acme"), "%s", r.out);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "preview", path, "--out", out, "--strict", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        harness_ctl_free(&r);
        char rid[19], file[700];
        harness_reminder_id(4, rid);
        static const char *const files[] = { "email/%s.eml", "sms/%s.json", "letter/%s.pdf" };
        for (int i = 0; i < 3; i++) {
                char rel[64];
                snprintf(rel, sizeof(rel), files[i], rid);
                snprintf(file, sizeof(file), "%s/%s", out, rel);
                char *content = harness_read_file(file);
                ck_assert_msg(content && strlen(content) > 100, "%s missing", file);
                free(content);
        }
        ck_assert_int_eq(harness_xlen(h, "jobs"), 0);   /* nothing enqueued */

        char *broken = harness_write_file(h, "broken.json", "{\"v\":1}");
        harness_ctl_run(h, &r, "preview", broken, NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "campaign"), "%s", r.err);
        harness_ctl_free(&r);
        free(broken);
        free(job);
        free(path);
}
END_TEST

static Suite *ctl_suite(void)
{
        Suite *s = suite_create("ctl");
        TCase *tc = tcase_create("ctl");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_status_counts);
        tcase_add_test(tc, test_dead_list_retry_drop);
        tcase_add_test(tc, test_dead_letter_from_daemon_is_listed);
        tcase_add_test(tc, test_csv_rows_of_one_customer_make_one_job);
        tcase_add_test(tc, test_render_template);
        tcase_add_test(tc, test_preview_job);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(ctl_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed;
}
