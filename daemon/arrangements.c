/* arrangements.c: payment arrangements in Redis (arrangements.h): making
 * one, listing them, and the sweep that lapses or completes them. */
#include "arrangements.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "civil.h"
#include "history.h"
#include "hold.h"
#include "job.h"

static int64_t num(const char *s)
{
        return s ? strtoll(s, NULL, 10) : 0;
}

static void arr_key(struct queue *q, char *out, size_t n, const char *id)
{
        history_key(q, out, n, "arrangement", id);
}

/* info from the arrangement's hash f, looked at as of now_ms. -EINVAL
 * when the hash is not a whole arrangement. */
static int info_of(struct arrangements_info *info, const char *id, const struct queue_fields *f,
                   const struct config *cfg, int64_t now_ms)
{
        struct arrangement_period every;
        int64_t first;

        memset(info, 0, sizeof(*info));
        snprintf(info->id, sizeof(info->id), "%s", id);
        snprintf(info->customer, sizeof(info->customer), "%s",
                 queue_fields_get(f, "customer") ?: "");
        snprintf(info->invoices, sizeof(info->invoices), "%s",
                 queue_fields_get(f, "invoices") ?: "");
        for (char *c = info->invoices; *c; c++)
                if (*c == '\n')
                        *c = ',';
        snprintf(info->currency, sizeof(info->currency), "%s",
                 queue_fields_get(f, "currency") ?: "");
        snprintf(info->every, sizeof(info->every), "%s", queue_fields_get(f, "every") ?: "");
        info->total_cents = num(queue_fields_get(f, "total_cents"));
        info->paid_cents = num(queue_fields_get(f, "paid_cents"));
        info->installments = (int)num(queue_fields_get(f, "installments"));
        info->missed = (int)num(queue_fields_get(f, "missed"));
        info->reminders = (size_t)num(queue_fields_get(f, "reminders"));
        int st = arrangement_state_from_name(queue_fields_get(f, "state"));
        const char *fd = queue_fields_get(f, "first");
        if (st < 0 || !fd || civil_parse(fd, &first) < 0 ||
            arrangement_period_parse(info->every, &every, NULL) < 0 ||
            arrangement_plan(info->total_cents, info->installments, first, &every, info->plan,
                             NULL) < 0)
                return -EINVAL;
        info->state = (enum arrangement_state)st;
        arrangement_check(info->plan, info->installments, info->paid_cents, now_ms,
                          cfg->arrangements.grace_days, &info->check);
        return 0;
}

/* The template job's invoice named number, or NULL. */
static json_t *tmpl_invoice(json_t *tmpl, const char *number)
{
        size_t i;
        json_t *inv;
        json_array_foreach(json_object_get(tmpl, "invoices"), i, inv) {
                const char *n = json_string_value(json_object_get(inv, "number"));
                if (n && strcmp(n, number) == 0)
                        return inv;
        }
        return NULL;
}

/* The invoices of the installment jobs, checked against what Redis
 * knows: *open and *base (paid before) summed. */
static int invoices_of(const struct arrangements_request *req, json_t *tmpl,
                       const char *customer, const struct queue_fields *f, json_t *out,
                       int64_t *open, int64_t *base, char currency[4], struct error *err)
{
        *open = *base = 0;
        currency[0] = '\0';
        for (size_t i = 0; i < req->n_invoices; i++) {
                const char *number = req->invoices[i];
                json_t *t = tmpl_invoice(tmpl, number);
                const char *arr = queue_fields_get(&f[i], "arrangement");
                const char *cust = queue_fields_get(&f[i], "customer");
                const char *status = queue_fields_get(&f[i], "status");
                if (arr && arr[0])
                        return error_set(err, -EINVAL, "invoice %s: already in arrangement %s",
                                         number, arr);
                if (cust && cust[0] && strcmp(cust, customer) != 0)
                        return error_set(err, -EINVAL,
                                         "invoice %s: belongs to customer %s, not %s", number,
                                         cust, customer);
                int64_t amount = t ? json_integer_value(json_object_get(t, "amount_cents"))
                                   : num(queue_fields_get(&f[i], "amount_cents"));
                const char *cur = t ? json_string_value(json_object_get(t, "currency"))
                                    : queue_fields_get(&f[i], "currency");
                const char *due = t ? json_string_value(json_object_get(t, "due"))
                                    : queue_fields_get(&f[i], "due");
                const char *issued = t ? json_string_value(json_object_get(t, "issued")) : NULL;
                if (amount <= 0 || !cur || !due)
                        return error_set(err, -EINVAL,
                                         "invoice %s: amount, currency or due date unknown "
                                         "(no reminder sent yet, and --job does not name it)",
                                         number);
                if (currency[0] && strcmp(currency, cur) != 0)
                        return error_set(err, -EINVAL, "invoice %s: currency %s differs from %s",
                                         number, cur, currency);
                snprintf(currency, 4, "%s", cur);
                int64_t paid = num(queue_fields_get(&f[i], "paid_cents"));
                if ((status && strcmp(status, "paid") == 0) || paid >= amount)
                        return error_set(err, -EINVAL, "invoice %s: already paid", number);
                *open += amount - paid;
                *base += paid;
                json_t *inv = json_pack("{sssIssss}", "number", number, "amount_cents",
                                        (json_int_t)amount, "currency", cur, "due", due);
                if (issued)
                        json_object_set_new(inv, "issued", json_string(issued));
                json_array_append_new(out, inv);
        }
        return 0;
}

/* The text of installment k's reminder job. */
static char *installment_job(json_t *customer, json_t *invoices, const char *id,
                             const struct arrangement_installment *plan, int k, int n,
                             int64_t base, int64_t at_ms)
{
        char campaign[64], when[32], due[11];
        snprintf(campaign, sizeof(campaign), "arrangement-%s", id);
        civil_format(plan[k].due_day, due);
        json_t *in = json_pack("{sssisisIsIsIss}", "arrangement", id, "number", k + 1, "of", n,
                               "amount_cents", (json_int_t)plan[k].amount_cents, "cum_cents",
                               (json_int_t)plan[k].cum_cents, "base_paid_cents",
                               (json_int_t)base, "due", due);
        json_t *job = json_pack("{sisssssOsOssso}", "v", 1, "campaign", campaign, "step",
                                "installment", "customer", customer, "invoices", invoices,
                                "not_before", job_format_time(at_ms, when), "installment", in);
        char *s = job ? json_dumps(job, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(job);
        return s;
}

static int next_id(struct queue *q, char id[ARRANGEMENTS_ID_MAX], struct error *err)
{
        char key[256], **v = NULL;
        size_t n = 0;
        queue_key(q, key, sizeof(key), "arrangement-seq");
        const char *argv[] = { "INCR", key };
        int rc = queue_strings(q, 2, argv, &v, &n, err);
        if (rc == 0)
                snprintf(id, ARRANGEMENTS_ID_MAX, "A-%s", n ? v[0] : "0");
        queue_strings_free(v, n);
        return rc;
}

static int create_once(struct queue *q, const struct config *cfg,
                       const struct arrangements_request *req, json_t *tmpl,
                       struct arrangements_info *out, struct error *err)
{
        char id[ARRANGEMENTS_ID_MAX];
        const char *customer = json_string_value(
                json_object_get(json_object_get(tmpl, "customer"), "id"));
        char **keys = xcalloc(req->n_invoices, sizeof(*keys));
        struct queue_fields *f = xcalloc(req->n_invoices, sizeof(*f));
        json_t *invoices = json_array();
        char key[512], buf[64], ttl[24];
        struct buf list = BUF_INIT;
        int64_t open, base;
        int rc;

        for (size_t i = 0; i < req->n_invoices; i++) {
                history_key(q, key, sizeof(key), "invoice", req->invoices[i]);
                keys[i] = xstrdup(key);
                buf_printf(&list, "%s%s", i ? "\n" : "", req->invoices[i]);
        }
        if ((rc = queue_watch(q, (const char *const *)keys, req->n_invoices, err)) < 0 ||
            (rc = queue_hashes_get(q, (const char *const *)keys, req->n_invoices, f, err)) < 0)
                goto out;
        memset(out, 0, sizeof(*out));
        if ((rc = invoices_of(req, tmpl, customer, f, invoices, &open, &base, out->currency,
                              err)) < 0 ||
            (rc = arrangement_plan(open, req->installments, req->first_day, &req->every,
                                   out->plan, err)) < 0) {
                queue_unwatch(q);
                goto out;
        }
        arrangement_check(out->plan, req->installments, 0, req->now_ms,
                          cfg->arrangements.grace_days, &out->check);
        if (out->check.state == ARRANGEMENT_LAPSED) {
                /* It would lapse at the first sweep, and dunning resume. */
                char due[11];
                civil_format(out->plan[0].due_day, due);
                queue_unwatch(q);
                rc = error_set(err, -EINVAL, "--first: installment 1 (due %s) is past its %d "
                                             "days of grace already",
                               due, cfg->arrangements.grace_days);
                goto out;
        }
        /* Numbered only once it can be made (WATCH stays on). */
        if ((rc = next_id(q, id, err)) < 0)
                goto out;
        snprintf(out->id, sizeof(out->id), "%s", id);
        snprintf(out->customer, sizeof(out->customer), "%s", customer);
        snprintf(out->invoices, sizeof(out->invoices), "%s", buf_str(&list));
        for (char *c = out->invoices; *c; c++)
                if (*c == '\n')
                        *c = ',';
        arrangement_period_format(&req->every, out->every);
        out->total_cents = open;
        out->installments = req->installments;
        out->state = ARRANGEMENT_ACTIVE;

        char first[11], total[24], n[16], created[24], next[24];
        civil_format(req->first_day, first);
        snprintf(total, sizeof(total), "%" PRId64, open);
        snprintf(n, sizeof(n), "%d", req->installments);
        snprintf(created, sizeof(created), "%" PRId64, req->now_ms);
        snprintf(next, sizeof(next), "%" PRId64,
                 out->check.state == ARRANGEMENT_ACTIVE ? out->check.next_check_ms : req->now_ms);
        /* Kept while it runs, then history.retention_days like the rest
         * of the customer's data (the sweep sets that when it ends). */
        int64_t end_ms = (out->plan[req->installments - 1].due_day +
                          cfg->arrangements.grace_days + 1) * ARRANGEMENT_DAY_MS;
        snprintf(ttl, sizeof(ttl), "%" PRId64,
                 (int64_t)cfg->history.retention_days * 86400 +
                         (end_ms > req->now_ms ? (end_ms - req->now_ms) / 1000 : 0));
        arr_key(q, key, sizeof(key), id);
        const char *hset[] = { "HSET", key, "customer", customer, "invoices", buf_str(&list),
                               "currency", out->currency, "total_cents", total, "installments",
                               n, "first", first, "every", out->every, "paid_cents", "0",
                               "state", "active", "created_ms", created };
        queue_txn_argv(q, sizeof(hset) / sizeof(hset[0]), hset);
        const char *expire[] = { "EXPIRE", key, ttl };
        queue_txn_argv(q, 3, expire);
        char zkey[256];
        queue_key(q, zkey, sizeof(zkey), "arrangements");
        const char *zadd[] = { "ZADD", zkey, next, id };
        queue_txn_argv(q, 4, zadd);
        for (size_t i = 0; i < req->n_invoices; i++) {
                const char *mark[] = { "HSET", keys[i], "arrangement", id, "customer", customer };
                queue_txn_argv(q, 6, mark);
                /* An invoice no reminder wrote yet: no key lives forever. */
                if (f[i].n == 0) {
                        const char *exp[] = { "EXPIRE", keys[i], ttl };
                        queue_txn_argv(q, 3, exp);
                }
        }
        json_t *cust = json_object_get(tmpl, "customer");
        for (int k = 0; k < req->installments; k++) {
                int64_t at = arrangement_remind_ms(&out->plan[k], cfg->arrangements.remind_days,
                                                   req->now_ms);
                if (at < 0)
                        continue;
                char *job = installment_job(cust, invoices, id, out->plan, k, req->installments,
                                            base, at);
                if (job) {
                        queue_txn_schedule(q, job, at);
                        out->reminders++;
                }
                free(job);
        }
        snprintf(buf, sizeof(buf), "%zu", out->reminders);
        const char *count[] = { "HSET", key, "reminders", buf };
        queue_txn_argv(q, 4, count);
        queue_txn_event(q, cfg->queue.events_maxlen, "arrangement", "arrangement", id, "customer",
                        customer, "reason", "created", "total_cents", total, "installments", n,
                        "reminders", buf, NULL);
        rc = queue_txn_commit(q, err);
out:
        for (size_t i = 0; i < req->n_invoices; i++) {
                free(keys[i]);
                queue_fields_free(&f[i]);
        }
        free(keys);
        free(f);
        json_decref(invoices);
        buf_free(&list);
        return rc;
}

int arrangements_create(struct queue *q, const struct config *cfg,
                        const struct arrangements_request *req, struct arrangements_info *out,
                        struct error *err)
{
        struct job *job = NULL;
        int rc;

        if (!req->job)
                return error_set(err, -EINVAL, "no job naming the customer");
        if ((rc = job_parse(&job, req->job, strlen(req->job), err)) < 0) {
                error_prefix(err, "--job");
                return rc;
        }
        job_free(job);
        json_t *tmpl = json_loads(req->job, 0, NULL);
        rc = -EAGAIN;
        for (int i = 0; i < 5 && rc == -EAGAIN; i++)
                rc = create_once(q, cfg, req, tmpl, out, err);
        if (rc == -EAGAIN)
                error_set(err, rc, "the invoices kept changing; nothing arranged");
        json_decref(tmpl);
        return rc;
}

static int ids_due(struct queue *q, const char *max, const char *limit, char ***ids, size_t *n,
                   struct error *err)
{
        char zkey[256];
        queue_key(q, zkey, sizeof(zkey), "arrangements");
        const char *argv[] = { "ZRANGEBYSCORE", zkey, "-inf", max, "LIMIT", "0", limit };
        return queue_strings(q, 7, argv, ids, n, err);
}

int arrangements_list(struct queue *q, const struct config *cfg, int64_t now_ms,
                      void (*fn)(const struct arrangements_info *, void *), void *data,
                      struct error *err)
{
        char zkey[256], **ids = NULL;
        size_t n = 0;
        queue_key(q, zkey, sizeof(zkey), "arrangements");
        const char *argv[] = { "ZRANGE", zkey, "0", "-1" };
        int rc = queue_strings(q, 4, argv, &ids, &n, err);
        if (rc < 0)
                return rc;
        char **keys = xcalloc(n ? n : 1, sizeof(*keys));
        struct queue_fields *f = xcalloc(n ? n : 1, sizeof(*f));
        for (size_t i = 0; i < n; i++) {
                char k[512];
                arr_key(q, k, sizeof(k), ids[i]);
                keys[i] = xstrdup(k);
        }
        rc = n ? queue_hashes_get(q, (const char *const *)keys, n, f, err) : 0;
        /* Oldest first: the ids count up. */
        struct arrangements_info *all = xcalloc(n ? n : 1, sizeof(*all));
        size_t m = 0;
        for (size_t i = 0; rc == 0 && i < n; i++)
                if (info_of(&all[m], ids[i], &f[i], cfg, now_ms) == 0)
                        m++;
        for (size_t i = 1; i < m; i++)
                for (size_t j = i; j > 0 && num(all[j].id + 2) < num(all[j - 1].id + 2); j--) {
                        struct arrangements_info t = all[j];
                        all[j] = all[j - 1];
                        all[j - 1] = t;
                }
        for (size_t i = 0; rc == 0 && i < m; i++)
                fn(&all[i], data);
        for (size_t i = 0; i < n; i++) {
                free(keys[i]);
                queue_fields_free(&f[i]);
        }
        free(all);
        free(keys);
        free(f);
        queue_strings_free(ids, n);
        return rc;
}

/* Looks at one arrangement; 1 when it ended, 0 when not, -EAGAIN when it
 * changed meanwhile. */
static int sweep_one(struct queue *q, const struct config *cfg, const char *id, int64_t now_ms,
                     struct error *err)
{
        char key[512], zkey[256], score[32], ended[24], missed[16];
        struct queue_fields f = { 0 };
        struct arrangements_info *info = xcalloc(1, sizeof(*info));
        const char *keys[1] = { key };
        int rc;

        arr_key(q, key, sizeof(key), id);
        queue_key(q, zkey, sizeof(zkey), "arrangements");
        if ((rc = queue_watch(q, keys, 1, err)) < 0 ||
            (rc = queue_hashes_get(q, keys, 1, &f, err)) < 0)
                goto out;
        bool whole = info_of(info, id, &f, cfg, now_ms) == 0;
        if (!whole || info->state != ARRANGEMENT_ACTIVE ||
            info->check.state == ARRANGEMENT_ACTIVE) {
                /* Still running: look again when its next installment
                 * would lapse. Ended: never again. Gone (erased): out. */
                if (whole && info->state == ARRANGEMENT_ACTIVE)
                        snprintf(score, sizeof(score), "%" PRId64, info->check.next_check_ms);
                else
                        snprintf(score, sizeof(score), "+inf");
                const char *zadd[] = { "ZADD", zkey, score, id };
                const char *zrem[] = { "ZREM", zkey, id };
                if (f.n == 0)
                        queue_txn_argv(q, 3, zrem);
                else
                        queue_txn_argv(q, 4, zadd);
                rc = queue_txn_commit(q, err);
                goto out;
        }
        /* Completed or lapsed: the invoices leave it, and what was parked
         * under them comes back now, not at the hold's recheck: after a
         * lapse, normal dunning; after completion, a reminder of an invoice
         * still open (the plan's total paid, but on another of its invoices)
         * goes out, one of a paid invoice ends as skipped: paid. */
        size_t n = 0;
        struct hold_target t[JOB_MAX_INVOICES];
        char *list = xstrdup(queue_fields_get(&f, "invoices") ?: "");
        for (char *s = list, *save = NULL, *tok; n < JOB_MAX_INVOICES &&
                                                  (tok = strtok_r(s, "\n", &save)); s = NULL)
                t[n++] = (struct hold_target){ "invoice", tok };
        struct queue_fields *parked = xcalloc(n ? n : 1, sizeof(*parked));
        if ((rc = hold_parked_get(q, t, n, true, parked, err)) < 0) {
                free(list);
                free(parked);
                goto out;
        }
        bool lapsed = info->check.state == ARRANGEMENT_LAPSED;
        snprintf(ended, sizeof(ended), "%" PRId64, now_ms);
        snprintf(missed, sizeof(missed), "%d", info->check.missed);
        const char *hset[] = { "HSET", key, "state", arrangement_state_name(info->check.state),
                               "ended_ms", ended, "missed", missed };
        queue_txn_argv(q, lapsed ? 8 : 6, hset);
        char ttl[24];
        snprintf(ttl, sizeof(ttl), "%d", cfg->history.retention_days * 86400);
        const char *expire[] = { "EXPIRE", key, ttl };
        queue_txn_argv(q, 3, expire);
        const char *zadd[] = { "ZADD", zkey, "+inf", id };
        queue_txn_argv(q, 4, zadd);
        for (size_t i = 0; i < n; i++) {
                char ik[512];
                history_key(q, ik, sizeof(ik), "invoice", t[i].id);
                const char *hdel[] = { "HDEL", ik, "arrangement" };
                queue_txn_argv(q, 3, hdel);
                hold_txn_resume(q, &t[i], &parked[i], now_ms);
        }
        queue_txn_event(q, cfg->queue.events_maxlen, "arrangement", "arrangement", id,
                        "customer", info->customer, "reason",
                        arrangement_state_name(info->check.state), "missed",
                        lapsed ? missed : NULL, NULL);
        rc = queue_txn_commit(q, err);
        if (rc == 0)
                rc = 1;
        for (size_t i = 0; i < n; i++)
                queue_fields_free(&parked[i]);
        free(parked);
        free(list);
out:
        if (rc < 0 && rc != -EAGAIN && rc != -EIO)
                queue_unwatch(q);
        queue_fields_free(&f);
        free(info);
        return rc;
}

int arrangements_sweep(struct queue *q, const struct config *cfg, int64_t now_ms, int *changed,
                       struct error *err)
{
        char max[24], **ids = NULL;
        size_t n = 0;
        int rc, ended = 0;

        snprintf(max, sizeof(max), "%" PRId64, now_ms);
        if ((rc = ids_due(q, max, "100", &ids, &n, err)) < 0)
                return rc;
        for (size_t i = 0; i < n; i++) {
                rc = sweep_one(q, cfg, ids[i], now_ms, err);
                if (rc == -EAGAIN)
                        rc = 0;   /* changed meanwhile: the next sweep */
                if (rc < 0)
                        break;
                ended += rc;
                rc = 0;
        }
        queue_strings_free(ids, n);
        if (changed)
                *changed = ended;
        return rc;
}

void arrangements_txn_paid(struct queue *q, const char *id, int64_t cents)
{
        char key[512], zkey[256], by[24];
        arr_key(q, key, sizeof(key), id);
        queue_key(q, zkey, sizeof(zkey), "arrangements");
        snprintf(by, sizeof(by), "%" PRId64, cents);
        const char *incr[] = { "HINCRBY", key, "paid_cents", by };
        queue_txn_argv(q, 4, incr);
        /* Looked at by the next sweep: a completed one ends there (an
         * ended one is only put back to +inf). */
        const char *zadd[] = { "ZADD", zkey, "XX", "LT", "0", id };
        queue_txn_argv(q, 6, zadd);
}
