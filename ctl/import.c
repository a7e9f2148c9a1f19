/* import.c: turns a campaign file (CSV from an ERP or spreadsheet, JSON
 * Lines, or a JSON array) into validated job JSON texts for dunningctl
 * enqueue. Bad rows become "NAME:LINE: <field>: <reason>" messages that
 * name the CSV column; the good rows are kept. Validation itself is
 * job_parse's: this file only maps CSV columns to job fields and back. */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "csv.h"
#include "job.h"
#include "phone.h"

#define IMPORT_MAX_FILE (256u * 1024 * 1024)

enum column_kind {
        COL_KEY,        /* campaign, step, customer.id: they group rows into a job */
        COL_JOB,        /* per job: must be the same on every row of a job */
        COL_INVOICE,    /* per row */
};

enum column_id {
        COL_CAMPAIGN,
        COL_STEP,
        COL_CUSTOMER_ID,
        COL_NAME,
        COL_LOCALE,
        COL_SEGMENT,
        COL_EMAIL,
        COL_PHONE,
        COL_LINE1,
        COL_LINE2,
        COL_LINE3,
        COL_LINE4,
        COL_POSTAL_CODE,
        COL_CITY,
        COL_COUNTRY,
        COL_PREFERRED_CHANNEL,
        COL_CONSENT_EMAIL,
        COL_CONSENT_SMS,
        COL_TIMEZONE,
        COL_NUMBER,
        COL_AMOUNT,
        COL_CURRENCY,
        COL_ISSUED,
        COL_DUE,
        COL_NOT_BEFORE,
        COL__N,
};

/* The CSV columns: header name (= the job field path, invoices[k] being
 * "invoice") and whether a file without it can make any valid job. */
static const struct column {
        const char *name;
        enum column_kind kind;
        bool required;
} columns[COL__N] = {
        [COL_CAMPAIGN] = { "campaign", COL_KEY, true },
        [COL_STEP] = { "step", COL_KEY, true },
        [COL_CUSTOMER_ID] = { "customer.id", COL_KEY, true },
        [COL_NAME] = { "customer.name", COL_JOB, true },
        [COL_LOCALE] = { "customer.locale", COL_JOB, true },
        [COL_SEGMENT] = { "customer.segment", COL_JOB, false },
        [COL_EMAIL] = { "customer.email", COL_JOB, false },
        [COL_PHONE] = { "customer.phone", COL_JOB, false },
        [COL_LINE1] = { "customer.address.line1", COL_JOB, false },
        [COL_LINE2] = { "customer.address.line2", COL_JOB, false },
        [COL_LINE3] = { "customer.address.line3", COL_JOB, false },
        [COL_LINE4] = { "customer.address.line4", COL_JOB, false },
        [COL_POSTAL_CODE] = { "customer.address.postal_code", COL_JOB, false },
        [COL_CITY] = { "customer.address.city", COL_JOB, false },
        [COL_COUNTRY] = { "customer.address.country", COL_JOB, false },
        [COL_PREFERRED_CHANNEL] = { "customer.preferred_channel", COL_JOB, false },
        [COL_CONSENT_EMAIL] = { "customer.consent.email", COL_JOB, false },
        [COL_CONSENT_SMS] = { "customer.consent.sms", COL_JOB, false },
        [COL_TIMEZONE] = { "customer.timezone", COL_JOB, false },
        [COL_NUMBER] = { "invoice.number", COL_INVOICE, true },
        [COL_AMOUNT] = { "invoice.amount_cents", COL_INVOICE, true },
        [COL_CURRENCY] = { "invoice.currency", COL_INVOICE, true },
        [COL_ISSUED] = { "invoice.issued", COL_INVOICE, false },
        [COL_DUE] = { "invoice.due", COL_INVOICE, true },
        [COL_NOT_BEFORE] = { "not_before", COL_JOB, false },
};

/* Where a job came from, for messages: a line, or an index in a JSON array. */
struct where {
        int n;
        bool index;
};

/* ---- the result being built ---- */

static void add_error(struct import_result *res, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void add_error(struct import_result *res, const char *fmt, ...)
{
        struct buf b = BUF_INIT;
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        res->errors = xrealloc(res->errors, (res->n_errors + 1) * sizeof(*res->errors));
        res->errors[res->n_errors++] = buf_steal(&b);
}

static const char *where_str(char out[32], struct where w)
{
        snprintf(out, 32, w.index ? "[%d]" : "%d", w.n);
        return out;
}

/* Takes a valid job over into res, unless the file already had it. */
/* FNV-1a of a job id: the ids are already hashes, any spread will do. */
static size_t id_hash(const char *id)
{
        size_t h = 1469598103934665603ULL;
        for (; *id; id++)
                h = (h ^ (unsigned char)*id) * 1099511628211ULL;
        return h;
}

/* The slot of id in the index: where it is, or the empty one it would take. */
static size_t id_slot(const struct import_result *res, const char *id)
{
        size_t mask = res->id_slots - 1, s = id_hash(id) & mask;
        while (res->id_index[s] && strcmp(res->jobs[res->id_index[s] - 1].job_id, id) != 0)
                s = (s + 1) & mask;
        return s;
}

static void id_index_grow(struct import_result *res)
{
        free(res->id_index);
        res->id_slots = res->id_slots ? res->id_slots * 2 : 1024;
        res->id_index = xcalloc(res->id_slots, sizeof(*res->id_index));
        for (size_t i = 0; i < res->n_jobs; i++)
                res->id_index[id_slot(res, res->jobs[i].job_id)] = i + 1;
}

static void add_job(struct import_result *res, const char *name, struct where w,
                    struct job *job)
{
        char at[32];

        if ((res->n_jobs + 1) * 2 > res->id_slots)
                id_index_grow(res);
        size_t slot = id_slot(res, job->job_id);
        if (res->id_index[slot]) {
                size_t i = res->id_index[slot] - 1;
                char first[32];
                if (w.index)
                        where_str(first, (struct where){ res->jobs[i].line, true });
                else
                        snprintf(first, sizeof(first), "line %d", res->jobs[i].line);
                add_error(res, "%s:%s: job: duplicate of %s (job id %s)", name, where_str(at, w),
                          first, job->job_id);
                job_free(job);
                return;
        }
        if (res->n_jobs == res->cap_jobs) {
                res->cap_jobs = res->cap_jobs ? res->cap_jobs * 2 : 64;
                res->jobs = xrealloc(res->jobs, res->cap_jobs * sizeof(*res->jobs));
        }
        struct import_job *ij = &res->jobs[res->n_jobs++];
        ij->json = job->json;
        job->json = NULL;
        memcpy(ij->job_id, job->job_id, sizeof(ij->job_id));
        memcpy(ij->reminder_id, job->reminder_id, sizeof(ij->reminder_id));
        ij->not_before_ms = job->not_before_ms;
        ij->line = w.n;
        res->id_index[slot] = res->n_jobs;
        job_free(job);
}

void import_result_free(struct import_result *res)
{
        if (!res)
                return;
        for (size_t i = 0; i < res->n_jobs; i++)
                free(res->jobs[i].json);
        for (size_t i = 0; i < res->n_errors; i++)
                free(res->errors[i]);
        free(res->jobs);
        free(res->errors);
        free(res->id_index);
        memset(res, 0, sizeof(*res));
}

/* ---- progress ---- */

/* Reports done of total every IMPORT_PROGRESS_EVERY rows and at the end. */
static void report(const struct import_progress *p, size_t done, size_t total)
{
        if (p && p->fn && (done % IMPORT_PROGRESS_EVERY == 0 || done == total))
                p->fn(done, total, p->data);
}

/* ---- JSON Lines and JSON arrays ---- */

/* Validates one job text (with --at applied) and files it or its error. */
static void import_json_text(struct import_result *res, const char *name, struct where w,
                             const char *text, size_t len, const struct import_opts *o)
{
        char *compact = len <= JOB_MAX_BYTES
                                ? job_json_rewrite(text, len, o->at_ms, o->default_country)
                                : NULL;
        struct error e = { "" };
        struct job *job = NULL;
        char at[32];

        /* without a rewrite, job_parse says what is wrong with the text */
        if (job_parse(&job, compact ? compact : text, compact ? strlen(compact) : len, &e) < 0)
                add_error(res, "%s:%s: %s", name, where_str(at, w), e.msg);
        else
                add_job(res, name, w, job);
        free(compact);
}

static bool blank(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
                        return false;
        return true;
}

static void import_jsonl(struct import_result *res, const char *name, const char *data,
                         size_t len, const struct import_opts *o,
                         const struct import_progress *progress)
{
        size_t i = 0, lines = 0;
        int line = 1;

        /* counting the lines first costs a memchr pass; a total is what
         * makes a progress line worth reading */
        for (const char *p = progress ? data : NULL; p && p < data + len; lines++) {
                p = memchr(p, '\n', (size_t)(data + len - p));
                p = p ? p + 1 : NULL;
        }
        while (i < len) {
                const char *nl = memchr(data + i, '\n', len - i);
                size_t end = nl ? (size_t)(nl - data) : len;

                if (!blank(data + i, end - i))
                        import_json_text(res, name, (struct where){ line, false }, data + i,
                                         end - i, o);
                i = end + 1;
                report(progress, (size_t)line, lines);
                line++;
        }
}

static int import_json_array(struct import_result *res, const char *name, const char *data,
                             size_t len, const struct import_opts *o,
                             const struct import_progress *progress, struct error *err)
{
        char **elems = NULL;
        size_t n = 0;
        int r;

        r = job_json_split_array(&elems, &n, data, len, err);
        if (r < 0) {
                error_prefix(err, "%s", name);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                import_json_text(res, name, (struct where){ (int)i, true }, elems[i],
                                 strlen(elems[i]), o);
                free(elems[i]);
                report(progress, i + 1, n);
        }
        free(elems);
        return 0;
}

/* ---- CSV ---- */

struct row {
        const struct csv_record *rec;
        const char *cell[COL__N];       /* trimmed copies, "" when absent */
        char *key;                      /* campaign \0-joined step and customer.id */
        bool bad;                       /* reported already: its job is rejected */
        bool dropped;                   /* identical to an earlier row: ignored */
};

struct csv_import {
        struct import_result *res;
        const char *name;
        int64_t at_ms;
        const char *default_country;    /* phone numbers without +CC, or NULL */
        int col_index[COL__N];          /* field index in a record, -1: no such column */
        struct row *rows;
        size_t n_rows;
};

static char *trim_dup(const char *s)
{
        size_t n = strlen(s);

        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        while (n && (*s == ' ' || *s == '\t')) {
                s++;
                n--;
        }
        return xstrndup(s, n);
}

static void json_str(struct buf *b, const char *s)
{
        buf_putc(b, '"');
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\') {
                        buf_putc(b, '\\');
                        buf_putc(b, (char)c);
                } else if (c < 0x20) {
                        buf_printf(b, "\\u%04x", c);
                } else {
                        buf_putc(b, (char)c);
                }
        }
        buf_putc(b, '"');
}

/* ,"key":"value" when the cell is not empty */
static void json_member(struct buf *b, bool *first, const char *key, const char *value)
{
        if (!value[0])
                return;
        buf_puts(b, *first ? "" : ",");
        *first = false;
        json_str(b, key);
        buf_putc(b, ':');
        json_str(b, value);
}

static void json_bool_member(struct buf *b, bool *first, const char *key, const char *value)
{
        static const char *const yes[] = { "true", "yes", "1", "ja", "y", "j" };
        static const char *const no[] = { "false", "no", "0", "nee", "n" };

        if (!value[0])
                return;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcasecmp(value, yes[i]) == 0) {
                        buf_printf(b, "%s\"%s\":true", *first ? "" : ",", key);
                        *first = false;
                        return;
                }
        }
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
                if (strcasecmp(value, no[i]) == 0) {
                        buf_printf(b, "%s\"%s\":false", *first ? "" : ",", key);
                        *first = false;
                        return;
                }
        }
        /* as a string, so that validation names the field */
        json_member(b, first, key, value);
}

static void json_invoice(struct buf *b, const struct row *row)
{
        const char *amount = row->cell[COL_AMOUNT];
        bool first = true, digits = amount[0] != '\0';

        buf_putc(b, '{');
        json_member(b, &first, "number", row->cell[COL_NUMBER]);
        for (const char *p = amount; *p; p++)
                if (*p < '0' || *p > '9')
                        digits = false;
        if (digits) {
                /* a JSON integer without leading zeros; far too large
                 * numbers become the smallest one validation refuses */
                while (amount[0] == '0' && amount[1])
                        amount++;
                buf_printf(b, "%s\"amount_cents\":%s", first ? "" : ",",
                           strlen(amount) > 15 ? "10000000000000" : amount);
                first = false;
        } else {
                json_member(b, &first, "amount_cents", amount);
        }
        json_member(b, &first, "currency", row->cell[COL_CURRENCY]);
        json_member(b, &first, "issued", row->cell[COL_ISSUED]);
        json_member(b, &first, "due", row->cell[COL_DUE]);
        buf_putc(b, '}');
}

/* The job JSON of rows[0..n): job fields from the first row, one invoice
 * per row. */
static char *json_job(const struct csv_import *ci, struct row *const *rows, size_t n)
{
        const struct row *r0 = rows[0];
        struct buf b = BUF_INIT;
        bool first = false, sub;
        char when[32];

        buf_puts(&b, "{\"v\":1");
        json_member(&b, &first, "campaign", r0->cell[COL_CAMPAIGN]);
        json_member(&b, &first, "step", r0->cell[COL_STEP]);
        buf_puts(&b, ",\"customer\":{");
        first = true;
        json_member(&b, &first, "id", r0->cell[COL_CUSTOMER_ID]);
        json_member(&b, &first, "name", r0->cell[COL_NAME]);
        json_member(&b, &first, "locale", r0->cell[COL_LOCALE]);
        json_member(&b, &first, "segment", r0->cell[COL_SEGMENT]);
        json_member(&b, &first, "email", r0->cell[COL_EMAIL]);
        /* 06-12345678 becomes +31612345678 (channels.sms.default_country);
         * a number that cannot be made E.164 stays as written, and the
         * job's validation names it. */
        char e164[PHONE_E164_SIZE];
        struct error perr;
        const char *phone = r0->cell[COL_PHONE];
        if (phone[0] && ci->default_country &&
            phone_normalize(phone, ci->default_country, e164, NULL, &perr) == 0)
                phone = e164;
        json_member(&b, &first, "phone", phone);
        for (int c = COL_LINE1; c <= COL_COUNTRY; c++) {
                if (!r0->cell[c][0])
                        continue;
                buf_printf(&b, "%s\"address\":{\"lines\":[", first ? "" : ",");
                first = false;
                sub = true;
                for (int l = COL_LINE1; l <= COL_LINE4; l++) {
                        if (!r0->cell[l][0])
                                continue;
                        buf_puts(&b, sub ? "" : ",");
                        sub = false;
                        json_str(&b, r0->cell[l]);
                }
                buf_putc(&b, ']');
                sub = false;
                json_member(&b, &sub, "postal_code", r0->cell[COL_POSTAL_CODE]);
                json_member(&b, &sub, "city", r0->cell[COL_CITY]);
                json_member(&b, &sub, "country", r0->cell[COL_COUNTRY]);
                buf_putc(&b, '}');
                break;
        }
        json_member(&b, &first, "preferred_channel", r0->cell[COL_PREFERRED_CHANNEL]);
        if (r0->cell[COL_CONSENT_EMAIL][0] || r0->cell[COL_CONSENT_SMS][0]) {
                buf_printf(&b, "%s\"consent\":{", first ? "" : ",");
                first = false;
                sub = true;
                json_bool_member(&b, &sub, "email", r0->cell[COL_CONSENT_EMAIL]);
                json_bool_member(&b, &sub, "sms", r0->cell[COL_CONSENT_SMS]);
                buf_putc(&b, '}');
        }
        json_member(&b, &first, "timezone", r0->cell[COL_TIMEZONE]);
        buf_puts(&b, "},\"invoices\":[");
        for (size_t i = 0; i < n; i++) {
                if (i)
                        buf_putc(&b, ',');
                json_invoice(&b, rows[i]);
        }
        buf_putc(&b, ']');
        first = false;
        if (ci->at_ms > 0)
                json_member(&b, &first, "not_before", job_format_time(ci->at_ms, when));
        else
                json_member(&b, &first, "not_before", r0->cell[COL_NOT_BEFORE]);
        buf_putc(&b, '}');
        return buf_steal(&b);
}

/* Rewrites "invoices[j]" in a reason into "line N" of the j-th row. */
static void reason_lines(struct buf *out, const char *reason, struct row *const *rows,
                         size_t n)
{
        const char *p = reason, *hit;

        while ((hit = strstr(p, "invoices["))) {
                char *end;
                unsigned long j = strtoul(hit + 9, &end, 10);

                buf_append(out, p, (size_t)(hit - p));
                if (end != hit + 9 && *end == ']' && j < n) {
                        buf_printf(out, "line %d", rows[j]->rec->line);
                        p = end + 1;
                } else {
                        buf_puts(out, "invoices[");
                        p = hit + 9;
                }
        }
        buf_puts(out, p);
}

/* Reports a job_parse message on the CSV line and column it is about.
 * Returns the row index it named, or -1 for a job-level field. */
static long report_job_error(struct csv_import *ci, struct row *const *rows, size_t n,
                             const char *msg, bool skip_bad_rows)
{
        const char *sep = strstr(msg, ": ");
        struct buf column = BUF_INIT, reason = BUF_INIT;
        int line = rows[0]->rec->line;
        long row = -1;

        if (!sep) {
                add_error(ci->res, "%s:%d: %s", ci->name, line, msg);
                return -1;
        }
        buf_append(&column, msg, (size_t)(sep - msg));
        if (strncmp(column.data, "invoices[", 9) == 0) {
                char *end;
                unsigned long k = strtoul(column.data + 9, &end, 10);
                if (*end == ']' && k < n) {
                        row = (long)k;
                        line = rows[k]->rec->line;
                        char *rest = xstrdup(end + 1);
                        buf_reset(&column);
                        buf_printf(&column, "invoice%s", rest);
                        free(rest);
                }
        } else if (strncmp(column.data, "customer.address.lines", 22) == 0) {
                unsigned long l = 0;
                if (column.data[22] == '[')
                        l = strtoul(column.data + 23, NULL, 10);
                buf_reset(&column);
                buf_printf(&column, "customer.address.line%lu", l < 4 ? l + 1 : 1);
        }
        if (!(skip_bad_rows && row >= 0 && rows[row]->bad)) {
                reason_lines(&reason, sep + 2, rows, n);
                add_error(ci->res, "%s:%d: %s: %s", ci->name, line, buf_str(&column),
                          buf_str(&reason));
        }
        buf_free(&column);
        buf_free(&reason);
        return row;
}

/* Checks one row's invoice on its own, so that every bad row of a job is
 * reported, not just the first. */
static void check_invoice_row(struct csv_import *ci, struct row *row)
{
        static const char *const filler[] = { "x", "x", "x", "x", "en" };
        struct row alone = *row;
        struct row *rows[1] = { &alone };
        struct error e = { "" };
        struct job *job = NULL;
        char *json;

        /* a job that is valid but for this row's invoice */
        for (int c = 0; c < COL__N; c++) {
                if (columns[c].kind != COL_INVOICE)
                        alone.cell[c] = c <= COL_LOCALE ? filler[c] : "";
        }
        json = json_job(&(struct csv_import){ .at_ms = 0 }, rows, 1);
        if (job_parse(&job, json, strlen(json), &e) < 0 &&
            strncmp(e.msg, "invoices[0]", 11) == 0) {
                rows[0] = row;
                report_job_error(ci, rows, 1, e.msg, false);
                row->bad = true;
        }
        job_free(job);
        free(json);
}

static void import_group(struct csv_import *ci, struct row **rows, size_t n)
{
        struct error e = { "" };
        struct job *job = NULL;
        bool bad = false, encoding = false;
        size_t kept = 0;
        char *json;

        for (size_t k = 0; k < n; k++) {
                struct row *row = rows[k];
                size_t j;
                int c;

                bad |= row->bad;
                encoding |= row->bad;
                if (row->bad) {
                        rows[kept++] = row;
                        continue;
                }
                /* an identical row is kept once, like a duplicate job */
                for (j = 0; j < kept; j++) {
                        for (c = 0; c < COL__N && strcmp(rows[j]->cell[c], row->cell[c]) == 0;
                             c++)
                                ;
                        if (c == COL__N)
                                break;
                }
                if (j < kept) {
                        add_error(ci->res, "%s:%d: %s: duplicate of line %d (identical row, ignored)",
                                  ci->name, row->rec->line, columns[COL_NUMBER].name,
                                  rows[j]->rec->line);
                        row->dropped = true;
                        continue;
                }
                rows[kept++] = row;
                for (c = 0; k > 0 && c < COL__N; c++) {
                        if (columns[c].kind != COL_JOB ||
                            (c == COL_NOT_BEFORE && ci->at_ms > 0) ||
                            strcmp(row->cell[c], rows[0]->cell[c]) == 0)
                                continue;
                        add_error(ci->res,
                                  "%s:%d: %s: differs from line %d (rows with the same campaign, step and customer.id are one job)",
                                  ci->name, row->rec->line, columns[c].name, rows[0]->rec->line);
                        row->bad = bad = true;
                        break;
                }
                if (!row->bad)
                        check_invoice_row(ci, row);
                bad |= row->bad;
        }
        n = kept;
        if (encoding)
                return;   /* the text cannot be JSON; the rows were reported */

        json = json_job(ci, rows, n);
        if (job_parse(&job, json, strlen(json), &e) < 0) {
                report_job_error(ci, rows, n, e.msg, true);
                bad = true;
        }
        free(json);
        if (bad)
                job_free(job);
        else
                add_job(ci->res, ci->name, (struct where){ rows[0]->rec->line, false }, job);
}

static int cmp_row_key(const void *a, const void *b)
{
        const struct row *x = *(struct row *const *)a, *y = *(struct row *const *)b;
        int c = strcmp(x->key, y->key);

        if (c)
                return c;
        return x->rec->line < y->rec->line ? -1 : x->rec->line > y->rec->line;
}

struct group {
        struct row **rows;      /* into the sorted order array */
        size_t n;
};

static int cmp_group_line(const void *a, const void *b)
{
        int x = ((const struct group *)a)->rows[0]->rec->line;
        int y = ((const struct group *)b)->rows[0]->rec->line;

        return x < y ? -1 : x > y;
}

static int read_header(struct csv_import *ci, const struct csv_record *h, struct error *err)
{
        for (int c = 0; c < COL__N; c++)
                ci->col_index[c] = -1;
        for (size_t i = 0; i < h->n_fields; i++) {
                char *name = trim_dup(h->fields[i]);
                int c;

                for (c = 0; c < COL__N && strcasecmp(name, columns[c].name) != 0; c++)
                        ;
                if (c == COL__N) {
                        error_set(err, -EINVAL,
                                  "%s:%d: unknown column \"%s\" (columns are job field paths such as customer.id, invoice.amount_cents)",
                                  ci->name, h->line, name);
                        free(name);
                        return -EINVAL;
                }
                free(name);
                if (ci->col_index[c] >= 0)
                        return error_set(err, -EINVAL, "%s:%d: column %s appears twice",
                                         ci->name, h->line, columns[c].name);
                ci->col_index[c] = (int)i;
        }
        for (int c = 0; c < COL__N; c++) {
                if (columns[c].required && ci->col_index[c] < 0)
                        return error_set(err, -EINVAL, "%s:%d: missing column %s", ci->name,
                                         h->line, columns[c].name);
        }
        return 0;
}

/* Fills row from rec; false (reported) when it cannot be used at all. */
static bool read_row(struct csv_import *ci, struct row *row, const struct csv_record *rec,
                     size_t n_columns)
{
        struct buf key = BUF_INIT;

        row->rec = rec;
        if (rec->n_fields != n_columns) {
                add_error(ci->res, "%s:%d: row: has %zu fields, the header has %zu", ci->name,
                          rec->line, rec->n_fields, n_columns);
                return false;
        }
        for (int c = 0; c < COL__N; c++) {
                int i = ci->col_index[c];
                row->cell[c] = i >= 0 ? trim_dup(rec->fields[i]) : xstrdup("");
                if (!row->bad && !job_utf8_valid(row->cell[c], strlen(row->cell[c]))) {
                        add_error(ci->res, "%s:%d: %s: not valid UTF-8 (save the file as UTF-8)",
                                  ci->name, rec->line, columns[c].name);
                        row->bad = true;
                }
        }
        buf_puts(&key, row->cell[COL_CAMPAIGN]);
        buf_putc(&key, '\n');   /* no key cell that is valid holds a line break */
        buf_puts(&key, row->cell[COL_STEP]);
        buf_putc(&key, '\n');
        buf_puts(&key, row->cell[COL_CUSTOMER_ID]);
        row->key = buf_steal(&key);
        return true;
}

static void free_row(struct row *row)
{
        if (!row->key)
                return;
        for (int c = 0; c < COL__N; c++)
                free((char *)row->cell[c]);
        free(row->key);
}

struct numbered {
        long line;
        size_t index;
        char *msg;
};

static int cmp_numbered(const void *a, const void *b)
{
        const struct numbered *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Puts errors[from..] ("NAME:LINE: ...") in line order, keeping the order
 * of messages about one line: rows are checked job by job, not in order. */
static void sort_errors(struct import_result *res, size_t from, const char *name)
{
        size_t n = res->n_errors - from, skip = strlen(name) + 1;
        struct numbered *v = xcalloc(n ? n : 1, sizeof(*v));

        for (size_t i = 0; i < n; i++) {
                v[i].msg = res->errors[from + i];
                v[i].line = strtol(v[i].msg + skip, NULL, 10);
                v[i].index = i;
        }
        qsort(v, n, sizeof(*v), cmp_numbered);
        for (size_t i = 0; i < n; i++)
                res->errors[from + i] = v[i].msg;
        free(v);
}

static int import_csv(struct import_result *res, const char *name, const char *data,
                      size_t len, const struct import_opts *o,
                      const struct import_progress *progress, struct error *err)
{
        struct csv_import ci = { .res = res, .name = name, .at_ms = o->at_ms,
                                 .default_country = o->default_country };
        struct csv csv = { NULL, 0, ',' };
        struct row **order = NULL;
        struct group *groups = NULL;
        size_t n_order = 0, n_groups = 0, done;
        int r;

        r = csv_parse(&csv, data, len, 0, err);
        if (r < 0) {
                char msg[sizeof(err->msg)];
                memcpy(msg, err->msg, sizeof(msg));
                error_set(err, r, "%s:%s", name, msg);
                return r;
        }
        if (csv.n_records == 0) {
                r = error_set(err, -EINVAL, "%s: no header row", name);
                goto out;
        }
        r = read_header(&ci, &csv.records[0], err);
        if (r < 0)
                goto out;

        ci.n_rows = csv.n_records - 1;
        ci.rows = xcalloc(ci.n_rows ? ci.n_rows : 1, sizeof(*ci.rows));
        order = xcalloc(ci.n_rows ? ci.n_rows : 1, sizeof(*order));
        for (size_t i = 0; i < ci.n_rows; i++) {
                if (read_row(&ci, &ci.rows[i], &csv.records[i + 1], csv.records[0].n_fields))
                        order[n_order++] = &ci.rows[i];
        }

        /* rows of one job need not be adjacent: sort by key, then cut */
        qsort(order, n_order, sizeof(*order), cmp_row_key);
        groups = xcalloc(n_order ? n_order : 1, sizeof(*groups));
        for (size_t i = 0; i < n_order; i++) {
                if (i == 0 || strcmp(order[i]->key, order[i - 1]->key) != 0)
                        groups[n_groups++].rows = &order[i];
                groups[n_groups - 1].n++;
        }
        /* jobs come out in the order of their first rows */
        qsort(groups, n_groups, sizeof(*groups), cmp_group_line);
        /* rows that could not be read at all are done already */
        done = ci.n_rows - n_order;
        for (size_t g = 0; g < n_groups; g++) {
                size_t before = done;
                import_group(&ci, groups[g].rows, groups[g].n);
                done += groups[g].n;
                /* a group may step over a multiple of the reporting interval */
                if (done / IMPORT_PROGRESS_EVERY != before / IMPORT_PROGRESS_EVERY)
                        report(progress, done - done % IMPORT_PROGRESS_EVERY, ci.n_rows);
        }
        report(progress, ci.n_rows, ci.n_rows);
        sort_errors(res, 0, name);
        r = 0;
out:
        for (size_t i = 0; i < ci.n_rows; i++)
                free_row(&ci.rows[i]);
        free(ci.rows);
        free(order);
        free(groups);
        csv_free(&csv);
        return r;
}

/* ---- entry points ---- */

int import_buffer(struct import_result *res, const char *name, const char *data,
                  size_t len, const char *format, int64_t at_ms, struct error *err)
{
        return import_buffer_progress(res, name, data, len, format, at_ms, NULL, err);
}

int import_buffer_progress(struct import_result *res, const char *name, const char *data,
                           size_t len, const char *format, int64_t at_ms,
                           const struct import_progress *progress, struct error *err)
{
        struct import_opts o = { .at_ms = at_ms };
        return import_buffer_opts(res, name, data, len, format, &o, progress, err);
}

int import_buffer_opts(struct import_result *res, const char *name, const char *data,
                       size_t len, const char *format, const struct import_opts *o,
                       const struct import_progress *progress, struct error *err)
{
        struct import_result local = { 0 };
        int r = 0;

        memset(res, 0, sizeof(*res));
        if (strcmp(format, "csv") == 0) {
                r = import_csv(&local, name, data, len, o, progress, err);
        } else {
                /* a BOM in front of JSON is common in Windows exports */
                if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
                        data += 3;
                        len -= 3;
                }
                if (strcmp(format, "jsonl") == 0)
                        import_jsonl(&local, name, data, len, o, progress);
                else if (strcmp(format, "json") == 0)
                        r = import_json_array(&local, name, data, len, o, progress, err);
                else
                        r = error_set(err, -EINVAL, "%s: unknown format \"%s\"", name, format);
        }
        if (r < 0) {
                import_result_free(&local);
                return r;
        }
        *res = local;
        return 0;
}

static const char *format_of(const char *path)
{
        const char *dot = strrchr(path, '.');

        if (!dot || strchr(dot, '/'))
                return NULL;
        if (strcasecmp(dot, ".csv") == 0)
                return "csv";
        if (strcasecmp(dot, ".jsonl") == 0)
                return "jsonl";
        if (strcasecmp(dot, ".json") == 0)
                return "json";
        return NULL;
}

int import_file(struct import_result *res, const char *path, int64_t at_ms,
                struct error *err)
{
        return import_file_progress(res, path, at_ms, NULL, err);
}

int import_file_progress(struct import_result *res, const char *path, int64_t at_ms,
                         const struct import_progress *progress, struct error *err)
{
        struct import_opts o = { .at_ms = at_ms };
        return import_file_opts(res, path, &o, progress, err);
}

int import_file_opts(struct import_result *res, const char *path, const struct import_opts *o,
                     const struct import_progress *progress, struct error *err)
{
        const char *format = format_of(path);
        struct buf data = BUF_INIT;
        int r;

        memset(res, 0, sizeof(*res));
        if (!format)
                return error_set(err, -EINVAL,
                                 "%s: unknown file type (expected .csv, .jsonl or .json)", path);
        r = buf_read_file(&data, path, IMPORT_MAX_FILE);
        if (r == -E2BIG)
                r = error_set(err, -EFBIG, "%s: larger than %u bytes", path, IMPORT_MAX_FILE);
        else if (r == -EISDIR)
                error_set(err, r, "%s: is a directory", path);
        else if (r < 0)
                error_set(err, r, "%s: cannot open: %s", path, strerror(-r));
        else
                r = import_buffer_opts(res, path, buf_str(&data), data.len, format, o, progress,
                                       err);
        buf_free(&data);
        return r;
}
