/* flow.c: escalation flows: which step follows which, when, and on which
 * channels (flow.h). */
#include "flow.h"

#include <string.h>

#include "civil.h"
#include "quiet.h"

#define DAY_MS (86400 * (int64_t)1000)

const struct config_flow *flow_of(const struct config *cfg, const char *segment)
{
        const struct config_flow *def = NULL;

        for (size_t i = 0; cfg && i < cfg->n_flows; i++) {
                if (segment && strcmp(cfg->flows[i].segment, segment) == 0)
                        return &cfg->flows[i];
                if (strcmp(cfg->flows[i].segment, "default") == 0)
                        def = &cfg->flows[i];
        }
        return def;
}

const struct config_flow_step *flow_step_of(const struct config *cfg, const char *segment,
                                            const char *step, size_t *index)
{
        const struct config_flow *f = flow_of(cfg, segment);

        for (size_t i = 0; f && step && i < f->n_steps; i++) {
                if (strcmp(f->steps[i].step, step) == 0) {
                        if (index)
                                *index = i;
                        return &f->steps[i];
                }
        }
        return NULL;
}

bool flow_allows(const struct config *cfg, const char *segment, const char *step,
                 enum job_channel ch)
{
        const struct config_flow_step *st = flow_step_of(cfg, segment, step, NULL);

        if (!st || !st->channel_mask)
                return true;
        return ch >= 0 && ch < JOB_CHANNEL__N && (st->channel_mask & (1u << ch));
}

const struct config_flow_step *flow_next(const struct config *cfg, const char *segment,
                                         const struct job *job, int64_t own_ms,
                                         int64_t *due_ms)
{
        const struct config_flow *f = flow_of(cfg, segment);
        size_t i;

        if (!flow_step_of(cfg, segment, job->step, &i) || i + 1 >= f->n_steps)
                return NULL;
        const struct config_flow_step *next = &f->steps[i + 1];
        int64_t at = own_ms;
        if (next->after_due_days >= 0) {
                int64_t first = INT64_MAX, day;
                for (size_t k = 0; k < job->n_invoices; k++)
                        if (civil_parse(job->invoices[k].due, &day) == 0 && day < first)
                                first = day;
                if (first != INT64_MAX) {
                        /* Midnight where the customer lives (the configured
                         * zone when the job names none). */
                        const char *tz = job->customer.timezone;
                        struct quiet_local t = { .minute = 0 };
                        civil_date(first + next->after_due_days, &t.year, &t.month, &t.day);
                        if (!tz || !quiet_zone_known(tz))
                                tz = cfg->default_timezone;
                        at = tz ? quiet_local_ms(tz, &t) : -1;
                        if (at < 0)
                                at = (first + next->after_due_days) * DAY_MS;
                }
        } else if (next->after_previous_days > 0) {
                at = own_ms + next->after_previous_days * DAY_MS;
        }
        *due_ms = at > own_ms ? at : own_ms;
        return next;
}
