/* ratelimit.h: provider rate limits that hold across every instance.
 *
 * A generic cell rate algorithm (GCRA) whose state, one "theoretical
 * arrival time" per bucket, lives in Redis:
 *
 *   <prefix>:rate:<channel>:<provider>   string, TAT in Unix microseconds,
 *                                        expiring once it lies in the past
 *
 * A bucket is a channel's provider (the SMS profile, the SMTP host, the
 * print service's host, or "outbox"), so every instance sending through
 * the same provider shares one bucket. A worker reserves the sends of a
 * whole batch in one script call: the first ones go now, the others get
 * their own later slot and wait for it in the scheduled set, carrying the
 * slot in the job ("rate_slot") so they are not charged a second time.
 *
 * The limit is written "N/UNIT" with UNIT one of s, min, h, day, optionally
 * followed by " burst B" (B sends may go at once; default 1). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "job.h"

struct queue;
struct config;

struct ratelimit_rate {
        int64_t interval_us;  /* emission interval T: one send per T, rounded up */
        int64_t tolerance_us; /* (burst - 1) * T */
};

/* Parses "50/s", "600/min", "2000/day", "10/s burst 5". Returns 0, or
 * -EINVAL with the reason in err. */
int ratelimit_parse(const char *s, struct ratelimit_rate *out, struct error *err);

/* The GCRA maths for a reservation of n sends. tat is the bucket's state
 * before (0: none), now the clock (both in us). *start is the TAT the
 * reservation starts from, max(tat, now); the new state is
 * *start + n * interval. Send i (0-based) may go at ratelimit_slot(). */
int64_t ratelimit_reserve(const struct ratelimit_rate *r, int64_t tat, int64_t now, int64_t n,
                          int64_t *start);
/* When send i of a reservation that starts at start may go: never before
 * now, and i * interval after the start less the burst tolerance. */
int64_t ratelimit_slot(const struct ratelimit_rate *r, int64_t start, int64_t now, int64_t i);

/* The bucket name of channel ch under cfg ("sms:messagebird",
 * "email:smtp.example:587", "letter:print.example", "email:outbox"). */
void ratelimit_bucket(const struct config *cfg, enum job_channel ch, char *out, size_t n);

/* The slot a job carries from an earlier reservation, if it is for ch and
 * for this step and attempt of the job and falls within [now - 10 min,
 * now + 1 s]: then the job is not charged again. */
bool ratelimit_slot_held(const struct job *job, enum job_channel ch, int64_t now_ms);
/* The job's JSON with "rate_slot" set for ch at slot_ms (newly allocated;
 * free it), or NULL when the text cannot be rewritten. */
char *ratelimit_json_with_slot(const struct job *job, enum job_channel ch, int64_t slot_ms);

/* Reserves want[ch] sends on each limited channel of cfg in one script
 * call, and fills slot_ms[ch][0..want[ch]) with when each may go (<= now:
 * at once). now_ms_out gets Redis's clock. Channels without a limit or
 * with want 0 are left alone. */
int ratelimit_take(struct queue *q, const struct config *cfg, const size_t want[JOB_CHANNEL__N],
                   int64_t *slot_ms[JOB_CHANNEL__N], int64_t *now_ms_out, struct error *err);
