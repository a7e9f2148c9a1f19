/* history.h: what dunningd has learnt about each customer and segment.
 *
 * Kept in Redis, written in the same MULTI/EXEC as the send or payment it
 * counts (so a crash cannot count twice), read once per batch before the
 * policy chooses. Keys (prefix configurable):
 *
 *   <prefix>:customer:<id>   hash, per customer
 *   <prefix>:segment:<name>  hash, the same counters summed over a segment
 *     sent:<ch> delivered:<ch> undelivered:<ch> direct:<ch> assisted:<ch>
 *                           counts per channel (email, sms, letter)
 *     last_sent:<ch>        Unix ms of the last send on that channel
 *     invalid:<ch>          "<Unix ms>:<contact hash>": that address or
 *                           number bounced / is dead (history_contact_hash;
 *                           a new address in a later job is valid again)
 *     on_time late          invoices paid on time / late
 *     days_late             days late, summed over the late ones
 *     hour:<0-23> wday:<0-6>  payments by local hour and weekday (0 Sunday)
 *     segment               (customer) the derived segment, "" when none
 *     tz                    (customer) the time zone of the last job
 *     exp_ms                when a send last set the key's time to live
 *                           (customer, invoice: see struct history_ttl)
 *     sent_at:<ms>          (customer) one per recent send, any channel,
 *                           for the contact limits (contact.h)
 *     job contact owed      (customer) what the policy needs of the last
 *                           job sent, for explain (history_profile_*):
 *                           which contacts it had, not the contacts
 *
 *   <prefix>:invoice:<number>  hash: amount_cents, paid_cents (absent: 0),
 *       status (paid, once it is; absent: open), due, currency, customer, segment,
 *       last = "<channel>|<reminder>|<ms>|<step>|<campaign>" (last touch),
 *       held_out = "<reminder>|<ms>|<step>|<campaign>" (last step held
 *       out), paid_ms, exp_ms, ref_ms (when a send last wrote the
 *       invoice's reference key)
 *   <prefix>:reminder:<id>     hash: channel, sent_ms, step, campaign,
 *       customer, segment, invoices (numbers joined by "\n"); kept only
 *       when something can name the reminder later: a pay link (its id
 *       comes back with the payment); an SMS delivery report finds the
 *       job and segment in <prefix>:sms:<provider id> (queue.h)
 *   <prefix>:ref:<reference>   string: the invoice whose payment reference
 *       (RF) it is, so a transfer quoting it is credited to the invoice's
 *       last touch as direct (the reference is the same on every
 *       reminder of the invoice)
 *   <prefix>:stats:<YYYY-MM-DD> hash, the day's counts (UTC):
 *       "<metric>|<channel>|<step>|<segment>|<campaign>" -> count, metric
 *       one of sent, cost (cents), failed, delivered, undelivered,
 *       direct, assisted, organic, paid_cents, held_out, held_paid,
 *       handover (channel "-": invoices handed to a collection agency),
 *       h<bucket> (hours from send to payment, HISTORY_HOURS_BUCKETS);
 *       "-" where a dimension does not apply.
 *
 * Holds and payment arrangements live in the same hashes (invoice: hold,
 * arrangement; customer: hold, disputes, flagged), read by the same fetch:
 * hold.h, arrangements.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "contact.h"
#include "job.h"
#include "queue.h"

struct history_channel {
        int64_t sent, delivered, undelivered;
        int64_t direct, assisted;       /* payments credited to this channel */
        int64_t last_sent_ms;           /* 0: never */
        int64_t invalid_ms;             /* 0: not marked invalid */
        uint32_t invalid_contact;       /* history_contact_hash of the invalid one */
};

struct history {
        struct history_channel ch[JOB_CHANNEL__N];
        int64_t on_time, late, days_late;
        int64_t hour[24], wday[7];
        char segment[32];               /* customer: the derived segment, or "" */
        struct contact_times contacts;  /* customer: the last sends (limits.contact) */
};

/* Fills h from a hash's field/value pairs (HGETALL); unknown fields and
 * malformed numbers are ignored (counted as 0). */
void history_from_fields(struct history *h, const struct queue_fields *f);

/* The segment payment behaviour puts a customer in: "new" (fewer than
 * segments.min_invoices paid), "structural-late" (late share at least
 * segments.structural_late_share), "on-time" (at most
 * segments.on_time_max_late late), else "occasional-late". */
const char *history_derive_segment(const struct history *h, const struct config *cfg);

/* The segment of job: its own customer.segment, else the one derived from
 * the customer's history. */
const char *history_segment_of(const struct job *job, const struct history *h,
                               const struct config *cfg);

/* The customer hash's job, contact and owed fields for job (see the
 * layout above):
 *   job      "<step>|<campaign>|<segment the job named, or empty>"
 *   contact  "<e-mail hash>|<phone hash>|<country>|<consent>|<preferred>|<locale>"
 *            (hashes history_contact_hash in hex, the address's country,
 *            consent "e", "s", "es": "-" for none of each)
 *   owed     "<amount_cents> <currency>" summed over the invoices */
struct history_profile {
        char job[200], contact[96], owed[40];   /* room for 64-character names */
};
void history_profile_make(const struct job *job, struct history_profile *p);
/* A job the policy can be asked about again, built from a customer
 * hash's profile fields f (for explain): placeholder contacts where the
 * last job had them, its consent, preference, locale, country and amount;
 * step replaces its step when not NULL. h's invalid marks are mapped onto
 * the placeholders (a mark for the contact of the last job stays, one for
 * an older contact no longer applies). *out is NULL, returning 0, when f
 * holds no profile; -EINVAL with err when it is malformed. */
int history_profile_job(const struct queue_fields *f, const char *customer_id, const char *step,
                        struct history *h, struct job **out, struct error *err);

/* A short hash of an e-mail address or phone number (case-insensitive),
 * so an invalid mark names the contact without storing it twice. */
uint32_t history_contact_hash(const char *contact);

/* Whether channel ch's current contact (job_contact) was marked invalid. */
bool history_contact_invalid(const struct history *h, const struct job *job,
                             enum job_channel ch);

/* The bucket of the hours between a send and its payment; the upper
 * bounds of the buckets in hours (the last is open). */
#define HISTORY_HOURS_BUCKETS 12
extern const double history_hours_bounds[HISTORY_HOURS_BUCKETS];
int history_hours_bucket(double hours);

/* Key of <prefix>:<kind>:<name> into out. */
void history_key(const struct queue *q, char *out, size_t n, const char *kind, const char *name);
/* <prefix>:stats:<UTC date of ms> into out. */
void history_stats_key(const struct queue *q, char *out, size_t n, int64_t ms);

/* Per worker: the segment aggregates, re-read every
 * history.segment_refresh_ms, and the batch's customer histories. */
struct history_cache;
struct history_cache *history_cache_new(void);
void history_cache_free(struct history_cache *c);
/* Which of a job's keys a send gave their time to live (retention_days)
 * less than HISTORY_TTL_FRESH_MS ago, so that the send being recorded
 * need not set it again: on a campaign's later steps an EXPIRE per key is
 * a fifth of what Redis does for history. A key so lives at least
 * retention_days less a day after its last send (with retention_days 1
 * nothing is fresh: every send sets it). Bit j of invoice and ref
 * is the job's invoice j (j < 64; later ones are always refreshed). */
#define HISTORY_TTL_FRESH_MS (24LL * 3600 * 1000)
struct history_ttl {
        bool customer;
        uint64_t invoice;       /* its hash's TTL */
        uint64_t ref;           /* <prefix>:ref:<its RF reference> written */
        /* What the fields a send rewrites unchanged from step to step hold
         * already (a hash of them; 0: not known): the customer's tz,
         * contact and owed, invoice j's amount_cents, due, currency,
         * customer and segment (j < HISTORY_SIG_INVOICES). A send to a
         * key whose TTL is fresh writes them only when they changed: on a
         * later step the invoice's HSET is its last touch alone. A key two
         * jobs of the batch name is written whole by each. Two workers'
         * batches naming one customer at the same moment may leave its
         * profile with one job's step and the other's amount owed: both
         * were its last job. */
        uint64_t customer_sig;
#define HISTORY_SIG_INVOICES 8
        uint64_t invoice_sig[HISTORY_SIG_INVOICES];
};

/* Reads the histories of the customers of jobs[0..n) (NULL entries
 * skipped) and their invoices, in two halves so that the worker's reads
 * share one round trip with its sending leases (queue_take_reminders_send):
 * _send appends the reads, _reply (the same jobs) reads them, and the
 * segments they are in with a second round trip when those are stale.
 * out[i] is zeroed for jobs without history; paid[i] is true when every
 * invoice of jobs[i] is paid (status paid, or payments that arrived before
 * any reminder cover its amount); open[i] (open may be NULL) is what is
 * still owed on them, in minor units; ttl[i] (ttl may be NULL) which
 * keys are fresh; holds[i] (holds may be NULL) what the same hashes say of
 * holds and arrangements (hold.h), at no extra round trip. */
struct hold_state;
void history_fetch_send(struct queue *q, struct job *const *jobs, size_t n);
int history_fetch_reply(struct history_cache *c, struct queue *q, const struct config *cfg,
                        struct job *const *jobs, size_t n, int64_t now_ms,
                        struct history *out, bool *paid, int64_t *open,
                        struct history_ttl *ttl, struct hold_state *holds, struct error *err);
/* The cached aggregate of segment name, or NULL when it has none yet. */
const struct history *history_cache_segment(const struct history_cache *c, const char *name);

/* In the worker's batch transaction. Counters shared by many jobs (the
 * segment's, the day's) are added up in c over the batch: call
 * history_tally_reset before a batch and history_txn_flush just before
 * its commit. */
void history_tally_reset(struct history_cache *c);
void history_txn_flush(struct history_cache *c, struct queue *q, const struct config *cfg);
/* job went out on ch: customer, segment, invoices, reminder, reference
 * and the day's stats. reference may be NULL; ttl (NULL: none) says whose
 * time to live need not be set again (from history_fetch_reply). */
int history_txn_sent(struct history_cache *c, struct queue *q, const struct config *cfg,
                     const struct job *job, enum job_channel ch, const char *segment,
                     const char *reference, const struct history_ttl *ttl, int64_t now_ms,
                     struct error *err);
/* ch refused job's contact for good (bounce, dead number). */
void history_txn_invalid(struct history_cache *c, struct queue *q, const struct config *cfg,
                         const struct job *job, enum job_channel ch, const char *segment,
                         int64_t now_ms);
/* The step was held out for job (holdout): the invoices remember it. */
int history_txn_held_out(struct history_cache *c, struct queue *q, const struct config *cfg,
                         const struct job *job, const char *segment, int64_t now_ms,
                         struct error *err);
/* The flow's handover step for job: counted in the day's stats, and the
 * invoices remember it (handover = "<reminder>|<ms>|<campaign>"). */
void history_txn_handover(struct history_cache *c, struct queue *q, const struct config *cfg,
                          const struct job *job, const char *segment, int64_t now_ms);
/* A delivery report for job's reminder on ch (delivered or not): counted
 * for the customer, the segment it was sent in and the day; an undelivered
 * one marks contact (the number it went to) invalid. With no job or
 * segment (a record from before they were kept with it), the reminder's
 * hash names them (read in Lua). */
int history_delivery(struct queue *q, const struct config *cfg, const char *reminder,
                     const struct job *job, const char *segment, enum job_channel ch,
                     bool delivered, const char *contact, int64_t now_ms, struct error *err);
