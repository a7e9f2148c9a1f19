/* tracking.h: payments in, and the reminders they are credited to.
 *
 * A payment comes from the <prefix>:payments stream (written by the Mollie
 * webhook and by outside systems; the daemon reads it through the group
 * "dunningd" in a thread of its own) or from `dunningctl paid`. Both go
 * through tracking_apply: the open amount of the invoices goes down, an
 * invoice with nothing open is paid, and the payment that completes it is
 * credited once: *direct* to the reminder it came through (its pay link,
 * or its RF reference), *assisted* to the invoice's last touch inside
 * tracking.attribution_window_days, *held_out* to a more recent holdout of
 * a step, else *organic*. Everything a payment changes (dedup marker,
 * invoices, customer and segment history, the day's stats, events, the
 * stream ack) is written in one MULTI/EXEC under WATCH; the keys follow
 * history.h. The decisions are pure functions below, tested without Redis.
 *
 * Payments stream entry fields (every one optional but as said):
 *   type          "payment" or absent; any other type is acked and ignored
 *   provider_id   the dedup key: a second payment with it changes nothing,
 *                 ever (default "stream:" + a hash of the fields below)
 *   invoice       the invoice number; may be absent when reminder or
 *                 reference names a reminder (then its invoices, in order)
 *   amount_cents  whole cents, > 0 (required)
 *   paid_at       RFC 3339 or Unix ms (default: when the entry was added)
 *   reminder      "r-" + 16 hex: the reminder whose pay link was used
 *   reference     an RF creditor reference or a reminder id
 *   method, source ("mollie", "stream" when absent, ...)  kept in events */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "history.h"
#include "job.h"
#include "queue.h"

struct worker_shared;

#define TRACKING_STREAM "payments"      /* <prefix>:payments */
#define TRACKING_ID_MAX 128             /* invoice numbers, customer and provider ids */
#define TRACKING_NAME_MAX 96            /* step, campaign, segment */
#define TRACKING_IGNORE 1               /* tracking_payment_from_fields: not a payment */

struct tracking_payment {
        char provider_id[TRACKING_ID_MAX + 8];
        char source[16];                /* mollie, stream, ctl */
        char invoice[TRACKING_ID_MAX];  /* "" when reminder or reference names one */
        char reminder[20];              /* "" or "r-" + 16 hex */
        char reference[64];             /* "" or compact RF reference / reminder id */
        char method[32];
        int64_t amount_cents;           /* > 0 */
        int64_t paid_ms;                /* Unix ms */
        char entry_id[48];              /* the payments stream entry, "" for ctl */
};

/* Parses a payments stream entry (f->id is its id) into p. Returns 0,
 * TRACKING_IGNORE for entries of another type, or -EINVAL with err naming
 * the field at fault ("amount_cents: missing"). */
int tracking_payment_from_fields(struct tracking_payment *p, const struct queue_fields *f,
                                 struct error *err);
/* Whole cents > 0 from s into *cents: 0, or -EINVAL with "must be ..." in
 * err (the caller prefixes the field). */
int tracking_parse_amount(const char *s, int64_t *cents, struct error *err);
/* RFC 3339 or Unix ms (digits only) into *ms: 0 or -EINVAL. */
int tracking_parse_time(const char *s, int64_t *ms);
/* Whether s is 1..max of A-Z a-z 0-9 - _ (a payment method, an id part). */
bool tracking_token_ok(const char *s, size_t max);
/* Sets p->reference from ref: an RF reference in its compact upper-case
 * form, a reminder id as is, anything else trimmed. 0, or -EINVAL when it
 * is empty or too long. */
int tracking_set_reference(struct tracking_payment *p, const char *ref, struct error *err);
/* Whether s is a reminder id: "r-" + 16 lower-case hex digits. */
bool tracking_is_reminder_id(const char *s);
/* The dedup key of a payment that came without one: "<source>:" + 16 hex
 * of a hash of (invoice, reminder, amount, at_ms, reference) into out. */
void tracking_payment_id(char *out, size_t n, const char *source, const char *invoice,
                         const char *reminder, int64_t amount_cents, int64_t at_ms,
                         const char *reference);

enum tracking_kind {
        TRACKING_ORGANIC,
        TRACKING_DIRECT,        /* through the reminder's link or reference */
        TRACKING_ASSISTED,      /* the last touch, inside the window */
        TRACKING_HELD_OUT,      /* a step held out more recently, inside the window */
};
/* "organic", "direct", "assisted", "held_out" */
const char *tracking_kind_name(enum tracking_kind k);

struct tracking_attribution {
        enum tracking_kind kind;
        enum job_channel channel;       /* direct, assisted; else JOB_CHANNEL_NONE */
        char reminder[20];              /* direct, assisted, held_out; else "" */
        char step[TRACKING_NAME_MAX];   /* "" when none */
        char campaign[TRACKING_NAME_MAX];
        int64_t touch_ms;               /* the send (or holdout) credited; 0 none */
        double hours;                   /* send to payment (direct, assisted); -1 none */
        int bucket;                     /* history_hours_bucket(hours); -1 none */
};

/* Whom the payment at paid_ms is credited to. reminder: the hash of the
 * reminder the payment named (reminder_id), NULL or empty when it named
 * none or one without a hash; invoice: the invoice's hash (its last and
 * held_out touches); window_days: tracking.attribution_window_days.
 * Direct: through the named reminder's hash, else when the named reminder
 * is the invoice's last touch; assisted: the last touch inside the window. */
void tracking_attribute(const char *reminder_id, const struct queue_fields *reminder,
                        const struct queue_fields *invoice, int64_t paid_ms, int window_days,
                        struct tracking_attribution *out);

/* Local hour (0-23) and weekday (0 Sunday) of ms in IANA zone tz (ICU,
 * so DST is right). 0, or -EINVAL when the zone is unknown. */
int tracking_local_time(int64_t ms, const char *tz, int *hour, int *wday);

struct tracking_behaviour {
        bool due_known;         /* the invoice had a valid due date */
        bool late;              /* paid more than late_after_days after due (UTC date) */
        int64_t days_late;      /* days after due when late, else 0 */
        int hour, wday;         /* local; -1 when no zone worked */
};
/* How an invoice due on due ("YYYY-MM-DD", may be NULL) paid at paid_ms
 * was paid: on time or late, and at which local hour and weekday in tz
 * (fallback_tz when tz is NULL or unknown). */
void tracking_behaviour(const char *due, int64_t paid_ms, const char *tz, const char *fallback_tz,
                        int late_after_days, struct tracking_behaviour *out);

/* --- what one payment does, computed from what Redis holds --- */

struct tracking_line {                  /* one invoice the payment covers */
        char invoice[TRACKING_ID_MAX];
        char customer[TRACKING_ID_MAX]; /* "" when the invoice names none */
        char segment[TRACKING_NAME_MAX];/* for stats and the segment hash; "-" none */
        bool known;                     /* the invoice has a hash with amount_cents */
        int64_t applied_cents;          /* of this payment, on this invoice */
        int64_t open_before, open_after;/* known: amount - paid, never below 0 */
        int64_t overpaid_cents;         /* applied beyond what was open */
        bool was_paid;                  /* nothing was open before */
        bool completed;                 /* this payment made it paid: a conversion */
        char arrangement[32];           /* the payment arrangement covering it, "" none */
        struct tracking_attribution attr;
        struct tracking_behaviour beh;  /* completed only */
};

struct tracking_delta {                 /* counters to add to a customer or segment hash */
        char name[TRACKING_ID_MAX];
        struct history add;             /* direct, assisted, on_time, late, ... */
        char segment_before[32];        /* customers: history_derive_segment before */
        char segment_after[32];         /* and after adding */
};

enum tracking_outcome {
        TRACKING_APPLIED,       /* lines were applied (some may be unknown invoices) */
        TRACKING_DUPLICATE,     /* its provider id was seen before: nothing changed */
        TRACKING_UNMATCHED,     /* no invoice, and its reminder/reference is unknown: kept */
};

struct tracking_plan {
        enum tracking_outcome outcome;
        const char *unmatched;          /* UNMATCHED: "unknown-reminder" | "unknown-reference" */
        char reminder[20];              /* the reminder the payment named, "" none */
        struct tracking_line *lines;    /* n, owned */
        size_t n;
        struct tracking_delta *customers, *segments;   /* owned */
        size_t n_customers, n_segments;
};
void tracking_plan_free(struct tracking_plan *plan);

/* What the planner reads. Arrays are borrowed; a hash that does not exist
 * is a queue_fields with n 0. */
struct tracking_input {
        const struct tracking_payment *payment;
        const char *reminder_id;                /* resolved from link or reference, or "" */
        const struct queue_fields *reminder;    /* its hash, or NULL */
        size_t n_invoices;
        const char *const *invoices;            /* numbers, in the order to pay them */
        const struct queue_fields *invoice_fields;
        size_t n_customers;
        const char *const *customers;           /* the invoices' customers' ids */
        const struct queue_fields *customer_fields;
};

/* Pure: how the payment is spread over the invoices (each up to its open
 * amount, in order; what is left over lands on the last one), which
 * invoice it completes, their attribution and payment behaviour, and the
 * counters each customer and segment gets (with the customer's segment
 * derived again). Fills *plan (outcome APPLIED); free with
 * tracking_plan_free. */
void tracking_plan_make(struct tracking_plan *plan, const struct tracking_input *in,
                        const struct config *cfg);

/* The day-stats counters (history.h) of one line: up to max fields
 * "<metric>|<channel>|<step>|<segment>|<campaign>" into field (each
 * TRACKING_STAT_LEN) with their increments in by. Returns how many. */
#define TRACKING_STAT_LEN 320
size_t tracking_line_stats(const struct tracking_line *l, char (*field)[TRACKING_STAT_LEN],
                           int64_t *by, size_t max);

/* --- Redis --- */

/* Applies p: reads under WATCH (marker <prefix>:payment:<provider id>,
 * reminder, invoices, customers), plans, and writes it all in one
 * MULTI/EXEC (with the XACK of p->entry_id when it is not ""), redone when
 * a watched key changed. *plan says what happened (free it). Returns 0, or
 * a negative errno with err filled: -EIO the connection is gone. */
int tracking_apply(struct queue *q, const struct config *cfg, const struct tracking_payment *p,
                   struct tracking_plan *plan, struct error *err);

/* --- the daemon's payments thread --- */

struct tracking;

/* Starts the thread that reads <prefix>:payments with its own connection
 * (consumer <host>-<pid>-payments): its own pending entries first after
 * every (re)connect, entries idle longer than queue.claim_idle_ms taken
 * over from dead consumers, new ones with XREADGROUP BLOCK. A malformed
 * entry becomes an event type=failed reason=bad-payment and is acked.
 * sh is borrowed and must outlive it; it stops when sh->stopping is set. */
int tracking_start(struct tracking **out, struct worker_shared *sh, struct error *err);
/* Waits for the thread until deadline_ms (Unix ms): 0, or -ETIMEDOUT. */
int tracking_join(struct tracking *t, int64_t deadline_ms);
/* Frees a joined thread's state; NULL is a no-op. */
void tracking_free(struct tracking *t);
