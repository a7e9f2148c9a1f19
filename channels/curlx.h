/* curlx.h: what the HTTP clients (sms.c, paylink.c) share around libcurl. */
#pragma once

#include <curl/curl.h>

/* curl_global_init, once per process, from any thread (libcurl's own is
 * not thread-safe before 7.84). Never cleaned up: other threads' handles
 * may still live. Returns its result. */
CURLcode curlx_global_init(void);

/* Wipes a secret string and frees it; NULL is a no-op. */
void curlx_wipe_free(char *s);

/* A copy of s, or NULL when s is NULL or empty. */
char *curlx_dup_or_null(const char *s);
