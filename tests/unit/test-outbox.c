/* test-outbox.c: the file transport: layout, contents, exactly once. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "channel.h"
#include "letter.h"
#include "unit.h"

static char dir[64];
static struct config cfg;
static struct job job;

static void setup(void)
{
        strcpy(dir, "/tmp/dunningd-outbox.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        memset(&cfg, 0, sizeof(cfg));
        cfg.outbox = dir;
        memset(&job, 0, sizeof(job));
        strcpy(job.reminder_id, "r-0123456789abcdef");
}

static void teardown(void)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return NULL;
        struct buf b = BUF_INIT;
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                buf_append(&b, chunk, n);
        fclose(f);
        return buf_steal(&b);
}

static void send_one(enum job_channel ch, const struct message *m, struct send_result *res)
{
        void *s = NULL;
        struct error err;
        ck_assert_int_eq(channel_outbox.open(&s, ch, &cfg, &err), 0);
        channel_outbox.send(s, m, res);
        channel_outbox.close(s);
}

static struct message email_msg(void)
{
        struct message m = {
                .channel = JOB_CHANNEL_EMAIL, .job = &job, .reminder_id = job.reminder_id,
                .to = "jan@example.nl", .to_name = "Jan & Zn <script>",
                .from = "Acme <debiteuren@acme.example>", .subject = "Herinnering",
                .text = "Beste Jan,\nbetaal a.u.b.\n",
        };
        return m;
}

START_TEST(test_email_written_once)
{
        struct message m = email_msg();
        struct send_result res;
        char path[256];

        send_one(JOB_CHANNEL_EMAIL, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_SENT);
        ck_assert_str_eq(res.provider_id, "r-0123456789abcdef.eml");
        snprintf(path, sizeof(path), "%s/email/r-0123456789abcdef.eml", dir);
        char *first = slurp(path);
        ck_assert_ptr_nonnull(first);
        ck_assert_ptr_nonnull(strstr(first, "Message-ID: <r-0123456789abcdef@acme.example>\r\n"));
        ck_assert_ptr_nonnull(strstr(first, "To: \"Jan & Zn <script>\" <jan@example.nl>\r\n"));

        /* A redelivered job: counted as sent, the file is not touched. */
        m.text = "something else";
        send_one(JOB_CHANNEL_EMAIL, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_SENT);
        ck_assert_str_eq(res.reason, "already in outbox");
        char *second = slurp(path);
        ck_assert_str_eq(first, second);
        free(first);
        free(second);

        /* No temporary files are left behind. */
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "test $(ls -A %s/email | wc -l) -eq 1", dir);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_injection_is_permanent_failure)
{
        struct message m = email_msg();
        struct send_result res;
        m.subject = "Hi\r\nBcc: everyone@example.com";
        send_one(JOB_CHANNEL_EMAIL, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "email: subject: contains a control character");
        char path[256];
        snprintf(path, sizeof(path), "%s/email/r-0123456789abcdef.eml", dir);
        ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_sms_json)
{
        struct message m = {
                .channel = JOB_CHANNEL_SMS, .job = &job, .reminder_id = job.reminder_id,
                .to = "+31612345678", .from = "Acme", .text = "Betaal € 12,50 vandaag",
        };
        struct send_result res;
        char path[256];
        send_one(JOB_CHANNEL_SMS, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_SENT);
        snprintf(path, sizeof(path), "%s/sms/r-0123456789abcdef.json", dir);
        json_error_t jerr;
        json_t *j = json_load_file(path, 0, &jerr);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(json_string_value(json_object_get(j, "to")), "+31612345678");
        ck_assert_str_eq(json_string_value(json_object_get(j, "from")), "Acme");
        ck_assert_str_eq(json_string_value(json_object_get(j, "body")), m.text);
        ck_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "gsm7");
        ck_assert_int_eq(json_integer_value(json_object_get(j, "segments")), 1);
        json_decref(j);
}
END_TEST

START_TEST(test_letter_pdf)
{
        static const char *const creditor[] = { "Postbus 123", "3500 AA Utrecht", NULL };
        static const char *const recipient[] = { "Dorpsstraat 1", "1234 AB  Utrecht", NULL };
        struct letter_invoice inv = { "INV-1", "31 oktober 2026", "€ 12,50" };
        struct letter_input in = {
                .creditor_name = "Acme (Utrecht)", .creditor_address = creditor,
                .creditor_iban = "NL91ABNA0417164300", .recipient_name = "Zoë",
                .recipient_lines = recipient, .date_text = "22 november 2026",
                .reference = "RF18INV1", .title = "Herinnering INV-1", .invoices = &inv,
                .n_invoices = 1, .total_text = "€ 12,50", .body_text = "Beste Zoë,\n",
                .lang = "nl",
        };
        struct message m = {
                .channel = JOB_CHANNEL_LETTER, .job = &job, .reminder_id = job.reminder_id,
                .from = "Acme", .text = "Beste Zoë,\n", .letter = &in,
        };
        struct send_result res;
        char path[256];
        send_one(JOB_CHANNEL_LETTER, &m, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        snprintf(path, sizeof(path), "%s/letter/r-0123456789abcdef.pdf", dir);
        char *pdf = slurp(path);
        ck_assert_ptr_nonnull(pdf);
        ck_assert(strncmp(pdf, "%PDF-", 5) == 0);
        free(pdf);

        /* No layout data: refused, nothing written. */
        strcpy(job.reminder_id, "r-2222222222222222");
        m.reminder_id = job.reminder_id;
        m.letter = NULL;
        send_one(JOB_CHANNEL_LETTER, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_PERMFAIL);
        ck_assert_str_eq(res.reason, "letter: no layout data");
}
END_TEST

START_TEST(test_removed_directory_is_made_again)
{
        struct message m = email_msg();
        struct send_result res;
        void *s = NULL;
        struct error err;
        char cmd[256];

        ck_assert_int_eq(channel_outbox.open(&s, JOB_CHANNEL_EMAIL, &cfg, &err), 0);
        snprintf(cmd, sizeof(cmd), "rm -rf %s/email", dir);
        ck_assert_int_eq(system(cmd), 0);
        channel_outbox.send(s, &m, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%d %s", res.outcome, res.reason);

        /* A file where the directory should be: a temporary failure that
         * names the path, never a crash. */
        snprintf(cmd, sizeof(cmd), "rm -rf %s/email && touch %s/email", dir, dir);
        ck_assert_int_eq(system(cmd), 0);
        strcpy(job.reminder_id, "r-1111111111111111");
        m.reminder_id = job.reminder_id;
        channel_outbox.send(s, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_ptr_nonnull(strstr(res.reason, "/email/r-1111111111111111.eml"));
        channel_outbox.close(s);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("outbox");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_email_written_once);
        tcase_add_test(tc, test_injection_is_permanent_failure);
        tcase_add_test(tc, test_sms_json);
        tcase_add_test(tc, test_letter_pdf);
        tcase_add_test(tc, test_removed_directory_is_made_again);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
