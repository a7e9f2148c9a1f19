/* harness.h: what the integration tests share.
 *
 * One struct harness per test: a mkdtemp directory holding a private
 * redis-server (unix socket, AOF on), a hiredis client for assertions, a
 * dunningd config file, the outbox, and the logs of every process started.
 * Helpers that meet something unexpected fail the running Check test
 * (ck_abort_msg), so callers do not check their results for errors.
 *
 * When a test fails, crashes or times out, a watcher process started by
 * harness_new() prints the tail of every log in the directory to stderr and
 * keeps the directory; on success harness_free() removes it. Every child
 * (redis-server, dunningd, dunningctl) dies with the test process
 * (PR_SET_PDEATHSIG). Nothing here sleeps to wait for a condition: waits poll
 * with a deadline. */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct redisContext;

#define HARNESS_MAX_DAEMONS 8
#define HARNESS_PREFIX "dunning"
#define HARNESS_STEP "reminder-1"
#define HARNESS_CAMPAIGN "it"

/* Queue and logging knobs of the config file harness_config_write() writes;
 * harness_config_defaults() gives the values of the example in the brief. */
struct harness_config {
        int workers;
        int batch;
        int block_ms;
        int claim_idle_ms;
        int max_deliveries;
        int drain_timeout_ms;
        int retry_base_ms;
        int retry_max_ms;
        int max_attempts;
        int housekeep_interval_ms;
        int consumer_expire_ms;
        const char *log_level;  /* borrowed */
        /* Keys of channels.email in YAML flow style after its from, e.g.
         * "transport: smtp, smtp: { port: 2525, tls: none }"; NULL (the
         * default) for "transport: outbox". Borrowed. */
        const char *email_yaml;
        int watchdog_ms;        /* a worker quiet this long is stuck */
        /* Keys of channels.sms after its sender, e.g. "quiet_hours:
         * \"21:00-08:00\""; NULL (the default) for "transport: outbox,
         * quiet_hours: none", so tests send SMS at any hour. Borrowed. */
        const char *sms_yaml;
        /* Keys of channels.letter, e.g. "transport: http, url: ..."; NULL
         * (the default) for "transport: outbox". Borrowed. */
        const char *letter_yaml;
        /* Top-level YAML appended as is (e.g. a paylink mapping), or NULL. */
        const char *extra_yaml;
        /* Keys of policy, or NULL (the default) for "exploration: 0,
         * preference_boost: 0.5, cost_cents: { sms: 0, letter: 0 }": the
         * tests that expect each customer's preferred channel must not
         * meet the policy's exploring, its weighing of costs, or a
         * segment rate that a handful of unpaid sends in a small test
         * world tips. Borrowed. */
        const char *policy_yaml;
};

/* One dunningd process started by harness_daemon_start(). */
struct harness_daemon {
        pid_t pid;
        int index;              /* N of dunningd-N.log */
        bool reaped;
        int status;             /* waitpid() status, once reaped */
        char log_path[320];
        char config_path[320];  /* the config it was started with */
        int port;               /* its listen port on 127.0.0.1 */
};

struct harness {
        char dir[256];          /* the mkdtemp directory */
        char sock[320];         /* DIR/redis.sock */
        char config_path[320];  /* DIR/dunningd.yaml */
        char outbox[320];       /* DIR/outbox */
        char templates[320];    /* DIR/templates */
        pid_t redis_pid;        /* 0 while redis is stopped */
        struct redisContext *redis;   /* NULL while redis is stopped */
        struct harness_config config; /* as last written */
        int listen_port;        /* of the config file, picked free */
        struct harness_daemon daemons[HARNESS_MAX_DAEMONS];
        int n_daemons;
        int n_files;            /* counter for generated file names */
        int watcher_fd;         /* write end of the watcher's pipe */
        pid_t watcher_pid;
};

/* The outcome of one dunningctl run; free with harness_ctl_free(). */
struct harness_ctl {
        int status;             /* exit code, or 128 + signal */
        char *out;              /* stdout, NUL-terminated, owned */
        char *err;              /* stderr, NUL-terminated, owned */
};

/* The numbers of dunningctl enqueue's last summary line. */
struct harness_summary {
        long enqueued;
        long scheduled;
        long duplicates;
        long rejected;
};

/* One stream entry read by harness_xrange(): fields[i] has value values[i]. */
struct harness_entry {
        char *id;
        size_t n_fields;
        char **fields;
        char **values;
};

/* Lifecycle. harness_new() makes the directory, starts the watcher and
 * redis-server, connects the client and writes the default config (with an
 * empty outbox and DIR/templates linked to the source tree's default
 * templates when they exist). harness_free() stops every daemon (SIGTERM,
 * then SIGKILL), stops redis, and removes the directory; NULL is a no-op. */
struct harness *harness_new(void);
void harness_free(struct harness *h);

int64_t harness_now_ms(void);
/* Formats ms since the epoch as RFC 3339 UTC with milliseconds,
 * "2026-11-23T09:00:00.250Z". */
void harness_rfc3339(int64_t ms, char out[32]);
/* Sleeps ms milliseconds. Only for proving that something has NOT happened
 * yet (or for an outage of a given length): wait for conditions with
 * harness_wait_until(). */
void harness_sleep_ms(int ms);

/* Polls pred(arg) every 20 ms until it is true (returns true) or timeout_ms
 * passed (returns false). */
bool harness_wait_until(bool (*pred)(void *arg), void *arg, int timeout_ms);

/* redis-server on DIR/redis.sock. start waits for PING to answer PONG (not
 * LOADING) and connects the client; stop sends SIGTERM, reaps it and drops
 * the client; restart is stop + start on the same socket and directory. */
void harness_redis_start(struct harness *h);
void harness_redis_stop(struct harness *h);
void harness_redis_restart(struct harness *h);

/* Redis commands in hiredis format ("%s" is one binary-safe argument).
 * _int wants an integer reply; _str a string or status reply (NULL for nil,
 * else free() it); _cmd accepts any reply but an error. An error reply (or
 * a reply of another type) fails the test. */
long long harness_redis_int(struct harness *h, const char *fmt, ...);
char *harness_redis_str(struct harness *h, const char *fmt, ...);
void harness_redis_cmd(struct harness *h, const char *fmt, ...);
/* Like harness_redis_cmd, but an error reply (e.g. BUSYGROUP) only makes it
 * return false. */
bool harness_redis_try(struct harness *h, const char *fmt, ...);

/* XRANGE key - +: every entry, oldest first; *out is owned by the caller
 * (harness_entries_free). A missing key gives 0 entries. */
size_t harness_xrange(struct harness *h, const char *key, struct harness_entry **out);
/* The value of field in e, or NULL. Borrowed from e. */
const char *harness_entry_get(const struct harness_entry *e, const char *field);
void harness_entries_free(struct harness_entry *e, size_t n);

/* XLEN of HARNESS_PREFIX ":" + name ("jobs", "dead", "events", ...). */
long long harness_xlen(struct harness *h, const char *name);
/* XPENDING dunning:jobs dunningd: the number of pending entries, or -1 when
 * the stream or the group does not exist. */
long long harness_pending(struct harness *h);
/* Number of consumers of the group dunningd whose name contains "-<pid>-"
 * (DESIGN.md: consumer names are <host>-<pid>-<n>). */
int harness_consumers_of(struct harness *h, pid_t pid);
/* Events of the given type in dunning:events. */
size_t harness_count_events(struct harness *h, const char *type);
/* Events of type in dunning:events whose field is value (field NULL:
 * every event of type). */
size_t harness_events_with(struct harness *h, const char *type, const char *field,
                           const char *value);
/* Waits up to 20 s until harness_events_with() reaches n; fails the test
 * (saying how many there were) when it does not. */
void harness_wait_events(struct harness *h, const char *type, const char *field,
                         const char *value, size_t n);
/* Waits until at least n `sent` events are in dunning:events; returns the
 * number seen last (so a caller can assert it and print it). */
size_t harness_wait_sent(struct harness *h, size_t n, int timeout_ms);
/* Waits until harness_pending() is 0; returns the last value seen. */
long long harness_wait_no_pending(struct harness *h, int timeout_ms);
/* The exactly-once check for customers first .. first+n-1 of harness_job_json
 * (and no other job): exactly n `sent` events, exactly n outbox files, and
 * for every customer exactly one `sent` event for its reminder id, on its
 * preferred channel, and its outbox file. Fails the test otherwise. */
void harness_assert_sent_once(struct harness *h, int first, int n);

/* Files named r-*.{eml,json,pdf} in the outbox directory of channel
 * ("email", "sms", "letter"), or of all three for NULL. */
size_t harness_outbox_count(struct harness *h, const char *channel);
/* Whether the outbox file of customer i (on its preferred channel) exists. */
bool harness_outbox_has(struct harness *h, int i);

/* Config files. write renders c (NULL: defaults) to DIR/dunningd.yaml, with
 * listen on a free port of 127.0.0.1; write_text puts text there as is (a
 * broken config for SIGHUP tests). */
void harness_config_defaults(struct harness_config *c);
void harness_config_write(struct harness *h, const struct harness_config *c);
void harness_config_write_text(struct harness *h, const char *text);

/* For tests that call the daemon's code directly: the config written
 * last, loaded (*cfg), and a queue on h's Redis with its prefix (*q).
 * Free them with queue_free and config_free. */
struct config;
struct queue;
void harness_open_queue(struct harness *h, struct config **cfg, struct queue **q);

/* dunningd processes: `dunningd --config DIR/dunningd.yaml`, stdout and
 * stderr to DIR/dunningd-N.log. While another daemon of h runs, the new one
 * gets its own copy of the config, DIR/dunningd-N.yaml, differing only in
 * its free listen port. The daemon is owned by h. */
struct harness_daemon *harness_daemon_start(struct harness *h);
void harness_daemon_signal(struct harness_daemon *d, int sig);
/* True while the process has not exited (reaps it when it has). */
bool harness_daemon_running(struct harness_daemon *d);
/* Waits up to timeout_ms for the exit: the exit code, 128 + signal when a
 * signal ended it, or -1 on timeout (the process is left running). */
int harness_daemon_wait(struct harness_daemon *d, int timeout_ms);
/* SIGKILL and reap. */
void harness_daemon_kill(struct harness_daemon *d);
/* SIGTERM, then asserts the daemon drained and exited 0 within 10 s. */
void harness_daemon_stop(struct harness_daemon *d);
/* The whole log (free() it), and helpers on it. */
char *harness_daemon_log(const struct harness_daemon *d);
bool harness_daemon_log_has(const struct harness_daemon *d, const char *needle);
/* Lines of the log containing every one of the NULL-terminated needles. */
size_t harness_daemon_log_lines(const struct harness_daemon *d, ...)
        __attribute__((sentinel));

/* One HTTP/1.1 request without a body to d's listen port: the response
 * body (owned) and *status, or NULL and *status -1 when nothing answers. */
char *harness_http(const struct harness_daemon *d, const char *method, const char *path,
                   int *status);

/* The same with a body (content_type may be NULL). */
char *harness_http_post(const struct harness_daemon *d, const char *path,
                        const char *content_type, const char *body, int *status);
/* The same with more header lines ("Name: value\r\n" each). */
char *harness_http_post_headers(const struct harness_daemon *d, const char *path,
                                const char *content_type, const char *body,
                                const char *headers, int *status);
/* One request to any HTTP server on 127.0.0.1:port (a stand-in). */
char *harness_http_request(int port, const char *method, const char *path,
                           const char *content_type, const char *body, int *status);

/* A Python stand-in for a provider's API (tests/integration/SCRIPT, run
 * with /usr/bin/python3 and the NULL-terminated arguments): started, then
 * its port read from port_file once the stand-in writes it. It dies with
 * the test. */
struct harness_standin {
        pid_t pid;
        int port;
};
void harness_standin_start(struct harness *h, struct harness_standin *s, const char *script,
                           const char *port_file, ...) __attribute__((sentinel));
void harness_standin_stop(struct harness_standin *s);

/* Fails the test when d's log shows the full e-mail address or phone
 * number of any of customers first .. first+n-1. */
void harness_assert_log_masked(const struct harness_daemon *d, int first, int n);

/* Runs `dunningctl --config DIR/dunningd.yaml ARG...` (NULL-terminated),
 * fills r and traces the run on stderr; a run over 60 s fails the test. */
void harness_ctl_run(struct harness *h, struct harness_ctl *r, ...) __attribute__((sentinel));
void harness_ctl_free(struct harness_ctl *r);
/* The same in the background, for a test that acts while dunningctl runs:
 * start returns at once; done tells (without blocking) whether it exited;
 * wait waits for the exit (60 s at most, like harness_ctl_run) and fills
 * r. A started run must be waited for. */
struct harness_ctl_job {
        pid_t pid;
        int k;                  /* N of DIR/ctl-N.out and .err */
        bool reaped;
        int status;             /* waitpid() status, once reaped */
        char cmdline[2048];     /* the arguments, for messages */
};
void harness_ctl_start(struct harness *h, struct harness_ctl_job *j, ...)
        __attribute__((sentinel));
bool harness_ctl_done(struct harness_ctl_job *j);
void harness_ctl_wait(struct harness *h, struct harness_ctl_job *j, struct harness_ctl *r);
/* Parses "enqueued A, scheduled B, duplicates C, rejected D" from the last
 * line of out that has it. Returns false when there is none. */
bool harness_parse_summary(const char *out, struct harness_summary *s);
/* The number after `name` on the line of `dunningctl status` output that
 * starts with name followed by whitespace (or ':'), or -1. */
long harness_status_value(const char *out, const char *name);

/* Test customers. The job of customer i is one compact JSON line (campaign
 * "it", step "reminder-1", customer C-<i>, invoice INV-<i> of 1000+i cents,
 * preferred channel email/sms/letter by i % 3, every contact datum set);
 * not_before is added when not NULL. Returned strings are owned. */
char *harness_job_json(int i, const char *not_before);
const char *harness_channel_of(int i);
/* The reminder id of customer i's job ("r-" + 16 hex, via job_reminder_id). */
void harness_reminder_id(int i, char out[19]);
/* e-mail address and phone number of customer i, as in the job. */
void harness_email_of(int i, char *out, size_t len);
void harness_phone_of(int i, char *out, size_t len);

/* Writes content to DIR/name; returns the path (owned). */
char *harness_write_file(struct harness *h, const char *name, const char *content);
/* Writes the jobs of customers first .. first+n-1 to DIR/name, one per
 * line; returns the path (owned). */
char *harness_write_jobs(struct harness *h, const char *name, int first, int n,
                         const char *not_before);
/* `dunningctl enqueue` of those jobs (written to DIR/jobs.jsonl), or of
 * the file at path; fails the test unless it exits 0. */
void harness_enqueue(struct harness *h, int first, int n, const char *not_before);
void harness_enqueue_file(struct harness *h, const char *path);
/* Reads a whole file (owned), or NULL when it cannot be read. */
char *harness_read_file(const char *path);

/* Runs suite s (each integration test's main): EXIT_SUCCESS when every
 * case passed. */
int harness_run(Suite *s);
