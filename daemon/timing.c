/* timing.c: the send time of an e-mail or SMS (timing.h).
 *
 * Reasons in local days and minutes: the days are civil day numbers
 * (civil.h), so only "what is the local time now" and "what instant is
 * this local time" ask the zone's calendar, and a DST change is ICU's. */
#include "timing.h"

#include <string.h>

#include "civil.h"

#define HOUR_MS (3600 * (int64_t)1000)
#define MAX_DAYS 366

int timing_rules_from_config(struct timing_rules *r, const struct config *cfg,
                             const char *quiet_hours, struct error *err)
{
        int rc;

        memset(r, 0, sizeof(*r));
        if ((rc = quiet_parse(&r->window, cfg->timing.send_window, err)) < 0 ||
            (rc = quiet_parse(&r->quiet, quiet_hours, err)) < 0)
                return rc;
        r->weekends = cfg->timing.weekends;
        r->holidays = cfg->timing.holidays;
        r->n_holidays = cfg->timing.n_holidays;
        r->min_payments = cfg->timing.min_payments;
        return 0;
}

int timing_best_hour(const struct history *h, int min_payments)
{
        int64_t total = 0;
        int best = 0;

        if (!h)
                return -1;
        for (int i = 0; i < 24; i++) {
                total += h->hour[i] > 0 ? h->hour[i] : 0;
                if (h->hour[i] > h->hour[best])
                        best = i;
        }
        return total >= min_payments && total > 0 ? best : -1;
}

const char *timing_why_name(enum timing_why why)
{
        switch (why) {
        case TIMING_NOW: return "now";
        case TIMING_WINDOW: return "send-window";
        case TIMING_WEEKEND: return "weekend";
        case TIMING_HOLIDAY: return "holiday";
        case TIMING_BEST_HOUR: return "best-hour";
        }
        return "now";
}

static bool holiday(const struct timing_rules *r, int64_t day)
{
        char ymd[11];

        if (civil_format(day, ymd) < 0)
                return false;
        for (size_t i = 0; i < r->n_holidays; i++)
                if (strcmp(r->holidays[i], ymd) == 0)
                        return true;
        return false;
}

static bool minute_ok(const struct timing_rules *r, int m)
{
        return (r->window.none || quiet_inside(&r->window, m)) && !quiet_inside(&r->quiet, m);
}

/* The first allowed (day, minute) at or after (*day, *minute) within
 * max_days, whose hour is hour (or any: -1). Returns false when none;
 * *why learns the first reason a day was passed over. */
static bool first_allowed(const struct timing_rules *r, int64_t *day, int *minute, int hour,
                          int max_days, enum timing_why *why)
{
        /* Rules that allow no minute of any day (a send window inside the
         * quiet hours) would otherwise scan every minute of a year, for
         * every job. */
        bool any = false;
        for (int m = 0; m < 24 * 60 && !any; m++)
                any = minute_ok(r, m);
        if (!any)
                return false;
        for (int64_t d = *day; d < *day + max_days; d++) {
                int wday = (int)(((d + 4) % 7 + 7) % 7);   /* 1970-01-01 was a Thursday */
                if (!r->weekends && (wday == 0 || wday == 6)) {
                        if (*why == TIMING_NOW)
                                *why = TIMING_WEEKEND;
                        continue;
                }
                if (holiday(r, d)) {
                        if (*why == TIMING_NOW)
                                *why = TIMING_HOLIDAY;
                        continue;
                }
                int from = d == *day ? *minute : 0, to = 24 * 60;
                if (hour >= 0) {
                        from = from > hour * 60 ? from : hour * 60;
                        to = (hour + 1) * 60;
                }
                for (int m = from; m < to; m++) {
                        if (minute_ok(r, m)) {
                                *day = d;
                                *minute = m;
                                return true;
                        }
                }
        }
        return false;
}

static int64_t instant(const char *tz, int64_t day, int minute, int64_t now_ms,
                       const struct quiet_local *now, int64_t now_day)
{
        struct quiet_local t = { .minute = minute };

        /* The minute we are in already: now, not its start. */
        if (day == now_day && minute == now->minute)
                return now_ms;
        civil_date(day, &t.year, &t.month, &t.day);
        return quiet_local_ms(tz, &t);
}

int64_t timing_send_at(const struct timing_rules *r, const struct history *h, const char *tz,
                       int64_t now_ms, enum timing_why *why)
{
        struct quiet_local now;
        enum timing_why w = TIMING_NOW;

        if (why)
                *why = TIMING_NOW;
        if (quiet_local_of(tz, now_ms, &now) < 0)
                return now_ms;
        int64_t today = civil_days(now.year, now.month, now.day);

        int64_t day = today;
        int minute = now.minute;
        if (!first_allowed(r, &day, &minute, -1, MAX_DAYS, &w))
                return now_ms;
        int64_t at = instant(tz, day, minute, now_ms, &now, today);
        if (at < 0)
                return now_ms;
        if (at > now_ms && w == TIMING_NOW)
                w = TIMING_WINDOW;

        /* The best hour, if it comes within a day of the first allowed
         * minute: a customer who pays in the evening is not kept waiting
         * over a weekend for it. */
        int best = timing_best_hour(h, r->min_payments);
        enum timing_why ignored = TIMING_NOW;
        if (best >= 0 && first_allowed(r, &day, &minute, best, 2, &ignored)) {
                int64_t b = instant(tz, day, minute, now_ms, &now, today);
                if (b > at && b - at <= 24 * HOUR_MS) {
                        at = b;
                        w = TIMING_BEST_HOUR;
                }
        }
        if (at <= now_ms)
                return now_ms;
        if (why)
                *why = w;
        return at;
}
