/* test-epcqr.c: the EPC QR payload and the IBAN, RF and betalingskenmerk
 * checks, against the shared conformance vectors (read at run time from
 * $DUNNINGD_CONFORMANCE, else $DUNNINGD_SOURCE_ROOT/../shared/conformance;
 * skipped with a message when absent) and hard-coded cases. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "epcqr.h"
#include "unit.h"

/* Reads a conformance file into b; false (after saying so) when absent. */
static bool conformance_read(struct buf *b, const char *name)
{
        char path[4096];
        const char *dir = getenv("DUNNINGD_CONFORMANCE");
        const char *root = getenv("DUNNINGD_SOURCE_ROOT");

        if (dir && *dir)
                snprintf(path, sizeof(path), "%s/%s", dir, name);
        else if (root && *root)
                snprintf(path, sizeof(path), "%s/../shared/conformance/%s", root, name);
        else
                snprintf(path, sizeof(path), "../shared/conformance/%s", name);
        if (buf_read_file(b, path, 1 << 20) < 0) {
                fprintf(stderr, "SKIP: conformance file %s not found (set "
                        "DUNNINGD_CONFORMANCE)\n", path);
                return false;
        }
        return true;
}

/* The text between the first "```" line after marker and the next "```". */
static char *code_block_after(const char *doc, const char *marker)
{
        const char *p = strstr(doc, marker);
        if (!p || !(p = strstr(p, "```")) || !(p = strchr(p, '\n')))
                return NULL;
        p++;
        const char *end = strstr(p, "```");
        if (!end)
                return NULL;
        return xstrndup(p, (size_t)(end - p));
}

/* The section of doc from marker up to end_marker (or the end). */
static char *section(const char *doc, const char *marker, const char *end_marker)
{
        const char *p = strstr(doc, marker);
        if (!p)
                return NULL;
        const char *end = end_marker ? strstr(p, end_marker) : NULL;
        return end ? xstrndup(p, (size_t)(end - p)) : xstrdup(p);
}

/* Calls fn(first backticked cell, valid?) for each table row "| `x` |". */
static int table_rows(const char *sec, void (*fn)(const char *in, bool valid))
{
        int n = 0;
        for (const char *line = sec; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                char *l = xstrndup(line, len);
                if (!strncmp(l, "| `", 3)) {
                        char *start = l + 3, *end = strchr(start, '`');
                        if (end) {
                                *end = '\0';
                                bool valid = !strstr(end + 1, "**invalid**");
                                fn(start, valid);
                                n++;
                        }
                }
                free(l);
                line = nl ? nl + 1 : NULL;
        }
        return n;
}

static void expect_rf(const char *in, bool valid)
{
        struct error err = { "" };
        int r = epcqr_rf_check(in, NULL, &err);
        ck_assert_msg(valid ? r == 0 : r == -EINVAL, "RF %s: expected %s, got %d (%s)", in,
                      valid ? "valid" : "invalid", r, err.msg);
}

static void expect_kenmerk(const char *in, bool valid)
{
        struct error err = { "" };
        int r = epcqr_kenmerk_check(in, NULL, &err);
        ck_assert_msg(valid ? r == 0 : r == -EINVAL, "betalingskenmerk %s: expected %s, got "
                      "%d (%s)", in, valid ? "valid" : "invalid", r, err.msg);
}

START_TEST(test_conformance_iban)
{
        struct buf b = BUF_INIT;
        if (!conformance_read(&b, "iban-vectors.txt"))
                return;
        int valid = 0, invalid = 0;
        char *save = NULL;
        for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] == '#')
                        continue;
                char *expect = line, *in = strchr(line, '\t');
                ck_assert_ptr_nonnull(in);
                *in++ = '\0';
                char *tab = strchr(in, '\t');
                if (tab)
                        *tab = '\0';
                /* Needs a list of Belgian bank codes, which we do not ship
                 * (the vector file says to skip it). */
                if (!strcmp(in, "BE83138811735115"))
                        continue;
                struct error err = { "" };
                int r = epcqr_iban_check(in, &err);
                if (!strcmp(expect, "VALID")) {
                        ck_assert_msg(r == 0, "IBAN %s: expected valid: %s", in, err.msg);
                        valid++;
                } else {
                        ck_assert_msg(r == -EINVAL, "IBAN %s: expected invalid", in);
                        ck_assert(strstr(err.msg, "IBAN") != NULL);
                        invalid++;
                }
        }
        ck_assert_int_ge(valid, 130);
        ck_assert_int_ge(invalid, 25);
        buf_free(&b);
}
END_TEST

START_TEST(test_conformance_references)
{
        struct buf b = BUF_INIT;
        if (!conformance_read(&b, "references.md"))
                return;
        char *rf = section(b.data, "## 1. ISO 11649", "## 2.");
        char *nl = section(b.data, "## 2. Dutch", "## 3.");
        ck_assert_ptr_nonnull(rf);
        ck_assert_ptr_nonnull(nl);
        ck_assert_int_ge(table_rows(rf, expect_rf), 5);
        ck_assert_int_ge(table_rows(nl, expect_kenmerk), 6);

        /* The 100 valid RF references and the 25 betalingskenmerken (with
         * ◆/‡ markers after some of them). */
        char *block = code_block_after(rf, "100 valid references");
        ck_assert_ptr_nonnull(block);
        int n = 0;
        char *save = NULL;
        for (char *t = strtok_r(block, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
                expect_rf(t, true);
                n++;
        }
        ck_assert_int_eq(n, 100);
        free(block);
        block = code_block_after(nl, "Another 25 valid");
        ck_assert_ptr_nonnull(block);
        n = 0;
        for (char *t = strtok_r(block, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
                t[strspn(t, "0123456789")] = '\0';
                expect_kenmerk(t, true);
                n++;
        }
        ck_assert_int_eq(n, 25);
        free(block);
        free(rf);
        free(nl);
        buf_free(&b);
}
END_TEST

/* Feeds the fields of a reference payload of epc-qr.md to epcqr_payload
 * and compares: ours always says charset 1 (UTF-8) and writes the amount
 * with 2 decimals (EUR12.30 where segno wrote EUR12.3); both conform. */
static void check_reference_payload(const char *doc, const char *marker)
{
        char *block = code_block_after(doc, marker);
        ck_assert_msg(block != NULL, "no payload after %s", marker);
        char *lines[12] = { 0 };
        size_t n = 0;
        for (char *p = block; n < 12;) {
                lines[n++] = p;
                char *nl = strchr(p, '\n');
                if (!nl)
                        break;
                *nl = '\0';
                p = nl + 1;
                if (!*p)
                        break;
        }
        ck_assert_int_ge(n, 8);
        /* "EUR12.3" -> 1230 cents, without floating point. */
        const char *a = lines[7] + 3;
        long long cents = strtoll(a, NULL, 10) * 100;
        const char *dot = strchr(a, '.');
        if (dot) {
                cents += (dot[1] - '0') * 10;
                if (dot[2])
                        cents += dot[2] - '0';
        }
        struct epcqr_input in = {
                .bic = lines[4], .name = lines[5], .iban = lines[6], .currency = "EUR",
                .amount_cents = cents, .purpose = n > 8 ? lines[8] : NULL,
                .reference = n > 9 ? lines[9] : NULL, .text = n > 10 ? lines[10] : NULL,
        };
        char amount[32];
        snprintf(amount, sizeof(amount), "EUR%lld.%02lld", cents / 100, cents % 100);
        struct buf want = BUF_INIT, got = BUF_INIT;
        for (size_t i = 0; i < n; i++) {
                if (i)
                        buf_putc(&want, '\n');
                buf_puts(&want, i == 2 ? "1" : i == 7 ? amount : lines[i]);
        }
        struct error err = { "" };
        ck_assert_msg(epcqr_payload(&got, &in, &err) == 0, "%s: %s", marker, err.msg);
        ck_assert_str_eq(buf_str(&got), buf_str(&want));
        buf_free(&want);
        buf_free(&got);
        free(block);
}

START_TEST(test_conformance_payloads)
{
        struct buf b = BUF_INIT;
        if (!conformance_read(&b, "epc-qr.md"))
                return;
        check_reference_payload(b.data, "### A.");
        check_reference_payload(b.data, "### B.");
        check_reference_payload(b.data, "### C.");
        /* D is version 001 with element 12, which we never write. */
        buf_free(&b);
}
END_TEST

static const struct epcqr_input example1 = {
        .bic = "BHBLDEHHXXX", .name = "Franz Mustermänn", .iban = "DE71 1102 2033 0123 4567 89",
        .currency = "EUR", .amount_cents = 1230, .purpose = "GDDS",
        .reference = "RF18 5390 0754 7034",
};

static int payload(struct buf *b, const struct epcqr_input *in)
{
        buf_reset(b);
        return epcqr_payload(b, in, NULL);
}

START_TEST(test_payload_exact)
{
        struct buf b = BUF_INIT;
        ck_assert_int_eq(payload(&b, &example1), 0);
        ck_assert_str_eq(buf_str(&b), "BCD\n002\n1\nSCT\nBHBLDEHHXXX\nFranz Mustermänn\n"
                                      "DE71110220330123456789\nEUR12.30\nGDDS\nRF18539007547034");
        ck_assert_uint_eq(b.len, 97);

        /* No BIC, no purpose, RF made from the invoice number. */
        struct epcqr_input in = {
                .name = "Acme B.V.", .iban = "NL91ABNA0417164300", .currency = "EUR",
                .amount_cents = 123456, .invoice = "INV-2026-0042",
        };
        ck_assert_int_eq(payload(&b, &in), 0);
        ck_assert_str_eq(buf_str(&b), "BCD\n002\n1\nSCT\n\nAcme B.V.\nNL91ABNA0417164300\n"
                                      "EUR1234.56\n\nRF73INV20260042");

        /* A betalingskenmerk as the structured reference. */
        in.reference = "5000 0567 8901 2345";
        ck_assert_int_eq(payload(&b, &in), 0);
        ck_assert_str_eq(buf_str(&b), "BCD\n002\n1\nSCT\n\nAcme B.V.\nNL91ABNA0417164300\n"
                                      "EUR1234.56\n\n5000056789012345");

        /* Free text: an empty structured line, then the text. */
        in.reference = NULL;
        in.text = "Facturen INV-1, INV-2";
        ck_assert_int_eq(payload(&b, &in), 0);
        ck_assert_str_eq(buf_str(&b), "BCD\n002\n1\nSCT\n\nAcme B.V.\nNL91ABNA0417164300\n"
                                      "EUR1234.56\n\n\nFacturen INV-1, INV-2");

        /* Nothing to remit: the payload stops after the amount. */
        in.text = NULL;
        in.invoice = NULL;
        ck_assert_int_eq(payload(&b, &in), 0);
        ck_assert_str_eq(buf_str(&b), "BCD\n002\n1\nSCT\n\nAcme B.V.\nNL91ABNA0417164300\n"
                                      "EUR1234.56");

        /* An invoice number too long for an RF body goes into the text. */
        in.invoice = "2026-0000000000000000000042";
        ck_assert_int_eq(payload(&b, &in), 0);
        ck_assert_str_eq(buf_str(&b), "BCD\n002\n1\nSCT\n\nAcme B.V.\nNL91ABNA0417164300\n"
                                      "EUR1234.56\n\n\n2026-0000000000000000000042");
        buf_free(&b);
}
END_TEST

START_TEST(test_amounts)
{
        static const struct {
                long long cents;
                const char *text;
        } ok[] = {
                { 1, "EUR0.01" }, { 10, "EUR0.10" }, { 100, "EUR1.00" }, { 123456, "EUR1234.56" },
                { 99999999999LL, "EUR999999999.99" },
        };
        struct buf b = BUF_INIT;
        struct epcqr_input in = example1;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                in.amount_cents = ok[i].cents;
                ck_assert_int_eq(payload(&b, &in), 0);
                char want[40];
                snprintf(want, sizeof(want), "\n%s\n", ok[i].text);
                ck_assert_msg(strstr(b.data, want) != NULL, "%lld -> %s", ok[i].cents, b.data);
        }
        static const long long bad[] = { 0, -1, -100, 100000000000LL, INT64_MAX };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct error err = { "" };
                buf_reset(&b);
                in.amount_cents = bad[i];
                ck_assert_int_eq(epcqr_payload(&b, &in, &err), -EINVAL);
                ck_assert(strstr(err.msg, "amount") != NULL);
                ck_assert_uint_eq(b.len, 0);
        }
        buf_free(&b);
}
END_TEST

START_TEST(test_non_eur)
{
        struct buf b = BUF_INIT;
        struct error err = { "" };
        struct epcqr_input in = example1;
        in.currency = "USD";
        ck_assert_int_eq(epcqr_payload(&b, &in, &err), EPCQR_ERR_CURRENCY);
        ck_assert_str_eq(err.msg, "currency USD: an EPC QR code pays euros only");
        ck_assert_uint_eq(b.len, 0);
        in.currency = NULL;
        ck_assert_int_eq(epcqr_payload(&b, &in, &err), EPCQR_ERR_CURRENCY);
        in.currency = "eur";
        ck_assert_int_eq(epcqr_payload(&b, &in, &err), EPCQR_ERR_CURRENCY);
        buf_free(&b);
}
END_TEST

static char *repeat(const char *s, int n)
{
        struct buf b = BUF_INIT;
        for (int i = 0; i < n; i++)
                buf_puts(&b, s);
        return buf_steal(&b);
}

START_TEST(test_size_limit)
{
        /* 11 elements, 10 LFs: 3+3+1+3+0 + 140 (70 x é) + 18 + 7 + 0 + 0 =
         * 175 + 10 = 185 bytes before the text; 73 x é = 146 -> 331. */
        char *name = repeat("é", 70), *text = repeat("é", 73);
        struct epcqr_input in = {
                .name = name, .iban = "NL91ABNA0417164300", .currency = "EUR",
                .amount_cents = 100, .text = text,
        };
        struct buf b = BUF_INIT;
        ck_assert_int_eq(payload(&b, &in), 0);
        ck_assert_uint_eq(b.len, EPCQR_MAX_BYTES);

        char *longer = repeat("é", 73);
        char *t2 = NULL;
        ck_assert_int_ne(asprintf(&t2, "%sa", longer), -1);
        in.text = t2;
        struct error err = { "" };
        buf_reset(&b);
        ck_assert_int_eq(epcqr_payload(&b, &in, &err), EPCQR_ERR_TOO_LONG);
        ck_assert_str_eq(err.msg, "EPC QR payload: 332 bytes, at most 331");
        ck_assert_uint_eq(b.len, 0);

        /* Every field at its limit: 140 x é text is 140 characters, allowed
         * on its own, but the total is far above 331. */
        free(text);
        text = repeat("é", 140);
        in.text = text;
        in.bic = "BHBLDEHHXXX";
        in.purpose = "GDDS";
        ck_assert_int_eq(payload(&b, &in), EPCQR_ERR_TOO_LONG);
        free(name);
        free(text);
        free(longer);
        free(t2);
        buf_free(&b);
}
END_TEST

START_TEST(test_name)
{
        struct buf b = BUF_INIT;
        struct error err = { "" };
        struct epcqr_input in = example1;
        char *a70 = repeat("a", 70), *a71 = repeat("a", 71), *e70 = repeat("é", 70);
        char *e71 = repeat("é", 71);

        in.name = a70;
        ck_assert_int_eq(payload(&b, &in), 0);
        in.name = e70;          /* 140 bytes but 70 characters */
        ck_assert_int_eq(payload(&b, &in), 0);
        /* Refused, not truncated (see epcqr.h). */
        in.name = a71;
        buf_reset(&b);
        ck_assert_int_eq(epcqr_payload(&b, &in, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "creditor name: 71 characters, at most 70 fit an EPC QR code");
        in.name = e71;
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.name = "";
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.name = NULL;
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.name = "Acme\nEvil";
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.name = "Acme \xff";
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        ck_assert_int_eq(epcqr_name_check("Zoë & Çelik B.V.", NULL), 0);
        free(a70);
        free(a71);
        free(e70);
        free(e71);
        buf_free(&b);
}
END_TEST

START_TEST(test_fields_refused)
{
        /* The negative cases of epc-qr.md that apply to our input. */
        struct buf b = BUF_INIT;
        struct epcqr_input in = example1;
        static const char *const bics[] = { "BHBLDE", "BHBLDEHHXXXX", "BHBLDEHHXX", "BHBLDEH ",
                                            "bhbldehh" };
        for (size_t i = 0; i < sizeof(bics) / sizeof(bics[0]); i++) {
                in.bic = bics[i];
                ck_assert_msg(payload(&b, &in) == -EINVAL, "BIC %s", bics[i]);
        }
        in.bic = "BHBLDEHH";
        ck_assert_int_eq(payload(&b, &in), 0);
        in.bic = "";
        ck_assert_int_eq(payload(&b, &in), 0);

        static const char *const purposes[] = { "DE1", "x", "CDCBC", "gdds" };
        for (size_t i = 0; i < sizeof(purposes) / sizeof(purposes[0]); i++) {
                in.purpose = purposes[i];
                ck_assert_msg(payload(&b, &in) == -EINVAL, "purpose %s", purposes[i]);
        }
        in.purpose = NULL;

        char *iban37 = NULL;
        char *ones = repeat("1", 34);
        ck_assert_int_ne(asprintf(&iban37, "DE1%s", ones), -1);
        in.iban = iban37;
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.iban = "";
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.iban = NULL;
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.iban = example1.iban;

        /* Text over 140 characters; a reference and a text together; a
         * reference that is neither RF nor betalingskenmerk. */
        char *t141 = repeat("a", 141), *t140 = repeat("a", 140), *r36 = repeat("r", 36);
        in.reference = NULL;
        in.text = t141;
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.text = t140;
        ck_assert_int_eq(payload(&b, &in), 0);
        in.reference = "RF18539007547034";
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.text = NULL;
        in.reference = r36;
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.reference = "RF17539007547034";
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.reference = "5000056789012354";
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.reference = "INV-2026-0042";
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        in.reference = NULL;
        in.text = "line\nbreak";
        ck_assert_int_eq(payload(&b, &in), -EINVAL);
        free(iban37);
        free(ones);
        free(t141);
        free(t140);
        free(r36);
        buf_free(&b);
}
END_TEST

START_TEST(test_iban)
{
        static const char *const good[] = {
                "NL91ABNA0417164300", "NL91 ABNA 0417 1643 00", "nl91abna0417164300",
                "DE89370400440532013000", "BE68539007547034", "FR1420041010050500013M02606",
                "AT611904300234573201", "ES9121000418450200051332", "IT60X0542811101000000123456",
                "LU280019400644750000", "FI2112345600000785", "MT84MALT011000012345MTLCAST001S",
        };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                struct error err = { "" };
                ck_assert_msg(epcqr_iban_check(good[i], &err) == 0, "%s: %s", good[i], err.msg);
        }
        char compact[EPCQR_IBAN_MAX + 1];
        ck_assert_int_eq(epcqr_iban_compact(compact, "nl91 abna 0417 1643 00", NULL), 0);
        ck_assert_str_eq(compact, "NL91ABNA0417164300");

        static const struct {
                const char *iban, *msg;
        } bad[] = {
                { "NL91ABNA0417164301", "IBAN NL91ABNA0417164301: wrong check digits (mod 97)" },
                { "NL91ABNA041716430", "IBAN NL91ABNA041716430: a NL IBAN has 18 characters, "
                                       "not 17" },
                { "XX89370400440532013000", "IBAN XX89370400440532013000: country XX is not a "
                                            "SEPA country" },
                { "US89370400440532013000", "IBAN US89370400440532013000: country US is not a "
                                            "SEPA country" },
                { "NL56 3003 0A17 1643 00", "IBAN NL56 3003 0A17 1643 00: the account part does "
                                            "not have the NL format" },
                { "BE54310100270000", "IBAN BE54310100270000: wrong Belgian national check "
                                      "digits" },
                { "NL91ABNA04171643€0", "IBAN NL91ABNA04171643€0: not letters and digits or "
                                       "longer than 34 characters" },
                { "", "IBAN: missing" },
                { "NL", "IBAN NL: must start with a country code and 2 check digits" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct error err = { "" };
                ck_assert_int_eq(epcqr_iban_check(bad[i].iban, &err), -EINVAL);
                ck_assert_str_eq(err.msg, bad[i].msg);
        }
        ck_assert_int_eq(epcqr_iban_check(NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_rf)
{
        char ref[EPCQR_RF_MAX + 1];
        ck_assert_int_eq(epcqr_rf_make(ref, "INV-2026-0042", NULL), 0);
        ck_assert_str_eq(ref, "RF73INV20260042");
        ck_assert_int_eq(epcqr_rf_check(ref, NULL, NULL), 0);
        ck_assert_int_eq(epcqr_rf_make(ref, "539007547034", NULL), 0);
        ck_assert_str_eq(ref, "RF18539007547034");
        ck_assert_int_eq(epcqr_rf_make(ref, "2348231", NULL), 0);
        ck_assert_str_eq(ref, "RF712348231");
        ck_assert_int_eq(epcqr_rf_make(ref, "p", NULL), 0);
        ck_assert_str_eq(ref, "RF08P");         /* leading zero kept */
        ck_assert_int_eq(epcqr_rf_make(ref, "123456789012345678901", NULL), 0);
        ck_assert_int_eq(epcqr_rf_check(ref, NULL, NULL), 0);
        ck_assert_uint_eq(strlen(ref), 25);

        struct error err = { "" };
        ck_assert_int_eq(epcqr_rf_make(ref, "1234567890123456789012", &err), -EINVAL);
        ck_assert_int_eq(epcqr_rf_make(ref, "--/--", &err), -EINVAL);
        ck_assert_int_eq(epcqr_rf_make(ref, NULL, &err), -EINVAL);

        char compact[EPCQR_RF_MAX + 1];
        ck_assert_int_eq(epcqr_rf_check("rf18 5390 0754 7034", compact, NULL), 0);
        ck_assert_str_eq(compact, "RF18539007547034");
        ck_assert_int_eq(epcqr_rf_check("RF17539007547034", NULL, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "RF reference RF17539007547034: wrong check digits");
        ck_assert_int_eq(epcqr_rf_check("RF18", NULL, NULL), -EINVAL);
        ck_assert_int_eq(epcqr_rf_check("XX18539007547034", NULL, NULL), -EINVAL);
        ck_assert_int_eq(epcqr_rf_check("RF181234567890123456789012", NULL, NULL), -EINVAL);
        ck_assert_int_eq(epcqr_rf_check("RF18 5390_0754", NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_kenmerk)
{
        static const char *const good[] = {
                "5000 0567 8901 2345", "5000056789012345", "12 2345 3462 2567",
                "12234534622576",       /* C = 10 maps to 1 */
                "5010.0021.6701.0010", "0001041146910100", /* C = 11 maps to 0 */
                "1234567",              /* 7 digits: no check digit */
        };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                ck_assert_msg(epcqr_kenmerk_check(good[i], NULL, NULL) == 0, "%s", good[i]);
        char compact[17];
        ck_assert_int_eq(epcqr_kenmerk_check("5000 0567 8901 2345", compact, NULL), 0);
        ck_assert_str_eq(compact, "5000056789012345");

        static const char *const bad[] = {
                "6000056789012345", "5000056789012354", "22234534622567",
                "12345678",             /* 8 digits */
                "123456789012345",      /* 15 digits */
                "12345678901234567",    /* 17 digits */
                "123456789",            /* 9 digits need length code 7 */
                "50000567890123A5", "", "123456",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(epcqr_kenmerk_check(bad[i], NULL, NULL) == -EINVAL, "%s", bad[i]);
        struct error err = { "" };
        ck_assert_int_eq(epcqr_kenmerk_check("6000056789012345", NULL, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "betalingskenmerk 6000056789012345: wrong check digit");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("epcqr");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_conformance_iban);
        tcase_add_test(tc, test_conformance_references);
        tcase_add_test(tc, test_conformance_payloads);
        tcase_add_test(tc, test_payload_exact);
        tcase_add_test(tc, test_amounts);
        tcase_add_test(tc, test_non_eur);
        tcase_add_test(tc, test_size_limit);
        tcase_add_test(tc, test_name);
        tcase_add_test(tc, test_fields_refused);
        tcase_add_test(tc, test_iban);
        tcase_add_test(tc, test_rf);
        tcase_add_test(tc, test_kenmerk);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
