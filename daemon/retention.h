/* retention.h: personal data kept only as long as configured.
 *
 * The keys carry TTLs set where they are written (history.retention_days
 * for customer, invoice and reminder hashes and payment markers;
 * queue.sent_ttl_days for the idempotency markers). Streams cannot expire
 * entry by entry, so housekeeping trims them by age here:
 * retention.events_days for <prefix>:events, retention.payments_days for
 * <prefix>:payments (XTRIM MINID: the entry id is its time), never past
 * an entry a consumer group has not read or acknowledged yet. */
#pragma once

#include <stdint.h>

#include "error.h"

struct config;
struct queue;

/* Trims the streams whose retention is set (0: not by age) to entries
 * younger than their days before now_ms; one transaction. */
int retention_trim(struct queue *q, const struct config *cfg, int64_t now_ms, struct error *err);

/* The MINID bound, "<ms>-0", for a retention of days before now_ms. */
void retention_minid(char out[32], int64_t now_ms, int days);
