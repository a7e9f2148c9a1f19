/* test-mime.c: message composition and header injection. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        const char *ct = strstr(s, "Content-Type: multipart/alternative;\r\n boundary=\"=_dunningd_r-0123456789abcdef\"");
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

static int b64val(char c)
{
        static const char tab[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = strchr(tab, c);
        return c && p ? (int)(p - tab) : -1;
}

/* Decodes n base64 characters into out; returns the byte count. */
static size_t b64dec(const char *in, size_t n, unsigned char *out)
{
        size_t len = 0;
        uint32_t v = 0;
        int bits = 0;
        for (size_t i = 0; i < n && in[i] != '='; i++) {
                int d = b64val(in[i]);
                ck_assert_int_ge(d, 0);
                v = (v << 6) | (uint32_t)d;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[len++] = (unsigned char)(v >> bits);
                }
        }
        return len;
}

/* Whether p[0..n-1] is whole UTF-8 sequences. */
static int whole_utf8(const unsigned char *p, size_t n)
{
        for (size_t i = 0; i < n;) {
                size_t k = p[i] < 0x80 ? 1 : p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : p[i] >= 0xC0 ? 2 : 0;
                if (k == 0 || i + k > n)
                        return 0;
                for (size_t j = 1; j < k; j++)
                        if ((p[i + j] & 0xC0) != 0x80)
                                return 0;
                i += k;
        }
        return 1;
}

START_TEST(test_encoded_word_split_points)
{
        /* 1-, 2-, 3- and 4-byte characters at every offset. */
        const char *subjects[] = {
                "Herinnering: € 12,50 voor Zoë — factuur 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀 ééé",
                "a€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€",
                "ab😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
                "abcëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëë",
        };
        for (size_t t = 0; t < sizeof(subjects) / sizeof(subjects[0]); t++) {
                struct buf b = BUF_INIT, joined = BUF_INIT;
                mime_header_text(&b, "Subject", subjects[t]);
                const char *s = buf_str(&b);
                /* every line within 76 columns, continuation lines folded */
                for (const char *line = s; *line;) {
                        const char *nl = strstr(line, "\r\n");
                        ck_assert_ptr_nonnull(nl);
                        ck_assert_int_le(nl - line, 76);
                        if (line != s)
                                ck_assert_int_eq(line[0], ' ');
                        line = nl + 2;
                }
                /* each encoded word decodes to whole characters; together
                 * they give the subject back */
                int words = 0;
                for (const char *w = s; (w = strstr(w, "=?UTF-8?B?"));) {
                        w += 10;
                        const char *end = strstr(w, "?=");
                        ck_assert_ptr_nonnull(end);
                        unsigned char dec[128];
                        size_t n = b64dec(w, (size_t)(end - w), dec);
                        ck_assert_msg(whole_utf8(dec, n), "word %d of subject %zu splits a character",
                                      words, t);
                        buf_append(&joined, (const char *)dec, n);
                        words++;
                        w = end + 2;
                }
                ck_assert_int_gt(words, 1);
                ck_assert_str_eq(buf_str(&joined), subjects[t]);
                buf_free(&b);
                buf_free(&joined);
        }
}
END_TEST

START_TEST(test_qp_soft_breaks)
{
        struct buf b = BUF_INIT, dec = BUF_INIT;
        char text[1200] = "";
        for (int i = 0; i < 100; i++)
                strcat(text, i % 3 ? "€x" : "a=b ");
        strcat(text, "\nshort\n");
        mime_qp_encode(&b, text);
        const char *s = buf_str(&b);
        int soft = 0;
        for (const char *line = s; *line;) {
                const char *nl = strstr(line, "\r\n");
                ck_assert_ptr_nonnull(nl);
                size_t n = (size_t)(nl - line);
                ck_assert_int_le(n, 76);
                /* a soft break is an '=' ending the line (the loop below
                 * checks that every other '=' starts an =XX escape) */
                int is_soft = n > 0 && line[n - 1] == '=';
                soft += is_soft;
                for (size_t i = 0; i < n; i++) {
                        if (line[i] == '=' && i + 1 < n) {
                                char hex[3] = { line[i + 1], line[i + 2], 0 };
                                ck_assert_int_lt(i + 2, n);
                                buf_putc(&dec, (char)strtol(hex, NULL, 16));
                                i += 2;
                        } else if (line[i] != '=') {
                                buf_putc(&dec, line[i]);
                        }
                }
                if (!is_soft)
                        buf_putc(&dec, '\n');
                line = nl + 2;
        }
        ck_assert_int_gt(soft, 3);
        ck_assert_str_eq(buf_str(&dec), text);
        buf_free(&b);
        buf_free(&dec);
}
END_TEST

START_TEST(test_injection_in_new_headers)
{
        const char *evil = "x@y.z\r\nBcc: all@example.com";
        struct mime_message m = base();
        struct buf b = BUF_INIT;
        struct error err;
        m.reply_to = evil;
        ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "reply-to: contains a control character");
        m = base();
        m.list_unsubscribe = "<mailto:u@acme.example>\nBcc: x@y.z";
        ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "list-unsubscribe: contains a control character");
        m = base();
        m.attachment = "x";
        m.attachment_len = 1;
        m.attachment_name = "a.pdf\r\nContent-Type: text/html";
        ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "attachment name: contains a control character");
        m.attachment_name = "a\".pdf";
        ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "attachment name: not 1-100 of A-Z a-z 0-9 . _ -");
        m.attachment_name = NULL;
        ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
        ck_assert_uint_eq(b.len, 0);   /* nothing written on refusal */
        buf_free(&b);
}
END_TEST

/* Runs tests/data/mime_check.py (Python's email package) on data. */
static json_t *parse_with_python(const char *data, size_t len)
{
        char path[] = "/tmp/test-mime-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
        close(fd);
        const char *root = getenv("DUNNINGD_SOURCE_ROOT");
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/data/mime_check.py %s",
                 root ? root : ".", path);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        json_error_t je;
        json_t *j = json_loadf(p, 0, &je);
        ck_assert_int_eq(pclose(p), 0);
        unlink(path);
        ck_assert_msg(j != NULL, "mime_check.py: %s", je.text);
        return j;
}

static const char *jstr(json_t *j, const char *key)
{
        const char *v = json_string_value(json_object_get(j, key));
        ck_assert_msg(v != NULL, "no %s in the parsed message", key);
        return v;
}

START_TEST(test_full_message_parsed_by_python)
{
        unsigned char pdf[3000];
        for (size_t i = 0; i < sizeof(pdf); i++)
                pdf[i] = (unsigned char)(i * 7 + (i >> 8));
        memcpy(pdf, "%PDF-1.4\n", 9);
        struct mime_message m = base();
        m.subject = "Laatste aanmaning — € 1.234,56 voor Zoë Çelik 😀 factuur INV-2026-000123";
        m.to_name = "Zoë Çelik";
        m.text = "Beste Zoë,\n\nU bent € 1.234,56 verschuldigd.\n.\nGroet\n";
        m.html = "<p>Beste Zo&euml;,</p>\n<p>U bent <b>€ 1.234,56</b> verschuldigd.</p>\n";
        m.reply_to = "debiteuren@acme.example";
        m.list_unsubscribe = "<mailto:afmelden@acme.example>";
        m.attachment = pdf;
        m.attachment_len = sizeof(pdf);
        m.attachment_name = "aanmaning-INV-1.pdf";
        struct buf b = BUF_INIT;
        struct error err;
        ck_assert_int_eq(mime_compose(&b, &m, &err), 0);

        json_t *j = parse_with_python(buf_str(&b), b.len);
        ck_assert_str_eq(jstr(j, "structure"),
                         "multipart/mixed(multipart/alternative(text/plain,text/html),"
                         "application/pdf)");
        ck_assert_int_eq(json_integer_value(json_object_get(j, "defects")), 0);
        ck_assert(json_is_true(json_object_get(j, "crlf")));
        ck_assert_int_le(json_integer_value(json_object_get(j, "longest_line")), 76);
        ck_assert_str_eq(jstr(j, "subject"), m.subject);
        ck_assert_str_eq(jstr(j, "to"), "Zoë Çelik <jan@example.nl>");
        ck_assert_str_eq(jstr(j, "from"), "Acme Energie <debiteuren@acme.example>");
        ck_assert_str_eq(jstr(j, "reply-to"), "debiteuren@acme.example");
        ck_assert_str_eq(jstr(j, "list-unsubscribe"), "<mailto:afmelden@acme.example>");
        ck_assert_str_eq(jstr(j, "auto-submitted"), "auto-generated");
        ck_assert_str_eq(jstr(j, "message-id"), "<r-0123456789abcdef@acme.example>");
        ck_assert_str_eq(jstr(j, "text"), m.text);
        ck_assert_str_eq(jstr(j, "html"), m.html);
        ck_assert_str_eq(jstr(j, "attachment_name"), "aanmaning-INV-1.pdf");
        ck_assert_str_eq(jstr(j, "attachment_type"), "application/pdf");
        char hex[sizeof(pdf) * 2 + 1];
        for (size_t i = 0; i < sizeof(pdf); i++)
                snprintf(hex + 2 * i, 3, "%02x", pdf[i]);
        ck_assert_str_eq(jstr(j, "attachment_hex"), hex);
        json_decref(j);
        buf_free(&b);
}
END_TEST

/* Found by tests/fuzz/fuzz-mime.c (inputs in tests/fuzz/regressions/mime). */

/* No line of s is longer than max columns; CR only in CRLF. */
static void assert_lines_within(const char *s, size_t max)
{
        size_t col = 0;
        for (; *s; s++) {
                if (*s == '\r') {
                        ck_assert_int_eq(s[1], '\n');
                } else if (*s == '\n') {
                        col = 0;
                } else {
                        col++;
                        ck_assert_uint_le(col, max);
                }
        }
}

START_TEST(test_header_text_any_value)
{
        struct buf b = BUF_INIT;
        /* mime_header_text is exported: a CR or LF in a value is encoded,
         * never written, whoever forgot to check it. */
        mime_header_text(&b, "Subject", "Rechnung\r\nBcc: all@example.org");
        ck_assert_str_eq(buf_str(&b),
                         "Subject: =?UTF-8?B?UmVjaG51bmcNCkJjYzogYWxsQGV4YW1wbGUub3Jn?=\r\n");
        buf_reset(&b);
        /* Plain text that a reader would decode is encoded itself. */
        mime_header_text(&b, "Subject", "=?UTF-8?B?SGFja2Vk?= pay now");
        ck_assert_ptr_null(strstr(buf_str(&b), "SGFja2Vk?= pay"));
        ck_assert_ptr_nonnull(strstr(buf_str(&b), "Subject: =?UTF-8?B?PT9VVEYtOD9CP1NHRmphMlZrPz0gcGF5IG5vdw==?="));
        buf_free(&b);
}
END_TEST

START_TEST(test_header_text_invalid_utf8_ends)
{
        /* 60 continuation bytes: backing off to a character boundary used
         * to fold forever (the worker hung, its buffer growing). */
        char v[80] = "Zahlung ";
        memset(v + 8, 0xab, 60);
        v[68] = '\0';
        struct buf b = BUF_INIT;
        mime_header_text(&b, "Subject", v);
        ck_assert_uint_lt(b.len, 400);
        assert_lines_within(buf_str(&b), 76);
        buf_free(&b);
}
END_TEST

START_TEST(test_addresses_ascii_and_short)
{
        struct mime_message m = base();
        struct buf b = BUF_INIT;
        struct error err;
        /* A raw 8-bit header (no SMTPUTF8 here) or a line over 998. */
        m.to = "\xbburgen@example.de";
        ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "to: not a valid address");
        char longaddr[300];
        memset(longaddr, 'a', sizeof(longaddr));
        memcpy(longaddr + 280, "@example.nl", 12);
        m.to = longaddr;
        ck_assert_int_eq(mime_compose(&b, &m, &err), -EINVAL);
        ck_assert_uint_eq(b.len, 0);
        /* A long ASCII display name is folded, not one 1,000-column line. */
        char name[1200];
        memset(name, 'N', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        m = base();
        m.to_name = name;
        ck_assert_int_eq(mime_compose(&b, &m, &err), 0);
        assert_lines_within(buf_str(&b), 998);
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
        tcase_add_test(tc, test_encoded_word_split_points);
        tcase_add_test(tc, test_qp_soft_breaks);
        tcase_add_test(tc, test_injection_in_new_headers);
        tcase_add_test(tc, test_full_message_parsed_by_python);
        tcase_add_test(tc, test_header_text_any_value);
        tcase_add_test(tc, test_header_text_invalid_utf8_ends);
        tcase_add_test(tc, test_addresses_ascii_and_short);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
