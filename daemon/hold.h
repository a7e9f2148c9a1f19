/* hold.h: holds and disputes: invoices and customers dunning leaves alone.
 *
 * A credit manager puts an invoice (or every invoice of a customer) on
 * hold: disputed, under a payment arrangement made elsewhere, or for
 * another reason, until a date or until released. The dispatcher reads
 * the holds in the round trip that reads the invoices and the customer
 * (history_fetch) and skips a held job (event skipped, reason held),
 * parking it in the scheduled set until the hold's end, or for
 * holds.recheck_hours when it has none, so its flow pauses and resumes.
 * Keys (see history.h for the hashes):
 *
 *   <prefix>:invoice:<number>  field hold = "<reason>|<until ms, 0: open>|<since ms>|<note>"
 *                              field arrangement = "<id>" while an
 *                              arrangement (arrangements.h) covers it
 *   <prefix>:customer:<id>     field hold (the same, for every invoice),
 *                              disputes (count), flagged = "<ms>|<disputes>"
 *   <prefix>:held:<invoice|customer>:<id>  hash: reminder id -> the parked
 *                              job's text as it is in the scheduled set, so
 *                              a release can bring it forward at once
 *
 * The first part is pure; the second runs on a struct queue. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "job.h"
#include "queue.h"

#define HOLD_OPEN INT64_MAX     /* held until released */
#define HOLD_NOTE_MAX 200

enum hold_reason { HOLD_DISPUTE, HOLD_ARRANGEMENT, HOLD_OTHER };
const char *hold_reason_name(enum hold_reason r);
/* -1 when name is not dispute, arrangement or other. */
int hold_reason_from_name(const char *name);

struct hold {
        enum hold_reason reason;
        int64_t until_ms;               /* 0: until released */
        int64_t since_ms;
        char note[HOLD_NOTE_MAX + 1];   /* may be "" */
};

/* The field's text into h; -EINVAL when it is not one. */
int hold_parse(const char *value, struct hold *h);
/* h as the field's text into out. A note's line breaks become spaces. */
void hold_format(const struct hold *h, char *out, size_t n);
/* Whether h holds at now_ms (open, or its until not reached). */
bool hold_active(const struct hold *h, int64_t now_ms);

/* What history_fetch found for one job: its holds and what is paid. */
struct hold_state {
        int64_t until_ms;        /* 0: not held; HOLD_OPEN: until released */
        char reason[16];         /* of the hold that ends last */
        char arrangement[65];    /* the arrangement covering its invoices, "" */
        int64_t paid_cents;      /* paid on its invoices so far */
};

/* Adds what the customer hash (invoice false) or one of job's invoice
 * hashes (invoice true) says. A hold whose until has passed is ignored;
 * an installment job is not held by its own arrangement. */
void hold_state_add(struct hold_state *s, const struct job *job, const struct queue_fields *f,
                    bool invoice, int64_t now_ms);

/* Why job may not go out now, or NULL when it may: "held" (*resume_ms
 * gets when to look again: the hold's end, or now_ms + recheck_ms for an
 * open hold, whichever is first), and for an installment reminder
 * "arrangement-ended" (its arrangement no longer covers the invoices) or
 * "installment-paid" (the payments cover this installment). */
const char *hold_gate(const struct job *job, const struct hold_state *s, int64_t now_ms,
                      int64_t recheck_ms, int64_t *resume_ms);

/* What explain shows of a customer hash. */
struct hold_summary {
        int64_t disputes;
        int64_t flagged_ms;      /* 0: not flagged */
        bool held;               /* hold is set and active */
        struct hold hold;
};
void hold_summary_of(const struct queue_fields *customer, int64_t now_ms,
                     struct hold_summary *out);

/* --- Redis --- */

/* "invoice" or "customer": what a hold is put on. */
struct hold_target {
        const char *kind;
        const char *id;
};

/* What hold_put did. */
struct hold_put_result {
        char customer[128];      /* whose disputes were counted, "" none */
        int64_t disputes;        /* their count now (dispute only) */
        bool flagged;            /* this dispute flagged them for a person */
};

/* Puts hold h on t (replacing one there), counts a dispute for the
 * customer (t's, or the invoice's customer as dunningd knows it), flags a
 * customer reaching holds.dispute_flag_count (event flagged), and records
 * an event hold. */
int hold_put(struct queue *q, const struct config *cfg, const struct hold_target *t,
             const struct hold *h, struct hold_put_result *res, struct error *err);

/* Takes t's hold off and brings every job parked under t forward to now
 * (event released). *resumed (may be NULL) gets how many were in the
 * scheduled set. -ENOENT with err when t has no hold. */
int hold_release(struct queue *q, const struct config *cfg, const struct hold_target *t,
                 int64_t now_ms, size_t *resumed, struct error *err);

/* In the open transaction: the jobs of the held hash f (read with
 * hold_parked_get) move in the scheduled set to now_ms, with not_before
 * now_ms, unless they left it already; the hash of t is deleted.
 * Returns how many jobs were listed. */
size_t hold_txn_resume(struct queue *q, const struct hold_target *t,
                       const struct queue_fields *f, int64_t now_ms);
/* The held hash of each of n targets, one round trip; with watch, under
 * WATCH first, for a transaction that deletes them (hold_txn_resume): a
 * job parked after the read makes its EXEC fail rather than lose the
 * entry that would bring it back early. */
int hold_parked_get(struct queue *q, const struct hold_target *t, size_t n, bool watch,
                    struct queue_fields *out, struct error *err);

/* In the worker's transaction: job goes back to the scheduled set for
 * resume_ms as the same step (job_json_later: not_before set to it, so a
 * flow's next step counts from there; skip_channels kept), noted under
 * each of its invoices and its customer. Decided when the transaction
 * runs: if none of those still has a hold or an arrangement (released
 * since the batch read them), the job goes back for now_ms instead and is
 * not noted anywhere, so a release that ran in between does not leave it
 * waiting for the recheck. */
void hold_txn_park(struct queue *q, const struct config *cfg, const struct job *job,
                   int64_t resume_ms, int64_t now_ms);
