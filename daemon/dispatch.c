/* dispatch.c: one job from decision to outcome. */
#include "dispatch.h"

#include "gsm7.h"
#include "paylink.h"
#include "quiet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "l10n.h"
#include "letter.h"
#include "log.h"
#include "mustache.h"
#include "policy.h"
#include "render.h"

struct dispatch {
        const struct config *cfg;
        const struct render *render;
        const struct channel_ops *ops[JOB_CHANNEL__N];
        void *session[JOB_CHANNEL__N];
        struct l10n_cache *l10n;   /* this worker's ICU formatters */
        struct dispatch_prepared prep;   /* reused from job to job */
        struct quiet quiet;              /* no SMS in this window */
        struct paylink *paylink;         /* this worker's pay link maker */
        /* dispatch_on_accepted: who is told, and each channel's tag */
        void (*accepted)(void *arg, enum job_channel ch, const char *reminder_id);
        void *accepted_arg;
        struct accepted_tag {
                struct dispatch *d;
                enum job_channel ch;
        } tag[JOB_CHANNEL__N];
};

static void accepted_on(void *arg, const char *reminder_id)
{
        const struct accepted_tag *t = arg;
        t->d->accepted(t->d->accepted_arg, t->ch, reminder_id);
}

void dispatch_on_accepted(struct dispatch *d,
                          void (*fn)(void *arg, enum job_channel ch, const char *reminder_id),
                          void *arg)
{
        d->accepted = fn;
        d->accepted_arg = arg;
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                d->tag[ch] = (struct accepted_tag){ .d = d, .ch = (enum job_channel)ch };
                if (d->ops[ch] && d->ops[ch]->set_accepted)
                        d->ops[ch]->set_accepted(d->session[ch], fn ? accepted_on : NULL,
                                                 &d->tag[ch]);
        }
}

int dispatch_new(struct dispatch **out, const struct config *cfg, const struct render *r,
                 struct error *err)
{
        struct dispatch *d = xcalloc(1, sizeof(*d));
        int rc = 0;

        d->cfg = cfg;
        d->render = r;
        d->l10n = l10n_cache_new();
        if ((rc = quiet_parse(&d->quiet, cfg->channels.sms.quiet_hours, err)) < 0 ||
            (rc = paylink_new(&d->paylink, cfg, err)) < 0)
                goto out;
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                const char *t = channel_transport(cfg, (enum job_channel)ch);
                d->ops[ch] = channel_lookup((enum job_channel)ch, t);
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

bool dispatch_paylinks_enabled(const struct dispatch *d)
{
        return paylink_enabled(d->paylink);
}

void dispatch_paylink(struct dispatch *d, const struct job *job, int64_t now_ms,
                      struct dispatch_link *out)
{
        struct paylink_result res;
        struct buf desc = BUF_INIT;
        int64_t total = 0;

        out->made = false;
        out->outcome = CHANNEL_SENT;
        if (out->link.url[0] || !paylink_enabled(d->paylink))
                return;   /* stored from an earlier attempt, or no provider */
        /* One link pays every invoice of the reminder, in one currency. */
        buf_puts(&desc, d->cfg->creditor.name);
        for (size_t i = 0; i < job->n_invoices; i++) {
                if (strcmp(job->invoices[i].currency, job->invoices[0].currency) != 0) {
                        out->outcome = CHANNEL_PERMFAIL;
                        snprintf(out->reason, sizeof(out->reason),
                                 "invoices in more than one currency: no single pay link");
                        buf_free(&desc);
                        return;
                }
                total += job->invoices[i].amount_cents;
                buf_printf(&desc, "%s%s", i ? ", " : " ", job->invoices[i].number);
        }
        /* An installment reminder asks for the installment. */
        if (job->installment)
                total = job->installment->amount_cents;
        struct paylink_request req = {
                .reminder_id = job->reminder_id,
                .amount_cents = total,
                .currency = job->invoices[0].currency,
                .description = buf_str(&desc),
                .now_ms = now_ms,
        };
        paylink_create(d->paylink, &req, &res);
        buf_free(&desc);
        out->outcome = res.outcome;
        out->retry_after_ms = res.retry_after_ms;
        snprintf(out->reason, sizeof(out->reason), "%s", res.reason);
        if (res.outcome == CHANNEL_SENT) {
                snprintf(out->link.id, sizeof(out->link.id), "%s", res.id);
                snprintf(out->link.url, sizeof(out->link.url), "%s", res.url);
                out->link.expires_ms = res.expires_ms;
                out->made = true;
        }
}

void dispatch_free(struct dispatch *d)
{
        if (!d)
                return;
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                if (d->ops[ch] && d->session[ch])
                        d->ops[ch]->close(d->session[ch]);
        dispatch_prepared_free(&d->prep);
        l10n_cache_free(d->l10n);
        paylink_free(d->paylink);
        free(d);
}

void dispatch_flush(struct dispatch *d)
{
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++)
                if (d->ops[ch] && d->ops[ch]->flush)
                        d->ops[ch]->flush(d->session[ch]);
}

static int64_t mono_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A final notice by e-mail carries the letter as a PDF (the notice in
 * writing), when the customer has a postal address to print on it. The
 * e-mail goes without it when the letter cannot be made. */
static void attach_final_notice(struct dispatch_prepared *p, const struct config *cfg,
                                const struct render *r, const struct job *job,
                                const struct mustache_value *ctx, int64_t now_ms)
{
        struct render_parts lp = { 0 };
        struct render_letter l;
        struct error err;

        if (strcmp(job->step, "final-notice") != 0 || !job->customer.has_address)
                return;
        if (render_message(r, job, JOB_CHANNEL_LETTER, ctx, false, &lp, &err) == 0 &&
            render_letter(&l, job, cfg, ctx, &lp, now_ms, &err) == 0) {
                if (letter_render(&p->pdf, &l.in, &err) < 0) {
                        buf_reset(&p->pdf);
                        log_event(LOG_WARNING, "final notice e-mailed without its letter",
                                  "reminder", job->reminder_id, "error", err.msg, NULL);
                }
                render_letter_free(&l);
        }
        render_parts_free(&lp);
        if (p->pdf.len == 0)
                return;
        /* A file name of the invoice number, in the characters MIME allows. */
        size_t k = 0;
        for (const char *c = job->invoices[0].number; *c && k < 50; c++)
                p->pdf_name[k++] = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789-_.", *c) ? *c : '-';
        snprintf(p->pdf_name + k, sizeof(p->pdf_name) - k, ".pdf");
        p->msg.attachment = p->pdf.data;
        p->msg.attachment_len = p->pdf.len;
        p->msg.attachment_name = p->pdf_name;
}

int dispatch_prepare(struct dispatch_prepared *p, const struct config *cfg,
                     const struct render *r, const struct job *job, enum job_channel ch,
                     const struct mustache_value *ctx, bool strict, int64_t now_ms,
                     struct error *err)
{
        render_letter_free(&p->letter);
        buf_reset(&p->pdf);
        int rc = render_message(r, job, ch, ctx, strict, &p->parts, err);
        if (rc == 0 && ch == JOB_CHANNEL_LETTER)
                rc = render_letter(&p->letter, job, cfg, ctx, &p->parts, now_ms, err);
        if (rc < 0)
                return rc;
        if (ch == JOB_CHANNEL_SMS) {
                /* Caught here, as a template problem, not on the bill. */
                struct gsm7_count n;
                gsm7_count(buf_str(&p->parts.text), &n);
                if ((int)n.segments > cfg->channels.sms.max_segments)
                        return error_set(err, -EMSGSIZE,
                                         "sms text of step %s (%s) is %zu segments (%zu %s), "
                                         "more than channels.sms.max_segments (%d)",
                                         job->step, job->customer.locale, n.segments, n.units,
                                         n.gsm7 ? "GSM-7 septets" : "UCS-2 units",
                                         cfg->channels.sms.max_segments);
        }
        p->msg = (struct message){
                .channel = ch,
                .job = job,
                .reminder_id = job->reminder_id,
                .to = job_contact(job, ch),
                .to_name = job->customer.name,
                .from = ch == JOB_CHANNEL_EMAIL ? cfg->channels.email.from
                        : ch == JOB_CHANNEL_SMS ? cfg->channels.sms.sender
                                                : cfg->creditor.name,
                .subject = buf_str(&p->parts.subject),
                .text = buf_str(&p->parts.text),
                .html = p->parts.html.len ? buf_str(&p->parts.html) : NULL,
                .letter = ch == JOB_CHANNEL_LETTER ? &p->letter.in : NULL,
        };
        if (ch == JOB_CHANNEL_EMAIL)
                attach_final_notice(p, cfg, r, job, ctx, now_ms);
        return 0;
}

void dispatch_prepared_free(struct dispatch_prepared *p)
{
        render_parts_free(&p->parts);
        render_letter_free(&p->letter);
        buf_free(&p->pdf);
}

/* The end of the quiet hours at now in the customer's zone (the config's
 * default zone when the job names none or ICU does not know it), or 0. */
static int64_t sms_quiet_until(const struct dispatch *d, const struct job *job, int64_t now_ms)
{
        const char *tz = job->customer.timezone;
        int64_t until = tz ? quiet_until(&d->quiet, tz, now_ms) : -1;
        if (until < 0)
                until = quiet_until(&d->quiet, d->cfg->default_timezone, now_ms);
        return until > 0 ? until : 0;
}

/* The worker's decision for job (made with its history), else one made
 * now without history into own. */
static const struct policy_decision *decide(const struct dispatch *d, const struct job *job,
                                            const struct dispatch_pre *pre, int64_t now_ms,
                                            struct policy_decision *own)
{
        if (pre && pre->decision)
                return pre->decision;
        policy_choose(job, NULL, d->cfg, now_ms, own);
        return own;
}

void dispatch_batch(struct dispatch *d, enum job_channel ch, struct job *const *jobs, size_t n,
                    int64_t now_ms, struct dispatch_pre *pre)
{
        const struct channel_ops *ops = d->ops[ch];
        struct dispatch_prepared *prep = xcalloc(n, sizeof(*prep));
        const struct message **list = xcalloc(n, sizeof(*list));
        struct send_result *res = xcalloc(n, sizeof(*res));
        size_t *who = xcalloc(n, sizeof(*who));
        size_t k = 0;

        int64_t t0 = mono_us();

        if (!ops->send_batch)
                goto out;
        for (size_t i = 0; i < n; i++) {
                struct policy_decision own;
                struct mustache_value *ctx = NULL;
                struct render_extra extra = { .now_ms = now_ms, .pay_link = pre[i].pay_link };
                struct error err;
                if (!jobs[i] || pre[i].used)
                        continue;
                const struct policy_decision *pd = decide(d, jobs[i], &pre[i], now_ms, &own);
                if (pd->n == 0 || pd->order[0] != ch)
                        continue;
                /* Inside the quiet hours dispatch_job puts it off. */
                if (ch == JOB_CHANNEL_SMS && sms_quiet_until(d, jobs[i], now_ms) > 0)
                        continue;
                /* A job that does not render is left to dispatch_job,
                 * which dead-letters it with the reason. */
                if (render_context(&ctx, jobs[i], d->cfg, &extra, d->l10n, &err) == 0 &&
                    dispatch_prepare(&prep[k], d->cfg, d->render, jobs[i], ch, ctx, false,
                                     now_ms, &err) == 0) {
                        list[k] = &prep[k].msg;
                        who[k++] = i;
                }
                mustache_value_free(ctx);
        }
        if (k > 0)
                ops->send_batch(d->session[ch], list, k, res);
        int64_t share = k ? (mono_us() - t0) / (int64_t)k : 0;
        for (size_t j = 0; j < k; j++) {
                pre[who[j]].used = true;
                pre[who[j]].channel = ch;
                pre[who[j]].result = res[j];
                pre[who[j]].duration_us = share;
        }
out:
        for (size_t i = 0; i < n; i++)
                dispatch_prepared_free(&prep[i]);
        free(prep);
        free(list);
        free(res);
        free(who);
}


void dispatch_job(struct dispatch *d, const struct job *job, const struct dispatch_pre *pre,
                  int64_t now_ms, struct dispatch_result *r)
{
        struct policy_decision own;
        int64_t t0 = mono_us();

        memset(r, 0, sizeof(*r));
        r->channel = JOB_CHANNEL_NONE;

        const struct policy_decision *pd = decide(d, job, pre, now_ms, &own);
        snprintf(r->policy, sizeof(r->policy), "%s", pd->reason);
        if (pd->n == 0) {
                r->status = DISPATCH_DEAD;
                snprintf(r->reason, sizeof(r->reason), "no-channel");
                snprintf(r->error, sizeof(r->error), "%s", pd->reason);
                return;
        }
        struct mustache_value *ctx = NULL;
        struct render_extra extra = { .now_ms = now_ms, .pay_link = pre ? pre->pay_link : NULL };
        struct error err;
        for (size_t i = 0; i < pd->n; i++) {
                enum job_channel ch = pd->order[i];
                struct send_result sr;
                /* No SMS at night in the customer's zone: the job waits
                 * for the morning, whichever channel brought us here. */
                if (ch == JOB_CHANNEL_SMS) {
                        int64_t until = sms_quiet_until(d, job, now_ms);
                        if (until > 0) {
                                r->status = DISPATCH_DEFER;
                                r->channel = ch;
                                r->defer_until_ms = until;
                                snprintf(r->reason, sizeof(r->reason), "quiet-hours");
                                goto out;
                        }
                }
                if (pre && pre->used && ch == pre->channel) {
                        sr = pre->result;   /* sent ahead with the batch's others */
                        goto outcome;
                }
                /* The context is made once, when a channel needs it. A
                 * template problem is the operator's to fix (then dead
                 * retry), not a reason to try another channel. */
                if ((!ctx && render_context(&ctx, job, d->cfg, &extra, d->l10n, &err) < 0) ||
                    dispatch_prepare(&d->prep, d->cfg, d->render, job, ch, ctx, false, now_ms,
                                     &err) < 0) {
                        r->status = DISPATCH_DEAD;
                        r->channel = ctx ? ch : JOB_CHANNEL_NONE;
                        snprintf(r->reason, sizeof(r->reason), "render");
                        snprintf(r->error, sizeof(r->error), "%s", err.msg);
                        goto out;
                }
                d->ops[ch]->send(d->session[ch], &d->prep.msg, &sr);
outcome:
                r->channel = ch;
                snprintf(r->reason, sizeof(r->reason), "%s", sr.reason);
                snprintf(r->provider_id, sizeof(r->provider_id), "%s", sr.provider_id);
                if (sr.outcome == CHANNEL_SENT) {
                        r->status = DISPATCH_SENT;
                        goto out;
                }
                if (sr.outcome == CHANNEL_TEMPFAIL) {
                        r->status = DISPATCH_RETRY;
                        r->retry_after_ms = sr.retry_after_ms;
                        goto out;
                }
                r->failed[r->n_failed++] = ch;
        }
        /* Every channel failed for good: the last one says why. */
        r->status = DISPATCH_DEAD;
        snprintf(r->error, sizeof(r->error), "%s", r->reason[0] ? r->reason : "permanent failure");
        snprintf(r->reason, sizeof(r->reason), "permanent");
out:
        mustache_value_free(ctx);
        r->duration_us = mono_us() - t0 + (pre && pre->used ? pre->duration_us : 0);
}
