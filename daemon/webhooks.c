/* webhooks.c: Mollie payments and SMS delivery reports. */
#include "webhooks.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "history.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "paylink.h"
#include "queue.h"

#define REDIS_TIMEOUT_MS 2000
#define PAYMENT_MARKER_TTL_S (400 * 86400)   /* Mollie retries for days; keep a year */
#define DLR_MARKER_TTL_S (30 * 86400)

struct webhooks {
        struct worker_shared *sh;
        struct queue *q;               /* NULL until needed, or after an I/O error */
        struct snapshot *snap;         /* the config paylink was made from */
        struct paylink *paylink;
};

void webhooks_new(struct webhooks **out, struct worker_shared *sh)
{
        struct webhooks *w = xcalloc(1, sizeof(*w));
        w->sh = sh;
        *out = w;
}

void webhooks_free(struct webhooks *w)
{
        if (!w)
                return;
        queue_free(w->q);
        paylink_free(w->paylink);
        free(w);
}

static const struct config *running(const struct webhooks *w)
{
        return atomic_load(&w->sh->snap)->cfg;
}

static struct queue *redis(struct webhooks *w, struct error *err)
{
        const struct config *cfg = running(w);
        if (!w->q && queue_open_user(&w->q, cfg->redis.url, cfg->redis.username,
                                     cfg->redis.password, cfg->redis.prefix, NULL, err) == 0)
                queue_set_timeout(w->q, REDIS_TIMEOUT_MS);
        return w->q;
}


static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* After a Redis error: a dead connection is dropped (the next request
 * connects again). */
static void redis_done(struct webhooks *w, int rc)
{
        if (rc == -EIO) {
                queue_free(w->q);
                w->q = NULL;
        }
}

/* The pay link client of the running config (made again after a reload). */
static struct paylink *payclient(struct webhooks *w, struct error *err)
{
        struct snapshot *s = atomic_load(&w->sh->snap);
        if (s != w->snap) {
                paylink_free(w->paylink);
                w->paylink = NULL;
                w->snap = s;
        }
        if (!w->paylink && paylink_new(&w->paylink, s->cfg, err) < 0)
                w->paylink = NULL;
        return w->paylink;
}

static void reply(struct http_response *resp, int status, const char *what)
{
        resp->status = status;
        resp->content_type = "application/json";
        buf_printf(&resp->body, "{\"status\":\"%s\"}\n", what);
}

/* --- form bodies --- */

static int hexval(int c)
{
        return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Decodes s[0..len) (+ is a space, %XX a byte) into out; -1 on a bad
 * escape or when it does not fit. */
static int form_decode(const char *s, size_t len, char *out, size_t n)
{
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
                int c = (unsigned char)s[i];
                if (c == '+') {
                        c = ' ';
                } else if (c == '%') {
                        if (i + 2 >= len)
                                return -1;
                        int hi = hexval((unsigned char)s[i + 1]);
                        int lo = hexval((unsigned char)s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -1;
                        c = hi * 16 + lo;
                        i += 2;
                }
                if (o + 1 >= n || c == 0)
                        return -1;
                out[o++] = (char)c;
        }
        out[o] = '\0';
        return (int)o;
}

int webhooks_form_get(const char *body, const char *name, char *out, size_t n)
{
        size_t nlen = strlen(name);
        for (const char *p = body; p && *p;) {
                const char *end = strchr(p, '&');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                const char *eq = memchr(p, '=', len);
                if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0)
                        return form_decode(eq + 1, len - nlen - 1, out, n);
                p = end ? end + 1 : NULL;
        }
        return -1;
}

/* --- Twilio's signature --- */

struct param {
        char *name, *value;
};

static int param_cmp(const void *a, const void *b)
{
        return strcmp(((const struct param *)a)->name, ((const struct param *)b)->name);
}

bool webhooks_twilio_signature_ok(const char *token, const char *url, const char *body,
                                  const char *signature)
{
        struct param ps[64];
        size_t n = 0;
        struct buf data = BUF_INIT;
        bool ok = false;

        if (!token || !*token || !url || !signature)
                return false;
        for (const char *p = body; p && *p && n < 64;) {
                const char *end = strchr(p, '&');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                const char *eq = memchr(p, '=', len);
                char name[256], value[2048];
                size_t klen = eq ? (size_t)(eq - p) : len;
                if (form_decode(p, klen, name, sizeof(name)) < 0 ||
                    (eq && form_decode(eq + 1, len - klen - 1, value, sizeof(value)) < 0))
                        goto out;
                if (!eq)
                        value[0] = '\0';
                ps[n].name = xstrdup(name);
                ps[n++].value = xstrdup(value);
                p = end ? end + 1 : NULL;
        }
        qsort(ps, n, sizeof(ps[0]), param_cmp);
        buf_puts(&data, url);
        for (size_t i = 0; i < n; i++) {
                buf_puts(&data, ps[i].name);
                buf_puts(&data, ps[i].value);
        }
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mlen = 0;
        if (!HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)data.data,
                  data.len, mac, &mlen))
                goto out;
        unsigned char b64[64];
        int blen = EVP_EncodeBlock(b64, mac, (int)mlen);
        ok = blen > 0 && strlen(signature) == (size_t)blen &&
             CRYPTO_memcmp(b64, signature, (size_t)blen) == 0;
out:
        for (size_t i = 0; i < n; i++) {
                free(ps[i].name);
                free(ps[i].value);
        }
        buf_free(&data);
        return ok;
}

/* --- delivery statuses --- */

enum webhooks_dlr webhooks_dlr_status(const char *provider, const char *status)
{
        static const struct {
                const char *provider, *status;
                enum webhooks_dlr dlr;
        } map[] = {
                /* MessageBird: scheduled, sent, buffered are on the way. */
                { "messagebird", "delivered", WEBHOOKS_DLR_DELIVERED },
                { "messagebird", "delivery_failed", WEBHOOKS_DLR_UNDELIVERED },
                { "messagebird", "expired", WEBHOOKS_DLR_UNDELIVERED },
                /* Twilio: queued, sending, sent, accepted are on the way. */
                { "twilio", "delivered", WEBHOOKS_DLR_DELIVERED },
                { "twilio", "undelivered", WEBHOOKS_DLR_UNDELIVERED },
                { "twilio", "failed", WEBHOOKS_DLR_UNDELIVERED },
                /* generic: our own words. */
                { "generic", "delivered", WEBHOOKS_DLR_DELIVERED },
                { "generic", "undelivered", WEBHOOKS_DLR_UNDELIVERED },
        };
        for (size_t i = 0; provider && status && i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(map[i].provider, provider) == 0 && strcmp(map[i].status, status) == 0)
                        return map[i].dlr;
        return WEBHOOKS_DLR_IGNORE;
}

/* --- Mollie --- */

static bool id_ok(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
                        return false;
        return true;
}

static void post_mollie(void *ctx, const struct http_request *req, struct http_response *resp)
{
        struct webhooks *w = ctx;
        const struct config *cfg = running(w);
        struct paylink_payment pay;
        struct error err;
        char id[80];

        if (webhooks_form_get(req->body, "id", id, sizeof(id)) <= 0 || !id_ok(id)) {
                http_error(resp, 400, "the body must be id=<payment id>");
                return;
        }
        struct paylink *p = payclient(w, &err);
        if (!p) {
                http_error(resp, 503, "pay link provider not available");
                return;
        }
        int rc = paylink_get_payment(p, id, &pay, &err);
        if (rc == -ENOENT) {
                http_error(resp, 404, "unknown payment");
                return;
        }
        if (rc == -EINVAL) {
                http_error(resp, 400, err.msg);
                return;
        }
        if (rc < 0) {
                /* Mollie calls again later; nothing was changed. */
                log_event(LOG_WARNING, "mollie webhook: payment not fetched, answered 503",
                          "payment", id, "error", err.msg, NULL);
                http_error(resp, 503, "payment provider unavailable, try again");
                return;
        }
        struct queue *q = redis(w, &err);
        if (!q) {
                http_error(resp, 503, "redis unavailable, try again");
                return;
        }
        char reminder[20] = "";
        snprintf(reminder, sizeof(reminder), "%s", pay.reminder_id);
        if (!reminder[0] && pay.link_id[0]) {
                rc = queue_paylink_reminder(q, pay.link_id, reminder, &err);
                if (rc < 0 && rc != -ENOENT)
                        goto redis_error;
        }
        bool paid = strcmp(pay.status, "paid") == 0;
        bool final = paid || strcmp(pay.status, "expired") == 0 ||
                     strcmp(pay.status, "failed") == 0 || strcmp(pay.status, "canceled") == 0;
        if (!final) {
                reply(resp, 200, "ignored");   /* open, pending, authorized: not yet */
                return;
        }
        char amount[24], marker[160];
        snprintf(amount, sizeof(amount), "%lld", (long long)pay.amount_cents);
        snprintf(marker, sizeof(marker), "mollie:%s:%s", pay.id, pay.status);
        const char *fields[] = {
                "type", paid ? "payment" : "paylink", "source", "mollie", "status", pay.status,
                "provider_id", pay.id, "link", pay.link_id, "reminder", reminder,
                "amount_cents", amount, "currency", pay.currency, "paid_at", pay.paid_at,
                "method", pay.method,
        };
        rc = queue_record_once(q, marker, PAYMENT_MARKER_TTL_S, paid ? "payments" : "events",
                               cfg->queue.events_maxlen, fields, sizeof(fields) / sizeof(fields[0]),
                               NULL, NULL, &err);
        if (rc < 0)
                goto redis_error;
        if (rc == 1 && paid) {
                /* Applied and credited (metrics included) by the payments
                 * thread that reads the stream (tracking.c). */
                log_event(LOG_INFO, "payment received", "source", "mollie", "payment", pay.id,
                          "reminder", reminder[0] ? reminder : NULL, "amount_cents", amount,
                          "currency", pay.currency, NULL);
        } else if (rc == 1) {
                log_event(LOG_INFO, "pay link payment ended unpaid", "payment", pay.id, "status",
                          pay.status, "reminder", reminder[0] ? reminder : NULL, NULL);
        }
        reply(resp, 200, rc == 1 ? "recorded" : "duplicate");
        return;
redis_error:
        redis_done(w, rc);
        log_event(LOG_WARNING, "mollie webhook: not recorded, answered 503", "payment", id,
                  "error", err.msg, NULL);
        http_error(resp, 503, "redis unavailable, try again");
}

/* --- SMS delivery reports --- */

/* A report parameter: the query string (MessageBird's GET), else the
 * form body, else (generic) a JSON body's member. */
static int report_param(const struct http_request *req, const json_t *json, const char *name,
                        char *out, size_t n)
{
        const char *v = http_query(req, name);
        if (v) {
                if (strlen(v) >= n)
                        return -1;
                snprintf(out, n, "%s", v);
                return (int)strlen(out);
        }
        if (json) {
                const json_t *m = json_object_get(json, name);
                if (!json_is_string(m) || strlen(json_string_value(m)) >= n)
                        return -1;
                snprintf(out, n, "%s", json_string_value(m));
                return (int)strlen(out);
        }
        return webhooks_form_get(req->body, name, out, n);
}

static void sms_report(void *ctx, const struct http_request *req, struct http_response *resp)
{
        struct webhooks *w = ctx;
        const struct config *cfg = running(w);
        const char *provider = cfg->channels.sms.provider;
        bool twilio = strcmp(provider, "twilio") == 0;
        char id[160], status[64], reference[64] = "";
        struct error err;
        json_t *json = NULL;

        if (strcmp(req->path + strlen("/webhooks/sms/"), provider) != 0) {
                http_error(resp, 404, "no such provider configured");
                return;
        }
        const char *ct = http_header(req, "Content-Type");
        if (ct && strncmp(ct, "application/json", 16) == 0 &&
            !(json = json_loadb(req->body, req->body_len, 0, NULL))) {
                http_error(resp, 400, "the body is not valid JSON");
                return;
        }
        int a = report_param(req, json, twilio ? "MessageSid" : "id", id, sizeof(id));
        int b = report_param(req, json, twilio ? "MessageStatus" : "status", status,
                             sizeof(status));
        if (!twilio)
                report_param(req, json, "reference", reference, sizeof(reference));
        json_decref(json);
        if (a <= 0 || b <= 0 || !id_ok(id)) {
                http_error(resp, 400, twilio ? "MessageSid and MessageStatus are required"
                                             : "id and status are required");
                return;
        }
        if (twilio) {
                const char *sig = http_header(req, "X-Twilio-Signature");
                if (!cfg->channels.sms.report_url ||
                    !webhooks_twilio_signature_ok(cfg->channels.sms.token,
                                                  cfg->channels.sms.report_url, req->body, sig)) {
                        http_error(resp, 403, "X-Twilio-Signature does not match");
                        return;
                }
        }
        enum webhooks_dlr dlr = webhooks_dlr_status(provider, status);
        if (dlr == WEBHOOKS_DLR_IGNORE) {
                reply(resp, 200, "ignored");
                return;
        }
        struct queue *q = redis(w, &err);
        if (!q) {
                http_error(resp, 503, "redis unavailable, try again");
                return;
        }
        char reminder[20], segment[32], *jobtext = NULL;
        int rc = queue_sms_lookup(q, id, reminder, &jobtext, segment, &err);
        if (rc == -ENOENT) {
                log_event(LOG_INFO, "delivery report for a message we do not know, ignored",
                          "provider", provider, "message", id, "status", status, NULL);
                reply(resp, 200, "unknown");
                return;
        }
        if (rc < 0)
                goto redis_error;
        if (!twilio && strcmp(reference, reminder) != 0) {
                /* Only the provider knows both the message id and our
                 * reference: a report that gets one wrong is not theirs. */
                free(jobtext);
                http_error(resp, 403, "reference does not match the message");
                return;
        }

        char marker[256], sent_key[64];
        const char *requeue = NULL;
        char *again = NULL;
        struct job *job = NULL;
        if (job_parse(&job, jobtext, strlen(jobtext), &err) < 0)
                job = NULL;
        snprintf(marker, sizeof(marker), "dlr:%s:%s", id,
                 dlr == WEBHOOKS_DLR_DELIVERED ? "delivered" : "undelivered");
        if (dlr == WEBHOOKS_DLR_UNDELIVERED && job) {
                /* The next channel takes it: the job again, SMS skipped and
                 * its sent marker gone (both in the same script). */
                again = job_json_with_skip(job, JOB_CHANNEL_SMS);
                requeue = again;
                snprintf(sent_key, sizeof(sent_key), "sent:%s:sms", reminder);
        }
        const char *fields[] = {
                "type", dlr == WEBHOOKS_DLR_DELIVERED ? "delivered" : "undelivered",
                "reminder", reminder, "channel", "sms", "provider_id", id, "reason", status,
        };
        rc = queue_record_once(q, marker, DLR_MARKER_TTL_S, "events", cfg->queue.events_maxlen,
                               fields, sizeof(fields) / sizeof(fields[0]), requeue,
                               requeue ? sent_key : NULL, &err);
        free(again);
        free(jobtext);
        if (rc < 0) {
                job_free(job);
                goto redis_error;
        }
        if (rc == 1)
                log_event(dlr == WEBHOOKS_DLR_DELIVERED ? LOG_INFO : LOG_WARNING,
                          dlr == WEBHOOKS_DLR_DELIVERED ? "sms delivered"
                                                        : "sms not delivered, next channel",
                          "reminder", reminder, "status", status, NULL);
        if (rc == 1)
                metrics_delivery(&w->sh->metrics, JOB_CHANNEL_SMS,
                                 dlr == WEBHOOKS_DLR_DELIVERED);
        /* The customer's history counts it; a number that did not take
         * the message is marked, so the policy stops choosing it. Counted
         * after the report is recorded: lost in a crash, never twice. */
        if (rc == 1 && cfg->history.enabled &&
            history_delivery(q, cfg, reminder, job, segment, JOB_CHANNEL_SMS,
                             dlr == WEBHOOKS_DLR_DELIVERED, job ? job->customer.phone : NULL,
                             now_ms(), &err) < 0)
                log_event(LOG_WARNING, "delivery not counted in history", "reminder", reminder,
                          "error", err.msg, NULL);
        job_free(job);
        reply(resp, 200, rc == 1 ? "recorded" : "duplicate");
        return;
redis_error:
        redis_done(w, rc);
        http_error(resp, 503, "redis unavailable, try again");
}

void webhooks_routes(struct webhooks *w, struct http *h, const struct config *cfg)
{
        if (strcmp(cfg->paylink.provider, "mollie") == 0)
                http_route(h, "POST", "/webhooks/mollie", post_mollie, w);
        if (strcmp(cfg->channels.sms.transport, "http") == 0) {
                http_route(h, "POST", "/webhooks/sms/*", sms_report, w);
                http_route(h, "GET", "/webhooks/sms/*", sms_report, w);
        }
}
