/* import.h: campaign files (CSV, JSON Lines, JSON array) -> validated jobs.
 *
 * Every job is validated with job_parse before it is handed out; a bad row
 * or line does not stop the import: it becomes one message in
 * res->errors ("NAME:LINE: <field>: <reason>") and the good ones are kept.
 * Only a file that cannot be read or parsed at all fails the call.
 *
 * CSV (',' or ';' separated, see csv.h): a header row names the columns by
 * job field path, in any order: campaign, step, customer.id, customer.name,
 * customer.locale, customer.segment, customer.email, customer.phone,
 * customer.address.line1..line4, customer.address.postal_code,
 * customer.address.city, customer.address.country,
 * customer.preferred_channel, customer.consent.email, customer.consent.sms
 * (true/false/yes/no/1/0/ja/nee), customer.timezone, invoice.number,
 * invoice.amount_cents, invoice.currency, invoice.issued, invoice.due,
 * not_before. An unknown or missing required column fails the file. Cells
 * are trimmed of spaces and tabs; an empty cell is an absent field. Rows
 * with the same (campaign, step, customer.id) form one job with one invoice
 * per row; the job takes the other fields from its first row, and a row
 * that differs there, or any bad row, rejects the whole job. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct import_job {
        char *json;             /* the job's compact JSON text, owned */
        char job_id[19];        /* "j-..." (job.h) */
        char reminder_id[19];   /* "r-..." (job.h) */
        int64_t not_before_ms;  /* 0: send now */
        int line;               /* line the job (CSV: its first row) starts on;
                                 * for a JSON array the element's index */
};

struct import_result {
        struct import_job *jobs;        /* valid jobs in file order, owned */
        size_t n_jobs;
        char **errors;                  /* one message per bad row/line, owned */
        size_t n_errors;
        /* private: capacity of jobs and a hash index of their job ids
         * (slot -> job index + 1), so duplicate checks stay O(1) */
        size_t cap_jobs;
        size_t *id_index;
        size_t id_slots;
};

/* Reads path and imports it; the format comes from the extension (.csv,
 * .jsonl, .json; any case) and messages start with path. at_ms > 0 sets
 * not_before of every job (the --at option). Returns 0 and fills *res
 * (free with import_result_free) even when some rows were bad; returns a
 * negative errno with err set (and *res empty) when the file cannot be
 * read, has an unknown extension, or is not CSV / a JSON array at all. */
int import_file(struct import_result *res, const char *path, int64_t at_ms,
                struct error *err);

/* Same for data[0..len) (borrowed) named name in messages; format is "csv",
 * "jsonl" or "json". */
int import_buffer(struct import_result *res, const char *name, const char *data,
                  size_t len, const char *format, int64_t at_ms, struct error *err);

/* How far an import is, for a progress line: fn(done, total, data) is
 * called every IMPORT_PROGRESS_EVERY rows and once when all total rows
 * (CSV data rows, JSON Lines lines, JSON array elements) are checked.
 * total is known before the first call; 0 would mean it is not. */
#define IMPORT_PROGRESS_EVERY 256
struct import_progress {
        void (*fn)(size_t done, size_t total, void *data);
        void *data;             /* borrowed */
};

/* import_file and import_buffer reporting to progress (NULL: none). */
int import_file_progress(struct import_result *res, const char *path, int64_t at_ms,
                         const struct import_progress *progress, struct error *err);
int import_buffer_progress(struct import_result *res, const char *name, const char *data,
                           size_t len, const char *format, int64_t at_ms,
                           const struct import_progress *progress, struct error *err);

/* Everything an import can be told. */
struct import_opts {
        int64_t at_ms;                  /* > 0: not_before of every job (--at) */
        /* ISO 3166-1 alpha-2 (channels.sms.default_country): customer.phone
         * written nationally (06-12345678) becomes E.164; NULL: as written */
        const char *default_country;
};
int import_file_opts(struct import_result *res, const char *path, const struct import_opts *o,
                     const struct import_progress *progress, struct error *err);
int import_buffer_opts(struct import_result *res, const char *name, const char *data,
                       size_t len, const char *format, const struct import_opts *o,
                       const struct import_progress *progress, struct error *err);

/* Frees everything in res and leaves it empty; NULL-safe. */
void import_result_free(struct import_result *res);
