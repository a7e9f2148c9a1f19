/* worker.c: the batch loop of one worker thread. */
#include "worker.h"

#include <errno.h>
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
#include "dispatch.h"
#include "epcqr.h"
#include "flow.h"
#include "history.h"
#include "hold.h"
#include "job.h"
#include "log.h"
#include "policy.h"
#include "queue.h"
#include "render.h"
#include "retention.h"
#include "sendlimits.h"
#include "timing.h"
#include "unrecorded.h"

/* How long a sent SMS waits for its delivery report. */
#define SMS_REPORT_TTL_S (7 * 86400)

/* The idempotency marker of a flow's handover (<prefix>:sent:<id>:handover),
 * checked with the channels' markers before a job is taken. */
#define HANDOVER_MARKER "handover"
/* With flows, a held-out step is marked too: it schedules the next step,
 * so the same reminder from a second campaign must find it done. */
#define HELD_OUT_MARKER "held_out"

struct worker {
        pthread_t thread;
        bool joined;
        int index;
        char consumer[128];
        struct worker_shared *sh;
        struct snapshot *snap;     /* the snapshot this worker works with */
        struct config *cfg;        /* snap->cfg */
        struct queue *q;
        struct dispatch *d;
        struct queue_batch batch;
        struct history_cache *hc;  /* segment aggregates, re-read now and then */
        bool broken;               /* the connection needs a reconnect */
        bool own_pending;          /* read our own pending entries first */
        int failures;              /* consecutive connection failures */
        struct unrecorded unrec;   /* sent, but the record did not reach Redis */
        bool redo;                 /* w->batch's record failed: process it again */
        int redo_failures;         /* records of w->batch that failed in a row */
};

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t worker_clock_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t worker_clock_ms(void)
{
        return worker_clock_us() / 1000;
}

/* A sign of life for the watchdog (monitor.h). */
static void beat(struct worker *w)
{
        atomic_store_explicit(&w->sh->beat_ms[w->index], worker_clock_ms(), memory_order_relaxed);
}

static uint32_t rnd32(void)
{
        uint32_t r = 0;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
                r = (uint32_t)now_ms();
        return r;
}

/* Sleeps up to ms, in steps, returning early when the daemon stops.
 * Waiting is idling, not being stuck. */
static void nap(struct worker *w, int64_t ms)
{
        int64_t end = now_ms() + ms;
        while (!atomic_load(&w->sh->stopping)) {
                beat(w);
                int64_t left = end - now_ms();
                if (left <= 0)
                        break;
                if (left > 50)
                        left = 50;
                struct timespec ts = { 0, (long)left * 1000000L };
                nanosleep(&ts, NULL);
        }
}

static int connect_queue(struct worker *w)
{
        struct error err;
        int rc;

        if (w->q && !w->broken)
                return 0;
        if (!w->q)
                rc = queue_open_user(&w->q, w->cfg->redis.url, w->cfg->redis.username,
                                     w->cfg->redis.password, w->cfg->redis.prefix, w->consumer,
                                     &err);
        else
                rc = queue_reconnect(w->q, &err);
        if (rc == 0) {
                /* Longer than BLOCK, or hiredis kills the context. */
                queue_set_timeout(w->q, w->cfg->queue.block_ms + 5000);
                rc = queue_ensure_group(w->q, &err);
        }
        if (rc < 0) {
                if (w->failures++ == 0)
                        log_event(LOG_WARNING, "redis unavailable, retrying", "worker",
                                  w->consumer, "error", err.msg, NULL);
                w->broken = true;
                nap(w, backoff_delay_ms(w->failures, 100, 5000, rnd32()));
                return rc;
        }
        if (w->failures > 0) {
                atomic_fetch_add_explicit(&w->sh->metrics.redis_reconnects, 1,
                                          memory_order_relaxed);
                log_event(LOG_INFO, "redis reconnected", "worker", w->consumer, NULL);
        }
        w->failures = 0;
        w->broken = false;
        w->own_pending = true;
        return 0;
}

static void record_dead(struct worker *w, const char *job, const struct job *parsed,
                        const char *reason, const char *error, int attempts, const char *entry)
{
        queue_txn_dead(w->q, job, reason, error, attempts, entry);
        queue_txn_event(w->q, w->cfg->queue.events_maxlen, "dead", "reminder",
                        parsed ? parsed->reminder_id : NULL, "step", parsed ? parsed->step : NULL,
                        "campaign", parsed ? parsed->campaign : NULL, "customer",
                        parsed ? parsed->customer.id : NULL, "reason", reason, "entry", entry, NULL);
        queue_txn_ack(w->q, entry);
        metrics_dead(&w->sh->metrics, reason);
        log_event(LOG_WARNING, "dead-lettered", "entry", entry, "reminder",
                  parsed ? parsed->reminder_id : NULL, "reason", reason, "error", error, NULL);
}

/* In the batch transaction: the customer's history learns of a send
 * (the reference a transfer quotes names the reminder for attribution). */
static void record_history(struct worker *w, const struct job *job,
                           const struct dispatch_result *r, const char *segment,
                           const struct history_ttl *ttl, int64_t now)
{
        const struct config *cfg = w->cfg;
        struct error err;
        char rf[EPCQR_RF_MAX + 1] = "";

        if (!cfg->history.enabled)
                return;
        for (size_t i = 0; i < r->n_failed; i++)
                history_txn_invalid(w->hc, w->q, cfg, job, r->failed[i], segment, now);
        int rc = 0;
        if (r->status == DISPATCH_SENT) {
                if (job->n_invoices == 1 && epcqr_rf_make(rf, job->invoices[0].number, &err) < 0)
                        rf[0] = '\0';
                rc = history_txn_sent(w->hc, w->q, cfg, job, r->channel, segment, rf, ttl, now,
                                      &err);
        } else if (r->status == DISPATCH_HELD_OUT) {
                rc = history_txn_held_out(w->hc, w->q, cfg, job, segment, now, &err);
        } else if (r->status == DISPATCH_HANDOVER) {
                history_txn_handover(w->hc, w->q, cfg, job, segment, now);
        }
        if (rc < 0)
                log_event(LOG_ERR, "history not recorded", "reminder", job->reminder_id, "error",
                          err.msg, NULL);
}

/* Whether job may still wait for the customer's best hour: a first try
 * that is not late. Put off for the hour, it comes back with not_before
 * set to it (see DISPATCH_DEFER), so a backlog that holds it past the
 * hour sends it then, rather than putting it off a day, again and again;
 * a retry or the fallback after an undelivered SMS goes at the first
 * allowed minute too. */
static bool best_hour_may_wait(const struct job *job, int64_t now)
{
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                if (job->skip[c])
                        return false;
        return job->attempt == 0 &&
               (job->not_before_ms <= 0 || now - job->not_before_ms < 3600 * 1000);
}

/* In the batch transaction: the next step of job's flow, if it has one,
 * into the scheduled set. Its time and text follow from the job and the
 * entry alone (not the clock), so a send recorded twice would schedule
 * one job, not two; the sent marker written beside it keeps a
 * redelivered entry from getting this far at all. */
static void schedule_next(struct worker *w, const struct queue_entry *e, const struct job *job,
                          const char *segment)
{
        const struct config *cfg = w->cfg;
        /* This step's own time: when it was due, else when it entered
         * the stream (the entry id's milliseconds). */
        int64_t own = job->not_before_ms > 0 ? job->not_before_ms : strtoll(e->id, NULL, 10);
        int64_t due;
        /* A job with skip_channels is this step again after an SMS that
         * did not arrive: its first send scheduled the next step already
         * (in a new entry, its time would differ). */
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                if (job->skip[ch])
                        return;
        /* The flow a step was scheduled by goes on, whatever segment the
         * customer's payments have moved them to since. */
        const char *flow = job->flow ? job->flow : segment;
        const struct config_flow_step *next = flow_next(cfg, flow, job, own, &due);
        if (!next)
                return;
        char *json = job_json_for_step(job, next->step, due, flow);
        if (!json) {
                log_event(LOG_ERR, "next step not scheduled", "reminder", job->reminder_id,
                          "step", next->step, NULL);
                return;
        }
        const char **numbers = xcalloc(job->n_invoices, sizeof(*numbers));
        for (size_t i = 0; i < job->n_invoices; i++)
                numbers[i] = job->invoices[i].number;
        char reminder[19], until[32];
        job_reminder_id(reminder, next->step, numbers, job->n_invoices);
        free(numbers);
        snprintf(until, sizeof(until), "%lld", (long long)due);
        queue_txn_schedule(w->q, json, due);
        queue_txn_event(w->q, cfg->queue.events_maxlen, "scheduled", "reminder", reminder, "step",
                        next->step, "campaign", job->campaign, "customer", job->customer.id,
                        "segment", segment, "reason", "flow", "after", job->reminder_id,
                        "until_ms", until, NULL);
        free(json);
}

/* The invoices of job, "," between them, into b. */
static void invoice_list(struct buf *b, const struct job *job)
{
        for (size_t i = 0; i < job->n_invoices; i++)
                buf_printf(b, "%s%s", i ? "," : "", job->invoices[i].number);
}

static void record_result(struct worker *w, const struct queue_entry *e, const struct job *job,
                          const struct dispatch_result *r, const char *segment, int64_t open,
                          const struct history_ttl *ttl)
{
        const struct config *cfg = w->cfg;
        struct metrics *m = &w->sh->metrics;
        const char *ch = r->channel >= 0 ? job_channel_name(r->channel) : NULL;
        char dur[32], attempt[16];
        snprintf(dur, sizeof(dur), "%.3f", (double)r->duration_us / 1000.0);

        /* Channels that refused it for good before the outcome below. */
        for (size_t i = 0; i < r->n_failed; i++)
                metrics_failed(m, r->failed[i], METRICS_FAIL_PERMANENT);
        if (r->status != DISPATCH_SKIPPED && r->status != DISPATCH_DEFER &&
            r->status != DISPATCH_HELD_OUT && r->status != DISPATCH_HANDOVER)
                metrics_duration(m, r->channel, r->duration_us);
        record_history(w, job, r, segment, ttl, now_ms());

        switch (r->status) {
        case DISPATCH_SENT:
                queue_txn_sent(w->q, job->reminder_id, ch, cfg->queue.sent_ttl_days * 86400);
                queue_txn_event(w->q, cfg->queue.events_maxlen, "sent", "reminder",
                                job->reminder_id, "channel", ch, "step", job->step, "campaign",
                                job->campaign, "customer", job->customer.id, "reason", r->policy,
                                NULL);
                /* What a delivery report needs to find the reminder and,
                 * when the SMS did not arrive, its job. */
                if (r->channel == JOB_CHANNEL_SMS && r->provider_id[0] &&
                    strcmp(cfg->channels.sms.transport, "http") == 0)
                        queue_txn_sms_sent(w->q, r->provider_id, job->reminder_id, job->json,
                                           segment, SMS_REPORT_TTL_S);
                schedule_next(w, e, job, segment);
                queue_txn_ack(w->q, e->id);
                metrics_sent(m, r->channel, job->step);
                log_event(LOG_INFO, "sent", "reminder", job->reminder_id, "channel", ch, "step",
                          job->step, "to", job_contact(job, r->channel),
                          "outcome", "sent", "duration_ms", dur, "policy", r->policy, NULL);
                break;
        case DISPATCH_SKIPPED: {
                /* Held: parked until the hold ends or is looked at again,
                 * so the flow pauses rather than losing its step. */
                char until[24];
                snprintf(until, sizeof(until), "%lld", (long long)r->defer_until_ms);
                if (r->defer_until_ms > 0)
                        hold_txn_park(w->q, cfg, job, r->defer_until_ms, now_ms());
                queue_txn_event(w->q, cfg->queue.events_maxlen, "skipped", "reminder",
                                job->reminder_id, "channel", ch, "step", job->step, "campaign",
                                job->campaign, "customer", job->customer.id, "reason", r->reason,
                                "until_ms", r->defer_until_ms > 0 ? until : NULL, NULL);
                queue_txn_ack(w->q, e->id);
                /* installment-paid, arrangement-ended: one label */
                metrics_skipped(m, strstr(r->reason, "installment") ||
                                                   strstr(r->reason, "arrangement")
                                           ? "arrangement"
                                           : r->reason);
                log_event(LOG_INFO, "skipped", "reminder", job->reminder_id, "reason", r->reason,
                          NULL);
                break;
        }
        case DISPATCH_HELD_OUT:
                /* Kept from this step on purpose, so the payments with and
                 * without it can be compared (dunningctl stats). */
                queue_txn_event(w->q, cfg->queue.events_maxlen, "held_out", "reminder",
                                job->reminder_id, "step", job->step, "campaign", job->campaign,
                                "customer", job->customer.id, "segment", segment, "reason",
                                r->reason, NULL);
                /* Held out of this step, not of the flow: the next step
                 * still comes, so its effect is measured alone. */
                if (cfg->n_flows)
                        queue_txn_sent(w->q, job->reminder_id, HELD_OUT_MARKER,
                                       cfg->queue.sent_ttl_days * 86400);
                schedule_next(w, e, job, segment);
                queue_txn_ack(w->q, e->id);
                metrics_skipped(m, "held-out");
                log_event(LOG_INFO, "held out", "reminder", job->reminder_id, "step", job->step,
                          "reason", r->reason, NULL);
                break;
        case DISPATCH_HANDOVER: {
                /* The end of the flow: the collection agency takes over.
                 * The marker makes it once per reminder, like a send. */
                struct buf inv = BUF_INIT;
                char amount[24];
                invoice_list(&inv, job);
                snprintf(amount, sizeof(amount), "%lld", (long long)open);
                queue_txn_sent(w->q, job->reminder_id, HANDOVER_MARKER,
                               cfg->queue.sent_ttl_days * 86400);
                queue_txn_event(w->q, cfg->queue.events_maxlen, "handover", "reminder",
                                job->reminder_id, "step", job->step, "campaign", job->campaign,
                                "customer", job->customer.id, "segment", segment, "invoices",
                                buf_str(&inv), "amount_open_cents", amount, "currency",
                                job->invoices[0].currency, "reason", r->reason, NULL);
                queue_txn_ack(w->q, e->id);
                metrics_skipped(m, "handover");
                log_event(LOG_INFO, "handed over", "reminder", job->reminder_id, "step",
                          job->step, "amount_open_cents", amount, NULL);
                buf_free(&inv);
                break;
        }
        case DISPATCH_RETRY: {
                int next = job->attempt + 1;
                metrics_failed(m, r->channel, METRICS_FAIL_TEMPORARY);
                if (next >= cfg->queue.max_attempts) {
                        record_dead(w, job->json, job, "attempts-exhausted", r->reason, next, e->id);
                        break;
                }
                int64_t delay = backoff_delay_ms(next, cfg->queue.retry_base_ms,
                                                 cfg->queue.retry_max_ms, rnd32());
                /* A provider that said when to come back is believed. */
                if (r->retry_after_ms > delay)
                        delay = r->retry_after_ms;
                char *again = job_json_with_attempt(job, next);
                queue_txn_schedule(w->q, again ? again : job->json, now_ms() + delay);
                free(again);
                snprintf(attempt, sizeof(attempt), "%d", next);
                queue_txn_event(w->q, cfg->queue.events_maxlen, "failed", "reminder",
                                job->reminder_id, "channel", ch, "step", job->step, "campaign",
                                job->campaign, "customer", job->customer.id, "reason", "temporary",
                                "error", r->reason, "attempt", attempt, NULL);
                queue_txn_ack(w->q, e->id);
                char delay_s[32];
                snprintf(delay_s, sizeof(delay_s), "%.1f", (double)delay / 1000.0);
                log_event(LOG_WARNING, "send failed, retrying", "reminder", job->reminder_id,
                          "channel", ch, "outcome", "temporary", "attempt", attempt, "retry_in_s",
                          delay_s, "error", r->reason, NULL);
                break;
        }
        case DISPATCH_DEFER: {
                /* Not an attempt: the same job again when the window ends;
                 * put off for the best hour, it says so in not_before. */
                char until[32];
                snprintf(until, sizeof(until), "%lld", (long long)r->defer_until_ms);
                char *timed = strcmp(r->reason, timing_why_name(TIMING_BEST_HOUR)) == 0
                                      ? job_json_later(job, r->defer_until_ms)
                                      : NULL;
                queue_txn_schedule(w->q, timed ? timed : r->defer_job ? r->defer_job : job->json,
                                   r->defer_until_ms);
                free(timed);
                queue_txn_event(w->q, cfg->queue.events_maxlen, "deferred", "reminder",
                                job->reminder_id, "channel", ch, "step", job->step, "campaign",
                                job->campaign, "customer", job->customer.id, "reason", r->reason,
                                "until_ms", until, NULL);
                queue_txn_ack(w->q, e->id);
                metrics_deferred(m, r->reason);
                log_event(LOG_INFO, "deferred", "reminder", job->reminder_id, "channel", ch,
                          "reason", r->reason, "until_ms", until, NULL);
                break;
        }
        case DISPATCH_DEAD:
                /* No channel could be tried, or the template failed. */
                if (r->n_failed == 0)
                        metrics_failed(m, r->channel, METRICS_FAIL_PERMANENT);
                record_dead(w, job->json, job, r->reason, r->error[0] ? r->error : r->reason,
                            job->attempt + 1, e->id);
                break;
        }
}

/* Stored pay links lasts a day beyond the link, for late webhooks. */
static int paylink_ttl_s(const struct queue_paylink *l, int64_t now)
{
        int64_t s = (l->expires_ms - now) / 1000 + 86400;
        return s < 86400 ? 86400 : s > INT32_MAX ? INT32_MAX : (int)s;
}

/* The pay link of every job about to be sent (go[k] not NULL): the one an
 * earlier attempt stored (one round trip for the batch), else made now.
 * A job whose link the provider could not make now is taken out of the
 * e-mail batch (go[k] = NULL) and retried; a link refused for good leaves
 * the message without one. */
static int get_paylinks(struct worker *w, struct job **go, size_t n, int64_t now,
                        struct dispatch_link *links, struct dispatch_pre *pre, struct error *err)
{
        const char **ids = xcalloc(n, sizeof(*ids));
        struct queue_paylink *stored = xcalloc(n, sizeof(*stored));
        size_t m = 0;
        for (size_t k = 0; k < n; k++)
                if (go[k])
                        ids[m++] = go[k]->reminder_id;
        int rc = m ? queue_paylinks_get(w->q, ids, m, stored, err) : 0;
        for (size_t k = 0, j = 0; rc == 0 && k < n; k++) {
                if (!go[k])
                        continue;
                links[k].link = stored[j++];
                dispatch_paylink(w->d, go[k], now, &links[k]);
                if (links[k].outcome == CHANNEL_TEMPFAIL) {
                        go[k] = NULL;
                } else if (links[k].outcome == CHANNEL_PERMFAIL) {
                        log_event(LOG_WARNING, "no pay link for this reminder", "reminder",
                                  go[k]->reminder_id, "error", links[k].reason, NULL);
                }
                pre[k].pay_link = links[k].link.url[0] ? links[k].link.url : NULL;
        }
        free(ids);
        free(stored);
        return rc;
}

/* Whether the job went out in one of the batch sends (SMTP, SMS). */
static bool sent_in_batch(const struct dispatch_pre *pre)
{
        return pre->used && pre->result.outcome == CHANNEL_SENT;
}

static void leases_drop(struct worker *w);

/* Registers the GO leases of a batch about to be sent (main renews them),
 * in place of this worker's earlier ones (a redo takes them again). */
static void leases_hold(struct worker *w, const char **ids, const enum queue_take *take, size_t n)
{
        struct worker_shared *sh = w->sh;
        leases_drop(w);
        pthread_mutex_lock(&sh->lease_lock);
        for (size_t k = 0; k < n; k++) {
                if (take[k] != QUEUE_TAKE_GO)
                        continue;
                if (sh->n_leases == sh->cap_leases) {
                        sh->cap_leases = sh->cap_leases ? 2 * sh->cap_leases : 256;
                        sh->leases = xrealloc(sh->leases, sh->cap_leases * sizeof(*sh->leases));
                }
                struct worker_lease *l = &sh->leases[sh->n_leases++];
                snprintf(l->id, sizeof(l->id), "%s", ids[k]);
                snprintf(l->owner, sizeof(l->owner), "%s", w->consumer);
        }
        pthread_mutex_unlock(&sh->lease_lock);
}

/* Forgets this worker's leases: its batch is recorded (or given up). */
static void leases_drop(struct worker *w)
{
        struct worker_shared *sh = w->sh;
        pthread_mutex_lock(&sh->lease_lock);
        size_t kept = 0;
        for (size_t i = 0; i < sh->n_leases; i++)
                if (strcmp(sh->leases[i].owner, w->consumer) != 0)
                        sh->leases[kept++] = sh->leases[i];
        sh->n_leases = kept;
        pthread_mutex_unlock(&sh->lease_lock);
}

size_t worker_leases_copy(struct worker_shared *sh, struct worker_lease **out)
{
        pthread_mutex_lock(&sh->lease_lock);
        size_t n = sh->n_leases;
        *out = n ? xmalloc(n * sizeof(**out)) : NULL;
        if (n)
                memcpy(*out, sh->leases, n * sizeof(**out));
        pthread_mutex_unlock(&sh->lease_lock);
        return n;
}

/* The sending leases of a batch being sent. */
struct renewal {
        struct worker *w;
        const char **ids;          /* reminder ids, one per valid job */
        enum queue_take *take;     /* GO becomes BUSY when a lease is lost */
        bool *done;                /* sent (or given up) already */
        size_t n;
        int64_t lease;             /* ms */
        int64_t t0;                /* worker_clock_ms() of the last take or renewal */
};

/* Renews the leases of the jobs still to be sent once a third of the lease
 * has passed (one round trip). A lease found lost makes its job BUSY. A
 * Redis error only logs: the batch goes on, its record will fail too. */
static void renew(struct renewal *rn, struct job **go)
{
        int64_t now = worker_clock_ms();
        struct error err;

        if (now - rn->t0 < rn->lease / 3)
                return;
        const char **ids = xcalloc(rn->n, sizeof(*ids));
        size_t *which = xcalloc(rn->n, sizeof(*which));
        bool *held = xcalloc(rn->n, sizeof(*held));
        size_t m = 0;
        for (size_t k = 0; k < rn->n; k++)
                if (rn->take[k] == QUEUE_TAKE_GO && !rn->done[k]) {
                        which[m] = k;
                        ids[m++] = rn->ids[k];
                }
        if (queue_renew_leases(rn->w->q, ids, NULL, m, rn->lease, held, &err) == 0) {
                rn->t0 = now;
                for (size_t j = 0; j < m; j++)
                        if (!held[j]) {
                                rn->take[which[j]] = QUEUE_TAKE_BUSY;
                                go[which[j]] = NULL;
                                log_event(LOG_WARNING, "sending lease lost, leaving it to its "
                                                       "new owner", "reminder", ids[j], NULL);
                        }
        } else {
                log_event(LOG_WARNING, "cannot renew sending leases", "worker",
                          rn->w->consumer, "error", err.msg, NULL);
        }
        free(ids);
        free(which);
        free(held);
}

/* A provider took a message (dispatch_on_accepted): its sent marker goes
 * to Redis at once, so a crash before the batch is recorded leaves the
 * reminder marked sent (skipped as already-sent by whoever takes the entry
 * over) rather than sent a second time. */
static void on_accepted(void *arg, enum job_channel ch, const char *reminder_id)
{
        struct worker *w = arg;
        queue_sent_now(w->q, reminder_id, job_channel_name(ch),
                       w->cfg->queue.sent_ttl_days * 86400);
}

/* Reads the replies of on_accepted's markers: after every send, before the
 * next command. A failure is the batch record's to find. */
static void sent_now_collect(struct worker *w)
{
        struct error err;
        if (queue_sent_now_collect(w->q, &err) < 0)
                log_event(LOG_WARNING, "sent marker not written at once", "worker", w->consumer,
                          "error", err.msg, NULL);
}

/* The key naming the first entry of this worker's last recorded batch. */
static void record_key(struct worker *w, char *out, size_t n)
{
        char name[160];
        snprintf(name, sizeof(name), "recorded:%s", w->consumer);
        queue_key(w->q, out, n, name);
}

/* In the batch's transaction: which batch it records, so that a redo after
 * a connection lost once EXEC was sent can tell whether it ran. */
static void record_mark(struct worker *w)
{
        char key[512];
        record_key(w, key, sizeof(key));
        const char *argv[] = { "SET", key, w->batch.entries[0].id, "EX", "86400" };
        queue_txn_argv(w->q, 5, argv);
}

static void process_batch(struct worker *w);

/* Processes w->batch again after its record failed, unless the record did
 * reach Redis (the reply was what got lost): recording twice would count
 * its sends twice in the events and the history. */
static void redo_batch(struct worker *w)
{
        char key[512], *last = NULL;
        struct error err;
        record_key(w, key, sizeof(key));
        int rc = queue_get(w->q, key, &last, &err);
        if (rc < 0 && rc != -ENOENT) {
                log_event(LOG_WARNING, "redis error", "worker", w->consumer, "error", err.msg,
                          NULL);
                /* Counted as a failed redo: the same bound holds. */
                w->redo = w->redo_failures++ < w->cfg->queue.max_deliveries;
                if (!w->redo) {
                        leases_drop(w);
                        w->redo_failures = 0;
                }
                if (rc == -EIO)
                        w->broken = true;
                else
                        nap(w, 1000);
                return;
        }
        bool done = rc == 0 && strcmp(last, w->batch.entries[0].id) == 0;
        free(last);
        if (!done) {
                process_batch(w);
                return;
        }
        log_event(LOG_INFO, "batch was recorded after all, not redone", "worker", w->consumer,
                  NULL);
        leases_drop(w);
        unrecorded_free(&w->unrec);
        w->redo_failures = 0;
}

static void process_batch(struct worker *w)
{
        size_t n = w->batch.n;
        struct job **jobs = xcalloc(n, sizeof(*jobs));
        char **invalid = xcalloc(n, sizeof(*invalid));   /* why entry i is dead */
        const char **ids = xcalloc(n, sizeof(*ids));
        size_t *idx = xcalloc(n, sizeof(*idx));
        enum queue_take *take = xcalloc(n, sizeof(*take));
        const char *chans[JOB_CHANNEL__N + 2];
        size_t nv = 0;
        struct error err;

        history_tally_reset(w->hc);
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                chans[c] = job_channel_name((enum job_channel)c);
        chans[JOB_CHANNEL__N] = HANDOVER_MARKER;
        chans[JOB_CHANNEL__N + 1] = HELD_OUT_MARKER;

        /* 1. Parse: nothing is written yet. */
        for (size_t i = 0; i < n; i++) {
                struct queue_entry *e = &w->batch.entries[i];
                if (e->deliveries > w->cfg->queue.max_deliveries)
                        continue;
                if (!e->job)
                        invalid[i] = xstrdup("job: stream entry has no job field");
                else if (job_parse(&jobs[i], e->job, strlen(e->job), &err) < 0)
                        invalid[i] = xstrdup(err.msg);
                else {
                        idx[nv] = i;
                        ids[nv++] = jobs[i]->reminder_id;
                }
        }

        /* 2. Which reminders went out before, and a sending lease on the
         * others (one round trip). The lease outlives a take-over by
         * XAUTOCLAIM, so a slow worker and the one that took its entries
         * never both send. */
        int64_t lease = 2 * (int64_t)w->cfg->queue.claim_idle_ms;
        /* The handover and held-out markers only where flows can hand
         * over and schedule: an EXISTS per job is a tenth of what Redis
         * does for the rest of it. */
        size_t nch = JOB_CHANNEL__N + (w->cfg->n_flows ? 2 : 0);
        /* What is known of each customer, and whether the invoices were
         * paid meanwhile, read in the same round trip, right after the
         * leases are taken: a payer is never reminded, a customer in the
         * step's holdout is left out on purpose, and the rest get the
         * channel their history says works. */
        bool history = nv && w->cfg->history.enabled;
        struct job **parsed = xcalloc(nv ? nv : 1, sizeof(*parsed));
        struct history *hist = xcalloc(nv ? nv : 1, sizeof(*hist));
        bool *paid = xcalloc(nv ? nv : 1, sizeof(*paid));
        int64_t *open = xcalloc(nv ? nv : 1, sizeof(*open));
        struct history_ttl *ttl = xcalloc(nv ? nv : 1, sizeof(*ttl));
        struct hold_state *holds = xcalloc(nv ? nv : 1, sizeof(*holds));
        /* What is owed: with history, what the invoices' hashes say is
         * still open (history_fetch_reply); without, the job's amounts. */
        for (size_t k = 0; k < nv; k++) {
                parsed[k] = jobs[idx[k]];
                for (size_t j = 0; !history && j < parsed[k]->n_invoices; j++)
                        open[k] += parsed[k]->invoices[j].amount_cents;
        }
        int64_t now = now_ms();
        int rc = 0;
        if (nv) {
                queue_take_reminders_send(w->q, ids, nv, chans, nch, lease);
                if (history)
                        history_fetch_send(w->q, parsed, nv);
                rc = queue_take_reminders_reply(w->q, nv, take, &err);
                if (history && rc != -EIO) {
                        struct error ferr;
                        int frc = history_fetch_reply(w->hc, w->q, w->cfg, parsed, nv, now, hist,
                                                      paid, open, ttl, holds, &ferr);
                        if (rc == 0 && frc < 0) {
                                rc = frc;
                                err = ferr;
                        }
                }
        }
        free(parsed);
        if (rc < 0) {
                free(hist);
                free(paid);
                free(open);
                free(ttl);
                free(holds);
                goto fail;
        }
        /* One reminder twice in a batch (two campaigns naming the same
         * invoices, or a dead letter retried beside its original): the
         * lease is ours for both, so the later ones are skipped here. */
        for (size_t k = 1; k < nv; k++)
                for (size_t j = 0; j < k && take[k] == QUEUE_TAKE_GO; j++)
                        if (take[j] == QUEUE_TAKE_GO && strcmp(ids[j], ids[k]) == 0)
                                take[k] = QUEUE_TAKE_SENT;

        /* 3. Send. Nothing is recorded yet, so the leases can be renewed
         * between sends: a batch that takes longer than a lease (slow
         * letters, a slow SMTP server) keeps its reminders, and a worker
         * that took our entries over finds them busy, not free. */
        struct renewal rn = { .w = w, .ids = ids, .take = take, .n = nv, .lease = lease,
                              .t0 = worker_clock_ms() };
        leases_hold(w, ids, take, nv);
        struct job **go = xcalloc(nv ? nv : 1, sizeof(*go));
        struct dispatch_pre *pre = xcalloc(nv ? nv : 1, sizeof(*pre));
        struct dispatch_result *res = xcalloc(nv ? nv : 1, sizeof(*res));
        rn.done = xcalloc(nv ? nv : 1, sizeof(*rn.done));
        /* A redo after a record that failed: what went out then is
         * recorded now, not sent again. */
        bool *known = xcalloc(nv ? nv : 1, sizeof(*known));
        for (size_t k = 0; k < nv; k++) {
                const struct dispatch_result *was = NULL;
                /* (SENT too: its marker went out the moment it was sent.) */
                if (take[k] != QUEUE_TAKE_BUSY)
                        was = unrecorded_find(&w->unrec, ids[k]);
                if (was) {
                        res[k] = *was;
                        known[k] = true;
                }
                go[k] = take[k] == QUEUE_TAKE_GO && !was ? jobs[idx[k]] : NULL;
        }

        struct policy_decision *dec = xcalloc(nv ? nv : 1, sizeof(*dec));
        const char **segs = xcalloc(nv ? nv : 1, sizeof(*segs));
        enum dispatch_status *stop = xcalloc(nv ? nv : 1, sizeof(*stop));
        const char **skip_why = xcalloc(nv ? nv : 1, sizeof(*skip_why));
        int64_t *resume = xcalloc(nv ? nv : 1, sizeof(*resume));
        int64_t *defer = xcalloc(nv ? nv : 1, sizeof(*defer));
        enum timing_why *defer_why = xcalloc(nv ? nv : 1, sizeof(*defer_why));
        struct dispatch_link *links = NULL;
        struct sendlimits_hold *limited = xcalloc(nv ? nv : 1, sizeof(*limited));
        const struct timing_rules *timing = w->snap->timing;
        bool timed = w->snap->timed;
        for (size_t k = 0; k < nv; k++) {
                const struct job *job = jobs[idx[k]];
                segs[k] = history_segment_of(job, &hist[k], w->cfg);
                if (!go[k])
                        continue;
                const struct config_flow_step *st =
                        flow_step_of(w->cfg, job->flow ? job->flow : segs[k], job->step, NULL);
                if (paid[k]) {
                        stop[k] = DISPATCH_SKIPPED;
                        go[k] = NULL;
                } else if ((skip_why[k] = hold_gate(job, &holds[k], now,
                                                    w->cfg->holds.recheck_hours * 3600000LL,
                                                    &resume[k]))) {
                        stop[k] = DISPATCH_SKIPPED;
                        go[k] = NULL;
                } else if (st && st->handover) {
                        stop[k] = DISPATCH_HANDOVER;
                        go[k] = NULL;
                } else if (policy_held_out(job->customer.id, job->campaign, job->step,
                                           job->holdout)) {
                        stop[k] = DISPATCH_HELD_OUT;
                        go[k] = NULL;
                } else {
                        struct policy_context pc = {
                                .customer = &hist[k],
                                .segment = history_cache_segment(w->hc, segs[k]),
                                .segment_name = segs[k],
                        };
                        policy_choose(job, &pc, w->cfg, now, &dec[k]);
                        pre[k].decision = &dec[k];
                        /* E-mail and SMS wait for the customer's best hour
                         * and the send window, as SMS waits for the end of
                         * the quiet hours; letters go when they go. */
                        enum job_channel first = dec[k].n ? dec[k].order[0] : JOB_CHANNEL_NONE;
                        if (timed && (first == JOB_CHANNEL_EMAIL || first == JOB_CHANNEL_SMS)) {
                                const char *tz = job->customer.timezone;
                                if (!tz || !quiet_zone_known(tz))
                                        tz = w->cfg->default_timezone;
                                defer[k] = timing_send_at(&timing[first],
                                                          best_hour_may_wait(job, now)
                                                                  ? &hist[k] : NULL,
                                                          tz, now, &defer_why[k]);
                                if (defer[k] > now) {
                                        stop[k] = DISPATCH_DEFER;
                                        go[k] = NULL;
                                }
                        }
                }
        }
        /* Contact limits per customer, then the providers' rate limits
         * (one script call for the batch): a job over either waits. */
        if (nv && (rc = sendlimits_apply(w->q, w->cfg, go, dec,
                                         w->cfg->history.enabled ? hist : NULL, nv, now, limited,
                                         &err)) < 0)
                goto unsent;
        for (size_t k = 0; k < nv; k++) {
                if (!limited[k].until_ms)
                        continue;
                stop[k] = DISPATCH_DEFER;
                defer[k] = limited[k].until_ms;
                go[k] = NULL;
                metrics_throttled(&w->sh->metrics, limited[k].channel, limited[k].until_ms - now);
        }
        if (nv && dispatch_paylinks_enabled(w->d)) {
                links = xcalloc(nv, sizeof(*links));
                if ((rc = get_paylinks(w, go, nv, now, links, pre, &err)) < 0)
                        goto unsent;
                renew(&rn, go);
        }
        /* The e-mails of the batch in one SMTP session, its SMS several
         * at a time; the rest is sent job by job below. */
        dispatch_batch(w->d, JOB_CHANNEL_EMAIL, go, nv, now, pre);
        sent_now_collect(w);
        renew(&rn, go);
        dispatch_batch(w->d, JOB_CHANNEL_SMS, go, nv, now, pre);
        sent_now_collect(w);
        renew(&rn, go);
        beat(w);
        for (size_t k = 0; k < nv; k++) {
                size_t i = idx[k];
                if (known[k]) {
                        rn.done[k] = true;
                        continue;
                }
                res[k] = (struct dispatch_result){ .channel = JOB_CHANNEL_NONE };
                if (take[k] == QUEUE_TAKE_SENT) {
                        res[k].status = DISPATCH_SKIPPED;
                        snprintf(res[k].reason, sizeof(res[k].reason), "already-sent");
                } else if (stop[k] == DISPATCH_SKIPPED) {
                        res[k].status = DISPATCH_SKIPPED;
                        snprintf(res[k].reason, sizeof(res[k].reason), "%s",
                                 skip_why[k] ? skip_why[k] : "paid");
                        if (skip_why[k] && strcmp(skip_why[k], "held") == 0)
                                res[k].defer_until_ms = resume[k];
                } else if (stop[k] == DISPATCH_HANDOVER) {
                        res[k].status = DISPATCH_HANDOVER;
                        snprintf(res[k].reason, sizeof(res[k].reason), "flow");
                } else if (stop[k] == DISPATCH_DEFER) {
                        res[k].status = DISPATCH_DEFER;
                        res[k].channel = dec[k].order[0];
                        res[k].defer_until_ms = defer[k];
                        snprintf(res[k].policy, sizeof(res[k].policy), "%s", dec[k].reason);
                        snprintf(res[k].reason, sizeof(res[k].reason), "%s",
                                 limited[k].reason ? limited[k].reason
                                                   : timing_why_name(defer_why[k]));
                        res[k].defer_job = limited[k].json;
                } else if (stop[k] == DISPATCH_HELD_OUT) {
                        res[k].status = DISPATCH_HELD_OUT;
                        snprintf(res[k].reason, sizeof(res[k].reason), "holdout %.3g",
                                 jobs[i]->holdout);
                } else if (take[k] == QUEUE_TAKE_GO && links &&
                           links[k].outcome == CHANNEL_TEMPFAIL) {
                        /* The provider will make the link later: so will we. */
                        res[k].status = DISPATCH_RETRY;
                        res[k].retry_after_ms = links[k].retry_after_ms;
                        snprintf(res[k].reason, sizeof(res[k].reason), "paylink: %s",
                                 links[k].reason);
                } else if (take[k] == QUEUE_TAKE_GO || sent_in_batch(&pre[k])) {
                        if (take[k] == QUEUE_TAKE_GO)
                                renew(&rn, go);
                        /* A lease lost (it expired and another worker has
                         * it) leaves the job to that worker, unless this
                         * one sent it already in a batch above: then that
                         * is recorded here (and no other channel tried). */
                        if (take[k] == QUEUE_TAKE_GO || sent_in_batch(&pre[k])) {
                                dispatch_job(w->d, jobs[i], &pre[k], now, &res[k]);
                                sent_now_collect(w);
                        }
                }
                rn.done[k] = true;
                beat(w);
        }
        dispatch_flush(w->d);
        if (nv && sendlimits_count_fallbacks(w->q, w->cfg, limited, res, nv, &err) < 0)
                log_event(LOG_WARNING, "fallback sends not counted on their rate limit",
                          "worker", w->consumer, "error", err.msg, NULL);

        /* 4. Record every outcome in one transaction. What is recorded
         * of an entry without a lease of ours (dead on arrival, taken
         * over while busy elsewhere, sent already) is guarded: written
         * only if the entry is still there, not after a forget deleted
         * it (forget waits for leases only; queue.h). */
        for (size_t i = 0; i < n; i++) {
                struct queue_entry *e = &w->batch.entries[i];
                char dmsg[64];
                if (e->deliveries > w->cfg->queue.max_deliveries) {
                        snprintf(dmsg, sizeof(dmsg), "delivered %lld times without an outcome",
                                 e->deliveries);
                        queue_txn_guard_begin(w->q, e->id);
                        record_dead(w, e->job, NULL, "max-deliveries", dmsg, (int)e->deliveries,
                                    e->id);
                        queue_txn_guard_end(w->q);
                } else if (invalid[i]) {
                        metrics_failed(&w->sh->metrics, JOB_CHANNEL_NONE, METRICS_FAIL_INVALID);
                        queue_txn_guard_begin(w->q, e->id);
                        record_dead(w, e->job, NULL, "invalid", invalid[i], 0, e->id);
                        queue_txn_guard_end(w->q);
                }
        }
        for (size_t k = 0; k < nv; k++) {
                size_t i = idx[k];
                if (take[k] == QUEUE_TAKE_BUSY && !sent_in_batch(&pre[k])) {
                        /* Another worker is sending it (we took its entry
                         * over while it was slow). Look again once its
                         * lease is over: the job goes back to the scheduled
                         * set, not counted as an attempt, and will find the
                         * marker or, if that worker died, the lease gone. */
                        queue_txn_guard_begin(w->q, w->batch.entries[i].id);
                        queue_txn_schedule(w->q, jobs[i]->json, now + lease);
                        queue_txn_ack(w->q, w->batch.entries[i].id);
                        queue_txn_guard_end(w->q);
                        log_event(LOG_DEBUG, "busy elsewhere, looking again later", "reminder",
                                  jobs[i]->reminder_id, "entry", w->batch.entries[i].id, NULL);
                        continue;
                }
                /* Only a lease still ours is given back: one lost while
                 * sending belongs to another worker now. */
                if (take[k] == QUEUE_TAKE_GO)
                        queue_txn_release(w->q, jobs[i]->reminder_id);
                if (links && links[k].made)
                        queue_txn_paylink(w->q, jobs[i]->reminder_id, &links[k].link,
                                          paylink_ttl_s(&links[k].link, now));
                if (res[k].status == DISPATCH_SENT)
                        sendlimits_txn_sent(w->q, w->cfg, jobs[i], &hist[k], &limited[k]);
                /* (A skip as already sent parks nothing: no script.) */
                bool guard = take[k] == QUEUE_TAKE_SENT && res[k].status == DISPATCH_SKIPPED;
                if (guard)
                        queue_txn_guard_begin(w->q, w->batch.entries[i].id);
                record_result(w, &w->batch.entries[i], jobs[i], &res[k], segs[k], open[k],
                              &ttl[k]);
                if (guard)
                        queue_txn_guard_end(w->q);
                /* From here on: sent, and in this batch's record. */
                known[k] = res[k].status == DISPATCH_SENT;
        }
unsent:
        sendlimits_holds_free(limited, nv);
        free(limited);
        free(hist);
        free(paid);
        free(dec);
        free(segs);
        free(stop);
        free(open);
        free(ttl);
        free(holds);
        free(skip_why);
        free(resume);
        free(defer);
        free(defer_why);
        free(go);
        free(pre);
        free(links);
        free(rn.done);
        if (rc < 0) {
                free(res);
                free(known);
                goto fail;
        }

        if (w->cfg->history.enabled)
                history_txn_flush(w->hc, w->q, w->cfg);
        record_mark(w);
        rc = queue_txn_commit(w->q, &err);
        /* The sends of a record that failed are remembered for the redo
         * (only then: nothing is copied on the way that succeeds). */
        if (rc == 0) {
                leases_drop(w);
                unrecorded_free(&w->unrec);
                w->redo_failures = 0;
        }
        for (size_t k = 0; rc < 0 && k < nv; k++)
                if (known[k])
                        unrecorded_add(&w->unrec, ids[k], &res[k]);
        free(res);
        free(known);
        if (rc < 0)
                goto fail;
        goto out;
fail:
        /* Nothing of this batch is known to be recorded (a connection lost
         * after EXEC went out may have recorded it: redo_batch reads the
         * mark record_mark put in the transaction).
         * When some of it went out, the same batch is processed again right
         * after the reconnect, before anything new is read, with its leases
         * still renewed: its entries may meanwhile have been taken over by
         * another instance (idle past claim_idle_ms), which found them busy,
         * acked them and will look again when the lease ends; by then the
         * redo has recorded the sends and it finds them sent. A batch is
         * redone at most max_deliveries times (a redo runs only once the
         * link is back, so an outage does not use them up); then its
         * entries come back through XAUTOCLAIM like any others, and a
         * poisoned one goes dead. */
        queue_txn_discard(w->q);
        w->redo = w->unrec.n > 0 && w->redo_failures++ < w->cfg->queue.max_deliveries;
        if (!w->redo) {
                leases_drop(w);
                w->redo_failures = 0;
        }
        log_event(LOG_ERR, w->redo ? "batch not recorded, will redo" : "batch not recorded",
                  "worker", w->consumer, "error", err.msg, NULL);
        if (rc == -EIO)
                w->broken = true;
        else
                nap(w, 1000);
out:
        for (size_t i = 0; i < n; i++) {
                job_free(jobs[i]);
                free(invalid[i]);
        }
        free(jobs);
        free(invalid);
        free(ids);
        free(idx);
        free(take);
}

static int housekeep(struct worker *w, struct error *err)
{
        long long trimmed;
        int removed;
        int rc = queue_housekeep(w->q, w->cfg->queue.consumer_expire_ms, &trimmed, &removed, err);
        if (rc == 0)
                rc = retention_trim(w->q, w->cfg, now_ms(), err);
        if (rc == 0 && (trimmed > 0 || removed > 0)) {
                char t[24], r[16];
                snprintf(t, sizeof(t), "%lld", trimmed);
                snprintf(r, sizeof(r), "%d", removed);
                log_event(LOG_DEBUG, "housekeeping", "trimmed", t, "consumers_removed", r, NULL);
        }
        return rc;
}

/* Payment arrangements whose installment lapsed or that are paid end
 * here (arrangements.h); safe from every instance. */
static int sweep_arrangements(struct worker *w, int64_t now, struct error *err)
{
        int ended = 0;
        int rc = arrangements_sweep(w->q, w->cfg, now, &ended, err);
        if (rc == 0 && ended > 0) {
                char n[16];
                snprintf(n, sizeof(n), "%d", ended);
                log_event(LOG_INFO, "arrangements ended", "count", n, NULL);
        }
        return rc;
}

int snapshot_new(struct snapshot **out, struct config *cfg, struct error *err)
{
        struct render *r = NULL;
        int rc = render_load(&r, cfg->templates, cfg->default_locale, err);
        if (rc < 0)
                return rc;
        struct snapshot *s = xcalloc(1, sizeof(*s));
        s->cfg = cfg;
        s->render = r;
        s->timed = cfg->timing.enabled;
        if (s->timed &&
            ((rc = timing_rules_from_config(&s->timing[JOB_CHANNEL_EMAIL], cfg, NULL, err)) < 0 ||
             (rc = timing_rules_from_config(&s->timing[JOB_CHANNEL_SMS], cfg,
                                            cfg->channels.sms.quiet_hours, err)) < 0)) {
                render_free(r);
                free(s);
                return rc;
        }
        *out = s;
        return 0;
}

void snapshot_free(struct snapshot *s)
{
        if (!s)
                return;
        render_free(s->render);
        config_free(s->cfg);
        free(s);
}

/* Picks up a new config snapshot; returns 0 when a dispatch is ready. */
static int refresh_config(struct worker *w)
{
        struct snapshot *snap = atomic_load(&w->sh->snap);
        struct error err;

        if (snap == w->snap && w->d)
                return 0;
        dispatch_free(w->d);
        w->d = NULL;
        w->snap = snap;
        w->cfg = snap->cfg;
        if (dispatch_new(&w->d, snap->cfg, snap->render, &err) < 0) {
                log_event(LOG_ERR, "cannot open channels", "worker", w->consumer, "error", err.msg,
                          NULL);
                nap(w, 1000);
                return -1;
        }
        dispatch_on_accepted(w->d, on_accepted, w);
        return 0;
}

static void *worker_main(void *arg)
{
        struct worker *w = arg;
        int64_t next_promote = 0, next_claim = 0, next_housekeep = 0, next_arrangements = 0;
        struct error err;

        while (!atomic_load(&w->sh->stopping)) {
                beat(w);
                if (refresh_config(w) < 0 || connect_queue(w) < 0)
                        continue;
                const struct config *cfg = w->cfg;
                int64_t now = now_ms();
                int rc = 0;

                if (w->redo) {
                        /* Record what went out before anything else. */
                        w->redo = false;
                        redo_batch(w);
                        continue;
                }
                queue_batch_clear(&w->batch);
                if (now >= next_promote) {
                        int moved = 0;
                        rc = queue_promote(w->q, now, 1000, &moved, &err);
                        next_promote = moved == 1000 ? now : now + 100;
                }
                if (rc == 0 && now >= next_claim) {
                        rc = queue_claim(w->q, cfg->queue.claim_idle_ms, cfg->queue.batch,
                                         &w->batch, &err);
                        int64_t every = cfg->queue.claim_idle_ms / 4;
                        next_claim = now + (every < 250 ? 250 : every);
                }
                /* One worker per process is enough; every instance may do
                 * it, the commands are safe to repeat. */
                if (rc == 0 && w->index == 0 && now >= next_housekeep) {
                        rc = housekeep(w, &err);
                        next_housekeep = now + cfg->queue.housekeep_interval_ms;
                }
                if (rc == 0 && w->index == 0 && now >= next_arrangements) {
                        rc = sweep_arrangements(w, now, &err);
                        next_arrangements = now + cfg->arrangements.check_interval_ms;
                }
                if (rc == 0 && w->batch.n == 0 && w->own_pending) {
                        rc = queue_read(w->q, true, cfg->queue.batch, 0, &w->batch, &err);
                        if (rc == 0 && w->batch.n == 0)
                                w->own_pending = false;
                }
                if (rc == 0 && w->batch.n == 0)
                        rc = queue_read(w->q, false, cfg->queue.batch, cfg->queue.block_ms,
                                        &w->batch, &err);
                if (rc < 0) {
                        log_event(LOG_WARNING, "redis error", "worker", w->consumer, "error",
                                  err.msg, NULL);
                        if (rc == -EIO)
                                w->broken = true;
                        else
                                nap(w, 1000);
                        continue;
                }
                /* A SIGHUP while we waited in XREADGROUP applies to this
                 * batch already. */
                if (w->batch.n > 0 && refresh_config(w) < 0) {
                        w->own_pending = true;   /* read them again later */
                        continue;
                }
                if (w->batch.n > 0) {
                        int64_t t0 = worker_clock_us();
                        process_batch(w);
                        atomic_fetch_add_explicit(&w->sh->metrics.busy_us,
                                                  (unsigned long long)(worker_clock_us() - t0),
                                                  memory_order_relaxed);
                }
        }
        /* Draining: a batch whose sends are not recorded is in flight. */
        if (w->redo && w->q && !w->broken) {
                w->redo = false;
                redo_batch(w);
        }
        queue_batch_clear(&w->batch);
        return NULL;
}

int worker_start(struct worker **out, struct worker_shared *sh, int index, struct error *err)
{
        struct worker *w = xcalloc(1, sizeof(*w));
        char host[64] = "localhost";

        gethostname(host, sizeof(host) - 1);
        snprintf(w->consumer, sizeof(w->consumer), "%s-%d-%d", host, (int)getpid(), index);
        w->index = index;
        w->sh = sh;
        w->own_pending = true;
        w->hc = history_cache_new();
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
                history_cache_free(w->hc);
                free(w);
                return error_set(err, -rc, "cannot start worker thread: %s", strerror(rc));
        }
        *out = w;
        return 0;
}

int worker_join(struct worker *w, int64_t deadline_ms)
{
        struct timespec ts = { deadline_ms / 1000, (long)(deadline_ms % 1000) * 1000000L };
        if (w->joined)
                return 0;
        int rc = pthread_timedjoin_np(w->thread, NULL, &ts);
        if (rc == ETIMEDOUT)
                return -ETIMEDOUT;
        w->joined = true;
        return 0;
}

void worker_free(struct worker *w)
{
        if (!w)
                return;
        dispatch_free(w->d);
        history_cache_free(w->hc);
        queue_free(w->q);
        unrecorded_free(&w->unrec);
        free(w->batch.entries);
        free(w);
}
