/* paylink.h: the pay link of a reminder (the URL in the SMS, the e-mail and
 * the letter's second QR code).
 *
 * Providers (config paylink.provider):
 * - mollie: a Mollie Payment Links API link (long-lived; a Payments API
 *   checkout expires in minutes), made with POST {api_url}/payment-links;
 *   the Mollie webhook is answered with paylink_get_payment();
 * - static: url_template with {token} replaced by a signed token that our
 *   own pay page checks with paylink_static_verify();
 * - none: no link (paylink_create says so with PERMFAIL).
 *
 * One struct paylink per worker thread (it keeps one keep-alive libcurl
 * handle); it is not locked. Nothing here logs: outcomes and error messages
 * go back to the caller, and they never hold the API key. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"
#include "config.h"
#include "error.h"

/* Mollie's absolute maximum of a description, in characters. */
#define PAYLINK_DESCRIPTION_MAX 255
/* Length of a static token: base64url of 44 bytes, no padding. */
#define PAYLINK_TOKEN_LEN 59

struct paylink;

/* Makes the pay link maker of one worker from cfg->paylink (copied: cfg
 * may be freed afterwards). On success *out owns it (paylink_free); on
 * failure returns a negative errno with err naming the config key and
 * leaves *out untouched. */
int paylink_new(struct paylink **out, const struct config *cfg, struct error *err);

/* Frees p, wiping its secrets first; NULL is a no-op. */
void paylink_free(struct paylink *p);

/* Whether a provider is configured (provider is not "none"). */
bool paylink_enabled(const struct paylink *p);

/* What a link is made for. Every pointer is borrowed for the call. */
struct paylink_request {
        const char *reminder_id;  /* "r-" + 16 lower-case hex digits */
        int64_t amount_cents;     /* total to pay in minor units, > 0 */
        const char *currency;     /* ISO 4217, upper case */
        const char *description;  /* e.g. "Acme Energie B.V. INV-1, INV-2"; may be NULL */
        int64_t now_ms;           /* Unix ms: the expiry counts from here */
};

struct paylink_result {
        enum channel_outcome outcome; /* SENT: link made; TEMPFAIL: retry; PERMFAIL */
        char id[64];                  /* Mollie's link id (pl_...), "" for static */
        char url[512];                /* what goes in the SMS / QR code */
        int64_t expires_ms;           /* Unix ms the link stops working */
        char reason[256];             /* one line; never the API key */
        int64_t retry_after_ms;       /* TEMPFAIL: the provider's Retry-After, or 0 */
};

/* Makes the pay link for req and says how it went in res (always filled).
 * The expiry is now + paylink.expires_days rounded up to the next 00:00
 * UTC, so that every attempt of one reminder on one day asks for the same
 * link. Mollie: the Idempotency-Key is the reminder id, the reminder id is
 * appended to webhookUrl (?reminder=) and to the description; 4xx is
 * PERMFAIL with Mollie's detail, except 408/409/429 and a reused
 * Idempotency-Key (400, Retry-After 1 h: Mollie keeps keys one hour), which
 * are TEMPFAIL like 5xx, timeouts and connection errors. */
void paylink_create(struct paylink *p, const struct paylink_request *req,
                    struct paylink_result *res);

/* A Mollie payment as the API describes it. */
struct paylink_payment {
        char id[64];            /* tr_... */
        char status[24];        /* open|pending|authorized|paid|canceled|expired|failed */
        int64_t amount_cents;   /* amount.value in minor units of currency */
        char currency[4];
        char link_id[64];       /* the payment link it came from (pl_...), or "" */
        char reminder_id[20];   /* carried back (metadata, webhookUrl, description), or "" */
        char paid_at[40];       /* paidAt as given, or "" */
        char method[24];        /* e.g. "ideal", or "" */
};

/* GET {api_url}/payments/{id} (the webhook's id=tr_...) into *out. Returns
 * 0; -ENOENT for 404 (unknown id); -EAGAIN for 408/409/429/5xx, timeouts
 * and connection errors; -EINVAL for an id that is not a Mollie id (no
 * request is made), another 4xx or a response that is not a payment;
 * -ENOTSUP when the provider is not mollie. err says why (never the key);
 * *out is filled only on success. */
int paylink_get_payment(struct paylink *p, const char *id, struct paylink_payment *out,
                        struct error *err);

/* Static provider: writes the token of (reminder id, amount, currency,
 * expiry) into out (n >= PAYLINK_TOKEN_LEN + 1): version 1, the 8 bytes
 * of the reminder id's hex, the amount (int64 big-endian), the currency,
 * the expiry in Unix ms (int64 big-endian), then HMAC-SHA256 with secret
 * over those 28 bytes truncated to 16 bytes (RFC 2104 section 5: keeps
 * the URL short enough for an SMS), all base64url without padding.
 * Returns 0, -EINVAL for bad input or an empty secret, -ENOBUFS when n is
 * too small. */
int paylink_static_token(const char *secret, const char *reminder_id, int64_t amount_cents,
                         const char *currency, int64_t expires_ms, char *out, size_t n);

struct paylink_token {
        char reminder_id[20];
        int64_t amount_cents;
        char currency[4];
        int64_t expires_ms;
};

/* Checks a token for the self-hosted pay page: canonical base64url of the
 * right length, version 1, the MAC (CRYPTO_memcmp), then the expiry
 * (refused once now_ms >= expires_ms). Returns 0 and fills *out; -EBADMSG
 * for a malformed or tampered token or a wrong secret; -EKEYEXPIRED for an
 * expired one; -EINVAL for an empty secret. *out is untouched on failure. */
int paylink_static_verify(const char *secret, const char *token, int64_t now_ms,
                          struct paylink_token *out, struct error *err);

/* The pure parts, exported for the tests. */

/* Writes Mollie's amount.value of minor units in currency: EUR 5 -> "0.05",
 * JPY 1234 -> "1234". Returns 0; -EINVAL for a negative amount or an unknown
 * currency; -ENOTSUP for a currency whose minor digits are neither 0 nor 2
 * (KWD 3: Mollie offers none of those); -ENOBUFS when n is too small. */
int paylink_amount_value(char *out, size_t n, int64_t minor_units, const char *currency);

/* Parses Mollie's amount.value ("1234567.89", at most the currency's minor
 * digits after the dot) into minor units. Returns 0 or -EINVAL. */
int paylink_amount_parse(const char *value, const char *currency, int64_t *minor_units);

/* Writes the description sent to Mollie: description (control characters
 * as spaces, invalid UTF-8 as '?') cut at a character boundary so that with
 * " " and reminder_id appended it holds at most PAYLINK_DESCRIPTION_MAX
 * characters; size >= 4 * PAYLINK_DESCRIPTION_MAX + 1 always suffices. */
void paylink_description(char *out, size_t size, const char *description,
                         const char *reminder_id);

/* now_ms + days, rounded up to the next 00:00 UTC (unchanged when it is
 * 00:00 already). */
int64_t paylink_expiry_ms(int64_t now_ms, int days);

/* Whether s is "r-" + 16 lower-case hex digits. */
bool paylink_reminder_id_valid(const char *s);
