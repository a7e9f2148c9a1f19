/* history.c: per-customer and per-segment response history in Redis.
 *
 * The layout of the keys is in history.h. Reads are one pipelined round
 * trip per batch; writes go into the worker's batch transaction as plain
 * commands, the counters many sends share added up over the batch. */
#include "history.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "civil.h"
#include "hold.h"

const double history_hours_bounds[HISTORY_HOURS_BUCKETS] = {
        1, 2, 4, 8, 12, 24, 48, 72, 96, 168, 336, 1e300,
};

int history_hours_bucket(double hours)
{
        int b = 0;
        while (b < HISTORY_HOURS_BUCKETS - 1 && hours >= history_hours_bounds[b])
                b++;
        return b;
}

static int64_t num(const char *s)
{
        char *end;
        long long v = strtoll(s, &end, 10);
        return end != s ? (int64_t)v : 0;
}

/* "sent:email" -> counter; returns NULL for other fields. */
static int64_t *channel_field(struct history *h, const char *field)
{
        static const struct {
                const char *name;
                size_t off;
        } counters[] = {
                { "sent:", offsetof(struct history_channel, sent) },
                { "delivered:", offsetof(struct history_channel, delivered) },
                { "undelivered:", offsetof(struct history_channel, undelivered) },
                { "direct:", offsetof(struct history_channel, direct) },
                { "assisted:", offsetof(struct history_channel, assisted) },
                { "last_sent:", offsetof(struct history_channel, last_sent_ms) },
        };
        for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
                size_t n = strlen(counters[i].name);
                if (strncmp(field, counters[i].name, n) != 0)
                        continue;
                enum job_channel ch = job_channel_from_name(field + n);
                if (ch == JOB_CHANNEL_NONE)
                        return NULL;
                return (int64_t *)((char *)&h->ch[ch] + counters[i].off);
        }
        return NULL;
}

void history_from_fields(struct history *h, const struct queue_fields *f)
{
        memset(h, 0, sizeof(*h));
        for (size_t i = 0; f && i < f->n; i++) {
                const char *k = f->kv[2 * i], *v = f->kv[2 * i + 1];
                int64_t *c = channel_field(h, k);
                if (c) {
                        *c = num(v);
                } else if (strncmp(k, "invalid:", 8) == 0) {
                        enum job_channel ch = job_channel_from_name(k + 8);
                        const char *colon = strchr(v, ':');
                        if (ch != JOB_CHANNEL_NONE && colon) {
                                h->ch[ch].invalid_ms = num(v);
                                h->ch[ch].invalid_contact = (uint32_t)strtoul(colon + 1, NULL, 16);
                        }
                } else if (strcmp(k, "on_time") == 0) {
                        h->on_time = num(v);
                } else if (strcmp(k, "late") == 0) {
                        h->late = num(v);
                } else if (strcmp(k, "days_late") == 0) {
                        h->days_late = num(v);
                } else if (strncmp(k, "hour:", 5) == 0) {
                        int64_t x = num(k + 5);
                        if (x >= 0 && x < 24)
                                h->hour[x] = num(v);
                } else if (strncmp(k, "wday:", 5) == 0) {
                        int64_t x = num(k + 5);
                        if (x >= 0 && x < 7)
                                h->wday[x] = num(v);
                } else if (strcmp(k, "segment") == 0) {
                        snprintf(h->segment, sizeof(h->segment), "%s", v);
                } else if (strncmp(k, CONTACT_FIELD, strlen(CONTACT_FIELD)) == 0) {
                        contact_times_insert(&h->contacts, num(k + strlen(CONTACT_FIELD)));
                }
        }
}

const char *history_derive_segment(const struct history *h, const struct config *cfg)
{
        int64_t paid = h->on_time + h->late;
        if (paid < cfg->segments.min_invoices)
                return "new";
        if ((double)h->late >= cfg->segments.structural_late_share * (double)paid)
                return "structural-late";
        if (h->late <= cfg->segments.on_time_max_late)
                return "on-time";
        return "occasional-late";
}

const char *history_segment_of(const struct job *job, const struct history *h,
                               const struct config *cfg)
{
        if (job->customer.segment)
                return job->customer.segment;
        if (h && h->segment[0])
                return h->segment;
        static const struct history none;
        return history_derive_segment(h ? h : &none, cfg);
}

uint32_t history_contact_hash(const char *contact)
{
        uint32_t x = 2166136261u;   /* FNV-1a */
        for (const unsigned char *p = (const unsigned char *)contact; p && *p; p++) {
                x ^= (uint32_t)tolower(*p);
                x *= 16777619u;
        }
        return x;
}

bool history_contact_invalid(const struct history *h, const struct job *job, enum job_channel ch)
{
        if (!h || ch < 0 || ch >= JOB_CHANNEL__N || !h->ch[ch].invalid_ms)
                return false;
        const char *contact = job_contact(job, ch);
        /* Letters: the address is not hashed; a returned letter marks the
         * channel until a job brings news. */
        if (ch == JOB_CHANNEL_LETTER)
                return true;
        return contact && history_contact_hash(contact) == h->ch[ch].invalid_contact;
}

/* --- the last job's profile, for explain --- */

/* A contact's hash in hex, or "-" without one. */
static void contact_hex(char out[9], const char *contact)
{
        if (contact)
                snprintf(out, 9, "%08" PRIx32, history_contact_hash(contact));
        else
                snprintf(out, 9, "-");
}

void history_profile_make(const struct job *job, struct history_profile *p)
{
        const struct job_customer *c = &job->customer;
        char email[9], phone[9];
        int64_t owed = 0;

        contact_hex(email, c->email);
        contact_hex(phone, c->phone);
        snprintf(p->job, sizeof(p->job), "%s|%s|%s", job->step, job->campaign,
                 c->segment ? c->segment : "");
        snprintf(p->contact, sizeof(p->contact), "%s|%s|%s|%s%s%s|%s|%s", email, phone,
                 c->has_address ? c->address.country : "-",
                 c->consent_email ? "e" : "", c->consent_sms ? "s" : "",
                 c->consent_email || c->consent_sms ? "" : "-",
                 c->preferred_channel == JOB_CHANNEL_NONE
                         ? "-" : job_channel_name(c->preferred_channel),
                 c->locale);
        for (size_t i = 0; i < job->n_invoices; i++)
                owed += job->invoices[i].amount_cents;
        snprintf(p->owed, sizeof(p->owed), "%lld %s", (long long)owed,
                 job->n_invoices ? job->invoices[0].currency : "EUR");
}

/* Splits s at '|' into at most n parts (in place); returns how many. */
static size_t split_bar(char *s, char **part, size_t n)
{
        size_t k = 0;
        while (k < n) {
                part[k++] = s;
                char *bar = strchr(s, '|');
                if (!bar || k == n)
                        break;
                *bar = '\0';
                s = bar + 1;
        }
        return k;
}

/* Placeholders for the contacts the last job had: valid in form, owned
 * by nobody (RFC 2606 names, a number Dutch operators never assign). */
#define PROFILE_EMAIL "explain@example.invalid"
#define PROFILE_PHONE "+31600000000"

/* An invalid mark for the profile's contact (hex) moves onto the
 * placeholder; one for another contact is an older one's: gone. */
static void profile_mark(struct history_channel *ch, const char *hex, const char *placeholder)
{
        char mine[9];
        if (!ch->invalid_ms)
                return;
        snprintf(mine, sizeof(mine), "%08" PRIx32, ch->invalid_contact);
        if (strcmp(hex, mine) == 0)
                ch->invalid_contact = history_contact_hash(placeholder);
        else
                ch->invalid_ms = 0;
}

int history_profile_job(const struct queue_fields *f, const char *customer_id, const char *step,
                        struct history *h, struct job **out, struct error *err)
{
        const char *jf = queue_fields_get(f, "job"), *cf = queue_fields_get(f, "contact"),
                   *of = queue_fields_get(f, "owed");
        char jobs[200], contact[96], *jp[3], *cp[6], currency[8];
        long long owed;

        *out = NULL;
        if (!jf && !cf && !of)
                return 0;
        snprintf(jobs, sizeof(jobs), "%s", jf ? jf : "");
        snprintf(contact, sizeof(contact), "%s", cf ? cf : "");
        if (split_bar(jobs, jp, 3) != 3 || split_bar(contact, cp, 6) != 6 || !of ||
            sscanf(of, "%lld %7s", &owed, currency) != 2)
                return error_set(err, -EINVAL, "customer %s: last job's profile malformed "
                                 "(job \"%s\", contact \"%s\", owed \"%s\")", customer_id,
                                 jf ? jf : "", cf ? cf : "", of ? of : "");

        json_t *cust = json_pack("{ssssss}", "id", customer_id, "name", "-", "locale", cp[5]);
        if (strcmp(cp[0], "-") != 0)
                json_object_set_new(cust, "email", json_string(PROFILE_EMAIL));
        if (strcmp(cp[1], "-") != 0)
                json_object_set_new(cust, "phone", json_string(PROFILE_PHONE));
        if (strcmp(cp[2], "-") != 0)
                json_object_set_new(cust, "address",
                                    json_pack("{s[s]ssssss}", "lines", "-", "postal_code", "-",
                                              "city", "-", "country", cp[2]));
        json_object_set_new(cust, "consent",
                            json_pack("{sbsb}", "email", strchr(cp[3], 'e') != NULL, "sms",
                                      strchr(cp[3], 's') != NULL));
        if (strcmp(cp[4], "-") != 0)
                json_object_set_new(cust, "preferred_channel", json_string(cp[4]));
        if (jp[2][0])
                json_object_set_new(cust, "segment", json_string(jp[2]));
        /* Text that is not UTF-8 (never written so, but Redis holds
         * what it is given) makes json_pack fail. */
        json_t *root = json_pack("{sisssssos[{sssIssss}]}", "v", 1, "campaign", jp[1], "step",
                                 step ? step : jp[0], "customer", cust, "invoices", "number",
                                 "-", "amount_cents", (json_int_t)owed, "currency", currency,
                                 "due", "2000-01-01");
        char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
        json_decref(root);
        if (!text)
                return error_set(err, -EINVAL, "customer %s: last job's profile is not UTF-8 "
                                 "text", customer_id);
        int rc = job_parse(out, text, strlen(text), err);
        free(text);
        if (rc < 0)
                return rc;
        profile_mark(&h->ch[JOB_CHANNEL_EMAIL], cp[0], PROFILE_EMAIL);
        profile_mark(&h->ch[JOB_CHANNEL_SMS], cp[1], PROFILE_PHONE);
        return 0;
}

/* Appends s at out[*at] within n bytes (cut short, always terminated). */
static void key_part(char *out, size_t n, size_t *at, const char *s)
{
        size_t len = strlen(s);
        if (*at + len >= n)
                len = *at + 1 < n ? n - *at - 1 : 0;
        memcpy(out + *at, s, len);
        *at += len;
        out[*at] = '\0';
}

/* Several per job, so without printf. */
void history_key(const struct queue *q, char *out, size_t n, const char *kind, const char *name)
{
        size_t at = 0;
        if (n == 0)
                return;
        key_part(out, n, &at, queue_prefix(q));
        key_part(out, n, &at, ":");
        key_part(out, n, &at, kind);
        key_part(out, n, &at, ":");
        key_part(out, n, &at, name);
}

void history_stats_key(const struct queue *q, char *out, size_t n, int64_t ms)
{
        char day[11];
        civil_format(civil_today(ms), day);
        history_key(q, out, n, "stats", day);
}

/* --- reading, once per batch --- */

#define SEGMENTS_MAX 32

/* Counters of segments and days added up over a batch, written as one
 * HINCRBY each when the batch is recorded: a batch of 100 sends of one
 * campaign and step costs a handful of commands, not 300. */
#define TALLY_MAX 64

struct tally {
        char key[160];
        char field[320];
        long long n;
};

struct history_cache {
        struct tally tally[TALLY_MAX];
        size_t n_tally;
        struct {
                char name[32];
                struct history h;
                int64_t read_ms;      /* 0: never read */
                bool wanted;          /* named by the current batch */
        } seg[SEGMENTS_MAX];
        size_t n_seg;
};

struct history_cache *history_cache_new(void)
{
        return xcalloc(1, sizeof(struct history_cache));
}

void history_cache_free(struct history_cache *c)
{
        free(c);
}

static int seg_find(struct history_cache *c, const char *name, bool add)
{
        for (size_t i = 0; i < c->n_seg; i++)
                if (strcmp(c->seg[i].name, name) == 0)
                        return (int)i;
        if (!add || c->n_seg == SEGMENTS_MAX || strlen(name) >= sizeof(c->seg[0].name))
                return -1;
        snprintf(c->seg[c->n_seg].name, sizeof(c->seg[0].name), "%s", name);
        c->seg[c->n_seg].read_ms = 0;
        return (int)c->n_seg++;
}

void history_tally_reset(struct history_cache *c)
{
        c->n_tally = 0;
}

/* HINCRBY key field n, at the end of the batch (or now, when the tally
 * is full or the names too long for it). */
static void tally(struct history_cache *c, struct queue *q, const char *key, const char *field,
                  long long n)
{
        for (size_t i = 0; i < c->n_tally; i++) {
                if (strcmp(c->tally[i].key, key) == 0 && strcmp(c->tally[i].field, field) == 0) {
                        c->tally[i].n += n;
                        return;
                }
        }
        if (c->n_tally == TALLY_MAX || strlen(key) >= sizeof(c->tally[0].key) ||
            strlen(field) >= sizeof(c->tally[0].field)) {
                char num[24];
                snprintf(num, sizeof(num), "%lld", n);
                const char *argv[] = { "HINCRBY", key, field, num };
                queue_txn_argv(q, 4, argv);
                return;
        }
        struct tally *t = &c->tally[c->n_tally++];
        snprintf(t->key, sizeof(t->key), "%s", key);
        snprintf(t->field, sizeof(t->field), "%s", field);
        t->n = n;
}

void history_txn_flush(struct history_cache *c, struct queue *q, const struct config *cfg)
{
        char num[24], ttl[24];
        snprintf(ttl, sizeof(ttl), "%d", cfg->history.retention_days * 86400);
        for (size_t i = 0; i < c->n_tally; i++) {
                snprintf(num, sizeof(num), "%lld", c->tally[i].n);
                const char *argv[] = { "HINCRBY", c->tally[i].key, c->tally[i].field, num };
                queue_txn_argv(q, 4, argv);
                /* Each key's lifetime once (the day keys age out). */
                bool first = true;
                for (size_t j = 0; j < i && first; j++)
                        first = strcmp(c->tally[j].key, c->tally[i].key) != 0;
                if (first) {
                        const char *exp[] = { "EXPIRE", c->tally[i].key, ttl };
                        queue_txn_argv(q, 3, exp);
                }
        }
        c->n_tally = 0;
}

const struct history *history_cache_segment(const struct history_cache *c, const char *name)
{
        for (size_t i = 0; name && i < c->n_seg; i++)
                if (strcmp(c->seg[i].name, name) == 0 && c->seg[i].read_ms)
                        return &c->seg[i].h;
        return NULL;
}

/* Whether the invoice hash f says inv is paid. */
static bool invoice_paid(const struct queue_fields *f, const struct job_invoice *inv)
{
        const char *status = queue_fields_get(f, "status");
        const char *paid = queue_fields_get(f, "paid_cents");
        if (status && strcmp(status, "paid") == 0)
                return true;
        return paid && num(paid) >= inv->amount_cents;
}

/* The keys of the jobs' customers and invoices, in the order the replies
 * come: each job's customer, then its invoices. */
static char **fetch_keys(struct queue *q, struct job *const *jobs, size_t n, size_t *nkeys)
{
        size_t cap = 0, k = 0;
        for (size_t i = 0; i < n; i++)
                cap += jobs[i] ? 1 + jobs[i]->n_invoices : 0;
        char **keys = xcalloc(cap ? cap : 1, sizeof(*keys));
        for (size_t i = 0; i < n; i++) {
                if (!jobs[i])
                        continue;
                char key[512];
                history_key(q, key, sizeof(key), "customer", jobs[i]->customer.id);
                keys[k++] = xstrdup(key);
                for (size_t j = 0; j < jobs[i]->n_invoices; j++) {
                        history_key(q, key, sizeof(key), "invoice", jobs[i]->invoices[j].number);
                        keys[k++] = xstrdup(key);
                }
        }
        *nkeys = k;
        return keys;
}

void history_fetch_send(struct queue *q, struct job *const *jobs, size_t n)
{
        size_t nkeys;
        char **keys = fetch_keys(q, jobs, n, &nkeys);
        queue_hashes_send(q, (const char *const *)keys, nkeys);
        for (size_t i = 0; i < nkeys; i++)
                free(keys[i]);
        free(keys);
}

/* Whether field name of f holds a time less than HISTORY_TTL_FRESH_MS
 * before now_ms. */
static bool fresh(const struct queue_fields *f, const char *name, int64_t now_ms)
{
        const char *v = queue_fields_get(f, name);
        int64_t age = v ? now_ms - num(v) : -1;
        return v && age >= 0 && age < HISTORY_TTL_FRESH_MS;
}

/* A 64-bit FNV-1a of the strings s[0..n), each ended by a unit
 * separator; 0 when one is missing. */
static uint64_t fields_sig(const char *const *s, size_t n)
{
        uint64_t x = 14695981039346656037ULL;
        for (size_t i = 0; i < n; i++) {
                if (!s[i])
                        return 0;
                for (const unsigned char *p = (const unsigned char *)s[i]; *p; p++)
                        x = (x ^ *p) * 1099511628211ULL;
                x = (x ^ 0x1f) * 1099511628211ULL;
        }
        return x ? x : 1;
}

/* The fields a send writes to the invoice's and the customer's hash that
 * stay the same from step to step (see struct history_ttl). */
#define N_FIXED_MAX 5
static const char *const invoice_fixed[N_FIXED_MAX] = { "amount_cents", "due", "currency",
                                                        "customer", "segment" };
static const char *const customer_fixed[3] = { "tz", "contact", "owed" };

/* fields_sig of what the hash f holds in the n fields named. */
static uint64_t stored_sig(const struct queue_fields *f, const char *const *names, size_t n)
{
        const char *v[N_FIXED_MAX];
        for (size_t i = 0; i < n; i++)
                v[i] = queue_fields_get(f, names[i]);
        return fields_sig(v, n);
}

/* Zeroes the signatures of the customers and invoices that more than one
 * job of the batch names: each of their sends writes every field, so that
 * the batch's last send wins whole, as it would without signatures. (Two
 * names with one hash only cost a full write.) */
static void forget_repeats(struct job *const *jobs, size_t n, struct history_ttl *ttl)
{
        size_t names = 0, cap = 16;
        for (size_t i = 0; i < n; i++)
                names += jobs[i] ? 1 + jobs[i]->n_invoices : 0;
        while (cap < 2 * names)
                cap *= 2;
        struct {
                uint64_t h;
                int n;
        } *t = xcalloc(cap, sizeof(*t));
        for (int pass = 0; pass < 2; pass++) {
                for (size_t i = 0; i < n; i++) {
                        for (size_t j = 0; jobs[i] && j <= jobs[i]->n_invoices; j++) {
                                const char *name = j ? jobs[i]->invoices[j - 1].number
                                                     : jobs[i]->customer.id;
                                /* Customers and invoices apart; never 0 (a free slot). */
                                uint64_t apart = j ? 0x9e3779b97f4a7c15ULL : 0;
                                uint64_t h = (fields_sig(&name, 1) ^ apart) | 1;
                                size_t s = h & (cap - 1);
                                while (t[s].h && t[s].h != h)
                                        s = (s + 1) & (cap - 1);
                                if (pass == 0) {
                                        t[s].h = h;
                                        t[s].n++;
                                } else if (t[s].n > 1 && !j) {
                                        ttl[i].customer_sig = 0;
                                } else if (t[s].n > 1 && j - 1 < HISTORY_SIG_INVOICES) {
                                        ttl[i].invoice_sig[j - 1] = 0;
                                }
                        }
                }
        }
        free(t);
}

int history_fetch_reply(struct history_cache *c, struct queue *q, const struct config *cfg,
                        struct job *const *jobs, size_t n, int64_t now_ms,
                        struct history *out, bool *paid, int64_t *open,
                        struct history_ttl *ttl, struct hold_state *holds, struct error *err)
{
        size_t n_job_keys = 0;
        int rc = 0;

        for (size_t i = 0; i < n; i++) {
                memset(&out[i], 0, sizeof(out[i]));
                paid[i] = false;
                if (open)
                        open[i] = 0;
                if (ttl)
                        memset(&ttl[i], 0, sizeof(ttl[i]));
                if (holds)
                        memset(&holds[i], 0, sizeof(holds[i]));
                n_job_keys += jobs[i] ? 1 + jobs[i]->n_invoices : 0;
        }
        struct queue_fields *f = xcalloc(n_job_keys + SEGMENTS_MAX, sizeof(*f));
        char *seg_keys[SEGMENTS_MAX];
        size_t segs[SEGMENTS_MAX], ns = 0;
        /* The customers first: their derived segments say which segment
         * aggregates are wanted, so those go in a second short pipeline
         * only when stale (every segment_refresh_ms). */
        if (n_job_keys && (rc = queue_hashes_reply(q, n_job_keys, f, err)) < 0)
                goto out;
        for (size_t i = 0; i < c->n_seg; i++)
                c->seg[i].wanted = false;
        /* With a retention of one day, a key a send touched within the
         * day may be gone by the time this batch records: nothing is
         * taken as fresh then. */
        struct history_ttl *known = cfg->history.retention_days >= 2 ? ttl : NULL;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
                if (!jobs[i])
                        continue;
                if (known) {
                        known[i].customer = fresh(&f[at], "exp_ms", now_ms);
                        known[i].customer_sig = stored_sig(&f[at], customer_fixed, 3);
                }
                if (holds)
                        hold_state_add(&holds[i], jobs[i], &f[at], false, now_ms);
                history_from_fields(&out[i], &f[at++]);
                bool all = jobs[i]->n_invoices > 0;
                for (size_t j = 0; j < jobs[i]->n_invoices; j++, at++) {
                        if (known && j < 64) {
                                uint64_t bit = (uint64_t)1 << j;
                                if (fresh(&f[at], "exp_ms", now_ms))
                                        known[i].invoice |= bit;
                                if (fresh(&f[at], "ref_ms", now_ms))
                                        known[i].ref |= bit;
                        }
                        if (known && j < HISTORY_SIG_INVOICES)
                                known[i].invoice_sig[j] = stored_sig(&f[at], invoice_fixed, 5);
                        if (holds)
                                hold_state_add(&holds[i], jobs[i], &f[at], true, now_ms);
                        if (invoice_paid(&f[at], &jobs[i]->invoices[j]))
                                continue;
                        all = false;
                        const char *pc = queue_fields_get(&f[at], "paid_cents");
                        if (open)
                                open[i] += jobs[i]->invoices[j].amount_cents - (pc ? num(pc) : 0);
                }
                paid[i] = all;
                int s = seg_find(c, history_segment_of(jobs[i], &out[i], cfg), true);
                if (s >= 0 && now_ms - c->seg[s].read_ms >= cfg->history.segment_refresh_ms)
                        c->seg[s].wanted = true;
        }
        if (known)
                forget_repeats(jobs, n, known);
        for (size_t i = 0; i < c->n_seg; i++) {
                if (!c->seg[i].wanted)
                        continue;
                char k[512];
                history_key(q, k, sizeof(k), "segment", c->seg[i].name);
                seg_keys[ns] = xstrdup(k);
                segs[ns++] = i;
        }
        if (ns && (rc = queue_hashes_get(q, (const char *const *)seg_keys, ns, f + n_job_keys,
                                         err)) < 0)
                goto out;
        for (size_t i = 0; i < ns; i++) {
                history_from_fields(&c->seg[segs[i]].h, &f[n_job_keys + i]);
                c->seg[segs[i]].read_ms = now_ms;
        }
out:
        for (size_t i = 0; i < n_job_keys + ns; i++)
                queue_fields_free(&f[i]);
        for (size_t i = 0; i < ns; i++)
                free(seg_keys[i]);
        free(f);
        return rc;
}

/* --- writing, in the batch transaction --- */

/* Appends one command (arguments ending with NULL) to the transaction. */
static void txn(struct queue *q, const char *first, ...) __attribute__((sentinel));
static void txn(struct queue *q, const char *first, ...)
{
        const char *argv[24];
        int argc = 0;
        va_list ap;

        argv[argc++] = first;
        va_start(ap, first);
        for (const char *a; argc < 24 && (a = va_arg(ap, const char *));)
                argv[argc++] = a;
        va_end(ap);
        queue_txn_argv(q, argc, argv);
}

/* Whether a later event can name a reminder by its id alone: a payment
 * through its pay link. (An SMS delivery report finds what it needs in the
 * record kept for it, queue_txn_sms_sent.) Otherwise the invoices' last
 * touch says all there is to know, and not writing a hash per send keeps
 * Redis's share of a job down by a tenth. */
static bool reminder_named_later(const struct config *cfg)
{
        return strcmp(cfg->paylink.provider, "none") != 0;
}

/* What a send (ch) or a held-out step (ch "") writes: plain commands in
 * the batch's MULTI, not a script: Redis runs a script's calls at about
 * twice the cost of the same commands sent to it, and at 20,000 sends a
 * second on two cores Redis is what runs out first. */
static int send_record(struct history_cache *hc, struct queue *q, const struct config *cfg,
                       const struct job *job, const char *ch, const char *segment,
                       const char *reference, const struct history_ttl *fresh_ttl,
                       int64_t now_ms, struct error *err)
{
        char k_cust[512], k_seg[512], k_stats[512], k_rem[512], k_key[512];
        char now[24], ttl[24], amount[24], field[512], touch[512];
        struct buf nums = BUF_INIT;
        enum job_channel c = ch[0] ? job_channel_from_name(ch) : JOB_CHANNEL_NONE;

        (void)err;
        snprintf(now, sizeof(now), "%lld", (long long)now_ms);
        snprintf(ttl, sizeof(ttl), "%d", cfg->history.retention_days * 86400);
        history_stats_key(q, k_stats, sizeof(k_stats), now_ms);
        if (c == JOB_CHANNEL_NONE)
                snprintf(touch, sizeof(touch), "%s|%s|%s|%s", job->reminder_id, now, job->step,
                         job->campaign);
        else
                snprintf(touch, sizeof(touch), "%s|%s|%s|%s|%s", ch, job->reminder_id, now,
                         job->step, job->campaign);
        /* The reference key names the invoice of a one-invoice reminder. */
        bool ref = c != JOB_CHANNEL_NONE && reference && reference[0] && job->n_invoices == 1;
        for (size_t i = 0; i < job->n_invoices; i++) {
                const struct job_invoice *inv = &job->invoices[i];
                uint64_t bit = i < 64 ? (uint64_t)1 << i : 0;
                /* A send sets the time to live when a send has not set it
                 * for a day; a held-out step always does (it marks no time). */
                bool expire = c == JOB_CHANNEL_NONE || !fresh_ttl || !(fresh_ttl->invoice & bit);
                bool set_ref = ref && (!fresh_ttl || !(fresh_ttl->ref & bit));
                snprintf(amount, sizeof(amount), "%lld", (long long)inv->amount_cents);
                /* The values of invoice_fixed. */
                const char *fixed[] = { amount, inv->due, inv->currency, job->customer.id,
                                        segment };
                /* Unchanged and in a hash that lives on: only the touch. */
                bool same = !expire && i < HISTORY_SIG_INVOICES && fresh_ttl->invoice_sig[i] &&
                            fresh_ttl->invoice_sig[i] == fields_sig(fixed, 5);
                const char *argv[18] = { "HSET", k_key };
                int argc = 2;
                for (size_t k = 0; !same && k < 5; k++) {
                        argv[argc++] = invoice_fixed[k];
                        argv[argc++] = fixed[k];
                }
                argv[argc++] = c == JOB_CHANNEL_NONE ? "held_out" : "last";
                argv[argc++] = touch;
                history_key(q, k_key, sizeof(k_key), "invoice", inv->number);
                if (expire && c != JOB_CHANNEL_NONE) {
                        argv[argc++] = "exp_ms";
                        argv[argc++] = now;
                }
                if (set_ref) {
                        argv[argc++] = "ref_ms";
                        argv[argc++] = now;
                }
                queue_txn_argv(q, argc, argv);
                if (expire)
                        txn(q, "EXPIRE", k_key, ttl, NULL);
                if (set_ref) {
                        history_key(q, k_key, sizeof(k_key), "ref", reference);
                        txn(q, "SET", k_key, inv->number, "EX", ttl, NULL);
                }
                buf_printf(&nums, "%s%s", i ? "\n" : "", inv->number);
        }
        if (c == JOB_CHANNEL_NONE) {
                snprintf(field, sizeof(field), "held_out|-|%s|%s|%s", job->step, segment,
                         job->campaign);
                tally(hc, q, k_stats, field, 1);
                buf_free(&nums);
                return 0;
        }
        history_key(q, k_cust, sizeof(k_cust), "customer", job->customer.id);
        snprintf(field, sizeof(field), "sent:%s", ch);
        txn(q, "HINCRBY", k_cust, field, "1", NULL);
        snprintf(field, sizeof(field), "last_sent:%s", ch);
        struct history_profile pr;
        history_profile_make(job, &pr);
        bool expire = !fresh_ttl || !fresh_ttl->customer;
        const char *tz = job->customer.timezone ? job->customer.timezone : cfg->default_timezone;
        const char *fixed[] = { tz, pr.contact, pr.owed };     /* of customer_fixed */
        bool same = !expire && fresh_ttl->customer_sig &&
                    fresh_ttl->customer_sig == fields_sig(fixed, 3);
        const char *argv[14] = { "HSET", k_cust, field, now, "job", pr.job };
        int argc = 6;
        for (size_t k = 0; !same && k < 3; k++) {
                argv[argc++] = customer_fixed[k];
                argv[argc++] = fixed[k];
        }
        if (expire) {
                argv[argc++] = "exp_ms";
                argv[argc++] = now;
        }
        queue_txn_argv(q, argc, argv);
        if (expire)
                txn(q, "EXPIRE", k_cust, ttl, NULL);
        history_key(q, k_seg, sizeof(k_seg), "segment", segment);
        snprintf(field, sizeof(field), "sent:%s", ch);
        tally(hc, q, k_seg, field, 1);
        snprintf(field, sizeof(field), "sent|%s|%s|%s|%s", ch, job->step, segment, job->campaign);
        tally(hc, q, k_stats, field, 1);
        if (cfg->policy.cost_cents[c]) {
                snprintf(field, sizeof(field), "cost|%s|%s|%s|%s", ch, job->step, segment,
                         job->campaign);
                tally(hc, q, k_stats, field, cfg->policy.cost_cents[c]);
        }
        if (reminder_named_later(cfg)) {
                history_key(q, k_rem, sizeof(k_rem), "reminder", job->reminder_id);
                txn(q, "HSET", k_rem, "channel", ch, "sent_ms", now, "step", job->step,
                    "campaign", job->campaign, "customer", job->customer.id, "segment",
                    segment, "invoices", buf_str(&nums), NULL);
                txn(q, "EXPIRE", k_rem, ttl, NULL);
        }
        buf_free(&nums);
        return 0;
}

int history_txn_sent(struct history_cache *c, struct queue *q, const struct config *cfg,
                     const struct job *job, enum job_channel ch, const char *segment,
                     const char *reference, const struct history_ttl *ttl, int64_t now_ms,
                     struct error *err)
{
        return send_record(c, q, cfg, job, job_channel_name(ch), segment, reference, ttl,
                           now_ms, err);
}

int history_txn_held_out(struct history_cache *c, struct queue *q, const struct config *cfg,
                         const struct job *job, const char *segment, int64_t now_ms,
                         struct error *err)
{
        return send_record(c, q, cfg, job, "", segment, NULL, NULL, now_ms, err);
}

void history_txn_invalid(struct history_cache *c, struct queue *q, const struct config *cfg,
                         const struct job *job, enum job_channel ch, const char *segment,
                         int64_t now_ms)
{
        char key[512], field[32], value[64], stats[512], sfield[512];
        const char *contact = job_contact(job, ch);

        history_key(q, key, sizeof(key), "customer", job->customer.id);
        snprintf(field, sizeof(field), "invalid:%s", job_channel_name(ch));
        snprintf(value, sizeof(value), "%lld:%08x", (long long)now_ms,
                 history_contact_hash(contact ? contact : ""));
        const char *hset[] = { "HSET", key, field, value };
        queue_txn_argv(q, 4, hset);

        history_stats_key(q, stats, sizeof(stats), now_ms);
        snprintf(sfield, sizeof(sfield), "failed|%s|%s|%s|%s", job_channel_name(ch), job->step,
                 segment, job->campaign);
        tally(c, q, stats, sfield, 1);
}

void history_txn_handover(struct history_cache *c, struct queue *q, const struct config *cfg,
                          const struct job *job, const char *segment, int64_t now_ms)
{
        char key[512], stats[512], field[512], value[256], ttl[24];

        snprintf(value, sizeof(value), "%s|%lld|%s", job->reminder_id, (long long)now_ms,
                 job->campaign);
        snprintf(ttl, sizeof(ttl), "%d", cfg->history.retention_days * 86400);
        for (size_t i = 0; i < job->n_invoices; i++) {
                history_key(q, key, sizeof(key), "invoice", job->invoices[i].number);
                txn(q, "HSET", key, "handover", value, NULL);
                txn(q, "EXPIRE", key, ttl, NULL);
        }
        history_stats_key(q, stats, sizeof(stats), now_ms);
        snprintf(field, sizeof(field), "handover|-|%s|%s|%s", job->step, segment, job->campaign);
        tally(c, q, stats, field, 1);
}

/* KEYS: reminder, day stats. ARGV: prefix, channel, delivered (1/0),
 * invalid mark value ("" for none), ttl s, then customer, segment, step,
 * campaign, or nothing: the reminder's hash has them. */
static const char delivery_lua[] =
        "local r = {ARGV[6], ARGV[7], ARGV[8], ARGV[9]}\n"
        "if not r[1] then\n"
        "  r = redis.call('HMGET', KEYS[1], 'customer', 'segment', 'step', 'campaign')\n"
        "end\n"
        "if not r[1] then return 0 end\n"
        "local p, ch = ARGV[1], ARGV[2]\n"
        "local what = ARGV[3] == '1' and 'delivered' or 'undelivered'\n"
        "local cust = p .. ':customer:' .. r[1]\n"
        "redis.call('HINCRBY', cust, what .. ':' .. ch, 1)\n"
        "if ARGV[4] ~= '' then redis.call('HSET', cust, 'invalid:' .. ch, ARGV[4]) end\n"
        "redis.call('HINCRBY', p .. ':segment:' .. r[2], what .. ':' .. ch, 1)\n"
        "redis.call('HINCRBY', KEYS[2], what .. '|' .. ch .. '|' .. r[3] .. '|' .. r[2] .. "
        "'|' .. r[4], 1)\n"
        "redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))\n"
        "return 1\n";

int history_delivery(struct queue *q, const struct config *cfg, const char *reminder,
                     const struct job *job, const char *segment, enum job_channel ch,
                     bool delivered, const char *contact, int64_t now_ms, struct error *err)
{
        int script = queue_script_add(q, delivery_lua, err);
        if (script < 0)
                return script;
        char rkey[512], stats[512], invalid[64] = "", ttl[24];
        history_key(q, rkey, sizeof(rkey), "reminder", reminder);
        history_stats_key(q, stats, sizeof(stats), now_ms);
        if (!delivered && contact)
                snprintf(invalid, sizeof(invalid), "%lld:%08x", (long long)now_ms,
                         history_contact_hash(contact));
        snprintf(ttl, sizeof(ttl), "%d", cfg->history.retention_days * 86400);
        bool named = job && segment && segment[0];
        const char *argv[] = { rkey, stats, cfg->redis.prefix, job_channel_name(ch),
                               delivered ? "1" : "0", invalid, ttl,
                               named ? job->customer.id : NULL, segment,
                               named ? job->step : NULL, named ? job->campaign : NULL };
        return queue_script_call(q, script, 2, named ? 11 : 7, argv, NULL, err);
}
