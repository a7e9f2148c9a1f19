/* dead.c: `dunningctl dead`: what ended in the dead-letter stream and why,
 * and putting it back on the queue or away: one entry by id, or every
 * entry a filter picks once the cause is fixed. */
#include "dead.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "job.h"
#include "queue.h"

#define DEAD_LIST_LIMIT 100     /* entries `dead list` shows unless told */
#define DEAD_PAGE 500           /* entries per XRANGE: job texts make them large */
#define DEAD_BATCH 100          /* retries / drops per pipeline */

/* ---- the pure parts ---- */

static bool all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

int dead_parse_since(const char *s, int64_t *ms)
{
        if (all_digits(s)) {
                /* 13 digits are ms already; a person typing seconds stops at 10-11 */
                if (strlen(s) > 12)
                        return -EINVAL;
                *ms = strtoll(s, NULL, 10) * 1000;
                return 0;
        }
        return job_parse_time(s, ms);
}

bool dead_id_valid(const char *s)
{
        const char *dash = strchr(s, '-');
        char ms[24];

        if (!dash)
                return strlen(s) < sizeof(ms) && all_digits(s);
        if ((size_t)(dash - s) >= sizeof(ms) || strlen(dash + 1) >= sizeof(ms))
                return false;
        memcpy(ms, s, (size_t)(dash - s));
        ms[dash - s] = '\0';
        return all_digits(ms) && all_digits(dash + 1);
}

int64_t dead_entry_time(const char *time, const char *id)
{
        int64_t ms;

        if (time && job_parse_time(time, &ms) == 0)
                return ms;
        return id ? strtoll(id, NULL, 10) : 0;
}

bool dead_filter_match(const struct dead_filter *f, const char *reason, const char *campaign,
                       int64_t time_ms)
{
        if (f->reason && (!reason || strcmp(f->reason, reason) != 0))
                return false;
        if (f->campaign && (!campaign || strcmp(f->campaign, campaign) != 0))
                return false;
        return !f->since || time_ms >= f->since_ms;
}

bool dead_filter_given(const struct dead_filter *f)
{
        return f->reason || f->campaign || f->since || f->all;
}

/* ---- JSON ---- */


/* The job text parsed (NULL when it is not JSON); its keys for filters. */
static json_t *parse_job(const char *text)
{
        return text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
}

static const char *job_string(json_t *job, const char *key, const char *sub)
{
        json_t *v = json_object_get(job, key);

        return json_string_value(sub ? json_object_get(v, sub) : v);
}

/* {id, time, reason, error, attempts, entry, campaign, step, customer},
 * every key always present (null when unknown). */
static json_t *entry_json(const struct queue_dead *d, json_t *job)
{
        json_t *o = json_object();
        char *end = NULL;
        long long attempts = d->attempts ? strtoll(d->attempts, &end, 10) : 0;

        json_object_set_new(o, "id", ctl_jstr(d->id));
        json_object_set_new(o, "time", ctl_jstr(d->time));
        json_object_set_new(o, "reason", ctl_jstr(d->reason));
        json_object_set_new(o, "error", ctl_jstr(d->error));
        json_object_set_new(o, "attempts", end && end != d->attempts && !*end
                                                   ? json_integer(attempts) : json_null());
        json_object_set_new(o, "entry", ctl_jstr(d->entry && *d->entry ? d->entry : NULL));
        json_object_set_new(o, "campaign", ctl_jstr(job_string(job, "campaign", NULL)));
        json_object_set_new(o, "step", ctl_jstr(job_string(job, "step", NULL)));
        json_object_set_new(o, "customer", ctl_jstr(job_string(job, "customer", "id")));
        return o;
}

/* ---- options ---- */

struct dead_args {
        const char *verb;
        const char *id;         /* show, retry, drop: the one entry, or NULL */
        struct dead_filter f;
        size_t limit;           /* 0: no limit */
        bool limit_given;
        bool json;
};

/* What each verb takes: an id, filters, both or neither. */
static int check_args(struct dead_args *a)
{
        bool filtered = dead_filter_given(&a->f) || a->limit_given;

        if (a->id && !dead_id_valid(a->id))
                return ctl_usage_error("dead",
                                       "%s: not a dead-letter id (MS-SEQ, as dead list prints): %s",
                                       a->verb, a->id);
        if (strcmp(a->verb, "list") == 0) {
                if (a->id)
                        return ctl_usage_error("dead", "list takes no id (dead show ID shows one)");
                if (!a->limit_given)
                        a->limit = DEAD_LIST_LIMIT;
        } else if (strcmp(a->verb, "show") == 0) {
                if (!a->id)
                        return ctl_usage_error("dead", "show: which id?");
                if (filtered)
                        return ctl_usage_error("dead", "show takes an id, no filter");
        } else if (a->id && filtered) {
                return ctl_usage_error("dead", "%s: an id or filters, not both", a->verb);
        } else if (!a->id && !dead_filter_given(&a->f)) {
                /* a bare `dead drop` must not empty the stream by accident */
                return ctl_usage_error("dead",
                                       "%s: give an id, or pick entries with --reason, --campaign or --since (--all for every one)",
                                       a->verb);
        }
        return 0;
}

/* Parses argv[1..] (argv[0] "dead"); a usage error is printed. */
static int parse_args(struct dead_args *a, int argc, char **argv)
{
        static const struct option opts[] = {
                { "reason", required_argument, NULL, 'r' },
                { "campaign", required_argument, NULL, 'c' },
                { "since", required_argument, NULL, 's' },
                { "limit", required_argument, NULL, 'l' },
                { "all", no_argument, NULL, 'a' },
                { "json", no_argument, NULL, 'j' },
                { 0 },
        };
        char *end;
        int c;

        if (argc < 2 || argv[1][0] == '-')
                return ctl_usage_error("dead", "which one: list, show, retry or drop?");
        a->verb = argv[1];
        if (strcmp(a->verb, "list") && strcmp(a->verb, "show") && strcmp(a->verb, "retry") &&
            strcmp(a->verb, "drop"))
                return ctl_usage_error("dead", "unknown command \"%s\"", a->verb);

        /* the verb takes argv[0]'s place: getopt_long never looks at it */
        argc--;
        argv++;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                switch (c) {
                case 'r': a->f.reason = optarg; break;
                case 'c': a->f.campaign = optarg; break;
                case 's':
                        if (dead_parse_since(optarg, &a->f.since_ms) < 0)
                                return ctl_usage_error("dead",
                                                       "--since: not an RFC 3339 time or Unix seconds: %s",
                                                       optarg);
                        a->f.since = true;
                        break;
                case 'l':
                        a->limit = strtoul(optarg, &end, 10);
                        if (!all_digits(optarg) || *end)
                                return ctl_usage_error("dead", "--limit: not a number: %s", optarg);
                        a->limit_given = true;
                        break;
                case 'a': a->f.all = true; break;
                case 'j': a->json = true; break;
                default: return ctl_bad_option("dead", c, argv);
                }
        }
        if (optind < argc)
                a->id = argv[optind++];
        if (optind < argc)
                return ctl_usage_error("dead", "%s: unexpected argument \"%s\"", a->verb,
                                       argv[optind]);
        return check_args(a);
}

/* ---- list and show ---- */

struct list_walk {
        const struct dead_args *a;
        size_t n;               /* matched and shown */
        bool more;              /* another one matched beyond --limit */
        json_t *entries;        /* --json */
        bool with_job;          /* entries carry the job (the API) */
};

static int list_one(const struct queue_dead *d, void *data)
{
        struct list_walk *w = data;
        json_t *job = w->a->f.campaign || w->entries ? parse_job(d->job) : NULL;

        if (!dead_filter_match(&w->a->f, d->reason, job_string(job, "campaign", NULL),
                               dead_entry_time(d->time, d->id))) {
                json_decref(job);
                return 0;
        }
        if (w->a->limit && w->n == w->a->limit) {
                w->more = true;
                json_decref(job);
                return 1;
        }
        w->n++;
        if (w->entries) {
                json_t *o = entry_json(d, job);
                if (w->with_job && job)
                        json_object_set(o, "job", job);
                json_array_append_new(w->entries, o);
        }
        else
                printf("%s  %s  reason=%s  attempts=%s  error=\"%s\"\n", d->id,
                       d->time ? d->time : "-", d->reason ? d->reason : "-",
                       d->attempts ? d->attempts : "-", d->error ? d->error : "");
        json_decref(job);
        return 0;
}

/* The walk of `dead list` with its JSON shape (shared with the credit
 * team's API): entries oldest first, count and truncated. */
static json_t *list_json(struct queue *q, const struct dead_args *a, bool with_job,
                         struct error *err)
{
        struct list_walk w = { .a = a, .entries = json_array(), .with_job = with_job };

        if (queue_dead_range(q, "-", "+", DEAD_PAGE, list_one, &w, err) < 0) {
                json_decref(w.entries);
                return NULL;
        }
        json_t *root = json_object();
        json_object_set_new(root, "entries", w.entries);
        json_object_set_new(root, "count", json_integer((json_int_t)w.n));
        json_object_set_new(root, "truncated", json_boolean(w.more));
        return root;
}

json_t *dead_list_json(struct queue *q, size_t limit, bool with_job, struct error *err)
{
        struct dead_args a = { .verb = "list", .limit = limit, .json = true };

        return list_json(q, &a, with_job, err);
}

static int dead_list(struct queue *q, const struct dead_args *a)
{
        struct list_walk w = { .a = a };
        struct error err;

        if (a->json) {
                json_t *root = list_json(q, a, false, &err);
                if (!root) {
                        fprintf(stderr, "dunningctl: %s\n", err.msg);
                        return CTL_FAIL;
                }
                return ctl_print_json(root);
        }
        if (queue_dead_range(q, "-", "+", DEAD_PAGE, list_one, &w, &err) < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                return CTL_FAIL;
        }
        if (w.more)
                printf("%zu dead-lettered job(s) shown; more match (--limit N, 0 for all)\n", w.n);
        else
                printf("%zu dead-lettered job(s)\n", w.n);
        return CTL_OK;
}

struct show {
        bool json;
        bool found;
        json_t *root;
};

static void print_field(const char *name, const char *value)
{
        if (value && *value)
                printf("%-9s %s\n", name, value);
}

static int show_one(const struct queue_dead *d, void *data)
{
        struct show *s = data;
        json_t *job = parse_job(d->job);

        s->found = true;
        if (s->json) {
                s->root = entry_json(d, job);
                /* the job as JSON when it is JSON, else its text as it is */
                json_object_set_new(s->root, "job", job ? json_incref(job) : ctl_jstr(d->job));
                json_decref(job);
                return 1;
        }
        print_field("id", d->id);
        print_field("time", d->time);
        print_field("reason", d->reason);
        print_field("error", d->error);
        print_field("attempts", d->attempts);
        print_field("entry", d->entry);
        char *pretty = job ? json_dumps(job, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (pretty)
                printf("job:\n%s\n", pretty);
        else
                printf("job (not JSON):\n%s\n", d->job ? d->job : "");
        free(pretty);
        json_decref(job);
        return 1;
}

static int dead_show(struct queue *q, const struct dead_args *a)
{
        struct show s = { .json = a->json };
        struct error err;
        int rc = queue_dead_range(q, a->id, a->id, 1, show_one, &s, &err);

        if (rc < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                json_decref(s.root);
                return CTL_FAIL;
        }
        if (!s.found) {
                fprintf(stderr, "dunningctl: no dead letter with id %s\n", a->id);
                return CTL_FAIL;
        }
        return s.root ? ctl_print_json(s.root) : CTL_OK;
}

/* ---- retry and drop ---- */

struct bulk {
        struct queue *q;
        const struct dead_args *a;
        bool retry;
        size_t matched;
        /* the batch being collected */
        size_t n;
        char *ids[DEAD_BATCH];
        char *jobs[DEAD_BATCH];
        bool invalid[DEAD_BATCH];
        /* outcome */
        long long done, gone, still_invalid;
        json_t *ids_done;
        struct error err;
};

/* The job to put back: a valid one starts again with no attempts behind
 * it; one that is still invalid goes back as it is (and comes back). */
static char *fresh_job(const char *text, bool *invalid)
{
        struct job *job = NULL;
        struct error jerr;
        char *fresh = NULL;

        if (text && job_parse(&job, text, strlen(text), &jerr) == 0)
                fresh = job_json_with_attempt(job, 0);
        *invalid = job == NULL;
        job_free(job);
        return fresh ? fresh : xstrdup(text ? text : "");
}

static int flush(struct bulk *b)
{
        int result[DEAD_BATCH];
        int rc;

        if (b->n == 0)
                return 0;
        if (b->retry)
                rc = queue_dead_retry(b->q, (const char *const *)b->ids,
                                      (const char *const *)b->jobs, b->n, result, &b->err);
        else
                rc = queue_dead_drop_many(b->q, (const char *const *)b->ids, b->n, result,
                                          &b->err);
        for (size_t i = 0; i < b->n; i++) {
                if (result[i] == 1) {
                        b->done++;
                        b->still_invalid += b->invalid[i];
                        json_array_append_new(b->ids_done, json_string(b->ids[i]));
                } else if (result[i] == 0) {
                        b->gone++;
                }
                free(b->ids[i]);
                free(b->jobs[i]);
        }
        b->n = 0;
        return rc;
}

static int bulk_one(const struct queue_dead *d, void *data)
{
        struct bulk *b = data;
        json_t *job = b->a->f.campaign ? parse_job(d->job) : NULL;
        bool match = dead_filter_match(&b->a->f, d->reason, job_string(job, "campaign", NULL),
                                       dead_entry_time(d->time, d->id));

        json_decref(job);
        if (!match)
                return 0;
        if (b->a->limit && b->matched == b->a->limit)
                return 1;
        b->matched++;
        b->ids[b->n] = xstrdup(d->id);
        b->jobs[b->n] = b->retry ? fresh_job(d->job, &b->invalid[b->n]) : NULL;
        if (!b->retry)
                b->invalid[b->n] = false;
        if (++b->n == DEAD_BATCH && flush(b) < 0)
                return -1;
        return 0;
}

/* One entry: the same walk over the range [id, id]. */
static int walk_one(struct bulk *b, const char *id)
{
        return queue_dead_range(b->q, id, id, 1, bulk_one, b, &b->err);
}

int dead_apply(struct queue *q, const char *id, bool retry, bool *still_invalid,
               struct error *err)
{
        struct dead_args a = { .verb = retry ? "retry" : "drop", .id = id,
                               .f = { .all = true } };
        struct bulk b = { .q = q, .a = &a, .retry = retry, .ids_done = json_array() };
        int rc = dead_id_valid(id) ? walk_one(&b, id) : 0;

        if (rc >= 0)
                rc = flush(&b);
        else
                flush(&b);
        json_decref(b.ids_done);
        if (rc < 0) {
                *err = b.err;
                return rc;
        }
        if (still_invalid)
                *still_invalid = b.still_invalid > 0;
        if (b.done == 0)
                return error_set(err, -ENOENT, "no dead letter with id %s", id);
        return 0;
}

static void print_bulk(const struct bulk *b)
{
        if (b->retry && b->a->id) {
                printf("%s: back on the queue%s\n", b->a->id,
                       b->still_invalid ? " (still invalid: it will come back here)" : "");
                return;
        }
        if (!b->retry && b->a->id) {
                printf("%s: dropped\n", b->a->id);
                return;
        }
        printf("%s %lld dead-lettered job(s)", b->retry ? "retried" : "dropped", b->done);
        if (b->still_invalid)
                printf("; %lld still invalid (they will come back)", b->still_invalid);
        if (b->gone)
                printf("; %lld gone meanwhile", b->gone);
        putchar('\n');
}

static int dead_bulk(struct queue *q, const struct dead_args *a, bool retry)
{
        struct bulk b = { .q = q, .a = a, .retry = retry, .ids_done = json_array() };
        struct dead_filter any = { .all = true };
        struct dead_args one = *a;
        char last[48];
        int rc;

        if (a->id) {
                one.f = any;
                b.a = &one;
                rc = walk_one(&b, a->id);
        } else {
                /* Only what is there now: a retried job that is still
                 * invalid comes back as a new entry, which this walk
                 * must not meet again and again. */
                rc = queue_dead_last(q, last, &b.err);
                if (rc == 0 && last[0])
                        rc = queue_dead_range(q, "-", last, DEAD_PAGE, bulk_one, &b, &b.err);
        }
        if (rc >= 0)
                rc = flush(&b);
        else
                flush(&b);      /* what was collected is still true; report it */
        b.a = a;
        if (rc == 0 && a->id && b.done == 0) {
                rc = error_set(&b.err, -ENOENT, "no dead letter with id %s", a->id);
        }
        if (rc < 0)
                fprintf(stderr, "dunningctl: %s\n", b.err.msg);
        if (rc < 0 && a->id) {
                json_decref(b.ids_done);
                return CTL_FAIL;
        }
        if (a->json) {
                json_t *root = json_object();
                json_object_set_new(root, retry ? "retried" : "dropped", json_integer(b.done));
                if (retry)
                        json_object_set_new(root, "still_invalid", json_integer(b.still_invalid));
                json_object_set_new(root, "gone", json_integer(b.gone));
                json_object_set_new(root, "ids", b.ids_done);
                int out = ctl_print_json(root);
                return rc < 0 ? CTL_FAIL : out;
        }
        json_decref(b.ids_done);
        print_bulk(&b);
        return rc < 0 ? CTL_FAIL : CTL_OK;
}

int dead_cmd(const struct config *cfg, int argc, char **argv, bool json)
{
        struct dead_args a = { .json = json };
        struct queue *q = NULL;
        int rc;

        if (parse_args(&a, argc, argv) != 0)
                return CTL_USAGE;
        if (ctl_open_queue(cfg, &q) < 0)
                return CTL_FAIL;
        if (strcmp(a.verb, "list") == 0)
                rc = dead_list(q, &a);
        else if (strcmp(a.verb, "show") == 0)
                rc = dead_show(q, &a);
        else
                rc = dead_bulk(q, &a, strcmp(a.verb, "retry") == 0);
        queue_free(q);
        return rc;
}
