/* bench/mustache.c: template engine throughput, the C side of
 * bench/run-mustache.
 *
 * Renders a reminder e-mail body (about 1 KB of HTML, 15 variables, a
 * three-invoice section) with HTML escaping, N times into one reused
 * buffer, and prints renders/s and the heap growth over the timed renders
 * (mallinfo2: 0 means no allocation per render). bench/mustache.js renders
 * the same template and data with mustache.js; `--template` and `--data`
 * print them for it, `--once` prints one render so the outputs can be
 * compared byte for byte. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "mustache.h"

static const char template_html[] =
        "<div style=\"font-family:Arial,sans-serif;font-size:15px;color:#1f2933;\">\n"
        "<p>Geachte {{customer.name}},</p>\n"
        "<p>Volgens onze administratie staan er nog {{invoice_count}} facturen open bij "
        "{{creditor.name}}, in totaal <strong>{{total}}</strong>. Wij verzoeken u dit bedrag "
        "uiterlijk op {{due_date}} te betalen.</p>\n"
        "<table style=\"border-collapse:collapse;width:100%;\">\n"
        "<tr><th align=\"left\">Factuur</th><th align=\"left\">Datum</th>"
        "<th align=\"left\">Omschrijving</th><th align=\"right\">Bedrag</th></tr>\n"
        "{{#invoices}}\n"
        "<tr><td>{{number}}</td><td>{{issued}}</td><td>{{description}}</td>"
        "<td align=\"right\">{{amount}}</td></tr>\n"
        "{{/invoices}}\n"
        "</table>\n"
        "<p><a href=\"{{{pay_url}}}\" style=\"background:#0b5cad;color:#fff;padding:12px 24px;"
        "text-decoration:none;border-radius:6px;\">Betaal {{total}}</a></p>\n"
        "<p>Of maak het bedrag over naar {{creditor.iban}} (BIC {{creditor.bic}}) ten name van "
        "{{creditor.name}} onder vermelding van <strong>{{reference}}</strong>.</p>\n"
        "{{#late_fee}}\n"
        "<p>Betaalt u niet op tijd, dan brengen wij {{late_fee}} incassokosten in rekening "
        "(rente {{rate}}% per maand).</p>\n"
        "{{/late_fee}}\n"
        "<p>Vragen? Bel {{creditor.phone}} of mail {{creditor.email}}, klantnummer "
        "{{customer.number}}.</p>\n"
        "<p>Met vriendelijke groet,<br>\n{{creditor.name}}</p>\n"
        "</div>\n";

static const char data_json[] =
        "{\"customer\": {\"name\": \"Jansen & Zn <B.V.>\", \"number\": \"K-102938\"},\n"
        " \"creditor\": {\"name\": \"Acme Energie B.V.\", \"iban\": \"NL91 ABNA 0417 1643 00\",\n"
        "   \"bic\": \"ABNANL2A\", \"phone\": \"030 123 45 67\", \"email\": \"incasso@acme.example\"},\n"
        " \"invoice_count\": 3, \"total\": \"€ 1.482,35\", \"due_date\": \"15 december 2026\",\n"
        " \"reference\": \"RF18 5390 0754 7034\", \"late_fee\": \"€ 40,00\", \"rate\": 1.5,\n"
        " \"pay_url\": \"https://pay.acme.example/i?ref=RF18539007547034&amount=148235\",\n"
        " \"invoices\": [\n"
        "  {\"number\": \"INV-2026-0917\", \"issued\": \"1 oktober 2026\",\n"
        "   \"description\": \"Levering \\\"groene\\\" stroom september\", \"amount\": \"€ 512,10\"},\n"
        "  {\"number\": \"INV-2026-1004\", \"issued\": \"1 november 2026\",\n"
        "   \"description\": \"Levering stroom & gas oktober\", \"amount\": \"€ 498,75\"},\n"
        "  {\"number\": \"INV-2026-1102\", \"issued\": \"1 december 2026\",\n"
        "   \"description\": \"Netbeheer <vastrecht> Q4\", \"amount\": \"€ 471,50\"}]}\n";

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        const char *arg = argc > 1 ? argv[1] : "1000000";
        struct mustache_set *set = NULL;
        struct mustache_value *ctx = NULL;
        struct buf out = BUF_INIT;
        struct error err;
        int rc = 1;

        if (!strcmp(arg, "--template") || !strcmp(arg, "--data")) {
                fputs(arg[2] == 't' ? template_html : data_json, stdout);
                return 0;
        }
        long n = strcmp(arg, "--once") ? atol(arg) : 1;
        set = mustache_set_new();
        if (mustache_set_add(set, "email.html", template_html, strlen(template_html), &err) ||
            mustache_value_from_json(&ctx, data_json, strlen(data_json), &err))
                goto out;
        struct mustache_render_opts opts = { .escape = MUSTACHE_ESCAPE_HTML };
        /* The first render grows the buffer; the timed ones reuse it. */
        if (mustache_render(&out, set, "email.html", ctx, &opts, &err))
                goto out;
        if (n == 1 && !strcmp(arg, "--once")) {
                fwrite(out.data, 1, out.len, stdout);
                rc = 0;
                goto out;
        }
        size_t bytes = out.len;
        struct mallinfo2 before = mallinfo2();
        double t0 = now();
        for (long i = 0; i < n; i++) {
                buf_reset(&out);
                if (mustache_render(&out, set, "email.html", ctx, &opts, &err))
                        goto out;
        }
        double t1 = now();
        struct mallinfo2 after = mallinfo2();
        printf("c: %ld renders of %zu bytes in %.3f s: %.0f renders/s; heap growth during "
               "renders: %ld bytes in use, %ld bytes arena\n",
               n, bytes, t1 - t0, n / (t1 - t0), (long)(after.uordblks - before.uordblks),
               (long)(after.arena - before.arena));
        rc = 0;
out:
        if (rc && err.msg[0])
                fprintf(stderr, "bench-mustache: %s\n", err.msg);
        buf_free(&out);
        mustache_value_free(ctx);
        mustache_set_free(set);
        return rc;
}
