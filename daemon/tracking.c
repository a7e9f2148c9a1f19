/* tracking.c: payments in (the payments stream, `dunningctl paid`), spread
 * over the invoices they pay, credited to the reminders that made them.
 *
 * The decisions (parsing, attribution, payment behaviour, the plan of one
 * payment) are pure functions of what Redis holds; tracking_apply reads
 * that under WATCH and writes the plan in one MULTI/EXEC; the payments
 * thread feeds it from the stream. Key layout: history.h. */
#include "tracking.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "arrangements.h"
#include "backoff.h"
#include "buf.h"
#include "civil.h"
#include "epcqr.h"
#include "log.h"
#include "metrics.h"
#include "quiet.h"
#include "worker.h"

#define DAY_MS INT64_C(86400000)
#define APPLY_TRIES 16          /* rounds of WATCH/EXEC lost to concurrent writers */
#define WATCH_CHUNK 60          /* queue_watch takes at most 63 keys a call */

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *get(const struct queue_fields *f, const char *name)
{
        return f ? queue_fields_get(f, name) : NULL;
}

static bool empty(const char *s)
{
        return !s || !*s;
}

/* A whole decimal number (optional sign); false for anything else. */
static bool whole(const char *s, int64_t *v)
{
        const char *p = s;
        if (!s)
                return false;
        if (*p == '-' || *p == '+')
                p++;
        if (!*p || strlen(p) > 18)
                return false;
        for (const char *c = p; *c; c++)
                if (*c < '0' || *c > '9')
                        return false;
        *v = strtoll(s, NULL, 10);
        return true;
}

static int64_t num(const char *s)
{
        int64_t v = 0;
        return whole(s, &v) ? v : 0;
}

/* ---- payments: parsing ---- */

int tracking_parse_amount(const char *s, int64_t *cents, struct error *err)
{
        int64_t v;
        if (empty(s))
                return error_set(err, -EINVAL, "missing");
        if (!whole(s, &v))
                return error_set(err, -EINVAL, "\"%s\" is not a whole number of cents", s);
        if (v <= 0)
                return error_set(err, -EINVAL, "must be more than 0 cents, not %s", s);
        *cents = v;
        return 0;
}

int tracking_parse_time(const char *s, int64_t *ms)
{
        int64_t v;
        if (empty(s))
                return -EINVAL;
        if (*s >= '0' && *s <= '9' && whole(s, &v)) {
                if (v <= 0)
                        return -EINVAL;
                *ms = v;
                return 0;
        }
        return job_parse_time(s, ms);
}

bool tracking_is_reminder_id(const char *s)
{
        if (!s || strlen(s) != 18 || s[0] != 'r' || s[1] != '-')
                return false;
        for (int i = 2; i < 18; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

int tracking_set_reference(struct tracking_payment *p, const char *ref, struct error *err)
{
        char compact[EPCQR_RF_MAX + 1];
        const char *s = ref ? ref : "";
        size_t len;

        while (isspace((unsigned char)*s))
                s++;
        len = strlen(s);
        while (len > 0 && isspace((unsigned char)s[len - 1]))
                len--;
        if (len == 0)
                return error_set(err, -EINVAL, "empty");
        if (len >= sizeof(p->reference))
                return error_set(err, -EINVAL, "longer than %zu bytes",
                                 sizeof(p->reference) - 1);
        char trimmed[sizeof(p->reference)];
        memcpy(trimmed, s, len);
        trimmed[len] = '\0';
        /* The bank may hand over "rf18 5390 0754 7034"; the send stored
         * the compact form. */
        if (!tracking_is_reminder_id(trimmed) && epcqr_rf_check(trimmed, compact, NULL) == 0)
                snprintf(p->reference, sizeof(p->reference), "%s", compact);
        else
                snprintf(p->reference, sizeof(p->reference), "%s", trimmed);
        return 0;
}

void tracking_payment_id(char *out, size_t n, const char *source, const char *invoice,
                         const char *reminder, int64_t amount_cents, int64_t at_ms,
                         const char *reference)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char md[SHA256_DIGEST_LENGTH];
        struct buf b = BUF_INIT;
        char h[17];

        /* NUL between the parts: no two field lists give one text. */
        buf_puts(&b, invoice ? invoice : "");
        buf_putc(&b, '\0');
        buf_puts(&b, reminder ? reminder : "");
        buf_putc(&b, '\0');
        buf_printf(&b, "%" PRId64, amount_cents);
        buf_putc(&b, '\0');
        buf_printf(&b, "%" PRId64, at_ms);
        buf_putc(&b, '\0');
        buf_puts(&b, reference ? reference : "");
        SHA256((const unsigned char *)b.data, b.len, md);
        buf_free(&b);
        for (int i = 0; i < 8; i++) {
                h[2 * i] = hex[md[i] >> 4];
                h[2 * i + 1] = hex[md[i] & 15];
        }
        h[16] = '\0';
        snprintf(out, n, "%s:%s", source, h);
}

bool tracking_token_ok(const char *s, size_t max)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
                        return false;
        return true;
}

/* Copies value into out (size n) or says which field is too long. */
static int take(char *out, size_t n, const char *value, const char *field, struct error *err)
{
        if (strlen(value) >= n)
                return error_set(err, -EINVAL, "%s: longer than %zu bytes", field, n - 1);
        snprintf(out, n, "%s", value);
        return 0;
}

int tracking_payment_from_fields(struct tracking_payment *p, const struct queue_fields *f,
                                 struct error *err)
{
        const char *type = get(f, "type"), *v;
        int rc;

        memset(p, 0, sizeof(*p));
        if (!empty(type) && strcmp(type, "payment") != 0)
                return TRACKING_IGNORE;
        snprintf(p->entry_id, sizeof(p->entry_id), "%s", f->id);

        rc = tracking_parse_amount(get(f, "amount_cents"), &p->amount_cents, err);
        if (rc < 0) {
                error_prefix(err, "amount_cents");
                return rc;
        }
        v = get(f, "paid_at");
        if (!empty(v)) {
                if (tracking_parse_time(v, &p->paid_ms) < 0)
                        return error_set(err, -EINVAL,
                                         "paid_at: \"%s\" is not an RFC 3339 time or Unix ms", v);
        } else {
                /* When it was added: a redelivered entry keeps its time. */
                p->paid_ms = strtoll(f->id, NULL, 10);
                if (p->paid_ms <= 0)
                        p->paid_ms = now_ms();
        }
        v = get(f, "invoice");
        if (!empty(v) && (rc = take(p->invoice, sizeof(p->invoice), v, "invoice", err)) < 0)
                return rc;
        v = get(f, "reminder");
        if (!empty(v)) {
                if (!tracking_is_reminder_id(v))
                        return error_set(err, -EINVAL,
                                         "reminder: \"%.40s\" is not a reminder id "
                                         "(r- and 16 hex digits)", v);
                snprintf(p->reminder, sizeof(p->reminder), "%s", v);
        }
        v = get(f, "reference");
        if (!empty(v) && (rc = tracking_set_reference(p, v, err)) < 0) {
                error_prefix(err, "reference");
                return rc;
        }
        if (!p->invoice[0] && !p->reminder[0] && !p->reference[0])
                return error_set(err, -EINVAL,
                                 "invoice: missing, and no reminder or reference names one");
        v = get(f, "provider_id");
        if (!empty(v)) {
                if ((rc = take(p->provider_id, sizeof(p->provider_id), v, "provider_id", err)) < 0)
                        return rc;
        } else {
                tracking_payment_id(p->provider_id, sizeof(p->provider_id), "stream", p->invoice,
                                    p->reminder, p->amount_cents, p->paid_ms, p->reference);
        }
        v = get(f, "source");
        snprintf(p->source, sizeof(p->source), "%s", tracking_token_ok(v, sizeof(p->source) - 1) ? v
                                                                                : "stream");
        v = get(f, "method");
        if (tracking_token_ok(v, sizeof(p->method) - 1))
                snprintf(p->method, sizeof(p->method), "%s", v);
        return 0;
}

/* ---- attribution ---- */

const char *tracking_kind_name(enum tracking_kind k)
{
        switch (k) {
        case TRACKING_DIRECT: return "direct";
        case TRACKING_ASSISTED: return "assisted";
        case TRACKING_HELD_OUT: return "held_out";
        case TRACKING_ORGANIC: break;
        }
        return "organic";
}

struct touch {
        enum job_channel ch;
        char reminder[20];
        int64_t ms;
        char step[TRACKING_NAME_MAX], campaign[TRACKING_NAME_MAX];
};

/* Splits s at '|' into at most n parts (the last takes the rest). */
static size_t split(const char *s, char parts[][TRACKING_NAME_MAX], size_t n)
{
        size_t k = 0;
        while (s && k < n) {
                const char *bar = k + 1 < n ? strchr(s, '|') : NULL;
                size_t len = bar ? (size_t)(bar - s) : strlen(s);
                snprintf(parts[k++], TRACKING_NAME_MAX, "%.*s", (int)len, s);
                s = bar ? bar + 1 : NULL;
        }
        return k;
}

/* "<channel>|<reminder>|<ms>|<step>|<campaign>" (with_channel) or
 * "<reminder>|<ms>|<step>|<campaign>". */
static bool parse_touch(const char *s, bool with_channel, struct touch *t)
{
        char parts[5][TRACKING_NAME_MAX];
        size_t want = with_channel ? 5 : 4, o = with_channel ? 1 : 0;

        memset(t, 0, sizeof(*t));
        t->ch = JOB_CHANNEL_NONE;
        if (empty(s) || split(s, parts, want) != want)
                return false;
        if (with_channel && (t->ch = job_channel_from_name(parts[0])) == JOB_CHANNEL_NONE)
                return false;
        if (!whole(parts[o + 1], &t->ms) || t->ms <= 0)
                return false;
        snprintf(t->reminder, sizeof(t->reminder), "%.19s", parts[o]);
        snprintf(t->step, sizeof(t->step), "%s", parts[o + 2]);
        snprintf(t->campaign, sizeof(t->campaign), "%s", parts[o + 3]);
        return true;
}

/* The reminder of an invoice's last touch into rid (unchanged without). */
static void last_reminder(const struct queue_fields *invoice, char rid[20])
{
        struct touch t;
        if (parse_touch(get(invoice, "last"), true, &t))
                snprintf(rid, 20, "%s", t.reminder);
}

static void set_hours(struct tracking_attribution *a, int64_t paid_ms)
{
        if (a->touch_ms <= 0)
                return;
        int64_t d = paid_ms - a->touch_ms;
        a->hours = d > 0 ? (double)d / 3600000.0 : 0.0;
        a->bucket = history_hours_bucket(a->hours);
}

/* Credits the send of touch t (kind direct or assisted). */
static void from_touch(struct tracking_attribution *out, enum tracking_kind kind,
                       const struct touch *t, int64_t paid_ms)
{
        out->kind = kind;
        out->channel = t->ch;
        snprintf(out->reminder, sizeof(out->reminder), "%s", t->reminder);
        memcpy(out->step, t->step, sizeof(out->step));
        memcpy(out->campaign, t->campaign, sizeof(out->campaign));
        out->touch_ms = t->ms;
        set_hours(out, paid_ms);
}

void tracking_attribute(const char *reminder_id, const struct queue_fields *reminder,
                        const struct queue_fields *invoice, int64_t paid_ms, int window_days,
                        struct tracking_attribution *out)
{
        memset(out, 0, sizeof(*out));
        out->kind = TRACKING_ORGANIC;
        out->channel = JOB_CHANNEL_NONE;
        out->hours = -1;
        out->bucket = -1;

        enum job_channel ch = job_channel_from_name(get(reminder, "channel"));
        if (!empty(reminder_id) && reminder && reminder->n > 0 && ch != JOB_CHANNEL_NONE) {
                /* Through the reminder's own link or reference. */
                out->kind = TRACKING_DIRECT;
                out->channel = ch;
                snprintf(out->reminder, sizeof(out->reminder), "%s", reminder_id);
                snprintf(out->step, sizeof(out->step), "%s", get(reminder, "step") ?: "");
                snprintf(out->campaign, sizeof(out->campaign), "%s",
                         get(reminder, "campaign") ?: "");
                out->touch_ms = num(get(reminder, "sent_ms"));
                set_hours(out, paid_ms);
                return;
        }

        int64_t window = (int64_t)window_days * DAY_MS;
        struct touch last, held;
        bool has_last = parse_touch(get(invoice, "last"), true, &last);
        bool has_held = parse_touch(get(invoice, "held_out"), false, &held);
        if (!empty(reminder_id) && has_last && strcmp(last.reminder, reminder_id) == 0 &&
            last.ms <= paid_ms) {
                /* The reminder named is the invoice's last touch (a reminder
                 * hash is kept only where a link can name it; a reference
                 * names the invoice): direct, as the touch tells it. */
                from_touch(out, TRACKING_DIRECT, &last, paid_ms);
                return;
        }
        /* A touch after the payment did not make it. */
        bool last_in = has_last && last.ms <= paid_ms && paid_ms - last.ms <= window;
        bool held_in = has_held && held.ms <= paid_ms && paid_ms - held.ms <= window &&
                       (!has_last || held.ms > last.ms);
        if (held_in) {
                /* The holdout's conversion: nobody reminded them of this step. */
                out->kind = TRACKING_HELD_OUT;
                snprintf(out->reminder, sizeof(out->reminder), "%s", held.reminder);
                memcpy(out->step, held.step, sizeof(out->step));
                memcpy(out->campaign, held.campaign, sizeof(out->campaign));
                out->touch_ms = held.ms;
        } else if (last_in) {
                from_touch(out, TRACKING_ASSISTED, &last, paid_ms);
        }
}

/* ---- payment behaviour ---- */

int tracking_local_time(int64_t ms, const char *tz, int *hour, int *wday)
{
        struct quiet_local t;

        if (quiet_local_of(tz, ms, &t) < 0)
                return -EINVAL;
        *hour = t.minute / 60;
        *wday = t.wday;
        return 0;
}

void tracking_behaviour(const char *due, int64_t paid_ms, const char *tz, const char *fallback_tz,
                        int late_after_days, struct tracking_behaviour *out)
{
        int64_t due_day;

        memset(out, 0, sizeof(*out));
        out->hour = out->wday = -1;
        if (due && civil_parse(due, &due_day) == 0) {
                int64_t days = civil_today(paid_ms) - due_day;
                out->due_known = true;
                out->late = days > late_after_days;
                out->days_late = out->late ? days : 0;
        }
        if (tracking_local_time(paid_ms, tz, &out->hour, &out->wday) < 0 &&
            tracking_local_time(paid_ms, fallback_tz, &out->hour, &out->wday) < 0)
                out->hour = out->wday = -1;
}

/* ---- the plan of one payment ---- */

void tracking_plan_free(struct tracking_plan *plan)
{
        if (!plan)
                return;
        free(plan->lines);
        free(plan->customers);
        free(plan->segments);
        memset(plan, 0, sizeof(*plan));
}

static struct tracking_delta *delta_for(struct tracking_delta **arr, size_t *n, const char *name)
{
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*arr)[i].name, name) == 0)
                        return &(*arr)[i];
        *arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
        struct tracking_delta *d = &(*arr)[(*n)++];
        memset(d, 0, sizeof(*d));
        snprintf(d->name, sizeof(d->name), "%s", name);
        return d;
}

/* What a completed line adds to its customer's and segment's counters. */
static void count_completion(struct history *h, const struct tracking_line *l)
{
        if (l->attr.kind == TRACKING_DIRECT && l->attr.channel != JOB_CHANNEL_NONE)
                h->ch[l->attr.channel].direct++;
        if (l->attr.kind == TRACKING_ASSISTED && l->attr.channel != JOB_CHANNEL_NONE)
                h->ch[l->attr.channel].assisted++;
        if (l->beh.due_known) {
                if (l->beh.late) {
                        h->late++;
                        h->days_late += l->beh.days_late;
                } else {
                        h->on_time++;
                }
        }
        if (l->beh.hour >= 0) {
                h->hour[l->beh.hour]++;
                h->wday[l->beh.wday]++;
        }
}

static void history_add(struct history *to, const struct history *d)
{
        for (int c = 0; c < JOB_CHANNEL__N; c++) {
                to->ch[c].direct += d->ch[c].direct;
                to->ch[c].assisted += d->ch[c].assisted;
        }
        to->on_time += d->on_time;
        to->late += d->late;
        to->days_late += d->days_late;
        for (int i = 0; i < 24; i++)
                to->hour[i] += d->hour[i];
        for (int i = 0; i < 7; i++)
                to->wday[i] += d->wday[i];
}

static const struct queue_fields *customer_fields(const struct tracking_input *in,
                                                  const char *id)
{
        for (size_t i = 0; i < in->n_customers; i++)
                if (strcmp(in->customers[i], id) == 0)
                        return &in->customer_fields[i];
        return NULL;
}

/* The line's invoice, customer and segment, and how much was open. */
static void line_read(struct tracking_line *l, const char *number, const struct queue_fields *f,
                      const struct queue_fields *reminder)
{
        const char *customer = get(f, "customer"), *segment = get(f, "segment");
        const char *status = get(f, "status");
        int64_t amount;

        snprintf(l->invoice, sizeof(l->invoice), "%s", number);
        if (empty(customer))
                customer = get(reminder, "customer");
        snprintf(l->customer, sizeof(l->customer), "%s", customer ?: "");
        if (empty(segment))
                segment = get(reminder, "segment");
        snprintf(l->segment, sizeof(l->segment), "%s", !empty(segment) ? segment : "-");
        snprintf(l->arrangement, sizeof(l->arrangement), "%s", get(f, "arrangement") ?: "");
        l->known = whole(get(f, "amount_cents"), &amount) && amount >= 0;
        if (!l->known)
                return;
        int64_t paid = num(get(f, "paid_cents"));
        l->open_before = amount > paid ? amount - paid : 0;
        l->was_paid = l->open_before == 0 || (status && strcmp(status, "paid") == 0);
}

void tracking_plan_make(struct tracking_plan *plan, const struct tracking_input *in,
                        const struct config *cfg)
{
        const struct tracking_payment *p = in->payment;
        size_t n = in->n_invoices;
        int64_t left = p->amount_cents;

        memset(plan, 0, sizeof(*plan));
        plan->outcome = TRACKING_APPLIED;
        snprintf(plan->reminder, sizeof(plan->reminder), "%s", in->reminder_id ?: "");
        plan->lines = xcalloc(n ? n : 1, sizeof(*plan->lines));
        plan->n = n;

        /* Each invoice in order up to what is open on it. */
        for (size_t i = 0; i < n; i++) {
                struct tracking_line *l = &plan->lines[i];
                line_read(l, in->invoices[i], &in->invoice_fields[i], in->reminder);
                if (l->known && !l->was_paid) {
                        l->applied_cents = l->open_before < left ? l->open_before : left;
                        left -= l->applied_cents;
                }
        }
        /* What is left over is kept on the last one: the customer's money,
         * for the ledger to refund or settle. */
        if (n > 0)
                plan->lines[n - 1].applied_cents += left;

        for (size_t i = 0; i < n; i++) {
                struct tracking_line *l = &plan->lines[i];
                const struct queue_fields *f = &in->invoice_fields[i];
                l->attr.kind = TRACKING_ORGANIC;
                l->attr.channel = JOB_CHANNEL_NONE;
                l->attr.hours = -1;
                l->attr.bucket = -1;
                l->beh.hour = l->beh.wday = -1;
                if (!l->known)
                        continue;
                int64_t rest = l->open_before - l->applied_cents;
                l->open_after = rest > 0 ? rest : 0;
                l->overpaid_cents = rest < 0 ? -rest : 0;
                l->completed = !l->was_paid && l->applied_cents > 0 && l->open_after == 0;
                tracking_attribute(in->reminder_id, in->reminder, f, p->paid_ms,
                                   cfg->tracking.attribution_window_days, &l->attr);
                if (!l->completed)
                        continue;
                const struct queue_fields *cf = l->customer[0] ? customer_fields(in, l->customer)
                                                               : NULL;
                tracking_behaviour(get(f, "due"), p->paid_ms, get(cf, "tz"),
                                   cfg->default_timezone, cfg->tracking.late_after_days, &l->beh);
                if (l->customer[0])
                        count_completion(&delta_for(&plan->customers, &plan->n_customers,
                                                    l->customer)->add, l);
                if (strcmp(l->segment, "-") != 0)
                        count_completion(&delta_for(&plan->segments, &plan->n_segments,
                                                    l->segment)->add, l);
        }

        /* A customer whose behaviour changed may move to another segment. */
        for (size_t i = 0; i < plan->n_customers; i++) {
                struct tracking_delta *d = &plan->customers[i];
                struct history h;
                history_from_fields(&h, customer_fields(in, d->name));
                snprintf(d->segment_before, sizeof(d->segment_before), "%s",
                         history_derive_segment(&h, cfg));
                history_add(&h, &d->add);
                snprintf(d->segment_after, sizeof(d->segment_after), "%s",
                         history_derive_segment(&h, cfg));
        }
}

static const char *dim(const char *s)
{
        return empty(s) ? "-" : s;
}

size_t tracking_line_stats(const struct tracking_line *l, char (*field)[TRACKING_STAT_LEN],
                           int64_t *by, size_t max)
{
        size_t n = 0;
#define STAT(amount, ...)                                                              \
        do {                                                                           \
                if (n < max) {                                                         \
                        snprintf(field[n], TRACKING_STAT_LEN, __VA_ARGS__);            \
                        by[n++] = (amount);                                            \
                }                                                                      \
        } while (0)

        if (!l->known) {
                if (l->applied_cents > 0) {
                        STAT(1, "unmatched|-|-|-|-");
                        STAT(l->applied_cents, "paid_cents|-|-|-|-");
                }
                return n;
        }
        const struct tracking_attribution *a = &l->attr;
        const char *seg = dim(l->segment);
        char dims[TRACKING_STAT_LEN];
        switch (a->kind) {
        case TRACKING_DIRECT:
        case TRACKING_ASSISTED:
                snprintf(dims, sizeof(dims), "%s|%s|%s|%s", job_channel_name(a->channel),
                         dim(a->step), seg, dim(a->campaign));
                break;
        case TRACKING_HELD_OUT:
                snprintf(dims, sizeof(dims), "-|%s|%s|%s", dim(a->step), seg, dim(a->campaign));
                break;
        case TRACKING_ORGANIC:
                snprintf(dims, sizeof(dims), "-|-|%s|-", seg);
                break;
        }
        if (l->applied_cents > 0)
                STAT(l->applied_cents, "paid_cents|%s", dims);
        if (!l->completed)
                return n;
        switch (a->kind) {
        case TRACKING_DIRECT:
        case TRACKING_ASSISTED:
                STAT(1, "%s|%s", tracking_kind_name(a->kind), dims);
                if (a->bucket >= 0)
                        STAT(1, "h%d|%s", a->bucket, dims);
                break;
        case TRACKING_HELD_OUT:
                /* organic for the channels, the conversion of the holdout */
                STAT(1, "organic|-|-|%s|-", seg);
                STAT(1, "held_paid|%s", dims);
                break;
        case TRACKING_ORGANIC:
                STAT(1, "organic|%s", dims);
                break;
        }
#undef STAT
        return n;
}

/* ---- Redis: reading, then one transaction ---- */

/* What <prefix>:ref:<reference> names: an invoice (1, into invoice), or
 * a reminder (2, into rid) as it did before history named the invoice
 * (such keys live for history.retention_days); 0 when nothing. */
static int ref_lookup(struct queue *q, const char *reference, char *invoice, size_t n,
                      char rid[20], struct error *err)
{
        char key[256], *v = NULL;

        history_key(q, key, sizeof(key), "ref", reference);
        int rc = queue_get(q, key, &v, err);
        if (rc == -ENOENT)
                return 0;
        if (rc < 0)
                return rc;
        if (tracking_is_reminder_id(v)) {
                snprintf(rid, 20, "%s", v);
                rc = 2;
        } else {
                rc = v[0] && strlen(v) < n;
                if (rc)
                        snprintf(invoice, n, "%s", v);
        }
        free(v);
        return rc;
}

static int watch(struct queue *q, char **keys, size_t n, struct error *err)
{
        for (size_t i = 0; i < n; i += WATCH_CHUNK) {
                size_t k = n - i < WATCH_CHUNK ? n - i : WATCH_CHUNK;
                int rc = queue_watch(q, (const char *const *)keys + i, k, err);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* What one round read; freed by reads_free. */
struct reads {
        char rid[20];
        char ref_invoice[TRACKING_ID_MAX];     /* the invoice the reference names */
        struct queue_fields reminder;
        char **numbers, **inv_keys;
        struct queue_fields *invoices;
        size_t n;
        char **customers, **cust_keys;
        struct queue_fields *custs;
        size_t n_customers;
};

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

static void reads_free(struct reads *r)
{
        queue_fields_free(&r->reminder);
        for (size_t i = 0; r->invoices && i < r->n; i++)
                queue_fields_free(&r->invoices[i]);
        for (size_t i = 0; r->custs && i < r->n_customers; i++)
                queue_fields_free(&r->custs[i]);
        strv_free(r->numbers, r->n);
        strv_free(r->inv_keys, r->n);
        strv_free(r->customers, r->n_customers);
        strv_free(r->cust_keys, r->n_customers);
        free(r->invoices);
        free(r->custs);
        memset(r, 0, sizeof(*r));
}

static char *key_of(struct queue *q, const char *kind, const char *name)
{
        char key[512];
        history_key(q, key, sizeof(key), kind, name);
        return xstrdup(key);
}

/* The invoices the payment pays: its own, or its reminder's in order. */
static void invoice_numbers(struct reads *r, const struct tracking_payment *p)
{
        if (p->invoice[0] || r->ref_invoice[0]) {
                r->numbers = xcalloc(1, sizeof(*r->numbers));
                r->numbers[r->n++] = xstrdup(p->invoice[0] ? p->invoice : r->ref_invoice);
                return;
        }
        const char *list = get(&r->reminder, "invoices");
        r->numbers = xcalloc(JOB_MAX_INVOICES, sizeof(*r->numbers));
        for (const char *s = list; s && *s && r->n < JOB_MAX_INVOICES;) {
                size_t len = strcspn(s, "\n");
                if (len > 0 && len < TRACKING_ID_MAX)
                        r->numbers[r->n++] = xstrndup(s, len);
                s += len + (s[len] == '\n');
        }
}

/* The distinct customers of the invoices (else the reminder's). */
static void customer_ids(struct reads *r)
{
        r->customers = xcalloc(r->n + 1, sizeof(*r->customers));
        for (size_t i = 0; i <= r->n; i++) {
                const char *c = i < r->n ? get(&r->invoices[i], "customer")
                                         : get(&r->reminder, "customer");
                bool seen = empty(c);
                for (size_t k = 0; !seen && k < r->n_customers; k++)
                        seen = strcmp(r->customers[k], c) == 0;
                if (!seen)
                        r->customers[r->n_customers++] = xstrdup(c);
        }
}

/* Reads, under WATCH, everything the plan depends on. 1 when the marker
 * exists (a duplicate), else 0. */
static int read_state(struct queue *q, const struct tracking_payment *p, const char *marker,
                      struct reads *r, struct error *err)
{
        char *keys[1] = { (char *)marker };
        int rc = watch(q, keys, 1, err);
        if (rc < 0)
                return rc;
        rc = queue_exists(q, marker, err);
        if (rc != 0)
                return rc;

        if (p->reminder[0]) {
                snprintf(r->rid, sizeof(r->rid), "%s", p->reminder);
        } else if (p->reference[0]) {
                rc = ref_lookup(q, p->reference, r->ref_invoice, sizeof(r->ref_invoice), r->rid,
                                err);
                if (rc < 0)
                        return rc;
                if (rc == 0 && tracking_is_reminder_id(p->reference))
                        snprintf(r->rid, sizeof(r->rid), "%s", p->reference);
        }
        if (r->rid[0]) {
                char *rk = key_of(q, "reminder", r->rid);
                rc = watch(q, &rk, 1, err);
                if (rc == 0)
                        rc = queue_hashes_get(q, (const char *const *)&rk, 1, &r->reminder, err);
                free(rk);
                if (rc < 0)
                        return rc;
        }

        invoice_numbers(r, p);
        if (r->n == 0)
                return 0;
        r->inv_keys = xcalloc(r->n, sizeof(*r->inv_keys));
        r->invoices = xcalloc(r->n, sizeof(*r->invoices));
        for (size_t i = 0; i < r->n; i++)
                r->inv_keys[i] = key_of(q, "invoice", r->numbers[i]);
        rc = watch(q, r->inv_keys, r->n, err);
        if (rc == 0)
                rc = queue_hashes_get(q, (const char *const *)r->inv_keys, r->n, r->invoices, err);
        if (rc < 0)
                return rc;
        /* The reference is on every reminder of its invoice: the last one
         * sent is the one it came through. */
        if (!r->rid[0] && r->ref_invoice[0] && strcmp(r->numbers[0], r->ref_invoice) == 0)
                last_reminder(&r->invoices[0], r->rid);

        customer_ids(r);
        if (r->n_customers == 0)
                return 0;
        r->cust_keys = xcalloc(r->n_customers, sizeof(*r->cust_keys));
        r->custs = xcalloc(r->n_customers, sizeof(*r->custs));
        for (size_t i = 0; i < r->n_customers; i++)
                r->cust_keys[i] = key_of(q, "customer", r->customers[i]);
        rc = watch(q, r->cust_keys, r->n_customers, err);
        if (rc == 0)
                rc = queue_hashes_get(q, (const char *const *)r->cust_keys, r->n_customers,
                                      r->custs, err);
        return rc < 0 ? rc : 0;
}

static void txn(struct queue *q, const char *a0, const char *a1, const char *a2, const char *a3)
{
        const char *argv[] = { a0, a1, a2, a3 };
        queue_txn_argv(q, a3 ? 4 : a2 ? 3 : 2, argv);
}

static void txn_incr(struct queue *q, const char *key, const char *field, int64_t by)
{
        char v[32];
        snprintf(v, sizeof(v), "%" PRId64, by);
        txn(q, "HINCRBY", key, field, v);
}

static void txn_counters(struct queue *q, const char *key, const struct history *add, int ttl_s)
{
        char field[48], ttl[24];
        for (int c = 0; c < JOB_CHANNEL__N; c++) {
                if (add->ch[c].direct) {
                        snprintf(field, sizeof(field), "direct:%s", job_channel_name(c));
                        txn_incr(q, key, field, add->ch[c].direct);
                }
                if (add->ch[c].assisted) {
                        snprintf(field, sizeof(field), "assisted:%s", job_channel_name(c));
                        txn_incr(q, key, field, add->ch[c].assisted);
                }
        }
        if (add->on_time)
                txn_incr(q, key, "on_time", add->on_time);
        if (add->late)
                txn_incr(q, key, "late", add->late);
        if (add->days_late)
                txn_incr(q, key, "days_late", add->days_late);
        for (int i = 0; i < 24; i++) {
                snprintf(field, sizeof(field), "hour:%d", i);
                if (add->hour[i])
                        txn_incr(q, key, field, add->hour[i]);
        }
        for (int i = 0; i < 7; i++) {
                snprintf(field, sizeof(field), "wday:%d", i);
                if (add->wday[i])
                        txn_incr(q, key, field, add->wday[i]);
        }
        snprintf(ttl, sizeof(ttl), "%d", ttl_s);
        txn(q, "EXPIRE", key, ttl, NULL);
}

static const char *paid_reason(const struct tracking_line *l)
{
        if (!l->known)
                return "unknown-invoice";
        if (l->completed)
                return "paid";
        return l->was_paid ? "already-paid" : "partial";
}

/* The events, invoice and stats writes of one line. */
static void txn_line(struct queue *q, const struct config *cfg, const struct tracking_payment *p,
                     const struct tracking_plan *plan, const struct tracking_line *l,
                     const char *stats_key)
{
        char key[512], applied[24], open[24], over[24], paid_ms[24], hours[32], ttl[24];
        char field[8][TRACKING_STAT_LEN];
        int64_t by[8];
        int64_t maxlen = cfg->queue.events_maxlen;

        snprintf(ttl, sizeof(ttl), "%d", cfg->history.retention_days * 86400);
        snprintf(applied, sizeof(applied), "%" PRId64, l->applied_cents);
        snprintf(open, sizeof(open), "%" PRId64, l->open_after);
        snprintf(over, sizeof(over), "%" PRId64, l->overpaid_cents);
        snprintf(paid_ms, sizeof(paid_ms), "%" PRId64, p->paid_ms);
        history_key(q, key, sizeof(key), "invoice", l->invoice);
        /* Kept even for an invoice we do not know: a reminder enqueued for
         * it later sees that it was paid. */
        txn_incr(q, key, "paid_cents", l->applied_cents);
        /* Installments are covered in order by what the invoices got. */
        if (l->arrangement[0] && l->applied_cents > 0)
                arrangements_txn_paid(q, l->arrangement, l->applied_cents);
        if (l->completed) {
                const char *argv[] = { "HSET", key, "status", "paid", "paid_ms", paid_ms };
                queue_txn_argv(q, 6, argv);
        }
        txn(q, "EXPIRE", key, ttl, NULL);
        size_t n = tracking_line_stats(l, field, by, 8);
        for (size_t i = 0; i < n; i++)
                txn_incr(q, stats_key, field[i], by[i]);

        queue_txn_event(q, maxlen, "paid", "invoice", l->invoice, "customer",
                        l->customer[0] ? l->customer : NULL, "amount_cents", applied,
                        "open_cents", l->known ? open : NULL, "overpaid_cents",
                        l->overpaid_cents ? over : NULL, "reason", paid_reason(l), "source",
                        p->source, "provider_id", p->provider_id, "method",
                        p->method[0] ? p->method : NULL, "reminder",
                        plan->reminder[0] ? plan->reminder : NULL, "entry",
                        p->entry_id[0] ? p->entry_id : NULL, NULL);
        if (!l->completed)
                return;
        const struct tracking_attribution *a = &l->attr;
        snprintf(hours, sizeof(hours), "%.2f", a->hours);
        queue_txn_event(q, maxlen, "attributed", "invoice", l->invoice, "reminder",
                        a->reminder[0] ? a->reminder : NULL, "channel",
                        a->channel != JOB_CHANNEL_NONE ? job_channel_name(a->channel) : NULL,
                        "step", a->step[0] ? a->step : NULL, "campaign",
                        a->campaign[0] ? a->campaign : NULL, "customer",
                        l->customer[0] ? l->customer : NULL, "segment", l->segment, "reason",
                        tracking_kind_name(a->kind), "hours", a->hours >= 0 ? hours : NULL,
                        NULL);
}

/* Everything the plan changes, into the open transaction. */
static void txn_plan(struct queue *q, const struct config *cfg, const struct tracking_payment *p,
                     const struct tracking_plan *plan, const char *marker)
{
        int ttl_s = cfg->history.retention_days * 86400;
        char ttl[24], stats_key[256], amount[24], key[512];

        snprintf(ttl, sizeof(ttl), "%d", ttl_s);
        history_stats_key(q, stats_key, sizeof(stats_key), p->paid_ms);
        {
                const char *argv[] = { "SET", marker, p->source, "EX", ttl };
                queue_txn_argv(q, 5, argv);
        }
        if (plan->outcome == TRACKING_UNMATCHED) {
                snprintf(amount, sizeof(amount), "%" PRId64, p->amount_cents);
                txn_incr(q, stats_key, "unmatched|-|-|-|-", 1);
                txn_incr(q, stats_key, "paid_cents|-|-|-|-", p->amount_cents);
                queue_txn_event(q, cfg->queue.events_maxlen, "paid", "amount_cents", amount,
                                "reason", plan->unmatched, "reminder",
                                plan->reminder[0] ? plan->reminder : NULL, "reference",
                                p->reference[0] ? p->reference : NULL, "source", p->source,
                                "provider_id", p->provider_id, "method",
                                p->method[0] ? p->method : NULL, "entry",
                                p->entry_id[0] ? p->entry_id : NULL, NULL);
        }
        for (size_t i = 0; i < plan->n; i++) {
                const struct tracking_line *l = &plan->lines[i];
                if (l->applied_cents > 0 || l->completed)
                        txn_line(q, cfg, p, plan, l, stats_key);
        }
        for (size_t i = 0; i < plan->n_customers; i++) {
                const struct tracking_delta *d = &plan->customers[i];
                history_key(q, key, sizeof(key), "customer", d->name);
                txn(q, "HSET", key, "segment", d->segment_after);
                txn_counters(q, key, &d->add, ttl_s);
        }
        for (size_t i = 0; i < plan->n_segments; i++) {
                history_key(q, key, sizeof(key), "segment", plan->segments[i].name);
                txn_counters(q, key, &plan->segments[i].add, ttl_s);
        }
        txn(q, "EXPIRE", stats_key, ttl, NULL);
}

/* One round: read under WATCH, plan, write. -EAGAIN when a watched key
 * changed before EXEC. */
static int apply_once(struct queue *q, const struct config *cfg, const struct tracking_payment *p,
                      struct tracking_plan *plan, struct error *err)
{
        struct reads r = { 0 };
        char marker[512];
        int rc;

        memset(plan, 0, sizeof(*plan));
        history_key(q, marker, sizeof(marker), "payment", p->provider_id);
        rc = read_state(q, p, marker, &r, err);
        if (rc < 0) {
                if (rc != -EIO)
                        queue_unwatch(q);
                goto out;
        }
        if (rc == 1) {
                queue_unwatch(q);
                plan->outcome = TRACKING_DUPLICATE;
                snprintf(plan->reminder, sizeof(plan->reminder), "%s", r.rid);
                rc = 0;
                if (p->entry_id[0]) {
                        queue_txn_ack_stream(q, TRACKING_STREAM, p->entry_id);
                        rc = queue_txn_commit(q, err);
                }
                goto out;
        }
        if (r.n == 0) {
                plan->outcome = TRACKING_UNMATCHED;
                plan->unmatched = r.rid[0] ? "unknown-reminder" : "unknown-reference";
                snprintf(plan->reminder, sizeof(plan->reminder), "%s", r.rid);
        } else {
                struct tracking_input in = {
                        .payment = p,
                        .reminder_id = r.rid,
                        .reminder = &r.reminder,
                        .n_invoices = r.n,
                        .invoices = (const char *const *)r.numbers,
                        .invoice_fields = r.invoices,
                        .n_customers = r.n_customers,
                        .customers = (const char *const *)r.customers,
                        .customer_fields = r.custs,
                };
                tracking_plan_make(plan, &in, cfg);
        }
        txn_plan(q, cfg, p, plan, marker);
        if (p->entry_id[0])
                queue_txn_ack_stream(q, TRACKING_STREAM, p->entry_id);
        rc = queue_txn_commit(q, err);
out:
        reads_free(&r);
        if (rc < 0)
                tracking_plan_free(plan);
        return rc;
}

int tracking_apply(struct queue *q, const struct config *cfg, const struct tracking_payment *p,
                   struct tracking_plan *plan, struct error *err)
{
        int rc = -EAGAIN;
        for (int i = 0; i < APPLY_TRIES && rc == -EAGAIN; i++)
                rc = apply_once(q, cfg, p, plan, err);
        if (rc == -EAGAIN)
                error_set(err, rc, "payment %s: its invoices kept changing, not applied",
                          p->provider_id);
        return rc;
}

/* ---- the payments thread ---- */

struct tracking {
        pthread_t thread;
        bool joined;
        struct worker_shared *sh;
        char consumer[128];
        struct queue *q;
        bool broken;            /* the connection needs a reconnect */
        bool own_pending;       /* read our own pending entries first */
        int failures;           /* consecutive connection failures */
};

static const struct config *running(const struct tracking *t)
{
        return atomic_load(&t->sh->snap)->cfg;
}

static uint32_t rnd32(void)
{
        uint32_t r = 0;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
                r = (uint32_t)now_ms();
        return r;
}

/* Sleeps up to ms, returning early when the daemon stops. */
static void nap(struct tracking *t, int64_t ms)
{
        int64_t end = now_ms() + ms;
        while (!atomic_load(&t->sh->stopping)) {
                int64_t left = end - now_ms();
                if (left <= 0)
                        break;
                struct timespec ts = { 0, (long)(left > 50 ? 50 : left) * 1000000L };
                nanosleep(&ts, NULL);
        }
}

static int connect_queue(struct tracking *t, const struct config *cfg)
{
        struct error err;
        int rc;

        if (t->q && !t->broken)
                return 0;
        if (!t->q)
                rc = queue_open_user(&t->q, cfg->redis.url, cfg->redis.username,
                                     cfg->redis.password, cfg->redis.prefix, t->consumer, &err);
        else
                rc = queue_reconnect(t->q, &err);
        if (rc == 0) {
                /* Longer than BLOCK, or hiredis kills the context. */
                queue_set_timeout(t->q, cfg->queue.block_ms + 5000);
                rc = queue_group_create(t->q, TRACKING_STREAM, &err);
        }
        if (rc < 0) {
                if (t->failures++ == 0)
                        log_event(LOG_WARNING, "redis unavailable, retrying", "worker",
                                  t->consumer, "error", err.msg, NULL);
                t->broken = true;
                nap(t, backoff_delay_ms(t->failures, 100, 5000, rnd32()));
                return rc;
        }
        if (t->failures > 0) {
                atomic_fetch_add_explicit(&t->sh->metrics.redis_reconnects, 1,
                                          memory_order_relaxed);
                log_event(LOG_INFO, "redis reconnected", "worker", t->consumer, NULL);
        }
        t->failures = 0;
        t->broken = false;
        t->own_pending = true;
        return 0;
}

/* A payments entry that cannot be a payment: an event says why, the ack
 * takes it off the pending list; the entry itself stays in the stream. */
static int reject(struct tracking *t, const struct config *cfg, const struct queue_fields *rec,
                  const char *why)
{
        struct error err;
        const char *pid = get(rec, "provider_id");

        queue_txn_event(t->q, cfg->queue.events_maxlen, "failed", "reason", "bad-payment",
                        "entry", rec->id, "error", why, "provider_id", empty(pid) ? NULL : pid,
                        "source", get(rec, "source"), NULL);
        queue_txn_ack_stream(t->q, TRACKING_STREAM, rec->id);
        int rc = queue_txn_commit(t->q, &err);
        if (rc < 0)
                log_event(LOG_WARNING, "bad payment not recorded, will retry", "entry", rec->id,
                          "error", err.msg, NULL);
        else
                log_event(LOG_WARNING, "bad payment entry acked", "entry", rec->id, "error", why,
                          NULL);
        return rc;
}

static enum metrics_attribution metric_of(enum tracking_kind k)
{
        switch (k) {
        case TRACKING_DIRECT: return METRICS_ATTR_DIRECT;
        case TRACKING_ASSISTED: return METRICS_ATTR_ASSISTED;
        case TRACKING_HELD_OUT:
        case TRACKING_ORGANIC: break;
        }
        return METRICS_ATTR_ORGANIC;
}

/* The log lines and metrics of an applied payment. */
static void report(struct tracking *t, const struct tracking_payment *p,
                   const struct tracking_plan *plan)
{
        char amount[24], open[24], applied[24];

        snprintf(amount, sizeof(amount), "%" PRId64, p->amount_cents);
        if (plan->outcome == TRACKING_DUPLICATE) {
                log_event(LOG_INFO, "payment seen before, nothing changed", "provider_id",
                          p->provider_id, "source", p->source, NULL);
                return;
        }
        if (plan->outcome == TRACKING_UNMATCHED) {
                log_event(LOG_WARNING, "payment for no known invoice kept", "provider_id",
                          p->provider_id, "source", p->source, "reason", plan->unmatched,
                          "reminder", plan->reminder[0] ? plan->reminder : NULL, "reference",
                          p->reference[0] ? p->reference : NULL, "amount_cents", amount, NULL);
                return;
        }
        for (size_t i = 0; i < plan->n; i++) {
                const struct tracking_line *l = &plan->lines[i];
                if (l->applied_cents == 0 && !l->completed)
                        continue;
                snprintf(applied, sizeof(applied), "%" PRId64, l->applied_cents);
                snprintf(open, sizeof(open), "%" PRId64, l->open_after);
                if (!l->known) {
                        log_event(LOG_WARNING, "payment for an unknown invoice kept", "invoice",
                                  l->invoice, "provider_id", p->provider_id, "source",
                                  p->source, "amount_cents", applied, NULL);
                        continue;
                }
                log_event(LOG_INFO, l->completed ? "invoice paid" : "payment applied",
                          "invoice", l->invoice, "customer", l->customer[0] ? l->customer : NULL,
                          "amount_cents", applied, "open_cents", open, "provider_id",
                          p->provider_id, "source", p->source, "attribution",
                          l->completed ? tracking_kind_name(l->attr.kind) : NULL, "channel",
                          l->completed && l->attr.channel != JOB_CHANNEL_NONE
                                  ? job_channel_name(l->attr.channel)
                                  : NULL,
                          "reminder", l->attr.reminder[0] ? l->attr.reminder : NULL, NULL);
                if (l->completed)
                        metrics_payment(&t->sh->metrics, metric_of(l->attr.kind),
                                        l->attr.kind == TRACKING_DIRECT ||
                                                        l->attr.kind == TRACKING_ASSISTED
                                                ? l->attr.channel
                                                : JOB_CHANNEL_NONE);
        }
        for (size_t i = 0; i < plan->n_customers; i++) {
                const struct tracking_delta *d = &plan->customers[i];
                if (strcmp(d->segment_before, d->segment_after) != 0)
                        log_event(LOG_INFO, "customer moved to another segment", "customer",
                                  d->name, "from", d->segment_before, "to", d->segment_after,
                                  NULL);
        }
}

/* One entry of the stream: applied (and acked in the same EXEC), ignored
 * or rejected. -EIO when the connection went: it comes back as our own
 * pending entry after the reconnect. */
static int handle(struct tracking *t, const struct config *cfg, const struct queue_fields *rec)
{
        struct tracking_payment p;
        struct tracking_plan plan;
        struct error err;

        int rc = tracking_payment_from_fields(&p, rec, &err);
        if (rc == TRACKING_IGNORE) {
                queue_txn_ack_stream(t->q, TRACKING_STREAM, rec->id);
                return queue_txn_commit(t->q, &err);
        }
        if (rc < 0)
                return reject(t, cfg, rec, err.msg);
        rc = tracking_apply(t->q, cfg, &p, &plan, &err);
        if (rc < 0) {
                /* Left pending: our own read after a reconnect, or the
                 * claim of idle entries, brings it back. */
                log_event(LOG_WARNING, "payment not applied, will retry", "entry", rec->id,
                          "provider_id", p.provider_id, "error", err.msg, NULL);
                return rc;
        }
        report(t, &p, &plan);
        tracking_plan_free(&plan);
        return 0;
}

static void *tracking_main(void *arg)
{
        struct tracking *t = arg;
        int64_t next_claim = 0;
        struct error err;

        while (!atomic_load(&t->sh->stopping)) {
                const struct config *cfg = running(t);
                if (connect_queue(t, cfg) < 0)
                        continue;
                struct queue_fields *recs = NULL;
                size_t n = 0;
                int64_t now = now_ms();
                int rc = 0;

                if (now >= next_claim) {
                        rc = queue_stream_claim(t->q, TRACKING_STREAM, cfg->queue.claim_idle_ms,
                                                cfg->queue.batch, &recs, &n, &err);
                        int64_t every = cfg->queue.claim_idle_ms / 4;
                        next_claim = now + (every < 250 ? 250 : every);
                }
                if (rc == 0 && n == 0 && t->own_pending) {
                        rc = queue_stream_read(t->q, TRACKING_STREAM, true, cfg->queue.batch, 0,
                                               &recs, &n, &err);
                        if (rc == 0 && n == 0)
                                t->own_pending = false;
                }
                if (rc == 0 && n == 0)
                        rc = queue_stream_read(t->q, TRACKING_STREAM, false, cfg->queue.batch,
                                               cfg->queue.block_ms, &recs, &n, &err);
                if (rc < 0) {
                        log_event(LOG_WARNING, "redis error", "worker", t->consumer, "error",
                                  err.msg, NULL);
                        if (rc == -EIO)
                                t->broken = true;
                        else
                                nap(t, 1000);
                }
                for (size_t i = 0; rc == 0 && i < n; i++) {
                        int hr = handle(t, cfg, &recs[i]);
                        if (hr == -EIO) {
                                t->broken = true;
                                break;
                        }
                        if (hr < 0) {
                                /* Not our own pending list again at once:
                                 * the claim of idle entries retries it
                                 * after queue.claim_idle_ms. */
                                t->own_pending = false;
                                nap(t, 100);
                        }
                }
                queue_records_free(recs, n);
        }
        return NULL;
}

int tracking_start(struct tracking **out, struct worker_shared *sh, struct error *err)
{
        struct tracking *t = xcalloc(1, sizeof(*t));
        char host[64] = "localhost";

        gethostname(host, sizeof(host) - 1);
        snprintf(t->consumer, sizeof(t->consumer), "%s-%d-payments", host, (int)getpid());
        t->sh = sh;
        t->own_pending = true;
        int rc = pthread_create(&t->thread, NULL, tracking_main, t);
        if (rc != 0) {
                free(t);
                return error_set(err, -rc, "cannot start the payments thread: %s", strerror(rc));
        }
        *out = t;
        return 0;
}

int tracking_join(struct tracking *t, int64_t deadline_ms)
{
        struct timespec ts = { deadline_ms / 1000, (long)(deadline_ms % 1000) * 1000000L };
        if (t->joined)
                return 0;
        int rc = pthread_timedjoin_np(t->thread, NULL, &ts);
        if (rc == ETIMEDOUT)
                return -ETIMEDOUT;
        t->joined = true;
        return 0;
}

void tracking_free(struct tracking *t)
{
        if (!t)
                return;
        queue_free(t->q);
        free(t);
}
