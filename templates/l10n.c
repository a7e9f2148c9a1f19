/* l10n.c: money and date formatting with ICU's C API, and the per-thread
 * cache of opened formatters. The only file that includes ICU headers.
 *
 * Money goes to unum_formatDecimal as a decimal string built from the
 * integer minor units ("1234.56"), with the fraction digits pinned to the
 * currency's and rounding set to "unnecessary", so ICU can never round an
 * amount. Dates are formatted at 00:00 GMT of the day, by a formatter
 * whose time zone is GMT, so no zone can move them to another day. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucurr.h>
#include <unicode/udat.h>
#include <unicode/udatpg.h>
#include <unicode/uloc.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>
#include <unicode/utypes.h>

#include "l10n.h"

#include "civil.h"

/* Longest locale tag we accept; real ones are under 20 bytes. */
#define TAG_MAX 64
/* Formatters kept per cache: a worker sees a handful of (locale, currency)
 * pairs, and each needs one money and two date formatters at most. */
#define CACHE_SLOTS 16

enum slot_kind {
        SLOT_FREE,
        SLOT_MONEY,
        SLOT_DATE,
};

struct slot {
        enum slot_kind kind;
        char tag[TAG_MAX + 1];          /* the locale exactly as the caller gave it */
        char currency[4];               /* SLOT_MONEY */
        int digits;                     /* SLOT_MONEY: minor digits of currency */
        enum l10n_date_style style;   /* SLOT_DATE */
        void *fmt;                      /* UNumberFormat or UDateFormat */
        uint64_t used;                  /* tick of the last use, for eviction */
        /* SLOT_DATE: the last dates formatted and their texts. A
         * campaign's invoices share issue and due dates, and "today" is
         * the same all day, so this saves most udat_format calls. */
        struct {
                int64_t days;
                char text[96];
        } memo[4];
        unsigned memo_next;
};

struct l10n_cache {
        struct slot slots[CACHE_SLOTS];
        uint64_t tick;
};

static const UChar gmt[] = { 'G', 'M', 'T', 0 };
/* Two-digit day and month, four-digit year; the generator supplies the
 * locale's order and separators. */
static const UChar numeric_skeleton[] = { 'd', 'd', 'M', 'M', 'y', 'y', 'y', 'y', 0 };

/* The ICU locale ID ("nl_NL") of a BCP 47 tag ("nl-NL" or "nl_NL"), or
 * -EINVAL when tag is not one, entirely. */
static int icu_id(const char *tag, char *id, size_t cap)
{
        char t[TAG_MAX + 1];
        size_t n = tag ? strlen(tag) : 0;

        if (n == 0 || n > TAG_MAX)
                return -EINVAL;
        for (size_t i = 0; i <= n; i++)
                t[i] = tag[i] == '_' ? '-' : tag[i];

        UErrorCode st = U_ZERO_ERROR;
        int32_t parsed = 0;
        int32_t len = uloc_forLanguageTag(t, id, (int32_t)cap, &parsed, &st);
        if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING || parsed != (int32_t)n ||
            len <= 0)
                return -EINVAL;
        return 0;
}

static bool icu_available(const char *id)
{
        int32_t n = uloc_countAvailable();

        for (int32_t i = 0; i < n; i++)
                if (strcmp(uloc_getAvailable(i), id) == 0)
                        return true;
        return false;
}

bool l10n_known(const char *locale)
{
        char id[ULOC_FULLNAME_CAPACITY], base[ULOC_FULLNAME_CAPACITY], max[ULOC_FULLNAME_CAPACITY];
        UErrorCode st = U_ZERO_ERROR;

        if (icu_id(locale, id, sizeof(id)) < 0)
                return false;
        /* Keywords (-u-nu-latn) do not change whether there is data. */
        uloc_getBaseName(id, base, sizeof(base), &st);
        if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
                return false;
        if (icu_available(base))
                return true;
        /* ICU lists zh_Hans_CN, not zh_CN. */
        uloc_addLikelySubtags(base, max, sizeof(max), &st);
        if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
                return false;
        return icu_available(max);
}

/* The UTF-16 code of currency, or -EINVAL when it is not three upper-case
 * letters that ICU knows as an ISO 4217 code (current or past). */
static int currency_code(const char *currency, UChar code[4])
{
        if (!currency || strlen(currency) != 3)
                return -EINVAL;
        for (int i = 0; i < 3; i++) {
                if (currency[i] < 'A' || currency[i] > 'Z')
                        return -EINVAL;
                code[i] = (UChar)currency[i];
        }
        code[3] = 0;

        UErrorCode st = U_ZERO_ERROR;
        if (!ucurr_isAvailable(code, U_DATE_MIN, U_DATE_MAX, &st) || U_FAILURE(st))
                return -EINVAL;
        return 0;
}

int l10n_minor_digits(const char *currency)
{
        UChar code[4];
        UErrorCode st = U_ZERO_ERROR;

        if (currency_code(currency, code) < 0)
                return -EINVAL;
        int32_t d = ucurr_getDefaultFractionDigits(code, &st);
        if (U_FAILURE(st) || d < 0)
                return -EINVAL;
        return d;
}

/* ICU failing on input we already validated means its data is broken or
 * memory ran out: not the caller's fault, so not -EINVAL. */
static int icu_error(struct error *err, const char *what, const char *arg, UErrorCode st)
{
        return error_set(err, -EIO, "ICU %s for '%s' failed: %s", what, arg, u_errorName(st));
}

static int open_money(const char *locale, const char *currency, UNumberFormat **out, int *digits,
                      struct error *err)
{
        char id[ULOC_FULLNAME_CAPACITY];
        UChar code[4];
        UErrorCode st = U_ZERO_ERROR;

        if (!l10n_known(locale) || icu_id(locale, id, sizeof(id)) < 0)
                return error_set(err, -EINVAL, "unknown locale '%s'", locale ? locale : "(null)");
        if (currency_code(currency, code) < 0)
                return error_set(err, -EINVAL, "unknown currency '%s'",
                                 currency ? currency : "(null)");
        int32_t d = ucurr_getDefaultFractionDigits(code, &st);
        if (U_FAILURE(st) || d < 0)
                return icu_error(err, "currency digits", currency, st);

        UNumberFormat *f = unum_open(UNUM_CURRENCY, NULL, 0, id, NULL, &st);
        if (U_FAILURE(st))
                return icu_error(err, "currency format", locale, st);
        unum_setTextAttribute(f, UNUM_CURRENCY_CODE, code, 3, &st);
        if (U_FAILURE(st)) {
                unum_close(f);
                return icu_error(err, "currency code", currency, st);
        }
        /* Setting the currency sets these too, but the decimal string we
         * pass has exactly d digits, so pin them, and make any rounding an
         * error rather than a changed amount. */
        unum_setAttribute(f, UNUM_MIN_FRACTION_DIGITS, d);
        unum_setAttribute(f, UNUM_MAX_FRACTION_DIGITS, d);
        unum_setAttribute(f, UNUM_ROUNDING_MODE, UNUM_ROUND_UNNECESSARY);
        *out = f;
        *digits = d;
        return 0;
}

static int open_date(const char *locale, enum l10n_date_style style, UDateFormat **out,
                     struct error *err)
{
        char id[ULOC_FULLNAME_CAPACITY];
        UErrorCode st = U_ZERO_ERROR;
        UDateFormat *f = NULL;

        if (!l10n_known(locale) || icu_id(locale, id, sizeof(id)) < 0)
                return error_set(err, -EINVAL, "unknown locale '%s'", locale ? locale : "(null)");
        if (style == L10N_DATE_LONG) {
                f = udat_open(UDAT_NONE, UDAT_LONG, id, gmt, -1, NULL, -1, &st);
        } else if (style == L10N_DATE_NUMERIC) {
                UChar pattern[64];
                UDateTimePatternGenerator *g = udatpg_open(id, &st);
                int32_t n = udatpg_getBestPattern(g, numeric_skeleton, -1, pattern,
                                                  (int32_t)(sizeof(pattern) / sizeof(pattern[0])),
                                                  &st);
                udatpg_close(g);
                if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
                        return icu_error(err, "numeric date pattern", locale, st);
                f = udat_open(UDAT_PATTERN, UDAT_PATTERN, id, gmt, -1, pattern, n, &st);
        } else {
                return error_set(err, -EINVAL, "unknown date style %d", (int)style);
        }
        if (U_FAILURE(st))
                return icu_error(err, "date format", locale, st);
        *out = f;
        return 0;
}

static void close_slot(struct slot *s)
{
        if (s->kind == SLOT_MONEY)
                unum_close(s->fmt);
        else if (s->kind == SLOT_DATE)
                udat_close(s->fmt);
        s->kind = SLOT_FREE;
        s->fmt = NULL;
}

struct l10n_cache *l10n_cache_new(void)
{
        return xcalloc(1, sizeof(struct l10n_cache));
}

void l10n_cache_free(struct l10n_cache *c)
{
        if (!c)
                return;
        for (int i = 0; i < CACHE_SLOTS; i++)
                close_slot(&c->slots[i]);
        free(c);
}

/* The slot for the new formatter: a free one, else the least recently
 * used, closed. */
static struct slot *cache_victim(struct l10n_cache *c)
{
        struct slot *v = &c->slots[0];

        for (int i = 0; i < CACHE_SLOTS; i++) {
                struct slot *s = &c->slots[i];
                if (s->kind == SLOT_FREE)
                        return s;
                if (s->used < v->used)
                        v = s;
        }
        close_slot(v);
        return v;
}

static bool cacheable(const char *locale)
{
        return locale && strlen(locale) <= TAG_MAX;
}

static struct slot *find_money(struct l10n_cache *c, const char *locale, const char *currency)
{
        if (!c || !cacheable(locale) || !currency)
                return NULL;
        for (int i = 0; i < CACHE_SLOTS; i++) {
                struct slot *s = &c->slots[i];
                if (s->kind == SLOT_MONEY && strcmp(s->tag, locale) == 0 &&
                    strcmp(s->currency, currency) == 0) {
                        s->used = ++c->tick;
                        return s;
                }
        }
        return NULL;
}

static struct slot *find_date(struct l10n_cache *c, const char *locale,
                              enum l10n_date_style style)
{
        if (!c || !cacheable(locale))
                return NULL;
        for (int i = 0; i < CACHE_SLOTS; i++) {
                struct slot *s = &c->slots[i];
                if (s->kind == SLOT_DATE && s->style == style && strcmp(s->tag, locale) == 0) {
                        s->used = ++c->tick;
                        return s;
                }
        }
        return NULL;
}

/* Appends the UTF-16 string u (n units) to out as UTF-8. */
static int append_utf8(struct buf *out, const UChar *u, int32_t n, struct error *err)
{
        char small[256];
        char *p = small;
        int32_t len = 0;
        UErrorCode st = U_ZERO_ERROR;

        u_strToUTF8(small, (int32_t)sizeof(small), &len, u, n, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR) {
                st = U_ZERO_ERROR;
                p = xmalloc((size_t)len + 1);
                u_strToUTF8(p, len + 1, &len, u, n, &st);
        }
        if (U_SUCCESS(st))
                buf_append(out, p, (size_t)len);
        if (p != small)
                free(p);
        return U_SUCCESS(st) ? 0 : error_set(err, -EIO, "ICU UTF-8 conversion failed: %s",
                                             u_errorName(st));
}

/* Writes minor_units with a decimal point digits places from the right:
 * (-5, 2) -> "-0.05", (123456, 2) -> "1234.56", (7, 0) -> "7". */
static void decimal_string(char *s, size_t cap, int64_t minor_units, int digits)
{
        /* Through uint64_t so that INT64_MIN has a magnitude too. */
        uint64_t mag = minor_units < 0 ? -(uint64_t)minor_units : (uint64_t)minor_units;
        char d[32];
        int n = snprintf(d, sizeof(d), "%0*" PRIu64, digits + 1, mag);
        int whole = n - digits;

        snprintf(s, cap, "%s%.*s%s%s", minor_units < 0 ? "-" : "", whole, d,
                 digits > 0 ? "." : "", d + whole);
}

int l10n_money(struct l10n_cache *c, struct buf *out, const char *locale,
                 const char *currency, int64_t minor_units, struct error *err)
{
        struct slot *s = find_money(c, locale, currency);
        UNumberFormat *f = NULL;
        int digits = 0, r;

        if (s) {
                f = s->fmt;
                digits = s->digits;
        } else {
                r = open_money(locale, currency, &f, &digits, err);
                if (r < 0)
                        return r;
                if (c && cacheable(locale)) {
                        s = cache_victim(c);
                        s->kind = SLOT_MONEY;
                        snprintf(s->tag, sizeof(s->tag), "%s", locale);
                        snprintf(s->currency, sizeof(s->currency), "%s", currency);
                        s->digits = digits;
                        s->fmt = f;
                        s->used = ++c->tick;
                }
        }

        char num[48];
        UChar res[128];
        UErrorCode st = U_ZERO_ERROR;
        decimal_string(num, sizeof(num), minor_units, digits);
        int32_t n = unum_formatDecimal(f, num, -1, res, (int32_t)(sizeof(res) / sizeof(res[0])),
                                       NULL, &st);
        if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
                r = error_set(err, -EIO, "ICU cannot format %s %s for '%s': %s", num, currency,
                              locale, u_errorName(st));
        else
                r = append_utf8(out, res, n, err);
        if (!s)
                unum_close(f);
        return r;
}

/* Parses "YYYY-MM-DD" into days since 1970-01-01. Years before 1583 are
 * refused: ICU's Gregorian calendar is Julian before the 1582 reform. */
static int parse_ymd(const char *s, int64_t *days)
{
        if (civil_parse(s, days) < 0 || civil_year(*days) < 1583)
                return -EINVAL;
        return 0;
}

int l10n_date(struct l10n_cache *c, struct buf *out, const char *locale, const char *ymd,
                enum l10n_date_style style, struct error *err)
{
        int64_t days;
        UDateFormat *f = NULL;
        int r;

        if (parse_ymd(ymd, &days) < 0)
                return error_set(err, -EINVAL, "invalid date '%s' (want YYYY-MM-DD, 1583-9999)",
                                 ymd ? ymd : "(null)");

        struct slot *s = find_date(c, locale, style);
        if (s) {
                f = s->fmt;
        } else {
                r = open_date(locale, style, &f, err);
                if (r < 0)
                        return r;
                if (c && cacheable(locale)) {
                        s = cache_victim(c);
                        s->kind = SLOT_DATE;
                        memset(s->memo, 0, sizeof(s->memo));
                        snprintf(s->tag, sizeof(s->tag), "%s", locale);
                        s->style = style;
                        s->fmt = f;
                        s->used = ++c->tick;
                }
        }

        for (size_t i = 0; s && i < sizeof(s->memo) / sizeof(s->memo[0]); i++) {
                if (s->memo[i].text[0] && s->memo[i].days == days) {
                        buf_puts(out, s->memo[i].text);
                        return 0;
                }
        }
        UChar res[128];
        UErrorCode st = U_ZERO_ERROR;
        size_t start = out->len;
        /* Exact in a double: |days| < 2^22, times 86400000 < 2^49. */
        int32_t n = udat_format(f, (UDate)days * 86400000.0, res,
                                (int32_t)(sizeof(res) / sizeof(res[0])), NULL, &st);
        if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
                r = error_set(err, -EIO, "ICU cannot format date %s for '%s': %s", ymd, locale,
                              u_errorName(st));
        else
                r = append_utf8(out, res, n, err);
        if (s && r == 0 && out->len - start < sizeof(s->memo[0].text)) {
                unsigned k = s->memo_next++ % (sizeof(s->memo) / sizeof(s->memo[0]));
                memcpy(s->memo[k].text, out->data + start, out->len - start);
                s->memo[k].text[out->len - start] = '\0';
                s->memo[k].days = days;
        }
        if (!s)
                udat_close(f);
        return r;
}
