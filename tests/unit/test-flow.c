/* test-flow.c: escalation flows (flow.c): which flow a segment has, which
 * step comes next and when, the job text of the next step, and the policy
 * kept to a step's channels. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "job.h"
#include "policy.h"
#include "unit.h"

#define DAY_MS (86400 * INT64_C(1000))

static struct config_flow_step def_steps[] = {
        { .step = "reminder-1", .after_due_days = 3, .after_previous_days = -1,
          .channel_mask = 1u << JOB_CHANNEL_EMAIL | 1u << JOB_CHANNEL_SMS },
        { .step = "reminder-2", .after_due_days = -1, .after_previous_days = 7 },
        { .step = "final-notice", .after_due_days = -1, .after_previous_days = 7,
          .channel_mask = 1u << JOB_CHANNEL_LETTER | 1u << JOB_CHANNEL_EMAIL },
        { .step = "handover", .after_due_days = -1, .after_previous_days = 14, .handover = true },
};
static struct config_flow_step late_steps[] = {
        { .step = "reminder-1", .after_due_days = -1, .after_previous_days = -1,
          .channel_mask = 1u << JOB_CHANNEL_SMS },
        { .step = "reminder-2", .after_due_days = 40, .after_previous_days = -1 },
};
static struct config_flow flows[] = {
        { .segment = "default", .steps = def_steps, .n_steps = 4 },
        { .segment = "structural-late", .steps = late_steps, .n_steps = 2 },
};

static struct config flow_config(void)
{
        struct config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.policy.seed = 1;
        cfg.policy.segment_weight = 3.0;
        cfg.policy.cost_cents[JOB_CHANNEL_SMS] = 8;
        cfg.policy.cost_cents[JOB_CHANNEL_LETTER] = 100;
        cfg.policy.final_notice_email = true;
        cfg.flows = flows;
        cfg.n_flows = 2;
        return cfg;
}

static struct job *make_job(const char *step, const char *extra)
{
        char json[2048];
        snprintf(json, sizeof(json),
                 "{\"v\":1,\"campaign\":\"c\",\"step\":\"%s\",\"customer\":{\"id\":\"C-1\","
                 "\"name\":\"Jan\",\"locale\":\"de-DE\",\"email\":\"jan@example.de\","
                 "\"phone\":\"+4915112345678\",\"preferred_channel\":\"letter\","
                 "\"address\":{\"lines\":[\"Hauptstr. 1\"],\"postal_code\":\"10115\","
                 "\"city\":\"Berlin\",\"country\":\"DE\"}},\"invoices\":[{\"number\":\"INV-2\","
                 "\"amount_cents\":1000,\"currency\":\"EUR\",\"due\":\"2026-11-01\"},"
                 "{\"number\":\"INV-1\",\"amount_cents\":500,\"currency\":\"EUR\","
                 "\"due\":\"2026-10-31\"}]%s}",
                 step, extra);
        struct job *job = NULL;
        struct error err;
        ck_assert_msg(job_parse(&job, json, strlen(json), &err) == 0, "%s", err.msg);
        return job;
}

static int64_t ms(const char *rfc3339)
{
        int64_t t = 0;
        ck_assert_int_eq(job_parse_time(rfc3339, &t), 0);
        return t;
}

START_TEST(test_flow_of)
{
        struct config cfg = flow_config();
        ck_assert_ptr_eq(flow_of(&cfg, "structural-late"), &flows[1]);
        ck_assert_ptr_eq(flow_of(&cfg, "on-time"), &flows[0]);
        ck_assert_ptr_eq(flow_of(&cfg, NULL), &flows[0]);
        size_t i = 9;
        ck_assert_ptr_eq(flow_step_of(&cfg, "x", "final-notice", &i), &def_steps[2]);
        ck_assert_uint_eq(i, 2);
        ck_assert_ptr_null(flow_step_of(&cfg, "x", "welcome", NULL));
        ck_assert_ptr_null(flow_step_of(&cfg, "structural-late", "final-notice", NULL));
        /* no flows at all */
        struct config none;
        memset(&none, 0, sizeof(none));
        ck_assert_ptr_null(flow_of(&none, "x"));
        ck_assert_ptr_null(flow_step_of(&none, "x", "reminder-1", NULL));
        ck_assert(flow_allows(&none, "x", "reminder-1", JOB_CHANNEL_LETTER));
        /* a flow with only a segment of its own: others have none */
        struct config own = cfg;
        own.flows = &flows[1];
        own.n_flows = 1;
        ck_assert_ptr_null(flow_of(&own, "new"));
}
END_TEST

START_TEST(test_allows)
{
        struct config cfg = flow_config();
        ck_assert(flow_allows(&cfg, "new", "reminder-1", JOB_CHANNEL_EMAIL));
        ck_assert(flow_allows(&cfg, "new", "reminder-1", JOB_CHANNEL_SMS));
        ck_assert(!flow_allows(&cfg, "new", "reminder-1", JOB_CHANNEL_LETTER));
        /* no channels named: any */
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                ck_assert(flow_allows(&cfg, "new", "reminder-2", (enum job_channel)ch));
        ck_assert(!flow_allows(&cfg, "structural-late", "reminder-1", JOB_CHANNEL_EMAIL));
        /* a step outside the flow is not restricted */
        ck_assert(flow_allows(&cfg, "new", "welcome", JOB_CHANNEL_LETTER));
}
END_TEST

START_TEST(test_next)
{
        struct config cfg = flow_config();
        struct job *job = make_job("reminder-1", ",\"not_before\":\"2026-11-03T09:00:00Z\"");
        int64_t due = 0, own = ms("2026-11-03T09:00:00Z");

        const struct config_flow_step *next = flow_next(&cfg, "new", job, own, &due);
        ck_assert_ptr_eq(next, &def_steps[1]);
        ck_assert_int_eq(due, own + 7 * DAY_MS);
        job_free(job);

        /* the last message step: the handover follows, 14 days later */
        job = make_job("final-notice", "");
        next = flow_next(&cfg, "new", job, own, &due);
        ck_assert_ptr_eq(next, &def_steps[3]);
        ck_assert_int_eq(due, own + 14 * DAY_MS);
        job_free(job);

        /* the handover is the end */
        job = make_job("handover", "");
        ck_assert_ptr_null(flow_next(&cfg, "new", job, own, &due));
        job_free(job);
        /* not in a flow */
        job = make_job("welcome", "");
        ck_assert_ptr_null(flow_next(&cfg, "new", job, own, &due));
        job_free(job);

        /* after the due date: the earliest invoice's (2026-10-31) + 40
         * days, 00:00 where the customer lives; never before this step's
         * own time */
        job = make_job("reminder-1", "");
        next = flow_next(&cfg, "structural-late", job, own, &due);
        ck_assert_ptr_eq(next, &late_steps[1]);
        ck_assert_int_eq(due, ms("2026-12-10T00:00:00Z"));      /* no zone known: UTC */
        cfg.default_timezone = "Europe/Amsterdam";
        flow_next(&cfg, "structural-late", job, own, &due);
        ck_assert_int_eq(due, ms("2026-12-10T00:00:00+01:00"));
        int64_t late = ms("2026-12-20T10:00:00Z");
        flow_next(&cfg, "structural-late", job, late, &due);
        ck_assert_int_eq(due, late);
        job_free(job);
        /* the job's own zone first */
        {
                const char *ny = "{\"v\":1,\"campaign\":\"c\",\"step\":\"reminder-1\","
                                 "\"customer\":{\"id\":\"C-1\",\"name\":\"Jan\","
                                 "\"locale\":\"en-US\",\"email\":\"jan@example.com\","
                                 "\"timezone\":\"America/New_York\"},\"invoices\":[{\"number\":"
                                 "\"INV-1\",\"amount_cents\":500,\"currency\":\"USD\","
                                 "\"due\":\"2026-10-31\"}]}";
                struct error err;
                ck_assert_msg(job_parse(&job, ny, strlen(ny), &err) == 0, "%s", err.msg);
        }
        ck_assert_str_eq(job->customer.timezone, "America/New_York");
        flow_next(&cfg, "structural-late", job, own, &due);
        ck_assert_int_eq(due, ms("2026-12-10T00:00:00-05:00"));
        job_free(job);
}
END_TEST

START_TEST(test_next_job_text)
{
        struct job *job = make_job("reminder-1", ",\"attempt\":3,\"skip_channels\":[\"sms\"],"
                                                 "\"holdout\":0.1,\"x-erp\":\"kept\"");
        int64_t due = ms("2026-11-10T09:00:00Z");
        char *a = job_json_for_step(job, "reminder-2", due, "new");
        char *b = job_json_for_step(job, "reminder-2", due, "new");
        ck_assert_ptr_nonnull(a);
        /* the same inputs, the same bytes: one entry in the scheduled set */
        ck_assert_str_eq(a, b);
        ck_assert_ptr_null(strstr(a, "attempt"));
        ck_assert_ptr_null(strstr(a, "skip_channels"));
        ck_assert_ptr_nonnull(strstr(a, "\"x-erp\":\"kept\""));
        /* the flow that scheduled it goes with it */
        ck_assert_ptr_nonnull(strstr(a, "\"flow\":\"new\""));
        struct job *next = NULL;
        struct error err;
        ck_assert_int_eq(job_parse(&next, a, strlen(a), &err), 0);
        ck_assert_str_eq(next->step, "reminder-2");
        ck_assert_int_eq(next->not_before_ms, due);
        ck_assert_int_eq(next->attempt, 0);
        ck_assert(!next->skip[JOB_CHANNEL_SMS]);
        ck_assert_str_eq(next->flow, "new");
        /* the ids follow from the step as for an enqueued job */
        const char *numbers[] = { "INV-1", "INV-2" };
        char rid[19];
        job_reminder_id(rid, "reminder-2", numbers, 2);
        ck_assert_str_eq(next->reminder_id, rid);
        job_free(next);
        job_free(job);
        free(a);
        free(b);
}
END_TEST

/* The policy keeps to the step's channels, on top of its own rules. */
START_TEST(test_policy_flow_channels)
{
        struct config cfg = flow_config();
        struct policy_decision d;
        struct policy_context ctx = { .segment_name = "new" };
        struct job *job = make_job("reminder-1", "");

        /* letter preferred, but reminder-1 goes by e-mail or SMS */
        policy_choose(job, &ctx, &cfg, ms("2026-11-23T09:00:00Z"), &d);
        ck_assert_uint_eq(d.n, 2);
        for (size_t k = 0; k < d.n; k++)
                ck_assert(d.order[k] != JOB_CHANNEL_LETTER);
        ck_assert_msg(strstr(d.reason, "preferred letter not in this step of the flow"),
                      "%s", d.reason);
        /* structural-late: SMS only */
        ctx.segment_name = "structural-late";
        policy_choose(job, &ctx, &cfg, ms("2026-11-23T09:00:00Z"), &d);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_int_eq(d.order[0], JOB_CHANNEL_SMS);
        job_free(job);
        /* a step scheduled by structural-late's flow keeps to it after the
         * customer's payments moved them to another segment */
        job = make_job("reminder-1", ",\"flow\":\"structural-late\"");
        ctx.segment_name = "new";
        policy_choose(job, &ctx, &cfg, ms("2026-11-23T09:00:00Z"), &d);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_int_eq(d.order[0], JOB_CHANNEL_SMS);
        ctx.segment_name = "structural-late";
        job_free(job);

        /* final-notice: letter or e-mail; without a segment the job's own
         * (none here) and so the default flow */
        job = make_job("final-notice", "");
        ctx.segment_name = NULL;
        policy_choose(job, &ctx, &cfg, ms("2026-11-23T09:00:00Z"), &d);
        ck_assert_uint_eq(d.n, 2);
        for (size_t k = 0; k < d.n; k++)
                ck_assert(d.order[k] != JOB_CHANNEL_SMS);
        job_free(job);

        /* a flow and the Dutch final-notice rule together: a flow that
         * allows SMS and e-mail still gets no SMS for a Dutch final
         * notice */
        struct config_flow_step odd[] = {
                { .step = "final-notice", .after_due_days = -1, .after_previous_days = -1,
                  .channel_mask = 1u << JOB_CHANNEL_SMS | 1u << JOB_CHANNEL_EMAIL },
        };
        struct config_flow f = { .segment = "default", .steps = odd, .n_steps = 1 };
        cfg.flows = &f;
        cfg.n_flows = 1;
        char json[] = "{\"v\":1,\"campaign\":\"c\",\"step\":\"final-notice\",\"customer\":"
                      "{\"id\":\"C-2\",\"name\":\"Jan\",\"locale\":\"nl-NL\",\"email\":"
                      "\"jan@example.nl\",\"phone\":\"+31612345678\"},\"invoices\":[{\"number\":"
                      "\"INV-9\",\"amount_cents\":1000,\"currency\":\"EUR\",\"due\":"
                      "\"2026-10-31\"}]}";
        struct error err;
        ck_assert_int_eq(job_parse(&job, json, strlen(json), &err), 0);
        policy_choose(job, &ctx, &cfg, ms("2026-11-23T09:00:00Z"), &d);
        ck_assert_uint_eq(d.n, 1);
        ck_assert_int_eq(d.order[0], JOB_CHANNEL_EMAIL);
        job_free(job);
}
END_TEST

static Suite *flow_suite(void)
{
        Suite *s = suite_create("flow");
        TCase *tc = tcase_create("flow");
        tcase_add_test(tc, test_flow_of);
        tcase_add_test(tc, test_allows);
        tcase_add_test(tc, test_next);
        tcase_add_test(tc, test_next_job_text);
        tcase_add_test(tc, test_policy_flow_channels);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(flow_suite());
}
