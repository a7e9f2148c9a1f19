/* sms.c: the http transport of the SMS channel: a provider's REST API
 * through libcurl.
 *
 * Profiles (channels.sms.provider):
 * - messagebird: POST JSON to url (default https://rest.messagebird.com/
 *   messages), "Authorization: AccessKey <token>"; recipients as MSISDNs
 *   (E.164 digits without "+", as JSON numbers like MessageBird's own
 *   example), datacoding "plain" or "unicode" from our GSM 03.38 check;
 *   the message id is the response's "id".
 * - twilio: POST a form to url (default https://api.twilio.com/2010-04-01)
 *   + /Accounts/{account_sid}/Messages.json, HTTP Basic account_sid:token;
 *   To, From, Body, StatusCallback. Twilio picks GSM-7 or UCS-2 itself;
 *   the message id is "sid".
 * - generic: POST channels.sms.body_template, a Mustache template (the
 *   project's engine) rendered against JSON-escaped values, so that
 *   "{{body}}" inside a JSON string stays a valid JSON string; variables:
 *   to (E.164), msisdn (without "+"), from, body, reference, encoding
 *   ("gsm7" | "ucs2"), segments, report_url. "Authorization: Bearer
 *   <token>"; the message id is "id" when the response has one. The
 *   template is compiled and test-rendered (strict, must give JSON) in
 *   open(), so a typo fails at start-up, not per message.
 *
 * Checked here, because a provider would refuse it for every message and
 * that must not read as a bad customer number: the sender (messagebird,
 * twilio: a number or <= 11 letters, digits, spaces), in open(). Checked
 * per message: the recipient, through phone_normalize() with
 * channels.sms.default_country; a number in a range that takes no SMS (an
 * NL landline, pager, toll-free) is a permanent failure before any request.
 *
 * One curl easy handle per session (a worker's), so the connection to the
 * provider is kept alive between messages; curl reconnects by itself when
 * the provider closed it while idle.
 *
 * Outcomes: 2xx sent; 429 and 5xx temporary (with the Retry-After, seconds
 * or an HTTP date); 401, 403, 404, 407 and 408 temporary too, since they
 * say our credentials or URL are wrong (or the provider was slow), not that
 * this customer's number is: a permanent failure would mark every
 * customer's phone invalid and move them all to another channel until an
 * operator noticed; other 4xx permanent, with the provider's message;
 * network errors and timeouts temporary. A timeout after the request left
 * may still have sent the message: that is the provider's at-least-once,
 * the dispatcher's idempotency marker covers the rest.
 *
 * Reasons carry the provider's error text on one line, with every run of
 * six or more digits (a phone number) and the token replaced. */
#include "channel.h"

#include <ctype.h>
#include <curl/curl.h>

#include "curlx.h"
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "gsm7.h"
#include "jsonx.h"
#include "mustache.h"
#include "phone.h"

/* Requests in flight per worker, at most (channels.sms.connections). */
#define SMS_CONNS_MAX 32
/* Sockets libcurl may ask send_batch to watch: one per connection, and
 * room for a second address tried while connecting and a resolver's. */
#define SMS_WATCH_MAX (3 * SMS_CONNS_MAX)
/* A longer Retry-After is taken as this: the retry policy caps it anyway. */
#define SMS_RETRY_AFTER_MAX_S (7 * 86400)

#define MESSAGEBIRD_URL "https://rest.messagebird.com/messages"
#define TWILIO_URL "https://api.twilio.com/2010-04-01"
#define GENERIC_TEMPLATE                                                                   \
        "{\"to\":\"{{to}}\",\"from\":\"{{from}}\",\"text\":\"{{body}}\","                   \
        "\"reference\":\"{{reference}}\"}"

/* The generic body template's name in its set: Mustache errors start with
 * it ("channels.sms.body_template:1:9: too: no such variable"). */
#define TEMPLATE_NAME "channels.sms.body_template"

enum sms_provider { SMS_MESSAGEBIRD, SMS_TWILIO, SMS_GENERIC };

static const char *const provider_names[] = { "messagebird", "twilio", "generic" };

/* One request in flight: a handle (its connection kept alive) and what
 * came back. A session has several, for send_batch. */
struct sms_conn {
        CURL *curl;
        bool busy;                   /* in the multi handle */
        size_t msg;                  /* send_batch: the index of its message */
        struct buf body;             /* the request body being sent */
        struct curlx_answer answer;  /* the body (its start) and Retry-After */
        char errbuf[CURL_ERROR_SIZE];
};

struct sms {
        enum sms_provider provider;
        const char *name;            /* provider_names[provider] */
        struct sms_conn conn[SMS_CONNS_MAX];
        size_t n_conns;              /* channels.sms.connections */
        CURLM *multi;                /* send_batch's: its connection cache is shared */
        /* send_batch's event loop (libcurl's socket interface): the
         * sockets and events libcurl asked for, and its timer */
        struct pollfd watch[SMS_WATCH_MAX];
        size_t n_watch;
        int64_t timer_at_us;         /* CLOCK_MONOTONIC, or -1: none */
        struct curl_slist *headers;  /* holds the credentials: wiped in close() */
        char *url;
        char *token;                 /* owned copy, to keep it out of reasons; wiped */
        char *sender;                /* when a message has no from */
        char *report_url;            /* or NULL */
        /* Told of each message the provider took (set_accepted), or NULL. */
        void (*accepted)(void *arg, const char *reminder_id);
        void *accepted_arg;
        struct buf report_member;    /* messagebird: ,"reportUrl":"..." or "" */
        char *default_country;       /* for phone_normalize, or NULL */
        struct mustache_set *tmpl;   /* generic: the body template, as TEMPLATE_NAME */
};

static void sms_close(void *session)
{
        struct sms *s = session;

        if (!s)
                return;
        for (size_t i = 0; i < SMS_CONNS_MAX; i++) {
                struct sms_conn *c = &s->conn[i];
                if (c->curl) {
                        if (c->busy)
                                curl_multi_remove_handle(s->multi, c->curl);
                        curl_easy_cleanup(c->curl);
                }
                buf_free(&c->body);
                buf_free(&c->answer.body);
        }
        if (s->multi)
                curl_multi_cleanup(s->multi);
        for (struct curl_slist *h = s->headers; h; h = h->next)
                explicit_bzero(h->data, strlen(h->data));
        curl_slist_free_all(s->headers);
        mustache_set_free(s->tmpl);
        free(s->url);
        curlx_wipe_free(s->token);
        free(s->sender);
        free(s->report_url);
        buf_free(&s->report_member);
        free(s->default_country);
        free(s);
}

/* ---- helpers: base64, JSON escaping ------------------------------------ */

static void base64(struct buf *out, const char *in, size_t len)
{
        static const char tab[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *p = (const unsigned char *)in;

        for (size_t i = 0; i < len; i += 3) {
                unsigned v = (unsigned)p[i] << 16;
                if (i + 1 < len)
                        v |= (unsigned)p[i + 1] << 8;
                if (i + 2 < len)
                        v |= p[i + 2];
                buf_putc(out, tab[(v >> 18) & 63]);
                buf_putc(out, tab[(v >> 12) & 63]);
                buf_putc(out, i + 1 < len ? tab[(v >> 6) & 63] : '=');
                buf_putc(out, i + 2 < len ? tab[v & 63] : '=');
        }
}

/* The JSON string literal of s without its quotes, as a new Mustache
 * string; NULL when s is not valid UTF-8. */
static struct mustache_value *json_escaped(const char *s)
{
        struct buf lit = BUF_INIT;
        struct mustache_value *v = NULL;

        if (jsonx_escape(&lit, s ? s : "") == 0)
                v = mustache_string_len(buf_str(&lit), lit.len);
        buf_free(&lit);
        return v;
}

/* map[key] = the JSON-escaped s; false (map unchanged) when s is not
 * valid UTF-8. */
static bool set_escaped(struct mustache_value *map, const char *key, const char *s)
{
        struct mustache_value *v = json_escaped(s);

        if (v)
                mustache_map_set(map, key, v);
        return v != NULL;
}

/* ,"name":"value", value JSON-escaped; -EILSEQ when it is not UTF-8. */
static int put_member(struct buf *b, const char *name, const char *value)
{
        buf_puts(b, ",\"");
        buf_puts(b, name);
        buf_puts(b, "\":\"");
        int rc = jsonx_escape(b, value);
        buf_putc(b, '"');
        return rc;
}

/* ---- reasons ------------------------------------------------------------ */

/* Appends text on one line to out: control characters become spaces,
 * runs of spaces one, the token "[token]" and every run of six or more
 * digits (allowing the spaces, dashes and parentheses people put in
 * numbers; not dots, which would take IP addresses) "[number]". */
static void scrub(struct buf *out, const char *text, const char *token)
{
        size_t tlen = token ? strlen(token) : 0;
        const char *p = text;

        while (*p) {
                unsigned char c = (unsigned char)*p;
                if (tlen >= 4 && strncmp(p, token, tlen) == 0) {
                        buf_puts(out, "[token]");
                        p += tlen;
                        continue;
                }
                if (isdigit(c) || (c == '+' && isdigit((unsigned char)p[1]))) {
                        const char *q = c == '+' ? p + 1 : p, *end = q;
                        int digits = 0;
                        while (*q) {
                                if (isdigit((unsigned char)*q)) {
                                        digits++;
                                        end = ++q;
                                } else if (*q && strchr(" -()", *q) &&
                                           isdigit((unsigned char)q[1])) {
                                        q++;
                                } else {
                                        break;
                                }
                        }
                        if (digits >= 6)
                                buf_puts(out, "[number]");
                        else
                                buf_append(out, p, (size_t)(end - p));
                        p = end;
                        continue;
                }
                if (c < 0x20 || c == 0x7f) {
                        if (out->len && out->data[out->len - 1] != ' ')
                                buf_putc(out, ' ');
                        p++;
                        continue;
                }
                if (c == ' ' && out->len && out->data[out->len - 1] == ' ') {
                        p++;
                        continue;
                }
                buf_putc(out, (char)c);
                p++;
        }
        while (out->len && out->data[out->len - 1] == ' ')
                out->data[--out->len] = '\0';
}

static void result(struct sms *s, struct send_result *res, enum channel_outcome o,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sets the outcome and "sms: <provider>: " + the formatted text, scrubbed. */
static void result(struct sms *s, struct send_result *res, enum channel_outcome o,
                   const char *fmt, ...)
{
        struct buf raw = BUF_INIT, line = BUF_INIT;
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(&raw, fmt, ap);
        va_end(ap);
        buf_printf(&line, "sms: %s: ", s->name);
        scrub(&line, buf_str(&raw), s->token);
        res->outcome = o;
        curlx_copy_utf8(res->reason, sizeof(res->reason), buf_str(&line));
        buf_free(&raw);
        buf_free(&line);
}

/* ---- send_batch's event loop ------------------------------------------- */

static int64_t mono_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CURLMOPT_SOCKETFUNCTION: what libcurl wants to hear about fd, kept in
 * s->watch for poll(). */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        struct sms *s = userp;
        size_t i = 0;

        while (i < s->n_watch && s->watch[i].fd != fd)
                i++;
        if (what == CURL_POLL_REMOVE) {
                if (i < s->n_watch)
                        s->watch[i] = s->watch[--s->n_watch];
                return 0;
        }
        if (i == s->n_watch) {
                if (s->n_watch == SMS_WATCH_MAX)
                        return -1;   /* libcurl fails that transfer */
                s->n_watch++;
        }
        s->watch[i].fd = fd;
        s->watch[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) |
                                     ((what & CURL_POLL_OUT) ? POLLOUT : 0));
        s->watch[i].revents = 0;
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants to be called for its timers
 * (0: at once; -1: no timer). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
        struct sms *s = userp;

        s->timer_at_us = timeout_ms < 0 ? -1 : mono_us() + (int64_t)timeout_ms * 1000;
        return 0;
}

/* Waits up to libcurl's timer (1 s at the most) for its sockets and
 * hands it what happened: the sockets that are ready, by name, so that it
 * does not poll() each transfer's socket again itself as
 * curl_multi_perform does on every wake-up; then its timers when due. */
static void wait_and_act(struct sms *s)
{
        struct { curl_socket_t fd; int bits; } ready[SMS_WATCH_MAX];
        size_t n_ready = 0;
        int64_t now = mono_us(), wait_ms = 1000;
        int running;

        if (s->timer_at_us >= 0) {
                int64_t left_ms = (s->timer_at_us - now + 999) / 1000;
                wait_ms = left_ms <= 0 ? 0 : left_ms < 1000 ? left_ms : 1000;
        }
        if (wait_ms > 0 && poll(s->watch, s->n_watch, (int)wait_ms) > 0) {
                /* A copy: libcurl's socket callback changes s->watch. */
                for (size_t i = 0; i < s->n_watch; i++) {
                        short r = s->watch[i].revents;
                        if (!r)
                                continue;
                        ready[n_ready].fd = s->watch[i].fd;
                        ready[n_ready++].bits = ((r & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) |
                                                ((r & POLLOUT) ? CURL_CSELECT_OUT : 0) |
                                                ((r & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR
                                                                            : 0);
                }
                for (size_t i = 0; i < n_ready; i++)
                        curl_multi_socket_action(s->multi, ready[i].fd, ready[i].bits, &running);
        }
        bool due = s->timer_at_us >= 0 && s->timer_at_us <= mono_us();
        if (due || n_ready == 0) {
                /* The timer is one-shot: libcurl sets the next one from
                 * this call when it wants one, and does not say -1 when it
                 * has none left (kept, a past deadline would spin here). */
                if (due)
                        s->timer_at_us = -1;
                curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
}

/* ---- open ---------------------------------------------------------------- */

#define SETOPT(opt, val)                                                                   \
        do {                                                                               \
                if (curl_easy_setopt(h, opt, val) != CURLE_OK) {                           \
                        rc = error_set(err, -EINVAL, "channels.sms: libcurl refused %s",   \
                                       #opt);                                              \
                        goto out;                                                          \
                }                                                                          \
        } while (0)

/* Compiles the generic body template and renders it once with sample
 * values: every variable must exist and the result must be JSON. */
static int compile_template(struct sms *s, const char *src, struct error *err)
{
        struct error e;
        struct buf out = BUF_INIT;
        struct mustache_value *ctx = mustache_map_new();
        struct mustache_render_opts opts = { .escape = MUSTACHE_ESCAPE_NONE, .strict = true };
        int rc;

        s->tmpl = mustache_set_new();
        if ((rc = mustache_set_add(s->tmpl, TEMPLATE_NAME, src, strlen(src), &e)) < 0) {
                rc = error_set(err, rc, "%s", e.msg);
                goto out;
        }
        set_escaped(ctx, "to", "+31612345678");
        set_escaped(ctx, "msisdn", "31612345678");
        set_escaped(ctx, "from", "Sender");
        set_escaped(ctx, "body", "Test \"1\"\\\n\xc3\xab");
        set_escaped(ctx, "reference", "r-0000000000000000");
        set_escaped(ctx, "encoding", "ucs2");
        mustache_map_set_int(ctx, "segments", 1);
        set_escaped(ctx, "report_url", "https://example.com/report");
        if ((rc = mustache_render(&out, s->tmpl, TEMPLATE_NAME, ctx, &opts, &e)) < 0) {
                rc = error_set(err, rc, "%s", e.msg);
                goto out;
        }
        json_error_t je;
        json_t *j = json_loads(buf_str(&out), 0, &je);
        if (!j)
                rc = error_set(err, -EINVAL,
                               "channels.sms.body_template: not JSON once rendered: %s "
                               "(line %d, column %d)",
                               je.text, je.line, je.column);
        json_decref(j);
out:
        mustache_value_free(ctx);
        buf_free(&out);
        return rc;
}

static bool is_alnum_str(const char *s)
{
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s))
                        return false;
        return true;
}

/* What MessageBird and Twilio take as a sender: a phone number (digits,
 * "+" first) or an alphanumeric sender id of at most 11 letters, digits
 * and spaces with at least one letter. Anything else they refuse for
 * every message, which must not look like a bad customer number. */
static bool valid_sender(const char *s)
{
        const char *digits = s + (s[0] == '+');
        size_t n = strlen(s), nd = strlen(digits);
        bool letter = false;

        if (nd > 0 && strspn(digits, "0123456789") == nd)
                return nd <= 15;  /* a number */
        if (n == 0 || n > 11)
                return false;
        for (const char *p = s; *p; p++) {
                if (isalpha((unsigned char)*p) && (unsigned char)*p < 0x80)
                        letter = true;
                else if (!isdigit((unsigned char)*p) && *p != ' ')
                        return false;
        }
        return letter;
}

static int add_header(struct sms *s, const char *line)
{
        struct curl_slist *h = curl_slist_append(s->headers, line);
        if (!h)
                return -ENOMEM;
        s->headers = h;
        return 0;
}

static int sms_open(void **session, enum job_channel channel, const struct config *cfg,
                    struct error *err)
{
        const struct config_channel *c = &cfg->channels.sms;
        struct sms *s = xcalloc(1, sizeof(*s));
        struct buf line = BUF_INIT, cred = BUF_INIT;
        int rc = 0;

        if (channel != JOB_CHANNEL_SMS) {
                rc = error_set(err, -EINVAL, "transport http: only for channels.sms");
                goto out;
        }
        if (!c->provider || !strcmp(c->provider, "messagebird"))
                s->provider = SMS_MESSAGEBIRD;
        else if (!strcmp(c->provider, "twilio"))
                s->provider = SMS_TWILIO;
        else if (!strcmp(c->provider, "generic"))
                s->provider = SMS_GENERIC;
        else {
                rc = error_set(err, -EINVAL, "channels.sms.provider: unknown provider %.64s",
                               c->provider);
                goto out;
        }
        s->name = provider_names[s->provider];
        if (s->provider != SMS_GENERIC && c->sender && !valid_sender(c->sender)) {
                rc = error_set(err, -EINVAL,
                               "channels.sms.sender: %s takes a phone number or at most 11 "
                               "letters, digits and spaces",
                               s->name);
                goto out;
        }
        if (!c->token || !*c->token) {
                rc = error_set(err, -EINVAL, "channels.sms.token_file: needed for transport http");
                goto out;
        }
        s->token = xstrdup(c->token);
        s->sender = curlx_dup_or_null(c->sender);
        s->report_url = curlx_dup_or_null(c->report_url);
        s->default_country = curlx_dup_or_null(c->default_country);

        switch (s->provider) {
        case SMS_MESSAGEBIRD:
                s->url = xstrdup(c->url ? c->url : MESSAGEBIRD_URL);
                buf_printf(&line, "Authorization: AccessKey %s", c->token);
                /* The same in every request body: escaped once. */
                if (s->report_url && put_member(&s->report_member, "reportUrl",
                                                s->report_url) < 0) {
                        rc = error_set(err, -EINVAL, "channels.sms.report_url: not UTF-8");
                        goto out;
                }
                break;
        case SMS_TWILIO: {
                if (!is_alnum_str(c->account_sid)) {
                        rc = error_set(err, -EINVAL,
                                       "channels.sms.account_sid: needed for twilio, letters "
                                       "and digits only");
                        goto out;
                }
                const char *base = c->url ? c->url : TWILIO_URL;
                size_t bl = strlen(base);
                while (bl > 0 && base[bl - 1] == '/')
                        bl--;
                struct buf u = BUF_INIT;
                buf_printf(&u, "%.*s/Accounts/%s/Messages.json", (int)bl, base, c->account_sid);
                s->url = buf_steal(&u);
                buf_printf(&cred, "%s:%s", c->account_sid, c->token);
                buf_puts(&line, "Authorization: Basic ");
                base64(&line, cred.data, cred.len);
                break;
        }
        case SMS_GENERIC:
                if (!c->url) {
                        rc = error_set(err, -EINVAL, "channels.sms.url: needed for generic");
                        goto out;
                }
                s->url = xstrdup(c->url);
                if ((rc = compile_template(s, c->body_template ? c->body_template
                                                               : GENERIC_TEMPLATE,
                                           err)) < 0)
                        goto out;
                buf_printf(&line, "Authorization: Bearer %s", c->token);
                break;
        }

        CURLcode init_rc = curlx_global_init();
        if (init_rc != CURLE_OK) {
                rc = error_set(err, -EIO, "channels.sms: libcurl: %s",
                               curl_easy_strerror(init_rc));
                goto out;
        }
        if (add_header(s, buf_str(&line)) < 0 ||
            add_header(s, s->provider == SMS_TWILIO
                                  ? "Content-Type: application/x-www-form-urlencoded"
                                  : "Content-Type: application/json") < 0 ||
            add_header(s, "Accept: application/json") < 0 ||
            /* no 100-continue round trip before a body */
            add_header(s, "Expect:") < 0) {
                rc = error_set(err, -ENOMEM, "channels.sms: out of memory");
                goto out;
        }
        s->n_conns = c->connections > 0 && c->connections <= SMS_CONNS_MAX
                             ? (size_t)c->connections
                             : 4;
        if (!(s->multi = curl_multi_init())) {
                rc = error_set(err, -ENOMEM, "channels.sms: cannot create a libcurl handle");
                goto out;
        }
        curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->n_conns);
        s->timer_at_us = -1;
        curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
        curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
        for (size_t i = 0; i < s->n_conns; i++) {
                struct sms_conn *conn = &s->conn[i];
                CURL *h = conn->curl = curl_easy_init();
                if (!h) {
                        rc = error_set(err, -ENOMEM,
                                       "channels.sms: cannot create a libcurl handle");
                        goto out;
                }
                SETOPT(CURLOPT_URL, s->url);
                SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
                SETOPT(CURLOPT_HTTPHEADER, s->headers);
                SETOPT(CURLOPT_POST, 1L);
                SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
                SETOPT(CURLOPT_NOSIGNAL, 1L);  /* threads: no SIGALRM for DNS timeouts */
                /* 0 would mean curl's own (5 minutes to connect, no limit
                 * at all): never that, whoever filled in the config. */
                SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
                       (long)(c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 3000));
                SETOPT(CURLOPT_TIMEOUT_MS, (long)(c->timeout_ms > 0 ? c->timeout_ms : 10000));
                SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
                SETOPT(CURLOPT_TCP_NODELAY, 1L);
                SETOPT(CURLOPT_USERAGENT, "dunningd/" DUNNINGD_VERSION);
                SETOPT(CURLOPT_WRITEFUNCTION, curlx_on_body);
                SETOPT(CURLOPT_WRITEDATA, &conn->answer);
                SETOPT(CURLOPT_HEADERFUNCTION, curlx_on_header);
                SETOPT(CURLOPT_HEADERDATA, &conn->answer);
                SETOPT(CURLOPT_ERRORBUFFER, conn->errbuf);
                SETOPT(CURLOPT_PRIVATE, conn);
        }
        *session = s;
        s = NULL;
out:
        if (line.data)
                explicit_bzero(line.data, line.len);
        if (cred.data)
                explicit_bzero(cred.data, cred.len);
        buf_free(&line);
        buf_free(&cred);
        sms_close(s);
        return rc;
}

/* ---- send ---------------------------------------------------------------- */

/* Written straight into the connection's buffer: this runs once per SMS,
 * and a jansson tree built, dumped and freed for five members cost more
 * than the rest of the request. The bytes are what json_dumps wrote
 * (JSON_COMPACT, in this order), which the tests pin. */
static int body_messagebird(struct sms *s, struct sms_conn *c, const struct message *m,
                            const char *e164, const struct gsm7_count *gc)
{
        struct buf *b = &c->body;

        /* The MSISDN as a JSON number: phone_normalize gives "+" and at
         * most 15 digits, the first not 0, so the digits are the number. */
        buf_puts(b, "{\"recipients\":[");
        buf_puts(b, e164 + 1);
        buf_putc(b, ']');
        if (put_member(b, "originator", m->from) < 0 || put_member(b, "body", m->text) < 0 ||
            put_member(b, "reference", m->reminder_id) < 0)
                return -EILSEQ;
        buf_puts(b, gc->gsm7 ? ",\"datacoding\":\"plain\"" : ",\"datacoding\":\"unicode\"");
        buf_puts(b, buf_str(&s->report_member));
        buf_putc(b, '}');
        return 0;
}

static void form_field(struct sms_conn *c, const char *name, const char *value)
{
        char *v = curl_easy_escape(c->curl, value, 0);

        if (c->body.len)
                buf_putc(&c->body, '&');
        buf_printf(&c->body, "%s=%s", name, v ? v : "");
        curl_free(v);
}

static int body_twilio(struct sms *s, struct sms_conn *c, const struct message *m,
                       const char *e164)
{
        form_field(c, "To", e164);
        form_field(c, "From", m->from);
        form_field(c, "Body", m->text);
        if (s->report_url)
                form_field(c, "StatusCallback", s->report_url);
        return 0;
}

static int body_generic(struct sms *s, struct sms_conn *c, const struct message *m,
                        const char *e164, const struct gsm7_count *gc)
{
        struct mustache_value *ctx = mustache_map_new();
        struct mustache_render_opts opts = { .escape = MUSTACHE_ESCAPE_NONE, .strict = true };
        struct error e;
        int rc = -EINVAL;

        if (!set_escaped(ctx, "to", e164) || !set_escaped(ctx, "msisdn", e164 + 1) ||
            !set_escaped(ctx, "from", m->from) || !set_escaped(ctx, "body", m->text) ||
            !set_escaped(ctx, "reference", m->reminder_id) ||
            !set_escaped(ctx, "encoding", gc->gsm7 ? "gsm7" : "ucs2") ||
            !set_escaped(ctx, "report_url", s->report_url))
                goto out;
        mustache_map_set_int(ctx, "segments", (long long)gc->segments);
        rc = mustache_render(&c->body, s->tmpl, TEMPLATE_NAME, ctx, &opts, &e);
out:
        mustache_value_free(ctx);
        return rc;
}

static void classify(struct sms *s, struct sms_conn *c, CURLcode cc, struct send_result *res)
{
        struct buf why = BUF_INIT;
        enum channel_outcome o = curlx_classify(c->curl, cc, c->errbuf, &c->answer,
                                                s->provider == SMS_TWILIO ? "sid" : "id",
                                                SMS_RETRY_AFTER_MAX_S, "channels.sms", res, &why);
        if (o == CHANNEL_SENT) {
                /* Nothing to scrub in an acceptance: the hot path skips it. */
                res->outcome = o;
                snprintf(res->reason, sizeof(res->reason), "sms: %s: %s", s->name, buf_str(&why));
        } else {
                result(s, res, o, "%s", buf_str(&why));
        }
        buf_free(&why);
}

/* Builds the request of m on connection c. False when m fails before any
 * request (res says why). */
static bool prepare(struct sms *s, struct sms_conn *c, const struct message *m,
                    struct send_result *res)
{
        char e164[PHONE_E164_SIZE];
        enum phone_kind kind;
        struct gsm7_count gc;
        struct error err;
        struct message msg = *m;
        int rc;

        memset(res, 0, sizeof(*res));
        buf_reset(&c->body);
        buf_reset(&c->answer.body);
        c->answer.retry_after[0] = '\0';
        c->errbuf[0] = '\0';
        if (!msg.from || !*msg.from)
                msg.from = s->sender ? s->sender : "dunningd";
        if (!msg.text)
                msg.text = "";
        if (!msg.reminder_id)
                msg.reminder_id = "";

        /* The job checked the syntax; whether this number takes SMS at all
         * is this channel's question (a landline will not: next channel). */
        if (phone_normalize(msg.to, s->default_country, e164, &kind, &err) < 0) {
                result(s, res, CHANNEL_PERMFAIL, "recipient: %s", err.msg);
                return false;
        }
        if (!phone_sms_capable(kind)) {
                result(s, res, CHANNEL_PERMFAIL, "recipient is a %s number, not mobile",
                       phone_kind_name(kind));
                return false;
        }
        gsm7_count(msg.text, &gc);
        switch (s->provider) {
        case SMS_MESSAGEBIRD: rc = body_messagebird(s, c, &msg, e164, &gc); break;
        case SMS_TWILIO: rc = body_twilio(s, c, &msg, e164); break;
        default: rc = body_generic(s, c, &msg, e164, &gc); break;
        }
        if (rc < 0) {
                result(s, res, CHANNEL_PERMFAIL, "cannot build the request (text not UTF-8?)");
                return false;
        }
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body.len);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, c->body.data ? c->body.data : "");
        return true;
}

/* The provider took m: whoever asked is told now, not when the batch ends. */
static void tell_accepted(const struct sms *s, const struct message *m,
                          const struct send_result *res)
{
        if (s->accepted && res->outcome == CHANNEL_SENT)
                s->accepted(s->accepted_arg, m->reminder_id);
}

static void sms_set_accepted(void *session, void (*fn)(void *arg, const char *reminder_id),
                             void *arg)
{
        struct sms *s = session;
        s->accepted = fn;
        s->accepted_arg = arg;
}

static void sms_send(void *session, const struct message *m, struct send_result *res)
{
        struct sms *s = session;
        struct sms_conn *c = &s->conn[0];

        if (prepare(s, c, m, res)) {
                classify(s, c, curl_easy_perform(c->curl), res);
                tell_accepted(s, m, res);
        }
}

/* The messages of a batch with up to n_conns requests in flight at once
 * (libcurl's multi socket interface, one thread): one wake-up often brings
 * several answers, where one request at a time costs a sleep and a wake-up
 * each. Each message gets the outcome send() would give it. */
static void sms_send_batch(void *session, const struct message *const *msgs, size_t n,
                           struct send_result *res)
{
        struct sms *s = session;
        size_t next = 0, active = 0;

        while (next < n || active > 0) {
                for (size_t k = 0; k < s->n_conns && next < n; k++) {
                        struct sms_conn *c = &s->conn[k];
                        if (c->busy)
                                continue;
                        size_t i = next++;
                        if (!prepare(s, c, msgs[i], &res[i]))
                                continue;   /* failed before any request; c stays free */
                        c->msg = i;
                        if (curl_multi_add_handle(s->multi, c->curl) != CURLM_OK) {
                                result(s, &res[i], CHANNEL_TEMPFAIL, "request not started");
                                continue;
                        }
                        c->busy = true;
                        active++;
                }
                if (active == 0)
                        continue;
                wait_and_act(s);
                CURLMsg *done;
                int left;
                while ((done = curl_multi_info_read(s->multi, &left))) {
                        struct sms_conn *c = NULL;
                        if (done->msg != CURLMSG_DONE)
                                continue;
                        curl_easy_getinfo(done->easy_handle, CURLINFO_PRIVATE, (char **)&c);
                        CURLcode cc = done->data.result;
                        curl_multi_remove_handle(s->multi, c->curl);
                        c->busy = false;
                        active--;
                        classify(s, c, cc, &res[c->msg]);
                        tell_accepted(s, msgs[c->msg], &res[c->msg]);
                }
        }
}

const struct channel_ops channel_sms_http = {
        .name = "http",
        .channels = CHANNEL_BIT(JOB_CHANNEL_SMS),
        .open = sms_open,
        .send = sms_send,
        .send_batch = sms_send_batch,
        .flush = NULL,
        .set_accepted = sms_set_accepted,
        .close = sms_close,
};
