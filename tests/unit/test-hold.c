/* test-hold.c: the hold field's format, and what the hashes a batch reads
 * say about a job: held until when, and whether an installment reminder
 * may go (hold.c, pure part). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hold.h"
#include "job.h"
#include "unit.h"

#define H (3600 * INT64_C(1000))

static const char job_text[] =
        "{\"v\":1,\"campaign\":\"c\",\"step\":\"reminder-1\",\"customer\":{\"id\":\"C-1\","
        "\"name\":\"A\",\"locale\":\"nl-NL\",\"email\":\"a@example.nl\"},\"invoices\":[{"
        "\"number\":\"I-1\",\"amount_cents\":1000,\"currency\":\"EUR\",\"due\":\"2026-11-01\"}]}";

static const char inst_text[] =
        "{\"v\":1,\"campaign\":\"arrangement-A-1\",\"step\":\"installment\",\"customer\":{\"id\":"
        "\"C-1\",\"name\":\"A\",\"locale\":\"nl-NL\",\"email\":\"a@example.nl\"},\"invoices\":[{"
        "\"number\":\"I-1\",\"amount_cents\":1000,\"currency\":\"EUR\",\"due\":\"2026-11-01\"}],"
        "\"installment\":{\"arrangement\":\"A-1\",\"number\":2,\"of\":3,\"amount_cents\":300,"
        "\"cum_cents\":600,\"base_paid_cents\":100,\"due\":\"2026-12-01\"}}";

static struct job *parse(const char *text)
{
        struct job *j = NULL;
        struct error err;
        ck_assert_msg(job_parse(&j, text, strlen(text), &err) == 0, "%s", err.msg);
        return j;
}

/* A hash of n field/value pairs. */
static struct queue_fields fields(char **kv, size_t n)
{
        struct queue_fields f = { .kv = kv, .n = n };
        return f;
}

START_TEST(test_format_roundtrip)
{
        struct hold h = { .reason = HOLD_DISPUTE, .until_ms = 0, .since_ms = 1700000000000 };
        snprintf(h.note, sizeof(h.note), "says it was|never delivered\nat all");
        char text[512];
        hold_format(&h, text, sizeof(text));
        ck_assert_str_eq(text, "dispute|0|1700000000000|says it was|never delivered at all");
        struct hold back;
        ck_assert_int_eq(hold_parse(text, &back), 0);
        ck_assert_int_eq(back.reason, HOLD_DISPUTE);
        ck_assert_int_eq(back.since_ms, 1700000000000);
        ck_assert_str_eq(back.note, "says it was|never delivered at all");
        static const char *const bad[] = { "", "dispute", "nope|0|0|", "dispute|x|0|",
                                           "dispute|0|", "dispute|-1|0|", "other|1|2x|" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(hold_parse(bad[i], &back) < 0, "%s", bad[i]);
        ck_assert_int_eq(hold_parse("other|5|4", &back), 0);
        ck_assert_int_eq(back.until_ms, 5);
        ck_assert_int_eq(hold_reason_from_name("arrangement"), HOLD_ARRANGEMENT);
        ck_assert_int_eq(hold_reason_from_name("paused"), -1);
}
END_TEST

START_TEST(test_invoice_hold_open_and_timed)
{
        struct job *j = parse(job_text);
        int64_t now = 1800000000000;
        struct hold_state s = { 0 };
        int64_t resume = 0;
        /* nothing on hold */
        char *none[] = { "amount_cents", "1000" };
        struct queue_fields f = fields(none, 1);
        hold_state_add(&s, j, &f, true, now);
        ck_assert_ptr_null(hold_gate(j, &s, now, 24 * H, &resume));

        /* open: looked at again after recheck */
        char *open[] = { "hold", "dispute|0|1|" };
        f = fields(open, 1);
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, j, &f, true, now);
        ck_assert_str_eq(hold_gate(j, &s, now, 24 * H, &resume), "held");
        ck_assert_int_eq(resume, now + 24 * H);
        ck_assert_str_eq(s.reason, "dispute");

        /* until in 2 hours: resumes then, not a day later */
        char until[64];
        snprintf(until, sizeof(until), "other|%lld|1|", (long long)(now + 2 * H));
        char *timed[] = { "hold", until };
        f = fields(timed, 1);
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, j, &f, true, now);
        ck_assert_str_eq(hold_gate(j, &s, now, 24 * H, &resume), "held");
        ck_assert_int_eq(resume, now + 2 * H);
        /* ...and once that time passed, no longer held */
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, j, &f, true, now + 2 * H);
        ck_assert_ptr_null(hold_gate(j, &s, now + 2 * H, 24 * H, &resume));

        /* a customer's hold holds every invoice; the longest hold wins */
        char *cust[] = { "hold", "other|0|1|" };
        struct queue_fields cf = fields(cust, 1);
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, j, &f, true, now);
        hold_state_add(&s, j, &cf, false, now);
        ck_assert_int_eq(s.until_ms, HOLD_OPEN);
        /* an unreadable hold field holds nothing (and does not crash) */
        char *junk[] = { "hold", "dispute|soon" };
        f = fields(junk, 1);
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, j, &f, true, now);
        ck_assert_ptr_null(hold_gate(j, &s, now, 24 * H, &resume));
        job_free(j);
}
END_TEST

START_TEST(test_arrangement_stops_normal_dunning)
{
        struct job *j = parse(job_text), *in = parse(inst_text);
        int64_t now = 1800000000000, resume;
        char *arr[] = { "arrangement", "A-1", "paid_cents", "100" };
        struct queue_fields f = fields(arr, 2);
        struct hold_state s = { 0 };
        hold_state_add(&s, j, &f, true, now);
        ck_assert_str_eq(hold_gate(j, &s, now, 24 * H, &resume), "held");
        ck_assert_str_eq(s.reason, "arrangement");
        /* its own installment reminder goes: 100 paid before, none since */
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, in, &f, true, now);
        ck_assert_ptr_null(hold_gate(in, &s, now, 24 * H, &resume));
        /* 599 paid since: the second installment (600 with the first) is not covered */
        char *part[] = { "arrangement", "A-1", "paid_cents", "699" };
        f = fields(part, 2);
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, in, &f, true, now);
        ck_assert_ptr_null(hold_gate(in, &s, now, 24 * H, &resume));
        char *covered[] = { "arrangement", "A-1", "paid_cents", "700" };
        f = fields(covered, 2);
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, in, &f, true, now);
        ck_assert_str_eq(hold_gate(in, &s, now, 24 * H, &resume), "installment-paid");
        /* lapsed (the mark is gone) or another arrangement: not sent */
        char *gone[] = { "paid_cents", "100" };
        f = fields(gone, 1);
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, in, &f, true, now);
        ck_assert_str_eq(hold_gate(in, &s, now, 24 * H, &resume), "arrangement-ended");
        char *other[] = { "arrangement", "A-9" };
        f = fields(other, 1);
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, in, &f, true, now);
        ck_assert_str_eq(hold_gate(in, &s, now, 24 * H, &resume), "held");
        /* a dispute holds installment reminders too */
        char *disp[] = { "arrangement", "A-1", "hold", "dispute|0|1|" };
        f = fields(disp, 2);
        memset(&s, 0, sizeof(s));
        hold_state_add(&s, in, &f, true, now);
        ck_assert_str_eq(hold_gate(in, &s, now, 24 * H, &resume), "held");
        job_free(j);
        job_free(in);
}
END_TEST

START_TEST(test_installment_ids_differ)
{
        struct job *a = parse(inst_text);
        char other[sizeof(inst_text) + 8];
        snprintf(other, sizeof(other), "%s", inst_text);
        char *n = strstr(other, "\"number\":2");
        ck_assert_ptr_nonnull(n);
        n[9] = '3';
        struct job *b = parse(other);
        ck_assert_str_ne(a->reminder_id, b->reminder_id);
        ck_assert_int_eq(b->installment->number, 3);
        ck_assert_str_eq(a->installment->due, "2026-12-01");
        job_free(a);
        job_free(b);
        /* a malformed installment is an invalid job naming the field */
        struct job *j = NULL;
        struct error err;
        char bad[sizeof(inst_text) + 8];
        snprintf(bad, sizeof(bad), "%s", inst_text);
        memcpy(strstr(bad, "\"of\":3"), "\"of\":1", 6);
        ck_assert_int_eq(job_parse(&j, bad, strlen(bad), &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "installment.number"));
}
END_TEST

START_TEST(test_summary)
{
        char *kv[] = { "disputes", "4", "flagged", "1700000000000|3", "hold", "dispute|0|5|x" };
        struct queue_fields f = fields(kv, 3);
        struct hold_summary s;
        hold_summary_of(&f, 1800000000000, &s);
        ck_assert_int_eq(s.disputes, 4);
        ck_assert_int_eq(s.flagged_ms, 1700000000000);
        ck_assert(s.held);
        ck_assert_str_eq(s.hold.note, "x");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("hold");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_format_roundtrip);
        tcase_add_test(tc, test_invoice_hold_open_and_timed);
        tcase_add_test(tc, test_arrangement_stops_normal_dunning);
        tcase_add_test(tc, test_installment_ids_differ);
        tcase_add_test(tc, test_summary);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
