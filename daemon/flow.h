/* flow.h: escalation flows (config flows.<segment>); pure.
 *
 * A segment's flow is an ordered list of steps. A job whose step is in
 * the flow of its customer's segment (history_segment_of) goes out only
 * on that step's channels; once it is sent the next step is scheduled,
 * its time counted from the due date or from this step's own time; the
 * step named "handover" sends nothing and hands the invoices over to a
 * collection agency. A scheduled step names its flow (job field "flow"),
 * so the flow goes on when payments move the customer to another
 * segment. Without flows every job stands alone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "job.h"

/* The flow of segment (NULL: none known): its own, else "default", else
 * NULL. Borrowed from cfg. */
const struct config_flow *flow_of(const struct config *cfg, const char *segment);

/* The step named step in the flow of segment, or NULL when there is no
 * such flow or step; *index (may be NULL) gets its position. */
const struct config_flow_step *flow_step_of(const struct config *cfg, const char *segment,
                                            const char *step, size_t *index);

/* Whether a job at step of segment may go out on ch: true unless the
 * step is in a flow that names its channels and ch is not one of them. */
bool flow_allows(const struct config *cfg, const char *segment, const char *step,
                 enum job_channel ch);

/* The step after job's in its segment's flow, or NULL (not in a flow, or
 * the last step). *due_ms gets its time: the earliest due date of the
 * job's invoices (00:00 UTC) plus after_due_days, or own_ms plus
 * after_previous_days, never before own_ms. own_ms is this step's own
 * time (its not_before, or when it entered the stream), not the clock, so
 * recording the same send twice schedules the same next job. */
const struct config_flow_step *flow_next(const struct config *cfg, const char *segment,
                                         const struct job *job, int64_t own_ms,
                                         int64_t *due_ms);
