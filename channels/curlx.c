/* curlx.c: libcurl set-up shared by the HTTP clients. */
#include "curlx.h"

#include <jansson.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "jsonx.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void init(void)
{
        init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

CURLcode curlx_global_init(void)
{
        pthread_once(&once, init);
        return init_rc;
}

void curlx_wipe_free(char *s)
{
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

char *curlx_dup_or_null(const char *s)
{
        return s && *s ? xstrdup(s) : NULL;
}

int64_t curlx_retry_after_ms(const char *v, long max_s)
{
        if (!v || !*v)
                return 0;
        if (strspn(v, "0123456789") == strlen(v)) {
                if (strlen(v) > 9)
                        return (int64_t)max_s * 1000;
                long sec = strtol(v, NULL, 10);
                return (int64_t)(sec < max_s ? sec : max_s) * 1000;
        }
        time_t when = curl_getdate(v, NULL), now = time(NULL);
        if (when == (time_t)-1 || when <= now)
                return 0;
        int64_t d = (int64_t)(when - now);
        return (d < max_s ? d : max_s) * 1000;
}

size_t curlx_on_body(char *data, size_t size, size_t n, void *answer)
{
        struct curlx_answer *a = answer;
        size_t len = size * n;

        /* Keep reading past the cap (the connection stays usable), keep
         * only the start. */
        if (a->body.len < CURLX_ANSWER_MAX)
                buf_append(&a->body, data,
                           len < CURLX_ANSWER_MAX - a->body.len ? len
                                                                : CURLX_ANSWER_MAX - a->body.len);
        return len;
}

size_t curlx_on_header(char *data, size_t size, size_t n, void *answer)
{
        struct curlx_answer *s = answer;
        size_t len = size * n;
        static const char name[] = "retry-after:";

        /* A new status line (after a 100 Continue, say) starts a new
         * header block. */
        if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
                s->retry_after[0] = '\0';
        else if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
                const char *v = data + sizeof(name) - 1, *end = data + len;
                while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                while (end > v && isspace((unsigned char)end[-1]))
                        end--;
                size_t vl = (size_t)(end - v);
                if (vl >= sizeof(s->retry_after))
                        vl = sizeof(s->retry_after) - 1;
                memcpy(s->retry_after, v, vl);
                s->retry_after[vl] = '\0';
        }
        return len;
}

void curlx_copy_utf8(char *dst, size_t size, const char *s)
{
        size_t n = strlen(s);

        if (n >= size) {
                n = size - 1;
                while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                        n--;
        }
        memcpy(dst, s, n);
        dst[n] = '\0';
}

/* The provider's error text (and code) from a JSON error body: the first
 * of errors[0] (a string, or its description/message and code), message
 * (and code), error (a string or its message), detail. */
void curlx_error_text(const json_t *j, struct buf *out)
{
        const json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        const json_t *err = json_object_get(j, "error");
        const json_t *code = NULL;
        const char *msg = NULL;

        if (json_is_string(e0)) {
                msg = json_string_value(e0);
        } else if (e0) {
                msg = json_string_value(json_object_get(e0, "description"));
                if (!msg)
                        msg = json_string_value(json_object_get(e0, "message"));
                code = json_object_get(e0, "code");
        }
        if (!msg && (msg = json_string_value(json_object_get(j, "message"))))
                code = json_object_get(j, "code");
        if (!msg && err)
                msg = json_is_string(err) ? json_string_value(err)
                                          : json_string_value(json_object_get(err, "message"));
        if (!msg)
                msg = json_string_value(json_object_get(j, "detail"));
        if (json_is_integer(code))
                buf_printf(out, ": code %lld", (long long)json_integer_value(code));
        if (msg)
                buf_printf(out, ": %s", msg);
}

/* tmp (cut to 127 bytes, as both readers keep it) into out, printable
 * ASCII only: an id goes into Redis fields and log lines. */
static void id_out(char tmp[128], char *out, size_t size)
{
        for (size_t i = 0; tmp[i]; i++)
                if ((unsigned char)tmp[i] < 0x21 || (unsigned char)tmp[i] > 0x7e)
                        tmp[i] = '_';
        snprintf(out, size, "%s", tmp);
}

void curlx_provider_id(const json_t *j, const char *key, char *out, size_t size)
{
        const json_t *v = json_object_get(j, key);
        char tmp[128] = "";

        if (json_is_string(v))
                snprintf(tmp, sizeof(tmp), "%s", json_string_value(v));
        else if (json_is_integer(v))
                snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
        id_out(tmp, out, size);
}

void curlx_provider_id_text(const char *body, size_t len, const char *key, char *out,
                            size_t size)
{
        char tmp[128];

        jsonx_member_scalar(body, len, key, tmp, sizeof(tmp));
        id_out(tmp, out, size);
}

bool curlx_config_status(long status)
{
        return status == 401 || status == 403 || status == 404 || status == 407 ||
               status == 408;
}

enum channel_outcome curlx_classify(CURL *h, CURLcode cc, const char *errbuf,
                                    const struct curlx_answer *a, const char *id_key,
                                    long retry_max_s, const char *section,
                                    struct send_result *res, struct buf *why)
{
        long status = 0;

        if (cc != CURLE_OK) {
                const char *what = cc == CURLE_OPERATION_TIMEDOUT ? "timed out"
                                   : cc == CURLE_COULDNT_CONNECT  ? "cannot connect"
                                                                  : "request failed";
                buf_printf(why, "%s: %s", what, errbuf[0] ? errbuf : curl_easy_strerror(cc));
                return CHANNEL_TEMPFAIL;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status <= 299) {
                /* Of an acceptance only the id is wanted: read it from the
                 * text rather than build a tree of the whole answer (a
                 * MessageBird answer has some forty values). */
                curlx_provider_id_text(buf_str(&a->body), a->body.len, id_key, res->provider_id,
                                       sizeof(res->provider_id));
                buf_printf(why, "accepted (HTTP %ld)", status);
                return CHANNEL_SENT;
        }
        struct buf text = BUF_INIT;
        json_t *j = json_loadb(buf_str(&a->body), a->body.len, 0, NULL);
        if (j)
                curlx_error_text(j, &text);
        json_decref(j);
        enum channel_outcome o = CHANNEL_TEMPFAIL;
        if (status == 429 || (status >= 500 && status <= 599)) {
                res->retry_after_ms = curlx_retry_after_ms(a->retry_after, retry_max_s);
                buf_printf(why, "HTTP %ld%s", status, buf_str(&text));
        } else if (curlx_config_status(status)) {
                buf_printf(why, "HTTP %ld (check %s url/token)%s", status, section,
                           buf_str(&text));
        } else if (status >= 400 && status <= 499) {
                o = CHANNEL_PERMFAIL;
                buf_printf(why, "HTTP %ld%s", status, buf_str(&text));
        } else {
                buf_printf(why, "unexpected HTTP status %ld", status);
        }
        buf_free(&text);
        return o;
}
