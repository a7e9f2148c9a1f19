/* test-letter.c: the letter PDF, checked with the tools a person would
 * use: pdftotext and pdfinfo (poppler-utils) for text, page and metadata,
 * pdftoppm + zbarimg (zbar-tools) to scan both QR codes from a 200 dpi
 * rendering, and pdftotext -bbox for the address's place in the window. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "epcqr.h"
#include "letter.h"
#include "unit.h"

#define PT_PER_MM 2.8346

static const char *const creditor_address[] = { "Keizersgracht 123", "1015 CJ Amsterdam", NULL };
static const char *const recipient_lines[] = { "Dorpsstraat 12 bis", "1234 AB Ergenshuizen",
                                               NULL };
static const struct letter_invoice invoices[] = {
        { "INV-2026-0042", "15 oktober 2026", "€ 120,00" },
        { "INV-2026-0057", "1 november 2026", "€ 75,50" },
        { "INV-2026-0063", "15 november 2026", "€ 1.234,56" },
};
static const char body[] =
        "Geachte heer/mevrouw,\n\n"
        "Volgens onze administratie staan de onderstaande facturen nog open. Misschien is "
        "het u ontgaan; dat kan gebeuren. Wilt u het totaalbedrag binnen 14 dagen "
        "overmaken? Scan daarvoor de QR-code met uw bank-app, of betaal online via de link.\n\n"
        "Heeft u al betaald? Dan kunt u deze brief als niet verzonden beschouwen.\n\n"
        "Met vriendelijke groet,\n\nBureau Hélène B.V.\nDebiteurenbeheer";
#define NAME "Zoë & <b>Çelik</b>"
#define LINK "https://pay.example.com/p/Zx81-kQ?lang=nl&amp=1"

static char tmpdir[64];
static struct buf epc = BUF_INIT;

static void make_input(struct letter_input *in)
{
        struct epcqr_input q = {
                .name = "Bureau Hélène B.V.", .iban = "NL91 ABNA 0417 1643 00", .bic = "ABNANL2A",
                .currency = "EUR", .amount_cents = 143006, .reference = "RF73INV20260042",
        };
        struct error err = { "" };
        buf_reset(&epc);
        ck_assert_msg(epcqr_payload(&epc, &q, &err) == 0, "%s", err.msg);
        *in = (struct letter_input){
                .creditor_name = "Bureau Hélène B.V.",
                .creditor_address = creditor_address,
                .creditor_iban = "NL91 ABNA 0417 1643 00",
                .creditor_bic = "ABNANL2A",
                .recipient_name = NAME,
                .recipient_lines = recipient_lines,
                .date_text = "23 november 2026",
                .reference = "RF73 INV2 0260 042",
                .title = "Betalingsherinnering INV-2026-0042",
                .invoices = invoices,
                .n_invoices = 3,
                .total_text = "€ 1.430,06",
                .body_text = body,
                .epc_payload = buf_str(&epc),
                .pay_link = LINK,
                .lang = "nl",
                .created_ms = 1795420800000LL,
        };
}

/* Runs cmd with sh and returns its stdout; fails the test on exit != 0. */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
        struct buf cmd = BUF_INIT, out = BUF_INIT;
        va_list ap;
        va_start(ap, fmt);
        buf_vprintf(&cmd, fmt, ap);
        va_end(ap);
        FILE *f = popen(buf_str(&cmd), "r");
        ck_assert_ptr_nonnull(f);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                buf_append(&out, chunk, n);
        int status = pclose(f);
        ck_assert_msg(status == 0, "`%s` failed (status %d); are poppler-utils and zbar-tools "
                      "installed?", buf_str(&cmd), status);
        buf_free(&cmd);
        if (!out.data)
                buf_puts(&out, "");
        return buf_steal(&out);
}

static void setup(void)
{
        strcpy(tmpdir, "/tmp/test-letter-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
        char *s = NULL;
        /* DUNNINGD_KEEP_LETTER=1 keeps the PDF and PNG to look at. */
        if (getenv("DUNNINGD_KEEP_LETTER")) {
                fprintf(stderr, "letter kept in %s\n", tmpdir);
        } else if (asprintf(&s, "rm -rf '%s'", tmpdir) > 0) {
                if (system(s) != 0)
                        fprintf(stderr, "cannot remove %s\n", tmpdir);
        }
        free(s);
        buf_free(&epc);
}

static void write_pdf(const struct buf *pdf, const char *path)
{
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(pdf->data, 1, pdf->len, f), pdf->len);
        ck_assert_int_eq(fclose(f), 0);
}

static char *render_to_file(void)
{
        struct letter_input in;
        struct buf pdf = BUF_INIT;
        struct error err = { "" };
        char *path = NULL;

        make_input(&in);
        ck_assert_msg(letter_render(&pdf, &in, &err) == 0, "%s", err.msg);
        ck_assert(pdf.len > 1000);
        ck_assert(!memcmp(pdf.data, "%PDF-", 5));
        ck_assert_int_ne(asprintf(&path, "%s/letter.pdf", tmpdir), -1);
        write_pdf(&pdf, path);
        buf_free(&pdf);
        return path;
}

START_TEST(test_text)
{
        char *path = render_to_file();
        char *txt = run("pdftotext -enc UTF-8 '%s' -", path);
        static const char *const want[] = {
                NAME, "Dorpsstraat 12 bis", "1234 AB Ergenshuizen", "€ 120,00", "€ 75,50",
                "€ 1.234,56", "€ 1.430,06", "NL91 ABNA 0417 1643 00", "RF73 INV2 0260 042",
                "INV-2026-0042", "INV-2026-0057", "INV-2026-0063", "23 november 2026",
                "Betalingsherinnering INV-2026-0042", "Bureau Hélène B.V.", "Debiteurenbeheer",
                "Keizersgracht 123", "Kenmerk", "Vervaldatum",
        };
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                ck_assert_msg(strstr(txt, want[i]) != NULL, "\"%s\" not in the PDF text:\n%s",
                              want[i], txt);
        /* Not interpreted as markup: no "Çelik" without its tags. */
        ck_assert(strstr(txt, "& Çelik") == NULL);
        free(txt);
        free(path);
}
END_TEST

/* The value of "key:" in pdfinfo output (padding removed), or NULL. */
static char *info_value(const char *info, const char *key)
{
        for (const char *line = info; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t klen = strlen(key);
                if (!strncmp(line, key, klen) && line[klen] == ':') {
                        const char *v = line + klen + 1;
                        v += strspn(v, " ");
                        return xstrndup(v, nl ? (size_t)(nl - v) : strlen(v));
                }
                line = nl ? nl + 1 : NULL;
        }
        return NULL;
}

static void assert_info(const char *info, const char *key, const char *want)
{
        char *v = info_value(info, key);
        ck_assert_msg(v && !strcmp(v, want), "pdfinfo %s: \"%s\", wanted \"%s\"\n%s", key,
                      v ? v : "(none)", want, info);
        free(v);
}

START_TEST(test_info)
{
        char *path = render_to_file();
        char *info = run("TZ=UTC pdfinfo -enc UTF-8 '%s'", path);
        assert_info(info, "Pages", "1");
        assert_info(info, "Page size", "595.276 x 841.89 pts (A4)");
        assert_info(info, "Title", "Betalingsherinnering INV-2026-0042");
        assert_info(info, "Author", "Bureau Hélène B.V.");
        assert_info(info, "CreationDate", "Mon Nov 23 08:00:00 2026 UTC");
        free(info);
        /* Also well-formed for a strict checker. */
        free(run("qpdf --check '%s' >/dev/null", path));
        free(path);
}
END_TEST

/* Renders one half of the page at 200 dpi and returns the bytes of the
 * QR code(s) zbarimg finds there: -Sbinary, because zbar otherwise guesses
 * a character set and turns the UTF-8 "é" into Shift JIS mojibake. */
static char *scan_half(const char *pdf, bool left)
{
        const int w = 1654 / 2, h = 2339;       /* A4 at 200 dpi: 1654 x 2339 px */
        free(run("pdftoppm -r 200 -png -singlefile -x %d -y 0 -W %d -H %d '%s' '%s/%s'",
                 left ? 0 : w, w, h, pdf, tmpdir, left ? "left" : "right"));
        return run("zbarimg --raw -q -Sbinary '%s/%s.png' 2>/dev/null", tmpdir,
                   left ? "left" : "right");
}

START_TEST(test_qr_codes)
{
        /* The EPC QR code is in the left half of the page, the pay link's
         * in the right half. */
        char *path = render_to_file();
        char *left = scan_half(path, true), *right = scan_half(path, false);
        ck_assert_uint_eq(strlen(left), epc.len);
        ck_assert_msg(!memcmp(left, epc.data, epc.len), "EPC QR decoded as:\n%s\nwanted:\n%s",
                      left, buf_str(&epc));
        ck_assert_str_eq(right, LINK);
        free(left);
        free(right);
        free(path);
}
END_TEST

/* The box of the first word w in pdftotext -bbox output. */
static int word_box(const char *html, const char *w, double box[4])
{
        struct buf needle = BUF_INIT;
        buf_printf(&needle, ">%s</word>", w);
        const char *end = strstr(html, buf_str(&needle));
        buf_free(&needle);
        if (!end)
                return -1;
        const char *start = end;
        while (start > html && strncmp(start, "<word", 5))
                start--;
        int n = sscanf(start, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\"", &box[0],
                       &box[1], &box[2], &box[3]);
        return n == 4 ? 0 : -1;
}

START_TEST(test_window)
{
        char *path = render_to_file();
        char *html = run("pdftotext -bbox -enc UTF-8 '%s' -", path);
        static const char *const words[] = {
                "Zoë", "&amp;", "&lt;b&gt;Çelik&lt;/b&gt;", "Dorpsstraat", "bis", "Ergenshuizen",
        };
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
                double box[4];
                ck_assert_msg(word_box(html, words[i], box) == 0, "%s not found:\n%s", words[i],
                              html);
                ck_assert_msg(box[0] >= 20 * PT_PER_MM && box[2] <= 105 * PT_PER_MM &&
                              box[1] >= 45 * PT_PER_MM && box[3] <= 90 * PT_PER_MM,
                              "%s at x %.1f..%.1f mm, y %.1f..%.1f mm: outside the window",
                              words[i], box[0] / PT_PER_MM, box[2] / PT_PER_MM,
                              box[1] / PT_PER_MM, box[3] / PT_PER_MM);
        }
        free(html);
        free(path);
}
END_TEST

START_TEST(test_refused)
{
        struct letter_input in;
        struct buf pdf = BUF_INIT;
        struct error err = { "" };

        /* Too much text for one page: refused, never cut. */
        make_input(&in);
        struct buf big = BUF_INIT;
        for (int i = 0; i < 120; i++)
                buf_puts(&big, "Dit is een regel tekst die de brief te lang maakt.\n");
        in.body_text = buf_str(&big);
        ck_assert_int_eq(letter_render(&pdf, &in, &err), -EMSGSIZE);
        ck_assert_str_eq(err.msg, "letter: the text and 3 invoices do not fit on one page, "
                                  "even at 8 pt");
        ck_assert_uint_eq(pdf.len, 0);

        /* A long text that fits at a smaller size is set smaller. */
        buf_reset(&big);
        for (int i = 0; i < 6; i++)
                buf_puts(&big, "Dit is een regel tekst die de brief langer maakt.\n");
        buf_puts(&big, body);
        in.body_text = buf_str(&big);
        ck_assert_msg(letter_render(&pdf, &in, &err) == 0, "%s", err.msg);
        char *small = NULL, *path = render_to_file();
        ck_assert_int_ne(asprintf(&small, "%s/small.pdf", tmpdir), -1);
        write_pdf(&pdf, small);
        char *html = run("pdftotext -bbox -enc UTF-8 '%s' -", path);
        char *html_small = run("pdftotext -bbox -enc UTF-8 '%s' -", small);
        double normal_box[4], small_box[4];
        ck_assert_int_eq(word_box(html, "Geachte", normal_box), 0);
        ck_assert_int_eq(word_box(html_small, "Geachte", small_box), 0);
        ck_assert_msg(small_box[3] - small_box[1] < normal_box[3] - normal_box[1] - 0.2,
                      "the body font did not shrink: %.2f vs %.2f pt",
                      small_box[3] - small_box[1], normal_box[3] - normal_box[1]);
        free(html);
        free(html_small);
        free(small);
        free(path);
        buf_reset(&pdf);

        /* An address that does not fit the window. */
        static const char *const six[] = { "a", "b", "c", "d", "e", "f", NULL };
        make_input(&in);
        in.recipient_lines = six;
        ck_assert_int_eq(letter_render(&pdf, &in, &err), -EINVAL);
        static const char *const tall[] = { "Afdeling Crediteuren en Inkoopadministratie Noord-"
                                            "Holland en Flevoland, kamer 12 tot en met 14",
                                            "Postbus 12345", "1234 AB Ergens", "Nederland",
                                            "Verdieping 3", NULL };
        in.recipient_lines = tall;
        ck_assert_int_eq(letter_render(&pdf, &in, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "letter: the recipient's address does not fit the envelope "
                                  "window");

        /* Invalid UTF-8 and missing fields. */
        make_input(&in);
        in.recipient_name = "Zo\xeb";
        ck_assert_int_eq(letter_render(&pdf, &in, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "letter: recipient name is not valid UTF-8");
        make_input(&in);
        in.title = NULL;
        ck_assert_int_eq(letter_render(&pdf, &in, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "letter: title missing");
        ck_assert_uint_eq(pdf.len, 0);

        /* No EPC QR code (not euros) and no pay link: still a letter. */
        make_input(&in);
        in.epc_payload = NULL;
        in.pay_link = NULL;
        in.lang = "de";
        ck_assert_msg(letter_render(&pdf, &in, &err) == 0, "%s", err.msg);
        buf_free(&pdf);
        buf_free(&big);
}
END_TEST

/* The module is looked for where DUNNINGD_LETTER_MODULE says (meson's
 * test environment points at the build's); a module of another build is
 * refused before it is called, and a name that is not a path is refused
 * rather than looked up on the library path. Each test runs in a process
 * of its own (Check forks), so each loads afresh. */
START_TEST(test_module_of_another_build_refused)
{
        const char *fake = getenv("DUNNINGD_FAKE_LETTER_MODULE");
        ck_assert_msg(fake && *fake, "DUNNINGD_FAKE_LETTER_MODULE is not set (run by meson)");
        ck_assert_int_eq(setenv(LETTER_MODULE_ENV, fake, 1), 0);
        struct letter_input in;
        make_input(&in);
        struct buf pdf = BUF_INIT;
        struct error err;
        ck_assert_int_eq(letter_render(&pdf, &in, &err), -EIO);
        ck_assert_msg(strstr(err.msg, "built for 0.0.0-other") &&
                      strstr(err.msg, "restart dunningd"), "%s", err.msg);
        ck_assert_uint_eq(pdf.len, 0);
        /* The same answer again, without a second load. */
        ck_assert_int_eq(letter_module_load(&err), -EIO);
        ck_assert_msg(strstr(err.msg, "0.0.0-other"), "%s", err.msg);
        buf_free(&pdf);
}
END_TEST

START_TEST(test_module_path_refused)
{
        struct error err;
        char path[256];
        ck_assert_int_eq(setenv(LETTER_MODULE_ENV, "dunningd-letter.so", 1), 0);
        ck_assert_int_eq(letter_module_find(path, sizeof(path), &err), -ENOENT);
        ck_assert_msg(strstr(err.msg, "not a path"), "%s", err.msg);
        ck_assert_int_eq(setenv(LETTER_MODULE_ENV, "/nonexistent/dunningd-letter.so", 1), 0);
        ck_assert_int_eq(letter_module_load(&err), -EIO);
        ck_assert_msg(strstr(err.msg, "/nonexistent/dunningd-letter.so: No such file"), "%s",
                      err.msg);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("letter");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_text);
        tcase_add_test(tc, test_info);
        tcase_add_test(tc, test_qr_codes);
        tcase_add_test(tc, test_window);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_module_of_another_build_refused);
        tcase_add_test(tc, test_module_path_refused);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
