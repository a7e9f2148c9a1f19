/* stats.c: per channel and step figures from the day counters. */
#include "stats.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "civil.h"
#include "job.h"

#define DAY_MS 86400000LL
#define DAYS_MAX 3660

/* Splits "metric|channel|step|segment|campaign" (the campaign may itself
 * hold '|': it is last). Returns false for anything else. */
static bool split(const char *field, char parts[4][STATS_STEP_MAX + 1], const char **campaign)
{
        const char *p = field;
        for (int i = 0; i < 4; i++) {
                const char *bar = strchr(p, '|');
                if (!bar || (size_t)(bar - p) > STATS_STEP_MAX)
                        return false;
                memcpy(parts[i], p, (size_t)(bar - p));
                parts[i][bar - p] = '\0';
                p = bar + 1;
        }
        *campaign = p;
        return true;
}

static struct stats_row *row(struct stats *s, const char *channel, const char *step)
{
        for (size_t i = 0; i < s->n_rows; i++)
                if (strcmp(s->rows[i].channel, channel) == 0 && strcmp(s->rows[i].step, step) == 0)
                        return &s->rows[i];
        if (s->n_rows == STATS_ROWS_MAX)
                return NULL;
        struct stats_row *r = &s->rows[s->n_rows++];
        memset(r, 0, sizeof(*r));
        snprintf(r->channel, sizeof(r->channel), "%s", channel);
        snprintf(r->step, sizeof(r->step), "%s", step);
        return r;
}

static struct stats_holdout *holdout(struct stats *s, const char *step)
{
        for (size_t i = 0; i < s->n_holdout; i++)
                if (strcmp(s->holdout[i].step, step) == 0)
                        return &s->holdout[i];
        if (s->n_holdout == STATS_ROWS_MAX)
                return NULL;
        struct stats_holdout *h = &s->holdout[s->n_holdout++];
        memset(h, 0, sizeof(*h));
        snprintf(h->step, sizeof(h->step), "%s", step);
        return h;
}

void stats_add_day(struct stats *s, const struct queue_fields *day, const struct stats_filter *f)
{
        for (size_t i = 0; i < day->n; i++) {
                char part[4][STATS_STEP_MAX + 1];
                const char *campaign;
                if (!split(day->kv[2 * i], part, &campaign))
                        continue;
                const char *metric = part[0], *channel = part[1], *step = part[2];
                long long v = strtoll(day->kv[2 * i + 1], NULL, 10);
                /* Counters without a campaign (organic, unmatched payments)
                 * belong to no campaign: a campaign filter leaves them out. */
                if (f && f->campaign && strcmp(campaign, f->campaign) != 0)
                        continue;
                if (f && f->segment && strcmp(part[3], f->segment) != 0)
                        continue;
                if (strcmp(metric, "organic") == 0) {
                        s->organic += v;
                        continue;
                }
                if (strcmp(metric, "unmatched") == 0) {
                        s->unmatched += v;
                        continue;
                }
                if (strcmp(metric, "handover") == 0) {
                        s->handover += v;
                        continue;
                }
                if (strcmp(metric, "held_out") == 0 || strcmp(metric, "held_paid") == 0) {
                        struct stats_holdout *h = holdout(s, step);
                        if (h)
                                *(metric[5] == 'o' ? &h->held_out : &h->paid) += v;
                        continue;
                }
                if (job_channel_from_name(channel) == JOB_CHANNEL_NONE)
                        continue;
                struct stats_row *r = row(s, channel, step);
                if (!r)
                        continue;
                if (strcmp(metric, "sent") == 0)
                        r->sent += v;
                else if (strcmp(metric, "delivered") == 0)
                        r->delivered += v;
                else if (strcmp(metric, "undelivered") == 0)
                        r->undelivered += v;
                else if (strcmp(metric, "failed") == 0)
                        r->failed += v;
                else if (strcmp(metric, "direct") == 0)
                        r->direct += v;
                else if (strcmp(metric, "assisted") == 0)
                        r->assisted += v;
                else if (strcmp(metric, "paid_cents") == 0)
                        r->paid_cents += v;
                else if (strcmp(metric, "cost") == 0)
                        r->cost_cents += v;
                else if (metric[0] == 'h' && metric[1] >= '0' && metric[1] <= '9') {
                        int b = atoi(metric + 1);
                        if (b >= 0 && b < HISTORY_HOURS_BUCKETS)
                                r->hours[b] += v;
                }
        }
}

static int row_cmp(const void *a, const void *b)
{
        const struct stats_row *x = a, *y = b;
        int c = strcmp(x->step, y->step);
        return c ? c : job_channel_from_name(x->channel) - job_channel_from_name(y->channel);
}

/* The day hashes of filter's period (at most DAYS_MAX, the last ones),
 * one pipelined round trip: *days[*n] (free with free_days), the first
 * day's number in *from. */
static int read_days(struct queue *q, const struct stats_filter *f, struct queue_fields **days,
                     size_t *n, int64_t *from, struct error *err)
{
        int64_t first = f->since_ms / DAY_MS, to = f->until_ms / DAY_MS;
        *days = NULL;
        *n = 0;
        *from = first;
        if (to < first)
                return 0;
        if (to - first + 1 > DAYS_MAX)
                first = to - DAYS_MAX + 1;
        *from = first;
        *n = (size_t)(to - first + 1);
        char **keys = xcalloc(*n, sizeof(*keys));
        *days = xcalloc(*n, sizeof(**days));
        for (size_t i = 0; i < *n; i++) {
                char k[256];
                history_stats_key(q, k, sizeof(k), (first + (int64_t)i) * DAY_MS);
                keys[i] = xstrdup(k);
        }
        int rc = queue_hashes_get(q, (const char *const *)keys, *n, *days, err);
        for (size_t i = 0; i < *n; i++)
                free(keys[i]);
        free(keys);
        return rc;
}

static void free_days(struct queue_fields *days, size_t n)
{
        for (size_t i = 0; i < n; i++)
                queue_fields_free(&days[i]);
        free(days);
}

int stats_collect_daily(struct queue *q, const struct stats_filter *f, struct stats *s,
                        struct stats_day *daily, size_t max_days, size_t *n_daily,
                        struct error *err)
{
        struct queue_fields *days;
        size_t n;
        int64_t from;
        struct stats *one = daily ? xcalloc(1, sizeof(*one)) : NULL;

        memset(s, 0, sizeof(*s));
        if (n_daily)
                *n_daily = 0;
        int rc = read_days(q, f, &days, &n, &from, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
                stats_add_day(s, &days[i], f);
                if (!daily || n - i > max_days)
                        continue;
                /* The same parsing, one day alone, summed per channel. */
                struct stats_day *d = &daily[(*n_daily)++];
                memset(d, 0, sizeof(*d));
                memset(one, 0, sizeof(*one));
                d->day_ms = (from + (int64_t)i) * DAY_MS;
                stats_add_day(one, &days[i], f);
                for (size_t r = 0; r < one->n_rows; r++) {
                        enum job_channel c = job_channel_from_name(one->rows[r].channel);
                        d->sent[c] += one->rows[r].sent;
                        d->paid[c] += one->rows[r].direct + one->rows[r].assisted;
                        d->paid_cents += one->rows[r].paid_cents;
                }
        }
        free_days(days, n);
        free(one);
        s->days = n;
        qsort(s->rows, s->n_rows, sizeof(s->rows[0]), row_cmp);
        return rc;
}

int stats_collect(struct queue *q, const struct stats_filter *f, struct stats *s,
                  struct error *err)
{
        return stats_collect_daily(q, f, s, NULL, 0, NULL, err);
}

int stats_campaigns(struct queue *q, const struct stats_filter *f,
                    char names[][STATS_STEP_MAX + 1], size_t max, size_t *n_names,
                    size_t *n_total, struct error *err)
{
        struct queue_fields *days;
        size_t n;
        int64_t from;
        /* Those beyond max, only counted: every day's counters are read
         * anyway, so the total costs a set, not a round trip. */
        json_t *more = json_object();

        *n_names = 0;
        int rc = read_days(q, f, &days, &n, &from, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
                for (size_t k = 0; k < days[i].n; k++) {
                        char part[4][STATS_STEP_MAX + 1];
                        const char *campaign;
                        if (!split(days[i].kv[2 * k], part, &campaign) || !*campaign ||
                            strcmp(campaign, "-") == 0 || strlen(campaign) > STATS_STEP_MAX)
                                continue;
                        size_t j = 0;
                        while (j < *n_names && strcmp(names[j], campaign) != 0)
                                j++;
                        if (j == *n_names && *n_names < max)
                                snprintf(names[(*n_names)++], STATS_STEP_MAX + 1, "%s",
                                         campaign);
                        else if (j == *n_names)
                                json_object_set_new_nocheck(more, campaign, json_true());
                }
        }
        *n_total = *n_names + json_object_size(more);
        json_decref(more);
        free_days(days, n);
        qsort(names, *n_names, STATS_STEP_MAX + 1, (int (*)(const void *, const void *))strcmp);
        return rc;
}

/* The hour by which half the payments of the row had come, interpolated
 * linearly inside its bucket (the last, open bucket: its lower bound). */
static double median_hours(const struct stats_row *r)
{
        long long total = 0, seen = 0;
        for (int b = 0; b < HISTORY_HOURS_BUCKETS; b++)
                total += r->hours[b];
        if (total == 0)
                return -1;
        double half = (double)total / 2.0;
        for (int b = 0; b < HISTORY_HOURS_BUCKETS; b++) {
                if (r->hours[b] == 0)
                        continue;
                if ((double)(seen + r->hours[b]) >= half) {
                        double lo = b ? history_hours_bounds[b - 1] : 0;
                        if (b == HISTORY_HOURS_BUCKETS - 1)
                                return lo;
                        double hi = history_hours_bounds[b];
                        return lo + (hi - lo) * (half - (double)seen) / (double)r->hours[b];
                }
                seen += r->hours[b];
        }
        return -1;
}

void stats_figures(const struct stats *s, const struct stats_row *r, struct stats_figures *out)
{
        memset(out, 0, sizeof(*out));
        long long paid = r->direct + r->assisted;
        out->conversion = r->sent ? (double)paid / (double)r->sent : -1;
        out->median_hours = median_hours(r);
        out->cost_per_euro = r->paid_cents ? (double)r->cost_cents / (double)r->paid_cents : -1;
        for (size_t i = 0; i < s->n_holdout; i++) {
                const struct stats_holdout *h = &s->holdout[i];
                if (strcmp(h->step, r->step) != 0 || h->held_out == 0 || r->sent == 0)
                        continue;
                double p1 = out->conversion, n1 = (double)r->sent;
                double p2 = (double)h->paid / (double)h->held_out, n2 = (double)h->held_out;
                double se = sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2);
                out->has_uplift = true;
                out->holdout_conversion = p2;
                out->uplift = p1 - p2;
                out->ci_low = out->uplift - 1.96 * se;
                out->ci_high = out->uplift + 1.96 * se;
        }
}

static json_t *num_or_null(double v)
{
        return v < 0 ? json_null() : json_real(round(v * 10000.0) / 10000.0);
}

json_t *stats_json(const struct stats *s, const struct stats_filter *f)
{
        json_t *root = json_object(), *rows = json_array(), *hold = json_array();
        char since[11], until[11];
        civil_format(civil_today(f->since_ms), since);
        civil_format(civil_today(f->until_ms), until);
        json_object_set_new(root, "since", json_string(since));
        json_object_set_new(root, "until", json_string(until));
        json_object_set_new(root, "campaign", f->campaign ? json_string(f->campaign) : json_null());
        json_object_set_new(root, "segment", f->segment ? json_string(f->segment) : json_null());
        for (size_t i = 0; i < s->n_rows; i++) {
                const struct stats_row *r = &s->rows[i];
                struct stats_figures fig;
                stats_figures(s, r, &fig);
                json_t *o = json_object();
                json_object_set_new(o, "channel", json_string(r->channel));
                json_object_set_new(o, "step", json_string(r->step));
                json_object_set_new(o, "sent", json_integer(r->sent));
                json_object_set_new(o, "delivered", json_integer(r->delivered));
                json_object_set_new(o, "undelivered", json_integer(r->undelivered));
                json_object_set_new(o, "failed", json_integer(r->failed));
                json_object_set_new(o, "paid_direct", json_integer(r->direct));
                json_object_set_new(o, "paid_assisted", json_integer(r->assisted));
                json_object_set_new(o, "conversion", num_or_null(fig.conversion));
                json_object_set_new(o, "median_hours_to_pay", num_or_null(fig.median_hours));
                json_object_set_new(o, "collected_cents", json_integer(r->paid_cents));
                json_object_set_new(o, "cost_cents", json_integer(r->cost_cents));
                json_object_set_new(o, "cost_per_euro", num_or_null(fig.cost_per_euro));
                if (fig.has_uplift) {
                        json_t *u = json_object();
                        json_object_set_new(u, "holdout_conversion",
                                            json_real(round(fig.holdout_conversion * 1e4) / 1e4));
                        json_object_set_new(u, "uplift", json_real(round(fig.uplift * 1e4) / 1e4));
                        json_object_set_new(u, "ci95_low", json_real(round(fig.ci_low * 1e4) / 1e4));
                        json_object_set_new(u, "ci95_high",
                                            json_real(round(fig.ci_high * 1e4) / 1e4));
                        json_object_set_new(o, "uplift", u);
                } else {
                        json_object_set_new(o, "uplift", json_null());
                }
                json_array_append_new(rows, o);
        }
        for (size_t i = 0; i < s->n_holdout; i++) {
                json_t *o = json_object();
                json_object_set_new(o, "step", json_string(s->holdout[i].step));
                json_object_set_new(o, "held_out", json_integer(s->holdout[i].held_out));
                json_object_set_new(o, "paid", json_integer(s->holdout[i].paid));
                json_array_append_new(hold, o);
        }
        json_object_set_new(root, "rows", rows);
        json_object_set_new(root, "holdout", hold);
        json_object_set_new(root, "organic", json_integer(s->organic));
        json_object_set_new(root, "unmatched", json_integer(s->unmatched));
        json_object_set_new(root, "handover", json_integer(s->handover));
        return root;
}
