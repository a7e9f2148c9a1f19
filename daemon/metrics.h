/* metrics.h: the daemon's counters, gauges and histograms, and their
 * Prometheus text format 0.0.4 (prefix dunningd_).
 *
 * Workers record on the hot path with relaxed atomic additions into fixed
 * arrays: no lock, no allocation. Every label takes a value from a small
 * fixed set (channel, reason, attribution) except step, whose names come
 * from the jobs: the first METRICS_MAX_STEPS distinct names get their own
 * series, later ones count as step="other". No customer data ever becomes
 * a label. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "job.h"

struct buf;

#define METRICS_MAX_STEPS 32
#define METRICS_STEP_LEN 64
/* Channel label values: the job channels, then "none" (no channel took it). */
#define METRICS_CHANNELS (JOB_CHANNEL__N + 1)
/* Upper bounds of the dispatch duration histogram, in seconds; +Inf follows. */
#define METRICS_BUCKETS 14

enum metrics_fail {
        METRICS_FAIL_TEMPORARY,    /* will be retried */
        METRICS_FAIL_PERMANENT,    /* this channel cannot take it */
        METRICS_FAIL_INVALID,      /* the job itself is broken */
        METRICS_FAIL__N,
};

enum metrics_skip {
        METRICS_SKIP_ALREADY_SENT,
        METRICS_SKIP_PAID,
        METRICS_SKIP_HELD,
        METRICS_SKIP_ARRANGEMENT,
        METRICS_SKIP_HELD_OUT,          /* the campaign's holdout */
        METRICS_SKIP_HANDOVER,          /* the flow's end: the agency takes over */
        METRICS_SKIP_OTHER,
        METRICS_SKIP__N,
};

enum metrics_dead {
        METRICS_DEAD_INVALID,
        METRICS_DEAD_MAX_DELIVERIES,
        METRICS_DEAD_ATTEMPTS_EXHAUSTED,
        METRICS_DEAD_NO_CHANNEL,
        METRICS_DEAD_PERMANENT,
        METRICS_DEAD_RENDER,
        METRICS_DEAD_OTHER,
        METRICS_DEAD__N,
};

enum metrics_defer {
        METRICS_DEFER_QUIET_HOURS,
        METRICS_DEFER_RATE_LIMITED,
        METRICS_DEFER_BEST_HOUR,       /* timing.h's reasons */
        METRICS_DEFER_SEND_WINDOW,
        METRICS_DEFER_WEEKEND,
        METRICS_DEFER_HOLIDAY,
        METRICS_DEFER_CONTACT_LIMIT,   /* contact.h's reasons */
        METRICS_DEFER_CONTACT_GAP,
        METRICS_DEFER_OTHER,
        METRICS_DEFER__N,
};

enum metrics_attribution {
        METRICS_ATTR_DIRECT,
        METRICS_ATTR_ASSISTED,
        METRICS_ATTR_ORGANIC,
        METRICS_ATTR__N,
};

struct metrics_hist {
        atomic_ullong bucket[METRICS_BUCKETS + 1];   /* not cumulative; last is +Inf */
        atomic_ullong sum_us;
};

struct metrics_step {
        atomic_int state;               /* 0 free, 1 being named, 2 named */
        char name[METRICS_STEP_LEN + 1];
};

struct metrics {
        struct metrics_step steps[METRICS_MAX_STEPS];
        /* [channel][step]; step METRICS_MAX_STEPS is "other" */
        atomic_ullong sent[JOB_CHANNEL__N][METRICS_MAX_STEPS + 1];
        atomic_ullong failed[METRICS_CHANNELS][METRICS_FAIL__N];
        atomic_ullong skipped[METRICS_SKIP__N];
        atomic_ullong dead[METRICS_DEAD__N];
        atomic_ullong deferred[METRICS_DEFER__N];
        atomic_ullong throttled[JOB_CHANNEL__N];      /* jobs a rate limit delayed */
        atomic_ullong throttled_ms[JOB_CHANNEL__N];   /* and by how long, summed */
        atomic_ullong delivery[JOB_CHANNEL__N][2];   /* [ch][delivered] */
        atomic_ullong payments[METRICS_ATTR__N][METRICS_CHANNELS];
        struct metrics_hist duration[JOB_CHANNEL__N];
        atomic_ullong redis_reconnects;
        atomic_ullong busy_us;          /* summed over workers */
        atomic_ullong reloads_ok, reloads_refused;
};

/* What a scrape adds beside the counters: the queue as Redis reports it
 * (redis_up false leaves the queue gauges out), and the process's view. */
struct metrics_gauges {
        bool redis_up;
        long long queue_depth, queue_pending, queue_scheduled, queue_dead_letters;
        int workers;
        int workers_stalled;
        double busy_ratio;              /* last minute, 0..1 */
        int64_t start_time_ms;
};

/* Zeroes m (a static or calloc'ed struct is ready already). */
void metrics_init(struct metrics *m);

/* channel is a job channel (JOB_CHANNEL_NONE counts as "none" where the
 * family has it). Unknown reasons of the string forms count as "other". */
void metrics_sent(struct metrics *m, enum job_channel ch, const char *step);
void metrics_failed(struct metrics *m, enum job_channel ch, enum metrics_fail reason);
void metrics_skipped(struct metrics *m, const char *reason);
void metrics_dead(struct metrics *m, const char *reason);
void metrics_deferred(struct metrics *m, const char *reason);
void metrics_delivery(struct metrics *m, enum job_channel ch, bool delivered);
/* A rate limit on ch delayed a job by delay_ms. */
void metrics_throttled(struct metrics *m, enum job_channel ch, int64_t delay_ms);
void metrics_payment(struct metrics *m, enum metrics_attribution a, enum job_channel ch);
void metrics_duration(struct metrics *m, enum job_channel ch, int64_t us);

/* Totals over every label, for the stop log and the systemd STATUS line. */
unsigned long long metrics_sent_total(const struct metrics *m);
unsigned long long metrics_skipped_total(const struct metrics *m);
unsigned long long metrics_failed_total(const struct metrics *m, enum metrics_fail reason);
unsigned long long metrics_dead_total(const struct metrics *m);

/* Appends the whole exposition (HELP, TYPE, samples) to out. */
void metrics_format(const struct metrics *m, const struct metrics_gauges *g, struct buf *out);

/* The histogram's bucket bounds in seconds (exposed for tests). */
extern const double metrics_bucket_le[METRICS_BUCKETS];
