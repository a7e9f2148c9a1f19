/* fuzz-mime.c: MIME composition of arbitrary header values (mime_compose,
 * mime_header_text).
 *
 * Input: NUL-separated fields: subject, to name, from, to, reply-to,
 * list-unsubscribe, message-id, text, html, attachment name, attachment;
 * a missing field takes a valid default so short inputs still compose.
 *
 * Beyond "no crash", the header-injection property: in every message, CR
 * and LF occur only together as a line end, a header line that does not
 * start with white space (a fold) starts one of the header names
 * mime_compose writes, each of From, To, Subject exactly once; header
 * lines are ASCII within RFC 5322's 998 columns; and the Subject, unfolded
 * and decoded (RFC 2047), is the subject given. mime_header_text, which
 * anyone may call, keeps the same promise for any value at all. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fuzz.h"
#include "job.h"
#include "mime.h"

static const char *const known[] = {
        "From", "To", "Reply-To", "Subject", "Date", "Message-ID", "Auto-Submitted",
        "List-Unsubscribe", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
};

/* CR and LF only as CRLF, no line over 998 columns, anywhere. */
static void check_lines(const char *m, size_t len)
{
        size_t col = 0;
        for (size_t i = 0; i < len; i++) {
                if (m[i] == '\r') {
                        FUZZ_ASSERT(i + 1 < len && m[i + 1] == '\n', "bare CR at %zu", i);
                } else if (m[i] == '\n') {
                        FUZZ_ASSERT(i > 0 && m[i - 1] == '\r', "bare LF at %zu", i);
                        col = 0;
                        continue;
                }
                FUZZ_ASSERT(m[i] == '\r' || ++col <= 998, "line over 998 columns at %zu", i);
        }
        FUZZ_ASSERT(len >= 2 && m[len - 2] == '\r' && m[len - 1] == '\n', "no final CRLF");
}

static int b64val(char c)
{
        const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = c ? strchr(tab, c) : NULL;
        return p ? (int)(p - tab) : -1;
}

/* Unfolds and decodes a header value written by mime_header_text (plain
 * ASCII, or encoded words separated by folding white space) into out. */
static void decode_value(struct buf *out, const char *v, size_t len)
{
        struct buf unfolded = BUF_INIT;
        for (size_t i = 0; i < len; i++) {
                if (v[i] == '\r') {
                        FUZZ_ASSERT(v[i + 1] == '\n' && i + 2 < len && v[i + 2] == ' ',
                                    "CRLF in a value that is not a fold");
                        i += 1;   /* the fold's space is dropped below */
                        continue;
                }
                buf_putc(&unfolded, v[i]);
        }
        const char *s = buf_str(&unfolded);
        if (strncmp(s, "=?UTF-8?B?", 10) != 0) {
                buf_puts(out, s);
                goto out;
        }
        /* encoded words, each followed by one space (the fold) or the end */
        while (*s) {
                FUZZ_ASSERT(strncmp(s, "=?UTF-8?B?", 10) == 0, "not an encoded word: %s", s);
                const char *end = strstr(s + 10, "?=");
                FUZZ_ASSERT(end, "unterminated encoded word");
                FUZZ_ASSERT(end + 2 - s <= 75, "encoded word of %d columns", (int)(end + 2 - s));
                struct buf word = BUF_INIT;
                const char *p = s + 10;
                FUZZ_ASSERT((end - p) % 4 == 0, "base64 length");
                for (; p < end; p += 4) {
                        int a = b64val(p[0]), b = b64val(p[1]), c = b64val(p[2]),
                            d = b64val(p[3]);
                        FUZZ_ASSERT(a >= 0 && b >= 0, "base64");
                        buf_putc(&word, (char)(a << 2 | b >> 4));
                        if (p[2] != '=')
                                buf_putc(&word, (char)((b & 15) << 4 | c >> 2));
                        if (p[3] != '=')
                                buf_putc(&word, (char)((c & 3) << 6 | d));
                }
                buf_append(out, word.data ? word.data : "", word.len);
                buf_free(&word);
                s = end + 2;
                if (*s == ' ')
                        s++;
        }
out:
        buf_free(&unfolded);
}

/* The header section of m: names, counts (whole: a whole message), the
 * Subject. */
static void check_headers(const char *m, bool whole, const char *subject)
{
        const char *end = strstr(m, "\r\n\r\n");
        int from = 0, to = 0, subj = 0;

        FUZZ_ASSERT(end, "no end of headers");
        for (const char *line = m; line < end + 2;) {
                const char *eol = strstr(line, "\r\n");
                for (const char *p = line; p < eol; p++)
                        FUZZ_ASSERT((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
                                    "byte 0x%02x in a header", (unsigned char)*p);
                if (*line != ' ' && *line != '\t') {
                        const char *colon = memchr(line, ':', (size_t)(eol - line));
                        FUZZ_ASSERT(colon, "header line without a name: %.*s",
                                    (int)(eol - line), line);
                        size_t n = (size_t)(colon - line);
                        bool ok = false;
                        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                                ok = ok || (strlen(known[i]) == n && !strncmp(known[i], line, n));
                        FUZZ_ASSERT(ok, "injected header: %.*s", (int)(eol - line), line);
                        from += n == 4 && !strncmp(line, "From", 4);
                        to += n == 2 && !strncmp(line, "To", 2);
                        if (n == 7 && !strncmp(line, "Subject", 7)) {
                                subj++;
                                /* the value runs to the next unfolded line */
                                const char *vend = eol;
                                while (vend[2] == ' ' || vend[2] == '\t')
                                        vend = strstr(vend + 2, "\r\n");
                                struct buf got = BUF_INIT;
                                decode_value(&got, colon + 2, (size_t)(vend - colon - 2));
                                FUZZ_ASSERT(strcmp(buf_str(&got), subject) == 0,
                                            "Subject reads back as '%s', not '%s'",
                                            buf_str(&got), subject);
                                buf_free(&got);
                        }
                }
                line = eol + 2;
        }
        FUZZ_ASSERT(subj == 1 && (!whole || (from == 1 && to == 1)),
                    "From %d, To %d, Subject %d", from, to, subj);
}

static const char *opt(const struct fuzz_fields *ff, size_t i, const char *dflt)
{
        return i < ff->n ? ff->f[i] : dflt;
}

static const char *opt_null(const struct fuzz_fields *ff, size_t i)
{
        return i < ff->n && ff->f[i][0] ? ff->f[i] : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct fuzz_fields ff;
        struct error err = { "" };
        struct buf out = BUF_INIT;

        fuzz_split(&ff, data, size, 11);
        struct mime_message m = {
                .subject = ff.f[0],
                .to_name = opt_null(&ff, 1),
                .from = opt(&ff, 2, "Acme Billing <billing@acme.example>"),
                .to = opt(&ff, 3, "jan@example.nl"),
                .reply_to = opt_null(&ff, 4),
                .list_unsubscribe = opt_null(&ff, 5),
                .message_id = opt(&ff, 6, "r-0123456789abcdef@acme.example"),
                .text = opt(&ff, 7, "Please pay."),
                .html = opt_null(&ff, 8),
                .attachment_name = opt(&ff, 9, "letter.pdf"),
                .date = 1795000000,
        };
        const char *att = opt_null(&ff, 10);
        if (att) {
                m.attachment = att;
                m.attachment_len = strlen(att);
        }
        if (mime_compose(&out, &m, &err) == 0) {
                check_lines(out.data, out.len);
                check_headers(out.data, true, m.subject);
        } else {
                FUZZ_ASSERT(err.msg[0] && out.len == 0, "failure");
        }

        /* Any value, control characters included, through the exported
         * header writer: still one header, and it reads back. */
        buf_reset(&out);
        mime_header_text(&out, "Subject", ff.f[0]);
        buf_puts(&out, "\r\n");
        check_lines(out.data, out.len);
        check_headers(out.data, false, ff.f[0]);
        buf_free(&out);
        fuzz_fields_free(&ff);
        return 0;
}
