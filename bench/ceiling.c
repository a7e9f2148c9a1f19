/* ceiling.c: the Redis ceiling of dunningd's queue pattern.
 *
 * Issues exactly the Redis commands dunningd issues per batch (promote,
 * XREADGROUP, the Lua that checks markers and takes sending leases, one
 * MULTI/EXEC with a marker, a lease release, an event and an XACK per job
 * and the batch's record marker) through the same queue.c, with N threads, and does
 * nothing else: no JSON, no rendering, no files. bench/run-queue runs it
 * beside dunningd on the same jobs to show how close dunningd comes.
 *
 * With HISTORY=true in the environment it also issues what history adds
 * (daemon/history.c): the customers' and invoices' hashes read per batch (in the
 * round trip of the leases, as the worker does),
 * then per job the invoice's HSET and EXPIRE, the customer's HINCRBY, HSET
 * and EXPIRE, the RF reference's SET, and per batch the segment's and the
 * day's counters, on keys named after each entry, so they are as new as
 * dunningd's.
 *
 * usage: bench-ceiling URL PREFIX THREADS BATCH EXPECTED_JOBS */
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"

static const char *url, *prefix;
static int batch;
static bool history;
/* LAYOUT (with HISTORY=true): "now" (default) the commands history.c
 * issues; "one-key" the same data in one new key per send, a layout
 * history.c does not have (bench/run-layout asks what it would save);
 * "reads" the reads only. */
static enum { LAYOUT_NOW, LAYOUT_ONE_KEY, LAYOUT_READS } layout;
static long long expected;
static atomic_llong done;

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What history adds to a batch of n jobs named ids (see above). */
static void history_commands(struct queue *q, const char *const *ids, size_t n,
                             enum queue_take *take)
{
        char (*key)[96] = calloc(2 * n, sizeof(*key));
        const char **keys = calloc(2 * n, sizeof(*keys));
        struct queue_fields *f = calloc(2 * n, sizeof(*f));
        struct error err;

        for (size_t i = 0; i < n; i++) {
                snprintf(key[2 * i], sizeof(key[0]), "%s:customer:C-%s", prefix, ids[i]);
                snprintf(key[2 * i + 1], sizeof(key[0]), "%s:invoice:INV-%s", prefix, ids[i]);
                keys[2 * i] = key[2 * i];
                keys[2 * i + 1] = key[2 * i + 1];
        }
        /* In the round trip of the leases, as the worker reads them. */
        queue_hashes_send(q, keys, 2 * n);
        if (queue_take_reminders_reply(q, n, take, &err) < 0 ||
            queue_hashes_reply(q, 2 * n, f, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                exit(1);
        }
        for (size_t i = 0; i < 2 * n; i++)
                queue_fields_free(&f[i]);
        for (size_t i = 0; i < n; i++) {
                char touch[128], ref[96], id[64];
                snprintf(touch, sizeof(touch), "email|r-%.16s|1763800000000|reminder-1|bench",
                         ids[i]);
                snprintf(ref, sizeof(ref), "%s:ref:RF18INV%s", prefix, ids[i]);
                snprintf(id, sizeof(id), "INV-%s", ids[i]);
                const char *inv[] = { "HSET", key[2 * i + 1], "amount_cents", "123456", "due",
                                      "2026-10-31", "currency", "EUR", "customer", "C-1",
                                      "segment", "new", "last", touch, "exp_ms",
                                      "1763800000000", "ref_ms", "1763800000000" };
                const char *inv_ttl[] = { "EXPIRE", key[2 * i + 1], "34560000" };
                const char *sent[] = { "HINCRBY", key[2 * i], "sent:email", "1" };
                const char *cust[] = { "HSET", key[2 * i], "last_sent:email", "1763800000000",
                                       "tz", "Europe/Amsterdam", "job",
                                       "reminder-1|bench|", "contact",
                                       "1a2b3c4d|5e6f7a8b|NL|es|email|nl-NL", "owed",
                                       "123456 EUR", "exp_ms", "1763800000000" };
                const char *cust_ttl[] = { "EXPIRE", key[2 * i], "34560000" };
                const char *rf[] = { "SET", ref, id, "EX", "34560000" };
                if (layout == LAYOUT_NOW) {
                        queue_txn_argv(q, 18, inv);
                        queue_txn_argv(q, 3, inv_ttl);
                        queue_txn_argv(q, 4, sent);
                        queue_txn_argv(q, 14, cust);
                        queue_txn_argv(q, 3, cust_ttl);
                        queue_txn_argv(q, 5, rf);
                } else if (layout == LAYOUT_ONE_KEY) {
                        /* The invoice inside the customer's hash; the
                         * invoice and RF indexes fields of 1024 hashes
                         * that already exist: one new key per send. */
                        char bucket[96];
                        snprintf(bucket, sizeof(bucket), "%s:index:%ld", prefix,
                                 strtol(ids[i], NULL, 10) % 1024);
                        const char *one[] = { "HSET", key[2 * i], "last_sent:email",
                                              "1763800000000", "tz", "Europe/Amsterdam", "job",
                                              "reminder-1|bench|", "contact",
                                              "1a2b3c4d|5e6f7a8b|NL|es|email|nl-NL", "owed",
                                              "123456 EUR", "exp_ms", "1763800000000",
                                              "inv:INV:last", touch, "inv:INV:state",
                                              "123456|2026-10-31|EUR|new" };
                        const char *index[] = { "HSET", bucket, id, key[2 * i], ref, id };
                        queue_txn_argv(q, 18, one);
                        queue_txn_argv(q, 4, sent);
                        queue_txn_argv(q, 3, cust_ttl);
                        queue_txn_argv(q, 6, index);
                }
        }
        char seg[96], stats[96], count[24];
        snprintf(seg, sizeof(seg), "%s:segment:new", prefix);
        snprintf(stats, sizeof(stats), "%s:stats:2026-11-22", prefix);
        snprintf(count, sizeof(count), "%zu", n);
        const char *tally[][4] = {
                { "HINCRBY", seg, "sent:email", count },
                { "HINCRBY", stats, "sent|email|reminder-1|new|bench", count },
                { "HINCRBY", stats, "sent|sms|reminder-1|new|bench", count },
        };
        for (size_t i = 0; i < 3; i++)
                queue_txn_argv(q, 4, tally[i]);
        const char *stats_ttl[] = { "EXPIRE", stats, "34560000" };
        queue_txn_argv(q, 3, stats_ttl);
        free(f);
        free(keys);
        free(key);
}

static void *run(void *arg)
{
        char consumer[64];
        struct queue *q = NULL;
        struct queue_batch b = { 0 };
        struct error err;
        static const char *const chans[] = { "email", "sms", "letter" };

        snprintf(consumer, sizeof(consumer), "ceiling-%ld", (long)(intptr_t)arg);
        if (queue_open(&q, url, NULL, prefix, consumer, &err) < 0 ||
            queue_ensure_group(q, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                exit(1);
        }
        queue_set_timeout(q, 5000);
        const char **ids = calloc((size_t)batch, sizeof(*ids));
        char rkey[256];
        snprintf(rkey, sizeof(rkey), "%s:recorded:ceiling-%p", prefix, (void *)&rkey);
        enum queue_take *take = calloc((size_t)batch, sizeof(*take));
        while (atomic_load(&done) < expected) {
                int moved;
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                if (queue_promote(q, (int64_t)ts.tv_sec * 1000, 1000, &moved, &err) < 0 ||
                    queue_read(q, false, batch, 100, &b, &err) < 0) {
                        fprintf(stderr, "%s\n", err.msg);
                        exit(1);
                }
                if (b.n == 0)
                        continue;
                for (size_t i = 0; i < b.n; i++)
                        ids[i] = b.entries[i].id;   /* stands in for the reminder id */
                queue_take_reminders_send(q, ids, b.n, chans, 3, 120000);
                if (history)
                        history_commands(q, (const char *const *)ids, b.n, take);
                else if (queue_take_reminders_reply(q, b.n, take, &err) < 0) {
                        fprintf(stderr, "%s\n", err.msg);
                        exit(1);
                }
                for (size_t i = 0; i < b.n; i++) {
                        queue_txn_sent(q, ids[i], "email", 86400);
                        queue_txn_release(q, ids[i]);
                        queue_txn_event(q, 1000000, "sent", "reminder", ids[i], "channel", "email",
                                        "step", "reminder-1", "campaign", "bench", "customer",
                                        "C-1", "reason", "preferred channel email", NULL);
                        queue_txn_ack(q, b.entries[i].id);
                }
                /* The batch's record marker (worker.c, record_mark). */
                const char *mark[] = { "SET", rkey, b.entries[0].id, "EX", "86400" };
                queue_txn_argv(q, 5, mark);
                if (queue_txn_commit(q, &err) < 0) {
                        fprintf(stderr, "%s\n", err.msg);
                        exit(1);
                }
                atomic_fetch_add(&done, (long long)b.n);
                queue_batch_clear(&b);
        }
        free(ids);
        free(take);
        free(b.entries);
        queue_free(q);
        return NULL;
}

int main(int argc, char **argv)
{
        if (argc != 6) {
                fprintf(stderr, "usage: bench-ceiling URL PREFIX THREADS BATCH EXPECTED_JOBS\n");
                return 2;
        }
        url = argv[1];
        prefix = argv[2];
        int threads = atoi(argv[3]);
        batch = atoi(argv[4]);
        expected = atoll(argv[5]);
        history = getenv("HISTORY") && strcmp(getenv("HISTORY"), "true") == 0;
        const char *l = getenv("LAYOUT");
        layout = !l || strcmp(l, "now") == 0 ? LAYOUT_NOW
                 : strcmp(l, "one-key") == 0 ? LAYOUT_ONE_KEY
                 : strcmp(l, "reads") == 0   ? LAYOUT_READS
                                             : (fprintf(stderr, "LAYOUT: now, one-key or reads\n"),
                                                exit(2), LAYOUT_NOW);
        pthread_t t[64];
        double t0 = now_s();
        for (int i = 0; i < threads && i < 64; i++)
                pthread_create(&t[i], NULL, run, (void *)(intptr_t)i);
        for (int i = 0; i < threads && i < 64; i++)
                pthread_join(t[i], NULL);
        double el = now_s() - t0;
        printf("%lld jobs in %.3f s: %.0f jobs/s\n", (long long)atomic_load(&done), el,
               (double)atomic_load(&done) / el);
        return 0;
}
