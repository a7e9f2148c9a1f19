/* ceiling.c: the Redis ceiling of dunningd's queue pattern.
 *
 * Issues exactly the Redis commands dunningd issues per batch (promote,
 * XREADGROUP, the Lua that checks markers and takes sending leases, one
 * MULTI/EXEC with a marker, a lease release, an event and an XACK per job) through the same queue.c, with N threads, and does
 * nothing else: no JSON, no rendering, no files. bench/run-queue runs it
 * beside dunningd on the same jobs to show how close dunningd comes.
 *
 * usage: bench-ceiling URL PREFIX THREADS BATCH EXPECTED_JOBS */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue.h"

static const char *url, *prefix;
static int batch;
static long long expected;
static atomic_llong done;

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
                if (queue_take_reminders(q, ids, b.n, chans, 3, 120000, take, &err) < 0) {
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
