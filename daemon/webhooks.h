/* webhooks.h: what payment and SMS providers tell dunningd over HTTP.
 *
 * POST /webhooks/mollie (when paylink.provider is mollie): the body is
 * only `id=tr_...` and unsigned, by Mollie's design, so nothing in it is
 * believed: the payment is fetched from Mollie's API and only what the API
 * says counts. paid -> an entry in <prefix>:payments (for the tracking of
 * who paid after which reminder); expired, failed, canceled -> an event.
 * Each (payment, status) is recorded once, however often Mollie calls.
 *
 * GET|POST /webhooks/sms/<provider> (when channels.sms.transport is http):
 * delivery reports. The message is looked up by the provider's id (and
 * MessageBird's and the generic profile's reference must name the same
 * reminder; Twilio's X-Twilio-Signature is checked with the auth token).
 * delivered -> event; undelivered -> event, and the reminder's job goes
 * back on the queue with SMS skipped, so the policy's next channel takes
 * it. Reports for messages we do not know are answered 200 and logged.
 *
 * Handlers run on the HTTP server's one thread, with a Redis connection
 * and a pay link client of their own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "worker.h"

struct webhooks;
struct http;

/* sh is borrowed and must outlive the webhooks. */
void webhooks_new(struct webhooks **out, struct worker_shared *sh);
void webhooks_free(struct webhooks *w);

/* Adds the routes cfg's providers need (none when none is configured). */
void webhooks_routes(struct webhooks *w, struct http *h, const struct config *cfg);

/* The pure parts, exported for the tests. */

/* The value of name in an application/x-www-form-urlencoded body, decoded
 * into out (size n). Returns its length, or -1 when absent, malformed or
 * too long. */
int webhooks_form_get(const char *body, const char *name, char *out, size_t n);

/* Twilio's request signature: base64(HMAC-SHA1(auth token, url + each form
 * parameter's name and value, sorted by name)), compared in constant time. */
bool webhooks_twilio_signature_ok(const char *token, const char *url, const char *body,
                                  const char *signature);

enum webhooks_dlr {
        WEBHOOKS_DLR_IGNORE,       /* an interim status (sent, buffered, queued) */
        WEBHOOKS_DLR_DELIVERED,
        WEBHOOKS_DLR_UNDELIVERED,
};
/* A provider's delivery status in our terms. */
enum webhooks_dlr webhooks_dlr_status(const char *provider, const char *status);
