/* sendlimits.c: contact and rate limits over one worker batch. */
#include "sendlimits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "dispatch.h"
#include "history.h"
#include "policy.h"
#include "queue.h"
#include "ratelimit.h"

void sendlimits_contact_rules(const struct config *cfg, struct contact_rules *r)
{
        r->max = cfg->limits.contact_max;
        r->days = cfg->limits.contact_days;
        r->gap_hours = cfg->limits.contact_gap_hours;
}

static void contact_pass(const struct config *cfg, struct job *const *go,
                         const struct policy_decision *dec, struct history *hist, size_t n,
                         int64_t now, struct sendlimits_hold *holds)
{
        struct contact_rules r;
        sendlimits_contact_rules(cfg, &r);
        if (!contact_rules_active(&r))
                return;
        for (size_t k = 0; k < n; k++) {
                if (!go[k] || dec[k].n == 0)
                        continue;
                int64_t until = 0;
                enum contact_verdict v = contact_check(&r, &hist[k].contacts, now, &until);
                if (v != CONTACT_OK) {
                        holds[k].until_ms = until;
                        holds[k].reason = contact_verdict_name(v);
                        continue;
                }
                /* Sent now, as far as the batch's later jobs for the
                 * same customer are concerned: a millisecond apart, so
                 * each send keeps a field of its own. */
                int64_t at = now;
                while (at < now + CONTACT_TIMES_MAX && contact_times_has(&hist[k].contacts, at))
                        at++;
                holds[k].sent_at = at;
                for (size_t j = k + 1; j < n; j++)
                        if (go[j] && strcmp(go[j]->customer.id, go[k]->customer.id) == 0)
                                contact_times_insert(&hist[j].contacts, at);
        }
}

static int rate_pass(struct queue *q, const struct config *cfg, struct job *const *go,
                     const struct policy_decision *dec, size_t n, int64_t now,
                     struct sendlimits_hold *holds, struct error *err)
{
        size_t want[JOB_CHANNEL__N] = { 0 };
        int64_t *slots[JOB_CHANNEL__N] = { 0 };
        bool *charged = xcalloc(n ? n : 1, sizeof(*charged));
        int rc = 0;

        for (size_t k = 0; k < n; k++) {
                if (!go[k] || holds[k].until_ms || dec[k].n == 0)
                        continue;
                enum job_channel c = dec[k].order[0];
                if (!cfg->limits.rate[c])
                        continue;
                holds[k].counted = c;
                if (ratelimit_slot_held(go[k], c, now))
                        continue;
                charged[k] = true;
                want[c]++;
        }
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                slots[c] = xcalloc(want[c] ? want[c] : 1, sizeof(*slots[c]));
        int64_t rnow = now;
        rc = ratelimit_take(q, cfg, want, slots, &rnow, err);
        size_t used[JOB_CHANNEL__N] = { 0 };
        for (size_t k = 0; rc == 0 && k < n; k++) {
                if (!charged[k])
                        continue;
                enum job_channel c = dec[k].order[0];
                int64_t slot = slots[c][used[c]++];
                if (slot <= rnow)
                        continue;
                /* Our clock's time for the slot Redis's clock gave. */
                holds[k].until_ms = now + (slot - rnow);
                holds[k].reason = "rate-limited";
                holds[k].channel = c;
                holds[k].json = ratelimit_json_with_slot(go[k], c, holds[k].until_ms);
        }
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                free(slots[c]);
        free(charged);
        return rc;
}

int sendlimits_apply(struct queue *q, const struct config *cfg, struct job *const *go,
                     const struct policy_decision *dec, struct history *hist, size_t n, int64_t now,
                     struct sendlimits_hold *holds, struct error *err)
{
        for (size_t k = 0; k < n; k++)
                holds[k] = (struct sendlimits_hold){ .channel = JOB_CHANNEL_NONE,
                                                     .counted = JOB_CHANNEL_NONE };
        if (hist)
                contact_pass(cfg, go, dec, hist, n, now, holds);
        return rate_pass(q, cfg, go, dec, n, now, holds, err);
}

int sendlimits_count_fallbacks(struct queue *q, const struct config *cfg,
                               const struct sendlimits_hold *holds,
                               const struct dispatch_result *res, size_t n, struct error *err)
{
        size_t want[JOB_CHANNEL__N] = { 0 }, total = 0;
        int64_t *slots[JOB_CHANNEL__N] = { 0 };
        int64_t now = 0;

        for (size_t k = 0; k < n; k++) {
                enum job_channel c = res[k].channel;
                if (res[k].status != DISPATCH_SENT || c < 0 || c >= JOB_CHANNEL__N ||
                    !cfg->limits.rate[c] || holds[k].counted == c)
                        continue;
                want[c]++;
                total++;
        }
        if (!total)
                return 0;
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                slots[c] = xcalloc(want[c] ? want[c] : 1, sizeof(*slots[c]));
        int rc = ratelimit_take(q, cfg, want, slots, &now, err);
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                free(slots[c]);
        return rc;
}

void sendlimits_txn_sent(struct queue *q, const struct config *cfg, const struct job *job,
                         const struct history *h, const struct sendlimits_hold *hold)
{
        int64_t now = hold->sent_at;
        struct contact_rules r;
        char key[512], field[48];
        int64_t stale[CONTACT_TIMES_MAX];

        sendlimits_contact_rules(cfg, &r);
        if (!contact_rules_active(&r) || !cfg->history.enabled || !now)
                return;
        history_key(q, key, sizeof(key), "customer", job->customer.id);
        snprintf(field, sizeof(field), CONTACT_FIELD "%lld", (long long)now);
        const char *set[] = { "HSET", key, field, "1" };
        queue_txn_argv(q, 4, set);
        size_t n = contact_times_stale(&r, &h->contacts, now, stale);
        for (size_t i = 0; i < n; i++) {
                snprintf(field, sizeof(field), CONTACT_FIELD "%lld", (long long)stale[i]);
                const char *del[] = { "HDEL", key, field };
                queue_txn_argv(q, 3, del);
        }
}

void sendlimits_holds_free(struct sendlimits_hold *holds, size_t n)
{
        for (size_t i = 0; holds && i < n; i++)
                free(holds[i].json);
}
