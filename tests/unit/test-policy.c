/* test-policy.c: channel choice, table-driven. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "policy.h"
#include "unit.h"

static struct job *make(const char *customer_extra)
{
        char json[2048];
        snprintf(json, sizeof(json),
                 "{\"v\":1,\"campaign\":\"c\",\"step\":\"reminder-1\",\"customer\":{\"id\":\"C-1\","
                 "\"name\":\"Jan\",\"locale\":\"nl-NL\"%s},\"invoices\":[{\"number\":\"INV-1\","
                 "\"amount_cents\":1000,\"currency\":\"EUR\",\"due\":\"2026-10-31\"}]}",
                 customer_extra);
        struct job *job = NULL;
        struct error err;
        int rc = job_parse(&job, json, strlen(json), &err);
        ck_assert_msg(rc == 0, "%s: %s", json, err.msg);
        return job;
}

#define EMAIL ",\"email\":\"jan@example.nl\""
#define PHONE ",\"phone\":\"+31612345678\""
#define ADDR ",\"address\":{\"lines\":[\"Dorpsstraat 1\"],\"postal_code\":\"1234 AB\",\"city\":\"Utrecht\",\"country\":\"NL\"}"

static const struct {
        const char *customer;
        const char *order;      /* channel initials in order, "" = none */
        const char *reason;
} cases[] = {
        { EMAIL PHONE ADDR ",\"preferred_channel\":\"sms\"", "sel", "preferred channel sms" },
        { EMAIL PHONE ADDR ",\"preferred_channel\":\"letter\"", "les", "preferred channel letter" },
        { EMAIL PHONE ADDR, "esl", "no preferred channel; email is the first with contact data" },
        { PHONE ADDR ",\"preferred_channel\":\"email\"", "sl",
          "preferred channel email has no e-mail address or consent; using sms" },
        { EMAIL PHONE ",\"preferred_channel\":\"sms\",\"consent\":{\"sms\":false}", "e",
          "preferred channel sms has no phone number or consent; using email" },
        { EMAIL ",\"preferred_channel\":\"letter\"", "e",
          "preferred channel letter has no postal address; using email" },
        { ADDR, "l", "no preferred channel; letter is the first with contact data" },
        { EMAIL ",\"consent\":{\"email\":false}", "", "no channel has contact data" },
        { "", "", "no channel has contact data" },
};

START_TEST(test_choice)
{
        struct job *job = make(cases[_i].customer);
        struct policy_decision d;
        policy_choose(job, NULL, 0, &d);
        char got[8] = "";
        for (size_t k = 0; k < d.n; k++)
                got[k] = job_channel_name(d.order[k])[0];
        ck_assert_str_eq(got, cases[_i].order);
        ck_assert_str_eq(d.reason, cases[_i].reason);
        job_free(job);
}
END_TEST

START_TEST(test_skip_channels)
{
        /* An SMS that was not delivered: the reminder goes on by another
         * channel even though the customer prefers SMS; the skip survives
         * the round trip through the job text. */
        struct job *job = make(EMAIL PHONE ADDR ",\"preferred_channel\":\"sms\"");
        char *again = job_json_with_skip(job, JOB_CHANNEL_SMS);
        ck_assert_ptr_nonnull(again);
        ck_assert_ptr_nonnull(strstr(again, "\"skip_channels\":[\"sms\"]"));
        struct job *next = NULL;
        struct error err;
        ck_assert_int_eq(job_parse(&next, again, strlen(again), &err), 0);
        struct policy_decision d;
        policy_choose(next, NULL, 0, &d);
        ck_assert_int_eq(d.n, 2);
        ck_assert_int_eq(d.order[0], JOB_CHANNEL_EMAIL);
        ck_assert_int_eq(d.order[1], JOB_CHANNEL_LETTER);
        ck_assert_str_eq(d.reason, "preferred channel sms has not reached it before; using email");
        /* Skipping e-mail too keeps both. */
        char *third = job_json_with_skip(next, JOB_CHANNEL_EMAIL);
        ck_assert_ptr_nonnull(strstr(third, "\"skip_channels\":[\"email\",\"sms\"]"));
        ck_assert_ptr_nonnull(strstr(third, "\"attempt\":0"));
        free(again);
        free(third);
        job_free(next);
        job_free(job);
        /* A bad list names the field. */
        const char *bad = "{\"v\":1,\"campaign\":\"c\",\"step\":\"s\",\"customer\":{\"id\":\"C\","
                          "\"name\":\"J\",\"locale\":\"nl-NL\"},\"invoices\":[{\"number\":\"I\","
                          "\"amount_cents\":1,\"currency\":\"EUR\",\"due\":\"2026-10-31\"}],"
                          "\"skip_channels\":[\"fax\"]}";
        ck_assert_int_lt(job_parse(&next, bad, strlen(bad), &err), 0);
        ck_assert_str_eq(err.msg, "skip_channels: must be a list of email, sms, letter");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_skip_channels);
        tcase_add_loop_test(tc, test_choice, 0, sizeof(cases) / sizeof(cases[0]));
        suite_add_tcase(s, tc);
        return unit_run(s);
}
