/* wik.c: the statutory collection costs of art. 6:96 BW and the 14-day
 * term of the final notice, in integer cents and whole calendar days.
 *
 * Costs are summed per bracket in thousandths of a cent (cents times the
 * rate in per mille: 0.5% is 5 per mille), which is exact, and only the
 * total is rounded to the cent, half up. Dates are days since 1970-01-01
 * by Howard Hinnant's days_from_civil/civil_from_days. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "wik.h"

/* The brackets of the decree: width in cents (0 = the rest) and rate in
 * per mille. */
static const struct {
        int64_t width;
        int64_t permille;
} brackets[] = {
        { 250000, 150 },        /* first EUR 2,500: 15% */
        { 250000, 100 },        /* next EUR 2,500: 10% */
        { 500000, 50 },         /* next EUR 5,000: 5% */
        { 19000000, 10 },       /* next EUR 190,000: 1% */
        { 0, 5 },               /* above EUR 200,000: 0.5% */
};

/* From EUR 1,000,000 on, the exact costs are at least the maximum (6,775 =
 * 2,775 for the first 200,000 + 0.5% of 800,000), so larger principals are
 * cut to this before the arithmetic, which then cannot overflow. */
#define CAP_PRINCIPAL_CENTS 100000000

int64_t wik_costs_cents(int64_t principal_cents)
{
        int64_t left, milli = 0;

        if (principal_cents <= 0)
                return 0;
        left = principal_cents < CAP_PRINCIPAL_CENTS ? principal_cents : CAP_PRINCIPAL_CENTS;
        for (size_t i = 0; i < sizeof(brackets) / sizeof(brackets[0]) && left > 0; i++) {
                int64_t part = brackets[i].width && left > brackets[i].width ? brackets[i].width
                                                                            : left;
                milli += part * brackets[i].permille;
                left -= part;
        }

        int64_t cents = (milli + 500) / 1000;
        if (cents < WIK_MIN_CENTS)
                return WIK_MIN_CENTS;
        if (cents > WIK_MAX_CENTS)
                return WIK_MAX_CENTS;
        return cents;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned)(y - era * 400);
        unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Parses exactly "YYYY-MM-DD" (years 0001-9999) into days since 1970-01-01. */
static int parse_ymd(const char *s, int64_t *days)
{
        static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
                return -EINVAL;
        for (int i = 0; i < 10; i++)
                if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
                        return -EINVAL;
        unsigned y = (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
                                (s[3] - '0'));
        unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
        unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
                return -EINVAL;
        *days = days_from_civil(y, m, d);
        return 0;
}

int wik_term_end(const char *sent_ymd, int postal_lag_days, char out[11])
{
        int64_t sent, y;
        unsigned m, d;

        out[0] = '\0';
        if (postal_lag_days < 0 || postal_lag_days > 365 || parse_ymd(sent_ymd, &sent) < 0)
                return -EINVAL;
        /* delivered = sent + lag; the term is days delivered+1 .. delivered+14 */
        civil_from_days(sent + postal_lag_days + 14, &y, &m, &d);
        if (y > 9999)
                return -ERANGE;
        snprintf(out, 11, "%04d-%02u-%02u", (int)y, m, d);
        return 0;
}
