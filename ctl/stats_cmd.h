/* stats_cmd.h: `dunningctl stats` and `dunningctl explain`. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "history.h"
#include "hold.h"
#include "policy.h"

struct config;
struct queue;
struct error;

/* Run the commands (argv[0] is the command's name); CTL_* exit codes. */
int stats_cmd(const struct config *cfg, int argc, char **argv, bool json);
int explain_cmd(const struct config *cfg, int argc, char **argv, bool json);
/* What `explain --json` prints about customer id, as JSON text in *out
 * (free it; NULL when the customer has no history). */
int explain_json_text(const struct config *cfg, struct queue *q, const char *id, char **out,
                      struct error *err);

/* --since and --until: a date (YYYY-MM-DD, midnight UTC), an RFC 3339
 * time or Unix seconds into Unix ms. 0 or -EINVAL. */
int stats_parse_since(const char *s, int64_t *ms);

/* What `explain` shows of one customer (shared with the credit team's
 * pages): the history, its segment, and what the policy would do next. */
struct explain {
        struct history h;
        char segment[64];
        bool derived;                   /* the segment came from payment behaviour */
        struct job *job;                /* NULL: no reminder sent yet (owned) */
        struct policy_decision d;       /* valid when job is set */
        struct hold_summary holds;      /* disputes, the flag, the hold (hold.h) */
        /* The escalation flow the customer is in (config flows), when the
         * job is in one: its name, and the step after the job's with the
         * time it would come due counted from the last send (0: none). */
        char flow[64];
        char next_step[64];
        int64_t next_due_ms;
        /* timing.enabled: the customer's best local hour (-1: not known)
         * and when the policy's first channel, e-mail or SMS, could go
         * out now (0: not timed) and why then. */
        int best_hour;
        int64_t send_at_ms;
        const char *send_at_why;
};
/* Reads customer id's history and asks the policy about step (NULL: the
 * last one) at now. -ENOENT when the customer has no history, -EINVAL
 * for a bad step, else a Redis error; err says which. Free with
 * explain_free. */
int explain_load(const struct config *cfg, struct queue *q, const char *id, const char *step,
                 int64_t now, struct explain *e, struct error *err);
void explain_free(struct explain *e);
/* The shape `explain --json` prints (owned by the caller). */
struct json_t *explain_json(const char *id, const struct explain *e);
