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
#define QUEUE_SCRIPTS_MAX 8

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
/* The same as an ACL user: AUTH username password (Redis 6+) when both
 * are given, AUTH password when only the password is. */
int queue_open_user(struct queue **out, const char *url, const char *username,
                    const char *password, const char *prefix, const char *consumer,
                    struct error *err);
void queue_free(struct queue *q);
/* Drops the connection and connects again; state that hiredis forgets
 * (timeouts, scripts, AUTH, SELECT) is restored. */
int queue_reconnect(struct queue *q, struct error *err);
/* The read timeout; keep it above any BLOCK ms plus a margin. */
int queue_set_timeout(struct queue *q, int ms);
/* The key prefix (redis.prefix). */
const char *queue_prefix(const struct queue *q);
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
/* The same in two halves, so other reads can share its round trip: _send
 * appends the command (nothing is written to the socket yet), _reply
 * reads its answer; every reply appended before must be read in order. */
void queue_take_reminders_send(struct queue *q, const char *const *ids, size_t n,
                               const char *const *channels, size_t nch, int64_t lease_ms);
int queue_take_reminders_reply(struct queue *q, size_t n, enum queue_take *take,
                               struct error *err);
/* Extends the sending leases of n reminders that owners[i] (NULL: this
 * consumer) still holds (held[i] true) to lease_ms from now; a lease that
 * expired or went to another consumer is not touched (held[i] false).
 * Never inside an open transaction. */
int queue_renew_leases(struct queue *q, const char *const *ids, const char *const *owners,
                       size_t n, int64_t lease_ms, bool *held, struct error *err);
/* The transaction commands appended between these two run only while
 * the jobs stream still holds entry_id (one EVAL in the transaction):
 * for what a worker records of an entry without a sending lease of its
 * own (taken over while busy elsewhere, sent already, invalid, delivered
 * too often). dunningctl forget waits for leases, not for those; it
 * deletes the entry, and the record then writes nothing of the customer
 * back. No scripts (EVAL) between them. */
void queue_txn_guard_begin(struct queue *q, const char *entry_id);
void queue_txn_guard_end(struct queue *q);

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
        const char *entry;      /* the jobs stream entry it came from; may be NULL */
};
int queue_dead_list(struct queue *q, size_t max, void (*fn)(const struct queue_dead *, void *),
                    void *data, struct error *err);
/* The job text of dead entry id into *job (free it); -ENOENT when absent. */
int queue_dead_get(struct queue *q, const char *id, char **job, struct error *err);
/* Atomically adds job to the stream and deletes dead entry id. */
int queue_dead_requeue(struct queue *q, const char *id, const char *job, struct error *err);
int queue_dead_drop(struct queue *q, const char *id, struct error *err);

/* Calls fn for every dead entry with an id in [from, to] ("-" and "+" for
 * the ends), oldest first, fetching page entries per round trip; the
 * fields are borrowed for the call. fn returns 0 to go on; anything else
 * stops the walk and is returned. fn may issue queue_* calls itself. */
int queue_dead_range(struct queue *q, const char *from, const char *to, size_t page,
                     int (*fn)(const struct queue_dead *, void *), void *data,
                     struct error *err);
/* The id of the newest dead entry into id ("" when there is none): the
 * bound of a walk that must not meet entries added while it runs. */
int queue_dead_last(struct queue *q, char id[48], struct error *err);
/* For n dead entries: deletes ids[i] and adds jobs[i] to the stream, one
 * atomic step each (Lua), pipelined. result[i] is 1 when requeued, 0 when
 * the entry was gone already (retried or dropped by someone else): a job
 * is never put back twice. */
int queue_dead_retry(struct queue *q, const char *const *ids, const char *const *jobs,
                     size_t n, int *result, struct error *err);
/* Deletes n dead entries, pipelined: result[i] is 1 when ids[i] was
 * deleted, 0 when it was gone already. */
int queue_dead_drop_many(struct queue *q, const char *const *ids, size_t n, int *result,
                         struct error *err);

/* The values of one field over stream entries, counted: the first
 * QUEUE_TALLY_MAX distinct values (at most 63 bytes each; longer ones are
 * cut) in v, the entries of any further value in other. */
#define QUEUE_TALLY_MAX 32
struct queue_tally {
        long long total;        /* entries counted */
        size_t n;
        struct {
                char value[64]; /* "" when the entry lacks the field */
                long long count;
        } v[QUEUE_TALLY_MAX];
        long long other;
};
/* Dead letters per `reason`. Counted inside Redis a page at a time (Lua),
 * so no job text crosses the network and Redis is never blocked long. */
int queue_dead_reasons(struct queue *q, struct queue_tally *t, struct error *err);
/* Events per `type` whose stream id is within the last window_ms by the
 * Redis server's clock (the clock that made the ids); counted like
 * queue_dead_reasons, so a long events stream stays cheap. */
int queue_recent_events(struct queue *q, int64_t window_ms, struct queue_tally *t,
                        struct error *err);

/* The Redis commands a job costs are issued through these; exposed for the
 * benchmark's ceiling client. */
extern const char queue_promote_lua[];
extern const char queue_enqueue_lua[];
extern const char queue_take_lua[];

/* Pay links, one per reminder (<prefix>:paylink:<reminder id>): made once
 * and reused on every retry. url "" when the reminder has none yet. */
struct queue_paylink {
        char id[64];            /* the provider's id, "" for static links */
        char url[512];
        int64_t expires_ms;
};
/* Stored links of n reminders, one pipelined round trip. */
int queue_paylinks_get(struct queue *q, const char *const *ids, size_t n,
                       struct queue_paylink *out, struct error *err);
/* In the transaction: stores l for reminder_id (ttl_s), and the reverse
 * index <prefix>:paylink-id:<id> -> reminder for the provider's webhook. */
void queue_txn_paylink(struct queue *q, const char *reminder_id, const struct queue_paylink *l,
                       int ttl_s);
/* The reminder of a provider's link id; -ENOENT when unknown. */
int queue_paylink_reminder(struct queue *q, const char *link_id, char reminder[20],
                           struct error *err);

/* In the transaction: what a delivery report for an SMS needs later, its
 * reminder, job and the customer's segment when it was sent, under
 * <prefix>:sms:<provider id> (ttl_s). */
void queue_txn_sms_sent(struct queue *q, const char *provider_id, const char *reminder_id,
                        const char *job, const char *segment, int ttl_s);
/* The sent marker of reminder_id on channel (what queue_txn_sent writes
 * in the batch's record), written at once, outside any transaction: the
 * moment a provider took the message, so that a crash before the batch is
 * recorded cannot send it a second time. The command goes to the socket
 * now; its reply is read by queue_sent_now_collect, which must come before
 * any other command on q. */
void queue_sent_now(struct queue *q, const char *reminder_id, const char *channel, int ttl_s);
int queue_sent_now_collect(struct queue *q, struct error *err);
/* Reads it back (*job is owned; segment "" in a record written before it
 * had one); -ENOENT when unknown or expired. */
int queue_sms_lookup(struct queue *q, const char *provider_id, char reminder[20], char **job,
                     char segment[32], struct error *err);
/* The index in channels of the first channel with a sent marker for
 * reminder_id, or -ENOENT. */
int queue_sent_channel(struct queue *q, const char *reminder_id, const char *const *channels,
                       size_t n, struct error *err);

/* Records something an outside party told us exactly once, atomically
 * (Lua): when the marker <prefix>:<marker> is new (kept ttl_s), adds the
 * field/value pairs to <prefix>:<stream> (MAXLEN ~ maxlen), and when
 * requeue_job is not NULL adds it to the jobs stream and deletes
 * <prefix>:<del_key>. Returns 1 when recorded, 0 when seen before. */
int queue_record_once(struct queue *q, const char *marker, int ttl_s, const char *stream,
                      int64_t maxlen, const char *const *fields, size_t n_fields,
                      const char *requeue_job, const char *del_key, struct error *err);

/* --- Generic access for the history, tracking and statistics modules ---
 * Keys are full keys (queue_key). */

/* Field/value pairs of a hash or a stream entry (id is the entry's). */
struct queue_fields {
        char id[48];
        char **kv;      /* 2 * n strings: field, value, ... */
        size_t n;
        /* When not NULL, kv and its strings live in this one allocation
         * (how queue.c reads them: a hash of 30 fields is one malloc, not
         * 61); else each string of kv is its own. */
        void *block;
};
void queue_fields_free(struct queue_fields *f);
/* The value of field name, or NULL. */
const char *queue_fields_get(const struct queue_fields *f, const char *name);
/* HGETALL of n hashes, one pipelined round trip; a missing key gives n 0. */
int queue_hashes_get(struct queue *q, const char *const *keys, size_t n,
                     struct queue_fields *out, struct error *err);
/* queue_hashes_get in two halves (see queue_take_reminders_send). A reply
 * error other than a lost connection still reads all n replies. */
void queue_hashes_send(struct queue *q, const char *const *keys, size_t n);
int queue_hashes_reply(struct queue *q, size_t n, struct queue_fields *out, struct error *err);
/* The consumer group "dunningd" on <prefix>:<stream>, made if missing. */
int queue_group_create(struct queue *q, const char *stream, struct error *err);
/* Like queue_read and queue_claim, for <prefix>:<stream>: appends to
 * *out (n entries; free with queue_records_free). */
int queue_stream_read(struct queue *q, const char *stream, bool own_pending, int count,
                      int block_ms, struct queue_fields **out, size_t *n, struct error *err);
int queue_stream_claim(struct queue *q, const char *stream, int64_t idle_ms, int count,
                       struct queue_fields **out, size_t *n, struct error *err);
/* The last count entries of <prefix>:<stream>, newest first (XREVRANGE),
 * appended to *out like queue_stream_read. */
int queue_stream_last(struct queue *q, const char *stream, int count,
                      struct queue_fields **out, size_t *n, struct error *err);
/* XLEN of <prefix>:<stream> into *len (0 when it does not exist). */
int queue_stream_len(struct queue *q, const char *stream, long long *len, struct error *err);
void queue_records_free(struct queue_fields *recs, size_t n);
/* In the transaction: XACK of an entry of <prefix>:<stream>. */
void queue_txn_ack_stream(struct queue *q, const char *stream, const char *entry_id);
/* In the transaction: any command. */
void queue_txn_argv(struct queue *q, int argc, const char *const *argv);
/* Loads a Lua script (src must outlive q: a static string) and keeps it
 * loaded across reconnects; returns its handle (>= 0). Adding the same src
 * again returns the same handle without a round trip; loading a new one
 * inside an open transaction is refused (-EBUSY): load it before. */
int queue_script_add(struct queue *q, const char *src, struct error *err);
/* EVALSHA now; *result is the integer it answered (0 for anything else). */
int queue_script_call(struct queue *q, int script, int nkeys, int argc, const char *const *argv,
                      long long *result, struct error *err);
/* The script's array reply as integers (non-integers as 0), at most max
 * into out, the count in *n. Both calls fall back to EVAL when Redis
 * answers NOSCRIPT. */
int queue_script_ints(struct queue *q, int script, int nkeys, int argc, const char *const *argv,
                      long long *out, size_t max, size_t *n, struct error *err);
/* Optimistic locking: WATCH keys, read, then a transaction whose
 * queue_txn_commit returns -EAGAIN when a watched key changed meanwhile
 * (nothing written: read again and redo). UNWATCH when giving up. */
int queue_watch(struct queue *q, const char *const *keys, size_t n, struct error *err);
void queue_unwatch(struct queue *q);
/* For dunningctl's walks over everything (export, forget): fn for each
 * key matching the SCAN pattern match; for each entry of stream key (full
 * name) with an id in [from, to] ("-", "+" for the ends), oldest first,
 * page entries per round trip; for each member of sorted set key.
 * The arguments are borrowed for the call; fn returns 0 to go on, else
 * the walk stops and returns it. A key may be seen twice (SCAN). */
int queue_scan(struct queue *q, const char *match, int (*fn)(const char *key, void *),
               void *data, struct error *err);
int queue_stream_walk(struct queue *q, const char *key, const char *from, const char *to,
                      size_t page, int (*fn)(const struct queue_fields *, void *), void *data,
                      struct error *err);
int queue_zset_walk(struct queue *q, const char *key, int (*fn)(const char *member, void *),
                    void *data, struct error *err);
/* TYPE of key ("hash", "string", "none", ...). */
int queue_key_type(struct queue *q, const char *key, char type[16], struct error *err);
/* 1 when key exists, 0 when not. */
int queue_exists(struct queue *q, const char *key, struct error *err);
/* GET key into *out (owned); -ENOENT when it does not exist. */
int queue_get(struct queue *q, const char *key, char **out, struct error *err);

/* Any command; the strings of its reply (nested arrays flattened, an
 * integer as its digits, nil as "") into *out (n; queue_strings_free).
 * For the occasional range or scan (holds, arrangements). */
int queue_strings(struct queue *q, int argc, const char *const *argv, char ***out, size_t *n,
                  struct error *err);
void queue_strings_free(char **v, size_t n);
