/* policy.c: channel choice (preference and contact data for now). */
#include "policy.h"

#include <stdio.h>

int policy_reachable(const struct job *job, enum job_channel ch)
{
        const struct job_customer *c = &job->customer;
        if (ch >= 0 && ch < JOB_CHANNEL__N && job->skip[ch])
                return 0;
        switch (ch) {
        case JOB_CHANNEL_EMAIL: return c->email && c->consent_email;
        case JOB_CHANNEL_SMS: return c->phone && c->consent_sms;
        case JOB_CHANNEL_LETTER: return c->has_address;
        default: return 0;
        }
}

static const char *missing(const struct job *job, enum job_channel ch)
{
        if (job->skip[ch])
                return "not reached it before";
        switch (ch) {
        case JOB_CHANNEL_EMAIL: return "no e-mail address or consent";
        case JOB_CHANNEL_SMS: return "no phone number or consent";
        default: return "no postal address";
        }
}

void policy_choose(const struct job *job, const struct config *cfg, int64_t now_ms,
                   struct policy_decision *d)
{
        enum job_channel pref = job->customer.preferred_channel;
        d->n = 0;

        if (pref != JOB_CHANNEL_NONE && policy_reachable(job, pref))
                d->order[d->n++] = pref;
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                if (ch != (int)pref && policy_reachable(job, (enum job_channel)ch))
                        d->order[d->n++] = (enum job_channel)ch;

        if (d->n == 0)
                snprintf(d->reason, sizeof(d->reason), "no channel has contact data");
        else if (pref == JOB_CHANNEL_NONE)
                snprintf(d->reason, sizeof(d->reason),
                         "no preferred channel; %s is the first with contact data",
                         job_channel_name(d->order[0]));
        else if (d->order[0] == pref)
                snprintf(d->reason, sizeof(d->reason), "preferred channel %s",
                         job_channel_name(pref));
        else
                snprintf(d->reason, sizeof(d->reason), "preferred channel %s has %s; using %s",
                         job_channel_name(pref), missing(job, pref), job_channel_name(d->order[0]));
}
