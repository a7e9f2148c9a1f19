/* policy.h: which channel a reminder goes out on, and why; pure.
 *
 * (job, history, config, now) -> ordered channels + one line of reason.
 * Only channels the step allows (a Dutch consumer's final notice goes in
 * writing: letter, optionally e-mail too, never SMS alone) and, for a
 * step of an escalation flow, that step's channels (flow.h), with contact
 * data, consent and no invalid mark; among them each channel is scored by
 * its expected chance of payment (a Beta posterior from the customer's
 * own results shrunk toward the segment's, the stated preference as a
 * prior) minus its cost relative to the amount owed; a configured share
 * of decisions samples the posteriors instead (Thompson sampling, seeded
 * so the same inputs give the same choice). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "history.h"
#include "job.h"

struct policy_decision {
        enum job_channel order[JOB_CHANNEL__N];  /* first choice, then fallbacks */
        size_t n;                                /* 0: no usable channel */
        char reason[256];                        /* one line, no personal data */
        double score[JOB_CHANNEL__N];            /* by channel; what was compared */
        bool explored;                           /* the choice came from sampling */
        /* Added for explain: by channel, the posterior's expected chance
         * of payment (score is this, or a draw from the posterior when
         * explored, less cost_cents / amount owed); both 0 for channels
         * not in order. */
        double mean[JOB_CHANNEL__N];
};

/* What is known besides the job; any pointer may be NULL (nothing known). */
struct policy_context {
        const struct history *customer;
        const struct history *segment;   /* aggregate of the customer's segment */
        const char *segment_name;
};

/* Fills d for job at now_ms (Unix ms). The same job, context, config and
 * UTC day always give the same decision (the sampling is seeded from
 * policy.seed, reminder id, customer id and day). cfg NULL: config.c's
 * defaults without exploration. No allocation, no I/O. */
void policy_choose(const struct job *job, const struct policy_context *ctx,
                   const struct config *cfg, int64_t now_ms, struct policy_decision *d);

/* Whether the job has contact data and consent for channel ch (and did not
 * fail on it before: job->skip). */
int policy_reachable(const struct job *job, enum job_channel ch);

/* Whether the step may go out on ch at all (final notices: in writing). */
bool policy_step_allows(const struct job *job, const struct config *cfg, enum job_channel ch);

/* Holdout: whether (customer, campaign, step) falls in the share kept from
 * receiving the step; a deterministic hash, so a redelivery or a re-run of
 * the campaign decides the same. share 0: never. */
bool policy_held_out(const char *customer, const char *campaign, const char *step, double share);

/* One draw from Beta(alpha, beta), alpha and beta > 0, using and advancing
 * the splitmix64 state *state (Marsaglia-Tsang gamma draws, also for
 * parameters below 1). What policy_choose samples with when it explores;
 * exported for its statistical test. */
double policy_beta_draw(uint64_t *state, double alpha, double beta);
