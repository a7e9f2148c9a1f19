/* fuzz-csv.c: the campaign CSV reader (csv_parse) and the importer that
 * turns its rows into jobs (import_buffer).
 *
 * Beyond "no crash": what csv_parse reads, written back in RFC 4180 form
 * (every field quoted), reads back to the same records; record lines never
 * go backwards; and every job the importer hands out passes job_parse,
 * since `dunningctl enqueue` puts exactly those texts on the stream. */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "csv.h"
#include "fuzz.h"
#include "import.h"
#include "job.h"

static void write_back(struct buf *b, const struct csv *csv)
{
        for (size_t i = 0; i < csv->n_records; i++) {
                const struct csv_record *rec = &csv->records[i];
                for (size_t j = 0; j < rec->n_fields; j++) {
                        if (j)
                                buf_putc(b, csv->separator);
                        buf_putc(b, '"');
                        for (const char *p = rec->fields[j]; *p; p++) {
                                if (*p == '"')
                                        buf_putc(b, '"');
                                buf_putc(b, *p);
                        }
                        buf_putc(b, '"');
                }
                buf_puts(b, "\r\n");
        }
}

static void round_trip(const struct csv *csv)
{
        struct error err = { "" };
        struct buf b = BUF_INIT;
        struct csv again;

        write_back(&b, csv);
        int r = csv_parse(&again, b.data ? b.data : "", b.len, csv->separator, &err);
        FUZZ_ASSERT(r == 0, "written back, it does not parse: %s", err.msg);
        FUZZ_ASSERT(again.n_records == csv->n_records, "%zu records, %zu read back",
                    csv->n_records, again.n_records);
        for (size_t i = 0; i < csv->n_records; i++) {
                const struct csv_record *a = &csv->records[i], *b2 = &again.records[i];
                FUZZ_ASSERT(a->n_fields == b2->n_fields, "record %zu: fields", i);
                for (size_t j = 0; j < a->n_fields; j++)
                        FUZZ_ASSERT(strcmp(a->fields[j], b2->fields[j]) == 0,
                                    "record %zu field %zu: '%s' read back as '%s'", i, j,
                                    a->fields[j], b2->fields[j]);
        }
        csv_free(&again);
        buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct error err = { "" };
        struct csv csv;

        int r = csv_parse(&csv, (const char *)data, size, 0, &err);
        if (r == 0) {
                FUZZ_ASSERT(csv.separator == ',' || csv.separator == ';', "separator");
                for (size_t i = 0; i < csv.n_records; i++) {
                        FUZZ_ASSERT(csv.records[i].n_fields >= 1, "record %zu is empty", i);
                        FUZZ_ASSERT(csv.records[i].line >= 1 &&
                                    (i == 0 || csv.records[i].line > csv.records[i - 1].line),
                                    "record %zu on line %d", i, csv.records[i].line);
                }
                round_trip(&csv);
                csv_free(&csv);
        } else {
                FUZZ_ASSERT(r == -EINVAL && !csv.records && err.msg[0], "failure");
        }

        struct import_result res = { 0 };
        if (import_buffer(&res, "fuzz.csv", (const char *)data, size, "csv", 0, &err) == 0) {
                for (size_t i = 0; i < res.n_jobs; i++) {
                        struct job *job = NULL;
                        const char *text = res.jobs[i].json;
                        FUZZ_ASSERT(job_parse(&job, text, strlen(text), &err) == 0,
                                    "imported job %s: %s", text, err.msg);
                        FUZZ_ASSERT(strcmp(job->job_id, res.jobs[i].job_id) == 0, "job id");
                        job_free(job);
                }
                import_result_free(&res);
        }
        return 0;
}
