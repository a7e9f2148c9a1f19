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
