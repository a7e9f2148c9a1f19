/* contact.h: how often one customer may be reminded, over every channel.
 *
 * limits.contact: at most max reminders in days days, and none within
 * gap_hours of the previous one. The customer hash keeps one field per
 * recent send,
 *
 *   sent_at:<Unix ms>   "1"
 *
 * read with the rest of the customer's history before a batch and written
 * in the batch's transaction: a field per send, so two workers recording
 * sends of one customer at once both keep theirs (one field holding a
 * list would keep the last writer's). Sends too old to matter are deleted
 * with the next send. Pure: no I/O here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTACT_TIMES_MAX 32
#define CONTACT_MAX_LIMIT 30 /* the largest limits.contact.max */
#define CONTACT_FIELD "sent_at:"

struct contact_times {
        size_t n;
        int64_t ms[CONTACT_TIMES_MAX]; /* ascending */
};

struct contact_rules {
        int max; /* reminders in days; 0: no count limit */
        int days;
        int gap_hours; /* 0: no gap */
};

/* Whether the rules limit anything (else nothing is read or written). */
int contact_rules_active(const struct contact_rules *r);

/* Adds a send at ms in order (a time already there is not added twice);
 * when full, the oldest goes. ms <= 0 is ignored. */
void contact_times_insert(struct contact_times *t, int64_t ms);

/* Whether t holds a send at ms. */
bool contact_times_has(const struct contact_times *t, int64_t ms);

/* The sends of t that no decision from now on needs: older than both the
 * window (days) and the gap. Writes them to out (room for t->n); returns
 * how many. */
size_t contact_times_stale(const struct contact_rules *r, const struct contact_times *t,
                           int64_t now, int64_t *out);

enum contact_verdict {
        CONTACT_OK,
        CONTACT_LIMIT, /* max reminders in days reached */
        CONTACT_GAP,   /* the previous one was less than gap_hours ago */
};

/* Whether a reminder may go at now given the earlier sends t. When not,
 * *until is the first time it may (both rules met), and the verdict is
 * the rule that holds it back longest. */
enum contact_verdict contact_check(const struct contact_rules *r, const struct contact_times *t,
                                   int64_t now, int64_t *until);
/* "contact-limit", "contact-gap" (the event's reason), or "ok". */
const char *contact_verdict_name(enum contact_verdict v);
