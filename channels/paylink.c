/* paylink.c: pay links (paylink.h): Mollie's Payment Links API through
 * libcurl, and a signed static URL for a self-hosted pay page.
 *
 * What Mollie's own reference (api-documentation, source/reference/v2/
 * payment-links-api/create-payment-link.rst and get-payment-link.rst)
 * gives a payment link, and so what we send:
 * - amount {currency, value}: value a string with the currency's decimals
 *   (payments/multicurrency.rst: 2, JPY and ISK 0; Mollie takes no
 *   3-decimal currency, so those are refused here);
 * - description: "also used as the payment description", so the payment
 *   made through the link shows it; it ends with the reminder id;
 * - redirectUrl, webhookUrl, expiresAt (ISO 8601);
 * - nothing else: the Payment Links API has neither `method`/`methods`
 *   nor `metadata` (those are Payments API parameters). A link therefore
 *   offers every method enabled on the website profile: restricting it to
 *   iDEAL is done in Mollie's dashboard, not per request. The reminder id
 *   comes back to us through webhookUrl (?reminder=<id>: the webhook
 *   receiver reads it from its own request) and the description (the
 *   payment's description, which paylink_get_payment reads back).
 * The response is a payment-link object: id (pl_...) and
 * _links.paymentLink.href, the URL the customer opens.
 *
 * Idempotency (overview/api-idempotency.rst): every POST carries
 * Idempotency-Key: <reminder id>. Mollie answers a repeat of the same
 * request within one hour with the first response, so a retry after a
 * crash between making the link and storing it gets the same link. A
 * repeat with other parameters is answered 400: the expiry is rounded up
 * to a whole UTC day so that attempts on one day send the same body, and
 * the rare 400 across midnight is a TEMPFAIL retried once Mollie forgot
 * the key (one hour).
 *
 * Errors (overview/handling-errors.rst) are problem JSON with status,
 * title, detail and sometimes field; detail becomes the reason. The API
 * key is only ever in the Authorization header: it is wiped from our
 * memory after each request and scrubbed from any text we pass on. */
#include "paylink.h"

#include <curl/curl.h>

#include "curlx.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "job.h"
#include "l10n.h"

#define DAY_MS INT64_C(86400000)
/* Mollie keeps an Idempotency-Key this long. */
#define IDEMPOTENCY_KEY_MS INT64_C(3600000)
/* The largest response body we read. */
#define RESPONSE_MAX (1024 * 1024)

/* Static token layout (paylink.h). */
#define TOKEN_VERSION 1
#define TOKEN_PAYLOAD 28
#define TOKEN_TAG 16
#define TOKEN_RAW (TOKEN_PAYLOAD + TOKEN_TAG)

enum provider {
        PROVIDER_NONE,
        PROVIDER_MOLLIE,
        PROVIDER_STATIC,
};

struct paylink {
        enum provider provider;
        int expires_days;
        long timeout_ms;
        /* mollie */
        char *api_url;       /* without a trailing '/' */
        char *api_key;       /* wiped in paylink_free() */
        char *redirect_url;  /* or NULL */
        char *webhook_url;   /* or NULL */
        CURL *curl;          /* one handle, so its connection is kept alive */
        /* static */
        char *url_template;
        char *secret;        /* wiped in paylink_free() */
};

/* One HTTP exchange with the API. */
struct reply {
        CURLcode code;       /* CURLE_OK when an HTTP response came */
        long status;
        struct buf body;
        bool too_large;
        int64_t retry_after_ms;
        char error[CURL_ERROR_SIZE];
};

/* ---- UTF-8 and one-line text ---- */

/* The length of the valid UTF-8 sequence at s (avail bytes left), or 0
 * when it is not one (overlong, surrogate, > U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
        unsigned c = s[0];
        size_t n;
        unsigned min;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, min = 0x10000;
        else
                return 0;
        if (avail < n)
                return 0;
        unsigned cp = c & (0x7f >> n);
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* Whether the sequence of n bytes at s is a control character (C0, DEL,
 * C1): never part of a one-line text. */
static bool is_control(const unsigned char *s, size_t n)
{
        return (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)) ||
               (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

/* Copies s into out[size] as one line of valid UTF-8: control characters
 * become spaces, invalid bytes '?', every occurrence of secret (when given)
 * "[api key]", and the text is cut at a character boundary to fit. */
static void one_line(char *out, size_t size, const char *s, const char *secret)
{
        struct buf b = BUF_INIT;
        size_t slen = secret ? strlen(secret) : 0;

        for (const char *p = s; *p;) {
                if (slen && !strncmp(p, secret, slen)) {
                        buf_puts(&b, "[api key]");
                        p += slen;
                        continue;
                }
                const unsigned char *u = (const unsigned char *)p;
                size_t n = utf8_seq(u, strlen(p));
                if (n == 0) {
                        buf_putc(&b, '?');
                        n = 1;
                } else if (is_control(u, n)) {
                        buf_putc(&b, ' ');
                } else {
                        buf_append(&b, p, n);
                }
                p += n;
        }
        /* Cut: every sequence in b is valid now, so back off over
         * continuation bytes. */
        size_t len = b.len;
        if (len >= size) {
                len = size - 1;
                while (len > 0 && ((unsigned char)b.data[len] & 0xc0) == 0x80)
                        len--;
        }
        memcpy(out, buf_str(&b), len);
        out[len] = '\0';
        buf_free(&b);
}

static void result_set(struct paylink_result *res, enum channel_outcome o, const char *secret,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void result_set(struct paylink_result *res, enum channel_outcome o, const char *secret,
                       const char *fmt, ...)
{
        struct buf b = BUF_INIT;
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        res->outcome = o;
        one_line(res->reason, sizeof(res->reason), buf_str(&b), secret);
        buf_free(&b);
}

/* ---- pure helpers ---- */

bool paylink_reminder_id_valid(const char *s)
{
        if (!s || strlen(s) != 18 || s[0] != 'r' || s[1] != '-')
                return false;
        for (int i = 2; i < 18; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static bool currency_syntax(const char *c)
{
        return c && strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' &&
               c[1] <= 'Z' && c[2] >= 'A' && c[2] <= 'Z';
}

int paylink_amount_value(char *out, size_t n, int64_t minor_units, const char *currency)
{
        int digits, w;

        if (minor_units < 0)
                return -EINVAL;
        digits = l10n_minor_digits(currency);
        if (digits < 0)
                return -EINVAL;
        if (digits == 0)
                w = snprintf(out, n, "%lld", (long long)minor_units);
        else if (digits == 2)
                w = snprintf(out, n, "%lld.%02lld", (long long)(minor_units / 100),
                             (long long)(minor_units % 100));
        else
                return -ENOTSUP;
        if (w < 0 || (size_t)w >= n)
                return -ENOBUFS;
        return 0;
}

int paylink_amount_parse(const char *value, const char *currency, int64_t *minor_units)
{
        int digits = l10n_minor_digits(currency);
        int64_t v = 0;
        int n = 0, frac = 0;
        const char *p = value;

        if (digits < 0 || !p)
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++, n++) {
                if (n >= 15)
                        return -EINVAL;
                v = v * 10 + (*p - '0');
        }
        if (n == 0)
                return -EINVAL;
        if (*p == '.') {
                for (p++; *p >= '0' && *p <= '9'; p++, frac++) {
                        if (frac >= digits)
                                return -EINVAL;
                        v = v * 10 + (*p - '0');
                }
                if (frac == 0)
                        return -EINVAL;
        }
        if (*p)
                return -EINVAL;
        for (; frac < digits; frac++)
                v *= 10;
        *minor_units = v;
        return 0;
}

void paylink_description(char *out, size_t size, const char *description,
                         const char *reminder_id)
{
        struct buf b = BUF_INIT;
        size_t tail = reminder_id && *reminder_id ? strlen(reminder_id) + 1 : 0;
        size_t budget = PAYLINK_DESCRIPTION_MAX > tail ? PAYLINK_DESCRIPTION_MAX - tail : 0;
        size_t chars = 0;

        for (const char *p = description ? description : ""; *p && chars < budget; chars++) {
                const unsigned char *u = (const unsigned char *)p;
                size_t n = utf8_seq(u, strlen(p));
                if (n == 0) {
                        buf_putc(&b, '?');
                        n = 1;
                } else if (is_control(u, n)) {
                        buf_putc(&b, ' ');
                } else {
                        buf_append(&b, p, n);
                }
                p += n;
        }
        while (b.len && b.data[b.len - 1] == ' ')
                b.data[--b.len] = '\0';
        if (tail) {
                if (b.len)
                        buf_putc(&b, ' ');
                buf_puts(&b, reminder_id);
        }
        one_line(out, size, buf_str(&b), NULL);
        buf_free(&b);
}

int64_t paylink_expiry_ms(int64_t now_ms, int days)
{
        int64_t t = now_ms + (int64_t)days * DAY_MS;
        int64_t r = t % DAY_MS;

        if (r < 0)
                r += DAY_MS;
        return r ? t - r + DAY_MS : t;
}

/* ISO 8601 in UTC with an explicit offset, as in Mollie's examples:
 * "2026-12-08T00:00:00+00:00". */
static void iso8601(int64_t ms, char out[40])
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || !strftime(out, 40, "%Y-%m-%dT%H:%M:%S+00:00", &tm))
                snprintf(out, 40, "1970-01-01T00:00:00+00:00");
}

/* ---- static tokens ---- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
        size_t o = 0;

        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned)in[i] << 16;
                if (i + 1 < n)
                        v |= (unsigned)in[i + 1] << 8;
                if (i + 2 < n)
                        v |= in[i + 2];
                out[o++] = b64url[(v >> 18) & 63];
                out[o++] = b64url[(v >> 12) & 63];
                if (i + 1 < n)
                        out[o++] = b64url[(v >> 6) & 63];
                if (i + 2 < n)
                        out[o++] = b64url[v & 63];
        }
        out[o] = '\0';
}

static int b64url_value(char c)
{
        const char *p = c ? strchr(b64url, c) : NULL;
        return p ? (int)(p - b64url) : -1;
}

/* Decodes exactly n bytes from the canonical encoding in (no padding, the
 * unused low bits of the last character zero: one token, one spelling).
 * Returns 0 or -EBADMSG. */
static int b64url_decode(const char *in, unsigned char *out, size_t n)
{
        size_t want = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
        size_t o = 0;
        unsigned acc = 0;
        int bits = 0;

        if (strlen(in) != want)
                return -EBADMSG;
        for (size_t i = 0; i < want; i++) {
                int v = b64url_value(in[i]);
                if (v < 0)
                        return -EBADMSG;
                acc = (acc << 6) | (unsigned)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (unsigned char)(acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        return o == n && acc == 0 ? 0 : -EBADMSG;
}

static void put_be64(unsigned char *p, uint64_t v)
{
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = (v << 8) | p[i];
        return v;
}

static int hexval(char c)
{
        return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

static int token_tag(const char *secret, const unsigned char *payload, unsigned char tag[TOKEN_TAG])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;

        if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), payload, TOKEN_PAYLOAD, md, &len) ||
            len < TOKEN_TAG)
                return -EIO;
        memcpy(tag, md, TOKEN_TAG);
        OPENSSL_cleanse(md, sizeof(md));
        return 0;
}

int paylink_static_token(const char *secret, const char *reminder_id, int64_t amount_cents,
                         const char *currency, int64_t expires_ms, char *out, size_t n)
{
        unsigned char raw[TOKEN_RAW];

        if (!secret || !*secret || !paylink_reminder_id_valid(reminder_id) ||
            amount_cents <= 0 || !currency_syntax(currency) || expires_ms < 0)
                return -EINVAL;
        if (n < PAYLINK_TOKEN_LEN + 1)
                return -ENOBUFS;
        raw[0] = TOKEN_VERSION;
        for (int i = 0; i < 8; i++)
                raw[1 + i] = (unsigned char)(hexval(reminder_id[2 + 2 * i]) << 4 |
                                             hexval(reminder_id[3 + 2 * i]));
        put_be64(raw + 9, (uint64_t)amount_cents);
        memcpy(raw + 17, currency, 3);
        put_be64(raw + 20, (uint64_t)expires_ms);
        if (token_tag(secret, raw, raw + TOKEN_PAYLOAD) < 0)
                return -EIO;
        b64url_encode(raw, TOKEN_RAW, out);
        return 0;
}

int paylink_static_verify(const char *secret, const char *token, int64_t now_ms,
                          struct paylink_token *out, struct error *err)
{
        unsigned char raw[TOKEN_RAW], tag[TOKEN_TAG];
        struct paylink_token t;

        if (!secret || !*secret)
                return error_set(err, -EINVAL, "paylink: no secret to check tokens with");
        if (!token || b64url_decode(token, raw, sizeof(raw)) < 0)
                return error_set(err, -EBADMSG, "paylink token: malformed");
        if (raw[0] != TOKEN_VERSION)
                return error_set(err, -EBADMSG, "paylink token: unknown version %u", raw[0]);
        if (token_tag(secret, raw, tag) < 0)
                return error_set(err, -EIO, "paylink token: HMAC failed");
        if (CRYPTO_memcmp(tag, raw + TOKEN_PAYLOAD, TOKEN_TAG) != 0)
                return error_set(err, -EBADMSG, "paylink token: signature does not match");

        /* Signed by us from here on; still check what we would never sign. */
        memcpy(t.reminder_id, "r-", 2);
        for (int i = 0; i < 8; i++)
                snprintf(t.reminder_id + 2 + 2 * i, 3, "%02x", raw[1 + i]);
        t.amount_cents = (int64_t)get_be64(raw + 9);
        memcpy(t.currency, raw + 17, 3);
        t.currency[3] = '\0';
        t.expires_ms = (int64_t)get_be64(raw + 20);
        if (t.amount_cents <= 0 || !currency_syntax(t.currency) || t.expires_ms < 0)
                return error_set(err, -EBADMSG, "paylink token: bad contents");
        if (now_ms >= t.expires_ms) {
                char when[32];
                return error_set(err, -EKEYEXPIRED, "paylink token: expired at %s",
                                 job_format_time(t.expires_ms, when));
        }
        *out = t;
        return 0;
}

/* ---- construction ---- */

void paylink_free(struct paylink *p)
{
        if (!p)
                return;
        if (p->curl)
                curl_easy_cleanup(p->curl);
        free(p->api_url);
        curlx_wipe_free(p->api_key);
        free(p->redirect_url);
        free(p->webhook_url);
        free(p->url_template);
        curlx_wipe_free(p->secret);
        free(p);
}

int paylink_new(struct paylink **out, const struct config *cfg, struct error *err)
{
        const char *provider = cfg->paylink.provider ? cfg->paylink.provider : "none";
        struct paylink *p = xcalloc(1, sizeof(*p));
        int rc = 0;

        p->expires_days = cfg->paylink.expires_days > 0 ? cfg->paylink.expires_days : 14;
        p->timeout_ms = cfg->paylink.timeout_ms > 0 ? cfg->paylink.timeout_ms : 10000;
        if (!strcmp(provider, "none")) {
                p->provider = PROVIDER_NONE;
        } else if (!strcmp(provider, "mollie")) {
                p->provider = PROVIDER_MOLLIE;
                if (!cfg->paylink.api_key || !*cfg->paylink.api_key) {
                        rc = error_set(err, -EINVAL,
                                       "paylink.api_key_file: required when paylink.provider "
                                       "is mollie");
                        goto out;
                }
                const char *url = cfg->paylink.api_url && *cfg->paylink.api_url
                                          ? cfg->paylink.api_url
                                          : "https://api.mollie.com/v2";
                size_t len = strlen(url);
                while (len > 0 && url[len - 1] == '/')
                        len--;
                p->api_url = xstrndup(url, len);
                p->api_key = xstrdup(cfg->paylink.api_key);
                p->redirect_url = curlx_dup_or_null(cfg->paylink.redirect_url);
                p->webhook_url = curlx_dup_or_null(cfg->paylink.webhook_url);
                CURLcode init_rc = curlx_global_init();
                if (init_rc != CURLE_OK) {
                        rc = error_set(err, -EIO, "paylink: libcurl: %s",
                                       curl_easy_strerror(init_rc));
                        goto out;
                }
                p->curl = curl_easy_init();
                if (!p->curl) {
                        rc = error_set(err, -ENOMEM, "paylink: cannot make a libcurl handle");
                        goto out;
                }
        } else if (!strcmp(provider, "static")) {
                p->provider = PROVIDER_STATIC;
                if (!cfg->paylink.url_template || !strstr(cfg->paylink.url_template, "{token}")) {
                        rc = error_set(err, -EINVAL,
                                       "paylink.url_template: must contain {token} when "
                                       "paylink.provider is static");
                        goto out;
                }
                if (!cfg->paylink.secret || !*cfg->paylink.secret) {
                        rc = error_set(err, -EINVAL,
                                       "paylink.secret_file: required when paylink.provider "
                                       "is static");
                        goto out;
                }
                p->url_template = xstrdup(cfg->paylink.url_template);
                p->secret = xstrdup(cfg->paylink.secret);
        } else {
                rc = error_set(err, -EINVAL, "paylink.provider: unknown provider '%.40s'",
                               provider);
                goto out;
        }
        *out = p;
        p = NULL;
out:
        paylink_free(p);
        return rc;
}

bool paylink_enabled(const struct paylink *p)
{
        return p && p->provider != PROVIDER_NONE;
}

/* ---- HTTP ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
        struct reply *r = arg;
        size_t n = size * nmemb;

        if (r->body.len + n > RESPONSE_MAX) {
                r->too_large = true;
                return 0;
        }
        buf_append(&r->body, data, n);
        return n;
}

/* Retry-After in ms: delay-seconds or an HTTP date; 0 when absent. */
static int64_t retry_after(CURL *c)
{
        struct curl_header *h;
        const char *v;

        if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
                return 0;
        v = h->value;
        v += strspn(v, " \t");
        size_t digits = strspn(v, "0123456789");
        if (digits > 0 && digits <= 9 && v[digits + strspn(v + digits, " \t")] == '\0')
                return strtoll(v, NULL, 10) * 1000;
        time_t when = curl_getdate(v, NULL);
        time_t now = time(NULL);
        return when > now ? (int64_t)(when - now) * 1000 : 0;
}

static struct curl_slist *header(struct curl_slist *list, const char *line)
{
        struct curl_slist *l = curl_slist_append(list, line);
        if (!l)
                abort();  /* out of memory: see buf.h */
        return l;
}

/* Sends one request to {api_url}{path} (a POST when body is not NULL)
 * and fills r (release with reply_free). */
static void http(struct paylink *p, const char *path, const char *body,
                 const char *idempotency_key, struct reply *r)
{
        struct buf url = BUF_INIT, line = BUF_INIT;
        struct curl_slist *h = NULL;
        CURL *c = p->curl;

        memset(r, 0, sizeof(*r));
        buf_printf(&url, "%s%s", p->api_url, path);
        buf_printf(&line, "Authorization: Bearer %s", p->api_key);
        h = header(h, buf_str(&line));
        explicit_bzero(line.data, line.len);
        buf_free(&line);
        h = header(h, "Accept: application/json");
        if (body) {
                h = header(h, "Content-Type: application/json");
                h = header(h, "Expect:");
        }
        if (idempotency_key) {
                buf_printf(&line, "Idempotency-Key: %s", idempotency_key);
                h = header(h, buf_str(&line));
                buf_free(&line);
        }

        /* Reset keeps the live connection (keep-alive) and clears the
         * options of the last request. */
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "dunningd/" DUNNINGD_VERSION);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, p->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->error);
        if (body) {
                curl_easy_setopt(c, CURLOPT_POST, 1L);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        } else {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        }
        r->code = curl_easy_perform(c);
        if (r->code == CURLE_OK) {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
                r->retry_after_ms = retry_after(c);
        } else if (!r->error[0]) {
                snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(r->code));
        }
        if (r->too_large)
                snprintf(r->error, sizeof(r->error), "response larger than %d bytes",
                         RESPONSE_MAX);
        /* Nothing of this request may outlive it in the handle. */
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        for (struct curl_slist *l = h; l; l = l->next)
                explicit_bzero(l->data, strlen(l->data));
        curl_slist_free_all(h);
        buf_free(&url);
}

static void reply_free(struct reply *r)
{
        buf_free(&r->body);
}

static bool retryable_status(long status)
{
        return status == 408 || status == 409 || status == 429 || status >= 500;
}

/* "<status> <detail> (field <field>)" from Mollie's problem JSON, or the
 * bare status when the body is not one. */
static void problem_text(struct buf *out, const struct reply *r)
{
        json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
        const char *detail = json_string_value(json_object_get(j, "detail"));
        const char *title = json_string_value(json_object_get(j, "title"));
        const char *field = json_string_value(json_object_get(j, "field"));

        buf_printf(out, "%ld", r->status);
        if (detail || title)
                buf_printf(out, " %s", detail ? detail : title);
        if (field)
                buf_printf(out, " (field %s)", field);
        json_decref(j);
}

/* ---- Mollie: create ---- */

static void add_reminder_query(struct buf *b, const char *url, const char *reminder_id)
{
        size_t base = strcspn(url, "#");

        buf_append(b, url, base);
        buf_putc(b, memchr(url, '?', base) ? '&' : '?');
        buf_printf(b, "reminder=%s", reminder_id);
        buf_puts(b, url + base);
}

static bool url_ok(const char *u)
{
        if (!u || (strncmp(u, "https://", 8) && strncmp(u, "http://", 7)))
                return false;
        for (const unsigned char *p = (const unsigned char *)u; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f)
                        return false;
        return true;
}

/* The link of a 200/201 answer into res; false when it is not one. */
static bool read_link(const struct reply *r, int64_t expires_ms, struct paylink_result *res)
{
        json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        const char *href = json_string_value(
                json_object_get(json_object_get(json_object_get(j, "_links"), "paymentLink"),
                                "href"));
        const char *exp = json_string_value(json_object_get(j, "expiresAt"));
        bool ok = id && *id && strlen(id) < sizeof(res->id) && url_ok(href) &&
                  strlen(href) < sizeof(res->url);
        int64_t t;

        if (ok) {
                snprintf(res->id, sizeof(res->id), "%s", id);
                snprintf(res->url, sizeof(res->url), "%s", href);
                /* What Mollie stored wins over what we asked for. */
                res->expires_ms = exp && job_parse_time(exp, &t) == 0 ? t : expires_ms;
                res->outcome = CHANNEL_SENT;
        }
        json_decref(j);
        return ok;
}

static void mollie_create(struct paylink *p, const struct paylink_request *req, int64_t expires_ms,
                          struct paylink_result *res)
{
        char value[32], expires_at[40];
        char description[4 * PAYLINK_DESCRIPTION_MAX + 1];
        struct buf webhook = BUF_INIT, why = BUF_INIT;
        struct reply r;
        char *text = NULL;
        json_t *body = NULL;

        int rc = paylink_amount_value(value, sizeof(value), req->amount_cents, req->currency);
        if (rc == -ENOTSUP) {
                result_set(res, CHANNEL_PERMFAIL, NULL,
                           "mollie: %s has %d decimals; Mollie takes amounts with 0 or 2",
                           req->currency, l10n_minor_digits(req->currency));
                goto out;
        }
        if (rc < 0) {
                result_set(res, CHANNEL_PERMFAIL, NULL, "paylink: cannot format %s amount",
                           req->currency);
                goto out;
        }
        paylink_description(description, sizeof(description), req->description,
                            req->reminder_id);
        iso8601(expires_ms, expires_at);

        /* The order of Mollie's reference; no methods or metadata (none
         * exist for payment links: see the top of this file). */
        body = json_object();
        json_object_set_new(body, "amount",
                            json_pack("{s:s, s:s}", "currency", req->currency, "value", value));
        json_object_set_new(body, "description", json_string(description));
        if (p->redirect_url)
                json_object_set_new(body, "redirectUrl", json_string(p->redirect_url));
        if (p->webhook_url) {
                add_reminder_query(&webhook, p->webhook_url, req->reminder_id);
                json_object_set_new(body, "webhookUrl", json_string(buf_str(&webhook)));
        }
        json_object_set_new(body, "expiresAt", json_string(expires_at));
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
                abort();  /* only fails for lack of memory */

        http(p, "/payment-links", text, req->reminder_id, &r);
        if (r.code != CURLE_OK) {
                result_set(res, CHANNEL_TEMPFAIL, p->api_key, "mollie: %s", r.error);
        } else if (r.status == 200 || r.status == 201) {
                /* Made, but unreadable: the retry with the same
                 * Idempotency-Key gets the same link. */
                if (!read_link(&r, expires_ms, res))
                        result_set(res, CHANNEL_TEMPFAIL, NULL,
                                   "mollie: %ld answer without a payment link", r.status);
        } else {
                problem_text(&why, &r);
                if (r.status == 400 && strstr(buf_str(&why), "Idempotency-Key")) {
                        /* Same key, other body: Mollie forgets the key
                         * after an hour, and the retry then makes the link. */
                        result_set(res, CHANNEL_TEMPFAIL, p->api_key, "mollie: %s",
                                   buf_str(&why));
                        res->retry_after_ms = r.retry_after_ms > IDEMPOTENCY_KEY_MS
                                                      ? r.retry_after_ms
                                                      : IDEMPOTENCY_KEY_MS;
                } else if (retryable_status(r.status) || r.status < 400) {
                        result_set(res, CHANNEL_TEMPFAIL, p->api_key, "mollie: %s",
                                   buf_str(&why));
                        res->retry_after_ms = r.retry_after_ms;
                } else {
                        result_set(res, CHANNEL_PERMFAIL, p->api_key, "mollie: %s",
                                   buf_str(&why));
                }
        }
        reply_free(&r);
out:
        free(text);
        json_decref(body);
        buf_free(&webhook);
        buf_free(&why);
}

static void static_create(struct paylink *p, const struct paylink_request *req,
                          int64_t expires_ms, struct paylink_result *res)
{
        char token[PAYLINK_TOKEN_LEN + 1];
        struct buf url = BUF_INIT;

        if (paylink_static_token(p->secret, req->reminder_id, req->amount_cents, req->currency,
                                 expires_ms, token, sizeof(token)) < 0) {
                result_set(res, CHANNEL_PERMFAIL, NULL, "paylink: cannot sign the token");
                return;
        }
        for (const char *s = p->url_template, *t; *s; s = t + 7) {
                t = strstr(s, "{token}");
                if (!t) {
                        buf_puts(&url, s);
                        break;
                }
                buf_append(&url, s, (size_t)(t - s));
                buf_puts(&url, token);
        }
        if (url.len >= sizeof(res->url)) {
                result_set(res, CHANNEL_PERMFAIL, NULL,
                           "paylink.url_template: the URL is longer than %zu bytes",
                           sizeof(res->url) - 1);
        } else {
                res->outcome = CHANNEL_SENT;
                memcpy(res->url, buf_str(&url), url.len + 1);
                res->expires_ms = expires_ms;
        }
        buf_free(&url);
}

void paylink_create(struct paylink *p, const struct paylink_request *req,
                    struct paylink_result *res)
{
        memset(res, 0, sizeof(*res));
        if (!paylink_enabled(p)) {
                result_set(res, CHANNEL_PERMFAIL, NULL, "paylink: no pay link provider");
                return;
        }
        if (!paylink_reminder_id_valid(req->reminder_id)) {
                result_set(res, CHANNEL_PERMFAIL, NULL, "paylink: reminder id is not r-<16 hex>");
                return;
        }
        if (req->amount_cents <= 0) {
                result_set(res, CHANNEL_PERMFAIL, NULL, "paylink: amount must be above 0");
                return;
        }
        if (l10n_minor_digits(req->currency) < 0) {
                result_set(res, CHANNEL_PERMFAIL, NULL, "paylink: unknown currency");
                return;
        }
        int64_t expires_ms = paylink_expiry_ms(req->now_ms, p->expires_days);
        if (p->provider == PROVIDER_MOLLIE)
                mollie_create(p, req, expires_ms, res);
        else
                static_create(p, req, expires_ms, res);
}

/* ---- Mollie: get payment ---- */

/* Mollie ids are a prefix, '_' and letters and digits: anything else in a
 * webhook's id is not sent on into a URL. */
static bool mollie_id_valid(const char *id)
{
        size_t n = id ? strlen(id) : 0;

        if (n < 4 || n > 63 || !strchr(id, '_'))
                return false;
        return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Copies the string member key of j into out[size]: true when it is a
 * string that fits, or absent/null and optional (out is then ""). */
static bool member(json_t *j, const char *key, char *out, size_t size, bool required)
{
        json_t *v = json_object_get(j, key);
        const char *s = json_string_value(v);

        out[0] = '\0';
        if (!v || json_is_null(v))
                return !required;
        if (!s || strlen(s) >= size)
                return false;
        memcpy(out, s, strlen(s) + 1);
        return true;
}

/* The reminder id at the end of a description: the last word that is one. */
static void reminder_from_description(const char *d, char out[20])
{
        for (const char *p = d; p && (p = strstr(p, "r-")); p++) {
                char id[19];
                if (p != d && p[-1] != ' ')
                        continue;
                if (strnlen(p, 18) < 18 || (p[18] && p[18] != ' '))
                        continue;
                memcpy(id, p, 18);
                id[18] = '\0';
                if (paylink_reminder_id_valid(id))
                        memcpy(out, id, 19);
        }
}

static void reminder_from_url(const char *url, char out[20])
{
        const char *q = url ? strchr(url, '?') : NULL;

        while (q && *q && *q != '#') {
                q++;
                size_t n = strcspn(q, "&#");
                if (n == 9 + 18 && !strncmp(q, "reminder=", 9)) {
                        char id[19];
                        memcpy(id, q + 9, 18);
                        id[18] = '\0';
                        if (paylink_reminder_id_valid(id)) {
                                memcpy(out, id, 19);
                                return;
                        }
                }
                q += n;
        }
}

/* The payment link a payment came from. Neither source is in the stored
 * reference of get-payment.rst (it predates payment links there): we read
 * paymentLinkId, else the last path segment of _links.paymentLink.href,
 * and accept only a well-formed pl_ id; "" otherwise. */
static void link_from_payment(json_t *j, char out[64])
{
        const char *id = json_string_value(json_object_get(j, "paymentLinkId"));
        const char *href = json_string_value(
                json_object_get(json_object_get(json_object_get(j, "_links"), "paymentLink"),
                                "href"));
        char seg[64] = "";

        out[0] = '\0';
        if (!id && href) {
                size_t end = strcspn(href, "?#");
                while (end > 0 && href[end - 1] == '/')
                        end--;
                size_t start = end;
                while (start > 0 && href[start - 1] != '/')
                        start--;
                if (end - start < sizeof(seg)) {
                        memcpy(seg, href + start, end - start);
                        seg[end - start] = '\0';
                }
                id = seg;
        }
        if (id && !strncmp(id, "pl_", 3) && mollie_id_valid(id))
                memcpy(out, id, strlen(id) + 1);
}

static int read_payment(const struct reply *r, struct paylink_payment *out, struct error *err)
{
        json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
        json_t *amount = json_object_get(j, "amount");
        json_t *meta = json_object_get(j, "metadata");
        struct paylink_payment pay;
        char value[32];
        int rc = 0;

        memset(&pay, 0, sizeof(pay));
        if (!json_is_object(j)) {
                rc = error_set(err, -EINVAL, "mollie: payment answer is not JSON");
                goto out;
        }
        if (!member(j, "id", pay.id, sizeof(pay.id), true) || !mollie_id_valid(pay.id) ||
            !member(j, "status", pay.status, sizeof(pay.status), true) || !pay.status[0]) {
                rc = error_set(err, -EINVAL, "mollie: payment answer without id or status");
                goto out;
        }
        if (!member(amount, "currency", pay.currency, sizeof(pay.currency), true) ||
            !member(amount, "value", value, sizeof(value), true) ||
            paylink_amount_parse(value, pay.currency, &pay.amount_cents) < 0) {
                rc = error_set(err, -EINVAL, "mollie: payment %s: bad amount", pay.id);
                goto out;
        }
        if (!member(j, "paidAt", pay.paid_at, sizeof(pay.paid_at), false) ||
            !member(j, "method", pay.method, sizeof(pay.method), false)) {
                rc = error_set(err, -EINVAL, "mollie: payment %s: bad paidAt or method",
                               pay.id);
                goto out;
        }
        link_from_payment(j, pay.link_id);
        /* Where the reminder id comes back: metadata when the payment has
         * ours (a Payments API payment), else the webhookUrl the link gave
         * the payment, else the end of its description. */
        const char *m = json_string_value(json_object_get(meta, "reminder_id"));
        if (paylink_reminder_id_valid(m))
                memcpy(pay.reminder_id, m, 19);
        if (!pay.reminder_id[0])
                reminder_from_url(json_string_value(json_object_get(j, "webhookUrl")),
                                  pay.reminder_id);
        if (!pay.reminder_id[0])
                reminder_from_description(json_string_value(json_object_get(j, "description")),
                                          pay.reminder_id);
        *out = pay;
out:
        json_decref(j);
        return rc;
}

int paylink_get_payment(struct paylink *p, const char *id, struct paylink_payment *out,
                        struct error *err)
{
        struct buf path = BUF_INIT, why = BUF_INIT;
        struct reply r;
        int rc;

        if (!p || p->provider != PROVIDER_MOLLIE)
                return error_set(err, -ENOTSUP, "paylink: payments are looked up with "
                                                "provider mollie only");
        if (!mollie_id_valid(id))
                return error_set(err, -EINVAL, "mollie: payment id is not a Mollie id");
        buf_printf(&path, "/payments/%s", id);
        http(p, buf_str(&path), NULL, NULL, &r);
        if (r.code != CURLE_OK) {
                rc = -EAGAIN;
                buf_puts(&why, r.error);
        } else if (r.status == 200) {
                rc = read_payment(&r, out, err);
                goto out;
        } else {
                problem_text(&why, &r);
                rc = r.status == 404                                   ? -ENOENT
                     : retryable_status(r.status) || r.status < 400 ? -EAGAIN
                                                                        : -EINVAL;
        }
        {
                char line[512];
                one_line(line, sizeof(line), buf_str(&why), p->api_key);
                error_set(err, rc, "mollie: GET /payments/%s: %s", id, line);
        }
out:
        reply_free(&r);
        buf_free(&path);
        buf_free(&why);
        return rc;
}
