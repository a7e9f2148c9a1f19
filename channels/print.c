/* print.c: the http transport of the letter channel: the letter's PDF
 * uploaded to a print-and-mail service through libcurl.
 *
 * The PDF is made exactly as the outbox makes it (channel_letter_pdf) and
 * POSTed to channels.letter.url as multipart/form-data:
 *   file            the PDF (application/pdf, filename <reminder id>.pdf)
 *   reference       the reminder id
 *   name            the recipient's name
 *   address_line1..n  the street lines of the job's address (1..4, only
 *                   those the job has)
 *   postal_code, city, country (ISO 3166-1 alpha-2)
 *   pages           1 (a letter is always one page: letter.h)
 * with "Authorization: Bearer <channels.letter.token_file>". The letter's
 * id at the service is the JSON response's "id".
 *
 * One curl easy handle per session (a worker's), so the connection to the
 * service is kept alive between letters.
 *
 * Outcomes, as sms.c: 2xx sent; 429 and 5xx temporary, with the
 * Retry-After; 401, 403, 404, 407 and 408 temporary too (our token or URL
 * is wrong, not this customer's address: a permanent failure would move
 * every customer to another channel); other 4xx permanent with the
 * service's message (an address the printer refuses); network errors and
 * timeouts temporary.
 *
 * Reasons are one line and carry neither the token nor the recipient's
 * name or address, even when the service's message quotes them. */
#include "channel.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "curlx.h"

/* A longer Retry-After is taken as this: the retry policy caps it anyway. */
#define PRINT_RETRY_AFTER_MAX_S (7 * 86400)

struct print {
        CURL *curl;
        struct curl_slist *headers;  /* holds the token: wiped in close() */
        char *url;
        char *token;                 /* owned copy, to keep it out of reasons; wiped */
        struct buf pdf;              /* the letter being sent */
        struct curlx_answer answer;  /* the body (its start) and Retry-After */
        char errbuf[CURL_ERROR_SIZE];
};

static void print_close(void *session)
{
        struct print *p = session;

        if (!p)
                return;
        if (p->curl)
                curl_easy_cleanup(p->curl);
        for (struct curl_slist *h = p->headers; h; h = h->next)
                explicit_bzero(h->data, strlen(h->data));
        curl_slist_free_all(p->headers);
        free(p->url);
        curlx_wipe_free(p->token);
        buf_free(&p->pdf);
        buf_free(&p->answer.body);
        free(p);
}

/* ---- reasons ------------------------------------------------------------ */

/* Appends text on one line to out: control characters become a space,
 * the token "[token]", and each of the NULL-terminated personal strings
 * (name, address lines, postal code, city; 3 bytes or more)
 * "[address]". */
static void scrub(struct buf *out, const char *text, const char *token,
                  const char *const *personal)
{
        const char *s = text;

        while (*s) {
                size_t tl = token ? strlen(token) : 0;
                if (tl >= 4 && strncmp(s, token, tl) == 0) {
                        buf_puts(out, "[token]");
                        s += tl;
                        continue;
                }
                bool hit = false;
                for (size_t i = 0; personal && personal[i]; i++) {
                        size_t n = strlen(personal[i]);
                        if (n >= 3 && strncasecmp(s, personal[i], n) == 0) {
                                buf_puts(out, "[address]");
                                s += n;
                                hit = true;
                                break;
                        }
                }
                if (hit)
                        continue;
                unsigned char c = (unsigned char)*s++;
                if (c < 0x20 || c == 0x7f)
                        c = ' ';
                if (c == ' ' && out->len && out->data[out->len - 1] == ' ')
                        continue;
                buf_putc(out, (char)c);
        }
        while (out->len && out->data[out->len - 1] == ' ')
                out->data[--out->len] = '\0';
}

/* The recipient's personal strings of m, for scrub(): NULL-terminated,
 * borrowed from m. */
static void personal_of(const struct message *m, const char *out[8])
{
        size_t n = 0;
        const struct job_customer *c = m->job ? &m->job->customer : NULL;

        if (m->to_name)
                out[n++] = m->to_name;
        if (c && c->name)
                out[n++] = c->name;
        if (c && c->has_address) {
                for (size_t i = 0; i < c->address.n_lines && n < 6; i++)
                        out[n++] = c->address.lines[i];
                if (c->address.postal_code)
                        out[n++] = c->address.postal_code;
        }
        out[n] = NULL;
}

static void result(struct print *p, const struct message *m, struct send_result *res,
                   enum channel_outcome o, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Sets the outcome and "letter: print: " + the formatted text, scrubbed. */
static void result(struct print *p, const struct message *m, struct send_result *res,
                   enum channel_outcome o, const char *fmt, ...)
{
        struct buf raw = BUF_INIT, line = BUF_INIT;
        const char *personal[8];
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(&raw, fmt, ap);
        va_end(ap);
        personal_of(m, personal);
        buf_puts(&line, "letter: print: ");
        scrub(&line, buf_str(&raw), p->token, personal);
        res->outcome = o;
        curlx_copy_utf8(res->reason, sizeof(res->reason), buf_str(&line));
        buf_free(&raw);
        buf_free(&line);
}

/* ---- open ---------------------------------------------------------------- */

static int add_header(struct print *p, const char *line)
{
        struct curl_slist *h = curl_slist_append(p->headers, line);
        if (!h)
                return -ENOMEM;
        p->headers = h;
        return 0;
}

#define SETOPT(opt, val)                                                                   \
        do {                                                                               \
                if (curl_easy_setopt(h, opt, val) != CURLE_OK) {                           \
                        rc = error_set(err, -EINVAL, "channels.letter: libcurl refused %s", \
                                       #opt);                                              \
                        goto out;                                                          \
                }                                                                          \
        } while (0)

static int print_open(void **session, enum job_channel channel, const struct config *cfg,
                      struct error *err)
{
        const struct config_channel *c = &cfg->channels.letter;
        struct print *p = xcalloc(1, sizeof(*p));
        struct buf line = BUF_INIT;
        int rc = 0;

        if (channel != JOB_CHANNEL_LETTER) {
                rc = error_set(err, -EINVAL, "transport http: only for channels.letter here");
                goto out;
        }
        if (!c->url || !*c->url) {
                rc = error_set(err, -EINVAL, "channels.letter.url: needed for transport http");
                goto out;
        }
        if (!c->token || !*c->token) {
                rc = error_set(err, -EINVAL,
                               "channels.letter.token_file: needed for transport http");
                goto out;
        }
        p->url = xstrdup(c->url);
        p->token = xstrdup(c->token);

        CURLcode init_rc = curlx_global_init();
        if (init_rc != CURLE_OK) {
                rc = error_set(err, -EIO, "channels.letter: libcurl: %s",
                               curl_easy_strerror(init_rc));
                goto out;
        }
        buf_printf(&line, "Authorization: Bearer %s", p->token);
        if (add_header(p, buf_str(&line)) < 0 || add_header(p, "Accept: application/json") < 0 ||
            /* no 100-continue round trip before the PDF */
            add_header(p, "Expect:") < 0) {
                rc = error_set(err, -ENOMEM, "channels.letter: out of memory");
                goto out;
        }
        CURL *h = p->curl = curl_easy_init();
        if (!h) {
                rc = error_set(err, -ENOMEM, "channels.letter: cannot create a libcurl handle");
                goto out;
        }
        SETOPT(CURLOPT_URL, p->url);
        SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
        SETOPT(CURLOPT_HTTPHEADER, p->headers);
        SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
        SETOPT(CURLOPT_NOSIGNAL, 1L);  /* threads: no SIGALRM for DNS timeouts */
        /* 0 would mean curl's own (no limit at all): never that. */
        SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
               (long)(c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 3000));
        SETOPT(CURLOPT_TIMEOUT_MS, (long)(c->timeout_ms > 0 ? c->timeout_ms : 30000));
        SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
        SETOPT(CURLOPT_TCP_NODELAY, 1L);
        SETOPT(CURLOPT_USERAGENT, "dunningd/" DUNNINGD_VERSION);
        SETOPT(CURLOPT_WRITEFUNCTION, curlx_on_body);
        SETOPT(CURLOPT_WRITEDATA, &p->answer);
        SETOPT(CURLOPT_HEADERFUNCTION, curlx_on_header);
        SETOPT(CURLOPT_HEADERDATA, &p->answer);
        SETOPT(CURLOPT_ERRORBUFFER, p->errbuf);
        *session = p;
        p = NULL;
out:
        if (line.data)
                explicit_bzero(line.data, line.len);
        buf_free(&line);
        print_close(p);
        return rc;
}

/* ---- send ---------------------------------------------------------------- */

static int add_field(curl_mime *mime, const char *name, const char *value)
{
        curl_mimepart *part = curl_mime_addpart(mime);

        if (!part || curl_mime_name(part, name) != CURLE_OK ||
            curl_mime_data(part, value ? value : "", CURL_ZERO_TERMINATED) != CURLE_OK)
                return -ENOMEM;
        return 0;
}

/* The form of m: the PDF in p->pdf and the address fields. */
static curl_mime *build_form(struct print *p, const struct message *m)
{
        const struct job_customer *c = &m->job->customer;
        const struct job_address *a = &c->address;
        curl_mime *mime = curl_mime_init(p->curl);
        curl_mimepart *file;
        char name[64];
        int rc = 0;

        if (!mime)
                return NULL;
        snprintf(name, sizeof(name), "%s.pdf", m->reminder_id);
        if (!(file = curl_mime_addpart(mime)) || curl_mime_name(file, "file") != CURLE_OK ||
            curl_mime_data(file, p->pdf.data, p->pdf.len) != CURLE_OK ||
            curl_mime_filename(file, name) != CURLE_OK ||
            curl_mime_type(file, "application/pdf") != CURLE_OK)
                rc = -ENOMEM;
        rc = rc ?: add_field(mime, "reference", m->reminder_id);
        rc = rc ?: add_field(mime, "name", m->to_name ? m->to_name : c->name);
        for (size_t i = 0; rc == 0 && i < a->n_lines && i < 4; i++) {
                snprintf(name, sizeof(name), "address_line%zu", i + 1);
                rc = add_field(mime, name, a->lines[i]);
        }
        rc = rc ?: add_field(mime, "postal_code", a->postal_code);
        rc = rc ?: add_field(mime, "city", a->city);
        rc = rc ?: add_field(mime, "country", a->country);
        rc = rc ?: add_field(mime, "pages", "1");
        if (rc < 0) {
                curl_mime_free(mime);
                return NULL;
        }
        return mime;
}

static void classify(struct print *p, const struct message *m, CURLcode cc,
                     struct send_result *res)
{
        struct buf why = BUF_INIT;
        enum channel_outcome o = curlx_classify(p->curl, cc, p->errbuf, &p->answer, "id",
                                                PRINT_RETRY_AFTER_MAX_S, "channels.letter", res,
                                                &why);
        if (o == CHANNEL_SENT) {
                res->outcome = o;
                snprintf(res->reason, sizeof(res->reason), "letter: print: %s", buf_str(&why));
        } else {
                result(p, m, res, o, "%s", buf_str(&why));
        }
        buf_free(&why);
}

static void print_send(void *session, const struct message *m, struct send_result *res)
{
        struct print *p = session;
        curl_mime *mime = NULL;

        memset(res, 0, sizeof(*res));
        buf_reset(&p->pdf);
        buf_reset(&p->answer.body);
        p->answer.retry_after[0] = '\0';
        p->errbuf[0] = '\0';
        if (!m->job || !m->job->customer.has_address || !m->reminder_id) {
                result(p, m, res, CHANNEL_PERMFAIL, "no postal address");
                return;
        }
        if (channel_letter_pdf(&p->pdf, m, res) < 0)
                return;
        if (!(mime = build_form(p, m))) {
                result(p, m, res, CHANNEL_TEMPFAIL, "cannot build the request (out of memory)");
                return;
        }
        curl_easy_setopt(p->curl, CURLOPT_MIMEPOST, mime);
        CURLcode cc = curl_easy_perform(p->curl);
        /* The handle must not point at the form once it is freed. */
        curl_easy_setopt(p->curl, CURLOPT_MIMEPOST, (curl_mime *)NULL);
        curl_mime_free(mime);
        classify(p, m, cc, res);
}

const struct channel_ops channel_print_http = {
        .name = "http",
        .channels = CHANNEL_BIT(JOB_CHANNEL_LETTER),
        .open = print_open,
        .send = print_send,
        .send_batch = NULL,
        .flush = NULL,
        .close = print_close,
};
