/* test-policy.c: channel choice, table-driven. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "job.h"
#include "policy.h"
#include "unit.h"

static struct job *make_job(const char *step, const char *customer_extra, const char *number,
                            int64_t amount_cents)
{
        char json[2048];
        snprintf(json, sizeof(json),
                 "{\"v\":1,\"campaign\":\"c\",\"step\":\"%s\",\"customer\":{\"id\":\"C-1\","
                 "\"name\":\"Jan\",\"locale\":\"nl-NL\"%s},\"invoices\":[{\"number\":\"%s\","
                 "\"amount_cents\":%lld,\"currency\":\"EUR\",\"due\":\"2026-10-31\"}]}",
                 step, customer_extra, number, (long long)amount_cents);
        struct job *job = NULL;
        struct error err;
        int rc = job_parse(&job, json, strlen(json), &err);
        ck_assert_msg(rc == 0, "%s: %s", json, err.msg);
        return job;
}

static struct job *make(const char *customer_extra)
{
        return make_job("reminder-1", customer_extra, "INV-1", 1000);
}

/* config.c's defaults for policy.*, with the given exploration. */
static struct config policy_config(double exploration, bool final_notice_email)
{
        struct config cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.policy.exploration = exploration;
        cfg.policy.seed = 7;
        cfg.policy.segment_weight = 10.0;
        cfg.policy.preference_boost = 0.05;
        cfg.policy.cost_cents[JOB_CHANNEL_EMAIL] = 0;
        cfg.policy.cost_cents[JOB_CHANNEL_SMS] = 8;
        cfg.policy.cost_cents[JOB_CHANNEL_LETTER] = 100;
        cfg.policy.final_notice_email = final_notice_email;
        return cfg;
}

static void order_of(const struct policy_decision *d, char out[JOB_CHANNEL__N + 1])
{
        size_t k = 0;
        for (; k < d->n; k++)
                out[k] = job_channel_name(d->order[k])[0];
        out[k] = '\0';
}

static int64_t ms(const char *rfc3339)
{
        int64_t t = 0;
        ck_assert_int_eq(job_parse_time(rfc3339, &t), 0);
        return t;
}

#define NOW "2026-11-23T09:00:00Z"
#define EMAIL ",\"email\":\"jan@example.nl\""
#define PHONE ",\"phone\":\"+31612345678\""
#define ADDR ",\"address\":{\"lines\":[\"Dorpsstraat 1\"],\"postal_code\":\"1234 AB\",\"city\":\"Utrecht\",\"country\":\"NL\"}"
#define ADDR_DE ",\"address\":{\"lines\":[\"Hauptstr. 1\"],\"postal_code\":\"10115\",\"city\":\"Berlin\",\"country\":\"DE\"}"

/* Without history or config (config.c's defaults, nothing sampled) on a
 * 10-euro invoice: the preference and the cost decide. */
static const struct {
        const char *customer;
        const char *order;      /* channel initials in order, "" = none */
        const char *reason;
} cases[] = {
        { EMAIL PHONE ADDR ",\"preferred_channel\":\"sms\"", "sel",
          "sms: preferred, no history yet" },
        /* The preference adds 5 points to the prior rate (52 % against
         * 50 %), less than a 1-euro letter on a 10-euro invoice (10 %). */
        { EMAIL PHONE ADDR ",\"preferred_channel\":\"letter\"", "esl",
          "email: no history yet; preferred letter 52% but costs 10% of the amount owed" },
        { EMAIL PHONE ADDR, "esl", "email: no history yet" },
        { PHONE ADDR ",\"preferred_channel\":\"email\"", "sl",
          "sms: no history yet; preferred email has no e-mail address" },
        { EMAIL PHONE ",\"preferred_channel\":\"sms\",\"consent\":{\"sms\":false}", "e",
          "email: no history yet; preferred sms has no consent" },
        { EMAIL ",\"preferred_channel\":\"letter\"", "e",
          "email: no history yet; preferred letter has no postal address" },
        { ADDR, "l", "letter: no history yet" },
        { EMAIL ",\"consent\":{\"email\":false}", "",
          "no channel: email has no consent, sms has no phone number, "
          "letter has no postal address" },
        { "", "", "no channel has contact data" },
};

START_TEST(test_choice)
{
        struct job *job = make(cases[_i].customer);
        struct policy_decision d;
        char got[JOB_CHANNEL__N + 1];
        policy_choose(job, NULL, NULL, 0, &d);
        order_of(&d, got);
        ck_assert_str_eq(got, cases[_i].order);
        ck_assert_str_eq(d.reason, cases[_i].reason);
        ck_assert(!d.explored);
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
        policy_choose(next, NULL, NULL, 0, &d);
        ck_assert_int_eq(d.n, 2);
        ck_assert_int_eq(d.order[0], JOB_CHANNEL_EMAIL);
        ck_assert_int_eq(d.order[1], JOB_CHANNEL_LETTER);
        ck_assert_str_eq(d.reason, "email: no history yet; preferred sms failed for this reminder");
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

/* Counts per channel (email, sms, letter): sent, direct, assisted. */
struct counts {
        int64_t sent, direct, assisted;
};

static const struct {
        const char *name;
        const char *step;
        const char *customer;
        int64_t amount_cents;
        struct counts own[JOB_CHANNEL__N];      /* the customer's history */
        struct counts seg[JOB_CHANNEL__N];      /* the segment's, when seg_name */
        const char *seg_name;
        enum job_channel invalid_ch;            /* JOB_CHANNEL_NONE: no mark */
        const char *invalid_contact;            /* the contact the mark was for */
        bool final_notice_email;
        const char *order;
        const char *reason;
} rules[] = {
        /* consent */
        { "consent off", "reminder-1",
          EMAIL PHONE ADDR ",\"preferred_channel\":\"email\",\"consent\":{\"email\":false}", 100000,
          .invalid_ch = JOB_CHANNEL_NONE, .order = "sl",
          .reason = "sms: no history yet; preferred email has no consent" },
        { "consent off everywhere", "reminder-1",
          EMAIL PHONE ",\"consent\":{\"email\":false,\"sms\":false}", 100000,
          .invalid_ch = JOB_CHANNEL_NONE, .order = "",
          .reason = "no channel: email has no consent, sms has no consent, "
                    "letter has no postal address" },
        /* invalid marks */
        { "bounced e-mail", "reminder-1", EMAIL PHONE, 100000,
          .own = { [JOB_CHANNEL_SMS] = { 4, 3, 0 } },
          .invalid_ch = JOB_CHANNEL_EMAIL, .invalid_contact = "jan@example.nl", .order = "s",
          .reason = "sms: paid after 3 of 4 sms; email bounced 2026-10-02" },
        { "bounced e-mail, other case", "reminder-1", ",\"email\":\"JAN@Example.NL\"" PHONE, 100000,
          .invalid_ch = JOB_CHANNEL_EMAIL, .invalid_contact = "jan@example.nl", .order = "s",
          .reason = "sms: no history yet; email bounced 2026-10-02" },
        { "bounced old address, new one given", "reminder-1",
          ",\"email\":\"jan.new@example.nl\"" PHONE, 100000,
          .own = { [JOB_CHANNEL_SMS] = { 4, 3, 0 } },
          .invalid_ch = JOB_CHANNEL_EMAIL, .invalid_contact = "jan@example.nl", .order = "se",
          .reason = "sms: paid after 3 of 4 sms" },
        { "dead number", "reminder-1", EMAIL PHONE ",\"preferred_channel\":\"sms\"", 100000,
          .invalid_ch = JOB_CHANNEL_SMS, .invalid_contact = "+31612345678", .order = "e",
          .reason = "email: no history yet; preferred sms unreachable 2026-10-02" },
        /* final notice for a Dutch consumer: in writing */
        { "final notice NL", "final-notice", EMAIL PHONE ADDR ",\"preferred_channel\":\"sms\"",
          100000, .own = { [JOB_CHANNEL_SMS] = { 5, 5, 0 } }, .invalid_ch = JOB_CHANNEL_NONE,
          .final_notice_email = true, .order = "el",
          .reason = "email: final notice by e-mail; preferred sms not for a final notice" },
        { "final notice NL, small amount", "final-notice", EMAIL PHONE ADDR, 500,
          .invalid_ch = JOB_CHANNEL_NONE, .final_notice_email = true, .order = "el",
          .reason = "email: final notice by e-mail" },
        { "final notice NL, letters work for this customer", "final-notice", EMAIL PHONE ADDR,
          100000, .own = { [JOB_CHANNEL_EMAIL] = { 4, 0, 0 }, [JOB_CHANNEL_LETTER] = { 3, 3, 0 } },
          .invalid_ch = JOB_CHANNEL_NONE, .final_notice_email = true, .order = "le",
          .reason = "letter: final notice in writing" },
        { "final notice NL, no e-mail", "final-notice", EMAIL PHONE ADDR, 100000,
          .invalid_ch = JOB_CHANNEL_NONE, .final_notice_email = false, .order = "l",
          .reason = "letter: final notice in writing" },
        { "final notice nl locale, no address", "final-notice", EMAIL PHONE, 100000,
          .invalid_ch = JOB_CHANNEL_NONE, .final_notice_email = true, .order = "e",
          .reason = "email: final notice by e-mail; letter has no postal address" },
        { "final notice nl locale, no address, no e-mail", "final-notice", EMAIL PHONE, 100000,
          .invalid_ch = JOB_CHANNEL_NONE, .final_notice_email = false, .order = "",
          .reason = "no channel: email not for a final notice (final_notice_email off), "
                    "sms not for a final notice, letter has no postal address" },
        { "final notice NL, letter returned", "final-notice", EMAIL PHONE ADDR, 100000,
          .invalid_ch = JOB_CHANNEL_LETTER, .final_notice_email = true, .order = "e",
          .reason = "email: final notice by e-mail; letter returned 2026-10-02" },
        { "final notice abroad: all channels", "final-notice",
          EMAIL PHONE ADDR_DE ",\"preferred_channel\":\"sms\"", 100000,
          .invalid_ch = JOB_CHANNEL_NONE, .final_notice_email = false, .order = "sel",
          .reason = "sms: preferred, no history yet" },
        /* preference against evidence */
        { "preferred, no history", "reminder-2", EMAIL PHONE ADDR ",\"preferred_channel\":\"sms\"",
          100000, .invalid_ch = JOB_CHANNEL_NONE, .order = "sel",
          .reason = "sms: preferred, no history yet" },
        { "evidence beats preference", "reminder-2",
          EMAIL PHONE ADDR ",\"preferred_channel\":\"email\"", 100000,
          .own = { [JOB_CHANNEL_EMAIL] = { 6, 0, 0 }, [JOB_CHANNEL_SMS] = { 5, 5, 0 } },
          .invalid_ch = JOB_CHANNEL_NONE, .order = "sle",
          .reason = "sms: paid after 5 of 5 sms; preferred email paid after 0 of 6" },
        { "assisted counts half", "reminder-2", EMAIL PHONE, 100000,
          .own = { [JOB_CHANNEL_EMAIL] = { 4, 2, 2 }, [JOB_CHANNEL_SMS] = { 3, 0, 1 } },
          .invalid_ch = JOB_CHANNEL_NONE, .order = "es",
          .reason = "email: paid after 3 of 4 email; sms paid after 0.5 of 3" },
        /* shrinkage toward the segment */
        { "preferred, the segment's rate", "reminder-1",
          EMAIL PHONE ",\"preferred_channel\":\"email\"", 100000,
          .seg = { { 1000, 119, 0 }, { 1000, 99, 0 } },
          .seg_name = "occasional-late", .invalid_ch = JOB_CHANNEL_NONE, .order = "es",
          .reason = "email: preferred, no history yet (segment occasional-late 12% email)" },
        { "segment's best channel", "reminder-1", EMAIL PHONE ADDR, 100000,
          .seg = { { 1000, 40, 20 }, { 1000, 250, 100 }, { 1000, 150, 100 } },
          .seg_name = "structural-late", .invalid_ch = JOB_CHANNEL_NONE, .order = "sle",
          .reason = "sms: no history yet (segment structural-late 30% sms)" },
        { "segment against preference", "reminder-1",
          EMAIL PHONE ADDR ",\"preferred_channel\":\"email\"", 100000,
          .seg = { { 1000, 40, 20 }, { 1000, 250, 100 }, { 1000, 150, 100 } },
          .seg_name = "structural-late", .invalid_ch = JOB_CHANNEL_NONE, .order = "sle",
          .reason = "sms: no history yet (segment structural-late 30% sms); preferred email" },
        { "own history outweighs the segment", "reminder-1", EMAIL PHONE, 100000,
          .own = { [JOB_CHANNEL_EMAIL] = { 10, 8, 0 }, [JOB_CHANNEL_SMS] = { 3, 0, 0 } },
          .seg = { { 1000, 40, 20 }, { 1000, 250, 100 } },
          .seg_name = "structural-late", .invalid_ch = JOB_CHANNEL_NONE, .order = "es",
          .reason = "email: paid after 8 of 10 email (segment structural-late 5% email); "
                    "sms paid after 0 of 3 (segment 30%)" },
        /* cost against the amount owed */
        { "5 euro: the letter's cost decides", "reminder-1", EMAIL ADDR, 500,
          .seg = { [JOB_CHANNEL_EMAIL] = { 1000, 200, 0 },
                   [JOB_CHANNEL_LETTER] = { 1000, 250, 100 } },
          .seg_name = "occasional-late", .invalid_ch = JOB_CHANNEL_NONE, .order = "el",
          .reason = "email: no history yet (segment occasional-late 20% email); "
                    "letter 30% but costs 20% of the amount owed" },
        { "5000 euro: the letter wins", "reminder-1", EMAIL ADDR, 500000,
          .seg = { [JOB_CHANNEL_EMAIL] = { 1000, 200, 0 },
                   [JOB_CHANNEL_LETTER] = { 1000, 250, 100 } },
          .seg_name = "occasional-late", .invalid_ch = JOB_CHANNEL_NONE, .order = "le",
          .reason = "letter: no history yet (segment occasional-late 30% letter)" },
};

static void fill(struct history *h, const struct counts c[JOB_CHANNEL__N])
{
        memset(h, 0, sizeof(*h));
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                h->ch[ch].sent = c[ch].sent;
                h->ch[ch].direct = c[ch].direct;
                h->ch[ch].assisted = c[ch].assisted;
        }
}

START_TEST(test_rules)
{
        struct config cfg = policy_config(0.0, rules[_i].final_notice_email);
        struct job *job = make_job(rules[_i].step, rules[_i].customer, "INV-7",
                                   rules[_i].amount_cents);
        struct history own, seg;
        struct policy_context ctx = { .customer = &own };
        struct policy_decision d;
        char got[JOB_CHANNEL__N + 1];

        fill(&own, rules[_i].own);
        if (rules[_i].invalid_ch != JOB_CHANNEL_NONE) {
                enum job_channel ch = rules[_i].invalid_ch;
                own.ch[ch].invalid_ms = ms("2026-10-02T23:30:00Z");
                if (rules[_i].invalid_contact)
                        own.ch[ch].invalid_contact =
                                history_contact_hash(rules[_i].invalid_contact);
        }
        if (rules[_i].seg_name) {
                fill(&seg, rules[_i].seg);
                ctx.segment = &seg;
                ctx.segment_name = rules[_i].seg_name;
        }
        policy_choose(job, &ctx, &cfg, ms(NOW), &d);
        order_of(&d, got);
        ck_assert_msg(strcmp(got, rules[_i].order) == 0, "%s: order %s, want %s (%s)",
                      rules[_i].name, got, rules[_i].order, d.reason);
        ck_assert_msg(strcmp(d.reason, rules[_i].reason) == 0, "%s: reason \"%s\"",
                      rules[_i].name, d.reason);
        ck_assert(!d.explored);
        /* Never SMS for a Dutch final notice, whatever the scores. */
        for (size_t k = 0; k < d.n; k++)
                ck_assert(policy_step_allows(job, &cfg, d.order[k]));
        job_free(job);
}
END_TEST

START_TEST(test_step_allows)
{
        struct config with = policy_config(0.0, true), without = policy_config(0.0, false);
        struct job *nl = make_job("final-notice", EMAIL PHONE ADDR, "I", 1000);
        struct job *de = make_job("final-notice", EMAIL PHONE ADDR_DE, "I", 1000);
        struct job *r1 = make_job("reminder-1", EMAIL PHONE ADDR, "I", 1000);

        ck_assert(policy_step_allows(nl, &with, JOB_CHANNEL_LETTER));
        ck_assert(policy_step_allows(nl, &with, JOB_CHANNEL_EMAIL));
        ck_assert(!policy_step_allows(nl, &with, JOB_CHANNEL_SMS));
        ck_assert(!policy_step_allows(nl, &without, JOB_CHANNEL_EMAIL));
        ck_assert(policy_step_allows(nl, &without, JOB_CHANNEL_LETTER));
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                ck_assert(policy_step_allows(de, &without, (enum job_channel)ch));
                ck_assert(policy_step_allows(r1, &without, (enum job_channel)ch));
        }
        /* The address decides over the language. */
        de->customer.address.country[0] = 'N';
        de->customer.address.country[1] = 'L';
        free(de->customer.locale);
        de->customer.locale = strdup("de-DE");
        ck_assert(!policy_step_allows(de, &with, JOB_CHANNEL_SMS));
        nl->customer.address.country[0] = 'B';
        nl->customer.address.country[1] = 'E';
        ck_assert(policy_step_allows(nl, &with, JOB_CHANNEL_SMS));
        job_free(nl);
        job_free(de);
        job_free(r1);
}
END_TEST

/* Three channels, equal evidence: the sampling has a real choice. */
static struct job *explore_job(void)
{
        return make_job("reminder-2", EMAIL PHONE ADDR, "INV-9", 100000);
}

static void set_reminder(struct job *job, unsigned i)
{
        snprintf(job->reminder_id, sizeof(job->reminder_id), "r-%016x", i);
}

START_TEST(test_exploration_deterministic)
{
        struct config cfg = policy_config(0.5, true);
        struct job *job = explore_job();
        struct history own;
        struct policy_context ctx = { .customer = &own };
        struct policy_decision a, b;
        int64_t now = ms(NOW);

        memset(&own, 0, sizeof(own));
        own.ch[JOB_CHANNEL_SMS] = (struct history_channel){ .sent = 2, .direct = 1 };
        for (unsigned i = 0; i < 200; i++) {
                set_reminder(job, i);
                policy_choose(job, &ctx, &cfg, now, &a);
                /* Later the same day (dispatch_job after dispatch_batch). */
                policy_choose(job, &ctx, &cfg, now + 3600 * 1000, &b);
                ck_assert_int_eq(a.n, b.n);
                ck_assert_int_eq(a.explored, b.explored);
                ck_assert(memcmp(a.order, b.order, sizeof(a.order[0]) * a.n) == 0);
                ck_assert(memcmp(a.score, b.score, sizeof(a.score)) == 0);
                ck_assert_str_eq(a.reason, b.reason);
                if (a.explored)
                        ck_assert_msg(strncmp(a.reason, "exploring: ", 11) == 0 &&
                                      strstr(a.reason, ", drew "), "%s", a.reason);
                else
                        ck_assert_msg(strstr(a.reason, "exploring") == NULL, "%s", a.reason);
        }
        job_free(job);
}
END_TEST

START_TEST(test_exploration_share)
{
        struct config tenth = policy_config(0.1, true), never = policy_config(0.0, true),
                      always = policy_config(1.0, true), other_seed = policy_config(0.1, true);
        struct job *job = explore_job();
        struct policy_decision d, e;
        int64_t now = ms(NOW), tomorrow = now + 86400 * 1000;
        unsigned n = 20000, explored = 0, changed_day = 0, changed_seed = 0;
        unsigned first[JOB_CHANNEL__N] = { 0 };

        other_seed.policy.seed = 8;
        for (unsigned i = 0; i < n; i++) {
                set_reminder(job, i);
                policy_choose(job, NULL, &tenth, now, &d);
                explored += d.explored;
                policy_choose(job, NULL, &tenth, tomorrow, &e);
                changed_day += d.explored != e.explored;
                policy_choose(job, NULL, &other_seed, now, &e);
                changed_seed += d.explored != e.explored;
                policy_choose(job, NULL, &never, now, &e);
                ck_assert(!e.explored);
                ck_assert_int_eq(e.order[0], JOB_CHANNEL_EMAIL);
                if (i < 2000) {
                        policy_choose(job, NULL, &always, now, &e);
                        ck_assert(e.explored);
                        first[e.order[0]]++;
                }
        }
        /* Binomial: sd = sqrt(0.1 * 0.9 / 20000) = 0.0021; 5 sd. */
        double share = (double)explored / n;
        ck_assert_msg(share > 0.0895 && share < 0.1105, "explored share %.4f", share);
        /* The next day, or another seed, explores other jobs: about
         * 2 * 0.1 * 0.9 of them change. */
        ck_assert_msg(changed_day > n / 10 && changed_day < n / 4, "%u changed", changed_day);
        ck_assert_msg(changed_seed > n / 10 && changed_seed < n / 4, "%u changed", changed_seed);
        /* Equal posteriors (Beta(5, 5)), small costs: each channel drawn
         * first about a third of the time, the letter's 0.1 % cost aside. */
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                ck_assert_msg(first[ch] > 550 && first[ch] < 790, "%s first %u of 2000",
                              job_channel_name((enum job_channel)ch), first[ch]);
        job_free(job);
}
END_TEST

START_TEST(test_exploration_follows_evidence)
{
        /* Thompson sampling draws from the posteriors: strong evidence
         * still wins almost every sampled decision; a final notice's
         * letter (e-mail not counting as writing) is never sampled away. */
        struct config always = policy_config(1.0, true);
        struct config always_letter = policy_config(1.0, false);
        struct job *job = explore_job();
        struct job *fin = make_job("final-notice", EMAIL PHONE ADDR, "INV-9", 100000);
        struct history own;
        struct policy_context ctx = { .customer = &own };
        struct policy_decision d;
        unsigned sms = 0;

        memset(&own, 0, sizeof(own));
        own.ch[JOB_CHANNEL_EMAIL] = (struct history_channel){ .sent = 30, .direct = 0 };
        own.ch[JOB_CHANNEL_SMS] = (struct history_channel){ .sent = 30, .direct = 27 };
        own.ch[JOB_CHANNEL_LETTER] = (struct history_channel){ .sent = 30, .direct = 3 };
        for (unsigned i = 0; i < 1000; i++) {
                set_reminder(job, i);
                policy_choose(job, &ctx, &always, ms(NOW), &d);
                ck_assert(d.explored);
                sms += d.order[0] == JOB_CHANNEL_SMS;
                set_reminder(fin, i);
                policy_choose(fin, &ctx, &always_letter, ms(NOW), &d);
                ck_assert(!d.explored);
                ck_assert_int_eq(d.order[0], JOB_CHANNEL_LETTER);
                ck_assert_int_eq(d.n, 1);
        }
        ck_assert_msg(sms > 990, "sms first in %u of 1000", sms);
        job_free(job);
        job_free(fin);
}
END_TEST

START_TEST(test_beta_draw)
{
        /* Mean and variance of the sampler against the Beta's, with
         * parameters below 1 (Marsaglia-Tsang's boost) and above. */
        static const double shapes[][2] = {
                { 0.05, 0.3 }, { 0.5, 0.5 }, { 0.2, 5.0 },
                { 1.0, 1.0 },  { 3.0, 7.0 }, { 50.0, 150.0 },
        };
        uint64_t state = 12345;
        const int n = 200000;

        for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
                double a = shapes[k][0], b = shapes[k][1], sum = 0.0, sum2 = 0.0;
                double mean = a / (a + b), var = a * b / ((a + b) * (a + b) * (a + b + 1.0));
                for (int i = 0; i < n; i++) {
                        double x = policy_beta_draw(&state, a, b);
                        ck_assert(x >= 0.0 && x <= 1.0);
                        sum += x;
                        sum2 += x * x;
                }
                double m = sum / n, v = sum2 / n - m * m;
                /* Within 6 standard errors of the mean; the variance
                 * within 4 %. */
                ck_assert_msg(fabs(m - mean) < 6.0 * sqrt(var / n),
                              "Beta(%g, %g) mean %f, want %f", a, b, m, mean);
                ck_assert_msg(v > 0.96 * var && v < 1.04 * var, "Beta(%g, %g) variance %f, want %f",
                              a, b, v, var);
        }
}
END_TEST

START_TEST(test_reason_private)
{
        /* Whatever happens, the reason names channels and figures, never
         * the customer: no name, address, e-mail, number or ids. */
        static const char *const secrets[] = {
                "Jan", "jan@", "example", "+31", "612345678", "Dorpsstraat", "1234 AB",
                "Utrecht", "C-1", "INV-", "\n",
        };
        static const char *const steps[] = { "reminder-1", "final-notice" };
        struct history own, seg;
        struct policy_context ctx = { .customer = &own, .segment = &seg,
                                      .segment_name = "occasional-late\nwith a very long name "
                                                      "that goes on and on and on" };
        int64_t now = ms(NOW);

        memset(&own, 0, sizeof(own));
        memset(&seg, 0, sizeof(seg));
        own.ch[JOB_CHANNEL_EMAIL] =
                (struct history_channel){ .sent = 4, .direct = 1, .assisted = 1 };
        own.ch[JOB_CHANNEL_SMS] = (struct history_channel){ .sent = 3, .direct = 2 };
        own.ch[JOB_CHANNEL_LETTER] = (struct history_channel){ .sent = 1 };
        seg.ch[JOB_CHANNEL_EMAIL] = (struct history_channel){ .sent = 400, .direct = 48 };
        seg.ch[JOB_CHANNEL_SMS] = (struct history_channel){ .sent = 300, .direct = 90 };
        /* With and without an invalid mark, two steps, three configs
         * (no e-mail for final notices, with it, always sampling). */
        for (int i = 0; i < 12; i++) {
                struct config cfg = policy_config(i % 3 == 2 ? 1.0 : 0.0, i % 3 == 1);
                struct job *job = make_job(steps[i / 3 % 2], EMAIL PHONE ADDR
                                           ",\"preferred_channel\":\"letter\"", "INV-77", 2500);
                struct policy_decision d;
                if (i >= 6) {
                        own.ch[JOB_CHANNEL_SMS].invalid_ms = now - 86400000;
                        own.ch[JOB_CHANNEL_SMS].invalid_contact =
                                history_contact_hash("+31612345678");
                }
                policy_choose(job, &ctx, &cfg, now, &d);
                ck_assert_uint_gt(strlen(d.reason), 10);
                ck_assert_uint_lt(strlen(d.reason), 255);
                for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
                        ck_assert_msg(!strstr(d.reason, secrets[k]), "\"%s\" in \"%s\"",
                                      secrets[k], d.reason);
                job_free(job);
        }
}
END_TEST

START_TEST(test_held_out)
{
        static const double shares[] = { 0.05, 0.2 };
        const int n = 100000;

        for (size_t s = 0; s < 2; s++) {
                int held = 0, again = 0;
                for (int i = 0; i < n; i++) {
                        char id[32];
                        snprintf(id, sizeof(id), "C-%d", i);
                        bool h = policy_held_out(id, "winter-2026", "reminder-2", shares[s]);
                        held += h;
                        again += h == policy_held_out(id, "winter-2026", "reminder-2", shares[s]);
                }
                /* sd = sqrt(s (1 - s) / n): 0.0007 and 0.0013; 6 sd. */
                double got = (double)held / n;
                ck_assert_msg(fabs(got - shares[s]) < 6.0 * sqrt(shares[s] * (1 - shares[s]) / n),
                              "share %g: %f", shares[s], got);
                ck_assert_int_eq(again, n);
        }
        /* No one at 0 or below, everyone at 1. */
        for (int i = 0; i < 1000; i++) {
                char id[32];
                snprintf(id, sizeof(id), "C-%d", i);
                ck_assert(!policy_held_out(id, "c", "s", 0.0));
                ck_assert(!policy_held_out(id, "c", "s", -0.5));
                ck_assert(policy_held_out(id, "c", "s", 1.0));
        }
        /* Each of the three counts, and the boundaries between them: at
         * share 0.5 two different triples agree about half the time. */
        int same_step = 0, same_campaign = 0, same_split = 0;
        for (int i = 0; i < 10000; i++) {
                char id[32], idx[32];
                snprintf(id, sizeof(id), "C-%d", i);
                snprintf(idx, sizeof(idx), "C-%dx", i);
                bool h = policy_held_out(id, "c", "reminder-1", 0.5);
                same_step += h == policy_held_out(id, "c", "reminder-2", 0.5);
                same_campaign += h == policy_held_out(id, "d", "reminder-1", 0.5);
                same_split += policy_held_out(idx, "c", "s", 0.5) ==
                              policy_held_out(id, "xc", "s", 0.5);
        }
        ck_assert_msg(same_step > 4700 && same_step < 5300, "%d", same_step);
        ck_assert_msg(same_campaign > 4700 && same_campaign < 5300, "%d", same_campaign);
        ck_assert_msg(same_split > 4700 && same_split < 5300, "%d", same_split);
        /* NULL as "". */
        ck_assert_int_eq(policy_held_out(NULL, "c", "s", 0.5), policy_held_out("", "c", "s", 0.5));
}
END_TEST

/* explain asks the policy again about a customer's last job, rebuilt from
 * the profile fields of the customer's hash: the same choice, without
 * keeping the customer's address, e-mail address or number. */
START_TEST(test_profile_asks_again)
{
        static const char *const customers[] = {
                ",\"email\":\"jan@example.nl\",\"phone\":\"+31612345678\","
                "\"address\":{\"lines\":[\"Dorpsstraat 1\"],\"postal_code\":\"1234 AB\","
                "\"city\":\"Utrecht\",\"country\":\"NL\"},\"preferred_channel\":\"sms\","
                "\"consent\":{\"email\":true,\"sms\":false},\"segment\":\"vip\"",
                ",\"email\":\"jan@example.nl\",\"preferred_channel\":\"email\"",
                ",\"phone\":\"+31612345678\",\"consent\":{\"email\":false,\"sms\":false}",
                ",\"address\":{\"lines\":[\"Hauptstr. 5\"],\"postal_code\":\"10115\","
                "\"city\":\"Berlin\",\"country\":\"DE\"}",
        };
        static const char *const want_contact[] = {
                "|NL|e|sms|nl-NL", "|-|-|es|email|nl-NL", "|-|-|-|nl-NL", "-|-|DE|es|-|nl-NL",
        };
        static const char *const steps[] = { "reminder-1", "final-notice" };
        struct config cfg = policy_config(0.0, false);
        struct counts c[JOB_CHANNEL__N] = { { 4, 1, 0 }, { 3, 2, 1 }, { 2, 0, 0 } };

        for (size_t i = 0; i < sizeof(customers) / sizeof(customers[0]); i++) {
                for (size_t k = 0; k < 2; k++) {
                        struct job *job = make_job(steps[k], customers[i], "INV-7", 250000);
                        struct history_profile pr;
                        history_profile_make(job, &pr);
                        ck_assert_msg(strstr(pr.contact, want_contact[i]) &&
                                      !strchr(pr.contact, '@') && !strstr(pr.contact, "+31"),
                                      "%zu: %s", i, pr.contact);
                        ck_assert_str_eq(pr.owed, "250000 EUR");
                        char *kv[] = { "job", pr.job, "contact", pr.contact, "owed", pr.owed };
                        struct queue_fields f = { .kv = kv, .n = 3 };
                        struct history h, h2;
                        fill(&h, c);
                        h2 = h;
                        struct job *again = NULL;
                        struct error err;
                        ck_assert_int_eq(history_profile_job(&f, "C-1", NULL, &h2, &again, &err),
                                         0);
                        ck_assert_ptr_nonnull(again);
                        ck_assert_str_eq(again->step, steps[k]);
                        ck_assert_str_eq(again->campaign, "c");
                        ck_assert_int_eq(again->invoices[0].amount_cents, 250000);
                        if (i == 0)
                                ck_assert_str_eq(again->customer.segment, "vip");
                        struct policy_context ctx = { .customer = &h };
                        struct policy_context ctx2 = { .customer = &h2 };
                        struct policy_decision d, d2;
                        policy_choose(job, &ctx, &cfg, ms("2026-11-22T10:00:00Z"), &d);
                        policy_choose(again, &ctx2, &cfg, ms("2026-11-22T10:00:00Z"), &d2);
                        ck_assert_uint_eq(d.n, d2.n);
                        for (size_t j = 0; j < d.n; j++)
                                ck_assert_int_eq(d.order[j], d2.order[j]);
                        ck_assert_str_eq(d.reason, d2.reason);
                        job_free(again);
                        job_free(job);
                }
        }
}
END_TEST

/* An invalid mark for the last job's address stays; one for an older
 * address no longer applies. */
START_TEST(test_profile_invalid_marks)
{
        struct job *job = make(",\"email\":\"jan@example.nl\",\"phone\":\"+31612345678\"");
        struct history_profile pr;
        history_profile_make(job, &pr);
        char *kv[] = { "job", pr.job, "contact", pr.contact, "owed", pr.owed };
        struct queue_fields f = { .kv = kv, .n = 3 };
        struct history h;
        memset(&h, 0, sizeof(h));
        h.ch[JOB_CHANNEL_EMAIL].invalid_ms = ms("2026-10-02T08:00:00Z");
        h.ch[JOB_CHANNEL_EMAIL].invalid_contact = history_contact_hash("JAN@example.nl");
        h.ch[JOB_CHANNEL_SMS].invalid_ms = ms("2026-10-02T08:00:00Z");
        h.ch[JOB_CHANNEL_SMS].invalid_contact = history_contact_hash("+31699999999");
        ck_assert(history_contact_invalid(&h, job, JOB_CHANNEL_EMAIL));
        ck_assert(!history_contact_invalid(&h, job, JOB_CHANNEL_SMS));

        struct job *again = NULL;
        struct error err;
        ck_assert_int_eq(history_profile_job(&f, "C-1", "reminder-2", &h, &again, &err), 0);
        ck_assert_str_eq(again->step, "reminder-2");
        ck_assert(history_contact_invalid(&h, again, JOB_CHANNEL_EMAIL));
        ck_assert(!history_contact_invalid(&h, again, JOB_CHANNEL_SMS));
        ck_assert_int_eq(h.ch[JOB_CHANNEL_SMS].invalid_ms, 0);
        job_free(again);

        /* No profile: no job, no error; a broken one names the customer. */
        struct queue_fields none = { 0 };
        ck_assert_int_eq(history_profile_job(&none, "C-1", NULL, &h, &again, &err), 0);
        ck_assert_ptr_null(again);
        char *bad[] = { "job", "reminder-1", "contact", pr.contact, "owed", pr.owed };
        struct queue_fields broken = { .kv = bad, .n = 3 };
        ck_assert_int_eq(history_profile_job(&broken, "C-9", NULL, &h, &again, &err), -EINVAL);
        ck_assert_ptr_null(again);
        ck_assert_msg(strstr(err.msg, "customer C-9") && strstr(err.msg, "reminder-1"), "%s",
                      err.msg);
        /* A step the job model refuses is refused here too. */
        ck_assert_int_lt(history_profile_job(&f, "C-1", "", &h, &again, &err), 0);
        ck_assert_ptr_null(again);
        job_free(job);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_skip_channels);
        tcase_add_loop_test(tc, test_choice, 0, sizeof(cases) / sizeof(cases[0]));
        tcase_add_loop_test(tc, test_rules, 0, sizeof(rules) / sizeof(rules[0]));
        tcase_add_test(tc, test_step_allows);
        tcase_add_test(tc, test_exploration_deterministic);
        tcase_add_test(tc, test_exploration_share);
        tcase_add_test(tc, test_exploration_follows_evidence);
        tcase_add_test(tc, test_beta_draw);
        tcase_add_test(tc, test_reason_private);
        tcase_add_test(tc, test_held_out);
        tcase_add_test(tc, test_profile_asks_again);
        tcase_add_test(tc, test_profile_invalid_marks);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
