/* test-print.c: the letter's http transport (channels/print.c) against a
 * recording stand-in of a print-and-mail service.
 *
 * tests/integration/print_standin.py (run with /usr/bin/python3) takes the
 * multipart upload, saves the PDF and records every request with the
 * client's port. Driver level (a struct config filled in here, no daemon):
 * the exact form fields and headers, the PDF is valid (qpdf --check) and
 * carries the name (pdftotext), one kept-alive connection, 429 with
 * Retry-After, 422 permanent with the service's message, 401 temporary,
 * timeouts, and no token, name or address in any reason. The registry finds
 * each "http" per channel. Config: transport http needs url and token_file.
 * Daemon level: a letter goes through dunningd to the stand-in. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "channel.h"
#include "config.h"
#include "harness.h"
#include "letter.h"

#define TOKEN "prt-Secret-0815abcdef"
#define RID "r-00000000000000bb"
#define NAME "Jan de Vries"
#define STREET "Dorpsstraat 1"

static struct harness *h;
static struct harness_standin st;
static char records_path[400], pdf_dir[400];

static void setup(void)
{
        char port_file[420];

        signal(SIGPIPE, SIG_IGN);
        h = harness_new();
        snprintf(port_file, sizeof(port_file), "%s/print.port", h->dir);
        snprintf(records_path, sizeof(records_path), "%s/print.jsonl", h->dir);
        snprintf(pdf_dir, sizeof(pdf_dir), "%s/pdfs", h->dir);
        harness_standin_start(h, &st, "print_standin.py", port_file, port_file, records_path,
                              pdf_dir, TOKEN, NULL);
}

static void teardown(void)
{
        harness_standin_stop(&st);
        harness_free(h);
        h = NULL;
}

/* ---- helpers ------------------------------------------------------------- */

/* Runs cmd with sh and returns its stdout; fails the test on exit != 0. */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
        struct buf cmd = BUF_INIT, out = BUF_INIT;
        va_list ap;
        va_start(ap, fmt);
        buf_vprintf(&cmd, fmt, ap);
        va_end(ap);
        FILE *f = popen(buf_str(&cmd), "r");
        ck_assert_ptr_nonnull(f);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                buf_append(&out, chunk, n);
        int status = pclose(f);
        ck_assert_msg(status == 0, "`%s` failed (status %d)", buf_str(&cmd), status);
        buf_free(&cmd);
        if (!out.data)
                buf_puts(&out, "");
        return buf_steal(&out);
}

/* A config for the letter channel alone; the url from the stand-in's
 * port and path (kept in a static buffer). */
static struct config cfg_for(const char *path, const char *token, int timeout_ms)
{
        static char url[256];
        struct config c;

        memset(&c, 0, sizeof(c));
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", st.port, path);
        c.channels.letter.transport = (char *)"http";
        c.channels.letter.url = url;
        c.channels.letter.token = (char *)token;
        c.channels.letter.connect_timeout_ms = 2000;
        c.channels.letter.timeout_ms = timeout_ms;
        return c;
}

static void *open_print(const struct config *c)
{
        void *s = NULL;
        struct error err = { "" };
        const struct channel_ops *ops = channel_lookup(JOB_CHANNEL_LETTER, "http");

        ck_assert_ptr_eq(ops, &channel_print_http);
        int rc = ops->open(&s, JOB_CHANNEL_LETTER, c, &err);
        ck_assert_msg(rc == 0, "open: %d: %s", rc, err.msg);
        return s;
}

/* One letter: a job with an address and the letter's layout data. */
struct fixture {
        char *lines[3];
        struct job job;
        const char *rlines[4];
        struct letter_invoice inv;
        struct letter_input in;
        struct message m;
};

static void fixture_init(struct fixture *f)
{
        memset(f, 0, sizeof(*f));
        f->lines[0] = (char *)STREET;
        f->lines[1] = (char *)"t.a.v. de administratie";
        f->job.customer.name = (char *)NAME;
        f->job.customer.locale = (char *)"nl-NL";
        f->job.customer.has_address = true;
        f->job.customer.address.lines = f->lines;
        f->job.customer.address.n_lines = 2;
        f->job.customer.address.postal_code = (char *)"1234 AB";
        f->job.customer.address.city = (char *)"Utrecht";
        f->job.customer.address.country = (char *)"NL";
        snprintf(f->job.reminder_id, sizeof(f->job.reminder_id), "%s", RID);
        f->rlines[0] = STREET;
        f->rlines[1] = "t.a.v. de administratie";
        f->rlines[2] = "1234 AB  Utrecht";
        f->inv = (struct letter_invoice){ "INV-1", "31 oktober 2026", "€ 10,01" };
        f->in = (struct letter_input){
                .creditor_name = "Acme Energie B.V.",
                .creditor_iban = "NL91 ABNA 0417 1643 00",
                .recipient_name = NAME,
                .recipient_lines = f->rlines,
                .date_text = "23 november 2026",
                .reference = RID,
                .title = "Betalingsherinnering INV-1",
                .invoices = &f->inv,
                .n_invoices = 1,
                .body_text = "Wij hebben uw betaling nog niet ontvangen.",
                .lang = "nl",
                .created_ms = 1795420800000LL,
        };
        f->m = (struct message){
                .channel = JOB_CHANNEL_LETTER,
                .job = &f->job,
                .reminder_id = RID,
                .to_name = NAME,
                .text = "Wij hebben uw betaling nog niet ontvangen.",
                .letter = &f->in,
        };
}

/* No reason holds the token, the name or the street. */
static void check_reason(const struct send_result *r)
{
        ck_assert_msg(!strstr(r->reason, TOKEN), "token in reason: %s", r->reason);
        ck_assert_msg(!strstr(r->reason, NAME), "name in reason: %s", r->reason);
        ck_assert_msg(!strstr(r->reason, STREET), "street in reason: %s", r->reason);
        ck_assert_msg(!strchr(r->reason, '\n'), "reason on several lines: %s", r->reason);
}

static struct send_result send_one(void *s)
{
        struct fixture f;
        struct send_result r;

        fixture_init(&f);
        memset(&r, 0xa5, sizeof(r));   /* the driver must fill every field */
        channel_print_http.send(s, &f.m, &r);
        check_reason(&r);
        return r;
}

#define assert_outcome(r, want)                                                            \
        ck_assert_msg((r).outcome == (want), "outcome %d, want %d: %s", (r).outcome, (want), \
                      (r).reason)

/* Every recorded request, oldest first (a new reference). */
static json_t *records(void)
{
        json_t *all = json_array();
        char *text = harness_read_file(records_path);
        for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
                json_t *j = json_loads(line, 0, NULL);
                ck_assert_msg(j != NULL, "not JSON: %s", line);
                json_array_append_new(all, j);
        }
        free(text);
        return all;
}

static const char *header_of(const json_t *rec, const char *name)
{
        size_t i;
        json_t *kv;
        json_array_foreach(json_object_get(rec, "headers"), i, kv)
                if (strcasecmp(json_string_value(json_array_get(kv, 0)), name) == 0)
                        return json_string_value(json_array_get(kv, 1));
        return NULL;
}

static void script(const char *answers)
{
        int status;
        free(harness_http_request(st.port, "POST", "/_script", "application/json", answers,
                                  &status));
        ck_assert_msg(status == 204, "POST /_script: %d", status);
}

/* ---- driver -------------------------------------------------------------- */

START_TEST(test_registry_per_channel)
{
        ck_assert_ptr_eq(channel_lookup(JOB_CHANNEL_LETTER, "http"), &channel_print_http);
        ck_assert_ptr_eq(channel_lookup(JOB_CHANNEL_SMS, "http"), &channel_sms_http);
        ck_assert_ptr_null(channel_lookup(JOB_CHANNEL_EMAIL, "http"));
        ck_assert_ptr_eq(channel_lookup(JOB_CHANNEL_EMAIL, "smtp"), &channel_smtp);
        ck_assert_ptr_null(channel_lookup(JOB_CHANNEL_LETTER, "smtp"));
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                ck_assert_ptr_eq(channel_lookup((enum job_channel)ch, "outbox"), &channel_outbox);
        ck_assert_ptr_null(channel_lookup(JOB_CHANNEL_LETTER, NULL));
        ck_assert_ptr_null(channel_lookup(JOB_CHANNEL_NONE, "outbox"));
}
END_TEST

START_TEST(test_request_fields_and_pdf)
{
        struct config c = cfg_for("/v1/letters", TOKEN, 10000);
        void *s = open_print(&c);
        struct send_result r = send_one(s);
        assert_outcome(r, CHANNEL_SENT);
        ck_assert_str_eq(r.provider_id, "ltr_1");
        ck_assert_int_eq(r.retry_after_ms, 0);
        channel_print_http.close(s);

        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 1);
        json_t *rec = json_array_get(all, 0);
        ck_assert_str_eq(json_string_value(json_object_get(rec, "method")), "POST");
        ck_assert_str_eq(json_string_value(json_object_get(rec, "path")), "/v1/letters");
        ck_assert_int_eq(json_integer_value(json_object_get(rec, "status")), 201);
        ck_assert_str_eq(header_of(rec, "Authorization"), "Bearer " TOKEN);
        ck_assert_ptr_null(header_of(rec, "Expect"));
        ck_assert_msg(strncmp(header_of(rec, "Content-Type"), "multipart/form-data; boundary=",
                              30) == 0,
                      "Content-Type: %s", header_of(rec, "Content-Type"));

        /* Exactly these fields, in this form. */
        json_t *want = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "reference", RID,
                                 "name", NAME, "address_line1", STREET, "address_line2",
                                 "t.a.v. de administratie", "postal_code", "1234 AB", "city",
                                 "Utrecht", "country", "NL", "pages", "1");
        json_t *fields = json_object_get(rec, "fields");
        char *got = json_dumps(fields, JSON_SORT_KEYS), *exp = json_dumps(want, JSON_SORT_KEYS);
        ck_assert_str_eq(got, exp);
        free(got);
        free(exp);
        json_decref(want);

        json_t *file = json_object_get(rec, "file");
        ck_assert_str_eq(json_string_value(json_object_get(file, "name")), "file");
        ck_assert_str_eq(json_string_value(json_object_get(file, "filename")), RID ".pdf");
        ck_assert_str_eq(json_string_value(json_object_get(file, "content_type")),
                         "application/pdf");
        const char *pdf = json_string_value(json_object_get(file, "path"));
        free(run("qpdf --check '%s' >/dev/null", pdf));
        char *text = run("pdftotext -enc UTF-8 '%s' -", pdf);
        ck_assert_msg(strstr(text, NAME) && strstr(text, STREET), "not on the letter: %s", text);
        free(text);
        char *info = run("pdfinfo '%s'", pdf);
        const char *pages = strstr(info, "\nPages:");
        ck_assert_ptr_nonnull(pages);
        ck_assert_int_eq(atoi(pages + strlen("\nPages:")), 1);
        free(info);
        json_decref(all);
}
END_TEST

START_TEST(test_keep_alive)
{
        struct config c = cfg_for("/v1/letters", TOKEN, 10000);
        void *s = open_print(&c);
        for (int i = 0; i < 3; i++)
                assert_outcome(send_one(s), CHANNEL_SENT);
        channel_print_http.close(s);
        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 3);
        json_int_t port0 = json_integer_value(json_object_get(json_array_get(all, 0),
                                                              "client_port"));
        for (size_t i = 1; i < 3; i++)
                ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(all, i),
                                                                    "client_port")),
                                 port0);
        json_decref(all);
}
END_TEST

START_TEST(test_429_and_5xx_are_temporary)
{
        struct config c = cfg_for("/v1/letters", TOKEN, 10000);
        void *s = open_print(&c);
        script("[{\"status\":429,\"headers\":{\"Retry-After\":\"2\"},"
               "\"body\":{\"message\":\"slow down\"}},"
               "{\"status\":503},"
               "{\"status\":502,\"headers\":{\"Retry-After\":\"Wed, 21 Oct 2015 07:28:00 GMT\"}}]");
        struct send_result r = send_one(s);
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(r.retry_after_ms, 2000);
        ck_assert_str_eq(r.reason, "letter: print: HTTP 429: slow down");
        r = send_one(s);
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(r.retry_after_ms, 0);
        ck_assert_str_eq(r.reason, "letter: print: HTTP 503");
        r = send_one(s);   /* a date in the past: no wait */
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_int_eq(r.retry_after_ms, 0);
        r = send_one(s);
        assert_outcome(r, CHANNEL_SENT);
        channel_print_http.close(s);
}
END_TEST

START_TEST(test_422_is_permanent_with_the_message)
{
        struct config c = cfg_for("/v1/letters", TOKEN, 10000);
        void *s = open_print(&c);
        script("[{\"status\":422,\"body\":{\"message\":\"address not deliverable: "
               STREET ", 1234 AB Utrecht (" NAME ")\"}}]");
        struct send_result r = send_one(s);
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_int_eq(r.retry_after_ms, 0);
        ck_assert_str_eq(r.reason, "letter: print: HTTP 422: address not deliverable: "
                                   "[address], [address] Utrecht ([address])");
        script("[{\"status\":400,\"body\":{\"error\":{\"message\":\"country XX unsupported\"}}}]");
        r = send_one(s);
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_str_eq(r.reason, "letter: print: HTTP 400: country XX unsupported");
        channel_print_http.close(s);
}
END_TEST

START_TEST(test_401_is_temporary_and_hides_the_token)
{
        /* A wrong token: the stand-in answers 401 itself. */
        struct config c = cfg_for("/v1/letters", "wrong-token-123456", 10000);
        void *s = open_print(&c);
        struct send_result r = send_one(s);
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(r.reason,
                         "letter: print: HTTP 401 (check channels.letter url/token): unauthorized");
        channel_print_http.close(s);

        /* A service that echoes the token, and a wrong path. */
        c = cfg_for("/v1/nothing", TOKEN, 10000);
        s = open_print(&c);
        script("[{\"status\":403,\"body\":{\"error\":\"token " TOKEN " not allowed\"}}]");
        r = send_one(s);
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(r.reason, "letter: print: HTTP 403 (check channels.letter url/token): "
                                   "token [token] not allowed");
        r = send_one(s);
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(r.reason,
                         "letter: print: HTTP 404 (check channels.letter url/token): not found");
        channel_print_http.close(s);
}
END_TEST

START_TEST(test_timeout_and_refused)
{
        struct config c = cfg_for("/v1/letters", TOKEN, 500);
        void *s = open_print(&c);
        script("[{\"status\":201,\"delay\":2}]");
        struct send_result r = send_one(s);
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_msg(strncmp(r.reason, "letter: print: timed out", 24) == 0, "%s", r.reason);
        channel_print_http.close(s);

        harness_standin_stop(&st);
        s = open_print(&c);
        r = send_one(s);
        assert_outcome(r, CHANNEL_TEMPFAIL);
        ck_assert_msg(strncmp(r.reason, "letter: print: cannot connect", 29) == 0, "%s",
                      r.reason);
        channel_print_http.close(s);
}
END_TEST

START_TEST(test_open_and_letter_errors)
{
        struct config c = cfg_for("/v1/letters", TOKEN, 10000);
        void *s = NULL;
        struct error err = { "" };

        ck_assert_int_eq(channel_print_http.open(&s, JOB_CHANNEL_SMS, &c, &err), -EINVAL);
        ck_assert_ptr_null(s);
        c.channels.letter.token = NULL;
        ck_assert_int_eq(channel_print_http.open(&s, JOB_CHANNEL_LETTER, &c, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "channels.letter.token_file: needed for transport http");
        c = cfg_for("/v1/letters", TOKEN, 10000);
        c.channels.letter.url = NULL;
        ck_assert_int_eq(channel_print_http.open(&s, JOB_CHANNEL_LETTER, &c, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "channels.letter.url: needed for transport http");
        ck_assert_ptr_null(s);
        channel_print_http.close(NULL);

        /* A letter that cannot be laid out is permanent, before any
         * request. */
        c = cfg_for("/v1/letters", TOKEN, 10000);
        s = open_print(&c);
        struct fixture f;
        struct send_result r;
        fixture_init(&f);
        f.in.body_text = NULL;
        channel_print_http.send(s, &f.m, &r);
        check_reason(&r);
        assert_outcome(r, CHANNEL_PERMFAIL);
        ck_assert_msg(strncmp(r.reason, "letter: ", 8) == 0, "%s", r.reason);
        channel_print_http.close(s);
        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 0);
        json_decref(all);
}
END_TEST

/* --check-config: transport http without url and token_file, reported at
 * the key that chose http. */
START_TEST(test_config_requires_url_and_token)
{
        const char *yaml = "creditor: { name: Acme, iban: NL91ABNA0417164300 }\n"
                           "channels:\n"
                           "  letter:\n"
                           "    transport: http\n";
        char *path = harness_write_file(h, "letter.yaml", yaml);
        struct config *cfg = NULL;
        struct error err = { "" };
        ck_assert_int_eq(config_load(&cfg, path, &err), -EINVAL);
        char want[2048];
        snprintf(want, sizeof(want),
                 "%s:4:16: channels.letter.url: required when channels.letter.transport is "
                 "http\n%s:4:16: channels.letter.token_file: required when "
                 "channels.letter.transport is http",
                 path, path);
        ck_assert_msg(strstr(err.msg, want) != NULL, "got: %s\nwant: %s", err.msg, want);
        free(path);

        char *tok = harness_write_file(h, "print-token", TOKEN "\n");
        char text[1024];
        snprintf(text, sizeof(text),
                 "creditor: { name: Acme, iban: NL91ABNA0417164300 }\n"
                 "channels:\n"
                 "  letter: { transport: http, url: \"https://print.example/v1/letters\", "
                 "token_file: %s, timeout_ms: 20000 }\n",
                 tok);
        path = harness_write_file(h, "letter-ok.yaml", text);
        ck_assert_msg(config_load(&cfg, path, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(cfg->channels.letter.transport, "http");
        ck_assert_str_eq(cfg->channels.letter.url, "https://print.example/v1/letters");
        ck_assert_str_eq(cfg->channels.letter.token, TOKEN);
        ck_assert_int_eq(cfg->channels.letter.timeout_ms, 20000);
        ck_assert_int_eq(cfg->channels.letter.connect_timeout_ms, 3000);
        config_free(cfg);
        free(path);
        free(tok);
}
END_TEST

/* ---- daemon -------------------------------------------------------------- */

struct sent_wait {
        const char *rid;
        const char *channel;
};

static bool sent_on(void *arg)
{
        struct sent_wait *w = arg;
        struct harness_entry *ev;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":events", &ev);
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
                found = strcmp(harness_entry_get(&ev[i], "type"), "sent") == 0 &&
                        strcmp(harness_entry_get(&ev[i], "reminder"), w->rid) == 0 &&
                        strcmp(harness_entry_get(&ev[i], "channel"), w->channel) == 0;
        harness_entries_free(ev, n);
        return found;
}

/* Customer 2 prefers a letter: through dunningd to the print service,
 * after one 429; customer 5's address is refused (422): e-mail next. */
START_TEST(test_daemon_sends_letters_to_the_print_service)
{
        char letter_yaml[1024];
        char *tok = harness_write_file(h, "print-token", TOKEN "\n");
        snprintf(letter_yaml, sizeof(letter_yaml),
                 "transport: http, url: \"http://127.0.0.1:%d/v1/letters\", token_file: %s, "
                 "timeout_ms: 10000",
                 st.port, tok);
        free(tok);
        struct harness_config c;
        harness_config_defaults(&c);
        c.letter_yaml = letter_yaml;
        harness_config_write(h, &c);
        ck_assert_str_eq(harness_channel_of(2), "letter");
        ck_assert_str_eq(harness_channel_of(5), "letter");

        script("[{\"status\":429,\"headers\":{\"Retry-After\":\"1\"}}]");
        struct harness_daemon *d = harness_daemon_start(h);
        char r2[19], r5[19];
        harness_reminder_id(2, r2);
        harness_reminder_id(5, r5);
        struct harness_ctl run_;
        char *jobs = harness_write_jobs(h, "jobs.jsonl", 2, 1, NULL);
        harness_ctl_run(h, &run_, "enqueue", jobs, NULL);
        ck_assert_msg(run_.status == 0, "enqueue: %s", run_.err);
        harness_ctl_free(&run_);
        free(jobs);
        struct sent_wait w2 = { r2, "letter" };
        ck_assert_msg(harness_wait_until(sent_on, &w2, 30000), "letter of customer 2 not sent");

        json_t *all = records();
        ck_assert_int_eq(json_array_size(all), 2);
        json_t *rec = json_array_get(all, 1);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(all, 0), "status")),
                         429);
        ck_assert_int_eq(json_integer_value(json_object_get(rec, "status")), 201);
        json_t *fields = json_object_get(rec, "fields");
        ck_assert_str_eq(json_string_value(json_object_get(fields, "reference")), r2);
        ck_assert_str_eq(json_string_value(json_object_get(fields, "name")), "Klant 2");
        ck_assert_str_eq(json_string_value(json_object_get(fields, "address_line1")),
                         "Dorpsstraat 2");
        ck_assert_str_eq(json_string_value(json_object_get(fields, "postal_code")), "1234 AB");
        ck_assert_str_eq(json_string_value(json_object_get(fields, "city")), "Utrecht");
        ck_assert_str_eq(json_string_value(json_object_get(fields, "country")), "NL");
        ck_assert_str_eq(json_string_value(json_object_get(fields, "pages")), "1");
        const char *pdf =
                json_string_value(json_object_get(json_object_get(rec, "file"), "path"));
        free(run("qpdf --check '%s' >/dev/null", pdf));
        char *text = run("pdftotext -enc UTF-8 '%s' -", pdf);
        ck_assert_msg(strstr(text, "Klant 2") && strstr(text, "INV-2"), "%s", text);
        free(text);
        double t1 = json_number_value(json_object_get(json_array_get(all, 0), "time"));
        double t2 = json_number_value(json_object_get(rec, "time"));
        ck_assert_msg(t2 - t1 >= 0.9, "retried %.2f s after Retry-After: 1", t2 - t1);
        json_decref(all);
        /* Nothing went to the letter outbox. */
        ck_assert_int_eq(harness_outbox_count(h, "letter"), 0);

        /* An address the printer refuses: the next channel. */
        script("[{\"status\":422,\"body\":{\"message\":\"address not deliverable\"}}]");
        jobs = harness_write_jobs(h, "jobs5.jsonl", 5, 1, NULL);
        harness_ctl_run(h, &run_, "enqueue", jobs, NULL);
        ck_assert_msg(run_.status == 0, "enqueue: %s", run_.err);
        harness_ctl_free(&run_);
        free(jobs);
        struct sent_wait w5 = { r5, "email" };
        ck_assert_msg(harness_wait_until(sent_on, &w5, 30000),
                      "customer 5 not sent by e-mail after the 422");
        w5.channel = "letter";
        ck_assert(!sent_on(&w5));

        char *log = harness_daemon_log(d);
        ck_assert_ptr_null(strstr(log, TOKEN));
        free(log);
        harness_daemon_stop(d);
}
END_TEST

static Suite *print_suite(void)
{
        Suite *s = suite_create("print");
        TCase *tc = tcase_create("print");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_registry_per_channel);
        tcase_add_test(tc, test_request_fields_and_pdf);
        tcase_add_test(tc, test_keep_alive);
        tcase_add_test(tc, test_429_and_5xx_are_temporary);
        tcase_add_test(tc, test_422_is_permanent_with_the_message);
        tcase_add_test(tc, test_401_is_temporary_and_hides_the_token);
        tcase_add_test(tc, test_timeout_and_refused);
        tcase_add_test(tc, test_open_and_letter_errors);
        tcase_add_test(tc, test_config_requires_url_and_token);
        tcase_add_test(tc, test_daemon_sends_letters_to_the_print_service);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(print_suite());
}
