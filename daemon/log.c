/* log.c: logfmt lines with journald priority prefixes and PII masking. */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

static atomic_int max_prio = LOG_INFO;
static atomic_bool journal;

void log_init(int max_priority)
{
        atomic_store(&max_prio, max_priority);
        atomic_store(&journal, getenv("JOURNAL_STREAM") != NULL);
}

int log_level_from_name(const char *name)
{
        static const struct {
                const char *name;
                int prio;
        } levels[] = {
                { "debug", LOG_DEBUG },
                { "info", LOG_INFO },
                { "warning", LOG_WARNING },
                { "error", LOG_ERR },
        };
        for (size_t i = 0; name && i < sizeof(levels) / sizeof(levels[0]); i++)
                if (strcmp(name, levels[i].name) == 0)
                        return levels[i].prio;
        return -1;
}

static const char *level_name(int prio)
{
        switch (prio) {
        case LOG_DEBUG: return "debug";
        case LOG_INFO: return "info";
        case LOG_NOTICE: return "notice";
        case LOG_WARNING: return "warning";
        case LOG_ERR: return "error";
        default: return "critical";
        }
}

void log_mask_email(char *out, size_t n, const char *email)
{
        const char *at = strchr(email, '@');
        if (!at || at == email) {
                snprintf(out, n, "***");
                return;
        }
        snprintf(out, n, "%c***%s", email[0], at);
}

void log_mask_phone(char *out, size_t n, const char *phone)
{
        size_t len = strlen(phone);
        if (len < 7) {
                snprintf(out, n, "***");
                return;
        }
        /* Keep the country code with the first digits (the network) and
         * the last three (enough to tell two numbers apart at 3 a.m.):
         * "+3161****678". Short numbers keep less, so that at least three
         * digits are always hidden. */
        size_t head = len >= 11 ? 5 : 3, tail = len >= 11 ? 3 : 2;
        struct buf b = BUF_INIT;
        for (size_t i = 0; i < len; i++)
                buf_putc(&b, (i < head || i >= len - tail) ? phone[i] : '*');
        snprintf(out, n, "%s", buf_str(&b));
        buf_free(&b);
}

static bool email_char(char c)
{
        return isalnum((unsigned char)c) || strchr("._%+-!#$&'*/=?^`{|}~", c) || (unsigned char)c >= 0x80;
}

/* Length of an e-mail address starting at s (0 when there is none). */
static size_t email_at(const char *s)
{
        size_t i = 0;
        while (s[i] && email_char(s[i]))
                i++;
        if (i == 0 || s[i] != '@')
                return 0;
        size_t j = i + 1, dots = 0;
        while (s[j] && (isalnum((unsigned char)s[j]) || s[j] == '.' || s[j] == '-')) {
                if (s[j] == '.')
                        dots++;
                j++;
        }
        return (j > i + 1 && dots > 0) ? j : 0;
}

static size_t phone_at(const char *s)
{
        size_t i = 1;
        if (s[0] != '+')
                return 0;
        while (isdigit((unsigned char)s[i]))
                i++;
        return (i - 1 >= 8 && i - 1 <= 15) ? i : 0;
}

void log_scrub(struct buf *line, const char *value)
{
        char masked[512];
        const char *p = value;
        while (*p) {
                size_t n;
                /* Only at a word start, so "a+b" inside a token is kept. */
                bool start = p == value || !email_char(p[-1]);
                if (start && (n = email_at(p)) > 0) {
                        char *addr = xstrndup(p, n);
                        log_mask_email(masked, sizeof(masked), addr);
                        free(addr);
                        buf_puts(line, masked);
                        p += n;
                } else if ((n = phone_at(p)) > 0) {
                        char *num = xstrndup(p, n);
                        log_mask_phone(masked, sizeof(masked), num);
                        free(num);
                        buf_puts(line, masked);
                        p += n;
                } else {
                        buf_putc(line, *p++);
                }
        }
}

static void put_value(struct buf *line, const char *value)
{
        struct buf v = BUF_INIT;
        bool quote = value[0] == '\0';
        log_scrub(&v, value);
        for (const char *p = buf_str(&v); *p; p++)
                if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
                        quote = true;
        if (!quote) {
                buf_puts(line, buf_str(&v));
        } else {
                buf_putc(line, '"');
                for (const char *p = buf_str(&v); *p; p++) {
                        if (*p == '"' || *p == '\\') {
                                buf_putc(line, '\\');
                                buf_putc(line, *p);
                        } else if (*p == '\n') {
                                buf_puts(line, "\\n");
                        } else if ((unsigned char)*p < 0x20) {
                                buf_printf(line, "\\x%02x", (unsigned char)*p);
                        } else {
                                buf_putc(line, *p);
                        }
                }
                buf_putc(line, '"');
        }
        buf_free(&v);
}

void log_event(int priority, const char *msg, ...)
{
        struct buf line = BUF_INIT;
        va_list ap;

        if (priority > atomic_load(&max_prio))
                return;
        if (atomic_load(&journal)) {
                buf_printf(&line, "<%d>", priority);
        } else {
                struct timespec ts;
                struct tm tm;
                char when[32];
                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
                buf_printf(&line, "ts=%s.%03ldZ ", when, ts.tv_nsec / 1000000);
        }
        buf_printf(&line, "level=%s msg=", level_name(priority));
        put_value(&line, msg);

        va_start(ap, msg);
        for (;;) {
                const char *key = va_arg(ap, const char *);
                if (!key)
                        break;
                const char *value = va_arg(ap, const char *);
                if (!value)
                        continue;
                buf_printf(&line, " %s=", key);
                put_value(&line, value);
        }
        va_end(ap);
        buf_putc(&line, '\n');

        const char *p = buf_str(&line);
        size_t left = line.len;
        while (left > 0) {
                ssize_t w = write(STDERR_FILENO, p, left);
                if (w <= 0)
                        break;
                p += w;
                left -= (size_t)w;
        }
        buf_free(&line);
}
