/* config.h: dunningd's configuration, loaded from YAML into one struct.
 *
 * Every key is one row of the schema table in config.c (type, default,
 * bounds, required). Secrets are only ever given as *_file paths; the file
 * contents land in the struct (e.g. redis.password_file -> redis.password)
 * and must never be logged. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct config_channel {
        char *transport;   /* "outbox" (default), "smtp" (email), "http" (sms, letter) */
        char *from;        /* email: "Name <addr>" */
        char *sender;      /* sms: alphanumeric sender id or number */
        int max_segments;  /* sms */
        /* sms transport http: the provider's API (channels/sms.c) */
        char *provider;         /* "messagebird" | "twilio" | "generic" */
        char *url;              /* endpoint; NULL: the provider's documented one */
        char *token;            /* contents of token_file (AccessKey / auth token); never logged */
        char *account_sid;      /* twilio */
        char *body_template;    /* generic: the JSON body, Mustache with to/from/body/reference */
        char *report_url;       /* where the provider posts delivery reports, or NULL */
        char *default_country;  /* ISO 3166-1 alpha-2 for numbers without +CC */
        char *quiet_hours;      /* "HH:MM-HH:MM" in the customer's zone, or "none" */
        int connect_timeout_ms;
        int timeout_ms;         /* a whole request */
        int connections;        /* requests in flight per worker in a batch */
        /* letter transport http (channels/print.c) uses url, token,
         * connect_timeout_ms and timeout_ms above: the print service's
         * upload endpoint and its Bearer token */
        int postal_lag_days;  /* letter: days until assumed delivery (WIK term) */
        char *reply_to;          /* email: Reply-To address, or NULL */
        char *list_unsubscribe;  /* email: List-Unsubscribe value, or NULL */
        struct {
                char *host;      /* email transport smtp: server name or address */
                int port;
                char *tls;       /* "none" | "starttls" (required) | "tls" */
                char *ca_file;   /* PEM CA bundle, or NULL: the system's default paths */
                char *username;  /* NULL: no AUTH */
                char *password;  /* contents of password_file, or NULL; never logged */
                int timeout_ms;  /* each protocol wait */
        } smtp;
};

/* One step of an escalation flow (flows.<segment>[i]). */
struct config_flow_step {
        char *step;              /* the job's "step" this is */
        int after_due_days;      /* -1: not given */
        int after_previous_days; /* -1: not given; neither: 0 after the previous step */
        char **channels;         /* as written, NULL-terminated; NULL: any channel */
        size_t n_channels;
        unsigned channel_mask;   /* bit 1 << enum job_channel; 0: any channel */
        bool handover;           /* the step named "handover": no message, a handover
                                  * event for the collection agency; always the last */
};

/* The steps a segment's reminders go through, in order. */
struct config_flow {
        char *segment;           /* "default": segments without a flow of their own */
        struct config_flow_step *steps;
        size_t n_steps;
};

struct config {
        char *path;        /* the file it was loaded from */

        struct {
                char *url;      /* unix:///path or redis://host:port/db */
                char *password; /* contents of password_file, or NULL */
                char *username; /* ACL user for AUTH username password, or NULL */
                char *prefix;
        } redis;

        int workers;

        struct {
                int batch;
                int block_ms;
                int claim_idle_ms;
                int max_deliveries;    /* deliveries of one stream entry before it is dead */
                int drain_timeout_ms;
                int max_attempts;      /* send attempts (temporary failures) before dead */
                int retry_base_ms;     /* first retry delay; doubles per attempt */
                int retry_max_ms;      /* cap of the retry delay */
                int sent_ttl_days;     /* lifetime of idempotency markers */
                int events_maxlen;     /* approximate cap of <prefix>:events */
                int housekeep_interval_ms;  /* trim acked entries, drop dead consumers */
                int consumer_expire_ms;     /* idle consumers holding nothing are dropped */
        } queue;

        char *listen;      /* host:port */
        int watchdog_ms;   /* a worker without progress or idling this long is stuck */
        char *templates;   /* directory laid out like templates/default */
        char *default_locale;  /* the last locale templates fall back to */
        char *default_timezone; /* customers without customer.timezone live here */
        char *outbox;

        struct {
                char *name;
                char *iban;
                char *bic;
                char **address;    /* NULL-terminated */
                size_t n_address;
        } creditor;

        struct {
                struct config_channel email, sms, letter;
        } channels;

        struct {
                char *level;       /* debug | info | warning | error */
        } log;

        /* The pay link in SMS, e-mail and letters (channels/paylink.h). */
        struct {
                char *provider;      /* "none" | "mollie" | "static" */
                char *api_url;       /* mollie: API base, https://api.mollie.com/v2 */
                char *api_key;       /* contents of api_key_file; never logged */
                char *redirect_url;  /* mollie: where the payer lands afterwards */
                char *webhook_url;   /* mollie: our public /webhooks/mollie, or NULL */
                int expires_days;    /* a link stays valid this long */
                char *url_template;  /* static: "https://pay.example/p/{token}" */
                char *secret;        /* static: contents of secret_file, the HMAC key */
                int timeout_ms;
        } paylink;

        /* Per-customer and per-segment response history (daemon/history.h). */
        struct {
                bool enabled;            /* read before and written with every send */
                int segment_refresh_ms;  /* workers re-read segment aggregates this often */
                int retention_days;      /* invoice, reminder and daily stats keys live this long */
        } history;

        /* Payments in and their attribution (daemon/tracking.h). */
        struct {
                int attribution_window_days;  /* last reminder this recent is credited "assisted" */
                int late_after_days;          /* paid more than this after due counts as late */
        } tracking;

        /* Holds and disputes (daemon/hold.h). */
        struct {
                int recheck_hours;        /* a job held without an end looks again this often */
                int dispute_flag_count;   /* this many disputes flag a customer for a person */
        } holds;

        /* Payment arrangements (daemon/arrangements.h). */
        struct {
                int remind_days;          /* the installment reminder this many days before */
                int grace_days;           /* an installment unpaid this long after lapses it */
                int check_interval_ms;    /* how often the daemon looks for lapsed ones */
        } arrangements;

        /* Segments derived from payment behaviour when a job names none. */
        struct {
                int min_invoices;             /* fewer invoices paid: "new" */
                int on_time_max_late;         /* at most this many late: "on-time" */
                double structural_late_share; /* this share or more late: "structural-late" */
        } segments;

        /* Channel choice (daemon/policy.h). */
        struct {
                double exploration;       /* share of decisions that sample (Thompson) */
                int seed;                 /* makes the sampling reproducible */
                double segment_weight;    /* pseudo-sends the segment's rate is worth */
                double preference_boost;  /* added to the preferred channel's prior payment rate */
                int cost_cents[3];        /* per message, by enum job_channel */
                bool final_notice_email;  /* a final notice may also go by e-mail */
        } policy;

        /* Escalation flows (daemon/flow.h), by segment; none: every job
         * stands alone, as enqueued. */
        struct config_flow *flows;
        size_t n_flows;

        /* E-mail and SMS at the customer's best hour (daemon/timing.h). */
        struct {
                bool enabled;
                char *send_window;        /* "HH:MM-HH:MM" local time */
                int min_payments;         /* fewer payments known: no best hour */
                bool weekends;            /* false: nothing on Saturday and Sunday */
                char **holidays;          /* "YYYY-MM-DD" in the customer's zone */
                size_t n_holidays;
        } timing;

        /* The credit team's pages and API on listen (daemon/ui.h). */
        struct {
                bool enabled;             /* false: /ui/ and /api/v1/ answer 404 */
                char *token;              /* contents of token_file (at least
                                           * UI_TOKEN_MIN characters); never logged */
        } ui;
        /* Provider rate limits (daemon/ratelimit.h) and contact limits
         * per customer (daemon/contact.h). */
        struct {
                char *rate[3];            /* by enum job_channel: "50/s", or NULL: none */
                int contact_max;          /* reminders per customer in contact_days; 0: any */
                int contact_days;
                int contact_gap_hours;    /* none within this many hours of the last; 0: off */
        } limits;

        /* How long personal data stays (history.retention_days and
         * queue.sent_ttl_days cover the customer hashes and the markers). */
        struct {
                int events_days;          /* <prefix>:events entries older are trimmed; 0: off */
                int payments_days;        /* <prefix>:payments entries likewise */
        } retention;
};

#define UI_TOKEN_MIN 16

/* Loads and validates path. On success *out owns a new config (free with
 * config_free). On failure returns a negative errno, *out is untouched and
 * err holds every problem found, one per line, each as
 * "FILE:LINE:COL: key: reason". */
int config_load(struct config **out, const char *path, struct error *err);

/* Frees cfg and wipes its secrets first. NULL is a no-op. */
void config_free(struct config *cfg);
