/* ui.c: the credit team's dashboard and its JSON API: who may ask
 * (token, session cookie, CSRF), what the numbers are (read from Redis by
 * the same code dunningctl uses), and which page shows them. */
#include "ui.h"

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
#include "civil.h"
#include "dead.h"
#include "http.h"
#include "log.h"
#include "queue.h"
#include "stats.h"
#include "stats_cmd.h"
#include "ui_html.h"
#include "ui_pages.h"
#include "webhooks.h"

#define REDIS_TIMEOUT_MS 5000
#define DAY_MS 86400000LL
#define CHART_DAYS 30
#define SESSION_S (12 * 3600)
#define SESSION_COOKIE "dunningd_ui"
#define LANG_COOKIE "dunningd_lang"
#define TIMELINE_SCAN 5000      /* newest events searched for a customer */
#define CAMPAIGNS_MAX 20
#define DEAD_SHOWN 200
#define CAMPAIGN_DEAD_SCAN 10000  /* dead letters counted per campaign */
#define THROUGHPUT_WINDOW_MS 300000

/* No script but our own file, no framing, nothing from elsewhere. */
static const char csp[] =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

struct ui {
        struct worker_shared *sh;
        struct queue *q;
};

void ui_new(struct ui **out, struct worker_shared *sh)
{
        struct ui *u = xcalloc(1, sizeof(*u));
        u->sh = sh;
        *out = u;
}

void ui_free(struct ui *u)
{
        if (!u)
                return;
        queue_free(u->q);
        free(u);
}

static const struct config *running(const struct ui *u)
{
        return atomic_load(&u->sh->snap)->cfg;
}

static struct queue *redis(struct ui *u, struct error *err)
{
        const struct config *cfg = running(u);
        if (!u->q && queue_open(&u->q, cfg->redis.url, cfg->redis.password, cfg->redis.prefix,
                                NULL, err) == 0)
                queue_set_timeout(u->q, REDIS_TIMEOUT_MS);
        return u->q;
}

/* After a Redis error: a dead connection is dropped, the next request
 * connects again. */
static void redis_done(struct ui *u, int rc)
{
        if (rc == -EIO) {
                queue_free(u->q);
                u->q = NULL;
        }
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- who may ask ---- */

static void hmac_hex(const char *key, const char *msg, char out[65])
{
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), mac,
             &len);
        for (unsigned i = 0; i < 32 && i < len; i++)
                snprintf(out + 2 * i, 3, "%02x", mac[i]);
        out[64] = '\0';
}

void ui_session_make(const char *token, long long exp_s, char out[96])
{
        char msg[48], mac[65];
        snprintf(msg, sizeof(msg), "session:%lld", exp_s);
        hmac_hex(token, msg, mac);
        snprintf(out, 96, "%lld.%s", exp_s, mac);
}

bool ui_session_valid(const char *token, const char *value, long long now_s)
{
        char *end = NULL;
        long long exp = value ? strtoll(value, &end, 10) : 0;
        if (!value || end == value || *end != '.' || strlen(end + 1) != 64 || exp <= now_s ||
            exp > now_s + SESSION_S)
                return false;
        char want[96];
        ui_session_make(token, exp, want);
        return CRYPTO_memcmp(want, value, strlen(want)) == 0 && strlen(value) == strlen(want);
}

/* The token a caller gave against ours, in constant time whatever the
 * lengths: both are MACed first, and the MACs compared. */
static bool token_ok(const char *token, const char *given)
{
        char a[65], b[65];
        if (!token || !*token || !given)
                return false;
        hmac_hex("dunningd ui token", token, a);
        hmac_hex("dunningd ui token", given, b);
        return CRYPTO_memcmp(a, b, 64) == 0;
}

enum auth { AUTH_NONE, AUTH_BEARER, AUTH_COOKIE };

static enum auth authenticate(const struct config *cfg, const struct http_request *req)
{
        const char *h = http_header(req, "Authorization");
        if (h && strncasecmp(h, "Bearer ", 7) == 0)
                return token_ok(cfg->ui.token, h + 7) ? AUTH_BEARER : AUTH_NONE;
        const char *c = http_cookie(req, SESSION_COOKIE);
        if (c && cfg->ui.token && ui_session_valid(cfg->ui.token, c, now_ms() / 1000))
                return AUTH_COOKIE;
        return AUTH_NONE;
}

/* The CSRF token of a session: bound to its cookie, so it dies with it. */
static void csrf_of(const struct config *cfg, const struct http_request *req, char out[65])
{
        const char *c = http_cookie(req, SESSION_COOKIE);
        char msg[128];
        out[0] = '\0';
        if (!c || !cfg->ui.token)
                return;
        snprintf(msg, sizeof(msg), "csrf:%.100s", c);
        hmac_hex(cfg->ui.token, msg, out);
}

static bool csrf_ok(const struct config *cfg, const struct http_request *req)
{
        char want[65], given[80] = "";
        const char *h = http_header(req, "X-CSRF-Token");
        csrf_of(cfg, req, want);
        if (h)
                snprintf(given, sizeof(given), "%s", h);
        else if (webhooks_form_get(req->body, "csrf", given, sizeof(given)) < 0)
                given[0] = '\0';
        return want[0] && strlen(given) == 64 && CRYPTO_memcmp(want, given, 64) == 0;
}

/* ---- responses ---- */

static void security_headers(struct http_response *resp)
{
        buf_printf(&resp->headers, "Content-Security-Policy: %s\n", csp);
        buf_puts(&resp->headers, "X-Frame-Options: DENY\nReferrer-Policy: no-referrer\n");
}

static void reply_json(struct http_response *resp, int status, json_t *o)
{
        char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        resp->status = status;
        resp->content_type = "application/json";
        buf_reset(&resp->body);
        buf_puts(&resp->body, text ? text : "{}");
        buf_putc(&resp->body, '\n');
        free(text);
        json_decref(o);
}

static void reply_html(struct http_response *resp, int status, struct buf *page)
{
        resp->status = status;
        resp->content_type = "text/html; charset=utf-8";
        buf_reset(&resp->body);
        buf_append(&resp->body, page->data ? page->data : "", page->len);
        buf_free(page);
}

static void redirect(struct http_response *resp, const char *where)
{
        resp->status = 303;
        buf_printf(&resp->headers, "Location: %s\n", where);
}

/* ---- the numbers (the API's objects; the pages render them) ---- */

static struct stats_filter last_days(int64_t now)
{
        struct stats_filter f = { .since_ms = now - (CHART_DAYS - 1) * DAY_MS, .until_ms = now };
        return f;
}

static json_t *daily_json(const struct stats_day *days, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
                char date[11];
                json_t *sent = json_object(), *paid = json_object();
                civil_format(civil_today(days[i].day_ms), date);
                for (int c = 0; c < JOB_CHANNEL__N; c++) {
                        const char *ch = job_channel_name((enum job_channel)c);
                        json_object_set_new(sent, ch, json_integer(days[i].sent[c]));
                        json_object_set_new(paid, ch, json_integer(days[i].paid[c]));
                }
                json_array_append_new(a, json_pack("{ssso so sI}", "date", date, "sent", sent,
                                                   "paid", paid, "paid_cents",
                                                   (json_int_t)days[i].paid_cents));
        }
        return a;
}

/* `dunningctl stats --json` for f, with "daily" added. */
static int get_stats(struct queue *q, const struct stats_filter *f, struct stats_day *days,
                     size_t *n_days, json_t **out, struct error *err)
{
        struct stats *s = xcalloc(1, sizeof(*s));
        int rc = stats_collect_daily(q, f, s, days, CHART_DAYS, n_days, err);
        if (rc == 0) {
                *out = stats_json(s, f);
                json_object_set_new(*out, "daily", daily_json(days, *n_days));
        }
        free(s);
        return rc;
}

static int get_queue(struct queue *q, json_t **out, struct error *err)
{
        struct queue_status *st = xcalloc(1, sizeof(*st));
        struct queue_tally t = { 0 };
        int rc = queue_status(q, st, err);
        if (rc == 0)
                rc = queue_recent_events(q, THROUGHPUT_WINDOW_MS, &t, err);
        if (rc == 0) {
                long long sent = 0;
                for (size_t i = 0; i < t.n; i++)
                        if (strcmp(t.v[i].value, "sent") == 0)
                                sent = t.v[i].count;
                *out = json_pack("{sIsIsIsIsIsIsIsf}", "jobs", (json_int_t)st->jobs, "backlog",
                                 (json_int_t)st->backlog, "pending", (json_int_t)st->pending,
                                 "depth",
                                 (json_int_t)((st->backlog > 0 ? st->backlog : 0) + st->pending),
                                 "scheduled", (json_int_t)st->scheduled, "dead",
                                 (json_int_t)st->dead, "sent_last_5_min", (json_int_t)sent,
                                 "throughput_per_min", (double)sent / 5.0);
        }
        free(st);
        return rc;
}

/* Adds v to steps[step][key], making the step {sent, held_out} first. */
static void step_add(json_t *steps, const char *step, const char *key, long long v)
{
        json_t *st = json_object_get(steps, step);
        if (!st) {
                st = json_pack("{sIsI}", "sent", (json_int_t)0, "held_out", (json_int_t)0);
                json_object_set_new(steps, step, st);
        }
        json_object_set_new(st, key, json_integer(json_integer_value(json_object_get(st, key)) + v));
}

static int get_campaigns(struct queue *q, json_t **out, struct error *err)
{
        struct stats_filter f = last_days(now_ms());
        char names[CAMPAIGNS_MAX][STATS_STEP_MAX + 1];
        size_t n = 0, total = 0;
        int rc = stats_campaigns(q, &f, names, CAMPAIGNS_MAX, &n, &total, err);
        /* Dead letters per campaign: the job's campaign is in each entry,
         * the job text is not needed; a bounded walk, said when cut. */
        json_t *dead = rc == 0 ? dead_list_json(q, CAMPAIGN_DEAD_SCAN, false, err) : NULL;
        if (rc == 0 && !dead)
                rc = -EIO;
        json_t *list = json_array();
        struct stats *s = xcalloc(1, sizeof(*s));
        for (size_t i = 0; rc == 0 && i < n; i++) {
                f.campaign = names[i];
                if ((rc = stats_collect(q, &f, s, err)) < 0)
                        break;
                /* Progress: how far the campaign's customers got, step by
                 * step, and how many of its jobs are stuck in the dead
                 * letters. */
                json_t *steps = json_object();
                for (size_t r = 0; r < s->n_rows; r++)
                        step_add(steps, s->rows[r].step, "sent", s->rows[r].sent);
                for (size_t h = 0; h < s->n_holdout; h++)
                        step_add(steps, s->holdout[h].step, "held_out", s->holdout[h].held_out);
                long long n_dead = 0;
                size_t k;
                json_t *e;
                json_array_foreach(json_object_get(dead, "entries"), k, e)
                        n_dead += json_is_string(json_object_get(e, "campaign")) &&
                                  strcmp(json_string_value(json_object_get(e, "campaign")),
                                         names[i]) == 0;
                json_array_append_new(list, json_pack("{sssos{sosI}}", "campaign", names[i],
                                                      "stats", stats_json(s, &f), "progress",
                                                      "steps", steps, "dead", (json_int_t)n_dead));
        }
        free(s);
        if (rc < 0) {
                json_decref(dead);
                json_decref(list);
                return rc;
        }
        /* How many campaigns there are and how many dead letters were
         * counted: a list cut short says so (the page too). */
        *out = json_pack("{sosbsIsIsI}", "campaigns", list, "dead_truncated",
                         json_is_true(json_object_get(dead, "truncated")), "total",
                         (json_int_t)total, "shown", (json_int_t)n, "dead_scanned",
                         json_integer_value(json_object_get(dead, "count")));
        json_decref(dead);
        return 0;
}

static json_t *jstr_or_null(const char *s)
{
        json_t *v = s ? json_string(s) : NULL;
        return v ? v : json_null();
}

/* The customer of an id or an invoice number: *id_out, or -ENOENT. */
static int find_customer(struct queue *q, const char *what, char *id_out, size_t n,
                         struct error *err)
{
        char key[512];
        history_key(q, key, sizeof(key), "customer", what);
        int rc = queue_exists(q, key, err);
        if (rc < 0)
                return rc;
        if (rc == 1) {
                snprintf(id_out, n, "%s", what);
                return 0;
        }
        history_key(q, key, sizeof(key), "invoice", what);
        const char *keys[] = { key };
        struct queue_fields f = { 0 };
        rc = queue_hashes_get(q, keys, 1, &f, err);
        const char *c = rc == 0 ? queue_fields_get(&f, "customer") : NULL;
        bool found = c && *c;
        if (found)
                snprintf(id_out, n, "%s", c);
        queue_fields_free(&f);
        if (rc < 0)
                return rc;
        return found ? 0 : -ENOENT;
}

/* Adds each invoice number of s (separated by ',' or '\n') to set. */
static void add_invoices(json_t *set, const char *s)
{
        while (s && *s) {
                size_t len = strcspn(s, ",\n");
                if (len) {
                        char *num = xstrndup(s, len);
                        json_object_set_new(set, num, json_true());
                        free(num);
                }
                s += len + (s[len] != '\0');
        }
}

static json_t *invoices_json(struct queue *q, json_t *set, struct error *err, int *rc)
{
        size_t n = json_object_size(set), i = 0;
        json_t *list = json_array();
        if (n == 0)
                return list;
        char **keys = xcalloc(n, sizeof(*keys));
        const char **nums = xcalloc(n, sizeof(*nums));
        struct queue_fields *f = xcalloc(n, sizeof(*f));
        const char *num;
        json_t *v;
        json_object_foreach(set, num, v) {
                char k[512];
                history_key(q, k, sizeof(k), "invoice", num);
                keys[i] = xstrdup(k);
                nums[i++] = num;
        }
        *rc = queue_hashes_get(q, (const char *const *)keys, n, f, err);
        for (i = 0; i < n; i++) {
                if (*rc == 0 && f[i].n) {
                        const char *paid = queue_fields_get(&f[i], "paid_cents");
                        const char *amount = queue_fields_get(&f[i], "amount_cents");
                        const char *status = queue_fields_get(&f[i], "status");
                        /* Dunning stopped for it: a hold still in force
                         * (its reason), or a payment arrangement (its id). */
                        struct hold hd;
                        json_t *held = json_null();
                        if (hold_parse(queue_fields_get(&f[i], "hold"), &hd) == 0 &&
                            hold_active(&hd, now_ms()))
                                held = json_string(hold_reason_name(hd.reason));
                        json_array_append_new(
                                list, json_pack("{sssIsIssso so so so}", "number", nums[i],
                                                "amount_cents",
                                                (json_int_t)(amount ? strtoll(amount, NULL, 10) : 0),
                                                "paid_cents",
                                                (json_int_t)(paid ? strtoll(paid, NULL, 10) : 0),
                                                "status", status ? status : "open", "currency",
                                                jstr_or_null(queue_fields_get(&f[i], "currency")),
                                                "due", jstr_or_null(queue_fields_get(&f[i], "due")),
                                                "hold", held, "arrangement",
                                                jstr_or_null(queue_fields_get(&f[i],
                                                                              "arrangement"))));
                }
                queue_fields_free(&f[i]);
                free(keys[i]);
        }
        free(keys);
        free(nums);
        free(f);
        return list;
}

/* explain's object for id, with "timeline" (its events, newest first),
 * "invoices" (those the events name), and whether the events searched
 * (the newest TIMELINE_SCAN) reached the oldest: "timeline_complete",
 * "timeline_searched". -ENOENT when dunningd knows nothing of the
 * customer. */
static int get_customer(struct ui *u, struct queue *q, const char *id, json_t **out,
                        struct error *err)
{
        struct explain e;
        int rc = explain_load(running(u), q, id, NULL, now_ms(), &e, err);
        if (rc < 0 && rc != -ENOENT)
                return rc;
        json_t *root = rc == 0 ? explain_json(id, &e) : json_pack("{sssn}", "customer", id,
                                                                   "policy");
        bool known = rc == 0;
        if (rc == 0)
                explain_free(&e);

        /* One event more than searched: whether there was more to search,
         * from the same read. */
        struct queue_fields *ev = NULL;
        size_t n = 0;
        rc = queue_stream_last(q, "events", TIMELINE_SCAN + 1, &ev, &n, err);
        bool complete = n <= TIMELINE_SCAN;
        size_t searched = complete ? n : TIMELINE_SCAN;
        json_t *timeline = json_array(), *inv = json_object();
        for (size_t i = 0; rc == 0 && i < searched; i++) {
                const char *c = queue_fields_get(&ev[i], "customer");
                if (!c || strcmp(c, id) != 0)
                        continue;
                json_t *o = json_object();
                json_object_set_new(o, "id", json_string(ev[i].id));
                json_object_set_new(o, "time_ms", json_integer(strtoll(ev[i].id, NULL, 10)));
                for (size_t k = 0; k < ev[i].n; k++) {
                        const char *name = ev[i].kv[2 * k];
                        if (strcmp(name, "customer") != 0)
                                json_object_set_new(o, name, jstr_or_null(ev[i].kv[2 * k + 1]));
                }
                add_invoices(inv, queue_fields_get(&ev[i], "invoice"));
                add_invoices(inv, queue_fields_get(&ev[i], "invoices"));
                json_array_append_new(timeline, o);
        }
        queue_records_free(ev, n);
        json_t *invoices = rc == 0 ? invoices_json(q, inv, err, &rc) : json_array();
        json_decref(inv);
        known = known || json_array_size(timeline) > 0;
        json_object_set_new(root, "timeline", timeline);
        json_object_set_new(root, "timeline_complete", json_boolean(complete));
        json_object_set_new(root, "timeline_searched", json_integer((json_int_t)searched));
        json_object_set_new(root, "invoices", invoices);
        if (rc < 0 || !known) {
                json_decref(root);
                if (rc < 0)
                        return rc;
                /* Not found where we looked: say where that was. */
                return complete ? error_set(err, -ENOENT, "no customer %s", id)
                                : error_set(err, -ENOENT,
                                            "no customer %s in the newest %d events",
                                            id, TIMELINE_SCAN);
        }
        *out = root;
        return 0;
}

static void contact(json_t *o, const char *key, const char *value, bool reveal)
{
        char masked[256];
        if (!value) {
                json_object_set_new(o, key, json_null());
                return;
        }
        if (!reveal) {
                if (key[0] == 'e')
                        log_mask_email(masked, sizeof(masked), value);
                else
                        log_mask_phone(masked, sizeof(masked), value);
                value = masked;
        }
        json_object_set_new(o, key, jstr_or_null(value));
}

/* `dead list --json` with the customer's name and masked contacts instead
 * of the job, and "total" and "shown" (how many there are, how many are
 * listed); reveal (may be NULL) names the entry shown in full. */
static int get_dead(struct queue *q, const char *reveal, json_t **out, struct error *err)
{
        json_t *root = dead_list_json(q, DEAD_SHOWN, true, err);
        size_t i;
        json_t *e;
        if (!root)
                return -EIO;
        /* A walk that was not cut saw them all; one that was asks the
         * stream, whose length may have moved since, but never says fewer
         * than the walk saw. */
        long long shown = json_integer_value(json_object_get(root, "count"));
        long long total = shown;
        if (json_is_true(json_object_get(root, "truncated"))) {
                int rc = queue_stream_len(q, "dead", &total, err);
                if (rc < 0) {
                        json_decref(root);
                        return rc;
                }
                if (total <= shown)
                        total = shown + 1;
        }
        json_object_set_new(root, "total", json_integer(total));
        json_object_set_new(root, "shown", json_integer(shown));
        json_array_foreach(json_object_get(root, "entries"), i, e) {
                json_t *cust = json_object_get(json_object_get(e, "job"), "customer");
                const char *id = json_string_value(json_object_get(e, "id"));
                bool show = reveal && id && strcmp(reveal, id) == 0;
                json_object_set_new(e, "name",
                                    jstr_or_null(json_string_value(json_object_get(cust, "name"))));
                contact(e, "email", json_string_value(json_object_get(cust, "email")), show);
                contact(e, "phone", json_string_value(json_object_get(cust, "phone")), show);
                json_object_set_new(e, "revealed", json_boolean(show));
                json_object_del(e, "job");
        }
        *out = root;
        return 0;
}

/* ---- requests ---- */

struct call {
        struct ui *u;
        const struct config *cfg;
        const struct http_request *req;
        struct http_response *resp;
        struct ui_page page;
        char csrf[65];
        bool api;
};

static void fail(struct call *c, int rc, const struct error *err)
{
        struct buf b = BUF_INIT;
        int status = rc == -ENOENT ? 404 : 503;
        if (rc != -ENOENT)
                log_event(LOG_WARNING, "ui: redis", "error", err->msg, NULL);
        if (c->api) {
                http_error(c->resp, status, rc == -ENOENT ? err->msg : "redis unavailable");
                return;
        }
        if (rc == -ENOENT) {
                ui_page_not_found(&b, &c->page, c->req->path);
        } else {
                buf_puts(&b, "<!doctype html><title>503</title><p>Redis unavailable</p>");
        }
        reply_html(c->resp, status, &b);
}

/* The id after prefix in path, up to the next '/' or the end: *rest is
 * what follows ("" or "/..."). */
static bool path_id(const char *path, const char *prefix, char *id, size_t n,
                    const char **rest)
{
        size_t pl = strlen(prefix);
        if (strncmp(path, prefix, pl) != 0 || !path[pl])
                return false;
        size_t len = strcspn(path + pl, "/");
        if (len == 0 || len >= n)
                return false;
        memcpy(id, path + pl, len);
        id[len] = '\0';
        *rest = path + pl + len;
        return true;
}

static void do_overview(struct call *c, struct queue *q)
{
        struct error err;
        struct stats_filter f = last_days(now_ms());
        struct stats_day days[CHART_DAYS];
        size_t n = 0;
        json_t *stats = NULL, *queue = NULL;
        int rc = get_stats(q, &f, days, &n, &stats, &err);
        if (rc == 0)
                rc = get_queue(q, &queue, &err);
        if (rc == 0) {
                struct buf b = BUF_INIT;
                ui_page_overview(&b, &c->page, stats, queue, days, n);
                reply_html(c->resp, 200, &b);
        } else {
                redis_done(c->u, rc);
                fail(c, rc, &err);
        }
        json_decref(stats);
        json_decref(queue);
}

static void do_api_stats(struct call *c, struct queue *q)
{
        struct error err;
        struct stats_filter f = last_days(now_ms());
        const char *since = http_query(c->req, "since"), *until = http_query(c->req, "until");
        f.campaign = http_query(c->req, "campaign");
        f.segment = http_query(c->req, "segment");
        if ((since && stats_parse_since(since, &f.since_ms) < 0) ||
            (until && stats_parse_since(until, &f.until_ms) < 0)) {
                http_error(c->resp, 400, since && stats_parse_since(since, &f.since_ms) < 0
                                                 ? "since: not a date, RFC 3339 time or Unix seconds"
                                                 : "until: not a date, RFC 3339 time or Unix seconds");
                return;
        }
        if (f.until_ms < f.since_ms) {
                http_error(c->resp, 400, "until is before since");
                return;
        }
        struct stats_day days[CHART_DAYS];
        size_t n = 0;
        json_t *o = NULL;
        int rc = get_stats(q, &f, days, &n, &o, &err);
        if (rc < 0) {
                redis_done(c->u, rc);
                fail(c, rc, &err);
                return;
        }
        reply_json(c->resp, 200, o);
}

static void do_customer(struct call *c, struct queue *q, const char *id)
{
        struct error err;
        json_t *o = NULL;
        int rc = get_customer(c->u, q, id, &o, &err);
        if (rc < 0) {
                redis_done(c->u, rc);
                fail(c, rc, &err);
                return;
        }
        if (c->api) {
                reply_json(c->resp, 200, o);
                return;
        }
        struct buf b = BUF_INIT;
        ui_page_customer(&b, &c->page, o);
        json_decref(o);
        reply_html(c->resp, 200, &b);
}

/* ?q= (pages) or ?invoice= (API): the customer it names. */
static void do_search(struct call *c, struct queue *q)
{
        const char *what = http_query(c->req, c->api ? "invoice" : "q");
        char id[256];
        struct error err;
        if (!what || !*what) {
                if (c->api)
                        http_error(c->resp, 400, "invoice: missing");
                else
                        redirect(c->resp, "/ui/");
                return;
        }
        /* A pasted number brings its blanks along: they are no part of it. */
        char want[256];
        what += strspn(what, " \t\r\n");
        size_t len = strlen(what);
        while (len && strchr(" \t\r\n", what[len - 1]))
                len--;
        snprintf(want, sizeof(want), "%.*s", (int)len, what);
        what = want;
        int rc = find_customer(q, what, id, sizeof(id), &err);
        if (rc == -ENOENT) {
                if (c->api) {
                        http_error(c->resp, 404, "no such customer or invoice");
                } else {
                        struct buf b = BUF_INIT;
                        ui_page_not_found(&b, &c->page, what);
                        reply_html(c->resp, 404, &b);
                }
                return;
        }
        if (rc < 0) {
                redis_done(c->u, rc);
                fail(c, rc, &err);
                return;
        }
        if (c->api) {
                reply_json(c->resp, 200, json_pack("{ss}", "customer", id));
                return;
        }
        struct buf loc = BUF_INIT;
        buf_puts(&loc, "/ui/customers/");
        ui_url_encode(&loc, id);
        redirect(c->resp, buf_str(&loc));
        buf_free(&loc);
}

static void do_dead_list(struct call *c, struct queue *q, const char *notice)
{
        struct error err;
        json_t *o = NULL;
        const char *reveal = c->api ? NULL : http_query(c->req, "reveal");
        int rc = get_dead(q, reveal, &o, &err);
        if (rc < 0) {
                redis_done(c->u, rc);
                fail(c, rc, &err);
                return;
        }
        if (reveal) {
                /* Who saw what is an audit question: the entry and the
                 * customer, never the contact itself. */
                size_t i;
                json_t *e;
                json_array_foreach(json_object_get(o, "entries"), i, e)
                        if (json_is_true(json_object_get(e, "revealed")))
                                log_event(LOG_NOTICE, "ui: contact data revealed", "dead", reveal,
                                          "customer",
                                          json_string_value(json_object_get(e, "customer")), NULL);
        }
        if (c->api) {
                reply_json(c->resp, 200, o);
                return;
        }
        struct buf b = BUF_INIT;
        ui_page_dead(&b, &c->page, o, notice);
        json_decref(o);
        reply_html(c->resp, 200, &b);
}

/* POST .../dead/{id}/retry|drop */
static void do_dead_action(struct call *c, struct queue *q, const char *id, const char *action)
{
        bool retry = strcmp(action, "/retry") == 0;
        bool still_invalid = false;
        struct error err;
        if (!retry && strcmp(action, "/drop") != 0) {
                http_error(c->resp, 404, "no such path");
                return;
        }
        int rc = dead_apply(q, id, retry, &still_invalid, &err);
        if (rc < 0 && rc != -ENOENT) {
                redis_done(c->u, rc);
                fail(c, rc, &err);
                return;
        }
        if (rc == 0)
                log_event(LOG_NOTICE, retry ? "ui: dead letter retried" : "ui: dead letter dropped",
                          "dead", id, NULL);
        if (c->api) {
                if (rc == -ENOENT)
                        http_error(c->resp, 404, err.msg);
                else
                        reply_json(c->resp, 200,
                                   json_pack("{sssbsb}", "id", id, retry ? "retried" : "dropped",
                                             1, "still_invalid", still_invalid));
                return;
        }
        redirect(c->resp, rc == 0 ? (retry ? "/ui/dead?done=retried" : "/ui/dead?done=dropped")
                                  : "/ui/dead");
}

static void do_login(struct call *c)
{
        struct buf b = BUF_INIT;
        if (strcmp(c->req->method, "POST") != 0) {
                ui_page_login(&b, &c->page, false);
                reply_html(c->resp, 200, &b);
                return;
        }
        char *given = xcalloc(1, c->req->body_len + 1);
        bool ok = webhooks_form_get(c->req->body, "token", given, c->req->body_len + 1) >= 0 &&
                  token_ok(c->cfg->ui.token, given);
        explicit_bzero(given, c->req->body_len + 1);
        free(given);
        if (!ok) {
                log_event(LOG_WARNING, "ui: login refused", NULL);
                ui_page_login(&b, &c->page, true);
                reply_html(c->resp, 401, &b);
                return;
        }
        char cookie[96];
        ui_session_make(c->cfg->ui.token, now_ms() / 1000 + SESSION_S, cookie);
        buf_printf(&c->resp->headers,
                   "Set-Cookie: " SESSION_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; "
                   "SameSite=Strict\n",
                   cookie, SESSION_S);
        log_event(LOG_INFO, "ui: login", NULL);
        redirect(c->resp, "/ui/");
}

extern const char ui_static_js[], ui_static_css[];

/* GET /ui/static/...: our script and style sheet, the same for everyone. */
static bool do_static(struct call *c)
{
        const char *p = c->req->path;
        if (strcmp(p, "/ui/static/ui.js") == 0) {
                c->resp->content_type = "text/javascript; charset=utf-8";
                buf_puts(&c->resp->body, ui_static_js);
                return true;
        }
        if (strcmp(p, "/ui/static/ui.css") == 0) {
                c->resp->content_type = "text/css; charset=utf-8";
                buf_puts(&c->resp->body, ui_static_css);
                return true;
        }
        return false;
}

static void unauthorized(struct call *c)
{
        buf_puts(&c->resp->headers, "WWW-Authenticate: Bearer realm=\"dunningd\"\n");
        if (c->api) {
                http_error(c->resp, 401, "a bearer token or a session is required");
                return;
        }
        struct buf b = BUF_INIT;
        ui_page_login(&b, &c->page, false);
        reply_html(c->resp, 401, &b);
}

static void route(struct call *c, struct queue *q)
{
        const char *p = c->req->path, *rest;
        bool post = strcmp(c->req->method, "POST") == 0;
        char id[256];

        if (c->api)
                p += strlen("/api/v1");
        else
                p += strlen("/ui");
        if (!post && (strcmp(p, "/") == 0 || (c->api && strcmp(p, "/stats") == 0))) {
                if (c->api)
                        do_api_stats(c, q);
                else
                        do_overview(c, q);
        } else if (!post && c->api && strcmp(p, "/queue") == 0) {
                json_t *o = NULL;
                struct error err;
                int rc = get_queue(q, &o, &err);
                if (rc < 0) {
                        redis_done(c->u, rc);
                        fail(c, rc, &err);
                } else {
                        reply_json(c->resp, 200, o);
                }
        } else if (!post && strcmp(p, "/campaigns") == 0) {
                json_t *o = NULL;
                struct error err;
                int rc = get_campaigns(q, &o, &err);
                if (rc < 0) {
                        redis_done(c->u, rc);
                        fail(c, rc, &err);
                } else if (c->api) {
                        reply_json(c->resp, 200, o);
                } else {
                        struct buf b = BUF_INIT;
                        ui_page_campaigns(&b, &c->page, o);
                        json_decref(o);
                        reply_html(c->resp, 200, &b);
                }
        } else if (!post && strcmp(p, "/customers") == 0) {
                do_search(c, q);
        } else if (!post && strncmp(p, "/customers/", 11) == 0 && p[11]) {
                /* The rest of the path, whole: a customer id may hold '/'
                 * (sent as %2F, which the server has decoded). */
                do_customer(c, q, p + 11);
        } else if (!post && strcmp(p, "/dead") == 0) {
                const char *done = c->api ? NULL : http_query(c->req, "done");
                const char *notice = done && strcmp(done, "retried") == 0 ? "retried"
                                     : done && strcmp(done, "dropped") == 0 ? "dropped" : NULL;
                do_dead_list(c, q, notice ? ui_text(c->page.lang, notice) : NULL);
        } else if (post && path_id(p, "/dead/", id, sizeof(id), &rest)) {
                do_dead_action(c, q, id, rest);
        } else {
                http_error(c->resp, 404, "no such path");
        }
}

static void serve(void *ctx, const struct http_request *req, struct http_response *resp)
{
        struct ui *u = ctx;
        struct call c = { .u = u, .cfg = running(u), .req = req, .resp = resp,
                          .api = strncmp(req->path, "/api/", 5) == 0 };
        const char *lang = http_query(req, "lang");

        security_headers(resp);
        if (!c.cfg->ui.enabled) {
                http_error(resp, 404, "no such path");
                return;
        }
        if (lang && (strcmp(lang, "nl") == 0 || strcmp(lang, "en") == 0))
                buf_printf(&resp->headers,
                           "Set-Cookie: " LANG_COOKIE "=%s; Path=/; Max-Age=31536000; "
                           "SameSite=Strict\n",
                           lang);
        else
                lang = http_cookie(req, LANG_COOKIE);
        c.page.lang = ui_lang_pick(lang, http_header(req, "Accept-Language"));
        c.page.self = req->path;
        c.page.csrf = "";

        if (strcmp(req->path, "/ui") == 0) {
                redirect(resp, "/ui/");
                return;
        }
        if (!c.api && strcmp(req->method, "GET") == 0 && do_static(&c))
                return;
        if (strcmp(req->path, "/ui/login") == 0) {
                do_login(&c);
                return;
        }
        enum auth a = authenticate(c.cfg, req);
        if (a == AUTH_NONE) {
                unauthorized(&c);
                return;
        }
        if (strcmp(req->path, "/ui/logout") == 0 && strcmp(req->method, "POST") == 0) {
                if (a == AUTH_COOKIE && !csrf_ok(c.cfg, req)) {
                        http_error(resp, 403, "missing or wrong CSRF token");
                        return;
                }
                buf_puts(&resp->headers,
                         "Set-Cookie: " SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; "
                         "SameSite=Strict\n");
                redirect(resp, "/ui/login");
                return;
        }
        if (a == AUTH_COOKIE) {
                csrf_of(c.cfg, req, c.csrf);
                c.page.csrf = c.csrf;
                if (strcmp(req->method, "POST") == 0 && !csrf_ok(c.cfg, req)) {
                        http_error(resp, 403, "missing or wrong CSRF token");
                        return;
                }
        }
        struct error err;
        struct queue *q = redis(u, &err);
        if (!q) {
                fail(&c, -EIO, &err);
                return;
        }
        route(&c, q);
}

void ui_routes(struct ui *u, struct http *h, const struct config *cfg)
{
        if (!cfg->ui.enabled)
                return;
        http_route(h, "GET", "/ui", serve, u);
        http_route(h, "GET", "/ui/*", serve, u);
        http_route(h, "POST", "/ui/*", serve, u);
        http_route(h, "GET", "/api/v1/*", serve, u);
        http_route(h, "POST", "/api/v1/*", serve, u);
}
