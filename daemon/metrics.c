/* metrics.c: lock-free counters and their Prometheus text exposition. */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

#define RELAXED memory_order_relaxed

const double metrics_bucket_le[METRICS_BUCKETS] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

static const char *const fail_names[METRICS_FAIL__N] = { "temporary", "permanent", "invalid" };
static const char *const skip_names[METRICS_SKIP__N] = {
        "already-sent", "paid", "held", "arrangement", "held-out", "handover", "other",
};
static const char *const dead_names[METRICS_DEAD__N] = {
        "invalid", "max-deliveries", "attempts-exhausted", "no-channel", "permanent",
        "render", "other",
};
static const char *const defer_names[METRICS_DEFER__N] = {
        "quiet-hours", "rate-limited", "best-hour", "send-window", "weekend", "holiday",
        "contact-limit", "contact-gap", "other",
};
static const char *const attr_names[METRICS_ATTR__N] = { "direct", "assisted", "organic" };

void metrics_init(struct metrics *m)
{
        memset(m, 0, sizeof(*m));
}

static const char *channel_name(int c)
{
        return c >= 0 && c < JOB_CHANNEL__N ? job_channel_name((enum job_channel)c) : "none";
}

/* Index of a label array with "none" last. */
static int channel_slot(enum job_channel ch)
{
        return ch >= 0 && ch < JOB_CHANNEL__N ? (int)ch : JOB_CHANNEL__N;
}

static size_t name_index(const char *const *names, size_t n, const char *s)
{
        for (size_t i = 0; s && i < n - 1; i++)
                if (strcmp(names[i], s) == 0)
                        return i;
        return n - 1;   /* the last name is "other" */
}

/* The slot of step, naming a free one the first time a step is seen. Two
 * workers naming the same new step at once may take two slots: the
 * exposition adds slots of one name together. */
static int step_slot(struct metrics *m, const char *step)
{
        size_t len = step ? strlen(step) : 0;
        if (len == 0 || len > METRICS_STEP_LEN || strcmp(step, "other") == 0)
                return METRICS_MAX_STEPS;
        for (int i = 0; i < METRICS_MAX_STEPS; i++) {
                struct metrics_step *s = &m->steps[i];
                int st = atomic_load_explicit(&s->state, memory_order_acquire);
                if (st == 2 && strcmp(s->name, step) == 0)
                        return i;
                if (st == 0) {
                        int expected = 0;
                        if (atomic_compare_exchange_strong(&s->state, &expected, 1)) {
                                memcpy(s->name, step, len + 1);
                                atomic_store_explicit(&s->state, 2, memory_order_release);
                                return i;
                        }
                        /* Lost the race: wait for the winner's name. */
                        while (atomic_load_explicit(&s->state, memory_order_acquire) != 2)
                                ;
                        if (strcmp(s->name, step) == 0)
                                return i;
                }
        }
        return METRICS_MAX_STEPS;
}

void metrics_sent(struct metrics *m, enum job_channel ch, const char *step)
{
        if (ch < 0 || ch >= JOB_CHANNEL__N)
                return;
        atomic_fetch_add_explicit(&m->sent[ch][step_slot(m, step)], 1, RELAXED);
}

void metrics_failed(struct metrics *m, enum job_channel ch, enum metrics_fail reason)
{
        atomic_fetch_add_explicit(&m->failed[channel_slot(ch)][reason], 1, RELAXED);
}

void metrics_skipped(struct metrics *m, const char *reason)
{
        atomic_fetch_add_explicit(&m->skipped[name_index(skip_names, METRICS_SKIP__N, reason)], 1,
                                  RELAXED);
}

void metrics_dead(struct metrics *m, const char *reason)
{
        atomic_fetch_add_explicit(&m->dead[name_index(dead_names, METRICS_DEAD__N, reason)], 1,
                                  RELAXED);
}

void metrics_deferred(struct metrics *m, const char *reason)
{
        atomic_fetch_add_explicit(&m->deferred[name_index(defer_names, METRICS_DEFER__N, reason)],
                                  1, RELAXED);
}

void metrics_throttled(struct metrics *m, enum job_channel ch, int64_t delay_ms)
{
        if (ch < 0 || ch >= JOB_CHANNEL__N)
                return;
        atomic_fetch_add_explicit(&m->throttled[ch], 1, RELAXED);
        atomic_fetch_add_explicit(&m->throttled_ms[ch],
                                  (unsigned long long)(delay_ms > 0 ? delay_ms : 0), RELAXED);
}

void metrics_delivery(struct metrics *m, enum job_channel ch, bool delivered)
{
        if (ch >= 0 && ch < JOB_CHANNEL__N)
                atomic_fetch_add_explicit(&m->delivery[ch][delivered], 1, RELAXED);
}

void metrics_payment(struct metrics *m, enum metrics_attribution a, enum job_channel ch)
{
        atomic_fetch_add_explicit(&m->payments[a][channel_slot(ch)], 1, RELAXED);
}

void metrics_duration(struct metrics *m, enum job_channel ch, int64_t us)
{
        if (ch < 0 || ch >= JOB_CHANNEL__N)
                return;
        if (us < 0)
                us = 0;
        double s = (double)us / 1e6;
        int b = 0;
        while (b < METRICS_BUCKETS && s > metrics_bucket_le[b])
                b++;
        struct metrics_hist *h = &m->duration[ch];
        atomic_fetch_add_explicit(&h->bucket[b], 1, RELAXED);
        atomic_fetch_add_explicit(&h->sum_us, (unsigned long long)us, RELAXED);
}

static unsigned long long load(const atomic_ullong *a)
{
        return atomic_load_explicit(a, RELAXED);
}

unsigned long long metrics_sent_total(const struct metrics *m)
{
        unsigned long long t = 0;
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                for (int s = 0; s <= METRICS_MAX_STEPS; s++)
                        t += load(&m->sent[c][s]);
        return t;
}

unsigned long long metrics_skipped_total(const struct metrics *m)
{
        unsigned long long t = 0;
        for (int r = 0; r < METRICS_SKIP__N; r++)
                t += load(&m->skipped[r]);
        return t;
}

unsigned long long metrics_failed_total(const struct metrics *m, enum metrics_fail reason)
{
        unsigned long long t = 0;
        for (int c = 0; c < METRICS_CHANNELS; c++)
                t += load(&m->failed[c][reason]);
        return t;
}

unsigned long long metrics_dead_total(const struct metrics *m)
{
        unsigned long long t = 0;
        for (int r = 0; r < METRICS_DEAD__N; r++)
                t += load(&m->dead[r]);
        return t;
}

static void family(struct buf *out, const char *name, const char *type, const char *help)
{
        buf_printf(out, "# HELP dunningd_%s %s\n# TYPE dunningd_%s %s\n", name, help, name, type);
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void label_value(struct buf *out, const char *v)
{
        for (; *v; v++) {
                if (*v == '\\' || *v == '"')
                        buf_putc(out, '\\');
                if (*v == '\n') {
                        buf_puts(out, "\\n");
                        continue;
                }
                buf_putc(out, *v);
        }
}

static const char *step_name(const struct metrics *m, int s)
{
        const struct metrics_step *st = &m->steps[s];
        return atomic_load_explicit(&st->state, memory_order_acquire) == 2 ? st->name : NULL;
}

static void format_sent(const struct metrics *m, struct buf *out)
{
        family(out, "reminders_sent_total", "counter", "Reminders sent, by channel and step.");
        for (int c = 0; c < JOB_CHANNEL__N; c++) {
                for (int s = 0; s < METRICS_MAX_STEPS; s++) {
                        const char *name = step_name(m, s);
                        if (!name)
                                continue;
                        /* Slots of one name (a naming race) print as one
                         * series, at the first of them. */
                        bool seen = false;
                        for (int t = 0; t < s && !seen; t++)
                                seen = step_name(m, t) && strcmp(step_name(m, t), name) == 0;
                        if (seen)
                                continue;
                        unsigned long long v = 0;
                        for (int t = s; t < METRICS_MAX_STEPS; t++)
                                if (step_name(m, t) && strcmp(step_name(m, t), name) == 0)
                                        v += load(&m->sent[c][t]);
                        buf_printf(out, "dunningd_reminders_sent_total{channel=\"%s\",step=\"",
                                   channel_name(c));
                        label_value(out, name);
                        buf_printf(out, "\"} %llu\n", v);
                }
                unsigned long long other = load(&m->sent[c][METRICS_MAX_STEPS]);
                if (other)
                        buf_printf(out,
                                   "dunningd_reminders_sent_total{channel=\"%s\",step=\"other\"} "
                                   "%llu\n",
                                   channel_name(c), other);
        }
}

static void format_histogram(const struct metrics *m, struct buf *out)
{
        family(out, "dispatch_duration_seconds", "histogram",
               "Time to render and send one reminder on a channel.");
        for (int c = 0; c < JOB_CHANNEL__N; c++) {
                const struct metrics_hist *h = &m->duration[c];
                /* Read every bucket once, so the cumulative counts and the
                 * count agree even while workers keep adding. */
                unsigned long long cum = 0;
                for (int b = 0; b <= METRICS_BUCKETS; b++) {
                        cum += load(&h->bucket[b]);
                        if (b < METRICS_BUCKETS)
                                buf_printf(out,
                                           "dunningd_dispatch_duration_seconds_bucket{channel=\"%s\","
                                           "le=\"%g\"} %llu\n",
                                           channel_name(c), metrics_bucket_le[b], cum);
                        else
                                buf_printf(out,
                                           "dunningd_dispatch_duration_seconds_bucket{channel=\"%s\","
                                           "le=\"+Inf\"} %llu\n",
                                           channel_name(c), cum);
                }
                buf_printf(out, "dunningd_dispatch_duration_seconds_sum{channel=\"%s\"} %.6f\n",
                           channel_name(c), (double)load(&h->sum_us) / 1e6);
                buf_printf(out, "dunningd_dispatch_duration_seconds_count{channel=\"%s\"} %llu\n",
                           channel_name(c), cum);
        }
}

static void gauge(struct buf *out, const char *name, const char *help, double v)
{
        family(out, name, "gauge", help);
        buf_printf(out, "dunningd_%s %.17g\n", name, v);
}

void metrics_format(const struct metrics *m, const struct metrics_gauges *g, struct buf *out)
{
        family(out, "build_info", "gauge", "The running version; always 1.");
        buf_printf(out, "dunningd_build_info{version=\"%s\"} 1\n", DUNNINGD_VERSION);
        gauge(out, "start_time_seconds", "Start of the process, Unix seconds.",
              (double)g->start_time_ms / 1000.0);
        gauge(out, "workers", "Worker threads.", g->workers);

        format_sent(m, out);

        family(out, "reminders_failed_total", "counter",
               "Send failures, by channel (none: no channel could be tried) and reason.");
        for (int c = 0; c < METRICS_CHANNELS; c++)
                for (int r = 0; r < METRICS_FAIL__N; r++)
                        buf_printf(out,
                                   "dunningd_reminders_failed_total{channel=\"%s\",reason=\"%s\"} "
                                   "%llu\n",
                                   channel_name(c), fail_names[r], load(&m->failed[c][r]));

        family(out, "reminders_skipped_total", "counter", "Reminders not sent, by reason.");
        for (int r = 0; r < METRICS_SKIP__N; r++)
                buf_printf(out, "dunningd_reminders_skipped_total{reason=\"%s\"} %llu\n",
                           skip_names[r], load(&m->skipped[r]));

        family(out, "dead_lettered_total", "counter",
               "Jobs moved to the dead-letter stream, by reason.");
        for (int r = 0; r < METRICS_DEAD__N; r++)
                buf_printf(out, "dunningd_dead_lettered_total{reason=\"%s\"} %llu\n",
                           dead_names[r], load(&m->dead[r]));

        family(out, "reminders_deferred_total", "counter",
               "Reminders put off to a later time (not an attempt), by reason.");
        for (int r = 0; r < METRICS_DEFER__N; r++)
                buf_printf(out, "dunningd_reminders_deferred_total{reason=\"%s\"} %llu\n",
                           defer_names[r], load(&m->deferred[r]));

        family(out, "throttled_total", "counter",
               "Reminders a provider rate limit (limits.rate) delayed, by channel.");
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                buf_printf(out, "dunningd_throttled_total{channel=\"%s\"} %llu\n",
                           job_channel_name((enum job_channel)c), load(&m->throttled[c]));
        family(out, "throttled_seconds_total", "counter",
               "Time the rate limits delayed reminders by, summed, by channel.");
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                buf_printf(out, "dunningd_throttled_seconds_total{channel=\"%s\"} %.3f\n",
                           job_channel_name((enum job_channel)c),
                           (double)load(&m->throttled_ms[c]) / 1000.0);

        family(out, "delivery_reports_total", "counter",
               "Delivery reports from providers, by channel and what they said.");
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                for (int d = 1; d >= 0; d--)
                        buf_printf(out,
                                   "dunningd_delivery_reports_total{channel=\"%s\",status=\"%s\"} "
                                   "%llu\n",
                                   channel_name(c), d ? "delivered" : "undelivered",
                                   load(&m->delivery[c][d]));

        family(out, "payments_total", "counter",
               "Payments after reminders, by attribution and the credited channel.");
        for (int a = 0; a < METRICS_ATTR__N; a++)
                for (int c = 0; c < METRICS_CHANNELS; c++)
                        buf_printf(out,
                                   "dunningd_payments_total{attribution=\"%s\",channel=\"%s\"} "
                                   "%llu\n",
                                   attr_names[a], channel_name(c), load(&m->payments[a][c]));

        format_histogram(m, out);

        gauge(out, "redis_up", "1 when Redis answered this scrape's queue queries.",
              g->redis_up);
        if (g->redis_up) {
                gauge(out, "queue_depth", "Stream entries not yet delivered to any worker.",
                      (double)g->queue_depth);
                gauge(out, "queue_pending", "Entries delivered to a worker and not yet acked.",
                      (double)g->queue_pending);
                gauge(out, "queue_scheduled", "Retries and not-before jobs waiting for their time.",
                      (double)g->queue_scheduled);
                gauge(out, "queue_dead_letters", "Entries in the dead-letter stream.",
                      (double)g->queue_dead_letters);
        }
        family(out, "redis_reconnects_total", "counter", "Reconnects of worker connections.");
        buf_printf(out, "dunningd_redis_reconnects_total %llu\n", load(&m->redis_reconnects));
        family(out, "worker_busy_seconds_total", "counter",
               "Time the workers spent on batches, summed over workers.");
        buf_printf(out, "dunningd_worker_busy_seconds_total %.6f\n",
                   (double)load(&m->busy_us) / 1e6);
        gauge(out, "worker_busy_ratio", "Share of the workers' time spent on batches, last minute.",
              g->busy_ratio);
        gauge(out, "workers_stalled",
              "Workers that neither made progress nor idled within the watchdog interval.",
              g->workers_stalled);
        family(out, "config_reloads_total", "counter", "SIGHUP reloads, by result.");
        buf_printf(out, "dunningd_config_reloads_total{result=\"ok\"} %llu\n",
                   load(&m->reloads_ok));
        buf_printf(out, "dunningd_config_reloads_total{result=\"refused\"} %llu\n",
                   load(&m->reloads_refused));
}
