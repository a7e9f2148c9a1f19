/* fuzz-job.c: the job JSON parser (job_parse) and the rewrites of a job's
 * text that go back onto the queue.
 *
 * Beyond "no crash": a job that parses keeps the invariants job.h states
 * (1..JOB_MAX_INVOICES invoices, positive amounts, well-formed ids), and
 * every text dunningd derives from it (retry, skipped channel, importer
 * rewrite) parses again to the same reminder and job ids: a derived text
 * that no longer parses would dead-letter a good job. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "job.h"

static bool id_ok(const char *id, char kind)
{
        if (strlen(id) != 18 || id[0] != kind || id[1] != '-')
                return false;
        for (int i = 2; i < 18; i++)
                if (!strchr("0123456789abcdef", id[i]))
                        return false;
        return true;
}

/* text must parse again to a job with job's ids; returns it (free it). */
static struct job *reparse(const struct job *job, const char *text, const char *what)
{
        struct error err = { "" };
        struct job *again = NULL;

        FUZZ_ASSERT(text, "%s: no text for a valid job", what);
        int r = job_parse(&again, text, strlen(text), &err);
        FUZZ_ASSERT(r == 0, "%s: %s does not parse: %s", what, text, err.msg);
        FUZZ_ASSERT(strcmp(again->reminder_id, job->reminder_id) == 0, "%s: reminder id", what);
        FUZZ_ASSERT(strcmp(again->job_id, job->job_id) == 0, "%s: job id", what);
        return again;
}

static void derived(const struct job *job, const uint8_t *data, size_t size)
{
        char *text = job_json_with_attempt(job, 7);
        struct job *again = reparse(job, text, "with_attempt");
        FUZZ_ASSERT(again->attempt == 7, "with_attempt: attempt %d", again->attempt);
        job_free(again);
        free(text);

        text = job_json_with_skip(job, JOB_CHANNEL_SMS);
        again = reparse(job, text, "with_skip");
        FUZZ_ASSERT(again->skip[JOB_CHANNEL_SMS] && again->attempt == 0, "with_skip");
        job_free(again);
        free(text);

        /* What `dunningctl enqueue --at` does to a valid job. */
        const int64_t at = 1795000000123;
        text = job_json_rewrite((const char *)data, size, at, "NL");
        again = reparse(job, text, "rewrite");
        FUZZ_ASSERT(again->not_before_ms == at, "rewrite: not_before %lld",
                    (long long)again->not_before_ms);
        job_free(again);
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct error err = { "" };
        struct job *job = NULL;

        int r = job_parse(&job, (const char *)data, size, &err);
        if (r == 0) {
                FUZZ_ASSERT(job->v == 1, "v %d", job->v);
                FUZZ_ASSERT(job->campaign && job->step && job->customer.id, "required fields");
                FUZZ_ASSERT(job->n_invoices >= 1 && job->n_invoices <= JOB_MAX_INVOICES,
                            "%zu invoices", job->n_invoices);
                for (size_t i = 0; i < job->n_invoices; i++)
                        FUZZ_ASSERT(job->invoices[i].amount_cents > 0 && job->invoices[i].number,
                                    "invoice %zu", i);
                FUZZ_ASSERT(id_ok(job->reminder_id, 'r'), "reminder id %s", job->reminder_id);
                FUZZ_ASSERT(id_ok(job->job_id, 'j'), "job id %s", job->job_id);
                FUZZ_ASSERT(job->json && job_utf8_valid(job->json, strlen(job->json)),
                            "kept text");
                derived(job, data, size);
                job_free(job);
        } else {
                FUZZ_ASSERT(r == -EINVAL && !job && err.msg[0], "r %d, message '%s'", r,
                            err.msg);
        }

        /* The JSON array importer splits before it parses. */
        char **elems = NULL;
        size_t n = 0;
        if (job_json_split_array(&elems, &n, (const char *)data, size, &err) == 0) {
                for (size_t i = 0; i < n; i++)
                        free(elems[i]);
                free(elems);
        }
        return 0;
}
