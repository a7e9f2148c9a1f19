/* stats.c: `dunningctl stats` (what the reminders achieved) and
 * `dunningctl explain` (one customer's history and what the policy would
 * choose now, and why). */
#include "stats_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "civil.h"
#include "config.h"
#include "ctl.h"
#include "dead.h"
#include "flow.h"
#include "history.h"
#include "hold.h"
#include "job.h"
#include "policy.h"
#include "queue.h"
#include "stats.h"
#include "timing.h"

#define DAY_MS 86400000LL
#define DEFAULT_DAYS 30

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --since: a date (YYYY-MM-DD), an RFC 3339 time or Unix seconds. */
int stats_parse_since(const char *s, int64_t *ms)
{
        char t[40];
        if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
                snprintf(t, sizeof(t), "%sT00:00:00Z", s);
                return job_parse_time(t, ms);
        }
        return dead_parse_since(s, ms);
}

static void money(char *out, size_t n, long long cents)
{
        snprintf(out, n, "%lld.%02lld", cents / 100, (cents < 0 ? -cents : cents) % 100);
}

static void pct(char *out, size_t n, double v)
{
        if (v < 0)
                snprintf(out, n, "-");
        else
                snprintf(out, n, "%.1f%%", v * 100.0);
}

static void print_stats(const struct stats *s, const struct stats_filter *f)
{
        char since[11], until[11];
        civil_format(civil_today(f->since_ms), since);
        civil_format(civil_today(f->until_ms), until);
        printf("reminders %s .. %s%s%s%s%s\n", since, until, f->campaign ? ", campaign " : "",
               f->campaign ? f->campaign : "", f->segment ? ", segment " : "",
               f->segment ? f->segment : "");
        if (s->n_rows == 0) {
                printf("no reminders sent in this period\n");
        } else {
                printf("%-8s %-16s %7s %9s %11s %6s %7s %8s %7s %8s %10s %9s %9s  %s\n",
                       "channel", "step", "sent", "delivered", "undelivered", "failed", "direct",
                       "assisted", "conv", "med.h", "collected", "cost", "cost/EUR",
                       "uplift vs holdout (95% CI)");
        }
        for (size_t i = 0; i < s->n_rows; i++) {
                const struct stats_row *r = &s->rows[i];
                struct stats_figures fig;
                char conv[16], med[16], coll[24], cost[24], cpe[16], up[64];
                stats_figures(s, r, &fig);
                pct(conv, sizeof(conv), fig.conversion);
                if (fig.median_hours < 0)
                        snprintf(med, sizeof(med), "-");
                else
                        snprintf(med, sizeof(med), "%.1f", fig.median_hours);
                money(coll, sizeof(coll), r->paid_cents);
                money(cost, sizeof(cost), r->cost_cents);
                if (fig.cost_per_euro < 0)
                        snprintf(cpe, sizeof(cpe), "-");
                else
                        snprintf(cpe, sizeof(cpe), "%.4f", fig.cost_per_euro);
                if (fig.has_uplift)
                        snprintf(up, sizeof(up), "%+.1f pp (%+.1f .. %+.1f)", fig.uplift * 100,
                                 fig.ci_low * 100, fig.ci_high * 100);
                else
                        snprintf(up, sizeof(up), "no holdout");
                printf("%-8s %-16s %7lld %9lld %11lld %6lld %7lld %8lld %7s %8s %10s %9s %9s  %s\n",
                       r->channel, r->step, r->sent, r->delivered, r->undelivered, r->failed,
                       r->direct, r->assisted, conv, med, coll, cost, cpe, up);
        }
        for (size_t i = 0; i < s->n_holdout; i++) {
                const struct stats_holdout *h = &s->holdout[i];
                char conv[16];
                pct(conv, sizeof(conv),
                    h->held_out ? (double)h->paid / (double)h->held_out : -1);
                printf("holdout  %-16s %7lld held out, %lld paid anyway (%s)\n", h->step,
                       h->held_out, h->paid, conv);
        }
        printf("payments without a reminder (organic): %lld\n", s->organic);
        if (s->unmatched)
                printf("payments for invoices dunningd does not know (kept): %lld\n",
                       s->unmatched);
        if (s->handover)
                printf("handed over to collection (flows): %lld\n", s->handover);
}

int stats_cmd(const struct config *cfg, int argc, char **argv, bool json)
{
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                { "campaign", required_argument, NULL, 'c' },
                { "segment", required_argument, NULL, 'g' },
                { "since", required_argument, NULL, 's' },
                { "until", required_argument, NULL, 'u' },
                { 0 },
        };
        int64_t now = now_ms();
        struct stats_filter f = { .since_ms = now - (DEFAULT_DAYS - 1) * DAY_MS, .until_ms = now };
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                switch (c) {
                case 'j': json = true; break;
                case 'c': f.campaign = optarg; break;
                case 'g': f.segment = optarg; break;
                case 's':
                        if (stats_parse_since(optarg, &f.since_ms) < 0)
                                return ctl_usage_error("stats", "--since: not a date, RFC 3339 "
                                                                "time or Unix seconds: %s", optarg);
                        break;
                case 'u':
                        if (stats_parse_since(optarg, &f.until_ms) < 0)
                                return ctl_usage_error("stats", "--until: not a date, RFC 3339 "
                                                                "time or Unix seconds: %s", optarg);
                        break;
                default: return ctl_bad_option("stats", c, argv);
                }
        }
        if (optind < argc)
                return ctl_usage_error("stats", "unexpected argument \"%s\"", argv[optind]);
        if (f.until_ms < f.since_ms)
                return ctl_usage_error("stats", "--until is before --since");

        struct queue *q = NULL;
        struct error err;
        if (ctl_open_queue(cfg, &q) < 0)
                return CTL_FAIL;
        struct stats *s = xcalloc(1, sizeof(*s));
        int rc = stats_collect(q, &f, s, &err);
        queue_free(q);
        if (rc < 0) {
                free(s);
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                return CTL_FAIL;
        }
        if (json)
                rc = ctl_print_json(stats_json(s, &f));
        else
                print_stats(s, &f);
        free(s);
        return json ? rc : CTL_OK;
}

/* ---- explain ---- */

/* The UTC date of ms, or "-" for never (0). */
static void date_of(char out[11], int64_t ms)
{
        if (ms <= 0)
                snprintf(out, 11, "-");
        else
                civil_format(civil_today(ms), out);
}

static int best_of(const int64_t *v, int n)
{
        int best = -1;
        for (int i = 0; i < n; i++)
                if (v[i] > 0 && (best < 0 || v[i] > v[best]))
                        best = i;
        return best;
}

/* The customer's disputes and hold, for explain. */
static void hold_text(const struct hold_summary *hs)
{
        char day[16], until[40] = "released";
        date_of(day, hs->flagged_ms);
        printf("disputes %lld", (long long)hs->disputes);
        if (hs->flagged_ms)
                printf(", flagged for a person to look at since %s", day);
        printf("\n");
        if (!hs->held)
                return;
        if (hs->hold.until_ms)
                job_format_time(hs->hold.until_ms, until);
        printf("hold     on hold (%s) until %s%s%s\n", hold_reason_name(hs->hold.reason), until,
               hs->hold.note[0] ? ": " : "", hs->hold.note);
}

static json_t *hold_json(const struct hold_summary *hs)
{
        char day[16], until[40];
        date_of(day, hs->flagged_ms);
        json_t *hold = json_null();
        if (hs->held) {
                if (hs->hold.until_ms)
                        job_format_time(hs->hold.until_ms, until);
                hold = json_pack("{sssoso}", "reason", hold_reason_name(hs->hold.reason),
                                 "until", hs->hold.until_ms ? json_string(until) : json_null(),
                                 "note", ctl_jstr(hs->hold.note));
        }
        return json_pack("{sIsoso}", "count", (json_int_t)hs->disputes, "flagged_since",
                         hs->flagged_ms ? json_string(day) : json_null(), "hold", hold);
}

static json_t *flow_timing_json(const struct explain *e);

json_t *explain_json(const char *id, const struct explain *e)
{
        const struct history *h = &e->h;
        const char *segment = e->segment;
        bool derived = e->derived;
        const struct job *job = e->job;
        const struct policy_decision *d = &e->d;
        const struct hold_summary *hs = &e->holds;
        json_t *root = json_object(), *chans = json_object(), *hours = json_array(),
               *wdays = json_array();
        json_object_set_new(root, "customer", ctl_jstr(id));
        json_object_set_new(root, "segment", ctl_jstr(segment));
        json_object_set_new(root, "segment_derived", json_boolean(derived));
        json_object_set_new(root, "disputes", hold_json(hs));
        for (int c = 0; c < JOB_CHANNEL__N; c++) {
                const struct history_channel *ch = &h->ch[c];
                char last[16], inv[16];
                date_of(last, ch->last_sent_ms);
                date_of(inv, ch->invalid_ms);
                json_object_set_new(chans, job_channel_name((enum job_channel)c),
                                    json_pack("{sIsIsIsIsIssso}", "sent", (json_int_t)ch->sent,
                                              "delivered", (json_int_t)ch->delivered,
                                              "undelivered", (json_int_t)ch->undelivered,
                                              "paid_direct", (json_int_t)ch->direct,
                                              "paid_assisted", (json_int_t)ch->assisted,
                                              "last_sent", last, "invalid_since",
                                              ch->invalid_ms ? json_string(inv) : json_null()));
        }
        json_object_set_new(root, "channels", chans);
        for (int i = 0; i < 24; i++)
                json_array_append_new(hours, json_integer(h->hour[i]));
        for (int i = 0; i < 7; i++)
                json_array_append_new(wdays, json_integer(h->wday[i]));
        json_object_set_new(root, "payments",
                            json_pack("{sIsIsIsoso}", "on_time", (json_int_t)h->on_time, "late",
                                      (json_int_t)h->late, "days_late", (json_int_t)h->days_late,
                                      "by_hour", hours, "by_weekday", wdays));
        if (job) {
                json_t *order = json_array(), *score = json_object();
                for (size_t i = 0; i < d->n; i++)
                        json_array_append_new(order, json_string(job_channel_name(d->order[i])));
                for (int c = 0; c < JOB_CHANNEL__N; c++)
                        json_object_set_new(score, job_channel_name((enum job_channel)c),
                                            json_real(d->score[c]));
                json_object_set_new(root, "policy",
                                    json_pack("{sssosssosb}", "step", job->step, "order", order,
                                              "reason", d->reason, "scores", score, "explored",
                                              d->explored));
        } else {
                json_object_set_new(root, "policy", json_null());
        }
        json_object_update_new(root, flow_timing_json(e));
        return root;
}

/* "YYYY-MM-DD HH:MM UTC" of ms into out. */
static void utc_minute(char out[32], int64_t ms)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        strftime(out, 32, "%Y-%m-%d %H:%M UTC", gmtime_r(&t, &tm));
}

/* explain's flow and timing lines. */
static void flow_timing_text(const struct explain *e)
{
        char at[32];
        if (e->flow[0]) {
                printf("flow     %s", e->flow);
                if (e->next_step[0]) {
                        utc_minute(at, e->next_due_ms);
                        printf(": after %s comes %s, due %s (counted from the last send)",
                               e->job->step, e->next_step, at);
                } else {
                        printf(": %s is its last step", e->job->step);
                }
                printf("\n");
        }
        if (e->best_hour >= 0)
                printf("timing   pays most often at %02d:00 local time\n", e->best_hour);
        if (e->send_at_ms) {
                utc_minute(at, e->send_at_ms);
                printf("timing   %s could go out %s (%s)\n",
                       job_channel_name(e->d.order[0]), at, e->send_at_why);
        }
}

static json_t *flow_timing_json(const struct explain *e)
{
        char at[32], send[32];
        if (e->next_due_ms)
                job_format_time(e->next_due_ms, at);
        if (e->send_at_ms)
                job_format_time(e->send_at_ms, send);
        json_t *flow = e->flow[0] ? json_pack("{ssso so}", "name", e->flow, "next_step",
                                              e->next_step[0] ? json_string(e->next_step)
                                                              : json_null(),
                                              "next_due", e->next_due_ms ? json_string(at)
                                                                         : json_null())
                                  : json_null();
        json_t *timing = json_pack("{so so so}", "best_hour",
                                   e->best_hour >= 0 ? json_integer(e->best_hour) : json_null(),
                                   "send_at", e->send_at_ms ? json_string(send) : json_null(),
                                   "why", e->send_at_ms ? json_string(e->send_at_why)
                                                        : json_null());
        return json_pack("{soso}", "flow", flow, "timing", timing);
}

static void explain_text(const char *id, const struct history *h, const char *segment,
                         bool derived, const struct job *job, const struct policy_decision *d,
                         const struct hold_summary *hs)
{
        static const char *const wday[] = { "Sunday", "Monday", "Tuesday", "Wednesday",
                                            "Thursday", "Friday", "Saturday" };
        printf("customer %s\n", id);
        printf("segment  %s%s\n", segment, derived ? " (derived from payment behaviour)" : "");
        hold_text(hs);
        printf("%-8s %6s %9s %11s %7s %8s %11s  %s\n", "channel", "sent", "delivered",
               "undelivered", "direct", "assisted", "last sent", "contact");
        for (int c = 0; c < JOB_CHANNEL__N; c++) {
                const struct history_channel *ch = &h->ch[c];
                char last[16], inv[40] = "ok";
                date_of(last, ch->last_sent_ms);
                if (ch->invalid_ms) {
                        char day[16];
                        date_of(day, ch->invalid_ms);
                        snprintf(inv, sizeof(inv), "invalid since %s", day);
                }
                printf("%-8s %6lld %9lld %11lld %7lld %8lld %11s  %s\n",
                       job_channel_name((enum job_channel)c), (long long)ch->sent,
                       (long long)ch->delivered, (long long)ch->undelivered,
                       (long long)ch->direct, (long long)ch->assisted, last, inv);
        }
        long long paid = (long long)(h->on_time + h->late);
        printf("payments %lld invoices paid: %lld on time, %lld late", paid,
               (long long)h->on_time, (long long)h->late);
        if (h->late)
                printf(" (%.1f days late on average)", (double)h->days_late / (double)h->late);
        int bh = best_of(h->hour, 24), bw = best_of(h->wday, 7);
        if (bh >= 0)
                printf("; pays most often %02d:00-%02d:00 on %s", bh, (bh + 1) % 24,
                       bw >= 0 ? wday[bw] : "any day");
        printf("\n");
        if (!job) {
                printf("policy   no reminder sent yet: nothing to decide from\n");
                return;
        }
        printf("policy   next %s now:", job->step);
        for (size_t i = 0; i < d->n; i++)
                printf("%s %s", i ? "," : "", job_channel_name(d->order[i]));
        if (d->n == 0)
                printf(" no channel");
        printf("\n  why    %s\n  scores", d->reason);
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                printf(" %s %.3f", job_channel_name((enum job_channel)c), d->score[c]);
        printf("\n");
}

int explain_cmd(const struct config *cfg, int argc, char **argv, bool json)
{
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                { "step", required_argument, NULL, 's' },
                { 0 },
        };
        const char *step = NULL;
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                switch (c) {
                case 'j': json = true; break;
                case 's': step = optarg; break;
                default: return ctl_bad_option("explain", c, argv);
                }
        }
        if (optind != argc - 1)
                return ctl_usage_error("explain", optind == argc ? "which customer?"
                                                                 : "one customer id only");
        const char *id = argv[optind];

        struct queue *q = NULL;
        struct error err;
        struct explain e;
        if (ctl_open_queue(cfg, &q) < 0)
                return CTL_FAIL;
        int rc = explain_load(cfg, q, id, step, now_ms(), &e, &err);
        queue_free(q);
        if (rc == -EINVAL && step)
                return ctl_usage_error("explain", "--step: %s", err.msg);
        if (rc == -ENOENT) {
                fprintf(stderr, "dunningctl explain: no history for customer %s\n", id);
                return CTL_FAIL;
        }
        if (rc < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                return CTL_FAIL;
        }
        if (json)
                rc = ctl_print_json(explain_json(id, &e));
        else {
                explain_text(id, &e.h, e.segment, e.derived, e.job, &e.d, &e.holds);
                flow_timing_text(&e);
        }
        explain_free(&e);
        return json ? rc : CTL_OK;
}

/* What flow and timing say of e's customer (see struct explain). */
static void explain_flow_timing(const struct config *cfg, int64_t now, struct explain *e)
{
        const struct job *job = e->job;
        int64_t last = 0;
        e->best_hour = -1;
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                if (e->h.ch[c].last_sent_ms > last)
                        last = e->h.ch[c].last_sent_ms;
        if (job && flow_step_of(cfg, job->flow ? job->flow : e->segment, job->step, NULL)) {
                const char *flow = job->flow ? job->flow : e->segment;
                const struct config_flow *f = flow_of(cfg, flow);
                snprintf(e->flow, sizeof(e->flow), "%s", f->segment);
                const struct config_flow_step *next =
                        flow_next(cfg, flow, job, last ? last : now, &e->next_due_ms);
                if (next)
                        snprintf(e->next_step, sizeof(e->next_step), "%s", next->step);
                else
                        e->next_due_ms = 0;
        }
        if (!cfg->timing.enabled)
                return;
        e->best_hour = timing_best_hour(&e->h, cfg->timing.min_payments);
        enum job_channel first = job && e->d.n ? e->d.order[0] : JOB_CHANNEL_NONE;
        struct timing_rules r;
        struct error err;
        if ((first != JOB_CHANNEL_EMAIL && first != JOB_CHANNEL_SMS) ||
            timing_rules_from_config(&r, cfg,
                                     first == JOB_CHANNEL_SMS ? cfg->channels.sms.quiet_hours
                                                              : NULL,
                                     &err) < 0)
                return;
        const char *tz = job->customer.timezone;
        if (!tz || !quiet_zone_known(tz))
                tz = cfg->default_timezone;
        enum timing_why why;
        e->send_at_ms = timing_send_at(&r, &e->h, tz, now, &why);
        e->send_at_why = timing_why_name(why);
}

int explain_load(const struct config *cfg, struct queue *q, const char *id, const char *step,
                 int64_t now, struct explain *e, struct error *err)
{
        memset(e, 0, sizeof(*e));
        char key[512];
        history_key(q, key, sizeof(key), "customer", id);
        const char *keys[] = { key };
        struct queue_fields f = { 0 }, sf = { 0 };
        int rc = queue_hashes_get(q, keys, 1, &f, err);
        if (rc < 0 || f.n == 0) {
                queue_fields_free(&f);
                return rc < 0 ? rc : error_set(err, -ENOENT, "no history for customer %s", id);
        }
        struct history seg;
        history_from_fields(&e->h, &f);
        hold_summary_of(&f, now, &e->holds);
        /* The policy is asked about the step given, else the last one,
         * for a job made of what the customer's hash kept of the last. */
        rc = history_profile_job(&f, id, step, &e->h, &e->job, err);
        queue_fields_free(&f);
        if (rc < 0)
                return rc;
        const struct job *job = e->job;
        const char *segment = job ? history_segment_of(job, &e->h, cfg)
                                  : (e->h.segment[0] ? e->h.segment
                                                     : history_derive_segment(&e->h, cfg));
        snprintf(e->segment, sizeof(e->segment), "%s", segment);
        e->derived = !(job && job->customer.segment);
        char skey[512];
        history_key(q, skey, sizeof(skey), "segment", e->segment);
        const char *skeys[] = { skey };
        rc = queue_hashes_get(q, skeys, 1, &sf, err);
        history_from_fields(&seg, &sf);
        queue_fields_free(&sf);
        if (rc < 0) {
                explain_free(e);
                return rc;
        }
        if (job) {
                struct policy_context pc = { .customer = &e->h, .segment = &seg,
                                             .segment_name = e->segment };
                policy_choose(job, &pc, cfg, now, &e->d);
        }
        explain_flow_timing(cfg, now, e);
        return 0;
}

void explain_free(struct explain *e)
{
        job_free(e->job);
        e->job = NULL;
}

int explain_json_text(const struct config *cfg, struct queue *q, const char *id, char **out,
                      struct error *err)
{
        struct explain e;
        *out = NULL;
        int rc = explain_load(cfg, q, id, NULL, now_ms(), &e, err);
        if (rc == -ENOENT)
                return 0;
        if (rc < 0)
                return rc;
        json_t *root = explain_json(id, &e);
        *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(root);
        explain_free(&e);
        return 0;
}
