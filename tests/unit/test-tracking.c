/* test-tracking.c: payments parsed from stream fields, attribution, payment
 * behaviour and the plan of one payment, without Redis. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "history.h"
#include "queue.h"
#include "tracking.h"
#include "unit.h"

#define RID "r-0123456789abcdef"
#define RID2 "r-fedcba9876543210"
#define HOUR_MS INT64_C(3600000)
#define DAY_MS (24 * HOUR_MS)

/* Unix ms of a UTC wall-clock time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
        struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                         .tm_min = mi };
        return (int64_t)timegm(&tm) * 1000;
}

/* Field/value pairs ending with NULL; free with queue_fields_free. */
static struct queue_fields fields(const char *id, ...)
{
        struct queue_fields f = { 0 };
        va_list ap;

        snprintf(f.id, sizeof(f.id), "%s", id ? id : "");
        va_start(ap, id);
        for (;;) {
                const char *k = va_arg(ap, const char *);
                if (!k)
                        break;
                const char *v = va_arg(ap, const char *);
                f.kv = xrealloc(f.kv, (2 * f.n + 2) * sizeof(*f.kv));
                f.kv[2 * f.n] = xstrdup(k);
                f.kv[2 * f.n + 1] = xstrdup(v);
                f.n++;
        }
        va_end(ap);
        return f;
}

static struct config config(void)
{
        struct config c;
        memset(&c, 0, sizeof(c));
        c.tracking.attribution_window_days = 14;
        c.tracking.late_after_days = 3;
        c.segments.min_invoices = 3;
        c.segments.on_time_max_late = 1;
        c.segments.structural_late_share = 0.5;
        c.default_timezone = (char *)"Europe/Amsterdam";
        c.history.retention_days = 400;
        return c;
}

/* "<channel>|<reminder>|<ms>|<step>|<campaign>" */
static const char *last_touch(char *out, const char *ch, const char *rid, int64_t ms,
                              const char *step)
{
        sprintf(out, "%s|%s|%lld|%s|it", ch, rid, (long long)ms, step);
        return out;
}

/* ---- parsing ---- */

START_TEST(test_parse_full)
{
        struct queue_fields f = fields("1764000000000-0", "type", "payment", "source", "mollie",
                                       "status", "paid", "provider_id", "tr_WDqYK6vllg", "link",
                                       "pl_1", "reminder", RID, "amount_cents", "1001",
                                       "currency", "EUR", "paid_at", "2026-11-22T10:00:00+00:00",
                                       "method", "ideal", NULL);
        struct tracking_payment p;
        struct error err;
        ck_assert_int_eq(tracking_payment_from_fields(&p, &f, &err), 0);
        ck_assert_str_eq(p.provider_id, "tr_WDqYK6vllg");
        ck_assert_str_eq(p.source, "mollie");
        ck_assert_str_eq(p.reminder, RID);
        ck_assert_str_eq(p.invoice, "");
        ck_assert_int_eq(p.amount_cents, 1001);
        ck_assert_int_eq(p.paid_ms, utc(2026, 11, 22, 10, 0));
        ck_assert_str_eq(p.method, "ideal");
        ck_assert_str_eq(p.entry_id, "1764000000000-0");
        queue_fields_free(&f);
}
END_TEST

START_TEST(test_parse_defaults)
{
        /* An ERP's entry: no type, source, time or provider id. */
        struct queue_fields f = fields("1764000000000-3", "invoice", "INV-1", "amount_cents",
                                       "500", NULL);
        struct tracking_payment p, again;
        struct error err;
        ck_assert_int_eq(tracking_payment_from_fields(&p, &f, &err), 0);
        ck_assert_str_eq(p.source, "stream");
        ck_assert_int_eq(p.paid_ms, 1764000000000);     /* when it was added */
        ck_assert_int_eq(strncmp(p.provider_id, "stream:", 7), 0);
        ck_assert_int_eq(strlen(p.provider_id), 7 + 16);
        /* Redelivered: the same dedup key. */
        ck_assert_int_eq(tracking_payment_from_fields(&again, &f, &err), 0);
        ck_assert_str_eq(again.provider_id, p.provider_id);
        queue_fields_free(&f);

        /* Unix ms for paid_at; another amount is another payment. */
        f = fields("1764000000000-4", "invoice", "INV-1", "amount_cents", "501", "paid_at",
                   "1764000000000", NULL);
        ck_assert_int_eq(tracking_payment_from_fields(&again, &f, &err), 0);
        ck_assert_int_eq(again.paid_ms, 1764000000000);
        ck_assert_str_ne(again.provider_id, p.provider_id);
        queue_fields_free(&f);

        /* Other types are not payments. */
        f = fields("1-0", "type", "paylink", "amount_cents", "5", NULL);
        ck_assert_int_eq(tracking_payment_from_fields(&p, &f, &err), TRACKING_IGNORE);
        queue_fields_free(&f);
}
END_TEST

static const struct {
        const char *k1, *v1, *k2, *v2, *k3, *v3;
        const char *error;
} bad[] = {
        { "invoice", "INV-1", NULL, NULL, NULL, NULL, "amount_cents: missing" },
        { "invoice", "INV-1", "amount_cents", "", NULL, NULL, "amount_cents: missing" },
        { "invoice", "INV-1", "amount_cents", "-500", NULL, NULL,
          "amount_cents: must be more than 0 cents, not -500" },
        { "invoice", "INV-1", "amount_cents", "0", NULL, NULL,
          "amount_cents: must be more than 0 cents, not 0" },
        { "invoice", "INV-1", "amount_cents", "12.50", NULL, NULL,
          "amount_cents: \"12.50\" is not a whole number of cents" },
        { "invoice", "INV-1", "amount_cents", "100", "paid_at", "yesterday",
          "paid_at: \"yesterday\" is not an RFC 3339 time or Unix ms" },
        { "invoice", "INV-1", "amount_cents", "100", "reminder", "r-xyz",
          "reminder: \"r-xyz\" is not a reminder id (r- and 16 hex digits)" },
        { "amount_cents", "100", "method", "ideal", NULL, NULL,
          "invoice: missing, and no reminder or reference names one" },
        { "amount_cents", "100", "reference", "  ", NULL, NULL, "reference: empty" },
};

START_TEST(test_parse_errors)
{
        struct queue_fields f = fields("1-0", bad[_i].k1, bad[_i].v1, bad[_i].k2, bad[_i].v2,
                                       bad[_i].k3, bad[_i].v3, NULL);
        struct tracking_payment p;
        struct error err = { "" };
        ck_assert_int_lt(tracking_payment_from_fields(&p, &f, &err), 0);
        ck_assert_str_eq(err.msg, bad[_i].error);
        queue_fields_free(&f);
}
END_TEST

START_TEST(test_reference_and_ids)
{
        struct tracking_payment p = { 0 };
        struct error err;
        ck_assert_int_eq(tracking_set_reference(&p, "rf18 5390 0754 7034", &err), 0);
        ck_assert_str_eq(p.reference, "RF18539007547034");
        ck_assert_int_eq(tracking_set_reference(&p, RID, &err), 0);
        ck_assert_str_eq(p.reference, RID);
        ck_assert_int_eq(tracking_set_reference(&p, "  2026-0042 ", &err), 0);
        ck_assert_str_eq(p.reference, "2026-0042");
        ck_assert(tracking_is_reminder_id(RID));
        ck_assert(!tracking_is_reminder_id("r-0123456789ABCDEF"));
        ck_assert(!tracking_is_reminder_id("r-0123"));

        char a[64], b[64], c[64];
        tracking_payment_id(a, sizeof(a), "ctl", "INV-1", "", 500, 0, "");
        tracking_payment_id(b, sizeof(b), "ctl", "INV-1", "", 500, 0, "");
        ck_assert_str_eq(a, b);
        ck_assert_int_eq(strncmp(a, "ctl:", 4), 0);
        tracking_payment_id(c, sizeof(c), "ctl", "INV-1", "", 500, 1, "");
        ck_assert_str_ne(a, c);
        tracking_payment_id(c, sizeof(c), "ctl", "INV-1", "", 500, 0, "RF18539007547034");
        ck_assert_str_ne(a, c);
        tracking_payment_id(c, sizeof(c), "ctl", "INV-10", "", 500, 0, "");
        ck_assert_str_ne(a, c);

        int64_t ms;
        ck_assert_int_eq(tracking_parse_time("2026-11-22T11:00:00+01:00", &ms), 0);
        ck_assert_int_eq(ms, utc(2026, 11, 22, 10, 0));
        ck_assert_int_lt(tracking_parse_time("0", &ms), 0);
        ck_assert_int_lt(tracking_parse_time("", &ms), 0);
}
END_TEST

/* ---- attribution ---- */

START_TEST(test_direct_by_reminder)
{
        int64_t sent = utc(2026, 11, 20, 9, 0), paid = sent + 26 * HOUR_MS;
        char sent_s[24], last[128];
        snprintf(sent_s, sizeof(sent_s), "%lld", (long long)sent);
        struct queue_fields rem = fields(NULL, "channel", "sms", "sent_ms", sent_s, "step",
                                         "reminder-2", "campaign", "it", "invoices", "INV-1",
                                         NULL);
        /* The last touch was an e-mail later on: the link still wins. */
        struct queue_fields inv = fields(NULL, "amount_cents", "1000", "last",
                                         last_touch(last, "email", RID2, sent + HOUR_MS,
                                                    "reminder-3"),
                                         NULL);
        struct tracking_attribution a;
        tracking_attribute(RID, &rem, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_DIRECT);
        ck_assert_int_eq(a.channel, JOB_CHANNEL_SMS);
        ck_assert_str_eq(a.reminder, RID);
        ck_assert_str_eq(a.step, "reminder-2");
        ck_assert_str_eq(a.campaign, "it");
        ck_assert_double_eq_tol(a.hours, 26.0, 1e-9);
        ck_assert_int_eq(a.bucket, history_hours_bucket(26.0));

        /* A reminder id whose hash is gone: not direct, the last touch. */
        struct queue_fields none = { 0 };
        tracking_attribute(RID, &none, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ASSISTED);
        ck_assert_int_eq(a.channel, JOB_CHANNEL_EMAIL);
        ck_assert_str_eq(a.reminder, RID2);

        /* Without a hash, the reminder named is the last touch (its link,
         * or its invoice's reference): direct, as the touch tells it,
         * even past the window. */
        tracking_attribute(RID2, &none, &inv, sent + 30 * 24 * HOUR_MS, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_DIRECT);
        ck_assert_int_eq(a.channel, JOB_CHANNEL_EMAIL);
        ck_assert_str_eq(a.reminder, RID2);
        ck_assert_str_eq(a.step, "reminder-3");
        ck_assert_double_eq_tol(a.hours, 30 * 24.0 - 1.0, 1e-9);
        /* ... but not when that touch came after the payment. */
        tracking_attribute(RID2, NULL, &inv, sent, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ORGANIC);
        queue_fields_free(&rem);
        queue_fields_free(&inv);
}
END_TEST

START_TEST(test_assisted_and_organic)
{
        int64_t paid = utc(2026, 11, 22, 10, 0);
        char last[128];
        struct tracking_attribution a;

        struct queue_fields inv = fields(NULL, "last",
                                         last_touch(last, "letter", RID, paid - 3 * DAY_MS,
                                                    "final"), NULL);
        tracking_attribute("", NULL, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ASSISTED);
        ck_assert_int_eq(a.channel, JOB_CHANNEL_LETTER);
        ck_assert_str_eq(a.step, "final");
        ck_assert_double_eq_tol(a.hours, 72.0, 1e-9);
        ck_assert_int_eq(a.bucket, history_hours_bucket(72.0));
        queue_fields_free(&inv);

        /* The last day of the window still counts; the day after does not. */
        inv = fields(NULL, "last", last_touch(last, "email", RID, paid - 14 * DAY_MS, "r1"), NULL);
        tracking_attribute("", NULL, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ASSISTED);
        queue_fields_free(&inv);
        inv = fields(NULL, "last", last_touch(last, "email", RID, paid - 15 * DAY_MS, "r1"), NULL);
        tracking_attribute("", NULL, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ORGANIC);
        ck_assert_int_eq(a.channel, JOB_CHANNEL_NONE);
        ck_assert_int_eq(a.bucket, -1);
        queue_fields_free(&inv);

        /* Paid before any reminder went out: organic. */
        inv = fields(NULL, "last", last_touch(last, "email", RID, paid + HOUR_MS, "r1"), NULL);
        tracking_attribute("", NULL, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ORGANIC);
        queue_fields_free(&inv);
        inv = fields(NULL, "amount_cents", "100", NULL);
        tracking_attribute("", NULL, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ORGANIC);
        queue_fields_free(&inv);
        /* A touch that is not one: ignored. */
        inv = fields(NULL, "last", "pigeon|r-1|12|x|y", NULL);
        tracking_attribute("", NULL, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ORGANIC);
        queue_fields_free(&inv);
}
END_TEST

START_TEST(test_held_out)
{
        int64_t paid = utc(2026, 11, 22, 10, 0);
        char last[128], held[128];
        struct tracking_attribution a;

        /* reminder-1 went out by e-mail, reminder-2 was held out since. */
        snprintf(held, sizeof(held), "%s|%lld|reminder-2|it", RID2,
                 (long long)(paid - 2 * DAY_MS));
        struct queue_fields inv = fields(NULL, "last",
                                         last_touch(last, "email", RID, paid - 5 * DAY_MS,
                                                    "reminder-1"),
                                         "held_out", held, NULL);
        tracking_attribute("", NULL, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_HELD_OUT);
        ck_assert_int_eq(a.channel, JOB_CHANNEL_NONE);
        ck_assert_str_eq(a.step, "reminder-2");
        ck_assert_str_eq(a.campaign, "it");
        ck_assert_str_eq(a.reminder, RID2);
        ck_assert_str_eq(tracking_kind_name(a.kind), "held_out");
        queue_fields_free(&inv);

        /* Held out first, reminded later: the reminder gets the credit. */
        snprintf(held, sizeof(held), "%s|%lld|reminder-1|it", RID2,
                 (long long)(paid - 5 * DAY_MS));
        inv = fields(NULL, "last", last_touch(last, "sms", RID, paid - 2 * DAY_MS, "reminder-2"),
                     "held_out", held, NULL);
        tracking_attribute("", NULL, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ASSISTED);
        ck_assert_int_eq(a.channel, JOB_CHANNEL_SMS);
        queue_fields_free(&inv);

        /* A holdout outside the window is no conversion of it. */
        snprintf(held, sizeof(held), "%s|%lld|reminder-1|it", RID2,
                 (long long)(paid - 20 * DAY_MS));
        inv = fields(NULL, "held_out", held, NULL);
        tracking_attribute("", NULL, &inv, paid, 14, &a);
        ck_assert_int_eq(a.kind, TRACKING_ORGANIC);
        queue_fields_free(&inv);
}
END_TEST

/* ---- behaviour ---- */

START_TEST(test_late_and_on_time)
{
        struct tracking_behaviour b;
        const char *ams = "Europe/Amsterdam";

        /* Due 2026-10-31, late after 3 days: the 3rd of November is on time
         * by its UTC date, though it is the 4th in Amsterdam already. */
        tracking_behaviour("2026-10-31", utc(2026, 11, 3, 23, 30), ams, ams, 3, &b);
        ck_assert(b.due_known);
        ck_assert(!b.late);
        ck_assert_int_eq(b.days_late, 0);
        ck_assert_int_eq(b.hour, 0);
        ck_assert_int_eq(b.wday, 3);    /* Wednesday 4 November, local */
        tracking_behaviour("2026-10-31", utc(2026, 11, 4, 0, 30), ams, ams, 3, &b);
        ck_assert(b.late);
        ck_assert_int_eq(b.days_late, 4);
        /* Early is on time. */
        tracking_behaviour("2026-10-31", utc(2026, 10, 20, 12, 0), ams, ams, 0, &b);
        ck_assert(!b.late);
        /* late_after_days 0: the day after due is late. */
        tracking_behaviour("2026-10-31", utc(2026, 11, 1, 12, 0), ams, ams, 0, &b);
        ck_assert(b.late);
        ck_assert_int_eq(b.days_late, 1);
        /* No due date: neither. */
        tracking_behaviour(NULL, utc(2026, 11, 1, 12, 0), ams, ams, 0, &b);
        ck_assert(!b.due_known);
        ck_assert(!b.late);
        tracking_behaviour("31-10-2026", utc(2026, 11, 1, 12, 0), ams, ams, 0, &b);
        ck_assert(!b.due_known);
}
END_TEST

START_TEST(test_local_hour_across_dst)
{
        const char *ams = "Europe/Amsterdam";
        int h, d;
        /* Saturday 28 March 2026, CET (UTC+1). */
        ck_assert_int_eq(tracking_local_time(utc(2026, 3, 28, 12, 30), ams, &h, &d), 0);
        ck_assert_int_eq(h, 13);
        ck_assert_int_eq(d, 6);
        /* Sunday 29 March, CEST (UTC+2) since 02:00 local. */
        ck_assert_int_eq(tracking_local_time(utc(2026, 3, 29, 12, 30), ams, &h, &d), 0);
        ck_assert_int_eq(h, 14);
        ck_assert_int_eq(d, 0);
        /* 00:59 UTC on the 29th: 01:59 CET; 01:00 UTC: 03:00 CEST. */
        ck_assert_int_eq(tracking_local_time(utc(2026, 3, 29, 0, 59), ams, &h, &d), 0);
        ck_assert_int_eq(h, 1);
        ck_assert_int_eq(tracking_local_time(utc(2026, 3, 29, 1, 0), ams, &h, &d), 0);
        ck_assert_int_eq(h, 3);
        /* Back on Sunday 25 October: 00:30 UTC is 02:30 CEST, 01:30 UTC is
         * 02:30 CET. */
        ck_assert_int_eq(tracking_local_time(utc(2026, 10, 25, 0, 30), ams, &h, &d), 0);
        ck_assert_int_eq(h, 2);
        ck_assert_int_eq(tracking_local_time(utc(2026, 10, 25, 1, 30), ams, &h, &d), 0);
        ck_assert_int_eq(h, 2);
        ck_assert_int_eq(d, 0);
        /* 23:30 UTC on Saturday 24 October is Sunday already in Amsterdam. */
        ck_assert_int_eq(tracking_local_time(utc(2026, 10, 24, 23, 30), ams, &h, &d), 0);
        ck_assert_int_eq(h, 1);
        ck_assert_int_eq(d, 0);
        ck_assert_int_lt(tracking_local_time(utc(2026, 10, 24, 23, 30), "Mars/Olympus", &h, &d),
                         0);
        ck_assert_int_lt(tracking_local_time(utc(2026, 10, 24, 23, 30), NULL, &h, &d), 0);
}
END_TEST

/* ---- the plan ---- */

/* One invoice INV-1 of customer C-1 in segment seg, due 2026-10-31, last
 * touched by e-mail 2 days before paid; extra fields after. */
static struct queue_fields invoice(int64_t paid, const char *paid_cents, const char *status)
{
        static char last[128];
        last_touch(last, "email", RID, paid - 2 * DAY_MS, "reminder-1");
        return fields(NULL, "amount_cents", "1000", "currency", "EUR", "due", "2026-10-31",
                      "customer", "C-1", "segment", "seg", "status", status, "paid_cents",
                      paid_cents, "last", last, NULL);
}

struct plan_case {
        struct tracking_payment p;
        struct queue_fields inv[3], cust, rem;
        const char *numbers[3], *customers[1];
        struct tracking_input in;
        struct tracking_plan plan;
};

static void plan_run(struct plan_case *c, size_t n_invoices, const struct config *cfg)
{
        c->customers[0] = "C-1";
        c->in = (struct tracking_input){
                .payment = &c->p,
                .reminder_id = c->rem.n ? RID : "",
                .reminder = &c->rem,
                .n_invoices = n_invoices,
                .invoices = c->numbers,
                .invoice_fields = c->inv,
                .n_customers = 1,
                .customers = c->customers,
                .customer_fields = &c->cust,
        };
        tracking_plan_make(&c->plan, &c->in, cfg);
}

static void plan_done(struct plan_case *c)
{
        tracking_plan_free(&c->plan);
        for (int i = 0; i < 3; i++)
                queue_fields_free(&c->inv[i]);
        queue_fields_free(&c->cust);
        queue_fields_free(&c->rem);
}

/* Whether the line's stats have field with increment by. */
static bool has_stat(const struct tracking_line *l, const char *field, int64_t by)
{
        char f[16][TRACKING_STAT_LEN];
        int64_t b[16];
        size_t n = tracking_line_stats(l, f, b, 16);
        for (size_t i = 0; i < n; i++)
                if (strcmp(f[i], field) == 0)
                        return b[i] == by;
        return false;
}

static size_t n_stats(const struct tracking_line *l)
{
        char f[16][TRACKING_STAT_LEN];
        int64_t b[16];
        return tracking_line_stats(l, f, b, 16);
}

START_TEST(test_two_partials_complete_once)
{
        struct config cfg = config();
        int64_t paid = utc(2026, 11, 2, 10, 0);
        struct plan_case c = { 0 };

        c.p.amount_cents = 400;
        c.p.paid_ms = paid;
        c.numbers[0] = "INV-1";
        c.inv[0] = invoice(paid, "0", "open");
        plan_run(&c, 1, &cfg);
        struct tracking_line *l = &c.plan.lines[0];
        ck_assert_int_eq(c.plan.outcome, TRACKING_APPLIED);
        ck_assert(l->known);
        ck_assert_int_eq(l->open_before, 1000);
        ck_assert_int_eq(l->applied_cents, 400);
        ck_assert_int_eq(l->open_after, 600);
        ck_assert(!l->completed);
        ck_assert_int_eq(c.plan.n_customers, 0);        /* no conversion yet */
        ck_assert_int_eq(c.plan.n_segments, 0);
        ck_assert(has_stat(l, "paid_cents|email|reminder-1|seg|it", 400));
        ck_assert_int_eq(n_stats(l), 1);
        plan_done(&c);

        /* The second pays the rest: the conversion, once. */
        memset(&c, 0, sizeof(c));
        c.p.amount_cents = 600;
        c.p.paid_ms = paid;
        c.numbers[0] = "INV-1";
        c.inv[0] = invoice(paid, "400", "open");
        plan_run(&c, 1, &cfg);
        l = &c.plan.lines[0];
        ck_assert_int_eq(l->open_before, 600);
        ck_assert_int_eq(l->open_after, 0);
        ck_assert(l->completed);
        ck_assert_int_eq(l->attr.kind, TRACKING_ASSISTED);
        ck_assert(has_stat(l, "assisted|email|reminder-1|seg|it", 1));
        ck_assert(has_stat(l, "paid_cents|email|reminder-1|seg|it", 600));
        ck_assert(has_stat(l, "h7|email|reminder-1|seg|it", 1));    /* 48 h */
        ck_assert_int_eq(c.plan.n_customers, 1);
        ck_assert_str_eq(c.plan.customers[0].name, "C-1");
        ck_assert_int_eq(c.plan.customers[0].add.ch[JOB_CHANNEL_EMAIL].assisted, 1);
        ck_assert_int_eq(c.plan.customers[0].add.on_time, 1);   /* 2 days after due */
        ck_assert_int_eq(c.plan.customers[0].add.hour[11], 1);  /* 10:00 UTC, CET */
        ck_assert_int_eq(c.plan.customers[0].add.wday[1], 1);   /* Monday */
        ck_assert_int_eq(c.plan.n_segments, 1);
        ck_assert_str_eq(c.plan.segments[0].name, "seg");
        ck_assert_int_eq(c.plan.segments[0].add.ch[JOB_CHANNEL_EMAIL].assisted, 1);
        ck_assert_int_eq(c.plan.segments[0].add.on_time, 1);
        plan_done(&c);

        /* A third payment on the paid invoice: kept, no second conversion. */
        memset(&c, 0, sizeof(c));
        c.p.amount_cents = 100;
        c.p.paid_ms = paid;
        c.numbers[0] = "INV-1";
        c.inv[0] = invoice(paid, "1000", "paid");
        plan_run(&c, 1, &cfg);
        l = &c.plan.lines[0];
        ck_assert(l->was_paid);
        ck_assert(!l->completed);
        ck_assert_int_eq(l->applied_cents, 100);
        ck_assert_int_eq(l->overpaid_cents, 100);
        ck_assert_int_eq(c.plan.n_customers, 0);
        ck_assert_int_eq(n_stats(l), 1);
        plan_done(&c);
}
END_TEST

START_TEST(test_overpayment)
{
        struct config cfg = config();
        int64_t paid = utc(2026, 11, 2, 10, 0);
        struct plan_case c = { 0 };

        c.p.amount_cents = 1500;
        c.p.paid_ms = paid;
        c.numbers[0] = "INV-1";
        c.inv[0] = invoice(paid, "0", "open");
        plan_run(&c, 1, &cfg);
        struct tracking_line *l = &c.plan.lines[0];
        ck_assert(l->completed);
        ck_assert_int_eq(l->applied_cents, 1500);
        ck_assert_int_eq(l->open_after, 0);
        ck_assert_int_eq(l->overpaid_cents, 500);
        ck_assert(has_stat(l, "paid_cents|email|reminder-1|seg|it", 1500));
        plan_done(&c);
}
END_TEST

START_TEST(test_reminder_covers_its_invoices_in_order)
{
        struct config cfg = config();
        int64_t paid = utc(2026, 11, 2, 10, 0);
        char sent[24];
        snprintf(sent, sizeof(sent), "%lld", (long long)(paid - 3 * HOUR_MS));

        for (int round = 0; round < 2; round++) {
                struct plan_case c = { 0 };
                c.p.amount_cents = round == 0 ? 1200 : 1600;
                c.p.paid_ms = paid;
                snprintf(c.p.reminder, sizeof(c.p.reminder), RID);
                c.rem = fields(NULL, "channel", "sms", "sent_ms", sent, "step", "reminder-1",
                               "campaign", "it", "customer", "C-1", "segment", "seg",
                               "invoices", "INV-A\nINV-B", NULL);
                c.numbers[0] = "INV-A";
                c.numbers[1] = "INV-B";
                c.inv[0] = fields(NULL, "amount_cents", "1000", "customer", "C-1", "due",
                                  "2026-10-31", NULL);
                c.inv[1] = fields(NULL, "amount_cents", "500", "customer", "C-1", "due",
                                  "2026-10-31", NULL);
                plan_run(&c, 2, &cfg);
                struct tracking_line *a = &c.plan.lines[0], *b = &c.plan.lines[1];
                ck_assert_int_eq(a->applied_cents, 1000);
                ck_assert(a->completed);
                ck_assert_int_eq(a->attr.kind, TRACKING_DIRECT);
                ck_assert_int_eq(a->attr.channel, JOB_CHANNEL_SMS);
                ck_assert_double_eq_tol(a->attr.hours, 3.0, 1e-9);
                /* The segment comes from the reminder when the invoice has none. */
                ck_assert_str_eq(a->segment, "seg");
                ck_assert(has_stat(a, "direct|sms|reminder-1|seg|it", 1));
                ck_assert(has_stat(a, "h2|sms|reminder-1|seg|it", 1));
                if (round == 0) {
                        ck_assert_int_eq(b->applied_cents, 200);
                        ck_assert_int_eq(b->open_after, 300);
                        ck_assert(!b->completed);
                        ck_assert_int_eq(c.plan.customers[0].add.ch[JOB_CHANNEL_SMS].direct, 1);
                } else {
                        ck_assert_int_eq(b->applied_cents, 600);
                        ck_assert_int_eq(b->overpaid_cents, 100);
                        ck_assert(b->completed);
                        ck_assert_int_eq(c.plan.customers[0].add.ch[JOB_CHANNEL_SMS].direct, 2);
                        ck_assert_int_eq(c.plan.customers[0].add.on_time, 2);
                }
                plan_done(&c);
        }
}
END_TEST

START_TEST(test_direct_by_rf_reference)
{
        /* tracking_apply resolves <prefix>:ref:RF... to the reminder; the
         * plan credits it like a pay link. */
        struct config cfg = config();
        int64_t paid = utc(2026, 11, 2, 10, 0);
        struct plan_case c = { 0 };
        struct error err;

        ck_assert_int_eq(tracking_set_reference(&c.p, "RF18 5390 0754 7034", &err), 0);
        c.p.amount_cents = 1000;
        c.p.paid_ms = paid;
        c.rem = fields(NULL, "channel", "letter", "sent_ms", "1", "step", "final", "campaign",
                       "it", "invoices", "INV-1", NULL);
        c.numbers[0] = "INV-1";
        c.inv[0] = invoice(paid, "0", "open");
        plan_run(&c, 1, &cfg);
        struct tracking_line *l = &c.plan.lines[0];
        ck_assert(l->completed);
        ck_assert_int_eq(l->attr.kind, TRACKING_DIRECT);
        ck_assert_int_eq(l->attr.channel, JOB_CHANNEL_LETTER);
        ck_assert_str_eq(l->attr.step, "final");
        ck_assert(has_stat(l, "direct|letter|final|seg|it", 1));
        ck_assert_int_eq(c.plan.customers[0].add.ch[JOB_CHANNEL_LETTER].direct, 1);
        plan_done(&c);
}
END_TEST

START_TEST(test_held_out_and_organic_stats)
{
        struct config cfg = config();
        int64_t paid = utc(2026, 11, 2, 10, 0);
        char held[128];
        struct plan_case c = { 0 };

        snprintf(held, sizeof(held), "%s|%lld|reminder-2|it", RID2,
                 (long long)(paid - DAY_MS));
        c.p.amount_cents = 1000;
        c.p.paid_ms = paid;
        c.numbers[0] = "INV-1";
        c.inv[0] = fields(NULL, "amount_cents", "1000", "customer", "C-1", "segment", "seg",
                          "held_out", held, NULL);
        plan_run(&c, 1, &cfg);
        struct tracking_line *l = &c.plan.lines[0];
        ck_assert_int_eq(l->attr.kind, TRACKING_HELD_OUT);
        ck_assert(has_stat(l, "organic|-|-|seg|-", 1));
        ck_assert(has_stat(l, "held_paid|-|reminder-2|seg|it", 1));
        ck_assert(has_stat(l, "paid_cents|-|reminder-2|seg|it", 1000));
        ck_assert_int_eq(n_stats(l), 3);
        /* Nothing for any channel. */
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                ck_assert_int_eq(c.plan.customers[0].add.ch[ch].direct, 0);
                ck_assert_int_eq(c.plan.customers[0].add.ch[ch].assisted, 0);
        }
        plan_done(&c);

        memset(&c, 0, sizeof(c));
        c.p.amount_cents = 1000;
        c.p.paid_ms = paid;
        c.numbers[0] = "INV-1";
        c.inv[0] = fields(NULL, "amount_cents", "1000", NULL);
        plan_run(&c, 1, &cfg);
        l = &c.plan.lines[0];
        ck_assert_int_eq(l->attr.kind, TRACKING_ORGANIC);
        ck_assert(has_stat(l, "organic|-|-|-|-", 1));
        ck_assert(has_stat(l, "paid_cents|-|-|-|-", 1000));
        ck_assert_int_eq(c.plan.n_customers, 0);        /* the invoice names none */
        ck_assert_int_eq(c.plan.n_segments, 0);
        plan_done(&c);
}
END_TEST

START_TEST(test_unknown_invoice_is_kept)
{
        struct config cfg = config();
        struct plan_case c = { 0 };

        c.p.amount_cents = 700;
        c.p.paid_ms = utc(2026, 11, 2, 10, 0);
        c.numbers[0] = "INV-9";
        /* A hash with only what an earlier unmatched payment left. */
        c.inv[0] = fields(NULL, "paid_cents", "300", NULL);
        plan_run(&c, 1, &cfg);
        struct tracking_line *l = &c.plan.lines[0];
        ck_assert(!l->known);
        ck_assert_int_eq(l->applied_cents, 700);
        ck_assert(!l->completed);
        ck_assert(has_stat(l, "unmatched|-|-|-|-", 1));
        ck_assert(has_stat(l, "paid_cents|-|-|-|-", 700));
        ck_assert_int_eq(n_stats(l), 2);
        ck_assert_int_eq(c.plan.n_customers, 0);
        plan_done(&c);
}
END_TEST

START_TEST(test_late_payments_move_the_segment)
{
        struct config cfg = config();
        int64_t paid = utc(2026, 12, 1, 10, 0);         /* a month after due */
        struct plan_case c = { 0 };

        c.p.amount_cents = 1000;
        c.p.paid_ms = paid;
        c.numbers[0] = "INV-1";
        c.inv[0] = invoice(paid, "0", "open");
        c.cust = fields(NULL, "on_time", "1", "late", "1", "days_late", "10", "segment", "new",
                        "tz", "America/New_York", NULL);
        plan_run(&c, 1, &cfg);
        struct tracking_delta *d = &c.plan.customers[0];
        ck_assert_int_eq(d->add.late, 1);
        ck_assert_int_eq(d->add.days_late, 31);
        ck_assert_int_eq(d->add.on_time, 0);
        ck_assert_str_eq(d->segment_before, "new");     /* 2 paid < min_invoices 3 */
        ck_assert_str_eq(d->segment_after, "structural-late");  /* 2 of 3 late */
        /* The customer's own zone: 10:00 UTC is 05:00 in New York, Tuesday. */
        ck_assert_int_eq(d->add.hour[5], 1);
        ck_assert_int_eq(d->add.wday[2], 1);
        ck_assert_int_eq(c.plan.segments[0].add.late, 1);
        plan_done(&c);

        /* An unknown zone falls back to default_timezone. */
        memset(&c, 0, sizeof(c));
        c.p.amount_cents = 1000;
        c.p.paid_ms = paid;
        c.numbers[0] = "INV-1";
        c.inv[0] = invoice(paid, "0", "open");
        c.cust = fields(NULL, "on_time", "5", "tz", "Mars/Olympus", NULL);
        plan_run(&c, 1, &cfg);
        d = &c.plan.customers[0];
        ck_assert_int_eq(d->add.hour[11], 1);
        ck_assert_str_eq(d->segment_before, "on-time");
        ck_assert_str_eq(d->segment_after, "on-time");  /* one late is allowed */
        plan_done(&c);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("tracking");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_parse_full);
        tcase_add_test(tc, test_parse_defaults);
        tcase_add_loop_test(tc, test_parse_errors, 0, sizeof(bad) / sizeof(bad[0]));
        tcase_add_test(tc, test_reference_and_ids);
        suite_add_tcase(s, tc);

        tc = tcase_create("attribution");
        tcase_add_test(tc, test_direct_by_reminder);
        tcase_add_test(tc, test_assisted_and_organic);
        tcase_add_test(tc, test_held_out);
        suite_add_tcase(s, tc);

        tc = tcase_create("behaviour");
        tcase_add_test(tc, test_late_and_on_time);
        tcase_add_test(tc, test_local_hour_across_dst);
        suite_add_tcase(s, tc);

        tc = tcase_create("plan");
        tcase_add_test(tc, test_two_partials_complete_once);
        tcase_add_test(tc, test_overpayment);
        tcase_add_test(tc, test_reminder_covers_its_invoices_in_order);
        tcase_add_test(tc, test_direct_by_rf_reference);
        tcase_add_test(tc, test_held_out_and_organic_stats);
        tcase_add_test(tc, test_unknown_invoice_is_kept);
        tcase_add_test(tc, test_late_payments_move_the_segment);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}
