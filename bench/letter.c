/* bench/letter.c: letters per second, the C side of bench/run-letter.
 *
 * Renders N one-page A4 reminder letters (default 1000) for N distinct
 * jobs (nl-NL, reminder-1, two invoices; name, address, invoice numbers
 * and amounts differ per job) through the code path of a worker sending a
 * letter: job_parse, render_context (with the thread's l10n cache),
 * dispatch_prepare on the letter channel (render_message + render_letter)
 * and letter_render (cairo + pango, the EPC QR code) into memory, as the
 * outbox transport's build_letter does before it writes the file. T threads
 * (default 2) share the loaded config and templates, as a daemon's workers
 * do, and each has its own l10n cache, prepared message and PDF buffer
 * (pango's default font map is per thread). Each thread renders one
 * letter of its own before the clock starts (a worker's font map and
 * formatters are warm after its first letter); the timed part is every
 * other step for the N letters.
 *
 *   bench-letter TEMPLATES [N [T]]   timed run: letters/s, PDF bytes, peak RSS
 *   bench-letter --data TEMPLATES N  the N letters' content as JSON lines
 *                                    (what letter_render receives), for
 *                                    bench/letter.js to print the same letters
 *   bench-letter --pdf TEMPLATES F   the first letter's PDF into file F
 *
 * Peak RSS is the process's VmHWM at the end: everything the process ever
 * held, config, ICU data, templates and T threads' caches included. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "dispatch.h"
#include "error.h"
#include "job.h"
#include "l10n.h"
#include "mustache.h"
#include "render.h"

/* 2026-11-22T12:00:00Z: the letters' date, the PDFs' creation date. */
#define NOW_MS 1795348800000LL

static const char *const first_names[] = {
        "Jan", "Sanne", "Zoë", "Mohamed", "Eline", "Björn", "Fatima", "Pieter", "Noor",
        "Thijs", "Anouk", "Daan", "Élodie", "Sem", "Lotte", "Yusuf", "Femke", "Ruben",
        "Iris", "Koen", "Çağla", "Bram", "Julia", "Stijn", "Emma", "Lars", "Mila", "Jesse",
        "Sophie", "Milan", "Fleur",
};
static const char *const last_names[] = {
        "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
        "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
        "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
        "de Graaf", "van der Meer", "Çelik", "Yılmaz", "El Amrani", "Kuipers", "Vermeulen",
        "van den Heuvel", "Maas", "Verhoeven", "Koster", "van Wijk", "Willems", "Bosman",
};
static const char *const streets[] = {
        "Dorpsstraat", "Kerkstraat", "Schoolstraat", "Molenweg", "Stationsweg", "Julianalaan",
        "Beatrixstraat", "Wilhelminapark", "Nieuwe Gracht", "Oranjestraat", "Prinsengracht",
        "Lindelaan", "Eikenlaan", "Marktplein", "Havenkade",
};
static const char *const cities[] = {
        "Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen", "Tilburg",
        "Almere", "Breda", "Nijmegen", "Apeldoorn", "Haarlem", "Arnhem", "Enschede",
        "Amersfoort", "Zwolle", "Leiden", "Maastricht", "Dordrecht", "Zoetermeer",
        "'s-Hertogenbosch", "Ede", "Delft", "Alkmaar", "Venlo", "Deventer", "Hilversum",
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The job text of letter i: distinct customer, address, invoices. */
static char *job_text(long i)
{
        struct buf b = BUF_INIT;
        long j = i + 1;
        buf_printf(&b,
                   "{\"v\":1,\"campaign\":\"bench-letter\",\"step\":\"reminder-1\","
                   "\"customer\":{\"id\":\"C-%06ld\",\"name\":\"%s %s\",\"locale\":\"nl-NL\","
                   "\"preferred_channel\":\"letter\",\"address\":{\"lines\":[\"%s %ld\"],"
                   "\"postal_code\":\"%04ld %c%c\",\"city\":\"%s\",\"country\":\"NL\"}},"
                   "\"invoices\":[{\"number\":\"INV-2026-%06ld\",\"amount_cents\":%ld,"
                   "\"currency\":\"EUR\",\"issued\":\"2026-09-%02ld\",\"due\":\"2026-10-%02ld\"},"
                   "{\"number\":\"INV-2026-%06ld\",\"amount_cents\":%ld,\"currency\":\"EUR\","
                   "\"issued\":\"2026-10-%02ld\",\"due\":\"2026-11-%02ld\"}]}",
                   j, first_names[i % COUNT(first_names)],
                   last_names[(i / COUNT(first_names)) % COUNT(last_names)],
                   streets[i % COUNT(streets)], 1 + (i * 7) % 180, 1000 + (i * 37) % 9000,
                   'A' + (int)(i % 26), 'A' + (int)((i / 26) % 26), cities[i % COUNT(cities)],
                   2 * j, 1500 + (i * 7919) % 250000, 1 + i % 28, 1 + i % 28, 2 * j + 1,
                   900 + (i * 104729) % 180000, 1 + (i + 5) % 28, 1 + (i + 5) % 15);
        return buf_steal(&b);
}

struct shared {
        const struct config *cfg;
        const struct render *render;
        char **jobs;            /* N job texts, then one warm-up job per thread */
        long n;
        int threads;
        pthread_barrier_t start;
};

struct worker {
        struct shared *s;
        int id;
        pthread_t tid;
        long letters;
        size_t bytes;
        int failed;
        char error[300];
};

static json_t *input_json(const struct letter_input *in);

/* One letter, as a worker makes it: parse, context, prepare, PDF. dump:
 * NULL, or where to put what letter_render received (--data), taken
 * before the job and context it borrows from are freed. */
static int one_letter(const struct shared *s, struct l10n_cache *cache,
                      struct dispatch_prepared *p, struct buf *pdf, const char *text,
                      json_t **dump, struct error *err)
{
        struct job *job = NULL;
        struct mustache_value *ctx = NULL;
        struct render_extra extra = { .now_ms = NOW_MS };
        int rc;

        if ((rc = job_parse(&job, text, strlen(text), err)) < 0)
                return rc;
        rc = render_context(&ctx, job, s->cfg, &extra, cache, err);
        if (rc == 0)
                rc = dispatch_prepare(p, s->cfg, s->render, job, JOB_CHANNEL_LETTER, ctx, false,
                                      NOW_MS, err);
        if (rc == 0)
                rc = letter_render(pdf, p->msg.letter, err);
        if (rc == 0 && dump)
                *dump = input_json(p->msg.letter);
        mustache_value_free(ctx);
        job_free(job);
        return rc;
}

static void *worker_main(void *arg)
{
        struct worker *w = arg;
        struct shared *s = w->s;
        struct l10n_cache *cache = l10n_cache_new();
        struct dispatch_prepared p = { 0 };
        struct buf pdf = BUF_INIT;
        struct error err = { "" };

        if (one_letter(s, cache, &p, &pdf, s->jobs[s->n + w->id], NULL, &err) < 0) {
                w->failed = 1;
                snprintf(w->error, sizeof(w->error), "warm-up: %s", err.msg);
        }
        buf_reset(&pdf);
        pthread_barrier_wait(&s->start);
        for (long i = w->id; !w->failed && i < s->n; i += s->threads) {
                if (one_letter(s, cache, &p, &pdf, s->jobs[i], NULL, &err) < 0 ||
                    pdf.len < 1000 || memcmp(pdf.data, "%PDF-", 5) != 0) {
                        w->failed = 1;
                        snprintf(w->error, sizeof(w->error), "letter %ld: %s", i,
                                 err.msg[0] ? err.msg : "not a PDF");
                        break;
                }
                w->bytes += pdf.len;
                w->letters++;
                buf_reset(&pdf);
        }
        buf_free(&pdf);
        dispatch_prepared_free(&p);
        l10n_cache_free(cache);
        return NULL;
}

static long status_kib(const char *key)
{
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        long v = -1;
        size_t k = strlen(key);
        while (f && fgets(line, sizeof(line), f))
                if (!strncmp(line, key, k) && line[k] == ':')
                        v = atol(line + k + 1);
        if (f)
                fclose(f);
        return v;
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
}

/* The config a daemon would load, with the bench's creditor and the
 * templates directory; everything else at its default. */
static int load_config(struct config **cfg, const char *templates, struct error *err)
{
        char path[] = "/tmp/bench-letter-XXXXXX.yaml";
        int fd = mkstemps(path, 5);
        if (fd < 0)
                return error_set(err, -errno, "mkstemps: %s", strerror(errno));
        FILE *f = fdopen(fd, "w");
        fprintf(f,
                "templates: \"%s\"\n"
                "default_locale: nl\n"
                "creditor:\n"
                "  name: Acme Energie B.V.\n"
                "  iban: NL91ABNA0417164300\n"
                "  bic: ABNANL2A\n"
                "  address: [\"Postbus 123\", \"3500 AA Utrecht\"]\n"
                "channels:\n"
                "  letter: { transport: outbox }\n",
                templates);
        fclose(f);
        int rc = config_load(cfg, path, err);
        unlink(path);
        return rc;
}

static json_t *str_or_null(const char *s)
{
        return s ? json_string(s) : json_null();
}

static json_t *lines_json(const char *const *lines)
{
        json_t *a = json_array();
        for (size_t i = 0; lines && lines[i]; i++)
                json_array_append_new(a, json_string(lines[i]));
        return a;
}

/* What letter_render receives, as one JSON object. */
static json_t *input_json(const struct letter_input *in)
{
        json_t *inv = json_array();
        for (size_t i = 0; i < in->n_invoices; i++)
                json_array_append_new(inv, json_pack("{s:s, s:s, s:s}",
                                                     "number", in->invoices[i].number,
                                                     "due", in->invoices[i].due,
                                                     "amount", in->invoices[i].amount));
        json_t *o = json_object();
        json_object_set_new(o, "creditor_name", json_string(in->creditor_name));
        json_object_set_new(o, "creditor_address", lines_json(in->creditor_address));
        json_object_set_new(o, "creditor_iban", json_string(in->creditor_iban));
        json_object_set_new(o, "creditor_bic", str_or_null(in->creditor_bic));
        json_object_set_new(o, "recipient_name", json_string(in->recipient_name));
        json_object_set_new(o, "recipient_lines", lines_json(in->recipient_lines));
        json_object_set_new(o, "date_text", json_string(in->date_text));
        json_object_set_new(o, "reference", str_or_null(in->reference));
        json_object_set_new(o, "title", json_string(in->title));
        json_object_set_new(o, "invoices", inv);
        json_object_set_new(o, "total_text", str_or_null(in->total_text));
        json_object_set_new(o, "body_text", json_string(in->body_text));
        json_object_set_new(o, "epc_payload", str_or_null(in->epc_payload));
        json_object_set_new(o, "pay_link", str_or_null(in->pay_link));
        json_object_set_new(o, "lang", str_or_null(in->lang));
        return o;
}

static void usage(void)
{
        fprintf(stderr, "usage: bench-letter TEMPLATES [N [THREADS]]\n"
                        "       bench-letter --data TEMPLATES N\n"
                        "       bench-letter --pdf TEMPLATES FILE\n");
        exit(2);
}

int main(int argc, char **argv)
{
        enum { RUN, DATA, PDF } mode = RUN;
        struct config *cfg = NULL;
        struct render *render = NULL;
        struct error err = { "" };
        int a = 1;

        if (argc > 1 && !strcmp(argv[1], "--data"))
                mode = DATA, a++;
        else if (argc > 1 && !strcmp(argv[1], "--pdf"))
                mode = PDF, a++;
        if (argc <= a)
                usage();
        const char *templates = argv[a];
        long n = argc > a + 1 && mode != PDF ? atol(argv[a + 1]) : 1000;
        int threads = argc > a + 2 && mode == RUN ? atoi(argv[a + 2]) : 2;
        if (mode == PDF && argc <= a + 1)
                usage();
        if (n < 1 || threads < 1 || threads > 64)
                usage();

        if (load_config(&cfg, templates, &err) < 0 ||
            render_load(&render, cfg->templates, cfg->default_locale, &err) < 0) {
                fprintf(stderr, "bench-letter: %s\n", err.msg);
                return 1;
        }

        if (mode != RUN) {
                struct l10n_cache *cache = l10n_cache_new();
                struct dispatch_prepared p = { 0 };
                struct buf pdf = BUF_INIT;
                struct shared s = { .cfg = cfg, .render = render };
                int rc = 0;
                for (long i = 0; i < (mode == PDF ? 1 : n) && rc == 0; i++) {
                        char *text = job_text(i);
                        json_t *o = NULL;
                        rc = one_letter(&s, cache, &p, &pdf, text, mode == DATA ? &o : NULL,
                                        &err);
                        if (rc == 0 && mode == DATA) {
                                json_object_set_new(o, "pdf_bytes", json_integer((json_int_t)pdf.len));
                                char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
                                puts(line);
                                free(line);
                                json_decref(o);
                        }
                        if (rc == 0 && mode == PDF) {
                                FILE *f = fopen(argv[a + 1], "wb");
                                if (!f || fwrite(pdf.data, 1, pdf.len, f) != pdf.len || fclose(f))
                                        rc = error_set(&err, -EIO, "%s: cannot write",
                                                       argv[a + 1]);
                        }
                        buf_reset(&pdf);
                        free(text);
                }
                if (rc < 0)
                        fprintf(stderr, "bench-letter: %s\n", err.msg);
                buf_free(&pdf);
                dispatch_prepared_free(&p);
                l10n_cache_free(cache);
                render_free(render);
                config_free(cfg);
                return rc < 0;
        }

        struct shared s = { .cfg = cfg, .render = render, .n = n, .threads = threads };
        s.jobs = xcalloc((size_t)(n + threads), sizeof(*s.jobs));
        for (long i = 0; i < n; i++)
                s.jobs[i] = job_text(i);
        /* Warm-up letters: jobs of their own, not among the N. */
        for (int t = 0; t < threads; t++)
                s.jobs[n + t] = job_text(n + t);
        long hwm_loaded = status_kib("VmHWM");

        struct worker *w = xcalloc((size_t)threads, sizeof(*w));
        pthread_barrier_init(&s.start, NULL, (unsigned)threads + 1);
        double w0 = now();
        for (int t = 0; t < threads; t++) {
                w[t] = (struct worker){ .s = &s, .id = t };
                pthread_create(&w[t].tid, NULL, worker_main, &w[t]);
        }
        pthread_barrier_wait(&s.start);
        double t0 = now(), c0 = cpu_seconds();
        for (int t = 0; t < threads; t++)
                pthread_join(w[t].tid, NULL);
        double t1 = now(), c1 = cpu_seconds();

        long letters = 0;
        size_t bytes = 0;
        int rc = 0;
        for (int t = 0; t < threads; t++) {
                letters += w[t].letters;
                bytes += w[t].bytes;
                if (w[t].failed) {
                        fprintf(stderr, "bench-letter: thread %d: %s\n", t, w[t].error);
                        rc = 1;
                }
        }
        if (rc == 0)
                printf("c: %ld letters, %d threads, %zu PDF bytes (%.0f per letter) in %.3f s: "
                       "%.1f letters/s; %.2f ms CPU per letter; warm-up %.3f s; "
                       "peak RSS %ld KiB (%ld KiB before the threads)\n",
                       letters, threads, bytes, (double)bytes / letters, t1 - t0,
                       letters / (t1 - t0), (c1 - c0) * 1000 / letters, t0 - w0,
                       status_kib("VmHWM"), hwm_loaded);
        pthread_barrier_destroy(&s.start);
        for (long i = 0; i < n + threads; i++)
                free(s.jobs[i]);
        free(s.jobs);
        free(w);
        render_free(render);
        config_free(cfg);
        return rc;
}
