/* ui_pages.c: the credit team's pages as HTML, from the API's JSON. Every
 * value from Redis goes through ui_html_escape (or is a number). */
#include "ui_pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"

#define T(key) ui_text(p->lang, key)

static void esc(struct buf *b, const char *s)
{
        ui_html_escape(b, s);
}

static const char *str(json_t *o, const char *key)
{
        const char *s = json_string_value(json_object_get(o, key));
        return s ? s : "";
}

static long long num(json_t *o, const char *key)
{
        return (long long)json_number_value(json_object_get(o, key));
}

static void pct(struct buf *b, json_t *v)
{
        if (json_is_number(v))
                buf_printf(b, "%.1f%%", json_number_value(v) * 100.0);
        else
                buf_puts(b, "-");
}

static void when(struct buf *b, long long ms)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        char s[32];
        gmtime_r(&t, &tm);
        strftime(s, sizeof(s), "%Y-%m-%d %H:%M UTC", &tm);
        buf_puts(b, s);
}

static void begin(struct buf *b, const struct ui_page *p, const char *title, const char *active)
{
        static const char *const nav[][2] = { { "/ui/", "overview" },
                                              { "/ui/campaigns", "campaigns" },
                                              { "/ui/dead", "dead" } };
        buf_printf(b, "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<meta name=\"csrf-token\" content=\"",
                   ui_lang_code(p->lang));
        esc(b, p->csrf);
        buf_puts(b, "\"><title>");
        esc(b, title);
        buf_puts(b, " - ");
        esc(b, T("title"));
        buf_puts(b, "</title><link rel=\"stylesheet\" href=\"/ui/static/ui.css\">"
                    "<script src=\"/ui/static/ui.js\" defer></script></head><body>");
        if (!active) {
                buf_puts(b, "<main>");
                return;
        }
        buf_puts(b, "<nav><strong>");
        esc(b, T("title"));
        buf_puts(b, "</strong>");
        for (size_t i = 0; i < sizeof(nav) / sizeof(nav[0]); i++) {
                buf_printf(b, "<a href=\"%s\"%s>", nav[i][0],
                           strcmp(active, nav[i][1]) == 0 ? " class=\"active\"" : "");
                esc(b, T(nav[i][1]));
                buf_puts(b, "</a>");
        }
        buf_puts(b, "<form method=\"get\" action=\"/ui/customers\" id=\"search\">"
                    "<input name=\"q\" id=\"search-q\" placeholder=\"");
        esc(b, T("search"));
        buf_puts(b, "\" aria-label=\"");
        esc(b, T("search"));
        buf_puts(b, "\"> <button type=\"submit\">");
        esc(b, T("find"));
        buf_puts(b, "</button></form><a href=\"?lang=nl\" id=\"lang-nl\">NL</a>"
                    "<a href=\"?lang=en\" id=\"lang-en\">EN</a>");
        if (p->csrf[0]) {
                buf_puts(b, "<form method=\"post\" action=\"/ui/logout\">"
                            "<input type=\"hidden\" name=\"csrf\" value=\"");
                esc(b, p->csrf);
                buf_puts(b, "\"><button type=\"submit\">");
                esc(b, T("logout"));
                buf_puts(b, "</button></form>");
        }
        buf_puts(b, "</nav><main>");
}

static void end(struct buf *b)
{
        buf_puts(b, "</main></body></html>\n");
}

static void h(struct buf *b, const char *tag, const char *text)
{
        buf_printf(b, "<%s>", tag);
        esc(b, text);
        buf_printf(b, "</%s>", tag);
}

/* The line that says a list was cut: which text, and its counts. */
static void cut(struct buf *b, const struct ui_page *p, const char *id, const char *key,
                long long n1, long long n2)
{
        buf_printf(b, "<p class=\"cut\" id=\"%s\">", id);
        ui_text_counts(b, p->lang, key, n1, n2);
        buf_puts(b, "</p>");
}

static void th(struct buf *b, const struct ui_page *p, const char *const *keys)
{
        buf_puts(b, "<tr>");
        for (; *keys; keys++)
                h(b, "th", T(*keys));
        buf_puts(b, "</tr>");
}

void ui_page_login(struct buf *b, const struct ui_page *p, bool refused)
{
        begin(b, p, T("login"), NULL);
        h(b, "h1", T("title"));
        h(b, "p", T(refused ? "login_bad" : "login_needed"));
        buf_puts(b, "<form method=\"post\" action=\"/ui/login\" id=\"login\"><label>");
        esc(b, T("token"));
        buf_puts(b, " <input type=\"password\" name=\"token\" id=\"token\" "
                    "autocomplete=\"current-password\"></label> <button type=\"submit\">");
        esc(b, T("login"));
        buf_puts(b, "</button></form>");
        end(b);
}

static void figure(struct buf *b, const char *id, const char *label, const char *queue_key,
                   const char *value)
{
        buf_printf(b, "<div class=\"figure\" id=\"fig-%s\"><span class=\"v\"", id);
        if (queue_key)
                buf_printf(b, " data-queue=\"%s\"", queue_key);
        buf_puts(b, ">");
        esc(b, value);
        buf_puts(b, "</span><span class=\"k\">");
        esc(b, label);
        buf_puts(b, "</span></div>");
}

/* The rows of a stats object: conversion and uplift per channel and step. */
static void rows_table(struct buf *b, const struct ui_page *p, json_t *stats, const char *id)
{
        static const char *const head[] = { "channel", "step", "sent", "paid", "conversion",
                                            "uplift", "collected", NULL };
        json_t *rows = json_object_get(stats, "rows"), *r;
        size_t i;
        if (json_array_size(rows) == 0) {
                h(b, "p", T("no_data"));
                return;
        }
        buf_printf(b, "<table id=\"%s\">", id);
        th(b, p, head);
        json_array_foreach(rows, i, r) {
                json_t *u = json_object_get(r, "uplift");
                buf_puts(b, "<tr><td>");
                esc(b, str(r, "channel"));
                buf_puts(b, "</td><td>");
                esc(b, str(r, "step"));
                buf_printf(b, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                              "<td class=\"n\">",
                           num(r, "sent"), num(r, "paid_direct") + num(r, "paid_assisted"));
                pct(b, json_object_get(r, "conversion"));
                buf_puts(b, "</td><td class=\"n\">");
                if (json_is_object(u))
                        buf_printf(b, "%+.1f pp (%+.1f .. %+.1f)",
                                   json_number_value(json_object_get(u, "uplift")) * 100,
                                   json_number_value(json_object_get(u, "ci95_low")) * 100,
                                   json_number_value(json_object_get(u, "ci95_high")) * 100);
                else
                        esc(b, T("no_holdout"));
                buf_puts(b, "</td><td class=\"n\">");
                ui_money(b, p->lang, num(r, "collected_cents"));
                buf_puts(b, "</td></tr>");
        }
        buf_puts(b, "</table>");
}

void ui_page_overview(struct buf *b, const struct ui_page *p, json_t *stats, json_t *queue,
                      const struct stats_day *days, size_t n_days)
{
        long long sent = 0, paid = 0, cents = 0;
        size_t i;
        json_t *r;
        char v[64];
        struct buf m = BUF_INIT;

        json_array_foreach(json_object_get(stats, "rows"), i, r) {
                sent += num(r, "sent");
                paid += num(r, "paid_direct") + num(r, "paid_assisted");
                cents += num(r, "collected_cents");
        }
        begin(b, p, T("overview"), "overview");
        h(b, "h1", T("overview"));
        buf_puts(b, "<div class=\"figures\">");
        snprintf(v, sizeof(v), "%lld", sent);
        figure(b, "sent", T("sent"), NULL, v);
        snprintf(v, sizeof(v), "%lld", paid);
        figure(b, "paid", T("paid"), NULL, v);
        if (sent)
                snprintf(v, sizeof(v), "%.1f%%", 100.0 * (double)paid / (double)sent);
        else
                snprintf(v, sizeof(v), "-");
        figure(b, "conversion", T("conversion"), NULL, v);
        ui_money(&m, p->lang, cents);
        figure(b, "collected", T("collected"), NULL, buf_str(&m));
        buf_free(&m);
        snprintf(v, sizeof(v), "%lld", num(queue, "depth"));
        figure(b, "depth", T("queue_depth"), "depth", v);
        snprintf(v, sizeof(v), "%lld", num(queue, "scheduled"));
        figure(b, "scheduled", T("scheduled"), "scheduled", v);
        snprintf(v, sizeof(v), "%lld", num(queue, "dead"));
        figure(b, "dead", T("dead_count"), "dead", v);
        snprintf(v, sizeof(v), "%.1f", json_number_value(json_object_get(queue,
                                                                           "throughput_per_min")));
        figure(b, "throughput", T("throughput"), "throughput_per_min", v);
        buf_puts(b, "</div>");
        h(b, "h2", T("chart"));
        ui_svg_daily(b, p->lang, days, n_days);
        h(b, "h2", T("uplift"));
        rows_table(b, p, stats, "rows");
        end(b);
}

void ui_page_campaigns(struct buf *b, const struct ui_page *p, json_t *campaigns)
{
        json_t *c;
        size_t i;
        begin(b, p, T("campaigns"), "campaigns");
        h(b, "h1", T("campaigns"));
        if (num(campaigns, "total") > num(campaigns, "shown"))
                cut(b, p, "campaigns-cut", "campaigns_cut", num(campaigns, "shown"),
                    num(campaigns, "total"));
        if (json_is_true(json_object_get(campaigns, "dead_truncated")))
                cut(b, p, "campaigns-dead-cut", "campaigns_dead_cut",
                    num(campaigns, "dead_scanned"), 0);
        if (json_array_size(json_object_get(campaigns, "campaigns")) == 0)
                h(b, "p", T("no_data"));
        json_array_foreach(json_object_get(campaigns, "campaigns"), i, c) {
                static const char *const head[] = { "step", "sent", "held_out", NULL };
                json_t *prog = json_object_get(c, "progress"), *st;
                const char *step;
                buf_puts(b, "<section class=\"campaign\"><h2>");
                esc(b, str(c, "campaign"));
                buf_puts(b, "</h2>");
                rows_table(b, p, json_object_get(c, "stats"), "rows");
                h(b, "h3", T("progress"));
                buf_puts(b, "<table>");
                th(b, p, head);
                json_object_foreach(json_object_get(prog, "steps"), step, st) {
                        buf_puts(b, "<tr><td>");
                        esc(b, step);
                        buf_printf(b, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>",
                                   num(st, "sent"), num(st, "held_out"));
                }
                buf_puts(b, "</table><p>");
                esc(b, T("dead_count"));
                buf_printf(b, ": %lld</p></section>", num(prog, "dead"));
        }
        end(b);
}

static void policy_box(struct buf *b, const struct ui_page *p, json_t *pol)
{
        json_t *ch;
        size_t i;
        h(b, "h2", T("next"));
        buf_puts(b, "<div class=\"why\" id=\"next\">");
        if (!json_is_object(pol)) {
                h(b, "p", T("no_next"));
                buf_puts(b, "</div>");
                return;
        }
        buf_puts(b, "<p><strong>");
        esc(b, str(pol, "step"));
        buf_puts(b, "</strong>: ");
        json_array_foreach(json_object_get(pol, "order"), i, ch) {
                if (i)
                        buf_puts(b, " &rarr; ");
                esc(b, json_string_value(ch));
        }
        buf_puts(b, "</p><p>");
        esc(b, T("why"));
        buf_puts(b, ": <span id=\"why\">");
        esc(b, str(pol, "reason"));
        buf_puts(b, "</span></p></div>");
}

void ui_page_customer(struct buf *b, const struct ui_page *p, json_t *c)
{
        static const char *const chead[] = { "channel", "sent", "paid", NULL };
        static const char *const ihead[] = { "invoice", "amount", "paid", "outcome", NULL };
        static const char *const thead[] = { "time", "event", "channel", "step", "campaign",
                                             "reason", "invoice", "amount", NULL };
        json_t *chans = json_object_get(c, "channels"), *o;
        const char *name;
        size_t i;

        begin(b, p, T("customer"), "customer");
        buf_puts(b, "<h1>");
        esc(b, T("customer"));
        buf_puts(b, " <span id=\"customer-id\">");
        esc(b, str(c, "customer"));
        buf_puts(b, "</span></h1>");
        if (json_is_string(json_object_get(c, "segment"))) {
                buf_puts(b, "<p>");
                esc(b, T("segment"));
                buf_puts(b, ": <strong id=\"segment\">");
                esc(b, str(c, "segment"));
                buf_puts(b, "</strong>");
                if (json_is_true(json_object_get(c, "segment_derived"))) {
                        buf_puts(b, " (");
                        esc(b, T("derived"));
                        buf_puts(b, ")");
                }
                json_t *pay = json_object_get(c, "payments");
                buf_printf(b, "; %lld ", num(pay, "on_time"));
                esc(b, T("on_time"));
                buf_printf(b, ", %lld ", num(pay, "late"));
                esc(b, T("late"));
                buf_puts(b, "</p>");
        }
        /* Disputes, the flag for a person, and a hold on the customer. */
        json_t *dis = json_object_get(c, "disputes");
        if (json_is_object(dis) && (num(dis, "count") || json_is_object(json_object_get(dis, "hold")))) {
                buf_puts(b, "<p id=\"disputes\">");
                esc(b, T("disputes"));
                buf_printf(b, ": %lld", num(dis, "count"));
                if (json_is_string(json_object_get(dis, "flagged_since"))) {
                        buf_puts(b, "; <strong>");
                        esc(b, T("flagged"));
                        buf_puts(b, " ");
                        esc(b, str(dis, "flagged_since"));
                        buf_puts(b, "</strong>");
                }
                json_t *hold = json_object_get(dis, "hold");
                if (json_is_object(hold)) {
                        buf_puts(b, "; ");
                        esc(b, T("customer_hold"));
                        buf_puts(b, " (");
                        esc(b, str(hold, "reason"));
                        buf_puts(b, ") ");
                        esc(b, T("until"));
                        buf_puts(b, " ");
                        esc(b, json_is_string(json_object_get(hold, "until")) ? str(hold, "until")
                                                                              : T("released_only"));
                        if (str(hold, "note")[0]) {
                                buf_puts(b, ": ");
                                esc(b, str(hold, "note"));
                        }
                }
                buf_puts(b, "</p>");
        }
        policy_box(b, p, json_object_get(c, "policy"));
        if (json_is_object(chans)) {
                buf_puts(b, "<table id=\"channels\">");
                th(b, p, chead);
                json_object_foreach(chans, name, o) {
                        buf_puts(b, "<tr><td>");
                        esc(b, name);
                        buf_printf(b, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>",
                                   num(o, "sent"),
                                   num(o, "paid_direct") + num(o, "paid_assisted"));
                }
                buf_puts(b, "</table>");
        }
        h(b, "h2", T("invoice"));
        buf_puts(b, "<table id=\"invoices\">");
        th(b, p, ihead);
        json_array_foreach(json_object_get(c, "invoices"), i, o) {
                buf_puts(b, "<tr><td>");
                esc(b, str(o, "number"));
                buf_puts(b, "</td><td class=\"n\">");
                ui_money(b, p->lang, num(o, "amount_cents"));
                buf_puts(b, "</td><td class=\"n\">");
                ui_money(b, p->lang, num(o, "paid_cents"));
                buf_puts(b, "</td><td>");
                esc(b, str(o, "status"));
                if (json_is_string(json_object_get(o, "hold"))) {
                        buf_puts(b, ", <span class=\"hold\">");
                        esc(b, T("on_hold"));
                        buf_puts(b, " (");
                        esc(b, str(o, "hold"));
                        buf_puts(b, ")</span>");
                }
                if (json_is_string(json_object_get(o, "arrangement"))) {
                        buf_puts(b, ", <span class=\"arrangement\">");
                        esc(b, T("in_arrangement"));
                        buf_puts(b, " ");
                        esc(b, str(o, "arrangement"));
                        buf_puts(b, "</span>");
                }
                buf_puts(b, "</td></tr>");
        }
        buf_puts(b, "</table>");
        h(b, "h2", T("timeline"));
        if (json_is_false(json_object_get(c, "timeline_complete")))
                cut(b, p, "timeline-cut", "timeline_cut", num(c, "timeline_searched"), 0);
        buf_puts(b, "<table id=\"timeline\">");
        th(b, p, thead);
        json_array_foreach(json_object_get(c, "timeline"), i, o) {
                buf_puts(b, "<tr class=\"event\" data-type=\"");
                esc(b, str(o, "type"));
                buf_puts(b, "\"><td>");
                when(b, num(o, "time_ms"));
                const char *cols[] = { "type", "channel", "step", "campaign", "reason",
                                       "invoice" };
                for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
                        buf_puts(b, "</td><td>");
                        esc(b, str(o, cols[k]));
                }
                /* events keep their numbers as strings (stream fields) */
                buf_puts(b, "</td><td class=\"n\">");
                if (*str(o, "amount_cents"))
                        ui_money(b, p->lang, strtoll(str(o, "amount_cents"), NULL, 10));
                buf_puts(b, "</td></tr>");
        }
        buf_puts(b, "</table>");
        end(b);
}

void ui_page_not_found(struct buf *b, const struct ui_page *p, const char *query)
{
        begin(b, p, T("customer"), "customer");
        buf_puts(b, "<p id=\"not-found\">");
        esc(b, T("not_found"));
        buf_puts(b, " <q>");
        esc(b, query);
        buf_puts(b, "</q></p>");
        end(b);
}

static void action_form(struct buf *b, const struct ui_page *p, const char *id, const char *verb,
                        const char *done)
{
        struct buf u = BUF_INIT;
        ui_url_encode(&u, id);
        buf_printf(b, "<form method=\"post\" class=\"%s\" action=\"/ui/dead/%s/%s\" "
                      "data-api=\"/api/v1/dead/%s/%s\" data-done=\"",
                   verb, buf_str(&u), verb, buf_str(&u), verb);
        esc(b, done);
        buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
        esc(b, p->csrf);
        buf_puts(b, "\"><button type=\"submit\">");
        esc(b, T(verb));
        buf_puts(b, "</button></form>");
        buf_free(&u);
}

void ui_page_dead(struct buf *b, const struct ui_page *p, json_t *dead, const char *notice)
{
        static const char *const head[] = { "time", "customer", "name", "contact", "reason",
                                            "error", "attempts", "", NULL };
        json_t *e;
        size_t i;
        begin(b, p, T("dead"), "dead");
        h(b, "h1", T("dead"));
        buf_puts(b, "<p id=\"notice\">");
        esc(b, notice);
        buf_puts(b, "</p>");
        if (num(dead, "total") > num(dead, "shown"))
                cut(b, p, "dead-cut", "dead_cut", num(dead, "shown"), num(dead, "total"));
        if (json_array_size(json_object_get(dead, "entries")) == 0) {
                h(b, "p", T("no_dead"));
                end(b);
                return;
        }
        buf_puts(b, "<table id=\"dead\">");
        th(b, p, head);
        json_array_foreach(json_object_get(dead, "entries"), i, e) {
                struct buf u = BUF_INIT;
                const char *id = str(e, "id");
                buf_puts(b, "<tr data-id=\"");
                esc(b, id);
                buf_puts(b, "\"><td>");
                esc(b, str(e, "time"));
                buf_puts(b, "</td><td>");
                if (*str(e, "customer")) {
                        ui_url_encode(&u, str(e, "customer"));
                        buf_printf(b, "<a href=\"/ui/customers/%s\">", buf_str(&u));
                        esc(b, str(e, "customer"));
                        buf_puts(b, "</a>");
                }
                buf_puts(b, "</td><td class=\"name\">");
                esc(b, str(e, "name"));
                buf_puts(b, "</td><td class=\"contact\">");
                esc(b, str(e, "email"));
                buf_puts(b, "<br>");
                esc(b, str(e, "phone"));
                if (!json_is_true(json_object_get(e, "revealed"))) {
                        buf_reset(&u);
                        ui_url_encode(&u, id);
                        buf_printf(b, " <a class=\"reveal\" href=\"/ui/dead?reveal=%s\">",
                                   buf_str(&u));
                        esc(b, T("reveal"));
                        buf_puts(b, "</a>");
                }
                buf_puts(b, "</td><td>");
                esc(b, str(e, "reason"));
                buf_puts(b, "</td><td>");
                esc(b, str(e, "error"));
                buf_printf(b, "</td><td class=\"n\">%lld</td><td>", num(e, "attempts"));
                action_form(b, p, id, "retry", T("retried"));
                action_form(b, p, id, "drop", T("dropped"));
                buf_puts(b, "</td></tr>");
                buf_free(&u);
        }
        buf_puts(b, "</table>");
        end(b);
}
