/* letter.c: the reminder letter as a one-page A4 PDF, drawn with cairo
 * (PDF surface streaming into a struct buf) and pango (text layout).
 * The only file that includes cairo or pango, built into the letter module
 * (letter.h) with qr.c, buf.c and error.c. Positions are in mm from the
 * top-left corner of the page; see letter.h for the envelope window. */
#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <pango/pangocairo.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "letter.h"
#include "qr.h"

#define MM(v) ((v) * 72.0 / 25.4)
#define PAGE_W MM(210.0)
#define PAGE_H MM(297.0)
#define FONT "DejaVu Sans"

/* Left margin and text width (DIN 5008: 25 mm; 20 mm lines up with the
 * window and leaves room for the table). */
#define LEFT MM(20.0)
#define RIGHT MM(190.0)
#define TEXT_W (RIGHT - LEFT)
/* The window of a DL/C5 envelope, type B (left). */
#define WIN_X MM(20.0)
#define WIN_Y MM(45.0)
#define WIN_W MM(85.0)
#define WIN_H MM(45.0)
/* Inside the window, with margins so that the address never touches its
 * edges when the folded letter moves about in the envelope. */
#define ADDR_X (WIN_X + MM(5.0))
#define ADDR_W (WIN_W - MM(10.0))
#define ADDR_TOP (WIN_Y + MM(10.0))
#define ADDR_BOTTOM (WIN_Y + WIN_H - MM(3.0))
/* The information block right of the window, and the creditor above it. */
#define INFO_X MM(125.0)
#define INFO_W (RIGHT - INFO_X)
/* Text flows from the heading down to the payment block, which sits
 * just above the footer. */
#define HEADING_Y MM(98.0)
#define FOOTER_Y MM(284.0)
#define PAY_BOTTOM (FOOTER_Y - MM(6.0))

static const double body_sizes[] = { 10.0, 9.5, 9.0, 8.5, 8.0, 7.5 };

struct labels {
        const char *lang;
        const char *date, *reference, *invoice, *due, *amount, *total;
        const char *scan, *beneficiary, *iban, *bic, *online;
};

/* The first entry is the default. */
static const struct labels label_sets[] = {
        { "en", "Date", "Reference", "Invoice", "Due date", "Amount", "Total",
          "Scan to pay with your banking app", "Beneficiary", "IBAN", "BIC", "Pay online" },
        { "nl", "Datum", "Kenmerk", "Factuur", "Vervaldatum", "Bedrag", "Totaal",
          "Scan en betaal met uw bank-app", "Begunstigde", "IBAN", "BIC", "Betaal online" },
        { "de", "Datum", "Referenz", "Rechnung", "Fällig am", "Betrag", "Gesamt",
          "Mit der Banking-App scannen und bezahlen", "Empfänger", "IBAN", "BIC",
          "Online bezahlen" },
        { "fr", "Date", "Référence", "Facture", "Échéance", "Montant", "Total",
          "Scannez pour payer avec votre application bancaire", "Bénéficiaire", "IBAN", "BIC",
          "Payer en ligne" },
};

struct page {
        cairo_t *cr;
        PangoContext *pc;
        bool draw;              /* false: measure only */
};

struct style {
        double size;            /* points */
        bool bold;
        PangoAlignment align;
        double spacing;         /* line-height factor; 0: the font's */
        double gray;            /* 0 black .. 1 white */
};

static const struct labels *labels_for(const char *lang)
{
        for (size_t i = 0; lang && i < sizeof(label_sets) / sizeof(label_sets[0]); i++)
                if (!strncmp(lang, label_sets[i].lang, 2))
                        return &label_sets[i];
        return &label_sets[0];
}

/* Lays s out in a box w wide at (x, y), draws it unless measuring, and
 * returns its height. Plain text: s is never parsed as markup. */
static double text(struct page *pg, double x, double y, double w, const struct style *st,
                   const char *s)
{
        PangoLayout *l = pango_layout_new(pg->pc);
        PangoFontDescription *fd = pango_font_description_new();
        int lw, lh;

        pango_font_description_set_family(fd, FONT);
        pango_font_description_set_weight(fd, st->bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
        pango_font_description_set_size(fd, (int)(st->size * PANGO_SCALE));
        pango_layout_set_font_description(l, fd);
        pango_layout_set_width(l, (int)(w * PANGO_SCALE));
        pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
        pango_layout_set_alignment(l, st->align);
        if (st->spacing > 0)
                pango_layout_set_line_spacing(l, (float)st->spacing);
        pango_layout_set_text(l, s, -1);
        pango_layout_get_size(l, &lw, &lh);
        if (pg->draw) {
                cairo_set_source_rgb(pg->cr, st->gray, st->gray, st->gray);
                cairo_move_to(pg->cr, x, y);
                pango_cairo_show_layout(pg->cr, l);
        }
        pango_font_description_free(fd);
        g_object_unref(l);
        return (double)lh / PANGO_SCALE;
}

static void hline(struct page *pg, double x0, double x1, double y, double width, double gray)
{
        if (!pg->draw)
                return;
        cairo_set_source_rgb(pg->cr, gray, gray, gray);
        cairo_set_line_width(pg->cr, width);
        cairo_move_to(pg->cr, x0, y);
        cairo_line_to(pg->cr, x1, y);
        cairo_stroke(pg->cr);
}

/* Draws qr as filled squares (one rectangle per horizontal run of dark
 * modules, all filled at once, so no seams) in a size x size square at
 * (x, y), its quiet zone painted white. */
static void draw_qr(struct page *pg, const struct qr *qr, double x, double y, double size)
{
        double m = size / qr->width;
        cairo_t *cr = pg->cr;

        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_rectangle(cr, x, y, size, size);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        for (int r = 0; r < qr->width; r++) {
                for (int c = 0; c < qr->width;) {
                        if (!qr_dark(qr, c, r)) {
                                c++;
                                continue;
                        }
                        int start = c;
                        while (c < qr->width && qr_dark(qr, c, r))
                                c++;
                        cairo_rectangle(cr, x + start * m, y + r * m, (c - start) * m, m);
                }
        }
        cairo_fill(cr);
}

static char *join(const char *first, const char *const *lines, const char *sep)
{
        GString *s = g_string_new(first ? first : "");
        for (size_t i = 0; lines && lines[i]; i++) {
                if (s->len)
                        g_string_append(s, sep);
                g_string_append(s, lines[i]);
        }
        return g_string_free(s, FALSE);
}

/* Letterhead: the creditor's name top left, details top right. Returns
 * the bottom of the details. */
static double draw_head(struct page *pg, const struct letter_input *in, const struct labels *lb)
{
        static const struct style brand = { 17, true, PANGO_ALIGN_LEFT, 0, 0.12 };
        static const struct style name = { 9, true, PANGO_ALIGN_LEFT, 0, 0.15 };
        static const struct style small = { 8, false, PANGO_ALIGN_LEFT, 1.15, 0.3 };
        char line[256];

        text(pg, LEFT, MM(16), MM(100), &brand, in->creditor_name);
        if (pg->draw) {
                cairo_set_source_rgb(pg->cr, 0.09, 0.33, 0.55);
                cairo_rectangle(pg->cr, LEFT, MM(27), MM(18), MM(1.2));
                cairo_fill(pg->cr);
        }
        double y = MM(15);
        y += text(pg, INFO_X, y, INFO_W, &name, in->creditor_name);
        char *addr = join(NULL, in->creditor_address, "\n");
        if (*addr)
                y += text(pg, INFO_X, y, INFO_W, &small, addr);
        g_free(addr);
        y += MM(1.5);
        snprintf(line, sizeof(line), "%s %s", lb->iban, in->creditor_iban);
        y += text(pg, INFO_X, y, INFO_W, &small, line);
        if (in->creditor_bic && *in->creditor_bic) {
                snprintf(line, sizeof(line), "%s %s", lb->bic, in->creditor_bic);
                y += text(pg, INFO_X, y, INFO_W, &small, line);
        }
        return y;
}

/* The return address and the recipient's address inside the window.
 * Returns the bottom of the address. */
static double draw_address(struct page *pg, const struct letter_input *in)
{
        static const struct style ret = { 6.5, false, PANGO_ALIGN_LEFT, 0, 0.35 };
        static const struct style addr = { 10, false, PANGO_ALIGN_LEFT, 1.1, 0 };

        char *back = join(in->creditor_name, in->creditor_address, " · ");
        double h = text(pg, ADDR_X, WIN_Y + MM(4), ADDR_W, &ret, back);
        hline(pg, ADDR_X, ADDR_X + ADDR_W, WIN_Y + MM(4) + h + 1, 0.3, 0.6);
        g_free(back);

        char *block = join(in->recipient_name, in->recipient_lines, "\n");
        double bottom = ADDR_TOP + text(pg, ADDR_X, ADDR_TOP, ADDR_W, &addr, block);
        g_free(block);
        return bottom;
}

/* Date and reference right of the window. */
static void draw_info(struct page *pg, const struct letter_input *in, const struct labels *lb)
{
        static const struct style label = { 7.5, false, PANGO_ALIGN_LEFT, 0, 0.4 };
        static const struct style value = { 9.5, false, PANGO_ALIGN_LEFT, 0, 0 };
        double y = WIN_Y + MM(10);

        y += text(pg, INFO_X, y, INFO_W, &label, lb->date);
        y += text(pg, INFO_X, y, INFO_W, &value, in->date_text) + MM(2.5);
        if (in->reference && *in->reference) {
                y += text(pg, INFO_X, y, INFO_W, &label, lb->reference);
                text(pg, INFO_X, y, INFO_W, &value, in->reference);
        }
}

/* Heading, body text and invoice table at body size pt. Returns the
 * bottom of the last thing drawn. */
static double draw_flow(struct page *pg, const struct letter_input *in, const struct labels *lb,
                        double pt)
{
        const struct style heading = { pt + 3, true, PANGO_ALIGN_LEFT, 0, 0.1 };
        const struct style body = { pt, false, PANGO_ALIGN_LEFT, 1.2, 0 };
        const struct style head = { pt - 1, true, PANGO_ALIGN_LEFT, 0, 0.35 };
        const struct style head_r = { pt - 1, true, PANGO_ALIGN_RIGHT, 0, 0.35 };
        const struct style cell = { pt, false, PANGO_ALIGN_LEFT, 0, 0 };
        const struct style cell_r = { pt, false, PANGO_ALIGN_RIGHT, 0, 0 };
        const struct style total = { pt, true, PANGO_ALIGN_LEFT, 0, 0 };
        const struct style total_r = { pt, true, PANGO_ALIGN_RIGHT, 0, 0 };
        /* Columns: number, due date, amount (right-aligned). */
        const double c1 = LEFT + MM(2), w1 = MM(60), c2 = LEFT + MM(66), w2 = MM(50);
        const double c3 = RIGHT - MM(52), w3 = MM(50);
        double y = HEADING_Y;

        y += text(pg, LEFT, y, TEXT_W, &heading, in->title) + MM(5);
        y += text(pg, LEFT, y, TEXT_W, &body, in->body_text);
        if (!in->n_invoices && !in->total_text)
                return y;

        y += MM(5);
        double h = text(pg, c1, y, w1, &head, lb->invoice);
        text(pg, c2, y, w2, &head, lb->due);
        text(pg, c3, y, w3, &head_r, lb->amount);
        y += h + MM(1.2);
        hline(pg, LEFT, RIGHT, y, 0.6, 0.3);
        y += MM(1.5);
        for (size_t i = 0; i < in->n_invoices; i++) {
                const struct letter_invoice *inv = &in->invoices[i];
                double a = text(pg, c1, y, w1, &cell, inv->number);
                double b = text(pg, c2, y, w2, &cell, inv->due);
                double c = text(pg, c3, y, w3, &cell_r, inv->amount);
                y += MAX(a, MAX(b, c)) + MM(1.5);
                if (i + 1 < in->n_invoices)
                        hline(pg, LEFT, RIGHT, y - MM(0.75), 0.3, 0.8);
        }
        if (in->total_text) {
                hline(pg, LEFT, RIGHT, y, 0.6, 0.3);
                y += MM(1.5);
                double a = text(pg, c1, y, w1, &total, lb->total);
                double c = text(pg, c3, y, w3, &total_r, in->total_text);
                y += MAX(a, c);
        }
        return y;
}

/* The payment block from top down: EPC QR code, transfer details, the
 * pay link's QR code. Returns its bottom. */
static double draw_payment(struct page *pg, double top, const struct letter_input *in,
                           const struct labels *lb, const struct qr *epc, const struct qr *link)
{
        static const struct style title = { 10, true, PANGO_ALIGN_LEFT, 0, 0.09 };
        static const struct style label = { 7.5, false, PANGO_ALIGN_LEFT, 0, 0.4 };
        static const struct style value = { 9.5, false, PANGO_ALIGN_LEFT, 0, 0 };
        static const struct style amount = { 12, true, PANGO_ALIGN_LEFT, 0, 0 };
        static const struct style caption = { 7.5, true, PANGO_ALIGN_CENTER, 0, 0.3 };
        static const struct style url = { 7, false, PANGO_ALIGN_LEFT, 0, 0.3 };
        const double pad = MM(5), qr_size = MM(42), link_size = MM(30);
        const double box_x = LEFT, box_w = TEXT_W;
        double x = box_x + pad, y;
        char *url_line = NULL;

        /* Measure first: the box is drawn below its text. */
        bool draw = pg->draw;
        double bottom = top + pad;
        for (int pass = draw ? 0 : 1; pass < 2; pass++) {
                pg->draw = pass == 1 && draw;
                if (pg->draw) {
                        cairo_set_source_rgb(pg->cr, 0.95, 0.96, 0.975);
                        cairo_rectangle(pg->cr, box_x, top, box_w, bottom - top);
                        cairo_fill(pg->cr);
                        cairo_set_source_rgb(pg->cr, 0.09, 0.33, 0.55);
                        cairo_rectangle(pg->cr, box_x, top, MM(1.2), bottom - top);
                        cairo_fill(pg->cr);
                }
                x = box_x + pad;
                y = top + pad;
                double row = 0;
                if (epc) {
                        double h = text(pg, x, y, qr_size, &caption, lb->scan);
                        if (pg->draw)
                                draw_qr(pg, epc, x, y + h + MM(1), qr_size);
                        row = h + MM(1) + qr_size;
                        x += qr_size + MM(6);
                }
                double col_w = (link ? RIGHT - pad - link_size - MM(6) : RIGHT - pad) - x;
                double ty = y;
                ty += text(pg, x, ty, col_w, &title, lb->amount) ;
                ty += text(pg, x, ty, col_w, &amount, in->total_text ? in->total_text : "")
                      + MM(2.5);
                ty += text(pg, x, ty, col_w, &label, lb->beneficiary);
                ty += text(pg, x, ty, col_w, &value, in->creditor_name) + MM(1.5);
                ty += text(pg, x, ty, col_w, &label, lb->iban);
                ty += text(pg, x, ty, col_w, &value, in->creditor_iban) + MM(1.5);
                if (in->creditor_bic && *in->creditor_bic) {
                        ty += text(pg, x, ty, col_w, &label, lb->bic);
                        ty += text(pg, x, ty, col_w, &value, in->creditor_bic) + MM(1.5);
                }
                if (in->reference && *in->reference) {
                        ty += text(pg, x, ty, col_w, &label, lb->reference);
                        ty += text(pg, x, ty, col_w, &value, in->reference);
                }
                row = MAX(row, ty - y);
                if (link) {
                        double lx = RIGHT - pad - link_size;
                        double h = text(pg, lx, y, link_size, &caption, lb->online);
                        if (pg->draw)
                                draw_qr(pg, link, lx, y + h + MM(1), link_size);
                        row = MAX(row, h + MM(1) + link_size);
                }
                y += row;
                if (in->pay_link) {
                        if (!url_line)
                                url_line = g_strdup_printf("%s: %s", lb->online, in->pay_link);
                        y += MM(2);
                        y += text(pg, box_x + pad, y, box_w - 2 * pad, &url, url_line);
                }
                bottom = y + pad;
        }
        pg->draw = draw;
        g_free(url_line);
        return bottom;
}

static void draw_footer(struct page *pg, const struct letter_input *in)
{
        static const struct style foot = { 7, false, PANGO_ALIGN_CENTER, 0, 0.45 };
        char *s = join(in->creditor_name, in->creditor_address, " · ");
        GString *g = g_string_new(s);
        g_string_append_printf(g, " · IBAN %s", in->creditor_iban);
        if (in->creditor_bic && *in->creditor_bic)
                g_string_append_printf(g, " · BIC %s", in->creditor_bic);
        hline(pg, LEFT, RIGHT, FOOTER_Y - MM(2), 0.3, 0.75);
        text(pg, LEFT, FOOTER_Y, TEXT_W, &foot, g->str);
        g_string_free(g, TRUE);
        g_free(s);
}

static cairo_status_t write_buf(void *closure, const unsigned char *data, unsigned int len)
{
        buf_append(closure, data, len);
        return CAIRO_STATUS_SUCCESS;
}

static int check_text(const char *field, const char *s, bool required, struct error *err)
{
        if (!s)
                return required ? error_set(err, -EINVAL, "letter: %s missing", field) : 0;
        if (!g_utf8_validate(s, -1, NULL))
                return error_set(err, -EINVAL, "letter: %s is not valid UTF-8", field);
        return 0;
}

static int check_input(const struct letter_input *in, struct error *err)
{
        const struct {
                const char *name, *s;
                bool required;
        } fields[] = {
                { "creditor name", in->creditor_name, true },
                { "creditor IBAN", in->creditor_iban, true },
                { "creditor BIC", in->creditor_bic, false },
                { "recipient name", in->recipient_name, true },
                { "date", in->date_text, true },
                { "reference", in->reference, false },
                { "title", in->title, true },
                { "total", in->total_text, false },
                { "body text", in->body_text, true },
                { "pay link", in->pay_link, false },
        };
        size_t n = 0;
        int r;

        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                if ((r = check_text(fields[i].name, fields[i].s, fields[i].required, err)) < 0)
                        return r;
        for (size_t i = 0; in->creditor_address && in->creditor_address[i]; i++)
                if ((r = check_text("creditor address", in->creditor_address[i], true, err)) < 0)
                        return r;
        for (; in->recipient_lines && in->recipient_lines[n]; n++)
                if ((r = check_text("recipient address", in->recipient_lines[n], true, err)) < 0)
                        return r;
        if (n < 1 || n > 5)
                return error_set(err, -EINVAL, "letter: the recipient address has %zu lines "
                                 "(1 to 5)", n);
        for (size_t i = 0; i < in->n_invoices; i++) {
                const struct letter_invoice *inv = &in->invoices[i];
                if ((r = check_text("invoice number", inv->number, true, err)) < 0 ||
                    (r = check_text("invoice due date", inv->due, true, err)) < 0 ||
                    (r = check_text("invoice amount", inv->amount, true, err)) < 0)
                        return r;
        }
        return 0;
}

static void iso_date(char out[32], int64_t ms)
{
        time_t t = ms ? (time_t)(ms / 1000) : time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

__attribute__((visibility("default"))) const struct letter_abi letter_module_abi =
        LETTER_ABI_INIT;

__attribute__((visibility("default"))) int letter_module_render(struct buf *pdf,
                                                               const struct letter_input *in,
                                                               struct error *err)
{
        struct buf out = BUF_INIT;
        struct qr *epc = NULL, *link = NULL;
        cairo_surface_t *surface = NULL;
        cairo_t *cr = NULL;
        PangoContext *pc = NULL;
        const struct labels *lb = labels_for(in->lang);
        char date[32];
        int r;

        if ((r = check_input(in, err)) < 0)
                return r;
        if (in->epc_payload &&
            (r = qr_encode(&epc, in->epc_payload, strlen(in->epc_payload), err)) < 0) {
                error_prefix(err, "letter: EPC");
                goto out;
        }
        if (in->pay_link && *in->pay_link &&
            (r = qr_encode(&link, in->pay_link, strlen(in->pay_link), err)) < 0) {
                error_prefix(err, "letter: pay link");
                goto out;
        }

        surface = cairo_pdf_surface_create_for_stream(write_buf, &out, PAGE_W, PAGE_H);
        cr = cairo_create(surface);
        iso_date(date, in->created_ms);
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, in->title);
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, in->creditor_name);
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "dunningd");
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, date);

        /* Lay out in points: 72 dpi, and no hinting of metrics so that
         * measuring and drawing agree and the PDF scales cleanly. */
        pc = pango_cairo_create_context(cr);
        pango_cairo_context_set_resolution(pc, 72);
        cairo_font_options_t *fo = cairo_font_options_create();
        cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
        cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
        pango_cairo_context_set_font_options(pc, fo);
        cairo_font_options_destroy(fo);

        struct page pg = { cr, pc, false };
        if (draw_head(&pg, in, lb) > WIN_Y - MM(2)) {
                r = error_set(err, -EMSGSIZE, "letter: the creditor's address is too long for "
                              "the space above the envelope window");
                goto out;
        }
        if (draw_address(&pg, in) > ADDR_BOTTOM) {
                r = error_set(err, -EINVAL, "letter: the recipient's address does not fit the "
                              "envelope window");
                goto out;
        }
        /* The payment block is as tall as its contents (a long pay link
         * takes more lines); the text may use everything above it. */
        double pay_top = PAY_BOTTOM - draw_payment(&pg, 0, in, lb, epc, link);
        if (pay_top < MM(150)) {
                r = error_set(err, -EMSGSIZE, "letter: the payment block does not fit the page");
                goto out;
        }
        size_t k;
        for (k = 0; k < sizeof(body_sizes) / sizeof(body_sizes[0]); k++)
                if (draw_flow(&pg, in, lb, body_sizes[k]) <= pay_top - MM(6))
                        break;
        if (k == sizeof(body_sizes) / sizeof(body_sizes[0])) {
                r = error_set(err, -EMSGSIZE, "letter: the text and %zu invoices do not fit on "
                              "one page, even at %.0f pt", in->n_invoices, body_sizes[k - 1]);
                goto out;
        }

        pg.draw = true;
        draw_head(&pg, in, lb);
        draw_address(&pg, in);
        draw_info(&pg, in, lb);
        draw_flow(&pg, in, lb, body_sizes[k]);
        draw_payment(&pg, pay_top, in, lb, epc, link);
        draw_footer(&pg, in);
        cairo_show_page(cr);
        cairo_destroy(cr);
        cr = NULL;
        cairo_surface_finish(surface);
        if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
                r = error_set(err, -EIO, "letter: cairo: %s",
                              cairo_status_to_string(cairo_surface_status(surface)));
                goto out;
        }
        buf_append(pdf, out.data, out.len);
        r = 0;
out:
        if (pc)
                g_object_unref(pc);
        if (cr)
                cairo_destroy(cr);
        if (surface)
                cairo_surface_destroy(surface);
        qr_free(epc);
        qr_free(link);
        buf_free(&out);
        return r;
}
