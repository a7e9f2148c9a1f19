/* curlx.h: what the HTTP clients (sms.c, print.c, paylink.c) share around
 * libcurl. */
#pragma once

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "channel.h"

/* curl_global_init, once per process, from any thread (libcurl's own is
 * not thread-safe before 7.84). Never cleaned up: other threads' handles
 * may still live. Returns its result. */
CURLcode curlx_global_init(void);

/* Wipes a secret string and frees it; NULL is a no-op. */
void curlx_wipe_free(char *s);

/* A copy of s, or NULL when s is NULL or empty. */
char *curlx_dup_or_null(const char *s);

/* A Retry-After value, seconds or an HTTP date (IMF-fixdate, RFC 850,
 * asctime: curl_getdate reads all three), as milliseconds from now, at
 * most max_s seconds; 0 when v is empty, unreadable or past. */
int64_t curlx_retry_after_ms(const char *v, long max_s);

/* What came back for one request: the start of the body (ids and error
 * texts are short) and the Retry-After header. buf_reset body and clear
 * retry_after before each request. */
#define CURLX_ANSWER_MAX (64 * 1024)
struct curlx_answer {
        struct buf body;        /* up to CURLX_ANSWER_MAX bytes */
        char retry_after[64];   /* the last response's Retry-After, or "" */
};

/* CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION, with WRITEDATA and
 * HEADERDATA a struct curlx_answer. */
size_t curlx_on_body(char *data, size_t size, size_t n, void *answer);
size_t curlx_on_header(char *data, size_t size, size_t n, void *answer);

/* s cut to size (with its NUL) at a UTF-8 character boundary, into dst. */
void curlx_copy_utf8(char *dst, size_t size, const char *s);

/* Appends ": code N: text" of a provider's JSON error body to out (the
 * parts it finds). */
void curlx_error_text(const json_t *j, struct buf *out);

/* The provider's id of a message (member key, a string or an integer)
 * into out, printable ASCII only ("" when absent). */
void curlx_provider_id(const json_t *j, const char *key, char *out, size_t size);
/* The same, read from the answer's text without a jansson tree (jsonx):
 * "" also when the text is not one JSON object. For an answer on the hot
 * path, of which the id is all that is wanted. */
void curlx_provider_id_text(const char *body, size_t len, const char *key, char *out,
                            size_t size);

/* An HTTP status that says our side is misconfigured or slow (401, 403,
 * 404, 407, 408), not that the recipient is bad: a temporary failure. */
bool curlx_config_status(long status);

/* What one finished request of a provider's REST API means: a transport
 * error (cc) is temporary; 2xx sent, with the provider's id (member
 * id_key of the answer) in res->provider_id; 429 and 5xx temporary with
 * the Retry-After (capped at retry_max_s) in res->retry_after_ms;
 * curlx_config_status temporary ("check <section> url/token"); other 4xx
 * permanent; anything else temporary. The reason, not yet scrubbed and
 * without the channel's prefix, is appended to why ("accepted (HTTP 201)",
 * "HTTP 400: code 2: ...", "timed out: ..."). */
enum channel_outcome curlx_classify(CURL *h, CURLcode cc, const char *errbuf,
                                    const struct curlx_answer *a, const char *id_key,
                                    long retry_max_s, const char *section,
                                    struct send_result *res, struct buf *why);
