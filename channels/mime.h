/* mime.h: RFC 5322 / 2045 / 2047 message composition; pure.
 *
 * Header injection is impossible by construction: a CR, LF or other
 * control character in any header value makes mime_compose fail; it is
 * never passed through. Non-ASCII header text becomes RFC 2047 encoded
 * words folded at 76 columns; bodies are UTF-8 quoted-printable with CRLF
 * line endings. */
#pragma once

#include <time.h>

#include "buf.h"
#include "error.h"

struct mime_message {
        const char *from;        /* "Display Name <addr@domain>" or "addr@domain" */
        const char *to;          /* addr@domain */
        const char *to_name;     /* display name or NULL */
        const char *reply_to;    /* addr or NULL */
        const char *subject;
        const char *text;        /* text/plain part (required) */
        const char *html;        /* text/html part or NULL */
        const char *message_id;  /* without the angle brackets */
        const char *list_unsubscribe; /* List-Unsubscribe value ("<mailto:...>") or NULL */
        time_t date;
        /* An optional attachment (the letter PDF of a final notice): the
         * message becomes multipart/mixed with it in base64. Borrowed;
         * the name may only hold A-Z a-z 0-9 . _ - (application/pdf when
         * it ends in .pdf, else application/octet-stream). */
        const void *attachment;
        size_t attachment_len;
        const char *attachment_name;
};

/* Appends the complete message to out. -EINVAL with err naming the header
 * ("subject: contains a control character") when a value is unsafe. */
int mime_compose(struct buf *out, const struct mime_message *m, struct error *err);

/* Appends n bytes as base64 in lines of 76 columns, each ending in CRLF. */
void mime_base64_lines(struct buf *out, const void *data, size_t n);

/* Writes the stable Message-ID of a reminder, "<reminder id>@<domain of
 * from>" (localhost when from has none), without angle brackets. */
void mime_message_id(char *out, size_t size, const char *reminder_id, const char *from);

/* Appends text as quoted-printable (76-column lines, CRLF). */
void mime_qp_encode(struct buf *out, const char *text);

/* Appends "Name: value" with value as RFC 2047 encoded words when it is
 * not printable ASCII (control characters included: any value is safe
 * here), holds "=?" or is too long for one line, folded at 76 columns;
 * ends with CRLF. */
void mime_header_text(struct buf *out, const char *name, const char *value);
