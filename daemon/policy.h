/* policy.h: which channel a reminder goes out on, and why; pure.
 *
 * Until the history-driven policy lands: the customer's preferred channel
 * when it has contact data and consent, else the first of email, sms,
 * letter that has; the others follow as fallbacks in that order. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "job.h"

struct policy_decision {
        enum job_channel order[JOB_CHANNEL__N];  /* first choice, then fallbacks */
        size_t n;                                /* 0: no usable channel */
        char reason[256];                        /* one line, no personal data */
};

/* Fills d for job at now_ms (Unix ms). */
void policy_choose(const struct job *job, const struct config *cfg, int64_t now_ms,
                   struct policy_decision *d);

/* Whether the job has contact data and consent for channel ch. */
int policy_reachable(const struct job *job, enum job_channel ch);
