/* wik.c: the statutory collection costs of art. 6:96 BW and the 14-day
 * term of the final notice, in integer cents and whole calendar days.
 *
 * Costs are summed per bracket in thousandths of a cent (cents times the
 * rate in per mille: 0.5% is 5 per mille), which is exact, and only the
 * total is rounded to the cent, half up. Dates are civil.c's day numbers. */
#include <errno.h>
#include <stddef.h>

#include "wik.h"

#include "civil.h"

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

int wik_term_end(const char *sent_ymd, int postal_lag_days, char out[11])
{
        int64_t sent;

        out[0] = '\0';
        if (postal_lag_days < 0 || postal_lag_days > 365 || civil_parse(sent_ymd, &sent) < 0)
                return -EINVAL;
        /* delivered = sent + lag; the term is days delivered+1 .. delivered+14 */
        return civil_format(sent + postal_lag_days + 14, out);
}
