/* quiet.c: quiet hours in the customer's zone, with ICU's calendar. */
#include "quiet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

int quiet_parse(struct quiet *q, const char *spec, struct error *err)
{
        int h1, m1, h2, m2, n = 0;

        memset(q, 0, sizeof(*q));
        if (!spec || strcmp(spec, "none") == 0) {
                q->none = true;
                return 0;
        }
        if (sscanf(spec, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 || spec[n] ||
            h1 < 0 || h1 > 23 || h2 < 0 || h2 > 23 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59)
                return error_set(err, -EINVAL, "quiet hours \"%s\": must be HH:MM-HH:MM", spec);
        q->start_min = h1 * 60 + m1;
        q->end_min = h2 * 60 + m2;
        q->none = q->start_min == q->end_min;
        return 0;
}

bool quiet_inside(const struct quiet *q, int m)
{
        if (q->none)
                return false;
        if (q->start_min < q->end_min)
                return m >= q->start_min && m < q->end_min;
        return m >= q->start_min || m < q->end_min;   /* wraps midnight */
}

bool quiet_zone_known(const char *tz)
{
        UChar zone[80], canon[80];
        UBool system = 0;
        UErrorCode st = U_ZERO_ERROR;

        if (!tz || strlen(tz) >= sizeof(zone) / sizeof(zone[0]))
                return false;
        u_uastrcpy(zone, tz);
        ucal_getCanonicalTimeZoneID(zone, -1, canon, 80, &system, &st);
        return U_SUCCESS(st) && system;
}

int64_t quiet_until(const struct quiet *q, const char *tz, int64_t now_ms)
{
        UChar zone[80];
        UErrorCode st = U_ZERO_ERROR;

        if (q->none)
                return 0;
        if (!quiet_zone_known(tz))
                return -1;
        u_uastrcpy(zone, tz);
        UCalendar *cal = ucal_open(zone, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
        if (U_FAILURE(st))
                return -1;
        ucal_setMillis(cal, (UDate)now_ms, &st);
        int m = ucal_get(cal, UCAL_HOUR_OF_DAY, &st) * 60 + ucal_get(cal, UCAL_MINUTE, &st);
        int64_t until = 0;
        if (U_SUCCESS(st) && quiet_inside(q, m)) {
                /* The window's end today, or tomorrow when it lies behind
                 * us (21:00-08:00 at 22:00 ends tomorrow), set as wall-clock
                 * fields so DST is the calendar's business. */
                if (m >= q->end_min)
                        ucal_add(cal, UCAL_DATE, 1, &st);
                ucal_set(cal, UCAL_HOUR_OF_DAY, q->end_min / 60);
                ucal_set(cal, UCAL_MINUTE, q->end_min % 60);
                ucal_set(cal, UCAL_SECOND, 0);
                ucal_set(cal, UCAL_MILLISECOND, 0);
                until = (int64_t)ucal_getMillis(cal, &st);
        }
        ucal_close(cal);
        return U_SUCCESS(st) ? until : -1;
}

static UCalendar *open_zone(const char *tz)
{
        UChar zone[80];
        UErrorCode st = U_ZERO_ERROR;

        if (!quiet_zone_known(tz))
                return NULL;
        u_uastrcpy(zone, tz);
        UCalendar *cal = ucal_open(zone, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
        if (U_FAILURE(st)) {
                if (cal)
                        ucal_close(cal);
                return NULL;
        }
        return cal;
}

int quiet_local_of(const char *tz, int64_t ms, struct quiet_local *out)
{
        UErrorCode st = U_ZERO_ERROR;
        UCalendar *cal = open_zone(tz);

        if (!cal)
                return -1;
        ucal_setMillis(cal, (UDate)ms, &st);
        out->year = ucal_get(cal, UCAL_YEAR, &st);
        out->month = ucal_get(cal, UCAL_MONTH, &st) + 1;
        out->day = ucal_get(cal, UCAL_DATE, &st);
        out->minute = ucal_get(cal, UCAL_HOUR_OF_DAY, &st) * 60 + ucal_get(cal, UCAL_MINUTE, &st);
        out->wday = ucal_get(cal, UCAL_DAY_OF_WEEK, &st) - UCAL_SUNDAY;
        ucal_close(cal);
        return U_SUCCESS(st) ? 0 : -1;
}

int64_t quiet_local_ms(const char *tz, const struct quiet_local *t)
{
        UErrorCode st = U_ZERO_ERROR;
        UCalendar *cal = open_zone(tz);

        if (!cal)
                return -1;
        ucal_setDateTime(cal, t->year, t->month - 1, t->day, t->minute / 60, t->minute % 60, 0,
                         &st);
        ucal_set(cal, UCAL_MILLISECOND, 0);
        int64_t ms = (int64_t)ucal_getMillis(cal, &st);
        ucal_close(cal);
        return U_SUCCESS(st) ? ms : -1;
}
