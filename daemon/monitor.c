/* monitor.c: health, /metrics, /healthz and the STATUS line. */
#include "monitor.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"

#define WINDOW 61   /* samples: one a second, the last minute */
#define REDIS_TIMEOUT_MS 1000

struct sample {
        int64_t t_ms;
        unsigned long long sent, busy_us;
};

struct monitor {
        struct worker_shared *sh;
        int64_t start_ms;

        pthread_mutex_t redis_lock;
        struct queue *q;          /* NULL until needed or after an I/O error */

        pthread_mutex_t ring_lock;
        struct sample ring[WINDOW];
        size_t n, head;           /* head: the next slot to write */
};

void monitor_new(struct monitor **out, struct worker_shared *sh, int64_t start_ms)
{
        struct monitor *m = xcalloc(1, sizeof(*m));
        m->sh = sh;
        m->start_ms = start_ms;
        pthread_mutex_init(&m->redis_lock, NULL);
        pthread_mutex_init(&m->ring_lock, NULL);
        *out = m;
}

void monitor_free(struct monitor *m)
{
        if (!m)
                return;
        queue_free(m->q);
        pthread_mutex_destroy(&m->redis_lock);
        pthread_mutex_destroy(&m->ring_lock);
        free(m);
}

static const struct config *running(const struct monitor *m)
{
        return atomic_load(&m->sh->snap)->cfg;
}

/* Runs fn on the monitor's connection, opening it first when needed and
 * dropping it after an I/O error (the next call connects again). */
static int with_redis(struct monitor *m, int (*fn)(struct queue *, void *, struct error *),
                      void *arg, struct error *err)
{
        pthread_mutex_lock(&m->redis_lock);
        int rc = 0;
        if (!m->q) {
                const struct config *cfg = running(m);
                rc = queue_open_user(&m->q, cfg->redis.url, cfg->redis.username,
                                     cfg->redis.password, cfg->redis.prefix, NULL, err);
                if (rc == 0)
                        queue_set_timeout(m->q, REDIS_TIMEOUT_MS);
        }
        if (rc == 0)
                rc = fn(m->q, arg, err);
        if (rc == -EIO || (rc < 0 && !m->q)) {
                queue_free(m->q);
                m->q = NULL;
        }
        pthread_mutex_unlock(&m->redis_lock);
        return rc;
}

static int do_ping(struct queue *q, void *arg, struct error *err)
{
        return queue_ping(q, err);
}

static int do_status(struct queue *q, void *arg, struct error *err)
{
        return queue_status(q, arg, err);
}

struct renew_args {
        const struct worker_lease *l;
        size_t n;
        int64_t lease_ms;
};

static int do_renew(struct queue *q, void *arg, struct error *err)
{
        struct renew_args *a = arg;
        const char **ids = xcalloc(a->n, sizeof(*ids));
        const char **owners = xcalloc(a->n, sizeof(*owners));
        bool *held = xcalloc(a->n, sizeof(*held));
        for (size_t i = 0; i < a->n; i++) {
                ids[i] = a->l[i].id;
                owners[i] = a->l[i].owner;
        }
        int rc = queue_renew_leases(q, ids, owners, a->n, a->lease_ms, held, err);
        free(ids);
        free(owners);
        free(held);
        return rc;
}

void monitor_keep_leases(struct monitor *m)
{
        struct worker_lease *l = NULL;
        size_t n = worker_leases_copy(m->sh, &l);
        struct error err;
        if (n) {
                struct renew_args a = { l, n, 2 * (int64_t)running(m)->queue.claim_idle_ms };
                if (with_redis(m, do_renew, &a, &err) < 0)
                        log_event(LOG_WARNING, "cannot renew sending leases", "error", err.msg,
                                  NULL);
        }
        free(l);
}

int monitor_redis_check(struct monitor *m, struct error *err)
{
        return with_redis(m, do_ping, NULL, err);
}

int monitor_stalled(const struct monitor *m, int64_t now, char *reason, size_t n)
{
        int64_t limit = running(m)->watchdog_ms;
        int stalled = 0;
        size_t len = 0;

        if (reason && n)
                reason[0] = '\0';
        for (int i = 0; i < m->sh->n_workers; i++) {
                int64_t quiet = now - atomic_load_explicit(&m->sh->beat_ms[i],
                                                           memory_order_relaxed);
                if (quiet <= limit)
                        continue;
                stalled++;
                /* Each part is under 64 bytes: name workers while they fit. */
                if (reason && len + 64 < n)
                        len += (size_t)snprintf(reason + len, n - len,
                                                "%sworker %d: no progress for %.1f s",
                                                len ? "; " : "", i, (double)quiet / 1000.0);
        }
        return stalled;
}

void monitor_tick(struct monitor *m)
{
        struct sample s = {
                .t_ms = worker_clock_ms(),
                .sent = metrics_sent_total(&m->sh->metrics),
                .busy_us = atomic_load(&m->sh->metrics.busy_us),
        };
        pthread_mutex_lock(&m->ring_lock);
        m->ring[m->head] = s;
        m->head = (m->head + 1) % WINDOW;
        if (m->n < WINDOW)
                m->n++;
        pthread_mutex_unlock(&m->ring_lock);
}

/* Reminders per second and the workers' busy share over the ring. */
static void rates(struct monitor *m, double *per_s, double *busy)
{
        *per_s = 0;
        *busy = 0;
        pthread_mutex_lock(&m->ring_lock);
        if (m->n >= 2) {
                const struct sample *last = &m->ring[(m->head + WINDOW - 1) % WINDOW];
                const struct sample *first = &m->ring[(m->head + WINDOW - m->n) % WINDOW];
                double dt = (double)(last->t_ms - first->t_ms) / 1000.0;
                if (dt > 0) {
                        *per_s = (double)(last->sent - first->sent) / dt;
                        *busy = (double)(last->busy_us - first->busy_us) / 1e6 / dt /
                                m->sh->n_workers;
                }
        }
        pthread_mutex_unlock(&m->ring_lock);
        if (*busy > 1)
                *busy = 1;
}

void monitor_status(struct monitor *m, char *out, size_t n)
{
        double per_s, busy;
        rates(m, &per_s, &busy);
        snprintf(out, n, "%d workers, %.1f reminders/s, busy %.0f%% (last minute); %llu sent",
                 m->sh->n_workers, per_s, busy * 100, metrics_sent_total(&m->sh->metrics));
}

static void get_metrics(void *ctx, const struct http_request *req, struct http_response *resp)
{
        struct monitor *m = ctx;
        struct queue_status st;
        struct error err;
        double per_s;
        struct metrics_gauges g = {
                .workers = m->sh->n_workers,
                .start_time_ms = m->start_ms,
        };

        g.redis_up = with_redis(m, do_status, &st, &err) == 0;
        if (g.redis_up) {
                g.queue_depth = st.backlog < 0 ? 0 : st.backlog;
                g.queue_pending = st.pending;
                g.queue_scheduled = st.scheduled;
                g.queue_dead_letters = st.dead;
        }
        g.workers_stalled = monitor_stalled(m, worker_clock_ms(), NULL, 0);
        rates(m, &per_s, &g.busy_ratio);
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        metrics_format(&m->sh->metrics, &g, &resp->body);
}

static void get_healthz(void *ctx, const struct http_request *req, struct http_response *resp)
{
        struct monitor *m = ctx;
        struct error err;
        char stalled[512];
        json_t *o = json_object();
        json_t *problems = json_array();

        if (monitor_redis_check(m, &err) < 0)
                json_array_append_new(problems, json_string(err.msg));
        if (monitor_stalled(m, worker_clock_ms(), stalled, sizeof(stalled)) > 0)
                json_array_append_new(problems, json_string(stalled));
        bool ok = json_array_size(problems) == 0;
        json_object_set_new(o, "status", json_string(ok ? "ok" : "unhealthy"));
        json_object_set_new(o, "workers", json_integer(m->sh->n_workers));
        if (ok)
                json_decref(problems);
        else
                json_object_set_new(o, "reasons", problems);
        char *text = json_dumps(o, JSON_COMPACT);
        resp->status = ok ? 200 : 503;
        resp->content_type = "application/json";
        buf_puts(&resp->body, text);
        buf_putc(&resp->body, '\n');
        free(text);
        json_decref(o);
}

void monitor_routes(struct monitor *m, struct http *h)
{
        http_route(h, "GET", "/metrics", get_metrics, m);
        http_route(h, "GET", "/healthz", get_healthz, m);
}
