/* dispatch.c: one job from decision to outcome. */
#include "dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "policy.h"

struct dispatch {
        const struct config *cfg;
        const struct channel_ops *ops[JOB_CHANNEL__N];
        void *session[JOB_CHANNEL__N];
        struct buf subject, text;
};

int dispatch_new(struct dispatch **out, const struct config *cfg, struct error *err)
{
        struct dispatch *d = xcalloc(1, sizeof(*d));
        int rc = 0;

        d->cfg = cfg;
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                const char *t = channel_transport(cfg, (enum job_channel)ch);
                d->ops[ch] = channel_lookup(t);
                if (!d->ops[ch]) {
                        rc = error_set(err, -ENOTSUP, "channels.%s.transport: %s is not built in",
                                       job_channel_name((enum job_channel)ch), t ? t : "(none)");
                        goto out;
                }
                rc = d->ops[ch]->open(&d->session[ch], (enum job_channel)ch, cfg, err);
                if (rc < 0)
                        goto out;
        }
        *out = d;
        d = NULL;
out:
        dispatch_free(d);
        return rc;
}

void dispatch_free(struct dispatch *d)
{
        if (!d)
                return;
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                if (d->ops[ch] && d->session[ch])
                        d->ops[ch]->close(d->session[ch]);
        buf_free(&d->subject);
        buf_free(&d->text);
        free(d);
}

void dispatch_flush(struct dispatch *d)
{
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                if (d->ops[ch] && d->ops[ch]->flush)
                        d->ops[ch]->flush(d->session[ch]);
}

static bool dutch(const struct job *job)
{
        return strncmp(job->customer.locale, "nl", 2) == 0;
}

/* Minor units as "1.234,56" (nl) or "1,234.56"; the locale module
 * replaces this with ICU formatting. */
static void money(struct buf *b, int64_t cents, const char *currency, bool nl)
{
        char digits[32];
        snprintf(digits, sizeof(digits), "%lld", (long long)(cents / 100));
        size_t n = strlen(digits);
        buf_printf(b, "%s ", currency);
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && (n - i) % 3 == 0)
                        buf_putc(b, nl ? '.' : ',');
                buf_putc(b, digits[i]);
        }
        buf_printf(b, "%c%02lld", nl ? ',' : '.', (long long)(cents % 100));
}

void dispatch_build_text(const struct job *job, const struct config *cfg, enum job_channel ch,
                         struct buf *subject, struct buf *text)
{
        bool nl = dutch(job);
        int64_t total = 0;
        for (size_t i = 0; i < job->n_invoices; i++)
                total += job->invoices[i].amount_cents;

        buf_reset(subject);
        buf_reset(text);
        buf_printf(subject, nl ? "Betalingsherinnering %s" : "Payment reminder %s",
                   job->invoices[0].number);
        if (job->n_invoices > 1)
                buf_printf(subject, nl ? " en %zu andere" : " and %zu more", job->n_invoices - 1);

        if (ch == JOB_CHANNEL_SMS) {
                buf_printf(text, nl ? "%s: %zu openstaande factuur/facturen, totaal "
                                    : "%s: %zu open invoice(s), total ",
                           cfg->creditor.name, job->n_invoices);
                money(text, total, job->invoices[0].currency, nl);
                buf_puts(text, nl ? ". Betaal vandaag nog." : ". Please pay today.");
                return;
        }
        if (ch == JOB_CHANNEL_LETTER) {
                buf_printf(text, "%s\n", cfg->creditor.name);
                for (size_t i = 0; i < cfg->creditor.n_address; i++)
                        buf_printf(text, "%s\n", cfg->creditor.address[i]);
                buf_printf(text, "\n%s\n", job->customer.name);
                for (size_t i = 0; job->customer.has_address && i < job->customer.address.n_lines; i++)
                        buf_printf(text, "%s\n", job->customer.address.lines[i]);
                if (job->customer.has_address)
                        buf_printf(text, "%s %s\n", job->customer.address.postal_code
                                                            ? job->customer.address.postal_code : "",
                                   job->customer.address.city ? job->customer.address.city : "");
                buf_printf(text, "\n%s\n", buf_str(subject));
        }
        buf_printf(text, nl ? "Beste %s,\n\n" : "Dear %s,\n\n", job->customer.name);
        buf_puts(text, nl ? "Volgens onze administratie staan de volgende facturen nog open:\n\n"
                          : "According to our records the following invoices are still open:\n\n");
        for (size_t i = 0; i < job->n_invoices; i++) {
                buf_printf(text, "  %s  %s  ", job->invoices[i].number, job->invoices[i].due);
                money(text, job->invoices[i].amount_cents, job->invoices[i].currency, nl);
                buf_putc(text, '\n');
        }
        buf_puts(text, nl ? "\nTotaal: " : "\nTotal: ");
        money(text, total, job->invoices[0].currency, nl);
        buf_printf(text, nl ? "\n\nWilt u dit bedrag vandaag overmaken naar %s t.n.v. %s?\n"
                            : "\n\nPlease transfer this amount today to %s, %s.\n",
                   cfg->creditor.iban, cfg->creditor.name);
        buf_printf(text, nl ? "\nMet vriendelijke groet,\n%s\n" : "\nKind regards,\n%s\n",
                   cfg->creditor.name);
}

static int64_t mono_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void dispatch_job(struct dispatch *d, const struct job *job,
                  const bool already_sent[JOB_CHANNEL__N], int64_t now_ms,
                  struct dispatch_result *r)
{
        struct policy_decision pd;
        int64_t t0 = mono_us();

        memset(r, 0, sizeof(*r));
        r->channel = JOB_CHANNEL_NONE;
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                if (already_sent[ch]) {
                        r->status = DISPATCH_SKIPPED;
                        r->channel = (enum job_channel)ch;
                        snprintf(r->reason, sizeof(r->reason), "already-sent");
                        return;
                }
        }

        policy_choose(job, d->cfg, now_ms, &pd);
        snprintf(r->policy, sizeof(r->policy), "%s", pd.reason);
        if (pd.n == 0) {
                r->status = DISPATCH_DEAD;
                snprintf(r->reason, sizeof(r->reason), "no-channel");
                return;
        }
        for (size_t i = 0; i < pd.n; i++) {
                enum job_channel ch = pd.order[i];
                struct send_result sr;
                dispatch_build_text(job, d->cfg, ch, &d->subject, &d->text);
                struct message m = {
                        .channel = ch,
                        .job = job,
                        .reminder_id = job->reminder_id,
                        .to = ch == JOB_CHANNEL_EMAIL ? job->customer.email
                              : ch == JOB_CHANNEL_SMS ? job->customer.phone
                                                      : NULL,
                        .to_name = job->customer.name,
                        .from = ch == JOB_CHANNEL_EMAIL ? d->cfg->channels.email.from
                                : ch == JOB_CHANNEL_SMS ? d->cfg->channels.sms.sender
                                                        : d->cfg->creditor.name,
                        .subject = buf_str(&d->subject),
                        .text = buf_str(&d->text),
                };
                d->ops[ch]->send(d->session[ch], &m, &sr);
                r->channel = ch;
                snprintf(r->reason, sizeof(r->reason), "%s", sr.reason);
                snprintf(r->provider_id, sizeof(r->provider_id), "%s", sr.provider_id);
                if (sr.outcome == CHANNEL_SENT) {
                        r->status = DISPATCH_SENT;
                        goto out;
                }
                if (sr.outcome == CHANNEL_TEMPFAIL) {
                        r->status = DISPATCH_RETRY;
                        goto out;
                }
                r->failed[r->n_failed++] = ch;
        }
        r->status = DISPATCH_DEAD;
        if (!r->reason[0])
                snprintf(r->reason, sizeof(r->reason), "permanent failure on every channel");
out:
        r->duration_us = mono_us() - t0;
}
