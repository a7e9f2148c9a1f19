/* sendlimits.h: the contact and rate limits applied to a worker's batch.
 *
 * Glue between the pure decisions (contact.h, ratelimit.h), the batch's
 * reads (the customer's send times come with its history) and its
 * transaction (the new send times go in with the send). A job held back
 * is deferred, never failed: it goes back to the scheduled set for the
 * time the limit names, not counted as an attempt. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "contact.h"
#include "error.h"
#include "job.h"

struct config;
struct dispatch_result;
struct history;
struct policy_decision;
struct queue;

struct sendlimits_hold {
        int64_t until_ms;         /* 0: the job may go now */
        const char *reason;       /* "contact-limit", "contact-gap", "rate-limited" */
        enum job_channel channel; /* rate-limited: the channel it waits for */
        enum job_channel counted; /* the channel whose rate its send counts on (a slot
                                   * taken now or carried), or JOB_CHANNEL_NONE */
        char *json;               /* the job to schedule (with its rate slot), or NULL */
        int64_t sent_at;          /* contact limits: the time its send is kept under,
                                   * now plus the customer's earlier sends in the batch
                                   * (one field each), or 0 */
};

/* The contact rules of cfg. */
void sendlimits_contact_rules(const struct config *cfg, struct contact_rules *r);

/* Decides for go[0..n) (NULL entries skipped; dec[k] the policy's choice,
 * hist[k] the customer's history as read for the batch): first the
 * contact limits, counting the batch's earlier jobs for the same customer
 * as sent now (added to their hist[j].contacts), then the rate limits of
 * the first choices in one script call. holds[k] is zeroed for jobs that may go. Errors are
 * Redis's only. */
int sendlimits_apply(struct queue *q, const struct config *cfg, struct job *const *go,
                     const struct policy_decision *dec, struct history *hist, size_t n, int64_t now,
                     struct sendlimits_hold *holds, struct error *err);

/* After the batch's sends (res[k] the outcome of the job of holds[k]): a
 * send that went out on a rate-limited channel it was not counted on (a
 * fallback after the first choice refused it) is counted now, in one
 * script call for the batch (none when there was no such send), so the
 * sends after it wait for it. */
int sendlimits_count_fallbacks(struct queue *q, const struct config *cfg,
                               const struct sendlimits_hold *holds,
                               const struct dispatch_result *res, size_t n, struct error *err);

/* In the batch transaction, after job went out: the customer hash's
 * field for this send (hold->sent_at), and the deletion of the sends of
 * h (as read for the batch) no rule needs any more (contact.h). Nothing
 * without contact rules. */
void sendlimits_txn_sent(struct queue *q, const struct config *cfg, const struct job *job,
                         const struct history *h, const struct sendlimits_hold *hold);

/* Frees what holds[0..n) own. */
void sendlimits_holds_free(struct sendlimits_hold *holds, size_t n);
