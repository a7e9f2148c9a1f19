/* holds.c: `dunningctl hold`, `release`, `arrange`, `arrangements`; the
 * work is done by daemon/hold.c and daemon/arrangements.c, this file reads
 * the arguments and prints. */
#include "holds.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrangements.h"
#include "buf.h"
#include "civil.h"
#include "config.h"
#include "ctl.h"
#include "hold.h"
#include "job.h"
#include "queue.h"
#include "stats_cmd.h"

#define JOB_FILE_MAX (64 * 1024)

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void money(char *out, size_t n, int64_t cents)
{
        snprintf(out, n, "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "",
                 (cents < 0 ? -cents : cents) / 100, (cents < 0 ? -cents : cents) % 100);
}

/* dunningd reads holds and arrangements with the history before a batch
 * (history.enabled): without it they would be written and never obeyed. */
static bool history_needed(const struct config *cfg, const char *cmd)
{
        if (cfg->history.enabled)
                return true;
        fprintf(stderr, "dunningctl %s: history.enabled is false in the config; dunningd reads "
                        "holds and arrangements with the history, so nothing would stop the "
                        "reminders\n", cmd);
        return false;
}

/* The target of hold/release: one INVOICE argument or --customer ID. */
static int target_of(const char *cmd, int argc, char **argv, const char *customer,
                     struct hold_target *t)
{
        int left = argc - optind;
        const char *id = customer ? customer : left == 1 ? argv[optind] : NULL;
        if (id && (!id[0] || strlen(id) > 128 || strpbrk(id, " \t\r\n")))
                return ctl_usage_error(cmd, "%s: 1 to 128 bytes without spaces: \"%s\"",
                                       customer ? "--customer" : "INVOICE", id);
        if (customer && left == 0) {
                *t = (struct hold_target){ "customer", customer };
                return 0;
        }
        if (!customer && left == 1) {
                *t = (struct hold_target){ "invoice", argv[optind] };
                return 0;
        }
        return ctl_usage_error(cmd, customer ? "an INVOICE or --customer, not both"
                                    : left ? "one invoice only"
                                           : "which invoice (or --customer ID)?");
}

int holds_hold_cmd(const struct config *cfg, int argc, char **argv, bool json)
{
        static const struct option opts[] = {
                { "customer", required_argument, NULL, 'c' },
                { "reason", required_argument, NULL, 'r' },
                { "until", required_argument, NULL, 'u' },
                { "note", required_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },
                { 0 },
        };
        struct hold h = { .reason = HOLD_OTHER };
        const char *customer = NULL;
        bool reason = false;
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                switch (c) {
                case 'c': customer = optarg; break;
                case 'r': {
                        int r = hold_reason_from_name(optarg);
                        if (r < 0)
                                return ctl_usage_error("hold", "--reason: must be dispute, "
                                                               "arrangement or other: %s", optarg);
                        h.reason = (enum hold_reason)r;
                        reason = true;
                        break;
                }
                case 'u':
                        if (stats_parse_since(optarg, &h.until_ms) < 0 || h.until_ms <= 0)
                                return ctl_usage_error("hold", "--until: not a date (YYYY-MM-DD) "
                                                               "or RFC 3339 time: %s", optarg);
                        break;
                case 'n':
                        if (strlen(optarg) > HOLD_NOTE_MAX)
                                return ctl_usage_error("hold", "--note: at most %d bytes",
                                                       HOLD_NOTE_MAX);
                        snprintf(h.note, sizeof(h.note), "%s", optarg);
                        break;
                case 'j': json = true; break;
                default: return ctl_bad_option("hold", c, argv);
                }
        }
        struct hold_target t;
        int rc = target_of("hold", argc, argv, customer, &t);
        if (rc)
                return rc;
        if (!reason)
                return ctl_usage_error("hold", "--reason is required (dispute, arrangement, "
                                               "other)");
        h.since_ms = now_ms();
        if (h.until_ms && h.until_ms <= h.since_ms)
                return ctl_usage_error("hold", "--until: is in the past");
        if (!history_needed(cfg, "hold"))
                return CTL_FAIL;

        struct queue *q = NULL;
        struct error err;
        struct hold_put_result res;
        if (ctl_open_queue(cfg, &q) < 0)
                return CTL_FAIL;
        rc = hold_put(q, cfg, &t, &h, &res, &err);
        queue_free(q);
        if (rc < 0) {
                fprintf(stderr, "dunningctl hold: %s\n", err.msg);
                return CTL_FAIL;
        }
        char until[40] = "released";
        if (h.until_ms)
                job_format_time(h.until_ms, until);
        if (json)
                return ctl_print_json(json_pack("{sosososssosIsb}", t.kind, ctl_jstr(t.id),
                                                "reason", ctl_jstr(hold_reason_name(h.reason)),
                                                "until", h.until_ms ? ctl_jstr(until) : json_null(),
                                                "note", h.note, "customer",
                                                res.customer[0] ? ctl_jstr(res.customer)
                                                                : json_null(),
                                                "disputes", (json_int_t)res.disputes, "flagged",
                                                res.flagged));
        printf("held: %s %s (%s) until %s\n", t.kind, t.id, hold_reason_name(h.reason), until);
        if (res.customer[0])
                printf("disputes: customer %s has %" PRId64 "%s\n", res.customer, res.disputes,
                       res.flagged ? "; flagged for a person to look at" : "");
        else if (h.reason == HOLD_DISPUTE)
                printf("disputes: not counted, dunningd does not know the invoice's customer "
                       "yet\n");
        return CTL_OK;
}

int holds_release_cmd(const struct config *cfg, int argc, char **argv, bool json)
{
        static const struct option opts[] = {
                { "customer", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { 0 },
        };
        const char *customer = NULL;
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                switch (c) {
                case 'c': customer = optarg; break;
                case 'j': json = true; break;
                default: return ctl_bad_option("release", c, argv);
                }
        }
        struct hold_target t;
        int rc = target_of("release", argc, argv, customer, &t);
        if (rc)
                return rc;
        struct queue *q = NULL;
        struct error err;
        size_t resumed = 0;
        if (ctl_open_queue(cfg, &q) < 0)
                return CTL_FAIL;
        rc = hold_release(q, cfg, &t, now_ms(), &resumed, &err);
        queue_free(q);
        if (rc < 0) {
                fprintf(stderr, "dunningctl release: %s\n", err.msg);
                return CTL_FAIL;
        }
        if (json)
                return ctl_print_json(json_pack("{sosI}", t.kind, ctl_jstr(t.id), "resumed",
                                                (json_int_t)resumed));
        printf("released: %s %s; %zu held reminder%s resume now\n", t.kind, t.id, resumed,
               resumed == 1 ? "" : "s");
        return CTL_OK;
}

/* A job naming invoice, parked by a hold or waiting in the scheduled set
 * (a flow's next step): it has the customer's data an arrangement's
 * reminders need. *out owned; NULL when none was found. */
static int find_job(struct queue *q, const char *invoice, char **out, struct error *err)
{
        struct hold_target t = { "invoice", invoice };
        struct queue_fields parked = { 0 };
        int rc = hold_parked_get(q, &t, 1, false, &parked, err);
        *out = NULL;
        if (rc < 0)
                return rc;
        if (parked.n)
                *out = xstrdup(parked.kv[1]);
        queue_fields_free(&parked);
        if (*out)
                return 0;
        char sched[256], cursor[32] = "0";
        struct buf match = BUF_INIT;
        buf_putc(&match, '*');
        for (const char *s = invoice; *s; s++) {
                if (strchr("*?[]\\", *s))
                        buf_putc(&match, '\\');
                buf_putc(&match, *s);
        }
        buf_putc(&match, '*');
        queue_key(q, sched, sizeof(sched), "scheduled");
        do {
                char **v = NULL;
                size_t n = 0;
                const char *argv[] = { "ZSCAN", sched, cursor, "MATCH", buf_str(&match), "COUNT",
                                       "1000" };
                if ((rc = queue_strings(q, 7, argv, &v, &n, err)) < 0)
                        break;
                snprintf(cursor, sizeof(cursor), "%s", n ? v[0] : "0");
                /* member, score, member, score ... after the cursor */
                for (size_t i = 1; i + 1 < n && !*out; i += 2) {
                        struct job *job = NULL;
                        if (job_parse(&job, v[i], strlen(v[i]), NULL) < 0)
                                continue;
                        for (size_t k = 0; k < job->n_invoices && !*out; k++)
                                if (strcmp(job->invoices[k].number, invoice) == 0)
                                        *out = xstrdup(v[i]);
                        job_free(job);
                }
                queue_strings_free(v, n);
        } while (!*out && strcmp(cursor, "0") != 0);
        buf_free(&match);
        return rc;
}

static json_t *info_json(const struct arrangements_info *a)
{
        json_t *plan = json_array();
        for (int i = 0; i < a->installments; i++) {
                char due[11];
                civil_format(a->plan[i].due_day, due);
                json_array_append_new(plan, json_pack("{sisssIsb}", "number", i + 1, "due", due,
                                                      "amount_cents",
                                                      (json_int_t)a->plan[i].amount_cents,
                                                      "paid", i < a->check.paid_through));
        }
        return json_pack("{sosososossso sIsIsisisosi}", "id", ctl_jstr(a->id), "customer",
                         ctl_jstr(a->customer), "invoices", ctl_jstr(a->invoices), "currency",
                         ctl_jstr(a->currency), "state", arrangement_state_name(a->state),
                         "installments", plan, "total_cents", (json_int_t)a->total_cents,
                         "paid_cents", (json_int_t)a->paid_cents, "paid_through",
                         a->check.paid_through, "missed", a->missed, "every",
                         ctl_jstr(a->every), "reminders", (int)a->reminders);
}

int holds_arrange_cmd(const struct config *cfg, int argc, char **argv, bool json)
{
        static const struct option opts[] = {
                { "installments", required_argument, NULL, 'n' },
                { "first", required_argument, NULL, 'f' },
                { "every", required_argument, NULL, 'e' },
                { "job", required_argument, NULL, 'J' },
                { "at", required_argument, NULL, 'a' },
                { "json", no_argument, NULL, 'j' },
                { 0 },
        };
        struct arrangements_request req = { .now_ms = now_ms() };
        const char *job_path = NULL;
        bool first = false, every = false;
        struct error err;
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                switch (c) {
                case 'n': {
                        char *end;
                        long v = strtol(optarg, &end, 10);
                        if (*end || end == optarg || v < 1 || v > ARRANGEMENT_MAX_INSTALLMENTS)
                                return ctl_usage_error("arrange", "--installments: must be 1 to "
                                                                  "%d: %s",
                                                       ARRANGEMENT_MAX_INSTALLMENTS, optarg);
                        req.installments = (int)v;
                        break;
                }
                case 'f':
                        if (civil_parse(optarg, &req.first_day) < 0)
                                return ctl_usage_error("arrange", "--first: not a date "
                                                                  "(YYYY-MM-DD): %s", optarg);
                        first = true;
                        break;
                case 'e':
                        if (arrangement_period_parse(optarg, &req.every, &err) < 0)
                                return ctl_usage_error("arrange", "%s", err.msg);
                        every = true;
                        break;
                case 'J': job_path = optarg; break;
                case 'a':
                        if (stats_parse_since(optarg, &req.now_ms) < 0)
                                return ctl_usage_error("arrange", "--at: not a date or RFC 3339 "
                                                                  "time: %s", optarg);
                        break;
                case 'j': json = true; break;
                default: return ctl_bad_option("arrange", c, argv);
                }
        }
        if (optind == argc)
                return ctl_usage_error("arrange", "which invoices?");
        if (argc - optind > JOB_MAX_INVOICES)
                return ctl_usage_error("arrange", "at most %d invoices", JOB_MAX_INVOICES);
        if (!req.installments || !first || !every)
                return ctl_usage_error("arrange", "--installments, --first and --every are "
                                                  "required");
        for (int i = optind; i < argc; i++)
                for (int k = optind; k < i; k++)
                        if (strcmp(argv[i], argv[k]) == 0)
                                return ctl_usage_error("arrange", "invoice %s given twice",
                                                       argv[i]);
        req.invoices = (const char *const *)argv + optind;
        req.n_invoices = (size_t)(argc - optind);

        if (!history_needed(cfg, "arrange"))
                return CTL_FAIL;
        struct buf text = BUF_INIT;
        if (job_path && buf_read_file(&text, job_path, JOB_FILE_MAX) < 0) {
                fprintf(stderr, "dunningctl arrange: --job: cannot read %s\n", job_path);
                buf_free(&text);
                return CTL_FAIL;
        }
        struct queue *q = NULL;
        if (ctl_open_queue(cfg, &q) < 0) {
                buf_free(&text);
                return CTL_FAIL;
        }
        char *found = NULL;
        int rc = 0;
        for (size_t i = 0; !job_path && !found && rc == 0 && i < req.n_invoices; i++)
                rc = find_job(q, req.invoices[i], &found, &err);
        req.job = job_path ? buf_str(&text) : found;
        struct arrangements_info *a = xcalloc(1, sizeof(*a));
        if (rc == 0 && !req.job)
                rc = error_set(&err, -ENOENT, "no job names these invoices (none held or "
                                              "scheduled): give --job FILE with the customer");
        if (rc == 0)
                rc = arrangements_create(q, cfg, &req, a, &err);
        queue_free(q);
        free(found);
        buf_free(&text);
        if (rc < 0) {
                fprintf(stderr, "dunningctl arrange: %s\n", err.msg);
                free(a);
                return rc == -EINVAL || rc == -ENOENT ? CTL_USAGE : CTL_FAIL;
        }
        if (json) {
                rc = ctl_print_json(info_json(a));
                free(a);
                return rc;
        }
        char total[32];
        money(total, sizeof(total), a->total_cents);
        printf("arrangement %s: customer %s, invoices %s, %s %s in %d installments every %s\n",
               a->id, a->customer, a->invoices, a->currency, total, a->installments, a->every);
        for (int i = 0; i < a->installments; i++) {
                char due[11], amount[32];
                civil_format(a->plan[i].due_day, due);
                money(amount, sizeof(amount), a->plan[i].amount_cents);
                printf("  %3d  %s  %12s\n", i + 1, due, amount);
        }
        printf("reminders scheduled: %zu (%d days before each)\n", a->reminders,
               cfg->arrangements.remind_days);
        free(a);
        return CTL_OK;
}

struct list_out {
        bool json;
        json_t *all;
        size_t n;
};

static void list_one(const struct arrangements_info *a, void *data)
{
        struct list_out *o = data;
        o->n++;
        if (o->json) {
                json_array_append_new(o->all, info_json(a));
                return;
        }
        char total[32], paid[32], next[64] = "-";
        money(total, sizeof(total), a->total_cents);
        money(paid, sizeof(paid), a->paid_cents);
        if (a->state == ARRANGEMENT_ACTIVE && a->check.paid_through < a->installments) {
                const struct arrangement_installment *in = &a->plan[a->check.paid_through];
                char due[11], amount[32];
                civil_format(in->due_day, due);
                money(amount, sizeof(amount), in->cum_cents - a->paid_cents);
                snprintf(next, sizeof(next), "%d: %s due %s", a->check.paid_through + 1, amount,
                         due);
        } else if (a->state == ARRANGEMENT_LAPSED) {
                snprintf(next, sizeof(next), "missed installment %d", a->missed);
        }
        printf("%-8s %-10s %-12s %-24s %3s %12s %12s %4d/%-3d %s\n", a->id, a->customer,
               arrangement_state_name(a->state), a->invoices, a->currency, total, paid,
               a->check.paid_through, a->installments, next);
}

int holds_arrangements_cmd(const struct config *cfg, int argc, char **argv, bool json)
{
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                { 0 },
        };
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                switch (c) {
                case 'j': json = true; break;
                default: return ctl_bad_option("arrangements", c, argv);
                }
        }
        if (optind != argc)
                return ctl_usage_error("arrangements", "takes no arguments");
        struct queue *q = NULL;
        struct error err;
        struct list_out o = { .json = json, .all = json ? json_array() : NULL };
        if (ctl_open_queue(cfg, &q) < 0)
                return CTL_FAIL;
        if (!json)
                printf("%-8s %-10s %-12s %-24s %3s %12s %12s %8s %s\n", "id", "customer", "state",
                       "invoices", "cur", "total", "paid", "paid/of", "next");
        int rc = arrangements_list(q, cfg, now_ms(), list_one, &o, &err);
        queue_free(q);
        if (rc < 0) {
                json_decref(o.all);
                fprintf(stderr, "dunningctl arrangements: %s\n", err.msg);
                return CTL_FAIL;
        }
        if (json)
                return ctl_print_json(o.all);
        if (o.n == 0)
                printf("no arrangements\n");
        return CTL_OK;
}
