/* ctl.c: dunningctl's command table, its help, and the verbs enqueue and
 * status (dead letters: dead.c; preview and render: preview.c). */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "dead.h"
#include "stats_cmd.h"
#include "import.h"
#include "job.h"
#include "holds.h"
#include "paid.h"
#include "preview.h"
#include "privacy.h"
#include "progress.h"
#include "queue.h"

#define ENQUEUE_CHUNK 1000
#define STATUS_WINDOW_MS 60000  /* "last minute" of status */

/* ---- the commands and their help ---- */

static int cmd_enqueue(const struct config *cfg, int argc, char **argv, bool json);
static int cmd_status(const struct config *cfg, int argc, char **argv, bool json);
static int cmd_dead(const struct config *cfg, int argc, char **argv, bool json);
static int cmd_stats(const struct config *cfg, int argc, char **argv, bool json);
static int cmd_explain(const struct config *cfg, int argc, char **argv, bool json);
static int cmd_preview(const struct config *cfg, int argc, char **argv, bool json);
static int cmd_render(const struct config *cfg, int argc, char **argv, bool json);

static const struct command {
        const char *name;
        /* argv[0] is the command's name; json: --json came before it */
        int (*run)(const struct config *cfg, int argc, char **argv, bool json);
        bool config;            /* loads the configuration */
        bool json;              /* knows --json */
        const char *usage;      /* its usage lines, after "dunningctl [--config FILE] " */
        const char *summary;    /* its lines in `dunningctl --help` */
        const char *help;       /* `dunningctl COMMAND --help`, after the usage */
} commands[] = {
        {
                "enqueue", cmd_enqueue, true, true,
                "enqueue FILE.{csv,jsonl,json} [--at TIME] [--dry-run] [--strict] [--json]\n",
                "  enqueue FILE.{csv,jsonl,json} [--at TIME] [--dry-run] [--strict] [--json]\n"
                "                         validate a campaign and add its jobs to the queue\n",
                "Validates a campaign file (CSV whose header names job field paths, JSON\n"
                "Lines, or a JSON array of jobs) and adds its valid jobs to the queue; a\n"
                "job whose not_before is in the future goes to the scheduled set. Every\n"
                "bad row is reported on stderr as FILE:LINE: FIELD: REASON. Enqueueing a\n"
                "file again adds nothing twice. Prints\n"
                "  enqueued N, scheduled N, duplicates N, rejected N\n"
                "On a terminal, a file of 1000 rows or more shows a progress line on stderr.\n"
                "\n"
                "Options:\n"
                "      --at TIME   send no job before TIME (RFC 3339); replaces not_before\n"
                "      --dry-run   validate only: nothing is enqueued, Redis is not asked\n"
                "      --strict    enqueue nothing if any row is bad\n"
                "      --json      the summary and the row errors as JSON on stdout\n"
                "  -h, --help      this text\n"
                "\n"
                "Exit status: 0 every row enqueued or a duplicate; 1 the file cannot be\n"
                "read, or Redis failed; 2 wrong usage, or rows were rejected.\n",
        },
        {
                "status", cmd_status, true, true,
                "status [--json]\n",
                "  status [--json]        the queue, pending entries per consumer with idle\n"
                "                         time, dead letters per reason, and the events of\n"
                "                         the last minute\n",
                "Prints the jobs stream length (jobs), the backlog no worker has taken yet,\n"
                "the pending entries (per consumer, with its idle time), the scheduled\n"
                "jobs, the dead letters (per reason), the events stream length, and the\n"
                "events of the last minute by Redis's clock:\n"
                "  sent last minute: N (N.N/s)   (and failed, skipped, dead)\n"
                "\n"
                "Options:\n"
                "      --json      the same as one JSON object on stdout\n"
                "  -h, --help      this text\n"
                "\n"
                "Exit status: 0 success; 1 the configuration or Redis failed; 2 wrong usage.\n",
        },
        {
                "dead", cmd_dead, true, true,
                "dead list [FILTER...] [--limit N] [--json]\n"
                "dead show ID [--json]\n"
                "dead retry ID [--json]\n"
                "dead retry FILTER... [--limit N] [--json]\n"
                "dead drop ID [--json]\n"
                "dead drop FILTER... [--limit N] [--json]\n",
                "  dead list [--reason R] [--campaign C] [--since TIME] [--limit N] [--json]\n"
                "                         dead-lettered jobs with their reasons\n"
                "  dead show ID [--json]  one dead letter in full, the job pretty-printed\n"
                "  dead retry ID | dead retry FILTER... [--limit N] [--json]\n"
                "                         put dead jobs back on the queue\n"
                "  dead drop ID | dead drop FILTER... [--limit N] [--json]\n"
                "                         delete dead jobs\n",
                "  list    entries, oldest first: ID  TIME  reason=R  attempts=N  error=\"...\"\n"
                "  show    one entry: reason, error, attempts, time, the job pretty-printed\n"
                "  retry   put jobs back on the queue with their attempts reset (a job that\n"
                "          is still invalid goes back too, and comes back here)\n"
                "  drop    delete entries\n"
                "retry and drop take one ID, or filters that pick every entry they match;\n"
                "without either they refuse to run.\n"
                "\n"
                "Filters (list, retry, drop; when several are given all must match):\n"
                "      --reason R      the reason is exactly R (invalid, max-deliveries,\n"
                "                      attempts-exhausted, no-channel, render, permanent)\n"
                "      --campaign C    the job's campaign is exactly C\n"
                "      --since TIME    dead-lettered at or after TIME (RFC 3339 or Unix\n"
                "                      seconds)\n"
                "      --all           every entry\n"
                "\n"
                "Options:\n"
                "      --limit N       at most N entries (list: 100 unless given; 0: all)\n"
                "      --json          JSON on stdout\n"
                "  -h, --help          this text\n"
                "\n"
                "Exit status: 0 success (also when a filter matches nothing); 1 Redis\n"
                "failed, or there is no dead letter ID; 2 wrong usage.\n",
        },
        {
                "stats", cmd_stats, true, true,
                "stats [--campaign C] [--segment S] [--since T] [--until T] [--json]\n",
                "  stats [--campaign C] [--segment S] [--since T] [--until T] [--json]\n"
                "                         per channel and step: sent, delivered, paid,\n"
                "                         conversion, hours to pay, cost, uplift\n",
                "Prints, per channel and step, what the reminders of a period achieved:\n"
                "sent, delivered, undelivered, failed (the contact refused for good),\n"
                "payments credited directly (through that reminder's pay link or payment\n"
                "reference) and assisted (the last reminder within the attribution\n"
                "window), the conversion (paid / sent), the median hours from send to\n"
                "payment, the money collected, the cost of the messages and the cost per\n"
                "euro collected, and the uplift over the step's holdout (conversion of the\n"
                "reminded minus that of the customers held out, in percentage points,\n"
                "with a 95% interval). Then the holdout per step, the payments no reminder\n"
                "preceded (organic), and payments for invoices dunningd does not know.\n"
                "Counts are by the UTC day they happened on.\n"
                "\n"
                "Options:\n"
                "      --campaign C  only campaign C\n"
                "      --segment S   only customers in segment S\n"
                "      --since T     from day T (YYYY-MM-DD, RFC 3339 or Unix seconds;\n"
                "                    default: 29 days ago)\n"
                "      --until T     to day T (default: today)\n"
                "      --json        the same as JSON on stdout\n"
                "  -h, --help        this text\n"
                "\n"
                "Exit status: 0 success; 1 the configuration or Redis failed; 2 wrong usage.\n",
        },
        {
                "explain", cmd_explain, true, true,
                "explain CUSTOMER_ID [--step S] [--json]\n",
                "  explain CUSTOMER_ID [--step S] [--json]\n"
                "                         a customer's history and the channel the policy\n"
                "                         would choose now, and why\n",
                "Prints what dunningd learnt about one customer: per channel the reminders\n"
                "sent, delivered and undelivered, the payments they brought (direct and\n"
                "assisted), the last send and whether the contact is marked invalid; how\n"
                "the customer pays (on time, late, days late, the hour and weekday they\n"
                "pay most); the segment; and what the policy would choose now for the\n"
                "customer's last reminder (or step S of it), with its one-line reason and\n"
                "the score of each channel. No addresses or numbers are printed.\n"
                "\n"
                "Options:\n"
                "      --step S    decide for step S instead of the last one sent\n"
                "      --json      the same as JSON on stdout\n"
                "  -h, --help      this text\n"
                "\n"
                "Exit status: 0 success; 1 Redis failed or nothing is known about the\n"
                "customer; 2 wrong usage.\n",
        },
        {
                "export", privacy_cmd, true, false,
                "export CUSTOMER_ID\n",
                "  export CUSTOMER_ID     print everything held about a customer as JSON\n",
                "Prints, as JSON on stdout, everything dunningd's Redis holds about one\n"
                "customer (an access request): what explain shows, the customer's hash,\n"
                "its invoices and reminders with every key that names them (markers, pay\n"
                "links, references, SMS awaiting a report), the jobs waiting in the\n"
                "stream and the scheduled set, its dead letters, its events and the\n"
                "payments of its invoices. Message texts are not stored, so none appear.\n"
                "\n"
                "Exit status: 0 success (an unknown customer prints empty lists); 1 the\n"
                "configuration or Redis failed; 2 wrong usage.\n",
        },
        {
                "forget", privacy_cmd, true, false,
                "forget CUSTOMER_ID\n",
                "  forget CUSTOMER_ID     erase everything held about a customer\n",
                "Erases what export shows (an erasure request): the customer's hash, its\n"
                "invoices' state, reminders and their markers, pending and scheduled jobs,\n"
                "dead letters, events and payment entries; then adds one event of type\n"
                "erased with the counts deleted and nothing that names the customer.\n"
                "A reminder being sent meanwhile is recorded after that: forget waits for\n"
                "it (at most twice queue.claim_idle_ms and a second) and repeats until a\n"
                "pass finds nothing. Running it twice is harmless. Prints the sums\n"
                "  forgot customer: N keys and N stream entries deleted\n"
                "\n"
                "Exit status: 0 success; 1 the configuration or Redis failed, or the\n"
                "customer's data is still being written (a send outlasting the wait, or\n"
                "a campaign still enqueuing them: stop it and run forget again); 2 wrong\n"
                "usage.\n",
        },
        {
                "paid", paid_cmd, true, true,
                "paid INVOICE --amount-cents N [--at TIME] [--reference R] [--method M]\n"
                "     [--id ID] [--json]\n",
                "  paid INVOICE --amount-cents N [--at TIME] [--reference R] [--method M]\n"
                "       [--id ID] [--json]\n"
                "                         record a payment: the invoice's open amount goes\n"
                "                         down, and the reminder that made it is credited\n",
                "Records a payment of N cents on INVOICE the way dunningd records one from\n"
                "the payments stream: the open amount goes down; the payment that leaves\n"
                "nothing open marks the invoice paid (no reminder is sent for it anymore)\n"
                "and is credited once: direct to the reminder named by --reference (its RF\n"
                "reference or reminder id), assisted to the invoice's last reminder inside\n"
                "tracking.attribution_window_days, else organic. A payment for an invoice\n"
                "dunningd does not know is kept on it and reported. Prints what happened:\n"
                "  applied: INVOICE open N -> N cents, paid; direct via email (...)\n"
                "  kept: INVOICE is not a known invoice; N cents recorded on it\n"
                "  duplicate: payment ID was recorded before; nothing changed\n"
                "\n"
                "Running the same command twice changes nothing: the payment's id (--id,\n"
                "else one made from INVOICE, N, --at and --reference) is recorded, and a\n"
                "payment with an id seen before is a duplicate. To record a second, equal\n"
                "payment give it its own --id (or --at).\n"
                "\n"
                "Options:\n"
                "      --amount-cents N  the amount paid in cents, more than 0 (required)\n"
                "      --at TIME         when it was paid: a date, RFC 3339 or Unix seconds\n"
                "                        (default: now)\n"
                "      --reference R     the payment reference: an RF creditor reference or a\n"
                "                        reminder id (r-...)\n"
                "      --method M        how it was paid, e.g. transfer, ideal, cash\n"
                "      --id ID           the payment's id at the bank or provider\n"
                "      --json            what happened as JSON on stdout\n"
                "  -h, --help            this text\n"
                "\n"
                "Exit status: 0 applied, kept or a duplicate; 1 the configuration or Redis\n"
                "failed; 2 wrong usage.\n",
        },
        {
                "hold", holds_hold_cmd, true, true,
                "hold INVOICE|--customer ID --reason R [--until DATE] [--note TEXT] [--json]\n",
                "  hold INVOICE|--customer ID --reason dispute|arrangement|other [--until DATE]\n"
                "       [--note TEXT] [--json]\n"
                "                         stop chasing an invoice, or all of a customer's\n",
                "Puts an invoice (or, with --customer, every invoice of a customer) on\n"
                "hold: its reminders are skipped (event skipped, reason held) and wait in\n"
                "the scheduled set until --until, or are looked at again every\n"
                "holds.recheck_hours, so the flow pauses and resumes. A dispute is counted\n"
                "for the customer (dunningctl explain); holds.dispute_flag_count disputes\n"
                "flag the customer for a person (event flagged). A new hold replaces one\n"
                "already there.\n"
                "\n"
                "Options:\n"
                "      --customer ID  every invoice of customer ID\n"
                "      --reason R     dispute, arrangement (made outside dunningd) or other\n"
                "      --until DATE   resume by itself then (YYYY-MM-DD or RFC 3339)\n"
                "      --note TEXT    why, for the next person (at most 200 bytes)\n"
                "      --json         what was done as JSON on stdout\n"
                "  -h, --help         this text\n"
                "\n"
                "Exit status: 0 held; 1 the configuration or Redis failed; 2 wrong usage.\n",
        },
        {
                "release", holds_release_cmd, true, true,
                "release INVOICE|--customer ID [--json]\n",
                "  release INVOICE|--customer ID [--json]\n"
                "                         end a hold: its reminders resume now\n",
                "Takes the hold off an invoice (or a customer) and brings the reminders\n"
                "it held forward to now.\n"
                "\n"
                "Options:\n"
                "      --customer ID  the hold on customer ID\n"
                "      --json         what was done as JSON on stdout\n"
                "  -h, --help         this text\n"
                "\n"
                "Exit status: 0 released; 1 there is no such hold, or Redis failed; 2 wrong\n"
                "usage.\n",
        },
        {
                "arrange", holds_arrange_cmd, true, true,
                "arrange INVOICE... --installments N --first DATE --every PERIOD [--job FILE]\n"
                "        [--at TIME] [--json]\n",
                "  arrange INVOICE... --installments N --first DATE --every PERIOD\n"
                "          [--job FILE] [--at TIME] [--json]\n"
                "                         a payment arrangement: the open amount in\n"
                "                         installments, with a reminder before each\n",
                "Splits what is open on the invoices into N installments in exact cents\n"
                "(the remainder in the last), the first on DATE and then every PERIOD\n"
                "(14d, 2w, 1m; month steps keep the first's day, or the month's last).\n"
                "Normal dunning stops for the invoices; a friendly reminder (step\n"
                "installment) goes out arrangements.remind_days before each installment;\n"
                "payments cover the installments in order; one unpaid\n"
                "arrangements.grace_days after its date lapses the arrangement and normal\n"
                "dunning resumes. The customer's data for the reminders comes from --job,\n"
                "else from a held or scheduled reminder of the invoices.\n"
                "\n"
                "Options:\n"
                "      --installments N  1 to 120\n"
                "      --first DATE      the first installment's date (YYYY-MM-DD)\n"
                "      --every PERIOD    Nd, Nw, Nm or Ny\n"
                "      --job FILE        a job (JSON) naming the customer and the invoices\n"
                "      --at TIME         count as made at TIME (default: now)\n"
                "      --json            the plan as JSON on stdout\n"
                "  -h, --help            this text\n"
                "\n"
                "Exit status: 0 arranged; 1 the configuration or Redis failed; 2 wrong usage,\n"
                "or an invoice cannot be arranged (paid, in another arrangement, unknown).\n",
        },
        {
                "arrangements", holds_arrangements_cmd, true, true,
                "arrangements [--json]\n",
                "  arrangements [--json]  payment arrangements with their state\n",
                "Lists every payment arrangement, oldest first: customer, state (active,\n"
                "completed, lapsed), invoices, total, paid, installments paid of all, and\n"
                "the next installment (or the one missed).\n"
                "\n"
                "Options:\n"
                "      --json      the same as JSON on stdout\n"
                "  -h, --help      this text\n"
                "\n"
                "Exit status: 0 success; 1 the configuration or Redis failed; 2 wrong usage.\n",
        },
        {
                "preview", cmd_preview, true, false,
                "preview JOB.json [--channel C] [--out DIR] [--strict]\n",
                "  preview JOB.json [--channel C] [--out DIR] [--strict]\n"
                "                         render what a job would send (no Redis)\n",
                "Renders what the job would send on each channel it can reach, with the\n"
                "configured templates and creditor, without Redis and without sending.\n"
                "\n"
                "Options:\n"
                "      --channel C  only C: email, sms or letter\n"
                "      --out DIR    write the outbox files (DIR/email/ID.eml,\n"
                "                   DIR/sms/ID.json, DIR/letter/ID.pdf) instead of printing\n"
                "      --strict     fail on variables the templates use but the job lacks\n"
                "  -h, --help       this text\n"
                "\n"
                "Exit status: 0 success; 1 the job or a template does not render; 2 wrong\n"
                "usage.\n",
        },
        {
                "render", cmd_render, false, false,
                "render TEMPLATE.mustache DATA.json [--partials DIR] [--strict]\n",
                "  render TEMPLATE.mustache DATA.json [--partials DIR] [--strict]\n"
                "                         render one template with JSON data (no config)\n",
                "Renders one Mustache template with JSON data; needs no configuration.\n"
                "A *.html.mustache template is HTML-escaped, any other is plain text.\n"
                "\n"
                "Options:\n"
                "      --partials DIR  every *.mustache below DIR as a partial, named by\n"
                "                      its path without .mustache\n"
                "      --strict        fail on variables the template uses but DATA lacks\n"
                "  -h, --help          this text\n"
                "\n"
                "Exit status: 0 success; 1 a file cannot be read or the template does not\n"
                "render; 2 wrong usage.\n",
        },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char exit_status_text[] =
        "Exit status: 0 success; 1 failure (the configuration, Redis, a file, an\n"
        "unknown dead-letter id); 2 wrong usage, or enqueue rejected rows.\n";

static void usage(FILE *f)
{
        fputs("Usage: dunningctl [--config FILE] [--json] COMMAND [ARGS]\n"
              "       dunningctl COMMAND --help | help [COMMAND] | --version\n"
              "\n"
              "Commands:\n", f);
        for (size_t i = 0; i < N_COMMANDS; i++)
                fputs(commands[i].summary, f);
        fputs("  help [COMMAND]         this text, or COMMAND's\n"
              "\n"
              "Options:\n"
              "  -c, --config FILE      the dunningd configuration (default: $DUNNINGD_CONFIG,\n"
              "                         else /etc/dunningd/dunningd.yaml)\n"
              "      --json             JSON on stdout instead of text (enqueue, status, dead)\n"
              "  -h, --help             this text\n"
              "      --version          the version\n"
              "\n", f);
        fputs(exit_status_text, f);
}

/* "Usage:" with the command's usage lines, then its help. */
static void command_help(const struct command *c, FILE *f)
{
        for (const char *s = c->usage; *s;) {
                size_t len = strcspn(s, "\n");

                fprintf(f, "%s dunningctl [--config FILE] %.*s\n",
                        s == c->usage ? "Usage:" : "      ", (int)len, s);
                s += len + (s[len] == '\n');
        }
        fputc('\n', f);
        fputs(c->help, f);
}

static const struct command *find_command(const char *name)
{
        for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "dunningctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'dunningctl %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
        return CTL_USAGE;
}

int ctl_bad_option(const char *cmd, int c, char **argv)
{
        const char *arg = argv[optind - 1];

        if (c == ':')
                return ctl_usage_error(cmd, "%s needs an argument", arg);
        return ctl_usage_error(cmd, "unknown option %s", arg);
}

int ctl_open_queue(const struct config *cfg, struct queue **q)
{
        struct error err;

        if (queue_open_user(q, cfg->redis.url, cfg->redis.username, cfg->redis.password,
                            cfg->redis.prefix, NULL, &err) < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                return -1;
        }
        /* An operator's command must not hang on a stuck Redis. */
        queue_set_timeout(*q, 30000);
        return 0;
}

/* A JSON string of s, or null for NULL; text that is not UTF-8 (a file
 * name, a message quoting a bad cell) keeps its ASCII and gets '?' for the
 * rest, so that the output is JSON and every key is there. */
json_t *ctl_jstr(const char *s)
{
        json_t *v;

        if (!s)
                return json_null();
        v = json_string(s);
        if (!v) {
                char *copy = xstrdup(s);
                for (char *p = copy; *p; p++)
                        if ((unsigned char)*p >= 0x80)
                                *p = '?';
                v = json_string(copy);
                free(copy);
        }
        return v;
}

int ctl_print_json(json_t *root)
{
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        json_decref(root);
        if (!text) {
                fprintf(stderr, "dunningctl: cannot write JSON\n");
                return CTL_FAIL;
        }
        puts(text);
        free(text);
        return CTL_OK;
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- enqueue ---- */

struct enqueue_report {
        const char *path;
        const struct import_result *res;
        size_t counts[3];       /* queue_enqueue's results: duplicate, stream, scheduled */
        bool dry, strict;
};

static int print_enqueue_json(const struct enqueue_report *e)
{
        json_t *root = json_object(), *errors = json_array();

        for (size_t i = 0; i < e->res->n_errors; i++)
                json_array_append_new(errors, ctl_jstr(e->res->errors[i]));
        json_object_set_new(root, "file", ctl_jstr(e->path));
        json_object_set_new(root, "valid", json_integer((json_int_t)e->res->n_jobs));
        json_object_set_new(root, "enqueued", json_integer((json_int_t)e->counts[1]));
        json_object_set_new(root, "scheduled", json_integer((json_int_t)e->counts[2]));
        json_object_set_new(root, "duplicates", json_integer((json_int_t)e->counts[0]));
        json_object_set_new(root, "rejected", json_integer((json_int_t)e->res->n_errors));
        json_object_set_new(root, "dry_run", json_boolean(e->dry));
        json_object_set_new(root, "strict", json_boolean(e->strict));
        json_object_set_new(root, "errors", errors);
        return ctl_print_json(root);
}

static void on_import_progress(size_t done, size_t total, void *data)
{
        progress_update(data, done, total);
}

/* Adds the valid jobs of res in chunks; counts[] as queue_enqueue says. */
static int enqueue_jobs(const struct config *cfg, const struct import_result *res,
                        struct progress *prog, size_t counts[3])
{
        struct queue *q = NULL;
        struct error err;
        int64_t now = now_ms();
        int rc = 0;

        if (ctl_open_queue(cfg, &q) < 0)
                return -1;
        for (size_t off = 0; off < res->n_jobs && rc == 0; off += ENQUEUE_CHUNK) {
                size_t n = res->n_jobs - off < ENQUEUE_CHUNK ? res->n_jobs - off : ENQUEUE_CHUNK;
                const char *ids[ENQUEUE_CHUNK], *jobs[ENQUEUE_CHUNK];
                int64_t due[ENQUEUE_CHUNK];
                int result[ENQUEUE_CHUNK];
                for (size_t i = 0; i < n; i++) {
                        ids[i] = res->jobs[off + i].job_id;
                        jobs[i] = res->jobs[off + i].json;
                        due[i] = res->jobs[off + i].not_before_ms;
                }
                if (queue_enqueue(q, ids, jobs, due, n, now, cfg->queue.sent_ttl_days * 86400,
                                  result, &err) < 0) {
                        progress_end(prog);     /* the message on a line of its own */
                        fprintf(stderr, "dunningctl: %s\n", err.msg);
                        rc = -1;
                }
                for (size_t i = 0; i < n; i++)
                        if (result[i] >= 0 && result[i] <= 2)
                                counts[result[i]]++;
                if (rc == 0)
                        progress_update(prog, off + n, res->n_jobs);
        }
        queue_free(q);
        return rc;
}

static int cmd_enqueue(const struct config *cfg, int argc, char **argv, bool json)
{
        static const struct option opts[] = {
                { "at", required_argument, NULL, 'a' },
                { "dry-run", no_argument, NULL, 'n' },
                { "strict", no_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { 0 },
        };
        struct enqueue_report rep = { 0 };
        struct import_result res = { 0 };
        struct import_progress report = { on_import_progress, NULL };
        struct progress prog;
        struct error err;
        char label[300];
        int64_t at = 0;
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        if (job_parse_time(optarg, &at) < 0)
                                return ctl_usage_error("enqueue", "--at: not an RFC 3339 time: %s",
                                                       optarg);
                        break;
                case 'n': rep.dry = true; break;
                case 's': rep.strict = true; break;
                case 'j': json = true; break;
                default: return ctl_bad_option("enqueue", c, argv);
                }
        }
        if (optind + 1 != argc)
                return ctl_usage_error("enqueue", optind == argc ? "which file?"
                                                                 : "one file at a time");
        rep.path = argv[optind];
        rep.res = &res;

        /* stderr carries the progress: stdout may be a file or a program */
        snprintf(label, sizeof(label), "reading %s", rep.path);
        progress_begin(&prog, progress_wanted(stderr, json) ? stderr : NULL, label, "rows");
        report.data = &prog;
        /* Phone numbers written nationally (06-...) are taken as from the
         * SMS channel's default country. */
        struct import_opts io = { .at_ms = at,
                                  .default_country = cfg->channels.sms.default_country };
        if (import_file_opts(&res, rep.path, &io, &report, &err) < 0) {
                progress_end(&prog);
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                import_result_free(&res);
                return CTL_FAIL;
        }
        bool shown = progress_end(&prog);
        if (!json)
                for (size_t i = 0; i < res.n_errors; i++)
                        fprintf(stderr, "%s\n", res.errors[i]);

        int status = res.n_errors ? CTL_USAGE : CTL_OK;
        if (!rep.dry && !(rep.strict && res.n_errors)) {
                progress_begin(&prog, prog.out, "enqueueing", "jobs");
                if (shown)
                        prog.min_items = 0;     /* 3000 rows may make 900 jobs */
                if (enqueue_jobs(cfg, &res, &prog, rep.counts) < 0)
                        status = CTL_FAIL;
                progress_end(&prog);
                /* not connected: nothing to sum up */
                if (status == CTL_FAIL && rep.counts[0] + rep.counts[1] + rep.counts[2] == 0 &&
                    res.n_jobs) {
                        import_result_free(&res);
                        return status;
                }
        }
        if (json) {
                if (print_enqueue_json(&rep) != CTL_OK)
                        status = CTL_FAIL;
        } else if (rep.dry || (rep.strict && res.n_errors)) {
                printf("%s: %zu valid, %zu rejected%s\n", rep.path, res.n_jobs, res.n_errors,
                       rep.dry ? " (dry run, nothing enqueued)" : "; --strict: nothing enqueued");
        } else {
                printf("enqueued %zu, scheduled %zu, duplicates %zu, rejected %zu\n",
                       rep.counts[1], rep.counts[2], rep.counts[0], res.n_errors);
        }
        import_result_free(&res);
        return status;
}

/* ---- status ---- */

/* The tally's entries, most first (then by name): what an operator reads first. */
static size_t tally_order(const struct queue_tally *t, size_t order[QUEUE_TALLY_MAX])
{
        for (size_t i = 0; i < t->n; i++) {
                size_t j = i;
                for (; j > 0; j--) {
                        const typeof(t->v[0]) *a = &t->v[order[j - 1]], *b = &t->v[i];
                        if (a->count > b->count ||
                            (a->count == b->count && strcmp(a->value, b->value) <= 0))
                                break;
                        order[j] = order[j - 1];
                }
                order[j] = i;
        }
        return t->n;
}

static long long tally_get(const struct queue_tally *t, const char *value)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->v[i].value, value) == 0)
                        return t->v[i].count;
        return 0;
}

/* Every status shows these event types, the rest when they happened. */
static const char *const main_events[] = { "sent", "failed", "skipped", "dead" };
#define N_MAIN_EVENTS (sizeof(main_events) / sizeof(main_events[0]))

static bool is_main_event(const char *type)
{
        for (size_t i = 0; i < N_MAIN_EVENTS; i++)
                if (strcmp(type, main_events[i]) == 0)
                        return true;
        return false;
}

static void print_rate(const char *type, long long n)
{
        char label[96];

        snprintf(label, sizeof(label), "%s last minute:", type);
        printf("%-20s %lld (%.1f/s)\n", label, n, (double)n * 1000.0 / STATUS_WINDOW_MS);
}

static void print_status(const struct queue_status *st, const struct queue_tally *reasons,
                         const struct queue_tally *events)
{
        size_t order[QUEUE_TALLY_MAX];

        printf("jobs       %lld\n", st->jobs);
        if (st->backlog >= 0)
                printf("backlog    %lld\n", st->backlog);
        else
                printf("backlog    %s\n",
                       st->backlog == -1 ? "- (no consumer group yet)" : "unknown");
        printf("pending    %lld\n", st->pending);
        for (size_t i = 0; i < st->n_consumers; i++)
                printf("  %-40s %lld pending, idle %.1fs\n", st->consumers[i].name,
                       st->consumers[i].pending, (double)st->consumers[i].idle_ms / 1000.0);
        printf("scheduled  %lld\n", st->scheduled);
        printf("dead       %lld\n", st->dead);
        for (size_t i = 0, n = tally_order(reasons, order); i < n; i++) {
                const char *r = reasons->v[order[i]].value;
                printf("  %-40s %lld\n", r[0] ? r : "(no reason)", reasons->v[order[i]].count);
        }
        if (reasons->other)
                printf("  %-40s %lld\n", "(other reasons)", reasons->other);
        printf("events     %lld\n", st->events);
        for (size_t i = 0; i < N_MAIN_EVENTS; i++)
                print_rate(main_events[i], tally_get(events, main_events[i]));
        for (size_t i = 0, n = tally_order(events, order); i < n; i++)
                if (!is_main_event(events->v[order[i]].value))
                        print_rate(events->v[order[i]].value[0] ? events->v[order[i]].value
                                                                 : "(no type)",
                                   events->v[order[i]].count);
}

static json_t *tally_json(const struct queue_tally *t, bool main_events_too)
{
        size_t order[QUEUE_TALLY_MAX];
        json_t *o = json_object();

        for (size_t i = 0; main_events_too && i < N_MAIN_EVENTS; i++)
                json_object_set_new(o, main_events[i], json_integer(tally_get(t, main_events[i])));
        for (size_t i = 0, n = tally_order(t, order); i < n; i++)
                if (!main_events_too || !is_main_event(t->v[order[i]].value))
                        json_object_set_new(o, t->v[order[i]].value,
                                            json_integer(t->v[order[i]].count));
        if (t->other)
                json_object_set_new(o, "(other)", json_integer(t->other));
        return o;
}

static int print_status_json(const struct queue_status *st, const struct queue_tally *reasons,
                             const struct queue_tally *events)
{
        json_t *root = json_object(), *consumers = json_array(), *minute = json_object();

        for (size_t i = 0; i < st->n_consumers; i++)
                json_array_append_new(consumers,
                                      json_pack("{s:s, s:I, s:I}", "name", st->consumers[i].name,
                                                "pending", (json_int_t)st->consumers[i].pending,
                                                "idle_ms", (json_int_t)st->consumers[i].idle_ms));
        json_object_set_new(root, "jobs", json_integer(st->jobs));
        json_object_set_new(root, "backlog",
                            st->backlog >= 0 ? json_integer(st->backlog) : json_null());
        json_object_set_new(root, "pending", json_integer(st->pending));
        json_object_set_new(root, "consumers", consumers);
        json_object_set_new(root, "scheduled", json_integer(st->scheduled));
        json_object_set_new(root, "dead", json_integer(st->dead));
        json_object_set_new(root, "dead_by_reason", tally_json(reasons, false));
        json_object_set_new(root, "events", json_integer(st->events));
        json_object_set_new(minute, "window_seconds", json_integer(STATUS_WINDOW_MS / 1000));
        json_object_set_new(minute, "events", tally_json(events, true));
        json_object_set_new(minute, "sent_per_second",
                            json_real((double)tally_get(events, "sent") * 1000.0 /
                                      STATUS_WINDOW_MS));
        json_object_set_new(root, "last_minute", minute);
        return ctl_print_json(root);
}

static int cmd_status(const struct config *cfg, int argc, char **argv, bool json)
{
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                { 0 },
        };
        struct queue_tally reasons, events;
        struct queue_status st;
        struct queue *q = NULL;
        struct error err;
        int c, rc;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                if (c != 'j')
                        return ctl_bad_option("status", c, argv);
                json = true;
        }
        if (optind < argc)
                return ctl_usage_error("status", "unexpected argument \"%s\"", argv[optind]);

        if (ctl_open_queue(cfg, &q) < 0)
                return CTL_FAIL;
        rc = queue_status(q, &st, &err);
        if (rc == 0)
                rc = queue_dead_reasons(q, &reasons, &err);
        if (rc == 0)
                rc = queue_recent_events(q, STATUS_WINDOW_MS, &events, &err);
        queue_free(q);
        if (rc < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                return CTL_FAIL;
        }
        if (json)
                return print_status_json(&st, &reasons, &events);
        print_status(&st, &reasons, &events);
        return CTL_OK;
}

/* ---- the rest ---- */

static int cmd_dead(const struct config *cfg, int argc, char **argv, bool json)
{
        return dead_cmd(cfg, argc, argv, json);
}

static int cmd_stats(const struct config *cfg, int argc, char **argv, bool json)
{
        return stats_cmd(cfg, argc, argv, json);
}

static int cmd_explain(const struct config *cfg, int argc, char **argv, bool json)
{
        return explain_cmd(cfg, argc, argv, json);
}

static int cmd_preview(const struct config *cfg, int argc, char **argv, bool json)
{
        return preview_job_cmd(cfg, argc, argv);
}

static int cmd_render(const struct config *cfg, int argc, char **argv, bool json)
{
        return preview_render_cmd(argc, argv);
}

/* Whether --help or -h is among a command's arguments (before "--"). */
static bool wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return true;
        return false;
}

/* `help [COMMAND]` */
static int help_cmd(int argc, char **argv)
{
        const struct command *c;

        if (argc < 2) {
                usage(stdout);
                return CTL_OK;
        }
        c = find_command(argv[1]);
        if (!c || argc > 2)
                return ctl_usage_error(NULL, c ? "help: one command at a time"
                                               : "help: no command \"%s\"", argv[1]);
        command_help(c, stdout);
        return CTL_OK;
}

int ctl_main(int argc, char **argv)
{
        const char *path = getenv("DUNNINGD_CONFIG");
        const struct command *cmd;
        bool json = false;
        int i = 1;

        for (; i < argc && argv[i][0] == '-'; i++) {
                if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) &&
                    i + 1 < argc) {
                        path = argv[++i];
                } else if (strncmp(argv[i], "--config=", 9) == 0) {
                        path = argv[i] + 9;
                } else if (strcmp(argv[i], "--json") == 0) {
                        json = true;
                } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        usage(stdout);
                        return CTL_OK;
                } else if (strcmp(argv[i], "--version") == 0) {
                        printf("dunningctl %s\n", DUNNINGD_VERSION);
                        return CTL_OK;
                } else {
                        return ctl_usage_error(NULL, strncmp(argv[i], "--config", 8) == 0 ||
                                                             strcmp(argv[i], "-c") == 0
                                                     ? "%s needs a file"
                                                     : "unknown option %s", argv[i]);
                }
        }
        if (i >= argc) {
                usage(stderr);
                return CTL_USAGE;
        }
        if (strcmp(argv[i], "help") == 0)
                return help_cmd(argc - i, argv + i);
        cmd = find_command(argv[i]);
        if (!cmd)
                return ctl_usage_error(NULL, "unknown command \"%s\"", argv[i]);
        /* before the configuration: help must work where it cannot be read */
        if (wants_help(argc - i, argv + i)) {
                command_help(cmd, stdout);
                return CTL_OK;
        }
        if (json && !cmd->json)
                return ctl_usage_error(cmd->name, "has no --json output");
        if (!cmd->config)
                return cmd->run(NULL, argc - i, argv + i, json);
        if (!path)
                path = "/etc/dunningd/dunningd.yaml";

        struct config *cfg = NULL;
        struct error err;
        if (config_load(&cfg, path, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return CTL_FAIL;
        }
        int rc = cmd->run(cfg, argc - i, argv + i, json);
        config_free(cfg);
        return rc;
}
