/* civil.c: day numbers from and to calendar dates (Howard Hinnant's
 * days_from_civil / civil_from_days algorithms). */
#include "civil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

int64_t civil_days(int y, int m, int d)
{
        return days_from_civil(y, (unsigned)m, (unsigned)d);
}

void civil_date(int64_t days, int *y, int *m, int *d)
{
        int64_t yy;
        unsigned mm, dd;
        civil_from_days(days, &yy, &mm, &dd);
        *y = (int)yy;
        *m = (int)mm;
        *d = (int)dd;
}

int civil_parse(const char *s, int64_t *days)
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

int civil_format(int64_t days, char out[11])
{
        int64_t y;
        unsigned m, d;

        civil_from_days(days, &y, &m, &d);
        if (y < 1 || y > 9999) {
                out[0] = '\0';
                return -ERANGE;
        }
        snprintf(out, 11, "%04d-%02u-%02u", (int)y, m, d);
        return 0;
}

int64_t civil_year(int64_t days)
{
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        return y;
}

int64_t civil_today(int64_t unix_ms)
{
        int64_t days = unix_ms / 86400000;
        return (unix_ms < 0 && unix_ms % 86400000) ? days - 1 : days;
}
