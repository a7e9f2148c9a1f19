/* queue.h: the Redis side of dunningd: streams, scheduled set, dead letters,
 * idempotency markers, events.
 *
 * One struct queue per thread (hiredis contexts are not thread-safe). Every
 * function returns 0 or a negative errno with err filled; -EIO means the
 * connection is dead: call queue_reconnect() and redo the whole unit of
 * work (hiredis drops queued commands on reconnect). A redisReply never
 * leaves queue.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define QUEUE_GROUP "dunningd"

struct queue;

struct queue_entry {
        char id[48];            /* stream entry id */
        char *job;              /* the `job` field, owned; NULL when missing */
        long long deliveries;   /* times delivered, this one included */
};

struct queue_batch {
        struct queue_entry *entries;
        size_t n;
        size_t cap;
};

/* Connects to url ("unix:///path" or "redis://host:port/db"), AUTHs with
 * password when not NULL, loads the Lua scripts. consumer may be NULL for
 * clients that never read the group (dunningctl). Copies its arguments. */
int queue_open(struct queue **out, const char *url, const char *password, const char *prefix,
               const char *consumer, struct error *err);
void queue_free(struct queue *q);
/* Drops the connection and connects again; state that hiredis forgets
 * (timeouts, scripts, AUTH, SELECT) is restored. */
int queue_reconnect(struct queue *q, struct error *err);
/* The read timeout; keep it above any BLOCK ms plus a margin. */
int queue_set_timeout(struct queue *q, int ms);
/* The key "<prefix>:<name>" into out. */
void queue_key(const struct queue *q, char *out, size_t n, const char *name);

/* Creates the consumer group at the start of the stream (MKSTREAM) unless
 * it exists. */
int queue_ensure_group(struct queue *q, struct error *err);

/* XREADGROUP COUNT count [BLOCK block_ms] from ">" (new entries) or, when
 * own_pending, from "0" (entries already delivered to this consumer and
 * not acked, e.g. before a reconnect). Appends to batch. */
int queue_read(struct queue *q, bool own_pending, int count, int block_ms,
               struct queue_batch *batch, struct error *err);
/* XAUTOCLAIM entries idle for idle_ms from any consumer (a dead one's),
 * fills their delivery counts. Keeps its own cursor. */
int queue_claim(struct queue *q, int64_t idle_ms, int count, struct queue_batch *batch,
                struct error *err);
void queue_batch_clear(struct queue_batch *batch);

/* Moves at most limit jobs due at now_ms from the scheduled set to the
 * stream, atomically (Lua); safe from any number of instances. */
int queue_promote(struct queue *q, int64_t now_ms, int limit, int *moved, struct error *err);

/* What may be done with a reminder, from queue_take_reminders. */
enum queue_take {
        QUEUE_TAKE_GO = 0,       /* ours to send: the sending lease is held */
        QUEUE_TAKE_SENT = 1,     /* an idempotency marker exists: already sent */
        QUEUE_TAKE_BUSY = 2,     /* another worker holds the lease right now */
};

/* For n reminder ids, in one round trip (Lua, atomic per reminder): SENT
 * when a marker <prefix>:sent:<id>:<channel> exists for any of channels,
 * else a lease <prefix>:sending:<id> owned by this consumer for lease_ms
 * (GO), unless another consumer holds it (BUSY). The lease is what keeps
 * two workers from sending one reminder when an entry is taken over
 * (XAUTOCLAIM) from a worker that is slow, not dead. */
int queue_take_reminders(struct queue *q, const char *const *ids, size_t n,
                         const char *const *channels, size_t nch, int64_t lease_ms,
                         enum queue_take *take, struct error *err);
/* In the transaction: gives the lease of reminder_id back. */
void queue_txn_release(struct queue *q, const char *reminder_id);

/* The transaction recording a batch's outcomes: the first queue_txn_*
 * call opens a MULTI and every command is appended to the connection's
 * output buffer (nothing is sent yet); commit adds EXEC and sends it all in
 * one pipeline, so either all of a batch's markers, events and acks are
 * written or none. No other queue_* call may run while a transaction is
 * open: finish it with queue_txn_commit or queue_txn_discard. */
void queue_txn_sent(struct queue *q, const char *reminder_id, const char *channel, int ttl_s);
/* type and then key/value string pairs ending with NULL (NULL values skip). */
void queue_txn_event(struct queue *q, int64_t maxlen, const char *type, ...)
        __attribute__((sentinel));
void queue_txn_dead(struct queue *q, const char *job, const char *reason, const char *error,
                    int attempts, const char *entry_id);
void queue_txn_schedule(struct queue *q, const char *job, int64_t due_ms);
void queue_txn_ack(struct queue *q, const char *entry_id);
size_t queue_txn_size(const struct queue *q);
/* Sends everything collected. On failure nothing may be assumed written
 * and the collected commands are dropped: redo the unit of work. */
int queue_txn_commit(struct queue *q, struct error *err);
/* Abandons an open transaction (DISCARD); nothing of it is written. */
void queue_txn_discard(struct queue *q);

/* Enqueues n jobs, deduplicated by job id (a marker with ttl_s): result[i]
 * is 1 added to the stream, 2 added to the scheduled set, 0 duplicate.
 * due_ms[i] <= now_ms goes to the stream. Pipelined. */
int queue_enqueue(struct queue *q, const char *const *job_ids, const char *const *jobs,
                  const int64_t *due_ms, size_t n, int64_t now_ms, int ttl_s, int *result,
                  struct error *err);

/* Housekeeping, safe from any instance at any time: trims the stream of
 * entries every consumer has acked (below both the group's last delivered
 * id and its oldest pending id) and deletes consumers that hold nothing
 * and were idle for more than consumer_idle_ms (those of exited
 * processes). Fills the counts of what it removed. */
int queue_housekeep(struct queue *q, int64_t consumer_idle_ms, long long *trimmed,
                    int *consumers_removed, struct error *err);

/* Counts for `dunningctl status`. backlog: entries not yet delivered to
 * any consumer (-1 when the group does not exist yet). */
struct queue_status {
        long long jobs, backlog, pending, scheduled, dead, events;
        size_t n_consumers;
        struct {
                char name[128];
                long long pending;
                long long idle_ms;
        } consumers[64];
};
int queue_status(struct queue *q, struct queue_status *st, struct error *err);

/* PING: 0 when the server answers and is ready (not loading). */
int queue_ping(struct queue *q, struct error *err);

/* Dead letters. fn is called for each entry (fields as key/value arrays). */
struct queue_dead {
        char id[48];
        const char *job, *reason, *error, *attempts, *time;
};
int queue_dead_list(struct queue *q, size_t max, void (*fn)(const struct queue_dead *, void *),
                    void *data, struct error *err);
/* The job text of dead entry id into *job (free it); -ENOENT when absent. */
int queue_dead_get(struct queue *q, const char *id, char **job, struct error *err);
/* Atomically adds job to the stream and deletes dead entry id. */
int queue_dead_requeue(struct queue *q, const char *id, const char *job, struct error *err);
int queue_dead_drop(struct queue *q, const char *id, struct error *err);

/* The Redis commands a job costs are issued through these; exposed for the
 * benchmark's ceiling client. */
extern const char queue_promote_lua[];
extern const char queue_enqueue_lua[];
extern const char queue_take_lua[];
