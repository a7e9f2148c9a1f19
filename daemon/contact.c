/* contact.c: the contact-limit decision and the send times it reads. */
#include "contact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (86400 * 1000LL)
#define HOUR_MS (3600 * 1000LL)

int contact_rules_active(const struct contact_rules *r)
{
        return r->max > 0 || r->gap_hours > 0;
}

static int cmp_ms(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

/* Keeps the last CONTACT_TIMES_MAX of a sorted list. */
static void keep_last(struct contact_times *t, size_t keep)
{
        if (t->n <= keep)
                return;
        memmove(t->ms, t->ms + (t->n - keep), keep * sizeof(t->ms[0]));
        t->n = keep;
}

void contact_times_parse(struct contact_times *t, const char *s)
{
        int64_t all[4 * CONTACT_TIMES_MAX];
        size_t n = 0;

        t->n = 0;
        while (s && *s && n < sizeof(all) / sizeof(all[0])) {
                char *end;
                long long v = strtoll(s, &end, 10);
                if (end != s && v > 0 && (*end == ',' || !*end))
                        all[n++] = v;
                s = strchr(end, ',');
                if (s)
                        s++;
        }
        qsort(all, n, sizeof(all[0]), cmp_ms);
        size_t from = n > CONTACT_TIMES_MAX ? n - CONTACT_TIMES_MAX : 0;
        for (size_t i = from; i < n; i++)
                t->ms[t->n++] = all[i];
}

void contact_times_format(const struct contact_times *t, char *out, size_t n)
{
        size_t at = 0;
        out[0] = '\0';
        for (size_t i = 0; i < t->n && at < n; i++) {
                int w = snprintf(out + at, n - at, "%s%lld", i ? "," : "", (long long)t->ms[i]);
                if (w < 0 || (size_t)w >= n - at) {
                        out[at] = '\0';
                        break;
                }
                at += (size_t)w;
        }
}

void contact_times_add(struct contact_times *t, int64_t ms, const struct contact_rules *r)
{
        if (t->n == CONTACT_TIMES_MAX)
                keep_last(t, CONTACT_TIMES_MAX - 1);
        size_t i = t->n;
        while (i > 0 && t->ms[i - 1] > ms) {
                t->ms[i] = t->ms[i - 1];
                i--;
        }
        t->ms[i] = ms;
        t->n++;
        /* Only the window's sends count; the newest always stays for the gap. */
        int64_t newest = t->ms[t->n - 1];
        size_t drop = 0;
        while (drop + 1 < t->n && t->ms[drop] <= newest - r->days * DAY_MS)
                drop++;
        memmove(t->ms, t->ms + drop, (t->n - drop) * sizeof(t->ms[0]));
        t->n -= drop;
        size_t keep = r->max > 0 ? (size_t)r->max : 1;
        keep_last(t, keep < CONTACT_TIMES_MAX ? keep : CONTACT_TIMES_MAX);
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
