/* job.h: the reminder job (JSON version 1, see DESIGN.md) and its ids.
 *
 * job_parse validates everything a job must be before anything is sent;
 * errors name the field path ("customer.phone: not a valid E.164 number").
 * The original JSON text is kept (job->json) so nothing is lost when a job
 * is dead-lettered: unknown fields are kept there and otherwise ignored. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define JOB_MAX_BYTES (64 * 1024)   /* larger job texts are rejected */
#define JOB_MAX_INVOICES 100

/* dunningd's own field "rate_slot": the provider rate-limit slot a worker
 * reserved for one attempt of a job it put off (ratelimit.h), so the job
 * is not charged twice. Only a worker writes it: a job from outside
 * (job_json_rewrite) or with its attempt set anew (job_json_with_attempt)
 * has none. */
#define JOB_RATE_SLOT "rate_slot"

enum job_channel {
        JOB_CHANNEL_EMAIL,
        JOB_CHANNEL_SMS,
        JOB_CHANNEL_LETTER,
        JOB_CHANNEL__N,
        JOB_CHANNEL_NONE = -1,
};

struct job_address {
        char **lines;          /* NULL-terminated, 1..4 lines */
        size_t n_lines;
        char *postal_code;
        char *city;
        char *country;         /* ISO 3166-1 alpha-2 */
};

struct job_invoice {
        char *number;
        int64_t amount_cents;  /* > 0, minor units */
        char currency[4];      /* ISO 4217 */
        char issued[11];       /* YYYY-MM-DD or "" */
        char due[11];          /* YYYY-MM-DD */
};

struct job_customer {
        char *id;
        char *name;
        char *locale;          /* e.g. nl-NL */
        char *segment;         /* may be NULL */
        char *email;           /* may be NULL */
        char *phone;           /* E.164, may be NULL */
        bool has_address;
        struct job_address address;
        enum job_channel preferred_channel;   /* JOB_CHANNEL_NONE if absent */
        bool consent_email;    /* true when absent */
        bool consent_sms;      /* true when absent */
        char *timezone;        /* IANA name, may be NULL */
};

struct job_installment {
        char *arrangement;      /* the arrangement's id */
        int number, of;         /* 1-based, of how many */
        int64_t amount_cents;   /* this installment */
        int64_t cum_cents;      /* this and every earlier one */
        int64_t base_paid_cents;/* paid on the invoices before the arrangement */
        char due[11];           /* YYYY-MM-DD */
};

struct job {
        int v;
        char *campaign;
        char *step;
        struct job_customer customer;
        struct job_invoice *invoices;
        size_t n_invoices;
        int64_t not_before_ms; /* 0 when absent; Unix ms */
        int attempt;           /* dunningd's own field: send attempts so far */
        /* The share of customers kept from receiving this step, so the
         * payment rate with and without it can be compared (0..0.5;
         * 0 when absent). policy_held_out decides who. */
        double holdout;
        /* dunningd's own field "skip_channels": channels that failed for
         * this reminder after it was sent (an undelivered SMS), so the
         * policy goes on with the next one. */
        bool skip[JOB_CHANNEL__N];
        /* dunningd's own field "flow": the segment whose escalation flow
         * scheduled this step (job_json_for_step), so the flow goes on
         * when the customer's derived segment changes on the way; NULL
         * for an enqueued job. */
        char *flow;
        /* dunningd's own field "installment": this job is the friendly
         * reminder of one installment of a payment arrangement
         * (arrangements.h); NULL for any other job. Its reminder id
         * counts the arrangement and the installment's number in, so
         * every installment is a reminder of its own. */
        struct job_installment *installment;
        char reminder_id[19];  /* "r-" + 16 hex: hash of (step, sorted invoice numbers) */
        char job_id[19];       /* "j-" + 16 hex: hash of (campaign, step, sorted invoice numbers) */
        char *json;            /* the text it was parsed from, owned */
};

/* Parses and validates one job. On success *out owns a new job (job_free).
 * On failure returns -EINVAL and err->msg is "<field path>: <reason>" (or
 * "job: <reason>" for the whole text). Never crashes on any input. */
int job_parse(struct job **out, const char *json, size_t len, struct error *err);

void job_free(struct job *job);

/* The customer's address on channel ch: e-mail address, E.164 number, or
 * NULL (letters, or none given). Borrowed from job. */
const char *job_contact(const struct job *job, enum job_channel ch);

/* Channel names as they appear in jobs, config and keys. */
const char *job_channel_name(enum job_channel ch);
/* JOB_CHANNEL_NONE when name is not a channel. */
enum job_channel job_channel_from_name(const char *name);

/* Writes "r-" + 16 hex digits, the reminder id of (step, invoice numbers in
 * any order) into out[19]. Same invoices at the same step: same id. */
void job_reminder_id(char out[19], const char *step, const char *const *numbers, size_t n);

/* Writes "j-" + 16 hex digits for (campaign, step, invoice numbers). */
void job_id(char out[19], const char *campaign, const char *step,
            const char *const *numbers, size_t n);

/* Returns the job's JSON text with "attempt" set to attempt and no
 * "rate_slot" (newly allocated; free it). Used when a job goes back to the
 * scheduled set for a retry, and when a dead letter is retried. */
char *job_json_with_attempt(const struct job *job, int attempt);

/* Returns the job's JSON text for the next step of its flow: "step" set
 * to step, "not_before" to not_before_ms (job_format_time), "flow" to
 * flow (NULL: left as it is), "attempt" and "skip_channels" dropped
 * (newly allocated; free it), or NULL. The same job, step, time and flow
 * always give the same text, so scheduling it twice leaves one entry in
 * the scheduled set. The same step again later: job_json_later. */
char *job_json_for_step(const struct job *job, const char *step, int64_t not_before_ms,
                        const char *flow);

/* Returns the job's JSON text for the same step again later: "not_before"
 * set to not_before_ms, "attempt" dropped (a new round of tries),
 * "skip_channels" kept, since the channels that did not reach the customer
 * for this reminder still do not (newly allocated; free it), or NULL.
 * Used when a job is parked by a hold or put off to the best hour. */
char *job_json_later(const struct job *job, int64_t not_before_ms);

/* Returns the job's JSON text with ch added to "skip_channels" and
 * "attempt" reset (newly allocated; free it), or NULL. Used when a channel
 * reports, after the send, that it did not reach the customer. */
char *job_json_with_skip(const struct job *job, enum job_channel ch);

/* Parses RFC 3339 ("2026-11-23T09:00:00+01:00", "Z" allowed, optional
 * fraction) into Unix ms. Returns 0 or -EINVAL. */
int job_parse_time(const char *s, int64_t *ms);

/* Formats Unix ms as RFC 3339 UTC into out ("2026-11-23T08:00:00Z", with
 * ".mmmZ" when ms is not a whole second). Returns out. */
char *job_format_time(int64_t ms, char out[32]);

/* Re-serialises a JSON object text compactly, keeping key order; when
 * not_before_ms > 0, "not_before" is set to that time (job_format_time);
 * with default_country (ISO alpha-2, may be NULL) a customer.phone that is
 * not E.164 is normalised (phone.h) when it can be; "rate_slot" is
 * dropped, since a job from outside has reserved no slot.
 * Returns a new string (free it), or NULL when text is not a JSON object:
 * job_parse then says why. Used by the importer for every JSON job. */
char *job_json_rewrite(const char *json, size_t len, int64_t not_before_ms,
                       const char *default_country);

/* Splits a JSON array text into the compact texts of its elements.
 * On success *elems (n entries, each and the array freed by the caller)
 * is set; returns -EINVAL with "not valid JSON at line L column C: ..."
 * or "not a JSON array" in err otherwise. */
int job_json_split_array(char ***elems, size_t *n, const char *json, size_t len,
                         struct error *err);

/* True when s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool job_utf8_valid(const char *s, size_t n);
