/* ui.h: the credit team's dashboard, served by dunningd's HTTP server
 * when ui.enabled is true (off otherwise: the paths answer 404).
 *
 *   /ui/                 overview: reminders and payments per day (SVG),
 *                        conversion and uplift per channel and step,
 *                        money collected, queue depth, scheduled, dead
 *   /ui/campaigns        the same per campaign, and its progress
 *   /ui/customers?q=X    search by customer id or invoice number
 *   /ui/customers/{id}   timeline, invoices, segment, what next and why
 *   /ui/dead             dead letters with retry and drop
 *   /ui/login            the token form; a session cookie in exchange
 *   /api/v1/stats        `dunningctl stats --json` (the same code) + daily
 *   /api/v1/queue        queue depth, scheduled, dead, throughput
 *   /api/v1/campaigns    per campaign stats and progress
 *   /api/v1/customers/{id}, /api/v1/customers?invoice=N
 *   /api/v1/dead         GET the list; POST /api/v1/dead/{id}/retry|drop
 *
 * Every request but the login form and the two static files needs
 * "Authorization: Bearer <token>" (ui.token_file) or the session cookie
 * the login form hands out (an HMAC of its expiry under the token); both
 * compared in constant time. A POST authenticated by the cookie needs its
 * CSRF token (X-CSRF-Token header or csrf form field). Responses carry a
 * strict Content-Security-Policy (scripts only from /ui/static/),
 * X-Frame-Options DENY and Cache-Control no-store. E-mail addresses and
 * phone numbers are masked unless the viewer reveals one, which is
 * logged. Handlers run on the HTTP thread with a Redis connection of
 * their own. */
#pragma once

#include "worker.h"

struct ui;
struct http;

/* sh is borrowed and must outlive the ui. */
void ui_new(struct ui **out, struct worker_shared *sh);
void ui_free(struct ui *u);

/* Adds the /ui and /api/v1 routes when cfg->ui.enabled. */
void ui_routes(struct ui *u, struct http *h, const struct config *cfg);

/* The session cookie value for token valid until exp_s (Unix seconds),
 * and whether value is one that is still valid at now_s; exposed for
 * the tests. */
void ui_session_make(const char *token, long long exp_s, char out[96]);
bool ui_session_valid(const char *token, const char *value, long long now_s);
