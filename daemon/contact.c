/* contact.c: the contact-limit decision and the send times it reads. */
#include "contact.h"

#include <string.h>

#define DAY_MS (86400 * 1000LL)
#define HOUR_MS (3600 * 1000LL)

int contact_rules_active(const struct contact_rules *r)
{
        return r->max > 0 || r->gap_hours > 0;
}

void contact_times_insert(struct contact_times *t, int64_t ms)
{
        if (ms <= 0)
                return;
        size_t i = t->n;
        while (i > 0 && t->ms[i - 1] > ms)
                i--;
        if (i > 0 && t->ms[i - 1] == ms)
                return;
        if (t->n == CONTACT_TIMES_MAX) {
                if (i == 0)
                        return; /* older than everything kept */
                memmove(t->ms, t->ms + 1, (i - 1) * sizeof(t->ms[0]));
                t->ms[i - 1] = ms;
                return;
        }
        memmove(t->ms + i + 1, t->ms + i, (t->n - i) * sizeof(t->ms[0]));
        t->ms[i] = ms;
        t->n++;
}

bool contact_times_has(const struct contact_times *t, int64_t ms)
{
        for (size_t i = 0; i < t->n; i++)
                if (t->ms[i] == ms)
                        return true;
        return false;
}

size_t contact_times_stale(const struct contact_rules *r, const struct contact_times *t,
                           int64_t now, int64_t *out)
{
        int64_t keep = r->days * DAY_MS;
        if (r->gap_hours * HOUR_MS > keep)
                keep = r->gap_hours * HOUR_MS;
        size_t n = 0;
        for (size_t i = 0; i < t->n; i++)
                if (t->ms[i] <= now - keep)
                        out[n++] = t->ms[i];
        return n;
}

enum contact_verdict contact_check(const struct contact_rules *r, const struct contact_times *t,
                                   int64_t now, int64_t *until)
{
        enum contact_verdict v = CONTACT_OK;
        int64_t at = now;

        if (r->max > 0) {
                /* Sends inside the window (now - days, now]. */
                size_t in = 0;
                for (size_t i = 0; i < t->n; i++)
                        if (t->ms[i] > now - r->days * DAY_MS && t->ms[i] <= now)
                                in++;
                if (in >= (size_t)r->max) {
                        /* Free again once the oldest send that keeps the count at max
                         * leaves the window: the (in - max + 1)-th oldest of them. */
                        size_t first = 0;
                        while (t->ms[first] <= now - r->days * DAY_MS)
                                first++;
                        int64_t free_at = t->ms[first + (in - (size_t)r->max)] + r->days * DAY_MS;
                        if (free_at > at) {
                                at = free_at;
                                v = CONTACT_LIMIT;
                        }
                }
        }
        if (r->gap_hours > 0 && t->n > 0) {
                int64_t free_at = t->ms[t->n - 1] + r->gap_hours * HOUR_MS;
                if (free_at > now && free_at > at) {
                        at = free_at;
                        v = CONTACT_GAP;
                }
        }
        if (v != CONTACT_OK)
                *until = at;
        return v;
}

const char *contact_verdict_name(enum contact_verdict v)
{
        switch (v) {
        case CONTACT_LIMIT: return "contact-limit";
        case CONTACT_GAP: return "contact-gap";
        case CONTACT_OK: break;
        }
        return "ok";
}
