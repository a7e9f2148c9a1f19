/* privacy.c: `dunningctl export` and `dunningctl forget`, a customer's
 * access and erasure requests.
 *
 * What Redis holds about a customer is found in three steps:
 *   1. the streams and the scheduled set: jobs, dead letters and
 *      scheduled jobs whose customer.id is the customer, events naming it;
 *      each job adds its invoices, reminder id and job id;
 *   2. the invoice, reminder and SMS hashes that name the customer (or a
 *      reminder found so far), adding their invoices and reminders, until
 *      nothing new turns up;
 *   3. every key under the prefix one of whose parts after the kind is
 *      the customer id, one of its invoice numbers, reminder ids or job
 *      ids (customer:C-1, invoice:INV-1, sent:r-...:email, paylink:r-...,
 *      enqueued:j-..., and keys later features add in the same shape),
 *      the RF reference keys of its invoices, the link ids of its pay
 *      links, and payments entries for its invoices or reminders; never
 *      the sums over many customers (segment:, stats:, rate:).
 * export prints all of it as JSON with what explain shows; forget
 * deletes it and adds one `erased` event that names nobody.
 *
 * forget works in passes, because a worker that read one of the
 * customer's jobs just before records its outcome (the customer's hash,
 * invoice state, events naming them) after a pass erased everything. A
 * pass collects and erases; after one that erased a job entry, forget
 * gives a worker that read it a grace to take its sending lease; then
 * it waits for the leases of every reminder found so far to go (a
 * worker's record gives its lease back in the same transaction) and
 * runs another pass, until one finds nothing. The leases themselves are
 * left alone: they hold a consumer name, not the customer's, and a
 * worker that found its lease gone would put the job back in the
 * scheduled set for whoever took it over, to be sent again. */
#include "privacy.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "epcqr.h"
#include "job.h"
#include "queue.h"
#include "stats_cmd.h"
#include "tracking.h"
#include "worker.h"

#define PAGE 1000
#define HASH_CHUNK 500

/* forget's passes: at most FORGET_PASSES; after erasing a job entry,
 * FORGET_GRACE_MS for a worker between reading it and taking its lease
 * (one parse and one round trip); leases polled every FORGET_POLL_MS,
 * for at most the time a lease lasts without renewal (2 x
 * queue.claim_idle_ms, see worker.c) and FORGET_MARGIN_MS. A worker
 * renews its leases for as long as its batch runs: a longer send makes
 * forget give up and say so, to be run again. What a worker records of
 * an entry it holds no lease for is written only while the entry
 * exists (queue_txn_guard_begin): forget deletes it first. */
#define FORGET_PASSES 5
#define FORGET_GRACE_MS 1000
#define FORGET_POLL_MS 100
#define FORGET_MARGIN_MS 1000

struct strset {
        char **v;
        size_t n, cap;
};

static bool set_has(const struct strset *s, const char *x)
{
        for (size_t i = 0; x && i < s->n; i++)
                if (strcmp(s->v[i], x) == 0)
                        return true;
        return false;
}

/* Adds x (copied) unless there; true when it was new. */
static bool set_add(struct strset *s, const char *x)
{
        if (!x || !*x || set_has(s, x))
                return false;
        if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 16;
                s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
        }
        s->v[s->n++] = xstrdup(x);
        return true;
}

static void set_free(struct strset *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        memset(s, 0, sizeof(*s));
}

/* An entry of a stream (or a member of the scheduled set) that names the
 * customer. */
struct hit {
        char *where;    /* "jobs", "dead", "events", "payments", "scheduled" */
        char id[48];    /* the entry id ("" for a scheduled member) */
        char *member;   /* the scheduled set's member (its job text) */
        json_t *fields; /* object of the entry's fields */
};

struct found {
        struct queue *q;
        const char *id;
        const char *prefix;
        struct strset invoices, reminders, job_ids, keys;
        struct hit *hits;
        size_t n_hits, cap_hits;
        bool grew;
        const char *where; /* the stream being walked */
};

static void hit_add(struct found *f, const char *where, const char *id, const char *member,
                    const struct queue_fields *rec)
{
        if (f->n_hits == f->cap_hits) {
                f->cap_hits = f->cap_hits ? 2 * f->cap_hits : 16;
                f->hits = xrealloc(f->hits, f->cap_hits * sizeof(*f->hits));
        }
        struct hit *h = &f->hits[f->n_hits++];
        h->where = xstrdup(where);
        snprintf(h->id, sizeof(h->id), "%s", id ? id : "");
        h->member = member ? xstrdup(member) : NULL;
        h->fields = json_object();
        for (size_t i = 0; rec && i < rec->n; i++)
                json_object_set_new(h->fields, rec->kv[2 * i], ctl_jstr(rec->kv[2 * i + 1]));
}

/* Whether the job text names the customer; if so its invoices, reminder
 * and job id join the sets. A job that does not parse (a dead letter of
 * an invalid job) is still the customer's when its customer.id says so. */
static bool job_names(struct found *f, const char *text)
{
        if (!text || !strstr(text, f->id))
                return false;
        json_t *root = json_loads(text, 0, NULL);
        const char *cid =
                json_string_value(json_object_get(json_object_get(root, "customer"), "id"));
        bool ours = cid && strcmp(cid, f->id) == 0;
        if (ours) {
                json_t *inv = json_object_get(root, "invoices"), *it;
                size_t i;
                json_array_foreach(inv, i, it) f->grew |=
                        set_add(&f->invoices, json_string_value(json_object_get(it, "number")));
                struct job *job = NULL;
                struct error err;
                if (job_parse(&job, text, strlen(text), &err) == 0) {
                        f->grew |= set_add(&f->reminders, job->reminder_id);
                        set_add(&f->job_ids, job->job_id);
                        job_free(job);
                }
        }
        json_decref(root);
        return ours;
}

static int on_job_entry(const struct queue_fields *rec, void *data)
{
        struct found *f = data;
        if (job_names(f, queue_fields_get(rec, "job")))
                hit_add(f, f->where, rec->id, NULL, rec);
        return 0;
}

static int on_event(const struct queue_fields *rec, void *data)
{
        struct found *f = data;
        const char *c = queue_fields_get(rec, "customer");
        if (c && strcmp(c, f->id) == 0) {
                set_add(&f->reminders, queue_fields_get(rec, "reminder"));
                hit_add(f, f->where, rec->id, NULL, rec);
        }
        return 0;
}

/* An event naming one of the customer's invoices or reminders but not
 * the customer (a hold put on or released from an invoice, an SMS
 * delivery report, a pay link's status); the ones naming the customer
 * were taken by on_event. */
static int on_invoice_event(const struct queue_fields *rec, void *data)
{
        struct found *f = data;
        const char *c = queue_fields_get(rec, "customer");
        if ((!c || strcmp(c, f->id) != 0) &&
            (set_has(&f->invoices, queue_fields_get(rec, "invoice")) ||
             set_has(&f->reminders, queue_fields_get(rec, "reminder"))))
                hit_add(f, f->where, rec->id, NULL, rec);
        return 0;
}

static int on_payment(const struct queue_fields *rec, void *data)
{
        struct found *f = data;
        if (set_has(&f->invoices, queue_fields_get(rec, "invoice")) ||
            set_has(&f->reminders, queue_fields_get(rec, "reminder")))
                hit_add(f, f->where, rec->id, NULL, rec);
        return 0;
}

static int on_scheduled(const char *member, void *data)
{
        struct found *f = data;
        if (job_names(f, member))
                hit_add(f, "scheduled", NULL, member, NULL);
        return 0;
}

static int walk_stream(struct found *f, const char *name,
                       int (*fn)(const struct queue_fields *, void *), struct error *err)
{
        char key[256];
        queue_key(f->q, key, sizeof(key), name);
        f->where = name;
        return queue_stream_walk(f->q, key, "-", "+", PAGE, fn, f, err);
}

/* Adds the n bytes at v to s. */
static void add_span(struct found *f, struct strset *s, const char *v, size_t n)
{
        char part[512];
        if (n < sizeof(part)) {
                memcpy(part, v, n);
                part[n] = '\0';
                f->grew |= set_add(s, part);
        }
}

/* The reminder id at the start of field value v after skip '|'s. */
static void reminder_in(struct found *f, const char *v, int skip)
{
        for (int i = 0; v && i < skip; i++) {
                v = strchr(v, '|');
                if (v)
                        v++;
        }
        if (v)
                add_span(f, &f->reminders, v, strcspn(v, "|"));
}

/* Step 2: one kind of hash, in chunks of HASH_CHUNK keys per round trip. */
struct hash_walk {
        struct found *f;
        const char *kind;
        char *keys[HASH_CHUNK];
        size_t n;
        struct error *err;
};

static void hash_seen(struct found *f, const char *kind, const char *key,
                      const struct queue_fields *h)
{
        const char *name = key + strlen(f->prefix) + 1 + strlen(kind) + 1;
        const char *cust = queue_fields_get(h, "customer");
        bool ours = cust && strcmp(cust, f->id) == 0;
        if (strcmp(kind, "invoice") == 0) {
                if (!ours && !set_has(&f->invoices, name))
                        return;
                f->grew |= set_add(&f->invoices, name);
                reminder_in(f, queue_fields_get(h, "last"), 1);
                reminder_in(f, queue_fields_get(h, "held_out"), 0);
                reminder_in(f, queue_fields_get(h, "handover"), 0);
        } else if (strcmp(kind, "reminder") == 0) {
                if (!ours && !set_has(&f->reminders, name))
                        return;
                f->grew |= set_add(&f->reminders, name);
                const char *inv = queue_fields_get(h, "invoices");
                while (inv && *inv) {
                        size_t n = strcspn(inv, "\n");
                        add_span(f, &f->invoices, inv, n);
                        inv += n + (inv[n] ? 1 : 0);
                }
        } else if (strcmp(kind, "arrangement") == 0) {
                /* A payment arrangement: the customer's, or over its
                 * invoices; its id names neither. */
                const char *inv = queue_fields_get(h, "invoices");
                bool mine = ours;
                while (!mine && inv && *inv) {
                        size_t n = strcspn(inv, "\n");
                        char part[512];
                        if (n < sizeof(part)) {
                                memcpy(part, inv, n);
                                part[n] = '\0';
                                mine = set_has(&f->invoices, part);
                        }
                        inv += n + (inv[n] ? 1 : 0);
                }
                if (mine)
                        set_add(&f->keys, key);
        } else if (strcmp(kind, "sms") == 0) {
                /* A sent SMS keeps its job for the delivery report. */
                if (job_names(f, queue_fields_get(h, "job")) ||
                    set_has(&f->reminders, queue_fields_get(h, "reminder")))
                        set_add(&f->keys, key);
        }
}

static int hash_flush(struct hash_walk *w)
{
        struct queue_fields *h = xcalloc(w->n ? w->n : 1, sizeof(*h));
        int rc =
                w->n ? queue_hashes_get(w->f->q, (const char *const *)w->keys, w->n, h, w->err) : 0;
        for (size_t i = 0; i < w->n; i++) {
                if (rc == 0)
                        hash_seen(w->f, w->kind, w->keys[i], &h[i]);
                queue_fields_free(&h[i]);
                free(w->keys[i]);
        }
        free(h);
        w->n = 0;
        return rc;
}

static int on_hash_key(const char *key, void *data)
{
        struct hash_walk *w = data;
        w->keys[w->n++] = xstrdup(key);
        return w->n == HASH_CHUNK ? hash_flush(w) : 0;
}

static int walk_hashes(struct found *f, const char *kind, struct error *err)
{
        struct hash_walk w = { .f = f, .kind = kind, .err = err };
        char match[256];
        snprintf(match, sizeof(match), "%s:%s:*", f->prefix, kind);
        int rc = queue_scan(f->q, match, on_hash_key, &w, err);
        int rc2 = hash_flush(&w);
        return rc ? rc : rc2;
}

/* Whether part at (0: the first after the kind) of a key of kind is a
 * label every such key has, never an id: the channel of
 * sent:<reminder>:<channel>, the kind of held:<kind>:<id>, the status of
 * mollie:<payment>:<status> and dlr:<message>:<status>. A customer
 * called "email" owns no one else's sent markers. */
static bool label_part(const char *kind, int at, bool last)
{
        static const struct {
                const char *kind; /* with its ':' */
                int at;           /* -1: the last part */
        } labels[] = { { "sent:", -1 }, { "held:", 0 }, { "mollie:", -1 }, { "dlr:", -1 } };
        for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
                if (strncmp(kind, labels[i].kind, strlen(labels[i].kind)) == 0)
                        return labels[i].at < 0 ? last && at > 0 : at == labels[i].at;
        return false;
}

/* Step 3: a key one of whose parts after the kind names the customer. */
static int on_any_key(const char *key, void *data)
{
        /* Sums over many customers, whatever their parts look like (a
         * customer named "email" does not own rate:email:outbox). */
        static const char *const shared[] = { "segment:", "stats:", "rate:" };
        struct found *f = data;
        const char *kind = key + strlen(f->prefix) + 1;
        for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
                if (strncmp(kind, shared[i], strlen(shared[i])) == 0)
                        return 0;
        const char *p = strchr(kind, ':');
        for (int at = 0; p; at++) {
                const char *part = p + 1;
                p = strchr(part, ':');
                char v[512];
                size_t n = p ? (size_t)(p - part) : strlen(part);
                if (n >= sizeof(v) || label_part(kind, at, !p))
                        continue;
                memcpy(v, part, n);
                v[n] = '\0';
                if (strcmp(v, f->id) == 0 || set_has(&f->invoices, v) ||
                    set_has(&f->reminders, v) || set_has(&f->job_ids, v)) {
                        set_add(&f->keys, key);
                        break;
                }
        }
        /* An id with ':' in it spans parts: ":<id>" at the end or
         * ":<id>:" inside (never a mere substring: C-1 is not C-10). */
        if (strchr(f->id, ':')) {
                size_t n = strlen(f->id), k = strlen(key);
                for (const char *at = strstr(key, f->id); at; at = strstr(at + 1, f->id))
                        if (at > key && at[-1] == ':' && (at[n] == ':' || at + n == key + k)) {
                                set_add(&f->keys, key);
                                break;
                        }
        }
        return 0;
}

static int collect(struct found *f, struct error *err)
{
        int rc;
        char key[512];

        /* The scheduled set before the stream: a job moved from one to
         * the other meanwhile (promotion goes that way) is found in the
         * stream; one going back the other way is a worker's record,
         * which forget's next pass sees. */
        queue_key(f->q, key, sizeof(key), "scheduled");
        if ((rc = queue_zset_walk(f->q, key, on_scheduled, f, err)) < 0 ||
            (rc = walk_stream(f, "jobs", on_job_entry, err)) < 0 ||
            (rc = walk_stream(f, "dead", on_job_entry, err)) < 0 ||
            (rc = walk_stream(f, "events", on_event, err)) < 0)
                return rc;
        for (int round = 0; round < 4; round++) {
                f->grew = false;
                if ((rc = walk_hashes(f, "invoice", err)) < 0 ||
                    (rc = walk_hashes(f, "reminder", err)) < 0)
                        return rc;
                if (!f->grew)
                        break;
        }
        if ((rc = walk_hashes(f, "sms", err)) < 0 ||
            (rc = walk_hashes(f, "arrangement", err)) < 0 ||
            (rc = walk_stream(f, "events", on_invoice_event, err)) < 0)
                return rc;
        char match[256];
        snprintf(match, sizeof(match), "%s:*", f->prefix);
        if ((rc = queue_scan(f->q, match, on_any_key, f, err)) < 0)
                return rc;
        /* The RF reference of an invoice is made from its number. */
        for (size_t i = 0; i < f->invoices.n; i++) {
                char rf[EPCQR_RF_MAX + 1], name[64];
                struct error e;
                if (epcqr_rf_make(rf, f->invoices.v[i], &e) < 0)
                        continue;
                snprintf(name, sizeof(name), "ref:%s", rf);
                queue_key(f->q, key, sizeof(key), name);
                char *inv = NULL;
                if (queue_get(f->q, key, &inv, err) == 0 && strcmp(inv, f->invoices.v[i]) == 0)
                        set_add(&f->keys, key);
                free(inv);
        }
        /* A pay link is known to the webhook by its own id too. */
        for (size_t i = 0; i < f->reminders.n; i++) {
                char name[64];
                snprintf(name, sizeof(name), "paylink:%s", f->reminders.v[i]);
                queue_key(f->q, key, sizeof(key), name);
                const char *keys[] = { key };
                struct queue_fields h = { 0 };
                if ((rc = queue_hashes_get(f->q, keys, 1, &h, err)) < 0)
                        return rc;
                const char *lid = queue_fields_get(&h, "id");
                if (lid && *lid) {
                        snprintf(name, sizeof(name), "paylink-id:%s", lid);
                        queue_key(f->q, key, sizeof(key), name);
                        set_add(&f->keys, key);
                }
                queue_fields_free(&h);
        }
        return walk_stream(f, TRACKING_STREAM, on_payment, err);
}

static void found_free(struct found *f)
{
        set_free(&f->invoices);
        set_free(&f->reminders);
        set_free(&f->job_ids);
        set_free(&f->keys);
        for (size_t i = 0; i < f->n_hits; i++) {
                free(f->hits[i].where);
                free(f->hits[i].member);
                json_decref(f->hits[i].fields);
        }
        free(f->hits);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static json_t *set_json(struct strset *s)
{
        json_t *a = json_array();
        if (s->n)       /* qsort's array may not be NULL, even for none */
                qsort(s->v, s->n, sizeof(*s->v), cmp_str);
        for (size_t i = 0; i < s->n; i++)
                json_array_append_new(a, ctl_jstr(s->v[i]));
        return a;
}

/* A job text as JSON when it parses, else as the string it is. */
static json_t *job_value(const char *text)
{
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;
        return j ? j : ctl_jstr(text);
}

/* The value of one key: a hash's fields, a string, or for other types
 * their type alone. */
static int key_json(struct queue *q, const char *key, json_t **out, struct error *err)
{
        char type[16];
        int rc = queue_key_type(q, key, type, err);
        if (rc < 0)
                return rc;
        json_t *o = json_pack("{ss}", "type", type);
        if (strcmp(type, "hash") == 0) {
                const char *keys[] = { key };
                struct queue_fields h = { 0 };
                if ((rc = queue_hashes_get(q, keys, 1, &h, err)) < 0) {
                        json_decref(o);
                        return rc;
                }
                json_t *v = json_object();
                for (size_t i = 0; i < h.n; i++)
                        json_object_set_new(v, h.kv[2 * i],
                                            strcmp(h.kv[2 * i], "job") == 0
                                                    ? job_value(h.kv[2 * i + 1])
                                                    : ctl_jstr(h.kv[2 * i + 1]));
                json_object_set_new(o, "value", v);
                queue_fields_free(&h);
        } else if (strcmp(type, "string") == 0) {
                char *s = NULL;
                if (queue_get(q, key, &s, err) == 0)
                        json_object_set_new(o, "value", ctl_jstr(s));
                free(s);
        }
        *out = o;
        return 0;
}

static int export_json(const struct config *cfg, struct found *f, json_t **out, struct error *err)
{
        json_t *root = json_object(), *keys = json_object();
        json_t *lists[5];
        static const char *const where[5] = { "jobs", "scheduled", "dead", "events", "payments" };
        static const char *const label[5] = { "pending_jobs", "scheduled_jobs", "dead_letters",
                                              "events", "payments" };
        char *explain = NULL, at[32];
        int rc;

        job_format_time((int64_t)time(NULL) * 1000, at);
        json_object_set_new(root, "customer", ctl_jstr(f->id));
        json_object_set_new(root, "exported_at", json_string(at));
        if ((rc = explain_json_text(cfg, f->q, f->id, &explain, err)) < 0)
                goto fail;
        json_t *ex = explain ? json_loads(explain, 0, NULL) : NULL;
        free(explain);
        json_object_set_new(root, "explain", ex ? ex : json_null());
        json_object_set_new(root, "invoices", set_json(&f->invoices));
        json_object_set_new(root, "reminders", set_json(&f->reminders));
        if (f->keys.n)
                qsort(f->keys.v, f->keys.n, sizeof(*f->keys.v), cmp_str);
        for (size_t i = 0; i < f->keys.n; i++) {
                json_t *v = NULL;
                if ((rc = key_json(f->q, f->keys.v[i], &v, err)) < 0) {
                        json_decref(keys);
                        goto fail;
                }
                /* Keys without the prefix: the reader knows it. */
                json_object_set_new(keys, f->keys.v[i] + strlen(f->prefix) + 1, v);
        }
        json_object_set_new(root, "keys", keys);
        for (int w = 0; w < 5; w++) {
                lists[w] = json_array();
                for (size_t i = 0; i < f->n_hits; i++) {
                        const struct hit *h = &f->hits[i];
                        if (strcmp(h->where, where[w]) != 0)
                                continue;
                        json_t *e = json_object();
                        if (h->member) {
                                json_object_set_new(e, "job", job_value(h->member));
                        } else {
                                json_object_set_new(e, "id", json_string(h->id));
                                json_t *fl = json_deep_copy(h->fields);
                                const char *job = json_string_value(json_object_get(fl, "job"));
                                if (job)
                                        json_object_set_new(fl, "job", job_value(job));
                                json_object_set_new(e, "fields", fl);
                        }
                        json_array_append_new(lists[w], e);
                }
                json_object_set_new(root, label[w], lists[w]);
        }
        *out = root;
        return 0;
fail:
        json_decref(root);
        return rc;
}

/* Whether key is a sending lease, <prefix>:sending:<reminder>. */
static bool is_lease(const struct found *f, const char *key)
{
        size_t n = strlen(f->prefix);
        return strncmp(key, f->prefix, n) == 0 && strncmp(key + n, ":sending:", 9) == 0;
}

/* Deletes what f found but the sending leases, in transactions of up to
 * PAGE commands; *keys and *entries count what went, *jobs tells whether
 * any of it was a job entry a worker may have read. */
static int erase(struct found *f, size_t *keys, size_t *entries, bool *jobs, struct error *err)
{
        char key[256];
        int rc = 0;

        *keys = *entries = 0;
        *jobs = false;
        /* XACK needs the group, which only a daemon made so far: made
         * here as a daemon makes it (from the start of the stream), before
         * any transaction is open (it is a command of its own). */
        for (size_t i = 0; i < f->n_hits; i++)
                if (strcmp(f->hits[i].where, "jobs") == 0) {
                        if ((rc = queue_ensure_group(f->q, err)) < 0)
                                return rc;
                        *jobs = true;
                        break;
                }
        for (size_t i = 0; i < f->keys.n; i++) {
                if (is_lease(f, f->keys.v[i]))
                        continue;
                const char *argv[] = { "DEL", f->keys.v[i] };
                queue_txn_argv(f->q, 2, argv);
                (*keys)++;
                if (queue_txn_size(f->q) >= PAGE && (rc = queue_txn_commit(f->q, err)) < 0)
                        return rc;
        }
        for (size_t i = 0; i < f->n_hits; i++) {
                const struct hit *h = &f->hits[i];
                if (h->member) {
                        queue_key(f->q, key, sizeof(key), "scheduled");
                        const char *argv[] = { "ZREM", key, h->member };
                        queue_txn_argv(f->q, 3, argv);
                } else {
                        queue_key(f->q, key, sizeof(key), h->where);
                        const char *argv[] = { "XDEL", key, h->id };
                        queue_txn_argv(f->q, 3, argv);
                        /* A job taken but not done yet leaves the
                         * group's pending list too. */
                        if (strcmp(h->where, "jobs") == 0)
                                queue_txn_ack(f->q, h->id);
                }
                (*entries)++;
                if (queue_txn_size(f->q) >= PAGE && (rc = queue_txn_commit(f->q, err)) < 0)
                        return rc;
        }
        return queue_txn_size(f->q) ? queue_txn_commit(f->q, err) : 0;
}

static void sleep_ms(int64_t ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* How many of the reminders in r have a sending lease now, in one EXISTS
 * of up to HASH_CHUNK keys per round trip. */
static int leases_live(struct queue *q, const struct strset *r, long long *live,
                       struct error *err)
{
        *live = 0;
        for (size_t at = 0; at < r->n; at += HASH_CHUNK) {
                size_t n = r->n - at < HASH_CHUNK ? r->n - at : HASH_CHUNK;
                const char **argv = xcalloc(n + 1, sizeof(*argv));
                char **keys = xcalloc(n, sizeof(*keys));
                argv[0] = "EXISTS";
                for (size_t i = 0; i < n; i++) {
                        char name[600], key[700];
                        snprintf(name, sizeof(name), "sending:%s", r->v[at + i]);
                        queue_key(q, key, sizeof(key), name);
                        argv[i + 1] = keys[i] = xstrdup(key);
                }
                char **out = NULL;
                size_t n_out = 0;
                int rc = queue_strings(q, (int)n + 1, argv, &out, &n_out, err);
                if (rc == 0 && n_out == 1)
                        *live += strtoll(out[0], NULL, 10);
                queue_strings_free(out, n_out);
                for (size_t i = 0; i < n; i++)
                        free(keys[i]);
                free(keys);
                free(argv);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* Polls until none of the reminders in r has a sending lease (*gone) or
 * bound_ms passed; *seen tells whether one had at the first look. */
static int leases_wait(struct queue *q, const struct strset *r, int64_t bound_ms, bool *seen,
                       bool *gone, struct error *err)
{
        int64_t end = worker_clock_ms() + bound_ms;
        for (*seen = false;;) {
                long long live;
                int rc = leases_live(q, r, &live, err);
                if (rc < 0)
                        return rc;
                *gone = live == 0;
                *seen |= !*gone;
                if (*gone || worker_clock_ms() >= end)
                        return 0;
                sleep_ms(FORGET_POLL_MS);
        }
}

/* The passes (see the top of the file), then the one erasure record. */
static int forget_passes(const struct config *cfg, struct queue *q, const char *id,
                         struct error *err)
{
        struct strset known = { 0 }; /* the reminders every pass found */
        size_t keys = 0, entries = 0;
        int64_t bound = 2 * (int64_t)cfg->queue.claim_idle_ms + FORGET_MARGIN_MS;
        char busy[160] = ""; /* why forget gave up, if it did */
        int rc = 0;

        for (int pass = 1;; pass++) {
                struct found f = { .q = q, .id = id, .prefix = cfg->redis.prefix };
                size_t k = 0, e = 0;
                bool jobs = false, seen = false, gone = true;
                if ((rc = collect(&f, err)) == 0)
                        rc = erase(&f, &k, &e, &jobs, err);
                for (size_t i = 0; i < f.reminders.n; i++)
                        set_add(&known, f.reminders.v[i]);
                found_free(&f);
                /* Counted also when a page failed: the pages before it
                 * were deleted (the failed one is counted with them). */
                keys += k;
                entries += e;
                if (rc < 0)
                        break;
                if (jobs)
                        sleep_ms(FORGET_GRACE_MS);
                if ((rc = leases_wait(q, &known, bound, &seen, &gone, err)) < 0)
                        break;
                if (!gone) {
                        snprintf(busy, sizeof(busy),
                                 "a reminder of theirs is still being sent after %lld ms",
                                 (long long)bound);
                        break;
                }
                /* Nothing found and nobody sending: done. A lease that
                 * went meanwhile was given back by a record to take. */
                if (k + e == 0 && !seen)
                        break;
                if (pass == FORGET_PASSES) {
                        snprintf(busy, sizeof(busy),
                                 "more of it after each of %d passes (a campaign may still be "
                                 "enqueuing them)",
                                 pass);
                        break;
                }
        }
        set_free(&known);
        /* A Redis error after earlier passes deleted something: their
         * erasure is still recorded, if Redis takes it. */
        if (rc < 0 && keys + entries == 0)
                return rc;

        char n_keys[24], n_entries[24];
        snprintf(n_keys, sizeof(n_keys), "%zu", keys);
        snprintf(n_entries, sizeof(n_entries), "%zu", entries);
        /* Who was erased is not recorded: that would be keeping them. The
         * one record of this request, after its last pass, also when
         * forget gives up: what it deleted is gone all the same. */
        queue_txn_event(q, cfg->queue.events_maxlen, "erased", "reason", "request", "keys",
                        n_keys, "entries", n_entries, NULL);
        if (rc < 0) {
                struct error ignored;
                queue_txn_commit(q, &ignored);
                return rc;
        }
        if ((rc = queue_txn_commit(q, err)) < 0)
                return rc;
        if (*busy)
                return error_set(err, -EAGAIN,
                                 "the customer's data is still being written: %s; %zu keys and "
                                 "%zu stream entries deleted so far, run forget again",
                                 busy, keys, entries);
        printf("forgot customer: %zu keys and %zu stream entries deleted\n", keys, entries);
        return 0;
}

int privacy_cmd(const struct config *cfg, int argc, char **argv, bool json)
{
        const char *cmd = argv[0];
        bool forget = strcmp(cmd, "forget") == 0;
        static const struct option opts[] = { { 0 } };
        int c;

        (void)json;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
                return ctl_bad_option(cmd, c, argv);
        if (optind != argc - 1)
                return ctl_usage_error(cmd,
                                       optind == argc ? "which customer?" : "one customer id only");
        const char *id = argv[optind];
        if (!*id)
                return ctl_usage_error(cmd, "CUSTOMER_ID: must not be empty");

        struct found f = { .id = id, .prefix = cfg->redis.prefix };
        struct error err;
        if (ctl_open_queue(cfg, &f.q) < 0)
                return CTL_FAIL;
        int rc;
        if (forget) {
                rc = forget_passes(cfg, f.q, id, &err);
        } else if ((rc = collect(&f, &err)) == 0) {
                json_t *root = NULL;
                if ((rc = export_json(cfg, &f, &root, &err)) == 0)
                        rc = ctl_print_json(root) == CTL_OK ? 0 : -EIO;
        }
        if (rc < 0 && rc != -EIO)
                fprintf(stderr, "dunningctl %s: %s\n", cmd, err.msg);
        found_free(&f);
        queue_free(f.q);
        return rc < 0 ? CTL_FAIL : CTL_OK;
}
