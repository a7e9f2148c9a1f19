/* main.c: dunningd, the service: arguments, config, workers, signals,
 * sd_notify, drain. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "http.h"
#include "letter.h"
#include "log.h"
#include "monitor.h"
#include "tracking.h"
#include "ui.h"
#include "webhooks.h"
#include "worker.h"

static void usage(FILE *f)
{
        fputs("Usage: dunningd --config FILE [--check-config] [--log-level LEVEL]\n"
              "       dunningd --version | --help\n"
              "\n"
              "Takes payment-reminder jobs off Redis and sends them by e-mail, SMS or letter.\n"
              "Serves /metrics and /healthz on the config's listen address.\n"
              "\n"
              "  -c, --config FILE      configuration (YAML), see dunningd.yaml(5)\n"
              "      --check-config     validate the configuration and exit 0 (valid) or 1\n"
              "  -l, --log-level LEVEL  debug, info, warning or error; overrides log.level\n"
              "  -V, --version          print the version\n"
              "  -h, --help             print this help\n"
              "\n"
              "Exit status: 0 after a clean stop, 1 on a configuration or start-up error or a\n"
              "drain timeout, 2 on a usage error.\n",
              f);
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct retired {
        struct snapshot **snaps;
        size_t n;
};

static int log_override = -1;   /* --log-level, kept across reloads */

static void apply_log_level(const struct config *cfg)
{
        log_init(log_override >= 0 ? log_override : log_level_from_name(cfg->log.level));
}

/* The config file and the templates it names, both valid, or an error. */
static int load(struct snapshot **out, const char *path, struct error *err)
{
        struct config *cfg = NULL;
        int rc = config_load(&cfg, path, err);
        if (rc == 0 && (rc = snapshot_new(out, cfg, err)) < 0)
                config_free(cfg);
        return rc;
}

/* SIGHUP: load the new file and templates; keep the old ones when either
 * is invalid. */
static void reload(struct worker_shared *sh, const char *path, struct retired *old)
{
        struct snapshot *snap = NULL;
        struct error err;

        if (load(&snap, path, &err) < 0) {
                atomic_fetch_add(&sh->metrics.reloads_refused, 1);
                log_event(LOG_ERR, "config reload refused, keeping the running config", "file",
                          path, "error", err.msg, NULL);
                return;
        }
        struct config *cfg = snap->cfg;
        struct snapshot *cur_snap = atomic_load(&sh->snap);
        struct config *cur = cur_snap->cfg;
        if (strcmp(cur->redis.url, cfg->redis.url) != 0 ||
            strcmp(cur->redis.prefix, cfg->redis.prefix) != 0 || cur->workers != cfg->workers ||
            strcmp(cur->listen, cfg->listen) != 0)
                log_event(LOG_WARNING, "redis, workers and listen settings change only on restart",
                          NULL);
        /* Workers may still read the old snapshot: it lives until exit. */
        old->snaps = xrealloc(old->snaps, (old->n + 1) * sizeof(*old->snaps));
        old->snaps[old->n++] = cur_snap;
        apply_log_level(cfg);
        atomic_store(&sh->snap, snap);
        atomic_fetch_add(&sh->metrics.reloads_ok, 1);
        log_event(LOG_INFO, "config reloaded", "file", path, NULL);
}

/* Waits up to ms for a signal; handles it. False once the daemon stops. */
static bool wait_signal(struct worker_shared *sh, const sigset_t *set, int64_t ms,
                        const char *path, struct retired *old)
{
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGHUP) {
                sd_notify(0, "RELOADING=1");
                reload(sh, path, old);
                sd_notify(0, "READY=1");
        } else if (sig == SIGTERM || sig == SIGINT) {
                atomic_store(&sh->stopping, true);
        }
        return !atomic_load(&sh->stopping);
}

/* The main thread's life: wait until Redis answers, then tell systemd we
 * are ready, and until a stop signal: take signals, sample the counters,
 * refresh STATUS, and ping the watchdog only while no worker is stuck. */
static void supervise(struct worker_shared *sh, struct monitor *mon, const sigset_t *set,
                      const char *path, struct retired *old)
{
        struct error err;
        char status[256], stuck[512];
        bool warned = false;

        /* READY=1 means the templates loaded (they did, before workers
         * started) and Redis answers. */
        while (monitor_redis_check(mon, &err) < 0) {
                if (!warned)
                        log_event(LOG_WARNING, "waiting for redis", "error", err.msg, NULL);
                warned = true;
                sd_notifyf(0, "STATUS=waiting for Redis: %s", err.msg);
                if (!wait_signal(sh, set, 1000, path, old))
                        return;
        }
        monitor_tick(mon);
        monitor_status(mon, status, sizeof(status));
        sd_notifyf(0, "READY=1\nSTATUS=%s", status);
        log_event(LOG_INFO, "ready", NULL);

        uint64_t wd_usec = 0;
        int64_t wd_ms = sd_watchdog_enabled(0, &wd_usec) > 0 ? (int64_t)(wd_usec / 1000) : 0;
        int64_t step = 1000, last_tick = worker_clock_ms(), last_status = last_tick;
        int64_t last_ping = 0, last_keep = last_tick;
        bool was_stuck = false;
        if (wd_ms > 0 && wd_ms / 4 < step)
                step = wd_ms / 4 > 10 ? wd_ms / 4 : 10;

        do {
                int64_t now = worker_clock_ms();
                /* Leases last 2 x claim_idle_ms: renewed every third of it. */
                int64_t lease = 2 * (int64_t)atomic_load(&sh->snap)->cfg->queue.claim_idle_ms;
                if (now - last_keep >= lease / 3) {
                        monitor_keep_leases(mon);
                        last_keep = now;
                }
                if (lease / 4 < step)
                        step = lease / 4 > 10 ? lease / 4 : 10;
                if (now - last_tick >= 1000) {
                        monitor_tick(mon);
                        last_tick = now;
                }
                bool is_stuck = monitor_stalled(mon, now, stuck, sizeof(stuck)) > 0;
                if (is_stuck != was_stuck)
                        log_event(is_stuck ? LOG_ERR : LOG_INFO,
                                  is_stuck ? "worker stuck: watchdog pings withheld"
                                           : "workers make progress again",
                                  "detail", is_stuck ? stuck : NULL, NULL);
                was_stuck = is_stuck;
                if (wd_ms > 0 && !is_stuck && now - last_ping >= wd_ms / 2) {
                        sd_notify(0, "WATCHDOG=1");
                        last_ping = now;
                }
                if (now - last_status >= 5000) {
                        monitor_status(mon, status, sizeof(status));
                        if (is_stuck)
                                snprintf(status + strlen(status), sizeof(status) - strlen(status),
                                         "; STUCK: %.120s", stuck);
                        sd_notifyf(0, "STATUS=%s", status);
                        last_status = now;
                }
        } while (wait_signal(sh, set, step, path, old));
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, 'C' },
                { "log-level", required_argument, NULL, 'l' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        const char *path = NULL;
        bool check = false;
        int c;

        /* Every batch a worker frees its buffers (the MULTI it sent, a few
         * hundred KB) and glibc hands the top of the thread's heap back
         * with madvise, to fault it in again the next batch: a TLB
         * shootdown on every core each time (in a VM, a twentieth of the
         * CPU). 512 KiB per heap holds a batch's buffers; it costs about half a
         * MiB of peak RSS (bench/RESULTS.md). */
        mallopt(M_TRIM_THRESHOLD, 512 << 10);
        mallopt(M_MMAP_THRESHOLD, 512 << 10);

        while ((c = getopt_long(argc, argv, "c:l:Vh", opts, NULL)) != -1) {
                switch (c) {
                case 'c': path = optarg; break;
                case 'l':
                        log_override = log_level_from_name(optarg);
                        if (log_override < 0) {
                                fprintf(stderr, "dunningd: --log-level %s: must be debug, info, "
                                                "warning or error\n", optarg);
                                return 2;
                        }
                        break;
                case 'C': check = true; break;
                case 'V': printf("dunningd %s\n", DUNNINGD_VERSION); return 0;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (!path || optind != argc) {
                usage(stderr);
                return 2;
        }

        struct snapshot *snap = NULL;
        struct error err;
        if (load(&snap, path, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
        }
        /* Letters are made by a module loaded on the first one: missing,
         * it is an error now, not a letter dead-lettered hours later.
         * --check-config loads it too (a short-lived process: the PDF
         * stack's memory does not matter there), proving it loads. */
        char module[4096];
        if ((check ? letter_module_load(&err)
                   : letter_module_find(module, sizeof(module), &err)) < 0) {
                fprintf(stderr, "dunningd: %s\n", err.msg);
                snapshot_free(snap);
                return 1;
        }
        struct config *cfg = snap->cfg;
        if (check) {
                printf("%s: configuration and templates are valid\n", path);
                snapshot_free(snap);
                return 0;
        }
        apply_log_level(cfg);

        /* Signals are taken by this thread only, with sigtimedwait. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);

        static struct worker_shared sh;
        int n = cfg->workers;
        atomic_store(&sh.snap, snap);
        sh.n_workers = n;
        sh.beat_ms = xcalloc((size_t)n, sizeof(*sh.beat_ms));
        pthread_mutex_init(&sh.lease_lock, NULL);
        for (int i = 0; i < n; i++)
                atomic_store(&sh.beat_ms[i], worker_clock_ms());

        /* /metrics and /healthz first: a port that is taken is a
         * configuration error to report before anything runs. */
        struct monitor *mon = NULL;
        struct webhooks *hooks = NULL;
        struct ui *ui = NULL;
        struct http *http = NULL;
        monitor_new(&mon, &sh, now_ms());
        webhooks_new(&hooks, &sh);
        ui_new(&ui, &sh);
        if (http_new(&http, cfg->listen, &http_default_limits, &err) == 0) {
                monitor_routes(mon, http);
                webhooks_routes(hooks, http, cfg);
                ui_routes(ui, http, cfg);
                http_start(http, &err);
        }
        if (!http || http_port(http) == 0) {
                log_event(LOG_ERR, "cannot serve /metrics and /healthz", "listen", cfg->listen,
                          "error", err.msg, NULL);
                http_free(http);
                webhooks_free(hooks);
                ui_free(ui);
                monitor_free(mon);
                snapshot_free(snap);
                free(sh.beat_ms);
                return 1;
        }

        struct worker **workers = xcalloc((size_t)n, sizeof(*workers));
        int started = 0;
        for (; started < n; started++) {
                if (worker_start(&workers[started], &sh, started, &err) < 0) {
                        log_event(LOG_ERR, "cannot start workers", "error", err.msg, NULL);
                        atomic_store(&sh.stopping, true);
                        break;
                }
        }
        /* Payments in: a thread of its own beside the workers. */
        struct tracking *payments = NULL;
        if (started == n && tracking_start(&payments, &sh, &err) < 0) {
                log_event(LOG_ERR, "cannot start the payments thread", "error", err.msg, NULL);
                atomic_store(&sh.stopping, true);
        }
        char nbuf[16], port[16];
        snprintf(nbuf, sizeof(nbuf), "%d", n);
        snprintf(port, sizeof(port), "%d", http_port(http));
        log_event(LOG_INFO, "dunningd started", "version", DUNNINGD_VERSION, "workers", nbuf,
                  "config", path, "listen", cfg->listen, NULL);

        struct retired old = { 0 };
        supervise(&sh, mon, &set, path, &old);

        snap = atomic_load(&sh.snap);
        cfg = snap->cfg;
        sd_notify(0, "STOPPING=1\nSTATUS=draining");
        log_event(LOG_INFO, "draining", NULL);
        int64_t deadline = now_ms() + cfg->queue.drain_timeout_ms;
        for (int i = 0; i < started; i++) {
                if (worker_join(workers[i], deadline) < 0) {
                        log_event(LOG_ERR, "drain timeout: in-flight jobs stay pending and will "
                                           "be redelivered", NULL);
                        /* Threads still run: leave without freeing under them. */
                        return 1;
                }
        }
        if (payments && tracking_join(payments, deadline) < 0) {
                log_event(LOG_ERR, "drain timeout: the payment being applied stays pending and "
                                   "will be redelivered", NULL);
                return 1;
        }
        /* The handlers read the snapshot and the counters: stop them first. */
        http_free(http);
        for (int i = 0; i < started; i++)
                worker_free(workers[i]);
        free(workers);
        tracking_free(payments);

        const struct metrics *m = &sh.metrics;
        char stats[4][24];
        snprintf(stats[0], sizeof(stats[0]), "%llu", metrics_sent_total(m));
        snprintf(stats[1], sizeof(stats[1]), "%llu", metrics_skipped_total(m));
        snprintf(stats[2], sizeof(stats[2]), "%llu", metrics_failed_total(m, METRICS_FAIL_TEMPORARY));
        snprintf(stats[3], sizeof(stats[3]), "%llu", metrics_dead_total(m));
        log_event(LOG_INFO, "dunningd stopped", "sent", stats[0], "skipped", stats[1], "retried",
                  stats[2], "dead", stats[3], NULL);
        webhooks_free(hooks);
        ui_free(ui);
        monitor_free(mon);
        for (size_t i = 0; i < old.n; i++)
                snapshot_free(old.snaps[i]);
        free(old.snaps);
        snapshot_free(snap);
        free(sh.beat_ms);
        free(sh.leases);
        /* Not every thread started: a failure systemd should restart. */
        return started == n && payments ? 0 : 1;
}
