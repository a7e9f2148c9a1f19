/* epcqr.c: the EPC069-12 payload of the payment QR code on letters, and
 * the checks that make sure what it carries can actually be paid: IBAN
 * (ISO 13616 mod 97 plus the registry's length and BBAN structure), RF
 * creditor reference (ISO 11649) and the Dutch betalingskenmerk.
 * Pure functions; see /work/shared/conformance/{epc-qr,references}.md. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "epcqr.h"

/* The SWIFT IBAN registry's length and BBAN format for the SEPA countries
 * (n digits, a upper-case letters, c alphanumerics). */
static const struct {
        char cc[3];
        unsigned char len;
        const char *bban;
} iban_countries[] = {
        { "AD", 24, "4n4n12c" },   { "AT", 20, "5n11n" },     { "BE", 16, "3n7n2n" },
        { "BG", 22, "4a4n2n8c" },  { "CH", 21, "5n12c" },     { "CY", 28, "3n5n16c" },
        { "CZ", 24, "4n6n10n" },   { "DE", 22, "8n10n" },     { "DK", 18, "4n9n1n" },
        { "EE", 20, "2n2n11n1n" }, { "ES", 24, "4n4n1n1n10n" }, { "FI", 18, "3n11n" },
        { "FR", 27, "5n5n11c2n" }, { "GB", 22, "4a6n8n" },    { "GI", 23, "4a15c" },
        { "GR", 27, "3n4n16c" },   { "HR", 21, "7n10n" },     { "HU", 28, "3n4n1n15n1n" },
        { "IE", 22, "4a6n8n" },    { "IS", 26, "4n2n6n10n" }, { "IT", 27, "1a5n5n12c" },
        { "LI", 21, "5n12c" },     { "LT", 20, "5n11n" },     { "LU", 20, "3n13c" },
        { "LV", 21, "4a13c" },     { "MC", 27, "5n5n11c2n" }, { "MT", 31, "4a5n18c" },
        { "NL", 18, "4a10n" },     { "NO", 15, "4n6n1n" },    { "PL", 28, "8n16n" },
        { "PT", 25, "4n4n11n2n" }, { "RO", 24, "4a16c" },     { "SE", 24, "3n16n1n" },
        { "SI", 19, "5n8n2n" },    { "SK", 24, "4n6n10n" },   { "SM", 27, "1a5n5n12c" },
        { "VA", 22, "3n15n" },
};

/* ISO 7064 MOD 97-10 over s as digits, letters counting as 10..35. */
static unsigned mod97(const char *s, size_t n)
{
        unsigned r = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= '0' && c <= '9')
                        r = (r * 10 + (c - '0')) % 97;
                else
                        r = (r * 100 + (c - 'A' + 10)) % 97;
        }
        return r;
}

/* Copies s into out (at most max characters) without the separators in
 * seps, upper-cased. Returns the length, or -1 when too long or when a
 * character is neither a separator nor alphanumeric. */
static int compact(char *out, size_t max, const char *s, const char *seps)
{
        size_t n = 0;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (strchr(seps, c))
                        continue;
                if (!isascii(c) || !isalnum(c) || n == max)
                        return -1;
                out[n++] = (char)toupper(c);
        }
        out[n] = '\0';
        return (int)n;
}

static bool bban_matches(const char *bban, const char *fmt)
{
        while (*fmt) {
                unsigned count = 0;
                while (*fmt >= '0' && *fmt <= '9')
                        count = count * 10 + (unsigned)(*fmt++ - '0');
                char cls = *fmt++;
                for (unsigned i = 0; i < count; i++, bban++) {
                        unsigned char c = (unsigned char)*bban;
                        if (cls == 'n' && !isdigit(c))
                                return false;
                        if (cls == 'a' && !isupper(c))
                                return false;
                        if (cls == 'c' && !isalnum(c))
                                return false;
                }
        }
        return *bban == '\0';
}

int epcqr_iban_compact(char out[EPCQR_IBAN_MAX + 1], const char *iban, struct error *err)
{
        char s[EPCQR_IBAN_MAX + 1], moved[EPCQR_IBAN_MAX + 1];

        if (!iban || !*iban)
                return error_set(err, -EINVAL, "IBAN: missing");
        int n = compact(s, EPCQR_IBAN_MAX, iban, " -.");
        if (n < 0)
                return error_set(err, -EINVAL, "IBAN %s: not letters and digits or longer "
                                 "than 34 characters", iban);
        if (n < 5 || !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) ||
            !isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]))
                return error_set(err, -EINVAL, "IBAN %s: must start with a country code and "
                                 "2 check digits", iban);
        size_t k;
        for (k = 0; k < sizeof(iban_countries) / sizeof(iban_countries[0]); k++)
                if (!memcmp(iban_countries[k].cc, s, 2))
                        break;
        if (k == sizeof(iban_countries) / sizeof(iban_countries[0]))
                return error_set(err, -EINVAL, "IBAN %s: country %.2s is not a SEPA country",
                                 iban, s);
        if (n != iban_countries[k].len)
                return error_set(err, -EINVAL, "IBAN %s: a %.2s IBAN has %u characters, not %d",
                                 iban, s, iban_countries[k].len, n);
        if (!bban_matches(s + 4, iban_countries[k].bban))
                return error_set(err, -EINVAL, "IBAN %s: the account part does not have the "
                                 "%.2s format", iban, s);
        memcpy(moved, s + 4, (size_t)n - 4);
        memcpy(moved + n - 4, s, 4);
        if (mod97(moved, (size_t)n) != 1)
                return error_set(err, -EINVAL, "IBAN %s: wrong check digits (mod 97)", iban);
        if (!memcmp(s, "BE", 2)) {
                /* Belgium: the last 2 digits are the first 10 of the BBAN
                 * mod 97, with 97 for 0. */
                unsigned r = mod97(s + 4, 10), want = (unsigned)((s[14] - '0') * 10 + s[15] - '0');
                if ((r ? r : 97) != want)
                        return error_set(err, -EINVAL, "IBAN %s: wrong Belgian national "
                                         "check digits", iban);
        }
        memcpy(out, s, (size_t)n + 1);
        return 0;
}

int epcqr_iban_check(const char *iban, struct error *err)
{
        char s[EPCQR_IBAN_MAX + 1];
        return epcqr_iban_compact(s, iban, err);
}

int epcqr_rf_check(const char *ref, char compact_out[EPCQR_RF_MAX + 1], struct error *err)
{
        char s[EPCQR_RF_MAX + 1], moved[EPCQR_RF_MAX + 1];

        if (!ref || !*ref)
                return error_set(err, -EINVAL, "RF reference: missing");
        int n = compact(s, EPCQR_RF_MAX, ref, " -.,/:");
        if (n < 0)
                return error_set(err, -EINVAL, "RF reference %s: not letters and digits or "
                                 "longer than 25 characters", ref);
        if (n < 5 || memcmp(s, "RF", 2) || !isdigit((unsigned char)s[2]) ||
            !isdigit((unsigned char)s[3]))
                return error_set(err, -EINVAL, "RF reference %s: must be RF, 2 check digits "
                                 "and 1 to 21 letters or digits", ref);
        memcpy(moved, s + 4, (size_t)n - 4);
        memcpy(moved + n - 4, s, 4);
        if (mod97(moved, (size_t)n) != 1)
                return error_set(err, -EINVAL, "RF reference %s: wrong check digits", ref);
        if (compact_out)
                memcpy(compact_out, s, (size_t)n + 1);
        return 0;
}

int epcqr_rf_make(char out[EPCQR_RF_MAX + 1], const char *source, struct error *err)
{
        char body[EPCQR_RF_MAX + 1];
        size_t n = 0;

        for (const char *p = source ? source : ""; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (!isascii(c) || !isalnum(c))
                        continue;
                if (n == 21)
                        return error_set(err, -EINVAL, "RF reference from %s: more than 21 "
                                         "letters and digits", source);
                body[n++] = (char)toupper(c);
        }
        if (!n)
                return error_set(err, -EINVAL, "RF reference from \"%s\": no letters or digits",
                                 source ? source : "");
        memcpy(body + n, "RF00", 4);
        unsigned check = 98 - mod97(body, n + 4);
        snprintf(out, EPCQR_RF_MAX + 1, "RF%02u%.*s", check, (int)n, body);
        return 0;
}

int epcqr_kenmerk_check(const char *ref, char compact_out[17], struct error *err)
{
        /* Weights from the rightmost digit leftwards. */
        static const int weights[] = { 2, 4, 8, 5, 10, 9, 7, 3, 6, 1 };
        char s[17];
        size_t n = 0;

        if (!ref || !*ref)
                return error_set(err, -EINVAL, "betalingskenmerk: missing");
        for (const char *p = ref; *p; p++) {
                if (*p == ' ' || *p == '.')
                        continue;
                if (!isdigit((unsigned char)*p) || n == 16)
                        return error_set(err, -EINVAL, "betalingskenmerk %s: must be 7 to 16 "
                                         "digits", ref);
                s[n++] = *p;
        }
        s[n] = '\0';
        if (n < 7 || n == 8 || n == 15)
                return error_set(err, -EINVAL, "betalingskenmerk %s: %zu digits (allowed: 7, "
                                 "9 to 14, 16)", ref, n);
        if (n >= 9 && n <= 14 && (size_t)((s[1] - '0' + 10 - 7) % 10) + 9 != n)
                return error_set(err, -EINVAL, "betalingskenmerk %s: length code %c does not "
                                 "match %zu digits", ref, s[1], n);
        if (n > 7) {
                int sum = 0;
                for (size_t i = 0; i + 1 < n; i++)
                        sum += (s[n - 1 - i] - '0') * weights[i % 10];
                int c = 11 - sum % 11;
                if (c == 10)
                        c = 1;
                else if (c == 11)
                        c = 0;
                if (s[0] - '0' != c)
                        return error_set(err, -EINVAL, "betalingskenmerk %s: wrong check digit",
                                         ref);
        }
        if (compact_out)
                memcpy(compact_out, s, n + 1);
        return 0;
}

/* Counts the code points of s if it is valid UTF-8 without control
 * characters (a CR or LF would split an element); -1 otherwise. */
static long utf8_chars(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        long count = 0;

        while (*p) {
                unsigned c = *p, need, cp;
                if (c < 0x80) {
                        if (c < 0x20 || c == 0x7f)
                                return -1;
                        p++;
                        count++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        need = 1, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        need = 2, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        need = 3, cp = c & 0x07;
                else
                        return -1;
                for (unsigned i = 1; i <= need; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return -1;
                        cp = (cp << 6) | (p[i] & 0x3f);
                }
                if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0x80 && cp < 0xa0))
                        return -1;
                p += need + 1;
                count++;
        }
        return count;
}

int epcqr_name_check(const char *name, struct error *err)
{
        long n = name ? utf8_chars(name) : 0;
        if (n < 0)
                return error_set(err, -EINVAL, "creditor name: not valid UTF-8 text on one line");
        if (n == 0)
                return error_set(err, -EINVAL, "creditor name: missing");
        if (n > EPCQR_NAME_MAX)
                return error_set(err, -EINVAL, "creditor name: %ld characters, at most %d fit "
                                 "an EPC QR code", n, EPCQR_NAME_MAX);
        return 0;
}

static bool present(const char *s)
{
        return s && *s;
}

static int check_bic(const char *bic, struct error *err)
{
        size_t n = strlen(bic);
        if (n != 8 && n != 11)
                return error_set(err, -EINVAL, "BIC %s: must have 8 or 11 characters", bic);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)bic[i];
                if (i < 6 ? !isupper(c) : !(isupper(c) || isdigit(c)))
                        return error_set(err, -EINVAL, "BIC %s: not a BIC (AAAABBCC[DDD])", bic);
        }
        return 0;
}

static int check_purpose(const char *purpose, struct error *err)
{
        if (strlen(purpose) != 4)
                return error_set(err, -EINVAL, "purpose %s: must be a 4-character code", purpose);
        for (int i = 0; i < 4; i++)
                if (!isupper((unsigned char)purpose[i]) && !isdigit((unsigned char)purpose[i]))
                        return error_set(err, -EINVAL, "purpose %s: must be A-Z or 0-9",
                                         purpose);
        return 0;
}

int epcqr_payload(struct buf *out, const struct epcqr_input *in, struct error *err)
{
        char iban[EPCQR_IBAN_MAX + 1], amount[24], ref[EPCQR_RF_MAX + 1] = "";
        const char *text = present(in->text) ? in->text : NULL;
        int r;

        if (!in->currency || strcmp(in->currency, "EUR"))
                return error_set(err, EPCQR_ERR_CURRENCY, "currency %s: an EPC QR code pays "
                                 "euros only", in->currency ? in->currency : "(none)");
        if (in->amount_cents < EPCQR_AMOUNT_MIN || in->amount_cents > EPCQR_AMOUNT_MAX)
                return error_set(err, -EINVAL, "amount %" PRId64 " cents: must be 0.01 to "
                                 "999999999.99", in->amount_cents);
        /* Integer cents to text: never through floating point. */
        snprintf(amount, sizeof(amount), "EUR%" PRId64 ".%02d", in->amount_cents / 100,
                 (int)(in->amount_cents % 100));
        if ((r = epcqr_name_check(in->name, err)) < 0)
                return r;
        if ((r = epcqr_iban_compact(iban, in->iban, err)) < 0)
                return r;
        if (present(in->bic) && (r = check_bic(in->bic, err)) < 0)
                return r;
        if (present(in->purpose) && (r = check_purpose(in->purpose, err)) < 0)
                return r;
        if (present(in->reference) && text)
                return error_set(err, -EINVAL, "remittance: a reference and a text cannot "
                                 "both be given");
        if (present(in->reference)) {
                const char *p = in->reference;
                while (*p == ' ')
                        p++;
                /* An RF reference, else a Dutch betalingskenmerk: both are
                 * "structured" remittance that Dutch banks accept. */
                if ((p[0] == 'R' || p[0] == 'r') && (p[1] == 'F' || p[1] == 'f'))
                        r = epcqr_rf_check(in->reference, ref, err);
                else
                        r = epcqr_kenmerk_check(in->reference, ref, err);
                if (r < 0)
                        return r;
        } else if (!text && present(in->invoice)) {
                if (epcqr_rf_make(ref, in->invoice, NULL) < 0)
                        text = in->invoice;
        }
        if (text) {
                long n = utf8_chars(text);
                if (n < 0)
                        return error_set(err, -EINVAL, "remittance text: not valid UTF-8 "
                                         "text on one line");
                if (n > EPCQR_TEXT_MAX)
                        return error_set(err, -EINVAL, "remittance text: %ld characters, at "
                                         "most %d", n, EPCQR_TEXT_MAX);
        }

        const char *elems[] = {
                "BCD", "002", "1", "SCT", present(in->bic) ? in->bic : "", in->name, iban,
                amount, present(in->purpose) ? in->purpose : "", ref, text ? text : "",
        };
        size_t last = sizeof(elems) / sizeof(elems[0]);
        while (!*elems[last - 1])
                last--;
        size_t total = last - 1;
        for (size_t i = 0; i < last; i++)
                total += strlen(elems[i]);
        if (total > EPCQR_MAX_BYTES)
                return error_set(err, EPCQR_ERR_TOO_LONG, "EPC QR payload: %zu bytes, at most %d",
                                 total, EPCQR_MAX_BYTES);
        for (size_t i = 0; i < last; i++) {
                if (i)
                        buf_putc(out, '\n');
                buf_puts(out, elems[i]);
        }
        return 0;
}
