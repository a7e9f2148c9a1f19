/* stats.h: what the reminders achieved, per channel and step, from the
 * day counters history.h describes (<prefix>:stats:<date>).
 *
 * One code path for `dunningctl stats` and the credit team's API: collect
 * (Redis) -> aggregate (pure) -> report (text or JSON). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "queue.h"

#define STATS_ROWS_MAX 256
#define STATS_STEP_MAX 64

struct stats_filter {
        const char *campaign;   /* NULL: every campaign */
        const char *segment;    /* NULL: every segment */
        int64_t since_ms;       /* first day counted (its UTC date) */
        int64_t until_ms;       /* last day counted */
};

/* One channel and step. */
struct stats_row {
        char channel[16];
        char step[STATS_STEP_MAX + 1];
        long long sent, delivered, undelivered, failed;
        long long direct, assisted;       /* payments credited */
        long long paid_cents, cost_cents;
        long long hours[HISTORY_HOURS_BUCKETS];
};

/* What was held out of one step, and how many of those paid anyway. */
struct stats_holdout {
        char step[STATS_STEP_MAX + 1];
        long long held_out, paid;
};

struct stats {
        struct stats_row rows[STATS_ROWS_MAX];
        size_t n_rows;
        struct stats_holdout holdout[STATS_ROWS_MAX];
        size_t n_holdout;
        long long organic, unmatched;
        long long handover;     /* invoices' reminders handed to a collection agency */
        size_t days;            /* day keys read */
};

/* Adds one day's counters (field/value pairs) that pass filter. */
void stats_add_day(struct stats *s, const struct queue_fields *day, const struct stats_filter *f);

/* Reads the days of filter from Redis (one pipelined round trip) into s
 * (zeroed first). */
int stats_collect(struct queue *q, const struct stats_filter *f, struct stats *s,
                  struct error *err);

/* One day's totals per channel (enum job_channel), for the daily chart. */
struct stats_day {
        int64_t day_ms;                   /* 00:00 UTC of the day */
        long long sent[JOB_CHANNEL__N];
        long long paid[JOB_CHANNEL__N];   /* payments credited (direct + assisted) */
        long long paid_cents;
};
/* stats_collect, and the totals of each day of the period into daily
 * (the last max_days days; *n_daily of them), from the same read. */
int stats_collect_daily(struct queue *q, const struct stats_filter *f, struct stats *s,
                        struct stats_day *daily, size_t max_days, size_t *n_daily,
                        struct error *err);
/* The campaigns with counters in filter's period, sorted, at most max;
 * *n_total: how many there are in all (> *n_names when cut). */
int stats_campaigns(struct queue *q, const struct stats_filter *f,
                    char names[][STATS_STEP_MAX + 1], size_t max, size_t *n_names,
                    size_t *n_total, struct error *err);

/* Derived figures of a row. */
struct stats_figures {
        double conversion;        /* (direct + assisted) / sent, or -1 without sends */
        double median_hours;      /* interpolated in the hours buckets, or -1 */
        double cost_per_euro;     /* cost / collected, or -1 when nothing was collected */
        bool has_uplift;          /* the step had a holdout with customers in it */
        double holdout_conversion;
        double uplift, ci_low, ci_high;   /* conversion - holdout's, 95% (Wald) */
};
void stats_figures(const struct stats *s, const struct stats_row *r, struct stats_figures *out);

struct json_t;
/* The report as JSON (the shape `dunningctl stats --json` prints). */
struct json_t *stats_json(const struct stats *s, const struct stats_filter *f);
