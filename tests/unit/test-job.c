/* test-job.c: job parsing, validation messages, ids and RFC 3339 times. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "job.h"
#include "unit.h"

static const char full_job[] =
        "{\"v\":1,\"campaign\":\"2026-11-consumer-nl\",\"step\":\"reminder-1\","
        "\"customer\":{\"id\":\"C-1001\",\"name\":\"Jan de Vries\",\"locale\":\"nl-NL\","
        "\"segment\":\"occasional-late\",\"email\":\"jan@example.nl\",\"phone\":\"+31612345678\","
        "\"address\":{\"lines\":[\"Dorpsstraat 1\"],\"postal_code\":\"1234 AB\","
        "\"city\":\"Utrecht\",\"country\":\"NL\"},\"preferred_channel\":\"email\","
        "\"consent\":{\"email\":true,\"sms\":false},\"timezone\":\"Europe/Amsterdam\"},"
        "\"invoices\":[{\"number\":\"INV-2026-0042\",\"amount_cents\":123456,\"currency\":\"EUR\","
        "\"issued\":\"2026-10-01\",\"due\":\"2026-10-31\"}],"
        "\"not_before\":\"2026-11-23T09:00:00+01:00\",\"x-erp\":{\"ref\":42}}";

/* full_job with the member at path (dots, and [i] for arrays) set to the
 * JSON value text, or removed when value is NULL. */
static char *job_with(const char *path, const char *value)
{
        json_t *root = json_loads(full_job, 0, NULL), *node = root;
        char *p = strdup(path), *save = NULL, *tok, *s, *out;

        ck_assert_ptr_nonnull(root);
        tok = strtok_r(p, ".", &save);
        while (tok) {
                char *next = strtok_r(NULL, ".", &save);
                char *br = strchr(tok, '[');
                size_t idx = 0;

                if (br) {
                        *br = '\0';
                        idx = strtoul(br + 1, NULL, 10);
                }
                if (!next && !br) {
                        if (value)
                                json_object_set_new(node, tok, json_loads(value, JSON_DECODE_ANY,
                                                                          NULL));
                        else
                                json_object_del(node, tok);
                        break;
                }
                node = json_object_get(node, tok);
                if (br) {
                        if (!next) {
                                if (value)
                                        json_array_set_new(node, idx,
                                                           json_loads(value, JSON_DECODE_ANY,
                                                                      NULL));
                                else
                                        json_array_remove(node, idx);
                                break;
                        }
                        node = json_array_get(node, idx);
                }
                ck_assert_ptr_nonnull(node);
                tok = next;
        }
        s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        out = xstrdup(s);
        free(s);
        free(p);
        json_decref(root);
        return out;
}

static void expect_error(const char *json, const char *msg)
{
        struct error err = { "" };
        struct job *job = (struct job *)1;

        ck_assert_int_eq(job_parse(&job, json, strlen(json), &err), -EINVAL);
        ck_assert_ptr_null(job);
        ck_assert_str_eq(err.msg, msg);
}

static void expect_with(const char *path, const char *value, const char *msg)
{
        char *json = job_with(path, value);

        expect_error(json, msg);
        free(json);
}

static struct job *parse_ok(const char *json)
{
        struct error err = { "" };
        struct job *job = NULL;
        int r = job_parse(&job, json, strlen(json), &err);

        ck_assert_msg(r == 0, "job_parse failed: %s", err.msg);
        ck_assert_ptr_nonnull(job);
        return job;
}

static void expect_ok_with(const char *path, const char *value)
{
        char *json = job_with(path, value);

        job_free(parse_ok(json));
        free(json);
}

START_TEST(test_valid_full)
{
        struct job *j = parse_ok(full_job);

        ck_assert_int_eq(j->v, 1);
        ck_assert_str_eq(j->campaign, "2026-11-consumer-nl");
        ck_assert_str_eq(j->step, "reminder-1");
        ck_assert_str_eq(j->customer.id, "C-1001");
        ck_assert_str_eq(j->customer.name, "Jan de Vries");
        ck_assert_str_eq(j->customer.locale, "nl-NL");
        ck_assert_str_eq(j->customer.segment, "occasional-late");
        ck_assert_str_eq(j->customer.email, "jan@example.nl");
        ck_assert_str_eq(j->customer.phone, "+31612345678");
        ck_assert(j->customer.has_address);
        ck_assert_uint_eq(j->customer.address.n_lines, 1);
        ck_assert_str_eq(j->customer.address.lines[0], "Dorpsstraat 1");
        ck_assert_ptr_null(j->customer.address.lines[1]);
        ck_assert_str_eq(j->customer.address.postal_code, "1234 AB");
        ck_assert_str_eq(j->customer.address.city, "Utrecht");
        ck_assert_str_eq(j->customer.address.country, "NL");
        ck_assert_int_eq(j->customer.preferred_channel, JOB_CHANNEL_EMAIL);
        ck_assert(j->customer.consent_email);
        ck_assert(!j->customer.consent_sms);
        ck_assert_str_eq(j->customer.timezone, "Europe/Amsterdam");
        ck_assert_uint_eq(j->n_invoices, 1);
        ck_assert_str_eq(j->invoices[0].number, "INV-2026-0042");
        ck_assert_int_eq(j->invoices[0].amount_cents, 123456);
        ck_assert_str_eq(j->invoices[0].currency, "EUR");
        ck_assert_str_eq(j->invoices[0].issued, "2026-10-01");
        ck_assert_str_eq(j->invoices[0].due, "2026-10-31");
        ck_assert_int_eq(j->not_before_ms, INT64_C(1795420800000));
        ck_assert_int_eq(j->attempt, 0);
        ck_assert_str_eq(j->json, full_job);
        ck_assert_int_eq(strlen(j->reminder_id), 18);
        ck_assert_int_eq(strncmp(j->reminder_id, "r-", 2), 0);
        ck_assert_int_eq(strncmp(j->job_id, "j-", 2), 0);
        job_free(j);
}
END_TEST

START_TEST(test_valid_minimal)
{
        const char *json = "{\"v\":1,\"campaign\":\"c\",\"step\":\"s\",\"customer\":{\"id\":\"C1\","
                           "\"name\":\"Zo\xc3\xab \xc3\x87""elik\",\"locale\":\"tr\"},\"invoices\":[{\"number\":\"1\","
                           "\"amount_cents\":1,\"currency\":\"TRY\",\"due\":\"2024-02-29\"}]}";
        struct job *j = parse_ok(json);

        ck_assert_str_eq(j->customer.name, "Zo\xc3\xab \xc3\x87""elik");
        ck_assert_ptr_null(j->customer.email);
        ck_assert_ptr_null(j->customer.phone);
        ck_assert_ptr_null(j->customer.segment);
        ck_assert_ptr_null(j->customer.timezone);
        ck_assert(!j->customer.has_address);
        ck_assert_int_eq(j->customer.preferred_channel, JOB_CHANNEL_NONE);
        ck_assert(j->customer.consent_email);
        ck_assert(j->customer.consent_sms);
        ck_assert_str_eq(j->invoices[0].issued, "");
        ck_assert_int_eq(j->not_before_ms, 0);
        job_free(j);
}
END_TEST

static const struct {
        const char *path, *value, *msg;
} rejects[] = {
        { "v", NULL, "v: required" },
        { "v", "2", "v: must be 1" },
        { "v", "\"1\"", "v: must be 1" },
        { "campaign", NULL, "campaign: required" },
        { "campaign", "7", "campaign: must be a string" },
        { "campaign", "\"a b\"", "campaign: must be 1-64 characters from A-Z a-z 0-9 . _ -" },
        { "campaign", "\"\"", "campaign: must be 1-64 characters from A-Z a-z 0-9 . _ -" },
        { "step", "\"reminder/1\"", "step: must be 1-64 characters from A-Z a-z 0-9 . _ -" },
        { "step", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
          "step: must be 1-64 characters from A-Z a-z 0-9 . _ -" },
        { "customer", NULL, "customer: required" },
        { "customer", "[]", "customer: must be an object" },
        { "customer.id", NULL, "customer.id: required" },
        { "customer.id", "\"C 1\"", "customer.id: must be 1-64 printable characters without spaces" },
        { "customer.name", NULL, "customer.name: required" },
        { "customer.name", "\"\"", "customer.name: must be 1-200 bytes" },
        { "customer.name", "\"Jan\\r\\nBcc: x@evil.example\"",
          "customer.name: must not contain control characters (CR, LF, TAB, ...)" },
        { "customer.name", "\"Jan\\tde Vries\"",
          "customer.name: must not contain control characters (CR, LF, TAB, ...)" },
        { "customer.name", "\"Jan\\u0085\"",
          "customer.name: must not contain control characters (CR, LF, TAB, ...)" },
        { "customer.name", "\"Jan\\u2028\"",
          "customer.name: must not contain control characters (CR, LF, TAB, ...)" },
        { "customer.locale", "\"nl_NL\"", "customer.locale: must be a locale like nl or nl-NL" },
        { "customer.locale", "\"NL\"", "customer.locale: must be a locale like nl or nl-NL" },
        { "customer.locale", "\"nl-nl\"", "customer.locale: must be a locale like nl or nl-NL" },
        { "customer.segment", "\"a b\"", "customer.segment: must be 1-64 characters from A-Z a-z 0-9 . _ -" },
        { "customer.email", "\"jan\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "\"jan@@example.nl\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "\"jan@example\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "\"jan..x@example.nl\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "\".jan@example.nl\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "\"jan @example.nl\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "\"jan@exa_mple.nl\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "\"jan@-example.nl\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "\"jan@example.nl\\r\\nBcc: x@y.z\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "\"jan@1.2\"", "customer.email: not a valid e-mail address" },
        { "customer.email", "5", "customer.email: must be a string" },
        { "customer.phone", "\"0612345678\"", "customer.phone: not a valid E.164 number" },
        { "customer.phone", "\"+31 6 12345678\"", "customer.phone: not a valid E.164 number" },
        { "customer.phone", "\"+0612345678\"", "customer.phone: not a valid E.164 number" },
        { "customer.phone", "\"+3161234\"", "customer.phone: not a valid E.164 number" },
        { "customer.phone", "\"+3161234567890123\"", "customer.phone: not a valid E.164 number" },
        { "customer.address", "\"Dorpsstraat 1\"", "customer.address: must be an object" },
        { "customer.address.lines", NULL, "customer.address.lines: required" },
        { "customer.address.lines", "[]", "customer.address.lines: must be an array of 1 to 4 lines" },
        { "customer.address.lines", "[\"a\",\"b\",\"c\",\"d\",\"e\"]",
          "customer.address.lines: must be an array of 1 to 4 lines" },
        { "customer.address.lines", "[\"a\",\"\"]",
          "customer.address.lines[1]: must be 1-100 characters of UTF-8 text without control characters" },
        { "customer.address.lines", "[\"a\\nb\"]",
          "customer.address.lines[0]: must be 1-100 characters of UTF-8 text without control characters" },
        { "customer.address.lines", "[1]", "customer.address.lines[0]: must be a string" },
        { "customer.address.postal_code", NULL, "customer.address.postal_code: required" },
        { "customer.address.city", "\"\"",
          "customer.address.city: must be 1-100 characters of UTF-8 text without control characters" },
        { "customer.address.country", "\"nl\"",
          "customer.address.country: not an ISO 3166-1 alpha-2 country code (upper case, e.g. NL)" },
        { "customer.address.country", "\"XX\"",
          "customer.address.country: not an ISO 3166-1 alpha-2 country code (upper case, e.g. NL)" },
        { "customer.address.country", "\"NLD\"",
          "customer.address.country: not an ISO 3166-1 alpha-2 country code (upper case, e.g. NL)" },
        { "customer.preferred_channel", "\"fax\"", "customer.preferred_channel: must be email, sms or letter" },
        { "customer.consent", "true", "customer.consent: must be an object" },
        { "customer.consent.sms", "\"yes\"", "customer.consent.sms: must be true or false" },
        { "customer.timezone", "\"Europe/Nowhere\"", "customer.timezone: not a known IANA time zone" },
        { "customer.timezone", "\"../../etc/passwd\"", "customer.timezone: not a known IANA time zone" },
        { "customer.timezone", "\"/etc/passwd\"", "customer.timezone: not a known IANA time zone" },
        { "customer.timezone", "\"Europe\"", "customer.timezone: not a known IANA time zone" },
        { "customer.timezone", "\"zone.tab\"", "customer.timezone: not a known IANA time zone" },
        { "invoices", NULL, "invoices: required" },
        { "invoices", "{}", "invoices: must be an array" },
        { "invoices", "[]", "invoices: must contain 1 to 100 invoices" },
        { "invoices[0]", "\"INV-1\"", "invoices[0]: must be an object" },
        { "invoices[0].number", NULL, "invoices[0].number: required" },
        { "invoices[0].number", "\"INV 1\"", "invoices[0].number: must be 1-64 printable characters without spaces" },
        { "invoices[0].number", "42", "invoices[0].number: must be a string" },
        { "invoices[0].amount_cents", NULL, "invoices[0].amount_cents: required" },
        { "invoices[0].amount_cents", "0", "invoices[0].amount_cents: must be a positive integer (minor units)" },
        { "invoices[0].amount_cents", "-5", "invoices[0].amount_cents: must be a positive integer (minor units)" },
        { "invoices[0].amount_cents", "12.5", "invoices[0].amount_cents: must be a positive integer (minor units)" },
        { "invoices[0].amount_cents", "100.0", "invoices[0].amount_cents: must be a positive integer (minor units)" },
        { "invoices[0].amount_cents", "\"1234\"", "invoices[0].amount_cents: must be a positive integer (minor units)" },
        { "invoices[0].amount_cents", "10000000000000", "invoices[0].amount_cents: must be less than 10000000000000" },
        { "invoices[0].currency", "\"eur\"", "invoices[0].currency: not an active ISO 4217 currency code" },
        { "invoices[0].currency", "\"NLG\"", "invoices[0].currency: not an active ISO 4217 currency code" },
        { "invoices[0].currency", "\"XTS\"", "invoices[0].currency: not an active ISO 4217 currency code" },
        { "invoices[0].currency", NULL, "invoices[0].currency: required" },
        { "invoices[0].issued", "\"2026-13-01\"", "invoices[0].issued: not a valid date (YYYY-MM-DD)" },
        { "invoices[0].due", NULL, "invoices[0].due: required" },
        { "invoices[0].due", "\"2026-02-29\"", "invoices[0].due: not a valid date (YYYY-MM-DD)" },
        { "invoices[0].due", "\"1900-02-29\"", "invoices[0].due: not a valid date (YYYY-MM-DD)" },
        { "invoices[0].due", "\"2026-04-31\"", "invoices[0].due: not a valid date (YYYY-MM-DD)" },
        { "invoices[0].due", "\"2026-4-30\"", "invoices[0].due: not a valid date (YYYY-MM-DD)" },
        { "invoices[0].due", "\"2026-04-30T00:00:00Z\"", "invoices[0].due: not a valid date (YYYY-MM-DD)" },
        { "invoices[0].due", "\"31-10-2026\"", "invoices[0].due: not a valid date (YYYY-MM-DD)" },
        { "not_before", "\"2026-11-23 09:00\"",
          "not_before: not a valid RFC 3339 time (e.g. 2026-11-23T09:00:00+01:00)" },
        { "not_before", "\"2026-11-23T09:00:00\"",
          "not_before: not a valid RFC 3339 time (e.g. 2026-11-23T09:00:00+01:00)" },
        { "not_before", "\"1969-12-31T23:00:00Z\"", "not_before: must be after 1970-01-01T00:00:00Z" },
        { "attempt", "-1", "attempt: must be an integer >= 0" },
        { "attempt", "\"2\"", "attempt: must be an integer >= 0" },
        { "flow", "\"bad name\"", "flow: must be 1-64 characters from A-Z a-z 0-9 . _ -" },
        { "flow", "3", "flow: must be 1-64 characters from A-Z a-z 0-9 . _ -" },
};

START_TEST(test_reject_field)
{
        expect_with(rejects[_i].path, rejects[_i].value, rejects[_i].msg);
}
END_TEST

static const struct {
        const char *path, *value;
} accepts[] = {
        { "customer.locale", "\"en\"" },
        { "customer.email", "\"o'brien+dunning@mail.example.co.uk\"" },
        { "customer.email", "null" },
        { "customer.phone", "\"+3197012345678\"" },
        { "customer.phone", "\"+12025550123\"" },
        { "customer.address.lines", "[\"Dorpsstraat 1\",\"t.a.v. Zo\xc3\xab\",\"c\",\"d\"]" },
        { "customer.address.country", "\"BE\"" },
        { "customer.consent", "{\"email\":false}" },
        { "customer.timezone", "\"America/Argentina/Buenos_Aires\"" },
        { "customer.timezone", "\"UTC\"" },
        { "invoices[0].amount_cents", "9999999999999" },
        { "invoices[0].currency", "\"CHF\"" },
        { "invoices[0].due", "\"2024-02-29\"" },
        { "invoices[0].due", "\"2000-02-29\"" },
        { "invoices[0].issued", NULL },
        { "not_before", NULL },
        { "not_before", "\"2026-11-23T08:00:00.123456Z\"" },
        { "attempt", "3" },
        { "flow", "\"structural-late\"" },
};

START_TEST(test_accept_field)
{
        expect_ok_with(accepts[_i].path, accepts[_i].value);
}
END_TEST

START_TEST(test_invoice_set_rules)
{
        const char *two_eur = "[{\"number\":\"A\",\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-01-01\"},"
                              "{\"number\":\"B\",\"amount_cents\":2,\"currency\":\"EUR\",\"due\":\"2026-01-01\"}]";
        const char *dup = "[{\"number\":\"A\",\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-01-01\"},"
                          "{\"number\":\"B\",\"amount_cents\":2,\"currency\":\"EUR\",\"due\":\"2026-01-01\"},"
                          "{\"number\":\"A\",\"amount_cents\":3,\"currency\":\"EUR\",\"due\":\"2026-01-01\"}]";
        const char *mixed = "[{\"number\":\"A\",\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-01-01\"},"
                            "{\"number\":\"B\",\"amount_cents\":2,\"currency\":\"USD\",\"due\":\"2026-01-01\"}]";
        const char *bad_second = "[{\"number\":\"A\",\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-01-01\"},"
                                 "{\"number\":\"B\",\"amount_cents\":-2,\"currency\":\"EUR\",\"due\":\"2026-01-01\"}]";
        struct buf many = BUF_INIT;

        expect_ok_with("invoices", two_eur);
        expect_with("invoices", dup, "invoices[2].number: duplicate of invoices[0]");
        expect_with("invoices", mixed, "invoices[1].currency: differs from invoices[0] (one currency per job)");
        expect_with("invoices", bad_second,
                    "invoices[1].amount_cents: must be a positive integer (minor units)");

        buf_putc(&many, '[');
        for (int i = 0; i < 101; i++)
                buf_printf(&many, "%s{\"number\":\"N%d\",\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-01-01\"}",
                           i ? "," : "", i);
        buf_putc(&many, ']');
        expect_with("invoices", many.data, "invoices: must contain 1 to 100 invoices");
        buf_free(&many);
}
END_TEST

START_TEST(test_error_order)
{
        /* the first error in the fixed order is reported */
        const char *json = "{\"v\":1,\"campaign\":\"c\",\"step\":\"bad step\",\"customer\":{\"id\":\"C\","
                           "\"name\":\"N\",\"locale\":\"xx_YY\"},\"invoices\":[]}";

        expect_error(json, "step: must be 1-64 characters from A-Z a-z 0-9 . _ -");
}
END_TEST

START_TEST(test_unknown_fields_kept)
{
        char *json = job_with("customer.loyalty", "{\"tier\":\"gold\"}");
        struct job *j = parse_ok(json);

        ck_assert_ptr_nonnull(strstr(j->json, "\"loyalty\":{\"tier\":\"gold\"}"));
        ck_assert_ptr_nonnull(strstr(j->json, "\"x-erp\":{\"ref\":42}"));
        job_free(j);
        free(json);
}
END_TEST

static struct job *job_of(const char *campaign, const char *step, const char *invoices)
{
        char json[2048];

        snprintf(json, sizeof(json),
                 "{\"v\":1,\"campaign\":\"%s\",\"step\":\"%s\",\"customer\":{\"id\":\"C\",\"name\":\"N\","
                 "\"locale\":\"nl\"},\"invoices\":%s}",
                 campaign, step, invoices);
        return parse_ok(json);
}

START_TEST(test_ids)
{
        const char *ab = "[{\"number\":\"INV-1\",\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-01-01\"},"
                         "{\"number\":\"INV-2\",\"amount_cents\":2,\"currency\":\"EUR\",\"due\":\"2026-01-01\"}]";
        const char *ba = "[{\"number\":\"INV-2\",\"amount_cents\":2,\"currency\":\"EUR\",\"due\":\"2026-01-01\"},"
                         "{\"number\":\"INV-1\",\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-01-01\"}]";
        struct job *j1 = job_of("camp", "reminder-1", ab);
        struct job *j2 = job_of("camp", "reminder-1", ba);
        struct job *j3 = job_of("camp", "reminder-2", ab);
        struct job *j4 = job_of("other", "reminder-1", ba);
        const char *nums[] = { "INV-2", "INV-1" };
        char id[19];

        /* pinned: sha256("reminder-1\0INV-1\0INV-2"), sha256("camp\0reminder-1\0INV-1\0INV-2") */
        ck_assert_str_eq(j1->reminder_id, "r-da0fa74894ca87fa");
        ck_assert_str_eq(j1->job_id, "j-836a4d6ce201ad69");
        ck_assert_str_eq(j1->reminder_id, j2->reminder_id);
        ck_assert_str_eq(j1->job_id, j2->job_id);
        ck_assert_str_ne(j1->reminder_id, j3->reminder_id);
        ck_assert_str_ne(j1->job_id, j3->job_id);
        ck_assert_str_eq(j1->reminder_id, j4->reminder_id);
        ck_assert_str_ne(j1->job_id, j4->job_id);

        job_reminder_id(id, "reminder-1", nums, 2);
        ck_assert_str_eq(id, "r-da0fa74894ca87fa");
        job_id(id, "camp", "reminder-1", nums, 2);
        ck_assert_str_eq(id, "j-836a4d6ce201ad69");
        /* the separator matters: ("ab","c") is not ("a","bc") */
        {
                const char *x[] = { "ab" }, *y[] = { "b" };
                char id1[19], id2[19];
                job_reminder_id(id1, "s", x, 1);
                job_reminder_id(id2, "sa", y, 1);
                ck_assert_str_ne(id1, id2);
        }
        job_free(j1);
        job_free(j2);
        job_free(j3);
        job_free(j4);
}
END_TEST

START_TEST(test_oversized)
{
        size_t len = JOB_MAX_BYTES + 100;
        char *big = xmalloc(len + 1);
        struct error err = { "" };
        struct job *job = NULL;
        char *pad;

        memset(big, ' ', len);
        memcpy(big, full_job, strlen(full_job));
        big[len] = '\0';
        ck_assert_int_eq(job_parse(&job, big, len, &err), -EINVAL);
        ck_assert_ptr_null(job);
        ck_assert_str_eq(err.msg, "job: larger than 65536 bytes (65636)");
        free(big);

        /* just under the limit is fine */
        pad = job_with("padding", "\"\"");
        {
                struct buf b = BUF_INIT;
                size_t base = strlen(pad);
                buf_append(&b, pad, base - 2);   /* without the closing quote and brace */
                while (b.len < JOB_MAX_BYTES - 2)
                        buf_putc(&b, 'x');
                buf_puts(&b, "\"}");
                ck_assert_uint_eq(b.len, JOB_MAX_BYTES);
                job_free(parse_ok(b.data));
                buf_free(&b);
        }
        free(pad);
}
END_TEST

START_TEST(test_garbage)
{
        struct error err = { "" };
        struct job *job = NULL;

        expect_error("", "job: not valid JSON at line 1 column 0: '[' or '{' expected near end of file");
        expect_error("hello", "job: not valid JSON at line 1 column 5: '[' or '{' expected near 'hello'");
        expect_error("{\"v\":1,", "job: not valid JSON at line 1 column 7: string or '}' expected near end of file");
        expect_error("{\"v\":1,\"v\":1}", "job: not valid JSON at line 1 column 10: duplicate object key near '\"v\"'");
        expect_error("[1,2]", "job: not valid JSON at line 1 column 1: '{' expected, found an array");
        expect_error("{}", "v: required");
        expect_error("{\"v\":1}", "campaign: required");
        /* every prefix of a valid job fails cleanly */
        for (size_t n = 0; n < strlen(full_job); n++) {
                ck_assert_int_eq(job_parse(&job, full_job, n, &err), -EINVAL);
                ck_assert_ptr_null(job);
        }
        ck_assert_int_eq(job_parse(&job, NULL, 0, &err), -EINVAL);
}
END_TEST

START_TEST(test_non_utf8_name)
{
        char *json = job_with("customer.name", "\"Zo@@\"");
        char *p = strstr(json, "Zo@@");
        struct error err = { "" };
        struct job *job = NULL;

        p[2] = (char)0xeb;   /* Latin-1 e-diaeresis, as an old ERP would write it */
        p[3] = ' ';
        ck_assert_int_eq(job_parse(&job, json, strlen(json), &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "job: not valid JSON at line 1 column "));
        ck_assert_ptr_nonnull(strstr(err.msg, "unable to decode byte 0xeb"));
        free(json);

        ck_assert(job_utf8_valid("Zo\xc3\xab \xc3\x87""elik", 11));
        ck_assert(!job_utf8_valid("Zo\xeb", 3));
        ck_assert(!job_utf8_valid("\xc0\xaf", 2));          /* overlong */
        ck_assert(!job_utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
        ck_assert(!job_utf8_valid("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
        ck_assert(!job_utf8_valid("\xe2\x82", 2));          /* truncated */
        ck_assert(job_utf8_valid("\xf0\x9f\x92\xb6", 4));
}
END_TEST

START_TEST(test_parse_time)
{
        static const struct {
                const char *s;
                int64_t ms;
        } ok[] = {
                { "2026-11-23T09:00:00+01:00", INT64_C(1795420800000) },
                { "2026-11-23T08:00:00Z", INT64_C(1795420800000) },
                { "2026-11-23t08:00:00z", INT64_C(1795420800000) },
                { "2026-11-23T03:30:00-04:30", INT64_C(1795420800000) },
                { "2026-11-23T08:00:00.5Z", INT64_C(1795420800500) },
                { "2026-11-23T08:00:00.123456789Z", INT64_C(1795420800123) },
                { "1970-01-01T00:00:00Z", 0 },
                { "2024-02-29T12:00:00+00:00", INT64_C(1709208000000) },
                { "2026-01-01T00:30:00+01:00", INT64_C(1767223800000) },
        };
        static const char *const bad[] = {
                "", "2026-11-23", "2026-11-23T09:00:00", "2026-11-23T09:00Z", "2026-11-23T24:00:00Z",
                "2026-11-23T09:60:00Z", "2026-11-23T09:00:60Z", "2026-02-29T09:00:00Z",
                "2026-11-23T09:00:00+1:00", "2026-11-23T09:00:00+01", "2026-11-23T09:00:00+24:00",
                "2026-11-23T09:00:00.Z", "2026-11-23T09:00:00Z ", "2026-11-23X09:00:00Z",
                "+2026-11-23T09:00:00Z", "2026-11-23T09:00:00+01:00x",
        };
        int64_t ms;

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                ms = -1;
                ck_assert_msg(job_parse_time(ok[i].s, &ms) == 0, "%s", ok[i].s);
                ck_assert_msg(ms == ok[i].ms, "%s: %lld", ok[i].s, (long long)ms);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(job_parse_time(bad[i], &ms) == -EINVAL, "%s", bad[i]);
        ck_assert_int_eq(job_parse_time(NULL, &ms), -EINVAL);
}
END_TEST

START_TEST(test_parse_time_ignores_tz_env)
{
        int64_t a, b;

        setenv("TZ", "America/New_York", 1);
        ck_assert_int_eq(job_parse_time("2026-07-01T12:00:00+02:00", &a), 0);
        setenv("TZ", "Asia/Tokyo", 1);
        ck_assert_int_eq(job_parse_time("2026-07-01T12:00:00+02:00", &b), 0);
        unsetenv("TZ");
        ck_assert_int_eq(a, b);
        ck_assert_int_eq(a, INT64_C(1782900000000));
}
END_TEST

START_TEST(test_format_time)
{
        char out[32];

        ck_assert_str_eq(job_format_time(INT64_C(1795420800000), out), "2026-11-23T08:00:00Z");
        ck_assert_str_eq(job_format_time(INT64_C(1795420800123), out), "2026-11-23T08:00:00.123Z");
}
END_TEST

START_TEST(test_nul_byte_refused)
{
        /* Found by tests/fuzz/fuzz-job.c: jansson loads a NUL after a
         * number, but the kept text ends there, so the job's retry text
         * (job_json_with_attempt) was NULL. */
        struct error err = { "" };
        struct job *job = NULL;
        char *text = xstrdup(full_job);
        size_t len = strlen(text);
        char *at = strstr(text, "123456,");

        at[6] = '\0';
        ck_assert_int_eq(job_parse(&job, text, len, &err), -EINVAL);
        ck_assert_ptr_null(job);
        ck_assert_str_eq(err.msg, "job: contains a NUL byte");
        free(text);
}
END_TEST

START_TEST(test_json_with_attempt)
{
        struct job *j = parse_ok(full_job), *j2;
        char *s = job_json_with_attempt(j, 3), *s2;

        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_nonnull(strstr(s, ",\"attempt\":3}"));
        ck_assert_int_eq(strncmp(s, "{\"v\":1,\"campaign\":", 18), 0);
        ck_assert_ptr_nonnull(strstr(s, "\"x-erp\":{\"ref\":42}"));
        j2 = parse_ok(s);
        ck_assert_int_eq(j2->attempt, 3);
        ck_assert_str_eq(j2->job_id, j->job_id);
        s2 = job_json_with_attempt(j2, 4);
        ck_assert_ptr_nonnull(strstr(s2, ",\"attempt\":4}"));
        ck_assert_ptr_null(strstr(s2, "\"attempt\":3"));
        free(s);
        free(s2);
        job_free(j);
        job_free(j2);
}
END_TEST

/* A job that comes back to the same step (parked by a hold, put off to
 * the best hour) still skips the channels that did not reach the
 * customer; the next step of the flow starts with every channel. */
START_TEST(test_json_later_keeps_skip)
{
        char *json = job_with("skip_channels", "[\"sms\"]");
        struct job *j, *later, *next;
        char *s, *again, *n;

        /* an SMS that did not arrive, and two tries of the e-mail since */
        j = parse_ok(json);
        s = job_json_with_attempt(j, 2);
        job_free(j);
        j = parse_ok(s);
        free(s);
        ck_assert(j->skip[JOB_CHANNEL_SMS]);
        ck_assert_int_eq(j->attempt, 2);

        s = job_json_later(j, INT64_C(1795420800000));
        ck_assert_ptr_nonnull(s);
        later = parse_ok(s);
        ck_assert(later->skip[JOB_CHANNEL_SMS]);
        ck_assert(!later->skip[JOB_CHANNEL_EMAIL]);
        ck_assert_int_eq(later->attempt, 0);
        ck_assert_ptr_null(strstr(s, "\"attempt\""));
        ck_assert_str_eq(later->step, "reminder-1");
        ck_assert_str_eq(later->reminder_id, j->reminder_id);
        ck_assert_int_eq(later->not_before_ms, INT64_C(1795420800000));
        ck_assert_ptr_nonnull(strstr(s, "\"x-erp\":{\"ref\":42}"));
        /* the same text every time: a hold's release moves it by its text */
        again = job_json_later(j, INT64_C(1795420800000));
        ck_assert_str_eq(again, s);

        n = job_json_for_step(j, "reminder-2", INT64_C(1795420800000), NULL);
        ck_assert_ptr_nonnull(n);
        next = parse_ok(n);
        ck_assert(!next->skip[JOB_CHANNEL_SMS]);
        ck_assert_ptr_null(strstr(n, "skip_channels"));
        ck_assert_int_eq(next->attempt, 0);
        ck_assert_str_eq(next->step, "reminder-2");

        ck_assert_ptr_null(job_json_later(NULL, 0));
        job_free(next);
        job_free(later);
        job_free(j);
        free(n);
        free(again);
        free(s);
        free(json);
}
END_TEST

/* "rate_slot" is a provider slot a worker reserved for one attempt of a
 * job (ratelimit.h). A job from outside (the importer's rewrite) has none,
 * and a job whose attempt is set anew (a retry, a retried dead letter) no
 * longer holds the one it had. */
START_TEST(test_json_drops_rate_slot)
{
        static const char text[] = "{\"v\":1,\"rate_slot\":\"sms|1795420800000|reminder-1|0\","
                                   "\"step\":\"reminder-1\"}";
        char *json = job_with("rate_slot", "\"sms|1795420800000|reminder-1|0\"");
        struct job *j = parse_ok(json);
        char *s;

        s = job_json_rewrite(text, strlen(text), 0, NULL);
        ck_assert_str_eq(s, "{\"v\":1,\"step\":\"reminder-1\"}");
        free(s);
        s = job_json_with_attempt(j, 0);
        ck_assert_ptr_null(strstr(s, "rate_slot"));
        ck_assert_ptr_nonnull(strstr(s, ",\"attempt\":0}"));
        free(s);
        job_free(j);
        free(json);
}
END_TEST

START_TEST(test_json_rewrite_and_split)
{
        char *s = job_json_rewrite("{ \"a\" : 1,\n \"not_before\": \"x\", \"b\": [1, 2] }", 44, 0, NULL);
        struct error err = { "" };
        char **elems;
        size_t n;

        ck_assert_str_eq(s, "{\"a\":1,\"not_before\":\"x\",\"b\":[1,2]}");
        free(s);
        s = job_json_rewrite("{\"a\":1}", 7, INT64_C(1795420800000), NULL);
        ck_assert_str_eq(s, "{\"a\":1,\"not_before\":\"2026-11-23T08:00:00Z\"}");
        free(s);
        ck_assert_ptr_null(job_json_rewrite("[1]", 3, 0, NULL));
        ck_assert_ptr_null(job_json_rewrite("{", 1, 0, NULL));

        ck_assert_int_eq(job_json_split_array(&elems, &n, "[ {\"a\": 1}, 2, \"x\" ]", 20, &err), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(elems[0], "{\"a\":1}");
        ck_assert_str_eq(elems[1], "2");
        ck_assert_str_eq(elems[2], "\"x\"");
        for (size_t i = 0; i < n; i++)
                free(elems[i]);
        free(elems);
        ck_assert_int_eq(job_json_split_array(&elems, &n, "{}", 2, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "not a JSON array");
        ck_assert_int_eq(job_json_split_array(&elems, &n, "[1,", 3, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "not valid JSON at line 1 column"));
}
END_TEST

START_TEST(test_channel_names)
{
        ck_assert_str_eq(job_channel_name(JOB_CHANNEL_SMS), "sms");
        ck_assert_int_eq(job_channel_from_name("letter"), JOB_CHANNEL_LETTER);
        ck_assert_int_eq(job_channel_from_name("fax"), JOB_CHANNEL_NONE);
        ck_assert_int_eq(job_channel_from_name(NULL), JOB_CHANNEL_NONE);
        job_free(NULL);
}
END_TEST

static Suite *job_suite(void)
{
        Suite *s = suite_create("job");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_valid_full);
        tcase_add_test(tc, test_valid_minimal);
        tcase_add_loop_test(tc, test_reject_field, 0, sizeof(rejects) / sizeof(rejects[0]));
        tcase_add_loop_test(tc, test_accept_field, 0, sizeof(accepts) / sizeof(accepts[0]));
        tcase_add_test(tc, test_invoice_set_rules);
        tcase_add_test(tc, test_error_order);
        tcase_add_test(tc, test_unknown_fields_kept);
        tcase_add_test(tc, test_ids);
        tcase_add_test(tc, test_oversized);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_non_utf8_name);
        tcase_add_test(tc, test_parse_time);
        tcase_add_test(tc, test_parse_time_ignores_tz_env);
        tcase_add_test(tc, test_format_time);
        tcase_add_test(tc, test_nul_byte_refused);
        tcase_add_test(tc, test_json_with_attempt);
        tcase_add_test(tc, test_json_later_keeps_skip);
        tcase_add_test(tc, test_json_rewrite_and_split);
        tcase_add_test(tc, test_json_drops_rate_slot);
        tcase_add_test(tc, test_channel_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(job_suite());
}
