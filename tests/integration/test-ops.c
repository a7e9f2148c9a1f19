/* test-ops.c: what operators and systemd see of a running dunningd:
 * /metrics read by prometheus_client's parser, /healthz through a Redis
 * outage, and the sd_notify protocol (READY, STATUS, WATCHDOG, STOPPING)
 * with this test as the notify socket, including a worker stuck on purpose
 * on an SMTP server that never answers. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "harness.h"

static const char *source_root(void)
{
        const char *s = getenv("DUNNINGD_SOURCE_ROOT");
        ck_assert_msg(s != NULL, "DUNNINGD_SOURCE_ROOT is not set");
        return s;
}

/* Runs cmd through the shell: its exit code and its output (owned). */
static int run(const char *cmd, char **out)
{
        FILE *p = popen(cmd, "r");
        struct buf b = BUF_INIT;
        char chunk[4096];
        size_t n;

        ck_assert_msg(p != NULL, "%s: %s", cmd, strerror(errno));
        while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
                buf_append(&b, chunk, n);
        int st = pclose(p);
        *out = buf_steal(&b);
        if (!*out)
                *out = xstrdup("");
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

struct http_wait {
        const struct harness_daemon *d;
        const char *path;
        int want;
        const char *needle;      /* in the body too, when not NULL */
        char *body;              /* the last body seen (owned) */
        int status;
};

static bool http_is(void *arg)
{
        struct http_wait *w = arg;
        free(w->body);
        w->body = harness_http(w->d, "GET", w->path, &w->status);
        return w->status == w->want && (!w->needle || (w->body && strstr(w->body, w->needle)));
}

/* Waits until GET path answers want (and shows needle); fails otherwise. */
static char *wait_http(const struct harness_daemon *d, const char *path, int want,
                       const char *needle, int timeout_ms)
{
        struct http_wait w = { .d = d, .path = path, .want = want, .needle = needle };
        bool ok = harness_wait_until(http_is, &w, timeout_ms);
        ck_assert_msg(ok, "GET %s: %d %s, expected %d %s", path, w.status,
                      w.body ? w.body : "(nothing)", want, needle ? needle : "");
        return w.body;
}

START_TEST(test_metrics_after_a_run)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        free(wait_http(d, "/healthz", 200, "\"ok\"", 20000));

        harness_enqueue(h, 0, 30, NULL);
        /* A producer's broken job: dead-lettered as invalid. */
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", "{\"v\":1}");
        size_t sent = harness_wait_sent(h, 30, 30000);
        ck_assert_int_eq(sent, 30);
        ck_assert_int_eq(harness_wait_no_pending(h, 10000), 0);

        int status;
        char *text = harness_http(d, "GET", "/metrics", &status);
        ck_assert_int_eq(status, 200);
        char *file = harness_write_file(h, "scrape.prom", text);

        /* Customers i % 3 == 0, 1, 2 prefer e-mail, SMS, letter: 10 each. */
        char cmd[2048], *out;
        snprintf(cmd, sizeof(cmd),
                 "/usr/bin/python3 %s/tests/data/metrics_check.py %s "
                 "'dunningd_reminders_sent_total{channel=\"email\",step=\"reminder-1\"}=10' "
                 "'dunningd_reminders_sent_total{channel=\"sms\",step=\"reminder-1\"}=10' "
                 "'dunningd_reminders_sent_total{channel=\"letter\",step=\"reminder-1\"}=10' "
                 "'dunningd_dispatch_duration_seconds_count{channel=\"email\"}=10' "
                 "'dunningd_dispatch_duration_seconds_count{channel=\"letter\"}=10' "
                 "'dunningd_reminders_failed_total{channel=\"none\",reason=\"invalid\"}=1' "
                 "'dunningd_dead_lettered_total{reason=\"invalid\"}=1' "
                 "'dunningd_reminders_skipped_total{reason=\"already-sent\"}=0' "
                 "'dunningd_queue_dead_letters=1' 'dunningd_queue_pending=0' "
                 "'dunningd_queue_depth=0' 'dunningd_redis_up=1' 'dunningd_workers=2' "
                 "'dunningd_workers_stalled=0' 2>&1",
                 source_root(), file);
        int rc = run(cmd, &out);
        ck_assert_msg(rc == 0, "%s", out);
        free(out);

        /* The shipped dashboard and alert rules use only names it exports. */
        snprintf(cmd, sizeof(cmd),
                 "/usr/bin/python3 %s/tests/data/ops_refs.py %s %s/config/grafana-dashboard.json "
                 "%s/config/dunningd-alerts.yml 2>&1",
                 source_root(), file, source_root(), source_root());
        rc = run(cmd, &out);
        ck_assert_msg(rc == 0, "%s", out);
        free(out);

        /* No customer data in labels; none in the log either. */
        ck_assert_ptr_null(strstr(text, "C-1"));
        ck_assert_ptr_null(strstr(text, "INV-"));
        ck_assert_ptr_null(strstr(text, "@"));
        harness_assert_log_masked(d, 0, 30);
        /* One log line per send, with the fields an operator filters on. */
        ck_assert_int_eq(harness_daemon_log_lines(d, "msg=sent", "reminder=r-", "channel=",
                                                  "outcome=sent", "duration_ms=", NULL),
                         30);
        free(text);
        free(file);

        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

START_TEST(test_healthz_follows_redis)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        char *body = wait_http(d, "/healthz", 200, NULL, 20000);
        ck_assert_str_eq(body, "{\"status\":\"ok\",\"workers\":2}\n");
        free(body);

        harness_redis_stop(h);
        body = wait_http(d, "/healthz", 503, "redis", 10000);
        ck_assert_ptr_nonnull(strstr(body, "\"status\":\"unhealthy\""));
        free(body);
        /* /metrics still answers, and says why the queue gauges are gone. */
        int status;
        char *text = harness_http(d, "GET", "/metrics", &status);
        ck_assert_int_eq(status, 200);
        ck_assert_ptr_nonnull(strstr(text, "\ndunningd_redis_up 0\n"));
        ck_assert_ptr_null(strstr(text, "dunningd_queue_depth"));
        free(text);

        harness_redis_start(h);
        free(wait_http(d, "/healthz", 200, NULL, 15000));
        /* And the workers reconnected: a job goes through. */
        harness_enqueue(h, 0, 3, NULL);
        ck_assert_int_eq(harness_wait_sent(h, 3, 20000), 3);
        text = harness_http(d, "GET", "/metrics", &status);
        ck_assert_ptr_nonnull(strstr(text, "\ndunningd_redis_up 1\n"));
        ck_assert_ptr_null(strstr(text, "\ndunningd_redis_reconnects_total 0\n"));
        free(text);

        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

/* ---- sd_notify ---- */

struct notify {
        int fd;
        char path[400];
        struct buf seen;          /* every message, each ending in "\n--\n" */
};

static void notify_open(struct notify *n, const struct harness *h)
{
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        snprintf(n->path, sizeof(n->path), "%s/notify.sock", h->dir);
        ck_assert_msg(strlen(n->path) < sizeof(a.sun_path), "%s: path too long", n->path);
        strcpy(a.sun_path, n->path);
        n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(n->fd, 0);
        ck_assert_msg(bind(n->fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %s: %s", n->path,
                      strerror(errno));
        buf_reset(&n->seen);
}

/* Reads messages for ms; returns how many contain needle. */
static int notify_collect(struct notify *n, int ms, const char *needle)
{
        int64_t end = harness_now_ms() + ms;
        int count = 0;
        for (;;) {
                int64_t left = end - harness_now_ms();
                if (left <= 0)
                        break;
                struct pollfd p = { .fd = n->fd, .events = POLLIN };
                if (poll(&p, 1, (int)left) <= 0)
                        continue;
                char msg[4096];
                ssize_t len = recv(n->fd, msg, sizeof(msg) - 1, 0);
                if (len <= 0)
                        continue;
                msg[len] = '\0';
                buf_printf(&n->seen, "%s\n--\n", msg);
                count += needle && strstr(msg, needle) != NULL;
        }
        return count;
}

/* Drops the messages queued so far. */
static void notify_drain(struct notify *n)
{
        char msg[4096];
        while (recv(n->fd, msg, sizeof(msg), MSG_DONTWAIT) > 0)
                ;
        buf_reset(&n->seen);
}

/* Reads until a message contains needle; fails after ms. */
static void notify_expect(struct notify *n, int ms, const char *needle)
{
        int64_t end = harness_now_ms() + ms;
        while (harness_now_ms() < end)
                if (notify_collect(n, 100, needle) > 0)
                        return;
        ck_abort_msg("no %s from dunningd within %d ms; got:\n%s", needle, ms,
                     buf_str(&n->seen));
}

START_TEST(test_sd_notify_and_watchdog)
{
        struct harness *h = harness_new();
        struct harness_config c;
        struct notify n = { .seen = BUF_INIT };

        /* An SMTP "server" that takes connections into its backlog and never
         * answers: the worker that sends there is stuck in its greeting
         * read (timeout 20 s) until the socket is closed. */
        int hole = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET };
        socklen_t alen = sizeof(a);
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        ck_assert_int_eq(bind(hole, (struct sockaddr *)&a, sizeof(a)), 0);
        ck_assert_int_eq(listen(hole, 16), 0);
        ck_assert_int_eq(getsockname(hole, (struct sockaddr *)&a, &alen), 0);
        char email[256];
        snprintf(email, sizeof(email),
                 "transport: smtp, smtp: { host: 127.0.0.1, port: %d, tls: none, "
                 "timeout_ms: 20000 }", ntohs(a.sin_port));
        harness_config_defaults(&c);
        c.email_yaml = email;
        c.watchdog_ms = 1000;
        harness_config_write(h, &c);

        notify_open(&n, h);
        setenv("NOTIFY_SOCKET", n.path, 1);
        setenv("WATCHDOG_USEC", "1000000", 1);
        struct harness_daemon *d = harness_daemon_start(h);
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");

        notify_expect(&n, 20000, "READY=1");
        ck_assert_msg(strstr(buf_str(&n.seen), "STATUS=2 workers, "), "%s", buf_str(&n.seen));
        /* Healthy: a ping every half interval (500 ms). */
        int pings = notify_collect(&n, 2000, "WATCHDOG=1");
        ck_assert_msg(pings >= 2 && pings <= 6, "%d pings in 2 s", pings);
        free(wait_http(d, "/healthz", 200, NULL, 5000));

        /* Customer 0 prefers e-mail: its worker gets stuck. */
        harness_enqueue(h, 0, 1, NULL);
        char *body = wait_http(d, "/healthz", 503, "no progress", 10000);
        ck_assert_ptr_nonnull(strstr(body, "worker "));
        free(body);
        int status;
        char *text = harness_http(d, "GET", "/metrics", &status);
        ck_assert_ptr_nonnull(strstr(text, "\ndunningd_workers_stalled 1\n"));
        free(text);
        /* No ping while a worker is stuck (the other one idles fine), and
         * STATUS says so within its 5 s refresh. Pings sent before the
         * stall was seen are still queued: drop them first. */
        notify_drain(&n);
        pings = notify_collect(&n, 5500, "WATCHDOG=1");
        ck_assert_msg(pings == 0, "%d watchdog pings while a worker was stuck", pings);
        ck_assert_msg(strstr(buf_str(&n.seen), "STUCK: worker "), "%s", buf_str(&n.seen));
        ck_assert(harness_daemon_log_has(d, "watchdog pings withheld"));

        /* The server goes away: the connection is reset, the send fails
         * (temporary), the worker moves on and the pings come back. */
        close(hole);
        notify_expect(&n, 10000, "WATCHDOG=1");
        free(wait_http(d, "/healthz", 200, NULL, 10000));
        ck_assert(harness_daemon_log_has(d, "workers make progress again"));

        harness_daemon_signal(d, SIGTERM);
        notify_expect(&n, 10000, "STOPPING=1");
        ck_assert_int_eq(harness_daemon_wait(d, 10000), 0);
        close(n.fd);
        buf_free(&n.seen);
        harness_free(h);
}
END_TEST

START_TEST(test_port_in_use_is_a_start_error)
{
        struct harness *h = harness_new();
        /* Something else holds the configured port. */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)h->listen_port) };
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        ck_assert_int_eq(listen(fd, 1), 0);

        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_int_eq(harness_daemon_wait(d, 20000), 1);
        char port[16];
        snprintf(port, sizeof(port), "%d", h->listen_port);
        ck_assert_int_eq(harness_daemon_log_lines(d, "cannot serve /metrics and /healthz",
                                                  port, NULL),
                         1);
        /* Nothing was started: no consumer registered in the group. */
        ck_assert_int_eq(harness_consumers_of(h, d->pid), 0);
        close(fd);
        harness_free(h);
}
END_TEST

/* Whether d's process maps a file whose path contains needle. */
static bool maps_has(const struct harness_daemon *d, const char *needle)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/maps", (int)d->pid);
        char *maps = harness_read_file(path);
        ck_assert_ptr_nonnull(maps);
        bool has = strstr(maps, needle) != NULL;
        free(maps);
        return has;
}

/* The PDF stack is loaded with the first letter, not before: a dunningd
 * that has sent an e-mail maps neither the letter module nor cairo. */
START_TEST(test_letter_module_loaded_with_first_letter)
{
        struct harness *h = harness_new();
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_str_eq(harness_channel_of(3), "email");
        harness_enqueue(h, 3, 1, NULL);
        ck_assert_uint_eq(harness_wait_sent(h, 1, 20000), 1);
        ck_assert(!maps_has(d, "dunningd-letter.so"));
        ck_assert(!maps_has(d, "libcairo"));
        ck_assert(!maps_has(d, "libpango"));

        ck_assert_str_eq(harness_channel_of(2), "letter");
        harness_enqueue(h, 2, 1, NULL);
        ck_assert_uint_eq(harness_wait_sent(h, 2, 20000), 2);
        ck_assert(harness_outbox_has(h, 2));
        ck_assert(maps_has(d, "dunningd-letter.so"));
        ck_assert(maps_has(d, "libcairo"));
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

/* Without the module dunningd does not start (nor passes --check-config):
 * the operator learns it at once, with the path looked at. */
START_TEST(test_missing_letter_module_is_a_start_error)
{
        struct harness *h = harness_new();
        ck_assert_int_eq(setenv("DUNNINGD_LETTER_MODULE", "/nonexistent/dunningd-letter.so", 1),
                         0);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_int_eq(harness_daemon_wait(d, 20000), 1);
        ck_assert_int_eq(harness_daemon_log_lines(d, "letter module",
                                                  "/nonexistent/dunningd-letter.so",
                                                  "No such file", NULL),
                         1);
        ck_assert_int_eq(harness_consumers_of(h, d->pid), 0);
        harness_free(h);
}
END_TEST

/* Runs `[env] dunningd --check-config` on h's config: its exit status
 * (-1 when it did not exit), its output into out. */
static int check_config(struct harness *h, const char *env, char *out, size_t n)
{
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "%s '%s/dunningd' --check-config --config '%s' 2>&1",
                 env, getenv("DUNNINGD_BUILD_ROOT"), h->config_path);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        size_t len = fread(out, 1, n - 1, p);
        out[len] = '\0';
        int st = pclose(p);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* --check-config loads the module (start only looks for it): one of
 * another build fails the check, saying to restart after an upgrade. */
START_TEST(test_check_config_loads_the_letter_module)
{
        struct harness *h = harness_new();
        const char *fake = getenv("DUNNINGD_FAKE_LETTER_MODULE");
        ck_assert_msg(fake && *fake, "DUNNINGD_FAKE_LETTER_MODULE is not set (run by meson)");
        char env[512], out[2048];
        snprintf(env, sizeof(env), "DUNNINGD_LETTER_MODULE='%s'", fake);
        int st = check_config(h, env, out, sizeof(out));
        ck_assert_msg(st == 1, "status %d: %s", st, out);
        ck_assert_msg(strstr(out, "built for 0.0.0-other") && strstr(out, "restart dunningd"),
                      "%s", out);
        /* The build's own module passes. */
        st = check_config(h, "", out, sizeof(out));
        ck_assert_msg(st == 0, "status %d: %s", st, out);
        harness_free(h);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("ops");
        TCase *tc = tcase_create("ops");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_metrics_after_a_run);
        tcase_add_test(tc, test_healthz_follows_redis);
        tcase_add_test(tc, test_sd_notify_and_watchdog);
        tcase_add_test(tc, test_port_in_use_is_a_start_error);
        tcase_add_test(tc, test_letter_module_loaded_with_first_letter);
        tcase_add_test(tc, test_missing_letter_module_is_a_start_error);
        tcase_add_test(tc, test_check_config_loads_the_letter_module);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(suite());
}
