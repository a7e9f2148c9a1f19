/* arrangement.c: installment arithmetic and lapse rules of a payment
 * arrangement (arrangement.h); pure. */
#include "arrangement.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"

int arrangement_period_parse(const char *s, struct arrangement_period *p, struct error *err)
{
        char *end;
        long v = s ? strtol(s, &end, 10) : 0;

        if (!s || s[0] < '0' || s[0] > '9' || end[0] == '\0' || end[1] != '\0' ||
            v < 1 || v > 366)
                return error_set(err, -EINVAL, "--every: not a period like 1m, 2w or 14d "
                                               "(1 to 366 units): %s", s ? s : "");
        switch (end[0]) {
        case 'd': p->unit = ARRANGEMENT_DAYS; break;
        case 'w': p->unit = ARRANGEMENT_WEEKS; break;
        case 'm': p->unit = ARRANGEMENT_MONTHS; break;
        case 'y':
                if (v > 30)
                        return error_set(err, -EINVAL, "--every: at most 30y: %s", s);
                p->unit = ARRANGEMENT_MONTHS;
                v *= 12;
                break;
        default:
                return error_set(err, -EINVAL, "--every: unit must be d, w, m or y: %s", s);
        }
        p->count = (int)v;
        return 0;
}

void arrangement_period_format(const struct arrangement_period *p, char out[16])
{
        static const char unit[] = { 'd', 'w', 'm' };
        snprintf(out, 16, "%d%c", p->count, unit[p->unit]);
}

static int month_days(int y, int m)
{
        static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return m == 2 && leap ? 29 : days[m - 1];
}

/* first_day plus k periods. */
static int64_t step_day(int64_t first_day, const struct arrangement_period *every, int k)
{
        if (every->unit == ARRANGEMENT_DAYS)
                return first_day + (int64_t)k * every->count;
        if (every->unit == ARRANGEMENT_WEEKS)
                return first_day + (int64_t)k * every->count * 7;
        int y, m, d;
        civil_date(first_day, &y, &m, &d);
        /* Counted from the first's day of the month every time, so a
         * short month does not pull every later date back. */
        int64_t months = (int64_t)(m - 1) + (int64_t)k * every->count;
        y += (int)(months / 12);
        m = (int)(months % 12) + 1;
        int last = month_days(y, m);
        return civil_days(y, m, d < last ? d : last);
}

int arrangement_plan(int64_t total_cents, int n, int64_t first_day,
                     const struct arrangement_period *every,
                     struct arrangement_installment *out, struct error *err)
{
        if (n < 1 || n > ARRANGEMENT_MAX_INSTALLMENTS)
                return error_set(err, -EINVAL, "--installments: must be 1 to %d: %d",
                                 ARRANGEMENT_MAX_INSTALLMENTS, n);
        if (total_cents < n)
                return error_set(err, -EINVAL,
                                 "amount: %lld cents cannot be paid in %d installments of at "
                                 "least one cent", (long long)total_cents, n);
        if (every->count < 1)
                return error_set(err, -EINVAL, "--every: must be at least one unit");
        int64_t each = total_cents / n, cum = 0;
        for (int i = 0; i < n; i++) {
                out[i].due_day = step_day(first_day, every, i);
                out[i].amount_cents = i == n - 1 ? total_cents - each * (n - 1) : each;
                cum += out[i].amount_cents;
                out[i].cum_cents = cum;
        }
        return 0;
}

static const char *const state_names[] = { "active", "completed", "lapsed", "cancelled" };

const char *arrangement_state_name(enum arrangement_state s)
{
        return s >= 0 && s <= ARRANGEMENT_CANCELLED ? state_names[s] : "unknown";
}

int arrangement_state_from_name(const char *name)
{
        for (int i = 0; name && i <= ARRANGEMENT_CANCELLED; i++)
                if (strcmp(name, state_names[i]) == 0)
                        return i;
        return -1;
}

void arrangement_check(const struct arrangement_installment *plan, int n, int64_t paid_cents,
                       int64_t now_ms, int grace_days, struct arrangement_check *out)
{
        memset(out, 0, sizeof(*out));
        int k = 0;
        while (k < n && plan[k].cum_cents <= paid_cents)
                k++;
        out->paid_through = k;
        if (k == n) {
                out->state = ARRANGEMENT_COMPLETED;
                return;
        }
        int64_t lapse_ms = (plan[k].due_day + grace_days + 1) * ARRANGEMENT_DAY_MS;
        if (now_ms >= lapse_ms) {
                out->state = ARRANGEMENT_LAPSED;
                out->missed = k + 1;
                return;
        }
        out->state = ARRANGEMENT_ACTIVE;
        out->next_check_ms = lapse_ms;
}

int64_t arrangement_remind_ms(const struct arrangement_installment *in, int remind_days,
                              int64_t now_ms)
{
        int64_t at = (in->due_day - remind_days) * ARRANGEMENT_DAY_MS + 8 * 3600 * INT64_C(1000);
        if (now_ms >= (in->due_day + 1) * ARRANGEMENT_DAY_MS)
                return -1;
        return at > now_ms ? at : now_ms;
}
