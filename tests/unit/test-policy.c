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

int main(void)
{
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("core");
        tcase_add_loop_test(tc, test_choice, 0, sizeof(cases) / sizeof(cases[0]));
        suite_add_tcase(s, tc);
        return unit_run(s);
}
