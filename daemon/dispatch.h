/* dispatch.h: one job: policy -> message -> send -> fallback.
 *
 * A struct dispatch holds one worker's channel sessions. dispatch_job does
 * no Redis I/O: it returns what happened and the worker records it, so a
 * whole batch is recorded in one transaction. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "channel.h"
#include "config.h"
#include "job.h"
#include "queue.h"
#include "policy.h"
#include "render.h"

struct dispatch;

enum dispatch_status {
        DISPATCH_SENT,
        DISPATCH_SKIPPED,   /* already sent for this reminder (set by the worker) */
        DISPATCH_RETRY,     /* temporary failure: schedule again */
        DISPATCH_DEAD,      /* no channel can take it */
        DISPATCH_DEFER,     /* not now (quiet hours): schedule at defer_until_ms */
        DISPATCH_HELD_OUT,  /* in the step's holdout: not sent on purpose (set by the worker) */
        DISPATCH_HANDOVER,  /* the flow's last step: handed to a collection agency, no
                             * message (set by the worker) */
};

struct dispatch_result {
        enum dispatch_status status;
        enum job_channel channel;       /* the channel it went out on (or last tried) */
        enum job_channel failed[JOB_CHANNEL__N];  /* channels that failed permanently */
        size_t n_failed;
        char reason[256];               /* one line, no personal data */
        char policy[256];               /* the policy's reason */
        char error[512];                /* what went wrong (DISPATCH_DEAD), no personal data */
        char provider_id[128];
        int64_t duration_us;
        int64_t defer_until_ms;         /* DISPATCH_DEFER */
        const char *defer_job;          /* DISPATCH_DEFER: the text to schedule, borrowed;
                                         * NULL: the job's own */
        int64_t retry_after_ms;         /* DISPATCH_RETRY: the provider's Retry-After, or 0 */
};

struct render;

/* Opens a session for each channel's configured transport, borrowing cfg
 * and the templates r for the lifetime of the dispatch. */
int dispatch_new(struct dispatch **out, const struct config *cfg, const struct render *r,
                 struct error *err);
void dispatch_free(struct dispatch *d);
/* fn(arg, channel, reminder id) is called the moment a channel's far side
 * has taken a message for good (an SMTP server's reply to DATA), before the
 * send returns, by the channels that can tell (e-mail over SMTP). NULL: no
 * one is told. */
void dispatch_on_accepted(struct dispatch *d,
                          void (*fn)(void *arg, enum job_channel ch, const char *reminder_id),
                          void *arg);
/* Ends the batch on every channel session (e.g. closes an SMTP session). */
void dispatch_flush(struct dispatch *d);

/* One channel's message for a job, rendered as it is sent: the parts, the
 * letter's layout data, a final notice's PDF for e-mail. msg points into
 * the struct, so it must not be copied or moved once prepared. */
struct dispatch_prepared {
        struct message msg;
        struct render_parts parts;
        struct render_letter letter;
        struct buf pdf;
        char pdf_name[64];
};

/* Renders job's message for channel ch with the template context ctx
 * (render_context) into p, reusing its buffers; p starts zeroed. strict:
 * unknown template variables are errors (preview). -errno and err when a
 * template or the letter cannot be made. */
int dispatch_prepare(struct dispatch_prepared *p, const struct config *cfg,
                     const struct render *r, const struct job *job, enum job_channel ch,
                     const struct mustache_value *ctx, bool strict, int64_t now_ms,
                     struct error *err);
/* Frees what dispatch_prepare allocated; p may be zeroed. */
void dispatch_prepared_free(struct dispatch_prepared *p);

/* The outcome of a job sent ahead in a batch (dispatch_batch). The caller
 * zeroes it and sets pay_link before the first dispatch_batch. */
struct dispatch_pre {
        const char *pay_link;       /* the job's pay link, or NULL */
        /* The policy's choice for the job (policy_choose with its
         * history), or NULL: chosen without history. */
        const struct policy_decision *decision;
        bool used;                  /* channel was tried for this job in a batch */
        enum job_channel channel;
        struct send_result result;  /* and this is how it went */
        int64_t duration_us;        /* its equal share of the batch's time */
};

/* The pay link of a reminder: the one stored by an earlier attempt (link,
 * filled by the caller from Redis), or one made now (made). */
struct dispatch_link {
        struct queue_paylink link;  /* in: the stored one (url "" for none); out: the link */
        bool made;                  /* made now: the caller stores it */
        enum channel_outcome outcome;  /* TEMPFAIL: retry the job later */
        char reason[256];           /* why there is no link; never a secret */
        int64_t retry_after_ms;
};

/* Whether a pay link provider is configured. */
bool dispatch_paylinks_enabled(const struct dispatch *d);
/* Makes the pay link of job unless out->link has one (one HTTP request to
 * the provider; a failure leaves the url empty and says why). */
void dispatch_paylink(struct dispatch *d, const struct job *job, int64_t now_ms,
                      struct dispatch_link *out);

/* Sends, with the channel driver's send_batch where it has one (SMTP: one
 * session; SMS: several requests in flight), the messages of those jobs
 * whose first channel is ch (SMS: outside the quiet hours) and fills
 * pre[i] for them; jobs[i] may be NULL (skipped), and jobs whose pre[i] is
 * used already are left alone, so one pre serves a dispatch_batch per
 * channel. Then dispatch_job(jobs[i], &pre[i]) finishes each job: it uses
 * the outcome instead of sending again and goes on to the next channel
 * after a permanent failure. */
void dispatch_batch(struct dispatch *d, enum job_channel ch, struct job *const *jobs, size_t n,
                    int64_t now_ms, struct dispatch_pre *pre);

/* Sends job: policy, rendering, the channels in the policy's order until
 * one takes it (pre, may be NULL: an e-mail already sent in a batch). The
 * caller has made sure the reminder was not sent before and holds its
 * sending lease. */
void dispatch_job(struct dispatch *d, const struct job *job, const struct dispatch_pre *pre,
                  int64_t now_ms, struct dispatch_result *r);
