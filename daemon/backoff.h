/* backoff.h: retry timing for temporary failures; pure. */
#pragma once

#include <stdint.h>

/* The delay before retry number `attempt` (1 = first retry): exponential,
 * base_ms * 2^(attempt-1) capped at max_ms, with "equal jitter": the
 * result lies in [d/2, d], picked by rnd (any 32-bit random value), so
 * retries of many jobs failing together spread out but never come sooner
 * than half the nominal delay. */
int64_t backoff_delay_ms(int attempt, int64_t base_ms, int64_t max_ms, uint32_t rnd);
