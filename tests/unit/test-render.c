/* test-render.c: template lookup, locale fallback, escaping per channel,
 * the context built from a job, the shipped template set. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "gsm7.h"
#include "job.h"
#include "mustache.h"
#include "render.h"
#include "unit.h"

/* 2026-11-22T12:00:00Z */
#define NOW_MS 1795348800000LL

static char dir[64];
static struct config cfg;

static void setup(void)
{
        static char *address[] = { "Postbus 123", "3500 AA Utrecht", NULL };
        strcpy(dir, "/tmp/dunningd-render.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        memset(&cfg, 0, sizeof(cfg));
        cfg.creditor.name = "Acme Energie B.V.";
        cfg.creditor.iban = "NL91ABNA0417164300";
        cfg.creditor.bic = "ABNANL2A";
        cfg.creditor.address = address;
        cfg.creditor.n_address = 2;
        cfg.default_locale = "en";
        cfg.channels.letter.postal_lag_days = 2;
}

static void teardown(void)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *rel, const char *text)
{
        char path[512], cmd[600];
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname %s)\"", path);
        ck_assert_int_eq(system(cmd), 0);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

static struct job *make_job(const char *locale, const char *step, const char *segment,
                            const char *name)
{
        char json[2048];
        snprintf(json, sizeof(json),
                 "{\"v\":1,\"campaign\":\"c\",\"step\":\"%s\",\"customer\":{\"id\":\"C-1\","
                 "\"name\":\"%s\",\"locale\":\"%s\"%s%s%s,\"email\":\"jan@example.nl\","
                 "\"phone\":\"+31612345678\",\"address\":{\"lines\":[\"Dorpsstraat 1\"],"
                 "\"postal_code\":\"1234 AB\",\"city\":\"Utrecht\",\"country\":\"NL\"}},"
                 "\"invoices\":[{\"number\":\"INV-1\","
                 "\"amount_cents\":100000,\"currency\":\"EUR\",\"issued\":\"2026-10-01\","
                 "\"due\":\"2026-10-31\"},{\"number\":\"INV-2\",\"amount_cents\":23456,"
                 "\"currency\":\"EUR\",\"due\":\"2026-11-12\"}]}",
                 step, name, locale, segment ? ",\"segment\":\"" : "", segment ? segment : "",
                 segment ? "\"" : "");
        struct job *job = NULL;
        struct error err;
        ck_assert_msg(job_parse(&job, json, strlen(json), &err) == 0, "%s", err.msg);
        return job;
}

static struct mustache_value *context(const struct job *job)
{
        struct mustache_value *ctx = NULL;
        struct render_extra extra = { .now_ms = NOW_MS };
        struct error err;
        ck_assert_int_eq(render_context(&ctx, job, &cfg, &extra, NULL, &err), 0);
        return ctx;
}

static const char *text_of(const struct mustache_value *ctx, const char *a, const char *b)
{
        const struct mustache_value *v = mustache_map_get(ctx, a);
        if (b)
                v = mustache_map_get(v, b);
        size_t len;
        return v ? mustache_value_text(v, &len) : NULL;
}

START_TEST(test_context)
{
        struct job *job = make_job("nl-NL", "final-notice", NULL, "Jan");
        struct mustache_value *ctx = context(job);
        ck_assert_str_eq(text_of(ctx, "total", NULL), "€\xc2\xa0" "1.234,56");
        ck_assert_str_eq(text_of(ctx, "today", NULL), "22 november 2026");
        ck_assert_str_eq(text_of(ctx, "days_overdue", NULL), "22");
        ck_assert_str_eq(text_of(ctx, "invoice_count", NULL), "2");
        ck_assert_str_eq(text_of(ctx, "pay", "reference"), "INV-1, INV-2");
        ck_assert_str_eq(text_of(ctx, "pay", "iban"), "NL91ABNA0417164300");
        /* WIK: 15% of 1,234.56 = 185.184 -> 185.18; term: 22 Nov + 2 + 14 */
        ck_assert_str_eq(text_of(ctx, "wik", "costs"), "€\xc2\xa0" "185,18");
        ck_assert_str_eq(text_of(ctx, "wik", "total"), "€\xc2\xa0" "1.419,74");
        ck_assert_str_eq(text_of(ctx, "wik", "term_end"), "8 december 2026");
        const struct mustache_value *wik = mustache_map_get(ctx, "wik");
        ck_assert_int_eq(mustache_value_type(mustache_map_get(wik, "applies")), MUSTACHE_BOOL);
        const struct mustache_value *inv = mustache_map_get(ctx, "invoices");
        ck_assert_int_eq(mustache_value_len(inv), 2);
        mustache_value_free(ctx);
        job_free(job);

        /* Not Dutch: the statutory costs do not apply. */
        job = make_job("de-DE", "final-notice", NULL, "Jan");
        ctx = context(job);
        ck_assert_str_eq(text_of(ctx, "total", NULL), "1.234,56\xc2\xa0€");
        struct mustache_set *set = mustache_set_new();
        struct buf out = BUF_INIT;
        struct error err;
        const char *t = "{{^wik.applies}}no{{/wik.applies}}";
        ck_assert_int_eq(mustache_set_add(set, "t", t, strlen(t), &err), 0);
        ck_assert_int_eq(mustache_render(&out, set, "t", ctx, NULL, &err), 0);
        ck_assert_str_eq(buf_str(&out), "no");
        buf_free(&out);
        mustache_set_free(set);
        mustache_value_free(ctx);
        job_free(job);
}
END_TEST

static void render_ok(struct render *r, struct job *job, enum job_channel ch,
                      struct render_parts *parts)
{
        struct mustache_value *ctx = context(job);
        struct error err;
        int rc = render_message(r, job, ch, ctx, true, parts, &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        mustache_value_free(ctx);
}

START_TEST(test_locale_and_segment_fallback)
{
        put("en/reminder-1/email.subject.mustache", "Reminder {{reminder_id}}\n");
        put("en/reminder-1/email.txt.mustache", "en body\n");
        put("en/reminder-1/sms.txt.mustache", "en sms\n\n");
        put("nl/reminder-1/email.txt.mustache", "nl body\n");
        put("nl/reminder-1/on-time/email.txt.mustache", "nl on-time body\n");
        put("nl-BE/reminder-1/email.txt.mustache", "nl-BE body\n");
        struct render *r = NULL;
        struct error err;
        ck_assert_msg(render_load(&r, dir, "en", &err) == 0, "%s", err.msg);
        struct render_parts p = { 0 };
        struct { const char *locale, *segment, *text; } cases[] = {
                { "nl-BE", NULL, "nl-BE body\n" },
                { "nl-NL", NULL, "nl body\n" },
                { "nl", NULL, "nl body\n" },
                { "nl-NL", "on-time", "nl on-time body\n" },
                /* the tone variant wins over a regional plain text */
                { "nl-BE", "on-time", "nl on-time body\n" },
                { "de-DE", NULL, "en body\n" },
                { "nl-NL", "structural-late", "nl body\n" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct job *job = make_job(cases[i].locale, "reminder-1", cases[i].segment, "Jan");
                render_ok(r, job, JOB_CHANNEL_EMAIL, &p);
                ck_assert_str_eq(buf_str(&p.text), cases[i].text);
                /* The subject comes from en: a locale need not have every part. */
                char subject[64];
                snprintf(subject, sizeof(subject), "Reminder %s", job->reminder_id);
                ck_assert_str_eq(buf_str(&p.subject), subject);
                ck_assert_int_eq(p.html.len, 0);
                render_ok(r, job, JOB_CHANNEL_SMS, &p);
                ck_assert_str_eq(buf_str(&p.text), "en sms");
                job_free(job);
        }
        /* No template for the step: a clear error, nothing rendered. */
        struct job *job = make_job("nl-NL", "final-notice", NULL, "Jan");
        struct mustache_value *ctx = context(job);
        ck_assert_int_eq(render_message(r, job, JOB_CHANNEL_EMAIL, ctx, false, &p, &err), -ENOENT);
        ck_assert_str_eq(err.msg, "templates: no final-notice/email.txt for locale nl");
        mustache_value_free(ctx);
        job_free(job);
        render_parts_free(&p);
        render_free(r);
}
END_TEST

START_TEST(test_load_errors)
{
        struct render *r = NULL;
        struct error err;
        put("en/reminder-1/email.txt.mustache", "Dear {{#invoices}}{{number}}\n");
        ck_assert_int_eq(render_load(&r, dir, "en", &err), -EINVAL);
        ck_assert_msg(strstr(err.msg, "/en/reminder-1/email.txt.mustache") &&
                      strstr(err.msg, "reminder-1/email.txt:1:6: unclosed section"),
                      "%s", err.msg);
        ck_assert_ptr_null(r);
        put("en/reminder-1/email.txt.mustache", "fine\n");
        ck_assert_int_eq(render_load(&r, dir, "fr", &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err.msg, "no templates for the default locale fr"));
        char missing[128];
        snprintf(missing, sizeof(missing), "%s/nope", dir);
        ck_assert_int_lt(render_load(&r, missing, "en", &err), 0);
        ck_assert_ptr_nonnull(strstr(err.msg, "cannot open"));
}
END_TEST

START_TEST(test_strict_names_the_typo)
{
        put("en/reminder-1/email.subject.mustache", "Hi");
        put("en/reminder-1/email.txt.mustache", "Dear {{customer.nmae}}\n");
        struct render *r = NULL;
        struct error err;
        ck_assert_int_eq(render_load(&r, dir, "en", &err), 0);
        struct job *job = make_job("en-GB", "reminder-1", NULL, "Jan");
        struct mustache_value *ctx = context(job);
        struct render_parts p = { 0 };
        ck_assert_int_eq(render_message(r, job, JOB_CHANNEL_EMAIL, ctx, false, &p, &err), 0);
        ck_assert_str_eq(buf_str(&p.text), "Dear \n");
        ck_assert_int_lt(render_message(r, job, JOB_CHANNEL_EMAIL, ctx, true, &p, &err), 0);
        ck_assert_ptr_nonnull(strstr(err.msg, "reminder-1/email.txt:1:6: customer.nmae"));
        render_parts_free(&p);
        mustache_value_free(ctx);
        job_free(job);
        render_free(r);
}
END_TEST

static struct render *load_shipped(void)
{
        const char *root = getenv("DUNNINGD_SOURCE_ROOT");
        ck_assert_msg(root && *root, "DUNNINGD_SOURCE_ROOT is not set");
        char path[512];
        snprintf(path, sizeof(path), "%s/templates/default", root);
        struct render *r = NULL;
        struct error err;
        ck_assert_msg(render_load(&r, path, "en", &err) == 0, "%s", err.msg);
        return r;
}

/* The shipped set: every locale, step and channel renders in strict mode,
 * and a hostile name comes out right in every channel. */
START_TEST(test_shipped_templates)
{
        struct render *r = load_shipped();
        static const char *locales[] = { "nl-NL", "nl-BE", "en-GB", "de-DE", "fr-FR" };
        static const char *steps[] = { "reminder-1", "reminder-2", "final-notice" };
        static const char *segments[] = { NULL, "on-time", "occasional-late", "structural-late" };
        const char *evil = "Jan & Zn <script>{{x}}";
        struct render_parts p = { 0 };
        for (size_t l = 0; l < 5; l++)
        for (size_t s = 0; s < 3; s++)
        for (size_t g = 0; g < 4; g++) {
                struct job *job = make_job(locales[l], steps[s], segments[g], evil);
                for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                        render_ok(r, job, (enum job_channel)ch, &p);
                        const char *what = job_channel_name((enum job_channel)ch);
                        ck_assert_msg(p.text.len > 20, "%s %s %s: empty", locales[l], steps[s], what);
                        /* A letter's invoice table and amounts are laid out
                         * by the letter channel, not the text. */
                        ck_assert_msg(ch == JOB_CHANNEL_LETTER ||
                                      strstr(buf_str(&p.text), "INV-1") ||
                                      strstr(buf_str(&p.text), "1.234,56") ||
                                      strstr(buf_str(&p.text), "1,234.56") ||
                                      strstr(buf_str(&p.text), "1 234,56"),
                                      "%s %s %s: neither amount nor invoice:\n%s", locales[l],
                                      steps[s], what, buf_str(&p.text));
                        if (ch == JOB_CHANNEL_EMAIL) {
                                ck_assert_msg(p.subject.len > 0 && !strchr(buf_str(&p.subject), '\n'),
                                              "%s %s: subject", locales[l], steps[s]);
                                ck_assert_msg(p.html.len > 0, "%s %s: no html", locales[l], steps[s]);
                                /* escaped in HTML, as is in text; never evaluated */
                                ck_assert_ptr_null(strstr(buf_str(&p.html), "<script>"));
                                if (strstr(buf_str(&p.html), "Jan"))
                                        ck_assert_ptr_nonnull(strstr(buf_str(&p.html),
                                                "Jan &amp; Zn &lt;script&gt;{{x}}"));
                                if (strstr(buf_str(&p.text), "Jan"))
                                        ck_assert_ptr_nonnull(strstr(buf_str(&p.text), evil));
                        }
                        if (ch == JOB_CHANNEL_SMS) {
                                /* GSM-7 (the evil name aside) and at most two segments. */
                                struct gsm7_count gc;
                                const char *t = buf_str(&p.text);
                                const char *at = strstr(t, evil);
                                struct buf clean = BUF_INIT;
                                buf_append(&clean, t, at ? (size_t)(at - t) : p.text.len);
                                if (at)
                                        buf_printf(&clean, "Jan%s", at + strlen(evil));
                                gsm7_count(buf_str(&clean), &gc);
                                ck_assert_msg(gc.gsm7 && gc.segments <= 2,
                                              "%s %s %s: sms is %s, %zu segments:\n%s",
                                              locales[l], steps[s], segments[g] ? segments[g] : "",
                                              gc.gsm7 ? "gsm7" : "ucs2", gc.segments, t);
                                buf_free(&clean);
                        }
                }
                job_free(job);
        }
        render_parts_free(&p);
        render_free(r);
}
END_TEST

/* The installment reminder of a payment arrangement, in every shipped
 * locale and channel: strict (every variable there), the installment's own
 * amount and date (not the invoices' total), an SMS in GSM-7 within two
 * segments. */
START_TEST(test_installment_templates)
{
        struct render *r = load_shipped();
        static const char *locales[] = { "nl-NL", "en-GB", "de-DE", "fr-FR" };
        static const char *amounts[] = { "411,52", "411.52", "411,52", "411,52" };
        struct render_parts p = { 0 };
        for (size_t l = 0; l < 4; l++) {
                char json[2048];
                snprintf(json, sizeof(json),
                         "{\"v\":1,\"campaign\":\"arrangement-A-7\",\"step\":\"installment\","
                         "\"customer\":{\"id\":\"C-1\",\"name\":\"Jan\",\"locale\":\"%s\","
                         "\"email\":\"jan@example.nl\",\"phone\":\"+31612345678\",\"address\":"
                         "{\"lines\":[\"Dorpsstraat 1\"],\"postal_code\":\"1234 AB\",\"city\":"
                         "\"Utrecht\",\"country\":\"NL\"}},\"invoices\":[{\"number\":\"INV-1\","
                         "\"amount_cents\":123456,\"currency\":\"EUR\",\"due\":\"2026-10-31\"}],"
                         "\"installment\":{\"arrangement\":\"A-7\",\"number\":2,\"of\":3,"
                         "\"amount_cents\":41152,\"cum_cents\":82304,\"due\":\"2027-01-31\"}}",
                         locales[l]);
                struct job *job = NULL;
                struct error err;
                ck_assert_msg(job_parse(&job, json, strlen(json), &err) == 0, "%s", err.msg);
                struct mustache_value *ctx = context(job);
                ck_assert_ptr_nonnull(strstr(text_of(ctx, "total", NULL), amounts[l]));
                ck_assert_ptr_nonnull(strstr(text_of(ctx, "installment", "total_open"), "234"));
                ck_assert_ptr_nonnull(strstr(text_of(ctx, "installment", "due"), "2027"));
                mustache_value_free(ctx);
                for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                        render_ok(r, job, (enum job_channel)ch, &p);
                        const char *t = buf_str(&p.text);
                        ck_assert_msg(strstr(t, amounts[l]) && strstr(t, "2027") &&
                                      !strstr(t, "1.234") && !strstr(t, "1,234"),
                                      "%s %s:\n%s", locales[l],
                                      job_channel_name((enum job_channel)ch), t);
                        if (ch == JOB_CHANNEL_EMAIL)
                                ck_assert(p.subject.len > 0 && p.html.len > 0);
                        if (ch == JOB_CHANNEL_SMS) {
                                struct gsm7_count gc;
                                gsm7_count(t, &gc);
                                ck_assert_msg(gc.gsm7 && gc.segments <= 2, "%s: %zu segments: %s",
                                              locales[l], gc.segments, t);
                        }
                }
                job_free(job);
        }
        render_parts_free(&p);
        render_free(r);
}
END_TEST

START_TEST(test_dutch_final_notice_states_costs_and_term)
{
        struct render *r = load_shipped();
        struct job *job = make_job("nl-NL", "final-notice", NULL, "Jan");
        struct render_parts p = { 0 };
        render_ok(r, job, JOB_CHANNEL_LETTER, &p);
        ck_assert_msg(strstr(buf_str(&p.text), "185,18"), "no WIK costs:\n%s", buf_str(&p.text));
        ck_assert_msg(strstr(buf_str(&p.text), "8 december 2026"), "no term:\n%s", buf_str(&p.text));
        render_ok(r, job, JOB_CHANNEL_EMAIL, &p);
        ck_assert_msg(strstr(buf_str(&p.text), "185,18"), "no WIK costs:\n%s", buf_str(&p.text));
        render_parts_free(&p);
        job_free(job);
        render_free(r);
}
END_TEST

/* Every shipped letter, the longest (a Dutch final notice with the
 * statutory costs) included, fits its one page with an EPC QR code. */
START_TEST(test_shipped_letters_fit_one_page)
{
        struct render *r = load_shipped();
        static const char *locales[] = { "nl-NL", "nl-BE", "en-GB", "de-DE", "fr-FR" };
        static const char *steps[] = { "reminder-1", "reminder-2", "final-notice" };
        struct render_parts p = { 0 };
        for (size_t l = 0; l < 5; l++) {
                for (size_t s = 0; s < 3; s++) {
                        struct job *job = make_job(locales[l], steps[s], NULL,
                                                   "Élodie Çelik-van den Heuvel");
                        struct mustache_value *ctx = context(job);
                        struct error err;
                        render_ok(r, job, JOB_CHANNEL_LETTER, &p);
                        ck_assert_msg(p.subject.len > 0, "%s %s: no heading", locales[l], steps[s]);
                        struct render_letter letter;
                        ck_assert_int_eq(render_letter(&letter, job, &cfg, ctx, &p, NOW_MS, &err), 0);
                        ck_assert_ptr_nonnull(letter.in.epc_payload);
                        ck_assert_str_eq(letter.in.creditor_iban, "NL91 ABNA 0417 1643 00");
                        struct buf pdf = BUF_INIT;
                        int rc = letter_render(&pdf, &letter.in, &err);
                        ck_assert_msg(rc == 0, "%s %s: %s", locales[l], steps[s], err.msg);
                        ck_assert(strncmp(buf_str(&pdf), "%PDF-", 5) == 0);
                        buf_free(&pdf);
                        render_letter_free(&letter);
                        mustache_value_free(ctx);
                        job_free(job);
                }
        }
        render_parts_free(&p);
        render_free(r);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("render");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_context);
        tcase_add_test(tc, test_locale_and_segment_fallback);
        tcase_add_test(tc, test_load_errors);
        tcase_add_test(tc, test_strict_names_the_typo);
        tcase_add_test(tc, test_shipped_templates);
        tcase_add_test(tc, test_installment_templates);
        tcase_add_test(tc, test_dutch_final_notice_states_costs_and_term);
        tcase_add_test(tc, test_shipped_letters_fit_one_page);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
