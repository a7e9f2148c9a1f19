/* hold.c: holds and disputes (hold.h): the field format, what a batch's
 * reads say about a job, and the hold, release and park writes. */
#include "hold.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "history.h"

static const char *const reason_names[] = { "dispute", "arrangement", "other" };

const char *hold_reason_name(enum hold_reason r)
{
        return r >= 0 && r <= HOLD_OTHER ? reason_names[r] : "other";
}

int hold_reason_from_name(const char *name)
{
        for (int i = 0; name && i <= HOLD_OTHER; i++)
                if (strcmp(name, reason_names[i]) == 0)
                        return i;
        return -1;
}

/* A whole decimal number >= 0 ending at a '|' (or the end); the text
 * after it into *end. */
static bool field_num(const char *s, int64_t *v, const char **end)
{
        char *e;
        if (*s < '0' || *s > '9')
                return false;
        long long x = strtoll(s, &e, 10);
        if (*e != '|' && *e != '\0')
                return false;
        *v = x;
        *end = e;
        return true;
}

int hold_parse(const char *value, struct hold *h)
{
        memset(h, 0, sizeof(*h));
        if (!value)
                return -EINVAL;
        const char *bar = strchr(value, '|');
        char reason[16];
        if (!bar || (size_t)(bar - value) >= sizeof(reason))
                return -EINVAL;
        snprintf(reason, sizeof(reason), "%.*s", (int)(bar - value), value);
        int r = hold_reason_from_name(reason);
        const char *p = bar + 1;
        if (r < 0 || !field_num(p, &h->until_ms, &p) || *p != '|' ||
            !field_num(p + 1, &h->since_ms, &p))
                return -EINVAL;
        h->reason = (enum hold_reason)r;
        if (*p == '|')
                snprintf(h->note, sizeof(h->note), "%s", p + 1);
        return 0;
}

void hold_format(const struct hold *h, char *out, size_t n)
{
        char note[HOLD_NOTE_MAX + 1];
        snprintf(note, sizeof(note), "%s", h->note);
        for (char *c = note; *c; c++)
                if (*c == '\n' || *c == '\r')
                        *c = ' ';
        snprintf(out, n, "%s|%" PRId64 "|%" PRId64 "|%s", hold_reason_name(h->reason),
                 h->until_ms, h->since_ms, note);
}

bool hold_active(const struct hold *h, int64_t now_ms)
{
        return h->until_ms == 0 || h->until_ms > now_ms;
}

static void hold_more(struct hold_state *s, int64_t until, const char *reason)
{
        if (until > s->until_ms) {
                s->until_ms = until;
                snprintf(s->reason, sizeof(s->reason), "%s", reason);
        }
}

void hold_state_add(struct hold_state *s, const struct job *job, const struct queue_fields *f,
                    bool invoice, int64_t now_ms)
{
        struct hold h;
        if (hold_parse(queue_fields_get(f, "hold"), &h) == 0 && hold_active(&h, now_ms))
                hold_more(s, h.until_ms ? h.until_ms : HOLD_OPEN, hold_reason_name(h.reason));
        if (!invoice)
                return;
        const char *paid = queue_fields_get(f, "paid_cents");
        if (paid)
                s->paid_cents += strtoll(paid, NULL, 10);
        const char *arr = queue_fields_get(f, "arrangement");
        if (!arr || !arr[0])
                return;
        snprintf(s->arrangement, sizeof(s->arrangement), "%s", arr);
        /* Normal dunning stops under an arrangement; its own installment
         * reminders are what it sends instead. */
        if (!job->installment || strcmp(job->installment->arrangement, arr) != 0)
                hold_more(s, HOLD_OPEN, "arrangement");
}

const char *hold_gate(const struct job *job, const struct hold_state *s, int64_t now_ms,
                      int64_t recheck_ms, int64_t *resume_ms)
{
        if (s->until_ms > now_ms) {
                int64_t again = now_ms + recheck_ms;
                *resume_ms = s->until_ms < again ? s->until_ms : again;
                return "held";
        }
        if (!job->installment)
                return NULL;
        if (strcmp(s->arrangement, job->installment->arrangement) != 0)
                return "arrangement-ended";
        if (s->paid_cents - job->installment->base_paid_cents >= job->installment->cum_cents)
                return "installment-paid";
        return NULL;
}

void hold_summary_of(const struct queue_fields *customer, int64_t now_ms,
                     struct hold_summary *out)
{
        memset(out, 0, sizeof(*out));
        const char *d = queue_fields_get(customer, "disputes");
        const char *fl = queue_fields_get(customer, "flagged");
        out->disputes = d ? strtoll(d, NULL, 10) : 0;
        out->flagged_ms = fl ? strtoll(fl, NULL, 10) : 0;
        out->held = hold_parse(queue_fields_get(customer, "hold"), &out->hold) == 0 &&
                    hold_active(&out->hold, now_ms);
}

/* --- Redis --- */

static void target_key(struct queue *q, char *out, size_t n, const struct hold_target *t)
{
        history_key(q, out, n, t->kind, t->id);
}

static void parked_key(struct queue *q, char *out, size_t n, const char *kind, const char *id)
{
        snprintf(out, n, "%s:held:%s:%s", queue_prefix(q), kind, id);
}

static void txn(struct queue *q, int argc, const char *a0, const char *a1, const char *a2,
                const char *a3, const char *a4)
{
        const char *argv[] = { a0, a1, a2, a3, a4 };
        queue_txn_argv(q, argc, argv);
}

int hold_put(struct queue *q, const struct config *cfg, const struct hold_target *t,
             const struct hold *h, struct hold_put_result *res, struct error *err)
{
        char key[512], ckey[512], value[512], count[24], flag[64], until[24], ttl[24];
        int rc;

        snprintf(ttl, sizeof(ttl), "%d", cfg->history.retention_days * 86400);

        memset(res, 0, sizeof(*res));
        target_key(q, key, sizeof(key), t);
        hold_format(h, value, sizeof(value));
        snprintf(until, sizeof(until), "%" PRId64, h->until_ms);
        for (int tries = 0; tries < 5; tries++) {
                struct queue_fields f = { 0 }, cf = { 0 };
                const char *keys[] = { key };
                /* The customer whose disputes count, and their count, read
                 * under WATCH so two disputes at once count two. */
                if ((rc = queue_watch(q, keys, 1, err)) < 0 ||
                    (rc = queue_hashes_get(q, keys, 1, &f, err)) < 0)
                        return rc;
                const char *cust = strcmp(t->kind, "customer") == 0
                                           ? t->id : queue_fields_get(&f, "customer");
                snprintf(res->customer, sizeof(res->customer), "%s",
                         h->reason == HOLD_DISPUTE && cust ? cust : "");
                bool fresh = f.n == 0, cfresh = false;
                queue_fields_free(&f);
                int64_t before = 0, flagged = 0;
                if (res->customer[0]) {
                        history_key(q, ckey, sizeof(ckey), "customer", res->customer);
                        const char *ck[] = { ckey };
                        if ((rc = queue_watch(q, ck, 1, err)) < 0 ||
                            (rc = queue_hashes_get(q, ck, 1, &cf, err)) < 0)
                                return rc;
                        struct hold_summary sum;
                        hold_summary_of(&cf, h->since_ms, &sum);
                        cfresh = cf.n == 0;
                        queue_fields_free(&cf);
                        before = sum.disputes;
                        flagged = sum.flagged_ms;
                }
                txn(q, 4, "HSET", key, "hold", value, NULL);
                /* A key no reminder wrote yet lives history.retention_days,
                 * as the ones it did. */
                if (fresh)
                        txn(q, 3, "EXPIRE", key, ttl, NULL, NULL);
                if (res->customer[0]) {
                        res->disputes = before + 1;
                        snprintf(count, sizeof(count), "%" PRId64, res->disputes);
                        txn(q, 4, "HSET", ckey, "disputes", count, NULL);
                        if (cfresh)
                                txn(q, 3, "EXPIRE", ckey, ttl, NULL, NULL);
                        res->flagged = !flagged && res->disputes >= cfg->holds.dispute_flag_count;
                        if (res->flagged) {
                                snprintf(flag, sizeof(flag), "%" PRId64 "|%" PRId64, h->since_ms,
                                         res->disputes);
                                txn(q, 4, "HSET", ckey, "flagged", flag, NULL);
                                queue_txn_event(q, cfg->queue.events_maxlen, "flagged",
                                                "customer", res->customer, "reason", "disputes",
                                                "disputes", count, NULL);
                        }
                }
                bool other = res->customer[0] && strcmp(t->kind, "customer") != 0;
                queue_txn_event(q, cfg->queue.events_maxlen, "hold", t->kind, t->id, "customer",
                                other ? res->customer : NULL, "reason",
                                hold_reason_name(h->reason), "until_ms", until, NULL);
                rc = queue_txn_commit(q, err);
                if (rc != -EAGAIN)
                        return rc;
        }
        return error_set(err, -EAGAIN, "%s %s: kept changing, hold not put", t->kind, t->id);
}

/* Moves a parked job to the new text and time unless it left the
 * scheduled set (promoted: the worker looks at the hold itself). */
static const char resume_lua[] =
        "if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then\n"
        "  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2]) return 1 end\n"
        "return 0\n";

size_t hold_txn_resume(struct queue *q, const struct hold_target *t,
                       const struct queue_fields *f, int64_t now_ms)
{
        char sched[512], pkey[512], now[24];
        queue_key(q, sched, sizeof(sched), "scheduled");
        parked_key(q, pkey, sizeof(pkey), t->kind, t->id);
        snprintf(now, sizeof(now), "%" PRId64, now_ms);
        for (size_t i = 0; i < f->n; i++) {
                const char *old = f->kv[2 * i + 1];
                struct job *job = NULL;
                struct error err;
                if (job_parse(&job, old, strlen(old), &err) < 0)
                        continue;
                char *json = job_json_later(job, now_ms);
                if (json) {
                        const char *argv[] = { "EVAL", resume_lua, "1", sched, old, json, now };
                        queue_txn_argv(q, 7, argv);
                }
                free(json);
                job_free(job);
        }
        txn(q, 2, "DEL", pkey, NULL, NULL, NULL);
        return f->n;
}

int hold_parked_get(struct queue *q, const struct hold_target *t, size_t n, bool watch,
                    struct queue_fields *out, struct error *err)
{
        char **keys = xcalloc(n ? n : 1, sizeof(*keys));
        for (size_t i = 0; i < n; i++) {
                char k[512];
                parked_key(q, k, sizeof(k), t[i].kind, t[i].id);
                keys[i] = xstrdup(k);
        }
        int rc = 0;
        if (n && watch)
                rc = queue_watch(q, (const char *const *)keys, n, err);
        if (n && rc == 0)
                rc = queue_hashes_get(q, (const char *const *)keys, n, out, err);
        for (size_t i = 0; i < n; i++)
                free(keys[i]);
        free(keys);
        return rc;
}

int hold_release(struct queue *q, const struct config *cfg, const struct hold_target *t,
                 int64_t now_ms, size_t *resumed, struct error *err)
{
        char key[512];
        struct queue_fields f = { 0 }, parked = { 0 };
        int rc;

        target_key(q, key, sizeof(key), t);
        const char *keys[] = { key };
        if ((rc = queue_hashes_get(q, keys, 1, &f, err)) < 0)
                return rc;
        bool has = queue_fields_get(&f, "hold") != NULL;
        const char *arr = queue_fields_get(&f, "arrangement");
        if (!has && arr && arr[0]) {
                error_set(err, -ENOENT, "%s %s has no hold; it is in payment arrangement %s, "
                                        "whose end resumes it", t->kind, t->id, arr);
                queue_fields_free(&f);
                return -ENOENT;
        }
        queue_fields_free(&f);
        if (!has)
                return error_set(err, -ENOENT, "%s %s has no hold", t->kind, t->id);
        /* The parked hash under WATCH: a worker that parks a job between
         * this read and the EXEC (it read the hold just before) makes the
         * release read again rather than delete an entry it did not move. */
        for (int tries = 0; tries < 5; tries++) {
                if ((rc = hold_parked_get(q, t, 1, true, &parked, err)) < 0)
                        return rc;
                txn(q, 3, "HDEL", key, "hold", NULL, NULL);
                size_t n = hold_txn_resume(q, t, &parked, now_ms);
                queue_fields_free(&parked);
                char count[24];
                snprintf(count, sizeof(count), "%zu", n);
                queue_txn_event(q, cfg->queue.events_maxlen, "released", t->kind, t->id,
                                "parked", count, NULL);
                rc = queue_txn_commit(q, err);
                if (rc == 0 && resumed)
                        *resumed = n;
                if (rc != -EAGAIN)
                        return rc;
        }
        return error_set(err, -EAGAIN, "%s %s: parked jobs kept changing, not released",
                         t->kind, t->id);
}

/* Parks a held job, unless its hold ended between the batch's read and
 * this transaction (a release, an arrangement's end): then nothing is
 * left to resume it before the recheck, so it goes back now instead.
 * KEYS: scheduled, the n hashes whose hold or arrangement held it, their
 * n parked hashes; ARGV: n, the parked text, resume_ms, ttl, reminder id,
 * the text for now, now_ms, the job's own arrangement ("" for none: an
 * installment reminder is not held by the arrangement it belongs to, as
 * in hold_state_add). */
static const char park_lua[] =
        "local n = tonumber(ARGV[1])\n"
        "for i = 1, n do\n"
        "  local f = redis.call('HMGET', KEYS[1 + i], 'hold', 'arrangement')\n"
        "  if (f[1] and f[1] ~= '') or (f[2] and f[2] ~= '' and f[2] ~= ARGV[8]) then\n"
        "    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])\n"
        "    for j = 1, n do\n"
        "      redis.call('HSET', KEYS[1 + n + j], ARGV[5], ARGV[2])\n"
        "      redis.call('EXPIRE', KEYS[1 + n + j], ARGV[4])\n"
        "    end\n"
        "    return 1\n"
        "  end\n"
        "end\n"
        "redis.call('ZADD', KEYS[1], ARGV[7], ARGV[6])\n"
        "return 0\n";

void hold_txn_park(struct queue *q, const struct config *cfg, const struct job *job,
                   int64_t resume_ms, int64_t now_ms)
{
        size_t n = job->n_invoices + 1;
        char **keys = xcalloc(2 * n + 1, sizeof(*keys));
        const char **argv = xcalloc(2 * n + 12, sizeof(*argv));
        char k[512], ttl[24], nkeys[24], nn[24], resume[24], now[24];
        char *json = job_json_later(job, resume_ms);
        char *json_now = job_json_later(job, now_ms);
        size_t argc = 0;

        snprintf(ttl, sizeof(ttl), "%d", cfg->history.retention_days * 86400);
        snprintf(nkeys, sizeof(nkeys), "%zu", 2 * n + 1);
        snprintf(nn, sizeof(nn), "%zu", n);
        snprintf(resume, sizeof(resume), "%lld", (long long)resume_ms);
        snprintf(now, sizeof(now), "%lld", (long long)now_ms);
        queue_key(q, k, sizeof(k), "scheduled");
        keys[0] = xstrdup(k);
        for (size_t i = 0; i < n; i++) {
                const char *kind = i < job->n_invoices ? "invoice" : "customer";
                const char *id = i < job->n_invoices ? job->invoices[i].number : job->customer.id;
                history_key(q, k, sizeof(k), kind, id);
                keys[1 + i] = xstrdup(k);
                parked_key(q, k, sizeof(k), kind, id);
                keys[1 + n + i] = xstrdup(k);
        }
        argv[argc++] = "EVAL";
        argv[argc++] = park_lua;
        argv[argc++] = nkeys;
        for (size_t i = 0; i < 2 * n + 1; i++)
                argv[argc++] = keys[i];
        argv[argc++] = nn;
        argv[argc++] = json ? json : job->json;
        argv[argc++] = resume;
        argv[argc++] = ttl;
        argv[argc++] = job->reminder_id;
        argv[argc++] = json_now ? json_now : job->json;
        argv[argc++] = now;
        argv[argc++] = job->installment ? job->installment->arrangement : "";
        queue_txn_argv(q, (int)argc, argv);
        for (size_t i = 0; i < 2 * n + 1; i++)
                free(keys[i]);
        free(keys);
        free(argv);
        free(json);
        free(json_now);
}
