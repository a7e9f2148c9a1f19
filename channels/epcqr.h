/* epcqr.h: the EPC069-12 SEPA credit-transfer QR payload ("GiroCode"),
 * and the checks behind it: IBAN (ISO 13616), RF creditor reference
 * (ISO 11649) and the Dutch betalingskenmerk.
 *
 * Pure: no I/O, no logging. Every function returns 0 or a negative errno
 * and, on failure, writes one message naming the field at fault into err
 * (which may be NULL). */
#pragma once

#include <errno.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define EPCQR_MAX_BYTES 331     /* whole payload: QR version 13 at level M */
#define EPCQR_NAME_MAX 70       /* characters (code points), not bytes */
#define EPCQR_TEXT_MAX 140      /* characters */
#define EPCQR_IBAN_MAX 34
#define EPCQR_RF_MAX 25         /* "RF" + 2 check digits + 1..21 alphanumerics */
#define EPCQR_AMOUNT_MIN 1LL               /* cents: EUR 0.01 */
#define EPCQR_AMOUNT_MAX 99999999999LL     /* cents: EUR 999999999.99 */

/* The return codes of epcqr_payload besides -EINVAL (a field is invalid). */
#define EPCQR_ERR_CURRENCY (-ENOTSUP)   /* not EUR: there is no EPC QR */
#define EPCQR_ERR_TOO_LONG (-EMSGSIZE)  /* the payload exceeds 331 bytes */

/* What goes into one payload. Every pointer is borrowed; NULL and "" both
 * mean "absent" for the optional fields. */
struct epcqr_input {
        const char *bic;        /* optional (version 002): 8 or 11 characters */
        const char *name;       /* creditor name, 1..70 characters, required */
        const char *iban;       /* required; spaces allowed, written compact */
        const char *currency;   /* ISO 4217; anything but "EUR" is refused */
        int64_t amount_cents;   /* EPCQR_AMOUNT_MIN..EPCQR_AMOUNT_MAX */
        const char *purpose;    /* optional ISO 20022 purpose code, 4 A-Z/0-9 */
        /* Remittance, one of (checked in this order):
         *   reference: an RF creditor reference (checked, written compact)
         *              or a Dutch betalingskenmerk (checked, digits only);
         *   text:      free text, 1..140 characters;
         *   invoice:   an invoice number from which an RF reference is
         *              made (epcqr_rf_make); when it has no alphanumerics or
         *              more than 21 of them, it is written as the text.
         * reference and text together are refused. */
        const char *reference;
        const char *text;
        const char *invoice;
};

/* Appends the payload for in to out (UTF-8, character set 1, version 002,
 * LF between elements, nothing after the last element given). Returns 0,
 * EPCQR_ERR_CURRENCY, EPCQR_ERR_TOO_LONG or -EINVAL; on failure out is
 * left as it was. A name over 70 characters is refused, not truncated: a
 * shortened beneficiary name can fail the payer bank's name check. */
int epcqr_payload(struct buf *out, const struct epcqr_input *in, struct error *err);

/* Checks an IBAN: letters+digits only after removing spaces, '-' and '.'
 * (case-insensitive), known SEPA country, its length and BBAN structure,
 * mod 97 == 1, and Belgium's national check digits. Returns 0 or -EINVAL
 * with the reason. Meant for the creditor IBAN at start-up. */
int epcqr_iban_check(const char *iban, struct error *err);

/* Like epcqr_iban_check, and writes the compact upper-case form into out. */
int epcqr_iban_compact(char out[EPCQR_IBAN_MAX + 1], const char *iban, struct error *err);

/* Checks an ISO 11649 reference ("RF18 5390 0754 7034", separators
 * " -.,/:" and lower case accepted). Returns 0 or -EINVAL. When compact is
 * not NULL the compact form is written there on success. */
int epcqr_rf_check(const char *ref, char compact[EPCQR_RF_MAX + 1], struct error *err);

/* Makes an RF reference from any string: its letters and digits
 * (upper-cased; everything else dropped) become the body, e.g.
 * "INV-2026-0042" -> "RF73INV20260042". Returns 0, or -EINVAL when the
 * body would be empty or longer than 21 characters. */
int epcqr_rf_make(char out[EPCQR_RF_MAX + 1], const char *source, struct error *err);

/* Checks a Dutch betalingskenmerk (7, 9..14 or 16 digits; spaces and dots
 * allowed): the length code and the weighted mod-11 check digit of the
 * Betaalvereniging rules. Returns 0 or -EINVAL. When compact is not NULL
 * the digits are written there on success. */
int epcqr_kenmerk_check(const char *ref, char compact[17], struct error *err);

/* Checks a creditor name for the payload (1..70 characters of valid
 * UTF-8, no control characters). Returns 0 or -EINVAL. For start-up. */
int epcqr_name_check(const char *name, struct error *err);
