/* paid.c: `dunningctl paid`: a payment the operator learnt of (a bank
 * statement, cash at the desk), applied with the daemon's own code
 * (tracking_apply), so it is deduplicated, attributed and counted exactly
 * like one from the payments stream. */
#include "paid.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctl.h"
#include "job.h"
#include "queue.h"
#include "stats_cmd.h"
#include "tracking.h"

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The payment argv describes; a usage error is printed (CTL_USAGE). */
static int parse_args(struct tracking_payment *p, int argc, char **argv, bool *json)
{
        static const struct option opts[] = {
                { "amount-cents", required_argument, NULL, 'a' },
                { "at", required_argument, NULL, 't' },
                { "reference", required_argument, NULL, 'r' },
                { "method", required_argument, NULL, 'm' },
                { "id", required_argument, NULL, 'i' },
                { "json", no_argument, NULL, 'j' },
                { 0 },
        };
        struct error err;
        bool amount = false, at = false;
        const char *id = NULL;
        int c;

        memset(p, 0, sizeof(*p));
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        if (tracking_parse_amount(optarg, &p->amount_cents, &err) < 0)
                                return ctl_usage_error("paid", "--amount-cents: %s", err.msg);
                        amount = true;
                        break;
                case 't':
                        if (stats_parse_since(optarg, &p->paid_ms) < 0)
                                return ctl_usage_error("paid",
                                                       "--at: not a date, RFC 3339 time or Unix seconds: %s",
                                                       optarg);
                        at = true;
                        break;
                case 'r':
                        if (tracking_set_reference(p, optarg, &err) < 0)
                                return ctl_usage_error("paid", "--reference: %s", err.msg);
                        break;
                case 'm':
                        if (!tracking_token_ok(optarg, sizeof(p->method) - 1))
                                return ctl_usage_error("paid", "--method: letters, digits, - and _, "
                                                               "at most 31: %s", optarg);
                        snprintf(p->method, sizeof(p->method), "%s", optarg);
                        break;
                case 'i':
                        if (!*optarg || strlen(optarg) >= sizeof(p->provider_id))
                                return ctl_usage_error("paid", "--id: 1 to %zu bytes",
                                                       sizeof(p->provider_id) - 1);
                        id = optarg;
                        break;
                case 'j': *json = true; break;
                default: return ctl_bad_option("paid", c, argv);
                }
        }
        if (optind == argc)
                return ctl_usage_error("paid", "which invoice?");
        if (optind + 1 < argc)
                return ctl_usage_error("paid", "one invoice at a time; unexpected \"%s\"",
                                       argv[optind + 1]);
        const char *invoice = argv[optind];
        if (!*invoice || strlen(invoice) >= sizeof(p->invoice))
                return ctl_usage_error("paid", "INVOICE: 1 to %zu bytes", sizeof(p->invoice) - 1);
        if (!amount)
                return ctl_usage_error("paid", "--amount-cents is required");
        snprintf(p->invoice, sizeof(p->invoice), "%s", invoice);
        snprintf(p->source, sizeof(p->source), "ctl");
        /* The same command twice is one payment: the id comes from what
         * was typed (--at only when given, not the clock). */
        if (id)
                snprintf(p->provider_id, sizeof(p->provider_id), "%s", id);
        else
                tracking_payment_id(p->provider_id, sizeof(p->provider_id), "ctl", p->invoice,
                                    "", p->amount_cents, at ? p->paid_ms : 0, p->reference);
        if (!at)
                p->paid_ms = now_ms();
        return 0;
}

/* ---- text ---- */

static void print_attribution(const struct tracking_attribution *a, int window_days)
{
        switch (a->kind) {
        case TRACKING_DIRECT:
        case TRACKING_ASSISTED:
                printf("%s via %s (reminder %s, step %s, campaign %s", tracking_kind_name(a->kind),
                       job_channel_name(a->channel), a->reminder[0] ? a->reminder : "-",
                       a->step[0] ? a->step : "-", a->campaign[0] ? a->campaign : "-");
                if (a->hours >= 0)
                        printf(", %.1f h after the send", a->hours);
                printf(")");
                break;
        case TRACKING_HELD_OUT:
                printf("held out (step %s of campaign %s was held out; organic for the "
                       "channels)", a->step[0] ? a->step : "-", a->campaign[0] ? a->campaign : "-");
                break;
        case TRACKING_ORGANIC:
                printf("organic (no reminder in the %d days before)", window_days);
                break;
        }
}

static void print_plan(const struct tracking_payment *p, const struct tracking_plan *plan,
                       const struct config *cfg)
{
        if (plan->outcome == TRACKING_DUPLICATE) {
                printf("duplicate: payment %s was recorded before; nothing changed\n",
                       p->provider_id);
                return;
        }
        for (size_t i = 0; i < plan->n; i++) {
                const struct tracking_line *l = &plan->lines[i];
                if (!l->known) {
                        printf("kept: %s is not a known invoice; %" PRId64 " cents recorded on "
                               "it, so a reminder for it later sees the payment\n",
                               l->invoice, l->applied_cents);
                        continue;
                }
                printf("applied: %s open %" PRId64 " -> %" PRId64 " cents, ", l->invoice,
                       l->open_before, l->open_after);
                if (l->completed) {
                        printf("paid; ");
                        print_attribution(&l->attr, cfg->tracking.attribution_window_days);
                } else if (l->was_paid) {
                        printf("paid before");
                } else {
                        printf("not paid yet");
                }
                if (l->overpaid_cents)
                        printf("; %" PRId64 " cents overpaid", l->overpaid_cents);
                printf("\n");
        }
        for (size_t i = 0; i < plan->n_customers; i++) {
                const struct tracking_delta *d = &plan->customers[i];
                if (strcmp(d->segment_before, d->segment_after) != 0)
                        printf("customer %s: segment %s -> %s\n", d->name, d->segment_before,
                               d->segment_after);
        }
}

/* ---- JSON ---- */

static json_t *attribution_json(const struct tracking_attribution *a)
{
        json_t *o = json_object();
        json_object_set_new(o, "reason", json_string(tracking_kind_name(a->kind)));
        json_object_set_new(o, "channel", a->channel != JOB_CHANNEL_NONE
                                                  ? json_string(job_channel_name(a->channel))
                                                  : json_null());
        json_object_set_new(o, "reminder", ctl_jstr(a->reminder[0] ? a->reminder : NULL));
        json_object_set_new(o, "step", ctl_jstr(a->step[0] ? a->step : NULL));
        json_object_set_new(o, "campaign", ctl_jstr(a->campaign[0] ? a->campaign : NULL));
        json_object_set_new(o, "hours", a->hours >= 0 ? json_real(a->hours) : json_null());
        return o;
}

static int print_plan_json(const struct tracking_payment *p, const struct tracking_plan *plan)
{
        static const char *const outcomes[] = { "applied", "duplicate", "unmatched" };
        json_t *root = json_object(), *lines = json_array(), *custs = json_array();
        char at[32];

        json_object_set_new(root, "outcome", json_string(outcomes[plan->outcome]));
        json_object_set_new(root, "provider_id", ctl_jstr(p->provider_id));
        json_object_set_new(root, "invoice", ctl_jstr(p->invoice));
        json_object_set_new(root, "amount_cents", json_integer(p->amount_cents));
        json_object_set_new(root, "paid_at", json_string(job_format_time(p->paid_ms, at)));
        json_object_set_new(root, "reference", ctl_jstr(p->reference[0] ? p->reference : NULL));
        json_object_set_new(root, "reminder", ctl_jstr(plan->reminder[0] ? plan->reminder : NULL));
        json_object_set_new(root, "unmatched", ctl_jstr(plan->unmatched));
        for (size_t i = 0; i < plan->n; i++) {
                const struct tracking_line *l = &plan->lines[i];
                json_t *o = json_object();
                json_object_set_new(o, "invoice", ctl_jstr(l->invoice));
                json_object_set_new(o, "known", json_boolean(l->known));
                json_object_set_new(o, "customer", ctl_jstr(l->customer[0] ? l->customer : NULL));
                json_object_set_new(o, "applied_cents", json_integer(l->applied_cents));
                json_object_set_new(o, "open_before_cents",
                                    l->known ? json_integer(l->open_before) : json_null());
                json_object_set_new(o, "open_after_cents",
                                    l->known ? json_integer(l->open_after) : json_null());
                json_object_set_new(o, "overpaid_cents", json_integer(l->overpaid_cents));
                json_object_set_new(o, "paid", json_boolean(l->known && l->open_after == 0));
                json_object_set_new(o, "completed", json_boolean(l->completed));
                json_object_set_new(o, "attribution",
                                    l->completed ? attribution_json(&l->attr) : json_null());
                json_array_append_new(lines, o);
        }
        for (size_t i = 0; i < plan->n_customers; i++)
                json_array_append_new(custs,
                                      json_pack("{s:o, s:s, s:s}", "customer",
                                                ctl_jstr(plan->customers[i].name),
                                                "segment_before",
                                                plan->customers[i].segment_before,
                                                "segment_after",
                                                plan->customers[i].segment_after));
        json_object_set_new(root, "invoices", lines);
        json_object_set_new(root, "customers", custs);
        return ctl_print_json(root);
}

int paid_cmd(const struct config *cfg, int argc, char **argv, bool json)
{
        struct tracking_payment p;
        struct tracking_plan plan;
        struct queue *q = NULL;
        struct error err;

        int rc = parse_args(&p, argc, argv, &json);
        if (rc != 0)
                return CTL_USAGE;
        if (ctl_open_queue(cfg, &q) < 0)
                return CTL_FAIL;
        rc = tracking_apply(q, cfg, &p, &plan, &err);
        queue_free(q);
        if (rc < 0) {
                fprintf(stderr, "dunningctl paid: %s\n", err.msg);
                return CTL_FAIL;
        }
        if (json)
                rc = print_plan_json(&p, &plan);
        else
                print_plan(&p, &plan, cfg);
        tracking_plan_free(&plan);
        return rc == 0 ? CTL_OK : CTL_FAIL;
}
