/* monitor.h: what operators and systemd see of a running daemon: the
 * health verdict (/healthz and the watchdog pings), /metrics, and the
 * one-line STATUS with the last minute's throughput.
 *
 * A worker is stuck when its last beat (worker_shared.beat_ms: a job
 * finished, a read that found nothing, a wait for Redis) is older than
 * watchdog_ms of the running config. The daemon is healthy when no worker
 * is stuck and Redis answers a PING on the monitor's own connection. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "worker.h"

struct monitor;
struct http;

/* sh is borrowed and must outlive the monitor. start_ms: Unix ms of the
 * start (for dunningd_start_time_seconds). The Redis connection is opened
 * when first needed, from the running snapshot's redis settings. */
void monitor_new(struct monitor **out, struct worker_shared *sh, int64_t start_ms);
void monitor_free(struct monitor *m);

/* Adds GET /metrics and GET /healthz to h. */
void monitor_routes(struct monitor *m, struct http *h);

/* 0 when Redis answers a PING, else the error. Thread-safe (the connection
 * is shared by the HTTP thread and the main thread, under a lock). */
int monitor_redis_check(struct monitor *m, struct error *err);

/* The number of stuck workers at now (worker_clock_ms); when there are
 * any, reason (size n) names them and for how long. */
int monitor_stalled(const struct monitor *m, int64_t now, char *reason, size_t n);

/* Renews the sending leases of every batch being sent (they last 2 x
 * queue.claim_idle_ms): call at least every third of that, so a batch
 * that takes longer than a lease (a slow server) keeps its reminders and
 * a worker that takes its entries over finds them busy. */
void monitor_keep_leases(struct monitor *m);

/* Samples the counters; call about once a second (main's loop). */
void monitor_tick(struct monitor *m);
/* "8 workers, 412.3 reminders/s, busy 37% (last minute); 12345 sent" */
void monitor_status(struct monitor *m, char *out, size_t n);
