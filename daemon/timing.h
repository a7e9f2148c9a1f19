/* timing.h: when an e-mail or SMS goes out: at the customer's best hour
 * (the local hour at which they have paid most often), inside the send
 * window, outside the quiet hours, on a working day; pure but for the
 * zone's calendar (ICU, through quiet.h).
 *
 * Letters are not timed: the post does not deliver at an hour. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "history.h"
#include "quiet.h"

struct timing_rules {
        struct quiet window;            /* sends only inside; none: any hour */
        struct quiet quiet;             /* never inside (SMS at night); none: no such hours */
        bool weekends;                  /* false: not on Saturday or Sunday */
        char *const *holidays;          /* "YYYY-MM-DD" local dates, borrowed */
        size_t n_holidays;
        int min_payments;               /* fewer payments known: no best hour */
};

/* The rules of cfg's timing block for a channel: with quiet_hours (the
 * SMS ones, "HH:MM-HH:MM" or "none") or NULL. Borrows cfg's holidays. */
int timing_rules_from_config(struct timing_rules *r, const struct config *cfg,
                             const char *quiet_hours, struct error *err);

/* The local hour (0-23) at which h's customer paid most often (the
 * earliest of equals), or -1 with fewer than min_payments payments. */
int timing_best_hour(const struct history *h, int min_payments);

/* Why timing_send_at put a send off. */
enum timing_why {
        TIMING_NOW,          /* not put off */
        TIMING_WINDOW,       /* outside the send window or inside the quiet hours */
        TIMING_WEEKEND,
        TIMING_HOLIDAY,
        TIMING_BEST_HOUR,    /* allowed now, but the best hour is coming */
};

/* The Unix ms to send at (now_ms when now is fine) for a customer with
 * history h (NULL: none) in zone tz: the first allowed minute, or the
 * first allowed minute of the best hour when that is at most 24 h later.
 * The window, weekends and holidays may put it off longer; a zone ICU
 * does not know, or rules that allow nothing within a year: now_ms.
 * why (may be NULL) says what put it off. */
int64_t timing_send_at(const struct timing_rules *r, const struct history *h, const char *tz,
                       int64_t now_ms, enum timing_why *why);

/* "best-hour", "send-window", "weekend", "holiday" (the deferred event's
 * reason), or "now". */
const char *timing_why_name(enum timing_why why);
