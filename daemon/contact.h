/* contact.h: how often one customer may be reminded, over every channel.
 *
 * limits.contact: at most max reminders in days days, and none within
 * gap_hours of the previous one. The customer hash keeps the times of the
 * recent sends in one field,
 *
 *   contacts   Unix ms of the last sends, ascending, comma-separated
 *
 * read with the rest of the customer's history before a batch and written
 * in the batch's transaction. Pure: no I/O here. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CONTACT_TIMES_MAX 32

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

/* Parses the field ("" or NULL: none); bad items are skipped, the rest
 * sorted, the oldest dropped beyond CONTACT_TIMES_MAX. */
void contact_times_parse(struct contact_times *t, const char *s);
/* Formats t for the field into out (at least CONTACT_TIMES_MAX * 21). */
void contact_times_format(const struct contact_times *t, char *out, size_t n);
/* Adds a send at ms and drops what the rules no longer need: sends older
 * than days, beyond the last max (the last one stays for the gap). */
void contact_times_add(struct contact_times *t, int64_t ms, const struct contact_rules *r);

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
