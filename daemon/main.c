/* main.c: dunningd, the service: arguments, config, workers, signals,
 * sd_notify, drain. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "worker.h"

static void usage(FILE *f)
{
        fputs("Usage: dunningd --config FILE [--check-config]\n"
              "       dunningd --version | --help\n"
              "\n"
              "Takes payment-reminder jobs off Redis and sends them by e-mail, SMS or letter.\n"
              "\n"
              "  -c, --config FILE   configuration (YAML), see dunningd.yaml\n"
              "      --check-config  validate the configuration and exit 0 (valid) or 1\n"
              "  -V, --version       print the version\n"
              "  -h, --help          print this help\n",
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
                log_event(LOG_ERR, "config reload refused, keeping the running config", "file",
                          path, "error", err.msg, NULL);
                return;
        }
        struct config *cfg = snap->cfg;
        struct snapshot *cur_snap = atomic_load(&sh->snap);
        struct config *cur = cur_snap->cfg;
        if (strcmp(cur->redis.url, cfg->redis.url) != 0 ||
            strcmp(cur->redis.prefix, cfg->redis.prefix) != 0 || cur->workers != cfg->workers)
                log_event(LOG_WARNING, "redis and workers settings change only on restart", NULL);
        /* Workers may still read the old snapshot: it lives until exit. */
        old->snaps = xrealloc(old->snaps, (old->n + 1) * sizeof(*old->snaps));
        old->snaps[old->n++] = cur_snap;
        log_init(log_level_from_name(cfg->log.level));
        atomic_store(&sh->snap, snap);
        log_event(LOG_INFO, "config reloaded", "file", path, NULL);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, 'C' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        const char *path = NULL;
        bool check = false;
        int c;

        while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
                switch (c) {
                case 'c': path = optarg; break;
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
        struct config *cfg = snap->cfg;
        if (check) {
                printf("%s: configuration and templates are valid\n", path);
                snapshot_free(snap);
                return 0;
        }
        log_init(log_level_from_name(cfg->log.level));

        /* Signals are taken by this thread only, with sigtimedwait. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);

        static struct worker_shared sh;
        atomic_store(&sh.snap, snap);
        int n = cfg->workers;
        struct worker **workers = xcalloc((size_t)n, sizeof(*workers));
        int started = 0;
        for (; started < n; started++) {
                if (worker_start(&workers[started], &sh, started, &err) < 0) {
                        log_event(LOG_ERR, "cannot start workers", "error", err.msg, NULL);
                        atomic_store(&sh.stopping, true);
                        break;
                }
        }
        char nbuf[16];
        snprintf(nbuf, sizeof(nbuf), "%d", n);
        log_event(LOG_INFO, "dunningd started", "version", DUNNINGD_VERSION, "workers", nbuf,
                  "config", path, NULL);
        sd_notifyf(0, "READY=1\nSTATUS=running with %d workers", n);

        struct retired old = { 0 };
        while (!atomic_load(&sh.stopping)) {
                struct timespec ts = { 1, 0 };
                int sig = sigtimedwait(&set, NULL, &ts);
                if (sig == SIGHUP) {
                        sd_notify(0, "RELOADING=1");
                        reload(&sh, path, &old);
                        sd_notify(0, "READY=1");
                } else if (sig == SIGTERM || sig == SIGINT) {
                        atomic_store(&sh.stopping, true);
                }
        }

        snap = atomic_load(&sh.snap);
        cfg = snap->cfg;
        sd_notify(0, "STOPPING=1\nSTATUS=draining");
        log_event(LOG_INFO, "draining", NULL);
        int64_t deadline = now_ms() + cfg->queue.drain_timeout_ms;
        int status = 0;
        for (int i = 0; i < started; i++) {
                if (worker_join(workers[i], deadline) < 0) {
                        log_event(LOG_ERR, "drain timeout: in-flight jobs stay pending and will "
                                           "be redelivered", NULL);
                        /* Threads still run: leave without freeing under them. */
                        return 1;
                }
        }
        for (int i = 0; i < started; i++)
                worker_free(workers[i]);
        free(workers);

        char stats[4][24];
        snprintf(stats[0], sizeof(stats[0]), "%llu", atomic_load(&sh.sent));
        snprintf(stats[1], sizeof(stats[1]), "%llu", atomic_load(&sh.skipped));
        snprintf(stats[2], sizeof(stats[2]), "%llu", atomic_load(&sh.retried));
        snprintf(stats[3], sizeof(stats[3]), "%llu", atomic_load(&sh.dead));
        log_event(LOG_INFO, "dunningd stopped", "sent", stats[0], "skipped", stats[1], "retried",
                  stats[2], "dead", stats[3], NULL);
        for (size_t i = 0; i < old.n; i++)
                snapshot_free(old.snaps[i]);
        free(old.snaps);
        snapshot_free(snap);
        return status;
}
