/* test-tracking.c: payments in, against a real Redis: `dunningctl paid`
 * applies once per payment id; the daemon's payments thread applies the
 * payments stream (invoices paid, events, day stats, customer and segment
 * history, a customer's segment moving after late payments), ignores
 * duplicates, keeps payments for unknown invoices, acks malformed entries
 * with an event, takes over a dead consumer's entries, survives a Redis
 * restart; and one payment by RF reference for a reminder the worker sent. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "epcqr.h"
#include "harness.h"

#define P HARNESS_PREFIX ":"
#define DAY_MS (86400 * INT64_C(1000))
#define RID_A "r-00000000000000a1"
#define RID_S "r-0000000000000071"

/* The UTC date of ms, "YYYY-MM-DD". */
static void utc_date(int64_t ms, char out[11])
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, 11, "%Y-%m-%d", &tm);
}

/* A hash field as a number, 0 when missing. */
static long long hnum(struct harness *h, const char *key, const char *field)
{
        char *v = harness_redis_str(h, "HGET %s %s", key, field);
        long long n = v ? atoll(v) : 0;
        free(v);
        return n;
}

static char *hstr(struct harness *h, const char *key, const char *field)
{
        return harness_redis_str(h, "HGET %s %s", key, field);
}

/* An invoice as the worker writes it on a send. last_ms 0: no touch. */
static void put_invoice(struct harness *h, const char *number, int amount, int64_t due_ms,
                        const char *customer, const char *segment, const char *ch,
                        const char *rid, int64_t last_ms)
{
        char key[128], due[11], last[160], amt[16];
        snprintf(key, sizeof(key), P "invoice:%s", number);
        snprintf(amt, sizeof(amt), "%d", amount);
        utc_date(due_ms, due);
        harness_redis_cmd(h, "HSET %s amount_cents %s currency EUR due %s customer %s segment %s "
                          "status open paid_cents 0", key, amt, due, customer, segment);
        if (last_ms) {
                snprintf(last, sizeof(last), "%s|%s|%lld|reminder-1|it", ch, rid,
                         (long long)last_ms);
                harness_redis_cmd(h, "HSET %s last %s", key, last);
        }
}

/* The payments group's pending entries (-1: no group). */
static long long payments_pending(struct harness *h)
{
        redisReply *r = redisCommand(h->redis, "XPENDING " P "payments dunningd");
        long long n = -1;
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
            r->element[0]->type == REDIS_REPLY_INTEGER)
                n = r->element[0]->integer;
        freeReplyObject(r);
        return n;
}

/* XADD to the payments stream: the entry id (owned). fields_fmt is in
 * hiredis's format: words, and %s for one argument each. */
static char *pay(struct harness *h, const char *fields_fmt, ...)
{
        char fmt[512];
        va_list ap;
        snprintf(fmt, sizeof(fmt), "XADD " P "payments * %s", fields_fmt);
        va_start(ap, fields_fmt);
        redisReply *r = redisvCommand(h->redis, fmt, ap);
        va_end(ap);
        ck_assert_msg(r && r->type == REDIS_REPLY_STRING, "%s: %s", fmt,
                      r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply");
        char *id = strdup(r->str);
        freeReplyObject(r);
        return id;
}

struct field_wait {
        struct harness *h;
        char key[160];
        const char *field, *want;
};

static bool field_is(void *arg)
{
        struct field_wait *w = arg;
        char *v = hstr(w->h, w->key, w->field);
        bool ok = v && strcmp(v, w->want) == 0;
        free(v);
        return ok;
}

static void wait_field(struct harness *h, const char *key, const char *field, const char *want)
{
        struct field_wait w = { .h = h, .field = field, .want = want };
        snprintf(w.key, sizeof(w.key), "%s", key);
        bool ok = harness_wait_until(field_is, &w, 20000);
        char *v = hstr(h, key, field);
        ck_assert_msg(ok, "%s %s: %s, expected %s", key, field, v ? v : "(nil)", want);
        free(v);
}

static void wait_paid(struct harness *h, const char *number)
{
        char key[128];
        snprintf(key, sizeof(key), P "invoice:%s", number);
        wait_field(h, key, "status", "paid");
}

struct log_wait {
        const struct harness_daemon *d;
        const char *a, *b;
};

static bool log_has(void *arg)
{
        struct log_wait *w = arg;
        return harness_daemon_log_lines(w->d, w->a, w->b, NULL) >= 1;
}

static void wait_log(const struct harness_daemon *d, const char *a, const char *b)
{
        struct log_wait w = { d, a, b };
        ck_assert_msg(harness_wait_until(log_has, &w, 20000), "no log line with \"%s\" and \"%s\"",
                      a, b);
}

START_TEST(test_ctl_paid_applies_once)
{
        struct harness *h = harness_new();
        struct harness_ctl r;
        int64_t now = harness_now_ms();
        char day[11], rf[EPCQR_RF_MAX + 1], sent[24], field[160];
        struct error err;

        utc_date(now, day);
        put_invoice(h, "INV-1", 1000, now + 10 * DAY_MS, "C-1", "on-time", "email", RID_A,
                    now - DAY_MS);
        snprintf(sent, sizeof(sent), "%lld", (long long)(now - DAY_MS));
        harness_redis_cmd(h, "HSET " P "reminder:" RID_A " channel email sent_ms %s step "
                          "reminder-1 campaign it customer C-1 segment on-time invoices INV-1",
                          sent);
        ck_assert_int_eq(epcqr_rf_make(rf, "INV-1", &err), 0);
        /* The reference as history wrote it before it named the
         * invoice: the reminder's id (such keys outlive an upgrade). */
        harness_redis_cmd(h, "SET " P "ref:%s " RID_A, rf);

        /* A partial payment, then the same one again: nothing changes. */
        harness_ctl_run(h, &r, "paid", "INV-1", "--amount-cents", "400", "--id", "bank-1", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_msg(strstr(r.out, "applied: INV-1 open 1000 -> 600 cents, not paid yet"), "%s",
                      r.out);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "paid", "INV-1", "--amount-cents", "400", "--id", "bank-1", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "duplicate: payment bank-1 was recorded before; nothing "
                                    "changed"), "%s", r.out);
        harness_ctl_free(&r);
        ck_assert_int_eq(hnum(h, P "invoice:INV-1", "paid_cents"), 400);
        ck_assert_int_gt(harness_redis_int(h, "TTL " P "payment:bank-1"), 300 * 86400);

        /* The rest by bank transfer quoting the letter's RF reference
         * (written the way people type it): direct to that reminder. */
        char spaced[64];
        snprintf(spaced, sizeof(spaced), "%.4s %s", rf, rf + 4);
        harness_ctl_run(h, &r, "--json", "paid", "INV-1", "--amount-cents", "600", "--reference",
                        spaced, "--method", "transfer", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        json_error_t jerr;
        json_t *root = json_loads(r.out, 0, &jerr);
        ck_assert_msg(root, "%s: %s", jerr.text, r.out);
        ck_assert_str_eq(json_string_value(json_object_get(root, "outcome")), "applied");
        ck_assert_str_eq(json_string_value(json_object_get(root, "reminder")), RID_A);
        json_t *line = json_array_get(json_object_get(root, "invoices"), 0);
        ck_assert(json_is_true(json_object_get(line, "completed")));
        ck_assert_int_eq(json_integer_value(json_object_get(line, "open_after_cents")), 0);
        json_t *attr = json_object_get(line, "attribution");
        ck_assert_str_eq(json_string_value(json_object_get(attr, "reason")), "direct");
        ck_assert_str_eq(json_string_value(json_object_get(attr, "channel")), "email");
        ck_assert_str_eq(json_string_value(json_object_get(attr, "reminder")), RID_A);
        json_decref(root);
        harness_ctl_free(&r);

        char *status = hstr(h, P "invoice:INV-1", "status");
        ck_assert_str_eq(status, "paid");
        free(status);
        ck_assert_int_eq(hnum(h, P "invoice:INV-1", "paid_cents"), 1000);
        ck_assert_int_gt(hnum(h, P "invoice:INV-1", "paid_ms"), now - 1000);
        char stats[64];
        snprintf(stats, sizeof(stats), P "stats:%s", day);
        ck_assert_int_eq(hnum(h, stats, "direct|email|reminder-1|on-time|it"), 1);
        ck_assert_int_eq(hnum(h, stats, "paid_cents|email|reminder-1|on-time|it"), 1000);
        ck_assert_int_eq(hnum(h, stats, "h6|email|reminder-1|on-time|it"), 1);   /* 24 h */
        ck_assert_int_eq(hnum(h, P "customer:C-1", "direct:email"), 1);
        ck_assert_int_eq(hnum(h, P "customer:C-1", "on_time"), 1);
        char *seg = hstr(h, P "customer:C-1", "segment");
        ck_assert_str_eq(seg, "new");
        free(seg);
        ck_assert_int_eq(hnum(h, P "segment:on-time", "direct:email"), 1);
        ck_assert_int_eq(hnum(h, P "segment:on-time", "on_time"), 1);
        ck_assert_uint_eq(harness_events_with(h, "paid", "invoice", "INV-1"), 2);
        ck_assert_uint_eq(harness_events_with(h, "paid", "reason", "partial"), 1);
        ck_assert_uint_eq(harness_events_with(h, "attributed", "reason", "direct"), 1);
        ck_assert_uint_eq(harness_events_with(h, "attributed", NULL, NULL), 1);
        ck_assert_int_gt(harness_redis_int(h, "TTL %s", stats), 300 * 86400);

        /* Without --id the command's own words are the id: twice is once.
         * An invoice nobody told us of keeps the money and says so. */
        for (int i = 0; i < 2; i++) {
                harness_ctl_run(h, &r, "paid", "INV-2", "--amount-cents", "500", NULL);
                ck_assert_msg(r.status == 0, "%s", r.err);
                ck_assert_msg(strstr(r.out, i == 0 ? "kept: INV-2 is not a known invoice"
                                                   : "duplicate: payment ctl:"),
                              "%s", r.out);
                harness_ctl_free(&r);
        }
        ck_assert_int_eq(hnum(h, P "invoice:INV-2", "paid_cents"), 500);
        ck_assert_uint_eq(harness_events_with(h, "paid", "reason", "unknown-invoice"), 1);
        ck_assert_int_eq(hnum(h, stats, "unmatched|-|-|-|-"), 1);
        snprintf(field, sizeof(field), "%s", "paid_cents|-|-|-|-");
        ck_assert_int_eq(hnum(h, stats, field), 500);

        /* Wrong usage: exit 2 with the reason. */
        harness_ctl_run(h, &r, "paid", "INV-1", NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strstr(r.err, "--amount-cents is required"), "%s", r.err);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "paid", "INV-1", "--amount-cents", "-5", NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strstr(r.err, "--amount-cents: must be more than 0 cents"), "%s", r.err);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "paid", "INV-1", "--amount-cents", "5", "--at", "later", NULL);
        ck_assert_int_eq(r.status, 2);
        harness_ctl_free(&r);
        /* --at takes Unix seconds, as dead --since and stats --since do. */
        harness_ctl_run(h, &r, "paid", "INV-UNIX", "--amount-cents", "5", "--at", "1732000000",
                        "--json", NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_msg(strstr(r.out, "\"paid_at\": \"2024-11-19T07:06:40Z\""), "%s", r.out);
        harness_ctl_free(&r);
        harness_ctl_run(h, &r, "paid", "--help", NULL);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, "same command twice changes nothing"), "%s", r.out);
        harness_ctl_free(&r);
        harness_free(h);
}
END_TEST

START_TEST(test_stream_payments_teach_the_history)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        int64_t now = harness_now_ms();
        char day[11], paid_at[32], stats[64];

        utc_date(now, day);
        harness_rfc3339(now, paid_at);
        snprintf(stats, sizeof(stats), P "stats:%s", day);
        /* Three invoices 40 days overdue, reminded by SMS two days ago. */
        for (int i = 1; i <= 3; i++) {
                char number[16];
                snprintf(number, sizeof(number), "INV-7%d", i);
                put_invoice(h, number, 2000, now - 40 * DAY_MS, "C-7", "new", "sms", RID_S,
                            now - 2 * DAY_MS);
        }
        char *id = pay(h, "type payment source stream provider_id p-71 invoice INV-71 "
                          "amount_cents 2000 paid_at %s method transfer", paid_at);
        free(id);
        wait_paid(h, "INV-71");
        harness_wait_events(h, "attributed", "invoice", "INV-71", 1);
        char *seg = hstr(h, P "customer:C-7", "segment");
        ck_assert_str_eq(seg, "new");           /* one invoice says little */
        free(seg);

        for (int i = 2; i <= 3; i++) {
                char pid[8], inv[8];
                snprintf(pid, sizeof(pid), "p-7%d", i);
                snprintf(inv, sizeof(inv), "INV-7%d", i);
                id = pay(h, "type payment provider_id %s invoice %s amount_cents 2000 "
                            "paid_at %s", pid, inv, paid_at);
                free(id);
        }
        wait_paid(h, "INV-72");
        wait_paid(h, "INV-73");
        /* Three late payments: the customer moves on by itself. */
        wait_field(h, P "customer:C-7", "segment", "structural-late");
        wait_log(d, "customer moved to another segment", "structural-late");
        ck_assert_int_eq(hnum(h, P "customer:C-7", "assisted:sms"), 3);
        ck_assert_int_eq(hnum(h, P "customer:C-7", "late"), 3);
        ck_assert_int_eq(hnum(h, P "customer:C-7", "on_time"), 0);
        ck_assert_int_eq(hnum(h, P "customer:C-7", "days_late"), 120);
        long long hours = 0, wdays = 0;
        for (int i = 0; i < 24; i++) {
                char f[16];
                snprintf(f, sizeof(f), "hour:%d", i);
                hours += hnum(h, P "customer:C-7", f);
                if (i < 7) {
                        snprintf(f, sizeof(f), "wday:%d", i);
                        wdays += hnum(h, P "customer:C-7", f);
                }
        }
        ck_assert_int_eq(hours, 3);
        ck_assert_int_eq(wdays, 3);
        ck_assert_int_eq(hnum(h, P "segment:new", "assisted:sms"), 3);
        ck_assert_int_eq(hnum(h, P "segment:new", "late"), 3);
        ck_assert_int_eq(hnum(h, stats, "assisted|sms|reminder-1|new|it"), 3);
        ck_assert_int_eq(hnum(h, stats, "paid_cents|sms|reminder-1|new|it"), 6000);
        ck_assert_int_eq(hnum(h, stats, "h7|sms|reminder-1|new|it"), 3);       /* 48 h */
        ck_assert_uint_eq(harness_events_with(h, "attributed", "channel", "sms"), 3);
        ck_assert_uint_eq(harness_events_with(h, "paid", "source", "stream"), 3);
        ck_assert_uint_eq(harness_events_with(h, "paid", "provider_id", "p-71"), 1);
        int st;
        char *m = harness_http(d, "GET", "/metrics", &st);
        ck_assert_int_eq(st, 200);
        ck_assert_msg(strstr(m, "dunningd_payments_total{attribution=\"assisted\",channel=\"sms\"} 3\n"),
                      "%s", m);
        free(m);

        /* The same payment again (a producer retried): nothing changes. */
        id = pay(h, "type payment provider_id p-71 invoice INV-71 amount_cents 2000 paid_at %s",
                 paid_at);
        free(id);
        wait_log(d, "payment seen before, nothing changed", "p-71");
        ck_assert_int_eq(hnum(h, P "invoice:INV-71", "paid_cents"), 2000);
        ck_assert_uint_eq(harness_events_with(h, "paid", "provider_id", "p-71"), 1);
        ck_assert_int_eq(hnum(h, stats, "paid_cents|sms|reminder-1|new|it"), 6000);
        ck_assert_int_eq(hnum(h, P "customer:C-7", "late"), 3);
        ck_assert_int_eq(payments_pending(h), 0);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

START_TEST(test_unknown_and_malformed_entries)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        int64_t now = harness_now_ms();
        char day[11], stats[64];

        utc_date(now, day);
        snprintf(stats, sizeof(stats), P "stats:%s", day);
        put_invoice(h, "INV-5", 100, now, "C-5", "new", NULL, NULL, 0);

        char *unknown = pay(h, "type payment provider_id p-404 invoice INV-404 amount_cents 300");
        char *noreminder = pay(h, "type payment provider_id p-rem reminder r-00000000000000ff "
                                  "amount_cents 200");
        char *negative = pay(h, "provider_id p-bad invoice INV-5 amount_cents -5");
        char *nothing = pay(h, "amount_cents 100 method cash");
        char *other = pay(h, "type paylink status expired provider_id tr_x");
        char *good = pay(h, "type payment provider_id p-good invoice INV-5 amount_cents 100");
        /* The good one after the bad ones: the daemon kept going. */
        wait_paid(h, "INV-5");
        harness_wait_events(h, "failed", "reason", "bad-payment", 2);

        struct harness_entry *e;
        size_t n = harness_xrange(h, P "events", &e), seen = 0;
        for (size_t i = 0; i < n; i++) {
                const char *type = harness_entry_get(&e[i], "type");
                if (strcmp(type, "failed") != 0)
                        continue;
                const char *entry = harness_entry_get(&e[i], "entry");
                const char *error = harness_entry_get(&e[i], "error");
                ck_assert_ptr_nonnull(entry);
                if (strcmp(entry, negative) == 0) {
                        ck_assert_str_eq(error, "amount_cents: must be more than 0 cents, not -5");
                        ck_assert_str_eq(harness_entry_get(&e[i], "provider_id"), "p-bad");
                } else {
                        ck_assert_str_eq(entry, nothing);
                        ck_assert_str_eq(error,
                                         "invoice: missing, and no reminder or reference names one");
                }
                seen++;
        }
        harness_entries_free(e, n);
        ck_assert_uint_eq(seen, 2);

        /* Kept and reported: money for an invoice we do not know. */
        harness_wait_events(h, "paid", "reason", "unknown-invoice", 1);
        harness_wait_events(h, "paid", "reason", "unknown-reminder", 1);
        ck_assert_int_eq(hnum(h, P "invoice:INV-404", "paid_cents"), 300);
        ck_assert_uint_eq(harness_events_with(h, "paid", "invoice", "INV-404"), 1);
        ck_assert_int_eq(hnum(h, stats, "unmatched|-|-|-|-"), 2);
        ck_assert_int_eq(hnum(h, stats, "paid_cents|-|-|-|-"), 500);
        wait_log(d, "payment for an unknown invoice kept", "INV-404");
        /* INV-5 had no reminder: organic. */
        ck_assert_int_eq(hnum(h, stats, "organic|-|-|new|-"), 1);
        ck_assert_uint_eq(harness_events_with(h, "attributed", "reason", "organic"), 1);
        /* Everything acked, the paylink entry without an event. */
        ck_assert_int_eq(payments_pending(h), 0);
        ck_assert_uint_eq(harness_events_with(h, "paid", "provider_id", "tr_x"), 0);
        ck_assert_uint_eq(harness_events_with(h, "failed", "provider_id", "tr_x"), 0);
        ck_assert(harness_daemon_running(d));
        ck_assert_int_eq(harness_xlen(h, "payments"), 6);  /* nothing deleted */
        free(unknown);
        free(noreminder);
        free(negative);
        free(nothing);
        free(other);
        free(good);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

START_TEST(test_takeover_and_redis_restart)
{
        struct harness *h = harness_new();
        int64_t now = harness_now_ms();

        put_invoice(h, "INV-8", 800, now, "C-8", "new", NULL, NULL, 0);
        put_invoice(h, "INV-9", 900, now, "C-8", "new", NULL, NULL, 0);
        /* A consumer of another instance took the payment and died. */
        harness_redis_cmd(h, "XGROUP CREATE " P "payments dunningd 0 MKSTREAM");
        char *id = pay(h, "type payment provider_id p-8 invoice INV-8 amount_cents 800");
        free(id);
        harness_redis_cmd(h, "XREADGROUP GROUP dunningd gone-1-payments COUNT 10 STREAMS "
                          P "payments >");
        ck_assert_int_eq(payments_pending(h), 1);
        struct harness_daemon *d = harness_daemon_start(h);
        wait_paid(h, "INV-8");          /* after claim_idle_ms */
        ck_assert_int_eq(payments_pending(h), 0);

        /* Redis goes away and comes back: the thread reconnects. */
        harness_redis_restart(h);
        id = pay(h, "type payment provider_id p-9 invoice INV-9 amount_cents 900");
        free(id);
        wait_paid(h, "INV-9");
        ck_assert_int_eq(payments_pending(h), 0);
        ck_assert_uint_eq(harness_events_with(h, "paid", "invoice", "INV-8"), 1);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

START_TEST(test_end_to_end_payment_by_reference)
{
        /* Customer 1 prefers SMS; the worker sends INV-1's reminder and
         * stores its RF reference. A transfer quoting that reference,
         * without the invoice number, pays it, credited to the SMS. */
        struct harness *h = harness_new();
        struct harness_ctl r;
        char rid[19], rf[EPCQR_RF_MAX + 1], day[11], stats[64];
        struct error err;

        harness_reminder_id(1, rid);
        char *path = harness_write_jobs(h, "jobs.jsonl", 1, 1, NULL);
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        harness_ctl_free(&r);
        free(path);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_uint_eq(harness_wait_sent(h, 1, 20000), 1);
        ck_assert_int_eq(epcqr_rf_make(rf, "INV-1", &err), 0);
        char *id = pay(h, "type payment source stream provider_id bank-e2e reference %s "
                          "amount_cents 1001 method transfer", rf);
        free(id);
        wait_paid(h, "INV-1");
        harness_wait_events(h, "attributed", "reminder", rid, 1);
        ck_assert_uint_eq(harness_events_with(h, "attributed", "reason", "direct"), 1);
        ck_assert_uint_eq(harness_events_with(h, "attributed", "channel", "sms"), 1);
        ck_assert_int_eq(hnum(h, P "customer:C-1", "direct:sms"), 1);
        ck_assert_int_eq(hnum(h, P "customer:C-1", "late"), 1);    /* due 2026-10-31 */
        utc_date(harness_now_ms(), day);
        snprintf(stats, sizeof(stats), P "stats:%s", day);
        ck_assert_int_eq(hnum(h, stats, "direct|sms|reminder-1|new|it"), 1);
        ck_assert_int_eq(hnum(h, stats, "paid_cents|sms|reminder-1|new|it"), 1001);
        ck_assert_int_eq(hnum(h, P "segment:new", "direct:sms"), 1);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("tracking");
        TCase *tc = tcase_create("tracking");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_ctl_paid_applies_once);
        tcase_add_test(tc, test_stream_payments_teach_the_history);
        tcase_add_test(tc, test_unknown_and_malformed_entries);
        tcase_add_test(tc, test_takeover_and_redis_restart);
        tcase_add_test(tc, test_end_to_end_payment_by_reference);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(suite());
}
