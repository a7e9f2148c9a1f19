/* render.c: the template directory, the locale chain, and the variable
 * context built from a job. */
#include "render.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "civil.h"
#include "epcqr.h"
#include "l10n.h"
#include "mustache.h"
#include "wik.h"

#define MAX_TEMPLATE_FILES 4096
#define MAX_DEPTH 4

/* One template file as read from disk. */
struct source {
        char *locale;   /* its top directory: "nl", "nl-BE" */
        char *name;     /* path below it without .mustache: "reminder-1/email.txt" */
        char *path;     /* for messages */
        char *text;
        size_t len;
};

struct locale_set {
        char *locale;
        struct mustache_set *set;
};

struct render {
        char *default_locale;
        struct locale_set *sets;
        size_t n_sets;
};

struct sources {
        struct source *v;
        size_t n;
};

static int read_text(const char *path, char **text, size_t *len, struct error *err)
{
        struct buf b = BUF_INIT;
        int rc = buf_read_file(&b, path, MUSTACHE_MAX_SOURCE);
        if (rc == -E2BIG)
                rc = error_set(err, rc, "%s: larger than %d bytes", path, MUSTACHE_MAX_SOURCE);
        else if (rc < 0)
                rc = error_set(err, rc, "%s: cannot read: %s", path, strerror(-rc));
        if (rc < 0) {
                buf_free(&b);
                return rc;
        }
        *len = b.len;
        *text = buf_steal(&b);
        return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Collects every *.mustache below dir/locale/rel. */
static int scan(struct sources *out, const char *root, const char *locale, const char *rel,
                int depth, struct error *err)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s%s%s", root, locale, rel[0] ? "/" : "", rel);
        DIR *d = opendir(path);
        if (!d)
                return error_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
        int rc = 0;
        struct dirent *e;
        while (rc == 0 && (e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                        continue;
                char sub[2048], full[4096];
                snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
                snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
                struct stat st;
                if (stat(full, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        if (depth < MAX_DEPTH)
                                rc = scan(out, root, locale, sub, depth + 1, err);
                        continue;
                }
                if (!S_ISREG(st.st_mode) || !ends_with(e->d_name, ".mustache"))
                        continue;
                if (out->n >= MAX_TEMPLATE_FILES) {
                        rc = error_set(err, -E2BIG, "%s: more than %d templates", root,
                                       MAX_TEMPLATE_FILES);
                        break;
                }
                struct source s = { 0 };
                rc = read_text(full, &s.text, &s.len, err);
                if (rc < 0)
                        break;
                s.locale = xstrdup(locale);
                s.name = xstrndup(sub, strlen(sub) - strlen(".mustache"));
                s.path = xstrdup(full);
                out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
                out->v[out->n++] = s;
        }
        closedir(d);
        return rc;
}

static void sources_free(struct sources *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->v[i].locale);
                free(s->v[i].name);
                free(s->v[i].path);
                free(s->v[i].text);
        }
        free(s->v);
}

/* "nl-BE" -> "nl"; NULL when tag has no region. */
static char *language_of(const char *tag)
{
        size_t n = strcspn(tag, "-_");
        return tag[n] ? xstrndup(tag, n) : NULL;
}

static bool has_locale(const struct sources *s, const char *locale)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->v[i].locale, locale) == 0)
                        return true;
        return false;
}

/* Adds every template of locale to set (later calls override). */
static int add_locale(struct mustache_set *set, const struct sources *s, const char *locale,
                      struct error *err)
{
        for (size_t i = 0; i < s->n; i++) {
                if (strcmp(s->v[i].locale, locale) != 0)
                        continue;
                int rc = mustache_set_add(set, s->v[i].name, s->v[i].text, s->v[i].len, err);
                if (rc < 0) {
                        /* The engine names the template; say which file it is. */
                        error_prefix(err, "%s", s->v[i].path);
                        return rc;
                }
        }
        return 0;
}

int render_load(struct render **out, const char *dir, const char *default_locale,
                struct error *err)
{
        struct render *r = xcalloc(1, sizeof(*r));
        struct sources src = { 0 };
        int rc = 0;

        r->default_locale = xstrdup(default_locale);
        DIR *d = opendir(dir);
        if (!d) {
                rc = error_set(err, -errno, "templates: cannot open %s: %s", dir, strerror(errno));
                goto out;
        }
        struct dirent *e;
        while (rc == 0 && (e = readdir(d)) != NULL) {
                char full[4096];
                struct stat st;
                snprintf(full, sizeof(full), "%s/%s", dir, e->d_name);
                if (e->d_name[0] != '.' && stat(full, &st) == 0 && S_ISDIR(st.st_mode))
                        rc = scan(&src, dir, e->d_name, "", 0, err);
        }
        closedir(d);
        if (rc < 0)
                goto out;
        if (!has_locale(&src, default_locale)) {
                rc = error_set(err, -ENOENT, "templates: %s has no templates for the default "
                                             "locale %s", dir, default_locale);
                goto out;
        }

        /* One set per locale directory: default, then language, then itself. */
        for (size_t i = 0; i < src.n; i++) {
                const char *loc = src.v[i].locale;
                bool seen = false;
                for (size_t k = 0; k < r->n_sets && !seen; k++)
                        seen = strcmp(r->sets[k].locale, loc) == 0;
                if (seen)
                        continue;
                struct mustache_set *set = mustache_set_new();
                char *lang = language_of(loc);
                rc = add_locale(set, &src, default_locale, err);
                if (rc == 0 && lang && strcmp(lang, default_locale) != 0)
                        rc = add_locale(set, &src, lang, err);
                if (rc == 0 && strcmp(loc, default_locale) != 0)
                        rc = add_locale(set, &src, loc, err);
                free(lang);
                r->sets = xrealloc(r->sets, (r->n_sets + 1) * sizeof(*r->sets));
                r->sets[r->n_sets].locale = xstrdup(loc);
                r->sets[r->n_sets++].set = set;
                if (rc < 0)
                        goto out;
        }
        *out = r;
        r = NULL;
out:
        sources_free(&src);
        render_free(r);
        return rc;
}

void render_free(struct render *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_sets; i++) {
                free(r->sets[i].locale);
                mustache_set_free(r->sets[i].set);
        }
        free(r->sets);
        free(r->default_locale);
        free(r);
}

static const struct locale_set *find_set(const struct render *r, const char *locale)
{
        for (size_t i = 0; i < r->n_sets; i++)
                if (strcasecmp(r->sets[i].locale, locale) == 0)
                        return &r->sets[i];
        return NULL;
}

/* The set of locale, else of its language, else of the default locale. */
static const struct locale_set *set_for(const struct render *r, const char *locale)
{
        const struct locale_set *s = find_set(r, locale);
        char *lang = s ? NULL : language_of(locale);
        if (!s && lang)
                s = find_set(r, lang);
        free(lang);
        return s ? s : find_set(r, r->default_locale);
}

/* --- the context --- */

/* Formats money in the job's locale, else the default locale's. */
static void money(struct mustache_value *map, const char *key, struct l10n_cache *cache,
                  const struct job *job, const struct config *cfg, const char *currency,
                  int64_t cents)
{
        struct buf b = BUF_INIT;
        struct error err;
        if (l10n_money(cache, &b, job->customer.locale, currency, cents, &err) < 0 &&
            l10n_money(cache, &b, cfg->default_locale, currency, cents, &err) < 0)
                buf_printf(&b, "%s %lld.%02lld", currency, (long long)(cents / 100),
                           (long long)(cents % 100));
        mustache_map_set_str(map, key, buf_str(&b));
        buf_free(&b);
}

static void date(struct mustache_value *map, const char *key, struct l10n_cache *cache,
                 const struct job *job, const struct config *cfg, const char *ymd)
{
        struct buf b = BUF_INIT;
        struct error err;
        if (l10n_date(cache, &b, job->customer.locale, ymd, L10N_DATE_LONG, &err) < 0 &&
            l10n_date(cache, &b, cfg->default_locale, ymd, L10N_DATE_LONG, &err) < 0)
                buf_puts(&b, ymd);
        mustache_map_set_str(map, key, buf_str(&b));
        buf_free(&b);
}

static bool is_dutch(const struct job *job)
{
        return strncasecmp(job->customer.locale, "nl", 2) == 0 &&
               (job->customer.locale[2] == '\0' || job->customer.locale[2] == '-' ||
                job->customer.locale[2] == '_');
}

int render_context(struct mustache_value **out, const struct job *job, const struct config *cfg,
                   const struct render_extra *extra, struct l10n_cache *cache,
                   struct error *err)
{
        struct mustache_value *root = mustache_map_new();
        const char *currency = job->invoices[0].currency;
        int64_t today = civil_today(extra->now_ms), total = 0, max_overdue = 0;
        char today_ymd[11];
        civil_format(today, today_ymd);

        struct mustache_value *c = mustache_map_set_map(root, "customer");
        mustache_map_set_str(c, "id", job->customer.id);
        mustache_map_set_str(c, "name", job->customer.name);
        mustache_map_set_str(c, "locale", job->customer.locale);
        if (job->customer.segment)
                mustache_map_set_str(c, "segment", job->customer.segment);

        struct mustache_value *list = mustache_map_set_list(root, "invoices");
        const struct mustache_value *first_amount = NULL;
        for (size_t i = 0; i < job->n_invoices; i++) {
                const struct job_invoice *inv = &job->invoices[i];
                struct mustache_value *m = mustache_list_push_map(list);
                int64_t due;
                mustache_map_set_str(m, "number", inv->number);
                money(m, "amount", cache, job, cfg, inv->currency, inv->amount_cents);
                if (i == 0)
                        first_amount = mustache_map_get(m, "amount");
                if (inv->issued[0])
                        date(m, "issued", cache, job, cfg, inv->issued);
                date(m, "due", cache, job, cfg, inv->due);
                int64_t overdue = civil_parse(inv->due, &due) == 0 && today > due ? today - due : 0;
                mustache_map_set_int(m, "days_overdue", overdue);
                if (overdue > max_overdue)
                        max_overdue = overdue;
                total += inv->amount_cents;
        }
        mustache_map_set_bool(root, "multiple", job->n_invoices > 1);
        mustache_map_set_int(root, "invoice_count", (long long)job->n_invoices);
        if (job->n_invoices == 1 && first_amount) {
                /* One invoice: the total is its amount, already formatted. */
                size_t len;
                const char *text = mustache_value_text(first_amount, &len);
                mustache_map_set(root, "total", mustache_string_len(text, len));
        } else {
                money(root, "total", cache, job, cfg, currency, total);
        }
        mustache_map_set_int(root, "days_overdue", max_overdue);
        date(root, "today", cache, job, cfg, today_ymd);

        /* The reference a transfer should quote: the pay provider's, else
         * an ISO 11649 RF reference made from a single invoice number
         * (the letter's QR code carries the same), else the numbers. */
        struct buf ref = BUF_INIT;
        char rf[EPCQR_RF_MAX + 1];
        struct error rferr;
        if (extra->pay_reference) {
                buf_puts(&ref, extra->pay_reference);
        } else if (job->n_invoices == 1 &&
                   epcqr_rf_make(rf, job->invoices[0].number, &rferr) == 0) {
                buf_puts(&ref, rf);
        } else {
                for (size_t i = 0; i < job->n_invoices; i++)
                        buf_printf(&ref, "%s%s", i ? ", " : "", job->invoices[i].number);
        }
        struct mustache_value *pay = mustache_map_set_map(root, "pay");
        if (extra->pay_link && extra->pay_link[0])
                mustache_map_set_str(pay, "link", extra->pay_link);
        mustache_map_set_str(pay, "reference", buf_str(&ref));
        mustache_map_set_str(pay, "iban", cfg->creditor.iban);
        mustache_map_set_str(pay, "name", cfg->creditor.name);
        if (cfg->creditor.bic)
                mustache_map_set_str(pay, "bic", cfg->creditor.bic);
        buf_free(&ref);

        struct mustache_value *cr = mustache_map_set_map(root, "creditor");
        mustache_map_set_str(cr, "name", cfg->creditor.name);
        mustache_map_set_str(cr, "iban", cfg->creditor.iban);
        if (cfg->creditor.bic)
                mustache_map_set_str(cr, "bic", cfg->creditor.bic);
        struct mustache_value *addr = mustache_map_set_list(cr, "address");
        for (size_t i = 0; i < cfg->creditor.n_address; i++)
                mustache_list_push(addr, mustache_string(cfg->creditor.address[i]));

        mustache_map_set_str(root, "step", job->step);
        mustache_map_set_str(root, "reminder_id", job->reminder_id);
        /* An installment of a payment arrangement: its own amount and date. */
        if (job->installment) {
                struct mustache_value *in = mustache_map_set_map(root, "installment");
                mustache_map_set_str(in, "arrangement", job->installment->arrangement);
                mustache_map_set_int(in, "number", job->installment->number);
                mustache_map_set_int(in, "of", job->installment->of);
                mustache_map_set_bool(in, "last", job->installment->number == job->installment->of);
                money(in, "amount", cache, job, cfg, currency, job->installment->amount_cents);
                date(in, "due", cache, job, cfg, job->installment->due);
                /* What to pay now is the installment: the layouts' "please
                 * transfer {{total}}", the letter's payment block and QR. */
                const struct mustache_value *all = mustache_map_get(root, "total");
                size_t len;
                const char *text = all ? mustache_value_text(all, &len) : NULL;
                if (text)
                        mustache_map_set(in, "total_open", mustache_string_len(text, len));
                money(root, "total", cache, job, cfg, currency, job->installment->amount_cents);
        }

        /* The Dutch statutory costs: stated on a final notice to a Dutch
         * customer in euro, charged only after the 14-day term. Only a
         * final notice gets the figures (formatting them costs). */
        struct mustache_value *wik = mustache_map_set_map(root, "wik");
        bool final = strcmp(job->step, "final-notice") == 0;
        bool applies = final && is_dutch(job) && strcmp(currency, "EUR") == 0;
        mustache_map_set_bool(wik, "applies", applies);
        if (!final)
                goto done;
        int64_t costs = wik_costs_cents(total);
        money(wik, "costs", cache, job, cfg, currency, costs);
        money(wik, "total", cache, job, cfg, currency, total + costs);
        char term_end[11];
        if (wik_term_end(today_ymd, cfg->channels.letter.postal_lag_days, term_end) == 0)
                date(wik, "term_end", cache, job, cfg, term_end);
        mustache_map_set_int(wik, "term_days", 14);
done:
        (void)err;
        *out = root;
        return 0;
}

/* --- rendering --- */

static void trim_trailing_space(struct buf *b)
{
        while (b->len > 0 && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r' ||
                              b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
                b->data[--b->len] = '\0';
}

/* ICU separates amounts and dates with no-break spaces (U+00A0, U+202F)
 * that GSM 03.38 does not have: one of them would make an SMS UCS-2, with
 * 70 instead of 160 characters a segment. A plain space reads the same. */
static void plain_spaces(struct buf *b)
{
        size_t w = 0;
        for (size_t i = 0; i < b->len;) {
                if (i + 1 < b->len && (unsigned char)b->data[i] == 0xC2 &&
                    (unsigned char)b->data[i + 1] == 0xA0) {
                        b->data[w++] = ' ';
                        i += 2;
                } else if (i + 2 < b->len && (unsigned char)b->data[i] == 0xE2 &&
                           (unsigned char)b->data[i + 1] == 0x80 &&
                           ((unsigned char)b->data[i + 2] == 0xAF ||
                            (unsigned char)b->data[i + 2] == 0x89)) {
                        b->data[w++] = ' ';   /* narrow no-break, thin space */
                        i += 3;
                } else {
                        b->data[w++] = b->data[i++];
                }
        }
        b->len = w;
        if (b->data)
                b->data[w] = '\0';
}

/* A subject is one line: line breaks inside become spaces. */
static void one_line(struct buf *b)
{
        trim_trailing_space(b);
        for (size_t i = 0; i < b->len; i++)
                if (b->data[i] == '\r' || b->data[i] == '\n' || b->data[i] == '\t')
                        b->data[i] = ' ';
}

/* Renders <step>/<segment>/<channel>.<part>, else <step>/<channel>.<part>.
 * -ENOENT with a message when neither exists and required. */
static int render_part(const struct locale_set *ls, const struct job *job, const char *channel,
                       const char *part, bool required, const struct mustache_value *ctx,
                       const struct mustache_render_opts *opts, struct buf *out,
                       struct error *err)
{
        char name[512];
        bool found = false;
        if (job->customer.segment) {
                snprintf(name, sizeof(name), "%s/%s/%s.%s", job->step, job->customer.segment,
                         channel, part);
                found = mustache_set_has(ls->set, name);
        }
        if (!found) {
                snprintf(name, sizeof(name), "%s/%s.%s", job->step, channel, part);
                found = mustache_set_has(ls->set, name);
        }
        if (!found)
                return required ? error_set(err, -ENOENT, "templates: no %s for locale %s",
                                            name, ls->locale)
                                : 0;
        return mustache_render(out, ls->set, name, ctx, opts, err);
}

int render_message(const struct render *r, const struct job *job, enum job_channel ch,
                   const struct mustache_value *ctx, bool strict, struct render_parts *parts,
                   struct error *err)
{
        const struct locale_set *ls = set_for(r, job->customer.locale);
        const char *channel = job_channel_name(ch);
        struct mustache_render_opts plain = { .escape = MUSTACHE_ESCAPE_NONE, .strict = strict };
        struct mustache_render_opts html = { .escape = MUSTACHE_ESCAPE_HTML, .strict = strict };
        int rc;

        buf_reset(&parts->subject);
        buf_reset(&parts->text);
        buf_reset(&parts->html);
        if (!ls)
                return error_set(err, -ENOENT, "templates: no set for %s", job->customer.locale);
        rc = render_part(ls, job, channel, "txt", true, ctx, &plain, &parts->text, err);
        if (rc == 0 && ch == JOB_CHANNEL_EMAIL) {
                rc = render_part(ls, job, channel, "subject", true, ctx, &plain, &parts->subject,
                                 err);
                if (rc == 0)
                        rc = render_part(ls, job, channel, "html", false, ctx, &html,
                                         &parts->html, err);
                one_line(&parts->subject);
        }
        /* A letter's heading: its own subject part, else the e-mail's. */
        if (rc == 0 && ch == JOB_CHANNEL_LETTER) {
                rc = render_part(ls, job, "letter", "subject", false, ctx, &plain,
                                 &parts->subject, err);
                if (rc == 0 && parts->subject.len == 0)
                        rc = render_part(ls, job, "email", "subject", false, ctx, &plain,
                                         &parts->subject, err);
                one_line(&parts->subject);
        }
        if (ch == JOB_CHANNEL_SMS) {
                trim_trailing_space(&parts->text);
                plain_spaces(&parts->text);
        }
        return rc;
}

void render_parts_free(struct render_parts *parts)
{
        buf_free(&parts->subject);
        buf_free(&parts->text);
        buf_free(&parts->html);
}

/* --- the letter's layout data --- */

/* The templates wrap plain text at 78 columns for e-mail; on paper pango
 * wraps to the column, so lines of a paragraph are joined again (a blank
 * line still separates paragraphs, and a line that starts with spaces or
 * a list mark keeps its break). */
static void unwrap(struct buf *out, const char *text)
{
        for (const char *p = text; *p; p++) {
                if (*p != '\n') {
                        buf_putc(out, *p);
                        continue;
                }
                char next = p[1];
                bool keep = next == '\n' || next == '\0' || next == ' ' || next == '-' ||
                            next == '*' || (p > text && p[-1] == '\n');
                buf_putc(out, keep ? '\n' : ' ');
        }
}

static const char *ctx_text(const struct mustache_value *map, const char *key)
{
        size_t len;
        const struct mustache_value *v = mustache_map_get(map, key);
        const char *t = v ? mustache_value_text(v, &len) : NULL;
        return t ? t : "";
}

int render_letter(struct render_letter *l, const struct job *job, const struct config *cfg,
                  const struct mustache_value *ctx, const struct render_parts *parts,
                  int64_t now_ms, struct error *err)
{
        struct letter_input *in = &l->in;
        const struct mustache_value *pay = mustache_map_get(ctx, "pay");
        const struct mustache_value *list = mustache_map_get(ctx, "invoices");
        size_t n = 0, k = 0;
        int64_t total = 0;
        bool euro = true;

        memset(l, 0, sizeof(*l));
        for (size_t i = 0; i < cfg->creditor.n_address && k < 7; i++)
                l->creditor[k++] = cfg->creditor.address[i];
        in->creditor_name = cfg->creditor.name;
        in->creditor_address = l->creditor;
        /* On paper an IBAN is read in groups of four. */
        for (const char *p = cfg->creditor.iban; *p; p++) {
                if (*p == ' ')
                        continue;
                if (l->iban.len && (l->iban.len + 1) % 5 == 0)
                        buf_putc(&l->iban, ' ');
                buf_putc(&l->iban, *p);
        }
        in->creditor_iban = buf_str(&l->iban);
        in->creditor_bic = cfg->creditor.bic;

        const struct job_address *a = &job->customer.address;
        for (size_t i = 0; job->customer.has_address && i < a->n_lines && n < 5; i++)
                l->recipient[n++] = a->lines[i];
        if (job->customer.has_address) {
                buf_printf(&l->postal, "%s  %s", a->postal_code ? a->postal_code : "",
                           a->city ? a->city : "");
                l->recipient[n++] = buf_str(&l->postal);
        }
        in->recipient_name = job->customer.name;
        in->recipient_lines = l->recipient;

        l->invoices = xcalloc(job->n_invoices, sizeof(*l->invoices));
        for (size_t i = 0; i < job->n_invoices; i++) {
                /* The list in ctx holds the invoices in job order. */
                const struct mustache_value *m = mustache_list_get(list, i);
                l->invoices[i].number = job->invoices[i].number;
                l->invoices[i].due = ctx_text(m, "due");
                l->invoices[i].amount = ctx_text(m, "amount");
                total += job->invoices[i].amount_cents;
                euro = euro && strcmp(job->invoices[i].currency, "EUR") == 0;
        }
        in->invoices = l->invoices;
        in->n_invoices = job->n_invoices;
        in->date_text = ctx_text(ctx, "today");
        in->total_text = ctx_text(ctx, "total");
        in->reference = ctx_text(pay, "reference");
        const char *link = ctx_text(pay, "link");
        in->pay_link = link[0] ? link : NULL;
        unwrap(&l->body, buf_str(&parts->text));
        in->body_text = buf_str(&l->body);
        in->lang = job->customer.locale;
        in->created_ms = now_ms;
        buf_puts(&l->title, parts->subject.len ? buf_str(&parts->subject) : job->invoices[0].number);
        in->title = buf_str(&l->title);

        if (job->installment)
                total = job->installment->amount_cents;
        /* EPC QR: euro only, with the same reference the text quotes. */
        if (euro) {
                struct epcqr_input q = {
                        .bic = cfg->creditor.bic, .name = cfg->creditor.name,
                        .iban = cfg->creditor.iban, .currency = "EUR", .amount_cents = total,
                };
                if (strncmp(in->reference, "RF", 2) == 0)
                        q.reference = in->reference;
                else
                        q.text = in->reference;
                int rc = epcqr_payload(&l->epc, &q, err);
                if (rc < 0 && rc != EPCQR_ERR_TOO_LONG) {
                        error_prefix(err, "letter: EPC QR");
                        render_letter_free(l);
                        return rc;
                }
                in->epc_payload = rc == 0 ? buf_str(&l->epc) : NULL;
        }
        return 0;
}

void render_letter_free(struct render_letter *l)
{
        free(l->invoices);
        buf_free(&l->postal);
        buf_free(&l->epc);
        buf_free(&l->title);
        buf_free(&l->body);
        buf_free(&l->iban);
        memset(l, 0, sizeof(*l));
}
