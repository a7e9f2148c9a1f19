/* worker.h: one thread with its own Redis connection and channel sessions,
 * running the batch loop: promote due jobs, take over abandoned ones, read
 * a batch, dispatch each job, record the batch in one transaction, ack.
 *
 * Workers share nothing mutable but the atomics in struct worker_shared
 * and the snapshot (config + templates), which main swaps on SIGHUP (old
 * snapshots stay alive until exit, so a worker never holds a freed one). */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "metrics.h"
#include "timing.h"

struct render;

/* What a SIGHUP replaces as one: the config and the templates it names. */
struct snapshot {
        struct config *cfg;
        struct render *render;
        /* cfg's timing rules for e-mail and SMS, when timing.enabled */
        bool timed;
        struct timing_rules timing[JOB_CHANNEL__N];
};

/* Loads cfg's templates into a new snapshot that owns cfg (taken over on
 * success only). */
int snapshot_new(struct snapshot **out, struct config *cfg, struct error *err);
/* Frees the snapshot, its config and templates; NULL is a no-op. */
void snapshot_free(struct snapshot *s);

struct worker_shared {
        _Atomic(struct snapshot *) snap;
        atomic_bool stopping;
        struct metrics metrics;
        /* Per worker index (n_workers of them, allocated by the caller):
         * worker_clock_ms() of its last sign of life: a job finished, a
         * read that found nothing, a wait for Redis. A worker whose beat
         * is old is stuck (monitor.h). */
        int n_workers;
        atomic_llong *beat_ms;
        /* The sending leases of the batches being sent right now, kept
         * alive by main (worker_leases_copy) however long a send takes. */
        pthread_mutex_t lease_lock;
        struct worker_lease *leases;
        size_t n_leases, cap_leases;
};

struct worker_lease {
        char id[20];        /* reminder id */
        char owner[128];    /* the worker's consumer name */
};

/* Copies the leases the workers hold now into *out (free it); returns
 * how many. */
size_t worker_leases_copy(struct worker_shared *sh, struct worker_lease **out);

/* CLOCK_MONOTONIC in ms (the clock of beat_ms) and in us. */
int64_t worker_clock_ms(void);
int64_t worker_clock_us(void);

struct worker;

/* Starts worker number index. sh is borrowed and must outlive it. */
int worker_start(struct worker **out, struct worker_shared *sh, int index, struct error *err);
/* Waits for the thread until deadline_ms (CLOCK_REALTIME, Unix ms). Returns
 * 0, or -ETIMEDOUT when it is still busy (then it is left running). */
int worker_join(struct worker *w, int64_t deadline_ms);
/* Frees a joined worker; NULL is a no-op. */
void worker_free(struct worker *w);
