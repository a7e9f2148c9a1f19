/* ui_html.c: escaping, the two languages and the SVG chart of the credit
 * team's pages. Pure. */
#include "ui_html.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civil.h"
#include "job.h"

void ui_html_escape(struct buf *b, const char *s)
{
        for (; s && *s; s++) {
                switch (*s) {
                case '&': buf_puts(b, "&amp;"); break;
                case '<': buf_puts(b, "&lt;"); break;
                case '>': buf_puts(b, "&gt;"); break;
                case '"': buf_puts(b, "&quot;"); break;
                case '\'': buf_puts(b, "&#39;"); break;
                default: buf_putc(b, *s);
                }
        }
}

void ui_url_encode(struct buf *b, const char *s)
{
        for (; s && *s; s++) {
                unsigned char c = (unsigned char)*s;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~')
                        buf_putc(b, (char)c);
                else
                        buf_printf(b, "%%%02X", c);
        }
}

static bool lang_known(const char *s, size_t n, enum ui_lang *out)
{
        if (n >= 2 && strncasecmp(s, "nl", 2) == 0 && (n == 2 || s[2] == '-')) {
                *out = UI_LANG_NL;
                return true;
        }
        if (n >= 2 && strncasecmp(s, "en", 2) == 0 && (n == 2 || s[2] == '-')) {
                *out = UI_LANG_EN;
                return true;
        }
        return false;
}

enum ui_lang ui_lang_pick(const char *lang, const char *accept)
{
        enum ui_lang l = UI_LANG_EN, best_l = UI_LANG_EN;
        double best_q = -1;

        if (lang && lang_known(lang, strlen(lang), &l))
                return l;
        /* "nl-NL,nl;q=0.9,en;q=0.8": the known language with the highest q,
         * the first one on a tie. */
        for (const char *p = accept; p && *p;) {
                p += strspn(p, " ,");
                size_t len = strcspn(p, ";,");
                double q = 1.0;
                const char *semi = p + len;
                if (*semi == ';') {
                        const char *qs = strstr(semi, "q=");
                        const char *comma = strchr(semi, ',');
                        if (qs && (!comma || qs < comma))
                                q = strtod(qs + 2, NULL);
                }
                while (len && p[len - 1] == ' ')
                        len--;
                if (lang_known(p, len, &l) && q > best_q) {
                        best_q = q;
                        best_l = l;
                }
                p = strchr(p, ',');
        }
        return best_l;
}

const char *ui_lang_code(enum ui_lang l)
{
        return l == UI_LANG_NL ? "nl" : "en";
}

static const struct {
        const char *key, *en, *nl;
} texts[] = {
        { "title", "Dunning dashboard", "Incassodashboard" },
        { "overview", "Overview", "Overzicht" },
        { "campaigns", "Campaigns", "Campagnes" },
        { "customer", "Customer", "Klant" },
        { "dead", "Dead letters", "Onbestelbaar" },
        { "search", "Customer id or invoice number", "Klantnummer of factuurnummer" },
        { "find", "Find", "Zoeken" },
        { "logout", "Log out", "Uitloggen" },
        { "login", "Log in", "Inloggen" },
        { "token", "Access token", "Toegangstoken" },
        { "login_needed", "Log in with the dashboard's access token.",
          "Log in met het toegangstoken van het dashboard." },
        { "login_bad", "That token is not right.", "Dat token klopt niet." },
        { "chart", "Reminders sent per channel and payments per day, last 30 days",
          "Verstuurde herinneringen per kanaal en betalingen per dag, laatste 30 dagen" },
        { "payments", "Payments", "Betalingen" },
        { "sent", "Sent", "Verstuurd" },
        { "paid", "Paid", "Betaald" },
        { "conversion", "Conversion", "Conversie" },
        { "uplift", "Uplift over holdout (95% interval)", "Effect t.o.v. controlegroep (95%-interval)" },
        { "no_holdout", "no holdout", "geen controlegroep" },
        { "collected", "Collected after reminders", "Geïnd na herinneringen" },
        { "queue_depth", "Queue depth", "Wachtrij" },
        { "scheduled", "Scheduled", "Ingepland" },
        { "throughput", "Throughput (per minute, last 5 min)", "Doorvoer (per minuut, laatste 5 min)" },
        { "channel", "Channel", "Kanaal" },
        { "step", "Step", "Stap" },
        { "campaign", "Campaign", "Campagne" },
        { "progress", "Progress", "Voortgang" },
        { "held_out", "Held out", "Controlegroep" },
        { "on_hold", "on hold", "aangehouden" },
        { "in_arrangement", "payment arrangement", "betalingsregeling" },
        { "disputes", "Disputes", "Betwistingen" },
        { "flagged", "flagged for a person to look at since",
          "gemarkeerd voor beoordeling door een medewerker sinds" },
        { "customer_hold", "Customer on hold", "Klant aangehouden" },
        { "until", "until", "tot" },
        { "released_only", "released", "vrijgegeven" },
        { "no_data", "Nothing in this period.", "Niets in deze periode." },
        { "segment", "Segment", "Segment" },
        { "derived", "derived from payment behaviour", "afgeleid uit betaalgedrag" },
        { "next", "What the policy would do next", "Wat het beleid nu zou doen" },
        { "why", "Why", "Waarom" },
        { "no_next", "No reminder sent yet: nothing to decide from.",
          "Nog geen herinnering verstuurd: niets om op te beslissen." },
        { "timeline", "Timeline", "Tijdlijn" },
        { "time", "Time", "Tijd" },
        { "event", "Event", "Gebeurtenis" },
        { "outcome", "Outcome", "Uitkomst" },
        { "invoice", "Invoice", "Factuur" },
        { "amount", "Amount", "Bedrag" },
        { "not_found", "No customer or invoice found for", "Geen klant of factuur gevonden voor" },
        { "on_time", "paid on time", "op tijd betaald" },
        { "late", "paid late", "te laat betaald" },
        { "reason", "Reason", "Reden" },
        { "error", "Error", "Fout" },
        { "attempts", "Attempts", "Pogingen" },
        { "name", "Name", "Naam" },
        { "contact", "Contact", "Contact" },
        { "reveal", "Show contact", "Toon contact" },
        { "retry", "Retry", "Opnieuw" },
        { "drop", "Drop", "Verwijderen" },
        { "no_dead", "No dead letters.", "Geen onbestelbare opdrachten." },
        { "retried", "Back on the queue", "Terug in de wachtrij" },
        { "dropped", "Dropped", "Verwijderd" },
        { "orders", "Order", "Volgorde" },
        { "total", "Total", "Totaal" },
        { "dead_count", "Dead letters", "Onbestelbaar" },
        /* Lists cut short say so; {1} and {2} are counts (ui_text_counts). */
        { "dead_cut", "Showing {1} of {2} dead letters: the oldest.",
          "{1} van {2} onbestelbare opdrachten getoond: de oudste." },
        { "campaigns_cut", "Showing {1} of {2} campaigns of the last 30 days.",
          "{1} van {2} campagnes van de laatste 30 dagen getoond." },
        { "campaigns_dead_cut", "Dead letters per campaign: only the oldest {1} were counted.",
          "Onbestelbaar per campagne: alleen de oudste {1} zijn geteld." },
        { "timeline_cut",
          "Only the newest {1} events of all customers were searched: older events of this "
          "customer are not shown.",
          "Alleen de nieuwste {1} gebeurtenissen van alle klanten zijn doorzocht: oudere "
          "gebeurtenissen van deze klant staan er niet bij." },
};

const char *ui_text(enum ui_lang l, const char *key)
{
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
                if (strcmp(texts[i].key, key) == 0)
                        return l == UI_LANG_NL ? texts[i].nl : texts[i].en;
        return key;
}

/* v with its thousands grouped the way l writes them. */
static void grouped(struct buf *b, enum ui_lang l, unsigned long long v)
{
        char digits[32];
        int len = snprintf(digits, sizeof(digits), "%llu", v);
        char sep = l == UI_LANG_NL ? '.' : ',';

        for (int i = 0; i < len; i++) {
                if (i && (len - i) % 3 == 0)
                        buf_putc(b, sep);
                buf_putc(b, digits[i]);
        }
}

void ui_money(struct buf *b, enum ui_lang l, long long cents)
{
        unsigned long long a = cents < 0 ? 0ULL - (unsigned long long)cents
                                         : (unsigned long long)cents;

        if (cents < 0)
                buf_putc(b, '-');
        grouped(b, l, a / 100);
        buf_printf(b, "%c%02llu", l == UI_LANG_NL ? ',' : '.', a % 100);
}

void ui_count(struct buf *b, enum ui_lang l, long long n)
{
        if (n < 0)
                buf_putc(b, '-');
        grouped(b, l, n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n);
}

void ui_text_counts(struct buf *b, enum ui_lang l, const char *key, long long n1, long long n2)
{
        const char *t = ui_text(l, key);
        struct buf lit = BUF_INIT;

        for (; *t; t++) {
                if (t[0] == '{' && (t[1] == '1' || t[1] == '2') && t[2] == '}') {
                        ui_html_escape(b, buf_str(&lit));
                        buf_reset(&lit);
                        ui_count(b, l, t[1] == '1' ? n1 : n2);
                        t += 2;
                } else {
                        buf_putc(&lit, *t);
                }
        }
        ui_html_escape(b, buf_str(&lit));
        buf_free(&lit);
}

/* Colours of the channels (email, sms, letter) and of the payments line. */
static const char *const colour[JOB_CHANNEL__N] = { "#2b6cb0", "#38a169", "#d69e2e" };
#define PAID_COLOUR "#c53030"

/* A round step for an axis up to max: 1, 2 or 5 times a power of ten. */
static long long nice_step(long long max)
{
        long long step = 1;
        while (step * 5 < max) {
                if (step * 2 * 5 >= max)
                        return step * 2;
                if (step * 5 * 5 >= max)
                        return step * 5;
                step *= 10;
        }
        return step;
}

void ui_svg_daily(struct buf *b, enum ui_lang l, const struct stats_day *days, size_t n)
{
        const int W = 760, H = 260, left = 44, right = 12, top = 16, bottom = 48;
        const int pw = W - left - right, ph = H - top - bottom;
        long long max = 1;

        for (size_t i = 0; i < n; i++) {
                long long sent = 0, paid = 0;
                for (int c = 0; c < JOB_CHANNEL__N; c++) {
                        sent += days[i].sent[c];
                        paid += days[i].paid[c];
                }
                if (sent > max)
                        max = sent;
                if (paid > max)
                        max = paid;
        }
        long long step = nice_step(max);
        long long top_v = (max + step - 1) / step * step;
        buf_printf(b, "<svg class=\"chart\" id=\"daily-chart\" viewBox=\"0 0 %d %d\" "
                      "role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"><title>",
                   W, H);
        ui_html_escape(b, ui_text(l, "chart"));
        buf_puts(b, "</title>");
        /* grid and y labels */
        for (long long v = 0; v <= top_v; v += step) {
                double y = top + ph - (double)ph * (double)v / (double)top_v;
                buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
                              "stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" font-size=\"10\" "
                              "text-anchor=\"end\">%lld</text>",
                           left, W - right, y, y, left - 4, y + 3, v);
        }
        double slot = n ? (double)pw / (double)n : pw;
        double bw = slot * 0.7;
        struct buf line = BUF_INIT;
        for (size_t i = 0; i < n; i++) {
                char date[11];
                civil_format(civil_today(days[i].day_ms), date);
                double x = left + slot * (double)i + (slot - bw) / 2;
                double y = top + ph;
                long long paid = 0;
                for (int c = 0; c < JOB_CHANNEL__N; c++) {
                        paid += days[i].paid[c];
                        if (!days[i].sent[c])
                                continue;
                        double h = (double)ph * (double)days[i].sent[c] / (double)top_v;
                        y -= h;
                        buf_printf(b, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                                      "height=\"%.1f\" fill=\"%s\" data-day=\"%s\" "
                                      "data-channel=\"%s\" data-sent=\"%lld\"><title>%s %s: "
                                      "%lld</title></rect>",
                                   x, y, bw, h, colour[c], date,
                                   job_channel_name((enum job_channel)c), days[i].sent[c], date,
                                   job_channel_name((enum job_channel)c), days[i].sent[c]);
                }
                double py = top + ph - (double)ph * (double)paid / (double)top_v;
                buf_printf(&line, "%s%.1f,%.1f", i ? " " : "", x + bw / 2, py);
                /* a day label every 5 days, and the last */
                if (i % 5 == 0 || i + 1 == n)
                        buf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" "
                                      "text-anchor=\"middle\">%.5s</text>",
                                   x + bw / 2, top + ph + 14, date + 5);
        }
        if (n)
                buf_printf(b, "<polyline class=\"paid\" fill=\"none\" stroke=\"%s\" "
                              "stroke-width=\"2\" points=\"%s\"/>",
                           PAID_COLOUR, buf_str(&line));
        buf_free(&line);
        buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#333\"/>", left,
                   W - right, top + ph, top + ph);
        /* legend */
        int lx = left;
        for (int c = 0; c < JOB_CHANNEL__N; c++, lx += 90)
                buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                              "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>",
                           lx, H - 16, colour[c], lx + 14, H - 7,
                           job_channel_name((enum job_channel)c));
        buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" "
                      "stroke-width=\"2\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">",
                   lx, lx + 12, H - 11, H - 11, PAID_COLOUR, lx + 16, H - 7);
        ui_html_escape(b, ui_text(l, "payments"));
        buf_puts(b, "</text></svg>");
}
