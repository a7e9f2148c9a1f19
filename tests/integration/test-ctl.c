/* test-ctl.c: dunningctl's status, dead-letter commands and CSV campaigns
 * against a private redis-server; --json, --help and the progress line
 * (under a pseudo-terminal). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* ---- the operator's view: filters, show, bulk retry, --json, --help,
 * status by reason and per minute, the progress line ---- */

/* A dead entry as dunningd writes it (queue_txn_dead), at a given time. */
static char *add_dead_at(const char *job, const char *reason, const char *time)
{
        return harness_redis_str(h, "XADD " HARNESS_PREFIX ":dead * job %s reason %s error %s "
                                    "attempts %s time %s entry %s", job, reason, "it broke", "2",
                                 time, "1700000000000-0");
}

/* A job of customer i in campaign `campaign` (harness_job_json's is "it"). */
static char *job_in_campaign(int i, const char *campaign)
{
        char *text = harness_job_json(i, NULL), *out;
        json_error_t jerr;
        json_t *job = json_loads(text, 0, &jerr);

        ck_assert_msg(job != NULL, "harness job is not JSON: %s", text);
        json_object_set_new(job, "campaign", json_string(campaign));
        out = json_dumps(job, JSON_COMPACT);
        json_decref(job);
        free(text);
        return out;
}

/* stdout of a --json run, parsed; fails the test when it is not JSON. */
static json_t *json_out(const struct harness_ctl *r)
{
        json_error_t jerr;
        json_t *v = json_loads(r->out, 0, &jerr);

        ck_assert_msg(v != NULL, "not JSON (%s at line %d): %s", jerr.text, jerr.line, r->out);
        return v;
}

/* The ids of a `dead list --json`, in order, joined by spaces (owned). */
static char *listed_ids(json_t *list)
{
        json_t *entries = json_object_get(list, "entries"), *e;
        char *out = strdup("");
        size_t i;

        ck_assert_msg(json_is_array(entries), "no entries array");
        json_array_foreach(entries, i, e) {
                const char *id = json_string_value(json_object_get(e, "id"));
                char *more;

                ck_assert_msg(id != NULL, "entry %zu has no id", i);
                ck_assert(asprintf(&more, "%s%s%s", out, *out ? " " : "", id) > 0);
                free(out);
                out = more;
        }
        return out;
}

/* Runs dunningctl dead list ARGS... --json and returns the ids it lists. */
static char *list_ids(const char *first, ...)
{
        const char *argv[16] = { "dead", "list" };
        struct harness_ctl r;
        size_t n = 2;
        va_list ap;
        json_t *v;
        char *ids;

        va_start(ap, first);
        for (const char *a = first; a && n < 14; a = va_arg(ap, const char *))
                argv[n++] = a;
        va_end(ap);
        argv[n++] = "--json";
        harness_ctl_run(h, &r, argv[0], argv[1], n > 2 ? argv[2] : NULL, n > 3 ? argv[3] : NULL,
                        n > 4 ? argv[4] : NULL, n > 5 ? argv[5] : NULL, n > 6 ? argv[6] : NULL,
                        n > 7 ? argv[7] : NULL, n > 8 ? argv[8] : NULL, NULL);
        ck_assert_msg(r.status == 0, "dead list: exit %d: %s", r.status, r.err);
        v = json_out(&r);
        ids = listed_ids(v);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "count")),
                         json_array_size(json_object_get(v, "entries")));
        json_decref(v);
        harness_ctl_free(&r);
        return ids;
}

/* The ids given, up to NULL, joined by spaces (owned). */
static char *joined(const char *first, ...)
{
        char *out = strdup(first), *more;
        va_list ap;

        va_start(ap, first);
        for (const char *s; (s = va_arg(ap, const char *));) {
                ck_assert(asprintf(&more, "%s %s", out, s) > 0);
                free(out);
                out = more;
        }
        va_end(ap);
        return out;
}

START_TEST(test_dead_list_filters)
{
        char *job_it = harness_job_json(1, NULL), *job_other = job_in_campaign(2, "other");
        /* times in the past, in order; ids come out in the same order */
        char *a = add_dead_at(job_it, "invalid", "2026-01-01T10:00:00Z");
        char *b = add_dead_at(job_other, "invalid", "2026-01-02T10:00:00Z");
        char *c = add_dead_at(job_it, "attempts-exhausted", "2026-01-03T10:00:00+01:00");
        char *d = add_dead_at(job_other, "attempts-exhausted", "2026-01-04T10:00:00Z");
        char *ids, *want;

        ids = list_ids(NULL);
        want = joined(a, b, c, d, NULL);
        ck_assert_str_eq(ids, want);
        free(want);
        free(ids);

        ids = list_ids("--reason", "invalid", NULL);
        want = joined(a, b, NULL);
        ck_assert_str_eq(ids, want);
        free(want);
        free(ids);

        /* exact match: a prefix of a reason is not the reason */
        ids = list_ids("--reason", "attempts", NULL);
        ck_assert_str_eq(ids, "");
        free(ids);

        ids = list_ids("--campaign", "other", NULL);
        want = joined(b, d, NULL);
        ck_assert_str_eq(ids, want);
        free(want);
        free(ids);

        ids = list_ids("--campaign", "other", "--reason", "attempts-exhausted", NULL);
        ck_assert_str_eq(ids, d);
        free(ids);

        /* c's 10:00+01:00 is 09:00Z: before 09:30Z; d is after */
        ids = list_ids("--since", "2026-01-03T09:30:00Z", NULL);
        ck_assert_str_eq(ids, d);
        free(ids);
        ids = list_ids("--since", "2026-01-03T08:30:00Z", NULL);
        want = joined(c, d, NULL);
        ck_assert_str_eq(ids, want);
        free(want);
        free(ids);
        /* Unix seconds: 2026-01-02T10:00:00Z is 1767348000, b's time */
        ids = list_ids("--since", "1767348000", NULL);
        want = joined(b, c, d, NULL);
        ck_assert_str_eq(ids, want);
        free(want);
        free(ids);

        ids = list_ids("--limit", "2", NULL);
        want = joined(a, b, NULL);
        ck_assert_str_eq(ids, want);
        free(want);
        free(ids);

        free(a);
        free(b);
        free(c);
        free(d);
        free(job_it);
        free(job_other);
}
END_TEST

/* Lines of out with "  reason=": the entries of a human dead list. */
static size_t entry_lines(const char *out)
{
        size_t n = 0;

        for (const char *l = out; (l = strstr(l, "  reason=")); l++)
                n++;
        return n;
}

START_TEST(test_dead_list_limit)
{
        struct harness_ctl r;
        json_t *v;

        for (int i = 0; i < 101; i++)
                harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":dead * job %s reason %s error %s "
                                     "attempts 1 time 2026-01-01T00:00:00Z", "{\"v\":1}",
                                  i % 2 ? "invalid" : "render", "e");

        /* 100 unless told, and the operator is told there is more */
        harness_ctl_run(h, &r, "dead", "list", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(entry_lines(r.out) == 100, "%zu entries listed, expected 100",
                      entry_lines(r.out));
        ck_assert_msg(strstr(r.out, "100 dead-lettered job(s) shown; more match"), "%s", r.out);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "dead", "list", "--limit", "0", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(entry_lines(r.out) == 101, "%zu entries listed with --limit 0",
                      entry_lines(r.out));
        ck_assert_msg(strstr(r.out, "\n101 dead-lettered job(s)\n"), "%s", r.out);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "dead", "list", "--reason", "invalid", "--limit", "50", "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        v = json_out(&r);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "count")), 50);
        ck_assert_int_eq(json_array_size(json_object_get(v, "entries")), 50);
        ck_assert(json_is_false(json_object_get(v, "truncated")));
        json_decref(v);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "dead", "list", "--reason", "invalid", "--limit", "49", "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        v = json_out(&r);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "count")), 49);
        ck_assert(json_is_true(json_object_get(v, "truncated")));
        json_decref(v);
        harness_ctl_free(&r);
}
END_TEST

START_TEST(test_dead_show)
{
        char *job = harness_job_json(3, NULL);
        char *id = add_dead_at(job, "attempts-exhausted", "2026-01-05T08:00:00Z");
        char *bad = add_dead_at("not {json", "invalid", "2026-01-05T09:00:00Z");
        struct harness_ctl r;
        json_error_t jerr;
        json_t *v, *was;

        harness_ctl_run(h, &r, "dead", "show", id, NULL);
        ck_assert_msg(r.status == 0, "dead show: exit %d: %s", r.status, r.err);
        ck_assert_msg(strstr(r.out, "reason    attempts-exhausted\n"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "error     it broke\n"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "attempts  2\n"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "time      2026-01-05T08:00:00Z\n"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "entry     1700000000000-0\n"), "%s", r.out);
        /* pretty-printed: one member per line, indented */
        ck_assert_msg(strstr(r.out, "job:\n{\n  \"v\": 1,\n"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "\n  \"campaign\": \"it\",\n"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "\n    \"id\": \"C-3\",\n"), "%s", r.out);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "dead", "show", id, "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        v = json_out(&r);
        was = json_loads(job, 0, &jerr);
        ck_assert_str_eq(json_string_value(json_object_get(v, "id")), id);
        ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "attempts-exhausted");
        ck_assert_str_eq(json_string_value(json_object_get(v, "error")), "it broke");
        ck_assert_int_eq(json_integer_value(json_object_get(v, "attempts")), 2);
        ck_assert_str_eq(json_string_value(json_object_get(v, "time")), "2026-01-05T08:00:00Z");
        ck_assert_str_eq(json_string_value(json_object_get(v, "campaign")), "it");
        ck_assert_str_eq(json_string_value(json_object_get(v, "customer")), "C-3");
        ck_assert_msg(json_equal(json_object_get(v, "job"), was), "job differs: %s", r.out);
        json_decref(was);
        json_decref(v);
        harness_ctl_free(&r);

        /* a text that is not JSON is shown as it is */
        harness_ctl_run(h, &r, "dead", "show", bad, NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "job (not JSON):\nnot {json\n"), "%s", r.out);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "dead", "show", bad, "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        v = json_out(&r);
        ck_assert_str_eq(json_string_value(json_object_get(v, "job")), "not {json");
        ck_assert(json_is_null(json_object_get(v, "campaign")));
        json_decref(v);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "dead", "show", "1-1", NULL);
        ck_assert_int_eq(r.status, 1);
        ck_assert_msg(strstr(r.err, "no dead letter with id 1-1"), "%s", r.err);
        harness_ctl_free(&r);
        free(id);
        free(bad);
        free(job);
}
END_TEST

/* The attempt a job in the jobs stream carries (0 when it has none). */
static long attempt_of(const char *text)
{
        json_error_t jerr;
        json_t *job = json_loads(text, 0, &jerr);
        long n;

        ck_assert_msg(job != NULL, "not JSON: %s", text);
        n = (long)json_integer_value(json_object_get(job, "attempt"));
        json_decref(job);
        return n;
}

START_TEST(test_dead_bulk_retry_and_drop)
{
        char *ids[5], *exhausted[3];
        struct harness_entry *e;
        struct harness_ctl r;
        json_t *v;
        size_t n;

        /* three valid jobs that ran out of attempts, two invalid ones */
        for (int i = 0; i < 3; i++) {
                char *text = harness_job_json(10 + i, NULL);
                json_error_t jerr;
                json_t *job = json_loads(text, 0, &jerr);

                json_object_set_new(job, "attempt", json_integer(4));
                exhausted[i] = json_dumps(job, JSON_COMPACT);
                json_decref(job);
                free(text);
                ids[i] = add_dead_at(exhausted[i], "attempts-exhausted", "2026-01-01T00:00:00Z");
        }
        ids[3] = add_dead_at("{\"v\":1}", "invalid", "2026-01-01T00:00:00Z");
        ids[4] = add_dead_at("{\"v\":2}", "invalid", "2026-01-01T00:00:00Z");

        /* never without an id or a filter; an id and a filter are refused too */
        harness_ctl_run(h, &r, "dead", "retry", NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strstr(r.err, "give an id"), "%s", r.err);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "dead", "drop", "--limit", "3", NULL);
        ck_assert_int_eq(r.status, 2);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "dead", "drop", ids[0], "--reason", "invalid", NULL);
        ck_assert_int_eq(r.status, 2);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "dead"), 5);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 0);

        /* a filter that matches nothing does nothing, and that is fine */
        harness_ctl_run(h, &r, "dead", "retry", "--reason", "no-channel", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "retried 0 dead-lettered job(s)"), "%s", r.out);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "dead", "retry", "--reason", "attempts-exhausted", "--limit", "1",
                        NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "retried 1 dead-lettered job(s)\n"), "%s", r.out);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 1);

        harness_ctl_run(h, &r, "dead", "retry", "--reason", "attempts-exhausted", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "retried 2 dead-lettered job(s)\n"), "%s", r.out);
        harness_ctl_free(&r);

        /* the three jobs are back, oldest first, with no attempts behind them */
        n = harness_xrange(h, HARNESS_PREFIX ":jobs", &e);
        ck_assert_int_eq(n, 3);
        for (size_t i = 0; i < n; i++) {
                const char *text = harness_entry_get(&e[i], "job");
                json_error_t jerr;
                json_t *got = json_loads(text, 0, &jerr), *want = json_loads(exhausted[i], 0, &jerr);

                ck_assert_msg(attempt_of(text) == 0, "retried job keeps its attempts: %s", text);
                json_object_del(got, "attempt");
                json_object_del(want, "attempt");
                ck_assert_msg(json_equal(got, want), "retried job %zu differs: %s", i, text);
                json_decref(got);
                json_decref(want);
        }
        harness_entries_free(e, n);
        ck_assert_int_eq(harness_xlen(h, "dead"), 2);

        /* drop by reason, in JSON: how many, and which */
        harness_ctl_run(h, &r, "dead", "drop", "--reason", "invalid", "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        v = json_out(&r);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "dropped")), 2);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "gone")), 0);
        ck_assert_int_eq(json_array_size(json_object_get(v, "ids")), 2);
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "ids"), 0)), ids[3]);
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "ids"), 1)), ids[4]);
        json_decref(v);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "dead"), 0);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 3);

        /* a still invalid job goes back, and the operator is told */
        char *again = add_dead_at("{\"v\":1}", "invalid", "2026-01-02T00:00:00Z");
        harness_ctl_run(h, &r, "dead", "retry", again, "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        v = json_out(&r);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "retried")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "still_invalid")), 1);
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "ids"), 0)), again);
        json_decref(v);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 4);
        free(again);
        for (int i = 0; i < 5; i++)
                free(ids[i]);
        for (int i = 0; i < 3; i++)
                free(exhausted[i]);
}
END_TEST

/* "LABEL: N (R/s)" on a line of out: N into *n and R into *rate. */
static bool rate_line(const char *out, const char *label, long *n, double *rate)
{
        const char *p = out;
        size_t len = strlen(label);

        for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, label, len) == 0)
                        return sscanf(p + len, " %ld (%lf/s)", n, rate) == 2;
        return false;
}

START_TEST(test_status_reasons_and_last_minute)
{
        int64_t old = harness_now_ms() - 120000;
        struct harness_ctl r;
        const char *name;
        json_t *v, *minute;
        double rate;
        long n;

        /* events of two minutes ago must not count; their ids say when */
        for (int i = 0; i < 3; i++)
                harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":events %lld-%d type sent reminder r-old",
                                  (long long)old, i);
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":events %lld-9 type failed", (long long)old);
        for (int i = 0; i < 12; i++)
                harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":events * type sent reminder r-%d "
                                     "channel email step reminder-1 campaign it customer C-%d",
                                  i, i);
        for (int i = 0; i < 2; i++)
                harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":events * type failed reminder r-f "
                                     "reason temporary");
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":events * type skipped reason paid");
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":events * type dead reason invalid");
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":events * type paid invoice INV-1");

        free(add_dead_at("{\"v\":1}", "invalid", "2026-01-01T00:00:00Z"));
        free(add_dead_at("{\"v\":1}", "invalid", "2026-01-01T00:00:00Z"));
        free(add_dead_at("{\"v\":1}", "max-deliveries", "2026-01-01T00:00:00Z"));

        enqueue("now.jsonl", 0, 4, NULL);
        harness_redis_try(h, "XGROUP CREATE " HARNESS_PREFIX ":jobs dunningd 0 MKSTREAM");
        harness_redis_cmd(h, "XREADGROUP GROUP dunningd ghost-424242-0 COUNT 3 STREAMS "
                             HARNESS_PREFIX ":jobs >");

        harness_ctl_run(h, &r, "status", NULL);
        ck_assert_msg(r.status == 0, "status: exit %d: %s", r.status, r.err);
        /* the old lines, as scripts parse them */
        ck_assert_int_eq(harness_status_value(r.out, "jobs"), 4);
        ck_assert_int_eq(harness_status_value(r.out, "pending"), 3);
        ck_assert_int_eq(harness_status_value(r.out, "scheduled"), 0);
        ck_assert_int_eq(harness_status_value(r.out, "dead"), 3);
        ck_assert_int_eq(harness_status_value(r.out, "events"), 21);
        ck_assert_msg(strstr(r.out, "\n  ghost-424242-0 ") && strstr(r.out, "3 pending, idle "),
                      "no consumer line with its idle time:\n%s", r.out);
        /* dead letters per reason, indented under dead */
        ck_assert_int_eq(harness_status_value(r.out, "invalid"), 2);
        ck_assert_int_eq(harness_status_value(r.out, "max-deliveries"), 1);
        ck_assert_msg(rate_line(r.out, "sent last minute:", &n, &rate), "%s", r.out);
        ck_assert_msg(n == 12 && rate > 0.19 && rate < 0.21, "sent %ld (%.1f/s):\n%s", n, rate, r.out);
        ck_assert_msg(rate_line(r.out, "failed last minute:", &n, &rate) && n == 2, "%s", r.out);
        ck_assert_msg(rate_line(r.out, "skipped last minute:", &n, &rate) && n == 1, "%s", r.out);
        ck_assert_msg(rate_line(r.out, "dead last minute:", &n, &rate) && n == 1, "%s", r.out);
        ck_assert_msg(rate_line(r.out, "paid last minute:", &n, &rate) && n == 1, "%s", r.out);
        harness_ctl_free(&r);

        harness_ctl_run(h, &r, "status", "--json", NULL);
        ck_assert_int_eq(r.status, 0);
        v = json_out(&r);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "jobs")), 4);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "backlog")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "pending")), 3);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "scheduled")), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "dead")), 3);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "events")), 21);
        ck_assert_int_eq(json_array_size(json_object_get(v, "consumers")), 1);
        name = json_string_value(json_object_get(json_array_get(json_object_get(v, "consumers"), 0),
                                                 "name"));
        ck_assert_str_eq(name, "ghost-424242-0");
        ck_assert_int_eq(json_integer_value(json_object_get(
                                 json_array_get(json_object_get(v, "consumers"), 0), "pending")), 3);
        ck_assert(json_is_integer(json_object_get(json_array_get(json_object_get(v, "consumers"), 0),
                                                  "idle_ms")));
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "dead_by_reason"),
                                                            "invalid")), 2);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "dead_by_reason"),
                                                            "max-deliveries")), 1);
        ck_assert_int_eq(json_object_size(json_object_get(v, "dead_by_reason")), 2);
        minute = json_object_get(v, "last_minute");
        ck_assert_int_eq(json_integer_value(json_object_get(minute, "window_seconds")), 60);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(minute, "events"), "sent")), 12);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(minute, "events"), "failed")), 2);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(minute, "events"), "skipped")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(minute, "events"), "dead")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(minute, "events"), "paid")), 1);
        ck_assert_double_eq_tol(json_real_value(json_object_get(minute, "sent_per_second")), 0.2, 1e-9);
        json_decref(v);
        harness_ctl_free(&r);

        /* with nothing: zeros, and the four main types are still there */
        harness_redis_cmd(h, "FLUSHALL");
        harness_ctl_run(h, &r, "--json", "status", NULL);
        ck_assert_int_eq(r.status, 0);
        v = json_out(&r);
        ck_assert(json_is_null(json_object_get(v, "backlog")));
        ck_assert_int_eq(json_object_size(json_object_get(v, "dead_by_reason")), 0);
        minute = json_object_get(v, "last_minute");
        ck_assert_int_eq(json_object_size(json_object_get(minute, "events")), 4);
        ck_assert(json_is_integer(json_object_get(json_object_get(minute, "events"), "dead")));
        json_decref(v);
        harness_ctl_free(&r);
}
END_TEST

START_TEST(test_enqueue_json)
{
        char *good = harness_job_json(1, NULL), *later = harness_job_json(2, "2099-01-01T00:00:00Z");
        char *text, *path;
        struct harness_ctl r;
        json_t *v, *errors;

        ck_assert(asprintf(&text, "%s\n{\"v\":1}\n%s\nnot json\n", good, later) > 0);
        path = harness_write_file(h, "mixed.jsonl", text);

        harness_ctl_run(h, &r, "enqueue", path, "--dry-run", "--json", NULL);
        ck_assert_int_eq(r.status, 2);
        v = json_out(&r);
        ck_assert(json_is_true(json_object_get(v, "dry_run")));
        ck_assert_int_eq(json_integer_value(json_object_get(v, "valid")), 2);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "enqueued")), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "rejected")), 2);
        json_decref(v);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 0);

        harness_ctl_run(h, &r, "enqueue", path, "--json", NULL);
        ck_assert_int_eq(r.status, 2);
        v = json_out(&r);
        ck_assert_str_eq(json_string_value(json_object_get(v, "file")), path);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "enqueued")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "scheduled")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "duplicates")), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "rejected")), 2);
        ck_assert(json_is_false(json_object_get(v, "dry_run")));
        errors = json_object_get(v, "errors");
        ck_assert_int_eq(json_array_size(errors), 2);
        /* the row errors are in the JSON, with their lines, and not on stderr */
        ck_assert_msg(strstr(json_string_value(json_array_get(errors, 0)), "mixed.jsonl:2: "),
                      "%s", r.out);
        ck_assert_msg(strstr(json_string_value(json_array_get(errors, 1)), "mixed.jsonl:4: "),
                      "%s", r.out);
        ck_assert_msg(!strstr(r.err, "mixed.jsonl:2"), "row errors on stderr too: %s", r.err);
        json_decref(v);
        harness_ctl_free(&r);
        ck_assert_int_eq(harness_xlen(h, "jobs"), 1);

        harness_ctl_run(h, &r, "--json", "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 2);
        v = json_out(&r);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "duplicates")), 2);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "enqueued")), 0);
        json_decref(v);
        harness_ctl_free(&r);

        /* and without --json the human summary stays as it was */
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strstr(r.out, "enqueued 0, scheduled 0, duplicates 2, rejected 2\n"), "%s", r.out);
        ck_assert_msg(strstr(r.err, "mixed.jsonl:2: "), "%s", r.err);
        harness_ctl_free(&r);
        free(path);
        free(text);
        free(good);
        free(later);
}
END_TEST

/* "rate_slot" is a slot a worker reserved on the shared rate limit;
 * one in a campaign file or kept in a dead letter would let the job past
 * the provider's limit uncharged. Enqueue and dead retry put the job in
 * without it, and the rest of the job as it was. */
START_TEST(test_outside_jobs_carry_no_rate_slot)
{
        char *now_job = harness_job_json(1, NULL);
        char *later_job = harness_job_json(2, "2099-01-01T00:00:00Z");
        char *dead_job = harness_job_json(3, NULL);
        char slot[96], *text, *path, *with_slot, *id, *member;
        struct harness_entry *e;
        struct harness_ctl r;
        size_t n;

        snprintf(slot, sizeof(slot), "{\"rate_slot\":\"sms|%lld|" HARNESS_STEP "|0\",",
                 (long long)harness_now_ms());
        ck_assert(asprintf(&text, "%s%s\n%s%s\n", slot, now_job + 1, slot, later_job + 1) > 0);
        path = harness_write_file(h, "slots.jsonl", text);
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_msg(r.status == 0, "enqueue: exit %d: %s", r.status, r.err);
        harness_ctl_free(&r);

        n = harness_xrange(h, HARNESS_PREFIX ":jobs", &e);
        ck_assert_int_eq(n, 1);
        ck_assert_str_eq(harness_entry_get(&e[0], "job"), now_job);
        harness_entries_free(e, n);
        ck_assert_int_eq(harness_redis_int(h, "ZCARD " HARNESS_PREFIX ":scheduled"), 1);
        member = harness_redis_str(h, "ZRANDMEMBER " HARNESS_PREFIX ":scheduled");
        ck_assert_str_eq(member, later_job);
        free(member);

        ck_assert(asprintf(&with_slot, "%s%s", slot, dead_job + 1) > 0);
        id = add_dead(with_slot, "attempts-exhausted", "503", "5");
        harness_ctl_run(h, &r, "dead", "retry", id, NULL);
        ck_assert_msg(r.status == 0, "dead retry %s: exit %d: %s", id, r.status, r.err);
        harness_ctl_free(&r);
        n = harness_xrange(h, HARNESS_PREFIX ":jobs", &e);
        ck_assert_int_eq(n, 2);
        ck_assert_msg(!strstr(harness_entry_get(&e[1], "job"), "rate_slot"), "retried: %s",
                      harness_entry_get(&e[1], "job"));
        ck_assert_msg(strstr(harness_entry_get(&e[1], "job"), "\"id\":\"C-3\""), "retried: %s",
                      harness_entry_get(&e[1], "job"));
        harness_entries_free(e, n);

        free(id);
        free(with_slot);
        free(path);
        free(text);
        free(dead_job);
        free(later_job);
        free(now_job);
}
END_TEST

/* Every command has --help on stdout with exit 0, without reading the
 * configuration; usage errors exit 2. */
START_TEST(test_help_and_usage_errors)
{
        static const char *const cmds[][2] = {
                { "enqueue", "enqueue FILE" }, { "status", "status [--json]" },
                { "dead", "dead list [FILTER...]" }, { "preview", "preview JOB.json" },
                { "render", "render TEMPLATE.mustache" },
        };
        struct harness_ctl r;

        harness_ctl_run(h, &r, "--help", NULL);
        ck_assert_int_eq(r.status, 0);
        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
                char line[64];

                snprintf(line, sizeof(line), "\n  %s ", cmds[i][0]);
                ck_assert_msg(strstr(r.out, line), "--help lacks %s:\n%s", cmds[i][0], r.out);
        }
        ck_assert_msg(strstr(r.out, "dead retry") && strstr(r.out, "dead show ID") &&
                      strstr(r.out, "Exit status: 0 success; 1 failure"), "%s", r.out);
        harness_ctl_free(&r);

        /* a broken config proves that help does not load it */
        harness_config_write_text(h, "redis: [\n");
        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
                char want[128];

                snprintf(want, sizeof(want), "Usage: dunningctl [--config FILE] %s", cmds[i][1]);
                harness_ctl_run(h, &r, cmds[i][0], "--help", NULL);
                ck_assert_msg(r.status == 0, "%s --help: exit %d", cmds[i][0], r.status);
                ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s --help:\n%s",
                              cmds[i][0], r.out);
                ck_assert_msg(strstr(r.out, "Exit status:"), "%s --help:\n%s", cmds[i][0], r.out);
                ck_assert_str_eq(r.err, "");
                harness_ctl_free(&r);
        }
        harness_ctl_run(h, &r, "dead", "retry", "-h", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "--reason R"), "%s", r.out);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "help", "status", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strncmp(r.out, "Usage: dunningctl [--config FILE] status", 40) == 0, "%s", r.out);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "status", NULL);
        ck_assert_int_eq(r.status, 1);
        harness_ctl_free(&r);
        harness_config_write(h, NULL);

        static const char *const bad[][5] = {
                { "nonsense" }, { "status", "--bogus" }, { "status", "extra" },
                { "dead" }, { "dead", "purge" }, { "dead", "show" },
                { "dead", "list", "--since", "yesterday" }, { "dead", "list", "--limit", "many" },
                { "dead", "list", "--reason" }, { "dead", "show", "not-an-id" },
                { "dead", "show", "1-1", "--reason", "invalid" }, { "--json", "preview", "x.json" },
                { "enqueue" }, { "help", "nonsense" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                harness_ctl_run(h, &r, bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4], NULL);
                ck_assert_msg(r.status == 2, "%s %s %s: exit %d, expected 2", bad[i][0],
                              bad[i][1] ? bad[i][1] : "", bad[i][2] ? bad[i][2] : "", r.status);
                ck_assert_msg(strstr(r.err, "--help"), "no hint at --help: %s", r.err);
                ck_assert_str_eq(r.out, "");
                harness_ctl_free(&r);
        }
}
END_TEST

/* Runs dunningctl --config CONFIG ARGS... with stdin and stderr on a
 * pseudo-terminal and stdout to a file: what the terminal received into
 * *tty and stdout into *out (both owned); returns the exit code. */
static int run_on_tty(char **tty, char **out, ...)
{
        const char *argv[16];
        char bin[512], out_path[512];
        char *got = NULL;
        size_t got_len = 0;
        int master, status, n = 0;
        int64_t deadline = harness_now_ms() + 60000;
        va_list ap;
        pid_t pid;

        snprintf(bin, sizeof(bin), "%s/dunningctl", getenv("DUNNINGD_BUILD_ROOT"));
        snprintf(out_path, sizeof(out_path), "%s/tty-%d.out", h->dir, ++h->n_files);
        argv[n++] = bin;
        argv[n++] = "--config";
        argv[n++] = h->config_path;
        va_start(ap, out);
        for (const char *a; (a = va_arg(ap, const char *)) && n < 15;)
                argv[n++] = a;
        va_end(ap);
        argv[n] = NULL;

        master = posix_openpt(O_RDWR | O_NOCTTY);
        ck_assert_msg(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0,
                      "no pseudo-terminal: %s", strerror(errno));
        const char *slave = ptsname(master);
        ck_assert(slave != NULL);
        fflush(NULL);
        pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                setsid();
                int t = open(slave, O_RDWR);
                int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (t < 0 || o < 0)
                        _exit(127);
                dup2(t, 0);
                dup2(o, 1);
                dup2(t, 2);
                close(master);
                execv(bin, (char *const *)argv);
                _exit(127);
        }
        /* read until the child is gone: the master then reads EIO */
        for (;;) {
                struct pollfd p = { master, POLLIN, 0 };
                char chunk[4096];
                int left = (int)(deadline - harness_now_ms());
                ssize_t k;

                ck_assert_msg(left > 0, "dunningctl on a terminal: no exit within 60 s");
                if (poll(&p, 1, left) <= 0)
                        continue;
                k = read(master, chunk, sizeof(chunk));
                if (k <= 0)
                        break;
                got = realloc(got, got_len + (size_t)k + 1);
                ck_assert(got != NULL);
                memcpy(got + got_len, chunk, (size_t)k);
                got_len += (size_t)k;
                got[got_len] = '\0';
        }
        close(master);
        ck_assert(waitpid(pid, &status, 0) == pid);
        *tty = got ? got : strdup("");
        *out = harness_read_file(out_path);
        ck_assert(*out != NULL);
        fprintf(stderr, "harness: dunningctl on a terminal -> exit %d\n",
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

START_TEST(test_progress_only_on_a_terminal)
{
        char *big = harness_write_jobs(h, "big.jsonl", 0, 1500, NULL);
        char *again = harness_write_jobs(h, "again.jsonl", 1500, 1500, NULL);
        char *small = harness_write_jobs(h, "small.jsonl", 5000, 10, NULL);
        struct harness_ctl r;
        char *tty, *out;
        json_t *v;
        int rc;

        rc = run_on_tty(&tty, &out, "enqueue", big, NULL);
        ck_assert_msg(rc == 0, "exit %d: %s", rc, tty);
        /* rewritten in place: a \r before the label, not only the pty's \r\n */
        ck_assert_msg(strstr(tty, "\rreading "), "no progress line on the terminal: %s", tty);
        ck_assert_msg(strstr(tty, "big.jsonl: 1500/1500 rows (100%), "), "%s", tty);
        ck_assert_msg(strstr(tty, "\renqueueing: 1500/1500 jobs (100%), "), "%s", tty);
        ck_assert_msg(strstr(tty, " jobs/s"), "no rate: %s", tty);
        /* stdout is for the summary only */
        ck_assert_str_eq(out, "enqueued 1500, scheduled 0, duplicates 0, rejected 0\n");
        free(tty);
        free(out);

        /* stderr a file (a pipe, a test, a log): never */
        harness_ctl_run(h, &r, "enqueue", again, NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(!strchr(r.err, '\r') && !strstr(r.err, "rows ("), "progress in a file: %s",
                      r.err);
        ck_assert_str_eq(r.out, "enqueued 1500, scheduled 0, duplicates 0, rejected 0\n");
        harness_ctl_free(&r);

        /* --json on a terminal: the output is for a program */
        rc = run_on_tty(&tty, &out, "enqueue", big, "--json", NULL);
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(!strstr(tty, "reading ") && !strstr(tty, "jobs/s"), "progress with --json: %s",
                      tty);
        r.out = out;
        v = json_out(&r);
        ck_assert_int_eq(json_integer_value(json_object_get(v, "duplicates")), 1500);
        json_decref(v);
        free(tty);
        free(out);

        /* a small file is over before a progress line could help */
        rc = run_on_tty(&tty, &out, "enqueue", small, NULL);
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(!strstr(tty, "reading ") && !strstr(tty, "enqueueing"), "%s", tty);
        ck_assert_str_eq(out, "enqueued 10, scheduled 0, duplicates 0, rejected 0\n");
        free(tty);
        free(out);
        free(big);
        free(again);
        free(small);
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
        tcase_add_test(tc, test_dead_list_filters);
        tcase_add_test(tc, test_dead_list_limit);
        tcase_add_test(tc, test_dead_show);
        tcase_add_test(tc, test_dead_bulk_retry_and_drop);
        tcase_add_test(tc, test_status_reasons_and_last_minute);
        tcase_add_test(tc, test_enqueue_json);
        tcase_add_test(tc, test_outside_jobs_carry_no_rate_slot);
        tcase_add_test(tc, test_help_and_usage_errors);
        tcase_add_test(tc, test_progress_only_on_a_terminal);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(ctl_suite());
}
