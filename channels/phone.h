/* phone.h: phone numbers to E.164, and whether one can receive SMS; pure.
 *
 * The Netherlands is checked against libphonenumber's NL metadata (number
 * types and lengths); other countries of a small table (EU/EEA, GB, CH,
 * US/CA) get their calling code, international and trunk prefixes and a
 * length check; any other +CC is accepted on its E.164 shape alone. */
#pragma once

#include <stdbool.h>

#include "error.h"

/* "+" + at most 15 digits + NUL (E.164 allows 15 digits after the "+"). */
#define PHONE_E164_SIZE 17

enum phone_kind {
        PHONE_MOBILE,
        PHONE_FIXED,
        PHONE_OTHER,    /* toll-free, premium, pager, VoIP, UAN */
        PHONE_UNKNOWN,  /* country without metadata here: E.164 shape only */
};

/* Normalises in ("06-12345678", "+31 (0)6 1234 5678", "0031612345678") to
 * E.164 in out ("+31612345678") and says its kind in *kind (may be NULL).
 * default_country (ISO 3166-1 alpha-2, may be NULL) is used when in has no
 * +CC / international prefix. Returns 0, or -EINVAL with err saying what is
 * wrong without echoing the number ("phone: too short for NL"); out is then
 * "". Every pointer is borrowed. */
int phone_normalize(const char *in, const char *default_country, char out[PHONE_E164_SIZE],
                    enum phone_kind *kind, struct error *err);

/* Whether a number of this kind can receive SMS: mobile, and unknown (no
 * metadata to say otherwise). */
bool phone_sms_capable(enum phone_kind kind);

/* "mobile", "fixed line", "toll-free/premium/pager/VoIP", "unknown". */
const char *phone_kind_name(enum phone_kind kind);
