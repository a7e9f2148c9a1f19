/* test-log.c: logfmt output, journald prefixes, PII masking. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "unit.h"

/* Runs log_event with stderr redirected to a pipe; returns the line. */
static char *capture(int journal, const char *msg, const char *k, const char *v)
{
        int fds[2], saved = dup(STDERR_FILENO);
        ck_assert_int_eq(pipe(fds), 0);
        dup2(fds[1], STDERR_FILENO);
        if (journal)
                setenv("JOURNAL_STREAM", "8:1234", 1);
        else
                unsetenv("JOURNAL_STREAM");
        log_init(LOG_INFO);
        log_event(LOG_WARNING, msg, k, v, NULL);
        dup2(saved, STDERR_FILENO);
        close(saved);
        close(fds[1]);
        static char out[4096];
        ssize_t n = read(fds[0], out, sizeof(out) - 1);
        close(fds[0]);
        out[n > 0 ? n : 0] = '\0';
        return out;
}

START_TEST(test_logfmt_line)
{
        char *line = capture(0, "send failed", "error", "connection \"refused\"");
        ck_assert_ptr_nonnull(strstr(line, "ts="));
        ck_assert_ptr_nonnull(strstr(line, " level=warning msg=\"send failed\" "
                                           "error=\"connection \\\"refused\\\"\"\n"));
}
END_TEST

START_TEST(test_journal_prefix)
{
        char *line = capture(1, "x", "k", "v");
        ck_assert_str_eq(line, "<4>level=warning msg=x k=v\n");
}
END_TEST

START_TEST(test_newline_cannot_forge_a_line)
{
        char *line = capture(1, "x", "k", "a\nlevel=error msg=forged");
        ck_assert_str_eq(line, "<4>level=warning msg=x k=\"a\\nlevel=error msg=forged\"\n");
}
END_TEST

START_TEST(test_masking_anywhere)
{
        char *line = capture(1, "x", "error", "550 user jan.devries@example.nl unknown, sms +31612345678");
        ck_assert_ptr_null(strstr(line, "jan.devries"));
        ck_assert_ptr_null(strstr(line, "12345678"));
        ck_assert_ptr_nonnull(strstr(line, "j***@example.nl"));
        ck_assert_ptr_nonnull(strstr(line, "+3161****678"));
}
END_TEST

START_TEST(test_masks)
{
        char out[64];
        log_mask_email(out, sizeof(out), "jan@example.nl");
        ck_assert_str_eq(out, "j***@example.nl");
        log_mask_email(out, sizeof(out), "@broken");
        ck_assert_str_eq(out, "***");
        log_mask_phone(out, sizeof(out), "+31612345678");
        ck_assert_str_eq(out, "+3161****678");
        log_mask_phone(out, sizeof(out), "+3212345");   /* short: 3 of 8 hidden */
        ck_assert_str_eq(out, "+32***45");
        log_mask_phone(out, sizeof(out), "+3161");
        ck_assert_str_eq(out, "***");
}
END_TEST

START_TEST(test_ids_are_not_masked)
{
        struct buf b = BUF_INIT;
        log_scrub(&b, "1700000000000-0 INV-2026-0042 r-0123456789abcdef a+b@");
        ck_assert_str_eq(buf_str(&b), "1700000000000-0 INV-2026-0042 r-0123456789abcdef a+b@");
        buf_free(&b);
}
END_TEST

START_TEST(test_levels)
{
        ck_assert_int_eq(log_level_from_name("debug"), LOG_DEBUG);
        ck_assert_int_eq(log_level_from_name("error"), LOG_ERR);
        ck_assert_int_eq(log_level_from_name("loud"), -1);
        /* Below the threshold nothing is written. */
        int fds[2], saved = dup(STDERR_FILENO);
        ck_assert_int_eq(pipe(fds), 0);
        dup2(fds[1], STDERR_FILENO);
        log_init(LOG_ERR);
        log_event(LOG_INFO, "quiet", NULL);
        log_event(LOG_ERR, "loud", NULL);
        dup2(saved, STDERR_FILENO);
        close(fds[1]);
        char out[256];
        ssize_t n = read(fds[0], out, sizeof(out) - 1);
        out[n > 0 ? n : 0] = '\0';
        ck_assert_ptr_null(strstr(out, "quiet"));
        ck_assert_ptr_nonnull(strstr(out, "loud"));
        close(fds[0]);
        close(saved);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_logfmt_line);
        tcase_add_test(tc, test_journal_prefix);
        tcase_add_test(tc, test_newline_cannot_forge_a_line);
        tcase_add_test(tc, test_masking_anywhere);
        tcase_add_test(tc, test_masks);
        tcase_add_test(tc, test_ids_are_not_masked);
        tcase_add_test(tc, test_levels);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
