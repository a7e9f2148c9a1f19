/* config.c: the schema of dunningd.yaml and its validation into struct config.
 *
 * Every key is one row of keys[] below: its type, bounds, default, whether
 * it is required and where it lands in struct config. Parsing, defaults,
 * range checks, error messages and freeing all follow from that row.
 *
 * Error positions: a bad value is reported at the value, an unknown key at
 * the key, and a missing required key at the key of its parent mapping if
 * the file has one, else at 1:1. */
#include "config.h"

#include "civil.h"
#include "contact.h"
#include "epcqr.h"
#include "quiet.h"
#include "ratelimit.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config_yaml.h"

#define SECRET_MAX (64 * 1024)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum key_type {
        KEY_STRING,  /* char *, never empty */
        KEY_INT,     /* int within [min, max] */
        KEY_DOUBLE,  /* double within [dmin, dmax] */
        KEY_BOOL,    /* bool, written true or false */
        KEY_ENUM,    /* char *, one of the '|'-separated words in allowed */
        KEY_STRLIST, /* char **, NULL-terminated, count in the size_t at count_offset */
        KEY_SECRET,  /* the value names a file whose content lands in the char * */
        KEY_FLOWS,   /* struct config_flow *, count in the size_t at count_offset */
};

struct key {
        const char *name;      /* dotted path in the file */
        enum key_type type;
        size_t offset;         /* target field in struct config */
        const char *def;       /* default, written as in the file; NULL: none */
        bool required;
        long long min, max;    /* KEY_INT */
        double dmin, dmax;     /* KEY_DOUBLE */
        const char *allowed;   /* KEY_ENUM: "a|b|c" */
        size_t count_offset;   /* KEY_STRLIST, KEY_FLOWS */
        /* KEY_STRING, KEY_STRLIST (each item): NULL or the reason */
        const char *(*check)(const char *value);
};

#define FIELD(f) offsetof(struct config, f)
#define STRING(k, f, d, chk) \
        { .name = k, .type = KEY_STRING, .offset = FIELD(f), .def = d, .check = chk }
#define REQUIRED_STRING(k, f, chk) \
        { .name = k, .type = KEY_STRING, .offset = FIELD(f), .required = true, .check = chk }
#define INT(k, f, lo, hi, d) \
        { .name = k, .type = KEY_INT, .offset = FIELD(f), .min = lo, .max = hi, .def = #d }
#define DOUBLE(k, f, lo, hi, d) \
        { .name = k, .type = KEY_DOUBLE, .offset = FIELD(f), .dmin = lo, .dmax = hi, .def = #d }
#define BOOL(k, f, d) \
        { .name = k, .type = KEY_BOOL, .offset = FIELD(f), .def = d }
#define ENUM(k, f, values, d) \
        { .name = k, .type = KEY_ENUM, .offset = FIELD(f), .allowed = values, .def = d }
#define STRLIST(k, f, count) \
        { .name = k, .type = KEY_STRLIST, .offset = FIELD(f), .count_offset = FIELD(count) }
#define SECRET(k, f) \
        { .name = k, .type = KEY_SECRET, .offset = FIELD(f) }
#define STRLIST_CHECKED(k, f, count, chk) \
        { .name = k, .type = KEY_STRLIST, .offset = FIELD(f), .count_offset = FIELD(count), \
          .check = chk }
#define FLOWS(k, f, count) \
        { .name = k, .type = KEY_FLOWS, .offset = FIELD(f), .count_offset = FIELD(count) }

static const char *check_redis_url(const char *s);
static const char *check_http_url(const char *s);
static const char *check_url_template(const char *s);
static const char *check_country(const char *s);
static const char *check_timezone(const char *s);
static const char *check_quiet_hours(const char *s);
static const char *check_prefix(const char *s);
static const char *check_listen(const char *s);
static const char *check_iban(const char *s);
static const char *check_creditor_name(const char *s);
static const char *check_date(const char *s);
static const char *check_rate(const char *s);
static const char *check_acl_user(const char *s);

static const struct key keys[] = {
        STRING("redis.url", redis.url, "redis://127.0.0.1:6379/0", check_redis_url),
        SECRET("redis.password_file", redis.password),
        STRING("redis.username", redis.username, NULL, check_acl_user),
        STRING("redis.prefix", redis.prefix, "dunning", check_prefix),
        INT("workers", workers, 1, 256, 8),
        INT("queue.batch", queue.batch, 1, 10000, 100),
        INT("queue.block_ms", queue.block_ms, 1, 60000, 1000),
        INT("queue.claim_idle_ms", queue.claim_idle_ms, 100, 86400000, 60000),
        INT("queue.max_deliveries", queue.max_deliveries, 1, 1000, 5),
        INT("queue.drain_timeout_ms", queue.drain_timeout_ms, 0, 600000, 10000),
        INT("queue.max_attempts", queue.max_attempts, 1, 100, 8),
        INT("queue.retry_base_ms", queue.retry_base_ms, 10, 86400000, 30000),
        INT("queue.retry_max_ms", queue.retry_max_ms, 10, 604800000, 21600000),
        INT("queue.sent_ttl_days", queue.sent_ttl_days, 1, 3650, 90),
        INT("queue.events_maxlen", queue.events_maxlen, 1000, 100000000, 1000000),
        INT("queue.housekeep_interval_ms", queue.housekeep_interval_ms, 100, 86400000, 30000),
        INT("queue.consumer_expire_ms", queue.consumer_expire_ms, 1000, 604800000, 3600000),
        STRING("listen", listen, "127.0.0.1:9464", check_listen),
        INT("watchdog_ms", watchdog_ms, 1000, 3600000, 60000),
        STRING("templates", templates, "/usr/share/dunningd/templates", NULL),
        STRING("default_locale", default_locale, "en", NULL),
        STRING("default_timezone", default_timezone, "Europe/Amsterdam", check_timezone),
        STRING("outbox", outbox, "/var/spool/dunningd/outbox", NULL),
        REQUIRED_STRING("creditor.name", creditor.name, check_creditor_name),
        REQUIRED_STRING("creditor.iban", creditor.iban, check_iban),
        STRING("creditor.bic", creditor.bic, NULL, NULL),
        STRLIST("creditor.address", creditor.address, creditor.n_address),
        ENUM("channels.email.transport", channels.email.transport, "outbox|smtp", "outbox"),
        STRING("channels.email.from", channels.email.from, "dunningd <dunningd@localhost>",
               NULL),
        STRING("channels.email.reply_to", channels.email.reply_to, NULL, NULL),
        STRING("channels.email.list_unsubscribe", channels.email.list_unsubscribe, NULL, NULL),
        STRING("channels.email.smtp.host", channels.email.smtp.host, "127.0.0.1", NULL),
        INT("channels.email.smtp.port", channels.email.smtp.port, 1, 65535, 587),
        ENUM("channels.email.smtp.tls", channels.email.smtp.tls, "none|starttls|tls", "starttls"),
        STRING("channels.email.smtp.ca_file", channels.email.smtp.ca_file, NULL, NULL),
        STRING("channels.email.smtp.username", channels.email.smtp.username, NULL, NULL),
        SECRET("channels.email.smtp.password_file", channels.email.smtp.password),
        INT("channels.email.smtp.timeout_ms", channels.email.smtp.timeout_ms, 100, 600000, 30000),
        ENUM("channels.sms.transport", channels.sms.transport, "outbox|http", "outbox"),
        STRING("channels.sms.sender", channels.sms.sender, "dunningd", NULL),
        INT("channels.sms.max_segments", channels.sms.max_segments, 1, 10, 3),
        ENUM("channels.sms.provider", channels.sms.provider, "messagebird|twilio|generic",
             "messagebird"),
        STRING("channels.sms.url", channels.sms.url, NULL, check_http_url),
        SECRET("channels.sms.token_file", channels.sms.token),
        STRING("channels.sms.account_sid", channels.sms.account_sid, NULL, NULL),
        STRING("channels.sms.body_template", channels.sms.body_template,
               "{\"to\":\"{{to}}\",\"from\":\"{{from}}\",\"text\":\"{{body}}\","
               "\"reference\":\"{{reference}}\"}",
               NULL),
        STRING("channels.sms.report_url", channels.sms.report_url, NULL, check_http_url),
        STRING("channels.sms.default_country", channels.sms.default_country, "NL",
               check_country),
        STRING("channels.sms.quiet_hours", channels.sms.quiet_hours, "21:00-08:00",
               check_quiet_hours),
        INT("channels.sms.connect_timeout_ms", channels.sms.connect_timeout_ms, 100, 60000, 3000),
        INT("channels.sms.timeout_ms", channels.sms.timeout_ms, 100, 600000, 10000),
        INT("channels.sms.connections", channels.sms.connections, 1, 32, 4),
        INT("channels.letter.postal_lag_days", channels.letter.postal_lag_days, 0, 30, 2),
        ENUM("channels.letter.transport", channels.letter.transport, "outbox|http", "outbox"),
        STRING("channels.letter.url", channels.letter.url, NULL, check_http_url),
        SECRET("channels.letter.token_file", channels.letter.token),
        INT("channels.letter.connect_timeout_ms", channels.letter.connect_timeout_ms, 100, 60000,
            3000),
        INT("channels.letter.timeout_ms", channels.letter.timeout_ms, 100, 600000, 30000),
        ENUM("log.level", log.level, "debug|info|warning|error", "info"),
        ENUM("paylink.provider", paylink.provider, "none|mollie|static", "none"),
        STRING("paylink.api_url", paylink.api_url, "https://api.mollie.com/v2", check_http_url),
        SECRET("paylink.api_key_file", paylink.api_key),
        STRING("paylink.redirect_url", paylink.redirect_url, NULL, check_http_url),
        STRING("paylink.webhook_url", paylink.webhook_url, NULL, check_http_url),
        INT("paylink.expires_days", paylink.expires_days, 1, 100, 14),
        STRING("paylink.url_template", paylink.url_template, NULL, check_url_template),
        SECRET("paylink.secret_file", paylink.secret),
        INT("paylink.timeout_ms", paylink.timeout_ms, 100, 600000, 10000),
        BOOL("history.enabled", history.enabled, "true"),
        INT("history.segment_refresh_ms", history.segment_refresh_ms, 100, 3600000, 10000),
        INT("history.retention_days", history.retention_days, 1, 3650, 400),
        INT("tracking.attribution_window_days", tracking.attribution_window_days, 1, 365, 14),
        INT("tracking.late_after_days", tracking.late_after_days, 0, 365, 3),
        INT("holds.recheck_hours", holds.recheck_hours, 1, 8760, 24),
        INT("holds.dispute_flag_count", holds.dispute_flag_count, 1, 1000, 3),
        INT("arrangements.remind_days", arrangements.remind_days, 0, 60, 3),
        INT("arrangements.grace_days", arrangements.grace_days, 0, 90, 5),
        INT("arrangements.check_interval_ms", arrangements.check_interval_ms, 1000, 86400000,
            60000),
        INT("segments.min_invoices", segments.min_invoices, 1, 1000, 3),
        INT("segments.on_time_max_late", segments.on_time_max_late, 0, 1000, 1),
        DOUBLE("segments.structural_late_share", segments.structural_late_share, 0.0, 1.0, 0.5),
        DOUBLE("policy.exploration", policy.exploration, 0.0, 1.0, 0.1),
        INT("policy.seed", policy.seed, 0, 2147483647, 1),
        DOUBLE("policy.segment_weight", policy.segment_weight, 0.0, 10000.0, 3.0),
        DOUBLE("policy.preference_boost", policy.preference_boost, 0.0, 0.5, 0.05),
        INT("policy.cost_cents.email", policy.cost_cents[0], 0, 100000, 0),
        INT("policy.cost_cents.sms", policy.cost_cents[1], 0, 100000, 8),
        INT("policy.cost_cents.letter", policy.cost_cents[2], 0, 100000, 100),
        BOOL("policy.final_notice_email", policy.final_notice_email, "true"),
        FLOWS("flows", flows, n_flows),
        BOOL("timing.enabled", timing.enabled, "false"),
        STRING("timing.send_window", timing.send_window, "08:00-20:00", check_quiet_hours),
        INT("timing.min_payments", timing.min_payments, 1, 1000, 3),
        BOOL("timing.weekends", timing.weekends, "true"),
        STRLIST_CHECKED("timing.holidays", timing.holidays, timing.n_holidays, check_date),
        BOOL("ui.enabled", ui.enabled, "false"),
        SECRET("ui.token_file", ui.token),
        STRING("limits.rate.email", limits.rate[0], NULL, check_rate),
        STRING("limits.rate.sms", limits.rate[1], NULL, check_rate),
        STRING("limits.rate.letter", limits.rate[2], NULL, check_rate),
        INT("limits.contact.max", limits.contact_max, 0, CONTACT_MAX_LIMIT, 0),
        INT("limits.contact.days", limits.contact_days, 1, 365, 30),
        INT("limits.contact.gap_hours", limits.contact_gap_hours, 0, 8760, 0),
        INT("retention.events_days", retention.events_days, 0, 3650, 0),
        INT("retention.payments_days", retention.payments_days, 0, 3650, 0),
};

/* what the file said about each row of keys[] */
struct seen {
        const struct config_yaml_node *node; /* NULL: not in the file */
        bool bad;                            /* reported; skip relation checks */
};

struct load {
        struct config *cfg;
        const char *path;
        struct error *err;
        const struct config_yaml_doc *doc;
        size_t n_errors;
        struct seen seen[ARRAY_SIZE(keys)];
};

static const char *check_redis_url(const char *s)
{
        if ((!strncmp(s, "unix://", 7) && s[7]) || (!strncmp(s, "redis://", 8) && s[8]))
                return NULL;
        return "must start with unix:// or redis://";
}

/* The creditor's IBAN and name go on every letter's QR code: a typo must
 * stop the start, not produce thousands of unpayable letters. */
static const char *check_iban(const char *s)
{
        static __thread struct error err;
        return epcqr_iban_check(s, &err) < 0 ? err.msg : NULL;
}

static const char *check_creditor_name(const char *s)
{
        static __thread struct error err;
        return epcqr_name_check(s, &err) < 0 ? err.msg : NULL;
}

static const char *check_prefix(const char *s)
{
        static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789_.-";

        return s[strspn(s, ok)] ? "may only contain A-Z a-z 0-9 _ . -" : NULL;
}

static const char *check_http_url(const char *s)
{
        if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
                return "must start with https:// (or http:// for a local service)";
        if (strpbrk(s, " \t\r\n\"<>\\"))
                return "must not contain spaces, quotes, <, > or backslashes";
        return NULL;
}

static const char *check_url_template(const char *s)
{
        const char *why = check_http_url(s);
        if (why)
                return why;
        return strstr(s, "{token}") ? NULL : "must contain {token}";
}

static const char *check_timezone(const char *s)
{
        return quiet_zone_known(s) ? NULL : "is not a known IANA time zone (e.g. Europe/Amsterdam)";
}

static const char *check_country(const char *s)
{
        return strlen(s) == 2 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1])
                       ? NULL
                       : "must be an ISO 3166-1 alpha-2 code such as NL";
}

/* "HH:MM-HH:MM" (the window may wrap midnight), or "none". */
static const char *check_quiet_hours(const char *s)
{
        int h1, m1, h2, m2, n = 0;
        if (strcmp(s, "none") == 0)
                return NULL;
        if (sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 || s[n] ||
            strlen(s) != 11 || h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59 || h1 < 0 || h2 < 0 ||
            m1 < 0 || m2 < 0 || (h1 == h2 && m1 == m2))
                return "must be HH:MM-HH:MM (e.g. 21:00-08:00) or none";
        return NULL;
}

static const char *check_date(const char *s)
{
        int64_t days;
        return civil_parse(s, &days) < 0 ? "is not a date (YYYY-MM-DD)" : NULL;
}

static const char *check_rate(const char *s)
{
        static __thread struct error err;
        struct ratelimit_rate r;
        return ratelimit_parse(s, &r, &err) < 0 ? err.msg : NULL;
}

/* Sent on the wire inside AUTH: no spaces or control characters. */
static const char *check_acl_user(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p <= ' ' || *p == 0x7f)
                        return "must not contain spaces or control characters";
        return NULL;
}

/* A step name as job.c takes it. */
static const char *check_step(const char *s)
{
        static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789_.-";

        return strlen(s) > 64 || s[strspn(s, ok)] ? "must be 1-64 characters from A-Z a-z "
                                                    "0-9 . _ -"
                                                  : NULL;
}

static const char *check_channel(const char *s)
{
        return strcmp(s, "email") && strcmp(s, "sms") && strcmp(s, "letter")
                       ? "is not a channel (email, sms, letter)"
                       : NULL;
}

static const char *check_listen(const char *s)
{
        static const char bad[] = "must be HOST:PORT with PORT 1..65535 ([ADDR]:PORT for IPv6)";
        const char *port;
        long n = 0;

        if (*s == '[') {
                const char *end = strchr(s, ']');
                if (!end || end == s + 1 || end[1] != ':')
                        return bad;
                port = end + 2;
        } else {
                port = strchr(s, ':');
                if (!port || port == s || strchr(port + 1, ':'))
                        return bad;
                port++;
        }
        if (!*port || port[strspn(port, "0123456789")] || strlen(port) > 5)
                return bad;
        n = strtol(port, NULL, 10);
        return n >= 1 && n <= 65535 ? NULL : bad;
}

static void report(struct load *l, int line, int col, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static void report(struct load *l, int line, int col, const char *key, const char *fmt, ...)
{
        char reason[400];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        config_yaml_error_add(l->err, "%s:%d:%d: %s: %s", l->path, line, col, key, reason);
        l->n_errors++;
}

static const char *kind_name(const struct config_yaml_node *n)
{
        switch (n->kind) {
        case CONFIG_YAML_SCALAR:
                return "a scalar";
        case CONFIG_YAML_SEQUENCE:
                return "a list";
        case CONFIG_YAML_MAPPING:
                return "a mapping";
        }
        return "something else";
}

static const char *type_name(enum key_type t)
{
        switch (t) {
        case KEY_STRING:
        case KEY_ENUM:
                return "a string";
        case KEY_INT:
                return "an integer";
        case KEY_DOUBLE:
                return "a number";
        case KEY_BOOL:
                return "true or false";
        case KEY_STRLIST:
                return "a list of strings";
        case KEY_SECRET:
                return "a file name";
        case KEY_FLOWS:
                return "a mapping of segments to lists of steps";
        }
        return "something else";
}

static bool enum_has(const char *allowed, const char *s)
{
        size_t n = strlen(s);

        for (const char *p = allowed; *p;) {
                size_t len = strcspn(p, "|");
                if (len == n && !strncmp(p, s, n))
                        return true;
                p += len;
                if (*p)
                        p++;
        }
        return false;
}

/* Reads a secret file into *out, without its one trailing newline. On
 * failure returns a negative errno and writes the reason (never the
 * content) into why. */
static int read_secret(const char *file, char **out, char *why, size_t why_size)
{
        char *data = NULL;
        size_t len = 0;
        int fd, r = 0;

        fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                snprintf(why, why_size, "cannot read %s: %s", file, strerror(-r));
                goto out;
        }
        /* room for the secret, its "\r\n" and one byte telling it is too long */
        data = xmalloc(SECRET_MAX + 3);
        for (;;) {
                ssize_t n = read(fd, data + len, SECRET_MAX + 3 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        snprintf(why, why_size, "cannot read %s: %s", file, strerror(-r));
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len == SECRET_MAX + 3)
                        break;
        }
        if (len && data[len - 1] == '\n') {
                len--;
                if (len && data[len - 1] == '\r')
                        len--;
        }
        if (len > SECRET_MAX) {
                r = -EFBIG;
                snprintf(why, why_size, "%s is larger than 64 KiB", file);
                goto out;
        }
        if (!len) {
                r = -EINVAL;
                snprintf(why, why_size, "%s is empty", file);
                goto out;
        }
        if (memchr(data, '\0', len)) {
                r = -EINVAL;
                snprintf(why, why_size, "%s contains a NUL byte", file);
                goto out;
        }
        *out = xstrndup(data, len);
out:
        if (data) {
                explicit_bzero(data, SECRET_MAX + 3);
                free(data);
        }
        if (fd >= 0)
                close(fd);
        return r;
}

/* The set_* functions below write into target (a field of the struct
 * config or, for the rows of a list of mappings, of one row) and name the
 * node's own path in errors: the key's name, or "flows.default[1].step". */
static int set_int(struct load *l, const struct key *k, const struct config_yaml_node *n,
                   int *target)
{
        const char *s = n->value;
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (!*s || end == s || *end || isspace((unsigned char)*s)) {
                report(l, n->value_line, n->value_col, n->key, "\"%s\" is not an integer", s);
                return -EINVAL;
        }
        if (errno == ERANGE || v < k->min || v > k->max) {
                report(l, n->value_line, n->value_col, n->key, "%s is out of range (%lld..%lld)",
                       s, k->min, k->max);
                return -ERANGE;
        }
        *target = (int)v;
        return 0;
}

static int set_double(struct load *l, const struct key *k, const struct config_yaml_node *n,
                      double *target)
{
        const char *s = n->value;
        char *end;

        errno = 0;
        double v = strtod(s, &end);
        if (!*s || end == s || *end || isspace((unsigned char)*s) || !isfinite(v)) {
                report(l, n->value_line, n->value_col, n->key, "\"%s\" is not a number", s);
                return -EINVAL;
        }
        if (errno == ERANGE || v < k->dmin || v > k->dmax) {
                report(l, n->value_line, n->value_col, n->key, "%s is out of range (%g..%g)", s,
                       k->dmin, k->dmax);
                return -ERANGE;
        }
        *target = v;
        return 0;
}

static int set_list(struct load *l, const struct key *k, const struct config_yaml_node *n,
                    void *base)
{
        char ***list = (char ***)((char *)base + k->offset);
        size_t *count = (size_t *)((char *)base + k->count_offset);
        const char *reason;

        if (n->kind != CONFIG_YAML_SEQUENCE || n->nested) {
                report(l, n->value_line, n->value_col, n->key, "expected %s, got %s",
                       type_name(k->type), n->nested ? "a list of lists or mappings" : kind_name(n));
                return -EINVAL;
        }
        for (size_t i = 0; i < n->n_items; i++) {
                if (!*n->items[i]) {
                        report(l, n->value_line, n->value_col, n->key, "item %zu is empty",
                               i + 1);
                        return -EINVAL;
                }
                reason = k->check ? k->check(n->items[i]) : NULL;
                if (reason) {
                        report(l, n->item_line[i], n->item_col[i], n->key,
                               "item %zu \"%s\" %s", i + 1, n->items[i], reason);
                        return -EINVAL;
                }
        }
        *list = xcalloc(n->n_items + 1, sizeof(**list));
        for (size_t i = 0; i < n->n_items; i++)
                (*list)[i] = xstrdup(n->items[i]);
        *count = n->n_items;
        return 0;
}

static int set_flows(struct load *l, const struct key *k, const struct config_yaml_node *n,
                     void *base);

/* Converts node n into the field of row k in base, reporting what is wrong. */
static int set_field(struct load *l, const struct key *k, const struct config_yaml_node *n,
                     void *base)
{
        void *target = (char *)base + k->offset;
        const char *reason, *s = n->value;
        char why[512];
        struct buf b = BUF_INIT;

        if (k->type == KEY_STRLIST)
                return set_list(l, k, n, base);
        if (k->type == KEY_FLOWS)
                return set_flows(l, k, n, base);
        if (n->kind != CONFIG_YAML_SCALAR) {
                report(l, n->value_line, n->value_col, n->key, "expected %s, got %s",
                       type_name(k->type), kind_name(n));
                return -EINVAL;
        }
        if (!*s && k->type != KEY_INT && k->type != KEY_DOUBLE && k->type != KEY_BOOL) {
                report(l, n->value_line, n->value_col, n->key, "must not be empty");
                return -EINVAL;
        }

        switch (k->type) {
        case KEY_STRING:
                reason = k->check ? k->check(s) : NULL;
                if (reason) {
                        report(l, n->value_line, n->value_col, n->key, "\"%s\" %s", s, reason);
                        return -EINVAL;
                }
                *(char **)target = xstrdup(s);
                return 0;
        case KEY_INT:
                return set_int(l, k, n, target);
        case KEY_DOUBLE:
                return set_double(l, k, n, target);
        case KEY_BOOL:
                if (strcmp(s, "true") && strcmp(s, "false")) {
                        report(l, n->value_line, n->value_col, n->key,
                               "\"%s\" is not true or false", s);
                        return -EINVAL;
                }
                *(bool *)target = !strcmp(s, "true");
                return 0;
        case KEY_ENUM:
                if (!enum_has(k->allowed, s)) {
                        for (const char *p = k->allowed; *p; p++) {
                                if (*p == '|')
                                        buf_puts(&b, ", ");
                                else
                                        buf_putc(&b, *p);
                        }
                        report(l, n->value_line, n->value_col, n->key,
                               "unknown value \"%s\" (expected one of: %s)", s, buf_str(&b));
                        buf_free(&b);
                        return -EINVAL;
                }
                *(char **)target = xstrdup(s);
                return 0;
        case KEY_SECRET:
                if (read_secret(s, (char **)target, why, sizeof(why)) < 0) {
                        report(l, n->value_line, n->value_col, n->key, "%s", why);
                        return -EINVAL;
                }
                return 0;
        case KEY_STRLIST:
        case KEY_FLOWS:
                break;
        }
        return -EINVAL;
}

static int set_value(struct load *l, const struct key *k, const struct config_yaml_node *n)
{
        return set_field(l, k, n, l->cfg);
}

static const struct key *find_key(const char *name, size_t *index)
{
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                if (!strcmp(keys[i].name, name)) {
                        *index = i;
                        return &keys[i];
                }
        }
        return NULL;
}

/* a mapping that holds keys: "" (the top), "queue", "channels.email" */
static bool is_group(const char *name, size_t len)
{
        if (!len)
                return true;
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                if (!strncmp(keys[i].name, name, len) && keys[i].name[len] == '.')
                        return true;
        return false;
}

/* "a.b" and "a[0]" are below "a": a list's items are its key's business. */
static size_t parent_len(const char *name)
{
        const char *dot = strrchr(name, '.'), *item = strrchr(name, '[');
        if (item && (!dot || item > dot))
                dot = item;
        return dot ? (size_t)(dot - name) : 0;
}

static void apply_nodes(struct load *l, const struct config_yaml_doc *doc)
{
        for (size_t i = 0; i < doc->n_nodes; i++) {
                const struct config_yaml_node *n = &doc->nodes[i];
                const struct key *k;
                size_t idx;

                /* below an unknown or wrongly typed key: already reported */
                if (!is_group(n->key, parent_len(n->key)))
                        continue;
                k = find_key(n->key, &idx);
                if (k) {
                        l->seen[idx].node = n;
                        l->seen[idx].bad = set_value(l, k, n) < 0;
                } else if (!is_group(n->key, strlen(n->key))) {
                        report(l, n->line, n->col, n->key, "unknown key");
                } else if (n->kind != CONFIG_YAML_MAPPING) {
                        report(l, n->value_line, n->value_col, n->key,
                               "expected a mapping, got %s", kind_name(n));
                }
        }
}

static const struct config_yaml_node *find_node(const struct config_yaml_doc *doc,
                                                const char *name, size_t len)
{
        for (size_t i = 0; i < doc->n_nodes; i++)
                if (!strncmp(doc->nodes[i].key, name, len) && !doc->nodes[i].key[len])
                        return &doc->nodes[i];
        return NULL;
}

static void apply_defaults(struct load *l, const struct config_yaml_doc *doc)
{
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                const struct key *k = &keys[i];
                const struct config_yaml_node *parent;
                size_t len = parent_len(k->name);

                if (l->seen[i].node)
                        continue;
                if (k->required) {
                        parent = len ? find_node(doc, k->name, len) : NULL;
                        report(l, parent ? parent->line : 1, parent ? parent->col : 1, k->name,
                               "required key missing");
                        l->seen[i].bad = true;
                } else if (k->def) {
                        struct config_yaml_node def = {
                                .key = (char *)k->name,
                                .kind = CONFIG_YAML_SCALAR,
                                .value = (char *)k->def,
                                .line = 1, .col = 1, .value_line = 1, .value_col = 1,
                        };
                        l->seen[i].bad = set_value(l, k, &def) < 0;
                }
        }
}

/* A key that another key's value makes necessary: reported at the node
 * that asks for it (why is e.g. "paylink.provider is mollie"). */
static void require(struct load *l, const char *name, bool present, const char *because,
                    const char *why)
{
        size_t i = 0, b = 0;
        /* A key in the file with a bad value has its own error already. */
        if (present || !find_key(name, &i) || !find_key(because, &b) || l->seen[b].bad ||
            l->seen[i].node)
                return;
        const struct config_yaml_node *n = l->seen[b].node;
        report(l, n ? n->value_line : 1, n ? n->value_col : 1, name, "required when %s", why);
}

/* Rules between keys, checked once each key is valid on its own. */
static void check_relations(struct load *l)
{
        const struct config *c = l->cfg;
        size_t base = 0, max = 0;
        const struct config_yaml_node *n;
        const struct config_channel *sms = &c->channels.sms;

        if (sms->transport && strcmp(sms->transport, "http") == 0) {
                require(l, "channels.sms.token_file", sms->token, "channels.sms.transport",
                        "channels.sms.transport is http");
                if (sms->provider && strcmp(sms->provider, "twilio") == 0)
                        require(l, "channels.sms.account_sid", sms->account_sid,
                                "channels.sms.provider", "channels.sms.provider is twilio");
                if (sms->provider && strcmp(sms->provider, "generic") == 0)
                        require(l, "channels.sms.url", sms->url, "channels.sms.provider",
                                "channels.sms.provider is generic");
        }
        const struct config_channel *letter = &c->channels.letter;
        if (letter->transport && strcmp(letter->transport, "http") == 0) {
                require(l, "channels.letter.url", letter->url, "channels.letter.transport",
                        "channels.letter.transport is http");
                require(l, "channels.letter.token_file", letter->token,
                        "channels.letter.transport", "channels.letter.transport is http");
        }
        if (c->paylink.provider && strcmp(c->paylink.provider, "mollie") == 0) {
                require(l, "paylink.api_key_file", c->paylink.api_key, "paylink.provider",
                        "paylink.provider is mollie");
                require(l, "paylink.redirect_url", c->paylink.redirect_url, "paylink.provider",
                        "paylink.provider is mollie");
        }
        if (c->redis.username)
                require(l, "redis.password_file", c->redis.password, "redis.username",
                        "redis.username is set");
        /* The contact limits' send times are kept with the history. */
        if ((c->limits.contact_max > 0 || c->limits.contact_gap_hours > 0) &&
            !c->history.enabled) {
                size_t h = 0;
                n = find_key("history.enabled", &h) ? l->seen[h].node : NULL;
                report(l, n ? n->value_line : 1, n ? n->value_col : 1, "history.enabled",
                       "must be true when limits.contact is set");
        }
        if (c->paylink.provider && strcmp(c->paylink.provider, "static") == 0) {
                require(l, "paylink.url_template", c->paylink.url_template, "paylink.provider",
                        "paylink.provider is static");
                require(l, "paylink.secret_file", c->paylink.secret, "paylink.provider",
                        "paylink.provider is static");
        }

        if (c->ui.enabled)
                require(l, "ui.token_file", c->ui.token, "ui.enabled", "ui.enabled is true");
        /* The token is the dashboard's only password and logins are not
         * slowed down: one that can be guessed is refused. */
        if (c->ui.token && strlen(c->ui.token) < UI_TOKEN_MIN) {
                size_t t = 0;
                n = find_key("ui.token_file", &t) ? l->seen[t].node : NULL;
                report(l, n ? n->value_line : 1, n ? n->value_col : 1, "ui.token_file",
                       "the token is %zu characters; at least %d are needed",
                       strlen(c->ui.token), UI_TOKEN_MIN);
        }

        if (!find_key("queue.retry_base_ms", &base) || !find_key("queue.retry_max_ms", &max))
                return;
        if (!l->seen[base].bad && !l->seen[max].bad &&
            c->queue.retry_max_ms < c->queue.retry_base_ms) {
                n = l->seen[max].node ? l->seen[max].node : l->seen[base].node;
                report(l, n ? n->value_line : 1, n ? n->value_col : 1, "queue.retry_max_ms",
                       "%d is less than queue.retry_base_ms (%d)", c->queue.retry_max_ms,
                       c->queue.retry_base_ms);
        }
}

/* ---- lists of mappings: flows ------------------------------------ */

/* A list whose items are mappings is read row by row against a small
 * table of its own, like keys[] (offsets into the row's struct, names
 * relative to the item): parsing, bounds, required fields and the
 * FILE:LINE:COL errors come from set_field as for any key. */
struct rows {
        const struct key *keys;
        size_t n_keys;
        size_t size;                     /* of one row's struct */
        void (*init)(void *row);         /* before any field is set */
};

#define STEP_FIELD(f) offsetof(struct config_flow_step, f)
static const struct key step_keys[] = {
        { .name = "step", .type = KEY_STRING, .offset = STEP_FIELD(step), .required = true,
          .check = check_step },
        { .name = "after_due_days", .type = KEY_INT, .offset = STEP_FIELD(after_due_days),
          .min = 0, .max = 3650 },
        { .name = "after_previous_days", .type = KEY_INT,
          .offset = STEP_FIELD(after_previous_days), .min = 0, .max = 3650 },
        { .name = "channels", .type = KEY_STRLIST, .offset = STEP_FIELD(channels),
          .count_offset = STEP_FIELD(n_channels), .check = check_channel },
};

static void step_init(void *row)
{
        struct config_flow_step *st = row;
        st->after_due_days = st->after_previous_days = -1;
}

static const struct rows step_rows = { step_keys, ARRAY_SIZE(step_keys),
                                       sizeof(struct config_flow_step), step_init };

static void rows_free(const struct rows *r, void *items, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char *row = (char *)items + i * r->size;
                for (size_t j = 0; j < r->n_keys; j++) {
                        void *target = row + r->keys[j].offset;
                        if (r->keys[j].type == KEY_STRING || r->keys[j].type == KEY_ENUM)
                                free(*(char **)target);
                        if (r->keys[j].type == KEY_STRLIST) {
                                char **list = *(char ***)target;
                                for (size_t k = 0; list && list[k]; k++)
                                        free(list[k]);
                                free(list);
                        }
                }
        }
        free(items);
}

static const struct config_yaml_node *doc_node(const struct load *l, const char *key)
{
        for (size_t i = 0; i < l->doc->n_nodes; i++)
                if (!strcmp(l->doc->nodes[i].key, key))
                        return &l->doc->nodes[i];
        return NULL;
}

/* Reads the list node seq, whose items must be mappings, into a new array
 * of rows (*items, *count). Returns 0, or -EINVAL with every problem
 * reported (nothing allocated then). */
static int set_rows(struct load *l, const struct config_yaml_node *seq, const struct rows *r,
                    void **items, size_t *count)
{
        size_t n = 0, bad = l->n_errors;
        char *rows = NULL;

        if (seq->kind != CONFIG_YAML_SEQUENCE) {
                report(l, seq->value_line, seq->value_col, seq->key,
                       "expected a list of mappings, got %s", kind_name(seq));
                return -EINVAL;
        }
        if (seq->n_items) {
                report(l, seq->item_line[0], seq->item_col[0], seq->key,
                       "\"%s\" is not a mapping (expected a list of mappings)", seq->items[0]);
        }
        /* A list item leaves no "<list>[i]" node either: without this the
         * list's other items would be read as if it were not there. */
        if (seq->list_item)
                report(l, seq->value_line, seq->value_col, seq->key,
                       "a list inside the list (expected a list of mappings)");
        /* The item mappings are the nodes "<list>[i]" (config_yaml.h);
         * scalar items, reported above, leave gaps in the numbering. */
        char name[512];
        size_t len = strlen(seq->key), last = 0;
        for (size_t i = 0; i < l->doc->n_nodes; i++) {
                const char *key = l->doc->nodes[i].key;
                char *end;
                if (strncmp(key, seq->key, len) || key[len] != '[')
                        continue;
                size_t at = strtoul(key + len + 1, &end, 10);
                if (!strcmp(end, "]") && at + 1 > last)
                        last = at + 1;
        }
        for (size_t i = 0; i < last; i++) {
                snprintf(name, sizeof(name), "%s[%zu]", seq->key, i);
                n += doc_node(l, name) != NULL;
        }
        if (!n) {
                if (l->n_errors == bad)
                        report(l, seq->value_line, seq->value_col, seq->key,
                               "must not be empty");
                return -EINVAL;
        }
        rows = xcalloc(n, r->size);
        for (size_t i = 0, at = 0; i < last; i++) {
                size_t plen = (size_t)snprintf(name, sizeof(name), "%s[%zu]", seq->key, i);
                const struct config_yaml_node *item = doc_node(l, name);
                if (!item)
                        continue;
                char *row = rows + at++ * r->size;

                r->init(row);
                for (size_t j = 0; j < l->doc->n_nodes; j++) {
                        const struct config_yaml_node *f = &l->doc->nodes[j];
                        const struct key *k = NULL;
                        if (strncmp(f->key, name, plen) || f->key[plen] != '.')
                                continue;
                        for (size_t x = 0; x < r->n_keys && !k; x++)
                                if (!strcmp(r->keys[x].name, f->key + plen + 1))
                                        k = &r->keys[x];
                        if (!k && !strchr(f->key + plen + 1, '.') &&
                            !strchr(f->key + plen + 1, '['))
                                report(l, f->line, f->col, f->key, "unknown key");
                        else if (k)
                                set_field(l, k, f, row);
                }
                for (size_t x = 0; x < r->n_keys; x++) {
                        char field[600];
                        snprintf(field, sizeof(field), "%s.%s", name, r->keys[x].name);
                        if (r->keys[x].required && !doc_node(l, field))
                                report(l, item->line, item->col, field, "required key missing");
                }
        }
        if (l->n_errors > bad) {
                rows_free(r, rows, n);
                return -EINVAL;
        }
        *items = rows;
        *count = n;
        return 0;
}

static void flows_free(struct config_flow *flows, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(flows[i].segment);
                rows_free(&step_rows, flows[i].steps, flows[i].n_steps);
        }
        free(flows);
}

/* The rules between the steps of one flow, each reported at its step. */
static void check_flow(struct load *l, const char *list, struct config_flow *f)
{
        for (size_t i = 0; i < f->n_steps; i++) {
                struct config_flow_step *st = &f->steps[i];
                char name[512];
                snprintf(name, sizeof(name), "%s[%zu]", list, i);
                const struct config_yaml_node *item = doc_node(l, name);

                st->handover = !strcmp(st->step, "handover");
                for (size_t c = 0; c < st->n_channels; c++)
                        st->channel_mask |= 1u << (!strcmp(st->channels[c], "email") ? 0
                                                   : !strcmp(st->channels[c], "sms") ? 1
                                                                                      : 2);
                for (size_t j = 0; j < i; j++)
                        if (!strcmp(f->steps[j].step, st->step))
                                report(l, item->line, item->col, name,
                                       "step \"%s\" is already %s[%zu]", st->step, list, j);
                if (st->after_due_days >= 0 && st->after_previous_days >= 0)
                        report(l, item->line, item->col, name,
                               "after_due_days and after_previous_days are exclusive");
                if (st->handover && i + 1 != f->n_steps)
                        report(l, item->line, item->col, name,
                               "the handover step must be the last");
                if (st->handover && st->channels)
                        report(l, item->line, item->col, name,
                               "the handover step sends no message: no channels");
        }
}

/* flows: { <segment>: [ { step, after_due_days | after_previous_days,
 * channels }, ... ], ... } */
static int set_flows(struct load *l, const struct key *k, const struct config_yaml_node *n,
                     void *base)
{
        struct config_flow **flows = (struct config_flow **)((char *)base + k->offset);
        size_t *count = (size_t *)((char *)base + k->count_offset);
        size_t len = strlen(n->key), nf = 0, bad = l->n_errors;
        struct config_flow *out = NULL;

        if (n->kind != CONFIG_YAML_MAPPING) {
                report(l, n->value_line, n->value_col, n->key, "expected %s, got %s",
                       type_name(k->type), kind_name(n));
                return -EINVAL;
        }
        for (size_t i = 0; i < l->doc->n_nodes; i++) {
                const struct config_yaml_node *seg = &l->doc->nodes[i];
                struct config_flow f = { 0 };
                void *steps = NULL;
                if (strncmp(seg->key, n->key, len) || seg->key[len] != '.' ||
                    strpbrk(seg->key + len + 1, ".["))
                        continue;
                if (check_step(seg->key + len + 1)) {
                        report(l, seg->line, seg->col, seg->key,
                               "a segment name must be 1-64 characters from A-Z a-z 0-9 . _ -");
                        continue;
                }
                if (set_rows(l, seg, &step_rows, &steps, &f.n_steps) < 0)
                        continue;
                f.steps = steps;
                f.segment = xstrdup(seg->key + len + 1);
                check_flow(l, seg->key, &f);
                out = xrealloc(out, (nf + 1) * sizeof(*out));
                out[nf++] = f;
        }
        if (l->n_errors > bad) {
                flows_free(out, nf);
                return -EINVAL;
        }
        *flows = out;
        *count = nf;
        return 0;
}

int config_load(struct config **out, const char *path, struct error *err)
{
        struct config_yaml_doc doc = { 0 };
        struct load *l;
        int r;

        if (err)
                err->msg[0] = '\0';
        l = xcalloc(1, sizeof(*l));
        l->path = path;
        l->err = err;
        l->cfg = xcalloc(1, sizeof(*l->cfg));
        l->cfg->path = xstrdup(path);

        r = config_yaml_load(&doc, path, err);
        if (r < 0)
                goto out;
        l->n_errors = doc.n_errors;
        l->doc = &doc;
        apply_nodes(l, &doc);
        apply_defaults(l, &doc);
        check_relations(l);
        if (l->n_errors) {
                r = -EINVAL;
                goto out;
        }
        *out = l->cfg;
        l->cfg = NULL;
        r = 0;
out:
        config_free(l->cfg);
        config_yaml_doc_free(&doc);
        free(l);
        return r;
}

void config_free(struct config *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                void *target = (char *)cfg + keys[i].offset;
                char **list;
                char *s;

                switch (keys[i].type) {
                case KEY_STRING:
                case KEY_ENUM:
                        free(*(char **)target);
                        break;
                case KEY_SECRET:
                        s = *(char **)target;
                        if (s) {
                                explicit_bzero(s, strlen(s));
                                free(s);
                        }
                        break;
                case KEY_STRLIST:
                        list = *(char ***)target;
                        for (size_t j = 0; list && list[j]; j++)
                                free(list[j]);
                        free(list);
                        break;
                case KEY_FLOWS:
                        flows_free(*(struct config_flow **)target,
                                   *(size_t *)((char *)cfg + keys[i].count_offset));
                        break;
                case KEY_INT:
                case KEY_DOUBLE:
                case KEY_BOOL:
                        break;
                }
        }
        free(cfg->path);
        free(cfg);
}
