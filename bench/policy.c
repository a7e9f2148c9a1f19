/* bench/policy.c: channel decisions per second, the C side of
 * bench/run-policy.
 *
 * Prepares 400 different customers' jobs (reminder-1, reminder-2 and
 * final-notice steps; Dutch and German addresses or none; missing contact
 * data, consent off, stated preferences; one to three invoices of 5 to
 * 5,000 euro) with warm histories (their own counts per channel, some
 * invalid marks) and four segment aggregates, all before the clock starts,
 * as a worker has them after history_fetch. Then times N policy_choose
 * calls over them in turn at the given exploration share, and prints
 * decisions/s, the share explored and the heap growth over the timed
 * decisions (mallinfo2: 0 means no allocation per decision). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "job.h"
#include "policy.h"

#define CUSTOMERS 400

static const char *const segment_names[] = {
        "new", "on-time", "occasional-late", "structural-late",
};

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A fixed generator, so every run times the same jobs. */
static uint64_t next(uint64_t *s)
{
        uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static unsigned pick(uint64_t *s, unsigned n)
{
        return (unsigned)(next(s) % n);
}

static struct job *make_job(uint64_t *s, int i)
{
        static const char *const steps[] = { "reminder-1", "reminder-2", "final-notice" };
        static const char *const prefs[] = { "", ",\"preferred_channel\":\"email\"",
                                             ",\"preferred_channel\":\"sms\"",
                                             ",\"preferred_channel\":\"letter\"" };
        char email[64] = "", phone[64] = "", address[256] = "", consent[64] = "", inv[512] = "";
        char json[2048];
        struct job *job = NULL;
        struct error err;

        if (pick(s, 10) < 8)
                snprintf(email, sizeof(email), ",\"email\":\"klant%d@example.nl\"", i);
        if (pick(s, 10) < 6)
                snprintf(phone, sizeof(phone), ",\"phone\":\"+316%08d\"", i);
        if (pick(s, 10) < 7)
                snprintf(address, sizeof(address),
                         ",\"address\":{\"lines\":[\"Dorpsstraat %d\"],\"postal_code\":\"1234 AB\","
                         "\"city\":\"Utrecht\",\"country\":\"%s\"}",
                         i, pick(s, 4) ? "NL" : "DE");
        if (pick(s, 10) == 0)
                snprintf(consent, sizeof(consent), ",\"consent\":{\"%s\":false}",
                         pick(s, 2) ? "email" : "sms");
        unsigned n_inv = 1 + pick(s, 3);
        size_t k = 0;
        for (unsigned j = 0; j < n_inv; j++)
                k += (size_t)snprintf(inv + k, sizeof(inv) - k,
                                      "%s{\"number\":\"INV-%d-%u\",\"amount_cents\":%u,"
                                      "\"currency\":\"EUR\",\"due\":\"2026-10-31\"}",
                                      j ? "," : "", i, j, 500 + pick(s, 499501));
        snprintf(json, sizeof(json),
                 "{\"v\":1,\"campaign\":\"bench\",\"step\":\"%s\",\"customer\":{\"id\":\"C-%d\","
                 "\"name\":\"Klant %d\",\"locale\":\"%s\"%s%s%s%s%s},\"invoices\":[%s]}",
                 steps[pick(s, 3)], i, i, pick(s, 4) ? "nl-NL" : "de-DE", email, phone, address,
                 consent, prefs[pick(s, 4)], inv);
        if (job_parse(&job, json, strlen(json), &err) < 0) {
                fprintf(stderr, "bench-policy: %s: %s\n", json, err.msg);
                exit(1);
        }
        return job;
}

static void make_history(uint64_t *s, const struct job *job, struct history *h)
{
        memset(h, 0, sizeof(*h));
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                struct history_channel *c = &h->ch[ch];
                c->sent = pick(s, 12);
                c->direct = c->sent ? pick(s, (unsigned)c->sent + 1) : 0;
                c->assisted = c->sent > c->direct
                                      ? pick(s, (unsigned)(c->sent - c->direct) + 1) : 0;
                c->delivered = c->sent;
                c->last_sent_ms = c->sent ? 1790000000000 : 0;
        }
        /* One in ten has a bounced address, half of them the current one. */
        if (pick(s, 10) == 0) {
                h->ch[JOB_CHANNEL_EMAIL].invalid_ms = 1790000000000;
                h->ch[JOB_CHANNEL_EMAIL].invalid_contact = history_contact_hash(
                        pick(s, 2) && job->customer.email ? job->customer.email : "old@example.nl");
        }
}

int main(int argc, char **argv)
{
        long n = argc > 1 ? atol(argv[1]) : 10000000;
        double exploration = argc > 2 ? atof(argv[2]) : 0.1;
        static struct job *jobs[CUSTOMERS];
        static struct history own[CUSTOMERS], seg[4];
        static struct policy_context ctx[CUSTOMERS];
        struct config cfg;
        uint64_t s = 42;

        /* config.c's defaults for policy.* */
        memset(&cfg, 0, sizeof(cfg));
        cfg.policy.exploration = exploration;
        cfg.policy.seed = 1;
        cfg.policy.segment_weight = 10.0;
        cfg.policy.preference_boost = 0.05;
        cfg.policy.cost_cents[JOB_CHANNEL_EMAIL] = 0;
        cfg.policy.cost_cents[JOB_CHANNEL_SMS] = 8;
        cfg.policy.cost_cents[JOB_CHANNEL_LETTER] = 100;
        cfg.policy.final_notice_email = true;

        for (int g = 0; g < 4; g++)
                for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                        seg[g].ch[ch].sent = 1000 + pick(&s, 100000);
                        seg[g].ch[ch].direct = seg[g].ch[ch].sent * (5 + pick(&s, 40)) / 100;
                        seg[g].ch[ch].assisted = seg[g].ch[ch].sent * pick(&s, 10) / 100;
                }
        for (int i = 0; i < CUSTOMERS; i++) {
                jobs[i] = make_job(&s, i);
                make_history(&s, jobs[i], &own[i]);
                int g = (int)pick(&s, 4);
                ctx[i] = (struct policy_context){ .customer = &own[i], .segment = &seg[g],
                                                  .segment_name = segment_names[g] };
        }

        /* 2026-11-23T09:00Z; a new day every 100 rounds over the jobs, so
         * the sampling sees fresh seeds too. */
        int64_t t = 1795424400000;
        struct policy_decision d;
        for (int i = 0; i < CUSTOMERS; i++)     /* warm the caches */
                policy_choose(jobs[i], &ctx[i], &cfg, t, &d);

        unsigned long explored = 0, none = 0, first[JOB_CHANNEL__N] = { 0 };
        struct mallinfo2 before = mallinfo2();
        double t0 = now();
        for (long i = 0, j = 0; i < n; i++) {
                policy_choose(jobs[j], &ctx[j], &cfg, t, &d);
                explored += d.explored;
                if (d.n)
                        first[d.order[0]]++;
                else
                        none++;
                if (++j == CUSTOMERS) {
                        j = 0;
                        if (i % (100 * CUSTOMERS) == CUSTOMERS - 1)
                                t += 86400000;
                }
        }
        double t1 = now();
        struct mallinfo2 after = mallinfo2();

        printf("c: %ld decisions over %d customers, exploration %.2f, in %.3f s: %.0f decisions/s "
               "(%.1f ns each); explored %.2f%%; first email %.1f%% sms %.1f%% letter %.1f%% "
               "none %.1f%%; heap growth during decisions: %ld bytes in use\n",
               n, CUSTOMERS, exploration, t1 - t0, n / (t1 - t0), (t1 - t0) / n * 1e9,
               100.0 * explored / n, 100.0 * first[0] / n, 100.0 * first[1] / n,
               100.0 * first[2] / n, 100.0 * none / n,
               (long)(after.uordblks - before.uordblks));
        for (int i = 0; i < CUSTOMERS; i++)
                job_free(jobs[i]);
        return 0;
}
