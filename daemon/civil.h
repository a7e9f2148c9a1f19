/* civil.h: calendar dates as day numbers; pure (proleptic Gregorian, no
 * time zones, no clock). Shared by the WIK term, ICU date formatting and
 * the days-overdue of a reminder. */
#pragma once

#include <stdint.h>

/* Parses exactly "YYYY-MM-DD" (years 0001-9999, real calendar dates) into
 * days since 1970-01-01. Returns 0 or -EINVAL. */
int civil_parse(const char *ymd, int64_t *days);

/* Writes the date of day number days as "YYYY-MM-DD" into out; returns 0,
 * or -ERANGE outside years 0001-9999 (out is then ""). */
int civil_format(int64_t days, char out[11]);

/* The year of a day number. */
int64_t civil_year(int64_t days);

/* The day number of year y, month m (1-12), day d, and back: for callers
 * that have the parts already (a zone's local date, timing.c). */
int64_t civil_days(int y, int m, int d);
void civil_date(int64_t days, int *y, int *m, int *d);

/* The UTC day number of a Unix time in milliseconds. */
int64_t civil_today(int64_t unix_ms);
