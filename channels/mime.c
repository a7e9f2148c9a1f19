/* mime.c: building RFC 5322 messages that no input can break. */
#include "mime.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool has_control(const char *s)
{
        for (; s && *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static bool is_ascii(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s >= 0x80)
                        return false;
        return true;
}

static void base64(struct buf *out, const unsigned char *p, size_t n)
{
        static const char tab[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t)p[i + 1] << 8;
                if (i + 2 < n)
                        v |= p[i + 2];
                buf_putc(out, tab[(v >> 18) & 63]);
                buf_putc(out, tab[(v >> 12) & 63]);
                buf_putc(out, i + 1 < n ? tab[(v >> 6) & 63] : '=');
                buf_putc(out, i + 2 < n ? tab[v & 63] : '=');
        }
}

/* Appends value as encoded words; col is the current column. Each word
 * holds as many whole base64 groups as fit in the line (at most 45 bytes
 * on a continuation line: 1 + 12 + 60 columns) and never splits a UTF-8
 * sequence, so every line stays within 76 columns. */
static void encoded_words(struct buf *out, const char *value, size_t col)
{
        const unsigned char *p = (const unsigned char *)value;
        size_t left = strlen(value);

        while (left > 0) {
                size_t room = col + 12 < 76 ? (76 - col - 12) / 4 * 3 : 0;
                size_t n = left < room ? left : room;
                /* Back off at most the 3 continuation bytes a character
                 * can have: more means the text is not UTF-8 there, and
                 * backing off to 0 on a fresh line would fold forever. */
                for (int k = 0; k < 3 && n < left && n > 0 && (p[n] & 0xC0) == 0x80; k++)
                        n--;
                if (n == 0) {
                        /* No room left on this line: fold. */
                        buf_puts(out, "\r\n ");
                        col = 1;
                        continue;
                }
                buf_puts(out, "=?UTF-8?B?");
                base64(out, p, n);
                buf_puts(out, "?=");
                col += 12 + (n + 2) / 3 * 4;
                p += n;
                left -= n;
                if (left > 0) {
                        buf_puts(out, "\r\n ");
                        col = 1;
                }
        }
}

/* True when value may be written as it is: printable ASCII only (a CR or
 * LF would end the header early, and mime_header_text is exported: it
 * must not rely on mime_compose's check of its caller's values), and no
 * "=?" that a mail reader would decode as an encoded word, showing other
 * text than was given. Everything else becomes encoded words. */
static bool plain_text(const char *s)
{
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                        return false;
        return !strstr(s, "=?");
}

void mime_header_text(struct buf *out, const char *name, const char *value)
{
        buf_printf(out, "%s: ", name);
        if (plain_text(value) && strlen(name) + 2 + strlen(value) <= 998)
                buf_puts(out, value);
        else
                encoded_words(out, value, strlen(name) + 2);
        buf_puts(out, "\r\n");
}

/* "Name <addr>" with the display name quoted or encoded as needed. */
static void mailbox(struct buf *out, const char *header, const char *name, const char *addr)
{
        buf_printf(out, "%s: ", header);
        if (name && *name) {
                /* Quoted, every character at most escaped, plus the
                 * address (<= 254) must fit RFC 5322's 998 columns: a
                 * longer name is folded as encoded words instead. */
                if (is_ascii(name) && strlen(name) <= 350) {
                        buf_putc(out, '"');
                        for (const char *p = name; *p; p++) {
                                if (*p == '"' || *p == '\\')
                                        buf_putc(out, '\\');
                                buf_putc(out, *p);
                        }
                        buf_putc(out, '"');
                } else {
                        encoded_words(out, name, strlen(header) + 2);
                }
                buf_putc(out, ' ');
        }
        buf_printf(out, "<%s>\r\n", addr);
}

void mime_base64_lines(struct buf *out, const void *data, size_t n)
{
        const unsigned char *p = data;

        for (size_t i = 0; i < n; i += 57) {
                base64(out, p + i, n - i < 57 ? n - i : 57);
                buf_puts(out, "\r\n");
        }
}

void mime_message_id(char *out, size_t size, const char *reminder_id, const char *from)
{
        const char *at = from ? strrchr(from, '@') : NULL;
        char domain[200] = "localhost";

        if (at) {
                snprintf(domain, sizeof(domain), "%s", at + 1);
                domain[strcspn(domain, "> ")] = '\0';
        }
        snprintf(out, size, "%s@%s", reminder_id, domain);
}

void mime_qp_encode(struct buf *out, const char *text)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(text), col = 0;

        /* Room for the worst case once (every byte =XX, a soft break every
         * 25 bytes, the last CRLF), then bytes straight into the buffer:
         * this runs over every e-mail's text and HTML, and checking the
         * room per byte was a twentieth of a worker's time. */
        if (out->len + 4 * n + 3 > out->cap)
                buf_grow(out, 4 * n + 3);
        char *o = out->data + out->len;
        for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
                if (*p == '\r' && p[1] == '\n')
                        continue;
                if (*p == '\n') {
                        *o++ = '\r';
                        *o++ = '\n';
                        col = 0;
                        continue;
                }
                bool trailing_ws = (*p == ' ' || *p == '\t') &&
                                   (p[1] == '\n' || p[1] == '\0' || (p[1] == '\r' && p[2] == '\n'));
                bool literal = (*p >= 33 && *p <= 126 && *p != '=') ||
                               ((*p == ' ' || *p == '\t') && !trailing_ws);
                /* A leading "." is encoded so no SMTP server ever sees a
                 * lone dot line or has to stuff it. */
                if (col == 0 && *p == '.')
                        literal = false;
                size_t w = literal ? 1 : 3;
                if (col + w > 75) {
                        memcpy(o, "=\r\n", 3);
                        o += 3;
                        col = 0;
                }
                if (literal) {
                        *o++ = (char)*p;
                } else {
                        o[0] = '=';
                        o[1] = hex[*p >> 4];
                        o[2] = hex[*p & 15];
                        o += 3;
                }
                col += w;
        }
        if (col > 0) {
                *o++ = '\r';
                *o++ = '\n';
        }
        out->len = (size_t)(o - out->data);
        *o = '\0';
}

static bool name_ok(const char *s)
{
        static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789._-";
        size_t n = s ? strlen(s) : 0;

        return n > 0 && n <= 100 && s[strspn(s, ok)] == '\0';
}

/* The text part, or multipart/alternative of text and html, headers first. */
static void alternative(struct buf *out, const struct mime_message *m, const char *boundary)
{
        if (m->html) {
                buf_printf(out, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n",
                           boundary);
                buf_printf(out, "--%s\r\n", boundary);
        }
        buf_puts(out, "Content-Type: text/plain; charset=UTF-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        mime_qp_encode(out, m->text);
        if (m->html) {
                buf_printf(out, "--%s\r\n", boundary);
                buf_puts(out, "Content-Type: text/html; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
                mime_qp_encode(out, m->html);
                buf_printf(out, "--%s--\r\n", boundary);
        }
}

static int split_from(const char *from, struct buf *name, struct buf *addr)
{
        const char *lt = strrchr(from, '<');
        if (!lt) {
                buf_puts(addr, from);
                return 0;
        }
        const char *gt = strchr(lt, '>');
        if (!gt || gt[1] != '\0')
                return -EINVAL;
        const char *s = from, *e = lt;
        while (s < e && *s == ' ')
                s++;
        while (e > s && e[-1] == ' ')
                e--;
        if (e - s >= 2 && *s == '"' && e[-1] == '"') {
                s++;
                e--;
        }
        buf_append(name, s, (size_t)(e - s));
        buf_append(addr, lt + 1, (size_t)(gt - lt - 1));
        return 0;
}

/* An address as SMTP carries it in a header: printable ASCII only (an
 * 8-bit address needs SMTPUTF8, which nothing here negotiates, and a raw
 * 8-bit header breaks RFC 5322), at most 254 bytes (RFC 5321), so the
 * header line stays within 998 columns, one '@' with text on both sides
 * and nothing that would need quoting. */
static bool addr_ok(const char *a)
{
        const char *at = strchr(a, '@');
        if (strlen(a) > 254)
                return false;
        for (const char *p = a; *p; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                        return false;
        return at && at != a && at[1] && !strchr(at + 1, '@') && !strpbrk(a, " <>()\",;:\\[]");
}

int mime_compose(struct buf *out, const struct mime_message *m, struct error *err)
{
        static const struct {
                const char *what;
                size_t off;
        } checks[] = {
                { "from", offsetof(struct mime_message, from) },
                { "to", offsetof(struct mime_message, to) },
                { "to name", offsetof(struct mime_message, to_name) },
                { "reply-to", offsetof(struct mime_message, reply_to) },
                { "subject", offsetof(struct mime_message, subject) },
                { "message-id", offsetof(struct mime_message, message_id) },
                { "list-unsubscribe", offsetof(struct mime_message, list_unsubscribe) },
                { "attachment name", offsetof(struct mime_message, attachment_name) },
        };
        struct buf fname = BUF_INIT, faddr = BUF_INIT;
        int rc = 0;

        for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
                const char *v = *(const char *const *)((const char *)m + checks[i].off);
                if (has_control(v)) {
                        rc = error_set(err, -EINVAL, "%s: contains a control character",
                                       checks[i].what);
                        goto out;
                }
        }
        if (!m->from || split_from(m->from, &fname, &faddr) < 0 || !addr_ok(buf_str(&faddr))) {
                rc = error_set(err, -EINVAL, "from: not a valid mailbox");
                goto out;
        }
        if (!m->to || !addr_ok(m->to)) {
                rc = error_set(err, -EINVAL, "to: not a valid address");
                goto out;
        }
        if (m->reply_to && !addr_ok(m->reply_to)) {
                rc = error_set(err, -EINVAL, "reply-to: not a valid address");
                goto out;
        }
        if (!m->text || !m->subject || !m->message_id) {
                rc = error_set(err, -EINVAL, "message: subject, text and message-id are required");
                goto out;
        }
        if (!addr_ok(m->message_id)) {
                rc = error_set(err, -EINVAL, "message-id: not of the form id@domain");
                goto out;
        }
        if (m->list_unsubscribe &&
            (!is_ascii(m->list_unsubscribe) || strlen(m->list_unsubscribe) > 900)) {
                rc = error_set(err, -EINVAL, "list-unsubscribe: not ASCII or too long");
                goto out;
        }
        if (m->attachment && !name_ok(m->attachment_name)) {
                rc = error_set(err, -EINVAL, "attachment name: not 1-100 of A-Z a-z 0-9 . _ -");
                goto out;
        }

        char date[64];
        struct tm tm;
        gmtime_r(&m->date, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);

        mailbox(out, "From", buf_str(&fname), buf_str(&faddr));
        mailbox(out, "To", m->to_name, m->to);
        if (m->reply_to)
                buf_printf(out, "Reply-To: <%s>\r\n", m->reply_to);
        mime_header_text(out, "Subject", m->subject);
        buf_printf(out, "Date: %s\r\n", date);
        buf_printf(out, "Message-ID: <%s>\r\n", m->message_id);
        buf_puts(out, "Auto-Submitted: auto-generated\r\n");
        if (m->list_unsubscribe)
                buf_printf(out, "List-Unsubscribe: %s\r\n", m->list_unsubscribe);
        buf_puts(out, "MIME-Version: 1.0\r\n");
        /* The boundaries: "=_" (never produced by quoted-printable or
         * base64 lines) and the id's local part ('@' is not allowed),
         * capped so they stay within RFC 2046's 70 characters. */
        char alt[128], mixed[128];
        int local = (int)strcspn(m->message_id, "@");
        if (local > 48)
                local = 48;
        snprintf(alt, sizeof(alt), "=_dunningd_%.*s", local, m->message_id);
        snprintf(mixed, sizeof(mixed), "=_dunningd_mixed_%.*s", local, m->message_id);
        if (!m->attachment) {
                alternative(out, m, alt);
                goto out;
        }
        buf_printf(out, "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n\r\n", mixed);
        buf_printf(out, "--%s\r\n", mixed);
        alternative(out, m, alt);
        size_t n = strlen(m->attachment_name);
        const char *type = n > 4 && !strcasecmp(m->attachment_name + n - 4, ".pdf")
                                   ? "application/pdf"
                                   : "application/octet-stream";
        buf_printf(out, "--%s\r\n", mixed);
        buf_printf(out, "Content-Type: %s; name=\"%s\"\r\n", type, m->attachment_name);
        buf_printf(out, "Content-Disposition: attachment; filename=\"%s\"\r\n",
                   m->attachment_name);
        buf_puts(out, "Content-Transfer-Encoding: base64\r\n\r\n");
        mime_base64_lines(out, m->attachment, m->attachment_len);
        buf_printf(out, "--%s--\r\n", mixed);
out:
        buf_free(&fname);
        buf_free(&faddr);
        return rc;
}
