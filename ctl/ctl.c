/* ctl.c: dunningctl's verbs: enqueue, status, dead. */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "import.h"
#include "job.h"
#include "preview.h"
#include "queue.h"

#define ENQUEUE_CHUNK 1000

static void usage(FILE *f)
{
        fputs("Usage: dunningctl --config FILE COMMAND [ARGS]\n"
              "\n"
              "Commands:\n"
              "  enqueue FILE.{csv,jsonl,json} [--at TIME] [--dry-run] [--strict]\n"
              "                         validate a campaign and add its jobs to the queue\n"
              "  status                 stream length, backlog, pending per consumer,\n"
              "                         scheduled, dead letters, events\n"
              "  dead list              dead-lettered jobs with their reasons\n"
              "  dead retry ID          put a dead job back on the queue\n"
              "  dead drop ID           delete a dead job\n"
              "  preview JOB.json [--channel C] [--out DIR] [--strict]\n"
              "                         render what a job would send (no Redis); --out\n"
              "                         writes the outbox files, --strict fails on\n"
              "                         variables the templates use but the job lacks\n"
              "  render TEMPLATE.mustache DATA.json [--partials DIR] [--strict]\n"
              "                         render one template with JSON data (no config)\n",
              f);
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_queue(const struct config *cfg, struct queue **q)
{
        struct error err;
        if (queue_open(q, cfg->redis.url, cfg->redis.password, cfg->redis.prefix, NULL, &err) < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                return -1;
        }
        /* An operator's command must not hang on a stuck Redis. */
        queue_set_timeout(*q, 30000);
        return 0;
}

static int cmd_enqueue(const struct config *cfg, int argc, char **argv)
{
        static const struct option opts[] = {
                { "at", required_argument, NULL, 'a' },
                { "dry-run", no_argument, NULL, 'n' },
                { "strict", no_argument, NULL, 's' },
                { 0 },
        };
        int64_t at = 0;
        bool dry = false, strict = false;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        if (job_parse_time(optarg, &at) < 0) {
                                fprintf(stderr, "dunningctl: --at: not an RFC 3339 time: %s\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 'n': dry = true; break;
                case 's': strict = true; break;
                default: usage(stderr); return 2;
                }
        }
        if (optind + 1 != argc) {
                usage(stderr);
                return 2;
        }

        struct import_result res = { 0 };
        struct error err;
        if (import_file(&res, argv[optind], at, &err) < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                import_result_free(&res);
                return 1;
        }
        for (size_t i = 0; i < res.n_errors; i++)
                fprintf(stderr, "%s\n", res.errors[i]);

        int status = res.n_errors ? 2 : 0;
        if (dry || (strict && res.n_errors)) {
                printf("%s: %zu valid, %zu rejected%s\n", argv[optind], res.n_jobs, res.n_errors,
                       dry ? " (dry run, nothing enqueued)" : "; --strict: nothing enqueued");
                import_result_free(&res);
                return status;
        }

        struct queue *q = NULL;
        if (open_queue(cfg, &q) < 0) {
                import_result_free(&res);
                return 1;
        }
        size_t counts[3] = { 0 };
        int64_t now = now_ms();
        for (size_t off = 0; off < res.n_jobs && status != 1; off += ENQUEUE_CHUNK) {
                size_t n = res.n_jobs - off < ENQUEUE_CHUNK ? res.n_jobs - off : ENQUEUE_CHUNK;
                const char *ids[ENQUEUE_CHUNK], *jobs[ENQUEUE_CHUNK];
                int64_t due[ENQUEUE_CHUNK];
                int result[ENQUEUE_CHUNK];
                for (size_t i = 0; i < n; i++) {
                        ids[i] = res.jobs[off + i].job_id;
                        jobs[i] = res.jobs[off + i].json;
                        due[i] = res.jobs[off + i].not_before_ms;
                }
                if (queue_enqueue(q, ids, jobs, due, n, now, cfg->queue.sent_ttl_days * 86400,
                                  result, &err) < 0) {
                        fprintf(stderr, "dunningctl: %s\n", err.msg);
                        status = 1;
                }
                for (size_t i = 0; i < n; i++)
                        if (result[i] >= 0 && result[i] <= 2)
                                counts[result[i]]++;
        }
        printf("enqueued %zu, scheduled %zu, duplicates %zu, rejected %zu\n", counts[1], counts[2],
               counts[0], res.n_errors);
        queue_free(q);
        import_result_free(&res);
        return status;
}

static int cmd_status(const struct config *cfg)
{
        struct queue *q = NULL;
        struct queue_status st;
        struct error err;

        if (open_queue(cfg, &q) < 0)
                return 1;
        if (queue_status(q, &st, &err) < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                queue_free(q);
                return 1;
        }
        printf("jobs       %lld\n", st.jobs);
        if (st.backlog >= 0)
                printf("backlog    %lld\n", st.backlog);
        else
                printf("backlog    %s\n", st.backlog == -1 ? "- (no consumer group yet)" : "unknown");
        printf("pending    %lld\n", st.pending);
        for (size_t i = 0; i < st.n_consumers; i++)
                printf("  %-40s %lld pending, idle %.1fs\n", st.consumers[i].name,
                       st.consumers[i].pending, (double)st.consumers[i].idle_ms / 1000.0);
        printf("scheduled  %lld\n", st.scheduled);
        printf("dead       %lld\n", st.dead);
        printf("events     %lld\n", st.events);
        queue_free(q);
        return 0;
}

static void print_dead(const struct queue_dead *d, void *data)
{
        size_t *n = data;
        (*n)++;
        printf("%s  %s  reason=%s  attempts=%s  error=\"%s\"\n", d->id, d->time ? d->time : "-",
               d->reason ? d->reason : "-", d->attempts ? d->attempts : "-",
               d->error ? d->error : "");
}

static int cmd_dead(const struct config *cfg, int argc, char **argv)
{
        struct queue *q = NULL;
        struct error err;
        int rc = 0;

        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        const char *verb = argv[1];
        if (strcmp(verb, "list") != 0 && argc != 3) {
                usage(stderr);
                return 2;
        }
        if (open_queue(cfg, &q) < 0)
                return 1;
        if (strcmp(verb, "list") == 0) {
                size_t n = 0;
                rc = queue_dead_list(q, 10000, print_dead, &n, &err);
                if (rc == 0)
                        printf("%zu dead-lettered job(s)\n", n);
        } else if (strcmp(verb, "retry") == 0) {
                char *text = NULL;
                rc = queue_dead_get(q, argv[2], &text, &err);
                if (rc == 0) {
                        /* A valid job starts again with no attempts behind it. */
                        struct job *job = NULL;
                        struct error jerr;
                        char *fresh = NULL;
                        if (job_parse(&job, text, strlen(text), &jerr) == 0)
                                fresh = job_json_with_attempt(job, 0);
                        rc = queue_dead_requeue(q, argv[2], fresh ? fresh : text, &err);
                        if (rc == 0)
                                printf("%s: back on the queue%s\n", argv[2],
                                       job ? "" : " (still invalid: it will come back here)");
                        job_free(job);
                        free(fresh);
                        free(text);
                }
        } else if (strcmp(verb, "drop") == 0) {
                rc = queue_dead_drop(q, argv[2], &err);
                if (rc == 0)
                        printf("%s: dropped\n", argv[2]);
        } else {
                usage(stderr);
                queue_free(q);
                return 2;
        }
        if (rc < 0)
                fprintf(stderr, "dunningctl: %s\n", err.msg);
        queue_free(q);
        return rc < 0 ? 1 : 0;
}

int ctl_main(int argc, char **argv)
{
        const char *path = getenv("DUNNINGD_CONFIG");
        int i = 1;

        for (; i < argc && argv[i][0] == '-'; i++) {
                if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) &&
                    i + 1 < argc) {
                        path = argv[++i];
                } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(argv[i], "--version") == 0) {
                        printf("dunningctl %s\n", DUNNINGD_VERSION);
                        return 0;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (i >= argc) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[i], "render") == 0)
                return preview_render_cmd(argc - i, argv + i);
        if (!path)
                path = "/etc/dunningd/dunningd.yaml";

        struct config *cfg = NULL;
        struct error err;
        if (config_load(&cfg, path, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
        }
        int rc;
        const char *cmd = argv[i];
        if (strcmp(cmd, "enqueue") == 0)
                rc = cmd_enqueue(cfg, argc - i, argv + i);
        else if (strcmp(cmd, "status") == 0 && argc - i == 1)
                rc = cmd_status(cfg);
        else if (strcmp(cmd, "dead") == 0)
                rc = cmd_dead(cfg, argc - i, argv + i);
        else if (strcmp(cmd, "preview") == 0)
                rc = preview_job_cmd(cfg, argc - i, argv + i);
        else {
                usage(stderr);
                rc = 2;
        }
        config_free(cfg);
        return rc;
}
