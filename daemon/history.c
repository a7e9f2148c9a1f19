/* history.c: per-customer and per-segment response history in Redis.
 *
 * The layout of the keys is in history.h. Reads are one pipelined round
 * trip per batch; writes go into the worker's batch transaction, the
 * per-send part as one Lua call so a send costs one command more, not ten. */
#include "history.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

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

void history_key(const struct queue *q, char *out, size_t n, const char *kind, const char *name)
{
        char part[96];
        snprintf(part, sizeof(part), "%s:", kind);
        queue_key(q, out, n, part);
        size_t len = strlen(out);
        snprintf(out + len, n > len ? n - len : 0, "%s", name);
}

void history_stats_key(const struct queue *q, char *out, size_t n, int64_t ms)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        char day[32];
        gmtime_r(&t, &tm);
        strftime(day, sizeof(day), "stats:%Y-%m-%d", &tm);
        queue_key(q, out, n, day);
}

/* --- reading, once per batch --- */

#define SEGMENTS_MAX 32

struct history_cache {
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

int history_fetch(struct history_cache *c, struct queue *q, const struct config *cfg,
                  struct job *const *jobs, size_t n, int64_t now_ms, struct history *out,
                  bool *paid, struct error *err)
{
        size_t nkeys = 0, cap = 0;
        char **keys = NULL;
        int rc = 0;

        for (size_t i = 0; i < n; i++) {
                memset(&out[i], 0, sizeof(out[i]));
                paid[i] = false;
                if (!jobs[i])
                        continue;
                cap += 1 + jobs[i]->n_invoices;
        }
        cap += SEGMENTS_MAX;
        keys = xcalloc(cap, sizeof(*keys));
        for (size_t i = 0; i < n; i++) {
                if (!jobs[i])
                        continue;
                char k[512];
                history_key(q, k, sizeof(k), "customer", jobs[i]->customer.id);
                keys[nkeys++] = xstrdup(k);
                for (size_t j = 0; j < jobs[i]->n_invoices; j++) {
                        history_key(q, k, sizeof(k), "invoice", jobs[i]->invoices[j].number);
                        keys[nkeys++] = xstrdup(k);
                }
        }
        size_t n_job_keys = nkeys;
        struct queue_fields *f = xcalloc(cap, sizeof(*f));
        /* The customers first: their derived segments say which segment
         * aggregates are wanted, so those go in a second short pipeline
         * only when stale (every segment_refresh_ms). */
        if (n_job_keys && (rc = queue_hashes_get(q, (const char *const *)keys, n_job_keys, f,
                                                 err)) < 0)
                goto out;
        for (size_t i = 0; i < c->n_seg; i++)
                c->seg[i].wanted = false;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
                if (!jobs[i])
                        continue;
                history_from_fields(&out[i], &f[at++]);
                bool all = jobs[i]->n_invoices > 0;
                for (size_t j = 0; j < jobs[i]->n_invoices; j++, at++)
                        if (!invoice_paid(&f[at], &jobs[i]->invoices[j]))
                                all = false;
                paid[i] = all;
                int s = seg_find(c, history_segment_of(jobs[i], &out[i], cfg), true);
                if (s >= 0 && now_ms - c->seg[s].read_ms >= cfg->history.segment_refresh_ms)
                        c->seg[s].wanted = true;
        }
        size_t segs[SEGMENTS_MAX], ns = 0;
        for (size_t i = 0; i < c->n_seg; i++) {
                if (!c->seg[i].wanted)
                        continue;
                char k[512];
                history_key(q, k, sizeof(k), "segment", c->seg[i].name);
                keys[nkeys++] = xstrdup(k);
                segs[ns++] = i;
        }
        if (ns && (rc = queue_hashes_get(q, (const char *const *)keys + n_job_keys, ns,
                                         f + n_job_keys, err)) < 0)
                goto out;
        for (size_t i = 0; i < ns; i++) {
                history_from_fields(&c->seg[segs[i]].h, &f[n_job_keys + i]);
                c->seg[segs[i]].read_ms = now_ms;
        }
out:
        for (size_t i = 0; i < nkeys; i++) {
                queue_fields_free(&f[i]);
                free(keys[i]);
        }
        free(f);
        free(keys);
        return rc;
}

/* --- writing, in the batch transaction --- */

/* KEYS: customer, segment, day stats, reminder, invoices...
 * ARGV: 1 channel ("" when the step was held out), 2 now ms, 3 step,
 * 4 campaign, 5 segment, 6 reminder id, 7 cost cents, 8 ttl s,
 * 9 customer id, 10 job, 11 time zone, 12 reference key (""), then per
 * invoice: number, amount_cents, due, currency. */
static const char send_lua[] =
        "local ch, now, step, camp, seg, rid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], "
        "ARGV[6]\n"
        "local ttl = tonumber(ARGV[8])\n"
        "local dims = step .. '|' .. seg .. '|' .. camp\n"
        "local nums = {}\n"
        "for i = 5, #KEYS do\n"
        "  local a = 13 + (i - 5) * 4\n"
        "  nums[#nums + 1] = ARGV[a]\n"
        "  redis.call('HSET', KEYS[i], 'amount_cents', ARGV[a + 1], 'due', ARGV[a + 2], "
        "'currency', ARGV[a + 3], 'customer', ARGV[9], 'segment', seg)\n"
        "  redis.call('HSETNX', KEYS[i], 'status', 'open')\n"
        "  redis.call('HSETNX', KEYS[i], 'paid_cents', '0')\n"
        "  if ch == '' then\n"
        "    redis.call('HSET', KEYS[i], 'held_out', rid .. '|' .. now .. '|' .. step .. '|' .. "
        "camp)\n"
        "  else\n"
        "    redis.call('HSET', KEYS[i], 'last', ch .. '|' .. rid .. '|' .. now .. '|' .. step .. "
        "'|' .. camp)\n"
        "  end\n"
        "  redis.call('EXPIRE', KEYS[i], ttl)\n"
        "end\n"
        "if ch == '' then\n"
        "  redis.call('HINCRBY', KEYS[3], 'held_out|-|' .. dims, 1)\n"
        "  redis.call('EXPIRE', KEYS[3], ttl)\n"
        "  return 0\n"
        "end\n"
        "redis.call('HINCRBY', KEYS[1], 'sent:' .. ch, 1)\n"
        "redis.call('HSET', KEYS[1], 'last_sent:' .. ch, now, 'job', ARGV[10], 'tz', ARGV[11])\n"
        "redis.call('EXPIRE', KEYS[1], ttl)\n"
        "redis.call('HINCRBY', KEYS[2], 'sent:' .. ch, 1)\n"
        "redis.call('HINCRBY', KEYS[3], 'sent|' .. ch .. '|' .. dims, 1)\n"
        "if ARGV[7] ~= '0' then\n"
        "  redis.call('HINCRBY', KEYS[3], 'cost|' .. ch .. '|' .. dims, ARGV[7])\n"
        "end\n"
        "redis.call('EXPIRE', KEYS[3], ttl)\n"
        "redis.call('HSET', KEYS[4], 'channel', ch, 'sent_ms', now, 'step', step, 'campaign', "
        "camp, 'customer', ARGV[9], 'segment', seg, 'invoices', table.concat(nums, '\\n'))\n"
        "redis.call('EXPIRE', KEYS[4], ttl)\n"
        "if ARGV[12] ~= '' then redis.call('SET', ARGV[12], rid, 'EX', ttl) end\n"
        "return 1\n";

int history_scripts_load(struct queue *q, struct error *err)
{
        int rc = queue_script_add(q, send_lua, err);
        return rc < 0 ? rc : 0;
}

static int send_record(struct queue *q, const struct config *cfg, const struct job *job,
                       const char *ch, const char *segment, const char *reference,
                       int64_t now_ms, struct error *err)
{
        int script = queue_script_add(q, send_lua, err);
        if (script < 0)
                return script;

        size_t ni = job->n_invoices;
        size_t nkeys = 4 + ni, nargs = 12 + 4 * ni;
        char **own = xcalloc(nkeys + 8 + 2 * ni, sizeof(*own));
        const char **argv = xcalloc(nkeys + nargs, sizeof(*argv));
        size_t no = 0, a = 0;
        char k[512], v[64];

#define OWN(s) (own[no] = xstrdup(s), (const char *)own[no++])
        history_key(q, k, sizeof(k), "customer", job->customer.id);
        argv[a++] = OWN(k);
        history_key(q, k, sizeof(k), "segment", segment);
        argv[a++] = OWN(k);
        history_stats_key(q, k, sizeof(k), now_ms);
        argv[a++] = OWN(k);
        history_key(q, k, sizeof(k), "reminder", job->reminder_id);
        argv[a++] = OWN(k);
        for (size_t i = 0; i < ni; i++) {
                history_key(q, k, sizeof(k), "invoice", job->invoices[i].number);
                argv[a++] = OWN(k);
        }
        enum job_channel c = ch[0] ? job_channel_from_name(ch) : JOB_CHANNEL_NONE;
        argv[a++] = ch;
        snprintf(v, sizeof(v), "%lld", (long long)now_ms);
        argv[a++] = OWN(v);
        argv[a++] = job->step;
        argv[a++] = job->campaign;
        argv[a++] = segment;
        argv[a++] = job->reminder_id;
        snprintf(v, sizeof(v), "%d", c >= 0 ? cfg->policy.cost_cents[c] : 0);
        argv[a++] = OWN(v);
        snprintf(v, sizeof(v), "%d", cfg->history.retention_days * 86400);
        argv[a++] = OWN(v);
        argv[a++] = job->customer.id;
        argv[a++] = job->json;
        argv[a++] = job->customer.timezone ? job->customer.timezone : cfg->default_timezone;
        if (reference && reference[0]) {
                history_key(q, k, sizeof(k), "ref", reference);
                argv[a++] = OWN(k);
        } else {
                argv[a++] = "";
        }
        for (size_t i = 0; i < ni; i++) {
                const struct job_invoice *inv = &job->invoices[i];
                argv[a++] = inv->number;
                snprintf(v, sizeof(v), "%lld", (long long)inv->amount_cents);
                argv[a++] = OWN(v);
                argv[a++] = inv->due;
                argv[a++] = inv->currency;
        }
#undef OWN
        queue_txn_script(q, script, (int)nkeys, (int)a, argv);
        for (size_t i = 0; i < no; i++)
                free(own[i]);
        free(own);
        free(argv);
        return 0;
}

int history_txn_sent(struct queue *q, const struct config *cfg, const struct job *job,
                     enum job_channel ch, const char *segment, const char *reference,
                     int64_t now_ms, struct error *err)
{
        return send_record(q, cfg, job, job_channel_name(ch), segment, reference, now_ms, err);
}

int history_txn_held_out(struct queue *q, const struct config *cfg, const struct job *job,
                         const char *segment, int64_t now_ms, struct error *err)
{
        return send_record(q, cfg, job, "", segment, NULL, now_ms, err);
}

void history_txn_invalid(struct queue *q, const struct config *cfg, const struct job *job,
                         enum job_channel ch, const char *segment, int64_t now_ms)
{
        char key[512], field[32], value[64], stats[512], sfield[512], ttl[24];
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
        const char *incr[] = { "HINCRBY", stats, sfield, "1" };
        queue_txn_argv(q, 4, incr);
        snprintf(ttl, sizeof(ttl), "%d", cfg->history.retention_days * 86400);
        const char *exp[] = { "EXPIRE", stats, ttl };
        queue_txn_argv(q, 3, exp);
}

/* KEYS: reminder, day stats. ARGV: prefix, channel, delivered (1/0),
 * invalid mark value ("" for none), ttl s. */
static const char delivery_lua[] =
        "local r = redis.call('HMGET', KEYS[1], 'customer', 'segment', 'step', 'campaign')\n"
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
                     enum job_channel ch, bool delivered, const char *contact, int64_t now_ms,
                     struct error *err)
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
        const char *argv[] = { rkey, stats, cfg->redis.prefix, job_channel_name(ch),
                               delivered ? "1" : "0", invalid, ttl };
        return queue_script_call(q, script, 2, 7, argv, NULL, err);
}
