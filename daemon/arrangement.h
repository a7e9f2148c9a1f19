/* arrangement.h: payment arrangements (betalingsregeling); pure.
 *
 * A customer who cannot pay at once pays the open amount of some invoices
 * in N installments: the first on a given date, then one every period
 * (days, weeks or calendar months). Amounts are exact cents: every
 * installment gets the total divided by N rounded down, the last one the
 * remainder too, so they always add up to the total. Payments are applied
 * to the installments in order (a running sum); the first installment
 * still not covered past its due date plus a grace period lapses the
 * arrangement, and normal dunning resumes. No I/O, no clock: the Redis
 * side is arrangements.h. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define ARRANGEMENT_MAX_INSTALLMENTS 120
#define ARRANGEMENT_DAY_MS (86400 * INT64_C(1000))

enum arrangement_unit { ARRANGEMENT_DAYS, ARRANGEMENT_WEEKS, ARRANGEMENT_MONTHS };

struct arrangement_period {
        int count;                      /* 1..366 units */
        enum arrangement_unit unit;
};

/* "14d", "2w", "1m" (also "3m", "1y" = 12 months) into p; -EINVAL with
 * err ("--every: ...") otherwise. */
int arrangement_period_parse(const char *s, struct arrangement_period *p, struct error *err);
/* p back as text ("2w") into out. */
void arrangement_period_format(const struct arrangement_period *p, char out[16]);

struct arrangement_installment {
        int64_t due_day;        /* civil day number (civil.h) */
        int64_t amount_cents;
        int64_t cum_cents;      /* sum of this and every earlier installment */
};

/* The plan of n installments of total_cents, the first due on first_day
 * and one every *every after it. Month steps count from the first's day of
 * the month and clamp to the month's last day (31 Jan + 1m: 28 or 29 Feb,
 * + 2m: 31 Mar). out has room for n. -EINVAL with err when n is outside
 * 1..ARRANGEMENT_MAX_INSTALLMENTS or total_cents < n (an installment of
 * nothing). */
int arrangement_plan(int64_t total_cents, int n, int64_t first_day,
                     const struct arrangement_period *every,
                     struct arrangement_installment *out, struct error *err);

enum arrangement_state {
        ARRANGEMENT_ACTIVE,
        ARRANGEMENT_COMPLETED,  /* everything paid */
        ARRANGEMENT_LAPSED,     /* an installment missed past the grace period */
        ARRANGEMENT_CANCELLED,  /* ended by an operator */
};
const char *arrangement_state_name(enum arrangement_state s);
/* ARRANGEMENT_ACTIVE.. or -1 for an unknown name. */
int arrangement_state_from_name(const char *name);

struct arrangement_check {
        enum arrangement_state state;   /* ACTIVE, COMPLETED or LAPSED */
        int paid_through;               /* installments covered by paid_cents */
        int missed;                     /* LAPSED: the 1-based installment missed */
        int64_t next_check_ms;          /* ACTIVE: when the next unpaid one lapses */
};

/* What paid_cents (paid since the arrangement began) means at now_ms: the
 * first installment not covered lapses the arrangement once grace_days
 * whole days after its due date have passed (UTC: at 00:00 of due + grace
 * + 1); everything covered completes it. */
void arrangement_check(const struct arrangement_installment *plan, int n, int64_t paid_cents,
                       int64_t now_ms, int grace_days, struct arrangement_check *out);

/* When the friendly reminder of installment in goes out: remind_days
 * before its due date at 08:00 UTC (09:00 in Amsterdam's winter), or
 * now_ms when that has passed but the due date has not; -1 when the due
 * date is over (no reminder for an installment already due). */
int64_t arrangement_remind_ms(const struct arrangement_installment *in, int remind_days,
                              int64_t now_ms);
