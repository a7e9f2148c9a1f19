/* policy.c: which channel a reminder goes out on, and why.
 *
 * Called for every job of every batch, so it stays a pure function that
 * allocates nothing: the candidates and their posteriors live on the
 * stack, the sampler's generator is a splitmix64 seeded per job, and the
 * reason is put together with a small appender rather than snprintf
 * (with snprintf for its pieces a decision took about 1 us instead of
 * 0.15 us in bench/run-policy, most of it formatting). */
#include "policy.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "civil.h"
#include "flow.h"

#define FINAL_NOTICE "final-notice"

/* An assisted payment (paid within the attribution window, not through
 * the reminder's own link or reference) may be owed to another reminder,
 * or to none: it counts half. The segment's rates are counted the same
 * way, or a customer's own results would always look worse than the
 * prior they are shrunk toward. */
#define ASSISTED_WEIGHT 0.5

/* Neither Beta parameter may reach 0 (segment_weight 0 and no history):
 * the mean and the sampler need both positive. */
#define MIN_PARAM 0.01

/* Without a config (tests, previews): config.c's defaults, except that
 * nothing is sampled. */
static const struct config no_config = {
        .policy = {
                .exploration = 0.0,
                .seed = 1,
                .segment_weight = 3.0,
                .preference_boost = 0.05,
                .cost_cents = { 0, 8, 100 },
                .final_notice_email = true,
        },
};

int policy_reachable(const struct job *job, enum job_channel ch)
{
        const struct job_customer *c = &job->customer;
        if (ch >= 0 && ch < JOB_CHANNEL__N && job->skip[ch])
                return 0;
        switch (ch) {
        case JOB_CHANNEL_EMAIL: return c->email && c->consent_email;
        case JOB_CHANNEL_SMS: return c->phone && c->consent_sms;
        case JOB_CHANNEL_LETTER: return c->has_address;
        default: return 0;
        }
}

/* A Dutch consumer's final notice must be in writing (the WIK's
 * "veertiendagenbrief"); where the customer lives decides, and without an
 * address the language they chose. */
static bool final_in_writing(const struct job *job)
{
        const struct job_customer *c = &job->customer;

        if (!job->step || strcmp(job->step, FINAL_NOTICE) != 0)
                return false;
        if (c->has_address && c->address.country && c->address.country[0])
                return strcasecmp(c->address.country, "NL") == 0;
        return c->locale && strncasecmp(c->locale, "nl", 2) == 0 &&
               (c->locale[2] == '\0' || c->locale[2] == '-' || c->locale[2] == '_');
}

bool policy_step_allows(const struct job *job, const struct config *cfg, enum job_channel ch)
{
        if (ch < 0 || ch >= JOB_CHANNEL__N)
                return false;
        if (!final_in_writing(job))
                return true;
        if (!cfg)
                cfg = &no_config;
        return ch == JOB_CHANNEL_LETTER ||
               (ch == JOB_CHANNEL_EMAIL && cfg->policy.final_notice_email);
}

/* ---- hashing and sampling ---------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
        uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

/* FNV-1a 64 of s including its terminating NUL: no string contains a
 * NUL, so hashing several in a row cannot confuse ("ab","c") with
 * ("a","bc"). NULL hashes like "". */
static uint64_t fnv1a(uint64_t h, const char *s)
{
        for (const unsigned char *p = (const unsigned char *)(s ? s : ""); ; p++) {
                h ^= *p;
                h *= 0x100000001b3ull;
                if (!*p)
                        return h;
        }
}

#define FNV_OFFSET 0xcbf29ce484222325ull

/* [0, 1) from the top 53 bits. */
static double unit_closed(uint64_t x)
{
        return (double)(x >> 11) * 0x1.0p-53;
}

/* (0, 1): for log(). */
static double unit_open(uint64_t *state)
{
        return ((double)(splitmix64(state) >> 11) + 0.5) * 0x1.0p-53;
}

/* Standard normal, Marsaglia's polar method (the second value is
 * dropped: keeping it would make a draw depend on the one before). */
static double normal(uint64_t *state)
{
        double u, v, q;
        do {
                u = 2.0 * unit_open(state) - 1.0;
                v = 2.0 * unit_open(state) - 1.0;
                q = u * u + v * v;
        } while (q >= 1.0);
        return u * sqrt(-2.0 * log(q) / q);
}

/* Gamma(a, 1), Marsaglia and Tsang (2000). Their method needs a >= 1;
 * below that Gamma(a) = Gamma(a + 1) * U^(1/a) (their section 6), which
 * matters here: a Beta(alpha, beta) with little evidence and a weak
 * prior has parameters below 1. */
static double gamma_sample(uint64_t *state, double a)
{
        double boost = 1.0;

        if (a < 1.0) {
                boost = pow(unit_open(state), 1.0 / a);
                a += 1.0;
        }
        double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
        for (;;) {
                double x, v;
                do {
                        x = normal(state);
                        v = 1.0 + c * x;
                } while (v <= 0.0);
                v = v * v * v;
                double u = unit_open(state), x2 = x * x;
                /* The squeeze spares the logarithm about 98 % of the time. */
                if (u < 1.0 - 0.0331 * x2 * x2 || log(u) < 0.5 * x2 + d * (1.0 - v + log(v)))
                        return boost * d * v;
        }
}

double policy_beta_draw(uint64_t *state, double alpha, double beta)
{
        double x = gamma_sample(state, alpha), y = gamma_sample(state, beta);
        /* Both underflow to 0 only when both parameters are tiny. */
        return x + y > 0.0 ? x / (x + y) : alpha / (alpha + beta);
}

bool policy_held_out(const char *customer, const char *campaign, const char *step, double share)
{
        if (!(share > 0.0))
                return false;
        uint64_t h = fnv1a(fnv1a(fnv1a(FNV_OFFSET, customer), campaign), step);
        /* FNV's low bits mix poorly; one splitmix64 round spreads them. */
        return unit_closed(splitmix64(&h)) < share;
}

/* ---- the one-line reason ------------------------------------------ */

/* Appends up to cap - 1 bytes and keeps s terminated; what does not fit
 * is cut (a reason is kept under 255 bytes, the length log lines and
 * explain take). */
struct line {
        char *s;
        size_t len, cap;        /* cap includes the NUL */
};

static void put(struct line *l, const char *s)
{
        while (*s && l->len + 1 < l->cap)
                l->s[l->len++] = *s++;
        l->s[l->len] = '\0';
}

static void put_uint(struct line *l, uint64_t v)
{
        char tmp[24];
        size_t i = sizeof(tmp);
        tmp[--i] = '\0';
        do {
                tmp[--i] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        put(l, tmp + i);
}

static void put_count(struct line *l, int64_t v)
{
        put_uint(l, v > 0 ? (uint64_t)v : 0);
}

/* p as a whole percentage; the figures compared are never negative. */
static void put_pct(struct line *l, double p)
{
        put_uint(l, p > 0.0 ? (uint64_t)(p * 100.0 + 0.5) : 0);
        put(l, "%");
}

/* A segment name comes from the job: kept to one printable line. */
static void put_name(struct line *l, const char *s)
{
        char tmp[33];
        size_t i = 0;
        for (; s[i] && i + 1 < sizeof(tmp); i++)
                tmp[i] = (s[i] > ' ' && s[i] < 0x7f) ? s[i] : '?';
        tmp[i] = '\0';
        put(l, tmp);
}

static void put_date(struct line *l, int64_t ms)
{
        char ymd[11];
        civil_format(civil_today(ms), ymd);
        put(l, ymd);
}

/* ---- the decision ------------------------------------------------- */

enum excluded {
        USABLE,
        NOT_ALLOWED,    /* the step does not go out on it */
        NOT_IN_FLOW,    /* the step's escalation flow names other channels */
        FAILED,         /* job->skip: failed for this reminder */
        NO_CONTACT,
        NO_CONSENT,
        INVALID,        /* the current contact was marked invalid */
};

static enum excluded exclusion(const struct job *job, const struct config *cfg,
                               const struct history *h, const char *segment,
                               enum job_channel ch)
{
        const struct job_customer *c = &job->customer;

        if (!policy_step_allows(job, cfg, ch))
                return NOT_ALLOWED;
        if (!flow_allows(cfg, job->flow ? job->flow : segment, job->step, ch))
                return NOT_IN_FLOW;
        if (job->skip[ch])
                return FAILED;
        if (ch == JOB_CHANNEL_EMAIL ? !c->email
            : ch == JOB_CHANNEL_SMS ? !c->phone
                                    : !c->has_address)
                return NO_CONTACT;
        if ((ch == JOB_CHANNEL_EMAIL && !c->consent_email) ||
            (ch == JOB_CHANNEL_SMS && !c->consent_sms))
                return NO_CONSENT;
        if (history_contact_invalid(h, job, ch))
                return INVALID;
        return USABLE;
}

static void put_exclusion(struct line *l, const struct history *h, enum job_channel ch,
                          enum excluded why)
{
        static const char *const no_contact[JOB_CHANNEL__N] = {
                "has no e-mail address", "has no phone number", "has no postal address",
        };
        static const char *const invalid[JOB_CHANNEL__N] = {
                "bounced ", "unreachable ", "returned ",
        };

        put(l, job_channel_name(ch));
        put(l, " ");
        switch (why) {
        case NOT_ALLOWED:
                put(l, ch == JOB_CHANNEL_EMAIL ? "not for a final notice (final_notice_email off)"
                                               : "not for a final notice");
                break;
        case NOT_IN_FLOW: put(l, "not in this step of the flow"); break;
        case FAILED: put(l, "failed for this reminder"); break;
        case NO_CONTACT: put(l, no_contact[ch]); break;
        case NO_CONSENT: put(l, "has no consent"); break;
        case INVALID:
                put(l, invalid[ch]);
                put_date(l, h->ch[ch].invalid_ms);
                break;
        case USABLE: break;
        }
}

static double credited(const struct history_channel *c)
{
        double paid = (double)c->direct + ASSISTED_WEIGHT * (double)c->assisted;
        /* A payment credited without a send counted (history written by
         * an older version, a reset) must not make the rate exceed 1. */
        return paid < (double)c->sent ? paid : (double)c->sent;
}

struct posterior {
        double alpha, beta;
        double p_seg;           /* the segment's rate on the channel, 0.5 when unknown */
};

/* The segment's rate on one channel, shrunk toward its rate over every
 * channel (itself shrunk toward one half): a channel the segment has not
 * tried yet starts where the segment's customers pay in general, not at
 * an optimistic 50 %, so one unanswered SMS in the segment does not
 * outweigh every customer's stated preference for SMS. */
static double segment_rate(const struct history *seg, enum job_channel ch, double w)
{
        double paid = 0, sent = 0;
        for (int c = 0; c < JOB_CHANNEL__N; c++) {
                paid += credited(&seg->ch[c]);
                sent += seg->ch[c].sent > 0 ? (double)seg->ch[c].sent : 0.0;
        }
        double pooled = (paid + 1.0) / (sent + 2.0);
        const struct history_channel *s = &seg->ch[ch];
        double n = s->sent > 0 ? (double)s->sent : 0.0;
        double m = w > 1.0 ? w : 1.0;
        return (credited(s) + m * pooled) / (n + m);
}

static void posterior(const struct policy_context *ctx, const struct config *cfg,
                      enum job_channel pref, enum job_channel ch, struct posterior *post)
{
        double w = cfg->policy.segment_weight;

        post->p_seg = ctx->segment ? segment_rate(ctx->segment, ch, w) : 0.5;
        /* The stated preference adds a few points to the prior's rate,
         * not payments to its weight: with typical payment rates of
         * 10-30 %, two pseudo-payments would outweigh a dozen unanswered
         * reminders, while five points give way to two or three of them,
         * or to one payment on another channel. */
        double p = post->p_seg + (ch == pref ? cfg->policy.preference_boost : 0.0);
        if (p > 0.99)
                p = 0.99;
        post->alpha = w * p;
        post->beta = w * (1.0 - post->p_seg);
        if (ctx->customer) {
                const struct history_channel *c = &ctx->customer->ch[ch];
                double paid = credited(c);
                post->alpha += paid;
                post->beta += c->sent > 0 ? (double)c->sent - paid : 0.0;
        }
        if (post->alpha < MIN_PARAM)
                post->alpha = MIN_PARAM;
        if (post->beta < MIN_PARAM)
                post->beta = MIN_PARAM;
}

/* "paid after X of N" (X may end in .5: assisted payments count half)
 * or "no history yet". */
static void put_evidence(struct line *l, const struct policy_context *ctx, enum job_channel ch,
                         bool name_channel)
{
        const struct history_channel *c = ctx->customer ? &ctx->customer->ch[ch] : NULL;
        if (!c || c->sent <= 0) {
                put(l, "no history yet");
                return;
        }
        /* direct + assisted / 2, capped at sent: a whole number of halves */
        int64_t halves = (int64_t)(2.0 * credited(c) + 0.5);
        put(l, "paid after ");
        put_count(l, halves / 2);
        if (halves % 2)
                put(l, ".5");
        put(l, " of ");
        put_count(l, c->sent);
        if (name_channel) {
                put(l, " ");
                put(l, job_channel_name(ch));
        }
}

static void reason_none(struct policy_decision *d, const struct history *h,
                        const enum excluded why[JOB_CHANNEL__N])
{
        struct line l = { d->reason, 0, sizeof(d->reason) - 1 };
        bool only_contact = true;

        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                only_contact &= why[ch] == NO_CONTACT;
        if (only_contact) {
                put(&l, "no channel has contact data");
                return;
        }
        put(&l, "no channel: ");
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                if (ch)
                        put(&l, ", ");
                put_exclusion(&l, h, (enum job_channel)ch, why[ch]);
        }
}

static void reason(struct policy_decision *d, const struct job *job,
                   const struct policy_context *ctx, const struct config *cfg,
                   const struct posterior post[JOB_CHANNEL__N],
                   const enum excluded why[JOB_CHANNEL__N], bool final, double amount)
{
        struct line l = { d->reason, 0, sizeof(d->reason) - 1 };
        enum job_channel w = d->order[0], pref = job->customer.preferred_channel;

        if (d->explored)
                put(&l, "exploring: ");
        put(&l, job_channel_name(w));
        put(&l, ": ");
        if (final) {
                put(&l, w == JOB_CHANNEL_LETTER ? "final notice in writing"
                                                : "final notice by e-mail");
        } else {
                if (w == pref)
                        put(&l, "preferred, ");
                put_evidence(&l, ctx, w, true);
                if (d->explored) {
                        put(&l, ", drew ");
                        put_pct(&l, d->score[w] + cfg->policy.cost_cents[w] / amount);
                        put(&l, " (mean ");
                        put_pct(&l, d->mean[w]);
                        put(&l, ")");
                }
                if (ctx->segment && ctx->segment->ch[w].sent > 0) {
                        put(&l, " (segment ");
                        if (ctx->segment_name && ctx->segment_name[0]) {
                                put_name(&l, ctx->segment_name);
                                put(&l, " ");
                        }
                        put_pct(&l, post[w].p_seg);
                        put(&l, " ");
                        put(&l, job_channel_name(w));
                        put(&l, ")");
                }
        }

        /* The fallbacks worth a word: the preferred one, one with the
         * customer's own results, one that lost on cost alone. */
        for (size_t i = 1; i < d->n && !final; i++) {
                enum job_channel f = d->order[i];
                bool own = ctx->customer && ctx->customer->ch[f].sent > 0;
                bool on_cost = !d->explored && d->mean[f] > d->mean[w] + 1e-9;
                if (f != pref && !own && !on_cost)
                        continue;
                put(&l, "; ");
                if (f == pref)
                        put(&l, "preferred ");
                put(&l, job_channel_name(f));
                if (own) {
                        put(&l, " ");
                        put_evidence(&l, ctx, f, false);
                        /* the prior it was shrunk toward, when that is
                         * what held it back */
                        if (ctx->segment && ctx->segment->ch[f].sent > 0) {
                                put(&l, " (segment ");
                                put_pct(&l, post[f].p_seg);
                                put(&l, ")");
                        }
                }
                if (on_cost) {
                        put(&l, own ? ", " : " ");
                        put_pct(&l, d->mean[f]);
                        put(&l, " but costs ");
                        put_pct(&l, cfg->policy.cost_cents[f] / amount);
                        put(&l, " of the amount owed");
                }
        }
        /* Exclusions worth a word: a mark or failure the customer's data
         * alone would not show, the stated preference, and why a final
         * notice is not a letter. */
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                if (why[ch] == USABLE)
                        continue;
                if (why[ch] != INVALID && why[ch] != FAILED && ch != (int)pref &&
                    !(final && ch == JOB_CHANNEL_LETTER))
                        continue;
                put(&l, "; ");
                if (ch == (int)pref)
                        put(&l, "preferred ");
                put_exclusion(&l, ctx->customer, (enum job_channel)ch, why[ch]);
        }
}

static uint64_t job_seed(const struct job *job, const struct config *cfg, int64_t now_ms)
{
        uint64_t h = fnv1a(fnv1a(FNV_OFFSET, job->reminder_id), job->customer.id);
        uint64_t s = (uint64_t)cfg->policy.seed * 0x9e3779b97f4a7c15ull ^ h;
        s ^= splitmix64(&(uint64_t){ (uint64_t)civil_today(now_ms) });
        return s;
}

void policy_choose(const struct job *job, const struct policy_context *ctx,
                   const struct config *cfg, int64_t now_ms, struct policy_decision *d)
{
        static const struct policy_context nothing;
        struct posterior post[JOB_CHANNEL__N];
        enum excluded why[JOB_CHANNEL__N];
        enum job_channel pref = job->customer.preferred_channel;
        double amount = 0.0;

        if (!cfg)
                cfg = &no_config;
        if (!ctx)
                ctx = &nothing;
        d->n = 0;
        d->explored = false;
        d->reason[0] = '\0';
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                d->score[ch] = d->mean[ch] = 0.0;

        for (size_t i = 0; i < job->n_invoices; i++)
                amount += (double)job->invoices[i].amount_cents;
        if (amount < 1.0)
                amount = 1.0;

        /* The flow is the one that scheduled the step (job->flow), else
         * the segment's the worker found, else the job's own (preview,
         * explain without history), else the default one. */
        const char *segment = ctx->segment_name ? ctx->segment_name : job->customer.segment;
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                why[ch] = exclusion(job, cfg, ctx->customer, segment, (enum job_channel)ch);
                if (why[ch] != USABLE)
                        continue;
                posterior(ctx, cfg, pref, (enum job_channel)ch, &post[ch]);
                d->mean[ch] = post[ch].alpha / (post[ch].alpha + post[ch].beta);
                d->order[d->n++] = (enum job_channel)ch;
        }
        if (d->n == 0) {
                reason_none(d, ctx->customer, why);
                return;
        }

        /* A final notice in writing goes by letter whenever it can,
         * unless e-mail counts as writing too (final_notice_email: the
         * e-mail carries the letter as a PDF); then the scores choose
         * between the two, as for any step. */
        bool final = final_in_writing(job);
        bool forced = final && why[JOB_CHANNEL_LETTER] == USABLE && !cfg->policy.final_notice_email;

        /* The first draw decides whether to explore before the candidates
         * count, so among decisions with a real choice (two or more, no
         * forced letter) the share explored is the configured one. */
        uint64_t rng = job_seed(job, cfg, now_ms);
        d->explored = unit_closed(splitmix64(&rng)) < cfg->policy.exploration &&
                      d->n >= 2 && !forced;

        for (size_t i = 0; i < d->n; i++) {
                enum job_channel ch = d->order[i];
                double p = d->explored ? policy_beta_draw(&rng, post[ch].alpha, post[ch].beta)
                                       : d->mean[ch];
                d->score[ch] = p - cfg->policy.cost_cents[ch] / amount;
        }
        /* At most three: insertion sort, stable, so ties keep the channel
         * order (email, sms, letter: cheapest first). */
        for (size_t i = 1; i < d->n; i++) {
                enum job_channel x = d->order[i];
                size_t j = i;
                for (; j > 0 && d->score[d->order[j - 1]] < d->score[x]; j--)
                        d->order[j] = d->order[j - 1];
                d->order[j] = x;
        }
        if (forced) {
                size_t j = 0;
                while (d->order[j] != JOB_CHANNEL_LETTER)
                        j++;
                for (; j > 0; j--)
                        d->order[j] = d->order[j - 1];
                d->order[0] = JOB_CHANNEL_LETTER;
        }
        reason(d, job, ctx, cfg, post, why, final, amount);
}
