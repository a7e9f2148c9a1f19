/* quiet.h: quiet hours: no SMS at night in the customer's time zone.
 *
 * A window "HH:MM-HH:MM" of local wall-clock time (it may wrap midnight:
 * 21:00-08:00). A job that would send an SMS inside it waits for the
 * window's end, computed in the zone's calendar (ICU), so a DST change in
 * the night still ends it at 08:00 local time. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct quiet {
        bool none;              /* no window: send at any hour */
        int start_min, end_min; /* minutes after local midnight */
};

/* Parses "HH:MM-HH:MM" or "none" (config.c has checked the shape). */
int quiet_parse(struct quiet *q, const char *spec, struct error *err);

/* Whether ICU knows the IANA zone tz (an unknown one would silently be
 * taken as GMT). */
bool quiet_zone_known(const char *tz);

/* 0 when now_ms is outside the window in zone tz (IANA name), else the
 * Unix ms at which it ends. -1 when tz is unknown to ICU. */
int64_t quiet_until(const struct quiet *q, const char *tz, int64_t now_ms);

/* Whether minute (after local midnight) is inside the window; never for
 * a window that is none. */
bool quiet_inside(const struct quiet *q, int minute);

/* Local wall-clock time of an instant in a zone, for callers that reason
 * in days and minutes (timing.c) without a calendar of their own. */
struct quiet_local {
        int year, month, day;   /* month 1-12 */
        int minute;             /* after local midnight */
        int wday;               /* 0 Sunday; quiet_local_of fills it, quiet_local_ms ignores it */
};

/* The local date and minute of ms in zone tz. 0, or -1 when tz is
 * unknown to ICU. */
int quiet_local_of(const char *tz, int64_t ms, struct quiet_local *out);

/* The Unix ms of local wall-clock time t in zone tz (a time skipped by a
 * DST change is taken as the same offset after it, as ICU does), or -1
 * when tz is unknown. */
int64_t quiet_local_ms(const char *tz, const struct quiet_local *t);
