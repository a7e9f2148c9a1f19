/* harness.c: private redis-server, dunningd and dunningctl processes for the
 * integration tests, and the assertions they share (see harness.h). */
#include "harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "error.h"
#include "job.h"
#include "queue.h"

#define LOG_TAIL_LINES 200
#define REDIS_READY_MS 15000
#define REDIS_STOP_MS 15000
#define CTL_TIMEOUT_MS 60000
#define POLL_MS 20

static const char *const channel_names[] = { "email", "sms", "letter" };
static const char *const channel_exts[] = { "eml", "json", "pdf" };

static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms)
{
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int64_t harness_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_rfc3339(int64_t ms, char out[32])
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        char sec[24];

        gmtime_r(&t, &tm);
        strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out, 32, "%s.%03dZ", sec, (int)(ms % 1000));
}

bool harness_wait_until(bool (*pred)(void *arg), void *arg, int timeout_ms)
{
        int64_t deadline = mono_ms() + timeout_ms;

        for (;;) {
                if (pred(arg))
                        return true;
                if (mono_ms() >= deadline)
                        return false;
                harness_sleep_ms(POLL_MS);
        }
}

char *harness_read_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        char *data = NULL;
        size_t len = 0, cap = 0, n;

        if (!f)
                return NULL;
        for (;;) {
                if (cap - len < 4096) {
                        cap = cap ? cap * 2 : 8192;
                        data = realloc(data, cap);
                        ck_assert_msg(data != NULL, "out of memory");
                }
                n = fread(data + len, 1, cap - len - 1, f);
                len += n;
                if (n == 0)
                        break;
        }
        fclose(f);
        data[len] = '\0';
        return data;
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- the watcher: prints the logs when the test process dies unhappy ---- */

static void print_tail(const char *path)
{
        char *data = harness_read_file(path);
        size_t len, lines = 0;
        const char *start;

        if (!data)
                return;
        len = strlen(data);
        start = data + len;
        while (start > data) {
                if (start[-1] == '\n' && start != data + len && ++lines >= LOG_TAIL_LINES)
                        break;
                start--;
        }
        fprintf(stderr, "----- %s (%s) -----\n%s%s", path,
                start == data ? "complete" : "last 200 lines", start,
                len && data[len - 1] != '\n' ? "\n" : "");
        free(data);
}

static int log_name_filter(const struct dirent *e)
{
        return has_suffix(e->d_name, ".log");
}

static void print_logs(const char *dir)
{
        struct dirent **names;
        char path[512];
        int n = scandir(dir, &names, log_name_filter, alphasort);

        for (int i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
                print_tail(path);
                free(names[i]);
        }
        if (n >= 0)
                free(names);
}

static void watcher_main(int fd, const char *dir)
{
        bool ok = false;
        char buf[64];
        ssize_t r;

        /* Check kills the test's process group when the test ends; the
         * watcher must outlive it to print the logs. */
        setpgid(0, 0);
        for (;;) {
                r = read(fd, buf, sizeof(buf));
                if (r > 0) {
                        if (memchr(buf, 'K', (size_t)r))
                                ok = true;
                        continue;
                }
                if (r < 0 && errno == EINTR)
                        continue;
                break;
        }
        if (ok)
                return;
        /* The children got SIGKILL with the test process (PDEATHSIG);
         * their logs are complete. */
        fprintf(stderr, "\nharness: the test failed, crashed or timed out; logs of %s:\n", dir);
        print_logs(dir);
        fprintf(stderr, "harness: kept %s\n", dir);
}

static void watcher_start(struct harness *h)
{
        int p[2];
        pid_t pid;

        ck_assert_msg(pipe2(p, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
        fflush(NULL);
        pid = fork();
        ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
                close(p[1]);
                watcher_main(p[0], h->dir);
                _exit(0);
        }
        close(p[0]);
        h->watcher_fd = p[1];
        h->watcher_pid = pid;
}

/* ---- processes ---- */

static const char *env_dir(const char *name)
{
        const char *v = getenv(name);

        ck_assert_msg(v && *v, "%s is not set (run the tests through meson test)", name);
        return v;
}

/* Forks and execs argv with stdin from /dev/null, stdout to out_path and
 * stderr to err_path (or out_path when NULL). The child dies with us. */
static pid_t spawn(const char *const argv[], const char *out_path, const char *err_path)
{
        pid_t parent = getpid(), pid;

        fflush(NULL);
        pid = fork();
        ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
                sigset_t none;
                int in, out, err;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                signal(SIGHUP, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                in = open("/dev/null", O_RDONLY);
                out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
                err = err_path ? open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644) : out;
                if (in < 0 || out < 0 || err < 0)
                        _exit(127);
                dup2(in, 0);
                dup2(out, 1);
                dup2(err, 2);
                execvp(argv[0], (char *const *)argv);
                dprintf(2, "harness: exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        return pid;
}

/* Reaps pid within timeout_ms: true and *status set, or false. */
static bool wait_pid(pid_t pid, int timeout_ms, int *status)
{
        int64_t deadline = mono_ms() + timeout_ms;
        pid_t r;

        for (;;) {
                r = waitpid(pid, status, WNOHANG);
                if (r == pid)
                        return true;
                ck_assert_msg(r == 0 || errno == EINTR, "waitpid %d: %s", (int)pid,
                              strerror(errno));
                if (mono_ms() >= deadline)
                        return false;
                harness_sleep_ms(5);
        }
}

static int exit_code(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return -1;
}

/* ---- redis ---- */

static bool redis_ping(struct harness *h)
{
        struct timeval tv = { 1, 0 };
        redisContext *c = redisConnectUnixWithTimeout(h->sock, tv);
        redisReply *r;
        bool ok = false;

        if (!c)
                return false;
        if (!c->err) {
                r = redisCommand(c, "PING");
                ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
                if (r)
                        freeReplyObject(r);
        }
        if (!ok) {
                redisFree(c);
                return false;
        }
        tv.tv_sec = 10;
        redisSetTimeout(c, tv);
        h->redis = c;
        return true;
}

void harness_redis_start(struct harness *h)
{
        char log_path[512], out_path[512];
        int64_t deadline = mono_ms() + REDIS_READY_MS;
        int status;

        ck_assert_msg(h->redis_pid == 0, "redis-server is already running");
        snprintf(log_path, sizeof(log_path), "%s/redis.log", h->dir);
        snprintf(out_path, sizeof(out_path), "%s/redis-stdout.log", h->dir);
        const char *argv[] = {
                "redis-server", "--port", "0", "--unixsocket", h->sock,
                "--unixsocketperm", "700", "--dir", h->dir, "--save", "",
                "--appendonly", "yes", "--appendfsync", "always",
                "--logfile", log_path, NULL,
        };
        h->redis_pid = spawn(argv, out_path, NULL);
        for (;;) {
                if (waitpid(h->redis_pid, &status, WNOHANG) == h->redis_pid) {
                        h->redis_pid = 0;
                        ck_abort_msg("redis-server exited during start-up (status %d), see %s",
                                     exit_code(status), log_path);
                }
                if (redis_ping(h))
                        return;
                ck_assert_msg(mono_ms() < deadline, "redis-server did not answer PING within %d ms",
                              REDIS_READY_MS);
                harness_sleep_ms(POLL_MS);
        }
}

void harness_redis_stop(struct harness *h)
{
        int status;

        if (h->redis) {
                redisFree(h->redis);
                h->redis = NULL;
        }
        if (h->redis_pid <= 0)
                return;
        kill(h->redis_pid, SIGTERM);
        if (!wait_pid(h->redis_pid, REDIS_STOP_MS, &status)) {
                kill(h->redis_pid, SIGKILL);
                waitpid(h->redis_pid, &status, 0);
                h->redis_pid = 0;
                ck_abort_msg("redis-server did not exit within %d ms of SIGTERM", REDIS_STOP_MS);
        }
        h->redis_pid = 0;
}

void harness_redis_restart(struct harness *h)
{
        harness_redis_stop(h);
        harness_redis_start(h);
}

static redisReply *vcommand(struct harness *h, const char *fmt, va_list ap)
{
        redisReply *r;

        ck_assert_msg(h->redis != NULL, "no redis connection (is redis-server stopped?)");
        r = redisvCommand(h->redis, fmt, ap);
        ck_assert_msg(r != NULL, "redis command '%s': %s", fmt, h->redis->errstr);
        if (r->type == REDIS_REPLY_ERROR) {
                char msg[512];

                snprintf(msg, sizeof(msg), "%s", r->str);
                freeReplyObject(r);
                ck_abort_msg("redis command '%s': %s", fmt, msg);
        }
        return r;
}

/* Like vcommand, but an error reply is returned to the caller. */
static redisReply *command_any(struct harness *h, const char *fmt, ...)
{
        redisReply *r;
        va_list ap;

        ck_assert_msg(h->redis != NULL, "no redis connection (is redis-server stopped?)");
        va_start(ap, fmt);
        r = redisvCommand(h->redis, fmt, ap);
        va_end(ap);
        ck_assert_msg(r != NULL, "redis command '%s': %s", fmt, h->redis->errstr);
        return r;
}

long long harness_redis_int(struct harness *h, const char *fmt, ...)
{
        redisReply *r;
        long long v;
        va_list ap;

        va_start(ap, fmt);
        r = vcommand(h, fmt, ap);
        va_end(ap);
        if (r->type != REDIS_REPLY_INTEGER) {
                int type = r->type;

                freeReplyObject(r);
                ck_abort_msg("redis command '%s': reply type %d, not an integer", fmt, type);
        }
        v = r->integer;
        freeReplyObject(r);
        return v;
}

char *harness_redis_str(struct harness *h, const char *fmt, ...)
{
        redisReply *r;
        char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        r = vcommand(h, fmt, ap);
        va_end(ap);
        if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
                s = strndup(r->str, r->len);
                ck_assert_msg(s != NULL, "out of memory");
        } else if (r->type != REDIS_REPLY_NIL) {
                int type = r->type;

                freeReplyObject(r);
                ck_abort_msg("redis command '%s': reply type %d, not a string", fmt, type);
        }
        freeReplyObject(r);
        return s;
}

void harness_redis_cmd(struct harness *h, const char *fmt, ...)
{
        redisReply *r;
        va_list ap;

        va_start(ap, fmt);
        r = vcommand(h, fmt, ap);
        va_end(ap);
        freeReplyObject(r);
}

bool harness_redis_try(struct harness *h, const char *fmt, ...)
{
        redisReply *r;
        bool ok;
        va_list ap;

        ck_assert_msg(h->redis != NULL, "no redis connection (is redis-server stopped?)");
        va_start(ap, fmt);
        r = redisvCommand(h->redis, fmt, ap);
        va_end(ap);
        ck_assert_msg(r != NULL, "redis command '%s': %s", fmt, h->redis->errstr);
        ok = r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
        return ok;
}

static char *dup_reply_str(const redisReply *r)
{
        char *s;

        if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
                return NULL;
        s = strndup(r->str, r->len);
        ck_assert_msg(s != NULL, "out of memory");
        return s;
}

size_t harness_xrange(struct harness *h, const char *key, struct harness_entry **out)
{
        redisReply *r = command_any(h, "XRANGE %s - +", key);
        struct harness_entry *e;
        size_t n;

        ck_assert_msg(r->type == REDIS_REPLY_ARRAY, "XRANGE %s: %s", key,
                      r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
        n = r->elements;
        e = calloc(n ? n : 1, sizeof(*e));
        ck_assert_msg(e != NULL, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const redisReply *item = r->element[i], *kv;

                ck_assert_msg(item->type == REDIS_REPLY_ARRAY && item->elements == 2,
                              "XRANGE %s: malformed entry", key);
                kv = item->element[1];
                e[i].id = dup_reply_str(item->element[0]);
                if (kv->type != REDIS_REPLY_ARRAY)
                        continue;
                e[i].n_fields = kv->elements / 2;
                e[i].fields = calloc(e[i].n_fields + 1, sizeof(char *));
                e[i].values = calloc(e[i].n_fields + 1, sizeof(char *));
                ck_assert_msg(e[i].fields && e[i].values, "out of memory");
                for (size_t k = 0; k < e[i].n_fields; k++) {
                        e[i].fields[k] = dup_reply_str(kv->element[2 * k]);
                        e[i].values[k] = dup_reply_str(kv->element[2 * k + 1]);
                }
        }
        freeReplyObject(r);
        *out = e;
        return n;
}

const char *harness_entry_get(const struct harness_entry *e, const char *field)
{
        for (size_t k = 0; k < e->n_fields; k++)
                if (e->fields[k] && strcmp(e->fields[k], field) == 0)
                        return e->values[k];
        return NULL;
}

void harness_entries_free(struct harness_entry *e, size_t n)
{
        if (!e)
                return;
        for (size_t i = 0; i < n; i++) {
                for (size_t k = 0; k < e[i].n_fields; k++) {
                        free(e[i].fields[k]);
                        free(e[i].values[k]);
                }
                free(e[i].fields);
                free(e[i].values);
                free(e[i].id);
        }
        free(e);
}

long long harness_xlen(struct harness *h, const char *name)
{
        return harness_redis_int(h, "XLEN " HARNESS_PREFIX ":%s", name);
}

long long harness_pending(struct harness *h)
{
        redisReply *r = command_any(h, "XPENDING " HARNESS_PREFIX ":jobs dunningd");
        long long n = -1;

        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
            r->element[0]->type == REDIS_REPLY_INTEGER)
                n = r->element[0]->integer;
        freeReplyObject(r);
        return n;
}

int harness_consumers_of(struct harness *h, pid_t pid)
{
        redisReply *r = command_any(h, "XINFO CONSUMERS " HARNESS_PREFIX ":jobs dunningd");
        char needle[32];
        int n = 0;

        snprintf(needle, sizeof(needle), "-%d-", (int)pid);
        if (r->type == REDIS_REPLY_ARRAY) {
                for (size_t i = 0; i < r->elements; i++) {
                        const redisReply *c = r->element[i];

                        for (size_t k = 0; c->type == REDIS_REPLY_ARRAY && k + 1 < c->elements;
                             k += 2) {
                                const redisReply *f = c->element[k], *v = c->element[k + 1];

                                if (f->type == REDIS_REPLY_STRING && strcmp(f->str, "name") == 0 &&
                                    v->type == REDIS_REPLY_STRING && strstr(v->str, needle))
                                        n++;
                        }
                }
        }
        freeReplyObject(r);
        return n;
}

size_t harness_count_events(struct harness *h, const char *type)
{
        struct harness_entry *e;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":events", &e), count = 0;

        for (size_t i = 0; i < n; i++) {
                const char *t = harness_entry_get(&e[i], "type");

                if (t && strcmp(t, type) == 0)
                        count++;
        }
        harness_entries_free(e, n);
        return count;
}

struct sent_wait {
        struct harness *h;
        size_t want;
};

static bool sent_reached(void *arg)
{
        struct sent_wait *w = arg;

        /* XLEN is cheap; only read the events once there can be enough. */
        if (harness_xlen(w->h, "events") < (long long)w->want)
                return false;
        return harness_count_events(w->h, "sent") >= w->want;
}

size_t harness_wait_sent(struct harness *h, size_t n, int timeout_ms)
{
        struct sent_wait w = { h, n };

        harness_wait_until(sent_reached, &w, timeout_ms);
        return harness_count_events(h, "sent");
}

static bool no_pending(void *arg)
{
        return harness_pending(arg) == 0;
}

long long harness_wait_no_pending(struct harness *h, int timeout_ms)
{
        harness_wait_until(no_pending, h, timeout_ms);
        return harness_pending(h);
}

struct sent_ref {
        const char *reminder;
        const char *channel;
};

static int sent_ref_cmp(const void *a, const void *b)
{
        return strcmp(((const struct sent_ref *)a)->reminder, ((const struct sent_ref *)b)->reminder);
}

void harness_assert_sent_once(struct harness *h, int first, int n)
{
        struct harness_entry *e;
        size_t n_events = harness_xrange(h, HARNESS_PREFIX ":events", &e), n_sent = 0;
        struct sent_ref *sent = calloc(n_events ? n_events : 1, sizeof(*sent));
        size_t files;

        ck_assert_msg(sent != NULL, "out of memory");
        for (size_t i = 0; i < n_events; i++) {
                const char *t = harness_entry_get(&e[i], "type");
                const char *rid = harness_entry_get(&e[i], "reminder");

                if (!t || strcmp(t, "sent") != 0)
                        continue;
                ck_assert_msg(rid != NULL, "sent event %s has no reminder field", e[i].id);
                sent[n_sent].reminder = rid;
                sent[n_sent].channel = harness_entry_get(&e[i], "channel");
                n_sent++;
        }
        qsort(sent, n_sent, sizeof(*sent), sent_ref_cmp);
        for (size_t i = 1; i < n_sent; i++)
                ck_assert_msg(strcmp(sent[i - 1].reminder, sent[i].reminder) != 0,
                              "reminder %s has more than one sent event", sent[i].reminder);
        ck_assert_msg(n_sent == (size_t)n, "%zu sent events, expected %d", n_sent, n);
        for (int i = first; i < first + n; i++) {
                struct sent_ref key, *hit;
                char rid[19];

                harness_reminder_id(i, rid);
                key.reminder = rid;
                hit = bsearch(&key, sent, n_sent, sizeof(*sent), sent_ref_cmp);
                ck_assert_msg(hit != NULL, "no sent event for customer C-%d (reminder %s)", i, rid);
                ck_assert_msg(hit->channel && strcmp(hit->channel, harness_channel_of(i)) == 0,
                              "reminder %s of C-%d sent on channel %s, expected %s", rid, i,
                              hit->channel ? hit->channel : "(none)", harness_channel_of(i));
                ck_assert_msg(harness_outbox_has(h, i), "no outbox file for C-%d (%s/%s/%s.*)", i,
                              h->outbox, harness_channel_of(i), rid);
        }
        files = harness_outbox_count(h, NULL);
        ck_assert_msg(files == (size_t)n, "%zu outbox files, expected %d", files, n);
        free(sent);
        harness_entries_free(e, n_events);
}

/* ---- outbox ---- */

static size_t count_dir(const char *outbox, int ch)
{
        char path[512];
        struct dirent *d;
        size_t n = 0;
        char suffix[8];
        DIR *dir;

        snprintf(path, sizeof(path), "%s/%s", outbox, channel_names[ch]);
        snprintf(suffix, sizeof(suffix), ".%s", channel_exts[ch]);
        dir = opendir(path);
        if (!dir)
                return 0;
        while ((d = readdir(dir)))
                if (strncmp(d->d_name, "r-", 2) == 0 && has_suffix(d->d_name, suffix))
                        n++;
        closedir(dir);
        return n;
}

size_t harness_outbox_count(struct harness *h, const char *channel)
{
        size_t n = 0;

        for (int ch = 0; ch < 3; ch++)
                if (!channel || strcmp(channel, channel_names[ch]) == 0)
                        n += count_dir(h->outbox, ch);
        return n;
}

bool harness_outbox_has(struct harness *h, int i)
{
        char path[600], rid[19];
        struct stat st;

        harness_reminder_id(i, rid);
        snprintf(path, sizeof(path), "%s/%s/%s.%s", h->outbox, channel_names[i % 3], rid,
                 channel_exts[i % 3]);
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- config ---- */

void harness_config_defaults(struct harness_config *c)
{
        c->workers = 2;
        c->batch = 50;
        c->block_ms = 100;
        c->claim_idle_ms = 1000;
        c->max_deliveries = 3;
        c->drain_timeout_ms = 5000;
        c->retry_base_ms = 200;
        c->retry_max_ms = 1000;
        c->max_attempts = 8;
        c->housekeep_interval_ms = 30000;
        c->consumer_expire_ms = 3600000;
        c->log_level = "debug";
        c->email_yaml = NULL;
        c->watchdog_ms = 60000;
        c->sms_yaml = NULL;
        c->letter_yaml = NULL;
        c->extra_yaml = NULL;
        c->policy_yaml = NULL;
}

static void write_atomically(const char *path, const char *text)
{
        char tmp[600];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        f = fopen(tmp, "w");
        ck_assert_msg(f != NULL, "%s: %s", tmp, strerror(errno));
        fputs(text, f);
        ck_assert_msg(fclose(f) == 0, "%s: %s", tmp, strerror(errno));
        ck_assert_msg(rename(tmp, path) == 0, "rename %s: %s", path, strerror(errno));
}

/* A port of 127.0.0.1 that was free a moment ago (dunningd's config does
 * not take port 0). */
static int free_port(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                      getsockname(fd, (struct sockaddr *)&sa, &len) == 0,
                      "bind 127.0.0.1:0: %s", strerror(errno));
        close(fd);
        return ntohs(sa.sin_port);
}

static void render_config(struct harness *h, const struct harness_config *c, const char *path,
                          int port)
{
        char *text;

        ck_assert_msg(asprintf(&text,
                "redis: { url: \"unix://%s\", prefix: " HARNESS_PREFIX " }\n"
                "workers: %d\n"
                "queue: { batch: %d, block_ms: %d, claim_idle_ms: %d, max_deliveries: %d, "
                "drain_timeout_ms: %d, retry_base_ms: %d, retry_max_ms: %d, max_attempts: %d, "
                "housekeep_interval_ms: %d, consumer_expire_ms: %d }\n"
                "outbox: %s\n"
                "templates: %s\n"
                "listen: 127.0.0.1:%d\n"
                "watchdog_ms: %d\n"
                "creditor: { name: \"Acme Energie B.V.\", iban: NL91ABNA0417164300, bic: ABNANL2A, "
                "address: [\"Postbus 123\", \"3500 AA Utrecht\"] }\n"
                "channels: { email: { from: \"Acme <debiteuren@acme.example>\", %s }, "
                "sms: { sender: Acme, %s }, letter: { %s } }\n"
                "log: { level: %s }\n"
                "policy: { %s }\n"
                "%s\n",
                h->sock, c->workers, c->batch, c->block_ms, c->claim_idle_ms, c->max_deliveries,
                c->drain_timeout_ms, c->retry_base_ms, c->retry_max_ms, c->max_attempts,
                c->housekeep_interval_ms, c->consumer_expire_ms, h->outbox,
                h->templates,
                port, c->watchdog_ms, c->email_yaml ? c->email_yaml : "transport: outbox",
                c->sms_yaml ? c->sms_yaml : "transport: outbox, quiet_hours: none",
                c->letter_yaml ? c->letter_yaml : "transport: outbox",
                c->log_level, c->policy_yaml ? c->policy_yaml
                                               : "exploration: 0, preference_boost: 0.5, "
                                                 "cost_cents: { sms: 0, letter: 0 }",
                c->extra_yaml ? c->extra_yaml : "") >= 0, "out of memory");
        write_atomically(path, text);
        free(text);
}

void harness_config_write(struct harness *h, const struct harness_config *c)
{
        struct harness_config def;

        if (!c) {
                harness_config_defaults(&def);
                c = &def;
        }
        h->config = *c;
        h->listen_port = free_port();
        render_config(h, c, h->config_path, h->listen_port);
}

void harness_config_write_text(struct harness *h, const char *text)
{
        write_atomically(h->config_path, text);
}

/* ---- dunningd ---- */

struct harness_daemon *harness_daemon_start(struct harness *h)
{
        struct harness_daemon *d;
        char bin[512], log_path[sizeof(d->log_path)], config_path[sizeof(d->config_path)];
        int others = 0;

        ck_assert_msg(h->n_daemons < HARNESS_MAX_DAEMONS, "too many daemons");
        snprintf(bin, sizeof(bin), "%s/dunningd", env_dir("DUNNINGD_BUILD_ROOT"));
        ck_assert_msg(access(bin, X_OK) == 0, "%s: %s", bin, strerror(errno));
        for (int i = 0; i < h->n_daemons; i++)
                others += harness_daemon_running(&h->daemons[i]);
        d = &h->daemons[h->n_daemons++];
        memset(d, 0, sizeof(*d));
        d->index = h->n_daemons;
        if (others) {
                /* Same config but for a listen port of its own. */
                snprintf(config_path, sizeof(config_path), "%s/dunningd-%d.yaml", h->dir, d->index);
                d->port = free_port();
                render_config(h, &h->config, config_path, d->port);
        } else {
                snprintf(config_path, sizeof(config_path), "%s", h->config_path);
                d->port = h->listen_port;
        }
        memcpy(d->config_path, config_path, sizeof(d->config_path));
        /* Through a local: gcc -O2 sees d and h->dir as overlapping. */
        snprintf(log_path, sizeof(log_path), "%s/dunningd-%d.log", h->dir, d->index);
        memcpy(d->log_path, log_path, sizeof(d->log_path));
        const char *argv[] = { bin, "--config", d->config_path, NULL };
        d->pid = spawn(argv, d->log_path, NULL);
        fprintf(stderr, "harness: started dunningd-%d, pid %d\n", d->index, (int)d->pid);
        return d;
}

void harness_daemon_signal(struct harness_daemon *d, int sig)
{
        ck_assert_msg(!d->reaped, "dunningd-%d already exited (%d)", d->index, exit_code(d->status));
        ck_assert_msg(kill(d->pid, sig) == 0, "kill %d: %s", (int)d->pid, strerror(errno));
}

bool harness_daemon_running(struct harness_daemon *d)
{
        if (!d->reaped && waitpid(d->pid, &d->status, WNOHANG) == d->pid) {
                d->reaped = true;
                fprintf(stderr, "harness: dunningd-%d exited: %d\n", d->index, exit_code(d->status));
        }
        return !d->reaped;
}

int harness_daemon_wait(struct harness_daemon *d, int timeout_ms)
{
        if (!d->reaped) {
                if (!wait_pid(d->pid, timeout_ms, &d->status))
                        return -1;
                d->reaped = true;
                fprintf(stderr, "harness: dunningd-%d exited: %d\n", d->index, exit_code(d->status));
        }
        return exit_code(d->status);
}

void harness_daemon_stop(struct harness_daemon *d)
{
        harness_daemon_signal(d, SIGTERM);
        ck_assert_int_eq(harness_daemon_wait(d, 10000), 0);
}

int harness_run(Suite *s)
{
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void harness_daemon_kill(struct harness_daemon *d)
{
        if (d->reaped)
                return;
        kill(d->pid, SIGKILL);
        ck_assert_msg(wait_pid(d->pid, 10000, &d->status), "dunningd-%d survived SIGKILL", d->index);
        d->reaped = true;
        fprintf(stderr, "harness: dunningd-%d killed\n", d->index);
}

char *harness_daemon_log(const struct harness_daemon *d)
{
        char *s = harness_read_file(d->log_path);

        return s ? s : strdup("");
}

bool harness_daemon_log_has(const struct harness_daemon *d, const char *needle)
{
        char *log = harness_daemon_log(d);
        bool has = strstr(log, needle) != NULL;

        free(log);
        return has;
}

size_t harness_daemon_log_lines(const struct harness_daemon *d, ...)
{
        const char *needles[16];
        size_t n_needles = 0, count = 0;
        char *log = harness_daemon_log(d), *line, *next;
        const char *s;
        va_list ap;

        va_start(ap, d);
        while ((s = va_arg(ap, const char *)) && n_needles < 16)
                needles[n_needles++] = s;
        va_end(ap);
        for (line = log; *line; line = next) {
                bool all = true;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                else
                        next = line + strlen(line);
                for (size_t k = 0; k < n_needles && all; k++)
                        all = strstr(line, needles[k]) != NULL;
                if (all)
                        count++;
        }
        free(log);
        return count;
}

/* ---- dunningctl ---- */

/* Starts dunningctl with the arguments of ap; its outputs go to
 * DIR/ctl-K.out and .err. */
static void ctl_start(struct harness *h, struct harness_ctl_job *j, va_list ap)
{
        const char *argv[64];
        char bin[512], out_path[512], err_path[512];
        size_t n = 0;
        const char *a;

        snprintf(bin, sizeof(bin), "%s/dunningctl", env_dir("DUNNINGD_BUILD_ROOT"));
        ck_assert_msg(access(bin, X_OK) == 0, "%s: %s", bin, strerror(errno));
        argv[n++] = bin;
        argv[n++] = "--config";
        argv[n++] = h->config_path;
        j->cmdline[0] = '\0';
        while ((a = va_arg(ap, const char *)) && n < 63) {
                argv[n++] = a;
                strncat(j->cmdline, " ", sizeof(j->cmdline) - strlen(j->cmdline) - 1);
                strncat(j->cmdline, a, sizeof(j->cmdline) - strlen(j->cmdline) - 1);
        }
        argv[n] = NULL;
        j->k = ++h->n_files;
        j->reaped = false;
        j->status = 0;
        snprintf(out_path, sizeof(out_path), "%s/ctl-%d.out", h->dir, j->k);
        snprintf(err_path, sizeof(err_path), "%s/ctl-%d.err", h->dir, j->k);
        j->pid = spawn(argv, out_path, err_path);
}

void harness_ctl_start(struct harness *h, struct harness_ctl_job *j, ...)
{
        va_list ap;

        va_start(ap, j);
        ctl_start(h, j, ap);
        va_end(ap);
}

bool harness_ctl_done(struct harness_ctl_job *j)
{
        pid_t r;

        if (j->reaped)
                return true;
        r = waitpid(j->pid, &j->status, WNOHANG);
        ck_assert_msg(r >= 0 || errno == EINTR, "waitpid %d: %s", (int)j->pid, strerror(errno));
        j->reaped = r == j->pid;
        return j->reaped;
}

void harness_ctl_wait(struct harness *h, struct harness_ctl_job *j, struct harness_ctl *r)
{
        char out_path[512], err_path[512];

        if (!j->reaped && !wait_pid(j->pid, CTL_TIMEOUT_MS, &j->status)) {
                kill(j->pid, SIGKILL);
                waitpid(j->pid, &j->status, 0);
                ck_abort_msg("dunningctl%s: no exit within %d ms", j->cmdline, CTL_TIMEOUT_MS);
        }
        j->reaped = true;
        snprintf(out_path, sizeof(out_path), "%s/ctl-%d.out", h->dir, j->k);
        snprintf(err_path, sizeof(err_path), "%s/ctl-%d.err", h->dir, j->k);
        r->status = exit_code(j->status);
        r->out = harness_read_file(out_path);
        r->err = harness_read_file(err_path);
        ck_assert_msg(r->out && r->err, "cannot read the output of dunningctl%s", j->cmdline);
        fprintf(stderr, "harness: dunningctl%s -> exit %d\n", j->cmdline, r->status);
        if (*r->err)
                fprintf(stderr, "harness:   stderr: %.2000s%s", r->err,
                        has_suffix(r->err, "\n") ? "" : "\n");
}

void harness_ctl_run(struct harness *h, struct harness_ctl *r, ...)
{
        struct harness_ctl_job j;
        va_list ap;

        va_start(ap, r);
        ctl_start(h, &j, ap);
        va_end(ap);
        harness_ctl_wait(h, &j, r);
}

void harness_ctl_free(struct harness_ctl *r)
{
        free(r->out);
        free(r->err);
        r->out = r->err = NULL;
}

bool harness_parse_summary(const char *out, struct harness_summary *s)
{
        bool found = false;
        const char *p = out;

        while ((p = strstr(p, "enqueued "))) {
                struct harness_summary t;

                if (sscanf(p, "enqueued %ld, scheduled %ld, duplicates %ld, rejected %ld",
                           &t.enqueued, &t.scheduled, &t.duplicates, &t.rejected) == 4) {
                        *s = t;
                        found = true;
                }
                p++;
        }
        return found;
}

long harness_status_value(const char *out, const char *name)
{
        size_t len = strlen(name);
        const char *line = out;

        while (line && *line) {
                const char *p = line;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (strncmp(p, name, len) == 0 &&
                    (p[len] == ' ' || p[len] == '\t' || p[len] == ':')) {
                        char *end;
                        long v;

                        p += len;
                        while (*p == ' ' || *p == '\t' || *p == ':')
                                p++;
                        v = strtol(p, &end, 10);
                        if (end != p)
                                return v;
                }
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return -1;
}

/* ---- jobs and files ---- */

const char *harness_channel_of(int i)
{
        return channel_names[i % 3];
}

void harness_email_of(int i, char *out, size_t len)
{
        snprintf(out, len, "klant%d@example.nl", i);
}

void harness_phone_of(int i, char *out, size_t len)
{
        snprintf(out, len, "+3161234%04d", i % 10000);
}

char *harness_job_json(int i, const char *not_before)
{
        char email[64], phone[32];
        char *s;

        harness_email_of(i, email, sizeof(email));
        harness_phone_of(i, phone, sizeof(phone));
        ck_assert_msg(asprintf(&s,
                "{\"v\":1,\"campaign\":\"" HARNESS_CAMPAIGN "\",\"step\":\"" HARNESS_STEP "\","
                "\"customer\":{\"id\":\"C-%d\",\"name\":\"Klant %d\",\"locale\":\"nl-NL\","
                "\"email\":\"%s\",\"phone\":\"%s\","
                "\"address\":{\"lines\":[\"Dorpsstraat %d\"],\"postal_code\":\"1234 AB\","
                "\"city\":\"Utrecht\",\"country\":\"NL\"},\"preferred_channel\":\"%s\"},"
                "\"invoices\":[{\"number\":\"INV-%d\",\"amount_cents\":%d,\"currency\":\"EUR\","
                "\"issued\":\"2026-10-01\",\"due\":\"2026-10-31\"}]%s%s%s}",
                i, i, email, phone, i, harness_channel_of(i), i, 1000 + i,
                not_before ? ",\"not_before\":\"" : "", not_before ? not_before : "",
                not_before ? "\"" : "") >= 0, "out of memory");
        return s;
}

void harness_reminder_id(int i, char out[19])
{
        char number[32];
        const char *numbers[1] = { number };

        snprintf(number, sizeof(number), "INV-%d", i);
        job_reminder_id(out, HARNESS_STEP, numbers, 1);
}

char *harness_write_file(struct harness *h, const char *name, const char *content)
{
        char *path;

        ck_assert_msg(asprintf(&path, "%s/%s", h->dir, name) >= 0, "out of memory");
        write_atomically(path, content);
        return path;
}

char *harness_write_jobs(struct harness *h, const char *name, int first, int n,
                         const char *not_before)
{
        char *path;
        FILE *f;

        ck_assert_msg(asprintf(&path, "%s/%s", h->dir, name) >= 0, "out of memory");
        f = fopen(path, "w");
        ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
        for (int i = first; i < first + n; i++) {
                char *job = harness_job_json(i, not_before);

                fprintf(f, "%s\n", job);
                free(job);
        }
        ck_assert_msg(fclose(f) == 0, "%s: %s", path, strerror(errno));
        return path;
}

void harness_enqueue_file(struct harness *h, const char *path)
{
        struct harness_ctl r;
        harness_ctl_run(h, &r, "enqueue", path, NULL);
        ck_assert_msg(r.status == 0, "enqueue: %s%s", r.out, r.err);
        harness_ctl_free(&r);
}

void harness_enqueue(struct harness *h, int first, int n, const char *not_before)
{
        char *path = harness_write_jobs(h, "jobs.jsonl", first, n, not_before);
        harness_enqueue_file(h, path);
        free(path);
}

/* ---- lifecycle ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        remove(path);
        return 0;
}

struct harness *harness_new(void)
{
        struct harness *h = calloc(1, sizeof(*h));
        const char *tmp = getenv("TMPDIR"), *src = getenv("DUNNINGD_SOURCE_ROOT");
        char templates_src[512];
        struct stat st;

        ck_assert_msg(h != NULL, "out of memory");
        /* The socket path must fit sun_path (108 bytes). */
        if (!tmp || !*tmp || strlen(tmp) > 60)
                tmp = "/tmp";
        snprintf(h->dir, sizeof(h->dir), "%s/dunningd-it-XXXXXX", tmp);
        ck_assert_msg(mkdtemp(h->dir) != NULL, "mkdtemp %s: %s", h->dir, strerror(errno));
        snprintf(h->sock, sizeof(h->sock), "%s/redis.sock", h->dir);
        snprintf(h->config_path, sizeof(h->config_path), "%s/dunningd.yaml", h->dir);
        snprintf(h->outbox, sizeof(h->outbox), "%s/outbox", h->dir);
        snprintf(h->templates, sizeof(h->templates), "%s/templates", h->dir);
        watcher_start(h);
        ck_assert_msg(mkdir(h->outbox, 0755) == 0, "mkdir %s: %s", h->outbox, strerror(errno));
        snprintf(templates_src, sizeof(templates_src), "%s/templates/default", src ? src : "");
        if (src && stat(templates_src, &st) == 0 && S_ISDIR(st.st_mode))
                ck_assert_msg(symlink(templates_src, h->templates) == 0, "symlink %s: %s",
                              h->templates, strerror(errno));
        else
                ck_assert_msg(mkdir(h->templates, 0755) == 0, "mkdir %s: %s", h->templates,
                              strerror(errno));
        harness_config_write(h, NULL);
        harness_redis_start(h);
        return h;
}

/* Every daemon log of h, checked for personal data that escaped the
 * masking: an e-mail address whose local part is not masked ("x@" rather
 * than "***@") or a run of 8 or more digits after a '+'. Run for every
 * test, so a full test run proves it for every line any daemon wrote. */
static void assert_logs_clean(const struct harness *h)
{
        for (int i = 0; i < h->n_daemons; i++) {
                char *log = harness_daemon_log(&h->daemons[i]);
                if (!log)
                        continue;
                for (const char *p = log; *p; p++) {
                        bool email = *p == '@' && p > log &&
                                     (isalnum((unsigned char)p[-1]) || strchr("._%+-", p[-1])) &&
                                     isalnum((unsigned char)p[1]);
                        size_t digits = *p == '+' ? strspn(p + 1, "0123456789") : 0;
                        if (email || digits >= 8) {
                                const char *from = p - log > 40 ? p - 40 : log;
                                ck_abort_msg("dunningd-%d log shows %s: ...%.80s...",
                                             h->daemons[i].index,
                                             email ? "an unmasked e-mail address"
                                                   : "an unmasked phone number",
                                             from);
                        }
                }
                free(log);
        }
}

void harness_free(struct harness *h)
{
        int status;

        if (!h)
                return;
        assert_logs_clean(h);
        for (int i = 0; i < h->n_daemons; i++) {
                struct harness_daemon *d = &h->daemons[i];

                if (d->reaped)
                        continue;
                kill(d->pid, SIGTERM);
                if (harness_daemon_wait(d, h->config.drain_timeout_ms + 5000) < 0)
                        harness_daemon_kill(d);
        }
        harness_redis_stop(h);
        /* Tell the watcher all went well, so it prints nothing. */
        if (write(h->watcher_fd, "OK", 2) != 2)
                fprintf(stderr, "harness: cannot reach the watcher: %s\n", strerror(errno));
        close(h->watcher_fd);
        waitpid(h->watcher_pid, &status, 0);
        nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(h);
}

/* ---- HTTP ---- */

static char *http_request(const struct harness_daemon *d, const char *method, const char *path,
                          const char *content_type, const char *body, const char *headers,
                          int *status);

char *harness_http(const struct harness_daemon *d, const char *method, const char *path,
                   int *status)
{
        return http_request(d, method, path, NULL, NULL, NULL, status);
}

char *harness_http_post(const struct harness_daemon *d, const char *path,
                        const char *content_type, const char *body, int *status)
{
        return http_request(d, "POST", path, content_type, body, NULL, status);
}

char *harness_http_post_headers(const struct harness_daemon *d, const char *path,
                                const char *content_type, const char *body,
                                const char *headers, int *status)
{
        return http_request(d, "POST", path, content_type, body, headers, status);
}

static char *http_request(const struct harness_daemon *d, const char *method, const char *path,
                          const char *content_type, const char *body, const char *headers,
                          int *status)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)d->port) };
        char req[1024];
        struct buf b = BUF_INIT;

        *status = -1;
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
                close(fd);
                return NULL;
        }
        size_t blen = body ? strlen(body) : 0;
        snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                   "%s%s%s%sContent-Length: %zu\r\n\r\n", method, path,
                 content_type ? "Content-Type: " : "", content_type ? content_type : "",
                 content_type ? "\r\n" : "", headers ? headers : "", blen);
        ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
        /* A large body may be refused before it is all read: that is fine. */
        if (blen)
                (void)!write(fd, body, blen);
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char chunk[8192];
                ck_assert_msg(poll(&p, 1, 10000) == 1, "%s %s: no answer in 10 s", method, path);
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n <= 0)
                        break;
                buf_append(&b, chunk, (size_t)n);
        }
        close(fd);
        char *resp = buf_steal(&b);
        const char *start = resp ? strstr(resp, "\r\n\r\n") : NULL;
        if (!resp || !start || sscanf(resp, "HTTP/1.1 %d", status) != 1) {
                free(resp);
                return NULL;
        }
        char *out = xstrdup(start + 4);
        free(resp);
        return out;
}

/* No full e-mail address or phone number of customers first.. in the log. */
void harness_assert_log_masked(const struct harness_daemon *d, int first, int n)
{
        char *log = harness_daemon_log(d);
        char email[64], phone[32];

        for (int i = first; i < first + n; i++) {
                harness_email_of(i, email, sizeof(email));
                harness_phone_of(i, phone, sizeof(phone));
                ck_assert_msg(!strstr(log, email), "dunningd-%d log shows e-mail address %s",
                              d->index, email);
                ck_assert_msg(!strstr(log, phone), "dunningd-%d log shows phone number %s",
                              d->index, phone);
                /* without the plus, in case it was written as digits only */
                ck_assert_msg(!strstr(log, phone + 1), "dunningd-%d log shows phone number %s",
                              d->index, phone + 1);
        }
        free(log);
}


/* ---- stand-ins ---- */

static bool file_exists(void *arg)
{
        return access(arg, F_OK) == 0;
}

void harness_standin_start(struct harness *h, struct harness_standin *s, const char *script,
                           const char *port_file, ...)
{
        const char *argv[16];
        char path[512], log[400];
        const char *src = getenv("DUNNINGD_SOURCE_ROOT");
        size_t argc = 0;
        va_list ap;

        ck_assert_msg(src != NULL, "DUNNINGD_SOURCE_ROOT is not set");
        snprintf(path, sizeof(path), "%s/tests/integration/%s", src, script);
        snprintf(log, sizeof(log), "%s/%s.log", h->dir, script);
        argv[argc++] = "/usr/bin/python3";
        argv[argc++] = path;
        va_start(ap, port_file);
        for (const char *a; argc < 15 && (a = va_arg(ap, const char *));)
                argv[argc++] = a;
        va_end(ap);
        argv[argc] = NULL;
        memset(s, 0, sizeof(*s));
        s->pid = spawn(argv, log, NULL);
        ck_assert_msg(harness_wait_until(file_exists, (void *)port_file, 20000),
                      "%s did not start (see %s)", script, log);
        char *p = harness_read_file(port_file);
        s->port = p ? atoi(p) : 0;
        free(p);
        ck_assert_msg(s->port > 0, "%s: no port in %s", script, port_file);
        fprintf(stderr, "harness: started %s on port %d, pid %d\n", script, s->port, (int)s->pid);
}

void harness_standin_stop(struct harness_standin *s)
{
        if (s->pid > 0) {
                kill(s->pid, SIGTERM);
                waitpid(s->pid, NULL, 0);
                s->pid = 0;
        }
}

char *harness_http_request(int port, const char *method, const char *path,
                           const char *content_type, const char *body, int *status)
{
        struct harness_daemon d = { .port = port };
        return http_request(&d, method, path, content_type, body, NULL, status);
}

size_t harness_events_with(struct harness *h, const char *type, const char *field,
                           const char *value)
{
        struct harness_entry *e;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":events", &e), k = 0;
        for (size_t i = 0; i < n; i++) {
                const char *t = harness_entry_get(&e[i], "type");
                const char *v = field ? harness_entry_get(&e[i], field) : NULL;
                if (t && strcmp(t, type) == 0 && (!field || (v && strcmp(v, value) == 0)))
                        k++;
        }
        harness_entries_free(e, n);
        return k;
}

struct event_wait {
        struct harness *h;
        const char *type, *field, *value;
        size_t n;
};

static bool events_reached(void *arg)
{
        struct event_wait *w = arg;
        return harness_events_with(w->h, w->type, w->field, w->value) >= w->n;
}

void harness_wait_events(struct harness *h, const char *type, const char *field,
                         const char *value, size_t n)
{
        struct event_wait w = { h, type, field, value, n };
        ck_assert_msg(harness_wait_until(events_reached, &w, 20000),
                      "%zu %s events with %s=%s, want %zu",
                      harness_events_with(h, type, field, value), type, field ? field : "-",
                      value ? value : "-", n);
}

void harness_open_queue(struct harness *h, struct config **cfg, struct queue **q)
{
        struct error err;
        char url[400];

        *cfg = NULL;
        *q = NULL;
        ck_assert_msg(config_load(cfg, h->config_path, &err) == 0, "%s", err.msg);
        snprintf(url, sizeof(url), "unix://%s", h->sock);
        ck_assert_msg(queue_open(q, url, NULL, HARNESS_PREFIX, NULL, &err) == 0, "%s", err.msg);
}
