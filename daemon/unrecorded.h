/* unrecorded: the sends of a batch whose record did not reach Redis.
 *
 * A worker sends a batch, then records it in one MULTI/EXEC. When that
 * EXEC fails (Redis restarted, the connection broke), nothing is acked and
 * the worker processes the same batch again right after the reconnect,
 * with its sending leases still its own (worker.c, `redo`): without a
 * memory of what went out, the redo sends every message a second time.
 * When a record fails, the worker keeps each result it sent here until a
 * record succeeds, and the redo records these results instead of sending
 * again. Per worker; not thread-safe. */
#ifndef DUNNINGD_UNRECORDED_H
#define DUNNINGD_UNRECORDED_H

#include <stddef.h>

#include "dispatch.h"

struct unrecorded_entry;

struct unrecorded {
        struct unrecorded_entry *v;
        size_t n, cap;
};

#define UNRECORDED_INIT { NULL, 0, 0 }

/* Remembers that reminder_id went out with result r (copied; replaces
 * what was remembered for it). */
void unrecorded_add(struct unrecorded *u, const char *reminder_id,
                    const struct dispatch_result *r);
/* The result reminder_id went out with, or NULL; borrowed until the next
 * unrecorded_add or unrecorded_free. */
const struct dispatch_result *unrecorded_find(const struct unrecorded *u,
                                              const char *reminder_id);
/* Forgets everything and frees the memory (after a record reached Redis,
 * and at the end); u is empty afterwards. */
void unrecorded_free(struct unrecorded *u);

#endif
