/* wik.h: Dutch statutory collection costs (Besluit vergoeding voor
 * buitengerechtelijke incassokosten, art. 6:96 BW) and the 14-day term of
 * the final notice that must precede them ("veertiendagenbrief",
 * art. 6:96 lid 6 BW). Pure: integer cents and calendar dates, no I/O,
 * no clock, no time zones. */
#pragma once

#include <stdint.h>

/* The highest and lowest costs the decree allows, in cents. */
#define WIK_MIN_CENTS 4000
#define WIK_MAX_CENTS 677500

/* The statutory collection costs, in cents, for a principal in cents:
 * 15% of the first EUR 2,500, 10% of the next 2,500, 5% of the next 5,000,
 * 1% of the next 190,000, 0.5% of the rest, summed exactly and rounded to
 * the cent half up (only the total is rounded), then held within
 * EUR 40..6,775. A principal <= 0 owes nothing: 0. Excluding VAT. */
int64_t wik_costs_cents(int64_t principal_cents);

/* Writes to out the last day ("YYYY-MM-DD") of the 14-day term of a final
 * notice sent on sent_ymd ("YYYY-MM-DD", proleptic Gregorian, 0001-9999):
 * assumed delivery = sent + postal_lag_days; day 1 of the term = delivery
 * + 1; last day = delivery + 14. Costs may be charged from the day after.
 * Returns 0, or -EINVAL for an invalid date or a lag outside 0..365, or
 * -ERANGE past 9999-12-31; out is then "". */
int wik_term_end(const char *sent_ymd, int postal_lag_days, char out[11]);
