/* test-import.c: campaign files (CSV, JSONL, JSON) to validated jobs. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "import.h"
#include "job.h"
#include "unit.h"

#define HEADER "campaign,step,customer.id,customer.name,customer.locale,customer.phone," \
               "invoice.number,invoice.amount_cents,invoice.currency,invoice.due\n"

static struct import_result import_ok(const char *name, const char *data, const char *format,
                                      int64_t at_ms)
{
        struct import_result res;
        struct error err = { "" };
        int r = import_buffer(&res, name, data, strlen(data), format, at_ms, &err);

        ck_assert_msg(r == 0, "import_buffer: %s", err.msg);
        return res;
}

static void expect_errors(const struct import_result *res, size_t n, const char *const *msgs)
{
        for (size_t i = 0; i < res->n_errors && i < n; i++)
                ck_assert_str_eq(res->errors[i], msgs[i]);
        ck_assert_uint_eq(res->n_errors, n);
}

#define EXPECT_ERRORS(res, ...) \
        expect_errors(res, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *), \
                      (const char *const[]){ __VA_ARGS__ })

static void expect_prefix(const char *s, const char *prefix)
{
        ck_assert_msg(strncmp(s, prefix, strlen(prefix)) == 0, "\"%s\" does not start with \"%s\"",
                      s, prefix);
}

static struct job *reparse(const struct import_job *ij)
{
        struct error err = { "" };
        struct job *job = NULL;

        ck_assert_msg(job_parse(&job, ij->json, strlen(ij->json), &err) == 0, "%s", err.msg);
        ck_assert_str_eq(job->job_id, ij->job_id);
        ck_assert_str_eq(job->reminder_id, ij->reminder_id);
        ck_assert_int_eq(job->not_before_ms, ij->not_before_ms);
        return job;
}

START_TEST(test_csv_grouping)
{
        const char *data = HEADER
                "c1,reminder-1,C1,Jan de Vries,nl-NL,+31612345678,INV-1,1000,EUR,2026-10-31\n"
                "c1,reminder-1,C2,Piet,nl,,INV-9,500,EUR,2026-10-30\n"
                "c1,reminder-1,C1,Jan de Vries,nl-NL,+31612345678,INV-2,2500,EUR,2026-11-15\n"
                "c1,reminder-2,C1,Jan de Vries,nl-NL,+31612345678,INV-3,1,EUR,2026-11-15\n";
        struct import_result res = import_ok("campaign.csv", data, "csv", 0);
        struct job *j;

        EXPECT_ERRORS(&res);
        ck_assert_uint_eq(res.n_jobs, 3);
        ck_assert_int_eq(res.jobs[0].line, 2);
        ck_assert_int_eq(res.jobs[1].line, 3);
        ck_assert_int_eq(res.jobs[2].line, 5);

        j = reparse(&res.jobs[0]);
        ck_assert_str_eq(j->customer.id, "C1");
        ck_assert_str_eq(j->customer.phone, "+31612345678");
        ck_assert_uint_eq(j->n_invoices, 2);
        ck_assert_str_eq(j->invoices[0].number, "INV-1");
        ck_assert_int_eq(j->invoices[0].amount_cents, 1000);
        ck_assert_str_eq(j->invoices[1].number, "INV-2");
        ck_assert_int_eq(j->invoices[1].amount_cents, 2500);
        ck_assert_int_eq(j->not_before_ms, 0);
        job_free(j);

        j = reparse(&res.jobs[1]);
        ck_assert_ptr_null(j->customer.phone);   /* empty cell = absent */
        ck_assert_str_eq(res.jobs[1].json,
                         "{\"v\":1,\"campaign\":\"c1\",\"step\":\"reminder-1\",\"customer\":{\"id\":\"C2\","
                         "\"name\":\"Piet\",\"locale\":\"nl\"},\"invoices\":[{\"number\":\"INV-9\","
                         "\"amount_cents\":500,\"currency\":\"EUR\",\"due\":\"2026-10-30\"}]}");
        job_free(j);
        import_result_free(&res);
        import_result_free(NULL);
}
END_TEST

START_TEST(test_csv_bad_rows)
{
        const char *data = HEADER
                "c1,r1,C1,Jan,nl-NL,+31612345678,INV-1,1000,EUR,2026-10-31\n"
                "c1,r1,C2,Piet,nl,,INV-2,\"12,50\",EUR,2026-10-31\n"
                "c1,r1,C3,Klaas,nl,0612345678,INV-3,100,EUR,2026-10-31\n"
                "c1,r1,C4,Anna,nl,,INV-4,100,EUR,2026-10-31\n"
                "c1,r1,C4,Anna,nl,,INV-5,-3,EUR,2026-10-31\n"
                "c1,r1,C4,Anna,nl,,INV-6,100,EUR,2026-02-30\n"
                "c1,r1,C5,Bob,nl,,INV-7,100,EUR,2026-10-31\n"
                "c1,r1,C5,Bob,nl,,INV-8,100,USD,2026-10-31\n"
                "c1,r1,C6,Eve,nl,,INV-9,100,EUR,2026-10-31\n";
        struct import_result res = import_ok("campaign.csv", data, "csv", 0);

        EXPECT_ERRORS(&res,
                      "campaign.csv:3: invoice.amount_cents: must be a positive integer (minor units)",
                      "campaign.csv:4: customer.phone: not a valid E.164 number",
                      "campaign.csv:6: invoice.amount_cents: must be a positive integer (minor units)",
                      "campaign.csv:7: invoice.due: not a valid date (YYYY-MM-DD)",
                      "campaign.csv:9: invoice.currency: differs from line 8 (one currency per job)");
        /* good rows are kept; a group with a bad row is rejected whole */
        ck_assert_uint_eq(res.n_jobs, 2);
        ck_assert_int_eq(res.jobs[0].line, 2);
        ck_assert_int_eq(res.jobs[1].line, 10);
        import_result_free(&res);
}
END_TEST

START_TEST(test_csv_customer_differs)
{
        const char *data = HEADER
                "c1,r1,C1,Jan,nl-NL,+31612345678,INV-1,1000,EUR,2026-10-31\n"
                "c1,r1,C1,Jan,nl-NL,+31612345679,INV-2,1000,EUR,2026-10-31\n";
        struct import_result res = import_ok("campaign.csv", data, "csv", 0);

        EXPECT_ERRORS(&res, "campaign.csv:3: customer.phone: differs from line 2 (rows with the "
                            "same campaign, step and customer.id are one job)");
        ck_assert_uint_eq(res.n_jobs, 0);
        import_result_free(&res);
}
END_TEST

START_TEST(test_csv_all_columns)
{
        const char *data =
                "\xef\xbb\xbf" "campaign;step;customer.id;customer.name;customer.locale;customer.segment;"
                "customer.email;customer.phone;customer.address.line1;customer.address.line2;"
                "customer.address.line3;customer.address.line4;customer.address.postal_code;"
                "customer.address.city;customer.address.country;customer.preferred_channel;"
                "customer.consent.email;customer.consent.sms;customer.timezone;invoice.number;"
                "invoice.amount_cents;invoice.currency;invoice.issued;invoice.due;not_before\r\n"
                "c1;final;C1;\"Zo\xc3\xab \xc3\x87""elik\";nl-NL;structural-late;zoe@example.nl;+31612345678;"
                "Dorpsstraat 1;\"t.a.v. \"\"Inkoop\"\"\";;;1234 AB;Utrecht;NL;letter;Ja;nee;Europe/Amsterdam;"
                "INV-1;0012345;EUR;2026-10-01;2026-10-31;2026-11-23T09:00:00+01:00\r\n";
        struct import_result res = import_ok("export.csv", data, "csv", 0);
        struct job *j;

        EXPECT_ERRORS(&res);
        ck_assert_uint_eq(res.n_jobs, 1);
        j = reparse(&res.jobs[0]);
        ck_assert_str_eq(j->customer.name, "Zo\xc3\xab \xc3\x87""elik");
        ck_assert_str_eq(j->customer.segment, "structural-late");
        ck_assert_str_eq(j->customer.email, "zoe@example.nl");
        ck_assert_uint_eq(j->customer.address.n_lines, 2);
        ck_assert_str_eq(j->customer.address.lines[1], "t.a.v. \"Inkoop\"");
        ck_assert_str_eq(j->customer.address.postal_code, "1234 AB");
        ck_assert_str_eq(j->customer.address.country, "NL");
        ck_assert_int_eq(j->customer.preferred_channel, JOB_CHANNEL_LETTER);
        ck_assert(j->customer.consent_email);
        ck_assert(!j->customer.consent_sms);
        ck_assert_str_eq(j->customer.timezone, "Europe/Amsterdam");
        ck_assert_int_eq(j->invoices[0].amount_cents, 12345);
        ck_assert_str_eq(j->invoices[0].issued, "2026-10-01");
        ck_assert_int_eq(j->not_before_ms, INT64_C(1795420800000));
        job_free(j);
        import_result_free(&res);
}
END_TEST

START_TEST(test_csv_field_mapping)
{
        const char *data =
                "campaign,step,customer.id,customer.name,customer.locale,customer.address.line1,"
                "customer.address.city,customer.address.country,customer.consent.sms,"
                "invoice.number,invoice.amount_cents,invoice.currency,invoice.due\n"
                "c1,r1,C1,Jan,nl,Dorpsstraat 1,Utrecht,NL,,INV-1,100,EUR,2026-10-31\n"
                "c1,r1,C2,Jan,nl,,Utrecht,NL,,INV-2,100,EUR,2026-10-31\n"
                "c1,r1,C3,Jan,nl,,,,misschien,INV-3,100,EUR,2026-10-31\n"
                "c1,r1,C4,Zo\xeb,nl,,,,,INV-4,100,EUR,2026-10-31\n"
                "c1,r1,C5,Jan,nl,,,,,INV-5,99999999999999999999999,EUR,2026-10-31\n"
                "c1,r1,C6,Jan,nl,,,,,INV-6,100,,2026-10-31\n"
                "c1,r1,C7,Jan,nl,,,,,INV-7,100,EUR\n";
        struct import_result res = import_ok("m.csv", data, "csv", 0);

        EXPECT_ERRORS(&res,
                      "m.csv:2: customer.address.postal_code: required",
                      "m.csv:3: customer.address.line1: must be an array of 1 to 4 lines",
                      "m.csv:4: customer.consent.sms: must be true or false",
                      "m.csv:5: customer.name: not valid UTF-8 (save the file as UTF-8)",
                      "m.csv:6: invoice.amount_cents: must be less than 10000000000000",
                      "m.csv:7: invoice.currency: required",
                      "m.csv:8: row: has 12 fields, the header has 13");
        ck_assert_uint_eq(res.n_jobs, 0);
        import_result_free(&res);
}
END_TEST

START_TEST(test_csv_whole_file_errors)
{
        struct import_result res = { .jobs = (struct import_job *)1, .n_jobs = 1 };
        struct error err = { "" };
        const char *unknown = "campaign,step,customer.id,customer.name,customer.locale,customer.fax,"
                              "invoice.number,invoice.amount_cents,invoice.currency,invoice.due\n";
        const char *missing = "campaign,step,customer.id,customer.name,customer.locale,"
                              "invoice.number,invoice.currency,invoice.due\n";
        const char *twice = "campaign,step,campaign\n";
        const char *unterminated = HEADER "c1,r1,C1,\"Jan,nl,,INV-1,1,EUR,2026-10-31\n";

        ck_assert_int_eq(import_buffer(&res, "c.csv", unknown, strlen(unknown), "csv", 0, &err),
                         -EINVAL);
        ck_assert_str_eq(err.msg, "c.csv:1: unknown column \"customer.fax\" (columns are job field "
                                  "paths such as customer.id, invoice.amount_cents)");
        ck_assert_ptr_null(res.jobs);
        ck_assert_uint_eq(res.n_jobs, 0);
        ck_assert_int_eq(import_buffer(&res, "c.csv", missing, strlen(missing), "csv", 0, &err),
                         -EINVAL);
        ck_assert_str_eq(err.msg, "c.csv:1: missing column invoice.amount_cents");
        ck_assert_int_eq(import_buffer(&res, "c.csv", twice, strlen(twice), "csv", 0, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "c.csv:1: column campaign appears twice");
        ck_assert_int_eq(import_buffer(&res, "c.csv", unterminated, strlen(unterminated), "csv", 0,
                                       &err),
                         -EINVAL);
        ck_assert_str_eq(err.msg, "c.csv:2: unterminated quoted field");
        ck_assert_int_eq(import_buffer(&res, "c.csv", "", 0, "csv", 0, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "c.csv: no header row");
        ck_assert_int_eq(import_buffer(&res, "c.xml", "", 0, "xml", 0, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "c.xml: unknown format \"xml\"");
}
END_TEST

START_TEST(test_csv_header_only)
{
        struct import_result res = import_ok("c.csv", HEADER, "csv", 0);

        ck_assert_uint_eq(res.n_jobs, 0);
        ck_assert_uint_eq(res.n_errors, 0);
        import_result_free(&res);
}
END_TEST

START_TEST(test_csv_duplicates)
{
        const char *data = HEADER
                "c1,r1,C1,Jan,nl,,INV-1,1000,EUR,2026-10-31\n"
                "c1,r1,C1,Jan,nl,,INV-1,1000,EUR,2026-10-31\n"
                "c1,r1,C2,Piet,nl,,INV-2,1000,EUR,2026-10-31\n"
                "c1,r1,C2,Piet,nl,,INV-2,2000,EUR,2026-10-31\n"
                "c1,r1,C3,Klaas,nl,,INV-1,1000,EUR,2026-10-31\n";
        struct import_result res = import_ok("d.csv", data, "csv", 0);
        char msg[256];

        ck_assert_uint_eq(res.n_jobs, 1);
        ck_assert_int_eq(res.jobs[0].line, 2);
        ck_assert_uint_eq(res.n_errors, 3);
        /* an identical row: kept once, reported */
        ck_assert_str_eq(res.errors[0], "d.csv:3: invoice.number: duplicate of line 2 (identical row, ignored)");
        /* the same invoice twice with different data: the job is rejected */
        ck_assert_str_eq(res.errors[1], "d.csv:5: invoice.number: duplicate of line 4");
        /* another customer row with the same campaign, step and invoice: same job id */
        snprintf(msg, sizeof(msg), "d.csv:6: job: duplicate of line 2 (job id %s)", res.jobs[0].job_id);
        ck_assert_str_eq(res.errors[2], msg);
        import_result_free(&res);
}
END_TEST

START_TEST(test_at_override)
{
        const char *data = HEADER
                "c1,r1,C1,Jan,nl,,INV-1,1000,EUR,2026-10-31\n"
                "c1,r1,C2,Piet,nl,,INV-2,1000,EUR,2026-10-31\n";
        const char *jsonl =
                "{\"v\":1,\"campaign\":\"c\",\"step\":\"s\",\"customer\":{\"id\":\"C\",\"name\":\"N\",\"locale\":\"nl\"},"
                "\"invoices\":[{\"number\":\"1\",\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-01-01\"}],"
                "\"not_before\":\"garbage\"}\n";
        int64_t at = INT64_C(1795420800000);
        struct import_result res = import_ok("a.csv", data, "csv", at);

        ck_assert_uint_eq(res.n_jobs, 2);
        for (size_t i = 0; i < res.n_jobs; i++) {
                ck_assert_int_eq(res.jobs[i].not_before_ms, at);
                ck_assert_ptr_nonnull(strstr(res.jobs[i].json, "\"not_before\":\"2026-11-23T08:00:00Z\""));
        }
        import_result_free(&res);

        res = import_ok("a.jsonl", jsonl, "jsonl", at);
        EXPECT_ERRORS(&res);
        ck_assert_uint_eq(res.n_jobs, 1);
        ck_assert_int_eq(res.jobs[0].not_before_ms, at);
        import_result_free(&res);

        res = import_ok("a.jsonl", jsonl, "jsonl", 0);
        EXPECT_ERRORS(&res, "a.jsonl:1: not_before: not a valid RFC 3339 time (e.g. 2026-11-23T09:00:00+01:00)");
        import_result_free(&res);
}
END_TEST

#define JOB(cust, phone) \
        "{\"v\":1,\"campaign\":\"c\",\"step\":\"s\",\"customer\":{\"id\":\"" cust "\",\"name\":\"N\"," \
        "\"locale\":\"nl\",\"phone\":\"" phone "\"},\"invoices\":[{\"number\":\"" cust "-1\"," \
        "\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-01-01\"}],\"x\": [1, 2]}"

START_TEST(test_jsonl)
{
        const char *data = "\xef\xbb\xbf" JOB("C1", "+31612345678") "\r\n"
                           "\n"
                           "   \n"
                           JOB("C2", "06-12345678") "\n"
                           "{\"v\":1,\n"
                           JOB("C3", "+31612345678") "\n"
                           JOB("C1", "+31612345678") "\n"
                           "[]\n"
                           JOB("C4", "+31612345678");
        struct import_result res = import_ok("jobs.jsonl", data, "jsonl", 0);

        ck_assert_uint_eq(res.n_jobs, 3);
        ck_assert_int_eq(res.jobs[0].line, 1);
        ck_assert_int_eq(res.jobs[1].line, 6);
        ck_assert_int_eq(res.jobs[2].line, 9);
        /* compact, order kept, unknown fields kept */
        ck_assert_ptr_nonnull(strstr(res.jobs[0].json, "\"x\":[1,2]}"));
        ck_assert_uint_eq(res.n_errors, 4);
        ck_assert_str_eq(res.errors[0], "jobs.jsonl:4: customer.phone: not a valid E.164 number");
        ck_assert_str_eq(res.errors[1], "jobs.jsonl:5: job: not valid JSON at line 1 column 7: "
                                        "string or '}' expected near end of file");
        expect_prefix(res.errors[2], "jobs.jsonl:7: job: duplicate of line 1 (job id j-");
        ck_assert_str_eq(res.errors[3], "jobs.jsonl:8: job: not valid JSON at line 1 column 1: '{' expected, found an array");
        import_result_free(&res);
}
END_TEST

START_TEST(test_json_array)
{
        const char *data = "[\n " JOB("C1", "+31612345678") ",\n " JOB("C2", "+3161") ",\n "
                           JOB("C1", "+31612345678") ",\n 42,\n " JOB("C3", "+31612345678") "\n]\n";
        struct import_result res = import_ok("jobs.json", data, "json", 0);
        struct error err = { "" };

        ck_assert_uint_eq(res.n_jobs, 2);
        ck_assert_int_eq(res.jobs[0].line, 0);
        ck_assert_int_eq(res.jobs[1].line, 4);
        ck_assert_uint_eq(res.n_errors, 3);
        ck_assert_str_eq(res.errors[0], "jobs.json:[1]: customer.phone: not a valid E.164 number");
        expect_prefix(res.errors[1], "jobs.json:[2]: job: duplicate of [0] (job id j-");
        ck_assert_str_eq(res.errors[2], "jobs.json:[3]: job: not valid JSON at line 1 column 2: "
                                        "'[' or '{' expected near '42'");
        import_result_free(&res);

        ck_assert_int_eq(import_buffer(&res, "o.json", "{}", 2, "json", 0, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "o.json: not a JSON array");
        ck_assert_int_eq(import_buffer(&res, "o.json", "[{}", 3, "json", 0, &err), -EINVAL);
        expect_prefix(err.msg, "o.json: not valid JSON at line 1 column");
}
END_TEST

static char tmpdir[64];

static char *write_tmp(const char *name, const char *data)
{
        char *path = xmalloc(strlen(tmpdir) + strlen(name) + 2);
        FILE *f;

        sprintf(path, "%s/%s", tmpdir, name);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(data, f);
        fclose(f);
        return path;
}

START_TEST(test_phone_normalised)
{
        /* National numbers become E.164 with the configured country, in
         * CSV and JSON alike; what cannot be a number is still rejected,
         * with its line. */
        const char *csv = HEADER
                "c1,reminder-1,C1,Jan,nl-NL,06-12345678,INV-1,1000,EUR,2026-10-31\n"
                "c1,reminder-1,C2,Piet,nl-NL,+31 (0)6 1234 5679,INV-2,1000,EUR,2026-10-31\n"
                "c1,reminder-1,C3,Kees,nl-NL,0671234567,INV-3,1000,EUR,2026-10-31\n";
        struct import_opts o = { .default_country = "NL" };
        struct import_result res;
        struct error err = { "" };
        ck_assert_int_eq(import_buffer_opts(&res, "c.csv", csv, strlen(csv), "csv", &o, NULL, &err),
                         0);
        ck_assert_uint_eq(res.n_jobs, 2);
        ck_assert_ptr_nonnull(strstr(res.jobs[0].json, "\"phone\":\"+31612345678\""));
        ck_assert_ptr_nonnull(strstr(res.jobs[1].json, "\"phone\":\"+31612345679\""));
        ck_assert_uint_eq(res.n_errors, 1);
        expect_prefix(res.errors[0], "c.csv:4:");
        ck_assert_ptr_nonnull(strstr(res.errors[0], "customer.phone"));
        import_result_free(&res);

        const char *jsonl =
                "{\"v\":1,\"campaign\":\"c\",\"step\":\"s\",\"customer\":{\"id\":\"C1\","
                "\"name\":\"J\",\"locale\":\"nl-NL\",\"phone\":\"0612345678\"},\"invoices\":"
                "[{\"number\":\"I1\",\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-10-31\"}]}\n";
        ck_assert_int_eq(import_buffer_opts(&res, "j.jsonl", jsonl, strlen(jsonl), "jsonl", &o, NULL,
                                            &err),
                         0);
        ck_assert_uint_eq(res.n_jobs, 1);
        ck_assert_ptr_nonnull(strstr(res.jobs[0].json, "\"phone\":\"+31612345678\""));
        import_result_free(&res);
        /* Without a country the number is taken as written: not E.164. */
        res = import_ok("j.jsonl", jsonl, "jsonl", 0);
        ck_assert_uint_eq(res.n_jobs, 0);
        EXPECT_ERRORS(&res, "j.jsonl:1: customer.phone: not a valid E.164 number");
        import_result_free(&res);
}
END_TEST

START_TEST(test_import_file)
{
        struct import_result res;
        struct error err = { "" };
        char *csv, *jsonl, *upper, *txt, *missing, expect[512];

        strcpy(tmpdir, "/tmp/test-import-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        csv = write_tmp("campaign.csv", HEADER "c1,r1,C1,Jan,nl,,INV-1,x,EUR,2026-10-31\n"
                                               "c1,r1,C2,Jan,nl,,INV-2,1,EUR,2026-10-31\n");
        jsonl = write_tmp("jobs.jsonl", JOB("C1", "+31612345678") "\n");
        upper = write_tmp("JOBS.JSON", "[" JOB("C1", "+31612345678") "]");
        txt = write_tmp("jobs.txt", "");
        missing = xmalloc(strlen(tmpdir) + 20);
        sprintf(missing, "%s/nothere.csv", tmpdir);

        ck_assert_int_eq(import_file(&res, csv, 0, &err), 0);
        ck_assert_uint_eq(res.n_jobs, 1);
        ck_assert_uint_eq(res.n_errors, 1);
        snprintf(expect, sizeof(expect),
                 "%s:2: invoice.amount_cents: must be a positive integer (minor units)", csv);
        ck_assert_str_eq(res.errors[0], expect);
        import_result_free(&res);

        ck_assert_int_eq(import_file(&res, jsonl, 0, &err), 0);
        ck_assert_uint_eq(res.n_jobs, 1);
        import_result_free(&res);
        ck_assert_int_eq(import_file(&res, upper, 0, &err), 0);
        ck_assert_uint_eq(res.n_jobs, 1);
        import_result_free(&res);

        ck_assert_int_eq(import_file(&res, txt, 0, &err), -EINVAL);
        snprintf(expect, sizeof(expect), "%s: unknown file type (expected .csv, .jsonl or .json)", txt);
        ck_assert_str_eq(err.msg, expect);
        ck_assert_int_eq(import_file(&res, missing, 0, &err), -ENOENT);
        snprintf(expect, sizeof(expect), "%s: cannot open: No such file or directory", missing);
        ck_assert_str_eq(err.msg, expect);
        ck_assert_ptr_null(res.jobs);

        unlink(csv);
        unlink(jsonl);
        unlink(upper);
        unlink(txt);
        rmdir(tmpdir);
        free(csv);
        free(jsonl);
        free(upper);
        free(txt);
        free(missing);
}
END_TEST

static Suite *import_suite(void)
{
        Suite *s = suite_create("import");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_csv_grouping);
        tcase_add_test(tc, test_csv_bad_rows);
        tcase_add_test(tc, test_csv_customer_differs);
        tcase_add_test(tc, test_csv_all_columns);
        tcase_add_test(tc, test_csv_field_mapping);
        tcase_add_test(tc, test_csv_whole_file_errors);
        tcase_add_test(tc, test_csv_header_only);
        tcase_add_test(tc, test_csv_duplicates);
        tcase_add_test(tc, test_at_override);
        tcase_add_test(tc, test_jsonl);
        tcase_add_test(tc, test_json_array);
        tcase_add_test(tc, test_import_file);
        tcase_add_test(tc, test_phone_normalised);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(import_suite());
}
