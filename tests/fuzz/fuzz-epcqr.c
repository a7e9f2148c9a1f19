/* fuzz-epcqr.c: the EPC069-12 payload builder (epcqr_payload) and the
 * IBAN, RF and betalingskenmerk checks behind it.
 *
 * Input: NUL-separated fields: name, IBAN, amount in cents, BIC, purpose,
 * reference, text, invoice, currency (default "EUR").
 *
 * Beyond "no crash": whenever the builder accepts its input, the payload
 * is what a bank app can read: at most 331 bytes; the lines BCD, 002, 1,
 * SCT, BIC, name, IBAN, EUR<amount>, purpose, reference, text joined by
 * LF, nothing after the last one given and never both a reference and a
 * text; the IBAN and reference pass their own checks again; the amount
 * reads back as the cents given; name <= 70 and text <= 140 characters
 * of valid UTF-8 without control characters. On failure the output
 * buffer is left as it was. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "epcqr.h"
#include "fuzz.h"
#include "job.h"

static long chars(const char *s, size_t n)
{
        long c = 0;
        for (size_t i = 0; i < n; i++)
                c += ((unsigned char)s[i] & 0xC0) != 0x80;
        return c;
}

static void check_payload(const char *p, size_t len, const struct epcqr_input *in)
{
        const char *lines[12];
        size_t lens[12], n = 0;

        FUZZ_ASSERT(len <= EPCQR_MAX_BYTES, "%zu bytes", len);
        FUZZ_ASSERT(job_utf8_valid(p, len), "not UTF-8");
        for (const char *s = p;;) {
                FUZZ_ASSERT(n < 11, "more than 11 lines");
                const char *lf = memchr(s, '\n', len - (size_t)(s - p));
                lines[n] = s;
                lens[n++] = lf ? (size_t)(lf - s) : len - (size_t)(s - p);
                if (!lf)
                        break;
                s = lf + 1;
        }
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < lens[i]; j++)
                        FUZZ_ASSERT((unsigned char)lines[i][j] >= 0x20 && lines[i][j] != 0x7f,
                                    "control character on line %zu", i + 1);
        FUZZ_ASSERT(n >= 8 && lens[n - 1] > 0, "%zu lines, last one empty", n);
        static const char *const head[] = { "BCD", "002", "1", "SCT" };
        for (size_t i = 0; i < 4; i++)
                FUZZ_ASSERT(lens[i] == strlen(head[i]) && !memcmp(lines[i], head[i], lens[i]),
                            "line %zu", i + 1);
        FUZZ_ASSERT(lens[4] == 0 || lens[4] == 8 || lens[4] == 11, "BIC of %zu", lens[4]);
        FUZZ_ASSERT(lens[5] >= 1 && chars(lines[5], lens[5]) <= EPCQR_NAME_MAX &&
                    lens[5] == strlen(in->name) && !memcmp(lines[5], in->name, lens[5]),
                    "name");

        char field[400];
        snprintf(field, sizeof(field), "%.*s", (int)lens[6], lines[6]);
        FUZZ_ASSERT(epcqr_iban_check(field, NULL) == 0 && !strpbrk(field, " -."), "IBAN %s",
                    field);
        char amount[32];
        snprintf(amount, sizeof(amount), "EUR%" PRId64 ".%02d", in->amount_cents / 100,
                 (int)(in->amount_cents % 100));
        FUZZ_ASSERT(lens[7] == strlen(amount) && !memcmp(lines[7], amount, lens[7]),
                    "amount %.*s for %" PRId64 " cents", (int)lens[7], lines[7], in->amount_cents);
        if (n > 8)
                FUZZ_ASSERT(lens[8] == 0 || lens[8] == 4, "purpose");
        size_t ref = n > 9 ? lens[9] : 0, text = n > 10 ? lens[10] : 0;
        FUZZ_ASSERT(!(ref && text), "a reference and a text");
        if (ref) {
                snprintf(field, sizeof(field), "%.*s", (int)ref, lines[9]);
                FUZZ_ASSERT(epcqr_rf_check(field, NULL, NULL) == 0 ||
                                    epcqr_kenmerk_check(field, NULL, NULL) == 0,
                            "reference %s", field);
        }
        if (text)
                FUZZ_ASSERT(chars(lines[10], text) <= EPCQR_TEXT_MAX, "text of %ld characters",
                            chars(lines[10], text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct fuzz_fields ff;
        struct error err = { "" };
        struct buf out = BUF_INIT;

        fuzz_split(&ff, data, size, 9);
        struct epcqr_input in = {
                .name = ff.f[0],
                .iban = ff.n > 1 ? ff.f[1] : "NL91 ABNA 0417 1643 00",
                .amount_cents = ff.n > 2 ? strtoll(ff.f[2], NULL, 10) : 12345,
                .bic = ff.n > 3 ? ff.f[3] : NULL,
                .purpose = ff.n > 4 ? ff.f[4] : NULL,
                .reference = ff.n > 5 ? ff.f[5] : NULL,
                .text = ff.n > 6 ? ff.f[6] : NULL,
                .invoice = ff.n > 7 ? ff.f[7] : NULL,
                .currency = ff.n > 8 ? ff.f[8] : "EUR",
        };
        buf_puts(&out, "kept");
        int r = epcqr_payload(&out, &in, &err);
        if (r == 0) {
                check_payload(out.data + 4, out.len - 4, &in);
        } else {
                FUZZ_ASSERT(r == -EINVAL || r == EPCQR_ERR_CURRENCY || r == EPCQR_ERR_TOO_LONG,
                            "r %d", r);
                FUZZ_ASSERT(out.len == 4 && !strcmp(out.data, "kept") && err.msg[0],
                            "failure changed the output");
        }

        /* The checks on their own, as config and the importer call them. */
        char compact[EPCQR_IBAN_MAX + 1], rf[EPCQR_RF_MAX + 1], kenmerk[17];
        if (epcqr_iban_compact(compact, ff.f[0], &err) == 0)
                FUZZ_ASSERT(epcqr_iban_check(compact, NULL) == 0, "compact IBAN %s", compact);
        if (epcqr_rf_check(ff.f[0], rf, &err) == 0)
                FUZZ_ASSERT(epcqr_rf_check(rf, NULL, NULL) == 0, "compact RF %s", rf);
        if (epcqr_rf_make(rf, ff.f[0], &err) == 0)
                FUZZ_ASSERT(epcqr_rf_check(rf, NULL, NULL) == 0, "made RF %s", rf);
        if (epcqr_kenmerk_check(ff.f[0], kenmerk, &err) == 0)
                FUZZ_ASSERT(epcqr_kenmerk_check(kenmerk, NULL, NULL) == 0, "kenmerk %s", kenmerk);
        buf_free(&out);
        fuzz_fields_free(&ff);
        return 0;
}
