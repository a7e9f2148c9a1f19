/* test-mime.c: message composition and header injection. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "unit.h"

static struct mime_message base(void)
{
        struct mime_message m = {
                .from = "Acme Energie <debiteuren@acme.example>",
                .to = "jan@example.nl",
                .to_name = "Jan de Vries",
                .subject = "Payment reminder INV-1",
                .text = "Dear Jan,\n\nPlease pay.\n",
                .message_id = "r-0123456789abcdef@acme.example",
                .date = 1763800000,
        };
        return m;
}

START_TEST(test_plain_message)
{
        struct mime_message m = base();
        struct buf b = BUF_INIT;
        struct error err;
        ck_assert_int_eq(mime_compose(&b, &m, &err), 0);
        const char *s = buf_str(&b);
        ck_assert_ptr_nonnull(strstr(s, "From: \"Acme Energie\" <debiteuren@acme.example>\r\n"));
        ck_assert_ptr_nonnull(strstr(s, "To: \"Jan de Vries\" <jan@example.nl>\r\n"));
        ck_assert_ptr_nonnull(strstr(s, "Subject: Payment reminder INV-1\r\n"));
        ck_assert_ptr_nonnull(strstr(s, "Message-ID: <r-0123456789abcdef@acme.example>\r\n"));
        ck_assert_ptr_nonnull(strstr(s, "Date: Sat, 22 Nov 2025 08:26:40 +0000\r\n"));
        ck_assert_ptr_nonnull(strstr(s, "Auto-Submitted: auto-generated\r\n"));
        ck_assert_ptr_nonnull(strstr(s, "\r\n\r\nDear Jan,\r\n\r\nPlease pay.\r\n"));
        /* Every line ends in CRLF: no bare LF anywhere. */
        for (size_t i = 0; i < b.len; i++)
                if (s[i] == '\n')
                        ck_assert_int_eq(s[i - 1], '\r');
        buf_free(&b);
}
END_TEST

START_TEST(test_header_injection_refused)
{
        const char *evil[] = { "Hi\r\nBcc: all@example.com", "Hi\nBcc: x@y.z", "Hi\rX: y" };
        for (size_t i = 0; i < 3; i++) {
                struct mime_message m = base();
                struct buf b = BUF_INIT;
                struct error err;
                m.subject = evil[i];
                ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
                ck_assert_str_eq(err.msg, "subject: contains a control character");
                m = base();
                m.to_name = evil[i];
                ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
                ck_assert_str_eq(err.msg, "to name: contains a control character");
                buf_free(&b);
        }
        struct mime_message m = base();
        struct buf b = BUF_INIT;
        struct error err;
        m.to = "jan@example.nl>\r\nBcc: x@y.z";
        ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
        m = base();
        m.to = "a@b.c, d@e.f";
        ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "to: not a valid address");
        buf_free(&b);
}
END_TEST

START_TEST(test_quotes_in_display_name)
{
        struct mime_message m = base();
        struct buf b = BUF_INIT;
        struct error err;
        m.to_name = "Jan \"de\" Vries & Zn\\";
        ck_assert_int_eq(mime_compose(&b, &m, &err), 0);
        ck_assert_ptr_nonnull(strstr(buf_str(&b), "To: \"Jan \\\"de\\\" Vries & Zn\\\\\" <jan@example.nl>\r\n"));
        buf_free(&b);
}
END_TEST

START_TEST(test_encoded_words)
{
        struct buf b = BUF_INIT;
        mime_header_text(&b, "Subject", "Betalingsherinnering voor Zoë Çelik");
        ck_assert_str_eq(buf_str(&b),
                         "Subject: =?UTF-8?B?QmV0YWxpbmdzaGVyaW5uZXJpbmcgdm9vciBab8OrIMOHZWxpaw==?=\r\n");
        buf_reset(&b);
        /* A long subject: every line at most 76 columns, never a split
         * UTF-8 sequence inside one encoded word. */
        mime_header_text(&b, "Subject", "ëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëë");
        const char *s = buf_str(&b);
        size_t col = 0;
        for (; *s; s++) {
                if (*s == '\n') {
                        ck_assert_int_le(col, 77);
                        col = 0;
                } else {
                        col++;
                }
        }
        buf_free(&b);
}
END_TEST

START_TEST(test_quoted_printable)
{
        struct buf b = BUF_INIT;
        mime_qp_encode(&b, "Totaal: € 12,50 = veel\n.dot\ntrailing \n");
        ck_assert_str_eq(buf_str(&b), "Totaal: =E2=82=AC 12,50 =3D veel\r\n=2Edot\r\ntrailing=20\r\n");
        buf_reset(&b);
        char long_line[300];
        memset(long_line, 'x', sizeof(long_line) - 1);
        long_line[sizeof(long_line) - 1] = '\0';
        mime_qp_encode(&b, long_line);
        const char *s = buf_str(&b);
        const char *nl;
        while ((nl = strstr(s, "\r\n")) != NULL) {
                ck_assert_int_le(nl - s, 76);
                s = nl + 2;
        }
        buf_free(&b);
}
END_TEST

START_TEST(test_alternative)
{
        struct mime_message m = base();
        struct buf b = BUF_INIT;
        struct error err;
        m.html = "<p>Dear Jan</p>";
        ck_assert_int_eq(mime_compose(&b, &m, &err), 0);
        const char *s = buf_str(&b);
        const char *ct = strstr(s, "Content-Type: multipart/alternative; boundary=\"=_dunningd_r-0123456789abcdef\"");
        ck_assert_ptr_nonnull(ct);
        const char *txt = strstr(s, "Content-Type: text/plain");
        const char *html = strstr(s, "Content-Type: text/html");
        ck_assert_ptr_nonnull(txt);
        ck_assert_ptr_nonnull(html);
        ck_assert(txt < html);   /* text first, html last */
        ck_assert_ptr_nonnull(strstr(s, "--=_dunningd_r-0123456789abcdef--\r\n"));
        buf_free(&b);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("mime");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_plain_message);
        tcase_add_test(tc, test_header_injection_refused);
        tcase_add_test(tc, test_quotes_in_display_name);
        tcase_add_test(tc, test_encoded_words);
        tcase_add_test(tc, test_quoted_printable);
        tcase_add_test(tc, test_alternative);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
